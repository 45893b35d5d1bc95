"""Tests of the Python binding. They import whichever ``seatbook`` Python
finds, so the same tests run against the source tree and an installed wheel:

    # the source tree (what tests/ffi_python.rs does under `cargo test`):
    SEATBOOK_LIB=target/debug/libseatbook.so PYTHONPATH=bindings/python \
        python3 -m unittest discover -s bindings/python/tests
    # an installed package (.ci/run): from a directory where the source
    # package is not importable, with the venv's python and no SEATBOOK_LIB
"""

import ctypes
import gc
import os
import sys
import tempfile
import threading
import time
import unittest
import weakref

import seatbook
from seatbook import _native

FAST = (8, 1, 1)  # argon2 cost for tests only
ORIGIN = "https://event-app.com"
ADMIN_HASH = seatbook.hash_password("admin-password", FAST)


class Fixture(unittest.TestCase):
    def open_engine(self, **extra):
        extra.setdefault("payment", seatbook.SimulatedPayments())
        return seatbook.Engine(
            os.path.join(self.dir.name, f"db{len(self.engines)}.redb"),
            admin_email="admin@example.com",
            admin_password_hash=ADMIN_HASH,
            admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
            user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
            argon2=FAST,
            durable=False,
            **extra,
        )

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.engines = []
        self.engine = self.open_engine(**getattr(self, "engine_options", {}))
        self.engines.append(self.engine)
        self.admin = self.engine.admin(self.engine.admin_login("admin@example.com", "admin-password"))
        created = self.admin.create_app("event-app", "Event App", [ORIGIN])
        self.api_key = created.api_key
        seats = [seatbook.NewSeat(f"EVENT_001-A{i}", 5000, "EUR", section="A") for i in range(1, 7)]
        self.assertEqual(self.admin.create_seats("event-app", "EVENT_001", seats), 6)
        self.app = self.engine.app("event-app", self.api_key, ORIGIN)

    def tearDown(self):
        self.app.close()
        self.admin.close()
        for e in self.engines:
            e.close()
        self.dir.cleanup()

    def buyer(self, email="buyer@example.com"):
        return self.app.user(self.app.signup(email, "correct horse battery"))


class BookingFlow(Fixture):
    def test_reserve_confirm_and_queries(self):
        with self.buyer() as user:
            self.assertEqual(len(user.user_id), 32)
            seats = self.app.list_seats("EVENT_001")
            self.assertEqual([s.state for s in seats], ["AVAILABLE"] * 6)
            self.assertEqual(seats[0].section, "A")
            hold = self.app.reserve(user, ["EVENT_001-A1", "EVENT_001-A2"])
            self.assertEqual(hold.status, "ACTIVE")
            self.assertEqual(hold.total_minor, 10000)
            self.assertNotIn(hold.token, repr(hold))
            self.assertEqual(self.app.seat_counts("EVENT_001"), {"available": 4, "held": 2, "booked": 0})
            self.assertEqual(len(self.app.list_seats("EVENT_001", available_only=True)), 4)
            extended = self.app.extend(user, hold.token, 60_000)
            self.assertIsNone(extended.token)
            booking = self.app.confirm(user, hold.token, "pay_1", 10000)
            self.assertTrue(booking.booking_id.startswith("BK-"))
            self.assertEqual(booking.status, "SUCCESS")
            self.assertEqual(booking.seat_ids, ["EVENT_001-A1", "EVENT_001-A2"])
            again = self.app.confirm(user, hold.token, "pay_1", 10000)
            self.assertEqual(again.booking_id, booking.booking_id)
            self.assertEqual(self.app.booking(booking.booking_id), booking)
            self.assertEqual(self.app.reservation(user, hold.token).status, "CONFIRMED")
            self.assertEqual([b.booking_id for b in self.app.user_bookings(user)], [booking.booking_id])
            cancelled = self.app.cancel_booking(booking.booking_id)
            self.assertEqual(cancelled.status, "CANCELLED")
            self.assertIsNotNone(cancelled.cancelled_at)
        audit = self.engine.audit()
        self.assertTrue(audit["clean"])
        self.assertEqual(audit["double_booked_seats"], 0)
        stats = self.engine.stats()
        self.assertEqual(stats["confirms"], 1)
        self.assertEqual(stats["cancellations"], 1)
        self.assertEqual(self.engine.sweep(), 0)

    def test_release_frees_seats(self):
        with self.buyer() as user:
            hold = self.app.reserve(user, ["EVENT_001-A3"], ttl_ms=5000)
            self.app.release(user, hold.token)
            self.assertEqual(self.app.seat_counts("EVENT_001")["held"], 0)
            with self.assertRaises(seatbook.ReservationNotActiveError):
                self.app.release(user, hold.token)

    def test_simulated_payment_declines_fail_ids(self):
        with self.buyer() as user:
            hold = self.app.reserve(user, ["EVENT_001-A1"])
            with self.assertRaises(seatbook.PaymentDeclinedError):
                self.app.confirm(user, hold.token, "fail_card", 5000)
            self.assertEqual(self.app.seat_counts("EVENT_001")["available"], 6)


