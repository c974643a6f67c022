/* ls.c: the system's IPC objects, listed and removed, for the stale ones a
 * crashed program leaves behind: /dev/shm (segments, rings, semaphores), an
 * mqueue mount (POSIX queues), FIFOs in given directories, /proc/sysvipc
 * (System V). Who uses each is read from /proc: mappings, descriptors,
 * System V attach counts and last pids. Nothing here writes to an object. */
#include "internal.h"
#include "ring.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <pwd.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SHM_DIR "/dev/shm"
#define DEFAULT_FIFO_DIR "/tmp"
#define RING_PROBE 4096 /* bytes of a segment read to check a ring header */

struct ipc_ls {
  ipc_obj_t *objs;
  size_t n, cap;
  int hidden;
};

static const char *const kind_names[IPC_OBJ_KINDS] = {
    "shm", "sem", "mq", "fifo", "sysv_shm", "sysv_msg", "sysv_sem",
};

const char *ipc_ls_kind_name(int kind) {
  return kind >= 0 && kind < IPC_OBJ_KINDS ? kind_names[kind] : NULL;
}

static void obj_free(ipc_obj_t *o) {
  free((char *)o->name);
  free((char *)o->owner);
}

/* A new record at the end of ls, zeroed but for the "none" values; NULL
 * when out of memory. name is copied (NULL: none). */
static ipc_obj_t *obj_add(ipc_ls_t *ls, int kind, const char *name) {
  if (ls->n == ls->cap) {
    size_t cap = ls->cap ? ls->cap * 2 : 16;
    ipc_obj_t *objs = realloc(ls->objs, cap * sizeof *objs);
    if (!objs)
      return NULL;
    ls->objs = objs;
    ls->cap = cap;
  }
  ipc_obj_t *o = &ls->objs[ls->n];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->id = -1;
  o->count = -1;
  o->nattch = -1;
  o->ours = -1;
  if (name && !(o->name = strdup(name)))
    return NULL;
  ls->n++;
  return o;
}

static void obj_from_stat(ipc_obj_t *o, const struct stat *st) {
  o->uid = st->st_uid;
  o->gid = st->st_gid;
  o->mode = (int)(st->st_mode & 0777);
  o->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
  o->mtime = (int64_t)st->st_mtime;
  o->dev = (uint64_t)st->st_dev;
  o->ino = (uint64_t)st->st_ino;
}

static int wanted(unsigned kinds, int kind) {
  return kinds == 0 || (kinds & (1u << kind));
}

/* ------------------------------------------------------------ /dev/shm */

/* Whether the segment file fn (in directory dfd) was made by libipc: a
 * ring header that checks out, or the tag ipc_shm_create puts on its
 * segments. Fills o->ring and o->ours; leaves ours -1 when the file cannot
 * be read or the file system keeps no user.* attributes. */
