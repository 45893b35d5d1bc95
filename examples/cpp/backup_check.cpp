// Online backup and the offline check in C++ through bindings/cpp/seatbook.hpp:
// book a seat, back the live engine up, check the copy and restore it.
//
//   c++ -std=c++17 -Iinclude -Ibindings/cpp examples/cpp/backup_check.cpp
//       -Ltarget/debug -lseatbook -Wl,-rpath,target/debug -o backup_check_cpp
//   ./backup_check_cpp /tmp/seats-backup.redb --fast
#include <cstring>
#include <iostream>

#include "seatbook.hpp"

#define ASSERT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::cerr << __FILE__ << ":" << __LINE__ << ": assertion failed: " \
                << #cond << "\n";                                       \
      return 1;                                                         \
    }                                                                   \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " DB_PATH [--fast]\n";
    return 2;
  }
  const std::string path = argv[1];
  const std::string copy = path + ".backup";
  const bool fast = argc > 2 && std::strcmp(argv[2], "--fast") == 0;
  try {
    seatbook::Config config;
    if (fast) config.argon2 = {8, 1, 1};  // tests only: trivially brute-forced
    config.admin_email = "admin@example.com";
    config.admin_password_hash = seatbook::hash_password("admin-password", config.argon2);
    config.admin_jwt_secret = "an-admin-secret-of-at-least-32-bytes!!";
    config.user_jwt_secret = "a-user-secret-of-at-least-32-bytes!!!!";
    config.use_simulated_payments = true;  // demo: the simulation, by name
    std::string key, booking_id;
    {
      seatbook::Engine engine(path, config);
      seatbook::Admin admin = engine.admin(engine.admin_login("admin@example.com", "admin-password"));
      key = admin.create_app("show-app", "Show App", {"https://show.example"}).api_key;
      seatbook::NewSeat seat;
      seat.seat_id = "SHOW_1-A1";
      seat.price_minor = 2500;
      seat.currency = "EUR";
      admin.create_seats("show-app", "SHOW_1", {seat});
      seatbook::App app = engine.app("show-app", key, "https://show.example");
      seatbook::User buyer = app.user(app.signup("buyer@example.com", "correct horse battery"));
      auto hold = app.reserve(buyer, {"SHOW_1-A1"});
      booking_id = app.confirm(buyer, hold.token, "pay_1", 2500).booking_id;

      engine.backup(copy);  // while the engine is open
      try {
        engine.backup(copy);
        ASSERT(false);
      } catch (const seatbook::Error &e) {
        ASSERT(e.status() == SEATBOOK_BACKUP_TARGET_EXISTS);
        std::cout << "second backup refused: " << seatbook_status_name(e.status()) << "\n";
      }
      try {
        seatbook::check(path);
        ASSERT(false);
      } catch (const seatbook::Error &e) {
        ASSERT(e.status() == SEATBOOK_DATABASE_ALREADY_OPEN);
      }
    }
    seatbook::CheckReport report = seatbook::check(copy);
    ASSERT(report.recovery == seatbook::Recovery::AsIs);
    ASSERT(report.journal_bytes && !report.replays_journal && !report.open_error);  // its own, empty
    ASSERT(report.audit && report.audit->clean && report.audit->live_bookings == 1);
    ASSERT(report.healthy && report.violations.empty());
    std::cout << "backup checks healthy: " << report.audit->seats << " seat(s), "
              << report.audit->live_bookings << " booking(s)\n";

    seatbook::Engine restored(copy, config);
    seatbook::App app = restored.app("show-app", key, "https://show.example");
    ASSERT(app.booking(booking_id).booking_id == booking_id);
    ASSERT(restored.audit().clean);
    try {
      seatbook::check(path + ".missing");
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_DATABASE_NOT_FOUND);
    }
  } catch (const seatbook::Error &e) {
    std::cerr << "seatbook error: " << e.what() << "\n";
    return 1;
  }
  std::cout << "C++ backup and check OK\n";
  return 0;
}
