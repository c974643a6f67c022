/* tests/c/sock.c: sockets (ipc_sock_*): Unix stream, datagram and seqpacket,
 * TCP and UDP on loopback, between real processes; listen/accept/connect
 * with timeouts, message boundaries, abstract names, peer credentials,
 * descriptor passing, and every bad input (a path too long, nobody
 * listening, a closed descriptor). Socket files are registered and the
 * suite's fini removes them even after a failure. */
#include "testutil.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* --------------------------------------------------------------- cleanup */

static char made_paths[8][IPC_SOCK_ADDR_MAX];
static int n_paths;

/* A Unix path address unique to this test process,
 * "<scheme>:/tmp/libipc-test-<pid>-<tag>.sock", removed by the fini. */
static const char *taddr(const char *scheme, const char *tag) {
  static char addrs[8][IPC_SOCK_ADDR_MAX];
  cr_assert_lt(n_paths, 8);
  char *path = made_paths[n_paths];
  snprintf(path, IPC_SOCK_ADDR_MAX, "/tmp/libipc-test-%d-%s.sock",
           (int)getpid(), tag);
  unlink(path);
  snprintf(addrs[n_paths], IPC_SOCK_ADDR_MAX, "%s:%s", scheme, path);
  return addrs[n_paths++];
}

static char made_dir[64];

/* A directory unique to this test process, emptied and removed by the
 * fini. */
static const char *tdir(const char *tag) {
  snprintf(made_dir, sizeof made_dir, "/tmp/libipc-test-%d-%s", (int)getpid(),
           tag);
  cr_assert_eq(mkdir(made_dir, 0700), 0, "mkdir %s: %s", made_dir,
               strerror(errno));
  return made_dir;
}

static void cleanup(void) {
  for (int i = 0; i < n_paths; i++)
    unlink(made_paths[i]);
  if (made_dir[0]) {
    DIR *d = opendir(made_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
      if (e->d_name[0] != '.')
        unlinkat(dirfd(d), e->d_name, 0);
    if (d)
      closedir(d);
    rmdir(made_dir);
  }
  tu_cleanup();
}

TestSuite(sock, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

/* The path part of a "unix...:/path" address. */
static const char *path_of(const char *addr) { return strchr(addr, ':') + 1; }

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* The address of s as a string (static storage, one at a time). */
static const char *addr_of(ipc_sock_t *s) {
  static char buf[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(s, buf, sizeof buf));
  return buf;
}

static void pair(ipc_sock_t **a, ipc_sock_t **b, int type) {
  tu_assert_ret(ipc_sock_pair(a, b, type), 0);
  cr_assert_not_null(*a);
  cr_assert_not_null(*b);
}

static void put(ipc_sock_t *s, const char *msg) {
  tu_assert_ret(ipc_sock_send(s, msg, strlen(msg), 1000), strlen(msg));
}

/* Receives one message (or one read) and checks it is want. */
static void get(ipc_sock_t *s, const char *want) {
  char buf[256];
  ssize_t n = ipc_sock_recv(s, buf, sizeof buf, 2000);
  tu_assert_bytes(buf, n, want);
}

/* Forks a child that runs fn(arg) and exits with its result; returns the
 * handle. The child dies with the parent. */
static ipc_proc_t *child(int (*fn)(void *), void *arg) {
  ipc_proc_t *p;
  pid_t parent = getpid();
  pid_t pid = ipc_proc_fork(&p);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    _exit(fn(arg));
  }
  return p;
}

/* Waits for the child and asserts it exited with 0. */
static void reap(ipc_proc_t *p) {
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(p, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_EXITED, "child state %d signal %d", st.state,
               st.signal);
  cr_assert_eq(st.code, 0, "child exit code %d", st.code);
  ipc_proc_close(p);
}

/* ----------------------------------------------------------- socketpairs */

Test(sock, pair_gives_two_connected_close_on_exec_unix_sockets, .timeout = 10) {
  static const int types[] = {IPC_SOCK_STREAM, IPC_SOCK_DGRAM,
                              IPC_SOCK_SEQPACKET};
  int before = tu_count_fds();
  for (int i = 0; i < 3; i++) {
    ipc_sock_t *a, *b;
    pair(&a, &b, types[i]);
    cr_assert_eq(ipc_sock_type(a), types[i]);
    cr_assert_eq(ipc_sock_is_unix(a), 1);
    cr_assert_eq(ipc_sock_is_listener(a), 0);
    cr_assert_eq(tu_cloexec(ipc_sock_fd(a)), 1);
    cr_assert_eq(tu_cloexec(ipc_sock_fd(b)), 1);
    /* Blocking, so that a program handed the descriptor sees a plain one. */
    cr_assert_eq(fcntl(ipc_sock_fd(a), F_GETFL) & O_NONBLOCK, 0);
    put(a, "ping");
    get(b, "ping");
    put(b, "pong");
    get(a, "pong");
    tu_assert_ret(ipc_sock_close(a), 0);
    tu_assert_ret(ipc_sock_close(b), 0);
  }
  ipc_sock_t *a, *b;
  tu_assert_ret(ipc_sock_pair(&a, &b, 0), IPC_EINVAL);
  cr_assert_null(a);
  cr_assert_null(b);
  tu_assert_ret(ipc_sock_pair(&a, &b, 99), IPC_EINVAL);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

static ipc_sock_t *echo_sock;

/* Child: echoes every read back until end of file. */
static int echo_stream(void *arg) {
  (void)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = ipc_sock_recv(echo_sock, buf, sizeof buf, 5000);
    if (n == IPC_EOF)
      return 0;
    if (n < 0 || ipc_sock_send(echo_sock, buf, (size_t)n, 5000) != n)
      return 1;
  }
}

Test(sock, a_stream_pair_carries_a_mebibyte_to_a_child_and_back,
     .timeout = 10) {
  enum { TOTAL = 1 << 20 };
  ipc_sock_t *a;
  pair(&a, &echo_sock, IPC_SOCK_STREAM);
  ipc_proc_t *p = child(echo_stream, NULL);
  ipc_sock_close(echo_sock);
  static char out[TOTAL], in[TOTAL];
  for (size_t i = 0; i < TOTAL; i++)
    out[i] = (char)(i * 7 + i / 4096);
  /* Send in pieces and read back as we go, so neither side's buffer fills
   * while the other waits. */
  size_t sent = 0, got = 0;
  while (got < TOTAL) {
    if (sent < TOTAL) {
      size_t k = TOTAL - sent < 30000 ? TOTAL - sent : 30000;
      tu_assert_ret(ipc_sock_send(a, out + sent, k, 5000), k);
      sent += k;
    }
    while (got < sent) {
      ssize_t n = ipc_sock_recv(a, in + got, sent - got, 5000);
      tu_assert_ok(n);
      got += (size_t)n;
    }
  }
  cr_assert(memcmp(in, out, TOTAL) == 0, "the echo differs");
  tu_assert_ret(ipc_sock_shutdown(a, IPC_SOCK_SHUT_WR), 0);
  char c;
  tu_assert_ret(ipc_sock_recv(a, &c, 1, 5000), IPC_EOF);
  reap(p);
  ipc_sock_close(a);
}

Test(sock, datagram_and_seqpacket_keep_message_boundaries, .timeout = 10) {
  static const int types[] = {IPC_SOCK_DGRAM, IPC_SOCK_SEQPACKET};
  for (int i = 0; i < 2; i++) {
    ipc_sock_t *a, *b;
    pair(&a, &b, types[i]);
    put(a, "one");
    put(a, "");
    put(a, "three!");
    char buf[64];
    tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), 3);
    tu_assert_bytes(buf, 3, "one");
    tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), 0);
    tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), 6);
    tu_assert_bytes(buf, 6, "three!");
    /* A message longer than the buffer: its real length comes back, the
     * first bytes are stored, the rest is gone (never mixed into the next
     * message). */
    put(a, "0123456789");
    put(a, "next");
    tu_assert_ret(ipc_sock_recv(b, buf, 4, 1000), 10);
    tu_assert_bytes(buf, 4, "0123");
    get(b, "next");
    ipc_sock_close(a);
    ipc_sock_close(b);
  }
}

