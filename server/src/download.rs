//! Sending a job's files from the file store: one file with ranges and validators and headers
//! that keep it from running as a page of this site, or a folder as a zip written while it
//! streams, so neither sits in memory.

use crate::files::{self, FileStore, Key, Stat};
use app::error::AppError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use std::io::{self, Write};
use std::ops::Range;
use std::time::SystemTime;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The file at `key` answering a request with `asked` headers (a range, validators): a
/// download whatever it is, an image typed as one so `<img>` shows it, and never a script's
/// page (a sandbox, no sniffing). `None` when there is no such file.
pub async fn file(
    store: &FileStore,
    key: &Key,
    asked: &HeaderMap,
) -> Result<Option<Response>, AppError> {
    let Some(meta) = store.head(key).await.map_err(failed)? else {
        return Ok(None);
    };
    let name = files::relative(&key.parent().unwrap_or_default(), key);
    let etag = meta.e_tag.as_deref().map(quoted);
    let modified = SystemTime::from(meta.last_modified);
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(value) = etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(header::ETAG, value);
    }
    let last_modified = httpdate::fmt_http_date(modified);
    headers.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("an HTTP date is a header value"),
    );
    if not_modified(asked, etag.as_deref(), modified) {
        return Ok(Some((StatusCode::NOT_MODIFIED, headers).into_response()));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&name)),
    );
    headers.insert(header::CONTENT_DISPOSITION, attachment(&name));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    let (status, range) = match wanted(asked, etag.as_deref(), &last_modified, meta.size) {
        Wanted::Whole => (StatusCode::OK, None),
        Wanted::Part(range) => {
            let shown = format!("bytes {}-{}/{}", range.start, range.end - 1, meta.size);
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&shown).expect("digits are a header value"),
            );
            (StatusCode::PARTIAL_CONTENT, Some(range))
        }
        Wanted::Unsatisfiable => {
            let shown = format!("bytes */{}", meta.size);
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&shown).expect("digits are a header value"),
            );
            return Ok(Some(
                (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response(),
            ));
        }
    };
    let length = range.as_ref().map_or(meta.size, |r| r.end - r.start);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let body = if length == 0 {
        Body::empty()
    } else {
        Body::from_stream(store.read(key, range).await.map_err(failed)?)
    };
    Ok(Some((status, headers, body).into_response()))
}

fn failed(error: files::Error) -> AppError {
    tracing::error!(%error, "reading an artifact");
    AppError::Internal
}

/// An entity tag as HTTP sends it, in quotes (S3 quotes its own, a local disk's are bare).
fn quoted(tag: &str) -> String {
    if tag.starts_with('"') || tag.starts_with("W/") {
        tag.to_owned()
    } else {
        format!("\"{tag}\"")
    }
}

/// Whether the client's copy is current: `If-None-Match` names the tag, or, without it,
/// `If-Modified-Since` is no older than the file.
fn not_modified(asked: &HeaderMap, etag: Option<&str>, modified: SystemTime) -> bool {
    if let Some(tags) = asked
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let weak = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
        return tags
            .split(',')
            .any(|tag| tag.trim() == "*" || etag.is_some_and(|etag| weak(tag) == weak(etag)));
    }
    asked
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| whole_seconds(modified) <= since)
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(since.as_secs())
}

/// What part of the file a request asks for.
#[derive(Debug, PartialEq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// The part of a file `size` bytes long that `asked` wants: one range (several, or a malformed
/// header, get the whole file, as RFC 9110 allows), and only while `If-Range` still names
/// this version of it.
fn wanted(asked: &HeaderMap, etag: Option<&str>, last_modified: &str, size: u64) -> Wanted {
    let Some(range) = asked.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Wanted::Whole;
    };
    if let Some(validator) = asked.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        // A weak tag never matches for a range.
        let current = etag.is_some_and(|e| e == validator && !e.starts_with("W/"))
            || validator == last_modified;
        if !current {
            return Wanted::Whole;
        }
    }
    let Ok(parsed) = http_range_header::parse_range_header(range) else {
        return Wanted::Whole;
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Wanted::Part(*ranges[0].start()..ranges[0].end() + 1),
        Ok(_) => Wanted::Whole,
        Err(_) => Wanted::Unsatisfiable,
    }
}

