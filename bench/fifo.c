/* bench/fifo.c: named pipes, libipc against the raw system calls in the
 * same run: throughput of 64-byte and 64 KiB messages from a parent to a
 * forked child, and 64-byte round trips over two FIFOs. raw is open(2),
 * write(2), read(2); libipc is ipc_fifo_open, ipc_pipe_write and
 * ipc_pipe_read_exact. Prints medians and ratios; -o FILE appends JSON. */
#include <ipc.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RAW, LIBIPC };
static const char *const impl_names[] = {"raw", "libipc"};

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
static pid_t parent;

static void remove_dir(void) {
  static const char *const names[] = {"data", "ack", "ping", "pong"};
  char path[96];
  if (getpid() != parent || !dir[0])
    return;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    ipc_fifo_unlink(path); /* a run that died before both sides opened */
  }
  rmdir(dir);
}

static void die(const char *what, long code) {
  fprintf(stderr, "bench/fifo: %s: %s\n", what, ipc_strerror((int)code));
  if (getpid() != parent)
    _exit(1);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int raw_write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    p += r, n -= (size_t)r;
  }
  return 0;
}

static int raw_read_all(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r == 0 ? IPC_EOF : -errno;
    p += r, n -= (size_t)r;
  }
  return 0;
}

/* One end of a FIFO, opened either way. */
struct end {
  int fd;        /* raw */
  ipc_pipe_t *p; /* libipc */
};

static struct end open_end(int impl, const char *path, int writer) {
  struct end e = {-1, NULL};
  int rc;
  if (impl == RAW) {
    e.fd = open(path, (writer ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (e.fd < 0)
      die(path, -errno);
  } else {
    rc = ipc_fifo_open(&e.p, path, writer ? IPC_FIFO_WRITE : IPC_FIFO_READ,
                       IPC_FOREVER);
    if (rc < 0)
      die(path, rc);
  }
  return e;
}

static void close_end(struct end *e) {
  if (e->p)
    ipc_pipe_close(e->p);
  else
    close(e->fd);
}

static int put(int impl, struct end *e, const char *buf, size_t n) {
  if (impl == RAW)
    return raw_write_all(e->fd, buf, n);
  ssize_t r = ipc_pipe_write(e->p, buf, n, IPC_FOREVER);
  return r == (ssize_t)n ? 0 : r < 0 ? (int)r : IPC_EIO;
}

static int get(int impl, struct end *e, char *buf, size_t n) {
  if (impl == RAW)
    return raw_read_all(e->fd, buf, n);
  ssize_t r = ipc_pipe_read_exact(e->p, buf, n, IPC_FOREVER);
  return r == (ssize_t)n ? 0 : r < 0 ? (int)r : IPC_EOF;
}

static void make_fifo(const char *path) {
  int rc = ipc_fifo_create(path, 0600);
  if (rc < 0)
    die(path, rc);
}

static void reap(pid_t pid, int impl) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid", -errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench/fifo: the %s child failed (status %#x)\n",
            impl_names[impl], status);
    exit(1);
  }
}

/* ----------------------------------------------------------- throughput */

/* In the child: takes `msgs` messages, checks each one's stamp, answers one
 * byte on the ack FIFO. Never returns. */
static void receiver(int impl, const char *data_path, const char *ack_path,
                     size_t size, long msgs) {
  char *buf = malloc(size);
  if (!buf)
    _exit(2);
  struct end in = open_end(impl, data_path, 0);
  struct end ack = open_end(RAW, ack_path, 1);
  for (long i = 0; i < msgs; i++) {
    int rc = get(impl, &in, buf, size);
    if (rc < 0)
      die("read", rc);
    if (buf[0] != (char)i)
      _exit(3);
  }
  _exit(raw_write_all(ack.fd, "d", 1) < 0 ? 2 : 0);
}

/* One measured transfer: msgs/s from the first message written to the
 * child's word that it has read the last. Forking and opening are outside
 * the clock. */
static double transfer(int impl, size_t size, long msgs) {
  char data_path[96], ack_path[96];
  snprintf(data_path, sizeof data_path, "%s/data", dir);
  snprintf(ack_path, sizeof ack_path, "%s/ack", dir);
  make_fifo(data_path);
  make_fifo(ack_path);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork", -errno);
  if (pid == 0)
    receiver(impl, data_path, ack_path, size, msgs);
  char *buf = calloc(1, size);
  if (!buf)
    die("calloc", IPC_ENOMEM);
  struct end out = open_end(impl, data_path, 1);
  struct end ack = open_end(RAW, ack_path, 0);
  ipc_fifo_unlink(data_path); /* both sides have them open now */
  ipc_fifo_unlink(ack_path);
  char word;
  int rc;

  double t0 = now_s();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if ((rc = put(impl, &out, buf, size)) < 0)
      die("write", rc);
  }
  if ((rc = raw_read_all(ack.fd, &word, 1)) < 0)
    die("child end", rc);
  double dt = now_s() - t0;

  reap(pid, impl);
  close_end(&out);
  close_end(&ack);
  free(buf);
  return (double)msgs / dt;
}

/* ----------------------------------------------------------- round trip */

/* In the child: sends back every message until end of file. */
static void echoer(int impl, const char *ping, const char *pong) {
  char buf[RT_SIZE];
  struct end in = open_end(impl, ping, 0);
  struct end out = open_end(impl, pong, 1);
  int rc;
  while ((rc = get(impl, &in, buf, sizeof buf)) == 0)
    if ((rc = put(impl, &out, buf, sizeof buf)) < 0)
      die("echo", rc);
  _exit(rc == IPC_EOF ? 0 : 2);
}

