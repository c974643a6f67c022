/* error.c: messages and names for the codes of IPC_ERROR_MAP.
 * Both tables come from the one list in ipc.h, so a code added there gets
 * its name and message here without a second edit. */
#include "ipc.h"

#include <string.h>

const char *ipc_strerror(int code) {
  switch (code) {
#define IPC__STRERROR(name, value, msg)                                        \
  case IPC_##name:                                                             \
    return msg;
    IPC_ERROR_MAP(IPC__STRERROR)
#undef IPC__STRERROR
  default:
    break;
  }
  /* An errno outside our list: glibc's table is static and thread-safe,
   * unlike strerror(). */
  if (code < 0 && code > -4096) {
    const char *desc = strerrordesc_np(-code);
    if (desc)
      return desc;
  }
  return "unknown error";
}

const char *ipc_errname(int code) {
  switch (code) {
#define IPC__ERRNAME(name, value, msg)                                         \
  case IPC_##name:                                                             \
    return #name;
    IPC_ERROR_MAP(IPC__ERRNAME)
#undef IPC__ERRNAME
  default:
    break;
  }
  if (code < 0 && code > -4096) {
    const char *name = strerrorname_np(-code);
    if (name)
      return name;
  }
  return "UNKNOWN";
}

unsigned ipc_version(void) { return IPC_VERSION_HEX; }

const char *ipc_version_string(void) { return IPC_VERSION_STRING; }
