//! Runs the Python binding's own tests (`bindings/python/tests`, unittest,
//! no extra dependencies) from the source tree (`PYTHONPATH`) against the
//! shared library this `cargo test` built, passed through `SEATBOOK_LIB`
//! (which overrides a bundled copy an in-place build may have left). The
//! same tests run against the installed wheel in `.ci/run`.

use std::process::Command;

use seatbook_testkit::ffi::{have, private_lib, root};

#[test]
fn python_binding_tests_pass() {
    assert!(
        have("python3"),
        "python3 is not on PATH (.ci/run installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let so = private_lib(dir.path(), false);
    let out = Command::new("python3")
        .current_dir(root())
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "bindings/python/tests",
            "-v",
        ])
        .env("SEATBOOK_LIB", &so)
        .env("PYTHONPATH", root().join("bindings/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    assert!(out.status.success(), "python tests failed:\n{stderr}");
    let ran: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .expect("unittest summary line");
    assert!(ran >= 15, "only {ran} python tests ran");
}
