/* lipc_pipe.c: ipc.pipe() and the methods of its handles (class "ipc.pipe"):
 * reads with the formats of Lua's io library, whole writes, timeouts in
 * seconds and non-blocking mode. libipc (libipc/src/pipe.c) moves the bytes
 * and keeps what a failed read took from the kernel, so retries lose none. */
#include "lipc.h"

#include <poll.h>
#include <stdint.h>
#include <string.h>

/* The most formats lines() keeps, like io's MAXARGLINE. */
#define LIPC_MAXFORMATS 250

/* What one read format asks libipc for: bytes up to and including delim
 * (delim < 0: none) but at most max; chop drops a final delimiter. */
typedef struct rformat {
  int delim;
  size_t max;
  int chop;
} rformat;

lipc_pipe *lipc_pipe_new(lua_State *L) {
  lipc_pipe *u = lipc_newhandle(L, LIPC_PIPE, sizeof(lipc_pipe));
  u->timeout = -1;
  return u;
}

/* The open pipe handle at arg, for reading or writing when dir is 'r' or
 * 'w'. The wrong end raises "calling 'read' on bad self (...)". */
static lipc_pipe *aux_check(lua_State *L, int arg, int dir) {
  lipc_pipe *u = lipc_checkhandle(L, arg, LIPC_PIPE, 1);
  int writer = ipc_pipe_is_writer(u->ud.obj);
  if (dir == 'r' && writer)
    luaL_argerror(L, arg, "read end expected, got the write end");
  if (dir == 'w' && !writer)
    luaL_argerror(L, arg, "write end expected, got the read end");
  return u;
}

/* Parses the read format at arg: a byte count, or "l", "L", "a" (also as
 * "*l", "*L", "*a", the 5.1 spellings). */
static void aux_format(lua_State *L, int arg, rformat *f) {
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer n = lipc_checkinteger(L, arg);
    luaL_argcheck(L, n >= 0, arg, "size must not be negative");
    f->delim = -1;
    f->max = (uint64_t)n > SIZE_MAX ? SIZE_MAX : (size_t)n;
    f->chop = 0;
    return;
  }
  const char *fmt = luaL_checkstring(L, arg);
  if (*fmt == '*')
    fmt++;
  f->max = SIZE_MAX;
  switch (*fmt) {
  case 'l':
  case 'L':
    f->delim = '\n';
    f->chop = *fmt == 'l';
    return;
  case 'a':
    f->delim = -1;
    f->chop = 0;
    return;
  default:
    luaL_argerror(L, arg, "invalid format");
  }
}

/* read(0): "" when data is there, nil at end of file, without consuming.
 * libipc has no call that waits for data without taking it, so this polls
 * the descriptor itself: a pipe whose writers are gone reports POLLHUP, and
 * POLLIN only while bytes are left. Returns 1 (data), 0 (EOF) or a code. */
static int aux_test_eof(lua_State *L, lipc_pipe *u, const lipc_deadline *d) {
  for (;;) {
    ipc_pipe_t *p = u->ud.obj;
    if (ipc_pipe_buffered(p) > 0)
      return 1;
    int blocking = ipc_pipe_get_blocking(p);
    if (blocking < 0)
      return blocking;
    struct pollfd pfd = {.fd = ipc_pipe_fd(p), .events = POLLIN, .revents = 0};
    int n = poll(&pfd, 1, blocking ? lipc_deadline_ms(d) : 0);
    if (n > 0 && (pfd.revents & POLLNVAL))
      return IPC_EBADF;
    if (n > 0)
      return (pfd.revents & POLLIN) != 0;
    if (n == 0)
      return blocking ? IPC_ETIMEDOUT : IPC_EAGAIN;
    if (errno != EINTR)
      return -errno;
    if (!lipc_interrupted(L))
      return IPC_EINTR;
    lipc_checkhandle(L, 1, LIPC_PIPE, 1); /* the hook may have closed it */
  }
}

/* One format: pushes its result (nil at end of file) and returns 1, or
 * returns a negative code with nothing pushed and nothing consumed. */
