//! The files the demo's best sweep trials kept, as a training script logs them: the model with
//! its MLflow `MLmodel` file, a plot of the loss, the history as CSV, the configuration and a
//! short report, so the Artifacts tab and the registered model have something to show.

use crate::files::FileStore;
use anyhow::Context;
use app::db::metrics::Point;
use app::db::{storage, Tx};
use axum::body::Bytes;
use serde_json::{Map, Value};

/// One file: its path in the job's artifacts and its bytes.
pub type File = (String, Vec<u8>);

/// The files trial `name` (job `uid`) kept, with its parameters and validation-loss curve.
pub fn of_trial(name: &str, uid: &str, params: &Map<String, Value>, curve: &[Point]) -> Vec<File> {
    let best = curve.last().map_or(f64::NAN, |p| p.value);
    let history: String = std::iter::once("step,val_loss\n".to_owned())
        .chain(curve.iter().map(|p| format!("{},{:.6}\n", p.step, p.value)))
        .collect();
    let config = serde_yaml_ng::to_string(params).unwrap_or_default();
    let report = format!(
        "# {name}\n\nThe sweep's trial with a validation loss of **{best:.4}** after {} steps.\n\n\
         ![validation loss](plots/val_loss.svg)\n\n| parameter | value |\n|---|---|\n{}",
        curve.len(),
        params
            .iter()
            .map(|(k, v)| format!("| {k} | {v} |\n"))
            .collect::<String>()
    );
    vec![
        ("README.md".into(), report.into_bytes()),
        ("config.yaml".into(), config.into_bytes()),
        ("history.csv".into(), history.into_bytes()),
        ("plots/val_loss.svg".into(), plot(curve).into_bytes()),
        ("model/MLmodel".into(), mlmodel(uid, params).into_bytes()),
        (
            "model/requirements.txt".into(),
            b"mlflow==3.17.2\nscikit-learn==1.5.2\nnumpy==2.1.3\n".to_vec(),
        ),
        // A pickle's header and some bytes: a binary file, as a real model is.
        ("model/model.pkl".into(), model_bytes(best)),
    ]
}

/// Writes `files` into job `uid`'s artifacts in `store` and counts them against `owner`'s
/// storage, as an upload would.
pub async fn keep(
    tx: &mut Tx,
    store: &FileStore,
    owner: i64,
    uid: &str,
    files: &[File],
) -> anyhow::Result<()> {
    let bytes: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    storage::lock(tx, owner).await?;
    storage::add(tx, owner, bytes as i64).await?;
    for (path, bytes) in files {
        let at = store.artifact(uid, path).context("a demo artifact path")?;
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes.clone()))]);
        let staged = store.stage(&at, body, u64::MAX, false).await;
        staged
            .with_context(|| format!("writing {at}"))?
            .keep()
            .await
            .with_context(|| format!("writing {at}"))?;
    }
    Ok(())
}

/// The curve as a small SVG line chart.
fn plot(curve: &[Point]) -> String {
    let (width, height) = (320.0, 160.0);
    let top = curve.iter().map(|p| p.value).fold(f64::MIN, f64::max);
    let bottom = curve.iter().map(|p| p.value).fold(f64::MAX, f64::min);
    let span = (top - bottom).max(1e-9);
    let last = curve.len().saturating_sub(1).max(1) as f64;
    let points: Vec<String> = curve
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = 10.0 + i as f64 / last * (width - 20.0);
            let y = 10.0 + (top - p.value) / span * (height - 20.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\" points=\"{}\"/>\
         <text x=\"12\" y=\"{}\" font-size=\"11\" font-family=\"sans-serif\">val_loss</text></svg>\n",
        points.join(" "),
        height - 6.0
    )
}

/// An `MLmodel` file as `mlflow.sklearn.log_model` writes one.
fn mlmodel(uid: &str, params: &Map<String, Value>) -> String {
    let inputs: Vec<String> = params
        .iter()
        .map(|(key, value)| {
            let kind = if value.is_string() {
                "string"
            } else {
                "double"
            };
            format!("{{\"type\": \"{kind}\", \"name\": \"{key}\", \"required\": true}}")
        })
        .collect();
    format!(
        "artifact_path: model\nflavors:\n  python_function:\n    env:\n      virtualenv: python_env.yaml\n\
         \x20   loader_module: mlflow.sklearn\n    model_path: model.pkl\n    predict_fn: predict\n\
         \x20   python_version: 3.11.7\n  sklearn:\n    code: null\n    pickled_model: model.pkl\n\
         \x20   serialization_format: cloudpickle\n    sklearn_version: 1.5.2\nmlflow_version: 3.17.2\n\
         run_id: {uid}\nsignature:\n  inputs: '[{}]'\n  outputs: '[{{\"type\": \"double\", \
         \"name\": \"val_loss\", \"required\": true}}]'\n  params: null\n"
        ,
        inputs.join(", ")
    )
}

fn model_bytes(best: f64) -> Vec<u8> {
    let mut bytes = vec![0x80, 0x04, 0x95, 0x00, 0x00];
    bytes.extend(best.to_le_bytes());
    bytes.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes.push(b'.');
    bytes
}
