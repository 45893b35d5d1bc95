//! Online backup and the offline check.
//!
//! Owns `seatbook_engine_backup`, `seatbook_check` and the
//! [`seatbook_check_report`] handle with its view and accessors. The
//! report is copied out of [`CheckReport`] into an immutable handle whose
//! strings the view borrows, like a booking.

use std::ffi::{CString, c_char};

use super::boundary::{
    FfiResult, Handle, arg_str, cstring, ffi_boundary, ffi_boundary_or, free_handle, handle,
    into_raw, out_handle, out_param, ptr_of,
};
use super::engine::{engine_handle, seatbook_audit, seatbook_engine};
use super::status::seatbook_status;
use crate::{AuditReport, CheckReport, JournalFile, Recovery};

/// Writes a consistent copy of the engine's database to `path` while the
/// engine keeps serving (writers are not blocked). The copy is a complete
/// database with no journal: restore by opening it (see the README's
/// "Backup and restore"). Never overwrites: `SEATBOOK_BACKUP_TARGET_EXISTS`
/// if `path` or `path` + "-journal" exists (so the engine's own files are
/// refused); `SEATBOOK_STORAGE` if reading or writing fails (nothing is
/// left at `path`).
///
/// # Safety
/// `engine` is NULL or a live engine handle; `path` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_engine_backup(
    engine: *const seatbook_engine,
    path: *const c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `engine` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `path` NULL or a readable C string (rule 2).
        let (h, path) = unsafe { (engine_handle(engine)?, arg_str(path, "path")?) };
        h.shared.engine.backup(path)?;
        Ok(())
    })
}

/// Whether and how a checked database can be opened
/// (`seatbook_check_view.recovery`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum seatbook_recovery {
    /// It opens as it is (replaying its journal if `replays_journal`).
    SEATBOOK_RECOVERY_AS_IS = 0,
    /// It opens only without its journal: move the journal aside, then
    /// open; the writes only the journal held are lost.
    SEATBOOK_RECOVERY_DISCARDING_JOURNAL = 1,
    /// The database file cannot be opened: restore a backup.
    SEATBOOK_RECOVERY_NOT_RECOVERABLE = 2,
}

/// The result of `seatbook_check()`.
///
/// Thread safety: immutable; read it from any thread. Release with
/// `seatbook_check_report_free()`.
pub struct seatbook_check_report {
    _private: [u8; 0],
}

/// The fields of a check report. Every pointer is borrowed from the report
/// and stays valid until it is freed.
#[repr(C)]
pub struct seatbook_check_view {
    pub recovery: seatbook_recovery,
    /// Whether `<path>-journal` exists, and its size.
    pub journal_present: bool,
    pub journal_bytes: u64,
    /// Opening replays writes the database file does not hold yet.
    pub replays_journal: bool,
    /// Why the first failed open failed; NULL when `recovery` is AS_IS.
    pub open_error: *const c_char,
    /// False when not recoverable (then `audit` is all zero).
    pub audited: bool,
    /// The audit of the database as opened.
    pub audit: seatbook_audit,
    /// True when it opens as it is and its audit is clean.
    pub healthy: bool,
}

impl Default for seatbook_check_view {
    fn default() -> Self {
        Self {
            recovery: seatbook_recovery::SEATBOOK_RECOVERY_NOT_RECOVERABLE,
            journal_present: false,
            journal_bytes: 0,
            replays_journal: false,
            open_error: std::ptr::null(),
            audited: false,
            audit: seatbook_audit::default(),
            healthy: false,
        }
    }
}

#[repr(C)]
pub(crate) struct CheckReportHandle {
    kind: u32,
    recovery: seatbook_recovery,
    journal: JournalFile,
    replays_journal: bool,
    open_error: Option<CString>,
    audit: Option<seatbook_audit>,
    violations: Vec<CString>,
    healthy: bool,
}

impl Handle for CheckReportHandle {
    const KIND: u32 = 0x5EA7_0038;
    const NAME: &'static str = "seatbook_check_report";
}

impl CheckReportHandle {
    fn new(r: CheckReport) -> Self {
        let healthy = r.is_healthy();
        Self {
            kind: Self::KIND,
            recovery: match r.recovery {
                Recovery::AsIs => seatbook_recovery::SEATBOOK_RECOVERY_AS_IS,
                Recovery::DiscardingJournal => {
                    seatbook_recovery::SEATBOOK_RECOVERY_DISCARDING_JOURNAL
                }
                Recovery::NotRecoverable => seatbook_recovery::SEATBOOK_RECOVERY_NOT_RECOVERABLE,
            },
            journal: r.journal,
            replays_journal: r.replays_journal,
            open_error: r.open_error.map(cstring),
            audit: r.audit.as_ref().map(audit_of),
            violations: r
                .audit
                .map(|a| a.violations.into_iter().map(cstring).collect())
                .unwrap_or_default(),
            healthy,
        }
    }

