#!/usr/bin/env bash
# Sets up and runs every Gatehouse test, stage by stage, stopping at the first
# stage that fails:
#   setup        Debian packages (apt when root), npm ci, .tools/ (MCP conformance
#                suite on Node 22, TypeScript SDK example server), tauri-driver, cargo-fuzz
#   ui           npm run ui:check, ui:test, ui:build
#   build        cargo build --workspace --all-targets
#   lint         cargo fmt --check, cargo clippy --workspace --all-targets -D warnings
#   rust         cargo test --workspace, then the #[ignore]d TypeScript-peer tests
#   fuzz         cargo fuzz: each target in fuzz/ for FUZZ_SECONDS (20) from fuzz/corpus/
#   conformance  the MCP conformance suites auth, backcompat, draft (0.1.16) and the
#                --requirements 2025-11-25 and 2026-07-28 runs (0.2.0-alpha.12) against the CLI
#   e2e          npm run test:e2e: the desktop app through tauri-driver + WebKitWebDriver
#   package      scripts/package.sh (release build, .deb and .rpm in dist/), then
#                tests/package: the .deb installed with apt, launched, removed
#
# Usage: scripts/test.sh [--only STAGE[,STAGE...]]...
#   --only runs just the named stages (setup always runs first: it is quick when
#   everything is installed). The default runs every stage.
# rust, conformance, e2e and package run under their own Xvfb display, a private D-Bus
# session and an unlocked gnome-keyring. During the tests HOME and the XDG
# folders point at a temporary folder, removed on exit. CARGO_TARGET_DIR is
# honoured. Logs of the conformance suites go to .tmp/test-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
source scripts/lib.sh

STAGES=(setup ui build lint rust fuzz conformance e2e package)
declare -A STAGE_DESC=(
  [setup]="Debian packages, npm ci, conformance/TS SDK tools, tauri-driver, cargo-fuzz"
  [ui]="npm run ui:check, ui:test, ui:build"
  [build]="cargo build --workspace --all-targets"
  [lint]="cargo fmt --all --check; cargo clippy --workspace --all-targets -- -D warnings"
  [rust]="cargo test --workspace, then -- --ignored (TypeScript and Python SDK peers) under Xvfb + D-Bus + keyring"
  [fuzz]="cargo fuzz run, ${FUZZ_SECONDS:-20}s for each of config, callback_request, www_authenticate, template"
  [conformance]="MCP conformance suites auth, backcompat, draft (0.1.16); --requirements 2025-11-25 and 2026-07-28 and the extensions client credentials, workload identity, enterprise-managed authorization and DPoP (0.2.0-alpha.12)"
  [e2e]="npm run test:e2e (tauri-driver + WebKitWebDriver) under Xvfb + D-Bus + keyring"
  [package]="scripts/package.sh (release), then the .deb installed, launched and removed under Xvfb + D-Bus"
)
SUITES=(auth backcompat draft)
REQUIREMENTS=(2025-11-25 2026-07-28)
# The extension scenarios Gatehouse implements, each run on its own (the
# suite does not score extensions in a --requirements run): zero failures
# and zero warnings.
EXTENSIONS=(auth/client-credentials-basic auth/client-credentials-jwt auth/wif-jwt-bearer auth/enterprise-managed-authorization auth/dpop auth/dpop-nonce)
# A test run builds each crate once: incremental compilation caches (about
# 3 GB of target/debug/incremental) would only cost disk and time. A
# developer's own CARGO_INCREMENTAL is kept.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# The release build and its packages need about this much free disk.
PACKAGE_FREE_GB=6
FUZZ_TARGETS=(config callback_request www_authenticate template)
KEYRING_PASSWORD=gatehouse-test
LOG_DIR=$PWD/.tmp/test-logs

TEST_TMP=""
XVFB_PID=""
REASON_FILE=${GH_TEST_REASON_FILE:-}
STAGE_RC=0

usage() { sed -n '2,22s/^# \{0,1\}//p' "$0"; }

# Records what a stage is doing, so a failure can be summarised in one line.
reason() { printf '%s\n' "$*" >"$REASON_FILE"; }
# Runs one command of a stage, announcing it.
step() {
  reason "\`$*\` failed"
  printf '\n%s\n' "${GH_BOLD}\$ $*${GH_RESET}"
  "$@"
}

# ---------------------------------------------------------------------------
# The test environment: private home, virtual display, D-Bus, keyring.

