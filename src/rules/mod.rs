//! The rules: every decision about apps, users, holds, reservations,
//! bookings and seats, and the handles hosts call them through.
//!
//! Owns the booking rules (`booking`: reserve, extend, release, confirm,
//! cancel, refunds), entities and their sale (`entities`, `sale`), expiry (`expiry`: what ACTIVE means, the sweep, the
//! recovery of lost payment answers, restoring holds on open), seat
//! retirement (`retire`), the purge of old records (`retention`), the hold quotas (`quota`), the audit's
//! invariant checks (`audit`), app and user authentication (`app`), the
//! admin's operations (`admin`) and the [`Engine`](crate::Engine) handle
//! (`engine`).
//!
//! Rules keep no state of their own: they read and change the engine's
//! state through `crate::state`'s API and the store through its
//! transactions. They must never reach into another module's internals
//! (fields), and `crate::state` must never call back into them.
//!
//! Import order inside this folder: `engine` -> `expiry`, `audit`,
//! `retention`; `admin` -> `retire`, `entities`, `retention`, `booking`,
//! `app`; `entities` -> `booking`, `retire`, `app`; `retention` ->
//! `expiry`; `booking` -> `app`, `quota`, `expiry`, `sale`; `audit` ->
//! `expiry`. Nothing imports back up; the unit test
//! in `src/layering.rs` fails on any import cycle between modules or
//! folders, and on `state` using `rules`.

pub(crate) mod admin;
pub(crate) mod app;
pub(crate) mod audit;
pub(crate) mod booking;
pub(crate) mod engine;
pub(crate) mod entities;
pub(crate) mod expiry;
pub(crate) mod quota;
pub(crate) mod retention;
pub(crate) mod retire;
pub(crate) mod sale;
