//! The admin handle and everything only the admin may do, plus app records.
//!
//! Owns [`seatbook_admin`], [`seatbook_app_info`] (one app as the admin
//! sees it), [`seatbook_app_info_list`] and [`seatbook_new_seat`]. Each
//! function converts its arguments and calls the matching [`crate::Admin`]
//! method; nothing is decided here.

use std::ffi::{CString, c_char};

use super::booking::{BookingHandle, BookingListHandle, seatbook_booking, seatbook_booking_list};
use super::boundary::{
    Failure, FfiResult, Handle, ListHandle, arg_slice, arg_str, arg_strs, cstring, ffi_boundary,
    ffi_boundary_or, free_handle, give_string, handle, into_raw, list_count, list_get, opt_out,
    opt_out_handle, opt_str, out_handle, out_param,
};
use super::engine::{engine_handle, seatbook_engine};
use super::status::seatbook_status;
use crate::{Admin, AdminError, AppInfo, AppUpdate, NewApp, NewSeat, SeatAttributes};

/// A verified admin token (from `seatbook_engine_admin()`).
///
/// Thread safety: fully thread-safe; use it from any number of threads at
/// once. Fails with `SEATBOOK_ENGINE_CLOSED` after its engine is closed.
/// Release with `seatbook_admin_free()`.
pub struct seatbook_admin {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct AdminHandle {
    kind: u32,
    admin: Admin,
}

impl Handle for AdminHandle {
    const KIND: u32 = 0x5EA7_0002;
    const NAME: &'static str = "seatbook_admin";
}

/// # Safety
/// `p` is NULL or a live seatbook handle.
pub(crate) unsafe fn admin_of<'a>(p: *const seatbook_admin) -> FfiResult<&'a Admin> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 1).
    let h: &AdminHandle = unsafe { handle(p, "admin")? };
    Ok(&h.admin)
}

/// Logs the admin in. `*out_token` receives an admin token (24 h by
/// default); free it with `seatbook_string_free()`. A wrong email and a
/// wrong password both give `SEATBOOK_INVALID_CREDENTIALS`.
///
/// # Safety
/// `engine` is NULL or a live engine handle; `email` and `password` are NULL
/// or C strings; `out_token` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_admin_login(
    engine: *const seatbook_engine,
    email: *const c_char,
    password: *const c_char,
    out_token: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_token` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `engine` NULL or a live handle (rule 1), the strings NULL
        // or readable C strings (rule 2).
        let (out, h, email, password) = unsafe {
            (
                out_handle(out_token, "out_token")?,
                engine_handle(engine)?,
                arg_str(email, "email")?,
                arg_str(password, "password")?,
            )
        };
        let token = h.shared.engine.admin_login(email, password)?;
        give_string(out, token.expose());
        Ok(())
    })
}

/// Verifies an admin token into an admin handle (`*out_admin`, free with
/// `seatbook_admin_free()`). Errors: `SEATBOOK_INVALID_TOKEN` (forged, a
/// user token), `SEATBOOK_TOKEN_EXPIRED`.
///
/// # Safety
/// `engine` is NULL or a live engine handle; `token` is NULL or a C string;
/// `out_admin` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_admin(
    engine: *const seatbook_engine,
    token: *const c_char,
    out_admin: *mut *mut seatbook_admin,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_admin` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `engine` NULL or a live handle (rule 1), `token` NULL or
        // a readable C string (rule 2).
        let (out, h, token) = unsafe {
            (
                out_handle(out_admin, "out_admin")?,
                engine_handle(engine)?,
                arg_str(token, "token")?,
            )
        };
        let admin = h.shared.engine.admin(token)?;
        *out = into_raw(AdminHandle {
            kind: AdminHandle::KIND,
            admin,
        });
        Ok(())
    })
}

/// Frees an admin handle. NULL is a no-op.
///
/// # Safety
/// `admin` is NULL or a live admin handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_free(admin: *mut seatbook_admin) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<AdminHandle, _>(admin) });
}

/// One app as the admin sees it (never its key).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_app_info_free()` (unless it was borrowed from a list).
pub struct seatbook_app_info {
    _private: [u8; 0],
}

