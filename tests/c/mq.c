/* tests/c/mq.c: POSIX message queues (ipc_mq_*) made for real and shared
 * with real children: attributes, priorities, timeouts on CLOCK_MONOTONIC,
 * EINTR, non-blocking mode, poll, exact modes, the system limits named by
 * ipc_mq_which_limit, and every bad input. Each test registers the names it
 * uses; the suite's fini unlinks them even after a failure. */
#include "testutil.h"

#include <grp.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* --------------------------------------------------------------- cleanup */

#define MAX_NAMES 16
static char made_names[MAX_NAMES][64];
static int n_names;

/* A name unique to this test process ("/libipc-test-<pid>-tag"), removed
 * now if a previous run left it, and by the fini whatever happens. */
static const char *tname(const char *tag) {
  cr_assert_lt(n_names, MAX_NAMES);
  char *name = made_names[n_names++];
  snprintf(name, 64, "/libipc-test-%d-%s", (int)getpid(), tag);
  mq_unlink(name);
  return name;
}

static void cleanup(void) {
  for (int i = 0; i < n_names; i++)
    mq_unlink(made_names[i]);
  tu_cleanup();
}

TestSuite(mq, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

/* Whether a queue has the name: asked of the kernel (open without create),
 * which needs no /dev/mqueue mount. */
static int exists(const char *name) {
  mqd_t q = mq_open(name, O_RDONLY);
  if (q >= 0) {
    mq_close(q);
    return 1;
  }
  cr_assert(errno == ENOENT || errno == EINVAL, "mq_open %s: %s", name,
            strerror(errno));
  return 0;
}

/* A queue of maxmsg messages of msgsize bytes, asserted. */
static ipc_mq_t *make(const char *name, long maxmsg, long msgsize) {
  ipc_mq_attr_t attr = {.maxmsg = maxmsg, .msgsize = msgsize};
  ipc_mq_t *mq;
  tu_assert_ret(ipc_mq_create(&mq, name, &attr, 0), 0);
  cr_assert_not_null(mq);
  return mq;
}

/* The same, for a test that needs no name: unlinked at once, so that
 * nothing is left even when Criterion kills the test (a timeout skips the
 * fini). */
static ipc_mq_t *make_nameless(const char *tag, long maxmsg, long msgsize) {
  const char *name = tname(tag);
  ipc_mq_t *mq = make(name, maxmsg, msgsize);
  tu_assert_ret(ipc_mq_unlink(name), 0);
  return mq;
}

static long curmsgs(ipc_mq_t *mq) {
  ipc_mq_attr_t attr;
  tu_assert_ret(ipc_mq_get_attr(mq, &attr), 0);
  return attr.curmsgs;
}

/* Waits for pid and asserts that it exited with 0. */
static void expect_child_ok(pid_t pid) {
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "child failed: status 0x%x (exit %d, signal %d)", st,
            WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* In a child: becomes nobody (uid and gid 65534), who has no capability, so
 * that the /proc limits apply whatever the tests run as. */
static void become_nobody(void) {
  if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
    _exit(90);
}

/* SIGALRM every ms milliseconds (to tu_alarm_in's handler) until
 * alarm_stop. A signal that comes while a timed wait is between two tries,
 * rather than asleep, interrupts nothing (as one that comes just before
 * any system call): the test keeps sending until one lands in the wait. */
static void alarm_every(int ms) {
  tu_alarm_in(ms);
  struct itimerval it = {{0, ms * 1000}, {0, ms * 1000}};
  cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void alarm_stop(void) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static long proc_number(const char *file) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  long v;
  cr_assert_eq(fscanf(f, "%ld", &v), 1);
  fclose(f);
  return v;
}

/* --------------------------------------------------- create, open, attrs */

Test(mq, create_gives_a_pollable_close_on_exec_descriptor_and_exact_mode,
     .timeout = 10) {
  const char *name = tname("basic");
  mode_t old = umask(077);
  ipc_mq_t *mq;
  ipc_mq_attr_t attr = {.maxmsg = 4, .msgsize = 100};
  tu_assert_ret(ipc_mq_create(&mq, name, &attr, 0644), 0);
  umask(old);
  cr_assert(exists(name));
  cr_assert_str_eq(ipc_mq_name(mq), name);
  int fd = ipc_mq_fd(mq);
  cr_assert_eq(tu_cloexec(fd), 1, "the queue's descriptor lacks FD_CLOEXEC");
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0644, "mode %o despite umask 077",
               st.st_mode & 0777);
  tu_assert_ret(ipc_mq_get_blocking(mq), 1);

  struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
  cr_assert_eq(poll(&pfd, 1, 0), 1);
  cr_assert_eq(pfd.revents, POLLOUT, "empty: room, nothing to read");
  tu_assert_ret(ipc_mq_send(mq, "x", 1, 0, 0), 0);
  cr_assert_eq(poll(&pfd, 1, 0), 1);
  cr_assert_eq(pfd.revents, POLLIN | POLLOUT);
  for (int i = 0; i < 3; i++)
    tu_assert_ret(ipc_mq_send(mq, "x", 1, 0, 0), 0);
  cr_assert_eq(poll(&pfd, 1, 0), 1);
  cr_assert_eq(pfd.revents, POLLIN, "full: no room");

  tu_assert_ret(ipc_mq_close(mq), 0);
  cr_assert(exists(name), "close never removes the name");
  tu_assert_ret(ipc_mq_unlink(name), 0);
  cr_assert_not(exists(name));
  tu_assert_ret(ipc_mq_unlink(name), IPC_ENOENT);
  tu_assert_ret(ipc_mq_close(NULL), 0);
}

Test(mq, create_mode_zero_means_0600, .timeout = 10) {
  const char *name = tname("mode0");
  ipc_mq_t *mq;
  tu_assert_ret(ipc_mq_create(&mq, name, NULL, 0), 0);
  struct stat st;
  cr_assert_eq(fstat(ipc_mq_fd(mq), &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  ipc_mq_close(mq);
}

Test(mq, attributes_given_are_kept_and_zero_means_the_default, .timeout = 10) {
  ipc_mq_limits_t lim;
  tu_assert_ret(ipc_mq_get_limits(&lim), 0);
  long def_n = lim.msg_default < lim.msg_max ? lim.msg_default : lim.msg_max;
  long def_size = lim.msgsize_default < lim.msgsize_max ? lim.msgsize_default
                                                        : lim.msgsize_max;
  ipc_mq_attr_t a;

  ipc_mq_t *mq = make_nameless("attr", 3, 50);
  tu_assert_ret(ipc_mq_get_attr(mq, &a), 0);
  cr_assert(a.maxmsg == 3 && a.msgsize == 50 && a.curmsgs == 0);
  ipc_mq_close(mq);

  mq = make_nameless("attr-nsize", 2, 0);
  tu_assert_ret(ipc_mq_get_attr(mq, &a), 0);
  cr_assert(a.maxmsg == 2 && a.msgsize == def_size, "got %ld x %ld", a.maxmsg,
            a.msgsize);
  ipc_mq_close(mq);

  mq = make_nameless("attr-nmax", 0, 64);
  tu_assert_ret(ipc_mq_get_attr(mq, &a), 0);
  cr_assert(a.maxmsg == def_n && a.msgsize == 64);
  ipc_mq_close(mq);

  const char *name = tname("attr-null");
  tu_assert_ret(ipc_mq_create(&mq, name, NULL, 0), 0);
  tu_assert_ret(ipc_mq_get_attr(mq, &a), 0);
  cr_assert(a.maxmsg == def_n && a.msgsize == def_size);
  ipc_mq_close(mq);
}

Test(mq, create_is_exclusive_and_leaves_the_existing_queue_alone,
     .timeout = 10) {
  const char *name = tname("excl");
  ipc_mq_t *a = make(name, 2, 8), *b;
  tu_assert_ret(ipc_mq_send(a, "kept", 4, 0, 0), 0);
  tu_assert_ret(ipc_mq_create(&b, name, NULL, 0), IPC_EEXIST);
  cr_assert_null(b);
  cr_assert_eq(curmsgs(a), 1, "the existing queue lost its message");
  ipc_mq_close(a);
}

Test(mq, open_finds_the_queue_and_its_direction_is_enforced, .timeout = 10) {
  const char *name = tname("open");
  ipc_mq_t *mq = make(name, 2, 8), *r, *w, *rw;
  tu_assert_ret(ipc_mq_open(&r, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_mq_open(&w, name, IPC_WRONLY), 0);
  tu_assert_ret(ipc_mq_open(&rw, name, 0), 0);
  cr_assert_eq(tu_cloexec(ipc_mq_fd(r)), 1);
  char buf[8];
  tu_assert_ret(ipc_mq_send(r, "a", 1, 0, 0), IPC_EBADF);
  tu_assert_ret(ipc_mq_receive(w, buf, sizeof buf, NULL, 0), IPC_EBADF);
  tu_assert_ret(ipc_mq_send(w, "b", 1, 0, 0), 0);
  tu_assert_ret(ipc_mq_receive(r, buf, sizeof buf, NULL, 0), 1);
  cr_assert_eq(buf[0], 'b');
  ipc_mq_close(r);
  ipc_mq_close(w);
  ipc_mq_close(rw);
  ipc_mq_close(mq);
  tu_assert_ret(ipc_mq_open(&r, tname("missing"), 0), IPC_ENOENT);
  cr_assert_null(r);
  tu_assert_ret(ipc_mq_open(&r, name, IPC_RDONLY | IPC_WRONLY), IPC_EINVAL);
  tu_assert_ret(ipc_mq_open(&r, name, 0x100), IPC_EINVAL);
}

Test(mq, unlink_leaves_open_handles_working, .timeout = 10) {
  const char *name = tname("unlinked");
  ipc_mq_t *mq = make(name, 2, 8);
  tu_assert_ret(ipc_mq_unlink(name), 0);
  cr_assert_not(exists(name));
  tu_assert_ret(ipc_mq_send(mq, "still", 5, 1, 0), 0);
  char buf[8];
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), 5);
  ipc_mq_close(mq);
}

/* ----------------------------------------------------- send and receive */

Test(mq, messages_come_out_by_priority_then_in_order, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("prio", 8, 16);
  static const struct {
    const char *text;
    unsigned prio;
  } in[] = {{"low1", 1},
            {"high", 9},
            {"low2", 1},
            {"zero", 0},
            {"max", IPC_MQ_PRIO_MAX - 1}};
  for (size_t i = 0; i < 5; i++)
    tu_assert_ret(
        ipc_mq_send(mq, in[i].text, strlen(in[i].text), in[i].prio, 0), 0);
  static const char *const want[] = {"max", "high", "low1", "low2", "zero"};
  static const unsigned want_prio[] = {IPC_MQ_PRIO_MAX - 1, 9, 1, 1, 0};
  for (int i = 0; i < 5; i++) {
    char buf[16];
    unsigned prio = 12345;
    ssize_t n = ipc_mq_receive(mq, buf, sizeof buf, &prio, 0);
    tu_assert_bytes(buf, n, want[i]);
    cr_assert_eq(prio, want_prio[i], "message %d: priority %u", i, prio);
  }
  ipc_mq_close(mq);
}

Test(mq, empty_and_binary_messages_arrive_unchanged, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("bytes", 2, 16);
  static const char bin[] = "a\0b\xff";
  char buf[16];
  tu_assert_ret(ipc_mq_send(mq, "", 0, 0, 0), 0);
  tu_assert_ret(ipc_mq_send(mq, bin, 4, 0, 0), 0);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), 0);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), 4);
  cr_assert_arr_eq(buf, bin, 4);
  ipc_mq_close(mq);
}

