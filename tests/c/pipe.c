/* tests/c/pipe.c: anonymous pipes (ipc_pipe_*), one case per documented
 * behaviour of ipc.h's pipe section: roles and close-on-exec, the read
 * family, EOF, timeouts and EINTR losing nothing, non-blocking mode, large
 * writes to a child, EPIPE without SIGPIPE, bad arguments, no leaked fd. */
#include "testutil.h"

#include <sys/socket.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>

TestSuite(pipe, .fini = tu_cleanup);

/* A fresh blocking pipe, asserted. */
static void make_pipe(ipc_pipe_t **r, ipc_pipe_t **w) {
  tu_assert_ret(ipc_pipe_create(r, w, 0), 0);
  cr_assert_not_null(*r);
  cr_assert_not_null(*w);
}

/* Writes a string whole, asserted. */
static void put(ipc_pipe_t *w, const char *s) {
  tu_assert_ret(ipc_pipe_write(w, s, strlen(s), 1000), strlen(s));
}

/* Fills the kernel side of the pipe until a write would block; returns the
 * bytes it took (the pipe's capacity). Leaves the writer blocking. */
static size_t fill(ipc_pipe_t *w) {
  static char junk[1 << 20];
  tu_assert_ret(ipc_pipe_set_blocking(w, 0), 0);
  ssize_t n = ipc_pipe_write(w, junk, sizeof junk, -1);
  cr_assert(n > 0 && (size_t)n < sizeof junk, "filling gave %zd", n);
  tu_assert_ret(ipc_pipe_write(w, junk, 1, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_pipe_set_blocking(w, 1), 0);
  return (size_t)n;
}

Test(pipe, create_gives_a_reader_and_a_writer_both_close_on_exec,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  cr_assert_eq(ipc_pipe_is_writer(r), 0);
  cr_assert_eq(ipc_pipe_is_writer(w), 1);
  cr_assert_neq(ipc_pipe_fd(r), ipc_pipe_fd(w));
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(r)), 1, "reader lacks FD_CLOEXEC");
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(w)), 1, "writer lacks FD_CLOEXEC");
  cr_assert_eq(fcntl(ipc_pipe_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
  cr_assert_eq(fcntl(ipc_pipe_fd(w), F_GETFL) & O_ACCMODE, O_WRONLY);
  tu_assert_ret(ipc_pipe_get_blocking(r), 1);
  tu_assert_ret(ipc_pipe_get_blocking(w), 1);
  cr_assert_eq(ipc_pipe_buffered(r), 0);
  tu_assert_ret(ipc_pipe_close(r), 0);
  tu_assert_ret(ipc_pipe_close(w), 0);
}

Test(pipe, bytes_written_come_out_of_the_reader, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  static const char msg[] = "hello\0world"; /* a NUL is just a byte */
  tu_assert_ret(ipc_pipe_write(w, msg, sizeof msg, -1), sizeof msg);
  char buf[64];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), sizeof msg);
  cr_assert_arr_eq(buf, msg, sizeof msg);
  tu_assert_ret(ipc_pipe_read(r, buf, 0, 0), 0);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, read_returns_what_is_there_without_waiting_for_more, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  put(w, "abc");
  char buf[100];
  /* 3 bytes are there; asking for 100 must not wait for the other 97. */
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 5000), 3);
  tu_assert_bytes(buf, 3, "abc");
  /* At most n: the rest comes with the next calls. */
  put(w, "hello");
  tu_assert_ret(ipc_pipe_read(r, buf, 2, 1000), 2);
  tu_assert_bytes(buf, 2, "he");
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 1000), 3);
  tu_assert_bytes(buf, 3, "llo");
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, read_exact_gathers_several_writes_from_a_child, .timeout = 10) {
  ipc_pipe_t *r, *w;
  ipc_proc_t *child;
  make_pipe(&r, &w);
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_pipe_close(r);
    static const char *parts[] = {"ab", "cde", "f", "ghij"};
    for (int i = 0; i < 4; i++) {
      usleep(10000);
      if (ipc_pipe_write(w, parts[i], strlen(parts[i]), -1) < 0)
        _exit(1);
    }
    _exit(0);
  }
  ipc_pipe_close(w);
  char buf[10];
  tu_assert_ret(ipc_pipe_read_exact(r, buf, sizeof buf, 5000), 10);
  tu_assert_bytes(buf, 10, "abcdefghij");
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 1, 5000), IPC_EOF);
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED);
  cr_assert_eq(st.code, 0);
  ipc_proc_close(child);
  ipc_pipe_close(r);
}

