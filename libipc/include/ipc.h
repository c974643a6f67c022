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
  XX(EAFNOSUPPORT, -EAFNOSUPPORT, "address family not supported")              \
  XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")                      \
  XX(EBADF, -EBADF, "bad file descriptor")                                     \
  XX(EBUSY, -EBUSY, "resource busy")                                           \
  XX(ECANCELED, -ECANCELED, "operation canceled")                              \
  XX(ECHILD, -ECHILD, "no child process")                                      \
  XX(ECONNABORTED, -ECONNABORTED, "connection aborted")                        \
  XX(ECONNREFUSED, -ECONNREFUSED, "connection refused")                        \
  XX(ECONNRESET, -ECONNRESET, "connection reset by peer")                      \
  XX(EDEADLK, -EDEADLK, "resource deadlock avoided")                           \
  XX(EDESTADDRREQ, -EDESTADDRREQ, "destination address required")              \
  XX(EEXIST, -EEXIST, "file exists")                                           \
  XX(EFAULT, -EFAULT, "bad address")                                           \
  XX(EFBIG, -EFBIG, "file too large")                                          \
  XX(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                       \
  XX(EIDRM, -EIDRM, "identifier removed")                                      \
  XX(EINTR, -EINTR, "interrupted system call")                                 \
  XX(EINVAL, -EINVAL, "invalid argument")                                      \
  XX(EIO, -EIO, "i/o error")                                                   \
  XX(EISCONN, -EISCONN, "socket is already connected")                         \
  XX(EISDIR, -EISDIR, "is a directory")                                        \
  XX(EMFILE, -EMFILE, "too many open files")                                   \
  XX(EMSGSIZE, -EMSGSIZE, "message too long")                                  \
  XX(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                             \
  XX(ENETUNREACH, -ENETUNREACH, "network is unreachable")                      \
  XX(ENFILE, -ENFILE, "file table overflow")                                   \
  XX(ENOBUFS, -ENOBUFS, "no buffer space available")                           \
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
  XX(EPROTOTYPE, -EPROTOTYPE, "protocol wrong type for socket")                \
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
 * closed: no SIGPIPE kills the process and the process-wide SIGPIPE
 * disposition is not touched), IPC_EBADF (a read end), IPC_EINVAL
 * (n > SSIZE_MAX). While libipc itself has made SIGPIPE harmless
 * (ipc_signal_ignore, or ipc_signal_handle, which then records the SIGPIPE)
 * each write is a plain write(2); else on pipes and FIFOs under Linux 6.18
 * or later each write carries RWF_NOSIGNAL; otherwise SIGPIPE is blocked
 * for the calling thread during the call (two more system calls). */
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

/* ------------------------------------------------- the system's objects
 *
 * A snapshot of the IPC objects the system holds, to find and remove what a
 * crashed program left behind: POSIX segments (rings among them) and named
 * semaphores in /dev/shm, POSIX queues (only when an mqueue file system is
 * mounted somewhere: the kernel shows them nowhere else), FIFOs in the
 * directories given, and System V segments, queues and semaphore sets
 * (/proc/sysvipc). Users are read from /proc: the mappings and descriptors
 * of every process the caller may inspect, System V attach counts and last
 * pids. docs/c.md says how "made by libipc" is decided, and its limits. */
typedef enum ipc_obj_kind {
  IPC_OBJ_SHM = 0,      /* POSIX segment "/x" (/dev/shm/x), rings included */
  IPC_OBJ_SEM = 1,      /* POSIX named semaphore "/x" (/dev/shm/sem.x) */
  IPC_OBJ_MQ = 2,       /* POSIX message queue "/x" */
  IPC_OBJ_FIFO = 3,     /* FIFO, named by its path */
  IPC_OBJ_SYSV_SHM = 4, /* System V segment, by id */
  IPC_OBJ_SYSV_MSG = 5, /* System V message queue, by id */
  IPC_OBJ_SYSV_SEM = 6, /* System V semaphore set, by id */
} ipc_obj_kind_t;
#define IPC_OBJ_KINDS 7
/* The users an ipc_obj_t names (nusers counts them all). */
#define IPC_OBJ_MAX_USERS 8

typedef struct ipc_obj {
  int kind;          /* ipc_obj_kind_t */
  const char *name;  /* "/x" (POSIX), the path (FIFO), NULL (System V) */
  const char *owner; /* the owner's user name; NULL when uid has none */
  uid_t uid;         /* owner */
  gid_t gid;
  int mode;      /* permission bits */
  int id;        /* System V id; -1 for the others */
  key_t key;     /* System V key (IPC_PRIVATE: 0); 0 for the others */
  uint64_t size; /* bytes: of a segment or semaphore file, of the messages
                    queued in a queue (POSIX: the kernel's QSIZE); 0 for a
                    FIFO */
  int64_t count; /* messages in a System V queue, semaphores in a set; -1
                    for the others */
  int64_t mtime; /* last change or use, seconds since the epoch: a file's
                    mtime; System V: the latest of its times */
  int ours;      /* 1: made by libipc; 0: not; -1: cannot tell */
  int ring;      /* 1: a POSIX segment whose ring header checks out */
  int in_use;    /* 1: a live process uses it; 0: none seen; -1: cannot
                    tell (a System V set the caller may not read) */
  int nattch;    /* System V segment: attachments; -1 for the others */
  int nusers;    /* live processes seen using it: mapping it, holding a
                    descriptor of it, attached, or (System V queues and
                    sets) its last sender, receiver or operator */
  pid_t users[IPC_OBJ_MAX_USERS]; /* the first nusers of them */
  uint64_t dev, ino; /* a file's identity (st_dev, st_ino); 0 for System V */
} ipc_obj_t;

typedef struct ipc_ls ipc_ls_t;

typedef struct ipc_ls_opts {
  unsigned kinds;          /* (1u << kind) for each kind wanted; 0: all */
  const char *name;        /* only objects of this name: "/x" (POSIX kinds)
                              or a FIFO's path (looked at directly, not in
                              dirs); System V kinds then give none. NULL:
                              every name */
  const char *const *dirs; /* NULL-terminated directories whose FIFOs are
                              listed (not their subdirectories); NULL:
                              "/tmp" when it exists */
} ipc_ls_opts_t;

/* Takes a snapshot of the system's objects, sorted by kind, then name or
 * id; opts may be NULL (everything). Returns 0; IPC_ENOMEM; or the error of
 * a directory in opts->dirs that cannot be read (IPC_ENOENT, IPC_EACCES,
 * IPC_ENOTDIR); IPC_EINVAL for unknown kinds. Sources the system lacks
 * (/dev/shm, an mqueue mount, /proc/sysvipc) are skipped. *out (NULL on
 * failure) is the caller's to free with ipc_ls_close. */
IPC_API int ipc_ls_open(ipc_ls_t **out, const ipc_ls_opts_t *opts);
/* The number of objects, and object i (NULL when i >= count). The object
 * and its strings belong to the snapshot. */
IPC_API size_t ipc_ls_count(const ipc_ls_t *ls);
IPC_API const ipc_obj_t *ipc_ls_get(const ipc_ls_t *ls, size_t i);
/* Processes whose mappings or descriptors could not be read (another
 * user's, without the privilege): users of objects may be missing when
 * this is not 0. */
IPC_API int ipc_ls_hidden(const ipc_ls_t *ls);
/* "shm", "sem", "mq", "fifo", "sysv_shm", "sysv_msg", "sysv_sem"; NULL for
 * any other number. */
IPC_API const char *ipc_ls_kind_name(int kind);

/* Flag of ipc_ls_remove: remove an object of another owner, or one not made
 * by libipc, too. Never one in use. */
#define IPC_LS_FORCE 0x1

