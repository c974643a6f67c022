/* lipc_shm.c: shared-memory segments, the ipc.shm table (create, open, anon,
 * unlink, ftok, sysv, sysv_open) and the segment handles (class "ipc.shm"):
 * bytes, typed values and atomic words at byte offsets. Every offset and
 * length is checked against the size before the mapping is touched, and a
 * closed handle raises, so no Lua code can reach memory that is not mapped. */
#include "lipc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value types of get, set and the atomics, in the order of type_names. */
enum { T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_I64, T_U64, T_F32, T_F64 };

static const char *const type_names[] = {
    "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", NULL};
static const size_t type_size[] = {1, 1, 2, 2, 4, 4, 8, 8, 4, 8};

/* The atomic types: type_names from T_I32 to T_U64, in the same order. */
static const char *const atomic_names[] = {"i32", "u32", "i64", "u64", NULL};

/* The range set accepts for the types narrower than 64 bits. */
static const lua_Integer type_min[] = {INT8_MIN, 0, INT16_MIN, 0, INT32_MIN, 0};
static const lua_Integer type_max[] = {INT8_MAX,   UINT8_MAX, INT16_MAX,
                                       UINT16_MAX, INT32_MAX, UINT32_MAX};

/* ------------------------------------------------------------- arguments */

/* A segment size at arg: an integer > 0. */
static size_t aux_checksize(lua_State *L, int arg) {
  lua_Integer n = lipc_checkinteger(L, arg);
  luaL_argcheck(L, n > 0, arg, "size must be positive");
  return (size_t)n;
}

/* A System V key at arg: an integer in [-2^31, 2^32), as ftok gives it or
 * as ipcs shows it (unsigned). */
static key_t aux_checkkey(lua_State *L, int arg) {
  lua_Integer k = lipc_checkinteger(L, arg);
  luaL_argcheck(L, k >= INT32_MIN && k <= (lua_Integer)UINT32_MAX, arg,
                "key out of range");
  return (key_t)(uint32_t)k;
}

/* The open segment at arg. */
static ipc_shm_t *aux_check(lua_State *L, int arg) {
  lipc_ud *ud = lipc_checkhandle(L, arg, LIPC_SHM, 1);
  return ud->obj;
}

/* The open, writable segment at 1. */
static ipc_shm_t *aux_checkwritable(lua_State *L) {
  ipc_shm_t *seg = aux_check(L, 1);
  if (!ipc_shm_writable(seg))
    luaL_argerror(L, 1, "segment is read-only");
  return seg;
}

/* The offset at arg, such that [off, off + n) lies in seg. Raises
 * "offset 4090 + 16 out of bounds of 4096 bytes" otherwise. */
static size_t aux_offset(lua_State *L, ipc_shm_t *seg, int arg, lua_Integer n) {
  lua_Integer off = lipc_checkinteger(L, arg);
  uint64_t size = ipc_shm_size(seg);
  if (off < 0 || n < 0 || (uint64_t)off > size ||
      (uint64_t)n > size - (uint64_t)off) {
    char msg[120];
    /* lua_pushfstring of 5.1 and 5.2 has no 64-bit integer format. */
    snprintf(msg, sizeof msg, "offset %lld + %lld out of bounds of %llu bytes",
             (long long)off, (long long)n, (unsigned long long)size);
    luaL_argerror(L, arg, msg);
  }
  return (size_t)off;
}

/* An unsigned 64-bit value at arg: any integer (a negative one stands for
 * the value with the same bits, as in 5.3's integers), or a whole number in
 * [2^63, 2^64), which only a float can hold. */
static uint64_t aux_checku64(lua_State *L, int arg) {
  if (lua_type(L, arg) == LUA_TNUMBER && !lipc_isinteger(L, arg)) {
    lua_Number n = lua_tonumber(L, arg);
    if (n >= 9223372036854775808.0 && n < 18446744073709551616.0 &&
        n == floor(n))
      return (uint64_t)n;
  }
  return (uint64_t)lipc_checkinteger(L, arg);
}

/* The value at arg as type t, its bytes stored at dst (native byte order).
 * Integers must fit the type, except u64 (see aux_checku64). */
