/* Helpers shared by the C examples: status checks and engine setup. */
#ifndef SEATBOOK_EXAMPLE_COMMON_H
#define SEATBOOK_EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seatbook.h"

/* Aborts the example with the status name and the library's message. */
#define CHECK(call)                                                          \
  do {                                                                       \
    seatbook_status st_ = (call);                                            \
    if (st_ != SEATBOOK_OK) {                                                \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,      \
              #call, seatbook_status_name(st_),                              \
              seatbook_last_error_message());                                \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* Checks that a call fails with the expected status. */
#define EXPECT_STATUS(expected, call)                                        \
  do {                                                                       \
    seatbook_status st_ = (call);                                            \
    if (st_ != (expected)) {                                                 \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, \
              __LINE__, #call, seatbook_status_name(st_),                    \
              seatbook_status_name(expected),                                \
              seatbook_last_error_message());                                \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,   \
              #cond);                                                        \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define ADMIN_EMAIL "admin@example.com"
#define ADMIN_PASSWORD "admin-password"

/* Usage: prog DB_PATH [--fast]. --fast lowers the argon2 cost and turns off
 * fsync: for tests and demos only. */
static void example_config(int argc, char **argv, const char **db_path,
                           seatbook_config *cfg, char **admin_hash) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DB_PATH [--fast]\n", argv[0]);
    exit(2);
  }
  *db_path = argv[1];
  int fast = argc > 2 && strcmp(argv[2], "--fast") == 0;
  memset(cfg, 0, sizeof *cfg); /* zero = every default */
  if (fast) {
    cfg->argon2.memory_kib = 8;
    cfg->argon2.iterations = 1;
    cfg->argon2.parallelism = 1;
    cfg->durability = SEATBOOK_DURABILITY_NONE;
  }
  CHECK(seatbook_hash_password(ADMIN_PASSWORD, &cfg->argon2, admin_hash));
  cfg->admin_email = ADMIN_EMAIL;
  cfg->admin_password_hash = *admin_hash;
  cfg->admin_jwt_secret = "an-admin-secret-of-at-least-32-bytes!!";
  cfg->user_jwt_secret = "a-user-secret-of-at-least-32-bytes!!!!";
}

#endif
