//! Entities (an event, a route, a show) and their sale, for the admin.
//!
//! Owns [`seatbook_entity_info`], [`seatbook_entity_info_list`],
//! [`seatbook_entity_figures`], their `*_view` structs, the argument
//! structs [`seatbook_new_entity`] and [`seatbook_entity_update`], and the
//! enums [`seatbook_entity_status`], [`seatbook_holds_on_close`] and
//! [`seatbook_field_change`]. Each function converts its arguments and
//! calls the matching [`crate::Admin`] method; nothing is decided here.
//!
//! Enum values that come from C (`seatbook_holds_on_close`,
//! `seatbook_field_change`) are taken as `uint32_t` and checked here: an
//! out-of-range value is `SEATBOOK_INVALID_INPUT`, never a Rust enum with
//! an invalid discriminant.

use std::ffi::{CString, c_char};

use super::admin::{admin_of, seatbook_admin};
use super::app::{app, seatbook_app};
use super::boundary::{
    Failure, FfiResult, Handle, ListHandle, arg_ref, arg_str, cstring, ffi_boundary,
    ffi_boundary_or, free_handle, handle, into_raw, list_count, list_get, opt_out_handle, opt_str,
    out_handle, out_param,
};
use super::status::seatbook_status;
use crate::{EntityFigures, EntityInfo, EntityStatus, EntityUpdate, HoldsOnClose, NewEntity};

/// Where an entity is in its lifecycle (`OnSale -> Closed -> Archived`,
/// one way).
///
/// Later versions may add values: treat a value you do not know as "not on
/// sale".
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum seatbook_entity_status {
    /// Seats can be reserved (within the sale window, if it has one).
    #[default]
    SEATBOOK_ENTITY_STATUS_ON_SALE = 0,
    /// Sales stopped for good: no new holds; bookings stay cancellable.
    SEATBOOK_ENTITY_STATUS_CLOSED = 1,
    /// Archived: its seats are gone from memory and the database, its
    /// bookings and reservations stay queryable, its figures are frozen.
    SEATBOOK_ENTITY_STATUS_ARCHIVED = 2,
}

impl From<EntityStatus> for seatbook_entity_status {
    fn from(status: EntityStatus) -> Self {
        // `EntityStatus` is `#[non_exhaustive]` for other crates only: this
        // match is exhaustive on purpose, so a new core status does not
        // compile here until it gets a C value of its own.
        match status {
            EntityStatus::OnSale => Self::SEATBOOK_ENTITY_STATUS_ON_SALE,
            EntityStatus::Closed => Self::SEATBOOK_ENTITY_STATUS_CLOSED,
            EntityStatus::Archived => Self::SEATBOOK_ENTITY_STATUS_ARCHIVED,
        }
    }
}

/// What `seatbook_admin_close_entity()` does with the live holds on the
/// entity's seats (its `holds` argument).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum seatbook_holds_on_close {
    /// Live holds run to their end: their buyers may still confirm them.
    SEATBOOK_HOLDS_KEEP = 0,
    /// Live holds are released at once (their reservations become
    /// RELEASED, their seats available). A confirm already committing
    /// completes.
    SEATBOOK_HOLDS_RELEASE = 1,
}

impl seatbook_holds_on_close {
    /// The core value of a raw `uint32_t` from C.
    fn from_raw(value: u32) -> FfiResult<HoldsOnClose> {
        match value {
            v if v == Self::SEATBOOK_HOLDS_KEEP as u32 => Ok(HoldsOnClose::Keep),
            v if v == Self::SEATBOOK_HOLDS_RELEASE as u32 => Ok(HoldsOnClose::Release),
            _ => Err(Failure::invalid(
                "holds",
                "not SEATBOOK_HOLDS_KEEP or SEATBOOK_HOLDS_RELEASE",
            )),
        }
    }
}

/// What `seatbook_entity_update` does with one optional instant.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum seatbook_field_change {
    /// Leave the field as it is (the value is ignored); 0, so a
    /// zero-initialised update changes nothing.
    SEATBOOK_FIELD_KEEP = 0,
    /// Set the field to the value.
    SEATBOOK_FIELD_SET = 1,
    /// Remove the field (no start, no sale-window bound); the value is
    /// ignored.
    SEATBOOK_FIELD_CLEAR = 2,
}

