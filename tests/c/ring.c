/* tests/c/ring.c: the shared-memory ring (ipc_ring_*): every mode, wrap-around
 * at every alignment, full and empty boundaries, timeouts, zero-copy and batch
 * calls, push_sync, stats, peers that leave cleanly or die (also in the middle
 * of a reservation), and every bad input of issue 3: bad geometry and names,
 * foreign or corrupt segments, permissions, wrong roles, sizes. Rings are
 * real (shm or memfd), peers are real child processes; every named ring is
 * registered and removed by the suite's fini, even after a failure. */
#include "testutil.h"

#include "ring.h" /* white box: ipc__ring_check_header */

#include <criterion/parameterized.h>

#include <grp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* --------------------------------------------------------------- cleanup */

static char made_names[16][64];
static int n_names;

/* A ring name unique to this test process ("/libipc-test-<pid>-ring-tag"),
 * removed now if a previous run left it, and by the fini whatever happens. */
static const char *rname(const char *tag) {
  cr_assert_lt(n_names, 16);
  char *name = made_names[n_names++];
  snprintf(name, 64, "/libipc-test-%d-ring-%s", (int)getpid(), tag);
  shm_unlink(name);
  return name;
}

static void cleanup(void) {
  for (int i = 0; i < n_names; i++)
    shm_unlink(made_names[i]);
  tu_cleanup();
}

TestSuite(ring, .fini = cleanup);

/* ---------------------------------------------------------------- helpers */

static const char *const mode_names[] = {"SPSC", "MPSC", "MPMC"};

/* White box: where ring.c's struct ring_shared keeps the fields that the
 * bad-input tests overwrite, and how a record header is packed. The test
 * layout_offsets_still_match_ring_c fails first if ring.c changes them. */
enum {
  OFF_MAGIC = 0,
  OFF_VERSION = 8,
  OFF_MODE = 12,
  OFF_CAPACITY = 16,
  OFF_MAX_MESSAGE = 24,
  OFF_TAIL = 128,
  OFF_HEAD = 256,
  DATA_OFFSET = 4096,
};
#define REC(len, type) ((uint64_t)(len) | (uint64_t)(type) << 40)
#define REC_BUSY_BIT (1ull << 63)
enum { TYPE_DATA = 1, TYPE_PAD = 2 };

/* Whether /dev/shm holds the POSIX name. */
static int exists(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm%s", name);
  return lstat(path, &st) == 0;
}

/* The permission bits of a named ring, from /dev/shm. */
static int mode_of(const char *name) {
  char path[300];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm%s", name);
  cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
  return (int)(st.st_mode & 07777);
}

/* Entries of /dev/shm whose name starts with this process's test prefix. */
static int my_shm_entries(void) {
  char prefix[64];
  int n = snprintf(prefix, sizeof prefix, "libipc-test-%d-", (int)getpid());
  DIR *d = opendir("/dev/shm");
  cr_assert_not_null(d);
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, (size_t)n) == 0)
      count++;
  closedir(d);
  return count;
}

static ipc_ring_opts_t opts_of(size_t cap, size_t max, int mode) {
  ipc_ring_opts_t o;
  memset(&o, 0, sizeof o);
  o.capacity = cap;
  o.max_message = max;
  o.mode = (ipc_ring_mode_t)mode;
  return o;
}

/* An anonymous ring, asserted. */
static ipc_ring_t *anon(size_t cap, size_t max, int mode) {
  ipc_ring_opts_t o = opts_of(cap, max, mode);
  ipc_ring_t *r = NULL;
  tu_assert_ret(ipc_ring_create_anon(&r, &o), 0);
  cr_assert_not_null(r);
  return r;
}

/* A named ring, asserted. */
static ipc_ring_t *named(const char *name, size_t cap, size_t max, int mode) {
  ipc_ring_opts_t o = opts_of(cap, max, mode);
  ipc_ring_t *r = NULL;
  tu_assert_ret(ipc_ring_create(&r, name, &o), 0);
  cr_assert_not_null(r);
  return r;
}

/* A byte pattern that differs per message and per position. */
static void pattern(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8) + 1u);
}

static int pattern_ok(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed * 131u + i * 7u + (i >> 8) + 1u))
      return 0;
  return 1;
}

/* Pushes a message of n pattern bytes, asserted. */
static void push_pat(ipc_ring_t *r, size_t n, unsigned seed) {
  static unsigned char buf[1 << 17];
  cr_assert_leq(n, sizeof buf);
  pattern(buf, n, seed);
  tu_assert_ret(ipc_ring_push(r, buf, n, 1000), 0);
}

/* Pops one message and asserts it is n pattern bytes of seed. `how`
 * chooses the call: 0 pop, 1 peek and release, 2 pop_many of one. */
struct one {
  unsigned char *buf;
  size_t len;
};

static int copy_one(void *ctx, const void *msg, size_t len) {
  struct one *o = ctx;
  memcpy(o->buf, msg, len);
  o->len = len;
  return 1; /* stop after this one */
}

static void pop_pat(ipc_ring_t *r, size_t n, unsigned seed, int how) {
  static unsigned char buf[1 << 17];
  ssize_t got;
  if (how == 0) {
    got = ipc_ring_pop(r, buf, sizeof buf, 1000);
  } else if (how == 1) {
    const void *p;
    got = ipc_ring_peek(r, &p, 1000);
    if (got >= 0) {
      cr_assert_not_null(p);
      memcpy(buf, p, (size_t)got);
      tu_assert_ret(ipc_ring_release(r), 0);
    }
  } else {
    struct one o = {buf, 0};
    got = ipc_ring_pop_many(r, 1, copy_one, &o, 1000);
    if (got >= 0) {
      cr_assert_eq(got, 1);
      got = (ssize_t)o.len;
    }
  }
  cr_assert_eq(got, (ssize_t)n, "pop (way %d) gave %zd (%s), want %zu bytes",
               how, got, tu_name(got), n);
  cr_assert(pattern_ok(buf, n, seed), "message of %zu bytes (seed %u) damaged",
            n, seed);
}

static void push_str(ipc_ring_t *r, const char *s) {
  tu_assert_ret(ipc_ring_push(r, s, strlen(s), 1000), 0);
}

static void pop_str(ipc_ring_t *r, const char *want) {
  char buf[256];
  ssize_t n = ipc_ring_pop(r, buf, sizeof buf, 1000);
  tu_assert_bytes(buf, n, want);
}

static ipc_ring_stats_t stats_of(ipc_ring_t *r) {
  ipc_ring_stats_t st;
  tu_assert_ret(ipc_ring_stats(r, &st), 0);
  return st;
}

/* Forks a child that dies with the test; returns 0 in the child. */
static pid_t fork_child(void) {
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0)
    tu_child_begin(parent);
  return pid;
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

/* Reaps a child that was killed with SIGKILL. */
static void expect_child_killed(pid_t pid) {
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

/* A pipe for "I got there" notes between a parent and a child. */
static void note_pipe(int fds[2]) {
  cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

static void note_send(int fd) {
  char c = 'x';
  if (write(fd, &c, 1) != 1)
    _exit(97);
}

/* Waits up to ms for a note; 1 if one came. */
static int note_wait(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  char c;
  return poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 1;
}

/* Writes n bytes at offset off of the named segment from another process,
 * the way a buggy or hostile peer would. */
static void scribble(const char *name, size_t off, const void *bytes,
                     size_t n) {
  pid_t pid = fork_child();
  if (pid == 0) {
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
      _exit(1);
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size < off + n)
      _exit(2);
    char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    if (m == MAP_FAILED)
      _exit(3);
    memcpy(m + off, bytes, n);
    _exit(0);
  }
  expect_child_ok(pid);
}

static void scribble_u64(const char *name, size_t off, uint64_t v) {
  scribble(name, off, &v, sizeof v);
}

static void scribble_u32(const char *name, size_t off, uint32_t v) {
  scribble(name, off, &v, sizeof v);
}

/* Reads a u64 of the named segment, through a mapping of our own. */
static uint64_t peek_u64(const char *name, size_t off) {
  int fd = shm_open(name, O_RDONLY, 0);
  cr_assert_geq(fd, 0);
  uint64_t v;
  cr_assert_eq(pread(fd, &v, sizeof v, (off_t)off), (ssize_t)sizeof v);
  close(fd);
  return v;
}

/* In a child: becomes nobody (uid and gid 65534). */
static void become_nobody(void) {
  if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
    _exit(90);
}

/* The three modes as Criterion parameters. */
#define EVERY_MODE(name)                                                       \
  ParameterizedTestParameters(ring, name) {                                    \
    static int modes[] = {IPC_RING_SPSC, IPC_RING_MPSC, IPC_RING_MPMC};        \
    return cr_make_param_array(int, modes, 3);                                 \
  }

/* -------------------------------------------------------- create and open */

Test(ring, layout_offsets_still_match_ring_c, .timeout = 10) {
  /* The bad-input tests below write into the header at fixed offsets; check
   * those offsets against a real ring so that they fail here, clearly, if
   * ring.c's layout moves. */
  const char *name = rname("layout");
  ipc_ring_t *r = named(name, 4096, 100, IPC_RING_MPSC);
  push_str(r, "abc"); /* one record of 8 + 8 bytes */
  cr_assert_eq(peek_u64(name, OFF_MAGIC), 0x474e495243504921ull);
  cr_assert_eq(peek_u64(name, OFF_CAPACITY), 4096);
  cr_assert_eq(peek_u64(name, OFF_MAX_MESSAGE), 100);
  cr_assert_eq(peek_u64(name, OFF_MODE) & 0xffffffffu, IPC_RING_MPSC);
  cr_assert_eq(peek_u64(name, OFF_TAIL), 16, "tail is not at offset %d",
               OFF_TAIL);
  cr_assert_eq(peek_u64(name, OFF_HEAD), 0);
  cr_assert_eq(peek_u64(name, DATA_OFFSET), REC(3, TYPE_DATA),
               "record header is %#llx",
               (unsigned long long)peek_u64(name, DATA_OFFSET));
  pop_str(r, "abc");
  cr_assert_eq(peek_u64(name, OFF_HEAD), 16);
  ipc_ring_close(r);
  tu_assert_ret(ipc_ring_unlink(name), 0);
}

Test(ring, create_makes_a_0600_ring_with_the_default_geometry, .timeout = 10) {
  const char *name = rname("defaults");
  umask(0);
  ipc_ring_t *r = NULL;
  tu_assert_ret(ipc_ring_create(&r, name, NULL), 0);
  cr_assert(exists(name));
  cr_assert_eq(mode_of(name), 0600);
  cr_assert_str_eq(ipc_ring_name(r), name);
  cr_assert_eq(tu_cloexec(ipc_ring_fd(r)), 1, "ring fd lacks FD_CLOEXEC");
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.capacity, 65536);
  cr_assert_eq(st.max_message, 65536 / 8);
  cr_assert_eq(st.mode, IPC_RING_SPSC);
  cr_assert_eq(st.used, 0);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.pushed + st.popped + st.abandoned, 0);
  cr_assert_eq(st.producers + st.consumers, 0, "nobody attached yet");
  tu_assert_ret(ipc_ring_close(r), 0);
  cr_assert(exists(name), "close must not unlink");
  tu_assert_ret(ipc_ring_unlink(name), 0);
  cr_assert_not(exists(name));
  tu_assert_ret(ipc_ring_unlink(name), IPC_ENOENT);
  tu_assert_ret(ipc_ring_close(NULL), 0);
  umask(022);
}

