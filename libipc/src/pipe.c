/* pipe.c: anonymous pipes, one handle per end.
 * A read handle keeps a growable buffer of bytes taken from the kernel but
 * not yet given to the caller: exact reads, lines and read-to-end are built
 * on it, and a read that times out or is interrupted hands nothing out and
 * loses nothing. Writes never let a SIGPIPE kill the process and never touch
 * its disposition: they say RWF_NOSIGNAL, or block the signal, unless
 * libipc itself made SIGPIPE harmless (ignored, or handled by its recording
 * handler), when a plain write(2) is both safe and the fastest. */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define IPC__PIPE_MIN_BUFFER 4096

struct ipc_pipe {
  int fd;
  int writable;
  int is_pipe;  /* a pipe or FIFO: RWF_NOSIGNAL applies (see write_once) */
  int nonblock; /* our view of O_NONBLOCK, kept in step by set_blocking */
  char *buf;    /* buffered input is buf[start, end) */
  size_t cap;
  size_t start;
  size_t end;
};

static int pipe_wrap(ipc_pipe_t **out, int fd, int writable, int nonblock) {
  ipc_pipe_t *p = calloc(1, sizeof *p);
  if (!p)
    return IPC_ENOMEM;
  struct stat st;
  p->is_pipe = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
  p->fd = fd;
  p->writable = writable;
  p->nonblock = nonblock;
  *out = p;
  return 0;
}

int ipc_pipe_create(ipc_pipe_t **reader, ipc_pipe_t **writer, int flags) {
  int fds[2];
  int rc;

  *reader = NULL;
  *writer = NULL;
  if (flags & ~IPC_NONBLOCK)
    return IPC_EINVAL;
  int nonblock = (flags & IPC_NONBLOCK) != 0;
  if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) < 0)
    return -errno;
  if ((rc = pipe_wrap(reader, fds[0], 0, nonblock)) < 0)
    goto fail;
  if ((rc = pipe_wrap(writer, fds[1], 1, nonblock)) < 0)
    goto fail;
  return 0;

fail:
  free(*reader);
  *reader = NULL;
  close(fds[0]);
  close(fds[1]);
  return rc;
}

int ipc_pipe_from_fd(ipc_pipe_t **out, int fd, int writable) {
  *out = NULL;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -errno;
  return pipe_wrap(out, fd, writable != 0, (fl & O_NONBLOCK) != 0);
}

int ipc_pipe_close(ipc_pipe_t *p) {
  if (!p)
    return 0;
  int rc = 0;
  /* Linux releases the descriptor even when close() fails, so never retry
   * (a retry could close a descriptor another thread just opened). */
  if (p->fd >= 0 && close(p->fd) < 0 && errno != EINTR)
    rc = -errno;
  free(p->buf);
  free(p);
  return rc;
}

int ipc_pipe_fd(const ipc_pipe_t *p) { return p->fd; }

int ipc_pipe_is_writer(const ipc_pipe_t *p) { return p->writable; }

size_t ipc_pipe_buffered(const ipc_pipe_t *p) { return p->end - p->start; }

int ipc_pipe_set_blocking(ipc_pipe_t *p, int blocking) {
  int fl = fcntl(p->fd, F_GETFL);
  if (fl < 0)
    return -errno;
  int want = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
  if (want != fl && fcntl(p->fd, F_SETFL, want) < 0)
    return -errno;
  p->nonblock = !blocking;
  return 0;
}

int ipc_pipe_get_blocking(const ipc_pipe_t *p) {
  int fl = fcntl(p->fd, F_GETFL);
  if (fl < 0)
    return -errno;
  return (fl & O_NONBLOCK) ? 0 : 1;
}

/* One read(2) of at most n bytes into dst, waiting until the deadline.
 * A blocking descriptor with a deadline is polled first so that read()
 * cannot sleep past it; a non-blocking one is read at once. */
