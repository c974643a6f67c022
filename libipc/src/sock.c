/* sock.c: Unix (stream, datagram, seqpacket), TCP and UDP sockets behind one
 * handle, with addresses as strings ("unix:/x", "unix:@x", "tcp:[::1]:80"),
 * timeouts on every wait, descriptor passing and peer credentials. Data
 * sockets stay blocking for whoever else gets them: a call with a timeout
 * polls and uses MSG_DONTWAIT, a call without one sleeps in the kernel. */
#include "internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

_Static_assert(IPC_SOCK_PATH_MAX ==
                   sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
               "IPC_SOCK_PATH_MAX is sun_path less its zero");

struct ipc_sock {
  int fd;
  int family;   /* AF_UNIX, AF_INET, AF_INET6 */
  int type;     /* ipc_sock_type_t */
  int listener; /* listen(2) was called on it */
  int nonblock; /* O_NONBLOCK as we found or set it */
};

/* ------------------------------------------------------------ addresses */

/* The schemes, in the order the address strings name them. */
static const struct scheme {
  const char *name;
  int unix_domain; /* else IPv4 or IPv6, from the host */
  int type;
} schemes[] = {
    {"unix", 1, IPC_SOCK_STREAM},
    {"unixgram", 1, IPC_SOCK_DGRAM},
    {"unixpacket", 1, IPC_SOCK_SEQPACKET},
    {"tcp", 0, IPC_SOCK_STREAM},
    {"udp", 0, IPC_SOCK_DGRAM},
};
#define NSCHEMES (sizeof schemes / sizeof schemes[0])

/* A parsed address, ready for bind, connect or sendto. */
typedef struct sock_addr {
  union {
    struct sockaddr sa;
    struct sockaddr_un un;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
  } u;
  socklen_t len;
  int family;
  int type;
  const char *path; /* a Unix path address: the path in u.un; else NULL */
} sock_addr;

static int kernel_type(int type) {
  return type == IPC_SOCK_DGRAM       ? SOCK_DGRAM
         : type == IPC_SOCK_SEQPACKET ? SOCK_SEQPACKET
                                      : SOCK_STREAM;
}

/* Why an address is refused: set by the parser for ipc_sock_addr_check. */
static int refuse(const char **why, const char *reason, int code) {
  *why = reason;
  return code;
}

/* A port: 1 to 5 decimal digits, at most 65535, nothing else. */
static int parse_port(const char *s, in_port_t *port, const char **why) {
  size_t n = strlen(s);
  if (n == 0)
    return refuse(why, "no port after the host", IPC_EINVAL);
  long v = n <= 5 && strspn(s, "0123456789") == n ? strtol(s, NULL, 10) : -1;
  if (v < 0 || v > 65535)
    return refuse(why, "the port must be a number from 0 to 65535", IPC_EINVAL);
  *port = htons((in_port_t)v);
  return 0;
}

/* "HOST:PORT" with a numeric host, IPv6 in brackets. */
static int parse_inet(const char *rest, sock_addr *a, const char **why) {
  static const char bad_host[] =
      "the host must be a numeric IPv4 address or an IPv6 one in brackets";
  char host[INET6_ADDRSTRLEN + 1];
  const char *port;
  if (rest[0] == '[') {
    const char *end = strchr(rest, ']');
    if (!end || (size_t)(end - rest - 1) >= sizeof host)
      return refuse(why, bad_host, IPC_EINVAL);
    if (end[1] != ':')
      return refuse(why, "no ':' and port after the host", IPC_EINVAL);
    memcpy(host, rest + 1, (size_t)(end - rest - 1));
    host[end - rest - 1] = '\0';
    port = end + 2;
    memset(&a->u.in6, 0, sizeof a->u.in6);
    a->u.in6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) != 1)
      return refuse(why, bad_host, IPC_EINVAL);
    a->family = AF_INET6;
    a->len = sizeof a->u.in6;
    return parse_port(port, &a->u.in6.sin6_port, why);
  }
  const char *colon = strchr(rest, ':');
  if (!colon)
    return refuse(why, "no ':' and port after the host", IPC_EINVAL);
  if ((size_t)(colon - rest) >= sizeof host)
    return refuse(why, bad_host, IPC_EINVAL);
  memcpy(host, rest, (size_t)(colon - rest));
  host[colon - rest] = '\0';
  memset(&a->u.in, 0, sizeof a->u.in);
  a->u.in.sin_family = AF_INET;
  /* inet_pton takes only the dotted quad, so "1" or "0x7f.1" are refused
   * instead of being read the way inet_aton would. */
  if (inet_pton(AF_INET, host, &a->u.in.sin_addr) != 1)
    return refuse(why, bad_host, IPC_EINVAL);
  a->family = AF_INET;
  a->len = sizeof a->u.in;
  return parse_port(colon + 1, &a->u.in.sin_port, why);
}