/* Removes object i of the snapshot, after looking at it again: record i is
 * first replaced by what the system shows now, so a caller can tell why a
 * refusal came. Returns 0 (the name is gone; a System V object is removed),
 * or IPC_ENOENT (gone, or another object under its name or id since the
 * snapshot), IPC_EBUSY (in use, or in_use is -1), IPC_EPERM (without
 * IPC_LS_FORCE: another owner than the caller's effective uid, or ours is
 * 0), IPC_EINVAL (i out of range, unknown flags), IPC_ENOMEM, or the error
 * of the unlink or IPC_RMID (IPC_EACCES, IPC_EPERM). The check and the
 * removal are two steps: a process that attaches in between is not seen. */
IPC_API int ipc_ls_remove(ipc_ls_t *ls, size_t i, int flags);
/* Frees the snapshot; NULL is accepted. Returns 0. */
IPC_API int ipc_ls_close(ipc_ls_t *ls);

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
/* Maps a descriptor of a segment made elsewhere (a memfd or a /dev/shm file
 * received over a socket, say), its whole size: read-write when the
 * descriptor allows it and flags lacks IPC_RDONLY, else read-only. The
 * handle then owns fd. Returns 0, IPC_EBADF, IPC_EINVAL (not a regular
 * file, size 0, unknown flags), IPC_ENOMEM; on failure fd stays the
 * caller's. */
IPC_API int ipc_shm_from_fd(ipc_shm_t **out, int fd, int flags);
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

/* ------------------------------------------------------------------ FIFOs
 *
 * A FIFO (named pipe) is a path in the file system. Opened, it is one end
 * of a pipe: ipc_fifo_open returns an ipc_pipe_t, read and written with the
 * ipc_pipe_* calls (buffered reads, EOF once every writer has closed,
 * IPC_EPIPE and no SIGPIPE once every reader has). Paths are plain file
 * system paths (relative ones from the working directory), not "/name"s. */

/* Flags for ipc_fifo_open: exactly one direction, and IPC_NONBLOCK if the
 * handle should be non-blocking. */
#define IPC_FIFO_READ 0x10
#define IPC_FIFO_WRITE 0x20

/* Makes a FIFO at path (mkfifo) with exactly `mode` whatever the umask;
 * mode 0 means 0600. Never replaces anything: IPC_EEXIST when anything is
 * at path (a FIFO, a regular file, a dangling symbolic link...), which is
 * left untouched. Also IPC_EINVAL (NULL path, mode bits beyond 0777),
 * IPC_ENOENT/IPC_ENOTDIR (a missing or bad directory), IPC_EACCES,
 * IPC_ENAMETOOLONG, IPC_EROFS, IPC_ENOSPC. Nothing is left behind on
 * failure. */
IPC_API int ipc_fifo_create(const char *path, int mode);
/* Opens the FIFO at path for reading or writing and waits, up to
 * timeout_ms, for the other side: a reader returns once a writer has had
 * the FIFO open (a writer that wrote nothing yet counts), a writer once a
 * reader has it open. It never waits past the timeout: IPC_ETIMEDOUT, with
 * nothing left open. With IPC_NONBLOCK and timeout_ms -1 it does not wait
 * at all: a reader returns at once (its reads see end of file until a
 * writer comes, as the kernel does), a writer with no reader gets
 * IPC_ENXIO. With IPC_NONBLOCK and timeout_ms >= 0 it waits like a blocking
 * open. The handle (*out, the caller's to close) is close-on-exec and
 * blocking unless IPC_NONBLOCK was given. Errors: IPC_EINVAL (bad flags,
 * NULL path, or something at path that is not a FIFO, which is then never
 * opened), IPC_ENOENT, IPC_EACCES, IPC_ENOTDIR, IPC_ENAMETOOLONG,
 * IPC_ENXIO, IPC_ETIMEDOUT, IPC_EINTR (a signal came while waiting; call
 * again with the time left), IPC_EMFILE, IPC_ENOMEM. *out is NULL on
 * failure. */
IPC_API int ipc_fifo_open(ipc_pipe_t **out, const char *path, int flags,
                          int timeout_ms);
/* Removes the FIFO at path; handles already open go on working. Only a
 * FIFO: IPC_EINVAL (and nothing removed) for anything else, a symbolic
 * link included. Also IPC_ENOENT, IPC_EACCES, IPC_EPERM, IPC_ENOTDIR. */
IPC_API int ipc_fifo_unlink(const char *path);

/* --------------------------------------------------- POSIX message queues
 *
 * A queue "/name" (see ipc_name_check) holds up to maxmsg messages of at most
 * msgsize bytes, each with a priority: the highest comes out first, equal
 * ones in the order sent. The handle owns the queue's descriptor, which is
 * close-on-exec and pollable (POLLIN: a message is there; POLLOUT: room for
 * one). Timeouts are measured on CLOCK_MONOTONIC as everywhere: a timed call
 * tries without waiting (8 times, yielding the CPU in between, for a peer
 * that answers at once), then waits in poll(2), so setting the system clock
 * neither stretches nor cuts it (the kernel's mq_timed* calls take a
 * CLOCK_REALTIME deadline). Waiting forever is the kernel's blocking call. */
typedef struct ipc_mq ipc_mq_t;

/* Priorities are 0 .. IPC_MQ_PRIO_MAX - 1. */
#define IPC_MQ_PRIO_MAX 32768

typedef struct ipc_mq_attr {
  long maxmsg;  /* messages the queue holds; 0 at create: the default */
  long msgsize; /* bytes of the largest message; 0 at create: the default */
  long curmsgs; /* messages in the queue now (ipc_mq_get_attr only) */
} ipc_mq_attr_t;

/* The system's limits on queues (the files of /proc/sys/fs/mqueue, and the
 * resource limit). A process with CAP_SYS_RESOURCE is bound by the kernel's
 * fixed HARD_MSGMAX (65536) and HARD_MSGSIZEMAX (16 MiB) instead of msg_max
 * and msgsize_max, and not by queues_max. */
typedef struct ipc_mq_limits {
  long msg_max;         /* largest maxmsg */
  long msgsize_max;     /* largest msgsize */
  long msg_default;     /* maxmsg when none is given */
  long msgsize_default; /* msgsize when none is given */
  long queues_max;      /* queues in the whole system */
  long long bytes_max;  /* RLIMIT_MSGQUEUE: bytes that all of this user's
                           queues may take (about maxmsg * (msgsize + 96)
                           each), -1 for no limit */
} ipc_mq_limits_t;

/* Creates the queue `name` exclusively and opens it for sending and
 * receiving. attr may be NULL (the system's defaults); its curmsgs is
 * ignored. mode 0 means 0600; the mode is exact, whatever the umask.
 * Returns 0, or IPC_EEXIST (the existing queue is untouched),
 * IPC_EINVAL (bad name, negative attributes, mode bits beyond 0777, or a
 * system limit: maxmsg above msg_max, msgsize above msgsize_max),
 * IPC_ENAMETOOLONG, IPC_EMFILE (RLIMIT_MSGQUEUE, or no descriptor left),
 * IPC_ENOSPC (queues_max), IPC_EACCES, IPC_ENOMEM. ipc_mq_which_limit tells
 * which limit refused it. On failure no queue is left behind. */
IPC_API int ipc_mq_create(ipc_mq_t **out, const char *name,
                          const ipc_mq_attr_t *attr, int mode);
/* Opens an existing queue. flags: 0 (send and receive), IPC_RDONLY (receive
 * only) or IPC_WRONLY (send only). Returns 0, IPC_ENOENT, IPC_EACCES,
 * IPC_EINVAL (bad name or flags), IPC_ENAMETOOLONG, IPC_EMFILE. */
IPC_API int ipc_mq_open(ipc_mq_t **out, const char *name, int flags);
/* Removes the name; handles already open go on working, and the queue goes
 * with the last of them. Returns 0, IPC_ENOENT, IPC_EACCES, IPC_EINVAL,
 * IPC_ENAMETOOLONG. */
