-- complete.lua: what Tab completes in ipcsh. Given the text before the
-- cursor, it finds the name being typed and the table it is looked up in:
-- globals and keywords, fields of tables (`ipc.ri` -> `ipc.ring`), methods
-- of handles after ':' (`q:po` -> `q:pop`), found through __index as the
-- module's classes keep them (a table, or the first upvalue of an __index
-- C function), and file names inside an unfinished string literal. Nothing
-- is called but rawget, getmetatable and the debug library, so completing
-- never runs the user's code. Run by prelude.lua; returns the function the
-- C side calls: complete(before) -> "lua", #word, names | "file", #path | nil.

local sort = table.sort

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

local IDENT = "^[%a_][%w_]*$"

-- Where an unfinished string literal starts (the index after its quote), or
-- nil when the text ends outside any string. Comments are skipped.
local function openstring(line)
  local i, n = 1, #line
  while i <= n do
    local c = line:sub(i, i)
    if c == '"' or c == "'" then
      local j = i + 1
      while j <= n do
        local d = line:sub(j, j)
        if d == "\\" then
          j = j + 2
        elseif d == c then
          break
        else
          j = j + 1
        end
      end
      if j > n then return i + 1 end
      i = j + 1
    elseif c == "[" and line:find("^%[=*%[", i) then
      local eq = line:match("^%[(=*)%[", i)
      local close = line:find("]" .. eq .. "]", i, true)
      if not close then return i + #eq + 2 end
      i = close + #eq + 2
    elseif c == "-" and line:sub(i, i + 1) == "--" then
      local eq = line:match("^%-%-%[(=*)%[", i)
      local close = eq and line:find("]" .. eq .. "]", i, true)
      if eq and not close then return nil end -- in a long comment
      if not eq then
        local nl = line:find("\n", i, true)
        if not nl then return nil end -- in a comment
        i = nl + 1
      else
        i = close + #eq + 2
      end
    else
      i = i + 1
    end
  end
  return nil
end

-- The table of methods an __index C function keeps as its first upvalue
-- (the ipc module's classes with fields do: ipc.proc). A Lua function's
-- first upvalue is often _ENV, which has nothing to do with its fields.
local function upvaluetable(f)
  local okinfo, info = pcall(debug.getinfo, f, "S")
  if not (okinfo and info and info.what == "C") then return nil end
  local ok, _, up = pcall(debug.getupvalue, f, 1)
  if ok and type(up) == "table" then return up end
  return nil
end

-- The table tied to a userdata (a process's stdin, stdout, stderr): the
-- user value from 5.2 on, the environment in 5.1 and LuaJIT.
local getuservalue = debug.getuservalue or debug.getfenv
local function uservalue(u)
  if type(u) ~= "userdata" or not getuservalue then return nil end
  local ok, t = pcall(getuservalue, u, 1)
  if ok and type(t) == "table" then return t end
  return nil
end

-- Every name reachable as v.name: v's own fields when it is a table, then
-- what __index gives, depth first; the first value found for a name wins.
local function names(v, out, depth)
  if depth > 8 then return out end
  if type(v) == "table" then
    for k, x in next, v do
      if type(k) == "string" and out[k] == nil then out[k] = x end
    end
  end
  local ut = uservalue(v)
  if ut then names(ut, out, depth + 1) end
  local mt = getmetatable(v)
  if type(mt) ~= "table" then return out end
  local index = rawget(mt, "__index")
  if type(index) == "function" then index = upvaluetable(index) end
  if index ~= nil then names(index, out, depth + 1) end
  return out
end

-- v.name without running anything: rawget, then __index tables.
local function field(v, name)
  return names(v, {}, 0)[name]
end

-- complete(before): see the top of the file.
return function(before)
  local quote = openstring(before)
  if quote then return "file", #before - quote + 1 end
  -- The chain of names before the cursor: a.b.c or a.b:c, and the part
  -- being typed (possibly empty).
  local start = before:find("[%a_][%w_]*[%w_%.:]*$")
  if not start then
    if before:find("[%.:]$") then return nil end
    start = #before + 1
  end
  local chain = before:sub(start)
  local prev = before:sub(start - 1, start - 1)
  if prev == "." or prev == ":" then return nil end -- t[1].x, f().x: not ours
  local parts, seps, pos = {}, {}, 1
  repeat
    local name, sep, after = chain:match("^([%w_]*)([%.:]?)()", pos)
    parts[#parts + 1], seps[#seps + 1], pos = name, sep, after
  until sep == ""
  local word = parts[#parts]
  for i = 1, #parts - 1 do
    if not parts[i]:find(IDENT) or (seps[i] == ":" and i < #parts - 1) then return nil end
  end
  local v, sep = _G, seps[#parts - 1]
  for i = 1, #parts - 1 do
    v = field(v, parts[i])
    if v == nil then return "lua", #word, {} end
  end
  local found = names(v, {}, 0)
  if not sep then
    for k in pairs(KEYWORDS) do found[k] = found[k] or true end
  end
  local list = {}
  for k, x in pairs(found) do
    if k:sub(1, #word) == word and k:find(IDENT)
      and (sep ~= ":" or type(x) == "function")
      and (not k:find("^__") or word:find("^__"))
      and not (sep and KEYWORDS[k]) then
      list[#list + 1] = k
    end
  end
  sort(list)
  -- One match: what is likely typed next comes with it.
  if #list == 1 then
    local k = list[1]
    local x = found[k]
    if x == true and not sep and KEYWORDS[k] then
      list[1] = k .. " "
    elseif type(x) == "function" then
      list[1] = k .. "("
    elseif type(x) == "table" and not getmetatable(x) then
      list[1] = k .. "."
    end
  end
  return "lua", #word, list
end
