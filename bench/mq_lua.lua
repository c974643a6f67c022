-- bench/mq_lua.lua: the per-call cost of ipc.mq and ipc.msg from Lua (any of
-- 5.1-5.4 or LuaJIT): a send then a receive of a 64-byte message in one
-- process, which never waits, against bench/mq's C figures for the same
-- loop (read from build/bench/latest.jsonl): the difference per call is what
-- the binding adds. -o FILE appends JSON lines.

local usage = [[
usage: lua bench/mq_lua.lua [-r repeats] [-q] [-o file.jsonl] [-c file.jsonl]
  -r N   measured runs per figure (default 5)
  -q     quick: few messages, for smoke tests
  -o F   append one JSON object per figure to F
  -c F   where bench/mq wrote the C figures (default build/bench/latest.jsonl)]]

local repeats, quick, json_path, c_path = 5, false, nil, "build/bench/latest.jsonl"
do
  local i = 1
  while i <= #arg do
    local a, v = arg[i], arg[i + 1]
    if a == "-q" then
      quick = true
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
      i = i + 1
    else
      io.stderr:write(usage, "\n")
      os.exit(2)
    end
    i = i + 1
  end
end

local lua_name = rawget(_G, "jit") and "LuaJIT" or _VERSION
local build_lua = rawget(_G, "jit") and "luajit" or _VERSION:match("%d+%.%d+")

-- Found on LUA_CPATH, or else in this checkout's release build.
local ok, ipc = pcall(require, "ipc")
if not ok then
  package.cpath = "build/" .. build_lua .. "/release/lua/?.so;" .. package.cpath
  ipc = require "ipc"
end

local SIZE = 64
local PAIRS = quick and 10000 or 300000
local msg = ("m"):rep(SIZE)

-- Nothing waits, so the process's CPU time (os.clock, no clock module
-- needed) is the calls' cost, as bench/mq's send+recv rows measure it:
-- time spent preempted by other processes is not counted.
local function rate(loop, q)
  collectgarbage()
  local t0 = os.clock()
  loop(q, PAIRS)
  return PAIRS / (os.clock() - t0)
end

local kinds = {
  {
    mech = "posix",
    open = function()
      local name = "/libipc-bench-mq-lua-" .. ipc.getpid()
      local q = assert(ipc.mq.create(name, { maxmsg = 10, msgsize = SIZE }))
      ipc.mq.unlink(name) -- nothing left behind, whatever happens
      return q
    end,
    loop = function(q, n)
      for _ = 1, n do
        local sent, err = q:send(msg)
        if not sent then error(err, 0) end
        local got, rerr = q:receive()
        if got ~= msg then error(rerr or "wrong message", 0) end
      end
    end,
    close = function(q) q:close() end,
  },
  {
    mech = "sysv",
    open = function() return assert(ipc.msg.create()) end,
    loop = function(q, n)
      for _ = 1, n do
        local sent, err = q:send(1, msg)
        if not sent then error(err, 0) end
        local got, rerr = q:receive()
        if got ~= msg then error(rerr or "wrong message", 0) end
      end
    end,
    close = function(q)
      q:remove()
      q:close()
    end,
  },
}

-- The last C figure (pairs/s) of bench/mq for mech and impl, "send+recv".
local function c_figure(mech, impl)
  local f = io.open(c_path)
  if not f then return nil end
  local value
  for line in f:lines() do
    if line:find('"bench":"mq"', 1, true) and line:find('"test":"send+recv"', 1, true)
      and line:find('"mech":"' .. mech .. '"', 1, true)
      and line:find('"impl":"' .. impl .. '"', 1, true) then
      value = tonumber(line:match('"ops_per_s":([%d%.eE+-]+)')) or value
    end
  end
  f:close()
  return value
end

local function median(v)
  table.sort(v)
  local n = #v
  if n % 2 == 1 then return v[(n + 1) / 2] end
  return (v[n / 2] + v[n / 2 + 1]) / 2
end

local json = json_path and assert(io.open(json_path, "a"))

print(("mq_lua (%s): a %d-byte send then receive in one process, %d pairs, median of %d"
  .. " run%s%s"):format(lua_name, SIZE, PAIRS, repeats, repeats == 1 and "" or "s",
  quick and " (quick)" or ""))
print(("%6s %12s %10s %8s %12s %14s"):format("mech", "pairs/s", "ns/call", "spread",
  "C ns/call", "Lua adds ns"))
for _, kind in ipairs(kinds) do
  local q = kind.open()
  local okr, err = pcall(function()
    kind.loop(q, math.floor(PAIRS / 10) + 1) -- warm up
    local all = {}
    for r = 1, repeats do all[r] = rate(kind.loop, q) end
    local med = median(all)
    local spread = (all[#all] - all[1]) / med
    local ns = 1e9 / med / 2 -- two calls per pair
    local c = c_figure(kind.mech, "libipc")
    local c_ns = c and 1e9 / c / 2
    print(("%6s %12.0f %10.0f %7.1f%% %12s %14s"):format(kind.mech, med, ns, 100 * spread,
      c_ns and ("%.0f"):format(c_ns) or "-", c_ns and ("%.0f"):format(ns - c_ns) or "-"))
    if json then
      json:write(('{"bench":"mq_lua","lua":"%s","mech":"%s","test":"send+recv","size":%d,'
        .. '"pairs":%d,"repeats":%d,"quick":%s,"pairs_per_s":%.1f,"ns_per_call":%.1f,'
        .. '"spread":%.4f,"c_ns_per_call":%s,"lua_adds_ns":%s}\n'):format(lua_name, kind.mech,
        SIZE, PAIRS, repeats, tostring(quick), med, ns, spread,
        c_ns and ("%.1f"):format(c_ns) or "null",
        c_ns and ("%.1f"):format(ns - c_ns) or "null"))
    end
  end)
  kind.close(q)
  if not okr then
    io.stderr:write("bench/mq_lua: ", kind.mech, ": ", tostring(err), "\n")
    os.exit(1)
  end
end
if not c_figure("posix", "libipc") then
  print("(no C figures in " .. c_path .. ": run build/5.4/release/bench/mq -o " .. c_path
    .. " first)")
end
if json then json:close() end
