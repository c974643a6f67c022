-- luacheck configuration for libipc's Lua: the module, tests, examples, shell.
std = "max"
max_line_length = 100
files["tests/lua"] = { std = "max+busted" }
files["shell/prelude.lua"] = { globals = { "help", "_" } }
-- premake's API is global; the shim defines the premake5 names on premake4.
files["premake5.lua"] = {
  ignore = { "143" }, -- os.matchfiles: a premake addition to os
  globals = { "workspace", "filter", "symbols", "optimize", "pic" },
  read_globals = {
    "_OPTIONS", "buildoptions", "configuration", "configurations", "defines",
    "files", "flags", "includedirs", "kind", "language", "linkoptions", "links",
    "location", "newoption", "objdir", "path", "postbuildcommands",
    "prebuildcommands", "project", "solution", "targetdir", "targetname",
    "targetprefix",
  },
}
