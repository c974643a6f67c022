/* tests/c/sem.c: semaphores and locks (ipc_sem_*, ipc_semset_*,
 * ipc_mutex_*): named and unnamed POSIX semaphores, System V sets with
 * undo, and the robust mutex, each between real processes, with timeouts,
 * signals, dying owners and every bad input. Each test registers what it
 * makes; the suite's fini removes it even after a failure. */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/sem.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>

/* --------------------------------------------------------------- cleanup */

static char made_names[16][64];
static int n_names;
static int made_sets[16];
static int n_sets;
static int made_shms[4];
static int n_shms;

/* A name unique to this test process ("/libipc-test-sem-<pid>-tag"),
 * removed now if a previous run left it, and by the fini whatever happens
 * (as a semaphore and as a segment: tests use names for both). */
static const char *tname(const char *tag) {
  cr_assert_lt(n_names, 16);
  char *name = made_names[n_names++];
  snprintf(name, 64, "/libipc-test-sem-%d-%s", (int)getpid(), tag);
  sem_unlink(name);
  shm_unlink(name);
  return name;
}

/* Registers a System V semaphore set for removal by the fini. */
static int track_set(int id) {
  cr_assert_lt(n_sets, 16);
  made_sets[n_sets++] = id;
  return id;
}

/* A System V key unique to this test process, with nothing under it. */
static key_t tkey(int tag) {
  key_t key = (key_t)(0x53000000 | ((getpid() & 0xfffff) << 4) | tag);
  int id = semget(key, 0, 0);
  if (id >= 0)
    semctl(id, 0, IPC_RMID);
  return key;
}

static void cleanup(void) {
  for (int i = 0; i < n_names; i++) {
    sem_unlink(made_names[i]);
    shm_unlink(made_names[i]);
  }
  for (int i = 0; i < n_sets; i++)
    semctl(made_sets[i], 0, IPC_RMID);
  for (int i = 0; i < n_shms; i++)
    shmctl(made_shms[i], IPC_RMID, NULL);
  tu_cleanup();
}

TestSuite(sem, .fini = cleanup);
TestSuite(semset, .fini = cleanup);
TestSuite(mutex, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

/* Whether glibc's file for the named semaphore exists (/dev/shm/sem.x). */
static int sem_exists(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  return lstat(path, &st) == 0;
}

/* Entries of /dev/shm made by this test process, semaphores or segments. */
static int mine(void) {
  char prefix[48];
  int n = 0;
  snprintf(prefix, sizeof prefix, "libipc-test-sem-%d-", (int)getpid());
  DIR *d = opendir("/dev/shm");
  cr_assert_not_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strstr(e->d_name, prefix) != NULL;
  closedir(d);
  return n;
}

/* The permission bits of the named semaphore's file. */
static int sem_mode(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
  return st.st_mode & 07777;
}

/* Whether a System V set exists under key. */
static int set_exists(key_t key) { return semget(key, 0, 0) >= 0; }

/* An anonymous segment, asserted. */
static ipc_shm_t *anon(size_t size) {
  ipc_shm_t *seg;
  tu_assert_ret(ipc_shm_create_anon(&seg, size), 0);
  return seg;
}

/* Forks a child that dies with the parent; returns its handle in the
 * parent, NULL in the child. */
static ipc_proc_t *fork_child(void) {
  pid_t parent = getpid();
  ipc_proc_t *child;
  fflush(NULL);
  pid_t pid = ipc_proc_fork(&child);
  tu_assert_ok(pid);
  if (pid == 0) {
    tu_child_begin(parent);
    return NULL;
  }
  return child;
}

/* Waits for the child and asserts it exited with code 0. */
static void reap_ok(ipc_proc_t *child) {
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert(st.state == IPC_PROC_EXITED && st.code == 0,
            "child: state %d code %d signal %d", st.state, st.code, st.signal);
  ipc_proc_close(child);
}

/* Kills the child with SIGKILL and reaps it. */
static void kill_child(ipc_proc_t *child) {
  tu_assert_ret(ipc_proc_kill(child, SIGKILL), 0);
  ipc_proc_status_t st;
  tu_assert_ret(ipc_proc_wait(child, &st, 5000), 0);
  cr_assert_eq(st.state, IPC_PROC_SIGNALED);
  ipc_proc_close(child);
}

/* A pipe for "I am ready" signals from a child. */
static void ready_pipe(ipc_pipe_t **r, ipc_pipe_t **w) {
  tu_assert_ret(ipc_pipe_create(r, w, 0), 0);
}

static void tell(ipc_pipe_t *w) {
  if (ipc_pipe_write(w, "!", 1, 5000) != 1)
    _exit(90);
}

static void hear(ipc_pipe_t *r) {
  char c;
  tu_assert_ret(ipc_pipe_read(r, &c, 1, 5000), 1);
}

/* ------------------------------------------------ POSIX named semaphores */

Test(sem, create_makes_a_semaphore_with_its_value_and_exactly_its_mode,
     .timeout = 10) {
  const char *name = tname("mode");
  umask(077); /* would narrow 0644 to 0600 */
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, 3, 0644), 0);
  cr_assert(sem_exists(name));
  cr_assert_eq(sem_mode(name), 0644);
  tu_assert_ret(ipc_sem_value(s), 3);
  cr_assert_str_eq(ipc_sem_name(s), name);
  ipc_sem_close(s);

  const char *name2 = tname("mode0");
  tu_assert_ret(ipc_sem_create(&s, name2, 0, 0), 0);
  cr_assert_eq(sem_mode(name2), 0600, "mode 0 means 0600");
  ipc_sem_close(s);
  tu_assert_ret(ipc_sem_unlink(name), 0);
  tu_assert_ret(ipc_sem_unlink(name2), 0);
  cr_assert_eq(mine(), 0);
}