class Errors(Fixture):
    def test_one_class_per_status_all_subclassing_seatbook_error(self):
        for status in seatbook.Status:
            name = _native.lib.seatbook_status_name(int(status)).decode()
            self.assertEqual(name, "SEATBOOK_" + status.name)
            if status is seatbook.Status.OK:
                continue
            cls = seatbook.ERRORS[status]
            self.assertTrue(issubclass(cls, seatbook.SeatbookError))
            self.assertIs(cls.status, status)
        self.assertEqual(len(set(seatbook.ERRORS.values())), len(seatbook.Status) - 1)

    def test_contention_names_the_seat(self):
        with self.buyer() as a, self.buyer("rival@example.com") as b:
            self.app.reserve(a, ["EVENT_001-A2"])
            with self.assertRaises(seatbook.SeatHeldError) as ctx:
                self.app.reserve(b, ["EVENT_001-A1", "EVENT_001-A2"])
            self.assertEqual(ctx.exception.seat, "EVENT_001-A2")
            self.assertEqual(ctx.exception.status, seatbook.Status.SEAT_HELD)
            self.assertIn("EVENT_001-A2", ctx.exception.message)
            with self.assertRaises(seatbook.SeatNotFoundError):
                self.app.reserve(b, ["EVENT_001-Z9"])
            with self.assertRaises(seatbook.AmountMismatchError):
                hold = self.app.reserve(b, ["EVENT_001-A5"])
                self.app.confirm(b, hold.token, "pay", 1)

    def test_credentials_and_tokens(self):
        self.app.signup("x@example.com", "correct horse battery")
        with self.assertRaises(seatbook.EmailTakenError):
            self.app.signup(" X@Example.com", "correct horse battery")
        with self.assertRaises(seatbook.InvalidCredentialsError):
            self.app.login("x@example.com", "wrong password!")
        with self.assertRaises(seatbook.InvalidCredentialsError):
            self.engine.app("event-app", "wrong-key", ORIGIN)
        with self.assertRaises(seatbook.OriginNotAllowedError):
            self.engine.app("event-app", self.api_key, "https://evil-event-app.com")
        admin_token = self.engine.admin_login("admin@example.com", "admin-password")
        with self.assertRaises(seatbook.InvalidTokenError):
            self.app.user(admin_token)  # an admin token is not a user token
        with self.assertRaises(seatbook.InvalidTokenError):
            self.engine.admin(self.app.login("x@example.com", "correct horse battery"))

    def test_change_password_revokes_earlier_tokens(self):
        token = self.app.signup("x@example.com", "correct horse battery")
        user = self.app.user(token)
        with self.assertRaises(seatbook.InvalidCredentialsError):
            self.app.change_password(user, "wrong password!", "a brand new password")
        fresh = self.app.change_password(user, "correct horse battery", "a brand new password")
        with self.assertRaises(seatbook.InvalidTokenError):
            self.app.user(token)
        with self.assertRaises(seatbook.InvalidTokenError):
            self.app.user_bookings(user)
        self.assertEqual(self.app.user(fresh).user_id, user.user_id)
        self.app.login("x@example.com", "a brand new password")

    def test_revoked_context_has_its_own_error(self):
        token = self.app.signup("x@example.com", "correct horse battery")
        self.admin.rotate_api_key("event-app")
        with self.assertRaises(seatbook.AppContextRevokedError) as caught:
            self.app.user(token)
        self.assertEqual(caught.exception.status, seatbook.Status.APP_CONTEXT_REVOKED)
        self.assertEqual(seatbook.PasswordWorkBusyError.status, seatbook.Status.PASSWORD_WORK_BUSY)

    def test_bad_strings(self):
        with self.assertRaises(ValueError):
            self.app.list_seats("EVENT\0_001")
        with self.assertRaises(seatbook.InvalidInputError):
            self.app.list_seats("E" * (64 * 1024 + 1))
        with self.assertRaises(TypeError):
            self.app.reserve(self.buyer(), "EVENT_001-A1")

    def test_invalid_config(self):
        with self.assertRaises(seatbook.InvalidConfigError):
            seatbook.Engine(
                os.path.join(self.dir.name, "weak.redb"),
                admin_email="admin@example.com",
                admin_password_hash=ADMIN_HASH,
                admin_jwt_secret="short",
                user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
                payment=seatbook.SimulatedPayments(),
            )