/* "/path" or "@name" (abstract; "@" alone: the kernel picks a name). */
static int parse_unix(const char *rest, sock_addr *a, const char **why) {
  size_t n = strlen(rest);
  memset(&a->u.un, 0, sizeof a->u.un);
  a->u.un.sun_family = AF_UNIX;
  a->family = AF_UNIX;
  a->path = NULL;
  if (rest[0] == '@') {
    n--;
    if (n > IPC_SOCK_PATH_MAX)
      return refuse(why, "the abstract name is longer than 107 bytes",
                    IPC_ENAMETOOLONG);
    /* The name is exactly the bytes given: no zero padding, so that other
     * programs (ss shows "@name") see the same name. */
    memcpy(a->u.un.sun_path + 1, rest + 1, n);
    a->len = n == 0
                 ? (socklen_t)sizeof(sa_family_t)
                 : (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    return 0;
  }
  if (n == 0)
    return refuse(why, "the path is empty", IPC_EINVAL);
  if (n > IPC_SOCK_PATH_MAX) /* never truncated */
    return refuse(why, "the path is longer than 107 bytes", IPC_ENAMETOOLONG);
  memcpy(a->u.un.sun_path, rest, n);
  a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  a->path = a->u.un.sun_path;
  return 0;
}

/* Parses "scheme:rest". Returns 0, or IPC_EINVAL or IPC_ENAMETOOLONG with
 * *why saying what is wrong. */
static int addr_parse(const char *s, sock_addr *a, const char **why) {
  static const char schemes_expected[] =
      "the address must start with unix:, unixgram:, unixpacket:, tcp: or udp:";
  *why = NULL;
  if (s == NULL)
    return refuse(why, "no address", IPC_EINVAL);
  const char *colon = strchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : 0;
  for (size_t i = 0; colon && i < NSCHEMES; i++) {
    if (strlen(schemes[i].name) != n || memcmp(s, schemes[i].name, n) != 0)
      continue;
    a->type = schemes[i].type;
    a->path = NULL;
    return schemes[i].unix_domain ? parse_unix(colon + 1, a, why)
                                  : parse_inet(colon + 1, a, why);
  }
  return refuse(why, schemes_expected, IPC_EINVAL);
}

int ipc_sock_addr_check(const char *addr, const char **why) {
  sock_addr a;
  const char *reason;
  int rc = addr_parse(addr, &a, &reason);
  if (why)
    *why = reason;
  return rc;
}

static const char *scheme_name(int family, int type) {
  for (size_t i = 0; i < NSCHEMES; i++)
    if ((family == AF_UNIX) == schemes[i].unix_domain &&
        type == schemes[i].type)
      return schemes[i].name;
  return "?";
}

/* Writes the address string of sa into buf (cap bytes with the zero) and
 * returns its full length, as snprintf does. */
static ssize_t addr_format(int family, int type, const struct sockaddr *sa,
                           socklen_t len, char *buf, size_t cap) {
  char tmp[IPC_SOCK_ADDR_MAX + 16];
  size_t n =
      (size_t)snprintf(tmp, sizeof tmp, "%s:", scheme_name(family, type));
  if (family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t plen = len > off ? (size_t)len - off : 0;
    if (plen > sizeof un->sun_path)
      plen = sizeof un->sun_path;
    if (plen > 0 && un->sun_path[0] == '\0') {
      tmp[n++] = '@'; /* abstract: every byte after the first is the name */
      memcpy(tmp + n, un->sun_path + 1, plen - 1);
      n += plen - 1;
    } else {
      plen = strnlen(un->sun_path, plen);
      memcpy(tmp + n, un->sun_path, plen);
      n += plen;
    }
  } else if (family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s:%u", host,
                          (unsigned)ntohs(in->sin_port));
  } else if (family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    char host[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    n += (size_t)snprintf(tmp + n, sizeof tmp - n, "[%s]:%u", host,
                          (unsigned)ntohs(in6->sin6_port));
  }
  if (cap > 0) {
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(buf, tmp, k);
    buf[k] = '\0';
  }
  return (ssize_t)n;
}

/* -------------------------------------------------------------- handles */

static int sock_wrap(ipc_sock_t **out, int fd, int family, int type,
                     int listener, int nonblock) {
  ipc_sock_t *s = malloc(sizeof *s);
  if (!s)
    return IPC_ENOMEM;
  s->fd = fd;
  s->family = family;
  s->type = type;
  s->listener = listener;
  s->nonblock = nonblock;
  *out = s;
  return 0;
}

/* A new close-on-exec socket for address a, or -errno. */
static int sock_open(const sock_addr *a, int nonblock) {
  int fd = socket(
      a->family,
      kernel_type(a->type) | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  return fd < 0 ? -errno : fd;
}

static int set_nonblock(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -errno;
  int want = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
  if (want != fl && fcntl(fd, F_SETFL, want) < 0)
    return -errno;
  return 0;
}

/* Whether the Unix socket file at a->path is one that nobody listens on any
 * more: a socket, and a connection to it is refused. */
static int is_stale(const sock_addr *a) {
  struct stat st;
  if (lstat(a->path, &st) < 0 || !S_ISSOCK(st.st_mode))
    return 0;
  int fd = sock_open(a, 1);
  if (fd < 0)
    return 0;
  int stale = connect(fd, &a->u.sa, a->len) < 0 && errno == ECONNREFUSED;
  close(fd);
  return stale;
}

int ipc_sock_listen(ipc_sock_t **out, const char *addr,
                    const ipc_sock_opts_t *opts) {
  static const ipc_sock_opts_t defaults = {0, 0, 0};
  sock_addr a;
  const char *why;
  int rc, fd = -1, bound = 0;

  *out = NULL;
  if (!opts)
    opts = &defaults;
  if (opts->backlog < 0 || (opts->mode & ~0777) != 0)
    return IPC_EINVAL;
  if ((rc = addr_parse(addr, &a, &why)) < 0)
    return rc;
  int listener = a.type != IPC_SOCK_DGRAM;
  if ((fd = sock_open(&a, listener)) < 0)
    return fd;
  if (a.family != AF_UNIX && listener) {
    /* Without it a restarted server cannot bind while connections of its
     * previous life linger in TIME_WAIT. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
      rc = -errno;
      goto fail;
    }
  }
  if (bind(fd, &a.u.sa, a.len) < 0) {
    rc = -errno;
    if (rc != IPC_EADDRINUSE || !a.path || !opts->reuse || !is_stale(&a))
      goto fail;
    /* A dead listener's file: replace it. Not atomic: two processes doing
     * this at the same moment can both succeed, the second removing the
     * first one's new file (ipc.h says so). */
    if (unlink(a.path) < 0 && errno != ENOENT) {
      rc = -errno;
      goto fail;
    }
    if (bind(fd, &a.u.sa, a.len) < 0) {
      rc = -errno;
      goto fail;
    }
  }
  bound = a.path != NULL;
  /* The file is there with the umask's permissions; nobody can connect
   * before listen(2), so narrowing them now leaves no window for a
   * stream. (A datagram could arrive in between: only data, no access.) */
  if (bound && chmod(a.path, (mode_t)(opts->mode ? opts->mode : 0600)) < 0) {
    rc = -errno;
    goto fail;
  }
  if (listener && listen(fd, opts->backlog ? opts->backlog : SOMAXCONN) < 0) {
    rc = -errno;
    goto fail;
  }
  if ((rc = sock_wrap(out, fd, a.family, a.type, listener, listener)) < 0)
    goto fail;
  return 0;

fail:
  close(fd);
  if (bound)
    unlink(a.path);
  return rc;
}

/* Connects fd to a, waiting until the deadline. Unix stream connect waits
 * for room in the listener's queue; poll cannot tell when there is room (an
 * unconnected Unix socket polls as hung up), but connect honours
 * SO_SNDTIMEO, so that is how the wait is bounded. TCP connects
 * non-blocking and polls for the outcome. */
static int connect_fd(int fd, const sock_addr *a, int64_t deadline) {
  if (a->family == AF_UNIX) {
    int ms = ipc__remaining_ms(deadline);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
      return -errno;
    int rc = 0;
    if (ms == 0)
      rc = set_nonblock(fd, 1);
    if (rc == 0 && connect(fd, &a->u.sa, a->len) < 0)
      rc = errno == EAGAIN ? IPC_ETIMEDOUT : -errno;
    if (rc == 0 && ms == 0)
      rc = set_nonblock(fd, 0);
    if (rc == 0 && ms > 0) {
      struct timeval zero = {0, 0};
      if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero) < 0)
        rc = -errno;
    }
    return rc;
  }
  /* The socket was made non-blocking. */
  if (connect(fd, &a->u.sa, a->len) < 0) {
    if (errno != EINPROGRESS)
      return -errno;
    int rc = ipc__wait_fd(fd, POLLOUT, deadline);
    if (rc < 0)
      return rc;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
      return -errno;
    if (err != 0)
      return -err;
  }
  return set_nonblock(fd, 0);
}

