/* tests/c/proc.c: child processes (ipc_proc_*): fork and spawn, the exit
 * status in each way a child can end, waits with timeouts that sleep rather
 * than spin, EINTR, the pidfd, the stdio pipes and spawn options, and the
 * errors, with no child and no zombie left behind. */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>

TestSuite(proc, .fini = tu_cleanup);

/* Forks a child that waits for a signal; it dies with this process. */
static ipc_proc_t *fork_sleeper(void) {
  ipc_proc_t *proc;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&proc);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    for (;;)
      pause();
  }
  return proc;
}

/* Waits for proc (5 s at most) and returns its status, asserted. */
static ipc_proc_status_t reap(ipc_proc_t *proc) {
  ipc_proc_status_t st;
  memset(&st, 0xff, sizeof st);
  tu_assert_ret(ipc_proc_wait(proc, &st, 5000), 0);
  return st;
}

static void assert_exited(ipc_proc_status_t st, int code) {
  cr_assert_eq(st.state, IPC_PROC_EXITED, "state %d, signal %d", st.state,
               st.signal);
  cr_assert_eq(st.code, code);
  cr_assert_eq(st.signal, 0);
  cr_assert_eq(st.core_dumped, 0);
}

static void assert_signaled(ipc_proc_status_t st, int sig) {
  cr_assert_eq(st.state, IPC_PROC_SIGNALED, "state %d, code %d", st.state,
               st.code);
  cr_assert_eq(st.signal, sig, "killed by %d, want %d", st.signal, sig);
}

/* Reads a stream to its end (5 s at most) and compares it with `want`. */
static void assert_output(ipc_pipe_t *p, const char *want) {
  const char *out = "";
  ssize_t n = ipc_pipe_read_until(p, -1, SIZE_MAX, &out, 5000);
  if (n == IPC_EOF) /* an empty stream */
    n = 0, out = "";
  tu_assert_ok(n);
  tu_assert_bytes(out, n, want);
}

/* Spawns argv with opts, stdin on /dev/null and stdout on a pipe, and
 * checks what it writes there and its exit code. */
static void run(const char *const argv[], ipc_spawn_opts_t *opts,
                const char *want_out, int want_code) {
  ipc_proc_t *proc;
  opts->stdio[0] = IPC_STDIO_NULL;
  opts->stdio[1] = IPC_STDIO_PIPE;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, opts));
  ipc_pipe_t *out = ipc_proc_take_stdio(proc, 1);
  cr_assert_not_null(out);
  assert_output(out, want_out);
  assert_exited(reap(proc), want_code);
  ipc_pipe_close(out);
  ipc_proc_close(proc);
}

Test(proc, fork_gives_the_child_zero_and_no_handle, .timeout = 10) {
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&proc);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(proc == NULL && getppid() == parent ? 0 : 1);
  }
  cr_assert_gt(pid, 0);
  cr_assert_not_null(proc);
  cr_assert_eq(ipc_proc_pid(proc), pid);
  assert_exited(reap(proc), 0);
  ipc_proc_close(proc);
  tu_assert_no_children();
}

Test(proc, wait_reports_the_exit_code, .timeout = 10) {
  ipc_proc_t *proc;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&proc);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(42);
  }
  ipc_proc_status_t st = reap(proc);
  assert_exited(st, 42);
  ipc_proc_close(proc);
}

Test(proc, wait_reports_the_signal_that_killed_the_child, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  ipc_proc_status_t st;
  ipc_proc_status(proc, &st);
  cr_assert_eq(st.state, IPC_PROC_RUNNING);
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  assert_signaled(reap(proc), SIGKILL);
  ipc_proc_status(proc, &st);
  assert_signaled(st, SIGKILL);
  ipc_proc_close(proc);
}

Test(proc, a_child_that_aborts_is_signaled_by_sigabrt, .timeout = 10) {
  ipc_proc_t *proc;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&proc);
  tu_assert_ok(pid);
  if (pid == 0) {
    /* No core file: neither a limit nor a pipe in core_pattern may write
     * one, so core_dumped must be 0. */
    tu_child_begin(parent);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0);
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  ipc_proc_status_t st = reap(proc);
  assert_signaled(st, SIGABRT);
  cr_assert_eq(st.core_dumped, 0);
  cr_assert_eq(st.code, 0);
  ipc_proc_close(proc);
}