class Admin(Fixture):
    def test_app_lifecycle(self):
        apps = self.admin.list_apps()
        self.assertEqual([a.app_id for a in apps], ["event-app"])
        info = self.admin.update_app("event-app", name="Renamed", allowed_origins=[ORIGIN, "https://b.example"])
        self.assertEqual(info.name, "Renamed")
        self.assertEqual(info.allowed_origins, [ORIGIN, "https://b.example"])
        self.assertFalse(self.admin.deactivate_app("event-app").active)
        with self.assertRaises(seatbook.AppInactiveError):
            self.engine.app("event-app", self.api_key, ORIGIN)
        with self.assertRaises(seatbook.AppContextRevokedError):
            self.app.list_seats("EVENT_001")  # the existing context is revoked
        self.assertTrue(self.admin.reactivate_app("event-app").active)
        new_key = self.admin.rotate_api_key("event-app")
        self.assertNotEqual(new_key, self.api_key)
        with self.assertRaises(seatbook.InvalidCredentialsError):
            self.engine.app("event-app", self.api_key, ORIGIN)
        with self.engine.app("event-app", new_key, ORIGIN) as app:
            self.assertEqual(len(app.list_seats("EVENT_001")), 6)
        with self.assertRaises(seatbook.AppNotFoundError):
            self.admin.get_app("no-such-app")
        self.assertEqual(self.admin.get_app("event-app").name, "Renamed")

    def test_seats_bulk(self):
        with self.assertRaises(seatbook.SeatAlreadyExistsError) as ctx:
            self.admin.create_seats("event-app", "EVENT_001", [{"seat_id": "EVENT_001-A1", "price_minor": 1, "currency": "EUR"}])
        self.assertEqual(ctx.exception.seat, "EVENT_001-A1")
        self.assertEqual(self.admin.remove_seats("event-app", ["EVENT_001-A6"]), 1)
        with self.buyer() as user:
            hold = self.app.reserve(user, ["EVENT_001-A5"])
            with self.assertRaises(seatbook.SeatInUseError):
                self.admin.remove_seats("event-app", ["EVENT_001-A5"])
            booking = self.app.confirm(user, hold.token, "pay_2", 5000)
        self.assertEqual(self.admin.cancel_booking(booking.booking_id).status, "CANCELLED")
        with self.assertRaises(seatbook.BookingNotCancellableError):
            self.admin.cancel_booking(booking.booking_id)


def now_ms():
    return int(time.time() * 1000)


