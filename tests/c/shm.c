/* tests/c/shm.c: shared-memory segments and names (ipc_shm_*, ipc_ftok,
 * ipc_name_check): POSIX, anonymous and System V segments made for real and
 * shared with real children; exclusive create, exact modes, read-only maps,
 * permissions across uids, ENOSPC at create, and every bad input. Each test
 * registers what it makes; the suite's fini removes it even after a failure. */
#include "testutil.h"

#include <grp.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>

/* --------------------------------------------------------------- cleanup */

static char made_names[16][64];
static int n_names;
static int made_ids[16];
static int n_ids;
static char made_file[64];

/* A name unique to this test process ("/libipc-test-<pid>-tag"), removed
 * now if a previous run left it, and by the fini whatever happens. */
static const char *tname(const char *tag) {
  cr_assert_lt(n_names, 16);
  char *name = made_names[n_names++];
  snprintf(name, 64, "/libipc-test-%d-%s", (int)getpid(), tag);
  shm_unlink(name);
  return name;
}

/* Registers a System V id for removal by the fini. */
static int track_id(int id) {
  cr_assert_lt(n_ids, 16);
  made_ids[n_ids++] = id;
  return id;
}

static void cleanup(void) {
  for (int i = 0; i < n_names; i++)
    shm_unlink(made_names[i]);
  for (int i = 0; i < n_ids; i++)
    shmctl(made_ids[i], IPC_RMID, NULL);
  if (made_file[0])
    unlink(made_file);
  tu_cleanup();
}

TestSuite(shm, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

/* Whether /dev/shm holds the POSIX name (glibc's mapping of "/x"). */
static int exists(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm%s", name);
  return lstat(path, &st) == 0;
}

/* Entries of /dev/shm whose name starts with this process's prefix
 * ("libipc-test-<pid>"). */
static int mine(void) {
  char prefix[32];
  int n = 0;
  snprintf(prefix, sizeof prefix, "libipc-test-%d", (int)getpid());
  DIR *d = opendir("/dev/shm");
  cr_assert_not_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}

/* The permission bits of the POSIX segment name, from /dev/shm. */
static int mode_of(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm%s", name);
  cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
  return (int)(st.st_mode & 07777);
}

/* System V segments that this process created, from /proc/sysvipc/shm
 * (its fifth column is the creator's pid). Tests run in parallel, so the
 * total would not do. */
static int sysv_count(void) {
  FILE *f = fopen("/proc/sysvipc/shm", "r");
  cr_assert_not_null(f);
  char line[512];
  int n = 0, cpid;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "%*d %*d %*o %*u %d", &cpid) == 1 && cpid == getpid())
      n++;
  fclose(f);
  return n;
}

/* Waits for pid and asserts that it exited with 0. */
static void expect_child_ok(pid_t pid) {
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "child failed: status 0x%x (exit %d, signal %d)", st,
            WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The permissions of the mapping that starts at addr, from
 * /proc/self/maps ("rw-s": readable, writable, shared). */
static const char *map_perms(const void *addr) {
  static char perms[5];
  char line[512], found[5];
  unsigned long start;
  FILE *f = fopen("/proc/self/maps", "r");
  cr_assert_not_null(f);
  perms[0] = '\0';
  while (perms[0] == '\0' && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%*x %4s", &start, found) == 2 &&
        start == (unsigned long)addr)
      memcpy(perms, found, sizeof perms);
  }
  fclose(f);
  return perms;
}

/* In a child: becomes nobody (uid and gid 65534). */
static void become_nobody(void) {
  if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
    _exit(90);
}

/* ------------------------------------------------------------------ names */

Test(shm, name_check_accepts_slash_then_letters_digits_dot_dash_underscore,
     .timeout = 10) {
  tu_assert_ret(ipc_name_check("/a"), 0);
  tu_assert_ret(ipc_name_check("/Queue_1.v2-x"), 0);
  tu_assert_ret(ipc_name_check("/..."), 0);
  char longest[IPC_NAME_MAX + 2];
  longest[0] = '/';
  memset(longest + 1, 'n', IPC_NAME_MAX);
  longest[IPC_NAME_MAX + 1] = '\0';
  tu_assert_ret(ipc_name_check(longest), 0);
}

