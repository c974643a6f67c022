/* repl.c: how ipcsh runs Lua for the user. Ctrl-C (a SIGINT flag that arms
 * a hook, as lua.c does, plus the "ipc.interrupt" hook the ipc module calls
 * when a blocking wait returns EINTR), protected calls with tracebacks, the
 * prelude and its hooks, the rc file, and the read-eval-print loop with
 * multi-line input. The same code serves every Lua from 5.1 to 5.4 and
 * LuaJIT: the differences are in compat.h. */
#include "repl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IPCSH_PROMPT "> "
#define IPCSH_PROMPT2 ">> "
#define IPCSH_RC_FILE ".ipcshrc"
/* Registry keys: the table of hooks prelude.lua returns, and the sentinel
 * whose finalizer takes the SIGINT handler down when the state closes. */
#define IPCSH_SHELL "ipcsh.shell"
#define IPCSH_SIGNALS "ipcsh.signals"

/* ------------------------------------------------------------ Ctrl-C
 *
 * The only globals of the shell, both for the signal handler: a SIGINT sets
 * `interrupted` and arms a count hook on the main state, so running Lua code
 * stops at its next instruction. C code blocked in a system call gets EINTR
 * (the handler is installed without SA_RESTART): the ipc module then calls
 * the registry's "ipc.interrupt", which raises; the line reader cancels the
 * line. Whoever acts on the flag clears it and the hook. */
static volatile sig_atomic_t interrupted = 0;
static lua_State *globalL = NULL;

#define IPCSH_HOOKMASK                                                         \
  (LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT)

int ipcsh_interrupt_pending(void) { return interrupted; }

void ipcsh_interrupt_key(void) { interrupted = 1; }

void ipcsh_interrupt_clear(void) {
  interrupted = 0;
  if (globalL != NULL)
    lua_sethook(globalL, NULL, 0, 0);
}

/* The hook the handler arms: raises at the next instruction. */
static void aux_stop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  ipcsh_interrupt_clear();
  luaL_error(L, "interrupted!");
}

static void aux_sigint(int sig) {
  if (interrupted) {
    /* The previous Ctrl-C was never acted upon: something is stuck in C
     * code that neither returns nor runs Lua (or in a loop LuaJIT
     * compiled). This one ends ipcsh as if it had no handler, as lua.c
     * does, after saying why (write is async-signal-safe). */
    static const char msg[] = "\nipcsh: a second Ctrl-C before the first "
                              "could stop the code: exiting\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  interrupted = 1;
  /* lua_sethook is safe to call from a signal handler (see lua.c). */
  if (globalL != NULL)
    lua_sethook(globalL, aux_stop, IPCSH_HOOKMASK, 1);
}

/* registry["ipc.interrupt"]: the ipc module calls it after a wait returned
 * EINTR, then retries the wait if it returns. */
static int aux_interrupt(lua_State *L) {
  if (interrupted) {
    ipcsh_interrupt_clear();
    return luaL_error(L, "interrupted!");
  }
  return 0;
}

/* __gc of the sentinel, which holds the SIGINT disposition ipcsh started
 * with: the state is closing, so the handler must not touch it any more. */
static int aux_signals_gc(lua_State *L) {
  const struct sigaction *old = lua_touserdata(L, 1);
  sigaction(SIGINT, old, NULL);
  globalL = NULL;
  interrupted = 0;
  return 0;
}

static void aux_signals(lua_State *L) {
  struct sigaction sa;
  struct sigaction *old = lua_newuserdata(L, sizeof *old); /* sentinel */
  if (sigaction(SIGINT, NULL, old) != 0)
    luaL_error(L, "cannot read the SIGINT disposition: %s", strerror(errno));
  lua_newtable(L); /* its metatable */
  lua_pushcfunction(L, aux_signals_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, IPCSH_SIGNALS);
  lua_pushcfunction(L, aux_interrupt);
  lua_setfield(L, LUA_REGISTRYINDEX, "ipc.interrupt");
  globalL = L;
  /* A process started with SIGINT ignored (a background job) keeps it so. */
  if (old->sa_handler == SIG_IGN)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = aux_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: blocked calls must see EINTR */
  sigaction(SIGINT, &sa, NULL);
}

/* ---------------------------------------------------- running Lua code */

/* Message handler: a traceback under the message (as lua.c's msghandler). */
static int aux_msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1; /* an object that describes itself */
    msg =
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  lipc_traceback(L, msg, 1);
  return 1;
}

