/* lipc_signal.c: the ipc.signal table: Lua signal handlers, run at safe
 * points (dispatch, interrupted waits, the event loop, or a count hook)
 * from the records libipc's C handler queues; dispositions; kill, raise,
 * sigqueue; masks as sets; sigtimedwait; and signalfd handles (class
 * "ipc.sigfd"). Each lua_State has its own receiver (ipc_sigqueue_t) in
 * the registry, closed by lua_close. */
#include "lipc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The registry field of the state's signal data, and its (private) class. */
#define LIPC_SIGKEY "ipc.signal"
#define LIPC_SIGSTATE "ipc.sigstate"
/* The metatable of sets returned (mask, pending, block...): __tostring. */
#define LIPC_SIGSET "ipc.sigset"

/* A state's signal data. Its user value is a table: [signo] = handler,
 * onerror = reporter, hooked = the thread the auto hook is set on. */
typedef struct lipc_sigstate {
  lipc_ud ud;                  /* ipc_sigqueue_t * */
  int dispatching;             /* a dispatch runs: a nested one does nothing */
  int eintr;                   /* ipc.signal.eintr(true) */
  lua_Integer handled, failed; /* handler calls, and those that raised */
  lua_State *hooked;  /* auto mode: the thread with our hook, else NULL */
  lua_Hook prev_hook; /* the hook that was there before ours */
  int prev_mask, prev_count;
} lipc_sigstate;

/* ------------------------------------------------------ signals, sets */

/* What a signal argument may be. */
enum {
  AUX_ANY = 0,   /* any signal 1..64 but glibc's own */
  AUX_ZERO = 1,  /* ... or 0 (kill's existence check) */
  AUX_CATCH = 2, /* ... and not SIGKILL or SIGSTOP */
};

static void aux_pushname(lua_State *L, int sig) {
  char buf[32];
  if (ipc_signal_name(sig, buf, sizeof buf) < 0)
    lua_pushfstring(L, "%d", sig);
  else
    lua_pushstring(L, buf);
}

/* The signal at idx, or -1 with the reason pushed. */
static int aux_tosig(lua_State *L, int idx, int what) {
  int sig;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *name = lua_tostring(L, idx);
    sig = ipc_signal_number(name);
    if (sig < 0) {
      lua_pushfstring(L, "unknown signal '%s'", name);
      return -1;
    }
  } else if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, idx); /* 10 and 10.0 alike */
    if (n != floor(n)) {
      lua_pushliteral(L, "number has no integer representation");
      return -1;
    }
    if (n == 0 && (what & AUX_ZERO))
      return 0;
    if (n < 1 || n > IPC_SIG_MAX) {
      lua_pushvalue(L, idx);
      lua_pushfstring(L, "signal %s is not a signal (%s..%d)",
                      lua_tostring(L, -1), (what & AUX_ZERO) ? "0" : "1",
                      IPC_SIG_MAX);
      lua_remove(L, -2);
      return -1;
    }
    sig = (int)n;
  } else {
    lua_pushfstring(L, "signal name or number expected, got %s",
                    luaL_typename(L, idx));
    return -1;
  }
  if (sig > 31 && sig < SIGRTMIN) {
    lua_pushfstring(L,
                    "signal %d is reserved by the C library (glibc's "
                    "threads use it)",
                    sig);
    return -1;
  }
  if ((what & AUX_CATCH) && (sig == SIGKILL || sig == SIGSTOP)) {
    lua_pushfstring(L, "SIG%s cannot be caught, blocked or ignored",
                    sig == SIGKILL ? "KILL" : "STOP");
    return -1;
  }
  return sig;
}

/* The signal at arg, or raises saying what is wrong with it. */
static int aux_checksig(lua_State *L, int arg, int what) {
  int sig = aux_tosig(L, arg, what);
  if (sig < 0)
    luaL_argerror(L, arg, lua_tostring(L, -1));
  return sig;
}

/* A set at arg: a signal, a list of signals, or a table {USR1 = true,
 * [10] = true}; a boolean value says whether its key is in the set,
 * anything else is a signal itself. Raises on a bad entry, and on an empty
 * set unless allow_empty. */