class Entities(Fixture):
    def test_create_get_list_and_update(self):
        start = now_ms()
        created = self.admin.create_entity(
            "event-app", "SHOW-1", "Opening night", "show", starts_at=start + 86_400_000, sale_opens_at=start - 1000
        )
        self.assertEqual(created.entity_id, "SHOW-1")
        self.assertEqual((created.name, created.kind), ("Opening night", "show"))
        self.assertEqual(created.starts_at, start + 86_400_000)
        self.assertEqual(created.sale_opens_at, start - 1000)
        self.assertIsNone(created.sale_closes_at)
        self.assertIs(created.status, seatbook.EntityStatus.ON_SALE)
        self.assertEqual(created.status, "ON_SALE")
        self.assertGreaterEqual(created.created_at, start)
        self.assertEqual(self.admin.get_entity("event-app", "SHOW-1"), created)
        # The entity the fixture's seats made: named after its id, no kind.
        implicit = self.admin.get_entity("event-app", "EVENT_001")
        self.assertEqual((implicit.name, implicit.kind, implicit.sale_opens_at), ("EVENT_001", "", None))
        self.assertEqual([e.entity_id for e in self.admin.list_entities("event-app")], ["EVENT_001", "SHOW-1"])

        closes = start + 3_600_000
        updated = self.admin.update_entity(
            "event-app", "SHOW-1", name="Premiere", starts_at=None, sale_closes_at=closes
        )
        self.assertEqual(updated.name, "Premiere")
        self.assertEqual(updated.kind, "show")  # kept
        self.assertIsNone(updated.starts_at)  # cleared
        self.assertEqual(updated.sale_opens_at, start - 1000)  # kept
        self.assertEqual(updated.sale_closes_at, closes)
        self.assertEqual(updated.created_at, created.created_at)
        unchanged = self.admin.update_entity("event-app", "SHOW-1", sale_opens_at=seatbook.KEEP)
        self.assertEqual(unchanged, self.admin.get_entity("event-app", "SHOW-1"))
        self.assertEqual(unchanged.sale_opens_at, start - 1000)

        # Refusals are typed and change nothing.
        with self.assertRaises(seatbook.EntityAlreadyExistsError) as caught:
            self.admin.create_entity("event-app", "SHOW-1")
        self.assertEqual(caught.exception.status, seatbook.Status.ENTITY_ALREADY_EXISTS)
        with self.assertRaises(seatbook.EntityAlreadyExistsError):
            self.admin.create_entity("event-app", "EVENT_001")
        with self.assertRaises(seatbook.EntityNotFoundError):
            self.admin.get_entity("event-app", "NOPE")
        with self.assertRaises(seatbook.EntityNotFoundError):
            self.admin.update_entity("event-app", "NOPE", name="x")
        with self.assertRaises(seatbook.EntityNotFoundError):
            self.admin.entity_figures("event-app", "NOPE")
        with self.assertRaises(seatbook.InvalidInputError):
            self.admin.create_entity("event-app", "SHOW-2", sale_opens_at=closes, sale_closes_at=closes)
        with self.assertRaises(seatbook.InvalidInputError):
            self.admin.update_entity("event-app", "SHOW-1", sale_closes_at=start - 2000)
        with self.assertRaises(ValueError):
            self.admin.create_entity("event-app", "SHOW-2", starts_at=-1)
        with self.assertRaises(TypeError):
            self.admin.update_entity("event-app", "SHOW-1", starts_at="soon")
        with self.assertRaises(ValueError):
            self.admin.close_entity("event-app", "SHOW-1", "LATER")
        self.assertEqual(self.admin.get_entity("event-app", "SHOW-1").sale_closes_at, closes)
        self.assertEqual(len(self.admin.list_entities("event-app")), 2)

    def test_sale_window_refuses_reserves_outside_it(self):
        self.admin.create_entity("event-app", "SHOW-1", sale_opens_at=now_ms() + 3_600_000)
        self.admin.create_seats("event-app", "SHOW-1", [seatbook.NewSeat("SHOW-1-S0", 2500, "EUR")])
        with self.buyer() as user:
            with self.assertRaises(seatbook.SaleNotOpenError) as caught:
                self.app.reserve(user, ["SHOW-1-S0"])
            self.assertIn("SHOW-1", caught.exception.message)
            # A mixed request is refused whole.
            with self.assertRaises(seatbook.SaleNotOpenError):
                self.app.reserve(user, ["EVENT_001-A1", "SHOW-1-S0"])
            self.assertEqual(self.app.seat_counts("EVENT_001")["held"], 0)
            self.admin.update_entity("event-app", "SHOW-1", sale_opens_at=None)
            self.app.reserve(user, ["SHOW-1-S0"])
            self.admin.update_entity("event-app", "EVENT_001", sale_closes_at=now_ms() - 1)
            with self.assertRaises(seatbook.SaleClosedError):
                self.app.reserve(user, ["EVENT_001-A1"])

    def test_close_keeps_or_releases_holds_and_figures_follow(self):
        with self.buyer() as user:
            kept = self.app.reserve(user, ["EVENT_001-A1"])
            paid = self.app.reserve(user, ["EVENT_001-A2", "EVENT_001-A3"])
            self.app.confirm(user, paid.token, "pay_1", paid.total_minor)
            figures = self.admin.entity_figures("event-app", "EVENT_001")
            self.assertEqual(
                figures,
                seatbook.EntityFigures(
                    "EVENT_001", seatbook.EntityStatus.ON_SALE, 2, 1, 3, [seatbook.Money("EUR", 10000)]
                ),
            )
            closed = self.admin.close_entity("event-app", "EVENT_001", seatbook.HoldsOnClose.KEEP)
            self.assertIs(closed.status, seatbook.EntityStatus.CLOSED)
            with self.assertRaises(seatbook.SaleClosedError):
                self.app.reserve(user, ["EVENT_001-A4"])
            self.app.confirm(user, kept.token, "pay_2", kept.total_minor)  # still payable
            with self.assertRaises(seatbook.EntityClosedError):
                self.admin.update_entity("event-app", "EVENT_001", sale_closes_at=None)
            with self.assertRaises(seatbook.EntityClosedError):
                self.admin.create_seats("event-app", "EVENT_001", [seatbook.NewSeat("EVENT_001-Z1", 1, "EUR")])
            self.assertEqual(self.admin.update_entity("event-app", "EVENT_001", name="Sold out").name, "Sold out")
            figures = self.admin.entity_figures("event-app", "EVENT_001")
            self.assertEqual((figures.status, figures.sold, figures.held, figures.available), ("CLOSED", 3, 0, 3))
            self.assertEqual(figures.revenue, [seatbook.Money("EUR", 15000)])

            self.admin.create_seats("event-app", "OTHER", [seatbook.NewSeat("OTHER-S0", 700, "EUR")])
            hold = self.app.reserve(user, ["OTHER-S0"])
            self.admin.close_entity("event-app", "OTHER", holds=seatbook.HoldsOnClose.RELEASE)
            self.assertEqual(self.app.reservation(user, hold.token).status, "RELEASED")
            self.assertEqual(self.app.seat_counts("OTHER"), {"available": 1, "held": 0, "booked": 0})
            with self.assertRaises(seatbook.ReservationNotActiveError):
                self.app.confirm(user, hold.token, "pay_3", hold.total_minor)
        self.assertTrue(self.engine.audit()["clean"])

    def test_purge_checks_its_age_and_reports_what_it_removed(self):
        # The rules are tests/retention.rs; the engine's clock is real here.
        with self.assertRaises(seatbook.InvalidInputError):
            self.admin.purge_history(1000)
        with self.buyer() as user:
            live = self.app.reserve(user, ["EVENT_001-A1"])
            report = self.admin.purge_history(86_400_000)
            self.assertEqual(report, seatbook.PurgeReport(reservations=0, failed_attempts=0))
            self.assertEqual(self.app.reservation(user, live.token).status, "ACTIVE")

    def test_archive_takes_the_seats_out_and_keeps_the_bookings(self):
        # Busy (a confirm committing at that instant) is left to tests/archive.rs.
        with self.buyer() as user:
            paid = self.app.reserve(user, ["EVENT_001-A1"])
            booking = self.app.confirm(user, paid.token, "pay_1", paid.total_minor)
            live = self.app.reserve(user, ["EVENT_001-A2"])
            with self.assertRaises(seatbook.EntityNotClosedError) as caught:
                self.admin.archive_entity("event-app", "EVENT_001")
            self.assertEqual(caught.exception.status, seatbook.Status.ENTITY_NOT_CLOSED)
            self.assertIn("EVENT_001", caught.exception.message)
            with self.assertRaises(seatbook.EntityNotFoundError):
                self.admin.archive_entity("event-app", "NOPE")
            self.assertEqual(self.app.seat_counts("EVENT_001"), {"available": 4, "held": 1, "booked": 1})

            self.admin.close_entity("event-app", "EVENT_001")  # keeps the live hold
            keys = self.engine.seat_keys()
            archived = self.admin.archive_entity("event-app", "EVENT_001")
            self.assertEqual(self.engine.seat_keys(), {"live": keys["live"] - 6, "allocated": keys["allocated"]})
            self.assertIs(archived.status, seatbook.EntityStatus.ARCHIVED)
            self.assertEqual(archived.status, "ARCHIVED")
            self.assertEqual(self.admin.get_entity("event-app", "EVENT_001"), archived)
            self.assertEqual(self.admin.list_entities("event-app"), [archived])
            self.assertEqual(self.admin.archive_entity("event-app", "EVENT_001"), archived)  # idempotent
            self.assertEqual(self.admin.close_entity("event-app", "EVENT_001"), archived)  # unchanged

            # Its seats are gone (the kept hold released); its figures stay.
            self.assertEqual(self.app.reservation(user, live.token).status, "RELEASED")
            self.assertEqual(self.app.list_seats("EVENT_001"), [])
            self.assertEqual(self.app.seat_counts("EVENT_001"), {"available": 0, "held": 0, "booked": 0})
            with self.assertRaises(seatbook.SeatNotFoundError):
                self.app.reserve(user, ["EVENT_001-A3"])
            self.assertEqual(
                self.admin.entity_figures("event-app", "EVENT_001"),
                seatbook.EntityFigures(
                    "EVENT_001", seatbook.EntityStatus.ARCHIVED, 1, 0, 5, [seatbook.Money("EUR", 5000)]
                ),
            )

            # The booking stays readable, and is no longer cancellable.
            self.assertEqual(self.app.booking(booking.booking_id), booking)
            self.assertEqual(self.app.booking(booking.booking_id).seat_ids, ["EVENT_001-A1"])
            with self.assertRaises(seatbook.EntityArchivedError):
                self.app.cancel_booking(booking.booking_id)
            with self.assertRaises(seatbook.EntityArchivedError):
                self.admin.cancel_booking(booking.booking_id)
            self.assertEqual(self.app.booking(booking.booking_id).status, "SUCCESS")

            # No new seats or changes for it; its seat ids stay taken.
            with self.assertRaises(seatbook.EntityArchivedError):
                self.admin.create_seats("event-app", "EVENT_001", [seatbook.NewSeat("EVENT_001-Z1", 1, "EUR")])
            with self.assertRaises(seatbook.EntityArchivedError):
                self.admin.update_entity("event-app", "EVENT_001", name="Gone")
            with self.assertRaises(seatbook.SeatAlreadyExistsError):
                self.admin.create_seats("event-app", "LATER", [seatbook.NewSeat("EVENT_001-A3", 1, "EUR")])
        self.assertTrue(self.engine.audit()["clean"])

    def test_buyers_read_entities_with_their_sale_window(self):
        start = now_ms()
        opens, closes = start + 3_600_000, start + 7_200_000
        created = self.admin.create_entity(
            "event-app", "SHOW-1", "Opening night", "show", sale_opens_at=opens, sale_closes_at=closes
        )
        seen = self.app.entity("SHOW-1")
        self.assertEqual(seen, created)  # the record the admin reads
        self.assertEqual((seen.sale_opens_at, seen.sale_closes_at), (opens, closes))
        self.assertIs(seen.status, seatbook.EntityStatus.ON_SALE)
        self.assertEqual(self.app.list_entities(), self.admin.list_entities("event-app"))
        with self.assertRaises(seatbook.EntityNotFoundError) as caught:
            self.app.entity("NO-SUCH-SHOW")
        self.assertEqual(caught.exception.status, seatbook.Status.ENTITY_NOT_FOUND)
        self.assertIn("NO-SUCH-SHOW", caught.exception.message)

        # A closed entity stays listed; an archived one is left out of the
        # buyers' listing (the admin's keeps it) but still read by id.
        closed = self.admin.close_entity("event-app", "EVENT_001")
        self.assertEqual(self.app.entity("EVENT_001"), closed)
        self.assertEqual([e.entity_id for e in self.app.list_entities()], ["EVENT_001", "SHOW-1"])
        archived = self.admin.archive_entity("event-app", "EVENT_001")
        self.assertEqual(self.app.list_entities(), [seen])
        self.assertEqual(self.admin.list_entities("event-app"), [archived, seen])
        self.assertEqual(self.app.entity("EVENT_001"), archived)
        self.assertIs(self.app.entity("EVENT_001").status, seatbook.EntityStatus.ARCHIVED)

    def test_bad_enum_values_from_c_are_refused(self):
        # Below the Pythonic API: an out-of-range holds value reaches the
        # library, which refuses it without closing anything.
        out = ctypes.c_void_p()
        status = _native.lib.seatbook_admin_close_entity(self.admin, b"event-app", b"EVENT_001", 7, ctypes.byref(out))
        self.assertEqual(status, seatbook.Status.INVALID_INPUT)
        self.assertIsNone(out.value)
        raw = _native.EntityUpdateC(None, None, 3, 0)
        status = _native.lib.seatbook_admin_update_entity(
            self.admin, b"event-app", b"EVENT_001", ctypes.byref(raw), ctypes.byref(out)
        )
        self.assertEqual(status, seatbook.Status.INVALID_INPUT)
        self.assertIs(self.admin.get_entity("event-app", "EVENT_001").status, seatbook.EntityStatus.ON_SALE)


