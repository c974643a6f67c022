/* proc.c: child processes: fork, posix_spawn with pipes on the standard
 * streams, waiting with a timeout, signals, exit status.
 * Each handle holds a pidfd: waits sleep in poll(2) on it (no busy loop, no
 * SIGCHLD handler needed) and signals go through it, so a recycled pid is
 * never hit. */
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct ipc_proc {
  pid_t pid;
  int pidfd; /* -1 when the kernel could not give one (child auto-reaped) */
  ipc_proc_status_t status;
  ipc_pipe_t *stdio[3]; /* the parent's ends, until taken */
};

static int pidfd_open_cloexec(pid_t pid) {
  /* pidfd_open(2) descriptors are always close-on-exec. */
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -errno : fd;
}

static ipc_proc_t *proc_new(void) {
  ipc_proc_t *proc = calloc(1, sizeof *proc);
  if (proc) {
    proc->pid = -1;
    proc->pidfd = -1;
    proc->status.state = IPC_PROC_RUNNING;
  }
  return proc;
}

/* Attaches the pidfd of a child that exists. If SIGCHLD is ignored the
 * kernel may have reaped it already: then there is no pidfd, and a later
 * wait reports ECHILD. */
static void proc_attach(ipc_proc_t *proc, pid_t pid) {
  proc->pid = pid;
  int fd = pidfd_open_cloexec(pid);
  proc->pidfd = fd >= 0 ? fd : -1;
}

pid_t ipc_proc_fork(ipc_proc_t **out) {
  /* Allocate first: after fork() the parent has nothing left that can fail
   * and leave a child without a handle. */
  ipc_proc_t *proc = proc_new();
  *out = NULL;
  if (!proc)
    return IPC_ENOMEM;
  pid_t pid = fork();
  if (pid < 0) {
    int rc = -errno;
    free(proc);
    return rc;
  }
  if (pid == 0) {
    free(proc);
    return 0;
  }
  proc_attach(proc, pid);
  *out = proc;
  return pid;
}

int ipc_proc_from_pid(ipc_proc_t **out, pid_t pid) {
  *out = NULL;
  if (pid <= 0)
    return IPC_EINVAL;
  /* WNOWAIT peeks without reaping: ECHILD tells "not our child". */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return -errno;
  ipc_proc_t *proc = proc_new();
  if (!proc)
    return IPC_ENOMEM;
  proc_attach(proc, pid);
  *out = proc;
  return 0;
}

/* posix_spawn setup for stream i; `child_end` receives a pipe end that the
 * parent must close after the spawn. */
static int stdio_action(posix_spawn_file_actions_t *fa, int i, ipc_stdio_t how,
                        int fd, int parent_end_fd[3], int *child_end) {
  int fds[2];
  switch (how) {
  case IPC_STDIO_INHERIT:
    return 0;
  case IPC_STDIO_NULL:
    return -posix_spawn_file_actions_addopen(fa, i, "/dev/null",
                                             i == 0 ? O_RDONLY : O_WRONLY, 0);
  case IPC_STDIO_FD:
    if (fd < 0)
      return IPC_EBADF;
    /* dup2 onto itself clears close-on-exec in glibc's posix_spawn. */
    return -posix_spawn_file_actions_adddup2(fa, fd, i);
  case IPC_STDIO_PIPE:
    if (pipe2(fds, O_CLOEXEC) < 0)
      return -errno;
    /* stdin: the child reads fds[0]; stdout/stderr: the child writes fds[1] */
    parent_end_fd[i] = i == 0 ? fds[1] : fds[0];
    *child_end = i == 0 ? fds[0] : fds[1];
    return -posix_spawn_file_actions_adddup2(fa, *child_end, i);
  }
  return IPC_EINVAL;
}

/* Signals in the child start at their defaults and unblocked, whatever the
 * parent (a shell, a host with its own handlers) had set up. */
