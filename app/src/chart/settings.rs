//! Chart settings as the URL holds them: `keys`, `smooth`, `x`, `logy`, `ymin`, `ymax`,
//! `psize`, `from`, `to`. Defaults are left out; bad values are clamped or ignored.

use super::smooth::clamp_weight;
use serde::{Deserialize, Serialize};

/// What the x axis measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum XAxis {
    /// Training step.
    #[default]
    Step,
    /// Wall-clock time (seconds since the Unix epoch).
    Wall,
    /// Seconds since the series' first point.
    Relative,
}

impl XAxis {
    /// Every choice, in menu order.
    pub const ALL: [XAxis; 3] = [Self::Step, Self::Wall, Self::Relative];

    /// The word in the URL and the menu.
    pub fn word(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Wall => "wall",
            Self::Relative => "relative",
        }
    }
}

/// A panel's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PanelSize {
    /// 320 × 180.
    Small,
    /// 480 × 260.
    #[default]
    Medium,
    /// 720 × 380.
    Large,
}

impl PanelSize {
    /// Every size, in menu order.
    pub const ALL: [PanelSize; 3] = [Self::Small, Self::Medium, Self::Large];

    /// The word in the URL and the menu.
    pub fn word(self) -> &'static str {
        match self {
            Self::Small => "s",
            Self::Medium => "m",
            Self::Large => "l",
        }
    }

    /// Width and height in pixels.
    pub fn pixels(self) -> (u32, u32) {
        match self {
            Self::Small => (320, 180),
            Self::Medium => (480, 260),
            Self::Large => (720, 380),
        }
    }
}

/// How the metric panels are drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartSettings {
    /// Only panels whose key this regular expression finds (case-insensitive; text that is not
    /// a valid pattern is matched as text).
    pub keys: String,
    /// EMA smoothing weight, 0 to 0.99.
    pub smooth: f64,
    /// What x measures.
    pub x: XAxis,
    /// Logarithmic y.
    pub log_y: bool,
    /// Fixed lower y bound.
    pub y_min: Option<f64>,
    /// Fixed upper y bound.
    pub y_max: Option<f64>,
    /// Panel size.
    pub size: PanelSize,
    /// First step shown (a zoomed range, fetched at full resolution where it fits).
    pub from: Option<i64>,
    /// Last step shown.
    pub to: Option<i64>,
}

/// Longest panel filter kept.
pub const MAX_KEYS_FILTER: usize = 200;

