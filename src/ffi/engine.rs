//! The engine handle: configuration, open/close, payment callback, engine
//! queries, and the handles made from an engine.
//!
//! Owns [`seatbook_engine`], [`seatbook_config`], the C payment callback
//! adapter. Closing is the core's [`Engine::close`]: app and admin handles
//! made from the engine answer `SEATBOOK_ENGINE_CLOSED` from then on, and
//! the database file is released once the calls running on them return.

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use super::boundary::{
    Failure, FfiResult, Handle, arg_ref, arg_str, cstring, ffi_boundary, ffi_boundary_or,
    free_handle, give_string, handle, into_raw, opt_out, out_handle, out_param,
};
use super::status::seatbook_status;
use crate::{
    Argon2Params, Config, Durability, Engine, HoldPolicy, PaymentOutcome, PaymentRequest,
    PaymentVerifier, SimulatedPayments, hash_password,
};

/// An open engine: one database file, its lock table and counters.
///
/// Thread safety: fully thread-safe. One engine handle may be used from
/// any number of threads at once (the contended-lock benchmarks do), except
/// that `seatbook_engine_close()` must not race with other calls on the
/// same engine handle. Release with `seatbook_engine_close()`.
pub struct seatbook_engine {
    _private: [u8; 0],
}

/// What an engine handle shares with the functions that use it.
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    /// The hold TTL used when a caller passes 0.
    pub(crate) default_ttl: Duration,
}

#[repr(C)]
pub(crate) struct EngineHandle {
    kind: u32,
    pub(crate) shared: Arc<Shared>,
}

impl Handle for EngineHandle {
    const KIND: u32 = 0x5EA7_0001;
    const NAME: &'static str = "seatbook_engine";
}

/// How commits reach the disk (`seatbook_config.durability`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum seatbook_durability {
    /// Every acknowledged write is fsynced before the call returns (default).
    SEATBOOK_DURABILITY_FULL = 0,
    /// No fsync: a crash may lose recent acknowledged writes (never corrupt
    /// the file). For tests, demos and benchmarks.
    SEATBOOK_DURABILITY_NONE = 1,
}

/// argon2id cost. A zero field takes its default (the OWASP minimum:
/// 19456 KiB, 2 iterations, 1 lane). Lower it only in tests
/// (e.g. 8, 1, 1): cheap hashes are trivially brute-forced.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_argon2_params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl seatbook_argon2_params {
    fn to_params(self) -> Argon2Params {
        let d = Argon2Params::default();
        let or = |v: u32, default: u32| if v == 0 { default } else { v };
        Argon2Params {
            memory_kib: or(self.memory_kib, d.memory_kib),
            iterations: or(self.iterations, d.iterations),
            parallelism: or(self.parallelism, d.parallelism),
        }
    }
}

/// What a payment callback is asked to check: that the payment
/// `payment_id` was made by this user for this reservation of this app,
/// over exactly `amount_minor` in `currency`. Every pointer is borrowed for
/// the duration of the callback only.
#[repr(C)]
pub struct seatbook_payment_request {
    pub app_id: *const c_char,
    /// The user's id (32 hex digits).
    pub user_id: *const c_char,
    pub reservation_id: u64,
    pub payment_id: *const c_char,
    /// Amount in minor units (cents).
    pub amount_minor: u64,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: *const c_char,
}

/// A payment callback's answer (return value of `seatbook_payment_callback`).
/// Only `SEATBOOK_PAYMENT_APPROVE` approves: zero, and every other value,
/// declines, so a zero-initialised or defaulted answer never approves.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum seatbook_payment_decision {
    /// Declined (also the meaning of any value but `SEATBOOK_PAYMENT_APPROVE`).
    SEATBOOK_PAYMENT_DECLINE = 0,
    /// Approved: the payment was made, in full, for this reservation.
    SEATBOOK_PAYMENT_APPROVE = 1,
}

