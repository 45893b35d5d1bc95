//! The booking rules: list, reserve, extend, release, confirm, cancel.
//!
//! Owns every operation a buyer's app performs on seats, and the order in
//! which memory and storage change. What ACTIVE means and how a hold
//! expires are `expiry`'s (a confirm that finds its hold lost asks it to
//! record the expiry). It must never write to storage for a
//! reserve that lost in the lock table or that its user's hold quota
//! refused (see `quota`), never book a seat whose hold it does not hold at
//! commit, and never act outside its context's app.
//!
//! # The expiry-vs-confirm race
//!
//! A confirm first *pins* its hold in the lock table: atomically, and only
//! if the hold is still its own and unexpired, the seats' expiry becomes
//! the pin's deadline, `max(hold expiry, now + holds.confirm_deadline)`.
//! Until then nobody can take the seats, even if the TTL passes while the
//! payment is verified; a confirm that arrives after the expiry fails to pin
//! and books nothing. Release and sweep free a hold only together with
//! checking, under the seats' slot locks, that no live pin is on it
//! (`LockTable::release_unpinned`), so they never free pinned seats. After
//! the verifier approved, the confirm *seals* the pin (it then ends never)
//! if its deadline has not passed; a verifier slower than the deadline has
//! lost the pin (the seats were free for others) and its approval becomes a
//! refund-due record. The durable transaction then re-reads the
//! reservation and commits only if it is still ACTIVE (release and sweep
//! commit their own status change, so the database orders any race). After
//! the commit the pin becomes BOOKED; if anything fails the pin is undone.
//! So a seat is booked only by a reservation that held it, unexpired and
//! unbroken, from the pin through the commit (docs/design.md, invariant 3),
//! and the hold id doubles as the fencing number that tells a stale holder
//! from the current one.
//!
//! # The money path
//!
//! Payment ids are bound to reservations durably before the verifier is
//! asked, and every approval ends as a SUCCESS booking or a REFUND_DUE
//! record (docs/design.md, invariants 8 and 9): see
//! [`AppContext::confirm`]. This module must never let anything fallible
//! but a commit run between the verifier's answer and its record.

use super::app::{AppContext, UserSession, random_u128};
use super::expiry;
use super::quota::{self, Refusal};
use super::sale;
use crate::auth::{hash_secret, hashes_equal, random_token};
use crate::clock::{UnixMillis, millis};
use crate::error::{
    AdminError, CancelError, ConfirmError, HoldError, QueryError, ReserveError, StorageError,
};
use crate::locks::{HoldId, LockState, MAX_SEATS_PER_HOLD, PinError, SeatKey};
use crate::model::{
    Booking, BookingStatus, Reservation, ReservationInfo, ReservationStatus, SeatCounts,
    SeatFilter, SeatState, SeatView, UserId,
};
use crate::payment::{PaymentOutcome, PaymentRequest};
use crate::secret::Secret;
use crate::state::gates::{EntityGate, Sale};
use crate::state::stats::Counter;
use crate::state::{AppState, Inner};
use crate::store::{BookingRecord, PaymentRecord, PaymentState, ReservationRecord, SeatStatus};
use crate::validate::{self, InvalidInput};
use parking_lot::RwLockReadGuard;

const TOKEN_PREFIX: &str = "rsv_";

fn currency_str(c: [u8; 3]) -> String {
    String::from_utf8_lossy(&c).into_owned()
}

fn booking_view(booking_id: String, r: BookingRecord) -> Booking {
    Booking {
        booking_id,
        app_id: r.app_id,
        user_id: r.user_id,
        seat_ids: r.seat_ids,
        reservation_id: r.reservation_id,
        payment_id: r.payment_id,
        amount_minor: r.amount_minor,
        currency: currency_str(r.currency),
        status: r.status,
        created_at: r.created_at,
        cancelled_at: r.cancelled_at,
    }
}

fn reservation_view(id: u64, r: ReservationRecord) -> ReservationInfo {
    ReservationInfo {
        reservation_id: id,
        app_id: r.app_id,
        user_id: r.user_id,
        seat_ids: r.seat_ids,
        total_minor: r.total_minor,
        currency: currency_str(r.currency),
        created_at: r.created_at,
        expires_at: r.expires_at,
        status: r.status,
        booking_id: r.booking_id,
    }
}

