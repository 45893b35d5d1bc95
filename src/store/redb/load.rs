//! What the engine rebuilds its memory from on open: apps, seats grouped
//! by app with their entities numbered, and the ACTIVE holds.
//!
//! Owns reading that state in one snapshot, cheaply (seats are decoded
//! without allocating). It must never write and never decide what the
//! engine does with what it loaded.

use std::collections::HashMap;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::RedbStore;
use super::records::{SEP, SeatHead, decode, decode_borrowed};
use super::schema::{ACTIVE_HOLDS, APPS, ENTITIES, RESERVATIONS, SEATS};
use crate::error::StorageError;
use crate::store::{
    AppRecord, EntityRecord, LoadedSeat, LoadedState, ReservationRecord, SeatStatus,
};

impl RedbStore {
    /// Reads everything the engine keeps in memory.
    pub(crate) fn load(&self) -> Result<LoadedState, StorageError> {
        let tx = self.db.begin_read()?;
        let mut apps = Vec::new();
        for row in tx.open_table(APPS)?.iter()? {
            let (_, v) = row?;
            apps.push(decode::<AppRecord>(v.value())?);
        }
        let seat_table = tx.open_table(SEATS)?;
        let mut seats: Vec<(String, Vec<LoadedSeat>, Vec<Box<str>>)> = Vec::new();
        let mut group_len = usize::try_from(seat_table.len()?).unwrap_or(0);
        // Entity numbers of the current app; seats of one entity mostly
        // come in a run, so the last one is tried before the map.
        let mut entity_ids: HashMap<Box<str>, u32> = HashMap::new();
        let mut last_entity: Option<u32> = None;
        for row in seat_table.iter()? {
            let (k, v) = row?;
            let key = k.value();
            let Some((app, seat)) = key.split_once(SEP) else {
                return Err(StorageError::corrupt("corrupt seat key"));
            };
            let head: SeatHead<'_> = decode_borrowed(v.value())?;
            if seats.last().is_none_or(|(a, _, _)| a != app) {
                // Sized for the rest of the table: apps are few, seats many.
                seats.push((app.to_owned(), Vec::with_capacity(group_len), Vec::new()));
                entity_ids.clear();
                last_entity = None;
            }
            let (_, group, entities) = seats.last_mut().expect("pushed above");
            let entity = match last_entity {
                Some(id) if *entities[id as usize] == *head.entity_id => id,
                _ => {
                    if let Some(&id) = entity_ids.get(head.entity_id) {
                        id
                    } else {
                        let id = u32::try_from(entities.len()).unwrap_or(u32::MAX);
                        entities.push(head.entity_id.into());
                        entity_ids.insert(head.entity_id.into(), id);
                        id
                    }
                }
            };
            last_entity = Some(entity);
            group.push(LoadedSeat {
                seat_id: seat.into(),
                price_minor: head.price_minor,
                currency: head.currency,
                booked: head.status == SeatStatus::Booked,
                entity,
            });
            group_len = group_len.saturating_sub(1);
        }
        let mut entities = Vec::new();
        for row in tx.open_table(ENTITIES)?.iter()? {
            let (k, v) = row?;
            let Some((app, entity)) = k.value().split_once(SEP) else {
                return Err(StorageError::corrupt("corrupt entity key"));
            };
            entities.push((
                app.to_owned(),
                entity.to_owned(),
                decode::<EntityRecord>(v.value())?,
            ));
        }
        let reservations = tx.open_table(RESERVATIONS)?;
        let mut active = Vec::new();
        for row in tx.open_table(ACTIVE_HOLDS)?.iter()? {
            let (k, _) = row?;
            let (indexed, id) = k.value();
            // Rows of confirmed, released or extended reservations wait
            // there for the sweep (see `WriteTx::put_reservation`).
            let rec = reservations
                .get(id)?
                .ok_or_else(|| StorageError::corrupt("active hold without reservation"))?;
            let rec = decode::<ReservationRecord>(rec.value())?;
            if rec.is_active() && rec.expires_at == indexed {
                active.push((id, rec));
            }
        }
        let max_reservation_id = reservations.last()?.map_or(0, |(k, _)| k.value());
        Ok(LoadedState {
            apps,
            seats,
            entities,
            active,
            max_reservation_id,
        })
    }
}
