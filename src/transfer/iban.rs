//! IBAN validation (ISO 13616: country, two check digits, the account; mod 97 = 1). A tax
//! type whose IBAN fails it is refused by ghiseul.ro with fault 7 („IBAN-uri invalide"), so
//! `sync` leaves it out and reports it, and the simulator refuses it.

/// True when `iban` (no spaces) is a well-formed IBAN; a Romanian one must also have the
/// Romanian length, 24 characters (RO, 2 check digits, 4 letters of the bank, 16 of the
/// account).
pub fn is_valid(iban: &str) -> bool {
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return false;
    }
    if &b[..2] == b"RO" && (b.len() != 24 || !b[4..8].iter().all(u8::is_ascii_uppercase)) {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The IBAN with the two check digits that make `country` + `bban` valid (for test and
/// demo registers).
pub fn with_check_digits(country: &str, bban: &str) -> String {
    let probe = format!("{country}00{bban}");
    let b = probe.as_bytes();
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectors_of_the_note_are_valid() {
        assert!(is_valid("RO33TREZ1315069XXX012345"));
        assert!(is_valid("RO29TREZ1315069XXX054321"));
        // ISO 13616's own examples.
        assert!(is_valid("GB82WEST12345698765432"));
        assert!(is_valid("RO49AAAA1B31007593840000"));
    }

    #[test]
    fn a_wrong_check_digit_or_shape_is_refused() {
        assert!(!is_valid("RO34TREZ1315069XXX012345"));
        assert!(!is_valid("RO33TREZ1315069XXX01234")); // 23 characters
        assert!(!is_valid("ro33TREZ1315069XXX012345"));
        assert!(!is_valid("RO33 TREZ1315069XXX012345"));
        assert!(!is_valid("RO42TREZ2165070XXX012345")); // mod 97 gives 90
                                                        // The norm's fault-7 example passes mod 97: ghiseul.ro must refuse it for another
                                                        // reason (the X placeholders?), which it does not say.
        assert!(is_valid("RO88TREZ02121340202XXXXX"));
        assert!(!is_valid(""));
        assert!(!is_valid("RO"));
    }

    #[test]
    fn check_digits_are_computed_to_validate() {
        let iban = with_check_digits("RO", "TREZ2165070XXX012345");
        assert_eq!(iban.len(), 24);
        assert!(is_valid(&iban));
        assert_eq!(
            with_check_digits("RO", "TREZ1315069XXX012345"),
            "RO33TREZ1315069XXX012345"
        );
    }
}