Test(shm, name_check_refuses_empty_relative_nested_dots_and_odd_bytes,
     .timeout = 10) {
  static const char *const bad[] = {
      "",    "a",     "name",   "/",    "//",    "/a/b",
      "/a/", "/.",    "/..",    "/a b", "/a\tb", "/caf\xc3\xa9",
      "/a*", "/a\\b", "/$HOME", "/a:b",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(ipc_name_check(bad[i]), IPC_EINVAL, "\"%s\" accepted", bad[i]);
  tu_assert_ret(ipc_name_check(NULL), IPC_EINVAL);
}

Test(shm, name_check_says_enametoolong_past_name_max, .timeout = 10) {
  char name[IPC_NAME_MAX + 3];
  name[0] = '/';
  memset(name + 1, 'n', IPC_NAME_MAX + 1);
  name[IPC_NAME_MAX + 2] = '\0';
  tu_assert_ret(ipc_name_check(name), IPC_ENAMETOOLONG);
}

/* ---------------------------------------------------------- POSIX segments */

Test(shm, create_maps_a_zeroed_segment_that_open_sees_and_unlink_removes,
     .timeout = 10) {
  const char *name = tname("basic");
  ipc_shm_t *a, *b;
  tu_assert_ret(ipc_shm_create(&a, name, 10000, 0), 0);
  cr_assert(exists(name));
  cr_assert_eq(ipc_shm_size(a), 10000);
  cr_assert_eq(ipc_shm_writable(a), 1);
  cr_assert_str_eq(ipc_shm_name(a), name);
  cr_assert_eq(ipc_shm_sysv_id(a), -1);
  cr_assert_eq(tu_cloexec(ipc_shm_fd(a)), 1);
  unsigned char *p = ipc_shm_addr(a);
  for (size_t i = 0; i < 10000; i++)
    cr_assert_eq(p[i], 0, "byte %zu is %d", i, p[i]);
  memcpy(p + 9995, "hello", 5);

  tu_assert_ret(ipc_shm_open(&b, name, 0), 0);
  cr_assert_eq(ipc_shm_size(b), 10000, "open takes the size from the segment");
  cr_assert_neq(ipc_shm_addr(b), ipc_shm_addr(a));
  cr_assert_arr_eq((char *)ipc_shm_addr(b) + 9995, "hello", 5);
  ((char *)ipc_shm_addr(b))[0] = 'x';
  cr_assert_eq(p[0], 'x', "both mappings are the same memory");

  tu_assert_ret(ipc_shm_unlink(name), 0);
  cr_assert_not(exists(name));
  cr_assert_eq(p[0], 'x', "mappings outlive the name");
  tu_assert_ret(ipc_shm_unlink(name), IPC_ENOENT);
  tu_assert_ret(ipc_shm_close(a), 0);
  tu_assert_ret(ipc_shm_close(b), 0);
  tu_assert_ret(ipc_shm_close(NULL), 0);
}

Test(shm, close_never_removes_the_name, .timeout = 10) {
  const char *name = tname("persist");
  ipc_shm_t *a;
  tu_assert_ret(ipc_shm_create(&a, name, 64, 0), 0);
  strcpy(ipc_shm_addr(a), "kept");
  ipc_shm_close(a);
  cr_assert(exists(name));
  tu_assert_ret(ipc_shm_open(&a, name, 0), 0);
  cr_assert_str_eq(ipc_shm_addr(a), "kept");
  ipc_shm_close(a);
  tu_assert_ret(ipc_shm_unlink(name), 0);
}

Test(shm, create_is_exclusive_and_leaves_the_existing_segment_untouched,
     .timeout = 10) {
  const char *name = tname("excl");
  ipc_shm_t *a, *b = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create(&a, name, 4096, 0), 0);
  strcpy(ipc_shm_addr(a), "first");
  tu_assert_ret(ipc_shm_create(&b, name, 100, 0644), IPC_EEXIST);
  cr_assert_null(b);
  cr_assert(exists(name), "a failed create must not unlink the other's name");
  cr_assert_eq(mode_of(name), 0600);
  tu_assert_ret(ipc_shm_open(&b, name, 0), 0);
  cr_assert_eq(ipc_shm_size(b), 4096);
  cr_assert_str_eq(ipc_shm_addr(b), "first");
  ipc_shm_close(a);
  ipc_shm_close(b);
}