Test(ring, perm_sets_the_exact_mode_whatever_the_umask, .timeout = 10) {
  const char *name = rname("perm640");
  umask(077);
  ipc_ring_opts_t o = opts_of(0, 0, 0);
  o.perm = 0640;
  ipc_ring_t *r;
  tu_assert_ret(ipc_ring_create(&r, name, &o), 0);
  cr_assert_eq(mode_of(name), 0640, "mode is %o", mode_of(name));
  ipc_ring_close(r);
  ipc_ring_unlink(name);
  umask(022);
}

Test(ring, anonymous_ring_has_no_name_and_a_close_on_exec_fd, .timeout = 10) {
  int before = tu_count_fds();
  ipc_ring_t *r = anon(0, 0, IPC_RING_MPMC);
  cr_assert_null(ipc_ring_name(r));
  cr_assert_eq(tu_cloexec(ipc_ring_fd(r)), 1);
  cr_assert_eq(stats_of(r).mode, IPC_RING_MPMC);
  push_str(r, "x");
  pop_str(r, "x");
  ipc_ring_close(r);
  cr_assert_eq(tu_count_fds(), before, "close leaked a descriptor");
}

Test(ring, create_is_exclusive_and_leaves_the_existing_ring_working,
     .timeout = 10) {
  const char *name = rname("excl");
  ipc_ring_t *a = named(name, 4096, 0, IPC_RING_SPSC);
  push_str(a, "first");
  ipc_ring_t *b = (ipc_ring_t *)1;
  ipc_ring_opts_t o = opts_of(8192, 0, IPC_RING_MPMC);
  tu_assert_ret(ipc_ring_create(&b, name, &o), IPC_EEXIST);
  cr_assert_null(b);
  cr_assert(exists(name), "a failed create must not unlink the other's name");
  tu_assert_ret(ipc_ring_open(&b, name, 0), 0);
  cr_assert_eq(stats_of(b).capacity, 4096);
  ipc_ring_close(a); /* the producer leaves; its message stays */
  pop_str(b, "first");
  ipc_ring_close(b);
  ipc_ring_unlink(name);
}

Test(ring, capacity_too_small_too_large_or_not_a_power_of_two_is_einval,
     .timeout = 10) {
  const char *name = rname("badcap");
  static const size_t bad[] = {
      1,
      1024,
      2048,
      4095,
      4097,
      5000,
      65535,
      65537,
      3 << 12,
      (size_t)IPC_RING_MAX_CAPACITY << 1,
      (size_t)IPC_RING_MAX_CAPACITY + 4096,
      SIZE_MAX,
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ipc_ring_opts_t o = opts_of(bad[i], 0, 0);
    ipc_ring_t *r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_create(&r, name, &o), IPC_EINVAL,
                 "capacity %zu accepted (rounded?)", bad[i]);
    cr_assert_null(r);
    cr_assert_not(exists(name), "capacity %zu left the name behind", bad[i]);
    r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_create_anon(&r, &o), IPC_EINVAL, "anon, %zu", bad[i]);
    cr_assert_null(r);
  }
  /* The limits themselves are fine. */
  ipc_ring_t *r = anon(IPC_RING_MIN_CAPACITY, 0, 0);
  cr_assert_eq(stats_of(r).capacity, IPC_RING_MIN_CAPACITY);
  ipc_ring_close(r);
  cr_assert_eq(my_shm_entries(), 0);
}

Test(ring, max_message_too_large_for_the_capacity_is_einval, .timeout = 10) {
  const char *name = rname("badmax");
  struct {
    size_t cap, max;
  } bad[] = {
      {4096, 4096 / 2 - 8 + 1},
      {4096, 4096},
      {4096, 1 << 20},
      {65536, 32768},
      {65536, SIZE_MAX},
      /* fits capacity / 2 but not the 32-bit length of a record header */
      {(size_t)1 << 40, (size_t)1 << 32},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ipc_ring_opts_t o = opts_of(bad[i].cap, bad[i].max, 0);
    ipc_ring_t *r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_create(&r, name, &o), IPC_EINVAL,
                 "max_message %zu accepted for capacity %zu", bad[i].max,
                 bad[i].cap);
    cr_assert_null(r);
    cr_assert_not(exists(name));
  }
  ipc_ring_t *r = anon(4096, 4096 / 2 - 8, 0);
  cr_assert_eq(stats_of(r).max_message, 2040);
  ipc_ring_close(r);
}

Test(ring, an_unknown_mode_is_einval, .timeout = 10) {
  const char *name = rname("badmode");
  ipc_ring_opts_t o = opts_of(0, 0, 3);
  ipc_ring_t *r = (ipc_ring_t *)1;
  tu_assert_ret(ipc_ring_create(&r, name, &o), IPC_EINVAL);
  cr_assert_null(r);
  o.mode = (ipc_ring_mode_t)-1;
  tu_assert_ret(ipc_ring_create(&r, name, &o), IPC_EINVAL);
  cr_assert_not(exists(name));
}

Test(ring, bad_names_are_refused_by_create_open_and_unlink, .timeout = 10) {
  char nested[64], noslash[64];
  snprintf(nested, sizeof nested, "/libipc-test-%d-ring/x", (int)getpid());
  snprintf(noslash, sizeof noslash, "libipc-test-%d-ring", (int)getpid());
  char toolong[IPC_NAME_MAX + 3];
  toolong[0] = '/';
  memset(toolong + 1, 'n', IPC_NAME_MAX + 1);
  toolong[IPC_NAME_MAX + 2] = '\0';
  struct {
    const char *name;
    int code;
  } cases[] = {
      {"", IPC_EINVAL},   {"/", IPC_EINVAL},           {nested, IPC_EINVAL},
      {"//", IPC_EINVAL}, {noslash, IPC_EINVAL},       {"/..", IPC_EINVAL},
      {NULL, IPC_EINVAL}, {toolong, IPC_ENAMETOOLONG},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *n = cases[i].name ? cases[i].name : "(null)";
    ipc_ring_t *r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_create(&r, cases[i].name, NULL), cases[i].code,
                 "create \"%s\"", n);
    cr_assert_null(r);
    r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_open(&r, cases[i].name, 0), cases[i].code,
                 "open \"%s\"", n);
    cr_assert_null(r);
    cr_assert_eq(ipc_ring_unlink(cases[i].name), cases[i].code, "unlink \"%s\"",
                 n);
  }
  cr_assert_not(exists(toolong));
  cr_assert_eq(my_shm_entries(), 0);
}

Test(ring, open_of_a_missing_name_is_enoent_and_creates_nothing,
     .timeout = 10) {
  const char *name = rname("missing");
  ipc_ring_t *r = (ipc_ring_t *)1;
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ENOENT);
  cr_assert_null(r);
  tu_assert_ret(ipc_ring_open(&r, name, IPC_RDONLY), IPC_ENOENT);
  cr_assert_not(exists(name));
}

