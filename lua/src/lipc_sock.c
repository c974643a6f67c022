/* lipc_sock.c: the ipc.sock table (listen, connect, pair, fromfd, unlink,
 * closefd) and socket handles (class "ipc.sock"): send and receive with
 * descriptors, datagrams with addresses, peer credentials. Descriptors that
 * arrive come back as handles when their kind can be told (a pipe or FIFO
 * as an ipc.pipe, a socket as an ipc.sock), else as integers. */
#include "lipc.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* What recv reads at most when the caller does not say. */
#define LIPC_SOCK_MAX 65536
/* The registry field of the state's receive buffer (see aux_buffer). */
#define LIPC_SOCK_BUFFER "ipc.sock.buffer"

static const char *const type_names[] = {"stream", "dgram", "seqpacket", NULL};

/* ------------------------------------------------------------- arguments */

/* The open socket at arg. */
static ipc_sock_t *aux_check(lua_State *L, int arg) {
  lipc_ud *ud = lipc_checkhandle(L, arg, LIPC_SOCK, 1);
  return ud->obj;
}

/* The socket address at arg. A malformed one raises with the reason; one
 * that is only too long is returned, for libipc to refuse with
 * ENAMETOOLONG (a limit of the system, not a mistake in the string). */
static const char *aux_checkaddr(lua_State *L, int arg) {
  size_t len;
  const char *addr = luaL_checklstring(L, arg, &len);
  if (strlen(addr) != len)
    luaL_argerror(L, arg, "the address has a zero byte");
  const char *why;
  int rc = ipc_sock_addr_check(addr, &why);
  if (rc < 0 && rc != IPC_ENAMETOOLONG)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s (got '%s')", why, addr));
  return addr;
}

/* The failure of a call on address addr: "connect unix:/x: ..." and, for
 * a name too long, the length and the limit. */
static int aux_addrfail(lua_State *L, int code, const char *what,
                        const char *addr) {
  if (code == IPC_ENAMETOOLONG) {
    const char *rest = strchr(addr, ':') + 1;
    size_t n = strlen(rest) - (rest[0] == '@');
    return lipc_fail(L, code, "%s %s (%d bytes, at most %d)", what, addr,
                     (int)n, IPC_SOCK_PATH_MAX);
  }
  return lipc_fail(L, code, "%s %s", what, addr);
}

/* An integer field of the options table at arg, or def when absent. */
static lua_Integer aux_optint(lua_State *L, int arg, const char *key,
                              lua_Integer def) {
  if (!lua_istable(L, arg))
    return def;
  lua_getfield(L, arg, key);
  lua_Integer v = def;
  if (!lua_isnil(L, -1)) {
    if (!lipc_isinteger(L, -1))
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer", key));
    v = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* The timeout field of the options table at arg (seconds; nil forever). */
static double aux_opttimeout(lua_State *L, int arg) {
  if (!lua_istable(L, arg))
    return -1;
  lua_getfield(L, arg, "timeout");
  int top = lua_gettop(L);
  double t = -1;
  if (!lua_isnil(L, top)) {
    /* Checked here so that the error names the options argument. */
    if (lua_type(L, top) != LUA_TNUMBER || !(lua_tonumber(L, top) >= 0))
      luaL_argerror(L, arg, "timeout must be a number >= 0");
    t = lipc_checktimeout(L, top);
  }
  lua_pop(L, 1);
  return t;
}

/* The descriptor of the value at idx, an entry of the fds list at arg: an
 * integer >= 0, or a handle whose fd() method gives one (a pipe, a socket,
 * a POSIX shm segment, a process's pidfd, ...). */
static int aux_tofd(lua_State *L, int idx, int arg, int i) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (!lipc_isinteger(L, idx) || lua_tointeger(L, idx) < 0 ||
        lua_tointeger(L, idx) > INT32_MAX)
      luaL_argerror(L, arg,
                    lua_pushfstring(L, "fds[%d] is not a descriptor", i));
    return (int)lua_tointeger(L, idx);
  }
  if (lua_type(L, idx) == LUA_TUSERDATA) {
    lua_getfield(L, idx, "fd");
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, idx);
      lua_call(L, 1, 1); /* raises for a closed handle */
      if (lipc_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) {
        int fd = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        return fd;
      }
    }
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "fds[%d] (%s) has no descriptor", i,
                                  luaL_typename(L, idx)));
  }
  luaL_argerror(L, arg,
                lua_pushfstring(L,
                                "fds[%d] must be an integer or a handle, "
                                "got %s",
                                i, luaL_typename(L, idx)));
  return -1;
}