Test(pipe, read_until_newline_returns_one_line_at_a_time, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  put(w, "one\ntwo\n\nthree");
  const char *line;
  ssize_t n;
  n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 1000);
  tu_assert_bytes(line, n, "one\n");
  n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 1000);
  tu_assert_bytes(line, n, "two\n");
  n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 1000);
  tu_assert_bytes(line, n, "\n");
  cr_assert_eq(ipc_pipe_buffered(r), 5, "\"three\" should wait in the buffer");
  /* A last line without its newline comes out at end of file. */
  ipc_pipe_close(w);
  n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 1000);
  tu_assert_bytes(line, n, "three");
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 1000), IPC_EOF);
  ipc_pipe_close(r);
}

Test(pipe, read_until_stops_at_max_bytes, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  put(w, "abcdefgh\n");
  const char *out;
  ssize_t n;
  n = ipc_pipe_read_until(r, '\n', 3, &out, 1000);
  tu_assert_bytes(out, n, "abc");
  n = ipc_pipe_read_until(r, '\n', 3, &out, 1000);
  tu_assert_bytes(out, n, "def");
  n = ipc_pipe_read_until(r, '\n', 3, &out, 1000);
  tu_assert_bytes(out, n, "gh\n");
  /* Without a delimiter, max alone makes an exact read. */
  put(w, "0123456789");
  n = ipc_pipe_read_until(r, -1, 4, &out, 1000);
  tu_assert_bytes(out, n, "0123");
  n = ipc_pipe_read_until(r, -1, 6, &out, 1000);
  tu_assert_bytes(out, n, "456789");
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, read_until_eof_returns_the_whole_stream, .timeout = 10) {
  enum { TOTAL = 300000 };
  ipc_pipe_t *r, *w;
  ipc_proc_t *child;
  make_pipe(&r, &w);
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    /* More than a pipe holds, in uneven pieces, so the reader must loop. */
    tu_child_begin(parent);
    ipc_pipe_close(r);
    char piece[7777];
    size_t sent = 0;
    while (sent < TOTAL) {
      size_t k = TOTAL - sent < sizeof piece ? TOTAL - sent : sizeof piece;
      for (size_t i = 0; i < k; i++)
        piece[i] = (char)('a' + (sent + i) % 26);
      if (ipc_pipe_write(w, piece, k, -1) != (ssize_t)k)
        _exit(1);
      sent += k;
    }
    _exit(0);
  }
  ipc_pipe_close(w);
  const char *all;
  ssize_t n = ipc_pipe_read_until(r, -1, SIZE_MAX, &all, 5000);
  tu_assert_ret(n, TOTAL);
  for (size_t i = 0; i < TOTAL; i++)
    cr_assert_eq(all[i], (char)('a' + i % 26), "byte %zu", i);
  tu_assert_ret(ipc_pipe_read_until(r, -1, SIZE_MAX, &all, 5000), IPC_EOF);
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED);
  cr_assert_eq(st.code, 0);
  ipc_proc_close(child);
  ipc_pipe_close(r);
}

Test(pipe, every_read_returns_eof_once_the_writer_is_closed, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  put(w, "xy");
  tu_assert_ret(ipc_pipe_close(w), 0);
  char buf[8];
  const char *out;
  /* What was written before the close still comes out, short. */
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 5, 1000), 2);
  tu_assert_bytes(buf, 2, "xy");
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), IPC_EOF);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_EOF);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 1, -1), IPC_EOF);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, -1), IPC_EOF);
  tu_assert_ret(ipc_pipe_read_until(r, -1, SIZE_MAX, &out, 1000), IPC_EOF);
  ipc_pipe_close(r);
}

