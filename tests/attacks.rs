//! Attack suite: one test (or more) per security rule 1–6 of docs/design.md, each
//! written as the attacker would try it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use seatbook::{
    AppAuthError, AppContext, AppUpdate, Argon2Params, AuthError, CancelError, Config,
    ConfirmError, Durability, Engine, ErrorCode, HasErrorCode, HoldError, LoginError, ManualClock,
    NewApp, NewSeat, OpenError, QueryError, ReserveError, SeatAttributes, SeatFilter, UserSession,
    hash_password,
};
use seatbook_testkit::fixtures::{
    ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_SECRET, BUS_ORIGIN, EVENT_ORIGIN, T0, USER_PASSWORD,
    USER_SECRET, admin, seat,
};
use seatbook_testkit::invariants::assert_audit_clean;
use seatbook_testkit::reliability::{app_with_seats, config};
use seatbook_testkit::rng::Rng;

struct World {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    engine: Engine,
    event: AppContext,
    bus: AppContext,
    event_key: String,
    bus_key: String,
    alice: UserSession,
    bob: UserSession,
    alice_token: String,
}

/// Two apps (`event-app`, `bus-app`) with their own seats, two users.
fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let engine = Engine::open(
        dir.path().join("attacks.redb"),
        config(&clock, Durability::None),
    )
    .expect("open");
    let admin = admin(&engine);
    let event_key = app_with_seats(&admin, "event-app", EVENT_ORIGIN, 4)
        .api_key
        .expose()
        .to_owned();
    let bus = admin
        .create_app(&NewApp {
            app_id: "bus-app",
            name: "Bus",
            allowed_origins: &[BUS_ORIGIN],
        })
        .expect("bus app");
    admin
        .create_seats(
            "bus-app",
            "BUS_7",
            &[seat("BUS_7-1", 900), seat("BUS_7-2", 900)],
        )
        .expect("bus seats");
    let bus_key = bus.api_key.expose().to_owned();
    let event = engine
        .app("event-app", &event_key, EVENT_ORIGIN)
        .expect("event ctx");
    let bus = engine
        .app("bus-app", &bus_key, BUS_ORIGIN)
        .expect("bus ctx");
    let alice_token = event
        .signup("alice@attack.test", USER_PASSWORD)
        .expect("alice")
        .expose()
        .to_owned();
    let alice = event.user(&alice_token).expect("alice session");
    let bob = event
        .user(
            event
                .signup("bob@attack.test", USER_PASSWORD)
                .expect("bob")
                .expose(),
        )
        .expect("bob session");
    World {
        _dir: dir,
        clock,
        engine,
        event,
        bus,
        event_key,
        bus_key,
        alice,
        bob,
        alice_token,
    }
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn claims(sub: &str, typ: &str, exp_s: u64) -> serde_json::Value {
    serde_json::json!({ "sub": sub, "typ": typ, "iat": T0 / 1000, "exp": exp_s })
}

fn sign(alg: Algorithm, secret: &str, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn raw_token(header: &str, claims: &serde_json::Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn later_s(w: &World) -> u64 {
    w.engine.now() / 1000 + 3600
}

fn assert_user_refused(w: &World, token: &str, what: &str) {
    assert_eq!(w.event.user(token), Err(AuthError::InvalidToken), "{what}");
}

fn assert_admin_refused(w: &World, token: &str, what: &str) {
    assert!(
        matches!(w.engine.admin(token), Err(AuthError::InvalidToken)),
        "{what}"
    );
}

// --- JWT ------------------------------------------------------------------

#[test]
fn alg_none_tokens_are_refused() {
    let w = world();
    let sub = w.alice.user_id().to_string();
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None","typ":"JWT"}"#,
        r#"{"alg":"NONE"}"#,
        r#"{"typ":"JWT"}"#,
    ] {
        for sig in ["", "x"] {
            let user = raw_token(header, &claims(&sub, "user", later_s(&w)), sig);
            assert_user_refused(&w, &user, header);
            let admin = raw_token(header, &claims(ADMIN_EMAIL, "admin", later_s(&w)), sig);
            assert_admin_refused(&w, &admin, header);
        }
    }
}

#[test]
fn other_algorithms_are_refused_even_with_the_right_secret() {
    let w = world();
    let sub = w.alice.user_id().to_string();
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let t = sign(alg, USER_SECRET, &claims(&sub, "user", later_s(&w)));
        assert_user_refused(&w, &t, &format!("{alg:?}"));
        let t = sign(
            alg,
            ADMIN_SECRET,
            &claims(ADMIN_EMAIL, "admin", later_s(&w)),
        );
        assert_admin_refused(&w, &t, &format!("{alg:?}"));
    }
    // Public-key algorithms (the classic RS256/HS256 key confusion): a
    // header naming them, "signed" with the HMAC secret.
    let good = sign(
        Algorithm::HS256,
        USER_SECRET,
        &claims(&sub, "user", later_s(&w)),
    );
    let sig = good.rsplit('.').next().expect("signature");
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 "] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let t = raw_token(&header, &claims(&sub, "user", later_s(&w)), sig);
        assert_user_refused(&w, &t, alg);
    }
    // Sanity: the same claims, honestly signed, pass.
    assert_eq!(
        w.event.user(&good).map(|s| s.user_id()),
        Ok(w.alice.user_id())
    );
}

