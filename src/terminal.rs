//! What the command line prints on a terminal: the listings of `audit` and `journal` as
//! aligned tables, or as JSON. Storage hands over rows; how they look is decided here.

use std::io::Write as _;

use chrono::NaiveDateTime;

use crate::rules::clock;
use crate::store::{audit, journal};

/// Prints `rows` as pretty JSON, `none` when there are none, else as `table` draws them.
pub fn print_listing<T: serde::Serialize>(
    rows: &[T],
    json: bool,
    none: &str,
    table: impl Fn(&[T]) -> String,
) -> anyhow::Result<()> {
    let out = if json {
        serde_json::to_string_pretty(rows)? + "\n"
    } else if rows.is_empty() {
        format!("{none}\n")
    } else {
        table(rows)
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}

/// The audit rows: times in Romanian time, as the header says (stored in UTC).
pub fn audit_table(rows: &[audit::Row]) -> String {
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                NaiveDateTime::parse_from_str(&r.at, audit::AT_FORMAT)
                    .or_else(|_| NaiveDateTime::parse_from_str(&r.at, "%Y-%m-%d %H:%M:%S"))
                    .map(|t| clock::show_utc(&t))
                    .unwrap_or_else(|_| format!("{} UTC", r.at)),
                r.operation.clone(),
                r.cui.clone(),
                r.source.clone(),
                r.outcome.clone(),
                r.fault_code.map(|c| c.to_string()).unwrap_or_default(),
                r.duration_ms.to_string(),
            ]
        })
        .collect();
    table(
        [
            "time (Europe/Bucharest)",
            "operation",
            "CUI",
            "source",
            "outcome",
            "fault",
            "ms",
        ],
        &cells,
    )
}

/// The payment journal's rows: times in Romanian time, as stored.
pub fn journal_table(rows: &[journal::Row]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                NaiveDateTime::parse_from_str(&r.received_at, "%Y-%m-%d %H:%M:%S")
                    .map(|t| clock::show_local(&t))
                    .unwrap_or_else(|_| r.received_at.clone()),
                r.order.clone(),
                r.cui.clone(),
                r.outcome.clone(),
                r.sume.clone(),
                r.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        [
            "received (Europe/Bucharest)",
            "order",
            "CUI",
            "outcome",
            "amounts (idTipSuma=lei)",
            "detail",
        ],
        &cells,
    )
}

/// `header` and `cells` in columns two spaces apart, each as wide as its widest cell; no
/// space at the end of a line.
fn table<const N: usize>(header: [&str; N], cells: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cols.len() {
                s.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&header);
    for row in cells {
        out.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_header_and_aligned_columns() {
        let row = audit::Row {
            at: "2025-05-20 10:11:12.000".into(),
            operation: "inregistrareIncasari".into(),
            cui: "**********014".into(),
            source: "192.0.2.1".into(),
            outcome: "fault".into(),
            fault_code: Some(2),
            duration_ms: 7,
        };
        let table = audit_table(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("time (Europe/Bucharest)"));
        assert_eq!(lines[0].find("operation"), lines[1].find("inregistrare"));
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(&cells[..3], ["2025-05-20", "13:11:12", "+03:00"]);
        assert_eq!(
            cells[3..],
            [
                "inregistrareIncasari",
                "**********014",
                "192.0.2.1",
                "fault",
                "2",
                "7"
            ]
        );
    }
}
