//! Bad input through the C ABI, called directly from Rust: NULL for every
//! pointer argument, invalid UTF-8, over-long strings, out-of-range sizes
//! and indexes, handles of the wrong kind, use after the engine is closed,
//! and free(NULL). Every case must give its status (never a crash) and
//! leave out-parameters NULL.
//!
//! What stays undefined behaviour, as in C: freeing a handle twice, using a
//! handle after freeing it, passing a dangling or non-NUL-terminated
//! pointer. Those cannot be tested without invoking UB, so they are not.
#![allow(clippy::too_many_lines)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{null, null_mut};

use seatbook::ffi::seatbook_status::{
    SEATBOOK_ENGINE_CLOSED, SEATBOOK_INVALID_CONFIG, SEATBOOK_INVALID_HANDLE,
    SEATBOOK_INVALID_INPUT, SEATBOOK_INVALID_UTF8, SEATBOOK_NULL_PARAMETER, SEATBOOK_OK,
    SEATBOOK_SEAT_HELD,
};
use seatbook::ffi::*;

use seatbook_testkit::ffi::{
    ORIGIN, Owned, SEAT, World, admin_hash, expect, fast, fast_config, last_error,
};

/// `ptr` unless this is the argument being nulled.
fn nul<T>(which: usize, me: usize, ptr: *const T) -> *const T {
    if which == me { null() } else { ptr }
}

fn nul_mut<T>(which: usize, me: usize, ptr: *mut T) -> *mut T {
    if which == me { null_mut() } else { ptr }
}

/// Calls `f(i)` for each of `args` pointer arguments nulled in turn and
/// expects `SEATBOOK_NULL_PARAMETER` with a message naming a NULL argument.
#[track_caller]
fn each_null(name: &str, args: usize, mut f: impl FnMut(usize) -> seatbook_status) {
    for i in 0..args {
        let status = f(i);
        assert_eq!(
            status,
            SEATBOOK_NULL_PARAMETER,
            "{name}: argument {i} NULL gave {status:?}: {}",
            last_error()
        );
        assert!(last_error().contains("NULL"), "{name}: {}", last_error());
    }
}

