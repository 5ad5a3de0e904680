//! The daily receipts report ("borderou"): for one day (Romanian time), per IBAN and tax
//! type, how many items were paid and their sum, the grand total and the day's exceptions.
//! Its rows are the export's rows of the same day, so the totals are the export's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::rules::money::Bani;
use crate::store::payout::{self as sql, Exception, Range};
use crate::store::Store;

/// One line of the report: an account and a tax type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub iban: String,
    pub id_tip_suma: i64,
    pub tax_type: String,
    pub count: usize,
    pub total: Bani,
}

#[derive(Clone, Debug)]
pub struct Daily {
    pub date: NaiveDate,
    pub institution: String,
    pub lines: Vec<Line>,
    /// Distinct payments (orders) of the day.
    pub payments: usize,
    pub items: usize,
    pub total: Bani,
    pub exceptions: Vec<Exception>,
}

impl Daily {
    /// The subtotal of one IBAN.
    pub fn per_iban(&self) -> Vec<(String, usize, Bani)> {
        let mut m: BTreeMap<String, (usize, Bani)> = BTreeMap::new();
        for l in &self.lines {
            let e = m.entry(l.iban.clone()).or_insert((0, Bani::ZERO));
            e.0 += l.count;
            e.1 = e.1 + l.total;
        }
        m.into_iter().map(|(k, (c, t))| (k, c, t)).collect()
    }
}

pub async fn daily(store: &Store, date: NaiveDate, institution: &str) -> anyhow::Result<Daily> {
    let upto = sql::stamp(store).await?;
    let (from, before) = super::date_bounds(Some(date), Some(date));
    let range = Range {
        after: 0,
        upto,
        from: from.clone(),
        before: before.clone(),
    };
    let rows = sql::items(store, &range).await?;
    let mut lines: BTreeMap<(String, i64), Line> = BTreeMap::new();
    let mut orders = std::collections::BTreeSet::new();
    for r in &rows {
        orders.insert(r.order_no);
        let l = lines
            .entry((r.iban.clone(), r.id_tip_suma))
            .or_insert_with(|| Line {
                iban: r.iban.clone(),
                id_tip_suma: r.id_tip_suma,
                tax_type: r.tax_type.clone(),
                count: 0,
                total: Bani::ZERO,
            });
        l.count += 1;
        l.total = l.total + Bani(r.valoare);
    }
    let exceptions = sql::exceptions(
        store,
        from.as_deref().unwrap_or_default(),
        before.as_deref().unwrap_or_default(),
        false,
    )
    .await?;
    Ok(Daily {
        date,
        institution: institution.to_string(),
        lines: lines.into_values().collect(),
        payments: orders.len(),
        items: rows.len(),
        total: Bani(rows.iter().map(|r| r.valoare).sum()),
        exceptions,
    })
}

/// `1.234,56`: how an amount is shown to a person in Romania.
pub fn lei_ro(b: Bani) -> String {
    let s = b.to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let (sign, digits) = match whole.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", whole),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{frac}")
}

/// The CSV form (amounts with a point, like the export).
pub fn csv(d: &Daily) -> anyhow::Result<String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(["date", "iban", "id_tip_suma", "tax_type", "count", "amount"])?;
    let date = d.date.to_string();
    for l in &d.lines {
        w.write_record([
            date.as_str(),
            &l.iban,
            &l.id_tip_suma.to_string(),
            &l.tax_type,
            &l.count.to_string(),
            &l.total.to_string(),
        ])?;
    }
    w.write_record([
        date.as_str(),
        "TOTAL",
        "",
        "",
        &d.items.to_string(),
        &d.total.to_string(),
    ])?;
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The Romanian text of a journal outcome or a credit.
pub fn reason_ro(reason: &str) -> &'static str {
    match reason {
        "conflict" => "ordin duplicat cu alt conținut",
        "unknown_tax_type" => "tip de sumă necunoscut",
        "unknown_cui" => "persoană necunoscută sau ștearsă din registru",
        "invalid_cui" => "CNP/CUI invalid",
        "invalid_message" => "mesaj invalid",
        "credit" => "sumă plătită peste debit, păstrată ca credit",
        _ => "altă situație",
    }
}