Test(proc, wait_times_out_on_a_child_that_runs_on, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  ipc_proc_status_t st;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_proc_wait(proc, &st, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50.0);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_proc_wait(proc, &st, 100), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 100.0 && dt < 1000.0, "a 100 ms wait took %.1f ms", dt);
  /* Still there, and still ours to wait for. */
  cr_assert_eq(kill(ipc_proc_pid(proc), 0), 0);
  ipc_proc_status(proc, &st);
  cr_assert_eq(st.state, IPC_PROC_RUNNING);
  tu_assert_ret(ipc_proc_kill(proc, SIGTERM), 0);
  assert_signaled(reap(proc), SIGTERM);
  ipc_proc_close(proc);
  tu_assert_no_children();
}

Test(proc, a_timed_wait_sleeps_instead_of_spinning, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_proc_wait(proc, NULL, 300), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  getrusage(RUSAGE_SELF, &after);
  double cpu =
      (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1e3 +
      (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e3 +
      (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e3 +
      (double)(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e3;
  cr_assert_geq(dt, 300.0);
  cr_assert_lt(cpu, 100.0, "a 300 ms wait used %.1f ms of CPU", cpu);
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  assert_signaled(reap(proc), SIGKILL);
  ipc_proc_close(proc);
}

Test(proc, spawn_with_pipes_on_all_three_streams, .timeout = 10) {
  const char *const argv[] = {"sh", "-c", "cat; echo err >&2", NULL};
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_PIPE, IPC_STDIO_PIPE, IPC_STDIO_PIPE},
      .search_path = 1};
  ipc_proc_t *proc;
  pid_t pid = ipc_proc_spawn(&proc, argv, &opts);
  tu_assert_ok(pid);
  cr_assert_gt(pid, 0);
  cr_assert_eq(ipc_proc_pid(proc), pid);
  ipc_pipe_t *in = ipc_proc_take_stdio(proc, 0);
  ipc_pipe_t *out = ipc_proc_take_stdio(proc, 1);
  ipc_pipe_t *err = ipc_proc_take_stdio(proc, 2);
  cr_assert(in && out && err);
  cr_assert_eq(ipc_pipe_is_writer(in), 1);
  cr_assert_eq(ipc_pipe_is_writer(out), 0);
  cr_assert_eq(ipc_pipe_is_writer(err), 0);
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(in)), 1);
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(out)), 1);
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(err)), 1);
  tu_assert_ret(ipc_pipe_write(in, "hello\nworld\n", 12, 5000), 12);
  tu_assert_ret(ipc_pipe_close(in), 0);
  assert_output(out, "hello\nworld\n");
  assert_output(err, "err\n");
  assert_exited(reap(proc), 0);
  ipc_pipe_close(out);
  ipc_pipe_close(err);
  ipc_proc_close(proc);
  tu_assert_no_children();
}

/* How many of process pid's descriptors point at the same object as its
 * descriptor fd ("pipe:[inode]" is one pipe, both ends). */
static int count_same(pid_t pid, int fd) {
  char path[320], want[256], got[256];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
  ssize_t n = readlink(path, want, sizeof want - 1);
  cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
  want[n] = 0;
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *dir = opendir(path);
  cr_assert_not_null(dir);
  int count = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, e->d_name);
    n = readlink(path, got, sizeof got - 1);
    if (n > 0 && (got[n] = 0, strcmp(got, want) == 0))
      count++;
  }
  closedir(dir);
  return count;
}

Test(proc, spawned_child_holds_none_of_the_parent_pipe_ends, .timeout = 10) {
  /* Were the parent's end of a pipe inherited, that pipe would show twice
   * among the child's descriptors (and cat would never see end of file). */
  const char *const argv[] = {"cat", NULL};
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_PIPE, IPC_STDIO_PIPE, IPC_STDIO_PIPE},
      .search_path = 1};
  ipc_proc_t *proc;
  pid_t pid = ipc_proc_spawn(&proc, argv, &opts);
  tu_assert_ok(pid);
  ipc_pipe_t *in = ipc_proc_take_stdio(proc, 0);
  ipc_pipe_t *out = ipc_proc_take_stdio(proc, 1);
  ipc_pipe_t *err = ipc_proc_take_stdio(proc, 2);
  for (int fd = 0; fd < 3; fd++)
    cr_assert_eq(count_same(pid, fd), 1, "the pipe on fd %d shows %d times", fd,
                 count_same(pid, fd));
  ipc_pipe_close(in);
  assert_output(out, "");
  assert_output(err, "");
  assert_exited(reap(proc), 0);
  ipc_proc_close(proc);
  ipc_pipe_close(out);
  ipc_pipe_close(err);
}