cleanup() {
  if [[ -n $XVFB_PID ]]; then
    kill "$XVFB_PID" 2>/dev/null || true
    wait "$XVFB_PID" 2>/dev/null || true
    XVFB_PID=""
  fi
  if [[ -n $TEST_TMP ]]; then
    rm -rf "$TEST_TMP"
    TEST_TMP=""
  fi
}

# HOME and the XDG folders under a temporary folder, so no test touches the real
# home, config or keyring. CARGO_HOME, RUSTUP_HOME and npm's cache were pinned
# to the real home by gh_init_env beforehand.
isolate_home() {
  [[ -z $TEST_TMP ]] || return 0
  TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-test.XXXXXX") || return 1
  mkdir -p "$TEST_TMP"/{home,config,data,cache,state} || return 1
  mkdir -m 0700 "$TEST_TMP/runtime" || return 1
  export HOME=$TEST_TMP/home XDG_CONFIG_HOME=$TEST_TMP/config XDG_DATA_HOME=$TEST_TMP/data \
    XDG_CACHE_HOME=$TEST_TMP/cache XDG_STATE_HOME=$TEST_TMP/state XDG_RUNTIME_DIR=$TEST_TMP/runtime
  gh_log "tests run with HOME and XDG_* folders under $TEST_TMP"
}

# Xvfb on the first free display (-displayfd), stopped on exit.
start_display() {
  [[ -z $XVFB_PID ]] || return 0
  local fdfile=$TEST_TMP/xvfb.display i
  : >"$fdfile"
  Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$fdfile" >"$LOG_DIR/xvfb.log" 2>&1 &
  XVFB_PID=$!
  for ((i = 0; i < 100; i++)); do
    [[ ! -s $fdfile ]] || break
    if ! kill -0 "$XVFB_PID" 2>/dev/null; then
      XVFB_PID=""
      gh_err "Xvfb exited at start:"
      cat "$LOG_DIR/xvfb.log" >&2
      return 1
    fi
    sleep 0.1
  done
  [[ -s $fdfile ]] || { gh_err "Xvfb did not report a display within 10s"; return 1; }
  DISPLAY=":$(tr -d '[:space:]' <"$fdfile")"
  export DISPLAY
  unset WAYLAND_DISPLAY
  # GTK on the X display; no accessibility bus; WebKit without DMA-BUF, which
  # a virtual framebuffer lacks.
  export GDK_BACKEND=x11 NO_AT_BRIDGE=1
  export WEBKIT_DISABLE_DMABUF_RENDERER="${WEBKIT_DISABLE_DMABUF_RENDERER:-1}"
  gh_log "Xvfb running on display $DISPLAY (pid $XVFB_PID)"
}

# Inside dbus-run-session: an unlocked gnome-keyring providing the Secret Service.
start_keyring() {
  local out line i
  out=$(printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets) || {
    gh_err "gnome-keyring-daemon --unlock failed"
    return 1
  }
  while IFS= read -r line; do
    if [[ $line =~ ^[A-Z_]+= ]]; then export "${line?}"; fi
  done <<<"$out"
  for ((i = 0; i < 100; i++)); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
      gh_log "private D-Bus session with an unlocked gnome-keyring (Secret Service)"
      return 0
    fi
    sleep 0.1
  done
  gh_err "gnome-keyring's Secret Service did not appear on the private D-Bus session"
  return 1
}

# Runs session_NAME in a private D-Bus session (this script, re-entered).
in_session() {
  reason "could not start a private D-Bus session (dbus-run-session)"
  dbus-run-session -- "$PWD/scripts/test.sh" __session "$@"
}

# ---------------------------------------------------------------------------
# Stages. Each runs in a subshell with `set -e`.

stage_setup() {
  reason "set-up failed"
  gh_setup test
}

stage_ui() {
  step npm run ui:check
  step npm run ui:test
  step npm run ui:build
}

stage_build() {
  # A plain `cargo build` leaves a placeholder page there (src-tauri/build.rs).
  if [[ ! -f ui/dist/index.html ]] || grep -q gatehouse-placeholder ui/dist/index.html; then
    gh_log "ui/dist is missing and the app embeds it: building the UI first"
    step npm run ui:build
  fi
  step cargo build --workspace --all-targets
}

stage_lint() {
  step cargo fmt --all --check
  step cargo clippy --workspace --all-targets -- -D warnings
}

