#!/usr/bin/env python3
"""sock_peer.py: the Python side of the socket interop tests (tests/lua/sock_spec.lua).

A program written with Python's own socket module, talking to libipc:
  sock_peer.py client PATH     connects to the Unix stream socket PATH and:
      sends "cred PID UID GID\\n", its view of the listener (SO_PEERCRED);
      receives "fds" with descriptors (socket.recv_fds), writes
      "python wrote this\\n" into each (pipe write ends), closes them;
      makes a pipe, sends "back" with its read end (socket.send_fds),
      writes "through python's pipe\\n" into the write end, closes it;
      waits for the end of the stream.
  sock_peer.py packets PATH    connects to the seqpacket socket PATH, sends
      "one", "two", "three" as three messages, then reads one message and
      prints it.
  sock_peer.py serve PATH      listens on the Unix stream socket PATH, prints
      "ready", accepts one connection, answers each message with its upper
      case until the end, prints "peer PID" (SO_PEERCRED), removes PATH.
Exits 0 when all went as described; anything else raises (exit 1).
"""
import os
import socket
import struct
import sys


def peercred(sock):
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", raw)


def recv_exact_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("end of stream before a whole line")
        data += chunk
    return data


def client(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        pid, uid, gid = peercred(s)
        s.sendall(b"cred %d %d %d\n" % (pid, uid, gid))
        msg, fds, _flags, _addr = socket.recv_fds(s, 64, 16)
        if msg != b"fds" or not fds:
            raise RuntimeError("expected 'fds' with descriptors, got %r %r" % (msg, fds))
        for fd in fds:
            os.write(fd, b"python wrote this\n")
            os.close(fd)
        r, w = os.pipe()
        socket.send_fds(s, [b"back"], [r])
        os.close(r)
        os.write(w, b"through python's pipe\n")
        os.close(w)
        if s.recv(1) != b"":
            raise RuntimeError("expected the end of the stream")


def packets(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(10)
        s.connect(path)
        for word in (b"one", b"two", b"three"):
            s.send(word)
        print(s.recv(100).decode())


def serve(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as l:
        l.bind(path)
        try:
            l.listen(1)
            l.settimeout(10)
            print("ready", flush=True)
            c, _ = l.accept()
            with c:
                c.settimeout(10)
                while True:
                    data = c.recv(4096)
                    if not data:
                        break
                    c.sendall(data.upper())
                print("peer %d" % peercred(c)[0])
        finally:
            os.unlink(path)


def main(argv):
    {"client": client, "packets": packets, "serve": serve}[argv[1]](argv[2])


if __name__ == "__main__":
    main(sys.argv)
