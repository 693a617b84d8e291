//! The file store: code snapshots by content hash and artifacts by job, kept in a local
//! directory or in an S3-compatible bucket (through `object_store`), so that every replica of
//! the server reads and writes the same files. Bodies stream both ways; none sits in memory.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::PathPart;
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload,
};
use sha2::{Digest, Sha256};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

pub use object_store::path::Path as Key;
pub use object_store::ObjectMeta;

/// The bytes of a file as they are read.
pub type ByteStream = BoxStream<'static, Result<Bytes, Error>>;

/// What the store answers when it fails: the disk or the object storage service.
pub type Error = object_store::Error;

/// Longest artifact path, and longest name in it, in bytes: what every Linux file system and
/// S3 (1,024-byte keys) take, so a longer one is refused as a bad path rather than failing
/// in the store.
const MAX_ARTIFACT_PATH: usize = 900;
const MAX_NAME: usize = 255;

/// Bytes gathered before each write while staging: one S3 multipart part (at least 5 MiB),
/// and at most [`PARTS_IN_FLIGHT`] of them are held, so an upload of any size stays within a
/// few tens of MB.
const PART: usize = 8 << 20;
const PARTS_IN_FLIGHT: usize = 2;

/// Bytes read from a local file at a time while it is sent.
const READ_PIECE: usize = 256 << 10;

/// Where snapshots and artifacts are kept, shared by every request of every replica.
#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// The key every file of this installation lives under (a bucket's prefix).
    root: Key,
    /// The directory or `s3://bucket/prefix`, for logs and probes.
    shown: String,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Why a file store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The local directory cannot be made or used.
    #[error("cannot use {dir} for files: {source}")]
    Dir {
        /// The directory.
        dir: String,
        /// Why.
        source: std::io::Error,
    },
    /// The `s3://` location or the AWS settings are wrong.
    #[error("cannot use {location} for files: {message}")]
    S3 {
        /// The location as given.
        location: String,
        /// What is wrong.
        message: String,
    },
}

impl FileStore {
    /// The store at `location`: `s3://BUCKET[/PREFIX]` for S3-compatible storage configured by
    /// the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), anything
    /// else a local directory (made if missing).
    pub fn open(location: &str) -> Result<Self, OpenError> {
        let aws = std::env::vars().filter(|(name, _)| name.starts_with("AWS_"));
        Self::open_with(location, aws)
    }

