#!/usr/bin/env bash
# Installs what building and testing millrace needs, skipping what is already there.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again at any time.
# Everything comes from the package registries (crates.io, npm, Debian): nothing is downloaded
# from anywhere else.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_LEPTOS_VERSION=0.3.11
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock")

# One build cache outside the clone, shared by every checkout and by CI.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/millrace-target}"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  # Its lockfile pins a crate that declares rustc 1.96; it builds fine on older stable, so
  # --ignore-rust-version. Thin LTO off and more codegen units: 10 min instead of 15, 1 GB less.
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes, once per machine)"
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version \
    --features no_downloads --target-dir "$HOME/.cache/millrace-tools"
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # Without --locked: its shipped lockfile names a crate version the registry no longer has.
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force --target-dir "$HOME/.cache/millrace-tools"
fi

# The S3-compatible server the file-store tests run against (scripts/s3.sh starts it): s3s-fs
# keeps objects as plain files and speaks the S3 calls millrace uses (multipart uploads,
# ranges, listings by delimiter); it builds from crates.io, where MinIO is not to be had.
# 0.14 is its last release that builds with this stable Rust.
S3S_FS_VERSION=0.14.0
if [ "$(s3s-fs --version 2>/dev/null || true)" != "s3s-fs $S3S_FS_VERSION" ]; then
  step "installing s3s-fs $S3S_FS_VERSION (the S3 test server)"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked \
    --target-dir "$HOME/.cache/millrace-tools"
fi

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Playwright (driving the system chromium, no browser download) and binaryen's wasm-opt,
# pinned in end2end/package-lock.json. Debian's binaryen is too old: its output does not hydrate.
STAMP="$ROOT/end2end/node_modules/.installed-from-lock"
if ! cmp -s "$ROOT/end2end/package-lock.json" "$STAMP" 2>/dev/null; then
  step "installing the npm packages of end2end/"
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$ROOT/end2end/package-lock.json" "$STAMP"
fi

# The official MLflow client (pinned) for the tests of the MLflow-compatible API.
VENV="$HOME/.cache/millrace-venv"
if ! cmp -s "$ROOT/tests/mlflow/requirements.txt" "$VENV/.installed-from" 2>/dev/null; then
  step "installing the MLflow client into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/mlflow/requirements.txt"
  cp "$ROOT/tests/mlflow/requirements.txt" "$VENV/.installed-from"
fi