/* Fills fds from the "fds" list of the options table at arg; returns the
 * count. */
static size_t aux_optfds(lua_State *L, int arg, ipc_sock_t *s, int *fds) {
  if (!lua_istable(L, arg))
    return 0;
  lua_getfield(L, arg, "fds");
  int list = lua_gettop(L);
  size_t n = 0;
  if (!lua_isnil(L, list)) {
    luaL_argcheck(L, lua_istable(L, list), arg, "fds must be a list");
    n = lipc_rawlen(L, list);
    if (n > IPC_SOCK_MAX_FDS)
      luaL_argerror(L, arg,
                    lua_pushfstring(L, "at most %d descriptors per message",
                                    IPC_SOCK_MAX_FDS));
    if (n > 0 && !ipc_sock_is_unix(s))
      luaL_argerror(L, arg, "descriptors travel over Unix sockets only");
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, list, (int)i + 1);
      fds[i] = aux_tofd(L, lua_gettop(L), arg, (int)i + 1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return n;
}

/* ---------------------------------------------------------------- handles */

/* Pushes a new closed socket handle. */
static lipc_ud *aux_new(lua_State *L) {
  return lipc_newhandle(L, LIPC_SOCK, sizeof(lipc_ud));
}

/* Whether fd's file lives on tmpfs, where memfds and /dev/shm live. */
static int aux_on_tmpfs(int fd) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* Pushes what a received descriptor becomes: an ipc.pipe for a pipe or
 * FIFO (the write end when it was opened write-only), an ipc.sock for a
 * socket libipc knows, an ipc.shm for a shared-memory segment, else the
 * integer. The value then owns fd. */
static void aux_pushfd(lua_State *L, int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    lua_pushinteger(L, fd);
    return;
  }
  if (S_ISFIFO(st.st_mode)) {
    int fl = fcntl(fd, F_GETFL);
    lipc_pipe *u = lipc_pipe_new(L);
    ipc_pipe_t *p;
    if (fl >= 0 &&
        ipc_pipe_from_fd(&p, fd, (fl & O_ACCMODE) == O_WRONLY) == 0) {
      u->ud.obj = p;
      return;
    }
    lua_pop(L, 1);
  } else if (S_ISSOCK(st.st_mode)) {
    lipc_ud *ud = aux_new(L);
    ipc_sock_t *s;
    if (ipc_sock_from_fd(&s, fd) == 0) {
      ud->obj = s;
      return;
    }
    lua_pop(L, 1);
  } else if (S_ISREG(st.st_mode) && aux_on_tmpfs(fd)) {
    /* A memfd or a /dev/shm file: a shared-memory segment. (Files on
     * disks stay integers: mapping them is not what a receiver expects.) */
    lipc_ud *ud = lipc_newhandle(L, LIPC_SHM, sizeof(lipc_ud));
    ipc_shm_t *seg;
    if (ipc_shm_from_fd(&seg, fd, 0) == 0) {
      ud->obj = seg;
      return;
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, fd);
}

/* ---------------------------------------------------------------- methods */

/* s:accept([timeout]) -> sock, or nil, msg, code. */
static int m_accept(lua_State *L) {
  aux_check(L, 1);
  lipc_deadline d;
  lipc_deadline_start(&d, lipc_checktimeout(L, 2));
  lipc_ud *ud = aux_new(L);
  for (;;) {
    ipc_sock_t *l = aux_check(L, 1), *c;
    if (!ipc_sock_is_listener(l))
      luaL_argerror(L, 1, "not a listener");
    int rc = ipc_sock_accept(l, &c, lipc_deadline_ms(&d));
    if (rc == 0) {
      ud->obj = c;
      return 1;
    }
    if (rc != IPC_EINTR || !lipc_interrupted(L))
      return lipc_fail(L, rc, "accept");
  }
}

/* Sends data (at 2) with the options at optarg, to addr or the peer.
 * Returns the count of bytes, or nil, msg, code, bytes sent. */
static int aux_send(lua_State *L, const char *addr, int optarg) {
  ipc_sock_t *s = aux_check(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  static const char *const known[] = {"fds", "timeout", NULL};
  lipc_checkopts(L, optarg, known);
  int fds[IPC_SOCK_MAX_FDS];
  size_t nfds = aux_optfds(L, optarg, s, fds);
  if (nfds > 0 && len == 0 && ipc_sock_type(s) == IPC_SOCK_STREAM)
    luaL_argerror(L, 2, "descriptors on a stream need at least one byte");
  if (ipc_sock_is_listener(s))
    luaL_argerror(L, 1, "a listener sends nothing");
  lipc_deadline d;
  lipc_deadline_start(&d, aux_opttimeout(L, optarg));
  ipc_sock_msg_t m = {(void *)data, len, fds, nfds, (char *)addr, 0};
  size_t total = 0;
  for (;;) {
    s = aux_check(L, 1); /* the interrupt hook may have closed it */
    ssize_t n = ipc_sock_sendmsg(s, &m, lipc_deadline_ms(&d));
    if (n >= 0 && (size_t)n == m.len) {
      total += (size_t)n;
      break;
    }
    if (n > 0) {
      /* A short count on a stream: the time ran out or a signal came. */
      total += (size_t)n;
      m.data = (char *)m.data + n;
      m.len -= (size_t)n;
      m.nfds = 0; /* they went with the first bytes */
      n = lipc_deadline_ms(&d) == 0 ? IPC_ETIMEDOUT : IPC_EINTR;
    }
    if (n == IPC_EINTR && lipc_interrupted(L))
      continue;
    if (addr)
      aux_addrfail(L, (int)n, "sendto", addr);
    else
      lipc_fail(L, (int)n, "send");
    lua_pushinteger(L, (lua_Integer)total);
    return 4;
  }
  lua_pushinteger(L, (lua_Integer)total);
  return 1;
}

/* s:send(data, [opts]) -> #data, or nil, msg, code, bytes sent. */
static int m_send(lua_State *L) { return aux_send(L, NULL, 3); }

/* s:sendto(data, addr, [opts]) -> #data, or nil, msg, code, 0. */
static int m_sendto(lua_State *L) {
  return aux_send(L, aux_checkaddr(L, 3), 4);
}

/* A receive buffer of at least size bytes. It is kept in the registry, one
 * per lua_State, and replaced by a larger one when needed, so that a recv
 * allocates nothing. Call it again after anything that can run Lua code
 * (which may replace it). */
static char *aux_buffer(lua_State *L, size_t size) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIPC_SOCK_BUFFER);
  char *buf = lua_touserdata(L, -1);
  if (buf == NULL || lipc_rawlen(L, -1) < size) {
    lua_pop(L, 1);
    buf = lua_newuserdata(L, size < 4096 ? 4096 : size);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LIPC_SOCK_BUFFER);
  }
  lua_pop(L, 1); /* the registry holds it */
  return buf;
}

