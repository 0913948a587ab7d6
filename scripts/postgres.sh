#!/usr/bin/env bash
# Makes sure PostgreSQL (the database of the PostgresStore tests and bench) is installed: nothing to do when an
# initdb exists under /usr/lib/postgresql/*/bin; otherwise scripts/apt-install.sh (apt-get as root, else exit 1
# with a hint). Used by test/omemo/postgres-server.ts before it starts a private cluster.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" postgresql
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
