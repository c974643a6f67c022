-- pretty.lua: how ipcsh prints values. Strings are quoted so that they read
-- back, with control bytes and bytes that are not UTF-8 escaped; tables are
-- expanded with their keys sorted, cycles and deep nesting cut; handles show
-- their state; colours on a terminal; and a long result is cut with a
-- notice, after a bounded amount of work. Run by prelude.lua with the ipc
-- table and whether to colour; returns { format = f }.

local _, color = ...

local LIMITS = {
  depth = 5,        -- tables nested deeper print as {...}
  items = 100,      -- entries shown per table; the rest are counted
  string = 2000,    -- bytes shown of a string; the rest are counted
  output = 20000,   -- characters of one result before it is cut
  sortable = 10000, -- a table with more keys is shown in traversal order
}
local WIDTH = 72 -- a table whose entries fit in this many columns stays on one line

local byte, concat, format, sort = string.byte, table.concat, string.format, table.sort

-- ANSI colours (SGR codes) of the kinds of text.
local COLORS = {
  string = "32", number = "36", literal = "35", handle = "33",
  ["function"] = "34", note = "2",
}

local function paint(kind, s)
  if not color then return s end
  return "\27[" .. COLORS[kind] .. "m" .. s .. "\27[0m"
end

-- The columns s takes, colours aside (bytes: close enough for layout).
local function width(s)
  if color then s = s:gsub("\27%[[%d;]*m", "") end
  return #s
end

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\a"] = "\\a", ["\b"] = "\\b",
  ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\v"] = "\\v",
}

-- A run of bytes >= 128: UTF-8 sequences stay as they are (readable text),
-- any other byte becomes \ddd, so binary data never reaches the terminal.
local function utf8ish(run)
  local out, i, n = {}, 1, #run
  while i <= n do
    local b = byte(run, i)
    local len = b >= 0xF0 and b <= 0xF4 and 4 or b >= 0xE0 and 3 or b >= 0xC2 and b <= 0xDF and 2
    local ok = len and i + len - 1 <= n
    if ok then
      for j = i + 1, i + len - 1 do
        local c = byte(run, j)
        if c < 0x80 or c > 0xBF then ok = false break end
      end
    end
    if ok then
      out[#out + 1] = run:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = format("\\%03d", b)
      i = i + 1
    end
  end
  return concat(out)
end

-- A string as a Lua literal that reads back as the same bytes (cut after
-- LIMITS.string bytes, with a notice). Control bytes get three-digit
-- escapes so a following digit cannot join them.
local function quote(s)
  local n = #s
  if n > LIMITS.string then s = s:sub(1, LIMITS.string) end
  local body = s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or format("\\%03d", byte(c))
  end):gsub("[\128-\255]+", utf8ish)
  local text = paint("string", '"' .. body .. '"')
  if n > LIMITS.string then
    text = text .. paint("note", format("... (%d bytes, the first %d shown)", n, LIMITS.string))
  end
  return text
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

local function plural(n, what)
  return tostring(n) .. " " .. what .. (n == 1 and "" or "s")
end

