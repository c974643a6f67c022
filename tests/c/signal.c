/* tests/c/signal.c: signals (ipc_signal_*, ipc_sigqueue_*, ipc_sigfd_*):
 * records in arrival order with their sender and value, the eventfd,
 * dispositions put back exactly and host handlers chained, several
 * receivers, drops counted, kill, raise and sigqueue errors (ESRCH, and
 * EPERM from an unprivileged child), masks, sigtimedwait, signalfd, SIGCHLD
 * without reaping, and libipc waits that end when a signal is handled on
 * another thread. Real signals throughout; Criterion runs each case in its
 * own process. The floods from several threads are in signal_threads.c,
 * which TSan can run. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

TestSuite(signal, .fini = tu_cleanup);

/* Whether fd polls readable right now. */
static int readable(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* Takes one record, waiting on the eventfd up to 5 s. */
static ipc_siginfo_t take_one(ipc_sigqueue_t *q) {
  ipc_siginfo_t r;
  memset(&r, 0, sizeof r);
  struct pollfd pfd = {.fd = ipc_sigqueue_fd(q), .events = POLLIN};
  for (int i = 0; i < 500 && ipc_sigqueue_take(q, &r, 1) == 0; i++)
    poll(&pfd, 1, 10);
  cr_assert_neq(r.signo, 0, "no record came");
  return r;
}

/* ------------------------------------------------------------------ names */

Test(signal, names_and_numbers_round_trip) {
  char buf[32];
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++) {
    cr_assert_gt(ipc_signal_name(sig, buf, sizeof buf), 0, "signal %d", sig);
    tu_assert_ret(ipc_signal_number(buf), sig);
  }
  ipc_signal_name(SIGRTMIN + 3, buf, sizeof buf);
  cr_assert_str_eq(buf, "RTMIN+3");
  ipc_signal_name(SIGRTMAX - 2, buf, sizeof buf);
  cr_assert_str_eq(buf, "RTMAX-2");
  ipc_signal_name(SIGUSR1, buf, sizeof buf);
  cr_assert_str_eq(buf, "USR1");
  ipc_signal_name(32, buf, sizeof buf);
  cr_assert_str_eq(buf, "32");
  tu_assert_ret(ipc_signal_number("SIGINT"), SIGINT);
  tu_assert_ret(ipc_signal_number("int"), SIGINT);
  tu_assert_ret(ipc_signal_number("sigterm"), SIGTERM);
  tu_assert_ret(ipc_signal_number("CLD"), SIGCHLD);
  tu_assert_ret(ipc_signal_number("IOT"), SIGABRT);
  tu_assert_ret(ipc_signal_number("RTMIN"), SIGRTMIN);
  tu_assert_ret(ipc_signal_number("SIGRTMAX"), SIGRTMAX);
  tu_assert_ret(ipc_signal_number("10"), 10);
  /* A name cut short by a small buffer reports its full length. */
  tu_assert_ret(ipc_signal_name(SIGRTMIN + 3, buf, 4), 7);
  cr_assert_str_eq(buf, "RTM");
}

Test(signal, unknown_names_and_numbers_are_einval) {
  const char *bad[] = {"",         "FOO",      "SIG",     "0",
                       "65",       "-1",       "RTMIN-1", "RTMAX+1",
                       "RTMIN+31", "RTMAX-31", "RTMIN+x", "USR1 "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(ipc_signal_number(bad[i]), IPC_EINVAL, "'%s'", bad[i]);
  tu_assert_ret(ipc_signal_number(NULL), IPC_EINVAL);
  char buf[8];
  tu_assert_ret(ipc_signal_name(0, buf, sizeof buf), IPC_EINVAL);
  tu_assert_ret(ipc_signal_name(-3, buf, sizeof buf), IPC_EINVAL);
  tu_assert_ret(ipc_signal_name(65, buf, sizeof buf), IPC_EINVAL);
}

/* ---------------------------------------------------------------- records */

Test(signal, records_come_in_arrival_order_with_their_sender) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR1, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR2, 0));
  tu_assert_ok(ipc_signal_raise(SIGUSR1));
  tu_assert_ok(ipc_signal_raise(SIGUSR2));
  tu_assert_ok(ipc_signal_kill(getpid(), SIGUSR1));
  ipc_siginfo_t r[4];
  tu_assert_ret(ipc_sigqueue_take(q, r, 4), 3);
  cr_assert_eq(r[0].signo, SIGUSR1);
  cr_assert_eq(r[1].signo, SIGUSR2);
  cr_assert_eq(r[2].signo, SIGUSR1);
  cr_assert_eq(r[0].code, SI_TKILL);
  cr_assert_eq(r[2].code, SI_USER);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(r[i].pid, getpid());
    cr_assert_eq(r[i].uid, (int)getuid());
  }
  tu_assert_ret(ipc_sigqueue_take(q, r, 4), 0);
  ipc_sigqueue_close(q);
}

