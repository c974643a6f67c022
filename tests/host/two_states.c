/* two_states.c: a C host that loads the ipc module (the real ipc.so, found
 * through package.cpath) into several lua_States on several threads at once:
 * each makes pipes, spawns cat and pushes data through; one state is closed
 * while another keeps using the module; a third checks the EINTR hook under
 * signals sent to its thread. Prints TAP, exits non-zero on a failure.
 *
 * Usage: host_two_states build/<lua>/release/lua/ipc.so */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Rounds through cat of the state that gets closed early; the other state
 * goes on for at least as many rounds after that close. */
#define ROUNDS 40

typedef struct job {
  const char *name;
  lua_State *L;
  pthread_t thread;
  int ok;
  char msg[512];
} job;

static const char *cpath;    /* "<directory of ipc.so>/?.so" */
static atomic_int a_closed;  /* state A is closed (set by its thread) */
static atomic_int hook_done; /* the EINTR job has finished */

/* Each round spawns cat, sends a message of varying size (under the 64 KiB
 * a pipe holds, as one thread both writes and reads) through it and
 * through a pipe of the state's own, and checks what comes back. `more`
 * says whether to go on after `rounds`. */
static const char worker_lua[] =
    "local ipc = require 'ipc'\n"
    "local tag, rounds, more = ...\n"
    "local i = 0\n"
    "while i < rounds or (more and more(i)) do\n"
    "  i = i + 1\n"
    "  local p = assert(ipc.spawn({'cat'}, {stdin = 'pipe', stdout = "
    "'pipe'}))\n"
    "  local msg = tag .. ':' .. i .. ':' .. string.rep('x', i * 997 % 60000)\n"
    "  assert(p.stdin:write(msg))\n"
    "  p.stdin:close()\n"
    "  local back = assert(p.stdout:read('a'))\n"
    "  p.stdout:close()\n"
    "  local how, code = p:wait()\n"
    "  p:close()\n"
    "  if back ~= msg or how ~= 'exit' or code ~= 0 then\n"
    "    error(('round %d: %d of %d bytes, %s %s'):format(i, #back, #msg,\n"
    "          tostring(how), tostring(code)))\n"
    "  end\n"
    "  local r, w = assert(ipc.pipe())\n"
    "  w:write(msg, '\\n')\n"
    "  assert(r:read('l') == msg, 'pipe round trip')\n"
    "  r:close(); w:close()\n"
    "end\n"
    "keep = {ipc.pipe()} -- left open for lua_close to collect\n"
    "return i\n";

/* The EINTR policy, with SIGUSR1 sent to this thread over and over: a hook
 * that returns makes the read retry (the data it needs is written by the
 * hook itself, so the line comes only if the hook ran); a hook that raises
 * aborts the read, and the next read still gets the whole line. */
static const char hook_lua[] =
    "local ipc = require 'ipc'\n"
    "local reg = debug.getregistry()\n"
    "local r, w = assert(ipc.pipe())\n"
    "local calls, mode = 0, 'return'\n"
    "reg['ipc.interrupt'] = function()\n"
    "  calls = calls + 1\n"
    "  if mode == 'raise' then error('interrupted!') end\n"
    "  if calls == 1 then w:write('lo\\n') end\n"
    "end\n"
    "w:write('hel')\n"
    "local line = r:read('l')\n"
    "assert(line == 'hello', 'retry after a returning hook: ' .. "
    "tostring(line))\n"
    "mode = 'raise'\n"
    "w:write('wor')\n"
    "local ok, err = pcall(r.read, r, 'l')\n"
    "assert(not ok and tostring(err):find('interrupted!'), 'no raise: ' .. "
    "tostring(err))\n"
    "reg['ipc.interrupt'] = nil\n"
    "w:write('ld\\n')\n"
    "assert(r:read('l') == 'world', 'data lost after a raising hook')\n"
    "r:close(); w:close()\n"
    "return calls\n";

static void on_usr1(int sig) { (void)sig; }

/* more(i) for state B: go on until A is closed, then ROUNDS more. */
static int l_more(lua_State *L) {
  static _Thread_local int after = -1;
  int i = (int)lua_tointeger(L, 1);
  if (after < 0 && atomic_load(&a_closed))
    after = i;
  lua_pushboolean(L, after < 0 || i < after + ROUNDS);
  return 1;
}

