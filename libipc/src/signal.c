/* signal.c: signals turned into records that their owner takes at a safe
 * point (ipc_sigqueue_t), dispositions saved and put back exactly, kill,
 * raise, sigqueue, thread masks, sigtimedwait and signalfd.
 *
 * The signal table is the only process-wide state of libipc. Installs and
 * removals take table_lock; the handler never does: it reads only atomics.
 *
 * Records. Each receiver has a bounded multi-producer queue (Vyukov's):
 * slot i holds a sequence number, i at first. A producer (the handler,
 * possibly on several threads at once, possibly nested in itself for
 * another signal) reads `tail`, and when the slot at tail has seq == tail
 * claims it by CAS of tail to tail + 1, writes the record and commits with
 * a store-release of seq = tail + 1 [P1]. The consumer load-acquires the
 * seq of the slot at head [C1] (pairs with P1); it takes the record when
 * seq == head + 1 and frees the slot by a store-release of seq = head +
 * capacity [C2], which a producer a lap later load-acquires [P0] before
 * writing. A slot still claimed but not committed stops the consumer (order
 * is kept); a slot not yet freed means full: the record is dropped and
 * counted. Nothing waits, so a handler nested in another never deadlocks.
 *
 * Lifetime. A handler announces itself in the signal's `inflight` counter
 * before it loads any receiver pointer and withdraws after its last write
 * (both seq_cst). ipc_sigqueue_close stores NULL into its slots, then waits
 * for inflight to drop to 0: a handler that loaded the old pointer had
 * incremented inflight before the NULL store, so close sees it. */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Receivers per signal. */
#define IPC__SIG_RECEIVERS 8
#define IPC__SIGQ_DEFAULT 1024u
#define IPC__SIGQ_MAX (1u << 20)

_Atomic unsigned ipc__signal_gen;
_Atomic int ipc__sigpipe_harmless;

struct sigq_slot {
  _Atomic uint64_t seq;
  ipc_siginfo_t info;
};

struct ipc_sigqueue {
  _Atomic uint64_t tail; /* producers: the next position to claim */
  uint64_t head;         /* the consumer's next position */
  unsigned cap, mask;
  int efd;
  uint64_t sigs;             /* signals registered (under table_lock) */
  struct ipc_sigqueue *next; /* every receiver, for fork (table_lock) */
  _Atomic uint64_t recorded; /* commits */
  _Atomic uint64_t dropped[IPC_SIG_MAX + 1];
  uint64_t taken; /* the consumer's */
  struct sigq_slot slots[];
};

/* A disposition as it was, to be put back exactly. glibc's sigaction adds
 * SA_RESTORER and its restorer to whatever it installs, SIG_DFL included,
 * so where the kernel's layout is known the disposition is also kept as
 * the kernel reported it and put back with rt_sigaction itself: a SIG_DFL
 * that never went through glibc comes back with flags 0. */
#if defined(__x86_64__) || defined(__aarch64__)
#define IPC__RAW_SIGACTION 1
struct raw_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};
#endif

struct disposition {
  struct sigaction sa;
#ifdef IPC__RAW_SIGACTION
  struct raw_sigaction raw;
#endif
};

static int get_disposition(int sig, struct disposition *d) {
  if (sigaction(sig, NULL, &d->sa) < 0)
    return -errno;
#ifdef IPC__RAW_SIGACTION
  if (syscall(SYS_rt_sigaction, sig, NULL, &d->raw, sizeof d->raw.mask) < 0)
    return -errno;
#endif
  return 0;
}

static int put_disposition(int sig, const struct disposition *d) {
#ifdef IPC__RAW_SIGACTION
  if (syscall(SYS_rt_sigaction, sig, &d->raw, NULL, sizeof d->raw.mask) < 0)
    return -errno;
#else
  if (sigaction(sig, &d->sa, NULL) < 0)
    return -errno;
#endif
  return 0;
}

/* What the handler does after recording, for one signal: call the
 * function that was the disposition before ours. */
enum { CHAIN_NONE, CHAIN_HANDLER, CHAIN_SIGACTION };