IPC_API int ipc_mq_unlink(const char *name);
/* Closes the descriptor and frees the handle; never removes the name. NULL
 * is accepted. Returns 0, or the error close(2) reported. */
IPC_API int ipc_mq_close(ipc_mq_t *mq);

/* Sends len bytes (at most the queue's msgsize) with priority prio, waiting
 * for room up to the timeout. Returns 0; or IPC_EMSGSIZE (len > msgsize, at
 * once), IPC_EINVAL (prio >= IPC_MQ_PRIO_MAX), IPC_ETIMEDOUT (full),
 * IPC_EAGAIN (full, non-blocking mode), IPC_EINTR, IPC_EBADF (opened
 * IPC_RDONLY). */
IPC_API int ipc_mq_send(ipc_mq_t *mq, const void *msg, size_t len,
                        unsigned prio, int timeout_ms);
/* Takes the first message (highest priority, oldest) into buf and its
 * priority into *prio (prio may be NULL), waiting for one up to the
 * timeout. cap must be at least the queue's msgsize, even for a shorter
 * message (the kernel's rule). Returns the length; or IPC_EMSGSIZE (cap
 * below msgsize: the message stays), IPC_ETIMEDOUT, IPC_EAGAIN
 * (non-blocking mode), IPC_EINTR, IPC_EBADF (opened IPC_WRONLY). */
IPC_API ssize_t ipc_mq_receive(ipc_mq_t *mq, void *buf, size_t cap,
                               unsigned *prio, int timeout_ms);

/* The queue's maxmsg, msgsize and curmsgs. Returns 0 or -errno. */
IPC_API int ipc_mq_get_attr(const ipc_mq_t *mq, ipc_mq_attr_t *attr);
/* Sets or clears non-blocking mode (O_NONBLOCK of this descriptor): a send
 * or receive that would wait then returns IPC_EAGAIN at once, whatever its
 * timeout. Returns 0 or -errno. */
IPC_API int ipc_mq_set_blocking(ipc_mq_t *mq, int blocking);
/* 1 if the handle is in blocking mode, 0 if not, or -errno. */
IPC_API int ipc_mq_get_blocking(const ipc_mq_t *mq);
/* The descriptor, for poll/epoll; it stays owned by the handle. */
IPC_API int ipc_mq_fd(const ipc_mq_t *mq);
/* The name given at create or open ("/x"). */
IPC_API const char *ipc_mq_name(const ipc_mq_t *mq);

/* Reads the system's limits. Returns 0 or -errno (getrlimit). A /proc file
 * that cannot be read gives the kernel's default for it. */
IPC_API int ipc_mq_get_limits(ipc_mq_limits_t *lim);
/* Explains code, a failure of ipc_mq_create with attr: when a system limit
 * refused the queue, returns 1 with *limit set to its name and *value to its
 * value; otherwise 0 (*limit NULL). The names: "msg_max", "msgsize_max",
 * "queues_max" (files of /proc/sys/fs/mqueue), "HARD_MSGMAX",
 * "HARD_MSGSIZEMAX" (the kernel's ceilings), "RLIMIT_MSGQUEUE" (bytes per
 * user; IPC_EMFILE is blamed on it only while descriptors are left). */
IPC_API int ipc_mq_which_limit(int code, const ipc_mq_attr_t *attr,
                               const char **limit, long long *value);

/* ---------------------------------------------- System V message queues
 *
 * A queue is found by key (ipc_ftok) or by id, holds typed messages up to a
 * byte limit, and has no descriptor: it cannot be polled. Waiting forever
 * is the kernel's blocking call. The kernel has no timed call, so a timed
 * wait tries with IPC_NOWAIT: 32 times yielding the CPU in between, then
 * sleeping between tries, 50 us at first and doubling up to 1 ms; a message
 * that comes during the wait is taken at most about 1 ms later. A signal
 * gives IPC_EINTR when it interrupts one of those sleeps; one that comes
 * between them, like one that comes just before any blocking call, goes
 * unnoticed by the wait. A handle holds only the id: closing it leaves the
 * queue; ipc_msg_remove removes it. */
typedef struct ipc_msg ipc_msg_t;

/* Flag of ipc_msg_receive: a message longer than the buffer is cut to fit
 * (the rest is lost) instead of failing with IPC_E2BIG. */
#define IPC_MSG_NOERROR 0x1

typedef struct ipc_msg_stat {
  size_t count;        /* messages in the queue */
  size_t bytes;        /* bytes of message text in the queue */
  size_t max_bytes;    /* the queue's byte limit (msg_qbytes) */
  pid_t last_sender;   /* pid of the last send, 0 if none */
  pid_t last_receiver; /* pid of the last receive, 0 if none */
  int64_t send_time;   /* seconds since the epoch; 0 if never */
  int64_t receive_time;
  int64_t change_time; /* creation or the last set_max_bytes */
  key_t key;           /* IPC_PRIVATE for a private queue */
  uid_t uid;           /* owner */
  gid_t gid;
  int mode; /* permission bits */
} ipc_msg_stat_t;

/* The system's limits, from /proc/sys/kernel (the kernel's defaults when a
 * file cannot be read). */
typedef struct ipc_msg_limits {
  size_t max_message; /* msgmax: the largest message */
  size_t max_bytes;   /* msgmnb: a new queue's byte limit, and the highest
                         one a process without CAP_SYS_RESOURCE may set */
  long max_queues;    /* msgmni: queues in the system */
} ipc_msg_limits_t;

/* Creates a queue: key may be IPC_PRIVATE (always a new queue, found by
 * its id); any other key is created exclusively. mode 0 means 0600 (System V
 * applies no umask). Returns 0, IPC_EEXIST, IPC_EINVAL (mode bits beyond
 * 0777), IPC_ENOSPC (msgmni queues exist), IPC_ENOMEM. */
IPC_API int ipc_msg_create(ipc_msg_t **out, key_t key, int mode);
/* Opens an existing queue by key, or by id when key is IPC_PRIVATE.
 * Returns 0, IPC_ENOENT (no queue has the key), IPC_EINVAL (no queue has
 * the id, or id < 0), IPC_EACCES (by key, no permission at all), IPC_EIDRM,
 * IPC_ENOMEM. */
IPC_API int ipc_msg_open(ipc_msg_t **out, key_t key, int id);
/* Frees the handle; the queue stays. NULL is accepted. Returns 0. */
IPC_API int ipc_msg_close(ipc_msg_t *q);
/* Removes the queue (IPC_RMID) and every message in it; processes waiting
 * on it get IPC_EIDRM. Returns 0, IPC_EPERM (neither owner nor creator),
 * IPC_EINVAL or IPC_EIDRM (already gone). */
IPC_API int ipc_msg_remove(ipc_msg_t *q);
/* The queue's id and the key it was made or opened with (IPC_PRIVATE when
 * by id). */
IPC_API int ipc_msg_id(const ipc_msg_t *q);
IPC_API key_t ipc_msg_key(const ipc_msg_t *q);

/* Sends len bytes with type (> 0), waiting for room up to the timeout.
 * Returns 0; or IPC_EINVAL (type <= 0, at once, nothing sent),
 * IPC_EMSGSIZE (len above msgmax, or above the queue's byte limit: it could
 * never fit, so it is refused rather than waited for; the limit is read
 * when a message is longer than the last one read allowed, so one that
 * another process lowers afterwards is not seen), IPC_ETIMEDOUT (full),
 * IPC_EINTR, IPC_EACCES, IPC_EIDRM (the queue was removed), IPC_ENOMEM. */
IPC_API int ipc_msg_send(ipc_msg_t *q, long type, const void *msg, size_t len,
                         int timeout_ms);
