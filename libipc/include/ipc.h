/* ipc.h: the public interface of libipc, inter-process communication on Linux.
 *
 * This is the only public header. Every name it exports starts with ipc_ or
 * IPC_. Handles are opaque; every fallible call returns >= 0 on success or a
 * negative IPC_E* code. The library never prints, never exits, and opens
 * every descriptor close-on-exec. See docs/c.md for the reference.
 */
#ifndef IPC_H
#define IPC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/ipc.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define IPC_API __attribute__((visibility("default")))
#else
#define IPC_API
#endif

/* ---------------------------------------------------------------- version */

#define IPC_VERSION_MAJOR 0
#define IPC_VERSION_MINOR 1
#define IPC_VERSION_PATCH 0
#define IPC_VERSION_STRING "0.1.0"
#define IPC_VERSION_HEX                                                        \
  ((IPC_VERSION_MAJOR << 16) | (IPC_VERSION_MINOR << 8) | IPC_VERSION_PATCH)

/* The version of the library actually loaded, as IPC_VERSION_HEX would give
 * it; compare with the macro to detect a header/library mismatch. */
IPC_API unsigned ipc_version(void);
/* The same as a string, "major.minor.patch". Static storage. */
IPC_API const char *ipc_version_string(void);

/* ----------------------------------------------------------------- errors */

/* One list generates the codes, ipc_strerror and ipc_errname.
 * XX(name, value, message). Codes from the kernel are negative errno values;
 * library codes live far below errno space (errno values stay under 4096). */
