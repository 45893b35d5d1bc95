//! cargo-fuzz target `jwt`: see `seatbook_testkit::fuzz` (`testkit/src/fuzz.rs`) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| seatbook_testkit::fuzz::jwt(data));
