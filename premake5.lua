-- premake5.lua: the one build description of libipc, the ipc Lua module,
-- ipcsh, the tests, the examples and the benchmarks.
--
-- Written in the premake5 API (`premake5 gmake2`). Debian ships only
-- premake4 4.3, so the shim below maps the few premake5 calls used here
-- onto premake4 when `filter` is missing (`premake4 --file=premake5.lua
-- gmake`). Keep the rest to what both versions accept.

if not filter then
  workspace = solution
  function filter(spec)
    local cfg = type(spec) == "string" and spec:match("^configurations:(.+)$")
    configuration(cfg or "*")
  end
  function symbols(v) if v == "On" then flags { "Symbols" } end end
  function optimize(v) if v ~= "Off" then flags { "OptimizeSpeed" } end end
  function pic(v) if v == "On" then buildoptions { "-fPIC" } end end
end

newoption {
  trigger = "lua",
  value = "VERSION",
  description = "Lua to build the ipc module for: 5.1, 5.2, 5.3, 5.4 (default) or luajit",
}

local LUA_PKG = {
  ["5.1"] = "lua5.1", ["5.2"] = "lua5.2", ["5.3"] = "lua5.3",
  ["5.4"] = "lua5.4", ["luajit"] = "luajit",
}
local luaver = _OPTIONS["lua"] or "5.4"
if not LUA_PKG[luaver] then
  error("--lua must be one of 5.1, 5.2, 5.3, 5.4, luajit (got " .. luaver .. ")")
end