Test(sem, create_is_exclusive_and_leaves_the_existing_one_untouched,
     .timeout = 10) {
  const char *name = tname("excl");
  ipc_sem_t *s, *t;
  tu_assert_ret(ipc_sem_create(&s, name, 5, 0600), 0);
  tu_assert_ret(ipc_sem_create(&t, name, 1, 0600), IPC_EEXIST);
  cr_assert_null(t);
  tu_assert_ret(ipc_sem_value(s), 5);
  tu_assert_ret(ipc_sem_open(&t, name), 0);
  tu_assert_ret(ipc_sem_value(t), 5);
  ipc_sem_close(t);
  ipc_sem_close(s);
  tu_assert_ret(ipc_sem_unlink(name), 0);
}

Test(sem, open_and_unlink_of_a_missing_name_give_enoent, .timeout = 10) {
  const char *name = tname("missing");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_open(&s, name), IPC_ENOENT);
  cr_assert_null(s);
  tu_assert_ret(ipc_sem_unlink(name), IPC_ENOENT);
  cr_assert_eq(mine(), 0);
}

Test(sem, open_refuses_a_file_that_cannot_be_a_semaphore, .timeout = 10) {
  const char *name = tname("notsem");
  char path[300];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  close(fd);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_open(&s, name), IPC_EINVAL); /* empty: no SIGBUS */
  cr_assert_null(s);
  cr_assert(sem_exists(name), "the file must be left alone");
  unlink(path);
  cr_assert_eq(mkfifo(path, 0600), 0);
  tu_assert_ret(ipc_sem_open(&s, name), IPC_EINVAL); /* a FIFO: no hang */
  unlink(path);
}

Test(sem, bad_names_values_and_modes_are_refused_and_leave_nothing,
     .timeout = 10) {
  ipc_sem_t *s;
  char longname[300];
  longname[0] = '/';
  memset(longname + 1, 'a', IPC_NAME_MAX + 1);
  longname[IPC_NAME_MAX + 2] = '\0';
  tu_assert_ret(ipc_sem_create(&s, "noslash", 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, "/a/b", 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, "/", 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, "", 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, NULL, 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, longname, 0, 0), IPC_ENAMETOOLONG);
  tu_assert_ret(ipc_sem_open(&s, "/a/b"), IPC_EINVAL);
  tu_assert_ret(ipc_sem_unlink("x"), IPC_EINVAL);
  const char *name = tname("bad");
  tu_assert_ret(ipc_sem_create(&s, name, IPC_SEM_VALUE_MAX + 1u, 0),
                IPC_EINVAL);
  tu_assert_ret(ipc_sem_create(&s, name, 0, 01777), IPC_EINVAL);
  cr_assert_null(s);
  cr_assert(!sem_exists(name));
  cr_assert_eq(mine(), 0);
}

Test(sem, wait_takes_one_and_post_gives_it_back, .timeout = 10) {
  const char *name = tname("basic");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, 2, 0), 0);
  tu_assert_ret(ipc_sem_wait(s, -1), 0);
  tu_assert_ret(ipc_sem_wait(s, 1000), 0);
  tu_assert_ret(ipc_sem_value(s), 0);
  tu_assert_ret(ipc_sem_trywait(s), IPC_EAGAIN);
  tu_assert_ret(ipc_sem_wait(s, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_sem_post(s), 0);
  tu_assert_ret(ipc_sem_value(s), 1);
  tu_assert_ret(ipc_sem_trywait(s), 0);
  ipc_sem_close(s);
  ipc_sem_unlink(name);
}

Test(sem, wait_times_out_after_its_timeout_and_not_before, .timeout = 10) {
  const char *name = tname("timeout");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, 0, 0), 0);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_sem_wait(s, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 149 && dt < 2000, "waited %.1f ms for 150", dt);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_sem_wait(s, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50, "timeout 0 must not wait");
  tu_assert_ret(ipc_sem_value(s), 0);
  ipc_sem_close(s);
  ipc_sem_unlink(name);
}

Test(sem, a_signal_interrupts_a_wait_with_eintr_and_takes_nothing,
     .timeout = 10) {
  const char *name = tname("eintr");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, 0, 0), 0);
  tu_alarm_in(50);
  tu_assert_ret(ipc_sem_wait(s, -1), IPC_EINTR);
  tu_alarm_in(50);
  tu_assert_ret(ipc_sem_wait(s, 5000), IPC_EINTR);
  cr_assert_eq(tu_alarms, 2);
  tu_assert_ret(ipc_sem_post(s), 0);
  tu_assert_ret(ipc_sem_value(s), 1);
  ipc_sem_close(s);
  ipc_sem_unlink(name);
}

