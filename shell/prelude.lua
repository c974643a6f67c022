-- prelude.lua: the Lua half of ipcsh, embedded in the binary and run once at
-- start with the ipc module table, file(name) (the text of an embedded
-- file: shell/*.lua, docs/*.md) and whether results may be coloured. It
-- runs the shell's other files, sets the shell's globals (help from
-- help.lua, the tools of tools.lua, ps/listen/unlisten from events.lua,
-- and _ after each result) and returns the hooks the C side calls.

local ipc, file, color = ...

local loadstring = loadstring or load -- 5.1 compiles strings with loadstring

-- Runs the embedded file name with the arguments; returns what it returns.
local function run(name, ...)
  local chunk = assert(loadstring(assert(file(name), name), "=" .. name))
  return chunk(...)
end

-- Many short-lived values: the generational collector of 5.4, as lua.c
-- uses. Other versions do not have it and keep their own.
pcall(collectgarbage, "generational")

local pretty = run("pretty.lua", ipc, color)
local complete = run("complete.lua")
local events = run("events.lua", ipc, pretty)

-- The shell's globals: each file returns a table of them. A file that
-- fails (one written for another Lua version, say) costs its own globals,
-- not the shell: what went wrong is said at the interactive banner.
local broken = {}
local function globals(name, ...)
  local ok, t = pcall(run, name, ...)
  if ok and type(t) == "table" then return t end
  broken[#broken + 1] = "ipcsh: " .. name .. " did not load, its functions are missing: "
    .. tostring(t)
  return {}
end
for _, t in ipairs({ globals("help.lua", ipc, file), globals("tools.lua", ipc, file),
                     events.globals }) do
  for k, v in pairs(t) do _G[k] = v end
end

-- The hooks, called from C under lua_pcall.
return {
  -- The results of a command as text (nil when there are none); the first
  -- is kept in the global _.
  show = function(...)
    if select("#", ...) == 0 then return nil end
    _G._ = (...)
    return pretty.format(...)
  end,
  complete = complete,
  event_fds = events.fds,
  event_fire = events.fire,
  interactive = events.interactive,
  -- What the banner adds: under LuaJIT, which loops Ctrl-C cannot stop;
  -- the shell's files that did not load.
  notes = function()
    local lines = {}
    if type(jit) == "table" and jit.status and jit.status() then
      lines[#lines + 1] = "LuaJIT: Ctrl-C may not stop a loop the JIT has compiled (a second"
        .. " Ctrl-C then ends ipcsh);\n"
        .. "jit.off() makes every loop interruptible (and slower)."
    end
    for _, msg in ipairs(broken) do lines[#lines + 1] = msg end
    return #lines > 0 and table.concat(lines, "\n") or nil
  end,
  tour = function(interactive)
    return run("tour.lua", ipc, pretty)(interactive)
  end,
}
