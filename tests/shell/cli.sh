#!/bin/sh
# cli.sh: ipcsh's command line without a terminal: scripts and their `arg`,
# -e, -l, stdin, exit statuses, tracebacks, --version, usage errors, and
# SIGINT in a script. Prints TAP; exits non-zero when a test fails.
# Usage: sh tests/shell/cli.sh build/5.4/release/ipcsh

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: sh $0 path/to/ipcsh" >&2
  exit 2
fi
case $1 in
/*) IPCSH=$1 ;;
*) IPCSH=$(pwd)/$1 ;;
esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

TMP=$(mktemp -d /tmp/ipcsh-cli.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM
# Nothing here reads a terminal; keep the history (and HOME) private anyway.
export HOME="$TMP" IPCSH_HISTORY="$TMP/history"
unset LUA_INIT LUA_INIT_5_4

N=0
FAILED=0

# ok NAME: passes; notok NAME WHY: fails with a diagnostic.
ok() {
  N=$((N + 1))
  echo "ok $N - $1"
}
notok() {
  N=$((N + 1))
  FAILED=$((FAILED + 1))
  echo "not ok $N - $1"
  printf '%s\n' "$2" | sed 's/^/#   /'
}

# run CMD...: runs it with stdin from /dev/null unless redirected by the
# caller; sets OUT, ERR, RC.
run() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# expect_run NAME RC OUT [ERR-PATTERN]: checks the last run's status, its
# exact stdout, and that stderr matches the grep -E pattern (or is empty).
expect_run() {
  why=""
  [ "$RC" = "$2" ] || why="exit status $RC, expected $2"
  [ "$OUT" = "$3" ] || why="$why
stdout: [$OUT]
expected: [$3]"
  if [ -n "${4-}" ]; then
    printf '%s\n' "$ERR" | grep -Eq -- "$4" || why="$why
stderr: [$ERR]
expected to match: $4"
  elif [ -n "$ERR" ]; then
    why="$why
unexpected stderr: [$ERR]"
  fi
  if [ -z "$why" ]; then ok "$1"; else notok "$1" "$why"; fi
}

# expect_re NAME RC ERE: the last run's status, and a stdout whose first
# line matches the grep -E pattern; stderr must be empty.
expect_re() {
  why=""
  [ "$RC" = "$2" ] || why="exit status $RC, expected $2"
  printf '%s\n' "$OUT" | head -n 1 | grep -Eq -- "$3" || why="$why
stdout: [$OUT]
expected to match: $3"
  [ -z "$ERR" ] || why="$why
unexpected stderr: [$ERR]"
  if [ -z "$why" ]; then ok "$1"; else notok "$1" "$why"; fi
}

cat >"$TMP/args.lua" <<'EOF'
print(select("#", ...), arg[1], arg[2], ...)
EOF
cat >"$TMP/show.lua" <<'EOF'
print(arg[-1] ~= nil, arg[0], arg[1], arg[2])
EOF
run "$IPCSH" "$TMP/args.lua" a b </dev/null
expect_run "a script sees its arguments in arg and in ..." 0 "2	a	b	a	b"
run "$IPCSH" "$TMP/show.lua" a "b c" </dev/null
expect_run "arg[0] is the script and arg[-1] the interpreter" 0 "true	$TMP/show.lua	a	b c"

run "$IPCSH" -e 'print(1 + 1)' </dev/null
expect_run "-e runs a string" 0 "2"
run "$IPCSH" -e 'x = 20' -e 'print(x + 1)' "$TMP/show.lua" z </dev/null
expect_run "several -e run in order, before the script" 0 "21
true	$TMP/show.lua	z	nil"
run "$IPCSH" -e 'print(type(ipc), require("ipc") == ipc, type(ipc.pipe))' </dev/null
expect_run "ipc is a global and require(\"ipc\") gives the same table" 0 \
  "table	true	function"
cat >"$TMP/globals.lua" <<'EOF'
-- The standard globals of every Lua from 5.1 to 5.4 and LuaJIT.
local std = {}
for name in ([[_G _VERSION arg assert collectgarbage coroutine debug dofile
  error getmetatable io ipairs load loadfile math next os package pairs pcall
  print rawequal rawget rawlen rawset require select setmetatable string
  table tonumber tostring type utf8 warn xpcall unpack loadstring module
  getfenv setfenv gcinfo newproxy bit32 jit bit]]):gmatch("%S+") do
  std[name] = true
end
-- What the shell may add: ipc, its own functions, the tools'.
local shell = {}
for name in ([[ipc help ps listen unlisten ls rm watch bench]]):gmatch("%S+") do
  shell[name] = true
end
local stray = {}
for name in pairs(_G) do
  if not shell[name] and not std[name] then stray[#stray + 1] = name end
end
table.sort(stray)
print(#stray == 0 and "no stray global" or "stray: " .. table.concat(stray, " "))
for _, name in ipairs({ "ipc", "help", "ps", "listen", "unlisten" }) do
  if rawget(_G, name) == nil then print("missing: " .. name) end
end
EOF
run "$IPCSH" "$TMP/globals.lua" </dev/null
expect_run "the only globals beyond Lua's are ipc and the shell's functions" 0 \
  "no stray global"
run "$IPCSH" -l string -e 'print(type(string.format))' </dev/null
expect_run "-l requires a module into a global" 0 "function"

echo 'print("from stdin", ...)' >"$TMP/stdin.lua"
run "$IPCSH" <"$TMP/stdin.lua"
expect_run "with no script and stdin not a terminal, stdin is the script" 0 \
  "from stdin"
run "$IPCSH" - x y <"$TMP/stdin.lua"
expect_run "'-' runs stdin with the arguments that follow" 0 "from stdin	x	y"
printf '1 + 1\nfor i = 1, 2 do\nprint(i)\nend\n' >"$TMP/repl.txt"
run "$IPCSH" -i <"$TMP/repl.txt"
expect_run "-i reads commands from stdin when it is not a terminal" 0 \
  "> 2
> >> >> 1
2
> "

cat >"$TMP/boom.lua" <<'EOF'
local function inner() error("boom") end
inner()
print("not reached")
EOF
run "$IPCSH" "$TMP/boom.lua" </dev/null
expect_run "an error exits with status 1 and a traceback on stderr" 1 "" \
  "^ipcsh: .*boom.lua:1: boom$"
if printf '%s\n' "$ERR" | grep -q "stack traceback:" &&
  printf '%s\n' "$ERR" | grep -Eq "in (local|function|upvalue) '?inner'?"; then
  ok "the traceback names the functions"
else
  notok "the traceback names the functions" "$ERR"
fi
run "$IPCSH" -e 'error({})' </dev/null
expect_run "a non-string error is described" 1 "" \
  "^ipcsh: \(error object is a table value\)$"
printf 'x = = 1\n' >"$TMP/syntax.lua"
run "$IPCSH" "$TMP/syntax.lua" </dev/null
expect_run "a syntax error exits with status 1" 1 "" "syntax.lua:1: unexpected symbol"
run "$IPCSH" "$TMP/missing.lua" </dev/null
expect_run "a missing script exits with status 1" 1 "" "cannot open .*missing.lua"
run "$IPCSH" -e 'error("first")' -e 'print("second")' </dev/null
expect_run "a failing -e stops the rest" 1 "" "first"

run "$IPCSH" -e 'os.exit(3)' </dev/null
expect_run "os.exit(3) gives status 3" 3 ""
run "$IPCSH" -e 'os.exit(false)' </dev/null
expect_run "os.exit(false) gives status 1" 1 ""
printf 'os.exit(true, true)\n' >"$TMP/close.lua"
run "$IPCSH" "$TMP/close.lua" </dev/null
expect_run "os.exit(true, true) closes the state and gives status 0" 0 ""

run "$IPCSH" --lua-version </dev/null
expect_re "--lua-version prints the Lua ipcsh runs on" 0 \
  '^(Lua 5\.[1-4]\.[0-9]+|LuaJIT 2\.[0-9]+\.[0-9a-z.-]+)$'
LUAVERSION=$OUT
run "$IPCSH" -e 'print(_VERSION, type(jit))' </dev/null
case $LUAVERSION in
LuaJIT*) want="Lua 5.1	table" ;;
*) want="$(echo "$LUAVERSION" | sed 's/^\(Lua 5\.[0-9]\).*/\1/')	nil" ;;
esac
expect_run "--lua-version names the Lua that runs the code" 0 "$want"
VERSION=$(sed -n 's/^#define IPC_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/libipc/include/ipc.h")
run "$IPCSH" --version </dev/null
expect_run "--version prints the ipcsh and Lua versions" 0 \
  "ipcsh $VERSION ($LUAVERSION)"
run "$IPCSH" -v </dev/null
expect_run "-v prints the same" 0 "ipcsh $VERSION ($LUAVERSION)"
run "$IPCSH" --help </dev/null
expect_re "--help prints the usage on stdout and exits 0" 0 '^usage: ipcsh '
run "$IPCSH" -h </dev/null
expect_re "-h prints the usage too" 0 '^usage: ipcsh '
run "$IPCSH" -x </dev/null
expect_run "an unknown option is a usage error (status 1)" 1 "" \
  "^ipcsh: unrecognized option '-x'$"
run "$IPCSH" -e </dev/null
expect_run "-e without its argument is a usage error" 1 "" \
  "^ipcsh: '-e' needs argument$"

# SIGINT while a script runs: "interrupted!" with a traceback and status 1,
# both in a busy loop and in a pipe read nobody feeds. env restores the
# default disposition in case this runs as a background job (which starts
# with SIGINT ignored, and ipcsh then leaves it ignored).
interrupt() {
  # --foreground: signal the child once; by default timeout also signals its
  # whole process group, and a second SIGINT that early means "escalate".
  timeout --foreground --preserve-status -k 5 -s INT 1 env --default-signal=INT "$IPCSH" -e "$1" \
    </dev/null >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
interrupt 'while true do end'
expect_run "SIGINT stops a busy script: interrupted!, status 1" 1 "" \
  "interrupted!"
interrupt 'local r, w = ipc.pipe(); io.stdout:write("reading\n"); r:read()'
expect_run "SIGINT stops a script blocked in a pipe read" 1 "reading" \
  "interrupted!"
interrupt 'local r, w = ipc.pipe()
  local ok, err = pcall(r.read, r)
  w:write("still works\n")
  print(ok, err, r:read())'
expect_run "an interrupted read can be caught, and the pipe still works" 0 \
  "false	interrupted!	still works"

echo "1..$N"
[ "$FAILED" -eq 0 ]