/// Verifies a payment during `seatbook_app_confirm()`.
///
/// Check that the payment was made for this reservation: look it up at the
/// provider and approve only if it succeeded, its metadata names this
/// `reservation_id` and `app_id` (attach them when creating the payment),
/// and its amount and currency equal the request's. A payment id alone
/// proves nothing (it could be a payment for another reservation).
///
/// Return `SEATBOOK_PAYMENT_APPROVE` or `SEATBOOK_PAYMENT_DECLINE` (any
/// value but `SEATBOOK_PAYMENT_APPROVE` declines). To give a reason (shown
/// to the buyer through the error message), write a NUL-terminated UTF-8
/// string of at most `reason_capacity` bytes (NUL included) to `reason`.
/// Called on the thread that called confirm, from many threads at once if
/// confirms run concurrently, with the seats pinned: keep it prompt and
/// thread-safe, and do not call seatbook from inside it.
///
/// The callback may unwind (its ABI is `"C-unwind"`): a Rust panic out of
/// it counts as a decline. A C++ exception must not escape it: Rust cannot
/// resume after catching a foreign exception, so the process aborts
/// (defined behaviour, never an approval). seatbook.hpp's `Engine` catches
/// every exception of a C++ verifier and declines, and
/// `seatbook::guarded<callback>` does the same for a raw C++ callback.
pub type seatbook_payment_callback = Option<
    unsafe extern "C-unwind" fn(
        userdata: *mut c_void,
        request: *const seatbook_payment_request,
        reason: *mut c_char,
        reason_capacity: usize,
    ) -> u32,
>;

/// Configuration for `seatbook_engine_open()`. Zero-initialise it
/// (`seatbook_config cfg = {0};`): every zero or NULL optional field takes
/// its default. The four strings are required.
#[repr(C)]
pub struct seatbook_config {
    /// The admin's email (compared after trimming and lower-casing).
    pub admin_email: *const c_char,
    /// argon2 PHC string of the admin password (see `seatbook_hash_password()`).
    pub admin_password_hash: *const c_char,
    /// HS256 secret for admin tokens: at least 32 bytes, unlike the user one.
    pub admin_jwt_secret: *const c_char,
    /// HS256 secret for user tokens: at least 32 bytes.
    pub user_jwt_secret: *const c_char,
    /// Cost of hashing user passwords.
    pub argon2: seatbook_argon2_params,
    /// Most argon2 hashes/verifies running at once (default 0: the number
    /// of cores). At most 1024.
    pub password_work_max_concurrent: u32,
    /// Longest wait for a turn before `SEATBOOK_PASSWORD_WORK_BUSY`
    /// (default 0: 5000 ms). At most 60000.
    pub password_work_max_wait_ms: u64,
    /// A `seatbook_durability` value (0 = FULL).
    pub durability: u32,
    /// Hold TTL when a caller passes 0 (default 120000 ms).
    pub hold_default_ttl_ms: u64,
    /// Smallest TTL a caller may ask for (default 1000 ms).
    pub hold_min_ttl_ms: u64,
    /// Largest TTL a caller may ask for (default 15 min).
    pub hold_max_ttl_ms: u64,
    /// Extends never push a hold past created + this (default 30 min).
    pub hold_max_total_ms: u64,
    /// How long a confirm may pin its seats while the payment callback
    /// runs (default 60 s, at most 1 h): past it the seats are free again
    /// and a late approval becomes a refund-due record.
    pub hold_confirm_deadline_ms: u64,
    /// Most seats in one reservation (default 10, at most 64).
    pub max_seats_per_reservation: u32,
    /// Most seats in one bulk create (default 10000).
    pub max_seats_per_bulk: u32,
    /// Most live reservations per user and app (default 5; `UINT32_MAX`
    /// for no limit).
    pub max_active_per_user: u32,
    /// Most seats one user may hold at once per entity (default 10;
    /// `UINT32_MAX` for no limit).
    pub max_held_seats_per_entity: u32,
    /// Admin token lifetime (default 24 h).
    pub admin_token_ttl_ms: u64,
    /// User token lifetime (default 7 days).
    pub user_token_ttl_ms: u64,
    /// If non-zero, a background thread sweeps expired reservations this often.
    pub reaper_interval_ms: u64,
    /// Payment verification: required. NULL is refused at open
    /// (`SEATBOOK_INVALID_CONFIG`) unless `use_simulated_payments` is set.
    pub payment_callback: seatbook_payment_callback,
    /// Passed to `payment_callback` untouched. Must stay valid, like the
    /// callback, until the engine is closed and every app and admin handle
    /// made from it is freed (a confirm running on an app handle may still
    /// call it after the engine was closed).
    pub payment_userdata: *mut c_void,
    /// With a NULL `payment_callback`, `true` picks the deterministic
    /// simulated verifier (payment ids starting with "fail" or "decline"
    /// are declined, all others approved) for demos and tests. It checks
    /// nothing: never use it in production. Setting both is refused.
    pub use_simulated_payments: bool,
    /// Non-zero: open even when the journal (`<path>-journal`) does not
    /// continue the database, instead of failing with
    /// `SEATBOOK_JOURNAL_MISMATCH`, `_MISSING` or `_CORRUPTED`. Such a
    /// journal is never replayed: it is renamed aside to
    /// `<path>-journal.discarded-<unix ms>` and a new one created; writes
    /// only it held are lost. Default 0 (refuse).
    pub discard_unmatched_journal: u32,
}

