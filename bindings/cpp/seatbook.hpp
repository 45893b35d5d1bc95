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
// Payment verification is explicit: Config::payment (the host's verifier)
// or Config::use_simulated_payments (demos and tests); neither makes the
// Engine constructor throw SEATBOOK_INVALID_CONFIG. The verifier is shared
// by the Engine and every App and Admin made from it, so it stays alive
// while any of them does (a confirm may still run after the Engine is
// closed).
//
// Link with -lseatbook (shared) or libseatbook.a plus
// -lpthread -ldl -lm -lrt -lutil -lgcc_s (static), with -I for seatbook.h.
#ifndef SEATBOOK_HPP
#define SEATBOOK_HPP

#include <cstdint>
#include <cstring>
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
enum class BookingStatus { Success, Failed, Cancelled, RefundDue, Refunded };

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

/// What Admin::purge_history removed.
struct PurgeReport {
  uint64_t reservations;     // ended without a booking (expired or released)
  uint64_t failed_attempts;  // FAILED records of declined payments
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

/// Where an entity is in its lifecycle (OnSale -> Closed -> Archived, one
/// way). A value a later library adds is passed through as it is: treat
/// any value but OnSale as "not on sale".
enum class EntityStatus : uint32_t {
  OnSale = SEATBOOK_ENTITY_STATUS_ON_SALE,
  Closed = SEATBOOK_ENTITY_STATUS_CLOSED,
  Archived = SEATBOOK_ENTITY_STATUS_ARCHIVED,  // seats gone, figures frozen
};

/// What Admin::close_entity does with the live holds on the entity's seats.
enum class HoldsOnClose : uint32_t {
  Keep = SEATBOOK_HOLDS_KEEP,        // they run to their end and can be confirmed
  Release = SEATBOOK_HOLDS_RELEASE,  // released at once
};

/// An entity (an event, a route, a show) as the admin sees it. Instants
/// are milliseconds since the Unix epoch; empty when not set.
struct EntityInfo {
  std::string entity_id, name, kind;
  std::optional<uint64_t> starts_at;
  std::optional<uint64_t> sale_opens_at;   // reserves before it: SEATBOOK_SALE_NOT_OPEN
  std::optional<uint64_t> sale_closes_at;  // reserves at or after it: SEATBOOK_SALE_CLOSED
  EntityStatus status = EntityStatus::OnSale;
  uint64_t created_at = 0, updated_at = 0;
};

/// An entity to create with Admin::create_entity.
struct NewEntity {
  std::string entity_id;
  std::string name;  // empty: the entity id
  std::string kind;  // free text ("event", "route", "show", ...)
  std::optional<uint64_t> starts_at, sale_opens_at, sale_closes_at;
};

/// One optional instant in an EntityUpdate: keep it (the default), set it
/// or clear it.
class FieldChange {
 public:
  FieldChange() = default;
  static FieldChange keep() { return FieldChange(); }
  static FieldChange set(uint64_t ms) { return FieldChange(SEATBOOK_FIELD_SET, ms); }
  static FieldChange clear() { return FieldChange(SEATBOOK_FIELD_CLEAR, 0); }
  uint32_t change() const { return change_; }
  uint64_t value() const { return value_; }