int ipc_sock_connect(ipc_sock_t **out, const char *addr, int timeout_ms) {
  sock_addr a;
  const char *why;
  int rc, fd;

  *out = NULL;
  int64_t deadline = ipc__deadline(timeout_ms);
  if ((rc = addr_parse(addr, &a, &why)) < 0)
    return rc;
  if ((fd = sock_open(&a, a.family != AF_UNIX)) < 0)
    return fd;
  if (a.family == AF_UNIX && a.type == IPC_SOCK_DGRAM) {
    /* An unbound datagram socket cannot be answered: bind it to an
     * abstract name the kernel picks (autobind). */
    struct sockaddr_un self = {.sun_family = AF_UNIX};
    if (bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0) {
      rc = -errno;
      goto fail;
    }
  }
  if ((rc = connect_fd(fd, &a, deadline)) < 0)
    goto fail;
  if ((rc = sock_wrap(out, fd, a.family, a.type, 0, 0)) < 0)
    goto fail;
  return 0;

fail:
  close(fd);
  return rc;
}

int ipc_sock_accept(ipc_sock_t *l, ipc_sock_t **out, int timeout_ms) {
  *out = NULL;
  if (!l->listener)
    return IPC_EINVAL;
  int64_t deadline = ipc__deadline(timeout_ms);
  /* Our listeners are non-blocking; for a blocking one that was wrapped,
   * poll first so that accept(2) does not sleep past the deadline. */
  int wait = !l->nonblock && deadline != IPC__NO_DEADLINE;
  unsigned gen = ipc__signal_snap();
  int fd;
  for (;;) {
    if (wait) {
      if (ipc__signal_moved(gen))
        return IPC_EINTR; /* handled outside poll: do not sleep over it */
      int rc = ipc__wait_fd(l->fd, POLLIN, deadline);
      if (rc < 0)
        return rc;
    }
    fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
      break;
    /* ECONNABORTED: a queued connection was reset before we took it. */
    if (errno != EAGAIN && errno != ECONNABORTED)
      return -errno;
    wait = 1;
  }
  int rc = sock_wrap(out, fd, l->family, l->type, 0, 0);
  if (rc < 0)
    close(fd);
  return rc;
}

