-- help.lua: the shell's help(), embedded in ipcsh and run by prelude.lua
-- with the ipc table and file(name), the text of an embedded file. Returns
-- the globals it defines.

local ipc = ...

local WIDTH = 72
local concat, sort = table.concat, table.sort

-- tostring that cannot raise: a failing __tostring is shown, not thrown.
local function safestring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed: " .. tostring(s) .. ">"
end

-- help(): lists what the ipc table holds, read from the table itself so the
-- listing never goes stale. help(x): the same for one namespace or handle
-- class (a table, or a name such as "pipe").

-- Words joined by ", " after `prefix`, wrapped at WIDTH columns with the
-- continuation lines indented as far as the prefix.
local function wrap(words, prefix)
  local indent = (" "):rep(#prefix)
  local lines, line = {}, prefix
  for i, w in ipairs(words) do
    local piece = w .. (i < #words and "," or "")
    if #line > #indent and #line + 1 + #piece > WIDTH then
      lines[#lines + 1] = line
      line = indent .. piece
    else
      line = line .. (#line > #indent and " " or "") .. piece
    end
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

-- The sorted names of the functions in t, and of the subtables.
local function members(t)
  local funcs, tables = {}, {}
  for k, v in pairs(t) do
    if type(k) == "string" and not k:match("^__") then
      if type(v) == "function" then funcs[#funcs + 1] = k
      elseif type(v) == "table" then tables[#tables + 1] = k end
    end
  end
  sort(funcs)
  sort(tables)
  return funcs, tables
end

-- The methods of a handle class: the functions in its __index table, or,
-- when __index is a function (handles with fields, such as p.pid), in the
-- method table that function keeps as its first upvalue.
local function methodsof(mt)
  local index = rawget(mt, "__index")
  if type(index) == "function" then
    local ok, _, up = pcall(debug.getupvalue, index, 1)
    index = ok and up or nil
  end
  if type(index) ~= "table" then return {} end
  return (members(index))
end

-- Handle classes: the metatables the module registered as "ipc.<class>".
local function classes()
  local found = {}
  local ok, reg = pcall(debug.getregistry)
  if not ok or type(reg) ~= "table" then return found end
  for name, mt in pairs(reg) do
    if type(name) == "string" and name:match("^ipc%.[%w_.]+$") and type(mt) == "table" then
      local methods = methodsof(mt)
      if #methods > 0 then found[name] = methods end
    end
  end
  return found
end

local function helpall()
  local lines = {
    "ipcsh: Lua 5.4 with the ipc module loaded as the global `ipc`.",
    "Type a statement or an expression; results are printed, the first is kept in _.",
    "Ctrl-C interrupts what runs (or cancels the line), Ctrl-D exits, Up/Down recall history.",
    "",
  }
  local funcs, spaces = members(ipc)
  local codes = {}
  for k, v in pairs(ipc) do
    if type(k) == "string" and k:match("^E[%u%d]+$") and math.type(v) == "integer" then
      codes[#codes + 1] = k
    end
  end
  sort(codes)
  if #funcs > 0 then
    lines[#lines + 1] = "functions (ipc.<name>):"
    lines[#lines + 1] = wrap(funcs, "  ")
  end
  for _, ns in ipairs(spaces) do
    local f = members(ipc[ns])
    if #f > 0 then
      lines[#lines + 1] = "ipc." .. ns .. ":"
      lines[#lines + 1] = wrap(f, "  ")
    end
  end
  local cls = classes()
  local names = {}
  for name in pairs(cls) do names[#names + 1] = name end
  sort(names)
  if #names > 0 then
    lines[#lines + 1] = "handle methods (h:<name>(...)):"
    for _, name in ipairs(names) do
      lines[#lines + 1] = wrap(cls[name], "  " .. name .. ": ")
    end
  end
  if #codes > 0 then
    lines[#lines + 1] = "error codes (the third result of a failure):"
    lines[#lines + 1] = wrap(codes, "  ")
  end
  lines[#lines + 1] =
    "help(name) lists one namespace or handle class; the reference is docs/lua.md."
  return concat(lines, "\n")
end

local function helpone(what)
  if type(what) == "string" then
    local name = what:gsub("^ipc%.", "")
    local parts = {}
    if type(ipc[name]) == "table" then
      parts[#parts + 1] = wrap((members(ipc[name])), "ipc." .. name .. ".<name>: ")
    end
    local methods = classes()["ipc." .. name]
    if methods then
      parts[#parts + 1] = wrap(methods, "ipc." .. name .. " handles h:<name>(): ")
    end
    if #parts == 0 then
      return "help: no namespace or handle class named '" .. name .. "' in ipc"
    end
    return concat(parts, "\n")
  end
  local mt = getmetatable(what)
  if type(mt) == "table" and #methodsof(mt) > 0 then
    return wrap(methodsof(mt), safestring(rawget(mt, "__name") or "methods") .. ": ")
  end
  if type(what) == "table" then
    return wrap((members(what)), "functions: ")
  end
  return "help: expected a namespace, a handle or a name, got " .. type(what)
end

local function help(what)
  print(what == nil and helpall() or helpone(what))
end

return { help = help }
