// seatbook.hpp: a header-only C++17 RAII wrapper over the seatbook C API.
//
// Every handle is owned by a move-only object whose destructor frees it;
// every failure throws seatbook::Error carrying the status and the
// library's message. Results are copied into plain C++ values (std::string,
// std::vector), so nothing borrowed outlives its handle.
//
// Thread safety is the C API's: Engine, App and Admin may be used from many
// threads at once; User and the value types are immutable.
//
// Link with -lseatbook (shared) or libseatbook.a plus
// -lpthread -ldl -lm -lrt -lutil -lgcc_s (static), with -I for seatbook.h.
#ifndef SEATBOOK_HPP
#define SEATBOOK_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "seatbook.h"

namespace seatbook {

/// A failed call: the status, the library's message, and for seat
/// contention the seat that blocked (empty otherwise).
class Error : public std::runtime_error {
 public:
  Error(seatbook_status status, const std::string &message, std::string seat)
      : std::runtime_error(std::string(seatbook_status_name(status)) + ": " +
                           message),
        status_(status),
        message_(message),
        seat_(std::move(seat)) {}
  seatbook_status status() const noexcept { return status_; }
  const std::string &message() const noexcept { return message_; }
  const std::string &seat() const noexcept { return seat_; }

 private:
  seatbook_status status_;
  std::string message_;
  std::string seat_;
};

namespace detail {

inline void check(seatbook_status status) {
  if (status != SEATBOOK_OK) {
    const char *seat = seatbook_last_error_seat();
    throw Error(status, seatbook_last_error_message(), seat ? seat : "");
  }
}

/// Takes ownership of a library string, copies it, frees (and wipes) it.
inline std::string take(char *s) {
  std::string out = s ? s : "";
  seatbook_string_free(s);
  return out;
}

inline std::string str(const char *s) { return s ? s : ""; }
inline std::optional<std::string> opt(const char *s) {
  return s ? std::optional<std::string>(s) : std::nullopt;
}

inline std::vector<std::string> strs(const char *const *p, size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; i++) out.emplace_back(p[i]);
  return out;
}

inline std::vector<const char *> ptrs(const std::vector<std::string> &v) {
  std::vector<const char *> out;
  out.reserve(v.size());
  for (const auto &s : v) out.push_back(s.c_str());
  return out;
}

template <class T, void (*Free)(T *)>
struct Deleter {
  void operator()(T *p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T *)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

}  // namespace detail

/// Seat states, reservation and booking statuses, as in the C header.
enum class SeatState { Available, Held, Booked };
enum class ReservationStatus { Active, Confirmed, Expired, Released };
enum class BookingStatus { Success, Failed, Cancelled };

struct Seat {
  std::string seat_id, entity_id, currency;
  uint64_t price_minor = 0;
  std::optional<std::string> section, row, category;
  SeatState state = SeatState::Available;
  uint64_t expires_at = 0;  // for HELD seats
};

struct Reservation {
  uint64_t reservation_id = 0;
  std::string token;  // secret; only from App::reserve
  std::string app_id, user_id, currency;
  std::vector<std::string> seat_ids;
  uint64_t total_minor = 0, created_at = 0, expires_at = 0;
  ReservationStatus status = ReservationStatus::Active;
  std::optional<std::string> booking_id;
};

struct Booking {
  std::string booking_id, app_id, user_id, payment_id, currency;
  std::vector<std::string> seat_ids;
  uint64_t reservation_id = 0, amount_minor = 0, created_at = 0,
           cancelled_at = 0;
  BookingStatus status = BookingStatus::Success;
};

/// How much one user holds in one app right now (Admin::user_holds).
struct UserHolds {
  std::string user_id;
  size_t reservations;  // live reservations
  size_t seats;         // seats they hold, over all entities
};

struct AppInfo {
  std::string app_id, name;
  std::vector<std::string> allowed_origins;
  bool active = false;
  uint64_t created_at = 0, updated_at = 0;
};

struct CreatedApp {
  std::string api_key;  // shown once
  AppInfo info;
};

struct NewSeat {
  std::string seat_id;
  uint64_t price_minor = 0;
  std::string currency;
  std::optional<std::string> section, row, category;
};

using SeatCounts = seatbook_seat_counts;
using Stats = seatbook_stats;
using Audit = seatbook_audit;

/// What a payment callback sees, and its answer.
struct PaymentRequest {
  std::string app_id, user_id, payment_id, currency;
  uint64_t reservation_id = 0, amount_minor = 0;
};
struct PaymentDecision {
  bool approved = true;
  std::string reason;  // when declined
  static PaymentDecision approve() { return {true, {}}; }
  static PaymentDecision decline(std::string why) { return {false, std::move(why)}; }
};
/// Must be thread-safe and must not throw (a throw counts as a decline).
using PaymentVerifier = std::function<PaymentDecision(const PaymentRequest &)>;

namespace detail {

inline AppInfo app_info(const seatbook_app_info_view &v) {
  return AppInfo{str(v.app_id), str(v.name),
                 strs(v.allowed_origins, v.origin_count), v.active,
                 v.created_at, v.updated_at};
}

inline AppInfo take_info(seatbook_app_info *p) {
  Owned<seatbook_app_info, seatbook_app_info_free> h(p);
  seatbook_app_info_view v;
  check(seatbook_app_info_get(h.get(), &v));
  return app_info(v);
}

inline Booking booking(const seatbook_booking_view &v) {
  Booking b;
  b.booking_id = str(v.booking_id);
  b.app_id = str(v.app_id);
  b.user_id = str(v.user_id);
  b.payment_id = str(v.payment_id);
  b.currency = str(v.currency);
  b.seat_ids = strs(v.seat_ids, v.seat_count);
  b.reservation_id = v.reservation_id;
  b.amount_minor = v.amount_minor;
  b.created_at = v.created_at;
  b.cancelled_at = v.cancelled_at;
  b.status = static_cast<BookingStatus>(v.status);
  return b;
}

inline Booking take_booking(seatbook_booking *p) {
  Owned<seatbook_booking, seatbook_booking_free> h(p);
  seatbook_booking_view v;
  check(seatbook_booking_get(h.get(), &v));
  return booking(v);
}

inline Reservation take_reservation(seatbook_reservation *p) {
  Owned<seatbook_reservation, seatbook_reservation_free> h(p);
  seatbook_reservation_view v;
  check(seatbook_reservation_get(h.get(), &v));
  Reservation r;
  r.reservation_id = v.reservation_id;
  r.token = str(v.token);
  r.app_id = str(v.app_id);
  r.user_id = str(v.user_id);
  r.currency = str(v.currency);
  r.seat_ids = strs(v.seat_ids, v.seat_count);
  r.total_minor = v.total_minor;
  r.created_at = v.created_at;
  r.expires_at = v.expires_at;
  r.status = static_cast<ReservationStatus>(v.status);
  r.booking_id = opt(v.booking_id);
  return r;
}

inline uint32_t payment_trampoline(void *userdata,
                                   const seatbook_payment_request *req,
                                   char *reason, size_t capacity) {
  try {
    const auto &verify = *static_cast<const PaymentVerifier *>(userdata);
    PaymentDecision d = verify(PaymentRequest{str(req->app_id), str(req->user_id),
                                              str(req->payment_id), str(req->currency),
                                              req->reservation_id, req->amount_minor});
    if (d.approved) return SEATBOOK_PAYMENT_APPROVE;
    std::string why = d.reason.substr(0, capacity - 1);
    std::copy(why.begin(), why.end(), reason);
    reason[why.size()] = '\0';
  } catch (...) {
  }
  return SEATBOOK_PAYMENT_DECLINE;
}

}  // namespace detail

/// Engine configuration. Zero numbers mean "default"; see seatbook_config.
struct Config {
  std::string admin_email, admin_password_hash, admin_jwt_secret,
      user_jwt_secret;
  seatbook_argon2_params argon2{};  // zeros: OWASP default
  bool durable = true;              // false: no fsync (tests, demos)
  uint64_t hold_default_ttl_ms = 0, hold_min_ttl_ms = 0, hold_max_ttl_ms = 0,
           hold_max_total_ms = 0, reaper_interval_ms = 0;
  uint32_t max_seats_per_reservation = 0, max_seats_per_bulk = 0;
  // Hold quotas (0: default 5 and 10; UINT32_MAX: no limit).
  uint32_t max_active_per_user = 0, max_held_seats_per_entity = 0;
  PaymentVerifier payment;  // empty: the simulated verifier
};

/// Hashes a password for Config::admin_password_hash.
inline std::string hash_password(const std::string &password,
                                 const seatbook_argon2_params &params = {}) {
  char *out = nullptr;
  detail::check(seatbook_hash_password(password.c_str(), &params, &out));
  return detail::take(out);
}

inline std::string version() { return seatbook_version(); }

/// A verified user token.
class User {
 public:
  explicit User(seatbook_user *p) : h_(p) {
    seatbook_user_view v;
    detail::check(seatbook_user_get(p, &v));
    user_id_ = v.user_id;
    expires_at_ = v.expires_at;
  }
  const std::string &user_id() const { return user_id_; }
  uint64_t expires_at() const { return expires_at_; }
  const seatbook_user *get() const { return h_.get(); }

