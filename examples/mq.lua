-- examples/mq.lua: a job queue with priorities (a POSIX message queue) and
-- replies picked by job number (the types of a System V queue), between
-- this script and a worker it forks. Run from the top of the tree:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/mq.lua

local ipc = require "ipc"

local name = "/ipc-example-jobs-" .. ipc.getpid()
local jobs = assert(ipc.mq.create(name, { maxmsg = 8, msgsize = 128 }))
local replies = assert(ipc.msg.create()) -- private: the worker inherits it

local function main()
  print(jobs)
  -- Jobs go in with a priority: the urgent one overtakes the others.
  jobs:send("job 1: compress the logs", 1)
  jobs:send("job 2: resize the images", 1)
  jobs:send("job 3: page the on-call engineer", 9)
  jobs:send("stop", 0)

  local worker = assert(ipc.spawn(function()
    local q = assert(ipc.mq.open(name, "r"))
    local order = 0
    while true do
      local job, prio = assert(q:receive(5))
      if job == "stop" then break end
      order = order + 1
      -- The reply's type is the job's number: the parent asks for the
      -- replies it wants, in the order it wants.
      local n = tonumber(job:match("^job (%d+)"))
      assert(replies:send(n, ("%q, priority %d, taken %s by pid %d"):format(job, prio,
        order == 1 and "first" or "#" .. order, ipc.getpid())))
    end
  end))

  for _, n in ipairs { 2, 1, 3 } do
    print(("reply to job %d: %s"):format(n, assert(replies:receive(n, 5))))
  end
  print("worker:", worker:wait())

  local st = replies:stat()
  print(("System V queue: %d messages left, last sender %d, last receiver %d (us)")
    :format(st.count, st.last_sender, st.last_receiver))
  print("empty queue, no wait:", jobs:receive(0))
  -- A queue beyond the system's limits says which limit and its value.
  print("too big:", ipc.mq.create(name .. "-big", { maxmsg = 100000 }))
end

local ok, err = pcall(main)
-- Whatever happened, leave nothing behind.
jobs:close()
ipc.mq.unlink(name)
replies:remove()
replies:close()
assert(ok, err)
