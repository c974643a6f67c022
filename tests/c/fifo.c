/* tests/c/fifo.c: named pipes (ipc_fifo_*): create with an exact mode and
 * never over anything, open with a timeout on both sides (the peer comes
 * late, never, or comes and goes), EOF and EPIPE between processes, EINTR,
 * unlink of FIFOs only, every bad input leaving nothing behind, and cat, sh
 * and Python's os.mkfifo on the other end. Each test works in its own
 * temporary directory, which the suite's .fini removes whatever happened. */
#include "testutil.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char tmpdir[64];

/* Runs in the test's own process, before it. */
static void fifo_init(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ipc-fifo-test-%d-XXXXXX",
           (int)getpid());
  cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

/* Removes the directory and whatever a failed test left in it, and every
 * child. (Criterion runs this after a failed assertion too.) */
static void fifo_fini(void) {
  tu_cleanup();
  DIR *dir = opendir(tmpdir);
  if (dir != NULL) {
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        if (unlinkat(dirfd(dir), e->d_name, 0) < 0)
          unlinkat(dirfd(dir), e->d_name, AT_REMOVEDIR); /* an empty one */
    closedir(dir);
  }
  rmdir(tmpdir);
}

TestSuite(fifo, .init = fifo_init, .fini = fifo_fini);

/* A path in the test's directory (static storage, one per slot). */
static const char *tpath(const char *name) {
  static char paths[4][128];
  static int next;
  char *p = paths[next++ % 4];
  snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
  return p;
}

/* The entries of the test's directory, sorted, as "a b c" ("" if none): to
 * show what a call left behind. */
static const char *entries(void) {
  static char out[512];
  struct dirent **list;
  int n = scandir(tmpdir, &list, NULL, alphasort);
  cr_assert_geq(n, 0, "scandir: %s", strerror(errno));
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (list[i]->d_name[0] != '.') {
      if (out[0])
        strncat(out, " ", sizeof out - strlen(out) - 1);
      strncat(out, list[i]->d_name, sizeof out - strlen(out) - 1);
    }
    free(list[i]);
  }
  free(list);
  return out;
}

#define assert_entries(want)                                                   \
  cr_assert_str_eq(entries(), (want), "the directory holds \"%s\"", entries())

static mode_t mode_of(const char *path) {
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path, strerror(errno));
  return st.st_mode;
}

/* A FIFO made with ipc_fifo_create, asserted. */
static const char *make_fifo(const char *name) {
  const char *path = tpath(name);
  tu_assert_ret(ipc_fifo_create(path, 0), 0);
  return path;
}

/* A regular file holding `text`, mode 0640. */
static const char *make_file(const char *name, const char *text) {
  const char *path = tpath(name);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

/* Asserts that the regular file at path still holds `text`, mode 0640. */
static void assert_file_untouched(const char *path, const char *text) {
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISREG(st.st_mode), "%s is no longer a regular file", path);
  cr_assert_eq(st.st_mode & 07777, 0640, "its mode changed to %o",
               st.st_mode & 07777);
  char buf[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  tu_assert_bytes(buf, n, text);
}

/* Opens, asserting success. */
static ipc_pipe_t *fifo_open(const char *path, int flags, int timeout_ms) {
  ipc_pipe_t *p = (ipc_pipe_t *)1;
  tu_assert_ret(ipc_fifo_open(&p, path, flags, timeout_ms), 0);
  cr_assert_not_null(p);
  return p;
}

/* Asserts that opening fails with `want`, leaves *out NULL and opens no
 * descriptor; returns the milliseconds it took. */
static double open_fails(const char *path, int flags, int timeout_ms,
                         int want) {
  int fds = tu_count_fds();
  ipc_pipe_t *p = (ipc_pipe_t *)1;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_fifo_open(&p, path, flags, timeout_ms), want);
  double ms = tu_now_ms() - t0;
  cr_assert_null(p, "*out must be NULL on failure");
  cr_assert_eq(tu_count_fds(), fds, "a descriptor was left open");
  return ms;
}

