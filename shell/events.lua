-- events.lua: what happens between prompts in ipcsh. Three kinds of event
-- sources: the processes started from the shell (ipc.spawn and ipc.fork are
-- wrapped to keep their handles; ps() lists them, and one that ends is
-- reported and reaped), objects whose messages are printed as they come
-- (listen, unlisten), and the signals whose Lua handlers wait to run
-- (ipc.signal). The C side (edit.c) asks fds() for descriptors
-- to wait on next to the terminal and calls fire() with the ready ones.
-- Run by prelude.lua with the ipc table and pretty.lua's module; returns
-- { globals = {...}, fds = f, fire = f, interactive = f }.

local ipc, pretty = ...

local concat, format, sort = table.concat, string.format, table.sort
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

-- tostring that cannot raise.
local function safestring(v)
  local ok, s = pcall(tostring, v)
  return ok and type(s) == "string" and s or "<" .. type(v) .. ">"
end

local function classof(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and name or type(v)
end

---------------------------------------------------------------- processes

-- Every process handle the shell saw made, with what it runs; weak, so a
-- handle the user dropped goes. While the prompt is up (interactive), the
-- running ones are also held in `running` until their end is reported.
local known = setmetatable({}, { __mode = "k" })
local running = {}
local interactive = false
local made = 0

-- What a process runs, for ps(): the argv as a shell would quote it, or
-- where the function was defined.
local function describe(what)
  if type(what) == "function" then
    local ok, info = pcall(debug.getinfo, what, "S")
    if ok and info and info.short_src then
      return "function " .. info.short_src .. ":" .. tostring(info.linedefined)
    end
    return "function"
  end
  if type(what) ~= "table" then return "fork" end
  local words = {}
  for i = 1, #what do
    local w = safestring(what[i])
    if w == "" or w:find("[^%w_%-%+%./=:,@%%]") then
      w = "'" .. w:gsub("'", "'\\''") .. "'"
    end
    words[i] = w
  end
  return concat(words, " ")
end

-- The last known state in tostring's words ("running", "exited 0",
-- "killed by SIGTERM", "closed"), without asking the system.
local function laststate(p)
  return safestring(p):match("^ipc%.proc %(pid %-?%d+, (.*)%)$") or "?"
end

-- The state after asking: p:status() reaps a process that has ended.
local function state(p)
  pcall(p.status, p) -- raises on a closed handle: laststate says "closed"
  return laststate(p)
end

local function track(p, what)
  made = made + 1
  known[p] = { what = what, order = made }
  if interactive then running[p] = true end
end

local spawn, fork = ipc.spawn, ipc.fork
local listeners

function ipc.spawn(what, ...)
  local p, msg, code = spawn(what, ...)
  if p then track(p, describe(what)) end
  return p, msg, code
end

function ipc.fork(...)
  local p, msg, code = fork(...)
  if p == 0 then
    -- The child starts with no children and listens to nothing.
    known = setmetatable({}, { __mode = "k" })
    running, listeners = {}, {}
  elseif p then
    track(p, "fork")
  end
  return p, msg, code
end