/// The C callback as a [`PaymentVerifier`].
struct CallbackVerifier {
    callback: unsafe extern "C-unwind" fn(
        *mut c_void,
        *const seatbook_payment_request,
        *mut c_char,
        usize,
    ) -> u32,
    userdata: *mut c_void,
}

// SAFETY: the header requires the callback and its userdata to be usable
// from any thread at once; the pointer itself is only passed back.
unsafe impl Send for CallbackVerifier {}
// SAFETY: as above.
unsafe impl Sync for CallbackVerifier {}

const REASON_CAPACITY: usize = 256;

impl PaymentVerifier for CallbackVerifier {
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome {
        let app_id = cstring(request.app_id);
        let user_id = cstring(request.user_id.to_string());
        let payment_id = cstring(request.payment_id);
        let currency = cstring(request.currency);
        let c_request = seatbook_payment_request {
            app_id: app_id.as_ptr(),
            user_id: user_id.as_ptr(),
            reservation_id: request.reservation_id,
            payment_id: payment_id.as_ptr(),
            amount_minor: request.amount_minor,
            currency: currency.as_ptr(),
        };
        let mut reason = [0u8; REASON_CAPACITY];
        // An unwind out of the callback (its ABI allows one) is a decline.
        // A foreign (C++) exception reaching `catch_unwind` aborts the
        // process instead: Rust cannot resume after one.
        let called = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the host passed a callback of this signature that,
            // with its userdata, stays callable from any thread until the
            // engine is closed and its handles are freed (docs/ffi.md,
            // pointer rule 7); every pointer we pass is valid for the call.
            unsafe {
                (self.callback)(
                    self.userdata,
                    &raw const c_request,
                    reason.as_mut_ptr().cast(),
                    REASON_CAPACITY,
                )
            }
        }));
        let Ok(decision) = called else {
            return PaymentOutcome::Declined("the payment callback failed".to_owned());
        };
        if decision == seatbook_payment_decision::SEATBOOK_PAYMENT_APPROVE as u32 {
            return PaymentOutcome::Approved;
        }
        let end = reason
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(REASON_CAPACITY);
        let text = String::from_utf8_lossy(&reason[..end]).trim().to_owned();
        PaymentOutcome::Declined(if text.is_empty() {
            "declined by the payment callback".to_owned()
        } else {
            text
        })
    }
}

fn ms(value: u64, default: Duration) -> Duration {
    if value == 0 {
        default
    } else {
        Duration::from_millis(value)
    }
}

/// A C quota: 0 is the default, `UINT32_MAX` no limit.
fn quota(value: u32, default: usize) -> usize {
    match value {
        0 => default,
        u32::MAX => usize::MAX,
        n => n as usize,
    }
}

