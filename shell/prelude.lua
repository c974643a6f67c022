-- prelude.lua: the Lua half of ipcsh, embedded in the binary and run once at
-- start with the ipc module table and file(name) (the text of an embedded
-- file: shell/*.lua, docs/*.md) as its arguments. It sets the global _ (the
-- first result of the last command) and the globals of help.lua and
-- tools.lua, and returns the function the REPL formats results with.

local ipc, file = ...

local MAX_DEPTH = 5   -- tables nested deeper print as {...}
local MAX_ITEMS = 100 -- entries shown per table; the rest are counted
local WIDTH = 72      -- a table whose entries fit in this many columns stays on one line

local byte, concat, format, sort = string.byte, table.concat, string.format, table.sort

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

-- The shell's other globals come from the embedded files help.lua (help)
-- and tools.lua (ls, rm, watch, bench, ...): each is run with the ipc table
-- and `file`, and returns a table of globals to set.
for _, name in ipairs({ "help.lua", "tools.lua" }) do
  local chunk = assert(load(assert(file(name), name), "=" .. name))
  for k, v in pairs(chunk(ipc, file)) do _G[k] = v end
end

return show