/* Takes a message chosen by select: 0 the first in the queue, > 0 the first
 * of that type, < 0 the first of the lowest type <= -select. Copies its
 * text into buf (cap bytes) and its type into *type (type may be NULL),
 * waiting for one up to the timeout. flags: 0 or IPC_MSG_NOERROR. Returns
 * the length; or IPC_E2BIG (longer than cap without IPC_MSG_NOERROR: the
 * message stays in the queue), IPC_ETIMEDOUT, IPC_EINTR, IPC_EACCES,
 * IPC_EIDRM (removed while waiting or before), IPC_EINVAL (bad flags, no
 * such queue), IPC_ENOMEM. */
IPC_API ssize_t ipc_msg_receive(ipc_msg_t *q, void *buf, size_t cap,
                                long select, long *type, int flags,
                                int timeout_ms);
/* Fills *st (IPC_STAT). Returns 0, IPC_EACCES (no read permission),
 * IPC_EINVAL, IPC_EIDRM. */
IPC_API int ipc_msg_stat(const ipc_msg_t *q, ipc_msg_stat_t *st);
/* Sets the queue's byte limit (msg_qbytes, IPC_SET); owner and mode stay.
 * Returns 0, IPC_EINVAL (0), IPC_EPERM (not the owner, or above msgmnb
 * without CAP_SYS_RESOURCE), IPC_EACCES, IPC_EIDRM. */
IPC_API int ipc_msg_set_max_bytes(ipc_msg_t *q, size_t max_bytes);
/* Reads the system's limits. Returns 0. */
IPC_API int ipc_msg_get_limits(ipc_msg_limits_t *lim);
/* ---------------------------------------------------------------- sockets
 *
 * Unix (stream, datagram, seqpacket), TCP and UDP sockets behind one handle
 * type. Addresses are strings that say the kind of socket too:
 *   "unix:/path"  "unix:@name"        Unix stream ("@": abstract name)
 *   "unixgram:/path", "unixpacket:/path" (and "@name")  datagram, seqpacket
 *   "tcp:127.0.0.1:8080"  "tcp:[::1]:8080"  "udp:..."   TCP and UDP
 * Hosts are numeric (IPv4 dotted quad or bracketed IPv6): no name lookup,
 * which could block past any timeout. Port 0, or an empty abstract name
 * ("unix:@"), lets the kernel choose; ipc_sock_address tells what it chose.
 * A path longer than IPC_SOCK_PATH_MAX bytes gives IPC_ENAMETOOLONG (never
 * truncated); an abstract name containing a zero byte cannot be written.
 *
 * Every descriptor is close-on-exec. Data sockets stay in blocking mode (a
 * program they are handed to sees an ordinary socket); waits with a timeout
 * poll first, and calls with a timeout use MSG_DONTWAIT. Listeners are
 * non-blocking, so accept never sleeps past its deadline when another
 * process takes the connection first. Sending never raises SIGPIPE
 * (MSG_NOSIGNAL): a vanished peer gives IPC_EPIPE. */
typedef struct ipc_sock ipc_sock_t;

/* The kinds of socket, as the address scheme names them. */
typedef enum ipc_sock_type {
  IPC_SOCK_STREAM = 1,    /* unix:, tcp: */
  IPC_SOCK_DGRAM = 2,     /* unixgram:, udp: */
  IPC_SOCK_SEQPACKET = 3, /* unixpacket: */
} ipc_sock_type_t;

/* The longest Unix socket path or abstract name in bytes (sun_path less
 * its terminating zero). */
#define IPC_SOCK_PATH_MAX 107
/* Room for any address string ipc_sock_address writes, zero included. */
#define IPC_SOCK_ADDR_MAX 128
/* The most descriptors one message carries (the kernel's SCM_MAX_FD). */
#define IPC_SOCK_MAX_FDS 253

/* 0 if addr parses as a socket address; else IPC_EINVAL, or
 * IPC_ENAMETOOLONG for a path or abstract name over IPC_SOCK_PATH_MAX, and
 * *why (when why is not NULL) a static sentence saying what is wrong
 * ("the port must be a number from 0 to 65535"). Touches nothing. */
IPC_API int ipc_sock_addr_check(const char *addr, const char **why);

/* Options of ipc_sock_listen; zero them, then set what you need. */
typedef struct ipc_sock_opts {
  int backlog; /* pending connections for stream and seqpacket; 0: SOMAXCONN */
  int mode;    /* permission bits of a Unix socket file; 0 means 0600 */
  int reuse;   /* nonzero: a Unix socket file left by a dead listener (it
                  refuses connections) is removed and the path bound again.
                  Two processes doing so at once can both succeed, the
                  first losing its file: serialize them if that can happen */
} ipc_sock_opts_t;

/* Who is at the other end of a Unix socket (SO_PEERCRED): the process that
 * called connect or socketpair, as it was at that moment. */
typedef struct ipc_sock_cred {
  pid_t pid;
  uid_t uid;
  gid_t gid;
} ipc_sock_cred_t;

/* Binds a socket to addr and, for stream and seqpacket, listens. For
 * datagram addresses it only binds: the handle then receives with
 * ipc_sock_recvmsg and answers with ipc_sock_sendmsg. opts may be NULL.
 * TCP listeners set SO_REUSEADDR. A Unix socket file is made with mode
 * opts->mode (0600 by default) before anyone can connect; close never
 * removes it (ipc_sock_unlink does). Returns 0, or IPC_EINVAL (an address
 * that does not parse), IPC_ENAMETOOLONG, IPC_EADDRINUSE, IPC_EACCES,
 * IPC_ENOENT (no such directory), IPC_EADDRNOTAVAIL, IPC_EMFILE,
 * IPC_ENOMEM; on failure nothing is left behind (no socket file). */
IPC_API int ipc_sock_listen(ipc_sock_t **out, const char *addr,
                            const ipc_sock_opts_t *opts);
/* Connects to addr, waiting at most timeout_ms for the connection (TCP) or
 * for room in a full listen queue (Unix stream and seqpacket). A datagram
 * socket gets addr as its default destination, and a Unix one is bound to
 * an abstract name of the kernel's choosing, so that the other side can
 * answer. Returns 0, or IPC_ECONNREFUSED (nobody listens), IPC_ENOENT (no
 * such socket file), IPC_ETIMEDOUT, IPC_EINTR (no socket is left open, call
 * again), IPC_EINVAL, IPC_ENAMETOOLONG, IPC_EACCES, IPC_EMFILE, or another
 * connect(2) error such as -ENETUNREACH. */
IPC_API int ipc_sock_connect(ipc_sock_t **out, const char *addr,
                             int timeout_ms);
/* Takes the next connection from a listener; *out gets a blocking,
 * close-on-exec socket. A connection reset while it waited in the queue is
 * skipped. Returns 0, IPC_ETIMEDOUT, IPC_EINTR, IPC_EINVAL (not a
 * listener), IPC_EMFILE, IPC_ENFILE, IPC_ENOMEM. */
IPC_API int ipc_sock_accept(ipc_sock_t *listener, ipc_sock_t **out,
                            int timeout_ms);
/* Makes two connected Unix sockets of the given type (socketpair). Returns
 * 0, IPC_EINVAL (unknown type), IPC_EMFILE, IPC_ENFILE, IPC_ENOMEM; both
 * out-pointers are NULL on failure. */
IPC_API int ipc_sock_pair(ipc_sock_t **a, ipc_sock_t **b, int type);
/* Wraps a socket descriptor (which the handle then owns), such as one
 * received from another process. Its O_NONBLOCK flag is read, never
 * changed (the sender shares it). Returns 0, IPC_EBADF, IPC_ENOTSOCK,
 * IPC_ENOTSUP (a family other than Unix, IPv4, IPv6, or another type),
 * IPC_ENOMEM; on failure the descriptor is still the caller's. */
