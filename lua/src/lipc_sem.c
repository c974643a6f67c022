/* lipc_sem.c: semaphores and locks: the ipc.sem table and its handles
 * (POSIX semaphores, named or in a segment), ipc.semset (System V sets,
 * with undo), and ipc.mutex (a robust mutex in a segment). libipc
 * (libipc/src/sem.c) does the work; waits follow the module's timeout and
 * EINTR rules. */
#include "lipc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The most operations set:op takes without allocating. */
#define LIPC_SEMOPS_STACK 16

/* ------------------------------------------------------------- arguments */

/* The segment at arg and the offset at arg + 1 of an object of `size`
 * bytes: the segment open and writable, the bytes inside it, the offset
 * aligned. Raises naming what is wrong, as the segment methods do. */
static ipc_shm_t *aux_checkplace(lua_State *L, int arg, size_t size,
                                 size_t align, size_t *offset) {
  lipc_ud *ud = lipc_checkhandle(L, arg, LIPC_SHM, 1);
  ipc_shm_t *seg = ud->obj;
  if (!ipc_shm_writable(seg))
    luaL_argerror(L, arg, "segment is read-only");
  lua_Integer off = lipc_checkinteger(L, arg + 1);
  uint64_t segsize = ipc_shm_size(seg);
  char msg[120];
  if (off < 0 || (uint64_t)off > segsize || size > segsize - (uint64_t)off) {
    /* lua_pushfstring of 5.1 and 5.2 has no 64-bit integer format. */
    snprintf(msg, sizeof msg, "offset %lld + %zu out of bounds of %llu bytes",
             (long long)off, size, (unsigned long long)segsize);
    luaL_argerror(L, arg + 1, msg);
  }
  if ((uint64_t)off % align != 0) {
    snprintf(msg, sizeof msg, "offset %lld is not aligned to %zu bytes",
             (long long)off, align);
    luaL_argerror(L, arg + 1, msg);
  }
  *offset = (size_t)off;
  return seg;
}

/* nil, "in_shm at offset 64: <message>", code (or "attach ..."). */
static int aux_placefail(lua_State *L, int code, int init, size_t offset) {
  char where[64];
  snprintf(where, sizeof where, "%s at offset %zu", init ? "in_shm" : "attach",
           offset);
  return lipc_fail(L, code, "%s", where);
}

/* An integer in [lo, hi] at arg, or the default when absent (dflt < lo:
 * required). Raises "<what> must be lo..hi" otherwise. */
static lua_Integer aux_checkrange(lua_State *L, int arg, lua_Integer lo,
                                  lua_Integer hi, lua_Integer dflt,
                                  const char *what) {
  if (dflt >= lo && lua_isnoneornil(L, arg))
    return dflt;
  lua_Integer v = lipc_checkinteger(L, arg);
  if (v < lo || v > hi) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be %lld..%lld", what, (long long)lo,
             (long long)hi);
    luaL_argerror(L, arg, msg);
  }
  return v;
}

/* "key 0x0000162e" or "private", for messages. */
static const char *aux_keyname(lua_State *L, key_t key) {
  char buf[32];
  if (key == IPC_PRIVATE)
    return "private";
  snprintf(buf, sizeof buf, "key 0x%08x", (unsigned)key);
  lua_pushstring(L, buf); /* returns void in 5.1 */
  return lua_tostring(L, -1);
}

/* A System V key at arg: an integer in [-2^31, 2^32), as ftok gives it or
 * as ipcs shows it. */
static key_t aux_checkkey(lua_State *L, int arg) {
  lua_Integer k = lipc_checkinteger(L, arg);
  luaL_argcheck(L, k >= INT32_MIN && k <= (lua_Integer)UINT32_MAX, arg,
                "key out of range");
  return (key_t)(uint32_t)k;
}

/* ------------------------------------------------------- POSIX semaphores */

static ipc_sem_t *aux_checksem(lua_State *L) {
  return ((lipc_ud *)lipc_checkself(L, LIPC_SEM))->obj;
}

/* nil, "<what> [/name]: <message>", code. */
static int aux_semfail(lua_State *L, ipc_sem_t *s, int code, const char *what) {
  const char *name = ipc_sem_name(s);
  if (name)
    return lipc_fail(L, code, "%s %s", what, name);
  return lipc_fail(L, code, "%s", what);
}

