-- tools.lua: the shell's tools for looking at the system's IPC objects,
-- embedded in ipcsh and run by prelude.lua with the ipc table and
-- file(name). Returns the globals it defines.

local ipc = ...
local _ = ipc

return {}
