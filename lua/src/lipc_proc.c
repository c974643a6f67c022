/* lipc_proc.c: processes: ipc.fork(), ipc.spawn() of an argv or of a Lua
 * function, and the process handles (class "ipc.proc"): wait with a timeout,
 * status, kill by number or name. A Lua-function child ends with _exit():
 * it never closes the state, so no finalizer of the parent runs in it. */
#include "lipc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

/* An ipc.proc. The pid stays readable after close. Its user value holds
 * the parent's ends of the child's stdio pipes (fields stdin, stdout,
 * stderr). */
typedef struct lipc_proc {
  lipc_ud ud; /* ipc_proc_t * */
  pid_t pid;
} lipc_proc;

static const char *const stdio_names[3] = {"stdin", "stdout", "stderr"};

/* What ipc.spawn was asked for, read from its arguments before anything
 * that needs undoing is made. */
typedef struct spawn_req {
  ipc_spawn_opts_t opts;
  lipc_pipe *mine[3]; /* the parent's end of each "pipe" stream */
} spawn_req;

/* Steps of a Lua-function child's setup, as reported to the parent. */
enum { STEP_OK, STEP_STDIO, STEP_CWD };

/* ------------------------------------------------------------- arguments */

/* opts[name] for stream i, on top of the stack: "inherit", "pipe", "null"
 * or an open ipc.pipe of the right direction (the child's stdin reads it,
 * its stdout and stderr write it). */
static void aux_stdio(lua_State *L, spawn_req *s, int i) {
  lipc_pipe *h = lipc_testudata(L, -1, LIPC_PIPE);
  if (h != NULL) {
    if (h->ud.obj == NULL)
      luaL_error(L, "attempt to use a closed %s", LIPC_PIPE);
    if (ipc_pipe_is_writer(h->ud.obj) != (i > 0))
      luaL_argerror(L, 2,
                    lua_pushfstring(L, "%s must be the %s end of an ipc.pipe",
                                    stdio_names[i], i > 0 ? "write" : "read"));
    s->opts.stdio[i] = IPC_STDIO_FD;
    s->opts.fd[i] = ipc_pipe_fd(h->ud.obj);
    return;
  }
  const char *how = lua_isnil(L, -1) ? "inherit" : lua_tostring(L, -1);
  if (lua_type(L, -1) != LUA_TSTRING && !lua_isnil(L, -1))
    how = "";
  if (strcmp(how, "inherit") == 0)
    s->opts.stdio[i] = IPC_STDIO_INHERIT;
  else if (strcmp(how, "pipe") == 0)
    s->opts.stdio[i] = IPC_STDIO_PIPE;
  else if (strcmp(how, "null") == 0)
    s->opts.stdio[i] = IPC_STDIO_NULL;
  else
    luaL_argerror(L, 2,
                  lua_pushfstring(L,
                                  "%s must be \"inherit\", \"pipe\", \"null\" "
                                  "or an ipc.pipe",
                                  stdio_names[i]));
}

/* A NULL-terminated array of the strings t[1..n] of the table at t, in a
 * new userdata on the stack (the strings stay anchored in t). */