# GATEHOUSE_PYTHON_MCP: the Python with PyPI `mcp` 2.x that the setup stage
# installed, for the Rust peer tests and the e2e tests.
export_python_mcp() {
  GATEHOUSE_PYTHON_MCP=$(gh_py_mcp_python)
  export GATEHOUSE_PYTHON_MCP
  if [[ ! -x $GATEHOUSE_PYTHON_MCP ]]; then
    reason "Python SDK missing: $GATEHOUSE_PYTHON_MCP"
    gh_err "$GATEHOUSE_PYTHON_MCP is missing (the setup stage installs it)"
    return 1
  fi
}

stage_rust() { in_session rust; }
session_rust() {
  GATEHOUSE_TS_SDK_SERVER=$(gh_ts_sdk_server)
  export GATEHOUSE_TS_SDK_SERVER
  if [[ ! -f $GATEHOUSE_TS_SDK_SERVER ]]; then
    reason "TypeScript SDK example server missing: $GATEHOUSE_TS_SDK_SERVER"
    gh_err "$GATEHOUSE_TS_SDK_SERVER is missing (the setup stage installs it)"
    return 1
  fi
  export_python_mcp || return 1
  step cargo test --workspace
  gh_log "GATEHOUSE_TS_SDK_SERVER=$GATEHOUSE_TS_SDK_SERVER"
  gh_log "GATEHOUSE_PYTHON_MCP=$GATEHOUSE_PYTHON_MCP"
  # The #[ignore]d tests: the TypeScript- and Python-peer end-to-end tests
  # (the SDK example server; `gatehouse proxy` under both SDKs' clients). --tests leaves
  # out doc-tests, whose `ignore` blocks are not meant to compile.
  step cargo test --workspace --tests -- --ignored
}

