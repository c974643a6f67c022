/* shm.c: shared-memory segments: POSIX (shm_open), anonymous (memfd, shared
 * with children across fork) and System V (shmget). Each is mapped once,
 * whole. Creation reserves every page up front, so that running out of
 * memory is an error code at create and never a SIGBUS at first touch. */
#include "internal.h"
#include "name.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/xattr.h>
#include <unistd.h>

struct ipc_shm {
  void *addr;
  size_t size; /* bytes asked for at create, found at open */
  int writable;
  int fd;                   /* POSIX and anonymous; -1 for System V */
  int sysv_id;              /* System V; -1 for the others */
  char name[IPC__NAME_BUF]; /* POSIX; "" for the others */
};

static ipc_shm_t *shm_new(void) {
  ipc_shm_t *seg = calloc(1, sizeof *seg);
  if (seg) {
    seg->fd = -1;
    seg->sysv_id = -1;
  }
  return seg;
}

/* A size no mapping and no off_t can hold is as invalid as 0. */
static int check_size(size_t size) {
  return size == 0 || size > (size_t)PTRDIFF_MAX ? IPC_EINVAL : 0;
}

/* mode 0 means 0600; anything beyond the permission bits (setuid, sticky,
 * a file type) means nothing for a segment and is refused. */
static int check_mode(int *mode) {
  if (*mode == 0)
    *mode = 0600;
  return (*mode & ~0777) ? IPC_EINVAL : 0;
}

/* Memfds and System V segments have no size limit of their own besides
 * memory: reserving more than RAM and swap together would end with the OOM
 * killer rather than an error, so such a size fails here. (A memory cgroup
 * limit below that is not seen; the kernel's own answer then applies.) */
static int check_memory(size_t size) {
  struct sysinfo si;
  if (sysinfo(&si) < 0)
    return 0; /* cannot tell: leave it to the kernel */
  unsigned long long total =
      ((unsigned long long)si.totalram + si.totalswap) * si.mem_unit;
  return size > total ? IPC_ENOMEM : 0;
}

/* Gives the file behind fd its size and allocates its pages, so that a
 * full tmpfs is IPC_ENOSPC now. posix_fallocate returns the error instead
 * of setting errno; tmpfs gives EINTR when a signal arrives during a long
 * allocation, and the call is simply made again (it keeps what is done). */
static int reserve(int fd, size_t size) {
  if (ftruncate(fd, (off_t)size) < 0)
    return -errno;
  int err;
  while ((err = posix_fallocate(fd, 0, (off_t)size)) == EINTR)
    ;
  return -err;
}

static int map_fd(ipc_shm_t *seg, int fd, size_t size, int writable) {
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void *addr = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED)
    return -errno;
  seg->addr = addr;
  seg->size = size;
  seg->writable = writable;
  seg->fd = fd;
  return 0;
}

int ipc_shm_create(ipc_shm_t **out, const char *name, size_t size, int mode) {
  ipc_shm_t *seg = NULL;
  int fd = -1;
  int rc;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0 || (rc = check_size(size)) < 0 ||
      (rc = check_mode(&mode)) < 0)
    return rc;
  if (!(seg = shm_new()))
    return IPC_ENOMEM;
  ipc__name_copy(seg->name, name);
  fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    rc = -errno;
    goto fail;
  }
  /* shm_open applies the umask; fchmod gives exactly the mode asked for,
   * neither narrower (a peer could not open it) nor wider. The umask only
   * takes bits away, so until then the segment is never more open. */
  if (fchmod(fd, (mode_t)mode) < 0) {
    rc = -errno;
    goto fail_unlink;
  }
  /* The tag by which ipc_ls_open knows libipc made it. Where the file
   * system keeps no user.* attributes (tmpfs before Linux 6.6) it stays
   * untagged, and ls says it cannot tell. */
  (void)fsetxattr(fd, IPC__XATTR_TAG, "shm", 3, 0);
  if ((rc = reserve(fd, size)) < 0)
    goto fail_unlink;
  if ((rc = map_fd(seg, fd, size, 1)) < 0)
    goto fail_unlink;
  *out = seg;
  return 0;

fail_unlink:
  /* Ours since O_EXCL succeeded. (Should someone unlink it and make another
   * of the same name meanwhile, theirs goes: names give no better way.) */
  shm_unlink(name);
fail:
  if (fd >= 0)
    close(fd);
  free(seg);
  return rc;
}

