//! Seats, holds and bookings through an app handle.
//!
//! Owns [`seatbook_seat_list`], [`seatbook_reservation`],
//! [`seatbook_booking`], [`seatbook_booking_list`] and their `*_view`
//! structs, and the reserve / extend / release / confirm / query / cancel
//! functions. Results are copied out of the core into immutable handles
//! whose strings the views borrow.

use std::ffi::{CString, c_char};
use std::time::Duration;

use super::app::{app, seatbook_app, seatbook_user, user};
use super::boundary::{
    Failure, Handle, ListHandle, arg_str, arg_strs, cstring, ffi_boundary, ffi_boundary_or,
    free_handle, handle, into_raw, list_count, list_get, out_handle, out_param, ptr_of,
};
use super::status::seatbook_status;
use crate::{
    Booking, BookingStatus, ReservationInfo, ReservationStatus, ReserveError, SeatFilter,
    SeatState, SeatView,
};

/// A seat's effective state when it was listed.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum seatbook_seat_state {
    #[default]
    SEATBOOK_SEAT_STATE_AVAILABLE = 0,
    /// Held by someone (never revealed who) until `expires_at`.
    SEATBOOK_SEAT_STATE_HELD = 1,
    SEATBOOK_SEAT_STATE_BOOKED = 2,
}

/// Lifecycle of a reservation.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum seatbook_reservation_status {
    #[default]
    SEATBOOK_RESERVATION_ACTIVE = 0,
    SEATBOOK_RESERVATION_CONFIRMED = 1,
    SEATBOOK_RESERVATION_EXPIRED = 2,
    SEATBOOK_RESERVATION_RELEASED = 3,
}

/// Payment and lifecycle status of a booking.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum seatbook_booking_status {
    /// Paid; its seats are BOOKED.
    #[default]
    SEATBOOK_BOOKING_SUCCESS = 0,
    /// The payment was declined; a record of the attempt, holding no seats.
    SEATBOOK_BOOKING_FAILED = 1,
    /// Cancelled (refunded); its seats are AVAILABLE again.
    SEATBOOK_BOOKING_CANCELLED = 2,
    /// Paid but not booked: the payment must be refunded (holds no seats).
    SEATBOOK_BOOKING_REFUND_DUE = 3,
    /// A REFUND_DUE record whose refund was marked as done.
    SEATBOOK_BOOKING_REFUNDED = 4,
}

/// The seats of one entity (from `seatbook_app_list_seats()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_seat_list_free()`.
pub struct seatbook_seat_list {
    _private: [u8; 0],
}

/// One seat of a `seatbook_seat_list`. Every pointer is borrowed from the
/// list and stays valid until the list is freed.
#[repr(C)]
pub struct seatbook_seat_view {
    pub seat_id: *const c_char,
    pub entity_id: *const c_char,
    /// Price in minor units (cents).
    pub price_minor: u64,
    /// ISO 4217 code.
    pub currency: *const c_char,
    /// Optional attributes; NULL when absent.
    pub section: *const c_char,
    pub row: *const c_char,
    pub category: *const c_char,
    pub state: seatbook_seat_state,
    /// For a HELD seat its hold's expiry (ms since the Unix epoch;
    /// `UINT64_MAX` while a confirm commits); 0 otherwise.
    pub expires_at: u64,
}

impl Default for seatbook_seat_view {
    fn default() -> Self {
        Self {
            seat_id: std::ptr::null(),
            entity_id: std::ptr::null(),
            price_minor: 0,
            currency: std::ptr::null(),
            section: std::ptr::null(),
            row: std::ptr::null(),
            category: std::ptr::null(),
            state: seatbook_seat_state::SEATBOOK_SEAT_STATE_AVAILABLE,
            expires_at: 0,
        }
    }
}

struct SeatRow {
    seat_id: CString,
    entity_id: CString,
    price_minor: u64,
    currency: CString,
    section: Option<CString>,
    row: Option<CString>,
    category: Option<CString>,
    state: seatbook_seat_state,
    expires_at: u64,
}