Test(pipe, read_with_timeout_zero_returns_etimedout_at_once, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  char buf[8];
  const char *out;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 4, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 0), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert_lt(dt, 50.0, "timeout 0 took %.1f ms", dt);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, read_with_timeout_waits_that_long_then_returns_etimedout,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  char buf[8];
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 50), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 50.0 && dt < 1000.0, "a 50 ms timeout took %.1f ms", dt);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, a_timed_out_line_stays_buffered_and_completes_later, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  const char *out;
  put(w, "par");
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 50),
                IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 50.0 && dt < 1000.0, "a 50 ms timeout took %.1f ms", dt);
  cr_assert_eq(ipc_pipe_buffered(r), 3);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 0), IPC_ETIMEDOUT);
  put(w, "tial");
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 0), IPC_ETIMEDOUT);
  cr_assert_eq(ipc_pipe_buffered(r), 7);
  put(w, " line\nnext");
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 1000);
  tu_assert_bytes(out, n, "partial line\n");
  cr_assert_eq(ipc_pipe_buffered(r), 4);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, a_timed_out_read_exact_loses_nothing, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  char buf[6];
  put(w, "abc");
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 6, 50), IPC_ETIMEDOUT);
  cr_assert_eq(ipc_pipe_buffered(r), 3);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 6, 0), IPC_ETIMEDOUT);
  put(w, "def");
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 6, 1000), 6);
  tu_assert_bytes(buf, 6, "abcdef");
  cr_assert_eq(ipc_pipe_buffered(r), 0);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, buffered_bytes_are_counted_and_invisible_to_poll, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  put(w, "a\nb\n");
  const char *out;
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 1000);
  tu_assert_bytes(out, n, "a\n");
  /* "b\n" was read from the kernel with "a\n": it is in the handle, and the
   * descriptor has nothing, which is why ipc_pipe_buffered exists. */
  cr_assert_eq(ipc_pipe_buffered(r), 2);
  struct pollfd pfd = {.fd = ipc_pipe_fd(r), .events = POLLIN};
  cr_assert_eq(poll(&pfd, 1, 0), 0);
  char buf[4];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), 2);
  tu_assert_bytes(buf, 2, "b\n");
  put(w, "c");
  cr_assert_eq(poll(&pfd, 1, 1000), 1);
  cr_assert(pfd.revents & POLLIN);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, non_blocking_calls_return_eagain_whatever_the_timeout,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  tu_assert_ret(ipc_pipe_create(&r, &w, IPC_NONBLOCK), 0);
  tu_assert_ret(ipc_pipe_get_blocking(r), 0);
  tu_assert_ret(ipc_pipe_get_blocking(w), 0);
  cr_assert(fcntl(ipc_pipe_fd(r), F_GETFL) & O_NONBLOCK);
  cr_assert(fcntl(ipc_pipe_fd(w), F_GETFL) & O_NONBLOCK);
  char buf[8];
  const char *out;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 5000), IPC_EAGAIN);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 4, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, -1), IPC_EAGAIN);
  cr_assert_lt(tu_now_ms() - t0, 1000.0);
  /* A partial line is kept across EAGAIN like across a timeout. */
  put(w, "ab");
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, -1), IPC_EAGAIN);
  put(w, "c\n");
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, -1);
  tu_assert_bytes(out, n, "abc\n");
  /* And back to blocking: a timeout applies again. */
  tu_assert_ret(ipc_pipe_set_blocking(r, 1), 0);
  tu_assert_ret(ipc_pipe_get_blocking(r), 1);
  cr_assert_eq(fcntl(ipc_pipe_fd(r), F_GETFL) & O_NONBLOCK, 0);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 20), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_pipe_set_blocking(r, 0), 0);
  tu_assert_ret(ipc_pipe_get_blocking(r), 0);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 20), IPC_EAGAIN);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, non_blocking_write_to_a_full_pipe_is_short_then_eagain,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  tu_assert_ret(ipc_pipe_create(&r, &w, IPC_NONBLOCK), 0);
  static char big[1 << 20];
  memset(big, 'z', sizeof big);
  ssize_t k = ipc_pipe_write(w, big, sizeof big, -1);
  cr_assert(k > 0 && (size_t)k < sizeof big, "write gave %zd", k);
  tu_assert_ret(ipc_pipe_write(w, big, 1, 5000), IPC_EAGAIN);
  /* Exactly the k bytes reported went in. */
  tu_assert_ret(ipc_pipe_set_blocking(r, 1), 0);
  static char back[1 << 20];
  tu_assert_ret(ipc_pipe_read_exact(r, back, (size_t)k, 1000), k);
  cr_assert_arr_eq(back, big, (size_t)k);
  tu_assert_ret(ipc_pipe_read(r, back, 1, 0), IPC_ETIMEDOUT);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, a_timed_out_write_returns_the_short_count_or_etimedout,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  static char big[1 << 20];
  memset(big, 'q', sizeof big);
  double t0 = tu_now_ms();
  ssize_t k = ipc_pipe_write(w, big, sizeof big, 50);
  double dt = tu_now_ms() - t0;
  cr_assert(k > 0 && (size_t)k < sizeof big, "write gave %zd", k);
  cr_assert(dt >= 50.0 && dt < 1000.0, "a 50 ms timeout took %.1f ms", dt);
  /* Now full: nothing goes out, so the code instead of a count. */
  tu_assert_ret(ipc_pipe_write(w, big, 1, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_pipe_write(w, big, 1, 20), IPC_ETIMEDOUT);
  static char back[1 << 20];
  tu_assert_ret(ipc_pipe_read_exact(r, back, (size_t)k, 1000), k);
  tu_assert_ret(ipc_pipe_read(r, back, 1, 0), IPC_ETIMEDOUT);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, write_of_4_mib_reaches_a_child_whole, .timeout = 10) {
  enum { TOTAL = 4 << 20 };
  ipc_pipe_t *r, *w, *rr, *rw;
  ipc_proc_t *child;
  make_pipe(&r, &w);
  make_pipe(&rr, &rw);
  unsigned char *data = malloc(TOTAL);
  cr_assert_not_null(data);
  /* xorshift: no short period for a dropped or repeated block to hide in */
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < TOTAL; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data[i] = (unsigned char)x;
  }
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    /* The child reads everything in what pieces come, and reports the
     * count and the checksum through the second pipe. */
    tu_child_begin(parent);
    ipc_pipe_close(w);
    ipc_pipe_close(rr);
    uint64_t sum[2] = {0, TU_FNV_INIT};
    char buf[65536];
    ssize_t n;
    while ((n = ipc_pipe_read(r, buf, sizeof buf, -1)) > 0) {
      sum[0] += (uint64_t)n;
      sum[1] = tu_fnv1a(sum[1], buf, (size_t)n);
    }
    if (n != IPC_EOF)
      _exit(2);
    _exit(ipc_pipe_write(rw, sum, sizeof sum, -1) == sizeof sum ? 0 : 1);
  }
  ipc_pipe_close(r);
  ipc_pipe_close(rw);
  tu_assert_ret(ipc_pipe_write(w, data, TOTAL, -1), TOTAL);
  tu_assert_ret(ipc_pipe_close(w), 0);
  uint64_t sum[2];
  tu_assert_ret(ipc_pipe_read_exact(rr, sum, sizeof sum, 5000), sizeof sum);
  cr_assert_eq(sum[0], (uint64_t)TOTAL, "the child got %llu bytes",
               (unsigned long long)sum[0]);
  cr_assert_eq(sum[1], tu_fnv1a(TU_FNV_INIT, data, TOTAL), "checksum");
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED);
  cr_assert_eq(st.code, 0);
  ipc_proc_close(child);
  ipc_pipe_close(rr);
  free(data);
}

