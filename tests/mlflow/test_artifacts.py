"""The official MLflow client's artifact calls against a real `millrace serve`: files go through
millrace's artifact proxy into the job's folder and come back byte for byte."""

import hashlib
import os

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from conftest import stored


def own_listing(server, run_id):
    """The run's files as millrace's own API lists them: {path: bytes}."""
    answer = requests.get(
        f"{server['url']}/api/v1/jobs/{run_id}/artifacts", headers={"Authorization": f"Bearer {server['token']}"}
    )
    answer.raise_for_status()
    return {a["path"]: a["bytes"] for a in answer.json()["artifacts"]}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_text_dicts_files_and_a_folder_of_1000_files_round_trip(server, tmp_path):
    mlflow.set_experiment("artifacts")
    folder = tmp_path / "samples"
    (folder / "nested").mkdir(parents=True)
    for i in range(1000):
        (folder / ("nested" if i % 10 == 0 else ".") / f"s{i:04}.txt").write_text(f"sample {i}\n" * (i % 7))
    with mlflow.start_run() as run:
        mlflow.log_text("# Results\nloss went down\n", "report/summary.md")
        mlflow.log_dict({"lr": 3e-4, "layers": [64, 64]}, "config.json")
        mlflow.log_artifacts(str(folder), artifact_path="samples")
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")

    client = MlflowClient()
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("config.json", False), ("report", True), ("samples", True)]
    samples = client.list_artifacts(run_id, "samples")
    assert len(samples) == 901 and samples[0].path == "samples/nested" and samples[0].is_dir
    assert samples[1].path == "samples/s0001.txt" and samples[1].file_size == len("sample 1\n")
    assert len(client.list_artifacts(run_id, "samples/nested")) == 100

    assert mlflow.artifacts.load_text(f"runs:/{run_id}/report/summary.md") == "# Results\nloss went down\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"lr": 3e-4, "layers": [64, 64]}
    back = client.download_artifacts(run_id, "samples", str(tmp_path / "back"))
    for i in range(1000):
        name = os.path.join("nested" if i % 10 == 0 else ".", f"s{i:04}.txt")
        assert open(os.path.join(back, name)).read() == (folder / name).read_text()

    listed = own_listing(server, run_id)
    assert len(listed) == 1002 and listed["config.json"] > 0 and "samples/nested/s0000.txt" in listed


def test_a_300_mb_file_round_trips_exactly(server, tmp_path):
    big = tmp_path / "weights.bin"
    with open(big, "wb") as f:
        for _ in range(300):
            f.write(os.urandom(1 << 20))
    mlflow.set_experiment("artifacts")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="model")
    listed = MlflowClient().list_artifacts(run.info.run_id, "model")
    assert [(f.path, f.file_size) for f in listed] == [("model/weights.bin", 300 << 20)]
    back = MlflowClient().download_artifacts(run.info.run_id, "model/weights.bin", str(tmp_path / "back"))
    assert sha256_of(back) == sha256_of(big)


def test_with_multipart_uploads_on_the_client_falls_back_to_one_upload(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 << 20))
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(12 << 20))
    mlflow.set_experiment("artifacts")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(data))
    assert own_listing(server, run.info.run_id) == {"data.bin": 12 << 20}


def test_deleted_artifacts_are_gone_from_every_listing(server, tmp_path):
    mlflow.set_experiment("artifacts")
    with mlflow.start_run() as run:
        mlflow.log_text("a", "keep.txt")
        mlflow.log_text("b", "scratch/one.txt")
        mlflow.log_text("c", "scratch/two.txt")
    repository = get_artifact_repository(run.info.artifact_uri)
    repository.delete_artifacts("scratch")
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["keep.txt"]
    assert own_listing(server, run.info.run_id) == {"keep.txt": 1}


def test_refusals_come_in_mlflows_error_shape(server, tmp_path, monkeypatch):
    auth = {"Authorization": f"Bearer {server['token']}"}
    made = requests.post(f"{server['url']}/api/v1/projects", json={"name": "secret-art", "private": True}, headers=auth)
    assert made.status_code == 201, made.text
    client = MlflowClient()
    experiment = client.get_experiment_by_name("secret-art").experiment_id
    run = client.create_run(experiment)
    note = tmp_path / "note.txt"
    note.write_text("private")
    client.log_artifact(run.info.run_id, str(note))

    # Another user cannot see the private project's files, nor learn they exist.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["cat_token"])
    # The artifact repository raises the HTTP error with millrace's answer in it.
    with pytest.raises(requests.HTTPError) as hidden:
        get_artifact_repository(run.info.artifact_uri).list_artifacts()
    assert hidden.value.response.status_code == 404
    assert hidden.value.response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # A read-only token reads but does not write.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server["read_token"])
    assert [f.path for f in get_artifact_repository(run.info.artifact_uri).list_artifacts()] == ["note.txt"]
    with pytest.raises(requests.HTTPError) as refused:
        get_artifact_repository(run.info.artifact_uri).log_artifact(str(note), "copy")
    assert refused.value.response.json()["error_code"] == "PERMISSION_DENIED"

    # The client checks paths itself, so a path that tries to leave the run is sent raw.
    root = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    escape = requests.put(
        f"{server['url']}/api/2.0/mlflow-artifacts/artifacts/{root}/..%2F..%2F..%2Fowned.txt", data=b"x", headers=auth
    )
    assert escape.status_code == 400 and escape.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not any(name.startswith("owned") for name in os.listdir(os.path.join(server["files"], "artifacts")))
    assert stored(server, run.info.run_id)["project"] == "ann/secret-art"