-- ps(): the processes started from this shell, oldest first.
local function ps()
  local list = {}
  for p, info in pairs(known) do list[#list + 1] = { p = p, info = info } end
  sort(list, function(a, b) return a.info.order < b.info.order end)
  if #list == 0 then
    print("no process was started from this shell (or all were dropped)")
    return
  end
  local lines = { format("%7s  %-20s %s", "PID", "STATE", "COMMAND") }
  for _, e in ipairs(list) do
    lines[#lines + 1] = format("%7d  %-20s %s", e.p.pid, state(e.p), e.info.what)
  end
  print(concat(lines, "\n"))
end

-------------------------------------------------------------- listeners

-- Objects listened to: handle -> { label, read = f, fn = user function }.
listeners = {}
local order = 0

-- How to take what is there from each kind of object, without waiting:
-- returns true and the message(s); false when nothing is left; or nil and
-- why reading ended.
local READERS = {
  ["ipc.pipe"] = function(obj)
    local line, msg, code = obj:read("L")
    if line then return true, line end
    if msg == nil then return nil, "end of file" end
    if code == ipc.ETIMEDOUT or code == ipc.EAGAIN then return false end
    return nil, msg
  end,
  ["ipc.sock"] = function(obj)
    local r = pack(obj:recv(nil, 0))
    if r[1] ~= nil then return true, unpack(r, 1, r.n) end
    if r[3] == ipc.ETIMEDOUT or r[3] == ipc.EAGAIN then return false end
    return nil, r[3] == ipc.EOF and "end of file" or r[2]
  end,
  ["ipc.mq"] = function(obj)
    local s, prio_or_msg, code = obj:receive(0)
    if s then return true, s, prio_or_msg end
    if code == ipc.ETIMEDOUT or code == ipc.EAGAIN then return false end
    return nil, prio_or_msg
  end,
}

local MESSAGES_PER_TURN = 64 -- then the terminal gets a turn

local function label(obj, name)
  local ok, fd = pcall(obj.fd, obj)
  if name == "ipc.mq" then
    local okname, qname = pcall(obj.name, obj)
    if okname and qname then return name .. " " .. qname end
  end
  return name .. (ok and fd and " fd " .. tostring(fd) or "")
end

-- listen(obj [, fn]): from now on, while the prompt waits, what arrives on
-- obj (a pipe's read end, a socket, a POSIX queue) is printed above the
-- line being typed; with fn, fn(message, ...) is called instead and what
-- it returns, if anything, is printed. listen() lists what is listened to.
local function listen(obj, fn)
  if obj == nil then
    local list = {}
    for o, l in pairs(listeners) do list[#list + 1] = { o = o, l = l } end
    sort(list, function(a, b) return a.l.order < b.l.order end)
    if #list == 0 then print("listening to nothing") return end
    for _, e in ipairs(list) do
      print(e.l.label .. (e.l.fn and " (with a function)" or ""))
    end
    return
  end
  local name = classof(obj)
  local read = READERS[name]
  local why
  if not read then
    why = "got " .. name
  elseif not pcall(obj.fd, obj) then
    why = "got a closed " .. name
  elseif name == "ipc.pipe" and not safestring(obj):find("reader") then
    why = "got the write end of a pipe"
  elseif name == "ipc.sock" and safestring(obj):find("listening") then
    why = "got a listening socket: listen to what accept returns"
  end
  if why then
    error("bad argument #1 to 'listen' (a pipe's read end, a socket or a POSIX queue"
      .. " expected, " .. why .. ")", 2)
  end
  if fn ~= nil and type(fn) ~= "function" then
    error("bad argument #2 to 'listen' (function expected, got " .. type(fn) .. ")", 2)
  end
  -- A pipe's reads wait according to the handle's timeout: none, here.
  if name == "ipc.pipe" then obj:settimeout(0) end
  order = order + 1
  listeners[obj] = { label = label(obj, name), read = read, fn = fn, order = order }
end

-- unlisten(obj): stops listening; true if obj was listened to. A pipe gets
-- back the default timeout (wait forever).
local function unlisten(obj)
  if listeners[obj] == nil then return false end
  listeners[obj] = nil
  if classof(obj) == "ipc.pipe" then pcall(obj.settimeout, obj, nil) end
  return true
end

-- Reports one message to out.
local function deliver(l, out, ...)
  if not l.fn then
    out[#out + 1] = "[" .. l.label .. "] " .. pretty.format(...)
    return
  end
  local r = pack(pcall(l.fn, ...))
  if not r[1] then
    out[#out + 1] = "[" .. l.label .. "] error: " .. safestring(r[2])
  elseif r.n > 1 then
    out[#out + 1] = "[" .. l.label .. "] " .. pretty.format(unpack(r, 2, r.n))
  end
end

local function serve(obj, l, out)
  for _ = 1, MESSAGES_PER_TURN do
    local r = pack(pcall(l.read, obj))
    local got, why = r[2], r[3]
    if not r[1] then got, why = nil, r[2] end
    if got == false then return end
    if got == nil then
      out[#out + 1] = "[" .. l.label .. "] " .. safestring(why) .. ": no longer listened to"
      unlisten(obj)
      return
    end
    deliver(l, out, unpack(r, 3, r.n))
  end
end

---------------------------------------------------------------- signals

-- Lua signal handlers (ipc.signal): its descriptor is readable while
-- handlers are pending, and dispatch runs them. dispatch only counts them,
-- so ipc.signal.handle is wrapped to note the name of each signal whose
-- handler runs during the shell's own dispatch.
local signal = type(ipc.signal) == "table" and ipc.signal
local handled       -- names noted during a dispatch (nil: not noting)
local sigused = false -- a handler was set: the queue exists, watch it

if signal and type(signal.handle) == "function" and type(signal.fd) == "function"
  and type(signal.dispatch) == "function" then
  local handle = signal.handle
  function signal.handle(sig, fn, ...)
    if type(fn) ~= "function" then return handle(sig, fn, ...) end -- it raises
    local r = pack(handle(sig, function(name, info)
      if handled then handled[#handled + 1] = name end
      return fn(name, info)
    end, ...))
    if r[1] then sigused = true end
    return unpack(r, 1, r.n)
  end
else
  signal = nil
end

-- The signal queue's descriptor and what to do when it is readable.
local function signalsource()
  if not (signal and sigused) then return nil end
  local ok, fd = pcall(signal.fd)
  if not ok or type(fd) ~= "number" or fd < 0 then return nil end
  return fd, function(out)
    handled = {}
    local done, err = pcall(signal.dispatch)
    local names = handled
    handled = nil
    for _, name in ipairs(names) do
      out[#out + 1] = "[signal " .. safestring(name) .. " handled]"
    end
    if not done then out[#out + 1] = "[signals: " .. safestring(err) .. "]" end
  end
end

------------------------------------------------------------ the C side

local sources = {}  -- fd -> function(out), for the last fds()
local notices = {}  -- what to say without a descriptor

-- The descriptors to wait on, and whether there is something to say now.
local function fds()
  local list = {}
  sources = {}
  local function add(fd, source)
    if type(fd) == "number" and fd >= 0 and not sources[fd] then
      list[#list + 1] = fd
      sources[fd] = source
    end
  end
  for p in pairs(running) do
    if laststate(p) ~= "running" then
      running[p] = nil -- reaped by the user's own wait: nothing to tell
    else
      local ok, fd = pcall(p.fd, p)
      if ok and fd >= 0 then
        add(fd, function(out)
          if not running[p] then return end
          if state(p) ~= "running" then
            running[p] = nil
            out[#out + 1] = format("[pid %d %s]", p.pid, laststate(p))
          end
        end)
      else
        running[p] = nil
      end
    end
  end
  for obj, l in pairs(listeners) do
    local ok, fd = pcall(obj.fd, obj)
    if ok and type(fd) == "number" then
      add(fd, function(out) if listeners[obj] then serve(obj, l, out) end end)
    else
      notices[#notices + 1] = "[" .. l.label .. "] closed: no longer listened to"
      listeners[obj] = nil
    end
  end
  add(signalsource())
  return list, #notices > 0
end

-- Serves the ready descriptors; returns what to print.
local function fire(ready)
  local out = notices
  notices = {}
  for _, fd in ipairs(ready or {}) do
    local source = sources[fd]
    if source then source(out) end
  end
  return concat(out, "\n")
end

-- The interactive loop starts (on = true): running children are now held
-- until their end is reported.
local function setinteractive(on)
  interactive = on and true or false
  if interactive then
    for p in pairs(known) do
      if laststate(p) == "running" then running[p] = true end
    end
  end
end

return {
  globals = { ps = ps, listen = listen, unlisten = unlisten },
  fds = fds,
  fire = fire,
  interactive = setinteractive,
}
