// A raw C++ payment callback that throws, registered through the C API
// (not through seatbook::Engine). With --guarded it is wrapped in
// seatbook::guarded<>, and the throw becomes a decline; without, the
// exception reaches the library, which aborts the process (Rust cannot
// resume after a foreign exception): defined behaviour, never an approval.
//
//   throwing_callback DB_PATH --fast [--guarded]
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "common.h"
#include "seatbook.hpp"

static uint32_t throwing(void *, const seatbook_payment_request *, char *, size_t) {
  throw std::runtime_error("provider unreachable");
}

int main(int argc, char **argv) {
  const bool guarded = argc > 3 && std::strcmp(argv[3], "--guarded") == 0;
  const char *db_path;
  seatbook_config cfg;
  char *admin_hash = NULL;
  example_config(argc, argv, &db_path, &cfg, &admin_hash);
  cfg.payment_callback = guarded ? seatbook::guarded<throwing> : throwing;
  seatbook_engine *engine = NULL;
  CHECK(seatbook_engine_open(db_path, &cfg, &engine));
  seatbook_string_free(admin_hash);

  char *token = NULL;
  CHECK(seatbook_engine_admin_login(engine, ADMIN_EMAIL, ADMIN_PASSWORD, &token));
  seatbook_admin *admin = NULL;
  CHECK(seatbook_engine_admin(engine, token, &admin));
  seatbook_string_free(token);
  const char *origins[] = {"https://x.example"};
  char *key = NULL;
  CHECK(seatbook_admin_create_app(admin, "x-app", "X", origins, 1, &key, NULL));
  seatbook_new_seat seat = {"S1", 100, "EUR", NULL, NULL, NULL};
  CHECK(seatbook_admin_create_seats(admin, "x-app", "E1", &seat, 1, NULL));
  seatbook_app *app = NULL;
  CHECK(seatbook_engine_app(engine, "x-app", key, "https://x.example", &app));
  seatbook_string_free(key);
  CHECK(seatbook_app_signup(app, "buyer@x.example", "correct horse battery", &token));
  seatbook_user *user = NULL;
  CHECK(seatbook_app_user(app, token, &user));
  seatbook_string_free(token);

  const char *ids[] = {"S1"};
  seatbook_reservation *res = NULL;
  CHECK(seatbook_app_reserve(app, user, ids, 1, 0, &res));
  seatbook_reservation_view view;
  CHECK(seatbook_reservation_get(res, &view));
  printf("confirming\n");
  fflush(stdout);
  seatbook_booking *booking = NULL;
  seatbook_status st =
      seatbook_app_confirm(app, user, view.token, "pay_1", view.total_minor, &booking);
  printf("confirm returned %s: %s\n", seatbook_status_name(st), seatbook_last_error_message());
  ASSERT(st == SEATBOOK_PAYMENT_DECLINED && booking == NULL);

  seatbook_reservation_free(res);
  seatbook_user_free(user);
  seatbook_app_free(app);
  seatbook_admin_free(admin);
  seatbook_engine_close(engine);
  printf("throwing callback OK\n");
  return 0;
}
