/* lipc_mq.c: POSIX message queues, the ipc.mq table (create, open, unlink,
 * limits) and the queue handles (class "ipc.mq"): send with a priority,
 * receive returning the message and its priority, attributes, non-blocking
 * mode and the pollable descriptor. A create refused by a system limit says
 * which limit and its value, from ipc_mq_which_limit. */
#include "lipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIPC_MQ_PROC "/proc/sys/fs/mqueue/"

/* An ipc.mq. The receive buffer is C memory of the queue's msgsize (the
 * kernel takes no less), allocated at the first receive. */
typedef struct lipc_mq {
  lipc_ud ud; /* ipc_mq_t * */
  size_t msgsize;
  char *buf;
} lipc_mq;

/* ------------------------------------------------------------- arguments */

/* opts[key] of the table at arg: nil (0) or a positive integer that fits a
 * long. */
static long aux_optcount(lua_State *L, int arg, const char *key) {
  lua_getfield(L, arg, key);
  long v = 0;
  if (!lua_isnil(L, -1)) {
    lua_Number n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || n != floor(n))
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer", key));
    if (n <= 0 || n > 2147483647.0)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be 1..2^31-1", key));
    v = (long)n;
  }
  lua_pop(L, 1);
  return v;
}

/* A priority at arg: nil (0) or an integer in 0..IPC_MQ_PRIO_MAX-1. */
static unsigned aux_optprio(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return 0;
  lua_Integer p = lipc_checkinteger(L, arg);
  luaL_argcheck(L, p >= 0 && p < IPC_MQ_PRIO_MAX, arg,
                "priority must be 0..32767");
  return (unsigned)p;
}

/* nil, "<what> <name>: <message>", code. */
static int aux_fail(lua_State *L, const lipc_mq *u, int code,
                    const char *what) {
  return lipc_fail(L, code, "%s %s", what, ipc_mq_name(u->ud.obj));
}

/* ------------------------------------------------------------ send, recv */

/* q:send(s, [prio], [timeout]) -> true, or nil, msg, code. */
static int m_send(lua_State *L) {
  lipc_mq *u = ((lipc_mq *)lipc_checkself(L, LIPC_MQ));
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  unsigned prio = aux_optprio(L, 3);
  lipc_deadline d;
  int rc = ipc_mq_send(u->ud.obj, s, len, prio,
                       lipc_deadline_begin(&d, lipc_checktimeout(L, 4)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_MQ);
    rc = ipc_mq_send(u->ud.obj, s, len, prio, lipc_deadline_ms(&d));
  }
  if (rc == IPC_EMSGSIZE) {
    char why[80];
    snprintf(why, sizeof why, " (%zu bytes; msgsize is %zu)", len, u->msgsize);
    aux_fail(L, u, rc, "send");
    lua_pushvalue(L, -2);
    lua_pushstring(L, why);
    lua_concat(L, 2);
    lua_replace(L, -3);
    return 3;
  }
  if (rc < 0)
    return aux_fail(L, u, rc, "send");
  lua_pushboolean(L, 1);
  return 1;
}

/* q:receive([timeout]) -> s, prio; or nil, msg, code. */
static int m_receive(lua_State *L) {
  lipc_mq *u = ((lipc_mq *)lipc_checkself(L, LIPC_MQ));
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, lipc_checktimeout(L, 2));
  if (u->buf == NULL && (u->buf = malloc(u->msgsize ? u->msgsize : 1)) == NULL)
    return aux_fail(L, u, IPC_ENOMEM, "receive");
  unsigned prio;
  ssize_t n;
  while ((n = ipc_mq_receive(u->ud.obj, u->buf, u->msgsize, &prio, ms)) ==
         IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_MQ);
    ms = lipc_deadline_ms(&d);
  }
  if (n < 0)
    return aux_fail(L, u, (int)n, "receive");
  lua_pushlstring(L, u->buf, (size_t)n);
  lua_pushinteger(L, (lua_Integer)prio);
  return 2;
}

/* ------------------------------------------------------------- the rest */

/* q:getattr() -> {maxmsg, msgsize, curmsgs, nonblock}, or nil, msg, code. */
static int m_getattr(lua_State *L) {
  lipc_mq *u = ((lipc_mq *)lipc_checkself(L, LIPC_MQ));
  ipc_mq_attr_t a;
  int rc = ipc_mq_get_attr(u->ud.obj, &a);
  int blocking = rc < 0 ? rc : ipc_mq_get_blocking(u->ud.obj);
  if (blocking < 0)
    return aux_fail(L, u, blocking, "getattr");
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)a.maxmsg);
  lua_setfield(L, -2, "maxmsg");
  lua_pushinteger(L, (lua_Integer)a.msgsize);
  lua_setfield(L, -2, "msgsize");
  lua_pushinteger(L, (lua_Integer)a.curmsgs);
  lua_setfield(L, -2, "curmsgs");
  lua_pushboolean(L, !blocking);
  lua_setfield(L, -2, "nonblock");
  return 1;
}

