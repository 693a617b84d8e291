//! What the Artifacts tab shows of a file, read on the server within fixed bounds: a 2 GB log
//! or a JSON document nested ten thousand deep costs a bounded read and falls back to text.

use super::server_fns::{ModelSummary, Node, Preview, MAX_ROWS, MAX_TEXT_KB};
use crate::url::encode_component;
use serde_json::Value;

/// Most bytes of a text file shown.
const MAX_TEXT: u64 = MAX_TEXT_KB << 10;
/// Largest JSON, YAML or Markdown file parsed for its preview; a larger one shows as text.
const MAX_PARSED: u64 = 4 << 20;
/// Most values of a document's tree; a larger document shows as text.
const MAX_NODES: usize = 20_000;
/// Most bytes of a CSV file read for its first rows (one very long line stops there).
const MAX_TABLE_BYTES: u64 = 8 << 20;
/// Most columns of a table, and characters of a cell, shown.
const MAX_COLUMNS: usize = 200;
const MAX_CELL: usize = 500;
/// Most pip requirements listed in a model's summary.
const MAX_REQUIREMENTS: usize = 200;

/// How many of the first bytes of file `name`, `size` bytes long, its preview reads.
pub fn wanted(name: &str, size: u64) -> u64 {
    let extension = crate::file_store::extension(name);
    let parsed = size <= MAX_PARSED;
    match extension.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" => 0,
        "csv" | "tsv" => MAX_TABLE_BYTES,
        _ if parsed && (name == "MLmodel" || PARSED.contains(&extension.as_str())) => {
            MAX_PARSED + 1
        }
        _ => MAX_TEXT + 1,
    }
}

/// The extensions of the documents parsed for their preview.
const PARSED: [&str; 5] = ["md", "markdown", "json", "yaml", "yml"];

/// What file `name`, `size` bytes long and beginning with `data` (its first [`wanted`] bytes),
/// previews as; `folder` is its folder's path in job `uid`'s files, which relative links of a
/// Markdown file resolve against, and `requirements` the start of the `requirements.txt`
/// beside an `MLmodel` file.
pub fn of(
    data: &[u8],
    size: u64,
    name: &str,
    folder: &str,
    uid: &str,
    requirements: Option<&[u8]>,
) -> Preview {
    let extension = crate::file_store::extension(name);
    let parsed = size <= MAX_PARSED;
    match extension.as_str() {
        _ if name == "MLmodel" && parsed => model(data, requirements),
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" => Preview::Image,
        "md" | "markdown" if parsed => match read_text(data, MAX_PARSED) {
            Some((text, _)) => Preview::Markdown {
                html: markdown(&text, folder, uid),
            },
            None => binary(),
        },
        "json" if parsed => document(data, |text| serde_json::from_str(text).ok()),
        "yaml" | "yml" if parsed => document(data, |text| serde_yaml_ng::from_str(text).ok()),
        "csv" => table(data, b','),
        "tsv" => table(data, b'\t'),
        _ => text(data),
    }
}

fn binary() -> Preview {
    Preview::None {
        reason: "No preview: this is not a text file.".into(),
    }
}

/// The file's first `limit` bytes (of `data`, its start) as text, and whether it goes on;
/// `None` when it is not text (a NUL byte, or bytes that are not UTF-8 before the cut).
fn read_text(data: &[u8], limit: u64) -> Option<(String, bool)> {
    let cut = data.len() as u64 > limit;
    let bytes = &data[..data.len().min(limit as usize)];
    if bytes.contains(&0) {
        return None;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // A character split by the cut is not a reason to call the file binary.
        Err(error) if cut && error.error_len().is_none() => {
            std::str::from_utf8(&bytes[..error.valid_up_to()]).expect("checked up to here")
        }
        Err(_) => return None,
    };
    Some((text.to_owned(), cut))
}

fn text(data: &[u8]) -> Preview {
    match read_text(data, MAX_TEXT) {
        Some((text, cut)) => Preview::Text { text, cut },
        None => binary(),
    }
}

/// A JSON or YAML file as a tree, an MLflow table as a table; as text when it does not parse
/// (too deep for the parsers' recursion limits, too) or has too many values for a tree.
fn document(data: &[u8], parse: impl Fn(&str) -> Option<Ordered>) -> Preview {
    let Some((text, _)) = read_text(data, MAX_PARSED) else {
        return binary();
    };
    let Some(Ordered(tree)) = parse(&text) else {
        return self::text(data);
    };
    if let Some(table) = mlflow_table(&tree) {
        return table;
    }
    let mut budget = MAX_NODES;
    match within(&tree, &mut budget) {
        true => Preview::Tree(tree),
        false => self::text(data),
    }
}

