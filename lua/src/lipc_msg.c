/* lipc_msg.c: System V message queues, the ipc.msg table (create, open,
 * ftok, limits) and the queue handles (class "ipc.msg"): typed send, receive
 * with type selection, whole messages of any size or an exact buffer with
 * optional truncation, stat, the byte limit and removal. A System V queue
 * has no descriptor, so the handles have no :fd(). */
#include "lipc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first size of a handle's receive buffer (the default msgmax); it
 * doubles when a message does not fit, up to LIPC_MSG_BUFMAX. */
#define LIPC_MSG_BUF0 8192
#define LIPC_MSG_BUFMAX ((size_t)1 << 31)

/* An ipc.msg: the queue and the buffer receive copies into (a Lua error
 * never interrupts a libipc call; the string is made afterwards). */
typedef struct lipc_msg {
  lipc_ud ud; /* ipc_msg_t * */
  char *buf;
  size_t bufcap;
} lipc_msg;

/* ------------------------------------------------------------- arguments */

/* A System V key at arg: an integer in [-2^31, 2^32), as ftok gives it or
 * as ipcs shows it (unsigned). */
static key_t aux_checkkey(lua_State *L, int arg) {
  lua_Integer k = lipc_checkinteger(L, arg);
  luaL_argcheck(L, k >= INT32_MIN && k <= (lua_Integer)UINT32_MAX, arg,
                "key out of range");
  return (key_t)(uint32_t)k;
}

/* A message type at arg: an integer that fits a C long. */
static long aux_checktype(lua_State *L, int arg) {
  return (long)lipc_checkinteger(L, arg); /* 64 bits both, on Linux */
}

/* nil, "<what> id <n>: <message>", code. */
static int aux_fail(lua_State *L, const lipc_msg *u, int code,
                    const char *what) {
  return lipc_fail(L, code, "%s id %d", what, ipc_msg_id(u->ud.obj));
}

/* Appends s to the message of the failure triple on top. */
static int aux_explain(lua_State *L, const char *s) {
  lua_pushvalue(L, -2);
  lua_pushstring(L, s);
  lua_concat(L, 2);
  lua_replace(L, -3);
  return 3;
}

/* Makes u->buf at least need bytes. 0 or IPC_ENOMEM (the buffer is then
 * as it was). */
static int aux_growbuf(lipc_msg *u, size_t need) {
  if (need <= u->bufcap && u->buf != NULL)
    return 0;
  char *p = realloc(u->buf, need ? need : 1);
  if (p == NULL)
    return IPC_ENOMEM;
  u->buf = p;
  u->bufcap = need;
  return 0;
}

/* ------------------------------------------------------------ send, recv */

/* q:send(type, s, [timeout]) -> true, or nil, msg, code. */
static int m_send(lua_State *L) {
  lipc_msg *u = ((lipc_msg *)lipc_checkself(L, LIPC_MSG));
  long type = aux_checktype(L, 2);
  luaL_argcheck(L, type > 0, 2, "type must be positive");
  size_t len;
  const char *s = luaL_checklstring(L, 3, &len);
  lipc_deadline d;
  int rc = ipc_msg_send(u->ud.obj, type, s, len,
                        lipc_deadline_begin(&d, lipc_checktimeout(L, 4)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_MSG);
    rc = ipc_msg_send(u->ud.obj, type, s, len, lipc_deadline_ms(&d));
  }
  if (rc == IPC_EMSGSIZE) {
    char why[120];
    snprintf(why, sizeof why,
             " (%zu bytes: above msgmax or the queue's byte limit)", len);
    aux_fail(L, u, rc, "send");
    return aux_explain(L, why);
  }
  if (rc < 0)
    return aux_fail(L, u, rc, "send");
  lua_pushboolean(L, 1);
  return 1;
}

/* q:receive([type], [timeout], [opts]) -> s, type; or nil, msg, code.
 * opts.size: take at most that many bytes (E2BIG for a longer message,
 * which stays queued, unless opts.truncate). Without a size the whole
 * message comes, whatever its length. */
