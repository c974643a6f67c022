/* repl.h: what main.c, repl.c and prelude.c of ipcsh share.
 * repl.c owns everything that runs Lua on the user's behalf (the SIGINT
 * handling, protected calls with tracebacks, the prelude, the interactive
 * loop); main.c only turns the command line into calls to it. */
#ifndef IPCSH_REPL_H
#define IPCSH_REPL_H

#include <stddef.h>

#include <lua.h>

/* A file embedded in the binary by prelude.c: *size bytes of data followed
 * by a NUL byte. */
typedef struct ipcsh_file {
  const char *name; /* "prelude.lua", "docs/lua.md", ... */
  const char *data;
  const size_t *size;
} ipcsh_file;

/* The embedded files (the shell's Lua files and the docs help() reads),
 * ending with a NULL name. */
extern const ipcsh_file ipcsh_files[];

/* The embedded file called name, or NULL. */
const ipcsh_file *ipcsh_file_find(const char *name);

/* Installs the SIGINT handler (without SA_RESTART, so blocking calls return
 * EINTR), the registry hook "ipc.interrupt" the ipc module calls on EINTR,
 * and runs the prelude with the global `ipc` table, which must already be
 * set, and a function that returns an embedded file's text by name (see
 * prelude.lua). Raises on failure; call it under lua_pcall. */
void ipcsh_setup(lua_State *L);

/* Calls the function under the top narg arguments like lua_pcall, with a
 * message handler that adds a traceback. A Ctrl-C during the call raises
 * "interrupted!" inside it. Returns the lua_pcall status. */
int ipcsh_docall(lua_State *L, int narg, int nres);

/* If status is not LUA_OK, prints the error message on top of the stack to
 * stderr (prefixed with "progname: " unless progname is NULL) and pops it.
 * Returns status. */
int ipcsh_report(lua_State *L, int status, const char *progname);

/* The read-eval-print loop on stdin, until end of file (Ctrl-D). Line
 * editing and history when stdin is a terminal. */
void ipcsh_repl(lua_State *L);

#endif /* IPCSH_REPL_H */
