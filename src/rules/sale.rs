//! The sale rule: whether an entity sells at an instant.
//!
//! Owns [`verdict`], the one place that reads an entity's [`Sale`] (its
//! closed flag and sale window) as a yes or no. Reserves ask it twice —
//! early, from the gate's atomics, and again under the gate's read lock
//! once they won their seats (see `crate::state::gates`). It must never
//! change a sale or touch storage.

use crate::clock::UnixMillis;
use crate::state::gates::Sale;

/// Why an entity does not sell now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its window opens at this instant, later than now.
    NotOpen { opens_at: UnixMillis },
    /// It was closed, or its window ended.
    Closed,
}

/// Whether `sale` sells at `now`: not closed, and `opens_at <= now <
/// closes_at` for the bounds it has.
#[inline]
pub(crate) fn verdict(sale: &Sale, now: UnixMillis) -> Result<(), Refusal> {
    if sale.closed || sale.closes_at.is_some_and(|closes| now >= closes) {
        return Err(Refusal::Closed);
    }
    match sale.opens_at {
        Some(opens_at) if now < opens_at => Err(Refusal::NotOpen { opens_at }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_half_open_and_closing_wins() {
        let window = Sale {
            closed: false,
            opens_at: Some(100),
            closes_at: Some(200),
        };
        assert_eq!(
            verdict(&window, 99),
            Err(Refusal::NotOpen { opens_at: 100 })
        );
        assert_eq!(verdict(&window, 100), Ok(()));
        assert_eq!(verdict(&window, 199), Ok(()));
        assert_eq!(verdict(&window, 200), Err(Refusal::Closed));
        let closed = Sale {
            closed: true,
            ..window
        };
        assert_eq!(verdict(&closed, 150), Err(Refusal::Closed));
        assert_eq!(verdict(&closed, 50), Err(Refusal::Closed));
        assert_eq!(verdict(&Sale::default(), 0), Ok(()));
        assert_eq!(verdict(&Sale::default(), u64::MAX), Ok(()));
    }
}