/// The type a file is sent as: images as theirs (an SVG's scripts do not run inside `<img>`,
/// and the sandbox stops them when it is opened by itself), anything else as bytes.
fn content_type(name: &str) -> &'static str {
    let extension = files::extension(name);
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `attachment` naming the file `name`: as given for clients that read RFC 6266's UTF-8 form,
/// with anything but letters, digits and `.-_` replaced for those that do not.
fn attachment(name: &str) -> HeaderValue {
    let plain: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    let encoded = app::url::encode_component(name);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Bytes of zip gathered before each is sent: a few of them are all that is ever held.
const ZIP_PIECE: usize = 64 << 10;

/// The file or folder at `key` as a zip named `name`, streamed as it is written; `None` when
/// nothing is there.
pub async fn zip(store: &FileStore, key: &Key, name: &str) -> Result<Option<Response>, AppError> {
    let (base, entries) = match store.stat(key).await.map_err(failed)? {
        Stat::File(meta) => {
            let base = key.parent().unwrap_or_default();
            let name = files::relative(&base, key);
            (base, vec![(name, meta.size)])
        }
        Stat::Folder => (key.clone(), store.files_under(key).await.map_err(failed)?),
        Stat::Nothing => return Ok(None),
    };
    if entries.is_empty() {
        return Ok(None);
    }
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(4);
    let store = store.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let out = Pieces {
            sender: sender.clone(),
            piece: Vec::with_capacity(ZIP_PIECE),
        };
        if let Err(error) = write_zip(&runtime, &store, &base, entries, out) {
            // The client sees a cut download, not a zip that looks whole.
            tracing::warn!(%error, folder = %base, "writing a zip");
            let _ = sender.blocking_send(Err(io::Error::other(error.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let piece = receiver.recv().await?;
        Some((piece, receiver))
    });
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        ),
        (
            header::CONTENT_DISPOSITION,
            attachment(&format!("{name}.zip")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    Ok(Some((headers, Body::from_stream(stream)).into_response()))
}

/// Files up to this size are read whole, [`READS_AHEAD`] at a time, ahead of the zip: on object
/// storage each read waits a round trip, which a folder of small files would pay one by one.
const READ_WHOLE: u64 = 1 << 20;
const READS_AHEAD: usize = 8;

/// A file's bytes for the zip: read already, or to read piece by piece.
enum Content {
    Whole(Vec<axum::body::Bytes>),
    Streamed(files::ByteStream),
}

/// Each of `entries` (path below `base`, size) read from the store into the zip, small ones
/// ahead of time; already-compressed kinds are stored, the rest deflated.
fn write_zip(
    runtime: &tokio::runtime::Handle,
    store: &FileStore,
    base: &Key,
    entries: Vec<(String, u64)>,
    out: Pieces,
) -> zip::result::ZipResult<()> {
    let reads = entries.into_iter().map(|(relative, bytes)| {
        let store = store.clone();
        let key = files::below(base, &relative);
        async move {
            let read = store.read(&key, None).await?;
            let content = match bytes <= READ_WHOLE {
                true => Content::Whole(read.try_collect().await?),
                false => Content::Streamed(read),
            };
            Ok::<_, files::Error>((relative, bytes, content))
        }
    });
    let mut reads = Box::pin(futures_util::stream::iter(reads).buffered(READS_AHEAD));
    let mut zip = ZipWriter::new_stream(out);
    while let Some(read) = runtime.block_on(reads.next()) {
        let (relative, bytes, content) = read.map_err(io::Error::other)?;
        let options = SimpleFileOptions::default()
            .compression_method(method(&relative))
            .large_file(bytes >= u64::from(u32::MAX));
        zip.start_file(&relative, options)?;
        match content {
            Content::Whole(pieces) => {
                for piece in pieces {
                    zip.write_all(&piece)?;
                }
            }
            Content::Streamed(mut pieces) => {
                while let Some(piece) = runtime.block_on(pieces.next()) {
                    zip.write_all(&piece.map_err(io::Error::other)?)?;
                }
            }
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// Stored for what is compressed already (images, archives, model weights), deflated otherwise.
fn method(name: &str) -> CompressionMethod {
    let extension = files::extension(name);
    let compressed = [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "zst",
        "7z",
        "pt",
        "pth",
        "bin",
        "safetensors",
        "ckpt",
        "onnx",
        "h5",
        "npz",
        "parquet",
        "mp4",
        "webm",
    ];
    if compressed.contains(&extension.as_str()) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    }
}

/// A writer that sends what it is given in pieces over a channel; when the receiver is gone
/// (the client left) writing fails, which stops the zip.
struct Pieces {
    sender: mpsc::Sender<io::Result<Bytes>>,
    piece: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(ZIP_PIECE));
        self.sender
            .blocking_send(Ok(Bytes::from(piece)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for Pieces {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.piece.extend_from_slice(bytes);
        if self.piece.len() >= ZIP_PIECE {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Read;

    async fn unzip(response: Response) -> Vec<(String, Vec<u8>)> {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                (entry.name().to_owned(), content)
            })
            .collect()
    }

    async fn write(store: &FileStore, path: &str, bytes: &[u8]) {
        let key = store.artifact("j1", path).unwrap();
        let body = futures_util::stream::iter([Ok::<_, io::Error>(Bytes::copy_from_slice(bytes))]);
        let staged = store.stage(&key, body, u64::MAX, false).await.unwrap();
        staged.keep().await.unwrap();
    }

    #[tokio::test]
    async fn a_folder_zips_with_every_file_below_it_and_a_file_zips_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::local(dir.path()).unwrap();
        // Bigger than a piece, and compressible: deflated, sent in several pieces.
        let log = "loss 0.5\n".repeat(20_000);
        write(&store, "out/train.log", log.as_bytes()).await;
        write(&store, "out/plots/loss.png", &[7u8; 100]).await;
        let at = |path: &str| store.artifact("j1", path).unwrap();

        let response = zip(&store, &at("out"), "out").await.unwrap().unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/zip");
        let files = unzip(response).await;
        assert_eq!(
            files,
            [
                ("plots/loss.png".to_owned(), vec![7u8; 100]),
                ("train.log".to_owned(), log.into_bytes()),
            ]
        );
        let one = zip(&store, &at("out/plots/loss.png"), "loss.png")
            .await
            .unwrap();
        assert_eq!(
            unzip(one.unwrap()).await,
            [("loss.png".to_owned(), vec![7u8; 100])]
        );
        assert!(zip(&store, &at("gone"), "gone").await.unwrap().is_none());
    }

    async fn get(store: &FileStore, path: &str, asked: &[(header::HeaderName, &str)]) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in asked {
            headers.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        let key = store.artifact("j1", path).unwrap();
        file(store, &key, &headers).await.unwrap().expect("a file")
    }

    async fn body(response: Response) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn a_file_is_sent_whole_or_in_part_and_not_again_while_current() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::local(dir.path()).unwrap();
        write(&store, "log.txt", b"0123456789").await;
        write(&store, "empty", b"").await;

        let whole = get(&store, "log.txt", &[]).await;
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
        assert_eq!(whole.headers()[header::CONTENT_LENGTH], "10");
        assert_eq!(whole.headers()[header::CONTENT_SECURITY_POLICY], "sandbox");
        let etag = whole.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"'), "{etag}");
        assert_eq!(body(whole).await, b"0123456789");

        let part = get(&store, "log.txt", &[(header::RANGE, "bytes=2-4")]).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()[header::CONTENT_RANGE], "bytes 2-4/10");
        assert_eq!(body(part).await, b"234");
        let tail = get(&store, "log.txt", &[(header::RANGE, "bytes=-3")]).await;
        assert_eq!(body(tail).await, b"789");
        let past = get(&store, "log.txt", &[(header::RANGE, "bytes=20-")]).await;
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(past.headers()[header::CONTENT_RANGE], "bytes */10");
        for ignored in ["bytes=0-1,4-5", "lines=1-2", "bytes=x"] {
            let response = get(&store, "log.txt", &[(header::RANGE, ignored)]).await;
            assert_eq!(response.status(), StatusCode::OK, "{ignored}");
        }
        let stale = get(
            &store,
            "log.txt",
            &[(header::RANGE, "bytes=0-1"), (header::IF_RANGE, "\"old\"")],
        )
        .await;
        assert_eq!(
            stale.status(),
            StatusCode::OK,
            "a changed file is sent whole"
        );
        let current = get(
            &store,
            "log.txt",
            &[(header::RANGE, "bytes=0-1"), (header::IF_RANGE, &etag)],
        )
        .await;
        assert_eq!(current.status(), StatusCode::PARTIAL_CONTENT);

        let cached = get(&store, "log.txt", &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        assert!(body(cached).await.is_empty());
        let later = httpdate::fmt_http_date(SystemTime::now() + std::time::Duration::from_secs(60));
        let fresh = get(&store, "log.txt", &[(header::IF_MODIFIED_SINCE, &later)]).await;
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
        let other = get(&store, "log.txt", &[(header::IF_NONE_MATCH, "\"other\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);

        let empty = get(&store, "empty", &[]).await;
        assert_eq!(empty.headers()[header::CONTENT_LENGTH], "0");
        assert!(body(empty).await.is_empty());
        let key = store.artifact("j1", "gone").unwrap();
        assert!(file(&store, &key, &HeaderMap::new())
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn downloads_are_typed_as_images_or_bytes_and_named_safely() {
        assert_eq!(content_type("a.SVG"), "image/svg+xml");
        assert_eq!(content_type("index.html"), "application/octet-stream");
        assert_eq!(
            attachment("loss curve é.png"),
            "attachment; filename=\"loss_curve__.png\"; filename*=UTF-8''loss%20curve%20%C3%A9.png"
        );
        assert_eq!(
            attachment("a\"b\r\n.txt"),
            "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%22b%0D%0A.txt"
        );
    }
}