static const char **aux_strv(lua_State *L, int t, int n) {
  const char **v = lua_newuserdata(L, ((size_t)n + 1) * sizeof *v);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    v[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  v[n] = NULL;
  return v;
}

/* The value on top, for argv (what[i], i > 0) or the environment: a string
 * or a number without zero bytes, converted in place to a string. */
static void aux_cstring(lua_State *L, int arg, const char *what, int i) {
  size_t len = 0;
  int t = lua_type(L, -1);
  const char *str = (t == LUA_TSTRING || t == LUA_TNUMBER)
                        ? lua_tolstring(L, -1, &len)
                        : NULL;
  if (str != NULL && strlen(str) == len)
    return;
  const char *type = luaL_typename(L, -1);
  if (i > 0)
    what = lua_pushfstring(L, "%s[%d]", what, i);
  if (str == NULL)
    luaL_argerror(
        L, arg, lua_pushfstring(L, "%s must be a string, got %s", what, type));
  luaL_argerror(L, arg, lua_pushfstring(L, "%s contains a zero byte", what));
}

/* Reads opts (argument 2) into s; pushes the objects the pointers in s need
 * kept alive. */
static void aux_spawnopts(lua_State *L, spawn_req *s) {
  static const char *const known[] = {"stdin", "stdout", "stderr", "cwd",
                                      "env",   "path",   NULL};
  memset(s, 0, sizeof *s);
  s->opts.search_path = 1;
  for (int i = 0; i < 3; i++)
    s->opts.fd[i] = -1;
  lipc_checkopts(L, 2, known);
  if (lua_isnoneornil(L, 2))
    return;
  for (int i = 0; i < 3; i++) {
    lua_getfield(L, 2, stdio_names[i]);
    aux_stdio(L, s, i);
    lua_pop(L, 1);
  }
  lua_getfield(L, 2, "path");
  if (!lua_isnil(L, -1)) {
    luaL_argcheck(L, lua_isboolean(L, -1), 2, "path must be a boolean");
    s->opts.search_path = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  lua_getfield(L, 2, "cwd"); /* kept on the stack: s->opts.cwd points in */
  if (!lua_isnil(L, -1)) {
    aux_cstring(L, 2, "cwd", 0);
    s->opts.cwd = lua_tostring(L, -1);
  }
  lua_getfield(L, 2, "env");
  if (!lua_isnil(L, -1)) {
    luaL_argcheck(L, lua_istable(L, -1), 2, "env must be a table");
    int env = lua_gettop(L);
    lua_newtable(L); /* env, "name=value" strings */
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, env)) {
      aux_cstring(L, 2, "an env value", 0);
      const char *name =
          lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (name == NULL || *name == '\0' || strchr(name, '=') != NULL ||
          strlen(name) != lipc_rawlen(L, -2))
        luaL_argerror(L, 2, "env names must be strings without '='");
      lua_pushfstring(L, "%s=%s", name, lua_tostring(L, -1));
      lua_rawseti(L, env + 1, ++n);
      lua_pop(L, 1);
    }
    s->opts.envp = (char *const *)aux_strv(L, env + 1, n);
  }
}

/* argv from the table at 1, with its strings kept alive on the stack. */
static const char *const *aux_argv(lua_State *L) {
  int n = (int)lipc_rawlen(L, 1);
  luaL_argcheck(L, n > 0, 1, "argv must not be empty");
  lua_createtable(L, n, 0);
  int t = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    aux_cstring(L, 1, "argv", i);
    lua_rawseti(L, t, i);
  }
  lua_rawgeti(L, t, 1);
  luaL_argcheck(L, *lua_tostring(L, -1) != '\0', 1, "argv[1] is empty");
  lua_pop(L, 1);
  return aux_strv(L, t, n);
}

/* ------------------------------------------------ the Lua-function child */

/* The child's message handler: the message (or a description of a
 * non-string error) with a traceback, like lua.c's. */
static int aux_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
  }
  lipc_traceback(L, msg, 1);
  return 1;
}

/* Tells the parent how the setup went: {step, errno}. */
static void aux_report(int fd, int step, int err) {
  int rep[2] = {step, err};
  ssize_t n;
  do
    n = write(fd, rep, sizeof rep);
  while (n < 0 && errno == EINTR);
}

/* In the forked child: puts the streams in place, changes directory and
 * environment, reports to the parent through report[1], then runs the
 * function at 1 and leaves with _exit(): no lua_close, so no finalizer of
 * the parent's objects runs here and no buffer is flushed twice. */