/* Forks a child that runs fn(arg) and exits with its result. */
static ipc_proc_t *fork_child(int (*fn)(const char *, int), const char *arg,
                              int n) {
  ipc_proc_t *child;
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(fn(arg, n));
  }
  return child;
}

/* Waits for a child and asserts that it exited with 0. */
static void reap_ok(ipc_proc_t *child) {
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED, "the child was killed by %d",
               st.signal);
  cr_assert_eq(st.code, 0, "the child exited with %d", st.code);
  ipc_proc_close(child);
}

/* --------------------------------------------------------------- create */

Test(fifo, create_makes_a_fifo_with_mode_0600_by_default, .timeout = 10) {
  const char *path = make_fifo("f");
  mode_t m = mode_of(path);
  cr_assert(S_ISFIFO(m), "not a FIFO: %o", m);
  cr_assert_eq(m & 07777, 0600, "mode %o", m & 07777);
  assert_entries("f");
}

Test(fifo, create_applies_the_mode_exactly_whatever_the_umask, .timeout = 10) {
  mode_t old = umask(077);
  tu_assert_ret(ipc_fifo_create(tpath("wide"), 0664), 0);
  umask(0);
  tu_assert_ret(ipc_fifo_create(tpath("narrow"), 0640), 0);
  umask(old);
  cr_assert_eq(mode_of(tpath("wide")) & 07777, 0664);
  cr_assert_eq(mode_of(tpath("narrow")) & 07777, 0640);
}

Test(fifo, create_over_a_regular_file_gives_eexist_and_leaves_it_untouched,
     .timeout = 10) {
  const char *path = make_file("file", "precious data\n");
  tu_assert_ret(ipc_fifo_create(path, 0), IPC_EEXIST);
  tu_assert_ret(ipc_fifo_create(path, 0666), IPC_EEXIST);
  assert_file_untouched(path, "precious data\n");
  assert_entries("file");
}

Test(fifo, create_over_a_fifo_a_directory_or_a_dangling_link_gives_eexist,
     .timeout = 10) {
  const char *fifo = make_fifo("f");
  tu_assert_ret(ipc_fifo_create(fifo, 0644), IPC_EEXIST);
  cr_assert_eq(mode_of(fifo) & 07777, 0600, "the existing FIFO's mode changed");
  cr_assert_eq(mkdir(tpath("d"), 0700), 0);
  tu_assert_ret(ipc_fifo_create(tpath("d"), 0), IPC_EEXIST);
  cr_assert_eq(symlink("nowhere", tpath("link")), 0);
  tu_assert_ret(ipc_fifo_create(tpath("link"), 0), IPC_EEXIST);
  cr_assert(S_ISLNK(mode_of(tpath("link"))));
  assert_entries("d f link");
}

Test(fifo, create_rejects_bad_modes_and_null_and_makes_nothing, .timeout = 10) {
  tu_assert_ret(ipc_fifo_create(tpath("f"), 01777), IPC_EINVAL);
  tu_assert_ret(ipc_fifo_create(tpath("f"), 04600), IPC_EINVAL);
  tu_assert_ret(ipc_fifo_create(tpath("f"), S_IFIFO | 0600), IPC_EINVAL);
  tu_assert_ret(ipc_fifo_create(tpath("f"), -1), IPC_EINVAL);
  tu_assert_ret(ipc_fifo_create(NULL, 0), IPC_EINVAL);
  assert_entries("");
}

Test(fifo, create_in_a_missing_directory_gives_enoent, .timeout = 10) {
  tu_assert_ret(ipc_fifo_create(tpath("no/such/f"), 0), IPC_ENOENT);
  make_file("file", "x");
  tu_assert_ret(ipc_fifo_create(tpath("file/f"), 0), IPC_ENOTDIR);
  assert_entries("file");
}

/* ----------------------------------------------------------- bad opens */

