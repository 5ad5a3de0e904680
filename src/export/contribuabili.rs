//! Annex 3: `contribuabili.csv`, the taxpayers of the register for the SNEP operator.
//!
//! The norm gives the columns (`Nr. crt.`, `CNP/NIF sau CIF/CUI`, `Nume`, `Adresa`) and
//! says the file is made with a spreadsheet; the rest is decided in docs/annexes.md (D26):
//! a header row with the norm's column titles, `;` between fields (what a spreadsheet
//! with Romanian settings writes and reads), UTF-8 with a byte-order mark (the only
//! encoding in reach of a spreadsheet that holds ș and ț with a comma below; the mark is
//! how Excel knows it), CRLF line ends, a field in double quotes when it holds `;`, a
//! quote or a line end. `Nr. crt.` counts from 1. A line end or other control character
//! inside a name or an address becomes one space. The file reads back through
//! `ghiseul-connector import persons`.

use super::{ExportError, Output};
use crate::store::Store;

/// The header row: Annex 3's column titles.
pub const HEADER: [&str; 4] = ["Nr. crt.", "CNP/NIF sau CIF/CUI", "Nume", "Adresa"];

/// The UTF-8 byte-order mark that starts the file.
pub const BOM: &str = "\u{feff}";

/// Writes every taxpayer still in the register (removed ones are not) to `out`, in the
/// order of their `cod`; returns how many. An empty register is an error: the operator
/// would get a file with nothing to enrol.
pub async fn contribuabili(store: &Store, out: &mut Output) -> Result<u64, ExportError> {
    let name = out.name();
    let mut n: u64 = 0;
    let writer = out.writer();
    writer
        .write_all(BOM.as_bytes())
        .map_err(ExportError::io(&name))?;
    let mut csv = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(writer);
    let failed = |e: csv::Error| ExportError::Io {
        what: name.clone(),
        source: e.into(),
    };
    csv.write_record(HEADER).map_err(failed)?;
    store
        .each_person(|p| {
            n += 1;
            let nr = n.to_string();
            csv.write_record([&*nr, &p.cui, &one_line(&p.nume), &one_line(&p.adresa)])
                .map_err(failed)
        })
        .await?;
    csv.flush().map_err(ExportError::io(&name))?;
    if n == 0 {
        return Err(ExportError::Register(
            "the register holds no taxpayer: import them first \
             (`ghiseul-connector import persons FILE`), then export again"
                .into(),
        ));
    }
    Ok(n)
}

/// `text` on one line: every run of control characters (line ends, tabs) becomes one
/// space.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut s = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_control() {
            if !in_run {
                s.push(' ');
            }
            in_run = true;
        } else {
            s.push(c);
            in_run = false;
        }
    }
    s.into()
}

use std::io::Write as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_inside_a_value_become_one_space() {
        assert_eq!(one_line("Str. Lungă\r\nnr. 1"), "Str. Lungă nr. 1");
        assert_eq!(one_line("a\tb"), "a b");
        assert_eq!(one_line("Ștefan"), "Ștefan");
    }
}