    /// The store at `location`, an `s3://` one configured by `settings` (AWS variable names,
    /// in any case, and their values) rather than by the environment.
    pub fn open_with(
        location: &str,
        settings: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OpenError> {
        match location.strip_prefix("s3://") {
            Some(rest) => Self::s3(location, rest, settings),
            None => Self::local(std::path::Path::new(location)),
        }
    }

    /// The store in directory `dir`, made if missing: files are synced to disk before an
    /// upload is answered, and folders emptied by a removal go with it.
    pub fn local(dir: &std::path::Path) -> Result<Self, OpenError> {
        let failed = |source| OpenError::Dir {
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| failed(std::io::Error::other(e.to_string())))?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
            root: Key::default(),
            shown: dir.display().to_string(),
        })
    }

    fn s3(
        location: &str,
        rest: &str,
        settings: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OpenError> {
        let failed = |message: String| OpenError::S3 {
            location: location.to_owned(),
            message,
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(failed("name the bucket: s3://BUCKET/PREFIX".into()));
        }
        let root = Key::parse(prefix.trim_matches('/'))
            .map_err(|e| failed(format!("the prefix is not a valid key: {e}")))?;
        // TLS and request signing use ring; a second install (another store) is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new();
        for (name, value) in settings {
            let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() else {
                continue;
            };
            // An endpoint given as http:// (MinIO or a test server on loopback) is meant as
            // written.
            if key == AmazonS3ConfigKey::Endpoint && value.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
            builder = builder.with_config(key, value);
        }
        let builder = builder.with_bucket_name(bucket);
        let store = builder.build().map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            root,
            shown: location.trim_end_matches('/').to_owned(),
        })
    }

    /// Where the files are, as given: a directory or `s3://bucket/prefix`.
    pub fn location(&self) -> &str {
        &self.shown
    }

    /// Writes, reads back and removes a small file: an error when the disk or the service
    /// cannot do what an upload needs.
    pub async fn probe(&self) -> Result<(), Error> {
        let key = self.upload_area();
        self.store
            .put(&key, PutPayload::from_static(b"ready"))
            .await?;
        let read = self.store.get(&key).await?.bytes().await;
        self.store.delete(&key).await?;
        match read?.as_ref() == b"ready" {
            true => Ok(()),
            false => Err(Error::Generic {
                store: "file store",
                source: "it gave back other bytes than were written".into(),
            }),
        }
    }

    /// The key of the snapshot with hex SHA-256 `sha` (checked by [`is_sha256`] first).
    pub fn snapshot(&self, sha: &str) -> Key {
        self.root
            .clone()
            .join("snapshots")
            .join(format!("{sha}.tar.gz").as_str())
    }

    /// The folder of job `uid`'s artifacts.
    pub fn artifacts(&self, uid: &str) -> Key {
        self.root.clone().join("artifacts").join(uid)
    }

    /// `relative` as a key inside job `uid`'s artifacts, if it names something there: not
    /// empty, no empty, `.` or `..` part, no NUL, within the lengths every store takes.
    pub fn artifact(&self, uid: &str, relative: &str) -> Option<Key> {
        let fits = !relative.is_empty()
            && relative.len() <= MAX_ARTIFACT_PATH
            && !relative.contains('\0')
            && relative
                .split('/')
                .all(|part| !matches!(part, "" | "." | "..") && part.len() <= MAX_NAME);
        fits.then(|| below(&self.artifacts(uid), relative))
    }

    /// The folder `relative` of job `uid`'s artifacts: the top one when it is empty.
    pub fn artifact_folder(&self, uid: &str, relative: &str) -> Option<Key> {
        match relative {
            "" => Some(self.artifacts(uid)),
            _ => self.artifact(uid, relative),
        }
    }

    /// A place to stage an upload whose name is known only once it is in (a snapshot's hash).
    pub fn upload_area(&self) -> Key {
        self.root
            .clone()
            .join("uploads")
            .join(format!("{:016x}", rand::random::<u64>()).as_str())
    }

    /// What is at `key`: a folder is looked for first, as some S3-compatible servers fail a
    /// HEAD on a folder's name rather than answer 404.
    pub async fn stat(&self, key: &Key) -> Result<Stat, Error> {
        if self.is_folder(key).await? {
            return Ok(Stat::Folder);
        }
        match self.store.head(key).await {
            Ok(meta) => Ok(Stat::File(meta)),
            Err(e) if is_missing(&e) => Ok(Stat::Nothing),
            Err(e) => Err(e),
        }
    }

    /// The size, time and version of the file at `key`; `None` when there is none.
    pub async fn head(&self, key: &Key) -> Result<Option<ObjectMeta>, Error> {
        Ok(match self.stat(key).await? {
            Stat::File(meta) => Some(meta),
            Stat::Folder | Stat::Nothing => None,
        })
    }

    /// The size of the file at `key`, 0 if there is none: one request, for a key known not to
    /// name a folder (a snapshot, an upload's path once [`FileStore::is_folder`] said no).
    pub async fn size(&self, key: &Key) -> Result<u64, Error> {
        match self.store.head(key).await {
            Ok(meta) => Ok(meta.size),
            Err(e) if is_missing(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Whether anything is kept below `key`, which makes it a folder: one listing request,
    /// however many files there are.
    pub async fn is_folder(&self, key: &Key) -> Result<bool, Error> {
        match self.store.list(Some(key)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) if is_missing(&e) => Ok(false),
            Some(Err(e)) => Err(e),
        }
    }

    /// What folder `key` holds directly, by name; nothing when it holds nothing.
    pub async fn list_folder(&self, key: &Key) -> Result<Vec<FolderEntry>, Error> {
        let listed = match self.store.list_with_delimiter(Some(key)).await {
            Ok(listed) => listed,
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let folders = listed.common_prefixes.iter().map(|prefix| FolderEntry {
            name: decoded(prefix.filename().unwrap_or_default()),
            is_dir: true,
            bytes: 0,
            modified_ms: 0,
        });
        let files = listed.objects.iter().map(|meta| FolderEntry {
            name: decoded(meta.location.filename().unwrap_or_default()),
            is_dir: false,
            bytes: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        });
        let mut entries: Vec<FolderEntry> = folders.chain(files).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Every file below `key`: (path relative to `key`, size in bytes), in path order.
    pub async fn files_under(&self, key: &Key) -> Result<Vec<(String, u64)>, Error> {
        let listed = self
            .store
            .list(Some(key))
            .map_ok(|meta| (relative(key, &meta.location), meta.size))
            .try_collect()
            .await;
        let mut found: Vec<(String, u64)> = match listed {
            Ok(found) => found,
            Err(e) if is_missing(&e) => Vec::new(),
            Err(e) => return Err(e),
        };
        found.sort();
        Ok(found)
    }

    /// Removes the file at `key` and everything below it (nothing there is no error);
    /// answers the bytes it freed and, if one stopped it, the error: what went before stays
    /// gone.
    pub async fn remove(&self, key: &Key) -> (u64, Result<(), Error>) {
        let mut sizes = match self.files_under(key).await {
            Ok(files) => files
                .into_iter()
                .map(|(path, bytes)| (below(key, &path), bytes))
                .collect::<std::collections::HashMap<Key, u64>>(),
            Err(e) => return (0, Err(e)),
        };
        // A folder on a disk is no file to delete; an object of that name is.
        if sizes.is_empty() {
            match self.head(key).await {
                Ok(Some(meta)) => drop(sizes.insert(key.clone(), meta.size)),
                Ok(None) => return (0, Ok(())),
                Err(e) => return (0, Err(e)),
            }
        }
        let keys: Vec<Result<Key, Error>> = sizes.keys().cloned().map(Ok).collect();
        let mut deleted = self
            .store
            .delete_stream(futures_util::stream::iter(keys).boxed());
        let mut freed = 0;
        while let Some(result) = deleted.next().await {
            match result {
                Ok(gone) => freed += sizes.get(&gone).copied().unwrap_or(0),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return (freed, Err(e)),
            }
        }
        (freed, Ok(()))
    }

    /// Moves the file at `from` to `to`, replacing what was there.
    pub async fn rename(&self, from: &Key, to: &Key) -> Result<(), Error> {
        self.store.rename(from, to).await
    }

    /// At most the first `limit` bytes of the file at `key`, `size` bytes long.
    pub async fn read_head(&self, key: &Key, size: u64, limit: u64) -> Result<Bytes, Error> {
        if size == 0 || limit == 0 {
            return Ok(Bytes::new());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..size.min(limit))),
            ..GetOptions::default()
        };
        self.store.get_opts(key, options).await?.bytes().await
    }

    /// The file at `key`, or the part `range` names, as a stream of bytes: a local file in
    /// pieces of [`READ_PIECE`] (object_store's own are 8 KiB, which halves a download's
    /// speed), an object as the service sends it.
    pub async fn read(&self, key: &Key, range: Option<Range<u64>>) -> Result<ByteStream, Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self.store.get_opts(key, options).await?;
        let range = got.range.clone();
        Ok(match got.payload {
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                let opened = async move {
                    file.seek(std::io::SeekFrom::Start(range.start)).await?;
                    let part = file.take(range.end - range.start);
                    let pieces = tokio_util::io::ReaderStream::with_capacity(part, READ_PIECE);
                    Ok::<_, std::io::Error>(pieces)
                };
                futures_util::stream::once(opened)
                    .try_flatten()
                    .map_err(|e: std::io::Error| Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(e),
                    })
                    .boxed()
            }
            GetResultPayload::Stream(stream) => stream,
        })
    }

    /// Writes `body` towards `key` as it arrives, at most `limit` bytes, hashing it if `hash`:
    /// in parts of [`PART`] bytes, so memory stays flat whatever the body's size. Nothing is
    /// at `key` until [`Staged::keep`]; on any error, and when dropped, nothing is left.
    pub async fn stage<S, E>(
        &self,
        key: &Key,
        body: S,
        limit: u64,
        hash: bool,
    ) -> Result<Staged, StageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: fmt::Display,
    {
        let writer = BufWriter::with_capacity(self.store.clone(), key.clone(), PART)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        // From here on, dropping `staged` aborts the upload, whatever goes wrong.
        let mut staged = Staged {
            writer: Some(writer),
            bytes: 0,
            sha256: None,
            head: Vec::new(),
        };
        let mut hasher = hash.then(Sha256::new);
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
            let wanted = HEAD_KEPT.saturating_sub(staged.head.len()).min(piece.len());
            staged.head.extend_from_slice(&piece[..wanted]);
            let writer = staged.writer.as_mut().expect("held until kept");
            writer.put(piece).await?;
        }
        staged.sha256 = hasher.map(|h| hex(&h.finalize()));
        Ok(staged)
    }
}

