//! Romanian personal and fiscal identifiers (interface.md §5). A CUI that fails these
//! checks is answered with fault 2 without touching the database.

use chrono::NaiveDate;

/// A validated identifier in its stored form: the 13 digits of a CNP/NIF, or the digits of
/// a CIF/CUI without the `RO` VAT prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cui {
    Cnp(String),
    Cif(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("CUI-ul trebuie să conțină numai cifre (CIF: 2–10 cifre, opțional cu prefixul RO; CNP: 13 cifre)")]
    NotDigits,
    #[error("CUI-ul are o lungime nevalidă (CIF: 2–10 cifre; CNP: 13 cifre)")]
    Length,
    #[error("CIF-ul nu poate începe cu 0")]
    LeadingZero,
    #[error("CNP-ul nu începe cu o cifră de sex/secol validă")]
    CnpSex,
    #[error("CNP-ul nu conține o dată de naștere validă")]
    CnpDate,
    #[error("cifra de control nu corespunde")]
    ControlDigit,
}

const CNP_WEIGHTS: [u32; 12] = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
const CIF_KEY: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];

impl Cui {
    /// Validates `text` as a CNP/NIF (13 digits) or a CIF/CUI (2–10 digits, optional `RO`).
    pub fn parse(text: &str) -> Result<Cui, IdentError> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("RO")
            .or_else(|| trimmed.strip_prefix("ro"))
            .or_else(|| trimmed.strip_prefix("Ro"))
            .map(str::trim_start)
            .unwrap_or(trimmed);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentError::NotDigits);
        }
        let had_prefix = digits.len() != trimmed.len();
        match digits.len() {
            13 if !had_prefix => validate_cnp(digits).map(|()| Cui::Cnp(digits.to_string())),
            2..=10 => validate_cif(digits).map(|()| Cui::Cif(digits.to_string())),
            _ => Err(IdentError::Length),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Cui::Cnp(s) | Cui::Cif(s) => s,
        }
    }

    pub fn is_person(&self) -> bool {
        matches!(self, Cui::Cnp(_))
    }
}

fn digit_values(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b - b'0')).collect()
}

fn validate_cnp(cnp: &str) -> Result<(), IdentError> {
    let d = digit_values(cnp);
    let centuries: &[i32] = match d[0] {
        1 | 2 => &[1900],
        3 | 4 => &[1800],
        5 | 6 => &[2000],
        // Residents and foreigners: the century is not encoded, so either may be meant.
        7..=9 => &[1900, 2000],
        _ => return Err(IdentError::CnpSex),
    };
    let yy = (d[1] * 10 + d[2]) as i32;
    let mm = d[3] * 10 + d[4];
    let dd = d[5] * 10 + d[6];
    if !centuries
        .iter()
        .any(|c| NaiveDate::from_ymd_opt(c + yy, mm, dd).is_some())
    {
        return Err(IdentError::CnpDate);
    }
    let sum: u32 = d.iter().zip(CNP_WEIGHTS).map(|(a, w)| a * w).sum();
    let control = match sum % 11 {
        10 => 1,
        c => c,
    };
    if control != d[12] {
        return Err(IdentError::ControlDigit);
    }
    Ok(())
}

fn validate_cif(cif: &str) -> Result<(), IdentError> {
    if cif.starts_with('0') {
        return Err(IdentError::LeadingZero);
    }
    let d = digit_values(cif);
    let (body, control) = d.split_at(d.len() - 1);
    let key = &CIF_KEY[CIF_KEY.len() - body.len()..];
    let sum: u32 = body.iter().zip(key).map(|(a, w)| a * w).sum();
    let expected = match sum * 10 % 11 {
        10 => 0,
        c => c,
    };
    if expected != control[0] {
        return Err(IdentError::ControlDigit);
    }
    Ok(())
}

/// Computes the control digit that completes the first 12 digits of a CNP. Used to make
/// valid demo and benchmark registers, never to "repair" input.
pub fn cnp_control_digit(first12: &str) -> u32 {
    let sum: u32 = digit_values(first12)
        .iter()
        .zip(CNP_WEIGHTS)
        .map(|(a, w)| a * w)
        .sum();
    match sum % 11 {
        10 => 1,
        c => c,
    }
}