int ipc_sock_pair(ipc_sock_t **a, ipc_sock_t **b, int type) {
  int fds[2], rc;
  *a = *b = NULL;
  if (type != IPC_SOCK_STREAM && type != IPC_SOCK_DGRAM &&
      type != IPC_SOCK_SEQPACKET)
    return IPC_EINVAL;
  if (socketpair(AF_UNIX, kernel_type(type) | SOCK_CLOEXEC, 0, fds) < 0)
    return -errno;
  if ((rc = sock_wrap(a, fds[0], AF_UNIX, type, 0, 0)) < 0 ||
      (rc = sock_wrap(b, fds[1], AF_UNIX, type, 0, 0)) < 0) {
    free(*a);
    *a = NULL;
    close(fds[0]);
    close(fds[1]);
  }
  return rc;
}

int ipc_sock_from_fd(ipc_sock_t **out, int fd) {
  int family, type, listening;
  socklen_t len = sizeof family;
  *out = NULL;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -errno;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
    return -errno; /* ENOTSOCK for anything else */
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    return -errno;
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
    return -errno;
  if (family != AF_UNIX && family != AF_INET && family != AF_INET6)
    return IPC_ENOTSUP;
  int t = type == SOCK_STREAM      ? IPC_SOCK_STREAM
          : type == SOCK_DGRAM     ? IPC_SOCK_DGRAM
          : type == SOCK_SEQPACKET ? IPC_SOCK_SEQPACKET
                                   : 0;
  if (t == 0 || (family != AF_UNIX && t == IPC_SOCK_SEQPACKET))
    return IPC_ENOTSUP;
  return sock_wrap(out, fd, family, t, listening != 0, (fl & O_NONBLOCK) != 0);
}

