//! The file store on S3-compatible storage (the s3s-fs server `scripts/s3.sh` starts): the
//! same uploads, downloads, listings, zips and removals as on a local directory, through
//! the real router, with a large artifact sent as a multipart upload.

use crate::helpers::TestApp;
use crate::mlflow_artifacts::new_run;
use app::file_store::Key;
use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use futures_util::TryStreamExt;
use serde_json::Value;

/// The bytes of the file at `key` in the app's store; `None` when there is none.
async fn stored(app: &TestApp, key: &Key) -> Option<Vec<u8>> {
    let files = &app.state.runs.files;
    files.head(key).await.unwrap()?;
    let pieces: Vec<Bytes> = files
        .read(key, None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    Some(pieces.concat())
}

/// `size` bytes that differ from place to place, so a part out of order would show.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn artifacts_go_to_the_bucket_and_come_back_whole_in_ranges_and_as_zips() {
    let app = TestApp::new().await.on_s3();
    let run = new_run(&app).await;
    // Over two 8 MiB parts: a multipart upload, streamed in pieces of 64 KiB.
    let big = pattern(20 << 20);
    let pieces: Vec<Result<Bytes, std::io::Error>> = big
        .chunks(64 << 10)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    let body = Body::from_stream(futures_util::stream::iter(pieces));
    let (status, _, answer) = app.send(run.put("model/weights.bin", body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _, _) = app
        .send(run.put("notes%20%231.txt", Body::from("fine\n")))
        .await;
    assert_eq!(status, StatusCode::OK);

    let files = &app.state.runs.files;
    let key = files.artifact(&run.run_id, "model/weights.bin").unwrap();
    assert!(
        key.as_ref().starts_with("api-"),
        "under the app's prefix: {key}"
    );
    assert_eq!(stored(&app, &key).await.as_deref(), Some(&big[..]));

    let whole = app.bytes(run.get("model/weights.bin")).await;
    assert_eq!(whole, big, "downloaded byte for byte");
    let ranged = Request::get(run.get("model/weights.bin").uri().clone())
        .header(header::AUTHORIZATION, format!("Bearer {}", run.token))
        .header(header::RANGE, "bytes=9000000-9000009")
        .body(Body::empty())
        .unwrap();
    let response = app.response(ranged).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[header::CONTENT_RANGE],
        format!("bytes 9000000-9000009/{}", big.len())
    );
    let part = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&part[..], &big[9_000_000..9_000_010]);

    let (status, _, listed) = app.send(run.list("")).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed["files"],
        serde_json::json!([
            { "path": "model", "is_dir": true },
            { "path": "notes #1.txt", "is_dir": false, "file_size": 5 },
        ]),
        "folders from the bucket's common prefixes, names as given"
    );

    let rest = |path: &str| {
        Request::get(format!("/api/v1/jobs/{}/{path}", run.run_id))
            .header(header::AUTHORIZATION, format!("Bearer {}", run.token))
            .body(Body::empty())
            .unwrap()
    };
    let zipped = app.bytes(rest("zip")).await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, ["model/weights.bin", "notes #1.txt"]);
    let mut weights = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("model/weights.bin").unwrap(),
        &mut weights,
    )
    .unwrap();
    assert!(weights == big, "the zip holds the whole file");

    let (status, _, _) = app.send(run.delete("model")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored(&app, &key).await, None, "removed from the bucket");
    let used = app::db::storage::usage(&app.db, app.user_id("ann").await)
        .await
        .unwrap();
    assert_eq!(used, 5, "only the note is still counted");
}

#[tokio::test]
async fn snapshots_are_kept_by_hash_in_the_bucket_and_a_cut_upload_leaves_nothing() {
    let app = TestApp::new().await.on_s3();
    let (_, token) = app.token().await;
    let mut snapshot = pattern(300_000);
    snapshot[..2].copy_from_slice(&[0x1f, 0x8b]);
    let upload = |body: Body| {
        Request::post("/api/v1/snapshots")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(body)
            .unwrap()
    };
    let (status, _, answer) = app.send(upload(Body::from(snapshot.clone()))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let sha = server::files::sha256_hex(&snapshot);
    let files = &app.state.runs.files;
    let key = files.snapshot(&sha);
    assert_eq!(stored(&app, &key).await.as_deref(), Some(&snapshot[..]));

    let cut = futures_util::stream::iter([
        Ok(Bytes::from(snapshot.clone())),
        Err(std::io::Error::other("connection reset")),
    ]);
    let (status, _, _) = app.send(upload(Body::from_stream(cut))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The aborted upload and the staged copy of the kept one are gone.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let top = Key::parse(key.as_ref().split('/').next().unwrap()).unwrap();
    let everything = files.files_under(&top).await.unwrap();
    assert_eq!(
        everything,
        [(format!("snapshots/{sha}.tar.gz"), snapshot.len() as u64)]
    );

    let (status, _, body) = app.get("/readyz", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
}
