//! App handles (authenticated tenant contexts), signup/login, and user
//! sessions.
//!
//! Owns [`seatbook_app`] and [`seatbook_user`]. An app handle wraps a core
//! [`AppContext`]; closing the engine makes it answer
//! `SEATBOOK_ENGINE_CLOSED` (the core's [`crate::Engine::close`]).

use std::ffi::{CString, c_char};
use std::time::Duration;

use super::boundary::{
    FfiResult, Handle, arg_str, cstring, ffi_boundary, ffi_boundary_or, free_handle, give_string,
    handle, into_raw, out_handle, out_param,
};
use super::engine::{engine_handle, seatbook_engine};
use super::status::seatbook_status;
use crate::{AppContext, UserSession};

/// An authenticated app context: (app id, API key, origin) checked once.
///
/// Thread safety: fully thread-safe; use it from any number of threads at
/// once. If the admin rotates the key, deactivates the app or removes the
/// origin, its next call (`seatbook_app_user()` included) fails with
/// `SEATBOOK_APP_CONTEXT_REVOKED`: authenticate the app again. Fails with
/// `SEATBOOK_ENGINE_CLOSED` after its engine is closed. Release with `seatbook_app_free()`.
pub struct seatbook_app {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct AppHandle {
    kind: u32,
    ctx: AppContext,
    pub(crate) default_ttl: Duration,
}

impl Handle for AppHandle {
    const KIND: u32 = 0x5EA7_0005;
    const NAME: &'static str = "seatbook_app";
}

/// Borrows an app handle and its live context.
///
/// # Safety
/// `p` is NULL or a live seatbook handle.
pub(crate) unsafe fn app<'a>(p: *const seatbook_app) -> FfiResult<(&'a AppHandle, &'a AppContext)> {
    // SAFETY: this function's own contract (pointer rule 1).
    let h: &'a AppHandle = unsafe { handle(p, "app")? };
    Ok((h, &h.ctx))
}

/// Authenticates an app into `*out_app` (free with `seatbook_app_free()`).
/// The origin must equal one of the app's allowed origins after
/// normalisation (`scheme://host[:port]`, exact match). Errors:
/// `SEATBOOK_INVALID_CREDENTIALS` (unknown app or wrong key),
/// `SEATBOOK_APP_INACTIVE`, `SEATBOOK_ORIGIN_NOT_ALLOWED`.
///
/// # Safety
/// `engine` is NULL or a live engine handle; the strings are NULL or C
/// strings; `out_app` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_app(
    engine: *const seatbook_engine,
    app_id: *const c_char,
    api_key: *const c_char,
    origin: *const c_char,
    out_app: *mut *mut seatbook_app,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_app` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `engine` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, h, app_id, api_key, origin) = unsafe {
            (
                out_handle(out_app, "out_app")?,
                engine_handle(engine)?,
                arg_str(app_id, "app_id")?,
                arg_str(api_key, "api_key")?,
                arg_str(origin, "origin")?,
            )
        };
        let ctx = h.shared.engine.app(app_id, api_key, origin)?;
        *out = into_raw(AppHandle {
            kind: AppHandle::KIND,
            ctx,
            default_ttl: h.shared.default_ttl,
        });
        Ok(())
    })
}

/// Frees an app handle. NULL is a no-op.
///
/// # Safety
/// `app` is NULL or a live app handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_free(app: *mut seatbook_app) {
    // SAFETY: `app` is NULL or a live app handle not freed before, unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<AppHandle, _>(app) });
}

/// Creates a user (shared pool; email trimmed and lower-cased, password
/// 8..=128 characters) and writes a user token to `*out_token` (free with
/// `seatbook_string_free()`). Errors: `SEATBOOK_EMAIL_TAKEN`,
/// `SEATBOOK_INVALID_INPUT`.
///
/// # Safety
/// `app` is NULL or a live app handle; the strings are NULL or C strings;
/// `out_token` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_signup(
    app: *const seatbook_app,
    email: *const c_char,
    password: *const c_char,
    out_token: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_token` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, (_, ctx), email, password) = unsafe {
            (
                out_handle(out_token, "out_token")?,
                self::app(app)?,
                arg_str(email, "email")?,
                arg_str(password, "password")?,
            )
        };
        let token = ctx.signup(email, password)?;
        give_string(out, token.expose());
        Ok(())
    })
}

