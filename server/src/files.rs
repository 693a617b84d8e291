//! What the server adds to the file store (`app::file_store`): how large an upload may be, and
//! where a file may not go.

pub use app::file_store::{
    below, extension, is_sha256, relative, sha256_hex, ByteStream, Error, FileStore, FolderEntry,
    Key, StageError, Staged, Stat,
};

/// Largest code snapshot the server accepts.
pub const MAX_SNAPSHOT: u64 = 512 << 20;
/// Largest single artifact the server accepts.
pub const MAX_ARTIFACT: u64 = 2 << 30;

/// Why a file cannot be written at `file` inside the folder `top`: it is a folder, or a
/// folder on its way is a file. Object stores would keep both; a disk cannot, and a tree
/// shown in the Artifacts tab must not.
pub async fn obstacle(store: &FileStore, top: &Key, file: &Key) -> Result<Option<String>, Error> {
    if store.is_folder(file).await? {
        return Ok(Some(format!("{} is a folder", relative(top, file))));
    }
    let mut above = file.parent();
    while let Some(folder) = above.filter(|folder| folder != top && folder.prefix_matches(top)) {
        if let Stat::File(_) = store.stat(&folder).await? {
            return Ok(Some(format!(
                "{} is a file, not a folder",
                relative(top, &folder)
            )));
        }
        above = folder.parent();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[tokio::test]
    async fn a_file_cannot_go_where_a_folder_is_nor_below_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::local(dir.path()).unwrap();
        for path in ["plots/loss.png", "model.pt"] {
            let key = store.artifact("j1", path).unwrap();
            let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]);
            let staged = store.stage(&key, body, 9, false).await.unwrap();
            staged.keep().await.unwrap();
        }
        let top = store.artifacts("j1");
        let at = |path: &str| store.artifact("j1", path).unwrap();
        let obstacle = |path: &'static str| {
            let (store, top, key) = (store.clone(), top.clone(), at(path));
            async move { obstacle(&store, &top, &key).await.unwrap() }
        };
        assert_eq!(obstacle("plots/new.png").await, None);
        assert_eq!(obstacle("plots").await, Some("plots is a folder".into()));
        assert_eq!(
            obstacle("model.pt/x/y.txt").await,
            Some("model.pt is a file, not a folder".into())
        );
    }
}