Test(mq, a_child_and_its_parent_exchange_messages_through_the_name,
     .timeout = 10) {
  const char *req = tname("req"), *rep = tname("rep");
  ipc_mq_t *in = make(req, 4, 64), *out = make(rep, 4, 64);
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_mq_t *r, *w;
    if (ipc_mq_open(&r, req, IPC_RDONLY) < 0 ||
        ipc_mq_open(&w, rep, IPC_WRONLY) < 0)
      _exit(1);
    char buf[64];
    unsigned prio;
    for (int i = 0; i < 100; i++) {
      ssize_t n = ipc_mq_receive(r, buf, sizeof buf, &prio, 5000);
      if (n < 0)
        _exit(2);
      buf[0] = (char)(buf[0] + 1); /* answer: the first byte plus one */
      if (ipc_mq_send(w, buf, (size_t)n, prio + 1, 5000) < 0)
        _exit(3);
    }
    _exit(0);
  }
  for (int i = 0; i < 100; i++) {
    char msg[32], buf[64];
    int len = snprintf(msg, sizeof msg, "a message %d", i);
    tu_assert_ret(ipc_mq_send(in, msg, (size_t)len, (unsigned)i, 5000), 0);
    unsigned prio;
    tu_assert_ret(ipc_mq_receive(out, buf, sizeof buf, &prio, 5000), len);
    msg[0] = 'b';
    cr_assert_arr_eq(buf, msg, (size_t)len);
    cr_assert_eq(prio, (unsigned)i + 1);
  }
  expect_child_ok(pid);
  ipc_mq_close(in);
  ipc_mq_close(out);
}

