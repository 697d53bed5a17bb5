#!/usr/bin/env bash
# `npm test`: run jest (normal human output on stderr) and close with ONE machine-readable line,
# `N passed, N failed[, N skipped]`, which CI reads as the last line. A suite that fails to load
# counts as a failure, and a jest that wrote no results at all is `0 passed, 1 failed`, so a
# broken run can never print a green line. Exits non-zero on any failure. Extra args go to jest.
set -uo pipefail
cd "$(dirname "$0")/.."

out="$(mktemp -t leaseflow-jest.XXXXXX.json)"
trap 'rm -f "$out"' EXIT
# mktemp created the file empty: remove it so "jest wrote nothing" is unambiguous below.
rm -f "$out"

jest="node_modules/.bin/jest"
if [ -x "$jest" ]; then
  "$jest" --ci --json --outputFile="$out" "$@"
  rc=$?
else
  echo "scripts/test.sh: $jest not found (run npm ci first)" >&2
  rc=127
fi

summary="$(node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); }
  catch { console.log("0 passed, 1 failed"); process.exit(0); }    // jest died before writing results
  // numRuntimeErrorTestSuites: suites that failed to load/compile report no failed *tests*.
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$out")" || summary="0 passed, 1 failed"

# The line and the exit code must agree: a red jest (globalSetup threw, a teardown failed…)
# with no failed test still closes with a failing line, and a failing line exits non-zero.
if [[ "$summary" =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
  [ "$rc" -ne 0 ] && summary="${summary/ 0 failed/ 1 failed}"
else
  [ "$rc" -eq 0 ] && rc=1
fi
echo "$summary"
exit "$rc"
