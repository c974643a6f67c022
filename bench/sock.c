/* bench/sock.c: a Unix stream socketpair between a parent and a forked
 * child: 64-byte round trips, and one-way throughput of 64-byte and 64 KiB
 * messages. Raw send(2)/recv(2) are the baseline; ipc_sock_send and
 * ipc_sock_recv are measured in the same run. Prints the medians and the
 * ratio libipc/raw; -o FILE appends them as JSON lines. */
#include <ipc.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RAW, LIBIPC };
static const char *const impl_names[] = {"raw", "libipc"};

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

static void die(const char *what, long code) {
  fprintf(stderr, "bench/sock: %s: %s\n", what, ipc_strerror((int)code));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
    die("ipc_sock_from_fd", rc);
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
    die("child", rc);
  close_end(&e);
  _exit(0);
}

/* One measured transfer; returns messages (or round trips) per second. The
 * fork and the child's start are outside the clock. */
static double transfer(int impl, const struct load *l, long msgs) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die("socketpair", -errno);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork", -errno);
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
    die("calloc", IPC_ENOMEM);
  if ((rc = recv_all(&e, &word, 1)) < 0)
    die("child start", rc);

  double t0 = now_s();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if ((rc = send_all(&e, buf, l->size)) < 0)
      die("send", rc);
    if (rtt && (rc = recv_all(&e, buf, l->size)) < 0)
      die("recv", rc);
  }
  if (!rtt && (rc = recv_all(&e, &word, 1)) < 0)
    die("child end", rc);
  double dt = now_s() - t0;

  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid", -errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench/sock: the %s child failed (status %#x)\n",
            impl_names[impl], status);
    exit(1);
  }
  close_end(&e);
  free(buf);
  return (double)msgs / dt;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void) {
  fprintf(stderr, "usage: sock [-r repeats] [-q] [-o file.jsonl]\n"
                  "  -r N   measured transfers per figure (default 5)\n"
                  "  -q     quick: few messages, for smoke tests\n"
                  "  -o F   append one JSON object per figure to F\n");
  exit(2);
}

int main(int argc, char **argv) {
  int repeats = 5, quick = 0, opt;
  const char *json_path = NULL;
  while ((opt = getopt(argc, argv, "r:qo:h")) != -1) {
    switch (opt) {
    case 'r':
      repeats = atoi(optarg);
      if (repeats < 1)
        usage();
      break;
    case 'q':
      quick = 1;
      break;
    case 'o':
      json_path = optarg;
      break;
    default:
      usage();
    }
  }
  FILE *json = NULL;
  if (json_path && !(json = fopen(json_path, "a")))
    die(json_path, -errno);

  printf("sock: Unix stream socketpair, parent <-> forked child, median of %d "
         "run%s%s\n",
         repeats, repeats == 1 ? "" : "s", quick ? " (quick)" : "");
  printf("%6s %8s %8s %8s %14s %10s %10s %8s %12s\n", "kind", "size", "msgs",
         "impl", "msgs/s", "MB/s", "us/msg", "spread", "libipc/raw");
  for (size_t i = 0; i < NLOADS; i++) {
    const struct load *l = &loads[i];
    long msgs = quick ? l->quick_msgs : l->msgs;
    double med[2], spread[2];
    /* Warm up once, then alternate the two (and which goes first) so that
     * drift in the machine's load hits both alike. */
    transfer(RAW, l, msgs / 10 + 1);
    double *all = calloc(2 * (size_t)repeats, sizeof *all);
    if (!all)
      die("calloc", IPC_ENOMEM);
    for (int r = 0; r < repeats; r++)
      for (int k = 0; k < 2; k++) {
        int impl = (r + k) % 2;
        all[impl * repeats + r] = transfer(impl, l, msgs);
      }
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double *v = all + impl * repeats;
      med[impl] = median(v, repeats); /* sorts v */
      spread[impl] = (v[repeats - 1] - v[0]) / med[impl];
    }
    free(all);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      /* A round trip moves the bytes twice. */
      double mbs = med[impl] * (double)l->size / 1e6 *
                   (strcmp(l->kind, "rtt") == 0 ? 2 : 1);
      double ratio = med[impl] / med[RAW];
      printf("%6s %8zu %8ld %8s %14.0f %10.1f %10.2f %7.1f%% %12.3f\n", l->kind,
             l->size, msgs, impl_names[impl], med[impl], mbs, 1e6 / med[impl],
             100 * spread[impl], ratio);
      if (json)
        fprintf(json,
                "{\"bench\":\"sock\",\"kind\":\"%s\",\"size\":%zu,"
                "\"impl\":\"%s\",\"msgs\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"us_per_msg\":%.3f,"
                "\"spread\":%.4f,\"ratio_vs_raw\":%.4f}\n",
                l->kind, l->size, impl_names[impl], msgs, repeats,
                quick ? "true" : "false", med[impl], mbs, 1e6 / med[impl],
                spread[impl], ratio);
    }
  }
  if (json && fclose(json) != 0)
    die(json_path, -errno);
  return 0;
}
