/* bench/bench.h: what the benchmark programs share: the options -r, -q and
 * -o, failing with a message, the monotonic clock, whole reads and writes,
 * forking and reaping a child, pinning, the medians of repeated runs of raw
 * against libipc, and the throughput table of pipe and fifo. Each
 * bench/<x>.c is a program of its own and includes this once, so everything
 * here is static. */
#ifndef BENCH_H
#define BENCH_H

#include <ipc.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The sides most programs compare, and their names in the tables: the raw
 * system calls, libipc, and (pipe and fifo, with bench.nimpl 4) the raw
 * pwritev2(..., RWF_NOSIGNAL) that libipc writes pipes with by default,
 * and libipc again with SIGPIPE ignored through ipc_signal_ignore, which
 * lets it write with plain write(2). */
enum { RAW, LIBIPC, RAW_NOSIGNAL, LIBIPC_IGNORED, NIMPL_MAX };
static const char *const impl_names[] = {"raw", "libipc", "pwritev2",
                                         "libipc-ign"};

/* Whether a side goes through libipc's calls. */
static inline int bench_is_libipc(int impl) {
  return impl == LIBIPC || impl == LIBIPC_IGNORED;
}

/* The run's settings, from bench_init, and how bench_die fails. */
static struct {
  const char *name;      /* "pipe": prefixes every message */
  const char *runs_word; /* what -r counts, for the usage */
  const char *ops_word;  /* what -q makes few of, for the usage */
  int quick_repeats;     /* the default of -r with -q; 0: the same 5 */
  int repeats;           /* -r: measured runs per figure */
  int quick;             /* -q: few messages, for smoke tests */
  const char *json_path; /* -o */
  FILE *json;            /* -o's file, opened to append; NULL without -o */
  pid_t parent;          /* when set, bench_die in another process _exits */
  int child_status;      /* with this status, off the parent's atexit */
  void (*cleanup)(void); /* when set, run by bench_die before exiting */
  /* A program's own options: getopt letters (as "k:s:"), their lines of
   * the usage, and the function that takes each one (0, or -1: usage). */
  const char *extra_opts;
  const char *extra_usage;
  int (*extra_opt)(int opt, const char *arg);
  int nimpl;   /* how many of RAW, LIBIPC, ... are compared: 2 or 4 */
  int cpus[2]; /* bench_choose_cpus: the parent's and the child's, or -1 */
} bench;

static inline void bench_die(const char *what, long code) {
  fprintf(stderr, "bench/%s: %s: %s\n", bench.name, what,
          ipc_strerror((int)code));
  if (bench.cleanup)
    bench.cleanup();
  if (bench.parent && getpid() != bench.parent)
    _exit(bench.child_status);
  exit(1);
}

static inline void bench_usage(void) {
  fprintf(stderr, "usage: %s [-r repeats] [-q] [-o file.jsonl]\n", bench.name);
  if (bench.quick_repeats)
    fprintf(stderr, "  -r N   measured %s per figure (default 5, %d with -q)\n",
            bench.runs_word, bench.quick_repeats);
  else
    fprintf(stderr, "  -r N   measured %s per figure (default 5)\n",
            bench.runs_word);
  fprintf(stderr,
          "  -q     quick: few %s, for smoke tests\n"
          "  -o F   append one JSON object per figure to F\n",
          bench.ops_word);
  if (bench.extra_usage)
    fputs(bench.extra_usage, stderr);
  exit(2);
}

/* Parses -r N, -q and -o FILE, and bench.extra_opts if set (usage and exit
 * status 2 on anything else), and opens FILE to append. runs_word and ops_word
 * fill the usage: "-r N measured <runs_word> per figure", "-q quick: few
 * <ops_word>". Returns the index of the first operand. */
static inline int bench_init(int argc, char **argv, const char *name,
                             const char *runs_word, const char *ops_word,
                             int quick_repeats) {
  int opt;
  char optstring[32];
  snprintf(optstring, sizeof optstring, "r:qo:h%s",
           bench.extra_opts ? bench.extra_opts : "");
  bench.name = name;
  bench.runs_word = runs_word;
  bench.ops_word = ops_word;
  bench.quick_repeats = quick_repeats;
  while ((opt = getopt(argc, argv, optstring)) != -1) {
    switch (opt) {
    case 'r':
      bench.repeats = atoi(optarg);
      if (bench.repeats < 1)
        bench_usage();
      break;
    case 'q':
      bench.quick = 1;
      break;
    case 'o':
      bench.json_path = optarg;
      break;
    case 'h':
    case '?':
      bench_usage();
      break;
    default:
      if (!bench.extra_opt || bench.extra_opt(opt, optarg) < 0)
        bench_usage();
    }
  }
  if (bench.repeats == 0)
    bench.repeats = bench.quick && quick_repeats ? quick_repeats : 5;
  if (bench.nimpl == 0)
    bench.nimpl = 2;
  if (bench.json_path && !(bench.json = fopen(bench.json_path, "a")))
    bench_die(bench.json_path, -errno);
  return optind;
}