Test(signal, sigqueue_values_arrive_whole_and_in_order) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 64));
  tu_assert_ok(ipc_signal_handle(q, SIGRTMIN, 0));
  int64_t values[] = {1,         -1,        0,         INT32_MAX,
                      INT32_MIN, INT64_MAX, INT64_MIN, (int64_t)1 << 40};
  size_t n = sizeof values / sizeof values[0];
  for (size_t i = 0; i < n; i++)
    tu_assert_ok(ipc_signal_queue(getpid(), SIGRTMIN, values[i]));
  for (size_t i = 0; i < n; i++) {
    ipc_siginfo_t r = take_one(q);
    cr_assert_eq(r.signo, SIGRTMIN);
    cr_assert_eq(r.code, SI_QUEUE);
    cr_assert_eq(r.value, values[i], "record %zu: %lld, want %lld", i,
                 (long long)r.value, (long long)values[i]);
    cr_assert_eq(r.pid, getpid());
  }
  ipc_sigqueue_close(q);
}

Test(signal, eventfd_is_readable_exactly_while_records_are_pending) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  int fd = ipc_sigqueue_fd(q);
  cr_assert_eq(tu_cloexec(fd), 1);
  tu_assert_ok(ipc_signal_handle(q, SIGUSR1, 0));
  cr_assert(!readable(fd));
  tu_assert_ret(ipc_sigqueue_pending(q), 0);
  ipc_signal_raise(SIGUSR1);
  ipc_signal_raise(SIGUSR1);
  cr_assert(readable(fd));
  tu_assert_ret(ipc_sigqueue_pending(q), 2);
  ipc_siginfo_t r;
  tu_assert_ret(ipc_sigqueue_take(q, &r, 1), 1);
  cr_assert(readable(fd), "one record is still pending");
  tu_assert_ret(ipc_sigqueue_take(q, &r, 1), 1);
  cr_assert(!readable(fd), "drained with the last record");
  ipc_sigqueue_close(q);
}

/* -------------------------------------------------------------- bad input */

Test(signal, handle_refuses_what_cannot_be_handled) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  int bad[] = {0, -1, -100, 65, 1000, SIGKILL, SIGSTOP, 32, 33};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(ipc_signal_handle(q, bad[i], 0), IPC_EINVAL, "signal %d",
                 bad[i]);
    cr_assert_eq(ipc_signal_ignore(q, bad[i]), IPC_EINVAL);
    cr_assert_eq(ipc_signal_default(q, bad[i]), IPC_EINVAL);
    cr_assert_eq(ipc_signal_restore(q, bad[i]), IPC_EINVAL);
  }
  tu_assert_ret(ipc_signal_handle(q, SIGUSR1, 1), IPC_EINVAL); /* flags */
  tu_assert_ret(ipc_signal_handle(NULL, SIGUSR1, 0), IPC_EINVAL);
  /* Nothing was installed by the refusals. */
  struct sigaction cur;
  sigaction(SIGUSR1, NULL, &cur);
  cr_assert_eq(cur.sa_handler, SIG_DFL);
  tu_assert_ret(ipc_sigqueue_create(&q, (1u << 20) + 1), IPC_EINVAL);
  cr_assert_null(q);
}

Test(signal, sending_refuses_bad_signals_and_pids) {
  tu_assert_ret(ipc_signal_kill(getpid(), -1), IPC_EINVAL);
  tu_assert_ret(ipc_signal_kill(getpid(), 65), IPC_EINVAL);
  tu_assert_ret(ipc_signal_kill(getpid(), 32), IPC_EINVAL);
  tu_assert_ret(ipc_signal_kill(getpid(), 0), 0); /* exists */
  tu_assert_ret(ipc_signal_raise(0), IPC_EINVAL);
  tu_assert_ret(ipc_signal_queue(getpid(), 0, 1), IPC_EINVAL);
  tu_assert_ret(ipc_signal_queue(0, SIGUSR1, 1), IPC_EINVAL);
  tu_assert_ret(ipc_signal_queue(-5, SIGUSR1, 1), IPC_EINVAL);
}

