"""The Pythonic API over the C ABI: Engine, Admin, App, User and plain
dataclasses for results. Every handle is closed by ``close()`` or by leaving
its ``with`` block (and, as a last resort, when garbage-collected).

``close()`` is thread-safe and idempotent: whichever of several threads (or
the garbage collector) closes a handle first frees it, exactly once, and
every ``close()`` returns only once the handle is freed. As in C, other
calls on a handle must not race with closing that same handle; closing the
Engine while its App and Admin objects are in use elsewhere is fine (they
raise EngineClosedError from then on).

The payment verifier passed to Engine is kept alive by the Engine and by
every App and Admin made from it, until the last of them is closed: a
confirm still running when the Engine is closed can still call it."""

import ctypes
import dataclasses
import enum
import threading
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union, cast, overload

from . import _native as n
from .errors import Status, error_for

_lib = n.lib


def _check(status: int) -> None:
    if status != Status.OK:
        message = _lib.seatbook_last_error_message() or b""
        seat = _lib.seatbook_last_error_seat()
        raise error_for(status, message.decode("utf-8", "replace"), seat.decode() if seat else None)


def _b(s: Optional[str]) -> Optional[bytes]:
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError(f"expected str, got {type(s).__name__}")
    data = s.encode("utf-8")
    if b"\0" in data:
        raise ValueError("embedded NUL character")
    return data