/// The fields of a `seatbook_app_info`. Every pointer is borrowed from the
/// handle it was read from and stays valid until that handle is freed.
#[repr(C)]
pub struct seatbook_app_info_view {
    pub app_id: *const c_char,
    pub name: *const c_char,
    /// Number of entries in `allowed_origins`.
    pub origin_count: usize,
    /// Normalised origins (`scheme://host[:port]`).
    pub allowed_origins: *const *const c_char,
    pub active: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub updated_at: u64,
}

impl Default for seatbook_app_info_view {
    fn default() -> Self {
        Self {
            app_id: std::ptr::null(),
            name: std::ptr::null(),
            origin_count: 0,
            allowed_origins: std::ptr::null(),
            active: false,
            created_at: 0,
            updated_at: 0,
        }
    }
}

#[repr(C)]
pub(crate) struct AppInfoHandle {
    kind: u32,
    app_id: CString,
    name: CString,
    origins: Vec<CString>,
    origin_ptrs: Vec<*const c_char>,
    active: bool,
    created_at: u64,
    updated_at: u64,
}

// SAFETY: immutable after construction; the raw pointers point into the
// handle's own `CString`s.
unsafe impl Send for AppInfoHandle {}
// SAFETY: as above.
unsafe impl Sync for AppInfoHandle {}

impl Handle for AppInfoHandle {
    const KIND: u32 = 0x5EA7_0003;
    const NAME: &'static str = "seatbook_app_info";
}

impl AppInfoHandle {
    fn new(info: AppInfo) -> Self {
        let origins: Vec<CString> = info.allowed_origins.into_iter().map(cstring).collect();
        let origin_ptrs = origins.iter().map(|o| o.as_ptr()).collect();
        Self {
            kind: Self::KIND,
            app_id: cstring(info.app_id),
            name: cstring(info.name),
            origins,
            origin_ptrs,
            active: info.active,
            created_at: info.created_at,
            updated_at: info.updated_at,
        }
    }

    fn view(&self) -> seatbook_app_info_view {
        seatbook_app_info_view {
            app_id: self.app_id.as_ptr(),
            name: self.name.as_ptr(),
            origin_count: self.origins.len(),
            allowed_origins: self.origin_ptrs.as_ptr(),
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

fn give_info(out: Option<&mut *mut seatbook_app_info>, info: AppInfo) {
    if let Some(out) = out {
        *out = into_raw(AppInfoHandle::new(info));
    }
}

/// Reads an app record's fields into `*out`.
///
/// # Safety
/// `info` is NULL or a live app info handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_info_get(
    info: *const seatbook_app_info,
    out: *mut seatbook_app_info_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the handle is NULL or live (docs/ffi.md, pointer rule 1),
        // `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<AppInfoHandle, _>(info, "info")?,
                out_param(out, "out")?,
            )
        };
        *out = h.view();
        Ok(())
    })
}

/// Frees an app info handle. NULL is a no-op.
///
/// # Safety
/// `info` is NULL or a live app info handle from a `*_app` function (not
/// one borrowed from a list), not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_info_free(info: *mut seatbook_app_info) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<AppInfoHandle, _>(info) });
}

/// A list of apps (from `seatbook_admin_list_apps()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_app_info_list_free()`.
pub struct seatbook_app_info_list {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct AppInfoListHandle {
    kind: u32,
    items: Vec<AppInfoHandle>,
}

impl Handle for AppInfoListHandle {
    const KIND: u32 = 0x5EA7_0004;
    const NAME: &'static str = "seatbook_app_info_list";
}

impl ListHandle for AppInfoListHandle {
    type View = seatbook_app_info_view;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn view(&self, index: usize) -> Option<Self::View> {
        self.items.get(index).map(AppInfoHandle::view)
    }
}

/// The number of apps in the list.
///
/// # Safety
/// `list` is NULL or a live list handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_info_list_count(
    list: *const seatbook_app_info_list,
    out_count: *mut usize,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out_count` NULL or writable (rule 5): `list_count`'s contract.
    unsafe { list_count::<AppInfoListHandle, _>(list, out_count) }
}

/// Reads app number `index` (0-based) into `*out`; its pointers are valid
/// until the list is freed. `SEATBOOK_INVALID_INPUT` if `index` is out of range.
///
/// # Safety
/// `list` is NULL or a live list handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_info_list_get(
    list: *const seatbook_app_info_list,
    index: usize,
    out: *mut seatbook_app_info_view,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out` NULL or writable (rule 5): `list_get`'s contract.
    unsafe { list_get::<AppInfoListHandle, _>(list, index, out) }
}

