-- fifo_spec.lua: ipc.fifo: create with an exact mode and never over
-- anything, open with timeouts on both sides (the peer comes late or
-- never), ipc.pipe handles between two processes, EOF and EPIPE, unlink of
-- FIFOs only, every bad input with its message and nothing left behind, and
-- cat, sh and Python's os.mkfifo on the other end.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- The output of a shell command.
local function run(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

-- Seconds since boot, to 10 ms (/proc/uptime): enough to tell a wait of
-- 0.3 s from none, on every Lua (os.clock is CPU time).
local function now()
  return tonumber(helper.read_file("/proc/uptime"):match("^(%S+)"))
end

-- The message of the error that f raises, from "bad argument" on.
local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  return err:match("bad argument.*$") or err
end

-- Lua patterns need their magic characters escaped to match a path.
local function literal(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

describe("ipc.fifo", function()
  local tmp -- this run's own directory, removed by teardown

  setup(function()
    tmp = run("mktemp -d /tmp/ipc-fifo-spec-" .. ipc.getpid() .. "-XXXXXX"):gsub("%s+$", "")
    assert(tmp:match("^/tmp/ipc%-fifo%-spec%-"), "mktemp failed")
  end)

  teardown(function()
    os.execute("rm -rf '" .. tmp .. "'")
  end)

  -- Whatever a test left in the directory goes, even when it failed.
  after_each(function()
    helper.cleanup()
    os.execute("rm -rf '" .. tmp .. "'/*")
  end)

  local function path(name) return tmp .. "/" .. name end

  -- The entries of the directory, sorted, as one line ("" if none).
  local function entries()
    return (run("ls -A '" .. tmp .. "' | sort | tr '\\n' ' '"):gsub("%s+$", ""))
  end

  -- "<octal mode> <type>" of a path, as stat shows it ("600 fifo").
  local function stat(p)
    return (run("stat -c '%a %F' '" .. p .. "'"):gsub("%s+$", ""))
  end

  local function write_file(p, text)
    local f = assert(io.open(p, "w"))
    f:write(text)
    f:close()
  end

  local function open(...) return track(assert(ipc.fifo.open(...))) end

  local function make(name)
    local p = path(name)
    assert.is_true(ipc.fifo.create(p))
    return p
  end

  describe("create", function()
    it("makes a FIFO with mode 0600 unless told", function()
      make("a")
      assert.equal("600 fifo", stat(path("a")))
      assert.is_true(ipc.fifo.create(path("b"), "644"))
      assert.is_true(ipc.fifo.create(path("c"), 416)) -- 0640
      assert.equal("644 fifo", stat(path("b")))
      assert.equal("640 fifo", stat(path("c")))
    end)

    it("refuses a path that exists as a regular file and leaves it untouched", function()
      local p = path("file")
      write_file(p, "precious")
      os.execute("chmod 640 '" .. p .. "'")
      local ok, msg, code = ipc.fifo.create(p)
      assert.is_nil(ok)
      assert.equal("create " .. p .. " (a regular file is there): file exists", msg)
      assert.equal(ipc.EEXIST, code)
      assert.equal("640 regular file", stat(p))
      assert.equal("precious", helper.read_file(p))
      assert.equal("file", entries())
    end)

    it("refuses an existing FIFO, a directory and a dangling link, saying which", function()
      make("f")
      os.execute("mkdir '" .. path("d") .. "' && ln -s nowhere '" .. path("link") .. "'")
      local cases = { f = "a FIFO", d = "a directory", link = "a symbolic link" }
      for name, what in pairs(cases) do
        local ok, msg, code = ipc.fifo.create(path(name), "666")
        assert.same({ nil, ipc.EEXIST }, { ok, code })
        assert.equal("create " .. path(name) .. " (" .. what .. " is there): file exists", msg)
      end
      assert.equal("600 fifo", stat(path("f")))
      assert.equal("d f link", entries())
    end)

    it("returns ENOENT for a missing directory", function()
      local ok, msg, code = ipc.fifo.create(path("no/such"))
      assert.same({ nil, ipc.ENOENT }, { ok, code })
      assert.equal("create " .. path("no/such") .. ": no such file or directory", msg)
      assert.equal("", entries())
    end)

    it("raises for a bad path or mode and makes nothing", function()
      assert.equal("bad argument #1 to 'create' (path is empty)",
        raises(function() ipc.fifo.create("") end))
      assert.equal("bad argument #1 to 'create' (path has a zero byte)",
        raises(function() ipc.fifo.create(path("a\0b")) end))
      assert.matches("^bad argument #1 to 'create' %(string expected, got",
        raises(function() ipc.fifo.create() end))
      assert.matches("^bad argument #2 to 'create' %(mode must be 0..0777",
        raises(function() ipc.fifo.create(path("m"), 4095) end))
      assert.matches("^bad argument #2 to 'create' %(mode must be 0..0777",
        raises(function() ipc.fifo.create(path("m"), "rw") end))
      assert.equal("", entries())
    end)
  end)

  describe("open", function()
    it("refuses a regular file for reading and writing and leaves it untouched", function()
      local p = path("file")
      write_file(p, "precious")
      local fds = helper.fd_count()
      for _, how in ipairs { "r", "w" } do
        for _, opts in ipairs { {}, { timeout = 1 }, { nonblock = true } } do
          local ok, msg, code = ipc.fifo.open(p, how, opts)
          assert.is_nil(ok)
          assert.equal(ipc.EINVAL, code)
          local want = ("open %s for %s (a regular file, not a FIFO): invalid argument")
            :format(p, how == "r" and "reading" or "writing")
          assert.equal(want, msg)
        end
      end
      assert.equal(fds, helper.fd_count())
      assert.equal("precious", helper.read_file(p))
      assert.equal("file", entries())
    end)

    it("refuses a directory and returns ENOENT for a missing path", function()
      local ok, msg, code = ipc.fifo.open(tmp, "r")
      assert.same({ nil, ipc.EINVAL }, { ok, code })
      assert.matches("%(a directory, not a FIFO%)", msg)
      ok, msg, code = ipc.fifo.open(path("none"), "w", { timeout = 1 })
      assert.same({ nil, "open " .. path("none") .. " for writing: no such file or directory",
        ipc.ENOENT }, { ok, msg, code })
    end)

    it("returns ENXIO at once for a non-blocking writer without reader", function()
      local p = make("f")
      local fds = helper.fd_count()
      local t0 = now()
      local ok, msg, code = ipc.fifo.open(p, "w", { nonblock = true })
      assert.is_true(now() - t0 < 0.1)
      assert.same({ nil, ipc.ENXIO }, { ok, code })
      assert.equal("open " .. p .. " for writing (no reader has it open): "
        .. "no such device or address", msg)
      assert.equal(fds, helper.fd_count())
      assert.equal("f", entries())
    end)

    it("returns ETIMEDOUT after the timeout for a writer without reader", function()
      local p = make("f")
      local fds = helper.fd_count()
      local t0 = now()
      local ok, msg, code = ipc.fifo.open(p, "w", { timeout = 0.3 })
      local took = now() - t0
      assert.same({ nil, "open " .. p .. " for writing (no reader came): timed out",
        ipc.ETIMEDOUT }, { ok, msg, code })
      assert.is_true(took >= 0.28 and took < 1.5, "took " .. took .. " s")
      assert.same({ nil, ipc.ETIMEDOUT }, { select(1, ipc.fifo.open(p, "w", { timeout = 0 })),
        select(3, ipc.fifo.open(p, "w", { timeout = 0 })) })
      assert.equal(fds, helper.fd_count())
      assert.equal("f", entries())
    end)

    it("returns ETIMEDOUT after the timeout for a reader without writer", function()
      local p = make("f")
      local fds = helper.fd_count()
      local t0 = now()
      local ok, msg, code = ipc.fifo.open(p, "r", { timeout = 0.3 })
      local took = now() - t0
      assert.same({ nil, "open " .. p .. " for reading (no writer came): timed out",
        ipc.ETIMEDOUT }, { ok, msg, code })
      assert.is_true(took >= 0.28 and took < 1.5, "took " .. took .. " s")
      assert.equal(fds, helper.fd_count())
    end)

    it("opens a non-blocking reader at once, as an ipc.pipe", function()
      local p = make("f")
      local r = open(p, "r", { nonblock = true })
      assert.matches("^ipc%.pipe %(reader, fd %d+, non%-blocking%)$", tostring(r))
      assert.is_true(helper.fd_open(r:fd()))
      local w = open(p, "w", { timeout = 0 })
      assert.matches("^ipc%.pipe %(writer, fd %d+%)$", tostring(w))
      assert.equal(w, w:write("x"))
      assert.equal("x", r:read(1))
      r:close()
      w:close()
      assert.has_error(function() r:close() end, "attempt to use a closed ipc.pipe")
    end)

    it("waits with nonblock and a timeout, then gives a non-blocking handle", function()
      local p = make("f")
      local ok, _, code = ipc.fifo.open(p, "w", { nonblock = true, timeout = 0.05 })
      assert.same({ nil, ipc.ETIMEDOUT }, { ok, code })
      local r = open(p, "r", { nonblock = true })
      local w = open(p, "w", { nonblock = true, timeout = 1 })
      assert.matches("^ipc%.pipe %(writer, fd %d+, non%-blocking%)$", tostring(w))
      local r2 = open(p, "r", { timeout = 1 }) -- w is there
      assert.matches("^ipc%.pipe %(reader, fd %d+%)$", tostring(r2))
      r:close()
    end)

    it("gives handles that a spawned program does not inherit", function()
      local p = make("f")
      local r = open(p, "r", { nonblock = true })
      local w = open(p, "w")
      local script = ("[ ! -e /proc/$$/fd/%d ] && [ ! -e /proc/$$/fd/%d ]"):format(r:fd(), w:fd())
      local proc = track(assert(ipc.spawn({ "sh", "-c", script })))
      assert.same({ "exit", 0 }, { proc:wait() })
    end)

    it("raises for a bad direction, option or timeout", function()
      local p = make("f")
      assert.matches("^bad argument #2 to 'open' %(invalid option 'rw'%)",
        raises(function() ipc.fifo.open(p, "rw") end))
      assert.matches("^bad argument #2 to 'open'", raises(function() ipc.fifo.open(p) end))
      assert.equal("bad argument #3 to 'open' (unknown option 'wait')",
        raises(function() ipc.fifo.open(p, "r", { wait = 1 }) end))
      assert.equal("bad argument #3 to 'open' (timeout must be a number >= 0)",
        raises(function() ipc.fifo.open(p, "r", { timeout = -1 }) end))
      assert.equal("bad argument #3 to 'open' (timeout must be a number >= 0)",
        raises(function() ipc.fifo.open(p, "r", { timeout = "1" }) end))
      assert.equal("bad argument #3 to 'open' (nonblock must be a boolean)",
        raises(function() ipc.fifo.open(p, "r", { nonblock = 1 }) end))
      assert.equal("bad argument #1 to 'open' (path is empty)",
        raises(function() ipc.fifo.open("", "r") end))
      assert.equal("f", entries())
    end)
  end)

  describe("between two processes", function()
    it("carries lines from a writer that opens late to a waiting reader, then EOF", function()
      local p = make("f")
      local child = track(assert(ipc.spawn(function()
        helper.sleep(0.1)
        local w = assert(ipc.fifo.open(p, "w", { timeout = 5 }))
        for i = 1, 3 do w:write("line ", i, "\n") end
        w:close()
      end)))
      local r = open(p, "r", { timeout = 5 })
      local got = {}
      for line in r:lines() do got[#got + 1] = line end
      assert.same({ "line 1", "line 2", "line 3" }, got)
      assert.is_nil(r:read(1))
      assert.same({ "exit", 0 }, { child:wait() })
    end)

    it("lets a waiting writer through once a reader opens late, with exact reads", function()
      local p = make("f")
      local child = track(assert(ipc.spawn(function()
        helper.sleep(0.1)
        local r = assert(ipc.fifo.open(p, "r", { timeout = 5 }))
        r:settimeout(5)
        local a, b = r:read(4, "a")
        os.exit(a == "0123" and b == "456789" and 0 or 1)
      end)))
      local w = open(p, "w", { timeout = 5 })
      w:write("0123", "456789")
      w:close()
      assert.same({ "exit", 0 }, { child:wait() })
    end)

    it("gives EOF only once every writer has closed", function()
      local p = make("f")
      local r = open(p, "r", { nonblock = true })
      r:setblocking(true)
      local w1, w2 = open(p, "w"), open(p, "w")
      w1:write("one ")
      w2:write("two")
      w1:close()
      assert.equal("one two", r:read(7))
      r:settimeout(0.05)
      assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { r:read(1) })
      w2:close()
      assert.is_nil(r:read(1))
    end)

    it("returns EPIPE from a write once the reader is gone, and the process lives", function()
      local p = make("f")
      local child = track(assert(ipc.spawn(function()
        local r = assert(ipc.fifo.open(p, "r", { timeout = 5 }))
        r:read(1)
      end)))
      local w = open(p, "w", { timeout = 5 })
      w:write("x")
      assert.same({ "exit", 0 }, { child:wait() })
      local ok, msg, code, n = w:write("more")
      assert.same({ nil, "write: broken pipe", ipc.EPIPE, 0 }, { ok, msg, code, n })
    end)

    it("returns EPIPE with SIGPIPE ignored through ipc.signal, and once default again", function()
      finally(function() ipc.signal.restore("PIPE") end)
      assert.is_true(ipc.signal.ignore("PIPE"))
      local p = make("f")
      local r = open(p, "r", { nonblock = true })
      local w = open(p, "w")
      assert.is_true(ipc.fifo.unlink(p))
      r:close()
      local broken = { nil, "write: broken pipe", ipc.EPIPE, 0 }
      assert.same(broken, { w:write("lost") })
      assert.is_true(ipc.signal.default("PIPE"))
      local child = track(assert(ipc.spawn(function()
        local _, _, code = w:write("x")
        os.exit(code == ipc.EPIPE and 0 or 1)
      end)))
      assert.same({ "exit", 0 }, { child:wait() })
      assert.same(broken, { w:write("lost") })
      assert.equal("", entries())
    end)
  end)

  describe("unlink", function()
    it("removes a FIFO while open handles go on working", function()
      local p = make("f")
      local r = open(p, "r", { nonblock = true })
      local w = open(p, "w")
      assert.is_true(ipc.fifo.unlink(p))
      assert.equal("", entries())
      w:write("still")
      assert.equal("still", r:read(5))
      assert.same({ nil, "unlink " .. p .. ": no such file or directory", ipc.ENOENT },
        { ipc.fifo.unlink(p) })
    end)

    it("refuses anything but a FIFO and keeps it", function()
      local p = path("file")
      write_file(p, "precious")
      assert.same({ nil, "unlink " .. p .. " (a regular file, not a FIFO): invalid argument",
        ipc.EINVAL }, { ipc.fifo.unlink(p) })
      make("f")
      os.execute("ln -s f '" .. path("link") .. "'")
      local ok, msg, code = ipc.fifo.unlink(path("link"))
      assert.same({ nil, ipc.EINVAL }, { ok, code })
      assert.matches(literal(path("link")) .. " %(a symbolic link, not a FIFO%)", msg)
      assert.equal("precious", helper.read_file(p))
      assert.equal("f file link", entries())
    end)
  end)

  describe("interop", function()
    local peer = dir .. "/../interop/fifo_peer.py"

    -- Runs argv with stdout on a pipe, tracked.
    local function spawn(argv)
      return track(assert(ipc.spawn(argv, { stdout = "pipe" })))
    end

    it("writes to cat", function()
      local p = make("f")
      local cat = spawn({ "cat", p })
      local w = open(p, "w", { timeout = 5 })
      w:write("to cat\n")
      w:close()
      assert.equal("to cat\n", cat.stdout:read("a"))
      assert.same({ "exit", 0 }, { cat:wait() })
    end)

    it("reads what echo writes", function()
      local p = make("f")
      local sh = spawn({ "sh", "-c", 'echo from echo > "$0"', p })
      local r = open(p, "r", { timeout = 5 })
      assert.equal("from echo", r:read("l"))
      assert.is_nil(r:read("l"))
      assert.same({ "exit", 0 }, { sh:wait() })
    end)

    it("uses a FIFO made by Python's os.mkfifo both ways", function()
      local p = path("py")
      assert.same({ "exit", 0 }, { spawn({ "python3", peer, "mkfifo", p }):wait() })
      assert.equal("600 fifo", stat(p))
      local py = spawn({ "python3", peer, "write", p, "from python" })
      local r = open(p, "r", { timeout = 5 })
      assert.equal("from python", r:read("a"))
      r:close()
      assert.same({ "exit", 0 }, { py:wait() })
      py = spawn({ "python3", peer, "read", p })
      local w = open(p, "w", { timeout = 5 })
      w:write("from lua")
      w:close()
      assert.equal("from lua", py.stdout:read("a"))
      assert.same({ "exit", 0 }, { py:wait() })
      assert.is_true(ipc.fifo.unlink(p))
      assert.equal("", entries())
    end)
  end)
end)