int ipc_sock_close(ipc_sock_t *s) {
  if (!s)
    return 0;
  int rc = 0;
  /* As in pipe.c: Linux frees the descriptor even when close() fails. */
  if (close(s->fd) < 0 && errno != EINTR)
    rc = -errno;
  free(s);
  return rc;
}

int ipc_sock_fd(const ipc_sock_t *s) { return s->fd; }
int ipc_sock_type(const ipc_sock_t *s) { return s->type; }
int ipc_sock_is_unix(const ipc_sock_t *s) { return s->family == AF_UNIX; }
int ipc_sock_is_listener(const ipc_sock_t *s) { return s->listener; }

/* ------------------------------------------------------------- transfer */

/* One sendmsg(2) (out) or recvmsg(2) of the one iovec of m, waiting until
 * the deadline. Without
 * a deadline a blocking descriptor sleeps in the call itself: one system
 * call, as raw code would make. With one, receiving polls first (the data
 * is rarely there already) and sending tries first (there is usually
 * room), and the call itself never waits (MSG_DONTWAIT). */
static ssize_t sock_xfer(ipc_sock_t *s, int out, struct msghdr *m, int flags,
                         int64_t deadline) {
  int timed = deadline != IPC__NO_DEADLINE;
  if (timed || s->nonblock)
    flags |= MSG_DONTWAIT;
  int wait = !out && timed && !s->nonblock;
  int backoff_ms = 0;
  /* Plain bytes go through send(2)/recv(2): the msghdr of the *msg calls
   * costs a copy-in that shows on small messages. */
  struct iovec *iov = m->msg_iov;
  int plain = m->msg_control == NULL && m->msg_name == NULL;
  unsigned gen = ipc__signal_snap();
  for (;;) {
    if (wait) {
      if (ipc__signal_moved(gen))
        return IPC_EINTR; /* handled outside poll: do not sleep over it */
      int rc = ipc__wait_fd(s->fd, out ? POLLOUT : POLLIN, deadline);
      if (rc < 0)
        return rc;
    }
    ssize_t r = plain && out ? send(s->fd, iov->iov_base, iov->iov_len, flags)
                : plain      ? recv(s->fd, iov->iov_base, iov->iov_len, flags)
                : out        ? sendmsg(s->fd, m, flags)
                             : recvmsg(s->fd, m, flags);
    if (r >= 0)
      return r;
    if (errno != EAGAIN)
      return -errno;
    if (out && wait) {
      /* poll said there was room, yet the send would block: an
       * unconnected Unix datagram socket whose receiver's queue is full,
       * which poll cannot see. Sleep a little, doubling up to 16 ms. */
      int left = ipc__remaining_ms(deadline);
      if (left == 0)
        return IPC_ETIMEDOUT;
      backoff_ms = backoff_ms ? (backoff_ms < 16 ? backoff_ms * 2 : 16) : 1;
      int ms = left > 0 && left < backoff_ms ? left : backoff_ms;
      if (ipc__signal_moved(gen))
        return IPC_EINTR;
      if (poll(NULL, 0, ms) < 0)
        return -errno;
      continue;
    }
    wait = 1;
  }
}

/* Sends the iovec of m whole on a stream socket (the control part, if any,
 * with the first bytes), or as one message on the others. */