/* Asserts the SIGPIPE disposition is `handler`, SIGPIPE is not blocked and
 * no SIGPIPE is pending: the state before the write, untouched after. */
static void assert_sigpipe_untouched(void (*handler)(int)) {
  struct sigaction now;
  sigset_t set;
  cr_assert_eq(sigaction(SIGPIPE, NULL, &now), 0);
  cr_assert(now.sa_handler == handler, "the SIGPIPE disposition changed");
  cr_assert_eq(sigprocmask(SIG_BLOCK, NULL, &set), 0);
  cr_assert_not(sigismember(&set, SIGPIPE), "SIGPIPE left blocked");
  cr_assert_eq(sigpending(&set), 0);
  cr_assert_not(sigismember(&set, SIGPIPE), "a SIGPIPE is left pending");
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
  (void)sig;
  sigpipes++;
}

/* SIG_DFL on purpose: if libipc let a SIGPIPE through, the kernel would
 * kill this process and Criterion would report a crash. */
Test(pipe, write_returns_epipe_when_reader_is_gone, .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  ipc_pipe_close(r);
  static char big[1 << 20];
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 0), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, big, sizeof big, 1000), IPC_EPIPE);
  assert_sigpipe_untouched(SIG_DFL);
  ipc_pipe_close(w);
}

