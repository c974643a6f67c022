/* lipc_time.c: ipc.now() and ipc.sleep(), the monotonic clock in seconds
 * that timers and deadlines in Lua (the event loop, scripts) count with, and
 * a sleep that a signal interrupts through the shared EINTR policy. */
#include "lipc.h"

#include <errno.h>

/* Seconds a sleep is cut to (about 317 years): beyond it the sum with the
 * clock would overflow time_t on the way to the kernel. */
#define LIPC_SLEEP_MAX 1e10

/* ipc.now() -> seconds on CLOCK_MONOTONIC, a float with nanoseconds. */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

/* ipc.sleep(seconds): sleeps until an absolute deadline, so that a retry
 * after a signal sleeps only the time left. */
static int l_sleep(lua_State *L) {
  double s = (double)luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0, 1, "seconds must not be negative"); /* NaN too */
  if (s > LIPC_SLEEP_MAX)
    s = LIPC_SLEEP_MAX;
  struct timespec at;
  clock_gettime(CLOCK_MONOTONIC, &at);
  double whole = floor(s);
  at.tv_sec += (time_t)whole;
  at.tv_nsec += (long)((s - whole) * 1e9);
  if (at.tv_nsec >= 1000000000) {
    at.tv_sec++;
    at.tv_nsec -= 1000000000;
  }
  /* clock_nanosleep returns the error (not -1 and errno); a handled signal
   * ends it with EINTR whatever SA_RESTART says. */
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
    lipc_interrupted(L); /* may raise: the host breaks the sleep */
  return 0;
}

static const luaL_Reg timelib[] = {
    {"now", l_now},
    {"sleep", l_sleep},
    {NULL, NULL},
};

void lipc_open_time(lua_State *L) { lipc_setfuncs(L, timelib, 0); }
