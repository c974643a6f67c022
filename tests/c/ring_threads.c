/* tests/c/ring_threads.c: the ring's stress inside one process, threads
 * instead of processes, so that ThreadSanitizer can watch the protocol
 * (config=tsan). A handle is single-thread: each thread has its own, either
 * opened by name (a mapping of its own, as separate processes would have)
 * or made by ipc__ring_from_memory on one shared mapping, the variant where
 * TSan sees every access to the ring at one address and checks the
 * release/acquire pairs of ring.c's protocol. IPC_STRESS_N sets the count
 * (default 10^6, 10^5 under TSan).
 *
 * Not a Criterion program: Criterion aborts at start under TSan ("Could not
 * initialize inheritable arena", Snaipe/Criterion#274). It has its own main
 * and prints Criterion's summary line, which scripts/test reads. */
#include "ipc.h"
#include "ring.h" /* white box: ipc__ring_from_memory */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 4
#define HEADER 16 /* producer (4), checksum (4), sequence (8) */
#define MAX_PAYLOAD 40

struct run {
  int mode, producers, consumers;
  int shared_mapping; /* handles on one mapping, else opened by name */
  const char *name;
  void *mem; /* the shared mapping */
  size_t size;
  uint64_t n, per[MAX_THREADS], base[MAX_THREADS];
  _Atomic uint64_t *bits;
  _Atomic uint64_t received;
  _Atomic int producers_ready;
  _Atomic int failed;
  char error[512];
};

struct worker {
  struct run *run;
  int id;
  pthread_t thread;
};

static char ring_name[64];

/* A failed check: says what and where, and makes the test fail. */
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "[----] %s:%d: ", __FILE__, __LINE__);                   \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

#if defined(__SANITIZE_THREAD__)
/* TSan calls this hook (weak in its runtime) for every report: the test
 * that was running then fails, rather than only the exit code. */
static _Atomic int tsan_reports;
void __tsan_on_report(const void *report);
void __tsan_on_report(const void *report) {
  (void)report;
  atomic_fetch_add(&tsan_reports, 1);
}
#define TSAN_REPORTS() atomic_load(&tsan_reports)
#else
#define TSAN_REPORTS() 0
#endif

/* The watchdog: a hung test removes its ring and fails the program. */
static void on_alarm(int sig) {
  static const char msg[] = "[FAIL] ring_threads: timed out\n";
  (void)sig;
  if (ring_name[0])
    shm_unlink(ring_name);
  if (write(2, msg, sizeof msg - 1) < 0)
    _exit(2);
  _exit(2);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 64-bit FNV-1a (as tests/c/testutil.h has it). */
static uint64_t fnv1a(uint64_t h, const void *buf, size_t n) {
  const unsigned char *p = buf;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t stress_n(void) {
  const char *s = getenv("IPC_STRESS_N");
  if (s && *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == '\0' && v > 0)
      return v;
    fprintf(stderr, "IPC_STRESS_N=\"%s\" is not a count; using the default\n",
            s);
  }
#if defined(__SANITIZE_THREAD__)
  return 100000;
#elif defined(__SANITIZE_ADDRESS__)
  return 1000000;
#else
  return 1000000;
#endif
}

/* Records the first failure; the thread then stops. Returns NULL for the
 * thread's return. */
static void *fail(struct run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void *fail(struct run *run, const char *fmt, ...) {
  int expect = 0;
  if (atomic_compare_exchange_strong(&run->failed, &expect, 1)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof run->error, fmt, ap);
    va_end(ap);
  }
  return NULL;
}

static size_t payload_len(uint32_t p, uint64_t seq) {
  return (size_t)((seq * 5 + p * 11) % (MAX_PAYLOAD + 1));
}

static uint32_t checksum(const unsigned char *msg, size_t len) {
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, msg, 4);
  h = fnv1a(h, msg + 8, len - 8);
  return (uint32_t)(h ^ (h >> 32));
}