/// What a key names.
#[derive(Debug)]
pub enum Stat {
    /// A file: its size, time and version.
    File(ObjectMeta),
    /// A folder: files are kept below it.
    Folder,
    /// Nothing.
    Nothing,
}

/// Bytes of the start of an upload kept to check what kind of file it is.
const HEAD_KEPT: usize = 16;

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
    /// The store failed us.
    #[error(transparent)]
    Store(#[from] Error),
}

/// An upload received whole (its parts already in the store, in a large one's case) but not
/// yet visible at its key; dropped without [`Staged::keep`], it is aborted.
pub struct Staged {
    writer: Option<BufWriter>,
    /// Its size.
    pub bytes: u64,
    /// Its hex SHA-256, when asked for.
    pub sha256: Option<String>,
    head: Vec<u8>,
}

impl fmt::Debug for Staged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staged")
            .field("bytes", &self.bytes)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl Staged {
    /// Whether the upload begins with `prefix` (at most 16 bytes).
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.head.starts_with(prefix)
    }

    /// Makes the upload the file at its key, replacing what was there: a reader sees the old
    /// file or the new one, never half of one.
    pub async fn keep(mut self) -> Result<(), Error> {
        let mut writer = self.writer.take().expect("held until kept");
        writer.shutdown().await.map_err(|e| Error::Generic {
            store: "file store",
            source: Box::new(e),
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            // Parts already sent (a multipart upload, a local staging file) are thrown away.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(error) = writer.abort().await {
                        tracing::warn!(%error, "aborting an upload");
                    }
                });
            }
        }
    }
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
    /// When it last changed, in ms since the Unix epoch (0 for a folder: object stores keep
    /// no time for one).
    pub modified_ms: i64,
}

/// Whether `error` says there is nothing at a key: not found, or (on a disk) a path that runs
/// through a file.
fn is_missing(error: &Error) -> bool {
    if matches!(error, Error::NotFound { .. }) {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            );
        }
        source = cause.source();
    }
    false
}

/// The key of `relative` (a path as the user names it, `/` between folders) below `top`.
pub fn below(top: &Key, relative: &str) -> Key {
    relative
        .split('/')
        .fold(top.clone(), |key, part| key.join(part))
}

/// The path of `key` below `top`, as the user named it.
pub fn relative(top: &Key, key: &Key) -> String {
    key.prefix_match(top)
        .map(|parts| {
            parts
                .map(|part: PathPart<'_>| decoded(part.as_ref()))
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

/// A name as the user gave it: keys keep some characters percent-encoded (`#` as `%23`).
fn decoded(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

/// The lowercase extension of file `name` (`"png"` for `Loss.PNG`), empty if it has none.
pub fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

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

#[cfg(test)]
mod tests;
