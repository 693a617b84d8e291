//! The same behaviour asked of both backends: a local directory, and the S3-compatible server
//! the test command starts on loopback (`scripts/s3.sh`).

use super::*;

/// The S3 test server's address and keys, as `scripts/s3.sh` starts it.
fn s3_settings() -> Vec<(String, String)> {
    let endpoint =
        std::env::var("MILLRACE_TEST_S3").unwrap_or_else(|_| "http://127.0.0.1:8014".to_owned());
    [
        ("aws_endpoint_url", endpoint.as_str()),
        ("aws_access_key_id", "millrace-test"),
        ("aws_secret_access_key", "millrace-test-secret"),
        ("aws_region", "us-east-1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into()
}

/// Each backend, empty: a fresh directory, and a fresh prefix of the test bucket.
fn backends() -> (tempfile::TempDir, Vec<FileStore>) {
    let dir = tempfile::tempdir().unwrap();
    let local = FileStore::local(dir.path()).unwrap();
    let prefix = format!("unit-{:016x}", rand::random::<u64>());
    let s3 = FileStore::open_with(&format!("s3://millrace-test/{prefix}"), s3_settings()).unwrap();
    (dir, vec![local, s3])
}

fn pieces(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let pieces: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| Ok(Bytes::from(vec![i as u8; n])))
        .collect();
    futures_util::stream::iter(pieces)
}

/// What `read` streams, gathered.
async fn read(store: &FileStore, key: &Key, range: Option<Range<u64>>) -> Vec<u8> {
    let pieces: Vec<Bytes> = store
        .read(key, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    pieces.concat()
}

async fn put(store: &FileStore, key: &Key, bytes: &[u8]) {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::copy_from_slice(bytes))]);
    store
        .stage(key, body, u64::MAX, false)
        .await
        .unwrap()
        .keep()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_staged_upload_appears_only_when_kept_and_an_aborted_one_leaves_nothing() {
    let (_dir, stores) = backends();
    for store in stores {
        store.probe().await.expect("the store answers");
        let key = store.artifact("j1", "out/model.pt").unwrap();
        // Over one part: sent as a multipart upload while it arrives.
        let sizes = [3, PART, 5];
        let staged = store
            .stage(&key, pieces(&sizes), u64::MAX, true)
            .await
            .unwrap();
        assert_eq!(staged.bytes, (PART + 8) as u64, "{store:?}");
        assert!(staged.starts_with(&[0, 0, 0, 1]));
        assert_eq!(
            store.head(&key).await.unwrap(),
            None,
            "{store:?}: not yet kept"
        );
        let expected: Vec<u8> = [vec![0u8; 3], vec![1u8; PART], vec![2u8; 5]].concat();
        assert_eq!(
            staged.sha256.as_deref(),
            Some(sha256_hex(&expected).as_str())
        );
        staged.keep().await.unwrap();
        assert_eq!(read(&store, &key, None).await, expected, "{store:?}");

        let over = store.stage(&key, pieces(&[3, 5]), 7, false).await;
        assert!(
            matches!(over, Err(StageError::TooLarge { limit: 7 })),
            "{over:?}"
        );
        let other = store.artifact("j1", "out/other.bin").unwrap();
        drop(
            store
                .stage(&other, pieces(&[PART, 1]), u64::MAX, false)
                .await
                .unwrap(),
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            store.files_under(&store.artifacts("j1")).await.unwrap(),
            [("out/model.pt".to_owned(), (PART + 8) as u64)],
            "{store:?}: the refused and dropped uploads left nothing, the kept file is whole"
        );
    }
}

