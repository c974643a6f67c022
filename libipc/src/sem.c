/* sem.c: POSIX semaphores (named, or unnamed in a segment), System V
 * semaphore sets initialised without the creation race, and a robust
 * process-shared mutex whose waits, unlike glibc's, end on a signal.
 * A handle made from a segment maps the bytes it needs itself, so its
 * memory lives exactly as long as the handle. */
#include "internal.h"
#include "name.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __GLIBC__
#error "sem.c uses glibc's sem_t and pthread_mutex_t layouts"
#endif

_Static_assert(sizeof(sem_t) <= IPC_SEM_SIZE, "IPC_SEM_SIZE");
_Static_assert(alignof(sem_t) <= IPC_SEM_ALIGN, "IPC_SEM_ALIGN");
_Static_assert(SEM_VALUE_MAX == IPC_SEM_VALUE_MAX, "IPC_SEM_VALUE_MAX");
_Static_assert(IPC_SEM_UNDO == SEM_UNDO, "IPC_SEM_UNDO");
/* ipc_semop_t goes to semtimedop as it is. */
_Static_assert(sizeof(ipc_semop_t) == sizeof(struct sembuf), "ipc_semop_t");
_Static_assert(offsetof(ipc_semop_t, num) == offsetof(struct sembuf, sem_num),
               "ipc_semop_t.num");
_Static_assert(offsetof(ipc_semop_t, op) == offsetof(struct sembuf, sem_op),
               "ipc_semop_t.op");
_Static_assert(offsetof(ipc_semop_t, flags) == offsetof(struct sembuf, sem_flg),
               "ipc_semop_t.flags");

/* ------------------------------------------------------------------ views
 *
 * The pages of a segment that hold one object, mapped again for a handle:
 * mmap of the segment's descriptor, or a second shmat of a System V one
 * (which maps it whole). */

typedef struct view {
  void *base; /* NULL: none */
  size_t len; /* 0 for System V */
} view;

/* Maps the `size` bytes at `offset` of seg; *obj gets their address.
 * Checks come first, in the order the errors are documented. */
static int view_map(view *v, ipc_shm_t *seg, size_t offset, size_t size,
                    size_t align, void **obj) {
  v->base = NULL;
  v->len = 0;
  if (offset % align != 0)
    return IPC_EINVAL;
  size_t segsize = ipc_shm_size(seg);
  if (offset > segsize || size > segsize - offset)
    return IPC_ERANGE;
  if (!ipc_shm_writable(seg))
    return IPC_EACCES;
  int fd = ipc_shm_fd(seg);
  if (fd >= 0) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = offset - offset % page;
    size_t len = offset - start + size;
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
    if (p == MAP_FAILED)
      return -errno;
    v->base = p;
    v->len = len;
    *obj = (char *)p + (offset - start);
    return 0;
  }
  void *p = shmat(ipc_shm_sysv_id(seg), NULL, 0);
  if (p == (void *)-1)
    return -errno; /* EIDRM/EINVAL: removed and detached by all meanwhile */
  v->base = p;
  *obj = (char *)p + offset;
  return 0;
}

static void view_unmap(view *v) {
  if (v->base == NULL)
    return;
  if (v->len > 0)
    munmap(v->base, v->len);
  else
    shmdt(v->base);
  v->base = NULL;
}

/* mode 0 means 0600; anything beyond the permission bits is refused. */
static int check_mode(int *mode) {
  if (*mode == 0)
    *mode = 0600;
  return (*mode & ~0777) ? IPC_EINVAL : 0;
}

static struct timespec ns_to_timespec(int64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000),
                        .tv_nsec = (long)(ns % 1000000000)};
  return ts;
}

/* ------------------------------------------------------- POSIX semaphores */

struct ipc_sem {
  sem_t *sem;
  view v;                   /* unnamed: the handle's mapping */
  char name[IPC__NAME_BUF]; /* named; "" for unnamed */
};

/* glibc keeps a named semaphore in /dev/shm/sem.<name without '/'>. */
static void sem_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "/dev/shm/sem.%s", name + 1);
}

