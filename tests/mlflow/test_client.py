"""The official MLflow client against a real `millrace serve`; each test checks what millrace
stored through millrace's own API."""

import time

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from conftest import stored


def metric(job, key):
    return next(m for m in job["metrics"] if m["key"] == key)


def test_a_fluent_run_logs_params_metrics_and_tags(server):
    mlflow.set_experiment("xray")
    with mlflow.start_run(run_name="resnet-lr-0.1") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"batch_size": 64, "optimizer": "adamw"})
        for step in range(10):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.5, "auc": 0.75}, step=9)
        mlflow.set_tag("stage", "baseline")
        mlflow.set_tags({"team": "vision", "gpu": "a100"})
    job = stored(server, run.info.run_id)
    assert job["project"] == "ann/xray"
    assert job["name"] == "resnet-lr-0.1"
    assert job["status"] == "succeeded"
    assert job["params"] == {"lr": "0.1", "batch_size": "64", "optimizer": "adamw"}
    assert job["tags"]["stage"] == "baseline" and job["tags"]["team"] == "vision"
    assert metric(job, "loss")["count"] == 10 and metric(job, "loss")["last"] == pytest.approx(0.1)
    assert metric(job, "auc")["last"] == 0.75
    fetched = MlflowClient().get_run(run.info.run_id)
    assert fetched.data.params["lr"] == "0.1"
    assert fetched.data.metrics["loss"] == pytest.approx(0.1)


@pytest.mark.parametrize("mlflow_status,millrace_status", [("FINISHED", "succeeded"), ("FAILED", "failed"), ("KILLED", "cancelled")])
def test_end_run_records_each_status(server, mlflow_status, millrace_status):
    mlflow.set_experiment("statuses")
    run = mlflow.start_run()
    mlflow.end_run(status=mlflow_status)
    job = stored(server, run.info.run_id)
    assert job["status"] == millrace_status
    assert job["finished_ms"] is not None


def test_a_failing_script_marks_its_run_failed(server):
    mlflow.set_experiment("statuses")
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            mlflow.log_metric("loss", float("nan"))
            raise RuntimeError("diverged")
    job = stored(server, run.info.run_id)
    assert job["status"] == "failed"
    assert metric(job, "loss")["last"] == "NaN"


def test_nested_runs_point_at_their_parent(server):
    mlflow.set_experiment("nested")
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("x", 1)
    assert stored(server, child.info.run_id)["tags"]["mlflow.parentRunId"] == parent.info.run_id


def test_a_run_resumed_by_id_goes_on_logging(server):
    mlflow.set_experiment("resume")
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 2.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_metric("loss", 1.0, step=1)
    job = stored(server, run.info.run_id)
    assert metric(job, "loss")["count"] == 2 and metric(job, "loss")["last"] == 1.0
    assert job["status"] == "succeeded"


def test_runs_without_an_experiment_go_to_default(server):
    mlflow.set_experiment(experiment_id="0")
    with mlflow.start_run() as run:
        mlflow.log_metric("y", 3)
    assert stored(server, run.info.run_id)["project"] == "ann/Default"


def test_a_100000_point_history_comes_back_whole_and_in_order(server):
    client = MlflowClient()
    experiment = client.create_experiment("long-history")
    run = client.create_run(experiment)
    now = int(time.time() * 1000)
    for start in range(0, 100_000, 1000):
        client.log_batch(run.info.run_id, metrics=[Metric("loss", i * 0.5, now, i) for i in range(start, start + 1000)])
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 100_000
    assert [m.step for m in history[:3]] == [0, 1, 2]
    assert history[-1].step == 99_999 and history[-1].value == 99_999 * 0.5
    assert metric(stored(server, run.info.run_id), "loss")["count"] == 100_000