/// Splits `rsv_<id>.<secret>`; `None` for anything else.
fn parse_token(token: &str) -> Option<(u64, &str)> {
    if token.len() > 128 {
        return None;
    }
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('.')?;
    if id.is_empty()
        || id.len() > 20
        || !id.bytes().all(|b| b.is_ascii_digit())
        || secret.is_empty()
    {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

/// `BK-`, the reservation id (12 hex digits) and 32 random bits (8 hex
/// digits). Unique because a reservation has at most one booking; ordered
/// by reservation id, so new bookings land at the end of the bookings
/// table and of each user's index range, where a commit batch shares its
/// b-tree pages instead of dirtying one random page per booking.
fn new_booking_id(reservation_id: u64) -> Result<String, getrandom::Error> {
    let salt = random_u128()? as u32;
    Ok(format!(
        "BK-{:012X}{salt:08X}",
        reservation_id & 0xFFFF_FFFF_FFFF
    ))
}

/// Releases reservation `id` (`rec`, ACTIVE when read): marks it
/// RELEASED and frees its seats, unless a confirm has pinned it (the
/// buyer's release; closing and archiving release in batches with
/// [`release_reservations`]).
///
/// # Errors
/// [`HoldError::ReservationNotActive`] if it ended meanwhile,
/// [`HoldError::ConfirmInProgress`] if a confirm pinned it,
/// [`HoldError::Storage`].
pub(crate) fn release_reservation(
    inner: &Inner,
    app: &AppState,
    id: u64,
    rec: &ReservationRecord,
) -> Result<(), HoldError> {
    let keys = app.keys(&rec.seat_ids);
    inner.storage().write(|tx| {
        let mut current = tx.reservation(id)?.ok_or(HoldError::ReservationNotFound)?;
        if !current.is_active() {
            return Err(HoldError::ReservationNotActive);
        }
        // The seats are freed together with the pin check, so a
        // confirm can not pin them in between (it finds its hold lost).
        // Should this transaction fail, the seats stay free and the
        // reservation ACTIVE: a later confirm fails with HoldExpired
        // and the sweep expires it.
        let now = inner.now();
        inner
            .locks()
            .release_unpinned(&keys, HoldId(id), now)
            .map_err(|_| HoldError::ConfirmInProgress)?;
        current.status = ReservationStatus::Released;
        tx.put_reservation(id, &current)?;
        Ok(())
    })?;
    app.holds().forget(rec.user_id, HoldId(id));
    inner.counters().bump(Counter::Releases);
    Ok(())
}

/// Holds released per commit by [`release_reservations`].
const RELEASE_BATCH: usize = 256;

/// Releases the reservations `ids` of `app` that are still ACTIVE, as
/// [`release_reservation`] does one, [`RELEASE_BATCH`] per commit (closing
/// or archiving an entity with thousands of live holds). One a confirm
/// has pinned is left to its confirm; one that ended meanwhile is skipped.
/// Returns how many it released.
///
/// # Errors
/// [`StorageError`]: the batches before the failing one stay released;
/// the failing one's seats may be free with its reservations still
/// ACTIVE (as for one release: a confirm of them fails with
/// `HoldExpired`, the sweep expires them).
pub(crate) fn release_reservations(
    inner: &Inner,
    app: &AppState,
    ids: &[u64],
) -> Result<usize, StorageError> {
    let app_id = app.record().app_id.clone();
    let mut total = 0;
    for batch in ids.chunks(RELEASE_BATCH) {
        let released = inner.storage().write(|tx| {
            let now = inner.now();
            let mut released = Vec::with_capacity(batch.len());
            for &id in batch {
                let Some(mut rec) = tx.reservation(id)? else {
                    continue;
                };
                if !rec.is_active() || rec.app_id != app_id {
                    continue;
                }
                // Freed with the pin check, as in `release_reservation`.
                let keys = app.keys(&rec.seat_ids);
                if inner
                    .locks()
                    .release_unpinned(&keys, HoldId(id), now)
                    .is_err()
                {
                    continue;
                }
                rec.status = ReservationStatus::Released;
                tx.put_reservation(id, &rec)?;
                released.push((rec.user_id, id));
            }
            Ok::<_, StorageError>(released)
        })?;
        for &(user, id) in &released {
            app.holds().forget(user, HoldId(id));
            inner.counters().bump(Counter::Releases);
        }
        total += released.len();
    }
    Ok(total)
}

/// A seat's state as buyers see it: booked on record, else held or
/// available as the lock table says at `now`.
pub(crate) fn effective_state(
    inner: &Inner,
    app: &AppState,
    seat_id: &str,
    stored: SeatStatus,
    now: UnixMillis,
) -> SeatState {
    if stored == SeatStatus::Booked {
        return SeatState::Booked;
    }
    let key = app.seat(seat_id).map(|e| e.key);
    match key.map(|k| inner.locks().state(k, now)) {
        Some(LockState::Held { expires_at, .. }) => SeatState::Held { expires_at },
        _ => SeatState::Available,
    }
}

impl AppContext {
    /// Lists an entity's seats with their effective state now. Cost is
    /// proportional to that entity's seats. Held seats show their expiry,
    /// never their holder.
    ///
    /// # Errors
    /// [`QueryError::Auth`] if the context was revoked,
    /// [`QueryError::InvalidInput`], [`QueryError::Storage`].
    pub fn list_seats(
        &self,
        entity_id: &str,
        filter: SeatFilter,
    ) -> Result<Vec<SeatView>, QueryError> {
        self.check()?;
        validate::id("entity_id", entity_id)?;
        let app_id = self.app_id();
        let now = self.inner.now();
        let rows = self
            .inner
            .storage()
            .read()?
            .entity_seats(&app_id, entity_id)?;
        let mut out = Vec::with_capacity(rows.len());
        for (seat_id, rec) in rows {
            let state = effective_state(&self.inner, &self.app, &seat_id, rec.status, now);
            if filter == SeatFilter::AvailableOnly && state != SeatState::Available {
                continue;
            }
            out.push(SeatView {
                seat_id,
                entity_id: rec.entity_id,
                price_minor: rec.price_minor,
                currency: currency_str(rec.currency),
                attributes: rec.attributes,
                state,
            });
        }
        Ok(out)
    }

    /// Counts an entity's seats by effective state.
    ///
    /// # Errors
    /// As [`list_seats`](Self::list_seats).
    pub fn seat_counts(&self, entity_id: &str) -> Result<SeatCounts, QueryError> {
        let mut counts = SeatCounts::default();
        for seat in self.list_seats(entity_id, SeatFilter::All)? {
            match seat.state {
                SeatState::Available => counts.available += 1,
                SeatState::Held { .. } => counts.held += 1,
                SeatState::Booked => counts.booked += 1,
            }
        }
        Ok(counts)
    }

    /// Holds every seat in `seat_ids` for the user, or none.
    ///
    /// `ttl` defaults to the configured 120 s and must lie within the
    /// configured bounds. A losing attempt is decided in memory and writes
    /// nothing; a winner's reservation is durable before this returns.
    ///
    /// A winner must also stay within the user's hold quotas
    /// ([`HoldPolicy`](crate::HoldPolicy): live reservations per user and
    /// app, held seats per user and entity), checked after the lock table
    /// granted the seats and before anything is written; a refused hold
    /// is given back at once.
    ///
    /// # Errors
    /// [`ReserveError::TooManyReservations`],
    /// [`ReserveError::TooManySeatsHeld`] (nothing held, nothing written);
    /// [`ReserveError::SeatHeld`], [`ReserveError::SeatBooked`],
    /// [`ReserveError::SeatNotFound`] name the first seat that blocked;
    /// [`ReserveError::InvalidInput`] (no seats, too many, duplicates, mixed
    /// currencies, TTL out of range), [`ReserveError::Auth`],
    /// [`ReserveError::Storage`] (the hold was given back).
    pub fn reserve(
        &self,
        session: &UserSession,
        seat_ids: &[&str],
        ttl: Option<std::time::Duration>,
    ) -> Result<Reservation, ReserveError> {
        let now = self.session(session)?;
        let policy = &self.inner.config().holds;
        if seat_ids.is_empty() || seat_ids.len() > policy.max_seats {
            return Err(InvalidInput::new("seat_ids", "count must be 1..=holds.max_seats").into());
        }
        let ttl = ttl.unwrap_or(policy.default_ttl);
        if ttl < policy.min_ttl || ttl > policy.max_ttl {
            return Err(InvalidInput::new("ttl", "outside the configured hold bounds").into());
        }
        let mut keys = [SeatKey(0); MAX_SEATS_PER_HOLD];
        let mut checked = u32::MAX;
        let mut currency: Option<[u8; 3]> = None;
        for (i, &seat) in seat_ids.iter().enumerate() {
            validate::id("seat_id", seat)?;
            let Some(entry) = self.app.seat(seat) else {
                return Err(ReserveError::SeatNotFound(seat.to_owned()));
            };
            if keys[..i].contains(&entry.key) {
                return Err(InvalidInput::new("seat_ids", "duplicate seat").into());
            }
            // The early sale check (see `state::gates`), once per entity
            // in a run of seats: losers too hear "sale closed".
            if entry.entity != checked {
                self.early_sale_check(entry.entity, now)?;
                checked = entry.entity;
            }
            if *currency.get_or_insert(entry.currency) != entry.currency {
                return Err(InvalidInput::new(
                    "seat_ids",
                    "seats are priced in different currencies",
                )
                .into());
            }
            keys[i] = entry.key;
        }
        let keys = &keys[..seat_ids.len()];
        let expires_at = now.saturating_add(millis(ttl));
        self.inner.counters().bump(Counter::ReserveAttempts);
        let hold = match self.inner.locks().try_acquire(keys, now, expires_at) {
            Ok(hold) => hold,
            Err(e) => return Err(self.blocked(seat_ids[e.position], e.state)),
        };
        // Only a winner gets here.
        let (entities, total, currency) = match self.winners_seats(seat_ids, keys) {
            Ok(read) => read,
            Err(e) => {
                self.inner.locks().release(keys, hold);
                return Err(e);
            }
        };
        let entities = &entities[..seat_ids.len()];
        // It checks the sale again, under each entity's gate, and keeps
        // the gates until its reservation is recorded: a close, an archive
        // or a window change waits for it, and every reserve after the
        // change sees the change.
        let _sales = match self.hold_sales(entities, now) {
            Ok(sales) => sales,
            Err(e) => {
                self.inner.locks().release(keys, hold);
                return Err(e);
            }
        };
        if let Err(refusal) = quota::admit(
            self.app.holds(),
            self.inner.locks(),
            now,
            session.user_id,
            hold,
            keys,
            entities,
            policy,
        ) {
            self.inner.locks().release(keys, hold);
            return Err(match refusal {
                Refusal::Reservations => ReserveError::TooManyReservations {
                    limit: policy.max_active_per_user,
                },
                Refusal::Seats { entity } => ReserveError::TooManySeatsHeld {
                    entity_id: self.app.entity_name(entity),
                    limit: policy.max_held_seats_per_entity,
                },
            });
        }
        match self.record_hold(
            session.user_id,
            seat_ids,
            hold,
            total,
            currency,
            now,
            expires_at,
        ) {
            Ok(reservation) => {
                self.inner.counters().bump(Counter::HoldsTaken);
                Ok(reservation)
            }
            Err(e) => {
                self.inner.locks().release(keys, hold);
                self.app.holds().forget(session.user_id, hold);
                Err(e)
            }
        }
    }

    /// A winner reads its seats' directory entries again: a seat removed
    /// (or its entity archived) since its lookup may have had its key
    /// recycled for another seat, which the hold then took; such a hold is
    /// let go (docs/design.md, invariant 14). Returns the seats' entities,
    /// total and currency, from these entries (the seats' current ones).
    fn winners_seats(
        &self,
        seat_ids: &[&str],
        keys: &[SeatKey],
    ) -> Result<([u32; MAX_SEATS_PER_HOLD], u64, [u8; 3]), ReserveError> {
        let mut entities = [0u32; MAX_SEATS_PER_HOLD];
        let mut total: u64 = 0;
        let mut currency: Option<[u8; 3]> = None;
        for (i, &seat) in seat_ids.iter().enumerate() {
            let entry = match self.app.seat(seat) {
                Some(entry) if entry.key == keys[i] => entry,
                _ => return Err(ReserveError::SeatNotFound(seat.to_owned())),
            };
            if *currency.get_or_insert(entry.currency) != entry.currency {
                return Err(InvalidInput::new(
                    "seat_ids",
                    "seats are priced in different currencies",
                )
                .into());
            }
            entities[i] = entry.entity;
            total = total.saturating_add(entry.price_minor);
        }
        Ok((entities, total, currency.unwrap_or(*b"XXX")))
    }

    /// Why `seat` blocked a reserve, as the lock table found it.
    fn blocked(&self, seat: &str, state: LockState) -> ReserveError {
        let seat = seat.to_owned();
        match state {
            LockState::Booked => {
                self.inner.counters().bump(Counter::ContentionRejections);
                ReserveError::SeatBooked(seat)
            }
            LockState::Held { .. } => {
                self.inner.counters().bump(Counter::ContentionRejections);
                ReserveError::SeatHeld(seat)
            }
            LockState::Vacant | LockState::Free => ReserveError::SeatNotFound(seat),
        }
    }

    /// The early sale check of entity number `entity` (from the gate's
    /// atomics; see `state::gates`).
    #[inline]
    fn early_sale_check(&self, entity: u32, now: UnixMillis) -> Result<(), ReserveError> {
        match self.app.early_sale(entity) {
            Some(sale) => sale::verdict(&sale, now).map_err(|r| self.refusal(entity, r)),
            None => Ok(()),
        }
    }

    /// A winner's sale check: the gates of `entities` held (in entity
    /// order, so two reserves never wait on each other's gates), each
    /// sale checked under its gate.
    fn hold_sales(
        &self,
        entities: &[u32],
        now: UnixMillis,
    ) -> Result<Vec<RwLockReadGuard<'_, Sale>>, ReserveError> {
        let mut distinct = entities.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let mut held = Vec::with_capacity(distinct.len());
        for entity in distinct {
            if let Some(gate) = self.app.gate(entity) {
                let sale = gate.hold();
                sale::verdict(&sale, now).map_err(|r| self.refusal(entity, r))?;
                held.push(sale);
            }
        }
        Ok(held)
    }

    fn refusal(&self, entity: u32, refusal: sale::Refusal) -> ReserveError {
        let entity_id = self.app.entity_name(entity);
        match refusal {
            sale::Refusal::NotOpen { opens_at } => ReserveError::SaleNotOpen {
                entity_id,
                opens_at,
            },
            sale::Refusal::Closed => ReserveError::SaleClosed { entity_id },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_hold(
        &self,
        user_id: UserId,
        seat_ids: &[&str],
        hold: HoldId,
        total_minor: u64,
        currency: [u8; 3],
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<Reservation, ReserveError> {
        let secret = random_token("", 32).map_err(|_| ReserveError::RandomFailure)?;
        let rec = ReservationRecord {
            app_id: self.app_id(),
            user_id,
            seat_ids: seat_ids.iter().map(|s| (*s).to_owned()).collect(),
            token_hash: hash_secret(secret.expose()),
            total_minor,
            currency,
            created_at: now,
            expires_at,
            status: ReservationStatus::Active,
            booking_id: None,
            payment_id: None,
        };
        self.inner
            .storage()
            .write(|tx| tx.put_reservation(hold.0, &rec))?;
        Ok(Reservation {
            info: reservation_view(hold.0, rec),
            token: Secret::new(format!("{TOKEN_PREFIX}{}.{}", hold.0, secret.expose())),
        })
    }

    /// Loads the reservation a token names, if it belongs to this app and
    /// this user. Anything else is "not found": a token never reveals
    /// another user's or app's reservation.
    fn owned_reservation(
        &self,
        user: UserId,
        token: &str,
    ) -> Result<Option<(u64, ReservationRecord)>, StorageError> {
        let Some((id, secret)) = parse_token(token) else {
            return Ok(None);
        };
        let Some(rec) = self.inner.storage().read()?.reservation(id)? else {
            return Ok(None);
        };
        let owned = hashes_equal(&rec.token_hash, &hash_secret(secret))
            && rec.user_id == user
            && rec.app_id == self.app.record().app_id;
        Ok(owned.then_some((id, rec)))
    }

    /// The reservation a token names (holder only).
    ///
    /// # Errors
    /// [`QueryError::ReservationNotFound`], [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn reservation(
        &self,
        session: &UserSession,
        token: &str,
    ) -> Result<ReservationInfo, QueryError> {
        self.session(session)?;
        let (id, rec) = self
            .owned_reservation(session.user_id, token)?
            .ok_or(QueryError::ReservationNotFound)?;
        Ok(reservation_view(id, rec))
    }

    /// Moves a live hold's expiry to `now + ttl` (holder only), never past
    /// `created_at + holds.max_total`, and only while its entities sell.
    ///
    /// # Errors
    /// [`HoldError::SaleClosed`] (an entity of its seats closed, or
    /// outside its sale window), [`HoldError::HoldExpired`], [`HoldError::HoldLimitExceeded`],
    /// [`HoldError::ReservationNotFound`], [`HoldError::ReservationNotActive`],
    /// [`HoldError::ConfirmInProgress`], [`HoldError::InvalidInput`] (TTL),
    /// [`HoldError::Auth`], [`HoldError::Storage`].
    pub fn extend(
        &self,
        session: &UserSession,
        token: &str,
        ttl: std::time::Duration,
    ) -> Result<ReservationInfo, HoldError> {
        let now = self.session(session)?;
        let policy = &self.inner.config().holds;
        if ttl < policy.min_ttl || ttl > policy.max_ttl {
            return Err(InvalidInput::new("ttl", "outside the configured hold bounds").into());
        }
        let (id, rec) = self
            .owned_reservation(session.user_id, token)?
            .ok_or(HoldError::ReservationNotFound)?;
        if !rec.is_active() {
            return Err(HoldError::ReservationNotActive);
        }
        let new_expiry = now.saturating_add(millis(ttl));
        if new_expiry > rec.created_at.saturating_add(millis(policy.max_total)) {
            return Err(HoldError::HoldLimitExceeded);
        }
        // A closed entity's holds run to their end (docs/design.md,
        // invariant 13): no extension once its sale stopped.
        for seat in &rec.seat_ids {
            let Some(entry) = self.app.seat(seat) else {
                continue;
            };
            if let Err(
                ReserveError::SaleClosed { entity_id }
                | ReserveError::SaleNotOpen { entity_id, .. },
            ) = self.early_sale_check(entry.entity, now)
            {
                return Err(HoldError::SaleClosed { entity_id });
            }
        }
        let keys = self.app.keys(&rec.seat_ids);
        let hold = HoldId(id);
        // The hold moves inside the write transaction, so racing extends of
        // one hold change memory in the order they commit. The index row of
        // the old expiry stays behind; the sweep drops it, since it no
        // longer matches the reservation.
        let mut undo_to = None;
        let written = self.inner.storage().write(|tx| {
            let mut current = tx.reservation(id)?.ok_or(HoldError::ReservationNotFound)?;
            if !current.is_active() {
                return Err(HoldError::ReservationNotActive);
            }
            let previous = current.expires_at;
            self.inner
                .locks()
                .extend(&keys, hold, now, new_expiry)
                .map_err(|e| match e {
                    PinError::Lost => HoldError::HoldExpired,
                    PinError::Busy => HoldError::ConfirmInProgress,
                })?;
            undo_to = Some(previous);
            current.expires_at = new_expiry;
            tx.put_reservation(id, &current)?;
            Ok(current)
        });
        match written {
            Ok(current) => Ok(reservation_view(id, current)),
            Err(e) => {
                // Put the old expiry back, if the hold is still ours.
                if let Some(previous) = undo_to {
                    let _ = self.inner.locks().extend(&keys, hold, now, previous);
                }
                Err(e)
            }
        }
    }

    /// Gives a hold back (holder only): reservation RELEASED, seats free at once.
    ///
    /// # Errors
    /// [`HoldError::ReservationNotFound`], [`HoldError::ReservationNotActive`],
    /// [`HoldError::ConfirmInProgress`], [`HoldError::Auth`], [`HoldError::Storage`].
    pub fn release(&self, session: &UserSession, token: &str) -> Result<(), HoldError> {
        self.session(session)?;
        let (id, rec) = self
            .owned_reservation(session.user_id, token)?
            .ok_or(HoldError::ReservationNotFound)?;
        if !rec.is_active() {
            return Err(HoldError::ReservationNotActive);
        }
        release_reservation(&self.inner, &self.app, id, &rec)
    }

    /// Pays for a hold and books its seats.
    ///
    /// Checks that the caller holds the reservation and that
    /// `amount_minor` equals the seats' total price, pins the hold, binds
    /// the payment id durably to the reservation, asks the payment
    /// verifier, then in ONE transaction marks the seats BOOKED, creates
    /// the booking and marks the reservation CONFIRMED.
    ///
    /// # The money path
    ///
    /// - **One payment pays once** (docs/design.md, invariant 8). Before the
    ///   verifier is asked, the payment id is bound to this reservation in
    ///   a durable transaction that checks and writes the binding at once,
    ///   so of two reservations racing with one payment id only one binds,
    ///   and a crash after the verifier's answer can not free the id. The
    ///   binding is kept forever, whatever the outcome: the id presented
    ///   for any other reservation of the app gets
    ///   [`ConfirmError::PaymentAlreadyUsed`] without asking the verifier.
    ///   A reservation is bound to its first payment id as well: another
    ///   id gets [`ConfirmError::PaymentConflict`].
    /// - **Retries** with the same reservation and payment id get the
    ///   recorded outcome, also when they race each other: the same
    ///   booking after an approval, [`ConfirmError::PaymentDeclined`]
    ///   (reason `declined earlier`, same FAILED record) after a decline,
    ///   [`ConfirmError::RefundDue`] (same record) after a paid-not-booked
    ///   outcome, and [`ConfirmError::ConfirmInProgress`] while another
    ///   confirm of the reservation is in flight. A retry after a confirm
    ///   that ended without an outcome (verifier panic, storage failure)
    ///   while the hold is still live asks the verifier again.
    /// - **Never paid without a seat** (invariant 9). Once the verifier
    ///   approved, only the commit can fail: the booking id was chosen at
    ///   binding. If the booking can not commit (the pin's deadline passed,
    ///   the hold was lost, storage failed), the approval is recorded as the
    ///   REFUND_DUE record of that id ([`ConfirmError::RefundDue`]). If even
    ///   that write fails, [`ConfirmError::RefundDueUnrecorded`] says so,
    ///   and the still-pending binding is turned into that record when the
    ///   engine reopens (unless the booking's commit turns out to have
    ///   reached the journal: then the reservation is CONFIRMED).
    /// - **The pin's deadline**: see
    ///   [`HoldPolicy::confirm_deadline`](crate::HoldPolicy::confirm_deadline).
    ///   Until it, release, extend, sweep and expiry leave the pinned seats
    ///   alone (`ConfirmInProgress`, or skipped by the sweep).
    ///
    /// # Errors
    /// [`ConfirmError::HoldExpired`] (nothing booked),
    /// [`ConfirmError::AmountMismatch`] (nothing changed),
    /// [`ConfirmError::PaymentDeclined`] (seats released, reservation
    /// RELEASED, attempt recorded as a FAILED booking),
    /// [`ConfirmError::PaymentAlreadyUsed`], [`ConfirmError::PaymentConflict`],
    /// [`ConfirmError::RefundDue`], [`ConfirmError::RefundDueUnrecorded`]
    /// (both: the payment must be refunded),
    /// [`ConfirmError::ConfirmInProgress`],
    /// [`ConfirmError::ReservationNotFound`], [`ConfirmError::ReservationNotActive`],
    /// [`ConfirmError::InvalidInput`], [`ConfirmError::RandomFailure`] (before
    /// the verifier is asked), [`ConfirmError::Auth`], [`ConfirmError::Storage`]
    /// (before the verifier answered, or recording a decline).
    pub fn confirm(
        &self,
        session: &UserSession,
        token: &str,
        payment_id: &str,
        amount_minor: u64,
    ) -> Result<Booking, ConfirmError> {
        let now = self.session(session)?;
        validate::payment_id(payment_id)?;
        let (id, rec) = self
            .owned_reservation(session.user_id, token)?
            .ok_or(ConfirmError::ReservationNotFound)?;
        if let Some(answer) = self.settled(&rec, payment_id)? {
            return answer;
        }
        if amount_minor != rec.total_minor {
            return Err(ConfirmError::AmountMismatch {
                expected: rec.total_minor,
                got: amount_minor,
            });
        }
        let keys = self.app.keys(&rec.seat_ids);
        let hold = HoldId(id);
        if keys.len() != rec.seat_ids.len() {
            // A seat of it was removed or its entity archived, which only
            // happens to seats no live hold is on: this hold ended.
            return self.lost_hold(id, rec.expires_at, payment_id, now);
        }
        let deadline = rec
            .expires_at
            .max(now.saturating_add(millis(self.inner.config().holds.confirm_deadline)));
        match self.inner.locks().pin(&keys, hold, now, deadline) {
            Ok(()) => {}
            Err(PinError::Busy) => return Err(ConfirmError::ConfirmInProgress),
            Err(PinError::Lost) => return self.lost_hold(id, rec.expires_at, payment_id, now),
        }
        self.inner.confirm_started(id);
        let pin = PinGuard {
            inner: &self.inner,
            keys: &keys,
            hold,
            expires_at: rec.expires_at,
            armed: true,
        };
        let booking_id = self.bind_payment(id, &rec, payment_id, now)?;
        let currency = currency_str(rec.currency);
        let outcome = self.inner.payments().verify(&PaymentRequest {
            app_id: &rec.app_id,
            user_id: rec.user_id,
            reservation_id: id,
            payment_id,
            amount_minor,
            currency: &currency,
        });
        // From here on nothing fallible runs but the commits below.
        let mut booking = BookingRecord {
            app_id: rec.app_id.clone(),
            user_id: rec.user_id,
            seat_ids: rec.seat_ids.clone(),
            reservation_id: id,
            payment_id: payment_id.to_owned(),
            amount_minor,
            currency: rec.currency,
            status: BookingStatus::Success,
            created_at: now,
            cancelled_at: None,
        };
        if let PaymentOutcome::Declined(reason) = outcome {
            booking.status = BookingStatus::Failed;
            self.record_outcome(
                id,
                payment_id,
                &booking_id,
                &booking,
                PaymentState::Declined,
            )?;
            pin.disarm();
            self.inner.locks().release(&keys, hold);
            self.app.holds().forget(rec.user_id, hold);
            self.inner.counters().bump(Counter::PaymentFailures);
            return Err(ConfirmError::PaymentDeclined { reason, booking_id });
        }
        let sealed = self.inner.locks().seal(&keys, hold, self.inner.now());
        let booked = match sealed {
            Ok(()) => self.commit_booking(id, &rec, payment_id, &booking_id, &booking),
            Err(_) => Err(ConfirmError::HoldExpired),
        };
        if booked.is_ok() {
            pin.disarm();
            self.inner.locks().book(&keys, hold);
            self.app.holds().forget(rec.user_id, hold);
            self.inner.counters().bump(Counter::Confirms);
            return Ok(booking_view(booking_id, booking));
        }
        // Approved, not booked: record the refund due.
        booking.status = BookingStatus::RefundDue;
        match self.record_outcome(
            id,
            payment_id,
            &booking_id,
            &booking,
            PaymentState::RefundDue,
        ) {
            Ok(()) => {
                pin.disarm();
                self.inner.locks().release(&keys, hold);
                self.app.holds().forget(rec.user_id, hold);
                Err(ConfirmError::RefundDue { booking_id })
            }
            Err(_) => Err(ConfirmError::RefundDueUnrecorded { booking_id }),
        }
    }

    /// The booking's one transaction: seats BOOKED, booking SUCCESS,
    /// reservation CONFIRMED, payment binding BOOKED; only if the
    /// reservation is still ACTIVE and its seats AVAILABLE.
    fn commit_booking(
        &self,
        id: u64,
        rec: &ReservationRecord,
        payment_id: &str,
        booking_id: &str,
        booking: &BookingRecord,
    ) -> Result<(), ConfirmError> {
        self.inner.storage().write(|tx| {
            let mut current = tx
                .reservation(id)?
                .ok_or(ConfirmError::ReservationNotFound)?;
            if !current.is_active() {
                return Err(ConfirmError::ReservationNotActive);
            }
            for seat_id in &rec.seat_ids {
                let mut seat = tx
                    .seat(&rec.app_id, seat_id)?
                    .ok_or(ConfirmError::HoldExpired)?;
                if seat.status != SeatStatus::Available {
                    return Err(ConfirmError::HoldExpired);
                }
                seat.status = SeatStatus::Booked;
                seat.booked_by = Some(rec.user_id);
                seat.booking_id = Some(booking_id.to_owned());
                tx.update_seat(&rec.app_id, seat_id, &seat)?;
            }
            current.status = ReservationStatus::Confirmed;
            current.booking_id = Some(booking_id.to_owned());
            current.payment_id = Some(payment_id.to_owned());
            tx.put_reservation(id, &current)?;
            tx.put_booking(booking_id, booking, true)?;
            Self::put_outcome(
                tx,
                &rec.app_id,
                payment_id,
                id,
                booking_id,
                PaymentState::Booked,
                booking.created_at,
            )
        })
    }

    /// What the durable state already answers for a confirm of `rec` with
    /// `payment_id`: `Some` outcome to return (a retry, a conflict, an
    /// ended reservation), or `None` when the confirm should go ahead (the
    /// reservation is ACTIVE and unbound, or bound to this payment id with
    /// no outcome yet).
    fn settled(
        &self,
        rec: &ReservationRecord,
        payment_id: &str,
    ) -> Result<Option<Result<Booking, ConfirmError>>, StorageError> {
        let active = rec.is_active();
        match rec.payment_id.as_deref() {
            Some(bound) if bound != payment_id => {
                return Ok(Some(Err(ConfirmError::PaymentConflict)));
            }
            Some(_) => {}
            None if active => return Ok(None),
            None => return Ok(Some(Err(ConfirmError::ReservationNotActive))),
        }
        let tx = self.inner.storage().read()?;
        let Some(binding) = tx.payment(&rec.app_id, payment_id)? else {
            // Confirmed before payment bindings existed.
            let booking = match rec.booking_id.as_deref() {
                Some(id) if rec.status == ReservationStatus::Confirmed => {
                    tx.booking(id)?.map(|b| booking_view(id.to_owned(), b))
                }
                _ => None,
            };
            return Ok(Some(booking.ok_or(ConfirmError::ReservationNotActive)));
        };
        let booking_id = binding.booking_id;
        Ok(match binding.state {
            PaymentState::Booked => Some(
                tx.booking(&booking_id)?
                    .map(|b| booking_view(booking_id.clone(), b))
                    .ok_or(ConfirmError::ReservationNotActive),
            ),
            PaymentState::Declined => Some(Err(ConfirmError::PaymentDeclined {
                reason: "declined earlier".into(),
                booking_id,
            })),
            PaymentState::RefundDue => Some(Err(ConfirmError::RefundDue { booking_id })),
            PaymentState::Pending if active => None,
            // Bound, no outcome, reservation ended: its confirm is still
            // running (its pin's deadline passed), or its outcome was lost
            // and the next sweep records the payment as refund due.
            PaymentState::Pending => Some(Err(ConfirmError::ConfirmInProgress)),
        })
    }

    /// A confirm found its hold gone when pinning. A racing confirm of the
    /// same reservation may have finished in between: then its outcome is
    /// the answer. Otherwise the hold expired.
    fn lost_hold(
        &self,
        id: u64,
        expires_at: UnixMillis,
        payment_id: &str,
        now: UnixMillis,
    ) -> Result<Booking, ConfirmError> {
        if let Some(current) = self.inner.storage().read()?.reservation(id)?
            && !current.is_active()
            && let Some(answer) = self.settled(&current, payment_id)?
        {
            return answer;
        }
        // Make the record say so (best effort: a sweep does it later otherwise).
        let _ = expiry::expire(&self.inner, &[(expires_at, id)], now);
        Err(ConfirmError::HoldExpired)
    }

    /// Binds `payment_id` to reservation `id` durably (or finds it bound
    /// to it, pending, by an earlier attempt) and returns the booking id
    /// its outcome will be recorded under.
    fn bind_payment(
        &self,
        id: u64,
        rec: &ReservationRecord,
        payment_id: &str,
        now: UnixMillis,
    ) -> Result<String, ConfirmError> {
        let fresh = new_booking_id(id).map_err(|_| ConfirmError::RandomFailure)?;
        let app = rec.app_id.as_str();
        self.inner.storage().write(|tx| {
            let mut current = tx
                .reservation(id)?
                .ok_or(ConfirmError::ReservationNotFound)?;
            if !current.is_active() {
                return Err(ConfirmError::ReservationNotActive);
            }
            if current
                .payment_id
                .as_deref()
                .is_some_and(|bound| bound != payment_id)
            {
                return Err(ConfirmError::PaymentConflict);
            }
            match tx.payment(app, payment_id)? {
                Some(b) if b.reservation_id != id => Err(ConfirmError::PaymentAlreadyUsed),
                Some(b) if b.state == PaymentState::Pending => Ok(b.booking_id),
                // An outcome is recorded while the reservation is ACTIVE:
                // outcomes end the reservation in the same transaction.
                Some(_) => Err(ConfirmError::ReservationNotActive),
                None => {
                    tx.put_payment(
                        app,
                        payment_id,
                        &PaymentRecord {
                            reservation_id: id,
                            booking_id: fresh.clone(),
                            state: PaymentState::Pending,
                            presented_at: now,
                        },
                    )?;
                    current.payment_id = Some(payment_id.to_owned());
                    tx.put_reservation(id, &current)?;
                    Ok(fresh)
                }
            }
        })
    }

    fn put_outcome(
        tx: &mut crate::store::WriteTx<'_>,
        app: &str,
        payment_id: &str,
        id: u64,
        booking_id: &str,
        state: PaymentState,
        presented_at: UnixMillis,
    ) -> Result<(), ConfirmError> {
        let presented_at = tx
            .payment(app, payment_id)?
            .map_or(presented_at, |b| b.presented_at);
        tx.put_payment(
            app,
            payment_id,
            &PaymentRecord {
                reservation_id: id,
                booking_id: booking_id.to_owned(),
                state,
                presented_at,
            },
        )?;
        Ok(())
    }

    /// Records a decline (FAILED record) or a paid-not-booked outcome
    /// (REFUND_DUE record) in one transaction: the record, the binding's
    /// outcome, and the reservation RELEASED if it is still ACTIVE.
    fn record_outcome(
        &self,
        id: u64,
        payment_id: &str,
        booking_id: &str,
        booking: &BookingRecord,
        state: PaymentState,
    ) -> Result<(), ConfirmError> {
        self.inner.storage().write(|tx| {
            let mut current = tx
                .reservation(id)?
                .ok_or(ConfirmError::ReservationNotFound)?;
            if current.is_active() {
                current.status = ReservationStatus::Released;
                current.payment_id = Some(payment_id.to_owned());
                tx.put_reservation(id, &current)?;
            }
            tx.put_booking(booking_id, booking, true)?;
            Self::put_outcome(
                tx,
                &booking.app_id,
                payment_id,
                id,
                booking_id,
                state,
                booking.created_at,
            )
        })
    }

    /// This app's REFUND_DUE records: approved payments that booked
    /// nothing and must be refunded, in booking-id order.
    ///
    /// # Errors
    /// [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn refunds_due(&self) -> Result<Vec<Booking>, QueryError> {
        self.check()?;
        Ok(refunds_due(&self.inner, &self.app_id())?)
    }

    /// A booking of this app by id.
    ///
    /// # Errors
    /// [`QueryError::BookingNotFound`] (also for another app's booking),
    /// [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn booking(&self, booking_id: &str) -> Result<Booking, QueryError> {
        self.check()?;
        if booking_id.len() > 64 {
            return Err(QueryError::BookingNotFound);
        }
        let rec = self
            .inner
            .storage()
            .read()?
            .booking(booking_id)?
            .ok_or(QueryError::BookingNotFound)?;
        if rec.app_id != self.app.record().app_id {
            return Err(QueryError::BookingNotFound);
        }
        Ok(booking_view(booking_id.to_owned(), rec))
    }

    /// The user's bookings in this app (including FAILED attempts and
    /// CANCELLED bookings), in booking-id order.
    ///
    /// # Errors
    /// [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn user_bookings(&self, session: &UserSession) -> Result<Vec<Booking>, QueryError> {
        self.session(session)?;
        let app_id = self.app_id();
        let tx = self.inner.storage().read()?;
        let mut out = Vec::new();
        for id in tx.user_booking_ids(&app_id, session.user_id)? {
            if let Some(rec) = tx.booking(&id)? {
                out.push(booking_view(id, rec));
            }
        }
        Ok(out)
    }

    /// Cancels (refunds) a successful booking of this app: CANCELLED, its
    /// seats AVAILABLE again.
    ///
    /// # Errors
    /// [`CancelError::BookingNotFound`] (also for another app's booking),
    /// [`CancelError::BookingNotCancellable`],
    /// [`CancelError::EntityArchived`] (its entity was archived), [`CancelError::Auth`],
    /// [`CancelError::Storage`].
    pub fn cancel_booking(&self, booking_id: &str) -> Result<Booking, CancelError> {
        self.check()?;
        let app_id = self.app_id();
        cancel(&self.inner, Some(&app_id), booking_id)
    }
}