-- Compiler and linker flags of a pkg-config package, as two lists.
local function pkgconfig(pkg)
  local function run(what)
    local f = io.popen("pkg-config " .. what .. " " .. pkg .. " 2>/dev/null")
    local out = f:read("*a") or ""
    f:close()
    local list = {}
    for word in out:gmatch("%S+") do list[#list + 1] = word end
    return list
  end
  return run("--cflags"), run("--libs")
end

local lua_cflags, lua_libs = pkgconfig(LUA_PKG[luaver])
local edit_cflags, edit_libs = pkgconfig("libedit")

local top = "build/" .. luaver
local CONFIGS = {
  Release = "release", Debug = "debug", Sanitize = "sanitize", Tsan = "tsan",
}

-- Output directory `top/<config>/sub` for each configuration.
local function outdir(sub)
  for name, dir in pairs(CONFIGS) do
    filter("configurations:" .. name)
      targetdir(top .. "/" .. dir .. (sub and ("/" .. sub) or ""))
      objdir(top .. "/obj/" .. dir)
  end
  filter {}
end

local WARNINGS = {
  "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wshadow",
  "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wpointer-arith",
  "-Wno-unused-parameter",
}
local SANITIZE = {
  "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
  "-fno-omit-frame-pointer",
}

workspace "libipc"
  configurations { "Release", "Debug", "Sanitize", "Tsan" }
  location(top)
  language "C"
  includedirs { "libipc/include" }
  buildoptions(WARNINGS)
  defines { "_GNU_SOURCE" }

  filter "configurations:Release"
    optimize "On"
    symbols "On"
    defines { "NDEBUG" }
  filter "configurations:Debug"
    symbols "On"
    buildoptions { "-O0" }
  filter "configurations:Sanitize"
    symbols "On"
    buildoptions { "-O1" }
    buildoptions(SANITIZE)
    linkoptions(SANITIZE)
  filter "configurations:Tsan"
    symbols "On"
    -- gcc warns that TSan does not model atomic_thread_fence; the fences
    -- order atomics only, which TSan checks on their own.
    buildoptions { "-O1", "-fsanitize=thread", "-Wno-tsan" }
    linkoptions { "-fsanitize=thread" }
  filter {}

-- libipc, static: linked into the Lua module, ipcsh and the C tests. It has
-- its own directory because premake4 links libraries by name (-lipc).
project "ipc_static"
  kind "StaticLib"
  targetname "ipc"
  pic "On"
  buildoptions { "-fvisibility=hidden" }
  files { "libipc/src/*.c", "libipc/src/*.h", "libipc/include/ipc.h" }
  outdir("static")

-- libipc, shared: libipc.so with soname libipc.so.0; only ipc_* exported
-- (hidden visibility plus the version script).
project "ipc_shared"
  kind "SharedLib"
  targetname "ipc"
  pic "On"
  buildoptions { "-fvisibility=hidden" }
  files { "libipc/src/*.c", "libipc/src/*.h", "libipc/include/ipc.h" }
  linkoptions {
    "-Wl,-soname,libipc.so.0",
    "-Wl,--version-script=" .. path.getabsolute("libipc/libipc.map"),
    "-Wl,-z,defs",
  }
  outdir()
  -- Executables record the soname; give it a file in the build tree.
  postbuildcommands { "ln -sf libipc.so $(TARGETDIR)/libipc.so.0" }

-- Files embedded with .incbin (which searches the assembler's -I) are
-- unseen by the compiler's dependency files, so an object older than one of
-- them is removed here, when premake runs (make runs it before every build),
-- before make looks at any file: a prebuild step would race with the
-- compile under make -j.
local function drop_stale(object, file)
  os.execute("find '" .. path.getabsolute(top .. "/obj") .. "' -name " .. object ..
    " ! -newer '" .. path.getabsolute(file) .. "' -delete 2>/dev/null")
end

-- lua/src/lipc_loop.c embeds lua/ipc/loop.lua (both projects that compile
-- lua/src/*.c).
drop_stale("lipc_loop.o", "lua/ipc/loop.lua")

-- The Lua module: ipc.so for the Lua chosen with --lua. It does not link the
-- Lua library: the host that loads it provides those symbols.
project "lua_ipc"
  kind "SharedLib"
  targetname "ipc"
  targetprefix ""
  pic "On"
  files { "lua/src/*.c", "lua/src/*.h" }
  buildoptions(lua_cflags)
  buildoptions { "-fvisibility=hidden" }
  buildoptions { "-Wa,-I" .. path.getabsolute(".") }
  links { "ipc_static" }
  -- Export luaopen_ipc only: libipc's own ipc_* symbols stay inside, so a
  -- host that also loads libipc.so never gets one version's functions
  -- mixed with the other's.
  linkoptions { "-Wl,--exclude-libs,ALL" }
  outdir("lua")

-- ipcsh, built against the Lua chosen with --lua, with the module compiled in.
project "ipcsh"
  kind "ConsoleApp"
  files { "shell/*.c", "shell/*.h", "lua/src/*.c", "lua/src/*.h" }
  includedirs { "lua/src" }
  buildoptions(lua_cflags)
  buildoptions(edit_cflags)
  -- prelude.c embeds these (see drop_stale). One file per line, so that
  -- branches adding files merge cleanly.
  local embedded = {
    "shell/prelude.lua",
    "shell/help.lua",
    "shell/tools.lua",
    "shell/pretty.lua",
    "shell/complete.lua",
    "shell/events.lua",
    "shell/tour.lua",
    "docs/lua.md",
    "docs/shell.md",
  }
  buildoptions { "-Wa,-I" .. path.getabsolute(".") }
  for _, f in ipairs(embedded) do drop_stale("prelude.o", f) end
  links { "ipc_static" }
  linkoptions(lua_libs)
  linkoptions(edit_libs)
  linkoptions { "-lm", "-ldl", "-rdynamic" }
  outdir()

-- C tests: one Criterion program per area.
for _, file in ipairs(os.matchfiles("tests/c/*.c")) do
  local name = "test_" .. path.getbasename(file)
  project(name)
    kind "ConsoleApp"
    files { file, "tests/c/*.h" }
    includedirs { "tests/c" }
    includedirs { "libipc/src" } -- white-box tests may use internal headers
    links { "ipc_static" }
    linkoptions { "-lcriterion", "-pthread" }
    outdir("tests")
end

-- C hosts that embed the Lua chosen with --lua and load the module.
for _, file in ipairs(os.matchfiles("tests/host/*.c")) do
  project("host_" .. path.getbasename(file))
    kind "ConsoleApp"
    files { file }
    buildoptions(lua_cflags)
    linkoptions(lua_libs)
    linkoptions { "-lm", "-ldl" }
    outdir("tests")
end

-- Extra libraries a program names in a first-lines comment such as
-- "// link: -lck -lrt" (the benchmarks compare against other libraries).
local function extra_links(file)
  local f = io.open(file)
  if not f then return {} end
  local list = {}
  for _ = 1, 10 do
    local line = f:read("*l")
    if not line then break end
    local libs = line:match("^//%s*link:%s*(.+)$")
    if libs then
      for word in libs:gmatch("%S+") do list[#list + 1] = word end
    end
  end
  f:close()
  return list
end

-- Example and benchmark programs in C, linked against the shared library
-- the way a user's program would be.
local function programs(glob, sub)
  for _, file in ipairs(os.matchfiles(glob)) do
    project(sub .. "_" .. path.getbasename(file))
      kind "ConsoleApp"
      targetname(path.getbasename(file))
      files { file }
      links { "ipc_shared" }
      linkoptions { "-Wl,-rpath,'$$ORIGIN/..'" }
      linkoptions(extra_links(file))
      outdir(sub)
  end
end
programs("examples/*.c", "examples")
programs("bench/*.c", "bench")