#[test]
fn admin_token_is_never_a_user_token_and_the_reverse() {
    let w = world();
    let admin_token = w
        .engine
        .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .expect("admin login");
    assert_user_refused(&w, admin_token.expose(), "admin token as user token");
    assert_admin_refused(&w, &w.alice_token, "user token as admin token");
    // Right secret, wrong `typ`, and the reverse.
    let sub = w.alice.user_id().to_string();
    let t = sign(
        Algorithm::HS256,
        USER_SECRET,
        &claims(&sub, "admin", later_s(&w)),
    );
    assert_user_refused(&w, &t, "user secret, typ admin");
    assert_admin_refused(&w, &t, "user secret, typ admin");
    let t = sign(
        Algorithm::HS256,
        ADMIN_SECRET,
        &claims(ADMIN_EMAIL, "user", later_s(&w)),
    );
    assert_admin_refused(&w, &t, "admin secret, typ user");
    // No `typ` at all.
    let t = sign(
        Algorithm::HS256,
        USER_SECRET,
        &serde_json::json!({"sub": sub, "exp": later_s(&w)}),
    );
    assert_user_refused(&w, &t, "no typ");
}

#[test]
fn a_token_signed_with_the_other_secret_is_refused() {
    let w = world();
    let sub = w.alice.user_id().to_string();
    let t = sign(
        Algorithm::HS256,
        ADMIN_SECRET,
        &claims(&sub, "user", later_s(&w)),
    );
    assert_user_refused(&w, &t, "user token signed with the admin secret");
    let t = sign(
        Algorithm::HS256,
        USER_SECRET,
        &claims(ADMIN_EMAIL, "admin", later_s(&w)),
    );
    assert_admin_refused(&w, &t, "admin token signed with the user secret");
    let t = sign(
        Algorithm::HS256,
        "some-other-secret-of-at-least-32-bytes!!",
        &claims(&sub, "user", later_s(&w)),
    );
    assert_user_refused(&w, &t, "unknown secret");
}

#[test]
fn expired_tokens_and_sessions_are_refused() {
    let w = world();
    let admin_token = w
        .engine
        .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .expect("admin login");
    let admin = w.engine.admin(admin_token.expose()).expect("admin");
    // Exactly at `exp` a token is dead (exp <= now).
    let sub = w.alice.user_id().to_string();
    let now_s = w.engine.now() / 1000;
    let t = sign(Algorithm::HS256, USER_SECRET, &claims(&sub, "user", now_s));
    assert_eq!(w.event.user(&t), Err(AuthError::TokenExpired));
    let t = sign(
        Algorithm::HS256,
        USER_SECRET,
        &claims(&sub, "user", now_s - 1),
    );
    assert_eq!(w.event.user(&t), Err(AuthError::TokenExpired));
    // No `exp` at all is not "never expires".
    let t = sign(
        Algorithm::HS256,
        USER_SECRET,
        &serde_json::json!({"sub": sub, "typ": "user"}),
    );
    assert_user_refused(&w, &t, "no exp");
    // Issued tokens die with time: admin after 24 h, user after 7 days, and
    // sessions verified earlier stop working too.
    w.clock.advance(Duration::from_secs(24 * 3600));
    assert!(matches!(
        w.engine.admin(admin_token.expose()),
        Err(AuthError::TokenExpired)
    ));
    assert!(matches!(
        admin.list_apps(),
        Err(seatbook::AdminError::Auth(AuthError::TokenExpired))
    ));
    w.clock.advance(Duration::from_secs(6 * 24 * 3600));
    assert_eq!(w.event.user(&w.alice_token), Err(AuthError::TokenExpired));
    let got = w.event.reserve(&w.alice, &["S0"], None);
    assert!(
        matches!(got, Err(ReserveError::Auth(AuthError::TokenExpired))),
        "{got:?}"
    );
}

