/* lipc.c: luaopen_ipc, the module-wide functions (version, error codes,
 * strerror, errname, getpid) and the helpers every area shares: classes,
 * handle checks, the failure triple, timeouts and the EINTR policy. */
#include "lipc.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lipc_newclass(lua_State *L, const char *cls, const luaL_Reg *methods,
                   const luaL_Reg *metamethods) {
  luaL_newmetatable(L, cls); /* mt */
  lua_pushstring(L, cls);
  lua_setfield(L, -2, "__name"); /* 5.1 and 5.2 do not set it */
  lipc_setfuncs(L, metamethods, 0);
  if (LIPC_HAS_CLOSE) {
    lua_getfield(L, -1, "__gc");
    lua_setfield(L, -2, "__close");
  }
  lua_newtable(L);      /* mt, methods */
  lua_pushvalue(L, -2); /* mt, methods, mt: upvalue 1 of every method */
  lipc_setfuncs(L, methods, 1);
  lua_getfield(L, -2, "__index"); /* mt, methods, __index */
  if (lua_iscfunction(L, -1)) {
    lua_CFunction index = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    lua_pushcclosure(L, index, 1); /* mt, __index(methods) */
  } else {
    lua_pop(L, 1);
  }
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void *lipc_checkhandle(lua_State *L, int arg, const char *cls, int open) {
  lipc_ud *ud = lipc_testudata(L, arg, cls);
  if (ud == NULL) {
    /* Name the value's class when it has one ("ipc.proc"), like 5.4. */
    const char *got = luaL_typename(L, arg);
    if (luaL_getmetafield(L, arg, "__name")) {
      if (lua_type(L, -1) == LUA_TSTRING)
        got = lua_tostring(L, -1);
    }
    luaL_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", cls, got));
  }
  if (open && ud->obj == NULL)
    luaL_error(L, "attempt to use a closed %s", cls);
  return ud;
}

void *lipc_newhandle(lua_State *L, const char *cls, size_t size) {
  lipc_ud *ud = lipc_newuserdata(L, size);
  memset(ud, 0, size);
  luaL_getmetatable(L, cls);
  ud->cls = lua_topointer(L, -1);
  lua_setmetatable(L, -2);
  lua_newtable(L);
  lipc_setuservalue(L, -2);
  return ud;
}

int lipc_fail(lua_State *L, int code, const char *fmt, ...) {
  va_list ap;
  lua_pushnil(L);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_pushfstring(L, ": %s", ipc_strerror(code));
  lua_concat(L, 2);
  lua_pushinteger(L, code);
  return 3;
}

const char *lipc_checkname(lua_State *L, int arg) {
  size_t len;
  const char *name = luaL_checklstring(L, arg, &len);
  int rc = strlen(name) != len ? IPC_EINVAL : ipc_name_check(name);
  if (rc == 0)
    return name;
  const char *why;
  if (len == 0)
    why = "name is empty";
  else if (name[0] != '/')
    why = "name must start with '/'";
  else if (rc == IPC_ENAMETOOLONG)
    why = lua_pushfstring(L, "name is longer than %d bytes after its '/'",
                          IPC_NAME_MAX);
  else if (len == 1)
    why = "name has nothing after its '/'";
  else if (memchr(name + 1, '/', len - 1))
    why = "name has a second '/'";
  else if (strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
    why = "name must not be '.' or '..'";
  else
    why = "name may only have letters, digits, '.', '_' and '-' after its '/'";
  luaL_argerror(L, arg, why);
  return NULL;
}

int lipc_checkperm(lua_State *L, int idx, int arg, const char *what) {
  if (lua_isnoneornil(L, idx))
    return 0;
  lua_Integer mode = -1;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    char *end;
    long v = strtol(s, &end, 8);
    if (*s >= '0' && *s <= '7' && *end == '\0')
      mode = v;
  } else if (lipc_isinteger(L, idx)) {
    mode = lua_tointeger(L, idx);
  }
  if (mode < 0 || mode > 0777)
    luaL_argerror(L, arg,
                  lua_pushfstring(L,
                                  "%s must be 0..0777 (an integer or an "
                                  "octal string)",
                                  what));
  return (int)mode;
}

void lipc_checkopts(lua_State *L, int arg, const char *const known[]) {
  if (lua_isnoneornil(L, arg))
    return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1); /* the value */
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *key = lua_tostring(L, -1);
      for (int i = 0; known[i] != NULL && !ok; i++)
        ok = strcmp(key, known[i]) == 0;
    }
    if (!ok) {
      const char *what = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                        : luaL_typename(L, -1);
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", what));
    }
  }
}

