//! Deterministic simulation: one thread interleaves the operations of many
//! simulated buyers in two apps, moves a manual clock, sweeps, purges old
//! history, archives an app's entity and sells the next one's seats (which
//! take the archived seats' keys), and drops and reopens the engine at
//! random points; after every step the engine is
//! compared with a small reference model of seats, reservations and
//! bookings (docs/design.md, section 3), and audited.
//!
//! Every decision comes from one stream of numbers, so a seed reproduces a
//! run exactly: a failure prints `SIM_SEED=<seed>`; rerun it alone with
//! `SIM_SEED=<seed> cargo test --test simulation one_seed -- --nocapture`.
//! The same driver runs under proptest, which shrinks a failing stream of
//! choices to a short one.

use std::time::Duration;

use proptest::prelude::*;
use seatbook::{
    AdminError, AppContext, BookingStatus, CancelError, ConfirmError, Durability, Engine,
    HoldError, HoldsOnClose, ManualClock, NewSeat, QueryError, ReservationStatus, ReserveError,
    SeatAttributes, SeatFilter, SeatState, UserSession,
};
use seatbook_testkit::fixtures::{BUS_ORIGIN, EVENT_ORIGIN, T0, USER_PASSWORD, admin};
use seatbook_testkit::model::{MBooking, MRes, Model};
use seatbook_testkit::reliability::{ENTITY, app_with_seats, open, price, seat_id};
use seatbook_testkit::rng::Rng;

const SEATS: usize = 6;
const USERS: usize = 3;
const APPS: [(&str, &str); 2] = [("event-app", EVENT_ORIGIN), ("bus-app", BUS_ORIGIN)];
const MAX_TOTAL_MS: u64 = 30 * 60 * 1000;

/// Seat `s` of generation `generation` of an app's entity (generation 0
/// is the reliability world's `S{s}` of entity `E1`).
fn sid(generation: usize, s: usize) -> String {
    if generation == 0 {
        seat_id(s)
    } else {
        format!("S{s}-g{generation}")
    }
}

fn entity_of(generation: usize) -> String {
    if generation == 0 {
        ENTITY.to_owned()
    } else {
        format!("E-g{generation}")
    }
}

/// Effective states of generation `generation`'s seats, by seat number.
fn seat_states(app: &AppContext, generation: usize) -> Result<Vec<SeatState>, String> {
    let listed = app
        .list_seats(&entity_of(generation), SeatFilter::All)
        .map_err(|e| format!("list seats: {e:?}"))?;
    check(listed.len() == SEATS, || {
        format!("generation {generation}: {} seats listed", listed.len())
    })?;
    let mut out = vec![SeatState::Available; SEATS];
    for view in listed {
        let s = (0..SEATS)
            .find(|&s| sid(generation, s) == view.seat_id)
            .ok_or_else(|| format!("unexpected seat {}", view.seat_id))?;
        out[s] = view.state;
    }
    Ok(out)
}

/// Where the driver's decisions come from.
trait Choices {
    fn next(&mut self) -> u64;
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

impl Choices for Rng {
    fn next(&mut self) -> u64 {
        self.next_u64()
    }
}

/// A recorded stream (proptest): zeros once it runs out.
struct Recorded<'a>(std::slice::Iter<'a, u64>);

impl Choices for Recorded<'_> {
    fn next(&mut self) -> u64 {
        self.0.next().copied().unwrap_or(0)
    }
}

struct Live {
    engine: Engine,
    apps: Vec<AppContext>,
}

struct Sim {
    dir: tempfile::TempDir,
    clock: ManualClock,
    keys: Vec<String>,
    live: Option<Live>,
    sessions: Vec<UserSession>,
    model: Model<SEATS>,
    log: Vec<String>,
    /// Reservations purged so far (the driver must reach some).
    purged: usize,
    /// Entities archived so far.
    archived: usize,
}

type Step = Result<(), String>;

fn check(cond: bool, what: impl FnOnce() -> String) -> Step {
    if cond { Ok(()) } else { Err(what()) }
}

