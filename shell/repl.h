/* repl.h: what the C files of ipcsh share. repl.c runs Lua on the user's
 * behalf (the SIGINT handling, protected calls with tracebacks, the prelude
 * and its hooks, the read-eval-print loop); edit.c is the terminal side of
 * that loop (libedit, completion, events above the prompt, history); main.c
 * turns the command line into calls to both. */
#ifndef IPCSH_REPL_H
#define IPCSH_REPL_H

#include <stddef.h>

#include "compat.h"

#define IPCSH_PROGNAME "ipcsh"

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

/* ---------------------------------------------------------------- repl.c */

/* Installs the SIGINT handler (without SA_RESTART, so blocking calls return
 * EINTR), the registry hook "ipc.interrupt" the ipc module calls on EINTR,
 * and runs the prelude with the global `ipc` table, which must already be
 * set. color: results may be printed with ANSI colours. Raises on failure;
 * call it under lua_pcall. */
void ipcsh_setup(lua_State *L, int color);

/* Calls the function under the top narg arguments like lua_pcall, with a
 * message handler that adds a traceback. A Ctrl-C during the call raises
 * "interrupted!" inside it. Returns the lua_pcall status. */
int ipcsh_docall(lua_State *L, int narg, int nres);

/* If status is not LUA_OK, prints the error message on top of the stack to
 * stderr (prefixed with "progname: " unless progname is NULL) and pops it.
 * Returns status. */
int ipcsh_report(lua_State *L, int status, const char *progname);

/* Calls the prelude's hook `name` (a field of the table prelude.lua
 * returned) with the narg values on top, in protected mode, leaving nres
 * results. Returns the lua_pcall status; on an error the message is the
 * only thing left (no traceback: hooks catch their own errors, this is a
 * last resort). */
int ipcsh_hook(lua_State *L, const char *name, int narg, int nres);

/* Whether a Ctrl-C came that nothing has acted upon yet, and forgetting it
 * (with the hook it armed). */
int ipcsh_interrupt_pending(void);
void ipcsh_interrupt_clear(void);

/* A Ctrl-C read as a key (at the prompt the terminal sends no SIGINT):
 * marks the line cancelled, as the signal would. */
void ipcsh_interrupt_key(void);

/* Runs the rc file ($IPCSHRC, else ~/.ipcshrc; an empty IPCSHRC: none).
 * A missing file is no error; any other failure is reported on stderr and
 * the shell goes on. */
void ipcsh_rcfile(lua_State *L);

/* The read-eval-print loop on stdin, until end of file (Ctrl-D). Line
 * editing, completion, events and history when stdin is a terminal. */
void ipcsh_repl(lua_State *L);

/* ---------------------------------------------------------------- edit.c */

typedef struct ipcsh_edit ipcsh_edit;

/* Starts libedit on the terminal (stdin/stdout) with its history file:
 * $IPCSH_HISTORY, else ~/.ipcsh_history; an empty IPCSH_HISTORY keeps no
 * file. Returns NULL if libedit cannot start (the caller reads plain
 * lines then). */
ipcsh_edit *ipcsh_edit_open(lua_State *L);

/* Reads one line with the prompt, editing it on the terminal while event
 * sources are served above it. Returns the line (malloc'd, without its
 * newline; the caller frees it), or NULL at end of input. A Ctrl-C ends
 * the line early: the caller sees ipcsh_interrupt_pending(). */
char *ipcsh_edit_line(ipcsh_edit *ed, const char *prompt);

/* Adds a command (possibly several lines) to the history and writes the
 * file at once, unless it is blank or repeats the previous entry. */
void ipcsh_edit_remember(ipcsh_edit *ed, const char *chunk);

/* Restores the terminal and frees everything. */
void ipcsh_edit_close(ipcsh_edit *ed);

/* Serves the event sources that are ready now, without waiting, printing
 * what they report on stdout (for the loop without a terminal). */
void ipcsh_events_drain(lua_State *L);

#endif /* IPCSH_REPL_H */
