-- ipc_spec.lua: the module as a whole: loading without globals, the version,
-- the error codes with their names and messages, getpid, and the EINTR hook
-- ("ipc.interrupt" in the registry) that lets a host break a blocked wait.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

describe("the ipc module", function()
  after_each(helper.cleanup)

  it("returns a table and sets no global", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded.ipc = nil
    local again = require "ipc"
    package.loaded.ipc = ipc
    assert.equal("table", type(again))
    assert.equal("function", type(again.pipe))
    for k in pairs(_G) do assert.is_true(before[k], "new global " .. tostring(k)) end
  end)

  it("has its functions as fields", function()
    for _, name in ipairs { "pipe", "fork", "spawn", "getpid", "strerror", "errname" } do
      assert.equal("function", type(ipc[name]), name)
    end
  end)

  it("tells its version as major.minor.patch", function()
    assert.matches("^%d+%.%d+%.%d+$", ipc.version)
  end)

  it("has a negative integer code for each error, with its name and message", function()
    local n = 0
    for name, code in pairs(ipc) do
      if type(name) == "string" and name:match("^E%u") then
        n = n + 1
        assert.equal("number", type(code), name)
        assert.is_true(code < 0 and code == math.floor(code), name)
        assert.equal(name, ipc.errname(code))
        assert.not_equal("unknown error", ipc.strerror(code))
      end
    end
    assert.is_true(n >= 40)
    assert.equal("broken pipe", ipc.strerror(ipc.EPIPE))
    assert.equal("timed out", ipc.strerror(ipc.ETIMEDOUT))
    assert.equal("end of file", ipc.strerror(ipc.EOF))
    assert.equal("EPEERDEAD", ipc.errname(ipc.EPEERDEAD))
    assert.is_true(ipc.EPIPE ~= ipc.ETIMEDOUT and ipc.EAGAIN ~= ipc.EINTR)
  end)

  it("names an unknown code UNKNOWN and raises for a code that is not a number", function()
    assert.equal("UNKNOWN", ipc.errname(12345))
    assert.equal("unknown error", ipc.strerror(12345))
    assert.has_error(function() ipc.strerror("x") end)
    assert.has_error(function() ipc.errname(1.5) end,
      "bad argument #1 to 'errname' (number has no integer representation)")
  end)

  it("gives this process's pid with getpid()", function()
    local stat = helper.read_file("/proc/self/stat")
    assert.equal(tonumber(stat:match("^%d+")), ipc.getpid())
  end)
end)

describe("the EINTR hook", function()
  local registry = debug.getregistry()
  after_each(function()
    registry["ipc.interrupt"] = nil
    helper.cleanup()
  end)

  -- lua.c (and luajit.c) catch SIGINT while running a script: the handler
  -- sets a debug hook that raises "interrupted!" in the next Lua code run.
  -- The ipc.interrupt function is that code, run inside the wait; without
  -- it the error would come only after the read had returned its data.
  it("lets the interpreter's Ctrl-C out of a blocked read, and the data arrives whole", function()
    if not helper.catches(2) then return pending("this interpreter does not catch SIGINT") end
    registry["ipc.interrupt"] = function() end
    local r, w = track(ipc.pipe())
    local parent = ipc.getpid()
    local p = track(assert(ipc.spawn(function()
      w:write("par")
      helper.sleep(0.2)
      os.execute("kill -INT " .. parent)
      helper.sleep(0.2)
      w:write("tial\n")
    end)))
    w:close()
    r:settimeout(5)
    local ok, err = pcall(r.read, r, "l")
    assert.is_false(ok)
    assert.matches("interrupted!", err)
    assert.equal("partial", r:read("l"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)
end)