class MoneyPath(Fixture):
    def test_a_payment_id_pays_once_and_refunds_due_are_listed(self):
        with self.buyer() as user:
            one = self.app.reserve(user, ["EVENT_001-A1"])
            booking = self.app.confirm(user, one.token, "pi_once", 5000)
            two = self.app.reserve(user, ["EVENT_001-A2"])
            with self.assertRaises(seatbook.PaymentAlreadyUsedError) as ctx:
                self.app.confirm(user, two.token, "pi_once", 5000)
            self.assertEqual(ctx.exception.status, seatbook.Status.PAYMENT_ALREADY_USED)
            self.assertEqual(int(ctx.exception.status), 30)
            # The retry of the first confirm still gets its booking.
            self.assertEqual(self.app.confirm(user, one.token, "pi_once", 5000), booking)
        self.assertEqual(self.app.refunds_due(), [])
        self.assertEqual(self.admin.refunds_due("event-app"), [])
        with self.assertRaises(seatbook.AppNotFoundError):
            self.admin.refunds_due("no-such-app")
        with self.assertRaises(seatbook.RefundNotDueError):
            self.admin.settle_refund(booking.booking_id)
        self.assertEqual(int(seatbook.Status.REFUND_DUE), 31)
        self.assertEqual(int(seatbook.Status.REFUND_DUE_UNRECORDED), 32)