static ssize_t read_some(ipc_pipe_t *p, void *dst, size_t n, int64_t deadline) {
  unsigned gen = ipc__signal_snap();
  for (;;) {
    if (!p->nonblock && deadline != IPC__NO_DEADLINE) {
      if (ipc__signal_moved(gen))
        return IPC_EINTR; /* handled outside poll: do not sleep over it */
      int rc = ipc__wait_fd(p->fd, POLLIN, deadline);
      if (rc < 0)
        return rc;
    }
    ssize_t r = read(p->fd, dst, n);
    if (r > 0)
      return r;
    if (r == 0)
      return IPC_EOF;
    if (errno != EAGAIN || p->nonblock)
      return -errno;
    /* O_NONBLOCK set behind our back, or a racing reader won: wait. */
    if (ipc__signal_moved(gen))
      return IPC_EINTR;
    int rc = ipc__wait_fd(p->fd, POLLIN, deadline);
    if (rc < 0)
      return rc;
  }
}

/* Makes room for at least `want` more bytes after buf[end]. */
static int buffer_reserve(ipc_pipe_t *p, size_t want) {
  if (p->start > 0 && p->cap - p->end < want) {
    memmove(p->buf, p->buf + p->start, p->end - p->start);
    p->end -= p->start;
    p->start = 0;
  }
  if (p->cap - p->end >= want)
    return 0;
  size_t cap = p->cap ? p->cap : IPC__PIPE_MIN_BUFFER;
  while (cap - p->end < want) {
    if (cap > SIZE_MAX / 2)
      return IPC_ENOMEM;
    cap *= 2;
  }
  char *buf = realloc(p->buf, cap);
  if (!buf)
    return IPC_ENOMEM;
  p->buf = buf;
  p->cap = cap;
  return 0;
}

/* Reads once from the kernel into the buffer: at most `most` bytes, or as
 * many as there is room for when most is 0. */
static ssize_t buffer_fill(ipc_pipe_t *p, size_t most, int64_t deadline) {
  int rc = buffer_reserve(p, most ? most : IPC__PIPE_MIN_BUFFER);
  if (rc < 0)
    return rc;
  size_t room = p->cap - p->end;
  ssize_t r = read_some(p, p->buf + p->end, most ? most : room, deadline);
  if (r > 0)
    p->end += (size_t)r;
  return r;
}

ssize_t ipc_pipe_read(ipc_pipe_t *p, void *buf, size_t n, int timeout_ms) {
  if (p->writable)
    return IPC_EBADF;
  if (n == 0)
    return 0;
  size_t avail = p->end - p->start;
  if (avail > 0) {
    size_t k = avail < n ? avail : n;
    memcpy(buf, p->buf + p->start, k);
    p->start += k;
    return (ssize_t)k;
  }
  return read_some(p, buf, n, ipc__deadline(timeout_ms));
}

/* ipc_pipe_read_until's loop. With `just_enough` (exact reads: delim < 0),
 * each read(2) asks the kernel for only the bytes still missing, as a raw
 * reader of fixed-size messages would, instead of all the room there is.
 * Taking everything the writer has queued empties the pipe, and a writer
 * that finds it empty pays for a wake-up call and a fresh page at its
 * next write: with a fast writer and a reader on another CPU that cost
 * 15-20% of the 64-byte throughput (perf: __wake_up_sync_key,
 * anon_pipe_buf_release), more than the system calls saved. */
