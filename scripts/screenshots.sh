#!/usr/bin/env bash
# Saves screenshots of the real Gatehouse window into docs/screenshots/ (or the directory given):
# builds the UI and the app if needed, runs the fixture MCP servers on loopback, and drives the
# window through tauri-driver. Without a display it starts its own (Xvfb, D-Bus, keyring).
#
#   npm run screenshots            # docs/screenshots/
#   scripts/screenshots.sh /tmp/shots
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${DISPLAY:-}" || -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
  exec tests/e2e/desktop-session.sh "$0" "$@"
fi

for tool in tauri-driver WebKitWebDriver; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is not on PATH" >&2; exit 1; }
done

if [[ "${GATEHOUSE_SKIP_BUILD:-}" != 1 ]]; then
  npm run --silent ui:build
  cargo build -p gatehouse-app -p gatehouse-fixture
fi

node tests/e2e/screenshots.mjs "${1:-docs/screenshots}"