Test(proc, spawn_with_stdio_null_gives_dev_null, .timeout = 10) {
  /* stdin /dev/null: cat ends at once. stderr /dev/null: the shell's
   * descriptor 2 points there. */
  const char *const argv[] = {"sh", "-c",
                              "cat; echo done; readlink /proc/$$/fd/2", NULL};
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_NULL, IPC_STDIO_PIPE, IPC_STDIO_NULL},
      .search_path = 1};
  ipc_proc_t *proc;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, &opts));
  cr_assert_null(ipc_proc_take_stdio(proc, 0));
  cr_assert_null(ipc_proc_take_stdio(proc, 2));
  ipc_pipe_t *out = ipc_proc_take_stdio(proc, 1);
  assert_output(out, "done\n/dev/null\n");
  assert_exited(reap(proc), 0);
  ipc_pipe_close(out);
  ipc_proc_close(proc);
}

Test(proc, spawn_with_stdio_fd_uses_the_callers_descriptor, .timeout = 10) {
  ipc_pipe_t *r, *w;
  tu_assert_ret(ipc_pipe_create(&r, &w, 0), 0);
  const char *const argv[] = {"sh", "-c", "echo via-fd", NULL};
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_NULL, IPC_STDIO_FD, IPC_STDIO_INHERIT},
      .fd = {-1, ipc_pipe_fd(w), -1},
      .search_path = 1};
  ipc_proc_t *proc;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, &opts));
  cr_assert_null(ipc_proc_take_stdio(proc, 1));
  /* The caller keeps its descriptor, open and close-on-exec. */
  cr_assert_eq(tu_cloexec(ipc_pipe_fd(w)), 1);
  assert_exited(reap(proc), 0);
  ipc_pipe_close(w);
  assert_output(r, "via-fd\n");
  ipc_pipe_close(r);
  ipc_proc_close(proc);
}

Test(proc, spawn_runs_in_the_given_directory, .timeout = 10) {
  const char *const argv[] = {"pwd", NULL};
  ipc_spawn_opts_t opts = {.cwd = "/proc", .search_path = 1};
  run(argv, &opts, "/proc\n", 0);
  char here[4096];
  cr_assert_not_null(getcwd(here, sizeof here));
  cr_assert_str_neq(here, "/proc", "the parent moved too");
}

Test(proc, spawn_uses_the_given_environment_only, .timeout = 10) {
  setenv("IPC_TEST_PARENT_ONLY", "1", 1);
  const char *const argv[] = {
      "/bin/sh", "-c", "echo \"$IPC_TEST_VAR:${IPC_TEST_PARENT_ONLY-unset}\"",
      NULL};
  char *const env[] = {"IPC_TEST_VAR=hello", NULL};
  ipc_spawn_opts_t opts = {.envp = env};
  run(argv, &opts, "hello:unset\n", 0);
  /* NULL: the parent's environment. */
  ipc_spawn_opts_t inherit = {.envp = NULL};
  run(argv, &inherit, ":1\n", 0);
}

Test(proc, spawn_searches_path_only_when_asked, .timeout = 10) {
  const char *const argv[] = {"sh", "-c", "exit 7", NULL};
  ipc_spawn_opts_t opts = {.cwd = "/", .search_path = 1};
  run(argv, &opts, "", 7);
  /* Without the search, "sh" is a file name in the current directory
   * (there is no /sh). */
  ipc_spawn_opts_t nosearch = {.cwd = "/", .search_path = 0};
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, argv, &nosearch), IPC_ENOENT);
  cr_assert_null(proc);
  /* A path with a slash needs no search. */
  const char *const abs[] = {"/bin/sh", "-c", "exit 8", NULL};
  run(abs, &nosearch, "", 8);
  tu_assert_no_children();
}