static int m_receive(lua_State *L) {
  static const char *const known[] = {"size", "truncate", NULL};
  lipc_msg *u = ((lipc_msg *)lipc_checkself(L, LIPC_MSG));
  long select = lua_isnoneornil(L, 2) ? 0 : aux_checktype(L, 2);
  double timeout = lipc_checktimeout(L, 3);
  lipc_checkopts(L, 4, known);
  size_t size = 0;
  int whole = 1, flags = 0;
  if (lua_istable(L, 4)) {
    lua_getfield(L, 4, "size");
    if (!lua_isnil(L, -1)) {
      lua_Number n = lua_tonumber(L, -1);
      luaL_argcheck(L,
                    lua_type(L, -1) == LUA_TNUMBER && n == floor(n) && n >= 0 &&
                        n < (lua_Number)LIPC_MSG_BUFMAX,
                    4, "size must be an integer in 0..2^31-1");
      size = (size_t)n;
      whole = 0;
    }
    lua_getfield(L, 4, "truncate");
    if (!lua_isnil(L, -1)) {
      luaL_argcheck(L, lua_isboolean(L, -1), 4, "truncate must be a boolean");
      luaL_argcheck(L, !whole, 4, "truncate needs a size");
      if (lua_toboolean(L, -1))
        flags |= IPC_MSG_NOERROR;
    }
    lua_pop(L, 2);
  }
  size_t cap = !whole                      ? size
               : u->bufcap > LIPC_MSG_BUF0 ? u->bufcap
                                           : LIPC_MSG_BUF0;
  if (aux_growbuf(u, cap) < 0)
    return aux_fail(L, u, IPC_ENOMEM, "receive");
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, timeout);
  long type = 0;
  ssize_t n;
  for (;;) {
    n = ipc_msg_receive(u->ud.obj, u->buf, cap, select, &type, flags, ms);
    if (n >= 0)
      break;
    if (n == IPC_E2BIG && whole && cap < LIPC_MSG_BUFMAX) {
      /* The message stays queued: take it with a buffer twice as big. */
      cap *= 2;
      if (aux_growbuf(u, cap) < 0)
        return aux_fail(L, u, IPC_ENOMEM, "receive");
    } else if (n == IPC_EINTR) {
      if (!lipc_interrupted(L))
        break;
      lipc_checkopen(L, u, LIPC_MSG);
    } else {
      break;
    }
    ms = lipc_deadline_ms(&d);
  }
  if (n == IPC_E2BIG && !whole) {
    char why[120];
    snprintf(why, sizeof why,
             " (the message is longer than %zu bytes and stays queued; "
             "truncate = true cuts it)",
             size);
    aux_fail(L, u, (int)n, "receive");
    return aux_explain(L, why);
  }
  if (n < 0)
    return aux_fail(L, u, (int)n, "receive");
  lua_pushlstring(L, u->buf, (size_t)n);
  lua_pushinteger(L, (lua_Integer)type);
  return 2;
}

/* ------------------------------------------------------------- the rest */

/* q:stat() -> {count, bytes, max_bytes, last_sender, last_receiver,
 * send_time, receive_time, change_time, key, uid, gid, mode}, or nil, msg,
 * code. */
