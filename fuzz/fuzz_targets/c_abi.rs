//! cargo-fuzz target `c_abi`: see `seatbook_testkit::fuzz` (`testkit/src/fuzz.rs`) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| seatbook_testkit::fuzz::c_abi(data));
