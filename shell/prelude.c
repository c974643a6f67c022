/* prelude.c: embeds the shell's Lua files (shell/<x>.lua) and the docs its
 * help() reads (docs/<x>.md) into ipcsh, so the binary needs no file at run
 * time. The assembler finds them through the -Wa,-I the build passes; the
 * build drops this object whenever one of them is newer (premake5.lua). */
#include "repl.h"

#include <stddef.h>

/* Alignment and data directive of a size_t. */
#if __SIZEOF_SIZE_T__ == 8
#define IPCSH_SIZE_ALIGN "8"
#define IPCSH_SIZE_DATA ".8byte"
#else
#define IPCSH_SIZE_ALIGN "4"
#define IPCSH_SIZE_DATA ".4byte"
#endif

/* Embeds file as the text sym (then a NUL so it is also a C string) and
 * sym_size (its size without the NUL); all in read-only data. */
#define IPCSH_INCBIN(sym, file)                                                \
  __asm__(".pushsection .rodata\n"                                             \
          ".type " #sym ", @object\n" #sym ":\n"                               \
          ".incbin \"" file "\"\n"                                             \
          ".L" #sym "_end:\n"                                                  \
          ".byte 0\n"                                                          \
          ".size " #sym ", . - " #sym "\n"                                     \
          ".balign " IPCSH_SIZE_ALIGN "\n"                                     \
          ".type " #sym "_size, @object\n" #sym "_size:\n" IPCSH_SIZE_DATA     \
          " .L" #sym "_end - " #sym "\n"                                       \
          ".size " #sym "_size, . - " #sym "_size\n"                           \
          ".popsection\n");                                                    \
  extern const char sym[];                                                     \
  extern const size_t sym##_size

IPCSH_INCBIN(ipcsh_prelude_lua, "shell/prelude.lua");
IPCSH_INCBIN(ipcsh_help_lua, "shell/help.lua");
IPCSH_INCBIN(ipcsh_tools_lua, "shell/tools.lua");
IPCSH_INCBIN(ipcsh_pretty_lua, "shell/pretty.lua");
IPCSH_INCBIN(ipcsh_complete_lua, "shell/complete.lua");
IPCSH_INCBIN(ipcsh_events_lua, "shell/events.lua");
IPCSH_INCBIN(ipcsh_tour_lua, "shell/tour.lua");
IPCSH_INCBIN(ipcsh_doc_lua_md, "docs/lua.md");
IPCSH_INCBIN(ipcsh_doc_shell_md, "docs/shell.md");

/* Add a file here and in premake5.lua's list of embedded files. */
const ipcsh_file ipcsh_files[] = {
    {"prelude.lua", ipcsh_prelude_lua, &ipcsh_prelude_lua_size},
    {"help.lua", ipcsh_help_lua, &ipcsh_help_lua_size},
    {"tools.lua", ipcsh_tools_lua, &ipcsh_tools_lua_size},
    {"pretty.lua", ipcsh_pretty_lua, &ipcsh_pretty_lua_size},
    {"complete.lua", ipcsh_complete_lua, &ipcsh_complete_lua_size},
    {"events.lua", ipcsh_events_lua, &ipcsh_events_lua_size},
    {"tour.lua", ipcsh_tour_lua, &ipcsh_tour_lua_size},
    {"docs/lua.md", ipcsh_doc_lua_md, &ipcsh_doc_lua_md_size},
    {"docs/shell.md", ipcsh_doc_shell_md, &ipcsh_doc_shell_md_size},
    {NULL, NULL, NULL},
};