/// Undoes a pin unless disarmed, also if the payment verifier panics, and
/// takes the reservation out of the engine's in-flight confirms.
struct PinGuard<'a> {
    inner: &'a Inner,
    keys: &'a [SeatKey],
    hold: HoldId,
    expires_at: UnixMillis,
    armed: bool,
}

impl PinGuard<'_> {
    /// The pin was turned into a booking or released: only leave the
    /// in-flight set.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for PinGuard<'_> {
    fn drop(&mut self) {
        self.inner.confirm_ended(self.hold.0);
        if self.armed {
            self.inner
                .locks()
                .unpin(self.keys, self.hold, self.expires_at);
        }
    }
}

/// An app's REFUND_DUE records, in booking-id order.
pub(crate) fn refunds_due(inner: &Inner, app_id: &str) -> Result<Vec<Booking>, StorageError> {
    let tx = inner.storage().read()?;
    let mut out = Vec::new();
    for id in tx.refund_due_ids(app_id)? {
        if let Some(rec) = tx.booking(&id)? {
            out.push(booking_view(id, rec));
        }
    }
    Ok(out)
}

/// Marks a REFUND_DUE record REFUNDED (admin only).
pub(crate) fn settle_refund(inner: &Inner, booking_id: &str) -> Result<Booking, AdminError> {
    if booking_id.len() > 64 {
        return Err(AdminError::BookingNotFound);
    }
    let rec = inner.storage().write(|tx| {
        let mut rec = tx.booking(booking_id)?.ok_or(AdminError::BookingNotFound)?;
        if rec.status != BookingStatus::RefundDue {
            return Err(AdminError::RefundNotDue);
        }
        rec.status = BookingStatus::Refunded;
        tx.settle_refund(&rec.app_id, booking_id)?;
        tx.put_booking(booking_id, &rec, false)?;
        Ok(rec)
    })?;
    Ok(booking_view(booking_id.to_owned(), rec))
}