static size_t make_msg(unsigned char *buf, uint32_t p, uint64_t seq) {
  size_t plen = payload_len(p, seq);
  memcpy(buf, &p, 4);
  memcpy(buf + 8, &seq, 8);
  for (size_t i = 0; i < plen; i++)
    buf[HEADER + i] = (unsigned char)(seq * 17 + p + i);
  uint32_t sum = checksum(buf, HEADER + plen);
  memcpy(buf + 4, &sum, 4);
  return HEADER + plen;
}

/* This thread's own handle on the ring. */
static int attach(struct run *run, ipc_ring_t **r, int flags) {
  if (run->shared_mapping)
    return ipc__ring_from_memory(r, run->mem, run->size, flags);
  return ipc_ring_open(r, run->name, flags);
}

static void *producer(void *arg) {
  struct worker *w = arg;
  struct run *run = w->run;
  uint32_t p = (uint32_t)w->id;
  ipc_ring_t *r;
  int rc = attach(run, &r, IPC_WRONLY);
  if (rc < 0)
    return fail(run, "producer %u: attach gave %s", p, ipc_errname(rc));
  unsigned char bufs[8][HEADER + MAX_PAYLOAD];
  struct iovec iov[8];
  uint64_t seq = 0, n = run->per[p];
  size_t len = make_msg(bufs[0], p, seq);
  /* The first push attaches; start together (see ring_stress.c). */
  if ((rc = ipc_ring_push(r, bufs[0], len, 5000)) < 0)
    goto out;
  seq++;
  atomic_fetch_add(&run->producers_ready, 1);
  while (atomic_load(&run->producers_ready) < run->producers)
    sched_yield();
  while (seq < n && !atomic_load_explicit(&run->failed, memory_order_relaxed)) {
    if ((seq / 32) % 2) {
      size_t k = 0;
      for (; k < 8 && seq + k < n; k++) {
        iov[k].iov_base = bufs[k];
        iov[k].iov_len = make_msg(bufs[k], p, seq + k);
      }
      ssize_t got = ipc_ring_push_many(r, iov, k, 5000);
      if (got < 0) {
        rc = (int)got;
        goto out;
      }
      seq += (uint64_t)got;
    } else {
      void *ptr;
      len = make_msg(bufs[0], p, seq);
      if ((rc = ipc_ring_reserve(r, len, &ptr, 5000)) < 0)
        goto out;
      memcpy(ptr, bufs[0], len);
      if ((rc = ipc_ring_commit(r)) < 0)
        goto out;
      seq++;
    }
  }
  rc = 0;
out:
  ipc_ring_close(r);
  if (rc < 0)
    return fail(run, "producer %u: message %llu: %s", p,
                (unsigned long long)seq, ipc_errname(rc));
  return NULL;
}

struct seen {
  struct run *run;
  int c;
  uint64_t next[MAX_THREADS];
  uint64_t count;
  int bad;
};

static int check_msg(void *ctx, const void *msg, size_t len) {
  struct seen *s = ctx;
  struct run *run = s->run;
  const unsigned char *m = msg;
  uint32_t p, sum;
  uint64_t seq;
  if (len < HEADER)
    return fail(run, "consumer %d: %zu bytes", s->c, len), s->bad = 1;
  memcpy(&p, m, 4);
  memcpy(&sum, m + 4, 4);
  memcpy(&seq, m + 8, 8);
  if (p >= (uint32_t)run->producers || seq >= run->per[p] ||
      len != HEADER + payload_len(p, seq) || checksum(m, len) != sum)
    return fail(run, "consumer %d: damaged message (producer %u seq %llu)",
                s->c, p, (unsigned long long)seq),
           s->bad = 1;
  if (run->consumers == 1 ? seq != s->next[p] : seq < s->next[p])
    return fail(run, "consumer %d: producer %u seq %llu after %llu", s->c, p,
                (unsigned long long)seq, (unsigned long long)s->next[p] - 1),
           s->bad = 1;
  s->next[p] = seq + 1;
  uint64_t bit = run->base[p] + seq, mask = 1ull << (bit % 64);
  if (atomic_fetch_or_explicit(&run->bits[bit / 64], mask,
                               memory_order_relaxed) &
      mask)
    return fail(run, "consumer %d: producer %u seq %llu twice", s->c, p,
                (unsigned long long)seq),
           s->bad = 1;
  s->count++;
  return 0;
}

