/* tests/c/msg.c: System V message queues (ipc_msg_*) made for real and
 * shared with real children: keys and ids, type selection, truncation only
 * when asked, stat, the byte limit, removal under a waiting receiver, timed
 * waits by polling, EINTR, and every bad input. Each test registers the
 * queues it makes; the suite's fini removes them even after a failure. */
#include "testutil.h"

#include <grp.h>
#include <limits.h>
#include <sys/msg.h>

/* --------------------------------------------------------------- cleanup */

static int made_ids[16];
static ipc_msg_t *made_handles[16];
static int n_ids;
static char made_file[64];

/* Registers a queue for removal, and its handle for closing, by the fini. */
static ipc_msg_t *track(ipc_msg_t *q) {
  cr_assert_not_null(q);
  cr_assert_lt(n_ids, 16);
  made_handles[n_ids] = q;
  made_ids[n_ids++] = ipc_msg_id(q);
  return q;
}

/* Closes a registered handle now; its queue is still removed by the fini. */
static void drop(ipc_msg_t *q) {
  for (int i = 0; i < n_ids; i++)
    if (made_handles[i] == q)
      made_handles[i] = NULL;
  tu_assert_ret(ipc_msg_close(q), 0);
}

static void cleanup(void) {
  for (int i = 0; i < n_ids; i++) {
    msgctl(made_ids[i], IPC_RMID, NULL);
    ipc_msg_close(made_handles[i]);
  }
  if (made_file[0])
    unlink(made_file);
  tu_cleanup();
}

TestSuite(msg, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

/* A new private queue, registered. */
static ipc_msg_t *make(void) {
  ipc_msg_t *q;
  tu_assert_ret(ipc_msg_create(&q, IPC_PRIVATE, 0), 0);
  return track(q);
}

/* Whether a queue has the id. */
static int alive(int id) {
  struct msqid_ds ds;
  return msgctl(id, IPC_STAT, &ds) == 0;
}

/* How many of the queues this test registered still exist. */
static int registered_alive(void) {
  int n = 0;
  for (int i = 0; i < n_ids; i++)
    n += alive(made_ids[i]);
  return n;
}

static size_t count(ipc_msg_t *q) {
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  return st.count;
}

static void put(ipc_msg_t *q, long type, const char *s) {
  tu_assert_ret(ipc_msg_send(q, type, s, strlen(s), 0), 0);
}

/* Receives with select and asserts the text and type. */
static void expect(ipc_msg_t *q, long select, const char *text, long type) {
  char buf[64];
  long got = 0;
  ssize_t n = ipc_msg_receive(q, buf, sizeof buf, select, &got, 0, 0);
  tu_assert_bytes(buf, n, text);
  cr_assert_eq(got, type, "type %ld, want %ld", got, type);
}

static void expect_child_ok(pid_t pid) {
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "child failed: status 0x%x (exit %d, signal %d)", st,
            WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

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

static long kernel_number(const char *file) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", file);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  long v;
  cr_assert_eq(fscanf(f, "%ld", &v), 1);
  fclose(f);
  return v;
}

/* ------------------------------------------------------- create and open */

Test(msg, a_private_queue_starts_empty_with_mode_0600_and_the_default_limit,
     .timeout = 10) {
  ipc_msg_t *q = make();
  cr_assert_geq(ipc_msg_id(q), 0);
  cr_assert_eq(ipc_msg_key(q), IPC_PRIVATE);
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.count, 0);
  cr_assert_eq(st.bytes, 0);
  cr_assert_eq(st.max_bytes, (size_t)kernel_number("msgmnb"));
  cr_assert_eq(st.mode, 0600);
  cr_assert_eq(st.uid, getuid());
  cr_assert_eq(st.key, IPC_PRIVATE);
  cr_assert_eq(st.last_sender, 0);
  cr_assert_eq(st.last_receiver, 0);
  cr_assert_eq(st.send_time, 0);
  cr_assert_geq(st.change_time, time(NULL) - 5);
  cr_assert_eq(registered_alive(), 1);
  ipc_msg_t *again;
  tu_assert_ret(ipc_msg_create(&again, IPC_PRIVATE, 0640), 0);
  track(again);
  cr_assert_neq(ipc_msg_id(again), ipc_msg_id(q), "private: always new");
  tu_assert_ret(ipc_msg_stat(again, &st), 0);
  cr_assert_eq(st.mode, 0640);
  drop(q);
  tu_assert_ret(ipc_msg_close(NULL), 0);
  cr_assert_eq(registered_alive(), 2, "close never removes the queue");
}

