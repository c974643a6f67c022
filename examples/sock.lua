-- examples/sock.lua: a Unix socket server and a forked client: the server
-- learns who connected (peer credentials), hands the client one end of a
-- pipe through the socket, and reads what the client writes into it; then
-- datagrams keep their boundaries, and a TCP listener on a port the kernel
-- picks. Run from the top of the tree after `make`:
--   LUA_CPATH='build/5.4/release/lua/?.so;;' lua5.4 examples/sock.lua

local ipc = require "ipc"

local addr = ("unix:/tmp/ipc-example-%d.sock"):format(ipc.getpid())
local server = assert(ipc.sock.listen(addr))
print("listening:", server)

local client = assert(ipc.spawn(function()
  local s = assert(ipc.sock.connect(addr, { timeout = 5 }))
  assert(s:send("hello from the client"))
  -- The server sends a pipe's write end along with a word.
  local word, pipe_end = assert(s:recv(nil, 5))
  assert(pipe_end:write("written by the client through a pipe it was sent (", word, ")\n"))
end))

local conn = assert(server:accept(5))
local cred = assert(conn:peercred())
print(("connection from pid %d (uid %d, gid %d); the client's pid is %d")
  :format(cred.pid, cred.uid, cred.gid, client.pid))
print("it says:", conn:recv(nil, 5))

local r, w = assert(ipc.pipe())
assert(conn:send("catch", { fds = { w } }))
w:close() -- the client's copy is now the only write end
print("the pipe reads:", r:read("l"))
print("client:", client:wait())
conn:close()
server:close()
assert(ipc.sock.unlink(addr)) -- close never removes the file
r:close()

-- Datagrams and seqpackets keep each message whole, the empty one too.
local a, b = assert(ipc.sock.pair("seqpacket"))
for _, m in ipairs { "one", "", "three" } do a:send(m) end
for _ = 1, 3 do io.write(("[%s] "):format(b:recv())) end
print()
a:close()
print("after the peer closed:", b:recv()) --> nil  recv: end of file  -20001
b:close()

-- TCP on loopback, on a port the kernel chooses.
local l = assert(ipc.sock.listen("tcp:127.0.0.1:0"))
local where, port = l:address()
print("tcp listener:", where, "port", port)
local c = assert(ipc.sock.connect(where, { timeout = 1 }))
local s = assert(l:accept(1))
c:send("over tcp")
print(s, "got:", s:recv(nil, 1))
for _, h in ipairs { c, s, l } do h:close() end

-- What a path too long looks like (never truncated).
print(ipc.sock.listen("unix:/tmp/" .. ("x"):rep(120)))