/// Cancels a booking; `app` limits it to one app (app contexts), `None` is
/// the admin.
///
/// Holds the gates of the booking's seats' entities (read) from before
/// its commit until its seats are free in the lock table: an archive
/// (which takes a gate for writing) never retires and recycles a seat's
/// key between the two, so the late `unbook` can never free another
/// seat's key.
pub(crate) fn cancel(
    inner: &Inner,
    app: Option<&str>,
    booking_id: &str,
) -> Result<Booking, CancelError> {
    if booking_id.len() > 64 {
        return Err(CancelError::BookingNotFound);
    }
    let Some(found) = inner.storage().read()?.booking(booking_id)? else {
        return Err(CancelError::BookingNotFound);
    };
    let state = inner.app_state(&found.app_id);
    let mut entities: Vec<u32> = state.as_ref().map_or_else(Vec::new, |s| {
        found
            .seat_ids
            .iter()
            .filter_map(|seat| s.seat(seat).map(|e| e.entity))
            .collect()
    });
    entities.sort_unstable();
    entities.dedup();
    let _gates: Vec<_> = entities
        .iter()
        .filter_map(|&e| state.as_ref()?.gate(e).map(EntityGate::hold))
        .collect();
    let now = inner.now();
    let rec = inner.storage().write(|tx| {
        let mut rec = tx
            .booking(booking_id)?
            .ok_or(CancelError::BookingNotFound)?;
        if app.is_some_and(|a| a != rec.app_id) {
            return Err(CancelError::BookingNotFound);
        }
        if rec.status != BookingStatus::Success {
            return Err(CancelError::BookingNotCancellable);
        }
        for seat_id in &rec.seat_ids {
            match tx.seat(&rec.app_id, seat_id)? {
                Some(mut seat) if seat.booking_id.as_deref() == Some(booking_id) => {
                    seat.status = SeatStatus::Available;
                    seat.booked_by = None;
                    seat.booking_id = None;
                    tx.update_seat(&rec.app_id, seat_id, &seat)?;
                }
                _ => {
                    if let Some(entity) = tx.archived_seat(&rec.app_id, seat_id)? {
                        return Err(CancelError::EntityArchived(entity));
                    }
                }
            }
        }
        rec.status = BookingStatus::Cancelled;
        rec.cancelled_at = Some(now);
        tx.put_booking(booking_id, &rec, false)?;
        Ok(rec)
    })?;
    if let Some(app) = &state {
        inner
            .locks()
            .unbook(&app.keys(&rec.seat_ids), HoldId(rec.reservation_id));
    }
    inner.counters().bump(Counter::Cancellations);
    Ok(booking_view(booking_id.to_owned(), rec))
}

