/* lipc.h: what the files of the ipc Lua module share: the handle layout, the
 * class, argument, failure, timeout and EINTR helpers (lipc.c), and the
 * openers of each area. The module keeps no state in C globals: several
 * lua_States may use it at once in one process. */
#ifndef LIPC_H
#define LIPC_H

#include "compat.h"
#include "ipc.h"

#include <time.h>

#if defined(__GNUC__)
#define LIPC_EXPORT __attribute__((visibility("default")))
#else
#define LIPC_EXPORT
#endif

/* Opens the module: returns the ipc table and sets no globals. */
LIPC_EXPORT int luaopen_ipc(lua_State *L);

/* Metatable names (luaL_newmetatable keys, also __name). */
#define LIPC_PIPE "ipc.pipe"
#define LIPC_PROC "ipc.proc"
#define LIPC_SHM "ipc.shm"
#define LIPC_RING "ipc.ring"

/* The registry field a host sets to a function to be called when a wait is
 * interrupted by a signal (see lipc_interrupted). */
#define LIPC_INTERRUPT "ipc.interrupt"

/* Every handle userdata starts with this: the libipc object it owns, or NULL
 * once closed. A userdata is made closed and given its object only after the
 * object exists, so a failure in between never leaks or double-frees. */
typedef struct lipc_ud {
  void *obj;
  const void *cls; /* its class's metatable (lua_topointer): see checkself */
} lipc_ud;

/* An ipc.pipe: one end of a pipe. */
typedef struct lipc_pipe {
  lipc_ud ud;     /* ipc_pipe_t * */
  double timeout; /* seconds for read and write; < 0: forever */
} lipc_pipe;

/* A deadline on CLOCK_MONOTONIC, so that retries after EINTR wait only for
 * the time that is left. */
typedef struct lipc_deadline {
  int forever;
  struct timespec at;
} lipc_deadline;

/* Makes class cls: a metatable registered under cls with __name, the
 * metamethods (one __gc function also serves __close where it exists) and
 * __index. Without an "__index" among the metamethods, __index is the table
 * of methods; an "__index" C function gets that table as upvalue 1 instead,
 * to look methods up itself. Every method gets the metatable as upvalue 1,
 * for lipc_checkself. Leaves the stack as it was. */
void lipc_newclass(lua_State *L, const char *cls, const luaL_Reg *methods,
                   const luaL_Reg *metamethods);

/* The handle of class cls at arg. Raises "bad argument #arg to 'f' (cls
 * expected, got <type>)" for any other value, and, when open is set,
 * "attempt to use a closed cls" for a closed handle. */
void *lipc_checkhandle(lua_State *L, int arg, const char *cls, int open);

/* The open handle of class cls at argument 1 of a method (made by
 * lipc_newclass): the tag lipc_newhandle stored in the handle compared with
 * upvalue 1, without luaL_checkudata's registry lookup or a metatable
 * pushed and popped, for the hot calls. Anything else goes to
 * lipc_checkhandle, which raises. */
void *lipc_checkself(lua_State *L, const char *cls);

/* Raises "attempt to use a closed cls" when the handle was closed, as the
 * interrupt hook (lipc_interrupted) may have done during a call. */
void lipc_checkopen(lua_State *L, const void *handle, const char *cls);

/* Pushes a new closed handle of class cls of size bytes (a struct starting
 * with lipc_ud, whose cls it sets) with an empty table as user value. */
void *lipc_newhandle(lua_State *L, const char *cls, size_t size);

/* The world's failures: pushes nil, "<context>: <ipc_strerror(code)>", code
 * and returns 3, like luaL_fileresult. fmt/... make the context
 * (lua_pushfstring formats). */
int lipc_fail(lua_State *L, int code, const char *fmt, ...);

/* The POSIX object name at arg ("/x"), valid for libipc; otherwise raises
 * saying what is wrong with it ("name has a second '/'"). */
const char *lipc_checkname(lua_State *L, int arg);