/* q:setblocking(bool) -> q, or nil, msg, code. */
static int m_setblocking(lua_State *L) {
  lipc_mq *u = ((lipc_mq *)lipc_checkself(L, LIPC_MQ));
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  int rc = ipc_mq_set_blocking(u->ud.obj, lua_toboolean(L, 2));
  if (rc < 0)
    return aux_fail(L, u, rc, "setblocking");
  lua_settop(L, 1);
  return 1;
}

/* q:fd() -> the descriptor, for poll: readable when a message is there,
 * writable when there is room. */
static int m_fd(lua_State *L) {
  lua_pushinteger(L,
                  ipc_mq_fd(((lipc_mq *)lipc_checkself(L, LIPC_MQ))->ud.obj));
  return 1;
}

static int m_name(lua_State *L) {
  lua_pushstring(L,
                 ipc_mq_name(((lipc_mq *)lipc_checkself(L, LIPC_MQ))->ud.obj));
  return 1;
}

/* Marks the handle closed before closing, so that nothing can reach the
 * freed queue; then frees the buffer. */
static int aux_close(lipc_mq *u) {
  ipc_mq_t *mq = u->ud.obj;
  u->ud.obj = NULL;
  free(u->buf);
  u->buf = NULL;
  return ipc_mq_close(mq);
}

