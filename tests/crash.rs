//! Crash-kill recovery (docs/design.md, invariant 5).
//!
//! A child process (this same test binary, started with
//! `SEATBOOK_CRASH_CHILD` set) runs a durable workload (`Durability::Full`)
//! and prints every acknowledged reservation, extension, release, booking
//! and cancellation to stdout, flushing each line. The parent SIGKILLs it at
//! a random moment, reopens the database and checks:
//!
//! - every acknowledged booking is present and SUCCESS (CANCELLED if its
//!   cancellation was acknowledged) and its seats are BOOKED;
//! - no partial confirmation: the audit finds every BOOKED seat backed by
//!   exactly one SUCCESS booking whose reservation is CONFIRMED, and the
//!   reverse, and the in-flight confirm is entirely present or absent;
//! - acknowledged, unexpired, still-open reservations got their holds back:
//!   the seats show as held with the acknowledged expiry, and another user's
//!   reserve of them is refused as held;
//! - acknowledged reservations that expired are EXPIRED after the reopen.
//!
//! The same database lives through every cycle, so each child starts on the
//! wreckage of the previous one. The clock is a `ManualClock` that the child
//! moves forward and reports (`T` lines), so the parent reopens at the
//! child's last time and knows exactly which holds are still live.
//!
//! CI runs 60 cycles; the long variant (`--ignored`) runs 600.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use seatbook::{
    BookingStatus, Durability, ManualClock, ReservationStatus, ReserveError, SeatState,
};
use seatbook_testkit::fixtures::{EVENT_ORIGIN, T0, USER_PASSWORD, admin};
use seatbook_testkit::invariants::{assert_audit_clean, seat_states};
use seatbook_testkit::reliability::{app_with_seats, open, price, seat_id};
use seatbook_testkit::rng::Rng;

const SEATS: usize = 32;
const USERS: usize = 4;
const CHILD_ENV: &str = "SEATBOOK_CRASH_CHILD";

fn email(u: usize) -> String {
    format!("crash{u}@kill.test")
}

/// The child's side: runs until killed (or `max_ops`), printing acks.
/// Line formats (space separated):
/// `T now` before every operation (the time it runs at),
/// `P op res_id` before an operation on an existing reservation or booking,
/// `R res_id user expires_at token seat...` reservation acknowledged,
/// `E res_id expires_at` extension acknowledged,
/// `X res_id` release acknowledged,
/// `B booking_id res_id` booking acknowledged,
/// `F booking_id res_id` declined payment acknowledged (reservation RELEASED),
/// `C booking_id` cancellation acknowledged.
#[allow(clippy::too_many_lines)]
fn child_main(dir: &str) {
    let seed: u64 = std::env::var("SEATBOOK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let start: u64 = std::env::var("SEATBOOK_CRASH_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(T0);
    let key = std::env::var("SEATBOOK_CRASH_KEY").expect("key");
    let max_ops: u64 = std::env::var("SEATBOOK_CRASH_MAX_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let mut rng = Rng::new(seed);
    let clock = ManualClock::new(start);
    let engine = open(&Path::new(dir).join("crash.redb"), &clock, Durability::Full);
    let app = engine.app("event-app", &key, EVENT_ORIGIN).expect("app");
    let sessions: Vec<_> = (0..USERS)
        .map(|u| {
            let t = app.login(&email(u), USER_PASSWORD).expect("login");
            app.user(t.expose()).expect("session")
        })
        .collect();
    let out = std::io::stdout();
    let say = |line: String| {
        let mut o = out.lock();
        writeln!(o, "{line}").expect("stdout");
        o.flush().expect("flush");
    };
    say("READY".into());
    let mut open_res: Vec<(u64, usize, String, u64)> = Vec::new(); // id, user, token, total
    // Bookings of earlier cycles can be cancelled too, so seats keep cycling.
    let mut bookings: Vec<String> = Vec::new();
    for session in &sessions {
        for b in app.user_bookings(session).expect("user bookings") {
            if b.status == seatbook::BookingStatus::Success {
                bookings.push(b.booking_id);
            }
        }
    }
    for _ in 0..max_ops {
        clock.advance(Duration::from_millis(1 + rng.below(20)));
        let now = engine.now();
        say(format!("T {now}"));
        let roll = rng.below(100);
        if roll >= 88 && !bookings.is_empty() {
            let b = bookings.swap_remove(rng.index(bookings.len()));
            say(format!("P cancel {b}"));
            if app.cancel_booking(&b).is_ok() {
                say(format!("C {b}"));
            }
        } else if roll < 45 || open_res.is_empty() {
            let user = rng.index(USERS);
            let k = 1 + rng.index(3);
            let seats = rng.distinct(SEATS, k);
            let ids: Vec<String> = seats.iter().map(|&s| seat_id(s)).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            // Short holds expire within a cycle; long ones outlive the kill.
            let ttl = if rng.chance(500) {
                Duration::from_millis(10 + rng.below(200))
            } else {
                Duration::from_millis(1_000 + rng.below(4_000))
            };
            if let Ok(r) = app.reserve(&sessions[user], &refs, Some(ttl)) {
                say(format!(
                    "R {} {user} {} {} {}",
                    r.info.reservation_id,
                    r.info.expires_at,
                    r.token.expose(),
                    ids.join(" ")
                ));
                let total = seats.iter().map(|&s| price(s)).sum();
                open_res.push((
                    r.info.reservation_id,
                    user,
                    r.token.expose().to_owned(),
                    total,
                ));
            }
        } else if roll < 75 {
            let (id, user, token, total) = open_res.swap_remove(rng.index(open_res.len()));
            let payment = if rng.chance(100) {
                format!("fail-{id}")
            } else {
                format!("pay-{id}")
            };
            say(format!("P confirm {id}"));
            match app.confirm(&sessions[user], &token, &payment, total) {
                Ok(b) => {
                    say(format!("B {} {id}", b.booking_id));
                    bookings.push(b.booking_id);
                }
                Err(seatbook::ConfirmError::PaymentDeclined { booking_id, .. }) => {
                    say(format!("F {booking_id} {id}"));
                }
                Err(_) => {}
            }
        } else if roll < 85 {
            let i = rng.index(open_res.len());
            let (id, user, token, _) = open_res[i].clone();
            say(format!("P extend {id}"));
            if let Ok(info) = app.extend(
                &sessions[user],
                &token,
                Duration::from_millis(1_000 + rng.below(4_000)),
            ) {
                say(format!("E {id} {}", info.expires_at));
            }
        } else {
            let (id, user, token, _) = open_res.swap_remove(rng.index(open_res.len()));
            say(format!("P release {id}"));
            if app.release(&sessions[user], &token).is_ok() {
                say(format!("X {id}"));
            }
        }
    }
    say("DONE".into());
}

/// The child's entry point inside the test binary: a no-op unless the
/// parent started this process as a crash child.
#[test]
fn crash_child_entry() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child_main(&dir);
    }
}

