// The seed's booking flow in C++ through bindings/cpp/seatbook.hpp:
// RAII handles, exceptions carrying the status and message.
//
//   c++ -std=c++17 -Iinclude -Ibindings/cpp examples/cpp/booking_flow.cpp
//       -Ltarget/debug -lseatbook -Wl,-rpath,target/debug -o booking_flow_cpp
//   ./booking_flow_cpp /tmp/seats-cpp.redb --fast
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "seatbook.hpp"

#define ASSERT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::cerr << __FILE__ << ":" << __LINE__ << ": assertion failed: " \
                << #cond << "\n";                                       \
      return 1;                                                         \
    }                                                                   \
  } while (0)

// The payment verifier is shared by the engine and every App and Admin made
// from it: it stays alive until the last of them is gone.
static int verifier_lives_as_long_as_any_handle(const std::string &path,
                                                seatbook::Config config) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  config.payment = [token](const seatbook::PaymentRequest &) {
    return seatbook::PaymentDecision::approve();
  };
  token.reset();
  ASSERT(!watch.expired());
  std::optional<seatbook::Admin> admin;
  std::optional<seatbook::App> app;
  {
    seatbook::Engine engine(path, std::move(config));
    admin.emplace(engine.admin(engine.admin_login("admin@example.com", "admin-password")));
    auto created = admin->create_app("life-app", "Life App", {"https://life.example"});
    app.emplace(engine.app("life-app", created.api_key, "https://life.example"));
  }  // the engine is closed and destroyed here
  ASSERT(!watch.expired());
  admin.reset();
  ASSERT(!watch.expired());  // the App still holds it
  app.reset();
  ASSERT(watch.expired());
  std::cout << "verifier outlived the engine until the last handle\n";
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " DB_PATH [--fast]\n";
    return 2;
  }
  const bool fast = argc > 2 && std::strcmp(argv[2], "--fast") == 0;
  try {
    seatbook::Config config;
    if (fast) {
      config.argon2 = {8, 1, 1};  // tests only: trivially brute-forced
      config.durable = false;
    }
    config.admin_email = "admin@example.com";
    config.admin_password_hash = seatbook::hash_password("admin-password", config.argon2);
    config.admin_jwt_secret = "an-admin-secret-of-at-least-32-bytes!!";
    config.user_jwt_secret = "a-user-secret-of-at-least-32-bytes!!!!";
    // No payment verifier named: refused (there is no approve-all default).
    try {
      seatbook::Engine refused(argv[1], config);
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_INVALID_CONFIG);
      std::cout << "no verifier refused: " << e.message() << "\n";
    }
    if (verifier_lives_as_long_as_any_handle(std::string(argv[1]) + "-lifetime", config) != 0)
      return 1;
    int declines = 0;
    // A stand-in for a host verifier. A real one looks req.payment_id up at
    // its provider and approves only if the payment succeeded, its metadata
    // names req.reservation_id (and req.app_id), and its amount and
    // currency equal req.amount_minor and req.currency.
    config.payment = [&declines](const seatbook::PaymentRequest &req) {
      if (req.payment_id == "pay_undecided") return seatbook::PaymentDecision{};
      if (req.payment_id == "pay_throws") throw std::runtime_error("provider unreachable");
      if (req.amount_minor > 100000) {
        ++declines;
        return seatbook::PaymentDecision::decline("over the card limit");
      }
      return seatbook::PaymentDecision::approve();
    };

    std::cout << "seatbook " << seatbook::version() << "\n";
    seatbook::Engine engine(argv[1], std::move(config));
    seatbook::Admin admin = engine.admin(engine.admin_login("admin@example.com", "admin-password"));
    seatbook::CreatedApp created =
        admin.create_app("movie-app", "Movie App", {"https://movies.example"});
    ASSERT(created.api_key.size() >= 32 && created.info.active);

    std::vector<seatbook::NewSeat> seats;
    for (int i = 1; i <= 5; i++)
      seats.push_back({"SHOW_7-B" + std::to_string(i), 60000, "EUR", "stalls", "B", std::nullopt});
    ASSERT(admin.create_seats("movie-app", "SHOW_7", seats) == 5);

    seatbook::App app = engine.app("movie-app", created.api_key, "https://movies.example");
    try {
      engine.app("movie-app", "not-the-key", "https://movies.example");
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_INVALID_CREDENTIALS);
      std::cout << "wrong key rejected: " << e.what() << "\n";
    }

    app.signup("viewer@example.com", "popcorn-and-soda");
    seatbook::User viewer = app.user(app.login("viewer@example.com", "popcorn-and-soda"));
    std::cout << "viewer " << viewer.user_id() << "\n";

    auto available = app.list_seats("SHOW_7", true);
    ASSERT(available.size() == 5);

    seatbook::Reservation hold = app.reserve(viewer, {"SHOW_7-B1"}, 60000);
    ASSERT(hold.status == seatbook::ReservationStatus::Active && !hold.token.empty());
    seatbook::Reservation extended = app.extend(viewer, hold.token, 90000);
    ASSERT(extended.token.empty() && extended.expires_at >= hold.expires_at);
    ASSERT(app.reservation(viewer, hold.token).expires_at == extended.expires_at);
    seatbook::Booking booking = app.confirm(viewer, hold.token, "pay_cpp_1", hold.total_minor);
    std::cout << "booked " << booking.booking_id << " for " << booking.amount_minor << " "
              << booking.currency << "\n";
    ASSERT(app.booking(booking.booking_id).booking_id == booking.booking_id);

    // Three seats cost 180000: over the callback's limit, so declined.
    seatbook::Reservation big = app.reserve(viewer, {"SHOW_7-B2", "SHOW_7-B3", "SHOW_7-B4"});
    try {
      app.confirm(viewer, big.token, "pay_cpp_2", big.total_minor);
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_PAYMENT_DECLINED);
      ASSERT(e.message().find("over the card limit") != std::string::npos);
      std::cout << "declined: " << e.message() << "\n";
    }
    ASSERT(declines == 1);
    ASSERT(app.seat_counts("SHOW_7").available == 4);

    // A held seat blocks another buyer and names itself.
    seatbook::Reservation h2 = app.reserve(viewer, {"SHOW_7-B5"});
    app.signup("other@example.com", "another-password");
    seatbook::User other = app.user(app.login("other@example.com", "another-password"));
    try {
      app.reserve(other, {"SHOW_7-B2", "SHOW_7-B5"});
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_SEAT_HELD && e.seat() == "SHOW_7-B5");
    }
    // The admin sees who holds what (the confirmed and declined holds no longer count).
    auto holds = admin.user_holds("movie-app");
    ASSERT(holds.size() == 1 && holds[0].user_id == viewer.user_id());
    ASSERT(holds[0].reservations == 1 && holds[0].seats == 1);
    app.release(viewer, h2.token);
    ASSERT(app.seat_counts("SHOW_7").held == 0);
    ASSERT(admin.user_holds("movie-app").empty());

    auto mine = app.user_bookings(viewer);
    ASSERT(mine.size() == 2);  // the success and the recorded failed attempt

    // Only an explicit approval approves: a default-constructed decision
    // and an exception from the verifier both decline.
    for (const char *payment_id : {"pay_undecided", "pay_throws"}) {
      seatbook::Reservation h = app.reserve(viewer, {"SHOW_7-B5"});
      try {
        app.confirm(viewer, h.token, payment_id, h.total_minor);
        ASSERT(false);
      } catch (const seatbook::Error &e) {
        ASSERT(e.status() == SEATBOOK_PAYMENT_DECLINED);
        std::cout << payment_id << " declined: " << e.message() << "\n";
      }
    }
    ASSERT(app.seat_counts("SHOW_7").available == 4);
    ASSERT(admin.list_apps().size() == 1);
    auto cancelled = app.cancel_booking(booking.booking_id);
    ASSERT(cancelled.status == seatbook::BookingStatus::Cancelled);

    // A password change revokes the user's earlier tokens and User objects.
    std::string fresh = app.change_password(other, "another-password", "a-newer-password");
    try {
      app.user_bookings(other);
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_INVALID_TOKEN);
    }
    ASSERT(app.user(fresh).user_id() == other.user_id());

    auto audit = engine.audit();
    ASSERT(audit.clean && audit.double_booked_seats == 0);
    auto stats = engine.stats();
    std::cout << "stats: holds " << stats.holds_taken << ", confirms " << stats.confirms
              << ", payment failures " << stats.payment_failures << "\n";

    engine.close();
    try {
      app.seat_counts("SHOW_7");
      ASSERT(false);
    } catch (const seatbook::Error &e) {
      ASSERT(e.status() == SEATBOOK_ENGINE_CLOSED);
    }
  } catch (const seatbook::Error &e) {
    std::cerr << "seatbook error: " << e.what() << "\n";
    return 1;
  }
  std::cout << "C++ booking flow OK\n";
  return 0;
}
