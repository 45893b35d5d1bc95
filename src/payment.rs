//! Payment verification, pluggable.
//!
//! Owns the [`PaymentVerifier`] trait and the default [`SimulatedPayments`].
//! A verifier only answers "is this payment good for this amount"; it must
//! never touch seats, holds or storage (the confirm path does that).

use crate::model::UserId;

/// What a confirm asks the verifier to check.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRequest<'a> {
    pub app_id: &'a str,
    pub user_id: UserId,
    pub reservation_id: u64,
    pub payment_id: &'a str,
    pub amount_minor: u64,
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
pub trait PaymentVerifier: Send + Sync {
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome;
}

/// The default verifier: a deterministic simulation, so that demos and tests
/// can produce both outcomes on purpose.
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