#[derive(Debug, Clone)]
struct AckRes {
    user: usize,
    token: String,
    seats: Vec<String>,
    expires_at: u64,
    released: bool,
    booking: Option<String>,
    declined: bool,
}

/// Everything the children were told, across all cycles.
#[derive(Debug, Default)]
struct Acks {
    res: BTreeMap<u64, AckRes>,
    bookings: BTreeMap<String, (u64, bool)>, // res_id, cancelled
    last_time: u64,
}

impl Acks {
    /// Applies one cycle's output. Returns the in-flight operation, if the
    /// child was killed in the middle of one.
    fn apply(&mut self, lines: &[String]) -> Option<(String, String)> {
        let mut pending: Option<(String, String)> = None;
        for line in lines {
            let f: Vec<&str> = line.split(' ').collect();
            match f[0] {
                "T" => {
                    self.last_time = f[1].parse().expect("time");
                    pending = Some(("any".into(), String::new()));
                }
                "P" => pending = Some((f[1].to_owned(), f[2].to_owned())),
                "R" => {
                    let id = f[1].parse().expect("id");
                    self.res.insert(
                        id,
                        AckRes {
                            user: f[2].parse().expect("user"),
                            expires_at: f[3].parse().expect("expiry"),
                            token: f[4].to_owned(),
                            seats: f[5..].iter().map(|s| (*s).to_owned()).collect(),
                            released: false,
                            booking: None,
                            declined: false,
                        },
                    );
                    pending = None;
                }
                "E" => {
                    let r = self.res.get_mut(&f[1].parse().expect("id")).expect("acked");
                    r.expires_at = f[2].parse().expect("expiry");
                    pending = None;
                }
                "X" => {
                    self.res
                        .get_mut(&f[1].parse().expect("id"))
                        .expect("acked")
                        .released = true;
                    pending = None;
                }
                "B" => {
                    let res_id: u64 = f[2].parse().expect("id");
                    self.res.get_mut(&res_id).expect("acked").booking = Some(f[1].to_owned());
                    self.bookings.insert(f[1].to_owned(), (res_id, false));
                    pending = None;
                }
                "F" => {
                    let res_id: u64 = f[2].parse().expect("id");
                    self.res.get_mut(&res_id).expect("acked").declined = true;
                    pending = None;
                }
                "C" => {
                    self.bookings.get_mut(f[1]).expect("acked").1 = true;
                    pending = None;
                }
                _ => {}
            }
        }
        pending
    }
}

struct Outcome {
    cycles: usize,
    acks: usize,
    bookings: usize,
    mid_op_kills: usize,
}

