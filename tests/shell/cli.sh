#!/bin/sh
# cli.sh: ipcsh's command line without a terminal: scripts and their `arg`,
# -e, -l, stdin, exit statuses, tracebacks, --version, --lua-version,
# usage errors, SIGINT in a script (and a second one), bad input in -i mode,
# events and ps() without a terminal, the rc file, and the tour. Prints TAP;
# exits non-zero when a test fails.
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
# Which Lua this ipcsh runs (checked by a test below): a few behaviours
# differ (5.1's os.exit takes no boolean; LuaJIT's compiled loops run no
# hook).
LUAVERSION=$("$IPCSH" --lua-version </dev/null)

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
if [ "${LUAVERSION#Lua 5.1}" != "$LUAVERSION" ]; then
  ok "os.exit(false) gives status 1 # SKIP Lua 5.1's os.exit takes a number"
  ok "os.exit(true, true) closes the state # SKIP Lua 5.1's os.exit takes a number"
else
  run "$IPCSH" -e 'os.exit(false)' </dev/null
  expect_run "os.exit(false) gives status 1" 1 ""
  printf 'os.exit(true, true)\n' >"$TMP/close.lua"
  run "$IPCSH" "$TMP/close.lua" </dev/null
  expect_run "os.exit(true, true) closes the state and gives status 0" 0 ""
fi
printf 'io.write("before ")\nprint("exit")\nos.exit(4)\nprint("not reached")\n' >"$TMP/exit.lua"
run "$IPCSH" "$TMP/exit.lua" </dev/null
expect_run "a script that calls os.exit(4): what it printed is out, status 4" 4 "before exit"

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
if printf '%s\n' "$OUT" | grep -q -- '--tour' && printf '%s\n' "$OUT" | grep -q -- '--lua-version' &&
  printf '%s\n' "$OUT" | grep -q 'IPCSHRC'; then
  ok "the usage lists --tour, --lua-version and the environment"
else
  notok "the usage lists --tour, --lua-version and the environment" "$OUT"
fi
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
interrupt 'if jit then jit.off() end while true do end'
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

# A second SIGINT while the first is still pending (C code that runs for
# hours: string.find with this pattern) ends ipcsh by SIGINT, saying why.
rm -f "$TMP/busy"
env --default-signal=INT "$IPCSH" -e 'io.stdout:write("busy\n"); io.stdout:flush();
  string.rep("a", 1e6):find(".-b")' </dev/null >"$TMP/busy" 2>"$TMP/err" &
