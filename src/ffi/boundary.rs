//! The boundary every exported function goes through.
//!
//! Owns [`ffi_boundary`] (catch_unwind, status, last error), the
//! thread-local last error, the checked conversions of C arguments (NULL,
//! UTF-8, length bounds, arrays), the opaque-handle casts (with a kind tag)
//! and the owned/borrowed string helpers. Nothing here knows about booking.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::status::seatbook_status;
use crate::HasErrorCode;

/// Longest string argument accepted, in bytes without the NUL (64 KiB).
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Longest array argument accepted (seat lists, origins), in elements.
pub(crate) const MAX_ARRAY_LEN: usize = 100_000;

/// A failure on its way to the C caller: a status, a message with no
/// secret in it, and for seat contention the seat that blocked.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: seatbook_status,
    pub(crate) message: String,
    pub(crate) seat: Option<String>,
}

impl Failure {
    pub(crate) fn new(status: seatbook_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            seat: None,
        }
    }

    pub(crate) fn null(arg: &str) -> Self {
        Self::new(
            seatbook_status::SEATBOOK_NULL_PARAMETER,
            format!("argument `{arg}` is NULL"),
        )
    }

    pub(crate) fn invalid(arg: &str, why: &str) -> Self {
        Self::new(
            seatbook_status::SEATBOOK_INVALID_INPUT,
            format!("invalid {arg}: {why}"),
        )
    }

    pub(crate) fn with_seat(mut self, seat: Option<&str>) -> Self {
        self.seat = seat.map(str::to_owned);
        self
    }
}

/// Every core error converts by its [`HasErrorCode`] code and its `Display`
/// text (which, by the core's rule, never holds a secret).
impl<E: HasErrorCode + Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::new(e.code().into(), e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

struct LastError {
    status: seatbook_status,
    message: CString,
    seat: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        status: seatbook_status::SEATBOOK_OK,
        message: CString::default(),
        seat: None,
    });
}

fn record(failure: Option<Failure>) {
    // `try_with`: during thread teardown the slot may be gone; then the
    // message is simply not recorded.
    let _ = LAST_ERROR.try_with(|cell| {
        let Ok(mut last) = cell.try_borrow_mut() else {
            return;
        };
        match failure {
            None => {
                if last.status != seatbook_status::SEATBOOK_OK {
                    *last = LastError {
                        status: seatbook_status::SEATBOOK_OK,
                        message: CString::default(),
                        seat: None,
                    };
                }
            }
            Some(f) => {
                *last = LastError {
                    status: f.status,
                    message: cstring(f.message),
                    seat: f.seat.map(cstring),
                };
            }
        }
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown payload".to_owned());
    format!("panic caught at the C boundary (a seatbook bug, please report it): {what}")
}

/// The panic boundary, used by every exported function that returns a
/// status: runs `body`, catches any panic, records the last error of this
/// thread and turns the outcome into a [`seatbook_status`].
pub(crate) fn ffi_boundary(body: impl FnOnce() -> FfiResult) -> seatbook_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            record(None);
            seatbook_status::SEATBOOK_OK
        }
        Ok(Err(failure)) => {
            let status = failure.status;
            record(Some(failure));
            status
        }
        Err(payload) => {
            record(Some(Failure::new(
                seatbook_status::SEATBOOK_PANIC,
                panic_message(payload.as_ref()),
            )));
            seatbook_status::SEATBOOK_PANIC
        }
    }
}

/// The boundary for functions that return no status (free functions,
/// static strings): a panic yields `default`.
pub(crate) fn ffi_boundary_or<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// The message of this thread's last failed seatbook call, or `""` if its
/// last call succeeded. Never NULL. The pointer stays valid until the next
/// seatbook call on the same thread; copy the text if you need it longer.
/// Never free it. Messages never contain secrets (passwords, keys, tokens).
#[unsafe(no_mangle)]
pub extern "C" fn seatbook_last_error_message() -> *const c_char {
    ffi_boundary_or(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|cell| cell.try_borrow().map(|l| l.message.as_ptr()).ok())
            .ok()
            .flatten()
            .unwrap_or(c"".as_ptr())
    })
}

