-- examples/signal.lua: a worker process reports progress to its parent with
-- real-time signals carrying a value (sigqueue) and says it is done with
-- SIGTERM; the parent's Lua handlers run while it waits for the worker.
-- Then a blocked signal taken with ipc.signal.wait, and a signalfd handle.
-- Run from the top of the tree:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/signal.lua

local ipc = require "ipc"
local S = ipc.signal

local parent = ipc.getpid()
local received, last = 0, 0

-- Handlers run at safe points: here, each time a signal interrupts the
-- wait below; never inside the C signal handler.
assert(S.handle("RTMIN", function(_, info)
  assert(info.value == last + 1, "out of order")
  received, last = received + 1, info.value
end))
assert(S.handle("TERM", function(name, info)
  print(("%s from the worker (pid %d, %s)"):format(name, info.pid, info.codename))
end))

local worker = assert(ipc.spawn(function()
  for step = 1, 500 do
    local ok, msg, code = S.queue(parent, "RTMIN", step)
    while not ok and code == ipc.EAGAIN do -- the kernel's queue is full
      ok, msg = S.queue(parent, "RTMIN", step)
    end
    assert(ok, msg)
  end
  assert(S.kill(parent, "TERM"))
  return 0
end))

local how, code = worker:wait()
S.dispatch() -- what came with the wait's last return, not interrupting it
print("worker:", how, code)
print(("%d progress signals, the last with value %d"):format(received, last))
local st = S.stats()
print(("received %d, dropped %d, handler calls %d"):format(st.received, st.dropped,
  st.handled))
assert(received == 500 and st.dropped == 0)

-- A blocked signal stays pending until someone takes it.
S.block("USR1")
assert(S.queue(parent, "USR1", 42))
print("pending:", S.pending())
local name, info = S.wait("USR1", 1)
print("wait:", name, info.value, info.codename)
S.unblock("USR1")

-- An event loop sees signals through a descriptor instead.
local sfd = assert(S.open({ "USR2", "HUP" }))
print(sfd)
assert(S.raise("HUP"))
name, info = sfd:read(1)
print("signalfd:", name, info.codename)
sfd:close()

-- Leave the process as it was.
S.restore("RTMIN")
S.restore("TERM")
