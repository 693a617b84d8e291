//! MLflow's artifact proxy, answered as `mlflow server --serve-artifacts` answers it, over the
//! job artifact folders the runners upload to: a run's `artifact_uri` is
//! `mlflow-artifacts:/EXPERIMENT/RUN/artifacts`, so the client sends
//! `/api/2.0/mlflow-artifacts/artifacts/EXPERIMENT/RUN/artifacts/PATH`. Also the tracking API's
//! `artifacts/list`, which names the run by its id.

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use super::runs::job_by_id;
use super::{respond, signed_in};
use crate::api::error::ApiError;
use crate::api::upload;
use crate::files::{FolderEntry, Key};
use app::auth::access::{Act, Policy};
use app::auth::Caller;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use serde_json::{json, Value};

/// The prefixes the MLflow server serves its artifact proxy under.
const PREFIXES: [&str; 2] = [
    "/api/2.0/mlflow-artifacts",
    "/ajax-api/2.0/mlflow-artifacts",
];

/// One route of the artifact proxy and who may call it: the permission test walks
/// [`ARTIFACT_ROUTES`], and each handler asks for its route's act, so the two cannot differ.
#[derive(Clone, Debug)]
pub struct ArtifactRoute {
    /// Its method.
    pub method: Method,
    /// What it does: `list`, `download`, `upload`, `delete` or `mpu/ACTION`.
    pub call: &'static str,
    /// What the caller must be allowed on the run the path names.
    pub act: Act,
}

impl ArtifactRoute {
    /// Who may call it, as the route tables declare it.
    pub fn policy(&self) -> Policy {
        Policy::Project(self.act)
    }
}

const LIST: ArtifactRoute = route(Method::GET, "list", Act::Read);
const DOWNLOAD: ArtifactRoute = route(Method::GET, "download", Act::Read);
const UPLOAD: ArtifactRoute = route(Method::PUT, "upload", Act::WriteJob);
const DELETE: ArtifactRoute = route(Method::DELETE, "delete", Act::WriteJob);
const MPU_CREATE: ArtifactRoute = route(Method::POST, "mpu/create", Act::WriteJob);
const MPU_COMPLETE: ArtifactRoute = route(Method::POST, "mpu/complete", Act::WriteJob);
const MPU_ABORT: ArtifactRoute = route(Method::POST, "mpu/abort", Act::WriteJob);

const fn route(method: Method, call: &'static str, act: Act) -> ArtifactRoute {
    ArtifactRoute { method, call, act }
}

/// Every route of the artifact proxy.
pub const ARTIFACT_ROUTES: &[ArtifactRoute] = &[
    LIST,
    DOWNLOAD,
    UPLOAD,
    DELETE,
    MPU_CREATE,
    MPU_COMPLETE,
    MPU_ABORT,
];

/// What MLflow's client looks for to fall back from a multipart upload to one streamed PUT.
const NO_MULTIPART: &str = "Multipart upload is not supported for the current artifact repository";

/// The artifact proxy's routes under both prefixes; anything else under them is MLflow's JSON 404.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in PREFIXES {
        router = router
            .route(&format!("{prefix}/artifacts"), get(list))
            .route(
                &format!("{prefix}/artifacts/{{*path}}"),
                get(download).put(upload).delete(delete),
            )
            .route(
                &format!("{prefix}/mpu/{{action}}/{{*path}}"),
                post(multipart),
            )
            .route(&format!("{prefix}/{{*rest}}"), any(super::unknown));
    }
    router
}

/// Whose files a path names: a run's (by its id), or a logged model's kept without a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner<'a> {
    /// `EXPERIMENT/RUN/...`
    Run(&'a str),
    /// `EXPERIMENT/models/MODEL/...`
    Model(&'a str),
}

/// Where a path of the proxy points.
#[derive(Debug, PartialEq, Eq)]
enum Location<'a> {
    /// Above every run: the root, or an experiment's folder. Nothing is kept there itself.
    AboveRuns {
        /// The experiment, if the path names one.
        experiment: Option<&'a str>,
    },
    /// A run's or model's folder, which holds just `artifacts`.
    Run {
        experiment: &'a str,
        owner: Owner<'a>,
    },
    /// A path inside a run's or model's artifacts; empty for the artifact folder itself.
    Artifact {
        experiment: &'a str,
        owner: Owner<'a>,
        path: &'a str,
    },
}