IPC_API int ipc_sock_from_fd(ipc_sock_t **out, int fd);
/* Closes the descriptor and frees the handle; never removes a socket file.
 * NULL is accepted. Returns 0 or what close(2) reported. */
IPC_API int ipc_sock_close(ipc_sock_t *s);
/* The descriptor, for poll/epoll; it stays owned by the handle. */
IPC_API int ipc_sock_fd(const ipc_sock_t *s);
/* IPC_SOCK_STREAM, IPC_SOCK_DGRAM or IPC_SOCK_SEQPACKET. */
IPC_API int ipc_sock_type(const ipc_sock_t *s);
/* 1 for a Unix socket, 0 for TCP and UDP. */
IPC_API int ipc_sock_is_unix(const ipc_sock_t *s);
/* 1 for a listener (made by ipc_sock_listen on a stream or seqpacket
 * address, or wrapped while listening), else 0. */
IPC_API int ipc_sock_is_listener(const ipc_sock_t *s);

/* Sends bytes. On a stream socket all n go out: returns n, or a short count
 * k > 0 when the time ran out or a signal came after k bytes (the next call
 * tells why). On a datagram or seqpacket socket the n bytes are one message
 * (n may be 0): returns n, or IPC_EMSGSIZE when it is too large to send.
 * Errors: IPC_ETIMEDOUT, IPC_EINTR, IPC_EPIPE (the peer is gone; no
 * SIGPIPE), IPC_ECONNRESET, IPC_ENOTCONN, IPC_EINVAL (a listener). */
IPC_API ssize_t ipc_sock_send(ipc_sock_t *s, const void *buf, size_t n,
                              int timeout_ms);
/* Receives bytes. On a stream socket: at most n bytes, those one read
 * returns once data arrives, or IPC_EOF when the peer has closed or shut
 * down its side. On a datagram or seqpacket socket: one whole message,
 * whose length is returned even when it is longer than n (then only its
 * first n bytes were stored and the rest is gone: check for a result > n);
 * IPC_EOF on a seqpacket socket whose peer has gone. Descriptors that came
 * with the data are closed (use ipc_sock_recvmsg to take them). Errors:
 * IPC_ETIMEDOUT, IPC_EINTR, IPC_ECONNRESET, IPC_EINVAL (a listener). */
IPC_API ssize_t ipc_sock_recv(ipc_sock_t *s, void *buf, size_t n,
                              int timeout_ms);

/* A message with descriptors and an address, for ipc_sock_sendmsg and
 * ipc_sock_recvmsg. Zero it, then set the fields you use. */
typedef struct ipc_sock_msg {
  void *data;     /* bytes to send, or room for those received */
  size_t len;     /* their count, or the room */
  int *fds;       /* descriptors to pass, or room for those received */
  size_t nfds;    /* their count, or the room; recvmsg sets how many came */
  char *addr;     /* NULL, or the destination of sendmsg ("udp:1.2.3.4:5"),
                     or room for the sender's address (recvmsg; a string, or
                     "" when the sender has none) */
  size_t addrcap; /* the room at addr (recvmsg): IPC_SOCK_ADDR_MAX suffices */
} ipc_sock_msg_t;

/* Sends m->data and passes m->fds (Unix sockets only, at most
 * IPC_SOCK_MAX_FDS; the caller keeps its copies) to m->addr, or to the
 * connected peer when addr is NULL. On a stream socket the descriptors
 * travel with the first byte, so len must be > 0; the read that returns
 * that byte returns them, and it may include earlier bytes but never later
 * ones. Returns as
 * ipc_sock_send, plus IPC_EBADF (a descriptor that is not open: nothing
 * was sent), IPC_EINVAL (descriptors on TCP/UDP, too many, or none with no
 * byte on a stream), an address error as for ipc_sock_connect. */
IPC_API ssize_t ipc_sock_sendmsg(ipc_sock_t *s, const ipc_sock_msg_t *m,
                                 int timeout_ms);
/* Receives as ipc_sock_recv, and also the descriptors that came with the
 * data (into m->fds, m->nfds set to their count; each is close-on-exec and
 * the caller's to close) and the sender's address (into m->addr). When
 * more descriptors came than m->nfds had room for, every one that arrived
 * is closed and the call returns IPC_EMSGSIZE (the bytes are lost too).
 * The kernel also does that when the process is out of descriptors. */
IPC_API ssize_t ipc_sock_recvmsg(ipc_sock_t *s, ipc_sock_msg_t *m,
                                 int timeout_ms);

/* How ipc_sock_shutdown ends a connection. */
#define IPC_SOCK_SHUT_RD 0x1 /* no more receiving */
#define IPC_SOCK_SHUT_WR 0x2 /* no more sending: the peer reads IPC_EOF */

/* Shuts down one or both directions (how: IPC_SOCK_SHUT_RD, _WR or both).
 * Returns 0, IPC_ENOTCONN, IPC_EINVAL (how). */
IPC_API int ipc_sock_shutdown(ipc_sock_t *s, int how);
/* Writes the socket's own address ("tcp:127.0.0.1:43512", "unix:/x", or
 * "unix:" when it has none) into buf, at most cap bytes with the zero, and
 * returns its full length as snprintf does (>= cap: cut short), or -errno.
 * An abstract name of another program may contain zero bytes: the length
 * counts them. */
IPC_API ssize_t ipc_sock_address(const ipc_sock_t *s, char *buf, size_t cap);
/* The same for the connected peer; IPC_ENOTCONN when there is none. */
IPC_API ssize_t ipc_sock_peer_address(const ipc_sock_t *s, char *buf,
                                      size_t cap);
/* The peer's credentials. Returns 0, IPC_ENOTSUP (not a Unix socket),
 * IPC_ENOTCONN. */
IPC_API int ipc_sock_peercred(const ipc_sock_t *s, ipc_sock_cred_t *cred);
/* Removes the socket file of a Unix path address ("unix:/x"; any Unix
 * scheme). Returns 0, IPC_ENOENT, IPC_ENOTSOCK (something other than a
 * socket is there: left alone), IPC_EACCES, IPC_EINVAL (not a Unix path
 * address: TCP, UDP, an abstract name), IPC_ENAMETOOLONG. */
IPC_API int ipc_sock_unlink(const char *addr);
/* ------------------------------------------------------ semaphores, locks
 *
 * POSIX semaphores, named ("/x", see ipc_name_check) or unnamed in a
 * shared-memory segment; System V semaphore sets; a robust process-shared
 * mutex in a segment. POSIX semaphores and the mutex have no descriptor to
 * poll (the kernel offers none: waiting is a futex). Their bytes are
 * glibc's sem_t and pthread_mutex_t, so every process sharing one must run
 * glibc on the same architecture (any version: both layouts are part of
 * glibc's ABI). A handle made from a segment maps the bytes it uses itself:
 * closing the ipc_shm_t first does not pull the memory from under it. */
typedef struct ipc_sem ipc_sem_t;
typedef struct ipc_semset ipc_semset_t;
typedef struct ipc_mutex ipc_mutex_t;

/* Bytes and alignment an unnamed semaphore or a mutex takes in a segment
 * (offsets passed below must be multiples of the alignment). */
#define IPC_SEM_SIZE 32
#define IPC_MUTEX_SIZE 64
#define IPC_SEM_ALIGN 8
#define IPC_MUTEX_ALIGN 8
/* The largest value of a POSIX semaphore (SEM_VALUE_MAX), and of one in a
 * System V set (SEMVMX). */
#define IPC_SEM_VALUE_MAX 2147483647
#define IPC_SEMSET_VALUE_MAX 32767

