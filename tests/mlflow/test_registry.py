"""MLflow's model registry through the official client against a real `millrace serve`: models
registered from a run, loaded back by version, alias and latest; names, descriptions, tags,
stages and aliases changed; searches filtered, ordered and paged; and refusals for those who may
not read or change a model."""

import time

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
import requests
from sklearn.linear_model import LinearRegression

# Stages are deprecated in MLflow; older scripts still use them, so they are tested here.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def fitted(slope):
    features = np.array([[1.0], [2.0], [4.0]])
    return LinearRegression().fit(features, slope * features[:, 0])


def test_a_registered_model_loads_by_version_alias_and_latest(server):
    mlflow.set_experiment("registry")
    client = MlflowClient()
    first, second = fitted(2.0), fitted(3.0)
    with mlflow.start_run() as run:
        one = mlflow.sklearn.log_model(first, name="model", registered_model_name="churn")
    with mlflow.start_run():
        mlflow.sklearn.log_model(second, name="model", registered_model_name="churn")
    assert one.registered_model_version == "1"

    # The server lists the version on the logged model as MLflow's does (its client adds one).
    listed = mlflow.get_logged_model(one.model_id).tags["mlflow.modelVersions"]
    assert listed.startswith('[{"name": "churn", "version": 1}'), listed
    v1 = client.get_model_version("churn", "1")
    assert (v1.run_id, v1.current_stage, v1.source) == (run.info.run_id, "None", f"models:/{one.model_id}")
    # The files are the logged model's, downloaded through the artifact proxy.
    assert client.get_model_version_download_uri("churn", "1") == mlflow.get_logged_model(one.model_id).artifact_location

    client.set_registered_model_alias("churn", "champion", "1")
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    assert client.get_registered_model("churn").aliases == {"champion": "1"}
    probe = np.array([[10.0]])
    for uri, slope in (("models:/churn/1", 2.0), ("models:/churn@champion", 2.0), ("models:/churn/2", 3.0), ("models:/churn/latest", 3.0)):
        assert np.allclose(mlflow.pyfunc.load_model(uri).predict(probe), [10 * slope]), uri

    # An alias moves; the version it named no longer lists it.
    client.set_registered_model_alias("churn", "champion", "2")
    assert np.allclose(mlflow.pyfunc.load_model("models:/churn@champion").predict(probe), [30.0])
    assert client.get_model_version("churn", "1").aliases == []
    assert client.get_model_version("churn", "2").aliases == ["champion"]

    # A version copied from another by alias keeps its files where they are.
    client.create_registered_model("churn-copy")
    copied = client.create_model_version("churn-copy", "models:/churn@champion")
    assert client.get_model_version_download_uri("churn-copy", copied.version) == client.get_model_version_download_uri("churn", "2")

    # Registering a run's model by its runs:/ URI works as well.
    registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn-from-run")
    assert registered.version == "1"
    assert np.allclose(mlflow.pyfunc.load_model("models:/churn-from-run/1").predict(probe), [20.0])