/// Whether `node` has at most `budget` values, taking them from it.
fn within(node: &Node, budget: &mut usize) -> bool {
    let Some(left) = budget.checked_sub(1) else {
        return false;
    };
    *budget = left;
    match node {
        Node::Leaf(_) => true,
        Node::List(items) => items.iter().all(|item| within(item, budget)),
        Node::Map(fields) => fields.iter().all(|(_, item)| within(item, budget)),
    }
}

/// A JSON or YAML value read straight into a [`Node`], keeping the order of its keys (a
/// `serde_json::Value` sorts them).
struct Ordered(Node);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        from.deserialize_any(NodeVisitor).map(Ordered)
    }
}

struct NodeVisitor;

impl<'de> serde::de::Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON or YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Leaf(value.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Leaf(value.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Node, E> {
        Ok(Node::Leaf(value.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Node, E> {
        // JSON has no NaN or infinity; YAML's `.nan` and `.inf` show as Rust writes them.
        Ok(Node::Leaf(match Value::from(value) {
            Value::Null => value.to_string(),
            number => number.to_string(),
        }))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Leaf(Value::from(value).to_string()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf("null".into()))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Node, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, from: D) -> Result<Node, D::Error> {
        from.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(Ordered(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields = Vec::new();
        while let Some((Ordered(key), Ordered(value))) = map.next_entry()? {
            // YAML keys may be numbers or even lists; they show as their text.
            let key = match key {
                Node::Leaf(text) => serde_json::from_str::<String>(&text).unwrap_or(text),
                _ => "…".into(),
            };
            fields.push((key, value));
        }
        Ok(Node::Map(fields))
    }
}

/// The text of a scalar shown in a table cell: a string without its quotes.
fn leaf_text(node: &Node) -> String {
    match node {
        Node::Leaf(text) => {
            clip(&serde_json::from_str::<String>(text).unwrap_or_else(|_| text.clone()))
        }
        _ => "…".into(),
    }
}

/// What `mlflow.log_table` writes (pandas' "split" layout: `columns` and `data` rows), as a table.
fn mlflow_table(tree: &Node) -> Option<Preview> {
    let Node::Map(fields) = tree else {
        return None;
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| match value {
                Node::List(items) => Some(items),
                _ => None,
            })
    };
    let (columns, data) = (field("columns")?, field("data")?);
    let rows = data
        .iter()
        .take(MAX_ROWS)
        .map(|row| match row {
            Node::List(cells) => Some(cells.iter().take(MAX_COLUMNS).map(leaf_text).collect()),
            _ => None,
        })
        .collect::<Option<Vec<Vec<String>>>>()?;
    Some(Preview::Table {
        columns: columns.iter().take(MAX_COLUMNS).map(leaf_text).collect(),
        rows,
        more: data.len() > MAX_ROWS,
    })
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_CELL) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A CSV (or tab-separated) file's header and first rows, read from at most
/// [`MAX_TABLE_BYTES`] of it.
fn table(data: &[u8], delimiter: u8) -> Preview {
    let head = &data[..data.len().min(MAX_TABLE_BYTES as usize)];
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(head);
    let Ok(header) = reader.headers() else {
        return text(data);
    };
    let columns = header.iter().take(MAX_COLUMNS).map(clip).collect();
    let mut rows = Vec::new();
    let mut records = reader.records();
    let mut more = false;
    for record in records.by_ref() {
        let Ok(record) = record else {
            // A row cut by the byte limit, or not CSV past here: show what parsed.
            more = true;
            break;
        };
        if rows.len() == MAX_ROWS {
            more = true;
            break;
        }
        rows.push(record.iter().take(MAX_COLUMNS).map(clip).collect());
    }
    Preview::Table {
        columns,
        rows,
        more,
    }
}

/// An MLflow `MLmodel` file summed up, with the `requirements.txt` beside it.
fn model(data: &[u8], requirements: Option<&[u8]>) -> Preview {
    let Some((text, _)) = read_text(data, MAX_PARSED) else {
        return binary();
    };
    let Ok(Value::Object(spec)) = serde_yaml_ng::from_str::<Value>(&text) else {
        return self::text(data);
    };
    let mut summary = ModelSummary::default();
    for (key, label) in [
        ("model_id", "Model id"),
        ("model_uuid", "Model UUID"),
        ("run_id", "Run"),
        ("artifact_path", "Name"),
        ("mlflow_version", "MLflow version"),
        ("utc_time_created", "Created (UTC)"),
        ("model_size_bytes", "Size in bytes"),
    ] {
        if let Some(value) = spec.get(key).filter(|v| !v.is_null()) {
            summary.facts.push((label.into(), scalar(value)));
        }
    }
    if let Some(Value::Object(flavors)) = spec.get("flavors") {
        for (name, settings) in flavors {
            let settings = settings
                .as_object()
                .map(|fields| {
                    fields
                        .iter()
                        .filter(|(_, v)| !v.is_null() && !v.is_object() && !v.is_array())
                        .map(|(k, v)| (k.clone(), scalar(v)))
                        .collect()
                })
                .unwrap_or_default();
            summary.flavors.push((name.clone(), settings));
        }
    }
    if let Some(signature) = spec.get("signature") {
        summary.inputs = signature_part(signature.get("inputs"));
        summary.outputs = signature_part(signature.get("outputs"));
    }
    if let Some((text, _)) = requirements.and_then(|data| read_text(data, MAX_TEXT)) {
        summary.requirements = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .take(MAX_REQUIREMENTS)
            .map(str::to_owned)
            .collect();
    }
    Preview::Model(summary)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => clip(text),
        other => clip(&other.to_string()),
    }
}

/// A signature's inputs or outputs (a JSON list kept as a string in the YAML): name and type of
/// each column or tensor.
fn signature_part(part: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::String(json)) = part else {
        return Vec::new();
    };
    let Ok(Value::Array(specs)) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    specs
        .iter()
        .take(MAX_COLUMNS)
        .map(|spec| {
            let name = spec.get("name").map_or_else(|| "—".into(), scalar);
            let kind = match (spec.get("type"), spec.get("tensor-spec")) {
                (_, Some(tensor)) => format!(
                    "tensor {} {}",
                    tensor.get("dtype").map_or_else(String::new, scalar),
                    tensor.get("shape").map_or_else(String::new, scalar)
                ),
                (Some(kind), None) => scalar(kind),
                (None, None) => "—".into(),
            };
            (name, kind.trim().to_owned())
        })
        .collect()
}

