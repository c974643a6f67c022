/* bench/fifo.c: named pipes, libipc against the raw system calls in the
 * same run: throughput of 64-byte and 64 KiB messages from a parent to a
 * forked child, and 64-byte round trips over two FIFOs. raw is open(2),
 * write(2), read(2); libipc is ipc_fifo_open, ipc_pipe_write and
 * ipc_pipe_read_exact; pwritev2 is raw with pwritev2(..., RWF_NOSIGNAL)
 * for write(2), the call ipc_pipe_write writes with by default; libipc-ign
 * is libipc with SIGPIPE ignored through ipc_signal_ignore (write(2)).
 * Parent and child are pinned to two CPUs when there are two. Prints
 * medians, ratios and the targets; -o FILE appends JSON. */
#include "bench.h"

#include <fcntl.h>
#include <sys/stat.h>

/* A message size and how many to send in one measured transfer. */
struct load {
  size_t size;
  long msgs, quick_msgs;
};
static const struct load loads[] = {
    {64, 500000, 20000},
    {65536, 8192, 256},
};
#define NLOADS (sizeof loads / sizeof loads[0])
#define RT_SIZE 64
#define RT_TRIPS 50000
#define RT_QUICK_TRIPS 2000

/* The FIFOs live in a private directory, made at start and removed at exit
 * (by the parent only). Each FIFO is unlinked as soon as both sides have
 * it open, so even a killed run leaves at most the empty directory. */
static char dir[64];

static void remove_dir(void) {
  static const char *const names[] = {"data", "ack", "ping", "pong"};
  char path[96];
  if (getpid() != bench.parent || !dir[0])
    return;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    ipc_fifo_unlink(path); /* a run that died before both sides opened */
  }
  rmdir(dir);
}