impl SeatRow {
    fn new(s: SeatView) -> Self {
        let (state, expires_at) = match s.state {
            SeatState::Available => (seatbook_seat_state::SEATBOOK_SEAT_STATE_AVAILABLE, 0),
            SeatState::Held { expires_at } => {
                (seatbook_seat_state::SEATBOOK_SEAT_STATE_HELD, expires_at)
            }
            SeatState::Booked => (seatbook_seat_state::SEATBOOK_SEAT_STATE_BOOKED, 0),
        };
        Self {
            seat_id: cstring(s.seat_id),
            entity_id: cstring(s.entity_id),
            price_minor: s.price_minor,
            currency: cstring(s.currency),
            section: s.attributes.section.map(cstring),
            row: s.attributes.row.map(cstring),
            category: s.attributes.category.map(cstring),
            state,
            expires_at,
        }
    }

    fn view(&self) -> seatbook_seat_view {
        seatbook_seat_view {
            seat_id: self.seat_id.as_ptr(),
            entity_id: self.entity_id.as_ptr(),
            price_minor: self.price_minor,
            currency: self.currency.as_ptr(),
            section: ptr_of(self.section.as_deref()),
            row: ptr_of(self.row.as_deref()),
            category: ptr_of(self.category.as_deref()),
            state: self.state,
            expires_at: self.expires_at,
        }
    }
}

#[repr(C)]
pub(crate) struct SeatListHandle {
    kind: u32,
    rows: Vec<SeatRow>,
}

impl Handle for SeatListHandle {
    const KIND: u32 = 0x5EA7_0007;
    const NAME: &'static str = "seatbook_seat_list";
}

impl ListHandle for SeatListHandle {
    type View = seatbook_seat_view;
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn view(&self, index: usize) -> Option<Self::View> {
        self.rows.get(index).map(SeatRow::view)
    }
}

/// Lists an entity's seats with their effective state now (all of them, or
/// only the available ones). `*out_list`: free with `seatbook_seat_list_free()`.
///
/// # Safety
/// `app` is NULL or a live app handle; `entity_id` is NULL or a C string;
/// `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_list_seats(
    app: *const seatbook_app,
    entity_id: *const c_char,
    available_only: bool,
    out_list: *mut *mut seatbook_seat_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` NULL or a live handle (rule 1), `entity_id` NULL or a
        // readable C string (rule 2).
        let (out, (_, ctx), entity_id) = unsafe {
            (
                out_handle(out_list, "out_list")?,
                self::app(app)?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let filter = if available_only {
            SeatFilter::AvailableOnly
        } else {
            SeatFilter::All
        };
        let seats = ctx.list_seats(entity_id, filter)?;
        *out = into_raw(SeatListHandle {
            kind: SeatListHandle::KIND,
            rows: seats.into_iter().map(SeatRow::new).collect(),
        });
        Ok(())
    })
}

/// The number of seats in the list.
///
/// # Safety
/// `list` is NULL or a live seat list; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_seat_list_count(
    list: *const seatbook_seat_list,
    out_count: *mut usize,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out_count` NULL or writable (rule 5): `list_count`'s contract.
    unsafe { list_count::<SeatListHandle, _>(list, out_count) }
}

/// Reads seat number `index` (0-based) into `*out`.
/// `SEATBOOK_INVALID_INPUT` if `index` is out of range.
///
/// # Safety
/// `list` is NULL or a live seat list; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_seat_list_get(
    list: *const seatbook_seat_list,
    index: usize,
    out: *mut seatbook_seat_view,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out` NULL or writable (rule 5): `list_get`'s contract.
    unsafe { list_get::<SeatListHandle, _>(list, index, out) }
}

/// Frees a seat list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live seat list, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_seat_list_free(list: *mut seatbook_seat_list) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<SeatListHandle, _>(list) });
}

/// Seat counts of one entity.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_seat_counts {
    pub available: u64,
    pub held: u64,
    pub booked: u64,
}

/// Counts an entity's seats by effective state into `*out`.
///
/// # Safety
/// `app` is NULL or a live app handle; `entity_id` is NULL or a C string;
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_seat_counts(
    app: *const seatbook_app,
    entity_id: *const c_char,
    out: *mut seatbook_seat_counts,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out` is NULL or writable (docs/ffi.md, pointer rule 5),
        // `app` NULL or a live handle (rule 1), `entity_id` NULL or a
        // readable C string (rule 2).
        let (out, (_, ctx), entity_id) = unsafe {
            (
                out_param(out, "out")?,
                self::app(app)?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let c = ctx.seat_counts(entity_id)?;
        *out = seatbook_seat_counts {
            available: c.available,
            held: c.held,
            booked: c.booked,
        };
        Ok(())
    })
}