/* q:close() -> true, or nil, msg, code (closed either way). Never unlinks. */
static int m_close(lua_State *L) {
  int rc = aux_close(((lipc_mq *)lipc_checkself(L, LIPC_MQ)));
  if (rc < 0)
    return lipc_fail(L, rc, "close");
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: closes a handle still open, quietly. */
static int mm_gc(lua_State *L) {
  lipc_mq *u = lipc_checkhandle(L, 1, LIPC_MQ, 0);
  if (u->ud.obj != NULL)
    aux_close(u);
  return 0;
}

/* "ipc.mq (/jobs, fd 5, 3/10 messages of at most 8192 bytes)",
 * "... , non-blocking)", "ipc.mq (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_mq *u = lipc_checkhandle(L, 1, LIPC_MQ, 0);
  if (u->ud.obj == NULL) {
    lua_pushliteral(L, "ipc.mq (closed)");
    return 1;
  }
  ipc_mq_attr_t a;
  char rest[96] = "";
  if (ipc_mq_get_attr(u->ud.obj, &a) == 0)
    snprintf(rest, sizeof rest, ", %ld/%ld messages of at most %ld bytes",
             a.curmsgs, a.maxmsg, a.msgsize);
  lua_pushfstring(L, "ipc.mq (%s, fd %d%s%s)", ipc_mq_name(u->ud.obj),
                  ipc_mq_fd(u->ud.obj), rest,
                  ipc_mq_get_blocking(u->ud.obj) == 0 ? ", non-blocking" : "");
  return 1;
}

/* ------------------------------------------------------ module functions */

/* Gives the new handle u (on top) its queue and records its msgsize. */
static int aux_attach(lua_State *L, lipc_mq *u, ipc_mq_t *mq) {
  ipc_mq_attr_t a;
  u->ud.obj = mq;
  int rc = ipc_mq_get_attr(mq, &a);
  if (rc < 0) {
    lipc_fail(L, rc, "open %s", ipc_mq_name(mq));
    aux_close(u);
    return 3;
  }
  u->msgsize = (size_t)a.msgsize;
  return 1;
}

/* The message of a create that a system limit refused: "create /q: invalid
 * argument (maxmsg 11 is above msg_max, 10: /proc/sys/fs/mqueue/msg_max)",
 * pushed as nil, msg, code. */
static int aux_limitfail(lua_State *L, const char *name, int rc,
                         const ipc_mq_attr_t *attr) {
  const char *limit;
  long long value;
  lipc_fail(L, rc, "create %s", name);
  if (!ipc_mq_which_limit(rc, attr, &limit, &value))
    return 3;
  char why[200];
  long maxmsg = attr->maxmsg, msgsize = attr->msgsize;
  if (strcmp(limit, "msg_max") == 0)
    snprintf(why, sizeof why,
             "maxmsg %ld is above msg_max, %lld: " LIPC_MQ_PROC "msg_max",
             maxmsg, value);
  else if (strcmp(limit, "msgsize_max") == 0)
    snprintf(why, sizeof why,
             "msgsize %ld is above msgsize_max, %lld: " LIPC_MQ_PROC
             "msgsize_max",
             msgsize, value);
  else if (strcmp(limit, "HARD_MSGMAX") == 0)
    snprintf(why, sizeof why,
             "maxmsg %ld is above the kernel's HARD_MSGMAX, %lld", maxmsg,
             value);
  else if (strcmp(limit, "HARD_MSGSIZEMAX") == 0)
    snprintf(why, sizeof why,
             "msgsize %ld is above the kernel's HARD_MSGSIZEMAX, %lld", msgsize,
             value);
  else if (strcmp(limit, "queues_max") == 0)
    snprintf(why, sizeof why,
             "the system has queues_max, %lld, queues: " LIPC_MQ_PROC
             "queues_max",
             value);
  else
    snprintf(why, sizeof why,
             "this user's queues would pass RLIMIT_MSGQUEUE, %lld bytes "
             "(ulimit -q)",
             value);
  lua_pushfstring(L, "%s (%s)", lua_tostring(L, -2), why);
  lua_replace(L, -3);
  return 3;
}

/* ipc.mq.create(name, [opts]) -> q, or nil, msg, code. opts: maxmsg,
 * msgsize, perm. */
static int l_create(lua_State *L) {
  static const char *const known[] = {"maxmsg", "msgsize", "perm", NULL};
  const char *name = lipc_checkname(L, 1);
  lipc_checkopts(L, 2, known);
  ipc_mq_attr_t attr = {0, 0, 0};
  int perm = 0;
  if (lua_istable(L, 2)) {
    attr.maxmsg = aux_optcount(L, 2, "maxmsg");
    attr.msgsize = aux_optcount(L, 2, "msgsize");
    lua_getfield(L, 2, "perm");
    perm = lipc_checkperm(L, -1, 2, "perm");
    lua_pop(L, 1);
  }
  lipc_mq *u = lipc_newhandle(L, LIPC_MQ, sizeof *u);
  ipc_mq_t *mq;
  int rc = ipc_mq_create(&mq, name, &attr, perm);
  if (rc < 0)
    return aux_limitfail(L, name, rc, &attr);
  return aux_attach(L, u, mq);
}

/* ipc.mq.open(name, ["rw" | "r" | "w"]) -> q, or nil, msg, code. "r" only
 * receives, "w" only sends. */
static int l_open(lua_State *L) {
  static const char *const modes[] = {"rw", "r", "w", NULL};
  static const int flags[] = {0, IPC_RDONLY, IPC_WRONLY};
  const char *name = lipc_checkname(L, 1);
  int how = luaL_checkoption(L, 2, "rw", modes);
  lipc_mq *u = lipc_newhandle(L, LIPC_MQ, sizeof *u);
  ipc_mq_t *mq;
  int rc = ipc_mq_open(&mq, name, flags[how]);
  if (rc < 0)
    return lipc_fail(L, rc, "open %s", name);
  return aux_attach(L, u, mq);
}

/* ipc.mq.unlink(name) -> true, or nil, msg, code. */
static int l_unlink(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  int rc = ipc_mq_unlink(name);
  if (rc < 0)
    return lipc_fail(L, rc, "unlink %s", name);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.mq.limits() -> {msg_max, msgsize_max, msg_default, msgsize_default,
 * queues_max, bytes_max (-1: none)}, or nil, msg, code. */
static int l_limits(lua_State *L) {
  ipc_mq_limits_t lim;
  int rc = ipc_mq_get_limits(&lim);
  if (rc < 0)
    return lipc_fail(L, rc, "limits");
  lua_createtable(L, 0, 6);
#define LIPC__FIELD(f)                                                         \
  lua_pushinteger(L, (lua_Integer)lim.f);                                      \
  lua_setfield(L, -2, #f);
  LIPC__FIELD(msg_max)
  LIPC__FIELD(msgsize_max)
  LIPC__FIELD(msg_default)
  LIPC__FIELD(msgsize_default)
  LIPC__FIELD(queues_max)
  LIPC__FIELD(bytes_max)
#undef LIPC__FIELD
  return 1;
}

static const luaL_Reg mqlib[] = {
    {"create", l_create}, {"open", l_open}, {"unlink", l_unlink},
    {"limits", l_limits}, {NULL, NULL},
};

static const luaL_Reg meth[] = {
    {"send", m_send},       {"receive", m_receive},
    {"getattr", m_getattr}, {"setblocking", m_setblocking},
    {"fd", m_fd},           {"name", m_name},
    {"close", m_close},     {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

/* Its methods get the metatable as upvalue 1 (lipc_newclass). */
void lipc_open_mq(lua_State *L) {
  lipc_newclass(L, LIPC_MQ, meth, metameth);
  lipc_newlib(L, mqlib);
  lua_setfield(L, -2, "mq");
}
