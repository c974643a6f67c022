/* bench/pipe.c: throughput of messages from a parent to a forked child
 * through a pipe, with raw write(2)/read(2) as the baseline and libipc's
 * ipc_pipe_write/ipc_pipe_read_exact measured in the same run, and a third
 * side writing with raw pwritev2(..., RWF_NOSIGNAL), the call libipc uses
 * so that a vanished reader cannot kill the writer. Prints the medians and
 * the ratios to raw; -o FILE appends them as JSON lines. */
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

/* The receiving side, in the child: says it is ready, takes `msgs`
 * messages, checks each one's stamp, says it is done. Never returns. */
static void receiver(int impl, int data_fd, int ack_fd, size_t size,
                     long msgs) {
  char *buf = malloc(size);
  ipc_pipe_t *in = NULL;
  int rc = 0;
  if (!buf)
    _exit(2);
  if (impl == LIBIPC && (rc = ipc_pipe_from_fd(&in, data_fd, 0)) < 0)
    bench_die("ipc_pipe_from_fd", rc);
  if (bench_write_all(ack_fd, "r", 1) < 0)
    _exit(2);
  for (long i = 0; i < msgs; i++) {
    if (impl != LIBIPC) {
      rc = bench_read_all(data_fd, buf, size);
    } else {
      ssize_t n = ipc_pipe_read_exact(in, buf, size, IPC_FOREVER);
      rc = n == (ssize_t)size ? 0 : n < 0 ? (int)n : IPC_EOF;
    }
    if (rc < 0)
      bench_die("read", rc);
    if (buf[0] != (char)i)
      _exit(3);
  }
  _exit(bench_write_all(ack_fd, "d", 1) < 0 ? 2 : 0);
}

/* One measured transfer: msgs/s from the first message written to the
 * child's word that it has read the last. The fork and the child's start
 * are outside the clock. */
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
  ipc_pipe_t *out = NULL;
  char word;
  int rc;
  if (!buf)
    bench_die("calloc", IPC_ENOMEM);
  if (impl == LIBIPC && (rc = ipc_pipe_from_fd(&out, data[1], 1)) < 0)
    bench_die("ipc_pipe_from_fd", rc);
  if ((rc = bench_read_all(ack[0], &word, 1)) < 0)
    bench_die("child start", rc);

  double t0 = bench_now();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if (impl == RAW)
      rc = bench_write_all(data[1], buf, size);
    else if (impl == RAW_NOSIGNAL)
      rc = bench_write_nosignal(data[1], buf, size);
    else
      rc = ipc_pipe_write(out, buf, size, IPC_FOREVER) == (ssize_t)size
               ? 0
               : IPC_EIO;
    if (rc < 0)
      bench_die("write", rc);
  }
  if ((rc = bench_read_all(ack[0], &word, 1)) < 0)
    bench_die("child end", rc);
  double dt = bench_now() - t0;

  bench_reap(pid, impl_names[impl], "receiver");
  if (out)
    ipc_pipe_close(out);
  else
    close(data[1]);
  close(ack[0]);
  free(buf);
  return (double)msgs / dt;
}

int main(int argc, char **argv) {
  bench.nimpl = 3; /* raw write, libipc, and raw pwritev2 */
  bench_init(argc, argv, "pipe", "transfers", "messages", 0);
  printf("pipe: parent -> forked child, median of %s\n", bench_runs(1));
  bench_msgs_heading();
  for (size_t l = 0; l < NLOADS; l++) {
    size_t size = loads[l].size;
    long msgs = bench.quick ? loads[l].quick_msgs : loads[l].msgs;
    double med[NIMPL_MAX], spread[NIMPL_MAX];
    bench_compare(transfer, &loads[l], msgs, med, spread);
    bench_msgs_rows(size, msgs, med, spread);
  }
  bench_finish();
  return 0;
}