/// A reservation as its holder sees it (from reserve, extend or
/// `seatbook_app_reservation()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_reservation_free()` (which also wipes the token).
pub struct seatbook_reservation {
    _private: [u8; 0],
}

/// The fields of a `seatbook_reservation`. Every pointer is borrowed from
/// the handle and stays valid until it is freed.
#[repr(C)]
pub struct seatbook_reservation_view {
    /// The reservation's id, also its hold's fencing number.
    pub reservation_id: u64,
    /// The bearer token needed to extend, release and confirm: a secret,
    /// present only on the handle that `seatbook_app_reserve()` returned
    /// (NULL otherwise).
    pub token: *const c_char,
    pub app_id: *const c_char,
    pub user_id: *const c_char,
    pub seat_count: usize,
    pub seat_ids: *const *const c_char,
    /// Total price of the seats, in minor units.
    pub total_minor: u64,
    pub currency: *const c_char,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub expires_at: u64,
    pub status: seatbook_reservation_status,
    /// The booking that confirmed it, or NULL.
    pub booking_id: *const c_char,
}

impl Default for seatbook_reservation_view {
    fn default() -> Self {
        Self {
            reservation_id: 0,
            token: std::ptr::null(),
            app_id: std::ptr::null(),
            user_id: std::ptr::null(),
            seat_count: 0,
            seat_ids: std::ptr::null(),
            total_minor: 0,
            currency: std::ptr::null(),
            created_at: 0,
            expires_at: 0,
            status: seatbook_reservation_status::SEATBOOK_RESERVATION_ACTIVE,
            booking_id: std::ptr::null(),
        }
    }
}

/// A `CString` whose bytes are overwritten when dropped.
struct SecretCString(CString);

impl Drop for SecretCString {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes_with_nul();
        for b in &mut bytes {
            // SAFETY: `b` is a valid, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// Seat ids with a stable array of pointers into them.
struct IdArray {
    ids: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl IdArray {
    fn new(ids: Vec<String>) -> Self {
        let ids: Vec<CString> = ids.into_iter().map(cstring).collect();
        let ptrs = ids.iter().map(|s| s.as_ptr()).collect();
        Self { ids, ptrs }
    }
}

#[repr(C)]
pub(crate) struct ReservationHandle {
    kind: u32,
    reservation_id: u64,
    token: Option<SecretCString>,
    app_id: CString,
    user_id: CString,
    seats: IdArray,
    total_minor: u64,
    currency: CString,
    created_at: u64,
    expires_at: u64,
    status: seatbook_reservation_status,
    booking_id: Option<CString>,
}

// SAFETY: immutable after construction; the raw pointers point into the
// handle's own strings.
unsafe impl Send for ReservationHandle {}
// SAFETY: as above.
unsafe impl Sync for ReservationHandle {}

impl Handle for ReservationHandle {
    const KIND: u32 = 0x5EA7_0008;
    const NAME: &'static str = "seatbook_reservation";
}

impl ReservationHandle {
    fn new(info: ReservationInfo, token: Option<&str>) -> Self {
        Self {
            kind: Self::KIND,
            reservation_id: info.reservation_id,
            token: token.map(|t| SecretCString(cstring(t))),
            app_id: cstring(info.app_id),
            user_id: cstring(info.user_id.to_string()),
            seats: IdArray::new(info.seat_ids),
            total_minor: info.total_minor,
            currency: cstring(info.currency),
            created_at: info.created_at,
            expires_at: info.expires_at,
            status: match info.status {
                ReservationStatus::Active => {
                    seatbook_reservation_status::SEATBOOK_RESERVATION_ACTIVE
                }
                ReservationStatus::Confirmed => {
                    seatbook_reservation_status::SEATBOOK_RESERVATION_CONFIRMED
                }
                ReservationStatus::Expired => {
                    seatbook_reservation_status::SEATBOOK_RESERVATION_EXPIRED
                }
                ReservationStatus::Released => {
                    seatbook_reservation_status::SEATBOOK_RESERVATION_RELEASED
                }
            },
            booking_id: info.booking_id.map(cstring),
        }
    }
}

/// Reads a reservation's fields into `*out`.
///
/// # Safety
/// `reservation` is NULL or a live reservation handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_reservation_get(
    reservation: *const seatbook_reservation,
    out: *mut seatbook_reservation_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the handle is NULL or live (docs/ffi.md, pointer rule 1),
        // `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<ReservationHandle, _>(reservation, "reservation")?,
                out_param(out, "out")?,
            )
        };
        *out = seatbook_reservation_view {
            reservation_id: h.reservation_id,
            token: ptr_of(h.token.as_ref().map(|t| t.0.as_c_str())),
            app_id: h.app_id.as_ptr(),
            user_id: h.user_id.as_ptr(),
            seat_count: h.seats.ids.len(),
            seat_ids: h.seats.ptrs.as_ptr(),
            total_minor: h.total_minor,
            currency: h.currency.as_ptr(),
            created_at: h.created_at,
            expires_at: h.expires_at,
            status: h.status,
            booking_id: ptr_of(h.booking_id.as_deref()),
        };
        Ok(())
    })
}

