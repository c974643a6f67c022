-- tools.lua: the shell's tools, embedded in ipcsh and run by prelude.lua
-- with the ipc table and file(name). Returns the globals it defines: ls
-- and rm (the system's IPC objects, through ipc.ls and ipc.rm), watch (a
-- ring's or a queue's depth and throughput, live) and bench (a ring against
-- a pipe between two processes).

local ipc = ...

local concat, format = table.concat, string.format

-- Whether stdout is a terminal: the shell that os.execute starts inherits
-- it as its own stdout. os.execute returns true on success from 5.2 on,
-- the exit status (0) on 5.1 and LuaJIT.
local function on_terminal()
  local ok = os.execute("[ -t 1 ]")
  return ok == true or ok == 0
end

-- Whether err is the "interrupted!" the shell raises for a Ctrl-C (from
-- its hook, which may put a position in front).
local function interrupted(err)
  return type(err) == "string"
    and (err == "interrupted!" or err:match("^[^\n]*:%d+: interrupted!$") ~= nil)
end

-- A progress line: rewritten in place on a terminal, plain lines otherwise.
local function progress(tty)
  local shown = false
  return function(line)
    if tty then
      io.write("\r", line, "\27[K")
      shown = true
    elseif line then
      io.write(line, "\n")
    end
    io.flush()
  end, function()
    if shown then io.write("\r\27[K") end
    io.flush()
  end
end

local function bytes(n)
  if n < 1024 then return format("%d B", n) end
  local units = { "KiB", "MiB", "GiB", "TiB" }
  local u = 0
  repeat
    n = n / 1024
    u = u + 1
  until n < 1024 or u == #units
  return format(n < 10 and "%.1f %s" or "%.0f %s", n, units[u])
end

local floor = math.floor -- not //, which Lua has only from 5.3

local function age(seconds)
  if seconds < 0 then return "-" end
  if seconds < 120 then return format("%ds", seconds) end
  if seconds < 7200 then return format("%dm", floor(seconds / 60)) end
  if seconds < 172800 then return format("%dh", floor(seconds / 3600)) end
  return format("%dd", floor(seconds / 86400))
end

-- Display width: UTF-8 continuation bytes take no column (utf8.len
-- exists only from 5.3, and fails on bytes that are not UTF-8).
local function width(s)
  return #s:gsub("[\128-\191]", "")
end

local function comm(pid)
  local f = io.open("/proc/" .. pid .. "/comm")
  local s = f and f:read("*l")
  if f then f:close() end
  return s
end

-- ------------------------------------------------------------ ls and rm

-- The USERS column: the first user with its command, how many more.
local function users(r)
  if r.in_use == nil then return "?" end
  if #r.users > 0 then
    local name = comm(r.users[1])
    local s = tostring(r.users[1]) .. (name and " (" .. name .. ")" or "")
    if r.nusers > 1 then s = s .. format(" +%d", r.nusers - 1) end
    return s
  end
  if r.in_use then return "attached " .. tostring(r.attached) end
  return "-"
end

local function size(r)
  if r.kind == "sysv_sem" then return format("%d sems", r.count) end
  if r.kind == "sysv_msg" then return format("%s, %d msgs", bytes(r.size), r.count) end
  if r.kind == "fifo" then return "-" end
  return bytes(r.size)
end

local function ours(v)
  if v == nil then return "?" end
  return v and "yes" or "no"
end

-- ls([kind | opts]): prints the system's IPC objects as a table.
local function ls(opts)
  if type(opts) == "string" then opts = { kind = opts } end
  local list, hidden_or_msg, code = ipc.ls(opts)
  if not list then return nil, hidden_or_msg, code end
  if #list == 0 then
    print("no IPC objects")
  else
    local now = os.time()
    local rows = { { "KIND", "NAME", "OWNER", "MODE", "SIZE", "USERS", "OURS", "AGE" } }
    for _, r in ipairs(list) do
      rows[#rows + 1] = {
        r.ring and "ring" or r.kind, r.name, r.owner, format("%04o", r.mode), size(r),
        users(r), ours(r.ours), age(now - r.mtime),
      }
    end
    local widths = {}
    for _, row in ipairs(rows) do
      for i, cell in ipairs(row) do
        widths[i] = math.max(widths[i] or 0, width(cell))
      end
    end
    for _, row in ipairs(rows) do
      local cells = {}
      for i, cell in ipairs(row) do
        cells[i] = i < #row and cell .. (" "):rep(widths[i] - width(cell)) or cell
      end
      print(concat(cells, "  "))
    end
  end
  local hidden = hidden_or_msg
  if hidden > 0 then
    print(format("(%d process%s could not be looked into: users may be missing)", hidden,
      hidden == 1 and "" or "es"))
  end
