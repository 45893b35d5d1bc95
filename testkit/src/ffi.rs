//! The C ABI in tests. Two parts:
//!
//! - one C-ABI world for the tests that call the C functions from Rust
//!   (`ffi_bad_input`, `ffi_payments`, the `c_abi` fuzz body): the shared
//!   helpers, configs and a [`World`] with an engine, an admin, an app
//!   with one seat and a buyer;
//! - the built libraries, for the tests that drive other languages
//!   (`ffi_examples`, `ffi_python`): [`built_libs`] finds the
//!   cdylib/staticlib that this very `cargo test` built, and
//!   [`private_lib`] copies one into a private temp dir (other builds
//!   sharing `target/` cannot swap it mid-test).
//!
//! Why finding the libraries works: the crate's `[lib] crate-type` lists
//! rlib, cdylib and staticlib, so the one rustc run that makes the rlib
//! linked into a test binary also writes `libseatbook.so` and
//! `libseatbook.a` next to it, in `target/<profile>/deps/` (cargo does not
//! copy them up to `target/<profile>/` during `cargo test`, only during
//! `cargo build`). If they are missing (an unusual layout), the test runs
//! `cargo build -p seatbook --lib` with the same profile and looks in
//! `target/<profile>/`.

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::ptr::{null, null_mut};

use seatbook::ffi::seatbook_status::SEATBOOK_OK;
use seatbook::ffi::*;

pub const ORIGIN: &CStr = c"https://event-app.com";
pub const SEAT: &CStr = c"EVENT_001-A1";