Test(pipe, write_raises_no_sigpipe_for_a_handler_to_see, .timeout = 10) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  ipc_pipe_close(r);
  for (int i = 0; i < 3; i++)
    tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  cr_assert_eq(sigpipes, 0, "the handler saw %d SIGPIPE", (int)sigpipes);
  assert_sigpipe_untouched(on_sigpipe);
  ipc_pipe_close(w);
}

/* Below, libipc itself makes SIGPIPE harmless (ignored, or handled by its
 * recording handler), which lets writes use plain write(2); every libipc
 * change that makes it deadly again must bring RWF_NOSIGNAL back, which a
 * forked child writing under SIG_DFL shows by living. */

/* A pipe whose reader is closed: its writer. */
static ipc_pipe_t *readerless(void) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  ipc_pipe_close(r);
  return w;
}

Test(pipe, with_sigpipe_ignored_through_libipc_a_write_gives_epipe,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  tu_assert_ret(ipc_signal_ignore(NULL, SIGPIPE), 0);
  ipc_pipe_t *w = readerless();
  static char big[1 << 20];
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 0), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, big, sizeof big, 1000), IPC_EPIPE);
  assert_sigpipe_untouched(SIG_IGN);
  /* Restored to SIG_DFL: a write must be safe again. */
  tu_assert_ret(ipc_signal_restore(NULL, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_DFL);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_child_write_gives_epipe(w);
  ipc_pipe_close(w);
}

Test(pipe, sigpipe_made_default_again_through_libipc_gives_epipe_not_death,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  ipc_pipe_t *w = readerless();
  tu_assert_ret(ipc_signal_ignore(NULL, SIGPIPE), 0);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_signal_default(NULL, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_DFL);
  tu_assert_child_write_gives_epipe(w);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_signal_restore(NULL, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_DFL);
  ipc_pipe_close(w);
}

/* Handled through libipc: the write still returns EPIPE, and the SIGPIPE
 * it raised is recorded like any handled signal. */
Test(pipe, sigpipe_handled_through_libipc_gives_epipe_and_a_record,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  ipc_sigqueue_t *q;
  tu_assert_ret(ipc_sigqueue_create(&q, 0), 0);
  tu_assert_ret(ipc_signal_handle(q, SIGPIPE, 0), 0);
  ipc_pipe_t *w = readerless();
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 1000), IPC_EPIPE);
  ipc_siginfo_t recs[4];
  size_t n = ipc_sigqueue_take(q, recs, 4);
  cr_assert(n >= 1, "no SIGPIPE was recorded");
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(recs[i].signo, SIGPIPE, "record %zu is signal %d", i,
                 recs[i].signo);
  /* Unhandled: SIG_DFL is back, and with it RWF_NOSIGNAL. */
  tu_assert_ret(ipc_signal_unhandle(q, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_DFL);
  tu_assert_child_write_gives_epipe(w);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  cr_assert_eq(ipc_sigqueue_take(q, recs, 4), 0, "a SIGPIPE after unhandle");
  tu_assert_ret(ipc_sigqueue_close(q), 0);
  ipc_pipe_close(w);
}