int ipc_shm_open(ipc_shm_t **out, const char *name, int flags) {
  ipc_shm_t *seg = NULL;
  int fd = -1;
  int rc;
  struct stat st;

  *out = NULL;
  if ((rc = ipc_name_check(name)) < 0)
    return rc;
  if (flags & ~IPC_RDONLY)
    return IPC_EINVAL;
  if (!(seg = shm_new()))
    return IPC_ENOMEM;
  ipc__name_copy(seg->name, name);
  int writable = !(flags & IPC_RDONLY);
  /* O_NONBLOCK: a FIFO planted under the name must not hang the open (it is
   * then refused as not a regular file). glibc adds O_NOFOLLOW itself. The
   * kernel checks the permissions (EACCES); no owner check is added, so a
   * segment another user shared on purpose (mode 0660, 0666) opens. */
  fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC,
                0);
  if (fd < 0) {
    rc = -errno;
    goto fail;
  }
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    goto fail;
  }
  /* Size 0: a creator between its shm_open and its ftruncate, or something
   * that is no segment; there is nothing to map either way. */
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
      (unsigned long long)st.st_size > (size_t)PTRDIFF_MAX) {
    rc = IPC_EINVAL;
    goto fail;
  }
  if ((rc = map_fd(seg, fd, (size_t)st.st_size, writable)) < 0)
    goto fail;
  *out = seg;
  return 0;

fail:
  if (fd >= 0)
    close(fd);
  free(seg);
  return rc;
}

int ipc_shm_create_anon(ipc_shm_t **out, size_t size) {
  ipc_shm_t *seg = NULL;
  int fd = -1;
  int rc;

  *out = NULL;
  if ((rc = check_size(size)) < 0 || (rc = check_memory(size)) < 0)
    return rc;
  if (!(seg = shm_new()))
    return IPC_ENOMEM;
  fd = memfd_create("ipc.shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    rc = -errno;
    goto fail;
  }
  if ((rc = reserve(fd, size)) < 0)
    goto fail;
  /* The size is final: sealed, nobody holding the descriptor (a child, a
   * receiver of it) can shrink it under the others' mappings, which would
   * turn their accesses into SIGBUS. */
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    rc = -errno;
    goto fail;
  }
  if ((rc = map_fd(seg, fd, size, 1)) < 0)
    goto fail;
  *out = seg;
  return 0;

fail:
  if (fd >= 0)
    close(fd);
  free(seg);
  return rc;
}

int ipc_shm_from_fd(ipc_shm_t **out, int fd, int flags) {
  struct stat st;
  int rc;

  *out = NULL;
  if (flags & ~IPC_RDONLY)
    return IPC_EINVAL;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fstat(fd, &st) < 0)
    return -errno;
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
      (unsigned long long)st.st_size > (size_t)PTRDIFF_MAX)
    return IPC_EINVAL;
  ipc_shm_t *seg = shm_new();
  if (!seg)
    return IPC_ENOMEM;
  int writable = !(flags & IPC_RDONLY) && (fl & O_ACCMODE) == O_RDWR;
  rc = map_fd(seg, fd, (size_t)st.st_size, writable);
  /* A memfd sealed against writing maps only for reading. */
  if (rc == IPC_EPERM && writable)
    rc = map_fd(seg, fd, (size_t)st.st_size, 0);
  if (rc < 0) {
    free(seg);
    return rc;
  }
  *out = seg;
  return 0;
}

int ipc_shm_unlink(const char *name) {
  int rc = ipc_name_check(name);
  if (rc < 0)
    return rc;
  return shm_unlink(name) < 0 ? -errno : 0;
}

int ipc_ftok(const char *path, int id, key_t *key) {
  if (path == NULL || id <= 0 || id > 255)
    return IPC_EINVAL;
  /* ftok returns -1 on failure, which is also a possible key: errno,
   * cleared first, tells them apart. */
  errno = 0;
  key_t k = ftok(path, id);
  if (k == (key_t)-1 && errno != 0)
    return -errno;
  *key = k;
  return 0;
}

/* Faults in every page of a fresh System V segment for writing. System V
 * memory is charged at shmget but allocated at first touch, where a
 * shortage is a SIGBUS or the OOM killer; this moves it to create time.
 * MADV_POPULATE_WRITE (Linux 5.14) reports a failure as an error; older
 * kernels refuse the advice with EINVAL and the pages are touched instead,
 * by an atomic add of 0 that changes nothing a fast peer already wrote. */
