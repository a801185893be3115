#!/usr/bin/env bash
# Installs what Gatehouse needs on a Debian 12 / Ubuntu machine; safe to re-run.
#   scripts/setup.sh          everything the tests need (the default)
#   scripts/setup.sh --app    only what building and running the desktop app needs
# Debian packages are installed with apt when run as root; otherwise the missing
# ones are named with the exact `sudo apt-get install ...` line. Then `npm ci`
# (skipped when node_modules matches package-lock.json) and, for the tests, the
# pinned npm tools in .tools/ and `cargo install tauri-driver --locked`.
# scripts/run-app.sh and scripts/test.sh call this set-up themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
source scripts/lib.sh

what="test"
case "${1:-}" in
  "" | --test) ;;
  --app) what=app ;;
  -h | --help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) gh_err "unknown option: $1 (try --help)"; exit 2 ;;
esac

gh_init_env
gh_setup "$what"
gh_log "set-up complete ($what)"
