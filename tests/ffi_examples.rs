//! Compiles the C and C++ examples (and the C++ test programs under
//! `tests/cpp`) with the machine's `cc`/`c++` against the static and shared
//! library this `cargo test` built, runs them (fast argon2, no fsync, temp
//! dirs), and runs the C ones under valgrind when it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use seatbook_testkit::ffi::{NATIVE_LIBS, have, private_lib, root, run_ok};

struct Built {
    dir: tempfile::TempDir,
    exe: PathBuf,
}

fn compile(compiler: &str, source: &str, link_static: bool) -> Built {
    assert!(
        have(compiler),
        "`{compiler}` is not on PATH (.ci/run installs gcc/g++)"
    );
    let dir = tempfile::tempdir().unwrap();
    let lib = private_lib(dir.path(), link_static);
    let exe = dir.path().join(
        Path::new(source)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    );
    let mut cmd = Command::new(compiler);
    let cpp = compiler == "c++";
    cmd.current_dir(root())
        .args(if cpp {
            ["-std=c++17", "-Wall", "-Wextra", "-Werror"]
        } else {
            ["-std=c11", "-Wall", "-Wextra", "-Werror"]
        })
        .args(["-pthread", "-Iinclude", "-Iexamples/c", "-Ibindings/cpp"])
        .arg(source)
        .arg("-o")
        .arg(&exe);
    if link_static {
        cmd.arg(&lib).args(NATIVE_LIBS);
    } else {
        // The program asks the loader for the soname, not for the file name.
        std::fs::copy(&lib, dir.path().join(soname())).expect("copy the library as its soname");
        cmd.arg(format!("-L{}", dir.path().display()))
            .arg("-lseatbook")
            .arg(format!("-Wl,-rpath,{}", dir.path().display()));
    }
    run_ok(&mut cmd, &format!("{compiler} {source}"));
    Built { dir, exe }
}

/// The soname build.rs gives `libseatbook.so` on Linux: `0.<minor>` before
/// 1.0, then the major version.
fn soname() -> String {
    match (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
    ) {
        ("0", minor) => format!("libseatbook.so.0.{minor}"),
        (major, _) => format!("libseatbook.so.{major}"),
    }
}

/// build.rs links the shared library with a versioned soname, which the
/// installed copy's links (scripts/install.sh) and every program linked
/// against it rely on.
#[cfg(target_os = "linux")]
#[test]
fn the_shared_library_has_a_versioned_soname() {
    let (so, _) = seatbook_testkit::ffi::built_libs();
    let out = run_ok(Command::new("readelf").arg("-d").arg(&so), "readelf -d");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let want = format!("Library soname: [{}]", soname());
    assert!(dynamic.contains(&want), "no `{want}` in:\n{dynamic}");
}

fn run(b: &Built, db: &str) -> String {
    let db = b.dir.path().join(db);
    let out = run_ok(
        Command::new(&b.exe).arg(&db).arg("--fast"),
        &b.exe.display().to_string(),
    );
    String::from_utf8(out.stdout).unwrap()
}

fn valgrind(b: &Built, db: &str) {
    if !have("valgrind") {
        println!(
            "note: valgrind is not installed; skipping the leak check of {}",
            b.exe.display()
        );
        return;
    }
    let db = b.dir.path().join(db);
    run_ok(
        Command::new("valgrind")
            .args(["-q", "--leak-check=full", "--error-exitcode=1"])
            .arg(&b.exe)
            .arg(&db)
            .arg("--fast"),
        &format!("valgrind {}", b.exe.display()),
    );
}

#[test]
fn c_booking_flow_static_and_valgrind_clean() {
    let b = compile("cc", "examples/c/booking_flow.c", true);
    let out = run(&b, "flow.redb");
    assert!(out.contains("booked BK-"), "{out}");
    assert!(
        out.contains("no verifier refused: invalid configuration: no payment verifier"),
        "{out}"
    );
    assert!(
        out.contains("declined: payment declined: insufficient funds"),
        "{out}"
    );
    assert!(out.ends_with("booking flow OK\n"), "{out}");
    valgrind(&b, "flow-valgrind.redb");
}

#[test]
fn c_booking_flow_shared() {
    let b = compile("cc", "examples/c/booking_flow.c", false);
    let out = run(&b, "flow.redb");
    assert!(out.ends_with("booking flow OK\n"), "{out}");
}