 private:
  FieldChange(uint32_t change, uint64_t value) : change_(change), value_(value) {}
  uint32_t change_ = SEATBOOK_FIELD_KEEP;
  uint64_t value_ = 0;
};

/// Changes to an entity (Admin::update_entity); a default-constructed
/// update changes nothing.
struct EntityUpdate {
  std::optional<std::string> name, kind;  // empty optional: keep
  FieldChange starts_at, sale_opens_at, sale_closes_at;
};

/// An amount of money in one currency (minor units).
struct Money {
  std::string currency;
  uint64_t amount_minor = 0;
};

/// One entity's figures when they were read: seats sold, held and
/// available, and the revenue of the sold seats per currency.
struct EntityFigures {
  std::string entity_id;
  EntityStatus status = EntityStatus::OnSale;
  uint64_t sold = 0, held = 0, available = 0;
  std::vector<Money> revenue;  // ordered by currency; empty when none sold
};

using SeatCounts = seatbook_seat_counts;
using Stats = seatbook_stats;
using Audit = seatbook_audit;

/// Whether and how a checked database can be opened.
enum class Recovery : uint32_t {
  AsIs = SEATBOOK_RECOVERY_AS_IS,
  DiscardingJournal = SEATBOOK_RECOVERY_DISCARDING_JOURNAL,
  NotRecoverable = SEATBOOK_RECOVERY_NOT_RECOVERABLE,
};

/// What seatbook::check() found.
struct CheckReport {
  Recovery recovery = Recovery::NotRecoverable;
  std::optional<uint64_t> journal_bytes;  // empty: no journal file
  bool replays_journal = false;
  std::optional<std::string> open_error;
  std::optional<Audit> audit;  // empty when not recoverable
  std::vector<std::string> violations;
  bool healthy = false;
};

/// What a payment verifier is asked to check: that the payment
/// `payment_id` was made for this reservation (`reservation_id` of
/// `app_id`, by `user_id`) over exactly `amount_minor` in `currency`. Look
/// the payment up at the provider and compare the metadata the host
/// attached when creating it (e.g. a "reservation_id" key) and the amount;
/// a payment id alone proves nothing.
struct PaymentRequest {
  std::string app_id, user_id, payment_id, currency;
  uint64_t reservation_id = 0, amount_minor = 0;
};
/// A verifier's answer. Only approve() approves: a default-constructed
/// decision declines.
struct PaymentDecision {
  bool approved = false;
  std::string reason;  // when declined, shown to the buyer
  static PaymentDecision approve() { return {true, {}}; }
  static PaymentDecision decline(std::string why) { return {false, std::move(why)}; }
};
/// Called on the confirming thread, from many threads at once: must be
/// thread-safe. Any exception it throws counts as a decline.
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

inline std::optional<uint64_t> instant(bool has, uint64_t value) {
  return has ? std::optional<uint64_t>(value) : std::nullopt;
}

inline EntityInfo entity_info(const seatbook_entity_info_view &v) {
  EntityInfo e;
  e.entity_id = str(v.entity_id);
  e.name = str(v.name);
  e.kind = str(v.kind);
  e.starts_at = instant(v.has_starts_at, v.starts_at);
  e.sale_opens_at = instant(v.has_sale_opens_at, v.sale_opens_at);
  e.sale_closes_at = instant(v.has_sale_closes_at, v.sale_closes_at);
  e.status = static_cast<EntityStatus>(v.status);
  e.created_at = v.created_at;
  e.updated_at = v.updated_at;
  return e;
}

inline EntityInfo take_entity(seatbook_entity_info *p) {
  Owned<seatbook_entity_info, seatbook_entity_info_free> h(p);
  seatbook_entity_info_view v;
  check(seatbook_entity_info_get(h.get(), &v));
  return entity_info(v);
}

/// The entities of a list handle, which it frees.
inline std::vector<EntityInfo> take_entity_list(seatbook_entity_info_list *raw) {
  Owned<seatbook_entity_info_list, seatbook_entity_info_list_free> list(raw);
  size_t n = 0;
  check(seatbook_entity_info_list_count(raw, &n));
  std::vector<EntityInfo> out;
  out.reserve(n);
  for (size_t i = 0; i < n; i++) {
    seatbook_entity_info_view v;
    check(seatbook_entity_info_list_get(raw, i, &v));
    out.push_back(entity_info(v));
  }
  return out;
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

inline std::vector<Booking> take_booking_list(seatbook_booking_list *raw) {
  Owned<seatbook_booking_list, seatbook_booking_list_free> list(raw);
  size_t n = 0;
  check(seatbook_booking_list_count(raw, &n));
  std::vector<Booking> out;
  for (size_t i = 0; i < n; i++) {
    seatbook_booking_view v;
    check(seatbook_booking_list_get(raw, i, &v));
    out.push_back(booking(v));
  }
  return out;
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

/// Writes `why` (truncated) as the decline reason; never throws.
inline void write_reason(const char *why, char *reason, size_t capacity) noexcept {
  if (reason == nullptr || capacity == 0) return;
  size_t n = std::strlen(why);
  if (n > capacity - 1) n = capacity - 1;
  std::memcpy(reason, why, n);
  reason[n] = '\0';
}

/// The C callback: calls the PaymentVerifier that userdata points to. No
/// exception leaves it (the library cannot resume after a C++ exception):
/// a throwing verifier declines.
inline uint32_t payment_trampoline(void *userdata,
                                   const seatbook_payment_request *req,
                                   char *reason, size_t capacity) noexcept {
  try {
    const auto &verify = *static_cast<const PaymentVerifier *>(userdata);
    PaymentDecision d = verify(PaymentRequest{str(req->app_id), str(req->user_id),
                                              str(req->payment_id), str(req->currency),
                                              req->reservation_id, req->amount_minor});
    if (d.approved) return SEATBOOK_PAYMENT_APPROVE;
    write_reason(d.reason.c_str(), reason, capacity);
  } catch (...) {
    write_reason("the payment verifier failed", reason, capacity);
  }
  return SEATBOOK_PAYMENT_DECLINE;
}

/// Shared ownership of the payment verifier (may be null).
using Keepalive = std::shared_ptr<const PaymentVerifier>;

}  // namespace detail

/// For a raw C payment callback written in C++ (used without Engine):
/// `cfg.payment_callback = seatbook::guarded<my_callback>;` calls
/// `my_callback` and turns any exception out of it into a decline. An
/// exception that escapes an unguarded callback aborts the process (the
/// library cannot resume after a C++ exception).
template <seatbook_payment_callback Callback>
uint32_t guarded(void *userdata, const seatbook_payment_request *req,
                 char *reason, size_t capacity) noexcept {
  try {
    return Callback(userdata, req, reason, capacity);
  } catch (...) {
    detail::write_reason("the payment callback failed", reason, capacity);
  }
  return SEATBOOK_PAYMENT_DECLINE;
}

/// Engine configuration. Zero numbers mean "default"; see seatbook_config.
struct Config {
  std::string admin_email, admin_password_hash, admin_jwt_secret,
      user_jwt_secret;
  seatbook_argon2_params argon2{};  // zeros: OWASP default
  // Most argon2 runs at once (0: the number of cores) and the longest wait
  // for a turn before SEATBOOK_PASSWORD_WORK_BUSY (0: 5000 ms).
  uint32_t password_work_max_concurrent = 0;
  uint64_t password_work_max_wait_ms = 0;
  bool durable = true;              // false: no fsync (tests, demos)
  uint64_t hold_default_ttl_ms = 0, hold_min_ttl_ms = 0, hold_max_ttl_ms = 0,
           hold_max_total_ms = 0, reaper_interval_ms = 0;
  // How long a confirm may pin its seats while the verifier runs (0: 60 s).
  uint64_t hold_confirm_deadline_ms = 0;
  uint32_t max_seats_per_reservation = 0, max_seats_per_bulk = 0;
  /// Required: the host's verifier, unless use_simulated_payments is set.
  PaymentVerifier payment;
  /// Picks the deterministic simulation instead (payment ids starting with
  /// "fail" or "decline" are declined, others approved): demos and tests
  /// only, it checks nothing. Setting both is refused.
  bool use_simulated_payments = false;
  /// true: set a journal that does not continue the database aside
  /// (renamed <path>-journal.discarded-<ms>) instead of refusing to open.
  bool discard_unmatched_journal = false;
  // Hold quotas (0: default 5 and 10; UINT32_MAX: no limit).
  uint32_t max_active_per_user = 0, max_held_seats_per_entity = 0;
};

/// Hashes a password for Config::admin_password_hash.
inline std::string hash_password(const std::string &password,
                                 const seatbook_argon2_params &params = {}) {
  char *out = nullptr;
  detail::check(seatbook_hash_password(password.c_str(), &params, &out));
  return detail::take(out);
}

inline std::string version() { return seatbook_version(); }

/// Checks the CLOSED database at `path` and its journal on a temporary copy
/// (never changing them). Throws SEATBOOK_DATABASE_NOT_FOUND, or
/// SEATBOOK_DATABASE_ALREADY_OPEN when a live engine has it open.
inline CheckReport check(const std::string &path) {
  seatbook_check_report *p = nullptr;
  detail::check(seatbook_check(path.c_str(), &p));
  detail::Owned<seatbook_check_report, seatbook_check_report_free> h(p);
  seatbook_check_view v;
  detail::check(seatbook_check_report_get(h.get(), &v));
  CheckReport r;
  r.recovery = static_cast<Recovery>(v.recovery);
  if (v.journal_present) r.journal_bytes = v.journal_bytes;
  r.replays_journal = v.replays_journal;
  r.open_error = detail::opt(v.open_error);
  if (v.audited) {
    r.audit = v.audit;
    for (uint64_t i = 0; i < v.audit.violations; ++i) {
      const char *line = nullptr;
      detail::check(seatbook_check_report_violation(h.get(), i, &line));
      r.violations.push_back(detail::str(line));
    }
  }
  r.healthy = v.healthy;
  return r;
}

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

/// An authenticated app context. Thread-safe. Keeps the engine's payment
/// verifier alive as long as it lives. Once the admin rotates its key,
/// deactivates the app or removes its origin, every call throws
/// SEATBOOK_APP_CONTEXT_REVOKED: make a new App with Engine::app().
class App {
 public:
  explicit App(seatbook_app *p, detail::Keepalive payment = nullptr)
      : payment_(std::move(payment)), h_(p) {}

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
  /// Changes the user's password and returns a fresh token; the user's
  /// earlier tokens and User objects throw SEATBOOK_INVALID_TOKEN from then on.
  std::string change_password(const User &user, const std::string &current_password,
                              const std::string &new_password) const {
    char *t = nullptr;
    detail::check(seatbook_app_change_password(get(), user.get(), current_password.c_str(),
                                               new_password.c_str(), &t));
    return detail::take(t);
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
  /// One entity of this app as its buyers may see it (name, kind, start,
  /// sale window, status). Throws SEATBOOK_ENTITY_NOT_FOUND.
  EntityInfo entity(const std::string &entity_id) const {
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_app_entity(get(), entity_id.c_str(), &info));
    return detail::take_entity(info);
  }
  /// This app's entities on sale or closed (archived ones are left out),
  /// by entity id.
  std::vector<EntityInfo> list_entities() const {
    seatbook_entity_info_list *raw = nullptr;
    detail::check(seatbook_app_list_entities(get(), &raw));
    return detail::take_entity_list(raw);
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
    return detail::take_booking_list(raw);
  }
  /// This app's REFUND_DUE records: approved payments that booked nothing.
  std::vector<Booking> refunds_due() const {
    seatbook_booking_list *raw = nullptr;
    detail::check(seatbook_app_refunds_due(get(), &raw));
    return detail::take_booking_list(raw);
  }
  /// Cancels one of this app's bookings. Throws SEATBOOK_ENTITY_ARCHIVED
  /// once its entity is archived (its seats are gone).
  Booking cancel_booking(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_app_cancel_booking(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  const seatbook_app *get() const { return h_.get(); }

 private:
  // Declared first, released last: the handle is freed before the verifier.
  detail::Keepalive payment_;
  detail::Owned<seatbook_app, seatbook_app_free> h_;
};

/// A verified admin token. Thread-safe. Keeps the engine's payment
/// verifier alive as long as it lives.
class Admin {
 public:
  explicit Admin(seatbook_admin *p, detail::Keepalive payment = nullptr)
      : payment_(std::move(payment)), h_(p) {}

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
  /// Cancels any booking of any app (as App::cancel_booking).
  Booking cancel_booking(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_admin_cancel_booking(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  /// An app's REFUND_DUE records: approved payments that booked nothing.
  std::vector<Booking> refunds_due(const std::string &app_id) const {
    seatbook_booking_list *raw = nullptr;
    detail::check(seatbook_admin_refunds_due(get(), app_id.c_str(), &raw));
    return detail::take_booking_list(raw);
  }
  /// Marks a REFUND_DUE record as REFUNDED.
  Booking settle_refund(const std::string &booking_id) const {
    seatbook_booking *b = nullptr;
    detail::check(seatbook_admin_settle_refund(get(), booking_id.c_str(), &b));
    return detail::take_booking(b);
  }
  /// Creates an entity of the app, on sale. Throws
  /// SEATBOOK_ENTITY_ALREADY_EXISTS, SEATBOOK_INVALID_INPUT (id, kind, a
  /// sale window that does not open before it closes), ...
  EntityInfo create_entity(const std::string &app_id, const NewEntity &entity) const {
    seatbook_new_entity raw{};
    raw.entity_id = entity.entity_id.c_str();
    raw.name = entity.name.c_str();
    raw.kind = entity.kind.c_str();
    raw.has_starts_at = entity.starts_at.has_value();
    raw.starts_at = entity.starts_at.value_or(0);
    raw.has_sale_opens_at = entity.sale_opens_at.has_value();
    raw.sale_opens_at = entity.sale_opens_at.value_or(0);
    raw.has_sale_closes_at = entity.sale_closes_at.has_value();
    raw.sale_closes_at = entity.sale_closes_at.value_or(0);
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_admin_create_entity(get(), app_id.c_str(), &raw, &info));
    return detail::take_entity(info);
  }
  /// Changes an entity's name, kind, start or sale window. Throws
  /// SEATBOOK_ENTITY_NOT_FOUND, SEATBOOK_ENTITY_CLOSED (a start or window
  /// change of a closed entity), SEATBOOK_ENTITY_ARCHIVED (any change of an
  /// archived one), SEATBOOK_INVALID_INPUT, ...
  EntityInfo update_entity(const std::string &app_id, const std::string &entity_id,
                           const EntityUpdate &update) const {
    seatbook_entity_update raw{};
    raw.name = update.name ? update.name->c_str() : nullptr;
    raw.kind = update.kind ? update.kind->c_str() : nullptr;
    raw.starts_at_change = update.starts_at.change();
    raw.starts_at = update.starts_at.value();
    raw.sale_opens_at_change = update.sale_opens_at.change();
    raw.sale_opens_at = update.sale_opens_at.value();
    raw.sale_closes_at_change = update.sale_closes_at.change();
    raw.sale_closes_at = update.sale_closes_at.value();
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_admin_update_entity(get(), app_id.c_str(), entity_id.c_str(),
                                               &raw, &info));
    return detail::take_entity(info);
  }
  /// One entity. Throws SEATBOOK_ENTITY_NOT_FOUND.
  EntityInfo get_entity(const std::string &app_id, const std::string &entity_id) const {
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_admin_get_entity(get(), app_id.c_str(), entity_id.c_str(), &info));
    return detail::take_entity(info);
  }
  /// Every entity of the app, by entity id.
  std::vector<EntityInfo> list_entities(const std::string &app_id) const {
    seatbook_entity_info_list *raw = nullptr;
    detail::check(seatbook_admin_list_entities(get(), app_id.c_str(), &raw));
    return detail::take_entity_list(raw);
  }
  /// Closes an entity for good: no reserve of its seats succeeds from now
  /// on (SEATBOOK_SALE_CLOSED); live holds are kept or released as `holds`
  /// says. Bookings stay cancellable. Throws SEATBOOK_ENTITY_NOT_FOUND, ...
  EntityInfo close_entity(const std::string &app_id, const std::string &entity_id,
                          HoldsOnClose holds = HoldsOnClose::Keep) const {
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_admin_close_entity(get(), app_id.c_str(), entity_id.c_str(),
                                              static_cast<uint32_t>(holds), &info));
    return detail::take_entity(info);
  }
  /// Archives a closed entity: live holds on its seats are released, its
  /// seats leave memory and the database (their ids stay taken), its
  /// figures stay as they are now. Its bookings stay readable but can no
  /// longer be cancelled (SEATBOOK_ENTITY_ARCHIVED). Archiving an archived
  /// entity changes nothing. Throws SEATBOOK_ENTITY_NOT_FOUND,
  /// SEATBOOK_ENTITY_NOT_CLOSED (close it first), SEATBOOK_ENTITY_BUSY (a
  /// confirm is committing on one of its seats: retry), ...
  EntityInfo archive_entity(const std::string &app_id, const std::string &entity_id) const {
    seatbook_entity_info *info = nullptr;
    detail::check(seatbook_admin_archive_entity(get(), app_id.c_str(), entity_id.c_str(), &info));
    return detail::take_entity(info);
  }
  /// An entity's figures now (as at archive for an archived one). Throws
  /// SEATBOOK_ENTITY_NOT_FOUND.
  EntityFigures entity_figures(const std::string &app_id, const std::string &entity_id) const {
    seatbook_entity_figures *raw = nullptr;
    detail::check(seatbook_admin_entity_figures(get(), app_id.c_str(), entity_id.c_str(), &raw));
    detail::Owned<seatbook_entity_figures, seatbook_entity_figures_free> h(raw);
    seatbook_entity_figures_view v;
    detail::check(seatbook_entity_figures_get(raw, &v));
    EntityFigures f;
    f.entity_id = detail::str(v.entity_id);
    f.status = static_cast<EntityStatus>(v.status);
    f.sold = v.sold;
    f.held = v.held;
    f.available = v.available;
    f.revenue.reserve(v.revenue_count);
    for (size_t i = 0; i < v.revenue_count; i++)
      f.revenue.push_back(Money{detail::str(v.revenue[i].currency), v.revenue[i].amount_minor});
    return f;
  }
  /// Purges the history older than older_than_ms (at least the hold
  /// policy's longest total hold): reservations that ended without a
  /// booking and the FAILED records of declined payments. Bookings that
  /// moved money or seats, confirmed and live reservations, reservations
  /// tied to a pending, booked or refund-due payment, and payment bindings
  /// stay. Throws SEATBOOK_INVALID_INPUT for a shorter age (nothing purged).
  PurgeReport purge_history(uint64_t older_than_ms) const {
    seatbook_purge_report r{};
    detail::check(seatbook_admin_purge_history(get(), older_than_ms, &r));
    return PurgeReport{r.reservations, r.failed_attempts};
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
  // Declared first, released last: the handle is freed before the verifier.
  detail::Keepalive payment_;
  detail::Owned<seatbook_admin, seatbook_admin_free> h_;
};

/// An open engine. Thread-safe. Closed by its destructor (or close()); App
/// and Admin objects made from it then throw SEATBOOK_ENGINE_CLOSED. Throws
/// SEATBOOK_INVALID_CONFIG if the config names no payment verifier.
class Engine {
 public:
  Engine(const std::string &path, Config config) {
    if (config.payment)
      payment_ = std::make_shared<const PaymentVerifier>(std::move(config.payment));
    seatbook_config c{};
    c.admin_email = config.admin_email.c_str();
    c.admin_password_hash = config.admin_password_hash.c_str();
    c.admin_jwt_secret = config.admin_jwt_secret.c_str();
    c.user_jwt_secret = config.user_jwt_secret.c_str();
    c.argon2 = config.argon2;
    c.password_work_max_concurrent = config.password_work_max_concurrent;
    c.password_work_max_wait_ms = config.password_work_max_wait_ms;
    c.durability = config.durable ? SEATBOOK_DURABILITY_FULL : SEATBOOK_DURABILITY_NONE;
    c.hold_default_ttl_ms = config.hold_default_ttl_ms;
    c.hold_min_ttl_ms = config.hold_min_ttl_ms;
    c.hold_max_ttl_ms = config.hold_max_ttl_ms;
    c.hold_max_total_ms = config.hold_max_total_ms;
    c.hold_confirm_deadline_ms = config.hold_confirm_deadline_ms;
    c.reaper_interval_ms = config.reaper_interval_ms;
    c.max_seats_per_reservation = config.max_seats_per_reservation;
    c.max_seats_per_bulk = config.max_seats_per_bulk;
    c.discard_unmatched_journal = config.discard_unmatched_journal ? 1 : 0;
    c.max_active_per_user = config.max_active_per_user;
    c.max_held_seats_per_entity = config.max_held_seats_per_entity;
    if (payment_) {
      c.payment_callback = detail::payment_trampoline;
      // The trampoline only reads through it.
      c.payment_userdata = const_cast<PaymentVerifier *>(payment_.get());
    }
    c.use_simulated_payments = config.use_simulated_payments;
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
    return Admin(a, payment_);
  }
  App app(const std::string &app_id, const std::string &api_key,
          const std::string &origin) const {
    seatbook_app *a = nullptr;
    detail::check(seatbook_engine_app(get(), app_id.c_str(), api_key.c_str(), origin.c_str(), &a));
    return App(a, payment_);
  }
  Stats stats() const {
    Stats s{};
    detail::check(seatbook_engine_stats(get(), &s));
    return s;
  }
  /// The lock table's seat keys: live, and ever handed out (archiving
  /// entities and removing seats give keys back for new seats).
  seatbook_seat_keys seat_keys() const {
    seatbook_seat_keys k{};
    detail::check(seatbook_engine_seat_keys(get(), &k));
    return k;
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
  /// Writes a consistent copy of the database to `path` while the engine
  /// keeps serving; the copy has no journal (restore by opening it).
  /// Throws SEATBOOK_BACKUP_TARGET_EXISTS if `path` or its -journal exists.
  void backup(const std::string &path) const {
    detail::check(seatbook_engine_backup(get(), path.c_str()));
  }
  void close() { h_.reset(); }
  const seatbook_engine *get() const {
    if (!h_) throw Error(SEATBOOK_ENGINE_CLOSED, "the engine was closed", "");
    return h_.get();
  }

 private:
  // Declared first, released last: the verifier outlives the engine
  // handle, and every App and Admin made from it shares it.
  detail::Keepalive payment_;
  detail::Owned<seatbook_engine, seatbook_engine_close> h_;
};

}  // namespace seatbook

#endif  // SEATBOOK_HPP