#[test]
fn null_for_every_pointer_argument() {
    let w = World::new();
    let hash = admin_hash();
    let cfg = fast_config(&hash);
    let (e, ad, ap, u) = (w.engine, w.admin, w.app, w.user);
    let s = SEAT.as_ptr();
    let ids = [s];
    let origins = [ORIGIN.as_ptr()];
    let new_seat = [seatbook_new_seat {
        seat_id: c"EVENT_001-B1".as_ptr(),
        price_minor: 1,
        currency: c"EUR".as_ptr(),
        section: null(),
        row: null(),
        category: null(),
    }];
    // A live reservation, booking and lists to read from.
    let mut res = null_mut();
    let mut list = null_mut();
    let mut blist = null_mut();
    let mut alist = null_mut();
    let mut info = null_mut();
    // SAFETY: valid arguments except the one nulled on purpose.
    unsafe {
        expect(
            seatbook_app_reserve(ap, u, ids.as_ptr(), 1, 0, &raw mut res),
            SEATBOOK_OK,
        );
        expect(
            seatbook_app_list_seats(ap, c"EVENT_001".as_ptr(), false, &raw mut list),
            SEATBOOK_OK,
        );
        expect(
            seatbook_app_user_bookings(ap, u, &raw mut blist),
            SEATBOOK_OK,
        );
        expect(seatbook_admin_list_apps(ad, &raw mut alist), SEATBOOK_OK);
        expect(
            seatbook_admin_get_app(ad, c"event-app".as_ptr(), &raw mut info),
            SEATBOOK_OK,
        );
        let mut rv: seatbook_reservation_view = std::mem::zeroed();
        expect(seatbook_reservation_get(res, &raw mut rv), SEATBOOK_OK);
        let tok = rv.token;
        let app_id = c"event-app".as_ptr();
        let entity = c"EVENT_001".as_ptr();
        let email = c"someone@example.com".as_ptr();
        let pw = c"correct horse battery".as_ptr();
        let bk = c"BK-00000000000000000000".as_ptr();

        // Out-parameters are reset even when another argument is NULL.
        let mut out_str: *mut c_char = std::ptr::dangling_mut();
        let mut out_h: *mut c_void = std::ptr::dangling_mut();
        let mut n = 0usize;
        let mut stats = seatbook_stats::default();
        let mut audit = seatbook_audit::default();
        let mut counts = seatbook_seat_counts::default();

        let os = &raw mut out_str;
        let oh = &raw mut out_h;
        let on = &raw mut n;
        // (params may be NULL: it means the default cost)
        each_null("hash_password", 2, |i| {
            seatbook_hash_password(nul(i, 0, c"pw".as_ptr()), &fast(), nul_mut(i, 1, os))
        });
        each_null("engine_open", 3, |i| {
            seatbook_engine_open(
                nul(i, 0, c"/tmp/x.redb".as_ptr()),
                nul(i, 1, &cfg),
                nul_mut(i, 2, oh.cast()),
            )
        });
        each_null("engine_stats", 2, |i| {
            seatbook_engine_stats(nul(i, 0, e), nul_mut(i, 1, &raw mut stats))
        });
        each_null("engine_sweep", 1, |i| {
            seatbook_engine_sweep(nul(i, 0, e), null_mut())
        });
        each_null("engine_audit", 2, |i| {
            seatbook_engine_audit(nul(i, 0, e), nul_mut(i, 1, &raw mut audit))
        });
        each_null("engine_admin_login", 4, |i| {
            seatbook_engine_admin_login(
                nul(i, 0, e),
                nul(i, 1, email),
                nul(i, 2, pw),
                nul_mut(i, 3, os),
            )
        });
        each_null("engine_admin", 3, |i| {
            seatbook_engine_admin(nul(i, 0, e), nul(i, 1, w.token.0), nul_mut(i, 2, oh.cast()))
        });
        each_null("engine_app", 5, |i| {
            seatbook_engine_app(
                nul(i, 0, e),
                nul(i, 1, app_id),
                nul(i, 2, pw),
                nul(i, 3, ORIGIN.as_ptr()),
                nul_mut(i, 4, oh.cast()),
            )
        });
        each_null("app_info_get", 2, |i| {
            let mut v: seatbook_app_info_view = std::mem::zeroed();
            seatbook_app_info_get(nul(i, 0, info), nul_mut(i, 1, &raw mut v))
        });
        each_null("app_info_list_count", 2, |i| {
            seatbook_app_info_list_count(nul(i, 0, alist), nul_mut(i, 1, on))
        });
        each_null("app_info_list_get", 2, |i| {
            let mut v: seatbook_app_info_view = std::mem::zeroed();
            seatbook_app_info_list_get(nul(i, 0, alist), 0, nul_mut(i, 1, &raw mut v))
        });
        each_null("admin_create_app", 5, |i| {
            let origins_p = nul(i, 3, origins.as_ptr());
            seatbook_admin_create_app(
                nul(i, 0, ad),
                nul(i, 1, c"new-app".as_ptr()),
                nul(i, 2, c"N".as_ptr()),
                origins_p,
                1,
                nul_mut(i, 4, os),
                null_mut(),
            )
        });
        each_null("admin_list_apps", 2, |i| {
            seatbook_admin_list_apps(nul(i, 0, ad), nul_mut(i, 1, oh.cast()))
        });
        each_null("admin_get_app", 3, |i| {
            seatbook_admin_get_app(nul(i, 0, ad), nul(i, 1, app_id), nul_mut(i, 2, oh.cast()))
        });
        // (name and origins may be NULL: they mean "keep")
        each_null("admin_update_app", 2, |i| {
            seatbook_admin_update_app(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                null(),
                null(),
                0,
                null_mut(),
            )
        });
        each_null("admin_deactivate_app", 2, |i| {
            seatbook_admin_deactivate_app(
                nul(i, 0, ad),
                nul(i, 1, c"nope-app".as_ptr()),
                null_mut(),
            )
        });
        each_null("admin_reactivate_app", 2, |i| {
            seatbook_admin_reactivate_app(
                nul(i, 0, ad),
                nul(i, 1, c"nope-app".as_ptr()),
                null_mut(),
            )
        });
        each_null("admin_rotate_api_key", 3, |i| {
            seatbook_admin_rotate_api_key(
                nul(i, 0, ad),
                nul(i, 1, c"nope-app".as_ptr()),
                nul_mut(i, 2, os),
            )
        });
        each_null("admin_create_seats", 4, |i| {
            seatbook_admin_create_seats(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, entity),
                nul(i, 3, new_seat.as_ptr()),
                1,
                null_mut(),
            )
        });
        let bad_seat = [seatbook_new_seat {
            seat_id: null(),
            ..new_seat[0]
        }];
        expect(
            seatbook_admin_create_seats(ad, app_id, entity, bad_seat.as_ptr(), 1, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        let bad_seat = [seatbook_new_seat {
            currency: null(),
            ..new_seat[0]
        }];
        expect(
            seatbook_admin_create_seats(ad, app_id, entity, bad_seat.as_ptr(), 1, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        each_null("admin_remove_seats", 3, |i| {
            seatbook_admin_remove_seats(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, ids.as_ptr()),
                1,
                null_mut(),
            )
        });
        let null_ids = [null::<c_char>()];
        expect(
            seatbook_admin_remove_seats(ad, app_id, null_ids.as_ptr(), 1, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        each_null("admin_cancel_booking", 2, |i| {
            seatbook_admin_cancel_booking(nul(i, 0, ad), nul(i, 1, bk), null_mut())
        });
        each_null("admin_settle_refund", 2, |i| {
            seatbook_admin_settle_refund(nul(i, 0, ad), nul(i, 1, bk), null_mut())
        });
        each_null("admin_refunds_due", 3, |i| {
            let mut list: *mut seatbook_booking_list = null_mut();
            seatbook_admin_refunds_due(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul_mut(i, 2, &raw mut list),
            )
        });
        let new_entity = seatbook_new_entity {
            entity_id: c"SHOW-1".as_ptr(),
            name: null(),
            kind: null(),
            has_starts_at: false,
            starts_at: 0,
            has_sale_opens_at: false,
            sale_opens_at: 0,
            has_sale_closes_at: false,
            sale_closes_at: 0,
        };
        // (a zeroed update keeps every field)
        let update: seatbook_entity_update = std::mem::zeroed();
        let keep = seatbook_holds_on_close::SEATBOOK_HOLDS_KEEP as u32;
        // (out_info is optional for create, update and close)
        each_null("admin_create_entity", 3, |i| {
            seatbook_admin_create_entity(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, &new_entity),
                oh.cast(),
            )
        });
        each_null("admin_update_entity", 4, |i| {
            seatbook_admin_update_entity(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, entity),
                nul(i, 3, &update),
                oh.cast(),
            )
        });
        each_null("admin_get_entity", 4, |i| {
            seatbook_admin_get_entity(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, entity),
                nul_mut(i, 3, oh.cast()),
            )
        });
        each_null("admin_list_entities", 3, |i| {
            seatbook_admin_list_entities(nul(i, 0, ad), nul(i, 1, app_id), nul_mut(i, 2, oh.cast()))
        });
        each_null("admin_close_entity", 3, |i| {
            seatbook_admin_close_entity(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, entity),
                keep,
                oh.cast(),
            )
        });
        each_null("admin_entity_figures", 4, |i| {
            seatbook_admin_entity_figures(
                nul(i, 0, ad),
                nul(i, 1, app_id),
                nul(i, 2, entity),
                nul_mut(i, 3, oh.cast()),
            )
        });
        let mut einfo = null_mut();
        let mut elist = null_mut();
        let mut efigs = null_mut();
        expect(
            seatbook_admin_get_entity(ad, app_id, entity, &raw mut einfo),
            SEATBOOK_OK,
        );
        expect(
            seatbook_admin_list_entities(ad, app_id, &raw mut elist),
            SEATBOOK_OK,
        );
        expect(
            seatbook_admin_entity_figures(ad, app_id, entity, &raw mut efigs),
            SEATBOOK_OK,
        );
        each_null("entity_info_get", 2, |i| {
            let mut v = seatbook_entity_info_view::default();
            seatbook_entity_info_get(nul(i, 0, einfo), nul_mut(i, 1, &raw mut v))
        });
        each_null("entity_info_list_count", 2, |i| {
            seatbook_entity_info_list_count(nul(i, 0, elist), nul_mut(i, 1, on))
        });
        each_null("entity_info_list_get", 2, |i| {
            let mut v = seatbook_entity_info_view::default();
            seatbook_entity_info_list_get(nul(i, 0, elist), 0, nul_mut(i, 1, &raw mut v))
        });
        each_null("entity_figures_get", 2, |i| {
            let mut v = seatbook_entity_figures_view::default();
            seatbook_entity_figures_get(nul(i, 0, efigs), nul_mut(i, 1, &raw mut v))
        });
        seatbook_entity_info_free(einfo);
        seatbook_entity_info_list_free(elist);
        seatbook_entity_figures_free(efigs);
        each_null("app_signup", 4, |i| {
            seatbook_app_signup(
                nul(i, 0, ap),
                nul(i, 1, email),
                nul(i, 2, pw),
                nul_mut(i, 3, os),
            )
        });
        each_null("app_login", 4, |i| {
            seatbook_app_login(
                nul(i, 0, ap),
                nul(i, 1, email),
                nul(i, 2, pw),
                nul_mut(i, 3, os),
            )
        });
        each_null("app_user", 3, |i| {
            seatbook_app_user(
                nul(i, 0, ap),
                nul(i, 1, w.token.0),
                nul_mut(i, 2, oh.cast()),
            )
        });
        each_null("user_get", 2, |i| {
            let mut v: seatbook_user_view = std::mem::zeroed();
            seatbook_user_get(nul(i, 0, u), nul_mut(i, 1, &raw mut v))
        });
        each_null("app_list_seats", 3, |i| {
            seatbook_app_list_seats(
                nul(i, 0, ap),
                nul(i, 1, entity),
                true,
                nul_mut(i, 2, oh.cast()),
            )
        });
        each_null("seat_list_count", 2, |i| {
            seatbook_seat_list_count(nul(i, 0, list), nul_mut(i, 1, on))
        });
        each_null("seat_list_get", 2, |i| {
            let mut v: seatbook_seat_view = std::mem::zeroed();
            seatbook_seat_list_get(nul(i, 0, list), 0, nul_mut(i, 1, &raw mut v))
        });
        each_null("app_seat_counts", 3, |i| {
            seatbook_app_seat_counts(
                nul(i, 0, ap),
                nul(i, 1, entity),
                nul_mut(i, 2, &raw mut counts),
            )
        });
        each_null("reservation_get", 2, |i| {
            let mut v: seatbook_reservation_view = std::mem::zeroed();
            seatbook_reservation_get(nul(i, 0, res), nul_mut(i, 1, &raw mut v))
        });
        each_null("app_reserve", 4, |i| {
            seatbook_app_reserve(
                nul(i, 0, ap),
                nul(i, 1, u),
                nul(i, 2, ids.as_ptr()),
                1,
                0,
                nul_mut(i, 3, oh.cast()),
            )
        });
        expect(
            seatbook_app_reserve(ap, u, null_ids.as_ptr(), 1, 0, oh.cast()),
            SEATBOOK_NULL_PARAMETER,
        );
        each_null("app_extend", 4, |i| {
            seatbook_app_extend(
                nul(i, 0, ap),
                nul(i, 1, u),
                nul(i, 2, tok),
                0,
                nul_mut(i, 3, oh.cast()),
            )
        });
        each_null("app_release", 3, |i| {
            seatbook_app_release(nul(i, 0, ap), nul(i, 1, u), nul(i, 2, tok))
        });
        each_null("app_reservation", 4, |i| {
            seatbook_app_reservation(
                nul(i, 0, ap),
                nul(i, 1, u),
                nul(i, 2, tok),
                nul_mut(i, 3, oh.cast()),
            )
        });
        each_null("app_confirm", 5, |i| {
            seatbook_app_confirm(
                nul(i, 0, ap),
                nul(i, 1, u),
                nul(i, 2, tok),
                nul(i, 3, c"pay".as_ptr()),
                5000,
                nul_mut(i, 4, oh.cast()),
            )
        });
        each_null("app_booking", 3, |i| {
            seatbook_app_booking(nul(i, 0, ap), nul(i, 1, bk), nul_mut(i, 2, oh.cast()))
        });
        each_null("app_cancel_booking", 3, |i| {
            seatbook_app_cancel_booking(nul(i, 0, ap), nul(i, 1, bk), nul_mut(i, 2, oh.cast()))
        });
        each_null("app_user_bookings", 3, |i| {
            seatbook_app_user_bookings(nul(i, 0, ap), nul(i, 1, u), nul_mut(i, 2, oh.cast()))
        });
        each_null("app_refunds_due", 2, |i| {
            seatbook_app_refunds_due(nul(i, 0, ap), nul_mut(i, 1, oh.cast()))
        });
        each_null("booking_list_count", 2, |i| {
            seatbook_booking_list_count(nul(i, 0, blist), nul_mut(i, 1, on))
        });
        each_null("booking_get", 1, |_| {
            let mut v: seatbook_booking_view = std::mem::zeroed();
            seatbook_booking_get(null(), &raw mut v)
        });
        each_null("booking_list_get", 1, |_| {
            let mut v: seatbook_booking_view = std::mem::zeroed();
            seatbook_booking_list_get(null(), 0, &raw mut v)
        });
        assert!(
            out_str.is_null() && out_h.is_null(),
            "out-parameters must be reset"
        );

        // Nothing was changed by any of these calls: the hold is intact.
        let mut v: seatbook_reservation_view = std::mem::zeroed();
        let mut again = null_mut();
        expect(
            seatbook_app_reservation(ap, u, tok, &raw mut again),
            SEATBOOK_OK,
        );
        expect(seatbook_reservation_get(again, &raw mut v), SEATBOOK_OK);
        assert_eq!(
            v.status,
            seatbook_reservation_status::SEATBOOK_RESERVATION_ACTIVE
        );
        seatbook_reservation_free(again);

        seatbook_reservation_free(res);
        seatbook_seat_list_free(list);
        seatbook_booking_list_free(blist);
        seatbook_app_info_list_free(alist);
        seatbook_app_info_free(info);
    }
}

