/* bench/pipe.c: throughput of messages from a parent to a forked child
 * through a pipe, with raw write(2)/read(2) as the baseline and libipc's
 * ipc_pipe_write/ipc_pipe_read_exact measured in the same run. Prints the
 * medians and the ratio libipc/raw; -o FILE appends them as JSON lines. */
#include <ipc.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void die(const char *what, long code) {
  fprintf(stderr, "bench/pipe: %s: %s\n", what, ipc_strerror((int)code));
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
    die("ipc_pipe_from_fd", rc);
  if (raw_write_all(ack_fd, "r", 1) < 0)
    _exit(2);
  for (long i = 0; i < msgs; i++) {
    if (impl == RAW) {
      rc = raw_read_all(data_fd, buf, size);
    } else {
      ssize_t n = ipc_pipe_read_exact(in, buf, size, IPC_FOREVER);
      rc = n == (ssize_t)size ? 0 : n < 0 ? (int)n : IPC_EOF;
    }
    if (rc < 0)
      die("read", rc);
    if (buf[0] != (char)i)
      _exit(3);
  }
  _exit(raw_write_all(ack_fd, "d", 1) < 0 ? 2 : 0);
}

/* One measured transfer: msgs/s from the first message written to the
 * child's word that it has read the last. The fork and the child's start
 * are outside the clock. */
static double transfer(int impl, size_t size, long msgs) {
  int data[2], ack[2];
  if (pipe2(data, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0)
    die("pipe2", -errno);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork", -errno);
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
    die("calloc", IPC_ENOMEM);
  if (impl == LIBIPC && (rc = ipc_pipe_from_fd(&out, data[1], 1)) < 0)
    die("ipc_pipe_from_fd", rc);
  if ((rc = raw_read_all(ack[0], &word, 1)) < 0)
    die("child start", rc);

  double t0 = now_s();
  for (long i = 0; i < msgs; i++) {
    buf[0] = (char)i;
    if (impl == RAW)
      rc = raw_write_all(data[1], buf, size);
    else
      rc = ipc_pipe_write(out, buf, size, IPC_FOREVER) == (ssize_t)size
               ? 0
               : IPC_EIO;
    if (rc < 0)
      die("write", rc);
  }
  if ((rc = raw_read_all(ack[0], &word, 1)) < 0)
    die("child end", rc);
  double dt = now_s() - t0;

  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid", -errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench/pipe: the %s receiver failed (status %#x)\n",
            impl_names[impl], status);
    exit(1);
  }
  if (out)
    ipc_pipe_close(out);
  else
    close(data[1]);
  close(ack[0]);
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
  fprintf(stderr, "usage: pipe [-r repeats] [-q] [-o file.jsonl]\n"
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

  printf("pipe: parent -> forked child, median of %d run%s%s\n", repeats,
         repeats == 1 ? "" : "s", quick ? " (quick)" : "");
  printf("%8s %8s %8s %14s %10s %8s %12s\n", "size", "msgs", "impl", "msgs/s",
         "MB/s", "spread", "libipc/raw");
  for (size_t l = 0; l < NLOADS; l++) {
    size_t size = loads[l].size;
    long msgs = quick ? loads[l].quick_msgs : loads[l].msgs;
    double med[2], spread[2];
    /* Warm up once (page faults, caches), then alternate the two so that
     * drift in the machine's load hits both alike. */
    transfer(RAW, size, msgs / 10 + 1);
    double *all = calloc(2 * (size_t)repeats, sizeof *all);
    if (!all)
      die("calloc", IPC_ENOMEM);
    for (int r = 0; r < repeats; r++)
      for (int k = 0; k < 2; k++) {
        int impl = (r + k) % 2; /* who goes first alternates too */
        all[impl * repeats + r] = transfer(impl, size, msgs);
      }
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double *v = all + impl * repeats;
      med[impl] = median(v, repeats); /* sorts v */
      spread[impl] = (v[repeats - 1] - v[0]) / med[impl];
    }
    free(all);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double mbs = med[impl] * (double)size / 1e6;
      double ratio = med[impl] / med[RAW];
      printf("%8zu %8ld %8s %14.0f %10.1f %7.1f%% %12.3f\n", size, msgs,
             impl_names[impl], med[impl], mbs, 100 * spread[impl], ratio);
      if (json)
        fprintf(json,
                "{\"bench\":\"pipe\",\"size\":%zu,\"impl\":\"%s\","
                "\"msgs\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"spread\":%.4f,"
                "\"ratio_vs_raw\":%.4f}\n",
                size, impl_names[impl], msgs, repeats, quick ? "true" : "false",
                med[impl], mbs, spread[impl], ratio);
    }
  }
  if (json && fclose(json) != 0)
    die(json_path, -errno);
  return 0;
}
