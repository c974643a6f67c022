/* main.c: ipcsh's command line, modelled on lua.c: options, the `arg`
 * table, running scripts, -e strings and stdin, the tour, and the exit
 * status. The Lua ipcsh was built against (5.1 to 5.4 or LuaJIT) with the
 * ipc module preloaded and set as the global `ipc`; the interactive loop is
 * in repl.c and edit.c. */
#include "repl.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "ipc.h"

/* The ipc module, compiled into ipcsh from lua/src. */
int luaopen_ipc(lua_State *L);

/* Bits of what collectargs found on the command line. */
#define has_error 1 /* a bad option */
#define has_i 2     /* -i */
#define has_v 4     /* -v */
#define has_e 8     /* -e (or -l, which also runs something) */
#define has_t 16    /* --tour */
#define has_V 32    /* --lua-version */

static void print_usage(const char *badoption) {
  if (badoption != NULL) {
    if (badoption[1] == 'e' || badoption[1] == 'l')
      fprintf(stderr, "%s: '%s' needs argument\n", IPCSH_PROGNAME, badoption);
    else
      fprintf(stderr, "%s: unrecognized option '%s'\n", IPCSH_PROGNAME,
              badoption);
  }
  fprintf(badoption != NULL ? stderr : stdout,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -v        show version information\n"
          "  -h        show this help\n"
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n"
          "  --lua-version  show the version of the Lua ipcsh runs on\n"
          "  --tour    a guided tour of ipc for newcomers\n"
          "Long forms: --version, --help. Without a script, ipcsh is\n"
          "interactive on a terminal and runs stdin otherwise.\n"
          "Environment: IPCSH_HISTORY (the history file), IPCSHRC (the rc\n"
          "file, run before the first prompt), NO_COLOR (plain results).\n",
          IPCSH_PROGNAME);
  fflush(badoption != NULL ? stderr : stdout);
}

/* Pushes the name and version of the Lua this is: jit.version under
 * LuaJIT (which calls itself Lua 5.1 in its headers), else the release
 * ("Lua 5.4.6") or only the version ("Lua 5.4"). */
static const char *pushluaversion(lua_State *L, int release) {
  lua_getglobal(L, "jit");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "version");
    lua_remove(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING)
      return lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  lua_pushstring(L, release ? LUA_RELEASE : LUA_VERSION);
  return lua_tostring(L, -1);
}

static void print_version(lua_State *L, int args) {
  if (args & has_v)
    printf("%s %s (%s)\n", IPCSH_PROGNAME, ipc_version_string(),
           pushluaversion(L, 1));
  else
    printf("%s\n", pushluaversion(L, 1));
  lua_pop(L, 1);
  fflush(stdout);
}

/* Scans the options, as lua.c does. Returns the has_* bits and sets *first
 * to the index of the script (argc when there is none). A usage error
 * leaves the offending index in *first. -h/--help are handled by the
 * caller (a help request is not a usage error). */
static int collectargs(char **argv, int *first) {
  int args = 0;
  int i;
  if (argv[0] == NULL) { /* no program name, no arguments */
    *first = 0;
    return 0;
  }
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') /* not an option: the script */
      return args;
    if (strcmp(argv[i], "--version") == 0) {
      args |= has_v;
      continue;
    }
    if (strcmp(argv[i], "--lua-version") == 0) {
      args |= has_V;
      continue;
    }
    if (strcmp(argv[i], "--tour") == 0) {
      args |= has_t;
      continue;
    }
    switch (argv[i][1]) {
    case '-': /* "--" */
      if (argv[i][2] != '\0')
        return has_error;
      *first = i + 1;
      return args;
    case '\0': /* "-": stdin as the script */
      return args;
    case 'i':
    case 'v':
      if (argv[i][2] != '\0')
        return has_error;
      args |= argv[i][1] == 'i' ? has_i : has_v;
      break;
    case 'e':
    case 'l':
      args |= has_e;
      if (argv[i][2] == '\0') { /* the argument is the next word */
        i++;
        if (argv[i] == NULL || argv[i][0] == '-')
          return has_error;
      }
      break;
    default:
      return has_error;
    }
  }
  *first = i;
  return args;
}

/* Whether -h/--help appears among the options (before the script). */
static int wants_help(char **argv) {
  int i;
  for (i = 1; argv[i] != NULL && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0 || strcmp(argv[i], "-") == 0)
      break;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return 1;
    if ((strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-l") == 0) &&
        argv[i + 1] != NULL)
      i++; /* skip the option's argument */
  }
  return 0;
}

