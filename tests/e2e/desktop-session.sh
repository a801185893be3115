#!/usr/bin/env bash
# Runs a command inside a desktop session fit for the real Gatehouse window:
# an X display (Xvfb, unless DISPLAY is already set), a D-Bus session bus and
# an unlocked gnome-keyring (the vault keeps its key in the Secret Service).
# HOME and the XDG directories point into a fresh temporary directory, so
# nothing touches the person's own home, keyring or config.
#
#   tests/e2e/desktop-session.sh npm run test:e2e
#
# Everything started here is stopped when the command ends.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [[ -z "${GATEHOUSE_DESKTOP_SESSION_INNER:-}" ]]; then
  session_home=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-session.XXXXXX")
  xvfb_pid=""
  cleanup() {
    if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
    rm -rf "$session_home"
  }
  trap cleanup EXIT

  # Keep the Rust and Node tool chains of the real home reachable.
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
  export HOME="$session_home"
  mkdir -p "$HOME/run" "$HOME/.config" "$HOME/.local/share" "$HOME/.cache"
  chmod 700 "$HOME/run"
  export XDG_RUNTIME_DIR="$HOME/run" XDG_CONFIG_HOME="$HOME/.config" \
    XDG_DATA_HOME="$HOME/.local/share" XDG_CACHE_HOME="$HOME/.cache"

  if [[ -z "${DISPLAY:-}" ]]; then
    command -v Xvfb >/dev/null || { echo "Xvfb is not installed" >&2; exit 1; }
    # -displayfd: Xvfb picks a free display number and writes it to fd 3.
    : >"$HOME/xvfb.display"
    Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$HOME/xvfb.display" >"$HOME/xvfb.log" 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 100); do
      [[ -s "$HOME/xvfb.display" ]] && break
      kill -0 "$xvfb_pid" 2>/dev/null || break
      sleep 0.1
    done
    display=$(tr -d '[:space:]' <"$HOME/xvfb.display")
    [[ -n "$display" ]] || { echo "Xvfb did not start:" >&2; cat "$HOME/xvfb.log" >&2; exit 1; }
    export DISPLAY=":$display"
    unset WAYLAND_DISPLAY
  fi
  # GTK on the X display, no accessibility bus. (WebKit's DMA-BUF renderer is left as it is: it
  # falls back by itself under Xvfb, and with WEBKIT_DISABLE_DMABUF_RENDERER=1 WebKitWebDriver's
  # screenshots never finish.)
  export GDK_BACKEND=x11 NO_AT_BRIDGE=1

  GATEHOUSE_DESKTOP_SESSION_INNER=1 dbus-run-session -- "$0" "$@"
  exit $?
fi

# Inside the D-Bus session: start and unlock the keyring, then run the command.
unset GATEHOUSE_DESKTOP_SESSION_INNER
eval "$(printf 'gatehouse' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
status=0
"$@" || status=$?
# dbus-run-session stops the bus (and the keyring with it) when we return.
exit "$status"