Test(fifo, open_of_a_regular_file_gives_einval_and_leaves_it_untouched,
     .timeout = 10) {
  const char *path = make_file("file", "precious data\n");
  open_fails(path, IPC_FIFO_READ, 1000, IPC_EINVAL);
  open_fails(path, IPC_FIFO_WRITE, 1000, IPC_EINVAL);
  open_fails(path, IPC_FIFO_WRITE | IPC_NONBLOCK, -1, IPC_EINVAL);
  open_fails(path, IPC_FIFO_READ | IPC_NONBLOCK, -1, IPC_EINVAL);
  assert_file_untouched(path, "precious data\n");
  assert_entries("file");
}

Test(fifo, open_of_a_directory_or_a_device_gives_einval, .timeout = 10) {
  open_fails(tmpdir, IPC_FIFO_READ, 0, IPC_EINVAL);
  open_fails(tmpdir, IPC_FIFO_WRITE, 0, IPC_EINVAL);
  open_fails("/dev/null", IPC_FIFO_WRITE, 0, IPC_EINVAL);
}

Test(fifo, open_follows_a_symbolic_link_to_a_fifo, .timeout = 10) {
  make_fifo("f");
  cr_assert_eq(symlink("f", tpath("link")), 0);
  ipc_pipe_t *r = fifo_open(tpath("link"), IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(tpath("f"), IPC_FIFO_WRITE, 0);
  tu_assert_ret(ipc_pipe_write(w, "via link", 8, 1000), 8);
  char buf[16];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 1000), 8);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(fifo, open_of_a_missing_path_gives_enoent, .timeout = 10) {
  open_fails(tpath("none"), IPC_FIFO_READ, 1000, IPC_ENOENT);
  open_fails(tpath("none"), IPC_FIFO_WRITE, 1000, IPC_ENOENT);
  open_fails(tpath("none/x"), IPC_FIFO_WRITE, 1000, IPC_ENOENT);
  assert_entries("");
}

Test(fifo, open_rejects_bad_flags, .timeout = 10) {
  const char *path = make_fifo("f");
  open_fails(path, 0, 0, IPC_EINVAL);
  open_fails(path, IPC_NONBLOCK, 0, IPC_EINVAL);
  open_fails(path, IPC_FIFO_READ | IPC_FIFO_WRITE, 0, IPC_EINVAL);
  open_fails(path, IPC_FIFO_READ | 0x1000, 0, IPC_EINVAL);
  open_fails(NULL, IPC_FIFO_READ, 0, IPC_EINVAL);
  assert_entries("f");
}

/* ------------------------------------------------- no peer: timeouts */

Test(fifo, a_nonblocking_writer_without_reader_gets_enxio_at_once,
     .timeout = 10) {
  const char *path = make_fifo("f");
  double ms = open_fails(path, IPC_FIFO_WRITE | IPC_NONBLOCK, -1, IPC_ENXIO);
  cr_assert_lt(ms, 100, "took %.1f ms", ms);
  assert_entries("f");
  cr_assert(S_ISFIFO(mode_of(path)));
}

Test(fifo, a_writer_without_reader_times_out_after_its_timeout, .timeout = 10) {
  const char *path = make_fifo("f");
  double ms = open_fails(path, IPC_FIFO_WRITE, 200, IPC_ETIMEDOUT);
  cr_assert(ms >= 199 && ms < 1000, "took %.1f ms for a 200 ms timeout", ms);
  /* The same with IPC_NONBLOCK: a timeout makes it wait. */
  ms = open_fails(path, IPC_FIFO_WRITE | IPC_NONBLOCK, 100, IPC_ETIMEDOUT);
  cr_assert(ms >= 99 && ms < 1000, "took %.1f ms for a 100 ms timeout", ms);
  ms = open_fails(path, IPC_FIFO_WRITE, 0, IPC_ETIMEDOUT);
  cr_assert_lt(ms, 100, "timeout 0 took %.1f ms", ms);
  assert_entries("f");
}

Test(fifo, a_reader_without_writer_times_out_after_its_timeout, .timeout = 10) {
  const char *path = make_fifo("f");
  double ms = open_fails(path, IPC_FIFO_READ, 200, IPC_ETIMEDOUT);
  cr_assert(ms >= 199 && ms < 1000, "took %.1f ms for a 200 ms timeout", ms);
  ms = open_fails(path, IPC_FIFO_READ, 0, IPC_ETIMEDOUT);
  cr_assert_lt(ms, 100, "timeout 0 took %.1f ms", ms);
  assert_entries("f");
}