/* Closes the -o file; a failed write shows here at the latest. */
static inline void bench_finish(void) {
  if (bench.json && fclose(bench.json) != 0)
    bench_die(bench.json_path, -errno);
  bench.json = NULL;
}

/* "5 runs", and " (quick)" after it when with_quick and -q: for titles. */
static inline const char *bench_runs(int with_quick) {
  static char buf[48];
  snprintf(buf, sizeof buf, "%d run%s%s", bench.repeats,
           bench.repeats == 1 ? "" : "s",
           with_quick && bench.quick ? " (quick)" : "");
  return buf;
}

/* A boolean as JSON spells it. */
static inline const char *bench_bool(int b) { return b ? "true" : "false"; }

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* write(2) until all n bytes are out: 0 or -errno. */
static inline int bench_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
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

/* read(2) until all n bytes are in: 0, IPC_EOF or -errno. */
static inline int bench_read_all(int fd, void *buf, size_t n) {
  char *p = buf;
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

/* fork(2) with stdout flushed first, so that the child cannot print the
 * parent's pending table a second time; fails the run if fork does. */
static inline pid_t bench_fork(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    bench_die("fork", -errno);
  return pid;
}

/* Waits for a child, through signals: its wait status. */
static inline int bench_wait(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      bench_die("waitpid", -errno);
  return status;
}

/* Waits for a child that must exit with 0, else fails the run saying "the
 * <impl> <role> failed" ("the <role> failed" when impl is NULL). */
static inline void bench_reap(pid_t pid, const char *impl, const char *role) {
  int status = bench_wait(pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench/%s: the %s%s%s failed (status %#x)\n", bench.name,
            impl ? impl : "", impl ? " " : "", role, status);
    if (bench.cleanup)
      bench.cleanup();
    exit(1);
  }
}

/* Runs this process on one CPU only; cpu < 0 leaves it where it is. */
static inline void bench_pin(int cpu) {
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0)
    bench_die("sched_setaffinity", -errno);
}

/* The first two CPUs this process may run on, for the two sides of a
 * benchmark: bench.cpus[0] for the parent, bench.cpus[1] for its child.
 * Both -1 with one CPU only: pinning both sides there would only hurt. */
static inline void bench_choose_cpus(void) {
  cpu_set_t set;
  bench.cpus[0] = bench.cpus[1] = -1;
  if (sched_getaffinity(0, sizeof set, &set) < 0)
    bench_die("sched_getaffinity", -errno);
  for (int c = 0; c < CPU_SETSIZE && bench.cpus[1] < 0; c++) {
    if (!CPU_ISSET(c, &set))
      continue;
    if (bench.cpus[0] < 0)
      bench.cpus[0] = c;
    else
      bench.cpus[1] = c;
  }
  if (bench.cpus[1] < 0)
    bench.cpus[0] = -1;
}

/* "parent on CPU 0, child on CPU 1" or "one CPU, not pinned": for titles. */
static inline const char *bench_cpus_text(void) {
  static char buf[64];
  if (bench.cpus[1] < 0)
    return "one CPU, not pinned";
  snprintf(buf, sizeof buf, "parent on CPU %d, child on CPU %d", bench.cpus[0],
           bench.cpus[1]);
  return buf;
}

/* The LIBIPC_IGNORED side's setting, around each of its runs (outside the
 * clock): SIGPIPE ignored through libipc when `on`, put back as it was
 * when not. Other sides leave SIGPIPE alone. */
static inline void bench_sigpipe_ignored(int impl, int on) {
  if (impl != LIBIPC_IGNORED)
    return;
  int rc =
      on ? ipc_signal_ignore(NULL, SIGPIPE) : ipc_signal_restore(NULL, SIGPIPE);
  if (rc < 0)
    bench_die(on ? "ignore SIGPIPE" : "restore SIGPIPE", rc);
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v and returns its median; *spread (unless NULL) gets (largest -
 * smallest) / median, 0 when the median is not positive. */
static inline double bench_median(double *v, int n, double *spread) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  if (spread)
    *spread = m > 0 ? (v[n - 1] - v[0]) / m : 0;
  return m;
}

/* One measured run of `n` operations of `what` through impl (RAW or
 * LIBIPC): its figure, higher is better or lower is better as the caller
 * says in its table. */