Test(sem, posting_past_the_maximum_gives_eoverflow_and_changes_nothing,
     .timeout = 10) {
  const char *name = tname("overflow");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, IPC_SEM_VALUE_MAX, 0), 0);
  tu_assert_ret(ipc_sem_post(s), IPC_EOVERFLOW);
  tu_assert_ret(ipc_sem_value(s), IPC_SEM_VALUE_MAX);
  tu_assert_ret(ipc_sem_trywait(s), 0);
  tu_assert_ret(ipc_sem_post(s), 0);
  tu_assert_ret(ipc_sem_post(s), IPC_EOVERFLOW);
  ipc_sem_close(s);
  ipc_sem_unlink(name);
}

Test(sem, two_processes_play_ping_pong_through_two_named_semaphores,
     .timeout = 10) {
  enum { ROUNDS = 1000 };
  const char *ping = tname("ping"), *pong = tname("pong");
  ipc_sem_t *a, *b;
  tu_assert_ret(ipc_sem_create(&a, ping, 0, 0), 0);
  tu_assert_ret(ipc_sem_create(&b, pong, 0, 0), 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    /* The child opens both by name, as an unrelated process would. */
    ipc_sem_t *x, *y;
    if (ipc_sem_open(&x, ping) < 0 || ipc_sem_open(&y, pong) < 0)
      _exit(1);
    for (int i = 0; i < ROUNDS; i++)
      if (ipc_sem_wait(x, 5000) < 0 || ipc_sem_post(y) < 0)
        _exit(2);
    _exit(0);
  }
  for (int i = 0; i < ROUNDS; i++) {
    tu_assert_ret(ipc_sem_post(a), 0);
    tu_assert_ret(ipc_sem_wait(b, 5000), 0);
  }
  reap_ok(child);
  tu_assert_ret(ipc_sem_value(a), 0);
  tu_assert_ret(ipc_sem_value(b), 0);
  ipc_sem_close(a);
  ipc_sem_close(b);
  ipc_sem_unlink(ping);
  ipc_sem_unlink(pong);
}

Test(sem, a_waiter_in_another_process_wakes_when_posted, .timeout = 10) {
  const char *name = tname("wake");
  ipc_sem_t *s;
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  tu_assert_ret(ipc_sem_create(&s, name, 0, 0), 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    tell(w);
    _exit(ipc_sem_wait(s, 5000) == 0 ? 0 : 1);
  }
  hear(r);
  usleep(50000); /* let it sleep in the wait */
  tu_assert_ret(ipc_sem_post(s), 0);
  reap_ok(child);
  tu_assert_ret(ipc_sem_value(s), 0);
  ipc_sem_close(s);
  ipc_sem_unlink(name);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(sem, unlink_removes_the_name_and_open_handles_go_on, .timeout = 10) {
  const char *name = tname("unlink");
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_create(&s, name, 1, 0), 0);
  tu_assert_ret(ipc_sem_unlink(name), 0);
  cr_assert(!sem_exists(name));
  tu_assert_ret(ipc_sem_wait(s, 0), 0);
  tu_assert_ret(ipc_sem_post(s), 0);
  ipc_sem_close(s);
  cr_assert_eq(mine(), 0);
}

Test(sem, named_semaphores_keep_no_descriptor_open, .timeout = 10) {
  const char *name = tname("fds");
  int before = tu_count_fds();
  ipc_sem_t *s, *t;
  tu_assert_ret(ipc_sem_create(&s, name, 0, 0), 0);
  tu_assert_ret(ipc_sem_open(&t, name), 0);
  cr_assert_eq(tu_count_fds(), before);
  ipc_sem_close(t);
  ipc_sem_close(s);
  cr_assert_eq(tu_count_fds(), before);
  ipc_sem_unlink(name);
}

/* ------------------------------------------- unnamed semaphores in a segment
 */

Test(sem, an_unnamed_semaphore_in_an_anonymous_segment_works_across_fork,
     .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  ipc_sem_t *s, *done;
  tu_assert_ret(ipc_sem_init(&s, seg, 0, 0), 0);
  tu_assert_ret(ipc_sem_init(&done, seg, IPC_SEM_SIZE, 0), 0);
  cr_assert_null(ipc_sem_name(s));
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    for (int i = 0; i < 100; i++)
      if (ipc_sem_wait(s, 5000) < 0)
        _exit(1);
    _exit(ipc_sem_post(done) == 0 ? 0 : 2);
  }
  for (int i = 0; i < 100; i++)
    tu_assert_ret(ipc_sem_post(s), 0);
  tu_assert_ret(ipc_sem_wait(done, 5000), 0);
  reap_ok(child);
  tu_assert_ret(ipc_sem_value(s), 0);
  ipc_sem_close(s);
  ipc_sem_close(done);
  ipc_shm_close(seg);
}

Test(sem, attach_finds_the_semaphore_another_mapping_initialised,
     .timeout = 10) {
  const char *name = tname("seg");
  ipc_shm_t *a, *b;
  tu_assert_ret(ipc_shm_create(&a, name, 8192, 0), 0);
  tu_assert_ret(ipc_shm_open(&b, name, 0), 0);
  ipc_sem_t *s, *t;
  tu_assert_ret(ipc_sem_init(&s, a, 4096 + 64, 2), 0);
  tu_assert_ret(ipc_sem_attach(&t, b, 4096 + 64), 0);
  tu_assert_ret(ipc_sem_value(t), 2);
  tu_assert_ret(ipc_sem_wait(t, 0), 0);
  tu_assert_ret(ipc_sem_value(s), 1);
  ipc_sem_close(t);
  ipc_sem_close(s);
  ipc_shm_close(a);
  ipc_shm_close(b);
  ipc_shm_unlink(name);
}

