/* bench/ring.c: the shared-memory ring against the kernel's mechanisms (pipe,
 * Unix stream socket, POSIX and System V message queues), Concurrency Kit's
 * ck_ring and memcpy, with producer and consumer in two processes pinned to
 * two CPUs; then round trips against a bare cache-line ping-pong. Prints
 * medians, the target ratios with PASS/MISS; -o FILE appends JSON lines. */
// link: -lck -lrt
#include "bench.h"

#include <ck_ring.h>
#include <fcntl.h>
#include <math.h>
#include <mqueue.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* ------------------------------------------------------------ settings */

enum {
  RING,       /* ipc_ring_push / ipc_ring_pop, timeout -1 */
  RING_BATCH, /* ipc_ring_push_many / ipc_ring_pop_many */
  CK,         /* ck_ring SPSC of slot numbers into shared payload slots */
  PIPE,       /* write(2) / read(2) of whole messages */
  SOCK,       /* the same over a Unix stream socketpair */
  PMQ,        /* mq_send / mq_receive */
  SVMQ,       /* msgsnd / msgrcv */
  NIMPL
};
static const char *const kind_names[NIMPL] = {
    "ring single", "ring batched", "ck_ring", "pipe",
    "unix socket", "posix mq",     "sysv mq"};

/* A message size, the ring capacity (every mechanism gets a buffer of about
 * that size where the kernel allows it), and the messages of the warm-up
 * transfer for the shared-memory kinds and the kernel kinds. The warm-up's
 * rate sizes the measured transfers to about RUN_S seconds each (quick
 * mode measures with the warm-up's count instead). */
struct load {
  size_t size, capacity;
  long warm_shm, warm_sys;
};
static const struct load loads[] = {
    {64, 65536, 40000, 4000},
    {65536, 1 << 20, 200, 100},
};
#define RUN_S 0.2
/* A run during which other tasks waited for a CPU more than this share of
 * its time is taken again, up to TRIES times; the least contended counts. */
#define CONTENDED 0.05
#define TRIES 3
/* No run takes nearly this long: a side is stuck (see on_signal). */
#define STUCK_S 60
#define NLOADS (sizeof loads / sizeof loads[0])
#define MAX_BATCH 32

/* Round trips of a 64-byte message. */
enum { RT_FLOOR, RT_MSG_FLOOR, RT_RING_BUSY, RT_RING_BLOCK, RT_PIPE, NRT };
static const char *const rt_names[NRT] = {"floor (cache line)",
                                          "floor (64 B + header)", "ring busy",
                                          "ring blocking", "pipe"};
#define RT_SIZE 64
static const long rt_warm_trips[NRT] = {2000, 2000, 2000, 2000, 500};

/* The message floor: per direction a region of MSG_FLOOR_SLOTS records of
 * an 8-byte header (the trip's number + 1) and RT_SIZE payload bytes,
 * packed as the ring packs them. No software around it: the least any
 * in-band-header protocol pays for a 64-byte message. */
#define MSG_FLOOR_REC (8 + RT_SIZE)
#define MSG_FLOOR_SLOTS 900
#define MSG_FLOOR_REGION 65536

/* memcpy: source and destination halves of this working set. */
#define MEMCPY_SET (256u << 20)
#define MEMCPY_QUICK_SET (16u << 20)

static int cpu_producer = -1, cpu_consumer = -1; /* -1: not pinned */

/* -k and -s: which rows and which sections run (all by default). The keys
 * of the throughput rows (in the order of the kinds, memcpy last), of the
 * round trips, and of the sections. */
static const char *const kind_keys[NIMPL + 1] = {
    "single", "batched", "ck", "pipe", "sock", "pmq", "svmq", "memcpy"};
static const char *const rt_keys[] = {"floor", "msgfloor", "busy", "blocking",
                                      "rtpipe"};
static const char *const section_keys[] = {"64", "64k", "rt"};
static int kind_off[NIMPL + 1], rt_off[NRT], section_off[3];

/* Turns on the key of `keys` that names [p, p + len): 1 if one did. */
static int key_on(const char *p, size_t len, const char *const *keys, int n,
                  int *off) {
  int found = 0;
  for (int i = 0; i < n; i++)
    if (strlen(keys[i]) == len && strncmp(p, keys[i], len) == 0)
      off[i] = 0, found = 1;
  return found;
}

/* -k LIST: only the rows named; -s LIST: only the sections named. */
static int ring_opt(int opt, const char *list) {
  if (opt == 's') {
    for (int i = 0; i < 3; i++)
      section_off[i] = 1;
  } else {
    for (int i = 0; i <= NIMPL; i++)
      kind_off[i] = 1;
    for (int i = 0; i < NRT; i++)
      rt_off[i] = 1;
  }
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    int found = opt == 's' ? key_on(p, len, section_keys, 3, section_off)
                           : key_on(p, len, kind_keys, NIMPL + 1, kind_off) |
                                 key_on(p, len, rt_keys, NRT, rt_off);
    if (!found)
      return -1;
    p += len + (p[len] == ',');
  }
  return 0;
}
static int svmq_live = -1; /* a System V queue to remove if we die */

/* ------------------------------------------------------------- helpers */

static void cleanup(void) {
  if (svmq_live >= 0 && getpid() == bench.parent)
    msgctl(svmq_live, IPC_RMID, NULL);
  svmq_live = -1;
}

/* SIGINT, SIGTERM, SIGHUP, and SIGALRM when a transfer hangs (a side
 * stuck for STUCK_S seconds): remove the System V queue, then die of the
 * signal. */
