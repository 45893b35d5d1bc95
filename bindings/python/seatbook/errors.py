"""Exceptions: one class per seatbook status, all subclasses of SeatbookError."""

import enum
from typing import Dict, Optional, Type


class Status(enum.IntEnum):
    """The C API's status codes (values of the Rust ``ErrorCode``)."""

    OK = 0
    INVALID_INPUT = 1
    INVALID_CONFIG = 2
    DATABASE_ALREADY_OPEN = 3
    STORAGE = 4
    INVALID_CREDENTIALS = 5
    INVALID_TOKEN = 6
    TOKEN_EXPIRED = 7
    APP_INACTIVE = 8
    ORIGIN_NOT_ALLOWED = 9
    APP_NOT_FOUND = 10
    APP_ALREADY_EXISTS = 11
    EMAIL_TAKEN = 12
    SEAT_NOT_FOUND = 13
    SEAT_ALREADY_EXISTS = 14
    SEAT_BOOKED = 15
    SEAT_HELD = 16
    RESERVATION_NOT_FOUND = 17
    RESERVATION_NOT_ACTIVE = 18
    HOLD_EXPIRED = 19
    HOLD_LIMIT_EXCEEDED = 20
    CONFIRM_IN_PROGRESS = 21
    AMOUNT_MISMATCH = 22
    PAYMENT_DECLINED = 23
    PAYMENT_CONFLICT = 24
    BOOKING_NOT_FOUND = 25
    BOOKING_NOT_CANCELLABLE = 26
    SEAT_IN_USE = 27
    CAPACITY_EXCEEDED = 28
    RANDOM_FAILURE = 29
    PAYMENT_ALREADY_USED = 30
    REFUND_DUE = 31
    REFUND_DUE_UNRECORDED = 32
    REFUND_NOT_DUE = 33
    TOO_MANY_RESERVATIONS = 38
    TOO_MANY_SEATS_HELD = 39
    APP_CONTEXT_REVOKED = 41
    PASSWORD_WORK_BUSY = 42
    JOURNAL_MISMATCH = 47
    JOURNAL_MISSING = 48
    JOURNAL_CORRUPTED = 49
    UNSUPPORTED_FORMAT = 50
    STORAGE_POISONED = 53
    BACKUP_TARGET_EXISTS = 56
    DATABASE_NOT_FOUND = 57
    STORAGE_CORRUPTED = 60
    HASHING_FAILED = 65
    SIGNING_FAILED = 66
    SALE_NOT_OPEN = 67
    SALE_CLOSED = 68
    ENTITY_NOT_FOUND = 69
    ENTITY_ALREADY_EXISTS = 70
    ENTITY_CLOSED = 71
    ENTITY_ARCHIVED = 72
    ENTITY_NOT_CLOSED = 73
    ENTITY_BUSY = 74
    NULL_PARAMETER = 100
    INVALID_UTF8 = 101
    PANIC = 102
    ENGINE_CLOSED = 103
    INVALID_HANDLE = 104


class SeatbookError(Exception):
    """A failed seatbook call.

    Attributes: ``status`` (a :class:`Status`), ``message`` (the library's
    text, never a secret) and ``seat`` (the seat that blocked a reserve or a
    bulk seat operation, else ``None``).
    """

    status: Optional[Status] = None

    def __init__(self, status: int, message: str, seat: Optional[str] = None) -> None:
        super().__init__(f"{Status(status).name}: {message}")
        self.status = Status(status)
        self.message = message
        self.seat = seat


def _class_name(status: Status) -> str:
    return "".join(part.capitalize() for part in status.name.split("_")) + "Error"


#: status -> exception class, e.g. Status.SEAT_HELD -> SeatHeldError
ERRORS: Dict[Status, Type[SeatbookError]] = {}
for _status in Status:
    if _status is Status.OK:
        continue
    _cls = type(_class_name(_status), (SeatbookError,), {"status": _status, "__module__": __name__})
    ERRORS[_status] = _cls
    globals()[_cls.__name__] = _cls


def __getattr__(name: str) -> Type[SeatbookError]:
    """Only for type checkers: the classes above are made at import time
    (one per Status), so a checker cannot see them; this tells it that
    any other name of this module is an error class. At run time every
    real class is found before this is called, so it only raises."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def error_for(status: int, message: str, seat: Optional[str] = None) -> SeatbookError:
    """The exception instance for a status."""
    cls: Type[SeatbookError] = SeatbookError
    if status in Status.__members__.values():
        cls = ERRORS.get(Status(status), SeatbookError)
    return cls(status, message, seat)


__all__ = ["Status", "SeatbookError", "ERRORS", "error_for"]
__all__ += [c.__name__ for c in ERRORS.values()]
