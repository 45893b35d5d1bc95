//! Entities through the C ABI, called directly from Rust (the Rust
//! behaviour is tests/entities.rs and tests/archive.rs): create, get,
//! list, update, close (keeping or releasing holds), archive and figures; the typed statuses; NULL and
//! out-of-range enum values refused at the boundary with nothing changed;
//! every handle freed.
#![allow(clippy::too_many_lines)]

use std::ffi::{CStr, c_char};
use std::ptr::{null, null_mut};
use std::time::{SystemTime, UNIX_EPOCH};

use seatbook::ffi::seatbook_entity_status::{
    SEATBOOK_ENTITY_STATUS_ARCHIVED, SEATBOOK_ENTITY_STATUS_CLOSED, SEATBOOK_ENTITY_STATUS_ON_SALE,
};
use seatbook::ffi::seatbook_field_change::{
    SEATBOOK_FIELD_CLEAR, SEATBOOK_FIELD_KEEP, SEATBOOK_FIELD_SET,
};
use seatbook::ffi::seatbook_holds_on_close::{SEATBOOK_HOLDS_KEEP, SEATBOOK_HOLDS_RELEASE};
use seatbook::ffi::seatbook_status::{
    SEATBOOK_ENTITY_ALREADY_EXISTS, SEATBOOK_ENTITY_ARCHIVED, SEATBOOK_ENTITY_CLOSED,
    SEATBOOK_ENTITY_NOT_CLOSED, SEATBOOK_ENTITY_NOT_FOUND, SEATBOOK_INVALID_HANDLE,
    SEATBOOK_INVALID_INPUT, SEATBOOK_INVALID_UTF8, SEATBOOK_NULL_PARAMETER, SEATBOOK_OK,
    SEATBOOK_RESERVATION_NOT_ACTIVE, SEATBOOK_SALE_CLOSED, SEATBOOK_SALE_NOT_OPEN,
    SEATBOOK_SEAT_ALREADY_EXISTS, SEATBOOK_SEAT_NOT_FOUND,
};
use seatbook::ffi::*;

use seatbook_testkit::ffi::{World, expect, last_error};

const APP: &CStr = c"event-app";
/// The entity `World` made with its seat (`EVENT_001-A1`, 50.00 EUR).
const EVENT: &CStr = c"EVENT_001";

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn string(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a borrowed string of a live handle.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// An entity record copied out of its view.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    entity_id: String,
    name: String,
    kind: String,
    starts_at: Option<u64>,
    sale_opens_at: Option<u64>,
    sale_closes_at: Option<u64>,
    status: seatbook_entity_status,
    created_at: u64,
    updated_at: u64,
}