/* One end of a FIFO, opened either way. */
static struct bench_end open_end(int impl, const char *path, int writer) {
  struct bench_end e = {-1, NULL};
  int rc;
  if (!bench_is_libipc(impl)) {
    e.fd = open(path, (writer ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (e.fd < 0)
      bench_die(path, -errno);
  } else {
    rc = ipc_fifo_open(&e.p, path, writer ? IPC_FIFO_WRITE : IPC_FIFO_READ,
                       IPC_FOREVER);
    if (rc < 0)
      bench_die(path, rc);
  }
  return e;
}

static void make_fifo(const char *path) {
  int rc = ipc_fifo_create(path, 0600);
  if (rc < 0)
    bench_die(path, rc);
}

/* ----------------------------------------------------------- throughput */

/* In the child: takes `msgs` messages, checks each one's stamp, answers one
 * byte on the ack FIFO. Never returns. */
static void receiver(int impl, const char *data_path, const char *ack_path,
                     size_t size, long msgs) {
  char *buf = malloc(size);
  if (!buf)
    _exit(2);
  bench_pin(bench.cpus[1]);
  struct bench_end in = open_end(impl, data_path, 0);
  struct bench_end ack = open_end(RAW, ack_path, 1);
  for (long i = 0; i < msgs; i++) {
    int rc = bench_end_get(impl, &in, buf, size);
    if (rc < 0)
      bench_die("read", rc);
    if (buf[0] != (char)i)
      _exit(3);
  }
  _exit(bench_write_all(ack.fd, "d", 1) < 0 ? 2 : 0);
}

/* One measured transfer: msgs/s from the first message written to the
 * child's word that it has read the last. Forking and opening are outside
 * the clock. */
static double transfer(int impl, const void *what, long msgs) {
  size_t size = ((const struct load *)what)->size;
  char data_path[96], ack_path[96];
  snprintf(data_path, sizeof data_path, "%s/data", dir);
  snprintf(ack_path, sizeof ack_path, "%s/ack", dir);
  make_fifo(data_path);
  make_fifo(ack_path);
  pid_t pid = bench_fork();
  if (pid == 0)
    receiver(impl, data_path, ack_path, size, msgs);
  char *buf = calloc(1, size);
  if (!buf)
    bench_die("calloc", IPC_ENOMEM);
  struct bench_end out = open_end(impl, data_path, 1);
  struct bench_end ack = open_end(RAW, ack_path, 0);
  ipc_fifo_unlink(data_path); /* both sides have them open now */
  ipc_fifo_unlink(ack_path);
  char word;
  int rc;
  bench_sigpipe_ignored(impl, 1);

  double t0 = bench_now();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if ((rc = bench_end_put(impl, &out, buf, size)) < 0)
      bench_die("write", rc);
  }
  if ((rc = bench_read_all(ack.fd, &word, 1)) < 0)
    bench_die("child end", rc);
  double dt = bench_now() - t0;

  bench_sigpipe_ignored(impl, 0);
  bench_reap(pid, impl_names[impl], "child");
  bench_end_close(&out);
  bench_end_close(&ack);
  free(buf);
  return (double)msgs / dt;
}

/* ----------------------------------------------------------- round trip */

/* In the child: sends back every message until end of file. */
static void echoer(int impl, const char *ping, const char *pong) {
  char buf[RT_SIZE];
  bench_pin(bench.cpus[1]);
  struct bench_end in = open_end(impl, ping, 0);
  struct bench_end out = open_end(impl, pong, 1);
  int rc;
  while ((rc = bench_end_get(impl, &in, buf, sizeof buf)) == 0)
    if ((rc = bench_end_put(impl, &out, buf, sizeof buf)) < 0)
      bench_die("echo", rc);
  _exit(rc == IPC_EOF ? 0 : 2);
}

/* One measured run of `trips` round trips: ns per trip. */
static double round_trips(int impl, const void *unused, long trips) {
  (void)unused;
  char ping[96], pong[96];
  snprintf(ping, sizeof ping, "%s/ping", dir);
  snprintf(pong, sizeof pong, "%s/pong", dir);
  make_fifo(ping);
  make_fifo(pong);
  pid_t pid = bench_fork();
  if (pid == 0)
    echoer(impl, ping, pong);
  struct bench_end out = open_end(impl, ping, 1);
  struct bench_end in = open_end(impl, pong, 0);
  ipc_fifo_unlink(ping);
  ipc_fifo_unlink(pong);
  char buf[RT_SIZE] = {0};
  int rc;
  bench_sigpipe_ignored(impl, 1);

  double t0 = bench_now();
  for (long i = 0; i < trips; i++) {
    buf[0] = (char)i;
    if ((rc = bench_end_put(impl, &out, buf, sizeof buf)) < 0)
      bench_die("ping", rc);
    if ((rc = bench_end_get(impl, &in, buf, sizeof buf)) < 0)
      bench_die("pong", rc);
    if (buf[0] != (char)i)
      bench_die("pong", IPC_EIO);
  }
  double dt = bench_now() - t0;

  bench_sigpipe_ignored(impl, 0);
  bench_end_close(&out); /* the echoer sees end of file and leaves */
  bench_reap(pid, impl_names[impl], "child");
  bench_end_close(&in);
  return dt * 1e9 / (double)trips;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  bench.nimpl = 4; /* raw write, libipc, raw pwritev2, libipc-ign */
  bench_init(argc, argv, "fifo", "runs", "messages", 0);
  bench.parent = getpid(); /* a child's bench_die _exits: dir stays */
  bench.child_status = 1;  /* for the parent to remove */
  snprintf(dir, sizeof dir, "/tmp/ipc-bench-fifo-%d-XXXXXX", (int)bench.parent);
  if (!mkdtemp(dir))
    bench_die("mkdtemp", -errno);
  atexit(remove_dir);
  bench_choose_cpus();
  bench_pin(bench.cpus[0]);

  printf("fifo: parent -> forked child, %s; median of %s\n", bench_cpus_text(),
         bench_runs(1));
  bench_msgs_heading();
  for (size_t l = 0; l < NLOADS; l++) {
    size_t size = loads[l].size;
    long msgs = bench.quick ? loads[l].quick_msgs : loads[l].msgs;
    double med[NIMPL_MAX], spread[NIMPL_MAX];
    bench_compare(transfer, &loads[l], msgs, med, spread);
    bench_msgs_rows(size, msgs, med, spread);
  }

  long trips = bench.quick ? RT_QUICK_TRIPS : RT_TRIPS;
  double med[NIMPL_MAX], spread[NIMPL_MAX];
  bench_compare(round_trips, NULL, trips, med, spread);
  printf("fifo: %d-byte round trips over two FIFOs, median of %s\n", RT_SIZE,
         bench_runs(0));
  bench_trips_rows("fifo round trip", RT_SIZE, trips, med, spread);
  bench_goals_print();
  bench_finish();
  return 0;
}