Test(ring, open_refuses_unknown_and_contradictory_flags, .timeout = 10) {
  const char *name = rname("flags");
  ipc_ring_t *a = named(name, 0, 0, 0), *r = (ipc_ring_t *)1;
  tu_assert_ret(ipc_ring_open(&r, name, IPC_RDONLY | IPC_WRONLY), IPC_EINVAL);
  cr_assert_null(r);
  tu_assert_ret(ipc_ring_open(&r, name, 0x100), IPC_EINVAL);
  cr_assert_null(r);
  ipc_ring_close(a);
  ipc_ring_unlink(name);
}

Test(ring, open_of_a_segment_that_is_not_a_ring_is_ecorrupt, .timeout = 10) {
  const char *name = rname("notring");
  int before = tu_count_fds();
  /* Zeros, text, and a segment smaller than the header page. */
  for (int kind = 0; kind < 3; kind++) {
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0, "shm_open: %s", strerror(errno));
    size_t size = kind == 2 ? 100 : 8192;
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (kind == 1) {
      char text[8192];
      for (size_t i = 0; i < sizeof text; i++)
        text[i] = "not a ring at all\n"[i % 18];
      cr_assert_eq(pwrite(fd, text, sizeof text, 0), (ssize_t)sizeof text);
    }
    close(fd);
    ipc_ring_t *r = (ipc_ring_t *)1;
    cr_assert_eq(ipc_ring_open(&r, name, 0), IPC_ECORRUPT, "kind %d", kind);
    cr_assert_null(r);
    tu_assert_ret(ipc_ring_open(&r, name, IPC_RDONLY), IPC_ECORRUPT);
    cr_assert_eq(tu_count_fds(), before, "a refused open leaked its fd");
    tu_assert_ret(ipc_ring_unlink(name), 0);
  }
  cr_assert_not(exists(name));
  cr_assert_eq(my_shm_entries(), 0);
}

Test(ring, open_of_a_ring_of_another_layout_version_is_ecorrupt,
     .timeout = 10) {
  const char *name = rname("version");
  ipc_ring_t *a = named(name, 4096, 0, 0);
  ipc_ring_close(a);
  uint32_t version = (uint32_t)peek_u64(name, OFF_VERSION);
  scribble_u32(name, OFF_VERSION, version + 1);
  ipc_ring_t *r = (ipc_ring_t *)1;
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  cr_assert_null(r);
  scribble_u32(name, OFF_VERSION, 0);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  /* Put it back: the same segment opens, so the version was the reason. */
  scribble_u32(name, OFF_VERSION, version);
  tu_assert_ret(ipc_ring_open(&r, name, 0), 0);
  ipc_ring_close(r);
  tu_assert_ret(ipc_ring_unlink(name), 0);
  cr_assert_not(exists(name));
}

Test(ring, open_of_a_ring_whose_geometry_disagrees_is_ecorrupt, .timeout = 10) {
  const char *name = rname("geometry");
  ipc_ring_t *a = named(name, 8192, 0, 0);
  ipc_ring_close(a);
  ipc_ring_t *r = (ipc_ring_t *)1;
  /* A capacity that is not a power of two, then one beyond the segment. */
  scribble_u64(name, OFF_CAPACITY, 8000);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  scribble_u64(name, OFF_CAPACITY, 16384);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  scribble_u64(name, OFF_CAPACITY, 8192);
  /* max_message beyond capacity / 2 - 8, and 0. */
  scribble_u64(name, OFF_MAX_MESSAGE, 8192);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  scribble_u64(name, OFF_MAX_MESSAGE, 0);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  scribble_u64(name, OFF_MAX_MESSAGE, 1024);
  /* An unknown mode. */
  scribble_u32(name, OFF_MODE, 7);
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  scribble_u32(name, OFF_MODE, IPC_RING_SPSC);
  tu_assert_ret(ipc_ring_open(&r, name, 0), 0);
  ipc_ring_close(r);
  /* A segment cut shorter than its header says (before anyone attached). */
  int fd = shm_open(name, O_RDWR, 0);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ftruncate(fd, 4096 + 4096), 0);
  close(fd);
  r = (ipc_ring_t *)1;
  tu_assert_ret(ipc_ring_open(&r, name, 0), IPC_ECORRUPT);
  cr_assert_null(r);
  tu_assert_ret(ipc_ring_unlink(name), 0);
  cr_assert_not(exists(name));
}

Test(ring, check_header_accepts_a_real_ring_and_refuses_short_images,
     .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, IPC_RING_MPSC);
  size_t size = 4096 + 4096;
  void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, ipc_ring_fd(r), 0);
  cr_assert_neq(m, MAP_FAILED);
  tu_assert_ret(ipc__ring_check_header(m, size), 0);
  tu_assert_ret(ipc__ring_check_header(m, size - 8), IPC_ECORRUPT);
  tu_assert_ret(ipc__ring_check_header(m, 4095), IPC_ECORRUPT);
  tu_assert_ret(ipc__ring_check_header(m, 0), IPC_ECORRUPT);
  munmap(m, size);
  ipc_ring_close(r);
}

Test(ring, a_0600_ring_opened_by_another_user_is_eacces, .timeout = 10) {
  if (geteuid() != 0)
    cr_skip_test("needs root to switch to another uid");
  const char *name = rname("private");
  const char *shared = rname("public");
  ipc_ring_t *a = named(name, 4096, 0, 0);
  ipc_ring_opts_t o = opts_of(4096, 0, 0);
  o.perm = 0666;
  ipc_ring_t *b;
  tu_assert_ret(ipc_ring_create(&b, shared, &o), 0);
  pid_t pid = fork_child();
  if (pid == 0) {
    become_nobody();
    ipc_ring_t *r = (ipc_ring_t *)1;
    if (ipc_ring_open(&r, name, 0) != IPC_EACCES || r != NULL)
      _exit(1);
    if (ipc_ring_open(&r, name, IPC_RDONLY) != IPC_EACCES)
      _exit(2);
    if (ipc_ring_open(&r, name, IPC_WRONLY) != IPC_EACCES)
      _exit(3);
    int rc = ipc_ring_unlink(name); /* /dev/shm is sticky: EPERM */
    if (rc != IPC_EACCES && rc != IPC_EPERM)
      _exit(4);
    /* 0666 lets another user in, as a producer here. */
    if (ipc_ring_open(&r, shared, IPC_WRONLY) != 0)
      _exit(5);
    if (ipc_ring_push(r, "from nobody", 11, 1000) != 0)
      _exit(6);
    ipc_ring_close(r);
    _exit(0);
  }
  expect_child_ok(pid);
  cr_assert(exists(name));
  pop_str(b, "from nobody");
  ipc_ring_close(a);
  ipc_ring_close(b);
  ipc_ring_unlink(name);
  ipc_ring_unlink(shared);
  cr_assert_eq(my_shm_entries(), 0);
}