struct sigentry {
  _Atomic(ipc_sigqueue_t *) receivers[IPC__SIG_RECEIVERS];
  _Atomic unsigned inflight;
  _Atomic int chain_kind;
  _Atomic(void (*)(int)) chain_handler;
  _Atomic(void (*)(int, siginfo_t *, void *)) chain_action;
  /* Under table_lock. */
  int count;                 /* receivers registered */
  struct disposition before; /* what our handler replaced */
  int saved; /* orig holds the disposition at our first change */
  struct disposition orig;
};

static struct sigentry table[IPC_SIG_MAX + 1];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static ipc_sigqueue_t *receivers_all; /* the list, for fork */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* --------------------------------------------------------------- checks */

/* 0 when sig may be named in a set or sent; IPC_EINVAL for what is not a
 * signal or is glibc's (32, 33: SIGCANCEL and SIGSETXID of its threads). */
static int sig_check(int sig) {
  if (sig < 1 || sig > IPC_SIG_MAX)
    return IPC_EINVAL;
  if (sig > 31 && sig < SIGRTMIN)
    return IPC_EINVAL;
  return 0;
}

/* sig_check, and SIGKILL and SIGSTOP refused: nothing changes them. */
static int sig_check_catchable(int sig) {
  if (sig == SIGKILL || sig == SIGSTOP)
    return IPC_EINVAL;
  return sig_check(sig);
}

static int set_check(uint64_t set) {
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if ((set & IPC_SIGBIT(sig)) && sig_check_catchable(sig) < 0)
      return IPC_EINVAL;
  return 0;
}

static void set_to_sigset(uint64_t set, sigset_t *ss) {
  sigemptyset(ss);
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (set & IPC_SIGBIT(sig))
      sigaddset(ss, sig);
}

static uint64_t set_from_sigset(const sigset_t *ss) {
  uint64_t set = 0;
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (sigismember(ss, sig) == 1)
      set |= IPC_SIGBIT(sig);
  return set;
}

/* ------------------------------------------------------------- records */

/* Whether si_code carries a sender (the _rt and _kill layouts). */
static int code_has_sender(int code) {
  return code == SI_USER || code == SI_QUEUE || code == SI_TKILL ||
         code == SI_MESGQ;
}

/* The record of a siginfo_t. Async-signal-safe. */
static void info_from_siginfo(ipc_siginfo_t *r, int sig, const siginfo_t *si) {
  memset(r, 0, sizeof *r);
  r->signo = sig;
  if (si == NULL)
    return;
  r->code = si->si_code;
  r->errno_ = si->si_errno;
  if (sig == SIGCHLD && si->si_code > 0) {
    r->pid = si->si_pid;
    r->uid = (int)si->si_uid;
    r->status = si->si_status;
  } else if (code_has_sender(si->si_code)) {
    r->pid = si->si_pid;
    r->uid = (int)si->si_uid;
  }
  if (si->si_code == SI_QUEUE || si->si_code == SI_TIMER ||
      si->si_code == SI_MESGQ)
    r->value = (int64_t)(intptr_t)si->si_value.sival_ptr;
}

static void info_from_signalfd(ipc_siginfo_t *r,
                               const struct signalfd_siginfo *s) {
  memset(r, 0, sizeof *r);
  r->signo = (int)s->ssi_signo;
  r->code = s->ssi_code;
  r->errno_ = s->ssi_errno;
  if (r->signo == SIGCHLD && r->code > 0) {
    r->pid = (int)s->ssi_pid;
    r->uid = (int)s->ssi_uid;
    r->status = s->ssi_status;
  } else if (code_has_sender(r->code)) {
    r->pid = (int)s->ssi_pid;
    r->uid = (int)s->ssi_uid;
  }
  if (r->code == SI_QUEUE || r->code == SI_TIMER || r->code == SI_MESGQ)
    r->value = (int64_t)s->ssi_ptr;
}

/* Queues one record into q, or counts it dropped. Async-signal-safe,
 * lock-free: see the file comment. */