Test(mq, receive_waits_for_a_message_a_child_sends_later, .timeout = 10) {
  const char *name = tname("later");
  ipc_mq_t *mq = make(name, 2, 16);
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_mq_t *w;
    usleep(100000);
    _exit(ipc_mq_open(&w, name, IPC_WRONLY) < 0 ||
          ipc_mq_send(w, "late", 4, 3, -1) < 0);
  }
  char buf[16];
  unsigned prio;
  double t0 = tu_now_ms();
  ssize_t n = ipc_mq_receive(mq, buf, sizeof buf, &prio, 5000);
  double dt = tu_now_ms() - t0;
  tu_assert_bytes(buf, n, "late");
  cr_assert_eq(prio, 3);
  cr_assert(dt >= 80 && dt < 4000, "took %.0f ms", dt);
  expect_child_ok(pid);
  ipc_mq_close(mq);
}

Test(mq, send_waits_for_room_a_child_makes, .timeout = 10) {
  const char *name = tname("room");
  ipc_mq_t *mq = make(name, 1, 16);
  tu_assert_ret(ipc_mq_send(mq, "first", 5, 0, 0), 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_mq_t *r;
    char buf[16];
    usleep(100000);
    _exit(ipc_mq_open(&r, name, IPC_RDONLY) < 0 ||
          ipc_mq_receive(r, buf, sizeof buf, NULL, -1) != 5);
  }
  tu_assert_ret(ipc_mq_send(mq, "second", 6, 0, 5000), 0);
  expect_child_ok(pid);
  char buf[16];
  ssize_t n = ipc_mq_receive(mq, buf, sizeof buf, NULL, 0);
  tu_assert_bytes(buf, n, "second");
  ipc_mq_close(mq);
}