static int aux_readone(lua_State *L, lipc_pipe *u, const rformat *f,
                       const lipc_deadline *d) {
  if (f->max == 0) {
    int rc = aux_test_eof(L, u, d);
    if (rc < 0)
      return rc;
    if (rc)
      lua_pushliteral(L, "");
    else
      lua_pushnil(L);
    return 1;
  }
  for (;;) {
    const char *out;
    ssize_t n = ipc_pipe_read_until(u->ud.obj, f->delim, f->max, &out,
                                    lipc_deadline_ms(d));
    if (n >= 0) {
      if (f->chop && n > 0 && out[n - 1] == f->delim)
        n--;
      lua_pushlstring(L, out, (size_t)n);
      return 1;
    }
    if (n == IPC_EOF) {
      /* "a" gives "" at end of file, like io */
      if (f->delim < 0 && f->max == SIZE_MAX)
        lua_pushliteral(L, "");
      else
        lua_pushnil(L);
      return 1;
    }
    if (n != IPC_EINTR || !lipc_interrupted(L))
      return (int)n;
    lipc_checkhandle(L, 1, LIPC_PIPE, 1);
  }
}

/* Reads the formats at first .. first+n-1 (n == 0: one "l") from the pipe
 * at 1, pushing one result each; stops after the first nil, like io. A
 * failure discards the results of this call and returns nil, msg, code. */
static int aux_read(lua_State *L, int first, int n) {
  lipc_pipe *u = aux_check(L, 1, 'r');
  lipc_deadline d;
  lipc_deadline_start(&d, u->timeout);
  rformat f = {'\n', SIZE_MAX, 1};
  for (int i = 0; i < n; i++)
    aux_format(L, first + i, &f); /* raise before consuming anything */
  int top = lua_gettop(L);
  luaL_checkstack(L, n, "too many arguments");
  for (int i = 0; i < (n > 0 ? n : 1); i++) {
    if (n > 0)
      aux_format(L, first + i, &f);
    int rc = aux_readone(L, u, &f, &d);
    if (rc < 0) {
      lua_settop(L, top);
      return lipc_fail(L, rc, "read");
    }
    if (lua_isnil(L, -1))
      break;
  }
  return lua_gettop(L) - top;
}

/* r:read(...) -> one result per format: a string, or nil at end of file. */
static int m_read(lua_State *L) { return aux_read(L, 2, lua_gettop(L) - 1); }

/* The iterator of lines(): formats in upvalues 2 .. n+1, n in upvalue 1. */
static int aux_lines_next(lua_State *L) {
  int n = (int)lua_tointeger(L, lua_upvalueindex(1));
  lua_settop(L, 0);
  luaL_checkstack(L, n + 1, "too many arguments");
  lua_pushvalue(L, lua_upvalueindex(2)); /* the handle */
  for (int i = 1; i <= n; i++)
    lua_pushvalue(L, lua_upvalueindex(2 + i));
  int got = aux_read(L, 2, n);
  if (!lua_isnil(L, -got))
    return got;
  if (got > 1) /* a failure: nil, msg, code */
    return luaL_error(L, "%s", lua_tostring(L, -got + 1));
  return 0;
}

/* r:lines(...) -> an iterator reading the formats each turn (default "l");
 * it ends at end of file and raises on a failure. */
static int m_lines(lua_State *L) {
  aux_check(L, 1, 'r');
  int n = lua_gettop(L) - 1;
  luaL_argcheck(L, n <= LIPC_MAXFORMATS, LIPC_MAXFORMATS + 2,
                "too many arguments");
  rformat f;
  for (int i = 2; i <= n + 1; i++)
    aux_format(L, i, &f); /* raise now, not at the first turn */
  lua_pushinteger(L, n);
  lua_insert(L, 1); /* n, handle, formats... */
  lua_pushcclosure(L, aux_lines_next, n + 2);
  return 1;
}

/* w:write(...) -> w, after every byte of every argument went out; or nil,
 * msg, code, bytes written by this call. */
static int m_write(lua_State *L) {
  lipc_pipe *u = aux_check(L, 1, 'w');
  int top = lua_gettop(L);
  for (int i = 2; i <= top; i++)
    luaL_checklstring(L, i, NULL); /* before writing anything */
  lipc_deadline d;
  lipc_deadline_start(&d, u->timeout);
  lua_Integer total = 0;
  for (int i = 2; i <= top; i++) {
    size_t len;
    const char *s = lua_tolstring(L, i, &len);
    while (len > 0) {
      ipc_pipe_t *p = u->ud.obj;
      ssize_t n = ipc_pipe_write(p, s, len, lipc_deadline_ms(&d));
      if (n > 0) {
        s += n;
        len -= (size_t)n;
        total += n;
        if (len == 0)
          break;
        /* A short count: the deadline passed, the descriptor is
         * non-blocking, or a signal came after some bytes went out. */
        if (ipc_pipe_get_blocking(p) == 0)
          n = IPC_EAGAIN;
        else if (lipc_deadline_ms(&d) == 0)
          n = IPC_ETIMEDOUT;
        else
          n = IPC_EINTR;
      }
      if (n == IPC_EINTR && lipc_interrupted(L)) {
        lipc_checkhandle(L, 1, LIPC_PIPE, 1);
        continue;
      }
      lipc_fail(L, (int)n, "write");
      lua_pushinteger(L, total);
      return 4;
    }
  }
  lua_settop(L, 1);
  return 1;
}

