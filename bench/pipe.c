/* bench/pipe.c: messages from a parent to a forked child through a pipe,
 * and 64-byte round trips over two pipes, with raw write(2)/read(2) as the
 * baseline and, in the same run, libipc's ipc_pipe_write and
 * ipc_pipe_read_exact, raw pwritev2(..., RWF_NOSIGNAL) (the call libipc
 * writes with by default, so that a vanished reader cannot kill the
 * writer), and libipc with SIGPIPE ignored through ipc_signal_ignore (it
 * then writes with write(2)). Parent and child are pinned to two CPUs when
 * there are two. Prints the medians, the ratios and the targets; -o FILE
 * appends them as JSON lines. */
#include "bench.h"

#include <fcntl.h>

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

/* One end of a pipe, either way. */
static struct bench_end wrap_end(int impl, int fd, int writer) {
  struct bench_end e = {fd, NULL};
  int rc;
  if (bench_is_libipc(impl) && (rc = ipc_pipe_from_fd(&e.p, fd, writer)) < 0)
    bench_die("ipc_pipe_from_fd", rc);
  return e;
}

/* ----------------------------------------------------------- throughput */

/* The receiving side, in the child: says it is ready, takes `msgs`
 * messages, checks each one's stamp, says it is done. Never returns. */
static void receiver(int impl, int data_fd, int ack_fd, size_t size,
                     long msgs) {
  char *buf = malloc(size);
  if (!buf)
    _exit(2);
  bench_pin(bench.cpus[1]);
  struct bench_end in = wrap_end(impl, data_fd, 0);
  if (bench_write_all(ack_fd, "r", 1) < 0)
    _exit(2);
  for (long i = 0; i < msgs; i++) {
    int rc = bench_end_get(impl, &in, buf, size);
    if (rc < 0)
      bench_die("read", rc);
    if (buf[0] != (char)i)
      _exit(3);
  }
  _exit(bench_write_all(ack_fd, "d", 1) < 0 ? 2 : 0);
}

/* One measured transfer: msgs/s from the first message written to the
 * child's word that it has read the last. The fork, the child's start and
 * the SIGPIPE setting of libipc-ign are outside the clock. */
static double transfer(int impl, const void *what, long msgs) {
  size_t size = ((const struct load *)what)->size;
  int data[2], ack[2];
  if (pipe2(data, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0)
    bench_die("pipe2", -errno);
  pid_t pid = bench_fork();
  if (pid == 0) {
    close(data[1]);
    close(ack[0]);
    receiver(impl, data[0], ack[1], size, msgs);
  }
  close(data[0]);
  close(ack[1]);

  char *buf = calloc(1, size);
  char word;
  int rc;
  if (!buf)
    bench_die("calloc", IPC_ENOMEM);
  struct bench_end out = wrap_end(impl, data[1], 1);
  if ((rc = bench_read_all(ack[0], &word, 1)) < 0)
    bench_die("child start", rc);
  bench_sigpipe_ignored(impl, 1);

  double t0 = bench_now();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if ((rc = bench_end_put(impl, &out, buf, size)) < 0)
      bench_die("write", rc);
  }
  if ((rc = bench_read_all(ack[0], &word, 1)) < 0)
    bench_die("child end", rc);
  double dt = bench_now() - t0;

  bench_sigpipe_ignored(impl, 0);
  bench_reap(pid, impl_names[impl], "receiver");
  bench_end_close(&out);
  close(ack[0]);
  free(buf);
  return (double)msgs / dt;
}

/* ----------------------------------------------------------- round trip */

/* In the child: sends back every message until end of file. */
static void echoer(int impl, int in_fd, int out_fd) {
  char buf[RT_SIZE];
  bench_pin(bench.cpus[1]);
  struct bench_end in = wrap_end(impl, in_fd, 0);
  struct bench_end out = wrap_end(impl, out_fd, 1);
  int rc;
  while ((rc = bench_end_get(impl, &in, buf, sizeof buf)) == 0)
    if ((rc = bench_end_put(impl, &out, buf, sizeof buf)) < 0)
      bench_die("echo", rc);
  _exit(rc == IPC_EOF ? 0 : 2);
}

/* One measured run of `trips` round trips over two pipes: ns per trip. */
static double round_trips(int impl, const void *unused, long trips) {
  (void)unused;
  int ping[2], pong[2];
  if (pipe2(ping, O_CLOEXEC) < 0 || pipe2(pong, O_CLOEXEC) < 0)
    bench_die("pipe2", -errno);
  pid_t pid = bench_fork();
  if (pid == 0) {
    close(ping[1]);
    close(pong[0]);
    echoer(impl, ping[0], pong[1]);
  }
  close(ping[0]);
  close(pong[1]);
  struct bench_end out = wrap_end(impl, ping[1], 1);
  struct bench_end in = wrap_end(impl, pong[0], 0);
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
  bench_reap(pid, impl_names[impl], "echoer");
  bench_end_close(&in);
  return dt * 1e9 / (double)trips;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  bench.nimpl = 4; /* raw write, libipc, raw pwritev2, libipc-ign */
  bench_init(argc, argv, "pipe", "transfers", "messages", 0);
  bench_choose_cpus();
  bench_pin(bench.cpus[0]);
  printf("pipe: parent -> forked child, %s; median of %s\n", bench_cpus_text(),
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
  printf("pipe: %d-byte round trips over two pipes, median of %s\n", RT_SIZE,
         bench_runs(0));
  bench_trips_rows("pipe round trip", RT_SIZE, trips, med, spread);
  bench_goals_print();
  bench_finish();
  return 0;
}