/* A pid that does not exist: a child's, once it is reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0)
    _exit(0);
  waitpid(pid, NULL, 0);
  return pid;
}

Test(signal, kill_and_queue_to_a_missing_pid_are_esrch) {
  pid_t pid = dead_pid();
  tu_assert_ret(ipc_signal_kill(pid, SIGTERM), IPC_ESRCH);
  tu_assert_ret(ipc_signal_kill(pid, 0), IPC_ESRCH);
  tu_assert_ret(ipc_signal_queue(pid, SIGUSR1, 5), IPC_ESRCH);
}

Test(signal, kill_and_queue_without_permission_are_eperm) {
  /* As root everything may be signalled: an unprivileged child tries. */
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
      _exit(90);
    int a = ipc_signal_kill(1, SIGTERM);
    int b = ipc_signal_kill(1, 0);
    int c = ipc_signal_queue(1, SIGUSR1, 1);
    _exit(a == IPC_EPERM && b == IPC_EPERM && c == IPC_EPERM ? 0 : 91);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}

/* ---------------------------------------------------------- dispositions */

static atomic_int host_calls;
static void host_handler(int sig) { atomic_fetch_add(&host_calls, 1); }
static void host_action(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (si != NULL && si->si_signo == sig)
    atomic_fetch_add(&host_calls, 1);
}

/* Asserts that two dispositions are the same: function, flags, mask. */
static void assert_same_action(const struct sigaction *a,
                               const struct sigaction *b) {
  cr_assert_eq((void *)a->sa_handler, (void *)b->sa_handler,
               "handler %p, want %p", (void *)a->sa_handler,
               (void *)b->sa_handler);
  cr_assert_eq(a->sa_flags, b->sa_flags, "flags %#x, want %#x", a->sa_flags,
               b->sa_flags);
  for (int s = 1; s <= IPC_SIG_MAX; s++)
    cr_assert_eq(sigismember(&a->sa_mask, s), sigismember(&b->sa_mask, s),
                 "mask bit %d", s);
}

/* Installs host_action for sig with SA_RESTART and a mask of its own;
 * returns the disposition as the kernel reports it. */
static struct sigaction install_host(int sig) {
  struct sigaction sa, got;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = host_action;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGWINCH);
  sigaddset(&sa.sa_mask, SIGRTMIN + 2);
  cr_assert_eq(sigaction(sig, &sa, NULL), 0);
  sigaction(sig, NULL, &got);
  return got;
}

Test(signal, unhandle_puts_back_exactly_the_host_handler) {
  struct sigaction host = install_host(SIGUSR1), cur;
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR1, 0));
  sigaction(SIGUSR1, NULL, &cur);
  cr_assert_neq((void *)cur.sa_sigaction, (void *)host_action);
  cr_assert_eq(cur.sa_flags & SA_RESTART, 0, "ours has no SA_RESTART");
  tu_assert_ok(ipc_signal_unhandle(q, SIGUSR1));
  sigaction(SIGUSR1, NULL, &cur);
  assert_same_action(&cur, &host);
  ipc_sigqueue_close(q);
}