#[cfg(test)]
mod tests {
    use super::parse_token;
    use std::sync::{Arc, OnceLock, Weak};
    use std::time::Duration;

    use crate::state::Inner;
    use crate::store::Storage;
    use crate::{
        Argon2Params, Config, ConfirmError, Durability, Engine, ErrorCode, HasErrorCode,
        ManualClock, NewApp, NewSeat, PaymentOutcome, PaymentRequest, PaymentVerifier,
        SeatAttributes, hash_password,
    };

    /// Approves, and makes the engine's storage fail while doing so: the
    /// booking's commit and the refund-due record both fail afterwards.
    #[derive(Default)]
    struct PoisoningBank {
        engine: OnceLock<Weak<Inner>>,
    }

    impl PaymentVerifier for PoisoningBank {
        fn verify(&self, _request: &PaymentRequest<'_>) -> PaymentOutcome {
            if let Some(inner) = self.engine.get().and_then(Weak::upgrade) {
                let _ = inner.storage().with(Storage::fail_for_tests);
            }
            PaymentOutcome::Approved
        }
    }

    fn admin_of(engine: &Engine) -> crate::Admin {
        let token = engine.admin_login("ops@x.io", "admin-password").unwrap();
        engine.admin(token.expose()).unwrap()
    }

    /// App `app` (origin `ORIGIN`) with seats `S0..S{n}` of entity `E1`
    /// at 5.00 EUR: its API key and a context.
    fn app_with_seats(
        engine: &Engine,
        admin: &crate::Admin,
        n: u64,
    ) -> (crate::Secret, crate::AppContext) {
        let key = admin
            .create_app(&NewApp {
                app_id: "app",
                name: "App",
                allowed_origins: &[ORIGIN],
            })
            .unwrap()
            .api_key;
        let seats: Vec<NewSeat> = (0..n)
            .map(|i| NewSeat {
                seat_id: format!("S{i}"),
                price_minor: 500,
                currency: "EUR".into(),
                attributes: SeatAttributes::default(),
            })
            .collect();
        admin.create_seats("app", "E1", &seats).unwrap();
        let app = engine.app("app", key.expose(), ORIGIN).unwrap();
        (key, app)
    }

