//! The Artifacts tab's data: one job's folders down to the open path, and that file's preview,
//! in one call.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Rows of a table previewed: enough to see the data, bounded on the wire.
pub const MAX_ROWS: usize = 1_000;
/// Kilobytes of a text file previewed.
pub const MAX_TEXT_KB: u64 = 256;

/// What the Artifacts tab shows for one open path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactsPage {
    /// The job's global id, which download links name.
    pub uid: String,
    /// The top folder, then each folder on the way to the open path (and the open folder).
    pub folders: Vec<Folder>,
    /// The open file, when the open path is one.
    pub file: Option<OpenFile>,
    /// The path the URL asked for when the job has nothing there.
    pub missing: Option<String>,
}

/// One folder's entries, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    /// Its path in the job's files (`""` for the top).
    pub path: String,
    /// The first entries, by name.
    pub entries: Vec<Entry>,
    /// How many entries are past those: the zip download has them.
    pub hidden: usize,
}

/// A file or folder in a folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Its size in bytes (0 for a folder).
    pub bytes: u64,
    /// When it last changed, in ms since the Unix epoch.
    pub modified_ms: i64,
}

/// The open file and what it shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenFile {
    /// Its path in the job's files.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it last changed, in ms since the Unix epoch.
    pub modified_ms: i64,
    /// What the tab shows of it.
    pub preview: Preview,
}

/// A file's preview, by what the file is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Preview {
    /// An image, shown from its download link.
    Image,
    /// Plain text; `cut` when only its beginning is shown.
    Text {
        /// The text shown.
        text: String,
        /// Whether the file goes on past it.
        cut: bool,
    },
    /// Markdown rendered to HTML on the server, with raw HTML shown as text and only safe links.
    Markdown {
        /// The HTML.
        html: String,
    },
    /// A JSON or YAML document as a tree whose branches fold.
    Tree(Node),
    /// A CSV file or an MLflow table: its columns and first rows.
    Table {
        /// The header.
        columns: Vec<String>,
        /// The first rows.
        rows: Vec<Vec<String>>,
        /// Whether the file has rows past them.
        more: bool,
    },
    /// An MLflow `MLmodel` file, summed up.
    Model(ModelSummary),
    /// A file with no preview: binary, or too large to read for one.
    None {
        /// Why, in a few words.
        reason: String,
    },
}

/// A value of a JSON or YAML document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Node {
    /// A scalar, as JSON writes it (`"text"`, `3.5`, `true`, `null`).
    Leaf(String),
    /// A list.
    List(Vec<Node>),
    /// A map, in the document's order.
    Map(Vec<(String, Node)>),
}

/// What an MLflow model is: the facts of its `MLmodel` file and its `requirements.txt`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Model id, run, MLflow version, creation time, size: those the file has.
    pub facts: Vec<(String, String)>,
    /// Each flavor with its settings (`sklearn`: `sklearn_version` 1.5.0, ...).
    pub flavors: Vec<(String, Vec<(String, String)>)>,
    /// The signature's inputs: name and type.
    pub inputs: Vec<(String, String)>,
    /// The signature's outputs: name and type.
    pub outputs: Vec<(String, String)>,
    /// The pip requirements beside it.
    pub requirements: Vec<String>,
}

/// The Artifacts tab of job `job` (its number or global id) in `owner/project`, opened at
/// `path` (`""`: the top folder).
#[server(input = Json, endpoint = "get_artifacts")]
pub async fn get_artifacts(
    owner: String,
    project: String,
    job: String,
    path: String,
) -> Result<ArtifactsPage, AppError> {
    use crate::state::AppState;
    use crate::{db, job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let job = db::jobs::find_in_project(&state.db, project.id, &job)
                .await?
                .ok_or(AppError::NotFound)?;
            super::service::page(&state.runs.files, &job.uid, &path).await
        }
        .await,
    )
}