/// Frees an app list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live list handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_info_list_free(list: *mut seatbook_app_info_list) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<AppInfoListHandle, _>(list) });
}

/// Creates an app with `origin_count` allowed origins. `*out_api_key`
/// receives its API key, shown this once (free with
/// `seatbook_string_free()`); `*out_info` (optional, may be NULL) the new
/// app record (free with `seatbook_app_info_free()`).
///
/// # Safety
/// `admin` is NULL or a live admin handle; the strings are NULL or C
/// strings; `origins` is NULL or points to `origin_count` C strings; the
/// out-parameters are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_create_app(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    name: *const c_char,
    origins: *const *const c_char,
    origin_count: usize,
    out_api_key: *mut *mut c_char,
    out_info: *mut *mut seatbook_app_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the out-parameters are NULL or writable (docs/ffi.md,
        // pointer rule 5), `admin` NULL or a live handle (rule 1), the
        // strings NULL or readable C strings (rule 2), `origins` NULL or
        // `origin_count` readable pointers (rule 3).
        let (key_out, info_out, admin, app_id, name, origins) = unsafe {
            (
                out_handle(out_api_key, "out_api_key")?,
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(name, "name")?,
                arg_strs(origins, origin_count, "origins")?,
            )
        };
        let created = admin.create_app(&NewApp {
            app_id,
            name,
            allowed_origins: &origins,
        })?;
        give_string(key_out, created.api_key.expose());
        give_info(info_out, created.app);
        Ok(())
    })
}

/// Lists every app, in id order (`*out_list`, free with
/// `seatbook_app_info_list_free()`).
///
/// # Safety
/// `admin` is NULL or a live admin handle; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_list_apps(
    admin: *const seatbook_admin,
    out_list: *mut *mut seatbook_app_info_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1).
        let (out, admin) = unsafe { (out_handle(out_list, "out_list")?, admin_of(admin)?) };
        let apps = admin.list_apps()?;
        *out = into_raw(AppInfoListHandle {
            kind: AppInfoListHandle::KIND,
            items: apps.into_iter().map(AppInfoHandle::new).collect(),
        });
        Ok(())
    })
}

/// One app (`*out_info`, free with `seatbook_app_info_free()`).
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_get_app(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_info: *mut *mut seatbook_app_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or a
        // readable C string (rule 2).
        let (out, admin, app_id) = unsafe {
            (
                out_handle(out_info, "out_info")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
            )
        };
        let info = admin.get_app(app_id)?;
        give_info(Some(out), info);
        Ok(())
    })
}

/// Changes an app's name (NULL keeps it) and/or allowed origins (`origins`
/// NULL keeps them; otherwise `origin_count` entries replace them).
/// `*out_info` (optional) receives the updated record.
///
/// # Safety
/// `admin` is NULL or a live admin handle; the strings are NULL or C
/// strings; `origins` is NULL or points to `origin_count` C strings;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_update_app(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    name: *const c_char,
    origins: *const *const c_char,
    origin_count: usize,
    out_info: *mut *mut seatbook_app_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2), `origins` NULL or `origin_count`
        // readable pointers (rule 3).
        let (out, admin, app_id, name, origins) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                opt_str(name, "name")?,
                if origins.is_null() {
                    None
                } else {
                    Some(arg_strs(origins, origin_count, "origins")?)
                },
            )
        };
        let info = admin.update_app(
            app_id,
            &AppUpdate {
                name,
                allowed_origins: origins.as_deref(),
            },
        )?;
        give_info(out, info);
        Ok(())
    })
}

/// # Safety
/// As the two callers.
unsafe fn set_active(
    admin_p: *const seatbook_admin,
    app_id: *const c_char,
    out_info: *mut *mut seatbook_app_info,
    active: bool,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: this function's own contract, the exported callers' (docs/ffi.md,
        // pointer rules 1, 2 and 5).
        let (out, admin, app_id) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin_p)?,
                arg_str(app_id, "app_id")?,
            )
        };
        let info = admin.set_app_active(app_id, active)?;
        give_info(out, info);
        Ok(())
    })
}

