/* guard.c: turns a SIGBUS raised by touching shared memory that another
 * process truncated into an error return of the libipc call that touched
 * it. The handler acts only on faults inside the range the current thread
 * guards; any other SIGBUS goes to the disposition that was there before
 * (a host's handler, or the default, which then kills as it would have). */
#include "guard.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* initial-exec: no __tls_get_addr call on the hot path. The few bytes come
 * from the static TLS surplus even when the module is dlopen()ed. */
static __thread struct ipc__guard *guard_top
    __attribute__((tls_model("initial-exec")));

/* Process-wide signal state: the one kind of global libipc keeps. */
static struct sigaction guard_previous;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void guard_handler(int sig, siginfo_t *si, void *ctx) {
  struct ipc__guard *g = guard_top;
  const char *addr = si ? si->si_addr : NULL;
  if (g && addr >= g->lo && addr < g->hi)
    siglongjmp(g->jb, 1);
  if (guard_previous.sa_flags & SA_SIGINFO) {
    if (guard_previous.sa_sigaction) {
      guard_previous.sa_sigaction(sig, si, ctx);
      return;
    }
  } else if (guard_previous.sa_handler != SIG_DFL &&
             guard_previous.sa_handler != SIG_IGN) {
    guard_previous.sa_handler(sig);
    return;
  }
  /* Default (a fault cannot be ignored): restore it and return, so the
   * faulting access runs again and the process dies as it would have. */
  signal(SIGBUS, SIG_DFL);
}

static void guard_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &guard_previous);
}

void ipc__guard_begin(struct ipc__guard *g, const void *base, size_t len) {
  pthread_once(&guard_once, guard_install);
  /* A guard left registered by a frame that was unwound without
   * ipc__guard_end (a callback that longjmp'd out, say) lies below our own
   * frame on the downward-growing stack: drop it rather than jump into it. */
  while (guard_top && (const char *)guard_top < (const char *)g)
    guard_top = guard_top->prev;
  g->lo = base;
  g->hi = (const char *)base + len;
  g->prev = guard_top;
  guard_top = g;
}

void ipc__guard_end(struct ipc__guard *g) { guard_top = g->prev; }