/* lipc_checktimeout (lipc.h) past nil: the value must be a number. */
double lipc_checktimeout_value(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    luaL_argerror(
        L, arg,
        lua_pushfstring(L, "number expected, got %s", luaL_typename(L, arg)));
  double s = (double)lua_tonumber(L, arg);
  luaL_argcheck(L, s >= 0, arg, "timeout must not be negative"); /* NaN too */
  /* libipc takes an int of milliseconds; anything longer waits forever. */
  return s * 1000.0 > (double)INT_MAX ? -1 : s;
}

/* The methods' check of self, on every call: a full userdata that carries
 * the tag lipc_newhandle gave handles of this class (the class metatable,
 * upvalue 1 of every method, which the registry keeps alive, so that no
 * other object can have its address). Four API calls that read, where
 * comparing metatables pushes and pops; anything else takes the full
 * check, which raises with the class names. */
void *lipc_checkself(lua_State *L, const char *cls) {
  if (lua_type(L, 1) == LUA_TUSERDATA && lipc_rawlen(L, 1) >= sizeof(lipc_ud)) {
    lipc_ud *u = lua_touserdata(L, 1);
    if (u->cls == lua_topointer(L, lua_upvalueindex(1)) && u->obj != NULL)
      return u;
  }
  return lipc_checkhandle(L, 1, cls, 1);
}

void lipc_checkopen(lua_State *L, const void *handle, const char *cls) {
  if (((const lipc_ud *)handle)->obj == NULL)
    luaL_error(L, "attempt to use a closed %s", cls);
}

void lipc_deadline_start(lipc_deadline *d, double seconds) {
  d->forever = seconds < 0;
  if (d->forever)
    return;
  if (seconds == 0) { /* a poll: long past, and no clock read */
    d->at.tv_sec = 0;
    d->at.tv_nsec = 0;
    return;
  }
  clock_gettime(CLOCK_MONOTONIC, &d->at);
  long long ns = (long long)(seconds * 1e9);
  d->at.tv_sec += (time_t)(ns / 1000000000);
  d->at.tv_nsec += (long)(ns % 1000000000);
  if (d->at.tv_nsec >= 1000000000) {
    d->at.tv_sec++;
    d->at.tv_nsec -= 1000000000;
  }
}

int lipc_deadline_ms(const lipc_deadline *d) {
  if (d->forever)
    return -1;
  if (d->at.tv_sec == 0 && d->at.tv_nsec == 0)
    return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long ns = (long long)(d->at.tv_sec - now.tv_sec) * 1000000000 +
                 (d->at.tv_nsec - now.tv_nsec);
  if (ns <= 0)
    return 0;
  /* Round up: a call given the rounded-down time could come back before
   * the deadline, and its caller would take a timeout for a signal. */
  long long ms = (ns + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

int lipc_interrupted(lua_State *L) {
  int eintr = lipc_signal_safepoint(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LIPC_INTERRUPT);
  if (lua_isfunction(L, -1))
    lua_call(L, 0, 0); /* may raise: that is how a host breaks the wait */
  else
    lua_pop(L, 1);
  return !eintr;
}

/* ipc.strerror(code) -> the message of an ipc.E* code. */
static int l_strerror(lua_State *L) {
  lua_pushstring(L, ipc_strerror((int)lipc_checkinteger(L, 1)));
  return 1;
}

/* ipc.errname(code) -> "EPIPE", "EOF", ... or "UNKNOWN". */
static int l_errname(lua_State *L) {
  lua_pushstring(L, ipc_errname((int)lipc_checkinteger(L, 1)));
  return 1;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static const luaL_Reg ipclib[] = {
    {"strerror", l_strerror},
    {"errname", l_errname},
    {"getpid", l_getpid},
    {NULL, NULL},
};

int luaopen_ipc(lua_State *L) {
  lipc_newlib(L, ipclib);
  lua_pushstring(L, ipc_version_string());
  lua_setfield(L, -2, "version");
  /* ipc.EPIPE, ipc.ETIMEDOUT, ...: one per code of the list in ipc.h. */
#define LIPC__ERRCODE(name, value, msg)                                        \
  lua_pushinteger(L, IPC_##name);                                              \
  lua_setfield(L, -2, #name);
  IPC_ERROR_MAP(LIPC__ERRCODE)
#undef LIPC__ERRCODE
  lipc_open_pipe(L);
  lipc_open_proc(L);
  lipc_open_shm(L);
  lipc_open_ring(L);
  lipc_open_fifo(L);
  lipc_open_mq(L);
  lipc_open_msg(L);
  lipc_open_sock(L);
  lipc_open_sem(L);
  lipc_open_signal(L);
  lipc_open_time(L);
  lipc_open_poll(L);
  lipc_open_loop(L);
  lipc_open_ls(L);

  return 1;
}
