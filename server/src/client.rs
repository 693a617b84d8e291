//! A small HTTP client for millrace's REST API, shared by the CLI commands and the runner.

use crate::secret::Secret;
use anyhow::{anyhow, Context};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// How long one upload or download of a file may take: an artifact may be gigabytes.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// A server address and the token every request carries (never printed, not even by `Debug`).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

/// A failed call: the server's status and its error message, or no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered with an error.
    #[error("{message} (HTTP {status})")]
    Status {
        /// HTTP status.
        status: StatusCode,
        /// The `error.message` of the body, or the body.
        message: String,
        /// The `error.field` of the body, if any.
        field: Option<String>,
    },
    /// The server could not be reached or the answer could not be read.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// What was called.
        url: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Unreachable { .. } => None,
        }
    }

    /// Whether trying again later may work (no answer, or the server is in trouble).
    pub fn is_transient(&self) -> bool {
        self.status()
            .is_none_or(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS)
    }
}

impl Client {
    /// A client of the server at `base` (`http://host:port`) sending `token`.
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let Some((_, rest)) = base.split_once("://") else {
            return Err(anyhow!(
                "the server address '{base}' must start with http:// or https://"
            ));
        };
        // A password in the address would be printed with every connection error.
        if rest
            .split('/')
            .next()
            .is_some_and(|host| host.contains('@'))
        {
            return Err(anyhow!(
                "the server address must not hold a user or password; give the token with \
                 --token or its environment variable"
            ));
        }
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(anyhow!(
                "the server address '{base}' must start with http:// or https://"
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("millrace/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base,
            token: Secret::new(token),
        })
    }

    /// The server's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .timeout(Duration::from_secs(60))
    }

    /// GET `path` and decode the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        self.send(self.request(Method::GET, path), path).await
    }

    /// POST `body` as JSON to `path` and decode the JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        self.send_json(Method::POST, path, body).await
    }

    /// Sends `method` with `body` as JSON to `path` (MLflow's DELETE calls carry one) and
    /// decodes the JSON answer.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        self.send(self.request(method, path).json(body), path).await
    }

    /// Sends `method` (PUT, DELETE...) to `path` without a body and decodes the JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T, CallError> {
        self.send(self.request(method, path), path).await
    }

    /// POST `body` as JSON; `None` when the server answers 204 (nothing to give).
    pub async fn post_maybe<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<Option<T>, CallError> {
        let request = self.request(Method::POST, path).json(body).timeout(timeout);
        let response = self.response(request, path).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        decode(response, path).await.map(Some)
    }

    /// Sends raw bytes with `method` to `path` and decodes the JSON answer.
    pub async fn send_bytes<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<T, CallError> {
        let request = self
            .request(method, path)
            .timeout(Duration::from_secs(600))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(request, path).await
    }

    /// PUTs the file at `file` to `path`, streamed from disk (an artifact may be gigabytes), and
    /// decodes the JSON answer.
    pub async fn put_file<T: DeserializeOwned>(
        &self,
        path: &str,
        file: &std::path::Path,
    ) -> anyhow::Result<T> {
        let cannot_read = || format!("cannot read {}", file.display());
        let handle = tokio::fs::File::open(file)
            .await
            .with_context(cannot_read)?;
        let length = handle.metadata().await.with_context(cannot_read)?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(handle));
        let request = self
            .request(Method::PUT, path)
            .timeout(TRANSFER_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(body);
        Ok(self.send(request, path).await?)
    }

    /// GETs `path` into the file `dest`, streamed to disk through a temporary file beside it,
    /// so an interrupted download leaves no half file under the name.
    pub async fn download(&self, path: &str, dest: &std::path::Path) -> anyhow::Result<u64> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let request = self.request(Method::GET, path).timeout(TRANSFER_TIMEOUT);
        let response = self.response(request, path).await?;
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".millrace-partial");
        let partial = std::path::PathBuf::from(partial);
        let written = async {
            let mut out = tokio::fs::File::create(&partial)
                .await
                .with_context(|| format!("cannot write {}", partial.display()))?;
            let mut stream = response.bytes_stream();
            let mut bytes = 0;
            while let Some(piece) = stream.next().await {
                let piece = piece.map_err(|e| unreachable(path, &e))?;
                bytes += piece.len() as u64;
                out.write_all(&piece).await?;
            }
            out.flush().await?;
            anyhow::Ok(bytes)
        }
        .await;
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(error);
            }
        };
        tokio::fs::rename(&partial, dest)
            .await
            .with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(bytes)
    }

    /// GET `path` as raw bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, CallError> {
        let request = self
            .request(Method::GET, path)
            .timeout(Duration::from_secs(600));
        let response = self.response(request, path).await?;
        let bytes = response.bytes().await.map_err(|e| unreachable(path, &e))?;
        Ok(bytes.to_vec())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        path: &str,
    ) -> Result<T, CallError> {
        let response = self.response(request, path).await?;
        decode(response, path).await
    }

    async fn response(
        &self,
        request: RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response, CallError> {
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(&format!("{}{path}", self.base), &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // millrace's own API nests the message under `error`; MLflow's API does not.
        let message = body["error"]["message"]
            .as_str()
            .or_else(|| body["message"].as_str())
            .map_or_else(|| text.chars().take(300).collect(), str::to_owned);
        let field = body["error"]["field"].as_str().map(str::to_owned);
        Err(CallError::Status {
            status,
            message,
            field,
        })
    }
}

async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    path: &str,
) -> Result<T, CallError> {
    let bytes = response.bytes().await.map_err(|e| unreachable(path, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| CallError::Unreachable {
        url: path.to_owned(),
        reason: format!("the answer is not what millrace sends: {e}"),
    })
}

fn unreachable(url: &str, error: &reqwest::Error) -> CallError {
    // reqwest's Display hides the cause ("error sending request"); the chain names it.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    CallError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_address_with_a_password_is_refused_without_repeating_it() {
        let error = Client::new("http://ann:mr_hidden@host:3000", "token")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("mr_hidden"), "{error}");
        assert!(
            error.contains("must not hold a user or password"),
            "{error}"
        );
        assert!(Client::new("http://host:3000/a@b", "token").is_ok());
    }

    #[test]
    fn a_client_prints_without_its_token() {
        let client = Client::new("http://host:3000", "mr_hidden").unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("mr_hidden"), "{printed}");
    }
}