static void shm_probe(int dfd, const char *fn, ipc_obj_t *o) {
  /* O_NONBLOCK: a FIFO swapped in after the stat must not hang us. */
  int fd = openat(dfd, fn, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return;
  /* Aligned as the mapping would be: the header's lines are 128-byte
   * aligned members. */
  _Alignas(RING_PROBE) unsigned char head[RING_PROBE];
  if (o->size >= RING_PROBE && pread(fd, head, sizeof head, 0) == RING_PROBE &&
      ipc__ring_check_header(head, (size_t)o->size) == 0) {
    o->ring = 1;
    o->ours = 1;
  } else {
    char tag[16];
    ssize_t n = fgetxattr(fd, IPC__XATTR_TAG, tag, sizeof tag);
    if (n >= 0)
      o->ours = 1;
    else if (errno == ENODATA)
      o->ours = 0; /* attributes work here, and it has none of ours */
  }
  close(fd);
}

static int scan_shm(ipc_ls_t *ls, unsigned kinds, const char *only) {
  if (!wanted(kinds, IPC_OBJ_SHM) && !wanted(kinds, IPC_OBJ_SEM))
    return 0;
  DIR *d = opendir(SHM_DIR);
  if (!d)
    return 0; /* no /dev/shm: nothing of these kinds exists */
  int rc = 0;
  struct dirent *e;
  char name[NAME_MAX + 2];
  while (rc == 0 && (e = readdir(d)) != NULL) {
    const char *fn = e->d_name;
    struct stat st;
    if (strcmp(fn, ".") == 0 || strcmp(fn, "..") == 0 ||
        fstatat(dirfd(d), fn, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode))
      continue;
    /* glibc keeps "/x" of sem_open in sem.x; a segment can have such a
     * name too, but not a semaphore's exact size. */
    int sem = strncmp(fn, "sem.", 4) == 0 && fn[4] != '\0' &&
              st.st_size == (off_t)sizeof(sem_t);
    int kind = sem ? IPC_OBJ_SEM : IPC_OBJ_SHM;
    snprintf(name, sizeof name, "/%s", sem ? fn + 4 : fn);
    if (!wanted(kinds, kind) || (only && strcmp(only, name) != 0))
      continue;
    ipc_obj_t *o = obj_add(ls, kind, name);
    if (!o) {
      rc = IPC_ENOMEM;
      break;
    }
    obj_from_stat(o, &st);
    if (kind == IPC_OBJ_SHM)
      shm_probe(dirfd(d), fn, o);
  }
  closedir(d);
  return rc;
}

/* ------------------------------------------------------- POSIX queues */

/* Undoes the octal escapes of a mount point in /proc/self/mountinfo. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
        r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

/* The first mount point of an mqueue file system, into dir (PATH_MAX);
 * 0 when there is none. Every mount of it shows the same queues (those of
 * this IPC namespace). */
static int mqueue_dir(char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return 0;
  char *line = NULL;
  size_t cap = 0;
  int found = 0;
  while (!found && getline(&line, &cap, f) > 0) {
    /* id parent major:minor root mountpoint options... - fstype source */
    char *sep = strstr(line, " - ");
    char point[PATH_MAX];
    if (sep && strncmp(sep + 3, "mqueue ", 7) == 0 &&
        sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
      unescape(point);
      memcpy(dir, point, strlen(point) + 1);
      found = 1;
    }
  }
  free(line);
  fclose(f);
  return found;
}

/* The bytes queued, from the "QSIZE:n ..." the kernel shows as the
 * queue's file content. Leaves *size alone when it cannot be read. */
static void mq_qsize(int dfd, const char *fn, uint64_t *size) {
  int fd = openat(dfd, fn, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  unsigned long long q;
  if (n > 0) {
    buf[n] = '\0';
    if (sscanf(buf, "QSIZE:%llu", &q) == 1)
      *size = q;
  }
}

static int scan_mq(ipc_ls_t *ls, unsigned kinds, const char *only) {
  char dir[PATH_MAX];
  if (!wanted(kinds, IPC_OBJ_MQ) || !mqueue_dir(dir))
    return 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int rc = 0;
  struct dirent *e;
  char name[NAME_MAX + 2];
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(name, sizeof name, "/%s", e->d_name);
    if ((only && strcmp(only, name) != 0) ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    ipc_obj_t *o = obj_add(ls, IPC_OBJ_MQ, name);
    if (!o) {
      rc = IPC_ENOMEM;
      break;
    }
    obj_from_stat(o, &st);
    o->size = 0;
    mq_qsize(dirfd(d), e->d_name, &o->size);
  }
  closedir(d);
  return rc;
}

/* -------------------------------------------------------------- FIFOs */

static int add_fifo(ipc_ls_t *ls, const char *path, const struct stat *st) {
  ipc_obj_t *o = obj_add(ls, IPC_OBJ_FIFO, path);
  if (!o)
    return IPC_ENOMEM;
  obj_from_stat(o, st);
  return 0;
}

/* The FIFOs directly in dir. strict: an unreadable dir is an error (the
 * caller named it) rather than nothing. */
static int scan_fifo_dir(ipc_ls_t *ls, const char *dir, int strict) {
  DIR *d = opendir(dir);
  if (!d)
    return strict ? -errno : 0;
  size_t dl = strlen(dir);
  const char *sep = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    struct stat st;
    if (e->d_type != DT_FIFO && e->d_type != DT_UNKNOWN)
      continue;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISFIFO(st.st_mode))
      continue;
    char *path = malloc(dl + strlen(sep) + strlen(e->d_name) + 1);
    if (!path) {
      rc = IPC_ENOMEM;
      break;
    }
    sprintf(path, "%s%s%s", dir, sep, e->d_name);
    rc = add_fifo(ls, path, &st);
    free(path);
  }
  closedir(d);
  return rc;
}

