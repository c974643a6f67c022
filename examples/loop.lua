-- loop.lua: one ipc.loop supervising two workers: lines from one on a pipe,
-- requests from the other over a socket answered by a task, a signal the
-- workers send when they are half done, a progress timer, and each worker's
-- exit, reaped by the loop. Run from the top of the tree after `make`:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/loop.lua

local ipc = require "ipc"

local loop = ipc.loop()
local parent = ipc.getpid()
local started = ipc.now()
local function say(...)
  print(("%5.2f s  "):format(ipc.now() - started) .. table.concat({ ... }, " "))
end

-- Worker 1 counts, one line every 50 ms, on a pipe.
local r, w = assert(ipc.pipe())
local counter = assert(ipc.spawn(function()
  for i = 1, 6 do
    w:write("count ", i, "\n")
    if i == 3 then ipc.signal.kill(parent, "USR1") end -- half done
    ipc.sleep(0.05)
  end
end))
w:close() -- the worker holds the only write end: its exit is our end of file

-- Worker 2 asks questions over a socketpair and prints the answers.
local mine, theirs = assert(ipc.sock.pair())
local asker = assert(ipc.spawn(function()
  mine:close()
  for _, q in ipairs({ "2+2", "6*7" }) do
    theirs:send(q)
    print("          asker got " .. theirs:recv(nil, 5))
  end
end))
theirs:close()

loop:on_readable(r, function()
  local line = r:read("l")
  if line then say("counter:", line) else r:close() end -- closing ends the watch
end)

-- A task answers the asker in straight-line code: loop:wait suspends only
-- this coroutine, the loop goes on with the others.
loop:task(function()
  while true do
    local ev = loop:wait(mine, "r", 2)
    local q = ev and mine:recv()
    if not q then break end -- end of the stream, or silence for 2 s
    local a, op, b = q:match("^(%d+)([%+%*])(%d+)$")
    mine:send(tostring(op == "+" and a + b or a * b))
  end
  mine:close()
end)

local halves = 0
local usr1 = loop:on_signal("USR1", function(ev)
  halves = halves + 1
  say("signal", ev.name, "from pid", ev.info.pid)
end)

local tick = loop:every(0.1, function() say("tick") end)

local running = 2
local function ended(ev)
  say("worker", ev.proc.pid, "ended:", ev.status, ev.code)
  running = running - 1
  if running == 0 then -- the timer and the signal would keep the loop alive
    tick:cancel()
    usr1:cancel()
  end
end
loop:on_exit(counter, ended)
loop:on_exit(asker, ended)

assert(loop:run())
say("done; halfway signals:", halves)
counter:close()
asker:close()