/* -------------------------------------------------------------- timeouts */

Test(mq, receive_times_out_on_an_empty_queue, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("rto", 2, 16);
  char buf[16];
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 150 && dt < 1500, "waited %.0f ms for 150", dt);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50, "timeout 0 must not wait");
  ipc_mq_close(mq);
}

Test(mq, send_times_out_on_a_full_queue_and_adds_nothing, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("sto", 1, 16);
  tu_assert_ret(ipc_mq_send(mq, "a", 1, 0, 0), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 150 && dt < 1500, "waited %.0f ms for 150", dt);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, 0), IPC_ETIMEDOUT);
  cr_assert_eq(curmsgs(mq), 1);
  ipc_mq_close(mq);
}

Test(mq, non_blocking_mode_gives_eagain_whatever_the_timeout, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("nonblock", 1, 16);
  char buf[16];
  tu_assert_ret(ipc_mq_set_blocking(mq, 0), 0);
  tu_assert_ret(ipc_mq_get_blocking(mq), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 2000), IPC_EAGAIN);
  tu_assert_ret(ipc_mq_send(mq, "a", 1, 0, -1), 0);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, 2000), IPC_EAGAIN);
  cr_assert_lt(tu_now_ms() - t0, 500, "non-blocking calls waited");
  tu_assert_ret(ipc_mq_set_blocking(mq, 1), 0);
  tu_assert_ret(ipc_mq_get_blocking(mq), 1);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, 50), IPC_ETIMEDOUT);
  ipc_mq_close(mq);
}