/* Creates the named semaphore `name` with `value` (<= IPC_SEM_VALUE_MAX),
 * exclusively, with exactly `mode` whatever the umask (0 means 0600).
 * Returns 0, or IPC_EEXIST (the existing one is untouched), IPC_EINVAL (bad
 * name, value, or mode bits beyond 0777), IPC_ENAMETOOLONG, IPC_EACCES,
 * IPC_ENOSPC, IPC_EMFILE, IPC_ENOMEM. Nothing is left behind on failure. */
IPC_API int ipc_sem_create(ipc_sem_t **out, const char *name, unsigned value,
                           int mode);
/* Opens an existing named semaphore. Returns 0, IPC_ENOENT, IPC_EACCES,
 * IPC_EINVAL (bad name, or a file under the name that cannot hold a
 * semaphore: not a regular file, or too small; it is never mapped),
 * IPC_ENAMETOOLONG, IPC_EMFILE, IPC_ENOMEM. */
IPC_API int ipc_sem_open(ipc_sem_t **out, const char *name);
/* Removes a semaphore's name; open handles go on working. Returns 0,
 * IPC_ENOENT, IPC_EACCES, IPC_EINVAL/IPC_ENAMETOOLONG. */
IPC_API int ipc_sem_unlink(const char *name);
/* Initialises an unnamed, process-shared semaphore with `value` at byte
 * `offset` of seg (IPC_SEM_SIZE bytes, aligned to IPC_SEM_ALIGN), for the
 * processes that map seg. Only while nobody uses the bytes: initialising a
 * semaphore that has waiters strands them. Returns 0, or IPC_EINVAL
 * (offset not aligned, value too large), IPC_ERANGE (the bytes are not all
 * inside seg), IPC_EACCES (seg is read-only), IPC_ENOMEM. */
IPC_API int ipc_sem_init(ipc_sem_t **out, ipc_shm_t *seg, size_t offset,
                         unsigned value);
/* A handle on the unnamed semaphore another process initialised at
 * `offset` of seg. Errors as ipc_sem_init, plus IPC_ECORRUPT when the bytes
 * cannot be a semaphore (a value above IPC_SEM_VALUE_MAX); zeroed bytes are
 * a valid semaphore of value 0. */
IPC_API int ipc_sem_attach(ipc_sem_t **out, ipc_shm_t *seg, size_t offset);
/* Frees the handle (and its mapping); never removes the name and never
 * destroys an unnamed semaphore. NULL is accepted. Returns 0. */
IPC_API int ipc_sem_close(ipc_sem_t *s);
/* Takes one (decrements), waiting while the value is 0. Returns 0,
 * IPC_ETIMEDOUT, IPC_EINTR. */
IPC_API int ipc_sem_wait(ipc_sem_t *s, int timeout_ms);
/* Takes one if the value is above 0, without waiting: 0 or IPC_EAGAIN. */
IPC_API int ipc_sem_trywait(ipc_sem_t *s);
/* Gives one (increments), waking a waiter. Returns 0, or IPC_EOVERFLOW
 * when the value is already IPC_SEM_VALUE_MAX (it is left as it was). */
IPC_API int ipc_sem_post(ipc_sem_t *s);
/* The current value (a snapshot), >= 0. */
IPC_API int ipc_sem_value(ipc_sem_t *s);
/* The name ("/x"), or NULL for an unnamed semaphore. */
IPC_API const char *ipc_sem_name(const ipc_sem_t *s);

/* One operation of ipc_semset_op, laid out as struct sembuf (semop(2)):
 * adds `op` to semaphore `num` (op < 0 waits until the value is at least
 * -op; op == 0 waits until it is 0). flags: 0, IPC_SEM_UNDO (the kernel
 * reverts the operation when the process ends, however it ends), and
 * IPC_NOWAIT (from <sys/ipc.h>: IPC_EAGAIN instead of waiting). */
typedef struct ipc_semop {
  unsigned short num;
  short op;
  short flags;
} ipc_semop_t;
#define IPC_SEM_UNDO 0x1000 /* SEM_UNDO */

/* A set, as IPC_STAT and GETVAL/GETPID/GETNCNT/GETZCNT tell it. */
typedef struct ipc_semset_stat {
  int nsems;       /* semaphores in the set */
  int mode;        /* permission bits */
  uid_t uid, cuid; /* owner, creator */
  gid_t gid, cgid;
  int64_t otime; /* last semop, seconds since the epoch (0: never) */
  int64_t ctime; /* creation or last change by semctl */
} ipc_semset_stat_t;
typedef struct ipc_semset_sem {
  int value;
  pid_t pid; /* the process of the last operation on it (0: none) */
  int ncnt;  /* processes waiting for the value to grow */
  int zcnt;  /* processes waiting for it to be 0 */
} ipc_semset_sem_t;

/* Creates a set of nsems semaphores, exclusively unless key is IPC_PRIVATE
 * (always new), with exactly `mode` (0 means 0600), and initialises them
 * to values[0..nsems) (NULL: all 0) so that no opener ever sees them
 * uninitialised: the values are set, then a first semop marks the set
 * ready (sem_otime != 0), which ipc_semset_open waits for. Returns 0, or
 * IPC_EEXIST, IPC_EINVAL (nsems < 1 or above the system's SEMMSL, a value
 * outside 0..IPC_SEMSET_VALUE_MAX, mode bits beyond 0777), IPC_ENOSPC (the
 * system's limit of sets or semaphores), IPC_EACCES, IPC_ENOMEM. On failure
 * the set is removed again. */
IPC_API int ipc_semset_create(ipc_semset_t **out, key_t key, int nsems,
                              const int *values, int mode);
/* Opens an existing set by key, or by id when key is IPC_PRIVATE and
 * id >= 0, then waits up to timeout_ms until its creator has initialised it
 * (sem_otime != 0; a set made elsewhere must have seen one semop). Returns
 * 0, IPC_ENOENT (no such key), IPC_EINVAL (no such id), IPC_EACCES,
 * IPC_EIDRM, IPC_ETIMEDOUT (never initialised: its creator may have died),
 * IPC_EINTR, IPC_ENOMEM. */
IPC_API int ipc_semset_open(ipc_semset_t **out, key_t key, int id,
                            int timeout_ms);
/* Performs ops[0..n) atomically: all of them or, while any would wait,
 * none. Waits at most timeout_ms (semtimedop). Returns 0, or IPC_ETIMEDOUT,
 * IPC_EAGAIN (an op had IPC_NOWAIT), IPC_EINTR (nothing done), IPC_EOVERFLOW
 * (a value, or an undo total, would pass IPC_SEMSET_VALUE_MAX: the kernel's
 * ERANGE), IPC_EFBIG (num out of range), IPC_E2BIG (n above the system's
 * SEMOPM), IPC_EINVAL (n == 0, unknown flags, or the set was removed),
 * IPC_EIDRM (removed while waiting), IPC_EACCES, IPC_ENOSPC (undo
 * structures), IPC_ENOMEM. */
IPC_API int ipc_semset_op(ipc_semset_t *set, const ipc_semop_t *ops, size_t n,
                          int timeout_ms);
/* The value of semaphore num (>= 0), and, when info is not NULL, its value,
 * last pid and waiter counts (each read by its own semctl: not one
 * snapshot). Errors: IPC_EINVAL (num out of range, set removed),
 * IPC_EIDRM, IPC_EACCES. */
IPC_API int ipc_semset_get(ipc_semset_t *set, int num, ipc_semset_sem_t *info);
/* Sets semaphore num to value (SETVAL), waking whoever that lets through,
 * and clears every process's undo total for it. Returns 0, IPC_ERANGE
 * (value outside 0..IPC_SEMSET_VALUE_MAX), IPC_EINVAL, IPC_EIDRM,
 * IPC_EACCES. */
IPC_API int ipc_semset_set(ipc_semset_t *set, int num, int value);
/* Fills *st (IPC_STAT). Returns 0, IPC_EINVAL/IPC_EIDRM (removed),
 * IPC_EACCES. */
