//! The Artifacts tab's logic on the server: the folders on the way to the open path, each
//! listed once and cut at [`MAX_ENTRIES`], and the open file's preview. Blocking: run it off
//! the async runtime.

use super::server_fns::{ArtifactsPage, Entry, Folder, OpenFile};
use super::{preview, store};
use crate::error::AppError;
use std::path::Path;

/// Most entries listed per folder: a folder of 100,000 files still opens at once (its zip has
/// them all).
pub const MAX_ENTRIES: usize = 1_000;

/// Job `uid`'s tab opened at `path` (`""`: the top folder), with its files under `root`.
pub fn page(root: &Path, uid: &str, path: &str) -> Result<ArtifactsPage, AppError> {
    let top = store::artifacts_dir(root, uid);
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let asked = parts.join("/");
    // Only a file or folder that is there opens; symbolic links never do.
    let found = store::artifact_path(root, uid, &asked)
        .and_then(|at| std::fs::symlink_metadata(&at).ok().map(|meta| (at, meta)))
        .filter(|(_, meta)| meta.is_file() || meta.is_dir());
    let mut page = ArtifactsPage {
        uid: uid.to_owned(),
        missing: (!asked.is_empty() && found.is_none()).then(|| asked.clone()),
        ..ArtifactsPage::default()
    };
    let open = if found.is_some() { parts.len() } else { 0 };
    let open_is_dir = found.as_ref().is_some_and(|(_, meta)| meta.is_dir());
    // The top, each folder on the way, and the open path itself when it is a folder.
    let shown = if open_is_dir {
        open
    } else {
        open.saturating_sub(1)
    };
    for depth in 0..=shown {
        let folder = parts[..depth].join("/");
        page.folders.push(list(&top.join(&folder), folder)?);
    }
    if let Some((file, meta)) = found.filter(|(_, meta)| meta.is_file()) {
        let folder = parts[..open - 1].join("/");
        let preview = preview::of(&file, parts[open - 1], &folder, uid).map_err(internal)?;
        page.file = Some(OpenFile {
            path: asked,
            bytes: meta.len(),
            modified_ms: store::modified_ms(&meta),
            preview,
        });
    }
    Ok(page)
}

fn list(dir: &Path, path: String) -> Result<Folder, AppError> {
    let mut entries = store::list_folder(dir).map_err(internal)?;
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

fn internal(error: std::io::Error) -> AppError {
    tracing::error!(%error, "reading artifacts");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::server_fns::Preview;

    fn names(folder: &Folder) -> Vec<&str> {
        folder.entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn the_tab_lists_the_folders_down_to_the_open_file_and_previews_it() {
        let root = tempfile::tempdir().unwrap();
        let top = store::artifacts_dir(root.path(), "j1");
        std::fs::create_dir_all(top.join("plots/train")).unwrap();
        std::fs::create_dir_all(top.join("model")).unwrap();
        std::fs::write(top.join("plots/train/notes.txt"), "fine\n").unwrap();
        std::fs::write(top.join("summary.json"), "{\"acc\": 0.9}").unwrap();
        std::fs::write(top.join("README.md"), "# Run\n").unwrap();

        let page = page(root.path(), "j1", "plots/train/notes.txt").unwrap();
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

        let folder = super::page(root.path(), "j1", "plots/").unwrap();
        assert_eq!(folder.folders.len(), 2, "an open folder is listed");
        assert_eq!(names(&folder.folders[1]), ["train"]);
        assert!(folder.file.is_none() && folder.missing.is_none());
    }

    #[test]
    fn a_path_that_is_not_there_or_leaves_the_job_opens_nothing_and_says_so() {
        let root = tempfile::tempdir().unwrap();
        let top = store::artifacts_dir(root.path(), "j1");
        std::fs::create_dir_all(&top).unwrap();
        std::fs::write(root.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), top.join("link")).unwrap();
        for bad in ["gone.txt", "../../secret", "link", "a\0b"] {
            let page = page(root.path(), "j1", bad).unwrap();
            assert_eq!(page.missing.as_deref(), Some(bad), "{bad}");
            assert!(page.file.is_none(), "{bad}");
            assert_eq!(page.folders.len(), 1, "{bad}");
            assert!(names(&page.folders[0]).is_empty(), "links are not listed");
        }
    }

    #[test]
    fn a_folder_of_many_files_lists_the_first_thousand() {
        let root = tempfile::tempdir().unwrap();
        let top = store::artifacts_dir(root.path(), "j1");
        std::fs::create_dir_all(&top).unwrap();
        for i in 0..MAX_ENTRIES + 5 {
            std::fs::write(top.join(format!("f{i:05}")), "").unwrap();
        }
        let page = page(root.path(), "j1", "").unwrap();
        assert_eq!(page.folders[0].entries.len(), MAX_ENTRIES);
        assert_eq!(page.folders[0].hidden, 5);
    }
}