typedef double bench_run_fn(int impl, const void *what, long n);

/* Warms up with one short raw run (page faults, caches), then takes
 * bench.repeats runs of each of the bench.nimpl sides, taking turns, and
 * which goes first rotates, so that drift in the machine's load hits all
 * alike. Gives each side's median and spread (arrays of bench.nimpl). */
static inline void bench_compare(bench_run_fn *run, const void *what, long n,
                                 double *med, double *spread) {
  int repeats = bench.repeats, nimpl = bench.nimpl;
  run(RAW, what, n / 10 + 1);
  double *all = calloc((size_t)(nimpl * repeats), sizeof *all);
  if (!all)
    bench_die("calloc", IPC_ENOMEM);
  for (int r = 0; r < repeats; r++)
    for (int k = 0; k < nimpl; k++) {
      int impl = (r + k) % nimpl;
      all[impl * repeats + r] = run(impl, what, n);
    }
  for (int impl = 0; impl < nimpl; impl++)
    med[impl] = bench_median(all + impl * repeats, repeats, &spread[impl]);
  free(all);
}

/* The targets of pipe and fifo: speed ratios within one run that should
 * reach a goal, gathered as the tables print and listed at the end. */
#define BENCH_GOALS_MAX 16
static struct {
  char what[64];
  double ratio, goal;
} bench_goals[BENCH_GOALS_MAX];
static int bench_ngoals;