static uint64_t aux_checkset(lua_State *L, int arg, int allow_empty) {
  uint64_t set = 0;
  if (lua_type(L, arg) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, arg)) {
      int in = 1, idx = -1;
      if (lua_type(L, -1) == LUA_TBOOLEAN) {
        in = lua_toboolean(L, -1);
        idx = -2;
      }
      int sig = aux_tosig(L, lipc_absindex(L, idx), AUX_CATCH);
      if (sig < 0)
        luaL_argerror(L, arg, lua_tostring(L, -1));
      if (in)
        set |= IPC_SIGBIT(sig);
      lua_pop(L, 1);
    }
  } else if (lua_type(L, arg) == LUA_TSTRING ||
             lua_type(L, arg) == LUA_TNUMBER) {
    set = IPC_SIGBIT(aux_checksig(L, arg, AUX_CATCH));
  } else {
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "signal set expected, got %s",
                                  luaL_typename(L, arg)));
  }
  if (set == 0 && !allow_empty)
    luaL_argerror(L, arg, "the set is empty");
  return set;
}

/* Pushes a set: {USR1 = true, ["RTMIN+3"] = true}, with __tostring. */
static void aux_pushset(lua_State *L, uint64_t set) {
  lua_newtable(L);
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (set & IPC_SIGBIT(sig)) {
      aux_pushname(L, sig);
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
  luaL_getmetatable(L, LIPC_SIGSET);
  lua_setmetatable(L, -2);
}

/* tostring(set) -> "{INT, TERM}", in signal order. */
static int mm_set_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '{');
  int n = 0;
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++) {
    aux_pushname(L, sig);
    lua_rawget(L, 1);
    int in = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!in)
      continue;
    char buf[32];
    ipc_signal_name(sig, buf, sizeof buf);
    if (n++ > 0)
      luaL_addstring(&b, ", ");
    luaL_addstring(&b, buf);
  }
  luaL_addchar(&b, '}');
  luaL_pushresult(&b);
  return 1;
}

/* The name of an si_code, where it is known. */
static const char *aux_codename(int sig, int code) {
  switch (code) {
  case SI_USER:
    return "SI_USER";
  case SI_KERNEL:
    return "SI_KERNEL";
  case SI_QUEUE:
    return "SI_QUEUE";
  case SI_TIMER:
    return "SI_TIMER";
  case SI_MESGQ:
    return "SI_MESGQ";
  case SI_ASYNCIO:
    return "SI_ASYNCIO";
  case SI_SIGIO:
    return "SI_SIGIO";
  case SI_TKILL:
    return "SI_TKILL";
  }
  if (sig == SIGCHLD) {
    static const char *const cld[] = {
        NULL,          "CLD_EXITED",  "CLD_KILLED",   "CLD_DUMPED",
        "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"};
    if (code >= 1 && code <= 6)
      return cld[code];
  }
  return NULL;
}

/* Pushes the info table of a record. */
static void aux_pushinfo(lua_State *L, const ipc_siginfo_t *r) {
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, r->signo);
  lua_setfield(L, -2, "signo");
  aux_pushname(L, r->signo);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, r->code);
  lua_setfield(L, -2, "code");
  const char *cn = aux_codename(r->signo, r->code);
  if (cn) {
    lua_pushstring(L, cn);
    lua_setfield(L, -2, "codename");
  }
  lua_pushinteger(L, r->pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, r->uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)r->value);
  lua_setfield(L, -2, "value");
  lua_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
}

/* ------------------------------------------------------ the state's data */

/* This state's signal data, or NULL when it has none yet. */
static lipc_sigstate *aux_peek(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIPC_SIGKEY);
  lipc_sigstate *st = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return st;
}

/* This state's signal data, made with its receiver at the first use.
 * Returns 0, or the code of a failure (the descriptor or the memory). */
static int aux_state(lua_State *L, lipc_sigstate **out) {
  *out = aux_peek(L);
  if (*out != NULL)
    return 0;
  lipc_sigstate *st = lipc_newhandle(L, LIPC_SIGSTATE, sizeof *st);
  ipc_sigqueue_t *q;
  int rc = ipc_sigqueue_create(&q, 0);
  if (rc < 0) {
    lua_pop(L, 1);
    return rc;
  }
  st->ud.obj = q;
  lua_setfield(L, LUA_REGISTRYINDEX, LIPC_SIGKEY);
  *out = st;
  return 0;
}

