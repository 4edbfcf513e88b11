#!/bin/sh
# Node.js and npm for `make typecheck` (tsc over the console's JSDoc types; running the
# console needs neither). Like `make dev` does for Postgres and Redis
# (runtime/alerting/dev/infra.py): installed from Debian's packages when missing and we
# are root with apt-get, otherwise the exact command is printed and make stops.
set -eu
PACKAGES="nodejs npm"
have() { command -v "$1" >/dev/null 2>&1; }
if have node && have npm; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo ">> installing Node.js and npm from Debian's packages: $PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # the package list is meant to split
  apt-get install -y -q $PACKAGES
  if have node && have npm; then
    exit 0
  fi
  echo "apt-get installed $PACKAGES but node or npm is still not on PATH" >&2
  exit 1
fi
echo "Node.js and npm are missing: type checking the console's JavaScript needs them." >&2
echo "Install them with:" >&2
echo "  sudo apt-get install -y $PACKAGES" >&2
exit 1