static int scan_fifo(ipc_ls_t *ls, unsigned kinds, const char *only,
                     const char *const *dirs) {
  if (!wanted(kinds, IPC_OBJ_FIFO))
    return 0;
  if (only) {
    struct stat st;
    if (lstat(only, &st) < 0 || !S_ISFIFO(st.st_mode))
      return 0;
    return add_fifo(ls, only, &st);
  }
  if (!dirs)
    return scan_fifo_dir(ls, DEFAULT_FIFO_DIR, 0);
  for (size_t i = 0; dirs[i]; i++) {
    int rc = scan_fifo_dir(ls, dirs[i], 1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* ----------------------------------------------------------- System V */

/* Whether pid is a live process (not a zombie) as /proc shows it; one we
 * may not look at counts as live. */
static int alive(pid_t pid) {
  if (pid <= 0)
    return 0;
  char path[32], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno != ENOENT && errno != ESRCH;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* "pid (comm) S ...": the state follows the last ')', since comm may
   * hold anything. */
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void add_user(ipc_obj_t *o, pid_t pid) {
  for (int i = 0; i < o->nusers && i < IPC_OBJ_MAX_USERS; i++)
    if (o->users[i] == pid)
      return;
  if (o->nusers < IPC_OBJ_MAX_USERS)
    o->users[o->nusers] = pid;
  o->nusers++;
}

static int64_t latest(int64_t a, int64_t b, int64_t c) {
  int64_t m = a > b ? a : b;
  return m > c ? m : c;
}

/* Every semaphore's last operator, if alive, is a user; a waiter makes the
 * set in use as well. in_use -1 when the set cannot be read. */
static void sem_users(ipc_obj_t *o) {
  int waiters = 0;
  for (int i = 0; i < o->count; i++) {
    int pid = semctl(o->id, i, GETPID);
    int ncnt = semctl(o->id, i, GETNCNT);
    int zcnt = semctl(o->id, i, GETZCNT);
    if (pid < 0 || ncnt < 0 || zcnt < 0) {
      o->in_use = -1;
      return;
    }
    if (alive(pid))
      add_user(o, pid);
    waiters += ncnt + zcnt;
  }
  o->in_use = o->nusers > 0 || waiters > 0;
}

/* One /proc/sysvipc file (its header line first). Columns:
 * shm: key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime
 *      ctime ...
 * msg: key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid stime
 *      rtime ctime
 * sem: key semid perms nsems uid gid cuid cgid otime ctime */
static int scan_sysv(ipc_ls_t *ls, int kind) {
  static const char *const files[] = {"/proc/sysvipc/shm", "/proc/sysvipc/msg",
                                      "/proc/sysvipc/sem"};
  FILE *f = fopen(files[kind - IPC_OBJ_SYSV_SHM], "re");
  if (!f)
    return 0;
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  if (getline(&line, &cap, f) < 0) { /* the header */
    fclose(f);
    free(line);
    return 0;
  }
  while (rc == 0 && getline(&line, &cap, f) > 0) {
    long long key, t1, t2, t3;
    unsigned long long size, count;
    int id, perms, p1, p2, n;
    unsigned uid, gid;
    ipc_obj_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.count = -1;
    tmp.nattch = -1;
    if (kind == IPC_OBJ_SYSV_SHM) {
      n = sscanf(
          line, "%lld %d %o %llu %d %d %llu %u %u %*u %*u %lld %lld %lld", &key,
          &id, &perms, &size, &p1, &p2, &count, &uid, &gid, &t1, &t2, &t3);
      /* A segment marked removed (SHM_DEST) goes with its last detach and
       * can be removed no further. */
      if (n != 12 || (perms & SHM_DEST))
        continue;
      tmp.size = size;
      tmp.nattch = (int)count;
      tmp.in_use = count > 0;
    } else if (kind == IPC_OBJ_SYSV_MSG) {
      n = sscanf(
          line, "%lld %d %o %llu %llu %d %d %u %u %*u %*u %lld %lld %lld", &key,
          &id, &perms, &size, &count, &p1, &p2, &uid, &gid, &t1, &t2, &t3);
      if (n != 12)
        continue;
      tmp.size = size;
      tmp.count = (int64_t)count;
      /* No attach count: a queue is in use while its last sender or
       * receiver lives. */
      if (alive(p1))
        add_user(&tmp, p1);
      if (alive(p2))
        add_user(&tmp, p2);
      tmp.in_use = tmp.nusers > 0;
    } else {
      n = sscanf(line, "%lld %d %o %llu %u %u %*u %*u %lld %lld", &key, &id,
                 &perms, &count, &uid, &gid, &t1, &t2);
      if (n != 8)
        continue;
      t3 = 0;
      tmp.count = (int64_t)count;
    }
    ipc_obj_t *o = obj_add(ls, kind, NULL);
    if (!o) {
      rc = IPC_ENOMEM;
      break;
    }
    tmp.kind = kind;
    tmp.id = id;
    tmp.key = (key_t)key;
    tmp.uid = (uid_t)uid;
    tmp.gid = (gid_t)gid;
    tmp.mode = perms & 0777;
    tmp.mtime = latest(t1, t2, t3);
    tmp.ours = -1;
    *o = tmp;
    if (kind == IPC_OBJ_SYSV_SEM)
      sem_users(o);
  }
  free(line);
  fclose(f);
  return rc;
}

/* -------------------------------------------------------------- users */

/* What the users scan looks for: a file's (dev, ino), or a System V
 * segment's id, which its mappings show as the inode of "/SYSV<key>". */
typedef struct target {
  uint64_t ino;
  uint64_t dev; /* 0 for a System V segment */
  size_t idx;
} target;

static int target_cmp(const void *a, const void *b) {
  const target *x = a, *y = b;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return 0;
}

typedef struct scan {
  ipc_ls_t *ls;
  target *t;
  size_t nt;
} scan;

static void match(scan *s, uint64_t dev, uint64_t ino, pid_t pid) {
  target key = {.ino = ino, .dev = dev, .idx = 0};
  target *t = bsearch(&key, s->t, s->nt, sizeof *s->t, target_cmp);
  if (t)
    add_user(&s->ls->objs[t->idx], pid);
}

/* The files and System V segments process pid maps. Returns 0, or -1 when
 * its maps cannot be read (another user's process). */
static int scan_maps(scan *s, pid_t pid) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return errno == EACCES || errno == EPERM ? -1 : 0;
  char *line = NULL;
  size_t cap = 0;
  int ok = 0;
  while (getline(&line, &cap, f) > 0) {
    unsigned maj, min;
    unsigned long long ino;
    int off = 0;
    ok = 1;
    /* start-end perms offset major:minor inode [path] */
    if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &off) < 3 ||
        ino == 0)
      continue;
    if (strncmp(line + off, "/SYSV", 5) == 0)
      match(s, 0, ino, pid);
    else
      match(s, (uint64_t)makedev(maj, min), ino, pid);
  }
  /* A read that fails on the first line: access denied at read time. */
  int denied = !ok && ferror(f);
  free(line);
  fclose(f);
  return denied ? -1 : 0;
}

/* The files process pid holds descriptors of (queues and FIFOs are only
 * held, never mapped). Returns 0, or -1 when they cannot be read. */
static int scan_fds(scan *s, pid_t pid) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return errno == EACCES || errno == EPERM ? -1 : 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
      continue;
    match(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino, pid);
  }
  closedir(d);
  return 0;
}