Test(sem, a_semaphore_in_a_system_v_segment_works_across_fork, .timeout = 10) {
  ipc_shm_t *seg;
  tu_assert_ret(ipc_shm_sysv_create(&seg, IPC_PRIVATE, 4096, 0), 0);
  made_shms[n_shms++] = ipc_shm_sysv_id(seg);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_init(&s, seg, 128, 0), 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL)
    _exit(ipc_sem_post(s) == 0 ? 0 : 1);
  tu_assert_ret(ipc_sem_wait(s, 5000), 0);
  reap_ok(child);
  ipc_sem_close(s);
  tu_assert_ret(ipc_shm_sysv_remove(seg), 0);
  ipc_shm_close(seg);
}

Test(sem, the_handle_keeps_working_after_the_segment_handle_is_closed,
     .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_init(&s, seg, 8, 1), 0);
  ipc_shm_close(seg);
  tu_assert_ret(ipc_sem_wait(s, 0), 0);
  tu_assert_ret(ipc_sem_post(s), 0);
  tu_assert_ret(ipc_sem_value(s), 1);
  ipc_sem_close(s);
}

Test(sem, misplaced_semaphores_are_refused, .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_init(&s, seg, 4, 0), IPC_EINVAL);
  cr_assert_null(s);
  tu_assert_ret(ipc_sem_init(&s, seg, 4096 - IPC_SEM_SIZE + 8, 0), IPC_ERANGE);
  tu_assert_ret(ipc_sem_init(&s, seg, 4096, 0), IPC_ERANGE);
  tu_assert_ret(ipc_sem_attach(&s, seg, SIZE_MAX - 7), IPC_ERANGE);
  tu_assert_ret(ipc_sem_init(&s, seg, 0, IPC_SEM_VALUE_MAX + 1u), IPC_EINVAL);
  tu_assert_ret(ipc_sem_init(&s, seg, 4096 - IPC_SEM_SIZE, 0), 0);
  ipc_sem_close(s);
  ipc_shm_close(seg);

  const char *name = tname("ro");
  ipc_shm_t *rw, *ro;
  tu_assert_ret(ipc_shm_create(&rw, name, 4096, 0), 0);
  tu_assert_ret(ipc_shm_open(&ro, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_sem_init(&s, ro, 0, 0), IPC_EACCES);
  tu_assert_ret(ipc_sem_attach(&s, ro, 0), IPC_EACCES);
  ipc_shm_close(ro);
  ipc_shm_close(rw);
  ipc_shm_unlink(name);
}

Test(sem, attach_refuses_bytes_that_cannot_be_a_semaphore, .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  memset(ipc_shm_addr(seg), 0xff, 64);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_attach(&s, seg, 0), IPC_ECORRUPT);
  cr_assert_null(s);
  /* Zeroed bytes are a semaphore of value 0. */
  tu_assert_ret(ipc_sem_attach(&s, seg, 64), 0);
  tu_assert_ret(ipc_sem_value(s), 0);
  ipc_sem_close(s);
  ipc_shm_close(seg);
}

Test(sem, an_unnamed_semaphore_overflows_like_a_named_one, .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  ipc_sem_t *s;
  tu_assert_ret(ipc_sem_init(&s, seg, 0, IPC_SEM_VALUE_MAX), 0);
  tu_assert_ret(ipc_sem_post(s), IPC_EOVERFLOW);
  tu_assert_ret(ipc_sem_value(s), IPC_SEM_VALUE_MAX);
  ipc_sem_close(s);
  ipc_shm_close(seg);
}

/* ------------------------------------------------- System V semaphore sets */

/* A private set of n semaphores with values (NULL: 0), asserted and
 * registered. */
static ipc_semset_t *private_set(int n, const int *values, int mode) {
  ipc_semset_t *set;
  tu_assert_ret(ipc_semset_create(&set, IPC_PRIVATE, n, values, mode), 0);
  track_set(ipc_semset_id(set));
  return set;
}

/* One operation. */
static int op1(ipc_semset_t *set, int num, int delta, int flags,
               int timeout_ms) {
  ipc_semop_t op = {(unsigned short)num, (short)delta, (short)flags};
  return ipc_semset_op(set, &op, 1, timeout_ms);
}

Test(semset, create_sets_every_value_and_the_exact_mode, .timeout = 10) {
  umask(077);
  int values[4] = {0, 1, 2, 32767};
  ipc_semset_t *set = private_set(4, values, 0640);
  tu_assert_ret(ipc_semset_count(set), 4);
  for (int i = 0; i < 4; i++)
    tu_assert_ret(ipc_semset_get(set, i, NULL), values[i]);
  ipc_semset_stat_t st;
  tu_assert_ret(ipc_semset_stat(set, &st), 0);
  cr_assert_eq(st.nsems, 4);
  cr_assert_eq(st.mode, 0640);
  cr_assert_eq(st.uid, getuid());
  cr_assert_eq(st.cuid, getuid());
  cr_assert_neq(st.otime, 0, "create must leave the set marked ready");
  ipc_semset_close(set);

  ipc_semset_t *zero = private_set(2, NULL, 0);
  tu_assert_ret(ipc_semset_get(zero, 0, NULL), 0);
  tu_assert_ret(ipc_semset_get(zero, 1, NULL), 0);
  tu_assert_ret(ipc_semset_stat(zero, &st), 0);
  cr_assert_eq(st.mode, 0600);
  ipc_semset_close(zero);
}