/// The seat that caused this thread's last failure (for
/// `SEATBOOK_SEAT_HELD`, `SEATBOOK_SEAT_BOOKED`, `SEATBOOK_SEAT_NOT_FOUND`,
/// `SEATBOOK_SEAT_ALREADY_EXISTS`, `SEATBOOK_SEAT_IN_USE`), or NULL. Same
/// lifetime rule as `seatbook_last_error_message()`. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn seatbook_last_error_seat() -> *const c_char {
    ffi_boundary_or(std::ptr::null(), || {
        LAST_ERROR
            .try_with(|cell| {
                cell.try_borrow()
                    .ok()
                    .and_then(|l| l.seat.as_ref().map(|s| s.as_ptr()))
            })
            .ok()
            .flatten()
            .unwrap_or(std::ptr::null())
    })
}

/// Frees a string the library returned through a `char **` out-parameter
/// (tokens, API keys, password hashes). The bytes are overwritten before
/// the memory is released, since such strings are often secrets.
/// NULL is a no-op. Never pass a `const char *` read from a `*_view` struct
/// or from `seatbook_last_error_message()`.
///
/// # Safety
/// `s` must be NULL or a string from a seatbook `char **` out-parameter
/// that was not freed yet. Freeing twice is undefined behaviour.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn seatbook_string_free(s: *mut c_char) {
    ffi_boundary_or((), || {
        if s.is_null() {
            return;
        }
        // SAFETY: `s` is a `char *` from a `char **` out-parameter, made by
        // `CString::into_raw` in `give_string`, not freed before (docs/ffi.md,
        // pointer rule 6).
        let owned = unsafe { CString::from_raw(s) };
        let mut bytes = owned.into_bytes_with_nul();
        for b in &mut bytes {
            // SAFETY: `b` is a valid, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    });
}

/// A `CString` from a Rust string; interior NULs (which validated core
/// data never has) are dropped rather than failing.
pub(crate) fn cstring(s: impl Into<String>) -> CString {
    let s = s.into();
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// Hands an owned string to the caller through a `char **`.
pub(crate) fn give_string(out: &mut *mut c_char, s: &str) {
    *out = cstring(s).into_raw();
}

/// Reads a required NUL-terminated UTF-8 argument of at most
/// [`MAX_STRING_BYTES`] bytes. Scans at most that many bytes, so a missing
/// terminator is reported, not read past.
///
/// # Safety
/// `p` is NULL or points to readable memory up to its NUL or the bound.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    let mut len = 0usize;
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 2):
    // the bytes up to the NUL or the bound are readable, and we stop at the
    // NUL or at the bound.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
        if len > MAX_STRING_BYTES {
            return Err(Failure::invalid(name, "longer than 65536 bytes"));
        }
    }
    // SAFETY: the `len` bytes before the NUL were just read, so they are
    // readable, and they stay so for the call (pointer rule 2).
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| {
        Failure::new(
            seatbook_status::SEATBOOK_INVALID_UTF8,
            format!("argument `{name}` is not valid UTF-8"),
        )
    })
}

/// Reads a required struct argument (`const T *`).
///
/// # Safety
/// `p` is NULL or points to a readable, initialised `T`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: this function's own contract; `as_ref` maps NULL to `None`.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// Like [`arg_str`], but NULL means "absent".
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: this function's own contract, which is `arg_str`'s.
        unsafe { arg_str(p, name).map(Some) }
    }
}

/// Reads an array argument `(ptr, len)`; `ptr` may be NULL only if `len` is 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable elements.
pub(crate) unsafe fn arg_slice<'a, T>(p: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if len > MAX_ARRAY_LEN {
        return Err(Failure::invalid(name, "more than 100000 elements"));
    }
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 3):
    // `p` is not NULL here and points to `len` readable elements; `len` is
    // at most `MAX_ARRAY_LEN`, far below `isize::MAX` bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Reads an array of required strings.
///
/// # Safety
/// As [`arg_slice`] and [`arg_str`] for every element.
pub(crate) unsafe fn arg_strs<'a>(
    p: *const *const c_char,
    len: usize,
    name: &str,
) -> FfiResult<Vec<&'a str>> {
    // SAFETY: this function's own contract, `arg_slice`'s for the array.
    let ptrs = unsafe { arg_slice(p, len, name)? };
    // SAFETY: this function's own contract, `arg_str`'s for each element.
    ptrs.iter().map(|&s| unsafe { arg_str(s, name) }).collect()
}

