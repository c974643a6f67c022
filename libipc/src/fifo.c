/* fifo.c: named pipes (FIFOs): create, open with a timeout, unlink. Once
 * open, a FIFO reads and writes exactly like a pipe end, so open returns an
 * ipc_pipe_t. The kernel's blocking open cannot time out and its
 * non-blocking one does not wait at all (a writer even fails with ENXIO
 * while there is no reader), so the wait for the other side is done here:
 * open non-blocking, then look for the peer, sleeping between looks until an
 * inotify event, a short nap or the deadline (open_reader, open_writer). */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Naps between two looks when no event can announce the peer: from 50 us,
 * doubling, up to 5 ms. A writer always needs them: a reader blocked in a
 * plain open(2) (cat, a shell's `<`) counts as a reader at once, but its
 * IN_OPEN event only comes once that open returns, which needs a writer. */
#define FIFO_NAP_MIN_NS 50000
#define FIFO_NAP_MAX_NS 5000000
/* A reader whose inotify watch has shown that opens are reported here
 * sleeps until an event, but still looks once a second, in case one was
 * never reported (an opener with FMODE_NONOTIFY, say). */
#define FIFO_EVENT_NAP_NS 1000000000

/* The state of one wait for the other side. */
typedef struct fifo_wait {
  int64_t deadline; /* IPC__NO_DEADLINE: forever */
  int64_t nap;      /* the next nap when events are not trusted */
  int ino;          /* inotify watching the FIFO for IN_OPEN, or -1 */
  int trusted;      /* it reported our own open: opens are reported */
  int opened;       /* trusted: it reported an open other than ours */
  unsigned gen;     /* ipc__signal_snap() at the start */
} fifo_wait;

/* mode 0 means 0600; set-id, sticky or file-type bits mean nothing for a
 * FIFO and are refused. */
static int check_mode(int *mode) {
  if (*mode == 0)
    *mode = 0600;
  return (*mode & ~0777) ? IPC_EINVAL : 0;
}

int ipc_fifo_create(const char *path, int mode) {
  if (path == NULL || check_mode(&mode) < 0)
    return IPC_EINVAL;
  /* mkfifo never replaces anything: whatever is at path (a FIFO, a file,
   * a dangling symbolic link) gives EEXIST and is left untouched. */
  if (mkfifo(path, (mode_t)mode) < 0)
    return -errno;
  /* The umask may have narrowed the mode; a peer meant to open the FIFO
   * could not, so set it exactly (it never was wider than asked). */
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISFIFO(st.st_mode) &&
      (st.st_mode & 07777) == (mode_t)mode)
    return 0;
  int rc = fchmodat(AT_FDCWD, path, (mode_t)mode, AT_SYMLINK_NOFOLLOW);
  if (rc < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP))
    rc = chmod(path, (mode_t)mode); /* no fchmodat2 and no /proc */
  if (rc < 0) {
    rc = -errno;
    unlink(path); /* nothing left behind */
    return rc;
  }
  return 0;
}

int ipc_fifo_unlink(const char *path) {
  if (path == NULL)
    return IPC_EINVAL;
  /* Only a FIFO: a mistyped path must not remove someone's file. lstat,
   * so that a symbolic link is refused rather than its target kept and the
   * link removed. */
  struct stat st;
  if (lstat(path, &st) < 0)
    return -errno;
  if (!S_ISFIFO(st.st_mode))
    return IPC_EINVAL;
  if (unlink(path) < 0)
    return -errno;
  return 0;
}

/* Starts watching path for opens. Best effort: without a watch (no read
 * permission, max_user_instances reached, no inotify) the naps alone find
 * the peer, only a little later. */
static void watch_start(fifo_wait *w, const char *path) {
  int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0)
    return;
  if (inotify_add_watch(ino, path, IN_OPEN) < 0) {
    close(ino);
    return;
  }
  w->ino = ino;
}

