/* lipc_ring.c: the shared-memory ring, the ipc.ring table (create, open,
 * anon, unlink) and the ring handles (class "ipc.ring"): push and pop of
 * strings, batches, a synchronous push and a messages() iterator. libipc
 * (libipc/src/ring.c) moves the bytes; this file only copies them to and
 * from Lua strings, on the hot path with no allocation but the result. */
#include "lipc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first size of a handle's pop buffer; it doubles up to max_message
 * when a message does not fit. */
#define LIPC_RING_BUF0 256

static const char *const mode_names[] = {"spsc", "mpsc", "mpmc", NULL};

/* An ipc.ring. The buffers are private C memory: libipc calls must never
 * be left by a Lua error (a longjmp could leave the ring's head locked or
 * its SIGBUS guard armed), so messages are copied into them during the
 * call and turned into Lua strings only after it returned. */
typedef struct lipc_ring {
  lipc_ud ud;         /* ipc_ring_t * */
  size_t max_message; /* from the header libipc checked at attach */
  char *buf;          /* pop: one message; pop_many: the batch's bytes */
  size_t bufcap;
  size_t *lens; /* pop_many: each message's length */
  size_t lenscap;
  struct iovec *iov; /* push_many: the strings of the list */
  size_t iovcap;
} lipc_ring;

/* What the pop_many visitor fills, in the handle's buffers. */
typedef struct batch {
  lipc_ring *u;
  size_t n;    /* messages so far */
  size_t used; /* bytes so far */
  size_t max;  /* messages asked for */
} batch;

/* ------------------------------------------------------------- arguments */

/* opts.key on top of the stack, a whole number (a float such as 2^16
 * counts): returns it, 0 when nil; UINT64_MAX stands for anything larger. */
static uint64_t aux_optint(lua_State *L, int arg, const char *key) {
  if (lua_isnil(L, -1))
    return 0;
  lua_Number n = lua_tonumber(L, -1);
  if (lua_type(L, -1) != LUA_TNUMBER || n != floor(n))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer", key));
  if (n <= 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be positive", key));
  return n < 18446744073709551616.0 ? (uint64_t)n : UINT64_MAX;
}

/* opts.mode on top of the stack: nil (spsc) or one of mode_names. */
static ipc_ring_mode_t aux_optmode(lua_State *L, int arg) {
  if (lua_isnil(L, -1))
    return IPC_RING_SPSC;
  const char *got = luaL_typename(L, -1);
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *m = lua_tostring(L, -1);
    for (int i = 0; mode_names[i] != NULL; i++)
      if (strcmp(m, mode_names[i]) == 0)
        return (ipc_ring_mode_t)i;
    got = lua_pushfstring(L, "'%s'", m);
  }
  const char *msg = "mode must be 'spsc', 'mpsc' or 'mpmc', got %s";
  luaL_argerror(L, arg, lua_pushfstring(L, msg, got));
  return IPC_RING_SPSC;
}

/* Reads the options table at arg (perm only when named) into o. The
 * geometry is the caller's argument, so a bad one raises here, before
 * anything is made, naming the rule it breaks (libipc only says EINVAL). */
