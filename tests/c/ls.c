/* tests/c/ls.c: the system's objects (ipc_ls_*): a segment, a ring and a
 * FIFO made here are listed with their owner, size, origin and users; a
 * stale one is removed, one in use or not made by libipc is refused and
 * stays; bad arguments are refused. Every test removes what it made in
 * .fini, whatever happened. */
#include "testutil.h"

#include <sys/stat.h>

static char shm_name[64], ring_name[64], plain_name[64], tmpdir[64],
    fifo_path[96];

static void ls_init(void) {
  int pid = (int)getpid();
  snprintf(shm_name, sizeof shm_name, "/ipc-ls-test-%d-shm", pid);
  snprintf(ring_name, sizeof ring_name, "/ipc-ls-test-%d-ring", pid);
  snprintf(plain_name, sizeof plain_name, "/ipc-ls-test-%d-plain", pid);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ipc-ls-test-%d-XXXXXX", pid);
  cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
  snprintf(fifo_path, sizeof fifo_path, "%s/fifo", tmpdir);
}

static void ls_fini(void) {
  tu_cleanup();
  ipc_shm_unlink(shm_name);
  ipc_ring_unlink(ring_name);
  ipc_shm_unlink(plain_name);
  unlink(fifo_path);
  rmdir(tmpdir);
}

TestSuite(ls, .init = ls_init, .fini = ls_fini);

/* The index of the object named name of kind kind in ls, or -1. */
static long find(const ipc_ls_t *ls, int kind, const char *name) {
  for (size_t i = 0; i < ipc_ls_count(ls); i++) {
    const ipc_obj_t *o = ipc_ls_get(ls, i);
    if (o->kind == kind && o->name && strcmp(o->name, name) == 0)
      return (long)i;
  }
  return -1;
}

/* A snapshot of the objects of one kind and name. */
static ipc_ls_t *snap(int kind, const char *name) {
  ipc_ls_t *ls;
  ipc_ls_opts_t opts = {.kinds = 1u << kind, .name = name, .dirs = NULL};
  tu_assert_ok(ipc_ls_open(&ls, &opts));
  return ls;
}

Test(ls, lists_own_segment_ring_and_fifo) {
  ipc_shm_t *seg;
  ipc_ring_t *ring;
  tu_assert_ok(ipc_shm_create(&seg, shm_name, 8192, 0640));
  tu_assert_ok(ipc_ring_create(&ring, ring_name, NULL));
  tu_assert_ok(ipc_fifo_create(fifo_path, 0));
  ipc_ls_t *ls;
  const char *dirs[] = {tmpdir, NULL};
  ipc_ls_opts_t opts = {.kinds = 0, .name = NULL, .dirs = dirs};
  tu_assert_ok(ipc_ls_open(&ls, &opts));

  long i = find(ls, IPC_OBJ_SHM, shm_name);
  cr_assert_geq(i, 0, "segment not listed");
  const ipc_obj_t *o = ipc_ls_get(ls, (size_t)i);
  cr_assert_eq(o->size, 8192);
  cr_assert_eq(o->mode, 0640);
  cr_assert_eq(o->uid, geteuid());
  cr_assert_eq(o->ours, 1);
  cr_assert_eq(o->ring, 0);
  cr_assert_eq(o->in_use, 1);
  cr_assert_eq(o->nusers, 1);
  cr_assert_eq(o->users[0], getpid());
  cr_assert_eq(o->id, -1);

  i = find(ls, IPC_OBJ_SHM, ring_name);
  cr_assert_geq(i, 0, "ring not listed");
  o = ipc_ls_get(ls, (size_t)i);
  cr_assert_eq(o->ring, 1);
  cr_assert_eq(o->ours, 1);

  i = find(ls, IPC_OBJ_FIFO, fifo_path);
  cr_assert_geq(i, 0, "FIFO not listed");
  o = ipc_ls_get(ls, (size_t)i);
  cr_assert_eq(o->ours, -1);
  cr_assert_eq(o->in_use, 0);
  cr_assert_eq(o->mode, 0600);
  cr_assert_null(ipc_ls_get(ls, ipc_ls_count(ls)));
  tu_assert_ok(ipc_ls_close(ls));
  ipc_shm_close(seg);
  ipc_ring_close(ring);
}

