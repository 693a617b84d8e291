//! Property tests of the URL query parsers (`view_query`, `project_query`, `chart::settings`):
//! generated query strings, near-valid and not, never panic, stay within their bounds, and
//! printing what was read then reading it again changes nothing. Settings that server
//! functions receive as JSON, clamped, are exactly what a URL can say.

use super::*;
use crate::chart::settings::{PanelSize, XAxis, MAX_KEYS_FILTER};
use crate::model::JobSort;
use crate::project_query::{Attr, Stat, TableColumn, TableQuery, MAX_COLUMNS, MAX_COMPARED};
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(10_000)
}

/// Text with the characters that matter to these parsers: separators, signs, digits, spaces.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(
            prop_oneof![
                Just(','),
                Just('-'),
                Just(':'),
                Just(' '),
                Just('1'),
                Just('a'),
                Just('é'),
                Just('.'),
                Just('e'),
                Just('\t'),
            ],
            0..max,
        )
        .prop_map(|chars| chars.into_iter().collect()),
        "\\PC{0,20}",
    ]
}

fn long_text() -> impl Strategy<Value = String> {
    (190usize..260, prop_oneof![Just("k"), Just("é"), Just(" ")]).prop_map(|(n, c)| c.repeat(n))
}

/// A column word as `tcols` and `tsort` spell them, with near misses.
fn column_word() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("lr".to_owned()),
        Just(String::new()),
        long_text(),
        "[a-z]{1,4}"
    ];
    let prefix = prop_oneof![
        Just("p:"),
        Just("m:"),
        Just("min:"),
        Just("max:"),
        Just("q:"),
        Just("")
    ];
    prop_oneof![
        (prefix, key).prop_map(|(p, k)| format!("{p}{k}")),
        prop::sample::select(vec![
            "status", "created", "duration", "gpus", "runner", "cost", "name", "bogus"
        ])
        .prop_map(str::to_owned),
    ]
}

fn list(item: impl Strategy<Value = String>, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(item, 0..max).prop_map(|items| items.join(","))
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("NaN".to_owned()),
        Just("inf".to_owned()),
        Just("99999999999999999999".to_owned()),
        text(6),
    ]
}

fn sort(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![
            prop::sample::select(words.to_vec()).prop_map(str::to_owned),
            text(8)
        ],
    )
        .prop_map(|(desc, word)| format!("{}{word}", if desc { "-" } else { "" }))
}

fn pair() -> impl Strategy<Value = (String, String)> {
    let job_sorts = &[
        "created",
        "name",
        "status",
        "duration",
        "metric:loss",
        "metric:",
    ];
    prop_oneof![
        sort(&["name", "created"]).prop_map(|v| ("usort".into(), v)),
        sort(&["name", "created", "updated"]).prop_map(|v| ("psort".into(), v)),
        sort(job_sorts).prop_map(|v| ("jsort".into(), v)),
        (0..3usize, prop_oneof![text(10), long_text()])
            .prop_map(|(i, v)| (["uq", "pq", "jq"][i].into(), v)),
        list(
            prop::sample::select(vec!["running", "failed", "queued", "bogus", ""])
                .prop_map(str::to_owned),
            12
        )
        .prop_map(|v| ("jstatus".into(), v)),
        prop_oneof![text(10), long_text()].prop_map(|v| ("jtag".into(), v)),
        prop::sample::select(vec!["overview", "metrics", "logs", "config", "x"])
            .prop_map(|v| ("tab".into(), v.into())),
        prop_oneof![text(10), long_text()].prop_map(|v| ("keys".into(), v)),
        (
            prop::sample::select(vec!["smooth", "ymin", "ymax", "from", "to", "cmp", "sweep"]),
            number()
        )
            .prop_map(|(k, v)| (k.into(), v)),
        list(number(), 30).prop_map(|v| ("cmp".into(), v)),
        (
            prop::sample::select(vec!["x", "psize", "pview", "logy", "pall", "slog"]),
            text(6)
        )
            .prop_map(|(k, v)| (k.into(), v)),
        prop::sample::select(vec![
            ("x", "wall"),
            ("psize", "l"),
            ("pview", "table"),
            ("logy", "1"),
            ("slog", "1")
        ])
        .prop_map(|(k, v)| (k.into(), v.into())),
        list(column_word(), 60).prop_map(|v| ("tcols".into(), v)),
        (any::<bool>(), column_word())
            .prop_map(|(d, w)| ("tsort".into(), format!("{}{w}", if d { "-" } else { "" }))),
        list(prop_oneof![text(6), long_text()], 60).prop_map(|v| ("shide".into(), v)),
        (prop::sample::select(vec!["cerr", "cset"]), text(20)).prop_map(|(k, v)| (k.into(), v)),
    ]
}