Test(sock, seqpacket_reports_eof_once_the_peer_is_gone, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_SEQPACKET);
  put(a, "last");
  put(a, "");
  ipc_sock_close(a);
  char buf[16];
  get(b, "last");
  /* The kernel gives 0 for an empty message and for the end alike; once
   * the peer has gone, libipc calls it the end. */
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), IPC_EOF);
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), IPC_EOF);
  ipc_sock_close(b);
  /* An empty message from a live peer is an empty message. */
  pair(&a, &b, IPC_SOCK_SEQPACKET);
  put(a, "");
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), 0);
  ipc_sock_close(a);
  ipc_sock_close(b);
}

/* ------------------------------------------------------ timeouts, signals */

Test(sock, recv_times_out_and_a_late_message_still_arrives, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  char buf[8];
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50.0);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 50), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 50.0 && dt < 1000.0, "a 50 ms timeout took %.1f ms", dt);
  put(a, "late");
  get(b, "late");
  ipc_sock_close(a);
  ipc_sock_close(b);
}

Test(sock, a_signal_interrupts_a_wait_with_eintr, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_DGRAM);
  char buf[8];
  tu_alarm_in(30);
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, -1), IPC_EINTR);
  tu_alarm_in(30);
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 5000), IPC_EINTR);
  cr_assert_eq(tu_alarms, 2);
  put(a, "after");
  get(b, "after");
  ipc_sock_close(a);
  ipc_sock_close(b);
}

Test(sock, a_stream_send_to_a_reader_that_never_reads_times_out_short,
     .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  static char big[8 << 20];
  double t0 = tu_now_ms();
  ssize_t n = ipc_sock_send(a, big, sizeof big, 100);
  double dt = tu_now_ms() - t0;
  cr_assert(n > 0 && (size_t)n < sizeof big, "send gave %zd", n);
  cr_assert(dt >= 100.0 && dt < 2000.0, "a 100 ms timeout took %.1f ms", dt);
  tu_assert_ret(ipc_sock_send(a, big, sizeof big, 0), IPC_ETIMEDOUT);
  ipc_sock_close(a);
  ipc_sock_close(b);
}

