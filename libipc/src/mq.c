/* mq.c: POSIX message queues (mq_open and friends). A handle owns the
 * queue's descriptor, which on Linux is a pollable file descriptor.
 * Timeouts are kept on CLOCK_MONOTONIC: the kernel's own timed calls take a
 * CLOCK_REALTIME deadline, which a clock change would stretch or cut, so a
 * timed call tries with a deadline already past and waits in poll(2). */
#include "internal.h"
#include "name.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel's fixed ceilings (since Linux 3.5), which hold even for a
 * process with CAP_SYS_RESOURCE, to which the /proc limits do not apply. */
#define IPC__MQ_HARD_MSGMAX 65536
#define IPC__MQ_HARD_MSGSIZEMAX (16L * 1024 * 1024)

#define IPC__MQ_PROC "/proc/sys/fs/mqueue/"

/* Tries a timed call makes, yielding in between, before it sleeps. */
#define IPC__MQ_YIELDS 8

struct ipc_mq {
  int fd; /* mqd_t is a descriptor on Linux */
  char name[IPC__NAME_BUF];
};

/* A deadline long past: the kernel's timed calls then never sleep, and
 * return ETIMEDOUT where they would have waited. */
static const struct timespec past = {0, 0};

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

int ipc_mq_get_limits(ipc_mq_limits_t *lim) {
  /* The defaults of kernels before 3.5, which had no files for them. */
  lim->msg_max = (long)read_number(IPC__MQ_PROC "msg_max", 10);
  lim->msgsize_max = (long)read_number(IPC__MQ_PROC "msgsize_max", 8192);
  lim->msg_default = (long)read_number(IPC__MQ_PROC "msg_default", 10);
  lim->msgsize_default =
      (long)read_number(IPC__MQ_PROC "msgsize_default", 8192);
  lim->queues_max = (long)read_number(IPC__MQ_PROC "queues_max", 256);
  struct rlimit rl;
  if (getrlimit(RLIMIT_MSGQUEUE, &rl) < 0)
    return -errno;
  lim->bytes_max = rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
  return 0;
}

/* The kernel's attributes for a create with attr: what it would choose for
 * a field left 0 (the default, capped by the maximum, as for a NULL attr),
 * the caller's value otherwise. */
static void fill_attr(const ipc_mq_attr_t *attr, long *maxmsg, long *msgsize) {
  ipc_mq_limits_t lim;
  *maxmsg = attr ? attr->maxmsg : 0;
  *msgsize = attr ? attr->msgsize : 0;
  if (*maxmsg > 0 && *msgsize > 0)
    return;
  ipc_mq_get_limits(&lim);
  if (*maxmsg == 0)
    *maxmsg = lim.msg_default < lim.msg_max ? lim.msg_default : lim.msg_max;
  if (*msgsize == 0)
    *msgsize = lim.msgsize_default < lim.msgsize_max ? lim.msgsize_default
                                                     : lim.msgsize_max;
}