Test(ring, a_read_only_handle_cannot_push_and_a_write_only_one_cannot_pop,
     .timeout = 10) {
  const char *name = rname("roles");
  ipc_ring_t *a = named(name, 4096, 0, IPC_RING_MPMC), *ro, *wo;
  tu_assert_ret(ipc_ring_open(&ro, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_ring_open(&wo, name, IPC_WRONLY), 0);
  void *p;
  const void *cp;
  struct iovec iov = {"x", 1};
  tu_assert_ret(ipc_ring_push(ro, "x", 1, 0), IPC_EBADF);
  tu_assert_ret(ipc_ring_push_sync(ro, "x", 1, 0), IPC_EBADF);
  tu_assert_ret(ipc_ring_push_many(ro, &iov, 1, 0), IPC_EBADF);
  tu_assert_ret(ipc_ring_reserve(ro, 1, &p, 0), IPC_EBADF);
  char buf[8];
  tu_assert_ret(ipc_ring_pop(wo, buf, sizeof buf, 0), IPC_EBADF);
  tu_assert_ret(ipc_ring_peek(wo, &cp, 0), IPC_EBADF);
  tu_assert_ret(ipc_ring_pop_many(wo, 4, copy_one, NULL, 0), IPC_EBADF);
  /* Each still does its own job. */
  push_str(wo, "ok");
  pop_str(ro, "ok");
  ipc_ring_close(ro);
  ipc_ring_close(wo);
  ipc_ring_close(a);
  ipc_ring_unlink(name);
}

Test(ring, spsc_refuses_a_second_producer_or_consumer_with_ebusy,
     .timeout = 10) {
  const char *name = rname("busy");
  ipc_ring_t *p1 = named(name, 4096, 0, IPC_RING_SPSC), *p2, *c1, *c2;
  tu_assert_ret(ipc_ring_open(&p2, name, IPC_WRONLY), 0);
  tu_assert_ret(ipc_ring_open(&c1, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_ring_open(&c2, name, IPC_RDONLY), 0);
  push_str(p1, "one");
  tu_assert_ret(ipc_ring_push(p2, "two", 3, 0), IPC_EBUSY);
  pop_str(c1, "one");
  char buf[8];
  tu_assert_ret(ipc_ring_pop(c2, buf, sizeof buf, 0), IPC_EBUSY);
  cr_assert_eq(stats_of(p1).producers, 1);
  cr_assert_eq(stats_of(p1).consumers, 1);
  /* Once the first of each leaves, the second may take its place. */
  ipc_ring_close(p1);
  ipc_ring_close(c1);
  push_str(p2, "three");
  pop_str(c2, "three");
  ipc_ring_close(p2);
  ipc_ring_close(c2);
  ipc_ring_unlink(name);
}

Test(ring, mpsc_takes_many_producers_but_one_consumer, .timeout = 10) {
  const char *name = rname("mpsc");
  ipc_ring_t *p1 = named(name, 4096, 0, IPC_RING_MPSC), *p2, *c1, *c2;
  tu_assert_ret(ipc_ring_open(&p2, name, IPC_WRONLY), 0);
  tu_assert_ret(ipc_ring_open(&c1, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_ring_open(&c2, name, IPC_RDONLY), 0);
  push_str(p1, "one");
  push_str(p2, "two");
  pop_str(c1, "one");
  char buf[8];
  tu_assert_ret(ipc_ring_pop(c2, buf, sizeof buf, 0), IPC_EBUSY);
  pop_str(c1, "two");
  ipc_ring_stats_t st = stats_of(c1);
  cr_assert_eq(st.producers, 2);
  cr_assert_eq(st.consumers, 1);
  ipc_ring_close(p1);
  ipc_ring_close(p2);
  ipc_ring_close(c1);
  ipc_ring_close(c2);
  ipc_ring_unlink(name);
}

/* ------------------------------------------------------------- messages */

EVERY_MODE(messages_come_out_in_order_with_their_bytes)
ParameterizedTest(int *mode, ring, messages_come_out_in_order_with_their_bytes,
                  .timeout = 10) {
  ipc_ring_t *r = anon(65536, 0, *mode);
  for (unsigned i = 0; i < 2100; i++) { /* 2100: the last i pops too */
    push_pat(r, (i * 37) % 300, i);
    if (i % 3 == 2)
      for (unsigned j = i - 2; j <= i; j++)
        pop_pat(r, (j * 37) % 300, j, (int)(j % 3));
  }
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.pushed, 2100, "%s", mode_names[*mode]);
  cr_assert_eq(st.popped, 2100);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.used, 0);
  ipc_ring_close(r);
}

EVERY_MODE(zero_length_and_maximum_size_messages_round_trip)
ParameterizedTest(int *mode, ring,
                  zero_length_and_maximum_size_messages_round_trip,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode); /* max_message 512 */
  cr_assert_eq(stats_of(r).max_message, 512);
  tu_assert_ret(ipc_ring_push(r, NULL, 0, 0), 0);
  push_pat(r, 512, 7);
  push_pat(r, 0, 0);
  char buf[512];
  tu_assert_ret(ipc_ring_pop(r, buf, 0, 0), 0);
  pop_pat(r, 512, 7, 0);
  pop_pat(r, 0, 0, 1);
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  ipc_ring_close(r);

  /* The largest geometry allows: capacity / 2 - 8. */
  r = anon(4096, 2040, *mode);
  for (unsigned i = 0; i < 20; i++) {
    push_pat(r, 2040, i);
    pop_pat(r, 2040, i, (int)(i % 3));
  }
  ipc_ring_close(r);
}

EVERY_MODE(a_message_above_max_message_is_emsgsize_at_once_even_when_full)
ParameterizedTest(
    int *mode, ring,
    a_message_above_max_message_is_emsgsize_at_once_even_when_full,
    .timeout = 10) {
  ipc_ring_t *r = anon(4096, 100, *mode);
  static char big[4096];
  void *p = (void *)1;
  tu_assert_ret(ipc_ring_push(r, big, 101, 0), IPC_EMSGSIZE);
  while (ipc_ring_push(r, big, 100, 0) == 0) /* fill it */
    ;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push(r, big, 101, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_ring_push(r, big, sizeof big, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_ring_push(r, big, SIZE_MAX, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_ring_push_sync(r, big, 101, -1), IPC_EMSGSIZE);
  tu_assert_ret(ipc_ring_reserve(r, 101, &p, -1), IPC_EMSGSIZE);
  cr_assert_null(p);
  struct iovec iov = {big, 101};
  tu_assert_ret(ipc_ring_push_many(r, &iov, 1, -1), IPC_EMSGSIZE);
  cr_assert_lt(tu_now_ms() - t0, 200, "EMSGSIZE must not wait for room");
  ipc_ring_close(r);
}

EVERY_MODE(pop_with_a_too_small_buffer_is_emsgsize_and_the_message_stays)
ParameterizedTest(int *mode, ring,
                  pop_with_a_too_small_buffer_is_emsgsize_and_the_message_stays,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  push_pat(r, 100, 1);
  push_pat(r, 5, 2);
  char small[99];
  tu_assert_ret(ipc_ring_pop(r, small, sizeof small, 0), IPC_EMSGSIZE);
  tu_assert_ret(ipc_ring_pop(r, small, 0, -1), IPC_EMSGSIZE);
  cr_assert_eq(stats_of(r).depth, 2);
  pop_pat(r, 100, 1, 0);
  pop_pat(r, 5, 2, 0);
  ipc_ring_close(r);
}

/* Moves the (empty) ring from position *pos to the next position whose
 * offset in the data area is `to`, with filler messages that never wrap. */
static void advance_to(ipc_ring_t *r, uint64_t *pos, uint64_t cap, uint64_t max,
                       uint64_t to) {
  static unsigned char junk[4096];
  while ((*pos & (cap - 1)) != to) {
    uint64_t off = *pos & (cap - 1);
    uint64_t d = to > off ? to - off : cap - off; /* to `to` or to the end */
    if (d > max + 8)
      d = max + 8; /* records are 8..max+8 bytes; all multiples of 8 here */
    tu_assert_ret(ipc_ring_push(r, junk, d - 8, 0), 0);
    tu_assert_ret(ipc_ring_pop(r, junk, sizeof junk, 0), (ssize_t)(d - 8));
    *pos += d;
  }
}

/* The bytes a record of len takes, header and padding included. */
static uint64_t rec_bytes(uint64_t len) { return 8 + ((len + 7) & ~7ull); }

EVERY_MODE(wrap_around_at_every_alignment_keeps_messages_whole)
ParameterizedTest(int *mode, ring,
                  wrap_around_at_every_alignment_keeps_messages_whole,
                  .timeout = 30) {
  const uint64_t cap = 4096, max = 2040;
  ipc_ring_t *r = anon(cap, max, *mode);
  uint64_t pos = 0;
  unsigned seed = 0;
  for (uint64_t s = 0; s < cap; s += 8) {
    uint64_t room = cap - s; /* bytes before the end of the data area */
    /* Lengths around the end: exactly filling it, one byte (one record
     * slot) too many, every residue mod 8, and the extremes. */
    uint64_t lens[16];
    int n = 0;
    lens[n++] = 0;
    lens[n++] = 1;
    lens[n++] = max;
    for (uint64_t k = 0; k < 8; k++)
      if (room >= 8 + k && room - 8 - k <= max) /* ends 0..7 bytes early */
        lens[n++] = room - 8 - k;
    if (room - 8 + 1 <= max)
      lens[n++] = room - 8 + 1; /* needs a padding record first */
    if (room + 8 <= max)
      lens[n++] = room + 8;
    for (int i = 0; i < n; i++) {
      advance_to(r, &pos, cap, max, s);
      uint64_t size = rec_bytes(lens[i]);
      uint64_t pad = size > room ? room : 0;
      push_pat(r, lens[i], ++seed);
      ipc_ring_stats_t st = stats_of(r);
      cr_assert_eq(st.used, pad + size,
                   "%s, offset %llu, len %llu: used %llu, want %llu",
                   mode_names[*mode], (unsigned long long)s,
                   (unsigned long long)lens[i], (unsigned long long)st.used,
                   (unsigned long long)(pad + size));
      pop_pat(r, lens[i], seed, (int)((s / 8 + (uint64_t)i) % 3));
      pos += pad + size;
    }
    /* A wrapping record queued behind another one. */
    advance_to(r, &pos, cap, max, s);
    /* It fits while the first is queued if 2 * (room - 16) + 24 <= cap. */
    if (room > 16 && room - 16 - 8 + 1 <= max && 2 * (room - 16) + 24 <= cap) {
      uint64_t l2 = room - 16 - 8 + 1;
      push_pat(r, 5, ++seed);
      push_pat(r, l2, ++seed);
      pop_pat(r, 5, seed - 1, 0);
      pop_pat(r, l2, seed, (int)(s / 8 % 3));
      pos += 16 + (room - 16) + rec_bytes(l2);
    }
  }
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.used, 0);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.pushed, st.popped);
  ipc_ring_close(r);
}

EVERY_MODE(full_and_empty_boundaries_are_exact)
ParameterizedTest(int *mode, ring, full_and_empty_boundaries_are_exact,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  char buf[64];
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  /* 64 records of 8 + 56 bytes fill 4096 exactly: no wasted slot. */
  for (unsigned i = 0; i < 64; i++)
    push_pat(r, 56, i);
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.used, 4096);
  cr_assert_eq(st.depth, 64);
  tu_assert_ret(ipc_ring_push(r, buf, 0, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_push(r, buf, 56, 0), IPC_ETIMEDOUT);
  pop_pat(r, 56, 0, 0);
  tu_assert_ret(ipc_ring_push(r, buf, 57, 0), IPC_ETIMEDOUT); /* 72 > 64 */
  push_pat(r, 56, 64);
  tu_assert_ret(ipc_ring_push(r, buf, 0, 0), IPC_ETIMEDOUT);
  for (unsigned i = 1; i <= 64; i++)
    pop_pat(r, 56, i, (int)(i % 3));
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  st = stats_of(r);
  cr_assert_eq(st.used, 0);
  cr_assert_eq(st.depth, 0);
  /* Zero-length messages take 8 bytes each: 512 of them fill it. */
  for (unsigned i = 0; i < 512; i++)
    tu_assert_ret(ipc_ring_push(r, NULL, 0, 0), 0);
  tu_assert_ret(ipc_ring_push(r, NULL, 0, 0), IPC_ETIMEDOUT);
  cr_assert_eq(stats_of(r).depth, 512);
  for (unsigned i = 0; i < 512; i++)
    tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), 0);
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  ipc_ring_close(r);
}