Test(signal, restore_puts_back_the_first_disposition_whatever_came_after) {
  struct sigaction host = install_host(SIGUSR2), cur;
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR2, 0));
  tu_assert_ok(ipc_signal_ignore(q, SIGUSR2));
  sigaction(SIGUSR2, NULL, &cur);
  cr_assert_eq(cur.sa_handler, SIG_IGN);
  tu_assert_ok(ipc_signal_default(NULL, SIGUSR2));
  sigaction(SIGUSR2, NULL, &cur);
  cr_assert_eq(cur.sa_handler, SIG_DFL);
  tu_assert_ok(ipc_signal_restore(NULL, SIGUSR2));
  sigaction(SIGUSR2, NULL, &cur);
  assert_same_action(&cur, &host);
  /* Forgotten: a second restore changes nothing. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGUSR2, &dfl, NULL);
  tu_assert_ok(ipc_signal_restore(NULL, SIGUSR2));
  sigaction(SIGUSR2, NULL, &cur);
  cr_assert_eq(cur.sa_handler, SIG_DFL);
  ipc_sigqueue_close(q);
}

Test(signal, closing_the_last_receiver_puts_back_the_default) {
  ipc_sigqueue_t *a, *b;
  tu_assert_ok(ipc_sigqueue_create(&a, 0));
  tu_assert_ok(ipc_sigqueue_create(&b, 0));
  tu_assert_ok(ipc_signal_handle(a, SIGHUP, 0));
  tu_assert_ok(ipc_signal_handle(b, SIGHUP, 0));
  ipc_signal_raise(SIGHUP);
  ipc_siginfo_t r;
  tu_assert_ret(ipc_sigqueue_take(a, &r, 1), 1);
  tu_assert_ret(ipc_sigqueue_take(b, &r, 1), 1);
  ipc_sigqueue_close(a);
  struct sigaction cur;
  sigaction(SIGHUP, NULL, &cur);
  cr_assert_neq(cur.sa_handler, SIG_DFL, "b still handles it");
  ipc_signal_raise(SIGHUP);
  tu_assert_ret(ipc_sigqueue_take(b, &r, 1), 1);
  ipc_sigqueue_close(b);
  sigaction(SIGHUP, NULL, &cur);
  cr_assert_eq(cur.sa_handler, SIG_DFL);
  cr_assert_eq(cur.sa_flags & SA_SIGINFO, 0);
}

Test(signal, ignore_and_default_are_ebusy_while_another_receiver_handles) {
  ipc_sigqueue_t *a, *b;
  tu_assert_ok(ipc_sigqueue_create(&a, 0));
  tu_assert_ok(ipc_sigqueue_create(&b, 0));
  tu_assert_ok(ipc_signal_handle(a, SIGUSR1, 0));
  tu_assert_ok(ipc_signal_handle(b, SIGUSR1, 0));
  tu_assert_ret(ipc_signal_ignore(a, SIGUSR1), IPC_EBUSY);
  tu_assert_ret(ipc_signal_default(NULL, SIGUSR1), IPC_EBUSY);
  tu_assert_ret(ipc_signal_restore(b, SIGUSR1), IPC_EBUSY);
  /* Nothing changed: both still receive. */
  ipc_signal_raise(SIGUSR1);
  ipc_siginfo_t r;
  tu_assert_ret(ipc_sigqueue_take(a, &r, 1), 1);
  tu_assert_ret(ipc_sigqueue_take(b, &r, 1), 1);
  ipc_signal_unhandle(b, SIGUSR1);
  tu_assert_ok(ipc_signal_ignore(a, SIGUSR1)); /* a's own: allowed */
  ipc_signal_raise(SIGUSR1);                   /* ignored: survives */
  tu_assert_ret(ipc_sigqueue_take(a, &r, 1), 0);
  tu_assert_ok(ipc_signal_restore(a, SIGUSR1));
  ipc_sigqueue_close(a);
  ipc_sigqueue_close(b);
}

Test(signal, host_handlers_are_chained_in_both_conventions) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = host_handler; /* plain */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  install_host(SIGTERM); /* SA_SIGINFO */
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGINT, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGTERM, 0));
  ipc_signal_raise(SIGINT);
  ipc_signal_raise(SIGTERM);
  cr_assert_eq(atomic_load(&host_calls), 2, "the host's handlers ran");
  ipc_siginfo_t r[2];
  tu_assert_ret(ipc_sigqueue_take(q, r, 2), 2);
  cr_assert_eq(r[0].signo, SIGINT);
  cr_assert_eq(r[1].signo, SIGTERM);
  ipc_sigqueue_close(q);
  struct sigaction cur;
  sigaction(SIGINT, NULL, &cur);
  cr_assert_eq(cur.sa_handler, host_handler);
}

