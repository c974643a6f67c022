/* tests/fuzz/ring_fuzz.c: a libFuzzer target for the ring's side of "shared
 * memory written by another process is untrusted input". Each input becomes
 * a ring image (header page + 4096 data bytes) in ordinary memory; the target
 * runs the attach checks on it and, when they pass, a consumer (and, if the
 * input asks, a producer) over it with timeout 0, and traps on any length
 * beyond max_message or pointer outside the image. ASan/UBSan catch the rest.
 * Built and run by scripts/fuzz. Compiled with -DRING_FUZZ_SEEDS it is
 * instead the program that writes the seed corpus (tests/fuzz/corpus).
 *
 * Input: byte 0 is a control byte, the rest is the image (zero-filled).
 *   bit 0     overwrite the geometry with a valid one, so that the attach
 *             check passes and the fuzzer spends its time on positions,
 *             records and slots (mode from bits 1-2, max_message from the
 *             input's own max_message field, brought into range)
 *   bit 3     also attach a producer and push between the consumer's calls
 *   bits 4-7  how many rounds of calls (1 to 16)
 * Besides memory safety it checks one protocol invariant that holds for any
 * image the attach check accepts: after a call that succeeds, the shared
 * head is never past the word the consumer checks records against: the
 * shared tail with many producers, the bound with one (a consumer never
 * releases what no producer declared).
 */
#include "ipc.h"
#include "ring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEADER 4096
#define CAP 4096
#define IMAGE (HEADER + CAP)
#define GEOMETRY 56 /* bytes of struct ring_shared before the positions */

/* White box: fields of ring.c's struct ring_shared that the control byte
 * sets. Checked against real rings in make_templates, which aborts if
 * ring.c's layout moved. */
#define OFF_MODE 12
#define OFF_MAX_MESSAGE 24
#define OFF_TAIL 128
#define OFF_BOUND 144 /* one producer: no record ends past it */
#define OFF_HEAD 256
#define POS_BITS ((1ull << 56) - 1) /* the rest are lock bits */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The geometry of a real ring of each mode, capacity CAP. */
static uint8_t templates[3][GEOMETRY];

/* A real ring made by the library, mapped: the image it keeps. */
static ipc_ring_t *real_ring(int mode, uint8_t **image) {
  ipc_ring_opts_t o;
  memset(&o, 0, sizeof o);
  o.capacity = CAP;
  o.mode = (ipc_ring_mode_t)mode;
  ipc_ring_t *r;
  if (ipc_ring_create_anon(&r, &o) < 0)
    abort();
  *image =
      mmap(NULL, IMAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ipc_ring_fd(r), 0);
  if (*image == MAP_FAILED)
    abort();
  return r;
}

