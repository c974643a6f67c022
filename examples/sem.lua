-- examples/sem.lua: semaphores and locks between processes: a semaphore
-- that lets two of four workers in at a time, a robust mutex whose owner is
-- killed in the middle of an update, and a System V semaphore that the
-- kernel gives back when its holder dies. Run from the top of the tree:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/sem.lua

local ipc = require "ipc"

-- One anonymous segment holds everything the workers share: the children
-- made by ipc.spawn see it through their copy of the handle.
--   0: the gate semaphore    32: a semaphore nobody posts (to sleep on)
--  64: the mutex            128: workers inside (i64), 136: most at once,
-- 144: the "balance" the mutex guards, 152: its copy (they must agree)
local seg = assert(ipc.shm.anon(4096))
local gate = assert(ipc.sem.in_shm(seg, 0, 2))
local never = assert(ipc.sem.in_shm(seg, 32, 0))
local lock = assert(ipc.mutex.in_shm(seg, 64))

local function sleep(s) never:wait(s) end

-- 1. A counting semaphore of 2: four workers, never more than two inside.
local workers = {}
for i = 1, 4 do
  workers[i] = assert(ipc.spawn(function()
    assert(gate:wait(5))
    local inside = seg:atomic_add("i64", 128, 1) + 1
    local most = seg:atomic_load("i64", 136)
    while inside > most do -- keep the maximum seen
      local ok, found = seg:atomic_cas("i64", 136, most, inside)
      if ok then break end
      most = found
    end
    sleep(0.1)
    seg:atomic_add("i64", 128, -1)
    assert(gate:post())
  end))
end
for _, p in ipairs(workers) do p:wait() end
print(("gate: 4 workers through a semaphore of 2, at most %d inside at once")
  :format(seg:atomic_load("i64", 136)))

-- 2. A robust mutex: the worker dies holding it, half-way through an
-- update; the next locker is told, repairs, and goes on.
local r, w = assert(ipc.pipe())
local victim = assert(ipc.spawn(function()
  assert(lock:lock(5))
  seg:set("i64", 144, 100) -- the first half of the update...
  w:write("locked\n")
  sleep(60) -- ...killed before the second
  seg:set("i64", 152, 100)
  lock:unlock()
end))
w:close()
r:settimeout(5)
assert(r:read("l") == "locked")
print("mutex: " .. tostring(lock) .. "; killing the worker")
victim:kill("KILL")
victim:wait()
print("mutex: " .. tostring(lock))
local ok, msg, code = lock:lock(5)
if not ok and code == ipc.EOWNERDEAD then
  print("mutex: lock says '" .. msg .. "': the lock is ours, the data may be half done")
  seg:set("i64", 152, seg:get("i64", 144)) -- repair: finish the update
  assert(lock:consistent())
else
  assert(ok, msg)
end
print(("mutex: balance %d, copy %d after the repair"):format(seg:get("i64", 144),
  seg:get("i64", 152)))
assert(lock:unlock())
r:close()

-- 3. A System V semaphore taken with undo by a process that then dies: the
-- kernel gives it back.
local set = assert(ipc.semset.create(nil, 1, 1))
local holder = assert(ipc.spawn(function()
  assert(set:op({ 0, -1, undo = true }))
  sleep(60)
end))
assert(set:op({ 0, 0 }, 5)) -- an op of 0 waits until the value is 0: taken
print(("semset: value %d while a worker holds it"):format((set:get(0))))
holder:kill("KILL")
holder:wait()
print(("semset: value %d once the kernel undid the dead worker's take"):format((set:get(0))))
set:remove()
set:close()

lock:close()
gate:close()
never:close()
seg:close()