static void on_signal(int sig) {
  static const char stuck[] = "bench/ring: a transfer is stuck, giving up\n";
  if (sig == SIGALRM && write(2, stuck, sizeof stuck - 1) < 0) {
    /* nothing else to tell it with */
  }
  if (svmq_live >= 0)
    msgctl(svmq_live, IPC_RMID, NULL);
  signal(sig, SIG_DFL);
  raise(sig);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* The first two CPUs we may run on: the producer's and the consumer's. */
static void choose_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) < 0)
    bench_die("sched_getaffinity", -errno);
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &set))
      continue;
    if (cpu_producer < 0)
      cpu_producer = c;
    else if (cpu_consumer < 0)
      cpu_consumer = c;
  }
  if (cpu_consumer < 0)
    cpu_producer = -1; /* one CPU: pinning both there would only hurt */
}

static void *shared_map(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED)
    bench_die("mmap", -errno);
  return p;
}

static long read_long(const char *path, long fallback) {
  FILE *f = fopen(path, "r");
  long v;
  if (!f)
    return fallback;
  if (fscanf(f, "%ld", &v) != 1)
    v = fallback;
  fclose(f);
  return v;
}

/* -------------------------------------------------------- the children */

/* Forks the other side, pinned to the consumer's CPU and killed if we die.
 * Returns the pid in the parent (and *ack the read end of its channel of
 * one-byte words), 0 in the child (*ack the write end). */
static pid_t child_start(int *ack) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    bench_die("pipe2", -errno);
  pid_t pid = bench_fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != bench.parent)
      _exit(4);
    bench_pin(cpu_consumer);
    close(p[0]);
    *ack = p[1];
    return 0;
  }
  close(p[1]);
  *ack = p[0];
  alarm(STUCK_S); /* disarmed once the child is reaped */
  return pid;
}

/* In the child: tells the parent a step is done; on failure the child
 * goes (the parent sees it as an early end). */
static void child_say(int ack, char word) {
  if (bench_write_all(ack, &word, 1) < 0)
    _exit(2);
}

static void parent_hear(int ack, const char *what) {
  char word;
  int rc = bench_read_all(ack, &word, 1);
  if (rc < 0)
    bench_die(what, rc);
}

/* Contention: the share of a measured run's wall time during which some
 * task on the machine was ready to run but had no CPU (the "some" line of
 * /proc/pressure/cpu, Linux's pressure stall information). Both our sides
 * own a CPU each, so on an idle machine it stays near 0; another program
 * that wants a CPU during the run shows here, and such a run is taken
 * again (run_load, run_round_trips). -1 when the kernel has no PSI. */
static double contention = -1;

