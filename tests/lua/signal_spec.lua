-- signal_spec.lua: ipc.signal: Lua handlers run at safe points (dispatch,
-- interrupted waits, the count hook) from real signals sent by real child
-- processes; sigqueue values in order; floods with every drop counted;
-- dispositions; masks as sets; sigtimedwait; signalfd handles; SIGCHLD
-- without reaping; and every bad input named in the issue.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track
local S = ipc.signal

-- Signals the tests handle; after_each puts each one back as it was.
local USED = { "USR1", "USR2", "TERM", "HUP", "CHLD", "WINCH", "ALRM", "RTMIN",
  "RTMIN+1", "RTMIN+2", "RTMIN+5" }

local function spawn(what, opts)
  return track(assert(ipc.spawn(what, opts)))
end

-- The error message of fn(...), which must raise.
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return tostring(err)
end

-- Runs a Lua script in a fresh interpreter that finds the module where this
-- one did; returns its stdout, its stderr and its exit status.
local function run_script(script)
  local p = spawn({ helper.interpreter(), "-e",
    ("package.cpath = %q"):format(package.cpath), "-e", script },
    { stdout = "pipe", stderr = "pipe" })
  local out = p.stdout:read("a")
  local err = p.stderr:read("a")
  return out, err, p:wait()
end

-- The disposition of sig in this process, from /proc: "caught", "ignored"
-- or "default".
local function disposition(sig)
  local s = helper.read_file("/proc/" .. ipc.getpid() .. "/status")
  local function has(field)
    local mask = s:match(field .. ":%s*(%x+)")
    local pos = #mask - math.floor((sig - 1) / 4)
    local digit = tonumber(mask:sub(pos, pos), 16)
    return math.floor(digit / 2 ^ ((sig - 1) % 4)) % 2 == 1
  end
  return has("SigCgt") and "caught" or has("SigIgn") and "ignored" or "default"
end

local function cleanup()
  S.auto(false)
  S.eintr(false)
  S.onerror(nil)
  S.dispatch()
  for _, name in ipairs(USED) do S.restore(name) end
  S.unblock(USED)
  helper.cleanup()
end

describe("ipc.signal names", function()
  it("maps names and numbers both ways, RTMIN+k and RTMAX-k included", function()
    assert.equal(10, S.number("USR1"))
    assert.equal(10, S.number("SIGUSR1"))
    assert.equal(10, S.number("usr1"))
    assert.equal(10, S.number(10))
    assert.equal("USR1", S.name(10.0))
    assert.equal("USR1", S.name(10))
    assert.equal("USR1", S.name("sigusr1"))
    local rtmin = S.number("RTMIN")
    assert.equal(rtmin + 3, S.number("RTMIN+3"))
    assert.equal("RTMIN+3", S.name(rtmin + 3))
    assert.equal("RTMAX-2", S.name(S.number("RTMAX") - 2))
    for sig = 1, 64 do
      assert.equal(sig, S.number(S.name(sig)))
    end
    assert.is_nil(S.number("NOPE"))
    assert.is_nil(S.name(0))
    assert.is_nil(S.name(65))
  end)
end)