/* s:wait([timeout]) -> true, or nil, msg, code (ETIMEDOUT). */
static int m_sem_wait(lua_State *L) {
  ipc_sem_t *s = aux_checksem(L);
  lipc_deadline d;
  int rc = ipc_sem_wait(s, lipc_deadline_begin(&d, lipc_checktimeout(L, 2)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    s = aux_checksem(L); /* the hook may have closed it */
    rc = ipc_sem_wait(s, lipc_deadline_ms(&d));
  }
  if (rc < 0)
    return aux_semfail(L, s, rc, "wait");
  lua_pushboolean(L, 1);
  return 1;
}

/* s:trywait() -> true, or nil, msg, ipc.EAGAIN when the value is 0. */
static int m_sem_trywait(lua_State *L) {
  ipc_sem_t *s = aux_checksem(L);
  int rc = ipc_sem_trywait(s);
  if (rc < 0)
    return aux_semfail(L, s, rc, "trywait");
  lua_pushboolean(L, 1);
  return 1;
}

/* s:post() -> true, or nil, msg, ipc.EOVERFLOW at the maximum. */
static int m_sem_post(lua_State *L) {
  ipc_sem_t *s = aux_checksem(L);
  int rc = ipc_sem_post(s);
  if (rc < 0)
    return aux_semfail(L, s, rc, "post");
  lua_pushboolean(L, 1);
  return 1;
}

static int m_sem_value(lua_State *L) {
  lua_pushinteger(L, ipc_sem_value(aux_checksem(L)));
  return 1;
}

/* s:name() -> "/x", or nil for a semaphore in a segment. */
static int m_sem_name(lua_State *L) {
  const char *name = ipc_sem_name(aux_checksem(L));
  if (name)
    lua_pushstring(L, name);
  else
    lua_pushnil(L);
  return 1;
}

/* Marks the handle closed before closing, so nothing can reach it. */
static void aux_semclose(lipc_ud *ud) {
  ipc_sem_t *s = ud->obj;
  ud->obj = NULL;
  ipc_sem_close(s);
}

/* s:close() -> true. Never unlinks, never destroys. */
static int m_sem_close(lua_State *L) {
  aux_semclose(lipc_checkhandle(L, 1, LIPC_SEM, 1));
  lua_pushboolean(L, 1);
  return 1;
}

static int mm_sem_gc(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SEM, 0);
  if (ud->obj != NULL)
    aux_semclose(ud);
  return 0;
}

/* "ipc.sem (/x, value 2)", "ipc.sem (in a segment, value 0)",
 * "ipc.sem (closed)". */
static int mm_sem_tostring(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SEM, 0);
  ipc_sem_t *s = ud->obj;
  if (s == NULL) {
    lua_pushliteral(L, "ipc.sem (closed)");
    return 1;
  }
  const char *name = ipc_sem_name(s);
  lua_pushfstring(L, "ipc.sem (%s, value %d)", name ? name : "in a segment",
                  ipc_sem_value(s));
  return 1;
}

/* ipc.sem.create(name, [value], [mode]) -> s, or nil, msg, code. */
static int l_sem_create(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  lua_Integer value =
      aux_checkrange(L, 2, 0, IPC_SEM_VALUE_MAX, 0, "initial value");
  int mode = lipc_checkperm(L, 3, 3, "mode");
  lipc_ud *ud = lipc_newhandle(L, LIPC_SEM, sizeof(lipc_ud));
  ipc_sem_t *s;
  int rc = ipc_sem_create(&s, name, (unsigned)value, mode);
  if (rc < 0)
    return lipc_fail(L, rc, "create %s", name);
  ud->obj = s;
  return 1;
}

/* ipc.sem.open(name) -> s, or nil, msg, code. */
static int l_sem_open(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  lipc_ud *ud = lipc_newhandle(L, LIPC_SEM, sizeof(lipc_ud));
  ipc_sem_t *s;
  int rc = ipc_sem_open(&s, name);
  if (rc < 0)
    return lipc_fail(L, rc, "open %s", name);
  ud->obj = s;
  return 1;
}