class Quotas(Fixture):
    engine_options = {"max_active_per_user": 2, "max_held_seats_per_entity": 3}

    def test_quotas_refuse_and_the_admin_sees_hold_counts(self):
        with self.buyer() as user:
            self.app.reserve(user, ["EVENT_001-A1", "EVENT_001-A2"])
            with self.assertRaises(seatbook.TooManySeatsHeldError) as ctx:
                self.app.reserve(user, ["EVENT_001-A3", "EVENT_001-A4"])
            self.assertEqual(ctx.exception.status, 39)
            self.assertIn("EVENT_001", ctx.exception.message)
            hold = self.app.reserve(user, ["EVENT_001-A3"])
            with self.assertRaises(seatbook.TooManyReservationsError) as ctx:
                self.app.reserve(user, ["EVENT_001-A5"])
            self.assertEqual(ctx.exception.status, 38)
            self.assertEqual(self.app.seat_counts("EVENT_001")["held"], 3)
            self.assertEqual(
                self.admin.user_holds("event-app"), [seatbook.UserHolds(user.user_id, 2, 3)]
            )
            self.app.release(user, hold.token)
            self.assertEqual(self.admin.user_holds("event-app")[0].reservations, 1)
            self.app.reserve(user, ["EVENT_001-A5"])
        with self.assertRaises(seatbook.AppNotFoundError):
            self.admin.user_holds("no-such-app")


class PaymentCallback(Fixture):
    calls = []

    @property
    def engine_options(self):
        def verify(req):
            PaymentCallback.calls.append(req)
            if req.payment_id.startswith("boom"):
                raise RuntimeError("verifier bug")
            if req.amount_minor > 5000:
                return "over the limit"
            return True

        return {"payment": verify}

    def test_callback_approves_and_declines_with_reason(self):
        PaymentCallback.calls.clear()
        with self.buyer() as user:
            one = self.app.reserve(user, ["EVENT_001-A1"])
            self.app.confirm(user, one.token, "pay_ok", 5000)
            two = self.app.reserve(user, ["EVENT_001-A2", "EVENT_001-A3"])
            with self.assertRaises(seatbook.PaymentDeclinedError) as ctx:
                self.app.confirm(user, two.token, "pay_big", 10000)
            self.assertIn("over the limit", ctx.exception.message)
            three = self.app.reserve(user, ["EVENT_001-A4"])
            with self.assertRaises(seatbook.PaymentDeclinedError):
                self.app.confirm(user, three.token, "boom", 5000)  # a raising verifier declines
        self.assertEqual([c.payment_id for c in PaymentCallback.calls], ["pay_ok", "pay_big", "boom"])
        self.assertEqual(PaymentCallback.calls[0].currency, "EUR")
        self.assertEqual(self.engine.stats()["payment_failures"], 2)