/// Runs `cycles` kill/reopen cycles on one database.
#[allow(clippy::too_many_lines)]
fn crash_cycles(cycles: usize, seed: u64) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.redb");
    let clock = ManualClock::new(T0);
    let key = {
        let engine = open(&path, &clock, Durability::Full);
        let created = app_with_seats(&admin(&engine), "event-app", EVENT_ORIGIN, SEATS);
        let app = engine
            .app("event-app", created.api_key.expose(), EVENT_ORIGIN)
            .expect("app");
        for u in 0..USERS + 1 {
            app.signup(&email(u), USER_PASSWORD).expect("signup");
        }
        created.api_key.expose().to_owned()
    };
    let exe = std::env::current_exe().expect("current exe");
    let mut rng = Rng::new(seed);
    let mut acks = Acks {
        last_time: T0,
        ..Acks::default()
    };
    let mut outcome = Outcome {
        cycles: 0,
        acks: 0,
        bookings: 0,
        mid_op_kills: 0,
    };
    for cycle in 0..cycles {
        // Time passes while nothing runs: some holds expire across the restart.
        let start = acks.last_time + 1 + rng.below(3_000);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(
                "SEATBOOK_CRASH_SEED",
                (seed * 1_000 + cycle as u64).to_string(),
            )
            .env("SEATBOOK_CRASH_START", start.to_string())
            .env("SEATBOOK_CRASH_KEY", &key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        // Kill after a random number of lines (0 = while it is still
        // opening and recovering), then a random sub-millisecond delay so
        // the kill lands anywhere inside the next operation.
        let kill_after = match rng.below(10) {
            0 => 0,
            1..=3 => rng.below(40),
            _ => 40 + rng.below(360),
        };
        let mut lines = Vec::new();
        let mut buf = String::new();
        while (lines.len() as u64) < kill_after {
            buf.clear();
            match reader.read_line(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buf.ends_with('\n') {
                        lines.push(buf.trim_end().to_owned());
                    }
                }
            }
        }
        let spin = rng.below(200_000);
        for _ in 0..spin {
            std::hint::spin_loop();
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Lines the child managed to print before dying count as acked.
        loop {
            buf.clear();
            match reader.read_line(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buf.ends_with('\n') {
                        lines.push(buf.trim_end().to_owned());
                    }
                }
            }
        }
        assert!(
            !lines.iter().any(|l| l.contains("panicked")),
            "child panicked: {lines:?}"
        );
        if std::env::var("CRASH_DEBUG").is_ok() {
            eprintln!("cycle {cycle}: kill after {kill_after}: {lines:?}");
        }
        // The child opened (and swept) at `start`: that time has passed,
        // whether or not it lived to print a `T` line.
        acks.last_time = start;
        let pending = acks.apply(&lines);
        if pending.is_some() {
            outcome.mid_op_kills += 1;
        }
        outcome.acks += lines
            .iter()
            .filter(|l| !l.starts_with('T') && !l.starts_with('P'))
            .count();
        verify_after_crash(&path, &key, &mut acks, pending.as_ref(), cycle);
        outcome.cycles += 1;
    }
    outcome.bookings = acks.bookings.len();
    outcome
}