/* ipc.sem.unlink(name) -> true, or nil, msg, code. */
static int l_sem_unlink(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  int rc = ipc_sem_unlink(name);
  if (rc < 0)
    return lipc_fail(L, rc, "unlink %s", name);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.sem.in_shm(seg, offset, [value]) -> s: initialises a semaphore in
 * the segment. ipc.sem.attach(seg, offset) -> s: one made there before. */
static int aux_sem_in_shm(lua_State *L, int init) {
  size_t offset;
  ipc_shm_t *seg = aux_checkplace(L, 1, IPC_SEM_SIZE, IPC_SEM_ALIGN, &offset);
  lua_Integer value =
      init ? aux_checkrange(L, 3, 0, IPC_SEM_VALUE_MAX, 0, "initial value") : 0;
  lipc_ud *ud = lipc_newhandle(L, LIPC_SEM, sizeof(lipc_ud));
  ipc_sem_t *s;
  int rc = init ? ipc_sem_init(&s, seg, offset, (unsigned)value)
                : ipc_sem_attach(&s, seg, offset);
  if (rc < 0)
    return aux_placefail(L, rc, init, offset);
  ud->obj = s;
  return 1;
}

static int l_sem_in_shm(lua_State *L) { return aux_sem_in_shm(L, 1); }

static int l_sem_attach(lua_State *L) { return aux_sem_in_shm(L, 0); }

/* ------------------------------------------------ System V semaphore sets */

static ipc_semset_t *aux_checkset(lua_State *L) {
  return ((lipc_ud *)lipc_checkself(L, LIPC_SEMSET))->obj;
}

/* The semaphore number at arg: 0 .. count - 1. */
static unsigned short aux_checknum(lua_State *L, int arg, ipc_semset_t *set) {
  return (unsigned short)aux_checkrange(L, arg, 0, ipc_semset_count(set) - 1,
                                        -1, "semaphore number");
}

static int aux_setfail(lua_State *L, ipc_semset_t *set, int code,
                       const char *what) {
  return lipc_fail(L, code, "%s id %d", what, ipc_semset_id(set));
}

/* One operation, the table on top of the stack: {num, delta, undo = b}.
 * Raises as argument 2, naming the operation when there are several. */
static void aux_semop(lua_State *L, ipc_semset_t *set, int i, int many,
                      ipc_semop_t *op) {
  int t = lua_gettop(L);
  char what[48];
  if (many)
    snprintf(what, sizeof what, "operation %d: ", i);
  else
    what[0] = '\0';
  if (!lua_istable(L, t))
    luaL_argerror(L, 2,
                  lua_pushfstring(L, "%stable expected, got %s", what,
                                  luaL_typename(L, t)));
  /* Nothing but [1], [2] and undo: a misspelt "undo" must not pass. */
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    int ok = lua_type(L, -1) == LUA_TSTRING
                 ? strcmp(lua_tostring(L, -1), "undo") == 0
                 : lipc_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
                       lua_tointeger(L, -1) <= 2;
    if (!ok)
      luaL_argerror(
          L, 2,
          lua_pushfstring(L, "%s{num, delta, undo = true} expected", what));
  }
  lua_rawgeti(L, t, 1);
  lua_rawgeti(L, t, 2);
  lua_getfield(L, t, "undo");
  lua_Integer num = -1, delta = INT32_MIN;
  if (lipc_isinteger(L, t + 1))
    num = lua_tointeger(L, t + 1);
  if (lipc_isinteger(L, t + 2))
    delta = lua_tointeger(L, t + 2);
  if (num < 0 || num >= ipc_semset_count(set))
    luaL_argerror(L, 2,
                  lua_pushfstring(L, "%ssemaphore number must be 0..%d", what,
                                  ipc_semset_count(set) - 1));
  if (delta < INT16_MIN || delta > INT16_MAX)
    luaL_argerror(L, 2,
                  lua_pushfstring(L, "%sdelta must be -32768..32767", what));
  if (!lua_isnil(L, t + 3) && !lua_isboolean(L, t + 3))
    luaL_argerror(L, 2, lua_pushfstring(L, "%sundo must be a boolean", what));
  op->num = (unsigned short)num;
  op->op = (short)delta;
  op->flags = lua_toboolean(L, t + 3) ? IPC_SEM_UNDO : 0;
  lua_settop(L, t);
}