Test(signal, a_host_sigchld_handler_is_chained_and_keeps_nocldstop) {
  struct sigaction sa, cur;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = host_handler;
  sa.sa_flags = SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGCHLD, 0));
  sigaction(SIGCHLD, NULL, &cur);
  cr_assert(cur.sa_flags & SA_NOCLDSTOP);
  cr_assert_eq(cur.sa_flags & SA_NOCLDWAIT, 0);
  pid_t pid = fork();
  if (pid == 0)
    _exit(3);
  ipc_siginfo_t r = take_one(q);
  cr_assert_eq(r.pid, pid);
  cr_assert_eq(atomic_load(&host_calls), 1, "the host's handler ran");
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid, "the child is still ours to reap");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
  ipc_sigqueue_close(q);
  sigaction(SIGCHLD, NULL, &cur);
  cr_assert_eq(cur.sa_handler, host_handler);
}

Test(signal, more_than_eight_receivers_is_enospc) {
  ipc_sigqueue_t *q[9];
  for (int i = 0; i < 9; i++)
    tu_assert_ok(ipc_sigqueue_create(&q[i], 0));
  for (int i = 0; i < 8; i++)
    tu_assert_ok(ipc_signal_handle(q[i], SIGUSR2, 0));
  tu_assert_ret(ipc_signal_handle(q[8], SIGUSR2, 0), IPC_ENOSPC);
  ipc_signal_raise(SIGUSR2);
  ipc_siginfo_t r;
  for (int i = 0; i < 8; i++)
    tu_assert_ret(ipc_sigqueue_take(q[i], &r, 1), 1);
  tu_assert_ret(ipc_sigqueue_take(q[8], &r, 1), 0);
  for (int i = 0; i < 9; i++)
    ipc_sigqueue_close(q[i]);
}

/* ------------------------------------------------------------- overflow */

Test(signal, a_full_queue_counts_what_it_drops) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 4));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR1, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR2, 0));
  for (int i = 0; i < 10; i++)
    ipc_signal_raise(SIGUSR1);
  ipc_signal_raise(SIGUSR2);
  ipc_sigqueue_stats_t st;
  ipc_sigqueue_stats(q, &st);
  cr_assert_eq(st.capacity, 4);
  cr_assert_eq(st.recorded, 4);
  cr_assert_eq(st.dropped[SIGUSR1], 6);
  cr_assert_eq(st.dropped[SIGUSR2], 1);
  cr_assert_eq(st.dropped[0], 7);
  cr_assert_eq(st.pending, 4);
  cr_assert_eq(st.handled, IPC_SIGBIT(SIGUSR1) | IPC_SIGBIT(SIGUSR2));
  ipc_siginfo_t r[8];
  tu_assert_ret(ipc_sigqueue_take(q, r, 8), 4);
  /* Room again: the next one is kept. */
  ipc_signal_raise(SIGUSR2);
  tu_assert_ret(ipc_sigqueue_take(q, r, 8), 1);
  cr_assert_eq(r[0].signo, SIGUSR2);
  ipc_sigqueue_close(q);
}

/* ------------------------------------------------------------------ masks */

Test(signal, masks_are_sets_of_the_calling_thread) {
  uint64_t set = IPC_SIGBIT(SIGUSR1) | IPC_SIGBIT(SIGRTMIN + 3), old, now;
  tu_assert_ok(ipc_signal_mask(&old));
  cr_assert_eq(old & set, 0);
  tu_assert_ok(ipc_signal_block(set, &now));
  cr_assert_eq(now, old);
  ipc_signal_mask(&now);
  cr_assert_eq(now & set, set);
  ipc_signal_raise(SIGUSR1); /* blocked: stays pending, nobody dies */
  uint64_t pend;
  ipc_signal_pending(&pend);
  cr_assert_eq(pend & IPC_SIGBIT(SIGUSR1), IPC_SIGBIT(SIGUSR1));
  ipc_siginfo_t r;
  tu_assert_ret(ipc_signal_wait(IPC_SIGBIT(SIGUSR1), 0, &r), SIGUSR1);
  cr_assert_eq(r.code, SI_TKILL, "code %d", r.code);
  tu_assert_ok(ipc_signal_unblock(set, NULL));
  ipc_signal_mask(&now);
  cr_assert_eq(now, old);
  /* Bits nobody can block, or glibc's: refused, the mask untouched. */
  tu_assert_ret(ipc_signal_block(IPC_SIGBIT(SIGKILL), NULL), IPC_EINVAL);
  tu_assert_ret(ipc_signal_block(IPC_SIGBIT(SIGSTOP), NULL), IPC_EINVAL);
  tu_assert_ret(ipc_signal_block(IPC_SIGBIT(32), NULL), IPC_EINVAL);
  ipc_signal_mask(&now);
  cr_assert_eq(now, old);
}