Test(semset, create_by_key_is_exclusive_and_open_finds_it, .timeout = 10) {
  key_t key = tkey(1);
  int values[2] = {3, 4};
  ipc_semset_t *set, *other;
  tu_assert_ret(ipc_semset_create(&set, key, 2, values, 0), 0);
  track_set(ipc_semset_id(set));
  tu_assert_ret(ipc_semset_create(&other, key, 2, NULL, 0), IPC_EEXIST);
  cr_assert_null(other);
  tu_assert_ret(ipc_semset_open(&other, key, -1, 0), 0);
  tu_assert_ret(ipc_semset_id(other), ipc_semset_id(set));
  tu_assert_ret(ipc_semset_count(other), 2);
  tu_assert_ret(ipc_semset_get(other, 0, NULL), 3);
  tu_assert_ret(ipc_semset_get(other, 1, NULL), 4);
  ipc_semset_close(other);
  tu_assert_ret(ipc_semset_open(&other, IPC_PRIVATE, ipc_semset_id(set), 0), 0);
  ipc_semset_close(other);
  tu_assert_ret(ipc_semset_remove(set), 0);
  ipc_semset_close(set);
  cr_assert(!set_exists(key));
  tu_assert_ret(ipc_semset_open(&other, key, -1, 0), IPC_ENOENT);
}

Test(semset, open_waits_until_the_creator_has_initialised_the_set,
     .timeout = 10) {
  /* A creator that is slow between semget and its first semop: the
   * classic race, played by a child with raw calls. */
  key_t key = tkey(2);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    int id = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0)
      _exit(1);
    tell(w);
    usleep(300000);
    unsigned short vals[2] = {0, 7};
    union {
      int val;
      unsigned short *array;
    } arg = {.array = vals};
    if (semctl(id, 0, SETALL, arg) < 0)
      _exit(2);
    struct sembuf ready = {0, 5, 0};
    _exit(semop(id, &ready, 1) == 0 ? 0 : 3);
  }
  hear(r);
  int id = semget(key, 0, 0);
  cr_assert_geq(id, 0);
  track_set(id);
  ipc_semset_t *set;
  /* Not ready yet: a short open times out, a patient one gets the values. */
  tu_assert_ret(ipc_semset_open(&set, key, -1, 50), IPC_ETIMEDOUT);
  cr_assert_null(set);
  tu_assert_ret(ipc_semset_open(&set, key, -1, 5000), 0);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 5);
  tu_assert_ret(ipc_semset_get(set, 1, NULL), 7);
  reap_ok(child);
  ipc_semset_close(set);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(semset, op_waits_for_its_timeout_then_gives_etimedout, .timeout = 10) {
  ipc_semset_t *set = private_set(1, NULL, 0);
  double t0 = tu_now_ms();
  tu_assert_ret(op1(set, 0, -1, 0, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 149 && dt < 2000, "waited %.1f ms for 150", dt);
  tu_assert_ret(op1(set, 0, -1, 0, 0), IPC_ETIMEDOUT);
  tu_assert_ret(op1(set, 0, -1, IPC_NOWAIT, -1), IPC_EAGAIN);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 0);
  ipc_semset_close(set);
}

Test(semset, a_signal_interrupts_an_op_with_eintr, .timeout = 10) {
  ipc_semset_t *set = private_set(1, NULL, 0);
  tu_alarm_in(50);
  tu_assert_ret(op1(set, 0, -1, 0, -1), IPC_EINTR);
  tu_alarm_in(50);
  tu_assert_ret(op1(set, 0, -1, 0, 5000), IPC_EINTR);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 0);
  ipc_semset_close(set);
}

Test(semset, operations_are_atomic_all_or_none, .timeout = 10) {
  int values[2] = {1, 0};
  ipc_semset_t *set = private_set(2, values, 0);
  ipc_semop_t both[2] = {{0, -1, 0}, {1, -1, 0}};
  tu_assert_ret(ipc_semset_op(set, both, 2, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 1); /* nothing taken */
  tu_assert_ret(op1(set, 1, 1, 0, 0), 0);
  tu_assert_ret(ipc_semset_op(set, both, 2, 0), 0);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 0);
  tu_assert_ret(ipc_semset_get(set, 1, NULL), 0);
  /* op 0 waits for zero. */
  ipc_semop_t zero = {0, 0, 0};
  tu_assert_ret(ipc_semset_op(set, &zero, 1, 0), 0);
  ipc_semset_close(set);
}

