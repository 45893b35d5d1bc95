//! Peers measured side by side, in one run, on this machine.
//!
//! - Redis `SET seat:lock:ID v NX EX 120` on loopback with
//!   `redis-benchmark` (50 clients; 1 M random keys out of 1 M on an empty
//!   database, and one hot key) against the lock table with the same key
//!   counts (2 threads);
//! - the same hot-seat attempts through seatbook's public API (2 threads);
//! - SQLite (bundled, WAL, `synchronous=FULL`) doing reserve + confirm, one
//!   transaction each (confirm = seat update + booking insert + reservation
//!   update), against seatbook's durable reserve + confirm, 64 buyers,
//!   in alternating rounds (`PEERS_ROUNDS`, default 3; medians in the
//!   table, each round on the last line). Twice: with the payment binding
//!   seatbook's money path makes between the two (a third transaction, the
//!   like-for-like peer), and without it (the peer as first written).
//!
//! Prints a table: figure, seatbook, peer, ratio, target. Redis is skipped
//! (with a note) if `redis-server`/`redis-benchmark` are not installed:
//! `benches/peers.sh` installs them and runs this. Only loopback traffic.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seatbook::locks::{LockTable, SeatKey};
use seatbook::{Durability, Engine, ReserveError, SystemClock};
use seatbook_testkit::bench;
use seatbook_testkit::bench::{Template, app, buyers, hot_seat, record, run_threads, seat_id};
use seatbook_testkit::rng::FastRng;