static void *consumer(void *arg) {
  struct worker *w = arg;
  struct run *run = w->run;
  ipc_ring_t *r;
  int rc = attach(run, &r, IPC_RDONLY);
  if (rc < 0)
    return fail(run, "consumer %d: attach gave %s", w->id, ipc_errname(rc));
  struct seen s;
  memset(&s, 0, sizeof s);
  s.run = run;
  s.c = w->id;
  unsigned char buf[HEADER + MAX_PAYLOAD];
  for (uint64_t round = 0; !s.bad; round++) {
    ssize_t n;
    if (round % 3 == 0) {
      n = ipc_ring_pop(r, buf, sizeof buf, 5000);
      if (n >= 0)
        check_msg(&s, buf, (size_t)n);
    } else if (round % 3 == 1) {
      const void *ptr;
      n = ipc_ring_peek(r, &ptr, 5000);
      if (n >= 0) {
        memcpy(buf, ptr, (size_t)n <= sizeof buf ? (size_t)n : sizeof buf);
        ipc_ring_release(r);
        check_msg(&s, buf, (size_t)n);
      }
    } else {
      n = ipc_ring_pop_many(r, 32, check_msg, &s, 5000);
    }
    if (n == IPC_EOF)
      break;
    if (n < 0) {
      fail(run, "consumer %d: %s after %llu messages", w->id,
           ipc_errname((int)n), (unsigned long long)s.count);
      break;
    }
  }
  atomic_fetch_add(&run->received, s.count);
  ipc_ring_close(r);
  return NULL;
}

/* Runs one configuration; 0 when everything arrived once and in order. */
static int go(int mode, int producers, int consumers, int shared_mapping) {
  static const char *const names[] = {"SPSC", "MPSC", "MPMC"};
  const char *how = shared_mapping ? "one mapping" : "own mappings";
  struct run *run = calloc(1, sizeof *run);
  CHECK(run != NULL, "out of memory");
  run->mode = mode;
  run->producers = producers;
  run->consumers = consumers;
  run->shared_mapping = shared_mapping;
  run->n = stress_n();
  for (int p = 0; p < producers; p++) {
    run->per[p] =
        run->n / (uint64_t)producers + ((uint64_t)p < run->n % producers);
    run->base[p] = p ? run->base[p - 1] + run->per[p - 1] : 0;
  }
  size_t words = (size_t)(run->n + 63) / 64;
  run->bits = calloc(words, sizeof *run->bits);
  CHECK(run->bits != NULL, "out of memory");

  ipc_ring_opts_t o;
  memset(&o, 0, sizeof o);
  o.capacity = 1 << 14; /* small: the ring is full or empty often */
  o.mode = (ipc_ring_mode_t)mode;
  ipc_ring_t *r;
  int rc;
  if (shared_mapping) {
    rc = ipc_ring_create_anon(&r, &o);
    CHECK(rc == 0, "create_anon: %s", ipc_errname(rc));
    run->size = 4096 + o.capacity;
    run->mem = mmap(NULL, run->size, PROT_READ | PROT_WRITE, MAP_SHARED,
                    ipc_ring_fd(r), 0);
    CHECK(run->mem != MAP_FAILED, "mmap: %s", strerror(errno));
  } else {
    snprintf(ring_name, sizeof ring_name, "/libipc-test-%d-threads",
             (int)getpid());
    shm_unlink(ring_name);
    run->name = ring_name;
    rc = ipc_ring_create(&r, ring_name, &o);
    CHECK(rc == 0, "create: %s", ipc_errname(rc));
  }

  struct worker w[2 * MAX_THREADS];
  int n = 0;
  double t0 = now_ms();
  for (int i = 0; i < producers + consumers; i++, n++) {
    w[n].run = run;
    w[n].id = i < producers ? i : i - producers;
    CHECK(pthread_create(&w[n].thread, NULL,
                         i < producers ? producer : consumer, &w[n]) == 0,
          "pthread_create failed");
  }
  for (int i = 0; i < n; i++)
    pthread_join(w[i].thread, NULL);
  double secs = (now_ms() - t0) / 1000;

  ipc_ring_stats_t st;
  rc = ipc_ring_stats(r, &st);
  ipc_ring_close(r);
  if (shared_mapping) {
    munmap(run->mem, run->size);
  } else {
    CHECK(ipc_ring_unlink(ring_name) == 0, "unlink failed");
    ring_name[0] = '\0';
  }
  CHECK(rc == 0, "stats: %s", ipc_errname(rc));
  CHECK(!atomic_load(&run->failed), "%s, %s: %s", names[mode], how, run->error);
  uint64_t marked = 0, got = atomic_load(&run->received);
  for (size_t i = 0; i < words; i++)
    marked += (uint64_t)__builtin_popcountll(run->bits[i]);
  CHECK(got == run->n, "%s, %s: %llu of %llu arrived", names[mode], how,
        (unsigned long long)got, (unsigned long long)run->n);
  CHECK(marked == run->n, "%s, %s: %llu distinct of %llu", names[mode], how,
        (unsigned long long)marked, (unsigned long long)run->n);
  CHECK(st.pushed == run->n && st.popped == run->n && st.used == 0 &&
            st.abandoned == 0,
        "%s, %s: stats pushed %llu popped %llu used %llu abandoned %llu",
        names[mode], how, (unsigned long long)st.pushed,
        (unsigned long long)st.popped, (unsigned long long)st.used,
        (unsigned long long)st.abandoned);
  printf("[----] %s %dP%dC threads, %s: %llu messages in %.2f s (%.2f M/s)\n",
         names[mode], producers, consumers, how, (unsigned long long)run->n,
         secs, (double)run->n / secs / 1e6);
  free(run->bits);
  free(run);
  return 0;
}

