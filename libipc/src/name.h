/* name.h: POSIX object names for the areas that take one (shm, ring, mq,
 * sem). ipc_name_check is public (ipc.h); this adds the copy that every
 * handle keeping its name makes, so the rule lives in one place. */
#ifndef IPC_NAME_H
#define IPC_NAME_H

#include "ipc.h"

/* Bytes a handle needs for a checked name: '/', IPC_NAME_MAX bytes, NUL. */
#define IPC__NAME_BUF (IPC_NAME_MAX + 2)

/* Checks name as ipc_name_check does and, when it is valid, copies it into
 * dst (IPC__NAME_BUF bytes). Returns 0, IPC_EINVAL or IPC_ENAMETOOLONG; dst
 * is then the empty string. */
int ipc__name_copy(char *dst, const char *name);

#endif /* IPC_NAME_H */