Test(proc, spawn_with_null_opts_inherits_and_searches_path, .timeout = 10) {
  const char *const argv[] = {"true", NULL};
  ipc_proc_t *proc;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, NULL));
  for (int i = 0; i < 3; i++)
    cr_assert_null(ipc_proc_take_stdio(proc, i));
  assert_exited(reap(proc), 0);
  ipc_proc_close(proc);
}

Test(proc, spawn_of_a_missing_program_returns_enoent_and_leaves_no_child,
     .timeout = 10) {
  int before = tu_count_fds();
  const char *const missing[] = {"/nonexistent/ipc-test-no-such-program", NULL};
  const char *const unsearched[] = {"ipc-test-no-such-program", NULL};
  ipc_spawn_opts_t pipes = {
      .stdio = {IPC_STDIO_PIPE, IPC_STDIO_PIPE, IPC_STDIO_PIPE},
      .search_path = 1};
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, missing, NULL), IPC_ENOENT);
  cr_assert_null(proc);
  proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, unsearched, &pipes), IPC_ENOENT);
  cr_assert_null(proc);
  tu_assert_no_children();
  cr_assert_eq(tu_count_fds(), before, "the failed spawns leaked %d fds",
               tu_count_fds() - before);
}

Test(proc, spawn_of_a_file_without_exec_permission_returns_eacces,
     .timeout = 10) {
  const char *const argv[] = {"/etc/passwd", NULL};
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, argv, NULL), IPC_EACCES);
  cr_assert_null(proc);
  tu_assert_no_children();
}

Test(proc, spawn_with_an_empty_argv_returns_einval, .timeout = 10) {
  const char *const empty[] = {NULL};
  const char *const blank[] = {"", NULL};
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, empty, NULL), IPC_EINVAL);
  cr_assert_null(proc);
  proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, NULL, NULL), IPC_EINVAL);
  cr_assert_null(proc);
  proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, blank, NULL), IPC_EINVAL);
  cr_assert_null(proc);
  /* And a stdio setting that does not exist. */
  const char *const argv[] = {"true", NULL};
  ipc_spawn_opts_t bad = {
      .stdio = {IPC_STDIO_INHERIT, (ipc_stdio_t)7, IPC_STDIO_INHERIT},
      .search_path = 1};
  proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_spawn(&proc, argv, &bad), IPC_EINVAL);
  cr_assert_null(proc);
  tu_assert_no_children();
}

Test(proc, kill_after_the_child_is_reaped_returns_esrch, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  tu_assert_ret(ipc_proc_kill(proc, 0), 0);
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  reap(proc);
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), IPC_ESRCH);
  tu_assert_ret(ipc_proc_kill(proc, 0), IPC_ESRCH);
  ipc_proc_close(proc);
}

Test(proc, kill_with_a_bad_signal_returns_einval, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  tu_assert_ret(ipc_proc_kill(proc, -1), IPC_EINVAL);
  tu_assert_ret(ipc_proc_kill(proc, 100000), IPC_EINVAL);
  tu_assert_ret(ipc_proc_wait(proc, NULL, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  reap(proc);
  ipc_proc_close(proc);
}

Test(proc, a_second_wait_returns_the_same_status, .timeout = 10) {
  ipc_proc_t *proc;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&proc);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(3);
  }
  assert_exited(reap(proc), 3);
  tu_assert_no_children();
  /* Reaped already: no system call can answer, the handle does. */
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(proc, &st, -1), 0);
  assert_exited(st, 3);
  tu_assert_ret(ipc_proc_wait(proc, &st, 0), 0);
  assert_exited(st, 3);
  tu_assert_ret(ipc_proc_wait(proc, NULL, 0), 0);
  ipc_proc_close(proc);
}

Test(proc, proc_fd_is_a_pollable_pidfd, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  int fd = ipc_proc_fd(proc);
  cr_assert_geq(fd, 0);
  cr_assert_eq(tu_cloexec(fd), 1);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  cr_assert_eq(poll(&pfd, 1, 0), 0, "readable while the child runs");
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  cr_assert_eq(poll(&pfd, 1, 5000), 1);
  cr_assert(pfd.revents & POLLIN);
  /* Readable, not reaped: the wait still has it to collect. */
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(proc, &st, 0), 0);
  assert_signaled(st, SIGKILL);
  ipc_proc_close(proc);
}

