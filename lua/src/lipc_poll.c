/* lipc_poll.c: ipc.poll(list, timeout), one wait over the descriptors of
 * many objects (pipes, FIFOs, sockets, POSIX queues, process pidfds, the
 * signal descriptor, raw integers, foreign objects with :fd()). Objects that
 * have no readiness a descriptor can show (rings, shared memory, System V
 * queues) are refused with the reason, never polled to a wrong answer. */
#include "lipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

/* What poll(2) reports that counts as "a read will not block": data, the
 * end of file (the writers are gone), or an error the read will return. */
#define LIPC_POLL_READ (POLLIN | POLLPRI | POLLHUP | POLLERR)
/* The same for a write: room, or an error (EPIPE) the write will return. */
#define LIPC_POLL_WRITE (POLLOUT | POLLERR)

/* One entry of the list, next to its struct pollfd. */
typedef struct entry {
  lipc_ud *ud;     /* the ipc handle, to see whether a hook closed it */
  const char *cls; /* its class name, or NULL for anything else */
  int buffered;    /* a pipe reader holding bytes in user space */
} entry;

/* Raises "bad argument #1 to 'poll' (list[i] <what>)". */
static int aux_entryerror(lua_State *L, int i, const char *what) {
  return luaL_argerror(L, 1, lua_pushfstring(L, "list[%d] %s", i, what));
}

/* The class name of the ipc handle at idx, or NULL when it is none. The
 * __name is only trusted once its registered metatable is the value's. */
static const char *aux_ipcclass(lua_State *L, int idx) {
  const char *cls = NULL;
  if (lua_type(L, idx) == LUA_TUSERDATA &&
      luaL_getmetafield(L, idx, "__name")) {
    const char *name = lua_tostring(L, -1);
    if (name != NULL && strncmp(name, "ipc.", 4) == 0 &&
        lipc_testudata(L, idx, name) != NULL)
      cls = name; /* interned by the registry key, which stays */
    lua_pop(L, 1);
  }
  return cls;
}

/* Why an ipc class with a descriptor of no use to poll is refused. */
static const char *aux_refusal(const char *cls) {
  if (strcmp(cls, LIPC_RING) == 0)
    return "is an ipc.ring, which has no pollable descriptor (its waits "
           "sleep on a futex in shared memory; its fd is the segment): wait "
           "with a timeout on pop, or from a timer or a thread";
  if (strcmp(cls, LIPC_SHM) == 0)
    return "is an ipc.shm segment, which has no readiness to poll";
  if (strcmp(cls, LIPC_MSG) == 0)
    return "is a System V queue (ipc.msg), which has no descriptor: use a "
           "timeout on receive, or a POSIX queue (ipc.mq)";
  return NULL;
}

/* The events string at idx: "r", "w" or "rw". */
static short aux_events(lua_State *L, int idx, int i) {
  const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
  if (strcmp(s, "r") == 0)
    return LIPC_POLL_READ;
  if (strcmp(s, "w") == 0)
    return LIPC_POLL_WRITE;
  if (strcmp(s, "rw") == 0)
    return LIPC_POLL_READ | LIPC_POLL_WRITE;
  return (short)aux_entryerror(L, i,
                               "has bad events ('r', 'w' or 'rw' expected)");
}

/* The descriptor of the object at idx (list entry i): the integer itself,
 * or what its fd method returns. Fills e for ipc handles. */
static int aux_fd(lua_State *L, int idx, int i, entry *e) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (!lipc_isinteger(L, idx) || lua_tointeger(L, idx) < 0 ||
        lua_tointeger(L, idx) > 0x7fffffff)
      aux_entryerror(L, i, "is a number but not a descriptor");
    return (int)lua_tointeger(L, idx);
  }
  e->cls = aux_ipcclass(L, idx);
  if (e->cls != NULL) {
    const char *why = aux_refusal(e->cls);
    if (why != NULL)
      aux_entryerror(L, i, why);
    e->ud = lua_touserdata(L, idx);
    if (e->ud->obj == NULL)
      aux_entryerror(L, i, lua_pushfstring(L, "is a closed %s", e->cls));
  }
  int t = lua_type(L, idx);
  if (t == LUA_TUSERDATA || t == LUA_TTABLE) {
    lua_getfield(L, idx, "fd");
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, idx);
      lua_call(L, 1, 1); /* a foreign object's own errors propagate */
      if (lipc_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
          lua_tointeger(L, -1) <= 0x7fffffff) {
        int fd = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        return fd;
      }
      /* A process whose pidfd the kernel could not give (SIGCHLD
       * ignored), a foreign object without one. */
      aux_entryerror(L, i,
                     lua_pushfstring(L, "(%s) gave no descriptor from :fd()",
                                     e->cls ? e->cls : luaL_typename(L, idx)));
    }
    lua_pop(L, 1);
  }
  return aux_entryerror(
      L, i,
      lua_pushfstring(L,
                      "must be a descriptor, an object with :fd() or "
                      "{obj, 'r'|'w'|'rw'}, got %s",
                      e->cls ? e->cls : luaL_typename(L, idx)));
}

/* Reads list entry i (on top of the stack, popped) into pfd and e, and
 * stores its object at objs[i]. */
