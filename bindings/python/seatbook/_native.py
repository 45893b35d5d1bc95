"""Loads the seatbook shared library and declares its C API for ctypes.

The library is found, in order:

1. at the path in the ``SEATBOOK_LIB`` environment variable, when it is set
   (an explicit override, for development: nothing else is tried then);
2. bundled in this package, ``seatbook/_libseatbook<suffix>``, as
   ``pip install ./bindings/python`` puts it (the normal case);
3. by the system loader (``libseatbook.so`` on the library path);
4. in ``target/release`` / ``target/debug`` of the checkout this package
   sits in (running from the source tree with ``PYTHONPATH=bindings/python``).

``LIB_PATH`` is the path that was loaded. The override comes first so that
a developer's explicit choice (and ``cargo test``'s, tests/ffi_python.rs)
is never shadowed by a stale bundled copy left by an in-place build.
"""

import ctypes
import ctypes.util
import importlib.machinery
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Iterator, List, Mapping, Optional, Tuple

_LIB_NAMES = {
    "darwin": "libseatbook.dylib",
    "win32": "seatbook.dll",
}

#: Module name of the bundled library (setuptools-rust's ``target`` in
#: pyproject.toml), without the platform's extension-module suffix.
BUNDLED_NAME = "_libseatbook"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _bundled(package_dir: str) -> Optional[str]:
    """The library bundled in ``package_dir``, if any."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(package_dir, BUNDLED_NAME + suffix)
        if os.path.isfile(path):
            return path
    return None


def _candidates(environ: Mapping[str, str] = os.environ, package_dir: str = _PACKAGE_DIR) -> Iterator[str]:
    """The paths (or names for the system loader) to try, in order."""
    env = environ.get("SEATBOOK_LIB")
    if env:
        yield env
        return
    bundled = _bundled(package_dir)
    if bundled:
        yield bundled
    found = ctypes.util.find_library("seatbook")
    if found:
        yield found
    name = _LIB_NAMES.get(sys.platform, "libseatbook.so")
    root = os.path.abspath(os.path.join(package_dir, "..", "..", ".."))
    for profile in ("release", "debug"):
        yield os.path.join(root, "target", profile, name)


def _load() -> Tuple[ctypes.CDLL, str]:
    errors: List[str] = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError(
        "cannot load the seatbook library: install the package with "
        "`pip install ./bindings/python` (it bundles the library), or build it with "
        "`cargo build --release` in the checkout, or set SEATBOOK_LIB to the path "
        "of libseatbook.so.\n" + "\n".join(errors)
    )


lib, LIB_PATH = _load()


class Argon2Params(Structure):
    _fields_ = [("memory_kib", c_uint32), ("iterations", c_uint32), ("parallelism", c_uint32)]


class PaymentRequestC(Structure):
    _fields_ = [
        ("app_id", c_char_p),
        ("user_id", c_char_p),
        ("reservation_id", c_uint64),
        ("payment_id", c_char_p),
        ("amount_minor", c_uint64),
        ("currency", c_char_p),
    ]


PAYMENT_CALLBACK = CFUNCTYPE(c_uint32, c_void_p, POINTER(PaymentRequestC), POINTER(c_char), c_size_t)
# seatbook_payment_decision. Zero declines: a ctypes callback that fails
# returns 0, so a failure can never approve.
PAYMENT_DECLINE = 0
PAYMENT_APPROVE = 1


class Config(Structure):
    _fields_ = [
        ("admin_email", c_char_p),
        ("admin_password_hash", c_char_p),
        ("admin_jwt_secret", c_char_p),
        ("user_jwt_secret", c_char_p),
        ("argon2", Argon2Params),
        ("password_work_max_concurrent", c_uint32),
        ("password_work_max_wait_ms", c_uint64),
        ("durability", c_uint32),
        ("hold_default_ttl_ms", c_uint64),
        ("hold_min_ttl_ms", c_uint64),
        ("hold_max_ttl_ms", c_uint64),
        ("hold_max_total_ms", c_uint64),
        ("hold_confirm_deadline_ms", c_uint64),
        ("max_seats_per_reservation", c_uint32),
        ("max_seats_per_bulk", c_uint32),
        ("max_active_per_user", c_uint32),
        ("max_held_seats_per_entity", c_uint32),
        ("admin_token_ttl_ms", c_uint64),
        ("user_token_ttl_ms", c_uint64),
        ("reaper_interval_ms", c_uint64),
        ("payment_callback", PAYMENT_CALLBACK),
        ("payment_userdata", c_void_p),
        ("use_simulated_payments", c_bool),
        ("discard_unmatched_journal", c_uint32),
    ]


class Stats(Structure):
    _fields_ = [
        (name, c_uint64)
        for name in (
            "reserve_attempts",
            "holds_taken",
            "contention_rejections",
            "confirms",
            "expiries",
            "releases",
            "payment_failures",
            "cancellations",
        )
    ]


class Audit(Structure):
    _fields_ = [
        (name, c_uint64)
        for name in (
            "seats",
            "booked_seats",
            "live_bookings",
            "failed_bookings",
            "cancelled_bookings",
            "reservations",
            "active_reservations",
            "double_booked_seats",
            "violations",
        )
    ] + [("clean", c_bool)]


class NewSeatC(Structure):
    _fields_ = [
        ("seat_id", c_char_p),
        ("price_minor", c_uint64),
        ("currency", c_char_p),
        ("section", c_char_p),
        ("row", c_char_p),
        ("category", c_char_p),
    ]


class SeatView(Structure):
    _fields_ = [
        ("seat_id", c_char_p),
        ("entity_id", c_char_p),
        ("price_minor", c_uint64),
        ("currency", c_char_p),
        ("section", c_char_p),
        ("row", c_char_p),
        ("category", c_char_p),
        ("state", c_uint32),
        ("expires_at", c_uint64),
    ]


class CheckView(Structure):
    _fields_ = [
        ("recovery", c_uint32),
        ("journal_present", c_bool),
        ("journal_bytes", c_uint64),
        ("replays_journal", c_bool),
        ("open_error", c_char_p),
        ("audited", c_bool),
        ("audit", Audit),
        ("healthy", c_bool),
    ]


class SeatCounts(Structure):
    _fields_ = [("available", c_uint64), ("held", c_uint64), ("booked", c_uint64)]


class SeatKeys(Structure):
    _fields_ = [("live", c_uint64), ("allocated", c_uint64)]


class PurgeReportC(Structure):
    _fields_ = [("reservations", c_uint64), ("failed_attempts", c_uint64)]


class ReservationView(Structure):
    _fields_ = [
        ("reservation_id", c_uint64),
        ("token", c_char_p),
        ("app_id", c_char_p),
        ("user_id", c_char_p),
        ("seat_count", c_size_t),
        ("seat_ids", POINTER(c_char_p)),
        ("total_minor", c_uint64),
        ("currency", c_char_p),
        ("created_at", c_uint64),
        ("expires_at", c_uint64),
        ("status", c_uint32),
        ("booking_id", c_char_p),
    ]


class BookingView(Structure):
    _fields_ = [
        ("booking_id", c_char_p),
        ("app_id", c_char_p),
        ("user_id", c_char_p),
        ("seat_count", c_size_t),
        ("seat_ids", POINTER(c_char_p)),
        ("reservation_id", c_uint64),
        ("payment_id", c_char_p),
        ("amount_minor", c_uint64),
        ("currency", c_char_p),
        ("status", c_uint32),
        ("created_at", c_uint64),
        ("cancelled_at", c_uint64),
    ]


class AppInfoView(Structure):
    _fields_ = [
        ("app_id", c_char_p),
        ("name", c_char_p),
        ("origin_count", c_size_t),
        ("allowed_origins", POINTER(c_char_p)),
        ("active", c_bool),
        ("created_at", c_uint64),
        ("updated_at", c_uint64),
    ]


class UserHoldsView(Structure):
    _fields_ = [("user_id", c_char_p), ("reservations", c_size_t), ("seats", c_size_t)]


class NewEntityC(Structure):
    _fields_ = [
        ("entity_id", c_char_p),
        ("name", c_char_p),
        ("kind", c_char_p),
        ("has_starts_at", c_bool),
        ("starts_at", c_uint64),
        ("has_sale_opens_at", c_bool),
        ("sale_opens_at", c_uint64),
        ("has_sale_closes_at", c_bool),
        ("sale_closes_at", c_uint64),
    ]


# seatbook_field_change
FIELD_KEEP = 0
FIELD_SET = 1
FIELD_CLEAR = 2


class EntityUpdateC(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("kind", c_char_p),
        ("starts_at_change", c_uint32),
        ("starts_at", c_uint64),
        ("sale_opens_at_change", c_uint32),
        ("sale_opens_at", c_uint64),
        ("sale_closes_at_change", c_uint32),
        ("sale_closes_at", c_uint64),
    ]


class EntityInfoView(Structure):
    _fields_ = [
        ("entity_id", c_char_p),
        ("name", c_char_p),
        ("kind", c_char_p),
        ("has_starts_at", c_bool),
        ("starts_at", c_uint64),
        ("has_sale_opens_at", c_bool),
        ("sale_opens_at", c_uint64),
        ("has_sale_closes_at", c_bool),
        ("sale_closes_at", c_uint64),
        ("status", c_uint32),
        ("created_at", c_uint64),
        ("updated_at", c_uint64),
    ]


class MoneyC(Structure):
    _fields_ = [("currency", c_char_p), ("amount_minor", c_uint64)]


class EntityFiguresView(Structure):
    _fields_ = [
        ("entity_id", c_char_p),
        ("status", c_uint32),
        ("sold", c_uint64),
        ("held", c_uint64),
        ("available", c_uint64),
        ("revenue_count", c_size_t),
        ("revenue", POINTER(MoneyC)),
    ]


class UserView(Structure):
    _fields_ = [("user_id", c_char_p), ("expires_at", c_uint64)]


P = c_void_p  # every opaque handle
PP = POINTER(c_void_p)  # every handle or owned-string out-parameter
S = c_char_p
STRS = POINTER(c_char_p)

_PROTOTYPES = {
    # name: (argtypes, restype); restype None means void, c_uint32 a status
    "seatbook_version": ([], c_char_p),
    "seatbook_status_name": ([c_uint32], c_char_p),
    "seatbook_last_error_message": ([], c_char_p),
    "seatbook_last_error_seat": ([], c_char_p),
    "seatbook_string_free": ([c_void_p], None),
    "seatbook_hash_password": ([S, POINTER(Argon2Params), PP], c_uint32),
    "seatbook_engine_open": ([S, POINTER(Config), PP], c_uint32),
    "seatbook_engine_close": ([P], None),
    "seatbook_engine_stats": ([P, POINTER(Stats)], c_uint32),
    "seatbook_engine_seat_keys": ([P, POINTER(SeatKeys)], c_uint32),
    "seatbook_engine_sweep": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_engine_audit": ([P, POINTER(Audit)], c_uint32),
    "seatbook_engine_admin_login": ([P, S, S, PP], c_uint32),
    "seatbook_engine_admin": ([P, S, PP], c_uint32),
    "seatbook_admin_free": ([P], None),
    "seatbook_app_info_get": ([P, POINTER(AppInfoView)], c_uint32),
    "seatbook_app_info_free": ([P], None),
    "seatbook_app_info_list_count": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_app_info_list_get": ([P, c_size_t, POINTER(AppInfoView)], c_uint32),
    "seatbook_app_info_list_free": ([P], None),
    "seatbook_admin_create_app": ([P, S, S, STRS, c_size_t, PP, PP], c_uint32),
    "seatbook_admin_list_apps": ([P, PP], c_uint32),
    "seatbook_admin_get_app": ([P, S, PP], c_uint32),
    "seatbook_admin_update_app": ([P, S, S, STRS, c_size_t, PP], c_uint32),
    "seatbook_admin_deactivate_app": ([P, S, PP], c_uint32),
    "seatbook_admin_reactivate_app": ([P, S, PP], c_uint32),
    "seatbook_admin_rotate_api_key": ([P, S, PP], c_uint32),
    "seatbook_admin_create_seats": ([P, S, S, POINTER(NewSeatC), c_size_t, POINTER(c_size_t)], c_uint32),
    "seatbook_admin_remove_seats": ([P, S, STRS, c_size_t, POINTER(c_size_t)], c_uint32),
    "seatbook_admin_cancel_booking": ([P, S, PP], c_uint32),
    "seatbook_admin_user_holds": ([P, S, PP], c_uint32),
    "seatbook_admin_purge_history": ([P, c_uint64, P], c_uint32),
    "seatbook_user_holds_list_count": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_user_holds_list_get": ([P, c_size_t, POINTER(UserHoldsView)], c_uint32),
    "seatbook_user_holds_list_free": ([P], None),
    "seatbook_entity_info_get": ([P, POINTER(EntityInfoView)], c_uint32),
    "seatbook_entity_info_free": ([P], None),
    "seatbook_entity_info_list_count": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_entity_info_list_get": ([P, c_size_t, POINTER(EntityInfoView)], c_uint32),
    "seatbook_entity_info_list_free": ([P], None),
    "seatbook_admin_create_entity": ([P, S, POINTER(NewEntityC), PP], c_uint32),
    "seatbook_admin_update_entity": ([P, S, S, POINTER(EntityUpdateC), PP], c_uint32),
    "seatbook_admin_get_entity": ([P, S, S, PP], c_uint32),
    "seatbook_admin_list_entities": ([P, S, PP], c_uint32),
    "seatbook_admin_close_entity": ([P, S, S, c_uint32, PP], c_uint32),
    "seatbook_admin_archive_entity": ([P, S, S, PP], c_uint32),
    "seatbook_admin_entity_figures": ([P, S, S, PP], c_uint32),
    "seatbook_entity_figures_get": ([P, POINTER(EntityFiguresView)], c_uint32),
    "seatbook_entity_figures_free": ([P], None),
    "seatbook_engine_app": ([P, S, S, S, PP], c_uint32),
    "seatbook_app_free": ([P], None),
    "seatbook_app_signup": ([P, S, S, PP], c_uint32),
    "seatbook_app_login": ([P, S, S, PP], c_uint32),
    "seatbook_app_user": ([P, S, PP], c_uint32),
    "seatbook_app_change_password": ([P, P, S, S, PP], c_uint32),
    "seatbook_user_get": ([P, POINTER(UserView)], c_uint32),
    "seatbook_user_free": ([P], None),
    "seatbook_app_list_seats": ([P, S, c_bool, PP], c_uint32),
    "seatbook_seat_list_count": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_seat_list_get": ([P, c_size_t, POINTER(SeatView)], c_uint32),
    "seatbook_seat_list_free": ([P], None),
    "seatbook_app_seat_counts": ([P, S, POINTER(SeatCounts)], c_uint32),
    "seatbook_app_entity": ([P, S, PP], c_uint32),
    "seatbook_app_list_entities": ([P, PP], c_uint32),
    "seatbook_reservation_get": ([P, POINTER(ReservationView)], c_uint32),
    "seatbook_reservation_free": ([P], None),
    "seatbook_app_reserve": ([P, P, STRS, c_size_t, c_uint64, PP], c_uint32),
    "seatbook_app_extend": ([P, P, S, c_uint64, PP], c_uint32),
    "seatbook_app_release": ([P, P, S], c_uint32),
    "seatbook_app_reservation": ([P, P, S, PP], c_uint32),
    "seatbook_booking_get": ([P, POINTER(BookingView)], c_uint32),
    "seatbook_booking_free": ([P], None),
    "seatbook_app_confirm": ([P, P, S, S, c_uint64, PP], c_uint32),
    "seatbook_app_booking": ([P, S, PP], c_uint32),
    "seatbook_app_cancel_booking": ([P, S, PP], c_uint32),
    "seatbook_app_user_bookings": ([P, P, PP], c_uint32),
    "seatbook_app_refunds_due": ([P, PP], c_uint32),
    "seatbook_admin_refunds_due": ([P, S, PP], c_uint32),
    "seatbook_admin_settle_refund": ([P, S, PP], c_uint32),
    "seatbook_booking_list_count": ([P, POINTER(c_size_t)], c_uint32),
    "seatbook_booking_list_get": ([P, c_size_t, POINTER(BookingView)], c_uint32),
    "seatbook_booking_list_free": ([P], None),
    "seatbook_engine_backup": ([P, S], c_uint32),
    "seatbook_check": ([S, PP], c_uint32),
    "seatbook_check_report_get": ([P, POINTER(CheckView)], c_uint32),
    "seatbook_check_report_violation": ([P, c_size_t, POINTER(c_char_p)], c_uint32),
    "seatbook_check_report_free": ([P], None),
}

for _name, (_args, _res) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    _fn.restype = _res
