#!/usr/bin/env bash
# Makes sure Prosody (the XMPP server of the adapter integration tests) is installed: nothing to do when
# `prosody` is on PATH; as root, `apt-get install -y prosody`; otherwise exit 1 with a hint.
# Used by test/adapters/prosody-server.ts before it starts a private server.
set -euo pipefail
if command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prosody is not installed and we are not root: install it with 'sudo apt-get install -y prosody'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "prosody is not installed and apt-get is not available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package would start a system-wide server; the tests start their own, so forbid that (Debian's
# policy-rc.d convention), unless the machine already has a policy.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y --no-install-recommends prosody >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends prosody >&2; }
command -v prosody >/dev/null 2>&1