/// Markdown as HTML that is safe on this site: raw HTML shows as text, links and images keep
/// only web, mail and in-page addresses, and relative ones point at the job's own files (from
/// `folder` of job `uid`).
fn markdown(text: &str, folder: &str, uid: &str) -> String {
    use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

    let address = |dest: CowStr<'_>| -> CowStr<'static> {
        safe_address(&dest, folder, uid)
            .unwrap_or_else(|| "#".into())
            .into()
    };
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: address(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: address(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// Where a Markdown link may point: `https:`, `http:` and `mailto:` addresses and in-page
/// anchors as written, a relative path as the download of that file of the job; nothing else
/// (`javascript:`, `data:`, paths leaving the job's files).
fn safe_address(dest: &str, folder: &str, uid: &str) -> Option<String> {
    let lower = dest.trim().to_ascii_lowercase();
    if ["https://", "http://", "mailto:", "#"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return Some(dest.trim().to_owned());
    }
    if lower.contains(':') || lower.starts_with('/') || lower.starts_with('\\') {
        return None;
    }
    let path = dest.split(['?', '#']).next().unwrap_or_default();
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    let encoded: Vec<String> = parts.iter().map(|p| encode_component(p)).collect();
    (!encoded.is_empty()).then(|| format!("/api/v1/jobs/{uid}/artifacts/{}", encoded.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The preview of file `name` holding `bytes`, from the part of it the store would read.
    fn preview(name: &str, bytes: &[u8]) -> Preview {
        let size = bytes.len() as u64;
        let read = &bytes[..bytes.len().min(wanted(name, size) as usize)];
        of(read, size, name, "plots", "j1", None)
    }

    #[test]
    fn files_preview_by_what_they_are() {
        assert_eq!(preview("loss.PNG", b"\x89PNG"), Preview::Image);
        assert_eq!(
            preview("train.log", b"epoch 1\n"),
            Preview::Text {
                text: "epoch 1\n".into(),
                cut: false
            }
        );
        assert!(matches!(
            preview("model.pt", b"PK\x03\x04\0\0"),
            Preview::None { .. }
        ));
        assert_eq!(
            preview("config.yaml", b"lr: 0.1\nlayers: [1, 2]\n"),
            Preview::Tree(Node::Map(vec![
                ("lr".into(), Node::Leaf("0.1".into())),
                (
                    "layers".into(),
                    Node::List(vec![Node::Leaf("1".into()), Node::Leaf("2".into())])
                ),
            ]))
        );
        // Not JSON after all: shown as the text it is.
        assert_eq!(
            preview("broken.json", b"{\"a\": "),
            Preview::Text {
                text: "{\"a\": ".into(),
                cut: false
            }
        );
    }

    #[test]
    fn a_big_text_file_shows_its_beginning_and_a_cut_character_is_not_binary() {
        // "é" is two bytes; the limit falls between them.
        let mut bytes = vec![b'a'; MAX_TEXT as usize - 1];
        bytes.extend("é and more".as_bytes());
        let Preview::Text { text, cut } = preview("big.txt", &bytes) else {
            panic!("a text file");
        };
        assert!(cut);
        assert_eq!(text.len(), MAX_TEXT as usize - 1);
    }

    #[test]
    fn a_document_too_deep_or_too_big_for_a_tree_shows_as_text() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            preview("deep.json", deep.as_bytes()),
            Preview::Text { .. }
        ));
        let wide = format!("[{}0]", "0,".repeat(MAX_NODES));
        assert!(matches!(
            preview("wide.json", wide.as_bytes()),
            Preview::Text { .. }
        ));
    }

    #[test]
    fn tables_show_their_first_thousand_rows() {
        let mut csv = String::from("step,loss\n");
        for step in 0..1_500 {
            csv.push_str(&format!("{step},{}\n", 1.0 / (step + 1) as f64));
        }
        let Preview::Table {
            columns,
            rows,
            more,
        } = preview("history.csv", csv.as_bytes())
        else {
            panic!("a table");
        };
        assert_eq!(columns, ["step", "loss"]);
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(rows[999], ["999", "0.001"]);
        assert!(more);

        let logged = br#"{"columns": ["x", "label"], "data": [[1.5, "cat"], [2, null]]}"#;
        assert_eq!(
            preview("table.json", logged),
            Preview::Table {
                columns: vec!["x".into(), "label".into()],
                rows: vec![
                    vec!["1.5".into(), "cat".into()],
                    vec!["2".into(), "null".into()]
                ],
                more: false
            }
        );
    }

    #[test]
    fn an_mlmodel_file_is_summed_up_with_its_requirements() {
        let mlmodel = r#"artifact_path: model
flavors:
  python_function:
    env:
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.17.2
model_id: m-123
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
"#;
        let requirements = b"mlflow==3.17.2\n# pinned\nscikit-learn==1.5.0\n";
        let size = mlmodel.len() as u64;
        let preview = of(
            mlmodel.as_bytes(),
            size,
            "MLmodel",
            "model",
            "j1",
            Some(requirements),
        );
        let Preview::Model(summary) = preview else {
            panic!("a model");
        };
        assert_eq!(summary.facts[0], ("Model id".into(), "m-123".into()));
        let flavors: Vec<&str> = summary.flavors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(flavors, ["python_function", "sklearn"]);
        assert!(summary.flavors[1]
            .1
            .contains(&("sklearn_version".into(), "1.5.0".into())));
        assert_eq!(summary.inputs, [("x".into(), "double".into())]);
        assert_eq!(summary.outputs, [("—".into(), "tensor int64 [-1]".into())]);
        assert_eq!(
            summary.requirements,
            ["mlflow==3.17.2", "scikit-learn==1.5.0"]
        );
    }

    #[test]
    fn markdown_cannot_run_script_or_leave_the_job() {
        let html = markdown(
            "# Report\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://a.example/) \
             ![loss](../plots/loss.png) [z](../../../etc/passwd) [w](/logout)",
            "reports",
            "j1",
        );
        assert!(html.contains("<h1>Report</h1>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r#"href="https://a.example/""#), "{html}");
        assert!(
            html.contains(r#"src="/api/v1/jobs/j1/artifacts/plots/loss.png""#),
            "{html}"
        );
        assert_eq!(html.matches(r##"href="#""##).count(), 3, "{html}");
    }
}