/// The body of the report (a table per account and the exceptions), for the standalone
/// page and the console.
pub fn html_body(d: &Daily) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<table class=\"raport\"><caption>Încasări pe cont și tip de sumă</caption>\
         <thead><tr><th>Cont (IBAN)</th><th>Tip de sumă</th><th class=\"n\">Nr. plăți</th>\
         <th class=\"n\">Suma (lei)</th></tr></thead><tbody>"
    );
    let per_iban = d.per_iban();
    for (iban, count, total) in &per_iban {
        for l in d.lines.iter().filter(|l| &l.iban == iban) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} – {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&l.iban),
                l.id_tip_suma,
                esc(&l.tax_type),
                l.count,
                lei_ro(l.total)
            );
        }
        let _ = write!(
            h,
            "<tr class=\"sub\"><td colspan=\"2\">Total cont {}</td><td class=\"n\">{count}</td><td class=\"n\">{}</td></tr>",
            esc(iban),
            lei_ro(*total)
        );
    }
    if d.lines.is_empty() {
        h.push_str("<tr><td colspan=\"4\">Nicio încasare în această zi.</td></tr>");
    }
    let _ = write!(
        h,
        "</tbody><tfoot><tr><th colspan=\"2\">TOTAL GENERAL ({} ordine de plată)</th>\
         <th class=\"n\">{}</th><th class=\"n\" id=\"total\">{}</th></tr></tfoot></table>",
        d.payments,
        d.items,
        lei_ro(d.total)
    );
    let _ = write!(h, "<h2>Excepții ale zilei ({})</h2>", d.exceptions.len());
    if d.exceptions.is_empty() {
        h.push_str("<p>Nicio excepție.</p>");
    } else {
        h.push_str(
            "<table class=\"raport\"><thead><tr><th>Ora</th><th>Ordin</th><th>CNP/CUI</th>\
             <th>Situația</th><th class=\"n\">Suma (lei)</th><th>Rezolvată</th></tr></thead><tbody>",
        );
        for e in &d.exceptions {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(e.at.get(11..).unwrap_or(&e.at)),
                esc(&e.order),
                esc(&e.cui),
                reason_ro(&e.reason),
                e.amount.map(|a| lei_ro(Bani(a))).unwrap_or_default(),
                match &e.handled {
                    Some((_, who, note)) => format!("da ({}: {})", esc(who), esc(note)),
                    None => "nu".into(),
                }
            );
        }
        h.push_str("</tbody></table>");
    }
    h
}

pub const PRINT_CSS: &str = "\
@page { size: A4; margin: 18mm 15mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 11pt; color: #000; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 15pt; margin: 0 0 4mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; }
.inst { font-weight: bold; font-size: 12pt; }
table.raport { border-collapse: collapse; width: 100%; page-break-inside: auto; }
table.raport th, table.raport td { border: 1px solid #444; padding: 1.5mm 2mm; text-align: left; }
table.raport tr { page-break-inside: avoid; }
table.raport caption { text-align: left; font-weight: bold; padding-bottom: 2mm; }
.n { text-align: right; white-space: nowrap; }
tr.sub td { font-style: italic; background: #eee; }
.semnaturi { display: flex; justify-content: space-between; margin-top: 20mm; page-break-inside: avoid; }
.semnaturi div { width: 45%; border-top: 1px solid #000; padding-top: 2mm; text-align: center; }
";

/// The standalone printable page.
pub fn html(d: &Daily) -> String {
    let institution = if d.institution.is_empty() {
        "(numele instituției nu este configurat: institutie_nume)".to_string()
    } else {
        esc(&d.institution)
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"ro\"><head><meta charset=\"utf-8\">\
         <title>Borderou încasări ghiseul.ro {date}</title><style>{css}</style></head><body>\
         <p class=\"inst\">{institution}</p>\
         <h1>Borderou de încasări prin ghiseul.ro din {date_ro}</h1>\
         {body}\
         <div class=\"semnaturi\"><div>Întocmit,<br>nume, semnătură</div>\
         <div>Verificat,<br>nume, semnătură</div></div>\
         <p><small>Generat de ghiseul-connector la {now}. Totalurile sunt ale exportului \
         plăților din aceeași zi.</small></p></body></html>\n",
        date = d.date,
        date_ro = d.date.format("%d.%m.%Y"),
        css = PRINT_CSS,
        body = html_body(d),
        now = crate::rules::clock::now().format("%d.%m.%Y %H:%M"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_on_screen_are_romanian() {
        assert_eq!(lei_ro(Bani(123456)), "1.234,56");
        assert_eq!(lei_ro(Bani(5)), "0,05");
        assert_eq!(lei_ro(Bani(100_000_000)), "1.000.000,00");
        assert_eq!(lei_ro(Bani(-99_900)), "-999,00");
    }
}
