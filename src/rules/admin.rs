//! The operator: admin login and everything only the admin may do.
//!
//! Owns [`Admin`] (a verified admin token) and its operations on apps and
//! seats. The admin account lives in the configuration, never in the
//! database. It checks who may act and whether the input is well formed,
//! then applies the rules: seat removal is `retire`'s, booking
//! cancellation and refunds `booking`'s. It must never hand out an API
//! key except on create/rotate, and never change state but through the
//! state's API.

use std::collections::HashSet;
use std::sync::Arc;

use super::engine::Engine;
use super::{entities, retention, retire};
use crate::auth::{Busy, TokenKind, fingerprint, generate_api_key, hash_secret, normalize_origin};
use crate::clock::{UnixMillis, millis};
use crate::error::{AdminError, AuthError, CancelError, LoginError};
use crate::locks::LockTable;
use crate::model::{
    AppInfo, AppUpdate, Booking, CreatedApp, EntityFigures, EntityInfo, EntityUpdate, HoldsOnClose,
    NewApp, NewEntity, NewSeat, PurgeReport, UserHolds,
};
use crate::secret::Secret;
use crate::state::{AppState, Inner, SeatEntry};
use crate::store::{AppRecord, SeatRecord, SeatStatus};
use crate::validate::{self, InvalidInput};

/// Most allowed origins per app.
pub const MAX_ORIGINS: usize = 32;