Test(semset, undo_gives_back_what_a_killed_process_held, .timeout = 10) {
  int one = 1;
  ipc_semset_t *set = private_set(1, &one, 0);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (op1(set, 0, -1, IPC_SEM_UNDO, 5000) < 0)
      _exit(1);
    tell(w);
    pause(); /* holds it until killed */
    _exit(0);
  }
  hear(r);
  ipc_semset_sem_t info;
  tu_assert_ret(ipc_semset_get(set, 0, &info), 0);
  cr_assert_eq(info.pid, ipc_proc_pid(child));
  tu_assert_ret(op1(set, 0, -1, 0, 50), IPC_ETIMEDOUT);
  kill_child(child);
  /* The kernel undid the child's -1. */
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 1);
  tu_assert_ret(op1(set, 0, -1, 0, 1000), 0);

  /* Without SEM_UNDO, what a dead process took stays taken. */
  tu_assert_ret(op1(set, 0, 1, 0, 0), 0);
  child = fork_child();
  if (child == NULL) {
    if (op1(set, 0, -1, 0, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  kill_child(child);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 0);
  ipc_semset_close(set);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(semset, two_processes_hand_a_token_back_and_forth, .timeout = 10) {
  enum { ROUNDS = 500 };
  ipc_semset_t *set = private_set(2, NULL, 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    /* The child opens the set by id, as another program would. */
    ipc_semset_t *s;
    if (ipc_semset_open(&s, IPC_PRIVATE, ipc_semset_id(set), 1000) < 0)
      _exit(1);
    for (int i = 0; i < ROUNDS; i++)
      if (op1(s, 0, -1, 0, 5000) < 0 || op1(s, 1, 1, 0, 0) < 0)
        _exit(2);
    _exit(0);
  }
  for (int i = 0; i < ROUNDS; i++) {
    tu_assert_ret(op1(set, 0, 1, 0, 0), 0);
    tu_assert_ret(op1(set, 1, -1, 0, 5000), 0);
  }
  reap_ok(child);
  ipc_semset_close(set);
}

Test(semset, removing_the_set_wakes_its_waiters_with_eidrm, .timeout = 10) {
  ipc_semset_t *set = private_set(1, NULL, 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL)
    _exit(op1(set, 0, -1, 0, 5000) == IPC_EIDRM ? 0 : 1);
  /* Wait until the child sleeps in the op. */
  ipc_semset_sem_t info = {0};
  for (int i = 0; i < 500 && info.ncnt == 0; i++) {
    tu_assert_ok(ipc_semset_get(set, 0, &info));
    usleep(2000);
  }
  cr_assert_eq(info.ncnt, 1);
  tu_assert_ret(ipc_semset_remove(set), 0);
  reap_ok(child);
  tu_assert_ret(op1(set, 0, 1, 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), IPC_EINVAL);
  tu_assert_ret(ipc_semset_remove(set), IPC_EINVAL);
  ipc_semset_close(set);
}

Test(semset, posting_past_the_maximum_gives_eoverflow, .timeout = 10) {
  int max = IPC_SEMSET_VALUE_MAX;
  ipc_semset_t *set = private_set(1, &max, 0);
  tu_assert_ret(op1(set, 0, 1, 0, 0), IPC_EOVERFLOW);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), IPC_SEMSET_VALUE_MAX);
  tu_assert_ret(ipc_semset_set(set, 0, IPC_SEMSET_VALUE_MAX + 1), IPC_ERANGE);
  tu_assert_ret(ipc_semset_set(set, 0, 10), 0);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 10);
  ipc_semset_close(set);
}

Test(semset, bad_operations_are_refused_and_change_nothing, .timeout = 10) {
  int one = 1;
  ipc_semset_t *set = private_set(1, &one, 0);
  tu_assert_ret(op1(set, 1, -1, 0, 0), IPC_EFBIG);
  tu_assert_ret(op1(set, 0, -1, 0x4000, 0), IPC_EINVAL);
  ipc_semop_t op = {0, -1, 0};
  tu_assert_ret(ipc_semset_op(set, &op, 0, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_get(set, 1, NULL), IPC_EINVAL);
  tu_assert_ret(ipc_semset_get(set, 0, NULL), 1);
  ipc_semset_close(set);
}

Test(semset, bad_creations_are_refused_and_leave_no_set, .timeout = 10) {
  key_t key = tkey(3);
  ipc_semset_t *set;
  int bad[2] = {0, 32768}, neg[2] = {-1, 0};
  tu_assert_ret(ipc_semset_create(&set, key, 2, bad, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_create(&set, key, 2, neg, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_create(&set, key, 0, NULL, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_create(&set, key, 100000, NULL, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_create(&set, key, 1, NULL, 01600), IPC_EINVAL);
  cr_assert_null(set);
  cr_assert(!set_exists(key));
  tu_assert_ret(ipc_semset_open(&set, IPC_PRIVATE, -1, 0), IPC_EINVAL);
  tu_assert_ret(ipc_semset_open(&set, key, -1, 0), IPC_ENOENT);
}

/* ------------------------------------------------------------ robust mutex */

/* A fresh mutex at offset 64 of a fresh anonymous segment, asserted. */
static ipc_mutex_t *new_mutex(ipc_shm_t **seg) {
  *seg = anon(4096);
  ipc_mutex_t *m;
  tu_assert_ret(ipc_mutex_init(&m, *seg, 64), 0);
  return m;
}

Test(mutex, lock_and_unlock_by_one_thread, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  tu_assert_ret(ipc_mutex_owner(m), 0);
  tu_assert_ret(ipc_mutex_lock(m, -1), 0);
  tu_assert_ret(ipc_mutex_owner(m), gettid());
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_EDEADLK);
  tu_assert_ret(ipc_mutex_consistent(m), IPC_EINVAL);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  tu_assert_ret(ipc_mutex_owner(m), 0);
  tu_assert_ret(ipc_mutex_lock(m, 0), 0);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  tu_assert_ret(ipc_mutex_close(m), 0);
  ipc_shm_close(seg);
}

Test(mutex, unlocking_a_mutex_the_caller_does_not_own_gives_eperm,
     .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  tu_assert_ret(ipc_mutex_unlock(m), IPC_EPERM);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  tu_assert_ret(ipc_mutex_unlock(m), IPC_EPERM);
  tu_assert_ret(ipc_mutex_consistent(m), IPC_EPERM);
  tu_assert_ret(ipc_mutex_owner(m), ipc_proc_pid(child)); /* still its */
  tu_assert_ret(ipc_mutex_lock(m, 50), IPC_ETIMEDOUT);
  kill_child(child);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, lock_times_out_while_another_process_holds_it, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mutex_lock(m, 150), IPC_ETIMEDOUT);
  double dt = tu_now_ms() - t0;
  cr_assert(dt >= 149 && dt < 2000, "waited %.1f ms for 150", dt);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_mutex_lock(m, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50);
  kill_child(child);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, a_signal_interrupts_a_lock_wait_with_eintr, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  tu_alarm_in(50);
  tu_assert_ret(ipc_mutex_lock(m, -1), IPC_EINTR);
  tu_alarm_in(50);
  tu_assert_ret(ipc_mutex_lock(m, 5000), IPC_EINTR);
  tu_assert_ret(ipc_mutex_owner(m), ipc_proc_pid(child));
  kill_child(child);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, a_waiter_gets_the_lock_when_the_holder_unlocks, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    usleep(200000);
    _exit(ipc_mutex_unlock(m) == 0 ? 0 : 2);
  }
  hear(r);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mutex_lock(m, 5000), 0);
  cr_assert_geq(tu_now_ms() - t0, 100, "got the lock while it was held");
  reap_ok(child);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, many_processes_contending_lose_no_wakeup_and_no_increment,
     .timeout = 10) {
  enum { KIDS = 4, ROUNDS = 2000 };
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  volatile long *counter = (long *)ipc_shm_addr(seg);
  ipc_proc_t *kids[KIDS];
  tu_assert_ret(ipc_mutex_lock(m, -1), 0); /* all start waiting on it */
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork_child();
    if (kids[k] == NULL) {
      for (int i = 0; i < ROUNDS; i++) {
        if (ipc_mutex_lock(m, 5000) < 0)
          _exit(1);
        long v = *counter; /* a non-atomic increment: the lock must hold */
        if (i % 256 == 0)
          sched_yield();
        *counter = v + 1;
        if (ipc_mutex_unlock(m) < 0)
          _exit(2);
      }
      _exit(0);
    }
  }
  usleep(50000);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  for (int k = 0; k < KIDS; k++)
    reap_ok(kids[k]);
  cr_assert_eq(*counter, (long)KIDS * ROUNDS);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
}

