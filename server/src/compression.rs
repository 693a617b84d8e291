//! Responses compressed with brotli or gzip as the client's `Accept-Encoding` allows, flushed
//! whenever the handler makes the body wait, so streamed HTML still arrives part by part.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{
    HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    VARY,
};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use flate2::write::GzEncoder;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bodies smaller than this go as they are: the encoding's framing would eat the gain.
const MIN_SIZE: u64 = 256;
/// Brotli quality for bodies made per request: 5 compresses HTML and JSON within a few
/// percent of 11 at a tenth of the time (the site's files are compressed at 11 when built).
const BROTLI_QUALITY: u32 = 5;
/// Brotli window: 4 MB, as browsers accept.
const BROTLI_WINDOW: u32 = 22;
/// Compressed bytes held before they are sent even though more input is ready: small, so
/// the head of a page that compresses tenfold is not held back for its whole body.
const SEND_AT: usize = 16 << 10;

/// A content coding millrace can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `br`
    Brotli,
    /// `gzip`
    Gzip,
}

impl Coding {
    /// The best coding `accept_encoding` allows (brotli before gzip on equal weight), if any.
    pub fn negotiate(accept_encoding: &str) -> Option<Self> {
        let mut brotli = None;
        let mut gzip = None;
        let mut any = None;
        for item in accept_encoding.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match name.as_str() {
                "br" => brotli = Some(weight),
                "gzip" | "x-gzip" => gzip = Some(weight),
                "*" => any = Some(weight),
                _ => {}
            }
        }
        let brotli = brotli.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if brotli > 0.0 && brotli >= gzip {
            Some(Self::Brotli)
        } else if gzip > 0.0 {
            Some(Self::Gzip)
        } else {
            None
        }
    }

    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        })
    }
}

/// Middleware: compresses every response that benefits, by the request's `Accept-Encoding`.
pub async fn compress(request: Request, next: Next) -> Response {
    let coding = request
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .and_then(Coding::negotiate);
    let head = request.method() == Method::HEAD;
    let mut response = next.run(request).await;
    if !compressible(&response) {
        return response;
    }
    let varies = response
        .headers()
        .get_all(VARY)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"accept-encoding"));
    if !varies {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    let Some(coding) = coding.filter(|_| !head) else {
        return response;
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_ENCODING, coding.header());
    headers.remove(CONTENT_LENGTH);
    weaken_etag(headers);
    response.map(|body| Body::new(Compressed::new(body, coding)))
}

/// Whether `response` is text-like, big enough, not encoded yet and not an event stream (whose
/// events must not wait in an encoder).
fn compressible(response: &Response) -> bool {
    let status = response.status();
    let headers = response.headers();
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size < MIN_SIZE);
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    !small
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
        && !status.is_informational()
        && !headers.contains_key(CONTENT_ENCODING)
        && !headers.contains_key(CONTENT_RANGE)
        && textual(content_type)
}

/// Whether a body of `content_type` shrinks when compressed.
fn textual(content_type: &str) -> bool {
    let essence = crate::middleware::media_type(content_type);
    if essence == "text/event-stream" {
        return false;
    }
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/wasm"
                | "application/xml"
                | "application/x-ndjson"
                | "application/x-www-form-urlencoded"
                | "application/yaml"
        )
}

/// A strong ETag names the exact bytes; the compressed body has other bytes.
fn weaken_etag(headers: &mut HeaderMap) {
    let weak = headers
        .get(axum::http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|tag| !tag.starts_with("W/"))
        .and_then(|tag| HeaderValue::from_str(&format!("W/{tag}")).ok());
    if let Some(weak) = weak {
        headers.insert(axum::http::header::ETAG, weak);
    }
}

/// The encoder writing into a buffer that the body drains.
enum Encoder {
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Gzip(GzEncoder<Vec<u8>>),
}

impl Encoder {
    fn new(coding: Coding) -> Self {
        match coding {
            Coding::Brotli => Self::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 << 10,
                BROTLI_QUALITY,
                BROTLI_WINDOW,
            ))),
            Coding::Gzip => Self::Gzip(GzEncoder::new(Vec::new(), flate2::Compression::new(6))),
        }
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Brotli(encoder) => encoder.write_all(data),
            Self::Gzip(encoder) => encoder.write_all(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Brotli(encoder) => encoder.flush(),
            Self::Gzip(encoder) => encoder.flush(),
        }
    }

    /// How many compressed bytes wait in the buffer.
    fn buffered(&self) -> usize {
        match self {
            Self::Brotli(encoder) => encoder.get_ref().len(),
            Self::Gzip(encoder) => encoder.get_ref().len(),
        }
    }

    /// The compressed bytes so far, taken out of the buffer.
    fn take(&mut self) -> Vec<u8> {
        match self {
            Self::Brotli(encoder) => std::mem::take(encoder.get_mut()),
            Self::Gzip(encoder) => std::mem::take(encoder.get_mut()),
        }
    }

    /// The last bytes, which end the stream.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Brotli(encoder) => Ok(encoder.into_inner()),
            Self::Gzip(encoder) => encoder.finish(),
        }
    }
}

