//! Admin and user JSON Web Tokens.
//!
//! Owns issuing and verifying the HS256 session tokens for admins and users,
//! each kind signed with its own secret and tagged with a `typ` claim.
//!
//! It must never log, `Debug`-print or `Display` a signing secret, never
//! accept a token signed with another algorithm than HS256, and never read
//! the system clock: expiry is checked against the engine's injected clock.

use std::collections::HashSet;
use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Minimum secret length in bytes; [`TokenSigner::new`] refuses shorter ones.
/// 32 bytes matches the HS256 output size, below which the key, not the
/// hash, becomes the weakest link.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// Tokens longer than this are refused before any parsing, so a hostile
/// client cannot make us base64-decode and JSON-parse megabytes. Our own
/// tokens are a few hundred bytes.
const MAX_TOKEN_LEN: usize = 4096;

/// Which kind of principal a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// The event organiser's administrator (`typ` claim `"admin"`).
    Admin,
    /// An end user (`typ` claim `"user"`).
    User,
}

impl TokenKind {
    const fn claim(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }
}

/// What a successfully verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedToken {
    /// The `sub` claim: whom the token was issued to.
    pub(crate) subject: String,
    /// The `exp` claim, seconds since the Unix epoch.
    pub(crate) expires_at_s: u64,
    /// The `ver` claim (0 if absent): what the token was issued against,
    /// which the caller compares with the current value (a user's password
    /// generation, a fingerprint of the admin password hash).
    pub(crate) version: u64,
}

/// Why a token was refused. Deliberately coarse: telling a client *which*
/// check failed would help an attacker, not the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, wrong algorithm, wrong secret, wrong kind, or tampered.
    #[error("token is malformed or its signature is invalid")]
    Invalid,
    /// Genuine, but past its `exp`.
    #[error("token has expired")]
    Expired,
}

/// The JWT secrets are unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecretError {
    /// A secret is shorter than 32 bytes.
    #[error("JWT secrets must be at least 32 bytes")]
    TooShort,
    /// Both kinds share one secret, which would let either kind's holder
    /// forge the other's signature.
    #[error("admin and user JWT secrets must differ")]
    Identical,
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    sub: &'a str,
    typ: &'a str,
    iat: u64,
    exp: u64,
    ver: u64,
}

#[derive(Deserialize)]
struct ClaimsIn {
    sub: String,
    typ: String,
    exp: u64,
    /// Tokens issued before this claim existed read as version 0.
    #[serde(default)]
    ver: u64,
}

struct KeyPair {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl KeyPair {
    fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// Issues and verifies admin and user tokens, each kind with its own secret.
pub(crate) struct TokenSigner {
    admin: KeyPair,
    user: KeyPair,
    validation: Validation,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so that no derive can ever print key material.
        f.debug_struct("TokenSigner")
            .field("algorithm", &"HS256")
            .field("admin_secret", &"***")
            .field("user_secret", &"***")
            .finish()
    }
}

impl TokenSigner {
    /// Builds a signer from the admin and user secrets.
    ///
    /// # Errors
    ///
    /// [`WeakSecretError::TooShort`] if either secret is shorter than
    /// [`MIN_SECRET_LEN`] bytes; [`WeakSecretError::Identical`] if they are
    /// equal.
    pub(crate) fn new(admin_secret: &[u8], user_secret: &[u8]) -> Result<Self, WeakSecretError> {
        if admin_secret.len() < MIN_SECRET_LEN || user_secret.len() < MIN_SECRET_LEN {
            return Err(WeakSecretError::TooShort);
        }
        if bool::from(admin_secret.ct_eq(user_secret)) {
            return Err(WeakSecretError::Identical);
        }

        let mut validation = Validation::new(Algorithm::HS256);
        // jsonwebtoken checks exp/nbf against the system clock; the engine
        // must use its injected clock instead, so expiry is checked in
        // `verify`. The presence of exp is still enforced here.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.required_spec_claims = HashSet::from(["exp".to_owned()]);
        // Pin the algorithm: anything but HS256 in the header is refused.
        validation.algorithms = vec![Algorithm::HS256];

        Ok(Self {
            admin: KeyPair::from_secret(admin_secret),
            user: KeyPair::from_secret(user_secret),
            validation,
        })
    }

    fn keys(&self, kind: TokenKind) -> &KeyPair {
        match kind {
            TokenKind::Admin => &self.admin,
            TokenKind::User => &self.user,
        }
    }

    /// Issues an HS256 token with claims `{sub, typ, iat, exp}` in seconds:
    /// `iat = now_s`, `exp = now_s + ttl_s`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] if `now_s + ttl_s` overflows, the subject is
    /// empty, or encoding fails.
    #[cfg(test)]
    pub(crate) fn issue(
        &self,
        kind: TokenKind,
        subject: &str,
        now_s: u64,
        ttl_s: u64,
    ) -> Result<String, TokenError> {
        self.issue_versioned(kind, subject, 0, now_s, ttl_s)
    }