#[test]
fn tampered_tokens_are_refused() {
    let w = world();
    let parts: Vec<&str> = w.alice_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    // Payload swapped for Bob (or a longer life), signature kept.
    for payload in [
        claims(&w.bob.user_id().to_string(), "user", later_s(&w)),
        claims(
            &w.alice.user_id().to_string(),
            "user",
            later_s(&w) + 10_000_000,
        ),
    ] {
        let t = format!(
            "{}.{}.{}",
            parts[0],
            b64(payload.to_string().as_bytes()),
            parts[2]
        );
        assert_user_refused(&w, &t, "payload swapped");
    }
    // Every single-character change of the signature.
    let sig: Vec<char> = parts[2].chars().collect();
    for i in 0..sig.len() {
        let mut s = sig.clone();
        s[i] = if s[i] == 'A' { 'B' } else { 'A' };
        let t = format!("{}.{}.{}", parts[0], parts[1], s.iter().collect::<String>());
        assert_user_refused(&w, &t, &format!("signature char {i}"));
    }
    // Truncated, extended, re-segmented.
    let tok = &w.alice_token;
    for t in [
        tok[..tok.len() - 1].to_owned(),
        format!("{tok}A"),
        format!("{tok}."),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}..{}", parts[0], parts[2]),
        format!(".{tok}"),
        tok.replace('.', ".."),
        format!(" {tok}"),
    ] {
        assert_user_refused(&w, &t, &t);
    }
    assert_eq!(
        w.event.user(tok).map(|s| s.user_id()),
        Ok(w.alice.user_id()),
        "the untouched token still works"
    );
}

#[test]
fn weak_or_identical_secrets_are_refused_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let open_with = |admin_secret: &str, user_secret: &str| {
        let mut c = config(&clock, Durability::None);
        c.admin_jwt_secret = admin_secret.into();
        c.user_jwt_secret = user_secret.into();
        Engine::open(dir.path().join("weak.redb"), c)
    };
    let s31 = "x".repeat(31);
    let s32a = "a".repeat(32);
    let s32b = "b".repeat(32);
    for (a, u) in [
        ("", USER_SECRET),
        (ADMIN_SECRET, ""),
        (s31.as_str(), USER_SECRET),
        (ADMIN_SECRET, s31.as_str()),
        (ADMIN_SECRET, ADMIN_SECRET),
        (s32a.as_str(), s32a.as_str()),
    ] {
        let got = open_with(a, u);
        assert!(
            matches!(got, Err(OpenError::WeakSecret(_))),
            "secrets of {} and {} bytes accepted: {got:?}",
            a.len(),
            u.len()
        );
        assert_eq!(got.err().map(|e| e.code()), Some(ErrorCode::InvalidConfig));
    }
    // The boundary: exactly 32 distinct bytes each is fine.
    assert!(open_with(&s32a, &s32b).is_ok());
    // A bad admin hash is refused too (the admin could never log in).
    let mut c = config(&clock, Durability::None);
    c.admin_password_hash = "plaintext-password".into();
    assert!(matches!(
        Engine::open(dir.path().join("hash.redb"), c),
        Err(OpenError::InvalidConfig(_))
    ));
}

// --- Cross-tenant -----------------------------------------------------------

#[test]
fn one_apps_key_never_opens_another_app() {
    let w = world();
    let cases = [
        ("bus-app", w.event_key.as_str(), BUS_ORIGIN),
        ("event-app", w.bus_key.as_str(), EVENT_ORIGIN),
        ("no-such-app", w.event_key.as_str(), EVENT_ORIGIN),
        ("event-app", "sbk_guessed", EVENT_ORIGIN),
        ("event-app", "", EVENT_ORIGIN),
    ];
    for (app, key, origin) in cases {
        let got = w.engine.app(app, key, origin);
        assert!(
            matches!(got, Err(AppAuthError::InvalidCredentials)),
            "{app} opened: {got:?}"
        );
    }
    // Right key, other app's origin.
    assert!(matches!(
        w.engine.app("event-app", &w.event_key, BUS_ORIGIN),
        Err(AppAuthError::OriginNotAllowed)
    ));
}

#[test]
fn reservation_tokens_work_only_for_their_user_in_their_app() {
    let w = world();
    let r = w
        .event
        .reserve(&w.alice, &["S0", "S1"], None)
        .expect("reserve");
    let token = r.token.expose();
    let total = r.info.total_minor;
    // Another app (the same user: users are shared), and another user.
    for (app, who, what) in [(&w.bus, &w.alice, "bus app"), (&w.event, &w.bob, "bob")] {
        assert!(
            matches!(
                app.reservation(who, token),
                Err(QueryError::ReservationNotFound)
            ),
            "{what}"
        );
        assert!(
            matches!(
                app.extend(who, token, Duration::from_millis(50)),
                Err(HoldError::ReservationNotFound)
            ),
            "{what}"
        );
        assert!(
            matches!(app.release(who, token), Err(HoldError::ReservationNotFound)),
            "{what}"
        );
        assert!(
            matches!(
                app.confirm(who, token, "pay-evil", total),
                Err(ConfirmError::ReservationNotFound)
            ),
            "{what}"
        );
    }
    // Nothing changed: still Alice's active hold, and she can confirm it.
    let info = w.event.reservation(&w.alice, token).expect("still there");
    assert_eq!(info.status, seatbook::ReservationStatus::Active);
    assert_eq!(info.expires_at, r.info.expires_at);
    let b = w
        .event
        .confirm(&w.alice, token, "pay-1", total)
        .expect("confirm");
    assert_eq!(b.user_id, w.alice.user_id());
    assert_audit_clean(&w.engine, "after cross-tenant attempts");
}

