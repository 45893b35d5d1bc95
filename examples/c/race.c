/* Several pthreads race for the same seats through one shared engine and
 * app handle (both are thread-safe). Every thread tries every seat, all
 * starting at the same instant; each seat must have exactly one winner.
 * Winners then pay, and the audit must find no double booking.
 *
 *   cc -Iinclude examples/c/race.c target/debug/libseatbook.a \
 *      -lpthread -ldl -lm -o race && ./race /tmp/race.redb --fast
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

#define THREADS 8
#define SEATS 6
#define ORIGIN "https://race.example"

static seatbook_app *app; /* shared by every thread */
static pthread_barrier_t start;
static atomic_int winners[SEATS];
static atomic_int losses;
static char seat_ids[SEATS][32];

struct racer {
  int index;
  seatbook_user *user;
  seatbook_reservation *won[SEATS];
  int won_count;
};

static void *race(void *arg) {
  struct racer *r = arg;
  pthread_barrier_wait(&start);
  for (int k = 0; k < SEATS; k++) {
    int seat = (k + r->index) % SEATS; /* threads start on different seats */
    const char *ids[] = {seat_ids[seat]};
    seatbook_reservation *res = NULL;
    seatbook_status st = seatbook_app_reserve(app, r->user, ids, 1, 0, &res);
    if (st == SEATBOOK_OK) {
      atomic_fetch_add(&winners[seat], 1);
      r->won[r->won_count++] = res;
    } else if (st == SEATBOOK_SEAT_HELD) {
      /* The message is per thread: it names this thread's blocking seat. */
      if (strcmp(seatbook_last_error_seat(), seat_ids[seat]) != 0) {
        fprintf(stderr, "wrong blocking seat %s\n", seatbook_last_error_seat());
        exit(1);
      }
      atomic_fetch_add(&losses, 1);
    } else {
      fprintf(stderr, "reserve: %s: %s\n", seatbook_status_name(st),
              seatbook_last_error_message());
      exit(1);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *db_path;
  seatbook_config cfg;
  char *admin_hash = NULL;
  example_config(argc, argv, &db_path, &cfg, &admin_hash);
  /* Payment verification is named explicitly: here the deterministic
   * simulation (demos and tests only; it checks nothing). */
  cfg.use_simulated_payments = true;
  /* One racer may win every seat: lift the per-user hold quotas (5 live
   * reservations, 10 seats per entity by default) for this race. */
  cfg.max_active_per_user = UINT32_MAX;
  cfg.max_held_seats_per_entity = UINT32_MAX;
  seatbook_engine *engine = NULL;
  CHECK(seatbook_engine_open(db_path, &cfg, &engine));
  seatbook_string_free(admin_hash);

  char *admin_token = NULL;
  CHECK(seatbook_engine_admin_login(engine, ADMIN_EMAIL, ADMIN_PASSWORD,
                                    &admin_token));
  seatbook_admin *admin = NULL;
  CHECK(seatbook_engine_admin(engine, admin_token, &admin));
  seatbook_string_free(admin_token);
  const char *origins[] = {ORIGIN};
  char *api_key = NULL;
  CHECK(seatbook_admin_create_app(admin, "race-app", "Race", origins, 1,
                                  &api_key, NULL));
  seatbook_new_seat seats[SEATS];
  memset(seats, 0, sizeof seats);
  for (int i = 0; i < SEATS; i++) {
    snprintf(seat_ids[i], sizeof seat_ids[i], "SHOW_1-R%d", i + 1);
    seats[i].seat_id = seat_ids[i];
    seats[i].price_minor = 1200;
    seats[i].currency = "USD";
  }
  CHECK(seatbook_admin_create_seats(admin, "race-app", "SHOW_1", seats, SEATS,
                                    NULL));
  CHECK(seatbook_engine_app(engine, "race-app", api_key, ORIGIN, &app));
  seatbook_string_free(api_key);

  struct racer racers[THREADS];
  memset(racers, 0, sizeof racers);
  for (int t = 0; t < THREADS; t++) {
    char email[64];
    snprintf(email, sizeof email, "racer%d@example.com", t);
    char *token = NULL;
    CHECK(seatbook_app_signup(app, email, "racing-password", &token));
    racers[t].index = t;
    CHECK(seatbook_app_user(app, token, &racers[t].user));
    seatbook_string_free(token);
  }

  pthread_t threads[THREADS];
  pthread_barrier_init(&start, NULL, THREADS);
  for (int t = 0; t < THREADS; t++)
    pthread_create(&threads[t], NULL, race, &racers[t]);
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&start);

  for (int s = 0; s < SEATS; s++) {
    int w = atomic_load(&winners[s]);
    printf("%s: %d winner(s)\n", seat_ids[s], w);
    ASSERT(w == 1); /* exactly one winner per seat */
  }
  ASSERT(atomic_load(&losses) == THREADS * SEATS - SEATS);

  /* Winners pay; every seat ends up booked exactly once. */
  int booked = 0;
  for (int t = 0; t < THREADS; t++) {
    for (int i = 0; i < racers[t].won_count; i++) {
      seatbook_reservation_view rv;
      CHECK(seatbook_reservation_get(racers[t].won[i], &rv));
      seatbook_booking *b = NULL;
      /* One payment id per reservation: a payment pays once. */
      char payment[64];
      snprintf(payment, sizeof payment, "pay_race_%d_%d", t, i);
      CHECK(seatbook_app_confirm(app, racers[t].user, rv.token, payment,
                                 rv.total_minor, &b));
      seatbook_booking_free(b);
      seatbook_reservation_free(racers[t].won[i]);
      booked++;
    }
    seatbook_user_free(racers[t].user);
  }
  ASSERT(booked == SEATS);

  seatbook_stats stats;
  CHECK(seatbook_engine_stats(engine, &stats));
  ASSERT(stats.holds_taken == SEATS);
  ASSERT(stats.contention_rejections == THREADS * SEATS - SEATS);
  seatbook_audit audit;
  CHECK(seatbook_engine_audit(engine, &audit));
  ASSERT(audit.clean && audit.double_booked_seats == 0);
  ASSERT(audit.booked_seats == SEATS && audit.live_bookings == SEATS);
  printf("%d threads, %d seats: %d holds, %llu rejections, audit clean\n",
         THREADS, SEATS, booked,
         (unsigned long long)stats.contention_rejections);

  seatbook_app_free(app);
  seatbook_admin_free(admin);
  seatbook_engine_close(engine);
  printf("race OK\n");
  return 0;
}