impl Entity {
    fn of(v: &seatbook_entity_info_view) -> Self {
        let opt = |has: bool, value: u64| {
            if has {
                Some(value)
            } else {
                assert_eq!(value, 0, "an absent instant reads 0");
                None
            }
        };
        Self {
            entity_id: string(v.entity_id),
            name: string(v.name),
            kind: string(v.kind),
            starts_at: opt(v.has_starts_at, v.starts_at),
            sale_opens_at: opt(v.has_sale_opens_at, v.sale_opens_at),
            sale_closes_at: opt(v.has_sale_closes_at, v.sale_closes_at),
            status: v.status,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }

    /// Reads and frees an entity info handle.
    fn take(h: *mut seatbook_entity_info) -> Self {
        assert!(!h.is_null());
        let mut v = seatbook_entity_info_view::default();
        // SAFETY: a live handle from the library, freed once here.
        unsafe {
            expect(seatbook_entity_info_get(h, &raw mut v), SEATBOOK_OK);
            let e = Self::of(&v);
            seatbook_entity_info_free(h);
            e
        }
    }
}

fn new_entity(id: &CStr) -> seatbook_new_entity {
    seatbook_new_entity {
        entity_id: id.as_ptr(),
        name: c"Opening night".as_ptr(),
        kind: c"show".as_ptr(),
        has_starts_at: true,
        starts_at: now_ms() + 86_400_000,
        has_sale_opens_at: false,
        sale_opens_at: 0,
        has_sale_closes_at: false,
        sale_closes_at: 0,
    }
}

/// A zeroed update: changes nothing.
fn keep_all() -> seatbook_entity_update {
    seatbook_entity_update {
        name: null(),
        kind: null(),
        starts_at_change: SEATBOOK_FIELD_KEEP as u32,
        starts_at: 0,
        sale_opens_at_change: SEATBOOK_FIELD_KEEP as u32,
        sale_opens_at: 0,
        sale_closes_at_change: SEATBOOK_FIELD_KEEP as u32,
        sale_closes_at: 0,
    }
}

fn create(w: &World, new: &seatbook_new_entity) -> seatbook_status {
    // SAFETY: valid handles and arguments; no record wanted back.
    unsafe { seatbook_admin_create_entity(w.admin, APP.as_ptr(), new, null_mut()) }
}

fn get(w: &World, id: &CStr) -> Entity {
    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameter.
    expect(
        unsafe { seatbook_admin_get_entity(w.admin, APP.as_ptr(), id.as_ptr(), &raw mut out) },
        SEATBOOK_OK,
    );
    Entity::take(out)
}

fn list(w: &World) -> Vec<Entity> {
    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameter.
    expect(
        unsafe { seatbook_admin_list_entities(w.admin, APP.as_ptr(), &raw mut out) },
        SEATBOOK_OK,
    );
    take_list(out)
}

/// The app's own listing (buyers' view: archived entities left out).
fn app_list(w: &World) -> Vec<Entity> {
    let mut out = null_mut();
    // SAFETY: valid handle and out-parameter.
    expect(
        unsafe { seatbook_app_list_entities(w.app, &raw mut out) },
        SEATBOOK_OK,
    );
    take_list(out)
}

/// Copies a list handle's entities out and frees it.
fn take_list(out: *mut seatbook_entity_info_list) -> Vec<Entity> {
    // SAFETY: a live list handle, freed once, after its views were copied.
    unsafe {
        let mut n = 0usize;
        expect(
            seatbook_entity_info_list_count(out, &raw mut n),
            SEATBOOK_OK,
        );
        let mut items = Vec::new();
        for i in 0..n {
            let mut v = seatbook_entity_info_view::default();
            expect(
                seatbook_entity_info_list_get(out, i, &raw mut v),
                SEATBOOK_OK,
            );
            items.push(Entity::of(&v));
        }
        let mut v = seatbook_entity_info_view::default();
        expect(
            seatbook_entity_info_list_get(out, n, &raw mut v),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(v.entity_id.is_null(), "view reset on failure");
        seatbook_entity_info_list_free(out);
        items
    }
}

/// The engine's audit through the C ABI finds nothing.
fn assert_audit_clean(w: &World) {
    let mut audit = seatbook_audit::default();
    // SAFETY: valid handle and out-parameter.
    expect(
        unsafe { seatbook_engine_audit(w.engine, &raw mut audit) },
        SEATBOOK_OK,
    );
    assert!(audit.clean);
}

fn add_seats(w: &World, entity: &CStr, ids: &[&CStr], price_minor: u64) -> seatbook_status {
    let seats: Vec<seatbook_new_seat> = ids
        .iter()
        .map(|id| seatbook_new_seat {
            seat_id: id.as_ptr(),
            price_minor,
            currency: c"EUR".as_ptr(),
            section: null(),
            row: null(),
            category: null(),
        })
        .collect();
    // SAFETY: valid handles and a live array of `seats.len()` structs.
    unsafe {
        seatbook_admin_create_seats(
            w.admin,
            APP.as_ptr(),
            entity.as_ptr(),
            seats.as_ptr(),
            seats.len(),
            null_mut(),
        )
    }
}

/// Reserves `ids` for the world's buyer: the status, and on success the
/// reservation handle (the caller frees it).
fn reserve(w: &World, ids: &[&CStr]) -> (seatbook_status, *mut seatbook_reservation) {
    let ptrs: Vec<*const c_char> = ids.iter().map(|s| s.as_ptr()).collect();
    let mut res = null_mut();
    // SAFETY: valid handles and a live array of `ptrs.len()` C strings.
    let status =
        unsafe { seatbook_app_reserve(w.app, w.user, ptrs.as_ptr(), ptrs.len(), 0, &raw mut res) };
    assert_eq!(status == SEATBOOK_OK, !res.is_null());
    (status, res)
}

/// Confirms a reservation handle (freed here); the confirm's status.
fn confirm(w: &World, res: *mut seatbook_reservation, payment_id: &CStr) -> seatbook_status {
    // SAFETY: a live reservation handle, freed once here; valid handles.
    unsafe {
        let mut v = seatbook_reservation_view::default();
        expect(seatbook_reservation_get(res, &raw mut v), SEATBOOK_OK);
        let mut booking = null_mut();
        let status = seatbook_app_confirm(
            w.app,
            w.user,
            v.token,
            payment_id.as_ptr(),
            v.total_minor,
            &raw mut booking,
        );
        seatbook_booking_free(booking);
        seatbook_reservation_free(res);
        status
    }
}

fn counts(w: &World, entity: &CStr) -> (u64, u64, u64) {
    let mut c = seatbook_seat_counts::default();
    // SAFETY: valid handles, string and out-parameter.
    expect(
        unsafe { seatbook_app_seat_counts(w.app, entity.as_ptr(), &raw mut c) },
        SEATBOOK_OK,
    );
    (c.available, c.held, c.booked)
}

/// Figures copied out of their view.
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    entity_id: String,
    status: seatbook_entity_status,
    sold: u64,
    held: u64,
    available: u64,
    revenue: Vec<(String, u64)>,
}

fn figures(w: &World, entity: &CStr) -> Result<Figures, seatbook_status> {
    let mut h = null_mut();
    // SAFETY: valid handles, strings and out-parameters; the handle is
    // freed once, after its view was copied.
    unsafe {
        let status =
            seatbook_admin_entity_figures(w.admin, APP.as_ptr(), entity.as_ptr(), &raw mut h);
        if status != SEATBOOK_OK {
            assert!(h.is_null());
            return Err(status);
        }
        let mut v = seatbook_entity_figures_view::default();
        expect(seatbook_entity_figures_get(h, &raw mut v), SEATBOOK_OK);
        let revenue = if v.revenue_count == 0 {
            assert!(v.revenue.is_null());
            Vec::new()
        } else {
            std::slice::from_raw_parts(v.revenue, v.revenue_count)
                .iter()
                .map(|m| (string(m.currency), m.amount_minor))
                .collect()
        };
        let f = Figures {
            entity_id: string(v.entity_id),
            status: v.status,
            sold: v.sold,
            held: v.held,
            available: v.available,
            revenue,
        };
        seatbook_entity_figures_free(h);
        Ok(f)
    }
}

#[test]
fn the_admin_creates_reads_lists_and_updates_entities() {
    let w = World::new();
    let before = now_ms();
    let mut new = new_entity(c"SHOW-1");
    new.has_sale_opens_at = true;
    new.sale_opens_at = before - 1_000;
    let mut out = null_mut();
    // SAFETY: valid handles, struct and out-parameter.
    expect(
        unsafe { seatbook_admin_create_entity(w.admin, APP.as_ptr(), &new, &raw mut out) },
        SEATBOOK_OK,
    );
    let created = Entity::take(out);
    assert_eq!(created.entity_id, "SHOW-1");
    assert_eq!(created.name, "Opening night");
    assert_eq!(created.kind, "show");
    assert_eq!(created.starts_at, Some(new.starts_at));
    assert_eq!(created.sale_opens_at, Some(before - 1_000));
    assert_eq!(created.sale_closes_at, None);
    assert_eq!(created.status, SEATBOOK_ENTITY_STATUS_ON_SALE);
    assert!(created.created_at >= before && created.updated_at == created.created_at);
    assert_eq!(get(&w, c"SHOW-1"), created);

    // NULL name and kind: the id and "" (like the entity its seats made).
    let mut bare = new_entity(c"SHOW-2");
    bare.name = null();
    bare.kind = null();
    bare.has_starts_at = false;
    expect(create(&w, &bare), SEATBOOK_OK);
    let bare = get(&w, c"SHOW-2");
    assert_eq!((bare.name.as_str(), bare.kind.as_str()), ("SHOW-2", ""));
    assert_eq!(bare.starts_at, None);
    let implicit = get(&w, EVENT);
    assert_eq!(
        (implicit.name.as_str(), implicit.kind.as_str()),
        ("EVENT_001", "")
    );
    assert_eq!(implicit.status, SEATBOOK_ENTITY_STATUS_ON_SALE);
    let all = list(&w);
    let ids: Vec<&str> = all.iter().map(|e| e.entity_id.as_str()).collect();
    assert_eq!(ids, ["EVENT_001", "SHOW-1", "SHOW-2"]);
    assert_eq!(all[1], created);

    // Update: set the name, keep the kind (NULL), clear the start, set the
    // close; the record comes back through the optional out-parameter.
    let closes = before + 3_600_000;
    let update = seatbook_entity_update {
        name: c"Premiere".as_ptr(),
        starts_at_change: SEATBOOK_FIELD_CLEAR as u32,
        starts_at: 12_345, // ignored by CLEAR
        sale_closes_at_change: SEATBOOK_FIELD_SET as u32,
        sale_closes_at: closes,
        ..keep_all()
    };
    let mut out = null_mut();
    // SAFETY: valid handles, strings, struct and out-parameter.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"SHOW-1".as_ptr(),
                &update,
                &raw mut out,
            )
        },
        SEATBOOK_OK,
    );
    let updated = Entity::take(out);
    assert_eq!(updated.name, "Premiere");
    assert_eq!(updated.kind, "show", "untouched");
    assert_eq!(updated.starts_at, None);
    assert_eq!(updated.sale_opens_at, Some(before - 1_000), "untouched");
    assert_eq!(updated.sale_closes_at, Some(closes));
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    // A zeroed update changes nothing but is accepted (NULL out_info).
    // SAFETY: valid handles, strings and struct.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"SHOW-1".as_ptr(),
                &keep_all(),
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    let same = get(&w, c"SHOW-1");
    assert_eq!(
        (same.name, same.kind, same.starts_at, same.sale_closes_at),
        (
            updated.name.clone(),
            updated.kind.clone(),
            None,
            Some(closes)
        )
    );

    // Refusals are typed, leave the out-parameter NULL and change nothing.
    let mut out: *mut seatbook_entity_info = std::ptr::dangling_mut();
    // SAFETY: valid handles, struct and out-parameter.
    expect(
        unsafe { seatbook_admin_create_entity(w.admin, APP.as_ptr(), &new, &raw mut out) },
        SEATBOOK_ENTITY_ALREADY_EXISTS,
    );
    assert!(out.is_null());
    assert!(last_error().contains("SHOW-1"), "{}", last_error());
    expect(
        create(&w, &new_entity(EVENT)),
        SEATBOOK_ENTITY_ALREADY_EXISTS,
    );
    let mut out: *mut seatbook_entity_info = std::ptr::dangling_mut();
    // SAFETY: valid handles, strings and out-parameter.
    expect(
        unsafe { seatbook_admin_get_entity(w.admin, APP.as_ptr(), c"NOPE".as_ptr(), &raw mut out) },
        SEATBOOK_ENTITY_NOT_FOUND,
    );
    assert!(out.is_null());
    // SAFETY: valid handles, strings and struct.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"NOPE".as_ptr(),
                &keep_all(),
                null_mut(),
            )
        },
        SEATBOOK_ENTITY_NOT_FOUND,
    );
    // SAFETY: valid handles and strings.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                c"NOPE".as_ptr(),
                SEATBOOK_HOLDS_KEEP as u32,
                null_mut(),
            )
        },
        SEATBOOK_ENTITY_NOT_FOUND,
    );
    assert_eq!(figures(&w, c"NOPE"), Err(SEATBOOK_ENTITY_NOT_FOUND));
    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameter.
    expect(
        unsafe {
            seatbook_admin_get_entity(w.admin, c"no-app".as_ptr(), EVENT.as_ptr(), &raw mut out)
        },
        seatbook_status::SEATBOOK_APP_NOT_FOUND,
    );
    // A window that does not open before it closes, a bad id, a bad kind.
    let mut empty_window = new_entity(c"SHOW-3");
    empty_window.has_sale_opens_at = true;
    empty_window.sale_opens_at = closes;
    empty_window.has_sale_closes_at = true;
    empty_window.sale_closes_at = closes;
    expect(create(&w, &empty_window), SEATBOOK_INVALID_INPUT);
    expect(create(&w, &new_entity(c"bad id")), SEATBOOK_INVALID_INPUT);
    let mut bad_kind = new_entity(c"SHOW-3");
    bad_kind.kind = c"x\x07".as_ptr();
    expect(create(&w, &bad_kind), SEATBOOK_INVALID_INPUT);
    let window = seatbook_entity_update {
        sale_closes_at_change: SEATBOOK_FIELD_SET as u32,
        sale_closes_at: before - 2_000, // before it opens
        ..keep_all()
    };
    // SAFETY: valid handles, strings and struct.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"SHOW-1".as_ptr(),
                &window,
                null_mut(),
            )
        },
        SEATBOOK_INVALID_INPUT,
    );
    assert_eq!(get(&w, c"SHOW-1").sale_closes_at, Some(closes));
    assert_eq!(list(&w).len(), 3, "no SHOW-3");
}

