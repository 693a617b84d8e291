# The millrace image: the release binary and its built site on a slim Debian.
# Written from Docker's documentation and scripts/setup.sh; not built on the machines that test
# millrace, which have no container runtime. See docs/deploy.md.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same tools, at the same versions, as scripts/setup.sh installs; binaryen's wasm-opt comes
# from end2end's npm packages (Debian's is too old).
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.11 --locked --ignore-rust-version --features no_downloads \
 && cargo install wasm-bindgen-cli --version "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)" \
 && (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
ENV PATH="/src/end2end/node_modules/.bin:${PATH}"
RUN cargo leptos build --release --precompress --split

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data millrace
# hash.txt names the content-hashed asset files; the binary reads it from beside itself.
COPY --from=build /src/target/release/millrace /src/target/release/hash.txt /usr/local/bin/
COPY --from=build /src/target/site /opt/millrace/site
USER millrace
WORKDIR /data
ENV MILLRACE_ADDR=0.0.0.0:3000 \
    MILLRACE_SITE_ROOT=/opt/millrace/site \
    MILLRACE_DATABASE_URL=sqlite:///data/millrace.db \
    MILLRACE_FILES=/data/files
EXPOSE 3000
VOLUME /data
ENTRYPOINT ["millrace"]
CMD ["serve"]
