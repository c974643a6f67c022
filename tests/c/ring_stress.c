/* tests/c/ring_stress.c: the ring under load between separate processes, one
 * case per mode (SPSC 1P1C, MPSC 3P1C, MPMC 2P2C). Every message carries its
 * producer, a sequence number and a checksum; consumers check each one, its
 * per-producer order, and mark it in a shared bitmap that catches any
 * duplicate; the parent then checks that nothing was lost. IPC_STRESS_N sets
 * the message count per mode (default 10^7; 10^6 under ASan, 10^5 under TSan).
 */
#include "testutil.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define MAX_PRODUCERS 4
#define MAX_CONSUMERS 4
#define HEADER 16 /* producer (4), checksum (4), sequence (8) */
#define MAX_PAYLOAD 48

/* What the children share with the parent: counts, the first error, a
 * start barrier, and one bit per message. */
struct board {
  _Atomic uint64_t received[MAX_CONSUMERS];
  _Atomic int producers_ready;
  _Atomic int failed;
  char error[512];
  _Atomic uint64_t bits[]; /* n bits */
};

struct plan {
  int mode, producers, consumers;
  uint64_t n;                   /* messages in all */
  uint64_t per[MAX_PRODUCERS];  /* messages of each producer */
  uint64_t base[MAX_PRODUCERS]; /* index of its first in the bitmap */
  const char *name;
  struct board *board;
};

static char ring_name[64];

static void cleanup(void) {
  if (ring_name[0])
    shm_unlink(ring_name);
  tu_cleanup();
}

TestSuite(ring_stress, .fini = cleanup);

/* The message count: IPC_STRESS_N, or a default the build can afford. */
static uint64_t stress_n(void) {
  const char *s = getenv("IPC_STRESS_N");
  if (s && *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    cr_assert(*end == '\0' && v > 0, "IPC_STRESS_N=\"%s\" is not a count", s);
    return v;
  }
#if defined(__SANITIZE_THREAD__)
  return 100000;
#elif defined(__SANITIZE_ADDRESS__)
  return 1000000;
#else
  return 10000000;
#endif
}

/* ------------------------------------------------------------- messages */

static size_t payload_len(uint32_t p, uint64_t seq) {
  return (size_t)((seq * 7 + p * 13) % (MAX_PAYLOAD + 1));
}

static uint32_t checksum(const unsigned char *msg, size_t len) {
  uint64_t h = tu_fnv1a(TU_FNV_INIT, msg, 4);
  h = tu_fnv1a(h, msg + 8, len - 8);
  return (uint32_t)(h ^ (h >> 32));
}

/* Writes message seq of producer p into buf; returns its length. */
static size_t make_msg(unsigned char *buf, uint32_t p, uint64_t seq) {
  size_t plen = payload_len(p, seq);
  memcpy(buf, &p, 4);
  memcpy(buf + 8, &seq, 8);
  for (size_t i = 0; i < plen; i++)
    buf[HEADER + i] = (unsigned char)(seq * 31 + p * 7 + i);
  uint32_t sum = checksum(buf, HEADER + plen);
  memcpy(buf + 4, &sum, 4);
  return HEADER + plen;
}

/* Records the first failure for the parent; the child then exits 1. */
static void fail(struct board *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void fail(struct board *b, const char *fmt, ...) {
  int expect = 0;
  if (atomic_compare_exchange_strong(&b->failed, &expect, 1)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof b->error, fmt, ap);
    va_end(ap);
  }
  _exit(1);
}

/* ------------------------------------------------------------ producers */

static void push_or_fail(struct plan *pl, int rc, uint32_t p, uint64_t seq,
                         const char *call) {
  if (rc < 0)
    fail(pl->board, "producer %u, message %llu: %s gave %s", p,
         (unsigned long long)seq, call, ipc_errname(rc));
}