__attribute__((noreturn)) static void
aux_child(lua_State *L, const spawn_req *s, ipc_pipe_t *child_end[3],
          ipc_pipe_t *parent_end[3], int report[2]) {
  int src[3] = {-1, -1, -1};
  int step = STEP_STDIO;
  close(report[0]);
  /* Move every source above 2 first, so that no dup2 overwrites the
   * source of the next stream. */
  for (int i = 0; i < 3; i++) {
    int fd = -1;
    if (s->opts.stdio[i] == IPC_STDIO_PIPE)
      fd = ipc_pipe_fd(child_end[i]);
    else if (s->opts.stdio[i] == IPC_STDIO_FD)
      fd = s->opts.fd[i];
    else if (s->opts.stdio[i] == IPC_STDIO_NULL)
      fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
    else
      continue;
    if (fd < 0 || (src[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
      goto fail;
    if (s->opts.stdio[i] == IPC_STDIO_NULL)
      close(fd);
  }
  for (int i = 0; i < 3; i++) {
    if (src[i] >= 0 && dup2(src[i], i) < 0) /* dup2 clears close-on-exec */
      goto fail;
  }
  for (int i = 0; i < 3; i++) {
    if (src[i] >= 0)
      close(src[i]);
    ipc_pipe_close(child_end[i]);
    ipc_pipe_close(parent_end[i]);
  }
  step = STEP_CWD;
  if (s->opts.cwd != NULL && chdir(s->opts.cwd) < 0)
    goto fail;
  if (s->opts.envp != NULL)
    environ = (char **)s->opts.envp; /* anchored on this frame's stack */
  aux_report(report[1], STEP_OK, 0);
  close(report[1]);

  lua_pushcfunction(L, aux_msgh);
  lua_pushvalue(L, 1);
  int code;
  if (lua_pcall(L, 0, 1, -2) != 0) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s\n",
            msg != NULL ? msg : "(error object is not a string)");
    code = 1;
  } else if (lipc_isinteger(L, -1)) {
    code = (int)(lua_tointeger(L, -1) & 0xff); /* what exit() would keep */
  } else {
    code = lua_isboolean(L, -1) && !lua_toboolean(L, -1); /* false: 1 */
  }
  fflush(NULL);
  _exit(code);

fail:
  aux_report(report[1], step, errno);
  _exit(127);
}

/* ipc.spawn(fn, opts): forks; the child runs fn (aux_child). */
static int aux_spawnfn(lua_State *L, spawn_req *s, lipc_proc *u) {
  ipc_pipe_t *child_end[3] = {NULL, NULL, NULL};
  ipc_pipe_t *parent_end[3] = {NULL, NULL, NULL};
  int report[2] = {-1, -1};
  ipc_proc_t *proc = NULL;
  int rc = 0;
  for (int i = 0; i < 3; i++) {
    if (s->opts.stdio[i] != IPC_STDIO_PIPE)
      continue;
    ipc_pipe_t *r, *w;
    if ((rc = ipc_pipe_create(&r, &w, 0)) < 0)
      goto fail;
    child_end[i] = i == 0 ? r : w;
    parent_end[i] = i == 0 ? w : r;
  }
  if (pipe2(report, O_CLOEXEC) < 0) {
    rc = -errno;
    goto fail;
  }
  fflush(NULL); /* or the child would write the parent's buffers again */
  pid_t pid = ipc_proc_fork(&proc);
  if (pid == 0)
    aux_child(L, s, child_end, parent_end, report);
  if (pid < 0) {
    rc = pid;
    goto fail;
  }
  u->ud.obj = proc;
  u->pid = pid;
  for (int i = 0; i < 3; i++) {
    ipc_pipe_close(child_end[i]);
    if (parent_end[i] != NULL)
      s->mine[i]->ud.obj = parent_end[i];
  }
  close(report[1]);
  int rep[2] = {STEP_OK, 0};
  ssize_t n;
  do
    n = read(report[0], rep, sizeof rep);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof rep && rep[0] != STEP_OK) {
    /* The child exits at once: reap it, undo everything. */
    while (ipc_proc_wait(proc, NULL, -1) == IPC_EINTR)
      ;
    u->ud.obj = NULL;
    ipc_proc_close(proc);
    for (int i = 0; i < 3; i++) {
      if (s->mine[i] != NULL) {
        ipc_pipe_close(s->mine[i]->ud.obj);
        s->mine[i]->ud.obj = NULL;
      }
    }
    if (rep[0] == STEP_CWD)
      return lipc_fail(L, -rep[1], "spawn: chdir %s", s->opts.cwd);
    return lipc_fail(L, -rep[1], "spawn: stdio");
  }
  return 0;

fail:
  for (int i = 0; i < 3; i++) {
    ipc_pipe_close(child_end[i]);
    ipc_pipe_close(parent_end[i]);
  }
  if (report[0] >= 0) {
    close(report[0]);
    close(report[1]);
  }
  return lipc_fail(L, rc, "spawn");
}

/* ------------------------------------------------------ module functions */