/* A permission mode at stack index idx, reported as argument arg named
 * what: nil or none (0, which libipc reads as 0600), an integer in
 * 0..0777, or the same as a string of octal digits ("640", "0640"). */
int lipc_checkperm(lua_State *L, int idx, int arg, const char *what);

/* Checks that the table at arg (if any) has only string keys from the
 * NULL-terminated list known; raises "unknown option 'x'" otherwise. */
void lipc_checkopts(lua_State *L, int arg, const char *const known[]);

/* A timeout argument in seconds: nil or none is forever (returns -1), a
 * number >= 0 is returned; anything else raises naming the argument.
 * Timeouts too long for an int of milliseconds (about 24.8 days) count as
 * forever. */
double lipc_checktimeout_value(lua_State *L, int arg);
static inline double lipc_checktimeout(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? -1 : lipc_checktimeout_value(L, arg);
}

/* Starts a deadline seconds from now (seconds < 0: forever). */
void lipc_deadline_start(lipc_deadline *d, double seconds);

/* The timeout_ms for the next libipc call: -1 forever, else the whole
 * milliseconds left, rounded up, 0 once the deadline has passed. */
int lipc_deadline_ms(const lipc_deadline *d);

/* lipc_deadline_start, then the first timeout_ms. Only seconds > 0 reads
 * the clock: the hot calls (forever, or 0 to poll) make no system call,
 * and forever not even a function call. */
static inline int lipc_deadline_begin(lipc_deadline *d, double seconds) {
  if (seconds < 0) {
    d->forever = 1;
    return -1;
  }
  lipc_deadline_start(d, seconds);
  return lipc_deadline_ms(d);
}

/* The EINTR policy: a libipc call returned IPC_EINTR. Runs this state's
 * pending Lua signal handlers (lipc_signal_safepoint), then calls the
 * function in the registry field LIPC_INTERRUPT, if there is one (it may
 * raise, which then aborts the interrupted call). Returns 1 when the caller
 * should retry with the time left, 0 when it should return the EINTR
 * failure (ipc.signal.eintr(true)). Nothing is lost either way: libipc
 * keeps partial reads buffered. */
int lipc_interrupted(lua_State *L);

/* The areas. Each adds its functions to the module table on top of the
 * stack and makes its classes. lipc_pipe.c also serves lipc_proc.c. */
void lipc_open_pipe(lua_State *L);
void lipc_open_proc(lua_State *L);
void lipc_open_shm(lua_State *L);
void lipc_open_ring(lua_State *L);
void lipc_open_fifo(lua_State *L);
#define LIPC_MQ "ipc.mq"   /* POSIX message queues (lipc_mq.c) */
#define LIPC_MSG "ipc.msg" /* System V message queues (lipc_msg.c) */
void lipc_open_mq(lua_State *L);
void lipc_open_msg(lua_State *L);
#define LIPC_SOCK "ipc.sock"
void lipc_open_sock(lua_State *L);
#define LIPC_SEM "ipc.sem"
#define LIPC_SEMSET "ipc.semset"
#define LIPC_MUTEX "ipc.mutex"
void lipc_open_sem(lua_State *L);
void lipc_open_time(lua_State *L); /* ipc.now, ipc.sleep (lipc_time.c) */
void lipc_open_ls(lua_State *L);   /* ipc.ls, ipc.rm (lipc_ls.c) */
void lipc_open_poll(lua_State *L); /* ipc.poll (lipc_poll.c) */
void lipc_open_loop(lua_State *L); /* ipc.loop (lipc_loop.c, ipc/loop.lua) */

#define LIPC_SIGFD "ipc.sigfd"
void lipc_open_signal(lua_State *L);
/* Runs this state's pending Lua signal handlers, unless a dispatch is
 * already running; returns whether ipc.signal.eintr is on (lipc_signal.c).
 * Raises only on a memory error: a handler's error is reported. */
int lipc_signal_safepoint(lua_State *L);

/* Pushes a new closed ipc.pipe handle (lipc_pipe.c). */
lipc_pipe *lipc_pipe_new(lua_State *L);

#endif /* LIPC_H */