static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL)
    return NULL;
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, cpath);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  return L;
}

/* Runs a chunk with nargs arguments already pushed after it; records the
 * outcome in j. */
static void run(job *j, int nargs) {
  if (lua_pcall(j->L, nargs, 1, 0) != 0) {
    const char *err = lua_tostring(j->L, -1);
    snprintf(j->msg, sizeof j->msg, "%s", err ? err : "(no message)");
    j->ok = 0;
  } else {
    snprintf(j->msg, sizeof j->msg, "%ld", (long)lua_tointeger(j->L, -1));
    j->ok = 1;
  }
  lua_pop(j->L, 1);
}

static int load(job *j, const char *code) {
  if (luaL_loadstring(j->L, code) != 0) {
    snprintf(j->msg, sizeof j->msg, "%s", lua_tostring(j->L, -1));
    j->ok = 0;
    return 0;
  }
  return 1;
}

/* State A: its rounds, then lua_close while B is still at work. */
static void *thread_a(void *arg) {
  job *j = arg;
  if (load(j, worker_lua)) {
    lua_pushstring(j->L, j->name);
    lua_pushinteger(j->L, ROUNDS);
    run(j, 2);
  }
  lua_close(j->L);
  j->L = NULL;
  atomic_store(&a_closed, 1);
  return NULL;
}

/* State B: until A is closed, and ROUNDS rounds after. */
static void *thread_b(void *arg) {
  job *j = arg;
  if (load(j, worker_lua)) {
    lua_pushstring(j->L, j->name);
    lua_pushinteger(j->L, ROUNDS);
    lua_pushcfunction(j->L, l_more);
    run(j, 3);
  }
  return NULL;
}

static void *thread_hook(void *arg) {
  job *j = arg;
  if (load(j, hook_lua))
    run(j, 0);
  atomic_store(&hook_done, 1);
  return NULL;
}

static int tap(int n, int ok, const char *what, const char *detail) {
  printf("%s %d - %s", ok ? "ok" : "not ok", n, what);
  if (detail && *detail)
    printf(" (%s)", detail);
  printf("\n");
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s path/to/ipc.so\n", argv[0]);
    return 2;
  }
  /* package.cpath from the module's directory: require finds the real .so */
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

  alarm(120); /* a hang fails the run instead of blocking it */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1; /* no SA_RESTART: blocked calls get EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);

  job a = {.name = "A"}, b = {.name = "B"}, h = {.name = "hook"};
  a.L = new_state();
  b.L = new_state();
  h.L = new_state();
  if (!a.L || !b.L || !h.L) {
    printf("Bail out! cannot create lua_States\n");
    return 1;
  }
  pthread_create(&a.thread, NULL, thread_a, &a);
  pthread_create(&b.thread, NULL, thread_b, &b);
  pthread_create(&h.thread, NULL, thread_hook, &h);
  /* Interrupt the hook thread until its job is done. */
  while (!atomic_load(&hook_done)) {
    pthread_kill(h.thread, SIGUSR1);
    usleep(10000);
  }
  pthread_join(a.thread, NULL);
  pthread_join(b.thread, NULL);
  pthread_join(h.thread, NULL);

  int ok = 1;
  printf("1..6\n");
  ok &= tap(1, a.ok, "state A pushes data through cat and pipes", a.msg);
  ok &= tap(2, b.ok, "state B does the same at the same time", b.msg);
  ok &= tap(3, b.ok && atoi(b.msg) >= 2 * ROUNDS,
            "state B goes on while state A is closed", b.msg);

  /* B again, from this thread, after A's lua_close unloaded its copy. */
  job c = {.name = "B-after", .L = b.L};
  if (load(&c, worker_lua)) {
    lua_pushstring(c.L, c.name);
    lua_pushinteger(c.L, 3);
    run(&c, 2);
  }
  lua_close(b.L);
  ok &= tap(4, c.ok, "the module still works in B once A is gone", c.msg);
  ok &= tap(5, h.ok,
            "an EINTR hook that returns retries; one that raises loses nothing",
            h.msg);
  lua_close(h.L);

  /* Every child was reaped: none is left, running or zombie. */
  errno = 0;
  pid_t left = waitpid(-1, NULL, WNOHANG);
  ok &= tap(6, left < 0 && errno == ECHILD, "no child is left behind", "");
  return ok ? 0 : 1;
}