/// Logs a user in and writes a user token to `*out_token` (free with
/// `seatbook_string_free()`). Unknown email and wrong password both give
/// `SEATBOOK_INVALID_CREDENTIALS`.
///
/// # Safety
/// `app` is NULL or a live app handle; the strings are NULL or C strings;
/// `out_token` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_login(
    app: *const seatbook_app,
    email: *const c_char,
    password: *const c_char,
    out_token: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_token` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, (_, ctx), email, password) = unsafe {
            (
                out_handle(out_token, "out_token")?,
                self::app(app)?,
                arg_str(email, "email")?,
                arg_str(password, "password")?,
            )
        };
        let token = ctx.login(email, password)?;
        give_string(out, token.expose());
        Ok(())
    })
}

/// Changes the password of `user`'s account (`current_password` must
/// match; the new one is 8..=128 characters) and revokes every token and
/// user handle of that user issued before, in every app: they answer
/// `SEATBOOK_INVALID_TOKEN` from then on, `user` included. `*out_token`
/// receives a fresh user token (free with `seatbook_string_free()`).
/// Errors: `SEATBOOK_INVALID_CREDENTIALS` (wrong current password),
/// `SEATBOOK_INVALID_INPUT`, `SEATBOOK_INVALID_TOKEN`,
/// `SEATBOOK_TOKEN_EXPIRED`, `SEATBOOK_PASSWORD_WORK_BUSY`. Nothing changes
/// on error.
///
/// # Safety
/// `app` is NULL or a live app handle; `user` is NULL or a live user
/// handle; the strings are NULL or C strings; `out_token` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_change_password(
    app: *const seatbook_app,
    user: *const seatbook_user,
    current_password: *const c_char,
    new_password: *const c_char,
    out_token: *mut *mut c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_token` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `app` and `user` NULL or live handles (rule 1), the
        // strings NULL or readable C strings (rule 2).
        let (out, (_, ctx), session, current, new) = unsafe {
            (
                out_handle(out_token, "out_token")?,
                self::app(app)?,
                self::user(user)?,
                arg_str(current_password, "current_password")?,
                arg_str(new_password, "new_password")?,
            )
        };
        let token = ctx.change_password(session, current, new)?;
        give_string(out, token.expose());
        Ok(())
    })
}

/// A verified user token: who the user is and until when.
///
/// Thread safety: immutable; use it from any thread at once. It holds no
/// engine resources. Release with `seatbook_user_free()`.
pub struct seatbook_user {
    _private: [u8; 0],
}

/// The fields of a `seatbook_user`; `user_id` is borrowed from the handle.
#[repr(C)]
pub struct seatbook_user_view {
    /// 32 lowercase hex digits.
    pub user_id: *const c_char,
    /// Token expiry, milliseconds since the Unix epoch.
    pub expires_at: u64,
}

impl Default for seatbook_user_view {
    fn default() -> Self {
        Self {
            user_id: std::ptr::null(),
            expires_at: 0,
        }
    }
}

#[repr(C)]
pub(crate) struct UserHandle {
    kind: u32,
    pub(crate) session: UserSession,
    user_id: CString,
}

impl Handle for UserHandle {
    const KIND: u32 = 0x5EA7_0006;
    const NAME: &'static str = "seatbook_user";
}

/// Borrows a user session.
///
/// # Safety
/// `p` is NULL or a live seatbook handle.
pub(crate) unsafe fn user<'a>(p: *const seatbook_user) -> FfiResult<&'a UserSession> {
    // SAFETY: this function's own contract (pointer rule 1).
    unsafe { handle::<UserHandle, _>(p, "user").map(|h| &h.session) }
}

/// Verifies a user token (from signup, login or a password change) into
/// `*out_user` (free with `seatbook_user_free()`). Errors:
/// `SEATBOOK_INVALID_TOKEN` (forged, an admin token, an unknown user, or
/// revoked by a password change), `SEATBOOK_TOKEN_EXPIRED`,
/// `SEATBOOK_APP_CONTEXT_REVOKED` (the app handle itself was revoked),
/// `SEATBOOK_ENGINE_CLOSED`.
///
/// # Safety
/// `app` is NULL or a live app handle; `token` is NULL or a C string;
/// `out_user` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_user(
    app: *const seatbook_app,
    token: *const c_char,
    out_user: *mut *mut seatbook_user,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_user` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` NULL or a live handle (rule 1), `token` NULL or a
        // readable C string (rule 2).
        let (out, (_, ctx), token) = unsafe {
            (
                out_handle(out_user, "out_user")?,
                self::app(app)?,
                arg_str(token, "token")?,
            )
        };
        let session = ctx.user(token)?;
        *out = into_raw(UserHandle {
            kind: UserHandle::KIND,
            session,
            user_id: cstring(session.user_id.to_string()),
        });
        Ok(())
    })
}

/// Reads a user session's fields into `*out`.
///
/// # Safety
/// `user` is NULL or a live user handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_user_get(
    user: *const seatbook_user,
    out: *mut seatbook_user_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `user` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<UserHandle, _>(user, "user")?,
                out_param(out, "out")?,
            )
        };
        *out = seatbook_user_view {
            user_id: h.user_id.as_ptr(),
            expires_at: h.session.expires_at,
        };
        Ok(())
    })
}

/// Frees a user handle. NULL is a no-op.
///
/// # Safety
/// `user` is NULL or a live user handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_user_free(user: *mut seatbook_user) {
    // SAFETY: `user` is NULL or a live user handle not freed before, unused
    // by other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe { free_handle::<UserHandle, _>(user) });
}
