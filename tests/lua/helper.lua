-- helper.lua: what the ipc specs share: the module, a register of handles
-- that after_each closes and reaps (so a failing test leaves nothing
-- behind), and probes of this process's children and descriptors in /proc.

local ipc = require "ipc"

local M = { ipc = ipc }

local live = {}

-- Registers handles (pipes, processes) for cleanup; returns them unchanged.
function M.track(...)
  for i = 1, select("#", ...) do
    local h = select(i, ...)
    if h ~= nil and h ~= 0 then live[#live + 1] = h end
  end
  return ...
end

-- Handles of any class, POSIX queue names and FIFO paths a test made.
local kept, queues, fifos = {}, {}, {}

-- Registers a handle of any class for cleanup (asserting it, with the
-- failure's message, like assert); returns it.
function M.keep(h, ...)
  assert(h, ...)
  kept[#kept + 1] = h
  return h
end

-- A POSIX queue name "/libipc-<area>-<pid>-<tag>" that cleanup unlinks;
-- one an earlier run left is unlinked first.
function M.mq_name(area, tag)
  local name = ("/libipc-%s-%d-%s"):format(area, ipc.getpid(), tag)
  ipc.mq.unlink(name)
  queues[#queues + 1] = name
  return name
end

-- A FIFO path "/tmp/libipc-<area>-<pid>-<tag>" that cleanup removes; one an
-- earlier run left is removed first.
function M.fifo_path(area, tag)
  local path = ("/tmp/libipc-%s-%d-%s"):format(area, ipc.getpid(), tag)
  os.remove(path)
  fifos[#fifos + 1] = path
  return path
end

local function is_open(h, class)
  local s = tostring(h)
  return s:sub(1, #class) == class and not s:find("closed", 1, true)
end

-- Closes every kept handle (removing a System V queue first), unlinks the
-- queues and FIFOs named above; closes every registered pipe; kills
-- (SIGKILL), reaps and closes every registered process, with its stdio
-- pipes. For after_each.
function M.cleanup()
  for i = #kept, 1, -1 do
    local h = kept[i]
    if not tostring(h):find("closed", 1, true) then
      if tostring(h):find("^ipc%.msg") then h:remove() end
      h:close()
    end
    kept[i] = nil
  end
  for i = #queues, 1, -1 do
    ipc.mq.unlink(queues[i])
    queues[i] = nil
  end
  for i = #fifos, 1, -1 do
    os.remove(fifos[i])
    fifos[i] = nil
  end
  for i = #live, 1, -1 do
    local h = live[i]
    live[i] = nil
    if is_open(h, "ipc.proc") then
      for _, name in ipairs { "stdin", "stdout", "stderr" } do
        local p = h[name]
        if p and is_open(p, "ipc.pipe") then p:close() end
      end
      if h:status() == "running" then h:kill("KILL") end
      h:wait()
      h:close()
    elseif is_open(h, "ipc.pipe") then
      h:close()
    end
  end
end

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
M.read_file = read_file

-- The pids of this process's children (zombies included), as a sorted
-- string, for before/after comparisons.
function M.children()
  local pid = ipc.getpid()
  local s = read_file("/proc/" .. pid .. "/task/" .. pid .. "/children") or ""
  local list = {}
  for p in s:gmatch("%d+") do list[#list + 1] = tonumber(p) end
  table.sort(list)
  return table.concat(list, " ")
end

-- The state letter of process pid ("R", "S", "Z", ...), nil if it is gone.
function M.state(pid)
  local s = read_file("/proc/" .. pid .. "/stat")
  return s and s:match("^%d+ %b() (%a)")
end

-- Whether process pid exists and is not a zombie.
function M.alive(pid)
  local state = M.state(pid)
  return state ~= nil and state ~= "Z"
end

-- Whether descriptor fd of this process is open.
function M.fd_open(fd)
  local f = io.open("/proc/" .. ipc.getpid() .. "/fdinfo/" .. fd)
  if f then f:close() end
  return f ~= nil
end

-- The number of descriptors below 1024 this process has open. It probes
-- each one: listing them with a child (ls) would race with the parent
-- closing its copy of the child's pipe end. A probe's own descriptor is not
-- installed yet when its path is looked up, so it never counts itself.
function M.fd_count()
  -- Handles left unreferenced by earlier tests close when collected: collect
  -- first (twice: finalizers), or a collection in the middle of a measured
  -- call would make its count drop.
  collectgarbage("collect")
  collectgarbage("collect")
  local n = 0
  for fd = 0, 1023 do
    if M.fd_open(fd) then n = n + 1 end
  end
  return n
end

-- Sleeps s seconds by waiting on a pipe that never gets data.
function M.sleep(s)
  local r, w = assert(ipc.pipe())
  r:settimeout(s)
  local ok, _, code = r:read(1)
  r:close()
  w:close()
  assert(ok == nil and code == ipc.ETIMEDOUT)
end

-- Reads everything a process wrote on the pipe p, then waits for it.
function M.output(proc, stream)
  local out = proc[stream or "stdout"]:read("a")
  return out, proc:wait()
end

-- The path of the Lua interpreter running the specs.
function M.interpreter()
  local f = assert(io.popen("readlink /proc/" .. ipc.getpid() .. "/exe"))
  local path = f:read("*l")
  f:close()
  return path
end

-- An object whose finalizer calls fn (tables have no __gc in 5.1).
function M.gc_object(fn)
  if newproxy then -- luacheck: ignore 113
    local u = newproxy(true) -- luacheck: ignore 113
    getmetatable(u).__gc = fn
    return u
  end
  return setmetatable({}, { __gc = fn })
end

-- Whether this process catches signal sig (its bit in SigCgt).
function M.catches(sig)
  local s = read_file("/proc/" .. ipc.getpid() .. "/status") or ""
  local mask = s:match("SigCgt:%s*(%x+)")
  if not mask then return false end
  local pos = #mask - math.floor((sig - 1) / 4) -- one hex digit: 4 signals
  local digit = tonumber(mask:sub(pos, pos), 16)
  return math.floor(digit / 2 ^ ((sig - 1) % 4)) % 2 == 1
end

return M