static void aux_tovalue(lua_State *L, int arg, int t, void *dst) {
  switch (t) {
  case T_F32: {
    float v = (float)luaL_checknumber(L, arg);
    memcpy(dst, &v, sizeof v);
    return;
  }
  case T_F64: {
    double v = (double)luaL_checknumber(L, arg);
    memcpy(dst, &v, sizeof v);
    return;
  }
  case T_U64: {
    uint64_t v = aux_checku64(L, arg);
    memcpy(dst, &v, sizeof v);
    return;
  }
  case T_I64: {
    int64_t v = (int64_t)lipc_checkinteger(L, arg);
    memcpy(dst, &v, sizeof v);
    return;
  }
  default:
    break;
  }
  lua_Integer v = lipc_checkinteger(L, arg);
  if (v < type_min[t] || v > type_max[t]) {
    char msg[80];
    snprintf(msg, sizeof msg, "value %lld out of range for %s", (long long)v,
             type_names[t]);
    luaL_argerror(L, arg, msg);
  }
  /* Each width in turn: the low bytes of a wider integer are not the value
   * on a big-endian machine. */
  switch (type_size[t]) {
  case 1: {
    uint8_t b = (uint8_t)v;
    memcpy(dst, &b, 1);
    break;
  }
  case 2: {
    uint16_t h = (uint16_t)v;
    memcpy(dst, &h, 2);
    break;
  }
  default: {
    uint32_t w = (uint32_t)v;
    memcpy(dst, &w, 4);
    break;
  }
  }
}

/* Pushes the value of type t whose bytes are at src. u64 values above
 * 2^63 - 1 come out as the integer with the same bits (negative). */
static void aux_push(lua_State *L, int t, const void *src) {
  union {
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    float f32;
    double f64;
  } v;
  memcpy(&v, src, type_size[t]);
  switch (t) {
  case T_I8:
    lua_pushinteger(L, v.i8);
    break;
  case T_U8:
    lua_pushinteger(L, v.u8);
    break;
  case T_I16:
    lua_pushinteger(L, v.i16);
    break;
  case T_U16:
    lua_pushinteger(L, v.u16);
    break;
  case T_I32:
    lua_pushinteger(L, v.i32);
    break;
  case T_U32:
    lua_pushinteger(L, (lua_Integer)v.u32);
    break;
  case T_I64:
  case T_U64:
    lua_pushinteger(L, (lua_Integer)v.i64);
    break;
  case T_F32:
    lua_pushnumber(L, (lua_Number)v.f32);
    break;
  default:
    lua_pushnumber(L, (lua_Number)v.f64);
    break;
  }
}

/* ---------------------------------------------------------------- methods */

/* seg:read(off, [n]) -> the n bytes at off (default: up to the end). */
static int m_read(lua_State *L) {
  ipc_shm_t *seg = aux_check(L, 1);
  lua_Integer n;
  if (lua_isnoneornil(L, 3)) {
    lua_Integer off = lipc_checkinteger(L, 2);
    n = off >= 0 && (uint64_t)off <= ipc_shm_size(seg)
            ? (lua_Integer)(ipc_shm_size(seg) - (size_t)off)
            : 0;
  } else {
    n = lipc_checkinteger(L, 3);
    luaL_argcheck(L, n >= 0, 3, "length must not be negative");
  }
  size_t off = aux_offset(L, seg, 2, n);
  lua_pushlstring(L, (const char *)ipc_shm_addr(seg) + off, (size_t)n);
  return 1;
}

/* seg:write(off, s) -> seg, after copying the bytes of s to off. */
static int m_write(lua_State *L) {
  ipc_shm_t *seg = aux_checkwritable(L);
  size_t len;
  const char *s = luaL_checklstring(L, 3, &len);
  size_t off = aux_offset(L, seg, 2, (lua_Integer)len);
  memcpy((char *)ipc_shm_addr(seg) + off, s, len);
  lua_settop(L, 1);
  return 1;
}

/* seg:get(type, off) -> the value of type at off. */
static int m_get(lua_State *L) {
  ipc_shm_t *seg = aux_check(L, 1);
  int t = luaL_checkoption(L, 2, NULL, type_names);
  size_t off = aux_offset(L, seg, 3, (lua_Integer)type_size[t]);
  aux_push(L, t, (const char *)ipc_shm_addr(seg) + off);
  return 1;
}

