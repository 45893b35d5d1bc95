"""seatbook for Python: a ctypes binding over the seatbook C library.

    import seatbook

    fast = (8, 1, 1)  # argon2 cost for tests only
    with seatbook.Engine(
        "seats.redb",
        admin_email="admin@example.com",
        admin_password_hash=seatbook.hash_password("admin-password", fast),
        admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
        user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
        argon2=fast,
        payment=seatbook.SimulatedPayments(),  # demos and tests only
    ) as engine, engine.admin(engine.admin_login("admin@example.com", "admin-password")) as admin:
        created = admin.create_app("event-app", "Event App", ["https://event-app.com"])
        ...

Every failure raises a subclass of :class:`SeatbookError` (one per status,
e.g. :class:`SeatHeldError`) carrying ``.status``, ``.message`` and ``.seat``.
"""

from .engine import (
    Admin,
    App,
    AppInfo,
    Booking,
    CheckReport,
    CreatedApp,
    Engine,
    EntityFigures,
    EntityInfo,
    EntityStatus,
    HoldsOnClose,
    KEEP,
    Money,
    NewSeat,
    PaymentRequest,
    PurgeReport,
    Reservation,
    Seat,
    SimulatedPayments,
    User,
    check,
    UserHolds,
    hash_password,
    version,
)
from .errors import *  # noqa: F401,F403  (SeatbookError, Status and one class per status)
from .errors import __all__ as _error_names
from .errors import __getattr__  # noqa: F401  (type checkers: the generated error classes)

__all__ = [
    "Admin",
    "App",
    "AppInfo",
    "Booking",
    "CheckReport",
    "CreatedApp",
    "Engine",
    "EntityFigures",
    "EntityInfo",
    "EntityStatus",
    "HoldsOnClose",
    "KEEP",
    "Money",
    "NewSeat",
    "PaymentRequest",
    "PurgeReport",
    "Reservation",
    "Seat",
    "SimulatedPayments",
    "User",
    "check",
    "UserHolds",
    "hash_password",
    "version",
    "Status",
    "SeatbookError",
    "ERRORS",
    "error_for",
]
__all__ += [name for name in _error_names if name not in __all__]  # one class per status
