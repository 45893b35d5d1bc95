//! The fuzz targets' bodies, shared by the cargo-fuzz binaries
//! (`fuzz/fuzz_targets/*.rs`, which depend on this kit by path) and by
//! `tests/fuzz_regressions.rs`, which replays the kept crash inputs and a
//! seeded random corpus in CI.
//!
//! Every target feeds untrusted bytes to a public entry point of one
//! long-lived engine and checks, beyond "no panic", a property that a bug
//! would break: a forged or mutated token never authenticates as anyone
//! else, a reservation token never works for another user or app, accepted
//! ids/emails/origins are well-formed and round-trip, and no C ABI call
//! ever reports a caught panic.

use std::ffi::{CString, c_char};
use std::ptr;
use std::sync::{Arc, OnceLock};

use seatbook::ffi::{self, seatbook_status};
use seatbook::{
    AppContext, Config, Durability, Engine, ManualClock, NewSeat, UserSession, normalize_origin,
};

use crate::fixtures::{
    ADMIN_EMAIL, ADMIN_PASSWORD, EVENT_ORIGIN as ORIGIN, USER_PASSWORD as PASSWORD, admin,
    base_config, create_app,
};

fn config() -> Config {
    let mut c = base_config(Arc::new(ManualClock::default()), Durability::None);
    c.holds.min_ttl = std::time::Duration::from_millis(10);
    c
}

fn seat(id: &str) -> NewSeat {
    crate::fixtures::seat(id, 500)
}

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    app: AppContext,
    bus: AppContext,
    fuzz_app: AppContext,
    app_key: String,
    alice: UserSession,
    bob: UserSession,
    alice_token: String,
    admin_token: String,
    res_id: u64,
    res_token: String,
    res_total: u64,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path().join("fuzz.redb"), config()).expect("open");
        let admin_token = engine
            .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .expect("admin login")
            .expose()
            .to_owned();
        let admin = engine.admin(&admin_token).expect("admin");
        let mut keys = Vec::new();
        for id in ["event-app", "bus-app", "fuzz-app"] {
            let created = create_app(&admin, id, ORIGIN);
            admin
                .create_seats(id, "E1", &[seat("S0"), seat("S1"), seat("S2")])
                .expect("seats");
            keys.push(created.api_key.expose().to_owned());
        }
        let ctx = |i: usize, id: &str| engine.app(id, &keys[i], ORIGIN).expect("ctx");
        let (app, bus, fuzz_app) = (ctx(0, "event-app"), ctx(1, "bus-app"), ctx(2, "fuzz-app"));
        let alice_token = app
            .signup("alice@fuzz.test", PASSWORD)
            .expect("signup")
            .expose()
            .to_owned();
        let alice = app.user(&alice_token).expect("alice");
        let bob = app
            .user(app.signup("bob@fuzz.test", PASSWORD).expect("bob").expose())
            .expect("bob");
        let r = app
            .reserve(
                &alice,
                &["S0", "S1"],
                Some(std::time::Duration::from_secs(900)),
            )
            .expect("reserve");
        World {
            _dir: dir,
            app_key: keys[0].clone(),
            res_id: r.info.reservation_id,
            res_token: r.token.expose().to_owned(),
            res_total: r.info.total_minor,
            engine,
            app,
            bus,
            fuzz_app,
            alice,
            bob,
            alice_token,
            admin_token,
        }
    })
}

/// A candidate token from fuzz bytes: raw bytes (mode 0), or the genuine
/// token mutated byte-wise (1), cut and extended (2), or with one of its
/// dot-separated parts replaced (3). Returns whether it is raw.
fn candidate(data: &[u8], genuine: &str) -> (String, bool) {
    let Some((&mode, rest)) = data.split_first() else {
        return (String::new(), true);
    };
    let mut bytes = genuine.as_bytes().to_vec();
    match mode % 4 {
        0 => return (String::from_utf8_lossy(rest).into_owned(), true),
        1 => {
            for pair in rest.chunks(2) {
                if let [pos, b] = pair {
                    let i = usize::from(*pos) % bytes.len();
                    bytes[i] = *b;
                }
            }
        }
        2 => {
            let cut = rest
                .first()
                .map_or(0, |&n| usize::from(n) % (bytes.len() + 1));
            bytes.truncate(bytes.len() - cut);
            bytes.extend_from_slice(rest.get(1..).unwrap_or_default());
        }
        _ => {
            let parts: Vec<&[u8]> = genuine.as_bytes().split(|&b| b == b'.').collect();
            let which = rest.first().map_or(0, |&n| usize::from(n) % parts.len());
            let mut out = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if i == which {
                    out.extend_from_slice(rest.get(1..).unwrap_or_default());
                } else {
                    out.extend_from_slice(p);
                }
            }
            bytes = out;
        }
    }
    (String::from_utf8_lossy(&bytes).into_owned(), false)
}