    /// [`issue`](Self::issue) with a `ver` claim of `version`.
    pub(crate) fn issue_versioned(
        &self,
        kind: TokenKind,
        subject: &str,
        version: u64,
        now_s: u64,
        ttl_s: u64,
    ) -> Result<String, TokenError> {
        // `verify` refuses empty subjects, so never mint one.
        if subject.is_empty() {
            return Err(TokenError::Invalid);
        }
        let exp = now_s.checked_add(ttl_s).ok_or(TokenError::Invalid)?;
        let claims = ClaimsOut {
            sub: subject,
            typ: kind.claim(),
            iat: now_s,
            exp,
            ver: version,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.keys(kind).encoding,
        )
        .map_err(|_| TokenError::Invalid)?;
        // A subject so long that the token could never verify is a bug at
        // the caller; fail now rather than hand out a dud.
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        Ok(token)
    }

    /// Verifies a token of the given kind at time `now_s` (seconds).
    ///
    /// The signature must be HS256 with the secret of `kind`, the `typ` claim
    /// must name `kind`, and `exp` must be present and later than `now_s`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Expired`] for a genuine token with `exp <= now_s`;
    /// [`TokenError::Invalid`] for everything else that is wrong.
    pub(crate) fn verify(
        &self,
        kind: TokenKind,
        token: &str,
        now_s: u64,
    ) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let data =
            jsonwebtoken::decode::<ClaimsIn>(token, &self.keys(kind).decoding, &self.validation)
                .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        // Separate secrets already keep kinds apart; the typ check also
        // holds if an operator ever configures secrets carelessly.
        if claims.typ != kind.claim() || claims.sub.is_empty() {
            return Err(TokenError::Invalid);
        }
        if now_s >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(VerifiedToken {
            subject: claims.sub,
            expires_at_s: claims.exp,
            version: claims.ver,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::api_key::base64url_encode;
    use super::*;

    const ADMIN_SECRET: &[u8] = b"admin-secret-0123456789abcdefghijklmnop";
    const USER_SECRET: &[u8] = b"user-secret-0123456789abcdefghijklmnopq";
    const NOW: u64 = 1_767_225_600;

    fn signer() -> TokenSigner {
        match TokenSigner::new(ADMIN_SECRET, USER_SECRET) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn issue(s: &TokenSigner, kind: TokenKind, sub: &str, ttl: u64) -> String {
        match s.issue(kind, sub, NOW, ttl) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Signs arbitrary claims JSON with an arbitrary HMAC algorithm and key.
    fn sign_raw<T: Serialize>(alg: Algorithm, secret: &[u8], claims: &T) -> String {
        match jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    fn parts(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    #[test]
    fn round_trip_both_kinds() {
        let s = signer();
        for kind in [TokenKind::Admin, TokenKind::User] {
            let t = issue(&s, kind, "subject-1", 3600);
            assert_eq!(
                s.verify(kind, &t, NOW),
                Ok(VerifiedToken {
                    subject: "subject-1".to_owned(),
                    expires_at_s: NOW + 3600,
                    version: 0,
                })
            );
            assert!(s.verify(kind, &t, NOW + 3599).is_ok());
        }
    }

    #[test]
    fn header_is_hs256() {
        let t = issue(&signer(), TokenKind::User, "u", 60);
        let header = parts(&t)[0];
        assert_eq!(header, base64url_encode(br#"{"typ":"JWT","alg":"HS256"}"#));
    }

    #[test]
    fn expired_at_and_after_exp() {
        let s = signer();
        let t = issue(&s, TokenKind::User, "u1", 60);
        assert!(s.verify(TokenKind::User, &t, NOW + 59).is_ok());
        assert_eq!(
            s.verify(TokenKind::User, &t, NOW + 60),
            Err(TokenError::Expired)
        );
        assert_eq!(
            s.verify(TokenKind::User, &t, NOW + 1_000_000),
            Err(TokenError::Expired)
        );
        // Zero ttl: expired from the start.
        let t0 = issue(&s, TokenKind::User, "u1", 0);
        assert_eq!(
            s.verify(TokenKind::User, &t0, NOW),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn expiry_uses_injected_clock_not_system_time() {
        let s = signer();
        // Issued and checked in 1970: jsonwebtoken's own exp check against
        // the system clock would call this expired.
        let t = match s.issue(TokenKind::User, "u1", 1_000, 60) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert!(s.verify(TokenKind::User, &t, 1_030).is_ok());
        assert_eq!(
            s.verify(TokenKind::User, &t, 1_060),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn alg_none_is_invalid() {
        let s = signer();
        let header = base64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = base64url_encode(
            format!(
                r#"{{"sub":"attacker","typ":"admin","iat":{NOW},"exp":{}}}"#,
                NOW + 60
            )
            .as_bytes(),
        );
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
            assert_eq!(
                s.verify(TokenKind::Admin, &token, NOW),
                Err(TokenError::Invalid)
            );
        }
        // Same trick with the real signature attached does not help either.
        let real = issue(&s, TokenKind::Admin, "attacker", 60);
        let sig = parts(&real)[2];
        assert_eq!(
            s.verify(TokenKind::Admin, &format!("{header}.{claims}.{sig}"), NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn other_algorithms_with_right_secret_are_invalid() {
        let s = signer();
        let claims = ClaimsOut {
            sub: "a",
            typ: "admin",
            iat: NOW,
            exp: NOW + 60,
            ver: 0,
        };
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let t = sign_raw(alg, ADMIN_SECRET, &claims);
            assert_eq!(
                s.verify(TokenKind::Admin, &t, NOW),
                Err(TokenError::Invalid)
            );
        }
        // Control: the same claims signed HS256 are accepted, so the refusal
        // above is down to the algorithm alone.
        let ok = sign_raw(Algorithm::HS256, ADMIN_SECRET, &claims);
        assert!(s.verify(TokenKind::Admin, &ok, NOW).is_ok());
    }

    #[test]
    fn rs256_header_is_invalid() {
        let s = signer();
        let good = issue(&s, TokenKind::Admin, "a", 60);
        let p = parts(&good);
        let header = base64url_encode(br#"{"typ":"JWT","alg":"RS256"}"#);
        let forged = format!("{header}.{}.{}", p[1], p[2]);
        assert_eq!(
            s.verify(TokenKind::Admin, &forged, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn kinds_do_not_cross() {
        let s = signer();
        let admin = issue(&s, TokenKind::Admin, "a", 60);
        let user = issue(&s, TokenKind::User, "u", 60);
        assert_eq!(
            s.verify(TokenKind::User, &admin, NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify(TokenKind::Admin, &user, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn typ_claim_is_checked_even_with_right_secret() {
        let s = signer();
        // Signed with the user secret but claiming admin.
        let claims = ClaimsOut {
            sub: "u",
            typ: "admin",
            iat: NOW,
            exp: NOW + 60,
            ver: 0,
        };
        let t = sign_raw(Algorithm::HS256, USER_SECRET, &claims);
        assert_eq!(
            s.verify(TokenKind::Admin, &t, NOW),
            Err(TokenError::Invalid)
        );
        // Signed with the right (user) secret, but typ says admin: the typ
        // check alone must refuse it.
        assert_eq!(s.verify(TokenKind::User, &t, NOW), Err(TokenError::Invalid));
        // Admin secret, typ user, verified as admin: refused by typ.
        let claims = ClaimsOut {
            sub: "a",
            typ: "user",
            iat: NOW,
            exp: NOW + 60,
            ver: 0,
        };
        let t = sign_raw(Algorithm::HS256, ADMIN_SECRET, &claims);
        assert_eq!(
            s.verify(TokenKind::Admin, &t, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tampered_token_is_invalid() {
        let s = signer();
        let t = issue(&s, TokenKind::User, "alice", 60);
        let p = parts(&t);
        // Payload swapped for one naming another subject, signature kept.
        let evil = base64url_encode(
            format!(
                r#"{{"sub":"mallory","typ":"user","iat":{NOW},"exp":{}}}"#,
                NOW + 60
            )
            .as_bytes(),
        );
        let forged = format!("{}.{evil}.{}", p[0], p[2]);
        assert_eq!(
            s.verify(TokenKind::User, &forged, NOW),
            Err(TokenError::Invalid)
        );
        // Extended expiry, signature kept.
        let later = base64url_encode(
            format!(
                r#"{{"sub":"alice","typ":"user","iat":{NOW},"exp":{}}}"#,
                NOW + 99_999
            )
            .as_bytes(),
        );
        let forged = format!("{}.{later}.{}", p[0], p[2]);
        assert_eq!(
            s.verify(TokenKind::User, &forged, NOW),
            Err(TokenError::Invalid)
        );
        // One signature character changed.
        let mut sig: Vec<char> = p[2].chars().collect();
        sig[5] = if sig[5] == 'A' { 'B' } else { 'A' };
        let sig: String = sig.into_iter().collect();
        let forged = format!("{}.{}.{sig}", p[0], p[1]);
        assert_eq!(
            s.verify(TokenKind::User, &forged, NOW),
            Err(TokenError::Invalid)
        );
        // Expired *and* tampered: the forgery is what gets reported.
        assert_eq!(
            s.verify(TokenKind::User, &forged, NOW + 1_000),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn missing_or_malformed_exp_is_invalid() {
        #[derive(Serialize)]
        struct NoExp<'a> {
            sub: &'a str,
            typ: &'a str,
            iat: u64,
        }
        #[derive(Serialize)]
        struct StrExp<'a> {
            sub: &'a str,
            typ: &'a str,
            exp: &'a str,
        }
        let s = signer();
        let t = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &NoExp {
                sub: "u",
                typ: "user",
                iat: NOW,
            },
        );
        assert_eq!(s.verify(TokenKind::User, &t, NOW), Err(TokenError::Invalid));
        let t = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &StrExp {
                sub: "u",
                typ: "user",
                exp: "99999999999",
            },
        );
        assert_eq!(s.verify(TokenKind::User, &t, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn missing_sub_or_typ_is_invalid() {
        #[derive(Serialize)]
        struct NoSub<'a> {
            typ: &'a str,
            exp: u64,
        }
        #[derive(Serialize)]
        struct NoTyp<'a> {
            sub: &'a str,
            exp: u64,
        }
        let s = signer();
        let a = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &NoSub {
                typ: "user",
                exp: NOW + 60,
            },
        );
        let b = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &NoTyp {
                sub: "u",
                exp: NOW + 60,
            },
        );
        let c = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &ClaimsOut {
                sub: "",
                typ: "user",
                iat: NOW,
                exp: NOW + 60,
                ver: 0,
            },
        );
        for t in [a, b, c] {
            assert_eq!(s.verify(TokenKind::User, &t, NOW), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn oversized_and_garbage_tokens_are_invalid() {
        let s = signer();
        let big = "a".repeat(5000);
        assert_eq!(
            s.verify(TokenKind::User, &big, NOW),
            Err(TokenError::Invalid)
        );
        // A genuine token padded past the limit is refused before parsing.
        let t = issue(&s, TokenKind::User, "u", 60);
        let padded = format!("{t}{}", " ".repeat(MAX_TOKEN_LEN));
        assert_eq!(
            s.verify(TokenKind::User, &padded, NOW),
            Err(TokenError::Invalid)
        );
        for g in ["", ".", "..", "a.b.c", "a.b", "ä.ö.ü", "\0.\0.\0"] {
            assert_eq!(s.verify(TokenKind::User, g, NOW), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn issue_refuses_overflow_and_empty_subject() {
        let s = signer();
        assert_eq!(
            s.issue(TokenKind::User, "u", u64::MAX, 1),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.issue(TokenKind::User, "", NOW, 1),
            Err(TokenError::Invalid)
        );
        let long = "x".repeat(MAX_TOKEN_LEN);
        assert_eq!(
            s.issue(TokenKind::User, &long, NOW, 1),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn weak_secrets_are_refused() {
        let short = [7u8; MIN_SECRET_LEN - 1];
        let ok_a = [1u8; MIN_SECRET_LEN];
        let ok_b = [2u8; MIN_SECRET_LEN];
        assert!(matches!(
            TokenSigner::new(&short, &ok_b),
            Err(WeakSecretError::TooShort)
        ));
        assert!(matches!(
            TokenSigner::new(&ok_a, &short),
            Err(WeakSecretError::TooShort)
        ));
        assert!(matches!(
            TokenSigner::new(&[], &[]),
            Err(WeakSecretError::TooShort)
        ));
        assert!(matches!(
            TokenSigner::new(&ok_a, &ok_a),
            Err(WeakSecretError::Identical)
        ));
        assert!(TokenSigner::new(&ok_a, &ok_b).is_ok());
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let dbg = format!("{:?}", signer());
        assert!(!dbg.contains("admin-secret"), "{dbg}");
        assert!(!dbg.contains("user-secret"), "{dbg}");
        assert!(!dbg.contains("0123456789"), "{dbg}");
        assert!(dbg.contains("***"));
    }

    #[test]
    fn version_claim_round_trips_and_defaults_to_zero() {
        #[derive(Serialize)]
        struct NoVer<'a> {
            sub: &'a str,
            typ: &'a str,
            exp: u64,
        }
        let s = signer();
        let t = match s.issue_versioned(TokenKind::User, "u", 7, NOW, 60) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.verify(TokenKind::User, &t, NOW).map(|v| v.version), Ok(7));
        let old = sign_raw(
            Algorithm::HS256,
            USER_SECRET,
            &NoVer {
                sub: "u",
                typ: "user",
                exp: NOW + 60,
            },
        );
        assert_eq!(
            s.verify(TokenKind::User, &old, NOW).map(|v| v.version),
            Ok(0)
        );
    }
}
