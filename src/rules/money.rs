//! Exact money. The norm types `valoare` as `xsd:float`, but it is money: every amount is
//! kept as integer bani (1 leu = 100 bani) from the moment it is read until it is written,
//! and never passes through `f32`/`f64`.

use std::fmt;

/// An amount of money in bani. Negative values exist only so that a bad request can be
/// described precisely ("-1 is not a payment") before it is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bani(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("suma `{0}` nu are forma întreg.zecimale (ex.: 1234.50)")]
    Malformed(String),
    #[error("suma `{0}` are mai mult de două zecimale")]
    TooPrecise(String),
    #[error("suma `{0}` este prea mare")]
    TooLarge(String),
}

impl Bani {
    pub const ZERO: Bani = Bani(0);

    /// Reads an amount in lei written as `întreg[.zecimale]` (`1234.50`, `150.5`, `3`,
    /// `-1`). Exponents (`1e3`), a leading `+`, spaces, thousands separators and a third
    /// non-zero decimal (`12.345`) are refused: each would mean guessing what was paid.
    /// Extra zero decimals (`12.340`) denote an exact amount and are accepted.
    pub fn parse_lei(text: &str) -> Result<Bani, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_string());
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (unsigned, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let mut cents: i64 = 0;
        if let Some(f) = fraction {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            if f.bytes().skip(2).any(|b| b != b'0') {
                return Err(MoneyError::TooPrecise(text.to_string()));
            }
            let mut digits = f.bytes().chain(std::iter::repeat(b'0')).take(2);
            let tens = i64::from(digits.next().unwrap_or(b'0') - b'0');
            let units = i64::from(digits.next().unwrap_or(b'0') - b'0');
            cents = tens * 10 + units;
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let lei: i64 = whole.parse().map_err(|_| too_large())?;
        let total = lei
            .checked_mul(100)
            .and_then(|v| v.checked_add(cents))
            .ok_or_else(too_large)?;
        Ok(Bani(if negative { -total } else { total }))
    }

    /// The shortest decimal form of the amount (`1133.5`, `3`, `0.05`): what a SOAP stack
    /// that binds `valoare` to a float writes back. Used only to verify such a client's check.
    pub fn shortest(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (lei, cents) = (abs / 100, abs % 100);
        match cents {
            0 => format!("{sign}{lei}"),
            c if c % 10 == 0 => format!("{sign}{lei}.{}", c / 10),
            c => format!("{sign}{lei}.{c:02}"),
        }
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Bani) -> Option<Bani> {
        self.0.checked_add(other.0).map(Bani)
    }
}

/// The form the norm prescribes for every amount we write: `întreg.douăzecimale` (`57.32`,
/// `1234.50`, `0.05`), no thousands separator.
impl fmt::Display for Bani {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl std::ops::Add for Bani {
    type Output = Bani;
    fn add(self, other: Bani) -> Bani {
        Bani(self.0 + other.0)
    }
}

impl std::ops::Sub for Bani {
    type Output = Bani;
    fn sub(self, other: Bani) -> Bani {
        Bani(self.0 - other.0)
    }
}

impl std::iter::Sum for Bani {
    fn sum<I: Iterator<Item = Bani>>(iter: I) -> Bani {
        Bani(iter.map(|b| b.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lei(s: &str) -> Result<i64, MoneyError> {
        Bani::parse_lei(s).map(|b| b.0)
    }

    #[test]
    fn five_bani_is_read_exactly() {
        assert_eq!(lei("0.05"), Ok(5));
    }

    #[test]
    fn two_decimals_are_read_exactly() {
        assert_eq!(lei("1234.50"), Ok(123_450));
        assert_eq!(lei("57.32"), Ok(5_732));
    }

    #[test]
    fn one_decimal_as_a_float_client_sends_it_is_read_exactly() {
        assert_eq!(lei("150.5"), Ok(15_050));
        assert_eq!(lei("3"), Ok(300));
    }

    #[test]
    fn negative_amount_is_read_so_that_it_can_be_refused() {
        assert_eq!(lei("-1"), Ok(-100));
    }

    #[test]
    fn exponent_notation_is_refused() {
        assert!(matches!(lei("1e3"), Err(MoneyError::Malformed(_))));
        assert!(matches!(lei("1.5E2"), Err(MoneyError::Malformed(_))));
    }

    #[test]
    fn a_third_decimal_is_refused() {
        assert!(matches!(lei("12.345"), Err(MoneyError::TooPrecise(_))));
        assert_eq!(lei("12.340"), Ok(1_234));
    }

    #[test]
    fn anything_else_than_digits_and_one_point_is_refused() {
        for bad in [
            "", "-", ".5", "5.", "+5", " 5", "5 ", "1,50", "1.2.3", "abc", "0x10", "NaN", "--1",
        ] {
            assert!(lei(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn amounts_beyond_i64_are_refused_not_wrapped() {
        assert!(matches!(
            lei("92233720368547758.08"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            lei("999999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn amounts_are_written_with_exactly_two_decimals() {
        assert_eq!(Bani(5).to_string(), "0.05");
        assert_eq!(Bani(123_450).to_string(), "1234.50");
        assert_eq!(Bani(0).to_string(), "0.00");
        assert_eq!(Bani(-100).to_string(), "-1.00");
    }

    #[test]
    fn shortest_form_matches_what_float_clients_write() {
        assert_eq!(Bani(113_350).shortest(), "1133.5");
        assert_eq!(Bani(300).shortest(), "3");
        assert_eq!(Bani(5).shortest(), "0.05");
        assert_eq!(Bani(5_732).shortest(), "57.32");
    }
}