Test(shm, create_mode_is_0600_by_default_and_exact_whatever_the_umask,
     .timeout = 10) {
  ipc_shm_t *s;
  umask(0);
  const char *n1 = tname("mode1");
  tu_assert_ret(ipc_shm_create(&s, n1, 1, 0), 0);
  cr_assert_eq(mode_of(n1), 0600, "default mode is %o", mode_of(n1));
  ipc_shm_close(s);

  umask(077); /* would strip 0644 to 0600 without the fchmod */
  const char *n2 = tname("mode2");
  tu_assert_ret(ipc_shm_create(&s, n2, 1, 0644), 0);
  cr_assert_eq(mode_of(n2), 0644, "mode is %o", mode_of(n2));
  ipc_shm_close(s);

  umask(0);
  const char *n3 = tname("mode3");
  tu_assert_ret(ipc_shm_create(&s, n3, 1, 0640), 0);
  cr_assert_eq(mode_of(n3), 0640, "mode is %o", mode_of(n3));
  ipc_shm_close(s);
  umask(022);
}

Test(shm, create_refuses_mode_bits_beyond_0777_and_leaves_nothing,
     .timeout = 10) {
  const char *name = tname("badmode");
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create(&s, name, 64, 04755), IPC_EINVAL);
  cr_assert_null(s);
  tu_assert_ret(ipc_shm_create(&s, name, 64, S_IFREG | 0600), IPC_EINVAL);
  cr_assert_not(exists(name));
}

Test(shm, create_refuses_size_zero_and_leaves_nothing, .timeout = 10) {
  const char *name = tname("zero");
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create(&s, name, 0, 0), IPC_EINVAL);
  cr_assert_null(s);
  cr_assert_not(exists(name));
  tu_assert_ret(ipc_shm_create(&s, name, SIZE_MAX, 0), IPC_EINVAL);
  cr_assert_not(exists(name));
}

Test(shm, create_open_unlink_refuse_bad_names_and_leave_nothing,
     .timeout = 10) {
  /* Each bad name carries this process's prefix, so that anything a call
   * wrongly made would show up in mine() (other tests run in parallel). */
  char nested[64], noslash[64], space[64], dots[64], toolong[IPC_NAME_MAX + 3];
  int pid = (int)getpid();
  snprintf(nested, sizeof nested, "/libipc-test-%d/x", pid);
  snprintf(noslash, sizeof noslash, "libipc-test-%d", pid);
  snprintf(space, sizeof space, "/libipc-test-%d x", pid);
  snprintf(dots, sizeof dots, "/libipc-test-%d:x", pid);
  int n = snprintf(toolong, sizeof toolong, "/libipc-test-%d-", pid);
  memset(toolong + n, 'n', sizeof toolong - 1 - (size_t)n);
  toolong[sizeof toolong - 1] = '\0';
  cr_assert_eq(strlen(toolong), IPC_NAME_MAX + 2);
  struct {
    const char *name;
    int code;
  } cases[] = {
      {"", IPC_EINVAL},   {noslash, IPC_EINVAL}, {nested, IPC_EINVAL},
      {"/", IPC_EINVAL},  {"/..", IPC_EINVAL},   {space, IPC_EINVAL},
      {dots, IPC_EINVAL}, {NULL, IPC_EINVAL},    {toolong, IPC_ENAMETOOLONG},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ipc_shm_t *s = (ipc_shm_t *)1;
    const char *name = cases[i].name ? cases[i].name : "(null)";
    cr_assert_eq(ipc_shm_create(&s, cases[i].name, 64, 0), cases[i].code,
                 "create \"%s\"", name);
    cr_assert_null(s);
    s = (ipc_shm_t *)1;
    cr_assert_eq(ipc_shm_open(&s, cases[i].name, 0), cases[i].code,
                 "open \"%s\"", name);
    cr_assert_null(s);
    cr_assert_eq(ipc_shm_unlink(cases[i].name), cases[i].code, "unlink \"%s\"",
                 name);
  }
  cr_assert_eq(mine(), 0, "a refused name was created anyway");
}