/// The four required strings of a [`seatbook_config`]: admin email, admin
/// password hash, admin and user JWT secrets.
type ConfigStrings<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Reads the string fields of the C struct.
///
/// # Safety
/// The string fields are NULL or readable C strings.
unsafe fn config_strings<'a>(c: &seatbook_config) -> FfiResult<ConfigStrings<'a>> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rules 2
    // and 4).
    unsafe {
        Ok((
            arg_str(c.admin_email, "config.admin_email")?,
            arg_str(c.admin_password_hash, "config.admin_password_hash")?,
            arg_str(c.admin_jwt_secret, "config.admin_jwt_secret")?,
            arg_str(c.user_jwt_secret, "config.user_jwt_secret")?,
        ))
    }
}

/// Builds a core [`Config`] from the C struct and its strings.
fn to_config(c: &seatbook_config, strings: ConfigStrings<'_>) -> FfiResult<Config> {
    let (email, hash, admin_secret, user_secret) = strings;
    let mut config = Config::new(email, hash, admin_secret, user_secret);
    config.argon2 = c.argon2.to_params();
    if c.password_work_max_concurrent != 0 {
        config.password_work.max_concurrent = c.password_work_max_concurrent as usize;
    }
    config.password_work.max_wait = ms(c.password_work_max_wait_ms, config.password_work.max_wait);
    config.durability = match c.durability {
        0 => Durability::Full,
        1 => Durability::None,
        _ => {
            return Err(Failure::new(
                seatbook_status::SEATBOOK_INVALID_CONFIG,
                "invalid configuration: durability must be SEATBOOK_DURABILITY_FULL or _NONE",
            ));
        }
    };
    let d = HoldPolicy::default();
    config.holds = HoldPolicy {
        default_ttl: ms(c.hold_default_ttl_ms, d.default_ttl),
        min_ttl: ms(c.hold_min_ttl_ms, d.min_ttl),
        max_ttl: ms(c.hold_max_ttl_ms, d.max_ttl),
        max_total: ms(c.hold_max_total_ms, d.max_total),
        max_seats: match c.max_seats_per_reservation {
            0 => d.max_seats,
            n => n as usize,
        },
        confirm_deadline: ms(c.hold_confirm_deadline_ms, d.confirm_deadline),
        max_active_per_user: quota(c.max_active_per_user, d.max_active_per_user),
        max_held_seats_per_entity: quota(c.max_held_seats_per_entity, d.max_held_seats_per_entity),
    };
    if c.max_seats_per_bulk != 0 {
        config.max_seats_per_bulk = c.max_seats_per_bulk as usize;
    }
    config.admin_token_ttl = ms(c.admin_token_ttl_ms, config.admin_token_ttl);
    config.user_token_ttl = ms(c.user_token_ttl_ms, config.user_token_ttl);
    config.reaper_interval =
        (c.reaper_interval_ms != 0).then(|| Duration::from_millis(c.reaper_interval_ms));
    config.discard_unmatched_journal = c.discard_unmatched_journal != 0;
    config.payments = match (c.payment_callback, c.use_simulated_payments) {
        (Some(callback), false) => Some(Arc::new(CallbackVerifier {
            callback,
            userdata: c.payment_userdata,
        })),
        (None, true) => Some(Arc::new(SimulatedPayments::default())),
        (Some(_), true) => {
            return Err(Failure::new(
                seatbook_status::SEATBOOK_INVALID_CONFIG,
                "invalid configuration: payment_callback and use_simulated_payments are both \
                 set; pick one",
            ));
        }
        (None, false) => {
            return Err(Failure::new(
                seatbook_status::SEATBOOK_INVALID_CONFIG,
                "invalid configuration: no payment verifier; set payment_callback (or, for \
                 demos and tests only, use_simulated_payments = true)",
            ));
        }
    };
    Ok(config)
}