/* Receives one read or message: pushes data, [the sender's address,]
 * then the descriptors that came. */
static int aux_recv(lua_State *L, int from) {
  ipc_sock_t *s = aux_check(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, LIPC_SOCK_MAX);
  luaL_argcheck(L, max >= 0 && max <= INT32_MAX, 2,
                "size must be from 0 to 2^31-1");
  lipc_deadline d;
  lipc_deadline_start(&d, lipc_checktimeout(L, 3));
  if (ipc_sock_is_listener(s))
    luaL_argerror(L, 1, "a listener receives nothing");
  char *buf;
  int fds[IPC_SOCK_MAX_FDS];
  char addr[IPC_SOCK_ADDR_MAX];
  ipc_sock_msg_t m;
  ssize_t n;
  for (;;) {
    s = aux_check(L, 1);
    buf = aux_buffer(L, (size_t)max);
    memset(&m, 0, sizeof m);
    m.data = buf;
    m.len = (size_t)max;
    m.fds = fds;
    m.nfds = IPC_SOCK_MAX_FDS;
    if (from) {
      m.addr = addr;
      m.addrcap = sizeof addr;
    }
    n = ipc_sock_recvmsg(s, &m, lipc_deadline_ms(&d));
    if (n != IPC_EINTR || !lipc_interrupted(L))
      break;
  }
  const char *what = from ? "recvfrom" : "recv";
  if (n < 0)
    return lipc_fail(L, (int)n, "%s", what);
  if (n > max) {
    /* A message longer than max: the kernel dropped the rest. Say so
     * rather than hand out a piece as if it were the message. */
    for (size_t i = 0; i < m.nfds; i++)
      close(fds[i]);
    return lipc_fail(L, IPC_EMSGSIZE, "%s (a message of %d bytes, max %d)",
                     what, (int)n, (int)max);
  }
  luaL_checkstack(L, (int)m.nfds + 2, "too many descriptors");
  lua_pushlstring(L, buf, (size_t)n);
  if (from) {
    const char *end = memchr(addr, '\0', sizeof addr);
    lua_pushlstring(L, addr, end ? (size_t)(end - addr) : sizeof addr - 1);
  }
  for (size_t i = 0; i < m.nfds; i++)
    aux_pushfd(L, fds[i]);
  return 1 + from + (int)m.nfds;
}