static ssize_t read_until(ipc_pipe_t *p, int delim, size_t max,
                          const char **out, int64_t deadline, int just_enough) {
  size_t scanned = 0; /* bytes already searched for delim */
  for (;;) {
    size_t avail = p->end - p->start;
    size_t limit = avail < max ? avail : max;
    size_t len = 0;
    if (delim >= 0 && limit > scanned) {
      const char *hit =
          memchr(p->buf + p->start + scanned, delim, limit - scanned);
      if (hit)
        len = (size_t)(hit - (p->buf + p->start)) + 1;
      scanned = limit;
    }
    if (len == 0 && avail >= max)
      len = max;
    if (len == 0) {
      ssize_t r = buffer_fill(p, just_enough ? max - avail : 0, deadline);
      if (r == IPC_EOF) {
        if (avail == 0)
          return IPC_EOF;
        len = avail; /* the rest of the stream, delimiter or not */
      } else if (r < 0) {
        return r; /* nothing consumed: the partial data stays buffered */
      } else {
        continue;
      }
    }
    *out = p->buf + p->start;
    p->start += len;
    if (p->start == p->end)
      p->start = p->end = 0;
    return (ssize_t)len;
  }
}

ssize_t ipc_pipe_read_until(ipc_pipe_t *p, int delim, size_t max,
                            const char **out, int timeout_ms) {
  *out = NULL;
  if (p->writable)
    return IPC_EBADF;
  if (delim > 255)
    return IPC_EINVAL;
  if (max == 0)
    return 0;
  if (max > (size_t)SSIZE_MAX)
    max = SSIZE_MAX;
  /* A small exact read (no delimiter: the Lua module's r:read(n)) asks for
   * just the missing bytes, as ipc_pipe_read_exact does; lines and
   * read-to-end take all the room there is. */
  int exact = delim < 0 && max <= IPC__PIPE_MIN_BUFFER / 2;
  return read_until(p, delim, max, out, ipc__deadline(timeout_ms), exact);
}

/* ipc_pipe_read_exact past its fast path; `r` and `err` are the result
 * and errno of the fast path's read(2) when it made one (r < 0 and err 0
 * when it did not). Apart, so that the fast path stays a few
 * instructions around the system call. */
static __attribute__((noinline)) ssize_t read_exact_slow(ipc_pipe_t *p,
                                                         char *dst, size_t n,
                                                         int timeout_ms,
                                                         ssize_t r, int err) {
  if (p->writable)
    return IPC_EBADF;
  if (n > (size_t)SSIZE_MAX)
    return IPC_EINVAL;
  if (n == 0)
    return 0;
  int64_t deadline = ipc__deadline(timeout_ms);
  size_t got = p->end - p->start;
  const char *data;
  if (err != 0 && (err != EAGAIN || p->nonblock))
    return -err; /* the fast path's read failed: nothing consumed */
  if (r == 0)
    return IPC_EOF;
  if (got == 0 && n <= IPC__PIPE_MIN_BUFFER / 2) {
    /* Nothing buffered: one read(2) of n bytes straight into the caller's
     * memory (unless the fast path made it), as a raw reader does. The
     * buffer has room for a part before the read, so a part is never
     * lost. */
    if (p->cap < n) {
      int rc = buffer_reserve(p, n);
      if (rc < 0)
        return rc;
    }
    if (r < 0) /* none yet, or EAGAIN on a blocking descriptor: wait */
      r = read_some(p, dst, n, deadline);
    if (r == (ssize_t)n || r < 0)
      return r; /* whole, or nothing consumed */
    memcpy(p->buf, dst, (size_t)r);
    p->start = 0;
    p->end = got = (size_t)r;
  }
  if (got >= n || n <= IPC__PIPE_MIN_BUFFER / 2) {
    /* Small reads go through the buffer, which keeps a message that came
     * in parts until it is whole; what is missing is asked for exactly
     * (see read_until). */
    r = read_until(p, -1, n, &data, deadline, 1);
    if (r > 0)
      memcpy(dst, data, (size_t)r);
    return r;
  }
  /* Take the buffered bytes, then read straight into the caller's memory:
   * no second copy for large reads. */
  if (got > 0)
    memcpy(dst, p->buf + p->start, got);
  p->start = p->end = 0;
  while (got < n) {
    r = read_some(p, dst + got, n - got, deadline);
    if (r == IPC_EOF)
      return got > 0 ? (ssize_t)got : IPC_EOF;
    if (r < 0) {
      if (got == 0)
        return r;
      /* Give the bytes back to the buffer, so the next call sees them.
       * (Only running out of memory here can lose them.) */
      int rc = buffer_reserve(p, got);
      if (rc < 0)
        return rc;
      memcpy(p->buf, dst, got);
      p->start = 0;
      p->end = got;
      return r;
    }
    got += (size_t)r;
  }
  return (ssize_t)n;
}