EVERY_MODE(timeouts_are_kept_on_an_empty_and_on_a_full_ring)
ParameterizedTest(int *mode, ring,
                  timeouts_are_kept_on_an_empty_and_on_a_full_ring,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  char buf[512];
  const void *cp;
  void *p;
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_peek(r, &cp, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_pop_many(r, 8, copy_one, NULL, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50, "timeout 0 must not wait");
  t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 150), IPC_ETIMEDOUT);
  double took = tu_now_ms() - t0;
  cr_assert(took >= 149 && took < 1000, "pop(150 ms) took %.1f ms", took);

  while (ipc_ring_push(r, buf, 500, 0) == 0)
    ;
  t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push(r, buf, 500, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_reserve(r, 500, &p, 0), IPC_ETIMEDOUT);
  cr_assert_lt(tu_now_ms() - t0, 50, "timeout 0 must not wait");
  t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push(r, buf, 500, 150), IPC_ETIMEDOUT);
  took = tu_now_ms() - t0;
  cr_assert(took >= 149 && took < 1000, "push(150 ms) took %.1f ms", took);
  ipc_ring_close(r);
}

/* SIGALRM every `ms` milliseconds (0 stops it), to a handler without
 * SA_RESTART. Repeated because a wait that sleeps in slices (to check its
 * peers in between) misses a signal that lands between two slices: the
 * handler runs and the wait goes on. The next one interrupts it. */
static void alarm_every(int ms) {
  if (ms)
    tu_alarm_in(ms); /* installs the handler */
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = it.it_interval.tv_sec = ms / 1000;
  it.it_value.tv_usec = it.it_interval.tv_usec = (ms % 1000) * 1000;
  cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

EVERY_MODE(a_signal_interrupts_a_blocked_pop_or_push_with_eintr)
ParameterizedTest(int *mode, ring,
                  a_signal_interrupts_a_blocked_pop_or_push_with_eintr,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  char buf[512];
  push_str(r, "x"); /* both roles attached: the waits then check a peer */
  pop_str(r, "x");
  alarm_every(100);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 5000), IPC_EINTR);
  double took = tu_now_ms() - t0;
  alarm_every(0);
  cr_assert(took >= 90 && took < 2000, "EINTR after %.1f ms", took);
  cr_assert_geq(tu_alarms, 1);
  cr_assert_eq(stats_of(r).popped, 1, "an interrupted pop took nothing");

  while (ipc_ring_push(r, buf, 500, 0) == 0)
    ;
  uint64_t depth = stats_of(r).depth;
  alarm_every(100);
  t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push(r, buf, 500, 5000), IPC_EINTR);
  took = tu_now_ms() - t0;
  alarm_every(0);
  cr_assert(took >= 90 && took < 2000, "EINTR after %.1f ms", took);
  cr_assert_eq(stats_of(r).depth, depth, "an interrupted push added nothing");
  ipc_ring_close(r);
}

/* ------------------------------------------------------------ zero copy */

EVERY_MODE(reserve_then_commit_publishes_and_discard_drops)
ParameterizedTest(int *mode, ring,
                  reserve_then_commit_publishes_and_discard_drops,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  void *p = NULL;
  char buf[512];
  tu_assert_ret(ipc_ring_reserve(r, 300, &p, 0), 0);
  cr_assert_not_null(p);
  cr_assert_eq((uintptr_t)p % 8, 0, "payloads are 8-byte aligned");
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  pattern(p, 300, 9);
  /* One reservation at a time, and no push while it is open. */
  void *q = (void *)1;
  tu_assert_ret(ipc_ring_reserve(r, 10, &q, 0), IPC_EINVAL);
  cr_assert_null(q);
  tu_assert_ret(ipc_ring_push(r, "x", 1, 0), IPC_EINVAL);
  tu_assert_ret(ipc_ring_commit(r), 0);
  tu_assert_ret(ipc_ring_commit(r), IPC_EINVAL);
  tu_assert_ret(ipc_ring_discard(r), IPC_EINVAL);
  pop_pat(r, 300, 9, 0);

  tu_assert_ret(ipc_ring_reserve(r, 200, &p, 0), 0);
  memset(p, 'd', 200);
  tu_assert_ret(ipc_ring_discard(r), 0);
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_reserve(r, 0, &p, 0), 0);
  tu_assert_ret(ipc_ring_commit(r), 0);
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), 0);
  push_str(r, "after");
  pop_str(r, "after");
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.pushed, 3, "a discarded message is not counted pushed");
  cr_assert_eq(st.popped, 3);
  cr_assert_eq(st.used, 0);
  cr_assert_eq(st.abandoned, 0);
  ipc_ring_close(r);
}

EVERY_MODE(a_reservation_open_at_close_is_discarded)
ParameterizedTest(int *mode, ring, a_reservation_open_at_close_is_discarded,
                  .timeout = 10) {
  const char *name = rname("resclose");
  ipc_ring_t *c = named(name, 4096, 0, *mode), *w;
  tu_assert_ret(ipc_ring_open(&w, name, IPC_WRONLY), 0);
  push_str(w, "kept");
  void *p;
  tu_assert_ret(ipc_ring_reserve(w, 64, &p, 0), 0);
  memset(p, 'z', 64);
  tu_assert_ret(ipc_ring_close(w), 0);
  pop_str(c, "kept");
  char buf[128];
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 1000), IPC_EOF);
  ipc_ring_stats_t st = stats_of(c);
  cr_assert_eq(st.pushed, 1);
  cr_assert_eq(st.abandoned, 0, "a clean close abandons nothing");
  ipc_ring_close(c);
  ipc_ring_unlink(name);
}

EVERY_MODE(peek_shows_the_message_in_place_until_release)
ParameterizedTest(int *mode, ring,
                  peek_shows_the_message_in_place_until_release,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  push_pat(r, 77, 3);
  push_str(r, "second");
  const void *p = NULL, *p2 = (void *)1;
  tu_assert_ret(ipc_ring_peek(r, &p, 0), 77);
  cr_assert(pattern_ok(p, 77, 3));
  cr_assert_eq(stats_of(r).depth, 2, "a peeked message stays in the ring");
  tu_assert_ret(ipc_ring_peek(r, &p2, 0), IPC_EINVAL);
  char buf[128];
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_EINVAL);
  tu_assert_ret(ipc_ring_pop_many(r, 4, copy_one, NULL, 0), IPC_EINVAL);
  tu_assert_ret(ipc_ring_release(r), 0);
  tu_assert_ret(ipc_ring_release(r), IPC_EINVAL);
  cr_assert_eq(stats_of(r).depth, 1);
  tu_assert_ret(ipc_ring_peek(r, &p, 0), 6);
  cr_assert_arr_eq(p, "second", 6);
  tu_assert_ret(ipc_ring_release(r), 0);
  tu_assert_ret(ipc_ring_peek(r, &p, 0), IPC_ETIMEDOUT);
  cr_assert_null(p);
  ipc_ring_close(r);
}

Test(ring, mpmc_peek_holds_other_consumers_and_close_gives_the_message_back,
     .timeout = 10) {
  const char *name = rname("mpmcpeek");
  ipc_ring_t *w = named(name, 4096, 0, IPC_RING_MPMC), *c1, *c2;
  tu_assert_ret(ipc_ring_open(&c1, name, IPC_RDONLY), 0);
  tu_assert_ret(ipc_ring_open(&c2, name, IPC_RDONLY), 0);
  push_str(w, "a");
  push_str(w, "b");
  const void *p;
  tu_assert_ret(ipc_ring_peek(c1, &p, 0), 1);
  cr_assert_eq(*(const char *)p, 'a');
  char buf[8];
  tu_assert_ret(ipc_ring_pop(c2, buf, sizeof buf, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_close(c1), 0); /* without release */
  pop_str(c2, "a");
  pop_str(c2, "b");
  ipc_ring_close(c2);
  ipc_ring_close(w);
  ipc_ring_unlink(name);
}

/* --------------------------------------------------------------- batches */

struct collect {
  char msgs[64][16];
  size_t lens[64];
  size_t n;
  size_t stop_at; /* ask to stop after this many (0: never) */
};

static int collect(void *ctx, const void *msg, size_t len) {
  struct collect *c = ctx;
  cr_assert_lt(c->n, 64);
  cr_assert_leq(len, 16);
  memcpy(c->msgs[c->n], msg, len);
  c->lens[c->n] = len;
  c->n++;
  return c->stop_at && c->n == c->stop_at;
}

EVERY_MODE(push_many_and_pop_many_move_batches_in_order)
ParameterizedTest(int *mode, ring, push_many_and_pop_many_move_batches_in_order,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  char text[10][16];
  struct iovec iov[10];
  for (int i = 0; i < 10; i++) {
    snprintf(text[i], sizeof text[i], "msg-%d", i);
    iov[i].iov_base = text[i];
    iov[i].iov_len = strlen(text[i]);
  }
  tu_assert_ret(ipc_ring_push_many(r, iov, 0, 0), 0);
  tu_assert_ret(ipc_ring_push_many(r, iov, 10, 0), 10);
  cr_assert_eq(stats_of(r).pushed, 10);
  struct collect c;
  memset(&c, 0, sizeof c);
  tu_assert_ret(ipc_ring_pop_many(r, 0, collect, &c, 0), 0);
  tu_assert_ret(ipc_ring_pop_many(r, 4, collect, &c, 0), 4);
  c.stop_at = 6; /* the visitor stops the batch after the 2nd */
  tu_assert_ret(ipc_ring_pop_many(r, 100, collect, &c, 0), 2);
  c.stop_at = 0;
  tu_assert_ret(ipc_ring_pop_many(r, 100, collect, &c, 0), 4);
  cr_assert_eq(c.n, 10);
  for (int i = 0; i < 10; i++)
    cr_assert(c.lens[i] == iov[i].iov_len &&
                  memcmp(c.msgs[i], text[i], c.lens[i]) == 0,
              "message %d out of order or damaged", i);
  tu_assert_ret(ipc_ring_pop_many(r, 100, collect, &c, 0), IPC_ETIMEDOUT);
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.popped, 10);
  cr_assert_eq(st.used, 0);
  ipc_ring_close(r);
}