Test(signal, wait_takes_a_queued_value_and_times_out) {
  uint64_t set = IPC_SIGBIT(SIGRTMIN + 1);
  tu_assert_ok(ipc_signal_block(set, NULL));
  tu_assert_ok(ipc_signal_queue(getpid(), SIGRTMIN + 1, -77));
  ipc_siginfo_t r;
  tu_assert_ret(ipc_signal_wait(set, 1000, &r), SIGRTMIN + 1);
  cr_assert_eq(r.value, -77);
  cr_assert_eq(r.code, SI_QUEUE);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_signal_wait(set, 100, &r), IPC_ETIMEDOUT);
  cr_assert_geq(tu_now_ms() - t0, 95);
  tu_assert_ret(ipc_signal_wait(set, 0, NULL), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_signal_wait(0, 10, &r), IPC_EINVAL);
  tu_assert_ret(ipc_signal_wait(IPC_SIGBIT(SIGKILL), 10, &r), IPC_EINVAL);
}

/* --------------------------------------------------------------- signalfd */

Test(signal, sigfd_reads_blocked_signals_and_puts_the_mask_back) {
  uint64_t before, now;
  ipc_signal_mask(&before);
  ipc_sigfd_t *a, *b;
  uint64_t set = IPC_SIGBIT(SIGUSR1) | IPC_SIGBIT(SIGUSR2);
  tu_assert_ok(ipc_sigfd_open(&a, set));
  cr_assert_eq(ipc_sigfd_set(a), set);
  cr_assert_eq(tu_cloexec(ipc_sigfd_fd(a)), 1);
  ipc_signal_mask(&now);
  cr_assert_eq(now & set, set);
  cr_assert(!readable(ipc_sigfd_fd(a)));
  tu_assert_ok(ipc_signal_queue(getpid(), SIGUSR2, 9));
  cr_assert(readable(ipc_sigfd_fd(a)));
  ipc_siginfo_t r;
  tu_assert_ret(ipc_sigfd_read(a, &r, 1000), SIGUSR2);
  cr_assert_eq(r.value, 9);
  cr_assert_eq(r.pid, getpid());
  tu_assert_ret(ipc_sigfd_read(a, &r, 50), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_sigfd_read(a, &r, 0), IPC_ETIMEDOUT);
  /* A second handle on USR1 keeps it blocked when the first closes. */
  tu_assert_ok(ipc_sigfd_open(&b, IPC_SIGBIT(SIGUSR1)));
  ipc_sigfd_close(a);
  ipc_signal_mask(&now);
  cr_assert_eq(now & set, IPC_SIGBIT(SIGUSR1));
  ipc_signal_raise(SIGUSR1);
  tu_assert_ret(ipc_sigfd_read(b, &r, 1000), SIGUSR1);
  ipc_sigfd_close(b);
  ipc_signal_mask(&now);
  cr_assert_eq(now, before);
  tu_assert_ret(ipc_sigfd_open(&a, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sigfd_open(&a, IPC_SIGBIT(SIGSTOP)), IPC_EINVAL);
  cr_assert_null(a);
}

/* ---------------------------------------------------------------- SIGCHLD */

Test(signal, a_sigchld_receiver_reaps_nothing) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGCHLD, 0));
  ipc_proc_t *p;
  pid_t pid = ipc_proc_fork(&p);
  tu_assert_ok(pid);
  if (pid == 0)
    _exit(7);
  ipc_siginfo_t r = take_one(q);
  cr_assert_eq(r.signo, SIGCHLD);
  cr_assert_eq(r.code, CLD_EXITED);
  cr_assert_eq(r.pid, pid);
  cr_assert_eq(r.status, 7);
  /* Still there to be reaped by its handle, with its status. */
  char path[64], state = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "the child was reaped behind our back");
  cr_assert_eq(fscanf(f, "%*d %*s %c", &state), 1);
  fclose(f);
  cr_assert_eq(state, 'Z');
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(p, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED);
  cr_assert_eq(st.code, 7);
  ipc_proc_close(p);
  tu_assert_no_children();
  ipc_sigqueue_close(q);
}

/* ------------------------------------------------------------------ waits */

