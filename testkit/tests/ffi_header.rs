//! The checked-in C header must be exactly what cbindgen generates from
//! `src/ffi/` and `cbindgen.toml` now.
//!
//! Regenerate it with: `SEATBOOK_BLESS=1 cargo test --test ffi_header`
//! (from the repository root; this test lives in the test kit's crate so
//! that cbindgen is no dev-dependency of the library, whose examples
//! build with all of them).

use seatbook_testkit::workspace_root;

fn generate() -> String {
    let root = workspace_root();
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn checked_in_header_matches_cbindgen_output() {
    let path = workspace_root().join("include/seatbook.h");
    let fresh = generate();
    if std::env::var_os("SEATBOOK_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/seatbook.h");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        let line = current
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || current.lines().count().min(fresh.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "include/seatbook.h is out of date with src/ffi/ (first difference at line {line}).\n\
             Regenerate it with:\n    SEATBOOK_BLESS=1 cargo test --test ffi_header\n\
             and commit the result."
        );
    }
}

/// Every status in the header has the value of the Rust `ErrorCode` of
/// the same name, and every status of the Rust mirror is in the header.
#[test]
fn header_statuses_mirror_error_codes() {
    use seatbook::ffi::seatbook_status;
    let header = generate();
    let mut found = 0;
    for s in seatbook_status::ALL {
        let name = s.name().to_str().unwrap();
        let needle = format!("{name} = {},", s as u32);
        assert!(header.contains(&needle), "header lacks `{needle}`");
        assert_eq!(s as u32, s.error_code() as u32);
        assert_eq!(seatbook_status::from(s.error_code()), s);
        found += 1;
    }
    let in_header = header
        .lines()
        .skip_while(|l| !l.contains("enum seatbook_status"))
        .take_while(|l| !l.starts_with('}'))
        .filter(|l| l.trim_start().starts_with("SEATBOOK_"))
        .count();
    assert_eq!(in_header, found, "header and seatbook_status::ALL differ");
}
