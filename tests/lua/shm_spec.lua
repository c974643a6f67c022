-- shm_spec.lua: ipc.shm and its segments: POSIX, anonymous and System V
-- segments shared with real children, exact modes, read-only maps, another
-- uid's EACCES, ENOSPC at create, bounds, every typed value, atomics across
-- processes, every bad input, and the same memory seen from Python and C.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- 5.3 and later have integers; 5.1, 5.2 and LuaJIT only doubles.
local has_integers = math.type ~= nil

-- What each test made, removed by after_each even when the test failed.
local names, segments, sysv_ids, files = {}, {}, {}, {}

-- A name unique to this process and test ("/libipc-spec-<pid>-tag").
local function tname(tag)
  local name = ("/libipc-spec-%d-%s"):format(ipc.getpid(), tag)
  names[#names + 1] = name
  ipc.shm.unlink(name) -- a previous run's leftover
  return name
end

-- Registers a segment for closing (and a System V one for removal).
local function seg(s, ...)
  assert(s, ...)
  segments[#segments + 1] = s
  if s:id() then sysv_ids[#sysv_ids + 1] = s:id() end
  return s
end

local function cleanup()
  for i = #segments, 1, -1 do
    if not tostring(segments[i]):find("closed", 1, true) then segments[i]:close() end
    segments[i] = nil
  end
  for i = #names, 1, -1 do
    ipc.shm.unlink(names[i])
    names[i] = nil
  end
  for i = #sysv_ids, 1, -1 do
    local s = ipc.shm.sysv_open({ id = sysv_ids[i] })
    if s then
      s:remove()
      s:close()
    end
    sysv_ids[i] = nil
  end
  for i = #files, 1, -1 do
    os.remove(files[i])
    files[i] = nil
  end
  helper.cleanup()
end

-- Whether /dev/shm holds the POSIX name.
local function exists(name)
  local f = io.open("/dev/shm" .. name)
  if f then f:close() end
  return f ~= nil
end

-- The output of a shell command.
local function run(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

-- The octal permission bits of a POSIX segment, as a string ("600").
local function mode_of(name)
  return (run("stat -c %a /dev/shm" .. name):gsub("%s+$", ""))
end

-- This process's prefix, and the entries of /dev/shm that start with it
-- (other processes may use /dev/shm meanwhile), as one string.
local prefix = "libipc-spec-" .. ipc.getpid()
local function mine()
  return run("ls -A /dev/shm | grep -F " .. prefix .. " || true")
end

-- A fresh temporary file (for ftok), removed by after_each.
local function tfile()
  local path = os.tmpname()
  files[#files + 1] = path
  return path
end

-- The message of the error that f raises, from "bad argument" on when
-- there is one. f calls the function under test by name, so that the
-- message can name it ("to 'create'"); pcall(ipc.shm.create, ...) would
-- give "to '?'".
local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err:match("calling.*$") or err
end

describe("ipc.shm", function()
  after_each(cleanup)

  describe("POSIX segments", function()
    it("creates a zeroed segment that open sees and unlink removes", function()
      local name = tname("basic")
      local a = seg(ipc.shm.create(name, 10000))
      assert.is_true(exists(name))
      assert.equal(10000, a:size())
      assert.equal(name, a:name())
      assert.is_true(a:writable())
      assert.is_nil(a:id())
      assert.is_number(a:fd())
      assert.equal(("\0"):rep(10000), a:read(0, 10000))
      assert.equal(a, a:write(9995, "hello"))
      local b = seg(ipc.shm.open(name))
      assert.equal(10000, b:size())
      assert.equal("hello", b:read(9995, 5))
      assert.equal("hello", b:read(9995))
      b:write(0, "x")
      assert.equal("x", a:read(0, 1))
      assert.is_true(ipc.shm.unlink(name))
      assert.is_false(exists(name))
      assert.equal("x", a:read(0, 1))
      local ok, msg, code = ipc.shm.unlink(name)
      assert.same({ nil, "unlink " .. name .. ": no such file or directory", ipc.ENOENT },
        { ok, msg, code })
    end)

    it("shows name, size and access in tostring, and closed once closed", function()
      local name = tname("str")
      local a = seg(ipc.shm.create(name, 4096))
      assert.equal("ipc.shm (" .. name .. ", 4096 bytes, rw)", tostring(a))
      local r = seg(ipc.shm.open(name, "r"))
      assert.equal("ipc.shm (" .. name .. ", 4096 bytes, r)", tostring(r))
      assert.is_true(r:close())
      assert.equal("ipc.shm (closed)", tostring(r))
    end)

    it("close never removes the name", function()
      local name = tname("keep")
      local a = seg(ipc.shm.create(name, 64))
      a:write(0, "kept")
      a:close()
      assert.is_true(exists(name))
      assert.equal("kept", seg(ipc.shm.open(name)):read(0, 4))
    end)

    it("creates exclusively and leaves the existing segment untouched", function()
      local name = tname("excl")
      local a = seg(ipc.shm.create(name, 4096))
      a:write(0, "first")
      local s, msg, code = ipc.shm.create(name, 100, "0644")
      assert.same({ nil, "create " .. name .. ": file exists", ipc.EEXIST }, { s, msg, code })
      assert.is_true(exists(name))
      assert.equal("600", mode_of(name))
      local b = seg(ipc.shm.open(name))
      assert.equal(4096, b:size())
      assert.equal("first", b:read(0, 5))
    end)

    it("creates with mode 0600 by default, or exactly the mode given", function()
      local n1, n2, n3 = tname("m1"), tname("m2"), tname("m3")
      seg(ipc.shm.create(n1, 1))
      seg(ipc.shm.create(n2, 1, 420)) -- 0644
      seg(ipc.shm.create(n3, 1, "0640"))
      assert.equal("600", mode_of(n1))
      assert.equal("644", mode_of(n2))
      assert.equal("640", mode_of(n3))
    end)

    it("raises for a mode beyond 0777 or not octal, and makes nothing", function()
      local name = tname("badmode")
      assert.matches("bad argument #3 to 'create' %(mode must be 0..0777",
        raises(function() ipc.shm.create(name, 1, 4095) end))
      assert.matches("bad argument #3 to 'create' %(mode must be",
        raises(function() ipc.shm.create(name, 1, "0800") end))
      assert.matches("bad argument #3 to 'create' %(mode must be",
        raises(function() ipc.shm.create(name, 1, "rw") end))
      assert.is_false(exists(name))
    end)

    it("returns ENOENT when opening a missing name, and creates nothing", function()
      local name = tname("missing")
      local s, msg, code = ipc.shm.open(name)
      assert.same({ nil, "open " .. name .. ": no such file or directory", ipc.ENOENT },
        { s, msg, code })
      assert.is_nil((ipc.shm.open(name, "r")))
      assert.is_false(exists(name))
    end)

    it("maps read-only with 'r': reads work, every write raises", function()
      local name = tname("ro")
      local a = seg(ipc.shm.create(name, 64))
      a:write(0, "data")
      local r = seg(ipc.shm.open(name, "r"))
      assert.is_false(r:writable())
      assert.equal("data", r:read(0, 4))
      assert.equal(0, r:get("u8", 10))
      assert.equal(0, r:atomic_load("u32", 8))
      local ro = "calling '[%w_]+' on bad self %(segment is read%-only%)"
      assert.matches(ro, raises(function() r:write(0, "x") end))
      assert.matches(ro, raises(function() r:set("u8", 0, 1) end))
      assert.matches(ro, raises(function() r:atomic_store("u32", 0, 1) end))
      assert.matches(ro, raises(function() r:atomic_add("u32", 0, 1) end))
      assert.matches(ro, raises(function() r:atomic_cas("u32", 0, 0, 1) end))
      assert.equal("data", a:read(0, 4))
      assert.matches("bad argument #2 to 'open' %(invalid option 'w'%)",
        raises(function() ipc.shm.open(name, "w") end))
    end)

    it("returns EACCES when another uid opens a 0600 segment", function()
      if run("id -u"):match("^0") == nil then
        pending("needs root to run a child as another uid")
        return
      end
      local name = tname("perm")
      seg(ipc.shm.create(name, 64))
      local shared = tname("perm644")
      seg(ipc.shm.create(shared, 64, "644")):write(0, "public")
      local script = ([[
        local ipc = require "ipc"
        local _, _, c1 = ipc.shm.open(%q)
        local _, _, c2 = ipc.shm.open(%q, "r")
        local _, _, c3 = ipc.shm.open(%q)
        local s = assert(ipc.shm.open(%q, "r"))
        io.write(c1, " ", c2, " ", c3, " ", s:read(0, 6))
      ]]):format(name, name, shared, shared)
      local p = track(assert(ipc.spawn({ "setpriv", "--reuid=65534", "--regid=65534",
        "--clear-groups", helper.interpreter(), "-e", script },
        { stdout = "pipe", env = { LUA_CPATH = package.cpath, PATH = os.getenv("PATH") } })))
      local out = p.stdout:read("a")
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal(("%d %d %d public"):format(ipc.EACCES, ipc.EACCES, ipc.EACCES), out)
      assert.is_true(exists(name))
    end)

    it("returns ENOSPC for a segment larger than /dev/shm and leaves no name", function()
      local blocks, bsize = run("stat -f -c '%b %S' /dev/shm"):match("(%d+) (%d+)")
      if tonumber(blocks) == 0 then
        pending("/dev/shm has no size limit: ENOSPC cannot be provoked")
        return
      end
      -- Bigger than the whole file system: refused before any page is taken.
      local size = tonumber(blocks) * tonumber(bsize) * 2
      local name = tname("enospc")
      local s, msg, code = ipc.shm.create(name, size)
      assert.same({ nil, "create " .. name .. ": no space left on device", ipc.ENOSPC },
        { s, msg, code })
      assert.is_false(exists(name))
    end)
  end)

  describe("bad input", function()
    -- Bad names carry the prefix, so that whatever a call wrongly made
    -- would show in mine().
    local before
    before_each(function() before = mine() end)
    after_each(function() assert.equal(before, mine(), "/dev/shm changed") end)

    local function bad_name(name, why)
      assert.equal(("bad argument #1 to 'create' (%s)"):format(why),
        raises(function() ipc.shm.create(name, 64) end))
      assert.equal(("bad argument #1 to 'open' (%s)"):format(why),
        raises(function() ipc.shm.open(name) end))
      assert.equal(("bad argument #1 to 'unlink' (%s)"):format(why),
        raises(function() ipc.shm.unlink(name) end))
    end

    it("raises for a name with a second slash", function()
      bad_name("/" .. prefix .. "/x", "name has a second '/'")
    end)

    it("raises for a name over 250 bytes", function()
      bad_name("/" .. prefix .. ("n"):rep(251 - #prefix),
        "name is longer than 250 bytes after its '/'")
      local longest = tname("")
      longest = longest .. ("n"):rep(251 - #longest)
      names[#names + 1] = longest
      assert.equal(251, #longest)
      seg(ipc.shm.create(longest, 1)):close()
      assert.is_true(ipc.shm.unlink(longest))
    end)

    it("raises for an empty name", function()
      bad_name("", "name is empty")
    end)

    it("raises for a name without its leading slash", function()
      bad_name(prefix, "name must start with '/'")
    end)

    it("raises for '/', '/.', '/..', spaces and zero bytes", function()
      bad_name("/", "name has nothing after its '/'")
      bad_name("/..", "name must not be '.' or '..'")
      bad_name("/.", "name must not be '.' or '..'")
      local chars = "name may only have letters, digits, '.', '_' and '-' after its '/'"
      bad_name("/" .. prefix .. " x", chars)
      bad_name("/" .. prefix .. "\0x", chars)
      bad_name("/" .. prefix .. "-caf\195\169", chars)
    end)

    it("raises for a size of 0, a negative or a fractional one", function()
      local name = tname("size")
      assert.matches("bad argument #2 to 'create' %(size must be positive%)",
        raises(function() ipc.shm.create(name, 0) end))
      assert.matches("bad argument #2 to 'create' %(size must be positive%)",
        raises(function() ipc.shm.create(name, -1) end))
      assert.matches("bad argument #2 to 'create' %(number has no integer representation%)",
        raises(function() ipc.shm.create(name, 1.5) end))
      assert.matches("bad argument #1 to 'anon' %(size must be positive%)",
        raises(function() ipc.shm.anon(0) end))
      assert.matches("bad argument #2 to 'sysv' %(size must be positive%)",
        raises(function() ipc.shm.sysv(nil, 0) end))
    end)

    it("raises for a wrong type of name or size", function()
      assert.matches("bad argument #1 to 'create' %(string expected, got nil%)",
        raises(function() ipc.shm.create(nil, 1) end))
      assert.matches("bad argument #2 to 'create' %(number expected, got no value%)",
        raises(function() ipc.shm.create("/x") end))
    end)
  end)

  describe("anonymous segments", function()
    it("are shared with a child made by spawn", function()
      local s = seg(ipc.shm.anon(3000))
      assert.equal("ipc.shm (anonymous, 3000 bytes, rw)", tostring(s))
      assert.is_nil(s:name())
      assert.is_nil(s:id())
      assert.is_number(s:fd())
      local p = track(assert(ipc.spawn(function() s:write(2990, "from kid") end)))
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal("from kid", s:read(2990, 8))
    end)

    it("lose no increment when two processes add atomically", function()
      local s = seg(ipc.shm.anon(64))
      local function adder()
        for _ = 1, 100000 do
          s:atomic_add("i64", 8, 1)
          s:atomic_add("u32", 20, -1)
        end
      end
      local p1 = track(assert(ipc.spawn(adder)))
      local p2 = track(assert(ipc.spawn(adder)))
      assert.same({ "exit", 0 }, { p1:wait() })
      assert.same({ "exit", 0 }, { p2:wait() })
      assert.equal(200000, s:atomic_load("i64", 8))
      assert.equal(4294967296 - 200000, s:atomic_load("u32", 20))
    end)
  end)

  describe("System V segments", function()
    it("are made by a key from ftok, exclusively, and open by key and id", function()
      local key = assert(ipc.shm.ftok(tfile(), 7))
      assert.is_number(key)
      local a = seg(ipc.shm.sysv(key, 5000))
      local id = a:id()
      assert.is_number(id)
      assert.is_nil(a:fd())
      assert.is_nil(a:name())
      assert.equal(5000, a:size())
      assert.equal(("ipc.shm (System V id %d, 5000 bytes, rw)"):format(id), tostring(a))
      a:write(4990, "sysv")
      local s, msg, code = ipc.shm.sysv(key, 5000)
      assert.is_nil(s)
      assert.equal(ipc.EEXIST, code)
      assert.equal(("sysv key 0x%08x: file exists"):format(key % 2 ^ 32), msg)
      local p = track(assert(ipc.spawn(function()
        local k = assert(ipc.shm.sysv_open(key))
        assert(k:id() == id and k:size() == 5000 and k:read(4990, 4) == "sysv")
        k:write(0, "child")
        k:close()
      end)))
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal("child", a:read(0, 5))
      local b = seg(ipc.shm.sysv_open({ id = id }, "r"))
      assert.equal("ipc.shm (System V id " .. id .. ", 5000 bytes, r)", tostring(b))
      assert.equal("child", b:read(0, 5))
      assert.is_true(a:remove())
      local gone, _, gcode = ipc.shm.sysv_open(key)
      assert.is_nil(gone)
      assert.equal(ipc.ENOENT, gcode)
      assert.equal("child", b:read(0, 5), "attached maps stay valid")
    end)

    it("are new each time with a nil key, with the mode given", function()
      local a = seg(ipc.shm.sysv(nil, 100, "0640"))
      local b = seg(ipc.shm.sysv(nil, 100))
      assert.are_not.equal(a:id(), b:id())
      local modes = run("ipcs -m"):gsub("\n(%s*)", "\n")
      assert.matches("\n0x00000000%s+" .. a:id() .. "%s+%S+%s+640%s", modes)
      assert.matches("\n0x00000000%s+" .. b:id() .. "%s+%S+%s+600%s", modes)
      a:set("u8", 99, 7)
      assert.equal(7, seg(ipc.shm.sysv_open({ id = a:id() })):get("u8", 99))
      assert.equal(0, b:get("u8", 99))
    end)

    it("raises for bad keys, ids and ftok ids; remove raises on others", function()
      assert.matches("bad argument #2 to 'ftok' %(id must be 1..255%)",
        raises(function() ipc.shm.ftok("/tmp", 0) end))
      assert.matches("bad argument #2 to 'ftok' %(id must be 1..255%)",
        raises(function() ipc.shm.ftok("/tmp", 256) end))
      local _, msg, code = ipc.shm.ftok("/nonexistent/libipc", 1)
      assert.same({ "ftok /nonexistent/libipc: no such file or directory", ipc.ENOENT },
        { msg, code })
      assert.matches("bad argument #1 to 'sysv' %(key out of range%)",
        raises(function() ipc.shm.sysv(2 ^ 32, 1) end))
      assert.matches("bad argument #1 to 'sysv_open' %(key 0 is IPC_PRIVATE",
        raises(function() ipc.shm.sysv_open(0) end))
      assert.matches("bad argument #1 to 'sysv_open' %(unknown option 'key'%)",
        raises(function() ipc.shm.sysv_open({ key = 1 }) end))
      assert.equal("bad argument #1 to 'sysv_open' (id must be an integer in 0..2^31-1)",
        raises(function() ipc.shm.sysv_open({ id = -1 }) end))
      assert.equal("bad argument #1 to 'sysv_open' (id must be a number)",
        raises(function() ipc.shm.sysv_open({}) end))
      local _, m2, c2 = ipc.shm.sysv_open({ id = 2 ^ 31 - 1 })
      assert.equal(ipc.EINVAL, c2)
      assert.equal("sysv_open id 2147483647: invalid argument", m2)
      local a = seg(ipc.shm.anon(8))
      assert.matches("calling 'remove' on bad self %(System V segment expected%)",
        raises(function() a:remove() end))
    end)
  end)

  describe("access", function()
    local s
    before_each(function() s = seg(ipc.shm.anon(4096)) end)

    it("raises for every offset or length out of bounds", function()
      local function oob(f) return raises(f) end
      assert.equal("bad argument #1 to 'read' (offset 4090 + 16 out of bounds of 4096 bytes)",
        oob(function() s:read(4090, 16) end))
      assert.equal("bad argument #1 to 'read' (offset -1 + 1 out of bounds of 4096 bytes)",
        oob(function() s:read(-1, 1) end))
      assert.equal("bad argument #2 to 'read' (length must not be negative)",
        oob(function() s:read(0, -1) end))
      assert.equal("bad argument #1 to 'write' (offset 4095 + 2 out of bounds of 4096 bytes)",
        oob(function() s:write(4095, "ab") end))
      assert.equal("bad argument #2 to 'get' (offset 4093 + 4 out of bounds of 4096 bytes)",
        oob(function() s:get("u32", 4093) end))
      assert.equal("bad argument #2 to 'set' (offset 4089 + 8 out of bounds of 4096 bytes)",
        oob(function() s:set("f64", 4089, 1) end))
      assert.equal("bad argument #2 to 'atomic_add' (offset 4096 + 4 out of bounds of 4096 bytes)",
        oob(function() s:atomic_add("i32", 4096, 1) end))
      assert.equal("bad argument #1 to 'read' (offset 9007199254740992 + 1 out of bounds "
        .. "of 4096 bytes)", oob(function() s:read(2 ^ 53, 1) end))
      -- The edges themselves are in bounds.
      assert.equal("", s:read(4096, 0))
      assert.equal("", s:read(4096))
      assert.equal(s, s:write(4096, ""))
      assert.equal(0, s:get("u64", 4088))
      assert.equal(4096, #s:read(0))
    end)

    it("round-trips every type at its limits, in native byte order", function()
      local cases = {
        { "i8", -128, 127 }, { "u8", 0, 255 },
        { "i16", -32768, 32767 }, { "u16", 0, 65535 },
        { "i32", -2147483648, 2147483647 }, { "u32", 0, 4294967295 },
        { "i64", -2 ^ 53, 2 ^ 53 }, { "u64", 0, 2 ^ 53 },
        { "f32", -1.5, 3.25 }, { "f64", -math.pi, 1e300 },
      }
      for _, c in ipairs(cases) do
        for _, v in ipairs { c[2], c[3] } do
          assert.equal(s, s:set(c[1], 1, v)) -- unaligned on purpose
          assert.equal(v, s:get(c[1], 1), c[1] .. " " .. v)
        end
      end
      if has_integers then
        s:set("i64", 0, math.mininteger)
        assert.equal(math.mininteger, s:get("i64", 0))
        s:set("i64", 0, math.maxinteger)
        assert.equal(math.maxinteger, s:get("i64", 0))
      end
      assert.equal(0.1 + 0.0, s:set("f64", 0, 0.1):get("f64", 0))
      assert.is_true(math.abs(s:set("f32", 0, 0.1):get("f32", 0) - 0.1) < 1e-7)
      assert.are_not.equal(0.1, s:get("f32", 0), "f32 keeps single precision")
      -- Native (here little-endian) byte order, as C sees it.
      s:set("u32", 0, 0x01020304)
      local little = s:read(0, 4) == "\4\3\2\1"
      assert.equal(little and "\4\3\2\1" or "\1\2\3\4", s:read(0, 4))
      s:set("i16", 0, -2)
      assert.equal("\254\255", little and s:read(0, 2) or s:read(0, 2):reverse())
    end)

    it("gives u64 values above 2^63 as the integer with the same bits", function()
      -- The bytes of a little-endian value as this machine stores them.
      local function native(le)
        return s:set("u16", 0, 1):read(0, 1) == "\1" and le or le:reverse()
      end
      s:set("u64", 0, -1)
      assert.equal(("\255"):rep(8), s:read(0, 8))
      assert.equal(-1, s:get("u64", 0))
      local high = native("\0\0\0\0\0\0\0\128")
      s:set("u64", 0, 2 ^ 63) -- a float everywhere: accepted for u64
      assert.equal(high, s:read(0, 8))
      assert.equal(-2 ^ 63, s:get("u64", 0))
      local top = native("\0\248" .. ("\255"):rep(6))
      s:set("u64", 0, 2 ^ 64 - 2 ^ 11) -- the largest double below 2^64
      assert.equal(top, s:read(0, 8))
      assert.matches("number has no integer representation",
        raises(function() s:set("u64", 0, 2 ^ 64) end))
      assert.matches("number has no integer representation",
        raises(function() s:set("i64", 0, 2 ^ 63) end))
    end)

    it("raises for values that do not fit the type, before writing", function()
      s:write(0, "\1\1\1\1")
      local function bad(t, v) return raises(function() s:set(t, 0, v) end) end
      assert.equal("bad argument #3 to 'set' (value 256 out of range for u8)", bad("u8", 256))
      assert.equal("bad argument #3 to 'set' (value -1 out of range for u8)", bad("u8", -1))
      assert.equal("bad argument #3 to 'set' (value -129 out of range for i8)", bad("i8", -129))
      assert.equal("bad argument #3 to 'set' (value 65536 out of range for u16)",
        bad("u16", 65536))
      assert.equal("bad argument #3 to 'set' (value 4294967296 out of range for u32)",
        bad("u32", 2 ^ 32))
      assert.equal("bad argument #3 to 'set' (value 2147483648 out of range for i32)",
        bad("i32", 2 ^ 31))
      assert.equal("bad argument #3 to 'set' (number has no integer representation)",
        bad("i32", 1.5))
      assert.equal("bad argument #3 to 'set' (number expected, got string)", bad("f32", "x"))
      assert.equal("bad argument #1 to 'set' (invalid option 'u128')", bad("u128", 1))
      assert.equal("\1\1\1\1", s:read(0, 4))
    end)

    it("loads, stores, adds and compares-and-swaps atomically", function()
      assert.equal(s, s:atomic_store("i32", 4, -5))
      assert.equal(-5, s:atomic_load("i32", 4))
      assert.equal(-5, s:atomic_add("i32", 4, 10))
      assert.equal(5, s:atomic_load("i32", 4))
      assert.is_true(s:atomic_cas("i32", 4, 5, 6))
      assert.same({ false, 6 }, { s:atomic_cas("i32", 4, 5, 7) })
      assert.equal(6, s:get("i32", 4))
      -- Adding wraps around the width instead of overflowing.
      s:atomic_store("u32", 8, 4294967295)
      assert.equal(4294967295, s:atomic_add("u32", 8, 1))
      assert.equal(0, s:atomic_load("u32", 8))
      s:atomic_store("i32", 8, 2147483647)
      s:atomic_add("i32", 8, 1)
      assert.equal(-2147483648, s:atomic_load("i32", 8))
      s:atomic_store("u64", 16, -1)
      assert.equal(-1, s:atomic_add("u64", 16, 1))
      assert.equal(0, s:atomic_load("u64", 16))
      assert.equal(0, s:atomic_add("i64", 24, 2 ^ 40))
      assert.equal(2 ^ 40, s:atomic_load("i64", 24))
      assert.is_true(s:atomic_cas("u64", 24, 2 ^ 40, 3))
      assert.equal(3, s:get("u64", 24))
    end)

    it("raises for a misaligned offset or a type without atomics", function()
      assert.equal("bad argument #2 to 'atomic_load' (offset 2 is not aligned to 4 bytes)",
        raises(function() s:atomic_load("u32", 2) end))
      assert.equal("bad argument #2 to 'atomic_add' (offset 12 is not aligned to 8 bytes)",
        raises(function() s:atomic_add("i64", 12, 1) end))
      assert.equal("bad argument #1 to 'atomic_cas' (invalid option 'u8')",
        raises(function() s:atomic_cas("u8", 0, 0, 1) end))
      assert.equal("bad argument #1 to 'atomic_store' (invalid option 'f64')",
        raises(function() s:atomic_store("f64", 0, 1) end))
      assert.equal("bad argument #3 to 'atomic_store' (value -1 out of range for u32)",
        raises(function() s:atomic_store("u32", 0, -1) end))
    end)

    it("raises on any use of a closed segment, close included", function()
      assert.is_true(s:close())
      for _, call in ipairs {
        function() return s:read(0, 1) end, function() return s:write(0, "x") end,
        function() return s:get("u8", 0) end, function() return s:atomic_load("i32", 0) end,
        function() return s:size() end, function() return s:fd() end,
        function() return s:close() end,
      } do
        assert.matches("attempt to use a closed ipc.shm", raises(call))
      end
      local r = track(assert(ipc.pipe()))
      assert.equal("bad argument #1 to 'read' (ipc.shm expected, got ipc.pipe)",
        raises(function() s.read(r, 0, 1) end))
    end)

    it("unmaps when collected, and at the end of a <close> scope on 5.4", function()
      collectgarbage() -- first what earlier tests dropped
      collectgarbage()
      local before = helper.fd_count()
      do local _ = ipc.shm.anon(64) end
      collectgarbage()
      collectgarbage()
      assert.equal(before, helper.fd_count())
      if _VERSION == "Lua 5.4" then
        local body = "local ipc = ...; local fd; do local s <close> = ipc.shm.anon(8); "
          .. "fd = s:fd() end; return fd"
        local fd = assert((loadstring or load)(body))(ipc)
        assert.is_false(helper.fd_open(fd))
      end
    end)
  end)

  describe("interop", function()
    local root = dir .. "/../.."

    -- Runs a peer program; returns its output, asserting that it succeeded.
    local function peer(argv)
      local p = track(assert(ipc.spawn(argv, { stdout = "pipe" })))
      local out = p.stdout:read("a")
      assert.same({ "exit", 0 }, { p:wait() }, table.concat(argv, " "))
      return out
    end

    -- The command cmd (a table) with more arguments.
    local function with(cmd, ...)
      local argv = { (unpack or table.unpack)(cmd) } -- luacheck: ignore 143
      for i = 1, select("#", ...) do argv[#argv + 1] = select(i, ...) end
      return argv
    end

    -- The peers: Python's multiprocessing.shared_memory, and plain C.
    local peers = {
      python = function() return { "python3", root .. "/tests/interop/shm_peer.py" } end,
      c = function()
        local exe = tfile()
        local ok = os.execute(("cc -std=gnu11 -o %s %s/tests/interop/shm_peer.c"):format(exe, root))
        assert(ok == true or ok == 0, "cc failed")
        return { exe }
      end,
    }

    for _, lang in ipairs { "python", "c" } do
      it("shares a segment made here with " .. lang, function()
        local cmd = peers[lang]()
        local name = tname("to-" .. lang)
        local s = seg(ipc.shm.create(name, 4096))
        s:write(100, "from lua")
        assert.equal("4096 from lua", peer(with(cmd, "read", name, "100", "8")))
        peer(with(cmd, "write", name, "200", "from " .. lang))
        assert.equal("from " .. lang, s:read(200, #lang + 5))
        assert.is_true(exists(name), lang .. " must not unlink the segment")
      end)

      it("opens a segment " .. lang .. " made", function()
        local name = tname("from-" .. lang)
        peer(with(peers[lang](), "create", name, "8192", "made by " .. lang))
        assert.is_true(exists(name))
        local s = seg(ipc.shm.open(name))
        assert.equal(8192, s:size())
        assert.equal("made by " .. lang, s:read(0, 8 + #lang))
      end)
    end
  end)
end)
