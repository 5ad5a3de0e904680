//! Dates and times of the norm. Everything is Romanian local time (Europe/Bucharest), with
//! the fixed textual forms of Annex 1.

use chrono::{DateTime, NaiveDateTime};
use chrono_tz::{Europe::Bucharest, Tz};

pub fn now() -> DateTime<Tz> {
    chrono::Utc::now().with_timezone(&Bucharest)
}

/// `timestamp`: `aaaallzzoommss`.
pub fn timestamp(t: &DateTime<Tz>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// `dataCalcul`: `aaaallzz`.
pub fn data_calcul(t: &DateTime<Tz>) -> String {
    t.format("%Y%m%d").to_string()
}

/// True when `text` is a 14-digit `aaaallzzoommss` that names a real moment.
pub fn is_valid_timestamp(text: &str) -> bool {
    text.len() == 14
        && text.bytes().all(|b| b.is_ascii_digit())
        && NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S").is_ok()
}

/// Reads a payment `data`: `aaaa-ll-zz oo:mm:ss`.
pub fn parse_payment_date(text: &str) -> Option<NaiveDateTime> {
    if text.len() != 19 {
        return None;
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_fourteen_digits_and_a_real_date() {
        assert!(is_valid_timestamp("20100915083837"));
        assert!(!is_valid_timestamp("2010091508383"));
        assert!(!is_valid_timestamp("20100231083837"));
        assert!(!is_valid_timestamp("20100915253837"));
        assert!(!is_valid_timestamp("2010-09-15 08:"));
        assert!(!is_valid_timestamp("+0100915083837"));
    }

    #[test]
    fn payment_date_has_the_form_of_the_norm() {
        assert!(parse_payment_date("2010-09-15 08:38:12").is_some());
        assert!(parse_payment_date("2010-09-15T08:38:12").is_none());
        assert!(parse_payment_date("2010-9-15 08:38:12").is_none());
        assert!(parse_payment_date("2010-02-30 08:38:12").is_none());
        assert!(parse_payment_date("2010-09-15 08:38").is_none());
    }

    #[test]
    fn times_are_written_in_bucharest_local_time() {
        use chrono::TimeZone;
        // 2024-07-01 21:30 UTC is 2024-07-02 00:30 in Bucharest (UTC+3 in summer).
        let t = chrono::Utc
            .with_ymd_and_hms(2024, 7, 1, 21, 30, 5)
            .unwrap()
            .with_timezone(&Bucharest);
        assert_eq!(timestamp(&t), "20240702003005");
        assert_eq!(data_calcul(&t), "20240702");
    }
}