IPC_API int ipc_semset_stat(ipc_semset_t *set, ipc_semset_stat_t *st);
/* Removes the set at once (IPC_RMID): waiters get IPC_EIDRM, later calls
 * IPC_EINVAL. Returns 0, IPC_EPERM, IPC_EINVAL (already removed). */
IPC_API int ipc_semset_remove(ipc_semset_t *set);
/* Frees the handle; never removes the set. NULL is accepted. Returns 0. */
IPC_API int ipc_semset_close(ipc_semset_t *set);
/* The System V id, and the number of semaphores in the set. */
IPC_API int ipc_semset_id(const ipc_semset_t *set);
IPC_API int ipc_semset_count(const ipc_semset_t *set);

/* A robust, process-shared mutex of IPC_MUTEX_SIZE bytes at byte `offset`
 * of seg (aligned to IPC_MUTEX_ALIGN). It is owned by the thread that locked
 * it. When that thread ends holding it (its process killed, say), the
 * kernel marks it, and the next locker gets IPC_EOWNERDEAD with the lock
 * held: it repairs the data, calls ipc_mutex_consistent, then unlocks.
 * Unlocked without that, the mutex is not recoverable: every later lock
 * gets IPC_ENOTRECOVERABLE until it is initialised again. */

/* Initialises the mutex (unlocked) at offset. Only while nobody uses the
 * bytes. Returns 0, or IPC_EINVAL (offset not aligned), IPC_ERANGE (not
 * all inside seg), IPC_EACCES (seg is read-only), IPC_ENOMEM. */
IPC_API int ipc_mutex_init(ipc_mutex_t **out, ipc_shm_t *seg, size_t offset);
/* A handle on the mutex another process initialised at offset. Errors as
 * ipc_mutex_init, plus IPC_ECORRUPT when the bytes hold no mutex made by
 * ipc_mutex_init (or one of another layout). */
IPC_API int ipc_mutex_attach(ipc_mutex_t **out, ipc_shm_t *seg, size_t offset);
/* Locks, waiting at most timeout_ms. Returns 0; IPC_EOWNERDEAD (the lock
 * IS held: see above); IPC_ETIMEDOUT; IPC_EINTR (a signal came while
 * waiting: not held, call again); IPC_EDEADLK (this thread holds it
 * already); IPC_ENOTRECOVERABLE; IPC_ECORRUPT (the bytes no longer hold
 * the mutex). */
IPC_API int ipc_mutex_lock(ipc_mutex_t *m, int timeout_ms);
/* Marks the mutex, taken with IPC_EOWNERDEAD, consistent again. Returns 0,
 * IPC_EPERM (this thread does not hold it), IPC_EINVAL (it is not in that
 * state). */
IPC_API int ipc_mutex_consistent(ipc_mutex_t *m);
/* Unlocks. Returns 0, or IPC_EPERM when this thread does not hold it (the
 * mutex is left as it was). */
IPC_API int ipc_mutex_unlock(ipc_mutex_t *m);
/* Who holds it: the holder's thread id (> 0, in its own pid namespace), 0
 * when nobody does, IPC_EOWNERDEAD when its holder ended holding it and
 * nobody has locked it since. A snapshot. */
IPC_API pid_t ipc_mutex_owner(const ipc_mutex_t *m);
/* Frees the handle. When the calling thread still holds the mutex, the
 * handle's mapping is deliberately left in place (glibc keeps the mutexes
 * a thread holds linked through their own bytes, and unmapping one would
 * corrupt that list): the lock stays held until this thread unlocks it
 * through another handle or ends (the next locker then gets
 * IPC_EOWNERDEAD), and the call returns IPC_EBUSY. NULL is accepted.
 * Returns 0 otherwise. */
IPC_API int ipc_mutex_close(ipc_mutex_t *m);

/* ---------------------------------------------------------------- signals
 *
 * The only process-wide state of libipc: which receivers handle which
 * signal. A receiver (ipc_sigqueue_t; the Lua module makes one per
 * lua_State) gets a record of each signal it handles in a bounded lock-free
 * queue, and has an eventfd that is readable while records are pending: its
 * owner takes them at a point of its choosing, where any code may run. The
 * C handler itself only records (async-signal-safe) and then calls the
 * handler the host had installed before, if any. It is installed with
 * SA_SIGINFO and without SA_RESTART, so a blocking call that it interrupts
 * fails with EINTR (IPC_EINTR from libipc's waits).
 *
 * Signals are the numbers 1..IPC_SIG_MAX. SIGKILL and SIGSTOP can be neither
 * handled, ignored nor blocked, and the two signals below SIGRTMIN that
 * glibc keeps for its threads (32 and 33) are refused everywhere: IPC_EINVAL.
 * Sets are uint64_t bit masks, bit (sig - 1), so that FFI and ctypes callers
 * pass plain integers: IPC_SIGBIT(SIGINT) | IPC_SIGBIT(SIGTERM).
 */
#define IPC_SIG_MAX 64
#define IPC_SIGBIT(sig) (UINT64_C(1) << ((sig)-1))

typedef struct ipc_sigqueue ipc_sigqueue_t;
typedef struct ipc_sigfd ipc_sigfd_t;

/* What is known of one signal, from its siginfo_t. Fields that the signal's
 * code does not carry are 0. */
typedef struct ipc_siginfo {
  int signo;     /* the signal */
  int code;      /* si_code: SI_USER (kill), SI_QUEUE (sigqueue), SI_TKILL
                    (raise), SI_KERNEL, CLD_EXITED, ... (<signal.h>) */
  int pid;       /* the sender (SI_USER, SI_QUEUE, SI_TKILL), or the child
                    (SIGCHLD) */
  int uid;       /* the sender's real uid, or the child's */
  int status;    /* SIGCHLD: the exit code (CLD_EXITED) or the signal */
  int errno_;    /* si_errno (rarely set) */
  int64_t value; /* SI_QUEUE, SI_TIMER, SI_MESGQ: the 64 bits of si_value.
                    ipc_signal_queue sets all of them; a sender that set only
                    sival_int leaves the upper half unspecified: use
                    (int32_t)value then */
} ipc_siginfo_t;

/* A receiver's counters (ipc_sigqueue_stats). */
typedef struct ipc_sigqueue_stats {
  uint64_t recorded;                 /* records queued since creation */
  uint64_t taken;                    /* records taken */
  uint64_t dropped[IPC_SIG_MAX + 1]; /* [sig]: records lost because the
                                        queue was full; [0]: all of them */
  uint64_t handled;                  /* the set of signals it handles */
  unsigned capacity;                 /* records it holds */
  unsigned pending;                  /* records waiting to be taken */
} ipc_sigqueue_stats_t;

/* Makes a receiver holding up to `capacity` records (rounded up to a power
 * of two; 0 means 1024; at most 1 << 20). Returns 0, IPC_EINVAL (capacity
 * too large), IPC_ENOMEM, IPC_EMFILE/IPC_ENFILE (the eventfd). */
IPC_API int ipc_sigqueue_create(ipc_sigqueue_t **out, unsigned capacity);
/* Removes every registration of q (each signal that no receiver handles
 * any more gets back the disposition it had before, see
 * ipc_signal_unhandle), waits until no handler running on another thread
 * is still writing into q, closes its eventfd and frees it. NULL is
 * accepted. Returns 0. */
IPC_API int ipc_sigqueue_close(ipc_sigqueue_t *q);
/* The eventfd (EFD_NONBLOCK, close-on-exec), owned by q: readable while
 * records are pending. Only ipc_sigqueue_take drains it. A child made by
 * fork gets its own (same descriptor number), so parent and child never
 * take each other's wake-ups. */
