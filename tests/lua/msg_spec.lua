-- msg_spec.lua: ipc.msg, System V message queues: private and keyed queues,
-- type selection, whole and exact-size receives, truncation only when asked,
-- stat, the byte limit, removal under a waiting child, timeouts, the Ctrl-C
-- hook, queues shared with Perl's IPC::Msg, and every bad input.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

local root = dir .. "/../.."

-- What each test made, removed by after_each even when the test failed.
local queues, ids, files = {}, {}, {}

-- Registers a queue: its handle for closing, its id for removal.
local function msgq(q, ...)
  assert(q, ...)
  queues[#queues + 1] = q
  ids[#ids + 1] = q:id()
  return q
end

local function cleanup()
  for i = #queues, 1, -1 do
    if not tostring(queues[i]):find("closed", 1, true) then queues[i]:close() end
    queues[i] = nil
  end
  for i = #ids, 1, -1 do
    local q = ipc.msg.open({ id = ids[i] })
    if q then
      q:remove()
      q:close()
    end
    ids[i] = nil
  end
  for i = #files, 1, -1 do
    os.remove(files[i])
    files[i] = nil
  end
  helper.cleanup()
end

-- Whether a queue has the id.
local function alive(id)
  local q = ipc.msg.open({ id = id })
  if q then q:close() end
  return q ~= nil
end

-- A key from a fresh temporary file; any queue a previous run left under
-- it is removed.
local function tkey()
  local path = os.tmpname()
  files[#files + 1] = path
  local key = assert(ipc.msg.ftok(path, 77))
  local old = ipc.msg.open(key)
  if old then
    old:remove()
    old:close()
  end
  return key
end

local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err:match("attempt.*$") or err
end

local function kernel(file)
  local f = assert(io.open("/proc/sys/kernel/" .. file))
  local n = f:read("*n")
  f:close()
  return n
end

describe("ipc.msg", function()
  after_each(cleanup)

  describe("queues", function()
    it("creates a private queue, empty, mode 0600, with the default byte limit", function()
      local q = msgq(ipc.msg.create())
      assert.is_number(q:id())
      assert.is_nil(q:key())
      local st = q:stat()
      assert.equal(0, st.count)
      assert.equal(0, st.bytes)
      assert.equal(kernel("msgmnb"), st.max_bytes)
      assert.equal(tonumber("600", 8), st.mode)
      assert.equal(0, st.key)
      assert.equal(0, st.last_sender)
      assert.equal(0, st.send_time)
      assert.is_true(st.change_time >= os.time() - 5)
      assert.equal(("ipc.msg (id %d, private, 0 messages, 0/%d bytes)"):format(q:id(),
        st.max_bytes), tostring(q))
      local other = msgq(ipc.msg.create(nil, "640"))
      assert.not_equal(q:id(), other:id())
      assert.equal(tonumber("640", 8), other:stat().mode)
      assert.is_nil(q.fd, "a System V queue has no descriptor")
      assert.is_true(q:close())
      assert.equal("ipc.msg (closed)", tostring(q))
      assert.is_true(alive(ids[1]), "close never removes the queue")
      assert.equal("attempt to use a closed ipc.msg", raises(function() q:stat() end))
    end)

    it("creates a keyed queue once, and opens it by key and by id", function()
      local key = tkey()
      local q = msgq(ipc.msg.create(key))
      assert.equal(key % 2 ^ 32, q:key())
      assert.equal(key % 2 ^ 32, q:stat().key)
      assert.matches(("key 0x%08x"):format(key % 2 ^ 32), tostring(q), 1, true)
      assert.same({ nil, ("create key 0x%08x: file exists"):format(key % 2 ^ 32), ipc.EEXIST },
        { ipc.msg.create(key) })
      local byk = msgq(ipc.msg.open(key))
      local byid = msgq(ipc.msg.open({ id = q:id() }))
      assert.equal(q:id(), byk:id())
      byk:send(1, "via key")
      assert.same({ "via key", 1 }, { byid:receive(0) })
      assert.is_true(q:remove())
      assert.matches("removed%)$", tostring(q))
      assert.same({ nil, ("open key 0x%08x: no such file or directory"):format(key % 2 ^ 32),
        ipc.ENOENT }, { ipc.msg.open(key) })
      assert.same({ nil, ("open id %d: invalid argument"):format(q:id()), ipc.EINVAL },
        { ipc.msg.open({ id = q:id() }) })
    end)

    it("has ftok, the one of ipc.shm", function()
      assert.equal(ipc.shm.ftok, ipc.msg.ftok)
    end)

    it("reads the system's limits", function()
      assert.same({ max_message = kernel("msgmax"), max_bytes = kernel("msgmnb"),
        max_queues = kernel("msgmni") }, ipc.msg.limits())
    end)
  end)

  describe("messages", function()
    it("are chosen by type: 0 the first, n that type, -n the lowest type up to n", function()
      local q = msgq(ipc.msg.create())
      for _, m in ipairs { { 7, "seven" }, { 3, "three-a" }, { 5, "five" }, { 3, "three-b" },
        { 1, "one" } } do
        assert.is_true(q:send(m[1], m[2]))
      end
      assert.same({ "seven", 7 }, { q:receive() })
      assert.same({ "five", 5 }, { q:receive(5) })
      assert.same({ "one", 1 }, { q:receive(-4) })
      assert.same({ "three-a", 3 }, { q:receive(-4) })
      assert.same({ nil, ("receive id %d: timed out"):format(q:id()), ipc.ETIMEDOUT },
        { q:receive(2, 0) })
      assert.same({ "three-b", 3 }, { q:receive(0, 0) })
    end)

    it("carry any bytes, up to msgmax, and come whole by default", function()
      local q = msgq(ipc.msg.create())
      local max = kernel("msgmax")
      if max > q:stat().max_bytes then q:set_max_bytes(max) end
      local big = ("0123456789abcdef"):rep(max / 16 + 1):sub(1, max)
      q:send(1, "")
      q:send(2, "a\0b\255")
      q:send(3, big)
      assert.same({ "", 1 }, { q:receive() })
      assert.same({ "a\0b\255", 2 }, { q:receive() })
      assert.same({ big, 3 }, { q:receive() })
    end)

    it("go between a parent and a child that opens the queue by id", function()
      local q = msgq(ipc.msg.create())
      local id = q:id()
      local p = track(assert(ipc.spawn(function()
        local c = assert(ipc.msg.open({ id = id }))
        for _ = 1, 50 do
          local s = assert(c:receive(1, 5)) -- requests are type 1
          assert(c:send(2, s:upper(), 5))
        end
      end)))
      for i = 1, 50 do
        assert.is_true(q:send(1, "request " .. i, 5))
        assert.same({ "REQUEST " .. i, 2 }, { q:receive(2, 5) })
      end
      assert.same({ "exit", 0 }, { p:wait() })
      local st = q:stat()
      assert.equal(p.pid, st.last_sender)
      assert.equal(ipc.getpid(), st.last_receiver)
      assert.is_true(st.send_time >= os.time() - 5 and st.receive_time >= os.time() - 5)
    end)
  end)

  describe("waits", function()
    it("returns ETIMEDOUT from receive after the timeout", function()
      local q = msgq(ipc.msg.create())
      local t0 = os.time()
      assert.same({ nil, ("receive id %d: timed out"):format(q:id()), ipc.ETIMEDOUT },
        { q:receive(0, 0.2) })
      assert.is_true(os.time() - t0 < 3)
    end)

    it("returns ETIMEDOUT from send on a full queue and adds nothing", function()
      local q = msgq(ipc.msg.create())
      assert.equal(q, q:set_max_bytes(10))
      assert.is_true(q:send(1, "0123456789", 0))
      assert.same({ nil, ("send id %d: timed out"):format(q:id()), ipc.ETIMEDOUT },
        { q:send(1, "x", 0.1) })
      assert.equal(ipc.ETIMEDOUT, select(3, q:send(1, "x", 0)))
      assert.equal(1, q:stat().count)
    end)

    it("takes a message that a child sends later", function()
      local q = msgq(ipc.msg.create())
      local p = track(assert(ipc.spawn(function()
        helper.sleep(0.1)
        assert(q:send(6, "late"))
      end)))
      assert.same({ "late", 6 }, { q:receive(6, 5) })
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("gives EIDRM to a child waiting on a queue that is removed", function()
      local q = msgq(ipc.msg.create())
      local p = track(assert(ipc.spawn(function()
        local _, _, code = q:receive()
        io.write(code)
      end, { stdout = "pipe" })))
      helper.sleep(0.1)
      assert.is_true(q:remove())
      assert.equal(tostring(ipc.EIDRM), p.stdout:read("a"))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("lets the interpreter's Ctrl-C out of a blocked receive", function()
      if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
      local registry = debug.getregistry()
      registry["ipc.interrupt"] = function() end
      local q = msgq(ipc.msg.create())
      local parent = ipc.getpid()
      local p = track(assert(ipc.spawn(function()
        helper.sleep(0.2)
        os.execute("kill -INT " .. parent)
        helper.sleep(0.2)
        assert(q:send(1, "after"))
      end)))
      local ok, err = pcall(q.receive, q)
      registry["ipc.interrupt"] = nil
      assert.is_false(ok)
      assert.matches("interrupted!", err)
      assert.same({ "after", 1 }, { q:receive(0, 5) })
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("with Perl's IPC::Msg", function()
    local peer = root .. "/tests/interop/mq_msg_peer.pl"

    local function perl(...)
      local p = track(assert(ipc.spawn({ "perl", peer, ... }, { stdout = "pipe" })))
      local out = p.stdout:read("a")
      assert.same({ "exit", 0 }, { p:wait() }, table.concat({ ... }, " "))
      return out, p.pid
    end

    it("receives what Perl sends and sends what Perl receives, by type", function()
      local key = tkey()
      local q = msgq(ipc.msg.create(key))
      local _, perl_pid = perl("send", tostring(key), "4", "from perl")
      assert.same({ "from perl", 4 }, { q:receive(0, 0) })
      assert.equal(perl_pid, q:stat().last_sender)
      q:send(9, "nine")
      q:send(2, "from lua")
      local got, receiver = perl("recv", tostring(key), "-5")
      assert.equal("2 from lua", got)
      assert.equal(("1 %d %d"):format(ipc.getpid(), receiver), (perl("stat", tostring(key))))
    end)

    it("opens a queue that Perl made", function()
      local key = tkey()
      local id = tonumber((perl("create", tostring(key))))
      ids[#ids + 1] = id
      local q = msgq(ipc.msg.open(key))
      assert.equal(id, q:id())
      assert.equal(tonumber("600", 8), q:stat().mode)
      perl("send", tostring(key), "3", "hello")
      assert.same({ "hello", 3 }, { q:receive() })
    end)
  end)

  describe("bad input", function()
    it("raises for a send with type 0 or negative, and queues nothing", function()
      local q = msgq(ipc.msg.create())
      assert.equal("bad argument #1 to 'send' (type must be positive)",
        raises(function() q:send(0, "x") end))
      assert.equal("bad argument #1 to 'send' (type must be positive)",
        raises(function() q:send(-3, "x") end))
      assert.equal(0, q:stat().count)
    end)

    it("returns E2BIG for a message longer than the size asked, and keeps it queued", function()
      local q = msgq(ipc.msg.create())
      q:send(3, "0123456789")
      assert.same({ nil, ("receive id %d: argument list too long (the message is longer than "
        .. "4 bytes and stays queued; truncate = true cuts it)"):format(q:id()), ipc.E2BIG },
        { q:receive(0, 0, { size = 4 }) })
      local st = q:stat()
      assert.equal(1, st.count)
      assert.equal(10, st.bytes)
      assert.same({ "0123456789", 3 }, { q:receive(0, 0, { size = 10 }) })
    end)

    it("truncates only when asked, and the rest is gone", function()
      local q = msgq(ipc.msg.create())
      q:send(3, "0123456789")
      assert.same({ "0123", 3 }, { q:receive(0, 0, { size = 4, truncate = true }) })
      assert.equal(0, q:stat().count)
    end)

    it("returns EMSGSIZE for a message that could never fit", function()
      local q = msgq(ipc.msg.create())
      local max = kernel("msgmax")
      assert.same({ nil, ("send id %d: message too long (%d bytes: above msgmax or the queue's "
        .. "byte limit)"):format(q:id(), max + 1), ipc.EMSGSIZE },
        { q:send(1, ("x"):rep(max + 1)) })
      q:set_max_bytes(4)
      assert.equal(ipc.EMSGSIZE, select(3, q:send(1, "12345")))
      assert.equal(0, q:stat().count)
    end)

    it("raises for bad keys, ids, options and timeouts", function()
      assert.equal("bad argument #1 to 'create' (key out of range)",
        raises(function() ipc.msg.create(2 ^ 32) end))
      assert.matches("bad argument #2 to 'create' %(mode must be 0..0777",
        raises(function() ipc.msg.create(nil, "1777") end))
      assert.equal("bad argument #1 to 'open' (key 0 is IPC_PRIVATE: open by {id = n})",
        raises(function() ipc.msg.open(0) end))
      assert.equal("bad argument #1 to 'open' (id must be an integer in 0..2^31-1)",
        raises(function() ipc.msg.open({ id = -1 }) end))
      local q = msgq(ipc.msg.create())
      assert.equal("bad argument #3 to 'receive' (unknown option 'max')",
        raises(function() q:receive(0, 0, { max = 1 }) end))
      assert.equal("bad argument #3 to 'receive' (truncate needs a size)",
        raises(function() q:receive(0, 0, { truncate = true }) end))
      assert.equal("bad argument #3 to 'receive' (size must be an integer in 0..2^31-1)",
        raises(function() q:receive(0, 0, { size = -1 }) end))
      assert.equal("bad argument #2 to 'receive' (timeout must not be negative)",
        raises(function() q:receive(0, -1) end))
      assert.equal("bad argument #3 to 'send' (timeout must not be negative)",
        raises(function() q:send(1, "x", -1) end))
      assert.equal("bad argument #1 to 'set_max_bytes' (byte limit must be positive)",
        raises(function() q:set_max_bytes(0) end))
      assert.equal(0, q:stat().count)
    end)

    it("returns EPERM for a byte limit above msgmnb set by an unprivileged owner", function()
      local id_out = io.popen("id -u")
      local uid = id_out:read("*l")
      id_out:close()
      if uid ~= "0" then return pending("needs root to run a child as nobody") end
      local q = msgq(ipc.msg.create(nil, "666"))
      local src = ([[
        local ipc = require "ipc"
        local q = assert(ipc.msg.open({ id = %d }))
        io.write(select(3, q:set_max_bytes(%d)))
      ]]):format(q:id(), kernel("msgmnb") + 1)
      local p = track(assert(ipc.spawn({ "setpriv", "--reuid=65534", "--regid=65534",
        "--clear-groups", helper.interpreter(), "-e", src },
        { stdout = "pipe", env = { LUA_CPATH = package.cpath, PATH = os.getenv("PATH") } })))
      assert.equal(tostring(ipc.EPERM), p.stdout:read("a"))
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal(kernel("msgmnb"), q:stat().max_bytes)
    end)
  end)
end)
