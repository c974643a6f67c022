-- bench/sock_lua.lua: ipc.sock from Lua: 64-byte round trips over a Unix
-- stream socketpair between this process and a forked Lua child, and
-- one-way 64-byte messages. Prints medians, and the per-call overhead of
-- the Lua binding against bench/sock's C figures for the same transfers
-- (read from build/bench/latest.jsonl, which `make bench` writes).
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 bench/sock_lua.lua [-q]

local usage = [[
usage: lua bench/sock_lua.lua [-r repeats] [-q] [-o file.jsonl] [-c file.jsonl]
  -r N   measured runs per figure (default 5)
  -q     quick: few messages, for smoke tests
  -o F   append one JSON object per figure to F
  -c F   where bench/sock wrote the C figures (default build/bench/latest.jsonl)]]

local repeats, quick, json_path, c_path = 5, false, nil, "build/bench/latest.jsonl"
do
  local i = 1
  while i <= #arg do
    local a, v = arg[i], arg[i + 1]
    if a == "-q" then
      quick = true
      i = i + 1
    elseif (a == "-r" or a == "-o" or a == "-c") and v then
      if a == "-r" then
        repeats = tonumber(v)
        if not repeats or repeats < 1 or repeats % 1 ~= 0 then
          io.stderr:write(usage, "\n")
          os.exit(2)
        end
      elseif a == "-o" then
        json_path = v
      else
        c_path = v
      end
      i = i + 2
    else
      io.stderr:write(usage, "\n")
      os.exit(2)
    end
  end
end

local lua_name = rawget(_G, "jit") and "LuaJIT" or _VERSION
local build_lua = rawget(_G, "jit") and "luajit" or _VERSION:match("%d+%.%d+")

-- Found on LUA_CPATH, or else in this checkout's release build.
local found, ipc = pcall(require, "ipc")
if not found then
  package.cpath = "build/" .. build_lua .. "/release/lua/?.so;" .. package.cpath
  ipc = require "ipc"
end

-- A monotonic clock: lua-system (a busted dependency), else luaposix.
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
    io.stderr:write("bench/sock_lua: needs lua-system or luaposix for a clock\n")
    os.exit(1)
  end
end

local SIZE = 64
local MSG = ("m"):rep(SIZE)

-- The transfers, with the C figure of bench/sock they compare with and the
-- Lua calls each message costs on its critical path.
local loads = {
  { kind = "rtt", msgs = 100000, quick = 3000, calls = 4 }, -- send, recv on both sides
  { kind = "stream", msgs = 500000, quick = 20000, calls = 1 }, -- the slower side's one call
}

-- The child's side: echoes n messages (rtt) or takes n * SIZE bytes.
local function child(s, kind, n)
  assert(s:send("r"))
  if kind == "rtt" then
    for _ = 1, n do
      local m = assert(s:recv(SIZE))
      assert(s:send(m))
    end
  else
    local left = n * SIZE
    while left > 0 do
      left = left - #assert(s:recv(SIZE))
    end
    assert(s:send("d"))
  end
end

-- One measured transfer: messages (or round trips) per second.
local function transfer(kind, n)
  local a, b = assert(ipc.sock.pair("stream"))
  local p = assert(ipc.spawn(function()
    a:close()
    child(b, kind, n)
  end))
  b:close()
  assert(a:recv(1) == "r")
  local t0 = now()
  if kind == "rtt" then
    for _ = 1, n do
      assert(a:send(MSG))
      local got = assert(a:recv(SIZE))
      while #got < SIZE do got = got .. assert(a:recv(SIZE - #got)) end
    end
  else
    for _ = 1, n do assert(a:send(MSG)) end
    assert(a:recv(1) == "d")
  end
  local dt = now() - t0
  local how, code = p:wait()
  assert(how == "exit" and code == 0, "the child failed")
  p:close()
  a:close()
  return n / dt
end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) / 2] or (v[n / 2] + v[n / 2 + 1]) / 2
end

-- bench/sock's medians, msgs/s by kind and impl, when it ran before.
local cfig = {}
do
  local f = io.open(c_path)
  if f then
    for line in f:lines() do
      if line:find('"bench":"sock"', 1, true) and line:find('"size":64,', 1, true) then
        local kind, impl = line:match('"kind":"(%a+)"'), line:match('"impl":"(%a+)"')
        local rate = tonumber(line:match('"msgs_per_s":([%d.]+)'))
        if kind and impl and rate then cfig[kind .. " " .. impl] = rate end
      end
    end
    f:close()
  end
end

local json = json_path and assert(io.open(json_path, "a"))

print(("sock_lua: %s, Unix stream socketpair, %d-byte messages, median of %d run%s%s")
  :format(lua_name, SIZE, repeats, repeats == 1 and "" or "s", quick and " (quick)" or ""))
print(("%6s %8s %12s %10s %10s %10s %14s"):format("kind", "msgs", "msgs/s", "us/msg",
  "C us/msg", "lua/C", "us/Lua call"))
for _, l in ipairs(loads) do
  local n = quick and l.quick or l.msgs
  transfer(l.kind, math.floor(n / 10) + 1) -- warm up
  local runs = {}
  for r = 1, repeats do runs[r] = transfer(l.kind, n) end
  local rate = median(runs)
  local c = cfig[l.kind .. " libipc"]
  local us, cus = 1e6 / rate, c and 1e6 / c
  local per_call = cus and (us - cus) / l.calls
  print(("%6s %8d %12.0f %10.2f %10s %10s %14s"):format(l.kind, n, rate, us,
    cus and ("%.2f"):format(cus) or "-", c and ("%.3f"):format(rate / c) or "-",
    per_call and ("%.3f"):format(per_call) or "-"))
  if json then
    json:write(('{"bench":"sock_lua","lua":"%s","kind":"%s","size":%d,"msgs":%d,'
      .. '"repeats":%d,"quick":%s,"msgs_per_s":%.1f,"us_per_msg":%.3f,'
      .. '"us_per_lua_call":%s}\n'):format(lua_name, l.kind, SIZE, n, repeats,
      tostring(quick), rate, us, per_call and ("%.4f"):format(per_call) or "null"))
  end
end
if json then json:close() end
if not next(cfig) then
  print("(no C figures in " .. c_path .. ": run build/5.4/release/bench/sock -o "
    .. c_path .. " first to get the per-call overhead)")
end