    const ORIGIN: &str = "https://a.example";

    fn config(clock: &ManualClock, payments: Arc<dyn PaymentVerifier>) -> Config {
        let fast = Argon2Params::insecure_fast_for_tests();
        let mut c = Config::new(
            "ops@x.io",
            hash_password("admin-password", &fast).unwrap(),
            "admin-secret-0123456789-0123456789-abcdef",
            "user-secret-0123456789-0123456789-abcdefgh",
        );
        c.argon2 = fast;
        c.durability = Durability::Full;
        c.clock = Arc::new(clock.clone());
        c.payments = Some(payments);
        c
    }

    /// Storage fails after the verifier approved: the caller is told the
    /// payment must be refunded, and since the binding was durable before
    /// the verifier was asked, reopening records it as refund due.
    #[test]
    fn an_approval_that_storage_can_not_record_is_refund_due_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let clock = ManualClock::default();
        let bank = Arc::new(PoisoningBank::default());
        let engine = Engine::open(&path, config(&clock, bank.clone())).unwrap();
        bank.engine.set(Arc::downgrade(&engine.inner)).ok().unwrap();
        let admin = admin_of(&engine);
        let (key, app) = app_with_seats(&engine, &admin, 2);
        let user = app
            .user(app.signup("b@x.io", "buyer-password").unwrap().expose())
            .unwrap();
        let r = app
            .reserve(&user, &["S0"], Some(Duration::from_secs(5)))
            .unwrap();
        let err = app
            .confirm(&user, r.token.expose(), "pi_X", 500)
            .unwrap_err();
        let ConfirmError::RefundDueUnrecorded { booking_id } = &err else {
            panic!("expected refund due unrecorded, got {err:?}");
        };
        assert_eq!(err.code(), ErrorCode::RefundDueUnrecorded);
        assert!(err.to_string().contains("refund due"));
        let booking_id = booking_id.clone();
        drop((app, admin, engine));