/* CPU use is the system's business, but a wait that spins would show here:
 * a reader sleeps until an inotify event (one look a second at most), a
 * writer naps of at most 5 ms (a blocked reader sends no event). */
Test(fifo, waiting_for_the_peer_sleeps_rather_than_spins, .timeout = 10) {
  const char *path = make_fifo("f");
  struct rusage a, b;
  getrusage(RUSAGE_THREAD, &a);
  open_fails(path, IPC_FIFO_READ, 500, IPC_ETIMEDOUT);
  getrusage(RUSAGE_THREAD, &b);
  long wakeups = b.ru_nvcsw - a.ru_nvcsw;
  cr_assert_lt(wakeups, 10, "a reader woke %ld times in 500 ms", wakeups);
  getrusage(RUSAGE_THREAD, &a);
  open_fails(path, IPC_FIFO_WRITE, 500, IPC_ETIMEDOUT);
  getrusage(RUSAGE_THREAD, &b);
  wakeups = b.ru_nvcsw - a.ru_nvcsw;
  cr_assert_lt(wakeups, 200, "a writer woke %ld times in 500 ms", wakeups);
}

Test(fifo, a_nonblocking_reader_opens_at_once_and_sees_eof_until_a_writer,
     .timeout = 10) {
  const char *path = make_fifo("f");
  double t0 = tu_now_ms();
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  cr_assert_lt(tu_now_ms() - t0, 100);
  tu_assert_ret(ipc_pipe_get_blocking(r), 0);
  char buf[8];
  /* The kernel's answer while nobody writes: end of file, not EAGAIN. */
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_EOF);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 0);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_EAGAIN);
  tu_assert_ret(ipc_pipe_write(w, "ab", 2, 0), 2);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), 2);
  ipc_pipe_close(w);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_EOF);
  ipc_pipe_close(r);
}

/* ---------------------------------------------------- the peer comes */

Test(fifo, handles_are_pipe_ends_close_on_exec_and_blocking, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 1000);
  cr_assert_eq(ipc_pipe_is_writer(w), 1);
  cr_assert_eq(ipc_pipe_is_writer(r), 0);
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(w)), 1, "writer lacks FD_CLOEXEC");
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(r)), 1, "reader lacks FD_CLOEXEC");
  cr_assert_eq(fcntl(ipc_pipe_fd(w), F_GETFL) & O_ACCMODE, O_WRONLY);
  cr_assert_eq(fcntl(ipc_pipe_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
  tu_assert_ret(ipc_pipe_get_blocking(w), 1);
  ipc_pipe_t *r2 = fifo_open(path, IPC_FIFO_READ, 1000); /* w is there */
  tu_assert_ret(ipc_pipe_get_blocking(r2), 1);
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(r2)), 1);
  ipc_pipe_close(r2);
  ipc_pipe_close(w);
  ipc_pipe_close(r);
}

Test(fifo, nonblock_with_a_timeout_waits_then_gives_a_nonblocking_handle,
     .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE | IPC_NONBLOCK, 1000);
  tu_assert_ret(ipc_pipe_get_blocking(w), 0);
  ipc_pipe_t *r2 = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, 1000);
  tu_assert_ret(ipc_pipe_get_blocking(r2), 0);
  ipc_pipe_close(r2);
  ipc_pipe_close(w);
  ipc_pipe_close(r);
}

/* Opens the FIFO for writing with a plain blocking open(2) after `delay`
 * ms, then writes nothing until a byte comes through the FIFO "<path>.go";
 * then "data". */
static int late_raw_writer(const char *path, int delay) {
  usleep((useconds_t)delay * 1000);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return 1;
  char go[256];
  snprintf(go, sizeof go, "%s.go", path);
  int g = open(go, O_RDONLY | O_CLOEXEC);
  char c;
  if (g < 0 || read(g, &c, 1) != 1)
    return 2;
  if (write(fd, "data", 4) != 4)
    return 3;
  close(fd);
  return 0;
}