Test(sock, a_datagram_send_to_a_full_receiver_times_out, .timeout = 10) {
  /* Connected: poll sees the receiver's queue. */
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_DGRAM);
  char msg[512] = {0};
  int sent = 0;
  while (ipc_sock_send(a, msg, sizeof msg, 0) == (ssize_t)sizeof msg)
    sent++;
  cr_assert_gt(sent, 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_send(a, msg, sizeof msg, 60), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 60.0 && dt < 2000.0, "a 60 ms timeout took %.1f ms", dt);
  char buf[512];
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 0), sizeof msg);
  tu_assert_ret(ipc_sock_send(a, msg, sizeof msg, 1000), sizeof msg);
  ipc_sock_close(a);
  ipc_sock_close(b);

  /* Unconnected (sendto): poll cannot see the receiver, libipc backs off. */
  const char *addr = taddr("unixgram", "full");
  ipc_sock_t *srv, *cli;
  tu_assert_ret(ipc_sock_listen(&srv, addr, NULL), 0);
  tu_assert_ret(ipc_sock_listen(&cli, "unixgram:@", NULL), 0);
  ipc_sock_msg_t m = {.data = msg, .len = sizeof msg, .addr = (char *)addr};
  while (ipc_sock_sendmsg(cli, &m, 0) == (ssize_t)sizeof msg)
    ;
  t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_sendmsg(cli, &m, 60), IPC_ETIMEDOUT);
  dt = tu_now_ms() - t0;
  cr_assert(dt >= 60.0 && dt < 2000.0, "a 60 ms timeout took %.1f ms", dt);
  ipc_sock_close(srv);
  ipc_sock_close(cli);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
}

Test(sock, sending_to_a_closed_peer_returns_epipe_and_raises_no_sigpipe,
     .timeout = 10) {
  /* SIGPIPE at its default would kill this test. */
  cr_assert_eq(signal(SIGPIPE, SIG_DFL), SIG_DFL);
  static const int types[] = {IPC_SOCK_STREAM, IPC_SOCK_SEQPACKET};
  for (int i = 0; i < 2; i++) {
    ipc_sock_t *a, *b;
    pair(&a, &b, types[i]);
    ipc_sock_close(b);
    tu_assert_ret(ipc_sock_send(a, "x", 1, 1000), IPC_EPIPE);
    tu_assert_ret(ipc_sock_send(a, "x", 1, -1), IPC_EPIPE);
    ipc_sock_close(a);
  }
  sigset_t pending;
  sigpending(&pending);
  cr_assert_eq(sigismember(&pending, SIGPIPE), 0);
}

/* --------------------------------------------------- listen, accept, connect
 */

static const char *child_addr;

/* Child: connects to child_addr, says who it is, echoes one message. */
static int client(void *arg) {
  (void)arg;
  ipc_sock_t *s;
  if (ipc_sock_connect(&s, child_addr, 5000) < 0)
    return 1;
  char buf[64];
  ssize_t n = ipc_sock_recv(s, buf, sizeof buf, 5000);
  if (n <= 0 || ipc_sock_send(s, buf, (size_t)n, 5000) != n)
    return 2;
  return ipc_sock_close(s) < 0 ? 3 : 0;
}

/* Accepts one client child on l and checks the echo and its credentials. */
static void serve_one(ipc_sock_t *l, const char *addr) {
  child_addr = addr;
  ipc_proc_t *p = child(client, NULL);
  ipc_sock_t *c;
  tu_assert_ret(ipc_sock_accept(l, &c, 5000), 0);
  cr_assert_eq(tu_cloexec(ipc_sock_fd(c)), 1);
  cr_assert_eq(fcntl(ipc_sock_fd(c), F_GETFL) & O_NONBLOCK, 0);
  cr_assert_eq(ipc_sock_type(c), ipc_sock_type(l));
  if (ipc_sock_is_unix(c)) {
    ipc_sock_cred_t cred;
    tu_assert_ret(ipc_sock_peercred(c, &cred), 0);
    cr_assert_eq(cred.pid, ipc_proc_pid(p));
    cr_assert_eq(cred.uid, getuid());
    cr_assert_eq(cred.gid, getgid());
  }
  put(c, "hello");
  get(c, "hello");
  char buf[4];
  tu_assert_ret(ipc_sock_recv(c, buf, sizeof buf, 5000), IPC_EOF);
  ipc_sock_close(c);
  reap(p);
}

Test(sock, a_unix_listener_serves_a_child_and_its_file_is_0600, .timeout = 10) {
  int before = tu_count_fds();
  const char *addr = taddr("unix", "listen");
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, addr, NULL), 0);
  cr_assert_eq(ipc_sock_is_listener(l), 1);
  cr_assert_eq(tu_cloexec(ipc_sock_fd(l)), 1);
  cr_assert_str_eq(addr_of(l), addr);
  struct stat st;
  cr_assert_eq(lstat(path_of(addr), &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
  serve_one(l, addr);
  /* A listener is not for data. */
  char buf[4];
  tu_assert_ret(ipc_sock_recv(l, buf, sizeof buf, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sock_send(l, buf, 1, 0), IPC_EINVAL);
  /* close never removes the file; unlink does. */
  ipc_sock_close(l);
  cr_assert(exists(path_of(addr)));
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  cr_assert(!exists(path_of(addr)));
  tu_assert_ret(ipc_sock_unlink(addr), IPC_ENOENT);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, a_seqpacket_listener_serves_a_child, .timeout = 10) {
  const char *addr = taddr("unixpacket", "seq");
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, addr, NULL), 0);
  cr_assert_eq(ipc_sock_type(l), IPC_SOCK_SEQPACKET);
  serve_one(l, addr);
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
}