/// A verified admin token. Every operation re-checks its expiry and that
/// the engine is open ([`AuthError::EngineClosed`] after
/// [`Engine::close`](crate::Engine::close)).
#[derive(Clone)]
pub struct Admin {
    inner: Arc<Inner>,
    expires_at: UnixMillis,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Logs the admin in and returns an admin token (24 h by default).
    /// Wrong email and wrong password give the same error after the same
    /// argon2 work. The token is bound to the configured admin password
    /// hash: once the engine is opened with another hash, older admin
    /// tokens answer [`AuthError::InvalidToken`].
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`], [`LoginError::InvalidInput`] for
    /// an over-long email or password, [`LoginError::Busy`],
    /// [`LoginError::SigningFailed`], [`LoginError::Auth`] with
    /// [`AuthError::EngineClosed`].
    pub fn admin_login(&self, email: &str, password: &str) -> Result<Secret, LoginError> {
        if self.inner.is_closed() {
            return Err(AuthError::EngineClosed.into());
        }
        if email.len() > 254 || password.len() > 512 {
            return Err(InvalidInput::new("credentials", "too long").into());
        }
        let cfg = self.inner.config();
        // Always pay the verify, so a wrong email takes as long as a wrong password.
        let password_ok = self
            .inner
            .hasher()
            .verify(password, cfg.admin_password_hash.expose())
            .map_err(|Busy| LoginError::Busy)?;
        let email_ok = email.trim().eq_ignore_ascii_case(cfg.admin_email.trim());
        if !(password_ok && email_ok) {
            return Err(LoginError::InvalidCredentials);
        }
        let now = self.inner.now();
        let token = self
            .inner
            .signer()
            .issue_versioned(
                TokenKind::Admin,
                &cfg.admin_email.trim().to_ascii_lowercase(),
                admin_fingerprint(&self.inner),
                now / 1000,
                millis(cfg.admin_token_ttl) / 1000,
            )
            .map_err(|_| LoginError::SigningFailed)?;
        Ok(Secret::new(token))
    }

    /// Verifies an admin token.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (forged, user token, other algorithm,
    /// issued for another admin email or password hash),
    /// [`AuthError::TokenExpired`], [`AuthError::EngineClosed`].
    pub fn admin(&self, token: &str) -> Result<Admin, AuthError> {
        if self.inner.is_closed() {
            return Err(AuthError::EngineClosed);
        }
        let now_s = self.inner.now() / 1000;
        let verified = self.inner.signer().verify(TokenKind::Admin, token, now_s)?;
        if !verified
            .subject
            .eq_ignore_ascii_case(self.inner.config().admin_email.trim())
            || verified.version != admin_fingerprint(&self.inner)
        {
            return Err(AuthError::InvalidToken);
        }
        Ok(Admin {
            inner: Arc::clone(&self.inner),
            expires_at: verified.expires_at_s.saturating_mul(1000),
        })
    }
}

/// The admin token's `ver` claim: a fingerprint of the configured admin
/// password hash, keyed with the admin JWT secret (so the claim reveals
/// nothing about the hash). Changing the hash invalidates older tokens.
fn admin_fingerprint(inner: &Inner) -> u64 {
    let cfg = inner.config();
    fingerprint(
        cfg.admin_jwt_secret.expose().as_bytes(),
        cfg.admin_password_hash.expose().as_bytes(),
    )
}

fn info(rec: &AppRecord) -> AppInfo {
    AppInfo {
        app_id: rec.app_id.clone(),
        name: rec.name.clone(),
        allowed_origins: rec.allowed_origins.clone(),
        active: rec.active,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
    }
}

fn origins(list: &[&str]) -> Result<Vec<String>, InvalidInput> {
    if list.is_empty() || list.len() > MAX_ORIGINS {
        return Err(InvalidInput::new(
            "allowed_origins",
            "must list 1..=32 origins",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for o in list {
        let n = normalize_origin(o)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

impl Admin {
    fn check(&self) -> Result<UnixMillis, AuthError> {
        if self.inner.is_closed() {
            return Err(AuthError::EngineClosed);
        }
        let now = self.inner.now();
        if now >= self.expires_at {
            return Err(AuthError::TokenExpired);
        }
        Ok(now)
    }

    fn app_state(&self, app_id: &str) -> Result<Arc<AppState>, AdminError> {
        validate::id("app_id", app_id)?;
        self.inner.app_state(app_id).ok_or(AdminError::AppNotFound)
    }

    /// Creates an app and returns its API key in plaintext, once.
    ///
    /// # Errors
    /// [`AdminError::AppAlreadyExists`], [`AdminError::InvalidInput`],
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn create_app(&self, new: &NewApp<'_>) -> Result<CreatedApp, AdminError> {
        let now = self.check()?;
        validate::app_id(new.app_id)?;
        let name = validate::display_name(new.name)?;
        let allowed_origins = origins(new.allowed_origins)?;
        let api_key = generate_api_key().map_err(|_| AdminError::RandomFailure)?;
        let rec = AppRecord {
            app_id: new.app_id.to_owned(),
            name,
            allowed_origins,
            active: true,
            api_key_hash: hash_secret(api_key.expose()),
            created_at: now,
            updated_at: now,
        };
        let _guard = self.inner.admin_lock();
        self.inner.storage().write(|tx| {
            if tx.app(&rec.app_id)?.is_some() {
                return Err(AdminError::AppAlreadyExists);
            }
            tx.put_app(&rec)?;
            Ok(())
        })?;
        let app = info(&rec);
        self.inner.add_app(AppState::new(rec));
        Ok(CreatedApp { app, api_key })
    }

    /// Every app, in id order.
    ///
    /// # Errors
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn list_apps(&self) -> Result<Vec<AppInfo>, AdminError> {
        self.check()?;
        Ok(self
            .inner
            .storage()
            .read()?
            .apps()?
            .iter()
            .map(info)
            .collect())
    }

    /// One app.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`].
    pub fn get_app(&self, app_id: &str) -> Result<AppInfo, AdminError> {
        self.check()?;
        Ok(info(&self.app_state(app_id)?.record()))
    }

    /// Changes an app's name and/or allowed origins. Contexts authenticated
    /// with a removed origin stop working at once.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn update_app(&self, app_id: &str, update: &AppUpdate<'_>) -> Result<AppInfo, AdminError> {
        let name = update.name.map(validate::display_name).transpose()?;
        let allowed = update.allowed_origins.map(origins).transpose()?;
        self.modify(app_id, |rec| {
            if let Some(name) = name {
                rec.name = name;
            }
            if let Some(allowed) = allowed {
                rec.allowed_origins = allowed;
            }
            Ok(())
        })
    }

    /// Deactivates (`false`) or reactivates (`true`) an app. A deactivated
    /// app's contexts fail at once; its data is kept.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn set_app_active(&self, app_id: &str, active: bool) -> Result<AppInfo, AdminError> {
        self.modify(app_id, |rec| {
            rec.active = active;
            Ok(())
        })
    }

    /// Replaces an app's API key. The old key stops working at once, for
    /// new and existing contexts alike. Returns the new key, once.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn rotate_api_key(&self, app_id: &str) -> Result<Secret, AdminError> {
        let key = generate_api_key().map_err(|_| AdminError::RandomFailure)?;
        let hash = hash_secret(key.expose());
        self.modify(app_id, |rec| {
            rec.api_key_hash = hash;
            Ok(())
        })?;
        Ok(key)
    }

    fn modify(
        &self,
        app_id: &str,
        change: impl FnOnce(&mut AppRecord) -> Result<(), AdminError>,
    ) -> Result<AppInfo, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        let _guard = self.inner.admin_lock();
        let mut rec = app.record().clone();
        change(&mut rec)?;
        rec.updated_at = now;
        self.inner.storage().write(|tx| tx.put_app(&rec))?;
        let out = info(&rec);
        app.replace_record(rec);
        Ok(out)
    }

    /// Creates seats for one entity of an app, all or none. Seat ids are
    /// unique within the app, for good: the ids of an archived entity's
    /// seats stay taken. An entity not created yet is created with
    /// defaults (on sale, no sale window, named after its id; see
    /// [`create_entity`](Self::create_entity)).
    ///
    /// # Errors
    /// [`AdminError::EntityClosed`], [`AdminError::EntityArchived`],
    /// [`AdminError::SeatAlreadyExists`] (also an archived seat's id; nothing created),
    /// [`AdminError::InvalidInput`] (empty, too many, duplicates, bad ids,
    /// currency or attributes), [`AdminError::CapacityExceeded`],
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn create_seats(
        &self,
        app_id: &str,
        entity_id: &str,
        seats: &[NewSeat],
    ) -> Result<usize, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        validate::id("entity_id", entity_id)?;
        if seats.is_empty() || seats.len() > self.inner.config().max_seats_per_bulk {
            return Err(InvalidInput::new("seats", "count must be 1..=max_seats_per_bulk").into());
        }
        let mut records = Vec::with_capacity(seats.len());
        let mut seen = HashSet::with_capacity(seats.len());
        for s in seats {
            validate::id("seat_id", &s.seat_id)?;
            if !seen.insert(s.seat_id.as_str()) {
                return Err(InvalidInput::new("seat_id", "duplicate in request").into());
            }
            let currency = validate::currency(&s.currency)?;
            for (field, value) in [
                ("section", &s.attributes.section),
                ("row", &s.attributes.row),
                ("category", &s.attributes.category),
            ] {
                if let Some(v) = value {
                    validate::attribute(field, v)?;
                }
            }
            if s.price_minor > MAX_PRICE_MINOR {
                return Err(InvalidInput::new("price_minor", "at most 10^15").into());
            }
            records.push(SeatRecord {
                entity_id: entity_id.to_owned(),
                price_minor: s.price_minor,
                currency,
                attributes: s.attributes.clone(),
                status: SeatStatus::Available,
                booked_by: None,
                booking_id: None,
            });
        }
        let _guard = self.inner.admin_lock();
        if self.inner.locks().live_seats() + seats.len() > LockTable::CAPACITY - 1 {
            return Err(AdminError::CapacityExceeded);
        }
        self.inner.storage().write(|tx| {
            entities::ensure_for_seats(tx, app_id, entity_id, now)?;
            for (s, rec) in seats.iter().zip(&records) {
                if tx.seat(app_id, &s.seat_id)?.is_some()
                    || tx.archived_seat(app_id, &s.seat_id)?.is_some()
                {
                    return Err(AdminError::SeatAlreadyExists(s.seat_id.clone()));
                }
                tx.put_seat(app_id, &s.seat_id, rec)?;
            }
            Ok(())
        })?;
        let entity = app
            .intern_entity(entity_id)
            .ok_or(AdminError::CapacityExceeded)?;
        for (s, rec) in seats.iter().zip(&records) {
            let key = self
                .inner
                .locks()
                .add_seat(false)
                .ok_or(AdminError::CapacityExceeded)?;
            app.add_seat(
                s.seat_id.clone().into_boxed_str(),
                SeatEntry {
                    key,
                    price_minor: rec.price_minor,
                    currency: rec.currency,
                    entity,
                },
            );
        }
        Ok(seats.len())
    }

    /// Creates an entity (an event, a route, a show) of an app, on sale.
    /// `name` empty means the entity id; a sale window, if given, must
    /// open before it closes. See [`EntityInfo`] for the fields.
    ///
    /// # Errors
    /// [`AdminError::EntityAlreadyExists`] (also for an entity its seats
    /// created), [`AdminError::InvalidInput`] (id syntax, name, kind,
    /// window), [`AdminError::CapacityExceeded`] (2^20 entities per app),
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`],
    /// [`AdminError::Storage`].
    pub fn create_entity(
        &self,
        app_id: &str,
        new: &NewEntity<'_>,
    ) -> Result<EntityInfo, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        entities::create(&self.inner, &app, app_id, new, now)
    }

    /// Changes an entity's name, kind, start or sale window (`None`
    /// leaves a field). A window change applies to every reserve that
    /// starts after this returns; reserves in flight on its seats finish
    /// first. Holds already taken are not affected.
    ///
    /// # Errors
    /// [`AdminError::EntityClosed`] for a sale-window change of a closed
    /// entity, [`AdminError::EntityNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`],
    /// [`AdminError::Storage`].
    pub fn update_entity(
        &self,
        app_id: &str,
        entity_id: &str,
        update: &EntityUpdate<'_>,
    ) -> Result<EntityInfo, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        entities::update(&self.inner, &app, app_id, entity_id, update, now)
    }

    /// One entity of an app.
    ///
    /// # Errors
    /// [`AdminError::EntityNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`],
    /// [`AdminError::Storage`].
    pub fn get_entity(&self, app_id: &str, entity_id: &str) -> Result<EntityInfo, AdminError> {
        self.check()?;
        let app = self.app_state(app_id)?;
        entities::get(&self.inner, &app, app_id, entity_id)
    }

    /// Every entity of an app, by entity id.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn list_entities(&self, app_id: &str) -> Result<Vec<EntityInfo>, AdminError> {
        self.check()?;
        let app = self.app_state(app_id)?;
        Ok(entities::list(&self.inner, &app, app_id, true)?)
    }

    /// Closes an entity for good: from the moment this returns no reserve
    /// of its seats succeeds ([`ReserveError::SaleClosed`](crate::ReserveError::SaleClosed));
    /// reserves already recording a hold on its seats finish first. Holds
    /// taken before run to their end and can be confirmed
    /// ([`HoldsOnClose::Keep`]) or are released now
    /// ([`HoldsOnClose::Release`]; a confirm already committing
    /// completes). Bookings stay cancellable. Closing a closed entity
    /// changes nothing but applies `holds` again.
    ///
    /// # Errors
    /// [`AdminError::EntityNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`],
    /// [`AdminError::Storage`] (with `Release`, the holds not yet released
    /// stay; close again).
    pub fn close_entity(
        &self,
        app_id: &str,
        entity_id: &str,
        holds: HoldsOnClose,
    ) -> Result<EntityInfo, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        entities::close(&self.inner, &app, app_id, entity_id, holds, now)
    }

    /// Purges the history older than `older_than` (at least
    /// `holds.max_total`): reservations that ended without a booking
    /// (EXPIRED or RELEASED) and the FAILED records of declined payments.
    /// Every booking that moved money or seats (SUCCESS, CANCELLED,
    /// REFUND_DUE, REFUNDED), every CONFIRMED or ACTIVE reservation,
    /// every reservation whose payment is pending, booked or refund due,
    /// every payment binding (a payment id stays bound to its
    /// reservation) and the newest reservation (ids continue after it on
    /// reopen, so they never repeat) stay. Afterwards a purged reservation's token answers
    /// `ReservationNotFound`, and a purged FAILED attempt leaves its
    /// user's bookings. `Config::purge_after` makes the reaper do the
    /// same on every tick.
    ///
    /// # Errors
    /// [`AdminError::InvalidInput`] (`older_than` below
    /// `holds.max_total`; nothing purged), [`AdminError::Auth`],
    /// [`AdminError::Storage`] (what was purged before stays purged; purge
    /// again).
    pub fn purge_history(
        &self,
        older_than: std::time::Duration,
    ) -> Result<PurgeReport, AdminError> {
        self.check()?;
        retention::purge(&self.inner, older_than)
    }

    /// Archives a closed entity, so that an engine running for years keeps
    /// only its live entities in memory: live holds left on its seats are
    /// released, its seats leave the directory, the lock table (their keys
    /// serve new seats) and the database, and its figures are kept as they
    /// are now ([`entity_figures`](Self::entity_figures) still answers).
    /// Its bookings and reservations stay queryable with their seat ids;
    /// its bookings can no longer be cancelled
    /// ([`CancelError::EntityArchived`](crate::CancelError::EntityArchived)).
    /// Archiving an archived entity changes nothing. See the README's
    /// "Entities and their sale".
    ///
    /// # Errors
    /// [`AdminError::EntityNotClosed`] (close it first),
    /// [`AdminError::EntityBusy`] (a confirm is committing on one of its
    /// seats: retry), [`AdminError::EntityNotFound`],
    /// [`AdminError::InvalidInput`], [`AdminError::AppNotFound`],
    /// [`AdminError::Auth`], [`AdminError::Storage`] (nothing archived;
    /// holds it released stay released).
    pub fn archive_entity(&self, app_id: &str, entity_id: &str) -> Result<EntityInfo, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        entities::archive(&self.inner, &app, app_id, entity_id, now)
    }

    /// An entity's figures now: seats sold, held and available, and the
    /// revenue of the sold seats per currency (minor units); an archived
    /// entity's as they were when it was archived.
    ///
    /// # Errors
    /// [`AdminError::EntityNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::AppNotFound`], [`AdminError::Auth`],
    /// [`AdminError::Storage`].
    pub fn entity_figures(
        &self,
        app_id: &str,
        entity_id: &str,
    ) -> Result<EntityFigures, AdminError> {
        self.check()?;
        let app = self.app_state(app_id)?;
        entities::figures(&self.inner, &app, app_id, entity_id)
    }

    /// Removes seats that are neither held nor booked, all or none.
    ///
    /// The whole list is checked before anything changes: every id well
    /// formed, none listed twice, every seat present in the app and free
    /// (an expired hold counts as free). Then the seats are retired in the
    /// lock table, so that no reserve can take one while the removal
    /// commits; that is the only change made before the commit, and any
    /// failure (a seat in use found late, storage) undoes it. The
    /// directory forgets the seats only after the commit. A failed call
    /// leaves every listed seat listed and reservable, now and after a
    /// reopen.
    ///
    /// # Errors
    /// [`AdminError::SeatNotFound`], [`AdminError::SeatInUse`] (nothing
    /// removed), [`AdminError::InvalidInput`] (empty, too many, a malformed
    /// id, an id listed twice), [`AdminError::AppNotFound`],
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn remove_seats(&self, app_id: &str, seat_ids: &[&str]) -> Result<usize, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        if seat_ids.is_empty() || seat_ids.len() > self.inner.config().max_seats_per_bulk {
            return Err(
                InvalidInput::new("seat_ids", "count must be 1..=max_seats_per_bulk").into(),
            );
        }
        let mut seen = HashSet::with_capacity(seat_ids.len());
        for &seat in seat_ids {
            validate::id("seat_id", seat)?;
            if !seen.insert(seat) {
                return Err(InvalidInput::new("seat_ids", "duplicate in request").into());
            }
        }
        retire::remove_seats(&self.inner, &app, app_id, seat_ids, now)
    }

    /// How much each user of an app holds right now: live reservations
    /// and their seats, for every user with at least one, by user id.
    /// Read from memory (the hold quotas' ledger, checked against the lock
    /// table), so an expired hold no longer shows even before the sweep.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::Auth`].
    pub fn user_holds(&self, app_id: &str) -> Result<Vec<UserHolds>, AdminError> {
        let now = self.check()?;
        let app = self.app_state(app_id)?;
        Ok(app.holds().counts(self.inner.locks(), now))
    }

    /// Cancels (refunds) a successful booking: status CANCELLED, its seats
    /// AVAILABLE again.
    ///
    /// # Errors
    /// [`AdminError::BookingNotFound`], [`AdminError::BookingNotCancellable`],
    /// [`AdminError::EntityArchived`] (its entity was archived),
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn cancel_booking(&self, booking_id: &str) -> Result<Booking, AdminError> {
        self.check()?;
        super::booking::cancel(&self.inner, None, booking_id).map_err(|e: CancelError| e.into())
    }

    /// An app's REFUND_DUE records: payments the verifier approved (or
    /// whose answer a crash lost) that booked nothing and must be
    /// refunded, in booking-id order. Settled ones leave the list.
    ///
    /// # Errors
    /// [`AdminError::AppNotFound`], [`AdminError::InvalidInput`],
    /// [`AdminError::Auth`], [`AdminError::Storage`].
    pub fn refunds_due(&self, app_id: &str) -> Result<Vec<Booking>, AdminError> {
        self.check()?;
        validate::id("app_id", app_id)?;
        if self.inner.app_state(app_id).is_none() {
            return Err(AdminError::AppNotFound);
        }
        Ok(super::booking::refunds_due(&self.inner, app_id)?)
    }

    /// Marks a REFUND_DUE record as refunded (the operator refunded the
    /// payment with the provider): status REFUNDED, off the refunds-due
    /// lists. The payment id stays bound to its reservation.
    ///
    /// # Errors
    /// [`AdminError::BookingNotFound`], [`AdminError::RefundNotDue`] (not
    /// a REFUND_DUE record, or settled already), [`AdminError::Auth`],
    /// [`AdminError::Storage`].
    pub fn settle_refund(&self, booking_id: &str) -> Result<Booking, AdminError> {
        self.check()?;
        super::booking::settle_refund(&self.inner, booking_id)
    }
}

/// Largest seat price, in minor units (10^15: totals of 64 seats stay far
/// from `u64::MAX`).
pub const MAX_PRICE_MINOR: u64 = 1_000_000_000_000_000;
