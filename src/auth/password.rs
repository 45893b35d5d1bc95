//! Password hashing with argon2id.
//!
//! Owns the argon2id cost parameters, hashing a password to a PHC string,
//! verifying a password against a stored PHC string, and the dummy verify
//! that keeps login timing identical whether or not the account exists.
//!
//! It must never log, `Display` or return in an error a password or a hash,
//! and must never panic or abort on a malformed or hostile PHC string: the
//! cost parameters read from a PHC string are capped before any memory is
//! allocated for them.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// Upper bound on the memory cost accepted from parameters or a PHC string
/// (1 GiB). argon2 allocates `memory_kib` KiB up front, and an allocation
/// failure aborts the process, so a corrupted stored hash must not be able
/// to ask for terabytes.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Upper bound on iterations: beyond this a single verify would take minutes,
/// which is a denial of service rather than a security setting.
const MAX_ITERATIONS: u32 = 256;
/// Upper bound on lanes; lanes are computed sequentially here, so more lanes
/// only cost memory bookkeeping.
const MAX_PARALLELISM: u32 = 64;

/// The password the dummy hash is made from. Its value is irrelevant: no
/// caller ever learns whether a dummy verify matched.
const DUMMY_PASSWORD: &str = "seatbook-dummy-password-for-timing";

/// Argon2id cost parameters.
///
/// `Default` is the OWASP minimum: `memory_kib` 19456 (19 MiB), `iterations`
/// 2, `parallelism` 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory cost in KiB. At least `8 * parallelism`, at most 1 GiB.
    pub memory_kib: u32,
    /// Number of passes over the memory. At least 1, at most 256.
    pub iterations: u32,
    /// Number of lanes. At least 1, at most 64.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// The cheapest parameters argon2 accepts: 8 KiB, 1 iteration, 1 lane.
    ///
    /// FOR TESTS ONLY. These make password hashes trivially brute-forceable;
    /// never use them for real accounts.
    #[must_use]
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn to_argon2(self) -> Result<Params, PasswordHashError> {
        if !within_caps(self.memory_kib, self.iterations, self.parallelism) {
            return Err(PasswordHashError::InvalidParams);
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|_| PasswordHashError::InvalidParams)
    }
}

fn within_caps(memory_kib: u32, iterations: u32, parallelism: u32) -> bool {
    memory_kib <= MAX_MEMORY_KIB && iterations <= MAX_ITERATIONS && parallelism <= MAX_PARALLELISM
}

/// Error when hashing a password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    /// The cost parameters are out of range. Also reported if the operating
    /// system's random number generator fails while making the salt, the
    /// only other way hashing with valid parameters can fail.
    #[error("invalid argon2 parameters")]
    InvalidParams,
}

/// Hashes a password to an argon2id PHC string with a fresh random salt.
///
/// Hosts use this to produce the admin password hash for the configuration.
///
/// # Errors
///
/// [`PasswordHashError::InvalidParams`] if `params` are out of range.
pub fn hash_password(password: &str, params: &Argon2Params) -> Result<String, PasswordHashError> {
    hash_with(&argon2id(params.to_argon2()?), password)
}

fn argon2id(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String, PasswordHashError> {
    argon2
        .hash_password(password.as_bytes())
        .map(|phc| phc.to_string())
        .map_err(|_| PasswordHashError::InvalidParams)
}

/// Parses `phc` as an argon2 PHC string whose costs are within our caps and
/// which carries both a salt and a hash; `None` otherwise.
fn parse_phc(phc: &str) -> Option<PasswordHash> {
    let parsed = PasswordHash::new(phc).ok()?;
    Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    if let Some(version) = parsed.version {
        Version::try_from(version).ok()?;
    }
    let params = Params::try_from(&parsed).ok()?;
    if !within_caps(params.m_cost(), params.t_cost(), params.p_cost()) {
        return None;
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return None;
    }
    Some(parsed)
}

/// Upper bounds on the cost of the configured admin hash, checked at open.
/// The admin login is reachable without credentials, so its verify must
/// not be able to ask for more than 256 MiB or a minutes-long run.
const MAX_ADMIN_MEMORY_KIB: u32 = 256 * 1024;
const MAX_ADMIN_ITERATIONS: u32 = 64;
const MAX_ADMIN_PARALLELISM: u32 = 16;

/// Bounds on concurrent password work (argon2 hashes and verifies).
///
/// Each argon2 run allocates `memory_kib` KiB (19 MiB by default), so a
/// burst of logins could otherwise exhaust memory. At most
/// `max_concurrent` runs at once; an excess caller waits for a turn at
/// most `max_wait`, then gets a `Busy` error (`LoginError::Busy`,
/// `SignupError::Busy`, `PasswordChangeError::Busy`; C status
/// `SEATBOOK_PASSWORD_WORK_BUSY`) with nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordWork {
    /// Most argon2 runs at once, 1..=1024 (default: the number of cores the
    /// process may use, as `std::thread::available_parallelism` reports).
    pub max_concurrent: usize,
    /// Longest wait for a turn, at most 60 s (default 5 s; zero means
    /// "do not wait").
    pub max_wait: std::time::Duration,
}