#[test]
fn invalid_utf8_and_over_long_strings() {
    let w = World::new();
    let bad = c"\xff\xfeEVENT".as_ptr();
    let long = CString::new(vec![b'a'; MAX_STRING_BYTES + 1]).unwrap();
    let max = CString::new(vec![b'a'; MAX_STRING_BYTES]).unwrap();
    let mut out = null_mut();
    let mut counts = seatbook_seat_counts::default();
    // SAFETY: valid pointers; the contents are what is under test.
    unsafe {
        expect(
            seatbook_app_list_seats(w.app, bad, false, &raw mut out),
            SEATBOOK_INVALID_UTF8,
        );
        assert!(out.is_null());
        assert!(last_error().contains("entity_id"), "{}", last_error());
        expect(
            seatbook_app_seat_counts(w.app, long.as_ptr(), &raw mut counts),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(last_error().contains("65536"), "{}", last_error());
        // Exactly 64 KiB passes the boundary and is judged by the core.
        expect(
            seatbook_app_seat_counts(w.app, max.as_ptr(), &raw mut counts),
            SEATBOOK_INVALID_INPUT,
        );
        let mut tok = null_mut();
        expect(
            seatbook_app_signup(w.app, bad, c"correct horse".as_ptr(), &raw mut tok),
            SEATBOOK_INVALID_UTF8,
        );
        expect(
            seatbook_app_login(w.app, c"a@b.co".as_ptr(), long.as_ptr(), &raw mut tok),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(tok.is_null());
        let ids = [SEAT.as_ptr(), bad];
        let mut res = null_mut();
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), 2, 0, &raw mut res),
            SEATBOOK_INVALID_UTF8,
        );
        assert!(res.is_null());
        // Nothing was held by the failed reserve.
        expect(
            seatbook_app_seat_counts(w.app, c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_OK,
        );
        assert_eq!((counts.available, counts.held), (1, 0));
        // A password that is not UTF-8 never reaches the hasher.
        let mut hash = null_mut();
        expect(
            seatbook_hash_password(bad, null(), &raw mut hash),
            SEATBOOK_INVALID_UTF8,
        );
        // The message never echoes the bad value.
        assert!(!last_error().contains("EVENT"), "{}", last_error());
    }
}