impl seatbook_field_change {
    /// The core change of a raw `uint32_t` from C and its value.
    #[allow(clippy::option_option)] // the shape of `EntityUpdate`'s instants
    fn from_raw(change: u32, value: u64, name: &str) -> FfiResult<Option<Option<u64>>> {
        match change {
            c if c == Self::SEATBOOK_FIELD_KEEP as u32 => Ok(None),
            c if c == Self::SEATBOOK_FIELD_SET as u32 => Ok(Some(Some(value))),
            c if c == Self::SEATBOOK_FIELD_CLEAR as u32 => Ok(Some(None)),
            _ => Err(Failure::invalid(
                name,
                "not SEATBOOK_FIELD_KEEP, SEATBOOK_FIELD_SET or SEATBOOK_FIELD_CLEAR",
            )),
        }
    }
}

/// An entity to create with `seatbook_admin_create_entity()`. Each
/// optional instant is a `has_...` flag and its value (milliseconds since
/// the Unix epoch), read only when the flag is true.
#[repr(C)]
pub struct seatbook_new_entity {
    /// Same syntax as a seat id, e.g. "EVENT_001"; unique within the app.
    pub entity_id: *const c_char,
    /// NULL or "": the entity id.
    pub name: *const c_char,
    /// Free text chosen by the app ("event", "route", "show", ...); NULL
    /// means "".
    pub kind: *const c_char,
    /// When the event starts (the show, the departure), if known.
    pub has_starts_at: bool,
    pub starts_at: u64,
    /// Reserves before this instant fail with `SEATBOOK_SALE_NOT_OPEN`.
    pub has_sale_opens_at: bool,
    pub sale_opens_at: u64,
    /// Reserves at or after this instant fail with `SEATBOOK_SALE_CLOSED`.
    /// Must be later than `sale_opens_at` when both are set.
    pub has_sale_closes_at: bool,
    pub sale_closes_at: u64,
}

/// Changes to an entity for `seatbook_admin_update_entity()`. A
/// zero-initialised value changes nothing.
#[repr(C)]
pub struct seatbook_entity_update {
    /// The new name; NULL keeps it ("" means the entity id).
    pub name: *const c_char,
    /// The new kind; NULL keeps it.
    pub kind: *const c_char,
    /// A `seatbook_field_change` value for `starts_at`.
    pub starts_at_change: u32,
    pub starts_at: u64,
    /// A `seatbook_field_change` value for `sale_opens_at`.
    pub sale_opens_at_change: u32,
    pub sale_opens_at: u64,
    /// A `seatbook_field_change` value for `sale_closes_at`.
    pub sale_closes_at_change: u32,
    pub sale_closes_at: u64,
}

/// One entity as the admin sees it (from `seatbook_admin_get_entity()` and
/// the other entity functions).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_entity_info_free()`.
pub struct seatbook_entity_info {
    _private: [u8; 0],
}

/// The fields of a `seatbook_entity_info`. Every pointer is borrowed from
/// the handle it was read from and stays valid until that handle is freed.
/// Instants are milliseconds since the Unix epoch; an optional one is set
/// only when its `has_...` flag is true (0 otherwise).
#[repr(C)]
pub struct seatbook_entity_info_view {
    pub entity_id: *const c_char,
    pub name: *const c_char,
    /// "" when the entity has none.
    pub kind: *const c_char,
    pub has_starts_at: bool,
    pub starts_at: u64,
    pub has_sale_opens_at: bool,
    pub sale_opens_at: u64,
    pub has_sale_closes_at: bool,
    pub sale_closes_at: u64,
    pub status: seatbook_entity_status,
    pub created_at: u64,
    pub updated_at: u64,
}

impl Default for seatbook_entity_info_view {
    fn default() -> Self {
        Self {
            entity_id: std::ptr::null(),
            name: std::ptr::null(),
            kind: std::ptr::null(),
            has_starts_at: false,
            starts_at: 0,
            has_sale_opens_at: false,
            sale_opens_at: 0,
            has_sale_closes_at: false,
            sale_closes_at: 0,
            status: seatbook_entity_status::default(),
            created_at: 0,
            updated_at: 0,
        }
    }
}

