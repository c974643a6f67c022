/* testutil.h: helpers shared by the Criterion tests of libipc (tests/c).
 * Assertions that print error codes by name, a clock, descriptor counting,
 * a SIGALRM timer that interrupts waits, and the cleanup that kills and reaps
 * any child a failed test left behind. Everything is static inline. */
#ifndef IPC_TESTUTIL_H
#define IPC_TESTUTIL_H

#include "ipc.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The name of a return value: the code's name when negative, "ok" else. */
static inline const char *tu_name(long long v) {
  return v >= 0 ? "ok" : v < INT32_MIN ? "UNKNOWN" : ipc_errname((int)v);
}

/* Asserts that `expr` returns exactly `want`, naming both on failure. */
#define tu_assert_ret(expr, want)                                              \
  do {                                                                         \
    long long tu_got_ = (long long)(expr);                                     \
    long long tu_want_ = (long long)(want);                                    \
    cr_assert_eq(tu_got_, tu_want_, "%s: got %lld (%s), want %lld (%s)",       \
                 #expr, tu_got_, tu_name(tu_got_), tu_want_,                   \
                 tu_name(tu_want_));                                           \
  } while (0)

/* Asserts that `expr` succeeds (>= 0), naming the code otherwise. */
#define tu_assert_ok(expr)                                                     \
  do {                                                                         \
    long long tu_got_ = (long long)(expr);                                     \
    cr_assert_geq(tu_got_, 0, "%s: failed with %lld (%s: %s)", #expr, tu_got_, \
                  tu_name(tu_got_),                                            \
                  tu_got_ < INT32_MIN ? "?" : ipc_strerror((int)tu_got_));     \
  } while (0)

/* Asserts that `n` (a length returned by a read) is not an error and that
 * the `n` bytes at `got` are the string `want`. */
#define tu_assert_bytes(got, n, want)                                          \
  do {                                                                         \
    long long tu_len_ = (long long)(n);                                        \
    cr_assert_geq(tu_len_, 0, "%s: failed with %lld (%s), want \"%s\"", #n,    \
                  tu_len_, tu_name(tu_len_), (want));                          \
    size_t tu_n_ = (size_t)tu_len_;                                            \
    cr_assert(tu_n_ == strlen(want) &&                                         \
                  (tu_n_ == 0 || memcmp((got), (want), tu_n_) == 0),           \
              "got \"%.*s\" (%zu bytes), want \"%s\"", (int)tu_n_,             \
              tu_n_ ? (const char *)(got) : "", tu_n_, (want));                \
  } while (0)

/* Milliseconds on CLOCK_MONOTONIC, the clock libipc's timeouts use. */
static inline double tu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Open descriptors of this process, not counting the one used to count. */
static inline int tu_count_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  cr_assert_not_null(dir, "opendir /proc/self/fd: %s", strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n - 1;
}

/* 1 when descriptor fd has FD_CLOEXEC, 0 when not, -1 when it is not open. */
static inline int tu_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  return flags < 0 ? -1 : (flags & FD_CLOEXEC) != 0;
}

/* Counts SIGALRMs; the handler does nothing else, it is there to interrupt. */
static volatile sig_atomic_t tu_alarms;

static inline void tu_on_alarm(int sig) {
  (void)sig;
  tu_alarms++;
}

/* Delivers one SIGALRM in `ms` milliseconds to a handler installed without
 * SA_RESTART, so that a blocked system call fails with EINTR instead of
 * being restarted: the case libipc must report as IPC_EINTR. */
static inline void tu_alarm_in(int ms) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = tu_on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = ms / 1000;
  it.it_value.tv_usec = (ms % 1000) * 1000;
  cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* First call in a forked child: it dies with its parent (a test that fails
 * or times out must not leave it running), and in 20 s whatever happens. A
 * child must leave with _exit, never by returning into Criterion. */
static inline void tu_child_begin(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(99);
  alarm(20);
}

/* Asserts that a forked child writing to w, a pipe end whose readers are
 * all gone, gets IPC_EPIPE from both write paths (no deadline, and one)
 * and exits: a SIGPIPE that libipc let through while the disposition is
 * SIG_DFL would kill it instead. */
static inline void tu_assert_child_write_gives_epipe(ipc_pipe_t *w) {
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    tu_child_begin(parent);
    int ok = ipc_pipe_write(w, "x", 1, -1) == IPC_EPIPE &&
             ipc_pipe_write(w, "x", 1, 1000) == IPC_EPIPE;
    _exit(ok ? 0 : 1);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
  cr_assert(!WIFSIGNALED(status), "the writing child was killed by signal %d",
            WTERMSIG(status));
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the writing child's write did not give EPIPE (status %#x)",
            status);
}

/* The pids of this process's children, from /proc (CONFIG_PROC_CHILDREN),
 * written to pids[]; returns how many (at most max). */
static inline int tu_children(pid_t *pids, int max) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)gettid());
  FILE *f = fopen(path, "r");
  int n = 0, pid;
  if (f == NULL)
    return 0;
  while (n < max && fscanf(f, "%d", &pid) == 1)
    pids[n++] = pid;
  fclose(f);
  return n;
}

/* Suite .fini: kills and reaps every child still there, so that a test
 * that failed half-way leaves no process and no zombie behind. */
static inline void tu_cleanup(void) {
  pid_t pids[64];
  int n = tu_children(pids, 64);
  for (int i = 0; i < n; i++)
    kill(pids[i], SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
    ;
}

/* Asserts that this process has no child left, reaped or not. */
#define tu_assert_no_children()                                                \
  do {                                                                         \
    errno = 0;                                                                 \
    pid_t tu_pid_ = waitpid(-1, NULL, WNOHANG);                                \
    cr_assert(tu_pid_ == -1 && errno == ECHILD,                                \
              "a child is left behind (waitpid(-1) gave %d, %s)",              \
              (int)tu_pid_, strerror(errno));                                  \
  } while (0)

/* 64-bit FNV-1a, to compare what went into a pipe with what came out. */
static inline uint64_t tu_fnv1a(uint64_t h, const void *buf, size_t n) {
  const unsigned char *p = buf;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
#define TU_FNV_INIT 0xcbf29ce484222325ULL

#endif /* IPC_TESTUTIL_H */