/// JWTs: a token made from fuzz bytes never authenticates as anyone but the
/// subject of the genuine token it was derived from, and never as the
/// admin unless derived from the admin's token.
pub fn jwt(data: &[u8]) {
    let w = world();
    let (token, raw) = candidate(data, &w.alice_token);
    if let Ok(s) = w.app.user(&token) {
        assert!(!raw, "raw bytes authenticated as a user: {token:?}");
        assert_eq!(
            s.user_id(),
            w.alice.user_id(),
            "mutated token changed user: {token:?}"
        );
    }
    assert!(
        w.engine.admin(&token).is_err(),
        "a user-derived token passed as admin: {token:?}"
    );
    let (token, raw) = candidate(data, &w.admin_token);
    if w.engine.admin(&token).is_ok() {
        assert!(!raw, "raw bytes authenticated as the admin: {token:?}");
    }
    assert!(
        w.app.user(&token).is_err(),
        "an admin-derived token passed as user: {token:?}"
    );
}

/// Reservation tokens: never usable by another user or from another app;
/// for the owner, only a token naming the genuine id and secret works.
pub fn reservation_token(data: &[u8]) {
    let w = world();
    let (token, _) = candidate(data, &w.res_token);
    assert!(
        w.app.reservation(&w.bob, &token).is_err(),
        "bob read it: {token:?}"
    );
    assert!(
        w.bus.reservation(&w.alice, &token).is_err(),
        "bus app read it: {token:?}"
    );
    assert!(
        w.app.release(&w.bob, &token).is_err(),
        "bob released it: {token:?}"
    );
    assert!(
        w.app
            .confirm(&w.bob, &token, "pay-fuzz", w.res_total)
            .is_err(),
        "bob confirmed it: {token:?}"
    );
    assert!(
        w.bus
            .confirm(&w.alice, &token, "pay-fuzz", w.res_total)
            .is_err(),
        "bus app confirmed it: {token:?}"
    );
    if let Ok(info) = w.app.reservation(&w.alice, &token) {
        assert_eq!(info.reservation_id, w.res_id);
        let secret = w
            .res_token
            .split_once('.')
            .map(|(_, s)| s)
            .unwrap_or_default();
        assert!(
            token.split_once('.').map(|(_, s)| s) == Some(secret),
            "another secret opened the reservation: {token:?}"
        );
    }
    // A wrong amount never books, whatever the token.
    assert!(
        w.app
            .confirm(&w.alice, &token, "pay-fuzz", w.res_total + 1)
            .is_err()
    );
}

fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .split(|&b| b == 0xFF)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    out.resize(n.max(out.len()), String::new());
    out
}

