-- time_spec.lua: ipc.now(), the monotonic clock in seconds, and
-- ipc.sleep(), which a signal interrupts through the EINTR policy (the
-- "ipc.interrupt" hook) and which then sleeps only the time left.

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

describe("ipc.now", function()
  it("counts seconds as a float that never goes back", function()
    local a = ipc.now()
    local b = ipc.now()
    assert.equal("number", type(a))
    assert.is_true(a > 0 and b >= a)
  end)

  it("advances as much as a timed-out wait lasted", function()
    local t0 = ipc.now()
    helper.sleep(0.2) -- a pipe read that times out after 0.2 s
    local dt = ipc.now() - t0
    assert.is_true(dt >= 0.2 and dt < 1, "elapsed " .. dt)
  end)

  it("agrees with the kernel's monotonic clock (/proc/uptime counts from boot)", function()
    local up = tonumber(helper.read_file("/proc/uptime"):match("^[%d.]+"))
    -- CLOCK_MONOTONIC stops during suspend and uptime does not: not above it.
    assert.is_true(ipc.now() <= up + 0.1)
  end)
end)

describe("ipc.sleep", function()
  after_each(helper.cleanup)

  it("sleeps the seconds given, fractions included", function()
    local t0 = ipc.now()
    assert.equal(0, select("#", ipc.sleep(0.15)))
    local dt = ipc.now() - t0
    assert.is_true(dt >= 0.15 and dt < 1, "elapsed " .. dt)
  end)

  it("returns at once for 0", function()
    local t0 = ipc.now()
    ipc.sleep(0)
    assert.is_true(ipc.now() - t0 < 0.1)
  end)

  it("raises for a negative, NaN or missing time", function()
    assert.has_error(function() ipc.sleep(-1) end,
      "bad argument #1 to 'sleep' (seconds must not be negative)")
    assert.has_error(function() ipc.sleep(0 / 0) end,
      "bad argument #1 to 'sleep' (seconds must not be negative)")
    assert.has_error(function() ipc.sleep() end)
    assert.has_error(function() ipc.sleep("soon") end)
  end)

  -- The interpreter's SIGINT handler (lua.c, luajit.c) arms a hook that
  -- raises "interrupted!" in the next Lua call, and puts SIG_DFL back until
  -- the script ends: one SIGINT per interpreter run. So each case runs a
  -- fresh interpreter that says "ready", sleeps, and reports; the parent
  -- sends SIGINT 0.2 s after "ready".
  local function sleep_interrupted(setup, seconds)
    local code = setup .. [[
      local ipc = require "ipc"
      local t0 = ipc.now()
      io.write("ready\n") io.flush()
      local ok, err = pcall(ipc.sleep, ]] .. seconds .. [[)
      io.write(string.format("%s %.3f %s\n", tostring(ok), ipc.now() - t0, tostring(err)))
    ]]
    local p = track(assert(ipc.spawn({ helper.interpreter(), "-e", code }, { stdout = "pipe" })))
    p.stdout:settimeout(10)
    assert.equal("ready", p.stdout:read("l"))
    ipc.sleep(0.2)
    assert(p:kill("INT"))
    local line = p.stdout:read("l")
    assert.same({ "exit", 0 }, { p:wait() })
    local ok, dt, err = line:match("^(%a+) ([%d.]+) (.*)$")
    return ok == "true", tonumber(dt), err
  end

  -- Without an ipc.interrupt function the sleep goes on after the signal to
  -- its first deadline (one that started over would last 0.2 s longer), and
  -- the armed hook raises right after it returns.
  it("sleeps only the time left after a signal", function()
    local ok, dt, err = sleep_interrupted("", 0.6)
    assert.is_false(ok)
    assert.matches("interrupted!", err)
    assert.is_true(dt >= 0.6 and dt < 0.75, "elapsed " .. dt)
  end)

  it("lets the ipc.interrupt hook break the sleep", function()
    local ok, dt, err = sleep_interrupted(
      'debug.getregistry()["ipc.interrupt"] = function() end\n', 5)
    assert.is_false(ok)
    assert.matches("interrupted!", err)
    assert.is_true(dt >= 0.2 and dt < 2, "elapsed " .. dt)
  end)
end)