impl Sim {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let engine = open(&dir.path().join("sim.redb"), &clock, Durability::None);
        let admin = admin(&engine);
        let keys: Vec<String> = APPS
            .iter()
            .map(|(id, origin)| {
                app_with_seats(&admin, id, origin, SEATS)
                    .api_key
                    .expose()
                    .to_owned()
            })
            .collect();
        let apps: Vec<AppContext> = APPS
            .iter()
            .zip(&keys)
            .map(|((id, origin), key)| engine.app(id, key, origin).expect("app"))
            .collect();
        let sessions = (0..USERS)
            .map(|u| {
                let token = apps[0]
                    .signup(&format!("buyer{u}@sim.test"), USER_PASSWORD)
                    .expect("signup");
                apps[0].user(token.expose()).expect("session")
            })
            .collect();
        let model = Model {
            next_id: 1,
            ..Model::default()
        };
        Self {
            dir,
            clock,
            keys,
            live: Some(Live { engine, apps }),
            sessions,
            model,
            log: Vec::new(),
            purged: 0,
            archived: 0,
        }
    }

    fn live(&self) -> &Live {
        self.live.as_ref().expect("engine open")
    }

    fn now(&self) -> u64 {
        self.live().engine.now()
    }

    fn reopen(&mut self) -> Step {
        self.live = None; // every handle dropped: the file is closed
        let engine = open(
            &self.dir.path().join("sim.redb"),
            &self.clock,
            Durability::None,
        );
        let apps = APPS
            .iter()
            .zip(&self.keys)
            .map(|((id, origin), key)| engine.app(id, key, origin).expect("app after reopen"))
            .collect();
        self.live = Some(Live { engine, apps });
        let now = self.now();
        self.model.sweep(now);
        // Logging in again must work after a reopen.
        let token = self.live().apps[1]
            .login("buyer0@sim.test", USER_PASSWORD)
            .map_err(|e| format!("login after reopen: {e}"))?;
        let s = self.live().apps[1]
            .user(token.expose())
            .map_err(|e| format!("session after reopen: {e}"))?;
        check(s.user_id() == self.sessions[0].user_id(), || {
            "login after reopen gave another user".into()
        })
    }

    fn pick_res(&self, c: &mut impl Choices) -> Option<u64> {
        if self.model.res.is_empty() {
            return None;
        }
        // Mostly recent reservations: they are the interesting ones.
        let ids: Vec<u64> = self.model.res.keys().rev().take(8).copied().collect();
        Some(ids[c.index(ids.len())])
    }

    #[allow(clippy::too_many_lines)]
    fn step(&mut self, c: &mut impl Choices) -> Step {
        let now = self.now();
        match c.below(100) {
            0..=29 => self.reserve(c, now),
            30..=39 => self.extend(c, now),
            40..=45 => self.release(c),
            46..=64 => self.confirm(c, now),
            65..=69 => self.cancel(c),
            70..=84 => {
                let by = if c.chance(100) {
                    1000 + c.below(60_000)
                } else {
                    c.below(40)
                };
                self.log.push(format!("advance {by}ms"));
                self.clock.advance(Duration::from_millis(by));
                Ok(())
            }
            85..=89 => {
                self.log.push("sweep".into());
                let swept = self
                    .live()
                    .engine
                    .sweep_expired()
                    .map_err(|e| format!("sweep: {e}"))?;
                let expected = self.model.sweep(now);
                check(swept == expected, || {
                    format!("sweep expired {swept}, model {expected}")
                })
            }
            90..=92 => {
                self.log.push("reopen".into());
                self.reopen()
            }
            93..=94 => self.purge(c),
            95 => self.archive(c),
            _ => self.foreign(c),
        }
    }

    fn reserve(&mut self, c: &mut impl Choices, now: u64) -> Step {
        let app = c.index(2);
        let user = c.index(USERS);
        let k = 1 + c.index(3);
        let mut seats: Vec<usize> = (0..k).map(|_| c.index(SEATS)).collect();
        let unknown = c.chance(30);
        let ttl_ms = match c.below(20) {
            0 => 5,                // below min_ttl
            1 => 16 * 60 * 1000,   // above max_ttl
            _ => 10 + c.below(90), // 10..100 ms
        };
        let generation = self.model.generation[app];
        // Now and then a seat of the archived generation before: gone.
        let stale = generation > 0 && c.chance(50);
        let seat_generation = if stale { generation - 1 } else { generation };
        let mut ids: Vec<String> = seats.iter().map(|&s| sid(seat_generation, s)).collect();
        if unknown {
            ids.push("S99".into());
        }
        self.log.push(format!(
            "reserve app{app} user{user} {ids:?} ttl {ttl_ms}ms"
        ));
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let got = self.live().apps[app].reserve(
            &self.sessions[user],
            &refs,
            Some(Duration::from_millis(ttl_ms)),
        );
        // The model's verdict, in the engine's documented order.
        let expected: Result<(), String> = (|| {
            if !(10..=15 * 60 * 1000).contains(&ttl_ms) {
                return Err("InvalidInput".into());
            }
            let mut seen = Vec::new();
            for id in &ids {
                if id == "S99" || stale {
                    return Err(format!("SeatNotFound({id})"));
                }
                if seen.contains(id) {
                    return Err("InvalidInput".into());
                }
                seen.push(id.clone());
            }
            for &s in &seats {
                match self.model.state(app, s, now) {
                    SeatState::Booked => {
                        return Err(format!("SeatBooked({})", sid(seat_generation, s)));
                    }
                    SeatState::Held { .. } => {
                        return Err(format!("SeatHeld({})", sid(seat_generation, s)));
                    }
                    SeatState::Available => {}
                }
            }
            Ok(())
        })();
        match (got, expected) {
            (Ok(r), Ok(())) => {
                let id = self.model.next_id;
                check(r.info.reservation_id == id, || {
                    format!(
                        "reservation id {} (fencing), model {id}",
                        r.info.reservation_id
                    )
                })?;
                check(r.info.expires_at == now + ttl_ms, || "expiry".into())?;
                seats.dedup();
                let total = seats.iter().map(|&s| price(s)).sum();
                check(r.info.total_minor == total, || "total".into())?;
                self.model.next_id += 1;
                self.model.res.insert(
                    id,
                    MRes {
                        app,
                        generation,
                        user,
                        seats,
                        token: r.token.expose().to_owned(),
                        total,
                        created_at: now,
                        expires_at: now + ttl_ms,
                        status: ReservationStatus::Active,
                        booking: None,
                        payment: None,
                    },
                );
                Ok(())
            }
            (Err(e), Err(want)) => {
                let name = match &e {
                    ReserveError::InvalidInput(_) => "InvalidInput".to_owned(),
                    ReserveError::SeatNotFound(s) => format!("SeatNotFound({s})"),
                    ReserveError::SeatBooked(s) => format!("SeatBooked({s})"),
                    ReserveError::SeatHeld(s) => format!("SeatHeld({s})"),
                    other => format!("{other:?}"),
                };
                check(name == want, || {
                    format!("reserve: got {name}, model {want}")
                })
            }
            (got, want) => Err(format!("reserve: got {got:?}, model {want:?}")),
        }
    }

    fn extend(&mut self, c: &mut impl Choices, now: u64) -> Step {
        let Some(id) = self.pick_res(c) else {
            return Ok(());
        };
        let ttl_ms = if c.chance(50) {
            20 * 60 * 1000
        } else {
            10 + c.below(90)
        };
        let r = self.model.res[&id].clone();
        self.log.push(format!("extend {id} ttl {ttl_ms}ms"));
        let got = self.live().apps[r.app].extend(
            &self.sessions[r.user],
            &r.token,
            Duration::from_millis(ttl_ms),
        );
        let want = if ttl_ms > 15 * 60 * 1000 {
            Err("InvalidInput")
        } else if r.status != ReservationStatus::Active {
            Err("ReservationNotActive")
        } else if now + ttl_ms > r.created_at + MAX_TOTAL_MS {
            Err("HoldLimitExceeded")
        } else if now >= r.expires_at {
            Err("HoldExpired")
        } else {
            Ok(())
        };
        match (got, want) {
            (Ok(info), Ok(())) => {
                check(info.expires_at == now + ttl_ms, || "extended expiry".into())?;
                if let Some(m) = self.model.res.get_mut(&id) {
                    m.expires_at = now + ttl_ms;
                }
                Ok(())
            }
            (Err(e), Err(w)) => {
                let name = match e {
                    HoldError::InvalidInput(_) => "InvalidInput",
                    HoldError::ReservationNotActive => "ReservationNotActive",
                    HoldError::HoldLimitExceeded => "HoldLimitExceeded",
                    HoldError::HoldExpired => "HoldExpired",
                    _ => "other",
                };
                check(name == w, || format!("extend: got {e:?}, model {w}"))
            }
            (got, want) => Err(format!("extend: got {got:?}, model {want:?}")),
        }
    }

    fn release(&mut self, c: &mut impl Choices) -> Step {
        let Some(id) = self.pick_res(c) else {
            return Ok(());
        };
        let r = self.model.res[&id].clone();
        self.log.push(format!("release {id}"));
        let got = self.live().apps[r.app].release(&self.sessions[r.user], &r.token);
        match (got, r.status) {
            (Ok(()), ReservationStatus::Active) => {
                if let Some(m) = self.model.res.get_mut(&id) {
                    m.status = ReservationStatus::Released;
                }
                Ok(())
            }
            (Err(HoldError::ReservationNotActive), s) if s != ReservationStatus::Active => Ok(()),
            (got, s) => Err(format!("release: got {got:?}, model status {s:?}")),
        }
    }

    #[allow(clippy::too_many_lines)]
    fn confirm(&mut self, c: &mut impl Choices, now: u64) -> Step {
        let Some(id) = self.pick_res(c) else {
            return Ok(());
        };
        let r = self.model.res[&id].clone();
        let payment = match c.below(10) {
            0 => format!("fail-{id}"),
            1 => "pay-other".to_owned(),
            _ => format!("pay-{id}"),
        };
        let amount = if c.chance(60) { r.total + 1 } else { r.total };
        self.log
            .push(format!("confirm {id} payment {payment} amount {amount}"));
        let got =
            self.live().apps[r.app].confirm(&self.sessions[r.user], &r.token, &payment, amount);
        match r.status {
            ReservationStatus::Confirmed => {
                return if r.payment.as_deref() == Some(payment.as_str()) {
                    match got {
                        Ok(b) => check(Some(&b.booking_id) == r.booking.as_ref(), || {
                            "replayed confirm returned another booking".into()
                        }),
                        Err(e) => Err(format!("replayed confirm failed: {e:?}")),
                    }
                } else {
                    check(matches!(got, Err(ConfirmError::PaymentConflict)), || {
                        format!("confirm with another payment id: {got:?}")
                    })
                };
            }
            ReservationStatus::Expired | ReservationStatus::Released => {
                // A reservation whose payment was declined is bound to it:
                // the same id replays the decline, another one conflicts.
                return match r.payment.as_deref() {
                    Some(p) if p == payment => check(
                        matches!(got, Err(ConfirmError::PaymentDeclined { .. })),
                        || format!("replayed decline: {got:?}"),
                    ),
                    Some(_) => check(matches!(got, Err(ConfirmError::PaymentConflict)), || {
                        format!("confirm of a declined reservation with another id: {got:?}")
                    }),
                    None => check(
                        matches!(got, Err(ConfirmError::ReservationNotActive)),
                        || format!("confirm of a closed reservation: {got:?}"),
                    ),
                };
            }
            ReservationStatus::Active => {}
        }
        if amount != r.total {
            return check(
                matches!(got, Err(ConfirmError::AmountMismatch { expected, got }) if expected == r.total && got == amount),
                || format!("confirm with a wrong amount: {got:?}"),
            );
        }
        if now >= r.expires_at {
            // A late confirm books nothing and makes its own record say so
            // (only its own: other expired holds wait for a sweep).
            if let Some(m) = self.model.res.get_mut(&id) {
                m.status = ReservationStatus::Expired;
            }
            return check(matches!(got, Err(ConfirmError::HoldExpired)), || {
                format!("late confirm: {got:?}")
            });
        }
        // A payment id pays for one reservation only (bound even if declined).
        match self.model.bindings.get(&(r.app, payment.clone())) {
            Some(&other) if other != id => {
                return check(matches!(got, Err(ConfirmError::PaymentAlreadyUsed)), || {
                    format!("reused payment id: {got:?}")
                });
            }
            _ => {
                self.model.bindings.insert((r.app, payment.clone()), id);
            }
        }
        let m = self.model.res.get_mut(&id).expect("reservation");
        m.payment = Some(payment.clone());
        if payment.starts_with("fail") {
            let Err(ConfirmError::PaymentDeclined { booking_id, .. }) = got else {
                return Err(format!("declined payment: {got:?}"));
            };
            m.status = ReservationStatus::Released;
            self.model.booking_order.push(booking_id.clone());
            self.model.bookings.insert(
                booking_id,
                MBooking {
                    app: r.app,
                    generation: r.generation,
                    user: r.user,
                    seats: r.seats.clone(),
                    res_id: id,
                    status: BookingStatus::Failed,
                },
            );
            return Ok(());
        }
        let b = got.map_err(|e| format!("confirm of a live hold failed: {e:?}"))?;
        check(
            b.status == BookingStatus::Success
                && b.reservation_id == id
                && b.amount_minor == r.total,
            || format!("booking {b:?}"),
        )?;
        m.status = ReservationStatus::Confirmed;
        m.booking = Some(b.booking_id.clone());
        for &s in &r.seats {
            check(self.model.booked[r.app][s].is_none(), || {
                format!("model: seat {s} booked twice")
            })?;
            self.model.booked[r.app][s] = Some(b.booking_id.clone());
        }
        self.model.booking_order.push(b.booking_id.clone());
        self.model.bookings.insert(
            b.booking_id,
            MBooking {
                app: r.app,
                generation: r.generation,
                user: r.user,
                seats: r.seats,
                res_id: id,
                status: BookingStatus::Success,
            },
        );
        Ok(())
    }

    fn cancel(&mut self, c: &mut impl Choices) -> Step {
        if self.model.bookings.is_empty() {
            return Ok(());
        }
        let n = c.index(self.model.booking_order.len());
        let id = self.model.booking_order[n].clone();
        let b = self.model.bookings[&id].clone();
        let via = c.index(3); // 0, 1: an app context; 2: the admin
        self.log.push(format!("cancel booking #{n} via {via}"));
        let got: Result<(), String> = if via == 2 {
            admin(&self.live().engine)
                .cancel_booking(&id)
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        } else {
            self.live().apps[via]
                .cancel_booking(&id)
                .map(|_| ())
                .map_err(|e| match e {
                    CancelError::BookingNotFound => "BookingNotFound".into(),
                    CancelError::BookingNotCancellable => "BookingNotCancellable".into(),
                    CancelError::EntityArchived(_) => "EntityArchived".into(),
                    other => format!("{other:?}"),
                })
        };
        if via != 2 && via != b.app {
            return check(got == Err("BookingNotFound".to_owned()), || {
                format!("cross-app cancel: {got:?}")
            });
        }
        if b.status != BookingStatus::Success {
            return check(got.is_err(), || "cancelled a non-SUCCESS booking".into());
        }
        if b.generation != self.model.generation[b.app] {
            return check(
                got == Err("EntityArchived".to_owned())
                    || got.as_ref().is_err_and(|e| e.starts_with("EntityArchived")),
                || format!("cancel of an archived entity's booking: {got:?}"),
            );
        }
        got.map_err(|e| format!("cancel failed: {e}"))?;
        for &s in &b.seats {
            self.model.booked[b.app][s] = None;
        }
        if let Some(m) = self.model.bookings.get_mut(&id) {
            m.status = BookingStatus::Cancelled;
        }
        Ok(())
    }

    /// The admin closes an app's entity (releasing its live holds),
    /// archives it and puts the next generation's seats on sale; the new
    /// seats take the old ones' keys.
    fn archive(&mut self, c: &mut impl Choices) -> Step {
        let app = c.index(2);
        let generation = self.model.generation[app];
        let (app_id, _) = APPS[app];
        self.log
            .push(format!("archive app{app} generation {generation}"));
        let now = self.now();
        let admin = admin(&self.live().engine);
        let entity = entity_of(generation);
        admin
            .close_entity(app_id, &entity, HoldsOnClose::Release)
            .map_err(|e| format!("close: {e:?}"))?;
        // One thread: no confirm can be committing.
        admin
            .archive_entity(app_id, &entity)
            .map_err(|e: AdminError| format!("archive: {e:?}"))?;
        for r in self.model.res.values_mut() {
            if r.app == app
                && r.generation == generation
                && r.status == ReservationStatus::Active
                && r.expires_at > now
            {
                r.status = ReservationStatus::Released;
            }
        }
        let next = generation + 1;
        let seats: Vec<NewSeat> = (0..SEATS)
            .map(|s| NewSeat {
                seat_id: sid(next, s),
                price_minor: price(s),
                currency: "EUR".into(),
                attributes: SeatAttributes::default(),
            })
            .collect();
        admin
            .create_seats(app_id, &entity_of(next), &seats)
            .map_err(|e| format!("new seats: {e:?}"))?;
        self.model.generation[app] = next;
        self.model.booked[app] = std::array::from_fn(|_| None);
        self.archived += 1;
        // The archived entity's seat ids stay taken.
        let again = admin.create_seats(app_id, "LATER", &seats[..1]);
        check(
            matches!(again, Err(AdminError::SeatAlreadyExists(_))),
            || format!("a live seat id created twice: {again:?}"),
        )?;
        let old = admin.create_seats(
            app_id,
            "LATER",
            &[NewSeat {
                seat_id: sid(generation, 0),
                ..seats[0].clone()
            }],
        );
        check(matches!(old, Err(AdminError::SeatAlreadyExists(_))), || {
            format!("an archived seat id created again: {old:?}")
        })
    }

    /// The admin's purge of what ended more than the longest hold ago
    /// (after a long pause, half the time): the model drops the same
    /// reservations and FAILED records, and their tokens stop answering.
    fn purge(&mut self, c: &mut impl Choices) -> Step {
        if c.chance(500) {
            self.log.push(format!("advance {MAX_TOTAL_MS}ms"));
            self.clock.advance(Duration::from_millis(MAX_TOTAL_MS));
        }
        self.log.push("purge".into());
        let now = self.now();
        let got = admin(&self.live().engine)
            .purge_history(Duration::from_millis(MAX_TOTAL_MS))
            .map_err(|e| format!("purge: {e:?}"))?;
        // The purge sweeps first.
        self.model.sweep(now);
        let cutoff = now.saturating_sub(MAX_TOTAL_MS);
        let mut gone = Vec::new();
        let mut failed = Vec::new();
        // The newest stays: reopening continues ids after it.
        let newest = self.model.res.keys().next_back().copied();
        for (&id, r) in &self.model.res {
            if Some(id) == newest
                || r.created_at >= cutoff
                || !matches!(
                    r.status,
                    ReservationStatus::Expired | ReservationStatus::Released
                )
            {
                continue;
            }
            let bound_here = r
                .payment
                .as_ref()
                .is_some_and(|p| self.model.bindings.get(&(r.app, p.clone())) == Some(&id));
            let attempt = self
                .model
                .bookings
                .iter()
                .find(|(_, b)| b.res_id == id)
                .map(|(bid, b)| (bid.clone(), b.status));
            match attempt {
                Some((bid, BookingStatus::Failed)) if bound_here => failed.push(bid),
                Some(_) => continue,
                None => {}
            }
            gone.push(id);
        }
        check(
            got.reservations == gone.len() as u64 && got.failed_attempts == failed.len() as u64,
            || {
                format!(
                    "purge: engine {got:?}, model {} and {}",
                    gone.len(),
                    failed.len()
                )
            },
        )?;
        self.purged += gone.len();
        for id in gone {
            let r = self.model.res.remove(&id).expect("model reservation");
            let read = self.live().apps[r.app].reservation(&self.sessions[r.user], &r.token);
            check(matches!(read, Err(QueryError::ReservationNotFound)), || {
                format!("purged reservation {id}: {read:?}")
            })?;
        }
        for bid in failed {
            self.model.bookings.remove(&bid);
            self.model.booking_order.retain(|b| *b != bid);
        }
        Ok(())
    }

    /// Tokens used where they do not belong: another app, another user,
    /// a forged secret. Each must look like "not found" and change nothing.
    fn foreign(&mut self, c: &mut impl Choices) -> Step {
        let Some(id) = self.pick_res(c) else {
            return Ok(());
        };
        let r = self.model.res[&id].clone();
        let other_app = 1 - r.app;
        let other_user = (r.user + 1 + c.index(USERS - 1)) % USERS;
        let forged = format!("rsv_{id}.{}", "A".repeat(43));
        self.log.push(format!("foreign use of {id}"));
        let apps = &self.live().apps;
        let me = &self.sessions[r.user];
        let them = &self.sessions[other_user];
        let attempts = [
            apps[other_app].reservation(me, &r.token).err(),
            apps[r.app].reservation(them, &r.token).err(),
            apps[r.app].reservation(me, &forged).err(),
        ];
        for e in attempts {
            check(matches!(e, Some(QueryError::ReservationNotFound)), || {
                format!("foreign reservation read: {e:?}")
            })?;
        }
        let confirm = apps[other_app].confirm(me, &r.token, "pay-x", r.total);
        check(
            matches!(confirm, Err(ConfirmError::ReservationNotFound)),
            || format!("cross-app confirm: {confirm:?}"),
        )?;
        let confirm = apps[r.app].confirm(them, &r.token, "pay-x", r.total);
        check(
            matches!(confirm, Err(ConfirmError::ReservationNotFound)),
            || format!("other user's confirm: {confirm:?}"),
        )?;
        let release = apps[r.app].release(them, &r.token);
        check(
            matches!(release, Err(HoldError::ReservationNotFound)),
            || format!("other user's release: {release:?}"),
        )?;
        let extend = apps[other_app].extend(me, &r.token, Duration::from_millis(50));
        check(
            matches!(extend, Err(HoldError::ReservationNotFound)),
            || format!("cross-app extend: {extend:?}"),
        )
    }

    /// The engine against the model, everything observable.
    fn compare(&self) -> Step {
        let live = self.live();
        let now = self.now();
        for (a, app) in live.apps.iter().enumerate() {
            let states = seat_states(app, self.model.generation[a])?;
            for (s, got) in states.iter().enumerate() {
                let want = self.model.state(a, s, now);
                check(*got == want, || {
                    format!("app{a} seat S{s}: engine {got:?}, model {want:?}")
                })?;
            }
        }
        for (id, r) in &self.model.res {
            let info = live.apps[r.app]
                .reservation(&self.sessions[r.user], &r.token)
                .map_err(|e| format!("reservation {id}: {e:?}"))?;
            check(
                info.reservation_id == *id
                    && info.status == r.status
                    && info.expires_at == r.expires_at
                    && info.booking_id == r.booking
                    && info.total_minor == r.total
                    && info.seat_ids
                        == r.seats
                            .iter()
                            .map(|&s| sid(r.generation, s))
                            .collect::<Vec<_>>(),
                || format!("reservation {id}: engine {info:?}, model {r:?}"),
            )?;
        }
        for (id, b) in &self.model.bookings {
            let got = live.apps[b.app]
                .booking(id)
                .map_err(|e| format!("booking {id}: {e:?}"))?;
            check(
                got.status == b.status
                    && got.reservation_id == b.res_id
                    && got.user_id == self.sessions[b.user].user_id()
                    && got.seat_ids
                        == b.seats
                            .iter()
                            .map(|&s| sid(b.generation, s))
                            .collect::<Vec<_>>(),
                || format!("booking {id}: engine {got:?}, model {b:?}"),
            )?;
            // Invisible from the other app.
            let other = live.apps[1 - b.app].booking(id);
            check(matches!(other, Err(QueryError::BookingNotFound)), || {
                format!("booking {id} visible from the other app: {other:?}")
            })?;
        }
        for (a, app) in live.apps.iter().enumerate() {
            for (u, session) in self.sessions.iter().enumerate() {
                let mut got: Vec<String> = app
                    .user_bookings(session)
                    .map_err(|e| format!("user bookings: {e:?}"))?
                    .into_iter()
                    .map(|b| b.booking_id)
                    .collect();
                got.sort();
                let want: Vec<String> = self
                    .model
                    .bookings
                    .iter()
                    .filter(|(_, b)| b.app == a && b.user == u)
                    .map(|(id, _)| id.clone())
                    .collect();
                check(got == want, || {
                    format!("app{a} user{u} bookings: engine {got:?}, model {want:?}")
                })?;
            }
        }
        let report = live.engine.audit().map_err(|e| format!("audit: {e}"))?;
        check(report.is_clean(), || {
            format!("audit: {:?}", report.violations)
        })?;
        let live_bookings = self
            .model
            .bookings
            .values()
            .filter(|b| b.status == BookingStatus::Success)
            .count() as u64;
        check(report.live_bookings == live_bookings, || {
            format!(
                "audit counts {} live bookings, model {live_bookings}",
                report.live_bookings
            )
        })
    }
}