Test(shm, open_of_a_missing_name_is_enoent, .timeout = 10) {
  const char *name = tname("missing");
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_open(&s, name, 0), IPC_ENOENT);
  cr_assert_null(s);
  tu_assert_ret(ipc_shm_open(&s, name, IPC_RDONLY), IPC_ENOENT);
  cr_assert_not(exists(name), "open must never create");
}

Test(shm, open_refuses_unknown_flags, .timeout = 10) {
  const char *name = tname("flags");
  ipc_shm_t *a, *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create(&a, name, 64, 0), 0);
  tu_assert_ret(ipc_shm_open(&s, name, 0x100), IPC_EINVAL);
  cr_assert_null(s);
  ipc_shm_close(a);
}

Test(shm, open_rdonly_maps_read_only_and_a_write_faults, .timeout = 10) {
  const char *name = tname("ro");
  ipc_shm_t *a, *r;
  tu_assert_ret(ipc_shm_create(&a, name, 4096, 0), 0);
  strcpy(ipc_shm_addr(a), "data");
  tu_assert_ret(ipc_shm_open(&r, name, IPC_RDONLY), 0);
  cr_assert_eq(ipc_shm_writable(r), 0);
  cr_assert_str_eq(ipc_shm_addr(r), "data");
  cr_assert_eq(fcntl(ipc_shm_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
  cr_assert_str_eq(map_perms(ipc_shm_addr(r)), "r--s");
  cr_assert_str_eq(map_perms(ipc_shm_addr(a)), "rw-s");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    signal(SIGSEGV, SIG_DFL); /* the sanitizers' handler would exit(1) */
    *(volatile char *)ipc_shm_addr(r) = 'X'; /* must fault */
    _exit(0);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
            "the write did not fault (status 0x%x)", st);
  cr_assert_str_eq(ipc_shm_addr(a), "data");
  ipc_shm_close(a);
  ipc_shm_close(r);
}

Test(shm, open_of_a_segment_of_size_zero_is_einval, .timeout = 10) {
  const char *name = tname("empty");
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600); /* no ftruncate */
  cr_assert_geq(fd, 0);
  close(fd);
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_open(&s, name, 0), IPC_EINVAL);
  cr_assert_null(s);
}

Test(shm, open_refuses_a_fifo_planted_under_the_name_without_hanging,
     .timeout = 10) {
  const char *name = tname("fifo");
  char path[128];
  snprintf(path, sizeof path, "/dev/shm%s", name);
  cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo: %s", strerror(errno));
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_open(&s, name, IPC_RDONLY), IPC_EINVAL);
  cr_assert_null(s);
  tu_assert_ret(ipc_shm_open(&s, name, 0), IPC_EINVAL);
}

Test(shm, open_by_another_uid_of_a_0600_segment_is_eacces, .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  const char *name = tname("perm");
  const char *shared = tname("perm644");
  ipc_shm_t *a, *b;
  tu_assert_ret(ipc_shm_create(&a, name, 64, 0), 0);
  tu_assert_ret(ipc_shm_create(&b, shared, 64, 0644), 0);
  strcpy(ipc_shm_addr(b), "public");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    become_nobody();
    ipc_shm_t *s;
    if (ipc_shm_open(&s, name, 0) != IPC_EACCES)
      _exit(1);
    if (ipc_shm_open(&s, name, IPC_RDONLY) != IPC_EACCES)
      _exit(2);
    if (ipc_shm_open(&s, shared, 0) != IPC_EACCES) /* 0644: no write */
      _exit(3);
    if (ipc_shm_open(&s, shared, IPC_RDONLY) != 0)
      _exit(4);
    if (strcmp(ipc_shm_addr(s), "public") != 0)
      _exit(5);
    ipc_shm_close(s);
    if (ipc_shm_unlink(name) != IPC_EACCES) /* sticky /dev/shm */
      _exit(6);
    _exit(0);
  }
  expect_child_ok(pid);
  cr_assert(exists(name));
  ipc_shm_close(a);
  ipc_shm_close(b);
}

