"""Not a test module (unittest skips it): code a user would write, checked
by `mypy --strict` against the INSTALLED package in .ci/run. It proves that
the wheel ships py.typed and that the public API is fully typed, including
the exception classes generated per status. Never run."""

from typing import Dict, List, Optional

import seatbook


def verifier(request: seatbook.PaymentRequest) -> bool:
    return request.amount_minor > 0 and request.currency == "EUR"


def flow(path: str) -> Optional[str]:
    with seatbook.Engine(
        path,
        admin_email="admin@example.com",
        admin_password_hash=seatbook.hash_password("admin-password", (8, 1, 1)),
        admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
        user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
        payment=verifier,
    ) as engine:
        admin: seatbook.Admin = engine.admin(engine.admin_login("admin@example.com", "admin-password"))
        created: seatbook.CreatedApp = admin.create_app("event-app", "Event App", ["https://event-app.com"])
        count: int = admin.create_seats("event-app", "E1", [seatbook.NewSeat("E1-A1", 5000, "EUR")])
        show: seatbook.EntityInfo = admin.create_entity("event-app", "SHOW-1", "Premiere", "show", sale_opens_at=1)
        opens: Optional[int] = admin.update_entity(
            "event-app", "SHOW-1", name="Opening night", starts_at=None, sale_closes_at=seatbook.KEEP
        ).sale_opens_at
        entities: List[seatbook.EntityInfo] = admin.list_entities("event-app")
        holds = seatbook.HoldsOnClose.RELEASE
        closed: seatbook.EntityStatus = admin.close_entity("event-app", show.entity_id, holds).status
        archived: seatbook.EntityInfo = admin.archive_entity("event-app", show.entity_id)
        purged: seatbook.PurgeReport = admin.purge_history(86_400_000)
        figures: seatbook.EntityFigures = admin.entity_figures("event-app", "E1")
        revenue: List[seatbook.Money] = figures.revenue
        print(opens, len(entities), closed, archived.status, purged.reservations, revenue, admin.get_entity("event-app", "E1").starts_at)
        app: seatbook.App = engine.app("event-app", created.api_key, "https://event-app.com")
        user: seatbook.User = app.user(app.signup("buyer@example.com", "correct horse battery"))
        seats: List[seatbook.Seat] = app.list_seats("E1", available_only=True)
        counts: Dict[str, int] = app.seat_counts("E1")
        seen: seatbook.EntityInfo = app.entity("E1")
        on_offer: List[seatbook.EntityInfo] = app.list_entities()
        print(seen.sale_opens_at, [e.status for e in on_offer])
        try:
            hold: seatbook.Reservation = app.reserve(user, [s.seat_id for s in seats])
            assert hold.token is not None
            booking: seatbook.Booking = app.confirm(user, hold.token, "pay_1", hold.total_minor)
            return booking.booking_id
        except seatbook.SeatHeldError as e:
            return e.seat
        except seatbook.SeatbookError as e:
            status: seatbook.Status = e.status if e.status is not None else seatbook.Status.OK
            return f"{status.name}: {e.message} ({count}, {counts})"
        finally:
            report: seatbook.CheckReport = seatbook.check(path + ".copy")
            print(report.healthy, engine.stats(), seatbook.version())