static inline void bench_goal(double ratio, double goal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void bench_goal(double ratio, double goal, const char *fmt, ...) {
  if (bench_ngoals == BENCH_GOALS_MAX)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(bench_goals[bench_ngoals].what,
            sizeof bench_goals[bench_ngoals].what, fmt, ap);
  va_end(ap);
  bench_goals[bench_ngoals].ratio = ratio;
  bench_goals[bench_ngoals].goal = goal;
  bench_ngoals++;
}

/* The "targets" block: each ratio, PASS when it reaches its goal, MISS
 * when not; each also as a JSON line. */
static inline void bench_goals_print(void) {
  printf("targets (ratios within this run)\n");
  for (int i = 0; i < bench_ngoals; i++) {
    int pass = bench_goals[i].ratio >= bench_goals[i].goal;
    printf("  %-44s %8.3f  >= %.2f  %s\n", bench_goals[i].what,
           bench_goals[i].ratio, bench_goals[i].goal, pass ? "PASS" : "MISS");
    if (bench.json)
      fprintf(bench.json,
              "{\"bench\":\"%s\",\"target\":\"%s\",\"ratio\":%.4f,"
              "\"goal\":%.4f,\"cmp\":\">=\",\"pass\":%s,\"quick\":%s}\n",
              bench.name, bench_goals[i].what, bench_goals[i].ratio,
              bench_goals[i].goal, bench_bool(pass), bench_bool(bench.quick));
  }
}

/* The goal of pipe and fifo (issue 4): libipc within 5% of the raw call
 * with the same semantics. */
#define BENCH_GOAL 0.95

/* The tables of pipe and fifo, from bench_compare's figures of four sides.
 * Throughput: messages of one size, one way, in messages per second; the
 * heading, then the rows of one size, each also as a JSON line. `/raw` is
 * the row's speed over raw's; the libipc row also shows its speed over
 * pwritev2's, the call it writes with by default. Each size adds two
 * targets: libipc / pwritev2 and libipc-ign / raw. */
static inline void bench_msgs_heading(void) {
  printf("%8s %8s %10s %14s %10s %8s %8s %10s\n", "size", "msgs", "impl",
         "msgs/s", "MB/s", "spread", "/raw", "/pwritev2");
}

/* The JSON line's common part, for both tables; the caller adds its
 * figures and closes it. */
static inline void bench_json_row(const char *what, size_t size, int impl,
                                  const char *count_name, long count) {
  fprintf(bench.json,
          "{\"bench\":\"%s\",\"size\":%zu,\"impl\":\"%s\",\"%s\":%ld,"
          "\"repeats\":%d,\"quick\":%s,\"cpus\":[%d,%d]",
          what, size, impl_names[impl], count_name, count, bench.repeats,
          bench_bool(bench.quick), bench.cpus[0], bench.cpus[1]);
}

static inline void bench_msgs_rows(size_t size, long msgs, const double *med,
                                   const double *spread) {
  double vs_nosignal = med[LIBIPC] / med[RAW_NOSIGNAL];
  for (int impl = 0; impl < bench.nimpl; impl++) {
    double mbs = med[impl] * (double)size / 1e6;
    double ratio = med[impl] / med[RAW];
    printf("%8zu %8ld %10s %14.0f %10.1f %7.1f%% %8.3f", size, msgs,
           impl_names[impl], med[impl], mbs, 100 * spread[impl], ratio);
    if (impl == LIBIPC)
      printf(" %10.3f", vs_nosignal);
    putchar('\n');
    if (!bench.json)
      continue;
    bench_json_row(bench.name, size, impl, "msgs", msgs);
    fprintf(bench.json,
            ",\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"spread\":%.4f,"
            "\"ratio_vs_raw\":%.4f",
            med[impl], mbs, spread[impl], ratio);
    if (impl == LIBIPC)
      fprintf(bench.json, ",\"ratio_vs_pwritev2\":%.4f", vs_nosignal);
    fputs("}\n", bench.json);
  }
  bench_goal(vs_nosignal, BENCH_GOAL, "%zu B throughput: libipc / pwritev2",
             size);
  bench_goal(med[LIBIPC_IGNORED] / med[RAW], BENCH_GOAL,
             "%zu B throughput: libipc-ign / raw", size);
}

/* Round trips of one size, in ns per trip (lower is better): the ratios
 * are speeds as above, the baseline's time over the row's. `what` names
 * the table in titles, JSON and targets ("fifo round trip"). */
static inline void bench_trips_rows(const char *what, size_t size, long trips,
                                    const double *med, const double *spread) {
  printf("%8s %8s %10s %14s %10s %8s %8s %10s\n", "size", "trips", "impl",
         "ns/trip", "", "spread", "/raw", "/pwritev2");
  double vs_nosignal = med[RAW_NOSIGNAL] / med[LIBIPC];
  for (int impl = 0; impl < bench.nimpl; impl++) {
    double ratio = med[RAW] / med[impl];
    printf("%8zu %8ld %10s %14.0f %10s %7.1f%% %8.3f", size, trips,
           impl_names[impl], med[impl], "", 100 * spread[impl], ratio);
    if (impl == LIBIPC)
      printf(" %10.3f", vs_nosignal);
    putchar('\n');
    if (!bench.json)
      continue;
    bench_json_row(what, size, impl, "trips", trips);
    fprintf(bench.json,
            ",\"ns_per_trip\":%.1f,\"spread\":%.4f,\"ratio_vs_raw\":%.4f",
            med[impl], spread[impl], ratio);
    if (impl == LIBIPC)
      fprintf(bench.json, ",\"ratio_vs_pwritev2\":%.4f", vs_nosignal);
    fputs("}\n", bench.json);
  }
  bench_goal(vs_nosignal, BENCH_GOAL, "%zu B round trip: libipc / pwritev2",
             size);
  bench_goal(med[RAW] / med[LIBIPC_IGNORED], BENCH_GOAL,
             "%zu B round trip: libipc-ign / raw", size);
}

/* pwritev2(..., RWF_NOSIGNAL) until all n bytes are out, as libipc writes
 * a pipe: 0 or -errno. */
static inline int bench_write_nosignal(int fd, const void *buf, size_t n) {
#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif
  const char *p = buf;
  while (n > 0) {
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    ssize_t r = pwritev2(fd, &iov, 1, -1, RWF_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    p += r, n -= (size_t)r;
  }
  return 0;
}

/* One end of a pipe or FIFO in bench/pipe and bench/fifo: a raw descriptor,
 * or a libipc handle for the libipc sides. */
struct bench_end {
  int fd;        /* raw */
  ipc_pipe_t *p; /* libipc */
};

static inline void bench_end_close(struct bench_end *e) {
  if (e->p)
    ipc_pipe_close(e->p);
  else
    close(e->fd);
}

/* Sends n bytes the way side `impl` does: 0 or a negative code. */
static inline int bench_end_put(int impl, struct bench_end *e, const char *buf,
                                size_t n) {
  if (impl == RAW)
    return bench_write_all(e->fd, buf, n);
  if (impl == RAW_NOSIGNAL)
    return bench_write_nosignal(e->fd, buf, n);
  ssize_t r = ipc_pipe_write(e->p, buf, n, IPC_FOREVER);
  return r == (ssize_t)n ? 0 : r < 0 ? (int)r : IPC_EIO;
}

/* Receives exactly n bytes the way side `impl` does: 0 or a negative code. */
static inline int bench_end_get(int impl, struct bench_end *e, char *buf,
                                size_t n) {
  if (!bench_is_libipc(impl))
    return bench_read_all(e->fd, buf, n);
  ssize_t r = ipc_pipe_read_exact(e->p, buf, n, IPC_FOREVER);
  return r == (ssize_t)n ? 0 : r < 0 ? (int)r : IPC_EOF;
}

#endif