/* s:recv([max], [timeout]) -> data, fds..., or nil, msg, code. */
static int m_recv(lua_State *L) { return aux_recv(L, 0); }

/* s:recvfrom([max], [timeout]) -> data, addr, fds..., or nil, msg, code. */
static int m_recvfrom(lua_State *L) { return aux_recv(L, 1); }

/* s:peercred() -> {pid =, uid =, gid =}, or nil, msg, code. */
static int m_peercred(lua_State *L) {
  ipc_sock_t *s = aux_check(L, 1);
  if (!ipc_sock_is_unix(s))
    luaL_argerror(L, 1, "peer credentials exist for Unix sockets only");
  ipc_sock_cred_t cred;
  int rc = ipc_sock_peercred(s, &cred);
  if (rc < 0)
    return lipc_fail(L, rc, "peercred");
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)cred.pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, (lua_Integer)cred.uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)cred.gid);
  lua_setfield(L, -2, "gid");
  return 1;
}

/* Pushes the address string libipc wrote (n: its full length) and, for
 * TCP and UDP, its port. */
static int aux_pushaddr(lua_State *L, const char *buf, ssize_t n) {
  if (n >= IPC_SOCK_ADDR_MAX) /* cannot happen: the room is for the longest */
    n = IPC_SOCK_ADDR_MAX - 1;
  lua_pushlstring(L, buf, (size_t)n);
  if (strncmp(buf, "tcp:", 4) != 0 && strncmp(buf, "udp:", 4) != 0)
    return 1;
  lua_pushinteger(L, (lua_Integer)strtol(strrchr(buf, ':') + 1, NULL, 10));
  return 2;
}

/* s:address() -> "tcp:127.0.0.1:4242", 4242 (the port for TCP and UDP). */
static int m_address(lua_State *L) {
  char buf[IPC_SOCK_ADDR_MAX];
  ssize_t n = ipc_sock_address(aux_check(L, 1), buf, sizeof buf);
  if (n < 0)
    return lipc_fail(L, (int)n, "address");
  return aux_pushaddr(L, buf, n);
}

/* s:peeraddress() -> the peer's address (and port), or nil, msg, code. */
static int m_peeraddress(lua_State *L) {
  char buf[IPC_SOCK_ADDR_MAX];
  ssize_t n = ipc_sock_peer_address(aux_check(L, 1), buf, sizeof buf);
  if (n < 0)
    return lipc_fail(L, (int)n, "peeraddress");
  return aux_pushaddr(L, buf, n);
}

