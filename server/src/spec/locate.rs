//! Where a field sits in a YAML text, for errors found after parsing (serde gives no spans).

/// The 1-based (line, column) of the value at `path` (`["resources", "gpus"]`, list items by
/// index) in block-style YAML, or of the nearest enclosing field that can be found.
pub fn field(text: &str, path: &[String]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    // The lines the current field's value spans, and that field's indentation.
    let (mut from, mut to, mut parent_indent) = (0, lines.len(), None::<usize>);
    for part in path {
        let hit = match part.parse::<usize>() {
            Ok(index) => list_item(&lines[from..to], parent_indent, index),
            Err(_) => mapping_key(&lines[from..to], parent_indent, part),
        };
        let Some((offset, indent, column)) = hit else {
            break;
        };
        let line = from + offset;
        found = Some((line + 1, column + 1));
        let end = lines[line + 1..to]
            .iter()
            .position(|l| !is_blank(l) && indentation(l) <= indent)
            .map_or(to, |p| line + 1 + p);
        (from, to, parent_indent) = (line, end, Some(indent));
    }
    found
}

/// The line of `key:` among `lines` at the first indentation deeper than `parent`:
/// (line offset, key indentation, value column).
fn mapping_key(lines: &[&str], parent: Option<usize>, key: &str) -> Option<(usize, usize, usize)> {
    lines.iter().enumerate().find_map(|(i, line)| {
        let indent = indentation(line);
        if is_blank(line) || parent.is_some_and(|p| indent <= p) {
            return None;
        }
        let body = line[indent..].strip_prefix("- ").unwrap_or(&line[indent..]);
        let inner = indent + (line.len() - indent - body.len());
        let rest = body.strip_prefix(key)?.trim_start();
        rest.starts_with(':').then(|| {
            let value = rest[1..].len() - rest[1..].trim_start().len();
            (i, inner, line.len() - rest.len() + 1 + value)
        })
    })
}

/// The `index`th `- ` item among `lines` deeper than `parent`, or the `index`th element of a
/// flow list `[a, b]` on the first line.
fn list_item(lines: &[&str], parent: Option<usize>, index: usize) -> Option<(usize, usize, usize)> {
    let first = lines.first()?;
    if let Some(open) = first.find('[') {
        let mut column = open + 1;
        for (i, item) in first[open + 1..].split(',').enumerate() {
            if i == index {
                let pad = item.len() - item.trim_start().len();
                return Some((0, indentation(first), column + pad));
            }
            column += item.len() + 1;
        }
    }
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            let indent = indentation(line);
            !is_blank(line) && parent.is_none_or(|p| indent > p) && line[indent..].starts_with('-')
        })
        .nth(index)
        .map(|(i, line)| (i, indentation(line), indentation(line) + 2))
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}