/* Finds the processes that map or hold the file objects of ls, and the
 * System V segments; sets their users and in_use. */
static int scan_users(ipc_ls_t *ls) {
  scan s = {.ls = ls, .t = NULL, .nt = 0};
  for (size_t i = 0; i < ls->n; i++)
    if (ls->objs[i].ino != 0 || ls->objs[i].kind == IPC_OBJ_SYSV_SHM)
      s.nt++;
  if (s.nt == 0)
    return 0;
  if (!(s.t = malloc(s.nt * sizeof *s.t)))
    return IPC_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < ls->n; i++) {
    ipc_obj_t *o = &ls->objs[i];
    if (o->kind == IPC_OBJ_SYSV_SHM)
      s.t[k++] = (target){.ino = (uint64_t)o->id, .dev = 0, .idx = i};
    else if (o->ino != 0)
      s.t[k++] = (target){.ino = o->ino, .dev = o->dev, .idx = i};
  }
  qsort(s.t, s.nt, sizeof *s.t, target_cmp);
  DIR *d = opendir("/proc");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char *end;
      long pid = strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0)
        continue;
      int a = scan_maps(&s, (pid_t)pid);
      int b = scan_fds(&s, (pid_t)pid);
      if (a < 0 || b < 0)
        ls->hidden++;
    }
    closedir(d);
  }
  free(s.t);
  for (size_t i = 0; i < ls->n; i++) {
    ipc_obj_t *o = &ls->objs[i];
    if (o->ino != 0)
      o->in_use = o->nusers > 0;
  }
  return 0;
}

