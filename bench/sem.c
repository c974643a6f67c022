/* bench/sem.c: semaphores and the robust mutex through libipc against the
 * calls they are built on, in the same run: an uncontended wait/post pair
 * (sem_wait/sem_post), a ping-pong between two processes through two
 * semaphores (both on one CPU), a lock/unlock pair (pthread_mutex_lock/unlock
 * on a robust mutex made alike) and a System V take/give pair (semop). Prints
 * the medians and the ratio libipc/raw; -o FILE appends them as JSON lines. */
#include <ipc.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RAW, LIBIPC };
static const char *const impl_names[] = {"raw", "libipc"};

/* The cases, each measured as operations per second: a pair (one take,
 * one give) or, for pingpong, one round trip. */
enum { PAIR, PINGPONG, MUTEX, SEMSET, NCASES };
static const struct {
  const char *name, *what;
  long ops, quick_ops;
} cases[NCASES] = {
    {"pair", "sem wait+post, uncontended", 5000000, 200000},
    {"pingpong", "sem round trip, 2 procs, 1 CPU", 100000, 5000},
    {"mutex", "mutex lock+unlock, uncontended", 5000000, 200000},
    {"semset", "semop take+give, uncontended", 2000000, 50000},
};

/* Everything a run uses, made once: a segment holding two semaphores and
 * a mutex, libipc's handles on them, and a System V set. */
static struct {
  ipc_shm_t *seg;
  sem_t *raw_a, *raw_b; /* the semaphores, as the raw calls see them */
  ipc_sem_t *a, *b;     /* the same semaphores, through libipc */
  pthread_mutex_t *raw_m;
  ipc_mutex_t *m;
  ipc_semset_t *set;
} w;

static void die(const char *what, long code) {
  fprintf(stderr, "bench/sem: %s: %s\n", what, ipc_strerror((int)code));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void) {
  int rc;
  if ((rc = ipc_shm_create_anon(&w.seg, 4096)) < 0)
    die("ipc_shm_create_anon", rc);
  char *base = ipc_shm_addr(w.seg);
  if ((rc = ipc_sem_init(&w.a, w.seg, 0, 0)) < 0 ||
      (rc = ipc_sem_init(&w.b, w.seg, IPC_SEM_SIZE, 0)) < 0)
    die("ipc_sem_init", rc);
  w.raw_a = (sem_t *)base;
  w.raw_b = (sem_t *)(base + IPC_SEM_SIZE);
  if ((rc = ipc_mutex_init(&w.m, w.seg, 2 * IPC_SEM_SIZE)) < 0)
    die("ipc_mutex_init", rc);
  /* The raw side locks a mutex of its own, made as libipc makes its one:
   * robust, process-shared, error-checking. */
  w.raw_m = (pthread_mutex_t *)(base + 2 * IPC_SEM_SIZE + IPC_MUTEX_SIZE);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if ((rc = pthread_mutex_init(w.raw_m, &a)) != 0)
    die("pthread_mutex_init", -rc);
  pthread_mutexattr_destroy(&a);
  if ((rc = ipc_semset_create(&w.set, IPC_PRIVATE, 1, NULL, 0)) < 0)
    die("ipc_semset_create", rc);
}

static void teardown(void) {
  ipc_sem_close(w.a);
  ipc_sem_close(w.b);
  ipc_mutex_close(w.m);
  ipc_semset_remove(w.set);
  ipc_semset_close(w.set);
  ipc_shm_close(w.seg);
}

/* The child of pingpong: n times, takes a and gives b. Never returns. */
static void ponger(int impl, long n) {
  for (long i = 0; i < n; i++) {
    if (impl == RAW) {
      while (sem_wait(w.raw_a) < 0)
        if (errno != EINTR)
          _exit(2);
      if (sem_post(w.raw_b) < 0)
        _exit(2);
    } else if (ipc_sem_wait(w.a, IPC_FOREVER) < 0 || ipc_sem_post(w.b) < 0) {
      _exit(3);
    }
  }
  _exit(0);
}

/* Both processes run on the parent's current CPU: across CPUs the round
 * trip is a wake-up IPI whose latency varies several-fold from run to run
 * on virtual machines, which drowns the difference being measured. */