/// Frees a reservation handle, wiping its token. NULL is a no-op.
///
/// # Safety
/// `reservation` is NULL or a live reservation handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_reservation_free(reservation: *mut seatbook_reservation) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<ReservationHandle, _>(reservation);
    });
}

fn ttl(ms: u64, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(ms)
    }
}

/// Holds every seat in `seat_ids` for the user, or none. `ttl_ms` 0 takes
/// the configured default (120 s); otherwise it must lie within the
/// configured bounds. `*out_reservation` (free with
/// `seatbook_reservation_free()`) carries the token. Two callers racing for
/// a seat: exactly one wins. Errors: `SEATBOOK_SEAT_HELD`,
/// `SEATBOOK_SEAT_BOOKED`, `SEATBOOK_SEAT_NOT_FOUND` (the blocking seat is in
/// `seatbook_last_error_seat()`), `SEATBOOK_SALE_NOT_OPEN`,
/// `SEATBOOK_SALE_CLOSED` (an entity of the seats is before or after its
/// sale window, or closed; nothing is held), `SEATBOOK_INVALID_INPUT` (no
/// seats, too many, duplicates, mixed currencies, TTL),
/// `SEATBOOK_TOKEN_EXPIRED`, ...
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; `seat_ids` is
/// NULL or points to `seat_count` C strings; `out_reservation` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_reserve(
    app: *const seatbook_app,
    user: *const seatbook_user,
    seat_ids: *const *const c_char,
    seat_count: usize,
    ttl_ms: u64,
    out_reservation: *mut *mut seatbook_reservation,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_reservation` is NULL or writable (docs/ffi.md,
        // pointer rule 5), `app` and `user` NULL or live handles (rule 1),
        // `seat_ids` NULL or `seat_count` readable pointers (rule 3), each
        // NULL or a readable C string (rule 2).
        let (out, (h, ctx), session, ids) = unsafe {
            (
                out_handle(out_reservation, "out_reservation")?,
                self::app(app)?,
                self::user(user)?,
                arg_strs(seat_ids, seat_count, "seat_ids")?,
            )
        };
        let r = ctx
            .reserve(session, &ids, Some(ttl(ttl_ms, h.default_ttl)))
            .map_err(|e: ReserveError| {
                let seat = e.blocking_seat().map(|(s, _)| s.to_owned());
                Failure::from(e).with_seat(seat.as_deref())
            })?;
        *out = into_raw(ReservationHandle::new(r.info, Some(r.token.expose())));
        Ok(())
    })
}

/// Moves a live hold's expiry to now + `ttl_ms` (0 = the default TTL), never
/// past created + the maximum total hold time. `*out_reservation` (free
/// with `seatbook_reservation_free()`) has no token. Errors:
/// `SEATBOOK_HOLD_EXPIRED`, `SEATBOOK_HOLD_LIMIT_EXCEEDED`,
/// `SEATBOOK_SALE_CLOSED` (an entity of its seats was closed, or is
/// outside its sale window),
/// `SEATBOOK_RESERVATION_NOT_FOUND`, `SEATBOOK_RESERVATION_NOT_ACTIVE`, ...
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; `token` is NULL
/// or a C string; `out_reservation` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_extend(
    app: *const seatbook_app,
    user: *const seatbook_user,
    token: *const c_char,
    ttl_ms: u64,
    out_reservation: *mut *mut seatbook_reservation,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_reservation` is NULL or writable (docs/ffi.md,
        // pointer rule 5), `app` and `user` NULL or live handles (rule 1),
        // `token` NULL or a readable C string (rule 2).
        let (out, (h, ctx), session, token) = unsafe {
            (
                out_handle(out_reservation, "out_reservation")?,
                self::app(app)?,
                self::user(user)?,
                arg_str(token, "token")?,
            )
        };
        let info = ctx.extend(session, token, ttl(ttl_ms, h.default_ttl))?;
        *out = into_raw(ReservationHandle::new(info, None));
        Ok(())
    })
}