class ExplicitVerifier(Fixture):
    def engine_kwargs(self, name, **extra):
        return dict(
            path=os.path.join(self.dir.name, name),
            admin_email="admin@example.com",
            admin_password_hash=ADMIN_HASH,
            admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
            user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
            argon2=FAST,
            durable=False,
            **extra,
        )

    def test_no_verifier_is_refused(self):
        with self.assertRaises(seatbook.InvalidConfigError) as ctx:
            seatbook.Engine(**self.engine_kwargs("none.redb"))
        self.assertIn("no payment verifier", ctx.exception.message)
        with self.assertRaises(TypeError):
            seatbook.Engine(**self.engine_kwargs("odd.redb", payment="approve everything"))

    def test_simulation_is_picked_by_name(self):
        with self.buyer() as user:
            hold = self.app.reserve(user, ["EVENT_001-A1"])
            with self.assertRaises(seatbook.PaymentDeclinedError):
                self.app.confirm(user, hold.token, "fail_1", 5000)
            hold = self.app.reserve(user, ["EVENT_001-A1"])
            self.assertEqual(self.app.confirm(user, hold.token, "pay_1", 5000).status, "SUCCESS")


class _Boom(BaseException):
    pass


def _raise(exc):
    raise exc


class OnlyTrueApproves(Fixture):
    answers = {
        "none": lambda: None,
        "false": lambda: False,
        "one": lambda: 1,
        "truthy-string": lambda: "yes",
        "empty-string": lambda: "",
        "object": lambda: object(),
        "keyboard-interrupt": lambda: _raise(KeyboardInterrupt()),
        "system-exit": lambda: _raise(SystemExit(0)),
        "base-exception": lambda: _raise(_Boom()),
        "value-error": lambda: _raise(ValueError("bug")),
        "true": lambda: True,
    }

    @property
    def engine_options(self):
        return {"payment": lambda req: OnlyTrueApproves.answers[req.payment_id]()}

    def test_only_true_approves_and_everything_else_declines(self):
        with self.buyer() as user:
            for payment_id in self.answers:
                hold = self.app.reserve(user, ["EVENT_001-A1"])
                if payment_id == "true":
                    self.assertEqual(self.app.confirm(user, hold.token, payment_id, 5000).status, "SUCCESS")
                    continue
                with self.assertRaises(seatbook.PaymentDeclinedError, msg=payment_id) as ctx:
                    self.app.confirm(user, hold.token, payment_id, 5000)
                if payment_id == "truthy-string":
                    self.assertIn("yes", ctx.exception.message)
                if payment_id == "keyboard-interrupt":
                    self.assertIn("KeyboardInterrupt", ctx.exception.message)
        self.assertEqual(self.engine.stats()["payment_failures"], len(self.answers) - 1)
        self.assertEqual(self.engine.stats()["confirms"], 1)


