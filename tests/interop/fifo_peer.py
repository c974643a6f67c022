#!/usr/bin/env python3
"""fifo_peer.py: the Python side of the FIFO interop tests (tests/c/fifo.c,
tests/lua/fifo_spec.lua), a Python program using a FIFO with plain os calls:
  fifo_peer.py mkfifo PATH        makes the FIFO with os.mkfifo (mode 0o600)
  fifo_peer.py write PATH TEXT    opens it for writing (blocking), writes TEXT
  fifo_peer.py read PATH          opens it for reading (blocking), prints
                                  everything up to end of file
It never removes the FIFO: the test that asked for it does. It gives up
after 20 s, so a test that fails half-way leaves no process behind.
"""
import os
import signal
import sys


def main(argv):
    signal.alarm(20)
    cmd, path = argv[1], argv[2]
    if cmd == "mkfifo":
        os.mkfifo(path, 0o600)
    elif cmd == "write":
        with open(path, "wb") as f:
            f.write(argv[3].encode())
    elif cmd == "read":
        with open(path, "rb") as f:
            data = f.read()
        sys.stdout.buffer.write(data)
    else:
        sys.exit("usage: fifo_peer.py mkfifo|write|read PATH [TEXT]")


if __name__ == "__main__":
    main(sys.argv)
