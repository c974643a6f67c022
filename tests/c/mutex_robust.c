/* mutex_robust.c: the robust-list bookkeeping ipc_mutex_lock and
 * ipc_mutex_unlock do inline on the uncontended path (sem.c). The kernel
 * can only report a dead owner for mutexes linked in the dying thread's
 * robust list, so these tests let threads and processes die holding
 * mutexes taken every way (inline, after out-of-order unlocks, mixed with
 * plain glibc robust mutexes of the same thread) and check that the next
 * locker is told each time. Anonymous segments only: nothing to unlink. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NMUTEX 4

static ipc_shm_t *seg;
static ipc_mutex_t *m[NMUTEX];

static void setup(void) {
  tu_assert_ok(ipc_shm_create_anon(&seg, 4096));
  for (int i = 0; i < NMUTEX; i++)
    tu_assert_ok(ipc_mutex_init(&m[i], seg, (size_t)i * 128));
}

static void teardown(void) {
  for (int i = 0; i < NMUTEX; i++)
    if (m[i] != NULL)
      ipc_mutex_close(m[i]);
  ipc_shm_close(seg);
}

/* A thread that takes the mutexes of `order` (indexes, -1 ends), gives back
 * those of `release` in that order, and exits holding the rest. */
struct plan {
  int order[NMUTEX + 1];
  int release[NMUTEX + 1];
  int rc; /* first failure, or 0 */
};

static void *run_plan(void *arg) {
  struct plan *p = arg;
  for (int i = 0; p->order[i] >= 0; i++) {
    int rc = ipc_mutex_lock(m[p->order[i]], 1000);
    if (rc != 0 && p->rc == 0)
      p->rc = rc;
  }
  for (int i = 0; p->release[i] >= 0; i++) {
    int rc = ipc_mutex_unlock(m[p->release[i]]);
    if (rc != 0 && p->rc == 0)
      p->rc = rc;
  }
  return NULL;
}

static void run_thread(struct plan *p) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, run_plan, p), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(p->rc, 0, "the thread's own calls failed: %s",
               ipc_errname(p->rc));
}

/* Locks i here: IPC_EOWNERDEAD expected when dead, 0 otherwise; leaves it
 * consistent and unlocked. */
static void expect_next_lock(int i, int dead) {
  int rc = ipc_mutex_lock(m[i], 1000);
  cr_assert_eq(rc, dead ? IPC_EOWNERDEAD : 0, "mutex %d: %s", i,
               ipc_errname(rc));
  if (dead)
    tu_assert_ret(ipc_mutex_consistent(m[i]), 0);
  tu_assert_ret(ipc_mutex_unlock(m[i]), 0);
}

Test(mutex_robust, a_thread_that_dies_holding_several_reports_each,
     .init = setup, .fini = teardown, .timeout = 10) {
  struct plan p = {{0, 1, 2, 3, -1}, {-1}, 0};
  run_thread(&p);
  for (int i = 0; i < NMUTEX; i++)
    expect_next_lock(i, 1);
}

Test(mutex_robust, out_of_order_unlocks_keep_the_list_whole, .init = setup,
     .fini = teardown, .timeout = 10) {
  /* Takes 0 1 2 3, gives back 1 then 3 (middle and last of the list),
   * dies holding 0 and 2: exactly those two are reported. */
  struct plan p = {{0, 1, 2, 3, -1}, {1, 3, -1}, 0};
  run_thread(&p);
  expect_next_lock(0, 1);
  expect_next_lock(1, 0);
  expect_next_lock(2, 1);
  expect_next_lock(3, 0);
}

Test(mutex_robust, unlocking_everything_leaves_nothing_reported, .init = setup,
     .fini = teardown, .timeout = 10) {
  struct plan p = {{3, 2, 1, 0, -1}, {0, 2, 1, 3, -1}, 0};
  run_thread(&p);
  for (int i = 0; i < NMUTEX; i++)
    expect_next_lock(i, 0);
}

/* A glibc robust mutex of the same thread shares its robust list with the
 * inline path: both must find their entries. */
static pthread_mutex_t *plain;

static void *mixed(void *arg) {
  int *rc = arg;
  *rc = ipc_mutex_lock(m[0], 1000);
  if (*rc == 0)
    *rc = -pthread_mutex_lock(plain);
  if (*rc == 0)
    *rc = ipc_mutex_lock(m[1], 1000);
  if (*rc == 0)
    *rc = ipc_mutex_unlock(m[0]); /* unlinks between two glibc-made links */
  return NULL;
}

Test(mutex_robust, glibc_mutexes_in_the_same_list_are_reported_too,
     .init = setup, .fini = teardown, .timeout = 10) {
  pthread_mutexattr_t a;
  plain = mmap(NULL, sizeof *plain, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(plain, MAP_FAILED);
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  cr_assert_eq(pthread_mutex_init(plain, &a), 0);
  int rc = -1;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, mixed, &rc), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(rc, 0, "%s", ipc_errname(rc));
  cr_assert_eq(pthread_mutex_lock(plain), EOWNERDEAD);
  cr_assert_eq(pthread_mutex_consistent(plain), 0);
  cr_assert_eq(pthread_mutex_unlock(plain), 0);
  expect_next_lock(0, 0);
  expect_next_lock(1, 1);
  pthread_mutex_destroy(plain);
  munmap(plain, sizeof *plain);
}

Test(mutex_robust, a_forked_child_locks_under_its_own_tid_and_is_reported,
     .init = setup, .fini = teardown, .timeout = 10) {
  /* The parent looked up its tid and list head already (the inline path
   * caches both per thread); the child must not use the parent's. */
  expect_next_lock(0, 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int ok = ipc_mutex_lock(m[0], 1000) == 0 &&
             ipc_mutex_owner(m[0]) == getpid() &&
             ipc_mutex_lock(m[1], 1000) == 0 && ipc_mutex_unlock(m[1]) == 0;
    _exit(ok ? 0 : 1); /* dies holding 0 */
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's calls failed");
  expect_next_lock(0, 1);
  expect_next_lock(1, 0);
}
