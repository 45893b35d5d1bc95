//! Entities: an app's events, routes or shows, and their sale.
//!
//! Owns the entity lifecycle rules behind the admin's entity operations
//! ([`Admin`](crate::Admin)'s `create_entity`, `update_entity`,
//! `get_entity`, `list_entities`, `close_entity`, `archive_entity`,
//! `entity_figures`): what a new entity looks like (also one created
//! implicitly by the first `create_seats` naming it), which changes a
//! closed or archived entity refuses, how a close stops sales (the gate,
//! see `crate::state::gates`) and releases live holds when asked, and how
//! an archive takes an entity's seats out of memory, the lock table and
//! the database. It must never take or free a seat but through the lock
//! table's hold operations via `booking`'s release (and, archiving, the
//! retirement of `retire`), and never change a sale but under its gate's
//! write lock, after the record is stored.
//!
//! # Decisions
//!
//! - **Seats for an unknown entity** create it, on sale, without a sale
//!   window, named after its id (`kind` empty, no start instant): seats
//!   could be created before entities existed, and hosts that never name
//!   entities keep working. An admin sets the rest with `update_entity`.
//! - **Databases from before entities** (schema version 2) have no entity
//!   records: their entities are on sale without a window, and
//!   `get_entity` shows them with `created_at` 0 until the first change
//!   writes their record.
//! - **Closing is for good** and idempotent: a second close changes
//!   nothing but may release the holds a first close kept. A closed
//!   entity refuses new seats and changes to its sale window; its name,
//!   kind and start can still be corrected. Its bookings stay cancellable
//!   (a cancelled seat becomes available, but nobody can reserve it).
//! - **Archiving** is for closed entities only (`EntityNotClosed`
//!   otherwise), for good, and idempotent. It releases the holds still
//!   live on the entity's seats (a confirm committing makes it refuse
//!   with `EntityBusy`, changing nothing but the released holds), then,
//!   under the entity's gate, retires every seat in the lock table
//!   (booked ones too) and in one commit replaces the entity's record by
//!   an archived one carrying its final figures, and its seat rows by
//!   archived-seat rows (seat id to entity id). After the commit the
//!   seats leave the directory, their keys are recycled, and the entity's
//!   number serves the next new entity. What stays: the bookings and
//!   reservations, by id and in each user's list, with their seat ids
//!   and amounts; the archived record (`get_entity`, `list_entities`,
//!   `entity_figures`). Seat ids of an archived entity stay taken, so a
//!   booking's seat ids never name two seats. Its bookings can no longer
//!   be cancelled (`CancelError::EntityArchived`): their seats are gone.
//!   An archived entity refuses every change (`EntityArchived`) and is
//!   never loaded on open.

use std::collections::BTreeMap;

use super::booking::{effective_state, release_reservations};
use super::retire::Retired;
use crate::clock::UnixMillis;
use crate::error::{AdminError, QueryError, StorageError};
use crate::locks::LockState;
use crate::model::{
    EntityFigures, EntityInfo, EntityStatus, EntityUpdate, HoldsOnClose, Money, NewEntity,
    SeatState,
};
use crate::rules::app::AppContext;
use crate::state::gates::{MAX_ENTITIES, Sale};
use crate::state::{AppState, Inner};
use crate::store::{ArchivedEntityRecord, EntityRecord, SeatStatus, WriteTx};
use crate::validate::{self, InvalidInput};

/// The record of an entity created by naming it in `create_seats`.
pub(crate) fn implicit_record(entity_id: &str, now: UnixMillis) -> EntityRecord {
    EntityRecord {
        name: entity_id.to_owned(),
        kind: String::new(),
        starts_at: None,
        sale_opens_at: None,
        sale_closes_at: None,
        status: EntityStatus::OnSale,
        created_at: now,
        updated_at: now,
    }
}

