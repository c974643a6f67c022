-- sem_spec.lua: ipc.sem, ipc.semset and ipc.mutex: named and in-segment
-- POSIX semaphores, System V sets with undo, the robust mutex; each between
-- real processes, with timeouts, Ctrl-C, dying owners, every bad input, and
-- System V sets shared with Perl's IPC::Semaphore.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

local PEER = dir .. "/../interop/sem_peer.pl"

-- A monotonic clock when lua-system (a busted dependency) is there.
local now
do
  local ok, system = pcall(require, "system")
  if ok and type(system) == "table" and system.monotime then now = system.monotime end
end

-- What each test made, removed by after_each even when the test failed.
local names, handles, set_ids = {}, {}, {}

-- A name unique to this process and test ("/libipc-spec-sem-<pid>-tag").
local prefix = "libipc-spec-sem-" .. ipc.getpid() .. "-"
local function tname(tag)
  local name = "/" .. prefix .. tag
  names[#names + 1] = name
  ipc.sem.unlink(name) -- a previous run's leftover
  ipc.shm.unlink(name)
  return name
end

-- Registers a handle (ipc.sem, ipc.semset, ipc.mutex, ipc.shm) for closing,
-- and a set for removal; returns it. Takes what a constructor returned.
local function keep(h, ...)
  assert(h, ...)
  handles[#handles + 1] = h
  if tostring(h):match("^ipc%.semset") then set_ids[#set_ids + 1] = h:id() end
  return h
end

local function is_open(h) return not tostring(h):find("closed", 1, true) end

local function cleanup()
  for i = #handles, 1, -1 do
    local h = handles[i]
    handles[i] = nil
    if is_open(h) then
      if tostring(h):match("^ipc%.mutex") then h:unlock() end
      h:close()
    end
  end
  for i = #set_ids, 1, -1 do
    local s = ipc.semset.open({ id = set_ids[i] }, 0)
    if s then
      s:remove()
      s:close()
    end
    set_ids[i] = nil
  end
  for i = #names, 1, -1 do
    ipc.sem.unlink(names[i])
    ipc.shm.unlink(names[i])
    names[i] = nil
  end
  helper.cleanup()
end

-- A System V key unique to this process, with no set under it.
local function tkey(tag)
  local key = 0x53500000 + (ipc.getpid() % 0x10000) * 16 + tag
  local old = ipc.semset.open(key, 0)
  if old then
    old:remove()
    old:close()
  end
  return key
end

-- Whether glibc's file of the named semaphore exists.
local function exists(name)
  local f = io.open("/dev/shm/sem." .. name:sub(2))
  if f then f:close() end
  return f ~= nil
end

local function run(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

-- This process's entries in /dev/shm (semaphores and segments).
local function mine()
  return run("ls -A /dev/shm | grep -F " .. prefix .. " || true")
end

-- The message of the error that f raises, from "bad argument" on.
local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err:match("calling.*$") or err:match("attempt.*$") or err
end

-- A process running fn, tracked for cleanup.
local function spawn(fn)
  return track(assert(ipc.spawn(fn)))
end

local function perl(...)
  local args = { ... }
  for i = 1, #args do args[i] = ("%q"):format(tostring(args[i])) end
  return (run("perl " .. PEER .. " " .. table.concat(args, " ") .. " 2>&1"):gsub("%s+$", ""))
end

describe("ipc.sem", function()
  after_each(cleanup)

  describe("named semaphores", function()
    it("creates one with its value and mode, opens it and unlinks it", function()
      local name = tname("basic")
      local s = keep(ipc.sem.create(name, 2, "640"))
      assert.is_true(exists(name))
      assert.equal("640", (run("stat -c %a /dev/shm/sem." .. name:sub(2)):gsub("%s+$", "")))
      assert.equal(("ipc.sem (%s, value 2)"):format(name), tostring(s))
      assert.equal(name, s:name())
      assert.equal(2, s:value())
      local t = keep(ipc.sem.open(name))
      assert.is_true(t:wait())
      assert.equal(1, s:value())
      assert.is_true(ipc.sem.unlink(name))
      assert.is_false(exists(name))
      assert.is_true(s:post()) -- open handles go on
      assert.equal(2, t:value())
      assert.equal("", mine())
    end)

    it("creates exclusively, with mode 0600 by default, leaving an existing one alone", function()
      local name = tname("excl")
      local s = keep(ipc.sem.create(name, 5))
      assert.equal("600", (run("stat -c %a /dev/shm/sem." .. name:sub(2)):gsub("%s+$", "")))
      assert.same({ nil, "create " .. name .. ": file exists", ipc.EEXIST },
        { ipc.sem.create(name, 1) })
      assert.equal(5, s:value())
    end)

    it("gives ENOENT for a name that does not exist", function()
      local name = tname("none")
      assert.same({ nil, "open " .. name .. ": no such file or directory", ipc.ENOENT },
        { ipc.sem.open(name) })
      assert.same({ nil, "unlink " .. name .. ": no such file or directory", ipc.ENOENT },
        { ipc.sem.unlink(name) })
    end)

    it("takes with wait and trywait, gives with post", function()
      local s = keep(ipc.sem.create(tname("ops"), 2))
      assert.is_true(s:wait())
      assert.is_true(s:trywait())
      assert.same({ nil, "trywait " .. s:name() .. ": resource temporarily unavailable",
        ipc.EAGAIN }, { s:trywait() })
      assert.same({ nil, "wait " .. s:name() .. ": timed out", ipc.ETIMEDOUT }, { s:wait(0) })
      assert.is_true(s:post())
      assert.is_true(s:wait(1))
      assert.equal(0, s:value())
    end)

    it("waits for its timeout, then gives ETIMEDOUT", function()
      local s = keep(ipc.sem.create(tname("timeout"), 0))
      local t0 = now and now()
      local ok, _, code = s:wait(0.15)
      assert.is_nil(ok)
      assert.equal(ipc.ETIMEDOUT, code)
      if now then
        local dt = now() - t0
        assert.is_true(dt >= 0.14 and dt < 2, "waited " .. dt)
      end
    end)

    it("gives EOVERFLOW when posted past its maximum, and keeps its value", function()
      local s = keep(ipc.sem.create(tname("max"), ipc.sem.VALUE_MAX))
      assert.same({ nil, "post " .. s:name() .. ": value too large for defined data type",
        ipc.EOVERFLOW }, { s:post() })
      assert.equal(ipc.sem.VALUE_MAX, s:value())
    end)

    it("lets two processes play ping-pong", function()
      local ping, pong = tname("ping"), tname("pong")
      local a = keep(ipc.sem.create(ping))
      local b = keep(ipc.sem.create(pong))
      local p = spawn(function()
        local x = assert(ipc.sem.open(ping))
        local y = assert(ipc.sem.open(pong))
        for _ = 1, 200 do
          assert(x:wait(5))
          assert(y:post())
        end
      end)
      for _ = 1, 200 do
        assert.is_true(a:post())
        assert.is_true(b:wait(5))
      end
      assert.same({ "exit", 0 }, { p:wait(5) })
      assert.equal(0, a:value())
    end)

    it("refuses bad names, values and modes, leaving nothing behind", function()
      assert.equal("bad argument #1 to 'create' (name must start with '/')",
        raises(function() ipc.sem.create("x") end))
      assert.equal("bad argument #1 to 'create' (name has a second '/')",
        raises(function() ipc.sem.create("/a/b") end))
      assert.equal("bad argument #1 to 'open' (name is empty)",
        raises(function() ipc.sem.open("") end))
      assert.equal("bad argument #1 to 'unlink' (name has nothing after its '/')",
        raises(function() ipc.sem.unlink("/") end))
      local name = tname("bad")
      assert.equal("bad argument #2 to 'create' (initial value must be 0..2147483647)",
        raises(function() ipc.sem.create(name, -1) end))
      assert.equal("bad argument #2 to 'create' (initial value must be 0..2147483647)",
        raises(function() ipc.sem.create(name, 2 ^ 31) end))
      assert.matches("bad argument #3 to 'create' %(mode must be 0..0777",
        raises(function() ipc.sem.create(name, 0, "999") end))
      assert.equal("", mine())
    end)

    it("raises on a closed handle and shows it closed", function()
      local s = keep(ipc.sem.create(tname("closed")))
      assert.is_true(s:close())
      assert.equal("ipc.sem (closed)", tostring(s))
      for _, f in ipairs {
        function() s:wait() end, function() s:trywait() end, function() s:post() end,
        function() s:value() end, function() s:name() end, function() s:close() end,
      } do
        assert.equal("attempt to use a closed ipc.sem", raises(f))
      end
      assert.matches("ipc.sem expected, got ipc.shm",
        raises(function() s.wait(keep(ipc.shm.anon(64))) end))
    end)
  end)

  describe("in a segment", function()
    it("is shared with a child through an anonymous segment", function()
      local seg = keep(ipc.shm.anon(4096))
      local s = keep(ipc.sem.in_shm(seg, 0))
      local done = keep(ipc.sem.in_shm(seg, ipc.sem.SIZE, 0))
      assert.equal("ipc.sem (in a segment, value 0)", tostring(s))
      assert.is_nil(s:name())
      local p = spawn(function()
        for _ = 1, 50 do assert(s:wait(5)) end
        assert(done:post())
      end)
      for _ = 1, 50 do assert.is_true(s:post()) end
      assert.is_true(done:wait(5))
      assert.same({ "exit", 0 }, { p:wait(5) })
    end)

    it("is found with attach by a process that opens the segment by name", function()
      local name = tname("seg")
      local seg = keep(ipc.shm.create(name, 4096))
      local s = keep(ipc.sem.in_shm(seg, 128, 3))
      local p = spawn(function()
        local other = assert(ipc.shm.open(name))
        local t = assert(ipc.sem.attach(other, 128))
        other:close() -- the semaphore keeps its own mapping
        assert(t:wait(5))
        assert(t:wait(5))
      end)
      assert.same({ "exit", 0 }, { p:wait(5) })
      assert.equal(1, s:value())
    end)

    it("keeps working after the segment handle is closed", function()
      local seg = keep(ipc.shm.anon(4096))
      local s = keep(ipc.sem.in_shm(seg, 8, 1))
      seg:close()
      assert.is_true(s:wait(0))
      assert.is_true(s:post())
      assert.equal(1, s:value())
    end)

    it("refuses offsets out of bounds or misaligned, and read-only segments", function()
      local seg = keep(ipc.shm.anon(4096))
      assert.equal("bad argument #2 to 'in_shm' (offset 4 is not aligned to 8 bytes)",
        raises(function() ipc.sem.in_shm(seg, 4) end))
      assert.equal("bad argument #2 to 'in_shm' (offset 4072 + 32 out of bounds of 4096 bytes)",
        raises(function() ipc.sem.in_shm(seg, 4072) end))
      assert.equal("bad argument #2 to 'attach' (offset -8 + 32 out of bounds of 4096 bytes)",
        raises(function() ipc.sem.attach(seg, -8) end))
      assert.equal("bad argument #3 to 'in_shm' (initial value must be 0..2147483647)",
        raises(function() ipc.sem.in_shm(seg, 0, -1) end))
      assert.equal("bad argument #1 to 'in_shm' (ipc.shm expected, got nil)",
        raises(function() ipc.sem.in_shm(nil, 0) end))
      local name = tname("ro")
      keep(ipc.shm.create(name, 4096))
      local ro = keep(ipc.shm.open(name, "r"))
      assert.equal("bad argument #1 to 'in_shm' (segment is read-only)",
        raises(function() ipc.sem.in_shm(ro, 0) end))
      local closed = keep(ipc.shm.anon(64))
      closed:close()
      assert.equal("attempt to use a closed ipc.shm",
        raises(function() ipc.sem.attach(closed, 0) end))
    end)

    it("gives ECORRUPT when attaching to bytes that cannot be a semaphore", function()
      local seg = keep(ipc.shm.anon(4096))
      seg:write(0, ("\255"):rep(32))
      assert.same({ nil, "attach at offset 0: shared memory is corrupt", ipc.ECORRUPT },
        { ipc.sem.attach(seg, 0) })
    end)
  end)

  describe("signals", function()
    local registry = debug.getregistry()
    after_each(function() registry["ipc.interrupt"] = nil end)

    -- As in ipc_spec: lua.c turns SIGINT into "interrupted!" raised by the
    -- next Lua code run, here the ipc.interrupt hook, inside the wait.
    it("let the interpreter's Ctrl-C out of a blocked wait, which takes nothing", function()
      if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
      registry["ipc.interrupt"] = function() end
      local s = keep(ipc.sem.create(tname("intr")))
      local parent = ipc.getpid()
      local p = spawn(function()
        helper.sleep(0.2)
        os.execute("kill -INT " .. parent)
      end)
      -- A timeout: 5.1's lua.c installs its handler with SA_RESTART, which
      -- restarts an untimed futex wait in the kernel (see docs/lua.md).
      local ok, err = pcall(s.wait, s, 10)
      assert.is_false(ok)
      assert.matches("interrupted!", err)
      assert.equal(0, s:value())
      assert.same({ "exit", 0 }, { p:wait(5) })
    end)
  end)
end)

describe("ipc.semset", function()
  after_each(cleanup)

  it("creates a private set with its values and mode, and removes it", function()
    local set = keep(ipc.semset.create(nil, 3, { 0, 1, 32767 }, "640"))
    assert.matches("^ipc%.semset %(id %d+, 3 semaphores%)$", tostring(set))
    assert.equal(3, set:count())
    assert.equal(0, set:get(0))
    assert.equal(1, set:get(1))
    assert.equal(32767, set:get(2))
    local st = set:stat()
    assert.equal(3, st.nsems)
    assert.equal(tonumber("640", 8), st.mode)
    assert.is_true(st.otime > 0)
    assert.is_true(set:remove())
    assert.matches("^ipc%.semset %(id %d+, removed%)$", tostring(set))
    assert.same({ nil, ("get id %d: invalid argument"):format(set:id()), ipc.EINVAL },
      { set:get(0) })
  end)

  it("gives every semaphore the one initial value, 0 by default", function()
    local set = keep(ipc.semset.create(nil, 2, 7))
    assert.equal(7, set:get(0))
    assert.equal(7, set:get(1))
    local zero = keep(ipc.semset.create(nil, 1))
    assert.equal(0, zero:get(0))
    assert.equal(tonumber("600", 8), zero:stat().mode)
  end)

  it("creates by key exclusively; open finds it by key and by id", function()
    local key = tkey(1)
    local set = keep(ipc.semset.create(key, 2, { 4, 5 }))
    assert.same({ nil, ("create key 0x%08x: file exists"):format(key), ipc.EEXIST },
      { ipc.semset.create(key, 1) })
    local o = keep(ipc.semset.open(key, 1))
    assert.equal(set:id(), o:id())
    assert.equal(5, o:get(1))
    local p = keep(ipc.semset.open({ id = set:id() }))
    assert.equal(2, p:count())
    set:remove()
    assert.same({ nil, ("open key 0x%08x: no such file or directory"):format(key), ipc.ENOENT },
      { ipc.semset.open(key, 0) })
  end)

  it("does atomic operations: all of them or none", function()
    local set = keep(ipc.semset.create(nil, 2, { 1, 0 }))
    local ok, msg, code = set:op({ { 0, -1 }, { 1, -1 } }, 0)
    assert.same({ nil, ("op id %d: timed out"):format(set:id()), ipc.ETIMEDOUT }, { ok, msg, code })
    assert.equal(1, set:get(0))
    assert.is_true(set:op({ 1, 1 }))
    assert.is_true(set:op({ { 0, -1 }, { 1, -1 } }, 0))
    assert.is_true(set:op({ 0, 0 }, 0)) -- waits for zero, which it is
    local v, pid, ncnt, zcnt = set:get(0)
    assert.same({ 0, ipc.getpid(), 0, 0 }, { v, pid, ncnt, zcnt })
  end)

  it("waits for an operation's timeout, then gives ETIMEDOUT", function()
    local set = keep(ipc.semset.create(nil, 1))
    local t0 = now and now()
    local ok, _, code = set:op({ 0, -1 }, 0.15)
    assert.is_nil(ok)
    assert.equal(ipc.ETIMEDOUT, code)
    if now then
      local dt = now() - t0
      assert.is_true(dt >= 0.14 and dt < 2, "waited " .. dt)
    end
  end)

  it("gives back, with undo, what a killed process held", function()
    local set = keep(ipc.semset.create(nil, 1, 1))
    local r, w = track(ipc.pipe())
    local p = spawn(function()
      assert(set:op({ 0, -1, undo = true }, 5))
      w:write("held\n")
      helper.sleep(60)
    end)
    r:settimeout(5)
    assert.equal("held", r:read("l"))
    local v, pid = set:get(0)
    assert.same({ 0, p.pid }, { v, pid })
    p:kill("KILL")
    assert.equal("signal", (p:wait(5)))
    assert.equal(1, set:get(0))
  end)

  it("lets two processes hand a token back and forth", function()
    local set = keep(ipc.semset.create(nil, 2))
    local id = set:id()
    local p = spawn(function()
      local s = assert(ipc.semset.open({ id = id }, 1))
      for _ = 1, 100 do
        assert(s:op({ 0, -1 }, 5))
        assert(s:op({ 1, 1 }))
      end
    end)
    for _ = 1, 100 do
      assert.is_true(set:op({ 0, 1 }))
      assert.is_true(set:op({ 1, -1 }, 5))
    end
    assert.same({ "exit", 0 }, { p:wait(5) })
  end)

  it("gives EOVERFLOW past the maximum, and set changes a value", function()
    local set = keep(ipc.semset.create(nil, 1, ipc.semset.VALUE_MAX))
    assert.same({ nil, ("op id %d: value too large for defined data type"):format(set:id()),
      ipc.EOVERFLOW }, { set:op({ 0, 1 }) })
    assert.equal(set, set:set(0, 3))
    assert.equal(3, set:get(0))
  end)

  it("refuses bad operations, values and counts", function()
    local set = keep(ipc.semset.create(nil, 2))
    assert.equal("bad argument #1 to 'op' (semaphore number must be 0..1)",
      raises(function() set:op({ 2, 1 }) end))
    assert.equal("bad argument #1 to 'op' (operation 2: delta must be -32768..32767)",
      raises(function() set:op({ { 0, 1 }, { 1, 40000 } }) end))
    assert.equal("bad argument #1 to 'op' (operation 1: {num, delta, undo = true} expected)",
      raises(function() set:op({ { 0, 1, udno = true } }) end))
    assert.equal("bad argument #1 to 'op' (undo must be a boolean)",
      raises(function() set:op({ 0, 1, undo = 1 }) end))
    assert.equal("bad argument #1 to 'op' (no operation)", raises(function() set:op({}) end))
    assert.equal("bad argument #1 to 'get' (semaphore number must be 0..1)",
      raises(function() set:get(2) end))
    assert.equal("bad argument #2 to 'set' (value must be 0..32767)",
      raises(function() set:set(0, 32768) end))
    assert.equal("bad argument #2 to 'create' (count must be 1..65535)",
      raises(function() ipc.semset.create(nil, 0) end))
    assert.equal("bad argument #3 to 'create' (initial value must be 0..32767)",
      raises(function() ipc.semset.create(nil, 1, -1) end))
    assert.equal("bad argument #3 to 'create' (a list of 2 values expected)",
      raises(function() ipc.semset.create(nil, 2, { 1 }) end))
    assert.equal("bad argument #1 to 'open' (key 0 is IPC_PRIVATE: open by {id = n})",
      raises(function() ipc.semset.open(0) end))
    assert.equal(0, set:get(0))
  end)

  it("leaves no set behind when the system refuses the creation", function()
    local key = tkey(2)
    local ok, msg, code = ipc.semset.create(key, 40000) -- above SEMMSL (32000)
    assert.same({ nil, ("create key 0x%08x: invalid argument"):format(key), ipc.EINVAL },
      { ok, msg, code })
    assert.is_nil((ipc.semset.open(key, 0)))
  end)

  it("raises on a closed handle", function()
    local set = keep(ipc.semset.create(nil, 1))
    set:close()
    assert.equal("ipc.semset (closed)", tostring(set))
    assert.equal("attempt to use a closed ipc.semset", raises(function() set:op({ 0, 1 }) end))
  end)

  describe("with Perl's IPC::Semaphore", function()
    it("shows Perl the values and mode of a set made here", function()
      local key = tkey(3)
      keep(ipc.semset.create(key, 2, { 2, 5 }, "640"))
      assert.equal("2 5", perl("get", key))
      assert.equal("2 640", perl("stat", key))
    end)

    it("sees Perl's operations, and its undo when it exits", function()
      local key = tkey(4)
      local set = keep(ipc.semset.create(key, 1, 1))
      assert.equal("ok", perl("op", key, 0, -1))
      assert.equal(0, set:get(0))
      assert.equal("busy", perl("op", key, 0, -1))
      assert.is_true(set:op({ 0, 1 }))
      assert.equal("ok", perl("op", key, 0, -1, "undo")) -- undone at its exit
      assert.equal(1, set:get(0))
    end)

    it("waits in open until a set Perl made is initialised", function()
      local key = tkey(6)
      local id = tonumber(perl("bare", key, 2))
      assert.is_number(id)
      set_ids[#set_ids + 1] = id
      -- Made but never operated on: an opener cannot trust its values yet.
      assert.same({ nil, ("open key 0x%08x: timed out"):format(key), ipc.ETIMEDOUT },
        { ipc.semset.open(key, 0.1) })
      assert.equal("ok", perl("op", key, 0, 1)) -- the creator's first op
      local set = keep(ipc.semset.open(key, 1))
      assert.equal(1, set:get(0))
    end)

    it("opens a set Perl made and initialised", function()
      local key = tkey(5)
      local id = tonumber(perl("create", key, 3, 4))
      assert.is_number(id)
      set_ids[#set_ids + 1] = id
      local set = keep(ipc.semset.open(key, 2))
      assert.equal(id, set:id())
      assert.same({ 3, 4 }, { set:get(0), (set:get(1)) })
    end)
  end)
end)

describe("ipc.mutex", function()
  after_each(cleanup)

  -- A mutex at offset 64 of a new anonymous segment.
  local function mutex()
    local seg = keep(ipc.shm.anon(4096))
    return keep(ipc.mutex.in_shm(seg, 64)), seg
  end

  it("locks and unlocks, and shows who holds it", function()
    local m = mutex()
    assert.equal("ipc.mutex (unlocked)", tostring(m))
    assert.is_true(m:lock())
    assert.matches("^ipc%.mutex %(locked by thread %d+%)$", tostring(m))
    assert.same({ nil, "lock: resource deadlock avoided", ipc.EDEADLK }, { m:lock(1) })
    assert.is_true(m:unlock())
    assert.is_true(m:lock(0))
    assert.is_true(m:unlock())
  end)

  it("gives EPERM for unlocking a mutex this thread does not hold", function()
    local m = mutex()
    assert.same({ nil, "unlock: operation not permitted", ipc.EPERM }, { m:unlock() })
    local r, w = track(ipc.pipe())
    local p = spawn(function()
      assert(m:lock(5))
      w:write("held\n")
      helper.sleep(60)
    end)
    r:settimeout(5)
    assert.equal("held", r:read("l"))
    assert.same({ nil, "unlock: operation not permitted", ipc.EPERM }, { m:unlock() })
    assert.same({ nil, "consistent: operation not permitted", ipc.EPERM }, { m:consistent() })
    assert.equal(("ipc.mutex (locked by thread %d)"):format(p.pid), tostring(m))
    assert.same({ nil, "lock: timed out", ipc.ETIMEDOUT }, { m:lock(0.05) })
    p:kill("KILL")
    p:wait()
  end)

  it("tells the next locker that the owner died, and recovers with consistent", function()
    local m = mutex()
    local r, w = track(ipc.pipe())
    local p = spawn(function()
      assert(m:lock(5))
      w:write("held\n")
      helper.sleep(60)
    end)
    r:settimeout(5)
    assert.equal("held", r:read("l"))
    p:kill("KILL")
    p:wait()
    assert.equal("ipc.mutex (owner died)", tostring(m))
    assert.same({ nil, "lock: owner died", ipc.EOWNERDEAD }, { m:lock(1) })
    assert.matches("locked by thread", tostring(m)) -- held all the same
    assert.is_true(m:consistent())
    assert.is_true(m:unlock())
    assert.is_true(m:lock(0))
    assert.is_true(m:unlock())
  end)

  it("becomes not recoverable when unlocked without consistent", function()
    local m = mutex()
    local p = spawn(function() assert(m:lock(5)) end) -- exits holding it
    assert.same({ "exit", 0 }, { p:wait(5) })
    assert.same({ nil, "lock: owner died", ipc.EOWNERDEAD }, { m:lock(1) })
    assert.is_true(m:unlock())
    assert.same({ nil, "lock: state not recoverable", ipc.ENOTRECOVERABLE }, { m:lock(1) })
  end)

  it("is handed over between processes and attached by name", function()
    local name = tname("mutex")
    local seg = keep(ipc.shm.create(name, 4096))
    local m = keep(ipc.mutex.in_shm(seg, 0))
    assert.is_true(m:lock())
    local p = spawn(function()
      local s = assert(ipc.shm.open(name))
      local n = assert(ipc.mutex.attach(s, 0))
      s:close()
      assert(n:lock(5))
      assert(n:unlock())
    end)
    helper.sleep(0.1)
    assert.is_true(m:unlock())
    assert.same({ "exit", 0 }, { p:wait(5) })
  end)

  it("gives ECORRUPT when attaching where no mutex was made", function()
    local seg = keep(ipc.shm.anon(4096))
    assert.same({ nil, "attach at offset 0: shared memory is corrupt", ipc.ECORRUPT },
      { ipc.mutex.attach(seg, 0) })
  end)

  it("refuses misplaced mutexes", function()
    local seg = keep(ipc.shm.anon(4096))
    assert.equal("bad argument #2 to 'in_shm' (offset 4 is not aligned to 8 bytes)",
      raises(function() ipc.mutex.in_shm(seg, 4) end))
    assert.equal("bad argument #2 to 'in_shm' (offset 4040 + 64 out of bounds of 4096 bytes)",
      raises(function() ipc.mutex.in_shm(seg, 4040) end))
  end)

  it("refuses to close while locked, and raises once closed", function()
    local m = mutex()
    assert.is_true(m:lock())
    assert.equal("attempt to close a locked ipc.mutex (unlock it first)",
      raises(function() m:close() end))
    assert.is_true(m:unlock())
    assert.is_true(m:close())
    assert.equal("ipc.mutex (closed)", tostring(m))
    assert.equal("attempt to use a closed ipc.mutex", raises(function() m:lock() end))
  end)

  -- In an interpreter of its own: lua.c restores the default SIGINT action
  -- after the first Ctrl-C, which the semaphore test has used up.
  it("lets the interpreter's Ctrl-C out of a blocked lock at once", function()
    local name = tname("ctrlc")
    local seg = keep(ipc.shm.create(name, 4096))
    local m = keep(ipc.mutex.in_shm(seg, 0))
    assert.is_true(m:lock())
    local script = ([[
      local ipc = require "ipc"
      debug.getregistry()["ipc.interrupt"] = function() end
      local m = assert(ipc.mutex.attach(assert(ipc.shm.open(%q)), 0))
      io.stdout:write("waiting\n")
      io.stdout:flush()
      m:lock(30)
    ]]):format(name)
    local p = track(assert(ipc.spawn({ helper.interpreter(), "-e", script },
      { stdout = "pipe", stderr = "pipe" })))
    p.stdout:settimeout(5)
    assert.equal("waiting", p.stdout:read("l"))
    helper.sleep(0.2) -- asleep in the lock by now
    p:kill("INT")
    p.stderr:settimeout(5)
    assert.matches("interrupted!", p.stderr:read("a"))
    assert.same({ "exit", 1 }, { p:wait(3) }) -- long before the 30 s
    assert.is_true(m:unlock())
  end)
end)