/// Reopens at the child's last time and checks every acknowledgement.
#[allow(clippy::too_many_lines)]
fn verify_after_crash(
    path: &Path,
    key: &str,
    acks: &mut Acks,
    pending: Option<&(String, String)>,
    cycle: usize,
) {
    let now = acks.last_time;
    let clock = ManualClock::new(now);
    let engine = open(path, &clock, Durability::Full);
    let ctx = format!("cycle {cycle}");
    assert_audit_clean(&engine, &ctx);
    let app = engine.app("event-app", key, EVENT_ORIGIN).expect("app");
    let sessions: Vec<_> = (0..=USERS)
        .map(|u| {
            let t = app.login(&email(u), USER_PASSWORD).expect("login");
            app.user(t.expose()).expect("session")
        })
        .collect();
    let prober = &sessions[USERS];
    let in_flight = |op: &str, id: &str| pending.is_some_and(|(o, i)| o == op && i == id);
    let states = seat_states(&app, SEATS);
    let state_of = |seat: &str| states[seat[1..].parse::<usize>().expect("seat")];

    for (id, (res_id, cancelled)) in &acks.bookings {
        let b = app
            .booking(id)
            .unwrap_or_else(|e| panic!("{ctx}: acknowledged booking {id} lost: {e:?}"));
        let cancel_in_flight = in_flight("cancel", id);
        match (b.status, cancelled) {
            (BookingStatus::Cancelled, true) | (BookingStatus::Success, false) => {}
            (BookingStatus::Cancelled, false) if cancel_in_flight => {}
            (s, c) => panic!("{ctx}: booking {id} is {s:?}, acknowledged cancelled: {c}"),
        }
        assert_eq!(b.reservation_id, *res_id, "{ctx}: booking {id}");
        if b.status == BookingStatus::Success {
            for seat in &b.seat_ids {
                assert_eq!(
                    state_of(seat),
                    SeatState::Booked,
                    "{ctx}: seat {seat} of {id}"
                );
            }
        }
    }

    let mut probed = BTreeSet::new();
    for (id, r) in &acks.res {
        let info = app
            .reservation(&sessions[r.user], &r.token)
            .unwrap_or_else(|e| panic!("{ctx}: acknowledged reservation {id} lost: {e:?}"));
        let touched = in_flight("confirm", &id.to_string())
            || in_flight("release", &id.to_string())
            || in_flight("extend", &id.to_string());
        if let Some(b) = &r.booking {
            assert_eq!(info.status, ReservationStatus::Confirmed, "{ctx}: {id}");
            assert_eq!(info.booking_id.as_ref(), Some(b), "{ctx}: {id}");
            continue;
        }
        if r.released || r.declined {
            assert_eq!(info.status, ReservationStatus::Released, "{ctx}: {id}");
            continue;
        }
        if touched {
            // Killed during a confirm/release/extend of this one: either
            // outcome, but whole (the audit checked the seats and bookings).
            if info.status == ReservationStatus::Confirmed {
                let b = info.booking_id.as_deref().expect("booking id");
                let booking = app.booking(b).expect("in-flight booking");
                assert_eq!(booking.status, BookingStatus::Success, "{ctx}");
                for seat in &r.seats {
                    assert_eq!(state_of(seat), SeatState::Booked, "{ctx}: {seat}");
                }
            }
            continue;
        }
        if r.expires_at > now {
            // Acknowledged and live: the hold is back, with its expiry.
            assert_eq!(info.status, ReservationStatus::Active, "{ctx}: {id}");
            assert_eq!(info.expires_at, r.expires_at, "{ctx}: {id} expiry");
            for seat in &r.seats {
                assert_eq!(
                    state_of(seat),
                    SeatState::Held {
                        expires_at: r.expires_at
                    },
                    "{ctx}: seat {seat} of live reservation {id}"
                );
                if probed.insert(seat.clone()) {
                    let got = app.reserve(prober, &[seat.as_str()], None);
                    assert!(
                        matches!(got, Err(ReserveError::SeatHeld(_))),
                        "{ctx}: another user reserved {seat} of live reservation {id}: {got:?}"
                    );
                }
            }
        } else {
            assert_eq!(
                info.status,
                ReservationStatus::Expired,
                "{ctx}: {id} expired at {} (now {now})",
                r.expires_at
            );
        }
    }
    assert_audit_clean(&engine, &ctx);

    // The interrupted operation's outcome is durable now, whichever it was:
    // from here on it counts as acknowledged.
    if let Some((op, id)) = pending {
        match op.as_str() {
            "confirm" | "release" | "extend" => {
                let res_id: u64 = id.parse().expect("id");
                let r = acks.res.get_mut(&res_id).expect("acked reservation");
                let info = app
                    .reservation(&sessions[r.user], &r.token)
                    .expect("reservation");
                match info.status {
                    ReservationStatus::Confirmed => {
                        let b = info.booking_id.expect("booking id");
                        r.booking = Some(b.clone());
                        acks.bookings.insert(b, (res_id, false));
                    }
                    ReservationStatus::Released => r.released = true,
                    ReservationStatus::Active | ReservationStatus::Expired => {
                        r.expires_at = info.expires_at;
                    }
                }
            }
            "cancel" => {
                let b = app.booking(id).expect("booking");
                if let Some(entry) = acks.bookings.get_mut(id) {
                    entry.1 = b.status == BookingStatus::Cancelled;
                }
            }
            _ => {}
        }
    }
}

fn run(cycles: usize, seed: u64) {
    let t = std::time::Instant::now();
    let o = crash_cycles(cycles, seed);
    println!(
        "crash: {} cycles, {} acknowledgements, {} bookings, {} kills inside an operation, {:?}",
        o.cycles,
        o.acks,
        o.bookings,
        o.mid_op_kills,
        t.elapsed()
    );
    assert_eq!(o.cycles, cycles);
    assert!(
        o.acks > cycles,
        "children acknowledged too little: {}",
        o.acks
    );
    assert!(o.bookings > 0, "no booking was ever acknowledged");
}

#[test]
fn crash_kill_recovery() {
    run(60, 1);
}

#[test]
#[ignore = "long variant: cargo test --release --test crash -- --ignored --nocapture"]
fn crash_kill_recovery_long() {
    let cycles = std::env::var("CRASH_CYCLES").map_or(600, |s| s.parse().expect("cycles"));
    run(cycles, 7);
}