/// Inside `create_seats`' transaction: the entity's record, written with
/// defaults if it has none; refuses a closed entity.
pub(crate) fn ensure_for_seats(
    tx: &mut WriteTx<'_>,
    app_id: &str,
    entity_id: &str,
    now: UnixMillis,
) -> Result<(), AdminError> {
    match tx.entity(app_id, entity_id)? {
        Some(rec) => refuse_unless_on_sale(entity_id, &rec),
        None => Ok(tx.put_entity(app_id, entity_id, &implicit_record(entity_id, now))?),
    }
}

/// `EntityClosed` or `EntityArchived` unless the entity is on sale.
fn refuse_unless_on_sale(entity_id: &str, rec: &EntityRecord) -> Result<(), AdminError> {
    match rec.status {
        EntityStatus::OnSale => Ok(()),
        EntityStatus::Closed => Err(AdminError::EntityClosed(entity_id.to_owned())),
        EntityStatus::Archived => Err(AdminError::EntityArchived(entity_id.to_owned())),
    }
}

fn info(entity_id: &str, rec: &EntityRecord) -> EntityInfo {
    EntityInfo {
        entity_id: entity_id.to_owned(),
        name: rec.name.clone(),
        kind: rec.kind.clone(),
        starts_at: rec.starts_at,
        sale_opens_at: rec.sale_opens_at,
        sale_closes_at: rec.sale_closes_at,
        status: rec.status,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
    }
}

fn sale_of(rec: &EntityRecord) -> Sale {
    Sale {
        closed: rec.status != EntityStatus::OnSale,
        opens_at: rec.sale_opens_at,
        closes_at: rec.sale_closes_at,
    }
}

fn check_window(opens: Option<UnixMillis>, closes: Option<UnixMillis>) -> Result<(), InvalidInput> {
    match (opens, closes) {
        (Some(o), Some(c)) if o >= c => Err(InvalidInput::new(
            "sale_closes_at",
            "must be later than sale_opens_at",
        )),
        _ => Ok(()),
    }
}

fn check_text(name: &str, kind: &str) -> Result<(String, String), InvalidInput> {
    validate::attribute("kind", kind)?;
    Ok((validate::display_name(name)?, kind.to_owned()))
}

