-- fifo.lua: a named pipe between this script, a forked Lua worker and cat:
-- opening with nobody on the other side (ENXIO, a timeout), lines from a
-- worker that opens late, end of file, and unlink. Run from the top of the
-- tree after `make`:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/fifo.lua

local ipc = require "ipc"

local path = ("/tmp/ipc-fifo-example-%d"):format(ipc.getpid())

local function main()
  assert(ipc.fifo.create(path)) -- mode 0600
  print("made the FIFO " .. path)

  -- Nobody reads yet: a non-blocking writer is refused at once, a waiting
  -- one gives up after its timeout instead of hanging.
  print("writer, non-blocking:", select(2, ipc.fifo.open(path, "w", { nonblock = true })))
  print("writer, 0.2 s:       ", select(2, ipc.fifo.open(path, "w", { timeout = 0.2 })))

  -- A worker that opens the FIFO for reading a little later. The parent's
  -- open waits for it (5 s at most), then writes; the worker reads lines
  -- until end of file, which comes when the parent closes its end.
  local worker = assert(ipc.spawn(function()
    local r, w = ipc.pipe() -- a private pipe, only to sleep 0.1 s
    r:settimeout(0.1)
    r:read(1)
    r:close()
    w:close()
    local fifo = assert(ipc.fifo.open(path, "r", { timeout = 5 }))
    for line in fifo:lines() do
      print(("  worker %d read: %s"):format(ipc.getpid(), line))
    end
    print("  worker: end of file")
  end))
  local w = assert(ipc.fifo.open(path, "w", { timeout = 5 }))
  print("writer opened once the worker came: " .. tostring(w))
  for i = 1, 3 do w:write("message ", i, "\n") end
  w:close()
  print("worker:", worker:wait())

  -- Any program that opens files can be the other end.
  local cat = assert(ipc.spawn({ "cat", path }, { stdout = "pipe" }))
  w = assert(ipc.fifo.open(path, "w", { timeout = 5 }))
  w:write("through cat\n")
  w:close()
  io.write("cat echoed: ", cat.stdout:read("a"))
  cat:wait()
end

local ok, err = pcall(main)
ipc.fifo.unlink(path) -- whatever happened above
print("unlinked; opening again:", select(2, ipc.fifo.open(path, "r")))
if not ok then error(err, 0) end