static void aux_checkopts(lua_State *L, int arg, ipc_ring_opts_t *o,
                          int named) {
  static const char *const known[] = {"capacity", "max_message", "mode", NULL};
  static const char *const known_named[] = {"capacity", "max_message", "mode",
                                            "perm", NULL};
  memset(o, 0, sizeof *o);
  lipc_checkopts(L, arg, named ? known_named : known);
  if (lua_isnoneornil(L, arg))
    return;
  lua_getfield(L, arg, "capacity");
  uint64_t cap = aux_optint(L, arg, "capacity");
  lua_pop(L, 1);
  if (cap != 0 && (cap < IPC_RING_MIN_CAPACITY || cap > IPC_RING_MAX_CAPACITY ||
                   (cap & (cap - 1)) != 0))
    luaL_argerror(L, arg, "capacity must be a power of two from 4096 to 2^40");
  o->capacity = (size_t)cap;
  if (cap == 0)
    cap = 65536;
  lua_getfield(L, arg, "max_message");
  uint64_t max = aux_optint(L, arg, "max_message");
  lua_pop(L, 1);
  uint64_t limit = cap / 2 - 8 < INT32_MAX ? cap / 2 - 8 : INT32_MAX;
  if (max > limit) {
    char msg[96];
    snprintf(msg, sizeof msg,
             "max_message must be at most capacity / 2 - 8 (%llu)",
             (unsigned long long)limit);
    luaL_argerror(L, arg, msg);
  }
  o->max_message = (size_t)max;
  lua_getfield(L, arg, "mode");
  o->mode = aux_optmode(L, arg);
  lua_pop(L, 1);
  if (named) {
    lua_getfield(L, arg, "perm");
    o->perm = lipc_checkperm(L, -1, arg, "perm");
    lua_pop(L, 1);
  }
}

/* The string at arg, a message: strings only. A number is refused rather
 * than converted, the same in push and push_many (where a converted copy
 * would not outlive the collection of the list). */
static const char *aux_checkmsg(lua_State *L, int arg, size_t *len) {
  if (lua_type(L, arg) != LUA_TSTRING)
    luaL_argerror(
        L, arg,
        lua_pushfstring(L, "string expected, got %s", luaL_typename(L, arg)));
  return lua_tolstring(L, arg, len);
}

/* nil, "<what> <name>: <message>", code; the name only for a named ring. */
static int aux_fail(lua_State *L, const lipc_ring *u, int code,
                    const char *what) {
  const char *name = ipc_ring_name(u->ud.obj);
  if (name == NULL)
    return lipc_fail(L, code, "%s", what);
  return lipc_fail(L, code, "%s %s", what, name);
}

/* Grows u->buf to at least need bytes, doubling its size. 0, or
 * IPC_ENOMEM (the buffer is then as it was). */
static int aux_growbuf(lipc_ring *u, size_t need) {
  if (need <= u->bufcap)
    return 0;
  size_t cap = u->bufcap ? u->bufcap : LIPC_RING_BUF0;
  while (cap < need)
    cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
  char *p = realloc(u->buf, cap);
  if (p == NULL)
    return IPC_ENOMEM;
  u->buf = p;
  u->bufcap = cap;
  return 0;
}

/* ------------------------------------------------------------- push, pop */

/* q:push(s, [timeout]) -> true, or nil, msg, code. */
static int m_push(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  size_t len;
  const char *s = aux_checkmsg(L, 2, &len);
  lipc_deadline d;
  int rc = ipc_ring_push(u->ud.obj, s, len,
                         lipc_deadline_begin(&d, lipc_checktimeout(L, 3)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_RING);
    rc = ipc_ring_push(u->ud.obj, s, len, lipc_deadline_ms(&d));
  }
  if (rc < 0)
    return aux_fail(L, u, rc, "push");
  lua_pushboolean(L, 1);
  return 1;
}

/* Pops one message into u->buf. Returns its length or a negative code;
 * EINTR is handled (the hook runs, the pop goes on with the time left). */
static ssize_t aux_pop(lua_State *L, lipc_ring *u, double timeout) {
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, timeout);
  if (u->buf == NULL && aux_growbuf(u, 1) < 0)
    return IPC_ENOMEM;
  for (;;) {
    ssize_t n = ipc_ring_pop(u->ud.obj, u->buf, u->bufcap, ms);
    if (n >= 0)
      return n;
    if (n == IPC_EMSGSIZE && u->bufcap < u->max_message) {
      /* The message stays in the ring: retry with a bigger buffer. */
      size_t want =
          u->bufcap * 2 < u->max_message ? u->bufcap * 2 : u->max_message;
      if (aux_growbuf(u, want) < 0)
        return IPC_ENOMEM;
    } else if (n == IPC_EINTR) {
      if (!lipc_interrupted(L))
        return n;
      lipc_checkopen(L, u, LIPC_RING);
    } else {
      return n;
    }
    ms = lipc_deadline_ms(&d);
  }
}

