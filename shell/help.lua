-- help.lua: the shell's help(), embedded in ipcsh and run by prelude.lua
-- with the ipc table and file(name), the text of an embedded file. Returns
-- the globals it defines. The text comes from the embedded docs (the same
-- files as docs/), cut into sections at their headings and shown without
-- the markdown; the overview is read from the live ipc table.

local ipc, file = ...

local DOCS = { "docs/lua.md", "docs/shell.md" }
local WIDTH = 72
local SHOW_MAX = 3 -- more matches than this are listed, not shown
local concat, sort = table.concat, table.sort

-- tostring that cannot raise: a failing __tostring is shown, not thrown.
local function safestring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed: " .. tostring(s) .. ">"
end

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

-- ---------------------------------------------------------- live tables

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

-- Handle classes: the metatables the module registered as "ipc.<class>",
-- with their methods.
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

-- ------------------------------------------------ markdown for a terminal

-- Inline markup out, code text kept: `x` and ``x`` lose their backticks,
-- [text](target) keeps its text, **b** and *e* their letters, \| its bar.
local function inline(s)
  local out, pos = {}, 1
  local function prose(t)
    t = t:gsub("%[([^%]]*)%]%([^)]*%)", "%1")
    t = t:gsub("%*%*(.-)%*%*", "%1")
    t = t:gsub("%f[%w*]%*([^*%s][^*]-)%*%f[^%w*]", "%1")
    t = t:gsub("\\([|*_`%[%]#<>\\])", "%1")
    out[#out + 1] = t
  end
  while true do
    local a, b = s:find("`+", pos)
    if not a then break end
    local fence = s:sub(a, b)
    local c, d = s:find(fence, b + 1, true)
    if not c then break end
    prose(s:sub(pos, a - 1))
    out[#out + 1] = (s:sub(b + 1, c - 1):gsub("^ (.*) $", "%1")):gsub("\\|", "|")
    pos = d + 1
  end
  prose(s:sub(pos))
  return concat(out)
end

-- text wrapped at WIDTH: the first line starts with first, the others with
-- rest (both prefixes count in the width).
local function reflow(text, first, rest, out)
  local line = first
  local empty = true
  for word in text:gmatch("%S+") do
    if not empty and #line + 1 + #word > WIDTH then
      out[#out + 1] = line
      line = rest .. word
    else
      line = line .. (empty and "" or " ") .. word
    end
    empty = false
  end
  out[#out + 1] = line
end

-- The cells of a table row "| a | b |", split at bars that are not escaped
-- (inside code too: markdown tables split there as well).
local function cells(row)
  local list, cur, i = {}, {}, 1
  row = row:gsub("^%s*|", ""):gsub("|%s*$", "")
  while i <= #row do
    local c = row:sub(i, i)
    if c == "\\" and row:sub(i + 1, i + 1) == "|" then
      cur[#cur + 1] = "\\|"
      i = i + 2
    else
      if c == "|" then
        list[#list + 1] = concat(cur)
        cur = {}
      else
        cur[#cur + 1] = c
      end
      i = i + 1
    end
  end
  list[#list + 1] = concat(cur)
  for k, v in ipairs(list) do list[k] = inline(v:match("^%s*(.-)%s*$")) end
  return list
end

-- Display width: UTF-8 continuation bytes take no column.
local function width(s)
  return #s:gsub("[\128-\191]", "")
end

-- The rows of a markdown table as aligned columns; the separator row goes.
local function table_lines(rows, out, indent)
  local grid, widths = {}, {}
  for _, row in ipairs(rows) do
    if not row:match("^%s*|[%s:|-]+|%s*$") then
      local c = cells(row)
      grid[#grid + 1] = c
      for k, v in ipairs(c) do widths[k] = math.max(widths[k] or 0, width(v)) end
    end
  end
  for _, c in ipairs(grid) do
    local parts = {}
    for k, v in ipairs(c) do
      parts[k] = k < #c and v .. (" "):rep(widths[k] - width(v)) or v
    end
    out[#out + 1] = (indent .. concat(parts, "  ")):gsub("%s+$", "")
  end
end

-- Markdown lines (a section's body) as terminal lines under `indent`:
-- paragraphs and list items reflowed, tables aligned, code blocks kept
-- verbatim and indented, blank lines between blocks.
local function render(lines, indent)
  indent = indent or ""
  local out = {}
  local i, n = 1, #lines
  local function blank()
    if #out > 0 and out[#out] ~= "" then out[#out + 1] = "" end
  end
  while i <= n do
    local line = lines[i]
    if line:match("^%s*$") then
      blank()
      i = i + 1
    elseif line:match("^%s*```") then
      blank()
      i = i + 1
      while i <= n and not lines[i]:match("^%s*```") do
        out[#out + 1] = (indent .. "    " .. lines[i]):gsub("%s+$", "")
        i = i + 1
      end
      i = i + 1
      blank()
    elseif line:match("^%s*|") then
      local rows = {}
      while i <= n and lines[i]:match("^%s*|") do
        rows[#rows + 1] = lines[i]
        i = i + 1
      end
      table_lines(rows, out, indent .. "  ")
    else
      -- A list item or a paragraph: gather its continuation lines.
      local lead, bullet, rest = line:match("^(%s*)([-*] )(.*)$")
      if not bullet then
        lead, bullet, rest = line:match("^(%s*)(%d+%. )(.*)$")
      end
      local text = { bullet and rest or line:match("^%s*(.-)$") }
      i = i + 1
      while i <= n and not lines[i]:match("^%s*$") and not lines[i]:match("^%s*[-*] ")
        and not lines[i]:match("^%s*%d+%. ") and not lines[i]:match("^%s*```")
        and not lines[i]:match("^%s*|") do
        text[#text + 1] = lines[i]:match("^%s*(.-)$")
        i = i + 1
      end
      local body = inline(concat(text, " "))
      if bullet then
        local pad = indent .. lead
        reflow(body, pad .. bullet, pad .. (" "):rep(#bullet), out)
      else
        reflow(body, indent, indent, out)
      end
    end
  end
  while out[#out] == "" do out[#out] = nil end
  return out
end

-- ------------------------------------------------------ the docs, parsed

-- The names a code span of a heading or list item documents: a call
-- ("ipc.ring.create(...)", "q:push(...)", "help(...)") or a field
-- ("ipc.version"). Results after "→" are not names.
local function spanname(span)
  return span:match("^([%a_][%w_.:<>]*)%(") or span:match("^(ipc%.[%w_.<>]+)$")
end

-- The names documented by a heading or item text: those of its code
-- spans before the first "→" that follows a name, or of every span.
local function names_in(text)
  local names = {}
  for span, after in text:gmatch("`([^`]+)`([^`]*)") do
    local name = spanname(span)
    if name then names[#names + 1] = name end
    if name and after:find("→", 1, true) and not after:find(",%s*$") then break end
  end
  return names
end

local docs -- parsed once, on the first help(...) that needs them

-- Cuts every doc into sections at its headings (outside code blocks) and
-- indexes the entries: headings and list items that document names.
local function load_docs()
  if docs then return docs end
  docs = { sections = {}, entries = {} }
  for _, path in ipairs(DOCS) do
    local text = file(path)
    if text then
      local stack, current, fenced = {}, nil, false
      local function add_entry(names, sig, body, section, group)
        docs.entries[#docs.entries + 1] = {
          names = names, sig = sig, body = body, section = section, group = group,
        }
      end
      for line in (text .. "\n"):gmatch("(.-)\r?\n") do
        local hashes, title = line:match("^(#+)%s+(.-)%s*$")
        if line:match("^%s*```") then fenced = not fenced end
        if hashes and not fenced then
          local level = #hashes
          while #stack > 0 and stack[#stack].level >= level do stack[#stack] = nil end
          current = {
            level = level, title = title, plain = inline(title), doc = path,
            parent = stack[#stack], body = {}, children = {},
          }
          if current.parent then
            local kids = current.parent.children
            kids[#kids + 1] = current
          end
          stack[#stack + 1] = current
          docs.sections[#docs.sections + 1] = current
          local names = names_in(title)
          if #names > 0 then
            current.entry = true
            add_entry(names, current.plain, current.body, current, current.parent)
          end
        elseif current then
          current.body[#current.body + 1] = line
        end
      end
    end
  end
  -- List items that document a method ("- `s:wait([timeout])` → true: ...")
  -- are entries too, with their own lines as the body.
  for _, sec in ipairs(docs.sections) do
    local body, i = sec.body, 1
    while i <= #body do
      local item = body[i]:match("^[-*] (`.*)$")
      local names = item and names_in(item) or {}
      if #names > 0 then
        local lines = { body[i] }
        i = i + 1
        while i <= #body and body[i]:match("^%s+%S") do
          lines[#lines + 1] = body[i]
          i = i + 1
        end
        local sig = inline(item:match("^(.-%S)%s*:%s") or item:match("^(.-%S)%.%s") or item)
        if width(sig) > 60 then -- a sentence, not a signature: the names alone
          local spans = {}
          for span in item:gmatch("`([^`]+)`") do
            if spanname(span) then spans[#spans + 1] = span end
          end
          sig = concat(spans, ", ")
        end
        docs.entries[#docs.entries + 1] = {
          names = names, sig = sig, body = lines, section = sec, group = sec, item = true,
        }
      else
        i = i + 1
      end
    end
  end
  -- The group (section) that documents each handle class: the one whose
  -- method entries share the most names with the class's methods.
  local live = classes()
  for cls, methods in pairs(live) do
    local set = {}
    for _, m in ipairs(methods) do set[m] = true end
    local best, score = nil, 1
    for _, sec in ipairs(docs.sections) do
      local seen, n = {}, 0
      for _, e in ipairs(docs.entries) do
        if e.group == sec then
          for _, name in ipairs(e.names) do
            local m = name:match("^[%a_][%w_]*:([%w_]+)$")
            if m and set[m] and not seen[m] then seen[m], n = true, n + 1 end
          end
        end
      end
      if n > score then best, score = sec, n end
    end
    if best and not best.class then best.class = cls end
  end
  -- Every key an entry answers to: its names, "ring.create" for
  -- "ipc.ring.create", "ring:push" for q:push when its group documents
  -- ipc.ring, and the short name ("push", "create").
  for _, e in ipairs(docs.entries) do
    local keys = {}
    for _, name in ipairs(e.names) do
      keys[#keys + 1] = name
      local rest = name:match("^ipc%.(.+)$")
      if rest then keys[#keys + 1] = rest end
      local method = name:match(":([%w_]+)$")
      local cls = e.group and e.group.class
      if method and cls then keys[#keys + 1] = cls:gsub("^ipc%.", "") .. ":" .. method end
      keys[#keys + 1] = name:match("([^.:]+)$")
    end
    e.keys = {}
    for _, k in ipairs(keys) do e.keys[k:lower()] = true end
    e.short = {}
    for _, name in ipairs(e.names) do e.short[name:match("([^.:]+)$"):lower()] = true end
  end
  return docs
end

-- "docs/lua.md: Rings > Ring methods": where a section is.
local function where(sec)
  local path = {}
  local s = sec
  while s do
    if s.level > 1 then table.insert(path, 1, s.plain) end
    s = s.parent
  end
  return sec.doc .. (#path > 0 and ": " .. concat(path, " > ") or "")
end

-- One entry in full: its signature, its text indented, where it is.
local function show_entry(e)
  local out = { e.sig }
  local body = e.body
  if e.item then -- the item's first line repeats the signature: drop it
    local first = body[1]:gsub("^[-*] ", "")
    local after = first:match("^.-%S%s*:%s(.*)$")
    body = { after or "" }
    for k = 2, #e.body do body[#body + 1] = e.body[k] end
  end
  for _, l in ipairs(render(body, "  ")) do out[#out + 1] = l end
  out[#out + 1] = "  (" .. where(e.item and e.section or e.section.parent or e.section) .. ")"
  return concat(out, "\n")
end

-- The first paragraph of a section's own text.
local function intro(sec)
  local para = {}
  for _, l in ipairs(sec.body) do
    if l:match("^%s*$") then
      if #para > 0 then break end
    elseif l:match("^%s*```") or l:match("^%s*|") then
      break
    else
      para[#para + 1] = l
    end
  end
  return render(para)
end

-- A whole section and its subsections.
local function show_section(sec)
  local out = { sec.plain, ("-"):rep(math.min(width(sec.plain), WIDTH)) }
  local function walk(s, top)
    if not top then
      out[#out + 1] = ""
      out[#out + 1] = s.plain
    end
    for _, l in ipairs(render(s.body, top and "" or "  ")) do out[#out + 1] = l end
    for _, c in ipairs(s.children) do walk(c, false) end
  end
  walk(sec, true)
  out[#out + 1] = "(" .. where(sec) .. ")"
  return concat(out, "\n")
end

-- The entries whose key is k.
local function lookup(k)
  local found = {}
  for _, e in ipairs(load_docs().entries) do
    if e.keys[k:lower()] then found[#found + 1] = e end
  end
  return found
end

-- The key that shows entry e alone, by the name of it that matches short
-- (or its first): "ring:push" for q:push of a ring, "ring.create" for
-- ipc.ring.create.
local function key_of(e, short)
  local name = e.names[1]
  for _, n in ipairs(e.names) do
    if short and n:lower():match("([^.:]+)$") == short then name = n end
  end
  local method = name:match(":([%w_]+)$")
  local cls = e.group and e.group.class
  if method and cls then return (cls:gsub("^ipc%.", "")) .. ":" .. method end
  return (name:gsub("^ipc%.", ""))
end

-- The signatures of the entries, one per line, with the help that shows
-- each alone.
local function listing(found, head, short)
  local out = { head }
  for _, e in ipairs(found) do
    local sig = "  " .. e.sig
    local pad = math.max(2, 46 - width(sig))
    out[#out + 1] = sig .. (" "):rep(pad) .. ("help %q"):format(key_of(e, short))
  end
  return concat(out, "\n")
end

local function show_entries(found, what)
  if #found <= SHOW_MAX then
    local parts = {}
    for _, e in ipairs(found) do parts[#parts + 1] = show_entry(e) end
    return concat(parts, "\n\n")
  end
  return listing(found, ("'%s' is documented %d times:"):format(what, #found), what:lower())
end

-- The section a handle class's methods are documented in.
local function class_section(cls)
  for _, sec in ipairs(load_docs().sections) do
    if sec.class == cls then return sec end
  end
end

-- A handle class: its section's first paragraph and its methods'
-- signatures, then the methods the class has now, on one last line.
local function help_class(cls)
  local methods = classes()[cls]
  if not methods then return nil end
  local sec = class_section(cls)
  local out = {}
  if sec then
    out[#out + 1] = cls .. " handles (" .. where(sec) .. ")"
    for _, l in ipairs(intro(sec)) do out[#out + 1] = l end
    local found = {}
    for _, e in ipairs(docs.entries) do
      if e.group == sec and e.names[1]:find(":", 1, true) then found[#found + 1] = e end
    end
    out[#out + 1] = listing(found, "documented methods:")
  end
  out[#out + 1] = wrap(methods, cls .. ": ")
  return concat(out, "\n")
end

-- A namespace (ipc.ring): its functions' signatures, its handles' methods.
local function help_namespace(ns)
  local t = ipc[ns]
  local found, home = {}, nil
  for _, e in ipairs(load_docs().entries) do
    for _, name in ipairs(e.names) do
      if name:match("^ipc%." .. ns:gsub("%p", "%%%0") .. "%.") then
        found[#found + 1] = e
        home = home or (e.section.parent or e.section)
        break
      end
    end
  end
  local out = {}
  if home then
    out[#out + 1] = "ipc." .. ns .. " (" .. where(home) .. ")"
    for _, l in ipairs(intro(home)) do out[#out + 1] = l end
    out[#out + 1] = listing(found, "functions:")
  else
    out[#out + 1] = wrap((members(t)), "ipc." .. ns .. ".<name>: ")
  end
  if classes()["ipc." .. ns] then
    out[#out + 1] = ""
    out[#out + 1] = help_class("ipc." .. ns)
  end
  if home then
    out[#out + 1] = ("(help %q shows the whole section)"):format(home.plain)
  end
  return concat(out, "\n")
end

-- Edit distance, for suggestions.
local function distance(a, b)
  if a == b then return 0 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- Up to five known topics close to word.
local function suggest(word)
  word = word:lower()
  local seen, cands = {}, {}
  local function add(k)
    k = k:lower()
    if not seen[k] then
      seen[k] = true
      cands[#cands + 1] = k
    end
  end
  for _, e in ipairs(load_docs().entries) do
    for k in pairs(e.short) do add(k) end
    for _, n in ipairs(e.names) do add(n) end
  end
  for k, v in pairs(ipc) do
    if type(v) == "table" and type(k) == "string" then add(k) end
  end
  for _, sec in ipairs(docs.sections) do add(sec.plain) end
  local scored = {}
  local limit = math.max(1, math.floor(#word / 3))
  for _, k in ipairs(cands) do
    local d = distance(word, k)
    if d <= limit or (#word >= 3 and k:sub(1, #word) == word) then
      scored[#scored + 1] = { k = k, d = d }
    end
  end
  sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    return x.k < y.k
  end)
  local out = {}
  for i = 1, math.min(5, #scored) do out[i] = scored[i].k end
  return out
end

local function unknown(what)
  local close = suggest(what)
  if #close > 0 then
    return ("help: nothing is documented as '%s'; did you mean %s?"):format(what,
      concat(close, ", "))
  end
  return ("help: nothing is documented as '%s'; help() lists what there is"):format(what)
end

-- help "name": a documented name, a namespace, a handle class, a section
-- title, in that order of preference.
local function help_topic(what)
  local k = what:match("^%s*(.-)%s*$")
  local key = k:lower()
  local found = {}
  for _, e in ipairs(load_docs().entries) do
    for _, name in ipairs(e.names) do
      local n = name:lower()
      if n == key or n == "ipc." .. key then
        found[#found + 1] = e
        break
      end
    end
  end
  local ns = k:gsub("^ipc%.", "")
  if #found == 0 then
    -- "ring:push", "ring.create": a class- or namespace-qualified name.
    for _, e in ipairs(lookup(key)) do
      if not e.short[key] then found[#found + 1] = e end
    end
  end
  local parts = {}
  if #found > 0 then parts[#parts + 1] = show_entries(found, k) end
  if #found == 0 and type(ipc[ns]) == "table" then return help_namespace(ns) end
  local cls = classes()["ipc." .. ns] and "ipc." .. ns
  if cls then
    parts[#parts + 1] = help_class(cls)
  end
  if #parts > 0 then return concat(parts, "\n\n") end
  local short = {}
  for _, e in ipairs(docs.entries) do
    if e.short[key] then short[#short + 1] = e end
  end
  if #short > 0 then return show_entries(short, k) end
  for _, sec in ipairs(docs.sections) do
    if sec.plain:lower() == key then return show_section(sec) end
  end
  return unknown(k)
end

-- The name a value has in ipc ("ipc.ring.create"), or as a global ("ls").
local function nameof(v)
  for k, x in pairs(ipc) do
    if x == v then return "ipc." .. k end
    if type(x) == "table" then
      for k2, y in pairs(x) do
        if y == v then return "ipc." .. k .. "." .. k2 end
      end
    end
  end
  for k, x in pairs(_G) do
    if x == v and type(k) == "string" then return k end
  end
end

-- The shell's own functions: those docs/shell.md documents that exist.
local function shell_functions()
  local names, seen = {}, {}
  for _, e in ipairs(load_docs().entries) do
    for _, n in ipairs(e.names) do
      if e.section.doc == "docs/shell.md" and n:match("^[%a_][%w_]*$")
        and type(_G[n]) == "function" and not seen[n] then
        seen[n] = true
        names[#names + 1] = n .. "()"
      end
    end
  end
  sort(names)
  return names
end

local function helpall()
  local lines = {
    "ipcsh: " .. (type(jit) == "table" and jit.version or _VERSION)
      .. " with the ipc module loaded as the global `ipc`.",
    "Type a statement or an expression; results are printed, the first is kept in _.",
    "Ctrl-C interrupts what runs (or cancels the line), Ctrl-D exits, Up/Down recall history.",
    "",
  }
  local funcs, spaces = members(ipc)
  local codes = {}
  for k, v in pairs(ipc) do
    if type(k) == "string" and k:match("^E[%u%d]+$") and type(v) == "number" then
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
  local tools = shell_functions()
  if #tools > 0 then
    lines[#lines + 1] = "shell functions:"
    lines[#lines + 1] = wrap(tools, "  ")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "help(x) explains a namespace (help(ipc.ring)), a handle (help(q)) or a"
  lines[#lines + 1] = "function; help \"push\" looks a name up, help \"Tools\" shows a section."
  lines[#lines + 1] = "The text is that of docs/lua.md and docs/shell.md."
  return concat(lines, "\n")
end

local function helpone(what)
  if type(what) == "string" then return help_topic(what) end
  if what == ipc then return helpall() end
  local mt = getmetatable(what)
  if type(mt) == "table" then
    local cls = rawget(mt, "__name")
    if type(cls) == "string" and classes()[cls] then return help_class(cls) end
    if #methodsof(mt) > 0 then
      return wrap(methodsof(mt), safestring(cls or "methods") .. ": ")
    end
  end
  local name = (type(what) == "table" or type(what) == "function") and nameof(what)
  if name then
    local ns = name:match("^ipc%.([%w_]+)$")
    if ns and type(what) == "table" then return help_namespace(ns) end
    return help_topic(name)
  end
  if type(what) == "table" then
    return wrap((members(what)), "functions: ")
  end
  return "help: expected a namespace, a handle, a function or a name, got " .. type(what)
end

local function help(what)
  print(what == nil and helpall() or helpone(what))
end

return { help = help }