/* Reads every queued event. Returns how many were opens. A removed watch
 * (IN_IGNORED) will report nothing more: naps take over. */
static int watch_drain(fifo_wait *w) {
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  int opened = 0;
  for (;;) {
    ssize_t n = read(w->ino, buf, sizeof buf);
    if (n <= 0)
      return opened; /* EAGAIN: drained */
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      if (ev->mask & IN_OPEN)
        opened++;
      if (ev->mask & IN_IGNORED)
        w->trusted = 0;
      p += sizeof *ev + ev->len;
    }
  }
}

/* Sleeps until an open of the FIFO is reported, `fd` (>= 0, and only while
 * opens are not known to be reported: see writer_seen) polls readable or
 * hung up, the nap ends or the deadline comes. Returns 0 to look again,
 * IPC_ETIMEDOUT when the deadline had passed, IPC_EINTR (also for a signal
 * handled outside ppoll since the wait began: the naps would go on). */
static int wait_sleep(fifo_wait *w, int fd) {
  int64_t ns = w->trusted ? FIFO_EVENT_NAP_NS : w->nap;
  if (w->deadline != IPC__NO_DEADLINE) {
    int64_t left = w->deadline - ipc__now_ns();
    if (left <= 0)
      return IPC_ETIMEDOUT;
    if (left < ns)
      ns = left;
  }
  if (ipc__signal_moved(w->gen))
    return IPC_EINTR;
  struct pollfd pfd[2];
  nfds_t n = 0;
  if (w->ino >= 0)
    pfd[n++] = (struct pollfd){.fd = w->ino, .events = POLLIN, .revents = 0};
  if (fd >= 0 && !w->trusted)
    pfd[n++] = (struct pollfd){.fd = fd, .events = POLLIN, .revents = 0};
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  int ready = ppoll(pfd, n, &ts, NULL);
  if (ready < 0)
    return -errno; /* EINTR becomes IPC_EINTR */
  /* A look after a quiet second: an open may have gone unreported (an
   * opener with FMODE_NONOTIFY), so let writer_seen's poll tell. */
  if (ready == 0 && w->trusted)
    w->opened = 1;
  if (w->ino >= 0 && pfd[0].revents && watch_drain(w) > 0)
    w->opened = 1;
  if (w->nap < FIFO_NAP_MAX_NS)
    w->nap = w->nap * 2 < FIFO_NAP_MAX_NS ? w->nap * 2 : FIFO_NAP_MAX_NS;
  return 0;
}

/* Whether a writer has had the FIFO open since the reader `fd` was opened:
 * 1 yes, 0 no, or -errno. tee tells data (> 0) and a writer still there
 * (on an empty FIFO it answers EAGAIN while a writer exists and 0 when none
 * does), and consumes nothing. A writer that came and went without writing
 * shows only to poll (POLLHUP: Linux reports it only for writers newer than
 * our open); but poll marks the pipe as polled for good (poll_usage), and
 * every later write to a polled pipe pays for a wake-up call: 6-11% of the
 * 64-byte throughput, measured. So poll is asked only when it may tell
 * something: when opens are not known to be reported, or when one other
 * than ours was. scratch is the pipe tee needs for output, made at the
 * first use. */
static int writer_seen(int fd, int scratch[2], const fifo_wait *w) {
  if (scratch[0] < 0 && pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0)
    return -errno;
  ssize_t n = tee(fd, scratch[1], 1, SPLICE_F_NONBLOCK);
  if (n < 0)
    return errno == EAGAIN ? 1 : -errno;
  if (n > 0)
    return 1;
  if (w->trusted && !w->opened)
    return 0; /* nobody opened since ours: no writer came */
  struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
  if (poll(&pfd, 1, 0) < 0)
    return -errno;
  return (pfd.revents & (POLLIN | POLLHUP)) != 0;
}

/* 0 if fd is a FIFO, IPC_EINVAL if not (the path changed after the stat
 * that let us open it), or -errno. */