#[test]
fn reserves_outside_the_sale_window_are_refused_and_hold_nothing() {
    let w = World::new();
    let mut new = new_entity(c"SHOW-1");
    new.has_sale_opens_at = true;
    new.sale_opens_at = now_ms() + 3_600_000;
    expect(create(&w, &new), SEATBOOK_OK);
    expect(
        add_seats(&w, c"SHOW-1", &[c"SHOW-1-S0", c"SHOW-1-S1"], 2500),
        SEATBOOK_OK,
    );

    let (status, _) = reserve(&w, &[c"SHOW-1-S0"]);
    expect(status, SEATBOOK_SALE_NOT_OPEN);
    assert!(last_error().contains("SHOW-1"), "{}", last_error());
    // A request mixing entities is refused whole.
    let (status, _) = reserve(&w, &[SEAT_A1, c"SHOW-1-S1"]);
    expect(status, SEATBOOK_SALE_NOT_OPEN);
    assert_eq!(counts(&w, c"SHOW-1"), (2, 0, 0));
    assert_eq!(counts(&w, EVENT), (1, 0, 0));

    // Opening the window now (clearing its start) lets the next reserve in.
    let open = seatbook_entity_update {
        sale_opens_at_change: SEATBOOK_FIELD_CLEAR as u32,
        ..keep_all()
    };
    // SAFETY: valid handles, strings and struct.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"SHOW-1".as_ptr(),
                &open,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    let (status, res) = reserve(&w, &[c"SHOW-1-S0"]);
    expect(status, SEATBOOK_OK);
    // SAFETY: the reservation handle just returned, freed once.
    unsafe { seatbook_reservation_free(res) };

    // A window that closed already: SALE_CLOSED.
    let shut = seatbook_entity_update {
        sale_closes_at_change: SEATBOOK_FIELD_SET as u32,
        sale_closes_at: now_ms() - 1,
        ..keep_all()
    };
    // SAFETY: valid handles, strings and struct.
    expect(
        unsafe {
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                c"SHOW-1".as_ptr(),
                &shut,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    let (status, _) = reserve(&w, &[c"SHOW-1-S1"]);
    expect(status, SEATBOOK_SALE_CLOSED);
    assert_eq!(counts(&w, c"SHOW-1"), (1, 1, 0));
}

const SEAT_A1: &CStr = c"EVENT_001-A1";

#[test]
fn closing_with_keep_stops_sales_and_keeps_live_holds_payable() {
    let w = World::new();
    expect(
        add_seats(&w, EVENT, &[c"EVENT_001-A2", c"EVENT_001-A3"], 1000),
        SEATBOOK_OK,
    );
    let (status, kept) = reserve(&w, &[SEAT_A1]);
    expect(status, SEATBOOK_OK);

    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameter.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                SEATBOOK_HOLDS_KEEP as u32,
                &raw mut out,
            )
        },
        SEATBOOK_OK,
    );
    let closed = Entity::take(out);
    assert_eq!(closed.status, SEATBOOK_ENTITY_STATUS_CLOSED);
    assert_eq!(get(&w, EVENT).status, SEATBOOK_ENTITY_STATUS_CLOSED);

    // No new hold, free or held seat alike.
    for seat in [c"EVENT_001-A2", SEAT_A1] {
        let (status, _) = reserve(&w, &[seat]);
        expect(status, SEATBOOK_SALE_CLOSED);
    }
    assert_eq!(counts(&w, EVENT), (2, 1, 0));
    // The kept hold can still be paid.
    expect(confirm(&w, kept, c"pay-1"), SEATBOOK_OK);
    assert_eq!(counts(&w, EVENT), (2, 0, 1));

    // A closed entity takes no seats and no window change; text can change.
    expect(
        add_seats(&w, EVENT, &[c"EVENT_001-NEW"], 1000),
        SEATBOOK_ENTITY_CLOSED,
    );
    assert_eq!(counts(&w, EVENT), (2, 0, 1));
    let window = seatbook_entity_update {
        sale_closes_at_change: SEATBOOK_FIELD_CLEAR as u32,
        ..keep_all()
    };
    let rename = seatbook_entity_update {
        name: c"Sold out".as_ptr(),
        ..keep_all()
    };
    let mut out = null_mut();
    // SAFETY: valid handles, strings, structs and out-parameter.
    unsafe {
        expect(
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                &window,
                null_mut(),
            ),
            SEATBOOK_ENTITY_CLOSED,
        );
        expect(
            seatbook_admin_update_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                &rename,
                &raw mut out,
            ),
            SEATBOOK_OK,
        );
    }
    let renamed = Entity::take(out);
    assert_eq!(renamed.name, "Sold out");
    assert_eq!(renamed.status, SEATBOOK_ENTITY_STATUS_CLOSED);
    // Closing again is harmless (NULL out_info).
    // SAFETY: valid handles and strings.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                SEATBOOK_HOLDS_KEEP as u32,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    assert_audit_clean(&w);
}

