/* ring.c: a queue of variable-length messages in shared memory.
 *
 * Protocol (docs/ring.md says the same at more length):
 *
 * Layout (version 2). A header page (geometry, then one 128-byte line each
 * for the producers' tail (and bound), the consumers' head, the two wait
 * words, the counters, and a table of participant slots) followed by
 * `capacity` data bytes. Positions are free-running 64-bit byte counters
 * (index = pos & mask; lap = pos / capacity). A record is an 8-byte header
 * word (payload length, type, the writer's slot and generation or, with one
 * producer, the lap, a BUSY bit) and its payload padded to 8 bytes. A
 * record never wraps: a PAD record fills the end of the data area first.
 *
 * Single producer: the header publishes. The consumer waits on the header
 * word of the next record, so that the line that brings a message also
 * brings the news of it (the tail's line is not read per message). The
 * producer writes the payload (and the headers of all but the first record
 * of a batch), then stores 0 in the word after the last record (unless the
 * ring is exactly full: that word is then the oldest record's header, of
 * the previous lap), then `tail` and, when the records pass it, `bound` (a
 * quarter of the ring ahead), then the first header with store-release
 * [P1]. The consumer load-acquires the header at its position [C1] (pairs
 * with P1): 0 or a header of another lap means nothing yet; a header of
 * this lap is checked (type, length, within the data area and below the
 * bound, reloaded only when a record ends past the cached one) and
 * delivered, then the next one is read. A producer that attaches walks the
 * headers from the head: if the last one died between storing the tail
 * and the header, it starts at the first unpublished record.
 *
 * Many producers. `tail` doubles as a claim lock: bit 63 set with the
 * claimer's slot in bits 56..62. A producer CASes tail from an unlocked
 * value to locked, writes its BUSY header (and a PAD before it if needed),
 * then unlocks by store-release of the advanced tail [P1]. Only then does
 * the claim become visible, header included, so a claimer that dies with
 * the lock held leaves nothing behind: the next producer sees the dead
 * owner and clears the lock. The payload is copied outside the lock and
 * committed by store-release of the header without BUSY [P2]; the consumer
 * load-acquires each header [C2] (pairs with P2) and stops at a BUSY one.
 * If that writer's slot proves dead (generation changed, or its process
 * gone or a zombie: /proc/<pid>/stat, start time checked against pid
 * reuse) the consumer CASes the header to DEAD, skips it and counts it
 * abandoned.
 *
 * Consumers. The consumer releases records by store-release of `head`
 * [C3]; producers load-acquire `head` [P3] (pairs with C3) before reusing
 * the space. With many consumers `head` is a lock like `tail`: a consumer
 * locks it, reads or copies the record, and unlocks by advancing it; a
 * consumer that dies holding it is detected the same way and the record is
 * delivered to the next one.
 *
 * Waiting. A poll that finds nothing pauses the CPU once. Spin briefly
 * (only with more than one CPU), then sleep on a
 * 32-bit sequence word: read seq, increment the waiter count (seq_cst),
 * re-check the condition, FUTEX_WAIT(seq) with an absolute CLOCK_MONOTONIC
 * deadline. A publisher stores its position, issues a seq_cst fence, and
 * bumps seq and wakes only when the waiter count is non-zero. Either the
 * waiter's re-check sees the new position or the publisher sees the
 * waiter; a bump between the read of seq and FUTEX_WAIT makes the wait
 * return at once. Sleeps are cut into short slices after which the peers'
 * liveness is checked, so a dead peer is noticed within milliseconds.
 *
 * Untrusted memory. Every value read from the segment is read once into a
 * local and validated before use: positions (tail - head <= capacity,
 * bound - head <= capacity, 8-byte aligned), header lengths (within the
 * published region, within the data area, at most max_message), types
 * and slots. A violation poisons the handle and returns IPC_ECORRUPT. With
 * one producer the consumer reads the tail and the bound when it first
 * finds the ring empty and every DRY_CHECKS times after.
 *
 * An anonymous ring's memfd is sealed against shrinking, so its calls skip
 * the SIGBUS guard that named rings need (see the public calls).
 */
#include "internal.h"
#include "guard.h"
#include "ring.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_MAGIC 0x474e495243504921ull /* "!IPCRING" read little-endian */
#define RING_VERSION 2u /* 2: one producer publishes by header (zero ahead) */
#define RING_SLOTS 64u
#define RING_LINE 128
#define RING_HEADER_SIZE 4096u

#define POS_MASK ((1ull << 56) - 1)
#define LOCKED (1ull << 63)
#define LOCK_SLOT(w) ((unsigned)(((w) >> 56) & 0x7f))

#define REC_BUSY (1ull << 63)
#define REC_LEN(h) ((uint32_t)(h))
#define REC_SLOT(h) ((unsigned)(((h) >> 32) & 0xff))
#define REC_TYPE(h) ((unsigned)(((h) >> 40) & 0xff))
#define REC_GEN(h) ((unsigned)(((h) >> 48) & 0x7fff))
enum { REC_DATA = 1, REC_PAD = 2, REC_DEAD = 3 };

enum { SLOT_FREE = 0, SLOT_SETUP = 1, SLOT_LIVE = 2 };
enum { ROLE_PRODUCER = 1, ROLE_CONSUMER = 2 };
enum { EXIT_NONE = 0, EXIT_CLEAN = 1, EXIT_DIRTY = 2 };

#define SPIN_ROUNDS 2000
#define SLICE_NS (10 * 1000000LL) /* liveness checks while asleep */
#define LOCK_CHECK_SPINS 4096

struct ring_slot {
  _Atomic uint32_t state;
  _Atomic uint32_t role;
  _Atomic int32_t pid;
  _Atomic uint32_t gen;
  _Atomic uint64_t start; /* the owner's start time, clock ticks after boot */
  _Atomic uint32_t reserving; /* single producer: a reservation is open */
  uint32_t unused;
};

struct ring_shared {
  /* Geometry: written before the magic, never changed afterwards. */
  uint64_t magic;
  uint32_t version;
  uint32_t mode;
  uint64_t capacity;
  uint64_t max_message;
  uint64_t data_offset;
  uint64_t total_size;
  uint32_t nslots;
  uint32_t unused;
  _Alignas(RING_LINE) _Atomic uint64_t tail;
  _Atomic uint64_t pushed;
  _Atomic uint64_t bound; /* one producer: no record ends past it */
  _Alignas(RING_LINE) _Atomic uint64_t head;
  _Atomic uint64_t popped;
  _Alignas(RING_LINE) _Atomic uint32_t data_seq;
  _Atomic uint32_t data_waiters;
  _Alignas(RING_LINE) _Atomic uint32_t space_seq;
  _Atomic uint32_t space_waiters;
  _Alignas(RING_LINE) _Atomic uint64_t abandoned;
  _Atomic uint64_t waits;
  _Atomic uint32_t producers_seen;
  _Atomic uint32_t consumers_seen;
  _Atomic uint32_t producer_exit; /* how the last producer left */
  _Atomic uint32_t consumer_exit;
  _Alignas(RING_LINE) struct ring_slot slots[RING_SLOTS];
};

_Static_assert(sizeof(struct ring_shared) <= RING_HEADER_SIZE,
               "the shared header must fit its page");
_Static_assert(sizeof(struct ring_slot) == 32, "slot layout is fixed");
_Static_assert(RING_SLOTS <= 128, "slots must fit the 7 lock bits");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "shared atomics must be lock-free");

struct ipc_ring {
  struct ring_shared *sh;
  char *data;
  size_t map_size;
  uint64_t cap;
  uint64_t mask;
  unsigned lap_shift; /* log2(cap): a position's lap is pos >> lap_shift */
  uint64_t max_msg;
  int mode;
  int fd;
  int can_push;
  int can_pop;
  int spin;           /* more than one CPU: spinning can pay */
  int64_t last_probe; /* when liveness was last checked against /proc */
  unsigned polls;     /* polls (timeout 0) since the handle was made */
  int poisoned;
  int sealed; /* the segment can never shrink: no SIGBUS guard needed */
  char *name;
  volatile uint8_t *fork_guard; /* a MADV_WIPEONFORK page: 0 in a child */
  /* producer side */
  int pslot;
  uint32_t pgen;
  uint64_t tail;       /* single producer: our tail */
  uint64_t bound;      /* single producer: the bound last stored */
  uint64_t head_cache; /* the consumers' head as last seen */
  int reserved;        /* a reservation is open */
  uint64_t res_pos;    /* its header's position */
  uint32_t res_len;
  int held;          /* single producer: a header written but not stored */
  uint64_t held_pos; /* where it goes: the first record not yet published */
  uint64_t held_hdr;
  /* consumer side */
  int cslot;
  uint64_t head;       /* single consumer: our head */
  uint64_t tail_cache; /* the producers' tail (one producer: bound) seen */
  unsigned dry;        /* single producer: times the ring was found empty */
  int peeked;          /* a peek is open */
  uint64_t peek_end;   /* position after the peeked record */
};