int ipcsh_docall(lua_State *L, int narg, int nres) {
  int status;
  int base = lua_gettop(L) - narg; /* function index */
  lua_pushcfunction(L, aux_msghandler);
  lua_insert(L, base); /* under the function and its arguments */
  status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  /* A Ctrl-C that came as the call ended is dropped, not kept for the next
   * command. */
  if (interrupted)
    ipcsh_interrupt_clear();
  return status;
}

int ipcsh_report(lua_State *L, int status, const char *progname) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
      msg = "(error object is not a string)";
    fflush(stdout); /* what came before the error shows before it */
    if (progname != NULL)
      fprintf(stderr, "%s: ", progname);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

int ipcsh_hook(lua_State *L, const char *name, int narg, int nres) {
  lua_getfield(L, LUA_REGISTRYINDEX, IPCSH_SHELL);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -(narg + 1)); /* under its arguments */
  return lua_pcall(L, narg, nres, 0);
}

const ipcsh_file *ipcsh_file_find(const char *name) {
  for (const ipcsh_file *f = ipcsh_files; f->name != NULL; f++)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

/* The prelude's second argument: file(name) -> the embedded file's text,
 * or nil. */
static int aux_file(lua_State *L) {
  const ipcsh_file *f = ipcsh_file_find(luaL_checkstring(L, 1));
  if (f == NULL)
    return 0;
  lua_pushlstring(L, f->data, *f->size);
  return 1;
}

void ipcsh_setup(lua_State *L, int color) {
  const ipcsh_file *prelude = ipcsh_file_find("prelude.lua");
  aux_signals(L);
  if (luaL_loadbuffer(L, prelude->data, *prelude->size, "=prelude.lua") !=
      LUA_OK)
    lua_error(L);
  lua_getglobal(L, "ipc");
  lua_pushcfunction(L, aux_file);
  lua_pushboolean(L, color);
  lua_call(L, 3, 1);
  if (!lua_istable(L, -1))
    luaL_error(L, "prelude.lua did not return the shell's hooks");
  lua_setfield(L, LUA_REGISTRYINDEX, IPCSH_SHELL);
}

void ipcsh_rcfile(lua_State *L) {
  const char *env = getenv("IPCSHRC");
  const char *home = getenv("HOME");
  char path[PATH_MAX];
  int len = -1;
  if (env != NULL)
    len = snprintf(path, sizeof path, "%s", env);
  else if (home != NULL && home[0] != '\0')
    len = snprintf(path, sizeof path, "%s/%s", home, IPCSH_RC_FILE);
  if (len <= 0 || (size_t)len >= sizeof path)
    return;
  if (access(path, F_OK) != 0 && errno == ENOENT)
    return; /* no rc file is the usual case */
  if (ipcsh_report(L, luaL_loadfile(L, path), IPCSH_PROGNAME) != LUA_OK)
    return;
  ipcsh_report(L, ipcsh_docall(L, 0, 0), IPCSH_PROGNAME);
}

/* ------------------------------------------------------- reading lines */

typedef struct repl {
  lua_State *L;
  ipcsh_edit *ed; /* NULL: stdin is not a terminal */
} repl_t;

enum { LINE_OK, LINE_EOF, LINE_CANCEL };

/* Reads a line without the terminal (stdin is a file or a pipe), printing
 * the prompt as lua.c does without readline, after what the event sources
 * have to say. */
static char *aux_getline(lua_State *L, const char *prompt) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  ipcsh_events_drain(L);
  fputs(prompt, stdout);
  fflush(stdout);
  for (;;) {
    len = getline(&line, &cap, stdin);
    if (len >= 0)
      break;
    if (ferror(stdin) && errno == EINTR && !interrupted) {
      clearerr(stdin);
      continue;
    }
    free(line);
    return NULL;
  }
  if (len > 0 && line[len - 1] == '\n')
    line[len - 1] = '\0';
  return line;
}

/* Pushes the next line read with the given prompt. */
static int aux_readline(repl_t *r, const char *prompt) {
  char *line = r->ed != NULL ? ipcsh_edit_line(r->ed, prompt)
                             : aux_getline(r->L, prompt);
  if (interrupted) {
    ipcsh_interrupt_clear();
    free(line);
    if (r->ed == NULL) {
      clearerr(stdin);
      fputc('\n', stdout);
    }
    return LINE_CANCEL;
  }
  if (line == NULL)
    return LINE_EOF;
  lua_pushstring(r->L, line);
  free(line);
  return LINE_OK;
}

/* The prompt: the global _PROMPT or _PROMPT2 when it is a string, as lua.c
 * allows, otherwise "> " or ">> ". The global keeps the string alive. */
static const char *aux_prompt(lua_State *L, int firstline) {
  const char *p = NULL;
  lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2");
  if (lua_type(L, -1) == LUA_TSTRING)
    p = lua_tostring(L, -1);
  lua_pop(L, 1);
  return p != NULL ? p : (firstline ? IPCSH_PROMPT : IPCSH_PROMPT2);
}

