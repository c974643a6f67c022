/* signals.c: a C host with its own signal handlers that loads the ipc module
 * (the real ipc.so, through package.cpath) into several lua_States: two
 * states on two threads handle different signals with handlers of their
 * own; the host's handlers are chained, not clobbered; closing a state
 * removes its handlers and puts back exactly the dispositions it replaced;
 * ipc.signal.restore puts back exactly the host's, checked here with
 * sigaction. Prints TAP, exits non-zero on a failure.
 *
 * Usage: host_signals build/<lua>/release/lua/ipc.so */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *cpath; /* "<directory of ipc.so>/?.so" */
static int test_no, all_ok = 1;

static atomic_int host_int, host_usr1, host_term;
static void on_int(int sig) { (void)sig, atomic_fetch_add(&host_int, 1); }
static void on_term(int sig) { (void)sig, atomic_fetch_add(&host_term, 1); }
static void on_usr1(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (si != NULL && si->si_signo == sig)
    atomic_fetch_add(&host_usr1, 1);
}

static void tap(int ok, const char *what, const char *detail) {
  printf("%s %d - %s", ok ? "ok" : "not ok", ++test_no, what);
  if (detail && *detail)
    printf(" (%s)", detail);
  printf("\n");
  fflush(stdout);
  all_ok &= ok;
}

static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    printf("Bail out! cannot create a lua_State\n");
    exit(1);
  }
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, cpath);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  return L;
}

/* Runs code in L; the result (or the error) as a string in out. */
static int run(lua_State *L, const char *code, char *out, size_t n) {
  int ok = luaL_loadstring(L, code) == 0 && lua_pcall(L, 0, 1, 0) == 0;
  const char *s = lua_tostring(L, -1);
  snprintf(out, n, "%s", s ? s : (ok ? "" : "(no message)"));
  lua_pop(L, 1);
  return ok;
}

/* Whether the disposition of sig is exactly `want`: function, flags, mask. */
static int same_action(int sig, const struct sigaction *want, char *why,
                       size_t n) {
  struct sigaction cur;
  sigaction(sig, NULL, &cur);
  if (cur.sa_handler != want->sa_handler) {
    snprintf(why, n, "handler %p, want %p", (void *)cur.sa_handler,
             (void *)want->sa_handler);
    return 0;
  }
  if (cur.sa_flags != want->sa_flags) {
    snprintf(why, n, "flags %#x, want %#x", cur.sa_flags, want->sa_flags);
    return 0;
  }
  for (int s = 1; s < 65; s++)
    if (sigismember(&cur.sa_mask, s) != sigismember(&want->sa_mask, s)) {
      snprintf(why, n, "mask bit %d differs", s);
      return 0;
    }
  why[0] = '\0';
  return 1;
}

/* Whether libipc's handler (anything but the host's and the defaults) is
 * the disposition of sig. */
static int ours(int sig, const struct sigaction *host) {
  struct sigaction cur;
  sigaction(sig, NULL, &cur);
  return (cur.sa_flags & SA_SIGINFO) && cur.sa_handler != host->sa_handler &&
         cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN;
}

/* ------------------------------------------------------ two states */

typedef struct job {
  lua_State *L;
  const char *code;
  pthread_t thread;
  int ok;
  char msg[512];
} job;

static atomic_int ready, go;

/* ready() from Lua: its handlers are in place; returns once the host has
 * sent the signals. */
static int l_ready(lua_State *L) {
  (void)L;
  atomic_fetch_add(&ready, 1);
  while (!atomic_load(&go))
    usleep(1000);
  return 0;
}

/* Waits (5 s at most) until its handlers have run `want` times, taking
 * its records at dispatch; returns the names in the order they ran. */
static const char state_lua[] =
    "local ipc = require 'ipc'\n"
    "local S, sigs, want = ipc.signal, ...\n"
    "local got = {}\n"
    "for _, name in ipairs(sigs) do\n"
    "  assert(S.handle(name, function(n) got[#got + 1] = n end))\n"
    "end\n"
    "ready()\n"
    "local r, w = assert(ipc.pipe())\n"
    "r:settimeout(0.01)\n"
    "for _ = 1, 500 do\n"
    "  S.dispatch()\n"
    "  if #got >= want then break end\n"
    "  r:read(1) -- a 10 ms nap\n"
    "end\n"
    "r:close(); w:close()\n"
    "return table.concat(got, ',')\n";

static void *state_thread(void *arg) {
  job *j = arg;
  /* The host's thread takes every signal, at once, in the order sent. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  lua_State *L = j->L;
  lua_pushcfunction(L, l_ready);
  lua_setglobal(L, "ready");
  if (luaL_loadstring(L, state_lua) != 0) {
    snprintf(j->msg, sizeof j->msg, "%s", lua_tostring(L, -1));
    return NULL;
  }
  /* The chunk's arguments: the signals to handle, the runs to wait for. */
  lua_getglobal(L, "sigs");
  lua_getglobal(L, "want");
  j->ok = lua_pcall(L, 2, 1, 0) == 0;
  const char *s = lua_tostring(L, -1);
  snprintf(j->msg, sizeof j->msg, "%s", s ? s : "");
  lua_pop(L, 1);
  return NULL;
}