/// Runs `steps` steps; `Err` names the step and the log tail.
fn run(c: &mut impl Choices, steps: usize) -> Result<Sim, String> {
    let mut sim = Sim::new();
    for step in 0..steps {
        let outcome = sim.step(c).and_then(|()| sim.compare());
        if let Err(e) = outcome {
            let tail: Vec<&String> = sim.log.iter().rev().take(12).rev().collect();
            return Err(format!("step {step}: {e}\nlast operations: {tail:#?}"));
        }
    }
    Ok(sim)
}

fn run_seeds(seeds: std::ops::Range<u64>, steps: usize) -> (usize, usize, usize, usize) {
    let mut ops = 0;
    let mut bookings = 0;
    let mut purged = 0;
    let mut archived = 0;
    for seed in seeds {
        match run(&mut Rng::new(seed), steps) {
            Ok(sim) => {
                ops += sim.log.len();
                bookings += sim.model.bookings.len();
                purged += sim.purged;
                archived += sim.archived;
            }
            Err(e) => panic!(
                "simulation failed, SIM_SEED={seed} (rerun: SIM_SEED={seed} cargo test --test simulation one_seed -- --nocapture)\n{e}"
            ),
        }
    }
    (ops, bookings, purged, archived)
}

#[test]
fn seeded_simulation_matches_the_model() {
    let (ops, bookings, purged, archived) = run_seeds(0..100, 120);
    println!(
        "simulation: 100 seeds, {ops} operations, {bookings} bookings/attempts, {purged} purged, {archived} entities archived"
    );
    assert!(ops > 100 * 100, "the driver did too little: {ops}");
    assert!(purged > 100, "too few purges removed anything: {purged}");
    assert!(archived > 50, "too few archives: {archived}");
    assert!(
        bookings > 100,
        "too few confirms reached the engine: {bookings}"
    );
}