/// Reads `EXPERIMENT/RUN/artifacts/PATH` or `EXPERIMENT/models/MODEL/artifacts/PATH` (or a
/// prefix of either).
fn locate(path: &str) -> Result<Location<'_>, MlflowError> {
    let whole = path.trim_matches('/');
    if whole.is_empty() {
        return Ok(Location::AboveRuns { experiment: None });
    }
    let (experiment, rest) = whole.split_once('/').unwrap_or((whole, ""));
    // Run ids are hex, so no run is called `models`.
    let (owner, rest) = match rest.split_once('/').unwrap_or((rest, "")) {
        ("", _) | ("models", "") => {
            return Ok(Location::AboveRuns {
                experiment: Some(experiment),
            })
        }
        ("models", rest) => {
            let (model, rest) = rest.split_once('/').unwrap_or((rest, ""));
            (Owner::Model(model), rest)
        }
        (run, rest) => (Owner::Run(run), rest),
    };
    match rest.split_once('/').unwrap_or((rest, "")) {
        ("", _) => Ok(Location::Run { experiment, owner }),
        ("artifacts", path) => Ok(Location::Artifact {
            experiment,
            owner,
            path: path.trim_end_matches('/'),
        }),
        _ => Err(MlflowError::missing(format!(
            "no artifact at '{whole}': files are kept under EXPERIMENT/RUN/artifacts/"
        ))),
    }
}

/// The files a path reaches, once the caller may reach them: whose they are (the uid they are
/// kept under) and whether that run or model is deleted.
struct Home {
    uid: String,
    deleted: bool,
}

impl Home {
    /// The home, if it may be written: not a deleted run or model.
    fn live(self) -> Result<Self, MlflowError> {
        if self.deleted {
            return Err(MlflowError::invalid(format!(
                "'{}' is deleted; restore it before writing to it",
                self.uid
            )));
        }
        Ok(self)
    }
}

/// The files of `owner` in `experiment`, if the caller may `act` on them.
async fn home(
    state: &AppState,
    caller: &Caller,
    experiment: &str,
    owner: Owner<'_>,
    act: Act,
) -> Result<Home, MlflowError> {
    let (project, home) = match owner {
        Owner::Run(run) => {
            let job = job_by_id(state, caller, run, act).await?;
            let home = Home {
                deleted: job.archived != 0,
                uid: job.uid,
            };
            (job.project_id, home)
        }
        Owner::Model(uid) => {
            let (model, job) = super::logged_models::model(state, caller, uid, act, true).await?;
            // A model made in a run keeps its files in the run's folder.
            if job.is_some() {
                return Err(MlflowError::missing(format!(
                    "logged model '{uid}' keeps its files with its run"
                )));
            }
            let home = Home {
                uid: model.uid,
                deleted: model.deleted != 0,
            };
            (model.project_id, home)
        }
    };
    if project.to_string() != experiment {
        return Err(MlflowError::missing(format!(
            "'{}' not found in experiment '{experiment}'",
            home.uid
        )));
    }
    Ok(home)
}

/// The key of `path` of `home`'s files in the store: its artifact folder for an empty path.
fn stored(state: &AppState, home: &str, path: &str) -> Result<Key, MlflowError> {
    state.runs.files.artifact_folder(home, path).ok_or_else(|| {
        MlflowError::invalid(format!(
            "invalid artifact path '{path}': it must stay inside the run's artifact folder"
        ))
    })
}

/// The files and the file a path of the proxy names, for a call that needs one inside them.
async fn artifact(
    state: &AppState,
    caller: &Caller,
    path: &str,
    act: Act,
) -> Result<(Home, String), MlflowError> {
    match locate(path)? {
        Location::Artifact {
            experiment,
            owner,
            path,
        } => Ok((
            home(state, caller, experiment, owner, act).await?,
            path.to_owned(),
        )),
        _ => Err(MlflowError::invalid(format!(
            "'{path}' is not inside a run's artifacts (EXPERIMENT/RUN/artifacts/PATH)"
        ))),
    }
}