def test_bad_batches_are_refused_and_store_nothing(server):
    client = MlflowClient()
    experiment = client.create_experiment("bad-input")
    run = client.create_run(experiment)
    now = int(time.time() * 1000)
    # The client splits big batches itself, so the server's limit is checked with a raw call.
    too_many = [{"key": "loss", "value": 1.0, "timestamp": now, "step": i} for i in range(1001)]
    answer = requests.post(
        f"{server['url']}/api/2.0/mlflow/runs/log-batch",
        json={"run_id": run.info.run_id, "metrics": too_many},
        headers={"Authorization": f"Bearer {server['token']}"},
    )
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    one_bad = too_many[:999] + [{"key": "loss", "value": "fast", "timestamp": now}]
    answer = requests.post(
        f"{server['url']}/api/2.0/mlflow/runs/log-batch",
        json={"run_id": run.info.run_id, "metrics": one_bad},
        headers={"Authorization": f"Bearer {server['token']}"},
    )
    assert answer.status_code == 400 and "metrics[999]" in answer.json()["message"]
    assert requests.get(f"{server['url']}/api/2.0/mlflow/runs/get?run_id={run.info.run_id}").status_code == 401
    with pytest.raises(MlflowException):
        client.log_metric(run.info.run_id, "k" * 300, 1.0)
    client.log_param(run.info.run_id, "lr", "0.1")
    with pytest.raises(MlflowException):
        client.log_param(run.info.run_id, "lr", "0.2")
    job = stored(server, run.info.run_id)
    assert job["metrics"] == [] and job["params"] == {"lr": "0.1"}
    with pytest.raises(MlflowException) as missing:
        client.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_runs_filters_with_or_and_parentheses_and_orders_by_a_metric(server):
    client = MlflowClient()
    experiment = client.create_experiment("search")
    for i, (optimizer, loss) in enumerate([("adam", 0.4), ("sgd", 0.2), ("adam", 0.1), ("lion", 0.9), ("sgd", 0.7)]):
        run = client.create_run(experiment, run_name=f"r{i}", tags={"stage": "baseline" if i % 2 == 0 else "sweep"})
        client.log_param(run.info.run_id, "optimizer", optimizer)
        client.log_metric(run.info.run_id, "loss", loss)
        client.set_terminated(run.info.run_id, "FINISHED" if i != 3 else "FAILED")

    found = client.search_runs(
        [experiment],
        filter_string="(params.optimizer = 'adam' OR params.optimizer = 'sgd') AND metrics.loss < 0.5",
        order_by=["metrics.loss ASC"],
    )
    assert [r.info.run_name for r in found] == ["r2", "r1", "r0"]
    assert [r.data.metrics["loss"] for r in found] == [0.1, 0.2, 0.4]

    found = client.search_runs([experiment], "tags.stage ILIKE 'BASE%' OR attributes.status = 'FAILED'", order_by=["metrics.loss DESC"])
    assert [r.info.run_name for r in found] == ["r3", "r4", "r0", "r2"]

    first = client.search_runs([experiment], order_by=["attributes.run_name"], max_results=2)
    assert [r.info.run_name for r in first] == ["r0", "r1"] and first.token
    rest = client.search_runs([experiment], order_by=["attributes.run_name"], max_results=2, page_token=first.token)
    assert [r.info.run_name for r in rest] == ["r2", "r3"]

    with pytest.raises(MlflowException) as bad:
        client.search_runs([experiment], "metrics.loss <<< 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


def test_deleted_runs_and_experiments_leave_the_active_view_and_come_back(server):
    client = MlflowClient()
    experiment = client.create_experiment("lifecycle-a")
    keep, drop = client.create_run(experiment), client.create_run(experiment)
    client.delete_run(drop.info.run_id)
    assert client.get_run(drop.info.run_id).info.lifecycle_stage == "deleted"
    active = client.search_runs([experiment])
    assert [r.info.run_id for r in active] == [keep.info.run_id]
    deleted = client.search_runs([experiment], run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [drop.info.run_id]
    client.restore_run(drop.info.run_id)
    assert len(client.search_runs([experiment])) == 2

    client.rename_experiment(experiment, "lifecycle-b")
    assert client.get_experiment(experiment).name == "lifecycle-b"
    client.delete_experiment(experiment)
    assert client.get_experiment(experiment).lifecycle_stage == "deleted"
    names = [e.name for e in client.search_experiments(filter_string="name LIKE 'lifecycle-%'")]
    assert names == []
    names = [e.name for e in client.search_experiments(view_type=mlflow.entities.ViewType.ALL, filter_string="name LIKE 'lifecycle-%'")]
    assert names == ["lifecycle-b"]
    client.restore_experiment(experiment)
    assert client.get_experiment_by_name("lifecycle-b").lifecycle_stage == "active"


def test_writes_to_a_deleted_run_or_with_a_nan_step_are_refused(server):
    client = MlflowClient()
    run = client.create_run(client.create_experiment("refusals"))
    auth = {"Authorization": f"Bearer {server['token']}"}
    now = int(time.time() * 1000)
    nan_step = {"run_id": run.info.run_id, "key": "loss", "value": 1.0, "timestamp": now, "step": "NaN"}
    answer = requests.post(f"{server['url']}/api/2.0/mlflow/runs/log-metric", json=nan_step, headers=auth)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    as_json = dict(auth, **{"Content-Type": "application/json"})
    answer = requests.post(f"{server['url']}/api/2.0/mlflow/runs/log-batch", data="{not json", headers=as_json)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # A body that is not said to be JSON is refused as MLflow refuses it (a cross-site form
    # could send one).
    answer = requests.post(f"{server['url']}/api/2.0/mlflow/runs/log-batch", data="{}", headers=auth)
    assert answer.status_code == 400 and "application/json" in answer.json()["message"]
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException) as refused:
        client.log_metric(run.info.run_id, "loss", 1.0)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run.info.run_id)
    client.log_metric(run.info.run_id, "loss", 1.0)
    assert metric(stored(server, run.info.run_id), "loss")["count"] == 1


