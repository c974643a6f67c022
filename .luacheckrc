-- luacheck configuration for libipc's Lua: the module, tests, examples, shell.
std = "max"
max_line_length = 100
files["tests/lua"] = { std = "max+busted" }
files["shell/prelude.lua"] = { globals = { "help", "_" } }