/// Deactivates an app: its app handles fail at once; its data is kept.
/// `*out_info` (optional) receives the updated record.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_deactivate_app(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_info: *mut *mut seatbook_app_info,
) -> seatbook_status {
    // SAFETY: `admin` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `app_id` NULL or a readable C string (rule 2), `out_info` NULL or
    // writable (rule 5): `set_active`'s contract.
    unsafe { set_active(admin, app_id, out_info, false) }
}

/// Reactivates an app. `*out_info` (optional) receives the updated record.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_reactivate_app(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_info: *mut *mut seatbook_app_info,
) -> seatbook_status {
    // SAFETY: `admin` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `app_id` NULL or a readable C string (rule 2), `out_info` NULL or
    // writable (rule 5): `set_active`'s contract.
    unsafe { set_active(admin, app_id, out_info, true) }
}

/// Replaces an app's API key; the old key stops working at once, also for
/// existing app handles. `*out_api_key` receives the new key, shown this
/// once (free with `seatbook_string_free()`).
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_api_key` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_rotate_api_key(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_api_key: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_api_key` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or
        // a readable C string (rule 2).
        let (out, admin, app_id) = unsafe {
            (
                out_handle(out_api_key, "out_api_key")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
            )
        };
        let key = admin.rotate_api_key(app_id)?;
        give_string(out, key.expose());
        Ok(())
    })
}

/// One seat to create with `seatbook_admin_create_seats()`.
#[repr(C)]
pub struct seatbook_new_seat {
    /// Unique within the app, e.g. "EVENT_001-A1".
    pub seat_id: *const c_char,
    /// Price in minor units (cents). Never a float.
    pub price_minor: u64,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: *const c_char,
    /// Optional attributes; NULL for none.
    pub section: *const c_char,
    pub row: *const c_char,
    pub category: *const c_char,
}

/// Creates `seat_count` seats of entity `entity_id` in app `app_id`, all or
/// none. An entity not created yet (`seatbook_admin_create_entity()`) is
/// created on sale, with no sale window, named after its id.
/// `*out_created` (optional) receives how many were created.
/// Errors: `SEATBOOK_SEAT_ALREADY_EXISTS` (`seatbook_last_error_seat()`
/// names it), `SEATBOOK_ENTITY_CLOSED`, `SEATBOOK_INVALID_INPUT`,
/// `SEATBOOK_CAPACITY_EXCEEDED`, `SEATBOOK_APP_NOT_FOUND`, ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; the strings are NULL or C
/// strings; `seats` is NULL or points to `seat_count` readable structs whose
/// strings are NULL or C strings; `out_created` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_create_seats(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    seats: *const seatbook_new_seat,
    seat_count: usize,
    out_created: *mut usize,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_created` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), the strings NULL
        // or readable C strings (rule 2), `seats` NULL or `seat_count`
        // readable structs whose strings follow rule 2 (rules 3 and 4).
        let (out, admin, app_id, entity_id, new) = unsafe {
            (
                opt_out(out_created),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
                new_seats(arg_slice(seats, seat_count, "seats")?)?,
            )
        };
        let n = admin
            .create_seats(app_id, entity_id, &new)
            .map_err(admin_failure)?;
        if let Some(out) = out {
            *out = n;
        }
        Ok(())
    })
}

/// Reads the C seat structs into core [`NewSeat`]s.
///
/// # Safety
/// The string fields of every element are NULL or readable C strings.
unsafe fn new_seats(raw: &[seatbook_new_seat]) -> FfiResult<Vec<NewSeat>> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 2).
    let attr = |p: *const c_char, name| unsafe { opt_str(p, name) }.map(|o| o.map(str::to_owned));
    let mut new = Vec::with_capacity(raw.len());
    for s in raw {
        // SAFETY: this function's own contract (docs/ffi.md, pointer rule 2).
        let (seat_id, currency) = unsafe {
            (
                arg_str(s.seat_id, "seats[].seat_id")?,
                arg_str(s.currency, "seats[].currency")?,
            )
        };
        new.push(NewSeat {
            seat_id: seat_id.to_owned(),
            price_minor: s.price_minor,
            currency: currency.to_owned(),
            attributes: SeatAttributes {
                section: attr(s.section, "seats[].section")?,
                row: attr(s.row, "seats[].row")?,
                category: attr(s.category, "seats[].category")?,
            },
        });
    }
    Ok(new)
}

fn admin_failure(e: AdminError) -> Failure {
    let seat = match &e {
        AdminError::SeatAlreadyExists(s)
        | AdminError::SeatNotFound(s)
        | AdminError::SeatInUse(s) => Some(s.clone()),
        _ => None,
    };
    Failure::from(e).with_seat(seat.as_deref())
}

/// Removes seats that are neither held nor booked, all or none.
/// `*out_removed` (optional) receives how many were removed. Errors:
/// `SEATBOOK_SEAT_NOT_FOUND`, `SEATBOOK_SEAT_IN_USE` (both name the seat in
/// `seatbook_last_error_seat()`), ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `seat_ids` is NULL or points to `seat_count` C strings; `out_removed` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_remove_seats(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    seat_ids: *const *const c_char,
    seat_count: usize,
    out_removed: *mut usize,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_removed` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), the strings NULL
        // or readable C strings (rule 2), `seat_ids` NULL or `seat_count`
        // readable pointers (rule 3).
        let (out, admin, app_id, ids) = unsafe {
            (
                opt_out(out_removed),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_strs(seat_ids, seat_count, "seat_ids")?,
            )
        };
        let n = admin.remove_seats(app_id, &ids).map_err(admin_failure)?;
        if let Some(out) = out {
            *out = n;
        }
        Ok(())
    })
}