/// Opens (or creates) the engine database at `path` (UTF-8) with `config`.
/// On success `*out_engine` is a new engine handle; on failure it is NULL.
/// Errors: `SEATBOOK_INVALID_CONFIG` (no payment verifier: a NULL
/// `payment_callback` without `use_simulated_payments`, or both set; weak
/// or equal JWT secrets, a bad admin hash or email, inconsistent hold
/// bounds), `SEATBOOK_DATABASE_ALREADY_OPEN`,
/// `SEATBOOK_JOURNAL_MISMATCH`, `SEATBOOK_JOURNAL_MISSING`,
/// `SEATBOOK_JOURNAL_CORRUPTED` (the journal does not continue the
/// database; see `discard_unmatched_journal`), `SEATBOOK_UNSUPPORTED_FORMAT`,
/// `SEATBOOK_STORAGE`, `SEATBOOK_NULL_PARAMETER`, `SEATBOOK_INVALID_UTF8`.
/// The config (and its strings) may be freed once this returns.
///
/// # Safety
/// `path` is NULL or a C string; `config` is NULL or points to a
/// `seatbook_config` whose strings are NULL or C strings; `out_engine` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_open(
    path: *const c_char,
    config: *const seatbook_config,
    out_engine: *mut *mut seatbook_engine,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_engine` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `path` NULL or a readable C string (rule 2), `config`
        // NULL or a readable `seatbook_config` whose strings are NULL or
        // readable C strings (rules 4 and 2).
        let (out, path, c, strings) = unsafe {
            let out = out_handle(out_engine, "out_engine")?;
            let path = arg_str(path, "path")?;
            let c = arg_ref(config, "config")?;
            (out, path, c, config_strings(c)?)
        };
        let config = to_config(c, strings)?;
        let default_ttl = config.holds.default_ttl;
        let engine = Engine::open(path, config)?;
        let shared = Arc::new(Shared {
            engine,
            default_ttl,
        });
        *out = into_raw(EngineHandle {
            kind: EngineHandle::KIND,
            shared,
        });
        Ok(())
    })
}

/// Closes the engine and frees its handle (the one release function of
/// `seatbook_engine`). App and admin handles made from this engine stay
/// valid memory but fail with `SEATBOOK_ENGINE_CLOSED`; free them as usual.
/// Waits for storage accesses in progress; the file is released once the
/// calls running on those handles return (a call already past its checks
/// when the close began may still complete, or fail with
/// `SEATBOOK_ENGINE_CLOSED`).
/// NULL is a no-op. Using `engine` afterwards is undefined behaviour.
///
/// # Safety
/// `engine` is NULL or a live engine handle, not used by another thread
/// during or after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_close(engine: *mut seatbook_engine) {
    ffi_boundary_or((), || {
        // SAFETY: `engine` is NULL or a live handle not closed before and
        // unused by other threads from now on (docs/ffi.md, pointer rule 6).
        if let Ok(h) = unsafe { handle::<EngineHandle, _>(engine, "engine") } {
            h.shared.engine.close();
        }
        // SAFETY: as above; `h` is not used past this point.
        unsafe { free_handle::<EngineHandle, _>(engine) };
    });
}

/// Borrows the engine handle.
///
/// # Safety
/// `p` is NULL or a live seatbook handle.
pub(crate) unsafe fn engine_handle<'a>(p: *const seatbook_engine) -> FfiResult<&'a EngineHandle> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 1).
    unsafe { handle::<EngineHandle, _>(p, "engine") }
}

/// Engine counters since open (not persisted).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_stats {
    /// Reserve calls that reached the lock table.
    pub reserve_attempts: u64,
    /// Holds taken (winning reserves).
    pub holds_taken: u64,
    /// Reserves rejected because a seat was held or booked.
    pub contention_rejections: u64,
    /// Successful confirms (bookings created).
    pub confirms: u64,
    /// Reservations marked EXPIRED.
    pub expiries: u64,
    /// Holds released by their holder.
    pub releases: u64,
    /// Confirms whose payment was declined.
    pub payment_failures: u64,
    /// Bookings cancelled.
    pub cancellations: u64,
}

/// Reads the engine's counters into `*out`.
///
/// # Safety
/// `engine` is NULL or a live engine handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_stats(
    engine: *const seatbook_engine,
    out: *mut seatbook_stats,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `engine` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5).
        let (h, out) = unsafe { (engine_handle(engine)?, out_param(out, "out")?) };
        let s = h.shared.engine.stats();
        *out = seatbook_stats {
            reserve_attempts: s.reserve_attempts,
            holds_taken: s.holds_taken,
            contention_rejections: s.contention_rejections,
            confirms: s.confirms,
            expiries: s.expiries,
            releases: s.releases,
            payment_failures: s.payment_failures,
            cancellations: s.cancellations,
        };
        Ok(())
    })
}

/// The lock table's seat keys (see `seatbook_engine_seat_keys()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_seat_keys {
    /// Keys serving a seat now.
    pub live: u64,
    /// Keys ever handed out since open (live ones and those given back).
    pub allocated: u64,
}