static int spawn_attr_init(posix_spawnattr_t *attr) {
  sigset_t all, none;
  int rc = posix_spawnattr_init(attr);
  if (rc)
    return -rc;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(attr, &all);
  posix_spawnattr_setsigmask(attr, &none);
  posix_spawnattr_setflags(attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  return 0;
}

pid_t ipc_proc_spawn(ipc_proc_t **out, const char *const argv[],
                     const ipc_spawn_opts_t *opts) {
  static const ipc_spawn_opts_t defaults = {.search_path = 1};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int parent_end[3] = {-1, -1, -1};
  int child_end[3] = {-1, -1, -1};
  ipc_proc_t *proc = NULL;
  pid_t pid = -1;
  int rc, i;

  *out = NULL;
  if (!argv || !argv[0] || !argv[0][0])
    return IPC_EINVAL;
  if (!opts)
    opts = &defaults;
  for (i = 0; i < 3; i++)
    if ((unsigned)opts->stdio[i] > IPC_STDIO_FD)
      return IPC_EINVAL;
  if (!(proc = proc_new()))
    return IPC_ENOMEM;
  if ((rc = -posix_spawn_file_actions_init(&fa)) < 0) {
    free(proc);
    return rc;
  }
  if ((rc = spawn_attr_init(&attr)) < 0) {
    posix_spawn_file_actions_destroy(&fa);
    free(proc);
    return rc;
  }
  for (i = 0; i < 3; i++) {
    rc = stdio_action(&fa, i, opts->stdio[i], opts->fd[i], parent_end,
                      &child_end[i]);
    if (rc < 0)
      goto fail;
  }
  if (opts->cwd && (rc = -posix_spawn_file_actions_addchdir_np(&fa, opts->cwd)))
    goto fail;
  for (i = 0; i < 3; i++) {
    if (parent_end[i] >= 0 &&
        (rc = ipc_pipe_from_fd(&proc->stdio[i], parent_end[i], i == 0)) < 0)
      goto fail;
    parent_end[i] = -1; /* the handle owns it now */
  }

  char *const *envp = opts->envp ? opts->envp : environ;
  /* posix_spawn reports exec failures (ENOENT, EACCES, ...) as its result,
   * and glibc reaps the failed child itself: no zombie is left. */
  if (opts->search_path)
    rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
  else
    rc = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
  rc = -rc;
  if (rc < 0)
    goto fail;
  proc_attach(proc, pid);
  *out = proc;

fail:
  for (i = 0; i < 3; i++) {
    if (child_end[i] >= 0)
      close(child_end[i]);
    if (parent_end[i] >= 0)
      close(parent_end[i]);
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc < 0) {
    ipc_proc_close(proc);
    return rc;
  }
  return pid;
}

ipc_pipe_t *ipc_proc_take_stdio(ipc_proc_t *proc, int i) {
  if (i < 0 || i > 2)
    return NULL;
  ipc_pipe_t *p = proc->stdio[i];
  proc->stdio[i] = NULL;
  return p;
}

pid_t ipc_proc_pid(const ipc_proc_t *proc) { return proc->pid; }

int ipc_proc_fd(const ipc_proc_t *proc) { return proc->pidfd; }

void ipc_proc_status(const ipc_proc_t *proc, ipc_proc_status_t *status) {
  *status = proc->status;
}

static void status_from_siginfo(ipc_proc_status_t *st, const siginfo_t *si) {
  memset(st, 0, sizeof *st);
  if (si->si_code == CLD_EXITED) {
    st->state = IPC_PROC_EXITED;
    st->code = si->si_status;
  } else {
    st->state = IPC_PROC_SIGNALED;
    st->signal = si->si_status;
    st->core_dumped = si->si_code == CLD_DUMPED;
  }
}

int ipc_proc_wait(ipc_proc_t *proc, ipc_proc_status_t *status, int timeout_ms) {
  int64_t deadline = ipc__deadline(timeout_ms);
  while (proc->status.state == IPC_PROC_RUNNING) {
    int flags = WEXITED;
    if (deadline != IPC__NO_DEADLINE) {
      if (proc->pidfd >= 0) {
        int rc = ipc__wait_fd(proc->pidfd, POLLIN, deadline);
        if (rc < 0)
          return rc;
      }
      flags |= WNOHANG;
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)proc->pid, &si, flags) < 0)
      return -errno; /* EINTR (forever waits) or ECHILD */
    if (si.si_pid == 0) {
      /* Not yet: only possible without a pidfd to sleep on. */
      if (ipc__remaining_ms(deadline) == 0)
        return IPC_ETIMEDOUT;
      if (proc->pidfd < 0)
        return IPC_ECHILD;
      continue;
    }
    status_from_siginfo(&proc->status, &si);
  }
  if (status)
    *status = proc->status;
  return 0;
}

int ipc_proc_kill(ipc_proc_t *proc, int sig) {
  if (sig < 0 || sig >= NSIG)
    return IPC_EINVAL;
  if (proc->status.state != IPC_PROC_RUNNING)
    return IPC_ESRCH; /* reaped: the pid may belong to someone else now */
  int r = proc->pidfd >= 0
              ? (int)syscall(SYS_pidfd_send_signal, proc->pidfd, sig, NULL, 0)
              : kill(proc->pid, sig);
  return r < 0 ? -errno : 0;
}

int ipc_proc_close(ipc_proc_t *proc) {
  if (!proc)
    return 0;
  if (proc->pidfd >= 0)
    close(proc->pidfd);
  for (int i = 0; i < 3; i++)
    ipc_pipe_close(proc->stdio[i]);
  free(proc);
  return 0;
}
