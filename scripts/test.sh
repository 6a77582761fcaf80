#!/usr/bin/env bash
# The whole test suite: install what is missing, typecheck and build, lint, then run every test
# against real servers on loopback. Usage: npm test [-- test/dir-or-file ...]
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci
# Real peers some tests run: the bench checks its HAProxy and nginx configs with the real binaries
# and drives wrk once; the admin page is tested in headless Chromium.
bash scripts/ensure-system-deps.sh haproxy nginx wrk dnsmasq chromium

echo "== typecheck and build"
rm -rf dist
npx tsc -p tsconfig.json
echo "== lint"
npx eslint .

echo "== tests"
if [ "$#" -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=("dist/${t%.ts}"); done
else
  targets=(dist/test)
fi
# Files that match *.test.js under the targets; each file runs in its own process.
# (A single file is not a directory: find fails on it, which must not end the list under set -e.)
mapfile -t files < <({ find "${targets[@]}" -name '*.test.js' 2>/dev/null || true; } | sort; for t in "${targets[@]}"; do if [ -f "$t.js" ]; then echo "$t.js"; fi; done)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files under: ${targets[*]}" >&2
  exit 1
fi
status=0
# A test that hangs fails after 5 minutes instead of holding the run (the slowest take about 1).
node --test --test-timeout=300000 --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination=dist/test-results.tap "${files[@]}" || status=$?
# The runner's own closing counts, one line, for whoever reads the log from the end.
pass=$(awk '/^# pass /{print $3}' dist/test-results.tap)
fail=$(awk '/^# fail /{print $3}' dist/test-results.tap)
if [ "$#" -eq 0 ]; then
  # The proxy's tests once more with Node's HTTP/1.1 server taking every request (the raw path
  # serves those it can by default), so that both HTTP/1.1 paths keep passing the same tests.
  echo "== proxy tests on Node's HTTP/1.1 path (SHARDGATE_HTTP1_PATH=node)"
  mapfile -t proxyFiles < <(find dist/test/proxy -name '*.test.js' | sort)
  SHARDGATE_HTTP1_PATH=node node --test --test-timeout=300000 --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination=dist/test-results-node-path.tap "${proxyFiles[@]}" || status=$?
  pass=$((pass + $(awk '/^# pass /{print $3}' dist/test-results-node-path.tap)))
  fail=$((fail + $(awk '/^# fail /{print $3}' dist/test-results-node-path.tap)))
fi
echo "$pass passed, $fail failed"
exit $status