/* The global `arg`, as lua.c builds it: arg[0] is the script, the script's
 * arguments are arg[1..n], the interpreter and its options are at negative
 * indices. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  int i, narg;
  if (script == argc)
    script = 0; /* no script: everything is an option */
  narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK)
    status = ipcsh_docall(L, 0, 0);
  return ipcsh_report(L, status, IPCSH_PROGNAME);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* require(name) into the global of the same name. */
static int dolibrary(lua_State *L, const char *name) {
  int status;
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  status = ipcsh_docall(L, 1, 1);
  if (status == LUA_OK)
    lua_setglobal(L, name);
  return ipcsh_report(L, status, IPCSH_PROGNAME);
}

/* Runs the -e and -l options in command-line order. */
static int runargs(lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int option = argv[i][1];
    if (argv[i][0] != '-' || (option != 'e' && option != 'l'))
      continue;
    {
      const char *extra = argv[i] + 2;
      int status;
      if (*extra == '\0')
        extra = argv[++i];
      status = option == 'e' ? dostring(L, extra, "=(command line)")
                             : dolibrary(L, extra);
      if (status != LUA_OK)
        return 0;
    }
  }
  return 1;
}

/* Pushes the script's arguments (arg[1..n]) for its `...`. */
static int pushargs(lua_State *L) {
  int i, n;
  lua_getglobal(L, "arg");
  if (!lua_istable(L, -1))
    luaL_error(L, "'arg' is not a table");
  n = (int)lipc_rawlen(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -i); /* the table */
  return n;
}

/* Runs the script argv[0] ("-" or NULL: stdin) with its arguments. */
static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  int status;
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
    fname = NULL; /* stdin */
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = ipcsh_docall(L, n, LUA_MULTRET);
  }
  return ipcsh_report(L, status, IPCSH_PROGNAME);
}

/* The interactive loop, with the banner when a person is typing, and what
 * the prelude adds to it (under LuaJIT: which loops Ctrl-C cannot stop). */
static void doREPL(lua_State *L) {
  if (isatty(STDIN_FILENO)) {
    printf("%s %s (%s) \xe2\x80\x94 help() for help, Ctrl-D to exit\n",
           IPCSH_PROGNAME, ipc_version_string(), pushluaversion(L, 0));
    lua_pop(L, 1);
    if (ipcsh_hook(L, "notes", 0, 1) == LUA_OK && lua_isstring(L, -1))
      printf("%s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    fflush(stdout);
  }
  ipcsh_repl(L);
}

/* --tour: steps shown and run one after the other; on a terminal each
 * waits for Enter. Returns true when every step ran. */
static int dotour(lua_State *L) {
  lua_pushboolean(L, isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
  int status = ipcsh_hook(L, "tour", 1, 1);
  if (ipcsh_report(L, status, IPCSH_PROGNAME) != LUA_OK)
    return 0;
  int ok = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return ok;
}

/* Whether results may be coloured: stdout is a terminal that is not
 * "dumb", and NO_COLOR (https://no-color.org) is unset or empty. */
static int wants_color(void) {
  const char *no = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  if (no != NULL && no[0] != '\0')
    return 0;
  if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0)
    return 0;
  return isatty(STDOUT_FILENO);
}

/* Runs in protected mode, as lua.c's pmain: sets the state up and does what
 * the command line asks. Returns true on success. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args = collectargs(argv, &script);
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  luaL_openlibs(L);
  /* `ipc` is both require-able and a global. */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_ipc);
  lua_setfield(L, -2, "ipc");
  lua_pop(L, 2);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "ipc");
  lua_call(L, 1, 1);
  lua_setglobal(L, "ipc");
  ipcsh_setup(L, wants_color());
  createargtable(L, argv, argc, script);
  if (args & (has_v | has_V))
    print_version(L, args);
  if (!runargs(L, argv, script))
    return 0;
  if ((args & has_t) && !dotour(L))
    return 0;
  if (script < argc && handle_script(L, argv + script) != LUA_OK)
    return 0;
  if (args & has_i) {
    doREPL(L);
  } else if (script == argc && !(args & (has_e | has_v | has_V | has_t))) {
    if (isatty(STDIN_FILENO))
      doREPL(L);
    else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK)
      return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  int status, result;
  lua_State *L;
  /* Multibyte characters for line editing. LC_NUMERIC stays "C", so Lua
   * still reads and writes numbers with a dot. */
  setlocale(LC_CTYPE, "");
  if (wants_help(argv)) {
    print_usage(NULL);
    return EXIT_SUCCESS;
  }
  L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n",
            IPCSH_PROGNAME);
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  result = lua_toboolean(L, -1);
  ipcsh_report(L, status, IPCSH_PROGNAME);
  lua_close(L);
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
