/* name.c: the one rule for POSIX object names: "/" then 1 to IPC_NAME_MAX
 * bytes of letters, digits and "._-". glibc maps "/x" to /dev/shm/x (and
 * the kernel to /dev/mqueue/x), so the rule keeps every name a plain file
 * name there: no second slash, no "." or "..", nothing a shell would mangle. */
#include "name.h"

#include <string.h>

int ipc_name_check(const char *name) {
  if (name == NULL || name[0] != '/')
    return IPC_EINVAL;
  const char *s = name + 1;
  /* Bounded, so that a huge or unterminated-looking name costs no more
   * than the limit. */
  size_t len = strnlen(s, IPC_NAME_MAX + 1);
  if (len == 0)
    return IPC_EINVAL;
  if (len > IPC_NAME_MAX)
    return IPC_ENAMETOOLONG;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    /* Spelled out rather than isalnum(): the locale must not widen it. */
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return IPC_EINVAL;
  }
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
    return IPC_EINVAL;
  return 0;
}

int ipc__name_copy(char *dst, const char *name) {
  int rc = ipc_name_check(name);
  if (rc < 0) {
    dst[0] = '\0';
    return rc;
  }
  memcpy(dst, name, strlen(name) + 1);
  return 0;
}
