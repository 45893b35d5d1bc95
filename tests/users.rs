//! App authentication and the shared user pool.

use std::time::Duration;

use seatbook::{AppAuthError, AuthError, ErrorCode, HasErrorCode, LoginError, SignupError};
use seatbook_testkit::fixtures::*;

#[test]
fn app_auth_refuses_wrong_key_unknown_app_inactive_and_bad_origin() {
    let f = Fixture::new();
    let created = f.create_app("event-app", EVENT_ORIGIN);
    let key = created.api_key.expose();
    let wrong_key = f
        .engine
        .app("event-app", "sbk_wrong", EVENT_ORIGIN)
        .unwrap_err();
    let unknown = f.engine.app("ghost-app", key, EVENT_ORIGIN).unwrap_err();
    assert!(matches!(wrong_key, AppAuthError::InvalidCredentials));
    assert!(matches!(unknown, AppAuthError::InvalidCredentials));
    assert_eq!(wrong_key.to_string(), unknown.to_string());
    for origin in [
        "https://event-app.com.evil.io",
        "https://evil-event-app.com",
        "http://event-app.com",
        "https://event-app.com:8443",
        "https://event-app.com/",
        "null",
        "",
    ] {
        let result = f.engine.app("event-app", key, origin);
        if origin == "https://event-app.com/" {
            assert!(
                result.is_ok(),
                "trailing slash normalises to the same origin"
            );
        } else {
            assert!(
                matches!(result, Err(AppAuthError::OriginNotAllowed)),
                "{origin}"
            );
        }
    }
    assert!(
        f.engine
            .app("event-app", key, "HTTPS://EVENT-APP.COM:443")
            .is_ok()
    );
    f.admin().set_app_active("event-app", false).unwrap();
    assert!(matches!(
        f.engine.app("event-app", key, EVENT_ORIGIN),
        Err(AppAuthError::AppInactive)
    ));
    assert!(matches!(
        f.engine.app(&"a".repeat(1000), key, EVENT_ORIGIN),
        Err(AppAuthError::InvalidCredentials)
    ));
}

#[test]
fn signup_normalises_email_and_refuses_duplicates_in_any_case() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let token = app
        .signup("  Alice@Example.COM ", "alice-password")
        .unwrap();
    let session = app.user(token.expose()).unwrap();
    assert!(matches!(
        app.signup("alice@example.com", "other-password"),
        Err(SignupError::EmailTaken)
    ));
    assert!(matches!(
        app.signup("ALICE@EXAMPLE.COM", "other-password"),
        Err(SignupError::EmailTaken)
    ));
    let login = app.login("alice@example.com", "alice-password").unwrap();
    assert_eq!(
        app.user(login.expose()).unwrap().user_id(),
        session.user_id()
    );
}

#[test]
fn signup_validates_email_and_password_bounds() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    for (email, password) in [
        ("not-an-email", "long-enough"),
        ("a@b", "long-enough"),
        ("a@@b.com", "long-enough"),
        ("ok@example.com", "short"),
        ("ok@example.com", &"x".repeat(129)),
    ] {
        let err = app.signup(email, password).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{email}");
        assert!(
            !err.to_string().contains(password),
            "error must not echo the password"
        );
    }
    assert!(matches!(
        app.login("ok@example.com", "long-enough"),
        Err(LoginError::InvalidCredentials)
    ));
}

#[test]
fn login_errors_do_not_reveal_whether_the_email_exists() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    app.signup("known@example.com", "right-password").unwrap();
    let unknown = app
        .login("unknown@example.com", "right-password")
        .unwrap_err();
    let wrong = app
        .login("known@example.com", "wrong-password")
        .unwrap_err();
    assert!(matches!(unknown, LoginError::InvalidCredentials));
    assert!(matches!(wrong, LoginError::InvalidCredentials));
    assert_eq!(unknown.to_string(), wrong.to_string());
}

#[test]
fn one_user_pool_is_shared_by_every_app() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let bus = f.app_with_seats("bus-app", BUS_ORIGIN, "R7", 1);
    let token = event
        .signup("traveller@example.com", "pass-word-1")
        .unwrap();
    // Same credentials log in through the other app, same user id.
    let via_bus = bus.login("traveller@example.com", "pass-word-1").unwrap();
    assert_eq!(
        event.user(token.expose()).unwrap().user_id(),
        bus.user(via_bus.expose()).unwrap().user_id()
    );
    assert!(matches!(
        bus.signup("traveller@example.com", "pass-word-1"),
        Err(SignupError::EmailTaken)
    ));
}

#[test]
fn user_tokens_expire_after_seven_days_and_sessions_notice() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let token = app.signup("u@example.com", "pass-word-1").unwrap();
    let session = app.user(token.expose()).unwrap();
    f.advance(Duration::from_secs(7 * 24 * 3600 - 10));
    assert!(app.reserve(&session, &["E1-S0"], None).is_ok());
    f.advance(Duration::from_secs(20));
    assert_eq!(
        app.user(token.expose()).unwrap_err(),
        AuthError::TokenExpired
    );
    assert!(matches!(
        app.reserve(&session, &["E1-S0"], None),
        Err(seatbook::ReserveError::Auth(AuthError::TokenExpired))
    ));
}

#[test]
fn admin_tokens_and_garbage_are_not_user_tokens() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let admin_token = f.engine.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).unwrap();
    assert_eq!(
        app.user(admin_token.expose()).unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(app.user("").unwrap_err(), AuthError::InvalidToken);
    assert_eq!(
        app.user(&"x".repeat(10_000)).unwrap_err(),
        AuthError::InvalidToken
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let f = Fixture::new();
    let created = f.create_app("event-app", EVENT_ORIGIN);
    let app = f
        .engine
        .app("event-app", created.api_key.expose(), EVENT_ORIGIN)
        .unwrap();
    let token = app.signup("u@example.com", "pass-word-1").unwrap();
    let cfg = config(&f.clock);
    let dumps = [
        format!("{cfg:?}"),
        format!("{created:?}"),
        format!("{app:?}"),
        format!("{token:?}"),
        format!("{:?}", f.engine),
    ];
    for dump in dumps {
        for secret in [
            ADMIN_SECRET,
            USER_SECRET,
            created.api_key.expose(),
            token.expose(),
            "$argon2",
        ] {
            assert!(!dump.contains(secret), "{dump}");
        }
    }
}