Test(sock, listen_applies_the_mode_given, .timeout = 10) {
  const char *addr = taddr("unix", "mode");
  ipc_sock_t *l;
  ipc_sock_opts_t o = {.mode = 0660};
  tu_assert_ret(ipc_sock_listen(&l, addr, &o), 0);
  struct stat st;
  cr_assert_eq(lstat(path_of(addr), &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  o.mode = 01777;
  tu_assert_ret(ipc_sock_listen(&l, addr, &o), IPC_EINVAL);
  cr_assert(!exists(path_of(addr)));
}

Test(sock, abstract_names_connect_and_leave_no_file, .timeout = 10) {
  char addr[IPC_SOCK_ADDR_MAX];
  snprintf(addr, sizeof addr, "unix:@libipc-test-%d", (int)getpid());
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, addr, NULL), 0);
  cr_assert_str_eq(addr_of(l), addr);
  serve_one(l, addr);
  /* Taken while it lives, free once closed: nothing to unlink. */
  ipc_sock_t *again;
  tu_assert_ret(ipc_sock_listen(&again, addr, NULL), IPC_EADDRINUSE);
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_listen(&again, addr, NULL), 0);
  ipc_sock_close(again);
  tu_assert_ret(ipc_sock_unlink(addr), IPC_EINVAL);
}

Test(sock, an_empty_abstract_name_lets_the_kernel_choose_one, .timeout = 10) {
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, "unix:@", NULL), 0);
  char addr[IPC_SOCK_ADDR_MAX];
  ssize_t n = ipc_sock_address(l, addr, sizeof addr);
  cr_assert(n > 6 && strncmp(addr, "unix:@", 6) == 0, "got %s", addr);
  serve_one(l, addr);
  ipc_sock_close(l);
}

Test(sock, tcp_on_port_zero_tells_its_port_and_serves_a_child, .timeout = 10) {
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", NULL), 0);
  cr_assert_eq(ipc_sock_is_unix(l), 0);
  char addr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(l, addr, sizeof addr));
  unsigned port = 0;
  cr_assert_eq(sscanf(addr, "tcp:127.0.0.1:%u", &port), 1, "got %s", addr);
  cr_assert(port > 0 && port < 65536);
  serve_one(l, addr);
  ipc_sock_cred_t cred;
  tu_assert_ret(ipc_sock_peercred(l, &cred), IPC_ENOTSUP);
  ipc_sock_close(l);
}

Test(sock, tcp_works_on_ipv6_loopback, .timeout = 10) {
  ipc_sock_t *l;
  int rc = ipc_sock_listen(&l, "tcp:[::1]:0", NULL);
  if (rc == IPC_EADDRNOTAVAIL || rc == -EAFNOSUPPORT)
    cr_skip_test("no IPv6 loopback here");
  tu_assert_ret(rc, 0);
  char addr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(l, addr, sizeof addr));
  cr_assert(strncmp(addr, "tcp:[::1]:", 10) == 0, "got %s", addr);
  serve_one(l, addr);
  ipc_sock_close(l);
}

Test(sock, accept_waits_at_most_its_timeout, .timeout = 10) {
  ipc_sock_t *l, *c;
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", NULL), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_accept(l, &c, 0), IPC_ETIMEDOUT);
  cr_assert_null(c);
  tu_assert_ret(ipc_sock_accept(l, &c, 50), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 50.0 && dt < 1000.0, "a 50 ms timeout took %.1f ms", dt);
  tu_alarm_in(30);
  tu_assert_ret(ipc_sock_accept(l, &c, -1), IPC_EINTR);
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  tu_assert_ret(ipc_sock_accept(a, &c, 0), IPC_EINVAL); /* not a listener */
  ipc_sock_close(a);
  ipc_sock_close(b);
  ipc_sock_close(l);
}

/* Fills the listen queue of l (made with backlog 1) with connections that
 * nobody accepts; returns how many went in (kept in held[]). */
static int fill_queue(const char *addr, ipc_sock_t **held, int max) {
  int n = 0;
  while (n < max && ipc_sock_connect(&held[n], addr, 0) == 0)
    n++;
  cr_assert(n > 0 && n < max, "the queue took %d connections", n);
  return n;
}

Test(sock, connect_times_out_when_the_unix_listen_queue_is_full,
     .timeout = 10) {
  int before = tu_count_fds();
  const char *addr = taddr("unix", "queue");
  ipc_sock_t *l, *held[16], *s;
  ipc_sock_opts_t o = {.backlog = 1};
  tu_assert_ret(ipc_sock_listen(&l, addr, &o), 0);
  int n = fill_queue(addr, held, 16);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_connect(&s, addr, 100), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert_null(s);
  cr_assert(dt >= 100.0 && dt < 2000.0, "a 100 ms timeout took %.1f ms", dt);
  /* Room made by an accept lets the next connect in. */
  ipc_sock_t *c;
  tu_assert_ret(ipc_sock_accept(l, &c, 1000), 0);
  tu_assert_ret(ipc_sock_connect(&s, addr, 1000), 0);
  /* The socket a timed connect returns has no timeout of its own left. */
  struct timeval tv;
  socklen_t len = sizeof tv;
  cr_assert_eq(getsockopt(ipc_sock_fd(s), SOL_SOCKET, SO_SNDTIMEO, &tv, &len),
               0);
  cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
  cr_assert_eq(fcntl(ipc_sock_fd(s), F_GETFL) & O_NONBLOCK, 0);
  ipc_sock_close(s);
  ipc_sock_close(c);
  for (int i = 0; i < n; i++)
    ipc_sock_close(held[i]);
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, connect_times_out_when_the_tcp_listen_queue_is_full, .timeout = 10) {
  ipc_sock_t *l, *held[16], *s;
  ipc_sock_opts_t o = {.backlog = 1};
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", &o), 0);
  char addr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(l, addr, sizeof addr));
  /* TCP connects complete in the background: fill with timed ones. */
  int n = 0;
  while (n < 16 && ipc_sock_connect(&held[n], addr, 200) == 0)
    n++;
  cr_assert(n > 0 && n < 16, "the queue took %d connections", n);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sock_connect(&s, addr, 100), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 100.0 && dt < 2000.0, "a 100 ms timeout took %.1f ms", dt);
  for (int i = 0; i < n; i++)
    ipc_sock_close(held[i]);
  ipc_sock_close(l);
}