static ssize_t send_all(ipc_sock_t *s, struct msghdr *m, int64_t deadline) {
  if (s->listener)
    return IPC_EINVAL;
  int flags = MSG_NOSIGNAL;
  struct iovec *iov = m->msg_iov;
  if (s->type != IPC_SOCK_STREAM)
    return sock_xfer(s, 1, m, flags, deadline);
  size_t n = iov->iov_len, done = 0;
  int dontwait = deadline != IPC__NO_DEADLINE || s->nonblock;
  while (done < n) {
    ssize_t r = sock_xfer(s, 1, m, flags, deadline);
    if (r < 0)
      return done > 0 ? (ssize_t)done : r;
    done += (size_t)r;
    /* A blocking send stops short only when a signal came. */
    if (!dontwait && done < n)
      return (ssize_t)done;
    iov->iov_base = (char *)iov->iov_base + r;
    iov->iov_len -= (size_t)r;
    m->msg_control = NULL; /* the descriptors went with the first bytes */
    m->msg_controllen = 0;
  }
  return (ssize_t)n;
}

/* Whether the peer of a seqpacket socket has gone or stopped sending: the
 * kernel returns 0 for that and for an empty message alike. */
static int peer_finished(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLRDHUP, .revents = 0};
  return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP));
}

/* What a recvmsg(2) that returned r means. */
static ssize_t recv_result(ipc_sock_t *s, ssize_t r, size_t len) {
  if (r == 0 && len > 0 && s->type == IPC_SOCK_STREAM)
    return IPC_EOF;
  if (r == 0 && s->type == IPC_SOCK_SEQPACKET && peer_finished(s->fd))
    return IPC_EOF;
  return r;
}

/* ipc_sock_send and ipc_sock_recv first try the common case (no timeout, a
 * blocking descriptor) with one system call straight from the public
 * function: through send_all and sock_xfer, the same call cost 5% more per
 * 64-byte message in bench/sock (the returns right after a system call are
 * dear), flattened under 2%. */
ssize_t ipc_sock_send(ipc_sock_t *s, const void *buf, size_t n,
                      int timeout_ms) {
  if (n > (size_t)SSIZE_MAX || s->listener)
    return IPC_EINVAL;
  if (timeout_ms < 0 && !s->nonblock) {
    /* Whole; or, on a stream, short when a signal came: as send_all. */
    ssize_t r = send(s->fd, buf, n, MSG_NOSIGNAL);
    if (r >= 0 || errno != EAGAIN) /* EAGAIN: O_NONBLOCK set behind us */
      return r >= 0 ? r : -errno;
  }
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  return send_all(s, &m, ipc__deadline(timeout_ms));
}

ssize_t ipc_sock_recv(ipc_sock_t *s, void *buf, size_t n, int timeout_ms) {
  if (s->listener)
    return IPC_EINVAL;
  if (n == 0 && s->type == IPC_SOCK_STREAM)
    return 0;
  struct iovec iov = {buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  /* MSG_TRUNC: a message's real length, not what fitted. (On TCP the flag
   * would discard the data instead.) */
  int flags = s->type == IPC_SOCK_STREAM ? 0 : MSG_TRUNC;
  ssize_t r;
  if (timeout_ms < 0 && !s->nonblock) {
    r = recv(s->fd, buf, n, flags);
    if (r >= 0 || errno != EAGAIN)
      return r >= 0 ? recv_result(s, r, n) : -errno;
  }
  r = sock_xfer(s, 0, &m, flags, ipc__deadline(timeout_ms));
  return r < 0 ? r : recv_result(s, r, n);
}

/* Room for the most descriptors one message carries. */
typedef union fd_control {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * IPC_SOCK_MAX_FDS)];
} fd_control;

ssize_t ipc_sock_sendmsg(ipc_sock_t *s, const ipc_sock_msg_t *msg,
                         int timeout_ms) {
  int64_t deadline = ipc__deadline(timeout_ms);
  if (msg->len > (size_t)SSIZE_MAX || msg->nfds > IPC_SOCK_MAX_FDS)
    return IPC_EINVAL;
  if (msg->nfds > 0 &&
      (s->family != AF_UNIX || (s->type == IPC_SOCK_STREAM && msg->len == 0)))
    return IPC_EINVAL;
  struct iovec iov = {msg->data, msg->len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  sock_addr a;
  if (msg->addr) {
    const char *why;
    int rc = addr_parse(msg->addr, &a, &why);
    if (rc < 0)
      return rc;
    if ((a.family == AF_UNIX) != (s->family == AF_UNIX) || a.type != s->type)
      return IPC_EINVAL; /* "udp:" to a Unix socket, "unix:" to a datagram */
    m.msg_name = &a.u;
    m.msg_namelen = a.len;
  }
  fd_control ctl;
  if (msg->nfds > 0) {
    memset(&ctl, 0, sizeof ctl);
    m.msg_control = ctl.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * msg->nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * msg->nfds);
    memcpy(CMSG_DATA(c), msg->fds, sizeof(int) * msg->nfds);
  }
  return send_all(s, &m, deadline);
}