static void producer(struct plan *pl, uint32_t p) {
  ipc_ring_t *r;
  int rc = ipc_ring_open(&r, pl->name, IPC_WRONLY);
  if (rc < 0)
    fail(pl->board, "producer %u: open gave %s", p, ipc_errname(rc));
  static unsigned char bufs[16][HEADER + MAX_PAYLOAD];
  struct iovec iov[16];
  uint64_t n = pl->per[p], seq = 0;
  /* The first push attaches us. Nobody starts for real before every
   * producer has attached, or the consumers could see "every producer that
   * attached has left" (EOF) while one is still starting. */
  size_t len = make_msg(bufs[0], p, seq);
  push_or_fail(pl, ipc_ring_push(r, bufs[0], len, -1), p, seq, "push");
  seq++;
  atomic_fetch_add(&pl->board->producers_ready, 1);
  while (atomic_load(&pl->board->producers_ready) < pl->producers)
    usleep(100);
  while (seq < n) {
    /* Change the call every 64 messages: each path gets its share. */
    switch ((seq / 64 + p) % 4) {
    case 0:
    case 3:
      len = make_msg(bufs[0], p, seq);
      push_or_fail(pl, ipc_ring_push(r, bufs[0], len, -1), p, seq, "push");
      seq++;
      break;
    case 1: {
      size_t k = 0;
      for (; k < 16 && seq + k < n; k++) {
        iov[k].iov_base = bufs[k];
        iov[k].iov_len = make_msg(bufs[k], p, seq + k);
      }
      ssize_t got = ipc_ring_push_many(r, iov, k, -1);
      push_or_fail(pl, (int)(got < 0 ? got : 0), p, seq, "push_many");
      seq += (uint64_t)got; /* the rest go in the next round */
      break;
    }
    case 2: {
      len = make_msg(bufs[0], p, seq);
      void *ptr;
      push_or_fail(pl, ipc_ring_reserve(r, len, &ptr, -1), p, seq, "reserve");
      memcpy(ptr, bufs[0], len);
      push_or_fail(pl, ipc_ring_commit(r), p, seq, "commit");
      seq++;
      break;
    }
    }
  }
  ipc_ring_close(r);
  _exit(0);
}

/* ------------------------------------------------------------ consumers */

struct seen {
  struct plan *pl;
  int c;
  uint64_t next[MAX_PRODUCERS]; /* the lowest sequence still allowed */
  uint64_t count;
};

/* Checks one message and marks it in the bitmap. */
static int check_msg(void *ctx, const void *msg, size_t len) {
  struct seen *s = ctx;
  struct plan *pl = s->pl;
  const unsigned char *m = msg;
  uint32_t p, sum;
  uint64_t seq;
  if (len < HEADER)
    fail(pl->board, "consumer %d: a message of %zu bytes", s->c, len);
  memcpy(&p, m, 4);
  memcpy(&sum, m + 4, 4);
  memcpy(&seq, m + 8, 8);
  if (p >= (uint32_t)pl->producers || seq >= pl->per[p])
    fail(pl->board, "consumer %d: message from producer %u seq %llu", s->c, p,
         (unsigned long long)seq);
  if (len != HEADER + payload_len(p, seq) || checksum(m, len) != sum)
    fail(pl->board, "consumer %d: producer %u seq %llu damaged (%zu bytes)",
         s->c, p, (unsigned long long)seq, len);
  /* Order per producer: with one consumer, exactly the next one; with
   * several, at least later than the last this consumer saw. */
  if (pl->consumers == 1 ? seq != s->next[p] : seq < s->next[p])
    fail(pl->board,
         "consumer %d: producer %u seq %llu after %llu: order broken", s->c, p,
         (unsigned long long)seq, (unsigned long long)s->next[p] - 1);
  s->next[p] = seq + 1;
  uint64_t bit = pl->base[p] + seq;
  uint64_t mask = 1ull << (bit % 64);
  if (atomic_fetch_or_explicit(&pl->board->bits[bit / 64], mask,
                               memory_order_relaxed) &
      mask)
    fail(pl->board, "consumer %d: producer %u seq %llu delivered twice", s->c,
         p, (unsigned long long)seq);
  s->count++;
  return 0;
}

static void consumer(struct plan *pl, int c) {
  ipc_ring_t *r;
  int rc = ipc_ring_open(&r, pl->name, IPC_RDONLY);
  if (rc < 0)
    fail(pl->board, "consumer %d: open gave %s", c, ipc_errname(rc));
  struct seen s;
  memset(&s, 0, sizeof s);
  s.pl = pl;
  s.c = c;
  static unsigned char buf[HEADER + MAX_PAYLOAD];
  for (uint64_t round = 0;; round++) {
    ssize_t n;
    const char *call;
    switch (round % 4) {
    case 0:
      call = "pop";
      n = ipc_ring_pop(r, buf, sizeof buf, -1);
      if (n >= 0)
        check_msg(&s, buf, (size_t)n);
      break;
    case 1: {
      const void *ptr;
      call = "peek";
      n = ipc_ring_peek(r, &ptr, -1);
      if (n >= 0) {
        /* Copy first: the bytes are shared memory. */
        memcpy(buf, ptr, (size_t)n <= sizeof buf ? (size_t)n : sizeof buf);
        if ((rc = ipc_ring_release(r)) < 0)
          fail(pl->board, "consumer %d: release gave %s", c, ipc_errname(rc));
        check_msg(&s, buf, (size_t)n);
      }
      break;
    }
    default:
      call = "pop_many";
      n = ipc_ring_pop_many(r, 64, check_msg, &s, -1);
      break;
    }
    if (n == IPC_EOF)
      break;
    if (n < 0)
      fail(pl->board, "consumer %d: %s gave %s after %llu messages", c, call,
           ipc_errname((int)n), (unsigned long long)s.count);
  }
  pl->board->received[c] = s.count;
  ipc_ring_close(r);
  _exit(0);
}