static int check_fifo_fd(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -errno;
  return S_ISFIFO(st.st_mode) ? 0 : IPC_EINVAL;
}

/* The read side: opens at once (a non-blocking read open of a FIFO always
 * succeeds), then, when asked to wait, looks for a writer until one is
 * seen or the deadline passes. Sets *fd (O_NONBLOCK still set). */
static int open_reader(const char *path, int wait, fifo_wait *w, int *fd) {
  int scratch[2] = {-1, -1};
  int rc;
  /* Watch first: the watch then reports our own open, which proves that
   * opens of this FIFO are reported at all. */
  if (wait)
    watch_start(w, path);
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (*fd < 0)
    return -errno;
  if ((rc = check_fifo_fd(*fd)) < 0 || !wait)
    goto out;
  if (w->ino >= 0) {
    /* Our own open, and any other (perhaps before ours: poll will tell). */
    int opens = watch_drain(w);
    w->trusted = opens > 0;
    w->opened = opens > 1;
  }
  while ((rc = writer_seen(*fd, scratch, w)) == 0)
    if ((rc = wait_sleep(w, *fd)) < 0)
      break;
out:
  if (scratch[0] >= 0) {
    close(scratch[0]);
    close(scratch[1]);
  }
  return rc < 0 ? rc : 0;
}

/* The write side: a non-blocking write open fails with ENXIO while no
 * process has the FIFO open for reading; when asked to wait, try again
 * after each event or nap until it works or the deadline passes. */
static int open_writer(const char *path, int wait, fifo_wait *w, int *fd) {
  int watched = 0;
  for (;;) {
    *fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd >= 0)
      return check_fifo_fd(*fd);
    if (errno != ENXIO)
      return -errno;
    if (!wait)
      return IPC_ENXIO;
    if (!watched) {
      /* Then try again at once: a reader that came before the watch
       * reports nothing. */
      watch_start(w, path);
      watched = 1;
      continue;
    }
    int rc = wait_sleep(w, -1);
    if (rc < 0)
      return rc;
  }
}

int ipc_fifo_open(ipc_pipe_t **out, const char *path, int flags,
                  int timeout_ms) {
  *out = NULL;
  int dir = flags & (IPC_FIFO_READ | IPC_FIFO_WRITE);
  if (path == NULL ||
      (flags & ~(IPC_FIFO_READ | IPC_FIFO_WRITE | IPC_NONBLOCK)) ||
      (dir != IPC_FIFO_READ && dir != IPC_FIFO_WRITE))
    return IPC_EINVAL;
  int writer = dir == IPC_FIFO_WRITE;
  int nonblock = (flags & IPC_NONBLOCK) != 0;
  /* Non-blocking with no timeout is the kernel's non-blocking open: no
   * wait at all. Any other combination waits up to the timeout. */
  int wait = !(nonblock && timeout_ms < 0);
  fifo_wait w = {.deadline = ipc__deadline(timeout_ms),
                 .nap = FIFO_NAP_MIN_NS,
                 .ino = -1,
                 .trusted = 0,
                 .opened = 0,
                 .gen = ipc__signal_snap()};

  /* Look before opening: opening a device can do things (a tape rewinds
   * when closed), and a regular file or a directory is no FIFO either. */
  struct stat st;
  if (stat(path, &st) < 0)
    return -errno;
  if (!S_ISFIFO(st.st_mode))
    return IPC_EINVAL;

  int fd = -1;
  int rc = writer ? open_writer(path, wait, &w, &fd)
                  : open_reader(path, wait, &w, &fd);
  if (w.ino >= 0)
    close(w.ino);
  if (rc < 0)
    goto fail;
  if (!nonblock) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
      rc = -errno;
      goto fail;
    }
  }
  if ((rc = ipc_pipe_from_fd(out, fd, writer)) < 0)
    goto fail;
  return 0;

fail:
  if (fd >= 0)
    close(fd);
  return rc;
}
