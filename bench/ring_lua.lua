-- bench/ring_lua.lua: the ring from Lua (5.4 or LuaJIT): 64-byte messages
-- through q:push/q:pop and q:push_many/q:pop_many, against a pipe through
-- the same module and luaposix's pipe, to a forked consumer on another CPU.
-- Prints medians and their ratio to the C figure "ring single 64B", which
-- it measures itself, taking turns with its own runs (bench/ring -k single,
-- once per repeat); -o FILE appends JSON lines.

local usage = [[
usage: lua bench/ring_lua.lua [-r repeats] [-q] [-o file.jsonl] [-b prog] [-c file.jsonl]
  -r N   measured runs per figure (default 5)
  -q     quick: few messages, for smoke tests
  -o F   append one JSON object per figure to F
  -b P   the C benchmark that measures the C figure in this run, one run
         per repeat (default build/5.4/release/bench/ring)
  -c F   without the C benchmark: the last C figure bench/ring wrote to F
         (default build/bench/latest.jsonl)]]

local repeats, quick, json_path = 5, false, nil
local c_path, c_prog = "build/bench/latest.jsonl", "build/5.4/release/bench/ring"
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "-q" then
      quick = true
    elseif a == "-r" or a == "-o" or a == "-c" or a == "-b" then
      local v = arg[i + 1]
      if not v then io.stderr:write(usage, "\n") os.exit(2) end
      if a == "-r" then
        repeats = tonumber(v)
        if not repeats or repeats < 1 or repeats % 1 ~= 0 then
          io.stderr:write(usage, "\n") os.exit(2)
        end
      elseif a == "-o" then
        json_path = v
      elseif a == "-b" then
        c_prog = v
      else
        c_path = v
      end
      i = i + 1
    else
      io.stderr:write(usage, "\n")
      os.exit(2)
    end
    i = i + 1
  end
end

-- The interpreter: "Lua 5.4" or "LuaJIT", and its build directory.
local lua_name = rawget(_G, "jit") and "LuaJIT" or _VERSION
local build_lua = rawget(_G, "jit") and "luajit" or _VERSION:match("%d+%.%d+")

-- Found on LUA_CPATH, or else in this checkout's release build.
local ok, ipc = pcall(require, "ipc")
if not ok then
  package.cpath = "build/" .. build_lua .. "/release/lua/?.so;" .. package.cpath
  ipc = require "ipc"
end

-- A wall clock: lua-system (a busted dependency), else luaposix.
local now
do
  local has_system, system = pcall(require, "system")
  local has_ptime, ptime = pcall(require, "posix.time")
  if has_system and system.monotime then
    now = system.monotime
  elseif has_ptime and ptime.clock_gettime then
    now = function()
      local ts = ptime.clock_gettime(ptime.CLOCK_MONOTONIC)
      return ts.tv_sec + ts.tv_nsec / 1e9
    end
  else
    io.stderr:write("bench/ring_lua: needs lua-system or luaposix for a clock\n")
    os.exit(1)
  end
end

local has_posix, unistd = pcall(require, "posix.unistd")

local SIZE, BATCH, CAPACITY, RUN_S = 64, 32, 65536, 0.2
-- A run during which other tasks waited for a CPU more than this share of
-- its time is taken again, up to TRIES times; the least contended counts.
local CONTENDED, TRIES = 0.05, 3

------------------------------------------------------------------ pinning