Test(proc, take_stdio_gives_each_end_once, .timeout = 10) {
  const char *const argv[] = {"true", NULL};
  ipc_spawn_opts_t opts = {
      .stdio = {IPC_STDIO_INHERIT, IPC_STDIO_PIPE, IPC_STDIO_INHERIT},
      .search_path = 1};
  ipc_proc_t *proc;
  tu_assert_ok(ipc_proc_spawn(&proc, argv, &opts));
  ipc_pipe_t *out = ipc_proc_take_stdio(proc, 1);
  cr_assert_not_null(out);
  cr_assert_null(ipc_proc_take_stdio(proc, 1));
  cr_assert_null(ipc_proc_take_stdio(proc, 0));
  cr_assert_null(ipc_proc_take_stdio(proc, 3));
  cr_assert_null(ipc_proc_take_stdio(proc, -1));
  assert_exited(reap(proc), 0);
  ipc_pipe_close(out);
  ipc_proc_close(proc);
}

Test(proc, a_signal_interrupts_a_wait_with_eintr, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  ipc_proc_status_t st;
  tu_alarm_in(50);
  tu_assert_ret(ipc_proc_wait(proc, &st, -1), IPC_EINTR);
  tu_alarm_in(50);
  tu_assert_ret(ipc_proc_wait(proc, &st, 5000), IPC_EINTR);
  cr_assert_eq(tu_alarms, 2);
  ipc_proc_status(proc, &st);
  cr_assert_eq(st.state, IPC_PROC_RUNNING);
  /* Still waitable. */
  tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
  assert_signaled(reap(proc), SIGKILL);
  ipc_proc_close(proc);
  tu_assert_no_children();
}

Test(proc, from_pid_wraps_a_child_made_with_fork, .timeout = 10) {
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(7);
  }
  ipc_proc_t *proc;
  tu_assert_ret(ipc_proc_from_pid(&proc, pid), 0);
  cr_assert_eq(ipc_proc_pid(proc), pid);
  cr_assert_geq(ipc_proc_fd(proc), 0);
  assert_exited(reap(proc), 7);
  ipc_proc_close(proc);
  tu_assert_no_children();
}

Test(proc, from_pid_of_a_process_that_is_not_our_child_returns_echild,
     .timeout = 10) {
  ipc_proc_t *proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_from_pid(&proc, 1), IPC_ECHILD);
  cr_assert_null(proc);
  proc = (ipc_proc_t *)&proc;
  tu_assert_ret(ipc_proc_from_pid(&proc, getppid()), IPC_ECHILD);
  cr_assert_null(proc);
}

Test(proc, close_neither_kills_nor_reaps, .timeout = 10) {
  ipc_proc_t *proc = fork_sleeper();
  pid_t pid = ipc_proc_pid(proc);
  tu_assert_ret(ipc_proc_close(proc), 0);
  tu_assert_ret(ipc_proc_close(NULL), 0);
  usleep(20000);
  cr_assert_eq(kill(pid, 0), 0, "the child is gone");
  int status;
  cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the child has ended");
  kill(pid, SIGKILL);
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

Test(proc, no_descriptor_is_leaked, .timeout = 10) {
  int before = tu_count_fds();
  for (int i = 0; i < 10; i++) {
    ipc_proc_t *proc = fork_sleeper();
    tu_assert_ret(ipc_proc_kill(proc, SIGKILL), 0);
    reap(proc);
    ipc_proc_close(proc);
    /* Pipes not taken are closed with the handle. */
    const char *const argv[] = {"true", NULL};
    ipc_spawn_opts_t opts = {
        .stdio = {IPC_STDIO_PIPE, IPC_STDIO_PIPE, IPC_STDIO_PIPE},
        .search_path = 1};
    tu_assert_ok(ipc_proc_spawn(&proc, argv, &opts));
    reap(proc);
    ipc_proc_close(proc);
  }
  cr_assert_eq(tu_count_fds(), before, "%d descriptors leaked",
               tu_count_fds() - before);
  tu_assert_no_children();
}