# Each fuzz target runs from its committed seeds (fuzz/corpus/TARGET) for
# FUZZ_SECONDS; what it learns goes to .tmp/fuzz-corpus/TARGET, kept between
# runs on one machine. A crash fails the stage; libFuzzer saves the input
# under fuzz/artifacts/TARGET/. The fuzz crate has its own target dir
# (fuzz/target): its builds are instrumented and would only evict the
# workspace's. Logs go to .tmp/test-logs/fuzz-TARGET.log.
stage_fuzz() {
  local t corpus log rc runs seconds=${FUZZ_SECONDS:-20} failed=()
  # cargo-fuzz passes nightly flags (-Z, -C passes=sancov...); RUSTC_BOOTSTRAP
  # lets the stable toolchain accept them. No sanitizer: the code under test
  # is safe Rust, and ASan would double the build and slow every run.
  export RUSTC_BOOTSTRAP=1
  local opts=(--sanitizer none --target-dir "$PWD/fuzz/target")
  step cargo fuzz build "${opts[@]}"
  for t in "${FUZZ_TARGETS[@]}"; do
    corpus=$PWD/.tmp/fuzz-corpus/$t
    log=$LOG_DIR/fuzz-$t.log
    mkdir -p "$corpus"
    printf '%s\n' "${GH_BOLD}\$ cargo fuzz run $t -- -max_total_time=$seconds${GH_RESET}  (log: ${log#"$PWD"/})"
    if cargo fuzz run "${opts[@]}" "$t" "$corpus" "$PWD/fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$log" 2>&1 </dev/null; then
      rc=0
    else
      rc=$?
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    printf '    %-17s %s inputs  (exit %d)\n' "$t" "${runs:-?}" "$rc"
    if ((rc != 0)); then
      failed+=("$t")
      gh_err "fuzz target '$t' failed (exit $rc); the end of its output:"
      # Without libFuzzer's progress lines and the stack frames: the panic,
      # the failing input and how to reproduce it remain.
      grep -v -E '^#[0-9]|^[[:space:]]+([0-9]+: |at )' "$log" | tail -n 60 | sed 's/^/      | /'
      printf '      (full output: %s)\n' "$log"
    fi
  done
  if ((${#failed[@]} > 0)); then
    reason "fuzz target(s) failed: ${failed[*]} (inputs in fuzz/artifacts/, logs in ${LOG_DIR#"$PWD"/})"
    return 1
  fi
}

stage_conformance() { in_session conformance; }
session_conformance() {
  local bin=$CARGO_TARGET_DIR/debug/gatehouse-conformance s r failed=()
  if [[ ! -x $bin ]]; then
    reason "$bin is not built"
    gh_err "$bin is not built: run the build stage first (scripts/test.sh --only build,conformance)"
    return 1
  fi
  for s in "${SUITES[@]}"; do
    { conformance_run "$s" "$GH_CONFORMANCE_DIR" --suite "$s" && spotless "$s"; } || failed+=("$s")
  done
  # 0.2.0-alpha.12: every scenario of the revision's requirements must pass
  # with no failed check and no warning, those the suite runs without
  # scoring them included.
  for r in "${REQUIREMENTS[@]}"; do
    if conformance_run "$r" "$GH_CONFORMANCE_NEXT_DIR" --requirements "$r" && spotless "$r"; then
      continue
    fi
    # sse-retry times the client's reconnection while the suite runs its
    # 25+ scenarios at once; on two busy cores the client's first GET
    # stream can open after the tool's stream closed and be timed as the
    # reconnection, or late. When sse-retry is the run's only scenario with
    # a failure or a warning, it runs again, once, on its own, where its
    # timing measures the client rather than the load (running the whole
    # suite again loads the cores the same way); it must pass spotless. Any
    # other failure or warning fails the stage.
    if [[ $(unclean "$LOG_DIR/conformance-$r.log") == sse-retry ]]; then
      mv "$LOG_DIR/conformance-$r.log" "$LOG_DIR/conformance-$r.first.log"
      gh_warn "conformance run '$r': only sse-retry failed or warned (timing under load); running it again on its own (first log: conformance-$r.first.log)"
      { conformance_run "$r-sse-retry" "$GH_CONFORMANCE_NEXT_DIR" --scenario sse-retry &&
        spotless "$r-sse-retry"; } || failed+=("$r")
    else
      failed+=("$r")
    fi
  done
  for e in "${EXTENSIONS[@]}"; do
    { conformance_run "${e#auth/}" "$GH_CONFORMANCE_NEXT_DIR" --scenario "$e" &&
      spotless "${e#auth/}"; } || failed+=("$e")
  done
  if ((${#failed[@]} > 0)); then
    reason "conformance run(s) failed: ${failed[*]} (logs in ${LOG_DIR#"$PWD"/})"
    return 1
  fi
}

# spotless NAME: whether conformance run NAME passed with no failed check
# and no warning (its Total or Passed line says so); says why not.
spotless() {
  local log=$LOG_DIR/conformance-$1.log
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -qE '^[[:space:]]*(Total|Passed): .*, 0 failed, 0 warnings' && return 0
  gh_err "conformance run '$1' passed with failed checks or warnings (log: ${log#"$PWD"/})"
  return 1
}

# unclean LOG: the scenarios of a --requirements run with a failed check or
# a warning, space-separated.
unclean() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" |
    grep -E '^[✓✗] [^:]+: .*([1-9][0-9]* failed|[1-9][0-9]* warning)' |
    sed -E 's/^[✓✗] ([^:]+):.*/\1/' | sort -u | paste -sd' '
}

# conformance_run NAME DIR ARGS...: the suite installed in DIR against the
# conformance client, its Total line printed, the end of its log on failure.
conformance_run() {
  local name=$1 dir=$2 log rc total t0 version node22
  shift 2
  node22=$(gh_conformance_node)
  log=$LOG_DIR/conformance-$name.log
  version=$(node -p "require('./$dir/node_modules/@modelcontextprotocol/conformance/package.json').version" 2>/dev/null || echo "?")
  printf '%s
' "${GH_BOLD}\$ npx --no-install conformance client --command $bin $*${GH_RESET}  (suite $version, Node 22, log: ${log#"$PWD"/})"
  t0=$SECONDS
  if (cd "$dir" && PATH="$node22:$PATH" NO_COLOR=1 FORCE_COLOR=0 \
    npx --no-install conformance client --command "$bin" "$@") >"$log" 2>&1 </dev/null; then
    rc=0
  else
    rc=$?
  fi
  total=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^[[:space:]]*(Total|Passed):' | tail -n 1 | sed 's/^[[:space:]]*//') || true
  printf '    %-11s %s  (exit %d, %s)\n' "$name" "${total:-no Total: line in the output}" "$rc" "$(gh_fmt_duration $((SECONDS - t0)))"
  # The failures of scenarios the suite does not score (extensions, checks
  # added after the revision's release) are in the Total; say which.
  sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n '/^Not scored/,/^$/p' | sed 's/^/                /'
  if ((rc != 0)); then
    gh_err "conformance run '$name' failed (exit $rc); the end of its output:"
    tail -n 80 "$log" | sed 's/^/      | /'
    printf '      (full output: %s)\n' "$log"
    return 1
  fi
}

stage_e2e() { in_session e2e; }
session_e2e() {
  local app=$CARGO_TARGET_DIR/debug/gatehouse-app
  if ! node -e 'const p=JSON.parse(require("fs").readFileSync("package.json","utf8")); process.exit(p.scripts && p.scripts["test:e2e"] ? 0 : 1)'; then
    reason "package.json has no \"test:e2e\" script: the WebDriver end-to-end tests cannot run"
    gh_err "package.json has no \"test:e2e\" npm script, so the WebDriver end-to-end tests cannot run"
    return 1
  fi
  local tool
  for tool in tauri-driver WebKitWebDriver; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      reason "$tool is not on PATH"
      gh_err "$tool is not on PATH (the setup stage installs it)"
      return 1
    fi
  done
  if [[ ! -x $app ]]; then
    reason "$app is not built"
    gh_err "$app is not built: run the build stage first (scripts/test.sh --only build,e2e)"
    return 1
  fi
  # The Python SDK's server, listed and called in the window (python-server.test.mjs).
  export_python_mcp || return 1
  step npm run test:e2e
}

# Free gigabytes on the file system holding $1.
free_gb() { df -P -k "$1" | awk 'NR == 2 { print int($4 / 1048576) }'; }

# The release build comes last, after the debug and fuzz builds have filled
# the disk. When fewer than PACKAGE_FREE_GB remain, the fuzz build (a cache:
# the fuzz stage rebuilds it) is removed first, and a disk still too full is
# reported before a long build fails on it.
free_disk_for_release() {
  local free
  free=$(free_gb "$CARGO_TARGET_DIR")
  if ((free < PACKAGE_FREE_GB)) && [[ -d fuzz/target ]]; then
    gh_log "only ${free} GB free for the release build: removing the fuzz build cache fuzz/target"
    rm -rf fuzz/target
    free=$(free_gb "$CARGO_TARGET_DIR")
  fi
  if ((free < PACKAGE_FREE_GB)); then
    reason "only ${free} GB free on the disk of $CARGO_TARGET_DIR; the release build needs about ${PACKAGE_FREE_GB} GB"
    gh_err "not enough disk for the release build: ${free} GB free, about ${PACKAGE_FREE_GB} GB needed"
    return 1
  fi
}

stage_package() { in_session package; }
session_package() {
  free_disk_for_release || return 1
  step scripts/package.sh
  if [[ ! -x $CARGO_TARGET_DIR/debug/gatehouse-tray-host ]]; then
    reason "$CARGO_TARGET_DIR/debug/gatehouse-tray-host is not built"
    gh_err "the install test needs the debug gatehouse-tray-host: run the build stage first"
    return 1
  fi
  step node --test --test-reporter=spec tests/package/
}

# ---------------------------------------------------------------------------

declare -A RESULT=() DURATION=() REASON=()

# Environment the stage after setup needs, prepared in this shell so that the
# cleanup trap sees it. Returns non-zero (with a message) on failure.
prepare_stage() {
  case $1 in
    setup) return 0 ;;
  esac
  if [[ -z ${GH_TARGET_READY:-} ]]; then
    gh_init_target_dir || return 1
    GH_TARGET_READY=1
    gh_log "cargo target directory: $CARGO_TARGET_DIR"
  fi
  isolate_home || return 1
  case $1 in
    rust | conformance | e2e | package) start_display || return 1 ;;
  esac
}

run_stage() {
  local name=$1 num=$2 of=$3 t0 rc
  printf '\n%s\n' "${GH_BOLD}========================================================================"
  printf '%s\n' "[$num/$of] $name: ${STAGE_DESC[$name]}"
  printf '%s\n' "========================================================================${GH_RESET}"
  t0=$SECONDS
  : >"$REASON_FILE"
  if ! prepare_stage "$name"; then
    rc=1
    reason "could not prepare the test environment"
  else
    set +e
    (
      set -e
      "stage_$name"
    )
    rc=$?
    set -e
  fi
  DURATION[$name]=$((SECONDS - t0))
  if ((rc == 0)); then
    RESULT[$name]=passed
    printf '%s\n' "${GH_GREEN}--- $name passed in $(gh_fmt_duration "${DURATION[$name]}")${GH_RESET}"
  else
    RESULT[$name]=FAILED
    REASON[$name]=$(head -n 1 "$REASON_FILE" 2>/dev/null || true)
    REASON[$name]="${REASON[$name]:-failed} (exit $rc)"
    printf '%s\n' "${GH_RED}--- $name FAILED after $(gh_fmt_duration "${DURATION[$name]}"): ${REASON[$name]}${GH_RESET}"
  fi
  STAGE_RC=$rc
}

summary() {
  local s npass=0 nfail=0 nskip=0 total=0 failed_stage=""
  printf '\n%s\n' "${GH_BOLD}==================================== Summary ====================================${GH_RESET}"
  printf '  %-12s %-8s %8s\n' stage result time
  for s in "$@"; do
    case ${RESULT[$s]:-} in
      passed) npass=$((npass + 1)) ;;
      FAILED) nfail=$((nfail + 1)) failed_stage=$s ;;
      *) nskip=$((nskip + 1)) ;;
    esac
    if [[ -n ${RESULT[$s]:-} ]]; then
      total=$((total + DURATION[$s]))
      printf '  %-12s %-8s %8s\n' "$s" "${RESULT[$s]}" "$(gh_fmt_duration "${DURATION[$s]}")"
    else
      printf '  %-12s %-8s %8s\n' "$s" "not run" "-"
    fi
  done
  printf '  %-12s %-8s %8s\n' total "" "$(gh_fmt_duration "$total")"
  if [[ -n $failed_stage ]]; then
    printf '%s\n' "${GH_RED}FAILED at stage '$failed_stage': ${REASON[$failed_stage]}${GH_RESET}"
  else
    printf '%s\n' "${GH_GREEN}All $npass stages passed.${GH_RESET}"
  fi
  if ((nskip > 0)); then
    printf '%d passed, %d failed, %d skipped\n' "$npass" "$nfail" "$nskip"
  else
    printf '%d passed, %d failed\n' "$npass" "$nfail"
  fi
}