/// A response body compressed as it streams.
struct Compressed {
    inner: Body,
    /// `None` once the stream has ended.
    encoder: Option<Encoder>,
    /// Whether input went in since the last flush (a gzip flush of nothing still costs bytes).
    unflushed: bool,
}

impl Compressed {
    fn new(inner: Body, coding: Coding) -> Self {
        Self {
            inner,
            encoder: Some(Encoder::new(coding)),
            unflushed: false,
        }
    }
}

fn data(bytes: Vec<u8>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
    Poll::Ready(Some(Ok(Frame::data(Bytes::from(bytes)))))
}

impl HttpBody for Compressed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers have no place in a compressed HTTP/1.1 body; only data goes on.
                    let Ok(bytes) = frame.into_data() else {
                        continue;
                    };
                    encoder.write(&bytes).map_err(axum::Error::new)?;
                    this.unflushed |= !bytes.is_empty();
                    if encoder.buffered() >= SEND_AT {
                        return data(encoder.take());
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => {
                    let encoder = this.encoder.take().expect("checked above");
                    let last = encoder.finish().map_err(axum::Error::new)?;
                    return if last.is_empty() {
                        Poll::Ready(None)
                    } else {
                        data(last)
                    };
                }
                Poll::Pending => {
                    // The handler is waiting on something: send what it has produced so far.
                    if this.unflushed {
                        encoder.flush().map_err(axum::Error::new)?;
                        this.unflushed = false;
                    }
                    let ready = encoder.take();
                    if ready.is_empty() {
                        return Poll::Pending;
                    }
                    return data(ready);
                }
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_is_preferred_and_weights_are_respected() {
        assert_eq!(
            Coding::negotiate("gzip, deflate, br, zstd"),
            Some(Coding::Brotli)
        );
        assert_eq!(Coding::negotiate("gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::negotiate("br;q=0, gzip"), Some(Coding::Gzip));
        assert_eq!(
            Coding::negotiate("br;q=0.5, gzip;q=0.8"),
            Some(Coding::Gzip)
        );
        assert_eq!(Coding::negotiate("*"), Some(Coding::Brotli));
        assert_eq!(Coding::negotiate("*;q=0, gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::negotiate("identity"), None);
        assert_eq!(Coding::negotiate(""), None);
        assert_eq!(Coding::negotiate("gzip;q=0"), None);
    }

    /// A streamed page sends its first part compressed while the second is still being made.
    #[tokio::test]
    async fn a_stream_is_flushed_while_the_handler_waits() {
        use axum::routing::get;
        use http_body_util::BodyExt;
        use tower::ServiceExt;

        let (parts, receiver) = tokio::sync::mpsc::channel::<&'static str>(4);
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            let part = receiver.recv().await?;
            Some((
                Ok::<_, std::convert::Infallible>(Bytes::from(part)),
                receiver,
            ))
        });
        let body = std::sync::Arc::new(std::sync::Mutex::new(Some(Body::from_stream(stream))));
        let app = axum::Router::new()
            .route(
                "/",
                get(move || {
                    let body = body.lock().unwrap().take().unwrap();
                    async move { ([(CONTENT_TYPE, "text/html")], body) }
                }),
            )
            .layer(axum::middleware::from_fn(compress));
        let request = axum::http::Request::get("/")
            .header(ACCEPT_ENCODING, "br")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.headers()[CONTENT_ENCODING], "br");
        let mut body = response.into_body();
        let mut decoded = brotli::DecompressorWriter::new(Vec::new(), 4096);

        let first = "<html><body><p>the rows, ready at once</p>".repeat(20);
        parts.send(first.clone().leak()).await.unwrap();
        while decoded.get_ref().len() < first.len() {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(2), body.frame())
                .await
                .expect("the first part arrives before the second is made")
                .unwrap()
                .unwrap();
            decoded.write_all(&frame.into_data().unwrap()).unwrap();
            decoded.flush().unwrap();
        }
        assert_eq!(String::from_utf8_lossy(decoded.get_ref()), first);

        parts
            .send("<p>the chart, later</p></body></html>")
            .await
            .unwrap();
        drop(parts);
        let rest = body.collect().await.unwrap().to_bytes();
        decoded.write_all(&rest).unwrap();
        let all = decoded.into_inner().unwrap();
        assert_eq!(
            String::from_utf8(all).unwrap(),
            format!("{first}<p>the chart, later</p></body></html>")
        );
    }

    #[test]
    fn text_json_and_wasm_are_compressed_event_streams_and_images_are_not() {
        assert!(textual("text/html; charset=utf-8"));
        assert!(textual("application/json"));
        assert!(textual("application/problem+json"));
        assert!(textual("application/wasm"));
        assert!(textual("image/svg+xml"));
        assert!(!textual("text/event-stream"));
        assert!(!textual("image/png"));
        assert!(!textual("application/gzip"));
        assert!(!textual(""));
    }
}