-- A ring with what its stats add to tostring: the messages in it, the
-- records abandoned by dead producers, who is attached.
local function ringstate(q)
  local ok, st = pcall(q.stats, q)
  if not ok or type(st) ~= "table" then return nil end
  local okname, name = pcall(q.name, q)
  local parts = {
    okname and name or "anonymous", tostring(st.mode), plural(st.depth, "message"),
    format("%s/%s bytes used", tostring(st.used), tostring(st.capacity)),
    tostring(st.pushed) .. " pushed", tostring(st.popped) .. " popped",
  }
  if (st.abandoned or 0) > 0 then parts[#parts + 1] = tostring(st.abandoned) .. " abandoned" end
  parts[#parts + 1] = plural(st.producers, "producer")
  parts[#parts + 1] = plural(st.consumers, "consumer")
  return "ipc.ring (" .. concat(parts, ", ") .. ")"
end

-- A handle of the ipc module: its __tostring, which shows its state, after
-- a process has been asked whether it ended (p:status() reaps it if so),
-- and with a ring's stats. Anything else with a __tostring: that.
local function handle(v, name)
  if name == "ipc.proc" then
    pcall(v.status, v) -- raises when closed: tostring says so
  elseif name == "ipc.ring" then
    local s = ringstate(v)
    if s then return s end
  end
  return safestring(v)
end

-- Where a Lua function was defined.
local function funcstring(f)
  local s = safestring(f)
  local ok, info = pcall(debug.getinfo, f, "S")
  if ok and info and info.what ~= "C" and info.short_src then
    s = s .. " (" .. info.short_src .. ":" .. tostring(info.linedefined) .. ")"
  end
  return s
end

local repr

-- A table: the sequence 1..n first, without keys, then the other entries in
-- key order; on one line when short, else one entry per line under `indent`.
-- `st` is the state of one result: the tables open above (cycles) and the
-- characters left before the output is cut.
local function reprtable(t, indent, depth, st)
  if st.open[t] then return paint("note", "<cycle>") end
  if next(t) == nil then return "{}" end
  if depth >= LIMITS.depth or st.left <= 0 then return paint("note", "{...}") end
  -- The sequence is counted only as far as it can be shown: a table of
  -- millions of items costs one traversal, not a sort.
  local seqn = 0
  while seqn <= LIMITS.items and rawget(t, seqn + 1) ~= nil do seqn = seqn + 1 end
  local keys, total = {}, 0
  for k in next, t do
    total = total + 1
    if #keys <= LIMITS.sortable
      and not (type(k) == "number" and k >= 1 and k <= seqn and k % 1 == 0) then
      keys[#keys + 1] = k
    end
  end
  if #keys <= LIMITS.sortable then sort(keys, keyorder) end
  st.open[t] = true
  local inner = indent .. "  "
  local items, oneline, used = {}, true, 0
  for i = 1, math.min(total, LIMITS.items) do
    if st.left <= 0 then break end
    local item
    if i <= seqn then
      item = repr(rawget(t, i), inner, depth + 1, st)
    else
      local k = keys[i - seqn]
      local v = repr(rawget(t, k), inner, depth + 1, st)
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then
        item = k .. " = " .. v
      else
        item = "[" .. repr(k, inner, depth + 1, st) .. "] = " .. v
      end
    end
    items[#items + 1] = item
    used = used + width(item) + 2
    st.left = st.left - #indent - 2
    if item:find("\n", 1, true) then oneline = false end
  end
  st.open[t] = nil
  if total > #items then
    items[#items + 1] = paint("note", format("... (%d more)", total - #items))
  end
  if oneline and #indent + used <= WIDTH then
    return "{" .. concat(items, ", ") .. "}"
  end
  -- One entry per line, except that short sequence items share lines.
  local lines, line = {}, nil
  for i, item in ipairs(items) do
    local packable = i <= seqn and not item:find("\n", 1, true)
    if line and packable and #inner + width(line) + width(item) + 2 <= WIDTH then
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

-- One value as text: strings quoted, plain tables expanded, handles with
-- their state, everything else as tostring shows it.
function repr(v, indent, depth, st)
  local tv = type(v)
  local s
  if tv == "string" then
    s = quote(v)
  elseif tv == "number" then
    s = paint("number", tostring(v))
  elseif tv == "boolean" or tv == "nil" then
    s = paint("literal", tostring(v))
  elseif tv == "function" then
    s = paint("function", funcstring(v))
  else
    local mt = getmetatable(v)
    local name = type(mt) == "table" and rawget(mt, "__name")
    if tv == "table" and not (type(mt) == "table" and rawget(mt, "__tostring")) then
      return reprtable(v, indent, depth, st)
    end
    if type(name) == "string" and name:match("^ipc%.") then
      s = paint("handle", handle(v, name))
    else
      s = safestring(v)
    end
  end
  st.left = st.left - width(s)
  return s
end

-- The text of the values, tab-separated as print would do: nil when there
-- are none. One budget of LIMITS.output characters covers them all.
local function formatvalues(...)
  local n = select("#", ...)
  if n == 0 then return nil end
  local st = { open = {}, left = LIMITS.output }
  local out = {}
  for i = 1, n do
    out[i] = repr((select(i, ...)), "", 0, st)
  end
  local text = concat(out, "\t")
  if st.left <= 0 then
    text = text .. "\n"
      .. paint("note", format("(output cut after about %d characters)", LIMITS.output))
  end
  return text
end

return { format = formatvalues, limits = LIMITS }