#define IPC_ERROR_MAP(XX)                                                      \
  XX(E2BIG, -E2BIG, "argument list too long")                                  \
  XX(EACCES, -EACCES, "permission denied")                                     \
  XX(EADDRINUSE, -EADDRINUSE, "address already in use")                        \
  XX(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                   \
  XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")                      \
  XX(EBADF, -EBADF, "bad file descriptor")                                     \
  XX(EBUSY, -EBUSY, "resource busy")                                           \
  XX(ECANCELED, -ECANCELED, "operation canceled")                              \
  XX(ECHILD, -ECHILD, "no child process")                                      \
  XX(ECONNREFUSED, -ECONNREFUSED, "connection refused")                        \
  XX(ECONNRESET, -ECONNRESET, "connection reset by peer")                      \
  XX(EDEADLK, -EDEADLK, "resource deadlock avoided")                           \
  XX(EEXIST, -EEXIST, "file exists")                                           \
  XX(EFAULT, -EFAULT, "bad address")                                           \
  XX(EFBIG, -EFBIG, "file too large")                                          \
  XX(EIDRM, -EIDRM, "identifier removed")                                      \
  XX(EINTR, -EINTR, "interrupted system call")                                 \
  XX(EINVAL, -EINVAL, "invalid argument")                                      \
  XX(EIO, -EIO, "i/o error")                                                   \
  XX(EISDIR, -EISDIR, "is a directory")                                        \
  XX(EMFILE, -EMFILE, "too many open files")                                   \
  XX(EMSGSIZE, -EMSGSIZE, "message too long")                                  \
  XX(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                             \
  XX(ENFILE, -ENFILE, "file table overflow")                                   \
  XX(ENODEV, -ENODEV, "no such device")                                        \
  XX(ENOENT, -ENOENT, "no such file or directory")                             \
  XX(ENOEXEC, -ENOEXEC, "exec format error")                                   \
  XX(ENOMEM, -ENOMEM, "not enough memory")                                     \
  XX(ENOMSG, -ENOMSG, "no message of desired type")                            \
  XX(ENOSPC, -ENOSPC, "no space left on device")                               \
  XX(ENOSYS, -ENOSYS, "function not implemented")                              \
  XX(ENOTCONN, -ENOTCONN, "socket is not connected")                           \
  XX(ENOTDIR, -ENOTDIR, "not a directory")                                     \
  XX(ENOTRECOVERABLE, -ENOTRECOVERABLE, "state not recoverable")               \
  XX(ENOTSOCK, -ENOTSOCK, "socket operation on non-socket")                    \
  XX(ENOTSUP, -ENOTSUP, "operation not supported")                             \
  XX(ENXIO, -ENXIO, "no such device or address")                               \
  XX(EOVERFLOW, -EOVERFLOW, "value too large for defined data type")           \
  XX(EOWNERDEAD, -EOWNERDEAD, "owner died")                                    \
  XX(EPERM, -EPERM, "operation not permitted")                                 \
  XX(EPIPE, -EPIPE, "broken pipe")                                             \
  XX(ERANGE, -ERANGE, "result out of range")                                   \
  XX(EROFS, -EROFS, "read-only file system")                                   \
  XX(ESPIPE, -ESPIPE, "invalid seek")                                          \
  XX(ESRCH, -ESRCH, "no such process")                                         \
  XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                       \
  XX(EOF, -20001, "end of file")                                               \
  XX(ECORRUPT, -20002, "shared memory is corrupt")                             \
  XX(EPEERDEAD, -20003, "peer process is dead")

enum {
#define IPC__ERRCODE(name, value, msg) IPC_##name = (value),
  IPC_ERROR_MAP(IPC__ERRCODE)
#undef IPC__ERRCODE
};

/* A human-readable message for a code ("broken pipe"). Codes outside the
 * list that are negative errno values get the C library's description;
 * anything else gets "unknown error". Static storage, thread-safe. */
IPC_API const char *ipc_strerror(int code);
/* The code's name without prefix ("EPIPE", "EOF"), or "UNKNOWN". */
IPC_API const char *ipc_errname(int code);

/* --------------------------------------------------------------- timeouts
 *
 * Every call that can block takes `int timeout_ms`: -1 waits forever, 0 never
 * blocks, n > 0 waits at most n milliseconds (measured on CLOCK_MONOTONIC,
 * so signals and clock changes do not stretch it). Running out of time gives
 * IPC_ETIMEDOUT. A wait interrupted by a signal handler returns IPC_EINTR
 * with nothing consumed, so the host can run its handlers and call again.
 */
#define IPC_FOREVER (-1)

/* ------------------------------------------------------------------ pipes
 *
 * An anonymous pipe is two handles, one per end. A handle owns its
 * descriptor and a read buffer: bytes read from the kernel but not yet
 * returned stay there, so a read that fails (timeout, EINTR) loses nothing.
 */
typedef struct ipc_pipe ipc_pipe_t;

/* Flags for ipc_pipe_create and ipc_pipe_from_fd. */
#define IPC_NONBLOCK 0x1 /* O_NONBLOCK on the descriptor (see below) */

/* Creates a pipe: *reader gets the read end, *writer the write end, both
 * close-on-exec. Returns 0, or IPC_EMFILE/IPC_ENFILE/IPC_ENOMEM/IPC_EINVAL
 * (unknown flags); on failure both out-pointers are set to NULL. */
IPC_API int ipc_pipe_create(ipc_pipe_t **reader, ipc_pipe_t **writer,
                            int flags);
/* Wraps an existing descriptor (which the handle then owns). `writable`
 * chooses the direction. Returns 0, IPC_EBADF or IPC_ENOMEM; on failure
 * *out is NULL and the descriptor is left open, still the caller's. */
IPC_API int ipc_pipe_from_fd(ipc_pipe_t **out, int fd, int writable);
/* Closes the descriptor and frees the handle. NULL is accepted. Returns 0, or
 * the error close(2) reported (the handle is freed regardless). */
IPC_API int ipc_pipe_close(ipc_pipe_t *p);
/* The descriptor, for poll/epoll; it stays owned by the handle. */
IPC_API int ipc_pipe_fd(const ipc_pipe_t *p);
/* 1 for the write end, 0 for the read end. */
IPC_API int ipc_pipe_is_writer(const ipc_pipe_t *p);
/* Sets or clears O_NONBLOCK. With O_NONBLOCK set, a call that would wait
 * returns IPC_EAGAIN at once, whatever its timeout. Returns 0 or -errno. */
IPC_API int ipc_pipe_set_blocking(ipc_pipe_t *p, int blocking);
/* 1 if the descriptor is in blocking mode, 0 if not, or -errno. */
IPC_API int ipc_pipe_get_blocking(const ipc_pipe_t *p);
/* Bytes held in the handle's read buffer (already read from the kernel). */
IPC_API size_t ipc_pipe_buffered(const ipc_pipe_t *p);

/* Reads at most n bytes: whatever is buffered, else what one read(2)
 * returns once data arrives. Returns the count (> 0; 0 only when n == 0),
 * IPC_EOF when every writer has closed and nothing is left, IPC_ETIMEDOUT,
 * IPC_EAGAIN (non-blocking mode), IPC_EINTR, IPC_EBADF (a write end). */
IPC_API ssize_t ipc_pipe_read(ipc_pipe_t *p, void *buf, size_t n,
                              int timeout_ms);
/* Waits until the buffer holds `max` bytes, or (when 0 <= delim <= 255) a
 * byte equal to delim, or end of file; then consumes and returns the data up to
 * and including that delimiter (or max bytes, or everything left at EOF).
 * *out points into the handle's buffer and stays valid until the next call
 * on the handle. delim < 0 with max == SIZE_MAX reads until end of file.
 * Returns the length, IPC_EOF at end of file with nothing left, or an error
 * as for ipc_pipe_read with nothing consumed (the partial data stays
 * buffered for the next call); IPC_EINVAL for delim > 255. This one call
 * gives exact reads, lines and read-to-end. */
IPC_API ssize_t ipc_pipe_read_until(ipc_pipe_t *p, int delim, size_t max,
                                    const char **out, int timeout_ms);
/* Reads exactly n bytes into buf. Returns n, or fewer when end of file came
 * first (the rest of the stream), IPC_EOF if nothing was left, or an error
 * as for ipc_pipe_read with nothing consumed; IPC_EINVAL if n > SSIZE_MAX. */
IPC_API ssize_t ipc_pipe_read_exact(ipc_pipe_t *p, void *buf, size_t n,
                                    int timeout_ms);
/* Writes all n bytes. Returns n; or, when the time runs out, a signal
 * interrupts or the reader goes away after k > 0 bytes went out, k (a short
 * count; the next call tells why); or, when nothing went out, IPC_ETIMEDOUT,
 * IPC_EINTR, IPC_EAGAIN (non-blocking mode), IPC_EPIPE (every reader has
 * closed: the process gets no SIGPIPE and the process-wide SIGPIPE
 * disposition is not touched), IPC_EBADF (a read end), IPC_EINVAL
 * (n > SSIZE_MAX). Costs two rt_sigprocmask calls besides the write(s). */
IPC_API ssize_t ipc_pipe_write(ipc_pipe_t *p, const void *buf, size_t n,
                               int timeout_ms);

/* -------------------------------------------------------------- processes */

typedef struct ipc_proc ipc_proc_t;

/* What became of a process. */
typedef enum ipc_proc_state {
  IPC_PROC_RUNNING = 0,  /* not yet reaped */
  IPC_PROC_EXITED = 1,   /* called exit(code) */
  IPC_PROC_SIGNALED = 2, /* killed by signal `signal` */
} ipc_proc_state_t;

typedef struct ipc_proc_status {
  ipc_proc_state_t state;
  int code;        /* exit code when EXITED */
  int signal;      /* signal number when SIGNALED */
  int core_dumped; /* 1 when SIGNALED and a core was written */
} ipc_proc_status_t;

/* How a spawned child's standard stream is set up. */
typedef enum ipc_stdio {
  IPC_STDIO_INHERIT = 0, /* the parent's own stream */
  IPC_STDIO_PIPE = 1,    /* a new pipe; the parent's end: ipc_proc_take_stdio */
  IPC_STDIO_NULL = 2,    /* /dev/null */
  IPC_STDIO_FD = 3,      /* `fd[i]` (the caller keeps it; < 0: IPC_EBADF) */
} ipc_stdio_t;

typedef struct ipc_spawn_opts {
  ipc_stdio_t stdio[3]; /* stdin, stdout, stderr */
  int fd[3];            /* used with IPC_STDIO_FD */
  const char *cwd;      /* NULL: the parent's */
  char *const *envp;    /* NULL: the parent's environment */
  int search_path;      /* nonzero: look argv[0] up in PATH when it has no / */
} ipc_spawn_opts_t;

/* Forks. In the parent returns the child's pid (> 0) and sets *out to a
 * handle for it; in the child returns 0 and sets *out to NULL. Returns
 * IPC_EAGAIN/IPC_ENOMEM on failure (no child made, *out NULL). The caller
 * should flush stdio before, or the child will flush the same data again. */
IPC_API pid_t ipc_proc_fork(ipc_proc_t **out);
/* Runs argv[0] with arguments argv (NULL-terminated) via posix_spawn. opts
 * may be NULL (inherit everything, search PATH). Returns the pid and a
 * handle in *out; or IPC_ENOENT/IPC_EACCES/IPC_ENOEXEC... when the program
 * cannot be run (no child is left behind), IPC_EINVAL for an empty argv or
 * bad opts; *out is NULL on failure. */
IPC_API pid_t ipc_proc_spawn(ipc_proc_t **out, const char *const argv[],
                             const ipc_spawn_opts_t *opts);
/* Wraps a child pid this process made some other way. Returns 0, IPC_ECHILD
 * (no such pid, or not our child), IPC_EINVAL (pid <= 0), IPC_ENOMEM. */
IPC_API int ipc_proc_from_pid(ipc_proc_t **out, pid_t pid);
/* Hands over the parent's end of stream i (0, 1, 2) made with
 * IPC_STDIO_PIPE: stdin's end is a writer, the others readers. The caller
 * then owns it. NULL when there is none or it was already taken. */
IPC_API ipc_pipe_t *ipc_proc_take_stdio(ipc_proc_t *proc, int i);
/* The child's pid. */
IPC_API pid_t ipc_proc_pid(const ipc_proc_t *proc);
/* A descriptor that becomes readable when the child exits (a pidfd), for
 * poll/epoll; owned by the handle. */
IPC_API int ipc_proc_fd(const ipc_proc_t *proc);
/* Waits for the child to end and reaps it. Returns 0 and fills *status (may
 * be NULL); or IPC_ETIMEDOUT (the child still runs and can be waited again),
 * IPC_EINTR, IPC_ECHILD (someone else reaped it). Sleeps in poll(2) on the
 * pidfd: no busy loop. Once reaped, later calls return the same status. */
IPC_API int ipc_proc_wait(ipc_proc_t *proc, ipc_proc_status_t *status,
                          int timeout_ms);
/* The last known status without waiting (state RUNNING until reaped). */
IPC_API void ipc_proc_status(const ipc_proc_t *proc, ipc_proc_status_t *status);
/* Sends signal sig through the pidfd, so a reused pid is never hit.
 * Returns 0, IPC_ESRCH (already reaped), IPC_EINVAL, IPC_EPERM. */
IPC_API int ipc_proc_kill(ipc_proc_t *proc, int sig);
/* Frees the handle and its descriptors. It neither kills nor waits: a
 * running child goes on, and an unreaped one stays a zombie until someone
 * waits for it. NULL is accepted. Returns 0. */
IPC_API int ipc_proc_close(ipc_proc_t *proc);

/* ------------------------------------------------------------------ names
 *
 * POSIX object names (shm segments, rings, queues, semaphores) are "/name":
 * one leading slash, then 1 to IPC_NAME_MAX bytes of letters, digits and
 * "._-" (no second slash, no "." or ".." alone). */
#define IPC_NAME_MAX 250

/* 0 if name is a valid POSIX object name; IPC_EINVAL (empty, no leading
 * slash, a second slash, a forbidden character) or IPC_ENAMETOOLONG. */
IPC_API int ipc_name_check(const char *name);

/* ---------------------------------------------------- shared memory
 *
 * A segment is mapped once, read-write (or read-only when opened so), and
 * unmapped by close. Named segments are created exclusively, mode 0600
 * unless the caller gives one, and with their pages reserved, so a full
 * /dev/shm fails at create with IPC_ENOSPC instead of SIGBUS later. */
typedef struct ipc_shm ipc_shm_t;

/* Flags for the open calls. */
#define IPC_RDONLY 0x1 /* map read-only (PROT_READ) */

/* Creates the POSIX segment `name` of `size` bytes (> 0) and maps it.
 * mode 0 means 0600. Returns 0, or IPC_EEXIST, IPC_EINVAL/IPC_ENAMETOOLONG
 * (bad name, size 0), IPC_ENOSPC, IPC_EACCES, IPC_EMFILE, IPC_ENOMEM. On
 * failure nothing is left behind (the name is unlinked again). */
IPC_API int ipc_shm_create(ipc_shm_t **out, const char *name, size_t size,
                           int mode);
/* Opens and maps an existing POSIX segment, its whole size. flags: 0 or
 * IPC_RDONLY. Returns 0, IPC_ENOENT, IPC_EACCES, IPC_ENAMETOOLONG,
 * IPC_EINVAL (bad name, a segment of size 0, or something under the name
 * that is not a regular file). */
IPC_API int ipc_shm_open(ipc_shm_t **out, const char *name, int flags);
/* Creates an anonymous segment (a memfd, pages reserved) that children
 * made by fork share. Returns 0, IPC_EINVAL (size 0), IPC_ENOSPC,
 * IPC_EMFILE, IPC_ENOMEM. */
IPC_API int ipc_shm_create_anon(ipc_shm_t **out, size_t size);
/* Removes the name of a POSIX segment; mappings stay valid. Returns 0,
 * IPC_ENOENT, IPC_EACCES, IPC_EINVAL/IPC_ENAMETOOLONG. */
IPC_API int ipc_shm_unlink(const char *name);

/* A System V key from a path and a project id (ftok). Returns 0 and sets
 * *key, or IPC_ENOENT/IPC_EACCES for the path, IPC_EINVAL for id 0 or
 * id > 255. */
IPC_API int ipc_ftok(const char *path, int id, key_t *key);
/* Creates a System V segment: key may be IPC_PRIVATE; exclusive for any
 * other key; mode 0 means 0600. Returns 0, IPC_EEXIST, IPC_EINVAL,
 * IPC_ENOSPC (shmmni/shmall), IPC_ENOMEM, IPC_EACCES (a mode without owner
 * read, for an unprivileged caller). Pages are reserved by touching them;
 * on failure the segment is removed again. */
IPC_API int ipc_shm_sysv_create(ipc_shm_t **out, key_t key, size_t size,
                                int mode);
/* Attaches an existing System V segment by key, or by id when key is
 * IPC_PRIVATE and id >= 0. flags: 0 or IPC_RDONLY. Returns 0, IPC_ENOENT,
 * IPC_EACCES, IPC_EINVAL, IPC_EIDRM. */
IPC_API int ipc_shm_sysv_open(ipc_shm_t **out, key_t key, int id, int flags);
/* Marks the System V segment removed (IPC_RMID): it goes once every process
 * has detached. Returns 0, IPC_EPERM, IPC_EINVAL (not a System V segment). */
IPC_API int ipc_shm_sysv_remove(ipc_shm_t *seg);

/* Unmaps and frees; never removes the name. NULL is accepted. Returns 0. */
IPC_API int ipc_shm_close(ipc_shm_t *seg);
/* The mapping's address, its size in bytes, and whether it is writable. */
IPC_API void *ipc_shm_addr(const ipc_shm_t *seg);
IPC_API size_t ipc_shm_size(const ipc_shm_t *seg);
IPC_API int ipc_shm_writable(const ipc_shm_t *seg);
/* The POSIX name ("/x"), or NULL for anonymous and System V segments. */
IPC_API const char *ipc_shm_name(const ipc_shm_t *seg);
/* The descriptor of a POSIX or anonymous segment (-1 for System V). */
IPC_API int ipc_shm_fd(const ipc_shm_t *seg);
/* The System V id (-1 for the others). */
IPC_API int ipc_shm_sysv_id(const ipc_shm_t *seg);

/* ------------------------------------------------------------------- ring
 *
 * A queue of variable-length messages in shared memory: named (unrelated
 * processes open it by name) or anonymous (inherited across fork). The
 * lock-free path makes no system call; waits spin briefly, then sleep on a
 * futex. Everything read from the shared segment is validated: a corrupt or
 * hostile ring gives IPC_ECORRUPT, never a crash (docs/ring.md has the
 * protocol). A handle is used by one thread at a time; open the ring again
 * for another thread. */
typedef struct ipc_ring ipc_ring_t;

typedef enum ipc_ring_mode {
  IPC_RING_SPSC = 0, /* one producer, one consumer (the fastest) */
  IPC_RING_MPSC = 1, /* many producers, one consumer */
  IPC_RING_MPMC = 2, /* many producers, many consumers */
} ipc_ring_mode_t;

#define IPC_RING_MIN_CAPACITY 4096u
#define IPC_RING_MAX_CAPACITY (1ull << 40)

typedef struct ipc_ring_opts {
  size_t capacity;      /* data bytes: a power of two in [IPC_RING_MIN_CAPACITY,
                           IPC_RING_MAX_CAPACITY]; others are rejected (EINVAL),
                           not rounded. 0 means 65536. */
  size_t max_message;   /* largest message: 0 means capacity / 8; at most
                           capacity / 2 - 8 (EINVAL beyond) */
  ipc_ring_mode_t mode; /* IPC_RING_SPSC unless set */
  int perm;             /* permission bits of a named ring; 0 means 0600 */
} ipc_ring_opts_t;

typedef struct ipc_ring_stats {
  uint64_t capacity;    /* data bytes */
  uint64_t max_message; /* largest message */
  uint64_t used;        /* bytes in the ring, headers and padding included */
  uint64_t depth;       /* messages in the ring (pushed - popped - abandoned) */
  uint64_t pushed;      /* messages committed since creation */
  uint64_t popped;      /* messages taken since creation */
  uint64_t abandoned;   /* records skipped because their writer died */
  uint64_t waits;       /* times a producer or consumer went to sleep */
  int mode;             /* ipc_ring_mode_t */
  int producers;        /* live producers attached now */
  int consumers;        /* live consumers attached now */
} ipc_ring_stats_t;

/* Creates the named ring `name` ("/x", see ipc_name_check) exclusively, with
 * opts (NULL: defaults). The handle may push and pop. Returns 0, IPC_EEXIST,
 * IPC_EINVAL (bad geometry or name), IPC_ENAMETOOLONG, IPC_ENOSPC,
 * IPC_EACCES, IPC_ENOMEM; nothing is left behind on failure. */
IPC_API int ipc_ring_create(ipc_ring_t **out, const char *name,
                            const ipc_ring_opts_t *opts);
/* Creates an anonymous ring (a memfd) that children made by fork share
 * through their copy of the handle. Errors as ipc_ring_create. */
IPC_API int ipc_ring_create_anon(ipc_ring_t **out, const ipc_ring_opts_t *opts);
/* Opens a named ring. flags: 0 (push and pop), IPC_RDONLY (pop only) or
 * IPC_WRONLY (push only). The header is checked: IPC_ECORRUPT when the
 * segment is not a ring (magic), is of another layout version, or its
 * geometry is inconsistent with its size. Also IPC_ENOENT, IPC_EACCES,
 * IPC_EINVAL, IPC_ENAMETOOLONG. */
IPC_API int ipc_ring_open(ipc_ring_t **out, const char *name, int flags);
#define IPC_WRONLY 0x2 /* open for pushing only */
/* Removes a ring's name; attached handles go on working. */
IPC_API int ipc_ring_unlink(const char *name);
/* Detaches: a producer's departure is clean (a consumer that then finds no
 * producer and no data gets IPC_EOF). An open reservation is discarded.
 * NULL is accepted. Returns 0. Never unlinks. */
IPC_API int ipc_ring_close(ipc_ring_t *r);

/* Copies one message in. Returns 0; IPC_EMSGSIZE (len > max_message, at
 * once), IPC_ETIMEDOUT (full), IPC_EINTR, IPC_EPEERDEAD (full and every
 * consumer that attached is gone), IPC_EBADF (opened IPC_RDONLY),
 * IPC_EBUSY (SPSC/MPSC ring that already has another live producer, or
 * consumer for pops), IPC_ECORRUPT. */
IPC_API int ipc_ring_push(ipc_ring_t *r, const void *msg, size_t len,
                          int timeout_ms);
/* Copies the oldest message out into buf (cap bytes). Returns its length;
 * IPC_EMSGSIZE when cap is too small (the message stays), IPC_ETIMEDOUT
 * (empty), IPC_EINTR, IPC_EOF (empty, and every producer that attached has
 * closed), IPC_EPEERDEAD (empty, and the last producer died), IPC_EBADF
 * (opened IPC_WRONLY), IPC_EBUSY, IPC_ECORRUPT. */
IPC_API ssize_t ipc_ring_pop(ipc_ring_t *r, void *buf, size_t cap,
                             int timeout_ms);

/* Zero copy, producer side: reserves len bytes and sets *ptr to them; the
 * message is invisible until ipc_ring_commit, or dropped by
 * ipc_ring_discard. One reservation at a time per handle. Errors as
 * ipc_ring_push, plus IPC_EINVAL when a reservation is already open. A
 * producer that dies holding a reservation never blocks the consumer: the
 * record is skipped and counted as abandoned. */
IPC_API int ipc_ring_reserve(ipc_ring_t *r, size_t len, void **ptr,
                             int timeout_ms);
IPC_API int ipc_ring_commit(ipc_ring_t *r);
IPC_API int ipc_ring_discard(ipc_ring_t *r);
/* Zero copy, consumer side: points *ptr at the oldest message, which stays
 * in the ring (and, for MPMC, the other consumers wait) until
 * ipc_ring_release. Returns its length, or the errors of ipc_ring_pop. The
 * bytes live in shared memory: a hostile writer can change them under you,
 * so copy before trusting them. */
IPC_API ssize_t ipc_ring_peek(ipc_ring_t *r, const void **ptr, int timeout_ms);
IPC_API int ipc_ring_release(ipc_ring_t *r);

/* Pushes msgs[0..n) in order, publishing once for the batch. Waits (up to
 * the timeout) for room for the first; returns how many went in (>= 1), or
 * an error of ipc_ring_push when none did. A message above max_message
 * fails the whole call before anything is pushed: IPC_EMSGSIZE when it is
 * the first, IPC_EINVAL otherwise. */
IPC_API ssize_t ipc_ring_push_many(ipc_ring_t *r, const struct iovec *msgs,
                                   size_t n, int timeout_ms);
/* Called by ipc_ring_pop_many for each message, in place; returning
 * nonzero stops the batch after this message. */
typedef int (*ipc_ring_visit_t)(void *ctx, const void *msg, size_t len);
/* Waits (up to the timeout) for at least one message, then hands up to max
 * messages to visit and releases them all at once. Returns the count, or an
 * error of ipc_ring_pop when there were none. */
IPC_API ssize_t ipc_ring_pop_many(ipc_ring_t *r, size_t max,
                                  ipc_ring_visit_t visit, void *ctx,
                                  int timeout_ms);
/* Pushes, then waits until a consumer has taken the message. Returns 0, or
 * an error of ipc_ring_push. IPC_ETIMEDOUT and IPC_EINTR can come before or
 * after the message went in (then it stays queued and will be delivered),
 * so do not simply push again: compare ipc_ring_stats' pushed count. */
IPC_API int ipc_ring_push_sync(ipc_ring_t *r, const void *msg, size_t len,
                               int timeout_ms);

/* Counters and geometry, read without locking (a consistent-enough
 * snapshot). Returns 0 or IPC_ECORRUPT. */
IPC_API int ipc_ring_stats(ipc_ring_t *r, ipc_ring_stats_t *st);
/* The name ("/x"), or NULL for an anonymous ring. */
IPC_API const char *ipc_ring_name(const ipc_ring_t *r);
/* The segment's descriptor (for fstat; not pollable). */
IPC_API int ipc_ring_fd(const ipc_ring_t *r);

/* @area fifo: its declarations go here */
/* @area mq: its declarations go here */
/* @area sock: its declarations go here */
/* @area sem: its declarations go here */

#ifdef __cplusplus
}
#endif
#endif /* IPC_H */
