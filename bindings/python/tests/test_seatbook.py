"""Tests of the Python binding. Run with SEATBOOK_LIB=/path/to/libseatbook.so
python3 -m unittest discover -s bindings/python/tests -t bindings/python"""

import os
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import seatbook  # noqa: E402
from seatbook import _native  # noqa: E402

FAST = (8, 1, 1)  # argon2 cost for tests only
ORIGIN = "https://event-app.com"
ADMIN_HASH = seatbook.hash_password("admin-password", FAST)


class Fixture(unittest.TestCase):
    def open_engine(self, **extra):
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
        with self.assertRaises(seatbook.SeatbookError):
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


if __name__ == "__main__":
    unittest.main()