Test(mutex, the_next_locker_is_told_when_the_owner_died_and_can_recover,
     .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *child = fork_child();
  if (child == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  kill_child(child);
  tu_assert_ret(ipc_mutex_owner(m), IPC_EOWNERDEAD);
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_EOWNERDEAD);
  tu_assert_ret(ipc_mutex_owner(m), gettid()); /* held */
  tu_assert_ret(ipc_mutex_consistent(m), 0);
  tu_assert_ret(ipc_mutex_consistent(m), IPC_EINVAL);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  tu_assert_ret(ipc_mutex_lock(m, 0), 0); /* an ordinary mutex again */
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, a_sleeping_waiter_is_woken_when_the_owner_dies, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *holder = fork_child();
  if (holder == NULL) {
    if (ipc_mutex_lock(m, 5000) < 0)
      _exit(1);
    tell(w);
    pause();
    _exit(0);
  }
  hear(r);
  ipc_proc_t *waiter = fork_child();
  if (waiter == NULL) {
    tell(w);
    int rc = ipc_mutex_lock(m, 5000);
    if (rc != IPC_EOWNERDEAD)
      _exit(1);
    _exit(ipc_mutex_consistent(m) == 0 && ipc_mutex_unlock(m) == 0 ? 0 : 2);
  }
  hear(r);
  usleep(100000); /* the waiter is asleep in the futex by now */
  kill_child(holder);
  reap_ok(waiter);
  tu_assert_ret(ipc_mutex_lock(m, 0), 0);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}

Test(mutex, unlocking_without_consistent_makes_it_not_recoverable,
     .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_proc_t *child = fork_child();
  if (child == NULL)
    _exit(ipc_mutex_lock(m, 5000) == 0 ? 0 : 1); /* dies holding it */
  reap_ok(child);
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_EOWNERDEAD);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_ENOTRECOVERABLE);
  tu_assert_ret(ipc_mutex_lock(m, 0), IPC_ENOTRECOVERABLE);
  /* Initialising it again is the way back. */
  ipc_mutex_t *fresh;
  tu_assert_ret(ipc_mutex_init(&fresh, seg, 64), 0);
  tu_assert_ret(ipc_mutex_lock(m, 0), 0);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  ipc_mutex_close(fresh);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
}

