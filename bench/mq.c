/* bench/mq.c: POSIX and System V message queues, 64-byte messages between a
 * parent and a forked child: throughput one way and round trips, through
 * libipc against the raw system calls in the same run, waiting forever and
 * with a timeout; and a send then a receive in one process (the calls' own
 * cost, which bench/mq_lua.lua compares with Lua's). Prints medians and the
 * ratio libipc/raw; -o FILE appends them as JSON lines. */
#include "bench.h"

#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/prctl.h>

#define MSG_SIZE 64
#define TIMEOUT_MS 1000 /* the timed calls' timeout: never reached */

enum { POSIX, SYSV };
static const char *const mech_names[] = {"posix", "sysv"};
enum { THROUGHPUT, ROUNDTRIP, LOCAL };
static const char *const test_names[] = {"throughput", "round trip",
                                         "send+recv"};

/* One row of the table: what is measured, and how many operations one
 * measured run makes (messages, or round trips). */
struct row {
  int mech, test, timed;
  long ops, quick_ops;
};
static const struct row rows[] = {
    {POSIX, THROUGHPUT, 0, 200000, 1000}, {POSIX, ROUNDTRIP, 0, 40000, 300},
    {POSIX, THROUGHPUT, 1, 200000, 1000}, {POSIX, ROUNDTRIP, 1, 40000, 300},
    {SYSV, THROUGHPUT, 0, 200000, 1000},  {SYSV, ROUNDTRIP, 0, 40000, 300},
    {SYSV, THROUGHPUT, 1, 200000, 1000},  {SYSV, ROUNDTRIP, 1, 40000, 300},
    {POSIX, LOCAL, 0, 500000, 2000},      {SYSV, LOCAL, 0, 500000, 2000},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* The queues of one measured run: two POSIX queues (0: to the child, 1:
 * back) or one System V queue (type 1: to the child, type 2: back). */
struct chan {
  int mech, impl, timed;
  mqd_t q[2];
  ipc_mq_t *mq[2];
  int id;
  ipc_msg_t *msg;
};

static int sysv_live = -1; /* removed by bench_die, through remove_live */

static void remove_live(void) {
  if (sysv_live >= 0)
    msgctl(sysv_live, IPC_RMID, NULL);
}

/* The raw timed calls' deadline: TIMEOUT_MS from now on CLOCK_REALTIME, as
 * a plain program gives mq_timedsend. */
static struct timespec raw_deadline(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += TIMEOUT_MS / 1000;
  return ts;
}

/* System V frames for the raw calls. */
struct frame {
  long type;
  char text[MSG_SIZE];
};

/* Sends n bytes towards the child (dir 0) or the parent (dir 1). */
static int xsend(struct chan *c, int dir, const char *buf, size_t n) {
  int timeout = c->timed ? TIMEOUT_MS : -1;
  if (c->mech == POSIX) {
    if (c->impl == LIBIPC)
      return ipc_mq_send(c->mq[dir], buf, n, 0, timeout);
    if (c->timed) {
      struct timespec ts = raw_deadline();
      return mq_timedsend(c->q[dir], buf, n, 0, &ts) < 0 ? -errno : 0;
    }
    return mq_send(c->q[dir], buf, n, 0) < 0 ? -errno : 0;
  }
  if (c->impl == LIBIPC)
    return ipc_msg_send(c->msg, dir + 1, buf, n, timeout);
  /* Raw System V has no timed call: "timed" rows compare libipc's polling
   * wait with the raw blocking one. */
  struct frame f;
  f.type = dir + 1;
  memcpy(f.text, buf, n);
  return msgsnd(c->id, &f, n, 0) < 0 ? -errno : 0;
}

/* Receives the next message travelling in direction dir. */
static ssize_t xrecv(struct chan *c, int dir, char *buf, size_t cap) {
  int timeout = c->timed ? TIMEOUT_MS : -1;
  ssize_t r;
  if (c->mech == POSIX) {
    if (c->impl == LIBIPC)
      return ipc_mq_receive(c->mq[dir], buf, cap, NULL, timeout);
    if (c->timed) {
      struct timespec ts = raw_deadline();
      r = mq_timedreceive(c->q[dir], buf, cap, NULL, &ts);
    } else {
      r = mq_receive(c->q[dir], buf, cap, NULL);
    }
    return r < 0 ? -errno : r;
  }
  if (c->impl == LIBIPC)
    return ipc_msg_receive(c->msg, buf, cap, dir + 1, NULL, 0, timeout);
  struct frame f;
  r = msgrcv(c->id, &f, cap, dir + 1, 0);
  if (r < 0)
    return -errno;
  memcpy(buf, f.text, (size_t)r);
  return r;
}

/* Makes the queues of a run. POSIX ones are unlinked at once (parent and
 * child keep them through their descriptors), so nothing is left behind
 * even if the benchmark is killed. */
static void chan_open(struct chan *c, int mech, int impl, int timed) {
  memset(c, 0, sizeof *c);
  c->mech = mech;
  c->impl = impl;
  c->timed = timed;
  c->id = -1;
  if (mech == POSIX) {
    ipc_mq_attr_t attr = {.maxmsg = 10, .msgsize = MSG_SIZE}; /* msg_max */
    for (int i = 0; i < 2; i++) {
      char name[64];
      snprintf(name, sizeof name, "/libipc-bench-mq-%d-%d", (int)getpid(), i);
      int rc = ipc_mq_create(&c->mq[i], name, &attr, 0);
      if (rc < 0)
        bench_die("ipc_mq_create", rc);
      ipc_mq_unlink(name);
      c->q[i] = ipc_mq_fd(c->mq[i]);
    }
  } else {
    int rc = ipc_msg_create(&c->msg, IPC_PRIVATE, 0);
    if (rc < 0)
      bench_die("ipc_msg_create", rc);
    c->id = sysv_live = ipc_msg_id(c->msg);
  }
}

static void chan_close(struct chan *c) {
  if (c->mech == POSIX) {
    ipc_mq_close(c->mq[0]);
    ipc_mq_close(c->mq[1]);
  } else {
    ipc_msg_remove(c->msg);
    ipc_msg_close(c->msg);
    sysv_live = -1;
  }
}

/* The child: says it is ready, then takes ops messages (throughput) or
 * echoes ops messages (round trip), checking each one's stamp; says it is
 * done. Never returns. */
static void child(struct chan *c, int test, long ops, int ack_fd) {
  char buf[MSG_SIZE];
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (write(ack_fd, "r", 1) != 1)
    _exit(2);
  for (long i = 0; i < ops; i++) {
    ssize_t n = xrecv(c, 0, buf, sizeof buf);
    if (n != MSG_SIZE)
      bench_die("child receive", n < 0 ? n : IPC_EIO);
    if (buf[0] != (char)i)
      _exit(3);
    if (test == ROUNDTRIP) {
      int rc = xsend(c, 1, buf, MSG_SIZE);
      if (rc < 0)
        bench_die("child send", rc);
    }
  }
  _exit(write(ack_fd, "d", 1) == 1 ? 0 : 2);
}

/* This process's CPU time, in seconds. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A measured run without a child: ops times a send then a receive of the
 * same message, which never waits. Pairs per second of CPU time (what
 * bench/mq_lua.lua measures too): time the process spent preempted is not
 * the calls' cost. */
static double run_local(int mech, int impl, long ops) {
  struct chan c;
  char buf[MSG_SIZE];
  chan_open(&c, mech, impl, 0);
  memset(buf, 'x', sizeof buf);
  double t0 = cpu_s();
  for (long i = 0; i < ops; i++) {
    int rc = xsend(&c, 0, buf, MSG_SIZE);
    if (rc < 0)
      bench_die("send", rc);
    ssize_t n = xrecv(&c, 0, buf, sizeof buf);
    if (n != MSG_SIZE)
      bench_die("receive", n < 0 ? n : IPC_EIO);
  }
  double dt = cpu_s() - t0;
  chan_close(&c);
  return (double)ops / dt;
}

/* One measured run: operations per second, from the first send to the
 * child's word that it is done. */
static double run(int impl, const void *what, long ops) {
  const struct row *w = what;
  int mech = w->mech, timed = w->timed, test = w->test;
  struct chan c;
  int ack[2];
  char word, buf[MSG_SIZE];
  if (test == LOCAL)
    return run_local(mech, impl, ops);
  chan_open(&c, mech, impl, timed);
  if (pipe2(ack, O_CLOEXEC) < 0)
    bench_die("pipe2", -errno);
  pid_t pid = bench_fork();
  if (pid == 0) {
    close(ack[0]);
    child(&c, test, ops, ack[1]);
  }
  close(ack[1]);
  if (read(ack[0], &word, 1) != 1)
    bench_die("child start", IPC_EIO);
  memset(buf, 'x', sizeof buf);
  double t0 = bench_now();
  for (long i = 0; i < ops; i++) {
    buf[0] = (char)i;
    int rc = xsend(&c, 0, buf, MSG_SIZE);
    if (rc < 0)
      bench_die("send", rc);
    if (test == ROUNDTRIP) {
      ssize_t n = xrecv(&c, 1, buf, sizeof buf);
      if (n != MSG_SIZE)
        bench_die("receive", n < 0 ? n : IPC_EIO);
    }
  }
  if (read(ack[0], &word, 1) != 1)
    bench_die("child end", IPC_EIO);
  double dt = bench_now() - t0;
  bench_reap(pid, NULL, "child"); /* on failure, removes the queue too */
  close(ack[0]);
  chan_close(&c);
  return (double)ops / dt;
}

int main(int argc, char **argv) {
  bench.cleanup = remove_live;
  bench_init(argc, argv, "mq", "runs", "messages", 3);
  printf("mq: %d-byte messages, parent <-> forked child, median of %s\n",
         MSG_SIZE, bench_runs(1));
  printf("%6s %11s %8s %7s %7s %12s %9s %8s %11s\n", "mech", "test", "wait",
         "ops", "impl", "ops/s", "us/op", "spread", "libipc/raw");
  for (size_t r = 0; r < NROWS; r++) {
    const struct row *w = &rows[r];
    long ops = bench.quick ? w->quick_ops : w->ops;
    double med[2], spread[2];
    bench_compare(run, w, ops, med, spread);
    const char *wait = w->test == LOCAL ? "none"
                       : w->timed       ? "timed"
                                        : "forever";
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double ratio = med[impl] / med[RAW];
      printf("%6s %11s %8s %7ld %7s %12.0f %9.2f %7.1f%% %11.3f\n",
             mech_names[w->mech], test_names[w->test], wait, ops,
             impl_names[impl], med[impl], 1e6 / med[impl], 100 * spread[impl],
             ratio);
      if (bench.json)
        fprintf(bench.json,
                "{\"bench\":\"mq\",\"mech\":\"%s\",\"test\":\"%s\","
                "\"wait\":\"%s\",\"size\":%d,\"impl\":\"%s\",\"ops\":%ld,"
                "\"repeats\":%d,\"quick\":%s,\"ops_per_s\":%.1f,"
                "\"us_per_op\":%.3f,\"spread\":%.4f,\"ratio_vs_raw\":%.4f}\n",
                mech_names[w->mech], test_names[w->test], wait, MSG_SIZE,
                impl_names[impl], ops, bench.repeats, bench_bool(bench.quick),
                med[impl], 1e6 / med[impl], spread[impl], ratio);
    }
  }
  bench_finish();
  return 0;
}