#[repr(C)]
pub(crate) struct EntityInfoHandle {
    kind: u32,
    entity_id: CString,
    name: CString,
    entity_kind: CString,
    starts_at: Option<u64>,
    sale_opens_at: Option<u64>,
    sale_closes_at: Option<u64>,
    status: seatbook_entity_status,
    created_at: u64,
    updated_at: u64,
}

impl Handle for EntityInfoHandle {
    // In this change's status range (67..=71), so parallel additions never collide.
    const KIND: u32 = 0x5EA7_0043;
    const NAME: &'static str = "seatbook_entity_info";
}

impl EntityInfoHandle {
    fn new(info: EntityInfo) -> Self {
        Self {
            kind: Self::KIND,
            entity_id: cstring(info.entity_id),
            name: cstring(info.name),
            entity_kind: cstring(info.kind),
            starts_at: info.starts_at,
            sale_opens_at: info.sale_opens_at,
            sale_closes_at: info.sale_closes_at,
            status: info.status.into(),
            created_at: info.created_at,
            updated_at: info.updated_at,
        }
    }

    fn view(&self) -> seatbook_entity_info_view {
        seatbook_entity_info_view {
            entity_id: self.entity_id.as_ptr(),
            name: self.name.as_ptr(),
            kind: self.entity_kind.as_ptr(),
            has_starts_at: self.starts_at.is_some(),
            starts_at: self.starts_at.unwrap_or(0),
            has_sale_opens_at: self.sale_opens_at.is_some(),
            sale_opens_at: self.sale_opens_at.unwrap_or(0),
            has_sale_closes_at: self.sale_closes_at.is_some(),
            sale_closes_at: self.sale_closes_at.unwrap_or(0),
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

fn give_entity(out: Option<&mut *mut seatbook_entity_info>, info: EntityInfo) {
    if let Some(out) = out {
        *out = into_raw(EntityInfoHandle::new(info));
    }
}

/// Reads an entity record's fields into `*out`.
///
/// # Safety
/// `info` is NULL or a live entity info handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_info_get(
    info: *const seatbook_entity_info,
    out: *mut seatbook_entity_info_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the handle is NULL or live (docs/ffi.md, pointer rule 1),
        // `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<EntityInfoHandle, _>(info, "info")?,
                out_param(out, "out")?,
            )
        };
        *out = h.view();
        Ok(())
    })
}

/// Frees an entity info handle. NULL is a no-op.
///
/// # Safety
/// `info` is NULL or a live entity info handle from a `*_entity` function
/// (not one borrowed from a list), not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_info_free(info: *mut seatbook_entity_info) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<EntityInfoHandle, _>(info);
    });
}