#[test]
fn bookings_of_one_app_are_invisible_and_untouchable_from_another() {
    let w = world();
    let r = w.event.reserve(&w.alice, &["S2"], None).expect("reserve");
    let b = w
        .event
        .confirm(&w.alice, r.token.expose(), "pay-2", r.info.total_minor)
        .expect("confirm");
    assert!(matches!(
        w.bus.booking(&b.booking_id),
        Err(QueryError::BookingNotFound)
    ));
    assert!(matches!(
        w.bus.cancel_booking(&b.booking_id),
        Err(CancelError::BookingNotFound)
    ));
    assert!(
        w.bus
            .user_bookings(&w.alice)
            .expect("bus bookings")
            .is_empty()
    );
    // The event app's seats do not exist for the bus app.
    assert!(
        w.bus
            .list_seats("E1", SeatFilter::All)
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        w.bus.reserve(&w.alice, &["S3"], None),
        Err(ReserveError::SeatNotFound(_))
    ));
    let still = w.event.booking(&b.booking_id).expect("booking");
    assert_eq!(still.status, seatbook::BookingStatus::Success);
}

#[test]
fn revoked_app_contexts_stop_at_once() {
    let w = world();
    let admin = admin(&w.engine);
    let ctx = w
        .engine
        .app("event-app", &w.event_key, EVENT_ORIGIN)
        .expect("ctx");
    // Origin removed.
    admin
        .update_app(
            "event-app",
            &AppUpdate {
                name: None,
                allowed_origins: Some(&["https://other.example"]),
            },
        )
        .expect("update");
    assert!(ctx.list_seats("E1", SeatFilter::All).is_err());
    admin
        .update_app(
            "event-app",
            &AppUpdate {
                name: None,
                allowed_origins: Some(&[EVENT_ORIGIN]),
            },
        )
        .expect("update");
    let ctx = w
        .engine
        .app("event-app", &w.event_key, EVENT_ORIGIN)
        .expect("ctx");
    // Deactivated.
    admin
        .set_app_active("event-app", false)
        .expect("deactivate");
    assert!(ctx.reserve(&w.alice, &["S0"], None).is_err());
    assert!(matches!(
        w.engine.app("event-app", &w.event_key, EVENT_ORIGIN),
        Err(AppAuthError::AppInactive)
    ));
    admin.set_app_active("event-app", true).expect("activate");
    let ctx = w
        .engine
        .app("event-app", &w.event_key, EVENT_ORIGIN)
        .expect("ctx");
    // Key rotated: the old key and every context made with it are dead.
    let new_key = admin.rotate_api_key("event-app").expect("rotate");
    assert!(ctx.user(&w.alice_token).is_err());
    assert!(matches!(
        w.engine.app("event-app", &w.event_key, EVENT_ORIGIN),
        Err(AppAuthError::InvalidCredentials)
    ));
    assert!(
        w.engine
            .app("event-app", new_key.expose(), EVENT_ORIGIN)
            .is_ok()
    );
}

#[test]
fn guessed_reservation_tokens_never_work() {
    let w = world();
    let r = w.event.reserve(&w.alice, &["S0"], None).expect("reserve");
    let mine = r.token.expose().to_owned();
    let (prefix, secret) = mine.split_once('.').expect("token shape");
    let mut rng = Rng::new(99);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut guesses: Vec<String> = (0..2_000)
        .map(|_| {
            let s: String = (0..43)
                .map(|_| char::from(ALPHABET[rng.index(64)]))
                .collect();
            format!("{prefix}.{s}")
        })
        .collect();
    // Near misses: one character off, truncated, the id of another hold.
    let mut near = secret.as_bytes().to_vec();
    near[0] = if near[0] == b'A' { b'B' } else { b'A' };
    guesses.push(format!(
        "{prefix}.{}",
        String::from_utf8(near).expect("ascii")
    ));
    guesses.push(format!("{prefix}.{}", &secret[..42]));
    guesses.push(format!("{prefix}.{secret}x"));
    guesses.push(format!("rsv_{}.{secret}", r.info.reservation_id + 1));
    guesses.push(secret.to_owned());
    for g in &guesses {
        assert!(
            matches!(
                w.event.reservation(&w.alice, g),
                Err(QueryError::ReservationNotFound)
            ),
            "guess {g} worked"
        );
    }
    for g in guesses.iter().rev().take(6) {
        assert!(matches!(
            w.event
                .confirm(&w.alice, g, "pay-guess", r.info.total_minor),
            Err(ConfirmError::ReservationNotFound)
        ));
        assert!(matches!(
            w.event.release(&w.alice, g),
            Err(HoldError::ReservationNotFound)
        ));
    }
    assert_eq!(
        w.event.reservation(&w.alice, &mine).map(|i| i.status).ok(),
        Some(seatbook::ReservationStatus::Active)
    );
}

// --- Origins ----------------------------------------------------------------

