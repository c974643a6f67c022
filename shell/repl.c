/* repl.c: how ipcsh runs Lua for the user. Ctrl-C (a SIGINT flag that arms
 * a hook, as lua.c does, plus the "ipc.interrupt" hook the ipc module calls
 * when a blocking wait returns EINTR), protected calls with tracebacks, the
 * prelude, and the read-eval-print loop with libedit line editing,
 * multi-line input and a history file. */
#include "repl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <editline/readline.h>
#include <lauxlib.h>

#define IPCSH_PROMPT "> "
#define IPCSH_PROMPT2 ">> "
#define IPCSH_HISTORY_MAX 1000
#define IPCSH_HISTORY_FILE ".ipcsh_history"
/* Registry keys: the prelude's result formatter, and the sentinel whose
 * finalizer takes the SIGINT handler down when the state closes. */
#define IPCSH_SHOW "ipcsh.show"
#define IPCSH_SIGNALS "ipcsh.signals"
/* The error the lexer gives for a chunk that ends too early. */
#define IPCSH_EOFMARK "<eof>"
#define IPCSH_EOFMARK_LEN (sizeof(IPCSH_EOFMARK) - 1)

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

/* Disarms a pending interrupt. */
static void aux_disarm(void) {
  interrupted = 0;
  if (globalL != NULL)
    lua_sethook(globalL, NULL, 0, 0);
}

/* The hook the handler arms: raises at the next instruction. */
static void aux_stop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  aux_disarm();
  luaL_error(L, "interrupted!");
}

