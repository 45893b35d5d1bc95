//! Payment verification through the C ABI, called directly from Rust: the
//! verifier is an explicit choice (a NULL callback is refused unless the
//! config picks the simulation by name), only `SEATBOOK_PAYMENT_APPROVE`
//! approves, a panic unwinding out of an `extern "C-unwind"` callback is a
//! decline, and the callback sees the reservation it must check.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;

use seatbook::ffi::seatbook_status::{
    SEATBOOK_INVALID_CONFIG, SEATBOOK_OK, SEATBOOK_PAYMENT_DECLINED,
};
use seatbook::ffi::*;

use seatbook_testkit::ffi::{World, admin_hash, bare_config, expect, last_error};

fn open_status(adjust: impl FnOnce(&mut seatbook_config)) -> (seatbook_status, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("db.redb").to_str().unwrap()).unwrap();
    let hash = admin_hash();
    let mut cfg = bare_config(&hash);
    adjust(&mut cfg);
    let mut engine = null_mut();
    // SAFETY: valid arguments.
    let status = unsafe { seatbook_engine_open(path.as_ptr(), &cfg, &raw mut engine) };
    let message = last_error();
    if status == SEATBOOK_OK {
        // SAFETY: the engine just opened.
        unsafe { seatbook_engine_close(engine) };
    } else {
        assert!(engine.is_null(), "no engine on failure");
    }
    (status, message)
}

unsafe extern "C-unwind" fn approve(
    _: *mut c_void,
    _: *const seatbook_payment_request,
    _: *mut c_char,
    _: usize,
) -> u32 {
    seatbook_payment_decision::SEATBOOK_PAYMENT_APPROVE as u32
}

#[test]
fn a_null_callback_is_refused_unless_the_simulation_is_named() {
    let (status, message) = open_status(|_| {});
    assert_eq!(status, SEATBOOK_INVALID_CONFIG);
    assert!(
        message.contains("no payment verifier") && message.contains("use_simulated_payments"),
        "{message}"
    );

    let (status, message) = open_status(|c| {
        c.payment_callback = Some(approve);
        c.use_simulated_payments = true;
    });
    assert_eq!(status, SEATBOOK_INVALID_CONFIG);
    assert!(message.contains("pick one"), "{message}");

    assert_eq!(
        open_status(|c| c.payment_callback = Some(approve)).0,
        SEATBOOK_OK
    );

    // The simulation, picked by name, approves and declines by payment id.
    let w = World::open(|c| c.use_simulated_payments = true);
    assert_eq!(
        w.reserve_and_confirm(c"fail-1").0,
        SEATBOOK_PAYMENT_DECLINED
    );
    assert_eq!(w.reserve_and_confirm(c"pay-1").0, SEATBOOK_OK);
}

/// Returns the `u32` that userdata points to.
unsafe extern "C-unwind" fn answer_from_userdata(
    userdata: *mut c_void,
    _: *const seatbook_payment_request,
    _: *mut c_char,
    _: usize,
) -> u32 {
    // SAFETY: the tests pass a pointer to a live u32.
    unsafe { *userdata.cast::<u32>() }
}

#[test]
fn only_the_approve_value_approves() {
    assert_eq!(
        seatbook_payment_decision::SEATBOOK_PAYMENT_DECLINE as u32,
        0,
        "a zeroed answer declines"
    );
    for (answer, approved) in [
        (0, false),
        (
            seatbook_payment_decision::SEATBOOK_PAYMENT_DECLINE as u32,
            false,
        ),
        (2, false),
        (u32::MAX, false),
        (
            seatbook_payment_decision::SEATBOOK_PAYMENT_APPROVE as u32,
            true,
        ),
    ] {
        let mut value: u32 = answer;
        let userdata = (&raw mut value).cast::<c_void>();
        let w = World::open(|c| {
            c.payment_callback = Some(answer_from_userdata);
            c.payment_userdata = userdata;
        });
        let (status, _) = w.reserve_and_confirm(c"pay-1");
        let want = if approved {
            SEATBOOK_OK
        } else {
            SEATBOOK_PAYMENT_DECLINED
        };
        assert_eq!(status, want, "answer {answer}: {}", last_error());
    }
}