/// `GET .../artifacts?path=DIR`: what a folder holds, each entry named by its base name.
async fn list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    args: Result<Args, MlflowError>,
) -> Response {
    let answer = async {
        let caller = signed_in(caller)?;
        let args = args?;
        let path = args.opt_str("path").unwrap_or_default();
        let entries = match locate(path)? {
            Location::AboveRuns { experiment: None } => Vec::new(),
            Location::AboveRuns {
                experiment: Some(experiment),
            } => {
                // Runs' folders are not listed from above: a project holds thousands of runs,
                // and clients always start from a run's own URI.
                project_for_id(&state, &caller, experiment, LIST.act).await?;
                Vec::new()
            }
            Location::Run { experiment, owner } => {
                let home = home(&state, &caller, experiment, owner, LIST.act).await?;
                let dir = state.runs.files.artifacts(&home.uid);
                if state.runs.files.is_folder(&dir).await.map_err(failed)? {
                    vec![json!({ "path": "artifacts", "is_dir": true })]
                } else {
                    Vec::new()
                }
            }
            Location::Artifact {
                experiment,
                owner,
                path,
            } => {
                let home = home(&state, &caller, experiment, owner, LIST.act).await?;
                let dir = stored(&state, &home.uid, path)?;
                folder(&state, &dir)
                    .await?
                    .into_iter()
                    .map(|entry| file_info(&entry.name, &entry))
                    .collect()
            }
        };
        Ok(files_json(entries))
    };
    respond(answer.await)
}