EVERY_MODE(
    pop_many_that_took_more_than_the_consumer_had_seen_leaves_it_consistent)
ParameterizedTest(
    int *mode, ring,
    pop_many_that_took_more_than_the_consumer_had_seen_leaves_it_consistent,
    .timeout = 10) {
  /* The consumer learns of "b" with "a"; "c" and "d" come later, and one
   * pop_many takes b, c and d. The next calls must start after d and see
   * only what is new: nothing, then "e" (found by the stress test). */
  ipc_ring_t *r = anon(4096, 0, *mode);
  for (int lap = 0; lap < 40; lap++) { /* later laps leave stale records */
    push_str(r, "a");
    push_str(r, "b");
    pop_str(r, "a");
    push_str(r, "c");
    push_str(r, "d");
    struct collect c;
    memset(&c, 0, sizeof c);
    tu_assert_ret(ipc_ring_pop_many(r, 10, collect, &c, 0), 3);
    cr_assert(c.lens[0] == 1 && c.msgs[0][0] == 'b' && c.msgs[2][0] == 'd');
    char buf[64];
    cr_assert_eq(ipc_ring_pop(r, buf, sizeof buf, 0), IPC_ETIMEDOUT,
                 "%s, lap %d: pop after pop_many found something",
                 mode_names[*mode], lap);
    push_pat(r, 100 + (size_t)lap, (unsigned)lap);
    pop_pat(r, 100 + (size_t)lap, (unsigned)lap, lap % 3);
  }
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.used, 0);
  ipc_ring_close(r);
}

EVERY_MODE(push_many_stops_at_a_full_ring_and_says_how_many_went_in)
ParameterizedTest(int *mode, ring,
                  push_many_stops_at_a_full_ring_and_says_how_many_went_in,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  static unsigned char bufs[100][56];
  struct iovec iov[100];
  for (unsigned i = 0; i < 100; i++) {
    pattern(bufs[i], 56, i);
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = 56;
  }
  tu_assert_ret(ipc_ring_push_many(r, iov, 100, 0), 64); /* 64 * 64 = 4096 */
  tu_assert_ret(ipc_ring_push_many(r, iov + 64, 36, 0), IPC_ETIMEDOUT);
  tu_assert_ret(ipc_ring_push_many(r, iov + 64, 36, 100), IPC_ETIMEDOUT);
  for (unsigned i = 0; i < 64; i++)
    pop_pat(r, 56, i, (int)(i % 3));
  tu_assert_ret(ipc_ring_push_many(r, iov + 64, 36, 0), 36);
  for (unsigned i = 64; i < 100; i++)
    pop_pat(r, 56, i, 0);
  ipc_ring_close(r);
}

Test(ring, push_many_refuses_a_first_message_above_max_message, .timeout = 10) {
  ipc_ring_t *r = anon(4096, 100, IPC_RING_SPSC);
  static char big[200];
  struct iovec iov[2] = {{big, 101}, {big, 1}};
  tu_assert_ret(ipc_ring_push_many(r, iov, 2, -1), IPC_EMSGSIZE);
  cr_assert_eq(stats_of(r).pushed, 0);
  ipc_ring_close(r);
}

/* ------------------------------------------------------------- push_sync */

EVERY_MODE(push_sync_returns_only_after_the_consumer_took_the_message)
ParameterizedTest(int *mode, ring,
                  push_sync_returns_only_after_the_consumer_took_the_message,
                  .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  int fds[2];
  note_pipe(fds);
  pid_t pid = fork_child();
  if (pid == 0) {
    char buf[64];
    note_send(fds[1]);
    usleep(300 * 1000);
    if (ipc_ring_pop(r, buf, sizeof buf, 2000) != 5 || memcmp(buf, "synch", 5))
      _exit(1);
    ipc_ring_close(r);
    _exit(0);
  }
  cr_assert(note_wait(fds[0], 5000));
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push_sync(r, "synch", 5, -1), 0);
  double took = tu_now_ms() - t0;
  cr_assert_geq(took, 250, "push_sync returned after %.1f ms, before the pop",
                took);
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.popped, 1, "push_sync returned with the message not taken");
  cr_assert_eq(st.depth, 0);
  expect_child_ok(pid);
  close(fds[0]);
  close(fds[1]);
  ipc_ring_close(r);
}

Test(ring, push_sync_times_out_with_the_message_still_queued, .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, IPC_RING_SPSC);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push_sync(r, "later", 5, 100), IPC_ETIMEDOUT);
  cr_assert_geq(tu_now_ms() - t0, 99);
  cr_assert_eq(stats_of(r).depth, 1);
  pop_str(r, "later");
  ipc_ring_close(r);
}

Test(ring, push_sync_to_a_consumer_that_is_sigkilled_is_epeerdead,
     .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, IPC_RING_SPSC);
  int fds[2];
  note_pipe(fds);
  pid_t pid = fork_child();
  if (pid == 0) {
    char buf[8];
    /* Attach as the consumer (the timeout is the point), then die. */
    if (ipc_ring_pop(r, buf, sizeof buf, 0) != IPC_ETIMEDOUT)
      _exit(1);
    note_send(fds[1]);
    pause();
    _exit(2);
  }
  cr_assert(note_wait(fds[0], 5000));
  kill(pid, SIGKILL);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push_sync(r, "nobody", 6, 5000), IPC_EPEERDEAD);
  cr_assert_lt(tu_now_ms() - t0, 500);
  expect_child_killed(pid);
  close(fds[0]);
  close(fds[1]);
  ipc_ring_close(r);
}

/* ----------------------------------------------------------------- peers */

EVERY_MODE(messages_of_a_producer_that_closed_come_out_then_eof)
ParameterizedTest(int *mode, ring,
                  messages_of_a_producer_that_closed_come_out_then_eof,
                  .timeout = 10) {
  const char *name = rname("eof");
  ipc_ring_t *c = named(name, 4096, 0, *mode);
  pid_t pid = fork_child();
  if (pid == 0) {
    ipc_ring_t *w;
    if (ipc_ring_open(&w, name, IPC_WRONLY) != 0)
      _exit(1);
    for (unsigned i = 0; i < 3; i++)
      if (ipc_ring_push(w, "abc", 3, 1000) != 0)
        _exit(2);
    ipc_ring_close(w);
    _exit(0);
  }
  expect_child_ok(pid);
  char buf[8];
  for (int i = 0; i < 3; i++)
    tu_assert_bytes(buf, ipc_ring_pop(c, buf, sizeof buf, 1000), "abc");
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 1000), IPC_EOF);
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, -1), IPC_EOF);
  ipc_ring_close(c);
  ipc_ring_unlink(name);
}

EVERY_MODE(a_consumer_waiting_when_the_only_producer_closes_gets_eof)
ParameterizedTest(int *mode, ring,
                  a_consumer_waiting_when_the_only_producer_closes_gets_eof,
                  .timeout = 10) {
  const char *name = rname("waiteof");
  ipc_ring_t *c = named(name, 4096, 0, *mode);
  pid_t pid = fork_child();
  if (pid == 0) {
    ipc_ring_t *w;
    if (ipc_ring_open(&w, name, IPC_WRONLY) != 0)
      _exit(1);
    if (ipc_ring_push(w, "hello", 5, 1000) != 0)
      _exit(2);
    usleep(200 * 1000); /* the parent is waiting by now */
    ipc_ring_close(w);
    usleep(300 * 1000); /* still alive: EOF must come from the close */
    _exit(0);
  }
  pop_str(c, "hello");
  double t0 = tu_now_ms();
  char buf[8];
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, -1), IPC_EOF);
  double took = tu_now_ms() - t0;
  cr_assert(took > 50 && took < 400, "EOF after %.1f ms", took);
  expect_child_ok(pid);
  ipc_ring_close(c);
  ipc_ring_unlink(name);
}