Test(msg, a_key_from_ftok_is_created_once_and_opened_by_key_or_id,
     .timeout = 10) {
  snprintf(made_file, sizeof made_file, "/tmp/libipc-test-%d-key",
           (int)getpid());
  int fd = open(made_file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  key_t key;
  tu_assert_ret(ipc_ftok(made_file, 'm', &key), 0);
  msgctl(msgget(key, 0), IPC_RMID, NULL); /* a previous run's leftover */
  ipc_msg_t *a, *b, *c;
  tu_assert_ret(ipc_msg_create(&a, key, 0), 0);
  track(a);
  cr_assert_eq(ipc_msg_key(a), key);
  tu_assert_ret(ipc_msg_create(&b, key, 0), IPC_EEXIST);
  cr_assert_null(b);
  tu_assert_ret(ipc_msg_open(&b, key, -1), 0);
  cr_assert_eq(ipc_msg_id(b), ipc_msg_id(a));
  tu_assert_ret(ipc_msg_open(&c, IPC_PRIVATE, ipc_msg_id(a)), 0);
  cr_assert_eq(ipc_msg_id(c), ipc_msg_id(a));
  cr_assert_eq(ipc_msg_key(c), IPC_PRIVATE);
  put(b, 1, "through b");
  expect(c, 0, "through b", 1);
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(a, &st), 0);
  cr_assert_eq(st.key, key);
  ipc_msg_close(b);
  ipc_msg_close(c);
  tu_assert_ret(ipc_msg_remove(a), 0);
  tu_assert_ret(ipc_msg_open(&b, key, -1), IPC_ENOENT);
  drop(a);
}

Test(msg, open_of_a_missing_key_or_id_fails, .timeout = 10) {
  ipc_msg_t *q = (ipc_msg_t *)1;
  /* A key nobody uses: made from this test's pid and a high byte. */
  key_t key = (key_t)(0x7e000000 | (getpid() & 0xffffff));
  tu_assert_ret(ipc_msg_open(&q, key, -1), IPC_ENOENT);
  cr_assert_null(q);
  tu_assert_ret(ipc_msg_open(&q, IPC_PRIVATE, -1), IPC_EINVAL);
  ipc_msg_t *gone = make();
  int id = ipc_msg_id(gone);
  tu_assert_ret(ipc_msg_remove(gone), 0);
  drop(gone);
  tu_assert_ret(ipc_msg_open(&q, IPC_PRIVATE, id), IPC_EINVAL);
  tu_assert_ret(ipc_msg_create(&q, IPC_PRIVATE, 01600), IPC_EINVAL);
}

/* ------------------------------------------------------ types, selection */

Test(msg, select_zero_takes_the_first_message_whatever_its_type,
     .timeout = 10) {
  ipc_msg_t *q = make();
  put(q, 5, "five");
  put(q, 2, "two");
  put(q, 9, "nine");
  expect(q, 0, "five", 5);
  expect(q, 0, "two", 2);
  expect(q, 0, "nine", 9);
}

Test(msg, a_positive_select_takes_the_first_message_of_that_type,
     .timeout = 10) {
  ipc_msg_t *q = make();
  put(q, 1, "one-a");
  put(q, 2, "two-a");
  put(q, 1, "one-b");
  put(q, 2, "two-b");
  expect(q, 2, "two-a", 2);
  expect(q, 2, "two-b", 2);
  char buf[8];
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 2, NULL, 0, 0),
                IPC_ETIMEDOUT);
  cr_assert_eq(count(q), 2, "the other type stays");
  expect(q, 1, "one-a", 1);
}