static double pingpong(int impl, long n) {
  cpu_set_t old, one;
  if (sched_getaffinity(0, sizeof old, &old) < 0)
    die("sched_getaffinity", -errno);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  if (sched_setaffinity(0, sizeof one, &one) < 0)
    die("sched_setaffinity", -errno);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork", -errno);
  if (pid == 0)
    ponger(impl, n);
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    int rc = 0;
    if (impl == RAW) {
      if (sem_post(w.raw_a) < 0)
        rc = -errno;
      while (rc == 0 && sem_wait(w.raw_b) < 0)
        if (errno != EINTR)
          rc = -errno;
    } else if ((rc = ipc_sem_post(w.a)) == 0) {
      rc = ipc_sem_wait(w.b, IPC_FOREVER);
    }
    if (rc < 0)
      die("pingpong", rc);
  }
  double dt = now_s() - t0;
  sched_setaffinity(0, sizeof old, &old);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid", -errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench/sem: the %s ponger failed (status %#x)\n",
            impl_names[impl], status);
    exit(1);
  }
  return dt;
}

/* One measured run of case c: its duration in seconds. */
static double run(int c, int impl, long n) {
  double t0 = now_s();
  int rc = 0;
  switch (c) {
  case PAIR:
    for (long i = 0; i < n && rc == 0; i++) {
      if (impl == RAW) {
        sem_post(w.raw_a);
        rc = sem_wait(w.raw_a) < 0 ? -errno : 0;
      } else {
        ipc_sem_post(w.a);
        rc = ipc_sem_wait(w.a, IPC_FOREVER);
      }
    }
    break;
  case PINGPONG:
    return pingpong(impl, n);
  case MUTEX:
    for (long i = 0; i < n && rc == 0; i++) {
      if (impl == RAW) {
        rc = -pthread_mutex_lock(w.raw_m);
        pthread_mutex_unlock(w.raw_m);
      } else {
        rc = ipc_mutex_lock(w.m, IPC_FOREVER);
        ipc_mutex_unlock(w.m);
      }
    }
    break;
  default: {
    struct sembuf take = {0, -1, 0}, give = {0, 1, 0};
    ipc_semop_t ltake = {0, -1, 0}, lgive = {0, 1, 0};
    int id = ipc_semset_id(w.set);
    for (long i = 0; i < n && rc == 0; i++) {
      if (impl == RAW) {
        semop(id, &give, 1);
        rc = semop(id, &take, 1) < 0 ? -errno : 0;
      } else {
        ipc_semset_op(w.set, &lgive, 1, IPC_FOREVER);
        rc = ipc_semset_op(w.set, &ltake, 1, IPC_FOREVER);
      }
    }
    break;
  }
  }
  if (rc < 0)
    die(cases[c].name, rc);
  return now_s() - t0;
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
  fprintf(stderr, "usage: sem [-r repeats] [-q] [-o file.jsonl]\n"
                  "  -r N   measured runs per figure (default 5)\n"
                  "  -q     quick: few operations, for smoke tests\n"
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
  setup();

  printf("sem: libipc against the raw calls, median of %d run%s%s\n", repeats,
         repeats == 1 ? "" : "s", quick ? " (quick)" : "");
  printf("%-9s %-31s %9s %8s %12s %9s %8s %11s\n", "case", "what", "ops",
         "impl", "ops/s", "ns/op", "spread", "libipc/raw");
  for (int c = 0; c < NCASES; c++) {
    long n = quick ? cases[c].quick_ops : cases[c].ops;
    double rate[2], spread[2];
    run(c, RAW, n / 10 + 1); /* warm up: page faults, caches */
    double *all = calloc(2 * (size_t)repeats, sizeof *all);
    if (!all)
      die("calloc", IPC_ENOMEM);
    for (int r = 0; r < repeats; r++)
      for (int k = 0; k < 2; k++) {
        int impl = (r + k) % 2; /* who goes first alternates */
        all[impl * repeats + r] = (double)n / run(c, impl, n);
      }
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double *v = all + impl * repeats;
      rate[impl] = median(v, repeats); /* sorts v */
      spread[impl] = (v[repeats - 1] - v[0]) / rate[impl];
    }
    free(all);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double ratio = rate[impl] / rate[RAW];
      printf("%-9s %-31s %9ld %8s %12.0f %9.1f %7.1f%% %11.3f\n", cases[c].name,
             cases[c].what, n, impl_names[impl], rate[impl], 1e9 / rate[impl],
             100 * spread[impl], ratio);
      if (json)
        fprintf(json,
                "{\"bench\":\"sem\",\"case\":\"%s\",\"impl\":\"%s\","
                "\"ops\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"ops_per_s\":%.1f,\"ns_per_op\":%.2f,\"spread\":%.4f,"
                "\"ratio_vs_raw\":%.4f}\n",
                cases[c].name, impl_names[impl], n, repeats,
                quick ? "true" : "false", rate[impl], 1e9 / rate[impl],
                spread[impl], ratio);
    }
  }
  teardown();
  if (json && fclose(json) != 0)
    die(json_path, -errno);
  return 0;
}
