//! Payment verification, an explicit choice of the host.
//!
//! Owns the [`PaymentVerifier`] trait and the deterministic
//! [`SimulatedPayments`]. No engine has a verifier by default:
//! [`Engine::open`](crate::Engine::open) refuses a [`Config`](crate::Config)
//! that names none ([`OpenError::NoPaymentVerifier`](crate::OpenError::NoPaymentVerifier)),
//! so a host can never ship an engine that approves every payment by
//! accident. Demos and tests name the simulation on purpose
//! (`config.with_payments(SimulatedPayments::default())`).
//!
//! A verifier only answers "was this payment made, in full, for this
//! reservation"; it must never touch seats, holds or storage (the confirm
//! path does that).

use crate::model::UserId;

/// What a confirm asks the verifier to check: that the payment `payment_id`
/// was made by this user, for this reservation of this app, over exactly
/// `amount_minor` in `currency`.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRequest<'a> {
    /// The app (tenant) the reservation belongs to.
    pub app_id: &'a str,
    /// The buyer.
    pub user_id: UserId,
    /// The reservation being confirmed. A verifier must check that the
    /// payment was made for this reservation (see [`PaymentVerifier`]).
    pub reservation_id: u64,
    /// The provider's id of the payment, as the buyer passed it to confirm.
    pub payment_id: &'a str,
    /// The reservation's total, in minor units (cents).
    pub amount_minor: u64,
    /// ISO 4217 code of `amount_minor`, e.g. `"EUR"`.
    pub currency: &'a str,
}

/// The verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    Approved,
    /// Declined, with a reason that is safe to show to the buyer.
    Declined(String),
}

/// Checks payments during confirm. Called with no lock of the engine held
/// but with the reservation's seats pinned, so keep it prompt: seats stay
/// unavailable to others while it runs.
///
/// **Check that the payment was made for this reservation.** A payment id
/// alone proves nothing: a buyer could present the id of a payment made
/// for another (cheaper, or already confirmed) reservation, or by someone
/// else. Look the payment up at the provider and approve only if it
/// succeeded, its metadata names this `reservation_id` (and app), and its
/// amount and currency equal the request's. Payment providers let the host
/// attach such metadata when it creates the payment (e.g. a
/// `reservation_id` metadata key on a payment intent).
///
/// Decline when in doubt: an error reaching the provider is a decline,
/// never an approval (the buyer can retry the confirm).
///
/// ```
/// use std::collections::HashMap;
/// use seatbook::{PaymentOutcome, PaymentRequest, PaymentVerifier};
///
/// /// A payment as the provider reports it (a stand-in for its API).
/// struct ProviderPayment {
///     succeeded: bool,
///     amount_minor: u64,
///     currency: String,
///     /// Metadata the host attached when it created the payment.
///     metadata: HashMap<String, String>,
/// }
///
/// struct ProviderVerifier {
///     /// Stands in for a call to the provider's "retrieve payment" API.
///     payments: HashMap<String, ProviderPayment>,
/// }
///
/// impl PaymentVerifier for ProviderVerifier {
///     fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome {
///         let decline = |why: &str| PaymentOutcome::Declined(why.to_owned());
///         let Some(p) = self.payments.get(request.payment_id) else {
///             return decline("unknown payment");
///         };
///         let meta = |key: &str| p.metadata.get(key).map(String::as_str);
///         if !p.succeeded {
///             return decline("payment not completed");
///         }
///         if meta("reservation_id") != Some(request.reservation_id.to_string().as_str())
///             || meta("app_id") != Some(request.app_id)
///         {
///             return decline("payment was made for another reservation");
///         }
///         if p.amount_minor != request.amount_minor || p.currency != request.currency {
///             return decline("payment amount differs");
///         }
///         PaymentOutcome::Approved
///     }
/// }
///
/// let mut metadata = HashMap::new();
/// metadata.insert("reservation_id".to_owned(), "42".to_owned());
/// metadata.insert("app_id".to_owned(), "event-app".to_owned());
/// let verifier = ProviderVerifier {
///     payments: HashMap::from([(
///         "pi_123".to_owned(),
///         ProviderPayment { succeeded: true, amount_minor: 10_000, currency: "EUR".into(), metadata },
///     )]),
/// };
/// let request = |reservation_id, amount_minor| PaymentRequest {
///     app_id: "event-app",
///     user_id: seatbook::UserId(7),
///     reservation_id,
///     payment_id: "pi_123",
///     amount_minor,
///     currency: "EUR",
/// };
/// assert_eq!(verifier.verify(&request(42, 10_000)), PaymentOutcome::Approved);
/// // The same payment presented for another reservation, or another total:
/// assert!(matches!(verifier.verify(&request(43, 10_000)), PaymentOutcome::Declined(_)));
/// assert!(matches!(verifier.verify(&request(42, 20_000)), PaymentOutcome::Declined(_)));
/// ```
pub trait PaymentVerifier: Send + Sync {
    /// Approves or declines `request`. Should not panic: a panic unwinds
    /// to the caller of confirm. (The C ABI's adapter turns a panic or
    /// unwind of the host's callback into a decline instead.)
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome;
}

/// A deterministic simulation for demos and tests, so that they can
/// produce both outcomes on purpose. Never the default: a config picks it
/// by name (`config.with_payments(SimulatedPayments::default())`, in C
/// `seatbook_config.use_simulated_payments`). It checks nothing about the
/// payment (no provider, no reservation), so never use it in production.
///
/// A payment is **declined** when its id starts with `fail` or `decline`
/// (any case), or, if `decline_per_mille` is non-zero, when a stable hash
/// (FNV-1a) of the payment id modulo 1000 is below it. Every other payment
/// is approved. The same payment id always gets the same answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedPayments {
    /// Share of other payments to decline, in thousandths (0 = none).
    pub decline_per_mille: u16,
}

impl PaymentVerifier for SimulatedPayments {
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome {
        let id = request.payment_id.to_ascii_lowercase();
        if id.starts_with("fail") || id.starts_with("decline") {
            return PaymentOutcome::Declined("simulated decline".into());
        }
        if self.decline_per_mille > 0
            && fnv1a(request.payment_id.as_bytes()) % 1000 < u64::from(self.decline_per_mille)
        {
            return PaymentOutcome::Declined("simulated random decline".into());
        }
        PaymentOutcome::Approved
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(payment_id: &str) -> PaymentRequest<'_> {
        PaymentRequest {
            app_id: "a",
            user_id: UserId(1),
            reservation_id: 1,
            payment_id,
            amount_minor: 1,
            currency: "EUR",
        }
    }

    #[test]
    fn fail_prefix_declines_and_others_pass() {
        let p = SimulatedPayments::default();
        assert!(matches!(
            p.verify(&req("FAIL-1")),
            PaymentOutcome::Declined(_)
        ));
        assert!(matches!(
            p.verify(&req("decline_x")),
            PaymentOutcome::Declined(_)
        ));
        assert_eq!(p.verify(&req("pay_123")), PaymentOutcome::Approved);
    }

    #[test]
    fn decline_rate_is_deterministic_and_roughly_right() {
        let p = SimulatedPayments {
            decline_per_mille: 200,
        };
        let ids: Vec<String> = (0..5000).map(|i| format!("pay_{i}")).collect();
        let declined = ids
            .iter()
            .filter(|id| p.verify(&req(id)) != PaymentOutcome::Approved)
            .count();
        assert!((800..1200).contains(&declined), "{declined}");
        assert_eq!(p.verify(&req("pay_7")), p.verify(&req("pay_7")));
    }
}