/// `GET .../artifacts/PATH`: the file's bytes, streamed, with ranges. Sent as a download whatever
/// its type: an uploaded HTML or SVG file must not run as a page of this site (see `download`).
async fn download(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let sent = async {
        let caller = signed_in(caller)?;
        let (home, path) = artifact(&state, &caller, &path, DOWNLOAD.act).await?;
        let file = stored(&state, &home.uid, &path)?;
        let sent = crate::download::file(&state.runs.files, &file, &headers).await?;
        sent.ok_or_else(|| MlflowError::missing(format!("no artifact '{path}' in '{}'", home.uid)))
    };
    match sent.await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `PUT .../artifacts/PATH`: stores the body as that file, replacing one of the same path.
async fn upload(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = async {
        let caller = signed_in(caller)?;
        let (home, path) = artifact(&state, &caller, &path, UPLOAD.act).await?;
        let home = home.live()?;
        if path.is_empty() {
            return Err(MlflowError::invalid(
                "name the file to upload: EXPERIMENT/RUN/artifacts/PATH",
            ));
        }
        let file = stored(&state, &home.uid, &path)?;
        upload::keep_artifact(&state, &home.uid, &file, &headers, body)
            .await
            .map_err(from_api)?;
        Ok(json!({}))
    };
    respond(answer.await)
}

/// `DELETE .../artifacts/PATH`: removes a file or a folder with everything in it.
async fn delete(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(path): Path<String>,
) -> Response {
    let answer = async {
        let caller = signed_in(caller)?;
        let (home, path) = match locate(&path)? {
            // A run's folder holds only its artifacts.
            Location::Run { experiment, owner } => (
                home(&state, &caller, experiment, owner, DELETE.act).await?,
                String::new(),
            ),
            _ => artifact(&state, &caller, &path, DELETE.act).await?,
        };
        let home = home.live()?;
        let target = stored(&state, &home.uid, &path)?;
        upload::remove_artifacts(&state, &home.uid, &target)
            .await
            .map_err(from_api)?;
        Ok(json!({}))
    };
    respond(answer.await)
}

/// `POST .../mpu/{create,complete,abort}/PATH`: answered as MLflow answers for a store without
/// multipart uploads (its local folder store), so its client falls back to one streamed PUT.
async fn multipart(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path((action, path)): Path<(String, String)>,
) -> Response {
    let answer = async {
        let caller = signed_in(caller)?;
        let route = ARTIFACT_ROUTES
            .iter()
            .find(|r| r.call.strip_prefix("mpu/") == Some(action.as_str()))
            .ok_or_else(|| super::not_supported(&Method::POST, &format!("mpu/{action}")))?;
        let (home, _) = artifact(&state, &caller, &path, route.act).await?;
        home.live()?;
        Err::<Value, _>(MlflowError {
            code: "NOT_IMPLEMENTED",
            message: NO_MULTIPART.into(),
        })
    };
    respond(answer.await)
}

/// `artifacts/list` of the tracking API: what a folder of the run `run_id` holds, each entry
/// named by its path from the run's artifact root.
pub async fn list_for_run(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Value, MlflowError> {
    let job = job_by_id(state, caller, args.run_id()?, Act::Read).await?;
    let path = args.opt_str("path").unwrap_or_default().trim_matches('/');
    let dir = stored(state, &job.uid, path)?;
    let entries: Vec<Value> = folder(state, &dir)
        .await?
        .into_iter()
        .map(|entry| {
            let relative = if path.is_empty() {
                entry.name.clone()
            } else {
                format!("{path}/{}", entry.name)
            };
            file_info(&relative, &entry)
        })
        .collect();
    let mut answer = files_json(entries);
    answer["root_uri"] = json!(super::runs::artifact_uri(&job));
    Ok(answer)
}

/// What folder `dir` holds.
async fn folder(state: &AppState, dir: &Key) -> Result<Vec<FolderEntry>, MlflowError> {
    state.runs.files.list_folder(dir).await.map_err(failed)
}

fn failed(error: crate::files::Error) -> MlflowError {
    tracing::error!(%error, "reading artifacts");
    MlflowError::from(app::error::AppError::Internal)
}

/// MLflow's `FileInfo`: folders carry no size.
fn file_info(path: &str, entry: &FolderEntry) -> Value {
    if entry.is_dir {
        json!({ "path": path, "is_dir": true })
    } else {
        json!({ "path": path, "is_dir": false, "file_size": entry.bytes })
    }
}

/// `{"files": [...]}`, or `{}` for none, as protobuf's JSON leaves out empty lists.
fn files_json(entries: Vec<Value>) -> Value {
    if entries.is_empty() {
        json!({})
    } else {
        json!({ "files": entries })
    }
}

/// The REST API's upload errors in MLflow's shape.
fn from_api(error: ApiError) -> MlflowError {
    let message = error.message.unwrap_or_else(|| error.error.to_string());
    MlflowError {
        message,
        ..MlflowError::from(error.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_name_runs_and_their_files() {
        assert_eq!(
            locate("").unwrap(),
            Location::AboveRuns { experiment: None }
        );
        assert_eq!(
            locate("7/").unwrap(),
            Location::AboveRuns {
                experiment: Some("7")
            }
        );
        assert_eq!(
            locate("7/abc").unwrap(),
            Location::Run {
                experiment: "7",
                owner: Owner::Run("abc")
            }
        );
        assert_eq!(
            locate("7/abc/artifacts").unwrap(),
            Location::Artifact {
                experiment: "7",
                owner: Owner::Run("abc"),
                path: ""
            }
        );
        assert_eq!(
            locate("/7/abc/artifacts/plots/loss.png/").unwrap(),
            Location::Artifact {
                experiment: "7",
                owner: Owner::Run("abc"),
                path: "plots/loss.png"
            }
        );
        let elsewhere = locate("7/abc/models/x").unwrap_err();
        assert_eq!(elsewhere.code, "RESOURCE_DOES_NOT_EXIST");
        // A model logged without a run has a folder of its own.
        assert_eq!(
            locate("7/models/m-1/artifacts/MLmodel").unwrap(),
            Location::Artifact {
                experiment: "7",
                owner: Owner::Model("m-1"),
                path: "MLmodel"
            }
        );
        assert_eq!(
            locate("7/models").unwrap(),
            Location::AboveRuns {
                experiment: Some("7")
            }
        );
    }
}
