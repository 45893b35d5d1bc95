//! Shared by the `ffi_*` tests that drive other languages: finds the
//! cdylib/staticlib that this very `cargo test` built, and copies it into a
//! private temp dir (other builds sharing `target/` cannot swap it mid-test).
//!
//! Why this works: the crate's `[lib] crate-type` lists rlib, cdylib and
//! staticlib, so the one rustc run that makes the rlib linked into this test
//! binary also writes `libseatbook.so` and `libseatbook.a` next to it, in
//! `target/<profile>/deps/` (cargo does not copy them up to
//! `target/<profile>/` during `cargo test`, only during `cargo build`). If
//! they are missing (an unusual layout), the test runs `cargo build --lib`
//! with the same profile and looks in `target/<profile>/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SHARED: &str = "libseatbook.so";
pub const STATIC: &str = "libseatbook.a";
/// What a static Rust library needs from the system (`--print native-static-libs`).
pub const NATIVE_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"];

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
    cmd.current_dir(root()).args(["build", "--lib"]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build --lib");
    assert!(status.success(), "cargo build --lib failed");
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
