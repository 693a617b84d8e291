"""MLflow 3's logged models through the official client against a real `millrace serve`: a
scikit-learn model and a Python model logged in a run (and one without), found, tagged, searched
and loaded back with the same predictions; their files kept in the run's artifact folder (or a
folder of the model's own)."""

import os

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException, RestException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from sklearn.linear_model import LinearRegression

from conftest import stored


class Doubler(mlflow.pyfunc.PythonModel):
    # Type hints keep the input a list rather than a DataFrame.
    def predict(self, model_input: list[float], params=None) -> list[float]:
        return [2 * x for x in model_input]


def test_a_sklearn_model_logs_links_its_run_and_loads_back(server):
    mlflow.set_experiment("models")
    features, target = np.array([[1.0], [2.0], [4.0]]), np.array([3.0, 5.0, 9.0])
    regression = LinearRegression().fit(features, target)
    with mlflow.start_run() as run:
        mlflow.log_param("fit_intercept", True)
        mlflow.log_metric("r2", 0.99, step=3)
        info = mlflow.sklearn.log_model(regression, name="regression", step=3)
    run_id = run.info.run_id

    assert info.model_id.startswith("m-") and len(info.model_id) == 34
    model = mlflow.get_logged_model(info.model_id)
    assert model.status == LoggedModelStatus.READY
    assert (model.name, model.source_run_id) == ("regression", run_id)
    assert model.params == {"fit_intercept": "True"}
    # The client links the run's metrics at the model's step, without doubling the run's series.
    assert [(m.key, m.value, m.step, m.run_id) for m in model.metrics] == [("r2", 0.99, 3, run_id)]
    assert [(m.step, m.value) for m in MlflowClient().get_metric_history(run_id, "r2")] == [(3, 0.99)]
    outputs = MlflowClient().get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 3)]

    probe = np.array([[10.0]])
    expected = regression.predict(probe)
    for uri in (f"models:/{info.model_id}", f"runs:/{run_id}/regression"):
        assert np.allclose(mlflow.pyfunc.load_model(uri).predict(probe), expected), uri
    assert np.allclose(mlflow.sklearn.load_model(info.model_uri).coef_, regression.coef_)

    # The files are the run's, under models/ID/, as millrace's own API lists them.
    listing = requests.get(
        f"{server['url']}/api/v1/jobs/{run_id}/artifacts", headers={"Authorization": f"Bearer {server['token']}"}
    ).json()["artifacts"]
    paths = {a["path"] for a in listing}
    assert f"models/{info.model_id}/MLmodel" in paths
    assert any(p.startswith(f"models/{info.model_id}/model.") for p in paths), paths
    assert stored(server, run_id)["project"] == "ann/models"


def test_a_python_model_round_trips_in_a_run_and_without_one(server):
    mlflow.set_experiment("models")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="doubler", python_model=Doubler(), input_example=[1.0, 2.0])
    assert mlflow.pyfunc.load_model(info.model_uri).predict([1.0, 2.5]) == [2.0, 5.0]

    # Outside a run the model keeps its files in a folder of its own.
    assert mlflow.active_run() is None
    alone = mlflow.pyfunc.log_model(name="alone", python_model=Doubler())
    model = mlflow.get_logged_model(alone.model_id)
    assert not model.source_run_id
    assert model.artifact_location.endswith(f"/models/{alone.model_id}/artifacts")
    assert mlflow.pyfunc.load_model(f"models:/{alone.model_id}").predict([4.0]) == [8.0]
    assert os.path.exists(os.path.join(server["files"], "artifacts", alone.model_id, "MLmodel"))