const SEATS: usize = 300_000;
const DURABLE_SECS: u64 = 6;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ---------------------------------------------------------------- Redis

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Self> {
        for tool in ["redis-server", "redis-benchmark", "redis-cli"] {
            if Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
            {
                eprintln!("peers: {tool} not found; run benches/peers.sh to install Redis");
                return None;
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { child, port };
        for _ in 0..100 {
            if redis.cli(&["ping"]).trim() == "PONG" {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("peers: redis-server did not answer on 127.0.0.1:{port}");
        None
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Requests per second of one `redis-benchmark` run of `command`.
    fn bench(&self, requests: u64, random_keys: Option<u64>, command: &[&str]) -> f64 {
        let mut cmd = Command::new("redis-benchmark");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-c", "50", "-n", &requests.to_string(), "--csv"]);
        if let Some(r) = random_keys {
            cmd.args(["-r", &r.to_string()]);
        }
        let out = cmd.args(command).output().expect("redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout);
        // "test","rps",... header, then one row per test.
        text.lines()
            .nth(1)
            .and_then(|row| row.split(',').nth(1))
            .and_then(|rps| rps.trim_matches('"').parse().ok())
            .unwrap_or(f64::NAN)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.cli(&["shutdown", "nosave"]);
        if self.child.wait_timeout_ok().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

trait WaitTimeout {
    fn wait_timeout_ok(&mut self) -> Option<()>;
}

impl WaitTimeout for Child {
    fn wait_timeout_ok(&mut self) -> Option<()> {
        for _ in 0..100 {
            if let Ok(Some(_)) = self.try_wait() {
                return Some(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

struct RedisFigures {
    random: f64,
    random_wins: u64,
    hot: f64,
}

fn redis() -> Option<RedisFigures> {
    let redis = Redis::start()?;
    let mut random = Vec::new();
    let mut wins = 0;
    for _ in 0..3 {
        redis.cli(&["flushall"]);
        random.push(redis.bench(
            1_000_000,
            Some(1_000_000),
            &["SET", "seat:lock:__rand_int__", "v", "NX", "EX", "120"],
        ));
        wins = redis.cli(&["dbsize"]).trim().parse().unwrap_or(0);
    }
    let mut hot = Vec::new();
    for _ in 0..3 {
        redis.cli(&["flushall"]);
        hot.push(redis.bench(
            500_000,
            None,
            &["SET", "seat:lock:hot", "v", "NX", "EX", "120"],
        ));
    }
    Some(RedisFigures {
        random: median(random),
        random_wins: wins,
        hot: median(hot),
    })
}

// ------------------------------------------------------------- seatbook

fn table(seats: usize) -> (LockTable, Vec<SeatKey>) {
    let t = LockTable::new(1);
    let keys = (0..seats)
        .map(|_| t.add_seat(false).expect("capacity"))
        .collect();
    (t, keys)
}

/// Attempts/s of `threads` threads making `attempts` attempts on random
/// seats of `keys` (never releasing: `SET NX EX`).
fn lock_attempts(t: &LockTable, keys: &[SeatKey], threads: usize, attempts: u64) -> (f64, u64) {
    let wins = AtomicU64::new(0);
    let elapsed = run_threads(threads, attempts, |thread, n| {
        let mut rng = FastRng::new(thread as u64 + 99);
        let mut w = 0;
        for _ in 0..n {
            let key = keys[rng.below(keys.len() as u64) as usize];
            if t.try_acquire(std::slice::from_ref(&key), 1_000, 121_000)
                .is_ok()
            {
                w += 1;
            }
        }
        wins.fetch_add(w, Ordering::Relaxed);
    });
    (
        attempts as f64 / elapsed.as_secs_f64(),
        wins.load(Ordering::Relaxed),
    )
}

fn seatbook_locks() -> (f64, u64, f64) {
    let mut random = Vec::new();
    let mut wins = 0;
    for _ in 0..5 {
        let (t, keys) = table(1_000_000);
        let (rate, w) = lock_attempts(&t, &keys, 2, 1_000_000);
        random.push(rate);
        wins = w;
    }
    let (t, keys) = table(1);
    let hot = median(
        (0..5)
            .map(|_| lock_attempts(&t, &keys, 2, 100_000_000).0)
            .collect(),
    );
    (median(random), wins, hot)
}

fn seatbook_api_hot() -> f64 {
    // Keep the fixture whole: it owns the engine and its directory.
    let fixture = hot_seat(10, 2);
    let (ctx, sessions, hot) = (&fixture.ctx, &fixture.sessions, &fixture.seat);
    let attempts = 10_000_000;
    median(
        (0..5)
            .map(|_| {
                let elapsed = run_threads(2, attempts, |t, n| {
                    for _ in 0..n {
                        match ctx.reserve(&sessions[t], &[hot.as_str()], None) {
                            Err(ReserveError::SeatHeld(_)) => {}
                            other => panic!("expected SeatHeld, got {other:?}"),
                        }
                    }
                });
                attempts as f64 / elapsed.as_secs_f64()
            })
            .collect(),
    )
}

/// Runs `cycle(thread, i)` on `threads` threads for `secs`; cycles/s.
fn for_duration(threads: usize, secs: u64, cycle: impl Fn(usize, usize) + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, done, cycle) = (&stop, &done, &cycle);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    cycle(t, i);
                    i += 1;
                }
                done.fetch_add(i as u64, Ordering::Relaxed);
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn seatbook_durable(template: &Template, buyers_n: usize, group_commit: bool) -> f64 {
    let (_dir, path) = template.copy();
    let engine = Engine::open(
        &path,
        bench::config(Durability::Full, group_commit, Arc::new(SystemClock)),
    )
    .expect("open");
    let ctx = app(&engine, &template.api_key);
    let sessions = buyers(&ctx, buyers_n);
    for_duration(buyers_n, DURABLE_SECS, |t, i| {
        let seat = i * buyers_n + t;
        assert!(seat < SEATS, "seat pool exhausted");
        let seat = seat_id(seat);
        let hold = ctx
            .reserve(&sessions[t], &[seat.as_str()], None)
            .expect("reserve");
        ctx.confirm(
            &sessions[t],
            hold.token.expose(),
            &format!("pay-{seat}"),
            hold.info.total_minor,
        )
        .expect("confirm");
    })
}

// --------------------------------------------------------------- SQLite

/// SQLite's reserve + confirm cycles per second. With `bind_payment`,
/// the peer does what seatbook's money path does (docs/design.md,
/// invariant 8): between the two, a third durable transaction binds the
/// payment id to the reservation before the verifier would be asked, and
/// the confirm marks the binding booked. Without it, the two transactions
/// of the peer as first written (before seatbook had the binding).
fn sqlite(threads: usize, bind_payment: bool) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = rusqlite::Connection::open(dir.path().join("peer.sqlite")).expect("sqlite");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=FULL;
         CREATE TABLE seats(id INTEGER PRIMARY KEY, price INTEGER NOT NULL,
             status INTEGER NOT NULL, held_by INTEGER, hold_expires INTEGER,
             booking_id TEXT);
         CREATE TABLE reservations(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
             seat_id INTEGER NOT NULL, token_hash BLOB NOT NULL, total INTEGER NOT NULL,
             expires_at INTEGER NOT NULL, status INTEGER NOT NULL, booking_id TEXT,
             payment_id TEXT);
         CREATE INDEX active_holds ON reservations(status, expires_at);
         CREATE TABLE bookings(id TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
             reservation_id INTEGER NOT NULL, seat_id INTEGER NOT NULL,
             payment_id TEXT NOT NULL, amount INTEGER NOT NULL, status INTEGER NOT NULL,
             created_at INTEGER NOT NULL);
         CREATE INDEX user_bookings ON bookings(user_id, id);
         CREATE TABLE payments(id TEXT PRIMARY KEY, reservation_id INTEGER NOT NULL,
             booking_id TEXT NOT NULL, state INTEGER NOT NULL, presented_at INTEGER NOT NULL);",
    )
    .expect("schema");
    {
        let tx = conn.unchecked_transaction().expect("tx");
        {
            let mut insert = tx
                .prepare("INSERT INTO seats(id, price, status) VALUES (?1, 5000, 0)")
                .expect("prepare");
            for i in 0..SEATS as i64 {
                insert.execute([i]).expect("insert seat");
            }
        }
        tx.commit().expect("commit");
    }
    let conn = Mutex::new(conn);
    let next_id = AtomicU64::new(1);
    for_duration(threads, DURABLE_SECS, |t, i| {
        let seat = (i * threads + t) as i64;
        assert!(seat < SEATS as i64, "seat pool exhausted");
        let user = t as i64 + 1;
        let now = 1_000_i64;
        let id = next_id.fetch_add(1, Ordering::Relaxed) as i64;
        let mut c = conn.lock().expect("lock");
        // Reserve: conditional hold on the seat + reservation insert.
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        let held = tx
            .execute(
                "UPDATE seats SET held_by = ?1, hold_expires = ?2 WHERE id = ?3 AND status = 0
                 AND (held_by IS NULL OR hold_expires <= ?4)",
                rusqlite::params![id, now + 120_000, seat, now],
            )
            .expect("hold");
        assert_eq!(held, 1);
        tx.execute(
            "INSERT INTO reservations(id, user_id, seat_id, token_hash, total, expires_at, status)
             VALUES (?1, ?2, ?3, ?4, 5000, ?5, 0)",
            rusqlite::params![id, user, seat, [7u8; 32].as_slice(), now + 120_000],
        )
        .expect("reservation");
        tx.commit().expect("commit reserve");
        drop(c);
        let booking = format!("BK-{id:020X}");
        let payment = format!("pay-{id}");
        if bind_payment {
            // Bind: the reservation is still active and the payment id
            // unused; the binding is durable before the verifier is asked.
            let mut c = conn.lock().expect("lock");
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .expect("begin");
            let status: i64 = tx
                .query_row("SELECT status FROM reservations WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .expect("reservation");
            assert_eq!(status, 0);
            tx.execute(
                "INSERT INTO payments(id, reservation_id, booking_id, state, presented_at)
                 VALUES (?1, ?2, ?3, 0, ?4)",
                rusqlite::params![payment, id, booking, now],
            )
            .expect("bind payment");
            tx.commit().expect("commit binding");
        }
        // Confirm: seat update + booking insert + reservation update.
        let mut c = conn.lock().expect("lock");
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        let status: i64 = tx
            .query_row("SELECT status FROM reservations WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("reservation");
        assert_eq!(status, 0);
        let booked = tx
            .execute(
                "UPDATE seats SET status = 1, booking_id = ?1 WHERE id = ?2 AND held_by = ?3
                 AND status = 0",
                rusqlite::params![booking, seat, id],
            )
            .expect("book");
        assert_eq!(booked, 1);
        tx.execute(
            "INSERT INTO bookings(id, user_id, reservation_id, seat_id, payment_id, amount,
             status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 5000, 0, ?6)",
            rusqlite::params![booking, user, id, seat, payment, now],
        )
        .expect("booking");
        tx.execute(
            "UPDATE reservations SET status = 1, booking_id = ?1, payment_id = ?2 WHERE id = ?3",
            rusqlite::params![booking, payment, id],
        )
        .expect("confirm reservation");
        if bind_payment {
            let marked = tx
                .execute("UPDATE payments SET state = 1 WHERE id = ?1", [&payment])
                .expect("payment booked");
            assert_eq!(marked, 1);
        }
        tx.commit().expect("commit confirm");
    })
}

// ---------------------------------------------------------------- table

fn row(figure: &str, ours: f64, peer: f64, target: f64) {
    row_with_ratio(figure, ours, peer, ours / peer, target);
}

/// A row whose ratio is not simply `ours / peer` (a median of ratios).
fn row_with_ratio(figure: &str, ours: f64, peer: f64, ratio: f64, target: f64) {
    let verdict = if target == 0.0 {
        "(reference)"
    } else if ratio.is_nan() {
        "n/a"
    } else if ratio >= target {
        "met"
    } else {
        "MISSED"
    };
    let target = if target == 0.0 {
        "-".to_owned()
    } else {
        format!(">= {target}x")
    };
    record(
        "peers.txt",
        &format!("| {figure} | {ours:.0} | {peer:.0} | {ratio:.1}x | {target} | {verdict} |"),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends
    }
    // `cargo bench --bench peers -- durable` measures only the durable rows.
    let durable_only = std::env::args().any(|a| a == "durable");
    let (redis, (lock_random, lock_wins, lock_hot), api_hot) = if durable_only {
        (None, (f64::NAN, 0, f64::NAN), f64::NAN)
    } else {
        eprintln!("peers: Redis (redis-benchmark, 50 clients, loopback)...");
        let redis = redis();
        eprintln!("peers: seatbook lock table...");
        let locks = seatbook_locks();
        eprintln!("peers: seatbook public API...");
        (redis, locks, seatbook_api_hot())
    };
    // The durable rows alternate SQLite and seatbook in rounds: this guest's
    // disk and CPU drift 10-20 % from one minute to the next, so one pair
    // of back-to-back measurements can land in different minutes. Each
    // round's ratio compares neighbours; the table shows medians.
    let rounds = durable_rounds();
    let template = Template::build(SEATS, Arc::new(SystemClock));
    eprintln!("peers: SQLite (WAL, synchronous=FULL), 64 threads, with and without binding...");
    let sqlite_64 = sqlite(64, false);
    let bound_64 = sqlite(64, true);
    let mut per_round = Vec::new();
    let mut bound_rounds = Vec::new();
    for round in 1..=rounds {
        eprintln!(
            "peers: durable round {round}/{rounds}: SQLite 1 thread (binding), \
             SQLite 1 thread, seatbook 64 buyers..."
        );
        let bound_1 = sqlite(1, true);
        let sqlite_1 = sqlite(1, false);
        let durable_on = seatbook_durable(&template, 64, true);
        per_round.push((sqlite_1, durable_on));
        bound_rounds.push((bound_1, durable_on));
    }
    eprintln!("peers: seatbook durable, group commit off...");
    let durable_off = seatbook_durable(&template, 64, false);
    let sqlite_1 = median(per_round.iter().map(|r| r.0).collect());
    let durable_on = median(per_round.iter().map(|r| r.1).collect());
    let sqlite_best = sqlite_1.max(sqlite_64);
    let durable_ratio = median(
        per_round
            .iter()
            .map(|&(one, ours)| ours / one.max(sqlite_64))
            .collect(),
    );
    let bound_1 = median(bound_rounds.iter().map(|r| r.0).collect());
    let bound_best = bound_1.max(bound_64);
    let bound_ratio = median(
        bound_rounds
            .iter()
            .map(|&(one, ours)| ours / one.max(bound_64))
            .collect(),
    );

    let (r_random, r_hot, r_wins) = redis.as_ref().map_or((f64::NAN, f64::NAN, 0), |r| {
        (r.random, r.hot, r.random_wins)
    });
    record("peers.txt", "");
    record(
        "peers.txt",
        "| figure (per second) | seatbook | peer | ratio | target | |",
    );
    record("peers.txt", "|---|---:|---:|---:|---|---|");
    row(
        "lock attempts, 2 threads, 1 M random of 1 M seats vs Redis SET NX EX (50 clients)",
        lock_random,
        r_random,
        100.0,
    );
    row(
        "lock attempts, 2 threads, one hot seat vs Redis SET NX EX on one key",
        lock_hot,
        r_hot,
        200.0,
    );
    row(
        "reserve attempts via public API (auth'd app + user), 2 threads, hot seat vs Redis hot key",
        api_hot,
        r_hot,
        20.0,
    );
    row_with_ratio(
        &format!(
            "durable reserve+confirm cycles, 64 buyers, group commit vs SQLite WAL FULL \
             binding the payment too, 3 transactions like seatbook (best of 1/64 threads; \
             medians of {rounds} alternating rounds, median ratio)"
        ),
        durable_on,
        bound_best,
        bound_ratio,
        10.0,
    );
    row_with_ratio(
        "durable reserve+confirm cycles, 64 buyers, group commit vs SQLite WAL FULL \
         without the payment binding, 2 transactions (the peer before issue 14; same method)",
        durable_on,
        sqlite_best,
        durable_ratio,
        10.0,
    );
    row(
        "durable reserve+confirm cycles, 64 buyers, no group commit vs SQLite (same)",
        durable_off,
        sqlite_best,
        0.0,
    );
    let rounds_text = |rounds: &[(f64, f64)], best_of_64: f64| -> String {
        rounds
            .iter()
            .map(|&(one, ours)| {
                format!(
                    "{ours:.0} / {:.0} = {:.1}x",
                    one.max(best_of_64),
                    ours / one.max(best_of_64)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    record(
        "peers.txt",
        &format!(
            "\nwins in 1 M random attempts: seatbook {lock_wins}, Redis {r_wins}; \
             SQLite cycles/s: 1 thread {sqlite_1:.0} (median), 64 threads {sqlite_64:.0}; \
             with the binding: 1 thread {bound_1:.0} (median), 64 threads {bound_64:.0}; \
             seatbook 64 buyers: group commit {durable_on:.0} (median), without {durable_off:.0}; \
             durable rounds (seatbook / SQLite best): with the binding {}; without {}",
            rounds_text(&bound_rounds, bound_64),
            rounds_text(&per_round, sqlite_64),
        ),
    );
}

/// Rounds of the durable rows: `PEERS_ROUNDS`, default 3.
fn durable_rounds() -> usize {
    std::env::var("PEERS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(3)
}
