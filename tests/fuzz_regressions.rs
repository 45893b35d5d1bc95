//! The fuzz targets in CI: each target's body (`seatbook_testkit::fuzz`,
//! the same code cargo-fuzz runs) over every kept crash input in
//! `fuzz/regressions/<target>/` and over a seeded random corpus of
//! structured and raw inputs. A new crash found by `cargo fuzz run` goes
//! into `fuzz/regressions/<target>/` (see docs/reliability.md) and is
//! replayed here forever.

use std::path::Path;

use seatbook_testkit::fuzz as harness;
use seatbook_testkit::rng::Rng;

fn kept_inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .map(|p| std::fs::read(&p).expect("read regression input"))
        .collect()
}

/// Random inputs: raw bytes, printable text, and bytes drawn from the
/// characters that matter to the parsers (separators, dots, '@', '%', ...).
fn corpus(seed: u64, n: usize) -> Vec<Vec<u8>> {
    const INTERESTING: &[u8] =
        b"..@@::--__//\\?#%+=~ \t\n\x00\x1f\xff\xffAZaz09rsv_sbk_eyJhttps://event-app.comHS256none";
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let len = match rng.below(10) {
                0 => 0,
                1..=6 => rng.index(64),
                7 | 8 => rng.index(400),
                _ => rng.index(5_000),
            };
            let kind = rng.below(3);
            (0..len)
                .map(|_| match kind {
                    0 => rng.below(256) as u8,
                    1 => 0x20 + rng.below(0x5f) as u8,
                    _ => INTERESTING[rng.index(INTERESTING.len())],
                })
                .collect()
        })
        .collect()
}

fn replay(target: &str, f: fn(&[u8]), random: usize) -> usize {
    let kept = kept_inputs(target);
    for input in &kept {
        f(input);
    }
    for input in corpus(target.len() as u64 * 7919, random) {
        f(&input);
    }
    kept.len() + random
}

#[test]
fn fuzz_target_jwt() {
    assert!(replay("jwt", harness::jwt, 3_000) >= 3_000);
}

#[test]
fn fuzz_target_reservation_token() {
    assert!(replay("reservation_token", harness::reservation_token, 3_000) >= 3_000);
}

#[test]
fn fuzz_target_inputs() {
    assert!(replay("inputs", harness::inputs, 1_500) >= 1_500);
}

#[test]
fn fuzz_target_c_abi() {
    assert!(replay("c_abi", harness::c_abi, 1_500) >= 1_500);
}
