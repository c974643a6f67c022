/* prelude.c: embeds shell/prelude.lua into ipcsh, so the binary needs no
 * file at run time. The assembler finds prelude.lua through the -Wa,-I the
 * build passes. make does not see that dependency: after editing
 * prelude.lua, touch this file (or clean) before rebuilding. */
#include "repl.h"

/* Alignment and data directive of a size_t. */
#if __SIZEOF_SIZE_T__ == 8
#define IPCSH_SIZE_ALIGN "8"
#define IPCSH_SIZE_DATA ".8byte"
#else
#define IPCSH_SIZE_ALIGN "4"
#define IPCSH_SIZE_DATA ".4byte"
#endif

/* The text, then a NUL so it is also a C string, then its size without the
 * NUL as a size_t; all in read-only data. */
__asm__(".pushsection .rodata\n"
        ".global ipcsh_prelude\n"
        ".type ipcsh_prelude, @object\n"
        "ipcsh_prelude:\n"
        ".incbin \"prelude.lua\"\n"
        ".Lipcsh_prelude_end:\n"
        ".byte 0\n"
        ".size ipcsh_prelude, . - ipcsh_prelude\n"
        ".balign " IPCSH_SIZE_ALIGN "\n"
        ".global ipcsh_prelude_size\n"
        ".type ipcsh_prelude_size, @object\n"
        "ipcsh_prelude_size:\n" IPCSH_SIZE_DATA
        " .Lipcsh_prelude_end - ipcsh_prelude\n"
        ".size ipcsh_prelude_size, . - ipcsh_prelude_size\n"
        ".popsection\n");
