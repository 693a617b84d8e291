//! The read side of the artifact store on the server's disk: where a job's files live and what
//! a folder of them holds. The server's upload code writes into the same layout.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Prefix of the temporary files uploads are written to; listings skip them.
pub const TEMP_PREFIX: &str = ".upload-";

/// Longest artifact path, and longest name in it, in bytes: what every Linux file system takes,
/// so a longer one is refused as a bad path rather than failing on the disk.
const MAX_ARTIFACT_PATH: usize = 1024;
const MAX_NAME: usize = 255;

/// The lowercase extension of file `name` (`"png"` for `Loss.PNG`), empty if it has none.
pub fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The directory of job `uid`'s artifacts.
pub fn artifacts_dir(root: &Path, uid: &str) -> PathBuf {
    root.join("artifacts").join(uid)
}

/// `relative` as a path inside a job's artifact directory, if it stays inside it and its
/// length fits the file system.
pub fn artifact_path(root: &Path, uid: &str, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let inside = !relative.is_empty()
        && relative.len() <= MAX_ARTIFACT_PATH
        && !relative.contains('\0')
        && rel.components().all(|c| match c {
            Component::Normal(name) => name.len() <= MAX_NAME,
            _ => false,
        });
    inside.then(|| artifacts_dir(root, uid).join(rel))
}

/// Every artifact of job `uid`: (relative path, size in bytes), in path order.
pub fn list_artifacts(root: &Path, uid: &str) -> io::Result<Vec<(String, u64)>> {
    files_under(&artifacts_dir(root, uid))
}

/// Every file at or below `dir`: (path relative to `dir`, size in bytes), in path order; none
/// when `dir` is missing. Uploads still being written are left out.
pub fn files_under(dir: &Path) -> io::Result<Vec<(String, u64)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
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
            } else if kind.is_file() && !is_temporary(&entry) {
                let path = entry.path();
                let relative = path.strip_prefix(dir).expect("walked from dir");
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

fn is_temporary(entry: &std::fs::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
}

/// One entry of an artifact folder.
#[derive(Debug, PartialEq, Eq)]
pub struct FolderEntry {
    /// Its name in the folder.
    pub name: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Its size in bytes (0 for a folder).
    pub bytes: u64,
    /// When it last changed, in ms since the Unix epoch.
    pub modified_ms: i64,
}

/// What folder `dir` holds directly, by name; nothing when it is missing or is a file.
pub fn list_folder(dir: &Path) -> io::Result<Vec<FolderEntry>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        if !(kind.is_dir() || kind.is_file()) || is_temporary(&entry) {
            continue;
        }
        let meta = entry.metadata()?;
        listed.push(FolderEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            is_dir: kind.is_dir(),
            bytes: if kind.is_file() { meta.len() } else { 0 },
            modified_ms: modified_ms(&meta),
        });
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// When the file of `meta` last changed, in ms since the Unix epoch (0 if the disk cannot say).
pub fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_millis() as i64)
}

/// The bytes of the file at `path`, or of every file below it if it is a folder; 0 if missing.
pub fn bytes_under(path: &Path) -> io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(meta.len()),
        Ok(_) => Ok(files_under(path)?.iter().map(|(_, bytes)| bytes).sum()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
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
        let long_name = "x".repeat(256);
        let deep = "a/".repeat(600);
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "",
            "./x",
            "a\0b",
            &long_name,
            &deep,
        ] {
            assert_eq!(artifact_path(root, "abc", bad), None, "{bad}");
        }
    }

    #[test]
    fn folders_list_their_entries_and_count_the_bytes_below_them() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join("plots/train")).unwrap();
        std::fs::write(top.join("model.pt"), [1u8; 5]).unwrap();
        std::fs::write(top.join("plots/loss.png"), [1u8; 3]).unwrap();
        std::fs::write(top.join("plots/train/a.png"), [1u8; 2]).unwrap();
        std::fs::write(top.join(format!("{TEMP_PREFIX}1")), [1u8; 9]).unwrap();
        let listed = list_folder(top).unwrap();
        let names: Vec<_> = listed
            .iter()
            .map(|e| (e.name.as_str(), e.is_dir, e.bytes))
            .collect();
        assert_eq!(
            names,
            [("model.pt", false, 5), ("plots", true, 0)],
            "uploads in flight are not listed"
        );
        let now = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!(
            (now - listed[0].modified_ms).abs() < 60_000,
            "{}",
            listed[0].modified_ms
        );
        assert_eq!(bytes_under(top).unwrap(), 10);
        assert_eq!(bytes_under(&top.join("plots")).unwrap(), 5);
        assert_eq!(bytes_under(&top.join("model.pt")).unwrap(), 5);
        assert_eq!(bytes_under(&top.join("gone")).unwrap(), 0);
        assert!(list_folder(&top.join("model.pt")).unwrap().is_empty());
        assert!(list_folder(&top.join("gone")).unwrap().is_empty());
    }
}