/* q:pop([timeout]) -> string, or nil, msg, code. */
static int m_pop(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  ssize_t n = aux_pop(L, u, lipc_checktimeout(L, 2));
  if (n < 0)
    return aux_fail(L, u, (int)n, "pop");
  lua_pushlstring(L, u->buf, (size_t)n);
  return 1;
}

/* q:push_sync(s, [timeout]) -> true once a consumer took s, or nil, msg,
 * code. ETIMEDOUT after s went in leaves it queued. A signal is not
 * retried: libipc's EINTR does not say whether s went in, and pushing it
 * again could deliver it twice; the hook runs, then EINTR comes back. */
static int m_push_sync(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  size_t len;
  const char *s = aux_checkmsg(L, 2, &len);
  lipc_deadline d; /* only for the conversion: there is no retry */
  int rc = ipc_ring_push_sync(u->ud.obj, s, len,
                              lipc_deadline_begin(&d, lipc_checktimeout(L, 3)));
  if (rc == IPC_EINTR) {
    lipc_interrupted(L);
    lipc_checkopen(L, u, LIPC_RING);
  }
  if (rc < 0)
    return aux_fail(L, u, rc, "push_sync");
  lua_pushboolean(L, 1);
  return 1;
}

/* ---------------------------------------------------------------- batches */

/* Points u->iov[i] at the string list[i + 1] (the list at 2) for each i
 * in [from, n); raises for an element that is not a string. Returns
 * whether one is longer than max_message. The strings stay alive in the
 * list as long as no Lua code runs. */
static int aux_collect(lua_State *L, lipc_ring *u, size_t from, size_t n) {
  int big = 0;
  for (size_t i = from; i < n; i++) {
    lua_rawgeti(L, 2, (int)(i + 1));
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 2,
                    lua_pushfstring(L, "string expected at index %d, got %s",
                                    (int)(i + 1), luaL_typename(L, -1)));
    u->iov[i].iov_base = (void *)lua_tolstring(L, -1, &u->iov[i].iov_len);
    big |= u->iov[i].iov_len > u->max_message;
    lua_pop(L, 1);
  }
  return big;
}

/* q:push_many(list, [timeout]) -> how many of list[1..n] went in, in
 * order: n, or fewer when the time ran out (or a later push failed: the
 * next call tells why) after some went in; nil, msg, code when none did.
 * Every element is checked before anything is pushed. */
static int m_push_many(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  luaL_checktype(L, 2, LUA_TTABLE);
  double timeout = lipc_checktimeout(L, 3);
  size_t n = lipc_rawlen(L, 2);
  if (n > u->iovcap) {
    struct iovec *iov = realloc(u->iov, n * sizeof *iov);
    if (iov == NULL)
      return aux_fail(L, u, IPC_ENOMEM, "push_many");
    u->iov = iov;
    u->iovcap = n;
  }
  if (aux_collect(L, u, 0, n)) /* at once, nothing pushed */
    return aux_fail(L, u, IPC_EMSGSIZE, "push_many");
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, timeout);
  size_t done = 0;
  ssize_t k = 0;
  while (done < n) {
    k = ipc_ring_push_many(u->ud.obj, u->iov + done, n - done, ms);
    if (k > 0) {
      done += (size_t)k; /* the rest waits for room with the time left */
    } else if (k == IPC_EINTR) {
      if (!lipc_interrupted(L))
        break;
      lipc_checkopen(L, u, LIPC_RING);
      /* The hook ran Lua code, which may have changed the list and let
       * its old strings be collected: take them again. */
      if (aux_collect(L, u, done, n)) {
        k = IPC_EMSGSIZE;
        break;
      }
    } else {
      break;
    }
    ms = lipc_deadline_ms(&d);
  }
  if (done == 0 && n > 0)
    return aux_fail(L, u, (int)k, "push_many");
  lua_pushinteger(L, (lua_Integer)done);
  return 1;
}