def test_bulk_interval_history_samples_each_run(server):
    client = MlflowClient()
    experiment = client.create_experiment("bulk")
    now = int(time.time() * 1000)
    runs = [client.create_run(experiment) for _ in range(2)]
    for run in runs:
        client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0 / (i + 1), now, i) for i in range(1000)])
    answer = requests.get(
        f"{server['url']}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": [r.info.run_id for r in runs], "metric_key": "loss", "max_results": 10},
        headers={"Authorization": f"Bearer {server['token']}"},
    )
    answer.raise_for_status()
    points = answer.json()["metrics"]
    for run in runs:
        steps = [p["step"] for p in points if p["run_id"] == run.info.run_id]
        assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 999


def test_the_run_link_the_client_prints_opens_the_job(server, caplog, capsys):
    caplog.set_level("INFO")
    mlflow.set_experiment("links")
    with mlflow.start_run(run_name="linked") as run:
        mlflow.log_metric("loss", 0.5)
    printed = caplog.text + "".join(capsys.readouterr())
    links = [word for word in printed.split() if word.startswith(server["url"] + "/#/experiments/")]
    assert links, f"the client printed no run link: {printed!r}"
    run_link = next(link for link in links if "/runs/" in link)
    assert run_link.endswith(f"/runs/{run.info.run_id}")
    # The fragment never reaches a server; the page's script asks for it as a path.
    headers = {"Authorization": f"Bearer {server['token']}"}
    for link, where in [(run_link, "/u/ann/p/links/j/1"), (run_link.split("/runs/")[0], "/u/ann/p/links")]:
        answer = requests.get(link.replace("/#/", "/"), headers=headers, allow_redirects=False)
        assert answer.status_code == 303, answer.text
        assert answer.headers["Location"] == where
    unknown = requests.get(f"{server['url']}/experiments/999/runs/nope", headers=headers, allow_redirects=False)
    assert unknown.status_code == 404


