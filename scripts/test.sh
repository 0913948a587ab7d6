#!/usr/bin/env bash
# The project's test command (`npm test`, also run by .ci/run): generated files, types, lint and format, API docs,
# layering, the uvu suite, the packed tarball under ESM/CJS/types, the browser test (headless Chromium), and the
# interop referee against python-omemo for both OMEMO versions in both directions. Steps that need ../shared skip loudly when it is absent, and fail under
# CI=true.
set -uo pipefail
cd "$(dirname "$0")/.."
SHARED="${OMEMO_SHARED_DIR:-../shared}"
passed=0
failed=0
skipped=0
log="$(mktemp -d)"

step() { printf '\n=== %s ===\n' "$1"; }
ok() { passed=$((passed + $1)); }
bad() { failed=$((failed + $1)); }
need_shared() {
  if [ -d "$SHARED/interop" ]; then return 0; fi
  if [ "${CI:-}" = "true" ]; then
    echo "!!! $SHARED/interop is missing: under CI=true this is a failure ($1)"
    bad 1
  else
    echo "!!! SKIPPED: $SHARED/interop is missing, so $1 did not run. Interop is the definition of correct: run it before you ship."
    skipped=$((skipped + 1))
  fi
  return 1
}

step "generated protobuf text is up to date"
if node scripts/gen-proto.mjs --check; then ok 1; else bad 1; fi

step "wasm modules: rebuilt from wasm/src with clang + lld, byte for byte the committed modules"
if ! { command -v clang-14 || command -v clang; } >/dev/null 2>&1 || ! { command -v wasm-ld-14 || command -v wasm-ld; } >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing clang and lld (apt-get) for the reproducibility check"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang lld >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang lld >/dev/null 2>&1; }
  fi
fi
if bash wasm/build.sh --check && bash wasm/build-field.sh --check; then
  ok 1
elif [ "${CI:-}" = "true" ] || command -v wasm-ld >/dev/null 2>&1 || command -v wasm-ld-14 >/dev/null 2>&1; then
  bad 1
else
  echo "!!! SKIPPED: clang/lld are not installed (apt-get install -y clang lld), so the wasm module was not rebuilt"
  skipped=$((skipped + 1))
fi

step "type check"
if npx tsc --noEmit -p tsconfig.json; then ok 1; else bad 1; fi

step "lint and format (biome)"
# npm run lint: biome check --error-on-warnings (formatting and lint, writes nothing; npm run format fixes).
if npm run --silent lint; then ok 1; else bad 1; fi

step "API docs (typedoc, warnings fail)"
# npm run docs: typedoc.json, the public entries into docs/api (gitignored); a warning (broken link, public type
# that no entry exports) fails the run.
if npm run --silent docs; then ok 1; else bad 1; fi

step "layering: imports in src/ only point down, crypto primitives only in src/crypto"
if node scripts/check-layers.mjs .; then echo "layers ok"; ok 1; else bad 1; fi

if need_shared "the python-omemo install (needed by interop-backed unit tests)"; then
  step "python-omemo interop peer packages"
  bash "$SHARED/interop/install.sh" || bad 1
fi

step "unit tests (uvu)"
npx uvu -r tsx test '\.test\.ts$' 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$log/uvu.txt"
uvu_status=${PIPESTATUS[0]}
u_total=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log/uvu.txt" | tail -1)
u_passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log/uvu.txt" | tail -1)
u_skipped=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$log/uvu.txt" | tail -1)
u_total=${u_total:-0}; u_passed=${u_passed:-0}; u_skipped=${u_skipped:-0}
ok "$u_passed"
skipped=$((skipped + u_skipped))
if [ "$uvu_status" -ne 0 ] || [ "$u_total" -eq 0 ]; then bad $(( u_total - u_passed - u_skipped > 0 ? u_total - u_passed - u_skipped : 1 )); fi

step "package: npm pack (prepack builds dist/), ESM + CJS + types from the tarball"
node test/package/check-tarball.mjs | tee "$log/pack.txt"
p_pass=$(sed -n 's/^package: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log/pack.txt")
p_fail=$(sed -n 's/^package: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log/pack.txt")
ok "${p_pass:-0}"; bad "${p_fail:-1}"

step "browser: the main entry bundled with esbuild (no flags), two managers in both versions and IndexedDbStore in headless Chromium"
# Needs dist/ from the package step; installs Debian's chromium with apt-get when missing and root.
if [ -f dist/index.js ]; then
  node test/browser/run.mjs | tee "$log/browser.txt"
  b_pass=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log/browser.txt")
  b_fail=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log/browser.txt")
  ok "${b_pass:-0}"; bad "${b_fail:-1}"
  if grep -q '^!!! SKIPPED' "$log/browser.txt"; then skipped=$((skipped + 1)); fi
else
  echo "dist/ was not built"; bad 1
fi

if need_shared "the interop referee against python-omemo"; then
  step "interop referee: omemo-wasm vs python-omemo, oldmemo + twomemo, both directions"
  "$SHARED/interop/referee.sh" --a "npm run --silent peer" --cwd-a "$PWD" --name-a ts --b py 2>&1 | tee "$log/referee.txt" | grep -v '^PASS: '
  r_line=$(tail -1 "$log/referee.txt")
  r_pass=$(echo "$r_line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
  r_fail=$(echo "$r_line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  if [ -z "$r_pass" ]; then bad 1; else ok "$r_pass"; bad "$r_fail"; fi
fi

rm -rf "$log"
echo
echo "summary: ${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