/* The pop_many visitor: appends the message to the handle's buffers. The
 * room for this one was made before (the call, or the last visit); then it
 * makes room for a next one of max_message bytes, and stops the batch when
 * it cannot, since a message handed to it is consumed. No Lua here. */
static int aux_visit(void *ctx, const void *msg, size_t len) {
  batch *b = ctx;
  lipc_ring *u = b->u;
  if (len > u->bufcap - b->used) /* libipc checked len <= max_message */
    return 1;
  if (len > 0)
    memcpy(u->buf + b->used, msg, len);
  b->used += len;
  u->lens[b->n++] = len;
  if (b->n == b->max)
    return 1;
  if (b->n == u->lenscap) {
    size_t cap = u->lenscap * 2 < b->max ? u->lenscap * 2 : b->max;
    size_t *lens = realloc(u->lens, cap * sizeof *lens);
    if (lens == NULL)
      return 1;
    u->lens = lens;
    u->lenscap = cap;
  }
  return aux_growbuf(u, b->used + u->max_message) < 0;
}

/* q:pop_many(max, [timeout]) -> a list of 1 to max strings, or nil, msg,
 * code. Waits for the first message only. */
static int m_pop_many(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  lua_Integer max = lipc_checkinteger(L, 2);
  luaL_argcheck(L, max >= 1, 2, "max must be positive");
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, lipc_checktimeout(L, 3));
  batch b = {u, 0, 0, (uint64_t)max > SIZE_MAX ? SIZE_MAX : (size_t)max};
  if (u->lenscap == 0) {
    size_t cap = b.max < 64 ? b.max : 64;
    if ((u->lens = malloc(cap * sizeof *u->lens)) == NULL)
      return aux_fail(L, u, IPC_ENOMEM, "pop_many");
    u->lenscap = cap;
  }
  if (aux_growbuf(u, u->max_message) < 0)
    return aux_fail(L, u, IPC_ENOMEM, "pop_many");
  ssize_t n;
  for (;;) {
    n = ipc_ring_pop_many(u->ud.obj, b.max, aux_visit, &b, ms);
    if (n != IPC_EINTR || !lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_RING);
    ms = lipc_deadline_ms(&d);
  }
  if (n < 0)
    return aux_fail(L, u, (int)n, "pop_many");
  /* The ring call is over: now Lua may allocate (and raise). */
  lua_createtable(L, (int)b.n, 0);
  const char *p = u->buf;
  for (size_t i = 0; i < b.n; i++) {
    lua_pushlstring(L, p, u->lens[i]);
    lua_rawseti(L, -2, (int)(i + 1));
    p += u->lens[i];
  }
  return 1;
}

/* ------------------------------------------------------------- messages */

/* The iterator of messages(): the handle is upvalue 1, the timeout
 * upvalue 2. Ends at EOF and at ETIMEDOUT; raises on any other failure. */
static int aux_messages_next(lua_State *L) {
  lipc_ring *u = lua_touserdata(L, lua_upvalueindex(1));
  lipc_checkopen(L, u, LIPC_RING);
  ssize_t n = aux_pop(L, u, lua_tonumber(L, lua_upvalueindex(2)));
  if (n >= 0) {
    lua_pushlstring(L, u->buf, (size_t)n);
    return 1;
  }
  if (n == IPC_EOF || n == IPC_ETIMEDOUT)
    return 0;
  aux_fail(L, u, (int)n, "messages");
  return luaL_error(L, "%s", lua_tostring(L, -2));
}

/* q:messages([timeout]) -> an iterator for a generic for, each turn one
 * message popped with that timeout. */
static int m_messages(lua_State *L) {
  ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  double timeout = lipc_checktimeout(L, 2);
  lua_settop(L, 1);
  lua_pushnumber(L, (lua_Number)timeout);
  lua_pushcclosure(L, aux_messages_next, 2);
  return 1;
}

/* --------------------------------------------------------------- the rest */