#[test]
fn origin_look_alikes_do_not_pass() {
    let w = world();
    for origin in [
        "https://event-app.com.evil.io",
        "https://evil-event-app.com",
        "https://event-app.co",
        "https://event-app.com.",
        "https://sub.event-app.com",
        "http://event-app.com",
        "wss://event-app.com",
        "https://event-app.com:8443",
        "https://event-app.com:444",
        "https://event-app.com@evil.io",
        "https://evil.io#https://event-app.com",
        "https://evil.io/https://event-app.com",
        "https://event-app.com/path",
        "https://event-app.com?x=1",
        "https://еvent-app.com", // Cyrillic е
        "https://event-app.com ",
        " https://event-app.com",
        "https://event-app.com\0",
        "null",
        "",
        "event-app.com",
        "//event-app.com",
    ] {
        let got = w.engine.app("event-app", &w.event_key, origin);
        assert!(
            matches!(got, Err(AppAuthError::OriginNotAllowed)),
            "{origin:?} passed: {got:?}"
        );
    }
    // The same origin spelled differently is the same origin.
    for same in [
        "https://event-app.com",
        "HTTPS://EVENT-APP.COM",
        "https://event-app.com:443",
        "https://event-app.com/",
    ] {
        assert!(
            w.engine.app("event-app", &w.event_key, same).is_ok(),
            "{same}"
        );
    }
}

// --- Login enumeration ---------------------------------------------------------

#[test]
fn login_gives_one_error_for_unknown_email_and_wrong_password() {
    let w = world();
    let unknown = w.event.login("nobody@attack.test", USER_PASSWORD).err();
    let wrong = w.event.login("alice@attack.test", "wrong-password!").err();
    let short = w.event.login("alice@attack.test", "short").err();
    for e in [&unknown, &wrong, &short] {
        assert!(matches!(e, Some(LoginError::InvalidCredentials)), "{e:?}");
    }
    assert_eq!(format!("{unknown:?}"), format!("{wrong:?}"));
    let a = w
        .engine
        .admin_login("nobody@attack.test", ADMIN_PASSWORD)
        .err();
    let b = w.engine.admin_login(ADMIN_EMAIL, "wrong-password!").err();
    assert!(matches!(a, Some(LoginError::InvalidCredentials)));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn login_timing_does_not_reveal_whether_an_email_exists() {
    // Lowered argon2 (the OWASP minimum is too slow for a debug test), but
    // not the minimum: the hash must dominate the cost of a login.
    let params = Argon2Params {
        memory_kib: 1024,
        iterations: 2,
        parallelism: 1,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let mut c = config(&clock, Durability::None);
    c.argon2 = params;
    c.admin_password_hash = hash_password(ADMIN_PASSWORD, &params).expect("hash").into();
    let engine = Engine::open(dir.path().join("timing.redb"), c).expect("open");
    let key = app_with_seats(&admin(&engine), "event-app", EVENT_ORIGIN, 1)
        .api_key
        .expose()
        .to_owned();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).expect("app");
    for i in 0..20 {
        app.signup(&format!("user{i}@timing.test"), USER_PASSWORD)
            .expect("signup");
    }
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    let mut admin_unknown = Vec::new();
    let mut admin_wrong = Vec::new();
    for i in 0..30 {
        // Interleaved, so drift in machine load hits both sides alike.
        let t = Instant::now();
        assert!(
            app.login(&format!("ghost{i}@timing.test"), USER_PASSWORD)
                .is_err()
        );
        unknown.push(t.elapsed());
        let t = Instant::now();
        assert!(
            app.login(&format!("user{}@timing.test", i % 20), "wrong-password")
                .is_err()
        );
        wrong.push(t.elapsed());
        if i % 3 == 0 {
            let t = Instant::now();
            assert!(
                engine
                    .admin_login("ghost@timing.test", ADMIN_PASSWORD)
                    .is_err()
            );
            admin_unknown.push(t.elapsed());
            let t = Instant::now();
            assert!(engine.admin_login(ADMIN_EMAIL, "wrong-password").is_err());
            admin_wrong.push(t.elapsed());
        }
    }
    for (what, a, b) in [
        ("user", unknown, wrong),
        ("admin", admin_unknown, admin_wrong),
    ] {
        let (a, b) = (median(a), median(b));
        let ratio = a.as_secs_f64() / b.as_secs_f64();
        println!("{what} login: unknown email {a:?}, wrong password {b:?}, ratio {ratio:.2}");
        assert!(
            (0.5..=2.0).contains(&ratio),
            "{what} login: unknown email {a:?} vs wrong password {b:?}"
        );
    }
}

// --- Bounded, validated input -------------------------------------------------

/// Strings that are wrong for every kind of parameter somewhere.
fn hostile_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "x".repeat(65),
        "x".repeat(300),
        "x".repeat(5_000),
        "x".repeat(1 << 20),
        "a\0b".into(),
        "a\u{1f}b".into(),
        "a/b".into(),
        "../../etc/passwd".into(),
        "a b".into(),
        "é".into(),
        "\u{202E}abc".into(),
        "'; DROP TABLE seats; --".into(),
        "%00".into(),
        "\n".into(),
        "🎟️".repeat(100),
    ]
}

