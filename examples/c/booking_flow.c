/* The seed's booking flow through the C API: admin creates an app and
 * seats, a user signs up, lists seats, reserves two, pays, and books; a
 * declined payment releases its seat; the audit is clean; after close the
 * app handle answers SEATBOOK_ENGINE_CLOSED.
 *
 *   cc -Iinclude examples/c/booking_flow.c target/debug/libseatbook.a \
 *      -lpthread -ldl -lm -o booking_flow && ./booking_flow /tmp/seats.redb --fast
 */
#include "common.h"

#define ORIGIN "https://event-app.com"

/* A stand-in for a host payment verifier: approves everything except
 * payment ids that start with "card_declined"; counts its calls through
 * userdata. A real one looks the payment up at its provider and approves
 * only if it succeeded and its metadata names req->reservation_id (and
 * req->app_id), with req->amount_minor in req->currency. */
static uint32_t verify_payment(void *userdata,
                               const seatbook_payment_request *req,
                               char *reason, size_t reason_capacity) {
  int *calls = (int *)userdata;
  (*calls)++;
  if (strncmp(req->payment_id, "card_declined", 13) == 0) {
    snprintf(reason, reason_capacity, "insufficient funds");
    return SEATBOOK_PAYMENT_DECLINE;
  }
  return SEATBOOK_PAYMENT_APPROVE;
}

static void print_seats(const seatbook_app *app, const char *entity) {
  seatbook_seat_list *list = NULL;
  CHECK(seatbook_app_list_seats(app, entity, false, &list));
  size_t n = 0;
  CHECK(seatbook_seat_list_count(list, &n));
  for (size_t i = 0; i < n; i++) {
    seatbook_seat_view s;
    CHECK(seatbook_seat_list_get(list, i, &s));
    const char *state = s.state == SEATBOOK_SEAT_STATE_AVAILABLE ? "AVAILABLE"
                        : s.state == SEATBOOK_SEAT_STATE_HELD    ? "HELD"
                                                                 : "BOOKED";
    printf("  %-14s %s %6llu.%02llu %s%s%s\n", s.seat_id, s.currency,
           (unsigned long long)(s.price_minor / 100),
           (unsigned long long)(s.price_minor % 100), state,
           s.section ? " section " : "", s.section ? s.section : "");
  }
  seatbook_seat_list_free(list);
}