Test(msg, a_negative_select_takes_the_lowest_type_not_above_it, .timeout = 10) {
  ipc_msg_t *q = make();
  put(q, 7, "seven");
  put(q, 3, "three-a");
  put(q, 5, "five");
  put(q, 3, "three-b");
  put(q, 1, "one");
  expect(q, -4, "one", 1);
  expect(q, -4, "three-a", 3);
  expect(q, -4, "three-b", 3);
  char buf[8];
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, -4, NULL, 0, 0),
                IPC_ETIMEDOUT);
  expect(q, -6, "five", 5);
  expect(q, -LONG_MAX, "seven", 7);
}

Test(msg, empty_and_binary_messages_arrive_unchanged_and_type_may_be_null,
     .timeout = 10) {
  ipc_msg_t *q = make();
  static const char bin[] = "a\0b\xff";
  tu_assert_ret(ipc_msg_send(q, 1, "", 0, 0), 0);
  tu_assert_ret(ipc_msg_send(q, LONG_MAX, bin, 4, 0), 0);
  char buf[8];
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, 0), 0);
  long type;
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, &type, 0, 0), 4);
  cr_assert_arr_eq(buf, bin, 4);
  cr_assert_eq(type, LONG_MAX);
}

Test(msg, large_messages_go_through_the_heap_path, .timeout = 10) {
  ipc_msg_t *q = make();
  size_t max = (size_t)kernel_number("msgmax");
  if (max <= 8192)
    tu_assert_ok(ipc_msg_set_max_bytes(q, 16384));
  size_t len = max < 12000 ? max : 12000;
  char *in = malloc(len), *out = malloc(len + 100);
  for (size_t i = 0; i < len; i++)
    in[i] = (char)(i * 7);
  tu_assert_ret(ipc_msg_send(q, 3, in, len, 0), 0);
  tu_assert_ret(ipc_msg_receive(q, out, len + 100, 0, NULL, 0, 0), len);
  cr_assert_arr_eq(in, out, len);
  free(in);
  free(out);
}

/* ------------------------------------------------------------- processes */

Test(msg, a_child_answers_typed_requests_and_stat_names_both_pids,
     .timeout = 10) {
  ipc_msg_t *q = make();
  int id = ipc_msg_id(q);
  time_t t0 = time(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    ipc_msg_t *c;
    if (ipc_msg_open(&c, IPC_PRIVATE, id) < 0)
      _exit(1);
    char buf[64];
    for (int i = 0; i < 50; i++) {
      /* Requests are type 1; the answer goes back as type 2. */
      ssize_t n = ipc_msg_receive(c, buf, sizeof buf, 1, NULL, 0, 5000);
      if (n < 0)
        _exit(2);
      buf[0] = 'B';
      if (ipc_msg_send(c, 2, buf, (size_t)n, 5000) < 0)
        _exit(3);
    }
    _exit(0);
  }
  for (int i = 0; i < 50; i++) {
    char msg[32], buf[64];
    int len = snprintf(msg, sizeof msg, "Request %d", i);
    tu_assert_ret(ipc_msg_send(q, 1, msg, (size_t)len, 5000), 0);
    long type;
    ssize_t n = ipc_msg_receive(q, buf, sizeof buf, 2, &type, 0, 5000);
    tu_assert_ret(n, len);
    msg[0] = 'B';
    cr_assert_arr_eq(buf, msg, (size_t)len);
  }
  expect_child_ok(pid);
  put(q, 4, "xyz");
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.count, 1);
  cr_assert_eq(st.bytes, 3);
  cr_assert_eq(st.last_sender, getpid());
  cr_assert_eq(st.last_receiver, getpid());
  cr_assert(st.send_time >= t0 && st.receive_time >= t0);
  expect(q, 0, "xyz", 4);
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.count, 0);
  cr_assert_eq(st.bytes, 0);
}

Test(msg, stat_names_the_child_as_last_sender, .timeout = 10) {
  ipc_msg_t *q = make();
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(ipc_msg_send(q, 1, "hi", 2, 1000) < 0);
  }
  expect_child_ok(pid);
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.last_sender, pid);
  cr_assert_eq(st.last_receiver, 0);
  cr_assert_eq(st.count, 1);
}