fn code<E: HasErrorCode>(r: Result<impl Sized, E>) -> Option<ErrorCode> {
    r.err().map(|e| e.code())
}

/// Every string parameter of every operation, fed hostile input: always a
/// typed error (never a panic), and nothing changes.
#[test]
#[allow(clippy::too_many_lines)]
fn oversized_and_malformed_inputs_get_typed_errors_and_change_nothing() {
    let w = world();
    let admin = admin(&w.engine);
    let r = w.event.reserve(&w.alice, &["S0"], None).expect("reserve");
    let tok = r.token.expose().to_owned();
    let before = w.engine.audit().expect("audit");
    let seats_before = w.event.list_seats("E1", SeatFilter::All).expect("list");
    use ErrorCode as C;
    let bad_input = |c: Option<ErrorCode>, allowed: &[ErrorCode], what: &str| {
        let c = c.unwrap_or_else(|| panic!("{what}: hostile input accepted"));
        assert!(allowed.contains(&c), "{what}: unexpected {c:?}");
    };
    // Some hostile strings are legal for lenient fields (a 65-character name
    // or password is fine); those fields are only fed the illegal ones.
    let name_ok = |h: &str| {
        let t = h.trim();
        !t.is_empty()
            && t.chars().count() <= 128
            && !t
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c))
    };
    let password_ok = |h: &str| (8..=128).contains(&h.chars().count()) && h.len() <= 512;
    for h in hostile_strings() {
        let h = h.as_str();
        let what = |op: &str| format!("{op}({:?})", h.chars().take(20).collect::<String>());
        // Engine level.
        bad_input(
            code(w.engine.app(h, &w.event_key, EVENT_ORIGIN)),
            &[C::InvalidCredentials, C::InvalidInput],
            &what("app.app_id"),
        );
        bad_input(
            code(w.engine.app("event-app", h, EVENT_ORIGIN)),
            &[C::InvalidCredentials, C::InvalidInput],
            &what("app.api_key"),
        );
        bad_input(
            code(w.engine.app("event-app", &w.event_key, h)),
            &[C::OriginNotAllowed, C::InvalidInput],
            &what("app.origin"),
        );
        bad_input(
            code(w.engine.admin_login(h, ADMIN_PASSWORD)),
            &[C::InvalidCredentials, C::InvalidInput],
            &what("admin_login.email"),
        );
        bad_input(
            code(w.engine.admin_login(ADMIN_EMAIL, h)),
            &[C::InvalidCredentials, C::InvalidInput],
            &what("admin_login.password"),
        );
        bad_input(
            code(w.engine.admin(h)),
            &[C::InvalidToken],
            &what("admin.token"),
        );
        // Admin operations.
        bad_input(
            code(admin.create_app(&NewApp {
                app_id: h,
                name: "n",
                allowed_origins: &[EVENT_ORIGIN],
            })),
            &[C::InvalidInput],
            &what("create_app.app_id"),
        );
        if !name_ok(h) {
            bad_input(
                code(admin.create_app(&NewApp {
                    app_id: "new-app",
                    name: h,
                    allowed_origins: &[EVENT_ORIGIN],
                })),
                &[C::InvalidInput],
                &what("create_app.name"),
            );
            bad_input(
                code(admin.update_app(
                    "event-app",
                    &AppUpdate {
                        name: Some(h),
                        allowed_origins: None,
                    },
                )),
                &[C::InvalidInput],
                &what("update_app.name"),
            );
        }
        bad_input(
            code(admin.create_app(&NewApp {
                app_id: "new-app",
                name: "n",
                allowed_origins: &[h],
            })),
            &[C::InvalidInput],
            &what("create_app.origin"),
        );
        bad_input(
            code(admin.get_app(h)),
            &[C::InvalidInput, C::AppNotFound],
            &what("get_app"),
        );
        bad_input(
            code(admin.update_app(h, &AppUpdate::default())),
            &[C::InvalidInput, C::AppNotFound],
            &what("update_app.app_id"),
        );
        bad_input(
            code(admin.update_app(
                "event-app",
                &AppUpdate {
                    name: None,
                    allowed_origins: Some(&[h]),
                },
            )),
            &[C::InvalidInput],
            &what("update_app.origins"),
        );
        bad_input(
            code(admin.set_app_active(h, false)),
            &[C::InvalidInput, C::AppNotFound],
            &what("set_app_active"),
        );
        bad_input(
            code(admin.rotate_api_key(h)),
            &[C::InvalidInput, C::AppNotFound],
            &what("rotate_api_key"),
        );
        bad_input(
            code(admin.create_seats(h, "E1", &[seat("Z1", 1)])),
            &[C::InvalidInput, C::AppNotFound],
            &what("create_seats.app_id"),
        );
        bad_input(
            code(admin.create_seats("event-app", h, &[seat("Z1", 1)])),
            &[C::InvalidInput],
            &what("create_seats.entity_id"),
        );
        bad_input(
            code(admin.create_seats("event-app", "E1", &[seat(h, 1)])),
            &[C::InvalidInput],
            &what("create_seats.seat_id"),
        );
        let mut s = seat("Z1", 1);
        s.currency = h.to_owned();
        bad_input(
            code(admin.create_seats("event-app", "E1", &[s])),
            &[C::InvalidInput],
            &what("create_seats.currency"),
        );
        for field in 0..3 {
            if h.is_empty()
                || h == " "
                || h.len() <= 64
                    && !h
                        .chars()
                        .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c))
            {
                continue; // short printable attributes are legal
            }
            let mut s = seat("Z1", 1);
            let attrs = SeatAttributes {
                section: (field == 0).then(|| h.to_owned()),
                row: (field == 1).then(|| h.to_owned()),
                category: (field == 2).then(|| h.to_owned()),
            };
            s.attributes = attrs;
            bad_input(
                code(admin.create_seats("event-app", "E1", &[s])),
                &[C::InvalidInput],
                &what("create_seats.attribute"),
            );
        }
        bad_input(
            code(admin.remove_seats("event-app", &[h])),
            &[C::InvalidInput, C::SeatNotFound],
            &what("remove_seats"),
        );
        bad_input(
            code(admin.cancel_booking(h)),
            &[C::BookingNotFound, C::InvalidInput],
            &what("admin.cancel_booking"),
        );
        // App operations.
        bad_input(
            code(w.event.signup(h, USER_PASSWORD)),
            &[C::InvalidInput],
            &what("signup.email"),
        );
        if !password_ok(h) {
            bad_input(
                code(w.event.signup("fresh@attack.test", h)),
                &[C::InvalidInput],
                &what("signup.password"),
            );
        }
        bad_input(
            code(w.event.login(h, USER_PASSWORD)),
            &[C::InvalidInput, C::InvalidCredentials],
            &what("login.email"),
        );
        bad_input(
            code(w.event.login("alice@attack.test", h)),
            &[C::InvalidInput, C::InvalidCredentials],
            &what("login.password"),
        );
        bad_input(
            code(w.event.user(h)),
            &[C::InvalidToken],
            &what("user.token"),
        );
        bad_input(
            code(w.event.list_seats(h, SeatFilter::All)),
            &[C::InvalidInput],
            &what("list_seats.entity"),
        );
        bad_input(
            code(w.event.seat_counts(h)),
            &[C::InvalidInput],
            &what("seat_counts.entity"),
        );
        bad_input(
            code(w.event.reserve(&w.alice, &[h], None)),
            &[C::InvalidInput, C::SeatNotFound],
            &what("reserve.seat_id"),
        );
        bad_input(
            code(w.event.reservation(&w.alice, h)),
            &[C::ReservationNotFound],
            &what("reservation.token"),
        );
        bad_input(
            code(w.event.extend(&w.alice, h, Duration::from_millis(50))),
            &[C::ReservationNotFound],
            &what("extend.token"),
        );
        bad_input(
            code(w.event.release(&w.alice, h)),
            &[C::ReservationNotFound],
            &what("release.token"),
        );
        bad_input(
            code(w.event.confirm(&w.alice, h, "pay-1", 100)),
            &[C::ReservationNotFound],
            &what("confirm.token"),
        );
        // A legal payment id meets the wrong amount instead: nothing books.
        bad_input(
            code(w.event.confirm(&w.alice, &tok, h, r.info.total_minor + 1)),
            &[C::InvalidInput, C::AmountMismatch],
            &what("confirm.payment_id"),
        );
        bad_input(
            code(w.event.booking(h)),
            &[C::BookingNotFound],
            &what("booking"),
        );
        bad_input(
            code(w.event.cancel_booking(h)),
            &[C::BookingNotFound, C::InvalidInput],
            &what("cancel_booking"),
        );
    }
    // Bounds that are not strings.
    let eleven: Vec<String> = (0..11).map(|i| format!("S{i}")).collect();
    let refs: Vec<&str> = eleven.iter().map(String::as_str).collect();
    assert_eq!(
        code(w.event.reserve(&w.alice, &refs, None)),
        Some(C::InvalidInput),
        "11 seats"
    );
    assert_eq!(
        code(w.event.reserve(&w.alice, &[], None)),
        Some(C::InvalidInput),
        "no seats"
    );
    assert_eq!(
        code(w.event.reserve(&w.alice, &["S1", "S1"], None)),
        Some(C::InvalidInput),
        "duplicates"
    );
    for ttl in [
        Duration::ZERO,
        Duration::from_millis(9),
        Duration::from_secs(16 * 60),
        Duration::MAX,
    ] {
        assert_eq!(
            code(w.event.reserve(&w.alice, &["S1"], Some(ttl))),
            Some(C::InvalidInput),
            "ttl {ttl:?}"
        );
        assert_eq!(
            code(w.event.extend(&w.alice, &tok, ttl)),
            Some(C::InvalidInput),
            "extend ttl {ttl:?}"
        );
    }
    for amount in [0, r.info.total_minor - 1, r.info.total_minor + 1, u64::MAX] {
        assert_eq!(
            code(w.event.confirm(&w.alice, &tok, "pay-1", amount)),
            Some(C::AmountMismatch),
            "amount {amount}"
        );
    }
    let mut pricey = seat("Z2", seatbook::MAX_PRICE_MINOR + 1);
    assert_eq!(
        code(admin.create_seats("event-app", "E1", std::slice::from_ref(&pricey))),
        Some(C::InvalidInput),
        "price"
    );
    pricey.price_minor = u64::MAX;
    assert_eq!(
        code(admin.create_seats("event-app", "E1", &[pricey])),
        Some(C::InvalidInput),
        "price"
    );
    let too_many: Vec<NewSeat> = (0..10_001).map(|i| seat(&format!("B{i}"), 1)).collect();
    assert_eq!(
        code(admin.create_seats("event-app", "E1", &too_many)),
        Some(C::InvalidInput),
        "bulk"
    );
    assert_eq!(
        code(admin.create_seats("event-app", "E1", &[])),
        Some(C::InvalidInput),
        "empty bulk"
    );
    let origins: Vec<String> = (0..33).map(|i| format!("https://o{i}.example")).collect();
    let origin_refs: Vec<&str> = origins.iter().map(String::as_str).collect();
    assert_eq!(
        code(admin.create_app(&NewApp {
            app_id: "many-origins",
            name: "n",
            allowed_origins: &origin_refs
        })),
        Some(C::InvalidInput),
        "origins"
    );

    // Nothing changed.
    assert_eq!(w.engine.audit().expect("audit"), before);
    assert_eq!(
        w.event.list_seats("E1", SeatFilter::All).expect("list"),
        seats_before
    );
    assert_eq!(admin.list_apps().expect("apps").len(), 2);
    assert_eq!(
        w.event.reservation(&w.alice, &tok).map(|i| i.status).ok(),
        Some(seatbook::ReservationStatus::Active)
    );
}