/// Gives a hold back (holder only): reservation RELEASED, seats free at once.
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; `token` is NULL
/// or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_release(
    app: *const seatbook_app,
    user: *const seatbook_user,
    token: *const c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `app` and `user` are NULL or live handles (docs/ffi.md,
        // pointer rule 1), `token` NULL or a readable C string (rule 2).
        let ((_, ctx), session, token) =
            unsafe { (self::app(app)?, self::user(user)?, arg_str(token, "token")?) };
        ctx.release(session, token)?;
        Ok(())
    })
}

/// The reservation a token names (holder only) into `*out_reservation`
/// (free with `seatbook_reservation_free()`; it has no token).
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; `token` is NULL
/// or a C string; `out_reservation` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_reservation(
    app: *const seatbook_app,
    user: *const seatbook_user,
    token: *const c_char,
    out_reservation: *mut *mut seatbook_reservation,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_reservation` is NULL or writable (docs/ffi.md,
        // pointer rule 5), `app` and `user` NULL or live handles (rule 1),
        // `token` NULL or a readable C string (rule 2).
        let (out, (_, ctx), session, token) = unsafe {
            (
                out_handle(out_reservation, "out_reservation")?,
                self::app(app)?,
                self::user(user)?,
                arg_str(token, "token")?,
            )
        };
        let info = ctx.reservation(session, token)?;
        *out = into_raw(ReservationHandle::new(info, None));
        Ok(())
    })
}

/// A booking (or a recorded failed payment attempt).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_booking_free()`.
pub struct seatbook_booking {
    _private: [u8; 0],
}

/// The fields of a booking. Every pointer is borrowed from the handle (or
/// list) it was read from and stays valid until that is freed.
#[repr(C)]
pub struct seatbook_booking_view {
    /// "BK-" followed by 20 upper-case hex digits.
    pub booking_id: *const c_char,
    pub app_id: *const c_char,
    pub user_id: *const c_char,
    pub seat_count: usize,
    pub seat_ids: *const *const c_char,
    pub reservation_id: u64,
    pub payment_id: *const c_char,
    pub amount_minor: u64,
    pub currency: *const c_char,
    pub status: seatbook_booking_status,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// When it was cancelled; 0 if it was not.
    pub cancelled_at: u64,
}

impl Default for seatbook_booking_view {
    fn default() -> Self {
        Self {
            booking_id: std::ptr::null(),
            app_id: std::ptr::null(),
            user_id: std::ptr::null(),
            seat_count: 0,
            seat_ids: std::ptr::null(),
            reservation_id: 0,
            payment_id: std::ptr::null(),
            amount_minor: 0,
            currency: std::ptr::null(),
            status: seatbook_booking_status::SEATBOOK_BOOKING_SUCCESS,
            created_at: 0,
            cancelled_at: 0,
        }
    }
}

#[repr(C)]
pub(crate) struct BookingHandle {
    kind: u32,
    booking_id: CString,
    app_id: CString,
    user_id: CString,
    seats: IdArray,
    reservation_id: u64,
    payment_id: CString,
    amount_minor: u64,
    currency: CString,
    status: seatbook_booking_status,
    created_at: u64,
    cancelled_at: u64,
}

// SAFETY: immutable after construction; the raw pointers point into the
// handle's own strings.
unsafe impl Send for BookingHandle {}
// SAFETY: as above.
unsafe impl Sync for BookingHandle {}

impl Handle for BookingHandle {
    const KIND: u32 = 0x5EA7_0009;
    const NAME: &'static str = "seatbook_booking";
}

impl BookingHandle {
    pub(crate) fn new(b: Booking) -> Self {
        Self {
            kind: Self::KIND,
            booking_id: cstring(b.booking_id),
            app_id: cstring(b.app_id),
            user_id: cstring(b.user_id.to_string()),
            seats: IdArray::new(b.seat_ids),
            reservation_id: b.reservation_id,
            payment_id: cstring(b.payment_id),
            amount_minor: b.amount_minor,
            currency: cstring(b.currency),
            status: match b.status {
                BookingStatus::Success => seatbook_booking_status::SEATBOOK_BOOKING_SUCCESS,
                BookingStatus::Failed => seatbook_booking_status::SEATBOOK_BOOKING_FAILED,
                BookingStatus::Cancelled => seatbook_booking_status::SEATBOOK_BOOKING_CANCELLED,
                BookingStatus::RefundDue => seatbook_booking_status::SEATBOOK_BOOKING_REFUND_DUE,
                BookingStatus::Refunded => seatbook_booking_status::SEATBOOK_BOOKING_REFUNDED,
            },
            created_at: b.created_at,
            cancelled_at: b.cancelled_at.unwrap_or(0),
        }
    }

