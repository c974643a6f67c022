-- pipe_spec.lua: ipc.pipe and its handles: every read format, lines(),
-- large writes through a child, timeouts that lose nothing, non-blocking
-- mode, end of file, EPIPE, closed handles and bad arguments.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

local MiB = 1024 * 1024

-- A pipe whose ends after_each closes.
local function pipe(opts)
  return track(assert(ipc.pipe(opts)))
end

describe("ipc.pipe", function()
  after_each(helper.cleanup)

  it("returns a reader and a writer that a spawned program does not inherit", function()
    local r, w = pipe()
    assert.matches("^ipc%.pipe %(reader, fd %d+%)$", tostring(r))
    assert.matches("^ipc%.pipe %(writer, fd %d+%)$", tostring(w))
    local script = ("[ ! -e /proc/$$/fd/%d ] && [ ! -e /proc/$$/fd/%d ]"):format(r:fd(), w:fd())
    local p = track(assert(ipc.spawn({ "sh", "-c", script })))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("reads a count, a line with and without its newline, and the rest", function()
    local r, w = pipe()
    assert.equal(w, w:write("abcdef\nline two\nrest", 1, "\n", 2.5))
    w:close()
    assert.equal("abc", r:read(3))
    assert.equal("def", r:read("l"))
    assert.equal("line two\n", r:read("L"))
    assert.equal("rest1\n" .. tostring(2.5), r:read("a"))
    assert.equal("", r:read("a"))
    assert.is_nil(r:read("l"))
    assert.is_nil(r:read(1))
  end)

  it("accepts the 5.1 spellings *l, *L and *a and reads a line by default", function()
    local r, w = pipe()
    w:write("one\ntwo\nthree\nfour\nfive")
    w:close()
    assert.equal("one", r:read())
    assert.equal("two", r:read("*l"))
    assert.equal("three\n", r:read("*L"))
    assert.equal("four\nfive", r:read("*a"))
  end)

  it("returns one result per format and stops after the first nil", function()
    local r, w = pipe()
    w:write("12345\nxy")
    w:close()
    local a, b, c, d = r:read(2, "l", "a", "l")
    assert.same({ "12", "345", "xy", nil }, { a, b, c, d })
    assert.equal(1, select("#", r:read("l", "l", "l")))
  end)

  it("returns a last line without newline, then nil at end of file", function()
    local r, w = pipe()
    w:write("first\nlast")
    w:close()
    assert.equal("first", r:read("l"))
    assert.equal("last", r:read("l"))
    assert.is_nil(r:read("l"))
  end)

  it("returns fewer bytes than asked only when end of file comes first", function()
    local r, w = pipe()
    w:write("abc")
    w:close()
    assert.equal("abc", r:read(10))
    assert.is_nil(r:read(10))
  end)

  it("returns an empty string for read(0) while data waits and nil at end of file", function()
    local r, w = pipe()
    w:write("x")
    assert.equal("", r:read(0))
    assert.equal("x", r:read(1))
    w:close()
    assert.is_nil(r:read(0))
  end)

  it("iterates lines with lines() up to end of file", function()
    local r, w = pipe()
    w:write("a\nb\n\nc")
    w:close()
    local got = {}
    for line in r:lines() do got[#got + 1] = line end
    assert.same({ "a", "b", "", "c" }, got)
  end)

  it("iterates with the formats given to lines()", function()
    local r, w = pipe()
    w:write("k1\nv1\nk2\nv2\n")
    w:close()
    local got = {}
    for k, v in r:lines("l", "L") do got[#got + 1] = k .. "=" .. v end
    assert.same({ "k1=v1\n", "k2=v2\n" }, got)
  end)

  it("raises from lines() when a read fails", function()
    local r = pipe()
    r:settimeout(0)
    local it = r:lines()
    assert.has_error(function() it() end, "read: timed out")
  end)

  it("moves 1 MiB through a Lua child and back unchanged", function()
    local data = {}
    for i = 1, MiB / 16 do data[i] = ("%015d\n"):format(i) end
    data = table.concat(data)
    local p = track(assert(ipc.spawn(function()
      local all = io.read("*a")
      io.write(all)
    end, { stdin = "pipe", stdout = "pipe" })))
    assert.equal(p.stdin, p.stdin:write(data))
    p.stdin:close()
    local back = p.stdout:read("a")
    assert.equal(#data, #back)
    assert.is_true(data == back)
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("writes 1 MiB to wc -c and reads it back in exact counts", function()
    local p = track(assert(ipc.spawn({ "wc", "-c" }, { stdin = "pipe", stdout = "pipe" })))
    p.stdin:write(string.rep("z", MiB))
    p.stdin:close()
    assert.equal(tostring(MiB), p.stdout:read("l"):match("%d+"))
    assert.same({ "exit", 0 }, { p:wait() })

    local r, w = pipe()
    local q = track(assert(ipc.spawn(function()
      w:write(string.rep("y", MiB))
    end)))
    w:close()
    assert.equal(string.rep("y", MiB), r:read(MiB))
    assert.is_nil(r:read(1))
    assert.same({ "exit", 0 }, { q:wait() })
  end)

  it("returns ETIMEDOUT with timeout 0 when nothing is there and loses nothing", function()
    local r, w = pipe()
    assert.equal(r, r:settimeout(0))
    local ok, msg, code = r:read(5)
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { ok, msg, code })
    w:write("par")
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { r:read(5) })
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { r:read("l") })
    w:write("tial\n")
    assert.equal("parti", r:read(5))
    assert.equal("al", r:read("l"))
  end)

  it("returns ETIMEDOUT after 0.05 s and later reads the whole line that arrives", function()
    local r, w = pipe()
    local p = track(assert(ipc.spawn(function()
      w:write("hel")
      helper.sleep(0.3)
      w:write("lo\n")
    end)))
    w:close()
    r:settimeout(0.05)
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { r:read("l") })
    r:settimeout(nil)
    assert.equal("hello", r:read("l"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("returns ETIMEDOUT and the bytes written when a write cannot finish in time", function()
    local r, w = pipe()
    w:settimeout(0.05)
    local ok, msg, code, n = w:write(string.rep("x", MiB))
    assert.same({ nil, "write: timed out", ipc.ETIMEDOUT }, { ok, msg, code })
    assert.is_true(n > 0 and n < MiB)
    assert.equal(string.rep("x", n), r:read(n))
    r:settimeout(0)
    assert.same({ nil, "read: timed out", ipc.ETIMEDOUT }, { r:read(1) })
  end)

  it("returns EAGAIN in non-blocking mode instead of waiting", function()
    local r, w = pipe()
    assert.equal(r, r:setblocking(false))
    local ok, msg, code = r:read(1)
    assert.same({ nil, "read: resource temporarily unavailable", ipc.EAGAIN }, { ok, msg, code })
    assert.same({ nil, "read: resource temporarily unavailable", ipc.EAGAIN }, { r:read(0) })
    w:setblocking(false)
    local _, _, wcode, n = w:write(string.rep("x", MiB))
    assert.equal(ipc.EAGAIN, wcode)
    assert.is_true(n > 0 and n < MiB)
    assert.equal(n, #r:read(n))
    r:setblocking(true)
    w:close()
    assert.is_nil(r:read(1))
  end)

  it("makes both ends non-blocking with opts.nonblock", function()
    local r, w = pipe { nonblock = true }
    assert.matches("non%-blocking", tostring(r))
    assert.matches("non%-blocking", tostring(w))
    assert.equal(ipc.EAGAIN, select(3, r:read("a")))
    w:setblocking(true)
    assert.not_matches("non%-blocking", tostring(w))
  end)

  it("gives its descriptor with fd() and closes it with close()", function()
    local r, w = pipe()
    local fd = r:fd()
    assert.equal("number", type(fd))
    assert.not_equal(fd, w:fd())
    assert.is_true(helper.fd_open(fd))
    assert.is_true(r:close())
    assert.is_false(helper.fd_open(fd))
    assert.equal("ipc.pipe (closed)", tostring(r))
    assert.has_error(function() r:close() end, "attempt to use a closed ipc.pipe")
    assert.has_error(function() r:fd() end, "attempt to use a closed ipc.pipe")
  end)

  it("closes its descriptor when garbage-collected", function()
    local r, w = ipc.pipe()
    local rfd, wfd = r:fd(), w:fd()
    r, w = nil, nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.is_false(helper.fd_open(rfd))
    assert.is_false(helper.fd_open(wfd))
  end)

  it("closes at the end of a to-be-closed variable's scope (5.4)", function()
    if _VERSION ~= "Lua 5.4" then return pending("needs Lua 5.4") end
    local chunk = assert(load([[
      local ipc = ...
      local r0, w0 = ipc.pipe()
      local r <close> = r0
      local w <close> = w0
      return r, w, r:fd()
    ]]))
    local r, w, fd = chunk(ipc)
    assert.equal("ipc.pipe (closed)", tostring(r))
    assert.equal("ipc.pipe (closed)", tostring(w))
    assert.is_false(helper.fd_open(fd))
  end)
end)

-- SIGPIPE made harmless through ipc.signal (ignored, or handled by a Lua
-- function) lets writes use plain write(2); made default again, a child
-- writing under SIG_DFL must still get EPIPE and live. Each test puts
-- SIGPIPE back as it found it.
describe("ipc.pipe with SIGPIPE set through ipc.signal", function()
  after_each(helper.cleanup)

  local BROKEN = { nil, "write: broken pipe", ipc.EPIPE, 0 }

  -- The writer of a pipe whose reader is closed.
  local function readerless()
    local r, w = pipe()
    r:close()
    return w
  end

  -- Asserts that a forked child writing to w gets EPIPE and exits.
  local function child_gets_epipe(w)
    local p = track(assert(ipc.spawn(function()
      local _, _, code = w:write("x")
      os.exit(code == ipc.EPIPE and 0 or 1)
    end)))
    assert.same({ "exit", 0 }, { p:wait() })
  end

  it("returns EPIPE with SIGPIPE ignored, and again once it is default", function()
    finally(function() ipc.signal.restore("PIPE") end)
    local w = readerless()
    assert.is_true(ipc.signal.ignore("PIPE"))
    assert.same(BROKEN, { w:write("lost") })
    w:settimeout(1)
    assert.same(BROKEN, { w:write("lost") })
    w:settimeout(nil)
    assert.is_true(ipc.signal.default("PIPE"))
    child_gets_epipe(w)
    assert.same(BROKEN, { w:write("lost") })
    assert.is_true(ipc.signal.ignore("PIPE"))
    assert.is_true(ipc.signal.restore("PIPE"))
    child_gets_epipe(w)
  end)

  it("returns EPIPE with SIGPIPE handled, and the handler runs at the next dispatch", function()
    finally(function()
      ipc.signal.unhandle("PIPE")
      ipc.signal.restore("PIPE")
    end)
    local seen = {}
    assert.is_true(ipc.signal.handle("PIPE", function(name) seen[#seen + 1] = name end))
    local w = readerless()
    assert.same(BROKEN, { w:write("lost") })
    assert.same({}, seen) -- not before a safe point
    assert.is_true(ipc.signal.dispatch() >= 1)
    assert.equal("PIPE", seen[1])
    assert.is_true(ipc.signal.unhandle("PIPE"))
    child_gets_epipe(w)
    assert.same(BROKEN, { w:write("lost") })
  end)
end)

describe("ipc.pipe with bad input", function()
  after_each(helper.cleanup)

  it("raises 'attempt to use a closed ipc.pipe' and leaves no descriptor", function()
    local before = helper.fd_count()
    local r, w = ipc.pipe()
    r:close()
    w:close()
    assert.has_error(function() r:read() end, "attempt to use a closed ipc.pipe")
    assert.has_error(function() r:lines() end, "attempt to use a closed ipc.pipe")
    assert.has_error(function() w:write("x") end, "attempt to use a closed ipc.pipe")
    assert.has_error(function() w:settimeout(1) end, "attempt to use a closed ipc.pipe")
    assert.equal(before, helper.fd_count())
  end)

  it("raises from a lines() iterator whose pipe was closed", function()
    local r, w = pipe()
    w:write("a\nb\n")
    local it = r:lines()
    assert.equal("a", it())
    r:close()
    assert.has_error(function() it() end, "attempt to use a closed ipc.pipe")
  end)

  it("returns EPIPE when the reader is gone and the process lives", function()
    local r, w = pipe()
    r:close()
    local ok, msg, code, n = w:write("lost")
    assert.same({ nil, "write: broken pipe", ipc.EPIPE, 0 }, { ok, msg, code, n })
    -- still alive, and the next call says the same
    assert.same({ nil, "write: broken pipe", ipc.EPIPE, 0 }, { w:write("again") })
    local r2, w2 = pipe()
    w2:write("alive\n")
    assert.equal("alive", r2:read())
  end)

  it("raises naming the argument for a bad size or format, consuming nothing", function()
    local r, w = pipe()
    r:settimeout(1) -- a consumed line would make the last read fail, not hang
    w:write("keep\n")
    assert.has_error(function() r:read(-1) end,
      "bad argument #1 to 'read' (size must not be negative)")
    assert.has_error(function() r:read("l", 1.5) end,
      "bad argument #2 to 'read' (number has no integer representation)")
    assert.has_error(function() r:read("x") end, "bad argument #1 to 'read' (invalid format)")
    assert.has_error(function() r:read("n") end, "bad argument #1 to 'read' (invalid format)")
    assert.has_error(function() r:read({}) end)
    assert.has_error(function() r:lines("x") end, "bad argument #1 to 'lines' (invalid format)")
    assert.equal("keep", r:read("l"))
  end)

  it("raises naming the argument for a negative or non-number timeout", function()
    local r = pipe()
    assert.has_error(function() r:settimeout(-1) end,
      "bad argument #1 to 'settimeout' (timeout must not be negative)")
    assert.has_error(function() r:settimeout("1") end,
      "bad argument #1 to 'settimeout' (number expected, got string)")
    assert.has_error(function() r:settimeout(0 / 0) end,
      "bad argument #1 to 'settimeout' (timeout must not be negative)")
    assert.has_error(function() r:setblocking("no") end)
  end)

  it("raises when reading the write end or writing the read end", function()
    local r, w = pipe()
    assert.has_error(function() w:read() end,
      "calling 'read' on bad self (read end expected, got the write end)")
    assert.has_error(function() w:lines() end,
      "calling 'lines' on bad self (read end expected, got the write end)")
    assert.has_error(function() r:write("x") end,
      "calling 'write' on bad self (write end expected, got the read end)")
  end)

  it("raises for a value that is not an ipc.pipe", function()
    local r = pipe()
    assert.has_error(function() r.read(nil) end,
      "bad argument #1 to 'read' (ipc.pipe expected, got nil)")
    assert.has_error(function() r.write({}) end,
      "bad argument #1 to 'write' (ipc.pipe expected, got table)")
    local p = track(assert(ipc.spawn({ "true" })))
    assert.has_error(function() r.close(p) end,
      "bad argument #1 to 'close' (ipc.pipe expected, got ipc.proc)")
  end)

  it("raises for a value write cannot send, before writing anything", function()
    local r, w = pipe()
    assert.has_error(function() w:write("a", {}, "b") end,
      "bad argument #2 to 'write' (string expected, got table)")
    r:settimeout(0)
    assert.equal(ipc.ETIMEDOUT, select(3, r:read(1)))
  end)

  it("raises for unknown or mistyped options", function()
    assert.has_error(function() ipc.pipe { nonblok = true } end,
      "bad argument #1 to 'pipe' (unknown option 'nonblok')")
    assert.has_error(function() ipc.pipe { nonblock = 1 } end,
      "bad argument #1 to 'pipe' (nonblock must be a boolean)")
    assert.has_error(function() ipc.pipe(true) end)
  end)
end)