Test(fifo, a_reader_returns_once_a_writer_opens_before_anything_is_written,
     .timeout = 10) {
  const char *path = make_fifo("f");
  const char *go = make_fifo("f.go");
  ipc_proc_t *child = fork_child(late_raw_writer, path, 100);
  double t0 = tu_now_ms();
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  double ms = tu_now_ms() - t0;
  cr_assert(ms >= 50 && ms < 2000, "the open took %.1f ms", ms);
  /* Nothing was written yet: the writer waits for our word. */
  char buf[8];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  ipc_pipe_t *g = fifo_open(go, IPC_FIFO_WRITE, 5000);
  tu_assert_ret(ipc_pipe_write(g, "!", 1, 1000), 1);
  ipc_pipe_close(g);
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 4, 5000), 4);
  tu_assert_bytes(buf, 4, "data");
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 5000), IPC_EOF);
  ipc_pipe_close(r);
  reap_ok(child);
}

/* Opens the FIFO for writing after `delay` ms and closes it at once. */
static int late_silent_writer(const char *path, int delay) {
  usleep((useconds_t)delay * 1000);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return 1;
  close(fd);
  return 0;
}

Test(fifo, a_reader_returns_when_a_writer_came_and_went_and_reads_eof,
     .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_proc_t *child = fork_child(late_silent_writer, path, 100);
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  char buf[8];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 5000), IPC_EOF);
  ipc_pipe_close(r);
  reap_ok(child);
}

/* Opens the FIFO for reading with a plain blocking open(2) after `delay`
 * ms, and expects "hello" then end of file. */
static int late_raw_reader(const char *path, int delay) {
  usleep((useconds_t)delay * 1000);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 1;
  char buf[16];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fd, buf + got, sizeof buf - got)) > 0)
    got += (size_t)n;
  close(fd);
  return got == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : 2;
}

Test(fifo, a_writer_returns_once_a_blocking_reader_comes, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_proc_t *child = fork_child(late_raw_reader, path, 100);
  double t0 = tu_now_ms();
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 5000);
  double ms = tu_now_ms() - t0;
  cr_assert(ms >= 50 && ms < 2000, "the open took %.1f ms", ms);
  tu_assert_ret(ipc_pipe_write(w, "hello", 5, 1000), 5);
  ipc_pipe_close(w);
  reap_ok(child);
}

/* Opens the FIFO with libipc (non-blocking, so the writer's wait must end
 * on the inotify event or a nap) after `delay` ms; expects "hello". */
static int late_ipc_reader(const char *path, int delay) {
  usleep((useconds_t)delay * 1000);
  ipc_pipe_t *r;
  if (ipc_fifo_open(&r, path, IPC_FIFO_READ | IPC_NONBLOCK, -1) < 0)
    return 1;
  if (ipc_pipe_set_blocking(r, 1) < 0)
    return 2;
  const char *all;
  ssize_t n;
  /* Until the writer opened, reads see end of file: wait for the data. */
  struct pollfd pfd = {.fd = ipc_pipe_fd(r), .events = POLLIN, .revents = 0};
  if (poll(&pfd, 1, 5000) != 1)
    return 3;
  n = ipc_pipe_read_until(r, -1, SIZE_MAX, &all, 5000);
  int ok = n == 5 && memcmp(all, "hello", 5) == 0;
  ipc_pipe_close(r);
  return ok ? 0 : 4;
}

Test(fifo, a_writer_returns_once_a_libipc_reader_comes, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_proc_t *child = fork_child(late_ipc_reader, path, 100);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 5000);
  tu_assert_ret(ipc_pipe_write(w, "hello", 5, 1000), 5);
  ipc_pipe_close(w);
  reap_ok(child);
}

/* Both sides through libipc, in two processes, each waiting for the other:
 * lines and exact reads, and end of file once the writer is gone. */