    fn view(&self) -> seatbook_booking_view {
        seatbook_booking_view {
            booking_id: self.booking_id.as_ptr(),
            app_id: self.app_id.as_ptr(),
            user_id: self.user_id.as_ptr(),
            seat_count: self.seats.ids.len(),
            seat_ids: self.seats.ptrs.as_ptr(),
            reservation_id: self.reservation_id,
            payment_id: self.payment_id.as_ptr(),
            amount_minor: self.amount_minor,
            currency: self.currency.as_ptr(),
            status: self.status,
            created_at: self.created_at,
            cancelled_at: self.cancelled_at,
        }
    }
}

/// Reads a booking's fields into `*out`.
///
/// # Safety
/// `booking` is NULL or a live booking handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_booking_get(
    booking: *const seatbook_booking,
    out: *mut seatbook_booking_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the handle is NULL or live (docs/ffi.md, pointer rule 1),
        // `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<BookingHandle, _>(booking, "booking")?,
                out_param(out, "out")?,
            )
        };
        *out = h.view();
        Ok(())
    })
}

/// Frees a booking handle. NULL is a no-op.
///
/// # Safety
/// `booking` is NULL or a live booking handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_booking_free(booking: *mut seatbook_booking) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<BookingHandle, _>(booking) });
}

/// Pays for a hold and books its seats: checks the caller holds the
/// reservation and that `amount_minor` equals the seats' total, asks the
/// payment verifier, then books in one transaction. Retrying a confirm that
/// succeeded with the same payment id returns the same booking; a payment
/// id pays for one reservation only. `*out_booking`: free with
/// `seatbook_booking_free()`. Errors:
/// `SEATBOOK_PAYMENT_DECLINED` (seats released, attempt recorded; the
/// message carries the reason), `SEATBOOK_AMOUNT_MISMATCH`,
/// `SEATBOOK_HOLD_EXPIRED`, `SEATBOOK_PAYMENT_CONFLICT`,
/// `SEATBOOK_PAYMENT_ALREADY_USED` (the verifier was not asked),
/// `SEATBOOK_REFUND_DUE` / `SEATBOOK_REFUND_DUE_UNRECORDED` (approved but
/// not booked: the payment must be refunded; see
/// `seatbook_app_refunds_due()`), `SEATBOOK_CONFIRM_IN_PROGRESS`, ...
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; the strings are
/// NULL or C strings; `out_booking` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_confirm(
    app: *const seatbook_app,
    user: *const seatbook_user,
    token: *const c_char,
    payment_id: *const c_char,
    amount_minor: u64,
    out_booking: *mut *mut seatbook_booking,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_booking` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` and `user` NULL or live handles (rule 1), the
        // strings NULL or readable C strings (rule 2).
        let (out, (_, ctx), session, token, payment_id) = unsafe {
            (
                out_handle(out_booking, "out_booking")?,
                self::app(app)?,
                self::user(user)?,
                arg_str(token, "token")?,
                arg_str(payment_id, "payment_id")?,
            )
        };
        let booking = ctx.confirm(session, token, payment_id, amount_minor)?;
        *out = into_raw(BookingHandle::new(booking));
        Ok(())
    })
}

/// A booking of this app by id into `*out_booking` (free with
/// `seatbook_booking_free()`). `SEATBOOK_BOOKING_NOT_FOUND` also for another
/// app's booking.
///
/// # Safety
/// `app` is NULL or a live app handle; `booking_id` is NULL or a C string;
/// `out_booking` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_booking(
    app: *const seatbook_app,
    booking_id: *const c_char,
    out_booking: *mut *mut seatbook_booking,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_booking` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` NULL or a live handle (rule 1), `booking_id` NULL
        // or a readable C string (rule 2).
        let (out, (_, ctx), booking_id) = unsafe {
            (
                out_handle(out_booking, "out_booking")?,
                self::app(app)?,
                arg_str(booking_id, "booking_id")?,
            )
        };
        let booking = ctx.booking(booking_id)?;
        *out = into_raw(BookingHandle::new(booking));
        Ok(())
    })
}