static void aux_entry(lua_State *L, int objs, int i, struct pollfd *pfd,
                      entry *e) {
  int idx = lua_gettop(L);
  short events = 0;
  /* {obj, "r"}: a table whose first element is the object; a table with
   * an fd method is an object itself. */
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_getfield(L, idx, "fd");
    int is_object = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (!is_object) {
      lua_rawgeti(L, idx, 2);
      lua_rawgeti(L, idx, 1);
      if (lua_isnil(L, -1))
        aux_entryerror(L, i, "is a table without an object at [1]");
      if (!lua_isnil(L, -2)) /* {obj}: the default events */
        events = aux_events(L, -2, i);
      lua_remove(L, -2);
      lua_replace(L, idx); /* the object instead of the pair */
    }
  }
  memset(e, 0, sizeof *e);
  pfd->fd = aux_fd(L, idx, i, e);
  pfd->revents = 0;
  int fl = fcntl(pfd->fd, F_GETFL);
  if (fl < 0)
    aux_entryerror(L, i,
                   lua_pushfstring(L, "(descriptor %d) is not open", pfd->fd));
  if (events == 0) /* write-only descriptors wait for room, others for data */
    events = (fl & O_ACCMODE) == O_WRONLY ? LIPC_POLL_WRITE : LIPC_POLL_READ;
  pfd->events = events;
  if (e->cls != NULL && strcmp(e->cls, LIPC_PIPE) == 0) {
    ipc_pipe_t *p = e->ud->obj;
    int writer = ipc_pipe_is_writer(p);
    if ((events & POLLIN) && writer)
      aux_entryerror(L, i, "is a pipe's write end, which is never readable");
    if ((events & POLLOUT) && !writer)
      aux_entryerror(L, i, "is a pipe's read end, which is never writable");
    e->buffered = !writer && ipc_pipe_buffered(p) > 0;
  }
  lua_rawseti(L, objs, i);
}

/* Pushes the ready entry {obj=, index=, readable=, writable=, error=,
 * hangup=} of list entry i. */
static void aux_pushready(lua_State *L, int objs, int i,
                          const struct pollfd *pfd, const entry *e) {
  short rev = pfd->revents;
  lua_createtable(L, 0, 6);
  lua_rawgeti(L, objs, i);
  lua_setfield(L, -2, "obj");
  lua_pushinteger(L, i);
  lua_setfield(L, -2, "index");
  lua_pushboolean(L, e->buffered || (rev & pfd->events & LIPC_POLL_READ) != 0);
  lua_setfield(L, -2, "readable");
  lua_pushboolean(L, (rev & pfd->events & LIPC_POLL_WRITE) != 0);
  lua_setfield(L, -2, "writable");
  lua_pushboolean(L, (rev & POLLERR) != 0);
  lua_setfield(L, -2, "error");
  lua_pushboolean(L, (rev & POLLHUP) != 0);
  lua_setfield(L, -2, "hangup");
}

/* ipc.poll(list, [timeout]) -> ready, count. ready lists the entries with
 * an event, in list order; on timeout it is empty and count 0. */
static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double timeout = lipc_checktimeout(L, 2);
  size_t n = lipc_rawlen(L, 1);
  luaL_argcheck(L, n > 0 || timeout >= 0, 1,
                "the list is empty and there is no timeout: it would wait "
                "forever");
  luaL_argcheck(L, n <= 0x7fffffff / sizeof(struct pollfd), 1,
                "too many entries");
  lua_settop(L, 2);
  /* The arrays live in a userdata, so an error anywhere frees them. */
  struct pollfd *pfds =
      lua_newuserdata(L, n * (sizeof(struct pollfd) + sizeof(entry)) + 1);
  entry *es = (entry *)(pfds + n);
  lua_createtable(L, (int)n, 0); /* 4: objs, the objects in list order */
  int objs = lua_gettop(L);
  int buffered = 0;
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (int)i + 1);
    aux_entry(L, objs, (int)i + 1, &pfds[i], &es[i]);
    buffered |= es[i].buffered;
  }
  lipc_deadline d;
  int ms = lipc_deadline_begin(&d, buffered ? 0 : timeout);
  int got;
  while ((got = poll(pfds, (nfds_t)n, ms)) < 0) {
    int err = errno;
    if (err != EINTR)
      return lipc_fail(L, -err, "poll");
    if (!lipc_interrupted(L)) /* ipc.signal.eintr(true) */
      return lipc_fail(L, IPC_EINTR, "poll");
    for (size_t i = 0; i < n; i++) /* the hook may have closed one */
      if (es[i].ud != NULL && es[i].ud->obj == NULL)
        aux_entryerror(L, (int)i + 1,
                       lua_pushfstring(L, "is a closed %s", es[i].cls));
    ms = lipc_deadline_ms(&d);
  }
  lua_createtable(L, got + buffered, 0);
  int count = 0;
  for (size_t i = 0; i < n; i++) {
    if (pfds[i].revents & POLLNVAL)
      aux_entryerror(
          L, (int)i + 1,
          lua_pushfstring(L, "(descriptor %d) is not open", pfds[i].fd));
    if (pfds[i].revents == 0 && !es[i].buffered)
      continue;
    aux_pushready(L, objs, (int)i + 1, &pfds[i], &es[i]);
    lua_rawseti(L, -2, ++count);
  }
  lua_pushinteger(L, count);
  return 2;
}

void lipc_open_poll(lua_State *L) {
  lua_pushcfunction(L, l_poll);
  lua_setfield(L, -2, "poll");
}