#[test]
fn sizes_indexes_and_config_values_are_checked() {
    let w = World::new();
    let ids = [SEAT.as_ptr()];
    let mut res = null_mut();
    let mut list = null_mut();
    // SAFETY: valid pointers; sizes are what is under test.
    unsafe {
        // A huge count is refused before anything is read.
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), usize::MAX, 0, &raw mut res),
            SEATBOOK_INVALID_INPUT,
        );
        // NULL array with a count, and empty arrays.
        expect(
            seatbook_app_reserve(w.app, w.user, null(), 3, 0, &raw mut res),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_app_reserve(w.app, w.user, null(), 0, 0, &raw mut res),
            SEATBOOK_INVALID_INPUT,
        );
        // TTL out of the configured bounds.
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), 1, 1, &raw mut res),
            SEATBOOK_INVALID_INPUT,
        );
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), 1, u64::MAX, &raw mut res),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(res.is_null());
        // Index out of range.
        expect(
            seatbook_app_list_seats(w.app, c"EVENT_001".as_ptr(), false, &raw mut list),
            SEATBOOK_OK,
        );
        let mut v: seatbook_seat_view = std::mem::zeroed();
        expect(seatbook_seat_list_get(list, 0, &raw mut v), SEATBOOK_OK);
        assert_eq!(CStr::from_ptr(v.seat_id), SEAT);
        assert!(v.section.is_null());
        expect(
            seatbook_seat_list_get(list, 1, &raw mut v),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(v.seat_id.is_null(), "view reset on failure");
        seatbook_seat_list_free(list);
        // Bad config values.
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("c.redb").to_str().unwrap()).unwrap();
        let hash = admin_hash();
        let mut e = null_mut();
        let mut cfg = fast_config(&hash);
        cfg.durability = 7;
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
            SEATBOOK_INVALID_CONFIG,
        );
        let mut cfg = fast_config(&hash);
        cfg.user_jwt_secret = c"too-short".as_ptr();
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
            SEATBOOK_INVALID_CONFIG,
        );
        assert!(
            !last_error().contains("too-short"),
            "secrets never in messages"
        );
        let mut cfg = fast_config(&hash);
        cfg.admin_email = null();
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
            SEATBOOK_NULL_PARAMETER,
        );
        let mut cfg = fast_config(&hash);
        cfg.hold_min_ttl_ms = 10_000;
        cfg.hold_default_ttl_ms = 5_000;
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
            SEATBOOK_INVALID_CONFIG,
        );
        assert!(e.is_null());
        // Argon2 parameters out of range.
        let mut h = null_mut();
        let silly = seatbook_argon2_params {
            memory_kib: u32::MAX,
            iterations: 1,
            parallelism: 1,
        };
        expect(
            seatbook_hash_password(c"pw".as_ptr(), &silly, &raw mut h),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(h.is_null());
    }
}