Test(mq, a_signal_interrupts_a_wait_with_eintr_and_consumes_nothing,
     .timeout = 10) {
  ipc_mq_t *mq = make_nameless("eintr", 1, 16);
  char buf[16];
  /* Forever (the kernel's blocking call) and timed (poll). */
  tu_alarm_in(50);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, -1), IPC_EINTR);
  alarm_every(20);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 5000), IPC_EINTR);
  alarm_stop();
  tu_assert_ret(ipc_mq_send(mq, "a", 1, 0, 0), 0);
  tu_alarm_in(50);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, -1), IPC_EINTR);
  alarm_every(20);
  tu_assert_ret(ipc_mq_send(mq, "b", 1, 0, 5000), IPC_EINTR);
  alarm_stop();
  cr_assert_geq(tu_alarms, 4);
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), 1);
  cr_assert_eq(buf[0], 'a');
  tu_assert_ret(ipc_mq_receive(mq, buf, sizeof buf, NULL, 0), IPC_ETIMEDOUT);
  ipc_mq_close(mq);
}

/* ------------------------------------------------------------- bad input */

Test(mq, a_message_longer_than_msgsize_is_emsgsize_and_not_queued,
     .timeout = 10) {
  ipc_mq_t *mq = make_nameless("emsgsize", 2, 16);
  char big[17] = {0};
  tu_assert_ret(ipc_mq_send(mq, big, 17, 0, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_mq_send(mq, big, 17, 0, 0), IPC_EMSGSIZE);
  tu_assert_ret(ipc_mq_send(mq, big, 17, 0, 100), IPC_EMSGSIZE);
  cr_assert_eq(curmsgs(mq), 0);
  tu_assert_ret(ipc_mq_send(mq, big, 16, 0, 0), 0); /* exactly msgsize */
  ipc_mq_close(mq);
}

Test(mq, a_receive_buffer_below_msgsize_is_emsgsize_and_the_message_stays,
     .timeout = 10) {
  ipc_mq_t *mq = make_nameless("smallbuf", 2, 16);
  tu_assert_ret(ipc_mq_send(mq, "hi", 2, 0, 0), 0);
  char buf[16];
  tu_assert_ret(ipc_mq_receive(mq, buf, 15, NULL, 0), IPC_EMSGSIZE);
  cr_assert_eq(curmsgs(mq), 1);
  tu_assert_ret(ipc_mq_receive(mq, buf, 16, NULL, 0), 2);
  ipc_mq_close(mq);
}

Test(mq, a_priority_out_of_range_is_einval_and_not_queued, .timeout = 10) {
  ipc_mq_t *mq = make_nameless("badprio", 2, 16);
  tu_assert_ret(ipc_mq_send(mq, "x", 1, IPC_MQ_PRIO_MAX, 0), IPC_EINVAL);
  cr_assert_eq(curmsgs(mq), 0);
  ipc_mq_close(mq);
}

Test(mq, names_without_the_slash_or_with_a_second_one_are_refused,
     .timeout = 10) {
  char tag[64], nested[80], trailing[80];
  snprintf(tag, sizeof tag, "libipc-test-%d-noslash", (int)getpid());
  snprintf(nested, sizeof nested, "/libipc-test-%d/nested", (int)getpid());
  snprintf(trailing, sizeof trailing, "/libipc-test-%d-x/", (int)getpid());
  const char *bad[] = {tag, nested, trailing, "", "/", "//", "/.", "/.."};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ipc_mq_t *mq = (ipc_mq_t *)1;
    cr_assert_eq(ipc_mq_create(&mq, bad[i], NULL, 0), IPC_EINVAL,
                 "create \"%s\"", bad[i]);
    cr_assert_null(mq);
    cr_assert_eq(ipc_mq_open(&mq, bad[i], 0), IPC_EINVAL, "open \"%s\"",
                 bad[i]);
    cr_assert_eq(ipc_mq_unlink(bad[i]), IPC_EINVAL, "unlink \"%s\"", bad[i]);
  }
  /* Nothing was made under any spelling glibc or the kernel could take. */
  char with[80];
  snprintf(with, sizeof with, "/%s", tag);
  cr_assert_not(exists(with));
  char longest[IPC_NAME_MAX + 3];
  longest[0] = '/';
  memset(longest + 1, 'n', IPC_NAME_MAX + 1);
  longest[IPC_NAME_MAX + 2] = '\0';
  ipc_mq_t *mq;
  tu_assert_ret(ipc_mq_create(&mq, longest, NULL, 0), IPC_ENAMETOOLONG);
}