/* The signal goes to a thread of ours that has it unblocked while the
 * waiting thread has it blocked: the wait's system call is never
 * interrupted, only the generation moves. */
static void *signal_catcher(void *arg) {
  (void)arg;
  uint64_t set = IPC_SIGBIT(SIGUSR1);
  ipc_signal_unblock(set, NULL);
  for (;;)
    pause();
  return NULL;
}

static pthread_t start_catcher(ipc_sigqueue_t **q) {
  tu_assert_ok(ipc_sigqueue_create(q, 0));
  tu_assert_ok(ipc_signal_handle(*q, SIGUSR1, 0));
  tu_assert_ok(ipc_signal_block(IPC_SIGBIT(SIGUSR1), NULL));
  pthread_t t;
  pthread_create(&t, NULL, signal_catcher, NULL);
  return t;
}

Test(signal, a_ring_wait_ends_when_a_signal_is_handled_elsewhere) {
  ipc_sigqueue_t *q;
  pthread_t t = start_catcher(&q);
  ipc_ring_t *ring;
  tu_assert_ok(ipc_ring_create_anon(&ring, NULL));
  char buf[16];
  double t0 = tu_now_ms();
  /* Sent to the process: only the catcher thread can take it. */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    tu_child_begin(parent);
    usleep(100000);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  tu_assert_ret(ipc_ring_pop(ring, buf, sizeof buf, 5000), IPC_EINTR);
  double took = tu_now_ms() - t0;
  cr_assert_lt(took, 2000, "the wait went on for %.0f ms", took);
  ipc_siginfo_t r = take_one(q);
  cr_assert_eq(r.signo, SIGUSR1);
  waitpid(pid, NULL, 0);
  pthread_cancel(t);
  pthread_join(t, NULL);
  ipc_ring_close(ring);
  ipc_sigqueue_close(q);
}

Test(signal, a_sysv_queue_wait_ends_when_a_signal_is_handled_elsewhere) {
  ipc_sigqueue_t *q;
  pthread_t t = start_catcher(&q);
  ipc_msg_t *mq;
  tu_assert_ok(ipc_msg_create(&mq, IPC_PRIVATE, 0));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    tu_child_begin(parent);
    usleep(100000);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  char buf[16];
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_msg_receive(mq, buf, sizeof buf, 0, NULL, 0, 5000),
                IPC_EINTR);
  cr_assert_lt(tu_now_ms() - t0, 2000);
  waitpid(pid, NULL, 0);
  pthread_cancel(t);
  pthread_join(t, NULL);
  ipc_msg_remove(mq);
  ipc_msg_close(mq);
  ipc_sigqueue_close(q);
}

Test(signal, a_blocked_pipe_read_gets_eintr_and_the_data_after) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGTERM, 0));
  ipc_pipe_t *r, *w;
  tu_assert_ok(ipc_pipe_create(&r, &w, 0));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    tu_child_begin(parent);
    usleep(100000);
    kill(parent, SIGTERM);
    usleep(100000);
    ipc_pipe_write(w, "done", 4, -1);
    _exit(0);
  }
  char buf[8];
  tu_assert_ret(ipc_pipe_read(r, buf, sizeof buf, -1), IPC_EINTR);
  ipc_siginfo_t rec = take_one(q);
  cr_assert_eq(rec.signo, SIGTERM);
  cr_assert_eq(rec.pid, pid);
  ssize_t n = ipc_pipe_read(r, buf, sizeof buf, 5000);
  tu_assert_bytes(buf, n, "done");
  waitpid(pid, NULL, 0);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
  ipc_sigqueue_close(q);
}

Test(signal, a_child_gets_an_eventfd_of_its_own) {
  ipc_sigqueue_t *q;
  tu_assert_ok(ipc_sigqueue_create(&q, 0));
  tu_assert_ok(ipc_signal_handle(q, SIGUSR2, 0));
  int fd = ipc_sigqueue_fd(q);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    tu_child_begin(parent);
    /* The same number, another object: the parent's wake-up is not ours. */
    int ok = ipc_sigqueue_fd(q) == fd && !readable(fd);
    ipc_signal_raise(SIGUSR2);
    ok = ok && readable(fd);
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  cr_assert(!readable(fd), "the child's record woke the parent");
  ipc_sigqueue_close(q);
}