#[test]
fn wrong_handle_kinds_and_wrong_token_kinds_are_refused() {
    let w = World::new();
    let mut counts = seatbook_seat_counts::default();
    let mut out = null_mut();
    // SAFETY: the pointers are live seatbook handles of another kind: the
    // kind tag makes that a defined, refused call.
    unsafe {
        expect(
            seatbook_app_seat_counts(w.admin.cast(), c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_INVALID_HANDLE,
        );
        assert!(
            last_error().contains("not a seatbook_app handle"),
            "{}",
            last_error()
        );
        expect(
            seatbook_admin_list_apps(w.app.cast(), &raw mut out),
            SEATBOOK_INVALID_HANDLE,
        );
        expect(
            seatbook_engine_stats(w.user.cast(), &mut seatbook_stats::default()),
            SEATBOOK_INVALID_HANDLE,
        );
        let ids = [SEAT.as_ptr()];
        let mut res = null_mut();
        expect(
            seatbook_app_reserve(w.app, w.app.cast(), ids.as_ptr(), 1, 0, &raw mut res),
            SEATBOOK_INVALID_HANDLE,
        );
        // Freeing with the wrong free function is refused too (nothing freed).
        seatbook_booking_free(w.app.cast());
        expect(
            seatbook_app_seat_counts(w.app, c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_OK,
        );

        // Token kinds: a user token is not an admin token and the reverse.
        let mut admin = null_mut();
        expect(
            seatbook_engine_admin(w.engine, w.token.0, &raw mut admin),
            seatbook_status::SEATBOOK_INVALID_TOKEN,
        );
        let mut tok = null_mut();
        expect(
            seatbook_engine_admin_login(
                w.engine,
                c"admin@example.com".as_ptr(),
                c"admin-password".as_ptr(),
                &raw mut tok,
            ),
            SEATBOOK_OK,
        );
        let tok = Owned(tok);
        let mut user = null_mut();
        expect(
            seatbook_app_user(w.app, tok.0, &raw mut user),
            seatbook_status::SEATBOOK_INVALID_TOKEN,
        );
        assert!(admin.is_null() && user.is_null());
        // A reservation token of one user does not work for another.
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), 1, 0, &raw mut res),
            SEATBOOK_OK,
        );
        let mut rv: seatbook_reservation_view = std::mem::zeroed();
        expect(seatbook_reservation_get(res, &raw mut rv), SEATBOOK_OK);
        let mut t2 = null_mut();
        expect(
            seatbook_app_signup(
                w.app,
                c"other@example.com".as_ptr(),
                c"correct horse battery".as_ptr(),
                &raw mut t2,
            ),
            SEATBOOK_OK,
        );
        let t2 = Owned(t2);
        let mut other = null_mut();
        expect(seatbook_app_user(w.app, t2.0, &raw mut other), SEATBOOK_OK);
        expect(
            seatbook_app_release(w.app, other, rv.token),
            seatbook_status::SEATBOOK_RESERVATION_NOT_FOUND,
        );
        let mut r2 = null_mut();
        expect(
            seatbook_app_reserve(w.app, other, ids.as_ptr(), 1, 0, &raw mut r2),
            SEATBOOK_SEAT_HELD,
        );
        assert_eq!(CStr::from_ptr(seatbook_last_error_seat()), SEAT);
        seatbook_user_free(other);
        seatbook_reservation_free(res);
    }
}