def test_models_and_versions_are_described_tagged_staged_searched_and_deleted(server):
    mlflow.set_experiment("registry-crud")
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/weights.txt")
    run_id = run.info.run_id

    made = client.create_registered_model("a-model", tags={"team": "vision"}, description="first")
    assert (made.name, made.description, made.tags) == ("a-model", "first", {"team": "vision"})
    with pytest.raises(RestException) as taken:
        client.create_registered_model("a-model")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    versions = [client.create_model_version("a-model", f"runs:/{run_id}/model", run_id=run_id, tags={"n": str(i)}) for i in range(3)]
    assert [v.version for v in versions] == ["1", "2", "3"]
    # As in MLflow, a runs:/ source is where the client downloads from (it asks the run).
    assert client.get_model_version_download_uri("a-model", "1") == f"runs:/{run_id}/model"

    client.update_registered_model("a-model", description="second")
    client.set_registered_model_tag("a-model", "stage", "beta")
    client.delete_registered_model_tag("a-model", "team")
    client.update_model_version("a-model", "2", description="the good one")
    client.set_model_version_tag("a-model", "2", "checked", "yes")
    client.delete_model_version_tag("a-model", "2", "n")
    client.transition_model_version_stage("a-model", "1", "Production")
    client.transition_model_version_stage("a-model", "2", "production", archive_existing_versions=True)
    model = client.get_registered_model("a-model")
    assert (model.description, model.tags) == ("second", {"stage": "beta"})
    v2 = client.get_model_version("a-model", "2")
    assert (v2.description, v2.tags, v2.current_stage) == ("the good one", {"checked": "yes"}, "Production")
    assert client.get_model_version("a-model", "1").current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions("a-model", stages=["Production"])] == ["2"]
    assert {(v.current_stage, v.version) for v in model.latest_versions} == {("Archived", "1"), ("Production", "2"), ("None", "3")}

    client.rename_registered_model("a-model", "b-model")
    with pytest.raises(RestException, match="not found"):
        client.get_registered_model("a-model")
    assert client.get_model_version("b-model", "2").name == "b-model"
    for name in ("c-model", "d-model", "other"):
        client.create_registered_model(name)
    time.sleep(0.01)
    client.update_registered_model("c-model", description="changed last")

    found = client.search_registered_models(filter_string="name LIKE '%-model'", max_results=2)
    assert [m.name for m in found] == ["b-model", "c-model"] and found.token
    rest = client.search_registered_models(filter_string="name LIKE '%-model'", max_results=2, page_token=found.token)
    assert [m.name for m in rest] == ["d-model"] and not rest.token
    assert [m.name for m in client.search_registered_models(filter_string="tags.stage = 'beta'")] == ["b-model"]
    newest = client.search_registered_models(order_by=["last_updated_timestamp DESC"], max_results=1)
    assert [m.name for m in newest] == ["c-model"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{run_id}'", order_by=["version_number DESC"])] == ["3", "2", "1"]
    assert [v.version for v in client.search_model_versions("name = 'b-model' AND tags.checked = 'yes'")] == ["2"]

    # A deleted version's number is not given again; a deleted model is gone with its versions.
    client.delete_model_version("b-model", "3")
    with pytest.raises(RestException, match="not found"):
        client.get_model_version("b-model", "3")
    assert client.create_model_version("b-model", f"runs:/{run_id}/model", run_id=run_id).version == "4"
    client.delete_registered_model("b-model")
    assert client.search_model_versions("name = 'b-model'") == []

    # MLflow's checks on names and aliases.
    for bad_name in ("a/b", "x:y"):
        with pytest.raises(MlflowException, match="cannot contain"):
            client.create_registered_model(bad_name)
    for bad_alias in ("latest", "v3", "white space"):
        with pytest.raises(MlflowException):
            client.set_registered_model_alias("c-model", bad_alias, "1")


def test_refusals_come_in_mlflows_error_shape(server, monkeypatch):
    client = MlflowClient()
    auth = {"Authorization": f"Bearer {server['token']}"}
    made = requests.post(f"{server['url']}/api/v1/projects", json={"name": "secret-registry", "private": True}, headers=auth)
    assert made.status_code == 201, made.text
    secret = client.get_experiment_by_name("secret-registry").experiment_id
    run_id = client.create_run(secret).info.run_id
    client.create_registered_model("hidden")
    client.create_model_version("hidden", f"runs:/{run_id}/model", run_id=run_id)
    client.create_registered_model("unplaced")

    # A model holds versions of one experiment; a source from elsewhere needs a run or model here.
    other = client.create_run(mlflow.set_experiment("registry-elsewhere").experiment_id).info.run_id
    with pytest.raises(RestException, match="experiment"):
        client.create_model_version("hidden", f"runs:/{other}/model", run_id=other)
    # MLflow's checks on sources: no local paths, no relative parts, a runs:/ source with its run.
    for bad, why in (
        ("/etc", "local path"),
        ("mlflow-artifacts://host:9000/models/%2E%2E/%2E%2E/secret", "relative path"),
        (f"runs:/{other}/model", "must identify"),
        ("models:/hidden", "names neither"),
    ):
        with pytest.raises(RestException, match=why):
            client.create_model_version("unplaced", bad, run_id=run_id)
    # A version from files elsewhere leaves a model without a project its creator's alone.
    assert client.create_model_version("unplaced", "s3://bucket/model").version == "1"

    # Another user cannot see the private project's model or a model still without versions,
    # nor register a version from a run they cannot read.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["cat_token"])
    for name in ("hidden", "unplaced"):
        with pytest.raises(RestException) as hidden:
            client.get_registered_model(name)
        assert hidden.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert {m.name for m in client.search_registered_models()}.isdisjoint({"hidden", "unplaced"})
    assert client.search_model_versions("name = 'hidden'") == []
    # A run id she cannot read is kept as given, as MLflow keeps any, but links nothing: her
    # model does not join the private project, and its files stay behind the run's access.
    client.create_registered_model("cats")
    kept = client.create_model_version("cats", f"runs:/{run_id}/model", run_id=run_id)
    assert kept.run_id == run_id
    with pytest.raises(MlflowException, match="not found"):
        mlflow.artifacts.download_artifacts("models:/cats/1")

    # A read-only token reads but does not change.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["read_token"])
    assert client.get_model_version("hidden", "1").run_id == run_id
    with pytest.raises(RestException) as refused:
        client.set_registered_model_alias("hidden", "champion", "1")
    assert refused.value.error_code == "PERMISSION_DENIED"