/// A list of entities (from `seatbook_admin_list_entities()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_entity_info_list_free()`.
pub struct seatbook_entity_info_list {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct EntityInfoListHandle {
    kind: u32,
    items: Vec<EntityInfoHandle>,
}

impl EntityInfoListHandle {
    fn new(entities: Vec<EntityInfo>) -> Self {
        Self {
            kind: Self::KIND,
            items: entities.into_iter().map(EntityInfoHandle::new).collect(),
        }
    }
}

impl Handle for EntityInfoListHandle {
    const KIND: u32 = 0x5EA7_0044;
    const NAME: &'static str = "seatbook_entity_info_list";
}

impl ListHandle for EntityInfoListHandle {
    type View = seatbook_entity_info_view;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn view(&self, index: usize) -> Option<Self::View> {
        self.items.get(index).map(EntityInfoHandle::view)
    }
}

/// The number of entities in the list.
///
/// # Safety
/// `list` is NULL or a live list handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_info_list_count(
    list: *const seatbook_entity_info_list,
    out_count: *mut usize,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out_count` NULL or writable (rule 5): `list_count`'s contract.
    unsafe { list_count::<EntityInfoListHandle, _>(list, out_count) }
}

/// Reads entity number `index` (0-based) into `*out`; its pointers are
/// valid until the list is freed. `SEATBOOK_INVALID_INPUT` if `index` is
/// out of range.
///
/// # Safety
/// `list` is NULL or a live list handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_info_list_get(
    list: *const seatbook_entity_info_list,
    index: usize,
    out: *mut seatbook_entity_info_view,
) -> seatbook_status {
    // SAFETY: `list` is NULL or a live handle (docs/ffi.md, pointer rule 1),
    // `out` NULL or writable (rule 5): `list_get`'s contract.
    unsafe { list_get::<EntityInfoListHandle, _>(list, index, out) }
}

/// Frees an entity list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live list handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_info_list_free(list: *mut seatbook_entity_info_list) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<EntityInfoListHandle, _>(list);
    });
}

/// Creates entity `new_entity->entity_id` of app `app_id`, on sale.
/// `*out_info` (optional, may be NULL) receives the new record (free with
/// `seatbook_entity_info_free()`). Errors: `SEATBOOK_ENTITY_ALREADY_EXISTS`
/// (also for an entity that `seatbook_admin_create_seats()` created),
/// `SEATBOOK_INVALID_INPUT` (id syntax, name, kind, a sale window that does
/// not open before it closes), `SEATBOOK_CAPACITY_EXCEEDED`,
/// `SEATBOOK_APP_NOT_FOUND`, `SEATBOOK_TOKEN_EXPIRED`, ... Nothing changes
/// on error.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `new_entity` is NULL or points to a readable struct whose strings are
/// NULL or C strings; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_create_entity(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    new_entity: *const seatbook_new_entity,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or a
        // readable C string (rule 2), `new_entity` NULL or a readable struct
        // (rule 4) whose strings follow rule 2.
        let (out, admin, app_id, new) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                new_entity_of(arg_ref(new_entity, "new_entity")?)?,
            )
        };
        let info = admin.create_entity(app_id, &new)?;
        give_entity(out, info);
        Ok(())
    })
}

/// Reads a C entity struct into a core [`NewEntity`].
///
/// # Safety
/// The string fields of `raw` are NULL or readable C strings.
unsafe fn new_entity_of(raw: &seatbook_new_entity) -> FfiResult<NewEntity<'_>> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 2).
    let (entity_id, name, kind) = unsafe {
        (
            arg_str(raw.entity_id, "new_entity.entity_id")?,
            opt_str(raw.name, "new_entity.name")?,
            opt_str(raw.kind, "new_entity.kind")?,
        )
    };
    let instant = |has: bool, value: u64| has.then_some(value);
    Ok(NewEntity {
        entity_id,
        name: name.unwrap_or(""),
        kind: kind.unwrap_or(""),
        starts_at: instant(raw.has_starts_at, raw.starts_at),
        sale_opens_at: instant(raw.has_sale_opens_at, raw.sale_opens_at),
        sale_closes_at: instant(raw.has_sale_closes_at, raw.sale_closes_at),
    })
}

/// Changes an entity's name, kind, start or sale window as `update` says
/// (NULL strings and `SEATBOOK_FIELD_KEEP` keep a field). A window change
/// applies to every reserve that starts after this returns; holds already
/// taken are not affected. `*out_info` (optional, may be NULL) receives the
/// updated record (free with `seatbook_entity_info_free()`). Errors:
/// `SEATBOOK_ENTITY_NOT_FOUND`, `SEATBOOK_ENTITY_CLOSED` (a start or
/// sale-window change of a closed entity; its name and kind can still
/// change), `SEATBOOK_INVALID_INPUT` (also a `*_change` value that is not a
/// `seatbook_field_change`), `SEATBOOK_APP_NOT_FOUND`, ... Nothing changes
/// on error.
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` and `entity_id` are
/// NULL or C strings; `update` is NULL or points to a readable struct whose
/// strings are NULL or C strings; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_update_entity(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    update: *const seatbook_entity_update,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2), `update` NULL or a readable struct
        // (rule 4) whose strings follow rule 2.
        let (out, admin, app_id, entity_id, update) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
                entity_update_of(arg_ref(update, "update")?)?,
            )
        };
        let info = admin.update_entity(app_id, entity_id, &update)?;
        give_entity(out, info);
        Ok(())
    })
}