IPC_API int ipc_sigqueue_fd(const ipc_sigqueue_t *q);
/* Takes up to n records, oldest first (the order in which the handler
 * claimed them, which for one signal number is the order the kernel
 * delivered them), into out. Returns how many (0 when none is pending);
 * drains the eventfd when it leaves the queue empty. One thread at a time
 * may take from q. */
IPC_API size_t ipc_sigqueue_take(ipc_sigqueue_t *q, ipc_siginfo_t *out,
                                 size_t n);
/* Records waiting (a snapshot; a record being written counts). Cheap: no
 * system call, for a check every few thousand instructions. */
IPC_API unsigned ipc_sigqueue_pending(const ipc_sigqueue_t *q);
/* Fills *st. Returns 0. */
IPC_API int ipc_sigqueue_stats(const ipc_sigqueue_t *q,
                               ipc_sigqueue_stats_t *st);

/* Makes q receive signal sig (flags: 0). Several receivers may handle the
 * same signal (up to 8): each gets every record. The first one saves the
 * disposition in place and installs libipc's handler; when the saved one
 * was a function (a host's handler), libipc's handler calls it after
 * recording, with the same arguments and convention (sa_handler or
 * sa_sigaction), under the host's sa_mask; for SIGCHLD it keeps the host's
 * SA_NOCLDSTOP. The handler never reaps a child. A fault (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGTRAP sent by the kernel for an instruction) is not
 * recorded: it goes to the saved disposition, and with none the default
 * action kills the process as it would have. Handling it again is a no-op.
 * Returns 0, IPC_EINVAL (not 1..64, SIGKILL, SIGSTOP, 32, 33, flags),
 * IPC_ENOSPC (8 receivers handle sig already). */
IPC_API int ipc_signal_handle(ipc_sigqueue_t *q, int sig, int flags);
/* Stops q receiving sig. When no receiver handles it any more and libipc's
 * handler is still the disposition, the disposition it replaced comes back
 * exactly (sa_handler or sa_sigaction, flags, mask); if the host installed
 * another since, that one is left alone. Returns 0 (also when q did not
 * handle sig), IPC_EINVAL. */
IPC_API int ipc_signal_unhandle(ipc_sigqueue_t *q, int sig);
/* Sets the disposition of sig to SIG_IGN or SIG_DFL, process-wide, after
 * removing q's own registration (q may be NULL). The disposition in place
 * at libipc's first change of sig is saved for ipc_signal_restore. Returns
 * 0, IPC_EINVAL, IPC_EBUSY (another receiver still handles sig: nothing
 * changed). Ignoring SIGCHLD makes the kernel reap children itself (their
 * ipc_proc_wait then gives IPC_ECHILD). */
IPC_API int ipc_signal_ignore(ipc_sigqueue_t *q, int sig);
IPC_API int ipc_signal_default(ipc_sigqueue_t *q, int sig);
/* Puts back the disposition saved at libipc's first change of sig
 * (ipc_signal_handle, _ignore or _default), whatever happened since, and
 * forgets it, after removing q's registration (q may be NULL). Returns 0
 * (also when nothing was saved: nothing changes), IPC_EINVAL, IPC_EBUSY
 * (another receiver still handles sig: nothing changed). */
IPC_API int ipc_signal_restore(ipc_sigqueue_t *q, int sig);

/* kill(2): sends sig to pid (> 0), to a process group (0: ours, < -1: the
 * group -pid) or to every process we may signal (-1). sig 0 sends nothing
 * and only checks that pid exists and may be signalled. Returns 0,
 * IPC_EINVAL, IPC_ESRCH, IPC_EPERM. */
IPC_API int ipc_signal_kill(pid_t pid, int sig);
/* Sends sig to the calling thread (raise(3)); a handler, ours included,
 * has run when it returns unless sig is blocked. Returns 0, IPC_EINVAL. */
IPC_API int ipc_signal_raise(int sig);
/* sigqueue(3): sends sig with `value` to process pid (> 0). Real-time
 * signals queue up (to RLIMIT_SIGPENDING: then IPC_EAGAIN); the others
 * merge with one already pending. Returns 0, IPC_EINVAL, IPC_ESRCH,
 * IPC_EPERM, IPC_EAGAIN. */
IPC_API int ipc_signal_queue(pid_t pid, int sig, int64_t value);

/* The calling thread's signal mask (pthread_sigmask): block adds the set,
 * unblock removes it; both store the mask as it was in *old (may be NULL).
 * Returns 0, IPC_EINVAL (a bit outside 1..64, SIGKILL, SIGSTOP, 32, 33). */
IPC_API int ipc_signal_block(uint64_t set, uint64_t *old);
IPC_API int ipc_signal_unblock(uint64_t set, uint64_t *old);
/* The calling thread's mask, and the signals pending for the thread or the
 * process (sigpending). Return 0. */
IPC_API int ipc_signal_mask(uint64_t *set);
IPC_API int ipc_signal_pending(uint64_t *set);
/* Takes one signal of `set` that is pending, waiting up to timeout_ms for
 * one (sigtimedwait); its record goes into *out (may be NULL). Block the
 * set first (ipc_signal_block): a signal of the set that comes while it is
 * not blocked and not being waited for goes to its disposition instead.
 * Returns the signal, IPC_ETIMEDOUT, IPC_EINTR (another signal's handler
 * ran), IPC_EINVAL (empty set, or a bit as for ipc_signal_block). */
IPC_API int ipc_signal_wait(uint64_t set, int timeout_ms, ipc_siginfo_t *out);

/* The number of a signal name: "INT", "SIGINT", "int", "sigint" (any case,
 * with or without "SIG"), the aliases "IOT", "CLD", "POLL", "RTMIN",
 * "RTMIN+3", "RTMAX-2", or a decimal number ("10"). Returns 1..64, or
 * IPC_EINVAL for anything else (0 included). */
IPC_API int ipc_signal_number(const char *name);
/* Writes the canonical name of sig into buf (at most n bytes with the
 * zero): "INT", "USR1", "RTMIN", "RTMIN+3", "RTMAX-2" (as bash's kill -l:
 * RTMIN+k up to the middle of the range, RTMAX-k above), or the decimal
 * number for 32 and 33. Returns its length as snprintf does, or IPC_EINVAL
 * when sig is not 1..64. */
IPC_API int ipc_signal_name(int sig, char *buf, size_t n);

/* A signalfd(2) for set: the way to see signals from an event loop without
 * any handler. Blocks the set in the calling thread (signalfd only sees
 * blocked signals); ipc_sigfd_close on the same thread unblocks what this
 * handle blocked once no other sigfd of that thread needs it. A signal
 * that is blocked is not given to handlers: a signal both handled and in a
 * sigfd's set goes to the sigfd. Returns 0, IPC_EINVAL (empty set, bits as
 * for ipc_signal_block), IPC_EMFILE, IPC_ENFILE, IPC_ENOMEM. */
IPC_API int ipc_sigfd_open(ipc_sigfd_t **out, uint64_t set);
/* Reads one signal, waiting up to timeout_ms. Returns the signal (and fills
 * *out, which may be NULL), IPC_ETIMEDOUT, IPC_EINTR. */
IPC_API int ipc_sigfd_read(ipc_sigfd_t *h, ipc_siginfo_t *out, int timeout_ms);
/* The descriptor (non-blocking, close-on-exec, owned by h): readable while
 * a signal of the set is pending. */
IPC_API int ipc_sigfd_fd(const ipc_sigfd_t *h);
/* The set given to ipc_sigfd_open. */
IPC_API uint64_t ipc_sigfd_set(const ipc_sigfd_t *h);
/* Closes the descriptor and frees h; see ipc_sigfd_open for the mask (a
 * handle closed on another thread leaves masks alone). NULL is accepted.
 * Returns 0. */
IPC_API int ipc_sigfd_close(ipc_sigfd_t *h);

#ifdef __cplusplus
}
#endif
#endif /* IPC_H */
