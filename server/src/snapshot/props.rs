//! Property tests of the snapshot unpacker: generated .tar.gz archives with deep paths, `..`
//! and absolute paths, symbolic links out of the directory and files written through them,
//! hard links, fifos, sizes declared far past the data, and many files. Never a panic, always
//! within time, nothing written outside the destination, and never more than the limits.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};
use tar::{EntryType, Header};

/// Small limits, so that generated archives reach them.
const LIMITS: UnpackLimits = UnpackLimits {
    bytes: 16 << 10,
    entries: 10,
};

/// Stands for the directory next to the destination that nothing may touch.
const OUTSIDE: &str = "@OUT";

#[derive(Clone, Debug)]
enum Kind {
    /// A file of `data` bytes whose header declares `declared`.
    File {
        data: usize,
        declared: u64,
    },
    Dir,
    Symlink(String),
    HardLink(String),
    Fifo,
}

#[derive(Clone, Debug)]
struct Entry {
    path: String,
    kind: Kind,
}

fn path() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => Just("a".to_owned()),
        4 => Just("b".to_owned()),
        2 => Just("..".to_owned()),
        1 => Just(".".to_owned()),
        1 => Just(String::new()),
        1 => Just(OUTSIDE.to_owned()),
        1 => Just("x".repeat(300)),
    ];
    prop_oneof![
        10 => (any::<bool>(), prop::collection::vec(part, 1..6))
            .prop_map(|(root, parts)| format!("{}{}", if root { "/" } else { "" }, parts.join("/"))),
        1 => (50usize..1_000).prop_map(|depth| vec!["d"; depth].join("/")),
    ]
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("..".to_owned()),
        Just("../..".to_owned()),
        Just(OUTSIDE.to_owned()),
        Just(format!("{OUTSIDE}/sentinel")),
        Just("/etc".to_owned()),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        8 => (0usize..3_000).prop_map(|data| Kind::File { data, declared: data as u64 }),
        1 => (0usize..64, prop_oneof![Just(1u64 << 40), Just(u64::MAX / 2), 0u64..100_000])
            .prop_map(|(data, declared)| Kind::File { data, declared }),
        2 => Just(Kind::Dir),
        3 => target().prop_map(Kind::Symlink),
        1 => target().prop_map(Kind::HardLink),
        1 => Just(Kind::Fifo),
    ]
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    let entry = (path(), kind()).prop_map(|(path, kind)| Entry { path, kind });
    prop_oneof![
        10 => prop::collection::vec(entry, 0..7),
        1 => (8usize..13).prop_map(|n| {
            (0..n).map(|i| Entry { path: format!("f{i}"), kind: Kind::File { data: 1, declared: 1 } }).collect()
        }),
    ]
}

/// The archive of `entries`, paths written raw (as GNU long names) so `..` and `/` survive,
/// `@OUT` replaced by `outside`.
fn archive(entries: &[Entry], outside: &Path) -> Vec<u8> {
    let outside = outside.display().to_string();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let path = entry.path.replace(OUTSIDE, &outside);
        let mut long = Header::new_gnu();
        long.set_entry_type(EntryType::GNULongName);
        long.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        long.set_size(path.len() as u64 + 1);
        long.set_cksum();
        builder
            .append(&long, [path.as_bytes(), b"\0"].concat().as_slice())
            .unwrap();
        let mut header = Header::new_gnu();
        header.set_mode(0o755);
        let data = match &entry.kind {
            Kind::File { data, declared } => {
                header.set_entry_type(EntryType::Regular);
                header.set_size(*declared);
                vec![7u8; *data]
            }
            Kind::Dir => {
                header.set_entry_type(EntryType::Directory);
                Vec::new()
            }
            Kind::Symlink(to) | Kind::HardLink(to) => {
                let kind = match entry.kind {
                    Kind::Symlink(_) => EntryType::Symlink,
                    _ => EntryType::Link,
                };
                header.set_entry_type(kind);
                let to = to.replace(OUTSIDE, &outside);
                if header.set_link_name(&to).is_err() {
                    continue;
                }
                Vec::new()
            }
            Kind::Fifo => {
                header.set_entry_type(EntryType::Fifo);
                Vec::new()
            }
        };
        if !matches!(entry.kind, Kind::File { .. }) {
            header.set_size(0);
        }
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A fresh directory, in memory where the system has one: ten thousand archives unpack here.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

/// Regular files under `dir` (links not followed) and their total size.
fn files_under(dir: &Path) -> (usize, u64) {
    let (mut count, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                count += 1;
                bytes += meta.len();
            }
        }
    }
    (count, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn archives_unpack_within_their_directory_and_limits_or_are_refused(entries in entries()) {
        let root = scratch();
        let (dest, outside) = (root.path().join("dest"), root.path().join("outside"));
        std::fs::create_dir(&dest).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("sentinel"), "keep").unwrap();
        let bytes = archive(&entries, &outside);

        let start = Instant::now();
        let result = unpack_within(&bytes, &dest, LIMITS);
        prop_assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());

        let mut names: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        names.sort();
        prop_assert_eq!(names, vec!["dest", "outside"]);
        let mut outside_names: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().map(|e| e.file_name()).collect();
        outside_names.sort();
        prop_assert_eq!(outside_names, vec!["sentinel"]);
        prop_assert_eq!(std::fs::read_to_string(outside.join("sentinel")).unwrap(), "keep");

        let (count, total) = files_under(&dest);
        prop_assert!(count <= LIMITS.entries, "{count} files");
        prop_assert!(total <= LIMITS.bytes, "{total} bytes");
        // A refusal by the check leaves nothing behind (a path the file system refuses while
        // unpacking may leave what came before it, within the limits as checked above).
        if let Err(error) = result {
            if format!("{error:#}").contains("cannot be unpacked") {
                prop_assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
            }
        }
    }

    #[test]
    fn any_bytes_are_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_048)) {
        let dest = scratch();
        let start = Instant::now();
        let _ = unpack_within(&bytes, dest.path(), LIMITS);
        prop_assert!(start.elapsed() < Duration::from_secs(2));
    }
}