    fn view(&self) -> seatbook_check_view {
        let (journal_present, journal_bytes) = match self.journal {
            JournalFile::Missing => (false, 0),
            JournalFile::Present { bytes } => (true, bytes),
        };
        seatbook_check_view {
            recovery: self.recovery,
            journal_present,
            journal_bytes,
            replays_journal: self.replays_journal,
            open_error: ptr_of(self.open_error.as_deref()),
            audited: self.audit.is_some(),
            audit: self.audit.unwrap_or_default(),
            healthy: self.healthy,
        }
    }
}

/// The C mirror of an [`AuditReport`] (its violations counted).
fn audit_of(r: &AuditReport) -> seatbook_audit {
    seatbook_audit {
        seats: r.seats,
        booked_seats: r.booked_seats,
        live_bookings: r.live_bookings,
        failed_bookings: r.failed_bookings,
        cancelled_bookings: r.cancelled_bookings,
        reservations: r.reservations,
        active_reservations: r.active_reservations,
        double_booked_seats: r.double_booked_seats,
        violations: r.violations.len() as u64,
        clean: r.is_clean(),
    }
}

/// Checks the CLOSED database at `path` and its journal without changing
/// them: they are copied into a temporary directory (`TMPDIR`), opened
/// there as `seatbook_engine_open()` would, and audited. `*out_report`:
/// free with `seatbook_check_report_free()`. A damaged database is not a
/// failure (the report says so). Errors: `SEATBOOK_DATABASE_NOT_FOUND` (no
/// file at `path`), `SEATBOOK_DATABASE_ALREADY_OPEN` (a live engine has
/// it), `SEATBOOK_STORAGE` (the files could not be copied).
///
/// # Safety
/// `path` is NULL or a C string; `out_report` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_check(
    path: *const c_char,
    out_report: *mut *mut seatbook_check_report,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `out_report` is NULL or writable (docs/ffi.md, pointer
        // rule 5), `path` NULL or a readable C string (rule 2).
        let (out, path) = unsafe {
            (
                out_handle(out_report, "out_report")?,
                arg_str(path, "path")?,
            )
        };
        let report = crate::check(path)?;
        *out = into_raw::<_, seatbook_check_report>(CheckReportHandle::new(report));
        Ok(())
    })
}

/// Reads a check report's fields into `*out`.
///
/// # Safety
/// `report` is NULL or a live check report; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_check_report_get(
    report: *const seatbook_check_report,
    out: *mut seatbook_check_view,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `report` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5).
        let (h, out) = unsafe { (report_handle(report)?, out_param(out, "out")?) };
        *out = h.view();
        Ok(())
    })
}

/// The `index`-th audit violation of a check report (`0 <=` index `<`
/// `view.audit.violations`) into `*out`, borrowed from the report.
/// `SEATBOOK_INVALID_INPUT` if `index` is out of range.
///
/// # Safety
/// `report` is NULL or a live check report; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_check_report_violation(
    report: *const seatbook_check_report,
    index: usize,
    out: *mut *const c_char,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: `report` is NULL or a live handle (docs/ffi.md, pointer
        // rule 1), `out` NULL or writable (rule 5); a `*const c_char` and a
        // `*mut c_char` have the same layout.
        let (h, out) = unsafe {
            (
                report_handle(report)?,
                out_handle(out.cast::<*mut c_char>(), "out")?,
            )
        };
        let v = h
            .violations
            .get(index)
            .ok_or_else(|| super::boundary::Failure::invalid("index", "out of range"))?;
        *out = v.as_ptr().cast_mut();
        Ok(())
    })
}

/// Frees a check report. NULL is a no-op.
///
/// # Safety
/// `report` is NULL or a live check report, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_check_report_free(report: *mut seatbook_check_report) {
    // SAFETY: `report` is NULL or live, not freed before and unused by other
    // threads from now on (docs/ffi.md, pointer rule 6).
    ffi_boundary_or((), || unsafe {
        free_handle::<CheckReportHandle, _>(report);
    });
}

/// # Safety
/// `p` is NULL or a live seatbook handle.
unsafe fn report_handle<'a>(p: *const seatbook_check_report) -> FfiResult<&'a CheckReportHandle> {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 1).
    unsafe { handle::<CheckReportHandle, _>(p, "report") }
}
