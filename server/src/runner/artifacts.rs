//! Finding a job's artifacts: the files under its directory that the spec's patterns match.

use globset::{Glob, GlobSetBuilder};
use std::path::{Path, PathBuf};

/// Most files kept from one job, so a pattern like `**` cannot flood the store.
pub const MAX_FILES: usize = 1_000;

/// The files found, as (path relative to the root with `/`, absolute path).
#[derive(Debug, Default)]
pub struct Found {
    /// Matching files, in path order.
    pub files: Vec<(String, PathBuf)>,
}

/// The files under `root` that match any of `patterns` (checked globs, relative to `root`).
pub fn matching(root: &Path, patterns: &[String]) -> Found {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        if let Ok(glob) = Glob::new(pattern) {
            builder.add(glob);
        }
    }
    let Ok(set) = builder.build() else {
        return Found::default();
    };
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .build();
    let mut files: Vec<(String, PathBuf)> = walker
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(root)
                .ok()?
                .to_string_lossy()
                .into_owned();
            set.is_match(&relative)
                .then(|| (relative, entry.path().to_owned()))
        })
        .take(MAX_FILES)
        .collect();
    files.sort();
    Found { files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_pick_files_below_the_job_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ckpt/old")).unwrap();
        for name in ["ckpt/a.pt", "ckpt/old/b.pt", "results.json", "notes.txt"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let found = matching(dir.path(), &["ckpt/**/*.pt".into(), "results.json".into()]);
        let names: Vec<&str> = found.files.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(names, ["ckpt/a.pt", "ckpt/old/b.pt", "results.json"]);
    }
}
