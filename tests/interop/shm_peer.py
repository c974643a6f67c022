#!/usr/bin/env python3
"""shm_peer.py: the Python side of the shm interop tests (tests/lua/shm_spec.lua).

Attaches a POSIX segment with multiprocessing.shared_memory, as a Python
program sharing memory with a libipc one would:
  shm_peer.py read NAME OFFSET LENGTH   prints the size, a space, the bytes
  shm_peer.py write NAME OFFSET TEXT    writes TEXT at OFFSET
  shm_peer.py create NAME SIZE TEXT     creates the segment, TEXT at 0
It never unlinks: the test that made the name removes it.
"""
import sys
from multiprocessing import resource_tracker, shared_memory


def attach(name, create=False, size=0):
    name = name.lstrip("/")  # Python adds the leading slash itself
    try:
        return shared_memory.SharedMemory(name, create, size, track=False)
    except TypeError:  # before 3.13: no track argument
        pass
    shm = shared_memory.SharedMemory(name, create, size)
    # Until 3.13 every attached segment, created here or not, is registered
    # with the resource tracker, which unlinks it when Python exits. The
    # segment belongs to the test: take it back.
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def main(argv):
    cmd, name = argv[1], argv[2]
    if cmd == "create":
        shm = attach(name, True, int(argv[3]))
        data = argv[4].encode()
        shm.buf[: len(data)] = data
    elif cmd == "write":
        shm = attach(name)
        off, data = int(argv[3]), argv[4].encode()
        shm.buf[off : off + len(data)] = data
    elif cmd == "read":
        shm = attach(name)
        off, n = int(argv[3]), int(argv[4])
        sys.stdout.buffer.write(b"%d " % shm.size + bytes(shm.buf[off : off + n]))
    else:
        sys.exit("unknown command " + cmd)
    shm.close()


if __name__ == "__main__":
    main(sys.argv)
