//! The Artifacts tab's logic on the server: the folders on the way to the open path, each
//! listed once and cut at [`MAX_ENTRIES`], and the open file's preview, read from the file
//! store within the preview's bounds.

use super::preview;
use super::server_fns::{ArtifactsPage, Entry, Folder, OpenFile};
use crate::error::AppError;
use crate::file_store::{FileStore, Key, Stat};

/// Most entries listed per folder: a folder of 100,000 files still opens at once (its zip has
/// them all).
pub const MAX_ENTRIES: usize = 1_000;

/// Job `uid`'s tab opened at `path` (`""`: the top folder), with its files in `store`.
pub async fn page(store: &FileStore, uid: &str, path: &str) -> Result<ArtifactsPage, AppError> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let asked = parts.join("/");
    let key = store.artifact(uid, &asked);
    // Only a file or a folder that is there opens.
    let stat = match &key {
        Some(key) => store.stat(key).await.map_err(internal)?,
        None => Stat::Nothing,
    };
    let is_dir = matches!(stat, Stat::Folder);
    let found = !matches!(stat, Stat::Nothing);
    let mut page = ArtifactsPage {
        uid: uid.to_owned(),
        missing: (!asked.is_empty() && !found).then(|| asked.clone()),
        ..ArtifactsPage::default()
    };
    let open = if found { parts.len() } else { 0 };
    // The top, each folder on the way, and the open path itself when it is a folder.
    let shown = if is_dir { open } else { open.saturating_sub(1) };
    for depth in 0..=shown {
        let folder = parts[..depth].join("/");
        let at = store
            .artifact_folder(uid, &folder)
            .expect("a prefix of a valid path");
        page.folders.push(list(store, &at, folder).await?);
    }
    if let (Stat::File(meta), Some(key)) = (stat, key) {
        let name = parts[open - 1];
        let folder = parts[..open - 1].join("/");
        let data = store
            .read_head(&key, meta.size, preview::wanted(name, meta.size))
            .await
            .map_err(internal)?;
        let requirements = match name {
            "MLmodel" => requirements_beside(store, uid, &folder).await?,
            _ => None,
        };
        let preview = preview::of(
            &data,
            meta.size,
            name,
            &folder,
            uid,
            requirements.as_deref(),
        );
        page.file = Some(OpenFile {
            path: asked,
            bytes: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
            preview,
        });
    }
    Ok(page)
}

/// The start of the `requirements.txt` in `folder` of job `uid`'s files, if there is one.
async fn requirements_beside(
    store: &FileStore,
    uid: &str,
    folder: &str,
) -> Result<Option<Vec<u8>>, AppError> {
    let path = if folder.is_empty() {
        "requirements.txt".to_owned()
    } else {
        format!("{folder}/requirements.txt")
    };
    let key = store.artifact(uid, &path).expect("a valid folder's file");
    let Some(meta) = store.head(&key).await.map_err(internal)? else {
        return Ok(None);
    };
    let limit = preview::wanted("requirements.txt", meta.size);
    let data = store
        .read_head(&key, meta.size, limit)
        .await
        .map_err(internal)?;
    Ok(Some(data.to_vec()))
}

async fn list(store: &FileStore, at: &Key, path: String) -> Result<Folder, AppError> {
    let mut entries = store.list_folder(at).await.map_err(internal)?;
    // As file browsers list: folders first, then by name whatever its case.
    entries.sort_by_cached_key(|e| (!e.is_dir, e.name.to_lowercase(), e.name.clone()));
    let hidden = entries.len().saturating_sub(MAX_ENTRIES);
    entries.truncate(MAX_ENTRIES);
    Ok(Folder {
        path,
        entries: entries
            .into_iter()
            .map(|e| Entry {
                name: e.name,
                is_dir: e.is_dir,
                bytes: e.bytes,
                modified_ms: e.modified_ms,
            })
            .collect(),
        hidden,
    })
}

fn internal(error: crate::file_store::Error) -> AppError {
    tracing::error!(%error, "reading artifacts");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::server_fns::Preview;
    use bytes::Bytes;

    fn names(folder: &Folder) -> Vec<&str> {
        folder.entries.iter().map(|e| e.name.as_str()).collect()
    }

    async fn write(store: &FileStore, path: &str, bytes: &[u8]) {
        let key = store.artifact("j1", path).unwrap();
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::copy_from_slice(bytes))]);
        let staged = store.stage(&key, body, u64::MAX, false).await.unwrap();
        staged.keep().await.unwrap();
    }

    #[tokio::test]
    async fn the_tab_lists_the_folders_down_to_the_open_file_and_previews_it() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::local(root.path()).unwrap();
        write(&store, "plots/train/notes.txt", b"fine\n").await;
        write(&store, "model/MLmodel", b"artifact_path: model\n").await;
        write(&store, "model/requirements.txt", b"numpy==2.1.3\n").await;
        write(&store, "summary.json", b"{\"acc\": 0.9}").await;
        write(&store, "README.md", b"# Run\n").await;

        let page = page(&store, "j1", "plots/train/notes.txt").await.unwrap();
        let paths: Vec<&str> = page.folders.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["", "plots", "plots/train"]);
        assert_eq!(
            names(&page.folders[0]),
            ["model", "plots", "README.md", "summary.json"],
            "folders first, then files whatever their case"
        );
        let file = page.file.unwrap();
        assert_eq!(
            (file.path.as_str(), file.bytes),
            ("plots/train/notes.txt", 5)
        );
        assert_eq!(
            file.preview,
            Preview::Text {
                text: "fine\n".into(),
                cut: false
            }
        );

        let folder = super::page(&store, "j1", "plots/").await.unwrap();
        assert_eq!(folder.folders.len(), 2, "an open folder is listed");
        assert_eq!(names(&folder.folders[1]), ["train"]);
        assert!(folder.file.is_none() && folder.missing.is_none());

        let model = super::page(&store, "j1", "model/MLmodel").await.unwrap();
        let Some(Preview::Model(summary)) = model.file.map(|f| f.preview) else {
            panic!("a model");
        };
        assert_eq!(
            summary.requirements,
            ["numpy==2.1.3"],
            "read from beside it"
        );
    }

    #[tokio::test]
    async fn a_path_that_is_not_there_or_leaves_the_job_opens_nothing_and_says_so() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::local(root.path()).unwrap();
        write(&store, "kept.txt", b"x").await;
        let other = store.artifact("j2", "secret").unwrap();
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"s"))]);
        store
            .stage(&other, body, 9, false)
            .await
            .unwrap()
            .keep()
            .await
            .unwrap();
        for bad in ["gone.txt", "../j2/secret", "a\0b", "kept.txt/below"] {
            let page = page(&store, "j1", bad).await.unwrap();
            assert_eq!(page.missing.as_deref(), Some(bad), "{bad}");
            assert!(page.file.is_none(), "{bad}");
            assert_eq!(page.folders.len(), 1, "{bad}");
            assert_eq!(names(&page.folders[0]), ["kept.txt"], "{bad}");
        }
    }

    #[tokio::test]
    async fn a_folder_of_many_files_lists_the_first_thousand() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::local(root.path()).unwrap();
        let top = root.path().join("artifacts/j1");
        std::fs::create_dir_all(&top).unwrap();
        for i in 0..MAX_ENTRIES + 5 {
            std::fs::write(top.join(format!("f{i:05}")), "").unwrap();
        }
        let page = page(&store, "j1", "").await.unwrap();
        assert_eq!(page.folders[0].entries.len(), MAX_ENTRIES);
        assert_eq!(page.folders[0].hidden, 5);
    }
}
