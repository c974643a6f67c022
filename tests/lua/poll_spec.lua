-- poll_spec.lua: ipc.poll over real pipes, FIFOs, sockets, POSIX queues,
-- process pidfds, the signal descriptors, raw descriptors and foreign
-- objects: readiness, default and chosen events, bytes held in a pipe's
-- user-space buffer, timeouts, signals (the EINTR hook, then the time
-- left), and every bad input with its message and nothing lost or left
-- behind.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- helper.cleanup (after_each) closes and removes the handles, queues and
-- FIFOs the tests kept, whatever happened.
local keep = helper.keep
local cleanup = helper.cleanup

local function qname(tag) return helper.mq_name("poll", tag) end

-- A FIFO opened at both ends in this process: reader, writer.
local function fifo(tag)
  local path = helper.fifo_path("poll", tag)
  assert(ipc.fifo.create(path))
  local r = track(assert(ipc.fifo.open(path, "r", { nonblock = true })))
  local w = track(assert(ipc.fifo.open(path, "w", { timeout = 1 })))
  return r, w, path
end

-- The message of the error f(...) raises, from "bad argument" on.
local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "did not raise")
  -- 5.4 names the function as the caller found it ('ipc.poll').
  local msg = (tostring(err):match("bad argument.*$") or tostring(err)):gsub("to 'ipc%.", "to '")
  return msg
end