/* Pushes the user value table of the state's data (handlers, onerror). */
static void aux_pushtable(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIPC_SIGKEY);
  lipc_getuservalue(L, -1);
  lua_remove(L, -2);
}

/* Sets table[key] = value on top (popped), key a signal number. */
static void aux_sethandler(lua_State *L, int sig) {
  aux_pushtable(L);
  lua_insert(L, -2);
  lua_rawseti(L, -2, sig);
  lua_pop(L, 1);
}

/* __gc of the state's data (lua_close): the receiver goes, and with it the
 * state's registrations: dispositions nobody else needs come back. */
static int mm_state_gc(lua_State *L) {
  lipc_sigstate *st = lipc_checkhandle(L, 1, LIPC_SIGSTATE, 0);
  ipc_sigqueue_t *q = st->ud.obj;
  st->ud.obj = NULL;
  ipc_sigqueue_close(q);
  return 0;
}

/* --------------------------------------------------------------- dispatch */

/* The message handler of a Lua handler: its error with a traceback. */
static int aux_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL)
    msg =
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  lipc_traceback(L, msg, 1);
  return 1;
}

/* Reports a handler's error (on top, popped): to ipc.signal.onerror's
 * function, else to io.stderr (or C's stderr without an io library). */
static void aux_report(lua_State *L, int tbl, int sig) {
  int top = lua_gettop(L); /* the error, a string from aux_traceback */
  const char *msg = lua_isstring(L, top) ? lua_tostring(L, top) : "?";
  lua_getfield(L, tbl, "onerror");
  if (lua_isfunction(L, -1)) {
    lua_pushstring(L, msg);
    aux_pushname(L, sig);
    if (lua_pcall(L, 2, 0, 0) == 0) {
      lua_settop(L, top - 1);
      return;
    }
    /* A reporter that raises: both errors go to stderr. */
    msg = lua_pushfstring(L, "%s\n(the onerror function failed too: %s)", msg,
                          lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_replace(L, top);
    msg = lua_tostring(L, top);
  }
  lua_settop(L, top);
  char name[32];
  ipc_signal_name(sig, name, sizeof name);
  const char *line = lua_pushfstring(
      L, "ipc.signal: the handler of %s failed: %s\n", name, msg); /* top+1 */
  int wrote = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "io");
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "stderr"); /* top+4 */
      if (lua_type(L, -1) == LUA_TUSERDATA) {
        lua_getfield(L, -1, "write");
        if (lua_isfunction(L, -1)) {
          lua_pushvalue(L, top + 4);
          lua_pushvalue(L, top + 1);
          wrote = lua_pcall(L, 2, 0, 0) == 0;
        }
      }
    }
  }
  if (!wrote)
    fputs(line, stderr);
  lua_settop(L, top - 1);
}

/* The body of a dispatch, protected: takes the records one by one and
 * runs each one's handler; one that raises is reported and the others
 * still run. Argument 1: the state's data (light userdata). */
static int aux_run(lua_State *L) {
  lipc_sigstate *st = lua_touserdata(L, 1);
  aux_pushtable(L);                    /* 2 */
  lua_pushcfunction(L, aux_traceback); /* 3 */
  lua_Integer ran = 0;
  ipc_siginfo_t rec;
  while (st->ud.obj != NULL && ipc_sigqueue_take(st->ud.obj, &rec, 1) == 1) {
    lua_rawgeti(L, 2, rec.signo);
    if (!lua_isfunction(L, -1)) { /* unhandled since it came: dropped */
      lua_pop(L, 1);
      continue;
    }
    aux_pushname(L, rec.signo);
    aux_pushinfo(L, &rec);
    ran++;
    st->handled++;
    if (lua_pcall(L, 2, 0, 3) != 0) {
      st->failed++;
      aux_report(L, 2, rec.signo);
    }
  }
  lua_pushinteger(L, ran);
  return 1;
}

/* Runs the pending handlers of this state; returns how many ran. Nothing
 * when a dispatch is already running (a handler's own waits) or the state
 * has no receiver. Only a memory error escapes, raised. */
