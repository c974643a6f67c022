/* tests/c/signal_threads.c: signal floods from several threads into one
 * receiver while another thread takes the records, so that TSan
 * (config=tsan) can watch the record queue's protocol and the receiver's
 * lifetime (closing it while handlers run on other threads). 10^5 signals
 * per flood: every one is either taken or counted dropped.
 *
 * Not a Criterion program: Criterion aborts at start under TSan (see
 * ring_threads.c). It has its own main and prints Criterion's summary line,
 * which scripts/test reads. */
#include "ipc.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define EACH 25000 /* 10^5 in all */

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

static void on_alarm(int sig) {
  static const char msg[] = "[FAIL] signal_threads: timed out\n";
  (void)sig;
  if (write(2, msg, sizeof msg - 1) < 0)
    _exit(2);
  _exit(2);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct flood {
  int sig;
  int count;
  _Atomic int *running;
};

/* Raises its signal `count` times on its own thread: each raise runs the
 * handler on this thread before it returns, so each one is one record or
 * one drop, never merged with another by the kernel. */
static void *flood_thread(void *arg) {
  struct flood *f = arg;
  for (int i = 0; i < f->count; i++)
    ipc_signal_raise(f->sig);
  atomic_fetch_sub(f->running, 1);
  return NULL;
}

/* Four threads raise four signals into a receiver of 256 records while
 * this thread takes them: taken + dropped is exactly what was raised, per
 * signal; afterwards nothing is pending and the eventfd is drained. */
static int flood_from_four_threads_counts_every_drop(void) {
  ipc_sigqueue_t *q;
  CHECK(ipc_sigqueue_create(&q, 256) == 0, "create");
  int sigs[THREADS] = {SIGUSR1, SIGUSR2, SIGRTMIN, SIGRTMIN + 1};
  for (int i = 0; i < THREADS; i++)
    CHECK(ipc_signal_handle(q, sigs[i], 0) == 0, "handle %d", sigs[i]);
  _Atomic int running = THREADS;
  struct flood f[THREADS];
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    f[i] = (struct flood){sigs[i], EACH, &running};
    pthread_create(&t[i], NULL, flood_thread, &f[i]);
  }
  uint64_t taken[IPC_SIG_MAX + 1] = {0}, all = 0;
  ipc_siginfo_t r[64];
  for (;;) {
    int still = atomic_load(&running);
    size_t n = ipc_sigqueue_take(q, r, 64);
    for (size_t i = 0; i < n; i++)
      taken[r[i].signo]++;
    all += n;
    if (n == 0 && still == 0)
      break;
    if (n == 0)
      sched_yield();
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  ipc_sigqueue_stats_t st;
  ipc_sigqueue_stats(q, &st);
  uint64_t dropped = 0;
  for (int i = 0; i < THREADS; i++) {
    int s = sigs[i];
    CHECK(taken[s] + st.dropped[s] == EACH,
          "signal %d: %llu taken + %llu dropped, want %d", s,
          (unsigned long long)taken[s], (unsigned long long)st.dropped[s],
          EACH);
    dropped += st.dropped[s];
  }
  CHECK(st.dropped[0] == dropped, "total dropped %llu, by signal %llu",
        (unsigned long long)st.dropped[0], (unsigned long long)dropped);
  CHECK(st.taken == all && st.recorded == all, "recorded %llu, taken %llu",
        (unsigned long long)st.recorded, (unsigned long long)all);
  CHECK(st.pending == 0, "%u still pending", st.pending);
  struct pollfd pfd = {.fd = ipc_sigqueue_fd(q), .events = POLLIN};
  CHECK(poll(&pfd, 1, 0) == 0, "the eventfd is readable with nothing left");
  printf("[----] %d signals: %llu taken, %llu dropped (counted)\n",
         THREADS * EACH, (unsigned long long)all, (unsigned long long)dropped);
  ipc_sigqueue_close(q);
  return 0;
}

/* Receivers closed while two threads keep raising: close waits for the
 * handlers writing into them and nothing touches one afterwards (TSan and
 * ASan would see it). A second receiver keeps the signal handled, so the
 * default action never kills the process. */
static int close_while_handlers_run_on_other_threads(void) {
  ipc_sigqueue_t *keep;
  CHECK(ipc_sigqueue_create(&keep, 16) == 0, "create");
  CHECK(ipc_signal_handle(keep, SIGUSR1, 0) == 0, "handle");
  for (int round = 0; round < 50; round++) {
    ipc_sigqueue_t *q;
    CHECK(ipc_sigqueue_create(&q, 16) == 0, "create");
    CHECK(ipc_signal_handle(q, SIGUSR1, 0) == 0, "handle");
    _Atomic int running = 2;
    struct flood f = {SIGUSR1, 2000, &running};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
      pthread_create(&t[i], NULL, flood_thread, &f);
    usleep(100);
    ipc_sigqueue_close(q);
    for (int i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    ipc_siginfo_t r[16];
    while (ipc_sigqueue_take(keep, r, 16) > 0)
      ;
  }
  ipc_sigqueue_stats_t st;
  ipc_sigqueue_stats(keep, &st);
  CHECK(st.recorded + st.dropped[0] == 50 * 2 * 2000,
        "the receiver kept saw %llu + %llu signals",
        (unsigned long long)st.recorded, (unsigned long long)st.dropped[0]);
  ipc_sigqueue_close(keep);
  return 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(void);
  } tests[] = {
#define T(f) {#f, f}
      T(flood_from_four_threads_counts_every_drop),
      T(close_while_handlers_run_on_other_threads),
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
    printf("[%s] signal_threads::%s: (%.2fs)\n", bad ? "FAIL" : "PASS",
           tests[i].name, (now_ms() - t0) / 1000);
    fflush(stdout);
    bad ? failed++ : passed++;
  }
  printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | "
         "Crashing: 0 \n",
         passed + failed, passed, failed);
  return failed != 0;
}
