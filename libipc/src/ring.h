/* ring.h: the ring's internal entry points, for the fuzz target and tests
 * that work on a ring image in ordinary memory. Not part of the ABI. */
#ifndef IPC_RING_INTERNAL_H
#define IPC_RING_INTERNAL_H

#include "ipc.h"

/* handle_new flag: the memory belongs to the caller (no fd, no munmap). */
#define IPC__RING_BORROWED 0x100

/* The attach checks of ipc_ring_open on a segment image of `size` bytes:
 * 0 or IPC_ECORRUPT. */
int ipc__ring_check_header(const void *mem, size_t size);
/* A handle on a ring image in memory the caller owns and keeps mapped
 * (e.g. fuzzer input). flags as ipc_ring_open. */
int ipc__ring_from_memory(ipc_ring_t **out, void *mem, size_t size, int flags);

#endif