/* ipc.fork() -> a process handle in the parent, 0 in the child; or nil,
 * msg, code. */
static int l_fork(lua_State *L) {
  lipc_proc *u = lipc_newhandle(L, LIPC_PROC, sizeof *u);
  ipc_proc_t *proc;
  fflush(NULL); /* or the child would write the parent's buffers again */
  pid_t pid = ipc_proc_fork(&proc);
  if (pid < 0)
    return lipc_fail(L, pid, "fork");
  if (pid == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  u->ud.obj = proc;
  u->pid = pid;
  return 1;
}

/* ipc.spawn(argv_or_fn, [opts]) -> a process handle, or nil, msg, code. */
static int l_spawn(lua_State *L) {
  int isfn = lua_type(L, 1) == LUA_TFUNCTION;
  if (!isfn && !lua_istable(L, 1))
    luaL_argerror(L, 1,
                  lua_pushfstring(L, "table or function expected, got %s",
                                  luaL_typename(L, 1)));
  spawn_req s;
  aux_spawnopts(L, &s);
  const char *const *argv = isfn ? NULL : aux_argv(L);
  /* Every handle is made (closed) before the child exists, so nothing can
   * fail between its birth and the return of its handle. */
  lipc_proc *u = lipc_newhandle(L, LIPC_PROC, sizeof *u);
  int top = lua_gettop(L);
  lipc_getuservalue(L, top);
  for (int i = 0; i < 3; i++) {
    if (s.opts.stdio[i] == IPC_STDIO_PIPE) {
      s.mine[i] = lipc_pipe_new(L);
      lua_setfield(L, -2, stdio_names[i]);
    }
  }
  lua_pop(L, 1);
  if (isfn) {
    int nret = aux_spawnfn(L, &s, u);
    if (nret > 0)
      return nret;
  } else {
    ipc_proc_t *proc;
    pid_t pid = ipc_proc_spawn(&proc, argv, &s.opts);
    /* posix_spawn does not say whether the program or the cwd failed */
    if (pid < 0 && s.opts.cwd != NULL)
      return lipc_fail(L, pid, "spawn %s (cwd %s)", argv[0], s.opts.cwd);
    if (pid < 0)
      return lipc_fail(L, pid, "spawn %s", argv[0]);
    u->ud.obj = proc;
    u->pid = pid;
    for (int i = 0; i < 3; i++) {
      if (s.mine[i] != NULL)
        s.mine[i]->ud.obj = ipc_proc_take_stdio(proc, i);
    }
  }
  lua_settop(L, top);
  return 1;
}

/* --------------------------------------------------------------- methods */

/* Pushes a status the way wait returns it. */
static int aux_pushstatus(lua_State *L, const ipc_proc_status_t *st) {
  switch (st->state) {
  case IPC_PROC_EXITED:
    lua_pushliteral(L, "exit");
    lua_pushinteger(L, st->code);
    return 2;
  case IPC_PROC_SIGNALED:
    lua_pushliteral(L, "signal");
    lua_pushinteger(L, st->signal);
    lua_pushboolean(L, st->core_dumped);
    return 3;
  default:
    lua_pushliteral(L, "running");
    return 1;
  }
}

/* p:wait([timeout]) -> "exit", code | "signal", signo, core_dumped; or nil,
 * msg, code (ETIMEDOUT: the child still runs). */
static int m_wait(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 1);
  lipc_deadline d;
  lipc_deadline_start(&d, lipc_checktimeout(L, 2));
  ipc_proc_status_t st;
  int rc;
  while ((rc = ipc_proc_wait(u->ud.obj, &st, lipc_deadline_ms(&d))) ==
         IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkhandle(L, 1, LIPC_PROC, 1); /* the hook may have closed it */
  }
  if (rc < 0)
    return lipc_fail(L, rc, "wait");
  return aux_pushstatus(L, &st);
}

/* p:status() -> "running", or what wait returns, without waiting: reaps
 * the child if it has ended. */
static int m_status(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 1);
  ipc_proc_status_t st;
  int rc;
  while ((rc = ipc_proc_wait(u->ud.obj, &st, 0)) == IPC_EINTR)
    ;
  if (rc == IPC_ETIMEDOUT)
    ipc_proc_status(u->ud.obj, &st);
  else if (rc < 0)
    return lipc_fail(L, rc, "status");
  return aux_pushstatus(L, &st);
}