/// Checks a required out-parameter and resets it to `T::default()`, so a
/// failing call leaves NULL/0 behind.
///
/// # Safety
/// `p` is NULL or valid for writes of `T`.
pub(crate) unsafe fn out_param<'a, T: Default>(p: *mut T, name: &str) -> FfiResult<&'a mut T> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 5):
    // `p` is not NULL here and is valid for writes of `T`; writing first
    // makes it initialised before the reference is made.
    unsafe {
        p.write(T::default());
        Ok(&mut *p)
    }
}

/// Like [`out_param`], but NULL means "the caller does not want it".
///
/// # Safety
/// As [`out_param`].
pub(crate) unsafe fn opt_out<'a, T: Default>(p: *mut T) -> Option<&'a mut T> {
    if p.is_null() {
        None
    } else {
        // SAFETY: as in `out_param` (docs/ffi.md, pointer rule 5).
        unsafe {
            p.write(T::default());
            Some(&mut *p)
        }
    }
}

/// The null pointer as an out-parameter default (raw pointers have no
/// `Default`).
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct OutPtr<T>(pub(crate) *mut T);

impl<T> Default for OutPtr<T> {
    fn default() -> Self {
        Self(std::ptr::null_mut())
    }
}

/// Checks a required handle out-parameter (`T **out`) and sets it to NULL.
///
/// # Safety
/// `p` is NULL or valid for writes of a pointer.
pub(crate) unsafe fn out_handle<'a, T>(p: *mut *mut T, name: &str) -> FfiResult<&'a mut *mut T> {
    // SAFETY: this function's own contract (pointer rule 5), and
    // `OutPtr<T>` is `repr(transparent)` over `*mut T`.
    unsafe { out_param(p.cast::<OutPtr<T>>(), name).map(|o| &mut o.0) }
}

/// Like [`out_handle`] for an optional out-parameter.
///
/// # Safety
/// As [`out_handle`].
pub(crate) unsafe fn opt_out_handle<'a, T>(p: *mut *mut T) -> Option<&'a mut *mut T> {
    // SAFETY: this function's own contract (pointer rule 5), and
    // `OutPtr<T>` is `repr(transparent)` over `*mut T`.
    unsafe { opt_out(p.cast::<OutPtr<T>>()).map(|o| &mut o.0) }
}

/// A handle's internal struct. Every one is `#[repr(C)]` with `kind: u32`
/// first, so a pointer of the wrong kind (or garbage that is at least
/// readable) is refused instead of misused.
pub(crate) trait Handle: Sized {
    /// A tag unique to this kind of handle.
    const KIND: u32;
    /// The C type name, for messages.
    const NAME: &'static str;
}

/// Boxes a handle and hands out its pointer as the opaque C type `C`.
pub(crate) fn into_raw<H: Handle, C>(handle: H) -> *mut C {
    Box::into_raw(Box::new(handle)).cast()
}

/// A list handle: a count, and a borrowed C view of each item.
pub(crate) trait ListHandle: Handle {
    type View: Default;
    fn len(&self) -> usize;
    fn view(&self, index: usize) -> Option<Self::View>;
}

/// The body of every `seatbook_*_list_count`.
///
/// # Safety
/// `list` is NULL or a live seatbook handle; `out_count` is NULL or writable.
pub(crate) unsafe fn list_count<H: ListHandle, C>(
    list: *const C,
    out_count: *mut usize,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: this function's own contract (docs/ffi.md, pointer rules
        // 1 and 5).
        let (h, out) = unsafe {
            (
                handle::<H, _>(list, "list")?,
                out_param(out_count, "out_count")?,
            )
        };
        *out = h.len();
        Ok(())
    })
}

/// The body of every `seatbook_*_list_get`: `SEATBOOK_INVALID_INPUT` if
/// `index` is out of range.
///
/// # Safety
/// `list` is NULL or a live seatbook handle; `out` is NULL or writable.
pub(crate) unsafe fn list_get<H: ListHandle, C>(
    list: *const C,
    index: usize,
    out: *mut H::View,
) -> seatbook_status {
    ffi_boundary(|| {
        // SAFETY: this function's own contract (docs/ffi.md, pointer rules
        // 1 and 5).
        let (h, out) = unsafe { (handle::<H, _>(list, "list")?, out_param(out, "out")?) };
        *out = h
            .view(index)
            .ok_or_else(|| Failure::invalid("index", "out of range"))?;
        Ok(())
    })
}

