//! Metric charts, the same code in the server and the browser: downsampling, smoothing, and
//! drawing to SVG.

pub mod downsample;
#[cfg(feature = "ssr")]
pub mod key_filter;
pub mod parallel;
pub mod settings;
pub mod smooth;
pub mod svg;

#[cfg(test)]
mod tests {
    /// Checks `svg` against `src/chart/snapshots/NAME`; `UPDATE_SNAPSHOTS=1` rewrites the file.
    pub fn assert_snapshot(name: &str, svg: &str) {
        let path = format!("{}/src/chart/snapshots/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, svg).unwrap();
        }
        assert_eq!(
            svg,
            std::fs::read_to_string(&path).unwrap(),
            "UPDATE_SNAPSHOTS=1 rewrites it"
        );
    }
}
