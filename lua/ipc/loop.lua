-- loop.lua: ipc.loop(), an event loop over ipc.poll: watchers on readable
-- and writable objects, signals (through ipc.signal's descriptor), child
-- exits (pidfds), one-shot and repeating timers, and tasks (coroutines that
-- wait for readiness or time). lipc_loop.c embeds this file in the module; the
-- chunk gets the module table and returns the constructor of loops.

local ipc = ...
-- Loaded as a plain module (require "ipc.loop" with lua/ on package.path)
-- it gets its name instead: the constructor then still works.
if type(ipc) ~= "table" then ipc = require "ipc" end

local Loop = {}
Loop.__index = Loop

local Watcher = {}
Watcher.__index = Watcher

local traceback = debug and debug.traceback

-- The message of a callback's error, with the traceback from where it was
-- raised down to the callback: the loop's own frames below say nothing.
local function handler(e)
  if not traceback then return tostring(e) end
  local tb = traceback(tostring(e), 2)
  local cut = tb:find("\n[^\n]*%[C%]: in function '?xpcall'?")
  if cut then
    tb = tb:sub(1, cut - 1):gsub("\n%s*%(%.%.%.tail calls%.%.%.%)$", "")
  end
  return tb
end

-- What a callback runs with, in upvalues rather than a closure per call
-- (5.1's xpcall passes no arguments).
local cur_fn, cur_ev, cur_w
local function call_current()
  local fn, ev, w = cur_fn, cur_ev, cur_w
  cur_fn, cur_ev, cur_w = nil, nil, nil
  return fn(ev, w)
end

-- The stack level of the first function outside this file: errors name
-- the line of the caller that passed the bad value, as C functions' do.
local function caller_level()
  local getinfo = debug and debug.getinfo
  if not getinfo then return 0 end
  local level = 3 -- the caller of the function that asks
  while true do
    local info = getinfo(level, "S")
    if not info then return 0 end
    if info.source ~= "@ipc/loop.lua" then return level - 1 end
    level = level + 1
  end
end

local function raise(msg) error(msg, caller_level()) end

local function argerror(n, fname, msg)
  raise(("bad argument #%d to '%s' (%s)"):format(n, fname, msg))
end

local function checkcallback(fn, n, fname)
  local t = type(fn)
  if t ~= "function" and t ~= "thread" then
    argerror(n, fname, "function or coroutine expected, got " .. t)
  end
  if t == "thread" and coroutine.status(fn) ~= "suspended" then
    argerror(n, fname, "the coroutine is " .. coroutine.status(fn) .. ", not suspended")
  end
end

local function checkseconds(s, n, fname, positive)
  if type(s) ~= "number" then argerror(n, fname, "number expected, got " .. type(s)) end
  if positive and s <= 0 then argerror(n, fname, "seconds must be positive") end
  if s ~= s or s < 0 then argerror(n, fname, "seconds must not be negative") end -- NaN too
end

-- The class name of an ipc handle ("ipc.proc"), or nil.
local function classof(obj)
  local mt = type(obj) == "userdata" and getmetatable(obj)
  return type(mt) == "table" and mt.__name or nil
end

-- Whether obj can still be polled: integers always; an object while its
-- :fd() works (closing an object ends its watchers).
local function usable(obj)
  if type(obj) == "number" then return true end
  local ok, fd = pcall(obj.fd, obj)
  return ok and type(fd) == "number" and fd >= 0
end

-- ---------------------------------------------------------------- watchers

-- Stops a watcher or timer; true if it was active.
function Watcher:cancel()
  if not self.active then return false end
  self.active = false
  local loop = self.loop
  if self.kind == "timer" then
    for i, t in ipairs(loop.timers) do
      if t == self then
        table.remove(loop.timers, i)
        break
      end
    end
  elseif self.kind == "signal" then
    local list = loop.signals[self.signal]
    for i, w in ipairs(list) do
      if w == self then
        table.remove(list, i)
        break
      end
    end
    if #list == 0 then
      loop.signals[self.signal] = nil
      loop.nsignals = loop.nsignals - 1
      ipc.signal.restore(self.signal)
    end
  end
  -- readable, writable and exit watchers leave the list at the next turn
  return true
end

function Watcher:__tostring()
  local what = self.kind
  if self.obj ~= nil then what = what .. " " .. tostring(self.obj) end
  if self.signal then what = what .. " " .. self.signal end
  if self.interval then what = what .. " every " .. self.interval .. " s" end
  return ("ipc.loop watcher (%s%s)"):format(what, self.active and "" or ", cancelled")
end

-- ------------------------------------------------------------- callbacks

-- Reports a callback's error through onerror (default: io.stderr), and
-- stops the loop when asked to.
function Loop:_report(err, w)
  local onerror = self.onerror
  if onerror then
    local ok, e2 = pcall(onerror, err, w)
    if not ok and io then io.stderr:write("ipc.loop: error in onerror: ", tostring(e2), "\n") end
  elseif io then
    io.stderr:write("ipc.loop: error in callback: ", err, "\n")
  end
  if self.stop_on_error and self.failed == nil then
    self.failed = err
    self.stopped = true
  end
end

-- Runs w's callback with event: a function is called; a coroutine is
-- resumed and, once finished, its watcher is removed.
function Loop:_invoke(w, event)
  local fn = w.fn
  if type(fn) == "thread" then
    local ok, err = coroutine.resume(fn, event, w)
    if not ok then
      err = traceback and traceback(fn, tostring(err)) or tostring(err)
    end
    if coroutine.status(fn) == "dead" then w:cancel() end
    if not ok then self:_report(err, w) end
    return
  end
  cur_fn, cur_ev, cur_w = fn, event, w
  local ok, err = xpcall(call_current, handler)
  if not ok then self:_report(err, w) end
end

-- ------------------------------------------------------------ registering

local function new_watcher(loop, kind, fn, fields)
  local w = setmetatable(fields, Watcher)
  w.loop, w.kind, w.fn, w.active = loop, kind, fn, true
  return w
end

-- Checks obj through ipc.poll itself (a zero timeout), so that every
-- refusal (a ring, a closed handle, a System V queue) reads the same here.
local function checkpollable(obj, events, fname)
  local ok, err = pcall(ipc.poll, { { obj, events } }, 0)
  if not ok then
    err = tostring(err):gsub("^bad argument #1 to '[^']*' %(list%[1%] ", "")
    err = err:gsub("%)$", "")
    argerror(1, fname, "object " .. err)
  end
end

local function on_io(loop, kind, obj, fn)
  local fname = "on_" .. kind
  local events = kind == "readable" and "r" or "w"
  checkpollable(obj, events, fname)
  checkcallback(fn, 2, fname)
  local w = new_watcher(loop, kind, fn, { obj = obj, entry = { obj, events } })
  loop.io[#loop.io + 1] = w
  return w
end

-- loop:on_readable(obj, fn) -> watcher: fn(event, watcher) each time obj
-- has data (or end of file, or an error) to read.
function Loop:on_readable(obj, fn) return on_io(self, "readable", obj, fn) end

-- loop:on_writable(obj, fn) -> watcher: fn(event, watcher) each time obj
-- has room to write (or an error to report).
function Loop:on_writable(obj, fn) return on_io(self, "writable", obj, fn) end

-- loop:on_exit(proc, fn) -> watcher: fn(event, watcher) once the process
-- ended, after the loop reaped it (proc:wait(0)): event.status is "exit"
-- with event.code, or "signal" with event.signal and event.core_dumped.
function Loop:on_exit(proc, fn)
  if classof(proc) ~= "ipc.proc" then
    argerror(1, "on_exit", "ipc.proc expected, got " .. (classof(proc) or type(proc)))
  end
  checkpollable(proc, "r", "on_exit")
  checkcallback(fn, 2, "on_exit")
  local w = new_watcher(self, "exit", fn, { obj = proc, entry = { proc, "r" } })
  self.io[#self.io + 1] = w
  return w
end

-- The ipc.signal handler of the loop's signals. Handlers also run inside
-- any interrupted ipc call (the EINTR policy), ipc.poll's included: so the
-- handler only queues the delivery and wakes the loop through its pipe, and
-- the callbacks run from the loop's turn, never from inside a C call.
function Loop:_queue_signal(sig, name, info)
  local q = self.sigqueue
  q[#q + 1] = { type = "signal", signal = sig, name = name, info = info }
  self.wake_w:write("!") -- non-blocking: a full pipe wakes the loop anyway
end

-- Runs the callbacks of the queued signal deliveries.
function Loop:_run_signals()
  local q = self.sigqueue
  self.sigqueue = {}
  for _, event in ipairs(q) do
    local list = self.signals[event.signal] or {}
    local copy = {} -- callbacks may cancel or add watchers
    for i, w in ipairs(list) do copy[i] = w end
    for _, w in ipairs(copy) do
      if self.stopped then return end
      if w.active then self:_invoke(w, event) end
    end
  end
end

-- loop:on_signal(sig, fn) -> watcher: fn(event, watcher) after each
-- delivery of sig (a number or a name: "INT", "SIGTERM"), from the loop,
-- not from the handler; event.signal, event.name, event.info (the sender's
-- pid, uid, value...). The first watcher of sig installs an ipc.signal
-- handler; cancelling the last one restores what was there before. Fails
-- with nil, msg, code when the signal cannot be handled here (another
-- lua_State handles it).
function Loop:on_signal(sig, fn)
  local signal = ipc.signal
  local num = signal.number(sig) -- raises for neither a string nor a number
  if not num then
    argerror(1, "on_signal", ("unknown signal '%s'"):format(tostring(sig)))
  end
  checkcallback(fn, 2, "on_signal")
  local list = self.signals[num]
  if not list then
    local ok, done, msg, code = pcall(signal.handle, num, function(name, info)
      self:_queue_signal(num, name, info)
    end)
    if not ok then -- the signal cannot be caught (KILL, glibc's own)
      done = tostring(done):gsub("^bad argument #%d+ to '[^']*' %(", ""):gsub("%)$", "")
      argerror(1, "on_signal", done)
    end
    if not done then return nil, msg, code end
    if not self.wake_r then
      local r, w, code2 = ipc.pipe({ nonblock = true })
      if not r then
        signal.restore(num)
        return nil, w, code2
      end
      self.wake_r, self.wake_w = r, w
    end
    list = {}
    self.signals[num] = list
    self.nsignals = self.nsignals + 1
  end
  local w = new_watcher(self, "signal", fn, { signal = num })
  list[#list + 1] = w
  return w
end

local function add_timer(loop, w)
  local timers = loop.timers
  local i = #timers
  while i > 0 and timers[i].due > w.due do i = i - 1 end
  table.insert(timers, i + 1, w)
end

-- loop:after(s, fn) -> timer: fn(event, timer) once, s seconds from now.
function Loop:after(s, fn)
  checkseconds(s, 1, "after")
  checkcallback(fn, 2, "after")
  local w = new_watcher(self, "timer", fn, { due = ipc.now() + s })
  add_timer(self, w)
  return w
end

-- loop:every(s, fn) -> timer: fn(event, timer) every s seconds until
-- cancelled. Ticks that a slow turn missed are skipped, not run in a burst.
function Loop:every(s, fn)
  checkseconds(s, 1, "every", true)
  checkcallback(fn, 2, "every")
  local w = new_watcher(self, "timer", fn, { due = ipc.now() + s, interval = s })
  add_timer(self, w)
  return w
end

-- ------------------------------------------------------------------ tasks

-- Resumes task co with the values given; reports its error.
function Loop:_resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if coroutine.status(co) == "dead" then self.tasks[co] = nil end
  if not ok then
    self:_report(traceback and traceback(co, tostring(err)) or tostring(err), nil)
  end
end

-- loop:task(fn, ...) -> coroutine: runs fn(...) in a coroutine now; inside,
-- loop:wait and loop:sleep suspend it until their event while the loop runs.
function Loop:task(fn, ...)
  checkcallback(fn, 1, "task")
  local co = type(fn) == "thread" and fn or coroutine.create(fn)
  self.tasks[co] = true
  self:_resume(co, ...)
  return co
end

local function current_task(loop, fname)
  local co = coroutine.running()
  if co == nil or not loop.tasks[co] then
    raise(("loop:%s must be called from a task of this loop (loop:task)"):format(fname))
  end
  return co
end

-- loop:wait(obj, ["r" | "w"], [timeout]) -> event, from a task: suspends it
-- until obj is readable (default) or writable; nil, msg, ipc.ETIMEDOUT after
-- timeout seconds.
function Loop:wait(obj, events, timeout)
  events = events or "r"
  if events ~= "r" and events ~= "w" then argerror(2, "wait", "events must be 'r' or 'w'") end
  if timeout ~= nil then checkseconds(timeout, 3, "wait") end
  local co = current_task(self, "wait")
  local w, timer
  local function wake(ev)
    w:cancel()
    if timer then timer:cancel() end
    self:_resume(co, ev)
  end
  w = (events == "r" and self.on_readable or self.on_writable)(self, obj, wake)
  if timeout then
    timer = self:after(timeout, function()
      w:cancel()
      self:_resume(co, nil, "wait: " .. ipc.strerror(ipc.ETIMEDOUT), ipc.ETIMEDOUT)
    end)
  end
  return coroutine.yield()
end

-- loop:sleep(s), from a task: suspends it for s seconds.
function Loop:sleep(s)
  checkseconds(s, 1, "sleep")
  local co = current_task(self, "sleep")
  self:after(s, function() self:_resume(co) end)
  coroutine.yield()
end

-- -------------------------------------------------------------- running

-- Reaps the process of exit watcher w once its pidfd is readable and calls
-- the callback with how it ended.
function Loop:_exited(w)
  local proc = w.obj
  local how, a, b = proc:wait(0)
  if how == nil and b == ipc.ETIMEDOUT then return end -- not yet: watch on
  w:cancel()
  if how == nil then
    self:_report("on_exit: " .. tostring(a), w)
    return
  end
  local event = { type = "exit", proc = proc, status = how }
  if how == "exit" then
    event.code = a
  else
    event.signal, event.core_dumped = a, b
  end
  self:_invoke(w, event)
end

-- One turn: polls every watched descriptor until the next timer, then runs
-- the callbacks of what is ready and of the timers due. false when nothing
-- is left to wait for.
function Loop:_turn()
  local list, map, n = self.list, self.map, 0
  local io = self.io
  local kept = 0
  for i = 1, #io do
    local w = io[i]
    io[i] = nil
    if w.active and not usable(w.obj) then w.active = false end
    if w.active then
      kept = kept + 1
      io[kept] = w
      n = n + 1
      list[n], map[n] = w.entry, w
    end
  end
  if self.nsignals > 0 then
    list[n + 1], map[n + 1] = { ipc.signal.fd(), "r" }, "signal"
    list[n + 2], map[n + 2] = self.wake_r, "wake"
    n = n + 2
  end
  for i = n + 1, #list do list[i], map[i] = nil, nil end
  local timeout
  local first = self.timers[1]
  if first then timeout = math.max(0, first.due - ipc.now()) end
  if n == 0 and not timeout then return false end
  local ready, count
  if n == 0 then
    ipc.sleep(timeout)
    count = 0
  else
    ready, count = ipc.poll(list, timeout)
  end
  for i = 1, count do
    if self.stopped then return true end
    local ev = ready[i]
    local w = map[ev.index]
    if w == "signal" then
      ipc.signal.dispatch() -- the handlers queue the deliveries
    elseif w == "wake" then
      self.wake_r:read(4096) -- drained: the queue is what counts
    elseif w.active then
      if w.kind == "exit" then
        self:_exited(w)
      else
        ev.type = w.kind
        self:_invoke(w, ev)
      end
    end
  end
  self:_run_signals()
  -- The timers due now; those they add wait for the next turn.
  local now = ipc.now()
  local due = {}
  for _, t in ipairs(self.timers) do
    if t.due > now then break end
    due[#due + 1] = t
  end
  for _, t in ipairs(due) do
    if self.stopped then break end
    if t.active then
      if t.interval then
        for i, u in ipairs(self.timers) do
          if u == t then
            table.remove(self.timers, i)
            break
          end
        end
        t.due = t.due + t.interval
        if t.due <= now then t.due = now + t.interval end
        add_timer(self, t)
      else
        t:cancel()
      end
      self:_invoke(t, { type = "timer", time = now })
    end
  end
  return true
end

-- loop:run() -> true when stopped or when nothing is left to wait for;
-- nil, err when stop_on_error and a callback raised err.
function Loop:run()
  if self.running then raise("loop:run: the loop is already running") end
  self.running, self.stopped, self.failed = true, false, nil
  local ok, err = pcall(function()
    while not self.stopped and self:_turn() do end
  end)
  self.running = false
  if not ok then error(err, 0) end
  if self.failed ~= nil then return nil, self.failed end
  return true
end

-- loop:stop(): the running run() returns after the current callback.
function Loop:stop() self.stopped = true end

-- loop:close(): cancels every watcher and timer (restoring the signals)
-- and closes the loop's wake-up pipe.
function Loop:close()
  for _, w in ipairs(self.io) do w:cancel() end
  while self.timers[1] do self.timers[1]:cancel() end
  local sigs = {}
  for sig in pairs(self.signals) do sigs[#sigs + 1] = sig end
  for _, sig in ipairs(sigs) do
    local list = self.signals[sig]
    while list[1] do list[1]:cancel() end
  end
  if self.wake_r then
    self.wake_r:close()
    self.wake_w:close()
    self.wake_r, self.wake_w = nil, nil
  end
end

function Loop:__tostring()
  local nio = 0
  for _, w in ipairs(self.io) do
    if w.active then nio = nio + 1 end
  end
  return ("ipc.loop (%d watchers, %d signals, %d timers%s)"):format(
    nio, self.nsignals, #self.timers, self.running and ", running" or "")
end

-- ipc.loop([opts]) -> loop. opts.stop_on_error: a callback's error stops
-- the loop (run returns nil, err); opts.onerror(err, watcher) reports errors
-- (default: a line on io.stderr).
return function(opts)
  if opts ~= nil and type(opts) ~= "table" then
    argerror(1, "loop", "table expected, got " .. type(opts))
  end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "stop_on_error" and k ~= "onerror" then
      argerror(1, "loop", "unknown option '" .. tostring(k) .. "'")
    end
  end
  if opts.onerror ~= nil and type(opts.onerror) ~= "function" then
    argerror(1, "loop", "onerror must be a function")
  end
  if opts.stop_on_error ~= nil and type(opts.stop_on_error) ~= "boolean" then
    argerror(1, "loop", "stop_on_error must be a boolean")
  end
  return setmetatable({
    stop_on_error = opts.stop_on_error or false,
    onerror = opts.onerror,
    io = {},          -- readable, writable and exit watchers
    signals = {},     -- signal -> its watchers
    nsignals = 0,
    sigqueue = {},    -- signal deliveries not yet called back
    timers = {},      -- sorted by due time
    tasks = {},       -- coroutine -> true
    list = {},        -- the entries of the last poll
    map = {},         -- their watchers
    running = false,
    stopped = false,
  }, Loop)
end
