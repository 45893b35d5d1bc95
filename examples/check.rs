//! Checks a CLOSED seatbook database and its journal, and prints whether
//! and how it can be opened, and its audit. Never changes the files (it
//! works on a copy in `$TMPDIR`).
//!
//! Run: `cargo run --release --example check -- /var/lib/app/seats.redb`
//!
//! Exit status: 0 healthy (opens as is, audit clean); 1 it needs attention
//! (see the printed verdict); 2 it could not be checked (no such file, open
//! by a live engine, I/O error, bad usage).

use std::process::ExitCode;

use seatbook::{CheckReport, JournalFile, Recovery, check};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: check DATABASE_PATH");
        return ExitCode::from(2);
    };
    match check(&path) {
        Ok(report) => {
            print(&report);
            if report.is_healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("cannot check {}: {e}", path.to_string_lossy());
            ExitCode::from(2)
        }
    }
}

fn print(r: &CheckReport) {
    match r.journal {
        JournalFile::Missing => println!("journal:   none (opening starts a new one)"),
        JournalFile::Present { bytes } => println!("journal:   present, {bytes} bytes"),
    }
    println!(
        "replay:    {}",
        if r.replays_journal {
            "opening replays writes only the journal holds"
        } else {
            "nothing to replay"
        }
    );
    println!(
        "verdict:   {}",
        match r.recovery {
            Recovery::AsIs => "recoverable as is: open it normally",
            Recovery::DiscardingJournal =>
                "recoverable by discarding the journal: move <file>-journal aside, then open \
                 (the writes only the journal held are lost)",
            Recovery::NotRecoverable => "NOT recoverable: restore a backup",
        }
    );
    if let Some(e) = &r.open_error {
        println!("open error: {e}");
    }
    let Some(a) = &r.audit else { return };
    println!(
        "audit:     {} ({} seats, {} booked; bookings {} live, {} failed, {} cancelled; \
         reservations {}, {} active)",
        if a.is_clean() { "clean" } else { "VIOLATIONS" },
        a.seats,
        a.booked_seats,
        a.live_bookings,
        a.failed_bookings,
        a.cancelled_bookings,
        a.reservations,
        a.active_reservations,
    );
    for v in &a.violations {
        println!("  - {v}");
    }
}