static void sigq_put(ipc_sigqueue_t *q, const ipc_siginfo_t *rec) {
  uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
  struct sigq_slot *s;
  for (;;) {
    s = &q->slots[pos & q->mask];
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire); /*P0*/
    int64_t dif = (int64_t)(seq - pos);
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                memory_order_relaxed,
                                                memory_order_relaxed))
        break;
    } else if (dif < 0) { /* the slot of the lap before is not taken yet */
      atomic_fetch_add_explicit(&q->dropped[rec->signo], 1,
                                memory_order_relaxed);
      atomic_fetch_add_explicit(&q->dropped[0], 1, memory_order_relaxed);
      return;
    } else {
      pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    }
  }
  s->info = *rec;
  atomic_store_explicit(&s->seq, pos + 1, memory_order_release); /* [P1] */
  atomic_fetch_add_explicit(&q->recorded, 1, memory_order_relaxed);
  uint64_t one = 1;
  ssize_t w = write(q->efd, &one, sizeof one); /* EAGAIN: already readable */
  (void)w;
}

/* Synchronous faults: the kernel raised them for an instruction, which
 * runs again if the handler returns. A deferred handler cannot help. */
static int is_fault(int sig, const siginfo_t *si) {
  return si != NULL && si->si_code > 0 &&
         (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
          sig == SIGTRAP);
}

