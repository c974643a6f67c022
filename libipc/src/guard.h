/* guard.h: access to shared memory that another process may truncate.
 * Touching a page past the end of a truncated segment raises SIGBUS; a
 * guarded call turns that into an error return instead of a crash:
 *
 *   struct ipc__guard g;
 *   if (IPC__GUARD(g, base, len)) { ipc__guard_end(&g); return error; }
 *   ... touch base[0, len) ...
 *   ipc__guard_end(&g);
 */
#ifndef IPC_GUARD_H
#define IPC_GUARD_H

#include <setjmp.h>
#include <stddef.h>

struct ipc__guard {
  sigjmp_buf jb;
  const char *lo, *hi; /* the guarded range */
  struct ipc__guard *prev;
};

/* Registers g for this thread (installing the SIGBUS handler once per
 * process). Use through IPC__GUARD, which sets the jump point. */
void ipc__guard_begin(struct ipc__guard *g, const void *base, size_t len);
/* Unregisters g; call on every path out, the error path included. */
void ipc__guard_end(struct ipc__guard *g);

/* 0 when entered, nonzero when a SIGBUS in [base, base+len) came back. The
 * mask is not saved (sigsetjmp(.., 0)): no system call on the hot path. */
#define IPC__GUARD(g, base, len)                                               \
  (ipc__guard_begin(&(g), (base), (len)), sigsetjmp((g).jb, 0))

#endif