#[tokio::test]
async fn folders_list_their_entries_and_removing_one_frees_its_bytes() {
    let (_dir, stores) = backends();
    for store in stores {
        let at = |path: &str| store.artifact("j1", path).unwrap();
        put(&store, &at("model.pt"), &[1; 5]).await;
        put(&store, &at("plots/loss curve #1.png"), &[1; 3]).await;
        put(&store, &at("plots/train/a.png"), &[1; 2]).await;
        let top = store.artifacts("j1");
        let listed = store.list_folder(&top).await.unwrap();
        let names: Vec<_> = listed
            .iter()
            .map(|e| (e.name.as_str(), e.is_dir, e.bytes))
            .collect();
        assert_eq!(
            names,
            [("model.pt", false, 5), ("plots", true, 0)],
            "{store:?}"
        );
        let now = chrono_now_ms();
        assert!((now - listed[0].modified_ms).abs() < 60_000, "{store:?}");
        let plots = store.list_folder(&at("plots")).await.unwrap();
        assert_eq!(
            plots[0].name, "loss curve #1.png",
            "{store:?}: names come back as given"
        );
        assert_eq!(store.files_under(&at("plots")).await.unwrap().len(), 2);
        assert_eq!(store.size(&at("model.pt")).await.unwrap(), 5);
        assert!(
            store.head(&at("plots")).await.unwrap().is_none(),
            "a folder is no file"
        );
        assert_eq!(store.size(&at("gone")).await.unwrap(), 0);
        assert!(store.is_folder(&at("plots")).await.unwrap());
        assert!(!store.is_folder(&at("model.pt")).await.unwrap());
        assert!(store.list_folder(&at("gone")).await.unwrap().is_empty());

        let (freed, removed) = store.remove(&at("plots")).await;
        assert_eq!((freed, removed.is_ok()), (5, true), "{store:?}");
        let (freed, removed) = store.remove(&at("nothing/here")).await;
        assert_eq!((freed, removed.is_ok()), (0, true), "{store:?}");
        assert_eq!(
            store.files_under(&top).await.unwrap(),
            [("model.pt".to_owned(), 5)],
            "{store:?}"
        );
        assert_eq!(
            store.list_folder(&top).await.unwrap().len(),
            1,
            "{store:?}: no empty folder"
        );
    }
}

#[tokio::test]
async fn reads_are_bounded_and_ranged_and_renames_replace() {
    let (_dir, stores) = backends();
    for store in stores {
        let from = store.upload_area();
        put(&store, &from, b"0123456789").await;
        let to = store.snapshot(&sha256_hex(b"x"));
        put(&store, &to, b"old").await;
        store.rename(&from, &to).await.unwrap();
        assert_eq!(store.head(&from).await.unwrap(), None, "{store:?}");
        assert_eq!(store.size(&to).await.unwrap(), 10);
        assert_eq!(&store.read_head(&to, 10, 4).await.unwrap()[..], b"0123");
        assert_eq!(
            &store.read_head(&to, 10, 99).await.unwrap()[..],
            b"0123456789"
        );
        assert_eq!(read(&store, &to, Some(3..6)).await, b"345", "{store:?}");
    }
}

#[test]
fn artifact_keys_cannot_leave_the_job_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::local(dir.path()).unwrap();
    assert_eq!(
        store.artifact("abc", "out/model.pt").unwrap().as_ref(),
        "artifacts/abc/out/model.pt"
    );
    assert_eq!(
        store.artifact_folder("abc", ""),
        Some(store.artifacts("abc"))
    );
    let long_name = "x".repeat(256);
    let deep = "a/".repeat(600);
    for bad in [
        "",
        "../x",
        "/etc/passwd",
        "a/../../x",
        "./x",
        "a//b",
        "a/./b",
        "a\0b",
        &long_name,
        &deep,
    ] {
        assert_eq!(store.artifact("abc", bad), None, "{bad}");
    }
    let odd = store.artifact("abc", "a#1/b%20c").unwrap();
    assert_eq!(relative(&store.artifacts("abc"), &odd), "a#1/b%20c");
}

#[test]
fn an_s3_location_names_its_bucket_and_a_bad_one_says_why() {
    let store = FileStore::open_with("s3://bucket/some/prefix/", s3_settings()).unwrap();
    assert_eq!(store.location(), "s3://bucket/some/prefix");
    assert_eq!(
        store.snapshot("ab").as_ref(),
        "some/prefix/snapshots/ab.tar.gz"
    );
    let error = FileStore::open_with("s3:///prefix", s3_settings()).unwrap_err();
    assert!(error.to_string().contains("name the bucket"), "{error}");
}

#[test]
fn only_hex_sha256_names_are_snapshot_ids() {
    assert!(is_sha256(&sha256_hex(b"x")));
    assert!(!is_sha256("../../etc/passwd"));
    assert!(!is_sha256(&"A".repeat(64)));
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