ssize_t ipc_pipe_read_exact(ipc_pipe_t *p, void *buf, size_t n,
                            int timeout_ms) {
  /* The usual case with nothing around it: a small message, nothing
   * buffered, room for a part of it, no deadline to keep (none, or a
   * non-blocking descriptor). One read(2) of n bytes straight into the
   * caller's memory: what a raw reader of fixed-size messages does, and
   * why n and no more, see read_until. */
  if (p->end == p->start && n - 1 < IPC__PIPE_MIN_BUFFER / 2 && p->cap >= n &&
      !p->writable && (timeout_ms < 0 || p->nonblock)) {
    ssize_t r = read(p->fd, buf, n);
    if (r == (ssize_t)n)
      return r;
    return read_exact_slow(p, buf, n, timeout_ms, r, r < 0 ? errno : 0);
  }
  return read_exact_slow(p, buf, n, timeout_ms, -1, 0);
}

/* Linux 6.18's pwritev2 flag that keeps a write to a pipe or socket with
 * no reader from raising SIGPIPE; older kernels reject it (EOPNOTSUPP). */
#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif

/* Whether the kernel takes RWF_NOSIGNAL: 0 not known yet, 1 yes, -1 no.
 * A process-wide cache of a kernel property, set once. */
static _Atomic int nosignal_support;

#define IPC__NOSIGNAL_UNSUPPORTED (-30001) /* internal: take the mask path */

/* One write(2), with RWF_NOSIGNAL when asked for. */
static inline ssize_t write_once(ipc_pipe_t *p, const char *src, size_t n,
                                 int nosignal) {
  if (!nosignal)
    return write(p->fd, src, n);
  struct iovec iov = {.iov_base = (void *)src, .iov_len = n};
  ssize_t r = pwritev2(p->fd, &iov, 1, -1, RWF_NOSIGNAL);
  if (r < 0 && errno == EOPNOTSUPP) {
    atomic_store(&nosignal_support, -1);
    return IPC__NOSIGNAL_UNSUPPORTED;
  }
  /* Stored once, not at every write: threads writing other pipes would
   * otherwise pass the cache line around. */
  if (r >= 0 &&
      atomic_load_explicit(&nosignal_support, memory_order_relaxed) == 0)
    atomic_store_explicit(&nosignal_support, 1, memory_order_relaxed);
  return r;
}

/* The write loop proper. With nosignal, writes cannot raise SIGPIPE;
 * without, *sigpipe_possible tells whether a write may have raised one
 * (which the caller has blocked). */
static ssize_t write_all(ipc_pipe_t *p, const char *src, size_t n,
                         int timeout_ms, int nosignal, int *sigpipe_possible) {
  size_t done = 0;
  int64_t deadline = ipc__deadline(timeout_ms);
  int timed = !p->nonblock && deadline != IPC__NO_DEADLINE;
  while (done < n) {
    size_t chunk = n - done;
    if (timed) {
      int rc = ipc__wait_fd(p->fd, POLLOUT, deadline);
      if (rc < 0)
        return done > 0 ? (ssize_t)done : rc;
      /* POLLOUT promises room for PIPE_BUF bytes, no more: a bigger write
       * on a blocking descriptor could sleep past the deadline. */
      if (chunk > PIPE_BUF)
        chunk = PIPE_BUF;
    }
    ssize_t r = write_once(p, src + done, chunk, nosignal);
    if (r == IPC__NOSIGNAL_UNSUPPORTED) /* only ever on the first write */
      return r;
    if (r >= 0) {
      done += (size_t)r;
      if ((size_t)r < chunk && !p->nonblock) {
        /* A signal cut a blocking write short. The kernel also raises
         * SIGPIPE on a short count when the last reader went away. */
        *sigpipe_possible = 1;
        return (ssize_t)done;
      }
      continue;
    }
    int rc = -errno;
    if (rc == IPC_EPIPE)
      *sigpipe_possible = 1;
    if (rc == IPC_EAGAIN && !p->nonblock)
      rc = ipc__wait_fd(p->fd, POLLOUT, deadline); /* see read_some */
    if (rc < 0)
      return done > 0 ? (ssize_t)done : rc;
  }
  return (ssize_t)n;
}

