//! Sending a job's files: one file with ranges and headers that keep it from running as a page
//! of this site, or a folder as a zip written while it streams, so neither sits in memory.

use crate::files;
use app::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The file at `file`, answering `request` (ranges, validators): a download whatever it is, an
/// image typed as one so `<img>` shows it, and never a script's page (a sandbox, no sniffing).
pub async fn file(file: PathBuf, request: Request) -> Result<Response, AppError> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let served = tower_http::services::ServeFile::new(&file)
        .try_call(request)
        .await
        .map_err(|error| {
            tracing::error!(%error, "serving an artifact");
            AppError::Internal
        })?;
    let mut response = served.map(Body::new);
    let headers = response.headers_mut();
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
    Ok(response)
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

/// The file or folder at `path` as a zip named `name`, streamed as it is written; `None` when
/// nothing is there.
pub fn zip(path: PathBuf, name: &str) -> Option<Response> {
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !(meta.is_dir() || meta.is_file()) {
        return None;
    }
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let out = Pieces {
            sender: sender.clone(),
            piece: Vec::with_capacity(ZIP_PIECE),
        };
        if let Err(error) = write_zip(&path, out) {
            // The client sees a cut download, not a zip that looks whole.
            tracing::warn!(%error, path = %path.display(), "writing a zip");
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
    Some((headers, Body::from_stream(stream)).into_response())
}

/// Every file at or below `path`, named relative to `path`'s folder for a file and to `path`
/// for a folder; already-compressed kinds are stored, the rest deflated.
fn write_zip(path: &Path, out: Pieces) -> zip::result::ZipResult<()> {
    let (base, entries) = if path.is_file() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let bytes = std::fs::metadata(path)?.len();
        (
            path.parent().unwrap_or(path).to_path_buf(),
            vec![(name.unwrap_or_default(), bytes)],
        )
    } else {
        (path.to_path_buf(), files::files_under(path)?)
    };
    let mut zip = ZipWriter::new_stream(out);
    for (relative, bytes) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(method(&relative))
            .large_file(bytes >= u64::from(u32::MAX));
        zip.start_file(&relative, options)?;
        io::copy(&mut std::fs::File::open(base.join(&relative))?, &mut zip)?;
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

    #[tokio::test]
    async fn a_folder_zips_with_every_file_below_it_and_a_file_zips_alone() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("out");
        std::fs::create_dir_all(top.join("plots")).unwrap();
        // Bigger than a piece, and compressible: deflated, sent in several pieces.
        let log = "loss 0.5\n".repeat(20_000);
        std::fs::write(top.join("train.log"), &log).unwrap();
        std::fs::write(top.join("plots/loss.png"), [7u8; 100]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", top.join("passwd")).unwrap();

        let response = zip(top.clone(), "out").unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/zip");
        let files = unzip(response).await;
        assert_eq!(
            files,
            [
                ("plots/loss.png".to_owned(), vec![7u8; 100]),
                ("train.log".to_owned(), log.into_bytes()),
            ],
            "links are left out"
        );
        let one = unzip(zip(top.join("plots/loss.png"), "loss.png").unwrap()).await;
        assert_eq!(one, [("loss.png".to_owned(), vec![7u8; 100])]);
        assert!(zip(top.join("gone"), "gone").is_none());
        assert!(zip(top.join("passwd"), "passwd").is_none());
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
