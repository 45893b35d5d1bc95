//! Reserve attempts through the public API, and what authentication costs.
//!
//! - `api/reserve-hot-seat/{1,2,4,8}`: authenticated app context and user
//!   sessions (one per thread) racing `AppContext::reserve` for one seat
//!   that is already held: every attempt is a `SeatHeld` rejection, decided
//!   in memory. Attempts per second.
//! - `api/auth/*`: one `Engine::app` authentication (SHA-256 of the key,
//!   origin normalisation), one user JWT verification (`AppContext::user`,
//!   HS256), and the per-call check a cached context and session pay.

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seatbook::{Durability, Engine, ReserveError, SystemClock};
use seatbook_testkit::bench;
use seatbook_testkit::bench::{Template, app, hot_seat, run_threads};

fn reserve_hot_seat(c: &mut Criterion) {
    // Keep the fixture whole: it owns the engine and its directory.
    let fixture = hot_seat(1_000, 8);
    let (ctx, sessions, hot) = (&fixture.ctx, &fixture.sessions, &fixture.seat);
    let mut group = c.benchmark_group("api/reserve-hot-seat");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for threads in [1, 2, 4, 8] {
        group.bench_function(BenchmarkId::from_parameter(threads), |b| {
            b.iter_custom(|iters| {
                run_threads(threads, iters, |t, n| {
                    let session = &sessions[t];
                    let seats = [hot.as_str()];
                    for _ in 0..n {
                        match ctx.reserve(session, &seats, None) {
                            Err(ReserveError::SeatHeld(_)) => {}
                            other => panic!("expected SeatHeld, got {other:?}"),
                        }
                    }
                })
            });
        });
    }
    group.finish();
}

fn auth(c: &mut Criterion) {
    let template = Template::build(10, Arc::new(SystemClock));
    let (_dir, path) = template.copy();
    let engine = Engine::open(
        &path,
        bench::config(Durability::None, true, Arc::new(SystemClock)),
    )
    .expect("open");
    let ctx = app(&engine, &template.api_key);
    let token = ctx
        .signup("jwt@bench.test", "buyer-password")
        .expect("signup");
    let mut group = c.benchmark_group("api/auth");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("app-context", |b| {
        b.iter(|| app(&engine, &template.api_key));
    });
    group.bench_function("user-jwt-verify", |b| {
        b.iter(|| ctx.user(token.expose()).expect("verify"));
    });
    let session = ctx.user(token.expose()).expect("verify");
    group.bench_function("cached-context-check", |b| {
        // What every call on a cached context and session pays for auth
        // (one atomic load and a clock read): a reserve of no seats is
        // refused right after the check.
        b.iter(|| ctx.reserve(&session, &[], None).expect_err("no seats"));
    });
    group.finish();
}

criterion_group!(benches, reserve_hot_seat, auth);
criterion_main!(benches);