impl Default for PasswordWork {
    fn default() -> Self {
        Self {
            max_concurrent: std::thread::available_parallelism().map_or(1, usize::from),
            max_wait: std::time::Duration::from_secs(5),
        }
    }
}

impl PasswordWork {
    /// Largest accepted `max_concurrent`.
    pub(crate) const MAX_CONCURRENT: usize = 1024;
    /// Largest accepted `max_wait`.
    pub(crate) const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

    pub(crate) fn is_valid(&self) -> bool {
        (1..=Self::MAX_CONCURRENT).contains(&self.max_concurrent) && self.max_wait <= Self::MAX_WAIT
    }
}

/// No turn for password work came within `PasswordWork::max_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

/// Hashing a password failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashFailure {
    /// No turn within the wait bound.
    Busy,
    /// The OS random generator failed (the parameters were validated).
    Failed,
}

/// A counting semaphore: the turns for argon2 runs.
struct Turns {
    free: parking_lot::Mutex<usize>,
    freed: parking_lot::Condvar,
    max_wait: std::time::Duration,
}

/// One taken turn; given back on drop.
struct Turn<'a>(&'a Turns);

impl Turns {
    fn take(&self) -> Result<Turn<'_>, Busy> {
        let deadline = std::time::Instant::now() + self.max_wait;
        let mut free = self.free.lock();
        while *free == 0 {
            if self.freed.wait_until(&mut free, deadline).timed_out() && *free == 0 {
                return Err(Busy);
            }
        }
        *free -= 1;
        Ok(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}

/// Hashes and verifies passwords with fixed argon2id parameters, at most
/// `PasswordWork::max_concurrent` at once.
pub(crate) struct PasswordHasher {
    /// Argon2id with the configured costs, for new hashes. For verifying,
    /// the costs, variant and version come from the PHC string instead.
    argon2: Argon2<'static>,
    /// A PHC string made with the same parameters as real hashes, so a
    /// dummy verify costs what a real one costs.
    dummy_phc: String,
    turns: Turns,
    /// argon2 runs in progress (for the cap's tests) and the most seen.
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    /// The `(m, t, p)` of every argon2 run, for the timing tests.
    #[cfg(test)]
    runs: parking_lot::Mutex<Vec<(u32, u32, u32)>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The dummy hash is harmless, but keeping hashes out of Debug output
        // altogether means nobody has to reason about which ones are.
        let params = self.argon2.params();
        f.debug_struct("PasswordHasher")
            .field("memory_kib", &params.m_cost())
            .field("iterations", &params.t_cost())
            .field("parallelism", &params.p_cost())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Validates `params` and precomputes the dummy hash.
    ///
    /// # Errors
    ///
    /// [`PasswordHashError::InvalidParams`] if `params` are out of range
    /// (`work` is validated by the caller).
    pub(crate) fn new(params: Argon2Params, work: PasswordWork) -> Result<Self, PasswordHashError> {
        let argon2 = argon2id(params.to_argon2()?);
        let dummy_phc = hash_with(&argon2, DUMMY_PASSWORD)?;
        Ok(Self {
            argon2,
            dummy_phc,
            turns: Turns {
                free: parking_lot::Mutex::new(work.max_concurrent.max(1)),
                freed: parking_lot::Condvar::new(),
                max_wait: work.max_wait,
            },
            running: std::sync::atomic::AtomicUsize::new(0),
            peak: std::sync::atomic::AtomicUsize::new(0),
            #[cfg(test)]
            runs: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// Runs one argon2 computation with costs `(m, t, p)` inside a turn.
    fn run<T>(&self, cost: (u32, u32, u32), work: impl FnOnce() -> T) -> Result<T, Busy> {
        use std::sync::atomic::Ordering::SeqCst;
        let _turn = self.turns.take()?;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        #[cfg(test)]
        self.runs.lock().push(cost);
        #[cfg(not(test))]
        let _ = cost;
        let out = work();
        self.running.fetch_sub(1, SeqCst);
        Ok(out)
    }

    fn own_cost(&self) -> (u32, u32, u32) {
        let p = self.argon2.params();
        (p.m_cost(), p.t_cost(), p.p_cost())
    }

    /// Hashes `password` to an argon2id PHC string with a fresh salt.
    ///
    /// # Errors
    ///
    /// [`HashFailure::Busy`] if no turn came in time,
    /// [`HashFailure::Failed`] if the OS random number generator fails.
    pub(crate) fn hash(&self, password: &str) -> Result<String, HashFailure> {
        self.run(self.own_cost(), || hash_with(&self.argon2, password))
            .map_err(|Busy| HashFailure::Busy)?
            .map_err(|_| HashFailure::Failed)
    }

    /// True iff `password` matches `phc`.
    ///
    /// Uses the algorithm, version and costs encoded in `phc`, so hashes made
    /// with older parameters keep working. Malformed PHC strings, non-argon2
    /// algorithms and costs above the caps give `false` (without a turn).
    ///
    /// # Errors
    ///
    /// [`Busy`] if no turn came in time.
    pub(crate) fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        let Some(parsed) = parse_phc(phc) else {
            return Ok(false);
        };
        let cost =
            Params::try_from(&parsed).map_or((0, 0, 0), |p| (p.m_cost(), p.t_cost(), p.p_cost()));
        self.run(cost, || {
            self.argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Burns the same time as a real verify, by verifying against the dummy
    /// hash. Used when the email is unknown, so login timing does not reveal
    /// whether an account exists. (Stored hashes made with older parameters
    /// are rehashed on the next successful login, so the dummy's cost is
    /// what a wrong password costs too.)
    ///
    /// # Errors
    ///
    /// [`Busy`] if no turn came in time.
    pub(crate) fn verify_dummy(&self, password: &str) -> Result<(), Busy> {
        // The result must not matter to anyone; black_box keeps the
        // optimiser from deciding the same.
        std::hint::black_box(self.verify(password, &self.dummy_phc)?);
        Ok(())
    }

    /// True iff `phc` was not made with exactly the configured argon2id
    /// parameters (variant, version and costs), so a login should store a
    /// fresh hash.
    pub(crate) fn needs_rehash(&self, phc: &str) -> bool {
        let Some(parsed) = parse_phc(phc) else {
            return true;
        };
        let same_cost = Params::try_from(&parsed)
            .is_ok_and(|p| (p.m_cost(), p.t_cost(), p.p_cost()) == self.own_cost());
        let same_kind = parsed.algorithm.as_str() == Algorithm::Argon2id.ident().as_str()
            && parsed.version == Some(Version::V0x13.into());
        !(same_cost && same_kind)
    }

    /// Takes one turn, as a running hash would (tests of `Busy`).
    #[cfg(test)]
    pub(crate) fn take_turn_for_tests(&self) -> impl Drop + '_ {
        match self.turns.take() {
            Ok(turn) => turn,
            Err(Busy) => panic!("no turn free"),
        }
    }

    /// The most argon2 runs seen at once since this hasher was made.
    #[cfg(test)]
    pub(crate) fn peak_concurrency(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The `(m, t, p)` of every argon2 run so far, oldest first.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> Vec<(u32, u32, u32)> {
        self.runs.lock().clone()
    }

    /// True iff `phc` parses as an argon2 PHC string with a salt, a hash and
    /// costs within the caps. Used to validate the configured admin hash at
    /// open, so a typo fails loudly there instead of locking the admin out.
    pub(crate) fn is_valid_phc(phc: &str) -> bool {
        parse_phc(phc).is_some()
    }

    /// True iff `phc`'s costs are within the tighter admin bounds (256 MiB,
    /// 64 iterations, 16 lanes).
    pub(crate) fn is_bounded_admin_phc(phc: &str) -> bool {
        parse_phc(phc)
            .and_then(|parsed| Params::try_from(&parsed).ok())
            .is_some_and(|p| {
                p.m_cost() <= MAX_ADMIN_MEMORY_KIB
                    && p.t_cost() <= MAX_ADMIN_ITERATIONS
                    && p.p_cost() <= MAX_ADMIN_PARALLELISM
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordHasher {
        match PasswordHasher::new(
            Argon2Params::insecure_fast_for_tests(),
            PasswordWork::default(),
        ) {
            Ok(h) => h,
            Err(e) => panic!("fast params must be valid: {e}"),
        }
    }

    fn verified(h: &PasswordHasher, pwd: &str, phc: &str) -> bool {
        h.verify(pwd, phc) == Ok(true)
    }

    fn hash_ok(h: &PasswordHasher, pwd: &str) -> String {
        match h.hash(pwd) {
            Ok(s) => s,
            Err(e) => panic!("hash failed: {e:?}"),
        }
    }

    #[test]
    fn default_is_owasp_minimum_and_encoded_in_phc() {
        let p = Argon2Params::default();
        assert_eq!(
            p,
            Argon2Params {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
        let phc = hash_password("correct horse battery", &p).map_err(|e| e.to_string());
        let phc = phc.as_deref().unwrap_or("");
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC prefix: {phc}"
        );
    }

    #[test]
    fn fast_params_are_the_minimum() {
        assert_eq!(
            Argon2Params::insecure_fast_for_tests(),
            Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1
            }
        );
    }

    #[test]
    fn round_trip_and_wrong_password() {
        let h = fast();
        let phc = hash_ok(&h, "s3cret-password");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert!(verified(&h, "s3cret-password", &phc));
        assert!(!verified(&h, "s3cret-passworD", &phc));
        assert!(!verified(&h, "", &phc));
    }

    #[test]
    fn salt_is_fresh_each_time() {
        let h = fast();
        let a = hash_ok(&h, "same password");
        let b = hash_ok(&h, "same password");
        assert_ne!(a, b);
        assert!(verified(&h, "same password", &a));
        assert!(verified(&h, "same password", &b));
    }

    #[test]
    fn unicode_password_round_trips() {
        let h = fast();
        let phc = hash_ok(&h, "pässwörd-密码-🔑");
        assert!(verified(&h, "pässwörd-密码-🔑", &phc));
        assert!(!verified(&h, "passwörd-密码-🔑", &phc));
    }

    #[test]
    fn verifies_hashes_made_with_other_params() {
        let other = Argon2Params {
            memory_kib: 16,
            iterations: 2,
            parallelism: 2,
        };
        let phc = hash_password("pw-with-other-params", &other).unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=16,t=2,p=2$"));
        assert!(verified(&fast(), "pw-with-other-params", &phc));
    }

    #[test]
    fn free_function_matches_hasher() {
        let phc =
            hash_password("free-fn", &Argon2Params::insecure_fast_for_tests()).unwrap_or_default();
        assert!(verified(&fast(), "free-fn", &phc));
    }

    #[test]
    fn malformed_phc_is_false_not_panic() {
        let h = fast();
        let good = hash_ok(&h, "password123");
        let cases = [
            String::new(),
            "$".to_owned(),
            "not a hash".to_owned(),
            "$argon2id$".to_owned(),
            "$argon2id$v=19$m=8,t=1,p=1$".to_owned(),
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ".to_owned(),
            "$argon2id$v=99$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA".to_owned(),
            "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo".to_owned(),
            "$argon2id$v=19$m=8,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo".to_owned(),
            "$argon2id$v=19$m=8,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo".to_owned(),
            "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo".to_owned(),
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo".to_owned(),
            "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234".to_owned(),
            good.replace("argon2id", "argon2xx"),
            format!("{good}$extra"),
            good[..good.len() - 5].to_owned() + "!!!!!",
        ];
        for phc in &cases {
            assert!(!verified(&h, "password123", phc), "accepted {phc:?}");
            assert!(!PasswordHasher::is_valid_phc(phc), "valid? {phc:?}");
        }
    }

    #[test]
    fn huge_costs_in_phc_are_refused_without_allocating() {
        let h = fast();
        // Would try to allocate ~4 TiB (an abort) or run for ages if trusted.
        let huge_m = "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        let huge_t = "$argon2id$v=19$m=8,t=4294967295,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        for phc in [huge_m, huge_t] {
            assert!(!verified(&h, "x", phc));
            assert!(!PasswordHasher::is_valid_phc(phc));
        }
    }

    #[test]
    fn is_valid_phc_accepts_real_hashes_of_any_argon2_variant() {
        let h = fast();
        assert!(PasswordHasher::is_valid_phc(&hash_ok(&h, "abc")));
        let p = Params::new(8, 1, 1, None).ok();
        let argon2i = p.and_then(|p| {
            Argon2::new(Algorithm::Argon2i, Version::V0x13, p)
                .hash_password(b"abc")
                .ok()
        });
        let argon2i = argon2i.map(|h| h.to_string()).unwrap_or_default();
        assert!(argon2i.starts_with("$argon2i$"));
        assert!(PasswordHasher::is_valid_phc(&argon2i));
        assert!(verified(&h, "abc", &argon2i));
    }

    #[test]
    fn invalid_params_are_refused() {
        let bad = [
            Argon2Params {
                memory_kib: 7,
                iterations: 1,
                parallelism: 1,
            },
            Argon2Params {
                memory_kib: 8,
                iterations: 0,
                parallelism: 1,
            },
            Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 0,
            },
            // memory must be at least 8 KiB per lane
            Argon2Params {
                memory_kib: 15,
                iterations: 1,
                parallelism: 2,
            },
            Argon2Params {
                memory_kib: MAX_MEMORY_KIB + 1,
                iterations: 1,
                parallelism: 1,
            },
            Argon2Params {
                memory_kib: 8 * 1024,
                iterations: MAX_ITERATIONS + 1,
                parallelism: 1,
            },
            Argon2Params {
                memory_kib: 8 * 1024,
                iterations: 1,
                parallelism: MAX_PARALLELISM + 1,
            },
        ];
        for p in bad {
            assert!(
                matches!(
                    PasswordHasher::new(p, PasswordWork::default()),
                    Err(PasswordHashError::InvalidParams)
                ),
                "{p:?} accepted"
            );
            assert!(hash_password("password", &p).is_err(), "{p:?} accepted");
        }
    }

    #[test]
    fn dummy_hash_uses_configured_params_and_verify_dummy_runs() {
        let h = fast();
        assert!(h.dummy_phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert!(PasswordHasher::is_valid_phc(&h.dummy_phc));
        // The dummy must be a real, matching hash: a verify that failed fast
        // on parsing would be quicker than a real one and leak existence.
        assert!(verified(&h, DUMMY_PASSWORD, &h.dummy_phc));
        // Must not panic for any input, including empty and long passwords.
        assert_eq!(h.verify_dummy(""), Ok(()));
        assert_eq!(h.verify_dummy(&"x".repeat(10_000)), Ok(()));
    }

    #[test]
    fn debug_does_not_show_hashes() {
        let h = fast();
        let dbg = format!("{h:?}");
        assert!(!dbg.contains("$argon2"), "{dbg}");
        assert!(dbg.contains("memory_kib: 8"), "{dbg}");
    }

    fn capped(max_concurrent: usize, max_wait_ms: u64) -> PasswordHasher {
        let work = PasswordWork {
            max_concurrent,
            max_wait: std::time::Duration::from_millis(max_wait_ms),
        };
        let params = Argon2Params {
            memory_kib: 256,
            iterations: 2,
            parallelism: 1,
        };
        PasswordHasher::new(params, work).unwrap()
    }

    #[test]
    fn default_cap_is_the_number_of_cores() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(PasswordWork::default().max_concurrent, cores);
        assert!(PasswordWork::default().is_valid());
        for bad in [
            PasswordWork {
                max_concurrent: 0,
                ..PasswordWork::default()
            },
            PasswordWork {
                max_concurrent: 1025,
                ..PasswordWork::default()
            },
            PasswordWork {
                max_wait: std::time::Duration::from_secs(61),
                ..PasswordWork::default()
            },
        ] {
            assert!(!bad.is_valid(), "{bad:?}");
        }
    }

    #[test]
    fn cap_of_one_never_runs_two_argon2_at_once() {
        let h = capped(1, 60_000);
        let phc = hash_ok(&h, "capped password");
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|s| {
            for i in 0..8 {
                let (h, phc, start) = (&h, &phc, &start);
                s.spawn(move || {
                    start.wait();
                    for j in 0..4 {
                        match (i + j) % 3 {
                            0 => assert_eq!(h.verify("capped password", phc), Ok(true)),
                            1 => assert_eq!(h.verify_dummy("nobody"), Ok(())),
                            _ => assert!(h.hash("another password").is_ok()),
                        }
                    }
                });
            }
        });
        assert_eq!(h.runs().len(), 1 + 8 * 4);
        assert_eq!(h.peak_concurrency(), 1);
    }

    #[test]
    fn cap_of_two_lets_two_run_and_stops_the_third() {
        let h = capped(2, 0);
        let first = h.turns.take().unwrap();
        // One turn left: a verify runs.
        let phc = hash_ok(&h, "pw-two-turns");
        let second = h.turns.take().unwrap();
        // No turn left and no waiting allowed: every kind of work is Busy,
        // and none of it reached argon2.
        let runs = h.runs().len();
        assert_eq!(h.verify("pw-two-turns", &phc), Err(Busy));
        assert_eq!(h.verify_dummy("pw"), Err(Busy));
        assert_eq!(h.hash("pw").err(), Some(HashFailure::Busy));
        assert_eq!(h.runs().len(), runs);
        drop((first, second));
        assert_eq!(h.verify("pw-two-turns", &phc), Ok(true));
    }

    #[test]
    fn a_waiting_caller_gets_the_turn_given_back_within_its_bound() {
        let h = capped(1, 60_000);
        let phc = hash_ok(&h, "pw-waiter");
        let turn = h.turns.take().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| h.verify("pw-waiter", &phc));
            // Give the turn back while the waiter waits (or before it
            // starts waiting: either way it must get the turn).
            drop(turn);
            assert_eq!(waiter.join().unwrap(), Ok(true));
        });
    }

    #[test]
    fn a_waiting_caller_gives_up_after_its_bound() {
        let h = capped(1, 30);
        let _turn = h.turns.take().unwrap();
        let phc =
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        let started = std::time::Instant::now();
        assert_eq!(h.verify("pw", phc), Err(Busy));
        assert!(started.elapsed() >= std::time::Duration::from_millis(30));
    }

    #[test]
    fn needs_rehash_only_for_other_params_or_variants() {
        let h = fast();
        assert!(!h.needs_rehash(&hash_ok(&h, "same")));
        let other = hash_password(
            "other",
            &Argon2Params {
                memory_kib: 16,
                iterations: 1,
                parallelism: 1,
            },
        )
        .unwrap();
        assert!(h.needs_rehash(&other));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"abc")
        .unwrap()
        .to_string();
        assert!(h.needs_rehash(&argon2i));
        assert!(h.needs_rehash("garbage"));
    }

    #[test]
    fn admin_hash_bounds_are_tighter_than_the_parse_caps() {
        let ok = "$argon2id$v=19$m=262144,t=64,p=16$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        assert!(PasswordHasher::is_bounded_admin_phc(ok));
        for bad in [
            "$argon2id$v=19$m=262145,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=65,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=17$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
            "not a hash",
        ] {
            assert!(PasswordHasher::is_valid_phc(bad) || bad == "not a hash");
            assert!(!PasswordHasher::is_bounded_admin_phc(bad), "{bad}");
        }
    }
}