static void on_signal(int sig, siginfo_t *si, void *uctx) {
  int saved_errno = errno;
  struct sigentry *e = &table[sig];
  int fault = is_fault(sig, si);
  if (!fault) {
    ipc_siginfo_t rec;
    info_from_siginfo(&rec, sig, si);
    atomic_fetch_add(&e->inflight, 1);
    for (int i = 0; i < IPC__SIG_RECEIVERS; i++) {
      ipc_sigqueue_t *q = atomic_load(&e->receivers[i]);
      if (q != NULL)
        sigq_put(q, &rec);
    }
    atomic_fetch_sub(&e->inflight, 1); /* before the chained call, which
                                           may never return (longjmp) */
    atomic_fetch_add_explicit(&ipc__signal_gen, 1, memory_order_release);
  }
  int kind = atomic_load_explicit(&e->chain_kind, memory_order_acquire);
  errno = saved_errno;
  if (kind == CHAIN_SIGACTION) {
    atomic_load_explicit(&e->chain_action, memory_order_relaxed)(sig, si, uctx);
  } else if (kind == CHAIN_HANDLER) {
    atomic_load_explicit(&e->chain_handler, memory_order_relaxed)(sig);
  } else if (fault) {
    /* No handler before ours: the default action, as without us. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
  }
  errno = saved_errno;
}

/* ---------------------------------------------------------- dispositions */

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_signal;
}

/* sa_handler and sa_sigaction share their storage: SIG_DFL and SIG_IGN
 * read the same through either. */
static int is_function(const struct sigaction *sa) {
  return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

/* Reads the disposition in place into *cur and saves it as the one to
 * restore, at libipc's first change of sig. Under table_lock. */
static int save_orig(int sig, struct disposition *cur) {
  int rc = get_disposition(sig, cur);
  if (rc < 0)
    return rc;
  struct sigentry *e = &table[sig];
  if (!e->saved && !is_ours(&cur->sa)) {
    e->orig = *cur;
    e->saved = 1;
  }
  return 0;
}

/* The pipe writers' fast path (internal.h): whether a SIGPIPE is harmless
 * under the disposition libipc is putting in place. Called with 0 before
 * each change of SIGPIPE (so that no writer takes the fast path while the
 * disposition may already be deadly) and with what the new one is after
 * it; other signals are ignored. A writer that loaded the flag just before
 * another thread makes SIGPIPE deadly again can still write with write(2):
 * changing SIGPIPE while other threads write pipes is the caller's race.
 * Under table_lock. */
static void note_sigpipe(int sig, int harmless) {
  if (sig == SIGPIPE)
    atomic_store(&ipc__sigpipe_harmless, harmless);
}

/* Whether SIGPIPE is harmless under disposition d, when libipc puts it
 * back: only SIG_IGN is (a host's function may exit, SIG_DFL kills). */
static int ignores(const struct disposition *d) {
  return d->sa.sa_handler == SIG_IGN;
}

/* Makes our handler the disposition of sig, chaining to the one in place.
 * Under table_lock. */
static int install(int sig) {
  struct sigentry *e = &table[sig];
  struct disposition d;
  int rc = save_orig(sig, &d);
  if (rc < 0)
    return rc;
  const struct sigaction cur = d.sa;
  if (is_ours(&cur))
    return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  if (sig == SIGCHLD)
    sa.sa_flags |= cur.sa_flags & SA_NOCLDSTOP;
  if (is_function(&cur)) {
    sa.sa_mask = cur.sa_mask; /* what the chained handler expects */
    if (cur.sa_flags & SA_SIGINFO) {
      atomic_store(&e->chain_action, cur.sa_sigaction);
      atomic_store(&e->chain_kind, CHAIN_SIGACTION);
    } else {
      atomic_store(&e->chain_handler, cur.sa_handler);
      atomic_store(&e->chain_kind, CHAIN_HANDLER);
    }
  } else {
    sigemptyset(&sa.sa_mask);
    atomic_store(&e->chain_kind, CHAIN_NONE);
  }
  e->before = d;
  note_sigpipe(sig, 0);
  if (sigaction(sig, &sa, NULL) < 0)
    return -errno;
  /* Ours alone: a SIGPIPE is recorded and the write returns EPIPE. With a
   * host's handler behind ours, a write would now run it: not harmless. */
  note_sigpipe(sig, atomic_load(&e->chain_kind) == CHAIN_NONE);
  return 0;
}

/* Puts back what our handler replaced, if ours is still in place. Under
 * table_lock. */
static void uninstall(int sig) {
  struct sigaction cur;
  note_sigpipe(sig, 0);
  if (sigaction(sig, NULL, &cur) == 0 && is_ours(&cur) &&
      put_disposition(sig, &table[sig].before) == 0)
    note_sigpipe(sig, ignores(&table[sig].before));
}

/* Removes q's registration of sig, if any; the last one uninstalls when
 * `put_back`. Under table_lock. */
static void unregister(ipc_sigqueue_t *q, int sig, int put_back) {
  struct sigentry *e = &table[sig];
  if (q == NULL || !(q->sigs & IPC_SIGBIT(sig)))
    return;
  for (int i = 0; i < IPC__SIG_RECEIVERS; i++)
    if (atomic_load(&e->receivers[i]) == q)
      atomic_store(&e->receivers[i], NULL);
  q->sigs &= ~IPC_SIGBIT(sig);
  if (--e->count == 0 && put_back)
    uninstall(sig);
}

/* Whether a receiver other than q handles sig. Under table_lock. */
static int others_handle(const ipc_sigqueue_t *q, int sig) {
  int mine = q != NULL && (q->sigs & IPC_SIGBIT(sig));
  return table[sig].count > mine;
}

/* Waits until no handler of sig is running on another thread. */
static void wait_handlers(int sig) {
  while (atomic_load(&table[sig].inflight) != 0)
    sched_yield();
}

/* ------------------------------------------------------------ receivers */

/* After fork, the child gets an eventfd of its own under the same number:
 * otherwise parent and child would drain each other's wake-ups. */
static void atfork_prepare(void) { pthread_mutex_lock(&table_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&table_lock); }
static void atfork_child(void) {
  /* Handlers that were running on other threads are gone with them. */
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    atomic_store(&table[sig].inflight, 0);
  for (ipc_sigqueue_t *q = receivers_all; q != NULL; q = q->next) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
      dup3(fd, q->efd, O_CLOEXEC);
      close(fd);
    }
    if (ipc_sigqueue_pending(q) > 0) {
      uint64_t one = 1;
      ssize_t w = write(q->efd, &one, sizeof one);
      (void)w;
    }
  }
  pthread_mutex_unlock(&table_lock);
}