EVERY_MODE(a_consumer_waiting_when_the_only_producer_is_killed_gets_epeerdead)
ParameterizedTest(
    int *mode, ring,
    a_consumer_waiting_when_the_only_producer_is_killed_gets_epeerdead,
    .timeout = 10) {
  const char *name = rname("waitdead");
  ipc_ring_t *c = named(name, 4096, 0, *mode);
  double *died = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(died, MAP_FAILED);
  pid_t pid = fork_child();
  if (pid == 0) {
    ipc_ring_t *w;
    if (ipc_ring_open(&w, name, IPC_WRONLY) != 0)
      _exit(1);
    if (ipc_ring_push(w, "hello", 5, 1000) != 0)
      _exit(2);
    usleep(200 * 1000);
    *died = tu_now_ms();
    raise(SIGKILL);
    _exit(3);
  }
  pop_str(c, "hello");
  char buf[8];
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, -1), IPC_EPEERDEAD);
  double late = tu_now_ms() - *died;
  cr_assert_lt(late, 500, "EPEERDEAD %.1f ms after the death", late);
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 0), IPC_EPEERDEAD);
  expect_child_killed(pid);
  ipc_ring_stats_t st = stats_of(c);
  cr_assert_eq(st.producers, 0);
  cr_assert_eq(st.abandoned, 0);
  munmap(died, 4096);
  ipc_ring_close(c);
  ipc_ring_unlink(name);
}

EVERY_MODE(
    a_producer_waiting_on_a_full_ring_when_the_consumer_is_killed_gets_epeerdead)
ParameterizedTest(
    int *mode, ring,
    a_producer_waiting_on_a_full_ring_when_the_consumer_is_killed_gets_epeerdead,
    .timeout = 10) {
  ipc_ring_t *r = anon(4096, 0, *mode);
  int fds[2];
  note_pipe(fds);
  pid_t pid = fork_child();
  if (pid == 0) {
    char buf[8];
    if (ipc_ring_pop(r, buf, sizeof buf, 0) != IPC_ETIMEDOUT) /* attach */
      _exit(1);
    note_send(fds[1]);
    pause();
    _exit(2);
  }
  cr_assert(note_wait(fds[0], 5000));
  char buf[500];
  memset(buf, 'f', sizeof buf);
  while (ipc_ring_push(r, buf, sizeof buf, 0) == 0)
    ;
  kill(pid, SIGKILL);
  double t0 = tu_now_ms();
  tu_assert_ret(ipc_ring_push(r, buf, sizeof buf, -1), IPC_EPEERDEAD);
  cr_assert_lt(tu_now_ms() - t0, 500);
  expect_child_killed(pid);
  close(fds[0]);
  close(fds[1]);
  ipc_ring_close(r);
}

EVERY_MODE(a_producer_killed_between_reserve_and_commit_is_skipped_and_counted)
ParameterizedTest(
    int *mode, ring,
    a_producer_killed_between_reserve_and_commit_is_skipped_and_counted,
    .timeout = 10) {
  const char *name = rname("abandon");
  ipc_ring_t *c = named(name, 4096, 0, *mode);
  int fds[2];
  note_pipe(fds);
  pid_t pid = fork_child();
  if (pid == 0) {
    ipc_ring_t *w;
    void *p;
    if (ipc_ring_open(&w, name, IPC_WRONLY) != 0)
      _exit(1);
    if (ipc_ring_push(w, "before", 6, 1000) != 0)
      _exit(2);
    if (ipc_ring_reserve(w, 100, &p, 1000) != 0)
      _exit(3);
    memset(p, 'h', 50); /* half written */
    note_send(fds[1]);
    pause(); /* stopped between reserve and commit */
    _exit(4);
  }
  cr_assert(note_wait(fds[0], 5000), "the producer never reserved");
  if (*mode != IPC_RING_SPSC) {
    /* Another producer writes behind the abandoned record. */
    push_str(c, "after");
  }
  kill(pid, SIGKILL);
  expect_child_killed(pid);
  pop_str(c, "before");
  char buf[128];
  double t0 = tu_now_ms();
  if (*mode != IPC_RING_SPSC) {
    ssize_t n = ipc_ring_pop(c, buf, sizeof buf, 2000);
    tu_assert_bytes(buf, n, "after");
    cr_assert_lt(tu_now_ms() - t0, 500, "the dead record held the consumer");
    ipc_ring_close(c); /* c was the other producer: it leaves cleanly */
    tu_assert_ret(ipc_ring_open(&c, name, IPC_RDONLY), 0);
  }
  /* The only producer is gone (and left dirty): no message, no hang. */
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 2000),
                *mode == IPC_RING_SPSC ? IPC_EPEERDEAD : IPC_EOF);
  ipc_ring_stats_t st = stats_of(c);
  cr_assert_eq(st.abandoned, 1, "%s: abandoned %llu", mode_names[*mode],
               (unsigned long long)st.abandoned);
  cr_assert_eq(st.depth, 0);
  cr_assert_eq(st.used, 0, "the dead record's room came back");
  /* A new producer carries on. */
  ipc_ring_t *w2;
  tu_assert_ret(ipc_ring_open(&w2, name, IPC_WRONLY), 0);
  push_str(w2, "new");
  pop_str(c, "new");
  cr_assert_eq(stats_of(c).abandoned, 1);
  close(fds[0]);
  close(fds[1]);
  ipc_ring_close(w2);
  ipc_ring_close(c);
  ipc_ring_unlink(name);
}

Test(ring, a_forked_child_uses_the_parent_anonymous_ring_handle,
     .timeout = 10) {
  /* SPSC: the child produces through its copy of the parent's handle. */
  ipc_ring_t *r = anon(4096, 0, IPC_RING_SPSC);
  pid_t pid = fork_child();
  if (pid == 0) {
    unsigned char buf[200];
    for (unsigned i = 0; i < 1000; i++) {
      pattern(buf, i % 200, i);
      if (ipc_ring_push(r, buf, i % 200, 2000) != 0)
        _exit(1);
    }
    ipc_ring_close(r);
    _exit(0);
  }
  for (unsigned i = 0; i < 1000; i++)
    pop_pat(r, i % 200, i, (int)(i % 3));
  char buf[8];
  tu_assert_ret(ipc_ring_pop(r, buf, sizeof buf, 2000), IPC_EOF);
  expect_child_ok(pid);
  ipc_ring_close(r);

  /* MPSC: parent and child both produce; the parent consumes. The child
   * does not inherit the parent's producer slot or its reservation. */
  r = anon(4096, 0, IPC_RING_MPSC);
  push_str(r, "parent");
  void *p;
  tu_assert_ret(ipc_ring_reserve(r, 8, &p, 0), 0);
  pid = fork_child();
  if (pid == 0) {
    if (ipc_ring_commit(r) != IPC_EINVAL) /* not the child's reservation */
      _exit(1);
    if (ipc_ring_push(r, "child", 5, 1000) != 0)
      _exit(2);
    ipc_ring_close(r);
    _exit(0);
  }
  expect_child_ok(pid);
  memcpy(p, "reserved", 8);
  tu_assert_ret(ipc_ring_commit(r), 0);
  pop_str(r, "parent");
  pop_str(r, "reserved");
  pop_str(r, "child");
  ipc_ring_stats_t st = stats_of(r);
  cr_assert_eq(st.pushed, 3);
  cr_assert_eq(st.producers, 1, "the child's slot was freed at its close");
  ipc_ring_close(r);
}

Test(ring, stats_count_messages_bytes_and_live_peers, .timeout = 10) {
  const char *name = rname("stats");
  ipc_ring_t *w = named(name, 8192, 1000, IPC_RING_MPMC), *c;
  tu_assert_ret(ipc_ring_open(&c, name, IPC_RDONLY), 0);
  ipc_ring_stats_t st = stats_of(c);
  cr_assert_eq(st.capacity, 8192);
  cr_assert_eq(st.max_message, 1000);
  cr_assert_eq(st.mode, IPC_RING_MPMC);
  for (unsigned i = 0; i < 5; i++)
    push_pat(w, 10, i); /* 8 + 16 bytes each */
  st = stats_of(w);
  cr_assert_eq(st.pushed, 5);
  cr_assert_eq(st.depth, 5);
  cr_assert_eq(st.used, 5 * 24);
  cr_assert_eq(st.producers, 1);
  cr_assert_eq(st.consumers, 0);
  pop_pat(c, 10, 0, 0);
  pop_pat(c, 10, 1, 1);
  st = stats_of(w);
  cr_assert_eq(st.popped, 2);
  cr_assert_eq(st.depth, 3);
  cr_assert_eq(st.used, 3 * 24);
  cr_assert_eq(st.consumers, 1);
  /* A consumer that slept counts a wait. */
  uint64_t waits = st.waits;
  char buf[64];
  for (int i = 0; i < 3; i++)
    tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 0), 10);
  tu_assert_ret(ipc_ring_pop(c, buf, sizeof buf, 50), IPC_ETIMEDOUT);
  cr_assert_gt(stats_of(c).waits, waits);
  ipc_ring_close(c);
  cr_assert_eq(stats_of(w).consumers, 0);
  ipc_ring_close(w);
  ipc_ring_unlink(name);
}

