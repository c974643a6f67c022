/* lipc_fifo.c: ipc.fifo.create, ipc.fifo.open and ipc.fifo.unlink. An open
 * FIFO is an ipc.pipe handle (lipc_pipe.c): the same reads, writes and
 * timeouts. Failures name what is at the path when that is the reason (a
 * regular file where a FIFO was expected), which libipc's codes cannot. */
#include "lipc.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* The path at arg: a non-empty string without zero bytes (the kernel would
 * silently cut it at the first one). */
static const char *aux_checkpath(lua_State *L, int arg) {
  size_t len;
  const char *path = luaL_checklstring(L, arg, &len);
  luaL_argcheck(L, len > 0, arg, "path is empty");
  luaL_argcheck(L, strlen(path) == len, arg, "path has a zero byte");
  return path;
}

/* What is at path, "a regular file", "a directory", ... (follow: through
 * symbolic links), or NULL when nothing can be seen there. */
static const char *aux_what(const char *path, int follow) {
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
    return NULL;
  switch (st.st_mode & S_IFMT) {
  case S_IFIFO:
    return "a FIFO";
  case S_IFREG:
    return "a regular file";
  case S_IFDIR:
    return "a directory";
  case S_IFLNK:
    return "a symbolic link";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  case S_IFSOCK:
    return "a socket";
  default:
    return "something";
  }
}

/* ipc.fifo.create(path, [mode]) -> true, or nil, msg, code. */
static int l_create(lua_State *L) {
  const char *path = aux_checkpath(L, 1);
  int mode = lipc_checkperm(L, 2, 2, "mode");
  int rc = ipc_fifo_create(path, mode);
  if (rc == IPC_EEXIST) {
    const char *what = aux_what(path, 0);
    if (what != NULL)
      return lipc_fail(L, rc, "create %s (%s is there)", path, what);
  }
  if (rc < 0)
    return lipc_fail(L, rc, "create %s", path);
  lua_pushboolean(L, 1);
  return 1;
}

/* opts.timeout on top of the stack, in seconds: -1 for nil (or too long
 * for an int of milliseconds, like lipc_checktimeout). */
static double aux_opttimeout(lua_State *L, int arg) {
  if (lua_isnil(L, -1))
    return -1;
  double s = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
  if (!(s >= 0)) /* NaN too */
    luaL_argerror(L, arg, "timeout must be a number >= 0");
  return s * 1000.0 > (double)INT_MAX ? -1 : s;
}

/* ipc.fifo.open(path, "r" | "w", [{timeout = s, nonblock = b}]) -> an
 * ipc.pipe, or nil, msg, code. */
static int l_open(lua_State *L) {
  static const char *const dirs[] = {"r", "w", NULL};
  static const char *const known[] = {"timeout", "nonblock", NULL};
  const char *path = aux_checkpath(L, 1);
  int writer = luaL_checkoption(L, 2, NULL, dirs) == 1;
  lipc_checkopts(L, 3, known);
  double timeout = -1;
  int flags = writer ? IPC_FIFO_WRITE : IPC_FIFO_READ;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "timeout");
    timeout = aux_opttimeout(L, 3);
    lua_getfield(L, 3, "nonblock");
    if (!lua_isnil(L, -1)) {
      luaL_argcheck(L, lua_isboolean(L, -1), 3, "nonblock must be a boolean");
      if (lua_toboolean(L, -1))
        flags |= IPC_NONBLOCK;
    }
    lua_pop(L, 2);
  }
  lipc_pipe *u = lipc_pipe_new(L);
  lipc_deadline d;
  lipc_deadline_start(&d, timeout);
  int rc;
  for (;;) {
    ipc_pipe_t *p;
    rc = ipc_fifo_open(&p, path, flags, lipc_deadline_ms(&d));
    if (rc == 0) {
      u->ud.obj = p;
      return 1;
    }
    if (rc != IPC_EINTR)
      break;
    if (!lipc_interrupted(L)) /* nothing is open: simply try again */
      break;
  }
  const char *how = writer ? "writing" : "reading";
  const char *why = NULL;
  const char *what = aux_what(path, 1);
  if (rc == IPC_EINVAL && what != NULL)
    why = lua_pushfstring(L, " (%s, not a FIFO)", what);
  else if (rc == IPC_ENXIO)
    why = " (no reader has it open)";
  else if (rc == IPC_ETIMEDOUT)
    why = writer ? " (no reader came)" : " (no writer came)";
  return lipc_fail(L, rc, "open %s for %s%s", path, how, why ? why : "");
}

/* ipc.fifo.unlink(path) -> true, or nil, msg, code. */
static int l_unlink(lua_State *L) {
  const char *path = aux_checkpath(L, 1);
  int rc = ipc_fifo_unlink(path);
  const char *what = rc == IPC_EINVAL ? aux_what(path, 0) : NULL;
  if (what != NULL)
    return lipc_fail(L, rc, "unlink %s (%s, not a FIFO)", path, what);
  if (rc < 0)
    return lipc_fail(L, rc, "unlink %s", path);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg fifolib[] = {
    {"create", l_create},
    {"open", l_open},
    {"unlink", l_unlink},
    {NULL, NULL},
};

void lipc_open_fifo(lua_State *L) {
  lipc_newlib(L, fifolib);
  lua_setfield(L, -2, "fifo");
}