/* The signal at arg: nil (SIGTERM), a number in 1..NSIG-1, or a name with
 * or without "SIG", in any case, as glibc's sigabbrev_np knows them. */
static int aux_checksignal(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return SIGTERM;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer sig = lipc_checkinteger(L, arg);
    luaL_argcheck(L, sig >= 1 && sig < NSIG, arg, "signal out of range");
    return (int)sig;
  }
  const char *name = luaL_checkstring(L, arg);
  const char *abbrev = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
  for (int sig = 1; sig < NSIG; sig++) {
    const char *known = sigabbrev_np(sig);
    if (known != NULL && strcasecmp(known, abbrev) == 0)
      return sig;
  }
  return luaL_argerror(L, arg, lua_pushfstring(L, "unknown signal '%s'", name));
}

/* p:kill([sig]) -> true, or nil, msg, code (ESRCH once reaped). */
static int m_kill(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 1);
  int rc = ipc_proc_kill(u->ud.obj, aux_checksignal(L, 2));
  if (rc < 0)
    return lipc_fail(L, rc, "kill");
  lua_pushboolean(L, 1);
  return 1;
}

/* p:fd() -> the pidfd (readable once the child has ended). */
static int m_fd(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 1);
  lua_pushinteger(L, ipc_proc_fd(u->ud.obj));
  return 1;
}

/* Frees the handle: neither kills nor waits (see ipc_proc_close). */
static void aux_close(lipc_proc *u) {
  ipc_proc_t *proc = u->ud.obj;
  u->ud.obj = NULL;
  ipc_proc_close(proc);
}

static int m_close(lua_State *L) {
  aux_close(lipc_checkhandle(L, 1, LIPC_PROC, 1));
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close. */
static int mm_gc(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 0);
  if (u->ud.obj != NULL)
    aux_close(u);
  return 0;
}

/* p.pid, p.stdin, p.stdout, p.stderr, and the methods (upvalue 1). */
static int mm_index(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 0);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1))
    return 1;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "pid") == 0) {
    lua_pushinteger(L, u->pid);
    return 1;
  }
  lipc_getuservalue(L, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

/* "ipc.proc (pid 123, running)", "(pid 123, exited 0)", "(pid 123, killed
 * by SIGKILL)", "(pid 123, killed by SIGSEGV, core dumped)", "(pid 123,
 * closed)". The last known state: it does not look for a change. */
static int mm_tostring(lua_State *L) {
  lipc_proc *u = lipc_checkhandle(L, 1, LIPC_PROC, 0);
  if (u->ud.obj == NULL) {
    lua_pushfstring(L, "ipc.proc (pid %d, closed)", (int)u->pid);
    return 1;
  }
  ipc_proc_status_t st;
  ipc_proc_status(u->ud.obj, &st);
  if (st.state == IPC_PROC_EXITED) {
    lua_pushfstring(L, "ipc.proc (pid %d, exited %d)", (int)u->pid, st.code);
  } else if (st.state == IPC_PROC_SIGNALED) {
    const char *abbrev = sigabbrev_np(st.signal);
    if (abbrev != NULL)
      lua_pushfstring(L, "ipc.proc (pid %d, killed by SIG%s%s)", (int)u->pid,
                      abbrev, st.core_dumped ? ", core dumped" : "");
    else
      lua_pushfstring(L, "ipc.proc (pid %d, killed by signal %d%s)",
                      (int)u->pid, st.signal,
                      st.core_dumped ? ", core dumped" : "");
  } else {
    lua_pushfstring(L, "ipc.proc (pid %d, running)", (int)u->pid);
  }
  return 1;
}

static const luaL_Reg meth[] = {
    {"wait", m_wait}, {"status", m_status}, {"kill", m_kill},
    {"fd", m_fd},     {"close", m_close},   {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__index", mm_index},
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

static const luaL_Reg proclib[] = {
    {"fork", l_fork},
    {"spawn", l_spawn},
    {NULL, NULL},
};

void lipc_open_proc(lua_State *L) {
  lipc_newclass(L, LIPC_PROC, meth, metameth);
  lipc_setfuncs(L, proclib, 0);
}
