//! Romanian IBANs (ISO 13616): `RO`, 2 check digits, a 4-letter bank code and 16 letters or
//! digits, 24 characters in all, whose mod-97 check gives 1. Treasury accounts have the bank
//! code `TREZ` (RO..TREZ...).

/// A validated Romanian IBAN, normalised: no spaces, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Iban(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("the IBAN is empty")]
    Empty,
    #[error("\"{0}\" is not a Romanian IBAN: it must start with RO")]
    Country(String),
    #[error(
        "\"{text}\" has {len} characters; a Romanian IBAN has 24 (RO, 2 check digits, a \
         4-letter bank code, 16 letters or digits)"
    )]
    Length { text: String, len: usize },
    #[error("\"{text}\" is not in the IBAN format: {reason}")]
    Format { text: String, reason: &'static str },
    #[error("\"{0}\" fails the IBAN check digits (mod 97): a character is mistyped")]
    CheckDigits(String),
}

const LENGTH: usize = 24;

impl Iban {
    /// Reads an IBAN as written (spaces allowed, any case) and checks it.
    pub fn parse(text: &str) -> Result<Iban, IbanError> {
        let iban: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect();
        if iban.is_empty() {
            return Err(IbanError::Empty);
        }
        if !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IbanError::Format {
                text: iban,
                reason: "only letters A-Z and digits are allowed",
            });
        }
        if !iban.starts_with("RO") {
            return Err(IbanError::Country(iban));
        }
        if iban.len() != LENGTH {
            let len = iban.len();
            return Err(IbanError::Length { text: iban, len });
        }
        let b = iban.as_bytes();
        if !b[2..4].iter().all(u8::is_ascii_digit) {
            return Err(IbanError::Format {
                text: iban,
                reason: "the 3rd and 4th characters (check digits) must be digits",
            });
        }
        if !b[4..8].iter().all(u8::is_ascii_uppercase) {
            return Err(IbanError::Format {
                text: iban,
                reason: "characters 5 to 8 (the bank code) must be letters",
            });
        }
        if mod97(b) != 1 {
            return Err(IbanError::CheckDigits(iban));
        }
        Ok(Iban(iban))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 4-letter bank code (`TREZ` for the Treasury).
    pub fn bank_code(&self) -> &str {
        &self.0[4..8]
    }

    /// A State Treasury account (RO..TREZ...).
    pub fn is_treasury(&self) -> bool {
        self.bank_code() == "TREZ"
    }
}

impl std::fmt::Display for Iban {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// ISO 13616's check: the first four characters moved to the end, letters as 10..35, the
/// number taken mod 97. `iban` is ASCII upper-case letters and digits.
fn mod97(iban: &[u8]) -> u32 {
    let (head, tail) = iban.split_at(4);
    let mut r: u32 = 0;
    for &c in tail.iter().chain(head) {
        if c.is_ascii_digit() {
            r = (r * 10 + u32::from(c - b'0')) % 97;
        } else {
            r = (r * 100 + u32::from(c - b'A') + 10) % 97;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid IBAN for the given bank code and account: the check digits computed.
    fn with_check_digits(bank: &str, account: &str) -> String {
        let draft = format!("RO00{bank}{account}");
        let check = 98 - mod97(draft.as_bytes());
        format!("RO{check:02}{bank}{account}")
    }

    #[test]
    fn iban_mod97_is_checked() {
        let ok = Iban::parse("RO49AAAA1B31007593840000").unwrap();
        assert_eq!(ok.as_str(), "RO49AAAA1B31007593840000");
        // One digit changed, and two neighbours swapped: both caught.
        assert!(matches!(
            Iban::parse("RO49AAAA1B31007593840001"),
            Err(IbanError::CheckDigits(_))
        ));
        assert!(matches!(
            Iban::parse("RO49AAAA1B31007593480000"),
            Err(IbanError::CheckDigits(_))
        ));
        assert!(Iban::parse("RO48AAAA1B31007593840000")
            .unwrap_err()
            .to_string()
            .contains("check digits"));
    }

    #[test]
    fn iban_length_is_checked() {
        let e = Iban::parse("RO00BADIBAN").unwrap_err();
        assert_eq!(
            e,
            IbanError::Length {
                text: "RO00BADIBAN".into(),
                len: 11
            }
        );
        assert!(e.to_string().contains("has 11 characters"));
        assert!(matches!(
            Iban::parse("RO49AAAA1B310075938400001"),
            Err(IbanError::Length { len: 25, .. })
        ));
        assert_eq!(Iban::parse("  "), Err(IbanError::Empty));
    }

    #[test]
    fn iban_format_is_checked() {
        assert!(matches!(
            Iban::parse("DE89370400440532013000"),
            Err(IbanError::Country(_))
        ));
        assert!(matches!(
            Iban::parse("ROX9AAAA1B31007593840000"),
            Err(IbanError::Format { .. })
        ));
        assert!(matches!(
            Iban::parse("RO49AA1A1B31007593840000"),
            Err(IbanError::Format { .. })
        ));
        assert!(matches!(
            Iban::parse("RO49AAAA1B31-07593840000"),
            Err(IbanError::Format { .. })
        ));
    }

    #[test]
    fn iban_spaces_and_case_are_normalised() {
        let iban = Iban::parse(" ro49 aaaa 1b31 0075 9384 0000 ").unwrap();
        assert_eq!(iban.as_str(), "RO49AAAA1B31007593840000");
        assert_eq!(iban.to_string(), "RO49AAAA1B31007593840000");
        assert!(!iban.is_treasury());
    }

    #[test]
    fn iban_treasury_accounts_are_recognised() {
        let text = with_check_digits("TREZ", "7005069XXX000123");
        let iban = Iban::parse(&text).unwrap();
        assert!(iban.is_treasury());
        assert_eq!(iban.bank_code(), "TREZ");
    }
}
