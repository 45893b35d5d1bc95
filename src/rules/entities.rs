//! Entities: an app's events, routes or shows, and their sale.
//!
//! Owns the entity lifecycle rules behind the admin's entity operations
//! ([`Admin`](crate::Admin)'s `create_entity`, `update_entity`,
//! `get_entity`, `list_entities`, `close_entity`, `entity_figures`): what
//! a new entity looks like (also one created implicitly by the first
//! `create_seats` naming it), which changes a closed entity refuses, how
//! a close stops sales (the gate, see `crate::state::gates`) and releases
//! live holds when asked. It must never take or free a seat but through
//! the lock table's hold operations via `booking`'s release, and never
//! change a sale but under its gate's write lock, after the record is
//! stored.
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

use std::collections::BTreeMap;

use super::booking::{effective_state, release_reservation};
use crate::clock::UnixMillis;
use crate::error::{AdminError, HoldError};
use crate::locks::LockState;
use crate::model::{
    EntityFigures, EntityInfo, EntityStatus, EntityUpdate, HoldsOnClose, Money, NewEntity,
    SeatState,
};
use crate::state::gates::{MAX_ENTITIES, Sale};
use crate::state::{AppState, Inner};
use crate::store::{EntityRecord, WriteTx};
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
        Some(rec) if rec.status == EntityStatus::Closed => {
            Err(AdminError::EntityClosed(entity_id.to_owned()))
        }
        Some(_) => Ok(()),
        None => Ok(tx.put_entity(app_id, entity_id, &implicit_record(entity_id, now))?),
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
        closed: rec.status == EntityStatus::Closed,
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
/// entities).
fn record(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    entity_id: &str,
) -> Result<EntityRecord, AdminError> {
    if let Some(rec) = inner.storage().read()?.entity(app_id, entity_id)? {
        return Ok(rec);
    }
    if app.entity_id(entity_id).is_some() {
        return Ok(implicit_record(entity_id, 0));
    }
    Err(AdminError::EntityNotFound(entity_id.to_owned()))
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
    if app.entity_count() as usize >= MAX_ENTITIES {
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
    if changes_sale && rec.status == EntityStatus::Closed {
        return Err(AdminError::EntityClosed(entity_id.to_owned()));
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
/// its seats name without one.
pub(crate) fn list(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
) -> Result<Vec<EntityInfo>, AdminError> {
    let stored = inner.storage().read()?.entities(app_id)?;
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
        release_holds(inner, app, id)?;
    }
    Ok(info(entity_id, &rec))
}

/// Releases every live hold on the seats of entity number `id` (its sale
/// is closed: no new ones come). A hold a confirm has pinned is left to
/// its confirm; one that ended meanwhile is skipped.
fn release_holds(inner: &Inner, app: &AppState, id: u32) -> Result<(), AdminError> {
    let now = inner.now();
    let mut holds: Vec<u64> = app
        .seats_of_entity(id)
        .into_iter()
        .filter_map(|(_, entry)| match inner.locks().state(entry.key, now) {
            LockState::Held { holder, .. } => Some(holder.0),
            _ => None,
        })
        .collect();
    holds.sort_unstable();
    holds.dedup();
    for hold in holds {
        let Some(rec) = inner.storage().read()?.reservation(hold)? else {
            continue;
        };
        if !rec.is_active() {
            continue;
        }
        // Failing for storage stops the release; what was released stays
        // released, the rest can be released by closing again. Any other
        // failure means the hold ended meanwhile or a confirm pinned it.
        if let Err(HoldError::Storage(e)) = release_reservation(inner, app, hold, &rec) {
            return Err(e.into());
        }
    }
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
    figures.revenue = revenue
        .into_iter()
        .map(|(currency, amount_minor)| Money {
            currency: String::from_utf8_lossy(&currency).into_owned(),
            amount_minor,
        })
        .collect();
    Ok(figures)
}