/* With the host's own handler behind libipc's, a SIGPIPE would run host
 * code: writes keep raising none. */
Test(pipe, sigpipe_handled_in_front_of_a_host_handler_is_not_raised,
     .timeout = 10) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
  ipc_sigqueue_t *q;
  tu_assert_ret(ipc_sigqueue_create(&q, 0), 0);
  tu_assert_ret(ipc_signal_handle(q, SIGPIPE, 0), 0);
  ipc_pipe_t *w = readerless();
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 1000), IPC_EPIPE);
  ipc_siginfo_t rec;
  cr_assert_eq(ipc_sigqueue_take(q, &rec, 1), 0, "a SIGPIPE was raised");
  cr_assert_eq(sigpipes, 0, "the host's handler saw %d SIGPIPE", (int)sigpipes);
  tu_assert_ret(ipc_sigqueue_close(q), 0); /* puts the host's back */
  assert_sigpipe_untouched(on_sigpipe);
  signal(SIGPIPE, SIG_DFL);
  ipc_pipe_close(w);
}

/* Ignored, then handled, then unhandled: ignored again, as before. */
Test(pipe, unhandling_sigpipe_puts_back_the_ignore_and_its_fast_writes,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  ipc_sigqueue_t *q;
  tu_assert_ret(ipc_sigqueue_create(&q, 0), 0);
  tu_assert_ret(ipc_signal_ignore(q, SIGPIPE), 0);
  tu_assert_ret(ipc_signal_handle(q, SIGPIPE, 0), 0);
  tu_assert_ret(ipc_signal_unhandle(q, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_IGN);
  ipc_pipe_t *w = readerless();
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_signal_restore(q, SIGPIPE), 0);
  assert_sigpipe_untouched(SIG_DFL);
  tu_assert_child_write_gives_epipe(w);
  tu_assert_ret(ipc_sigqueue_close(q), 0);
  ipc_pipe_close(w);
}

Test(pipe, a_reader_that_dies_mid_stream_gives_epipe_not_death, .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  ipc_pipe_t *r, *w;
  ipc_proc_t *child;
  make_pipe(&r, &w);
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_pipe_close(w);
    char buf[1000];
    _exit(ipc_pipe_read_exact(r, buf, sizeof buf, 5000) == sizeof buf ? 0 : 1);
  }
  ipc_pipe_close(r);
  /* The child takes 1000 bytes and leaves: part of this goes out. */
  static char big[1 << 20];
  ssize_t k = ipc_pipe_write(w, big, sizeof big, -1);
  cr_assert(k == IPC_EPIPE || (k >= 1000 && (size_t)k < sizeof big),
            "write gave %zd (%s)", k, tu_name(k));
  tu_assert_ret(ipc_pipe_write(w, big, sizeof big, -1), IPC_EPIPE);
  assert_sigpipe_untouched(SIG_DFL);
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED);
  cr_assert_eq(st.code, 0);
  ipc_proc_close(child);
  ipc_pipe_close(w);
}