/// Borrows the handle behind an opaque pointer, checking NULL, alignment
/// and kind.
///
/// # Safety
/// `p` is NULL or points to a live seatbook handle (of any kind).
pub(crate) unsafe fn handle<'a, H: Handle, C>(p: *const C, name: &str) -> FfiResult<&'a H> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    if !p.cast::<H>().is_aligned() {
        return Err(wrong_kind::<H>(name));
    }
    // SAFETY: `p` is not NULL, aligned for `H` (so for `u32`) and, by this
    // function's contract (docs/ffi.md, pointer rule 1), a live handle; every
    // handle is `repr(C)` with a `u32` kind tag first.
    let kind = unsafe { p.cast::<u32>().read() };
    if kind != H::KIND {
        return Err(wrong_kind::<H>(name));
    }
    // SAFETY: the tag says this live handle is an `H` that `into_raw` made;
    // handles are only read through shared references until freed.
    Ok(unsafe { &*p.cast::<H>() })
}

fn wrong_kind<H: Handle>(name: &str) -> Failure {
    Failure::new(
        seatbook_status::SEATBOOK_INVALID_HANDLE,
        format!("argument `{name}` is not a {} handle", H::NAME),
    )
}

/// Frees a handle made by [`into_raw`]. NULL and pointers of another kind
/// are ignored. The kind tag is cleared first, so a use after free is
/// likelier to be refused (it stays undefined behaviour).
///
/// # Safety
/// `p` is NULL or a live handle not freed before.
pub(crate) unsafe fn free_handle<H: Handle, C>(p: *mut C) {
    // SAFETY: this function's own contract (docs/ffi.md, pointer rule 6)
    // implies `handle`'s.
    if unsafe { handle::<H, C>(p, "handle") }.is_err() {
        return;
    }
    // SAFETY: checked above that `p` is an `H` from `into_raw` (a `Box`);
    // by the contract it was not freed before and nothing uses it from now
    // on, so the `Box` is reclaimed exactly once. The tag is the first `u32`.
    unsafe {
        p.cast::<u32>().write(0);
        drop(Box::from_raw(p.cast::<H>()));
    }
}

/// A borrowed C string pointer into a handle's own `CString`, or NULL.
pub(crate) fn ptr_of(s: Option<&CStr>) -> *const c_char {
    s.map_or(std::ptr::null(), CStr::as_ptr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_status_with_a_message() {
        let status = ffi_boundary(|| panic!("boom"));
        assert_eq!(status, seatbook_status::SEATBOOK_PANIC);
        // SAFETY: the message pointer is valid until the next call.
        let msg = unsafe { CStr::from_ptr(seatbook_last_error_message()) };
        assert!(msg.to_str().unwrap().contains("boom"));
        assert_eq!(ffi_boundary(|| Ok(())), seatbook_status::SEATBOOK_OK);
        // SAFETY: as above.
        let msg = unsafe { CStr::from_ptr(seatbook_last_error_message()) };
        assert!(msg.to_bytes().is_empty());
        assert_eq!(ffi_boundary_or(7, || panic!("again")), 7);
    }

    #[test]
    fn strings_are_bounded_and_checked() {
        let long = CString::new(vec![b'a'; MAX_STRING_BYTES + 1]).unwrap();
        // SAFETY: valid C strings.
        unsafe {
            assert_eq!(
                arg_str(long.as_ptr(), "x").unwrap_err().status,
                seatbook_status::SEATBOOK_INVALID_INPUT
            );
            let ok = CString::new(vec![b'a'; MAX_STRING_BYTES]).unwrap();
            assert_eq!(arg_str(ok.as_ptr(), "x").unwrap().len(), MAX_STRING_BYTES);
            let bad = CString::new(vec![0xff, 0xfe]).unwrap();
            assert_eq!(
                arg_str(bad.as_ptr(), "x").unwrap_err().status,
                seatbook_status::SEATBOOK_INVALID_UTF8
            );
            assert_eq!(
                arg_str(std::ptr::null(), "x").unwrap_err().status,
                seatbook_status::SEATBOOK_NULL_PARAMETER
            );
        }
    }
}