end

-- rm(name | record, [opts]): ipc.rm, for the prompt.
local function rm(target, opts)
  return ipc.rm(target, opts)
end

-- ---------------------------------------------------------------- watch

-- A sampler for obj: a function returning the state now (or nil, msg,
-- code), its label, and the handle watch opened itself (to close after).
local function sampler(obj)
  local opened
  if type(obj) == "string" then
    local id = obj:match("^sysv_msg:(%d+)$")
    local h, msg, code
    if id then
      h, msg, code = ipc.msg.open({ id = tonumber(id) })
    else
      h = ipc.ring.open(obj, "r")
      if not h then h, msg, code = ipc.mq.open(obj, "r") end
    end
    if not h then
      if code == ipc.ENOENT and not id then msg = "no ring or POSIX queue has that name" end
      return nil, "watch: " .. obj .. ": " .. msg:gsub("^[^:]*: ", ""), code
    end
    obj, opened = h, h
  end
  local s = tostring(obj)
  local cls = getmetatable(obj) and rawget(getmetatable(obj), "__name")
  if cls == "ipc.ring" then
    local label = obj:name() or "ring"
    return function()
      local st, msg, code = obj:stats()
      if not st then return nil, msg, code end
      st.label, st.inflow, st.outflow = label, st.pushed, st.popped
      st.text = format("depth %d (%s of %s)", st.depth, bytes(st.used), bytes(st.capacity))
      st.tail = format("producers %d  consumers %d", st.producers, st.consumers)
      return st
    end, opened
  elseif cls == "ipc.mq" then
    local label = obj:name()
    return function()
      local a, msg, code = obj:getattr()
      if not a then return nil, msg, code end
      return { label = label, depth = a.curmsgs, text = format("depth %d of %d", a.curmsgs,
        a.maxmsg) }
    end, opened
  elseif cls == "ipc.msg" then
    local label = "sysv_msg:" .. obj:id()
    return function()
      local st, msg, code = obj:stat()
      if not st then return nil, msg, code end
      return { label = label, depth = st.count, text = format("depth %d (%s of %s)", st.count,
        bytes(st.bytes), bytes(st.max_bytes)) }
    end, opened
  end
  if opened then opened:close() end
  error(format("bad argument #1 to 'watch' (a ring, a POSIX or System V queue, or a name "
    .. "expected, got %s)", cls or type(obj) == "userdata" and s or type(obj)), 3)
end

