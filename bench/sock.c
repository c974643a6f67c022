/* bench/sock.c: a Unix stream socketpair between a parent and a forked
 * child: 64-byte round trips, and one-way throughput of 64-byte and 64 KiB
 * messages. Raw send(2)/recv(2) are the baseline; ipc_sock_send and
 * ipc_sock_recv are measured in the same run. Prints the medians and the
 * ratio libipc/raw; -o FILE appends them as JSON lines. */
#include "bench.h"

#include <string.h>
#include <sys/socket.h>

/* A measured transfer: round trips of `size` bytes, or `size`-byte messages
 * one way; `msgs` of them (quick_msgs with -q). */
struct load {
  const char *kind; /* "rtt" or "stream" */
  size_t size;
  long msgs, quick_msgs;
};
static const struct load loads[] = {
    {"rtt", 64, 100000, 3000},
    {"stream", 64, 500000, 20000},
    {"stream", 65536, 8192, 256},
};
#define NLOADS (sizeof loads / sizeof loads[0])

/* One end of the socketpair, as each implementation holds it. */
struct end {
  int impl;
  int fd;
  ipc_sock_t *s;
};

static int send_all(struct end *e, const char *p, size_t n) {
  if (e->impl == LIBIPC) {
    ssize_t r = ipc_sock_send(e->s, p, n, IPC_FOREVER);
    return r == (ssize_t)n ? 0 : r < 0 ? (int)r : IPC_EIO;
  }
  while (n > 0) {
    ssize_t r = send(e->fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    p += r, n -= (size_t)r;
  }
  return 0;
}

static int recv_all(struct end *e, char *p, size_t n) {
  while (n > 0) {
    ssize_t r;
    if (e->impl == LIBIPC) {
      r = ipc_sock_recv(e->s, p, n, IPC_FOREVER);
      if (r < 0)
        return (int)r;
    } else {
      r = recv(e->fd, p, n, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return r == 0 ? IPC_EOF : -errno;
    }
    p += r, n -= (size_t)r;
  }
  return 0;
}

static void open_end(struct end *e, int impl, int fd) {
  e->impl = impl;
  e->fd = fd;
  e->s = NULL;
  int rc;
  if (impl == LIBIPC && (rc = ipc_sock_from_fd(&e->s, fd)) < 0)
    bench_die("ipc_sock_from_fd", rc);
}

static void close_end(struct end *e) {
  if (e->s)
    ipc_sock_close(e->s);
  else
    close(e->fd);
}

/* The child: says it is ready, then echoes (rtt) or takes (stream) `msgs`
 * messages, checking each one's stamp, and says it is done. */
static void child(int impl, int fd, const struct load *l, long msgs) {
  struct end e;
  char *buf = malloc(l->size);
  if (!buf)
    _exit(2);
  open_end(&e, impl, fd);
  int rc = send_all(&e, "r", 1);
  int rtt = strcmp(l->kind, "rtt") == 0;
  for (long i = 0; rc == 0 && i < msgs; i++) {
    if ((rc = recv_all(&e, buf, l->size)) < 0)
      break;
    if (buf[0] != (char)i)
      _exit(3);
    if (rtt)
      rc = send_all(&e, buf, l->size);
  }
  if (rc == 0 && !rtt)
    rc = send_all(&e, "d", 1);
  if (rc < 0)
    bench_die("child", rc);
  close_end(&e);
  _exit(0);
}

/* One measured transfer; returns messages (or round trips) per second. The
 * fork and the child's start are outside the clock. */
static double transfer(int impl, const void *what, long msgs) {
  const struct load *l = what;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    bench_die("socketpair", -errno);
  pid_t pid = bench_fork();
  if (pid == 0) {
    close(sv[0]);
    child(impl, sv[1], l, msgs);
  }
  close(sv[1]);
  struct end e;
  open_end(&e, impl, sv[0]);
  char *buf = calloc(1, l->size);
  char word;
  int rc;
  int rtt = strcmp(l->kind, "rtt") == 0;
  if (!buf)
    bench_die("calloc", IPC_ENOMEM);
  if ((rc = recv_all(&e, &word, 1)) < 0)
    bench_die("child start", rc);

  double t0 = bench_now();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if ((rc = send_all(&e, buf, l->size)) < 0)
      bench_die("send", rc);
    if (rtt && (rc = recv_all(&e, buf, l->size)) < 0)
      bench_die("recv", rc);
  }
  if (!rtt && (rc = recv_all(&e, &word, 1)) < 0)
    bench_die("child end", rc);
  double dt = bench_now() - t0;

  bench_reap(pid, impl_names[impl], "child");
  close_end(&e);
  free(buf);
  return (double)msgs / dt;
}

int main(int argc, char **argv) {
  bench_init(argc, argv, "sock", "transfers", "messages", 0);
  printf("sock: Unix stream socketpair, parent <-> forked child, median of "
         "%s\n",
         bench_runs(1));
  printf("%6s %8s %8s %8s %14s %10s %10s %8s %12s\n", "kind", "size", "msgs",
         "impl", "msgs/s", "MB/s", "us/msg", "spread", "libipc/raw");
  for (size_t i = 0; i < NLOADS; i++) {
    const struct load *l = &loads[i];
    long msgs = bench.quick ? l->quick_msgs : l->msgs;
    double med[2], spread[2];
    bench_compare(transfer, l, msgs, med, spread);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      /* A round trip moves the bytes twice. */
      double mbs = med[impl] * (double)l->size / 1e6 *
                   (strcmp(l->kind, "rtt") == 0 ? 2 : 1);
      double ratio = med[impl] / med[RAW];
      printf("%6s %8zu %8ld %8s %14.0f %10.1f %10.2f %7.1f%% %12.3f\n", l->kind,
             l->size, msgs, impl_names[impl], med[impl], mbs, 1e6 / med[impl],
             100 * spread[impl], ratio);
      if (bench.json)
        fprintf(bench.json,
                "{\"bench\":\"sock\",\"kind\":\"%s\",\"size\":%zu,"
                "\"impl\":\"%s\",\"msgs\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"us_per_msg\":%.3f,"
                "\"spread\":%.4f,\"ratio_vs_raw\":%.4f}\n",
                l->kind, l->size, impl_names[impl], msgs, bench.repeats,
                bench_bool(bench.quick), med[impl], mbs, 1e6 / med[impl],
                spread[impl], ratio);
    }
  }
  bench_finish();
  return 0;
}