main() {
  local only=() names=() arg s selected=()
  while (($# > 0)); do
    arg=$1
    case $arg in
      --only=*) IFS=', ' read -r -a names <<<"${arg#--only=}"; only+=("${names[@]}") ;;
      --only)
        [[ $# -ge 2 ]] || { gh_err "--only needs a stage name: ${STAGES[*]}"; exit 2; }
        IFS=', ' read -r -a names <<<"$2"
        only+=("${names[@]}")
        shift
        ;;
      -h | --help) usage; exit 0 ;;
      *) gh_err "unknown argument: $arg (try --help)"; exit 2 ;;
    esac
    shift
  done
  for s in "${only[@]}"; do
    [[ " ${STAGES[*]} " == *" $s "* ]] || { gh_err "unknown stage '$s'; stages: ${STAGES[*]}"; exit 2; }
  done
  for s in "${STAGES[@]}"; do
    if ((${#only[@]} == 0)) || [[ $s == setup || " ${only[*]} " == *" $s "* ]]; then selected+=("$s"); fi
  done

  gh_init_env
  mkdir -p "$LOG_DIR"
  rm -f "$LOG_DIR"/*.log
  REASON_FILE=$(mktemp "${TMPDIR:-/tmp}/gatehouse-test-reason.XXXXXX")
  export GH_TEST_REASON_FILE=$REASON_FILE
  trap 'cleanup; rm -f "$REASON_FILE"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local i=0 rc=0
  for s in "${selected[@]}"; do
    i=$((i + 1))
    # Not in a condition: that would switch `set -e` off inside the stage.
    run_stage "$s" "$i" "${#selected[@]}"
    if ((STAGE_RC != 0)); then
      rc=1
      break
    fi
  done
  # Stop Xvfb and remove the temporary home before the summary, so that its
  # lines come last.
  cleanup
  summary "${selected[@]}"
  return "$rc"
}

if [[ ${1:-} == __session ]]; then
  # Re-entered by in_session inside dbus-run-session: the environment
  # (HOME, DISPLAY, CARGO_TARGET_DIR, REASON_FILE, ...) is inherited.
  start_keyring || { reason "could not start an unlocked gnome-keyring"; exit 1; }
  "session_$2"
  exit 0
fi

main "$@"