static void aux_sigint(int sig) {
  if (interrupted) {
    /* The previous Ctrl-C was never acted upon: something is stuck in C
     * code that neither returns nor runs Lua. Let this one terminate the
     * process as if we had no handler, as lua.c does on a second SIGINT. */
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
    aux_disarm();
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
  struct sigaction *old = lua_newuserdatauv(L, sizeof *old, 0); /* sentinel */
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
  luaL_traceback(L, L, msg, 1);
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
    aux_disarm();
  return status;
}

int ipcsh_report(lua_State *L, int status, const char *progname) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
      msg = "(error object is not a string)";
    if (progname != NULL)
      fprintf(stderr, "%s: ", progname);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
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

void ipcsh_setup(lua_State *L) {
  const ipcsh_file *prelude = ipcsh_file_find("prelude.lua");
  aux_signals(L);
  if (luaL_loadbuffer(L, prelude->data, *prelude->size, "=prelude.lua") !=
      LUA_OK)
    lua_error(L);
  lua_getglobal(L, "ipc");
  lua_pushcfunction(L, aux_file);
  lua_call(L, 2, 1);
  if (lua_type(L, -1) != LUA_TFUNCTION)
    luaL_error(L, "prelude.lua did not return the result printer");
  lua_setfield(L, LUA_REGISTRYINDEX, IPCSH_SHOW);
}

/* ------------------------------------------------------- reading lines */

typedef struct repl {
  lua_State *L;
  int tty;                 /* stdin is a terminal: libedit and history */
  char histpath[PATH_MAX]; /* "" when there is no history file */
} repl_t;

enum { LINE_OK, LINE_EOF, LINE_CANCEL };

/* rl_getc_function: one character from the terminal, waiting in ppoll with
 * SIGINT unblocked only there, so a Ctrl-C is never missed between the
 * check and the wait. On Ctrl-C it returns newlines (which end the line
 * whatever the editing mode) until readline returns; aux_readline then
 * sees the flag and discards the line. Multibyte characters are decoded
 * here because libedit takes our result as one wide character. */
static int aux_getc(FILE *in) {
  int fd = fileno(in);
  char buf[MB_LEN_MAX];
  size_t n = 0;
  int c = EOF;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &old);
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    mbstate_t mbs;
    wchar_t wc;
    size_t r;
    ssize_t got;
    if (interrupted) {
      c = '\n';
      break;
    }
    if (ppoll(&pfd, 1, NULL, &old) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    got = read(fd, buf + n, 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got != 1)
      break; /* end of file, or a terminal that went away */
    n++;
    memset(&mbs, 0, sizeof mbs);
    r = mbrtowc(&wc, buf, n, &mbs);
    if (r == (size_t)-2 && n < sizeof buf)
      continue; /* an incomplete sequence: read on */
    /* A bad sequence (or a locale without multibyte characters) gives
     * its first byte as it is. */
    c = (r == (size_t)-1 || r == (size_t)-2) ? (unsigned char)buf[0] : (int)wc;
    break;
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  return c;
}

/* Reads a line without the terminal (stdin is a file or a pipe), printing
 * the prompt as lua.c does without readline. */
static char *aux_getline(const char *prompt) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
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
  char *line = r->tty ? readline(prompt) : aux_getline(prompt);
  if (interrupted) {
    aux_disarm();
    free(line);
    if (!r->tty) {
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
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TSTRING)
    p = lua_tostring(L, -1);
  lua_pop(L, 1);
  return p != NULL ? p : (firstline ? IPCSH_PROMPT : IPCSH_PROMPT2);
}

/* ------------------------------------------------------------- history */

/* Where the history lives: $IPCSH_HISTORY (empty: no history), else
 * ~/.ipcsh_history. Loads it. */
static void aux_history_open(repl_t *r) {
  const char *env = getenv("IPCSH_HISTORY");
  const char *home = getenv("HOME");
  int len = -1;
  r->histpath[0] = '\0';
  if (env != NULL)
    len = snprintf(r->histpath, sizeof r->histpath, "%s", env);
  else if (home != NULL && home[0] != '\0')
    len = snprintf(r->histpath, sizeof r->histpath, "%s/%s", home,
                   IPCSH_HISTORY_FILE);
  if (len < 0 || (size_t)len >= sizeof r->histpath)
    r->histpath[0] = '\0';
  stifle_history(IPCSH_HISTORY_MAX);
  if (r->histpath[0] != '\0')
    read_history(r->histpath); /* a missing file is an empty history */
}

/* Adds a chunk (possibly several lines) to the history, unless it is blank
 * or repeats the last entry, and writes the file at once, so that os.exit()
 * or a crash loses nothing. A new file is private: history can hold secrets. */
static void aux_history_add(repl_t *r, const char *chunk) {
  HIST_ENTRY *last;
  if (!r->tty || chunk[strspn(chunk, " \t\r\n")] == '\0')
    return;
  last = history_length > 0 ? history_get(history_base + history_length - 1)
                            : NULL;
  if (last != NULL && last->line != NULL && strcmp(last->line, chunk) == 0)
    return;
  add_history(chunk);
  if (r->histpath[0] != '\0') {
    int fd = open(r->histpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      write_history(r->histpath);
    }
  }
}

/* ------------------------------------------------------ the main loop */

/* Whether a load status is a syntax error at the end of the chunk, which
 * more lines could complete. Pops the message when it is. */
static int aux_incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= IPCSH_EOFMARK_LEN &&
        strcmp(msg + lmsg - IPCSH_EOFMARK_LEN, IPCSH_EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
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
      /* Ctrl-D inside a statement: report it as the incomplete chunk. */
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
  aux_disarm(); /* a Ctrl-C from before the prompt is not for this line */
  got = aux_readline(r, aux_prompt(L, 1));
  if (got != LINE_OK)
    return got == LINE_EOF ? -1 : -2;
  if ((status = aux_addreturn(L)) != LUA_OK) {
    if (aux_multiline(r, &status) == LINE_CANCEL) {
      lua_settop(L, 0);
      return -2;
    }
  }
  aux_history_add(r, lua_tostring(L, 1));
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
  lua_getfield(L, LUA_REGISTRYINDEX, IPCSH_SHOW);
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

/* rl_pre_input_hook, run before each prompt. libedit prints the prompt and
 * only then leaves canonical mode, so keys typed as soon as the prompt shows
 * would be echoed twice by the kernel, and a Ctrl-D would become a
 * canonical end of file. Leaving canonical mode and echo first closes that
 * window; libedit then sets its own raw mode and restores the original
 * settings after the line. */
static int aux_preinput(void) {
  struct termios t;
  if (tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ICANON)) {
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  return 0;
}

/* libedit reads the terminal through aux_getc and must not install signal
 * handlers of its own: those re-send SIGINT to the whole process group. Both
 * settings are read when libedit initializes, so they come first. */
static void aux_lineedit_init(repl_t *r) {
  rl_readline_name = "ipcsh";
  rl_catch_signals = 0;
  rl_getc_function = aux_getc;
  rl_pre_input_hook = aux_preinput;
  rl_initialize();
  aux_history_open(r);
}

void ipcsh_repl(lua_State *L) {
  repl_t r;
  int status;
  r.L = L;
  r.tty = isatty(STDIN_FILENO);
  r.histpath[0] = '\0';
  if (r.tty)
    aux_lineedit_init(&r);
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
  fputc('\n', stdout);
  fflush(stdout);
}