@overload
def _s(b: bytes) -> str: ...
@overload
def _s(b: None) -> None: ...
def _s(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8")


def _strs(ptr: Any, count: int) -> List[str]:
    return [ptr[i].decode("utf-8") for i in range(count)]


def _str_array(items: Sequence[str]) -> Tuple[Any, int]:
    if isinstance(items, str):
        raise TypeError("expected a sequence of str, not a str")
    arr = (ctypes.c_char_p * max(len(items), 1))()
    for i, item in enumerate(items):
        arr[i] = _b(item)
    return arr, len(items)


def _take_string(ptr: c_void_p) -> str:
    """Copies and frees (wiping) an owned library string."""
    try:
        return ctypes.string_at(cast(int, ptr.value)).decode("utf-8")
    finally:
        _lib.seatbook_string_free(ptr)


_H = TypeVar("_H", bound="_Handle")


class _Handle:
    """Owns one C handle; ``close()`` frees it once, whichever thread calls
    it (or ``__del__``) and however many times."""

    _free: Any = None
    _ptr = None
    _lock = None
    # What the handle's C object may call back into (the payment
    # verifier), released only after the handle is freed.
    _keepalive = None

    def __init__(self, ptr: Optional[c_void_p], keepalive: Any = None) -> None:
        self._lock = threading.Lock()
        self._keepalive = keepalive
        self._ptr = ptr

    @property
    def _as_parameter_(self) -> c_void_p:
        # A closed handle is passed as NULL: the library answers
        # NullParameterError instead of touching freed memory.
        return c_void_p() if self._ptr is None else self._ptr

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._ptr is None

    def close(self) -> None:
        """Frees the handle (once; thread-safe; later calls do nothing)."""
        lock = self._lock
        if lock is None:  # __init__ never ran (e.g. bad arguments)
            return
        # Held while freeing, so a concurrent close() returns only once the
        # handle is freed, and the pointer is taken exactly once.
        with lock:
            ptr, self._ptr = self._ptr, None
            if ptr is not None and ptr.value is not None:
                type(self)._free(ptr)
            self._keepalive = None

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


def _owned(handle_cls: Any, free: Callable[[Any], None]) -> Any:
    handle_cls._free = staticmethod(free)
    return handle_cls


# ---------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class Seat:
    """One seat as listed, with its effective state; prices are integer
    minor units (cents) of ``currency``."""

    seat_id: str
    entity_id: str
    price_minor: int
    currency: str
    state: str  # "AVAILABLE", "HELD" or "BOOKED"
    expires_at: int  # hold expiry for HELD seats, else 0
    section: Optional[str] = None
    row: Optional[str] = None
    category: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Reservation:
    """A hold made durable: its seats, total and expiry. ``token`` is the
    secret that extends, releases or confirms it (only on the result of
    :meth:`App.reserve`; never in ``repr``)."""

    reservation_id: int
    token: Optional[str]  # secret; only on the result of App.reserve
    app_id: str
    user_id: str
    seat_ids: List[str]
    total_minor: int
    currency: str
    created_at: int
    expires_at: int
    status: str  # ACTIVE, CONFIRMED, EXPIRED, RELEASED
    booking_id: Optional[str]

    def __repr__(self) -> str:  # never print the token
        return (
            f"Reservation(id={self.reservation_id}, seats={self.seat_ids}, "
            f"total={self.total_minor} {self.currency}, status={self.status})"
        )


@dataclasses.dataclass(frozen=True)
class Booking:
    """A confirmed (or failed, cancelled, refund-due, refunded) payment for
    a reservation's seats."""

    booking_id: str
    app_id: str
    user_id: str
    seat_ids: List[str]
    reservation_id: int
    payment_id: str
    amount_minor: int
    currency: str
    status: str  # SUCCESS, FAILED, CANCELLED, REFUND_DUE, REFUNDED
    created_at: int
    cancelled_at: Optional[int]


@dataclasses.dataclass(frozen=True)
class AppInfo:
    """An app (tenant) as the admin sees it; never its API key."""

    app_id: str
    name: str
    allowed_origins: List[str]
    active: bool
    created_at: int
    updated_at: int


@dataclasses.dataclass(frozen=True)
class UserHolds:
    """How much one user holds in one app right now."""

    user_id: str
    reservations: int  # live reservations
    seats: int  # seats they hold, over all entities


@dataclasses.dataclass(frozen=True)
class PurgeReport:
    """What :meth:`Admin.purge_history` removed."""

    reservations: int  # ended without a booking (EXPIRED or RELEASED)
    failed_attempts: int  # FAILED records of declined payments


@dataclasses.dataclass(frozen=True)
class CreatedApp:
    """The result of :meth:`Admin.create_app`: the API key, shown only
    this once (never in ``repr``), and the app."""

    api_key: str  # shown once
    info: AppInfo

    def __repr__(self) -> str:
        return f"CreatedApp(info={self.info!r})"


@dataclasses.dataclass(frozen=True)
class NewSeat:
    """A seat to create with :meth:`Admin.create_seats`."""

    seat_id: str
    price_minor: int
    currency: str
    section: Optional[str] = None
    row: Optional[str] = None
    category: Optional[str] = None


class EntityStatus(str, enum.Enum):
    """Where an entity is in its lifecycle: ``ON_SALE`` -> ``CLOSED`` ->
    ``ARCHIVED``, one way. A ``str`` enum: it compares equal to its name."""

    ON_SALE = "ON_SALE"  # seats can be reserved (within the sale window, if any)
    CLOSED = "CLOSED"  # sales stopped for good; bookings stay cancellable
    ARCHIVED = "ARCHIVED"  # seats gone, figures frozen; bookings readable, not cancellable


class HoldsOnClose(str, enum.Enum):
    """What :meth:`Admin.close_entity` does with the live holds on the
    entity's seats."""

    KEEP = "KEEP"  # they run to their end and can still be confirmed
    RELEASE = "RELEASE"  # released at once (reservations RELEASED)


class _Keep(enum.Enum):
    KEEP = "KEEP"


#: The default of :meth:`Admin.update_entity`'s instants: leave the field
#: as it is (``None`` clears it, an int sets it).
KEEP = _Keep.KEEP

#: An instant argument of :meth:`Admin.update_entity`.
InstantChange = Union[int, None, _Keep]


@dataclasses.dataclass(frozen=True)
class EntityInfo:
    """An entity (an event, a route, a show) as the admin sees it. Instants
    are milliseconds since the Unix epoch, ``None`` when not set: reserves
    before ``sale_opens_at`` raise SaleNotOpenError, at or after
    ``sale_closes_at`` SaleClosedError."""

    entity_id: str
    name: str
    kind: str
    starts_at: Optional[int]
    sale_opens_at: Optional[int]
    sale_closes_at: Optional[int]
    status: EntityStatus
    created_at: int
    updated_at: int


@dataclasses.dataclass(frozen=True)
class Money:
    """An amount of money: integer minor units (cents) of ``currency``."""

    currency: str
    amount_minor: int


@dataclasses.dataclass(frozen=True)
class EntityFigures:
    """One entity's figures when they were read: seats ``sold`` (booked),
    ``held`` (live holds) and ``available``, and the revenue of the sold
    seats per currency (ordered by currency; empty when none is sold)."""

    entity_id: str
    status: EntityStatus
    sold: int
    held: int
    available: int
    revenue: List[Money]


@dataclasses.dataclass(frozen=True)
class PaymentRequest:
    """What a payment verifier is asked to check (see :class:`Engine`)."""

    app_id: str
    user_id: str
    reservation_id: int
    payment_id: str
    amount_minor: int
    currency: str


def _struct_dict(s: Any) -> Dict[str, Any]:
    return {name: getattr(s, name) for name, _ in s._fields_}


_SEAT_STATES = {0: "AVAILABLE", 1: "HELD", 2: "BOOKED"}
_RES_STATUS = {0: "ACTIVE", 1: "CONFIRMED", 2: "EXPIRED", 3: "RELEASED"}
_BOOKING_STATUS = {0: "SUCCESS", 1: "FAILED", 2: "CANCELLED", 3: "REFUND_DUE", 4: "REFUNDED"}


def _app_info(v: n.AppInfoView) -> AppInfo:
    return AppInfo(
        _s(v.app_id), _s(v.name), _strs(v.allowed_origins, v.origin_count), bool(v.active), v.created_at, v.updated_at
    )


def _take_app_info(ptr: c_void_p) -> AppInfo:
    try:
        v = n.AppInfoView()
        _check(_lib.seatbook_app_info_get(ptr, byref(v)))
        return _app_info(v)
    finally:
        _lib.seatbook_app_info_free(ptr)


def _take_booking_list(out: c_void_p) -> List[Booking]:
    try:
        count = c_size_t()
        _check(_lib.seatbook_booking_list_count(out, byref(count)))
        result = []
        for i in range(count.value):
            v = n.BookingView()
            _check(_lib.seatbook_booking_list_get(out, i, byref(v)))
            result.append(_booking(v))
        return result
    finally:
        _lib.seatbook_booking_list_free(out)


_ENTITY_STATUS = {0: EntityStatus.ON_SALE, 1: EntityStatus.CLOSED, 2: EntityStatus.ARCHIVED}
_HOLDS_ON_CLOSE = {HoldsOnClose.KEEP: 0, HoldsOnClose.RELEASE: 1}


def _instant(value: int, name: str) -> int:
    """Checks a millisecond instant for a ``uint64_t`` (ctypes would wrap
    a negative or too large int silently)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (ms since the Unix epoch), got {type(value).__name__}")
    if not 0 <= value < 2**64:
        raise ValueError(f"{name} out of range: {value}")
    return value


def _entity_info(v: n.EntityInfoView) -> EntityInfo:
    return EntityInfo(
        _s(v.entity_id),
        _s(v.name),
        _s(v.kind),
        v.starts_at if v.has_starts_at else None,
        v.sale_opens_at if v.has_sale_opens_at else None,
        v.sale_closes_at if v.has_sale_closes_at else None,
        _ENTITY_STATUS[v.status],
        v.created_at,
        v.updated_at,
    )


def _take_entity_list(out: c_void_p) -> List[EntityInfo]:
    """The entities of a list handle, which it frees."""
    try:
        count = c_size_t()
        _check(_lib.seatbook_entity_info_list_count(out, byref(count)))
        entities = []
        for i in range(count.value):
            v = n.EntityInfoView()
            _check(_lib.seatbook_entity_info_list_get(out, i, byref(v)))
            entities.append(_entity_info(v))
        return entities
    finally:
        _lib.seatbook_entity_info_list_free(out)


def _take_entity_info(ptr: c_void_p) -> EntityInfo:
    try:
        v = n.EntityInfoView()
        _check(_lib.seatbook_entity_info_get(ptr, byref(v)))
        return _entity_info(v)
    finally:
        _lib.seatbook_entity_info_free(ptr)


def _booking(v: n.BookingView) -> Booking:
    return Booking(
        _s(v.booking_id),
        _s(v.app_id),
        _s(v.user_id),
        _strs(v.seat_ids, v.seat_count),
        v.reservation_id,
        _s(v.payment_id),
        v.amount_minor,
        _s(v.currency),
        _BOOKING_STATUS[v.status],
        v.created_at,
        v.cancelled_at or None,
    )


def _take_booking(ptr: c_void_p) -> Booking:
    try:
        v = n.BookingView()
        _check(_lib.seatbook_booking_get(ptr, byref(v)))
        return _booking(v)
    finally:
        _lib.seatbook_booking_free(ptr)


def _take_reservation(ptr: c_void_p) -> Reservation:
    try:
        v = n.ReservationView()
        _check(_lib.seatbook_reservation_get(ptr, byref(v)))
        return Reservation(
            v.reservation_id,
            _s(v.token),
            _s(v.app_id),
            _s(v.user_id),
            _strs(v.seat_ids, v.seat_count),
            v.total_minor,
            _s(v.currency),
            v.created_at,
            v.expires_at,
            _RES_STATUS[v.status],
            _s(v.booking_id),
        )
    finally:
        _lib.seatbook_reservation_free(ptr)


# ---------------------------------------------------------------- handles


class User(_Handle):
    """A verified user token. Immutable; usable from any thread."""

    def __init__(self, ptr: c_void_p) -> None:
        super().__init__(ptr)
        v = n.UserView()
        _check(_lib.seatbook_user_get(ptr, byref(v)))
        self.user_id: str = _s(v.user_id)
        self.expires_at: int = v.expires_at


_owned(User, _lib.seatbook_user_free)


class App(_Handle):
    """An authenticated app context. Thread-safe.

    Once the admin rotates its key, deactivates the app or removes its
    origin, every call raises AppContextRevokedError: make a new App with
    Engine.app() (the user's token is not at fault)."""

    def signup(self, email: str, password: str) -> str:
        """Registers a user (argon2id) and returns their user token (a JWT,
        valid 7 days). Raises EmailTakenError if the email is registered."""
        out = c_void_p()
        _check(_lib.seatbook_app_signup(self, _b(email), _b(password), byref(out)))
        return _take_string(out)

    def login(self, email: str, password: str) -> str:
        """Returns a fresh user token. Raises InvalidCredentialsError for an
        unknown email or a wrong password (the same error for both)."""
        out = c_void_p()
        _check(_lib.seatbook_app_login(self, _b(email), _b(password), byref(out)))
        return _take_string(out)

    def user(self, token: str) -> User:
        """Verifies a user token once into a :class:`User` session that later
        calls take. Raises InvalidTokenError or TokenExpiredError."""
        out = c_void_p()
        _check(_lib.seatbook_app_user(self, _b(token), byref(out)))
        return User(out)

    def change_password(self, user: User, current_password: str, new_password: str) -> str:
        """Changes the user's password and returns a fresh token. The user's
        earlier tokens and User objects raise InvalidTokenError from then on."""
        out = c_void_p()
        _check(
            _lib.seatbook_app_change_password(
                self, user, _b(current_password), _b(new_password), byref(out)
            )
        )
        return _take_string(out)

    def list_seats(self, entity_id: str, available_only: bool = False) -> List[Seat]:
        """The entity's seats with their effective state (AVAILABLE, HELD with
        its expiry, BOOKED); only AVAILABLE ones if ``available_only``."""
        out = c_void_p()
        _check(_lib.seatbook_app_list_seats(self, _b(entity_id), bool(available_only), byref(out)))
        try:
            count = c_size_t()
            _check(_lib.seatbook_seat_list_count(out, byref(count)))
            seats = []
            for i in range(count.value):
                v = n.SeatView()
                _check(_lib.seatbook_seat_list_get(out, i, byref(v)))
                seats.append(
                    Seat(
                        _s(v.seat_id),
                        _s(v.entity_id),
                        v.price_minor,
                        _s(v.currency),
                        _SEAT_STATES[v.state],
                        v.expires_at,
                        _s(v.section),
                        _s(v.row),
                        _s(v.category),
                    )
                )
            return seats
        finally:
            _lib.seatbook_seat_list_free(out)

    def seat_counts(self, entity_id: str) -> Dict[str, int]:
        """How many of the entity's seats are ``available``, ``held`` and
        ``booked`` right now."""
        c = n.SeatCounts()
        _check(_lib.seatbook_app_seat_counts(self, _b(entity_id), byref(c)))
        return _struct_dict(c)

    def entity(self, entity_id: str) -> EntityInfo:
        """One entity of this app as its buyers may see it (name, kind,
        start, sale window, status). Raises EntityNotFoundError."""
        out = c_void_p()
        _check(_lib.seatbook_app_entity(self, _b(entity_id), byref(out)))
        return _take_entity_info(out)

    def list_entities(self) -> List[EntityInfo]:
        """This app's entities on sale or closed (archived ones are left
        out), by entity id."""
        out = c_void_p()
        _check(_lib.seatbook_app_list_entities(self, byref(out)))
        return _take_entity_list(out)

    def reserve(self, user: User, seat_ids: Sequence[str], ttl_ms: int = 0) -> Reservation:
        """Holds all of ``seat_ids`` for ``user`` (all or nothing) for
        ``ttl_ms`` (0: the configured default) and returns the reservation;
        its ``token`` (secret) is needed to extend, release or confirm.
        Raises e.g. SeatHeldError / SeatBookedError naming the seat (``.seat``)."""
        arr, count = _str_array(seat_ids)
        out = c_void_p()
        _check(_lib.seatbook_app_reserve(self, user, arr, count, ttl_ms, byref(out)))
        return _take_reservation(out)

    def extend(self, user: User, token: str, ttl_ms: int = 0) -> Reservation:
        """Extends an ACTIVE hold by ``ttl_ms`` (0: the default), within the
        configured total; returns the updated reservation."""
        out = c_void_p()
        _check(_lib.seatbook_app_extend(self, user, _b(token), ttl_ms, byref(out)))
        return _take_reservation(out)

    def release(self, user: User, token: str) -> None:
        """Releases an ACTIVE hold: its seats are available again at once."""
        _check(_lib.seatbook_app_release(self, user, _b(token)))

    def confirm(self, user: User, token: str, payment_id: str, amount_minor: int) -> Booking:
        """Books the held seats: calls the engine's payment verifier with
        ``payment_id`` and ``amount_minor`` (which must equal the total), then
        records the booking, books the seats and confirms the reservation in
        one transaction. Raises PaymentDeclinedError, AmountMismatchError,
        HoldExpiredError, ..."""
        out = c_void_p()
        _check(_lib.seatbook_app_confirm(self, user, _b(token), _b(payment_id), amount_minor, byref(out)))
        return _take_booking(out)

    def reservation(self, user: User, token: str) -> Reservation:
        """The user's reservation for ``token``."""
        out = c_void_p()
        _check(_lib.seatbook_app_reservation(self, user, _b(token), byref(out)))
        return _take_reservation(out)

    def booking(self, booking_id: str) -> Booking:
        """One booking of this app by id. Raises BookingNotFoundError."""
        out = c_void_p()
        _check(_lib.seatbook_app_booking(self, _b(booking_id), byref(out)))
        return _take_booking(out)

    def user_bookings(self, user: User) -> List[Booking]:
        """Every booking of ``user`` in this app."""
        out = c_void_p()
        _check(_lib.seatbook_app_user_bookings(self, user, byref(out)))
        return _take_booking_list(out)

    def refunds_due(self) -> List[Booking]:
        """This app's REFUND_DUE records: approved payments that booked nothing."""
        out = c_void_p()
        _check(_lib.seatbook_app_refunds_due(self, byref(out)))
        return _take_booking_list(out)

    def cancel_booking(self, booking_id: str) -> Booking:
        """Cancels a SUCCESS booking (refunded: its seats are available again)
        and returns it as CANCELLED. Raises EntityArchivedError once its
        entity is archived (its seats are gone)."""
        out = c_void_p()
        _check(_lib.seatbook_app_cancel_booking(self, _b(booking_id), byref(out)))
        return _take_booking(out)


_owned(App, _lib.seatbook_app_free)


class Admin(_Handle):
    """A verified admin token. Thread-safe."""

    def create_app(self, app_id: str, name: str, allowed_origins: Sequence[str]) -> CreatedApp:
        """Creates an app (tenant); the result carries its API key, shown
        only this once."""
        arr, count = _str_array(allowed_origins)
        key, info = c_void_p(), c_void_p()
        _check(_lib.seatbook_admin_create_app(self, _b(app_id), _b(name), arr, count, byref(key), byref(info)))
        api_key = _take_string(key)
        return CreatedApp(api_key, _take_app_info(info))

    def list_apps(self) -> List[AppInfo]:
        """Every app, active or not."""
        out = c_void_p()
        _check(_lib.seatbook_admin_list_apps(self, byref(out)))
        try:
            count = c_size_t()
            _check(_lib.seatbook_app_info_list_count(out, byref(count)))
            apps = []
            for i in range(count.value):
                v = n.AppInfoView()
                _check(_lib.seatbook_app_info_list_get(out, i, byref(v)))
                apps.append(_app_info(v))
            return apps
        finally:
            _lib.seatbook_app_info_list_free(out)

    def get_app(self, app_id: str) -> AppInfo:
        """One app. Raises AppNotFoundError."""
        out = c_void_p()
        _check(_lib.seatbook_admin_get_app(self, _b(app_id), byref(out)))
        return _take_app_info(out)

    def update_app(
        self, app_id: str, name: Optional[str] = None, allowed_origins: Optional[Sequence[str]] = None
    ) -> AppInfo:
        """Renames the app and/or replaces its allowed origins (``None``
        keeps the current value). Removing an origin revokes the App
        objects authenticated with it."""
        arr, count = (None, 0) if allowed_origins is None else _str_array(allowed_origins)
        out = c_void_p()
        _check(_lib.seatbook_admin_update_app(self, _b(app_id), _b(name), arr, count, byref(out)))
        return _take_app_info(out)

    def deactivate_app(self, app_id: str) -> AppInfo:
        """Deactivates the app: its App objects raise AppContextRevokedError,
        new ones AppInactiveError."""
        out = c_void_p()
        _check(_lib.seatbook_admin_deactivate_app(self, _b(app_id), byref(out)))
        return _take_app_info(out)

    def reactivate_app(self, app_id: str) -> AppInfo:
        """Reactivates a deactivated app."""
        out = c_void_p()
        _check(_lib.seatbook_admin_reactivate_app(self, _b(app_id), byref(out)))
        return _take_app_info(out)

    def rotate_api_key(self, app_id: str) -> str:
        """Replaces the API key (returned, shown once); App objects made
        with the old key are revoked."""
        out = c_void_p()
        _check(_lib.seatbook_admin_rotate_api_key(self, _b(app_id), byref(out)))
        return _take_string(out)

    def create_seats(self, app_id: str, entity_id: str, seats: Sequence[Union[NewSeat, Dict[str, Any]]]) -> int:
        """Creates seats of one entity (all or nothing) and returns how many;
        each is a :class:`NewSeat` or a dict of its fields."""
        items = [s if isinstance(s, NewSeat) else NewSeat(**s) for s in seats]
        arr = (n.NewSeatC * max(len(items), 1))()
        for i, s in enumerate(items):
            arr[i] = n.NewSeatC(
                _b(s.seat_id), s.price_minor, _b(s.currency), _b(s.section), _b(s.row), _b(s.category)
            )
        created = c_size_t()
        _check(_lib.seatbook_admin_create_seats(self, _b(app_id), _b(entity_id), arr, len(items), byref(created)))
        return created.value

    def remove_seats(self, app_id: str, seat_ids: Sequence[str]) -> int:
        """Removes seats (all or nothing: a held or booked seat raises
        SeatInUseError, an unknown one SeatNotFoundError, and nothing is
        removed) and returns how many."""
        arr, count = _str_array(seat_ids)
        removed = c_size_t()
        _check(_lib.seatbook_admin_remove_seats(self, _b(app_id), arr, count, byref(removed)))
        return removed.value

    def cancel_booking(self, booking_id: str) -> Booking:
        """Cancels any booking of any app (as App.cancel_booking)."""
        out = c_void_p()
        _check(_lib.seatbook_admin_cancel_booking(self, _b(booking_id), byref(out)))
        return _take_booking(out)

    def refunds_due(self, app_id: str) -> List[Booking]:
        """An app's REFUND_DUE records: approved payments that booked nothing."""
        out = c_void_p()
        _check(_lib.seatbook_admin_refunds_due(self, _b(app_id), byref(out)))
        return _take_booking_list(out)

    def settle_refund(self, booking_id: str) -> Booking:
        """Marks a REFUND_DUE record as REFUNDED."""
        out = c_void_p()
        _check(_lib.seatbook_admin_settle_refund(self, _b(booking_id), byref(out)))
        return _take_booking(out)

    def purge_history(self, older_than_ms: int) -> PurgeReport:
        """Purges the history older than ``older_than_ms`` (at least the
        hold policy's longest total hold): reservations that ended without
        a booking and the FAILED records of declined payments. Bookings
        that moved money or seats, confirmed and live reservations,
        reservations tied to a pending, booked or refund-due payment, and
        payment bindings stay. Raises InvalidInputError for a shorter age
        (nothing purged)."""
        out = n.PurgeReportC()
        _check(_lib.seatbook_admin_purge_history(self, older_than_ms, byref(out)))
        return PurgeReport(out.reservations, out.failed_attempts)

    def user_holds(self, app_id: str) -> List[UserHolds]:
        """Every user of the app holding seats right now, by user id."""
        out = c_void_p()
        _check(_lib.seatbook_admin_user_holds(self, _b(app_id), byref(out)))
        try:
            count = c_size_t()
            _check(_lib.seatbook_user_holds_list_count(out, byref(count)))
            holds = []
            for i in range(count.value):
                v = n.UserHoldsView()
                _check(_lib.seatbook_user_holds_list_get(out, i, byref(v)))
                holds.append(UserHolds(_s(v.user_id), v.reservations, v.seats))
            return holds
        finally:
            _lib.seatbook_user_holds_list_free(out)

    def create_entity(
        self,
        app_id: str,
        entity_id: str,
        name: str = "",
        kind: str = "",
        *,
        starts_at: Optional[int] = None,
        sale_opens_at: Optional[int] = None,
        sale_closes_at: Optional[int] = None,
    ) -> EntityInfo:
        """Creates an entity (an event, a route, a show) of the app, on sale.
        ``name`` empty means the entity id; ``kind`` is free text. Instants
        are ms since the Unix epoch; a sale window must open before it
        closes. Raises EntityAlreadyExistsError (also for an entity its
        seats created), InvalidInputError, AppNotFoundError."""
        raw = n.NewEntityC(_b(entity_id), _b(name), _b(kind))
        for field, value in (
            ("starts_at", starts_at),
            ("sale_opens_at", sale_opens_at),
            ("sale_closes_at", sale_closes_at),
        ):
            if value is not None:
                setattr(raw, "has_" + field, True)
                setattr(raw, field, _instant(value, field))
        out = c_void_p()
        _check(_lib.seatbook_admin_create_entity(self, _b(app_id), byref(raw), byref(out)))
        return _take_entity_info(out)

    def update_entity(
        self,
        app_id: str,
        entity_id: str,
        *,
        name: Optional[str] = None,
        kind: Optional[str] = None,
        starts_at: InstantChange = KEEP,
        sale_opens_at: InstantChange = KEEP,
        sale_closes_at: InstantChange = KEEP,
    ) -> EntityInfo:
        """Changes an entity's name and kind (``None`` keeps them) and its
        start and sale window: for each instant, :data:`KEEP` (the default)
        keeps it, ``None`` clears it, an int (ms since the Unix epoch) sets
        it. A window change applies to the next reserves; holds already
        taken stay. Raises EntityNotFoundError, EntityClosedError (a start
        or window change of a closed entity), EntityArchivedError (any
        change of an archived one), InvalidInputError."""
        raw = n.EntityUpdateC(_b(name), _b(kind))
        for field, change in (
            ("starts_at", starts_at),
            ("sale_opens_at", sale_opens_at),
            ("sale_closes_at", sale_closes_at),
        ):
            if change is KEEP:
                continue
            if change is None:
                setattr(raw, field + "_change", n.FIELD_CLEAR)
            else:
                setattr(raw, field + "_change", n.FIELD_SET)
                setattr(raw, field, _instant(change, field))
        out = c_void_p()
        _check(_lib.seatbook_admin_update_entity(self, _b(app_id), _b(entity_id), byref(raw), byref(out)))
        return _take_entity_info(out)

    def get_entity(self, app_id: str, entity_id: str) -> EntityInfo:
        """One entity. Raises EntityNotFoundError."""
        out = c_void_p()
        _check(_lib.seatbook_admin_get_entity(self, _b(app_id), _b(entity_id), byref(out)))
        return _take_entity_info(out)

    def list_entities(self, app_id: str) -> List[EntityInfo]:
        """Every entity of the app, by entity id."""
        out = c_void_p()
        _check(_lib.seatbook_admin_list_entities(self, _b(app_id), byref(out)))
        return _take_entity_list(out)

    def close_entity(self, app_id: str, entity_id: str, holds: HoldsOnClose = HoldsOnClose.KEEP) -> EntityInfo:
        """Closes an entity for good: from now on every reserve of its seats
        raises SaleClosedError. Live holds are kept (they can still be
        confirmed) or released at once, as ``holds`` says. Bookings stay
        cancellable; closing a closed entity applies ``holds`` again.
        Raises EntityNotFoundError, ValueError for an unknown ``holds``."""
        code = _HOLDS_ON_CLOSE[HoldsOnClose(holds)]
        out = c_void_p()
        _check(_lib.seatbook_admin_close_entity(self, _b(app_id), _b(entity_id), code, byref(out)))
        return _take_entity_info(out)

    def archive_entity(self, app_id: str, entity_id: str) -> EntityInfo:
        """Archives a closed entity: live holds on its seats are released,
        its seats leave memory and the database (their ids stay taken: new
        seats cannot reuse them), its figures stay as they are now. Its
        bookings and reservations stay readable, but its bookings can no
        longer be cancelled (EntityArchivedError). Archiving an archived
        entity changes nothing. Raises EntityNotFoundError,
        EntityNotClosedError (close it first), EntityBusyError (a confirm
        is committing on one of its seats: retry)."""
        out = c_void_p()
        _check(_lib.seatbook_admin_archive_entity(self, _b(app_id), _b(entity_id), byref(out)))
        return _take_entity_info(out)

    def entity_figures(self, app_id: str, entity_id: str) -> EntityFigures:
        """An entity's figures now (an archived entity's as they were when
        it was archived): seats sold, held and available, and the revenue
        of the sold seats per currency. Raises EntityNotFoundError."""
        out = c_void_p()
        _check(_lib.seatbook_admin_entity_figures(self, _b(app_id), _b(entity_id), byref(out)))
        try:
            v = n.EntityFiguresView()
            _check(_lib.seatbook_entity_figures_get(out, byref(v)))
            revenue = [
                Money(_s(v.revenue[i].currency), v.revenue[i].amount_minor) for i in range(v.revenue_count)
            ]
            return EntityFigures(
                _s(v.entity_id), _ENTITY_STATUS[v.status], v.sold, v.held, v.available, revenue
            )
        finally:
            _lib.seatbook_entity_figures_free(out)


_owned(Admin, _lib.seatbook_admin_free)

PaymentVerifier = Callable[[PaymentRequest], Union[bool, str, None]]


class SimulatedPayments:
    """Names the library's deterministic payment simulation, for demos and
    tests only (it checks nothing): ``Engine(..., payment=SimulatedPayments())``.
    Payment ids starting with "fail" or "decline" are declined, all others
    approved."""

    def __repr__(self) -> str:
        return "SimulatedPayments()"


class Engine(_Handle):
    """An open engine on one database file. Thread-safe.

    ``with Engine(path, ...) as engine:`` closes it at the end; App and
    Admin objects made from it then raise EngineClosedError.

    ``payment`` is required: the host's verifier, or ``SimulatedPayments()``
    for demos and tests. Without it the library refuses to open
    (InvalidConfigError). A verifier is called as ``payment(PaymentRequest)``
    and must check that the payment was made for that reservation (look it
    up at the provider; compare the metadata you attached when creating it,
    e.g. ``reservation_id``, and the amount and currency). Only ``True``
    approves; a string declines with that reason; anything else (``None``,
    ``False``, other values) declines, and so does any exception it raises,
    ``BaseException`` subclasses such as KeyboardInterrupt and SystemExit
    included (the exception is swallowed: the confirm raises
    PaymentDeclinedError). It runs on the confirming thread, possibly many
    at once, and must not call seatbook.
    """

    def __init__(
        self,
        path: str,
        *,
        admin_email: str,
        admin_password_hash: str,
        admin_jwt_secret: str,
        user_jwt_secret: str,
        argon2: Optional[Sequence[int]] = None,
        password_work_max_concurrent: int = 0,
        password_work_max_wait_ms: int = 0,
        durable: bool = True,
        hold_default_ttl_ms: int = 0,
        hold_min_ttl_ms: int = 0,
        hold_max_ttl_ms: int = 0,
        hold_max_total_ms: int = 0,
        hold_confirm_deadline_ms: int = 0,
        max_seats_per_reservation: int = 0,
        max_seats_per_bulk: int = 0,
        max_active_per_user: int = 0,
        max_held_seats_per_entity: int = 0,
        reaper_interval_ms: int = 0,
        payment: Union[PaymentVerifier, SimulatedPayments, None] = None,
        discard_unmatched_journal: bool = False,
    ) -> None:
        super().__init__(None)
        cfg = n.Config()
        cfg.admin_email = _b(admin_email)
        cfg.admin_password_hash = _b(admin_password_hash)
        cfg.admin_jwt_secret = _b(admin_jwt_secret)
        cfg.user_jwt_secret = _b(user_jwt_secret)
        if argon2 is not None:
            cfg.argon2 = n.Argon2Params(*argon2)
        cfg.password_work_max_concurrent = password_work_max_concurrent
        cfg.password_work_max_wait_ms = password_work_max_wait_ms
        cfg.durability = 0 if durable else 1
        cfg.hold_default_ttl_ms = hold_default_ttl_ms
        cfg.hold_min_ttl_ms = hold_min_ttl_ms
        cfg.hold_max_ttl_ms = hold_max_ttl_ms
        cfg.hold_max_total_ms = hold_max_total_ms
        cfg.hold_confirm_deadline_ms = hold_confirm_deadline_ms
        cfg.max_seats_per_reservation = max_seats_per_reservation
        cfg.max_seats_per_bulk = max_seats_per_bulk
        cfg.max_active_per_user = max_active_per_user
        cfg.max_held_seats_per_entity = max_held_seats_per_entity
        cfg.reaper_interval_ms = reaper_interval_ms
        cfg.discard_unmatched_journal = 1 if discard_unmatched_journal else 0
        if isinstance(payment, SimulatedPayments):
            cfg.use_simulated_payments = True
        elif payment is not None:
            if not callable(payment):
                raise TypeError("payment must be a callable or SimulatedPayments()")
            # The library calls it: kept alive by this object and by every
            # App and Admin made from it (see the module doc).
            self._keepalive = n.PAYMENT_CALLBACK(_trampoline(payment))
            cfg.payment_callback = self._keepalive
        out = c_void_p()
        _check(_lib.seatbook_engine_open(_b(path), byref(cfg), byref(out)))
        self._ptr = out

    def admin_login(self, email: str, password: str) -> str:
        """Checks the configured admin credentials and returns an admin token
        (a JWT, valid 24 h). Raises InvalidCredentialsError."""
        out = c_void_p()
        _check(_lib.seatbook_engine_admin_login(self, _b(email), _b(password), byref(out)))
        return _take_string(out)

    def admin(self, token: str) -> Admin:
        """Verifies an admin token into an :class:`Admin`."""
        out = c_void_p()
        _check(_lib.seatbook_engine_admin(self, _b(token), byref(out)))
        return Admin(out, self._keepalive)

    def app(self, app_id: str, api_key: str, origin: str) -> App:
        """Authenticates an app by id, API key and request origin into an
        :class:`App`. Raises InvalidCredentialsError, AppInactiveError,
        OriginNotAllowedError."""
        out = c_void_p()
        _check(_lib.seatbook_engine_app(self, _b(app_id), _b(api_key), _b(origin), byref(out)))
        return App(out, self._keepalive)

    def stats(self) -> Dict[str, int]:
        """The engine's counters since it opened (reserve_attempts, holds_taken,
        contention_rejections, confirms, expiries, releases,
        payment_failures, cancellations)."""
        s = n.Stats()
        _check(_lib.seatbook_engine_stats(self, byref(s)))
        return _struct_dict(s)

    def seat_keys(self) -> Dict[str, int]:
        """The lock table's seat keys: ``live`` (serving a seat now) and
        ``allocated`` (ever handed out since open). Archiving entities and
        removing seats give keys back for new seats."""
        k = n.SeatKeys()
        _check(_lib.seatbook_engine_seat_keys(self, byref(k)))
        return _struct_dict(k)

    def sweep(self) -> int:
        """Marks every ACTIVE reservation past its expiry as EXPIRED and returns
        how many (expired holds are already free for others; this makes the
        durable record agree; the background reaper does it too)."""
        count = c_size_t()
        _check(_lib.seatbook_engine_sweep(self, byref(count)))
        return count.value

    def audit(self) -> Dict[str, int]:
        """Reads the whole database back and checks the booking invariants:
        the counts, ``double_booked_seats`` and ``violations`` (0 when
        healthy) and ``clean``. A full scan: for tests, demos and operators."""
        a = n.Audit()
        _check(_lib.seatbook_engine_audit(self, byref(a)))
        return _struct_dict(a)

    def backup(self, path: str) -> None:
        """Writes a consistent copy of the database to ``path`` while the
        engine keeps serving. The copy has no journal; restore by opening
        it. Raises BackupTargetExistsError if ``path`` (or ``path +
        "-journal"``) exists."""
        _check(_lib.seatbook_engine_backup(self, _b(path)))


_owned(Engine, _lib.seatbook_engine_close)


def _trampoline(payment: PaymentVerifier) -> Callable[..., int]:
    """The C callback around ``payment``: only ``True`` approves. Nothing
    escapes it (ctypes would print the exception and return 0, which also
    declines, but without a reason)."""

    def callback(_userdata: Any, request: Any, reason: Any, capacity: int) -> int:
        try:
            try:
                r = request.contents
                answer = payment(
                    PaymentRequest(
                        _s(r.app_id), _s(r.user_id), r.reservation_id, _s(r.payment_id), r.amount_minor, _s(r.currency)
                    )
                )
                if answer is True:
                    return n.PAYMENT_APPROVE
                why = answer if isinstance(answer, str) and answer else "declined by the payment verifier"
            except BaseException as e:  # a failing verifier declines, never approves
                why = f"payment verifier raised {type(e).__name__}"
            if capacity > 0:
                data = why.encode("utf-8", "replace")[: capacity - 1]
                ctypes.memmove(reason, data + b"\0", len(data) + 1)
        except BaseException:  # noqa: S110 - even writing the reason failed
            pass
        return n.PAYMENT_DECLINE

    return callback


_RECOVERY = {0: "AS_IS", 1: "DISCARDING_JOURNAL", 2: "NOT_RECOVERABLE"}


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """What :func:`check` found. ``recovery`` is "AS_IS", "DISCARDING_JOURNAL"
    (open after moving the journal aside; its writes are lost) or
    "NOT_RECOVERABLE" (restore a backup)."""

    recovery: str
    journal_bytes: Optional[int]  # None when there is no journal file
    replays_journal: bool
    open_error: Optional[str]
    audit: Optional[Dict[str, int]]  # None when not recoverable
    violations: List[str]
    healthy: bool


def check(path: str) -> CheckReport:
    """Checks the CLOSED database at ``path`` (and its journal) on a
    temporary copy, never changing the files. Raises DatabaseNotFoundError
    or DatabaseAlreadyOpenError (a live engine has it open)."""
    out = c_void_p()
    _check(_lib.seatbook_check(_b(path), byref(out)))
    try:
        v = n.CheckView()
        _check(_lib.seatbook_check_report_get(out, byref(v)))
        violations = []
        for i in range(v.audit.violations if v.audited else 0):
            line = ctypes.c_char_p()
            _check(_lib.seatbook_check_report_violation(out, i, byref(line)))
            violations.append(line.value.decode("utf-8") if line.value else "")
        return CheckReport(
            recovery=_RECOVERY[v.recovery],
            journal_bytes=v.journal_bytes if v.journal_present else None,
            replays_journal=v.replays_journal,
            open_error=_s(v.open_error),
            audit=_struct_dict(v.audit) if v.audited else None,
            violations=violations,
            healthy=v.healthy,
        )
    finally:
        _lib.seatbook_check_report_free(out)


def hash_password(password: str, argon2: Optional[Sequence[int]] = None) -> str:
    """argon2id PHC hash for ``admin_password_hash``; argon2 = (memory_kib,
    iterations, parallelism), None for the OWASP default."""
    params = n.Argon2Params(*argon2) if argon2 is not None else None
    out = c_void_p()
    _check(_lib.seatbook_hash_password(_b(password), byref(params) if params else None, byref(out)))
    return _take_string(out)


def version() -> str:
    """The library's version, e.g. ``"0.1.0"``."""
    return str(_lib.seatbook_version().decode())