/* ---------------------------------------------------------------- driver */

static void run(int mode, int producers, int consumers) {
  static const char *const names[] = {"SPSC", "MPSC", "MPMC"};
  struct plan pl;
  memset(&pl, 0, sizeof pl);
  pl.mode = mode;
  pl.producers = producers;
  pl.consumers = consumers;
  pl.n = stress_n();
  for (int p = 0; p < producers; p++) {
    pl.per[p] = pl.n / (uint64_t)producers + ((uint64_t)p < pl.n % producers);
    pl.base[p] = p ? pl.base[p - 1] + pl.per[p - 1] : 0;
  }
  size_t words = (size_t)(pl.n + 63) / 64;
  size_t size = sizeof(struct board) + words * sizeof(uint64_t);
  pl.board = mmap(NULL, size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(pl.board, MAP_FAILED);

  snprintf(ring_name, sizeof ring_name, "/libipc-test-%d-stress",
           (int)getpid());
  shm_unlink(ring_name);
  pl.name = ring_name;
  ipc_ring_opts_t o;
  memset(&o, 0, sizeof o);
  o.capacity = 1 << 16;
  o.mode = (ipc_ring_mode_t)mode;
  ipc_ring_t *r;
  tu_assert_ret(ipc_ring_create(&r, ring_name, &o), 0);

  double t0 = tu_now_ms();
  pid_t pids[MAX_PRODUCERS + MAX_CONSUMERS];
  int n = 0;
  pid_t parent = getpid();
  fflush(NULL);
  for (int i = 0; i < producers + consumers; i++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent)
        _exit(99);
      if (i < producers)
        producer(&pl, (uint32_t)i);
      consumer(&pl, i - producers);
    }
    pids[n++] = pid;
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    int st;
    cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      bad++;
      if (!atomic_load(&pl.board->failed))
        snprintf(pl.board->error, sizeof pl.board->error,
                 "%s %d died: status 0x%x",
                 i < producers ? "producer" : "consumer",
                 i < producers ? i : i - producers, st);
      /* One failed: the others may wait forever for it. */
      for (int j = 0; j < n; j++)
        kill(pids[j], SIGKILL);
    }
  }
  double secs = (tu_now_ms() - t0) / 1000;
  ipc_ring_stats_t st;
  tu_assert_ret(ipc_ring_stats(r, &st), 0);
  ipc_ring_close(r);
  tu_assert_ret(ipc_ring_unlink(ring_name), 0);
  ring_name[0] = '\0';
  cr_assert_eq(bad, 0, "%s: %s", names[mode], pl.board->error);

  uint64_t got = 0, marked = 0;
  for (int c = 0; c < consumers; c++)
    got += pl.board->received[c];
  for (size_t w = 0; w < words; w++)
    marked += (uint64_t)__builtin_popcountll(pl.board->bits[w]);
  cr_assert_eq(got, pl.n, "%s: %llu of %llu messages arrived", names[mode],
               (unsigned long long)got, (unsigned long long)pl.n);
  cr_assert_eq(marked, pl.n, "%s: %llu distinct messages of %llu", names[mode],
               (unsigned long long)marked, (unsigned long long)pl.n);
  cr_assert_eq(st.pushed, pl.n);
  cr_assert_eq(st.popped, pl.n);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.used, 0);
  cr_assert_eq(st.abandoned, 0);
  cr_log_info("%s %dP%dC: %llu messages in %.2f s (%.2f M/s), %llu waits",
              names[mode], producers, consumers, (unsigned long long)pl.n, secs,
              (double)pl.n / secs / 1e6, (unsigned long long)st.waits);
  munmap(pl.board, size);
  tu_assert_no_children();
}

Test(ring_stress, spsc_one_producer_one_consumer_loses_and_reorders_nothing,
     .timeout = 120) {
  run(IPC_RING_SPSC, 1, 1);
}

Test(ring_stress, mpsc_three_producers_one_consumer_lose_and_reorder_nothing,
     .timeout = 120) {
  run(IPC_RING_MPSC, 3, 1);
}

Test(ring_stress, mpmc_two_producers_two_consumers_lose_and_duplicate_nothing,
     .timeout = 120) {
  run(IPC_RING_MPMC, 2, 2);
}
