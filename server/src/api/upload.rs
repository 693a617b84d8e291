//! Receiving uploads into the file store: each body is streamed to the store within its size
//! limit and its user's quota, then made visible at its key and counted against the user in
//! one transaction; only then does the caller answer 201. An upload that is refused, cut short
//! or fails leaves no file and no count behind. Removing artifacts gives their bytes back.

use super::error::ApiError;
use super::runs::internal;
use crate::files::{self, FileStore, Key, StageError, Staged};
use app::db::storage;
use app::error::AppError;
use app::format::bytes as human_bytes;
use app::state::AppState;
use axum::body::Body;
use axum::http::{header, HeaderMap};

/// A user the upload counts against.
pub struct Payer<'a> {
    /// Their id.
    pub id: i64,
    /// Their name, for messages.
    pub name: &'a str,
}

/// A snapshot kept in the file store.
pub struct KeptSnapshot {
    /// Its hex SHA-256, its name in the store.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// Stores the code snapshot in `body` under its hash, counted against `payer` unless they
/// uploaded the same snapshot before.
pub async fn keep_snapshot(
    state: &AppState,
    payer: Payer<'_>,
    headers: &HeaderMap,
    body: Body,
) -> Result<KeptSnapshot, ApiError> {
    let store = &state.runs.files;
    // A snapshot already kept costs its uploader nothing more, and only the hash says whether
    // it is one, so the quota is checked once the body is in; until then it waits under a
    // name of its own.
    let limits = Limits::size_only(files::MAX_SNAPSHOT, "a snapshot");
    let temp = store.upload_area();
    let staged = receive(store, &temp, headers, body, &limits, true).await?;
    if !staged.starts_with(&[0x1f, 0x8b]) {
        return Err(ApiError::invalid("body", "a snapshot is a .tar.gz file"));
    }
    let kept = KeptSnapshot {
        sha256: staged.sha256.clone().expect("staged with a hash"),
        bytes: staged.bytes,
    };
    staged
        .keep()
        .await
        .map_err(internal("staging a snapshot"))?;
    let recorded = record_snapshot(state, payer, &temp, &kept).await;
    // Moved into place, or refused: either way the staged copy goes.
    if let (_, Err(error)) = store.remove(&temp).await {
        tracing::warn!(%error, "removing a staged snapshot");
    }
    recorded.map(|()| kept)
}

/// Counts snapshot `kept`, staged at `temp`, against `payer` and moves it into place unless
/// the same snapshot is there already.
async fn record_snapshot(
    state: &AppState,
    payer: Payer<'_>,
    temp: &Key,
    kept: &KeptSnapshot,
) -> Result<(), ApiError> {
    let store = &state.runs.files;
    let key = store.snapshot(&kept.sha256);
    let bytes = signed(kept.bytes);
    let mut tx = state.db.begin().await?;
    let used = storage::lock(&mut tx, payer.id).await?;
    if storage::record_snapshot(&mut tx, payer.id, &kept.sha256, bytes).await? {
        check_quota(state.runs.quota, &payer, used, bytes)?;
        storage::add(&mut tx, payer.id, bytes).await?;
    }
    if store
        .size(&key)
        .await
        .map_err(internal("looking for a snapshot"))?
        != kept.bytes
    {
        store
            .rename(temp, &key)
            .await
            .map_err(internal("keeping a snapshot"))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores `body` as the artifact at `file` of job `uid` (replacing one of the same path),
/// counted against the job's creator; answers its size. A path that is a folder, or runs
/// through a file, is refused before the body is read.
pub async fn keep_artifact(
    state: &AppState,
    uid: &str,
    file: &Key,
    headers: &HeaderMap,
    body: Body,
) -> Result<u64, ApiError> {
    let (id, name) = storage::artifact_owner(&state.db, uid)
        .await?
        .ok_or(AppError::NotFound)?;
    let store = &state.runs.files;
    let job_dir = store.artifacts(uid);
    if let Some(why) = files::obstacle(store, &job_dir, file)
        .await
        .map_err(internal("looking at an artifact's path"))?
    {
        return Err(ApiError::invalid(
            "path",
            format!("cannot write there: {why}"),
        ));
    }
    let payer = Payer { id, name: &name };
    let replaced = store
        .size(file)
        .await
        .map_err(internal("looking for an artifact"))?;
    let used = storage::usage(&state.db, payer.id).await?;
    let limits = Limits::with_quota(
        files::MAX_ARTIFACT,
        "an artifact",
        state.runs.quota,
        &payer,
        used - signed(replaced),
    );
    let staged = receive(store, file, headers, body, &limits, false).await?;
    let bytes = staged.bytes;
    let mut tx = state.db.begin().await?;
    let used = storage::lock(&mut tx, payer.id).await?;
    // Read again under the lock: another upload of the same path may have replaced it since.
    let replaced = store
        .size(file)
        .await
        .map_err(internal("looking for an artifact"))?;
    let delta = signed(bytes) - signed(replaced);
    if delta > 0 {
        check_quota(state.runs.quota, &payer, used, delta)?;
    }
    storage::add(&mut tx, payer.id, delta).await?;
    let shown = files::relative(&job_dir, file);
    app::db::jobs::artifacts_changed(&mut tx, uid, &shown).await?;
    staged
        .keep()
        .await
        .map_err(internal("keeping an artifact"))?;
    tx.commit().await?;
    Ok(bytes)
}

/// Removes the artifact file or folder at `path` of job `uid` (its whole artifact folder when
/// `path` is that folder) and takes what it held off the count of the job's creator. A path
/// that holds nothing frees nothing.
pub async fn remove_artifacts(state: &AppState, uid: &str, path: &Key) -> Result<(), ApiError> {
    let (payer, _) = storage::artifact_owner(&state.db, uid)
        .await?
        .ok_or(AppError::NotFound)?;
    let store = &state.runs.files;
    let mut tx = state.db.begin().await?;
    // Under the lock, so an upload counted against the same user waits for the count to settle.
    storage::lock(&mut tx, payer).await?;
    // Whatever went, went: a removal that failed halfway gives back what it freed.
    let (freed, removed) = store.remove(path).await;
    storage::add(&mut tx, payer, -signed(freed)).await?;
    let shown = files::relative(&store.artifacts(uid), path);
    app::db::jobs::artifacts_changed(&mut tx, uid, &shown).await?;
    tx.commit().await?;
    removed.map_err(internal("removing artifacts"))
}

/// How much an upload may hold, and what to say when it holds more.
struct Limits {
    /// The most bytes it may have.
    bytes: u64,
    /// Why: the size limit of its kind, or its payer's quota.
    over: String,
}

impl Limits {
    fn size_only(max: u64, what: &str) -> Self {
        Self {
            bytes: max,
            over: format!("{what} is at most {}", human_bytes(max)),
        }
    }

    /// The smaller of `max` and the room `payer` has left under `quota` with `used` bytes kept.
    fn with_quota(max: u64, what: &str, quota: Option<u64>, payer: &Payer, used: i64) -> Self {
        let left = quota.map(|q| q.saturating_sub(u64::try_from(used).unwrap_or(0)));
        match (quota, left) {
            (Some(quota), Some(left)) if left < max => Self {
                bytes: left,
                over: format!(
                    "over the storage quota: {} keeps {} of the {} each user may keep, and \
                     this upload is larger than the {} left",
                    payer.name,
                    human_bytes(u64::try_from(used).unwrap_or(0)),
                    human_bytes(quota),
                    human_bytes(left)
                ),
            },
            _ => Self::size_only(max, what),
        }
    }
}

/// Streams `body` towards `key` in `store`, refusing it at once when its declared length is
/// over the limit.
async fn receive(
    store: &FileStore,
    key: &Key,
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
    hash: bool,
) -> Result<Staged, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || ApiError::from(AppError::TooLarge(limits.over.clone()));
    if declared.is_some_and(|length| length > limits.bytes) {
        return Err(too_large());
    }
    store
        .stage(key, body.into_data_stream(), limits.bytes, hash)
        .await
        .map_err(|error| match error {
            StageError::TooLarge { .. } => too_large(),
            StageError::CutShort(reason) => ApiError::invalid(
                "body",
                format!("the upload was cut short ({reason}); nothing was stored"),
            ),
            StageError::Store(e) => internal("staging an upload")(e),
        })
}

/// 413 when `delta` more bytes would take `payer` (with `used` kept) over `quota`.
fn check_quota(quota: Option<u64>, payer: &Payer, used: i64, delta: i64) -> Result<(), ApiError> {
    let Some(quota) = quota else {
        return Ok(());
    };
    if used.saturating_add(delta) <= signed(quota) {
        return Ok(());
    }
    Err(AppError::TooLarge(format!(
        "over the storage quota: {} keeps {} of the {} each user may keep, and this upload \
         needs {} more",
        payer.name,
        human_bytes(u64::try_from(used).unwrap_or(0)),
        human_bytes(quota),
        human_bytes(u64::try_from(delta).unwrap_or(0))
    ))
    .into())
}

fn signed(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}