/* seg:set(type, off, value) -> seg. The value is checked before anything
 * is written. */
static int m_set(lua_State *L) {
  ipc_shm_t *seg = aux_checkwritable(L);
  int t = luaL_checkoption(L, 2, NULL, type_names);
  size_t off = aux_offset(L, seg, 3, (lua_Integer)type_size[t]);
  unsigned char buf[8];
  aux_tovalue(L, 4, t, buf);
  memcpy((char *)ipc_shm_addr(seg) + off, buf, type_size[t]);
  lua_settop(L, 1);
  return 1;
}

/* ---------------------------------------------------------------- atomics
 *
 * Sequentially consistent operations on naturally aligned 32- and 64-bit
 * words, which are lock-free on every target Linux runs libipc on, so they
 * work between processes (a lock inside libatomic would not). The mapping
 * starts on a page, so an offset aligned to the size is an aligned address.
 */

/* The atomic type at 2 and its aligned, in-bounds address at offset 3. */
static void *aux_atomic(lua_State *L, ipc_shm_t *seg, int *t) {
  *t = luaL_checkoption(L, 2, NULL, atomic_names) + T_I32;
  size_t off = aux_offset(L, seg, 3, (lua_Integer)type_size[*t]);
  if (off % type_size[*t] != 0) {
    char msg[80];
    snprintf(msg, sizeof msg, "offset %zu is not aligned to %zu bytes", off,
             type_size[*t]);
    luaL_argerror(L, 3, msg);
  }
  return (char *)ipc_shm_addr(seg) + off;
}

/* seg:atomic_load(type, off) -> value. */
static int m_atomic_load(lua_State *L) {
  int t;
  void *p = aux_atomic(L, aux_check(L, 1), &t);
  if (type_size[t] == 4) {
    uint32_t v = __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
    aux_push(L, t, &v);
  } else {
    uint64_t v = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
    aux_push(L, t, &v);
  }
  return 1;
}

/* seg:atomic_store(type, off, value) -> seg. */
static int m_atomic_store(lua_State *L) {
  int t;
  void *p = aux_atomic(L, aux_checkwritable(L), &t);
  if (type_size[t] == 4) {
    uint32_t v;
    aux_tovalue(L, 4, t, &v);
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_SEQ_CST);
  } else {
    uint64_t v;
    aux_tovalue(L, 4, t, &v);
    __atomic_store_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
  }
  lua_settop(L, 1);
  return 1;
}

/* seg:atomic_add(type, off, delta) -> the old value. delta is any integer,
 * added modulo 2^32 or 2^64 (so a negative one subtracts, and the word
 * wraps around instead of overflowing). */
static int m_atomic_add(lua_State *L) {
  int t;
  void *p = aux_atomic(L, aux_checkwritable(L), &t);
  uint64_t delta = aux_checku64(L, 4);
  if (type_size[t] == 4) {
    uint32_t old =
        __atomic_fetch_add((uint32_t *)p, (uint32_t)delta, __ATOMIC_SEQ_CST);
    aux_push(L, t, &old);
  } else {
    uint64_t old = __atomic_fetch_add((uint64_t *)p, delta, __ATOMIC_SEQ_CST);
    aux_push(L, t, &old);
  }
  return 1;
}

/* seg:atomic_cas(type, off, expected, desired) -> true when the word held
 * expected and now holds desired; false and the value it held otherwise. */