pub fn last_error() -> String {
    // SAFETY: never NULL, valid until the next call on this thread.
    unsafe { CStr::from_ptr(seatbook_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[track_caller]
pub fn expect(status: seatbook_status, want: seatbook_status) {
    assert_eq!(status, want, "message: {}", last_error());
}

/// Owned library string, freed on drop.
pub struct Owned(pub *mut c_char);
impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: from a seatbook `char **` out-parameter (or NULL).
        unsafe { seatbook_string_free(self.0) };
    }
}

/// An engine with an admin handle, one app (`event-app`, origin
/// [`ORIGIN`], one seat [`SEAT`] of 50.00 EUR) and one signed-up buyer.
pub struct World {
    pub _dir: tempfile::TempDir,
    pub engine: *mut seatbook_engine,
    pub admin: *mut seatbook_admin,
    pub app: *mut seatbook_app,
    pub user: *mut seatbook_user,
    pub token: Owned,
}

/// A config with no payment verifier named (zero-initialised otherwise):
/// `seatbook_engine_open` refuses it until a test names one.
pub fn bare_config(hash: &CStr) -> seatbook_config {
    // SAFETY: all-zero is a valid seatbook_config (NULL strings, defaults).
    let mut cfg: seatbook_config = unsafe { std::mem::zeroed() };
    cfg.admin_email = c"admin@example.com".as_ptr();
    cfg.admin_password_hash = hash.as_ptr();
    cfg.admin_jwt_secret = c"an-admin-secret-of-at-least-32-bytes!!".as_ptr();
    cfg.user_jwt_secret = c"a-user-secret-of-at-least-32-bytes!!!!".as_ptr();
    cfg.argon2 = fast();
    cfg.durability = seatbook_durability::SEATBOOK_DURABILITY_NONE as u32;
    cfg
}

/// [`bare_config`] with the simulated payments named.
pub fn fast_config(hash: &CStr) -> seatbook_config {
    let mut cfg = bare_config(hash);
    cfg.use_simulated_payments = true;
    cfg
}

pub fn fast() -> seatbook_argon2_params {
    seatbook_argon2_params {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    }
}

pub fn admin_hash() -> CString {
    let mut out = null_mut();
    // SAFETY: valid arguments.
    unsafe {
        expect(
            seatbook_hash_password(c"admin-password".as_ptr(), &fast(), &raw mut out),
            SEATBOOK_OK,
        );
        let hash = CStr::from_ptr(out).to_owned();
        seatbook_string_free(out);
        hash
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// With the simulated payments.
    pub fn new() -> Self {
        Self::open(|cfg| cfg.use_simulated_payments = true)
    }

    /// With the config [`bare_config`] gives, changed by `adjust` (which
    /// must name a payment verifier).
    pub fn open(adjust: impl FnOnce(&mut seatbook_config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("db.redb").to_str().unwrap()).unwrap();
        let hash = admin_hash();
        let mut cfg = bare_config(&hash);
        adjust(&mut cfg);
        // SAFETY: every pointer is valid for its call.
        unsafe {
            let mut engine = null_mut();
            expect(
                seatbook_engine_open(path.as_ptr(), &cfg, &raw mut engine),
                SEATBOOK_OK,
            );
            let mut tok = null_mut();
            expect(
                seatbook_engine_admin_login(
                    engine,
                    c"admin@example.com".as_ptr(),
                    c"admin-password".as_ptr(),
                    &raw mut tok,
                ),
                SEATBOOK_OK,
            );
            let tok = Owned(tok);
            let mut admin = null_mut();
            expect(
                seatbook_engine_admin(engine, tok.0, &raw mut admin),
                SEATBOOK_OK,
            );
            let origins = [ORIGIN.as_ptr()];
            let mut key = null_mut();
            expect(
                seatbook_admin_create_app(
                    admin,
                    c"event-app".as_ptr(),
                    c"Event App".as_ptr(),
                    origins.as_ptr(),
                    1,
                    &raw mut key,
                    null_mut(),
                ),
                SEATBOOK_OK,
            );
            let key = Owned(key);
            let seats = [seatbook_new_seat {
                seat_id: SEAT.as_ptr(),
                price_minor: 5000,
                currency: c"EUR".as_ptr(),
                section: null(),
                row: null(),
                category: null(),
            }];
            expect(
                seatbook_admin_create_seats(
                    admin,
                    c"event-app".as_ptr(),
                    c"EVENT_001".as_ptr(),
                    seats.as_ptr(),
                    1,
                    null_mut(),
                ),
                SEATBOOK_OK,
            );
            let mut app = null_mut();
            expect(
                seatbook_engine_app(
                    engine,
                    c"event-app".as_ptr(),
                    key.0,
                    ORIGIN.as_ptr(),
                    &raw mut app,
                ),
                SEATBOOK_OK,
            );
            let mut token = null_mut();
            expect(
                seatbook_app_signup(
                    app,
                    c"buyer@example.com".as_ptr(),
                    c"correct horse battery".as_ptr(),
                    &raw mut token,
                ),
                SEATBOOK_OK,
            );
            let mut user = null_mut();
            expect(seatbook_app_user(app, token, &raw mut user), SEATBOOK_OK);
            World {
                _dir: dir,
                engine,
                admin,
                app,
                user,
                token: Owned(token),
            }
        }
    }
}

impl World {
    /// Reserves the seat and confirms it with `payment_id`; returns the
    /// confirm's status and the reservation id.
    pub fn reserve_and_confirm(&self, payment_id: &CStr) -> (seatbook_status, u64) {
        let ids = [SEAT.as_ptr()];
        // SAFETY: valid handles and out-parameters.
        unsafe {
            let mut res = null_mut();
            expect(
                seatbook_app_reserve(self.app, self.user, ids.as_ptr(), 1, 0, &raw mut res),
                SEATBOOK_OK,
            );
            let mut view: seatbook_reservation_view = std::mem::zeroed();
            expect(seatbook_reservation_get(res, &raw mut view), SEATBOOK_OK);
            let id = view.reservation_id;
            let mut booking = null_mut();
            let status = seatbook_app_confirm(
                self.app,
                self.user,
                view.token,
                payment_id.as_ptr(),
                view.total_minor,
                &raw mut booking,
            );
            seatbook_booking_free(booking);
            seatbook_reservation_free(res);
            (status, id)
        }
    }

    pub fn stats(&self) -> seatbook_stats {
        let mut s = seatbook_stats::default();
        // SAFETY: valid handle and out-parameter.
        expect(
            unsafe { seatbook_engine_stats(self.engine, &raw mut s) },
            SEATBOOK_OK,
        );
        s
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // SAFETY: handles from `new`, freed once; the engine is closed last
        // unless a test closed it already (then it is NULL).
        unsafe {
            seatbook_user_free(self.user);
            seatbook_app_free(self.app);
            seatbook_admin_free(self.admin);
            seatbook_engine_close(self.engine);
        }
    }
}

// The built libraries, for the tests that drive other languages.

pub const SHARED: &str = "libseatbook.so";
pub const STATIC: &str = "libseatbook.a";
/// What a static Rust library needs from the system (`--print native-static-libs`).
pub const NATIVE_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"];

/// The repository root (the workspace root).
pub fn root() -> &'static Path {
    crate::workspace_root()
}

fn find_in(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (so, a) = (dir.join(SHARED), dir.join(STATIC));
    (so.is_file() && a.is_file()).then_some((so, a))
}

/// `(shared, static)` library paths built by this `cargo test`.
pub fn built_libs() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    if let Some(found) = find_in(&deps) {
        return found;
    }
    let profile_dir = deps.parent().expect("profile dir").to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .args(["build", "-p", "seatbook", "--lib"]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build -p seatbook --lib");
    assert!(status.success(), "cargo build -p seatbook --lib failed");
    find_in(&profile_dir).unwrap_or_else(|| {
        panic!(
            "no {SHARED}/{STATIC} in {} or {}",
            deps.display(),
            profile_dir.display()
        )
    })
}

/// Copies the shared (`want_static` false) or static library into `dir`
/// and returns its path there.
pub fn private_lib(dir: &Path, want_static: bool) -> PathBuf {
    let (so, a) = built_libs();
    let (from, name) = if want_static {
        (a, STATIC)
    } else {
        (so, SHARED)
    };
    let to = dir.join(name);
    std::fs::copy(&from, &to).expect("copy the library");
    to
}

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command, panicking with its output if it fails.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
