//! The file store on the server's disk: code snapshots by content hash, artifacts by job.

use sha2::{Digest, Sha256};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Largest code snapshot the server accepts.
pub const MAX_SNAPSHOT: usize = 512 << 20;
/// Largest single artifact the server accepts.
pub const MAX_ARTIFACT: usize = 2 << 30;

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` is a hex SHA-256 (64 lowercase hex digits), so it is safe as a file name.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where snapshot `sha` lives.
pub fn snapshot_path(root: &Path, sha: &str) -> PathBuf {
    root.join("snapshots").join(format!("{sha}.tar.gz"))
}

/// Stores a snapshot under its hash (written to a temporary name, then renamed, so a reader
/// never sees half a file); returns the hash.
pub async fn save_snapshot(root: &Path, bytes: &[u8]) -> io::Result<String> {
    let sha = sha256_hex(bytes);
    let path = snapshot_path(root, &sha);
    if tokio::fs::try_exists(&path).await? {
        return Ok(sha);
    }
    write_atomically(&path, bytes).await?;
    Ok(sha)
}

/// The directory of job `uid`'s artifacts.
pub fn artifacts_dir(root: &Path, uid: &str) -> PathBuf {
    root.join("artifacts").join(uid)
}

/// `relative` as a path inside a job's artifact directory, if it stays inside it.
pub fn artifact_path(root: &Path, uid: &str, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let inside =
        !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    inside.then(|| artifacts_dir(root, uid).join(rel))
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub async fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("file paths have a parent");
    tokio::fs::create_dir_all(dir).await?;
    let temp = dir.join(format!(".upload-{:016x}", rand::random::<u64>()));
    tokio::fs::write(&temp, bytes).await?;
    tokio::fs::rename(&temp, path).await
}

/// Every artifact of job `uid`: (relative path, size in bytes), in path order.
pub fn list_artifacts(root: &Path, uid: &str) -> io::Result<Vec<(String, u64)>> {
    let dir = artifacts_dir(root, uid);
    let mut found = Vec::new();
    let mut pending = vec![dir.clone()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && !entry.file_name().to_string_lossy().starts_with(".upload-")
            {
                let path = entry.path();
                let relative = path.strip_prefix(&dir).expect("walked from dir");
                found.push((
                    relative.to_string_lossy().into_owned(),
                    entry.metadata()?.len(),
                ));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_cannot_leave_the_job_directory() {
        let root = Path::new("/srv/files");
        assert_eq!(
            artifact_path(root, "abc", "out/model.pt"),
            Some(PathBuf::from("/srv/files/artifacts/abc/out/model.pt"))
        );
        for bad in ["../x", "/etc/passwd", "a/../../x", "", "./x"] {
            assert_eq!(artifact_path(root, "abc", bad), None, "{bad}");
        }
    }

    #[test]
    fn only_hex_sha256_names_are_snapshot_ids() {
        assert!(is_sha256(&sha256_hex(b"x")));
        assert!(!is_sha256("../../etc/passwd"));
        assert!(!is_sha256(&"A".repeat(64)));
    }
}