#define SH_LOAD(p, o) atomic_load_explicit(p, memory_order_##o)
#define SH_STORE(p, v, o) atomic_store_explicit(p, v, memory_order_##o)

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline uint64_t rec_size(uint64_t len) {
  return 8 + ((len + 7) & ~7ull);
}

static inline uint64_t rec_make(uint64_t len, unsigned type, unsigned slot,
                                unsigned gen, int busy) {
  return len | (uint64_t)slot << 32 | (uint64_t)type << 40 |
         (uint64_t)(gen & 0x7fff) << 48 | (busy ? REC_BUSY : 0);
}

static inline _Atomic uint64_t *rec_at(const ipc_ring_t *r, uint64_t pos) {
  return (_Atomic uint64_t *)(r->data + (pos & r->mask));
}

/* One producer: the lap tag a header at pos carries in its generation bits
 * (which only many producers use for the writer's slot). */
static inline unsigned lap_tag(const ipc_ring_t *r, uint64_t pos) {
  return (unsigned)(pos >> r->lap_shift) & 0x7fff;
}

static int corrupt(ipc_ring_t *r) {
  r->poisoned = 1;
  return IPC_ECORRUPT;
}

/* ------------------------------------------------------------ liveness */

/* State letter and start time of a process, from /proc/<pid>/stat. */
static int proc_probe(int32_t pid, char *state, uint64_t *start) {
  char path[32], buf[512];
  if (pid <= 0)
    return IPC_ESRCH;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return IPC_ESRCH;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: skip to the last ')'.
   * Then field 3 is the state and field 22 the start time. */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ')
    return IPC_ESRCH;
  p += 2;
  *state = *p;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p)
      return IPC_ESRCH;
    p++;
  }
  *start = strtoull(p, NULL, 10);
  return 0;
}

/* Whether the process that registered (pid, start) still runs. A zombie
 * counts as dead: it will never touch the ring again. */
static int proc_alive(int32_t pid, uint64_t start) {
  char state;
  uint64_t now_start;
  if (proc_probe(pid, &state, &now_start) < 0)
    return 0;
  return state != 'Z' && state != 'X' && now_start == start;
}

static int slot_alive(struct ring_slot *s, unsigned gen, int check_gen) {
  if (SH_LOAD(&s->state, acquire) != SLOT_LIVE)
    return 0;
  if (check_gen && (SH_LOAD(&s->gen, relaxed) & 0x7fff) != gen)
    return 0;
  return proc_alive(SH_LOAD(&s->pid, relaxed), SH_LOAD(&s->start, relaxed));
}

/* Frees the slot of a participant found dead, once (the SETUP state keeps
 * two cleaners apart), recording an unclean exit of its role. */
static void slot_reap(ipc_ring_t *r, unsigned i) {
  struct ring_shared *sh = r->sh;
  struct ring_slot *s = &sh->slots[i];
  uint32_t live = SLOT_LIVE;
  if (!atomic_compare_exchange_strong(&s->state, &live, SLOT_SETUP))
    return;
  if (proc_alive(SH_LOAD(&s->pid, relaxed), SH_LOAD(&s->start, relaxed))) {
    /* Freed and taken by a live process since our check: leave it be. */
    SH_STORE(&s->state, SLOT_LIVE, release);
    return;
  }
  uint32_t role = SH_LOAD(&s->role, relaxed);
  if (role & ROLE_PRODUCER) {
    /* A single producer's open reservation was never published: it is the
     * abandoned record. (Many producers' are counted where skipped.) */
    if (SH_LOAD(&s->reserving, relaxed))
      atomic_fetch_add_explicit(&sh->abandoned, 1, memory_order_relaxed);
    SH_STORE(&sh->producer_exit, EXIT_DIRTY, relaxed);
  }
  if (role & ROLE_CONSUMER)
    SH_STORE(&sh->consumer_exit, EXIT_DIRTY, relaxed);
  SH_STORE(&s->reserving, 0, relaxed);
  SH_STORE(&s->state, SLOT_FREE, release);
}

/* Live participants of a role, reaping the dead ones met on the way. */
static int count_live(ipc_ring_t *r, uint32_t role, int exclude) {
  int n = 0;
  for (unsigned i = 0; i < RING_SLOTS; i++) {
    struct ring_slot *s = &r->sh->slots[i];
    if ((int)i == exclude || SH_LOAD(&s->state, acquire) != SLOT_LIVE ||
        !(SH_LOAD(&s->role, relaxed) & role))
      continue;
    if (slot_alive(s, 0, 0))
      n++;
    else
      slot_reap(r, i);
  }
  return n;
}

static int self_identity(int32_t *pid, uint64_t *start) {
  char state;
  *pid = (int32_t)getpid();
  return proc_probe(*pid, &state, start);
}

/* Takes a slot for this handle in `role`. Single-producer or -consumer
 * sides refuse a second live participant with IPC_EBUSY. */
static int slot_register(ipc_ring_t *r, uint32_t role, int single) {
  struct ring_shared *sh = r->sh;
  int32_t pid;
  uint64_t start;
  int rc = self_identity(&pid, &start);
  if (rc < 0)
    return rc;
  if (single && count_live(r, role, -1) > 0)
    return IPC_EBUSY;
  for (int pass = 0; pass < 2; pass++) {
    for (unsigned i = 0; i < RING_SLOTS; i++) {
      struct ring_slot *s = &sh->slots[i];
      uint32_t expect = SLOT_FREE;
      if (!atomic_compare_exchange_strong(&s->state, &expect, SLOT_SETUP))
        continue;
      uint32_t gen = SH_LOAD(&s->gen, relaxed) + 1;
      SH_STORE(&s->gen, gen, relaxed);
      SH_STORE(&s->pid, pid, relaxed);
      SH_STORE(&s->start, start, relaxed);
      SH_STORE(&s->role, role, relaxed);
      SH_STORE(&s->reserving, 0, relaxed);
      SH_STORE(&s->state, SLOT_LIVE, release);
      if (role == ROLE_PRODUCER) {
        r->pslot = (int)i;
        r->pgen = gen & 0x7fff;
        SH_STORE(&sh->producers_seen, 1, relaxed);
      } else {
        r->cslot = (int)i;
        SH_STORE(&sh->consumers_seen, 1, relaxed);
      }
      return 0;
    }
    count_live(r, ROLE_PRODUCER | ROLE_CONSUMER, -1); /* reap, try again */
  }
  return IPC_EBUSY; /* every slot holds a live participant */
}