Test(shm, create_larger_than_dev_shm_is_enospc_and_leaves_nothing,
     .timeout = 10) {
  struct statvfs vfs;
  cr_assert_eq(statvfs("/dev/shm", &vfs), 0);
  if (vfs.f_blocks == 0)
    cr_skip_test("/dev/shm has no size limit: ENOSPC cannot be provoked");
  /* Bigger than the whole file system: tmpfs refuses it before allocating
   * a page, so the test costs no memory. */
  size_t size = (size_t)vfs.f_blocks * vfs.f_frsize * 2;
  const char *name = tname("enospc");
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create(&s, name, size, 0), IPC_ENOSPC);
  cr_assert_null(s);
  cr_assert_not(exists(name), "the failed create left its name behind");
}

Test(shm, descriptors_are_close_on_exec_and_none_leak, .timeout = 10) {
  const char *name = tname("fds");
  int before = tu_count_fds();
  ipc_shm_t *a, *b, *c;
  tu_assert_ret(ipc_shm_create(&a, name, 64, 0), 0);
  tu_assert_ret(ipc_shm_open(&b, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_shm_create_anon(&c, 64), 0);
  cr_assert_eq(tu_cloexec(ipc_shm_fd(a)), 1);
  cr_assert_eq(tu_cloexec(ipc_shm_fd(b)), 1);
  cr_assert_eq(tu_cloexec(ipc_shm_fd(c)), 1);
  ipc_shm_t *x;
  ipc_shm_create(&x, name, 64, 0); /* EEXIST */
  ipc_shm_close(a);
  ipc_shm_close(b);
  ipc_shm_close(c);
  cr_assert_eq(tu_count_fds(), before);
}

/* ------------------------------------------------------ anonymous segments */

Test(shm, anon_is_shared_with_a_forked_child, .timeout = 10) {
  ipc_shm_t *s;
  tu_assert_ret(ipc_shm_create_anon(&s, 3000), 0);
  cr_assert_null(ipc_shm_name(s));
  cr_assert_eq(ipc_shm_sysv_id(s), -1);
  cr_assert_eq(ipc_shm_size(s), 3000);
  cr_assert_eq(ipc_shm_writable(s), 1);
  char *p = ipc_shm_addr(s);
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    strcpy(p + 2990, "from kid");
    _exit(0);
  }
  expect_child_ok(pid);
  cr_assert_str_eq(p + 2990, "from kid");
  ipc_shm_close(s);
}

Test(shm, anon_size_is_sealed_so_nobody_can_shrink_it, .timeout = 10) {
  ipc_shm_t *s;
  tu_assert_ret(ipc_shm_create_anon(&s, 8192), 0);
  int seals = fcntl(ipc_shm_fd(s), F_GET_SEALS);
  cr_assert(seals & F_SEAL_SHRINK);
  cr_assert(seals & F_SEAL_GROW);
  cr_assert_eq(ftruncate(ipc_shm_fd(s), 0), -1);
  cr_assert_eq(errno, EPERM);
  ipc_shm_close(s);
}

Test(shm, anon_refuses_size_zero_and_sizes_beyond_memory, .timeout = 10) {
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_create_anon(&s, 0), IPC_EINVAL);
  cr_assert_null(s);
  struct sysinfo si;
  cr_assert_eq(sysinfo(&si), 0);
  size_t huge = ((size_t)si.totalram + si.totalswap) * si.mem_unit * 2;
  int before = tu_count_fds();
  tu_assert_ret(ipc_shm_create_anon(&s, huge), IPC_ENOMEM);
  cr_assert_null(s);
  cr_assert_eq(tu_count_fds(), before);
}