/// Reads a C update struct into a core [`EntityUpdate`].
///
/// # Safety
/// The string fields of `raw` are NULL or readable C strings.
unsafe fn entity_update_of(raw: &seatbook_entity_update) -> FfiResult<EntityUpdate<'_>> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 2).
    let (name, kind) = unsafe {
        (
            opt_str(raw.name, "update.name")?,
            opt_str(raw.kind, "update.kind")?,
        )
    };
    Ok(EntityUpdate {
        name,
        kind,
        starts_at: seatbook_field_change::from_raw(
            raw.starts_at_change,
            raw.starts_at,
            "update.starts_at_change",
        )?,
        sale_opens_at: seatbook_field_change::from_raw(
            raw.sale_opens_at_change,
            raw.sale_opens_at,
            "update.sale_opens_at_change",
        )?,
        sale_closes_at: seatbook_field_change::from_raw(
            raw.sale_closes_at_change,
            raw.sale_closes_at,
            "update.sale_closes_at_change",
        )?,
    })
}

/// One entity of app `app_id` into `*out_info` (free with
/// `seatbook_entity_info_free()`). Errors: `SEATBOOK_ENTITY_NOT_FOUND`,
/// `SEATBOOK_INVALID_INPUT`, `SEATBOOK_APP_NOT_FOUND`, ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` and `entity_id` are
/// NULL or C strings; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_get_entity(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, admin, app_id, entity_id) = unsafe {
            (
                out_handle(out_info, "out_info")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let info = admin.get_entity(app_id, entity_id)?;
        *out = into_raw(EntityInfoHandle::new(info));
        Ok(())
    })
}

/// Every entity of app `app_id`, by entity id, into `*out_list` (free with
/// `seatbook_entity_info_list_free()`). Errors: `SEATBOOK_APP_NOT_FOUND`,
/// `SEATBOOK_INVALID_INPUT`, ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` is NULL or a C string;
/// `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_list_entities(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    out_list: *mut *mut seatbook_entity_info_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), `app_id` NULL or a
        // readable C string (rule 2).
        let (out, admin, app_id) = unsafe {
            (
                out_handle(out_list, "out_list")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
            )
        };
        *out = into_raw(EntityInfoListHandle::new(admin.list_entities(app_id)?));
        Ok(())
    })
}

/// One entity of the app, as its buyers may see it (name, kind, start,
/// sale window, status), into `*out_info` (free with
/// `seatbook_entity_info_free()`). Errors: `SEATBOOK_ENTITY_NOT_FOUND`,
/// `SEATBOOK_INVALID_INPUT`, `SEATBOOK_APP_CONTEXT_REVOKED`, ...
///
/// # Safety
/// `app` is NULL or a live app handle; `entity_id` is NULL or a C string;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_entity(
    app: *const seatbook_app,
    entity_id: *const c_char,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` NULL or a live handle (rule 1), `entity_id` NULL or a
        // readable C string (rule 2).
        let (out, (_, ctx), entity_id) = unsafe {
            (
                out_handle(out_info, "out_info")?,
                self::app(app)?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        *out = into_raw(EntityInfoHandle::new(ctx.entity(entity_id)?));
        Ok(())
    })
}

/// The app's entities on sale or closed (archived ones are left out), by
/// entity id, into `*out_list` (free with
/// `seatbook_entity_info_list_free()`). Errors:
/// `SEATBOOK_APP_CONTEXT_REVOKED`, `SEATBOOK_STORAGE`, ...
///
/// # Safety
/// `app` is NULL or a live app handle; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_app_list_entities(
    app: *const seatbook_app,
    out_list: *mut *mut seatbook_entity_info_list,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_list` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `app` NULL or a live handle (rule 1).
        let (out, (_, ctx)) = unsafe { (out_handle(out_list, "out_list")?, self::app(app)?) };
        *out = into_raw(EntityInfoListHandle::new(ctx.list_entities()?));
        Ok(())
    })
}