static void atfork_register(void) {
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int ipc_sigqueue_create(ipc_sigqueue_t **out, unsigned capacity) {
  *out = NULL;
  if (capacity == 0)
    capacity = IPC__SIGQ_DEFAULT;
  if (capacity > IPC__SIGQ_MAX)
    return IPC_EINVAL;
  unsigned cap = 1;
  while (cap < capacity)
    cap <<= 1;
  pthread_once(&atfork_once, atfork_register);
  ipc_sigqueue_t *q = calloc(1, sizeof *q + (size_t)cap * sizeof q->slots[0]);
  if (q == NULL)
    return IPC_ENOMEM;
  q->cap = cap;
  q->mask = cap - 1;
  for (unsigned i = 0; i < cap; i++)
    atomic_init(&q->slots[i].seq, i);
  q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (q->efd < 0) {
    int rc = -errno;
    free(q);
    return rc;
  }
  pthread_mutex_lock(&table_lock);
  q->next = receivers_all;
  receivers_all = q;
  pthread_mutex_unlock(&table_lock);
  *out = q;
  return 0;
}

int ipc_sigqueue_close(ipc_sigqueue_t *q) {
  if (q == NULL)
    return 0;
  pthread_mutex_lock(&table_lock);
  uint64_t had = q->sigs;
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    unregister(q, sig, 1);
  for (ipc_sigqueue_t **p = &receivers_all; *p != NULL; p = &(*p)->next)
    if (*p == q) {
      *p = q->next;
      break;
    }
  pthread_mutex_unlock(&table_lock);
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (had & IPC_SIGBIT(sig))
      wait_handlers(sig);
  close(q->efd);
  free(q);
  return 0;
}

int ipc_sigqueue_fd(const ipc_sigqueue_t *q) { return q->efd; }

/* Whether the slot at head holds a committed record. */
static int head_ready(ipc_sigqueue_t *q) {
  struct sigq_slot *s = &q->slots[q->head & q->mask];
  return atomic_load_explicit(&s->seq, memory_order_acquire) == q->head + 1;
}

size_t ipc_sigqueue_take(ipc_sigqueue_t *q, ipc_siginfo_t *out, size_t n) {
  size_t k = 0;
  while (k < n) {
    struct sigq_slot *s = &q->slots[q->head & q->mask];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != /* [C1] */
        q->head + 1)
      break;
    out[k++] = s->info;
    atomic_store_explicit(&s->seq, q->head + q->cap,
                          memory_order_release); /* [C2] */
    q->head++;
  }
  q->taken += k;
  if (!head_ready(q)) {
    /* Empty (or the next record is still being written, and its writer
     * will signal the eventfd once it is). Drain, then look again: a
     * record committed just before the drain must leave it readable. */
    uint64_t v;
    ssize_t r = read(q->efd, &v, sizeof v);
    (void)r;
    if (head_ready(q)) {
      uint64_t one = 1;
      ssize_t w = write(q->efd, &one, sizeof one);
      (void)w;
    }
  }
  return k;
}

unsigned ipc_sigqueue_pending(const ipc_sigqueue_t *q) {
  uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
  return (unsigned)(tail - q->head);
}

int ipc_sigqueue_stats(const ipc_sigqueue_t *q, ipc_sigqueue_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->recorded = atomic_load_explicit(&q->recorded, memory_order_relaxed);
  st->taken = q->taken;
  for (int sig = 0; sig <= IPC_SIG_MAX; sig++)
    st->dropped[sig] =
        atomic_load_explicit(&q->dropped[sig], memory_order_relaxed);
  pthread_mutex_lock(&table_lock);
  st->handled = q->sigs;
  pthread_mutex_unlock(&table_lock);
  st->capacity = q->cap;
  st->pending = ipc_sigqueue_pending(q);
  return 0;
}

/* ---------------------------------------------------------- registration */

int ipc_signal_handle(ipc_sigqueue_t *q, int sig, int flags) {
  if (flags != 0 || q == NULL || sig_check_catchable(sig) < 0)
    return IPC_EINVAL;
  struct sigentry *e = &table[sig];
  int rc = 0;
  pthread_mutex_lock(&table_lock);
  if (!(q->sigs & IPC_SIGBIT(sig))) {
    int slot = -1;
    for (int i = 0; i < IPC__SIG_RECEIVERS && slot < 0; i++)
      if (atomic_load(&e->receivers[i]) == NULL)
        slot = i;
    if (slot < 0) {
      rc = IPC_ENOSPC;
      goto out;
    }
    /* Registered first: the first signal after the install is recorded. */
    atomic_store(&e->receivers[slot], q);
    q->sigs |= IPC_SIGBIT(sig);
    e->count++;
  }
  /* Also when registered already: the host may have replaced our handler
   * since, and this puts it back in front (chaining to the host's). */
  if ((rc = install(sig)) < 0)
    unregister(q, sig, 0);
out:
  pthread_mutex_unlock(&table_lock);
  return rc;
}