static void slot_leave(ipc_ring_t *r, int i, uint32_t role) {
  struct ring_shared *sh = r->sh;
  if (i < 0)
    return;
  if (role == ROLE_PRODUCER)
    SH_STORE(&sh->producer_exit, EXIT_CLEAN, relaxed);
  else
    SH_STORE(&sh->consumer_exit, EXIT_CLEAN, relaxed);
  SH_STORE(&sh->slots[i].state, SLOT_FREE, release);
  /* Sleepers on either side re-check and may now see EOF. */
  atomic_fetch_add(&sh->data_seq, 1);
  atomic_fetch_add(&sh->space_seq, 1);
  syscall(SYS_futex, &sh->data_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  syscall(SYS_futex, &sh->space_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* A child made by fork shares the handle's memory but is a new
 * participant: it forgets the parent's slots, reservation and peek. */
static void ring_after_fork(ipc_ring_t *r) {
  r->pslot = r->cslot = -1;
  r->reserved = 0;
  r->held = 0;
  r->peeked = 0;
  *r->fork_guard = 1;
}

/* --------------------------------------------------------------- waits */

static int futex_wait_until(_Atomic uint32_t *word, uint32_t val,
                            int64_t deadline) {
  struct timespec ts, *tp = NULL;
  if (deadline != IPC__NO_DEADLINE) {
    ts.tv_sec = deadline / 1000000000;
    ts.tv_nsec = deadline % 1000000000;
    tp = &ts;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time; no PRIVATE
   * flag, since the word is shared between processes. */
  if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, tp, NULL,
              FUTEX_BITSET_MATCH_ANY) == 0)
    return 0;
  if (errno == EAGAIN)
    return 0;
  return -errno;
}

static void wake(_Atomic uint32_t *seq, _Atomic uint32_t *waiters) {
  atomic_thread_fence(memory_order_seq_cst); /* pairs with the waiter's */
  if (SH_LOAD(waiters, relaxed)) {
    atomic_fetch_add(seq, 1);
    syscall(SYS_futex, seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
}

/* A wait condition: > 0 ready, 0 not yet, < 0 an error to return. `slow`
 * is -1 while spinning (the cheap check only), 0 normally, 1 when the
 * costly liveness checks against /proc are due (at most once a slice). */
typedef int (*ring_cond_t)(ipc_ring_t *r, void *arg, int slow);

/* A poll (deadline 0) that finds nothing pauses the CPU once before its
 * last look. A caller polling in a loop then reads the other side's cache
 * line half as often, which lets the other side's writes to it through:
 * measured, the busy round trip of bench/ring fell from 2.2 to 1.8 times
 * the cache-line floor. */
static inline void poll_pause(int64_t deadline) {
  if (deadline == 0)
    cpu_relax();
}

/* Deadlines for the ring calls: timeout 0 becomes deadline 0, which lies
 * in the past, so a poll never reads the clock. */
static int64_t ring_deadline(int timeout_ms) {
  return timeout_ms == 0 ? 0 : ipc__deadline(timeout_ms);
}

#define POLLS_PER_PROBE 1024
#define DRY_CHECKS 256

/* Liveness probes read /proc: allow them once per slice per handle, so
 * that polling with timeout 0 stays cheap yet still notices dead peers.
 * Polls look at the clock only every POLLS_PER_PROBE-th time. */
static int probe_due(ipc_ring_t *r, int polling) {
  if (polling && ++r->polls % POLLS_PER_PROBE != 1)
    return 0;
  int64_t now = ipc__now_ns();
  if (now - r->last_probe < SLICE_NS)
    return 0;
  r->last_probe = now;
  return 1;
}

/* Waits until cond is ready (returns 0: the caller re-evaluates), the
 * deadline passes (IPC_ETIMEDOUT), a signal arrives (IPC_EINTR) or cond
 * reports an error. A signal that libipc's handler recorded outside the
 * futex call (while spinning, between slices) also ends the wait with
 * IPC_EINTR before the next sleep: the wait sleeps in slices and would
 * otherwise resume over it. */
static int ring_wait(ipc_ring_t *r, int data_side, ring_cond_t cond, void *arg,
                     int64_t deadline) {
  unsigned gen = ipc__signal_snap();
  struct ring_shared *sh = r->sh;
  _Atomic uint32_t *seq = data_side ? &sh->data_seq : &sh->space_seq;
  _Atomic uint32_t *waiters =
      data_side ? &sh->data_waiters : &sh->space_waiters;
  int c;

  if (deadline != IPC__NO_DEADLINE &&
      (deadline == 0 || ipc__now_ns() >= deadline)) {
    c = cond(r, arg, probe_due(r, 1));
    return c > 0 ? 0 : c < 0 ? c : IPC_ETIMEDOUT;
  }
  if (r->spin) {
    for (int i = 0; i < SPIN_ROUNDS; i++) {
      if ((c = cond(r, arg, -1)) != 0)
        return c > 0 ? 0 : c;
      cpu_relax();
    }
  }
  for (;;) {
    uint32_t s = SH_LOAD(seq, acquire);
    atomic_fetch_add(waiters, 1); /* seq_cst: pairs with wake()'s fence */
    if ((c = cond(r, arg, 0)) != 0) {
      atomic_fetch_sub(waiters, 1);
      return c > 0 ? 0 : c;
    }
    if (ipc__signal_moved(gen)) {
      atomic_fetch_sub(waiters, 1);
      return IPC_EINTR;
    }
    int64_t until = ipc__now_ns() + SLICE_NS;
    if (deadline != IPC__NO_DEADLINE && deadline < until)
      until = deadline;
    atomic_fetch_add_explicit(&sh->waits, 1, memory_order_relaxed);
    int rc = futex_wait_until(seq, s, until);
    atomic_fetch_sub(waiters, 1);
    if (rc == IPC_EINTR)
      return rc;
    if (rc < 0 && rc != IPC_ETIMEDOUT)
      return rc;
    if ((c = cond(r, arg, probe_due(r, 0))) != 0)
      return c > 0 ? 0 : c;
    if (deadline != IPC__NO_DEADLINE && ipc__now_ns() >= deadline)
      return IPC_ETIMEDOUT;
  }
}

/* ---------------------------------------------------------- validation */

/* A position word read from the segment: the 56 position bits, which must
 * be 8-byte aligned. */
static inline int pos_ok(uint64_t pos) { return (pos & 7) == 0; }

/* Loads the producers' tail and checks it against a consumer position. */
static int load_tail(ipc_ring_t *r, uint64_t head, uint64_t *tail) {
  uint64_t t = SH_LOAD(&r->sh->tail, acquire) & POS_MASK; /* [C1] */
  if (!pos_ok(t) || t - head > r->cap)
    return corrupt(r);
  *tail = t;
  return 0;
}

/* One producer: loads the bound no record ends past, and checks it against
 * a consumer position as the tail is checked. */
static int load_bound(ipc_ring_t *r, uint64_t head, uint64_t *bound) {
  uint64_t b = SH_LOAD(&r->sh->bound, acquire); /* [C1] */
  if (!pos_ok(b) || b - head > r->cap)
    return corrupt(r);
  *bound = b;
  return 0;
}

/* Loads the consumers' head and checks it against a producer position. */
static int load_head(ipc_ring_t *r, uint64_t tail, uint64_t *head) {
  uint64_t h = SH_LOAD(&r->sh->head, acquire) & POS_MASK; /* [P3] */
  if (!pos_ok(h) || tail - h > r->cap)
    return corrupt(r);
  *head = h;
  return 0;
}

/* With many producers (consumers) the tail (head) we hold may be stale by
 * the time another position is checked against it, and a record below it
 * may already be reused. A failed check is corruption only if the shared
 * position did not move meanwhile; otherwise the caller starts over. */
static int recheck(ipc_ring_t *r, int rc, _Atomic uint64_t *word,
                   uint64_t seen) {
  if (rc == IPC_ECORRUPT && SH_LOAD(word, acquire) != seen) {
    r->poisoned = 0;
    return 0;
  }
  return rc;
}

/* ----------------------------------------------------- segment set-up */

static int geometry(const ipc_ring_opts_t *opts, uint64_t *cap, uint64_t *max,
                    int *mode) {
  uint64_t c = opts && opts->capacity ? opts->capacity : 65536;
  if (c < IPC_RING_MIN_CAPACITY || c > IPC_RING_MAX_CAPACITY || (c & (c - 1)))
    return IPC_EINVAL;
  uint64_t m = opts && opts->max_message ? opts->max_message : c / 8;
  if (m > c / 2 - 8 || m > INT32_MAX)
    return IPC_EINVAL;
  int md = opts ? (int)opts->mode : IPC_RING_SPSC;
  if (md < IPC_RING_SPSC || md > IPC_RING_MPMC)
    return IPC_EINVAL;
  *cap = c;
  *max = m;
  *mode = md;
  return 0;
}

static void header_init(struct ring_shared *sh, uint64_t cap, uint64_t max,
                        int mode) {
  memset(sh, 0, sizeof *sh);
  sh->version = RING_VERSION;
  sh->mode = (uint32_t)mode;
  sh->capacity = cap;
  sh->max_message = max;
  sh->data_offset = RING_HEADER_SIZE;
  sh->total_size = RING_HEADER_SIZE + cap;
  sh->nslots = RING_SLOTS;
  /* The magic last: a reader that sees it sees a complete header. */
  atomic_thread_fence(memory_order_release);
  *(volatile uint64_t *)&sh->magic = RING_MAGIC;
}

int ipc__ring_check_header(const void *mem, size_t size) {
  const struct ring_shared *sh = mem;
  if (size < RING_HEADER_SIZE || sh->magic != RING_MAGIC)
    return IPC_ECORRUPT;
  /* Each field read once: another process may be rewriting them. */
  uint64_t cap = sh->capacity, max = sh->max_message;
  uint64_t off = sh->data_offset, total = sh->total_size;
  if (sh->version != RING_VERSION || sh->mode > IPC_RING_MPMC ||
      sh->nslots != RING_SLOTS)
    return IPC_ECORRUPT;
  if (cap < IPC_RING_MIN_CAPACITY || cap > IPC_RING_MAX_CAPACITY ||
      (cap & (cap - 1)) || max == 0 || max > cap / 2 - 8 ||
      off != RING_HEADER_SIZE || total != off + cap || total > size)
    return IPC_ECORRUPT;
  return 0;
}

static int handle_new(ipc_ring_t **out, void *mem, size_t size, int fd,
                      const char *name, int flags) {
  ipc_ring_t *r = calloc(1, sizeof *r);
  if (!r)
    return IPC_ENOMEM;
  r->fork_guard = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->fork_guard == MAP_FAILED) {
    free(r);
    return IPC_ENOMEM;
  }
  if (madvise((void *)r->fork_guard, 4096, MADV_WIPEONFORK) < 0) {
    int rc = -errno;
    munmap((void *)r->fork_guard, 4096);
    free(r);
    return rc;
  }
  *r->fork_guard = 1;
  if (name && !(r->name = strdup(name))) {
    munmap((void *)r->fork_guard, 4096);
    free(r);
    return IPC_ENOMEM;
  }
  struct ring_shared *sh = mem;
  r->sh = sh;
  r->map_size = size;
  r->cap = sh->capacity;
  r->mask = r->cap - 1;
  r->lap_shift = (unsigned)__builtin_ctzll(r->cap);
  r->max_msg = sh->max_message;
  r->mode = (int)sh->mode;
  r->data = (char *)mem + sh->data_offset;
  r->fd = fd;
  r->can_push = !(flags & IPC_RDONLY);
  r->can_pop = !(flags & IPC_WRONLY);
  r->spin = sysconf(_SC_NPROCESSORS_ONLN) > 1;
  int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
  r->sealed = seals >= 0 && (seals & F_SEAL_SHRINK);
  r->pslot = r->cslot = -1;
  *out = r;
  return 0;
}

static int ring_make(ipc_ring_t **out, const char *name,
                     const ipc_ring_opts_t *opts) {
  uint64_t cap, max;
  int mode, rc, fd;
  *out = NULL;
  if ((rc = geometry(opts, &cap, &max, &mode)) < 0)
    return rc;
  mode_t perm = opts && opts->perm ? (mode_t)opts->perm : 0600;
  if (name) {
    if ((rc = ipc_name_check(name)) < 0)
      return rc;
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, perm);
  } else {
    fd = memfd_create("ipc-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  }
  if (fd < 0)
    return -errno;
  size_t total = RING_HEADER_SIZE + cap;
  void *mem = MAP_FAILED;
  if (name && fchmod(fd, perm) < 0) /* exactly perm, whatever the umask */
    goto fail_errno;
  if (ftruncate(fd, (off_t)total) < 0)
    goto fail_errno;
  /* Reserve the pages now: a full /dev/shm is ENOSPC here, not SIGBUS on
   * some later push. */
  if ((rc = posix_fallocate(fd, 0, (off_t)total)) != 0) {
    rc = -rc;
    goto fail;
  }
  /* An anonymous ring's size is sealed: nobody holding its descriptor can
   * shrink it, so its calls need no SIGBUS guard (handle_new). Best
   * effort: unsealed, the guard stays. */
  if (!name)
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED)
    goto fail_errno;
  header_init(mem, cap, max, mode);
  if ((rc = handle_new(out, mem, total, fd, name, 0)) < 0)
    goto fail;
  return 0;

fail_errno:
  rc = -errno;
fail:
  if (mem != MAP_FAILED)
    munmap(mem, total);
  close(fd);
  if (name)
    shm_unlink(name);
  return rc;
}

int ipc_ring_create(ipc_ring_t **out, const char *name,
                    const ipc_ring_opts_t *opts) {
  if (!name) {
    *out = NULL;
    return IPC_EINVAL;
  }
  return ring_make(out, name, opts);
}

int ipc_ring_create_anon(ipc_ring_t **out, const ipc_ring_opts_t *opts) {
  return ring_make(out, NULL, opts);
}

int ipc_ring_open(ipc_ring_t **out, const char *name, int flags) {
  struct stat st;
  int rc;
  *out = NULL;
  if ((flags & ~(IPC_RDONLY | IPC_WRONLY)) ||
      (flags & (IPC_RDONLY | IPC_WRONLY)) == (IPC_RDONLY | IPC_WRONLY))
    return IPC_EINVAL;
  if ((rc = ipc_name_check(name)) < 0)
    return rc;
  /* Both roles write to the segment (positions, slots), so always O_RDWR. */
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  if (st.st_size < (off_t)RING_HEADER_SIZE) {
    close(fd);
    return IPC_ECORRUPT;
  }
  size_t size = (size_t)st.st_size;
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    rc = -errno;
    close(fd);
    return rc;
  }
  struct ipc__guard g;
  if (IPC__GUARD(g, mem, size))
    rc = IPC_ECORRUPT; /* truncated between fstat and the check */
  else
    rc = ipc__ring_check_header(mem, size);
  ipc__guard_end(&g);
  if (rc < 0 || (rc = handle_new(out, mem, size, fd, name, flags)) < 0) {
    munmap(mem, size);
    close(fd);
    return rc;
  }
  return 0;
}

int ipc__ring_from_memory(ipc_ring_t **out, void *mem, size_t size, int flags) {
  *out = NULL;
  int rc = ipc__ring_check_header(mem, size);
  if (rc < 0)
    return rc;
  return handle_new(out, mem, size, -1, NULL, flags | IPC__RING_BORROWED);
}

int ipc_ring_unlink(const char *name) {
  int rc = ipc_name_check(name);
  if (rc < 0)
    return rc;
  return shm_unlink(name) < 0 ? -errno : 0;
}

static int ring_discard(ipc_ring_t *r);
static void mc_unlock(ipc_ring_t *r, uint64_t p);

int ipc_ring_close(ipc_ring_t *r) {
  if (!r)
    return 0;
  struct ipc__guard g;
  if (IPC__GUARD(g, r->sh, r->map_size) == 0 && *r->fork_guard) {
    if (r->reserved && !r->poisoned)
      ring_discard(r);
    if (r->peeked && r->mode == IPC_RING_MPMC && !r->poisoned)
      /* Unlock without advancing: the message goes to another consumer. */
      mc_unlock(r, r->head);
    slot_leave(r, r->pslot, ROLE_PRODUCER);
    slot_leave(r, r->cslot, ROLE_CONSUMER);
  }
  ipc__guard_end(&g);
  if (r->fd >= 0) {
    munmap(r->sh, r->map_size);
    close(r->fd);
  }
  munmap((void *)r->fork_guard, 4096);
  free(r->name);
  free(r);
  return 0;
}

const char *ipc_ring_name(const ipc_ring_t *r) { return r->name; }

int ipc_ring_fd(const ipc_ring_t *r) { return r->fd; }

/* ------------------------------------------------------ attach by role */

/* One producer: where the published records really end, from the head on.
 * A producer stores the tail before the header that publishes: one that
 * died in between leaves records [first 0 header, tail) never published,
 * and a consumer waiting at that header. The new producer starts there
 * (and says so in the tail). The word it starts at is not a header of its
 * lap (0, or an older lap's), as after every publication. 0, or
 * IPC_ECORRUPT. */
static int spsc_resume(ipc_ring_t *r, uint64_t head, uint64_t *tail) {
  uint64_t p = head, t = *tail;
  while (p != t) {
    uint64_t h = SH_LOAD(rec_at(r, p), acquire);
    if (h == 0 || REC_GEN(h) != lap_tag(r, p))
      break;
    uint64_t size = rec_size(REC_LEN(h));
    unsigned type = REC_TYPE(h);
    if (type < REC_DATA || type > REC_DEAD || (h & REC_BUSY) || size > t - p ||
        (p & r->mask) + size > r->cap)
      return IPC_ECORRUPT;
    p += size;
  }
  uint64_t h = SH_LOAD(rec_at(r, p), relaxed);
  if (h != 0 && REC_GEN(h) == lap_tag(r, p))
    return IPC_ECORRUPT; /* a header past the tail */
  if (p != t)
    SH_STORE(&r->sh->tail, p, release);
  *tail = p;
  return 0;
}

static int producer_attach(ipc_ring_t *r) {
  int rc = slot_register(r, ROLE_PRODUCER, r->mode == IPC_RING_SPSC);
  if (rc < 0)
    return rc;
  uint64_t t = SH_LOAD(&r->sh->tail, acquire) & POS_MASK;
  uint64_t h, b = 0;
  if (!pos_ok(t) || (rc = load_head(r, t, &h)) < 0 ||
      (r->mode == IPC_RING_SPSC &&
       (spsc_resume(r, h, &t) < 0 || load_bound(r, h, &b) < 0 ||
        b - t > r->cap))) {
    slot_leave(r, r->pslot, ROLE_PRODUCER);
    r->pslot = -1;
    return corrupt(r);
  }
  r->tail = t;
  r->head_cache = h;
  r->bound = b; /* one producer: it never moves back (see prod_publish) */
  return 0;
}

static int consumer_attach(ipc_ring_t *r) {
  int rc = slot_register(r, ROLE_CONSUMER, r->mode != IPC_RING_MPMC);
  if (rc < 0)
    return rc;
  uint64_t h = SH_LOAD(&r->sh->head, acquire) & POS_MASK;
  uint64_t t;
  if (!pos_ok(h) || (rc = load_tail(r, h, &t)) < 0) {
    slot_leave(r, r->cslot, ROLE_CONSUMER);
    r->cslot = -1;
    return corrupt(r);
  }
  if (r->mode == IPC_RING_SPSC && load_bound(r, h, &t) < 0) {
    slot_leave(r, r->cslot, ROLE_CONSUMER);
    r->cslot = -1;
    return IPC_ECORRUPT;
  }
  r->head = h;
  r->tail_cache = t;
  return 0;
}

/* Every call starts here: fork, poison, role and registration checks. */
static inline int enter(ipc_ring_t *r, int producer) {
  if (!*r->fork_guard)
    ring_after_fork(r);
  if (r->poisoned)
    return IPC_ECORRUPT;
  if (producer) {
    if (!r->can_push)
      return IPC_EBADF;
    return r->pslot < 0 ? producer_attach(r) : 0;
  }
  if (!r->can_pop)
    return IPC_EBADF;
  return r->cslot < 0 ? consumer_attach(r) : 0;
}

/* ------------------------------------------------------------ producer */

struct space_arg {
  uint64_t seen; /* the head position that left no room */
};

/* Every participant of a role gone (and one was there once)? Cheap unless
 * slow: then the live-looking ones are checked against the OS, and the
 * dead ones reaped. */
static int side_gone(ipc_ring_t *r, uint32_t role, int slow) {
  _Atomic uint32_t *seen =
      role == ROLE_PRODUCER ? &r->sh->producers_seen : &r->sh->consumers_seen;
  if (!SH_LOAD(seen, relaxed))
    return 0;
  for (unsigned i = 0; i < RING_SLOTS; i++) {
    struct ring_slot *s = &r->sh->slots[i];
    if (SH_LOAD(&s->state, acquire) != SLOT_LIVE ||
        !(SH_LOAD(&s->role, relaxed) & role))
      continue;
    if (!slow || slot_alive(s, 0, 0))
      return 0;
    slot_reap(r, i);
  }
  return 1;
}

static int cond_space(ipc_ring_t *r, void *arg, int slow) {
  struct space_arg *a = arg;
  if ((SH_LOAD(&r->sh->head, acquire) & POS_MASK) != a->seen)
    return 1;
  if (slow >= 0 && side_gone(r, ROLE_CONSUMER, slow)) {
    if ((SH_LOAD(&r->sh->head, acquire) & POS_MASK) != a->seen)
      return 1;
    return IPC_EPEERDEAD;
  }
  return 0;
}

/* Room for `need` bytes at tail position pos? Refreshes the cached head,
 * and sleeps (once) when there is none: returns 1 when there is room, 0
 * to make the caller re-evaluate, or an error. */
static int make_room(ipc_ring_t *r, uint64_t pos, uint64_t need,
                     int64_t deadline) {
  if (pos + need - r->head_cache <= r->cap)
    return 1;
  uint64_t h;
  int rc = load_head(r, pos, &h);
  if (rc < 0)
    return rc;
  r->head_cache = h;
  if (pos + need - h <= r->cap)
    return 1;
  struct space_arg a = {h};
  poll_pause(deadline);
  rc = ring_wait(r, 0, cond_space, &a, deadline);
  return rc < 0 ? rc : 0;
}

/* Unlocks a claim lock (tail or head) whose owner is dead, leaving the
 * position as it was: nothing the owner did under it is visible. */
static int lock_check(ipc_ring_t *r, _Atomic uint64_t *word, uint64_t w,
                      unsigned *spins, int64_t deadline) {
  if (++*spins % LOCK_CHECK_SPINS)
    return 0;
  unsigned owner = LOCK_SLOT(w);
  if (owner >= RING_SLOTS)
    return corrupt(r);
  if (!slot_alive(&r->sh->slots[owner], 0, 0)) {
    uint64_t expect = w;
    atomic_compare_exchange_strong(word, &expect, w & POS_MASK);
    slot_reap(r, owner);
  }
  if (deadline != IPC__NO_DEADLINE && ipc__now_ns() >= deadline)
    return IPC_ETIMEDOUT;
  sched_yield(); /* the owner may be preempted on our CPU */
  return 0;
}

static void prod_commit(ipc_ring_t *r, uint64_t pos, uint64_t len,
                        unsigned type);

/* Claims a record of len payload bytes; its header goes at *rec_pos.
 * With one producer nothing is visible until prod_publish; with many the
 * record is visible as BUSY until prod_commit. */
static int prod_claim(ipc_ring_t *r, uint64_t len, int64_t deadline,
                      uint64_t *rec_pos) {
  struct ring_shared *sh = r->sh;
  uint64_t size = rec_size(len);
  int rc;
  if (r->mode == IPC_RING_SPSC) {
    for (;;) {
      uint64_t pos = r->tail;
      uint64_t to_end = r->cap - (pos & r->mask);
      uint64_t pad = size > to_end ? to_end : 0;
      if ((rc = make_room(r, pos, pad + size, deadline)) < 0)
        return rc;
      if (rc == 0)
        continue;
      if (pad)
        prod_commit(r, pos, pad - 8, REC_PAD);
      *rec_pos = r->tail;
      return 0;
    }
  }
  unsigned spins = 0;
  for (;;) {
    uint64_t w = SH_LOAD(&sh->tail, acquire);
    if (w & LOCKED) {
      if ((rc = lock_check(r, &sh->tail, w, &spins, deadline)) < 0)
        return rc;
      cpu_relax();
      continue;
    }
    uint64_t pos = w;
    if (!pos_ok(pos))
      return corrupt(r);
    uint64_t to_end = r->cap - (pos & r->mask);
    uint64_t pad = size > to_end ? to_end : 0;
    rc = make_room(r, pos, pad + size, deadline);
    if (rc < 0 && (rc = recheck(r, rc, &sh->tail, w)) < 0)
      return rc;
    if (rc == 0)
      continue;
    uint64_t locked = pos | LOCKED | (uint64_t)r->pslot << 56;
    if (!atomic_compare_exchange_weak(&sh->tail, &w, locked))
      continue;
    if (pad) {
      SH_STORE(rec_at(r, pos), rec_make(pad - 8, REC_PAD, 0, 0, 0), relaxed);
      pos += pad;
    }
    SH_STORE(rec_at(r, pos),
             rec_make(len, REC_DATA, (unsigned)r->pslot, r->pgen, 1), relaxed);
    SH_STORE(&sh->tail, pos + size, release); /* [P1] unlocks */
    *rec_pos = pos;
    return 0;
  }
}

/* Makes a claimed record a committed message (or, with type REC_PAD, a
 * discarded one that consumers skip). One producer: in private until
 * prod_publish, which stores the header of the first record committed
 * since the last publication last; the others' are stored now. */
static void prod_commit(ipc_ring_t *r, uint64_t pos, uint64_t len,
                        unsigned type) {
  uint64_t h = rec_make(len, type, 0, 0, 0);
  if (r->mode == IPC_RING_SPSC) {
    h = rec_make(len, type, 0, lap_tag(r, pos), 0);
    if (!r->held) {
      r->held = 1;
      r->held_pos = pos;
      r->held_hdr = h;
    } else {
      SH_STORE(rec_at(r, pos), h, relaxed); /* published by [P1] */
    }
    r->tail = pos + rec_size(len);
  } else {
    SH_STORE(rec_at(r, pos), h, release); /* [P2] */
  }
}

/* Makes what was committed visible and wakes sleeping consumers. One
 * producer: the word after the last record becomes 0, so that a consumer
 * waiting there sees 0 or the next header, never bytes of an older lap
 * (when the ring is exactly full that word is the header of the oldest
 * record, of the previous lap: its lap tag says so); then the tail; then
 * the first header [P1]: a consumer that sees it sees the rest. */
static void prod_publish(ipc_ring_t *r, uint64_t count) {
  struct ring_shared *sh = r->sh;
  if (r->mode == IPC_RING_SPSC) {
    if (r->held) {
      if (r->tail - r->head_cache < r->cap)
        SH_STORE(rec_at(r, r->tail), 0, relaxed);
      SH_STORE(&sh->tail, r->tail, relaxed);
      if (r->tail > r->bound) {
        /* Ahead by a quarter of the ring at a time, so that the consumer
         * rereads this line once per quarter, not once per record. */
        uint64_t b = r->tail + r->cap / 4, most = r->head_cache + r->cap;
        r->bound = b < most ? b : most;
        SH_STORE(&sh->bound, r->bound, relaxed);
      }
      SH_STORE(rec_at(r, r->held_pos), r->held_hdr, release); /* [P1] */
      r->held = 0;
    }
    /* Single writer: a plain increment is enough for a counter. */
    SH_STORE(&sh->pushed, SH_LOAD(&sh->pushed, relaxed) + count, relaxed);
  } else if (count) {
    atomic_fetch_add_explicit(&sh->pushed, count, memory_order_relaxed);
  }
  wake(&sh->data_seq, &sh->data_waiters);
}

static int push_one(ipc_ring_t *r, const void *msg, size_t len,
                    int64_t deadline, uint64_t *end) {
  uint64_t pos;
  int rc = prod_claim(r, len, deadline, &pos);
  if (rc < 0)
    return rc;
  if (len)
    memcpy(r->data + (pos & r->mask) + 8, msg, len);
  prod_commit(r, pos, len, REC_DATA);
  if (end)
    *end = pos + rec_size(len);
  return 0;
}

static int push_check(ipc_ring_t *r, size_t len) {
  int rc = enter(r, 1);
  if (rc < 0)
    return rc;
  if (r->reserved)
    return IPC_EINVAL;
  return len > r->max_msg ? IPC_EMSGSIZE : 0;
}

static int ring_push(ipc_ring_t *r, const void *msg, size_t len,
                     int timeout_ms) {
  int rc = push_check(r, len);
  if (rc < 0)
    return rc;
  if ((rc = push_one(r, msg, len, ring_deadline(timeout_ms), NULL)) < 0)
    return rc;
  prod_publish(r, 1);
  return 0;
}

static ssize_t ring_push_many(ipc_ring_t *r, const struct iovec *msgs, size_t n,
                              int timeout_ms) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (msgs[i].iov_len > r->max_msg)
      return i == 0 ? IPC_EMSGSIZE : IPC_EINVAL;
  int rc = push_check(r, 0);
  if (rc < 0)
    return rc;
  /* Only the first may wait: later ones would wait for room that our own
   * unpublished records fill. */
  int64_t deadline = ring_deadline(timeout_ms);
  size_t done = 0;
  for (; done < n; done++) {
    /* Deadline 0 lies in the past: "no wait" without reading the clock. */
    rc = push_one(r, msgs[done].iov_base, msgs[done].iov_len,
                  done ? 0 : deadline, NULL);
    if (rc < 0)
      break;
  }
  prod_publish(r, done);
  if (done == 0)
    return rc;
  return (ssize_t)done;
}

static int ring_reserve(ipc_ring_t *r, size_t len, void **ptr, int timeout_ms) {
  *ptr = NULL;
  int rc = push_check(r, len);
  if (rc < 0)
    return rc;
  uint64_t pos;
  if ((rc = prod_claim(r, len, ring_deadline(timeout_ms), &pos)) < 0)
    return rc;
  if (r->mode == IPC_RING_SPSC) /* lets a consumer count it if we die */
    SH_STORE(&r->sh->slots[r->pslot].reserving, 1, relaxed);
  r->reserved = 1;
  r->res_pos = pos;
  r->res_len = (uint32_t)len;
  *ptr = r->data + (pos & r->mask) + 8;
  return 0;
}

static int reservation_end(ipc_ring_t *r, unsigned type) {
  if (!*r->fork_guard)
    ring_after_fork(r);
  if (!r->reserved)
    return IPC_EINVAL;
  r->reserved = 0;
  if (r->mode == IPC_RING_SPSC) {
    SH_STORE(&r->sh->slots[r->pslot].reserving, 0, relaxed);
    if (type != REC_DATA) {
      /* Never published: nothing to undo, but a padding record the
       * reservation made at the wrap goes out now. */
      prod_publish(r, 0);
      return 0;
    }
  }
  prod_commit(r, r->res_pos, r->res_len, type);
  prod_publish(r, type == REC_DATA);
  return 0;
}

static int ring_commit(ipc_ring_t *r) { return reservation_end(r, REC_DATA); }

static int ring_discard(ipc_ring_t *r) { return reservation_end(r, REC_PAD); }

/* ------------------------------------------------------------ consumer */

struct data_arg {
  uint64_t pos; /* the tail position that showed nothing */
};

static int cond_data(ipc_ring_t *r, void *arg, int slow) {
  struct data_arg *a = arg;
  if ((SH_LOAD(&r->sh->tail, acquire) & POS_MASK) != a->pos)
    return 1;
  if (slow >= 0 && side_gone(r, ROLE_PRODUCER, slow)) {
    /* The last producer published before it left: look once more. */
    if ((SH_LOAD(&r->sh->tail, acquire) & POS_MASK) != a->pos)
      return 1;
    return SH_LOAD(&r->sh->producer_exit, relaxed) == EXIT_DIRTY ? IPC_EPEERDEAD
                                                                 : IPC_EOF;
  }
  return 0;
}

struct busy_arg {
  _Atomic uint64_t *rec;
  uint64_t seen;
};

/* A BUSY record: ready when its writer commits, or when the writer proves
 * dead, in which case the record becomes DEAD and counts as abandoned. */
static int cond_busy(ipc_ring_t *r, void *arg, int slow) {
  struct busy_arg *a = arg;
  if (SH_LOAD(a->rec, acquire) != a->seen)
    return 1;
  if (slow <= 0)
    return 0;
  unsigned slot = REC_SLOT(a->seen);
  if (slot_alive(&r->sh->slots[slot], REC_GEN(a->seen), 1))
    return 0;
  uint64_t expect = a->seen;
  if (atomic_compare_exchange_strong(
          a->rec, &expect, rec_make(REC_LEN(a->seen), REC_DEAD, 0, 0, 0)))
    atomic_fetch_add_explicit(&r->sh->abandoned, 1, memory_order_relaxed);
  if (SH_LOAD(&r->sh->slots[slot].state, acquire) == SLOT_LIVE &&
      (SH_LOAD(&r->sh->slots[slot].gen, relaxed) & 0x7fff) == REC_GEN(a->seen))
    slot_reap(r, slot);
  return 1;
}

/* Reads and validates the header at pos (below the published tail):
 * returns it, or 0 after poisoning the handle. */
static uint64_t rec_load(ipc_ring_t *r, uint64_t pos, uint64_t tail) {
  uint64_t h = SH_LOAD(rec_at(r, pos), acquire); /* [C2] */
  uint64_t len = REC_LEN(h), size = rec_size(len);
  unsigned type = REC_TYPE(h);
  if (type < REC_DATA || type > REC_DEAD || size > tail - pos ||
      (pos & r->mask) + size > r->cap)
    return corrupt(r), 0;
  if (type == REC_DATA && len > r->max_msg)
    return corrupt(r), 0;
  if ((h & REC_BUSY) && (r->mode == IPC_RING_SPSC || type != REC_DATA ||
                         REC_SLOT(h) >= RING_SLOTS))
    return corrupt(r), 0;
  return h;
}

/* The next message at or after *pos, without waiting: skips padding,
 * discarded and dead records (advancing *pos). Returns 1 and its header in
 * *hdr, 0 when there is none yet (or a BUSY one: *hdr is then that), or
 * IPC_ECORRUPT. */
static int next_record(ipc_ring_t *r, uint64_t *pos, uint64_t tail,
                       uint64_t *hdr) {
  *hdr = 0;
  while (*pos != tail) {
    uint64_t h = rec_load(r, *pos, tail);
    if (!h)
      return IPC_ECORRUPT;
    if (h & REC_BUSY) {
      *hdr = h;
      return 0;
    }
    if (REC_TYPE(h) == REC_DATA) {
      *hdr = h;
      return 1;
    }
    *pos += rec_size(REC_LEN(h));
  }
  return 0;
}

/* One producer: the next message at or after *pos, found by its header
 * alone [C1] (pairs with P1), skipping padding (advancing *pos). Returns 1
 * and its header in *hdr, 0 while the header word at *pos is not ready
 * (0, or an older lap's: *hdr gets it), or IPC_ECORRUPT. Each record must lie
 * below the tail, which the producer stores before the header: the cached tail
 * is reloaded only when a record ends past it, and a record past the reloaded
 * one is corrupt. The walk is bounded: records below the tail, at least 8 bytes
 * each. */
static int spsc_next(ipc_ring_t *r, uint64_t *pos, uint64_t *hdr) {
  for (;;) {
    uint64_t p = *pos;
    uint64_t h = SH_LOAD(rec_at(r, p), acquire); /* [C1] */
    *hdr = h;
    if (h == 0 || REC_GEN(h) != lap_tag(r, p))
      return 0; /* not written yet in this lap */
    uint64_t len = REC_LEN(h), size = rec_size(len);
    unsigned type = REC_TYPE(h);
    if (type < REC_DATA || type > REC_DEAD || (h & REC_BUSY) ||
        (p & r->mask) + size > r->cap || (type == REC_DATA && len > r->max_msg))
      return corrupt(r);
    if (size > r->tail_cache - p) {
      if (load_bound(r, r->head, &r->tail_cache) < 0)
        return IPC_ECORRUPT;
      if (size > r->tail_cache - p)
        return corrupt(r);
    }
    if (type == REC_DATA) {
      *hdr = h;
      return 1;
    }
    *pos = p + size;
  }
}

struct hdr_arg {
  _Atomic uint64_t *rec; /* the header word that was not ready */
  uint64_t seen;         /* what it held: 0, or a header of an older lap */
};

/* One producer: ready when the header word at the consumer's position
 * changes; EOF or EPEERDEAD when every producer is gone and it has not. */
static int cond_hdr(ipc_ring_t *r, void *arg, int slow) {
  struct hdr_arg *a = arg;
  if (SH_LOAD(a->rec, relaxed) != a->seen)
    return 1;
  if (slow >= 0 && side_gone(r, ROLE_PRODUCER, slow)) {
    /* The last producer published before it left: look once more. */
    if (SH_LOAD(a->rec, relaxed) != a->seen)
      return 1;
    return SH_LOAD(&r->sh->producer_exit, relaxed) == EXIT_DIRTY ? IPC_EPEERDEAD
                                                                 : IPC_EOF;
  }
  return 0;
}

/* Sleeps until there may be something at pos (tail moved, or the BUSY
 * record hdr changed): 0 to re-evaluate, or an error. */
static int cons_wait(ipc_ring_t *r, uint64_t pos, uint64_t tail, uint64_t hdr,
                     int64_t deadline) {
  poll_pause(deadline);
  if (hdr & REC_BUSY) {
    struct busy_arg b = {rec_at(r, pos), hdr};
    return ring_wait(r, 1, cond_busy, &b, deadline);
  }
  struct data_arg d = {tail};
  return ring_wait(r, 1, cond_data, &d, deadline);
}

/* Many consumers: unlocks the head at position p and wakes both the
 * producers (room) and the consumers waiting for the lock. */
static void mc_unlock(ipc_ring_t *r, uint64_t p) {
  SH_STORE(&r->sh->head, p, release); /* [C3] */
  wake(&r->sh->space_seq, &r->sh->space_waiters);
  wake(&r->sh->data_seq, &r->sh->data_waiters);
}

struct lock_arg {
  uint64_t word; /* the locked head word seen */
};

/* Ready when the head word changes; when the lock's owner proves dead, its
 * lock is cleared without advancing, so its message goes to someone else. */
static int cond_unlocked(ipc_ring_t *r, void *arg, int slow) {
  struct lock_arg *a = arg;
  if (SH_LOAD(&r->sh->head, acquire) != a->word)
    return 1;
  if (slow <= 0)
    return 0;
  unsigned owner = LOCK_SLOT(a->word);
  if (owner >= RING_SLOTS)
    return corrupt(r);
  if (slot_alive(&r->sh->slots[owner], 0, 0))
    return 0;
  uint64_t expect = a->word;
  atomic_compare_exchange_strong(&r->sh->head, &expect, a->word & POS_MASK);
  slot_reap(r, owner);
  return 1;
}

/* Finds the next message and, with many consumers, locks the head on it.
 * On success *pos is its header's position and *len its length. */
static int cons_next(ipc_ring_t *r, int64_t deadline, uint64_t *pos,
                     uint32_t *len) {
  struct ring_shared *sh = r->sh;
  uint64_t hdr;
  int rc;
  if (r->mode == IPC_RING_SPSC) {
    for (;;) {
      uint64_t p = r->head;
      rc = spsc_next(r, &p, &hdr);
      if (p != r->head) { /* skipped padding: give its room back now */
        r->head = p;
        SH_STORE(&sh->head, p, release); /* [C3] */
        wake(&sh->space_seq, &sh->space_waiters);
      }
      if (rc < 0)
        return rc;
      if (rc == 1) {
        *pos = p;
        *len = REC_LEN(hdr);
        return 0;
      }
      /* Nothing yet. Waiting needs neither the tail nor the bound, but
       * they are checked the first time the ring is found empty and every
       * DRY_CHECKS times after, so that bad ones are noticed; reading
       * their line at every message would cost the producer a transfer
       * of it each time. */
      if (r->dry++ % DRY_CHECKS == 0) {
        uint64_t t;
        if ((rc = load_tail(r, p, &t)) < 0 ||
            (rc = load_bound(r, r->head, &r->tail_cache)) < 0)
          return rc;
      }
      struct hdr_arg a = {rec_at(r, p), hdr}; /* what was not ready */
      poll_pause(deadline);
      if ((rc = ring_wait(r, 1, cond_hdr, &a, deadline)) < 0)
        return rc;
    }
  }
  if (r->mode != IPC_RING_MPMC) {
    for (;;) {
      uint64_t p = r->head;
      if (p == r->tail_cache && (rc = load_tail(r, p, &r->tail_cache)) < 0)
        return rc;
      rc = next_record(r, &p, r->tail_cache, &hdr);
      if (rc < 0)
        return rc;
      if (p != r->head) { /* skipped records: give their room back now */
        r->head = p;
        SH_STORE(&sh->head, p, release); /* [C3] */
        wake(&sh->space_seq, &sh->space_waiters);
      }
      if (rc == 1) {
        *pos = p;
        *len = REC_LEN(hdr);
        return 0;
      }
      if ((rc = load_tail(r, p, &r->tail_cache)) < 0)
        return rc;
      if (r->tail_cache != p && !(hdr & REC_BUSY))
        continue;
      if ((rc = cons_wait(r, p, r->tail_cache, hdr, deadline)) < 0)
        return rc;
    }
  }
  /* Many consumers: lock the head before reading any record. Space below
   * the head belongs to the producers again, so a header read without the
   * lock could be bytes a producer is rewriting. */
  for (;;) {
    uint64_t w = SH_LOAD(&sh->head, acquire);
    if (w & LOCKED) {
      struct lock_arg a = {w};
      if ((rc = ring_wait(r, 1, cond_unlocked, &a, deadline)) < 0)
        return rc;
      continue;
    }
    uint64_t p = w, tail;
    if (!pos_ok(p))
      return corrupt(r);
    if ((rc = load_tail(r, p, &tail)) < 0) {
      if ((rc = recheck(r, rc, &sh->head, w)) < 0)
        return rc;
      continue;
    }
    if (p == tail) {
      if ((rc = cons_wait(r, p, tail, 0, deadline)) < 0)
        return rc;
      continue;
    }
    if (!atomic_compare_exchange_weak(&sh->head, &w,
                                      p | LOCKED | (uint64_t)r->cslot << 56))
      continue;
    /* The records from p on are ours to read until we unlock. */
    for (;;) {
      if ((rc = load_tail(r, p, &tail)) == 0)
        rc = next_record(r, &p, tail, &hdr);
      if (rc == 1) {
        r->head = p; /* where to unlock to if we give the message back */
        *pos = p;
        *len = REC_LEN(hdr);
        return 0;
      }
      /* A record being written: wait for it holding the lock, since
       * delivery is in order anyway; the others sleep until we unlock. */
      if (rc == 0 && (hdr & REC_BUSY) &&
          (rc = cons_wait(r, p, tail, hdr, deadline)) == 0)
        continue;
      mc_unlock(r, p); /* past what was skipped; nothing is handed out */
      if (rc < 0)
        return rc;
      break; /* caught up with the tail: wait without the lock */
    }
  }
}

/* Gives the consumed records up to `end` back to the producers. */
static void cons_release(ipc_ring_t *r, uint64_t end, uint64_t count) {
  struct ring_shared *sh = r->sh;
  if (r->mode != IPC_RING_MPMC) {
    r->head = end;
    SH_STORE(&sh->popped, SH_LOAD(&sh->popped, relaxed) + count, relaxed);
    SH_STORE(&sh->head, end, release); /* [C3] */
    wake(&sh->space_seq, &sh->space_waiters);
  } else {
    atomic_fetch_add_explicit(&sh->popped, count, memory_order_relaxed);
    mc_unlock(r, end);
  }
}

static int pop_check(ipc_ring_t *r) {
  int rc = enter(r, 0);
  if (rc < 0)
    return rc;
  return r->peeked ? IPC_EINVAL : 0;
}

static ssize_t ring_pop(ipc_ring_t *r, void *buf, size_t cap, int timeout_ms) {
  uint64_t pos;
  uint32_t len;
  int rc = pop_check(r);
  if (rc < 0)
    return rc;
  if ((rc = cons_next(r, ring_deadline(timeout_ms), &pos, &len)) < 0)
    return rc;
  if (len > cap) {
    if (r->mode == IPC_RING_MPMC)
      mc_unlock(r, pos); /* the message stays for a bigger buffer */
    return IPC_EMSGSIZE;
  }
  if (len)
    memcpy(buf, r->data + (pos & r->mask) + 8, len);
  cons_release(r, pos + rec_size(len), 1);
  return (ssize_t)len;
}

static ssize_t ring_peek(ipc_ring_t *r, const void **ptr, int timeout_ms) {
  uint64_t pos;
  uint32_t len;
  *ptr = NULL;
  int rc = pop_check(r);
  if (rc < 0)
    return rc;
  if ((rc = cons_next(r, ring_deadline(timeout_ms), &pos, &len)) < 0)
    return rc;
  r->peeked = 1;
  r->peek_end = pos + rec_size(len);
  *ptr = r->data + (pos & r->mask) + 8;
  return (ssize_t)len;
}

static int ring_release(ipc_ring_t *r) {
  if (!*r->fork_guard)
    ring_after_fork(r);
  if (!r->peeked)
    return IPC_EINVAL;
  r->peeked = 0;
  cons_release(r, r->peek_end, 1);
  return 0;
}

static ssize_t ring_pop_many(ipc_ring_t *r, size_t max, ipc_ring_visit_t visit,
                             void *ctx, int timeout_ms) {
  uint64_t pos, hdr;
  uint32_t len;
  if (max == 0)
    return 0;
  int rc = pop_check(r);
  if (rc < 0)
    return rc;
  if ((rc = cons_next(r, ring_deadline(timeout_ms), &pos, &len)) < 0)
    return rc;
  /* We own everything from pos on (the head lock with many consumers):
   * hand out what is committed, then release it all with one store. */
  uint64_t tail = 0;
  if (r->mode != IPC_RING_SPSC && (rc = load_tail(r, pos, &tail)) < 0)
    return rc;
  if (r->mode == IPC_RING_MPSC)
    r->tail_cache = tail; /* the head will move past the old cached tail */
  size_t n = 0;
  for (;;) {
    const char *msg = r->data + (pos & r->mask) + 8;
    int stop = visit(ctx, msg, len);
    pos += rec_size(len);
    n++;
    if (stop || n == max)
      break;
    rc = r->mode == IPC_RING_SPSC ? spsc_next(r, &pos, &hdr)
                                  : next_record(r, &pos, tail, &hdr);
    if (rc < 0)
      return rc;
    if (rc == 0)
      break;
    len = REC_LEN(hdr);
  }
  cons_release(r, pos, n);
  return (ssize_t)n;
}

/* ---------------------------------------------------- sync and stats */

struct taken_arg {
  uint64_t end; /* the head must reach this */
};

static int cond_taken(ipc_ring_t *r, void *arg, int slow) {
  struct taken_arg *a = arg;
  uint64_t h = SH_LOAD(&r->sh->head, acquire) & POS_MASK;
  if ((int64_t)(h - a->end) >= 0)
    return 1;
  return slow >= 0 && side_gone(r, ROLE_CONSUMER, slow) ? IPC_EPEERDEAD : 0;
}

static int ring_push_sync(ipc_ring_t *r, const void *msg, size_t len,
                          int timeout_ms) {
  int64_t deadline = ring_deadline(timeout_ms);
  uint64_t end;
  int rc = push_check(r, len);
  if (rc < 0)
    return rc;
  if ((rc = push_one(r, msg, len, deadline, &end)) < 0)
    return rc;
  prod_publish(r, 1);
  struct taken_arg a = {end};
  do
    rc = ring_wait(r, 0, cond_taken, &a, deadline);
  while (rc == 0 && cond_taken(r, &a, 0) == 0);
  return rc;
}

static int ring_stats(ipc_ring_t *r, ipc_ring_stats_t *st) {
  struct ring_shared *sh = r->sh;
  memset(st, 0, sizeof *st);
  uint64_t head = SH_LOAD(&sh->head, acquire) & POS_MASK;
  uint64_t tail = SH_LOAD(&sh->tail, acquire) & POS_MASK;
  st->capacity = r->cap;
  st->max_message = r->max_msg;
  st->used = tail - head <= r->cap ? tail - head : r->cap;
  st->pushed = SH_LOAD(&sh->pushed, relaxed);
  st->popped = SH_LOAD(&sh->popped, relaxed);
  st->depth = st->pushed >= st->popped ? st->pushed - st->popped : 0;
  st->abandoned = SH_LOAD(&sh->abandoned, relaxed);
  st->waits = SH_LOAD(&sh->waits, relaxed);
  st->mode = r->mode;
  for (unsigned i = 0; i < RING_SLOTS; i++) {
    struct ring_slot *s = &sh->slots[i];
    if (SH_LOAD(&s->state, acquire) != SLOT_LIVE || !slot_alive(s, 0, 0))
      continue;
    uint32_t role = SH_LOAD(&s->role, relaxed);
    st->producers += (role & ROLE_PRODUCER) != 0;
    st->consumers += (role & ROLE_CONSUMER) != 0;
  }
  return r->poisoned ? IPC_ECORRUPT : 0;
}

/* ------------------------------------------------------ the public calls
 *
 * Each runs under the SIGBUS guard: if another process truncates the
 * segment, touching it returns IPC_ECORRUPT instead of killing us. A
 * sealed segment (an anonymous ring) cannot shrink, and skips the guard's
 * cost (a sigsetjmp and its registration: half of an empty poll). */

#define RING_GUARDED(r, type, call)                                            \
  do {                                                                         \
    if ((r)->sealed)                                                           \
      return (call);                                                           \
    struct ipc__guard g_;                                                      \
    if (IPC__GUARD(g_, (r)->sh, (r)->map_size)) {                              \
      ipc__guard_end(&g_);                                                     \
      return (type)corrupt(r);                                                 \
    }                                                                          \
    type rc_ = (call);                                                         \
    ipc__guard_end(&g_);                                                       \
    return rc_;                                                                \
  } while (0)

int ipc_ring_push(ipc_ring_t *r, const void *msg, size_t len, int timeout_ms) {
  RING_GUARDED(r, int, ring_push(r, msg, len, timeout_ms));
}

ssize_t ipc_ring_pop(ipc_ring_t *r, void *buf, size_t cap, int timeout_ms) {
  RING_GUARDED(r, ssize_t, ring_pop(r, buf, cap, timeout_ms));
}

ssize_t ipc_ring_push_many(ipc_ring_t *r, const struct iovec *msgs, size_t n,
                           int timeout_ms) {
  RING_GUARDED(r, ssize_t, ring_push_many(r, msgs, n, timeout_ms));
}

ssize_t ipc_ring_pop_many(ipc_ring_t *r, size_t max, ipc_ring_visit_t visit,
                          void *ctx, int timeout_ms) {
  RING_GUARDED(r, ssize_t, ring_pop_many(r, max, visit, ctx, timeout_ms));
}

int ipc_ring_reserve(ipc_ring_t *r, size_t len, void **ptr, int timeout_ms) {
  RING_GUARDED(r, int, ring_reserve(r, len, ptr, timeout_ms));
}

int ipc_ring_commit(ipc_ring_t *r) { RING_GUARDED(r, int, ring_commit(r)); }

int ipc_ring_discard(ipc_ring_t *r) { RING_GUARDED(r, int, ring_discard(r)); }

ssize_t ipc_ring_peek(ipc_ring_t *r, const void **ptr, int timeout_ms) {
  RING_GUARDED(r, ssize_t, ring_peek(r, ptr, timeout_ms));
}

int ipc_ring_release(ipc_ring_t *r) { RING_GUARDED(r, int, ring_release(r)); }

int ipc_ring_push_sync(ipc_ring_t *r, const void *msg, size_t len,
                       int timeout_ms) {
  RING_GUARDED(r, int, ring_push_sync(r, msg, len, timeout_ms));
}

int ipc_ring_stats(ipc_ring_t *r, ipc_ring_stats_t *st) {
  RING_GUARDED(r, int, ring_stats(r, st));
}