int main(int argc, char **argv) {
  const char *db_path;
  seatbook_config cfg;
  char *admin_hash = NULL;
  example_config(argc, argv, &db_path, &cfg, &admin_hash);
  int payment_calls = 0;

  printf("seatbook %s\n", seatbook_version());
  seatbook_engine *engine = NULL;
  /* No payment verifier named: refused (there is no approve-all default). */
  EXPECT_STATUS(SEATBOOK_INVALID_CONFIG,
                seatbook_engine_open(db_path, &cfg, &engine));
  ASSERT(engine == NULL);
  printf("no verifier refused: %s\n", seatbook_last_error_message());

  cfg.payment_callback = verify_payment;
  cfg.payment_userdata = &payment_calls;
  CHECK(seatbook_engine_open(db_path, &cfg, &engine));
  seatbook_string_free(admin_hash); /* the engine keeps its own copy */

  /* Admin: log in, create the app (its API key is shown once), add seats. */
  char *admin_token = NULL;
  EXPECT_STATUS(SEATBOOK_INVALID_CREDENTIALS,
                seatbook_engine_admin_login(engine, ADMIN_EMAIL, "wrong-password",
                                            &admin_token));
  ASSERT(admin_token == NULL);
  CHECK(seatbook_engine_admin_login(engine, ADMIN_EMAIL, ADMIN_PASSWORD,
                                    &admin_token));
  seatbook_admin *admin = NULL;
  CHECK(seatbook_engine_admin(engine, admin_token, &admin));
  seatbook_string_free(admin_token);

  const char *origins[] = {ORIGIN};
  char *api_key = NULL;
  seatbook_app_info *info = NULL;
  CHECK(seatbook_admin_create_app(admin, "event-app", "Event App", origins, 1,
                                  &api_key, &info));
  seatbook_app_info_view iv;
  CHECK(seatbook_app_info_get(info, &iv));
  printf("created app %s (%s), %zu origin(s), API key of %zu chars\n",
         iv.app_id, iv.name, iv.origin_count, strlen(api_key));
  ASSERT(iv.active && strlen(api_key) >= 32);
  seatbook_app_info_free(info);

  seatbook_new_seat seats[] = {
      {"EVENT_001-A1", 5000, "EUR", "A", "1", "standard"},
      {"EVENT_001-A2", 5000, "EUR", "A", "1", "standard"},
      {"EVENT_001-A3", 7500, "EUR", "A", "1", "premium"},
      {"EVENT_001-A4", 7500, "EUR", NULL, NULL, NULL},
  };
  size_t created = 0;
  CHECK(seatbook_admin_create_seats(admin, "event-app", "EVENT_001", seats, 4,
                                    &created));
  ASSERT(created == 4);
  EXPECT_STATUS(SEATBOOK_SEAT_ALREADY_EXISTS,
                seatbook_admin_create_seats(admin, "event-app", "EVENT_001",
                                            seats, 1, NULL));
  ASSERT(strcmp(seatbook_last_error_seat(), "EVENT_001-A1") == 0);

  /* App: authenticate with (app id, API key, origin). */
  seatbook_app *app = NULL;
  EXPECT_STATUS(SEATBOOK_ORIGIN_NOT_ALLOWED,
                seatbook_engine_app(engine, "event-app", api_key,
                                    "https://event-app.com.evil.io", &app));
  CHECK(seatbook_engine_app(engine, "event-app", api_key, ORIGIN, &app));
  seatbook_string_free(api_key);

  /* User: sign up, log in, verify the token into a session. */
  char *token = NULL;
  CHECK(seatbook_app_signup(app, "buyer@example.com", "correct horse battery",
                            &token));
  seatbook_string_free(token);
  EXPECT_STATUS(SEATBOOK_EMAIL_TAKEN,
                seatbook_app_signup(app, "Buyer@Example.com ",
                                    "correct horse battery", &token));
  CHECK(seatbook_app_login(app, "buyer@example.com", "correct horse battery",
                           &token));
  seatbook_user *buyer = NULL;
  CHECK(seatbook_app_user(app, token, &buyer));
  seatbook_string_free(token);
  seatbook_user_view uv;
  CHECK(seatbook_user_get(buyer, &uv));
  printf("buyer %s\n", uv.user_id);

  printf("seats:\n");
  print_seats(app, "EVENT_001");

  /* Reserve two seats (default TTL), then pay. */
  const char *wanted[] = {"EVENT_001-A1", "EVENT_001-A2"};
  seatbook_reservation *hold = NULL;
  CHECK(seatbook_app_reserve(app, buyer, wanted, 2, 0, &hold));
  seatbook_reservation_view rv;
  CHECK(seatbook_reservation_get(hold, &rv));
  printf("reservation %llu: %zu seats, total %llu %s, token of %zu chars\n",
         (unsigned long long)rv.reservation_id, rv.seat_count,
         (unsigned long long)rv.total_minor, rv.currency, strlen(rv.token));
  ASSERT(rv.status == SEATBOOK_RESERVATION_ACTIVE && rv.total_minor == 10000);

  seatbook_seat_counts counts;
  CHECK(seatbook_app_seat_counts(app, "EVENT_001", &counts));
  ASSERT(counts.available == 2 && counts.held == 2 && counts.booked == 0);

  /* A second buyer loses the race for A2 and learns which seat blocked. */
  CHECK(seatbook_app_signup(app, "rival@example.com", "another good password",
                            &token));
  seatbook_user *rival = NULL;
  CHECK(seatbook_app_user(app, token, &rival));
  seatbook_string_free(token);
  const char *contested[] = {"EVENT_001-A3", "EVENT_001-A2"};
  seatbook_reservation *lost = NULL;
  EXPECT_STATUS(SEATBOOK_SEAT_HELD,
                seatbook_app_reserve(app, rival, contested, 2, 0, &lost));
  ASSERT(lost == NULL);
  printf("rival blocked by %s: %s\n", seatbook_last_error_seat(),
         seatbook_last_error_message());

  EXPECT_STATUS(SEATBOOK_AMOUNT_MISMATCH,
                seatbook_app_confirm(app, buyer, rv.token, "pay_123", 9999,
                                     &(seatbook_booking *){NULL}));
  seatbook_booking *booking = NULL;
  CHECK(seatbook_app_confirm(app, buyer, rv.token, "pay_123", rv.total_minor,
                             &booking));
  seatbook_booking_view bv;
  CHECK(seatbook_booking_get(booking, &bv));
  printf("booked %s: %zu seats, %llu %s\n", bv.booking_id, bv.seat_count,
         (unsigned long long)bv.amount_minor, bv.currency);
  ASSERT(strncmp(bv.booking_id, "BK-", 3) == 0);
  ASSERT(bv.status == SEATBOOK_BOOKING_SUCCESS);

  /* Retrying the same confirm returns the same booking. */
  seatbook_booking *again = NULL;
  CHECK(seatbook_app_confirm(app, buyer, rv.token, "pay_123", rv.total_minor,
                             &again));
  seatbook_booking_view av;
  CHECK(seatbook_booking_get(again, &av));
  ASSERT(strcmp(av.booking_id, bv.booking_id) == 0);
  seatbook_booking_free(again);

  /* Look it up by id. */
  seatbook_booking *found = NULL;
  CHECK(seatbook_app_booking(app, bv.booking_id, &found));
  seatbook_booking_free(found);
  seatbook_reservation_free(hold);

  /* A declined payment releases the seat at once. */
  const char *one[] = {"EVENT_001-A3"};
  CHECK(seatbook_app_reserve(app, rival, one, 1, 30000, &hold));
  CHECK(seatbook_reservation_get(hold, &rv));
  seatbook_booking *declined = NULL;
  EXPECT_STATUS(SEATBOOK_PAYMENT_DECLINED,
                seatbook_app_confirm(app, rival, rv.token, "card_declined_42",
                                     7500, &declined));
  ASSERT(declined == NULL);
  printf("declined: %s\n", seatbook_last_error_message());
  ASSERT(strstr(seatbook_last_error_message(), "insufficient funds") != NULL);
  seatbook_reservation_free(hold);
  CHECK(seatbook_app_seat_counts(app, "EVENT_001", &counts));
  ASSERT(counts.available == 2 && counts.held == 0 && counts.booked == 2);
  ASSERT(payment_calls == 2);

  /* Booked seats cannot be reserved. */
  EXPECT_STATUS(SEATBOOK_SEAT_BOOKED,
                seatbook_app_reserve(app, rival, wanted, 2, 0, &lost));

  /* The buyer's bookings. */
  seatbook_booking_list *mine = NULL;
  CHECK(seatbook_app_user_bookings(app, buyer, &mine));
  size_t n = 0;
  CHECK(seatbook_booking_list_count(mine, &n));
  ASSERT(n == 1);
  seatbook_booking_list_free(mine);

  printf("after booking:\n");
  print_seats(app, "EVENT_001");

  /* The admin cancels (refunds) the booking: its seats are free again. */
  seatbook_booking *cancelled = NULL;
  CHECK(seatbook_admin_cancel_booking(admin, bv.booking_id, &cancelled));
  seatbook_booking_view cv;
  CHECK(seatbook_booking_get(cancelled, &cv));
  ASSERT(cv.status == SEATBOOK_BOOKING_CANCELLED && cv.cancelled_at != 0);
  seatbook_booking_free(cancelled);
  seatbook_booking_free(booking);
  CHECK(seatbook_app_seat_counts(app, "EVENT_001", &counts));
  ASSERT(counts.available == 4);

  seatbook_stats stats;
  CHECK(seatbook_engine_stats(engine, &stats));
  printf("stats: holds %llu, rejections %llu, confirms %llu, payment failures %llu\n",
         (unsigned long long)stats.holds_taken,
         (unsigned long long)stats.contention_rejections,
         (unsigned long long)stats.confirms,
         (unsigned long long)stats.payment_failures);
  ASSERT(stats.confirms == 1 && stats.payment_failures == 1);

  seatbook_audit audit;
  CHECK(seatbook_engine_audit(engine, &audit));
  ASSERT(audit.clean && audit.double_booked_seats == 0);
  size_t expired = 0;
  CHECK(seatbook_engine_sweep(engine, &expired));

  /* Close: derived handles now answer SEATBOOK_ENGINE_CLOSED. */
  seatbook_engine_close(engine);
  EXPECT_STATUS(SEATBOOK_ENGINE_CLOSED,
                seatbook_app_seat_counts(app, "EVENT_001", &counts));
  EXPECT_STATUS(SEATBOOK_ENGINE_CLOSED,
                seatbook_admin_get_app(admin, "event-app", &info));
  seatbook_user_free(buyer);
  seatbook_user_free(rival);
  seatbook_app_free(app);
  seatbook_admin_free(admin);
  printf("booking flow OK\n");
  return 0;
}
