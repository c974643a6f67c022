-- demo.lua: what `make run` shows. Forks a worker written as a Lua
-- function, talks to it through two pipes (one each way), runs a program
-- with its output on a pipe, and shows a broken pipe that does not kill us.
-- Run from the build tree:  LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/demo.lua
local ipc = require "ipc"

print(("libipc %s on %s, parent pid %d"):format(ipc.version, _VERSION, ipc.getpid()))

-- Two pipes: requests go down one, replies come back up the other.
local req_r, req_w = assert(ipc.pipe())
local rep_r, rep_w = assert(ipc.pipe())

local worker = assert(ipc.spawn(function()
  -- The child inherited every end: close the ones it does not use, or it
  -- would never see end-of-file on its requests.
  req_w:close()
  rep_r:close()
  local n = 0
  for line in req_r:lines() do
    n = n + 1
    local reply = ("%s (request %d, answered by pid %d)\n"):format(line:upper(), n, ipc.getpid())
    assert(rep_w:write(reply))
  end
  return n -- the exit code tells the parent how many requests came
end))
req_r:close()
rep_w:close()
print(("forked worker %s"):format(tostring(worker)))

local messages = { "hello", "how are you", "goodbye" }
for _, msg in ipairs(messages) do
  assert(req_w:write(msg, "\n"))
  print("  parent -> worker: " .. msg)
  print("  worker -> parent: " .. assert(rep_r:read("l")))
end
req_w:close() -- end of file for the worker's loop

local how, code = assert(worker:wait(5))
print(("worker finished: %s %d (%s)"):format(how, code, tostring(worker)))
assert(how == "exit" and code == #messages, "the worker should have counted every request")

-- A program with its standard output on a pipe.
local uname = assert(ipc.spawn({ "uname", "-sr" }, { stdout = "pipe" }))
print("uname says: " .. assert(uname.stdout:read("l")))
assert(uname:wait(5))
uname.stdout:close()

-- Writing to a pipe nobody reads: an error value, not a dead process.
local r, w = assert(ipc.pipe())
r:close()
local ok, err, errcode = w:write("anyone there?")
print(("write to a closed pipe: %s, %s (code %s)"):format(tostring(ok), err, ipc.errname(errcode)))
assert(errcode == ipc.EPIPE)
w:close()
print("demo done: every child reaped, every pipe closed")