Test(mutex, attach_shares_the_mutex_and_refuses_what_is_not_one,
     .timeout = 10) {
  const char *name = tname("mutex");
  ipc_shm_t *a, *b;
  tu_assert_ret(ipc_shm_create(&a, name, 4096, 0), 0);
  tu_assert_ret(ipc_shm_open(&b, name, 0), 0);
  ipc_mutex_t *m, *n;
  tu_assert_ret(ipc_mutex_attach(&n, b, 0), IPC_ECORRUPT); /* zeroes */
  cr_assert_null(n);
  memset((char *)ipc_shm_addr(a) + 128, 0x5a, IPC_MUTEX_SIZE);
  tu_assert_ret(ipc_mutex_attach(&n, b, 128), IPC_ECORRUPT);
  tu_assert_ret(ipc_mutex_init(&m, a, 0), 0);
  tu_assert_ret(ipc_mutex_attach(&n, b, 0), 0);
  tu_assert_ret(ipc_mutex_lock(m, 0), 0);
  tu_assert_ret(ipc_mutex_lock(n, 0), IPC_EDEADLK); /* the same mutex */
  tu_assert_ret(ipc_mutex_unlock(n), 0);
  tu_assert_ret(ipc_mutex_owner(m), 0);
  ipc_mutex_close(n);
  ipc_mutex_close(m);
  ipc_shm_close(a);
  ipc_shm_close(b);
  ipc_shm_unlink(name);
}

Test(mutex, a_mutex_in_a_system_v_segment_works_across_processes,
     .timeout = 10) {
  ipc_shm_t *seg;
  tu_assert_ret(ipc_shm_sysv_create(&seg, IPC_PRIVATE, 4096, 0), 0);
  made_shms[n_shms++] = ipc_shm_sysv_id(seg);
  ipc_mutex_t *m;
  tu_assert_ret(ipc_mutex_init(&m, seg, 256), 0);
  ipc_proc_t *child = fork_child();
  if (child == NULL)
    _exit(ipc_mutex_lock(m, 5000) == 0 ? 0 : 1);
  reap_ok(child);
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_EOWNERDEAD);
  tu_assert_ret(ipc_mutex_consistent(m), 0);
  tu_assert_ret(ipc_mutex_unlock(m), 0);
  ipc_mutex_close(m);
  tu_assert_ret(ipc_shm_sysv_remove(seg), 0);
  ipc_shm_close(seg);
}

Test(mutex, misplaced_mutexes_are_refused, .timeout = 10) {
  ipc_shm_t *seg = anon(4096);
  ipc_mutex_t *m;
  tu_assert_ret(ipc_mutex_init(&m, seg, 12), IPC_EINVAL);
  cr_assert_null(m);
  tu_assert_ret(ipc_mutex_init(&m, seg, 4096 - IPC_MUTEX_SIZE + 8), IPC_ERANGE);
  tu_assert_ret(ipc_mutex_attach(&m, seg, SIZE_MAX - 7), IPC_ERANGE);
  ipc_shm_close(seg);
  const char *name = tname("mro");
  ipc_shm_t *rw, *ro;
  tu_assert_ret(ipc_shm_create(&rw, name, 4096, 0), 0);
  tu_assert_ret(ipc_shm_open(&ro, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_mutex_init(&m, ro, 0), IPC_EACCES);
  ipc_shm_close(ro);
  ipc_shm_close(rw);
  ipc_shm_unlink(name);
}

Test(mutex, closing_a_held_mutex_keeps_it_held_and_mapped, .timeout = 10) {
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_mutex_t *other;
  tu_assert_ret(ipc_mutex_attach(&other, seg, 64), 0);
  ipc_shm_close(seg); /* the handles keep their own mappings */
  tu_assert_ret(ipc_mutex_lock(m, 0), 0);
  tu_assert_ret(ipc_mutex_close(m), IPC_EBUSY);
  tu_assert_ret(ipc_mutex_owner(other), gettid());
  /* Other robust mutexes go on working: glibc's list is intact. */
  ipc_shm_t *seg2;
  ipc_mutex_t *m2 = new_mutex(&seg2);
  tu_assert_ret(ipc_mutex_lock(m2, 0), 0);
  tu_assert_ret(ipc_mutex_unlock(m2), 0);
  ipc_mutex_close(m2);
  ipc_shm_close(seg2);
  tu_assert_ret(ipc_mutex_unlock(other), 0);
  tu_assert_ret(ipc_mutex_close(other), 0);
}

Test(mutex, every_sleeping_waiter_learns_that_it_is_not_recoverable,
     .timeout = 10) {
  enum { KIDS = 3 };
  ipc_shm_t *seg;
  ipc_mutex_t *m = new_mutex(&seg);
  ipc_proc_t *dead = fork_child();
  if (dead == NULL)
    _exit(ipc_mutex_lock(m, 5000) == 0 ? 0 : 1); /* dies holding it */
  reap_ok(dead);
  tu_assert_ret(ipc_mutex_lock(m, 1000), IPC_EOWNERDEAD);
  ipc_pipe_t *r, *w;
  ready_pipe(&r, &w);
  ipc_proc_t *kids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork_child();
    if (kids[k] == NULL) {
      tell(w);
      _exit(ipc_mutex_lock(m, 5000) == IPC_ENOTRECOVERABLE ? 0 : 1);
    }
    hear(r);
  }
  usleep(100000); /* all asleep in the futex */
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_mutex_unlock(m), 0); /* without ipc_mutex_consistent */
  for (int k = 0; k < KIDS; k++)
    reap_ok(kids[k]);
  cr_assert_lt(tu_now_ms() - t0, 2000, "a waiter slept on");
  tu_assert_ret(ipc_mutex_lock(m, 0), IPC_ENOTRECOVERABLE);
  ipc_mutex_close(m);
  ipc_shm_close(seg);
  ipc_pipe_close(r);
  ipc_pipe_close(w);
}
