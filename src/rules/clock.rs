//! Dates and times of the norm. Everything is Romanian local time (Europe/Bucharest), with
//! the fixed textual forms of Annex 1.

use chrono::{DateTime, NaiveDateTime};
use chrono_tz::{Europe::Bucharest, Tz};

pub fn now() -> DateTime<Tz> {
    chrono::Utc::now().with_timezone(&Bucharest)
}

/// The one way the command line shows a moment: Romanian time with its offset from UTC,
/// `2025-05-20 13:11:12 +03:00`, whatever zone it is stored in.
pub fn show_utc(at: &NaiveDateTime) -> String {
    use chrono::TimeZone as _;
    Bucharest
        .from_utc_datetime(at)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// `show_utc` for a moment stored in Romanian time (the payment journal).
pub fn show_local(at: &NaiveDateTime) -> String {
    use chrono::TimeZone as _;
    match Bucharest.from_local_datetime(at).earliest() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        // A time skipped by the change to summer time cannot have been written by us.
        None => at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// A moment given in Romanian time, in UTC (for filters over UTC columns).
pub fn local_to_utc(at: NaiveDateTime) -> NaiveDateTime {
    use chrono::TimeZone as _;
    Bucharest
        .from_local_datetime(&at)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(at)
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
    fn the_command_line_shows_romanian_time_with_its_offset() {
        let at = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // Summer (UTC+3) and winter (UTC+2).
        assert_eq!(
            show_utc(&at("2025-05-20 10:11:12")),
            "2025-05-20 13:11:12 +03:00"
        );
        assert_eq!(
            show_utc(&at("2025-01-20 10:11:12")),
            "2025-01-20 12:11:12 +02:00"
        );
        assert_eq!(
            show_local(&at("2025-05-20 13:11:12")),
            "2025-05-20 13:11:12 +03:00"
        );
        assert_eq!(
            local_to_utc(at("2025-05-20 13:11:12")),
            at("2025-05-20 10:11:12")
        );
    }

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
