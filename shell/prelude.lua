-- prelude.lua: the Lua half of ipcsh, embedded in the binary and run once at
-- start with the ipc module table as its argument. It defines the two
-- documented globals, help() and _ (the first result of the last command),
-- and returns the function the REPL formats results with.

local ipc = ...

local MAX_DEPTH = 5   -- tables nested deeper print as {...}
local MAX_ITEMS = 100 -- entries shown per table; the rest are counted
local WIDTH = 72      -- a table whose entries fit in this many columns stays on one line

local byte, concat, format, sort = string.byte, table.concat, string.format, table.sort
local print = print

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\a"] = "\\a", ["\b"] = "\\b",
  ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\v"] = "\\v",
}

-- A string as a Lua literal that reads back as the same bytes. Other control
-- bytes get three-digit escapes so a following digit cannot join them.
local function quote(s)
  local body = s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or format("\\%03d", byte(c))
  end)
  return '"' .. body .. '"'
end

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

-- Keys sort numbers first (by value), then strings, then everything else
-- (by type name, then by tostring, which is stable for one table's life).
local RANK = { number = 1, string = 2 }
local function keyorder(a, b)
  local ta, tb = type(a), type(b)
  local ra, rb = RANK[ta] or 3, RANK[tb] or 3
  if ra ~= rb then return ra < rb end
  if ra < 3 then return a < b end
  if ta ~= tb then return ta < tb end
  return tostring(a) < tostring(b)
end

-- tostring that cannot raise: a failing __tostring is shown, not thrown.
local function safestring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed: " .. tostring(s) .. ">"
end

local repr

-- A table: the sequence 1..n first, without keys, then the other entries in
-- key order; on one line when short, else one entry per line under `indent`.
local function reprtable(t, indent, depth, open)
  if open[t] then return "<cycle>" end
  if next(t) == nil then return "{}" end
  if depth >= MAX_DEPTH then return "{...}" end
  local seqn = 0
  while rawget(t, seqn + 1) ~= nil do seqn = seqn + 1 end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= seqn) then
      keys[#keys + 1] = k
    end
  end
  sort(keys, keyorder)
  open[t] = true
  local inner = indent .. "  "
  local items, oneline, width = {}, true, 0
  local total = seqn + #keys
  for i = 1, math.min(total, MAX_ITEMS) do
    local item
    if i <= seqn then
      item = repr(rawget(t, i), inner, depth + 1, open)
    else
      local k = keys[i - seqn]
      local v = repr(rawget(t, k), inner, depth + 1, open)
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then
        item = k .. " = " .. v
      else
        item = "[" .. repr(k, inner, depth + 1, open) .. "] = " .. v
      end
    end
    items[i] = item
    width = width + #item + 2
    if item:find("\n", 1, true) then oneline = false end
  end
  open[t] = nil
  if total > MAX_ITEMS then
    items[#items + 1] = format("... (%d more)", total - MAX_ITEMS)
  end
  if oneline and #indent + width <= WIDTH then
    return "{" .. concat(items, ", ") .. "}"
  end
  -- One entry per line, except that short sequence items share lines.
  local lines, line = {}, nil
  for i, item in ipairs(items) do
    local packable = i <= seqn and not item:find("\n", 1, true)
    if line and packable and #inner + #line + #item + 2 <= WIDTH then
      line = line .. ", " .. item
    else
      if line then lines[#lines + 1] = line end
      line = item
    end
    if not packable then
      lines[#lines + 1] = line
      line = nil
    end
  end
  if line then lines[#lines + 1] = line end
  return "{\n" .. inner .. concat(lines, ",\n" .. inner) .. "\n" .. indent .. "}"
end

-- One value as text: strings quoted, plain tables expanded, everything else
-- (numbers, handles through __tostring, functions) as tostring shows it.
function repr(v, indent, depth, open)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if tv == "table" then
    local mt = getmetatable(v)
    if not (type(mt) == "table" and rawget(mt, "__tostring")) then
      return reprtable(v, indent, depth, open)
    end
  end
  return safestring(v)
end

-- Formats the results of a command for the REPL, tab-separated as print
-- would, and keeps the first in the global _. Returns nil when there are none.
local function show(...)
  local values = table.pack(...)
  if values.n == 0 then return nil end
  _G._ = values[1]
  local out = {}
  for i = 1, values.n do out[i] = repr(values[i], "", 0, {}) end
  return concat(out, "\t")
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

function help(what)
  print(what == nil and helpall() or helpone(what))
end

return show