/* Closes every descriptor of the SCM_RIGHTS messages in m. */
static void close_fds(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
}

ssize_t ipc_sock_recvmsg(ipc_sock_t *s, ipc_sock_msg_t *msg, int timeout_ms) {
  size_t room = msg->fds ? msg->nfds : 0;
  msg->nfds = 0;
  if (msg->addr && msg->addrcap > 0)
    msg->addr[0] = '\0';
  if (s->listener)
    return IPC_EINVAL;
  if (msg->len == 0 && s->type == IPC_SOCK_STREAM)
    return 0;
  struct iovec iov = {msg->data, msg->len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  struct sockaddr_storage from;
  if (msg->addr && msg->addrcap > 0) {
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
  }
  fd_control ctl;
  if (room > 0) {
    if (room > IPC_SOCK_MAX_FDS)
      room = IPC_SOCK_MAX_FDS;
    m.msg_control = ctl.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * room);
  }
  int flags = MSG_CMSG_CLOEXEC | (s->type == IPC_SOCK_STREAM ? 0 : MSG_TRUNC);
  ssize_t r = sock_xfer(s, 0, &m, flags, ipc__deadline(timeout_ms));
  if (r < 0)
    return r;
  /* Take the descriptors out. CMSG_SPACE rounds up, so the kernel may fit
   * one more than the room asked for: that counts as cut short too. */
  size_t got = 0;
  int cut = room > 0 && (m.msg_flags & MSG_CTRUNC) != 0;
  if (room > 0) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      if (got + k > room)
        cut = 1;
      else
        memcpy(msg->fds + got, CMSG_DATA(c), k * sizeof(int));
      got += k;
    }
  }
  if (cut) {
    close_fds(&m);
    return IPC_EMSGSIZE;
  }
  msg->nfds = got;
  if (m.msg_name)
    addr_format(s->family, s->type, (struct sockaddr *)&from, m.msg_namelen,
                msg->addr, msg->addrcap);
  return recv_result(s, r, msg->len);
}

/* --------------------------------------------------------------- the rest */

int ipc_sock_shutdown(ipc_sock_t *s, int how) {
  static const int map[] = {-1, SHUT_RD, SHUT_WR, SHUT_RDWR};
  if (how < 1 || how > 3)
    return IPC_EINVAL;
  return shutdown(s->fd, map[how]) < 0 ? -errno : 0;
}

ssize_t ipc_sock_address(const ipc_sock_t *s, char *buf, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
    return -errno;
  return addr_format(s->family, s->type, (struct sockaddr *)&ss, len, buf, cap);
}

ssize_t ipc_sock_peer_address(const ipc_sock_t *s, char *buf, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
    return -errno;
  return addr_format(s->family, s->type, (struct sockaddr *)&ss, len, buf, cap);
}

int ipc_sock_peercred(const ipc_sock_t *s, ipc_sock_cred_t *cred) {
  if (s->family != AF_UNIX)
    return IPC_ENOTSUP;
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
    return -errno;
  /* A socket without a peer (an unconnected or connect()ed datagram
   * socket) reads as pid 0 and ids -1. */
  if (uc.pid == 0)
    return IPC_ENOTCONN;
  cred->pid = uc.pid;
  cred->uid = uc.uid;
  cred->gid = uc.gid;
  return 0;
}

int ipc_sock_unlink(const char *addr) {
  sock_addr a;
  const char *why;
  int rc = addr_parse(addr, &a, &why);
  if (rc < 0)
    return rc;
  if (!a.path)
    return IPC_EINVAL;
  struct stat st;
  if (lstat(a.path, &st) < 0)
    return -errno;
  if (!S_ISSOCK(st.st_mode))
    return IPC_ENOTSOCK;
  return unlink(a.path) < 0 ? -errno : 0;
}
