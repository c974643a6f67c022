-- proc_spec.lua: ipc.fork, ipc.spawn of programs and of Lua functions, and
-- process handles: pipes on the standard streams, exit codes, signals,
-- waits with timeouts, and what a child must never do (flush the parent's
-- buffers again, run the parent's finalizers, stay a zombie).

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local helper = require "helper"
local ipc = helper.ipc
local track = helper.track

-- A spawn that must work; after_each reaps it.
local function spawn(what, opts)
  return track(assert(ipc.spawn(what, opts)))
end

-- Runs a Lua script in a fresh interpreter (the one running the specs) that
-- finds the module where this one did; returns its stdout and exit status.
local function run_script(script)
  local p = spawn({ helper.interpreter(), "-e",
    ("package.cpath = %q"):format(package.cpath), "-e", script },
    { stdout = "pipe" })
  return helper.output(p)
end

describe("ipc.fork", function()
  after_each(helper.cleanup)

  it("returns 0 in the child and, in the parent, a handle that sees its exit code", function()
    local p = ipc.fork()
    if p == 0 then os.exit(7) end
    track(p)
    assert.matches("^ipc%.proc %(pid %d+, ", tostring(p))
    assert.is_true(p.pid > 0 and p.pid ~= ipc.getpid())
    assert.same({ "exit", 7 }, { p:wait() })
  end)

  it("does not make the child write the parent's buffered output again", function()
    local out, how, code = run_script [[
      local ipc = require "ipc"
      io.write("parent-buffered;")
      local p = ipc.fork()
      if p == 0 then io.write("child;") os.exit(0) end
      p:wait()
      io.write("end")
    ]]
    assert.same({ "exit", 0 }, { how, code })
    assert.equal("parent-buffered;child;end", out)
  end)
end)

describe("ipc.spawn of a program", function()
  after_each(helper.cleanup)

  it("runs cat with pipes on stdin and stdout", function()
    local p = spawn({ "cat" }, { stdin = "pipe", stdout = "pipe" })
    assert.matches("^ipc%.pipe %(writer", tostring(p.stdin))
    assert.matches("^ipc%.pipe %(reader", tostring(p.stdout))
    assert.is_nil(p.stderr)
    p.stdin:write("round\ntrip\n")
    assert.equal("round", p.stdout:read("l"))
    p.stdin:close()
    assert.equal("trip\n", p.stdout:read("a"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("captures the stderr and the exit code of sh -c", function()
    local p = spawn({ "sh", "-c", "echo out; echo err >&2; exit 3" },
      { stdout = "pipe", stderr = "pipe" })
    assert.equal("out\n", p.stdout:read("a"))
    assert.equal("err\n", p.stderr:read("a"))
    assert.same({ "exit", 3 }, { p:wait() })
  end)

  it("takes numbers in argv", function()
    local p = spawn({ "sh", "-c", "exit $0", 5 })
    assert.same({ "exit", 5 }, { p:wait() })
  end)

  it("connects a stream to an ipc.pipe given in opts, which the parent keeps", function()
    local r, w = track(ipc.pipe())
    local p = spawn({ "sh", "-c", "echo from-child" }, { stdout = w })
    assert.same({ "exit", 0 }, { p:wait() })
    w:write("from-parent\n")
    w:close()
    assert.equal("from-child\nfrom-parent\n", r:read("a"))
  end)

  it("connects streams to /dev/null with \"null\"", function()
    local p = spawn({ "sh", "-c", "cat; echo hidden; echo shown >&2" },
      { stdin = "null", stdout = "null", stderr = "pipe" })
    assert.equal("shown\n", p.stderr:read("a"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("runs in opts.cwd with exactly the environment of opts.env", function()
    local p = spawn({ "sh", "-c", 'pwd; echo "$FOO"; echo "${HOME-unset}"' },
      { stdout = "pipe", cwd = "/", env = { FOO = "bar baz" } })
    assert.equal("/\nbar baz\nunset\n", p.stdout:read("a"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("names opts.cwd in the message when the spawn fails", function()
    local ok, msg, code = ipc.spawn({ "true" }, { cwd = "/nonexistent" })
    assert.same({ nil, "spawn true (cwd /nonexistent): no such file or directory", ipc.ENOENT },
      { ok, msg, code })
  end)

  it("does not search PATH when opts.path is false", function()
    local ok, msg, code = ipc.spawn({ "sh", "-c", "true" }, { path = false })
    assert.same({ nil, "spawn sh: no such file or directory", ipc.ENOENT }, { ok, msg, code })
    assert.same({ "exit", 0 }, { spawn({ "/bin/sh", "-c", "true" }, { path = false }):wait() })
  end)
end)

describe("ipc.spawn of a Lua function", function()
  after_each(helper.cleanup)

  it("runs the function in a child with pipes on its streams", function()
    local p = spawn(function()
      local line = io.read("*l")
      io.write(line:upper(), "\n")
      io.stderr:write("note\n")
    end, { stdin = "pipe", stdout = "pipe", stderr = "pipe" })
    p.stdin:write("shout\n")
    p.stdin:close()
    assert.equal("SHOUT\n", p.stdout:read("a"))
    assert.equal("note\n", p.stderr:read("a"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("gives the child an ipc.pipe or /dev/null as a stream", function()
    local r, w = track(ipc.pipe())
    local p = spawn(function()
      io.write("via pipe")
      return io.read("*a") == ""
    end, { stdout = w, stdin = "null" })
    w:close()
    assert.equal("via pipe", r:read("a"))
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("exits 0 for nothing, nil or true, 1 for false, and n for an integer n", function()
    local cases = {
      { function() end, 0 },
      { function() return nil end, 0 },
      { function() return true end, 0 },
      { function() return false end, 1 },
      { function() return 7 end, 7 },
      { function() return 255 end, 255 },
    }
    for _, case in ipairs(cases) do
      assert.same({ "exit", case[2] }, { spawn(case[1]):wait() })
    end
  end)

  it("exits 1 with the message and a traceback on stderr when fn raises", function()
    local p = spawn(function() error("boom") end, { stderr = "pipe" })
    local err, how, code = helper.output(p, "stderr")
    assert.same({ "exit", 1 }, { how, code })
    assert.matches("proc_spec.lua:%d+: boom", err)
    assert.matches("stack traceback", err)
  end)

  it("describes an error object that is not a string", function()
    local p = spawn(function() error({}) end, { stderr = "pipe" })
    local err, how, code = helper.output(p, "stderr")
    assert.same({ "exit", 1 }, { how, code })
    assert.matches("error object is a table value", err)
  end)

  it("does not make the child write the parent's buffered output again", function()
    local out, how, code = run_script [[
      local ipc = require "ipc"
      io.write("parent-buffered;")
      local p = ipc.spawn(function() io.write("child;") end)
      p:wait()
      io.write("end")
    ]]
    assert.same({ "exit", 0 }, { how, code })
    assert.equal("parent-buffered;child;end", out)
  end)

  it("runs no finalizer of the parent in the child", function()
    local marker = os.tmpname()
    finally(function() os.remove(marker) end)
    local function mark()
      local f = io.open(marker, "a")
      f:write(ipc.getpid(), "\n")
      f:close()
    end
    local guard = helper.gc_object(mark)
    local p = spawn(function() collectgarbage() end)
    assert.same({ "exit", 0 }, { p:wait() })
    assert.equal("", helper.read_file(marker))
    assert.is_not_nil(guard)
    -- the finalizer does work in the parent: the test could see it
    guard = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.equal(ipc.getpid() .. "\n", helper.read_file(marker))
  end)

  it("applies opts.cwd and opts.env in the child", function()
    local p = spawn(function()
      return os.getenv("FOO") == "bar" and os.getenv("HOME") == nil
        and io.open("self/status") ~= nil
    end, { cwd = "/proc", env = { FOO = "bar" } })
    assert.same({ "exit", 0 }, { p:wait() })
  end)

  it("returns ENOENT for a missing opts.cwd and leaves no child", function()
    local before = helper.children()
    local fds = helper.fd_count()
    local ok, msg, code = ipc.spawn(function() end,
      { cwd = "/nonexistent", stdout = "pipe" })
    assert.same({ nil, "spawn: chdir /nonexistent: no such file or directory", ipc.ENOENT },
      { ok, msg, code })
    assert.equal(before, helper.children())
    assert.equal(fds, helper.fd_count())
  end)
end)

describe("a process handle", function()
  after_each(helper.cleanup)

  it("reports signal 15 after kill and wait", function()
    local p = spawn({ "sleep", "10" })
    assert.is_true(p:kill())
    assert.same({ "signal", 15, false }, { p:wait() })
    assert.equal("ipc.proc (pid " .. p.pid .. ", killed by SIGTERM)", tostring(p))
  end)

  it("takes signal names in any case, with or without SIG, and numbers", function()
    local sigs = { { "KILL", 9 }, { "sigterm", 15 }, { "Usr1", 10 }, { "SIGINT", 2 }, { 9, 9 } }
    for _, sig in ipairs(sigs) do
      local p = spawn({ "sleep", "10" })
      assert.is_true(p:kill(sig[1]))
      assert.same({ "signal", sig[2], false }, { p:wait() })
    end
  end)

  it("times out waiting for a child that never exits, which is then killed and reaped", function()
    local p = spawn({ "sleep", "10" })
    local ok, msg, code = p:wait(0.05)
    assert.same({ nil, "wait: timed out", ipc.ETIMEDOUT }, { ok, msg, code })
    assert.same({ nil, "wait: timed out", ipc.ETIMEDOUT }, { p:wait(0) })
    assert.equal("running", p:status())
    assert.is_true(helper.alive(p.pid))
    p:kill("KILL")
    assert.same({ "signal", 9, false }, { p:wait() })
    assert.is_nil(helper.state(p.pid))
  end)

  it("returns the same answer when waited again", function()
    local p = spawn({ "sh", "-c", "exit 4" })
    assert.same({ "exit", 4 }, { p:wait() })
    assert.same({ "exit", 4 }, { p:wait() })
    assert.same({ "exit", 4 }, { p:wait(0) })
  end)

  it("reports running, then the exit status, with status()", function()
    local p = spawn({ "cat" }, { stdin = "pipe" })
    assert.equal("running", p:status())
    p.stdin:close()
    assert.same({ "exit", 0 }, { p:wait() })
    assert.same({ "exit", 0 }, { p:status() })
  end)

  it("finds with status() a child that ended without a wait", function()
    local p = spawn({ "true" })
    helper.sleep(0.2)
    assert.same({ "exit", 0 }, { p:status() })
    assert.is_nil(helper.state(p.pid)) -- reaped
  end)

  it("returns ESRCH when killing a reaped child", function()
    local p = spawn({ "true" })
    p:wait()
    assert.same({ nil, "kill: no such process", ipc.ESRCH }, { p:kill() })
  end)

  it("exposes pid, fd and its streams, and shows its state in tostring", function()
    local p = spawn({ "sh", "-c", "read x; exit 2" }, { stdin = "pipe" })
    assert.equal("number", type(p.pid))
    assert.equal("number", type(p:fd()))
    assert.is_true(helper.fd_open(p:fd()))
    assert.is_nil(p.stdout)
    assert.equal("ipc.proc (pid " .. p.pid .. ", running)", tostring(p))
    p.stdin:write("\n")
    p:wait()
    assert.equal("ipc.proc (pid " .. p.pid .. ", exited 2)", tostring(p))
    local pid = p.pid
    assert.is_true(p:close())
    assert.equal(pid, p.pid)
    assert.equal("ipc.proc (pid " .. pid .. ", closed)", tostring(p))
  end)

  it("shows the signal that killed a child", function()
    -- a clean environment: an LD_PRELOADed sanitizer would catch the SEGV
    local p = spawn({ "sh", "-c", "ulimit -c 0; kill -SEGV $$" },
      { env = { PATH = os.getenv("PATH") } })
    assert.same({ "signal", 11, false }, { p:wait() })
    assert.equal("ipc.proc (pid " .. p.pid .. ", killed by SIGSEGV)", tostring(p))
  end)

  it("neither kills nor waits when garbage-collected", function()
    -- in a child, so that the orphan is not ours to reap
    local p = spawn(function()
      local q = assert(ipc.spawn({ "sleep", "10" }))
      local pid = q.pid
      q = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      local alive = helper.alive(pid)
      os.execute("kill -9 " .. pid)
      return alive
    end)
    assert.same({ "exit", 0 }, { p:wait() })
  end)
end)

describe("ipc.spawn and process handles with bad input", function()
  after_each(helper.cleanup)

  it("returns ENOENT for a program that does not exist and leaves no zombie", function()
    local before = helper.children()
    local fds = helper.fd_count()
    local ok, msg, code = ipc.spawn({ "nosuchprog" }, { stdout = "pipe", stdin = "pipe" })
    assert.same({ nil, "spawn nosuchprog: no such file or directory", ipc.ENOENT },
      { ok, msg, code })
    assert.equal(before, helper.children())
    assert.equal(fds, helper.fd_count())
  end)

  it("raises naming the argument for a bad argv or bad options", function()
    assert.has_error(function() ipc.spawn(42) end,
      "bad argument #1 to 'spawn' (table or function expected, got number)")
    assert.has_error(function() ipc.spawn({}) end,
      "bad argument #1 to 'spawn' (argv must not be empty)")
    assert.has_error(function() ipc.spawn({ "" }) end,
      "bad argument #1 to 'spawn' (argv[1] is empty)")
    assert.has_error(function() ipc.spawn({ "echo", {} }) end,
      "bad argument #1 to 'spawn' (argv[2] must be a string, got table)")
    assert.has_error(function() ipc.spawn({ "echo", "a\0b" }) end,
      "bad argument #1 to 'spawn' (argv[2] contains a zero byte)")
    assert.has_error(function() ipc.spawn({ "true" }, { stdot = "pipe" }) end,
      "bad argument #2 to 'spawn' (unknown option 'stdot')")
    assert.has_error(function() ipc.spawn({ "true" }, { stdout = "file" }) end,
      "bad argument #2 to 'spawn' (stdout must be \"inherit\", \"pipe\", \"null\" or an ipc.pipe)")
    assert.has_error(function() ipc.spawn({ "true" }, { env = { ["A=B"] = "c" } }) end,
      "bad argument #2 to 'spawn' (env names must be strings without '=')")
    assert.has_error(function() ipc.spawn({ "true" }, { cwd = true }) end,
      "bad argument #2 to 'spawn' (cwd must be a string, got boolean)")
    assert.has_error(function() ipc.spawn({ "true" }, { path = "no" }) end,
      "bad argument #2 to 'spawn' (path must be a boolean)")
  end)

  it("raises for a stream given the wrong end of a pipe or a closed pipe", function()
    local r, w = track(ipc.pipe())
    assert.has_error(function() ipc.spawn({ "true" }, { stdout = r }) end,
      "bad argument #2 to 'spawn' (stdout must be the write end of an ipc.pipe)")
    assert.has_error(function() ipc.spawn({ "true" }, { stdin = w }) end,
      "bad argument #2 to 'spawn' (stdin must be the read end of an ipc.pipe)")
    w:close()
    assert.has_error(function() ipc.spawn({ "true" }, { stdin = w }) end,
      "attempt to use a closed ipc.pipe")
  end)

  it("raises naming the argument for a bad wait timeout, and the child is untouched", function()
    local p = spawn({ "sleep", "10" })
    assert.has_error(function() p:wait("x") end,
      "bad argument #1 to 'wait' (number expected, got string)")
    assert.has_error(function() p:wait(-1) end,
      "bad argument #1 to 'wait' (timeout must not be negative)")
    assert.equal("running", p:status())
  end)

  it("raises for an unknown signal or a number out of range, leaving the child be", function()
    local p = spawn({ "sleep", "10" })
    assert.has_error(function() p:kill("FOO") end,
      "bad argument #1 to 'kill' (unknown signal 'FOO')")
    assert.has_error(function() p:kill(0) end, "bad argument #1 to 'kill' (signal out of range)")
    assert.has_error(function() p:kill(65) end, "bad argument #1 to 'kill' (signal out of range)")
    assert.has_error(function() p:kill({}) end)
    assert.equal("running", p:status())
  end)

  it("raises 'attempt to use a closed ipc.proc' once closed", function()
    local p = spawn({ "true" })
    p:wait()
    p:close()
    assert.has_error(function() p:wait() end, "attempt to use a closed ipc.proc")
    assert.has_error(function() p:kill() end, "attempt to use a closed ipc.proc")
    assert.has_error(function() p:close() end, "attempt to use a closed ipc.proc")
  end)
end)