/* ------------------------------------------------------------ the list */

static int obj_cmp(const void *a, const void *b) {
  const ipc_obj_t *x = a, *y = b;
  if (x->kind != y->kind)
    return x->kind - y->kind;
  if (x->name && y->name)
    return strcmp(x->name, y->name);
  return (x->id > y->id) - (x->id < y->id);
}

/* The owners' user names, looked up once per uid. */
static int name_owners(ipc_ls_t *ls) {
  for (size_t i = 0; i < ls->n; i++) {
    ipc_obj_t *o = &ls->objs[i];
    const ipc_obj_t *same = NULL;
    for (size_t j = 0; j < i && !same; j++)
      if (ls->objs[j].uid == o->uid)
        same = &ls->objs[j];
    const char *name = NULL;
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (same)
      name = same->owner;
    else if (getpwuid_r(o->uid, &pw, buf, sizeof buf, &res) == 0 && res)
      name = res->pw_name;
    if (name && !(o->owner = strdup(name)))
      return IPC_ENOMEM;
  }
  return 0;
}

static int ls_fill(ipc_ls_t *ls, const ipc_ls_opts_t *opts) {
  unsigned kinds = opts ? opts->kinds : 0;
  const char *only = opts ? opts->name : NULL;
  int rc;
  if ((rc = scan_shm(ls, kinds, only)) < 0 ||
      (rc = scan_mq(ls, kinds, only)) < 0 ||
      (rc = scan_fifo(ls, kinds, only, opts ? opts->dirs : NULL)) < 0)
    return rc;
  for (int kind = IPC_OBJ_SYSV_SHM; !only && kind <= IPC_OBJ_SYSV_SEM; kind++)
    if (wanted(kinds, kind) && (rc = scan_sysv(ls, kind)) < 0)
      return rc;
  if ((rc = scan_users(ls)) < 0 || (rc = name_owners(ls)) < 0)
    return rc;
  if (ls->n > 1)
    qsort(ls->objs, ls->n, sizeof *ls->objs, obj_cmp);
  return 0;
}