static long long psi_some_us(void) {
  char buf[256];
  int fd = open("/proc/pressure/cpu", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  const char *t = strstr(buf, "total=");
  return t ? atoll(t + 6) : -1;
}

/* Brackets a measured interval: call with the value from the start. */
static void contention_end(long long start_us, double dt) {
  long long end_us = psi_some_us();
  contention = start_us < 0 || end_us < 0
                   ? -1
                   : (double)(end_us - start_us) / (dt * 1e6);
}

static void child_reap(pid_t pid, int ack, const char *what) {
  close(ack);
  bench_reap(pid, what, "child");
  alarm(0);
}

/* ------------------------------------------------------------ channels */

/* The start of the ck_ring mapping: the ring struct, padded; its entries
 * (slot numbers) and then the payload slots follow in the same shared
 * mapping, made before the fork. */
struct ck_shm {
  ck_ring_t ring;
  char pad[256 - sizeof(ck_ring_t)];
};

/* One transfer's channel, made before the fork so both sides inherit it. */
struct chan {
  int impl;
  size_t size;  /* message size */
  size_t part;  /* bytes per send(2)-like call: size, or the queue's limit */
  size_t batch; /* ring batched: messages per call */
  ipc_ring_t *ring;
  void *ck_map;
  size_t ck_len;
  ck_ring_t *ck;
  ck_ring_buffer_t *ck_buf;
  char *ck_slots;
  unsigned ck_n;
  int fd[2]; /* pipe and socket: [0] the consumer's end, [1] the producer's */
  mqd_t mq;
  int msqid;
};

/* A POSIX queue for parts of at most `size` bytes: as large as the system
 * allows (msgsize_max, msg_max, RLIMIT_MSGQUEUE), unlinked at once. */
static void pmq_open(struct chan *ch, size_t size) {
  long msgsize_max = read_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
  long msg_max = read_long("/proc/sys/fs/mqueue/msg_max", 10);
  char name[64];
  snprintf(name, sizeof name, "/ipc-bench-ring-%d", (int)getpid());
  struct mq_attr attr = {0};
  attr.mq_msgsize = (long)size < msgsize_max ? (long)size : msgsize_max;
  attr.mq_maxmsg = msg_max;
  for (;;) {
    ch->mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (ch->mq != (mqd_t)-1)
      break;
    if (errno != EMFILE || attr.mq_maxmsg == 1) /* EMFILE: RLIMIT_MSGQUEUE */
      bench_die("mq_open", -errno);
    attr.mq_maxmsg /= 2;
  }
  mq_unlink(name); /* nothing left behind, whatever happens next */
  ch->part = (size_t)attr.mq_msgsize;
}

/* A private System V queue, parts of at most msgmax bytes. */
static void svmq_open(struct chan *ch, size_t size) {
  long msgmax = read_long("/proc/sys/kernel/msgmax", 8192);
  ch->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (ch->msqid < 0)
    bench_die("msgget", -errno);
  svmq_live = ch->msqid;
  ch->part = (long)size < msgmax ? size : (size_t)msgmax;
}

static void chan_open(struct chan *ch, int impl, const struct load *ld) {
  memset(ch, 0, sizeof *ch);
  ch->impl = impl;
  ch->size = ch->part = ld->size;
  ch->fd[0] = ch->fd[1] = -1;
  ch->msqid = -1;
  int rc;
  switch (impl) {
  case RING:
  case RING_BATCH: {
    ipc_ring_opts_t o = {.capacity = ld->capacity, .max_message = ld->size};
    if ((rc = ipc_ring_create_anon(&ch->ring, &o)) < 0)
      bench_die("ipc_ring_create_anon", rc);
    ch->batch = ld->capacity / (2 * ld->size);
    if (ch->batch > MAX_BATCH)
      ch->batch = MAX_BATCH;
    break;
  }
  case CK: {
    /* As many slots as the ring holds bytes, a power of two. */
    unsigned n = 2;
    while ((size_t)n * 2 * ld->size <= ld->capacity)
      n *= 2;
    ch->ck_n = n;
    ch->ck_len = sizeof(struct ck_shm) + n * sizeof(ck_ring_buffer_t) +
                 (size_t)n * ld->size;
    ch->ck_map = shared_map(ch->ck_len);
    ch->ck = &((struct ck_shm *)ch->ck_map)->ring;
    ch->ck_buf =
        (ck_ring_buffer_t *)((char *)ch->ck_map + sizeof(struct ck_shm));
    ch->ck_slots = (char *)(ch->ck_buf + n);
    ck_ring_init(ch->ck, n);
    break;
  }
  case PIPE:
    if (pipe2(ch->fd, O_CLOEXEC) < 0)
      bench_die("pipe2", -errno);
    /* Best effort: unprivileged processes are capped at pipe-max-size. */
    fcntl(ch->fd[1], F_SETPIPE_SZ, (int)ld->capacity);
    break;
  case SOCK: {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch->fd) < 0)
      bench_die("socketpair", -errno);
    int buf = (int)ld->capacity; /* capped at wmem_max/rmem_max */
    setsockopt(ch->fd[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(ch->fd[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    break;
  }
  case PMQ:
    pmq_open(ch, ld->size);
    break;
  case SVMQ:
    svmq_open(ch, ld->size);
    break;
  }
}

static void chan_close(struct chan *ch) {
  if (ch->ring)
    ipc_ring_close(ch->ring);
  if (ch->ck_map)
    munmap(ch->ck_map, ch->ck_len);
  for (int i = 0; i < 2; i++)
    if (ch->fd[i] >= 0)
      close(ch->fd[i]);
  if (ch->impl == PMQ)
    mq_close(ch->mq);
  if (ch->msqid >= 0) {
    msgctl(ch->msqid, IPC_RMID, NULL);
    svmq_live = -1;
  }
}

/* The label of a row: parts and batches show. */
static void chan_label(const struct chan *ch, char *buf, size_t n) {
  if (ch->impl == RING_BATCH)
    snprintf(buf, n, "%s (%zu)", kind_names[ch->impl], ch->batch);
  else if (ch->part < ch->size)
    snprintf(buf, n, "%s (%zu B parts)", kind_names[ch->impl], ch->part);
  else
    snprintf(buf, n, "%s", kind_names[ch->impl]);
}

/* ------------------------------------------------------------ transfer */

struct svmsg {
  long mtype;
  char data[];
};

/* Sends one message of ch->size bytes from buf, in parts where needed. */
static int send_msg(struct chan *ch, char *buf, struct svmsg *sv) {
  size_t size = ch->size;
  switch (ch->impl) {
  case RING:
    return ipc_ring_push(ch->ring, buf, size, IPC_FOREVER);
  case PIPE:
  case SOCK:
    return bench_write_all(ch->fd[1], buf, size);
  case PMQ:
    for (size_t off = 0; off < size; off += ch->part) {
      size_t n = size - off < ch->part ? size - off : ch->part;
      while (mq_send(ch->mq, buf + off, n, 0) < 0)
        if (errno != EINTR)
          return -errno;
    }
    return 0;
  case SVMQ:
    for (size_t off = 0; off < size; off += ch->part) {
      size_t n = size - off < ch->part ? size - off : ch->part;
      memcpy(sv->data, buf + off, n); /* msgsnd wants the type in front */
      while (msgsnd(ch->msqid, sv, n, 0) < 0)
        if (errno != EINTR)
          return -errno;
    }
    return 0;
  }
  return IPC_EINVAL;
}

/* Receives one message of ch->size bytes into buf. */
static int recv_msg(struct chan *ch, char *buf, struct svmsg *sv) {
  size_t size = ch->size;
  ssize_t n;
  switch (ch->impl) {
  case RING:
    n = ipc_ring_pop(ch->ring, buf, size, IPC_FOREVER);
    return n < 0 ? (int)n : n == (ssize_t)size ? 0 : IPC_EIO;
  case PIPE:
  case SOCK:
    return bench_read_all(ch->fd[0], buf, size);
  case PMQ:
    for (size_t off = 0; off < size; off += (size_t)n) {
      while ((n = mq_receive(ch->mq, buf + off, ch->part, NULL)) < 0)
        if (errno != EINTR)
          return -errno;
    }
    return 0;
  case SVMQ:
    for (size_t off = 0; off < size; off += (size_t)n) {
      while ((n = msgrcv(ch->msqid, sv, ch->part, 0, 0)) < 0)
        if (errno != EINTR)
          return -errno;
      memcpy(buf + off, sv->data, (size_t)n);
    }
    return 0;
  }
  return IPC_EINVAL;
}

/* The producer: msgs messages, each stamped with its number. Returns 0,
 * or the error of the call named in *what. */
static int produce(struct chan *ch, long msgs, char *buf, struct svmsg *sv,
                   const char **what) {
  size_t size = ch->size;
  int rc;
  if (ch->impl == RING_BATCH) {
    struct iovec iov[MAX_BATCH];
    *what = "ipc_ring_push_many";
    for (long i = 0; i < msgs;) {
      size_t n =
          (size_t)(msgs - i) < ch->batch ? (size_t)(msgs - i) : ch->batch;
      for (size_t k = 0; k < n; k++) {
        uint64_t stamp = (uint64_t)i + k;
        iov[k].iov_base = buf + k * size;
        iov[k].iov_len = size;
        memcpy(iov[k].iov_base, &stamp, sizeof stamp);
      }
      for (size_t done = 0; done < n;) {
        ssize_t r =
            ipc_ring_push_many(ch->ring, iov + done, n - done, IPC_FOREVER);
        if (r < 0)
          return (int)r;
        done += (size_t)r;
      }
      i += (long)n;
    }
    return 0;
  }
  if (ch->impl == CK) {
    for (long i = 0; i < msgs; i++) {
      void **entry;
      /* Reserve first: then the slot the entry names is free for sure
       * (the consumer copies a slot out before it frees the next). */
      while (!(entry = ck_ring_enqueue_reserve_spsc(ch->ck, ch->ck_buf)))
        cpu_relax();
      uintptr_t slot = (uintptr_t)i & (ch->ck_n - 1);
      uint64_t stamp = (uint64_t)i;
      memcpy(buf, &stamp, sizeof stamp);
      memcpy(ch->ck_slots + slot * size, buf, size);
      *entry = (void *)slot;
      ck_ring_enqueue_commit_spsc(ch->ck);
    }
    return 0;
  }
  *what = "send";
  for (long i = 0; i < msgs; i++) {
    uint64_t stamp = (uint64_t)i;
    memcpy(buf, &stamp, sizeof stamp);
    if ((rc = send_msg(ch, buf, sv)) < 0)
      return rc;
  }
  return 0;
}

struct visit_ctx {
  char *buf;
  uint64_t next, bad;
};

/* ipc_ring_pop_many's visitor: copies the message out, as pop would. */
static int visit_copy(void *ctx, const void *msg, size_t len) {
  struct visit_ctx *c = ctx;
  uint64_t stamp;
  memcpy(c->buf, msg, len);
  memcpy(&stamp, c->buf, sizeof stamp);
  c->bad += stamp != c->next++;
  return 0;
}

/* The consumer: msgs messages, each stamp checked. Returns how many were
 * wrong (out of order, repeated, stale), or an error. A wrong one does not
 * stop it: the producer must not be left blocked. */
static long consume(struct chan *ch, long msgs, char *buf, struct svmsg *sv) {
  size_t size = ch->size;
  uint64_t stamp;
  long bad = 0;
  int rc;
  if (ch->impl == RING_BATCH) {
    struct visit_ctx c = {buf, 0, 0};
    while ((long)c.next < msgs) {
      ssize_t n =
          ipc_ring_pop_many(ch->ring, ch->batch, visit_copy, &c, IPC_FOREVER);
      if (n < 0)
        return n;
    }
    return (long)c.bad;
  }
  for (long i = 0; i < msgs; i++) {
    if (ch->impl == CK) {
      void *slot;
      while (!ck_ring_dequeue_spsc(ch->ck, ch->ck_buf, &slot))
        cpu_relax();
      memcpy(buf, ch->ck_slots + (uintptr_t)slot * size, size);
    } else if ((rc = recv_msg(ch, buf, sv)) < 0) {
      return rc;
    }
    memcpy(&stamp, buf, sizeof stamp);
    bad += stamp != (uint64_t)i;
  }
  return bad;
}

/* Why the last transfer failed (a negative return from transfer). */
static char failure[160];

/* One measured transfer: msgs/s from the first message sent to the
 * consumer's word that it has taken the last. Making the channel, the fork
 * and both sides' attachment are outside the clock. A transfer that goes
 * wrong (an error, a lost or stale message) returns -1 and says why in
 * `failure`; the run goes on with the other mechanisms. */
static double transfer(int impl, const struct load *ld, long msgs, char *label,
                       size_t label_len) {
  struct chan ch;
  chan_open(&ch, impl, ld);
  if (label)
    chan_label(&ch, label, label_len);
  size_t bufsize = ld->size * (impl == RING_BATCH ? ch.batch : 1);
  char *buf = calloc(1, bufsize);
  struct svmsg *sv = malloc(sizeof *sv + ld->size);
  if (!buf || !sv)
    bench_die("malloc", IPC_ENOMEM);
  sv->mtype = 1;
  int ack;
  pid_t pid = child_start(&ack);
  if (pid == 0) {
    if (ch.ring) { /* attach as the consumer now, not on the clock */
      ssize_t n = ipc_ring_pop(ch.ring, buf, ld->size, 0);
      if (n != IPC_ETIMEDOUT)
        bench_die("ipc_ring_pop", n < 0 ? n : IPC_EIO);
    }
    child_say(ack, 'r');
    long bad = consume(&ch, msgs, buf, sv);
    if (bad < 0)
      bench_die("receive", bad);
    child_say(ack, bad ? 'b' : 'd');
    _exit(0);
  }
  if (ch.ring) { /* and as the producer */
    void *p;
    int rc = ipc_ring_reserve(ch.ring, 8, &p, 0);
    if (rc < 0 || (rc = ipc_ring_discard(ch.ring)) < 0)
      bench_die("ipc_ring_reserve", rc);
  }
  parent_hear(ack, "consumer start");
  const char *what = "";
  long long psi = psi_some_us();
  double t0 = bench_now();
  int rc = produce(&ch, msgs, buf, sv, &what);
  char word = 0;
  if (rc == 0)
    rc = bench_read_all(ack, &word, 1);
  double dt = bench_now() - t0;
  contention_end(psi, dt);
  failure[0] = '\0';
  if (rc < 0) {
    snprintf(failure, sizeof failure, "%s: %s",
             rc == IPC_EOF ? "consumer" : what,
             rc == IPC_EOF ? "died" : ipc_strerror(rc));
    kill(pid, SIGKILL);
  } else if (word != 'd') {
    snprintf(failure, sizeof failure, "wrong messages received");
  }
  close(ack);
  int status = bench_wait(pid);
  alarm(0);
  if (!failure[0] && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
    snprintf(failure, sizeof failure, "consumer exit status %#x", status);
  chan_close(&ch);
  free(buf);
  free(sv);
  return failure[0] ? -1 : (double)msgs / dt;
}

/* -------------------------------------------------------------- memcpy */

static char *mc_src, *mc_dst;
static size_t mc_half;

/* Single-thread copy bandwidth, GB/s, in chunks of `chunk` bytes over a
 * working set far larger than the caches: what one copy costs when it has
 * to go to memory. */
static double memcpy_gbs(size_t chunk) {
  if (!mc_src) {
    mc_half = (bench.quick ? MEMCPY_QUICK_SET : MEMCPY_SET) / 2;
    mc_src = mmap(NULL, mc_half, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mc_dst = mmap(NULL, mc_half, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mc_src == MAP_FAILED || mc_dst == MAP_FAILED)
      bench_die("mmap", -errno);
    memset(mc_src, 1, mc_half); /* fault every page in, off the clock */
    memset(mc_dst, 2, mc_half);
  }
  int passes = 4;
  long long psi = psi_some_us();
  double t0 = bench_now();
  for (int p = 0; p < passes; p++) {
    for (size_t off = 0; off + chunk <= mc_half; off += chunk)
      memcpy(mc_dst + off, mc_src + off, chunk);
    __asm__ __volatile__("" : : "r"(mc_dst) : "memory"); /* keep the copies */
  }
  double dt = bench_now() - t0;
  contention_end(psi, dt);
  return (double)passes * (double)(mc_half / chunk * chunk) / dt / 1e9;
}

/* ---------------------------------------------------------- round trip */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct rt_chan {
  _Atomic uint64_t *word; /* floor: on its own cache line */
  ipc_ring_t *there, *back;
  int there_fd[2], back_fd[2];
};

static void rt_send(int kind, ipc_ring_t *r, int fd, const char *msg) {
  int rc;
  if (kind == RT_PIPE) {
    if ((rc = bench_write_all(fd, msg, RT_SIZE)) < 0)
      bench_die("write", rc);
  } else if (kind == RT_RING_BUSY) {
    while ((rc = ipc_ring_push(r, msg, RT_SIZE, 0)) == IPC_ETIMEDOUT)
      ;
    if (rc < 0)
      bench_die("ipc_ring_push", rc);
  } else if ((rc = ipc_ring_push(r, msg, RT_SIZE, IPC_FOREVER)) < 0) {
    bench_die("ipc_ring_push", rc);
  }
}

static void rt_recv(int kind, ipc_ring_t *r, int fd, char *buf) {
  ssize_t n;
  int rc;
  if (kind == RT_PIPE) {
    if ((rc = bench_read_all(fd, buf, RT_SIZE)) < 0)
      bench_die("read", rc);
    return;
  }
  int timeout = kind == RT_RING_BUSY ? 0 : IPC_FOREVER;
  while ((n = ipc_ring_pop(r, buf, RT_SIZE, timeout)) == IPC_ETIMEDOUT)
    ;
  if (n != RT_SIZE)
    bench_die("ipc_ring_pop", n < 0 ? n : IPC_EIO);
}

/* The message floor's send and receive of trip i's message in a region. */
static void msg_floor_send(char *region, long i, const char *msg) {
  char *rec = region + (i % MSG_FLOOR_SLOTS) * MSG_FLOOR_REC;
  memcpy(rec + 8, msg, RT_SIZE);
  atomic_store_explicit((_Atomic uint64_t *)(void *)rec, (uint64_t)i + 1,
                        memory_order_release);
}

static void msg_floor_recv(char *region, long i, char *buf) {
  char *rec = region + (i % MSG_FLOOR_SLOTS) * MSG_FLOOR_REC;
  while (atomic_load_explicit((_Atomic uint64_t *)(void *)rec,
                              memory_order_acquire) != (uint64_t)i + 1)
    cpu_relax();
  memcpy(buf, rec + 8, RT_SIZE);
}

/* One run of `trips` round trips: the parent sends, the child (on the
 * other CPU) sends back. Every trip is timed; gives the median and p99. */
static void round_trips(int kind, long trips, double *med, double *p99) {
  struct rt_chan c = {0};
  void *line = NULL;
  int rc;
  c.there_fd[0] = c.there_fd[1] = c.back_fd[0] = c.back_fd[1] = -1;
  if (kind == RT_FLOOR) {
    line = shared_map(4096);
    c.word = line;
  } else if (kind == RT_MSG_FLOOR) {
    line = shared_map(2 * MSG_FLOOR_REGION);
  } else if (kind == RT_PIPE) {
    if (pipe2(c.there_fd, O_CLOEXEC) < 0 || pipe2(c.back_fd, O_CLOEXEC) < 0)
      bench_die("pipe2", -errno);
  } else if ((rc = ipc_ring_create_anon(&c.there, NULL)) < 0 ||
             (rc = ipc_ring_create_anon(&c.back, NULL)) < 0) {
    bench_die("ipc_ring_create_anon", rc);
  }
  double *ns = malloc((size_t)trips * sizeof *ns);
  char msg[RT_SIZE] = {0}, buf[RT_SIZE];
  if (!ns)
    bench_die("malloc", IPC_ENOMEM);

  int ack;
  pid_t pid = child_start(&ack);
  if (pid == 0) { /* the echo */
    if (c.there) {
      void *p;
      if (ipc_ring_pop(c.there, buf, RT_SIZE, 0) != IPC_ETIMEDOUT ||
          ipc_ring_reserve(c.back, 8, &p, 0) < 0 ||
          ipc_ring_discard(c.back) < 0)
        _exit(6);
    }
    child_say(ack, 'r');
    for (long i = 0; i < trips; i++) {
      if (kind == RT_FLOOR) {
        uint64_t want = 2 * (uint64_t)i + 1;
        while (atomic_load_explicit(c.word, memory_order_acquire) != want)
          cpu_relax();
        atomic_store_explicit(c.word, want + 1, memory_order_release);
        continue;
      }
      if (kind == RT_MSG_FLOOR) {
        msg_floor_recv(line, i, buf);
        msg_floor_send((char *)line + MSG_FLOOR_REGION, i, buf);
        continue;
      }
      rt_recv(kind, c.there, c.there_fd[0], buf);
      rt_send(kind, c.back, c.back_fd[1], buf);
    }
    child_say(ack, 'd');
    _exit(0);
  }
  if (c.there) {
    void *p;
    if ((rc = ipc_ring_reserve(c.there, 8, &p, 0)) < 0 ||
        (rc = ipc_ring_discard(c.there)) < 0 ||
        (rc = (int)ipc_ring_pop(c.back, buf, RT_SIZE, 0)) != IPC_ETIMEDOUT)
      bench_die("ring attach", rc);
  }
  parent_hear(ack, "echo start");
  long long psi = psi_some_us();
  double t_start = bench_now();
  for (long i = 0; i < trips; i++) {
    int64_t t0 = now_ns();
    if (kind == RT_FLOOR) {
      uint64_t back = 2 * (uint64_t)i + 2;
      atomic_store_explicit(c.word, back - 1, memory_order_release);
      while (atomic_load_explicit(c.word, memory_order_acquire) != back)
        cpu_relax();
    } else if (kind == RT_MSG_FLOOR) {
      memcpy(msg, &i, sizeof i);
      msg_floor_send(line, i, msg);
      msg_floor_recv((char *)line + MSG_FLOOR_REGION, i, buf);
      if (memcmp(buf, &i, sizeof i) != 0)
        bench_die("round trip", IPC_ECORRUPT);
    } else {
      memcpy(msg, &i, sizeof i);
      rt_send(kind, c.there, c.there_fd[1], msg);
      rt_recv(kind, c.back, c.back_fd[0], buf);
      if (memcmp(buf, &i, sizeof i) != 0)
        bench_die("round trip", IPC_ECORRUPT);
    }
    ns[i] = (double)(now_ns() - t0);
  }
  contention_end(psi, bench_now() - t_start);
  parent_hear(ack, "echo end");
  child_reap(pid, ack, rt_names[kind]);
  qsort(ns, (size_t)trips, sizeof *ns, bench_cmp_double);
  *med = ns[trips / 2];
  *p99 = ns[(size_t)((double)trips * 0.99)];
  free(ns);
  if (line)
    munmap(line, kind == RT_FLOOR ? 4096 : 2 * MSG_FLOOR_REGION);
  ipc_ring_close(c.there);
  ipc_ring_close(c.back);
  for (int i = 0; i < 2; i++) {
    if (c.there_fd[i] >= 0)
      close(c.there_fd[i]);
    if (c.back_fd[i] >= 0)
      close(c.back_fd[i]);
  }
}

/* ------------------------------------------------------------- results */

/* The "busy" column: the mean contention of the runs kept, in percent;
 * "-" without PSI. */
static void format_busy(char *buf, size_t n, double busy) {
  if (busy < 0)
    snprintf(buf, n, "-");
  else
    snprintf(buf, n, "%.1f%%", 100 * busy);
}

/* A ratio with `digits` decimals, or "-" when its reference row did not
 * run (-k) or failed. */
static void format_ratio(char *buf, size_t n, double ratio, int digits) {
  if (isnan(ratio))
    snprintf(buf, n, "-");
  else
    snprintf(buf, n, "%.*f", digits, ratio);
}

/* Messages (or trips) for a measured run of about RUN_S seconds at `rate`
 * per second, two significant digits, never fewer than the warm-up's. */
static long run_count(double rate, long warm) {
  double n = rate * RUN_S, unit = 1;
  while (n >= 100 * unit)
    unit *= 10;
  n = (double)(long)(n / unit) * unit;
  return n > (double)warm ? (long)n : warm;
}

static int failed_figures; /* figures that went wrong: the exit status */

/* Starts a figure's JSON object; the caller adds its own fields and ends
 * it with json_end. */
static void json_begin(const char *name, const char *impl, size_t size,
                       const char *unit, double value, double spr, long count) {
  if (bench.json)
    fprintf(bench.json,
            "{\"bench\":\"ring\",\"name\":\"%s\",\"impl\":\"%s\","
            "\"size\":%zu,\"unit\":\"%s\",\"value\":%.6g,\"spread\":%.4f,"
            "\"count\":%ld,\"repeats\":%d,\"quick\":%s,\"cpus\":[%d,%d]",
            name, impl, size, unit, value, spr, count, bench.repeats,
            bench_bool(bench.quick), cpu_producer, cpu_consumer);
}

/* Ends it with the runs behind the median, in the figure's unit. */
static void json_end(const double *runs, double scale) {
  if (!bench.json)
    return;
  fputs(",\"runs\":[", bench.json);
  for (int r = 0; r < bench.repeats; r++)
    fprintf(bench.json, "%s%.6g", r ? "," : "", runs[r] * scale);
  fputs("]}\n", bench.json);
}

struct target {
  const char *what;
  double ratio, goal;
  int at_most; /* the ratio must stay at or below goal */
};

static struct target targets[8];
static int ntargets;

static void target(const char *what, double ratio, double goal, int at_most) {
  targets[ntargets++] = (struct target){what, ratio, goal, at_most};
}

static void print_targets(void) {
  printf("targets (ratios within this run)\n");
  for (int i = 0; i < ntargets; i++) {
    struct target *t = &targets[i];
    int pass = t->at_most ? t->ratio <= t->goal : t->ratio >= t->goal;
    if (isnan(t->ratio)) {
      printf("  %-44s %9s  MISS\n", t->what, "failed");
      if (bench.json)
        fprintf(bench.json,
                "{\"bench\":\"ring\",\"target\":\"%s\",\"ratio\":null,"
                "\"goal\":%.4f,\"cmp\":\"%s\",\"pass\":false,\"quick\":%s}\n",
                t->what, t->goal,
                t->at_most ? "<=" : ">=", bench_bool(bench.quick));
      continue;
    }
    printf("  %-44s %8.2fx  %s\n", t->what, t->ratio, pass ? "PASS" : "MISS");
    if (bench.json)
      fprintf(bench.json,
              "{\"bench\":\"ring\",\"target\":\"%s\",\"ratio\":%.4f,"
              "\"goal\":%.4f,\"cmp\":\"%s\",\"pass\":%s,\"quick\":%s}\n",
              t->what, t->ratio, t->goal,
              t->at_most ? "<=" : ">=", pass ? "true" : "false",
              bench_bool(bench.quick));
  }
}

/* --------------------------------------------------------------- runs */

/* The throughput rows of one message size: every kind, `repeats` times,
 * in an order that rotates so that drift in the machine's load hits all
 * alike; memcpy joins the large messages. */
static void run_load(const struct load *ld) {
  enum { MEMCPY = NIMPL };
  int large = ld->size >= 4096;
  int nkinds = NIMPL + large;
  double *all = calloc((size_t)(nkinds * bench.repeats), sizeof *all);
  double med[NIMPL + 1], spr[NIMPL + 1];
  long count[NIMPL + 1];
  double busy[NIMPL + 1] = {0};
  char labels[NIMPL + 1][48], why[NIMPL + 1][sizeof failure];
  if (!all)
    bench_die("calloc", IPC_ENOMEM);
  for (int k = 0; k < nkinds; k++) {
    why[k][0] = '\0';
    if (kind_off[k])
      continue;
    if (k == MEMCPY) {
      count[k] = (long)(4 * (bench.quick ? MEMCPY_QUICK_SET : MEMCPY_SET) / 2 /
                        ld->size);
      snprintf(labels[k], sizeof labels[k], "memcpy (%u MiB set)",
               (bench.quick ? MEMCPY_QUICK_SET : MEMCPY_SET) >> 20);
      memcpy_gbs(ld->size); /* warm up */
      continue;
    }
    count[k] = k <= CK ? ld->warm_shm : ld->warm_sys;
    double rate = transfer(k, ld, count[k], labels[k], sizeof labels[k]);
    if (rate < 0)
      snprintf(why[k], sizeof why[k], "%s", failure);
    else if (!bench.quick)
      count[k] = run_count(rate, count[k]);
  }
  for (int r = 0; r < bench.repeats; r++)
    for (int j = 0; j < nkinds; j++) {
      int k = (r + j) % nkinds;
      double best = -1, least = 2;
      if (kind_off[k])
        continue;
      for (int t = 0; t < TRIES && !why[k][0]; t++) {
        double v = k == MEMCPY ? memcpy_gbs(ld->size) * 1e9 / (double)ld->size
                               : transfer(k, ld, count[k], NULL, 0);
        if (v < 0) {
          snprintf(why[k], sizeof why[k], "%s", failure);
          break;
        }
        if (contention < least)
          best = v, least = contention;
        if (contention < CONTENDED)
          break;
      }
      all[k * bench.repeats + r] = best;
      busy[k] += least / bench.repeats;
    }
  for (int k = 0; k < nkinds; k++) {
    double m = bench_median(all + k * bench.repeats, bench.repeats, &spr[k]);
    med[k] = why[k][0] || kind_off[k] ? NAN : m;
    if (why[k][0])
      failed_figures++;
  }

  printf("%zu-byte messages %*s %12s %9s %7s %6s %9s %8s\n", ld->size,
         large ? 11 : 14, "msgs", "msgs/s", large ? "GB/s" : "MB/s", "spread",
         "busy", "/ck_ring", large ? "/memcpy" : "/pipe");
  for (int k = 0; k < nkinds; k++) {
    if (kind_off[k])
      continue;
    double bytes = med[k] * (double)ld->size;
    double vs_ck = med[k] / med[CK];
    double vs_base = large ? med[k] / med[MEMCPY] : med[k] / med[PIPE];
    const char *impl = k == MEMCPY ? "memcpy" : kind_names[k];
    char name[64];
    snprintf(name, sizeof name, "%s %s", impl, large ? "64KiB" : "64B");
    if (why[k][0]) {
      printf("  %-26s %10ld   FAILED: %s\n", labels[k], count[k], why[k]);
      if (bench.json)
        fprintf(bench.json,
                "{\"bench\":\"ring\",\"name\":\"%s\",\"impl\":\"%s\","
                "\"size\":%zu,\"failed\":\"%s\",\"quick\":%s}\n",
                name, impl, ld->size, why[k], bench_bool(bench.quick));
      continue;
    }
    char busy_s[16];
    format_busy(busy_s, sizeof busy_s, busy[k]);
    char ck_s[16], base_s[16];
    format_ratio(ck_s, sizeof ck_s, vs_ck, 3);
    format_ratio(base_s, sizeof base_s, vs_base, 3);
    printf("  %-26s %10ld %12.0f %9.*f %6.1f%% %6s %9s %8s\n", labels[k],
           count[k], med[k], large ? 2 : 1, large ? bytes / 1e9 : bytes / 1e6,
           100 * spr[k], busy_s, ck_s, base_s);
    json_begin(name, impl, ld->size, large ? "GB/s" : "msgs/s",
               large ? bytes / 1e9 : med[k], spr[k], count[k]);
    if (bench.json) {
      format_ratio(ck_s, sizeof ck_s, vs_ck, 4);
      format_ratio(base_s, sizeof base_s, vs_base, 4);
      fprintf(bench.json,
              ",\"label\":\"%s\",\"msgs_per_s\":%.1f,\"busy\":%.4f,"
              "\"vs_ck_ring\":%s,\"vs_%s\":%s",
              labels[k], med[k], busy[k] < 0 ? -1 : busy[k],
              ck_s[0] == '-' ? "null" : ck_s, large ? "memcpy" : "pipe",
              base_s[0] == '-' ? "null" : base_s);
    }
    json_end(all + k * bench.repeats, large ? (double)ld->size / 1e9 : 1);
  }
  free(all);
  /* A target whose rows were not asked for (-k) is left out. */
  if (!large) {
    if (!kind_off[RING] && !kind_off[CK])
      target("ring single 64B >= 1.1x ck_ring", med[RING] / med[CK], 1.1, 0);
    if (!kind_off[RING] && !kind_off[PIPE])
      target("ring single 64B >= 6x pipe", med[RING] / med[PIPE], 6, 0);
    if (!kind_off[RING_BATCH] && !kind_off[CK])
      target("ring batched 64B >= 2x ck_ring", med[RING_BATCH] / med[CK], 2, 0);
  } else if (!kind_off[RING] && !kind_off[MEMCPY]) {
    target("ring single 64KiB >= 0.85x memcpy", med[RING] / med[MEMCPY], 0.85,
           0);
  }
}

static void run_round_trips(void) {
  double med[NRT], p99[NRT], spr[NRT];
  double busy[NRT] = {0};
  double *all = calloc((size_t)(2 * NRT * bench.repeats), sizeof *all);
  if (!all)
    bench_die("calloc", IPC_ENOMEM);
  long trips[NRT];
  for (int k = 0; k < NRT; k++) {
    double m, p;
    trips[k] = rt_warm_trips[k];
    if (rt_off[k])
      continue;
    round_trips(k, trips[k], &m, &p); /* warm up, and size the runs */
    if (!bench.quick)
      trips[k] = run_count(1e9 / m, trips[k]);
  }
  for (int r = 0; r < bench.repeats; r++)
    for (int j = 0; j < NRT; j++) {
      int k = (r + j) % NRT;
      double least = 2;
      for (int t = 0; t < TRIES && !rt_off[k]; t++) {
        double m, p;
        round_trips(k, trips[k], &m, &p);
        if (contention < least) {
          all[k * bench.repeats + r] = m,
                                  all[(NRT + k) * bench.repeats + r] = p;
          least = contention;
        }
        if (contention < CONTENDED)
          break;
      }
      busy[k] += least / bench.repeats;
    }
  for (int k = 0; k < NRT; k++) {
    med[k] = bench_median(all + k * bench.repeats, bench.repeats, &spr[k]);
    p99[k] = bench_median(all + (NRT + k) * bench.repeats, bench.repeats, NULL);
    if (rt_off[k])
      med[k] = NAN;
  }
  printf("round trip, %d bytes %11s %12s %9s %7s %6s %9s\n", RT_SIZE, "trips",
         "median ns", "p99 ns", "spread", "busy", "/floor");
  for (int k = 0; k < NRT; k++) {
    char busy_s[16], floor_s[16];
    if (rt_off[k])
      continue;
    format_busy(busy_s, sizeof busy_s, busy[k]);
    format_ratio(floor_s, sizeof floor_s, med[k] / med[RT_FLOOR], 2);
    printf("  %-26s %10ld %12.0f %9.0f %6.1f%% %6s %9s\n", rt_names[k],
           trips[k], med[k], p99[k], 100 * spr[k], busy_s, floor_s);
    char name[64];
    snprintf(name, sizeof name, "round trip %s",
             k == RT_FLOOR ? "floor" : rt_names[k]);
    json_begin(name, rt_names[k], RT_SIZE, "ns", med[k], spr[k], trips[k]);
    format_ratio(floor_s, sizeof floor_s, med[k] / med[RT_FLOOR], 4);
    if (bench.json)
      fprintf(bench.json, ",\"p99_ns\":%.0f,\"busy\":%.4f,\"vs_floor\":%s",
              p99[k], busy[k] < 0 ? -1 : busy[k],
              floor_s[0] == '-' ? "null" : floor_s);
    json_end(all + k * bench.repeats, 1);
  }
  free(all);
  if (!rt_off[RT_RING_BUSY] && !rt_off[RT_FLOOR])
    target("ring busy round trip <= 1.5x floor", med[RT_RING_BUSY] / med[0],
           1.5, 1);
}

int main(int argc, char **argv) {
  bench.extra_opts = "k:s:";
  bench.extra_usage =
      "  -k L   only these rows (comma-separated): single, batched, ck, pipe,\n"
      "         sock, pmq, svmq, memcpy; floor, msgfloor, busy, blocking,\n"
      "         rtpipe\n"
      "  -s L   only these sections: 64, 64k, rt\n";
  bench.extra_opt = ring_opt;
  if (bench_init(argc, argv, "ring", "runs", "messages", 0) < argc)
    bench_usage();
  bench.parent = getpid();
  bench.child_status = 3; /* a child's failure: the parent sees its status */
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGALRM, on_signal);
  signal(SIGPIPE, SIG_IGN); /* a consumer that died: EPIPE, not death */
  choose_cpus();
  bench_pin(cpu_producer);

  if (cpu_consumer >= 0)
    printf("ring: producer on CPU %d, consumer on CPU %d; median of %s\n",
           cpu_producer, cpu_consumer, bench_runs(1));
  else
    printf("ring: one CPU only, not pinned; median of %s\n", bench_runs(1));
  /* A section runs when asked for (-s) and when a row of it is (-k). */
  for (size_t l = 0; l < NLOADS; l++) {
    int any = 0;
    for (int k = 0; k < NIMPL + (loads[l].size >= 4096); k++)
      any |= !kind_off[k];
    if (!section_off[l] && any)
      run_load(&loads[l]);
  }
  int any_rt = 0;
  for (int k = 0; k < NRT; k++)
    any_rt |= !rt_off[k];
  if (!section_off[2] && any_rt)
    run_round_trips();
  print_targets();
  bench_finish();
  if (failed_figures)
    fprintf(stderr, "bench/ring: %d figure%s failed (see the table)\n",
            failed_figures, failed_figures == 1 ? "" : "s");
  return failed_figures ? 1 : 0;
}