def test_models_are_searched_tagged_finalized_and_deleted(server):
    client = MlflowClient()
    experiment = mlflow.set_experiment("model-search").experiment_id
    run = client.create_run(experiment)
    run_id = run.info.run_id
    made = [
        client.create_logged_model(
            experiment, name=name, source_run_id=run_id, params={"depth": str(depth)}, tags={"team": team}
        )
        for name, depth, team in [("a", 3, "vision"), ("b", 5, "vision"), ("c", 3, "audio")]
    ]
    assert all(m.status == LoggedModelStatus.PENDING for m in made)
    # 150 params: the client sends the first 100 with the model and the rest in a second call.
    many = client.create_logged_model(
        experiment, name="wide", source_run_id=run_id, params={f"p{i}": str(i) for i in range(150)}
    )
    assert len(client.get_logged_model(many.model_id).params) == 150
    client.delete_logged_model(many.model_id)

    def names(**search):
        return [m.name for m in client.search_logged_models(experiment_ids=[experiment], **search)]

    assert names() == ["c", "b", "a"], "newest first"
    assert names(filter_string="params.depth = '3'") == ["c", "a"]
    assert names(filter_string="tags.team = 'vision' AND name != 'a'") == ["b"]
    assert names(order_by=[{"field_name": "name", "ascending": True}]) == ["a", "b", "c"]
    first = client.search_logged_models(experiment_ids=[experiment], max_results=2)
    assert len(first) == 2 and first.token
    rest = client.search_logged_models(experiment_ids=[experiment], max_results=2, page_token=first.token)
    assert [m.name for m in rest] == ["a"] and not rest.token

    # Scoped to a dataset: only models measured on it, by their metrics on it.
    client.log_metric(run_id, "acc", 0.9, dataset_name="val", dataset_digest="d1", model_id=made[2].model_id)
    client.log_metric(run_id, "acc", 0.5, dataset_name="test", dataset_digest="d2", model_id=made[0].model_id)
    assert names(datasets=[{"dataset_name": "val"}]) == ["c"]
    assert names(filter_string="metrics.acc > 0.6") == ["c"]

    client.set_logged_model_tags(made[0].model_id, {"stage": "candidate"})
    client.delete_logged_model_tag(made[0].model_id, "team")
    ready = client.finalize_logged_model(made[0].model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY and ready.tags == {"stage": "candidate"}
    assert names(filter_string="status = 'LOGGED_MODEL_READY'") == ["a"]

    client.delete_logged_model(made[1].model_id)
    assert names() == ["c", "a"]
    with pytest.raises(MlflowException, match="not found"):
        client.get_logged_model(made[1].model_id)


def test_refusals_come_in_mlflows_error_shape(server, monkeypatch, tmp_path):
    client = MlflowClient()
    auth = {"Authorization": f"Bearer {server['token']}"}
    made = requests.post(f"{server['url']}/api/v1/projects", json={"name": "secret-models", "private": True}, headers=auth)
    assert made.status_code == 201, made.text
    experiment = client.get_experiment_by_name("secret-models").experiment_id
    run_id = client.create_run(experiment).info.run_id
    model = client.create_logged_model(experiment, name="hidden", source_run_id=run_id)

    alone = client.create_logged_model(experiment, name="alone")
    # A run of another experiment is not a model's source.
    other = client.create_run(mlflow.set_experiment("elsewhere").experiment_id).info.run_id
    with pytest.raises(RestException, match="not in experiment"):
        client.create_logged_model(experiment, source_run_id=other)
    bad = requests.patch(
        f"{server['url']}/api/2.0/mlflow/logged-models/{model.model_id}", json={"status": "LOGGED_MODEL_PENDING"}, headers=auth
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    # Another user cannot see the private project's model, nor learn it exists.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["cat_token"])
    for hidden_model in (model, alone):
        with pytest.raises(RestException) as hidden:
            client.get_logged_model(hidden_model.model_id)
        assert hidden.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(requests.HTTPError) as hidden_files:
        get_artifact_repository(alone.artifact_location).list_artifacts()
    assert hidden_files.value.response.status_code == 404
    # A read-only token reads but does not write.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["read_token"])
    assert client.get_logged_model(model.model_id).name == "hidden"
    for read_only in (model, alone):
        with pytest.raises(RestException) as refused:
            client.set_logged_model_tags(read_only.model_id, {"k": "v"})
        assert refused.value.error_code == "PERMISSION_DENIED"
    note = tmp_path / "note.txt"
    note.write_text("x")
    with pytest.raises(requests.HTTPError) as refused_files:
        get_artifact_repository(alone.artifact_location).log_artifact(str(note))
    assert refused_files.value.response.json()["error_code"] == "PERMISSION_DENIED"