/* ------------------------------------------------------ the main loop */

/* Whether a load status is a syntax error at the end of the chunk, which
 * more lines could complete. Pops the message when it is. The lexer's
 * message ends in "<eof>" from 5.2 on, in "'<eof>'" in 5.1 and LuaJIT. */
static int aux_incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    static const char *const marks[] = {"<eof>", "'<eof>'"};
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    for (int i = 0; i < 2; i++) {
      size_t lmark = strlen(marks[i]);
      if (lmsg >= lmark && strcmp(msg + lmsg - lmark, marks[i]) == 0) {
        lua_pop(L, 1);
        return 1;
      }
    }
  }
  return 0;
}

/* Compiles the line on top as an expression, "return <line>"; leaves the
 * function on success, nothing on failure. */
static int aux_addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK)
    lua_remove(L, -2); /* the modified line */
  else
    lua_pop(L, 2); /* the error and the modified line */
  return status;
}

/* Compiles the text at index 1 as statements, reading continuation lines
 * while the error says the chunk ended too early. LINE_CANCEL on Ctrl-C. */
static int aux_multiline(repl_t *r, int *status) {
  lua_State *L = r->L;
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, 1, &len);
    int got;
    *status = luaL_loadbuffer(L, chunk, len, "=stdin");
    if (!aux_incomplete(L, *status))
      return LINE_OK;
    got = aux_readline(r, aux_prompt(L, 0));
    if (got == LINE_CANCEL)
      return LINE_CANCEL;
    if (got == LINE_EOF) {
      /* Ctrl-D inside a statement: report it as the incomplete chunk, on a
       * line of its own (libedit leaves the cursor after its "^D"). */
      if (r->ed != NULL) {
        fputc('\n', stdout);
        fflush(stdout);
      }
      *status = luaL_loadbuffer(L, chunk, len, "=stdin");
      return LINE_OK;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3); /* chunk .. "\n" .. line, at index 1 */
  }
}

/* Reads and compiles one command. Leaves the function (or the error
 * message) alone on the stack and returns the load status; or returns -1
 * at end of input, -2 when Ctrl-C cancelled the command. */
static int aux_loadline(repl_t *r) {
  lua_State *L = r->L;
  int status, got;
  lua_settop(L, 0);
  ipcsh_interrupt_clear(); /* a Ctrl-C from before is not for this line */
  got = aux_readline(r, aux_prompt(L, 1));
  if (got != LINE_OK)
    return got == LINE_EOF ? -1 : -2;
  if ((status = aux_addreturn(L)) != LUA_OK) {
    if (aux_multiline(r, &status) == LINE_CANCEL) {
      lua_settop(L, 0);
      return -2;
    }
  }
  if (r->ed != NULL)
    ipcsh_edit_remember(r->ed, lua_tostring(L, 1));
  lua_remove(L, 1); /* the text */
  return status;
}

/* Prints the values on the stack with the prelude's formatter. */
static void aux_print(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0)
    return;
  if (!lua_checkstack(L, LUA_MINSTACK)) {
    fprintf(stderr, "too many results to print (%d)\n", n);
    fflush(stderr);
    lua_settop(L, 0);
    return;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, IPCSH_SHELL);
  lua_getfield(L, -1, "show");
  lua_remove(L, -2);
  lua_insert(L, 1);
  if (ipcsh_docall(L, n, 1) != LUA_OK) {
    fprintf(stderr, "error printing the result (%s)\n", lua_tostring(L, -1));
    fflush(stderr);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
  lua_settop(L, 0);
}

void ipcsh_repl(lua_State *L) {
  repl_t r;
  int status;
  r.L = L;
  r.ed = isatty(STDIN_FILENO) ? ipcsh_edit_open(L) : NULL;
  /* Children and listened objects are watched from now on. */
  lua_pushboolean(L, 1);
  if (ipcsh_hook(L, "interactive", 1, 0) != LUA_OK)
    ipcsh_report(L, LUA_ERRRUN, IPCSH_PROGNAME);
  ipcsh_rcfile(L);
  while ((status = aux_loadline(&r)) != -1) {
    if (status == -2)
      continue; /* cancelled: a fresh prompt */
    if (status == LUA_OK)
      status = ipcsh_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      aux_print(L);
    else
      ipcsh_report(L, status, NULL);
  }
  lua_settop(L, 0);
  if (r.ed != NULL)
    ipcsh_edit_close(r.ed);
  fputc('\n', stdout);
  fflush(stdout);
}