Test(msg, a_timed_receive_takes_a_message_a_child_sends_later, .timeout = 10) {
  ipc_msg_t *q = make();
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    usleep(100000);
    _exit(ipc_msg_send(q, 6, "late", 4, -1) < 0);
  }
  char buf[16];
  long type;
  double t0 = tu_now_ms();
  ssize_t n = ipc_msg_receive(q, buf, sizeof buf, 6, &type, 0, 5000);
  double dt = tu_now_ms() - t0;
  tu_assert_bytes(buf, n, "late");
  cr_assert_eq(type, 6);
  cr_assert(dt >= 80 && dt < 4000, "took %.0f ms", dt);
  expect_child_ok(pid);
}

Test(msg, remove_wakes_a_blocked_receiver_with_eidrm, .timeout = 10) {
  ipc_msg_t *q = make();
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    char buf[8];
    ssize_t forever = ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, -1);
    _exit(forever == IPC_EIDRM ? 0 : 1);
  }
  usleep(100000);
  int id = ipc_msg_id(q);
  tu_assert_ret(ipc_msg_remove(q), 0);
  expect_child_ok(pid);
  cr_assert_not(alive(id));
  char buf[8];
  ssize_t n = ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, 0);
  cr_assert(n == IPC_EIDRM || n == IPC_EINVAL, "got %zd", n);
  int rc = ipc_msg_send(q, 1, "x", 1, 0);
  cr_assert(rc == IPC_EIDRM || rc == IPC_EINVAL, "got %d", rc);
  rc = ipc_msg_remove(q);
  cr_assert(rc == IPC_EIDRM || rc == IPC_EINVAL, "got %d", rc);
}

/* -------------------------------------------------------------- timeouts */

Test(msg, receive_times_out_on_an_empty_queue, .timeout = 10) {
  ipc_msg_t *q = make();
  char buf[8];
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, 150),
                IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 150 && dt < 1500, "waited %.0f ms for 150", dt);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, 0),
                IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50, "timeout 0 must not wait");
}

Test(msg, send_times_out_on_a_full_queue_and_adds_nothing, .timeout = 10) {
  ipc_msg_t *q = make();
  tu_assert_ret(ipc_msg_set_max_bytes(q, 10), 0);
  tu_assert_ret(ipc_msg_send(q, 1, "0123456789", 10, 0), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_msg_send(q, 1, "x", 1, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 150 && dt < 1500, "waited %.0f ms for 150", dt);
  tu_assert_ret(ipc_msg_send(q, 1, "x", 1, 0), IPC_ETIMEDOUT);
  cr_assert_eq(count(q), 1);
}

Test(msg, a_signal_interrupts_a_wait_with_eintr_and_consumes_nothing,
     .timeout = 10) {
  ipc_msg_t *q = make();
  char buf[16];
  tu_alarm_in(50); /* forever: the kernel's own blocking call */
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, -1), IPC_EINTR);
  alarm_every(20); /* timed: polling */
  tu_assert_ret(ipc_msg_receive(q, buf, sizeof buf, 0, NULL, 0, 5000),
                IPC_EINTR);
  alarm_stop();
  tu_assert_ret(ipc_msg_set_max_bytes(q, 4), 0);
  put(q, 1, "full");
  tu_alarm_in(50);
  tu_assert_ret(ipc_msg_send(q, 1, "more", 4, -1), IPC_EINTR);
  alarm_every(20);
  tu_assert_ret(ipc_msg_send(q, 1, "more", 4, 5000), IPC_EINTR);
  alarm_stop();
  cr_assert_geq(tu_alarms, 4);
  cr_assert_eq(count(q), 1);
  expect(q, 0, "full", 1);
}

/* ---------------------------------------------------- limits, bad input */

Test(msg, set_max_bytes_changes_only_the_limit, .timeout = 10) {
  ipc_msg_t *q;
  tu_assert_ret(ipc_msg_create(&q, IPC_PRIVATE, 0640), 0);
  track(q);
  tu_assert_ret(ipc_msg_set_max_bytes(q, 100), 0);
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.max_bytes, 100);
  cr_assert_eq(st.mode, 0640, "IPC_SET must keep the mode");
  cr_assert_eq(st.uid, getuid());
  tu_assert_ret(ipc_msg_set_max_bytes(q, 0), IPC_EINVAL);
}

