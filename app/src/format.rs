//! How the app writes numbers, durations, byte sizes and times: one place, so a value reads the
//! same in a table, a chart read-out, the command line and a tooltip.

/// Significant digits a value shows.
const DIGITS: i32 = 4;

/// A metric or parameter value in four significant digits, in exponent form when far from 1:
/// `0.3333`, `123.5`, `3.000e-4`, `1.235e7`.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let size = value.abs();
    if size != 0.0 && !(1e-3..1e6).contains(&size) {
        return format!("{value:.prec$e}", prec = (DIGITS - 1) as usize);
    }
    let magnitude = if size == 0.0 {
        0
    } else {
        size.log10().floor() as i32
    };
    let decimals = (DIGITS - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A value with every digit it has, for a tooltip and for copying.
pub fn full_number(value: f64) -> String {
    value.to_string()
}

/// A value in a few characters, for chart ticks: `0.25`, `1.5k`, `3M`, `1e-5`.
pub fn compact(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 {
        "0".to_owned()
    } else if abs >= 1e6 {
        format!("{}M", three_decimals(value / 1e6))
    } else if abs >= 1e4 {
        format!("{}k", three_decimals(value / 1e3))
    } else if abs < 1e-3 {
        let text = format!("{value:.2e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        format!(
            "{}e{exponent}",
            mantissa.trim_end_matches('0').trim_end_matches('.')
        )
    } else {
        three_decimals(value)
    }
}

fn three_decimals(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A run time as people read it: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub fn duration(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A project's cost, with the part that is pool machines' idle time when there is one:
/// `$12.40`, `$12.40 ($1.20 idle)`.
pub fn project_cost(cost_usd: f64, idle_cost_usd: f64) -> String {
    if idle_cost_usd >= 0.005 {
        format!("${cost_usd:.2} (${idle_cost_usd:.2} idle)")
    } else {
        format!("${cost_usd:.2}")
    }
}

/// A size in decimal units: `512 B`, `12.3 MB`.
pub fn bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A GPU as people name it, model and memory in whole GiB as vendors sell it:
/// `NVIDIA A100-SXM4-80GB (80 GiB)`; the model alone when its memory is unknown.
pub fn gpu_model(gpu: &crate::model::Gpu) -> String {
    match gpu.memory_mib {
        0 => gpu.name.clone(),
        mib => format!("{} ({} GiB)", gpu.name, (mib + 512) / 1024),
    }
}

/// Several GPUs counted by model: `2 × NVIDIA A100-SXM4-80GB (80 GiB), 1 × NVIDIA L4 (24 GiB)`.
pub fn gpus(gpus: &[crate::model::Gpu]) -> String {
    let mut models: Vec<(String, usize)> = Vec::new();
    for gpu in gpus {
        let model = gpu_model(gpu);
        match models.iter_mut().find(|(m, _)| *m == model) {
            Some((_, count)) => *count += 1,
            None => models.push((model, 1)),
        }
    }
    let counted: Vec<String> = models
        .iter()
        .map(|(model, count)| format!("{count} × {model}"))
        .collect();
    counted.join(", ")
}

/// GPUs a job asks for, with what each must be: `2 × a100, ≥ 40.0 GB each`; just `2` when any
/// will do.
pub fn gpu_need(gpus: i64, memory_mib: Option<i64>, model: Option<&str>) -> String {
    let mut text = match model {
        Some(model) => format!("{gpus} × {model}"),
        None => gpus.to_string(),
    };
    if let Some(mib) = memory_mib {
        let bytes_each = u64::try_from(mib).unwrap_or(0).saturating_mul(1 << 20);
        text.push_str(&format!(", ≥ {} each", bytes(bytes_each)));
    }
    text
}

/// A UTC time from epoch milliseconds, the same on server and browser (no local time zone,
/// so hydration sees the same text).
pub fn time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        (rest % 3600) / 60
    )
}

/// A time in a zone `offset_minutes` east of UTC, with the zone named: `2025-11-25 21:00
/// UTC+9`, `2025-11-25 17:30 UTC+5:30`, `2025-11-25 12:00 UTC`.
pub fn zoned_time(ms: i64, offset_minutes: i64) -> String {
    let local = ms.saturating_add(offset_minutes.saturating_mul(60_000));
    let utc = time(local);
    let clock = utc.trim_end_matches(" UTC");
    let zone = match (offset_minutes.signum(), offset_minutes.abs()) {
        (0, _) => "UTC".to_owned(),
        (sign, size) => {
            let sign = if sign > 0 { '+' } else { '-' };
            match size % 60 {
                0 => format!("UTC{sign}{}", size / 60),
                minutes => format!("UTC{sign}{}:{minutes:02}", size / 60),
            }
        }
    };
    format!("{clock} {zone}")
}

/// Midnight UTC at the start of the day and of the month of `ms` (milliseconds since the Unix
/// epoch), in the same unit: where "today" and "this month" of a cost begin.
pub fn utc_day_and_month_start_ms(ms: i64) -> (i64, i64) {
    const DAY_MS: i64 = 86_400_000;
    let days = ms.div_euclid(DAY_MS);
    let (_, _, day_of_month) = civil_from_days(days);
    (days * DAY_MS, (days - i64::from(day_of_month) + 1) * DAY_MS)
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_cost_says_its_idle_part_when_it_has_one() {
        assert_eq!(project_cost(12.4, 0.0), "$12.40");
        assert_eq!(project_cost(12.4, 1.2), "$12.40 ($1.20 idle)");
        assert_eq!(project_cost(0.004, 0.004), "$0.00");
    }

    #[test]
    fn days_and_months_start_at_midnight_utc() {
        // 2026-12-07 19:30:00 UTC.
        let now = 1_796_671_800_000;
        let (day, month) = utc_day_and_month_start_ms(now);
        assert_eq!(day, 1_796_601_600_000, "2026-12-07 00:00 UTC");
        assert_eq!(month, 1_796_083_200_000, "2026-12-01 00:00 UTC");
        assert_eq!(utc_day_and_month_start_ms(month), (month, month));
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(
            number(3e-4),
            "3.000e-4",
            "a learning rate keeps its meaning"
        );
        assert_eq!(number(0.000_012), "1.200e-5");
        assert_eq!(number(-0.00001), "-1.000e-5");
        assert_eq!(number(12_345_678.0), "1.235e7");
        assert_eq!(number(1.0 / 3.0), "0.3333");
        assert_eq!(number(0.001_234_5), "0.001234");
        assert_eq!(number(123.456), "123.5");
        assert_eq!(number(98_765.4), "98765");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn the_full_value_round_trips() {
        for value in [3e-4, 1.0 / 3.0, 12_345_678.9, -2.5e-12] {
            assert_eq!(full_number(value).parse::<f64>().unwrap(), value);
        }
    }

    #[test]
    fn ticks_fit_in_a_few_characters() {
        assert_eq!(compact(1_500_000.0), "1.5M");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(0.00001), "1e-5");
        assert_eq!(compact(0.00015), "1.5e-4");
        assert_eq!(compact(-0.0002), "-2e-4");
        assert_eq!(compact(0.25), "0.25");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(999), "0s");
        assert_eq!(duration(725_000), "12m 5s");
        assert_eq!(duration(12_000_000), "3h 20m");
        assert_eq!(duration(187_200_000), "2d 4h");
        assert_eq!(
            duration(-5),
            "0s",
            "a clock that went back is not a negative run"
        );
    }

    #[test]
    fn sizes_use_decimal_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12_345_678), "12.3 MB");
        assert_eq!(bytes(2_000_000_000_000), "2.0 TB");
    }

    #[test]
    fn a_gpu_need_says_the_model_and_memory_of_each() {
        assert_eq!(gpu_need(2, None, None), "2");
        assert_eq!(gpu_need(1, None, Some("a100")), "1 × a100");
        assert_eq!(
            gpu_need(2, Some(38_147), Some("rtx 4090")),
            "2 × rtx 4090, ≥ 40.0 GB each"
        );
    }

    #[test]
    fn a_gpu_reads_as_its_model_and_memory_in_whole_gib() {
        let gpu = |memory_mib| crate::model::Gpu {
            id: "0".into(),
            name: "NVIDIA H100 80GB HBM3".into(),
            memory_mib,
            uuid: String::new(),
        };
        assert_eq!(gpu_model(&gpu(81_559)), "NVIDIA H100 80GB HBM3 (80 GiB)");
        assert_eq!(gpu_model(&gpu(0)), "NVIDIA H100 80GB HBM3");
        assert_eq!(
            gpus(&[gpu(81_559), gpu(0), gpu(81_559)]),
            "2 × NVIDIA H100 80GB HBM3 (80 GiB), 1 × NVIDIA H100 80GB HBM3"
        );
    }

    #[test]
    fn zoned_times_name_their_zone() {
        let noon = 1_764_072_000_000; // 2025-11-25 12:00 UTC
        assert_eq!(zoned_time(noon, 0), "2025-11-25 12:00 UTC");
        assert_eq!(zoned_time(noon, 540), "2025-11-25 21:00 UTC+9");
        assert_eq!(zoned_time(noon, 330), "2025-11-25 17:30 UTC+5:30");
        assert_eq!(zoned_time(noon, -600), "2025-11-25 02:00 UTC-10");
        assert_eq!(zoned_time(noon, 780), "2025-11-26 01:00 UTC+13");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00 UTC");
        assert_eq!(time(1_764_072_000_000), "2025-11-25 12:00 UTC");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