Test(mq, bad_attributes_and_modes_are_einval, .timeout = 10) {
  const char *name = tname("badattr");
  ipc_mq_t *mq;
  ipc_mq_attr_t neg = {.maxmsg = -1, .msgsize = 8};
  tu_assert_ret(ipc_mq_create(&mq, name, &neg, 0), IPC_EINVAL);
  tu_assert_ret(ipc_mq_create(&mq, name, NULL, 01777), IPC_EINVAL);
  tu_assert_ret(ipc_mq_create(&mq, name, NULL, -1), IPC_EINVAL);
  cr_assert_not(exists(name));
}

/* ---------------------------------------------------------------- limits */

Test(mq, get_limits_reads_proc_and_the_resource_limit, .timeout = 10) {
  ipc_mq_limits_t lim;
  tu_assert_ret(ipc_mq_get_limits(&lim), 0);
  cr_assert_eq(lim.msg_max, proc_number("msg_max"));
  cr_assert_eq(lim.msgsize_max, proc_number("msgsize_max"));
  cr_assert_eq(lim.msg_default, proc_number("msg_default"));
  cr_assert_eq(lim.msgsize_default, proc_number("msgsize_default"));
  cr_assert_eq(lim.queues_max, proc_number("queues_max"));
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_MSGQUEUE, &rl), 0);
  cr_assert_eq(lim.bytes_max,
               rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur);
}

/* The child of the limit tests reports through its exit status: 0 when the
 * create failed with `want` and which_limit named `limit` with `value`. */
static int child_limit_case(const char *name, long maxmsg, long msgsize,
                            int want, const char *limit, long long value) {
  ipc_mq_attr_t attr = {.maxmsg = maxmsg, .msgsize = msgsize};
  ipc_mq_t *mq;
  int rc = ipc_mq_create(&mq, name, &attr, 0);
  if (rc >= 0) {
    ipc_mq_close(mq);
    ipc_mq_unlink(name);
    return 10;
  }
  if (rc != want)
    return 11;
  const char *got;
  long long v;
  if (ipc_mq_which_limit(rc, &attr, &got, &v) != 1)
    return 12;
  if (strcmp(got, limit) != 0)
    return 13;
  if (v != value)
    return 14;
  return exists(name) ? 15 : 0;
}

Test(mq, maxmsg_above_msg_max_is_einval_naming_msg_max, .timeout = 10) {
  const char *name = tname("msgmax");
  long msg_max = proc_number("msg_max");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    become_nobody();
    _exit(child_limit_case(name, msg_max + 1, 16, IPC_EINVAL, "msg_max",
                           msg_max));
  }
  expect_child_ok(pid);
  cr_assert_not(exists(name));
}