int ipc_sem_create(ipc_sem_t **out, const char *name, unsigned value,
                   int mode) {
  int rc;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0 || (rc = check_mode(&mode)) < 0)
    return rc;
  if (value > SEM_VALUE_MAX)
    return IPC_EINVAL;
  ipc_sem_t *s = calloc(1, sizeof *s);
  if (!s)
    return IPC_ENOMEM;
  ipc__name_copy(s->name, name);
  /* glibc builds the semaphore in a temporary file and links it into
   * place, so an opener never sees it half made; the fd is closed once the
   * file is mapped: no descriptor remains to leak across exec. */
  s->sem = sem_open(name, O_CREAT | O_EXCL, (mode_t)mode, value);
  if (s->sem == SEM_FAILED) {
    rc = -errno;
    free(s);
    return rc;
  }
  /* sem_open applies the umask; chmod gives exactly the mode asked for.
   * O_NOFOLLOW and O_NONBLOCK: whatever replaced our file meanwhile is
   * never followed nor waited on. Until then the mode is never wider. */
  char path[sizeof "/dev/shm/sem." + IPC_NAME_MAX];
  sem_path(path, sizeof path, name);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || fchmod(fd, (mode_t)mode) < 0) {
    rc = -errno;
    if (fd >= 0)
      close(fd);
    sem_close(s->sem);
    sem_unlink(name); /* ours since O_EXCL succeeded */
    free(s);
    return rc;
  }
  close(fd);
  *out = s;
  return 0;
}

int ipc_sem_open(ipc_sem_t **out, const char *name) {
  int rc;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0)
    return rc;
  /* sem_open maps whatever file has the name: an empty one (or one
   * truncated later) would turn the first access into a SIGBUS, and a FIFO
   * there could block its open. Look first, without following links or
   * waiting: a regular file that can hold a semaphore, or IPC_EINVAL. */
  char path[sizeof "/dev/shm/sem." + IPC_NAME_MAX];
  struct stat st;
  sem_path(path, sizeof path, name);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno == ELOOP ? IPC_EINVAL : -errno;
  rc = fstat(fd, &st) < 0 ? -errno : 0;
  close(fd);
  if (rc < 0)
    return rc;
  if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(sem_t))
    return IPC_EINVAL;
  ipc_sem_t *s = calloc(1, sizeof *s);
  if (!s)
    return IPC_ENOMEM;
  ipc__name_copy(s->name, name);
  s->sem = sem_open(name, 0);
  if (s->sem == SEM_FAILED) {
    rc = -errno;
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int ipc_sem_unlink(const char *name) {
  int rc = ipc_name_check(name);
  if (rc < 0)
    return rc;
  return sem_unlink(name) < 0 ? -errno : 0;
}

/* init and attach: the handle and its mapping; init also sem_init's. */
static int sem_in_shm(ipc_sem_t **out, ipc_shm_t *seg, size_t offset, int init,
                      unsigned value) {
  int rc;

  *out = NULL;
  if (init && value > SEM_VALUE_MAX)
    return IPC_EINVAL;
  ipc_sem_t *s = calloc(1, sizeof *s);
  if (!s)
    return IPC_ENOMEM;
  void *addr;
  if ((rc = view_map(&s->v, seg, offset, IPC_SEM_SIZE, IPC_SEM_ALIGN, &addr)) <
      0)
    goto fail;
  s->sem = addr;
  if (init && sem_init(s->sem, 1, value) < 0) {
    rc = -errno;
    goto fail;
  }
  /* The one check glibc's public calls allow: a value that no semaphore
   * can have means these bytes are something else. */
  int val;
  if (!init && (sem_getvalue(s->sem, &val) < 0 || val < 0)) {
    rc = IPC_ECORRUPT;
    goto fail;
  }
  *out = s;
  return 0;

fail:
  view_unmap(&s->v);
  free(s);
  return rc;
}

int ipc_sem_init(ipc_sem_t **out, ipc_shm_t *seg, size_t offset,
                 unsigned value) {
  return sem_in_shm(out, seg, offset, 1, value);
}

int ipc_sem_attach(ipc_sem_t **out, ipc_shm_t *seg, size_t offset) {
  return sem_in_shm(out, seg, offset, 0, 0);
}

int ipc_sem_close(ipc_sem_t *s) {
  if (!s)
    return 0;
  if (s->name[0])
    sem_close(s->sem);
  else
    view_unmap(&s->v);
  free(s);
  return 0;
}

/* The uncontended paths take or give a token with one compare-and-swap on
 * the semaphore's word, the way glibc's own sem_wait and sem_post begin,
 * and fall back to glibc for everything else (sleeping, waking a sleeper,
 * overflow). They run on glibc's layout for 64-bit atomics (glibc 2.21 and
 * later, struct new_sem): one 64-bit word holding the value in its low 32
 * bits and the number of sleepers in its high 32 bits. Without that layout
 * (32-bit builds) every call goes to glibc. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 21) &&          \
    UINTPTR_MAX == UINT64_MAX && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IPC__SEM_FAST 1
typedef struct glibc_sem {
  uint64_t data; /* value | sleepers << 32 */
  int private;
  int pad;
} glibc_sem;
_Static_assert(sizeof(glibc_sem) <= sizeof(sem_t), "glibc's struct new_sem");
#define SEM_WORD(s) (&((glibc_sem *)(void *)(s)->sem)->data)
#else
#define IPC__SEM_FAST 0
#endif