static int ipc_writer(const char *path, int unused) {
  (void)unused;
  ipc_pipe_t *w;
  if (ipc_fifo_open(&w, path, IPC_FIFO_WRITE, 5000) < 0)
    return 1;
  static const char *parts[] = {"first line\nsec", "ond line\n", "0123",
                                "456789"};
  for (int i = 0; i < 4; i++) {
    usleep(5000);
    if (ipc_pipe_write(w, parts[i], strlen(parts[i]), 5000) < 0)
      return 2;
  }
  ipc_pipe_close(w);
  return 0;
}

Test(fifo, two_processes_exchange_lines_and_exact_reads_then_eof,
     .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_proc_t *child = fork_child(ipc_writer, path, 0);
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  const char *line;
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 5000);
  tu_assert_bytes(line, n, "first line\n");
  n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 5000);
  tu_assert_bytes(line, n, "second line\n");
  char buf[10];
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 10, 5000), 10);
  tu_assert_bytes(buf, 10, "0123456789");
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 1, 5000), IPC_EOF);
  ipc_pipe_close(r);
  reap_ok(child);
  assert_entries("f");
}

Test(fifo, end_of_file_comes_only_once_every_writer_has_closed, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  tu_assert_ret(ipc_pipe_set_blocking(r, 1), 0);
  ipc_pipe_t *w1 = fifo_open(path, IPC_FIFO_WRITE, 0);
  ipc_pipe_t *w2 = fifo_open(path, IPC_FIFO_WRITE, 0);
  tu_assert_ret(ipc_pipe_write(w1, "one ", 4, 0), 4);
  tu_assert_ret(ipc_pipe_write(w2, "two", 3, 0), 3);
  ipc_pipe_close(w1);
  char buf[16];
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 7, 1000), 7);
  tu_assert_bytes(buf, 7, "one two");
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 100), IPC_ETIMEDOUT);
  ipc_pipe_close(w2);
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 1000), IPC_EOF);
  ipc_pipe_close(r);
}

/* SIG_DFL on purpose: a SIGPIPE let through would kill the test. */
Test(fifo, writing_after_the_reader_closed_gives_epipe_not_a_signal,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 1000);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, 1000), 1);
  ipc_pipe_close(r);
  tu_assert_ret(ipc_pipe_write(w, "y", 1, 1000), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "y", 1, -1), IPC_EPIPE);
  ipc_pipe_close(w);
}

/* SIGPIPE ignored through libipc (writes may then use write(2)): EPIPE
 * still; made default again through libipc: a child writing under SIG_DFL
 * gets EPIPE and lives. */
Test(fifo, with_sigpipe_ignored_through_libipc_writing_gives_epipe_too,
     .timeout = 10) {
  signal(SIGPIPE, SIG_DFL);
  tu_assert_ret(ipc_signal_ignore(NULL, SIGPIPE), 0);
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 1000);
  tu_assert_ret(ipc_fifo_unlink(path), 0);
  tu_assert_ret(ipc_pipe_write(w, "x", 1, -1), 1);
  ipc_pipe_close(r);
  tu_assert_ret(ipc_pipe_write(w, "y", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_pipe_write(w, "y", 1, 1000), IPC_EPIPE);
  tu_assert_ret(ipc_signal_default(NULL, SIGPIPE), 0);
  tu_assert_child_write_gives_epipe(w);
  tu_assert_ret(ipc_pipe_write(w, "y", 1, -1), IPC_EPIPE);
  tu_assert_ret(ipc_signal_restore(NULL, SIGPIPE), 0);
  struct sigaction now;
  cr_assert_eq(sigaction(SIGPIPE, NULL, &now), 0);
  cr_assert(now.sa_handler == SIG_DFL, "SIGPIPE is not restored");
  ipc_pipe_close(w);
  assert_entries("");
}

/* ---------------------------------------------------------------- EINTR */