Test(ls, removes_stale_refuses_busy_and_foreign) {
  ipc_shm_t *seg;
  tu_assert_ok(ipc_shm_create(&seg, shm_name, 4096, 0));
  ipc_ls_t *ls = snap(IPC_OBJ_SHM, shm_name);
  cr_assert_eq(ipc_ls_count(ls), 1);
  tu_assert_ret(ipc_ls_remove(ls, 0, IPC_LS_FORCE), IPC_EBUSY);
  cr_assert_eq(ipc_ls_get(ls, 0)->users[0], getpid());
  ipc_shm_close(seg);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0), 0);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0), IPC_ENOENT);
  tu_assert_ret(ipc_shm_open(&seg, shm_name, 0), IPC_ENOENT);
  ipc_ls_close(ls);

  /* Made without libipc: refused unless forced, and left as it was. */
  char path[96];
  snprintf(path, sizeof path, "/dev/shm%s", plain_name);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, "x", 1), 1);
  close(fd);
  ls = snap(IPC_OBJ_SHM, plain_name);
  cr_assert_eq(ipc_ls_get(ls, 0)->ours, 0);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0), IPC_EPERM);
  cr_assert_eq(access(path, F_OK), 0, "the refused file is gone");
  tu_assert_ret(ipc_ls_remove(ls, 0, IPC_LS_FORCE), 0);
  cr_assert_neq(access(path, F_OK), 0, "the forced file is still there");
  ipc_ls_close(ls);
}

Test(ls, refuses_an_object_replaced_since_the_snapshot) {
  ipc_shm_t *seg;
  tu_assert_ok(ipc_shm_create(&seg, shm_name, 4096, 0));
  ipc_shm_close(seg);
  ipc_ls_t *ls = snap(IPC_OBJ_SHM, shm_name);
  tu_assert_ok(ipc_shm_unlink(shm_name));
  tu_assert_ok(ipc_shm_create(&seg, shm_name, 4096, 0));
  ipc_shm_close(seg);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0), IPC_ENOENT);
  ipc_ls_close(ls);
  ls = snap(IPC_OBJ_SHM, shm_name);
  cr_assert_eq(ipc_ls_count(ls), 1, "the new segment was removed");
  ipc_ls_close(ls);
}

Test(ls, rejects_bad_arguments) {
  ipc_ls_t *ls = (ipc_ls_t *)1;
  ipc_ls_opts_t bad = {
      .kinds = 1u << IPC_OBJ_KINDS, .name = NULL, .dirs = NULL};
  tu_assert_ret(ipc_ls_open(&ls, &bad), IPC_EINVAL);
  cr_assert_null(ls);
  const char *dirs[] = {"/nonexistent-ipc-ls-test", NULL};
  ipc_ls_opts_t missing = {
      .kinds = 1u << IPC_OBJ_FIFO, .name = NULL, .dirs = dirs};
  tu_assert_ret(ipc_ls_open(&ls, &missing), IPC_ENOENT);
  cr_assert_null(ls);
  ls = snap(IPC_OBJ_SHM, shm_name);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0), IPC_EINVAL); /* empty */
  ipc_ls_close(ls);
  ipc_shm_t *seg;
  tu_assert_ok(ipc_shm_create(&seg, shm_name, 4096, 0));
  ipc_shm_close(seg);
  ls = snap(IPC_OBJ_SHM, shm_name);
  tu_assert_ret(ipc_ls_remove(ls, 0, 0x10), IPC_EINVAL); /* unknown flag */
  tu_assert_ret(ipc_ls_remove(ls, 1, 0), IPC_EINVAL);
  ipc_ls_close(ls);
  ls = snap(IPC_OBJ_SHM, shm_name);
  cr_assert_eq(ipc_ls_count(ls), 1, "a refused remove removed it");
  ipc_ls_close(ls);
  cr_assert_str_eq(ipc_ls_kind_name(IPC_OBJ_SYSV_MSG), "sysv_msg");
  cr_assert_null(ipc_ls_kind_name(IPC_OBJ_KINDS));
  cr_assert_null(ipc_ls_kind_name(-1));
  tu_assert_ok(ipc_ls_close(NULL));
}