Test(shm, two_processes_adding_atomically_lose_no_increment, .timeout = 10) {
  ipc_shm_t *s;
  tu_assert_ret(ipc_shm_create_anon(&s, 64), 0);
  uint64_t *counter = (uint64_t *)ipc_shm_addr(s) + 1;
  pid_t parent = getpid(), pids[2];
  for (int i = 0; i < 2; i++) {
    pids[i] = fork();
    cr_assert_geq(pids[i], 0);
    if (pids[i] == 0) {
      tu_child_begin(parent);
      for (int k = 0; k < 100000; k++)
        __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
      _exit(0);
    }
  }
  expect_child_ok(pids[0]);
  expect_child_ok(pids[1]);
  cr_assert_eq(*counter, 200000);
  ipc_shm_close(s);
}

/* ------------------------------------------------------------- System V */

/* A fresh file for ftok, removed by the fini. */
static const char *tfile(void) {
  snprintf(made_file, sizeof made_file, "/tmp/libipc-test-%d-XXXXXX",
           (int)getpid());
  int fd = mkstemp(made_file);
  cr_assert_geq(fd, 0);
  close(fd);
  return made_file;
}

Test(shm, ftok_makes_the_key_of_the_c_library_and_refuses_bad_ids,
     .timeout = 10) {
  const char *path = tfile();
  key_t k;
  tu_assert_ret(ipc_ftok(path, 42, &k), 0);
  cr_assert_eq(k, ftok(path, 42));
  tu_assert_ret(ipc_ftok(path, 0, &k), IPC_EINVAL);
  tu_assert_ret(ipc_ftok(path, 256, &k), IPC_EINVAL);
  tu_assert_ret(ipc_ftok(path, -1, &k), IPC_EINVAL);
  tu_assert_ret(ipc_ftok("/nonexistent/libipc", 1, &k), IPC_ENOENT);
  tu_assert_ret(ipc_ftok(NULL, 1, &k), IPC_EINVAL);
}

Test(shm, sysv_by_key_is_exclusive_shared_and_removable, .timeout = 10) {
  key_t key;
  tu_assert_ret(ipc_ftok(tfile(), 7, &key), 0);
  ipc_shm_t *a, *b, *c = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_sysv_create(&a, key, 5000, 0), 0);
  int id = track_id(ipc_shm_sysv_id(a));
  cr_assert_geq(id, 0);
  cr_assert_eq(ipc_shm_size(a), 5000);
  cr_assert_eq(ipc_shm_fd(a), -1);
  cr_assert_null(ipc_shm_name(a));
  struct shmid_ds ds;
  cr_assert_eq(shmctl(id, IPC_STAT, &ds), 0);
  cr_assert_eq(ds.shm_perm.mode & 0777, 0600, "mode %o",
               ds.shm_perm.mode & 0777);
  cr_assert_eq(ds.shm_segsz, 5000);
  strcpy((char *)ipc_shm_addr(a) + 4990, "sysv");

  tu_assert_ret(ipc_shm_sysv_create(&c, key, 5000, 0), IPC_EEXIST);
  cr_assert_null(c);
  cr_assert_str_eq((char *)ipc_shm_addr(a) + 4990, "sysv", "untouched");

  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) { /* a child that attaches by key on its own */
    tu_child_begin(parent);
    ipc_shm_t *k;
    if (ipc_shm_sysv_open(&k, key, -1, 0) != 0)
      _exit(1);
    if (ipc_shm_size(k) != 5000 || ipc_shm_sysv_id(k) != id)
      _exit(2);
    if (strcmp((char *)ipc_shm_addr(k) + 4990, "sysv") != 0)
      _exit(3);
    strcpy(ipc_shm_addr(k), "child");
    ipc_shm_close(k);
    _exit(0);
  }
  expect_child_ok(pid);
  cr_assert_str_eq(ipc_shm_addr(a), "child");

  tu_assert_ret(ipc_shm_sysv_open(&b, IPC_PRIVATE, id, IPC_RDONLY), 0);
  cr_assert_eq(ipc_shm_writable(b), 0);
  cr_assert_str_eq(ipc_shm_addr(b), "child");

  tu_assert_ret(ipc_shm_sysv_remove(a), 0);
  c = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_sysv_open(&c, key, -1, 0), IPC_ENOENT);
  cr_assert_null(c);
  cr_assert_str_eq(ipc_shm_addr(b), "child", "attached maps stay valid");
  ipc_shm_close(a);
  ipc_shm_close(b);
  errno = 0;
  cr_assert_eq(shmctl(id, IPC_STAT, &ds), -1, "gone after the last detach");
}