/* p:settimeout(seconds) -> p. nil waits forever, 0 never waits. */
static int m_settimeout(lua_State *L) {
  lipc_pipe *u = aux_check(L, 1, 0);
  u->timeout = lipc_checktimeout(L, 2);
  lua_settop(L, 1);
  return 1;
}

/* p:setblocking(bool) -> p, or nil, msg, code. */
static int m_setblocking(lua_State *L) {
  lipc_pipe *u = aux_check(L, 1, 0);
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  int rc = ipc_pipe_set_blocking(u->ud.obj, lua_toboolean(L, 2));
  if (rc < 0)
    return lipc_fail(L, rc, "setblocking");
  lua_settop(L, 1);
  return 1;
}

static int m_fd(lua_State *L) {
  lua_pushinteger(L, ipc_pipe_fd(aux_check(L, 1, 0)->ud.obj));
  return 1;
}

/* Marks the handle closed before closing, so that nothing (an error, a
 * second call) can reach the freed object. */
static int aux_close(lipc_pipe *u) {
  ipc_pipe_t *p = u->ud.obj;
  u->ud.obj = NULL;
  return ipc_pipe_close(p);
}

/* p:close() -> true, or nil, msg, code (the handle is closed either way). */
static int m_close(lua_State *L) {
  int rc = aux_close(aux_check(L, 1, 0));
  if (rc < 0)
    return lipc_fail(L, rc, "close");
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: closes a handle still open, quietly. */
static int mm_gc(lua_State *L) {
  lipc_pipe *u = lipc_checkhandle(L, 1, LIPC_PIPE, 0);
  if (u->ud.obj != NULL)
    aux_close(u);
  return 0;
}

/* "ipc.pipe (reader, fd 5)", "ipc.pipe (writer, fd 6, non-blocking)",
 * "ipc.pipe (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_pipe *u = lipc_checkhandle(L, 1, LIPC_PIPE, 0);
  ipc_pipe_t *p = u->ud.obj;
  if (p == NULL) {
    lua_pushliteral(L, "ipc.pipe (closed)");
    return 1;
  }
  lua_pushfstring(L, "ipc.pipe (%s, fd %d%s)",
                  ipc_pipe_is_writer(p) ? "writer" : "reader", ipc_pipe_fd(p),
                  ipc_pipe_get_blocking(p) == 0 ? ", non-blocking" : "");
  return 1;
}

/* ipc.pipe([opts]) -> reader, writer; or nil, msg, code. */
static int l_pipe(lua_State *L) {
  static const char *const known[] = {"nonblock", NULL};
  lipc_checkopts(L, 1, known);
  int flags = 0;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "nonblock");
    if (!lua_isnil(L, -1)) {
      luaL_argcheck(L, lua_isboolean(L, -1), 1, "nonblock must be a boolean");
      if (lua_toboolean(L, -1))
        flags |= IPC_NONBLOCK;
    }
    lua_pop(L, 1);
  }
  lipc_pipe *r = lipc_pipe_new(L);
  lipc_pipe *w = lipc_pipe_new(L);
  ipc_pipe_t *pr, *pw;
  int rc = ipc_pipe_create(&pr, &pw, flags);
  if (rc < 0)
    return lipc_fail(L, rc, "pipe");
  r->ud.obj = pr;
  w->ud.obj = pw;
  return 2;
}

static const luaL_Reg meth[] = {
    {"read", m_read},
    {"lines", m_lines},
    {"write", m_write},
    {"settimeout", m_settimeout},
    {"setblocking", m_setblocking},
    {"fd", m_fd},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

void lipc_open_pipe(lua_State *L) {
  lipc_newclass(L, LIPC_PIPE, meth, metameth);
  lua_pushcfunction(L, l_pipe);
  lua_setfield(L, -2, "pipe");
}
