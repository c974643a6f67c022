/* lipc_loop.c: ipc.loop(opts), the event loop written in Lua
 * (lua/ipc/loop.lua), embedded in the module so that every host (lua,
 * luajit, Neovim, ipcsh, a C host) has it without package.path. The build
 * passes the assembler -I the source root, and drops this object when
 * loop.lua is newer (premake5.lua), as for ipcsh's shell/prelude.c. */
#include "lipc.h"

#include <stddef.h>

/* The registry field that caches the loaded loop.lua: one load per state. */
#define LIPC_LOOP "ipc.loop"

/* Alignment and data directive of a size_t. */
#if __SIZEOF_SIZE_T__ == 8
#define LIPC_SIZE_ALIGN "8"
#define LIPC_SIZE_DATA ".8byte"
#else
#define LIPC_SIZE_ALIGN "4"
#define LIPC_SIZE_DATA ".4byte"
#endif

/* Embeds file as the read-only bytes sym and their count sym_size. The
 * symbols are local to this object: hidden, so -fPIC code reaches them
 * directly. */
#define LIPC_INCBIN(sym, file)                                                 \
  __asm__(".pushsection .rodata\n"                                             \
          ".type " #sym ", @object\n" #sym ":\n"                               \
          ".incbin \"" file "\"\n"                                             \
          ".L" #sym "_end:\n"                                                  \
          ".size " #sym ", . - " #sym "\n"                                     \
          ".balign " LIPC_SIZE_ALIGN "\n"                                      \
          ".type " #sym "_size, @object\n" #sym "_size:\n" LIPC_SIZE_DATA      \
          " .L" #sym "_end - " #sym "\n"                                       \
          ".size " #sym "_size, . - " #sym "_size\n"                           \
          ".popsection\n");                                                    \
  extern const char sym[] __attribute__((visibility("hidden")));               \
  extern const size_t sym##_size __attribute__((visibility("hidden")))

LIPC_INCBIN(lipc_loop_lua, "lua/ipc/loop.lua");

/* ipc.loop([opts]) -> a new loop. loop.lua runs once per state with the
 * module table (upvalue 1) and returns the constructor, kept in the
 * registry. */
static int l_loop(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIPC_LOOP);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, lipc_loop_lua, lipc_loop_lua_size,
                        "@ipc/loop.lua") != 0)
      return lua_error(L); /* a broken build: say so */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LIPC_LOOP);
  }
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

void lipc_open_loop(lua_State *L) {
  lua_pushvalue(L, -1); /* the module table, for loop.lua */
  lua_pushcclosure(L, l_loop, 1);
  lua_setfield(L, -2, "loop");
}