Test(shm, sysv_private_segments_are_new_each_time_and_open_by_id,
     .timeout = 10) {
  ipc_shm_t *a, *b, *c;
  tu_assert_ret(ipc_shm_sysv_create(&a, IPC_PRIVATE, 100, 0640), 0);
  tu_assert_ret(ipc_shm_sysv_create(&b, IPC_PRIVATE, 100, 0), 0);
  track_id(ipc_shm_sysv_id(a));
  track_id(ipc_shm_sysv_id(b));
  cr_assert_neq(ipc_shm_sysv_id(a), ipc_shm_sysv_id(b));
  struct shmid_ds ds;
  cr_assert_eq(shmctl(ipc_shm_sysv_id(a), IPC_STAT, &ds), 0);
  cr_assert_eq(ds.shm_perm.mode & 0777, 0640);
  tu_assert_ret(ipc_shm_sysv_open(&c, IPC_PRIVATE, ipc_shm_sysv_id(a), 0), 0);
  ((char *)ipc_shm_addr(c))[99] = 'z';
  cr_assert_eq(((char *)ipc_shm_addr(a))[99], 'z');
  cr_assert_eq(((char *)ipc_shm_addr(b))[99], 0);
  ipc_shm_t *d = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_sysv_open(&d, IPC_PRIVATE, -1, 0), IPC_EINVAL);
  cr_assert_null(d);
  tu_assert_ret(ipc_shm_sysv_open(&d, IPC_PRIVATE, ipc_shm_sysv_id(a), 0x10),
                IPC_EINVAL);
  tu_assert_ret(ipc_shm_sysv_remove(a), 0);
  tu_assert_ret(ipc_shm_sysv_remove(b), 0);
  ipc_shm_close(a);
  ipc_shm_close(b);
  ipc_shm_close(c);
}

Test(shm, sysv_refuses_size_zero_bad_modes_and_sizes_beyond_memory,
     .timeout = 10) {
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_sysv_create(&s, IPC_PRIVATE, 0, 0), IPC_EINVAL);
  cr_assert_null(s);
  tu_assert_ret(ipc_shm_sysv_create(&s, IPC_PRIVATE, 64, 01600), IPC_EINVAL);
  struct sysinfo si;
  cr_assert_eq(sysinfo(&si), 0);
  size_t huge = ((size_t)si.totalram + si.totalswap) * si.mem_unit * 2;
  tu_assert_ret(ipc_shm_sysv_create(&s, IPC_PRIVATE, huge, 0), IPC_ENOMEM);
  cr_assert_null(s);
  cr_assert_eq(sysv_count(), 0, "a failed create left a segment");
}

Test(shm, sysv_open_of_a_missing_key_is_enoent, .timeout = 10) {
  key_t key;
  tu_assert_ret(ipc_ftok(tfile(), 9, &key), 0);
  ipc_shm_t *s = (ipc_shm_t *)1;
  tu_assert_ret(ipc_shm_sysv_open(&s, key, -1, 0), IPC_ENOENT);
  cr_assert_null(s);
}

Test(shm, sysv_by_another_uid_of_a_0600_segment_is_eacces, .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  ipc_shm_t *a;
  tu_assert_ret(ipc_shm_sysv_create(&a, IPC_PRIVATE, 64, 0), 0);
  int id = track_id(ipc_shm_sysv_id(a));
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    tu_child_begin(parent);
    become_nobody();
    ipc_shm_t *s;
    if (ipc_shm_sysv_open(&s, IPC_PRIVATE, id, 0) != IPC_EACCES)
      _exit(1);
    if (ipc_shm_sysv_open(&s, IPC_PRIVATE, id, IPC_RDONLY) != IPC_EACCES)
      _exit(2);
    _exit(0);
  }
  expect_child_ok(pid);
  ipc_shm_sysv_remove(a);
  ipc_shm_close(a);
}

