#!/usr/bin/env bash
# Builds the release desktop app and the `gatehouse` CLI, and writes the Linux
# packages into dist/: a .deb and, as the Tauri bundler makes it without
# downloading anything, an .rpm. Each holds /usr/bin/gatehouse-app (the app),
# /usr/bin/gatehouse (the CLI), a .desktop entry, the app icon at every
# hicolor size, and the package's dependencies.
#   scripts/package.sh
# Sets up like run-app.sh (Debian packages, npm ci), builds the UI, then runs
# the Tauri bundler (npm's @tauri-apps/cli). CARGO_TARGET_DIR is honoured.
# AppImage is not built: its bundler downloads its tools at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
source scripts/lib.sh

case ${1:-} in
  -h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
  "") ;;
  *) gh_err "unknown argument: $1 (try --help)"; exit 2 ;;
esac

gh_init_env
gh_setup app
gh_init_target_dir

printf '%s\n' "${GH_BOLD}\$ npm run ui:build${GH_RESET}"
npm run ui:build
cli=$CARGO_TARGET_DIR/release/gatehouse

# The CLI goes into the packages beside the app; its path depends on the
# target directory, so it is handed to the bundler here rather than in
# tauri.conf.json. It is built in the bundler's own cargo run (the arguments
# after --): one run compiles the dependencies once, with the same features
# (a separate `cargo build -p gatehouse-cli` unifies features differently and
# compiles many of them a second time).
extra=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/gatehouse":"%s"}},"rpm":{"files":{"/usr/bin/gatehouse":"%s"}}}}}' "$cli" "$cli")
printf '%s\n' "${GH_BOLD}\$ npx tauri build --bundles deb,rpm -- -p gatehouse-app -p gatehouse-cli${GH_RESET}"
npx --no-install tauri build --ci --bundles deb,rpm --config "$extra" -- -p gatehouse-app -p gatehouse-cli

bundle=$CARGO_TARGET_DIR/release/bundle
rm -rf dist
mkdir -p dist
cp "$bundle"/deb/*.deb "$bundle"/rpm/*.rpm dist/
gh_log "packages in dist/:"
ls -l dist/