/* set:op(ops, [timeout]) -> true, or nil, msg, code. ops is one operation
 * {num, delta, undo = true} or a list of them, done atomically. */
static int m_set_op(lua_State *L) {
  ipc_semset_t *set = aux_checkset(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  double timeout = lipc_checktimeout(L, 3);
  lua_settop(L, 2);
  ipc_semop_t stack[LIPC_SEMOPS_STACK], *ops = stack;
  size_t n;
  lua_pushnil(L);
  luaL_argcheck(L, lua_next(L, 2), 2, "no operation");
  lua_settop(L, 2);
  lua_rawgeti(L, 2, 1);
  int many = lua_istable(L, -1);
  lua_pop(L, 1);
  if (many) {
    n = lipc_rawlen(L, 2);
    if (n > LIPC_SEMOPS_STACK)
      ops = lua_newuserdata(L, n * sizeof *ops); /* collected with the call */
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, 2, (int)i + 1);
      aux_semop(L, set, (int)i + 1, 1, &ops[i]);
      lua_pop(L, 1);
    }
  } else {
    n = 1;
    lua_pushvalue(L, 2);
    aux_semop(L, set, 1, 0, &ops[0]);
    lua_pop(L, 1);
  }
  lipc_deadline d;
  int rc = ipc_semset_op(set, ops, n, lipc_deadline_begin(&d, timeout));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    set = aux_checkset(L);
    rc = ipc_semset_op(set, ops, n, lipc_deadline_ms(&d));
  }
  if (rc < 0)
    return aux_setfail(L, set, rc, "op");
  lua_pushboolean(L, 1);
  return 1;
}

/* set:get(num) -> value, pid of the last operation, waiters for more,
 * waiters for zero; or nil, msg, code. */
static int m_set_get(lua_State *L) {
  ipc_semset_t *set = aux_checkset(L);
  int num = aux_checknum(L, 2, set);
  ipc_semset_sem_t info;
  int rc = ipc_semset_get(set, num, &info);
  if (rc < 0)
    return aux_setfail(L, set, rc, "get");
  lua_pushinteger(L, info.value);
  lua_pushinteger(L, info.pid);
  lua_pushinteger(L, info.ncnt);
  lua_pushinteger(L, info.zcnt);
  return 4;
}

/* set:set(num, value) -> set, or nil, msg, code. */
static int m_set_set(lua_State *L) {
  ipc_semset_t *set = aux_checkset(L);
  int num = aux_checknum(L, 2, set);
  int value = (int)aux_checkrange(L, 3, 0, IPC_SEMSET_VALUE_MAX, -1, "value");
  int rc = ipc_semset_set(set, num, value);
  if (rc < 0)
    return aux_setfail(L, set, rc, "set");
  lua_settop(L, 1);
  return 1;
}

/* set:stat() -> {nsems, mode, uid, gid, cuid, cgid, otime, ctime}. */
static int m_set_stat(lua_State *L) {
  ipc_semset_t *set = aux_checkset(L);
  ipc_semset_stat_t st;
  int rc = ipc_semset_stat(set, &st);
  if (rc < 0)
    return aux_setfail(L, set, rc, "stat");
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, st.nsems);
  lua_setfield(L, -2, "nsems");
  lua_pushinteger(L, st.mode);
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, (lua_Integer)st.cuid);
  lua_setfield(L, -2, "cuid");
  lua_pushinteger(L, (lua_Integer)st.cgid);
  lua_setfield(L, -2, "cgid");
  lua_pushinteger(L, (lua_Integer)st.otime);
  lua_setfield(L, -2, "otime");
  lua_pushinteger(L, (lua_Integer)st.ctime);
  lua_setfield(L, -2, "ctime");
  return 1;
}

/* set:remove() -> true: removes the set now (waiters get EIDRM). */
static int m_set_remove(lua_State *L) {
  ipc_semset_t *set = aux_checkset(L);
  int rc = ipc_semset_remove(set);
  if (rc < 0)
    return aux_setfail(L, set, rc, "remove");
  lua_pushboolean(L, 1);
  return 1;
}