Test(shm, sysv_remove_of_a_posix_or_anonymous_segment_is_einval,
     .timeout = 10) {
  const char *name = tname("notsysv");
  ipc_shm_t *a, *b;
  tu_assert_ret(ipc_shm_create(&a, name, 64, 0), 0);
  tu_assert_ret(ipc_shm_create_anon(&b, 64), 0);
  tu_assert_ret(ipc_shm_sysv_remove(a), IPC_EINVAL);
  tu_assert_ret(ipc_shm_sysv_remove(b), IPC_EINVAL);
  cr_assert(exists(name));
  ipc_shm_close(a);
  ipc_shm_close(b);
}

Test(shm, sysv_create_that_cannot_attach_removes_what_it_made, .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  pid_t parent = getpid();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    /* Without CAP_IPC_OWNER, mode 0200 lets shmget make the segment but
     * shmat refuse it (no read permission): the failure after shmget. */
    tu_child_begin(parent);
    become_nobody();
    ipc_shm_t *s;
    if (ipc_shm_sysv_create(&s, IPC_PRIVATE, 4096, 0200) != IPC_EACCES)
      _exit(1);
    if (s != NULL)
      _exit(2);
    _exit(sysv_count() == 0 ? 0 : 3);
  }
  expect_child_ok(pid);
}

Test(shm, from_fd_maps_a_memfd_and_owns_its_descriptor, .timeout = 10) {
  int fd = memfd_create("from-fd", MFD_CLOEXEC);
  cr_assert(fd >= 0);
  cr_assert(ftruncate(fd, 8192) == 0);
  cr_assert(pwrite(fd, "hello", 5, 0) == 5);
  ipc_shm_t *seg;
  cr_assert_eq(ipc_shm_from_fd(&seg, fd, 0), 0);
  cr_assert_eq(ipc_shm_size(seg), 8192);
  cr_assert(ipc_shm_writable(seg));
  cr_assert_eq(ipc_shm_fd(seg), fd);
  cr_assert(memcmp(ipc_shm_addr(seg), "hello", 5) == 0);
  memcpy(ipc_shm_addr(seg), "HE", 2); /* shared with the descriptor */
  char back[5];
  cr_assert(pread(fd, back, 5, 0) == 5);
  cr_assert(memcmp(back, "HEllo", 5) == 0);
  ipc_shm_close(seg);
  cr_assert(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "close closed the fd");
}

Test(shm, from_fd_maps_read_only_descriptors_and_sealed_memfds_read_only,
     .timeout = 10) {
  int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  cr_assert(fd >= 0);
  cr_assert(ftruncate(fd, 4096) == 0);
  cr_assert(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0);
  ipc_shm_t *seg;
  cr_assert_eq(ipc_shm_from_fd(&seg, fd, 0), 0);
  cr_assert_not(ipc_shm_writable(seg));
  ipc_shm_close(seg);
  fd = memfd_create("ro", MFD_CLOEXEC);
  cr_assert(ftruncate(fd, 4096) == 0);
  cr_assert_eq(ipc_shm_from_fd(&seg, fd, IPC_RDONLY), 0);
  cr_assert_not(ipc_shm_writable(seg));
  ipc_shm_close(seg);
}

Test(shm, from_fd_refuses_pipes_empty_files_and_bad_descriptors_keeping_them,
     .timeout = 10) {
  ipc_shm_t *seg = (ipc_shm_t *)1;
  int fds[2];
  cr_assert(pipe2(fds, O_CLOEXEC) == 0);
  cr_assert_eq(ipc_shm_from_fd(&seg, fds[0], 0), IPC_EINVAL);
  cr_assert_null(seg);
  cr_assert(fcntl(fds[0], F_GETFD) >= 0, "the caller still owns the fd");
  int empty = memfd_create("empty", MFD_CLOEXEC);
  cr_assert_eq(ipc_shm_from_fd(&seg, empty, 0), IPC_EINVAL);
  cr_assert_eq(ipc_shm_from_fd(&seg, empty, 0x40), IPC_EINVAL);
  cr_assert_eq(ipc_shm_from_fd(&seg, 1 << 20, 0), IPC_EBADF);
  close(fds[0]);
  close(fds[1]);
  close(empty);
}