static int spsc_two_threads_with_their_own_mappings(void) {
  return go(IPC_RING_SPSC, 1, 1, 0);
}

static int spsc_two_threads_on_one_mapping(void) {
  return go(IPC_RING_SPSC, 1, 1, 1);
}

static int mpsc_three_threads_on_one_mapping(void) {
  return go(IPC_RING_MPSC, 2, 1, 1);
}

static int mpmc_four_threads_with_their_own_mappings(void) {
  return go(IPC_RING_MPMC, 2, 2, 0);
}

static int mpmc_four_threads_on_one_mapping(void) {
  return go(IPC_RING_MPMC, 2, 2, 1);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(void);
  } tests[] = {
#define T(f) {#f, f}
      T(spsc_two_threads_with_their_own_mappings),
      T(spsc_two_threads_on_one_mapping),
      T(mpsc_three_threads_on_one_mapping),
      T(mpmc_four_threads_with_their_own_mappings),
      T(mpmc_four_threads_on_one_mapping),
#undef T
  };
  (void)argc; /* Criterion's options (--jobs N) are accepted and ignored */
  (void)argv;
  signal(SIGALRM, on_alarm);
  int passed = 0, failed = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    alarm(120);
    double t0 = now_ms();
    int reports = TSAN_REPORTS();
    int bad = tests[i].fn();
    alarm(0);
    if (TSAN_REPORTS() != reports) {
      fprintf(stderr, "[----] ThreadSanitizer reported %d race(s), above\n",
              TSAN_REPORTS() - reports);
      bad = 1;
    }
    printf("[%s] ring_threads::%s: (%.2fs)\n", bad ? "FAIL" : "PASS",
           tests[i].name, (now_ms() - t0) / 1000);
    fflush(stdout);
    bad ? failed++ : passed++;
  }
  printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | "
         "Crashing: 0 \n",
         passed + failed, passed, failed);
  return failed != 0;
}