int ipc_ls_open(ipc_ls_t **out, const ipc_ls_opts_t *opts) {
  *out = NULL;
  if (opts && (opts->kinds >> IPC_OBJ_KINDS) != 0)
    return IPC_EINVAL;
  ipc_ls_t *ls = calloc(1, sizeof *ls);
  if (!ls)
    return IPC_ENOMEM;
  int rc = ls_fill(ls, opts);
  if (rc < 0) {
    ipc_ls_close(ls);
    return rc;
  }
  *out = ls;
  return 0;
}

size_t ipc_ls_count(const ipc_ls_t *ls) { return ls->n; }

const ipc_obj_t *ipc_ls_get(const ipc_ls_t *ls, size_t i) {
  return i < ls->n ? &ls->objs[i] : NULL;
}

int ipc_ls_hidden(const ipc_ls_t *ls) { return ls->hidden; }

int ipc_ls_close(ipc_ls_t *ls) {
  if (!ls)
    return 0;
  for (size_t i = 0; i < ls->n; i++)
    obj_free(&ls->objs[i]);
  free(ls->objs);
  free(ls);
  return 0;
}

/* Whether two records are the same object: same file, or same System V id
 * and key (ids are reused only after the kernel's sequence wraps). */
static int same_object(const ipc_obj_t *a, const ipc_obj_t *b) {
  if (a->kind != b->kind)
    return 0;
  if (a->kind >= IPC_OBJ_SYSV_SHM)
    return a->id == b->id && a->key == b->key;
  return a->dev == b->dev && a->ino == b->ino && strcmp(a->name, b->name) == 0;
}

static int unlink_obj(const ipc_obj_t *o) {
  int r;
  switch (o->kind) {
  case IPC_OBJ_SHM:
    r = shm_unlink(o->name);
    break;
  case IPC_OBJ_SEM:
    r = sem_unlink(o->name);
    break;
  case IPC_OBJ_MQ:
    r = mq_unlink(o->name);
    break;
  case IPC_OBJ_FIFO:
    return ipc_fifo_unlink(o->name);
  case IPC_OBJ_SYSV_SHM:
    r = shmctl(o->id, IPC_RMID, NULL);
    break;
  case IPC_OBJ_SYSV_MSG:
    r = msgctl(o->id, IPC_RMID, NULL);
    break;
  default:
    r = semctl(o->id, 0, IPC_RMID);
    break;
  }
  return r < 0 ? -errno : 0;
}

int ipc_ls_remove(ipc_ls_t *ls, size_t i, int flags) {
  if (i >= ls->n || (flags & ~IPC_LS_FORCE))
    return IPC_EINVAL;
  ipc_obj_t *o = &ls->objs[i];
  /* Look again, at this one object only. */
  ipc_ls_opts_t opts = {.kinds = 1u << o->kind, .name = o->name, .dirs = NULL};
  ipc_ls_t *now;
  int rc = ipc_ls_open(&now, &opts);
  if (rc < 0)
    return rc;
  size_t j = 0;
  while (j < now->n && !same_object(&now->objs[j], o))
    j++;
  if (j == now->n) {
    ipc_ls_close(now);
    return IPC_ENOENT;
  }
  /* Record i becomes the fresh one; its strings move over. */
  obj_free(o);
  *o = now->objs[j];
  now->objs[j] = now->objs[--now->n];
  ipc_ls_close(now);
  if (o->in_use != 0)
    return IPC_EBUSY;
  if (!(flags & IPC_LS_FORCE) && (o->uid != geteuid() || o->ours == 0))
    return IPC_EPERM;
  return unlink_obj(o);
}
