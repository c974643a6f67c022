-- mq_spec.lua: ipc.mq, POSIX message queues: attributes, priorities, queues
-- shared with real children, timeouts, non-blocking mode, directions, the
-- Ctrl-C hook, the system limits named in the message of a refused create,
-- closed handles and every bad input, each leaving no queue behind.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- What each test made, removed by after_each even when the test failed.
local names, queues = {}, {}

-- A name unique to this process and test ("/libipc-spec-<pid>-tag").
local function tname(tag)
  local name = ("/libipc-spec-%d-%s"):format(ipc.getpid(), tag)
  names[#names + 1] = name
  ipc.mq.unlink(name) -- a previous run's leftover
  return name
end

-- Registers a queue handle for closing; asserts the call succeeded.
local function mq(q, ...)
  assert(q, ...)
  queues[#queues + 1] = q
  return q
end

local function cleanup()
  for i = #queues, 1, -1 do
    if not tostring(queues[i]):find("closed", 1, true) then queues[i]:close() end
    queues[i] = nil
  end
  for i = #names, 1, -1 do
    ipc.mq.unlink(names[i])
    names[i] = nil
  end
  helper.cleanup()
end

-- Whether a queue has the name (asked of the kernel: no /dev/mqueue needed).
local function exists(name)
  local q, msg, code = ipc.mq.open(name)
  if q then
    q:close()
    return true
  end
  assert(code == ipc.ENOENT, msg)
  return false
end

local function run(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

-- The octal permission bits of the queue behind q's descriptor ("600").
local function mode_of(q)
  return (run(("stat -L -c %%a /proc/%d/fd/%d"):format(ipc.getpid(), q:fd())):gsub("%s+$", ""))
end

-- The message of the error f raises, from "bad argument" on.
local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err:match("attempt.*$") or err
end

-- Runs the Lua chunk src in a new interpreter through the shell command
-- prefix (setpriv ..., prlimit ...); returns what it wrote.
local function lua_as(prefix, src)
  local p = track(assert(ipc.spawn({ "sh", "-c", prefix .. ' "$0" -e "$1"',
    helper.interpreter(), src },
    { stdout = "pipe", env = { LUA_CPATH = package.cpath, PATH = os.getenv("PATH") } })))
  local out = p.stdout:read("a")
  assert.same({ "exit", 0 }, { p:wait() }, out)
  return out
end

local nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups"

describe("ipc.mq", function()
  after_each(cleanup)

  describe("queues", function()
    it("creates a queue that open finds and unlink removes", function()
      local name = tname("basic")
      local q = mq(ipc.mq.create(name, { maxmsg = 4, msgsize = 100 }))
      assert.is_true(exists(name))
      assert.equal(name, q:name())
      assert.is_number(q:fd())
      assert.equal(("ipc.mq (%s, fd %d, 0/4 messages of at most 100 bytes)"):format(name, q:fd()),
        tostring(q))
      local o = mq(ipc.mq.open(name))
      assert.is_true(o:send("hi"))
      assert.equal("hi", q:receive(0))
      assert.is_true(ipc.mq.unlink(name))
      assert.is_false(exists(name))
      assert.is_true(o:send("still works"))
      assert.equal("still works", q:receive(0))
      assert.same({ nil, "unlink " .. name .. ": no such file or directory", ipc.ENOENT },
        { ipc.mq.unlink(name) })
      assert.is_true(q:close())
      assert.equal("ipc.mq (closed)", tostring(q))
      assert.equal("attempt to use a closed ipc.mq", raises(function() q:send("x") end))
      assert.equal("attempt to use a closed ipc.mq", raises(function() q:close() end))
    end)

    it("keeps the attributes given and tells them with getattr", function()
      local q = mq(ipc.mq.create(tname("attr"), { maxmsg = 3, msgsize = 50 }))
      assert.same({ maxmsg = 3, msgsize = 50, curmsgs = 0, nonblock = false }, q:getattr())
      q:send("a")
      q:send("b")
      assert.equal(2, q:getattr().curmsgs)
      local lim = ipc.mq.limits()
      local d = mq(ipc.mq.create(tname("attr-default")))
      local a = d:getattr()
      assert.equal(math.min(lim.msg_default, lim.msg_max), a.maxmsg)
      assert.equal(math.min(lim.msgsize_default, lim.msgsize_max), a.msgsize)
    end)

    it("applies the mode exactly, 0600 by default", function()
      assert.equal("600", mode_of(mq(ipc.mq.create(tname("m600")))))
      assert.equal("640", mode_of(mq(ipc.mq.create(tname("m640"), { perm = "640" }))))
      assert.equal("604", mode_of(mq(ipc.mq.create(tname("m604"), { perm = 388 }))))
    end)

    it("creates exclusively and leaves the existing queue as it was", function()
      local name = tname("excl")
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      q:send("kept")
      assert.same({ nil, "create " .. name .. ": file exists", ipc.EEXIST },
        { ipc.mq.create(name) })
      assert.equal("kept", q:receive(0))
    end)

    it("opens for receiving only with 'r' and sending only with 'w'", function()
      local name = tname("dir")
      mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      local r = mq(ipc.mq.open(name, "r"))
      local w = mq(ipc.mq.open(name, "w"))
      assert.same({ nil, "send " .. name .. ": bad file descriptor", ipc.EBADF }, { r:send("x") })
      assert.same({ nil, "receive " .. name .. ": bad file descriptor", ipc.EBADF },
        { w:receive(0) })
      assert.is_true(w:send("ok"))
      assert.equal("ok", r:receive(0))
      assert.matches("bad argument #2 to 'open' %(invalid option 'x'%)",
        raises(function() ipc.mq.open(name, "x") end))
      assert.same({ nil, "open " .. tname("none") .. ": no such file or directory", ipc.ENOENT },
        { ipc.mq.open(tname("none")) })
    end)
  end)

  describe("messages", function()
    it("come out by priority, then in the order sent, with their priority", function()
      local q = mq(ipc.mq.create(tname("prio"), { maxmsg = 8, msgsize = 16 }))
      q:send("low1", 1)
      q:send("high", 9)
      q:send("low2", 1)
      q:send("zero")
      q:send("max", 32767)
      local got = {}
      for _ = 1, 5 do
        local s, prio = q:receive(0)
        got[#got + 1] = s .. ":" .. prio
      end
      assert.same({ "max:32767", "high:9", "low1:1", "low2:1", "zero:0" }, got)
    end)

    it("carry any bytes, the empty string included", function()
      local q = mq(ipc.mq.create(tname("bytes"), { maxmsg = 4, msgsize = 16 }))
      q:send("")
      q:send("a\0b\255")
      assert.same({ "", 0 }, { q:receive(0) })
      assert.same({ "a\0b\255", 0 }, { q:receive(0) })
    end)

    it("go between a parent and a child that opens the queue by name", function()
      local req, rep = tname("req"), tname("rep")
      local q = mq(ipc.mq.create(req, { maxmsg = 4, msgsize = 64 }))
      local a = mq(ipc.mq.create(rep, { maxmsg = 4, msgsize = 64 }))
      local p = track(assert(ipc.spawn(function()
        local r = assert(ipc.mq.open(req, "r"))
        local w = assert(ipc.mq.open(rep, "w"))
        for _ = 1, 50 do
          local s, prio = assert(r:receive(5))
          assert(w:send(s:upper(), prio + 1, 5))
        end
      end)))
      for i = 1, 50 do
        assert.is_true(q:send("message " .. i, i, 5))
        assert.same({ "MESSAGE " .. i, i + 1 }, { a:receive(5) })
      end
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("waits", function()
    it("returns ETIMEDOUT from receive on an empty queue after the timeout", function()
      local name = tname("rto")
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      local t0 = os.time()
      assert.same({ nil, "receive " .. name .. ": timed out", ipc.ETIMEDOUT }, { q:receive(0.2) })
      assert.is_true(os.time() - t0 < 3)
      assert.same({ nil, "receive " .. name .. ": timed out", ipc.ETIMEDOUT }, { q:receive(0) })
    end)

    it("returns ETIMEDOUT from send on a full queue and adds nothing", function()
      local name = tname("sto")
      local q = mq(ipc.mq.create(name, { maxmsg = 1, msgsize = 8 }))
      assert.is_true(q:send("a", 0, 0))
      assert.same({ nil, "send " .. name .. ": timed out", ipc.ETIMEDOUT }, { q:send("b", 0, 0.1) })
      assert.same({ nil, "send " .. name .. ": timed out", ipc.ETIMEDOUT }, { q:send("b", 0, 0) })
      assert.equal(1, q:getattr().curmsgs)
    end)

    it("waits for a message that a child sends later", function()
      local name = tname("later")
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      local p = track(assert(ipc.spawn(function()
        helper.sleep(0.1)
        assert(assert(ipc.mq.open(name, "w")):send("late", 7))
      end)))
      assert.same({ "late", 7 }, { q:receive(5) })
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("returns EAGAIN at once in non-blocking mode, whatever the timeout", function()
      local name = tname("nonblock")
      local q = mq(ipc.mq.create(name, { maxmsg = 1, msgsize = 8 }))
      assert.equal(q, q:setblocking(false))
      assert.is_true(q:getattr().nonblock)
      assert.matches("non%-blocking%)$", tostring(q))
      assert.same({ nil, "receive " .. name .. ": resource temporarily unavailable", ipc.EAGAIN },
        { q:receive() })
      assert.is_true(q:send("a"))
      assert.equal(ipc.EAGAIN, select(3, q:send("b", 0, 5)))
      q:setblocking(true)
      assert.is_false(q:getattr().nonblock)
      assert.equal(ipc.ETIMEDOUT, select(3, q:send("b", 0, 0.05)))
      assert.matches("bad argument #1 to 'setblocking' %(boolean expected",
        raises(function() q:setblocking(1) end))
    end)

    it("lets the interpreter's Ctrl-C out of a blocked receive, losing nothing", function()
      if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
      local registry = debug.getregistry()
      registry["ipc.interrupt"] = function() end
      local name = tname("ctrlc")
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      local parent = ipc.getpid()
      local p = track(assert(ipc.spawn(function()
        helper.sleep(0.2)
        os.execute("kill -INT " .. parent)
        helper.sleep(0.2)
        assert(assert(ipc.mq.open(name, "w")):send("after"))
      end)))
      local ok, err = pcall(q.receive, q, 5)
      registry["ipc.interrupt"] = nil
      assert.is_false(ok)
      assert.matches("interrupted!", err)
      assert.same({ "after", 0 }, { q:receive(5) })
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("limits", function()
    it("reads the system's limits", function()
      local lim = ipc.mq.limits()
      local files = { "msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max" }
      for _, k in ipairs(files) do
        local f = assert(io.open("/proc/sys/fs/mqueue/" .. k))
        assert.equal(f:read("*n"), lim[k], k)
        f:close()
      end
      assert.is_number(lim.bytes_max)
    end)

    it("names msg_max and its value when maxmsg is above it, and leaves nothing", function()
      if run("id -u") ~= "0\n" then return pending("needs root to run a child as nobody") end
      local name = tname("msgmax")
      local max = ipc.mq.limits().msg_max
      local out = lua_as(nobody, ([[
        local ipc = require "ipc"
        io.write((select(2, ipc.mq.create(%q, { maxmsg = %d }))))
      ]]):format(name, max + 1))
      assert.equal(("create %s: invalid argument (maxmsg %d is above msg_max, %d: "
        .. "/proc/sys/fs/mqueue/msg_max)"):format(name, max + 1, max), out)
      assert.is_false(exists(name))
    end)

    it("names msgsize_max and its value when msgsize is above it", function()
      if run("id -u") ~= "0\n" then return pending("needs root to run a child as nobody") end
      local name = tname("msgsizemax")
      local max = ipc.mq.limits().msgsize_max
      local out = lua_as(nobody, ([[
        local ipc = require "ipc"
        io.write((select(2, ipc.mq.create(%q, { maxmsg = 1, msgsize = %d }))))
      ]]):format(name, max + 1))
      assert.equal(("create %s: invalid argument (msgsize %d is above msgsize_max, %d: "
        .. "/proc/sys/fs/mqueue/msgsize_max)"):format(name, max + 1, max), out)
      assert.is_false(exists(name))
    end)

    it("names the kernel's ceiling for anyone", function()
      local name = tname("hard")
      assert.same({ nil, ("create %s: invalid argument (maxmsg 65537 is above the kernel's "
        .. "HARD_MSGMAX, 65536)"):format(name), ipc.EINVAL },
        { ipc.mq.create(name, { maxmsg = 65537, msgsize = 1 }) })
      assert.is_false(exists(name))
    end)

    it("names RLIMIT_MSGQUEUE when the user's queues would not fit in it", function()
      local name = tname("rlimit")
      local out = lua_as("prlimit --msgqueue=1000", ([[
        local ipc = require "ipc"
        local q, msg, code = ipc.mq.create(%q, { maxmsg = 4, msgsize = 1000 })
        io.write(msg, " ", code)
      ]]):format(name))
      assert.equal(("create %s: too many open files (this user's queues would pass "
        .. "RLIMIT_MSGQUEUE, 1000 bytes (ulimit -q)) %d"):format(name, ipc.EMFILE), out)
      assert.is_false(exists(name))
    end)
  end)

  describe("bad input", function()
    it("returns EMSGSIZE for a message longer than msgsize, and queues nothing", function()
      local name = tname("emsgsize")
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 16 }))
      assert.same({ nil, "send " .. name .. ": message too long (17 bytes; msgsize is 16)",
        ipc.EMSGSIZE }, { q:send(("x"):rep(17)) })
      assert.equal(0, q:getattr().curmsgs)
      assert.is_true(q:send(("x"):rep(16)))
    end)

    it("raises for a name without the leading slash or with a second one, makes nothing", function()
      local base = "libipc-spec-" .. ipc.getpid() .. "-badname"
      names[#names + 1] = "/" .. base
      -- Called by name (and not as tail calls), so that the message can
      -- name them.
      local calls = {
        create = function(n) return (ipc.mq.create(n)) end,
        open = function(n) return (ipc.mq.open(n)) end,
        unlink = function(n) return (ipc.mq.unlink(n)) end,
      }
      for f, call in pairs(calls) do
        assert.equal(("bad argument #1 to '%s' (name must start with '/')"):format(f),
          raises(function() call(base) end))
        assert.equal(("bad argument #1 to '%s' (name has a second '/')"):format(f),
          raises(function() call("/" .. base .. "/x") end))
        assert.equal(("bad argument #1 to '%s' (name is empty)"):format(f),
          raises(function() call("") end))
      end
      assert.is_false(exists("/" .. base))
    end)

    it("raises for bad options, priorities and timeouts", function()
      local name = tname("badopts")
      assert.equal("bad argument #2 to 'create' (unknown option 'size')",
        raises(function() ipc.mq.create(name, { size = 1 }) end))
      assert.equal("bad argument #2 to 'create' (maxmsg must be 1..2^31-1)",
        raises(function() ipc.mq.create(name, { maxmsg = 0 }) end))
      assert.equal("bad argument #2 to 'create' (msgsize must be an integer)",
        raises(function() ipc.mq.create(name, { msgsize = 1.5 }) end))
      assert.matches("bad argument #2 to 'create' %(perm must be 0..0777",
        raises(function() ipc.mq.create(name, { perm = "999" }) end))
      assert.is_false(exists(name))
      local q = mq(ipc.mq.create(name, { maxmsg = 2, msgsize = 8 }))
      assert.equal("bad argument #2 to 'send' (priority must be 0..32767)",
        raises(function() q:send("x", 32768) end))
      assert.equal("bad argument #2 to 'send' (priority must be 0..32767)",
        raises(function() q:send("x", -1) end))
      assert.equal("bad argument #3 to 'send' (timeout must not be negative)",
        raises(function() q:send("x", 0, -1) end))
      assert.equal("bad argument #1 to 'receive' (timeout must not be negative)",
        raises(function() q:receive(-1) end))
      assert.matches("bad argument #1 to 'send' %(string expected",
        raises(function() q:send({}) end))
      assert.equal(0, q:getattr().curmsgs)
    end)

    it("raises for a handle of another class", function()
      local r = track(ipc.pipe())
      local q = mq(ipc.mq.create(tname("cls")))
      assert.equal("bad argument #1 to 'send' (ipc.mq expected, got ipc.pipe)",
        raises(function() q.send(r, "x") end))
    end)
  end)
end)