Test(sock, connecting_where_nobody_listens_is_refused_and_leaves_nothing,
     .timeout = 10) {
  int before = tu_count_fds();
  ipc_sock_t *s;
  /* A socket file whose listener has gone. */
  const char *addr = taddr("unix", "dead");
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, addr, NULL), 0);
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_connect(&s, addr, 1000), IPC_ECONNREFUSED);
  cr_assert_null(s);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  /* No file at all; an abstract name nobody holds. */
  tu_assert_ret(ipc_sock_connect(&s, addr, 1000), IPC_ENOENT);
  cr_assert(!exists(path_of(addr)), "connect made a file");
  char abs[64];
  snprintf(abs, sizeof abs, "unix:@libipc-test-%d-nobody", (int)getpid());
  tu_assert_ret(ipc_sock_connect(&s, abs, 1000), IPC_ECONNREFUSED);
  /* A TCP port that was just closed. */
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", NULL), 0);
  char tcp[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(l, tcp, sizeof tcp));
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_connect(&s, tcp, 1000), IPC_ECONNREFUSED);
  cr_assert_null(s);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, a_path_longer_than_the_limit_is_refused_never_truncated,
     .timeout = 10) {
  int before = tu_count_fds();
  /* 107 bytes fit; 108 do not. Both in a fresh directory of ours. */
  const char *dir = tdir("long");
  char path[IPC_SOCK_PATH_MAX + 2], addr[IPC_SOCK_ADDR_MAX];
  size_t dl = strlen(dir);
  memcpy(path, dir, dl);
  path[dl] = '/';
  memset(path + dl + 1, 'x', IPC_SOCK_PATH_MAX + 1 - dl - 1);
  path[IPC_SOCK_PATH_MAX + 1] = '\0'; /* 108 bytes */
  snprintf(addr, sizeof addr, "unix:%s", path);
  ipc_sock_t *s;
  tu_assert_ret(ipc_sock_listen(&s, addr, NULL), IPC_ENAMETOOLONG);
  cr_assert_null(s);
  tu_assert_ret(ipc_sock_connect(&s, addr, 0), IPC_ENAMETOOLONG);
  tu_assert_ret(ipc_sock_unlink(addr), IPC_ENAMETOOLONG);
  ipc_sock_msg_t m = {.data = "x", .len = 1, .addr = addr};
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 0), IPC_ENAMETOOLONG);
  ipc_sock_close(a);
  ipc_sock_close(b);
  /* Nothing was made: not the long name, not its 107-byte truncation. */
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  struct dirent *e;
  int entries = 0;
  while ((e = readdir(d)) != NULL)
    entries += e->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(entries, 0, "the directory is not empty");
  char abs[IPC_SOCK_PATH_MAX + 16] = "unix:@";
  memset(abs + 6, 'a', IPC_SOCK_PATH_MAX + 1);
  tu_assert_ret(ipc_sock_listen(&s, abs, NULL), IPC_ENAMETOOLONG);
  const char *why;
  tu_assert_ret(ipc_sock_addr_check(addr, &why), IPC_ENAMETOOLONG);
  cr_assert_str_eq(why, "the path is longer than 107 bytes");
  /* 107 bytes exactly is the limit, and it works. */
  path[IPC_SOCK_PATH_MAX] = '\0';
  snprintf(addr, sizeof addr, "unix:%s", path);
  tu_assert_ret(ipc_sock_listen(&s, addr, NULL), 0);
  cr_assert_str_eq(addr_of(s), addr);
  ipc_sock_close(s);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  abs[6 + IPC_SOCK_PATH_MAX] = '\0';
  tu_assert_ret(ipc_sock_listen(&s, abs, NULL), 0);
  ipc_sock_close(s);
  cr_assert_eq(rmdir(dir), 0);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, malformed_addresses_are_einval, .timeout = 10) {
  static const char *const bad[] = {
      "",
      "unix",
      "unix:",
      "pipe:/tmp/x",
      "UNIX:/tmp/x",
      "tcp:127.0.0.1",
      "tcp:127.0.0.1:",
      "tcp:127.0.0.1:65536",
      "tcp:127.0.0.1:-1",
      "tcp:127.0.0.1:+80",
      "tcp:127.0.0.1:80x",
      "tcp:localhost:80",
      "tcp:1:80",
      "tcp:::1:80",
      "tcp:[::1:80",
      "tcp:[::1]80",
      "tcp:[zz]:80",
      "udp::80",
  };
  int before = tu_count_fds();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ipc_sock_t *s;
    cr_assert_eq(ipc_sock_listen(&s, bad[i], NULL), IPC_EINVAL, "listen '%s'",
                 bad[i]);
    cr_assert_eq(ipc_sock_connect(&s, bad[i], 0), IPC_EINVAL, "connect '%s'",
                 bad[i]);
  }
  /* ipc_sock_addr_check says why, without touching anything. */
  const char *why = NULL;
  tu_assert_ret(ipc_sock_addr_check("tcp:127.0.0.1:99999", &why), IPC_EINVAL);
  cr_assert_str_eq(why, "the port must be a number from 0 to 65535");
  tu_assert_ret(ipc_sock_addr_check("tcp:localhost:80", &why), IPC_EINVAL);
  cr_assert(strstr(why, "numeric IPv4") != NULL, "why: %s", why);
  tu_assert_ret(ipc_sock_addr_check("sctp:1.2.3.4:5", &why), IPC_EINVAL);
  cr_assert(strstr(why, "must start with unix:") != NULL, "why: %s", why);
  tu_assert_ret(ipc_sock_addr_check("unixgram:/tmp/x", &why), 0);
  cr_assert_null(why);
  tu_assert_ret(ipc_sock_addr_check("udp:[::1]:53", NULL), 0);
  tu_assert_ret(ipc_sock_unlink("tcp:127.0.0.1:80"), IPC_EINVAL);
  ipc_sock_t *s;
  tu_assert_ret(ipc_sock_connect(&s, NULL, 0), IPC_EINVAL);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, reuse_replaces_a_dead_listeners_file_but_never_a_live_one,
     .timeout = 10) {
  const char *addr = taddr("unix", "reuse");
  ipc_sock_opts_t o = {.reuse = 1};
  ipc_sock_t *l, *l2;
  tu_assert_ret(ipc_sock_listen(&l, addr, NULL), 0);
  tu_assert_ret(ipc_sock_listen(&l2, addr, &o), IPC_EADDRINUSE);
  ipc_sock_close(l); /* the file stays, as after a crash */
  tu_assert_ret(ipc_sock_listen(&l2, addr, NULL), IPC_EADDRINUSE);
  tu_assert_ret(ipc_sock_listen(&l2, addr, &o), 0);
  serve_one(l2, addr);
  ipc_sock_close(l2);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
  /* A regular file is never replaced, nor unlinked as if it were ours. */
  int fd = open(path_of(addr), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  tu_assert_ret(ipc_sock_listen(&l2, addr, &o), IPC_EADDRINUSE);
  tu_assert_ret(ipc_sock_unlink(addr), IPC_ENOTSOCK);
  cr_assert(exists(path_of(addr)));
  cr_assert_eq(unlink(path_of(addr)), 0);
}

/* ------------------------------------------------------------- datagrams */

static const char *server_addr;

/* Child: sends "ping <i>" three times to server_addr from a connected
 * unixgram/udp socket and expects each answer. */
static int dgram_client(void *arg) {
  (void)arg;
  ipc_sock_t *s;
  if (ipc_sock_connect(&s, server_addr, 5000) < 0)
    return 1;
  for (int i = 0; i < 3; i++) {
    char msg[32], buf[64];
    int n = snprintf(msg, sizeof msg, "ping %d", i);
    if (ipc_sock_send(s, msg, (size_t)n, 5000) != n)
      return 2;
    ssize_t r = ipc_sock_recv(s, buf, sizeof buf, 5000);
    if (r != n + 1 || buf[0] != 'P' || memcmp(buf + 1, msg, (size_t)n) != 0)
      return 3;
  }
  ipc_sock_close(s);
  return 0;
}

/* Answers three datagrams on srv by prefixing them with "P". */
static void dgram_serve(ipc_sock_t *srv, const char *addr) {
  server_addr = addr;
  ipc_proc_t *p = child(dgram_client, NULL);
  for (int i = 0; i < 3; i++) {
    char buf[64], from[IPC_SOCK_ADDR_MAX];
    ipc_sock_msg_t m = {
        .data = buf + 1, .len = sizeof buf - 1, .addr = from, .addrcap = 64};
    ssize_t n = ipc_sock_recvmsg(srv, &m, 5000);
    tu_assert_ok(n);
    cr_assert(from[0] != '\0', "the sender has no address");
    buf[0] = 'P';
    m.data = buf;
    m.len = (size_t)n + 1;
    tu_assert_ret(ipc_sock_sendmsg(srv, &m, 5000), n + 1);
  }
  reap(p);
}

Test(sock, a_unixgram_server_answers_a_connected_child, .timeout = 10) {
  const char *addr = taddr("unixgram", "dgram");
  ipc_sock_t *srv;
  tu_assert_ret(ipc_sock_listen(&srv, addr, NULL), 0);
  cr_assert_eq(ipc_sock_is_listener(srv), 0);
  cr_assert_eq(ipc_sock_type(srv), IPC_SOCK_DGRAM);
  dgram_serve(srv, addr);
  ipc_sock_close(srv);
  tu_assert_ret(ipc_sock_unlink(addr), 0);
}

Test(sock, a_udp_server_answers_a_connected_child, .timeout = 10) {
  ipc_sock_t *srv;
  tu_assert_ret(ipc_sock_listen(&srv, "udp:127.0.0.1:0", NULL), 0);
  char addr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(srv, addr, sizeof addr));
  cr_assert(strncmp(addr, "udp:127.0.0.1:", 14) == 0, "got %s", addr);
  dgram_serve(srv, addr);
  ipc_sock_close(srv);
}