#[test]
fn closing_with_release_frees_the_live_holds_at_once() {
    let w = World::new();
    expect(add_seats(&w, EVENT, &[c"EVENT_001-A2"], 1000), SEATBOOK_OK);
    expect(add_seats(&w, c"OTHER", &[c"OTHER-S0"], 1000), SEATBOOK_OK);
    let (status, released) = reserve(&w, &[SEAT_A1, c"EVENT_001-A2"]);
    expect(status, SEATBOOK_OK);
    let (status, elsewhere) = reserve(&w, &[c"OTHER-S0"]);
    expect(status, SEATBOOK_OK);
    assert_eq!(counts(&w, EVENT), (0, 2, 0));

    // SAFETY: valid handles and strings.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                SEATBOOK_HOLDS_RELEASE as u32,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    assert_eq!(counts(&w, EVENT), (2, 0, 0));
    assert_eq!(
        counts(&w, c"OTHER"),
        (0, 1, 0),
        "other entities keep theirs"
    );
    // SAFETY: a live reservation handle; valid handles.
    unsafe {
        let mut v = seatbook_reservation_view::default();
        expect(seatbook_reservation_get(released, &raw mut v), SEATBOOK_OK);
        let mut now = null_mut();
        expect(
            seatbook_app_reservation(w.app, w.user, v.token, &raw mut now),
            SEATBOOK_OK,
        );
        let mut nv = seatbook_reservation_view::default();
        expect(seatbook_reservation_get(now, &raw mut nv), SEATBOOK_OK);
        assert_eq!(
            nv.status,
            seatbook_reservation_status::SEATBOOK_RESERVATION_RELEASED
        );
        seatbook_reservation_free(now);
    }
    expect(
        confirm(&w, released, c"pay-x"),
        SEATBOOK_RESERVATION_NOT_ACTIVE,
    );
    expect(confirm(&w, elsewhere, c"pay-3"), SEATBOOK_OK);
}