static int m_set_id(lua_State *L) {
  lua_pushinteger(L, ipc_semset_id(aux_checkset(L)));
  return 1;
}

static int m_set_count(lua_State *L) {
  lua_pushinteger(L, ipc_semset_count(aux_checkset(L)));
  return 1;
}

static void aux_setclose(lipc_ud *ud) {
  ipc_semset_t *set = ud->obj;
  ud->obj = NULL;
  ipc_semset_close(set);
}

/* set:close() -> true. Never removes the set. */
static int m_set_close(lua_State *L) {
  aux_setclose(lipc_checkhandle(L, 1, LIPC_SEMSET, 1));
  lua_pushboolean(L, 1);
  return 1;
}

static int mm_set_gc(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SEMSET, 0);
  if (ud->obj != NULL)
    aux_setclose(ud);
  return 0;
}

/* "ipc.semset (id 5, 3 semaphores)", "ipc.semset (id 5, removed)",
 * "ipc.semset (closed)". */
static int mm_set_tostring(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SEMSET, 0);
  ipc_semset_t *set = ud->obj;
  ipc_semset_stat_t st;
  if (set == NULL)
    lua_pushliteral(L, "ipc.semset (closed)");
  else if (ipc_semset_stat(set, &st) < 0)
    lua_pushfstring(L, "ipc.semset (id %d, removed)", ipc_semset_id(set));
  else
    lua_pushfstring(L, "ipc.semset (id %d, %d semaphore%s)", ipc_semset_id(set),
                    st.nsems, st.nsems == 1 ? "" : "s");
  return 1;
}

/* ipc.semset.create(key | nil, n, [initial], [mode]) -> set, or nil, msg,
 * code. initial: one value for all, or a list of n values. */
static int l_set_create(lua_State *L) {
  key_t key = lua_isnil(L, 1) ? IPC_PRIVATE : aux_checkkey(L, 1);
  int n = (int)aux_checkrange(L, 2, 1, 65535, -1, "count");
  int mode = lipc_checkperm(L, 4, 4, "mode");
  lua_settop(L, 4); /* the buffer below must not take an absent arg's place */
  int *values = lua_newuserdata(L, (size_t)n * sizeof *values);
  if (lua_istable(L, 3)) {
    luaL_argcheck(L, lipc_rawlen(L, 3) == (size_t)n, 3,
                  lua_pushfstring(L, "a list of %d values expected", n));
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 3, i + 1);
      lua_Integer v = lipc_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
      luaL_argcheck(L, v >= 0 && v <= IPC_SEMSET_VALUE_MAX, 3,
                    lua_pushfstring(L, "value %d must be 0..%d", i + 1,
                                    IPC_SEMSET_VALUE_MAX));
      values[i] = (int)v;
      lua_pop(L, 1);
    }
  } else {
    int v =
        (int)aux_checkrange(L, 3, 0, IPC_SEMSET_VALUE_MAX, 0, "initial value");
    for (int i = 0; i < n; i++)
      values[i] = v;
  }
  lipc_ud *ud = lipc_newhandle(L, LIPC_SEMSET, sizeof(lipc_ud));
  ipc_semset_t *set;
  int rc = ipc_semset_create(&set, key, n, values, mode);
  if (rc < 0)
    return lipc_fail(L, rc, "create %s", aux_keyname(L, key));
  ud->obj = set;
  return 1;
}

/* ipc.semset.open(key | {id = n}, [timeout]) -> set, or nil, msg, code:
 * waits for the creator to have initialised it. */