def test_experiment_tags_are_set_searched_and_deleted(server):
    client = MlflowClient()
    experiment = client.create_experiment("tagged", tags={"team": "vision"})
    client.set_experiment_tag(experiment, "stage", "draft")
    mlflow.set_experiment("tagged")
    mlflow.set_experiment_tag("stage", "final")
    assert client.get_experiment(experiment).tags == {"team": "vision", "stage": "final"}
    assert [e.name for e in client.search_experiments(filter_string="tags.team = 'vision'")] == ["tagged"]
    client.delete_experiment_tag(experiment, "team")
    assert client.get_experiment_by_name("tagged").tags == {"stage": "final"}
    with pytest.raises(MlflowException) as missing:
        client.delete_experiment_tag(experiment, "team")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_free_text_experiment_names_are_kept_and_get_a_url_of_their_own(server):
    auth = {"Authorization": f"Bearer {server['token']}"}
    mlflow.set_experiment("xray segmentation v2")
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 1.0)
    assert stored(server, run.info.run_id)["project"] == "ann/xray-segmentation-v2"
    client = MlflowClient()
    found = client.get_experiment_by_name("xray segmentation v2")
    assert (found.name, found.experiment_id) == ("xray segmentation v2", run.info.experiment_id)

    # Another name with the same slug gets the next free one; long names are taken whole.
    other = client.create_experiment("xray segmentation v2?")
    project = requests.get(f"{server['url']}/api/v1/projects/ann/xray-segmentation-v2-2", headers=auth).json()
    assert project["title"] == "xray segmentation v2?"
    long_name = "a very long experiment name " * 10
    long_id = client.create_experiment(long_name)
    assert client.get_experiment(long_id).name == long_name
    with pytest.raises(MlflowException) as taken:
        client.create_experiment("xray segmentation v2")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.rename_experiment(other, "Final: xray (best)")
    assert client.get_experiment(other).name == "Final: xray (best)"
    names = [e.name for e in client.search_experiments(filter_string="name LIKE '%xray%'")]
    assert "Final: xray (best)" in names and "xray segmentation v2" in names


def test_dataset_inputs_are_kept_with_the_run(server):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client = MlflowClient()
    experiment = client.create_experiment("datasets")
    run = client.create_run(experiment)
    scans = Dataset(name="scans", digest="abc123", source_type="local", source='{"uri": "/data/scans"}', schema="{}")
    training = DatasetInput(scans, tags=[InputTag("mlflow.data.context", "training")])
    client.log_inputs(run.info.run_id, datasets=[training])
    client.log_inputs(run.info.run_id, datasets=[training])
    for found in [client.get_run(run.info.run_id), client.search_runs([experiment])[0]]:
        inputs = found.inputs.dataset_inputs
        assert [(i.dataset.name, i.dataset.digest, i.dataset.schema) for i in inputs] == [("scans", "abc123", "{}")]
        assert [(t.key, t.value) for t in inputs[0].tags] == [("mlflow.data.context", "training")]
    too_long = Dataset(name="x" * 501, digest="d", source_type="local", source="{}")
    with pytest.raises(MlflowException) as refused:
        client.log_inputs(run.info.run_id, datasets=[DatasetInput(too_long)])
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE" and "500" in refused.value.message
    assert len(client.get_run(run.info.run_id).inputs.dataset_inputs) == 1
    # MLflow's web UI lists an experiment's datasets through search-datasets.
    listed = requests.post(
        f"{server['url']}/ajax-api/2.0/mlflow/experiments/search-datasets",
        json={"experiment_ids": [experiment]},
        headers={"Authorization": f"Bearer {server['token']}"},
    )
    assert listed.json() == {
        "dataset_summaries": [{"experiment_id": experiment, "name": "scans", "digest": "abc123", "context": "training"}]
    }


def test_the_words_of_refusals_are_mlflows(server):
    client = MlflowClient()
    run = client.create_run(client.create_experiment("wording")).info.run_id
    auth = {"Authorization": f"Bearer {server['token']}"}
    for key in ("metrics", "params", "tags"):
        answer = requests.post(f"{server['url']}/api/2.0/mlflow/runs/log-batch", json={"run_id": run, key: "foo"}, headers=auth)
        assert answer.json()["message"] == f"Invalid value \"foo\" for parameter '{key}' supplied"
    no_time = {"run_id": run, "metrics": [{"key": "mae", "value": 2.5}]}
    answer = requests.post(f"{server['url']}/api/2.0/mlflow/runs/log-batch", json=no_time, headers=auth)
    assert answer.json()["message"] == "Missing value for required parameter 'metrics[0].timestamp'."
    bulk = f"{server['url']}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
    for params, words in (
        ({"run_ids": [run], "metric_key": ""}, "Missing value for required parameter 'metric_key'"),
        ({"run_ids": [run], "metric_key": "k", "start_step": 2, "end_step": 1}, "end_step must be greater than start_step"),
        ({"run_ids": [run], "metric_key": "k", "start_step": 2}, "both must be specified"),
    ):
        answer = requests.get(bulk, params=params, headers=auth)
        assert answer.status_code == 400 and words in answer.json()["message"], answer.text
    client.delete_run(run)
    with pytest.raises(MlflowException, match=f"The run {run} must be in the 'active' state"):
        client.set_tag(run, "k", "v")