-- taskset moves a running process: the producer (this one) to the first
-- CPU we may use, each consumer to the second. Nothing pins with one CPU
-- or without taskset.
local function allowed_cpus()
  local f = io.popen("taskset -pc " .. ipc.getpid() .. " 2>/dev/null")
  local out = f and f:read("*a") or ""
  if f then f:close() end
  local list = out:match("list:%s*(%S+)")
  local cpus = {}
  for part in (list or ""):gmatch("[^,]+") do
    local a, b = part:match("^(%d+)-(%d+)$")
    a, b = tonumber(a or part), tonumber(b or part)
    for c = a or 0, (a and b) or -1 do cpus[#cpus + 1] = c end
  end
  return cpus
end

local cpus = allowed_cpus()
local cpu_producer, cpu_consumer = cpus[1], cpus[2]

local function pin(cpu)
  if cpu_consumer then
    os.execute(("taskset -pc %d %d >/dev/null 2>&1"):format(cpu, ipc.getpid()))
  end
end

---------------------------------------------------------------- messages

-- 256 distinct 64-byte messages, stamped with their number; message i is
-- pool[i % 256 + 1], so the consumer can check the order without building
-- a string per message on either side.
local POOL = 256
local pool = {}
for i = 0, POOL - 1 do
  pool[i + 1] = ("%08d"):format(i) .. ("m"):rep(SIZE - 8)
end

-- Batches of BATCH consecutive messages, by the number of the first mod POOL.
local batches = {}
for first = 0, POOL - 1, BATCH do
  local b = {}
  for k = 0, BATCH - 1 do b[k + 1] = pool[(first + k) % POOL + 1] end
  batches[first] = b
end

---------------------------------------------------------------- the kinds

-- Each kind: open() makes its channel before the fork; produce(ch, n) and
-- consume(ch, n) (in the child; returns how many messages were wrong) move
-- n messages; warm(ch) and ready(ch) let both sides attach off the clock;
-- close(ch).
local kinds = {}

kinds[#kinds + 1] = {
  name = "ring single",
  open = function() return { q = assert(ipc.ring.anon({ capacity = CAPACITY })) } end,
  warm = function(ch) assert(ch.q:push(pool[1])) end,
  ready = function(ch) assert(ch.q:pop()) end,
  produce = function(ch, n)
    local q = ch.q
    for i = 0, n - 1 do
      local okp, msg = q:push(pool[i % POOL + 1])
      if not okp then error(msg, 0) end
    end
  end,
  consume = function(ch, n)
    local q, bad = ch.q, 0
    for i = 0, n - 1 do
      local m, msg = q:pop()
      if not m then error(msg, 0) end
      if m ~= pool[i % POOL + 1] then bad = bad + 1 end
    end
    return bad
  end,
  close = function(ch) ch.q:close() end,
}

kinds[#kinds + 1] = {
  name = "ring batched",
  label = ("ring batched (%d)"):format(BATCH),
  open = kinds[1].open,
  warm = kinds[1].warm,
  ready = kinds[1].ready,
  produce = function(ch, n)
    local q = ch.q
    local i = 0
    while i < n do
      local list = batches[i % POOL]
      if n - i < BATCH then -- the tail: a short list, made once
        list = {}
        for k = 0, n - i - 1 do list[k + 1] = pool[(i + k) % POOL + 1] end
      end
      local done, msg = q:push_many(list)
      if not done then error(msg, 0) end
      while done < #list do -- the ring was full: push the rest
        local rest = {}
        for k = done + 1, #list do rest[#rest + 1] = list[k] end
        local more
        more, msg = q:push_many(rest)
        if not more then error(msg, 0) end
        done = done + more
      end
      i = i + #list
    end
  end,
  consume = function(ch, n)
    local q, bad, i = ch.q, 0, 0
    while i < n do
      local list, msg = q:pop_many(BATCH)
      if not list then error(msg, 0) end
      for k = 1, #list do
        if list[k] ~= pool[i % POOL + 1] then bad = bad + 1 end
        i = i + 1
      end
    end
    return bad
  end,
  close = kinds[1].close,
}

kinds[#kinds + 1] = {
  name = "ipc pipe",
  open = function()
    local r, w = assert(ipc.pipe())
    return { r = r, w = w }
  end,
  produce = function(ch, n)
    local w = ch.w
    for i = 0, n - 1 do
      local okw, msg = w:write(pool[i % POOL + 1])
      if not okw then error(msg, 0) end
    end
  end,
  consume = function(ch, n)
    local r, bad = ch.r, 0
    for i = 0, n - 1 do
      local m, msg = r:read(SIZE)
      if not m then error(msg or "read: end of file", 0) end
      if m ~= pool[i % POOL + 1] then bad = bad + 1 end
    end
    return bad
  end,
  close = function(ch)
    ch.r:close()
    ch.w:close()
  end,
}

if has_posix then
  kinds[#kinds + 1] = {
    name = "luaposix pipe",
    open = function()
      local r, w = unistd.pipe()
      assert(r, w)
      return { r = r, w = w }
    end,
    produce = function(ch, n)
      local write, w = unistd.write, ch.w
      for i = 0, n - 1 do
        local m = pool[i % POOL + 1]
        local wrote, msg = write(w, m)
        if wrote ~= SIZE then error(msg or "short write", 0) end
      end
    end,
    consume = function(ch, n)
      local read, r, bad = unistd.read, ch.r, 0
      for i = 0, n - 1 do
        local m, msg = read(r, SIZE)
        if not m or m == "" then error(msg or "read: end of file", 0) end
        while #m < SIZE do -- pipes may return less than asked
          local more = read(r, SIZE - #m)
          if not more or more == "" then error("read: end of file", 0) end
          m = m .. more
        end
        if m ~= pool[i % POOL + 1] then bad = bad + 1 end
      end
      return bad
    end,
    close = function(ch)
      unistd.close(ch.r)
      unistd.close(ch.w)
    end,
  }
end

-- The batched kind again, but the consumer compares only the last message
-- of each list with the one expected (which still catches a message lost
-- or repeated before it): comparing two 64-byte strings costs Lua 5.4 about
-- 20 ns, a third of what the C figure spends on a whole message, so this
-- row shows what the ring moves when the consumer does not look at every
-- message. The targets use the checked rows.
kinds[#kinds + 1] = {
  name = "ring batched light check",
  label = ("ring batched (%d), 1 check"):format(BATCH),
  open = kinds[1].open,
  warm = kinds[1].warm,
  ready = kinds[1].ready,
  produce = kinds[2].produce,
  consume = function(ch, n)
    local q, bad, i = ch.q, 0, 0
    while i < n do
      local list, msg = q:pop_many(BATCH)
      if not list then error(msg, 0) end
      i = i + #list
      if list[#list] ~= pool[(i - 1) % POOL + 1] then bad = bad + 1 end
    end
    return bad
  end,
  close = kinds[1].close,
}

---------------------------------------------------------------- transfers

-- Microseconds during which some task waited for a CPU (the "some" line of
-- /proc/pressure/cpu), or nil without PSI. See bench/ring.c: contention.
local function psi_some_us()
  local f = io.open("/proc/pressure/cpu")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("total=(%d+)"))
end

-- One measured transfer of n messages: msgs/s from the first message sent
-- to the consumer's word that it took the last. The channel, the fork and
-- the pinning are off the clock. Returns the rate and the run's contention
-- (a share of its time, nil without PSI), or nil and why.
local function transfer(kind, n)
  local ch = kind.open()
  local ack_r, ack_w = assert(ipc.pipe())
  if kind.warm then kind.warm(ch) end
  local child = assert(ipc.spawn(function()
    pin(cpu_consumer)
    if kind.ready then kind.ready(ch) end
    ack_w:write("r")
    local bad = kind.consume(ch, n)
    ack_w:write(bad == 0 and "d" or "b")
    return 0
  end))
  ack_w:close()
  local why
  if ack_r:read(1) ~= "r" then why = "consumer did not start" end
  local psi = psi_some_us()
  local t0 = now()
  local okp, err = true, nil
  if not why then okp, err = pcall(kind.produce, ch, n) end
  local word = okp and not why and ack_r:read(1)
  local dt = now() - t0
  local psi_end = psi_some_us()
  local contention = psi and psi_end and (psi_end - psi) / (dt * 1e6)
  if not okp then
    why = "producer: " .. tostring(err)
    child:kill("KILL")
  elseif not why and word ~= "d" then
    why = word == "b" and "wrong messages received" or "consumer died"
  end
  local how, code = child:wait()
  if not why and (how ~= "exit" or code ~= 0) then
    why = ("consumer %s %s"):format(how, tostring(code))
  end
  child:close()
  ack_r:close()
  kind.close(ch)
  if why then return nil, why end
  return n / dt, contention
end

-- Messages for a run of about RUN_S seconds at rate: two significant digits.
local function run_count(rate, warm)
  local n, unit = rate * RUN_S, 1
  while n >= 100 * unit do unit = unit * 10 end
  n = math.floor(n / unit) * unit
  return math.max(n, warm)
end

local function median(v)
  table.sort(v)
  local n = #v
  if n % 2 == 1 then return v[(n + 1) / 2] end
  return (v[n / 2] + v[n / 2 + 1]) / 2
end

-------------------------------------------------------------- the C figure

-- The last "ring single 64B" figure bench/ring appended to the file path.
local function c_figure(path)
  local f = io.open(path)
  if not f then return nil end
  local value
  for line in f:lines() do
    if line:find('"bench":"ring"', 1, true) and line:find('"name":"ring single 64B"', 1, true) then
      value = tonumber(line:match('"value":([%d%.eE+-]+)')) or value
    end
  end
  f:close()
  return value
end

-- The C figure measured now: one run of bench/ring's "ring single" row, on
-- the CPUs this script may use (it pins itself, so the program would
-- otherwise inherit one CPU). nil when the program cannot run.
local c_runnable = c_prog ~= "" and io.open(c_prog) ~= nil
local function c_measure()
  if not c_runnable then return nil end
  local tmp = os.tmpname()
  local cmd = ("%s%s -k single -s 64 -r 1%s -o %s >/dev/null 2>&1"):format(
    #cpus > 0 and ("taskset -c %s "):format(table.concat(cpus, ",")) or "",
    c_prog, quick and " -q" or "", tmp)
  os.execute(cmd)
  local v = c_figure(tmp)
  os.remove(tmp)
  return v
end

--------------------------------------------------------------------- main

local json
if json_path then json = assert(io.open(json_path, "a")) end

pin(cpu_producer)
if cpu_consumer then
  print(("ring_lua (%s): producer on CPU %d, consumer on CPU %d; median of %d run%s%s")
    :format(lua_name, cpu_producer, cpu_consumer, repeats, repeats == 1 and "" or "s",
      quick and " (quick)" or ""))
else
  print(("ring_lua (%s): not pinned; median of %d run%s%s"):format(lua_name, repeats,
    repeats == 1 and "" or "s", quick and " (quick)" or ""))
end

local count, why, all, busy, c_runs = {}, {}, {}, {}, {}
for k, kind in ipairs(kinds) do
  local warm = kind.name:find("^ring") and 20000 or 2000
  local rate, err = transfer(kind, warm)
  count[k], why[k], all[k], busy[k] = warm, not rate and err or nil, {}, 0
  if rate and not quick then count[k] = run_count(rate, warm) end
end
for r = 1, repeats do
  -- The C figure takes its turn with the Lua ones, first or last.
  if r % 2 == 1 then c_runs[#c_runs + 1] = c_measure() end
  for j = 0, #kinds - 1 do
    local k = (r + j - 1) % #kinds + 1
    local least = math.huge
    for _ = 1, TRIES do
      if why[k] then break end
      collectgarbage()
      local rate, c = transfer(kinds[k], count[k])
      if not rate then
        why[k] = c
        break
      end
      if not c then busy[k] = nil end
      c = c or 0
      if c < least then all[k][r], least = rate, c end
      if c < CONTENDED then break end
    end
    if busy[k] then busy[k] = busy[k] + least / repeats end
  end
  if r % 2 == 0 then c_runs[#c_runs + 1] = c_measure() end
end

-- The C figure: the median of this run's, or the file's.
local c_single, c_from
if #c_runs > 0 then
  c_single = median(c_runs)
  c_from = ("measured in this run, median of %d"):format(#c_runs)
else
  c_single = c_figure(c_path)
  c_from = "from " .. c_path
end
local med = {}
print(("%d-byte messages %16s %12s %9s %7s %6s %8s %9s"):format(SIZE, "msgs", "msgs/s",
  "MB/s", "spread", "busy", "/C ring", "/ipc pipe"))
for k in ipairs(kinds) do
  if not why[k] then med[k] = median(all[k]) end
end
local pipe_med = med[3]
for k, kind in ipairs(kinds) do
  local label = kind.label or kind.name
  local name = ("%s %s 64B"):format(lua_name, kind.name)
  if why[k] then
    print(("  %-28s %10d   FAILED: %s"):format(label, count[k], why[k]))
    if json then
      json:write(('{"bench":"ring_lua","lua":"%s","name":"%s","impl":"%s","size":%d,'
        .. '"failed":"%s","quick":%s}\n'):format(lua_name, name, kind.name, SIZE,
        why[k]:gsub('["\\]', "'"), tostring(quick)))
    end
  else
    local v = all[k] -- sorted by median()
    local spread = (v[#v] - v[1]) / med[k]
    local vs_c = c_single and med[k] / c_single
    local vs_pipe = pipe_med and med[k] / pipe_med
    print(("  %-28s %10d %12.0f %9.1f %6.1f%% %6s %8s %9s"):format(label, count[k], med[k],
      med[k] * SIZE / 1e6, 100 * spread, busy[k] and ("%.1f%%"):format(100 * busy[k]) or "-",
      vs_c and ("%.3f"):format(vs_c) or "-", vs_pipe and ("%.3f"):format(vs_pipe) or "-"))
    if json then
      local runs = {}
      for r = 1, #v do runs[r] = ("%.1f"):format(v[r]) end
      json:write(('{"bench":"ring_lua","lua":"%s","name":"%s","impl":"%s","size":%d,'
        .. '"unit":"msgs/s","value":%.1f,"spread":%.4f,"count":%d,"repeats":%d,'
        .. '"quick":%s,"busy":%s,"vs_c_ring_single":%s,"vs_ipc_pipe":%s,"runs":[%s]}\n')
        :format(lua_name, name, kind.name, SIZE, med[k], spread, count[k], repeats,
        tostring(quick), busy[k] and ("%.4f"):format(busy[k]) or "null",
        vs_c and ("%.4f"):format(vs_c) or "null",
        vs_pipe and ("%.4f"):format(vs_pipe) or "null", table.concat(runs, ",")))
    end
  end
end

if json and c_single then
  local runs = {}
  for i = 1, #c_runs do runs[i] = ("%.1f"):format(c_runs[i]) end
  json:write(('{"bench":"ring_lua","lua":"%s","name":"C ring single 64B","impl":"C ring single",'
    .. '"size":%d,"unit":"msgs/s","value":%.1f,"source":"%s","quick":%s,"runs":[%s]}\n')
    :format(lua_name, SIZE, c_single, c_from, tostring(quick), table.concat(runs, ",")))
end

-- The targets, as ratios to the C single push/pop of the same machine.
local targets = {}
if lua_name == "LuaJIT" then
  targets[1] = { "LuaJIT ring single >= 0.75x C ring single", 1, 0.75 }
else
  targets[1] = { lua_name .. " ring single >= 0.6x C ring single", 1, 0.6 }
  targets[2] = { lua_name .. " ring batched >= 1.0x C ring single", 2, 1.0 }
end
print(("targets (against C \"ring single 64B\" %s)"):format(c_single
  and ("%.0f msgs/s %s"):format(c_single, c_from) or "not found in " .. c_path))
for _, t in ipairs(targets) do
  local what, k, goal = t[1], t[2], t[3]
  local ratio = c_single and med[k] and med[k] / c_single
  if ratio then
    print(("  %-44s %8.2fx  %s"):format(what, ratio, ratio >= goal and "PASS" or "MISS"))
  else
    print(("  %-44s %9s  MISS"):format(what, med[k] and "no C figure" or "failed"))
  end
  if json then
    json:write(('{"bench":"ring_lua","lua":"%s","target":"%s","ratio":%s,"goal":%.4f,'
      .. '"cmp":">=","pass":%s,"quick":%s}\n'):format(lua_name, what,
      ratio and ("%.4f"):format(ratio) or "null", goal, tostring(ratio ~= nil and ratio >= goal),
      tostring(quick)))
  end
end
if json then json:close() end

for k in ipairs(kinds) do
  if why[k] then os.exit(1) end
end