Test(mq, msgsize_above_msgsize_max_is_einval_naming_msgsize_max,
     .timeout = 10) {
  const char *name = tname("msgsizemax");
  long max = proc_number("msgsize_max");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    become_nobody();
    _exit(child_limit_case(name, 1, max + 1, IPC_EINVAL, "msgsize_max", max));
  }
  expect_child_ok(pid);
  cr_assert_not(exists(name));
}

Test(mq, maxmsg_above_the_hard_ceiling_is_einval_for_anyone, .timeout = 10) {
  const char *name = tname("hard");
  ipc_mq_attr_t attr = {.maxmsg = 65537, .msgsize = 1};
  ipc_mq_t *mq;
  tu_assert_ret(ipc_mq_create(&mq, name, &attr, 0), IPC_EINVAL);
  const char *limit;
  long long value;
  tu_assert_ret(ipc_mq_which_limit(IPC_EINVAL, &attr, &limit, &value), 1);
  cr_assert_str_eq(limit, "HARD_MSGMAX");
  cr_assert_eq(value, 65536);
  cr_assert_not(exists(name));
}

Test(mq, a_queue_beyond_rlimit_msgqueue_is_emfile_naming_the_rlimit,
     .timeout = 10) {
  const char *name = tname("rlimit");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    /* The limit counts every queue of the user: 1000 bytes cannot hold a
     * queue of 4 x 1000 bytes, whatever else exists. */
    struct rlimit rl = {1000, 1000};
    if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0)
      _exit(20);
    _exit(child_limit_case(name, 4, 1000, IPC_EMFILE, "RLIMIT_MSGQUEUE", 1000));
  }
  expect_child_ok(pid);
  cr_assert_not(exists(name));
}

Test(mq, too_many_queues_is_enospc_naming_queues_max, .timeout = 10) {
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    /* A new IPC namespace has its own queues (and queues_max): filling it
     * cannot starve the other tests, and whatever the child made goes with
     * the namespace, even if it dies half-way. */
    if (unshare(CLONE_NEWIPC) < 0)
      _exit(77);
    become_nobody(); /* CAP_SYS_RESOURCE would lift queues_max */
    FILE *f = fopen("/proc/sys/fs/mqueue/queues_max", "r");
    long max;
    if (f == NULL || fscanf(f, "%ld", &max) != 1)
      _exit(10);
    fclose(f);
    if (max > 4096)
      _exit(78);
    char name[64];
    int rc = 0, made;
    ipc_mq_attr_t tiny = {.maxmsg = 1, .msgsize = 1};
    for (made = 0; made <= max; made++) {
      ipc_mq_t *mq;
      snprintf(name, sizeof name, "/many-%d", made);
      if ((rc = ipc_mq_create(&mq, name, &tiny, 0)) < 0)
        break;
      ipc_mq_close(mq);
    }
    if (rc != IPC_ENOSPC || made != max)
      _exit(11);
    const char *limit;
    long long value;
    if (ipc_mq_which_limit(rc, &tiny, &limit, &value) != 1 ||
        strcmp(limit, "queues_max") != 0 || value != max)
      _exit(12);
    _exit(0);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
    cr_skip_test("no new IPC namespace (needs CAP_SYS_ADMIN)");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 78)
    cr_skip_test("queues_max is too high to reach");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status 0x%x", st);
}

Test(mq, which_limit_says_nothing_for_other_failures, .timeout = 10) {
  ipc_mq_attr_t small = {.maxmsg = 1, .msgsize = 1};
  const char *limit = "x";
  long long value = 7;
  tu_assert_ret(ipc_mq_which_limit(IPC_EEXIST, &small, &limit, &value), 0);
  cr_assert_null(limit);
  cr_assert_eq(value, 0);
  tu_assert_ret(ipc_mq_which_limit(IPC_EINVAL, &small, &limit, &value), 0);
  tu_assert_ret(ipc_mq_which_limit(IPC_EINVAL, NULL, &limit, &value), 0);
}
