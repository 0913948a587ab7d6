#!/usr/bin/env bash
# Installs a Debian package the test servers need, as root with `apt-get install -y`, without letting it start a
# system-wide service (Debian's policy-rc.d convention; the tests start private servers of their own). Usage:
#   scripts/apt-install.sh PACKAGE
# Exits 1 with a hint when not root or without apt-get. Called by scripts/prosody.sh and scripts/postgres.sh after
# they found the package missing; they check the result.
set -euo pipefail
package="$1"
if [ "$(id -u)" -ne 0 ]; then
  echo "$package is not installed and we are not root: install it with 'sudo apt-get install -y $package'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$package is not installed and apt-get is not available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y --no-install-recommends "$package" >&2 ||
  { apt-get update >&2 && apt-get install -y --no-install-recommends "$package" >&2; }