/* s:shutdown(["r" | "w" | "rw"]) -> s, or nil, msg, code. */
static int m_shutdown(lua_State *L) {
  static const char *const hows[] = {"rw", "r", "w", NULL};
  static const int flags[] = {IPC_SOCK_SHUT_RD | IPC_SOCK_SHUT_WR,
                              IPC_SOCK_SHUT_RD, IPC_SOCK_SHUT_WR};
  ipc_sock_t *s = aux_check(L, 1);
  int rc = ipc_sock_shutdown(s, flags[luaL_checkoption(L, 2, "rw", hows)]);
  if (rc < 0)
    return lipc_fail(L, rc, "shutdown");
  lua_settop(L, 1);
  return 1;
}

/* s:type() -> "stream", "dgram" or "seqpacket". */
static int m_type(lua_State *L) {
  lua_pushstring(L, type_names[ipc_sock_type(aux_check(L, 1)) - 1]);
  return 1;
}

static int m_fd(lua_State *L) {
  lua_pushinteger(L, ipc_sock_fd(aux_check(L, 1)));
  return 1;
}

/* Marks the handle closed before closing, as lipc_pipe.c does. */
static int aux_close(lipc_ud *ud) {
  ipc_sock_t *s = ud->obj;
  ud->obj = NULL;
  return ipc_sock_close(s);
}

/* s:close() -> true, or nil, msg, code (closed either way). It never
 * removes a socket file: ipc.sock.unlink does. */
static int m_close(lua_State *L) {
  int rc = aux_close(lipc_checkhandle(L, 1, LIPC_SOCK, 1));
  if (rc < 0)
    return lipc_fail(L, rc, "close");
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc and __close: closes a handle still open, quietly. */
static int mm_gc(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SOCK, 0);
  if (ud->obj != NULL)
    aux_close(ud);
  return 0;
}

/* "ipc.sock (unix:/tmp/s, listening, fd 5)", "ipc.sock (unix:, connected,
 * fd 6)", "ipc.sock (tcp:127.0.0.1:40000, connected to tcp:127.0.0.1:80,
 * fd 7)", "ipc.sock (udp:0.0.0.0:9000, unconnected, fd 8)",
 * "ipc.sock (closed)". */
static int mm_tostring(lua_State *L) {
  lipc_ud *ud = lipc_checkhandle(L, 1, LIPC_SOCK, 0);
  ipc_sock_t *s = ud->obj;
  if (s == NULL) {
    lua_pushliteral(L, "ipc.sock (closed)");
    return 1;
  }
  char self[IPC_SOCK_ADDR_MAX], peer[IPC_SOCK_ADDR_MAX];
  if (ipc_sock_address(s, self, sizeof self) < 0)
    strcpy(self, "?");
  ssize_t pn = ipc_sock_peer_address(s, peer, sizeof peer);
  const char *colon = strchr(peer, ':');
  if (ipc_sock_is_listener(s))
    lua_pushfstring(L, "ipc.sock (%s, listening, fd %d)", self, ipc_sock_fd(s));
  else if (pn < 0)
    lua_pushfstring(L, "ipc.sock (%s, unconnected, fd %d)", self,
                    ipc_sock_fd(s));
  else if (colon && colon[1] == '\0') /* an unnamed peer */
    lua_pushfstring(L, "ipc.sock (%s, connected, fd %d)", self, ipc_sock_fd(s));
  else
    lua_pushfstring(L, "ipc.sock (%s, connected to %s, fd %d)", self, peer,
                    ipc_sock_fd(s));
  return 1;
}

/* ------------------------------------------------------ module functions */

/* ipc.sock.listen(addr, [opts]) -> sock, or nil, msg, code. */
static int l_listen(lua_State *L) {
  static const char *const known[] = {"backlog", "mode", "reuse", NULL};
  const char *addr = aux_checkaddr(L, 1);
  lipc_checkopts(L, 2, known);
  ipc_sock_opts_t o = {0, 0, 0};
  lua_Integer backlog = aux_optint(L, 2, "backlog", 0);
  luaL_argcheck(L, backlog >= 0 && backlog <= INT32_MAX, 2,
                "backlog must be >= 0");
  o.backlog = (int)backlog;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "mode");
    o.mode = lipc_checkperm(L, lua_gettop(L), 2, "mode");
    lua_pop(L, 1);
    lua_getfield(L, 2, "reuse");
    luaL_argcheck(L, lua_isnil(L, -1) || lua_isboolean(L, -1), 2,
                  "reuse must be a boolean");
    o.reuse = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lipc_ud *ud = aux_new(L);
  ipc_sock_t *s;
  int rc = ipc_sock_listen(&s, addr, &o);
  if (rc < 0)
    return aux_addrfail(L, rc, "listen", addr);
  ud->obj = s;
  return 1;
}