/// Reruns one seed (from a failure message) with its full log.
#[test]
fn one_seed() {
    let Ok(seed) = std::env::var("SIM_SEED") else {
        return;
    };
    let seed: u64 = seed.parse().expect("SIM_SEED is a number");
    let steps = std::env::var("SIM_STEPS").map_or(150, |s| s.parse().expect("SIM_STEPS"));
    if let Err(e) = run(&mut Rng::new(seed), steps) {
        panic!("SIM_SEED={seed}: {e}");
    }
}

/// The same seed gives the same run: same operations, same reservation
/// ids, same states (the driver is deterministic, so a seed is a repro).
#[test]
fn a_seed_reproduces_exactly() {
    let a = run(&mut Rng::new(7), 120).expect("seed 7");
    let b = run(&mut Rng::new(7), 120).expect("seed 7");
    assert_eq!(a.log, b.log);
    assert_eq!(
        a.model.res.keys().collect::<Vec<_>>(),
        b.model.res.keys().collect::<Vec<_>>()
    );
    let statuses = |s: &Sim| s.model.res.values().map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(statuses(&a), statuses(&b));
}

#[test]
#[ignore = "long variant: cargo test --release --test simulation -- --ignored"]
fn seeded_simulation_long() {
    let seeds: u64 = std::env::var("SIM_SEEDS").map_or(2_000, |s| s.parse().expect("SIM_SEEDS"));
    let (ops, bookings, purged, archived) = run_seeds(1_000_000..1_000_000 + seeds, 400);
    println!(
        "simulation long: {seeds} seeds x 400 steps, {ops} operations, {bookings} bookings/attempts, {purged} purged, {archived} entities archived"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Property: for any stream of choices, the engine agrees with the
    /// model after every step. On failure proptest shrinks the stream.
    #[test]
    fn any_choice_stream_matches_the_model(choices in proptest::collection::vec(any::<u64>(), 0..400)) {
        let steps = choices.len() / 4;
        let result = run(&mut Recorded(choices.iter()), steps);
        prop_assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
    }
}