static void make_templates(void) {
  for (int mode = 0; mode < 3; mode++) {
    uint8_t *img;
    ipc_ring_t *r = real_ring(mode, &img);
    uint32_t m;
    uint64_t max;
    memcpy(&m, img + OFF_MODE, 4);
    memcpy(&max, img + OFF_MAX_MESSAGE, 8);
    ipc_ring_push(r, "x", 1, 0); /* one record: 16 bytes */
    uint64_t tail, bound;
    memcpy(&tail, img + OFF_TAIL, 8);
    memcpy(&bound, img + OFF_BOUND, 8);
    if (m != (uint32_t)mode || max != CAP / 8 || tail != 16 ||
        (mode == IPC_RING_SPSC && (bound < tail || bound % 8))) {
      fprintf(stderr, "ring_fuzz: ring.c's header layout moved; update "
                      "the OFF_ constants\n");
      abort();
    }
    memcpy(templates[mode], img, GEOMETRY); /* geometry only */
    munmap(img, IMAGE);
    ipc_ring_close(r);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  make_templates();
  return 0;
}

/* ------------------------------------------------------------ the target */

struct bounds {
  const uint8_t *img;
  const uint8_t *lo, *hi; /* the data area */
  uint64_t max;           /* max_message */
};

/* Traps if the shared head is past the shared tail (one producer: past
 * the bound). */
static void check_positions(const struct bounds *b) {
  uint64_t head, tail;
  uint32_t mode;
  memcpy(&mode, b->img + OFF_MODE, 4);
  memcpy(&head, b->img + OFF_HEAD, 8);
  memcpy(&tail, b->img + (mode == IPC_RING_SPSC ? OFF_BOUND : OFF_TAIL), 8);
  if ((int64_t)((tail & POS_BITS) - (head & POS_BITS)) < 0)
    __builtin_trap();
}

/* Traps unless [p, p + len) lies in the data area and len <= max. */
static void check_msg(const struct bounds *b, const void *p, size_t len) {
  const uint8_t *m = p;
  if (len > b->max || m < b->lo || m > b->hi || len > (size_t)(b->hi - m))
    __builtin_trap();
}

static int visit(void *ctx, const void *msg, size_t len) {
  check_msg(ctx, msg, len);
  return 0;
}

static void consume(ipc_ring_t *c, const struct bounds *b, uint8_t op,
                    size_t cap) {
  static uint8_t buf[CAP];
  const void *p;
  ssize_t n;
  switch (op % 4) {
  case 0:
    n = ipc_ring_pop(c, buf, cap, 0);
    if (n >= 0 && ((size_t)n > cap || (uint64_t)n > b->max))
      __builtin_trap();
    if (n >= 0)
      check_positions(b);
    break;
  case 1:
    n = ipc_ring_peek(c, &p, 0);
    if (n >= 0) {
      check_msg(b, p, (size_t)n);
      if (op & 0x10 && /* sometimes leave it peeked: close must cope */
          ipc_ring_release(c) == 0)
        check_positions(b);
    }
    break;
  case 2:
    n = ipc_ring_pop_many(c, 1 + op / 16, visit, (void *)b, 0);
    if (n > 1 + op / 16)
      __builtin_trap();
    if (n > 0)
      check_positions(b);
    break;
  default: {
    ipc_ring_stats_t st;
    int rc = ipc_ring_stats(c, &st);
    if ((rc != 0 && rc != IPC_ECORRUPT) || st.capacity != CAP ||
        st.max_message != b->max)
      __builtin_trap();
  }
  }
}

static void produce(ipc_ring_t *w, uint8_t op) {
  static uint8_t msg[CAP];
  void *p;
  size_t len = (size_t)op * 3;
  switch (op % 3) {
  case 0:
    ipc_ring_push(w, msg, len, 0);
    break;
  case 1:
    if (ipc_ring_reserve(w, len, &p, 0) == 0) {
      memset(p, op, len);
      op & 8 ? ipc_ring_discard(w) : ipc_ring_commit(w);
    }
    break;
  default: {
    struct iovec iov[3] = {{msg, len}, {msg, 1}, {msg, 0}};
    ipc_ring_push_many(w, iov, 3, 0);
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t control = data[0];
  data++, size--;

  /* The attach check on exactly the bytes given: it must not read past
   * them (ASan watches this copy's end). */
  uint8_t *raw = malloc(size ? size : 1);
  if (!raw)
    return 0;
  memcpy(raw, data, size);
  ipc__ring_check_header(raw, size);
  free(raw);

  uint8_t *img = aligned_alloc(4096, IMAGE);
  if (!img)
    return 0;
  memset(img, 0, IMAGE);
  memcpy(img, data, size < IMAGE ? size : IMAGE);
  if (control & 1) {
    uint64_t max;
    memcpy(&max, img + OFF_MAX_MESSAGE, 8);
    memcpy(img, templates[(control >> 1 & 3) % 3], GEOMETRY);
    max = 1 + max % (CAP / 2 - 8);
    memcpy(img + OFF_MAX_MESSAGE, &max, 8);
  }
  if (ipc__ring_check_header(img, IMAGE) < 0) {
    free(img);
    return 0;
  }
  struct bounds b = {img, img + HEADER, img + IMAGE, 0};
  memcpy(&b.max, img + OFF_MAX_MESSAGE, 8);

  ipc_ring_t *c = NULL, *w = NULL;
  if (ipc__ring_from_memory(&c, img, IMAGE, IPC_RDONLY) < 0)
    __builtin_trap(); /* the header passed the check */
  if ((control & 8) && ipc__ring_from_memory(&w, img, IMAGE, IPC_WRONLY) < 0)
    __builtin_trap();
  /* The operations come from bytes of the header page past the slots,
   * which the library never reads; mixed with i, so that an input of
   * zeros still runs every kind of call. */
  int rounds = 1 + (control >> 4);
  for (int i = 0; i < rounds * 4; i++) {
    uint8_t op = (uint8_t)(i * 37);
    if (size > 3000 + (size_t)i)
      op = (uint8_t)(op + data[3000 + i]);
    consume(c, &b, op, (size_t)op * 16 % (CAP + 1));
    if (w)
      produce(w, op ^ (uint8_t)i);
  }
  ipc_ring_close(w);
  ipc_ring_close(c);
  free(img);
  return 0;
}

/* ------------------------------------------------------ the seed corpus */

#ifdef RING_FUZZ_SEEDS
/* Writes control byte + image, without its trailing zeros, to dir/name. */
static void save(const char *dir, const char *name, uint8_t control,
                 const uint8_t *img) {
  char path[512];
  size_t n = IMAGE;
  while (n > 0 && img[n - 1] == 0)
    n--;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(&control, 1, 1, f) != 1 || fwrite(img, 1, n, f) != n ||
      fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  static const char *const modes[] = {"spsc", "mpsc", "mpmc"};
  const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  char name[64];
  uint8_t msg[512];
  memset(msg, 'm', sizeof msg);
  for (int mode = 0; mode < 3; mode++) {
    uint8_t *img;
    ipc_ring_t *r = real_ring(mode, &img);
    snprintf(name, sizeof name, "%s-empty", modes[mode]);
    save(dir, name, 0, img);
    /* Messages waiting, some taken. */
    for (int i = 0; i < 12; i++)
      ipc_ring_push(r, msg, (size_t)i * 37 % 300, 0);
    for (int i = 0; i < 4; i++)
      ipc_ring_pop(r, msg, sizeof msg, 0);
    snprintf(name, sizeof name, "%s-queued", modes[mode]);
    save(dir, name, 0x38, img);
    /* Wrapped once, with a padding record at the end of the data area. */
    while (ipc_ring_pop(r, msg, sizeof msg, 0) >= 0)
      ;
    for (int i = 0; i < 20; i++) {
      ipc_ring_push(r, msg, 500, 0);
      ipc_ring_pop(r, msg, sizeof msg, 0);
    }
    ipc_ring_push(r, msg, 300, 0);
    ipc_ring_push(r, msg, 0, 0);
    snprintf(name, sizeof name, "%s-wrapped", modes[mode]);
    save(dir, name, 0x71, img);
    /* A reservation left open (a BUSY record with several producers). */
    void *p;
    ipc_ring_reserve(r, 40, &p, 0);
    ipc_ring_push(r, msg, 0, 0); /* EINVAL: the reservation is open */
    snprintf(name, sizeof name, "%s-reserved", modes[mode]);
    save(dir, name, 0xf8, img);
    ipc_ring_discard(r);
    munmap(img, IMAGE);
    ipc_ring_close(r);
  }
  return 0;
}
#endif
