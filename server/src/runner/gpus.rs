//! Which GPUs a runner hands out: the ids given with `--gpus`, or with `--gpus auto` (the
//! default) every GPU that `nvidia-smi` lists, with its model, memory and UUID.

use anyhow::{anyhow, bail, Context};
use app::model::Gpu;
use std::time::Duration;

/// A wedged driver can leave `nvidia-smi` hanging; a runner should say so rather than wait.
const PROBE_TIME: Duration = Duration::from_secs(30);

/// What to do if the probe fails, for every message that says it did.
const INSTEAD: &str = "give the GPU ids with --gpus 0,1 or run without GPUs with --gpus none";

/// The GPU ids to hand out and, when they were found rather than given, what they are.
pub async fn choose(given: Vec<String>) -> anyhow::Result<(Vec<String>, Vec<Gpu>)> {
    let given: Vec<String> = given.into_iter().filter(|g| !g.is_empty()).collect();
    match given.as_slice() {
        [word] if word == "auto" => {
            let found = discover().await?;
            Ok((found.iter().map(|g| g.id.clone()).collect(), found))
        }
        [word] if word == "none" => Ok((Vec::new(), Vec::new())),
        _ if given.iter().any(|g| g == "auto" || g == "none") => {
            bail!("--gpus takes `auto`, `none` or a list of GPU ids, not a mix of them")
        }
        _ => Ok((given, Vec::new())),
    }
}

/// Asks `nvidia-smi` for this machine's GPUs; none when it is not installed (a CPU machine).
async fn discover() -> anyhow::Result<Vec<Gpu>> {
    let probe = tokio::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=index,name,memory.total,uuid",
            "--format=csv,noheader,nounits",
        ])
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(PROBE_TIME, probe).await {
        Err(_) => bail!(
            "nvidia-smi did not answer within {} s; {INSTEAD}",
            PROBE_TIME.as_secs()
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Ok(result) => result.with_context(|| format!("cannot run nvidia-smi; {INSTEAD}"))?,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A driver without a card answers so, with a failing status: a machine with no GPU.
    if format!("{stdout}{stderr}").contains("No devices were found") {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        bail!(
            "nvidia-smi failed ({}): {}; {INSTEAD}",
            output.status,
            stderr.trim()
        );
    }
    parse(&stdout).map_err(|e| anyhow!("cannot read what nvidia-smi answered: {e}; {INSTEAD}"))
}

/// Reads `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`.
pub fn parse(csv: &str) -> Result<Vec<Gpu>, String> {
    let mut gpus: Vec<Gpu> = Vec::new();
    for (n, line) in csv.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        // Index first, memory and UUID last: a model name with a comma keeps the rest.
        let [index, .., memory, uuid] = fields[..] else {
            return Err(format!(
                "line {}: expected index, name, memory and UUID, got '{line}'",
                n + 1
            ));
        };
        let name = fields[1..fields.len() - 2].join(", ");
        if index.parse::<u32>().is_err() || name.is_empty() {
            return Err(format!(
                "line {}: expected an index and a name, got '{line}'",
                n + 1
            ));
        }
        if gpus.iter().any(|g| g.id == index) {
            return Err(format!("line {}: GPU {index} is listed twice", n + 1));
        }
        gpus.push(Gpu {
            id: index.to_owned(),
            name: cut_words(&cut(&name)),
            // `[N/A]` on some virtual GPUs: unknown, shown as such.
            memory_mib: memory.parse().unwrap_or(0),
            uuid: cut(uuid),
        });
    }
    Ok(gpus)
}

/// `text` cut to what the server accepts.
fn cut(text: &str) -> String {
    let mut end = text.len().min(Gpu::MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].chars().filter(|c| !c.is_control()).collect()
}

/// `name` without the words past the [`Gpu::MAX_NAME_WORDS`]th, which the server refuses.
fn cut_words(name: &str) -> String {
    let mut words = 0;
    let mut in_word = false;
    for (at, c) in name.char_indices() {
        let starts = c.is_alphanumeric() && !in_word;
        in_word = c.is_alphanumeric();
        if starts {
            words += 1;
            if words > Gpu::MAX_NAME_WORDS {
                return name[..at].trim_end().to_owned();
            }
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_A100S: &str =
        "0, NVIDIA A100-SXM4-80GB, 81920, GPU-5f1c6d2e-0000-1111-2222-333344445555
1, NVIDIA A100-SXM4-80GB, 81920, GPU-9a8b7c6d-0000-1111-2222-333344445555
";

    #[test]
    fn nvidia_smis_csv_gives_ids_models_memory_and_uuids() {
        let gpus = parse(TWO_A100S).unwrap();
        assert_eq!(gpus.len(), 2);
        assert_eq!(
            gpus[1],
            Gpu {
                id: "1".into(),
                name: "NVIDIA A100-SXM4-80GB".into(),
                memory_mib: 81_920,
                uuid: "GPU-9a8b7c6d-0000-1111-2222-333344445555".into(),
            }
        );
        assert_eq!(
            app::format::gpus(&gpus),
            "2 × NVIDIA A100-SXM4-80GB (80 GiB)"
        );
    }

    #[test]
    fn odd_lines_are_read_where_they_can_be_and_refused_where_they_cannot() {
        let odd = parse("3, Tesla T4, with a comma, [N/A], GPU-x\n\n").unwrap();
        assert_eq!(
            (odd[0].id.as_str(), odd[0].name.as_str(), odd[0].memory_mib),
            ("3", "Tesla T4, with a comma", 0)
        );
        assert_eq!(parse("").unwrap(), []);
        let short = parse("0, NVIDIA L4").unwrap_err();
        assert!(short.contains("line 1: expected index, name"), "{short}");
        let twice = parse("0, a, 1, u\n0, b, 1, v").unwrap_err();
        assert!(twice.contains("GPU 0 is listed twice"), "{twice}");
        let index = parse("first, a, 1, u").unwrap_err();
        assert!(index.contains("expected an index"), "{index}");
        let long = parse(&format!("0, {}, 1, u", "é".repeat(300))).unwrap();
        assert_eq!(long[0].name.chars().count(), Gpu::MAX_TEXT / 2);
        // A name the server would refuse for its words loses the words past the twelfth.
        let wordy = parse("0, A B C D E F G H I J K L M N, 1, u").unwrap();
        assert_eq!(wordy[0].name, "A B C D E F G H I J K L");
        let real = parse("0, NVIDIA GeForce RTX 4090, 1, u").unwrap();
        assert_eq!(real[0].name, "NVIDIA GeForce RTX 4090");
    }

    #[tokio::test]
    async fn auto_none_and_lists_choose_gpus_and_a_mix_is_refused() {
        let listed = choose(vec!["0".into(), "2".into()]).await.unwrap();
        assert_eq!(listed, (vec!["0".to_owned(), "2".to_owned()], Vec::new()));
        assert_eq!(
            choose(vec!["none".into()]).await.unwrap(),
            (Vec::new(), Vec::new())
        );
        assert_eq!(choose(vec![String::new()]).await.unwrap().0, [""; 0]);
        let mixed = choose(vec!["auto".into(), "1".into()]).await.unwrap_err();
        assert!(mixed.to_string().contains("not a mix"), "{mixed}");
    }
}