impl ChartSettings {
    /// Reads the settings from decoded query pairs, [`clamped`](Self::clamped).
    pub fn read<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut settings = Self::default();
        for (key, value) in pairs {
            let number = value.parse::<f64>().ok();
            match key {
                "keys" => settings.keys = value.to_owned(),
                "smooth" => settings.smooth = number.unwrap_or(0.0),
                "x" => {
                    settings.x = XAxis::ALL
                        .into_iter()
                        .find(|x| x.word() == value)
                        .unwrap_or_default()
                }
                "logy" => settings.log_y = value == "1",
                "ymin" => settings.y_min = number,
                "ymax" => settings.y_max = number,
                "psize" => {
                    settings.size = PanelSize::ALL
                        .into_iter()
                        .find(|s| s.word() == value)
                        .unwrap_or_default()
                }
                "from" => settings.from = value.parse().ok(),
                "to" => settings.to = value.parse().ok(),
                _ => {}
            }
        }
        settings.clamped()
    }

    /// The settings with every value in range, as a URL would give them: the keys filter cut
    /// to [`MAX_KEYS_FILTER`] characters, smoothing within 0–0.99, only finite y bounds. Server
    /// functions pass the settings they are sent through here too.
    pub fn clamped(mut self) -> Self {
        if let Some((cut, _)) = self.keys.char_indices().nth(MAX_KEYS_FILTER) {
            self.keys.truncate(cut);
        }
        self.smooth = if self.smooth.is_finite() {
            clamp_weight(self.smooth)
        } else {
            0.0
        };
        self.y_min = self.y_min.filter(|v| v.is_finite());
        self.y_max = self.y_max.filter(|v| v.is_finite());
        self
    }

    /// Appends the values that differ from the defaults.
    pub fn write(&self, pairs: &mut Vec<(String, String)>) {
        let mut push = |key: &str, value: String| pairs.push((key.to_owned(), value));
        if !self.keys.is_empty() {
            push("keys", self.keys.clone());
        }
        if self.smooth > 0.0 {
            push("smooth", format!("{}", self.smooth));
        }
        if self.x != XAxis::default() {
            push("x", self.x.word().into());
        }
        if self.log_y {
            push("logy", "1".into());
        }
        if let Some(v) = self.y_min {
            push("ymin", format!("{v}"));
        }
        if let Some(v) = self.y_max {
            push("ymax", format!("{v}"));
        }
        if self.size != PanelSize::default() {
            push("psize", self.size.word().into());
        }
        if let Some(v) = self.from {
            push("from", v.to_string());
        }
        if let Some(v) = self.to {
            push("to", v.to_string());
        }
    }

    /// The settings in a few words, one per chip of the folded settings bar on a phone: the x
    /// axis and size always, the rest when they differ from the defaults.
    pub fn chips(&self) -> Vec<String> {
        use crate::format::number;
        let mut chips = Vec::new();
        if !self.keys.is_empty() {
            chips.push(format!("keys “{}”", self.keys));
        }
        if self.smooth > 0.0 {
            chips.push(format!("smoothing {}", self.smooth));
        }
        chips.push(format!("x {}", self.x.word()));
        if self.log_y {
            chips.push("log y".to_owned());
        }
        let bound = |v: Option<f64>| v.map(number).unwrap_or_default();
        if self.y_min.is_some() || self.y_max.is_some() {
            chips.push(format!("y {}–{}", bound(self.y_min), bound(self.y_max)));
        }
        if self.from.is_some() || self.to.is_some() {
            let step = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            chips.push(format!("steps {}–{}", step(self.from), step(self.to)));
        }
        chips.push(format!("size {}", self.size.word()));
        chips
    }

    /// The fixed y range, when both bounds are given and in order.
    pub fn y_range(&self) -> Option<(f64, f64)> {
        match (self.y_min, self.y_max) {
            (Some(lo), Some(hi)) if lo < hi => Some((lo, hi)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chips_name_the_axis_and_size_always_and_the_rest_when_set() {
        let plain = ChartSettings::default();
        assert_eq!(plain.chips(), ["x step", "size m"]);
        let busy = ChartSettings::read(
            [
                ("keys", "val/"),
                ("smooth", "0.6"),
                ("x", "wall"),
                ("logy", "1"),
                ("ymin", "0.0003"),
                ("from", "10"),
                ("to", "200"),
                ("psize", "l"),
            ]
            .into_iter(),
        );
        assert_eq!(
            busy.chips(),
            [
                "keys “val/”",
                "smoothing 0.6",
                "x wall",
                "log y",
                "y 3.000e-4–",
                "steps 10–200",
                "size l"
            ]
        );
    }

    fn read(query: &str) -> ChartSettings {
        ChartSettings::read(query.split('&').filter_map(|p| p.split_once('=')))
    }

    #[test]
    fn settings_round_trip_through_query_pairs_and_defaults_stay_out() {
        let settings =
            read("keys=loss&smooth=0.6&x=relative&logy=1&ymin=0&ymax=2&psize=l&from=10&to=500");
        let mut pairs = Vec::new();
        settings.write(&mut pairs);
        let again = ChartSettings::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(again, settings);
        assert_eq!(settings.y_range(), Some((0.0, 2.0)));
        let mut none = Vec::new();
        ChartSettings::default().write(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn bad_values_are_clamped_or_ignored() {
        let settings = read("smooth=1.5&x=sideways&psize=huge&ymin=nan&ymax=inf&from=ten&logy=yes");
        assert_eq!(settings.smooth, 0.99);
        assert_eq!(
            (settings.x, settings.size, settings.log_y),
            (XAxis::Step, PanelSize::Medium, false)
        );
        assert_eq!(
            (settings.y_min, settings.y_max, settings.from),
            (None, None, None)
        );
        assert_eq!(read("smooth=-3").smooth, 0.0);
        assert_eq!(read(&format!("keys={}", "k".repeat(5000))).keys.len(), 200);
        assert_eq!(read("ymin=5&ymax=1").y_range(), None);
    }

    #[test]
    fn settings_sent_as_json_are_clamped_like_a_url() {
        let sent: ChartSettings = serde_json::from_str(&format!(
            r#"{{"keys": "{}", "smooth": 50.0, "x": "Wall", "log_y": true, "y_min": -1e308,
                "y_max": 1e308, "size": "Large", "from": -5, "to": 9}}"#,
            "k".repeat(100_000)
        ))
        .unwrap();
        let clamped = sent.clamped();
        assert_eq!(clamped.keys.len(), MAX_KEYS_FILTER);
        assert_eq!(clamped.smooth, 0.99);
        let mut pairs = Vec::new();
        clamped.write(&mut pairs);
        let from_url = ChartSettings::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(
            from_url, clamped,
            "a URL and a server call see the same settings"
        );
        let negative = ChartSettings {
            smooth: -2.0,
            ..ChartSettings::default()
        };
        assert_eq!(negative.clamped().smooth, 0.0);
    }
}