#[test]
fn use_after_engine_close_is_detected_and_frees_of_null_are_no_ops() {
    let mut w = World::new();
    let mut counts = seatbook_seat_counts::default();
    let mut out = null_mut();
    // SAFETY: the app/admin/user handles stay valid memory after close.
    unsafe {
        let mut res = null_mut();
        let ids = [SEAT.as_ptr()];
        expect(
            seatbook_app_reserve(w.app, w.user, ids.as_ptr(), 1, 0, &raw mut res),
            SEATBOOK_OK,
        );
        seatbook_engine_close(w.engine);
        w.engine = null_mut();
        expect(
            seatbook_app_seat_counts(w.app, c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_ENGINE_CLOSED,
        );
        assert!(last_error().contains("closed"));
        expect(
            seatbook_admin_list_apps(w.admin, &raw mut out),
            SEATBOOK_ENGINE_CLOSED,
        );
        let mut rv: seatbook_reservation_view = std::mem::zeroed();
        // Result handles hold no engine resources: still readable.
        expect(seatbook_reservation_get(res, &raw mut rv), SEATBOOK_OK);
        let mut b = null_mut();
        expect(
            seatbook_app_confirm(w.app, w.user, rv.token, c"pay".as_ptr(), 5000, &raw mut b),
            SEATBOOK_ENGINE_CLOSED,
        );
        seatbook_reservation_free(res);
        // Free of NULL is a no-op for every release function.
        seatbook_engine_close(null_mut());
        seatbook_admin_free(null_mut());
        seatbook_app_free(null_mut());
        seatbook_user_free(null_mut());
        seatbook_app_info_free(null_mut());
        seatbook_app_info_list_free(null_mut());
        seatbook_seat_list_free(null_mut());
        seatbook_reservation_free(null_mut());
        seatbook_booking_free(null_mut());
        seatbook_booking_list_free(null_mut());
        seatbook_entity_info_free(null_mut());
        seatbook_entity_info_list_free(null_mut());
        seatbook_entity_figures_free(null_mut());
        seatbook_string_free(null_mut());
    }
}

#[test]
fn close_releases_the_database_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("db.redb").to_str().unwrap()).unwrap();
    let hash = admin_hash();
    let cfg = fast_config(&hash);
    // SAFETY: valid pointers.
    unsafe {
        let mut e = null_mut();
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
            SEATBOOK_OK,
        );
        let mut tok = null_mut();
        expect(
            seatbook_engine_admin_login(
                e,
                c"admin@example.com".as_ptr(),
                c"admin-password".as_ptr(),
                &raw mut tok,
            ),
            SEATBOOK_OK,
        );
        let tok = Owned(tok);
        let mut admin = null_mut();
        expect(seatbook_engine_admin(e, tok.0, &raw mut admin), SEATBOOK_OK);
        let mut e2 = null_mut();
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e2),
            seatbook_status::SEATBOOK_DATABASE_ALREADY_OPEN,
        );
        seatbook_engine_close(e);
        // The admin handle is still alive, yet the file is free to reopen.
        expect(
            seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e2),
            SEATBOOK_OK,
        );
        let mut out = null_mut();
        expect(
            seatbook_admin_list_apps(admin, &raw mut out),
            SEATBOOK_ENGINE_CLOSED,
        );
        seatbook_admin_free(admin);
        seatbook_engine_close(e2);
    }
}

