-- eventloops_spec.lua: runs each "-- recipe:" block of docs/eventloops.md
-- (ipc objects driven from luv and from cqueues) in a fresh interpreter of
-- the version under test, and checks what it prints. A recipe whose library
-- is not installed is pending (scripts/setup installs lua-luv and
-- lua-cqueues).

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- The recipes of the doc: name -> code.
local function recipes()
  local text = assert(helper.read_file(dir .. "/../../docs/eventloops.md"))
  local found = {}
  for block in text:gmatch("```lua\n(.-)```") do
    local name = block:match("^%-%- recipe: (%S+)")
    if name then found[name] = block end
  end
  return found
end

-- Runs code in a new interpreter; returns its output and how it ended.
-- (The newline first: lua.c takes an -e argument that starts with "-" for
-- an option.)
local function run(code)
  local p = track(assert(ipc.spawn({ helper.interpreter(), "-e", "\n" .. code },
    { stdout = "pipe", stderr = "pipe" })))
  p.stdout:settimeout(30)
  local out = p.stdout:read("a")
  local err = p.stderr:read("a")
  return out, err, p:wait()
end

local function has(lib) return (pcall(require, lib)) end

describe("docs/eventloops.md", function()
  after_each(helper.cleanup)
  local all = recipes()

  it("has the recipes the tests expect", function()
    assert.is_string(all.luv)
    assert.is_string(all["luv-signal"])
    assert.is_string(all.cqueues)
  end)

  local cases = {
    { "luv", "luv", "line 1, line 2, line 3, EOF\texit 0\n" },
    { "luv-signal", "luv", "true\n" },
    { "cqueues", "cqueues", "line 1, line 2, line 3, EOF\texit 0\n" },
  }
  for _, case in ipairs(cases) do
    local name, lib, expected = case[1], case[2], case[3]
    it("runs the " .. name .. " recipe", function()
      if not has(lib) then return pending(lib .. " is not installed for this Lua") end
      local out, err, how, code = run(all[name])
      assert.equal("", err)
      assert.equal(expected, out)
      assert.same({ "exit", 0 }, { how, code })
    end)
  end
end)