-- Polls and returns the ready entries' indices as a string ("1 3").
local function which(list, timeout)
  local ready, n = ipc.poll(list, timeout)
  assert.equal(#ready, n)
  local idx = {}
  for i, e in ipairs(ready) do idx[i] = e.index end
  return table.concat(idx, " "), ready
end

describe("ipc.poll", function()
  after_each(cleanup)

  describe("on pipes", function()
    it("waits for data on a reader, by default, and finds room on a writer", function()
      local r, w = track(ipc.pipe())
      assert.equal("2", which({ r, w }, 0))
      assert(w:write("x"))
      local got, ready = which({ r, w }, 0)
      assert.equal("1 2", got)
      assert.equal(r, ready[1].obj)
      assert.is_true(ready[1].readable)
      assert.is_false(ready[1].writable)
      assert.is_false(ready[1].hangup)
      assert.is_false(ready[1].error)
      assert.equal(w, ready[2].obj)
      assert.is_true(ready[2].writable)
      assert.is_false(ready[2].readable)
    end)

    it("returns an empty list and 0 when the timeout passes", function()
      local r = track(ipc.pipe())
      local t0 = ipc.now()
      local ready, n = ipc.poll({ r }, 0.2)
      local dt = ipc.now() - t0
      assert.same({}, ready)
      assert.equal(0, n)
      assert.is_true(dt >= 0.2 and dt < 1.5, "waited " .. dt)
    end)

    it("wakes when another process writes", function()
      local r, w = track(ipc.pipe())
      local p = track(assert(ipc.spawn(function()
        ipc.sleep(0.2)
        w:write("late\n")
      end)))
      w:close()
      local t0 = ipc.now()
      local ready, n = ipc.poll({ r }, 10)
      assert.equal(1, n)
      assert.is_true(ready[1].readable)
      assert.is_true(ipc.now() - t0 < 5)
      assert.equal("late", r:read("l"))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("reports the end of file as readable with hangup", function()
      local r, w = track(ipc.pipe())
      w:close()
      local _, ready = which({ r }, 0)
      assert.is_true(ready[1].readable)
      assert.is_true(ready[1].hangup)
      assert.equal("", r:read("a"))
    end)

    it("reports a writer whose reader is gone as writable with error (the write fails)", function()
      local r, w = track(ipc.pipe())
      r:close()
      local _, ready = which({ w }, 0)
      assert.is_true(ready[1].writable)
      assert.is_true(ready[1].error)
      assert.equal(ipc.EPIPE, select(3, w:write("x")))
    end)

    it("does not report a full pipe writable until the reader takes some", function()
      local r, w = track(ipc.pipe({ nonblock = true }))
      local chunk = ("x"):rep(65536)
      while w:write(chunk) do end -- fills the pipe, the last one short
      assert.equal("", which({ w }, 0))
      r:read(65536)
      assert.equal("1", which({ w }, 1))
    end)

    it("reports bytes held in the pipe's user-space buffer at once", function()
      local r, w = track(ipc.pipe())
      assert(w:write("one\ntwo\n"))
      assert.equal("one", r:read("l")) -- "two\n" stays in the handle
      assert.equal("", which({ r:fd() }, 0)) -- the kernel's pipe is empty
      local t0 = ipc.now()
      local got, ready = which({ r, w }, 10)
      assert.equal("1 2", got)
      assert.is_true(ready[1].readable)
      assert.is_true(ipc.now() - t0 < 1)
      assert.equal("two", r:read("l"))
    end)

    it("takes raw descriptors and reports them as given", function()
      local r, w = track(ipc.pipe())
      assert(w:write("x"))
      local _, ready = which({ r:fd() }, 0)
      assert.equal(r:fd(), ready[1].obj)
      assert.is_true(ready[1].readable)
      _, ready = which({ w:fd() }, 0) -- write-only: waits for room
      assert.is_true(ready[1].writable)
    end)

    it("takes any object with an fd method", function()
      local r, w = track(ipc.pipe())
      local foreign = setmetatable({}, { __index = { fd = function() return r:fd() end } })
      assert.equal("", which({ foreign }, 0))
      assert(w:write("x"))
      local _, ready = which({ foreign }, 0)
      assert.equal(foreign, ready[1].obj)
    end)
  end)

  describe("on FIFOs", function()
    it("waits for data on the read end and room on the write end", function()
      local r, w = fifo("rw")
      assert.equal("2", which({ r, w }, 0))
      assert(w:write("hello\n"))
      assert.equal("1 2", which({ r, w }, 0))
      assert.equal("hello", r:read("l"))
      w:close()
      local _, ready = which({ r }, 0)
      assert.is_true(ready[1].hangup)
    end)
  end)

  describe("on sockets", function()
    it("waits for data on a socketpair, and both ways with 'rw'", function()
      local a, b = ipc.sock.pair()
      keep(a)
      keep(b)
      assert.equal("", which({ a }, 0))
      assert(b:send("ping"))
      local got, ready = which({ { a, "rw" }, b }, 0)
      assert.equal("1", got)
      assert.equal(a, ready[1].obj)
      assert.is_true(ready[1].readable and ready[1].writable)
      assert.equal("ping", a:recv())
      assert.equal("", which({ { b, "r" } }, 0))
      assert.equal("1", which({ { b, "w" } }, 0))
    end)

    it("shows a listener readable when a connection waits", function()
      local addr = ("unix:@libipc-poll-%d"):format(ipc.getpid())
      local l = keep(ipc.sock.listen(addr))
      assert.equal("", which({ l }, 0))
      local p = track(assert(ipc.spawn(function()
        local c = assert(ipc.sock.connect(addr))
        c:send("hi")
        c:close()
      end)))
      assert.equal("1", which({ l }, 10))
      local s = keep(l:accept(1))
      assert.equal("1", which({ s }, 10))
      assert.equal("hi", s:recv())
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("on POSIX queues", function()
    it("waits for a message, and for room on a write-only queue", function()
      local name = qname("q")
      local q = keep(ipc.mq.create(name, { maxmsg = 1, msgsize = 16 }))
      local wq = keep(ipc.mq.open(name, "w"))
      assert.equal("2", which({ q, wq }, 0))
      assert(wq:send("m"))
      assert.equal("1", which({ q, wq }, 0)) -- full: no room for the writer
      assert.equal("m", q:receive(0))
      assert.equal("2", which({ q, wq }, 0))
    end)
  end)

  describe("on processes", function()
    it("shows the pidfd readable once the child has ended", function()
      local r, w = track(ipc.pipe())
      local p = track(assert(ipc.spawn(function() r:read(1) end)))
      assert.equal("", which({ p }, 0.1))
      w:write("x") -- lets the child end
      assert.equal("1", which({ p }, 10))
      assert.same({ "exit", 0 }, { p:wait(0) })
    end)
  end)

  describe("on signals", function()
    it("shows ipc.signal.fd() readable while a handler is pending", function()
      local ran = 0
      assert(ipc.signal.handle("USR2", function() ran = ran + 1 end))
      local ok, err = pcall(function()
        assert.equal("", which({ ipc.signal.fd() }, 0))
        assert(ipc.signal.raise("USR2"))
        assert.equal("1", which({ ipc.signal.fd() }, 0))
        assert.equal(1, ipc.signal.dispatch())
        assert.equal("", which({ ipc.signal.fd() }, 0))
      end)
      ipc.signal.restore("USR2")
      assert(ok, err)
      assert.equal(1, ran)
    end)

    it("takes an ipc.sigfd handle (signalfd) through its fd method", function()
      ipc.signal.block("USR2")
      local h = ipc.signal.open("USR2")
      local ok, err = pcall(function()
        assert(h)
        assert.equal("", which({ h }, 0))
        assert(ipc.signal.raise("USR2"))
        local _, ready = which({ h }, 0)
        assert.equal(h, ready[1].obj)
        assert.equal("USR2", (h:read(0)))
        assert.equal("", which({ h }, 0))
      end)
      if h then h:close() end
      ipc.signal.unblock("USR2")
      assert(ok, err)
    end)
  end)

  it("lists the ready entries in list order with their count", function()
    local r1, w1 = track(ipc.pipe())
    local r2, w2 = track(ipc.pipe())
    local r3 = track(ipc.pipe())
    w2:write("b")
    w1:write("a")
    local ready, n = ipc.poll({ r3, r2, r1 }, 0)
    assert.equal(2, n)
    assert.equal(r2, ready[1].obj)
    assert.equal(2, ready[1].index)
    assert.equal(r1, ready[2].obj)
    assert.equal(3, ready[2].index)
  end)

  it("waits the timeout on an empty list", function()
    local t0 = ipc.now()
    assert.same({}, (ipc.poll({}, 0.1)))
    assert.is_true(ipc.now() - t0 >= 0.1)
  end)

  -- A fresh interpreter (its SIGINT handler works once per run, see
  -- time_spec.lua) polls a pipe that gets no data; SIGINT comes 0.2 s
  -- after it says "ready".
  local function poll_interrupted(setup, timeout)
    local code = setup .. [[
      local ipc = require "ipc"
      local r, w = ipc.pipe()
      local t0 = ipc.now()
      io.write("ready\n") io.flush()
      local ok, err = pcall(function()
        ipc.poll({ r }, ]] .. timeout .. [[)
        for _ = 1, 10 do tostring(0) end -- LuaJIT's hook fires in Lua code
      end)
      io.write(string.format("%s %.3f %s\n", tostring(ok), ipc.now() - t0, tostring(err)))
    ]]
    local p = track(assert(ipc.spawn({ helper.interpreter(), "-e", code }, { stdout = "pipe" })))
    p.stdout:settimeout(10)
    assert.equal("ready", p.stdout:read("l"))
    ipc.sleep(0.2)
    assert(p:kill("INT"))
    local line = p.stdout:read("l")
    assert.same({ "exit", 0 }, { p:wait() })
    local ok, dt, err = line:match("^(%a+) ([%d.]+) (.*)$")
    return ok == "true", tonumber(dt), err
  end

  it("goes on with the time left after a signal", function()
    local ok, dt, err = poll_interrupted("", 0.6)
    assert.is_false(ok) -- the hook raised once poll returned: the signal came
    assert.matches("interrupted!", err)
    assert.is_true(dt >= 0.6 and dt < 0.75, "elapsed " .. dt)
  end)

  it("lets the ipc.interrupt hook break the wait", function()
    local ok, dt, err = poll_interrupted(
      'debug.getregistry()["ipc.interrupt"] = function() end\n', 5)
    assert.is_false(ok)
    assert.matches("interrupted!", err)
    assert.is_true(dt >= 0.2 and dt < 2, "elapsed " .. dt)
  end)

  describe("refuses", function()
    -- Each bad input raises before anything is waited for or consumed:
    -- the data in the good pipe next to it is still there, and no
    -- descriptor was opened or closed.
    local function refuses(entry, timeout)
      local r, w = track(ipc.pipe())
      assert(w:write("kept\n"))
      local fds = helper.fd_count()
      -- Not a tail call, so that 5.1 and LuaJIT name the function.
      local err = raises(function() ipc.poll({ r, entry }, timeout) end)
      assert.equal(fds, helper.fd_count())
      assert.equal("kept", r:read("l"))
      return err
    end

    it("a value that is not a handle", function()
      assert.equal("bad argument #1 to 'poll' (list[2] must be a descriptor, an object with "
        .. ":fd() or {obj, 'r'|'w'|'rw'}, got string)", refuses("pipe"))
      assert.matches("list%[2%] must be a descriptor.*got boolean", refuses(true))
      assert.matches("list%[2%] must be a descriptor.*got ipc%.sem", refuses(
        keep(ipc.sem.in_shm(keep(ipc.shm.anon(64)), 0))))
      assert.matches("list%[2%] is a number but not a descriptor", refuses(-1))
      assert.matches("list%[2%] is a number but not a descriptor", refuses(1.5))
      assert.matches("list%[2%] %(table%) gave no descriptor from :fd%(%)",
        refuses({ fd = function() return nil end }))
      assert.matches("bad argument #1 to 'poll' %(table expected, got string%)",
        raises(function() ipc.poll("r") end))
    end)

    it("a descriptor that is not open", function()
      local fd = 500
      while helper.fd_open(fd) do fd = fd + 1 end
      assert.matches("list%[2%] %(descriptor " .. fd .. "%) is not open", refuses(fd))
    end)

    it("a closed handle", function()
      local r, w = ipc.pipe()
      r:close()
      w:close()
      assert.matches("list%[2%] is a closed ipc%.pipe", refuses(r))
      local a, b = ipc.sock.pair()
      a:close()
      b:close()
      assert.matches("list%[2%] is a closed ipc%.sock", refuses({ a, "r" }))
      local p = track(assert(ipc.spawn({ "true" })))
      p:wait()
      p:close()
      assert.matches("list%[2%] is a closed ipc%.proc", refuses(p))
    end)

    it("a ring, saying why and what to do, and the ring keeps its message", function()
      local q = keep(ipc.ring.anon())
      assert(q:push("m"))
      local err = refuses(q)
      assert.matches("list%[2%] is an ipc%.ring, which has no pollable descriptor", err)
      assert.matches("futex", err)
      assert.matches("a timer or a thread", err)
      assert.equal("m", q:pop(0))
    end)

    it("a System V queue, which keeps its message", function()
      local q = keep(ipc.msg.create())
      assert(q:send(1, "m"))
      assert.matches("list%[2%] is a System V queue %(ipc%.msg%), which has no descriptor",
        refuses(q))
      assert.equal("m", q:receive(0, 0))
    end)

    it("a shared memory segment", function()
      assert.matches("list%[2%] is an ipc%.shm segment, which has no readiness to poll",
        refuses(keep(ipc.shm.anon(64))))
    end)

    it("a bad events string, or events a pipe end never has", function()
      local r, w = track(ipc.pipe())
      assert.matches("list%[2%] has bad events %('r', 'w' or 'rw' expected%)", refuses({ r, "x" }))
      assert.matches("list%[2%] has bad events %('r', 'w' or 'rw' expected%)", refuses({ r, 1 }))
      assert.matches("list%[2%] is a pipe's read end, which is never writable",
        refuses({ r, "w" }))
      assert.matches("list%[2%] is a pipe's write end, which is never readable",
        refuses({ w, "rw" }))
      assert.matches("list%[2%] is a table without an object at %[1%]", refuses({ nil, "r" }))
    end)

    it("a negative, NaN or non-number timeout, and no timeout with an empty list", function()
      local r = track(ipc.pipe())
      assert.equal("bad argument #2 to 'poll' (timeout must not be negative)",
        raises(function() ipc.poll({ r }, -1) end))
      assert.equal("bad argument #2 to 'poll' (timeout must not be negative)",
        raises(function() ipc.poll({ r }, 0 / 0) end))
      assert.equal("bad argument #2 to 'poll' (number expected, got string)",
        raises(function() ipc.poll({ r }, "1") end))
      assert.matches("the list is empty and there is no timeout",
        raises(function() ipc.poll({}) end))
    end)
  end)
end)