/// Cancels (refunds) a successful booking of this app: CANCELLED, its
/// seats AVAILABLE again. `*out_booking`: free with `seatbook_booking_free()`.
///
/// # Safety
/// `app` is NULL or a live app handle; `booking_id` is NULL or a C string;
/// `out_booking` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_cancel_booking(
    app: *const seatbook_app,
    booking_id: *const c_char,
    out_booking: *mut *mut seatbook_booking,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_booking` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` NULL or a live handle (rule 1), `booking_id` NULL
        // or a readable C string (rule 2).
        let (out, (_, ctx), booking_id) = unsafe {
            (
                out_handle(out_booking, "out_booking")?,
                self::app(app)?,
                arg_str(booking_id, "booking_id")?,
            )
        };
        let booking = ctx.cancel_booking(booking_id)?;
        *out = into_raw(BookingHandle::new(booking));
        Ok(())
    })
}

/// A user's bookings (from `seatbook_app_user_bookings()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_booking_list_free()`.
pub struct seatbook_booking_list {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct BookingListHandle {
    kind: u32,
    items: Vec<BookingHandle>,
}

impl Handle for BookingListHandle {
    const KIND: u32 = 0x5EA7_000A;
    const NAME: &'static str = "seatbook_booking_list";
}

impl BookingListHandle {
    pub(crate) fn new(bookings: Vec<Booking>) -> Self {
        Self {
            kind: Self::KIND,
            items: bookings.into_iter().map(BookingHandle::new).collect(),
        }
    }
}

impl ListHandle for BookingListHandle {
    type View = seatbook_booking_view;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn view(&self, index: usize) -> Option<Self::View> {
        self.items.get(index).map(BookingHandle::view)
    }
}

/// The user's bookings in this app (including FAILED attempts and
/// CANCELLED bookings), in booking-id order. `*out_list`: free with
/// `seatbook_booking_list_free()`.
///
/// # Safety
/// `app` and `user` are NULL or live handles of their kinds; `out_list` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_user_bookings(
    app: *const seatbook_app,
    user: *const seatbook_user,
    out_list: *mut *mut seatbook_booking_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` and `user` NULL or live handles (rule 1).
        let (out, (_, ctx), session) = unsafe {
            (
                out_handle(out_list, "out_list")?,
                self::app(app)?,
                self::user(user)?,
            )
        };
        let bookings = ctx.user_bookings(session)?;
        *out = into_raw(BookingListHandle::new(bookings));
        Ok(())
    })
}

/// This app's REFUND_DUE records (status `SEATBOOK_BOOKING_REFUND_DUE`):
/// payments the verifier approved that booked nothing and must be
/// refunded, in booking-id order. `*out_list`: free with
/// `seatbook_booking_list_free()`.
///
/// # Safety
/// `app` is NULL or a live app handle; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_refunds_due(
    app: *const seatbook_app,
    out_list: *mut *mut seatbook_booking_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` NULL or a live handle (rule 1).
        let (out, (_, ctx)) = unsafe { (out_handle(out_list, "out_list")?, self::app(app)?) };
        *out = into_raw(BookingListHandle::new(ctx.refunds_due()?));
        Ok(())
    })
}

/// The number of bookings in the list.
///
/// # Safety
/// `list` is NULL or a live booking list; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_booking_list_count(
    list: *const seatbook_booking_list,
    out_count: *mut usize,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out_count` NULL or writable (rule 5): `list_count`'s contract.
    unsafe { list_count::<BookingListHandle, _>(list, out_count) }
}

/// Reads booking number `index` (0-based) into `*out`; its pointers are
/// valid until the list is freed. `SEATBOOK_INVALID_INPUT` if out of range.
///
/// # Safety
/// `list` is NULL or a live booking list; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_booking_list_get(
    list: *const seatbook_booking_list,
    index: usize,
    out: *mut seatbook_booking_view,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out` NULL or writable (rule 5): `list_get`'s contract.
    unsafe { list_get::<BookingListHandle, _>(list, index, out) }
}

/// Frees a booking list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live booking list, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_booking_list_free(list: *mut seatbook_booking_list) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<BookingListHandle, _>(list) });
}
