-- ring_spec.lua: ipc.ring, the shared-memory ring, between real processes:
-- every mode in order, message sizes from 0 to max_message, timeouts, EOF
-- and EPEERDEAD, push_sync, batches, the messages() iterator, stats and
-- tostring, a 10^6-message stress, hostile memory, and every bad input.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- Every name this file makes starts with this, so that the final check of
-- /dev/shm sees only what this process made.
local PREFIX = ("libipc-ring-spec-%d-"):format(ipc.getpid())

-- What each test made, closed and removed by after_each even on failure.
local names, rings, segments = {}, {}, {}

-- A name unique to this process and test ("/libipc-ring-spec-<pid>-tag").
local function tname(tag)
  local name = "/" .. PREFIX .. tag
  names[#names + 1] = name
  ipc.ring.unlink(name) -- a previous run's leftover
  return name
end

-- Registers a ring (or a segment) for closing; returns it.
local function ring(q, ...)
  assert(q, ...)
  rings[#rings + 1] = q
  return q
end

local function seg(s, ...)
  assert(s, ...)
  segments[#segments + 1] = s
  return s
end

local function is_open(h)
  return not tostring(h):find("closed", 1, true)
end

local function cleanup()
  for _, list in ipairs { rings, segments } do
    for i = #list, 1, -1 do
      if is_open(list[i]) then list[i]:close() end
      list[i] = nil
    end
  end
  for i = #names, 1, -1 do
    ipc.ring.unlink(names[i])
    names[i] = nil
  end
  helper.cleanup()
end

-- This process's entries in /dev/shm, sorted, as one string.
local function our_shm()
  local f = assert(io.popen("ls -A /dev/shm"))
  local list = {}
  for entry in f:lines() do
    if entry:sub(1, #PREFIX) == PREFIX then list[#list + 1] = entry end
  end
  f:close()
  table.sort(list)
  return table.concat(list, " ")
end

local function exists(name)
  local f = io.open("/dev/shm" .. name)
  if f then f:close() end
  return f ~= nil
end

-- Wall-clock seconds (plain Lua has no monotonic clock); for coarse checks
-- that a wait happened at all, never for speed.
local function now()
  local f = assert(io.popen("date +%s.%N"))
  local t = tonumber(f:read("*l"))
  f:close()
  return t
end

-- The message of the error f raises, from "bad argument" on when there is
-- one. f calls the function under test by name, so that the message names
-- it ("to 'create'").
local function raises(f)
  local ok, err = pcall(f)
  assert.is_false(ok, "did not raise")
  err = tostring(err)
  return err:match("bad argument.*$") or err:match("attempt to.*$") or err
end

-- nil, msg, code as one table, for assert.same.
local function fail(...)
  return { ... }
end

-- A child running fn that must exit 0; after_each reaps it.
local function spawn(fn, opts)
  return track(assert(ipc.spawn(fn, opts)))
end

local function exits_ok(p)
  assert.same({ "exit", 0 }, { p:wait(20) })
end

-- A string of n bytes, all 256 byte values included, different for each
-- seed.
local function bytes(n, seed)
  local t = {}
  for i = 1, n do t[i] = string.char((i * 7 + seed) % 256) end
  return table.concat(t)
end

describe("ipc.ring", function()
  local before
  setup(function() before = our_shm() end)
  teardown(function() assert.equal(before, our_shm(), "/dev/shm changed") end)
  after_each(cleanup)

  describe("named rings", function()
    it("are created exclusively, opened by name, and removed by unlink", function()
      local name = tname("basic")
      local q = ring(ipc.ring.create(name))
      assert.is_true(exists(name))
      assert.equal(name, q:name())
      assert.is_number(q:fd())
      assert.same(fail(nil, "create " .. name .. ": file exists", ipc.EEXIST),
        fail(ipc.ring.create(name, { capacity = 8192 })))
      assert.is_true(q:push("kept"))
      local o = ring(ipc.ring.open(name))
      assert.equal(65536, o:stats().capacity, "the existing ring was left as it was")
      assert.equal("kept", o:pop(0))
      assert.is_true(ipc.ring.unlink(name))
      assert.is_false(exists(name))
      assert.is_true(q:push("still works"))
      assert.equal("still works", o:pop(0))
      assert.same(fail(nil, "unlink " .. name .. ": no such file or directory", ipc.ENOENT),
        fail(ipc.ring.unlink(name)))
      assert.same(fail(nil, "open " .. name .. ": no such file or directory", ipc.ENOENT),
        fail(ipc.ring.open(name)))
    end)

    it("are created 0600, or with exactly the perm given", function()
      local a, b = tname("perm-a"), tname("perm-b")
      ring(ipc.ring.create(a))
      ring(ipc.ring.create(b, { perm = "640" }))
      local f = assert(io.popen(("stat -c %%a /dev/shm%s /dev/shm%s"):format(a, b)))
      assert.equal("600\n640\n", f:read("*a"))
      f:close()
    end)

    it("are never unlinked by close", function()
      local name = tname("close")
      ring(ipc.ring.create(name)):close()
      assert.is_true(exists(name))
      ring(ipc.ring.open(name)):close()
      assert.is_true(exists(name))
    end)

    it("pop only when opened 'r' and push only when opened 'w'", function()
      local name = tname("rw")
      local q = ring(ipc.ring.create(name))
      local w = ring(ipc.ring.open(name, "w"))
      assert.same(fail(nil, "pop " .. name .. ": bad file descriptor", ipc.EBADF),
        fail(w:pop(0)))
      assert.is_true(w:push("one"))
      w:close()
      q:close()
      local r = ring(ipc.ring.open(name, "r"))
      assert.same(fail(nil, "push " .. name .. ": bad file descriptor", ipc.EBADF),
        fail(r:push("two")))
      assert.same(fail(nil, "push_many " .. name .. ": bad file descriptor", ipc.EBADF),
        fail(r:push_many({ "two" })))
      assert.same(fail(nil, "push_sync " .. name .. ": bad file descriptor", ipc.EBADF),
        fail(r:push_sync("two")))
      assert.equal("one", r:pop(0))
      assert.equal(1, r:stats().pushed)
    end)

    it("refuse a second live producer on an SPSC ring with EBUSY", function()
      local name = tname("busy")
      local q = ring(ipc.ring.create(name))
      assert.is_true(q:push("first"))
      local w = ring(ipc.ring.open(name, "w"))
      assert.same(fail(nil, "push " .. name .. ": resource busy", ipc.EBUSY),
        fail(w:push("second")))
      q:close()
      assert.is_true(w:push("second"), "the first producer has left")
    end)
  end)

  describe("between two processes", function()
    local N = 2000

    -- Producer k's message i: "k:i:" then i % 50 bytes (0 included).
    local function msg(k, i)
      return ("%d:%d:"):format(k, i) .. ("x"):rep(i % 50)
    end

    -- Checks that m came from a producer in order (after last[k]);
    -- returns k and i.
    local function check(m, last)
      local k, i = m:match("^(%d+):(%d+):")
      k, i = tonumber(k), tonumber(i)
      assert(k and m == msg(k, i), "bad message " .. m)
      assert(i > (last[k] or -1), "out of order")
      last[k] = i
      return k, i
    end

    for _, mode in ipairs { "spsc", "mpsc", "mpmc" } do
      it("keeps each producer's order in " .. mode .. " mode, then gives EOF", function()
        local name = tname("order-" .. mode)
        local q = ring(ipc.ring.create(name, { mode = mode, capacity = 4096 }))
        local producers = mode == "spsc" and 1 or 2
        -- A guard producer, here, keeps consumers from taking the end of
        -- one producer for the end of all before the others attached.
        local guard = mode ~= "spsc" and ring(ipc.ring.open(name, "w"))
        if guard then assert(guard:push("0:0:")) end
        local kids = {}
        for k = 1, producers do
          kids[k] = spawn(function()
            local w = assert(ipc.ring.open(name, "w"))
            for i = 1, N do assert(w:push(msg(k, i))) end
            w:close()
          end)
        end
        local consumers = {}
        if mode == "mpmc" then
          -- Two consumer children besides this process; each reports how
          -- many messages it took and the sum of their numbers.
          for c = 1, 2 do
            consumers[c] = spawn(function()
              local r = assert(ipc.ring.open(name, "r"))
              local last, n, sum = {}, 0, 0
              for m in r:messages() do
                local _, i = check(m, last)
                n, sum = n + 1, sum + i
              end
              r:close()
              io.write(n, " ", sum, "\n")
            end, { stdout = "pipe" })
          end
        end
        local last, n, sum = {}, 0, 0
        local function take(m)
          local _, i = check(m, last)
          n, sum = n + 1, sum + i
        end
        if mode == "mpmc" then
          -- This process takes part as a consumer too; it may lose every
          -- race to the two children (MPMC promises no fairness), so a
          -- timeout is fine here, any other error is not.
          local first, _, code = q:pop(1)
          if first then take(first) else assert.equal(ipc.ETIMEDOUT, code) end
          for _, p in ipairs(kids) do exits_ok(p) end
          guard:close()
          for m in q:messages() do take(m) end
          for _, p in ipairs(consumers) do
            local out = p.stdout:read("a")
            exits_ok(p)
            local cn, csum = out:match("^(%d+) (%d+)\n$")
            n, sum = n + tonumber(cn), sum + tonumber(csum)
          end
        else
          while n < producers * N + (guard and 1 or 0) do take(assert(q:pop(10))) end
          for _, p in ipairs(kids) do exits_ok(p) end
          if guard then guard:close() end
        end
        assert.equal(producers * N + (guard and 1 or 0), n)
        assert.equal(producers * N * (N + 1) / 2, sum)
        if mode == "spsc" then assert.equal(N, last[1]) end
        assert.same(fail(nil, "pop " .. name .. ": end of file", ipc.EOF), fail(q:pop()))
        assert.same(fail(nil, "pop " .. name .. ": end of file", ipc.EOF), fail(q:pop(0)))
      end)
    end

    it("share an anonymous ring with a child made by spawn", function()
      local q = ring(ipc.ring.anon())
      assert.is_nil(q:name())
      local p = spawn(function()
        assert(q:push("from kid " .. ipc.getpid()))
        q:close()
      end)
      assert.equal("from kid " .. p.pid, q:pop(10))
      assert.same(fail(nil, "pop: end of file", ipc.EOF), fail(q:pop(10)))
      exits_ok(p)
    end)

    it("share an anonymous ring with a child made by fork", function()
      local q = ring(ipc.ring.anon({ mode = "mpsc" }))
      local p = ipc.fork()
      if p == 0 then
        local ok = q:push("forked")
        q:close()
        os.exit(ok and 0 or 1)
      end
      track(p)
      assert.equal("forked", q:pop(10))
      exits_ok(p)
    end)
  end)

  describe("messages", function()
    it("round-trip at every length from 0 to max_message, any bytes", function()
      local q = ring(ipc.ring.anon({ capacity = 8192, max_message = 1000 }))
      local p = spawn(function()
        for n = 0, 1000 do assert(q:push(bytes(n, n))) end
        q:close()
      end)
      for n = 0, 1000 do
        local m = q:pop(10)
        if m ~= bytes(n, n) then
          assert.equal(n, #m, "wrong length")
          error("wrong bytes at length " .. n)
        end
      end
      assert.same(fail(nil, "pop: end of file", ipc.EOF), fail(q:pop(10)))
      exits_ok(p)
    end)

    it("give EMSGSIZE at once, without waiting, for one byte more than max_message", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      assert.equal(512, q:stats().max_message)
      assert.is_true(q:push(("m"):rep(512)))
      for _ = 1, 20 do q:push(("f"):rep(500), 0) end -- full, so a wait would hang
      local big = ("b"):rep(513)
      assert.same(fail(nil, "push: message too long", ipc.EMSGSIZE), fail(q:push(big)))
      assert.same(fail(nil, "push_sync: message too long", ipc.EMSGSIZE),
        fail(q:push_sync(big)))
      assert.same(fail(nil, "push_many: message too long", ipc.EMSGSIZE),
        fail(q:push_many({ "ok", big })))
      assert.equal(("m"):rep(512), q:pop(0))
      local st = q:stats()
      assert.equal(st.pushed - 1, st.depth, "nothing else went in")
    end)

    it("include empty messages, told apart from the end", function()
      local q = ring(ipc.ring.anon())
      assert.is_true(q:push(""))
      assert.is_true(q:push(""))
      assert.equal("", q:pop(0))
      assert.same({ "" }, q:pop_many(5, 0))
      assert.same(fail(nil, "pop: timed out", ipc.ETIMEDOUT), fail(q:pop(0)))
    end)
  end)

  describe("timeouts", function()
    it("give ETIMEDOUT at once with 0 and after the time given", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      assert.same(fail(nil, "pop: timed out", ipc.ETIMEDOUT), fail(q:pop(0)))
      assert.same(fail(nil, "pop_many: timed out", ipc.ETIMEDOUT), fail(q:pop_many(3, 0)))
      local t0 = now()
      assert.same(fail(nil, "pop: timed out", ipc.ETIMEDOUT), fail(q:pop(0.3)))
      assert.is_true(now() - t0 >= 0.29)
      local n = 0
      while q:push(("x"):rep(100), 0) do n = n + 1 end
      assert.equal(36, n) -- 112-byte records; the 37th would need the 64 left and more
      local m = ("x"):rep(100)
      assert.same(fail(nil, "push: timed out", ipc.ETIMEDOUT), fail(q:push(m, 0)))
      t0 = now()
      assert.same(fail(nil, "push: timed out", ipc.ETIMEDOUT), fail(q:push(m, 0.3)))
      assert.is_true(now() - t0 >= 0.29)
      assert.equal(n, q:stats().depth)
    end)

    it("wait for a message that comes later", function()
      local q = ring(ipc.ring.anon())
      local p = spawn(function()
        helper.sleep(0.2)
        assert(q:push("late"))
      end)
      assert.equal("late", q:pop(10))
      exits_ok(p)
    end)
  end)

  describe("end of stream", function()
    it("gives EOF once every producer closed and the ring is empty", function()
      local name = tname("eof")
      local q = ring(ipc.ring.create(name))
      local p = spawn(function()
        local w = assert(ipc.ring.open(name, "w"))
        for i = 1, 3 do assert(w:push("m" .. i)) end
        w:close()
      end)
      exits_ok(p)
      assert.same({ "m1", "m2", "m3" }, q:pop_many(10))
      assert.same(fail(nil, "pop " .. name .. ": end of file", ipc.EOF), fail(q:pop()))
      assert.same(fail(nil, "pop_many " .. name .. ": end of file", ipc.EOF),
        fail(q:pop_many(10)))
    end)

    it("gives EPEERDEAD, after the data, when the producer is killed", function()
      local name = tname("dead")
      local q = ring(ipc.ring.create(name))
      local p = spawn(function()
        local w = assert(ipc.ring.open(name, "w"))
        assert(w:push("a"))
        assert(w:push("b"))
        io.write("pushed\n")
        io.flush()
        helper.sleep(60)
      end, { stdout = "pipe" })
      assert.equal("pushed", p.stdout:read("l"))
      assert.equal("a", q:pop(10))
      p:kill("KILL")
      assert.equal("signal", (p:wait(10)))
      assert.equal("b", q:pop(10))
      assert.same(fail(nil, "pop " .. name .. ": peer process is dead", ipc.EPEERDEAD),
        fail(q:pop()))
      assert.same(fail(nil, "pop " .. name .. ": peer process is dead", ipc.EPEERDEAD),
        fail(q:pop(0)))
    end)

    it("gives EPEERDEAD when the producer ends without closing", function()
      local q = ring(ipc.ring.anon())
      local p = spawn(function() assert(q:push("bye")) end)
      exits_ok(p)
      assert.equal("bye", q:pop(10))
      assert.same(fail(nil, "pop: peer process is dead", ipc.EPEERDEAD), fail(q:pop(10)))
    end)

    it("gives EPEERDEAD to a producer blocked on a full ring whose consumer died", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      assert(q:push("hello"))
      local p = spawn(function()
        assert(q:pop(10) == "hello")
        io.write("took\n")
        io.flush()
        helper.sleep(60)
      end, { stdout = "pipe" })
      assert.equal("took", p.stdout:read("l"))
      p:kill("KILL")
      p:wait(10)
      while q:push(("x"):rep(200), 0) do end
      assert.same(fail(nil, "push: peer process is dead", ipc.EPEERDEAD),
        fail(q:push(("x"):rep(200))))
    end)
  end)

  describe("push_sync", function()
    it("returns once a consumer took the message", function()
      local q = ring(ipc.ring.anon())
      local p = spawn(function()
        helper.sleep(0.3)
        assert(q:pop(10) == "job")
        helper.sleep(60) -- stays alive: the producer must not see it die
      end)
      local t0 = now()
      assert.is_true(q:push_sync("job", 10))
      assert.is_true(now() - t0 >= 0.29)
      local st = q:stats()
      assert.equal(0, st.depth)
      assert.equal(1, st.popped)
      p:kill("KILL")
    end)

    it("times out when nobody takes it, and leaves it queued", function()
      local q = ring(ipc.ring.anon())
      assert.same(fail(nil, "push_sync: timed out", ipc.ETIMEDOUT),
        fail(q:push_sync("pending", 0.1)))
      assert.equal("pending", q:pop(0))
    end)
  end)

  describe("batches", function()
    it("push a list in order and pop 1 to max messages at once", function()
      local q = ring(ipc.ring.anon())
      local list = {}
      for i = 1, 100 do list[i] = "m" .. i end
      assert.equal(100, q:push_many(list))
      assert.equal(0, q:push_many({}))
      local got = q:pop_many(30)
      assert.equal(30, #got)
      assert.equal("m1", got[1])
      assert.equal("m30", got[30])
      assert.equal("m31", q:pop(0))
      got = q:pop_many(1000, 0)
      assert.equal(69, #got)
      assert.equal("m100", got[69])
      assert.same(fail(nil, "pop_many: timed out", ipc.ETIMEDOUT), fail(q:pop_many(1000, 0)))
    end)

    it("keep the order when pop and pop_many are mixed", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      local next_in, next_out = 1, 1
      for _ = 1, 300 do
        for _ = 1, 5 do
          assert(q:push(("%d"):format(next_in)))
          next_in = next_in + 1
        end
        assert.equal(tostring(next_out), q:pop(0))
        next_out = next_out + 1
        for _, m in ipairs(assert(q:pop_many(3, 0))) do
          assert.equal(tostring(next_out), m)
          next_out = next_out + 1
        end
        assert.equal(tostring(next_out), q:pop(0))
        next_out = next_out + 1
      end
      assert.same(fail(nil, "pop: timed out", ipc.ETIMEDOUT), fail(q:pop(0)))
    end)

    it("push what fits with timeout 0 and return that count", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      local list = {}
      for i = 1, 100 do list[i] = ("%099d"):format(i) end -- 112-byte records
      local n = q:push_many(list, 0)
      assert.equal(36, n) -- 4096 / 112
      assert.equal(36, q:stats().depth)
      assert.equal(list[1], q:pop(0))
      assert.same(fail(nil, "push_many: timed out", ipc.ETIMEDOUT),
        fail(q:push_many({ ("x"):rep(200) }, 0)))
    end)

    it("wait for room for the rest of a long list while a consumer takes", function()
      local q = ring(ipc.ring.anon({ capacity = 4096 }))
      local list = {}
      for i = 1, 1000 do list[i] = ("%020d"):format(i) end
      local p = spawn(function()
        local n = 0
        while n < 1000 do
          local got = assert(q:pop_many(7, 10))
          for _, m in ipairs(got) do
            n = n + 1
            assert(m == ("%020d"):format(n), "out of order")
          end
        end
      end)
      assert.equal(1000, q:push_many(list, 10))
      exits_ok(p)
    end)

    it("check every element before pushing any", function()
      local q = ring(ipc.ring.anon())
      assert.equal("bad argument #1 to 'push_many' (string expected at index 2, got number)",
        raises(function() q:push_many({ "a", 1, "c" }) end))
      assert.equal("bad argument #1 to 'push_many' (string expected at index 3, got nil)",
        raises(function() q:push_many({ "a", "b", nil, "d" }) end))
      assert.equal(0, q:stats().pushed)
    end)
  end)

  describe("messages()", function()
    it("iterates until the producers closed", function()
      local q = ring(ipc.ring.anon())
      local p = spawn(function()
        for i = 1, 50 do assert(q:push("m" .. i)) end
        q:close()
      end)
      local got = {}
      for m in q:messages() do got[#got + 1] = m end
      assert.equal(50, #got)
      assert.equal("m50", got[50])
      exits_ok(p)
    end)

    it("ends when a message does not come in time", function()
      local q = ring(ipc.ring.anon())
      q:push("only")
      local got = {}
      for m in q:messages(0.05) do got[#got + 1] = m end
      assert.same({ "only" }, got)
    end)

    it("raises when the producer died", function()
      local q = ring(ipc.ring.anon())
      local p = spawn(function() assert(q:push("last words")) end)
      exits_ok(p)
      local got = {}
      local ok, err = pcall(function()
        for m in q:messages() do got[#got + 1] = m end
      end)
      assert.is_false(ok)
      assert.matches("messages: peer process is dead", err)
      assert.same({ "last words" }, got)
    end)

    it("raises when the ring is closed during the loop", function()
      local q = ring(ipc.ring.anon())
      q:push("a")
      q:push("b")
      assert.equal("attempt to use a closed ipc.ring", raises(function()
        for _ in q:messages() do q:close() end
      end))
    end)
  end)

  describe("stats and tostring", function()
    it("count bytes, messages and participants", function()
      local name = tname("stats")
      local q = ring(ipc.ring.create(name, { capacity = 8192, max_message = 100, mode = "mpsc" }))
      assert.same({
        capacity = 8192, max_message = 100, used = 0, depth = 0, pushed = 0, popped = 0,
        abandoned = 0, waits = 0, mode = "mpsc", producers = 0, consumers = 0,
      }, q:stats())
      assert.equal("ipc.ring (" .. name .. ", mpsc, 0/8192 bytes used, 0 pushed, 0 popped)",
        tostring(q))
      q:push("abc")  -- 8 + 8
      q:push("")     -- 8
      q:push(("z"):rep(9)) -- 8 + 16
      q:pop()
      local st = q:stats()
      assert.equal(32, st.used)
      assert.equal(2, st.depth)
      assert.equal(3, st.pushed)
      assert.equal(1, st.popped)
      assert.equal(1, st.producers)
      assert.equal(1, st.consumers)
      assert.equal("ipc.ring (" .. name .. ", mpsc, 32/8192 bytes used, 3 pushed, 1 popped)",
        tostring(q))
      q:close()
      assert.equal("ipc.ring (closed)", tostring(q))
      local a = ring(ipc.ring.anon({ mode = "mpmc" }))
      assert.equal("ipc.ring (anonymous, mpmc, 0/65536 bytes used, 0 pushed, 0 popped)",
        tostring(a))
    end)

    it("count the waits of a consumer that slept", function()
      local q = ring(ipc.ring.anon())
      q:pop(0.05)
      assert.is_true(q:stats().waits >= 1)
    end)
  end)

  describe("lifetime", function()
    it("detaches a collected handle cleanly, so the consumer sees EOF", function()
      local name = tname("gc")
      local q = ring(ipc.ring.create(name))
      local w = assert(ipc.ring.open(name, "w"))
      assert(w:push("x"))
      w = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      assert.equal("x", q:pop(0))
      assert.same(fail(nil, "pop " .. name .. ": end of file", ipc.EOF), fail(q:pop(0)))
    end)

    it("closes at the end of a <close> scope on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then return pending("no <close> before Lua 5.4") end
      local name = tname("tbc")
      local q = ring(ipc.ring.create(name))
      local chunk = assert(load([[
        local ipc, name = ...
        local w <close> = assert(ipc.ring.open(name, "w"))
        assert(w:push("scoped"))
        return w
      ]]))
      local w = chunk(ipc, name)
      assert.equal("ipc.ring (closed)", tostring(w))
      assert.equal("scoped", q:pop(0))
      assert.same(fail(nil, "pop " .. name .. ": end of file", ipc.EOF), fail(q:pop(0)))
    end)

    it("raises on any use of a closed ring, close included", function()
      local q = ring(ipc.ring.anon())
      assert.is_true(q:close())
      for _, f in ipairs {
        function() q:push("x") end, function() q:pop() end, function() q:push_many({}) end,
        function() q:pop_many(1) end, function() q:push_sync("x") end,
        function() q:messages() end, function() q:stats() end, function() q:name() end,
        function() q:fd() end, function() q:close() end,
      } do
        assert.equal("attempt to use a closed ipc.ring", raises(f))
      end
    end)
  end)

  describe("signals", function()
    local registry = debug.getregistry()
    after_each(function() registry["ipc.interrupt"] = nil end)

    -- As in ipc_spec: lua.c turns SIGINT into "interrupted!" raised by the
    -- next Lua code run, here the ipc.interrupt hook, inside the wait.
    it("let the interpreter's Ctrl-C out of a blocked pop, and lose nothing", function()
      if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
      registry["ipc.interrupt"] = function() end
      local q = ring(ipc.ring.anon())
      local parent = ipc.getpid()
      local p = spawn(function()
        helper.sleep(0.2)
        os.execute("kill -INT " .. parent)
        helper.sleep(0.2)
        assert(q:push("after"))
        helper.sleep(60)
      end)
      local ok, err = pcall(q.pop, q, 10)
      assert.is_false(ok)
      assert.matches("interrupted!", err)
      assert.equal("after", q:pop(10))
      p:kill("KILL")
    end)
  end)

  describe("hostile memory", function()
    it("gives ECORRUPT when opening a segment that is not a ring", function()
      local name = tname("garbage")
      local s = seg(ipc.shm.create(name, 4096 + 65536))
      s:write(0, ("garbage!"):rep(1024))
      assert.same(fail(nil, "open " .. name .. ": shared memory is corrupt", ipc.ECORRUPT),
        fail(ipc.ring.open(name)))
      s:close()
      assert.is_true(ipc.ring.unlink(name))
      seg(ipc.shm.create(name, 100))
      assert.same(fail(nil, "open " .. name .. ": shared memory is corrupt", ipc.ECORRUPT),
        fail(ipc.ring.open(name, "r")))
    end)

    it("gives ECORRUPT for a ring whose header lies about its size", function()
      local name = tname("lies")
      ring(ipc.ring.create(name, { capacity = 4096 }))
      local s = seg(ipc.shm.open(name))
      s:set("u64", 16, 1048576) -- the capacity field (docs/ring.md: the geometry)
      assert.same(fail(nil, "open " .. name .. ": shared memory is corrupt", ipc.ECORRUPT),
        fail(ipc.ring.open(name)))
    end)

    it("gives ECORRUPT, never a crash, when a position is garbage", function()
      local name = tname("tail")
      local q = ring(ipc.ring.create(name))
      local s = seg(ipc.shm.open(name))
      s:set("u64", 128, 12345) -- the tail's line: unaligned, beyond the head
      assert.same(fail(nil, "pop " .. name .. ": shared memory is corrupt", ipc.ECORRUPT),
        fail(q:pop(0)))
      assert.equal("messages " .. name .. ": shared memory is corrupt", raises(function()
        for _ in q:messages() do end
      end):match("messages.*$"))
      assert.equal("ipc.ring (" .. name .. ", corrupt)", tostring(q))
    end)
  end)

  describe("bad input", function()
    local function bad_name(name, why)
      assert.equal(("bad argument #1 to 'create' (%s)"):format(why),
        raises(function() ipc.ring.create(name) end))
      assert.equal(("bad argument #1 to 'open' (%s)"):format(why),
        raises(function() ipc.ring.open(name) end))
      assert.equal(("bad argument #1 to 'unlink' (%s)"):format(why),
        raises(function() ipc.ring.unlink(name) end))
    end

    it("raises for a name with a second slash", function()
      bad_name("/" .. PREFIX .. "/x", "name has a second '/'")
    end)

    it("raises for a name over 250 bytes, and takes one of 250", function()
      local long = "/" .. PREFIX .. ("n"):rep(251 - #PREFIX)
      bad_name(long, "name is longer than 250 bytes after its '/'")
      local longest = long:sub(1, 251)
      names[#names + 1] = longest
      ring(ipc.ring.create(longest)):close()
      assert.is_true(ipc.ring.unlink(longest))
    end)

    it("raises for an empty name, and one without its leading slash", function()
      bad_name("", "name is empty")
      bad_name(PREFIX, "name must start with '/'")
      bad_name("/", "name has nothing after its '/'")
      bad_name("/a b", "name may only have letters, digits, '.', '_' and '-' after its '/'")
      assert.equal("bad argument #1 to 'create' (string expected, got nil)",
        raises(function() ipc.ring.create(nil) end))
    end)

    it("raises for a capacity that is not a power of two from 4096 to 2^40", function()
      local name = tname("cap")
      local why = "bad argument #2 to 'create' (capacity must be a power of two from 4096 to 2^40)"
      for _, cap in ipairs { 5000, 2048, 1, 2 ^ 41, 65535 } do
        assert.equal(why, raises(function() ipc.ring.create(name, { capacity = cap }) end))
      end
      assert.equal("bad argument #1 to 'anon' (capacity must be a power of two from 4096 to 2^40)",
        raises(function() ipc.ring.anon({ capacity = 3000 }) end))
      assert.equal("bad argument #2 to 'create' (capacity must be positive)",
        raises(function() ipc.ring.create(name, { capacity = 0 }) end))
      assert.equal("bad argument #2 to 'create' (capacity must be an integer)",
        raises(function() ipc.ring.create(name, { capacity = 4096.5 }) end))
      assert.equal("bad argument #2 to 'create' (capacity must be an integer)",
        raises(function() ipc.ring.create(name, { capacity = "4096" }) end))
      assert.is_false(exists(name))
    end)

    it("raises for a max_message over capacity / 2 - 8", function()
      local name = tname("max")
      local why = "bad argument #2 to 'create' (max_message must be at most capacity / 2 - 8 (%d))"
      assert.equal(why:format(2040),
        raises(function() ipc.ring.create(name, { capacity = 4096, max_message = 2041 }) end))
      assert.equal(why:format(32760),
        raises(function() ipc.ring.create(name, { max_message = 32761 }) end))
      assert.equal("bad argument #2 to 'create' (max_message must be positive)",
        raises(function() ipc.ring.create(name, { max_message = 0 }) end))
      assert.is_false(exists(name))
      local q = ring(ipc.ring.create(name, { capacity = 4096, max_message = 2040 }))
      assert.is_true(q:push(("x"):rep(2040)))
      assert.equal(2040, #q:pop(0))
    end)

    it("raises for a bad mode, perm or option", function()
      local name = tname("opts")
      local why = "bad argument #2 to 'create' (mode must be 'spsc', 'mpsc' or 'mpmc', got %s)"
      assert.equal(why:format("'SPSC'"),
        raises(function() ipc.ring.create(name, { mode = "SPSC" }) end))
      assert.equal(why:format("number"),
        raises(function() ipc.ring.create(name, { mode = 1 }) end))
      assert.equal("bad argument #2 to 'create' (unknown option 'capcity')",
        raises(function() ipc.ring.create(name, { capcity = 4096 }) end))
      assert.equal("bad argument #1 to 'anon' (unknown option 'perm')",
        raises(function() ipc.ring.anon({ perm = "600" }) end))
      assert.equal(
        "bad argument #2 to 'create' (perm must be 0..0777 (an integer or an octal string))",
        raises(function() ipc.ring.create(name, { perm = "999" }) end))
      assert.equal("bad argument #2 to 'create' (table expected, got string)",
        raises(function() ipc.ring.create(name, "spsc") end))
      assert.equal("bad argument #2 to 'open' (invalid option 'x')",
        raises(function() ipc.ring.open(name, "x") end))
      assert.is_false(exists(name))
    end)

    it("raises for a wrong message, max, timeout or self", function()
      local q = ring(ipc.ring.anon())
      assert.equal("bad argument #1 to 'push' (string expected, got number)",
        raises(function() q:push(42) end))
      assert.equal("bad argument #1 to 'push_sync' (string expected, got no value)",
        raises(function() q:push_sync() end))
      assert.equal("bad argument #1 to 'push_many' (table expected, got string)",
        raises(function() q:push_many("x") end))
      assert.equal("bad argument #1 to 'pop_many' (max must be positive)",
        raises(function() q:pop_many(0) end))
      assert.equal("bad argument #1 to 'pop_many' (number has no integer representation)",
        raises(function() q:pop_many(1.5) end))
      assert.equal("bad argument #1 to 'pop' (timeout must not be negative)",
        raises(function() q:pop(-1) end))
      assert.equal("bad argument #2 to 'push' (number expected, got string)",
        raises(function() q:push("x", "soon") end))
      assert.equal("bad argument #1 to 'messages' (timeout must not be negative)",
        raises(function() q:messages(-0.5) end))
      local r, w = ipc.pipe()
      assert.matches("ipc.ring expected, got ipc.pipe", raises(function() q.push(r, "x") end))
      assert.matches("ipc.ring expected, got number", raises(function() q.pop(7) end))
      -- Full userdata of other classes, at least as large as a handle: a
      -- segment (a libipc handle of another class) and a Lua file.
      local other = assert(ipc.shm.anon(4096))
      assert.matches("ipc.ring expected, got ipc.shm", raises(function() q.push(other, "x") end))
      -- (5.1 and LuaJIT name no class for files: "userdata")
      assert.matches("ipc.ring expected, got [%w%*]+%)$", raises(function() q.pop(io.stdout) end))
      other:close()
      r:close()
      w:close()
      assert.equal(0, q:stats().pushed)
    end)
  end)

  describe("stress", function()
    -- 10^6 messages of 0 to 96 bytes from a child to this process, half
    -- one by one and half in batches on each side, each checked in place
    -- and all of them against a checksum the producer sends last.
    it("moves 10^6 messages across processes, in order, with a checksum", function()
      local N, B = 1000000, 50
      local pool = {}
      for i = 0, 255 do
        pool[i + 1] = ("%03d|"):format(i) .. bytes(i % 93, i)
      end
      local q = ring(ipc.ring.anon({ capacity = 65536 }))
      local p = spawn(function()
        local sum, batch = 0, {}
        local i = 0
        while i < N do
          if (i / 1000) % 2 < 1 then
            local m = pool[i % 256 + 1]
            assert(q:push(m))
            sum = (sum + #m * (i % 997)) % 2147483647
            i = i + 1
          else
            for k = 1, B do
              local m = pool[(i + k - 1) % 256 + 1]
              batch[k] = m
              sum = (sum + #m * ((i + k - 1) % 997)) % 2147483647
            end
            assert(q:push_many(batch) == B)
            i = i + B
          end
        end
        assert(q:push("sum " .. sum))
        q:close()
      end)
      local sum, i, bad = 0, 0, 0
      local function take(m)
        if m ~= pool[i % 256 + 1] then bad = bad + 1 end
        sum = (sum + #m * (i % 997)) % 2147483647
        i = i + 1
      end
      while i < N do
        if i % 3 == 0 then
          take(assert(q:pop(30)))
        else
          local list = assert(q:pop_many(math.min(64, N - i), 30))
          for k = 1, #list do take(list[k]) end
        end
      end
      assert.equal(0, bad)
      assert.equal("sum " .. sum, q:pop(30))
      assert.same(fail(nil, "pop: end of file", ipc.EOF), fail(q:pop(30)))
      exits_ok(p)
      local st = q:stats()
      assert.equal(N + 1, st.pushed)
      assert.equal(N + 1, st.popped)
      assert.equal(0, st.abandoned)
    end)
  end)
end)
