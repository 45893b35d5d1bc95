//! Build script: gives the shared library a versioned soname on Linux.
//!
//! `libseatbook.so` is linked with `-soname,libseatbook.so.<abi>`, so a
//! program linked against an installed copy records the ABI version it was
//! built for (scripts/install.sh lays out the usual
//! `libseatbook.so -> libseatbook.so.<abi> -> libseatbook.so.<version>`
//! links). `<abi>` follows Cargo's semver, as cargo-c does: the major
//! version from 1.0 on, `0.<minor>` before it (0.1 -> 0.2 may break the
//! ABI, 0.1.0 -> 0.1.1 may not). Other platforms keep the linker default.
//! Only the cdylib gets the flag; the rlib and the staticlib are unchanged.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libseatbook.so.{abi}");
}