Test(fifo, a_signal_interrupts_a_waiting_open_with_eintr_leaving_nothing_open,
     .timeout = 10) {
  const char *path = make_fifo("f");
  tu_alarm_in(100);
  double ms = open_fails(path, IPC_FIFO_READ, 5000, IPC_EINTR);
  cr_assert_lt(ms, 2000);
  tu_alarm_in(100);
  ms = open_fails(path, IPC_FIFO_WRITE, 5000, IPC_EINTR);
  cr_assert_lt(ms, 2000);
  tu_alarm_in(100);
  open_fails(path, IPC_FIFO_WRITE, -1, IPC_EINTR);
  cr_assert_eq(tu_alarms, 3);
  assert_entries("f");
}

/* --------------------------------------------------------------- unlink */

Test(fifo, unlink_removes_a_fifo_and_open_handles_go_on, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ | IPC_NONBLOCK, -1);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 0);
  tu_assert_ret(ipc_fifo_unlink(path), 0);
  assert_entries("");
  tu_assert_ret(ipc_pipe_write(w, "still", 5, 1000), 5);
  char buf[8];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, 1000), 5);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
  tu_assert_ret(ipc_fifo_unlink(path), IPC_ENOENT);
}

Test(fifo, unlink_refuses_anything_but_a_fifo_and_keeps_it, .timeout = 10) {
  const char *file = make_file("file", "precious data\n");
  tu_assert_ret(ipc_fifo_unlink(file), IPC_EINVAL);
  assert_file_untouched(file, "precious data\n");
  make_fifo("f");
  cr_assert_eq(symlink("f", tpath("link")), 0);
  tu_assert_ret(ipc_fifo_unlink(tpath("link")), IPC_EINVAL);
  cr_assert_eq(mkdir(tpath("d"), 0700), 0);
  tu_assert_ret(ipc_fifo_unlink(tpath("d")), IPC_EINVAL);
  tu_assert_ret(ipc_fifo_unlink(NULL), IPC_EINVAL);
  assert_entries("d f file link");
}

/* ---------------------------------------------------------- other uids */

/* In a child: becomes nobody (uid and gid 65534). */
static void become_nobody(void) {
  if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
    _exit(90);
}

/* As nobody: every call on the root-owned 0600 FIFO is refused. */
static int nobody_is_refused(const char *path, int unused) {
  (void)unused;
  become_nobody();
  ipc_pipe_t *p;
  if (ipc_fifo_open(&p, path, IPC_FIFO_READ | IPC_NONBLOCK, -1) != IPC_EACCES)
    return 1;
  if (ipc_fifo_open(&p, path, IPC_FIFO_WRITE, 100) != IPC_EACCES)
    return 2;
  if (ipc_fifo_unlink(path) != IPC_EACCES) /* a directory of root's */
    return 3;
  char other[256];
  snprintf(other, sizeof other, "%s.nobody", path);
  if (ipc_fifo_create(other, 0) != IPC_EACCES)
    return 4;
  return 0;
}

Test(fifo, another_uid_gets_eacces_and_nothing_changes, .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  cr_assert_eq(chmod(tmpdir, 0755), 0);
  const char *path = make_fifo("f");
  int fds = tu_count_fds();
  reap_ok(fork_child(nobody_is_refused, path, 0));
  cr_assert_eq(tu_count_fds(), fds);
  cr_assert_eq(mode_of(path) & 07777, 0600);
  assert_entries("f");
}

/* As nobody, with write but no read permission on the FIFO: no inotify
 * watch is possible, so only the naps can find the reader. */
static int nobody_writes(const char *path, int unused) {
  (void)unused;
  become_nobody();
  ipc_pipe_t *w;
  if (ipc_fifo_open(&w, path, IPC_FIFO_WRITE, 5000) < 0)
    return 1;
  if (ipc_pipe_write(w, "hi", 2, 1000) != 2)
    return 2;
  ipc_pipe_close(w);
  return 0;
}

Test(fifo, a_writer_that_may_not_watch_the_fifo_still_finds_its_reader,
     .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  cr_assert_eq(chmod(tmpdir, 0755), 0);
  const char *path = tpath("f");
  tu_assert_ret(ipc_fifo_create(path, 0622), 0);
  ipc_proc_t *child = fork_child(nobody_writes, path, 0);
  usleep(100000); /* the writer is waiting by now */
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  char buf[4];
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 2, 5000), 2);
  tu_assert_bytes(buf, 2, "hi");
  ipc_pipe_close(r);
  reap_ok(child);
}