 private:
  detail::Owned<seatbook_user, seatbook_user_free> h_;
  std::string user_id_;
  uint64_t expires_at_ = 0;
};

/// An authenticated app context. Thread-safe.
class App {
 public:
  explicit App(seatbook_app *p) : h_(p) {}

  std::string signup(const std::string &email, const std::string &password) const {
    char *t = nullptr;
    detail::check(seatbook_app_signup(get(), email.c_str(), password.c_str(), &t));
    return detail::take(t);
  }
  std::string login(const std::string &email, const std::string &password) const {
    char *t = nullptr;
    detail::check(seatbook_app_login(get(), email.c_str(), password.c_str(), &t));
    return detail::take(t);
  }
  User user(const std::string &token) const {
    seatbook_user *u = nullptr;
    detail::check(seatbook_app_user(get(), token.c_str(), &u));
    return User(u);
  }
  std::vector<Seat> list_seats(const std::string &entity_id,
                               bool available_only = false) const {
    seatbook_seat_list *raw = nullptr;
    detail::check(seatbook_app_list_seats(get(), entity_id.c_str(), available_only, &raw));
    detail::Owned<seatbook_seat_list, seatbook_seat_list_free> list(raw);
    size_t n = 0;
    detail::check(seatbook_seat_list_count(raw, &n));
    std::vector<Seat> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
      seatbook_seat_view v;
      detail::check(seatbook_seat_list_get(raw, i, &v));
      out.push_back(Seat{detail::str(v.seat_id), detail::str(v.entity_id),
                         detail::str(v.currency), v.price_minor,
                         detail::opt(v.section), detail::opt(v.row),
                         detail::opt(v.category), static_cast<SeatState>(v.state),
                         v.expires_at});
    }
    return out;
  }
  SeatCounts seat_counts(const std::string &entity_id) const {
    SeatCounts c{};
    detail::check(seatbook_app_seat_counts(get(), entity_id.c_str(), &c));
    return c;
  }
  /// ttl_ms 0: the configured default.
  Reservation reserve(const User &user, const std::vector<std::string> &seat_ids,
                      uint64_t ttl_ms = 0) const {
    auto ids = detail::ptrs(seat_ids);
    seatbook_reservation *r = nullptr;
    detail::check(seatbook_app_reserve(get(), user.get(), ids.data(), ids.size(), ttl_ms, &r));
    return detail::take_reservation(r);
  }
  Reservation extend(const User &user, const std::string &token, uint64_t ttl_ms = 0) const {
    seatbook_reservation *r = nullptr;
    detail::check(seatbook_app_extend(get(), user.get(), token.c_str(), ttl_ms, &r));
    return detail::take_reservation(r);
  }
  void release(const User &user, const std::string &token) const {
    detail::check(seatbook_app_release(get(), user.get(), token.c_str()));
  }
  Booking confirm(const User &user, const std::string &token,
                  const std::string &payment_id, uint64_t amount_minor) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_app_confirm(get(), user.get(), token.c_str(),
                                       payment_id.c_str(), amount_minor, &b));
    return detail::take_booking(b);
  }
  Reservation reservation(const User &user, const std::string &token) const {
    seatbook_reservation *r = nullptr;
    detail::check(seatbook_app_reservation(get(), user.get(), token.c_str(), &r));
    return detail::take_reservation(r);
  }
  Booking booking(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_app_booking(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  std::vector<Booking> user_bookings(const User &user) const {
    seatbook_booking_list *raw = nullptr;
    detail::check(seatbook_app_user_bookings(get(), user.get(), &raw));
    detail::Owned<seatbook_booking_list, seatbook_booking_list_free> list(raw);
    size_t n = 0;
    detail::check(seatbook_booking_list_count(raw, &n));
    std::vector<Booking> out;
    for (size_t i = 0; i < n; i++) {
      seatbook_booking_view v;
      detail::check(seatbook_booking_list_get(raw, i, &v));
      out.push_back(detail::booking(v));
    }
    return out;
  }
  Booking cancel_booking(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_app_cancel_booking(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  const seatbook_app *get() const { return h_.get(); }

 private:
  detail::Owned<seatbook_app, seatbook_app_free> h_;
};

/// A verified admin token. Thread-safe.
class Admin {
 public:
  explicit Admin(seatbook_admin *p) : h_(p) {}

  CreatedApp create_app(const std::string &app_id, const std::string &name,
                        const std::vector<std::string> &origins) const {
    auto o = detail::ptrs(origins);
    char *key = nullptr;
    seatbook_app_info *info = nullptr;
    detail::check(seatbook_admin_create_app(get(), app_id.c_str(), name.c_str(),
                                            o.data(), o.size(), &key, &info));
    std::string api_key = detail::take(key);
    return CreatedApp{std::move(api_key), detail::take_info(info)};
  }
  std::vector<AppInfo> list_apps() const {
    seatbook_app_info_list *raw = nullptr;
    detail::check(seatbook_admin_list_apps(get(), &raw));
    detail::Owned<seatbook_app_info_list, seatbook_app_info_list_free> list(raw);
    size_t n = 0;
    detail::check(seatbook_app_info_list_count(raw, &n));
    std::vector<AppInfo> out;
    for (size_t i = 0; i < n; i++) {
      seatbook_app_info_view v;
      detail::check(seatbook_app_info_list_get(raw, i, &v));
      out.push_back(detail::app_info(v));
    }
    return out;
  }
  AppInfo get_app(const std::string &app_id) const {
    seatbook_app_info *info = nullptr;
    detail::check(seatbook_admin_get_app(get(), app_id.c_str(), &info));
    return detail::take_info(info);
  }
  AppInfo update_app(const std::string &app_id, const std::optional<std::string> &name,
                     const std::optional<std::vector<std::string>> &origins) const {
    std::vector<const char *> o;
    if (origins) o = detail::ptrs(*origins);
    seatbook_app_info *info = nullptr;
    detail::check(seatbook_admin_update_app(get(), app_id.c_str(),
                                            name ? name->c_str() : nullptr,
                                            origins ? o.data() : nullptr,
                                            o.size(), &info));
    return detail::take_info(info);
  }
  AppInfo deactivate_app(const std::string &app_id) const {
    seatbook_app_info *info = nullptr;
    detail::check(seatbook_admin_deactivate_app(get(), app_id.c_str(), &info));
    return detail::take_info(info);
  }
  AppInfo reactivate_app(const std::string &app_id) const {
    seatbook_app_info *info = nullptr;
    detail::check(seatbook_admin_reactivate_app(get(), app_id.c_str(), &info));
    return detail::take_info(info);
  }
  std::string rotate_api_key(const std::string &app_id) const {
    char *key = nullptr;
    detail::check(seatbook_admin_rotate_api_key(get(), app_id.c_str(), &key));
    return detail::take(key);
  }
  size_t create_seats(const std::string &app_id, const std::string &entity_id,
                      const std::vector<NewSeat> &seats) const {
    std::vector<seatbook_new_seat> raw;
    raw.reserve(seats.size());
    auto c = [](const std::optional<std::string> &s) { return s ? s->c_str() : nullptr; };
    for (const auto &s : seats)
      raw.push_back(seatbook_new_seat{s.seat_id.c_str(), s.price_minor, s.currency.c_str(),
                                      c(s.section), c(s.row), c(s.category)});
    size_t n = 0;
    detail::check(seatbook_admin_create_seats(get(), app_id.c_str(), entity_id.c_str(),
                                              raw.data(), raw.size(), &n));
    return n;
  }
  size_t remove_seats(const std::string &app_id, const std::vector<std::string> &seat_ids) const {
    auto ids = detail::ptrs(seat_ids);
    size_t n = 0;
    detail::check(seatbook_admin_remove_seats(get(), app_id.c_str(), ids.data(), ids.size(), &n));
    return n;
  }
  Booking cancel_booking(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_admin_cancel_booking(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  /// Every user of the app holding seats right now, by user id.
  std::vector<UserHolds> user_holds(const std::string &app_id) const {
    seatbook_user_holds_list *raw = nullptr;
    detail::check(seatbook_admin_user_holds(get(), app_id.c_str(), &raw));
    detail::Owned<seatbook_user_holds_list, seatbook_user_holds_list_free> list(raw);
    size_t n = 0;
    detail::check(seatbook_user_holds_list_count(raw, &n));
    std::vector<UserHolds> out;
    for (size_t i = 0; i < n; i++) {
      seatbook_user_holds_view v;
      detail::check(seatbook_user_holds_list_get(raw, i, &v));
      out.push_back(UserHolds{detail::str(v.user_id), v.reservations, v.seats});
    }
    return out;
  }
  const seatbook_admin *get() const { return h_.get(); }

 private:
  detail::Owned<seatbook_admin, seatbook_admin_free> h_;
};

/// An open engine. Thread-safe. Closed by its destructor (or close()); App
/// and Admin objects made from it then throw SEATBOOK_ENGINE_CLOSED.
class Engine {
 public:
  Engine(const std::string &path, Config config)
      : payment_(std::make_unique<PaymentVerifier>(std::move(config.payment))) {
    seatbook_config c{};
    c.admin_email = config.admin_email.c_str();
    c.admin_password_hash = config.admin_password_hash.c_str();
    c.admin_jwt_secret = config.admin_jwt_secret.c_str();
    c.user_jwt_secret = config.user_jwt_secret.c_str();
    c.argon2 = config.argon2;
    c.durability = config.durable ? SEATBOOK_DURABILITY_FULL : SEATBOOK_DURABILITY_NONE;
    c.hold_default_ttl_ms = config.hold_default_ttl_ms;
    c.hold_min_ttl_ms = config.hold_min_ttl_ms;
    c.hold_max_ttl_ms = config.hold_max_ttl_ms;
    c.hold_max_total_ms = config.hold_max_total_ms;
    c.reaper_interval_ms = config.reaper_interval_ms;
    c.max_seats_per_reservation = config.max_seats_per_reservation;
    c.max_seats_per_bulk = config.max_seats_per_bulk;
    c.max_active_per_user = config.max_active_per_user;
    c.max_held_seats_per_entity = config.max_held_seats_per_entity;
    if (*payment_) {
      c.payment_callback = detail::payment_trampoline;
      c.payment_userdata = payment_.get();
    }
    seatbook_engine *e = nullptr;
    detail::check(seatbook_engine_open(path.c_str(), &c, &e));
    h_.reset(e);
  }

  std::string admin_login(const std::string &email, const std::string &password) const {
    char *t = nullptr;
    detail::check(seatbook_engine_admin_login(get(), email.c_str(), password.c_str(), &t));
    return detail::take(t);
  }
  Admin admin(const std::string &token) const {
    seatbook_admin *a = nullptr;
    detail::check(seatbook_engine_admin(get(), token.c_str(), &a));
    return Admin(a);
  }
  App app(const std::string &app_id, const std::string &api_key,
          const std::string &origin) const {
    seatbook_app *a = nullptr;
    detail::check(seatbook_engine_app(get(), app_id.c_str(), api_key.c_str(), origin.c_str(), &a));
    return App(a);
  }
  Stats stats() const {
    Stats s{};
    detail::check(seatbook_engine_stats(get(), &s));
    return s;
  }
  size_t sweep() const {
    size_t n = 0;
    detail::check(seatbook_engine_sweep(get(), &n));
    return n;
  }
  Audit audit() const {
    Audit a{};
    detail::check(seatbook_engine_audit(get(), &a));
    return a;
  }
  void close() { h_.reset(); }
  const seatbook_engine *get() const {
    if (!h_) throw Error(SEATBOOK_ENGINE_CLOSED, "the engine was closed", "");
    return h_.get();
  }

 private:
  // Declared first, destroyed last: the callback outlives the engine.
  std::unique_ptr<PaymentVerifier> payment_;
  detail::Owned<seatbook_engine, seatbook_engine_close> h_;
};

}  // namespace seatbook

#endif  // SEATBOOK_HPP