fn read(pairs: &[(String, String)]) -> ViewQuery {
    ViewQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Undoes [`crate::url::encode_component`].
fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn chart_settings() -> impl Strategy<Value = ChartSettings> {
    (
        prop_oneof![
            text(10),
            long_text(),
            (0usize..5_000).prop_map(|n| "k".repeat(n))
        ],
        any::<f64>(),
        prop::sample::select(XAxis::ALL.to_vec()),
        any::<bool>(),
        prop::option::of(any::<f64>()),
        prop::option::of(any::<f64>()),
        prop::sample::select(PanelSize::ALL.to_vec()),
        (
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(keys, smooth, x, log_y, y_min, y_max, size, (from, to))| ChartSettings {
                keys,
                smooth,
                x,
                log_y,
                y_min,
                y_max,
                size,
                from,
                to,
            },
        )
}

/// A column as JSON may send it; keys hold no comma, which a `tcols` list cannot carry.
fn table_column() -> impl Strategy<Value = TableColumn> {
    let key = prop_oneof![Just(String::new()), long_text(), "[a-z :]{1,6}"];
    prop_oneof![
        prop::sample::select(vec![Attr::Name, Attr::Status, Attr::Cost, Attr::Gpus])
            .prop_map(TableColumn::Attr),
        key.clone().prop_map(TableColumn::Param),
        (key, prop::sample::select(Stat::ALL.to_vec()))
            .prop_map(|(k, s)| TableColumn::Metric(k, s)),
    ]
}

fn column_query() -> impl Strategy<Value = ColumnQuery<JobSort>> {
    let sort = prop_oneof![
        Just(JobSort::Created),
        Just(JobSort::Status),
        prop_oneof![Just(String::new()), long_text(), text(8)].prop_map(JobSort::Metric),
    ];
    let status = prop::sample::select(JobStatus::ALL.to_vec());
    (
        sort,
        prop::sample::select(vec![SortDir::Asc, SortDir::Desc]),
        prop::option::of(prop_oneof![text(10), long_text()]),
        prop::collection::vec(status, 0..20),
        prop::option::of(text(10)),
        any::<bool>(),
    )
        .prop_map(|(sort, dir, text, statuses, tag, archived)| ColumnQuery {
            sort,
            dir,
            filter: Filter {
                text,
                statuses,
                tag,
                archived,
            },
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn view_queries_are_bounded_and_read_back_as_printed(
        pairs in prop::collection::vec(pair(), 0..12),
    ) {
        let start = Instant::now();
        let view = read(&pairs);
        let jobs = &view.jobs.filter;
        prop_assert!(jobs.text.as_ref().is_none_or(|t| t.chars().count() <= MAX_FILTER_TEXT));
        prop_assert!(jobs.tag.as_ref().is_none_or(|t| t.chars().count() <= MAX_FILTER_TEXT));
        prop_assert!(view.chart.keys.chars().count() <= MAX_KEYS_FILTER);
        prop_assert!((0.0..=0.99).contains(&view.chart.smooth));
        prop_assert!(view.project.table.columns.len() <= MAX_COLUMNS);
        prop_assert!(view.project.compare.len() <= MAX_COMPARED);

        let printed = view.pairs();
        let mut expected = view.clone();
        // Never printed: the clone form's error and changes describe one form post, and a
        // column list too long for a URL stays in local storage.
        expected.project.sweeps.clone_error = None;
        expected.project.sweeps.clone_changes = None;
        if expected.project.table.columns_word().len() > 1_000 {
            expected.project.table.columns = TableQuery::default_columns();
        }
        prop_assert_eq!(read(&printed), expected);

        let query = view.to_query_string();
        for part in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap();
            let value = String::from_utf8(decode(value)).unwrap();
            prop_assert!(printed.contains(&(key.to_owned(), value)), "{part}");
        }
        prop_assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn chart_settings_sent_as_json_clamp_to_what_a_url_says(settings in chart_settings()) {
        let clamped = settings.clamped();
        prop_assert_eq!(clamped.clone().clamped(), clamped.clone());
        let mut pairs = Vec::new();
        clamped.write(&mut pairs);
        let from_url = ChartSettings::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        prop_assert_eq!(from_url, clamped);
    }

    #[test]
    fn tables_sent_as_json_clamp_to_what_a_url_says(
        columns in prop::collection::vec(table_column(), 0..80),
        sort in table_column(),
        descending in any::<bool>(),
    ) {
        let dir = if descending { SortDir::Desc } else { SortDir::Asc };
        let clamped = TableQuery { columns, sort, dir }.clamped();
        prop_assert!(clamped.columns.len() <= MAX_COLUMNS);
        prop_assert_eq!(clamped.clone().clamped(), clamped.clone());
        let url = [("tcols".to_owned(), clamped.columns_word()), ("tsort".to_owned(), clamped.sort_word())];
        prop_assert_eq!(read(&url).project.table, clamped);
    }

    #[test]
    fn column_queries_sent_as_json_clamp_to_what_a_url_says(query in column_query()) {
        let clamped = query.clamped();
        prop_assert_eq!(clamped.clone().clamped(), clamped.clone());
        let mut pairs = Vec::new();
        clamped.write("j", &mut pairs);
        prop_assert_eq!(read(&pairs).jobs, clamped);
    }
}
