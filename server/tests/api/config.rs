//! Leptos.toml (read by `millrace serve`) and Cargo.toml (read by cargo-leptos) must agree.

use std::path::Path;

fn workspace_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of `key = ...` in the first leptos metadata section of a TOML text.
fn leptos_value(text: &str, key: &str) -> Option<String> {
    let section = text.split_once("metadata.leptos]").map(|(_, rest)| rest)?;
    section
        .lines()
        .take_while(|line| !line.starts_with('[') || line.contains("metadata.leptos"))
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

#[test]
fn leptos_config_agrees_with_cargo_metadata() {
    let leptos = workspace_file("Leptos.toml");
    let cargo = workspace_file("Cargo.toml");
    let pairs = [
        ("output-name", "name"),
        ("site-root", "site-root"),
        ("site-pkg-dir", "site-pkg-dir"),
        ("site-addr", "site-addr"),
        ("reload-port", "reload-port"),
        ("hash-files", "hash-files"),
    ];
    for (runtime_key, build_key) in pairs {
        let runtime = leptos_value(&leptos, runtime_key);
        assert!(runtime.is_some(), "Leptos.toml lacks {runtime_key}");
        assert_eq!(
            runtime,
            leptos_value(&cargo, build_key),
            "{runtime_key} differs from Cargo.toml's {build_key}"
        );
    }
    let options = leptos::config::get_configuration(Some(&format!(
        "{}/../Leptos.toml",
        env!("CARGO_MANIFEST_DIR")
    )))
    .expect("Leptos.toml parses")
    .leptos_options;
    assert_eq!(&*options.output_name, "millrace");
    assert!(
        options.hash_files,
        "the server must look up the hashed file names"
    );
}