describe("ipc.signal handlers", function()
  after_each(cleanup)

  it("run at dispatch, in arrival order, as fn(name, info)", function()
    local got = {}
    local function h(name, info) got[#got + 1] = { name, info } end
    assert.is_true(S.handle("USR1", h))
    assert.is_true(S.handle(S.number("USR2"), h))
    assert.is_true(S.raise("USR1"))
    assert(S.queue(ipc.getpid(), "USR2", 42))
    assert.is_true(S.kill(ipc.getpid(), "USR1"))
    assert.equal(0, #got) -- nothing runs before a safe point
    assert.equal(3, S.dispatch())
    assert.equal(0, S.dispatch())
    assert.same({ "USR1", "USR2", "USR1" }, { got[1][1], got[2][1], got[3][1] })
    local info = got[2][2]
    assert.equal(S.number("USR2"), info.signo)
    assert.equal("USR2", info.name)
    assert.equal("SI_QUEUE", info.codename)
    assert.equal(42, info.value)
    assert.equal(ipc.getpid(), info.pid)
    assert.is_number(info.uid)
    assert.equal("SI_TKILL", got[1][2].codename)
    assert.equal("SI_USER", got[3][2].codename)
  end)

  it("counts 1000 sigqueue values sent by a child: none lost, in order", function()
    local got = {}
    assert(S.handle("RTMIN", function(_, info) got[#got + 1] = info.value end))
    local parent = ipc.getpid()
    local child = spawn(function()
      for i = 1, 1000 do
        local ok, _, code = S.queue(parent, "RTMIN", i)
        while not ok and code == ipc.EAGAIN do -- the kernel's queue is full
          helper.sleep(0.001)
          ok, _, code = S.queue(parent, "RTMIN", i)
        end
        if not ok then return 1 end
      end
      return 0
    end)
    -- The wait is interrupted by the signals: it runs the handlers.
    assert.same({ "exit", 0 }, { child:wait() })
    S.dispatch()
    assert.equal(1000, #got)
    for i = 1, 1000 do
      if got[i] ~= i then error(("record %d has value %s"):format(i, tostring(got[i]))) end
    end
    assert.equal(0, S.stats().dropped)
  end)

  it("run while the main code is blocked in a pipe read, which then completes", function()
    local r, w = track(assert(ipc.pipe()))
    local ack_r, ack_w = track(assert(ipc.pipe()))
    local from
    assert(S.handle("TERM", function(_, info)
      from = info.pid
      ack_w:write("ack\n")
    end))
    local parent = ipc.getpid()
    local child = spawn(function()
      helper.sleep(0.1)
      S.kill(parent, "TERM")
      -- The line comes only once the handler has run: during the read.
      ack_r:settimeout(5)
      w:write(ack_r:read("l") == "ack" and "done\n" or "late\n")
    end)
    assert.equal("done", r:read("l"))
    assert.equal(child.pid, from)
    assert.same({ "exit", 0 }, { child:wait() })
  end)

  it("replace the function on a second handle, and stop at unhandle", function()
    local which
    S.handle("USR1", function() which = "first" end)
    S.handle("USR1", function() which = "second" end)
    S.raise("USR1")
    assert.equal(1, S.dispatch())
    assert.equal("second", which)
    assert.is_true(S.unhandle("USR1"))
    assert.equal("default", disposition(S.number("USR1")))
  end)

  it("report a handler that raises, with its traceback, and run the others", function()
    local reports, ran = {}, {}
    S.onerror(function(msg, name) reports[#reports + 1] = { msg, name } end)
    S.handle("USR1", function() error("boom in the handler") end)
    S.handle("USR2", function() ran[#ran + 1] = "USR2" end)
    S.raise("USR1")
    S.raise("USR2")
    S.raise("USR1")
    assert.equal(3, S.dispatch())
    assert.same({ "USR2" }, ran)
    assert.equal(2, #reports)
    assert.equal("USR1", reports[1][2])
    assert.matches("boom in the handler", reports[1][1])
    assert.matches("stack traceback:", reports[1][1])
    local st = S.stats()
    assert.is_true(st.failed >= 2)
  end)

  it("report to stderr by default, and go on", function()
    local out, err, how, code = run_script [[
      local ipc = require "ipc"
      ipc.signal.handle("USR1", function() error("handler failed here") end)
      ipc.signal.handle("USR2", function() io.write("second ran;") end)
      ipc.signal.raise("USR1")
      ipc.signal.raise("USR2")
      io.write(ipc.signal.dispatch(), ";")
    ]]
    assert.same({ "exit", 0 }, { how, code })
    assert.equal("second ran;2;", out)
    assert.matches("ipc.signal: the handler of USR1 failed: .*handler failed here", err)
    assert.matches("stack traceback:", err)
  end)

  it("do nothing in a dispatch nested in a handler", function()
    local inner
    S.handle("USR1", function()
      S.raise("USR2")
      inner = S.dispatch()
    end)
    local n2 = 0
    S.handle("USR2", function() n2 = n2 + 1 end)
    S.raise("USR1")
    assert.equal(2, S.dispatch()) -- USR1's, then USR2's from the same dispatch
    assert.equal(0, inner)
    assert.equal(1, n2)
  end)

  it("get SIGCHLD without reaping: the process handle still waits its child", function()
    local infos = {}
    S.handle("CHLD", function(_, info) infos[#infos + 1] = info end)
    local child = spawn(function() return 7 end)
    -- The wait is interrupted by SIGCHLD, runs the handler, then reaps.
    assert.same({ "exit", 7 }, { child:wait() })
    S.dispatch()
    local mine
    for _, info in ipairs(infos) do
      if info.pid == child.pid then mine = info end
    end
    assert.is_table(mine)
    assert.equal("CLD_EXITED", mine.codename)
    assert.equal(7, mine.status)
    assert.equal("", helper.children())
  end)
end)

describe("ipc.signal floods", function()
  after_each(cleanup)

  it("count every drop when 10^5 signals come and nobody dispatches", function()
    local n = 0
    S.handle("USR2", function() n = n + 1 end)
    local before = S.stats()
    for _ = 1, 100000 do S.raise("USR2") end
    local st = S.stats()
    local kept = st.capacity - before.pending
    assert.equal(100000 - kept, st.dropped - before.dropped)
    assert.equal(100000 - kept, (st.dropped_by.USR2 or 0) - (before.dropped_by.USR2 or 0))
    S.dispatch()
    assert.equal(kept, n)
    -- Room again: nothing more is dropped.
    S.raise("USR2")
    assert.equal(1, S.dispatch())
    assert.equal(st.dropped, S.stats().dropped)
  end)

  it("survive 10^5 sigqueues from a child: handled + dropped = sent", function()
    local n = 0
    S.handle("RTMIN+2", function() n = n + 1 end)
    local before = S.stats().dropped
    local r, w = track(assert(ipc.pipe()))
    local parent = ipc.getpid()
    local child = spawn(function()
      local sent = 0
      for i = 1, 100000 do
        if S.queue(parent, "RTMIN+2", i) then sent = sent + 1 end
      end
      w:write(sent, "\n")
    end)
    local sent = tonumber(r:read("l"))
    assert.same({ "exit", 0 }, { child:wait() })
    S.dispatch()
    assert.is_true(sent > 0)
    assert.equal(sent, n + S.stats().dropped - before)
  end)
end)

describe("ipc.signal waits", function()
  after_each(cleanup)

  it("return EINTR in eintr mode, after the handlers ran; the data stays", function()
    local r, w = track(assert(ipc.pipe()))
    local ran = false
    S.handle("USR1", function() ran = true end)
    assert.is_false(S.eintr(true))
    local parent = ipc.getpid()
    local child = spawn(function()
      helper.sleep(0.1)
      S.kill(parent, "USR1")
      helper.sleep(0.1)
      w:write("later\n")
    end)
    assert.same({ nil, "read: interrupted system call", ipc.EINTR }, { r:read("l") })
    assert.is_true(ran)
    assert.is_true(S.eintr(false))
    assert.equal("later", r:read("l"))
    assert.same({ "exit", 0 }, { child:wait() })
  end)

  it("run handlers from a count hook in auto mode, and give the old hook back", function()
    local n = 0
    S.handle("USR1", function() n = n + 1 end)
    local calls = 0
    local function mine() calls = calls + 1 end
    debug.sethook(mine, "", 100000)
    assert.is_false(S.auto(true, 50))
    S.raise("USR1")
    local x = 0
    for i = 1, 2000 do x = x + i end -- pure Lua: no dispatch in sight
    assert.equal(1, n)
    assert.is_true(calls > 0, "the old hook was not chained")
    assert.is_true(S.auto(false))
    assert.equal(mine, (debug.gethook()))
    debug.sethook()
    S.raise("USR1")
    for i = 1, 2000 do x = x + i end
    assert.equal(2 * 2001000, x)
    assert.equal(1, n) -- off: nothing runs by itself
    assert.equal(1, S.dispatch())
  end)
end)

describe("ipc.signal dispositions", function()
  after_each(cleanup)

  it("ignore, default and restore, process-wide", function()
    local usr1 = S.number("USR1")
    assert.equal("default", disposition(usr1))
    S.handle("USR1", function() end)
    assert.equal("caught", disposition(usr1))
    assert.is_true(S.ignore("USR1"))
    assert.equal("ignored", disposition(usr1))
    S.raise("USR1") -- ignored: we live
    assert.equal(0, S.dispatch())
    assert.is_true(S.default("USR1"))
    assert.equal("default", disposition(usr1))
    assert.is_true(S.ignore("USR1"))
    assert.is_true(S.restore("USR1"))
    assert.equal("default", disposition(usr1))
  end)
end)

describe("ipc.signal sending", function()
  after_each(cleanup)

  it("gives ESRCH for a pid that does not exist", function()
    local child = spawn(function() return 0 end)
    local pid = child.pid
    child:wait()
    assert.same({ nil, "kill " .. pid .. ": no such process", ipc.ESRCH },
      { S.kill(pid, "TERM") })
    assert.same({ nil, "kill " .. pid .. ": no such process", ipc.ESRCH }, { S.kill(pid, 0) })
    assert.same({ nil, "queue " .. pid .. ": no such process", ipc.ESRCH },
      { S.queue(pid, "USR1", 1) })
  end)

  it("gives EPERM for a process an unprivileged sender may not signal", function()
    local script = [[
      local ipc = require "ipc"
      print(select(3, ipc.signal.kill(1, "TERM")), select(3, ipc.signal.kill(1, 0)),
            select(3, ipc.signal.queue(1, "USR1", 5)))
    ]]
    local argv = { helper.interpreter(), "-e",
      ("package.cpath = %q"):format(package.cpath), "-e", script }
    if helper.read_file("/proc/self/status"):match("\nUid:%s+0%s") then
      -- As root anything may be signalled: drop to nobody first.
      table.insert(argv, 1, "--clear-groups")
      table.insert(argv, 1, "--regid=65534")
      table.insert(argv, 1, "--reuid=65534")
      table.insert(argv, 1, "setpriv")
    end
    local p = spawn(argv, { stdout = "pipe" })
    local out = p.stdout:read("a")
    assert.same({ "exit", 0 }, { p:wait() })
    local e = tostring(ipc.EPERM)
    assert.equal(e .. "\t" .. e .. "\t" .. e .. "\n", out)
  end)

  it("checks that a pid exists with signal 0", function()
    assert.is_true(S.kill(ipc.getpid(), 0))
  end)
end)

describe("ipc.signal bad input", function()
  after_each(cleanup)
  local f = function() end

  it("raises for signal 0, negative numbers and unknown names", function()
    assert.matches("signal 0 is not a signal %(1%.%.64%)", raised(S.handle, 0, f))
    assert.matches("signal %-3 is not a signal %(1%.%.64%)", raised(S.handle, -3, f))
    assert.matches("signal 65 is not a signal", raised(S.raise, 65))
    assert.matches("signal %-1 is not a signal %(0%.%.64%)", raised(S.kill, 1, -1))
    assert.matches("unknown signal 'NOPE'", raised(S.handle, "NOPE", f))
    assert.matches("unknown signal 'RTMIN%+99'", raised(S.queue, 1, "RTMIN+99", 1))
    assert.matches("signal name or number expected, got table", raised(S.raise, {}))
    assert.matches("number has no integer representation", raised(S.raise, 10.5))
    assert.matches("signal 32 is reserved by the C library", raised(S.handle, 32, f))
    assert.matches("signal 0 is not a signal", raised(S.raise, 0))
    assert.matches("unknown signal 'NOPE'", raised(S.block, { "USR1", "NOPE" }))
    assert.matches("the set is empty", raised(S.wait, {}, 0))
    assert.matches("the set is empty", raised(S.open, { USR1 = false }))
    assert.matches("pid must be positive", raised(S.queue, 0, "USR1", 1))
    assert.matches("number has no integer representation", raised(S.queue, 1, "USR1", 1.5))
    -- Nothing was installed by the refusals.
    assert.equal("default", disposition(S.number("USR1")))
    assert.is_nil(next(S.stats().signals))
  end)

  it("raises for a handler that is not a function", function()
    assert.matches("function expected, got no value", raised(S.handle, "USR1"))
    assert.matches("function expected, got nil", raised(S.handle, "USR1", nil))
    assert.matches("function expected, got string", raised(S.handle, "USR1", "print"))
    assert.equal("default", disposition(S.number("USR1")))
  end)

  it("refuses SIGKILL and SIGSTOP with a clear message", function()
    for _, name in ipairs { "KILL", "STOP", "SIGKILL", 9, 19 } do
      local want = "SIG" .. ((name == "STOP" or name == 19) and "STOP" or "KILL")
        .. " cannot be caught, blocked or ignored"
      assert.matches(want, raised(S.handle, name, f))
      assert.matches(want, raised(S.ignore, name))
      assert.matches(want, raised(S.default, name))
      assert.matches(want, raised(S.block, name))
      assert.matches(want, raised(S.open, { name }))
    end
  end)

  it("raises for a bad count, eintr or onerror value", function()
    assert.matches("count must be", raised(S.auto, true, 0))
    assert.matches("boolean expected", raised(S.auto, "yes"))
    assert.matches("boolean expected", raised(S.eintr, 1))
    assert.matches("function expected", raised(S.onerror, 5))
  end)
end)

describe("ipc.signal masks and waits", function()
  after_each(cleanup)

  it("blocks and unblocks sets, returning the old mask", function()
    local old = S.block({ "USR1", HUP = true, [S.number("RTMIN+5")] = true })
    assert.is_nil(old.USR1)
    local now = S.mask()
    assert.is_true(now.USR1 and now.HUP and now["RTMIN+5"])
    assert.equal("{HUP, USR1, RTMIN+5}", tostring(S.unblock({ "HUP", "USR1", "RTMIN+5" })))
    assert.is_nil(S.mask().USR1)
  end)

  it("keeps a blocked signal pending, and wait takes it with its info", function()
    S.block("USR1")
    S.queue(ipc.getpid(), "USR1", 7)
    assert.is_true(S.pending().USR1)
    local name, info = S.wait({ "USR1", "USR2" }, 1)
    assert.equal("USR1", name)
    assert.equal(7, info.value)
    assert.is_nil(S.pending().USR1)
  end)

  it("wait blocks its set during the call and times out with ETIMEDOUT", function()
    assert.same({ nil, "wait: timed out", ipc.ETIMEDOUT }, { S.wait("WINCH", 0.05) })
    assert.is_nil(S.mask().WINCH) -- unblocked again
    S.block("RTMIN+1") -- before the child may send it: the default kills
    local parent = ipc.getpid()
    local child = spawn(function()
      helper.sleep(0.05)
      S.queue(parent, "RTMIN+1", 99)
    end)
    local name, info = S.wait("RTMIN+1", 5)
    assert.equal("RTMIN+1", name)
    assert.equal(99, info.value)
    assert.equal(child.pid, info.pid)
    child:wait()
  end)
end)

describe("ipc.sigfd", function()
  after_each(cleanup)

  it("reads blocked signals, shows its state, and puts the mask back", function()
    local h = assert(S.open({ "HUP", "USR2" }))
    assert.matches("^ipc%.sigfd %({HUP, USR2}, fd %d+%)$", tostring(h))
    assert.is_true(helper.fd_open(h:fd()))
    assert.is_true(S.mask().HUP)
    S.queue(ipc.getpid(), "USR2", 3)
    local name, info = h:read(1)
    assert.equal("USR2", name)
    assert.equal(3, info.value)
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { h:read(0.02) })
    local fd = h:fd()
    assert.is_true(h:close())
    assert.is_false(helper.fd_open(fd))
    assert.equal("ipc.sigfd (closed)", tostring(h))
    assert.is_nil(S.mask().HUP)
    assert.has_error(function() h:read(0) end, "attempt to use a closed ipc.sigfd")
    assert.has_error(function() h:close() end, "attempt to use a closed ipc.sigfd")
  end)
end)

describe("ipc.signal.stats", function()
  after_each(cleanup)

  it("shows what this state handles, receives, runs and drops", function()
    S.handle("USR1", function() end)
    local st = S.stats()
    assert.same({ USR1 = true }, setmetatable(st.signals, nil))
    assert.equal(1024, st.capacity)
    for _, k in ipairs { "received", "dropped", "pending", "handled", "failed" } do
      assert.is_number(st[k])
    end
    assert.is_table(st.dropped_by)
    assert.is_number(S.fd())
  end)
end)
