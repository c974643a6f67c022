-- tour.lua: `ipcsh --tour`, a walk through ipc for newcomers: a pipe, a ring
-- between two processes, a signal, processes, and what exists on the
-- system. Each step
-- says what it shows, then types its commands as at the prompt and runs
-- them, printing the results the way the shell does. On a terminal it waits
-- for Enter between steps; otherwise (`ipcsh --tour | cat`, CI) it runs
-- them all. Run by prelude.lua with the ipc table and pretty.lua's module;
-- returns tour(interactive) -> true when every command ran.

local ipc, pretty = ...

local loadstring = loadstring or load
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local STEPS = {
  {
    title = "A pipe",
    text = [[
ipc.pipe() gives the two ends of a pipe. Handles print with their state;
what goes in one end comes out of the other.]],
    code = {
      "r, w = ipc.pipe()",
      "r, w",
      [[w:write("hello through a pipe\n")]],
      "r:read()",
    },
  },
  {
    title = "A ring between two processes",
    text = [[
A ring is a queue of messages in shared memory. ipc.spawn(fn) runs fn in a
forked child, which shares the anonymous ring with the shell; the shell
pops what the child pushed. Printing the ring shows its counters.]],
    code = {
      "q = ipc.ring.anon()",
      [[p = ipc.spawn(function()
  for i = 1, 3 do q:push("message " .. i) end
  q:close()
  return 0
end)]],
      "q:pop(5), q:pop(5), q:pop(5)",
      "p:wait(5)",
      "q",
    },
  },
  {
    title = "A signal",
    text = [[
ipc.signal.handle makes a Lua function the handler of a signal. The signal
is only noted when it comes; the handler runs at a safe point: a dispatch,
any wait of the module, or, in the shell, while the prompt waits for you.]],
    needs = function() return type(ipc.signal) == "table" end,
    code = {
      [[ipc.signal.handle("USR1", function(name, info)
  print("handler: " .. name .. " from pid " .. info.pid)
end)]],
      [[ipc.signal.kill(ipc.getpid(), "USR1")]],
      "ipc.signal.dispatch()",
    },
    cleanup = function()
      if type(ipc.signal) == "table" then pcall(ipc.signal.unhandle, "USR1") end
    end,
  },
  {
    title = "Processes",
    text = [[
Processes started from the shell are handles: kill sends a signal, wait
says how the process ended, and ps() lists every process the shell started.]],
    code = {
      [[sleeper = ipc.spawn({"sleep", "30"})]],
      [[sleeper:kill("TERM")]],
      "sleeper:wait(5)",
      "ps()",
    },
  },
  {
    title = "What exists on the system",
    text = [[
Named objects outlive the process that made them. ls() lists the ones on
the system; here, only a ring made for the occasion, removed right after
(rm(name) removes one that nobody uses).]],
    needs = function() return rawget(_G, "ls") ~= nil end,
    code = {
      [[name = "/ipcsh-tour-" .. ipc.getpid()]],
      "named = ipc.ring.create(name)",
      "ls({name = name})",
    },
    cleanup = function()
      if rawget(_G, "named") then pcall(_G.named.close, _G.named) end
      if rawget(_G, "name") then pcall(ipc.ring.unlink, _G.name) end
    end,
  },
  {
    title = "Your turn",
    text = [[
Start ipcsh and try: help() lists everything, Tab completes names and
methods (q:<Tab>), ps() shows your processes, listen(r) prints what
arrives on r while you type, Ctrl-C stops whatever runs. docs/shell.md and
docs/lua.md have the details.]],
    code = {},
  },
}

-- Compiles a command as the prompt does: as an expression, else as
-- statements.
local function compile(code)
  local f = loadstring("return " .. code .. ";", "=stdin")
  if f then return f end
  return loadstring(code, "=stdin")
end

-- Shows a command as if typed at the prompt, runs it and prints its
-- results or its error. Returns true when it ran.
local function runcommand(code)
  local shown = code:gsub("\n", "\n>> ")
  print("> " .. shown)
  local f, err = compile(code)
  local r
  if f then
    r = pack(xpcall(f, debug.traceback))
  else
    r = { n = 2, false, err }
  end
  if not r[1] then
    io.stdout:flush()
    io.stderr:write(tostring(r[2]), "\n")
    return false
  end
  if r.n > 1 then
    _G._ = r[2]
    print(pretty.format((table.unpack or unpack)(r, 2, r.n)))
  end
  return true
end

-- Waits for Enter; false when the reader would rather stop (q, or end of
-- input).
local function next_step()
  io.write("\n-- Enter: next step, q: quit -- ")
  io.stdout:flush()
  local line = io.read("*l") -- 5.1 and 5.2 know only the starred form
  return line ~= nil and not line:match("^%s*[qQ]")
end

return function(interactive)
  local ok = true
  for i, step in ipairs(STEPS) do
    if i > 1 and interactive and not next_step() then break end
    print(("\n== %d/%d: %s =="):format(i, #STEPS, step.title))
    print(step.text)
    if step.needs and not step.needs() then
      print("(what this step shows is not in this build of ipcsh: skipped)")
    else
      for _, code in ipairs(step.code) do
        if not runcommand(code) then
          ok = false
          break
        end
      end
    end
    if step.cleanup then step.cleanup() end
  end
  io.stdout:flush()
  return ok
end