static int l_set_open(lua_State *L) {
  static const char *const known[] = {"id", NULL};
  key_t key = IPC_PRIVATE;
  int id = -1;
  if (lua_istable(L, 1)) {
    lipc_checkopts(L, 1, known);
    lua_getfield(L, 1, "id");
    lua_Integer v = lipc_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    luaL_argcheck(L, v >= 0 && v <= INT32_MAX, 1,
                  "id must be an integer in 0..2^31-1");
    lua_pop(L, 1);
    id = (int)v;
  } else {
    key = aux_checkkey(L, 1);
    luaL_argcheck(L, key != IPC_PRIVATE, 1,
                  "key 0 is IPC_PRIVATE: open by {id = n}");
  }
  lipc_deadline d;
  lipc_deadline_start(&d, lipc_checktimeout(L, 2));
  lipc_ud *ud = lipc_newhandle(L, LIPC_SEMSET, sizeof(lipc_ud));
  ipc_semset_t *set;
  int rc;
  while ((rc = ipc_semset_open(&set, key, id, lipc_deadline_ms(&d))) ==
             IPC_EINTR &&
         lipc_interrupted(L))
    ;
  if (rc < 0 && key == IPC_PRIVATE)
    return lipc_fail(L, rc, "open id %d", id);
  if (rc < 0)
    return lipc_fail(L, rc, "open %s", aux_keyname(L, key));
  ud->obj = set;
  return 1;
}

/* ------------------------------------------------------------ robust mutex */

static ipc_mutex_t *aux_checkmutex(lua_State *L) {
  return ((lipc_ud *)lipc_checkself(L, LIPC_MUTEX))->obj;
}

/* m:lock([timeout]) -> true; or nil, msg, code: ipc.EOWNERDEAD (the lock
 * IS held: repair, then m:consistent()), ETIMEDOUT, EDEADLK,
 * ENOTRECOVERABLE. */
static int m_mutex_lock(lua_State *L) {
  ipc_mutex_t *m = aux_checkmutex(L);
  lipc_deadline d;
  int rc = ipc_mutex_lock(m, lipc_deadline_begin(&d, lipc_checktimeout(L, 2)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    m = aux_checkmutex(L);
    rc = ipc_mutex_lock(m, lipc_deadline_ms(&d));
  }
  if (rc < 0)
    return lipc_fail(L, rc, "lock");
  lua_pushboolean(L, 1);
  return 1;
}

/* m:consistent() -> true, or nil, msg, code (EPERM: not held here; EINVAL:
 * its owner did not die). */
static int m_mutex_consistent(lua_State *L) {
  int rc = ipc_mutex_consistent(aux_checkmutex(L));
  if (rc < 0)
    return lipc_fail(L, rc, "consistent");
  lua_pushboolean(L, 1);
  return 1;
}

/* m:unlock() -> true, or nil, msg, ipc.EPERM (not held by this thread). */
static int m_mutex_unlock(lua_State *L) {
  int rc = ipc_mutex_unlock(aux_checkmutex(L));
  if (rc < 0)
    return lipc_fail(L, rc, "unlock");
  lua_pushboolean(L, 1);
  return 1;
}

/* m:close() -> true. Closing a mutex this thread holds raises: its bytes
 * must stay mapped until it is unlocked (see ipc_mutex_close). */
static int m_mutex_close(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_MUTEX, 1);
  if (ipc_mutex_owner(ud->obj) == gettid())
    luaL_error(L, "attempt to close a locked %s (unlock it first)", LIPC_MUTEX);
  ipc_mutex_t *m = ud->obj;
  ud->obj = NULL;
  ipc_mutex_close(m);
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc: a mutex still held stays held, its mapping kept (libipc's rule),
 * until this thread ends and the next locker gets EOWNERDEAD. */
static int mm_mutex_gc(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_MUTEX, 0);
  ipc_mutex_t *m = ud->obj;
  ud->obj = NULL;
  ipc_mutex_close(m);
  return 0;
}

/* "ipc.mutex (unlocked)", "ipc.mutex (locked by thread 1234)",
 * "ipc.mutex (owner died)", "ipc.mutex (closed)". */
static int mm_mutex_tostring(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_MUTEX, 0);
  if (ud->obj == NULL) {
    lua_pushliteral(L, "ipc.mutex (closed)");
    return 1;
  }
  pid_t owner = ipc_mutex_owner(ud->obj);
  if (owner == IPC_EOWNERDEAD)
    lua_pushliteral(L, "ipc.mutex (owner died)");
  else if (owner == 0)
    lua_pushliteral(L, "ipc.mutex (unlocked)");
  else
    lua_pushfstring(L, "ipc.mutex (locked by thread %d)", (int)owner);
  return 1;
}

