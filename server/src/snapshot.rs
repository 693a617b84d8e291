//! Code snapshots: a directory packed as .tar.gz (what .gitignore excludes left out) and
//! unpacked into a job's fresh directory on the runner.

use anyhow::{bail, Context};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// The default size limit of a snapshot's files, before compression.
pub const DEFAULT_LIMIT: u64 = 100 << 20;

/// The files of `dir` that go into a snapshot, with their sizes: everything except what
/// .gitignore, .ignore or git's excludes leave out, and `.git` itself.
pub fn files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("walked from dir")
                .to_owned();
            found.push((relative, size));
        }
    }
    found.sort();
    Ok(found)
}

/// Packs `dir` as .tar.gz, refusing if its files add up to more than `limit` bytes; shows a
/// progress bar on standard error when `progress` is set.
pub fn pack(dir: &Path, limit: u64, progress: bool) -> anyhow::Result<Vec<u8>> {
    let files = files(dir)?;
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    if total > limit {
        let mut biggest = files.clone();
        biggest.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
        let names: Vec<String> = biggest
            .iter()
            .take(3)
            .map(|(path, size)| format!("{} ({})", path.display(), human_bytes(*size)))
            .collect();
        bail!(
            "{} holds {} in {} files, over the snapshot limit of {}; the biggest: {}. \
             List what need not travel in .gitignore, or raise --max-snapshot",
            dir.display(),
            human_bytes(total),
            files.len(),
            human_bytes(limit),
            names.join(", ")
        );
    }
    let bar = if progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("packing {bar:30} {bytes}/{total_bytes} {msg}")
            .expect("the template is valid"),
    );
    let mut archive = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    archive.follow_symlinks(false);
    for (relative, size) in &files {
        archive
            .append_path_with_name(dir.join(relative), relative)
            .with_context(|| format!("adding {} to the snapshot", relative.display()))?;
        bar.inc(*size);
    }
    bar.finish_and_clear();
    let bytes = archive.into_inner()?.finish()?;
    Ok(bytes)
}

/// Unpacks a snapshot into `dest`, which must exist; entries cannot escape it.
pub fn unpack(bytes: &[u8], dest: &Path) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    archive.set_preserve_permissions(true);
    archive
        .unpack(dest)
        .with_context(|| format!("unpacking the code snapshot into {}", dest.display()))
}

/// `12.3 MB` and the like.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_leaves_out_ignored_files_and_unpacks_the_rest() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path();
        std::fs::write(root.join(".gitignore"), "data/\n*.ckpt\n").unwrap();
        std::fs::write(root.join("train.py"), "print('hi')\n").unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/big.bin"), vec![0u8; 1000]).unwrap();
        std::fs::write(root.join("model.ckpt"), "x").unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref").unwrap();
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("pkg/util.py"), "x = 1\n").unwrap();

        let names: Vec<String> = files(root)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        assert_eq!(names, [".gitignore", "pkg/util.py", "train.py"]);

        let bytes = pack(root, DEFAULT_LIMIT, false).unwrap();
        let dest = tempfile::tempdir().unwrap();
        unpack(&bytes, dest.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.path().join("pkg/util.py")).unwrap(),
            "x = 1\n"
        );
        assert!(!dest.path().join("data").exists());
    }

    #[test]
    fn a_directory_over_the_limit_is_refused_naming_its_biggest_files() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("weights.bin"), vec![0u8; 5000]).unwrap();
        std::fs::write(src.path().join("a.py"), "x").unwrap();
        let error = pack(src.path(), 4000, false).unwrap_err().to_string();
        assert!(
            error.contains("over the snapshot limit of 4.0 KB"),
            "{error}"
        );
        assert!(error.contains("weights.bin (5.0 KB)"), "{error}");
    }
}
