-- ls_spec.lua: ipc.ls and ipc.rm over real objects of every kind (POSIX
-- segments, rings, semaphores and queues, FIFOs, System V segments, queues
-- and sets): what each record says, who uses an object (this process, a
-- child), removal of stale objects, and the refusals (in use, another
-- owner, not made by libipc) that leave the object where it was.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

local pid = ipc.getpid()
local prefix = "libipc-spec-ls-" .. pid .. "-"

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function is_root()
  return (read_file("/proc/self/status") or ""):match("\nUid:%s+0%s") ~= nil
end

local function mqueue_mounted()
  return (read_file("/proc/self/mountinfo") or ""):find(" %- mqueue ") ~= nil
end

local function sh(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

-- What each test made, removed after it with each area's own calls (not
-- with ipc.rm, which is under test): names of every POSIX kind, FIFO paths,
-- plain files, System V ids, handles to close.
local made = { names = {}, paths = {}, shm = {}, msg = {}, sem = {}, handles = {} }

local function tname(tag)
  local name = "/" .. prefix .. tag
  made.names[#made.names + 1] = name
  return name
end

local function keep(h, ...)
  assert(h, ...)
  made.handles[#made.handles + 1] = h
  return h
end

local function cleanup()
  for i = #made.handles, 1, -1 do
    local h = made.handles[i]
    if not tostring(h):find("closed", 1, true) then h:close() end
    made.handles[i] = nil
  end
  for _, name in ipairs(made.names) do
    ipc.shm.unlink(name)
    ipc.sem.unlink(name)
    ipc.mq.unlink(name)
  end
  for _, path in ipairs(made.paths) do os.remove(path) end
  for _, id in ipairs(made.shm) do
    local s = ipc.shm.sysv_open({ id = id })
    if s then s:remove(); s:close() end
  end
  for _, id in ipairs(made.msg) do
    local q = ipc.msg.open({ id = id })
    if q then q:remove(); q:close() end
  end
  for _, id in ipairs(made.sem) do
    local s = ipc.semset.open({ id = id }, 0)
    if s then s:remove(); s:close() end
  end
  made = { names = {}, paths = {}, shm = {}, msg = {}, sem = {}, handles = {} }
  helper.cleanup()
end

-- The records of ipc.ls(opts) whose name is name.
local function find(name, opts)
  local found = {}
  local list = assert(ipc.ls(opts))
  for _, r in ipairs(list) do
    if r.name == name then found[#found + 1] = r end
  end
  return found
end

-- The one record named name, of kind kind (FIFOs are looked up by path).
local function one(name, kind)
  local found = find(name, { kind = kind, name = not kind:match("^sysv") and name or nil })
  assert.equal(1, #found, "records named " .. name)
  return found[1]
end

local function contains(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err
end

-- A child that runs fn, then waits for a line on its stdin before it exits,
-- so that it holds what fn opened until told to go; it writes "ready" when
-- fn has run.
local function holder(fn)
  local r, w = assert(ipc.pipe())
  local back_r, back_w = assert(ipc.pipe())
  local child = track(assert(ipc.spawn(function()
    w:close()
    back_r:close()
    local held = fn()
    back_w:write("ready\n")
    r:read("l")
    held:close()
    return 0
  end)))
  r:close()
  back_w:close()
  assert.equal("ready", back_r:read("l"))
  back_r:close()
  track(w)
  return child, function()
    w:write("go\n")
    w:close()
    assert.same({ "exit", 0 }, { child:wait(10) })
  end
end

-- A temporary directory for FIFOs.
local function tdir()
  local d = os.tmpname()
  os.remove(d)
  assert(sh("mkdir -m 700 " .. d))
  made.paths[#made.paths + 1] = d -- removed last: os.remove of an empty dir
  return d
end

local function fifo_in(d, tag)
  local path = d .. "/" .. prefix .. tag
  assert(ipc.fifo.create(path))
  table.insert(made.paths, 1, path)
  return path
end

-- POSIX queues are visible only through an mqueue file system: mount one
-- for the run when the machine has none and we may.
local mq_mount
setup(function()
  if not mqueue_mounted() and is_root() then
    mq_mount = os.tmpname()
    os.remove(mq_mount)
    if not (sh("mkdir " .. mq_mount) and sh("mount -t mqueue none " .. mq_mount)) then
      os.remove(mq_mount)
      mq_mount = nil
    end
  end
end)
teardown(function()
  if mq_mount then
    sh("umount " .. mq_mount)
    os.remove(mq_mount)
  end
end)

local mq_it = function(desc, fn)
  it(desc, function()
    if not mqueue_mounted() then
      pending("no mqueue file system is mounted")
      return
    end
    fn()
  end)
end

describe("ipc.ls", function()
  after_each(cleanup)

  it("lists a segment made by ipc.shm.create as ours, in use while it is open", function()
    local name = tname("shm")
    local seg = keep(ipc.shm.create(name, 8192, "640"))
    local r = one(name, "shm")
    assert.equal("shm", r.kind)
    assert.equal(8192, r.size)
    assert.equal(tonumber("640", 8), r.mode)
    assert.is_true(r.ours)
    assert.is_false(r.ring)
    assert.is_true(r.in_use)
    assert.is_true(contains(r.users, pid))
    assert.equal(#r.users, r.nusers)
    assert.is_number(r.uid)
    assert.is_string(r.owner)
    assert.is_true(r.ino > 0)
    assert.is_true(math.abs(r.mtime - os.time()) < 600)
    seg:close()
    r = one(name, "shm")
    assert.is_false(r.in_use)
    assert.same({}, r.users)
  end)

  it("tells a ring by its header, and a plain file in /dev/shm as not ours", function()
    local ring = tname("ring")
    keep(ipc.ring.create(ring, { capacity = 4096 })):close()
    local r = one(ring, "shm")
    assert.is_true(r.ring)
    assert.is_true(r.ours)
    assert.equal(4096 + 4096, r.size)
    local plain = tname("plain")
    local f = assert(io.open("/dev/shm" .. plain, "w"))
    f:write("not a ring")
    f:close()
    r = one(plain, "shm")
    assert.is_false(r.ring)
    assert.is_false(r.ours)
    assert.is_false(r.in_use)
  end)

  it("finds the children that map a segment", function()
    local name = tname("mapped")
    keep(ipc.shm.create(name, 4096)):close()
    local child, release = holder(function() return assert(ipc.shm.open(name)) end)
    local r = one(name, "shm")
    assert.is_true(r.in_use)
    assert.same({ child.pid }, r.users)
    release()
    assert.is_false(one(name, "shm").in_use)
  end)

  it("lists a named semaphore under its own name", function()
    local name = tname("sem")
    local s = keep(ipc.sem.create(name, 1))
    local r = one(name, "sem")
    assert.equal(name, r.name)
    assert.equal(32, r.size)
    assert.is_true(r.in_use)
    assert.is_nil(r.ours)
    assert.is_nil(r.ring)
    s:close()
    assert.is_false(one(name, "sem").in_use)
    assert.same({}, find(name, { kind = "shm" }))
  end)

  mq_it("lists a POSIX queue with the bytes queued and who holds it", function()
    local name = tname("mq")
    local q = keep(ipc.mq.create(name))
    assert(q:send("hello"))
    assert(q:send("abc"))
    local r = one(name, "mq")
    assert.equal(8, r.size)
    assert.same({ pid }, r.users)
    q:close()
    local child, release = holder(function() return assert(ipc.mq.open(name, "r")) end)
    r = one(name, "mq")
    assert.same({ child.pid }, r.users)
    release()
    assert.is_false(one(name, "mq").in_use)
  end)

  it("lists the FIFOs of the directories given, and who holds one open", function()
    local d1, d2 = tdir(), tdir()
    local a, b = fifo_in(d1, "a"), fifo_in(d2, "b")
    local list = assert(ipc.ls({ kind = "fifo", dir = { d1, d2 } }))
    local names = {}
    for _, r in ipairs(list) do names[#names + 1] = r.name end
    local want = { a, b }
    table.sort(want)
    assert.same(want, names) -- sorted by name
    assert.same({}, find(a, { kind = "fifo", dir = d2 }))
    local rdr = keep(ipc.fifo.open(a, "r", { nonblock = true }))
    local r = one(a, "fifo")
    assert.is_true(r.in_use)
    assert.same({ pid }, r.users)
    rdr:close()
    assert.is_false(one(a, "fifo").in_use)
    assert.equal(0, one(b, "fifo").size)
  end)

  it("lists System V segments with their attachments", function()
    local seg = keep(ipc.shm.sysv(nil, 12288))
    made.shm[#made.shm + 1] = seg:id()
    local name = "sysv_shm:" .. seg:id()
    local r = one(name, "sysv_shm")
    assert.equal(seg:id(), r.id)
    assert.is_nil(r.key) -- private
    assert.equal(12288, r.size)
    assert.equal(1, r.attached)
    assert.is_true(r.in_use)
    assert.same({ pid }, r.users)
    assert.is_nil(r.ours)
    seg:close()
    r = one(name, "sysv_shm")
    assert.equal(0, r.attached)
    assert.is_false(r.in_use)
  end)

  it("lists System V queues and sets with their counts and last users", function()
    local key = 0x4c530000 + pid % 0x10000
    local q = keep(ipc.msg.create(key))
    made.msg[#made.msg + 1] = q:id()
    local r = one("sysv_msg:" .. q:id(), "sysv_msg")
    assert.equal(key, r.key)
    assert.equal(0, r.count)
    assert.is_false(r.in_use) -- nobody has sent or received yet
    assert(q:send(1, "four"))
    r = one("sysv_msg:" .. q:id(), "sysv_msg")
    assert.equal(1, r.count)
    assert.equal(4, r.size)
    assert.is_true(r.in_use)
    assert.same({ pid }, r.users)
    local set = keep(ipc.semset.create(nil, 3))
    made.sem[#made.sem + 1] = set:id()
    r = one("sysv_sem:" .. set:id(), "sysv_sem")
    assert.equal(3, r.count)
    assert.is_true(r.in_use) -- its creator's first semop, and we live
    assert.same({ pid }, r.users)
  end)

  it("filters by kind and by name", function()
    local name = tname("filter")
    keep(ipc.shm.create(name, 4096))
    for _, r in ipairs(assert(ipc.ls({ kind = { "sem", "sysv_shm" } }))) do
      assert.is_true(r.kind == "sem" or r.kind == "sysv_shm")
    end
    local list = assert(ipc.ls({ name = name }))
    assert.equal(1, #list)
    assert.equal(name, list[1].name)
    assert.same({}, assert(ipc.ls({ name = name, kind = "sem" })))
  end)

  it("says how many processes it could not look into", function()
    local list, hidden = ipc.ls({ kind = "shm" })
    assert.is_table(list)
    assert.is_number(hidden)
    assert.is_true(hidden >= 0)
  end)

  it("fails on a directory that is not there, naming it", function()
    local ok, msg, code = ipc.ls({ kind = "fifo", dir = "/nonexistent-" .. prefix })
    assert.is_nil(ok)
    assert.equal("ls: /nonexistent-" .. prefix .. ": no such file or directory", msg)
    assert.equal(ipc.ENOENT, code)
  end)

  it("raises on bad options", function()
    assert.equal("bad argument #1 to 'ls' (unknown option 'kinds')",
      raises(function() ipc.ls({ kinds = "shm" }) end))
    assert.matches("bad argument #1 to 'ls' %(unknown kind 'pipe'",
      raises(function() ipc.ls({ kind = "pipe" }) end))
    assert.matches("bad argument #1 to 'ls' %(unknown kind 'boolean'",
      raises(function() ipc.ls({ kind = { "shm", true } }) end))
    assert.equal("bad argument #1 to 'ls' (opts.dir must be a string or a list of strings)",
      raises(function() ipc.ls({ dir = 5 }) end))
    assert.equal("bad argument #1 to 'ls' (opts.name must be a string, got table)",
      raises(function() ipc.ls({ name = {} }) end))
    assert.matches("bad argument #1 to 'ls' %(table expected, got string%)",
      raises(function() ipc.ls("shm") end))
  end)
end)

describe("ipc.rm", function()
  after_each(cleanup)

  local function gone(name, kind)
    assert.same({}, find(name, { kind = kind }))
  end

  it("removes a stale object of every POSIX kind, by name", function()
    local shm, ring, sem = tname("stale-shm"), tname("stale-ring"), tname("stale-sem")
    keep(ipc.shm.create(shm, 4096)):close()
    keep(ipc.ring.create(ring)):close()
    keep(ipc.sem.create(sem)):close()
    local d = tdir()
    local fifo = fifo_in(d, "stale")
    for _, t in ipairs({ { shm, "shm" }, { ring, "shm" }, { sem, "sem" }, { fifo, "fifo" } }) do
      assert.is_true(ipc.rm(t[1]))
      gone(t[1], t[2])
    end
    assert.is_nil(ipc.shm.open(shm))
    assert.is_nil(ipc.sem.open(sem))
    assert.is_nil(io.open(fifo))
  end)

  mq_it("removes a stale POSIX queue", function()
    local name = tname("stale-mq")
    keep(ipc.mq.create(name)):close()
    assert.is_true(ipc.rm(name))
    gone(name, "mq")
    local _, _, code = ipc.mq.open(name)
    assert.equal(ipc.ENOENT, code)
  end)

  it("removes stale System V objects, by name or by record", function()
    local seg = keep(ipc.shm.sysv(nil, 4096))
    local q = keep(ipc.msg.create())
    local set = keep(ipc.semset.create(nil, 1))
    made.shm[#made.shm + 1] = seg:id()
    made.msg[#made.msg + 1] = q:id()
    local ids = { seg:id(), q:id(), set:id() }
    seg:close()
    q:close()
    set:close()
    -- The set's last operator is this process: make it a dead child.
    local child = track(assert(ipc.spawn(function()
      local s = assert(ipc.semset.open({ id = ids[3] }, 1))
      assert(s:op({ 0, 1 }))
      return 0
    end)))
    assert.same({ "exit", 0 }, { child:wait(10) })
    made.sem[#made.sem + 1] = ids[3]
    assert.is_true(ipc.rm("sysv_shm:" .. ids[1]))
    assert.is_true(ipc.rm(one("sysv_msg:" .. ids[2], "sysv_msg")))
    assert.is_true(ipc.rm("sysv_sem:" .. ids[3]))
    gone("sysv_shm:" .. ids[1], "sysv_shm")
    gone("sysv_msg:" .. ids[2], "sysv_msg")
    gone("sysv_sem:" .. ids[3], "sysv_sem")
  end)

  it("refuses a segment a child maps, naming it, and leaves it", function()
    local name = tname("busy")
    keep(ipc.shm.create(name, 4096)):close()
    local child, release = holder(function() return assert(ipc.shm.open(name)) end)
    local ok, msg, code = ipc.rm(name, { force = true })
    assert.is_nil(ok)
    local pattern = "^rm: " .. name:gsub("%-", "%%-") .. ": in use by pid " .. child.pid .. " %("
    assert.matches(pattern, msg)
    assert.equal(ipc.EBUSY, code)
    assert.equal(1, #find(name, { kind = "shm" }))
    release()
    assert.is_true(ipc.rm(name))
    gone(name, "shm")
  end)

  it("refuses an attached System V segment and a queue whose user lives", function()
    local seg = keep(ipc.shm.sysv(nil, 4096))
    made.shm[#made.shm + 1] = seg:id()
    local ok, msg, code = ipc.rm("sysv_shm:" .. seg:id())
    assert.is_nil(ok)
    assert.equal(("rm: sysv_shm:%d: in use by pid %d (%s)"):format(seg:id(), pid,
      (read_file("/proc/self/comm"):gsub("\n", ""))), msg)
    assert.equal(ipc.EBUSY, code)
    assert.equal(1, #find("sysv_shm:" .. seg:id(), { kind = "sysv_shm" }))
    local q = keep(ipc.msg.create())
    made.msg[#made.msg + 1] = q:id()
    assert(q:send(1, "x"))
    ok, msg, code = ipc.rm("sysv_msg:" .. q:id())
    assert.is_nil(ok)
    assert.matches("in use by pid " .. pid, msg)
    assert.equal(ipc.EBUSY, code)
    assert.equal("x", (q:receive(1, 0)))
  end)

  mq_it("refuses a queue this process holds open", function()
    local name = tname("busy-mq")
    local q = keep(ipc.mq.create(name))
    local ok, msg, code = ipc.rm(name)
    assert.is_nil(ok)
    assert.matches("in use by pid " .. pid, msg)
    assert.equal(ipc.EBUSY, code)
    assert(q:send("still here"))
    assert.equal("still here", (q:receive(0)))
  end)

  it("refuses a segment libipc did not make unless forced", function()
    local name = tname("foreign")
    local f = assert(io.open("/dev/shm" .. name, "w"))
    f:write("someone else's")
    f:close()
    made.paths[#made.paths + 1] = "/dev/shm" .. name
    local ok, msg, code = ipc.rm(name)
    assert.is_nil(ok)
    assert.equal("rm: " .. name .. ": not made by libipc (no user.libipc attribute, "
      .. "no ring header); {force = true} removes it anyway", msg)
    assert.equal(ipc.EPERM, code)
    assert.equal("someone else's", read_file("/dev/shm" .. name))
    assert.is_true(ipc.rm(name, { force = true }))
    assert.is_nil(read_file("/dev/shm" .. name))
  end)

  it("refuses another user's objects unless forced", function()
    if not is_root() then
      pending("needs root to make objects as another user")
      return
    end
    local name = tname("nobody")
    local lua = helper.interpreter()
    local code = ([[
      local ipc = require "ipc"
      local s = assert(ipc.shm.create(%q, 4096)); s:close()
      local q = assert(ipc.msg.create()); io.write(q:id()); q:close()
    ]]):format(name)
    local p = track(assert(ipc.spawn({ "setpriv", "--reuid=65534", "--regid=65534",
      "--clear-groups", lua, "-e", code }, { stdout = "pipe" })))
    local out, how, status = helper.output(p)
    local id = tonumber(out)
    if id then made.msg[#made.msg + 1] = id end
    assert.same({ "exit", 0 }, { how, status })
    assert.equal(65534, one(name, "shm").uid)
    local ok, msg, err = ipc.rm(name)
    assert.is_nil(ok)
    assert.matches("^rm: " .. name:gsub("%-", "%%-") .. ": not yours: owned by %S+ %(uid 65534%); "
      .. "{force = true} removes it anyway$", msg)
    assert.equal(ipc.EPERM, err)
    assert.equal(1, #find(name, { kind = "shm" }))
    ok, msg, err = ipc.rm("sysv_msg:" .. id)
    assert.is_nil(ok)
    assert.matches("not yours", msg)
    assert.equal(ipc.EPERM, err)
    assert.equal(1, #find("sysv_msg:" .. id, { kind = "sysv_msg" }))
    assert.is_true(ipc.rm(name, { force = true }))
    assert.is_true(ipc.rm("sysv_msg:" .. id, { force = true }))
    gone(name, "shm")
  end)

  mq_it("asks which kind when a name has several, and takes opts.kind", function()
    local name = tname("both")
    keep(ipc.shm.create(name, 4096)):close()
    keep(ipc.mq.create(name)):close()
    local ok, msg, code = ipc.rm(name)
    assert.is_nil(ok)
    assert.equal("rm: " .. name .. ": ambiguous: a shm and a mq have that name; "
      .. "say which with {kind = ...}", msg)
    assert.equal(ipc.EINVAL, code)
    assert.equal(2, #find(name))
    assert.is_true(ipc.rm(name, { kind = "mq" }))
    assert.equal("shm", find(name)[1].kind)
  end)

  it("says so for a name nothing has", function()
    local ok, msg, code = ipc.rm("/" .. prefix .. "nothing")
    assert.is_nil(ok)
    assert.equal("rm: /" .. prefix .. "nothing: no such file or directory", msg)
    assert.equal(ipc.ENOENT, code)
    ok, msg, code = ipc.rm("sysv_sem:2147483647")
    assert.is_nil(ok)
    assert.equal("rm: sysv_sem:2147483647: no such file or directory", msg)
    assert.equal(ipc.ENOENT, code)
  end)

  it("refuses a record whose object was replaced since it was listed", function()
    local name = tname("replaced")
    keep(ipc.shm.create(name, 4096)):close()
    local old = one(name, "shm")
    assert(ipc.shm.unlink(name))
    keep(ipc.shm.create(name, 4096)):close()
    local ok, msg, code = ipc.rm(old)
    assert.is_nil(ok)
    assert.equal("rm: " .. name .. ": not the object listed: it was replaced since", msg)
    assert.equal(ipc.ENOENT, code)
    assert.equal(1, #find(name, { kind = "shm" }))
  end)

  it("raises on bad arguments", function()
    assert.matches("bad argument #1 to 'rm' %(string expected, got nil%)",
      raises(function() ipc.rm() end))
    assert.matches("bad argument #1 to 'rm' %(unknown kind 'pipe'",
      raises(function() ipc.rm({ kind = "pipe", name = "/x" }) end))
    assert.equal("bad argument #1 to 'rm' (record has no name)",
      raises(function() ipc.rm({ kind = "shm" }) end))
    assert.equal("bad argument #2 to 'rm' (unknown option 'forced')",
      raises(function() ipc.rm("/x", { forced = true }) end))
    assert.equal("bad argument #2 to 'rm' (opts.kind differs from the kind in the name)",
      raises(function() ipc.rm("sysv_shm:1", { kind = "sysv_msg" }) end))
  end)
end)
