/* tests/c/error.c: the error codes of libipc and the version calls.
 * The codes come from one list, IPC_ERROR_MAP; these tests walk that list,
 * so a code added there is checked without a new test. */
#include "testutil.h"

#include <limits.h>
#include <string.h>

struct code {
  int value;
  const char *name;
  const char *msg;
};

static const struct code codes[] = {
#define CODE(name, value, msg) {IPC_##name, #name, msg},
    IPC_ERROR_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof codes / sizeof codes[0])

/* Codes that libipc defines itself, outside errno space. */
static const int library_codes[] = {IPC_EOF, IPC_ECORRUPT, IPC_EPEERDEAD};

TestSuite(error);

Test(error, every_code_has_a_distinct_negative_value, .timeout = 10) {
  for (size_t i = 0; i < NCODES; i++) {
    cr_assert_lt(codes[i].value, 0, "IPC_%s is %d", codes[i].name,
                 codes[i].value);
    for (size_t j = i + 1; j < NCODES; j++)
      cr_assert_neq(codes[i].value, codes[j].value,
                    "IPC_%s and IPC_%s share the value %d", codes[i].name,
                    codes[j].name, codes[i].value);
  }
}

Test(error, every_code_has_its_message_and_its_name, .timeout = 10) {
  for (size_t i = 0; i < NCODES; i++) {
    const char *msg = ipc_strerror(codes[i].value);
    cr_assert_str_eq(msg, codes[i].msg, "ipc_strerror(IPC_%s)", codes[i].name);
    cr_assert_str_neq(msg, "unknown error", "IPC_%s", codes[i].name);
    cr_assert_str_neq(msg, "", "IPC_%s", codes[i].name);
    cr_assert_str_eq(ipc_errname(codes[i].value), codes[i].name);
  }
}

Test(error, kernel_codes_are_negative_errno_values, .timeout = 10) {
  /* Everything above -4096 must be a real errno, so that -errno from a
   * system call can be returned as it is. */
  for (size_t i = 0; i < NCODES; i++)
    if (codes[i].value > -4096)
      cr_assert_not_null(strerrordesc_np(-codes[i].value),
                         "IPC_%s = %d is not an errno value", codes[i].name,
                         codes[i].value);
  cr_assert_eq(IPC_EPIPE, -EPIPE);
  cr_assert_eq(IPC_ETIMEDOUT, -ETIMEDOUT);
  cr_assert_eq(IPC_EINTR, -EINTR);
}

Test(error, library_codes_are_far_from_errno_space, .timeout = 10) {
  for (size_t i = 0; i < sizeof library_codes / sizeof library_codes[0]; i++)
    cr_assert_lt(library_codes[i], -4095, "%s is %d",
                 ipc_errname(library_codes[i]), library_codes[i]);
  cr_assert_str_eq(ipc_errname(IPC_EOF), "EOF");
  cr_assert_str_eq(ipc_strerror(IPC_EOF), "end of file");
}

Test(error, an_errno_outside_the_list_gets_the_c_library_description,
     .timeout = 10) {
  for (size_t i = 0; i < NCODES; i++)
    cr_assert_neq(codes[i].value, -EL2HLT, "EL2HLT is in the list now");
  cr_assert_str_eq(ipc_strerror(-EL2HLT), strerrordesc_np(EL2HLT));
  cr_assert_str_eq(ipc_strerror(-EL2HLT), "Level 2 halted");
  cr_assert_str_eq(ipc_errname(-EL2HLT), "EL2HLT");
  /* Static storage: the same pointer every time. */
  cr_assert_eq(ipc_strerror(-EL2HLT), ipc_strerror(-EL2HLT));
}

Test(error, garbage_gets_unknown_error, .timeout = 10) {
  static const int garbage[] = {0,       1,      42,      INT_MAX,
                                INT_MIN, -4000,  -4096,   -5000,
                                -20000,  -20004, -999999, INT_MIN + 1};
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
    cr_assert_str_eq(ipc_strerror(garbage[i]), "unknown error", "code %d",
                     garbage[i]);
    cr_assert_str_eq(ipc_errname(garbage[i]), "UNKNOWN", "code %d", garbage[i]);
  }
}

Test(error, version_matches_the_header, .timeout = 10) {
  cr_assert_eq(ipc_version(), IPC_VERSION_HEX);
  cr_assert_str_eq(ipc_version_string(), IPC_VERSION_STRING);
  unsigned v = ipc_version();
  char buf[32];
  snprintf(buf, sizeof buf, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
  cr_assert_str_eq(ipc_version_string(), buf);
  snprintf(buf, sizeof buf, "%d.%d.%d", IPC_VERSION_MAJOR, IPC_VERSION_MINOR,
           IPC_VERSION_PATCH);
  cr_assert_str_eq(IPC_VERSION_STRING, buf);
}