fn id_like(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Ids, emails, passwords and origins: whatever is accepted is well-formed
/// and round-trips; whatever is refused changes nothing.
pub fn inputs(data: &[u8]) {
    let w = world();
    let f = fields(data, 7);
    // Origins: normalisation is idempotent and yields scheme://host[:port].
    if let Ok(n) = normalize_origin(&f[0]) {
        assert_eq!(
            normalize_origin(&n).as_deref(),
            Ok(n.as_str()),
            "{:?}",
            f[0]
        );
        let rest = n
            .strip_prefix("https://")
            .or_else(|| n.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("bad scheme in {n:?}"));
        assert!(
            !rest.is_empty() && !rest.contains(['/', '?', '#', '@', '\\']),
            "{n:?}"
        );
    }
    let opened = w.engine.app("event-app", &w.app_key, &f[0]).is_ok();
    assert_eq!(
        opened,
        normalize_origin(&f[0]).as_deref() == Ok(ORIGIN),
        "origin {:?}",
        f[0]
    );
    assert!(
        w.engine.app(&f[1], &w.app_key, ORIGIN).is_err() || f[1] == "event-app",
        "app id {:?} opened with event-app's key",
        f[1]
    );
    // Emails and passwords: a signup that works can log in.
    if w.fuzz_app.signup(&f[1], &f[2]).is_ok() {
        assert!(w.fuzz_app.login(&f[1], &f[2]).is_ok(), "{:?}", f[1]);
        assert!(w.fuzz_app.login(&f[1].to_ascii_uppercase(), &f[2]).is_ok());
    }
    if w.engine.admin_login(&f[1], &f[2]).is_ok() {
        assert!(f[1].trim().eq_ignore_ascii_case(ADMIN_EMAIL) && f[2] == ADMIN_PASSWORD);
    }
    // Ids: only the documented charset is accepted, and a created seat is
    // listed and reservable.
    let admin = w.engine.admin(&w.admin_token).expect("admin");
    if admin
        .create_seats("fuzz-app", &f[3], &[seat(&f[4])])
        .is_ok()
    {
        assert!(id_like(&f[3]) && id_like(&f[4]), "{:?} {:?}", f[3], f[4]);
        let listed = w
            .fuzz_app
            .list_seats(&f[3], seatbook::SeatFilter::All)
            .expect("list");
        assert!(listed.iter().any(|s| s.seat_id == f[4]));
    }
    let _ = w
        .fuzz_app
        .list_seats(&f[3], seatbook::SeatFilter::AvailableOnly);
    if let Ok(r) = w
        .fuzz_app
        .reserve(&w.alice, &[f[4].as_str(), f[5].as_str()], None)
    {
        assert!(id_like(&f[4]) && id_like(&f[5]));
        let _ = w.fuzz_app.release(&w.alice, r.token.expose());
    }
    assert!(w.fuzz_app.booking(&f[6]).is_err());
    assert!(w.fuzz_app.cancel_booking(&f[6]).is_err());
    assert!(admin.cancel_booking(&f[6]).is_err());
    let _ = admin.get_app(&f[6]);
}

/// C ABI handles opened once, on a database prepared through the Rust API.
struct CWorld {
    engine: *mut ffi::seatbook_engine,
    app: *mut ffi::seatbook_app,
    user: *mut ffi::seatbook_user,
    res_token: CString,
    _dir: tempfile::TempDir,
}

// SAFETY: the handles are documented as usable from any thread; the fuzz
// loop and the regression test use them from one thread at a time.
unsafe impl Send for CWorld {}
// SAFETY: as above.
unsafe impl Sync for CWorld {}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn c_world() -> &'static CWorld {
    static C: OnceLock<CWorld> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.redb");
        let key = {
            let engine = Engine::open(&path, config()).expect("open");
            let admin = admin(&engine);
            let created = create_app(&admin, "event-app", ORIGIN);
            admin
                .create_seats("event-app", "E1", &[seat("S0"), seat("S1"), seat("S2")])
                .expect("seats");
            let app = engine
                .app("event-app", created.api_key.expose(), ORIGIN)
                .expect("ctx");
            app.signup("carol@fuzz.test", PASSWORD).expect("signup");
            created.api_key.expose().to_owned()
        };
        // The C world's config (its own admin and secrets: the prepared
        // database binds neither), with the simulated payments.
        let hash = crate::ffi::admin_hash();
        let mut cfg = crate::ffi::fast_config(&hash);
        cfg.hold_min_ttl_ms = 10;
        cfg.use_simulated_payments = true;
        let cpath = cstr(path.to_str().expect("utf-8 path"));
        let mut engine = ptr::null_mut();
        let mut app = ptr::null_mut();
        let mut token: *mut c_char = ptr::null_mut();
        let mut user = ptr::null_mut();
        let mut res = ptr::null_mut();
        // SAFETY: valid C strings and out pointers, as the header requires.
        unsafe {
            ok(ffi::seatbook_engine_open(cpath.as_ptr(), &cfg, &mut engine));
            ok(ffi::seatbook_engine_app(
                engine,
                cstr("event-app").as_ptr(),
                cstr(&key).as_ptr(),
                cstr(ORIGIN).as_ptr(),
                &mut app,
            ));
            ok(ffi::seatbook_app_login(
                app,
                cstr("carol@fuzz.test").as_ptr(),
                cstr(PASSWORD).as_ptr(),
                &mut token,
            ));
            ok(ffi::seatbook_app_user(app, token, &mut user));
            ffi::seatbook_string_free(token);
            let seats = [cstr("S0")];
            let seat_ptrs = [seats[0].as_ptr()];
            ok(ffi::seatbook_app_reserve(
                app,
                user,
                seat_ptrs.as_ptr(),
                1,
                900_000,
                &mut res,
            ));
        }
        // The reservation's token, read back through the C ABI.
        // SAFETY: `res` is a live reservation handle.
        let res_token = unsafe {
            let mut view = ffi::seatbook_reservation_view::default();
            ok(ffi::seatbook_reservation_get(res, &mut view));
            let t = std::ffi::CStr::from_ptr(view.token).to_owned();
            ffi::seatbook_reservation_free(res);
            t
        };
        CWorld {
            engine,
            app,
            user,
            res_token,
            _dir: dir,
        }
    })
}