/// Computes the control digit that completes a CIF body (1–9 digits).
pub fn cif_control_digit(body: &str) -> u32 {
    let d = digit_values(body);
    let key = &CIF_KEY[CIF_KEY.len() - d.len()..];
    let sum: u32 = d.iter().zip(key).map(|(a, w)| a * w).sum();
    match sum * 10 % 11 {
        10 => 0,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cnp_is_accepted() {
        // 1 800101 22 111 1: control digit computed independently (Python, weights 279146358279).
        assert_eq!(
            Cui::parse("1800101221111"),
            Ok(Cui::Cnp("1800101221111".into()))
        );
    }

    #[test]
    fn cnp_with_wrong_control_digit_is_refused() {
        assert_eq!(Cui::parse("1800101221112"), Err(IdentError::ControlDigit));
    }

    #[test]
    fn cnp_with_impossible_birth_date_is_refused() {
        // 31 February 1980; control digit made valid so that only the date is wrong.
        let first12 = "180023122111";
        let cnp = format!("{first12}{}", cnp_control_digit(first12));
        assert_eq!(Cui::parse(&cnp), Err(IdentError::CnpDate));
        // 29 February is valid in 2000 (leap) but not in 1900.
        let leap = format!("500022940001{}", cnp_control_digit("500022940001"));
        assert!(Cui::parse(&leap).is_ok());
        let not_leap = format!("100022940001{}", cnp_control_digit("100022940001"));
        assert_eq!(Cui::parse(&not_leap), Err(IdentError::CnpDate));
    }

    #[test]
    fn cnp_starting_with_zero_is_refused() {
        let first12 = "080010122111";
        let cnp = format!("{first12}{}", cnp_control_digit(first12));
        assert_eq!(Cui::parse(&cnp), Err(IdentError::CnpSex));
    }

    #[test]
    fn identifier_of_wrong_length_is_refused() {
        assert_eq!(Cui::parse("1"), Err(IdentError::Length));
        assert_eq!(Cui::parse("18001012211"), Err(IdentError::Length));
        assert_eq!(Cui::parse("180010122111"), Err(IdentError::Length));
        assert_eq!(Cui::parse("18001012211110"), Err(IdentError::Length));
    }

    #[test]
    fn identifier_with_letters_is_refused() {
        assert_eq!(Cui::parse("18001O1221111"), Err(IdentError::NotDigits));
        assert_eq!(Cui::parse(""), Err(IdentError::NotDigits));
        assert_eq!(Cui::parse("RO"), Err(IdentError::NotDigits));
        assert_eq!(Cui::parse("12-34"), Err(IdentError::NotDigits));
    }

    #[test]
    fn valid_cif_is_accepted_with_or_without_ro() {
        // 18547290 is the CIF of the Ministry of Finance's public example; 4267117 Municipiul Iași.
        assert_eq!(Cui::parse("18547290"), Ok(Cui::Cif("18547290".into())));
        assert_eq!(Cui::parse("RO18547290"), Ok(Cui::Cif("18547290".into())));
        assert_eq!(Cui::parse("RO 18547290"), Ok(Cui::Cif("18547290".into())));
        assert_eq!(Cui::parse("4267117"), Ok(Cui::Cif("4267117".into())));
    }

    #[test]
    fn cif_with_wrong_control_digit_is_refused() {
        assert_eq!(Cui::parse("18547291"), Err(IdentError::ControlDigit));
    }

    #[test]
    fn cif_with_leading_zero_is_refused() {
        assert_eq!(Cui::parse("018547290"), Err(IdentError::LeadingZero));
    }

    #[test]
    fn cif_control_digit_of_ten_becomes_zero() {
        // Find a body whose weighted sum ×10 mod 11 is 10 and check the rule end to end.
        let body = (10..10_000u32)
            .map(|n| n.to_string())
            .find(|b| {
                let d = digit_values(b);
                let key = &CIF_KEY[CIF_KEY.len() - d.len()..];
                d.iter().zip(key).map(|(a, w)| a * w).sum::<u32>() * 10 % 11 == 10
            })
            .expect("some body has remainder 10");
        assert_eq!(cif_control_digit(&body), 0);
        assert!(Cui::parse(&format!("{body}0")).is_ok());
    }

    #[test]
    fn thirteen_digits_after_ro_is_not_a_cnp() {
        assert_eq!(Cui::parse("RO1800101221111"), Err(IdentError::Length));
    }
}