Test(pipe, a_signal_interrupts_a_blocked_read_with_eintr_losing_nothing,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  const char *out;
  char buf[8];
  put(w, "par");
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, -1), IPC_EINTR);
  cr_assert_eq(tu_alarms, 1);
  cr_assert_eq(ipc_pipe_buffered(r), 3, "the partial line was lost");
  /* A finite timeout waits in poll(2): interrupted the same way. */
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 5000), IPC_EINTR);
  cr_assert_eq(ipc_pipe_buffered(r), 3);
  put(w, "tial\n");
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 1000);
  tu_assert_bytes(out, n, "partial\n");
  /* read_exact gives back what it had gathered. */
  put(w, "abc");
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 6, -1), IPC_EINTR);
  cr_assert_eq(ipc_pipe_buffered(r), 3);
  put(w, "def");
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 6, -1), 6);
  tu_assert_bytes(buf, 6, "abcdef");
  /* And a plain read on an empty pipe. */
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), IPC_EINTR);
  cr_assert_eq(tu_alarms, 4);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, a_signal_interrupts_a_blocked_write_with_eintr, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  size_t cap = fill(w);
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), IPC_EINTR);
  tu_alarm_in(50);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 5000), IPC_EINTR);
  cr_assert_eq(tu_alarms, 2);
  /* Nothing of the interrupted writes went in. */
  static char back[1 << 20];
  tu_assert_ret(ipc_pipe_read_exact(r, back, cap, 1000), cap);
  tu_assert_ret(ipc_pipe_read(r, back, 1, 0), IPC_ETIMEDOUT);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

/* ipc.h: "when ... a signal interrupts after k > 0 bytes went out, k (a short
 * count)". The child drains the pipe only after a second, so a write that
 * swallowed the interruption would finish whole instead of failing the
 * test by hanging. */
Test(pipe, a_signal_after_some_bytes_went_out_gives_the_short_count,
     .timeout = 10) {
  ipc_pipe_t *r, *w;
  ipc_proc_t *child;
  make_pipe(&r, &w);
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_pipe_close(w);
    sleep(1);
    char buf[65536];
    while (ipc_pipe_read(r, buf, sizeof buf, -1) > 0)
      ;
    _exit(0);
  }
  ipc_pipe_close(r);
  static char big[1 << 20];
  tu_alarm_in(50);
  double t0 = tu_now_ms();
  ssize_t k = ipc_pipe_write(w, big, sizeof big, -1);
  double dt = tu_now_ms() - t0;
  cr_assert_eq(tu_alarms, 1);
  cr_assert(k > 0 && (size_t)k < sizeof big,
            "the interrupted write gave %zd (%s) after %.0f ms", k, tu_name(k),
            dt);
  cr_assert_lt(dt, 900.0, "the write went on %.0f ms after the signal", dt);
  ipc_pipe_close(w);
  tu_assert_ret(ipc_proc_wait(child, NULL, 5000), 0);
  ipc_proc_close(child);
}

Test(pipe, each_end_refuses_the_other_direction_with_ebadf, .timeout = 10) {
  ipc_pipe_t *r, *w;
  make_pipe(&r, &w);
  char buf[4];
  const char *out = "not touched";
  tu_assert_ret(ipc_pipe_write(r, "x", 1, 0), IPC_EBADF);
  tu_assert_ret(ipc_pipe_read(w, buf, sizeof buf, 0), IPC_EBADF);
  tu_assert_ret(ipc_pipe_read_exact(w, buf, sizeof buf, 0), IPC_EBADF);
  tu_assert_ret(ipc_pipe_read_until(w, '\n', SIZE_MAX, &out, 0), IPC_EBADF);
  /* Both ends still work afterwards. */
  put(w, "ok");
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 1000), 2);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(pipe, create_with_unknown_flags_returns_einval_and_nulls, .timeout = 10) {
  int before = tu_count_fds();
  ipc_pipe_t *r = (ipc_pipe_t *)&r, *w = (ipc_pipe_t *)&w; /* not NULL */
  tu_assert_ret(ipc_pipe_create(&r, &w, 0x80), IPC_EINVAL);
  cr_assert_null(r);
  cr_assert_null(w);
  r = (ipc_pipe_t *)&r, w = (ipc_pipe_t *)&w;
  tu_assert_ret(ipc_pipe_create(&r, &w, IPC_NONBLOCK | 0x2), IPC_EINVAL);
  cr_assert_null(r);
  cr_assert_null(w);
  cr_assert_eq(tu_count_fds(), before);
}

