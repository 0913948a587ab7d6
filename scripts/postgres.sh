#!/usr/bin/env bash
# Makes sure PostgreSQL (the database of the PostgresStore tests and bench) is installed: nothing to do when an
# initdb exists under /usr/lib/postgresql/*/bin; as root, `apt-get install -y postgresql`; otherwise exit 1 with a
# hint. Used by test/omemo/postgres-server.ts before it starts a private cluster.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "postgresql is not installed and we are not root: install it with 'sudo apt-get install -y postgresql'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "postgresql is not installed and apt-get is not available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package would create and start a system-wide cluster; the tests start their own, so forbid that (Debian's
# policy-rc.d convention), unless the machine already has a policy.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y --no-install-recommends postgresql >&2 ||
  { apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2; }
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