def test_runs_that_started_together_come_in_run_id_order_across_pages(server):
    client = MlflowClient()
    experiment = client.create_experiment("ties")
    runs = sorted(client.create_run(experiment, start_time=1).info.run_id for _ in range(7))
    pages, token = [], None
    while True:
        page = client.search_runs([experiment], max_results=3, page_token=token)
        pages.extend(r.info.run_id for r in page)
        if not page.token:
            break
        token = page.token
    assert pages == runs


def test_a_first_search_finds_the_default_experiment(server, monkeypatch):
    # cat has never logged anything; MLflow's client expects Default to exist all the same.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["cat_token"])
    assert "Default" in [e.name for e in MlflowClient().search_experiments()]


def test_bulk_history_answers_each_runs_points_by_time_as_mlflows_ui_asks(server):
    client = MlflowClient()
    experiment = client.create_experiment("bulk-history")
    runs = sorted((client.create_run(experiment).info.run_id for _ in range(2)), reverse=True)
    for n, run in enumerate(runs):
        # Step 2 is logged at the earliest time: the answer goes by time, then step.
        points = [Metric("loss", 1.0 + n, 300, 0), Metric("loss", 2.0 + n, 200, 1), Metric("loss", 3.0 + n, 100, 2)]
        client.log_batch(run, metrics=points)
    url = f"{server['url']}/ajax-api/2.0/mlflow/metrics/get-history-bulk"
    auth = {"Authorization": f"Bearer {server['token']}"}
    answer = requests.get(url, params={"run_id": runs, "metric_key": "loss"}, headers=auth)
    answer.raise_for_status()
    got = [(m["run_id"], m["step"], m["timestamp"]) for m in answer.json()["metrics"]]
    first, second = sorted(runs)
    assert got == [(first, 2, 100), (first, 1, 200), (first, 0, 300), (second, 2, 100), (second, 1, 200), (second, 0, 300)]
    cut = requests.get(url, params={"run_id": runs, "metric_key": "loss", "max_results": 4}, headers=auth).json()
    assert [m["run_id"] for m in cut["metrics"]] == [first] * 3 + [second]
    missing = requests.get(url, params={"metric_key": "loss"}, headers=auth)
    assert missing.status_code == 400 and "at least one run_id" in missing.json()["message"]


def test_experiment_search_follows_order_by_across_pages(server):
    client = MlflowClient()
    made = [client.create_experiment(name) for name in ["ord-b", "ord-a", "ord-c"]]
    names = lambda **kw: [e.name for e in client.search_experiments(filter_string="name LIKE 'ord-%'", **kw)]
    assert names(order_by=["name"]) == ["ord-a", "ord-b", "ord-c"]
    assert names(order_by=["attributes.name DESC"]) == ["ord-c", "ord-b", "ord-a"]
    assert names(order_by=["experiment_id DESC"]) == ["ord-c", "ord-a", "ord-b"]
    first = client.search_experiments(filter_string="name LIKE 'ord-%'", order_by=["name"], max_results=2)
    rest = client.search_experiments(filter_string="name LIKE 'ord-%'", order_by=["name"], max_results=2, page_token=first.token)
    assert [e.name for e in first] + [e.name for e in rest] == ["ord-a", "ord-b", "ord-c"] and not rest.token
    assert sorted(e.experiment_id for e in client.search_experiments(filter_string="name LIKE 'ord-%'")) == sorted(made)
    with pytest.raises(MlflowException) as bad:
        client.search_experiments(order_by=["tags.team"])
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