        clock.advance(Duration::from_secs(10));
        let engine = Engine::open(
            &path,
            config(&clock, Arc::new(crate::SimulatedPayments::default())),
        )
        .unwrap();
        let admin = admin_of(&engine);
        let refunds = admin.refunds_due("app").unwrap();
        assert_eq!(refunds.len(), 1, "{refunds:?}");
        assert_eq!(refunds[0].booking_id, booking_id);
        assert_eq!(refunds[0].payment_id, "pi_X");
        assert_eq!(refunds[0].amount_minor, 500);
        let report = engine.audit().unwrap();
        assert!(report.is_clean(), "{:?}", report.violations);
        assert_eq!(report.refund_records, 1);
        // The id stays bound to the first reservation.
        let app = engine.app("app", key.expose(), ORIGIN).unwrap();
        let user = app
            .user(app.login("b@x.io", "buyer-password").unwrap().expose())
            .unwrap();
        let r2 = app.reserve(&user, &["S1"], None).unwrap();
        assert!(matches!(
            app.confirm(&user, r2.token.expose(), "pi_X", 500),
            Err(ConfirmError::PaymentAlreadyUsed)
        ));
        assert!(matches!(
            app.confirm(&user, r.token.expose(), "pi_X", 500),
            Err(ConfirmError::RefundDue { booking_id: b }) if b == booking_id
        ));
    }

    /// Closing with its holds released commits a batch of holds at a
    /// time, not one commit per hold.
    #[test]
    fn closing_releases_live_holds_in_batches_of_commits() {
        let clock = ManualClock::default();
        let mut cfg = config(&clock, Arc::new(crate::SimulatedPayments::default()));
        cfg.holds.max_active_per_user = usize::MAX;
        cfg.holds.max_held_seats_per_entity = usize::MAX;
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path().join("db.redb"), cfg).unwrap();
        let admin = admin_of(&engine);
        let n: u64 = 600;
        let (_, app) = app_with_seats(&engine, &admin, n);
        let user = app
            .user(app.signup("b@x.io", "buyer-password").unwrap().expose())
            .unwrap();
        let tokens: Vec<_> = (0..n)
            .map(|i| app.reserve(&user, &[&format!("S{i}")], None).unwrap().token)
            .collect();
        let before = engine.inner.storage().with(Storage::commits).unwrap();
        admin
            .close_entity("app", "E1", crate::HoldsOnClose::Release)
            .unwrap();
        let commits = engine.inner.storage().with(Storage::commits).unwrap() - before;
        // The close's record, then 600 holds in batches of 256.
        assert_eq!(commits, 1 + 3, "{commits} commits");
        for token in &tokens {
            assert_eq!(
                app.reservation(&user, token.expose()).unwrap().status,
                crate::ReservationStatus::Released
            );
        }
        assert_eq!(engine.stats().releases, n);
        assert!(admin.user_holds("app").unwrap().is_empty());
        assert!(engine.audit().unwrap().is_clean());
    }

    #[test]
    fn token_parsing_accepts_only_the_exact_shape() {
        assert_eq!(parse_token("rsv_42.abc_-x"), Some((42, "abc_-x")));
        for bad in [
            "",
            "rsv_",
            "rsv_.x",
            "rsv_42.",
            "rsv_-1.x",
            "xsv_1.a",
            "rsv_1a.b",
            "rsv_99999999999999999999999.a",
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }
}