/* ipc.sock.connect(addr, [opts]) -> sock, or nil, msg, code. */
static int l_connect(lua_State *L) {
  static const char *const known[] = {"timeout", NULL};
  const char *addr = aux_checkaddr(L, 1);
  lipc_checkopts(L, 2, known);
  lipc_deadline d;
  lipc_deadline_start(&d, aux_opttimeout(L, 2));
  lipc_ud *ud = aux_new(L);
  for (;;) {
    ipc_sock_t *s;
    int rc = ipc_sock_connect(&s, addr, lipc_deadline_ms(&d));
    if (rc == 0) {
      ud->obj = s;
      return 1;
    }
    if (rc != IPC_EINTR || !lipc_interrupted(L))
      return aux_addrfail(L, rc, "connect", addr);
  }
}

/* ipc.sock.pair(["stream" | "dgram" | "seqpacket"]) -> a, b. */
static int l_pair(lua_State *L) {
  int type = luaL_checkoption(L, 1, "stream", type_names) + 1;
  lipc_ud *a = aux_new(L);
  lipc_ud *b = aux_new(L);
  ipc_sock_t *sa, *sb;
  int rc = ipc_sock_pair(&sa, &sb, type);
  if (rc < 0)
    return lipc_fail(L, rc, "pair");
  a->obj = sa;
  b->obj = sb;
  return 2;
}

/* ipc.sock.fromfd(fd) -> sock (which then owns fd), or nil, msg, code. */
static int l_fromfd(lua_State *L) {
  lua_Integer fd = lipc_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= INT32_MAX, 1, "not a descriptor");
  lipc_ud *ud = aux_new(L);
  ipc_sock_t *s;
  int rc = ipc_sock_from_fd(&s, (int)fd);
  if (rc < 0)
    return lipc_fail(L, rc, "fromfd %d", (int)fd);
  ud->obj = s;
  return 1;
}

/* ipc.sock.unlink(addr) -> true, or nil, msg, code. */
static int l_unlink(lua_State *L) {
  const char *addr = aux_checkaddr(L, 1);
  int rc = ipc_sock_unlink(addr);
  if (rc < 0)
    return aux_addrfail(L, rc, "unlink", addr);
  lua_pushboolean(L, 1);
  return 1;
}

/* ipc.sock.closefd(fd) -> true, or nil, msg, code: closes a descriptor
 * that recv returned as an integer. */
static int l_closefd(lua_State *L) {
  lua_Integer fd = lipc_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= INT32_MAX, 1, "not a descriptor");
  if (close((int)fd) < 0 && errno != EINTR)
    return lipc_fail(L, -errno, "closefd %d", (int)fd);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg socklib[] = {
    {"listen", l_listen}, {"connect", l_connect}, {"pair", l_pair},
    {"fromfd", l_fromfd}, {"unlink", l_unlink},   {"closefd", l_closefd},
    {NULL, NULL},
};

static const luaL_Reg meth[] = {
    {"accept", m_accept},
    {"send", m_send},
    {"sendto", m_sendto},
    {"recv", m_recv},
    {"recvfrom", m_recvfrom},
    {"peercred", m_peercred},
    {"address", m_address},
    {"peeraddress", m_peeraddress},
    {"shutdown", m_shutdown},
    {"type", m_type},
    {"fd", m_fd},
    {"close", m_close},
    {NULL, NULL},
};

static const luaL_Reg metameth[] = {
    {"__gc", mm_gc},
    {"__tostring", mm_tostring},
    {NULL, NULL},
};

void lipc_open_sock(lua_State *L) {
  lipc_newclass(L, LIPC_SOCK, meth, metameth);
  lipc_newlib(L, socklib);
  lua_setfield(L, -2, "sock");
}
