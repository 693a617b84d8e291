//! Metric charts, the same code in the server and the browser: downsampling, smoothing, and
//! drawing to SVG.

pub mod downsample;
#[cfg(feature = "ssr")]
pub mod key_filter;
pub mod parallel;
pub mod settings;
pub mod smooth;
pub mod svg;

/// A value as a read-out or table cell shows it: about four decimals, exponent form when far
/// from 1, no trailing zeros.
pub fn value_text(value: f64) -> String {
    let size = value.abs();
    if !value.is_finite() {
        return value.to_string();
    }
    if size != 0.0 && !(1e-3..1e6).contains(&size) {
        return format!("{value:.3e}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::value_text;

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

    #[test]
    fn values_read_compactly() {
        assert_eq!(value_text(0.25), "0.25");
        assert_eq!(value_text(2.0), "2");
        assert_eq!(value_text(0.0), "0");
        assert_eq!(value_text(1.0 / 3.0), "0.3333");
        assert_eq!(value_text(12_345_678.0), "1.235e7");
        assert_eq!(value_text(0.000_012), "1.200e-5");
        assert_eq!(value_text(-0.00001), "-1.000e-5");
    }
}