/// Cancels (refunds) a successful booking of any app: CANCELLED, its seats
/// AVAILABLE again. `*out_booking` (optional) receives the cancelled booking
/// (free with `seatbook_booking_free()`).
///
/// # Safety
/// `admin` is NULL or a live admin handle; `booking_id` is NULL or a C
/// string; `out_booking` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_cancel_booking(
    admin: *const seatbook_admin,
    booking_id: *const c_char,
    out_booking: *mut *mut seatbook_booking,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_booking` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), `booking_id` NULL
        // or a readable C string (rule 2).
        let (out, admin, booking_id) = unsafe {
            (
                opt_out_handle(out_booking),
                admin_of(admin)?,
                arg_str(booking_id, "booking_id")?,
            )
        };
        let booking = admin.cancel_booking(booking_id)?;
        if let Some(out) = out {
            *out = into_raw(BookingHandle::new(booking));
        }
        Ok(())
    })
}

/// What `seatbook_admin_purge_history()` removed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct seatbook_purge_report {
    /// Reservations that ended without a booking (EXPIRED or RELEASED).
    pub reservations: u64,
    /// FAILED records of declined payments (removed with their reservation).
    pub failed_attempts: u64,
}

/// Purges the history older than `older_than_ms` (at least the hold
/// policy's `hold_max_total_ms`): reservations that ended without a
/// booking and the FAILED records of declined payments. Every booking
/// that moved money or seats (SUCCESS, CANCELLED, REFUND_DUE, REFUNDED),
/// every confirmed or live reservation, every reservation whose payment
/// is pending, booked or refund due, and every payment binding stay.
/// `*out` receives what was removed. Errors: `SEATBOOK_INVALID_INPUT`
/// (age too short; nothing purged), `SEATBOOK_STORAGE` (what was purged
/// stays purged; purge again), ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_purge_history(
    admin: *const seatbook_admin,
    older_than_ms: u64,
    out: *mut seatbook_purge_report,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out` is NULL or writable (docs/ffi.md, pointer rule 5),
        // `admin` NULL or a live handle (rule 1).
        let (out, admin) = unsafe { (out_param(out, "out")?, admin_of(admin)?) };
        let report = admin.purge_history(std::time::Duration::from_millis(older_than_ms))?;
        *out = seatbook_purge_report {
            reservations: report.reservations,
            failed_attempts: report.failed_attempts,
        };
        Ok(())
    })
}

/// An app's REFUND_DUE records (approved payments that booked nothing and
/// must be refunded), in booking-id order. `*out_list`: free with
/// `seatbook_booking_list_free()`.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_refunds_due(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_list: *mut *mut seatbook_booking_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or a
        // readable C string (rule 2).
        let (out, admin, app_id) = unsafe {
            (
                out_handle(out_list, "out_list")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
            )
        };
        let refunds = admin.refunds_due(app_id).map_err(admin_failure)?;
        *out = into_raw(BookingListHandle::new(refunds));
        Ok(())
    })
}