/// Closes an entity for good: from the moment this returns no reserve of
/// its seats succeeds (`SEATBOOK_SALE_CLOSED`). `holds` (a
/// `seatbook_holds_on_close` value) says what happens to the live holds on
/// its seats: `SEATBOOK_HOLDS_KEEP` lets them run to their end (they can be
/// confirmed), `SEATBOOK_HOLDS_RELEASE` releases them now. Bookings stay
/// cancellable. Closing a closed entity changes nothing but applies `holds`
/// again. `*out_info` (optional, may be NULL) receives the closed record
/// (free with `seatbook_entity_info_free()`). Errors:
/// `SEATBOOK_ENTITY_NOT_FOUND`, `SEATBOOK_INVALID_INPUT` (also a `holds`
/// value that is not a `seatbook_holds_on_close`), `SEATBOOK_APP_NOT_FOUND`,
/// `SEATBOOK_STORAGE` (with RELEASE, the holds not yet released stay; close
/// again), ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` and `entity_id` are
/// NULL or C strings; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_close_entity(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    holds: u32,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, admin, app_id, entity_id) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let holds = seatbook_holds_on_close::from_raw(holds)?;
        let info = admin.close_entity(app_id, entity_id, holds)?;
        give_entity(out, info);
        Ok(())
    })
}

/// Archives a closed entity: live holds left on its seats are released,
/// its seats leave memory, the lock table and the database (their keys
/// serve new seats), its figures are kept as they are now. Its bookings
/// and reservations stay queryable (by id, a user's bookings) with their
/// seat ids; its bookings can no longer be cancelled
/// (`SEATBOOK_ENTITY_ARCHIVED`). Archiving an archived entity changes
/// nothing. `*out_info` (optional, may be NULL) receives the archived
/// record (free with `seatbook_entity_info_free()`). Errors:
/// `SEATBOOK_ENTITY_NOT_FOUND`, `SEATBOOK_ENTITY_NOT_CLOSED` (close it
/// first), `SEATBOOK_ENTITY_BUSY` (a confirm is committing on one of its
/// seats: retry), `SEATBOOK_INVALID_INPUT`, `SEATBOOK_APP_NOT_FOUND`,
/// `SEATBOOK_STORAGE` (nothing archived), ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` and `entity_id` are
/// NULL or C strings; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_archive_entity(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    out_info: *mut *mut seatbook_entity_info,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_info` is NULL or writable (docs/ffi.md, pointer rule
        // 5), `admin` NULL or a live handle (rule 1), the strings NULL or
        // readable C strings (rule 2).
        let (out, admin, app_id, entity_id) = unsafe {
            (
                opt_out_handle(out_info),
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let info = admin.archive_entity(app_id, entity_id)?;
        give_entity(out, info);
        Ok(())
    })
}

/// An amount of money in one currency (in a `seatbook_entity_figures_view`).
#[repr(C)]
pub struct seatbook_money {
    /// ISO 4217 code, borrowed like the view's other pointers.
    pub currency: *const c_char,
    /// Minor units (cents).
    pub amount_minor: u64,
}