#[test]
fn last_error_is_per_thread_and_cleared_by_success() {
    let w = World::new();
    let mut counts = seatbook_seat_counts::default();
    // SAFETY: valid pointers.
    unsafe {
        expect(
            seatbook_app_seat_counts(w.app, c"bad id!".as_ptr(), &raw mut counts),
            SEATBOOK_INVALID_INPUT,
        );
        let msg = last_error();
        assert!(msg.contains("entity_id"), "{msg}");
        let other = std::thread::spawn(last_error).join().unwrap();
        assert_eq!(other, "", "another thread does not see this thread's error");
        assert_eq!(last_error(), msg, "reading the message does not clear it");
        assert!(seatbook_last_error_seat().is_null());
        expect(
            seatbook_app_seat_counts(w.app, c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_OK,
        );
        assert_eq!(last_error(), "");
    }
}

#[test]
fn status_names_and_version() {
    for s in seatbook_status::ALL {
        // SAFETY: static strings.
        let name = unsafe { CStr::from_ptr(seatbook_status_name(s as u32)) };
        assert_eq!(name, s.name());
        assert_eq!(s as u32, s.error_code() as u32, "{s:?}");
        assert_eq!(seatbook_status::from(s.error_code()), s);
    }
    // SAFETY: static strings.
    unsafe {
        assert_eq!(
            CStr::from_ptr(seatbook_status_name(9999)),
            c"SEATBOOK_UNKNOWN_STATUS"
        );
        assert_eq!(
            CStr::from_ptr(seatbook_version()).to_str().unwrap(),
            seatbook::VERSION
        );
    }
}

#[test]
fn change_password_revokes_earlier_user_handles_and_tokens() {
    use seatbook::ffi::seatbook_status::{SEATBOOK_INVALID_CREDENTIALS, SEATBOOK_INVALID_TOKEN};
    let w = World::new();
    let (cur, new) = (c"correct horse battery", c"a brand new password");
    // SAFETY: valid pointers; every string we get is freed once.
    unsafe {
        let mut fresh = null_mut();
        each_null("seatbook_app_change_password", 5, |i| {
            seatbook_app_change_password(
                nul(i, 0, w.app),
                nul(i, 1, w.user),
                nul(i, 2, cur.as_ptr()),
                nul(i, 3, new.as_ptr()),
                nul_mut(i, 4, &raw mut fresh),
            )
        });
        expect(
            seatbook_app_change_password(w.app, w.user, new.as_ptr(), new.as_ptr(), &raw mut fresh),
            SEATBOOK_INVALID_CREDENTIALS,
        );
        assert!(fresh.is_null());
        expect(
            seatbook_app_change_password(
                w.app,
                w.user,
                cur.as_ptr(),
                c"short".as_ptr(),
                &raw mut fresh,
            ),
            SEATBOOK_INVALID_INPUT,
        );
        expect(
            seatbook_app_change_password(w.app, w.user, cur.as_ptr(), new.as_ptr(), &raw mut fresh),
            SEATBOOK_OK,
        );
        let fresh = Owned(fresh);
        // The earlier user handle and token are revoked.
        let mut list = null_mut();
        expect(
            seatbook_app_user_bookings(w.app, w.user, &raw mut list),
            SEATBOOK_INVALID_TOKEN,
        );
        let mut user = null_mut();
        expect(
            seatbook_app_user(w.app, w.token.0, &raw mut user),
            SEATBOOK_INVALID_TOKEN,
        );
        expect(
            seatbook_app_user(w.app, fresh.0, &raw mut user),
            SEATBOOK_OK,
        );
        expect(
            seatbook_app_user_bookings(w.app, user, &raw mut list),
            SEATBOOK_OK,
        );
        seatbook_booking_list_free(list);
        seatbook_user_free(user);
    }
}

#[test]
fn a_revoked_app_handle_answers_app_context_revoked() {
    use seatbook::ffi::seatbook_status::SEATBOOK_APP_CONTEXT_REVOKED;
    let w = World::new();
    // SAFETY: valid pointers.
    unsafe {
        let mut key = null_mut();
        expect(
            seatbook_admin_rotate_api_key(w.admin, c"event-app".as_ptr(), &raw mut key),
            SEATBOOK_OK,
        );
        let _key = Owned(key);
        let mut user = null_mut();
        expect(
            seatbook_app_user(w.app, w.token.0, &raw mut user),
            SEATBOOK_APP_CONTEXT_REVOKED,
        );
        assert!(user.is_null());
        assert!(last_error().contains("revoked"), "{}", last_error());
        let mut counts = seatbook_seat_counts::default();
        expect(
            seatbook_app_seat_counts(w.app, c"EVENT_001".as_ptr(), &raw mut counts),
            SEATBOOK_APP_CONTEXT_REVOKED,
        );
        assert_eq!(
            CStr::from_ptr(seatbook_status_name(41)),
            c"SEATBOOK_APP_CONTEXT_REVOKED"
        );
        assert_eq!(
            CStr::from_ptr(seatbook_status_name(42)),
            c"SEATBOOK_PASSWORD_WORK_BUSY"
        );
    }
}

#[test]
fn password_work_bounds_in_the_c_config_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("db.redb").to_str().unwrap()).unwrap();
    let hash = admin_hash();
    for (n, wait) in [(2000, 0), (1, 60_001)] {
        let mut cfg = fast_config(&hash);
        cfg.password_work_max_concurrent = n;
        cfg.password_work_max_wait_ms = wait;
        let mut e = null_mut();
        // SAFETY: valid pointers.
        unsafe {
            expect(
                seatbook_engine_open(path.as_ptr(), &cfg, &raw mut e),
                SEATBOOK_INVALID_CONFIG,
            );
        }
        assert!(e.is_null());
        assert!(last_error().contains("password_work"), "{}", last_error());
    }
}
