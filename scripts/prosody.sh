#!/usr/bin/env bash
# Makes sure Prosody (the XMPP server of the adapter integration tests) is installed: nothing to do when
# `prosody` is on PATH; otherwise scripts/apt-install.sh (apt-get as root, else exit 1 with a hint).
# Used by test/adapters/prosody-server.ts before it starts a private server.
set -euo pipefail
if command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" prosody
command -v prosody >/dev/null 2>&1