pid=$!
n=0
while [ ! -s "$TMP/busy" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
sleep 0.3 # into string.find: a signal before it would be acted upon
kill -INT $pid
sleep 0.5
if kill -0 $pid 2>/dev/null; then alive=yes; else alive=no; fi
kill -INT $pid 2>/dev/null
sleep 0.5
kill -KILL $pid 2>/dev/null # only if it failed: the test must end
wait $pid
RC=$?
ERR=$(cat "$TMP/err")
if [ "$alive" = yes ] && [ "$RC" = 130 ] &&
  printf '%s\n' "$ERR" | grep -q "a second Ctrl-C before the first could stop the code: exiting"; then
  ok "a second SIGINT while C code runs ends ipcsh by SIGINT, saying why"
else
  notok "a second SIGINT while C code runs ends ipcsh by SIGINT, saying why" \
    "alive after the first: $alive; status $RC; stderr: [$ERR]"
fi

# Bad input without a terminal: an unfinished statement at end of input,
# and results too big to print.
printf 'for i = 1, 2 do\n' >"$TMP/eof.txt"
run "$IPCSH" -i <"$TMP/eof.txt"
expect_run "end of input inside a statement: reported, status 0" 0 "> >> > " \
  "^stdin:1: 'end' expected near '?<eof>'?$"
printf 's = ("x"):rep(10 * 2^20)\ns\n#s\n' >"$TMP/big.txt"
run "$IPCSH" -i <"$TMP/big.txt"
size=$(wc -c <"$TMP/out")
if [ "$RC" = 0 ] && [ "$size" -lt 3000 ] &&
  printf '%s\n' "$OUT" | grep -q '\.\.\. (10485760 bytes, the first 2000 shown)' &&
  printf '%s\n' "$OUT" | grep -q '^> 10485760$'; then
  ok "a 10 MB string prints as 2000 bytes and a notice; the string stays whole"
else
  notok "a 10 MB string prints as 2000 bytes and a notice; the string stays whole" \
    "status $RC, $size bytes of output; tail: $(printf '%s' "$OUT" | tail -c 300)"
fi
printf 'a = {}; a.self = a\na\n' >"$TMP/cycle.txt"
run "$IPCSH" -i <"$TMP/cycle.txt"
expect_run "a table that holds itself prints as <cycle> where it closes" 0 \
  "> > {self = <cycle>}
> "

# Events without a terminal: what is ready is printed before each prompt.
cat >"$TMP/events.txt" <<'EOF'
p = ipc.spawn({"sh", "-c", "sleep 0.3; exit 5"})
x = ipc.sleep(1)
"next"
EOF
run "$IPCSH" -i <"$TMP/events.txt"
expect_run "without a terminal, a child's end is printed before the next prompt" 0 \
  "> > [pid $(printf '%s' "$OUT" | sed -n 's/.*\[pid \([0-9]*\) exited 5\].*/\1/p') exited 5]
> \"next\"
> "
cat >"$TMP/ps.lua" <<'EOF'
local p = ipc.spawn({"sh", "-c", "exit 2"})
p:wait()
local f = ipc.spawn(function() return 0 end)
f:wait()
ps()
EOF
run "$IPCSH" "$TMP/ps.lua" </dev/null
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | sed -n 2p | grep -Eq '^ +[0-9]+  exited 2 +sh -c .exit 2.$' &&
  printf '%s\n' "$OUT" | sed -n 3p | grep -Eq "^ +[0-9]+  exited 0 +function $TMP/ps.lua:3$"; then
  ok "ps() in a script lists its children, oldest first"
else
  notok "ps() in a script lists its children, oldest first" "status $RC, stdout: [$OUT], stderr: [$ERR]"
fi

# The rc file runs when the interactive loop starts, even without a
# terminal, and never for a script.
printf 'rc = "ran"\n' >"$TMP/rc.lua"
printf 'rc\n' >"$TMP/rc.txt"
IPCSHRC="$TMP/rc.lua" run "$IPCSH" -i <"$TMP/rc.txt"
expect_run "IPCSHRC runs before the interactive loop" 0 '> "ran"
> '
printf 'print(rc)\n' >"$TMP/norc.lua"
IPCSHRC="$TMP/rc.lua" run "$IPCSH" "$TMP/norc.lua" </dev/null
expect_run "a script does not run the rc file" 0 "nil"
printf 'error("bad rc")\n' >"$TMP/badrc.lua"
printf '1 + 1\n' >"$TMP/two.txt"
IPCSHRC="$TMP/badrc.lua" run "$IPCSH" -i <"$TMP/two.txt"
expect_run "an error in the rc file is reported and the loop starts" 0 "> 2
> " "^ipcsh: .*badrc.lua:1: bad rc$"

# The tour without a terminal: every step shown and run, nothing left.
run sh -c "'$IPCSH' --tour </dev/null | cat"
steps=$(printf '%s\n' "$OUT" | grep -c '^== [0-9]*/[0-9]*: ')
last=$(printf '%s\n' "$OUT" | sed -n 's/^== \([0-9]*\)\/\([0-9]*\): .*/\1 \2/p' | tail -n 1)
left=$(ls /dev/shm | grep -c '^ipcsh-tour-')
if [ "$RC" = 0 ] && [ -z "$ERR" ] && [ "$steps" -ge 5 ] && [ "${last% *}" = "${last#* }" ] &&
  printf '%s\n' "$OUT" | grep -q '^"hello through a pipe"$' &&
  printf '%s\n' "$OUT" | grep -q '^"message 1"	"message 2"	"message 3"$' &&
  printf '%s\n' "$OUT" | grep -q '^handler: USR1 from pid [0-9]*$' &&
  printf '%s\n' "$OUT" | grep -Eq '^ +[0-9]+  killed by SIGTERM +sleep 30$' &&
  { printf '%s\n' "$OUT" | grep -Eq '^ring +/ipcsh-tour-[0-9]+ ' ||
    [ "$("$IPCSH" -e 'io.write(type(ls))' </dev/null)" = nil ]; } &&
  [ "$left" = 0 ]; then
  ok "ipcsh --tour | cat runs every step, with their results, and leaves nothing"
else
  notok "ipcsh --tour | cat runs every step, with their results, and leaves nothing" \
    "status $RC, $steps steps (last $last), $left segments left; stderr: [$ERR]; stdout: [$OUT]"
fi

echo "1..$N"
[ "$FAILED" -eq 0 ]