static int populate(void *addr, size_t size) {
  if (madvise(addr, size, MADV_POPULATE_WRITE) == 0)
    return 0;
  if (errno != EINVAL)
    return errno == EFAULT ? IPC_ENOMEM : -errno; /* EFAULT: would SIGBUS */
  long page = sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < size; off += (size_t)page)
    __atomic_fetch_add((char *)addr + off, 0, __ATOMIC_RELAXED);
  return 0;
}

int ipc_shm_sysv_create(ipc_shm_t **out, key_t key, size_t size, int mode) {
  ipc_shm_t *seg = NULL;
  int id = -1;
  void *addr = (void *)-1;
  int rc;

  *out = NULL;
  if ((rc = check_size(size)) < 0 || (rc = check_mode(&mode)) < 0 ||
      (rc = check_memory(size)) < 0)
    return rc;
  if (!(seg = shm_new()))
    return IPC_ENOMEM;
  /* System V applies no umask: the mode is exact. A private key always
   * makes a new segment, so IPC_EXCL only matters for the others. */
  int flags = IPC_CREAT | mode | (key != IPC_PRIVATE ? IPC_EXCL : 0);
  if ((id = shmget(key, size, flags)) < 0) {
    rc = -errno;
    goto fail;
  }
  if ((addr = shmat(id, NULL, 0)) == (void *)-1) {
    rc = -errno;
    goto fail;
  }
  if ((rc = populate(addr, size)) < 0)
    goto fail;
  seg->addr = addr;
  seg->size = size;
  seg->writable = 1;
  seg->sysv_id = id;
  *out = seg;
  return 0;

fail:
  if (addr != (void *)-1)
    shmdt(addr);
  if (id >= 0)
    shmctl(id, IPC_RMID, NULL); /* ours: IPC_EXCL or private */
  free(seg);
  return rc;
}

int ipc_shm_sysv_open(ipc_shm_t **out, key_t key, int id, int flags) {
  struct shmid_ds ds;
  ipc_shm_t *seg;

  *out = NULL;
  if (flags & ~IPC_RDONLY)
    return IPC_EINVAL;
  if (key != IPC_PRIVATE) {
    /* Size 0 and no flags: find the segment, whatever its size. */
    if ((id = shmget(key, 0, 0)) < 0)
      return -errno;
  } else if (id < 0) {
    return IPC_EINVAL;
  }
  /* IPC_STAT needs read permission, as shmat does: EACCES either way. */
  if (shmctl(id, IPC_STAT, &ds) < 0)
    return -errno;
  if (ds.shm_segsz == 0 || ds.shm_segsz > (size_t)PTRDIFF_MAX)
    return IPC_EINVAL;
  if (!(seg = shm_new()))
    return IPC_ENOMEM;
  int writable = !(flags & IPC_RDONLY);
  void *addr = shmat(id, NULL, writable ? 0 : SHM_RDONLY);
  if (addr == (void *)-1) {
    int rc = -errno;
    free(seg);
    return rc;
  }
  seg->addr = addr;
  seg->size = ds.shm_segsz;
  seg->writable = writable;
  seg->sysv_id = id;
  *out = seg;
  return 0;
}

int ipc_shm_sysv_remove(ipc_shm_t *seg) {
  if (seg->sysv_id < 0)
    return IPC_EINVAL;
  return shmctl(seg->sysv_id, IPC_RMID, NULL) < 0 ? -errno : 0;
}

int ipc_shm_close(ipc_shm_t *seg) {
  if (!seg)
    return 0;
  if (seg->sysv_id >= 0)
    shmdt(seg->addr);
  else
    munmap(seg->addr, seg->size);
  if (seg->fd >= 0)
    close(seg->fd);
  free(seg);
  return 0;
}

void *ipc_shm_addr(const ipc_shm_t *seg) { return seg->addr; }

size_t ipc_shm_size(const ipc_shm_t *seg) { return seg->size; }

int ipc_shm_writable(const ipc_shm_t *seg) { return seg->writable; }

const char *ipc_shm_name(const ipc_shm_t *seg) {
  return seg->name[0] ? seg->name : NULL;
}

int ipc_shm_fd(const ipc_shm_t *seg) { return seg->fd; }

int ipc_shm_sysv_id(const ipc_shm_t *seg) { return seg->sysv_id; }
