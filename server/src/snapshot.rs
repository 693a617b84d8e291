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
            .map(|(path, size)| format!("{} ({})", path.display(), app::format::bytes(*size)))
            .collect();
        bail!(
            "{} holds {} in {} files, over the snapshot limit of {}; the biggest: {}. \
             List what need not travel in .gitignore, or raise --max-snapshot",
            dir.display(),
            app::format::bytes(total),
            files.len(),
            app::format::bytes(limit),
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

/// What one snapshot may unpack to.
#[derive(Clone, Copy, Debug)]
pub struct UnpackLimits {
    /// Bytes of all entries together, as their headers declare them.
    pub bytes: u64,
    /// Entries: files, directories and links.
    pub entries: usize,
}

/// The runner's limits: ten times the default snapshot, and more files than a code directory
/// holds. A gzip bomb is refused before anything is written.
pub const UNPACK_LIMITS: UnpackLimits = UnpackLimits {
    bytes: 10 * DEFAULT_LIMIT,
    entries: 100_000,
};

/// Longest long name or link target an entry may carry: the tar crate holds them in memory.
const MAX_LONG_NAME: u64 = 64 << 10;
/// Deepest path in a snapshot. Unpacking checks each entry's directories one by one, so the
/// time an entry takes grows with the square of its depth; code is never nested this deep.
const MAX_DEPTH: usize = 64;

/// Unpacks a snapshot into `dest`, which must exist, within [`UNPACK_LIMITS`].
pub fn unpack(bytes: &[u8], dest: &Path) -> anyhow::Result<()> {
    unpack_within(bytes, dest, UNPACK_LIMITS)
}

/// Unpacks a snapshot into `dest` if it stays within `limits` and holds only what [`pack`]
/// writes (files, directories, symbolic links, long names); entries cannot escape `dest`. The
/// archive is read through once to check it, so a refused one leaves nothing behind, then
/// again to unpack it.
pub fn unpack_within(bytes: &[u8], dest: &Path, limits: UnpackLimits) -> anyhow::Result<()> {
    check(bytes, limits).context("the code snapshot cannot be unpacked")?;
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    archive.set_preserve_permissions(true);
    archive
        .unpack(dest)
        .with_context(|| format!("unpacking the code snapshot into {}", dest.display()))
}

/// Reads the archive's headers (contents are decompressed and skipped, never kept) and refuses
/// it at the first entry past a limit. Without PAX headers, which could declare a size other
/// than the header's, the sizes read here are the sizes unpacking writes.
fn check(bytes: &[u8], limits: UnpackLimits) -> anyhow::Result<()> {
    use std::io::Read;
    use tar::EntryType;
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let (mut total, mut count) = (0u64, 0usize);
    let mut long_name: Option<Vec<u8>> = None;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        let (kind, size) = (entry.header().entry_type(), entry.header().size()?);
        match kind {
            EntryType::GNULongName | EntryType::GNULongLink if size > MAX_LONG_NAME => {
                bail!("an entry's name has {size} bytes; the limit is {MAX_LONG_NAME}")
            }
            EntryType::GNULongName => {
                let mut name = Vec::new();
                entry.read_to_end(&mut name)?;
                long_name = Some(name);
                continue;
            }
            EntryType::GNULongLink => continue,
            EntryType::Regular
            | EntryType::Continuous
            | EntryType::Directory
            | EntryType::Symlink => {}
            other => bail!(
                "it holds a {other:?} entry; a snapshot holds only files, directories and \
                 symbolic links"
            ),
        }
        let path = long_name
            .take()
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let depth = path
            .split(|&b| b == b'/')
            .filter(|part| !part.is_empty() && *part != b".")
            .count();
        if depth > MAX_DEPTH {
            bail!("it holds a path {depth} directories deep; the limit is {MAX_DEPTH}");
        }
        count += 1;
        total = total.saturating_add(size);
        if count > limits.entries {
            bail!("it holds more than {} entries, the limit", limits.entries);
        }
        if total > limits.bytes {
            bail!(
                "it unpacks to more than {}, the limit",
                app::format::bytes(limits.bytes)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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

    /// A .tar.gz whose entries `build` appends, compressed as well as gzip can.
    fn archive(build: impl FnOnce(&mut tar::Builder<GzEncoder<Vec<u8>>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
        build(&mut builder);
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn file(builder: &mut tar::Builder<impl std::io::Write>, path: &str, size: u64) {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, std::io::repeat(0).take(size))
            .unwrap();
    }

    /// A real gzip bomb: `train.py`, then `zeros.bin` of `mib` MiB of zeros, as a .tar.gz.
    /// Compressing a gigabyte takes a while, so the zeros are compressed once per MiB, after a
    /// full flush that makes each MiB's deflate bytes the same, and those bytes repeated.
    fn bomb(mib: u64) -> Vec<u8> {
        use flate2::{Compress, Crc, FlushCompress};
        let chunk = vec![0u8; 1 << 20];
        let mut head = tar::Builder::new(Vec::new());
        file(&mut head, "train.py", 10);
        // Not `into_inner`, which would close the archive after train.py.
        let mut head = head.get_ref().clone();
        let mut header = tar::Header::new_gnu();
        header.set_path("zeros.bin").unwrap();
        // The archive's two closing blocks are zeros too: the file ends 1 KiB before them.
        header.set_size((mib << 20) - 1024);
        header.set_cksum();
        head.extend_from_slice(header.as_bytes());

        let mut deflate = Compress::new(Compression::best(), false);
        let mut squeeze = |input: &[u8], flush| {
            let mut out = Vec::with_capacity(input.len() + 1024);
            deflate.compress_vec(input, &mut out, flush).unwrap();
            out
        };
        let mut body = squeeze(&head, FlushCompress::Full);
        let one = squeeze(&chunk, FlushCompress::Full);
        assert_eq!(
            squeeze(&chunk, FlushCompress::Full),
            one,
            "each MiB deflates alike"
        );
        let mut crc = Crc::new();
        crc.update(&head);
        for _ in 0..mib {
            crc.update(&chunk);
        }
        body.extend(std::iter::repeat_n(&one, mib as usize).flatten());
        body.extend(squeeze(&[], FlushCompress::Finish));

        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        gz.extend(body);
        gz.extend(crc.sum().to_le_bytes());
        gz.extend(((head.len() as u64 + (mib << 20)) as u32).to_le_bytes());
        gz
    }

    #[test]
    fn a_gzip_bomb_is_refused_before_anything_is_written() {
        let big = bomb((UNPACK_LIMITS.bytes >> 20) + 64);
        assert!(big.len() < 3 << 20, "a bomb of {} bytes", big.len());
        let dest = tempfile::tempdir().unwrap();
        let error = format!("{:#}", unpack(&big, dest.path()).unwrap_err());
        assert!(
            error.contains("unpacks to more than 1.0 GB, the limit"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_dir(dest.path()).unwrap().count(),
            0,
            "nothing written"
        );

        // It is a real archive: within a larger limit it unpacks whole.
        let small = bomb(3);
        let roomy = UnpackLimits {
            bytes: 4 << 20,
            entries: 10,
        };
        unpack_within(&small, dest.path(), roomy).unwrap();
        let size = std::fs::metadata(dest.path().join("zeros.bin"))
            .unwrap()
            .len();
        assert_eq!(size, (3 << 20) - 1024);
    }

    #[test]
    fn more_entries_than_the_limit_are_refused() {
        let many = archive(|b| (0..11).for_each(|i| file(b, &format!("f{i}"), 1)));
        let limits = UnpackLimits {
            bytes: 1 << 20,
            entries: 10,
        };
        let dest = tempfile::tempdir().unwrap();
        let error = format!(
            "{:#}",
            unpack_within(&many, dest.path(), limits).unwrap_err()
        );
        assert!(error.contains("more than 10 entries"), "{error}");
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    #[test]
    fn entries_pack_never_writes_and_paths_too_long_or_deep_are_refused() {
        let fifo = archive(|b| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Fifo);
            header.set_size(0);
            b.append_data(&mut header, "pipe", std::io::empty())
                .unwrap();
        });
        let dest = tempfile::tempdir().unwrap();
        let error = format!("{:#}", unpack(&fifo, dest.path()).unwrap_err());
        assert!(error.contains("holds a Fifo entry"), "{error}");
        let long = archive(|b| file(b, &format!("{}f", "d/".repeat(40_000)), 1));
        let error = format!("{:#}", unpack(&long, dest.path()).unwrap_err());
        assert!(error.contains("the limit is 65536"), "{error}");
        let deep = archive(|b| file(b, &format!("{}f", "d/".repeat(64)), 1));
        let error = format!("{:#}", unpack(&deep, dest.path()).unwrap_err());
        assert!(
            error.contains("65 directories deep; the limit is 64"),
            "{error}"
        );
        let fine = archive(|b| file(b, &format!("{}f", "d/".repeat(63)), 1));
        unpack(&fine, dest.path()).unwrap();
    }
}

#[cfg(test)]
mod props;
