#!/usr/bin/env bash
# Sets up, builds and launches the Gatehouse desktop app.
#   scripts/run-app.sh [--release] [--build-only] [-- APP-ARGS...]
# Installs the app's Debian packages with apt when run as root (otherwise names
# them with the exact `sudo apt-get install ...` line), runs `npm ci` when
# node_modules is not up to date with package-lock.json, builds the UI
# (npm run ui:build, embedded by the app) and then the app and the `gatehouse`
# CLI with cargo (debug; --release for an optimised build), and launches
# $CARGO_TARGET_DIR/<profile>/gatehouse-app. Safe to re-run: set-up steps that
# are already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
source scripts/lib.sh

profile=debug
cargo_profile=()
launch=1
app_args=()
while (($# > 0)); do
  case $1 in
    --release) profile=release cargo_profile=(--release) ;;
    --build-only) launch=0 ;;
    -h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --) shift; app_args=("$@"); break ;;
    *) gh_err "unknown option: $1 (try --help)"; exit 2 ;;
  esac
  shift
done

gh_init_env
gh_setup app
gh_init_target_dir

printf '%s\n' "${GH_BOLD}\$ npm run ui:build${GH_RESET}"
npm run ui:build
printf '%s\n' "${GH_BOLD}\$ cargo build ${cargo_profile[*]:+${cargo_profile[*]} }-p gatehouse-app -p gatehouse-cli${GH_RESET}"
cargo build "${cargo_profile[@]}" -p gatehouse-app -p gatehouse-cli

app=$CARGO_TARGET_DIR/$profile/gatehouse-app
cli=$CARGO_TARGET_DIR/$profile/gatehouse

if ((launch == 0)); then
  printf '\n%s\n' "${GH_GREEN}Built.${GH_RESET}"
  printf '  desktop app:   %s\n' "$app"
  printf '  gatehouse CLI: %s   (try: %s --help)\n' "$cli" "$cli"
  exit 0
fi

if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
  gh_err "no desktop session: neither DISPLAY nor WAYLAND_DISPLAY is set."
  cat >&2 <<EOF
Gatehouse is a desktop app: run this script from a terminal inside a graphical
desktop session (X11 or Wayland). For a headless trial, run it under a virtual
display instead (Debian package xvfb):

    xvfb-run -a $app

The app is built:  $app
The CLI is built:  $cli   (works without a display; try: $cli --help)
EOF
  exit 1
fi

printf '\n%s\n' "${GH_GREEN}Launching Gatehouse:${GH_RESET} $app ${app_args[*]}"
printf '%s\n' "Closing the window keeps Gatehouse in the system tray; quit it from the tray menu."
printf '%s\n\n' "The gatehouse CLI (same engine, for terminals and scripts): $cli"
rc=0
"$app" "${app_args[@]}" || rc=$?
printf '\n%s\n' "Gatehouse exited (status $rc). The gatehouse CLI is at: $cli"
exit "$rc"