unsafe extern "C-unwind" fn panics(
    _: *mut c_void,
    _: *const seatbook_payment_request,
    _: *mut c_char,
    _: usize,
) -> u32 {
    panic!("the payment provider's client panicked");
}

#[test]
fn a_panicking_callback_declines_and_the_engine_stays_usable() {
    let w = World::open(|c| c.payment_callback = Some(panics));
    let (status, _) = w.reserve_and_confirm(c"pay-1");
    assert_eq!(status, SEATBOOK_PAYMENT_DECLINED);
    assert!(
        last_error().contains("the payment callback failed"),
        "{}",
        last_error()
    );
    // The seat was released: it can be held again, and declined again.
    let (status, _) = w.reserve_and_confirm(c"pay-2");
    assert_eq!(status, SEATBOOK_PAYMENT_DECLINED);
    let s = w.stats();
    assert_eq!((s.confirms, s.payment_failures), (0, 2));
    let mut audit = seatbook_audit::default();
    // SAFETY: valid handle and out-parameter.
    expect(
        unsafe { seatbook_engine_audit(w.engine, &raw mut audit) },
        SEATBOOK_OK,
    );
    assert!(audit.clean);
}

/// What the recording callback saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    app_id: String,
    user_id: String,
    reservation_id: u64,
    payment_id: String,
    amount_minor: u64,
    currency: String,
}

unsafe extern "C-unwind" fn record(
    userdata: *mut c_void,
    request: *const seatbook_payment_request,
    _: *mut c_char,
    _: usize,
) -> u32 {
    // SAFETY: the tests pass a live Mutex<Vec<Seen>>; the request and its
    // strings are valid for the call.
    unsafe {
        let seen = &*userdata.cast::<Mutex<Vec<Seen>>>();
        let r = &*request;
        let s = |p: *const c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
        seen.lock().unwrap().push(Seen {
            app_id: s(r.app_id),
            user_id: s(r.user_id),
            reservation_id: r.reservation_id,
            payment_id: s(r.payment_id),
            amount_minor: r.amount_minor,
            currency: s(r.currency),
        });
    }
    seatbook_payment_decision::SEATBOOK_PAYMENT_APPROVE as u32
}

#[test]
fn the_callback_sees_the_reservation_it_must_check() {
    let seen = Mutex::new(Vec::<Seen>::new());
    let userdata = (&raw const seen).cast_mut().cast::<c_void>();
    let w = World::open(|c| {
        c.payment_callback = Some(record);
        c.payment_userdata = userdata;
    });
    let (status, reservation_id) = w.reserve_and_confirm(c"pi_123");
    assert_eq!(status, SEATBOOK_OK);
    let mut view = seatbook_user_view::default();
    // SAFETY: valid handle and out-parameter; the view borrows the handle.
    expect(
        unsafe { seatbook_user_get(w.user, &raw mut view) },
        SEATBOOK_OK,
    );
    // SAFETY: valid while the user handle lives.
    let user_id = unsafe { CStr::from_ptr(view.user_id) }
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Seen {
            app_id: "event-app".into(),
            user_id,
            reservation_id,
            payment_id: "pi_123".into(),
            amount_minor: 5000,
            currency: "EUR".into(),
        }]
    );
}

/// `hold_confirm_deadline_ms` reaches the engine: 0 is the default, a
/// value within 1 ms..=1 h opens, one past an hour is refused.
#[test]
fn the_confirm_deadline_is_set_from_the_c_config() {
    let simulated = |c: &mut seatbook_config| c.use_simulated_payments = true;
    assert_eq!(open_status(simulated).0, SEATBOOK_OK);
    assert_eq!(
        open_status(|c| {
            simulated(c);
            c.hold_confirm_deadline_ms = 30_000;
        })
        .0,
        SEATBOOK_OK
    );
    let (status, message) = open_status(|c| {
        simulated(c);
        c.hold_confirm_deadline_ms = 2 * 3_600_000;
    });
    assert_eq!(status, SEATBOOK_INVALID_CONFIG);
    assert!(message.contains("confirm_deadline"), "{message}");
}
