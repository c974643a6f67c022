/* compat.h: every difference between Lua 5.1 (and LuaJIT), 5.2, 5.3 and 5.4
 * that the ipc module meets, behind one set of lipc_* names. No other file
 * tests LUA_VERSION_NUM; when a new difference shows up, it goes here. */
#ifndef LIPC_COMPAT_H
#define LIPC_COMPAT_H

#include <lauxlib.h>
#include <lua.h>
#include <math.h>

/* The status of a call that went well; 5.1 has no name for it. */
#ifndef LUA_OK
#define LUA_OK 0
#endif

/* __close exists from 5.4 on; the class helper adds it when it does. */
#define LIPC_HAS_CLOSE (LUA_VERSION_NUM >= 504)

/* Handles keep their companion objects (a process's stdio pipes) in one
 * Lua table tied to the userdata: the environment in 5.1, the user value in
 * 5.2 and 5.3, user value 1 in 5.4. 5.1 accepts only tables there, so the
 * value is always a table. */
#if LUA_VERSION_NUM >= 504
#define lipc_newuserdata(L, size) lua_newuserdatauv((L), (size), 1)
#define lipc_setuservalue(L, idx) ((void)lua_setiuservalue((L), (idx), 1))
#define lipc_getuservalue(L, idx) ((void)lua_getiuservalue((L), (idx), 1))
#elif LUA_VERSION_NUM >= 502
#define lipc_newuserdata(L, size) lua_newuserdata((L), (size))
#define lipc_setuservalue(L, idx) lua_setuservalue((L), (idx))
#define lipc_getuservalue(L, idx) ((void)lua_getuservalue((L), (idx)))
#else
#define lipc_newuserdata(L, size) lua_newuserdata((L), (size))
#define lipc_setuservalue(L, idx) ((void)lua_setfenv((L), (idx)))
#define lipc_getuservalue(L, idx) lua_getfenv((L), (idx))
#endif

#if LUA_VERSION_NUM >= 502
#define lipc_setfuncs luaL_setfuncs
#define lipc_testudata luaL_testudata
#define lipc_rawlen(L, idx) ((size_t)lua_rawlen((L), (idx)))
#define lipc_absindex lua_absindex
#define lipc_traceback(L, msg, level) luaL_traceback((L), (L), (msg), (level))
#else
#define lipc_rawlen(L, idx) ((size_t)lua_objlen((L), (idx)))
#define lipc_absindex(L, idx)                                                  \
  (((idx) > 0 || (idx) <= LUA_REGISTRYINDEX) ? (idx)                           \
                                             : lua_gettop(L) + (idx) + 1)

/* luaL_setfuncs of 5.2: registers l into the table below the nup upvalues,
 * each function closing over all of them. */
static inline void lipc_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    for (int i = 0; i < nup; i++)
      lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

/* luaL_testudata of 5.2: the userdata at ud if its metatable is the one
 * registered as tname, else NULL. */
static inline void *lipc_testudata(lua_State *L, int ud, const char *tname) {
  void *p = lua_touserdata(L, ud);
  if (p == NULL || !lua_getmetatable(L, ud))
    return NULL;
  luaL_getmetatable(L, tname);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}

/* Pushes msg followed by a traceback from level on. 5.1 has no
 * luaL_traceback, so this borrows debug.traceback when the host loaded the
 * debug library, and pushes msg alone when it did not. */
static inline void lipc_traceback(lua_State *L, const char *msg, int level) {
  lua_getfield(L, LUA_GLOBALSINDEX, "debug");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);
    if (lua_isfunction(L, -1)) {
      lua_pushstring(L, msg);
      lua_pushinteger(L, level + 1); /* + 1: debug.traceback's own frame */
      lua_call(L, 2, 1);
      if (lua_isstring(L, -1))
        return;
    }
  }
  lua_pop(L, 1);
  lua_pushstring(L, msg);
}
#endif

/* luaL_newlib for a table of functions (5.1 has only luaL_register). */
#define lipc_newlib(L, l)                                                      \
  (lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1)),             \
   lipc_setfuncs((L), (l), 0))

/* Integers are a subtype of number from 5.3 on. Before, an integer is a
 * number without a fractional part that fits lua_Integer; these helpers
 * give every version the 5.3 behaviour, "number has no integer
 * representation" included. */
#if LUA_VERSION_NUM >= 503
#define lipc_isinteger(L, idx) lua_isinteger((L), (idx))
#define lipc_checkinteger luaL_checkinteger
#else
static inline int lipc_isinteger(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    return 0;
  lua_Number n = lua_tonumber(L, idx);
  /* 2^63 bounds lua_Integer, which is 64 bits on every target we build. */
  return n == floor(n) && n >= -9223372036854775808.0 &&
         n < 9223372036854775808.0;
}

static inline lua_Integer lipc_checkinteger(lua_State *L, int arg) {
  if (lipc_isinteger(L, arg))
    return (lua_Integer)lua_tonumber(L, arg);
  if (lua_type(L, arg) == LUA_TNUMBER)
    luaL_argerror(L, arg, "number has no integer representation");
  return luaL_checkinteger(L, arg); /* raises "number expected, got ..." */
}
#endif

/* The hook mask bit that asks for a hook event: event 4 is a tail return
 * in 5.1 (and LuaJIT), a tail call from 5.2 on; the others are 1 << event. */
#if LUA_VERSION_NUM >= 502
#define lipc_hookmask(event) ((event) == 4 ? LUA_MASKCALL : 1 << (event))
#else
#define lipc_hookmask(event) ((event) == 4 ? LUA_MASKRET : 1 << (event))
#endif

#endif /* LIPC_COMPAT_H */