static int m_stat(lua_State *L) {
  lipc_msg *u = ((lipc_msg *)lipc_checkself(L, LIPC_MSG));
  ipc_msg_stat_t st;
  int rc = ipc_msg_stat(u->ud.obj, &st);
  if (rc < 0)
    return aux_fail(L, u, rc, "stat");
  lua_createtable(L, 0, 12);
#define LIPC__FIELD(f)                                                         \
  lua_pushinteger(L, (lua_Integer)st.f);                                       \
  lua_setfield(L, -2, #f);
  LIPC__FIELD(count)
  LIPC__FIELD(bytes)
  LIPC__FIELD(max_bytes)
  LIPC__FIELD(last_sender)
  LIPC__FIELD(last_receiver)
  LIPC__FIELD(send_time)
  LIPC__FIELD(receive_time)
  LIPC__FIELD(change_time)
  LIPC__FIELD(uid)
  LIPC__FIELD(gid)
  LIPC__FIELD(mode)
#undef LIPC__FIELD
  lua_pushinteger(L, (lua_Integer)(uint32_t)st.key); /* as ipcs shows it */
  lua_setfield(L, -2, "key");
  return 1;
}

/* q:set_max_bytes(n) -> q, or nil, msg, code. */
static int m_set_max_bytes(lua_State *L) {
  lipc_msg *u = ((lipc_msg *)lipc_checkself(L, LIPC_MSG));
  lua_Integer n = lipc_checkinteger(L, 2);
  luaL_argcheck(L, n > 0, 2, "byte limit must be positive");
  int rc = ipc_msg_set_max_bytes(u->ud.obj, (size_t)n);
  if (rc < 0)
    return aux_fail(L, u, rc, "set_max_bytes");
  lua_settop(L, 1);
  return 1;
}

/* q:remove() -> true, or nil, msg, code: removes the queue and its
 * messages; waiting receivers get EIDRM. */
static int m_remove(lua_State *L) {
  lipc_msg *u = ((lipc_msg *)lipc_checkself(L, LIPC_MSG));
  int rc = ipc_msg_remove(u->ud.obj);
  if (rc < 0)
    return aux_fail(L, u, rc, "remove");
  lua_pushboolean(L, 1);
  return 1;
}

static int m_id(lua_State *L) {
  lua_pushinteger(
      L, ipc_msg_id(((lipc_msg *)lipc_checkself(L, LIPC_MSG))->ud.obj));
  return 1;
}

/* q:key() -> the key it was made or opened with, or nil (private, or by
 * id). */
static int m_key(lua_State *L) {
  key_t key = ipc_msg_key(((lipc_msg *)lipc_checkself(L, LIPC_MSG))->ud.obj);
  if (key == IPC_PRIVATE)
    lua_pushnil(L);
  else
    lua_pushinteger(L, (lua_Integer)(uint32_t)key);
  return 1;
}

static void aux_close(lipc_msg *u) {
  ipc_msg_t *q = u->ud.obj;
  u->ud.obj = NULL;
  free(u->buf);
  u->buf = NULL;
  u->bufcap = 0;
  ipc_msg_close(q);
}

/* q:close() -> true. Frees the handle; the queue stays (see remove). */
static int m_close(lua_State *L) {
  aux_close(((lipc_msg *)lipc_checkself(L, LIPC_MSG)));
  lua_pushboolean(L, 1);
  return 1;
}

static int mm_gc(lua_State *L) {
  lipc_msg *u = lipc_checkhandle(L, 1, LIPC_MSG, 0);
  if (u->ud.obj != NULL)
    aux_close(u);
  return 0;
}

/* "ipc.msg (id 3, key 0x6d01c3a2, 2 messages, 10/16384 bytes)",
 * "ipc.msg (id 4, private, removed)", "ipc.msg (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_msg *u = lipc_checkhandle(L, 1, LIPC_MSG, 0);
  if (u->ud.obj == NULL) {
    lua_pushliteral(L, "ipc.msg (closed)");
    return 1;
  }
  ipc_msg_t *q = u->ud.obj;
  char key[32], rest[80];
  if (ipc_msg_key(q) == IPC_PRIVATE)
    snprintf(key, sizeof key, "private");
  else
    snprintf(key, sizeof key, "key 0x%08x", (unsigned)ipc_msg_key(q));
  ipc_msg_stat_t st;
  int rc = ipc_msg_stat(q, &st);
  if (rc == 0)
    snprintf(rest, sizeof rest, ", %zu messages, %zu/%zu bytes", st.count,
             st.bytes, st.max_bytes);
  else if (rc == IPC_EIDRM || rc == IPC_EINVAL)
    snprintf(rest, sizeof rest, ", removed");
  else
    rest[0] = '\0'; /* no read permission */
  lua_pushfstring(L, "ipc.msg (id %d, %s%s)", ipc_msg_id(q), key, rest);
  return 1;
}

/* ------------------------------------------------------ module functions */