/* ----------------------------------------------------- corrupt segments */

/* Runs `op` (0 pop, 1 push, 2 peek, 3 pop_many, 4 reserve) once with
 * timeout 0 and returns its result. */
static long long ring_op(ipc_ring_t *r, int op) {
  static char buf[1 << 16];
  const void *cp;
  void *p;
  switch (op) {
  case 0:
    return ipc_ring_pop(r, buf, sizeof buf, 0);
  case 1:
    return ipc_ring_push(r, "ping", 4, 0);
  case 2: {
    ssize_t n = ipc_ring_peek(r, &cp, 0);
    if (n >= 0)
      ipc_ring_release(r);
    return n;
  }
  case 3:
    return ipc_ring_pop_many(r, 16, copy_one,
                             &(struct one){(unsigned char *)buf, 0}, 0);
  default: {
    int rc = ipc_ring_reserve(r, 4, &p, 0);
    if (rc == 0)
      ipc_ring_discard(r);
    return rc;
  }
  }
}

EVERY_MODE(garbage_positions_written_by_another_process_give_ecorrupt)
ParameterizedTest(int *mode, ring,
                  garbage_positions_written_by_another_process_give_ecorrupt,
                  .timeout = 10) {
  const char *name = rname("badpos");
  struct {
    size_t off;
    uint64_t value;
    int op; /* the side that reads this word */
    const char *what;
  } cases[] = {
      {OFF_TAIL, 24 + 3, 0, "unaligned tail"},
      {OFF_TAIL, 24 + 4096 * 3, 0, "tail more than capacity ahead"},
      {OFF_TAIL, 0x00ffffffffffff00ull, 3, "tail far in the future"},
      {OFF_HEAD, 24 + 5, 1, "unaligned head"},
      {OFF_HEAD, 24 + 8192, 1, "head ahead of the tail"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ipc_ring_t *r = named(name, 4096, 0, *mode);
    /* Attach both roles and leave data in the ring. */
    push_str(r, "one");
    push_str(r, "two");
    push_str(r, "three");
    pop_str(r, "one");
    scribble_u64(name, cases[i].off, cases[i].value);
    /* Unlinked before the calls, so that even a crash leaves nothing
     * behind; the handle stays attached. */
    tu_assert_ret(ipc_ring_unlink(name), 0);
    /* A single producer or consumer caches its own position and trusts
     * nothing else; the other side's word is what gets checked. Fill or
     * drain until that check must happen. */
    long long rc = 0;
    for (int k = 0; k < 600 && rc >= 0; k++)
      rc = ring_op(r, cases[i].op);
    cr_assert_eq(rc, IPC_ECORRUPT, "%s, %s: got %lld (%s)", mode_names[*mode],
                 cases[i].what, rc, tu_name(rc));
    /* The handle stays poisoned, and says so at every call. */
    for (int op = 0; op < 5; op++)
      cr_assert_eq(ring_op(r, op), IPC_ECORRUPT, "%s, op %d after poison",
                   cases[i].what, op);
    ipc_ring_stats_t st;
    tu_assert_ret(ipc_ring_stats(r, &st), IPC_ECORRUPT);
    ipc_ring_close(r);
  }
  cr_assert_not(exists(name));
}

EVERY_MODE(garbage_record_headers_written_by_another_process_give_ecorrupt)
ParameterizedTest(
    int *mode, ring,
    garbage_record_headers_written_by_another_process_give_ecorrupt,
    .timeout = 10) {
  const char *name = rname("badrec");
  struct {
    uint64_t header;
    const char *what;
  } cases[] = {
      {REC(3, 0), "type 0"},
      {REC(3, 9), "unknown type"},
      {REC(1000, TYPE_DATA), "length past the tail"},
      {REC(0xfffffff0u, TYPE_DATA), "length of 4 GB"},
      {REC(600, TYPE_PAD), "padding past the tail"},
      {REC(3, TYPE_PAD) | REC_BUSY_BIT | (99ull << 32), "busy, bad slot"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int way = 0; way < 3; way++) {
      ipc_ring_t *r = named(name, 4096, 0, *mode);
      push_pat(r, 100, 1); /* 8 + 104: the second record is at 112 */
      push_pat(r, 500, 2);
      pop_pat(r, 100, 1, 0);
      scribble_u64(name, DATA_OFFSET + 112, cases[i].header);
      tu_assert_ret(ipc_ring_unlink(name), 0); /* nothing left if we crash */
      long long rc = ring_op(r, way == 0 ? 0 : way == 1 ? 2 : 3);
      cr_assert_eq(rc, IPC_ECORRUPT, "%s, %s, way %d: got %lld (%s)",
                   mode_names[*mode], cases[i].what, way, rc, tu_name(rc));
      ipc_ring_close(r);
    }
  }
  /* A message longer than max_message, even one that fits the ring. */
  ipc_ring_t *r = named(name, 4096, 100, *mode);
  push_pat(r, 100, 1);
  push_pat(r, 100, 2);
  push_pat(r, 100, 3);
  pop_pat(r, 100, 1, 0);
  scribble_u64(name, DATA_OFFSET + 112, REC(200, TYPE_DATA));
  tu_assert_ret(ipc_ring_unlink(name), 0);
  tu_assert_ret(ring_op(r, 0), IPC_ECORRUPT);
  ipc_ring_close(r);
  cr_assert_not(exists(name));
}

EVERY_MODE(random_garbage_over_the_whole_segment_never_crashes)
ParameterizedTest(int *mode, ring,
                  random_garbage_over_the_whole_segment_never_crashes,
                  .timeout = 60) {
  const char *name = rname("garbage");
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)*mode;
  for (int round = 0; round < 60; round++) {
    ipc_ring_t *r = named(name, 4096, 0, *mode);
    ipc_ring_t *c;
    tu_assert_ret(ipc_ring_open(&c, name, 0), 0);
    for (unsigned i = 0; i < 20; i++)
      push_pat(r, i * 13 % 200, i);
    pop_pat(r, 0, 0, 0);
    /* Another process overwrites a random stretch: the positions, the
     * slots, the records, or everything past the geometry. */
    static unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      junk[i] = (unsigned char)seed;
      if (round % 4 == 1)
        junk[i] &= 0x0f; /* small values look more like real ones */
    }
    size_t off = round % 3 == 0   ? 64 + (seed % 4000)
                 : round % 3 == 1 ? DATA_OFFSET + (seed % 4000) / 8 * 8
                                  : 64;
    size_t len = round % 3 == 2 ? 8192 - 64 : 8 + seed % 200;
    if (off + len > 8192)
      len = 8192 - off;
    scribble(name, off, junk, len);
    tu_assert_ret(ipc_ring_unlink(name), 0); /* nothing left if we crash */
    for (int k = 0; k < 50; k++) {
      ipc_ring_t *h = k % 2 ? r : c;
      long long rc = ring_op(h, k % 5);
      cr_assert(rc >= 0 || rc == IPC_ECORRUPT || rc == IPC_ETIMEDOUT ||
                    rc == IPC_EBUSY || rc == IPC_EOF || rc == IPC_EPEERDEAD ||
                    rc == IPC_EINVAL,
                "round %d, op %d: unexpected %lld (%s)", round, k % 5, rc,
                tu_name(rc));
      if (rc >= 0 && k % 5 != 1 && k % 5 != 4)
        cr_assert_leq(rc, 512, "a message longer than max_message");
      ipc_ring_stats_t st;
      ipc_ring_stats(h, &st);
      cr_assert_eq(st.capacity, 4096);
    }
    ipc_ring_close(c);
    ipc_ring_close(r);
  }
}

/* Cuts the named segment to `size` bytes from another process. */
static void truncate_from_child(const char *name, off_t size) {
  pid_t pid = fork_child();
  if (pid == 0) {
    int fd = shm_open(name, O_RDWR, 0);
    _exit(fd >= 0 && ftruncate(fd, size) == 0 ? 0 : 1);
  }
  expect_child_ok(pid);
}

EVERY_MODE(a_segment_truncated_by_another_process_gives_ecorrupt_not_sigbus)
ParameterizedTest(
    int *mode, ring,
    a_segment_truncated_by_another_process_gives_ecorrupt_not_sigbus,
    .timeout = 10) {
  const char *name = rname("truncated");
  static const off_t sizes[] = {4096, 0}; /* data gone; everything gone */
  for (int i = 0; i < 2; i++) {
    /* Not reserve: with one producer it touches no shared byte before the
     * caller writes the payload, so it cannot notice. */
    for (int op = 0; op < 4; op++) {
      ipc_ring_t *r = named(name, 8192, 0, *mode);
      push_str(r, "one");
      push_str(r, "two");
      pop_str(r, "one");
      truncate_from_child(name, sizes[i]);
      tu_assert_ret(ipc_ring_unlink(name), 0); /* nothing left if we die */
      long long rc = ring_op(r, op);
      cr_assert_eq(rc, IPC_ECORRUPT,
                   "%s, cut to %lld bytes, op %d: got %lld (%s)",
                   mode_names[*mode], (long long)sizes[i], op, rc, tu_name(rc));
      ipc_ring_stats_t st;
      tu_assert_ret(ipc_ring_stats(r, &st), IPC_ECORRUPT);
      tu_assert_ret(ipc_ring_close(r), 0);
    }
  }
  cr_assert_not(exists(name));
}