/// Marks a REFUND_DUE record as refunded (status
/// `SEATBOOK_BOOKING_REFUNDED`, off the refunds-due lists).
/// `SEATBOOK_REFUND_NOT_DUE` if it is not a REFUND_DUE record (or settled
/// already). `*out_booking` (optional): free with `seatbook_booking_free()`.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `booking_id` is NULL or a C
/// string; `out_booking` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_settle_refund(
    admin: *const seatbook_admin,
    booking_id: *const c_char,
    out_booking: *mut *mut seatbook_booking,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_booking` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), `booking_id` NULL
        // or a readable C string (rule 2).
        let (out, admin, booking_id) = unsafe {
            (
                opt_out_handle(out_booking),
                admin_of(admin)?,
                arg_str(booking_id, "booking_id")?,
            )
        };
        let booking = admin.settle_refund(booking_id).map_err(admin_failure)?;
        if let Some(out) = out {
            *out = into_raw(BookingHandle::new(booking));
        }
        Ok(())
    })
}

/// How much one user holds in one app right now (see
/// `seatbook_admin_user_holds()`). `user_id` is borrowed from the list it
/// was read from and stays valid until that list is freed.
#[repr(C)]
pub struct seatbook_user_holds_view {
    /// 32 lowercase hex digits.
    pub user_id: *const c_char,
    /// Live reservations (unexpired, not released, not confirmed).
    pub reservations: usize,
    /// Seats those reservations hold, over all entities.
    pub seats: usize,
}

impl Default for seatbook_user_holds_view {
    fn default() -> Self {
        Self {
            user_id: std::ptr::null(),
            reservations: 0,
            seats: 0,
        }
    }
}

/// The users of an app holding seats (from `seatbook_admin_user_holds()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_user_holds_list_free()`.
pub struct seatbook_user_holds_list {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct UserHoldsListHandle {
    kind: u32,
    items: Vec<(CString, usize, usize)>,
}

impl Handle for UserHoldsListHandle {
    // In this change's status range (38), so parallel additions never collide.
    const KIND: u32 = 0x5EA7_0026;
    const NAME: &'static str = "seatbook_user_holds_list";
}

impl ListHandle for UserHoldsListHandle {
    type View = seatbook_user_holds_view;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn view(&self, index: usize) -> Option<Self::View> {
        self.items
            .get(index)
            .map(|(user_id, reservations, seats)| seatbook_user_holds_view {
                user_id: user_id.as_ptr(),
                reservations: *reservations,
                seats: *seats,
            })
    }
}

/// Lists how much each user of app `app_id` holds right now (live
/// reservations and their seats), for every user with at least one, by
/// user id. `*out_list` receives the list (free with
/// `seatbook_user_holds_list_free()`). Errors: `SEATBOOK_APP_NOT_FOUND`,
/// `SEATBOOK_INVALID_INPUT`, `SEATBOOK_TOKEN_EXPIRED`, ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_user_holds(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_list: *mut *mut seatbook_user_holds_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or a
        // readable C string (rule 2).
        let (out, admin, app_id) = unsafe {
            (
                out_handle(out_list, "out_list")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
            )
        };
        let holds = admin.user_holds(app_id)?;
        *out = into_raw(UserHoldsListHandle {
            kind: UserHoldsListHandle::KIND,
            items: holds
                .into_iter()
                .map(|h| (cstring(h.user_id.to_string()), h.reservations, h.seats))
                .collect(),
        });
        Ok(())
    })
}

/// The number of users in the list.
///
/// # Safety
/// `list` is NULL or a live list handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_user_holds_list_count(
    list: *const seatbook_user_holds_list,
    out_count: *mut usize,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out_count` NULL or writable (rule 5): `list_count`'s contract.
    unsafe { list_count::<UserHoldsListHandle, _>(list, out_count) }
}

/// Reads entry number `index` (0-based) into `*out`; its `user_id` is
/// valid until the list is freed. `SEATBOOK_INVALID_INPUT` if `index` is
/// out of range.
///
/// # Safety
/// `list` is NULL or a live list handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_user_holds_list_get(
    list: *const seatbook_user_holds_list,
    index: usize,
    out: *mut seatbook_user_holds_view,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out` NULL or writable (rule 5): `list_get`'s contract.
    unsafe { list_get::<UserHoldsListHandle, _>(list, index, out) }
}

/// Frees a user holds list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live list handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_user_holds_list_free(list: *mut seatbook_user_holds_list) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<UserHoldsListHandle, _>(list);
    });
}
