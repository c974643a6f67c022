/* msg.c: System V message queues (msgget, msgsnd, msgrcv, msgctl). They have
 * no descriptor and no timed calls, so a wait with a timeout tries with
 * IPC_NOWAIT: 32 times yielding the CPU in between, then sleeping from 50 us
 * doubling to 1 ms, so a message is seen at most about 1 ms after it came.
 * Waiting forever is the kernel's own blocking call, with no delay. */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

/* Messages up to this size go through a buffer on the stack (the default
 * msgmax); larger ones through one from malloc. */
#define IPC__MSG_STACK 8192

/* A timed wait first retries this many times, yielding the CPU in
 * between (a peer that answers at once is then seen within microseconds),
 * then sleeps between tries, in nanoseconds: */
#define IPC__MSG_YIELDS 32
#define IPC__MSG_NAP_MIN 50000
#define IPC__MSG_NAP_MAX 1000000

struct ipc_msg {
  int id;
  key_t key;        /* IPC_PRIVATE when made or opened by id */
  size_t fits_seen; /* the byte limit the last check found (see fits) */
};

/* struct msgbuf as msgsnd and msgrcv take it: the type, then the text. */
typedef struct msg_frame {
  long type;
  char text[];
} msg_frame;

/* A frame on the stack, aligned for its long. */
typedef union msg_small {
  msg_frame frame;
  char bytes[sizeof(long) + IPC__MSG_STACK];
} msg_small;

/* The number in the file at path, or fallback when it cannot be read. */
static long long read_number(const char *path, long long fallback) {
  char buf[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fallback;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return fallback;
  buf[n] = '\0';
  char *end;
  long long v = strtoll(buf, &end, 10);
  return end == buf ? fallback : v;
}

int ipc_msg_get_limits(ipc_msg_limits_t *lim) {
  lim->max_message = (size_t)read_number("/proc/sys/kernel/msgmax", 8192);
  lim->max_bytes = (size_t)read_number("/proc/sys/kernel/msgmnb", 16384);
  lim->max_queues = (long)read_number("/proc/sys/kernel/msgmni", 32000);
  return 0;
}

static int msg_wrap(ipc_msg_t **out, int id, key_t key) {
  ipc_msg_t *q = calloc(1, sizeof *q);
  if (!q)
    return IPC_ENOMEM;
  q->id = id;
  q->key = key;
  *out = q;
  return 0;
}

int ipc_msg_create(ipc_msg_t **out, key_t key, int mode) {
  *out = NULL;
  if (mode == 0)
    mode = 0600;
  if (mode & ~0777)
    return IPC_EINVAL;
  ipc_msg_t *q = calloc(1, sizeof *q);
  if (!q)
    return IPC_ENOMEM;
  /* System V applies no umask: the mode is exact. A private key always
   * makes a new queue; any other is created exclusively. */
  int id = msgget(key, IPC_CREAT | mode | (key != IPC_PRIVATE ? IPC_EXCL : 0));
  if (id < 0) {
    int rc = -errno;
    free(q);
    return rc;
  }
  q->id = id;
  q->key = key;
  *out = q;
  return 0;
}

int ipc_msg_open(ipc_msg_t **out, key_t key, int id) {
  *out = NULL;
  if (key != IPC_PRIVATE) {
    if ((id = msgget(key, 0)) < 0)
      return -errno;
    return msg_wrap(out, id, key);
  }
  if (id < 0)
    return IPC_EINVAL;
  /* An id is only a number: make sure a queue has it. Without read
   * permission IPC_STAT says EACCES, which still proves it exists (a
   * write-only sender may open it). */
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) < 0 && errno != EACCES)
    return -errno;
  return msg_wrap(out, id, IPC_PRIVATE);
}

int ipc_msg_close(ipc_msg_t *q) {
  free(q);
  return 0;
}

int ipc_msg_remove(ipc_msg_t *q) {
  return msgctl(q->id, IPC_RMID, NULL) < 0 ? -errno : 0;
}

int ipc_msg_id(const ipc_msg_t *q) { return q->id; }

key_t ipc_msg_key(const ipc_msg_t *q) { return q->key; }

int ipc_msg_stat(const ipc_msg_t *q, ipc_msg_stat_t *st) {
  struct msqid_ds ds;
  if (msgctl(q->id, IPC_STAT, &ds) < 0)
    return -errno;
  memset(st, 0, sizeof *st);
  st->count = (size_t)ds.msg_qnum;
  st->bytes = (size_t)ds.__msg_cbytes;
  st->max_bytes = (size_t)ds.msg_qbytes;
  st->last_sender = ds.msg_lspid;
  st->last_receiver = ds.msg_lrpid;
  st->send_time = (int64_t)ds.msg_stime;
  st->receive_time = (int64_t)ds.msg_rtime;
  st->change_time = (int64_t)ds.msg_ctime;
  st->key = ds.msg_perm.__key;
  st->uid = ds.msg_perm.uid;
  st->gid = ds.msg_perm.gid;
  st->mode = (int)(ds.msg_perm.mode & 0777);
  return 0;
}

int ipc_msg_set_max_bytes(ipc_msg_t *q, size_t max_bytes) {
  struct msqid_ds ds;
  if (max_bytes == 0)
    return IPC_EINVAL;
  /* IPC_SET writes the owner and mode too: read them first so that only
   * the limit changes. */
  if (msgctl(q->id, IPC_STAT, &ds) < 0)
    return -errno;
  ds.msg_qbytes = (msglen_t)max_bytes;
  if (msgctl(q->id, IPC_SET, &ds) < 0)
    return -errno;
  q->fits_seen = max_bytes;
  return 0;
}