int ipc_signal_unhandle(ipc_sigqueue_t *q, int sig) {
  if (q == NULL || sig_check_catchable(sig) < 0)
    return IPC_EINVAL;
  pthread_mutex_lock(&table_lock);
  unregister(q, sig, 1);
  pthread_mutex_unlock(&table_lock);
  return 0;
}

/* ignore and default: handler is SIG_IGN or SIG_DFL. */
static int set_disposition(ipc_sigqueue_t *q, int sig, void (*handler)(int)) {
  if (sig_check_catchable(sig) < 0)
    return IPC_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&table_lock);
  if (others_handle(q, sig)) {
    rc = IPC_EBUSY;
  } else {
    struct disposition cur;
    struct sigaction sa;
    if ((rc = save_orig(sig, &cur)) == 0) {
      unregister(q, sig, 0);
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = handler;
      sigemptyset(&sa.sa_mask);
      note_sigpipe(sig, 0);
      if (sigaction(sig, &sa, NULL) < 0)
        rc = -errno;
      else
        note_sigpipe(sig, handler == SIG_IGN);
    }
  }
  pthread_mutex_unlock(&table_lock);
  return rc;
}

int ipc_signal_ignore(ipc_sigqueue_t *q, int sig) {
  return set_disposition(q, sig, SIG_IGN);
}

int ipc_signal_default(ipc_sigqueue_t *q, int sig) {
  return set_disposition(q, sig, SIG_DFL);
}

int ipc_signal_restore(ipc_sigqueue_t *q, int sig) {
  if (sig_check_catchable(sig) < 0)
    return IPC_EINVAL;
  struct sigentry *e = &table[sig];
  int rc = 0;
  pthread_mutex_lock(&table_lock);
  if (others_handle(q, sig)) {
    rc = IPC_EBUSY;
  } else {
    unregister(q, sig, 0);
    if (e->saved) {
      note_sigpipe(sig, 0);
      if ((rc = put_disposition(sig, &e->orig)) == 0) {
        e->saved = 0;
        note_sigpipe(sig, ignores(&e->orig));
      }
    }
  }
  pthread_mutex_unlock(&table_lock);
  return rc;
}

/* --------------------------------------------------------------- sending */

int ipc_signal_kill(pid_t pid, int sig) {
  if (sig != 0 && sig_check(sig) < 0)
    return IPC_EINVAL;
  return kill(pid, sig) < 0 ? -errno : 0;
}

int ipc_signal_raise(int sig) {
  if (sig_check(sig) < 0)
    return IPC_EINVAL;
  return raise(sig) == 0 ? 0 : -errno;
}

int ipc_signal_queue(pid_t pid, int sig, int64_t value) {
  if (pid <= 0 || sig_check(sig) < 0)
    return IPC_EINVAL;
  union sigval v;
  memset(&v, 0, sizeof v);
  /* All 64 bits: a receiver reading sival_int gets the low half, which is
   * the value itself whenever it fits an int. */
  v.sival_ptr = (void *)(intptr_t)value;
  return sigqueue(pid, sig, v) < 0 ? -errno : 0;
}

/* ----------------------------------------------------------------- masks */

static int mask_change(int how, uint64_t set, uint64_t *old) {
  if (set_check(set) < 0)
    return IPC_EINVAL;
  sigset_t ss, prev;
  set_to_sigset(set, &ss);
  int err = pthread_sigmask(how, &ss, &prev);
  if (err != 0)
    return -err;
  if (old)
    *old = set_from_sigset(&prev);
  return 0;
}

int ipc_signal_block(uint64_t set, uint64_t *old) {
  return mask_change(SIG_BLOCK, set, old);
}

int ipc_signal_unblock(uint64_t set, uint64_t *old) {
  return mask_change(SIG_UNBLOCK, set, old);
}