static __attribute__((noinline)) int sem_wait_slow(ipc_sem_t *s,
                                                   int timeout_ms) {
  int r;
  if (timeout_ms < 0) {
    r = sem_wait(s->sem);
  } else if (timeout_ms == 0) {
    r = sem_trywait(s->sem);
    if (r < 0 && errno == EAGAIN)
      return IPC_ETIMEDOUT; /* the convention for timeout 0 */
  } else {
    /* Absolute on CLOCK_MONOTONIC: signals and clock steps stretch nothing,
     * and sem_clockwait (glibc 2.30) never sleeps past the deadline. */
    struct timespec at = ns_to_timespec(ipc__deadline(timeout_ms));
    r = sem_clockwait(s->sem, CLOCK_MONOTONIC, &at);
  }
  return r < 0 ? -errno : 0;
}

int ipc_sem_wait(ipc_sem_t *s, int timeout_ms) {
#if IPC__SEM_FAST
  /* A token there: take it, whatever the timeout (no clock read, no
   * system call). Acquire pairs with the release of the post that gave it
   * (glibc's __new_sem_wait_fast). A pending thread cancellation is acted
   * on only when the call has to sleep. */
  uint64_t d = __atomic_load_n(SEM_WORD(s), __ATOMIC_RELAXED);
  while ((uint32_t)d != 0)
    if (__atomic_compare_exchange_n(SEM_WORD(s), &d, d - 1, 1, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return 0;
#endif
  return sem_wait_slow(s, timeout_ms);
}

int ipc_sem_trywait(ipc_sem_t *s) {
  return sem_trywait(s->sem) < 0 ? -errno : 0;
}

int ipc_sem_post(ipc_sem_t *s) {
#if IPC__SEM_FAST
  /* Nobody asleep and room below the maximum: give the token with one
   * release CAS, as glibc's __new_sem_post does; a sleeper to wake, or the
   * overflow error, is glibc's to handle. */
  uint64_t d = __atomic_load_n(SEM_WORD(s), __ATOMIC_RELAXED);
  while ((d >> 32) == 0 && (uint32_t)d < SEM_VALUE_MAX)
    if (__atomic_compare_exchange_n(SEM_WORD(s), &d, d + 1, 1, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
      return 0;
#endif
  return sem_post(s->sem) < 0 ? -errno : 0;
}

int ipc_sem_value(ipc_sem_t *s) {
  int val;
  if (sem_getvalue(s->sem, &val) < 0)
    return -errno;
  return val < 0 ? 0 : val; /* never negative on glibc; POSIX allows it */
}

const char *ipc_sem_name(const ipc_sem_t *s) {
  return s->name[0] ? s->name : NULL;
}

/* ------------------------------------------------- System V semaphore sets
 *
 * The classic race: semget creates a set whose values are 0 until someone
 * sets them, and an opener cannot tell "not initialised yet" from "0". The
 * kernel's sem_otime can: it stays 0 until the first semop. The creator
 * sets the values of semaphores 1..n-1 with SETALL (which leaves sem_otime
 * alone), then gives semaphore 0 its value with one semop, which sets
 * sem_otime. An opener waits for sem_otime != 0. */

struct ipc_semset {
  int id;
  int nsems;
};

/* semctl's fourth argument, which the caller must define. */
union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

int ipc_semset_create(ipc_semset_t **out, key_t key, int nsems,
                      const int *values, int mode) {
  int rc;
  int id = -1;
  unsigned short *vals = NULL;

  *out = NULL;
  if ((rc = check_mode(&mode)) < 0)
    return rc;
  if (nsems < 1)
    return IPC_EINVAL;
  for (int i = 0; values && i < nsems; i++)
    if (values[i] < 0 || values[i] > IPC_SEMSET_VALUE_MAX)
      return IPC_EINVAL;
  ipc_semset_t *set = calloc(1, sizeof *set);
  if (!set)
    return IPC_ENOMEM;
  /* System V applies no umask: the mode is exact. A private key always
   * makes a new set, so IPC_EXCL only matters for the others. semget
   * first: it refuses an nsems above SEMMSL before anything is allocated
   * for it. */
  int flags = IPC_CREAT | mode | (key != IPC_PRIVATE ? IPC_EXCL : 0);
  if ((id = semget(key, nsems, flags)) < 0) {
    rc = -errno;
    goto fail;
  }
  if (!(vals = calloc((size_t)nsems, sizeof *vals))) {
    rc = IPC_ENOMEM;
    goto fail;
  }
  for (int i = 1; values && i < nsems; i++)
    vals[i] = (unsigned short)values[i];
  union semun arg = {.array = vals};
  if (nsems > 1 && semctl(id, 0, SETALL, arg) < 0) {
    rc = -errno;
    goto fail;
  }
  /* Semaphore 0 last: this semop is what openers wait for. Adding 0 is a
   * wait-for-zero on a value of 0, which passes at once and counts. */
  struct sembuf ready = {0, (short)(values ? values[0] : 0), IPC_NOWAIT};
  if (semop(id, &ready, 1) < 0) {
    rc = -errno;
    goto fail;
  }
  free(vals);
  set->id = id;
  set->nsems = nsems;
  *out = set;
  return 0;

fail:
  if (id >= 0)
    semctl(id, 0, IPC_RMID); /* ours: IPC_EXCL or private */
  free(vals);
  free(set);
  return rc;
}

int ipc_semset_open(ipc_semset_t **out, key_t key, int id, int timeout_ms) {
  *out = NULL;
  if (key != IPC_PRIVATE) {
    if ((id = semget(key, 0, 0)) < 0)
      return -errno;
  } else if (id < 0) {
    return IPC_EINVAL;
  }
  int64_t deadline = ipc__deadline(timeout_ms);
  /* The creator is between semget and its first semop for microseconds:
   * poll, 1 ms at first, backing off to 50 ms. */
  int pause_ms = 1;
  unsigned gen = ipc__signal_snap();
  struct semid_ds ds;
  for (;;) {
    union semun arg = {.buf = &ds};
    if (semctl(id, 0, IPC_STAT, arg) < 0)
      return -errno;
    if (ds.sem_otime != 0)
      break;
    int left = ipc__remaining_ms(deadline);
    if (left == 0)
      return IPC_ETIMEDOUT;
    if (ipc__signal_moved(gen))
      return IPC_EINTR; /* handled outside nanosleep: do not sleep over it */
    int ms = left < 0 || left > pause_ms ? pause_ms : left;
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};
    if (nanosleep(&ts, NULL) < 0)
      return -errno; /* EINTR */
    if (pause_ms < 50)
      pause_ms *= 2;
  }
  ipc_semset_t *set = calloc(1, sizeof *set);
  if (!set)
    return IPC_ENOMEM;
  set->id = id;
  set->nsems = (int)ds.sem_nsems;
  *out = set;
  return 0;
}

int ipc_semset_op(ipc_semset_t *set, const ipc_semop_t *ops, size_t n,
                  int timeout_ms) {
  if (n == 0)
    return IPC_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (ops[i].flags & ~(IPC_SEM_UNDO | IPC_NOWAIT))
      return IPC_EINVAL;
  int r;
  if (timeout_ms < 0) {
    r = semop(set->id, (struct sembuf *)ops, n);
  } else {
    /* semtimedop's timeout is relative; 0 makes it give up at once. */
    struct timespec ts = ns_to_timespec((int64_t)timeout_ms * 1000000);
    r = semtimedop(set->id, (struct sembuf *)ops, n, &ts);
  }
  if (r == 0)
    return 0;
  int rc = -errno;
  if (rc == IPC_EAGAIN) {
    /* The kernel says EAGAIN for both IPC_NOWAIT and a timeout. */
    int nowait = 0;
    for (size_t i = 0; i < n; i++)
      nowait |= ops[i].flags & IPC_NOWAIT;
    return nowait ? IPC_EAGAIN : IPC_ETIMEDOUT;
  }
  /* ERANGE: past SEMVMX (or the undo total past SEMAEM): the same
   * "posted past its maximum" as a POSIX semaphore's EOVERFLOW. */
  return rc == -ERANGE ? IPC_EOVERFLOW : rc;
}

int ipc_semset_get(ipc_semset_t *set, int num, ipc_semset_sem_t *info) {
  int val = semctl(set->id, num, GETVAL);
  if (val < 0)
    return -errno;
  if (info) {
    int pid = semctl(set->id, num, GETPID);
    int ncnt = semctl(set->id, num, GETNCNT);
    int zcnt = semctl(set->id, num, GETZCNT);
    if (pid < 0 || ncnt < 0 || zcnt < 0)
      return -errno;
    info->value = val;
    info->pid = pid;
    info->ncnt = ncnt;
    info->zcnt = zcnt;
  }
  return val;
}

int ipc_semset_set(ipc_semset_t *set, int num, int value) {
  union semun arg = {.val = value};
  return semctl(set->id, num, SETVAL, arg) < 0 ? -errno : 0;
}

int ipc_semset_stat(ipc_semset_t *set, ipc_semset_stat_t *st) {
  struct semid_ds ds;
  union semun arg = {.buf = &ds};
  if (semctl(set->id, 0, IPC_STAT, arg) < 0)
    return -errno;
  st->nsems = (int)ds.sem_nsems;
  st->mode = ds.sem_perm.mode & 0777;
  st->uid = ds.sem_perm.uid;
  st->gid = ds.sem_perm.gid;
  st->cuid = ds.sem_perm.cuid;
  st->cgid = ds.sem_perm.cgid;
  st->otime = (int64_t)ds.sem_otime;
  st->ctime = (int64_t)ds.sem_ctime;
  return 0;
}

int ipc_semset_remove(ipc_semset_t *set) {
  return semctl(set->id, 0, IPC_RMID) < 0 ? -errno : 0;
}

int ipc_semset_close(ipc_semset_t *set) {
  free(set);
  return 0;
}

int ipc_semset_id(const ipc_semset_t *set) { return set->id; }

int ipc_semset_count(const ipc_semset_t *set) { return set->nsems; }

/* ------------------------------------------------------------ robust mutex
 *
 * Why glibc's pthread_mutex_t: the only reliable word that an owner died is
 * the kernel's robust-futex list, which walks, when a thread ends, the
 * locks it holds and marks each FUTEX_OWNER_DIED. The list head is per
 * thread and glibc registers its own for robust pthread mutexes; a lock of
 * our own would have to share glibc's list (and so its layout) anyway, or
 * guess deaths from pids, which namespaces and pid reuse defeat. So the
 * lock is a robust, process-shared, error-checking pthread_mutex_t, behind
 * a header that tells attach it was made here and with which layout.
 *
 * Why not pthread_mutex_clocklock to wait: glibc retries its futex wait
 * after a signal, so a lock without a timeout could never be interrupted
 * (no Ctrl-C in a shell). Taking is always pthread_mutex_trylock, which
 * does the robust bookkeeping; waiting is our own FUTEX_WAIT on the lock
 * word, using the protocol the kernel defines for robust futexes (the
 * owner's tid, FUTEX_WAITERS, FUTEX_OWNER_DIED), as glibc's own lock does:
 * a waiter sets FUTEX_WAITERS before sleeping, so the unlock wakes it; one
 * that wins after sleeping sets it again, since others may still sleep. */

#define IPC__MUTEX_MAGIC 0x5854554du /* "MUTX" */
/* Layout: version 1 of the header, then a pthread_mutex_t of this size. */
#define IPC__MUTEX_LAYOUT ((uint32_t)(sizeof(pthread_mutex_t) << 8 | 1))

struct shm_mutex {
  uint32_t magic; /* stored last by init (release) */
  uint32_t layout;
  pthread_mutex_t pm;
};
_Static_assert(sizeof(struct shm_mutex) <= IPC_MUTEX_SIZE, "IPC_MUTEX_SIZE");
_Static_assert(alignof(struct shm_mutex) <= IPC_MUTEX_ALIGN, "IPC_MUTEX_ALIGN");

struct ipc_mutex {
  struct shm_mutex *sm;
  int kind; /* what __kind must read: glibc's encoding of our attributes */
  view v;
};

/* A robust, process-shared, error-checking mutex at pm; returns its
 * pthread_mutex_init code. */
static int mutex_make(pthread_mutex_t *pm) {
  pthread_mutexattr_t a;
  int rc = pthread_mutexattr_init(&a);
  if (rc)
    return rc;
  if (!(rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) &&
      !(rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) &&
      !(rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)))
    rc = pthread_mutex_init(pm, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

static int mutex_in_shm(ipc_mutex_t **out, ipc_shm_t *seg, size_t offset,
                        int init) {
  int rc;
  pthread_mutex_t probe;

  *out = NULL;
  ipc_mutex_t *m = calloc(1, sizeof *m);
  if (!m)
    return IPC_ENOMEM;
  void *addr;
  if ((rc = view_map(&m->v, seg, offset, IPC_MUTEX_SIZE, IPC_MUTEX_ALIGN,
                     &addr)) < 0)
    goto fail;
  m->sm = addr;
  /* The kind glibc gives our attributes, to check the shared one against. */
  if ((rc = -mutex_make(&probe)) < 0)
    goto fail;
  m->kind = probe.__data.__kind;
  pthread_mutex_destroy(&probe);
  if (init) {
    __atomic_store_n(&m->sm->magic, 0, __ATOMIC_RELAXED);
    m->sm->layout = IPC__MUTEX_LAYOUT;
    if ((rc = -mutex_make(&m->sm->pm)) < 0)
      goto fail;
    /* pairs with the acquire load of attach */
    __atomic_store_n(&m->sm->magic, IPC__MUTEX_MAGIC, __ATOMIC_RELEASE);
  } else if (__atomic_load_n(&m->sm->magic, __ATOMIC_ACQUIRE) !=
                 IPC__MUTEX_MAGIC ||
             m->sm->layout != IPC__MUTEX_LAYOUT ||
             m->sm->pm.__data.__kind != m->kind) {
    rc = IPC_ECORRUPT;
    goto fail;
  }
  *out = m;
  return 0;

fail:
  view_unmap(&m->v);
  free(m);
  return rc;
}

int ipc_mutex_init(ipc_mutex_t **out, ipc_shm_t *seg, size_t offset) {
  return mutex_in_shm(out, seg, offset, 1);
}

int ipc_mutex_attach(ipc_mutex_t **out, ipc_shm_t *seg, size_t offset) {
  return mutex_in_shm(out, seg, offset, 0);
}

/* glibc's trylock (2.36) takes the word of a mutex in the not-recoverable
 * state before it sees that state, and never gives it back: every later
 * lock would wait on us. Nobody can hold a mutex in that state, so our tid
 * there is that leftover. Give it back, and wake every waiter so that each
 * learns the state (each one's trylock does the same). */
static __attribute__((noinline)) void mutex_unrecoverable(ipc_mutex_t *m) {
  unsigned *word = (unsigned *)&m->sm->pm.__data.__lock;
  unsigned v = __atomic_load_n(word, __ATOMIC_RELAXED);
  if ((pid_t)(v & FUTEX_TID_MASK) == gettid()) {
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
}

/* One attempt: 0, IPC_EBUSY (someone else holds it), IPC_EOWNERDEAD,
 * IPC_ENOTRECOVERABLE, IPC_EDEADLK; IPC_ECORRUPT when the kind changed,
 * which would send glibc down another lock protocol. Inline: it is the
 * whole of an uncontended ipc_mutex_lock. */
static inline __attribute__((always_inline)) int mutex_try(ipc_mutex_t *m) {
  if (__atomic_load_n(&m->sm->pm.__data.__kind, __ATOMIC_RELAXED) != m->kind)
    return IPC_ECORRUPT;
  int rc = -pthread_mutex_trylock(&m->sm->pm);
  if (__builtin_expect(rc == IPC_ENOTRECOVERABLE, 0))
    mutex_unrecoverable(m);
  return rc;
}

/* Sleeps while the lock word is still v, until the deadline. 0 when woken
 * or when the word had already changed; IPC_ETIMEDOUT, IPC_EINTR. No
 * FUTEX_PRIVATE_FLAG: waiters and wakers are other processes, with other
 * mappings of the page. */
static int futex_wait(unsigned *word, unsigned v, int64_t deadline) {
  struct timespec at, *tp = NULL;
  if (deadline != IPC__NO_DEADLINE) {
    at = ns_to_timespec(deadline);
    tp = &at;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
  if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, v, tp, NULL,
              FUTEX_BITSET_MATCH_ANY) == 0)
    return 0;
  return errno == EAGAIN ? 0 : -errno;
}

/* The lock is held by someone else: wait for it (out of line, so that the
 * uncontended ipc_mutex_lock sets up no frame for it). */
static __attribute__((noinline)) int mutex_lock_wait(ipc_mutex_t *m,
                                                     int timeout_ms) {
  int rc;
  if (timeout_ms == 0)
    return IPC_ETIMEDOUT;
  int64_t deadline = ipc__deadline(timeout_ms);
  unsigned gen = ipc__signal_snap();
  unsigned *word = (unsigned *)&m->sm->pm.__data.__lock;
  for (;;) {
    unsigned v = __atomic_load_n(word, __ATOMIC_RELAXED);
    /* Sleep only on a live owner: a free word, or one whose owner died,
     * is for trylock to take. */
    if ((v & FUTEX_TID_MASK) != 0 && !(v & FUTEX_OWNER_DIED)) {
      if (!(v & FUTEX_WAITERS) &&
          !__atomic_compare_exchange_n(word, &v, v | FUTEX_WAITERS, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        continue; /* the word moved: look again */
      if (ipc__signal_moved(gen))
        return IPC_EINTR; /* handled between two futex waits */
      if ((rc = futex_wait(word, v | FUTEX_WAITERS, deadline)) < 0)
        return rc;
    }
    rc = mutex_try(m);
    if (rc == 0 || rc == IPC_EOWNERDEAD) {
      /* trylock took it without FUTEX_WAITERS; others may still sleep. */
      __atomic_fetch_or(word, FUTEX_WAITERS, __ATOMIC_RELAXED);
      return rc;
    }
    if (rc != IPC_EBUSY)
      return rc;
    if (ipc__remaining_ms(deadline) == 0)
      return IPC_ETIMEDOUT;
  }
}

/* ------------------------------------------- the uncontended lock, inline
 *
 * A free mutex is taken and an owned one given back here without calling
 * glibc, doing exactly what glibc's trylock and unlock do for a robust
 * error-checking mutex (nptl/pthread_mutex_trylock.c and
 * pthread_mutex_unlock.c, glibc 2.21 to 2.36 at least): the compare-and-swap
 * of the lock word from 0 to our tid, and the bookkeeping that lets the
 * kernel mark the lock FUTEX_OWNER_DIED if the thread dies holding it. That
 * is the thread's robust list, which glibc registered with the kernel
 * (set_robust_list) when the thread started: the mutex is linked in through
 * its __list.__next, with list_op_pending naming it while the list is being
 * changed, so that a death in between is still cleaned up. Every other case
 * (taken, owner died, not recoverable, a kind we did not make) goes to
 * glibc, so the two always agree on the list. 64-bit glibc only, where a
 * mutex's list entry has both links (__PTHREAD_MUTEX_HAVE_PREV). */

#if defined(__PTHREAD_MUTEX_HAVE_PREV) && UINTPTR_MAX == UINT64_MAX
#define IPC__MUTEX_FAST 1

/* The kernel's struct robust_list_head, as glibc keeps it in its thread
 * descriptor, right after the fake list entry `robust_prev` whose __next is
 * `list` (so that an empty list, pointing at itself, needs no special case
 * in the links below). */
typedef struct robust_head {
  void *list;
  long futex_offset;
  void *list_op_pending;
} robust_head;

/* glibc's value of __owner for a mutex unlocked while inconsistent (after
 * its owner died, before ipc_mutex_consistent): nptl/pthreadP.h. */
#define MUTEX_NOTRECOVERABLE (INT_MAX - 1)

/* A pointer stored in a list link points at an entry's __next member. */
#define LIST_ADJUST offsetof(__pthread_list_t, __next)
#define LIST_ENTRY(p)                                                          \
  ((__pthread_list_t *)((char *)((uintptr_t)(p) & ~1ul) - LIST_ADJUST))

/* This thread's robust list head and tid, found once per thread (two
 * system calls); the tid is forgotten in a child after fork. initial-exec:
 * no __tls_get_addr call (see guard.c). */
static __thread struct {
  robust_head *head; /* NULL: not looked up yet, or unusable */
  pid_t tid;
  int looked;
} mutex_self __attribute__((tls_model("initial-exec")));

static pthread_once_t mutex_atfork_once = PTHREAD_ONCE_INIT;

static void mutex_forked(void) { mutex_self.looked = 0; }

static void mutex_atfork(void) { pthread_atfork(NULL, NULL, mutex_forked); }

/* This thread's head, or NULL when the kernel has none for it (then glibc
 * does all the work). */
static __attribute__((noinline)) robust_head *mutex_self_lookup(void) {
  robust_head *h = NULL;
  size_t len = 0;
  pthread_once(&mutex_atfork_once, mutex_atfork);
  if (syscall(SYS_get_robust_list, 0, &h, &len) < 0 || len != sizeof *h)
    h = NULL;
  mutex_self.head = h;
  mutex_self.tid = gettid();
  mutex_self.looked = 1;
  return h;
}

static inline robust_head *mutex_self_head(void) {
  return mutex_self.looked ? mutex_self.head : mutex_self_lookup();
}

/* Takes a free mutex: 0, or IPC_EBUSY when the word was not 0 (glibc then
 * tells what it holds). */
static inline int mutex_take(ipc_mutex_t *m) {
  pthread_mutex_t *pm = &m->sm->pm;
  robust_head *self = mutex_self_head();
  if (!self || __atomic_load_n(&pm->__data.__kind, __ATOMIC_RELAXED) != m->kind)
    return IPC_EBUSY;
  int *word = &pm->__data.__lock;
  if (__atomic_load_n(word, __ATOMIC_RELAXED) != 0)
    return IPC_EBUSY;
  /* Pending first: should we die right after the CAS, the kernel still
   * finds the lock through list_op_pending. */
  self->list_op_pending = &pm->__data.__list.__next;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  int expect = 0;
  if (!__atomic_compare_exchange_n(word, &expect, mutex_self.tid, 0,
                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) ||
      __builtin_expect(pm->__data.__owner == MUTEX_NOTRECOVERABLE, 0)) {
    if (expect == 0) /* taken, but not recoverable: give the word back */
      __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    self->list_op_pending = NULL;
    return IPC_EBUSY;
  }
  /* Link it in at the head of the list (glibc's ENQUEUE_MUTEX). */
  __pthread_list_t *next = LIST_ENTRY(self->list);
  next->__prev = (void *)&pm->__data.__list.__next;
  pm->__data.__list.__next = self->list;
  pm->__data.__list.__prev = (void *)self;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  self->list = &pm->__data.__list.__next;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  self->list_op_pending = NULL;
  pm->__data.__owner = mutex_self.tid;
  ++pm->__data.__nusers;
  return 0;
}

/* Gives back a mutex this thread holds in the plain state: 0, or
 * IPC_EBUSY for glibc to handle (not ours, inconsistent, another kind). */
static inline int mutex_give(ipc_mutex_t *m) {
  pthread_mutex_t *pm = &m->sm->pm;
  robust_head *self = mutex_self_head();
  if (!self || __atomic_load_n(&pm->__data.__kind, __ATOMIC_RELAXED) != m->kind)
    return IPC_EBUSY;
  int *word = &pm->__data.__lock;
  int v = __atomic_load_n(word, __ATOMIC_RELAXED);
  if ((v & FUTEX_TID_MASK) != mutex_self.tid ||
      pm->__data.__owner != mutex_self.tid)
    return IPC_EBUSY;
  self->list_op_pending = &pm->__data.__list.__next;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  /* Unlink it (glibc's DEQUEUE_MUTEX). */
  __pthread_list_t *next = LIST_ENTRY(pm->__data.__list.__next);
  next->__prev = pm->__data.__list.__prev;
  __pthread_list_t *prev = LIST_ENTRY(pm->__data.__list.__prev);
  prev->__next = pm->__data.__list.__next;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  pm->__data.__list.__prev = NULL;
  pm->__data.__list.__next = NULL;
  pm->__data.__owner = 0;
  --pm->__data.__nusers;
  /* The release of the word is the last touch of the mutex. */
  if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS)
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  self->list_op_pending = NULL;
  return 0;
}
#else
#define IPC__MUTEX_FAST 0
#endif

int ipc_mutex_lock(ipc_mutex_t *m, int timeout_ms) {
#if IPC__MUTEX_FAST
  if (mutex_take(m) == 0)
    return 0;
#endif
  int rc = mutex_try(m);
  if (__builtin_expect(rc != IPC_EBUSY, 1))
    return rc;
  return mutex_lock_wait(m, timeout_ms);
}

/* 1 when the calling thread holds m. */
static int mutex_mine(const ipc_mutex_t *m) {
  unsigned v = __atomic_load_n((const unsigned *)&m->sm->pm.__data.__lock,
                               __ATOMIC_RELAXED);
  return v != 0 && (pid_t)(v & FUTEX_TID_MASK) == gettid();
}

int ipc_mutex_consistent(ipc_mutex_t *m) {
  /* glibc would let any thread do it; only the one repairing may. */
  if (!mutex_mine(m))
    return IPC_EPERM;
  return -pthread_mutex_consistent(&m->sm->pm);
}

int ipc_mutex_unlock(ipc_mutex_t *m) {
#if IPC__MUTEX_FAST
  if (mutex_give(m) == 0)
    return 0;
#endif
  return -pthread_mutex_unlock(&m->sm->pm);
}

pid_t ipc_mutex_owner(const ipc_mutex_t *m) {
  unsigned v = __atomic_load_n((const unsigned *)&m->sm->pm.__data.__lock,
                               __ATOMIC_RELAXED);
  if (v & FUTEX_OWNER_DIED && !(v & FUTEX_TID_MASK))
    return IPC_EOWNERDEAD;
  return (pid_t)(v & FUTEX_TID_MASK);
}

int ipc_mutex_close(ipc_mutex_t *m) {
  if (!m)
    return 0;
  int held = mutex_mine(m);
  if (!held)
    view_unmap(&m->v);
  free(m);
  return held ? IPC_EBUSY : 0;
}