/* One measured run of `trips` round trips: ns per trip. */
static double round_trips(int impl, long trips) {
  char ping[96], pong[96];
  snprintf(ping, sizeof ping, "%s/ping", dir);
  snprintf(pong, sizeof pong, "%s/pong", dir);
  make_fifo(ping);
  make_fifo(pong);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork", -errno);
  if (pid == 0)
    echoer(impl, ping, pong);
  struct end out = open_end(impl, ping, 1);
  struct end in = open_end(impl, pong, 0);
  ipc_fifo_unlink(ping);
  ipc_fifo_unlink(pong);
  char buf[RT_SIZE] = {0};
  int rc;

  double t0 = now_s();
  for (long i = 0; i < trips; i++) {
    buf[0] = (char)i;
    if ((rc = put(impl, &out, buf, sizeof buf)) < 0)
      die("ping", rc);
    if ((rc = get(impl, &in, buf, sizeof buf)) < 0)
      die("pong", rc);
    if (buf[0] != (char)i)
      die("pong", IPC_EIO);
  }
  double dt = now_s() - t0;

  close_end(&out); /* the echoer sees end of file and leaves */
  reap(pid, impl);
  close_end(&in);
  return dt * 1e9 / (double)trips;
}

/* ---------------------------------------------------------------- main */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v and returns its median; *spread = (max - min) / median. */
static double median(double *v, int n, double *spread) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  *spread = (v[n - 1] - v[0]) / m;
  return m;
}

static void usage(void) {
  fprintf(stderr, "usage: fifo [-r repeats] [-q] [-o file.jsonl]\n"
                  "  -r N   measured runs per figure (default 5)\n"
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
  parent = getpid();
  snprintf(dir, sizeof dir, "/tmp/ipc-bench-fifo-%d-XXXXXX", (int)parent);
  if (!mkdtemp(dir))
    die("mkdtemp", -errno);
  atexit(remove_dir);
  double *all = calloc(2 * (size_t)repeats, sizeof *all);
  if (!all)
    die("calloc", IPC_ENOMEM);

  printf("fifo: parent -> forked child, median of %d run%s%s\n", repeats,
         repeats == 1 ? "" : "s", quick ? " (quick)" : "");
  printf("%8s %8s %8s %14s %10s %8s %12s\n", "size", "msgs", "impl", "msgs/s",
         "MB/s", "spread", "libipc/raw");
  for (size_t l = 0; l < NLOADS; l++) {
    size_t size = loads[l].size;
    long msgs = quick ? loads[l].quick_msgs : loads[l].msgs;
    double med[2], spread[2];
    /* Warm up once, then alternate the two (and which goes first) so that
     * drift in the machine's load hits both alike. */
    transfer(RAW, size, msgs / 10 + 1);
    for (int r = 0; r < repeats; r++)
      for (int k = 0; k < 2; k++) {
        int impl = (r + k) % 2;
        all[impl * repeats + r] = transfer(impl, size, msgs);
      }
    for (int impl = RAW; impl <= LIBIPC; impl++)
      med[impl] = median(all + impl * repeats, repeats, &spread[impl]);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double mbs = med[impl] * (double)size / 1e6;
      double ratio = med[impl] / med[RAW];
      printf("%8zu %8ld %8s %14.0f %10.1f %7.1f%% %12.3f\n", size, msgs,
             impl_names[impl], med[impl], mbs, 100 * spread[impl], ratio);
      if (json)
        fprintf(json,
                "{\"bench\":\"fifo\",\"size\":%zu,\"impl\":\"%s\","
                "\"msgs\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"spread\":%.4f,"
                "\"ratio_vs_raw\":%.4f}\n",
                size, impl_names[impl], msgs, repeats, quick ? "true" : "false",
                med[impl], mbs, spread[impl], ratio);
    }
  }

  long trips = quick ? RT_QUICK_TRIPS : RT_TRIPS;
  double med[2], spread[2];
  round_trips(RAW, trips / 10 + 1);
  for (int r = 0; r < repeats; r++)
    for (int k = 0; k < 2; k++) {
      int impl = (r + k) % 2;
      all[impl * repeats + r] = round_trips(impl, trips);
    }
  for (int impl = RAW; impl <= LIBIPC; impl++)
    med[impl] = median(all + impl * repeats, repeats, &spread[impl]);
  printf("fifo: %d-byte round trips over two FIFOs, median of %d run%s\n",
         RT_SIZE, repeats, repeats == 1 ? "" : "s");
  printf("%8s %8s %8s %14s %10s %8s %12s\n", "size", "trips", "impl", "ns/trip",
         "", "spread", "libipc/raw");
  for (int impl = RAW; impl <= LIBIPC; impl++) {
    /* A speed ratio like the rows above: raw's time over libipc's. */
    double ratio = med[RAW] / med[impl];
    printf("%8d %8ld %8s %14.0f %10s %7.1f%% %12.3f\n", RT_SIZE, trips,
           impl_names[impl], med[impl], "", 100 * spread[impl], ratio);
    if (json)
      fprintf(json,
              "{\"bench\":\"fifo round trip\",\"size\":%d,\"impl\":\"%s\","
              "\"trips\":%ld,\"repeats\":%d,\"quick\":%s,"
              "\"ns_per_trip\":%.1f,\"spread\":%.4f,\"ratio_vs_raw\":%.4f}\n",
              RT_SIZE, impl_names[impl], trips, repeats,
              quick ? "true" : "false", med[impl], spread[impl], ratio);
  }
  free(all);
  if (json && fclose(json) != 0)
    die(json_path, -errno);
  return 0;
}