/// Reads the lock table's seat keys into `*out`: removing seats and
/// archiving entities give keys back for new seats, so an engine that
/// archives its past entities keeps both bounded by its live seats.
///
/// # Safety
/// `engine` is NULL or a live engine handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_seat_keys(
    engine: *const seatbook_engine,
    out: *mut seatbook_seat_keys,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `engine` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5).
        let (h, out) = unsafe { (engine_handle(engine)?, out_param(out, "out")?) };
        let keys = h.shared.engine.seat_keys();
        *out = seatbook_seat_keys {
            live: keys.live,
            allocated: keys.allocated,
        };
        Ok(())
    })
}

/// Marks every ACTIVE reservation past its expiry as EXPIRED and frees its
/// seats. `*out_expired` (optional, may be NULL) receives how many.
///
/// # Safety
/// `engine` is NULL or a live engine handle; `out_expired` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_sweep(
    engine: *const seatbook_engine,
    out_expired: *mut usize,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `engine` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out_expired` NULL or writable (rule 5).
        let (h, out) = unsafe { (engine_handle(engine)?, opt_out(out_expired)) };
        let n = h.shared.engine.sweep_expired()?;
        if let Some(out) = out {
            *out = n;
        }
        Ok(())
    })
}

/// The result of `seatbook_engine_audit()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_audit {
    pub seats: u64,
    pub booked_seats: u64,
    /// Bookings with status SUCCESS.
    pub live_bookings: u64,
    pub failed_bookings: u64,
    pub cancelled_bookings: u64,
    pub reservations: u64,
    pub active_reservations: u64,
    /// Seats that two or more SUCCESS bookings claim (must be 0).
    pub double_booked_seats: u64,
    /// Number of violated invariant instances (must be 0).
    pub violations: u64,
    /// True when no invariant is violated.
    pub clean: bool,
}

/// Reads the whole database back and checks the booking invariants (a full
/// scan: for tests, demos and operators, not the hot path).
///
/// # Safety
/// `engine` is NULL or a live engine handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_audit(
    engine: *const seatbook_engine,
    out: *mut seatbook_audit,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `engine` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5).
        let (h, out) = unsafe { (engine_handle(engine)?, out_param(out, "out")?) };
        let r = h.shared.engine.audit()?;
        *out = seatbook_audit {
            seats: r.seats,
            booked_seats: r.booked_seats,
            live_bookings: r.live_bookings,
            failed_bookings: r.failed_bookings,
            cancelled_bookings: r.cancelled_bookings,
            reservations: r.reservations,
            active_reservations: r.active_reservations,
            double_booked_seats: r.double_booked_seats,
            violations: r.violations.len() as u64,
            clean: r.is_clean(),
        };
        Ok(())
    })
}

/// Hashes `password` into an argon2id PHC string (for
/// `seatbook_config.admin_password_hash`). `params` may be NULL for the
/// OWASP default cost. Free `*out_hash` with `seatbook_string_free()`.
///
/// # Safety
/// `password` is NULL or a C string; `params` is NULL or readable;
/// `out_hash` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_hash_password(
    password: *const c_char,
    params: *const seatbook_argon2_params,
    out_hash: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_hash` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `password` NULL or a readable C string (rule 2), `params` NULL
        // or a readable `seatbook_argon2_params` (rule 4).
        let (out, password, params) = unsafe {
            (
                out_handle(out_hash, "out_hash")?,
                arg_str(password, "password")?,
                params.as_ref().copied(),
            )
        };
        let params = params.unwrap_or_default().to_params();
        let hash = hash_password(password, &params)
            .map_err(|e| Failure::invalid("argon2 params", &e.to_string()))?;
        give_string(out, &hash);
        Ok(())
    })
}

/// The library version, e.g. "0.1.0". Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn seatbook_version() -> *const c_char {
    const V: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    V.as_ptr()
}
