/* pipe_worker.c: a parent forks a worker, sends it lines through one pipe
 * and reads the answers, upper-cased, from another; then it closes its end
 * (the worker sees end of file and exits) and reports the exit status.
 * Every libipc call returns a negative code on failure: ipc_strerror says it.
 */
#include <ipc.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, long code) {
  fprintf(stderr, "pipe_worker: %s: %s\n", what, ipc_strerror((int)code));
  return 1;
}

/* The worker's loop: a line in, the same line upper-cased out, until the
 * parent closes its end. Returns 0 at end of file or the error. */
static int worker(ipc_pipe_t *in, ipc_pipe_t *out) {
  const char *line;
  char upper[256];
  ssize_t n;
  /* At most sizeof upper bytes at a time: a longer line comes in pieces. */
  while ((n = ipc_pipe_read_until(in, '\n', sizeof upper, &line, IPC_FOREVER)) >
         0) {
    for (ssize_t i = 0; i < n; i++)
      upper[i] = (char)toupper((unsigned char)line[i]);
    ssize_t w = ipc_pipe_write(out, upper, (size_t)n, IPC_FOREVER);
    if (w < 0)
      return (int)w;
  }
  return n == IPC_EOF ? 0 : (int)n;
}

int main(void) {
  static const char *const lines[] = {"hello, worker\n", "pipes carry bytes\n",
                                      "goodbye\n"};
  ipc_pipe_t *req_r, *req_w, *rep_r, *rep_w;
  ipc_proc_t *child;
  int rc;

  if ((rc = ipc_pipe_create(&req_r, &req_w, 0)) < 0)
    return fail("pipe", rc);
  if ((rc = ipc_pipe_create(&rep_r, &rep_w, 0)) < 0)
    return fail("pipe", rc);

  fflush(stdout); /* or the child would print our buffered output again */
  pid_t pid = ipc_proc_fork(&child);
  if (pid < 0)
    return fail("fork", pid);
  if (pid == 0) {
    /* The worker keeps only its own ends, so that the parent's close is
     * the end of file it waits for. */
    ipc_pipe_close(req_w);
    ipc_pipe_close(rep_r);
    rc = worker(req_r, rep_w);
    if (rc < 0)
      fail("worker", rc);
    _exit(rc < 0 ? 1 : 0);
  }
  ipc_pipe_close(req_r);
  ipc_pipe_close(rep_w);

  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    const char *reply;
    ssize_t n = ipc_pipe_write(req_w, lines[i], strlen(lines[i]), 5000);
    if (n < 0)
      return fail("write", n);
    n = ipc_pipe_read_until(rep_r, '\n', SIZE_MAX, &reply, 5000);
    if (n < 0)
      return fail("read", n);
    printf("sent %-20.*s got %.*s", (int)strlen(lines[i]) - 1, lines[i], (int)n,
           reply);
  }

  ipc_pipe_close(req_w); /* end of file for the worker */
  ipc_proc_status_t st;
  if ((rc = ipc_proc_wait(child, &st, 5000)) < 0)
    return fail("wait", rc);
  if (st.state == IPC_PROC_EXITED)
    printf("worker %d exited with code %d\n", (int)pid, st.code);
  else
    printf("worker %d was killed by signal %d\n", (int)pid, st.signal);
  ipc_pipe_close(rep_r);
  ipc_proc_close(child);
  return st.state == IPC_PROC_EXITED && st.code == 0 ? 0 : 1;
}