/// The stored record of entity `entity_id`, or the implicit one of an
/// entity the app's seats name without a record (a database from before
/// entities); `None` if the app has no such entity.
fn stored_or_implicit(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<Option<EntityRecord>, StorageError> {
    if let Some(rec) = inner.storage().read()?.entity(app_id, entity_id)? {
        return Ok(Some(rec));
    }
    Ok(app
        .entity_id(entity_id)
        .map(|_| implicit_record(entity_id, 0)))
}

/// As [`stored_or_implicit`], for the admin: `EntityNotFound` if absent.
fn record(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<EntityRecord, AdminError> {
    stored_or_implicit(inner, app, app_id, entity_id)?
        .ok_or_else(|| AdminError::EntityNotFound(entity_id.to_owned()))
}

/// Creates entity `new.entity_id` (under the admin lock).
pub(crate) fn create(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    new: &NewEntity<'_>,
    now: UnixMillis,
) -> Result<EntityInfo, AdminError> {
    validate::id("entity_id", new.entity_id)?;
    let name = if new.name.is_empty() {
        new.entity_id
    } else {
        new.name
    };
    let (name, kind) = check_text(name, new.kind)?;
    check_window(new.sale_opens_at, new.sale_closes_at)?;
    let rec = EntityRecord {
        name,
        kind,
        starts_at: new.starts_at,
        sale_opens_at: new.sale_opens_at,
        sale_closes_at: new.sale_closes_at,
        status: EntityStatus::OnSale,
        created_at: now,
        updated_at: now,
    };
    let _admin = inner.admin_lock();
    if app.entity_id(new.entity_id).is_some() {
        return Err(AdminError::EntityAlreadyExists(new.entity_id.to_owned()));
    }
    if app.next_entity_number() as usize >= MAX_ENTITIES {
        return Err(AdminError::CapacityExceeded);
    }
    inner.storage().write(|tx| {
        if tx.entity(app_id, new.entity_id)?.is_some() {
            return Err(AdminError::EntityAlreadyExists(new.entity_id.to_owned()));
        }
        Ok(tx.put_entity(app_id, new.entity_id, &rec)?)
    })?;
    // Interned only once stored: a failed create leaves no trace. No seat
    // names it yet, so no reserve reads its gate before the sale is set.
    let id = app
        .intern_entity(new.entity_id)
        .ok_or(AdminError::CapacityExceeded)?;
    if let Some(gate) = app.gate(id) {
        gate.change().set(sale_of(&rec));
    }
    Ok(info(new.entity_id, &rec))
}

/// Applies `update` to entity `entity_id`.
pub(crate) fn update(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
    update: &EntityUpdate<'_>,
    now: UnixMillis,
) -> Result<EntityInfo, AdminError> {
    validate::id("entity_id", entity_id)?;
    let _admin = inner.admin_lock();
    let mut rec = record(inner, app, app_id, entity_id)?;
    let changes_sale = update.sale_opens_at.is_some() || update.sale_closes_at.is_some();
    if rec.status == EntityStatus::Archived || changes_sale {
        refuse_unless_on_sale(entity_id, &rec)?;
    }
    let name = match update.name {
        Some("") => entity_id,
        Some(name) => name,
        None => &rec.name,
    };
    let (name, kind) = check_text(name, update.kind.unwrap_or(&rec.kind))?;
    rec.name = name;
    rec.kind = kind;
    if let Some(starts_at) = update.starts_at {
        rec.starts_at = starts_at;
    }
    if let Some(opens) = update.sale_opens_at {
        rec.sale_opens_at = opens;
    }
    if let Some(closes) = update.sale_closes_at {
        rec.sale_closes_at = closes;
    }
    check_window(rec.sale_opens_at, rec.sale_closes_at)?;
    if rec.created_at == 0 {
        rec.created_at = now;
    }
    rec.updated_at = now;
    let id = app
        .intern_entity(entity_id)
        .ok_or(AdminError::CapacityExceeded)?;
    let gate = app.gate(id).ok_or(AdminError::CapacityExceeded)?;
    let mut change = gate.change();
    inner
        .storage()
        .write(|tx| Ok::<_, AdminError>(tx.put_entity(app_id, entity_id, &rec)?))?;
    change.set(sale_of(&rec));
    Ok(info(entity_id, &rec))
}

impl AppContext {
    /// One of the app's entities as its buyers may see it: name, kind,
    /// start, sale window and status (so a listing can say "on sale from
    /// ..." or "sales closed" before anyone tries to reserve).
    ///
    /// # Errors
    /// [`QueryError::EntityNotFound`], [`QueryError::InvalidInput`],
    /// [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn entity(&self, entity_id: &str) -> Result<EntityInfo, QueryError> {
        self.check()?;
        validate::id("entity_id", entity_id)?;
        stored_or_implicit(&self.inner, &self.app, &self.app_id(), entity_id)?
            .map(|rec| info(entity_id, &rec))
            .ok_or_else(|| QueryError::EntityNotFound(entity_id.to_owned()))
    }

    /// The app's entities on sale or closed (not the archived ones), by
    /// entity id, with their sale windows and status. Cost proportional
    /// to the live entities.
    ///
    /// # Errors
    /// [`QueryError::Auth`], [`QueryError::Storage`].
    pub fn list_entities(&self) -> Result<Vec<EntityInfo>, QueryError> {
        self.check()?;
        Ok(list(&self.inner, &self.app, &self.app_id(), false)?)
    }
}

/// Entity `entity_id` as stored (or implicit).
pub(crate) fn get(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<EntityInfo, AdminError> {
    validate::id("entity_id", entity_id)?;
    Ok(info(entity_id, &record(inner, app, app_id, entity_id)?))
}

/// Every entity of the app, by entity id: those with a record and those
/// its seats name without one; archived ones only if `archived`.
pub(crate) fn list(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    archived: bool,
) -> Result<Vec<EntityInfo>, StorageError> {
    let read = inner.storage().read()?;
    let stored = if archived {
        read.entities(app_id)?
    } else {
        read.live_entities(app_id)?
    };
    let mut all: BTreeMap<String, EntityInfo> = stored
        .iter()
        .map(|(id, rec)| (id.clone(), info(id, rec)))
        .collect();
    for name in app.entity_names() {
        all.entry(name.clone())
            .or_insert_with(|| info(&name, &implicit_record(&name, 0)));
    }
    Ok(all.into_values().collect())
}

/// Closes entity `entity_id`: no new holds from the moment this returns
/// (reserves in flight on its seats finish first, under the gate), and
/// with [`HoldsOnClose::Release`] every live hold on its seats released,
/// except those a confirm has pinned (they complete).
pub(crate) fn close(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
    holds: HoldsOnClose,
    now: UnixMillis,
) -> Result<EntityInfo, AdminError> {
    validate::id("entity_id", entity_id)?;
    let admin = inner.admin_lock();
    let mut rec = record(inner, app, app_id, entity_id)?;
    if rec.status == EntityStatus::Archived {
        // Closed for good already, and no seat left to hold.
        return Ok(info(entity_id, &rec));
    }
    let id = app
        .intern_entity(entity_id)
        .ok_or(AdminError::CapacityExceeded)?;
    if rec.status != EntityStatus::Closed {
        rec.status = EntityStatus::Closed;
        if rec.created_at == 0 {
            rec.created_at = now;
        }
        rec.updated_at = now;
        let gate = app.gate(id).ok_or(AdminError::CapacityExceeded)?;
        // Waits for the reserves that won seats of this entity and still
        // record their holds: after it, every live hold is on record.
        let mut change = gate.change();
        inner
            .storage()
            .write(|tx| Ok::<_, AdminError>(tx.put_entity(app_id, entity_id, &rec)?))?;
        change.set(sale_of(&rec));
    }
    drop(admin);
    if holds == HoldsOnClose::Release {
        release_holds(inner, app, app_id, entity_id)?;
    }
    Ok(info(entity_id, &rec))
}

/// Archives closed entity `entity_id` (see the module's Decisions).
pub(crate) fn archive(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
    now: UnixMillis,
) -> Result<EntityInfo, AdminError> {
    validate::id("entity_id", entity_id)?;
    let _admin = inner.admin_lock();
    let mut rec = record(inner, app, app_id, entity_id)?;
    match rec.status {
        EntityStatus::Archived => return Ok(info(entity_id, &rec)),
        EntityStatus::OnSale => return Err(AdminError::EntityNotClosed(entity_id.to_owned())),
        EntityStatus::Closed => {}
    }
    // A closed entity has a record, interned on open and by its close.
    let id = app
        .entity_id(entity_id)
        .ok_or_else(|| StorageError::corrupt(format!("closed entity {entity_id} not loaded")))?;
    release_holds(inner, app, app_id, entity_id)?;
    let gate = app.gate(id).ok_or(AdminError::CapacityExceeded)?;
    // Under the gate's write lock: no reserve of its seats is in flight
    // (none can win: the sale is closed) and no cancel of its bookings
    // (`booking::cancel` holds the gates of its seats' entities).
    let mut change = gate.change();
    let seat_ids: Vec<String> = inner
        .storage()
        .read()?
        .entity_seats(app_id, entity_id)?
        .into_iter()
        .map(|(seat_id, _)| seat_id)
        .collect();
    let now_locks = inner.now();
    let mut retired = Retired::new(inner.locks(), seat_ids.len());
    for seat_id in &seat_ids {
        let entry = app
            .seat(seat_id)
            .ok_or_else(|| StorageError::corrupt(format!("seat {seat_id} not loaded")))?;
        // A hold still live here is a confirm committing (the release
        // above leaves pinned holds to their confirm) or a reserve that
        // won just before the close and lets go under the gate.
        let booked = inner
            .locks()
            .try_retire_settled(entry.key, now_locks)
            .ok_or_else(|| AdminError::EntityBusy(entity_id.to_owned()))?;
        retired.push(entry.key, booked);
    }
    rec.status = EntityStatus::Archived;
    rec.updated_at = now;
    let archived = inner.storage().write(|tx| {
        // Figures from the rows as committed: every seat is retired, so
        // no confirm can book one after this read.
        let mut sold = 0;
        let mut revenue: BTreeMap<[u8; 3], u64> = BTreeMap::new();
        for seat_id in &seat_ids {
            if let Some(seat) = tx.seat(app_id, seat_id)?
                && seat.status == SeatStatus::Booked
            {
                sold += 1;
                let sum = revenue.entry(seat.currency).or_insert(0);
                *sum = sum.saturating_add(seat.price_minor);
            }
        }
        let archived = ArchivedEntityRecord {
            record: rec.clone(),
            seats: seat_ids.len() as u64,
            sold,
            revenue: revenue.into_iter().collect(),
        };
        tx.archive_entity(app_id, entity_id, &seat_ids, &archived)?;
        Ok::<_, AdminError>(archived)
    })?;
    for seat_id in &seat_ids {
        app.remove_seat(seat_id);
    }
    retired.recycle();
    // The number serves the next new entity, which starts on sale.
    change.set(Sale::default());
    drop(change);
    app.forget_entity(id);
    Ok(info(entity_id, &archived.record))
}

/// Releases every live hold on the seats of entity `entity_id` (its sale
/// is closed: no new ones come), a batch of holds per commit. A hold a
/// confirm has pinned is left to its confirm; one that ended meanwhile is
/// skipped. A storage failure stops the release; what was released stays
/// released, the rest can be released by closing again.
fn release_holds(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<(), AdminError> {
    let now = inner.now();
    let seats = inner.storage().read()?.entity_seats(app_id, entity_id)?;
    let mut holds: Vec<u64> = seats
        .iter()
        .filter_map(|(seat_id, _)| app.seat(seat_id))
        .filter_map(|entry| match inner.locks().state(entry.key, now) {
            LockState::Held { holder, .. } => Some(holder.0),
            _ => None,
        })
        .collect();
    holds.sort_unstable();
    holds.dedup();
    release_reservations(inner, app, &holds)?;
    Ok(())
}

/// Entity `entity_id`'s figures now.
pub(crate) fn figures(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<EntityFigures, AdminError> {
    validate::id("entity_id", entity_id)?;
    let rec = record(inner, app, app_id, entity_id)?;
    if rec.status == EntityStatus::Archived {
        let archived = inner
            .storage()
            .read()?
            .archived_entity(app_id, entity_id)?
            .ok_or(AdminError::EntityNotFound(entity_id.to_owned()))?;
        return Ok(EntityFigures {
            entity_id: entity_id.to_owned(),
            status: rec.status,
            sold: archived.sold,
            held: 0,
            available: archived.seats - archived.sold,
            revenue: money(archived.revenue),
        });
    }
    let now = inner.now();
    let rows = inner.storage().read()?.entity_seats(app_id, entity_id)?;
    let mut figures = EntityFigures {
        entity_id: entity_id.to_owned(),
        status: rec.status,
        sold: 0,
        held: 0,
        available: 0,
        revenue: Vec::new(),
    };
    let mut revenue: BTreeMap<[u8; 3], u64> = BTreeMap::new();
    for (seat_id, seat) in rows {
        match effective_state(inner, app, &seat_id, seat.status, now) {
            SeatState::Booked => {
                figures.sold += 1;
                let sum = revenue.entry(seat.currency).or_insert(0);
                *sum = sum.saturating_add(seat.price_minor);
            }
            SeatState::Held { .. } => figures.held += 1,
            SeatState::Available => figures.available += 1,
        }
    }
    figures.revenue = money(revenue);
    Ok(figures)
}

fn money(revenue: impl IntoIterator<Item = ([u8; 3], u64)>) -> Vec<Money> {
    revenue
        .into_iter()
        .map(|(currency, amount_minor)| Money {
            currency: String::from_utf8_lossy(&currency).into_owned(),
            amount_minor,
        })
        .collect()
}