fn ok(status: seatbook_status) {
    crate::ffi::expect(status, seatbook_status::SEATBOOK_OK);
}

fn not_panic(status: seatbook_status, what: &str) -> bool {
    assert_ne!(status, seatbook_status::SEATBOOK_PANIC, "{what} panicked");
    status == seatbook_status::SEATBOOK_OK
}

/// C ABI entry points with arbitrary bytes: strings that are not UTF-8,
/// overlong, empty or NULL, NULL out-pointers, any counts and numbers.
/// No call may report a caught panic, and what comes out must be freeable.
#[allow(clippy::too_many_lines)]
pub fn c_abi(data: &[u8]) {
    let w = c_world();
    let flags = data.first().copied().unwrap_or(0);
    let number = data
        .iter()
        .skip(1)
        .take(8)
        .fold(0u64, |n, &b| (n << 8) | u64::from(b));
    let raw: Vec<CString> = data
        .get(9..)
        .unwrap_or_default()
        .split(|&b| b == 0xFF)
        .map(|f| {
            let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
            CString::new(&f[..end]).expect("NUL removed")
        })
        .chain(std::iter::repeat_with(CString::default))
        .take(8)
        .collect();
    // A bit of `flags` per field turns it into NULL.
    let s = |i: usize| -> *const c_char {
        if flags & (1 << i) != 0 {
            ptr::null()
        } else {
            raw[i].as_ptr()
        }
    };
    // SAFETY: every pointer is NULL, a live C string or a live handle, and
    // every out pointer is NULL or writable, as the header requires.
    unsafe {
        let mut app = ptr::null_mut();
        if not_panic(
            ffi::seatbook_engine_app(w.engine, s(0), s(1), s(2), &mut app),
            "engine_app",
        ) {
            ffi::seatbook_app_free(app);
        }
        let mut token: *mut c_char = ptr::null_mut();
        if not_panic(
            ffi::seatbook_engine_admin_login(w.engine, s(0), s(1), &mut token),
            "admin_login",
        ) {
            ffi::seatbook_string_free(token);
        }
        if not_panic(
            ffi::seatbook_app_login(w.app, s(3), s(4), &mut token),
            "login",
        ) {
            ffi::seatbook_string_free(token);
        }
        not_panic(
            ffi::seatbook_app_login(w.app, s(3), s(4), ptr::null_mut()),
            "login, NULL out",
        );
        let mut user = ptr::null_mut();
        if not_panic(ffi::seatbook_app_user(w.app, s(5), &mut user), "user") {
            ffi::seatbook_user_free(user);
        }
        let ids = [s(6), s(7), s(5)];
        let count = usize::from(flags >> 6); // 0..=3
        let mut res = ptr::null_mut();
        if not_panic(
            ffi::seatbook_app_reserve(
                w.app,
                w.user,
                ids.as_ptr(),
                count,
                number % 1_000_000,
                &mut res,
            ),
            "reserve",
        ) {
            ffi::seatbook_reservation_free(res);
        }
        if not_panic(
            ffi::seatbook_app_reservation(w.app, w.user, s(6), &mut res),
            "reservation",
        ) {
            ffi::seatbook_reservation_free(res);
        }
        // The real token with a fuzzed payment id and amount: a wrong
        // amount must never book.
        let mut booking = ptr::null_mut();
        let booked = not_panic(
            ffi::seatbook_app_confirm(
                w.app,
                w.user,
                w.res_token.as_ptr(),
                s(7),
                number | 1 << 63,
                &mut booking,
            ),
            "confirm",
        );
        assert!(!booked, "a wrong amount booked");
        if not_panic(
            ffi::seatbook_app_confirm(w.app, w.user, s(6), s(7), number, &mut booking),
            "confirm fuzzed",
        ) {
            ffi::seatbook_booking_free(booking);
        }
        if not_panic(
            ffi::seatbook_app_booking(w.app, s(7), &mut booking),
            "booking",
        ) {
            ffi::seatbook_booking_free(booking);
        }
        not_panic(ffi::seatbook_app_release(w.app, w.user, s(6)), "release");
        let mut hash: *mut c_char = ptr::null_mut();
        let params = crate::ffi::fast();
        if flags & 1 == 0
            && not_panic(
                ffi::seatbook_hash_password(s(4), &params, &mut hash),
                "hash_password",
            )
        {
            ffi::seatbook_string_free(hash);
        }
        assert!(!ffi::seatbook_status_name(number as u32).is_null());
    }
}
