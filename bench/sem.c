/* bench/sem.c: semaphores and the robust mutex through libipc against the
 * calls they are built on, in the same run: an uncontended wait/post pair
 * (sem_wait/sem_post), a ping-pong between two processes through two
 * semaphores (both on one CPU), a lock/unlock pair (pthread_mutex_lock/unlock
 * on a robust mutex made alike) and a System V take/give pair (semop). Prints
 * the medians and the ratio libipc/raw; -o FILE appends them as JSON lines. */
#include "bench.h"

#include <pthread.h>
#include <semaphore.h>
#include <sys/sem.h>

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

static void setup(void) {
  int rc;
  if ((rc = ipc_shm_create_anon(&w.seg, 4096)) < 0)
    bench_die("ipc_shm_create_anon", rc);
  char *base = ipc_shm_addr(w.seg);
  if ((rc = ipc_sem_init(&w.a, w.seg, 0, 0)) < 0 ||
      (rc = ipc_sem_init(&w.b, w.seg, IPC_SEM_SIZE, 0)) < 0)
    bench_die("ipc_sem_init", rc);
  w.raw_a = (sem_t *)base;
  w.raw_b = (sem_t *)(base + IPC_SEM_SIZE);
  if ((rc = ipc_mutex_init(&w.m, w.seg, 2 * IPC_SEM_SIZE)) < 0)
    bench_die("ipc_mutex_init", rc);
  /* The raw side locks a mutex of its own, made as libipc makes its one:
   * robust, process-shared, error-checking. */
  w.raw_m = (pthread_mutex_t *)(base + 2 * IPC_SEM_SIZE + IPC_MUTEX_SIZE);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if ((rc = pthread_mutex_init(w.raw_m, &a)) != 0)
    bench_die("pthread_mutex_init", -rc);
  pthread_mutexattr_destroy(&a);
  if ((rc = ipc_semset_create(&w.set, IPC_PRIVATE, 1, NULL, 0)) < 0)
    bench_die("ipc_semset_create", rc);
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
  cpu_set_t old;
  if (sched_getaffinity(0, sizeof old, &old) < 0)
    bench_die("sched_getaffinity", -errno);
  bench_pin(sched_getcpu());
  pid_t pid = bench_fork();
  if (pid == 0)
    ponger(impl, n);
  double t0 = bench_now();
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
      bench_die("pingpong", rc);
  }
  double dt = bench_now() - t0;
  sched_setaffinity(0, sizeof old, &old);
  bench_reap(pid, impl_names[impl], "ponger");
  return dt;
}

/* One measured run of case c: its duration in seconds. */
static double run(int c, int impl, long n) {
  double t0 = bench_now();
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
    bench_die(cases[c].name, rc);
  return bench_now() - t0;
}

/* One measured run of the case *what: operations per second. */
static double rate(int impl, const void *what, long n) {
  int c = *(const int *)what;
  return (double)n / run(c, impl, n);
}

int main(int argc, char **argv) {
  bench_init(argc, argv, "sem", "runs", "operations", 0);
  setup();

  printf("sem: libipc against the raw calls, median of %s\n", bench_runs(1));
  printf("%-9s %-31s %9s %8s %12s %9s %8s %11s\n", "case", "what", "ops",
         "impl", "ops/s", "ns/op", "spread", "libipc/raw");
  for (int c = 0; c < NCASES; c++) {
    long n = bench.quick ? cases[c].quick_ops : cases[c].ops;
    double rates[2], spread[2];
    bench_compare(rate, &c, n, rates, spread);
    for (int impl = RAW; impl <= LIBIPC; impl++) {
      double ratio = rates[impl] / rates[RAW];
      printf("%-9s %-31s %9ld %8s %12.0f %9.1f %7.1f%% %11.3f\n", cases[c].name,
             cases[c].what, n, impl_names[impl], rates[impl], 1e9 / rates[impl],
             100 * spread[impl], ratio);
      if (bench.json)
        fprintf(bench.json,
                "{\"bench\":\"sem\",\"case\":\"%s\",\"impl\":\"%s\","
                "\"ops\":%ld,\"repeats\":%d,\"quick\":%s,"
                "\"ops_per_s\":%.1f,\"ns_per_op\":%.2f,\"spread\":%.4f,"
                "\"ratio_vs_raw\":%.4f}\n",
                cases[c].name, impl_names[impl], n, bench.repeats,
                bench_bool(bench.quick), rates[impl], 1e9 / rates[impl],
                spread[impl], ratio);
    }
  }
  teardown();
  bench_finish();
  return 0;
}