/* Writes without a deadly SIGPIPE. When libipc made SIGPIPE harmless,
 * with write(2) as it is. On pipes and FIFOs with a kernel that has
 * RWF_NOSIGNAL, each write says so itself: no extra system call. Otherwise
 * the signal is blocked for this thread during the call, and the
 * thread-directed SIGPIPE an EPIPE raised is taken back before unblocking;
 * if the caller already blocks SIGPIPE, a pending one is theirs. */
static ssize_t pipe_write(ipc_pipe_t *p, const char *buf, size_t n,
                          int timeout_ms) {
  int sigpipe_possible = 0;
  if (ipc__sigpipe_cannot_kill())
    return write_all(p, buf, n, timeout_ms, 0, &sigpipe_possible);
  if (p->is_pipe &&
      atomic_load_explicit(&nosignal_support, memory_order_relaxed) >= 0) {
    ssize_t r = write_all(p, buf, n, timeout_ms, 1, &sigpipe_possible);
    if (r != IPC__NOSIGNAL_UNSUPPORTED)
      return r;
  }
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = write_all(p, buf, n, timeout_ms, 0, &sigpipe_possible);
  sigset_t pending;
  if (sigpipe_possible && !sigismember(&old, SIGPIPE) &&
      sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
    static const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

ssize_t ipc_pipe_write(ipc_pipe_t *p, const void *buf, size_t n,
                       int timeout_ms) {
  if (!p->writable)
    return IPC_EBADF;
  if (n > (size_t)SSIZE_MAX)
    return IPC_EINVAL;
  /* The common case in one system call with nothing around it: a write
   * with no deadline to keep (none, or a non-blocking descriptor), by
   * write(2) when libipc made SIGPIPE harmless, else on a pipe whose
   * kernel is known to take RWF_NOSIGNAL by pwritev2 (which costs ~100 ns
   * more). Its results mean what write_all makes of them; only a partial
   * non-blocking write (which write_all would try to finish) and a
   * blocking descriptor's EAGAIN (O_NONBLOCK set behind our back: wait) go
   * on to pipe_write. */
  if (n > 0 && (timeout_ms < 0 || p->nonblock)) {
    ssize_t r;
    if (ipc__sigpipe_cannot_kill()) {
      r = write(p->fd, buf, n);
    } else if (p->is_pipe && atomic_load_explicit(&nosignal_support,
                                                  memory_order_relaxed) > 0) {
      struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
      r = pwritev2(p->fd, &iov, 1, -1, RWF_NOSIGNAL);
    } else {
      return pipe_write(p, buf, n, timeout_ms);
    }
    if (r == (ssize_t)n || (r > 0 && !p->nonblock))
      return r; /* whole, or cut short by a signal */
    if (r > 0) {
      ssize_t more =
          pipe_write(p, (const char *)buf + r, n - (size_t)r, timeout_ms);
      return more > 0 ? r + more : r;
    }
    if (errno != EAGAIN || p->nonblock)
      return -errno; /* EPIPE, EINTR, EAGAIN (non-blocking), EBADF ... */
  }
  return pipe_write(p, buf, n, timeout_ms);
}