/* Pushes nil, "<what> key 0x0000162e: <message>", code (lua_pushfstring of
 * 5.1 and 5.2 has no width or hex formats). */
static int aux_keyfail(lua_State *L, int code, const char *what, key_t key) {
  char buf[32];
  snprintf(buf, sizeof buf, "key 0x%08x", (unsigned)key);
  return lipc_fail(L, code, "%s %s", what, buf);
}

/* ipc.msg.create([key], [mode]) -> q, or nil, msg, code. nil (or 0) makes
 * a private queue; any other key is created exclusively. */
static int l_create(lua_State *L) {
  key_t key = lua_isnoneornil(L, 1) ? IPC_PRIVATE : aux_checkkey(L, 1);
  int mode = lipc_checkperm(L, 2, 2, "mode");
  lipc_msg *u = lipc_newhandle(L, LIPC_MSG, sizeof *u);
  ipc_msg_t *q;
  int rc = ipc_msg_create(&q, key, mode);
  if (rc < 0 && key == IPC_PRIVATE)
    return lipc_fail(L, rc, "create private");
  if (rc < 0)
    return aux_keyfail(L, rc, "create", key);
  u->ud.obj = q;
  return 1;
}

/* ipc.msg.open(key | {id = n}) -> q, or nil, msg, code. */
static int l_open(lua_State *L) {
  static const char *const known[] = {"id", NULL};
  key_t key = IPC_PRIVATE;
  int id = -1;
  if (lua_istable(L, 1)) {
    lipc_checkopts(L, 1, known);
    lua_getfield(L, 1, "id");
    luaL_argcheck(L, lua_type(L, -1) == LUA_TNUMBER, 1, "id must be a number");
    lua_Number n = lua_tonumber(L, -1);
    luaL_argcheck(L, n >= 0 && n <= INT32_MAX && n == floor(n), 1,
                  "id must be an integer in 0..2^31-1");
    lua_pop(L, 1);
    id = (int)n;
  } else {
    key = aux_checkkey(L, 1);
    luaL_argcheck(L, key != IPC_PRIVATE, 1,
                  "key 0 is IPC_PRIVATE: open by {id = n}");
  }
  lipc_msg *u = lipc_newhandle(L, LIPC_MSG, sizeof *u);
  ipc_msg_t *q;
  int rc = ipc_msg_open(&q, key, id);
  if (rc < 0 && key == IPC_PRIVATE)
    return lipc_fail(L, rc, "open id %d", id);
  if (rc < 0)
    return aux_keyfail(L, rc, "open", key);
  u->ud.obj = q;
  return 1;
}

/* ipc.msg.limits() -> {max_message, max_bytes, max_queues}. */
static int l_limits(lua_State *L) {
  ipc_msg_limits_t lim;
  ipc_msg_get_limits(&lim);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)lim.max_message);
  lua_setfield(L, -2, "max_message");
  lua_pushinteger(L, (lua_Integer)lim.max_bytes);
  lua_setfield(L, -2, "max_bytes");
  lua_pushinteger(L, (lua_Integer)lim.max_queues);
  lua_setfield(L, -2, "max_queues");
  return 1;
}

static const luaL_Reg msglib[] = {
    {"create", l_create},
    {"open", l_open},
    {"limits", l_limits},
    {NULL, NULL},
};

static const luaL_Reg meth[] = {
    {"send", m_send},     {"receive", m_receive},
    {"stat", m_stat},     {"set_max_bytes", m_set_max_bytes},
    {"remove", m_remove}, {"id", m_id},
    {"key", m_key},       {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

/* Its methods get the metatable as upvalue 1 (lipc_newclass). */
void lipc_open_msg(lua_State *L) {
  lipc_newclass(L, LIPC_MSG, meth, metameth);
  lipc_newlib(L, msglib); /* ipc, msg */
  /* ipc.msg.ftok is ipc.shm.ftok: keys serve every System V object. */
  lua_getfield(L, -2, "shm");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "ftok");
    lua_setfield(L, -3, "ftok");
  }
  lua_pop(L, 1);
  lua_setfield(L, -2, "msg");
}