class BindingLifetimes(Fixture):
    def test_the_verifier_lives_while_any_handle_made_from_the_engine_lives(self):
        def verify(req):
            return True

        watch = weakref.ref(verify)
        engine = self.open_engine(payment=verify)
        del verify
        admin = engine.admin(engine.admin_login("admin@example.com", "admin-password"))
        created = admin.create_app("life-app", "Life App", [ORIGIN])
        app = engine.app("life-app", created.api_key, ORIGIN)
        engine.close()
        del engine
        gc.collect()
        self.assertIsNotNone(watch(), "the admin and app handles keep the verifier")
        admin.close()
        gc.collect()
        self.assertIsNotNone(watch(), "the app handle keeps the verifier")
        del app  # released by __del__ as well as by close()
        gc.collect()
        self.assertIsNone(watch(), "released once the last handle is gone")

    def test_concurrent_close_frees_each_handle_exactly_once(self):
        frees = []
        real_free = seatbook.User._free

        def counting_free(ptr):
            frees.append(ptr.value)
            real_free(ptr)

        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            seatbook.User._free = staticmethod(counting_free)
            token = self.app.signup("closer@example.com", "correct horse battery")
            for _ in range(30):
                user = self.app.user(token)
                barrier = threading.Barrier(8)

                def close(u=user, b=barrier):
                    b.wait()
                    u.close()

                threads = [threading.Thread(target=close) for _ in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                user.close()
                del user  # __del__ after close: no second free
                gc.collect()
        finally:
            seatbook.User._free = staticmethod(real_free)
            sys.setswitchinterval(old_interval)
        self.assertEqual(len(frees), 30)

    def test_close_returns_only_once_the_handle_is_freed(self):
        inside, release, freed = threading.Event(), threading.Event(), []
        real_free = seatbook.User._free

        def slow_free(ptr):
            inside.set()
            release.wait()
            real_free(ptr)
            freed.append(ptr.value)

        user = self.buyer("slow@example.com")
        seatbook.User._free = staticmethod(slow_free)
        try:
            first = threading.Thread(target=user.close)
            first.start()
            self.assertTrue(inside.wait(10))
            second_returned = []
            second = threading.Thread(target=lambda: (user.close(), second_returned.append(len(freed))))
            second.start()
            second.join(0.3)
            self.assertTrue(second.is_alive(), "the second close waits for the first to free")
            release.set()
            first.join()
            second.join()
            self.assertEqual(second_returned, [1], "the second close returned after the free, without freeing")
        finally:
            release.set()
            seatbook.User._free = staticmethod(real_free)


class Lifecycle(Fixture):
    def test_close_makes_derived_handles_fail(self):
        user = self.buyer()
        self.engine.close()
        self.assertTrue(self.engine.closed)
        with self.assertRaises(seatbook.EngineClosedError):
            self.app.list_seats("EVENT_001")
        with self.assertRaises(seatbook.EngineClosedError):
            self.admin.list_apps()
        with self.assertRaises(seatbook.NullParameterError):
            self.engine.stats()  # a closed Python handle is passed as NULL
        user.close()
        user.close()  # closing twice is harmless in Python

    def test_with_closes_handles_and_the_file_reopens(self):
        path = os.path.join(self.dir.name, "reopen.redb")
        kwargs = dict(
            admin_email="admin@example.com",
            admin_password_hash=ADMIN_HASH,
            admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
            user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
            argon2=FAST,
            durable=False,
            payment=seatbook.SimulatedPayments(),
        )
        with seatbook.Engine(path, **kwargs) as engine:
            with self.assertRaises(seatbook.DatabaseAlreadyOpenError):
                seatbook.Engine(path, **kwargs)
            admin = engine.admin(engine.admin_login("admin@example.com", "admin-password"))
        self.assertTrue(engine.closed)
        # close released the file although `admin` is still open
        with seatbook.Engine(path, **kwargs) as again:
            self.assertEqual(again.audit()["seats"], 0)
        with self.assertRaises(seatbook.EngineClosedError):
            admin.list_apps()
        admin.close()

    def test_threads_race_one_winner_per_seat(self):
        users = [self.buyer(f"racer{i}@example.com") for i in range(6)]
        wins, losses = [], []
        barrier = threading.Barrier(len(users))

        def race(user):
            barrier.wait()
            for seat in ("EVENT_001-A1", "EVENT_001-A2"):
                try:
                    wins.append((seat, self.app.reserve(user, [seat])))
                except seatbook.SeatHeldError as e:
                    losses.append(e.seat)

        threads = [threading.Thread(target=race, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(s for s, _ in wins), ["EVENT_001-A1", "EVENT_001-A2"])
        self.assertEqual(len(losses), 2 * len(users) - 2)
        for u in users:
            u.close()

    def test_version(self):
        self.assertRegex(seatbook.version(), r"^\d+\.\d+\.\d+")


class BackupAndCheck(Fixture):
    def test_backup_restores_and_checks_healthy(self):
        with self.buyer() as user:
            hold = self.app.reserve(user, ["EVENT_001-A1", "EVENT_001-A2"])
            booking = self.app.confirm(user, hold.token, "pay_1", 10000)
        copy = os.path.join(self.dir.name, "copy.redb")
        self.engine.backup(copy)
        with self.assertRaises(seatbook.BackupTargetExistsError) as e:
            self.engine.backup(copy)
        self.assertEqual(e.exception.status, seatbook.Status.BACKUP_TARGET_EXISTS)
        self.assertTrue(os.path.exists(copy + "-journal"))  # its own, empty

        report = seatbook.check(copy)
        self.assertEqual(report.recovery, "AS_IS")
        self.assertIsNotNone(report.journal_bytes)
        self.assertFalse(report.replays_journal)
        self.assertIsNone(report.open_error)
        self.assertTrue(report.healthy)
        self.assertEqual(report.violations, [])
        self.assertEqual(report.audit["live_bookings"], 1)
        self.assertTrue(report.audit["clean"])

        # Restore: open the copy like any database.
        restored = seatbook.Engine(
            copy,
            admin_email="admin@example.com",
            admin_password_hash=ADMIN_HASH,
            admin_jwt_secret="an-admin-secret-of-at-least-32-bytes!!",
            user_jwt_secret="a-user-secret-of-at-least-32-bytes!!!!",
            argon2=FAST,
            payment=seatbook.SimulatedPayments(),
        )
        self.engines.append(restored)
        with restored.app("event-app", self.api_key, ORIGIN) as app:
            self.assertEqual(app.booking(booking.booking_id), booking)
        self.assertTrue(restored.audit()["clean"])

    def test_check_refuses_live_and_missing_databases(self):
        with self.assertRaises(seatbook.DatabaseAlreadyOpenError):
            seatbook.check(os.path.join(self.dir.name, "db0.redb"))
        with self.assertRaises(seatbook.DatabaseNotFoundError):
            seatbook.check(os.path.join(self.dir.name, "nothing.redb"))
        damaged = os.path.join(self.dir.name, "damaged.redb")
        with open(damaged, "wb") as f:
            f.write(b"\xa5" * 8192)
        report = seatbook.check(damaged)
        self.assertEqual(report.recovery, "NOT_RECOVERABLE")
        self.assertIsNotNone(report.open_error)
        self.assertIsNone(report.audit)
        self.assertFalse(report.healthy)


if __name__ == "__main__":
    unittest.main()