static int m_atomic_cas(lua_State *L) {
  int t;
  void *p = aux_atomic(L, aux_checkwritable(L), &t);
  int ok;
  if (type_size[t] == 4) {
    uint32_t expected, desired;
    aux_tovalue(L, 4, t, &expected);
    aux_tovalue(L, 5, t, &desired);
    ok = __atomic_compare_exchange_n((uint32_t *)p, &expected, desired, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    lua_pushboolean(L, ok);
    if (!ok)
      aux_push(L, t, &expected); /* the value found */
  } else {
    uint64_t expected, desired;
    aux_tovalue(L, 4, t, &expected);
    aux_tovalue(L, 5, t, &desired);
    ok = __atomic_compare_exchange_n((uint64_t *)p, &expected, desired, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    lua_pushboolean(L, ok);
    if (!ok)
      aux_push(L, t, &expected);
  }
  return ok ? 1 : 2;
}

/* ------------------------------------------------------ the rest of seg:* */

static int m_size(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ipc_shm_size(aux_check(L, 1)));
  return 1;
}

/* seg:name() -> "/x", or nil for anonymous and System V segments. */
static int m_name(lua_State *L) {
  const char *name = ipc_shm_name(aux_check(L, 1));
  if (name)
    lua_pushstring(L, name);
  else
    lua_pushnil(L);
  return 1;
}

/* seg:fd() -> the descriptor, or nil for System V (which has none). */
static int m_fd(lua_State *L) {
  int fd = ipc_shm_fd(aux_check(L, 1));
  if (fd >= 0)
    lua_pushinteger(L, fd);
  else
    lua_pushnil(L);
  return 1;
}

/* seg:id() -> the System V id, or nil for the others. */
static int m_id(lua_State *L) {
  int id = ipc_shm_sysv_id(aux_check(L, 1));
  if (id >= 0)
    lua_pushinteger(L, id);
  else
    lua_pushnil(L);
  return 1;
}

static int m_writable(lua_State *L) {
  lua_pushboolean(L, ipc_shm_writable(aux_check(L, 1)));
  return 1;
}

/* seg:remove() -> true, or nil, msg, code: marks a System V segment for
 * removal once every process has detached (IPC_RMID). */
static int m_remove(lua_State *L) {
  ipc_shm_t *seg = aux_check(L, 1);
  if (ipc_shm_sysv_id(seg) < 0)
    luaL_argerror(L, 1, "System V segment expected");
  int rc = ipc_shm_sysv_remove(seg);
  if (rc < 0)
    return lipc_fail(L, rc, "remove id %d", ipc_shm_sysv_id(seg));
  lua_pushboolean(L, 1);
  return 1;
}

/* Marks the handle closed before unmapping, so that nothing can reach the
 * mapping afterwards. */
static void aux_close(lipc_ud *ud) {
  ipc_shm_t *seg = ud->obj;
  ud->obj = NULL;
  ipc_shm_close(seg);
}

/* seg:close() -> true. Unmaps; never removes the name or the segment. */
static int m_close(lua_State *L) {
  aux_close(lipc_checkhandle(L, 1, LIPC_SHM, 1));
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: unmaps a handle still open. */
static int mm_gc(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SHM, 0);
  if (ud->obj != NULL)
    aux_close(ud);
  return 0;
}

/* "ipc.shm (/x, 4096 bytes, rw)", "ipc.shm (anonymous, 64 bytes, rw)",
 * "ipc.shm (System V id 7, 100 bytes, r)", "ipc.shm (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SHM, 0);
  ipc_shm_t *seg = ud->obj;
  if (seg == NULL) {
    lua_pushliteral(L, "ipc.shm (closed)");
    return 1;
  }
  char what[48];
  const char *name = ipc_shm_name(seg);
  if (name == NULL && ipc_shm_sysv_id(seg) >= 0)
    snprintf(what, sizeof what, "System V id %d", ipc_shm_sysv_id(seg));
  else if (name == NULL)
    snprintf(what, sizeof what, "anonymous");
  char rest[64];
  snprintf(rest, sizeof rest, "%zu bytes, %s", ipc_shm_size(seg),
           ipc_shm_writable(seg) ? "rw" : "r");
  lua_pushfstring(L, "ipc.shm (%s, %s)", name ? name : what, rest);
  return 1;
}

/* ------------------------------------------------------ module functions */

/* ipc.shm.create(name, size, [mode]) -> seg, or nil, msg, code. */
static int l_create(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  size_t size = aux_checksize(L, 2);
  int mode = lipc_checkperm(L, 3, 3, "mode");
  lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
  ipc_shm_t *seg;
  int rc = ipc_shm_create(&seg, name, size, mode);
  if (rc < 0)
    return lipc_fail(L, rc, "create %s", name);
  ud->obj = seg;
  return 1;
}

/* ipc.shm.open(name, ["rw" | "r"]) -> seg, or nil, msg, code. */
static int l_open(lua_State *L) {
  static const char *const modes[] = {"rw", "r", NULL};
  const char *name = lipc_checkname(L, 1);
  int flags = luaL_checkoption(L, 2, "rw", modes) == 1 ? IPC_RDONLY : 0;
  lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
  ipc_shm_t *seg;
  int rc = ipc_shm_open(&seg, name, flags);
  if (rc < 0)
    return lipc_fail(L, rc, "open %s", name);
  ud->obj = seg;
  return 1;
}

/* ipc.shm.anon(size) -> seg, or nil, msg, code. */
static int l_anon(lua_State *L) {
  size_t size = aux_checksize(L, 1);
  lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
  ipc_shm_t *seg;
  int rc = ipc_shm_create_anon(&seg, size);
  if (rc < 0)
    return lipc_fail(L, rc, "anon");
  ud->obj = seg;
  return 1;
}

/* ipc.shm.unlink(name) -> true, or nil, msg, code. */
static int l_unlink(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  int rc = ipc_shm_unlink(name);
  if (rc < 0)
    return lipc_fail(L, rc, "unlink %s", name);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.shm.ftok(path, id) -> key, or nil, msg, code. */
static int l_ftok(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer id = lipc_checkinteger(L, 2);
  luaL_argcheck(L, id >= 1 && id <= 255, 2, "id must be 1..255");
  key_t key;
  int rc = ipc_ftok(path, (int)id, &key);
  if (rc < 0)
    return lipc_fail(L, rc, "ftok %s", path);
  lua_pushinteger(L, key);
  return 1;
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

/* ipc.shm.sysv(key | nil, size, [mode]) -> seg, or nil, msg, code. nil
 * (or 0) makes a private segment. */
static int l_sysv(lua_State *L) {
  key_t key = lua_isnil(L, 1) ? IPC_PRIVATE : aux_checkkey(L, 1);
  size_t size = aux_checksize(L, 2);
  int mode = lipc_checkperm(L, 3, 3, "mode");
  lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
  ipc_shm_t *seg;
  int rc = ipc_shm_sysv_create(&seg, key, size, mode);
  if (rc < 0)
    return lipc_fail(L, rc, "sysv %s", aux_keyname(L, key));
  ud->obj = seg;
  return 1;
}

/* ipc.shm.sysv_open(key | {id = n}, ["rw" | "r"]) -> seg, or nil, msg,
 * code. */
static int l_sysv_open(lua_State *L) {
  static const char *const modes[] = {"rw", "r", NULL};
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
  int flags = luaL_checkoption(L, 2, "rw", modes) == 1 ? IPC_RDONLY : 0;
  lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
  ipc_shm_t *seg;
  int rc = ipc_shm_sysv_open(&seg, key, id, flags);
  if (rc < 0 && key == IPC_PRIVATE)
    return lipc_fail(L, rc, "sysv_open id %d", id);
  if (rc < 0)
    return lipc_fail(L, rc, "sysv_open %s", aux_keyname(L, key));
  ud->obj = seg;
  return 1;
}

static const luaL_Reg shmlib[] = {
    {"create", l_create},       {"open", l_open}, {"anon", l_anon},
    {"unlink", l_unlink},       {"ftok", l_ftok}, {"sysv", l_sysv},
    {"sysv_open", l_sysv_open}, {NULL, NULL},
};

static const luaL_Reg meth[] = {
    {"read", m_read},
    {"write", m_write},
    {"get", m_get},
    {"set", m_set},
    {"atomic_load", m_atomic_load},
    {"atomic_store", m_atomic_store},
    {"atomic_add", m_atomic_add},
    {"atomic_cas", m_atomic_cas},
    {"size", m_size},
    {"name", m_name},
    {"fd", m_fd},
    {"id", m_id},
    {"writable", m_writable},
    {"remove", m_remove},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

void lipc_open_shm(lua_State *L) {
  lipc_newclass(L, LIPC_SHM, meth, metameth);
  lipc_newlib(L, shmlib);
  lua_setfield(L, -2, "shm");
}