#[test]
fn figures_count_sold_held_and_available_seats_and_revenue() {
    let w = World::new();
    expect(
        add_seats(&w, EVENT, &[c"EVENT_001-A2", c"EVENT_001-A3"], 1000),
        SEATBOOK_OK,
    );
    assert_eq!(
        figures(&w, EVENT),
        Ok(Figures {
            entity_id: "EVENT_001".into(),
            status: SEATBOOK_ENTITY_STATUS_ON_SALE,
            sold: 0,
            held: 0,
            available: 3,
            revenue: vec![],
        })
    );
    let (status, paid) = reserve(&w, &[SEAT_A1, c"EVENT_001-A2"]);
    expect(status, SEATBOOK_OK);
    expect(confirm(&w, paid, c"pay-1"), SEATBOOK_OK);
    let (status, held) = reserve(&w, &[c"EVENT_001-A3"]);
    expect(status, SEATBOOK_OK);
    assert_eq!(
        figures(&w, EVENT),
        Ok(Figures {
            entity_id: "EVENT_001".into(),
            status: SEATBOOK_ENTITY_STATUS_ON_SALE,
            sold: 2,
            held: 1,
            available: 0,
            revenue: vec![("EUR".into(), 5000 + 1000)],
        })
    );
    // SAFETY: the reservation handle from `reserve`, freed once.
    unsafe { seatbook_reservation_free(held) };
    // SAFETY: valid handles and strings.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                SEATBOOK_HOLDS_RELEASE as u32,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    let after = figures(&w, EVENT).unwrap();
    assert_eq!(after.status, SEATBOOK_ENTITY_STATUS_CLOSED);
    assert_eq!((after.sold, after.held, after.available), (2, 0, 1));
}