// --- Secrets never printed ------------------------------------------------------

#[test]
fn secrets_never_appear_in_debug_or_display_output() {
    let w = world();
    let admin_token = w
        .engine
        .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .expect("admin login");
    let admin = w.engine.admin(admin_token.expose()).expect("admin");
    let created = admin
        .create_app(&NewApp {
            app_id: "third-app",
            name: "Third",
            allowed_origins: &["https://third.example"],
        })
        .expect("create");
    let r = w.event.reserve(&w.alice, &["S1"], None).expect("reserve");
    let fast = Argon2Params::insecure_fast_for_tests();
    let admin_hash = hash_password(ADMIN_PASSWORD, &fast).expect("hash");
    let mut cfg = Config::new(ADMIN_EMAIL, admin_hash.clone(), ADMIN_SECRET, USER_SECRET)
        .with_payments(seatbook::SimulatedPayments::default());
    cfg.clock = Arc::new(w.clock.clone());
    let weak = {
        let mut c = cfg.clone();
        c.user_jwt_secret = ADMIN_SECRET.into();
        Engine::open(w._dir.path().join("x.redb"), c).err()
    };
    let login_err = w.event.login("alice@attack.test", "not-her-password").err();
    let confirm_err = w
        .event
        .confirm(&w.alice, r.token.expose(), "pay-1", 1)
        .err();
    let mut shown = vec![
        format!("{cfg:?}"),
        format!("{:?}", cfg.admin_jwt_secret),
        format!("{created:?}"),
        format!("{r:?}"),
        format!("{:?}", w.engine),
        format!("{:?}", w.event),
        format!("{admin:?}"),
        format!("{:?}", w.alice),
        format!("{admin_token:?}"),
        format!("{weak:?}"),
        format!("{login_err:?}"),
        format!("{confirm_err:?}"),
        format!("{:?}", w.engine.audit().expect("audit")),
        format!("{:?}", w.engine.stats()),
    ];
    for e in [
        weak.map(seatbook::Error::from),
        login_err.map(seatbook::Error::from),
        confirm_err.map(seatbook::Error::from),
    ]
    .into_iter()
    .flatten()
    {
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    let secrets = [
        ADMIN_PASSWORD,
        ADMIN_SECRET,
        USER_SECRET,
        USER_PASSWORD,
        "not-her-password",
        admin_hash.as_str(),
        &admin_hash[admin_hash.len() - 20..], // the hash part of the PHC string
        created.api_key.expose(),
        &created.api_key.expose()[4..24],
        r.token.expose(),
        r.token.expose().split_once('.').expect("token").1,
        admin_token.expose(),
        w.alice_token.as_str(),
        w.event_key.as_str(),
    ];
    for text in &shown {
        for secret in secrets {
            assert!(!text.contains(secret), "secret leaked in {text}");
        }
    }
}
