-- loop_spec.lua: ipc.loop over real pipes, FIFOs, sockets, POSIX queues,
-- signals and child processes: callbacks and their events, timers, stop,
-- errors reported with their traceback (and stop_on_error), coroutine
-- callbacks and tasks, every bad input with its message and nothing left
-- behind, and one loop that multiplexes all of them at once.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- Loops: after_each closes them, then helper.cleanup closes and removes
-- the handles, queues and FIFOs the tests kept, whatever happened.
local keep = helper.keep
local loops = {}

local function cleanup()
  for i = #loops, 1, -1 do
    loops[i]:close()
    loops[i] = nil
  end
  helper.cleanup()
end

local function new_loop(opts)
  local loop = ipc.loop(opts)
  loops[#loops + 1] = loop
  return loop
end

-- A loop whose callback errors are collected instead of printed.
local function quiet_loop(opts)
  local errors = {}
  opts = opts or {}
  opts.onerror = function(err, w) errors[#errors + 1] = { err = err, w = w } end
  return new_loop(opts), errors
end

local function qname(tag) return helper.mq_name("loop", tag) end

-- A FIFO with a child that opens it for writing and runs fn(w) in it.
local function fifo_child(tag, fn)
  local path = helper.fifo_path("loop", tag)
  assert(ipc.fifo.create(path))
  local p = track(assert(ipc.spawn(function()
    local w = assert(ipc.fifo.open(path, "w", { timeout = 10 }))
    fn(w)
  end)))
  local r = track(assert(ipc.fifo.open(path, "r", { timeout = 10 })))
  return r, p
end

-- The message of the error f(...) raises, from "bad argument" on.
local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "did not raise")
  local msg = (tostring(err):match("bad argument.*$") or tostring(err)):gsub("to 'ipc%.", "to '")
  return msg
end

-- The words of a list of strings, for comparisons.
local function words(list) return table.concat(list, " ") end

describe("ipc.loop", function()
  after_each(cleanup)

  it("is built in: it loads without package.path, once per state", function()
    local saved = package.path
    package.path = ""
    local ok, loop = pcall(ipc.loop)
    package.path = saved
    assert.is_true(ok, tostring(loop))
    assert.matches("^ipc%.loop %(0 watchers, 0 signals, 0 timers%)$", tostring(loop))
    local ctor = debug.getregistry()["ipc.loop"]
    assert.equal("function", type(ctor))
    ipc.loop()
    assert.equal(ctor, debug.getregistry()["ipc.loop"])
  end)

  it("returns true at once when nothing is left to wait for", function()
    local t0 = ipc.now()
    assert.is_true(new_loop():run())
    assert.is_true(ipc.now() - t0 < 0.5)
  end)

  describe("readable and writable", function()
    it("calls back with each line a child writes, and ends when the pipe is closed", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe())
      local p = track(assert(ipc.spawn(function()
        for i = 1, 3 do
          w:write("line ", i, "\n")
          ipc.sleep(0.05)
        end
      end)))
      w:close()
      local got, events = {}, {}
      loop:on_readable(r, function(ev)
        events[#events + 1] = ev
        local line = r:read("l")
        if line then got[#got + 1] = line else r:close() end
      end)
      assert.is_true(loop:run())
      assert.same({ "line 1", "line 2", "line 3" }, got)
      assert.equal(r, events[1].obj)
      assert.equal("readable", events[1].type)
      assert.is_true(events[1].readable)
      assert.is_true(events[#events].hangup) -- the end of file
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("reads every line of a burst, with bytes the pipe handle buffered", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe())
      assert(w:write("a\nb\nc\n"))
      w:close()
      local got = {}
      loop:on_readable(r, function()
        local line = r:read("l") -- takes all three from the kernel at once
        if line then got[#got + 1] = line else r:close() end
      end)
      assert.is_true(loop:run())
      assert.equal("a b c", words(got))
    end)

    it("calls on_writable while there is room, until cancelled", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe({ nonblock = true }))
      local n = 0
      loop:on_writable(w, function(ev, watcher)
        assert.equal("writable", ev.type)
        assert.equal(w, ev.obj)
        n = n + 1
        w:write("x")
        if n == 5 then assert.is_true(watcher:cancel()) end
      end)
      assert.is_true(loop:run())
      assert.equal(5, n)
      assert.equal("xxxxx", r:read(5))
    end)

    it("watches a FIFO, a socket and a POSIX queue", function()
      local loop = new_loop()
      local got = {}
      local r, p = fifo_child("f", function(w) w:write("fifo\n") end)
      loop:on_readable(r, function()
        local line = r:read("l")
        if line then got[#got + 1] = line else r:close() end
      end)
      local a, b = ipc.sock.pair()
      keep(a)
      keep(b)
      loop:on_readable(a, function(_, watcher)
        got[#got + 1] = a:recv()
        watcher:cancel()
      end)
      local q = keep(ipc.mq.create(qname("q"), { maxmsg = 2, msgsize = 16 }))
      loop:on_readable(q, function(_, watcher)
        got[#got + 1] = (q:receive(0))
        watcher:cancel()
      end)
      loop:after(0.05, function()
        b:send("sock")
        q:send("mq")
      end)
      assert.is_true(loop:run())
      table.sort(got)
      assert.equal("fifo mq sock", words(got))
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("on_exit", function()
    it("reaps the child and passes how it exited", function()
      local loop = new_loop()
      local p = track(assert(ipc.spawn({ "sh", "-c", "sleep 0.1; exit 3" })))
      local pid = p.pid
      local got
      loop:on_exit(p, function(ev) got = ev end)
      assert.is_true(loop:run())
      assert.equal("exit", got.type)
      assert.equal(p, got.proc)
      assert.equal("exit", got.status)
      assert.equal(3, got.code)
      -- reaped: no zombie is left among this process's children
      assert.is_nil(helper.children():match("%f[%d]" .. pid .. "%f[%D]"))
    end)

    it("passes the signal that killed the child", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe())
      local p = track(assert(ipc.spawn(function() r:read(1) end)))
      local got
      loop:on_exit(p, function(ev) got = ev end)
      loop:after(0.05, function() p:kill("KILL") end)
      assert.is_true(loop:run())
      assert.equal("signal", got.status)
      assert.equal(9, got.signal)
      assert.is_false(got.core_dumped)
      w:close()
    end)
  end)

  describe("on_signal", function()
    local USR1 = ipc.signal.number("USR1")

    it("calls back for a signal a child sends while the loop waits, then restores it", function()
      assert.is_false(helper.catches(USR1))
      local loop = new_loop()
      local parent = ipc.getpid()
      local got, guard
      loop:on_signal("USR1", function(ev, w)
        got = ev
        w:cancel()
        guard:cancel()
      end)
      assert.is_true(helper.catches(USR1))
      -- The guard keeps the loop in a poll with a timeout: the signal has to
      -- cut it short.
      guard = loop:after(10, function() loop:stop() end)
      local p = track(assert(ipc.spawn(function()
        ipc.sleep(0.2)
        assert(ipc.signal.kill(parent, "USR1"))
      end)))
      local t0 = ipc.now()
      assert.is_true(loop:run())
      assert.is_true(ipc.now() - t0 < 5, "the signal did not wake the loop")
      assert.equal("signal", got.type)
      assert.equal(USR1, got.signal)
      assert.equal("USR1", got.name)
      assert.equal(p.pid, got.info.pid)
      assert.is_false(helper.catches(USR1)) -- the last watcher restored it
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("delivers a signal raised inside a callback at the next turn", function()
      local loop = new_loop()
      local got = {}
      loop:on_signal("USR2", function(ev, w)
        got[#got + 1] = ev.name
        w:cancel()
      end)
      loop:after(0.01, function()
        assert(ipc.signal.raise("USR2"))
        got[#got + 1] = "raised"
      end)
      assert.is_true(loop:run())
      assert.equal("raised USR2", words(got))
    end)

    it("resumes a coroutine callback with each delivery", function()
      local loop = new_loop()
      local names = {}
      loop:on_signal(USR1, coroutine.create(function(ev)
        names[#names + 1] = ev.name
        ev = coroutine.yield()
        names[#names + 1] = ev.name
      end))
      loop:after(0.01, function() ipc.signal.raise("USR1") end)
      loop:after(0.05, function() ipc.signal.raise("USR1") end)
      assert.is_true(loop:run()) -- ends: the coroutine finished
      assert.equal("USR1 USR1", words(names))
      assert.is_false(helper.catches(USR1))
    end)
  end)

  describe("timers", function()
    it("runs after-timers once, in the order they are due", function()
      local loop = new_loop()
      local got = {}
      loop:after(0.15, function() got[#got + 1] = "c" end)
      loop:after(0.05, function() got[#got + 1] = "a" end)
      loop:after(0.1, function(ev)
        assert.equal("timer", ev.type)
        got[#got + 1] = "b"
      end)
      local t0 = ipc.now()
      assert.is_true(loop:run())
      local dt = ipc.now() - t0
      assert.equal("a b c", words(got))
      assert.is_true(dt >= 0.15 and dt < 2, "took " .. dt)
    end)

    it("repeats every-timers until cancelled, and a cancelled timer never runs", function()
      local loop = new_loop()
      local n = 0
      local t = loop:every(0.02, function(_, timer)
        n = n + 1
        if n == 4 then timer:cancel() end
      end)
      local never = loop:after(0.05, function() error("cancelled, yet ran") end)
      assert.is_true(never:cancel())
      assert.is_false(never:cancel())
      local t0 = ipc.now()
      assert.is_true(loop:run())
      assert.equal(4, n)
      assert.is_true(ipc.now() - t0 >= 0.08)
      assert.matches("cancelled", tostring(t))
    end)
  end)

  describe("stop", function()
    it("makes run return after the current callback; run goes on later", function()
      local loop = new_loop()
      local got = {}
      loop:every(0.02, function()
        got[#got + 1] = "tick"
        loop:stop()
      end)
      assert.is_true(loop:run())
      assert.equal(1, #got)
      assert.is_true(loop:run())
      assert.equal(2, #got)
    end)
  end)

  describe("callback errors", function()
    it("are reported with their traceback, and the loop goes on", function()
      local loop, errors = quiet_loop()
      local ran = false
      local function failing_callback() error("boom") end
      local t = loop:after(0.01, function() failing_callback() end)
      loop:after(0.05, function() ran = true end)
      assert.is_true(loop:run())
      assert.is_true(ran)
      assert.equal(1, #errors)
      assert.matches("boom", errors[1].err)
      assert.matches("stack traceback", errors[1].err)
      assert.matches("failing_callback", errors[1].err)
      assert.equal(t, errors[1].w)
    end)

    it("go to io.stderr by default", function()
      local code = [[
        local ipc = require "ipc"
        local loop = ipc.loop()
        local function faulty() error("kaput") end
        loop:after(0, function() faulty() end)
        loop:after(0.02, function() io.write("still running\n") end)
        io.write(tostring(loop:run()), "\n")
      ]]
      local p = track(assert(ipc.spawn({ helper.interpreter(), "-e", code },
        { stdout = "pipe", stderr = "pipe" })))
      local out = p.stdout:read("a")
      local err = p.stderr:read("a")
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal("still running\ntrue\n", out)
      assert.matches("^ipc%.loop: error in callback: [^\n]*kaput\nstack traceback:\n", err)
      assert.matches("faulty", err)
    end)

    it("stop the loop with stop_on_error: run returns nil and the error", function()
      local loop, errors = quiet_loop({ stop_on_error = true })
      local later = false
      loop:after(0.01, function() error("fatal") end)
      loop:after(0.05, function() later = true end)
      local ok, err = loop:run()
      assert.is_nil(ok)
      assert.matches("fatal", err)
      assert.matches("stack traceback", err)
      assert.is_false(later)
      assert.equal(1, #errors)
    end)
  end)

  describe("coroutines", function()
    it("a coroutine callback is resumed with each event and removed when it ends", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe())
      local got = {}
      loop:on_readable(r, coroutine.create(function(ev)
        for i = 1, 3 do
          assert.equal(r, ev.obj)
          got[#got + 1] = r:read("l")
          if i < 3 then ev = coroutine.yield() end
        end
      end))
      local i = 0
      loop:every(0.02, function(_, t)
        i = i + 1
        w:write("m", i, "\n")
        if i == 3 then t:cancel() end
      end)
      assert.is_true(loop:run()) -- ends: the coroutine finished, r is unwatched
      assert.equal("m1 m2 m3", words(got))
      assert.matches("^ipc%.loop %(0 watchers", tostring(loop))
    end)

    it("a coroutine callback's error is reported with its traceback", function()
      local loop, errors = quiet_loop()
      local co = coroutine.create(function()
        coroutine.yield()
        error("in the coroutine")
      end)
      loop:every(0.01, co)
      assert.is_true(loop:run())
      assert.equal(1, #errors)
      assert.matches("in the coroutine", errors[1].err)
      assert.matches("stack traceback", errors[1].err)
    end)

    it("a task waits for readiness and time in straight-line code", function()
      local loop = new_loop()
      local r, w = track(ipc.pipe())
      local steps = {}
      loop:task(function(a, b)
        steps[#steps + 1] = a .. b
        local ev = loop:wait(r)
        steps[#steps + 1] = r:read("l")
        assert.is_true(ev.readable)
        local t0 = ipc.now()
        loop:sleep(0.05)
        steps[#steps + 1] = ipc.now() - t0 >= 0.05 and "slept" or "woke early"
        local ok, msg, code = loop:wait(r, "r", 0.05)
        assert.is_nil(ok)
        assert.equal("wait: timed out", msg)
        assert.equal(ipc.ETIMEDOUT, code)
        steps[#steps + 1] = "timed out"
      end, "st", "art")
      loop:after(0.02, function() w:write("data\n") end)
      assert.equal("start", steps[1]) -- ran at once, up to its first wait
      assert.is_true(loop:run())
      assert.equal("start data slept timed out", words(steps))
    end)

    it("wait and sleep outside a task raise", function()
      local loop = new_loop()
      local r = track(ipc.pipe())
      assert.matches("loop:wait must be called from a task of this loop",
        raises(loop.wait, loop, r))
      assert.matches("loop:sleep must be called from a task of this loop",
        raises(loop.sleep, loop, 1))
    end)
  end)

  describe("refuses", function()
    -- Each bad input raises at once, registers nothing, and opens or
    -- closes no descriptor.
    local function refuses(f, ...)
      local loop = new_loop()
      local fds = helper.fd_count()
      local err = raises(f, loop, ...)
      assert.equal(fds, helper.fd_count())
      assert.equal("ipc.loop (0 watchers, 0 signals, 0 timers)", tostring(loop))
      return err
    end
    local L = ipc.loop()
    local noop = function() end

    it("an object that is not pollable", function()
      assert.matches("bad argument #1 to 'on_readable' %(object must be a descriptor",
        refuses(L.on_readable, "x", noop))
      local q = keep(ipc.ring.anon())
      assert.matches("bad argument #1 to 'on_readable' %(object is an ipc%.ring, which has no "
        .. "pollable descriptor", refuses(L.on_readable, q, noop))
      local m = keep(ipc.msg.create())
      assert(m:send(1, "kept"))
      assert.matches("object is a System V queue", refuses(L.on_readable, m, noop))
      assert.equal("kept", m:receive(0, 0))
      local r = track(ipc.pipe())
      assert.matches("bad argument #1 to 'on_writable' %(object is a pipe's read end",
        refuses(L.on_writable, r, noop))
    end)

    it("a closed handle", function()
      local r, w = ipc.pipe()
      r:close()
      w:close()
      assert.matches("bad argument #1 to 'on_readable' %(object is a closed ipc%.pipe%)",
        refuses(L.on_readable, r, noop))
    end)

    it("a callback that is not a function or a suspended coroutine", function()
      local r = track(ipc.pipe())
      assert.matches("bad argument #2 to 'on_readable' %(function or coroutine expected, got nil%)",
        refuses(L.on_readable, r, nil))
      assert.matches("bad argument #2 to 'after' %(function or coroutine expected, got string%)",
        refuses(L.after, 1, "f"))
      local dead = coroutine.create(noop)
      coroutine.resume(dead)
      assert.matches("bad argument #2 to 'every' %(the coroutine is dead, not suspended%)",
        refuses(L.every, 1, dead))
    end)

    it("bad times", function()
      assert.matches("bad argument #1 to 'after' %(seconds must not be negative%)",
        refuses(L.after, -1, noop))
      assert.matches("bad argument #1 to 'every' %(seconds must be positive%)",
        refuses(L.every, 0, noop))
      assert.matches("bad argument #1 to 'after' %(number expected, got nil%)",
        refuses(L.after, nil, noop))
    end)

    it("a signal that is unknown or cannot be caught, installing nothing", function()
      assert.matches("bad argument #1 to 'on_signal' %(unknown signal 'NOPE'%)",
        refuses(L.on_signal, "NOPE", noop))
      assert.matches("bad argument #1 to 'on_signal' %(SIGKILL cannot be caught",
        refuses(L.on_signal, "KILL", noop))
      assert.matches("bad argument #2 to 'on_signal' %(function or coroutine expected, got nil%)",
        refuses(L.on_signal, "USR1", nil))
      assert.is_false(helper.catches(ipc.signal.number("USR1")))
    end)

    it("on_exit on something that is not a process", function()
      local r = track(ipc.pipe())
      assert.matches("bad argument #1 to 'on_exit' %(ipc%.proc expected, got ipc%.pipe%)",
        refuses(L.on_exit, r, noop))
    end)

    it("bad options, and run inside run", function()
      assert.matches("unknown option 'stop_on_eror'", raises(ipc.loop, { stop_on_eror = true }))
      assert.matches("onerror must be a function", raises(ipc.loop, { onerror = "x" }))
      assert.matches("stop_on_error must be a boolean", raises(ipc.loop, { stop_on_error = 1 }))
      local loop, errors = quiet_loop()
      loop:after(0, function() loop:run() end)
      assert.is_true(loop:run())
      assert.matches("the loop is already running", errors[1].err)
    end)
  end)

  -- The issue's test: one loop, five kinds of event from one child.
  it("multiplexes a pipe, a FIFO, a socket, a signal and a child exit", function()
    local loop = new_loop()
    local parent = ipc.getpid()
    local path = helper.fifo_path("loop", "all")
    assert(ipc.fifo.create(path))
    local pr, pw = track(ipc.pipe())
    local sa, sb = ipc.sock.pair()
    keep(sa)
    keep(sb)
    local p = track(assert(ipc.spawn(function()
      local fw = assert(ipc.fifo.open(path, "w", { timeout = 10 }))
      pw:write("by pipe\n")
      ipc.sleep(0.03)
      fw:write("by fifo\n")
      ipc.sleep(0.03)
      sb:send("by socket")
      ipc.sleep(0.03)
      assert(ipc.signal.kill(parent, "USR1"))
      ipc.sleep(0.03)
      os.exit(7)
    end)))
    pw:close()
    sb:close()
    local fr = track(assert(ipc.fifo.open(path, "r", { timeout = 10 })))
    local got, done, guard = {}, 0, nil
    local function finished()
      done = done + 1
      if done == 5 then guard:cancel() end
    end
    local function lines(r, tag)
      loop:on_readable(r, function()
        local line = r:read("l")
        if line then
          got[#got + 1] = tag .. ": " .. line
        else
          r:close() -- the end of file: closing ends the watcher
          finished()
        end
      end)
    end
    lines(pr, "pipe")
    lines(fr, "fifo")
    loop:on_readable(sa, function(_, w)
      local data = sa:recv()
      if data then -- nil at the end of the stream
        got[#got + 1] = "sock: " .. data
      else
        w:cancel()
        finished()
      end
    end)
    loop:on_signal("USR1", function(ev, w)
      local from = ev.info.pid == p.pid and "the child" or "?"
      got[#got + 1] = "signal: " .. ev.name .. " from " .. from
      w:cancel()
      finished()
    end)
    loop:on_exit(p, function(ev)
      got[#got + 1] = "exit: " .. ev.status .. " " .. ev.code
      finished()
    end)
    guard = loop:after(10, function() loop:stop() end)
    assert.is_true(loop:run())
    assert.equal(5, done, table.concat(got, "; "))
    table.sort(got)
    assert.same({
      "exit: exit 7",
      "fifo: by fifo",
      "pipe: by pipe",
      "signal: USR1 from the child",
      "sock: by socket",
    }, got)
    assert.is_nil(helper.children():match("%f[%d]" .. p.pid .. "%f[%D]")) -- reaped
    assert.is_false(helper.catches(ipc.signal.number("USR1")))
  end)

  it("drops the watchers of an object closed without cancelling them", function()
    local loop = new_loop()
    local r, w = track(ipc.pipe())
    loop:on_readable(r, function() end)
    loop:after(0.02, function()
      r:close()
      w:close()
    end)
    assert.is_true(loop:run())
    assert.equal("ipc.loop (0 watchers, 0 signals, 0 timers)", tostring(loop))
  end)
end)