/* -------------------------------------------------------------- interop */

/* Runs argv with its stdout on a pipe; returns the process. */
static ipc_proc_t *spawn_out(const char *const argv[], ipc_pipe_t **out) {
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_NULL, IPC_STDIO_PIPE, IPC_STDIO_INHERIT},
      .search_path = 1};
  ipc_proc_t *proc;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, &opts));
  *out = ipc_proc_take_stdio(proc, 1);
  cr_assert_not_null(*out);
  return proc;
}

Test(fifo, cat_reads_what_libipc_writes, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *out;
  const char *argv[] = {"cat", path, NULL};
  ipc_proc_t *cat = spawn_out(argv, &out);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 5000);
  tu_assert_ret(ipc_pipe_write(w, "to cat\n", 7, 1000), 7);
  ipc_pipe_close(w);
  const char *all;
  ssize_t n = ipc_pipe_read_until(out, -1, SIZE_MAX, &all, 5000);
  tu_assert_bytes(all, n, "to cat\n");
  ipc_pipe_close(out);
  reap_ok(cat);
}

Test(fifo, libipc_reads_what_echo_writes, .timeout = 10) {
  const char *path = make_fifo("f");
  ipc_pipe_t *out;
  const char *argv[] = {"sh", "-c", "echo from echo > \"$0\"", path, NULL};
  ipc_proc_t *sh = spawn_out(argv, &out);
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  const char *line;
  ssize_t n = ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 5000);
  tu_assert_bytes(line, n, "from echo\n");
  tu_assert_ret(ipc_pipe_read_until(r, '\n', SIZE_MAX, &line, 5000), IPC_EOF);
  ipc_pipe_close(r);
  ipc_pipe_close(out);
  reap_ok(sh);
}

/* tests/interop/fifo_peer.py, found from this program's place in
 * build/<lua>/<config>/tests/. */
static const char *python_peer(void) {
  static char path[PATH_MAX + 64];
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  cr_assert_gt(n, 0);
  exe[n] = '\0';
  *strrchr(exe, '/') = '\0';
  snprintf(path, sizeof path, "%s/../../../../tests/interop/fifo_peer.py", exe);
  cr_assert_eq(access(path, R_OK), 0, "no peer at %s", path);
  return path;
}

Test(fifo, a_fifo_made_by_python_carries_bytes_both_ways, .timeout = 10) {
  const char *peer = python_peer();
  const char *path = tpath("py");
  ipc_pipe_t *out;
  const char *mk[] = {"python3", peer, "mkfifo", path, NULL};
  ipc_proc_t *py = spawn_out(mk, &out);
  ipc_pipe_close(out);
  reap_ok(py);
  cr_assert(S_ISFIFO(mode_of(path)), "python made no FIFO");

  /* Python writes, libipc reads. */
  const char *wr[] = {"python3", peer, "write", path, "from python", NULL};
  py = spawn_out(wr, &out);
  ipc_pipe_t *r = fifo_open(path, IPC_FIFO_READ, 5000);
  const char *all;
  ssize_t n = ipc_pipe_read_until(r, -1, SIZE_MAX, &all, 5000);
  tu_assert_bytes(all, n, "from python");
  ipc_pipe_close(r);
  ipc_pipe_close(out);
  reap_ok(py);

  /* libipc writes, Python reads and prints. */
  const char *rd[] = {"python3", peer, "read", path, NULL};
  py = spawn_out(rd, &out);
  ipc_pipe_t *w = fifo_open(path, IPC_FIFO_WRITE, 5000);
  tu_assert_ret(ipc_pipe_write(w, "from libipc", 11, 1000), 11);
  ipc_pipe_close(w);
  n = ipc_pipe_read_until(out, -1, SIZE_MAX, &all, 5000);
  tu_assert_bytes(all, n, "from libipc");
  ipc_pipe_close(out);
  reap_ok(py);
  tu_assert_ret(ipc_fifo_unlink(path), 0);
  assert_entries("");
}
