/* internal.h: helpers shared by the libipc areas (deadlines, waiting on a
 * descriptor, errno capture). Nothing here is exported: the names are
 * ipc__* and the functions static inline. */
#ifndef IPC_INTERNAL_H
#define IPC_INTERNAL_H

#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define IPC__NO_DEADLINE INT64_MIN

/* The extended attribute ipc_shm_create puts on its segments and
 * ipc_ls_open reads to tell them from other programs' (tmpfs keeps user.*
 * attributes since Linux 6.6). Its value is the kind, "shm". */
#define IPC__XATTR_TAG "user.libipc"

static inline int64_t ipc__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The absolute CLOCK_MONOTONIC deadline of a timeout_ms argument, or
 * IPC__NO_DEADLINE for "forever" (any negative timeout). Taken once per
 * call, so retries after EINTR or spurious wake-ups never stretch it. */
static inline int64_t ipc__deadline(int timeout_ms) {
  if (timeout_ms < 0)
    return IPC__NO_DEADLINE;
  return ipc__now_ns() + (int64_t)timeout_ms * 1000000;
}

/* Milliseconds left until the deadline for poll(2): -1 for none, rounded
 * up so that we never wake just before the deadline and spin. */
static inline int ipc__remaining_ms(int64_t deadline) {
  if (deadline == IPC__NO_DEADLINE)
    return -1;
  int64_t left = deadline - ipc__now_ns();
  if (left <= 0)
    return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Waits until fd reports one of `events` (or an error/hang-up, which the
 * following read or write turns into its own result). Returns 0 when ready,
 * IPC_ETIMEDOUT, IPC_EINTR, or IPC_EBADF for a descriptor that is not open. */
static inline int ipc__wait_fd(int fd, short events, int64_t deadline) {
  struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
  int n = poll(&pfd, 1, ipc__remaining_ms(deadline));
  if (n < 0)
    return -errno; /* EINTR becomes IPC_EINTR, ENOMEM IPC_ENOMEM */
  if (n == 0)
    return IPC_ETIMEDOUT;
  if (pfd.revents & POLLNVAL)
    return IPC_EBADF;
  return 0;
}

/* The signal generation: libipc's signal handler (signal.c) bumps it after
 * recording each signal. A wait loop that sleeps more than once takes a
 * snapshot before its first sleep and returns IPC_EINTR when it moved
 * before the next one: a signal that lands between two system calls (not
 * inside one, which then fails with EINTR by itself) would otherwise be
 * slept over, its handler's Lua side delayed until the wait ends. */
extern _Atomic unsigned ipc__signal_gen;

static inline unsigned ipc__signal_snap(void) {
  return atomic_load_explicit(&ipc__signal_gen, memory_order_acquire);
}

static inline int ipc__signal_moved(unsigned snap) {
  return atomic_load_explicit(&ipc__signal_gen, memory_order_acquire) != snap;
}

/* Whether a SIGPIPE raised by a write can neither kill the process nor run
 * code libipc does not own: set by signal.c from libipc's own changes of
 * SIGPIPE's disposition (SIG_IGN put in place by ipc_signal_ignore, or put
 * back by a restore or an unhandle; or libipc's recording handler with no
 * host handler to chain to), cleared by any libipc change that may make it
 * deadly again. When set, pipe writes use plain
 * write(2) (pipe.c). A change the host makes with sigaction behind
 * libipc's back is not seen: documented. */
extern _Atomic int ipc__sigpipe_harmless;

static inline int ipc__sigpipe_cannot_kill(void) {
  return atomic_load_explicit(&ipc__sigpipe_harmless, memory_order_relaxed);
}

#endif /* IPC_INTERNAL_H */