int ipc_signal_mask(uint64_t *set) {
  sigset_t ss;
  pthread_sigmask(SIG_BLOCK, NULL, &ss);
  *set = set_from_sigset(&ss);
  return 0;
}

int ipc_signal_pending(uint64_t *set) {
  sigset_t ss;
  sigpending(&ss);
  *set = set_from_sigset(&ss);
  return 0;
}

int ipc_signal_wait(uint64_t set, int timeout_ms, ipc_siginfo_t *out) {
  if (set == 0 || set_check(set) < 0)
    return IPC_EINVAL;
  sigset_t ss;
  set_to_sigset(set, &ss);
  siginfo_t si;
  struct timespec ts = {.tv_sec = timeout_ms / 1000,
                        .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
  /* The system call itself: glibc's sigtimedwait reports raise's SI_TKILL
   * as SI_USER, and records, signalfd and this should agree. */
  int sig = (int)syscall(SYS_rt_sigtimedwait, &ss, &si,
                         timeout_ms < 0 ? NULL : &ts, (size_t)(_NSIG / 8));
  if (sig < 0)
    return errno == EAGAIN ? IPC_ETIMEDOUT : -errno;
  if (out)
    info_from_siginfo(out, sig, &si);
  return sig;
}

/* ----------------------------------------------------------------- names */

static const char *const sig_names[IPC_SIG_MAX + 1] = {
    [SIGHUP] = "HUP",       [SIGINT] = "INT",       [SIGQUIT] = "QUIT",
    [SIGILL] = "ILL",       [SIGTRAP] = "TRAP",     [SIGABRT] = "ABRT",
    [SIGBUS] = "BUS",       [SIGFPE] = "FPE",       [SIGKILL] = "KILL",
    [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",     [SIGUSR2] = "USR2",
    [SIGPIPE] = "PIPE",     [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",
    [SIGSTKFLT] = "STKFLT", [SIGCHLD] = "CHLD",     [SIGCONT] = "CONT",
    [SIGSTOP] = "STOP",     [SIGTSTP] = "TSTP",     [SIGTTIN] = "TTIN",
    [SIGTTOU] = "TTOU",     [SIGURG] = "URG",       [SIGXCPU] = "XCPU",
    [SIGXFSZ] = "XFSZ",     [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",
    [SIGWINCH] = "WINCH",   [SIGIO] = "IO",         [SIGPWR] = "PWR",
    [SIGSYS] = "SYS",
};

static const struct {
  const char *name;
  int sig;
} sig_aliases[] = {{"IOT", SIGABRT}, {"CLD", SIGCHLD}, {"POLL", SIGIO}};

/* A decimal number in 0..999 at s up to its end, or -1. */
static int parse_small(const char *s) {
  if (*s == '\0' || strlen(s) > 3)
    return -1;
  int v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

int ipc_signal_number(const char *name) {
  if (name == NULL)
    return IPC_EINVAL;
  int n = parse_small(name);
  if (n >= 0)
    return n >= 1 && n <= IPC_SIG_MAX ? n : IPC_EINVAL;
  if (strncasecmp(name, "SIG", 3) == 0)
    name += 3;
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (sig_names[sig] && strcasecmp(name, sig_names[sig]) == 0)
      return sig;
  for (size_t i = 0; i < sizeof sig_aliases / sizeof sig_aliases[0]; i++)
    if (strcasecmp(name, sig_aliases[i].name) == 0)
      return sig_aliases[i].sig;
  int lo = SIGRTMIN, hi = SIGRTMAX;
  int sig = -1;
  if (strncasecmp(name, "RTMIN", 5) == 0) {
    if (name[5] == '\0')
      sig = lo;
    else if (name[5] == '+' && (n = parse_small(name + 6)) >= 0)
      sig = lo + n;
  } else if (strncasecmp(name, "RTMAX", 5) == 0) {
    if (name[5] == '\0')
      sig = hi;
    else if (name[5] == '-' && (n = parse_small(name + 6)) >= 0)
      sig = hi - n;
  }
  return sig >= lo && sig <= hi && sig <= IPC_SIG_MAX ? sig : IPC_EINVAL;
}

int ipc_signal_name(int sig, char *buf, size_t n) {
  if (sig < 1 || sig > IPC_SIG_MAX)
    return IPC_EINVAL;
  int lo = SIGRTMIN, hi = SIGRTMAX;
  if (sig_names[sig])
    return snprintf(buf, n, "%s", sig_names[sig]);
  if (sig < lo || sig > hi)
    return snprintf(buf, n, "%d", sig);
  if (sig == lo)
    return snprintf(buf, n, "RTMIN");
  if (sig == hi)
    return snprintf(buf, n, "RTMAX");
  if (sig <= (lo + hi) / 2)
    return snprintf(buf, n, "RTMIN+%d", sig - lo);
  return snprintf(buf, n, "RTMAX-%d", hi - sig);
}

/* --------------------------------------------------------------- signalfd */

struct ipc_sigfd {
  int fd;
  uint64_t set;
  pthread_t thread; /* the opener: masks are per thread */
};

/* Per thread: how many open sigfds need each signal blocked, and which of
 * those signals a sigfd blocked (the others were blocked already). */
static __thread unsigned short sigfd_users[IPC_SIG_MAX + 1];
static __thread uint64_t sigfd_blocked;

int ipc_sigfd_open(ipc_sigfd_t **out, uint64_t set) {
  *out = NULL;
  if (set == 0 || set_check(set) < 0)
    return IPC_EINVAL;
  ipc_sigfd_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return IPC_ENOMEM;
  sigset_t ss, old;
  set_to_sigset(set, &ss);
  int err = pthread_sigmask(SIG_BLOCK, &ss, &old);
  if (err != 0) {
    free(h);
    return -err;
  }
  uint64_t added = set & ~set_from_sigset(&old);
  h->fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
  if (h->fd < 0) {
    int rc = -errno;
    sigset_t undo;
    set_to_sigset(added, &undo);
    pthread_sigmask(SIG_UNBLOCK, &undo, NULL);
    free(h);
    return rc;
  }
  sigfd_blocked |= added;
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (set & IPC_SIGBIT(sig))
      sigfd_users[sig]++;
  h->set = set;
  h->thread = pthread_self();
  *out = h;
  return 0;
}

int ipc_sigfd_read(ipc_sigfd_t *h, ipc_siginfo_t *out, int timeout_ms) {
  int64_t deadline = ipc__deadline(timeout_ms);
  unsigned gen = ipc__signal_snap();
  for (int sleeps = 0;; sleeps++) {
    struct signalfd_siginfo ssi;
    ssize_t n = read(h->fd, &ssi, sizeof ssi);
    if (n == (ssize_t)sizeof ssi) {
      if (out)
        info_from_signalfd(out, &ssi);
      return (int)ssi.ssi_signo;
    }
    if (n >= 0)
      return IPC_EIO; /* a short read: never from a signalfd */
    if (errno != EAGAIN)
      return -errno;
    if (timeout_ms == 0)
      return IPC_ETIMEDOUT;
    if (sleeps > 0 && ipc__signal_moved(gen))
      return IPC_EINTR; /* another reader took it, and a handler ran */
    int rc = ipc__wait_fd(h->fd, POLLIN, deadline);
    if (rc < 0)
      return rc;
  }
}

int ipc_sigfd_fd(const ipc_sigfd_t *h) { return h->fd; }

uint64_t ipc_sigfd_set(const ipc_sigfd_t *h) { return h->set; }

int ipc_sigfd_close(ipc_sigfd_t *h) {
  if (h == NULL)
    return 0;
  close(h->fd);
  if (pthread_equal(h->thread, pthread_self())) {
    uint64_t release = 0;
    for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
      if ((h->set & IPC_SIGBIT(sig)) && sigfd_users[sig] > 0 &&
          --sigfd_users[sig] == 0 && (sigfd_blocked & IPC_SIGBIT(sig)))
        release |= IPC_SIGBIT(sig);
    if (release) {
      sigfd_blocked &= ~release;
      sigset_t ss;
      set_to_sigset(release, &ss);
      pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
    }
  }
  free(h);
  return 0;
}
