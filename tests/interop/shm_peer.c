/* shm_peer.c: the plain C side of the shm interop tests
 * (tests/lua/shm_spec.lua): POSIX shm_open and mmap, no libipc, as any other
 * program sharing a segment with libipc would do it. The spec compiles it.
 *   shm_peer read NAME OFFSET LENGTH   prints the size, a space, the bytes
 *   shm_peer write NAME OFFSET TEXT    writes TEXT at OFFSET
 *   shm_peer create NAME SIZE TEXT     creates the segment (0600), TEXT at 0
 * It never unlinks: the test that made the name removes it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what) {
  perror(what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s read|write|create NAME N ARG\n", argv[0]);
    return 2;
  }
  const char *cmd = argv[1], *name = argv[2];
  int create = strcmp(cmd, "create") == 0;
  int fd = shm_open(name, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
  if (fd < 0)
    return fail("shm_open");
  if (create && ftruncate(fd, atol(argv[3])) < 0)
    return fail("ftruncate");
  struct stat st;
  if (fstat(fd, &st) < 0)
    return fail("fstat");
  char *p =
      mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return fail("mmap");
  size_t off = create ? 0 : (size_t)atol(argv[3]);
  if (strcmp(cmd, "read") == 0) {
    printf("%lld ", (long long)st.st_size);
    fwrite(p + off, 1, (size_t)atol(argv[4]), stdout);
  } else {
    memcpy(p + off, argv[4], strlen(argv[4]));
  }
  munmap(p, (size_t)st.st_size);
  close(fd);
  return 0;
}