Test(sock, udp_sendto_and_recvfrom_name_both_ends, .timeout = 10) {
  ipc_sock_t *a, *b;
  tu_assert_ret(ipc_sock_listen(&a, "udp:127.0.0.1:0", NULL), 0);
  tu_assert_ret(ipc_sock_listen(&b, "udp:127.0.0.1:0", NULL), 0);
  char aaddr[IPC_SOCK_ADDR_MAX], baddr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(a, aaddr, sizeof aaddr));
  tu_assert_ok(ipc_sock_address(b, baddr, sizeof baddr));
  ipc_sock_msg_t m = {.data = "datagram", .len = 8, .addr = baddr};
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 1000), 8);
  char buf[16], from[IPC_SOCK_ADDR_MAX];
  ipc_sock_msg_t r = {
      .data = buf, .len = sizeof buf, .addr = from, .addrcap = sizeof from};
  tu_assert_ret(ipc_sock_recvmsg(b, &r, 1000), 8);
  tu_assert_bytes(buf, 8, "datagram");
  cr_assert_str_eq(from, aaddr);
  /* A Unix address for a UDP socket is refused before anything is sent. */
  m.addr = "unixgram:/tmp/x";
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 0), IPC_EINVAL);
  ipc_sock_close(a);
  ipc_sock_close(b);
}

