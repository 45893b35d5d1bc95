//! Compiles the C and C++ examples with the machine's `cc`/`c++` against
//! the static and shared library this `cargo test` built, runs them (fast
//! argon2, no fsync, temp dirs), and runs the C ones under valgrind when it
//! is installed.

mod ffi_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ffi_support::{NATIVE_LIBS, have, private_lib, root, run_ok};

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
        cmd.arg(format!("-L{}", dir.path().display()))
            .arg("-lseatbook")
            .arg(format!("-Wl,-rpath,{}", dir.path().display()));
    }
    run_ok(&mut cmd, &format!("{compiler} {source}"));
    Built { dir, exe }
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
    assert!(out.ends_with("C++ booking flow OK\n"), "{out}");
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
