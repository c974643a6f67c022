#!/bin/sh
# run.sh: runs every shell test against one ipcsh: the pseudo-terminal
# sessions (*.exp, with expect) and cli.sh. Prints their TAP output, then
# one line "shell: N passed, N failed"; exits 0 only when all pass.
# --smoke runs only repl.exp and cli.sh (for the builds on other Luas).
# Usage: sh tests/shell/run.sh [--smoke] build/5.4/release/ipcsh

SMOKE=""
if [ "${1-}" = --smoke ]; then
  SMOKE=1
  shift
fi
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: sh $0 [--smoke] path/to/ipcsh" >&2
  exit 2
fi
IPCSH=$1
DIR=$(dirname "$0")
OUT=$(mktemp /tmp/ipcsh-run.XXXXXX) || exit 2
trap 'rm -f "$OUT"' EXIT
trap 'exit 1' HUP INT TERM

PASSED=0
FAILED=0

# suite NAME CMD...: runs one test program, echoes its output and adds up
# its ok / not ok lines. A program that fails without a "not ok" line (it
# crashed, or could not start) counts as one failure.
suite() {
  name=$1
  shift
  echo "# $name"
  "$@" >"$OUT" 2>&1
  rc=$?
  cat "$OUT"
  pass=$(grep -c '^ok ' "$OUT")
  fail=$(grep -c '^not ok ' "$OUT")
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    echo "not ok - $name exited with status $rc"
    fail=1
  fi
  PASSED=$((PASSED + pass))
  FAILED=$((FAILED + fail))
}

if command -v expect >/dev/null 2>&1; then
  for exp in "$DIR"/*.exp; do
    [ -n "$SMOKE" ] && [ "$(basename "$exp")" != repl.exp ] && continue
    suite "$(basename "$exp")" expect -f "$exp" "$IPCSH"
  done
else
  echo "not ok - expect is not installed: the terminal sessions did not run"
  FAILED=$((FAILED + 1))
fi
suite cli.sh sh "$DIR/cli.sh" "$IPCSH"

echo "shell: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