Test(pipe, from_fd_wraps_a_descriptor_and_owns_it, .timeout = 10) {
  int fds[2];
  cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
  ipc_pipe_t *r, *w;
  tu_assert_ret(ipc_pipe_from_fd(&r, fds[0], 0), 0);
  tu_assert_ret(ipc_pipe_from_fd(&w, fds[1], 1), 0);
  cr_assert_eq(ipc_pipe_fd(r), fds[0]);
  cr_assert_eq(ipc_pipe_fd(w), fds[1]);
  cr_assert_eq(ipc_pipe_is_writer(r), 0);
  cr_assert_eq(ipc_pipe_is_writer(w), 1);
  put(w, "line\n");
  const char *out;
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 1000);
  tu_assert_bytes(out, n, "line\n");
  tu_assert_ret(ipc_pipe_close(r), 0);
  tu_assert_ret(ipc_pipe_close(w), 0);
  cr_assert_eq(tu_cloexec(fds[0]), -1, "close left the descriptor open");
  cr_assert_eq(tu_cloexec(fds[1]), -1, "close left the descriptor open");
}

Test(pipe, from_fd_picks_up_non_blocking_mode, .timeout = 10) {
  int fds[2];
  cr_assert_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  ipc_pipe_t *r;
  tu_assert_ret(ipc_pipe_from_fd(&r, fds[0], 0), 0);
  tu_assert_ret(ipc_pipe_get_blocking(r), 0);
  char buf[4];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), IPC_EAGAIN);
  ipc_pipe_close(r);
  close(fds[1]);
}

Test(pipe, from_fd_with_a_bad_descriptor_returns_ebadf, .timeout = 10) {
  ipc_pipe_t *p = (ipc_pipe_t *)&p;
  tu_assert_ret(ipc_pipe_from_fd(&p, -1, 0), IPC_EBADF);
  cr_assert_null(p);
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  close(fd); /* now a number that is not open */
  p = (ipc_pipe_t *)&p;
  tu_assert_ret(ipc_pipe_from_fd(&p, fd, 1), IPC_EBADF);
  cr_assert_null(p);
}

Test(pipe, close_accepts_null, .timeout = 10) {
  tu_assert_ret(ipc_pipe_close(NULL), 0);
}

Test(pipe, no_descriptor_is_leaked, .timeout = 10) {
  int before = tu_count_fds();
  for (int i = 0; i < 50; i++) {
    ipc_pipe_t *r, *w;
    tu_assert_ret(ipc_pipe_create(&r, &w, i % 2 ? IPC_NONBLOCK : 0), 0);
    const char *out;
    put(w, "some data\nand more");
    ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &out, 1000);
    tu_assert_bytes(out, n, "some data\n");
    ipc_pipe_close(w);
    n = ipc_pipe_read_until(r, -1, SIZE_MAX, &out, 1000);
    tu_assert_bytes(out, n, "and more");
    ipc_pipe_close(r);
    tu_assert_ret(ipc_pipe_create(&r, &w, 0x40), IPC_EINVAL);
    ipc_pipe_t *p;
    tu_assert_ret(ipc_pipe_from_fd(&p, -1, 0), IPC_EBADF);
  }
  cr_assert_eq(tu_count_fds(), before, "%d descriptors leaked",
               tu_count_fds() - before);
}

/* A handle on something that is not a pipe (here a socket) takes the other
 * road to EPIPE: SIGPIPE blocked during the call and taken back after. */
Test(pipe, write_on_a_non_pipe_descriptor_gives_epipe_without_sigpipe_too,
     .timeout = 10) {
  int sv[2];
  cr_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  signal(SIGPIPE, SIG_DFL);
  ipc_pipe_t *w;
  cr_assert_eq(ipc_pipe_from_fd(&w, sv[0], 1), 0);
  close(sv[1]);
  cr_assert_eq(ipc_pipe_write(w, "x", 1, -1), IPC_EPIPE);
  sigset_t pending;
  sigpending(&pending);
  cr_assert_not(sigismember(&pending, SIGPIPE), "no SIGPIPE left pending");
  struct sigaction now;
  sigaction(SIGPIPE, NULL, &now);
  cr_assert_eq(now.sa_handler, SIG_DFL, "the disposition is untouched");
  ipc_pipe_close(w);
}