int ipc_mq_which_limit(int code, const ipc_mq_attr_t *attr, const char **limit,
                       long long *value) {
  ipc_mq_limits_t lim;
  long maxmsg, msgsize;
  *limit = NULL;
  *value = 0;
  if (ipc_mq_get_limits(&lim) < 0)
    return 0;
  fill_attr(attr, &maxmsg, &msgsize);
  switch (code) {
  case IPC_EINVAL:
    /* The hard ceilings bind everyone; the /proc maximums bind callers
     * without CAP_SYS_RESOURCE. The create failed, so a maximum that the
     * attributes exceed is what refused them (deciding by capabilities
     * instead would be wrong in a user namespace). */
    if (maxmsg > IPC__MQ_HARD_MSGMAX) {
      *limit = "HARD_MSGMAX";
      *value = IPC__MQ_HARD_MSGMAX;
    } else if (msgsize > IPC__MQ_HARD_MSGSIZEMAX) {
      *limit = "HARD_MSGSIZEMAX";
      *value = IPC__MQ_HARD_MSGSIZEMAX;
    } else if (maxmsg > lim.msg_max) {
      *limit = "msg_max";
      *value = lim.msg_max;
    } else if (msgsize > lim.msgsize_max) {
      *limit = "msgsize_max";
      *value = lim.msgsize_max;
    }
    break;
  case IPC_ENOSPC:
    /* mq_open's only ENOSPC: the system holds queues_max queues. */
    *limit = "queues_max";
    *value = lim.queues_max;
    break;
  case IPC_EMFILE: {
    /* EMFILE is also a full descriptor table: if one more descriptor
     * opens, the queue's bytes were what did not fit. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || lim.bytes_max < 0) {
      if (fd >= 0)
        close(fd);
      break;
    }
    close(fd);
    *limit = "RLIMIT_MSGQUEUE";
    *value = lim.bytes_max;
    break;
  }
  default:
    break;
  }
  return *limit != NULL;
}

int ipc_mq_create(ipc_mq_t **out, const char *name, const ipc_mq_attr_t *attr,
                  int mode) {
  struct mq_attr ka;
  struct mq_attr *kap = NULL;
  int rc;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0)
    return rc;
  if (mode == 0)
    mode = 0600;
  if (mode & ~0777)
    return IPC_EINVAL;
  if (attr && (attr->maxmsg < 0 || attr->msgsize < 0))
    return IPC_EINVAL;
  if (attr && (attr->maxmsg > 0 || attr->msgsize > 0)) {
    /* The kernel wants both fields or no attributes at all. */
    long maxmsg, msgsize;
    fill_attr(attr, &maxmsg, &msgsize);
    memset(&ka, 0, sizeof ka);
    ka.mq_maxmsg = maxmsg;
    ka.mq_msgsize = msgsize;
    kap = &ka;
  }
  ipc_mq_t *mq = calloc(1, sizeof *mq);
  if (!mq)
    return IPC_ENOMEM;
  ipc__name_copy(mq->name, name);
  /* The kernel makes every queue descriptor close-on-exec by itself. */
  mq->fd = mq_open(name, O_RDWR | O_CREAT | O_EXCL, (mode_t)mode, kap);
  if (mq->fd < 0) {
    rc = -errno;
    free(mq);
    return rc;
  }
  /* mq_open applies the umask: fchmod gives exactly the mode asked for, as
   * ipc_shm_create does (the umask only narrows, so it is never wider). */
  if (fchmod(mq->fd, (mode_t)mode) < 0) {
    rc = -errno;
    close(mq->fd);
    mq_unlink(name); /* ours: O_EXCL succeeded */
    free(mq);
    return rc;
  }
  *out = mq;
  return 0;
}

int ipc_mq_open(ipc_mq_t **out, const char *name, int flags) {
  int rc;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0)
    return rc;
  if ((flags & ~(IPC_RDONLY | IPC_WRONLY)) ||
      (flags & (IPC_RDONLY | IPC_WRONLY)) == (IPC_RDONLY | IPC_WRONLY))
    return IPC_EINVAL;
  int oflag = flags & IPC_RDONLY   ? O_RDONLY
              : flags & IPC_WRONLY ? O_WRONLY
                                   : O_RDWR;
  ipc_mq_t *mq = calloc(1, sizeof *mq);
  if (!mq)
    return IPC_ENOMEM;
  ipc__name_copy(mq->name, name);
  mq->fd = mq_open(name, oflag);
  if (mq->fd < 0) {
    rc = -errno;
    free(mq);
    return rc;
  }
  *out = mq;
  return 0;
}

int ipc_mq_unlink(const char *name) {
  int rc = ipc_name_check(name);
  if (rc < 0)
    return rc;
  return mq_unlink(name) < 0 ? -errno : 0;
}

int ipc_mq_close(ipc_mq_t *mq) {
  if (!mq)
    return 0;
  int rc = 0;
  /* As for pipes: Linux frees the descriptor even when close fails. */
  if (close(mq->fd) < 0 && errno != EINTR)
    rc = -errno;
  free(mq);
  return rc;
}