/* Between two tries of a timed wait: the first IPC__MSG_YIELDS times
 * yields the CPU, then sleeps for *step nanoseconds (or until the deadline
 * if that comes first) and doubles *step up to IPC__MSG_NAP_MAX. *step
 * starts at 0. Returns 0, IPC_ETIMEDOUT when the deadline has passed, or
 * IPC_EINTR, also when a signal was handled since the snapshot gen (taken
 * before the first try) outside the sleep, which would otherwise go on. */
static int nap(int64_t deadline, long *step, unsigned gen) {
  int64_t left = deadline - ipc__now_ns();
  if (left <= 0)
    return IPC_ETIMEDOUT;
  if (ipc__signal_moved(gen))
    return IPC_EINTR;
  if (*step < IPC__MSG_YIELDS) {
    (*step)++;
    sched_yield();
    return 0;
  }
  if (*step < IPC__MSG_NAP_MIN)
    *step = IPC__MSG_NAP_MIN;
  int64_t ns = left < *step ? left : *step;
  struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
  /* Returns the error number itself, not -1. */
  if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
    return IPC_EINTR;
  *step = *step * 2 < IPC__MSG_NAP_MAX ? *step * 2 : IPC__MSG_NAP_MAX;
  return 0;
}

/* What a send that the kernel refused means. EINVAL for a valid type is
 * either a dead id or a message longer than msgmax: the latter is reported
 * as IPC_EMSGSIZE, the code the other queues give for it. */
static int send_error(int err, size_t len) {
  if (err == EINVAL &&
      (long long)len > read_number("/proc/sys/kernel/msgmax", LLONG_MAX))
    return IPC_EMSGSIZE;
  return -err;
}

/* Whether a message of len bytes can fit in the queue at all: msgsnd would
 * wait for ever for one longer than the queue's byte limit. The limit is
 * read (IPC_STAT) only for a message longer than the one the last check
 * found, so that a send costs the one msgsnd of the raw call. A limit
 * lowered later by someone else is not seen (msgsnd then waits, as raw);
 * without read permission the limit cannot be read, and is not checked. */
static int fits(ipc_msg_t *q, size_t len) {
  struct msqid_ds ds;
  if (len <= q->fits_seen)
    return 1;
  if (msgctl(q->id, IPC_STAT, &ds) < 0) {
    q->fits_seen = SIZE_MAX;
    return 1; /* EACCES, or a dead id that msgsnd will report */
  }
  q->fits_seen = ds.msg_qbytes;
  return len <= ds.msg_qbytes;
}

int ipc_msg_send(ipc_msg_t *q, long type, const void *msg, size_t len,
                 int timeout_ms) {
  msg_small small;
  msg_frame *f = &small.frame;
  int rc = 0;

  if (type <= 0 || len > (size_t)SSIZE_MAX)
    return IPC_EINVAL;
  if (!fits(q, len))
    return IPC_EMSGSIZE;
  if (len > IPC__MSG_STACK && !(f = malloc(sizeof(long) + len)))
    return IPC_ENOMEM;
  f->type = type;
  if (len > 0)
    memcpy(f->text, msg, len);
  if (timeout_ms < 0) {
    rc = msgsnd(q->id, f, len, 0) < 0 ? send_error(errno, len) : 0;
  } else {
    int64_t deadline = timeout_ms > 0 ? ipc__deadline(timeout_ms) : 0;
    long step = 0;
    unsigned gen = ipc__signal_snap();
    while (msgsnd(q->id, f, len, IPC_NOWAIT) < 0) {
      if (errno != EAGAIN) {
        rc = send_error(errno, len);
        break;
      }
      if ((rc = nap(deadline, &step, gen)) < 0)
        break;
    }
  }
  if (f != &small.frame)
    free(f);
  return rc;
}

ssize_t ipc_msg_receive(ipc_msg_t *q, void *buf, size_t cap, long select,
                        long *type, int flags, int timeout_ms) {
  msg_small small;
  msg_frame *f = &small.frame;
  ssize_t n;

  if (flags & ~IPC_MSG_NOERROR)
    return IPC_EINVAL;
  if (cap > (size_t)SSIZE_MAX)
    cap = SSIZE_MAX;
  if (cap > IPC__MSG_STACK && !(f = malloc(sizeof(long) + cap)))
    return IPC_ENOMEM;
  int kflags = flags & IPC_MSG_NOERROR ? MSG_NOERROR : 0;
  if (timeout_ms < 0) {
    n = msgrcv(q->id, f, cap, select, kflags);
  } else {
    int64_t deadline = timeout_ms > 0 ? ipc__deadline(timeout_ms) : 0;
    long step = 0;
    unsigned gen = ipc__signal_snap();
    while ((n = msgrcv(q->id, f, cap, select, kflags | IPC_NOWAIT)) < 0) {
      if (errno != ENOMSG)
        break;
      int rc = nap(deadline, &step, gen);
      if (rc < 0) {
        n = rc;
        goto done;
      }
    }
  }
  if (n < 0) {
    n = -errno; /* E2BIG: the message stays in the queue */
    goto done;
  }
  if (type)
    *type = f->type;
  if (n > 0)
    memcpy(buf, f->text, (size_t)n);
done:
  if (f != &small.frame)
    free(f);
  return n;
}