/* Pushes the stats of the open ring u as a table, or returns a code. */
static int aux_stats(lua_State *L, lipc_ring *u) {
  ipc_ring_stats_t st;
  int rc = ipc_ring_stats(u->ud.obj, &st);
  if (rc < 0)
    return rc;
  lua_createtable(L, 0, 11);
#define LIPC__FIELD(f)                                                         \
  lua_pushinteger(L, (lua_Integer)st.f);                                       \
  lua_setfield(L, -2, #f);
  LIPC__FIELD(capacity)
  LIPC__FIELD(max_message)
  LIPC__FIELD(used)
  LIPC__FIELD(depth)
  LIPC__FIELD(pushed)
  LIPC__FIELD(popped)
  LIPC__FIELD(abandoned)
  LIPC__FIELD(waits)
  LIPC__FIELD(producers)
  LIPC__FIELD(consumers)
#undef LIPC__FIELD
  lua_pushstring(L, st.mode >= 0 && st.mode <= 2 ? mode_names[st.mode] : "?");
  lua_setfield(L, -2, "mode");
  return 0;
}

/* q:stats() -> {capacity, max_message, used, depth, pushed, popped,
 * abandoned, waits, mode, producers, consumers}, or nil, msg, code. */
static int m_stats(lua_State *L) {
  lipc_ring *u = ((lipc_ring *)lipc_checkself(L, LIPC_RING));
  int rc = aux_stats(L, u);
  if (rc < 0)
    return aux_fail(L, u, rc, "stats");
  return 1;
}

/* q:name() -> "/x", or nil for an anonymous ring. */
static int m_name(lua_State *L) {
  const char *name =
      ipc_ring_name(((lipc_ring *)lipc_checkself(L, LIPC_RING))->ud.obj);
  if (name != NULL)
    lua_pushstring(L, name);
  else
    lua_pushnil(L);
  return 1;
}

/* q:fd() -> the segment's descriptor (for fstat; it is not pollable). */
static int m_fd(lua_State *L) {
  lua_pushinteger(
      L, ipc_ring_fd(((lipc_ring *)lipc_checkself(L, LIPC_RING))->ud.obj));
  return 1;
}

/* Marks the handle closed before detaching, so that nothing can reach the
 * freed ring afterwards; then frees the buffers. */
static void aux_close(lipc_ring *u) {
  ipc_ring_t *r = u->ud.obj;
  u->ud.obj = NULL;
  ipc_ring_close(r);
  free(u->buf);
  free(u->lens);
  free(u->iov);
  u->buf = NULL;
  u->lens = NULL;
  u->iov = NULL;
  u->bufcap = u->lenscap = u->iovcap = 0;
}

/* q:close() -> true. Detaches: a producer that closes leaves cleanly (its
 * consumers get EOF once the ring is empty). Never unlinks. */
static int m_close(lua_State *L) {
  aux_close(((lipc_ring *)lipc_checkself(L, LIPC_RING)));
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: detaches a handle still open. */
static int mm_gc(lua_State *L) {
  lipc_ring *u = lipc_checkhandle(L, 1, LIPC_RING, 0);
  if (u->ud.obj != NULL)
    aux_close(u);
  return 0;
}

/* "ipc.ring (/jobs, spsc, 3/65536 bytes used, 12 pushed, 9 popped)",
 * "ipc.ring (anonymous, ...)", "ipc.ring (/jobs, corrupt)",
 * "ipc.ring (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_ring *u = lipc_checkhandle(L, 1, LIPC_RING, 0);
  if (u->ud.obj == NULL) {
    lua_pushliteral(L, "ipc.ring (closed)");
    return 1;
  }
  const char *name = ipc_ring_name(u->ud.obj);
  ipc_ring_stats_t st;
  char rest[160];
  if (ipc_ring_stats(u->ud.obj, &st) < 0 || st.mode < 0 || st.mode > 2)
    snprintf(rest, sizeof rest, "corrupt");
  else
    snprintf(rest, sizeof rest,
             "%s, %llu/%llu bytes used, %llu pushed, %llu popped",
             mode_names[st.mode], (unsigned long long)st.used,
             (unsigned long long)st.capacity, (unsigned long long)st.pushed,
             (unsigned long long)st.popped);
  lua_pushfstring(L, "ipc.ring (%s, %s)", name ? name : "anonymous", rest);
  return 1;
}

/* ------------------------------------------------------ module functions */

/* Gives the new handle u (on top) its ring r, and records the geometry the
 * handle needs. */
static int aux_attach(lua_State *L, lipc_ring *u, ipc_ring_t *r,
                      const char *what, const char *name) {
  ipc_ring_stats_t st;
  u->ud.obj = r;
  int rc = ipc_ring_stats(r, &st);
  if (rc < 0) {
    aux_close(u);
    return name ? lipc_fail(L, rc, "%s %s", what, name)
                : lipc_fail(L, rc, "%s", what);
  }
  u->max_message = (size_t)st.max_message;
  return 1;
}

/* ipc.ring.create(name, [opts]) -> q, or nil, msg, code (EEXIST: the
 * existing ring is left as it was). */
static int l_create(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  ipc_ring_opts_t o;
  aux_checkopts(L, 2, &o, 1);
  lipc_ring *u = lipc_newhandle(L, LIPC_RING, sizeof *u);
  ipc_ring_t *r;
  int rc = ipc_ring_create(&r, name, &o);
  if (rc < 0)
    return lipc_fail(L, rc, "create %s", name);
  return aux_attach(L, u, r, "create", name);
}

/* ipc.ring.anon([opts]) -> q, or nil, msg, code. Children made by
 * ipc.spawn(fn) or ipc.fork() share it through their copy of q. */
static int l_anon(lua_State *L) {
  ipc_ring_opts_t o;
  aux_checkopts(L, 1, &o, 0);
  lipc_ring *u = lipc_newhandle(L, LIPC_RING, sizeof *u);
  ipc_ring_t *r;
  int rc = ipc_ring_create_anon(&r, &o);
  if (rc < 0)
    return lipc_fail(L, rc, "anon");
  return aux_attach(L, u, r, "anon", NULL);
}

/* ipc.ring.open(name, ["rw" | "r" | "w"]) -> q, or nil, msg, code. "r"
 * only pops, "w" only pushes. */
static int l_open(lua_State *L) {
  static const char *const modes[] = {"rw", "r", "w", NULL};
  static const int flags[] = {0, IPC_RDONLY, IPC_WRONLY};
  const char *name = lipc_checkname(L, 1);
  int how = luaL_checkoption(L, 2, "rw", modes);
  lipc_ring *u = lipc_newhandle(L, LIPC_RING, sizeof *u);
  ipc_ring_t *r;
  int rc = ipc_ring_open(&r, name, flags[how]);
  if (rc < 0)
    return lipc_fail(L, rc, "open %s", name);
  return aux_attach(L, u, r, "open", name);
}

/* ipc.ring.unlink(name) -> true, or nil, msg, code. */
static int l_unlink(lua_State *L) {
  const char *name = lipc_checkname(L, 1);
  int rc = ipc_ring_unlink(name);
  if (rc < 0)
    return lipc_fail(L, rc, "unlink %s", name);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg ringlib[] = {
    {"create", l_create}, {"open", l_open}, {"anon", l_anon},
    {"unlink", l_unlink}, {NULL, NULL},
};

/* Registered with the metatable as upvalue 1 (see aux_check). */
static const luaL_Reg meth[] = {
    {"push", m_push},
    {"pop", m_pop},
    {"push_many", m_push_many},
    {"pop_many", m_pop_many},
    {"push_sync", m_push_sync},
    {"messages", m_messages},
    {"stats", m_stats},
    {"name", m_name},
    {"fd", m_fd},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

void lipc_open_ring(lua_State *L) {
  lipc_newclass(L, LIPC_RING, meth, metameth);
  lipc_newlib(L, ringlib);
  lua_setfield(L, -2, "ring");
}
