-- sock_spec.lua: ipc.sock: socketpairs, Unix stream, datagram and seqpacket
-- listeners, TCP and UDP on loopback, between real processes; timeouts,
-- message boundaries, abstract names, peer credentials, descriptors passed
-- as handles, the EINTR hook, every bad input, and Python's socket module
-- as the peer. Socket files live in a directory of this run, removed after
-- each test whatever happened.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- A monotonic clock in seconds when one is installed (luasystem comes with
-- busted), so that waits can be timed; nil otherwise.
local now
do
  local ok, system = pcall(require, "system")
  if ok and type(system) == "table" and system.monotime then now = system.monotime end
end

local function run(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

-- The message of the error that f(...) raises.
local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "did not raise")
  return tostring(err)
end

-- Calls f(...) and returns how long it took (0 without a clock) and what
-- it returned.
local function timed(f, ...)
  local t0 = now and now() or 0
  local res = { f(...) }
  return (now and now() or 0) - t0, res
end

describe("ipc.sock", function()
  local tmp -- this run's directory for socket files
  local socks = {}

  setup(function()
    tmp = run("mktemp -d /tmp/ipc-sock-spec-" .. ipc.getpid() .. "-XXXXXX"):gsub("%s+$", "")
    assert(tmp:match("^/tmp/ipc%-sock%-spec%-"), "mktemp failed")
  end)

  teardown(function()
    os.execute("rm -rf '" .. tmp .. "'")
  end)

  after_each(function()
    for i = #socks, 1, -1 do
      if not tostring(socks[i]):find("closed", 1, true) then socks[i]:close() end
      socks[i] = nil
    end
    helper.cleanup()
    os.execute("rm -rf '" .. tmp .. "'/*")
  end)

  -- Asserts success and registers every handle returned for after_each.
  local function sock(...)
    assert(..., (select(2, ...)))
    for i = 1, select("#", ...) do
      local h = select(i, ...)
      if tostring(h):match("^ipc%.sock") then socks[#socks + 1] = h end
    end
    return ...
  end

  local function path(name) return tmp .. "/" .. name end
  local function addr(scheme, name) return scheme .. ":" .. path(name) end

  -- The entries of the run's directory, as one line ("" if none).
  local function entries()
    return (run("ls -A '" .. tmp .. "' | sort | tr '\\n' ' '"):gsub("%s+$", ""))
  end

  -- Receives from s until a whole line is there (a stream may cut it).
  local function recvline(s)
    local got = ""
    while not got:find("\n", 1, true) do
      local data, msg = s:recv(nil, 5)
      assert(data, msg)
      got = got .. data
    end
    return got
  end

  describe("pair", function()
    it("makes connected pairs of each type that say what they are", function()
      for _, t in ipairs { "stream", "dgram", "seqpacket" } do
        local a, b = sock(ipc.sock.pair(t))
        assert.equal(t, a:type())
        assert.matches("^ipc%.sock %(unix%a*:, connected, fd %d+%)$", tostring(a))
        assert.equal(4, a:send("ping"))
        assert.equal("ping", b:recv())
        assert.equal(4, b:send("pong"))
        assert.equal("pong", a:recv())
        assert.equal(b:fd(), math.floor(b:fd()))
      end
      local a = sock(ipc.sock.pair())
      assert.equal("stream", a:type())
    end)

    it("gives descriptors that a spawned program does not inherit", function()
      local a, b = sock(ipc.sock.pair())
      local script = ("[ ! -e /proc/$$/fd/%d ] && [ ! -e /proc/$$/fd/%d ]"):format(a:fd(), b:fd())
      local p = track(assert(ipc.spawn({ "sh", "-c", script })))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("raises for an unknown type", function()
      assert.matches("invalid option 'raw'", raises(ipc.sock.pair, "raw"))
    end)

    it("closes once; a closed handle raises and says so", function()
      local a = sock(ipc.sock.pair())
      assert.is_true(a:close())
      assert.equal("ipc.sock (closed)", tostring(a))
      assert.matches("attempt to use a closed ipc.sock", raises(a.send, a, "x"))
      assert.matches("attempt to use a closed ipc.sock", raises(a.close, a))
      assert.matches("ipc.sock expected, got ipc.pipe",
        raises(a.recv, track(ipc.pipe())))
    end)

    it("is closed by the garbage collector and by <close>", function()
      local fd
      do
        local a = ipc.sock.pair()
        fd = a:fd()
      end
      collectgarbage()
      collectgarbage()
      assert.is_false(helper.fd_open(fd))
      if _VERSION == "Lua 5.4" then
        local body = "local ipc = ...; local fd; do local s <close> = ipc.sock.pair(); "
          .. "fd = s:fd() end; return fd"
        fd = assert(load(body))(ipc)
        assert.is_false(helper.fd_open(fd))
      end
    end)
  end)

  describe("streams", function()
    it("carry 256 KiB to a child and back; the end of the stream is EOF", function()
      local a, b = sock(ipc.sock.pair())
      local p = track(assert(ipc.spawn(function()
        a:close()
        while true do
          local data, _, code = b:recv(nil, 5)
          if not data then return code == ipc.EOF end
          assert(b:send(data))
        end
      end)))
      b:close()
      local chunk = ("0123456789abcdef"):rep(1024)
      local back = {}
      for _ = 1, 16 do
        assert.equal(#chunk, a:send(chunk, { timeout = 5 }))
        local got = 0
        while got < #chunk do
          local data = assert(a:recv(#chunk - got, 5))
          back[#back + 1] = data
          got = got + #data
        end
      end
      assert.is_true(table.concat(back) == chunk:rep(16))
      assert.equal(a, a:shutdown("w"))
      assert.same({ nil, "recv: end of file", ipc.EOF }, { a:recv(10, 5) })
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("return at most max bytes, and at once what is there", function()
      local a, b = sock(ipc.sock.pair())
      a:send("abcdef")
      assert.equal("abcd", b:recv(4))
      assert.equal("ef", b:recv(100, 5))
      assert.equal("", b:recv(0))
    end)
  end)

  describe("messages", function()
    it("keep their boundaries on dgram and seqpacket, empty ones too", function()
      for _, t in ipairs { "dgram", "seqpacket" } do
        local a, b = sock(ipc.sock.pair(t))
        assert.equal(3, a:send("one"))
        assert.equal(0, a:send(""))
        a:send("three")
        assert.equal("one", b:recv())
        assert.equal("", b:recv())
        assert.equal("three", b:recv())
      end
    end)

    it("refuse a message longer than max with EMSGSIZE and go on", function()
      local a, b = sock(ipc.sock.pair("seqpacket"))
      a:send("0123456789")
      a:send("next")
      assert.same({ nil, "recv (a message of 10 bytes, max 4): message too long", ipc.EMSGSIZE },
        { b:recv(4) })
      assert.equal("next", b:recv(4))
    end)

    it("can be larger than recv's default max of 64 KiB when max says so", function()
      local a, b = sock(ipc.sock.pair("dgram"))
      local big = ("0123456789"):rep(10000)
      assert.equal(#big, a:send(big))
      assert.same({ nil, "recv (a message of 100000 bytes, max 65536): message too long",
        ipc.EMSGSIZE }, { b:recv() })
      a:send(big)
      assert.is_true(b:recv(#big) == big)
      a:send("small again")
      assert.equal("small again", b:recv())
    end)

    it("end with EOF on seqpacket once the peer has gone", function()
      local a, b = sock(ipc.sock.pair("seqpacket"))
      a:send("last")
      a:close()
      assert.equal("last", b:recv())
      assert.same({ nil, "recv: end of file", ipc.EOF }, { b:recv() })
    end)
  end)

  describe("timeouts", function()
    it("bound recv: 0 polls, t waits t seconds, and a late message arrives", function()
      local a, b = sock(ipc.sock.pair("dgram"))
      local dt, res = timed(b.recv, b, nil, 0)
      assert.same({ nil, "recv: timed out", ipc.ETIMEDOUT }, res)
      assert.is_true(dt < 0.05)
      dt, res = timed(b.recvfrom, b, nil, 0.05)
      assert.same({ nil, "recvfrom: timed out", ipc.ETIMEDOUT }, res)
      if now then assert.is_true(dt >= 0.05 and dt < 1, "took " .. dt) end
      a:send("late")
      assert.equal("late", b:recv(nil, 0))
    end)

    it("bound accept", function()
      local l = sock(ipc.sock.listen("tcp:127.0.0.1:0"))
      assert.same({ nil, "accept: timed out", ipc.ETIMEDOUT }, { l:accept(0) })
      local dt, res = timed(l.accept, l, 0.05)
      assert.same({ nil, "accept: timed out", ipc.ETIMEDOUT }, res)
      if now then assert.is_true(dt >= 0.05 and dt < 1, "took " .. dt) end
    end)

    it("bound connect to a Unix listener whose queue is full", function()
      local a = addr("unix", "full")
      local l = sock(ipc.sock.listen(a, { backlog = 1 }))
      local n = 0
      while true do
        local c = ipc.sock.connect(a, { timeout = 0 })
        if not c then break end
        sock(c)
        n = n + 1
        assert.is_true(n < 16, "the queue never filled")
      end
      local dt, res = timed(ipc.sock.connect, a, { timeout = 0.1 })
      assert.same({ nil, "connect " .. a .. ": timed out", ipc.ETIMEDOUT }, res)
      if now then assert.is_true(dt >= 0.1 and dt < 2, "took " .. dt) end
      sock(l:accept(1))
      sock(ipc.sock.connect(a, { timeout = 1 }))
    end)

    it("bound send to a reader that does not read, reporting what went", function()
      local a = sock(ipc.sock.pair())
      local big = ("x"):rep(8 * 1024 * 1024)
      local ok, msg, code, n = a:send(big, { timeout = 0.1 })
      assert.is_nil(ok)
      assert.equal("send: timed out", msg)
      assert.equal(ipc.ETIMEDOUT, code)
      assert.is_true(n > 0 and n < #big)
    end)
  end)

  describe("listen, accept and connect", function()
    it("serve a child on a Unix path made 0600, and close keeps the file", function()
      local a = addr("unix", "srv")
      local l = sock(ipc.sock.listen(a))
      assert.equal("ipc.sock (" .. a .. ", listening, fd " .. l:fd() .. ")", tostring(l))
      assert.equal(a, l:address())
      assert.equal("600 socket", (run("stat -c '%a %F' " .. path("srv")):gsub("%s+$", "")))
      local p = track(assert(ipc.spawn(function()
        local s = assert(ipc.sock.connect(a, { timeout = 5 }))
        assert(s:send("hello from " .. ipc.getpid()))
        assert(s:recv(nil, 5) == "bye")
      end)))
      local c = sock(l:accept(5))
      assert.equal("hello from " .. p.pid, c:recv(nil, 5))
      assert.same({ pid = p.pid, uid = tonumber(run("id -u")), gid = tonumber(run("id -g")) },
        c:peercred())
      local escaped = path("srv"):gsub("%p", "%%%0")
      assert.matches("^ipc%.sock %(unix:" .. escaped .. ", connected, fd", tostring(c))
      c:send("bye")
      assert.same({ "exit", 0 }, { p:wait() })
      l:close()
      assert.equal("srv", entries())
      assert.is_true(ipc.sock.unlink(a))
      assert.equal("", entries())
      assert.same({ nil, "unlink " .. a .. ": no such file or directory", ipc.ENOENT },
        { ipc.sock.unlink(a) })
    end)

    it("apply the mode given", function()
      sock(ipc.sock.listen(addr("unix", "m1"), { mode = "660" }))
      sock(ipc.sock.listen(addr("unixgram", "m2"), { mode = 416 })) -- 0640
      assert.equal("660 socket", (run("stat -c '%a %F' " .. path("m1")):gsub("%s+$", "")))
      assert.equal("640 socket", (run("stat -c '%a %F' " .. path("m2")):gsub("%s+$", "")))
    end)

    it("use abstract names, which leave no file, or one the kernel picks", function()
      local name = "unix:@ipc-sock-spec-" .. ipc.getpid()
      local l = sock(ipc.sock.listen(name))
      assert.equal(name, l:address())
      local c = sock(ipc.sock.connect(name, { timeout = 1 }))
      local s = sock(l:accept(1))
      assert.equal(name, c:peeraddress())
      s:send("abstract")
      assert.equal("abstract", c:recv())
      assert.equal("", entries())
      assert.same({ nil, "listen " .. name .. ": address already in use", ipc.EADDRINUSE },
        { ipc.sock.listen(name) })
      local auto = sock(ipc.sock.listen("unixpacket:@"))
      local chosen = auto:address()
      assert.matches("^unixpacket:@.", chosen)
      sock(ipc.sock.connect(chosen, { timeout = 1 }))
      sock(auto:accept(1))
    end)

    it("serve TCP on a port the kernel picks, on IPv4 and IPv6 loopback", function()
      for _, host in ipairs { "127.0.0.1", "[::1]" } do
        local l, msg, code = ipc.sock.listen("tcp:" .. host .. ":0")
        if not l and host == "[::1]" and code == ipc.EADDRNOTAVAIL then break end
        sock(l, msg)
        local a, port = l:address()
        assert.equal("tcp:" .. host .. ":" .. port, a)
        assert.is_true(port > 0)
        local c = sock(ipc.sock.connect(a, { timeout = 1 }))
        local s = sock(l:accept(1))
        assert.same({ c:address() }, { s:peeraddress() })
        assert.same({ s:address() }, { c:peeraddress() })
        c:send("over tcp")
        assert.equal("over tcp", s:recv(nil, 1))
        assert.matches("^ipc%.sock %(tcp:.*, connected to tcp:.*, fd %d+%)$", tostring(c))
      end
    end)

    it("replace a dead listener's file with reuse, never a live one", function()
      local a = addr("unix", "stale")
      local l = sock(ipc.sock.listen(a))
      assert.equal(ipc.EADDRINUSE, select(3, ipc.sock.listen(a, { reuse = true })))
      l:close()
      assert.equal(ipc.EADDRINUSE, select(3, ipc.sock.listen(a)))
      sock(ipc.sock.listen(a, { reuse = true }))
    end)
  end)

  describe("datagrams", function()
    it("let a unixgram server answer a connected client in a child", function()
      local a = addr("unixgram", "dg")
      local srv = sock(ipc.sock.listen(a))
      assert.matches("unconnected", tostring(srv))
      local p = track(assert(ipc.spawn(function()
        local c = assert(ipc.sock.connect(a))
        for i = 1, 3 do
          assert(c:send("ping " .. i))
          assert(c:recv(nil, 5) == "PING " .. i)
        end
      end)))
      for _ = 1, 3 do
        local data, from = srv:recvfrom(nil, 5)
        assert.matches("^unixgram:@.", from)
        assert.equal(#data, srv:sendto(data:upper(), from))
      end
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("go between UDP sockets with sendto and recvfrom", function()
      local x = sock(ipc.sock.listen("udp:127.0.0.1:0"))
      local y = sock(ipc.sock.listen("udp:127.0.0.1:0"))
      assert.equal(5, x:sendto("hello", (y:address())))
      local data, from = y:recvfrom(nil, 1)
      assert.equal("hello", data)
      assert.equal((x:address()), from)
      assert.matches("travel over Unix sockets only",
        raises(x.sendto, x, "x", (y:address()), { fds = { 0 } }))
    end)
  end)

  describe("descriptors", function()
    it("travel several per message and come back as handles of their kind", function()
      local a, b = sock(ipc.sock.pair("seqpacket"))
      local r, w = track(ipc.pipe())
      local x, y = sock(ipc.sock.pair())
      local seg = assert(ipc.shm.anon(4096))
      seg:write(0, "in the segment")
      assert.equal(3, a:send("fds", { fds = { w, y, seg } }))
      seg:close()
      local data, pw, sy, sseg = b:recv()
      sock(sy)
      track(pw)
      assert.equal("fds", data)
      assert.matches("^ipc%.pipe %(writer", tostring(pw))
      assert.matches("^ipc%.sock %(unix:, connected", tostring(sy))
      -- A memfd is a shared-memory segment: it comes back as an ipc.shm.
      assert.matches("^ipc%.shm ", tostring(sseg))
      assert.equal("in the segment", sseg:read(0, 14))
      assert.equal(4096, sseg:size())
      sseg:close()
      assert.equal(pw, pw:write("via the passed pipe\n"))
      assert.equal("via the passed pipe", r:read("l"))
      sy:send("via the passed socket")
      assert.equal("via the passed socket", x:recv())
    end)

    it("let a child write through a pipe it was sent", function()
      local a, b = sock(ipc.sock.pair())
      local r, w = track(ipc.pipe())
      local p = track(assert(ipc.spawn(function()
        w:close() -- only the one that comes through the socket
        local _, pw = b:recv(nil, 5)
        assert(pw:write("the child wrote this\n"))
      end)))
      assert(a:send("take", { fds = { w } }))
      w:close()
      assert.equal("the child wrote this", r:read("l"))
      assert.is_nil(r:read("l"))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("that are not open give EBADF and nothing is sent; a closed handle raises", function()
      local a, b = sock(ipc.sock.pair("dgram"))
      local fds_before = helper.fd_count()
      local r, w = ipc.pipe()
      local fd = w:fd()
      w:close()
      assert.same({ nil, "send: bad file descriptor", ipc.EBADF, 0 },
        { a:send("x", { fds = { r, fd } }) })
      assert.equal(ipc.ETIMEDOUT, select(3, b:recv(nil, 0)))
      assert.matches("attempt to use a closed ipc.pipe", raises(a.send, a, "x", { fds = { w } }))
      r:close()
      assert.equal(fds_before, helper.fd_count())
    end)

    it("need a byte on a stream, and a list of descriptors or handles", function()
      local a = sock(ipc.sock.pair())
      assert.matches("need at least one byte", raises(a.send, a, "", { fds = { 0 } }))
      assert.matches("fds must be a list", raises(a.send, a, "x", { fds = 0 }))
      assert.matches("fds%[2%] must be an integer or a handle, got string",
        raises(a.send, a, "x", { fds = { 0, "1" } }))
      assert.matches("fds%[1%] is not a descriptor", raises(a.send, a, "x", { fds = { -1 } }))
      assert.matches("fds%[1%] %(userdata%) has no descriptor",
        raises(a.send, a, "x", { fds = { io.stdout } }))
      local many = {}
      for i = 1, 254 do many[i] = 0 end
      assert.matches("at most 253 descriptors", raises(a.send, a, "x", { fds = many }))
    end)
  end)

  describe("bad input", function()
    it("refuses a path longer than 107 bytes, never truncating it", function()
      local long = path(("x"):rep(108 - #tmp - 1))
      assert.equal(108, #long)
      for _, f in ipairs { ipc.sock.listen, ipc.sock.connect, ipc.sock.unlink } do
        local ok, msg, code = f("unix:" .. long)
        assert.is_nil(ok)
        assert.equal(ipc.ENAMETOOLONG, code)
        assert.matches("%(108 bytes, at most 107%): name too long$", msg)
      end
      local a = sock(ipc.sock.pair("dgram"))
      assert.equal(ipc.ENAMETOOLONG, select(3, a:sendto("x", "unixgram:" .. long)))
      assert.equal("", entries())
      local fits = long:sub(1, 107)
      sock(ipc.sock.listen("unix:" .. fits))
      assert.equal(fits:match("[^/]*$"), entries())
    end)

    it("reports ECONNREFUSED or ENOENT where nobody listens, leaving nothing open", function()
      local before = helper.fd_count()
      local a = addr("unix", "gone")
      assert(ipc.sock.listen(a)):close()
      assert.same({ nil, "connect " .. a .. ": connection refused", ipc.ECONNREFUSED },
        { ipc.sock.connect(a, { timeout = 1 }) })
      assert(ipc.sock.unlink(a))
      assert.equal(ipc.ENOENT, select(3, ipc.sock.connect(a)))
      assert.equal(ipc.ECONNREFUSED,
        select(3, ipc.sock.connect("unix:@ipc-sock-spec-nobody-" .. ipc.getpid())))
      local l = assert(ipc.sock.listen("tcp:127.0.0.1:0"))
      local tcp = l:address()
      l:close()
      assert.equal(ipc.ECONNREFUSED, select(3, ipc.sock.connect(tcp, { timeout = 1 })))
      assert.equal("", entries())
      assert.equal(before, helper.fd_count())
    end)

    it("raises for a malformed address, saying what is wrong", function()
      local cases = {
        ["tcp:localhost:80"] = "numeric IPv4 address",
        ["tcp:127.0.0.1:70000"] = "port must be a number from 0 to 65535",
        ["tcp:127.0.0.1"] = "no ':' and port",
        ["tcp:127.0.0.1:"] = "no port after the host",
        ["http://x"] = "must start with unix:, unixgram:, unixpacket:, tcp: or udp:",
        ["unix:"] = "the path is empty",
        ["unix:/a\0b"] = "zero byte",
      }
      for bad, why in pairs(cases) do
        assert.matches(why, raises(ipc.sock.listen, bad), 1, true)
        assert.matches(why, raises(ipc.sock.connect, bad), 1, true)
      end
      assert.matches("string expected, got no value", raises(ipc.sock.connect))
    end)

    it("raises for bad options and arguments", function()
      local a = sock(ipc.sock.pair())
      assert.matches("unknown option 'timout'", raises(ipc.sock.connect, "unix:@x", { timout = 1 }))
      assert.matches("timeout must be a number >= 0",
        raises(ipc.sock.connect, "unix:@x", { timeout = -1 }))
      assert.matches("backlog must be >= 0", raises(ipc.sock.listen, "unix:@x", { backlog = -1 }))
      assert.matches("mode must be 0..0777", raises(ipc.sock.listen, "unix:@x", { mode = "999" }))
      assert.matches("reuse must be a boolean", raises(ipc.sock.listen, "unix:@x", { reuse = 1 }))
      assert.matches("size must be from 0", raises(a.recv, a, -1))
      assert.matches("timeout must not be negative", raises(a.recv, a, 1, -1))
      assert.matches("invalid option 'x'", raises(a.shutdown, a, "x"))
      assert.matches("not a listener", raises(a.accept, a))
      local l = sock(ipc.sock.listen("tcp:127.0.0.1:0"))
      assert.matches("a listener receives nothing", raises(l.recv, l))
      assert.matches("a listener sends nothing", raises(l.send, l, "x"))
      assert.matches("for Unix sockets only", raises(l.peercred, l))
      local u = sock(ipc.sock.listen("unixgram:@"))
      assert.same({ nil, "peercred: socket is not connected", ipc.ENOTCONN }, { u:peercred() })
      assert.equal(ipc.ENOTCONN, select(3, u:peeraddress()))
    end)

    it("wraps only sockets with fromfd", function()
      local r = track(ipc.pipe())
      assert.same({ nil, "fromfd " .. r:fd() .. ": socket operation on non-socket", ipc.ENOTSOCK },
        { ipc.sock.fromfd(r:fd()) })
      local a, b = sock(ipc.sock.pair("seqpacket"))
      local c = sock(ipc.sock.fromfd(a:fd()))
      assert.equal("seqpacket", c:type())
      c:send("wrapped")
      assert.equal("wrapped", b:recv())
      -- c took the descriptor over: once it is closed, a's copy is stale.
      c:close()
      assert.equal(ipc.EBADF, select(3, a:send("x")))
      assert.equal(ipc.EBADF, select(3, a:close()))
    end)
  end)

  describe("the EINTR hook", function()
    local registry = debug.getregistry()
    after_each(function() registry["ipc.interrupt"] = nil end)

    -- As in ipc_spec: lua.c turns SIGINT into "interrupted!" raised by the
    -- next Lua code run, here the ipc.interrupt hook, inside the wait.
    it("lets Ctrl-C out of a blocked recv, and the message waits intact", function()
      if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
      registry["ipc.interrupt"] = function() end
      local a, b = sock(ipc.sock.pair("seqpacket"))
      local parent = ipc.getpid()
      local p = track(assert(ipc.spawn(function()
        helper.sleep(0.2)
        os.execute("kill -INT " .. parent)
        helper.sleep(0.2)
        a:send("whole")
      end)))
      local ok, err = pcall(b.recv, b, nil, 5)
      assert.is_false(ok)
      assert.matches("interrupted!", err)
      assert.equal("whole", b:recv(nil, 5))
      assert.same({ "exit", 0 }, { p:wait() })
    end)
  end)

  describe("with Python's socket module as the peer", function()
    local peer = dir .. "/../interop/sock_peer.py"

    local function python(mode, where)
      return track(assert(ipc.spawn({ "python3", peer, mode, where }, { stdout = "pipe" })))
    end

    it("passes descriptors both ways and agrees on credentials", function()
      local a = addr("unix", "py")
      local l = sock(ipc.sock.listen(a))
      local p = python("client", path("py"))
      local c = sock(l:accept(10))
      assert.equal(p.pid, c:peercred().pid)
      local pid, uid = recvline(c):match("^cred (%d+) (%d+) %d+\n$")
      assert.equal(ipc.getpid(), tonumber(pid))
      assert.equal(tonumber(run("id -u")), tonumber(uid))
      local r, w = track(ipc.pipe())
      local r2, w2 = track(ipc.pipe())
      assert(c:send("fds", { fds = { w, w2 } }))
      w:close()
      w2:close()
      local data, back = c:recv(nil, 10)
      assert.equal("back", data)
      track(back)
      assert.matches("^ipc%.pipe %(reader", tostring(back))
      assert.equal("through python's pipe", back:read("l"))
      assert.is_nil(back:read("l"))
      assert.equal("python wrote this", r:read("l"))
      assert.equal("python wrote this", r2:read("l"))
      c:close()
      assert.equal("", p.stdout:read("a"))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("keeps seqpacket boundaries with it", function()
      local a = addr("unixpacket", "pkt")
      local l = sock(ipc.sock.listen(a))
      local p = python("packets", path("pkt"))
      local c = sock(l:accept(10))
      assert.equal("one", c:recv(nil, 10))
      assert.equal("two", c:recv(nil, 10))
      assert.equal("three", c:recv(nil, 10))
      c:send("done")
      assert.equal("done\n", p.stdout:read("a"))
      assert.same({ "exit", 0 }, { p:wait() })
    end)

    it("connects to a Python listener", function()
      local p = python("serve", path("pys"))
      assert.equal("ready", p.stdout:read("l"))
      local c = sock(ipc.sock.connect(addr("unix", "pys"), { timeout = 5 }))
      c:send("hello python\n")
      assert.equal("HELLO PYTHON\n", recvline(c))
      c:close()
      assert.equal("peer " .. ipc.getpid() .. "\n", p.stdout:read("a"))
      assert.same({ "exit", 0 }, { p:wait() })
      assert.equal("", entries())
    end)
  end)
end)