int ipc_mq_fd(const ipc_mq_t *mq) { return mq->fd; }

const char *ipc_mq_name(const ipc_mq_t *mq) { return mq->name; }

int ipc_mq_get_attr(const ipc_mq_t *mq, ipc_mq_attr_t *attr) {
  struct mq_attr ka;
  if (mq_getattr(mq->fd, &ka) < 0)
    return -errno;
  attr->maxmsg = ka.mq_maxmsg;
  attr->msgsize = ka.mq_msgsize;
  attr->curmsgs = ka.mq_curmsgs;
  return 0;
}

int ipc_mq_set_blocking(ipc_mq_t *mq, int blocking) {
  struct mq_attr ka;
  memset(&ka, 0, sizeof ka);
  ka.mq_flags = blocking ? 0 : O_NONBLOCK; /* the only field it changes */
  return mq_setattr(mq->fd, &ka, NULL) < 0 ? -errno : 0;
}

int ipc_mq_get_blocking(const ipc_mq_t *mq) {
  struct mq_attr ka;
  if (mq_getattr(mq->fd, &ka) < 0)
    return -errno;
  return (ka.mq_flags & O_NONBLOCK) ? 0 : 1;
}

/* After a timed call found the queue full (empty), before the next try:
 * the first IPC__MQ_YIELDS times only yields the CPU (a peer that answers
 * at once is then seen without a sleep: a poll and a second try cost a
 * quarter of a round trip), then waits in poll(2) for room (a message)
 * until the deadline. Returns 0 to try again, or IPC_ETIMEDOUT, IPC_EINTR
 * (also for a signal handled since the snapshot gen, outside poll).
 * The deadline is checked first, so a call whose every try loses the race
 * to another process still ends in time. */
static int wait_turn(int fd, short events, int64_t deadline, int *tries,
                     unsigned gen) {
  if (ipc__remaining_ms(deadline) == 0)
    return IPC_ETIMEDOUT;
  if (ipc__signal_moved(gen))
    return IPC_EINTR;
  if ((*tries)++ < IPC__MQ_YIELDS) {
    sched_yield();
    return 0;
  }
  return ipc__wait_fd(fd, events, deadline);
}

int ipc_mq_send(ipc_mq_t *mq, const void *msg, size_t len, unsigned prio,
                int timeout_ms) {
  if (timeout_ms < 0)
    return mq_send(mq->fd, msg, len, prio) < 0 ? -errno : 0;
  int64_t deadline = timeout_ms > 0 ? ipc__deadline(timeout_ms) : 0; /* past */
  int tries = 0;
  unsigned gen = ipc__signal_snap();
  for (;;) {
    /* One system call when there is room, as mq_send. A non-blocking
     * descriptor gives EAGAIN instead of ETIMEDOUT: returned as it is. */
    if (mq_timedsend(mq->fd, msg, len, prio, &past) == 0)
      return 0;
    if (errno != ETIMEDOUT)
      return -errno;
    int rc = wait_turn(mq->fd, POLLOUT, deadline, &tries, gen);
    if (rc < 0)
      return rc;
  }
}

ssize_t ipc_mq_receive(ipc_mq_t *mq, void *buf, size_t cap, unsigned *prio,
                       int timeout_ms) {
  if (timeout_ms < 0) {
    ssize_t n = mq_receive(mq->fd, buf, cap, prio);
    return n < 0 ? -errno : n;
  }
  int64_t deadline = timeout_ms > 0 ? ipc__deadline(timeout_ms) : 0; /* past */
  int tries = 0;
  unsigned gen = ipc__signal_snap();
  for (;;) {
    ssize_t n = mq_timedreceive(mq->fd, buf, cap, prio, &past);
    if (n >= 0)
      return n;
    if (errno != ETIMEDOUT)
      return -errno;
    int rc = wait_turn(mq->fd, POLLIN, deadline, &tries, gen);
    if (rc < 0)
      return rc;
  }
}
