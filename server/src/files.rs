//! The file store on the server's disk: code snapshots by content hash, artifacts by job.

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};

pub use app::artifacts::store::{
    artifact_path, artifacts_dir, bytes_under, extension, files_under, list_artifacts, list_folder,
    FolderEntry, TEMP_PREFIX,
};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Largest code snapshot the server accepts.
pub const MAX_SNAPSHOT: u64 = 512 << 20;
/// Largest single artifact the server accepts.
pub const MAX_ARTIFACT: u64 = 2 << 30;

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` is a hex SHA-256 (64 lowercase hex digits), so it is safe as a file name.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where snapshot `sha` lives.
pub fn snapshot_path(root: &Path, sha: &str) -> PathBuf {
    root.join("snapshots").join(format!("{sha}.tar.gz"))
}

/// Why an upload could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The body went past `limit` bytes; what arrived was thrown away.
    #[error("the body is over the limit of {limit} bytes")]
    TooLarge {
        /// The most bytes it could have had.
        limit: u64,
    },
    /// The body ended in an error (the client went away); what arrived was thrown away.
    #[error("the body was cut short: {0}")]
    CutShort(String),
    /// The disk failed us.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An upload written whole to a temporary file in its destination directory and synced to
/// disk, not yet under its name; dropped without [`Staged::keep`], the temporary file goes.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its hex SHA-256, when asked for.
    pub sha256: Option<String>,
}

impl Staged {
    /// Whether the file begins with `prefix`.
    pub async fn starts_with(&self, prefix: &[u8]) -> io::Result<bool> {
        use tokio::io::AsyncReadExt;
        let mut head = Vec::with_capacity(prefix.len());
        tokio::fs::File::open(&self.temp)
            .await?
            .take(prefix.len() as u64)
            .read_to_end(&mut head)
            .await?;
        Ok(head == prefix)
    }

    /// Renames the file to `path`, replacing what was there: a reader sees the old file or the
    /// new one, never half of one. [`sync_dir`] then makes the rename itself durable.
    pub async fn keep(mut self, path: &Path) -> io::Result<()> {
        tokio::fs::rename(&self.temp, path).await?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `body` to a temporary file in `dir` (created if missing) as it arrives, at most
/// `limit` bytes, hashing it if `hash`; the file is synced before this returns. Memory stays at
/// one write buffer whatever the body's size, and on any error nothing is left behind.
pub async fn stage<S, E>(dir: &Path, body: S, limit: u64, hash: bool) -> Result<Staged, StageError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(dir).await?;
    let temp = dir.join(format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>()));
    let file = tokio::fs::File::create(&temp).await?;
    // From here on, dropping `staged` removes the temporary file, whatever goes wrong.
    let mut staged = Staged {
        temp,
        bytes: 0,
        sha256: None,
    };
    let mut hasher = hash.then(Sha256::new);
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut body = std::pin::pin!(body);
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| StageError::CutShort(e.to_string()))?;
        staged.bytes += piece.len() as u64;
        if staged.bytes > limit {
            return Err(StageError::TooLarge { limit });
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&piece);
        }
        out.write_all(&piece).await?;
    }
    out.flush().await?;
    out.into_inner().sync_all().await?;
    staged.sha256 = hasher.map(|h| hex(&h.finalize()));
    Ok(staged)
}

/// Bytes gathered before each write to disk while staging.
const WRITE_BUFFER: usize = 1 << 20;

/// Syncs directory `dir`, so the renames and new entries in it survive a crash of the machine.
pub async fn sync_dir(dir: &Path) -> io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

/// The size of the file at `path`, 0 if there is none.
pub async fn size_of(path: &Path) -> io::Result<u64> {
    match tokio::fs::metadata(path).await {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Why a file cannot be written at `file` inside the folder `top`: it is a folder, or a
/// folder on its way is a file.
pub fn obstacle(top: &Path, file: &Path) -> Option<String> {
    if file.is_dir() {
        return Some(format!("{} is a folder", shown(top, file)));
    }
    file.ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(top) && *dir != top)
        .find(|dir| dir.is_file())
        .map(|dir| format!("{} is a file, not a folder", shown(top, dir)))
}

fn shown(top: &Path, path: &Path) -> String {
    path.strip_prefix(top)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, io::Error>> {
        let pieces: Vec<_> = sizes
            .iter()
            .map(|&n| Ok(Bytes::from(vec![9u8; n])))
            .collect();
        futures_util::stream::iter(pieces)
    }

    #[tokio::test]
    async fn a_staged_upload_is_hashed_and_kept_or_else_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(dir.path(), pieces(&[3, 4]), 7, true).await.unwrap();
        assert_eq!(staged.bytes, 7);
        assert_eq!(
            staged.sha256.as_deref(),
            Some(sha256_hex(&[9u8; 7]).as_str())
        );
        assert!(staged.starts_with(&[9, 9]).await.unwrap());
        let kept = dir.path().join("kept");
        staged.keep(&kept).await.unwrap();
        assert_eq!(std::fs::read(&kept).unwrap(), vec![9u8; 7]);

        let over = stage(dir.path(), pieces(&[3, 5]), 7, false).await;
        assert!(
            matches!(over, Err(StageError::TooLarge { limit: 7 })),
            "{over:?}"
        );
        let dropped = stage(dir.path(), pieces(&[1]), 7, false).await.unwrap();
        drop(dropped);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["kept"], "no temporary file is left behind");
    }

    #[test]
    fn only_hex_sha256_names_are_snapshot_ids() {
        assert!(is_sha256(&sha256_hex(b"x")));
        assert!(!is_sha256("../../etc/passwd"));
        assert!(!is_sha256(&"A".repeat(64)));
    }

    #[test]
    fn a_file_cannot_go_where_a_folder_is_nor_below_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join("plots")).unwrap();
        std::fs::write(top.join("model.pt"), [1u8; 5]).unwrap();
        assert_eq!(obstacle(top, &top.join("plots/new.png")), None);
        assert_eq!(
            obstacle(top, &top.join("plots")),
            Some("plots is a folder".into())
        );
        assert_eq!(
            obstacle(top, &top.join("model.pt/x/y.txt")),
            Some("model.pt is a file, not a folder".into())
        );
    }
}