static lua_Integer aux_dispatch(lua_State *L, lipc_sigstate *st) {
  if (st == NULL || st->dispatching || st->ud.obj == NULL)
    return 0;
  st->dispatching = 1;
  lua_pushcfunction(L, aux_run);
  lua_pushlightuserdata(L, st);
  int rc = lua_pcall(L, 1, 1, 0);
  st->dispatching = 0;
  if (rc != 0)
    lua_error(L);
  lua_Integer ran = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return ran;
}

int lipc_signal_safepoint(lua_State *L) {
  lipc_sigstate *st = aux_peek(L);
  if (st == NULL)
    return 0;
  aux_dispatch(L, st);
  return st->eintr;
}

/* ipc.signal.dispatch() -> number of handlers run. */
static int l_dispatch(lua_State *L) {
  lua_pushinteger(L, aux_dispatch(L, aux_peek(L)));
  return 1;
}

/* The count hook of auto mode: dispatches when records are pending, then
 * passes the event on to the hook that was there before, if it asked for
 * that event. */
static void aux_hook(lua_State *L, lua_Debug *ar) {
  lipc_sigstate *st = aux_peek(L);
  if (st == NULL)
    return;
  if (ar->event == LUA_HOOKCOUNT && st->ud.obj != NULL &&
      ipc_sigqueue_pending(st->ud.obj) > 0)
    aux_dispatch(L, st);
  if (st->prev_hook && (st->prev_mask & lipc_hookmask(ar->event)))
    st->prev_hook(L, ar);
}

/* ipc.signal.auto(on, [count]) -> whether it was on. */
static int l_auto(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  int on = lua_toboolean(L, 1);
  lua_Integer count = 1000;
  if (!lua_isnoneornil(L, 2)) {
    count = lipc_checkinteger(L, 2);
    luaL_argcheck(L, count >= 1 && count <= 1000000000, 2,
                  "count must be 1..10^9 instructions");
  }
  lipc_sigstate *st;
  int rc = aux_state(L, &st);
  if (rc < 0)
    return lipc_fail(L, rc, "auto");
  int was = st->hooked != NULL;
  if (on) {
    if (st->hooked == NULL) {
      st->prev_hook = lua_gethook(L);
      st->prev_mask = lua_gethookmask(L);
      st->prev_count = lua_gethookcount(L);
      st->hooked = L;
      aux_pushtable(L);
      lua_pushthread(L); /* anchored: the hook is undone on this thread */
      lua_setfield(L, -2, "hooked");
      lua_pop(L, 1);
    }
    lua_sethook(st->hooked, aux_hook, st->prev_mask | LUA_MASKCOUNT,
                (int)count);
  } else if (st->hooked != NULL) {
    /* Only our own hook is undone: one set since by debug.sethook stays. */
    if (lua_gethook(st->hooked) == aux_hook)
      lua_sethook(st->hooked, st->prev_hook, st->prev_mask, st->prev_count);
    st->hooked = NULL;
    st->prev_hook = NULL;
    aux_pushtable(L);
    lua_pushnil(L);
    lua_setfield(L, -2, "hooked");
    lua_pop(L, 1);
  }
  lua_pushboolean(L, was);
  return 1;
}

/* ipc.signal.eintr(on) -> whether it was on. */
static int l_eintr(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lipc_sigstate *st;
  int rc = aux_state(L, &st);
  if (rc < 0)
    return lipc_fail(L, rc, "eintr");
  lua_pushboolean(L, st->eintr);
  st->eintr = lua_toboolean(L, 1);
  return 1;
}

/* ipc.signal.onerror(fn | nil) -> the previous function, or nil. */
static int l_onerror(lua_State *L) {
  if (!lua_isnoneornil(L, 1))
    luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lipc_sigstate *st;
  int rc = aux_state(L, &st);
  if (rc < 0)
    return lipc_fail(L, rc, "onerror");
  aux_pushtable(L);               /* fn, tbl */
  lua_getfield(L, -1, "onerror"); /* fn, tbl, old */
  lua_pushvalue(L, 1);
  lua_setfield(L, -3, "onerror");
  return 1;
}

/* ------------------------------------------------------------ handlers */