#[test]
fn c_race_has_one_winner_per_seat_and_is_valgrind_clean() {
    let b = compile("cc", "examples/c/race.c", true);
    let out = run(&b, "race.redb");
    assert_eq!(out.matches(": 1 winner(s)").count(), 6, "{out}");
    assert!(out.contains("audit clean"), "{out}");
    assert!(out.ends_with("race OK\n"), "{out}");
    valgrind(&b, "race-valgrind.redb");
}

#[test]
fn cpp_booking_flow_shared() {
    let b = compile("c++", "examples/cpp/booking_flow.cpp", false);
    let out = run(&b, "cpp.redb");
    assert!(
        out.contains("wrong key rejected: SEATBOOK_INVALID_CREDENTIALS"),
        "{out}"
    );
    assert!(
        out.contains("declined: payment declined: over the card limit"),
        "{out}"
    );
    assert!(
        out.contains("no verifier refused: invalid configuration: no payment verifier"),
        "{out}"
    );
    assert!(
        out.contains("verifier outlived the engine until the last handle"),
        "{out}"
    );
    assert!(out.contains("pay_undecided declined: "), "{out}");
    assert!(
        out.contains("pay_throws declined: payment declined: the payment verifier failed"),
        "{out}"
    );
    assert!(out.ends_with("C++ booking flow OK\n"), "{out}");
}

/// A raw C++ callback that throws: wrapped in `seatbook::guarded<>` the
/// throw is a decline; unwrapped, the exception reaches Rust through the
/// `"C-unwind"` callback and the process aborts (defined behaviour, the
/// payment is never approved).
#[test]
fn cpp_throwing_callback_declines_when_guarded_and_aborts_otherwise() {
    let b = compile("c++", "tests/cpp/throwing_callback.cpp", false);
    let guarded = run_ok(
        Command::new(&b.exe)
            .arg(b.dir.path().join("guarded.redb"))
            .args(["--fast", "--guarded"]),
        "throwing_callback --guarded",
    );
    let out = String::from_utf8(guarded.stdout).unwrap();
    assert!(
        out.contains("confirm returned SEATBOOK_PAYMENT_DECLINED: payment declined: the payment callback failed"),
        "{out}"
    );
    assert!(out.ends_with("throwing callback OK\n"), "{out}");

    let raw = Command::new(&b.exe)
        .arg(b.dir.path().join("raw.redb"))
        .arg("--fast")
        .output()
        .expect("run throwing_callback");
    let (out, err) = (
        String::from_utf8_lossy(&raw.stdout),
        String::from_utf8_lossy(&raw.stderr),
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&raw.status),
        Some(6),
        "SIGABRT: {out}{err}"
    );
    assert!(
        out.contains("confirming") && !out.contains("confirm returned"),
        "{out}"
    );
    assert!(
        err.contains("Rust cannot catch foreign exceptions"),
        "{err}"
    );
}

#[test]
fn cpp_backup_and_check() {
    let b = compile("c++", "examples/cpp/backup_check.cpp", false);
    let out = run(&b, "backup.redb");
    assert!(
        out.contains("second backup refused: SEATBOOK_BACKUP_TARGET_EXISTS"),
        "{out}"
    );
    assert!(
        out.contains("backup checks healthy: 1 seat(s), 1 booking(s)"),
        "{out}"
    );
    assert!(out.ends_with("C++ backup and check OK\n"), "{out}");
}

/// The entity operations of seatbook.hpp's `Admin` (create, read, list,
/// update, close keeping and releasing holds, figures) and the typed
/// statuses they and `App::reserve` throw.
#[test]
fn cpp_entities_and_their_sale() {
    let b = compile("c++", "tests/cpp/entities.cpp", false);
    let out = run(&b, "entities.redb");
    for status in [
        "SEATBOOK_ENTITY_ALREADY_EXISTS: ",
        "SEATBOOK_ENTITY_NOT_FOUND: ",
        "SEATBOOK_SALE_NOT_OPEN: ",
        "SEATBOOK_SALE_CLOSED: ",
        "SEATBOOK_ENTITY_CLOSED: ",
        "SEATBOOK_ENTITY_NOT_CLOSED: ",
        "SEATBOOK_ENTITY_ARCHIVED: ",
        "SEATBOOK_SEAT_NOT_FOUND: ",
        "SEATBOOK_SEAT_ALREADY_EXISTS: ",
    ] {
        assert!(out.contains(status), "no `{status}` in:\n{out}");
    }
    assert!(
        out.contains("SEATBOOK_ENTITY_NOT_FOUND: entity NO-SUCH-SHOW"),
        "no app-level NOT_FOUND in:\n{out}"
    );
    assert!(out.ends_with("C++ entities OK\n"), "{out}");
}
