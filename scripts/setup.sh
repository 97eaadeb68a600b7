# Sourced by scripts/demo and scripts/test: makes .venv with the project and its tools,
# and installs the Debian packages the tests need (mosquitto, chromium) when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need_apt=()
if [ "${FENCE_SETUP_APT:-1}" = "1" ]; then
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  # The NMEA scanner (gnss._scan) is a C extension built by the install.
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
  "${PYTHON:-python3}" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || need_apt+=(python3-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=".venv/.fence-installed"
# Reinstall when the build inputs changed (the C extension gnss._scan is compiled by it).
stale=0
[ -f "$stamp" ] || stale=1
for input in pyproject.toml setup.py gnss/_scan.c fence/runtime/_tracks.c; do
  [ "$input" -nt "$stamp" ] && stale=1
done
compgen -G "gnss/_scan*.so" >/dev/null || stale=1
compgen -G "fence/runtime/_tracks*.so" >/dev/null || stale=1
if [ "$stale" = "1" ]; then
  echo "setup: installing the project and its dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".[dev]" >&2
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