/// An entity's figures (from `seatbook_admin_entity_figures()`).
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_entity_figures_free()`.
pub struct seatbook_entity_figures {
    _private: [u8; 0],
}

/// The fields of a `seatbook_entity_figures`, as they were when it was
/// read. Every pointer is borrowed from the handle and stays valid until
/// it is freed.
#[repr(C)]
pub struct seatbook_entity_figures_view {
    pub entity_id: *const c_char,
    pub status: seatbook_entity_status,
    /// Booked seats.
    pub sold: u64,
    /// Seats under a live hold (an expired hold counts as available).
    pub held: u64,
    pub available: u64,
    /// Number of entries in `revenue`.
    pub revenue_count: usize,
    /// The prices of the booked seats per currency, ordered by currency
    /// (one entry when all seats share a currency); NULL when
    /// `revenue_count` is 0.
    pub revenue: *const seatbook_money,
}

impl Default for seatbook_entity_figures_view {
    fn default() -> Self {
        Self {
            entity_id: std::ptr::null(),
            status: seatbook_entity_status::default(),
            sold: 0,
            held: 0,
            available: 0,
            revenue_count: 0,
            revenue: std::ptr::null(),
        }
    }
}

#[repr(C)]
pub(crate) struct EntityFiguresHandle {
    kind: u32,
    entity_id: CString,
    status: seatbook_entity_status,
    sold: u64,
    held: u64,
    available: u64,
    /// Owns the strings `revenue` points into.
    _currencies: Vec<CString>,
    revenue: Vec<seatbook_money>,
}

// SAFETY: immutable after construction; the raw pointers in `revenue`
// point into the handle's own `CString`s.
unsafe impl Send for EntityFiguresHandle {}
// SAFETY: as above.
unsafe impl Sync for EntityFiguresHandle {}

impl Handle for EntityFiguresHandle {
    const KIND: u32 = 0x5EA7_0045;
    const NAME: &'static str = "seatbook_entity_figures";
}

impl EntityFiguresHandle {
    fn new(figures: EntityFigures) -> Self {
        let (currencies, amounts): (Vec<CString>, Vec<u64>) = figures
            .revenue
            .into_iter()
            .map(|m| (cstring(m.currency), m.amount_minor))
            .unzip();
        // The `CString`s' heap buffers do not move when the vector does.
        let revenue = currencies
            .iter()
            .zip(amounts)
            .map(|(currency, amount_minor)| seatbook_money {
                currency: currency.as_ptr(),
                amount_minor,
            })
            .collect();
        Self {
            kind: Self::KIND,
            entity_id: cstring(figures.entity_id),
            status: figures.status.into(),
            sold: figures.sold,
            held: figures.held,
            available: figures.available,
            _currencies: currencies,
            revenue,
        }
    }

    fn view(&self) -> seatbook_entity_figures_view {
        seatbook_entity_figures_view {
            entity_id: self.entity_id.as_ptr(),
            status: self.status,
            sold: self.sold,
            held: self.held,
            available: self.available,
            revenue_count: self.revenue.len(),
            revenue: if self.revenue.is_empty() {
                std::ptr::null()
            } else {
                self.revenue.as_ptr()
            },
        }
    }
}

/// An entity's figures now into `*out_figures` (free with
/// `seatbook_entity_figures_free()`): seats sold, held and available, and
/// the revenue of the sold seats per currency. Errors:
/// `SEATBOOK_ENTITY_NOT_FOUND`, `SEATBOOK_INVALID_INPUT`,
/// `SEATBOOK_APP_NOT_FOUND`, ...
///
/// # Safety
/// `admin` is NULL or a live admin handle; `app_id` and `entity_id` are
/// NULL or C strings; `out_figures` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_admin_entity_figures(
    admin: *const seatbook_admin,
    app_id: *const c_char,
    entity_id: *const c_char,
    out_figures: *mut *mut seatbook_entity_figures,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_figures` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `admin` NULL or a live handle (rule 1), the strings NULL
        // or readable C strings (rule 2).
        let (out, admin, app_id, entity_id) = unsafe {
            (
                out_handle(out_figures, "out_figures")?,
                admin_of(admin)?,
                arg_str(app_id, "app_id")?,
                arg_str(entity_id, "entity_id")?,
            )
        };
        let figures = admin.entity_figures(app_id, entity_id)?;
        *out = into_raw(EntityFiguresHandle::new(figures));
        Ok(())
    })
}

/// Reads an entity's figures into `*out`.
///
/// # Safety
/// `figures` is NULL or a live entity figures handle; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_figures_get(
    figures: *const seatbook_entity_figures,
    out: *mut seatbook_entity_figures_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: the handle is NULL or live (docs/ffi.md, pointer rule 1),
        // `out` NULL or writable (rule 5).
        let (h, out) = unsafe {
            (
                handle::<EntityFiguresHandle, _>(figures, "figures")?,
                out_param(out, "out")?,
            )
        };
        *out = h.view();
        Ok(())
    })
}

/// Frees an entity figures handle. NULL is a no-op.
///
/// # Safety
/// `figures` is NULL or a live entity figures handle, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_entity_figures_free(figures: *mut seatbook_entity_figures) {
    // SAFETY: the handle is NULL or live, not freed before and unused by
    // other threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<EntityFiguresHandle, _>(figures);
    });
}