/* ipc.mutex.in_shm(seg, offset) -> m: initialises a mutex in the segment.
 * ipc.mutex.attach(seg, offset) -> m: one made there before. */
static int aux_mutex_in_shm(lua_State *L, int init) {
  size_t offset;
  ipc_shm_t *seg =
      aux_checkplace(L, 1, IPC_MUTEX_SIZE, IPC_MUTEX_ALIGN, &offset);
  lipc_ud *ud = lipc_newhandle(L, LIPC_MUTEX, sizeof(lipc_ud));
  ipc_mutex_t *m;
  int rc = init ? ipc_mutex_init(&m, seg, offset)
                : ipc_mutex_attach(&m, seg, offset);
  if (rc < 0)
    return aux_placefail(L, rc, init, offset);
  ud->obj = m;
  return 1;
}

static int l_mutex_in_shm(lua_State *L) { return aux_mutex_in_shm(L, 1); }

static int l_mutex_attach(lua_State *L) { return aux_mutex_in_shm(L, 0); }

/* ------------------------------------------------------------- the tables */

static const luaL_Reg semlib[] = {
    {"create", l_sem_create}, {"open", l_sem_open},
    {"unlink", l_sem_unlink}, {"in_shm", l_sem_in_shm},
    {"attach", l_sem_attach}, {NULL, NULL},
};

static const luaL_Reg sem_meth[] = {
    {"wait", m_sem_wait},   {"trywait", m_sem_trywait}, {"post", m_sem_post},
    {"value", m_sem_value}, {"name", m_sem_name},       {"close", m_sem_close},
    {NULL, NULL},
};

static const luaL_Reg sem_metameth[] = {
    {"__gc", mm_sem_gc},
    {"__tostring", mm_sem_tostring},
    {NULL, NULL},
};

static const luaL_Reg setlib[] = {
    {"create", l_set_create},
    {"open", l_set_open},
    {NULL, NULL},
};

static const luaL_Reg set_meth[] = {
    {"op", m_set_op},       {"get", m_set_get},       {"set", m_set_set},
    {"stat", m_set_stat},   {"remove", m_set_remove}, {"id", m_set_id},
    {"count", m_set_count}, {"close", m_set_close},   {NULL, NULL},
};

static const luaL_Reg set_metameth[] = {
    {"__gc", mm_set_gc},
    {"__tostring", mm_set_tostring},
    {NULL, NULL},
};

static const luaL_Reg mutexlib[] = {
    {"in_shm", l_mutex_in_shm},
    {"attach", l_mutex_attach},
    {NULL, NULL},
};

static const luaL_Reg mutex_meth[] = {
    {"lock", m_mutex_lock},
    {"consistent", m_mutex_consistent},
    {"unlock", m_mutex_unlock},
    {"close", m_mutex_close},
    {NULL, NULL},
};

static const luaL_Reg mutex_metameth[] = {
    {"__gc", mm_mutex_gc},
    {"__tostring", mm_mutex_tostring},
    {NULL, NULL},
};

/* Sets t[name] = v for the table on top of the stack. */
static void aux_setint(lua_State *L, const char *name, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, name);
}

void lipc_open_sem(lua_State *L) {
  lipc_newclass(L, LIPC_SEM, sem_meth, sem_metameth);
  lipc_newclass(L, LIPC_SEMSET, set_meth, set_metameth);
  lipc_newclass(L, LIPC_MUTEX, mutex_meth, mutex_metameth);
  lipc_newlib(L, semlib);
  aux_setint(L, "SIZE", IPC_SEM_SIZE);
  aux_setint(L, "ALIGN", IPC_SEM_ALIGN);
  aux_setint(L, "VALUE_MAX", IPC_SEM_VALUE_MAX);
  lua_setfield(L, -2, "sem");
  lipc_newlib(L, setlib);
  aux_setint(L, "VALUE_MAX", IPC_SEMSET_VALUE_MAX);
  lua_setfield(L, -2, "semset");
  lipc_newlib(L, mutexlib);
  aux_setint(L, "SIZE", IPC_MUTEX_SIZE);
  aux_setint(L, "ALIGN", IPC_MUTEX_ALIGN);
  lua_setfield(L, -2, "mutex");
}