/* ------------------------------------------------- descriptor passing */

static ipc_sock_t *fd_sock;

/* Child: receives a pipe's write end, a socket and a memfd in one message,
 * writes through the first two and reads a word from the third. */
static int fd_receiver(void *arg) {
  (void)arg;
  char buf[16];
  int fds[8];
  ipc_sock_msg_t m = {.data = buf, .len = sizeof buf, .fds = fds, .nfds = 8};
  ssize_t n = ipc_sock_recvmsg(fd_sock, &m, 5000);
  if (n != 5 || memcmp(buf, "three", 5) != 0 || m.nfds != 3)
    return 1;
  for (int i = 0; i < 3; i++)
    if (tu_cloexec(fds[i]) != 1)
      return 2;
  if (write(fds[0], "via pipe", 8) != 8)
    return 3;
  if (send(fds[1], "via sock", 8, 0) != 8)
    return 4;
  char word[8] = {0};
  if (pread(fds[2], word, 5, 0) != 5 || memcmp(word, "memfd", 5) != 0)
    return 5;
  for (int i = 0; i < 3; i++)
    close(fds[i]);
  return 0;
}

Test(sock, several_descriptors_travel_in_one_message_to_a_child,
     .timeout = 10) {
  int before = tu_count_fds();
  ipc_sock_t *a, *x, *y;
  pair(&a, &fd_sock, IPC_SOCK_SEQPACKET);
  ipc_proc_t *p = child(fd_receiver, NULL);
  ipc_sock_close(fd_sock);
  ipc_pipe_t *r, *w;
  tu_assert_ret(ipc_pipe_create(&r, &w, 0), 0);
  pair(&x, &y, IPC_SOCK_STREAM);
  int mfd = memfd_create("libipc-test", MFD_CLOEXEC);
  cr_assert_geq(mfd, 0);
  cr_assert_eq(write(mfd, "memfd", 5), 5);
  int fds[3] = {ipc_pipe_fd(w), ipc_sock_fd(y), mfd};
  ipc_sock_msg_t m = {.data = "three", .len = 5, .fds = fds, .nfds = 3};
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 1000), 5);
  /* Ours stay ours: close them, so the child's copies are the last. */
  ipc_pipe_close(w);
  ipc_sock_close(y);
  close(mfd);
  char buf[16];
  tu_assert_ret(ipc_pipe_read_exact(r, buf, 8, 5000), 8);
  tu_assert_bytes(buf, 8, "via pipe");
  get(x, "via sock");
  reap(p);
  tu_assert_ret(ipc_pipe_read(r, buf, 1, 1000), IPC_EOF);
  tu_assert_ret(ipc_sock_recv(x, buf, 1, 1000), IPC_EOF);
  ipc_pipe_close(r);
  ipc_sock_close(x);
  ipc_sock_close(a);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, descriptors_on_a_stream_come_with_their_bytes, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  tu_assert_ret(ipc_sock_send(a, "before", 6, 1000), 6);
  ipc_sock_msg_t m = {.data = "with", .len = 4, .fds = &p[1], .nfds = 1};
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 1000), 4);
  tu_assert_ret(ipc_sock_send(a, "after", 5, 1000), 5);
  close(p[1]);
  /* A read may take earlier plain bytes along, but stops right after the
   * bytes that carry descriptors: these never drift into a later read. */
  char buf[64];
  int fds[4];
  ipc_sock_msg_t r = {.data = buf, .len = sizeof buf, .fds = fds, .nfds = 4};
  ssize_t n = ipc_sock_recvmsg(b, &r, 1000);
  tu_assert_bytes(buf, n, "beforewith");
  cr_assert_eq(r.nfds, 1);
  r.nfds = 4;
  n = ipc_sock_recvmsg(b, &r, 1000);
  tu_assert_bytes(buf, n, "after");
  cr_assert_eq(r.nfds, 0);
  cr_assert_eq(write(fds[0], "!", 1), 1);
  close(fds[0]);
  cr_assert_eq(read(p[0], buf, 2), 1);
  close(p[0]);
  /* Zero bytes cannot carry descriptors on a stream; TCP carries none. */
  m.len = 0;
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 0), IPC_EINVAL);
  ipc_sock_close(a);
  ipc_sock_close(b);
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", NULL), 0);
  char addr[IPC_SOCK_ADDR_MAX];
  tu_assert_ok(ipc_sock_address(l, addr, sizeof addr));
  tu_assert_ret(ipc_sock_connect(&a, addr, 1000), 0);
  int live = ipc_sock_fd(l);
  m.len = 4;
  m.fds = &live;
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 0), IPC_EINVAL);
  ipc_sock_close(a);
  ipc_sock_close(l);
}