/* ipc.signal.handle(sig, fn) -> true, or nil, msg, code. */
static int l_handle(lua_State *L) {
  int sig = aux_checksig(L, 1, AUX_CATCH);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lipc_sigstate *st;
  int rc = aux_state(L, &st);
  if (rc == 0)
    rc = ipc_signal_handle(st->ud.obj, sig, 0);
  if (rc < 0) {
    char name[32];
    ipc_signal_name(sig, name, sizeof name);
    return lipc_fail(L, rc, "handle %s", name);
  }
  lua_pushvalue(L, 2);
  aux_sethandler(L, sig);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.signal.unhandle(sig) -> true. */
static int l_unhandle(lua_State *L) {
  int sig = aux_checksig(L, 1, AUX_CATCH);
  lipc_sigstate *st = aux_peek(L);
  if (st != NULL && st->ud.obj != NULL) {
    ipc_signal_unhandle(st->ud.obj, sig);
    lua_pushnil(L);
    aux_sethandler(L, sig);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ignore, default, restore: what(q, sig). */
static int aux_disposition(lua_State *L, const char *verb,
                           int (*what)(ipc_sigqueue_t *, int)) {
  int sig = aux_checksig(L, 1, AUX_CATCH);
  lipc_sigstate *st = aux_peek(L);
  int rc = what(st ? st->ud.obj : NULL, sig);
  if (rc < 0) {
    char name[32];
    ipc_signal_name(sig, name, sizeof name);
    return lipc_fail(L, rc, "%s %s%s", verb, name,
                     rc == IPC_EBUSY ? " (another lua_State handles it)" : "");
  }
  if (st != NULL) {
    lua_pushnil(L);
    aux_sethandler(L, sig);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ignore(lua_State *L) {
  return aux_disposition(L, "ignore", ipc_signal_ignore);
}

static int l_default(lua_State *L) {
  return aux_disposition(L, "default", ipc_signal_default);
}

static int l_restore(lua_State *L) {
  return aux_disposition(L, "restore", ipc_signal_restore);
}

/* ipc.signal.fd() -> the eventfd of this state's receiver. */
static int l_fd(lua_State *L) {
  lipc_sigstate *st;
  int rc = aux_state(L, &st);
  if (rc < 0)
    return lipc_fail(L, rc, "fd");
  lua_pushinteger(L, ipc_sigqueue_fd(st->ud.obj));
  return 1;
}

/* ipc.signal.stats() -> {received, dropped, dropped_by, pending, handled,
 * failed, capacity, signals}. */
static int l_stats(lua_State *L) {
  lipc_sigstate *st = aux_peek(L);
  ipc_sigqueue_stats_t s;
  memset(&s, 0, sizeof s);
  if (st != NULL && st->ud.obj != NULL)
    ipc_sigqueue_stats(st->ud.obj, &s);
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, (lua_Integer)s.recorded);
  lua_setfield(L, -2, "received");
  lua_pushinteger(L, (lua_Integer)s.dropped[0]);
  lua_setfield(L, -2, "dropped");
  lua_newtable(L);
  for (int sig = 1; sig <= IPC_SIG_MAX; sig++)
    if (s.dropped[sig] > 0) {
      lua_pushinteger(L, (lua_Integer)s.dropped[sig]);
      char name[32];
      ipc_signal_name(sig, name, sizeof name);
      lua_setfield(L, -2, name);
    }
  lua_setfield(L, -2, "dropped_by");
  lua_pushinteger(L, (lua_Integer)s.pending);
  lua_setfield(L, -2, "pending");
  lua_pushinteger(L, st ? st->handled : 0);
  lua_setfield(L, -2, "handled");
  lua_pushinteger(L, st ? st->failed : 0);
  lua_setfield(L, -2, "failed");
  lua_pushinteger(L, (lua_Integer)s.capacity);
  lua_setfield(L, -2, "capacity");
  aux_pushset(L, s.handled);
  lua_setfield(L, -2, "signals");
  return 1;
}

/* --------------------------------------------------------------- sending */

/* ipc.signal.kill(pid, [sig]) -> true, or nil, msg, code. sig defaults to
 * TERM; 0 checks that pid exists. */
static int l_kill(lua_State *L) {
  lua_Integer pid = lipc_checkinteger(L, 1);
  luaL_argcheck(L, pid >= -2147483647 && pid <= 2147483647, 1,
                "pid out of range");
  int sig = lua_isnoneornil(L, 2) ? SIGTERM : aux_checksig(L, 2, AUX_ZERO);
  int rc = ipc_signal_kill((pid_t)pid, sig);
  if (rc < 0)
    return lipc_fail(L, rc, "kill %d", (int)pid);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.signal.raise(sig) -> true, or nil, msg, code. */
static int l_raise(lua_State *L) {
  int sig = aux_checksig(L, 1, AUX_ANY);
  int rc = ipc_signal_raise(sig);
  if (rc < 0)
    return lipc_fail(L, rc, "raise");
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.signal.queue(pid, sig, [value]) -> true, or nil, msg, code. */
static int l_queue(lua_State *L) {
  lua_Integer pid = lipc_checkinteger(L, 1);
  luaL_argcheck(L, pid >= 1 && pid <= 2147483647, 1, "pid must be positive");
  int sig = aux_checksig(L, 2, AUX_ANY);
  lua_Integer value = lua_isnoneornil(L, 3) ? 0 : lipc_checkinteger(L, 3);
  int rc = ipc_signal_queue((pid_t)pid, sig, (int64_t)value);
  if (rc < 0)
    return lipc_fail(L, rc, "queue %d", (int)pid);
  lua_pushboolean(L, 1);
  return 1;
}

/* ------------------------------------------------------------------ masks */

/* block(set) and unblock(set) -> the mask as it was. */
static int aux_mask(lua_State *L, int (*change)(uint64_t, uint64_t *)) {
  uint64_t set = aux_checkset(L, 1, 1), old = 0;
  change(set, &old); /* the set is checked: nothing left to fail */
  aux_pushset(L, old);
  return 1;
}

static int l_block(lua_State *L) { return aux_mask(L, ipc_signal_block); }

static int l_unblock(lua_State *L) { return aux_mask(L, ipc_signal_unblock); }

static int l_mask(lua_State *L) {
  uint64_t set;
  ipc_signal_mask(&set);
  aux_pushset(L, set);
  return 1;
}

static int l_pending(lua_State *L) {
  uint64_t set;
  ipc_signal_pending(&set);
  aux_pushset(L, set);
  return 1;
}

/* Pushes name, info of a record; returns 2. */
static int aux_pushsignal(lua_State *L, const ipc_siginfo_t *r) {
  aux_pushname(L, r->signo);
  aux_pushinfo(L, r);
  return 2;
}

/* ipc.signal.wait(set, [timeout]) -> name, info, or nil, msg, code. The
 * set is blocked during the call (and unblocked after, the bits that were
 * not blocked before). */
static int l_wait(lua_State *L) {
  uint64_t set = aux_checkset(L, 1, 0), old = 0;
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, lipc_checktimeout(L, 2));
  ipc_signal_block(set, &old);
  ipc_siginfo_t r;
  int rc;
  while ((rc = ipc_signal_wait(set, ms, &r)) == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    ms = lipc_deadline_ms(&d);
  }
  ipc_signal_unblock(set & ~old, NULL);
  if (rc < 0)
    return lipc_fail(L, rc, "wait");
  return aux_pushsignal(L, &r);
}

/* ----------------------------------------------------------------- sigfd */

/* ipc.signal.open(set) -> an ipc.sigfd, or nil, msg, code. */
static int l_open(lua_State *L) {
  uint64_t set = aux_checkset(L, 1, 0);
  lipc_ud *u = lipc_newhandle(L, LIPC_SIGFD, sizeof *u);
  ipc_sigfd_t *h;
  int rc = ipc_sigfd_open(&h, set);
  if (rc < 0)
    return lipc_fail(L, rc, "open");
  u->obj = h;
  return 1;
}

/* h:read([timeout]) -> name, info, or nil, msg, code. */
static int m_read(lua_State *L) {
  lipc_ud *u = lipc_checkself(L, LIPC_SIGFD);
  lipc_deadline d;
  ipc_siginfo_t r;
  int rc = ipc_sigfd_read(u->obj, &r,
                          lipc_deadline_begin(&d, lipc_checktimeout(L, 2)));
  while (rc == IPC_EINTR) {
    if (!lipc_interrupted(L))
      break;
    lipc_checkopen(L, u, LIPC_SIGFD);
    rc = ipc_sigfd_read(u->obj, &r, lipc_deadline_ms(&d));
  }
  if (rc < 0)
    return lipc_fail(L, rc, "read");
  return aux_pushsignal(L, &r);
}

static int m_fd(lua_State *L) {
  lipc_ud *u = lipc_checkself(L, LIPC_SIGFD);
  lua_pushinteger(L, ipc_sigfd_fd(u->obj));
  return 1;
}

static int m_set(lua_State *L) {
  lipc_ud *u = lipc_checkself(L, LIPC_SIGFD);
  aux_pushset(L, ipc_sigfd_set(u->obj));
  return 1;
}

static int m_close(lua_State *L) {
  lipc_ud *u = lipc_checkself(L, LIPC_SIGFD);
  ipc_sigfd_t *h = u->obj;
  u->obj = NULL;
  ipc_sigfd_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: closes a handle still open, quietly. */
static int mm_gc(lua_State *L) {
  lipc_ud *u = lipc_checkhandle(L, 1, LIPC_SIGFD, 0);
  ipc_sigfd_t *h = u->obj;
  u->obj = NULL;
  ipc_sigfd_close(h);
  return 0;
}

/* "ipc.sigfd ({INT, TERM}, fd 7)" or "ipc.sigfd (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_ud *u = lipc_checkhandle(L, 1, LIPC_SIGFD, 0);
  if (u->obj == NULL) {
    lua_pushliteral(L, "ipc.sigfd (closed)");
    return 1;
  }
  lua_pushcfunction(L, mm_set_tostring);
  aux_pushset(L, ipc_sigfd_set(u->obj));
  lua_call(L, 1, 1);
  lua_pushfstring(L, "ipc.sigfd (%s, fd %d)", lua_tostring(L, -1),
                  ipc_sigfd_fd(u->obj));
  return 1;
}

/* ------------------------------------------------------------------ names */

/* The signal number at arg for name and number: any 1..64 (32 and 33
 * included), or -1; raises for what is neither a string nor a number. */
static int aux_lookup(lua_State *L, int arg) {
  if (lua_type(L, arg) == LUA_TSTRING)
    return ipc_signal_number(lua_tostring(L, arg));
  lua_Number n = luaL_checknumber(L, arg);
  return n == floor(n) && n >= 1 && n <= IPC_SIG_MAX ? (int)n : -1;
}

/* ipc.signal.name(sig) -> "USR1", or nil for what is no signal. */
static int l_name(lua_State *L) {
  int sig = aux_lookup(L, 1);
  if (sig < 0)
    lua_pushnil(L);
  else
    aux_pushname(L, sig);
  return 1;
}

/* ipc.signal.number(sig) -> 10, or nil for what is no signal. */
static int l_number(lua_State *L) {
  int sig = aux_lookup(L, 1);
  if (sig < 0)
    lua_pushnil(L);
  else
    lua_pushinteger(L, sig);
  return 1;
}

static const luaL_Reg siglib[] = {
    {"handle", l_handle},
    {"unhandle", l_unhandle},
    {"dispatch", l_dispatch},
    {"fd", l_fd},
    {"ignore", l_ignore},
    {"default", l_default},
    {"restore", l_restore},
    {"kill", l_kill},
    {"raise", l_raise},
    {"queue", l_queue},
    {"block", l_block},
    {"unblock", l_unblock},
    {"mask", l_mask},
    {"pending", l_pending},
    {"wait", l_wait},
    {"open", l_open},
    {"auto", l_auto},
    {"eintr", l_eintr},
    {"onerror", l_onerror},
    {"stats", l_stats},
    {"name", l_name},
    {"number", l_number},
    {NULL, NULL},
};

static const luaL_Reg meth[] = {
    {"read", m_read},   {"fd", m_fd}, {"set", m_set},
    {"close", m_close}, {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

static const luaL_Reg state_meta[] = {
    {"__gc", mm_state_gc},
    {NULL, NULL},
};

static const luaL_Reg no_methods[] = {{NULL, NULL}};

void lipc_open_signal(lua_State *L) {
  lipc_newclass(L, LIPC_SIGFD, meth, metameth);
  lipc_newclass(L, LIPC_SIGSTATE, no_methods, state_meta);
  luaL_newmetatable(L, LIPC_SIGSET);
  lua_pushcfunction(L, mm_set_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lipc_newlib(L, siglib);
  lua_setfield(L, -2, "signal");
}