Test(msg, raising_the_limit_above_msgmnb_unprivileged_is_eperm, .timeout = 10) {
  ipc_msg_t *q;
  tu_assert_ret(ipc_msg_create(&q, IPC_PRIVATE, 0666), 0);
  track(q);
  ipc_msg_limits_t lim;
  tu_assert_ret(ipc_msg_get_limits(&lim), 0);
  cr_assert_eq(lim.max_bytes, (size_t)kernel_number("msgmnb"));
  cr_assert_eq(lim.max_message, (size_t)kernel_number("msgmax"));
  cr_assert_eq(lim.max_queues, kernel_number("msgmni"));
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    become_nobody(); /* neither owner nor CAP_SYS_RESOURCE */
    _exit(ipc_msg_set_max_bytes(q, lim.max_bytes + 1) == IPC_EPERM ? 0 : 1);
  }
  expect_child_ok(pid);
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert_eq(st.max_bytes, lim.max_bytes);
}

Test(msg, a_send_with_type_zero_or_negative_is_einval_and_queues_nothing,
     .timeout = 10) {
  ipc_msg_t *q = make();
  tu_assert_ret(ipc_msg_send(q, 0, "x", 1, 0), IPC_EINVAL);
  tu_assert_ret(ipc_msg_send(q, -1, "x", 1, -1), IPC_EINVAL);
  tu_assert_ret(ipc_msg_send(q, LONG_MIN, "x", 1, 100), IPC_EINVAL);
  cr_assert_eq(count(q), 0);
}

Test(msg, a_buffer_smaller_than_the_message_is_e2big_and_the_message_stays,
     .timeout = 10) {
  ipc_msg_t *q = make();
  put(q, 3, "0123456789");
  char buf[16];
  long type = 0;
  tu_assert_ret(ipc_msg_receive(q, buf, 4, 0, &type, 0, 0), IPC_E2BIG);
  tu_assert_ret(ipc_msg_receive(q, buf, 4, 0, &type, 0, 100), IPC_E2BIG);
  tu_assert_ret(ipc_msg_receive(q, buf, 4, 0, &type, 0, -1), IPC_E2BIG);
  cr_assert_eq(type, 0, "nothing was received");
  ipc_msg_stat_t st;
  tu_assert_ret(ipc_msg_stat(q, &st), 0);
  cr_assert(st.count == 1 && st.bytes == 10, "%zu messages, %zu bytes",
            st.count, st.bytes);
  expect(q, 0, "0123456789", 3);
}

Test(msg, msg_noerror_truncates_and_consumes_the_message, .timeout = 10) {
  ipc_msg_t *q = make();
  put(q, 3, "0123456789");
  char buf[16];
  long type;
  ssize_t n = ipc_msg_receive(q, buf, 4, 0, &type, IPC_MSG_NOERROR, 0);
  tu_assert_bytes(buf, n, "0123");
  cr_assert_eq(type, 3);
  cr_assert_eq(count(q), 0, "the rest is gone with it");
  tu_assert_ret(ipc_msg_receive(q, buf, 4, 0, &type, 0x100, 0), IPC_EINVAL);
}

Test(msg, a_message_that_can_never_fit_is_emsgsize_not_a_wait, .timeout = 10) {
  ipc_msg_t *q = make();
  size_t max = (size_t)kernel_number("msgmax");
  char *big = calloc(1, max + 1);
  /* Above msgmax: the kernel says EINVAL; libipc names it. */
  tu_assert_ret(ipc_msg_send(q, 1, big, max + 1, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_msg_send(q, 1, big, max + 1, 0), IPC_EMSGSIZE);
  /* Above the queue's byte limit: msgsnd would wait for ever. */
  tu_assert_ret(ipc_msg_set_max_bytes(q, 8), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_msg_send(q, 1, big, 9, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_msg_send(q, 1, big, 9, 2000), IPC_EMSGSIZE);
  cr_assert_lt(tu_now_ms() - t0, 500);
  cr_assert_eq(count(q), 0);
  free(big);
}