Test(sock, passing_a_closed_descriptor_is_ebadf_and_sends_nothing,
     .timeout = 10) {
  int before = tu_count_fds();
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_DGRAM);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  int fds[2] = {p[0], p[1]};
  close(p[1]); /* now closed: the message must not go, p[0] neither */
  ipc_sock_msg_t m = {.data = "x", .len = 1, .fds = fds, .nfds = 2};
  tu_assert_ret(ipc_sock_sendmsg(a, &m, 1000), IPC_EBADF);
  char buf[4];
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  close(p[0]);
  ipc_sock_close(a);
  ipc_sock_close(b);
  cr_assert_eq(tu_count_fds(), before, "a descriptor leaked");
}

Test(sock, descriptors_beyond_the_room_given_are_closed_and_reported,
     .timeout = 10) {
  int before = tu_count_fds();
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_DGRAM);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  int fds[4] = {p[0], p[1], p[0], p[1]};
  ipc_sock_msg_t m = {.data = "x", .len = 1, .fds = fds, .nfds = 4};
  for (int i = 0; i < 4; i++)
    tu_assert_ret(ipc_sock_sendmsg(a, &m, 1000), 1);
  close(p[0]);
  close(p[1]);
  int got[3] = {-1, -1, -1};
  char buf[4];
  /* Room for 1 and 3: the control buffer rounds up to hold one more, so
   * libipc counts. Room for 2: the kernel itself cuts (MSG_CTRUNC). */
  for (size_t room = 1; room <= 3; room++) {
    ipc_sock_msg_t r = {
        .data = buf, .len = sizeof buf, .fds = got, .nfds = room};
    tu_assert_ret(ipc_sock_recvmsg(b, &r, 1000), IPC_EMSGSIZE);
    cr_assert_eq(r.nfds, 0);
    cr_assert_eq(tu_count_fds(), before + 2, "room %zu: a descriptor leaked",
                 room);
  }
  /* Without room asked for, the kernel drops them: the data comes. */
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), 1);
  ipc_sock_close(a);
  ipc_sock_close(b);
  cr_assert_eq(tu_count_fds(), before, "a received descriptor leaked");
}

/* ------------------------------------------------------------ the rest */

Test(sock, from_fd_wraps_sockets_of_every_kind_and_refuses_the_rest,
     .timeout = 10) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  ipc_sock_t *s, *t;
  tu_assert_ret(ipc_sock_from_fd(&s, sv[0]), 0);
  tu_assert_ret(ipc_sock_from_fd(&t, sv[1]), 0);
  cr_assert_eq(ipc_sock_type(s), IPC_SOCK_SEQPACKET);
  put(s, "wrapped");
  get(t, "wrapped");
  ipc_sock_close(s);
  ipc_sock_close(t);
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, "tcp:127.0.0.1:0", NULL), 0);
  tu_assert_ret(ipc_sock_from_fd(&s, ipc_sock_fd(l)), 0);
  cr_assert_eq(ipc_sock_is_listener(s), 1);
  free(s); /* the same descriptor: do not close it twice */
  ipc_sock_close(l);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  tu_assert_ret(ipc_sock_from_fd(&s, p[0]), IPC_ENOTSOCK);
  cr_assert_null(s);
  cr_assert_eq(tu_cloexec(p[0]), 1, "the descriptor was closed");
  close(p[0]);
  close(p[1]);
  tu_assert_ret(ipc_sock_from_fd(&s, p[0]), IPC_EBADF);
}

Test(sock, shutdown_of_the_write_side_gives_the_peer_eof, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_STREAM);
  put(a, "bye");
  tu_assert_ret(ipc_sock_shutdown(a, IPC_SOCK_SHUT_WR), 0);
  get(b, "bye");
  char buf[4];
  tu_assert_ret(ipc_sock_recv(b, buf, sizeof buf, 1000), IPC_EOF);
  put(b, "still");
  get(a, "still");
  tu_assert_ret(ipc_sock_send(a, "x", 1, 0), IPC_EPIPE);
  tu_assert_ret(ipc_sock_shutdown(a, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sock_shutdown(a, 4), IPC_EINVAL);
  ipc_sock_close(a);
  ipc_sock_close(b);
}

Test(sock, addresses_of_unnamed_sockets_and_peers, .timeout = 10) {
  ipc_sock_t *a, *b;
  pair(&a, &b, IPC_SOCK_DGRAM);
  cr_assert_str_eq(addr_of(a), "unixgram:");
  char buf[IPC_SOCK_ADDR_MAX];
  tu_assert_ret(ipc_sock_peer_address(a, buf, sizeof buf), 9);
  cr_assert_str_eq(buf, "unixgram:");
  ipc_sock_cred_t cred;
  tu_assert_ret(ipc_sock_peercred(a, &cred), 0);
  cr_assert_eq(cred.pid, getpid());
  ipc_sock_close(a);
  ipc_sock_close(b);
  ipc_sock_t *l;
  tu_assert_ret(ipc_sock_listen(&l, "udp:127.0.0.1:0", NULL), 0);
  tu_assert_ret(ipc_sock_peer_address(l, buf, sizeof buf), IPC_ENOTCONN);
  /* Cut short like snprintf: the full length comes back. */
  ssize_t n = ipc_sock_address(l, buf, 6);
  cr_assert_gt(n, 14);
  cr_assert_str_eq(buf, "udp:1");
  ipc_sock_close(l);
  tu_assert_ret(ipc_sock_listen(&l, "unixgram:@", NULL), 0);
  tu_assert_ret(ipc_sock_peercred(l, &cred), IPC_ENOTCONN);
  ipc_sock_close(l);
}