-- One line of watch: the depth now, and the rates since the last sample
-- (messages in and out for a ring, the change of depth for a queue,
-- whose traffic the kernel does not count).
local function watch_line(prev, cur, dt)
  local parts = { cur.label, cur.text }
  if prev and dt > 0 then
    if cur.inflow then
      parts[#parts + 1] = format("in %.0f/s  out %.0f/s", (cur.inflow - prev.inflow) / dt,
        (cur.outflow - prev.outflow) / dt)
    else
      parts[#parts + 1] = format("change %+.1f/s", (cur.depth - prev.depth) / dt)
    end
  end
  if cur.tail then parts[#parts + 1] = cur.tail end
  return concat(parts, "  ")
end

-- watch(obj, [interval], [count]): the live state of a ring or a queue
-- every interval seconds, until Ctrl-C (or count lines).
local function watch(obj, interval, count)
  if interval == nil then interval = 1 end
  if type(interval) ~= "number" or interval ~= interval or interval <= 0 then
    error("bad argument #2 to 'watch' (interval must be a number of seconds > 0)", 2)
  end
  if count ~= nil and (type(count) ~= "number" or count % 1 ~= 0 or count < 1) then
    error("bad argument #3 to 'watch' (count must be an integer >= 1)", 2)
  end
  local sample, opened, code = sampler(obj)
  if not sample then return nil, opened, code end
  local tty = on_terminal()
  local show = progress(tty)
  local failure
  local ok, err = pcall(function()
    local prev, t = nil, nil
    local n = 0
    while true do
      local cur, msg, c = sample()
      if not cur then
        failure = { msg, c }
        return
      end
      local now = ipc.now()
      show(watch_line(prev, cur, t and now - t or 0))
      n = n + 1
      if count and n >= count then return end
      prev, t = cur, now
      ipc.sleep(interval)
    end
  end)
  if tty then io.write("\n") end -- the last line stays on the screen
  if opened then opened:close() end
  if not ok and not interrupted(err) then error(err, 0) end
  if failure then return nil, failure[1], failure[2] end
end

-- ---------------------------------------------------------------- bench

local MSG = ("x"):rep(64)
local BATCH = 64

-- Runs producer(stop) in this process against consumer() in a child, for
-- about `seconds`; returns the messages sent and the seconds they took,
-- the child's exit included (so every message was taken). close() ends
-- the producer's side so the child sees end of file.
local function duel(seconds, consumer, producer, close)
  local child = assert(ipc.spawn(consumer))
  local ok, n, dt = pcall(function()
    local t0 = ipc.now()
    local sent = producer(t0 + seconds)
    close()
    local how, status = child:wait()
    if how ~= "exit" or status ~= 0 then
      error(format("bench: the consumer ended with %s %s", how, tostring(status)), 0)
    end
    return sent, ipc.now() - t0
  end)
  if not ok then
    close()
    if child:status() == "running" then child:kill("KILL") end
    child:wait()
    child:close()
    error(n, 0)
  end
  child:close()
  return n, dt
end

local function bench_pipe(seconds)
  local r, w = assert(ipc.pipe())
  return duel(seconds, function()
    w:close()
    while r:read(64) do end
    return 0
  end, function(stop)
    r:close()
    local n = 0
    repeat
      for _ = 1, 256 do w:write(MSG) end
      n = n + 256
    until ipc.now() >= stop
    return n
  end, function()
    if not tostring(w):find("closed", 1, true) then w:close() end
    if not tostring(r):find("closed", 1, true) then r:close() end
  end)
end

local function bench_ring(seconds, batched)
  local q = assert(ipc.ring.anon({ capacity = 65536 }))
  local list = {}
  for i = 1, BATCH do list[i] = MSG end
  return duel(seconds, function()
    if batched then
      while q:pop_many(BATCH) do end
    else
      while q:pop() do end
    end
    return 0
  end, function(stop)
    local n = 0
    repeat
      if batched then
        for _ = 1, 16 do n = n + assert(q:push_many(list)) end
      else
        for _ = 1, 256 do assert(q:push(MSG)) end
        n = n + 256
      end
    until ipc.now() >= stop
    return n
  end, function()
    if not tostring(q):find("closed", 1, true) then q:close() end
  end)
end

-- bench([seconds]): a ring against a pipe, 64-byte messages from this
-- process to a child, `seconds` (0.5) per mechanism.
local function bench(seconds)
  if seconds == nil then seconds = 0.5 end
  if type(seconds) ~= "number" or seconds ~= seconds or seconds <= 0 or seconds > 60 then
    error("bad argument #1 to 'bench' (seconds must be a number in (0, 60])", 2)
  end
  local runs = {
    { "pipe", "write / read", function() return bench_pipe(seconds) end },
    { "ring", "push / pop", function() return bench_ring(seconds, false) end },
    { "ring", format("push_many / pop_many (%d)", BATCH),
      function() return bench_ring(seconds, true) end },
  }
  local show, clear = progress(on_terminal())
  local results = {}
  local ok, err = pcall(function()
    for i, run in ipairs(runs) do
      show(format("bench %d/%d: %s %s ...", i, #runs, run[1], run[2]))
      local n, dt = run[3]()
      results[i] = { n = n, dt = dt, rate = n / dt }
    end
  end)
  clear()
  if not ok then
    if interrupted(err) then return end
    error(err, 0)
  end
  print(format("64-byte messages from this process to a child, %.2f s each:", seconds))
  local base = results[1].rate
  for i, run in ipairs(runs) do
    local r = results[i]
    print(format("  %-4s  %-28s %7.2f M msg/s  %7.1f MB/s  %6.1fx", run[1], run[2],
      r.rate / 1e6, r.rate * 64 / 1e6, r.rate / base))
  end
end

return { ls = ls, rm = rm, watch = watch, bench = bench }