#[test]
fn null_arguments_and_bad_enum_values_are_refused_and_change_nothing() {
    let w = World::new();
    let (ad, app, ev) = (w.admin, APP.as_ptr(), EVENT.as_ptr());
    let new = new_entity(c"SHOW-1");
    let update = seatbook_entity_update {
        name: c"Renamed".as_ptr(),
        ..keep_all()
    };
    let before = get(&w, EVENT);
    let mut info: *mut seatbook_entity_info = std::ptr::dangling_mut();
    let mut elist: *mut seatbook_entity_info_list = std::ptr::dangling_mut();
    let mut figs: *mut seatbook_entity_figures = std::ptr::dangling_mut();
    let keep = SEATBOOK_HOLDS_KEEP as u32;
    // SAFETY: valid arguments except the ones nulled or garbled on purpose;
    // the out-parameters are writable.
    unsafe {
        // Required pointers, one at a time (a NULL out_info is allowed
        // where it is optional, so it is not among them).
        let nulls: [seatbook_status; 20] = [
            seatbook_admin_create_entity(null(), app, &new, &raw mut info),
            seatbook_admin_create_entity(ad, null(), &new, &raw mut info),
            seatbook_admin_create_entity(ad, app, null(), &raw mut info),
            seatbook_admin_update_entity(null(), app, ev, &update, &raw mut info),
            seatbook_admin_update_entity(ad, null(), ev, &update, &raw mut info),
            seatbook_admin_update_entity(ad, app, null(), &update, &raw mut info),
            seatbook_admin_update_entity(ad, app, ev, null(), &raw mut info),
            seatbook_admin_get_entity(null(), app, ev, &raw mut info),
            seatbook_admin_get_entity(ad, null(), ev, &raw mut info),
            seatbook_admin_get_entity(ad, app, null(), &raw mut info),
            seatbook_admin_get_entity(ad, app, ev, null_mut()),
            seatbook_admin_list_entities(null(), app, &raw mut elist),
            seatbook_admin_list_entities(ad, null(), &raw mut elist),
            seatbook_admin_list_entities(ad, app, null_mut()),
            seatbook_admin_close_entity(null(), app, ev, keep, &raw mut info),
            seatbook_admin_close_entity(ad, null(), ev, keep, &raw mut info),
            seatbook_admin_close_entity(ad, app, null(), keep, &raw mut info),
            seatbook_admin_entity_figures(null(), app, ev, &raw mut figs),
            seatbook_admin_entity_figures(ad, null(), ev, &raw mut figs),
            seatbook_admin_entity_figures(ad, app, null(), &raw mut figs),
        ];
        for (i, status) in nulls.into_iter().enumerate() {
            assert_eq!(status, SEATBOOK_NULL_PARAMETER, "call {i}");
        }
        expect(
            seatbook_admin_entity_figures(ad, app, ev, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        assert!(last_error().contains("out_figures"), "{}", last_error());
        assert!(
            info.is_null() && elist.is_null() && figs.is_null(),
            "out-parameters are reset"
        );
        // A NULL entity id inside the struct.
        let no_id = seatbook_new_entity {
            entity_id: null(),
            ..new_entity(c"x")
        };
        expect(
            seatbook_admin_create_entity(ad, app, &no_id, &raw mut info),
            SEATBOOK_NULL_PARAMETER,
        );
        assert!(last_error().contains("entity_id"), "{}", last_error());
        // Invalid UTF-8 inside the structs.
        let bad_name = seatbook_new_entity {
            name: c"\xff\xfe".as_ptr(),
            ..new_entity(c"SHOW-1")
        };
        expect(
            seatbook_admin_create_entity(ad, app, &bad_name, &raw mut info),
            SEATBOOK_INVALID_UTF8,
        );
        let bad_kind = seatbook_entity_update {
            kind: c"\xff".as_ptr(),
            ..keep_all()
        };
        expect(
            seatbook_admin_update_entity(ad, app, ev, &bad_kind, &raw mut info),
            SEATBOOK_INVALID_UTF8,
        );

        // Enum values out of range: refused at the boundary.
        for holds in [2, 7, u32::MAX] {
            expect(
                seatbook_admin_close_entity(ad, app, ev, holds, &raw mut info),
                SEATBOOK_INVALID_INPUT,
            );
            assert!(last_error().contains("holds"), "{}", last_error());
        }
        let cases = [
            (3, SEATBOOK_FIELD_KEEP as u32, SEATBOOK_FIELD_KEEP as u32),
            (
                SEATBOOK_FIELD_SET as u32,
                u32::MAX,
                SEATBOOK_FIELD_KEEP as u32,
            ),
            (SEATBOOK_FIELD_KEEP as u32, SEATBOOK_FIELD_CLEAR as u32, 42),
        ];
        for (starts, opens, closes) in cases {
            let garbled = seatbook_entity_update {
                starts_at_change: starts,
                starts_at: 1,
                sale_opens_at_change: opens,
                sale_closes_at_change: closes,
                ..update
            };
            expect(
                seatbook_admin_update_entity(ad, app, ev, &garbled, &raw mut info),
                SEATBOOK_INVALID_INPUT,
            );
            assert!(last_error().contains("_change"), "{}", last_error());
        }
        assert!(info.is_null());

        // Wrong handle kinds: the admin is not an entity record, a record
        // is not a list, figures are not a record.
        let mut v = seatbook_entity_info_view::default();
        expect(
            seatbook_entity_info_get(ad.cast(), &raw mut v),
            SEATBOOK_INVALID_HANDLE,
        );
        let mut got = null_mut();
        expect(
            seatbook_admin_get_entity(ad, app, ev, &raw mut got),
            SEATBOOK_OK,
        );
        let mut n = 0usize;
        expect(
            seatbook_entity_info_list_count(got.cast(), &raw mut n),
            SEATBOOK_INVALID_HANDLE,
        );
        let mut fv = seatbook_entity_figures_view::default();
        expect(
            seatbook_entity_figures_get(got.cast(), &raw mut fv),
            SEATBOOK_INVALID_HANDLE,
        );
        expect(
            seatbook_admin_list_entities(w.app.cast(), app, &raw mut elist),
            SEATBOOK_INVALID_HANDLE,
        );
        // Freeing with the wrong function is refused (nothing freed).
        seatbook_entity_figures_free(got.cast());
        seatbook_entity_info_list_free(got.cast());
        expect(seatbook_entity_info_get(got, &raw mut v), SEATBOOK_OK);
        seatbook_entity_info_free(got);
        // NULL views and handles in the readers.
        expect(
            seatbook_entity_info_get(null(), &raw mut v),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_entity_figures_get(null(), &raw mut fv),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_entity_info_list_get(null(), 0, &raw mut v),
            SEATBOOK_NULL_PARAMETER,
        );
        // Free of NULL is a no-op.
        seatbook_entity_info_free(null_mut());
        seatbook_entity_info_list_free(null_mut());
        seatbook_entity_figures_free(null_mut());
    }
    // Nothing changed: no SHOW-1, EVENT_001 as it was and still on sale.
    assert_eq!(get(&w, EVENT), before);
    assert_eq!(list(&w).len(), 1);
    let (status, res) = reserve(&w, &[SEAT_A1]);
    expect(status, SEATBOOK_OK);
    // SAFETY: the reservation handle from `reserve`, freed once.
    unsafe { seatbook_reservation_free(res) };
}

/// Confirms a reservation handle (freed here); the new booking's id.
fn confirm_booking(w: &World, res: *mut seatbook_reservation, payment_id: &CStr) -> String {
    // SAFETY: a live reservation handle, freed once here; valid handles;
    // the booking handle is freed after its id was copied.
    unsafe {
        let mut v = seatbook_reservation_view::default();
        expect(seatbook_reservation_get(res, &raw mut v), SEATBOOK_OK);
        let mut booking = null_mut();
        expect(
            seatbook_app_confirm(
                w.app,
                w.user,
                v.token,
                payment_id.as_ptr(),
                v.total_minor,
                &raw mut booking,
            ),
            SEATBOOK_OK,
        );
        let mut b = seatbook_booking_view::default();
        expect(seatbook_booking_get(booking, &raw mut b), SEATBOOK_OK);
        let id = string(b.booking_id);
        seatbook_booking_free(booking);
        seatbook_reservation_free(res);
        id
    }
}

fn archive(w: &World, entity: &CStr) -> Result<Entity, seatbook_status> {
    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameter.
    let status = unsafe {
        seatbook_admin_archive_entity(w.admin, APP.as_ptr(), entity.as_ptr(), &raw mut out)
    };
    if status == SEATBOOK_OK {
        Ok(Entity::take(out))
    } else {
        assert!(out.is_null(), "nothing handed out on failure");
        Err(status)
    }
}

#[test]
fn archiving_takes_the_seats_out_and_keeps_the_bookings() {
    let w = World::new();
    expect(
        add_seats(&w, EVENT, &[c"EVENT_001-A2", c"EVENT_001-A3"], 1000),
        SEATBOOK_OK,
    );
    let (status, paid) = reserve(&w, &[c"EVENT_001-A2"]);
    expect(status, SEATBOOK_OK);
    let booking_id = confirm_booking(&w, paid, c"pay-1");
    let (status, live) = reserve(&w, &[SEAT_A1]);
    expect(status, SEATBOOK_OK);
    // SAFETY: a live handle, freed once.
    unsafe { seatbook_reservation_free(live) };

    // Not closed: refused, nothing changed; NULL arguments refused.
    assert_eq!(archive(&w, EVENT), Err(SEATBOOK_ENTITY_NOT_CLOSED));
    assert!(last_error().contains("EVENT_001"), "{}", last_error());
    assert_eq!(archive(&w, c"NOPE"), Err(SEATBOOK_ENTITY_NOT_FOUND));
    // SAFETY: NULL arguments are refused at the boundary.
    unsafe {
        expect(
            seatbook_admin_archive_entity(w.admin, APP.as_ptr(), null(), null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_admin_archive_entity(null(), APP.as_ptr(), EVENT.as_ptr(), null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
    }
    assert_eq!(counts(&w, EVENT), (1, 1, 1));

    // SAFETY: valid handles and strings.
    expect(
        unsafe {
            seatbook_admin_close_entity(
                w.admin,
                APP.as_ptr(),
                EVENT.as_ptr(),
                SEATBOOK_HOLDS_KEEP as u32,
                null_mut(),
            )
        },
        SEATBOOK_OK,
    );
    assert_eq!(
        app_list(&w).iter().map(|e| e.status).collect::<Vec<_>>(),
        [SEATBOOK_ENTITY_STATUS_CLOSED]
    );
    let seat_keys = || {
        let mut k = seatbook_seat_keys::default();
        // SAFETY: a valid handle and out-parameter.
        expect(
            unsafe { seatbook_engine_seat_keys(w.engine, &raw mut k) },
            SEATBOOK_OK,
        );
        (k.live, k.allocated)
    };
    assert_eq!(seat_keys(), (3, 3));
    let archived = archive(&w, EVENT).unwrap();
    assert_eq!(seat_keys(), (0, 3), "its keys given back");
    // SAFETY: a NULL out-parameter is refused at the boundary.
    expect(
        unsafe { seatbook_engine_seat_keys(w.engine, null_mut()) },
        SEATBOOK_NULL_PARAMETER,
    );
    assert_eq!(archived.status, SEATBOOK_ENTITY_STATUS_ARCHIVED);
    assert_eq!(get(&w, EVENT), archived);
    // Buyers' listing leaves it out; the admin's keeps it; a read finds it.
    assert!(app_list(&w).is_empty());
    assert_eq!(list(&w), std::slice::from_ref(&archived));
    let mut out = null_mut();
    // SAFETY: valid handles, strings and out-parameters.
    unsafe {
        expect(
            seatbook_app_entity(w.app, EVENT.as_ptr(), &raw mut out),
            SEATBOOK_OK,
        );
        assert_eq!(Entity::take(out), archived);
        let mut out = null_mut();
        expect(
            seatbook_app_entity(w.app, c"NOPE".as_ptr(), &raw mut out),
            SEATBOOK_ENTITY_NOT_FOUND,
        );
        assert!(out.is_null());
        expect(
            seatbook_app_entity(w.app, null(), &raw mut out),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_app_list_entities(w.app, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
    }
    assert_eq!(archive(&w, EVENT), Ok(archived.clone()), "idempotent");

    // Its seats are gone; its figures stay as they were.
    assert_eq!(counts(&w, EVENT), (0, 0, 0));
    let (status, _) = reserve(&w, &[c"EVENT_001-A3"]);
    expect(status, SEATBOOK_SEAT_NOT_FOUND);
    assert_eq!(
        figures(&w, EVENT),
        Ok(Figures {
            entity_id: "EVENT_001".into(),
            status: SEATBOOK_ENTITY_STATUS_ARCHIVED,
            sold: 1,
            held: 0,
            available: 2,
            revenue: vec![("EUR".into(), 1000)],
        })
    );

    // The booking stays readable, and is no longer cancellable.
    let id = std::ffi::CString::new(booking_id).unwrap();
    let mut h = null_mut();
    // SAFETY: valid handles, strings and out-parameters.
    unsafe {
        expect(
            seatbook_app_booking(w.app, id.as_ptr(), &raw mut h),
            SEATBOOK_OK,
        );
        let mut b = seatbook_booking_view::default();
        expect(seatbook_booking_get(h, &raw mut b), SEATBOOK_OK);
        assert_eq!(b.seat_count, 1);
        assert_eq!(string(*b.seat_ids), "EVENT_001-A2");
        seatbook_booking_free(h);
        let mut h = null_mut();
        expect(
            seatbook_app_cancel_booking(w.app, id.as_ptr(), &raw mut h),
            SEATBOOK_ENTITY_ARCHIVED,
        );
        assert!(last_error().contains("EVENT_001"), "{}", last_error());
        expect(
            seatbook_admin_cancel_booking(w.admin, id.as_ptr(), &raw mut h),
            SEATBOOK_ENTITY_ARCHIVED,
        );
        assert!(h.is_null());
    }
    // No seats for it, and its seat ids stay taken.
    expect(
        add_seats(&w, EVENT, &[c"EVENT_001-NEW"], 1000),
        SEATBOOK_ENTITY_ARCHIVED,
    );
    expect(
        add_seats(&w, c"LATER", &[c"EVENT_001-A3"], 1000),
        SEATBOOK_SEAT_ALREADY_EXISTS,
    );
    assert_audit_clean(&w);
}

/// The purge through the C ABI (its rules are tests/retention.rs): an age
/// below the longest hold is refused and changes nothing; a purge of a
/// young history removes nothing and reports it.
#[test]
fn a_purge_checks_its_age_and_reports_what_it_removed() {
    let w = World::new();
    let (status, res) = reserve(&w, &[SEAT_A1]);
    expect(status, SEATBOOK_OK);
    // SAFETY: a live handle, freed once.
    unsafe { seatbook_reservation_free(res) };
    let mut report = seatbook_purge_report {
        reservations: 7,
        failed_attempts: 7,
    };
    // SAFETY: valid handles and out-parameters; NULL ones are refused.
    unsafe {
        expect(
            seatbook_admin_purge_history(w.admin, 1_000, &raw mut report),
            SEATBOOK_INVALID_INPUT,
        );
        assert!(last_error().contains("older_than"), "{}", last_error());
        expect(
            seatbook_admin_purge_history(w.admin, 86_400_000, null_mut()),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_admin_purge_history(null(), 86_400_000, &raw mut report),
            SEATBOOK_NULL_PARAMETER,
        );
        expect(
            seatbook_admin_purge_history(w.admin, 86_400_000, &raw mut report),
            SEATBOOK_OK,
        );
    }
    assert_eq!((report.reservations, report.failed_attempts), (0, 0));
    assert_eq!(counts(&w, EVENT), (0, 1, 0), "the live hold stays");
}