/* Sets the globals sigs = {names...} and want = n in L. */
static void set_args(lua_State *L, const char *const names[], int want) {
  lua_newtable(L);
  for (int i = 0; names[i]; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "sigs");
  lua_pushinteger(L, want);
  lua_setglobal(L, "want");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s path/to/ipc.so\n", argv[0]);
    return 2;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", argv[1]);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  static char path[4200];
  snprintf(path, sizeof path, "%s/?.so", dir);
  cpath = path;
  alarm(60); /* a hang fails the run instead of blocking it */

  /* The host's own dispositions, read back as the kernel keeps them. */
  struct sigaction sa, h_int, h_usr1, h_usr2, h_term, h_hup, h_alrm;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_int;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &sa, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGWINCH);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGINT, NULL, &h_int);
  sigaction(SIGUSR1, NULL, &h_usr1);
  sigaction(SIGUSR2, NULL, &h_usr2);
  sigaction(SIGTERM, NULL, &h_term);
  sigaction(SIGHUP, NULL, &h_hup);
  sigaction(SIGALRM, NULL, &h_alrm);
  char why[256], out[512];

  printf("1..12\n");

  /* Two states, two threads, handlers of their own. */
  static const char *const a_sigs[] = {"USR1", "HUP", "INT", NULL};
  static const char *const b_sigs[] = {"USR2", "HUP", NULL};
  job a = {.L = new_state()}, b = {.L = new_state()};
  set_args(a.L, a_sigs, 3);
  set_args(b.L, b_sigs, 2);
  pthread_create(&a.thread, NULL, state_thread, &a);
  pthread_create(&b.thread, NULL, state_thread, &b);
  while (atomic_load(&ready) < 2)
    usleep(1000);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGUSR2);
  kill(getpid(), SIGHUP);
  kill(getpid(), SIGINT);
  atomic_store(&go, 1);
  pthread_join(a.thread, NULL);
  pthread_join(b.thread, NULL);
  tap(a.ok && strcmp(a.msg, "USR1,HUP,INT") == 0,
      "state A runs its own handlers, in order", a.msg);
  tap(b.ok && strcmp(b.msg, "USR2,HUP") == 0,
      "state B runs its own handlers, in order", b.msg);
  snprintf(why, sizeof why, "host INT ran %d, host USR1 ran %d",
           atomic_load(&host_int), atomic_load(&host_usr1));
  tap(atomic_load(&host_int) == 1 && atomic_load(&host_usr1) == 1,
      "the host's SIGINT and SIGUSR1 handlers are chained, not clobbered", why);

  /* Closing A removes its handlers; B's stay. */
  lua_close(a.L);
  int ok = same_action(SIGUSR1, &h_usr1, why, sizeof why) &&
           same_action(SIGINT, &h_int, why, sizeof why);
  tap(ok, "lua_close(A) puts back exactly the host's USR1 and INT handlers",
      why);
  tap(ours(SIGHUP, &h_hup), "B still handles HUP after A is closed", "");
  ok = run(b.L,
           "local S = require 'ipc'.signal\n"
           "local n = 0\n"
           "S.handle('HUP', function() n = n + 1 end)\n"
           "S.raise('HUP')\n"
           "S.dispatch()\n"
           "return n\n",
           out, sizeof out);
  tap(ok && strcmp(out, "1") == 0, "B's handler runs once A is gone", out);
  lua_close(b.L);
  ok = same_action(SIGUSR2, &h_usr2, why, sizeof why) &&
       same_action(SIGHUP, &h_hup, why, sizeof why);
  tap(ok, "lua_close(B) puts back SIG_IGN for USR2 and SIG_DFL for HUP", why);

  /* restore, checked with sigaction from here. */
  lua_State *L = new_state();
  ok = run(L,
           "S = require 'ipc'.signal\n"
           "assert(S.handle('TERM', function() end))\n"
           "assert(S.raise('TERM'))\n"
           "return S.dispatch()\n",
           out, sizeof out);
  tap(ok && ours(SIGTERM, &h_term) && atomic_load(&host_term) == 1,
      "handle replaces the host's TERM handler and chains to it", out);
  ok = run(L, "return assert(S.ignore('TERM'))", out, sizeof out);
  struct sigaction cur;
  sigaction(SIGTERM, NULL, &cur);
  tap(ok && cur.sa_handler == SIG_IGN, "ignore sets SIG_IGN", out);
  ok = run(L, "return assert(S.restore('TERM'))", out, sizeof out) &&
       same_action(SIGTERM, &h_term, why, sizeof why);
  tap(ok, "restore puts back exactly the host's TERM handler", why);
  ok = run(L,
           "assert(S.handle('USR1', function() end))\n"
           "assert(S.default('USR1'))\n"
           "return assert(S.restore('USR1'))\n",
           out, sizeof out) &&
       same_action(SIGUSR1, &h_usr1, why, sizeof why);
  tap(ok, "restore puts back the host's SA_SIGINFO handler, flags and mask",
      ok ? why : out);
  ok = run(L, "return assert(S.handle('ALRM', function() end))", out,
           sizeof out);
  lua_close(L);
  tap(ok && same_action(SIGALRM, &h_alrm, why, sizeof why),
      "lua_close puts back SIG_DFL for a signal still handled", why);
  return all_ok ? 0 : 1;
}
