//! The columns of each register file and the check of one row: what a tax system's export
//! must hold for each kind of record, and what it becomes. Messages are English, as is
//! the rest of the command line.

use std::collections::HashSet;

use super::read::{parse_amount, Column, Row, Table};
use super::Kind;
use crate::rules::iban::Iban;
use crate::rules::ident::{Cui, IdentError};
use crate::rules::register::{debt_key, Debt, Person, TaxType};

/// The longest `descriere` a debt without `id_debit` may have: its natural key must fit
/// the databases' index (600 characters on MariaDB).
const MAX_NATURAL_DESCRIERE: usize = 500;
/// The longest `id_debit`.
const MAX_ID_DEBIT: usize = 200;

pub mod tax_type_columns {
    pub const ID: usize = 0;
    pub const NUME: usize = 1;
    pub const PRIORITATE: usize = 2;
    pub const IBAN: usize = 3;
    pub const DETALII_HEADER: usize = 4;
    pub const ID_NOM_UNIC: usize = 5;
    pub const DEBIT: usize = 6;
    pub const VAL_INITIALA: usize = 7;
    pub const INACTIV: usize = 8;
    pub const PLATITOR: usize = 9;
    pub const COD_CLS_BUG: usize = 10;
    pub const COD_DB: usize = 11;
}

pub static TAX_TYPE_COLUMNS: &[Column] = &[
    Column {
        name: "id_tip_suma",
        aliases: &["cod", "id", "cod_tip_suma", "idTipSuma"],
        required: true,
    },
    Column {
        name: "nume",
        aliases: &["denumire"],
        required: true,
    },
    Column {
        name: "prioritate",
        aliases: &[],
        required: false,
    },
    Column {
        name: "iban",
        aliases: &["cont", "cont_iban"],
        required: true,
    },
    Column {
        name: "detalii_header",
        aliases: &[],
        required: false,
    },
    Column {
        name: "id_nom_unic",
        aliases: &["idNomUnic"],
        required: false,
    },
    Column {
        name: "debit",
        aliases: &["cu_debit"],
        required: false,
    },
    Column {
        name: "val_initiala",
        aliases: &["valInitiala", "valoare_initiala"],
        required: false,
    },
    Column {
        name: "inactiv",
        aliases: &[],
        required: false,
    },
    Column {
        name: "platitor",
        aliases: &[],
        required: false,
    },
    Column {
        name: "cod_cls_bug",
        aliases: &["codClsBug", "clasificatie_bugetara"],
        required: false,
    },
    Column {
        name: "cod_db",
        aliases: &["codDb"],
        required: false,
    },
];

pub static PERSON_COLUMNS: &[Column] = &[
    Column {
        name: "Nr. crt.",
        aliases: &["nr", "nr_crt", "numar_curent"],
        required: false,
    },
    Column {
        name: "CNP/NIF sau CIF/CUI",
        aliases: &[
            "cui",
            "cnp",
            "cif",
            "cnp_cui",
            "cod_fiscal",
            "CNP/CUI",
            "CNP/NIF",
            "CIF/CUI",
        ],
        required: true,
    },
    Column {
        name: "Nume",
        aliases: &["denumire", "nume_prenume", "nume si prenume"],
        required: true,
    },
    Column {
        name: "Adresa",
        aliases: &["domiciliu", "sediu"],
        required: false,
    },
];

pub static DEBT_COLUMNS: &[Column] = &[
    Column {
        name: "cui",
        aliases: &["cnp", "cif", "CNP/NIF sau CIF/CUI", "cod_fiscal", "CNP/CUI"],
        required: true,
    },
    Column {
        name: "id_tip_suma",
        aliases: &["cod_tip_suma", "tip_suma", "idTipSuma"],
        required: true,
    },
    Column {
        name: "descriere",
        aliases: &["detalii", "proprietate"],
        required: false,
    },
    Column {
        name: "debit",
        aliases: &[],
        required: true,
    },
    Column {
        name: "ramasita",
        aliases: &[],
        required: true,
    },
    Column {
        name: "majorari",
        aliases: &[],
        required: true,
    },
    Column {
        name: "penalitati",
        aliases: &[],
        required: true,
    },
    Column {
        name: "scadenta",
        aliases: &["data_scadenta", "termen", "termen_plata"],
        required: true,
    },
    Column {
        name: "id_debit",
        aliases: &["cod_debit", "id_obligatie", "nr_debit"],
        required: false,
    },
];

/// The rows of one file, checked.
pub enum Rows {
    TaxTypes(Vec<(u64, TaxType)>),
    Persons(Vec<(u64, Person)>),
    Debts(Vec<(u64, Debt)>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::TaxTypes(r) => r.len(),
            Rows::Persons(r) => r.len(),
            Rows::Debts(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn columns(kind: Kind) -> &'static [Column] {
    match kind {
        Kind::TaxTypes => TAX_TYPE_COLUMNS,
        Kind::Persons => PERSON_COLUMNS,
        Kind::Debts => DEBT_COLUMNS,
    }
}

/// Checks one row of a `kind` file.
pub fn check_tax_type(t: &Table, r: &Row) -> Result<TaxType, String> {
    use tax_type_columns as c;
    let id = whole(r.get(c::ID), "id_tip_suma")?;
    if !(1..=i64::from(i32::MAX)).contains(&id) {
        return Err(format!(
            "id_tip_suma {id} must be between 1 and {} (Annex 1's xsd:int)",
            i32::MAX
        ));
    }
    let nume = non_empty(r.get(c::NUME), "nume")?;
    let prioritate =
        match r.get(c::PRIORITATE) {
            "" if !t.has(c::PRIORITATE) => 0,
            p => p.parse::<i32>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                format!("prioritate `{p}` must be 0 (not prioritised) or 1, 2, …")
            })?,
        };
    let iban = match r.get(c::IBAN) {
        "" => String::new(),
        text => Iban::parse(text)
            .map_err(|e| format!("iban `{text}`: {e}"))?
            .as_str()
            .to_string(),
    };
    let detalii_header = match optional(r.get(c::DETALII_HEADER)) {
        Some(h) if h.split(';').count() != 5 => {
            return Err(format!(
                "detalii_header `{h}` must have 5 titles separated by `;`"
            ))
        }
        other => other,
    };
    let debit = digit(r.get(c::DEBIT), "debit", 1, &[0, 1, 2], "0, 1 or 2")?;
    let val_initiala = match r.get(c::VAL_INITIALA) {
        "" => None,
        text => Some(non_negative(text, "val_initiala")?),
    };
    let inactiv = digit(r.get(c::INACTIV), "inactiv", 0, &[0, 1], "0 or 1")? == 1;
    let platitor = digit(r.get(c::PLATITOR), "platitor", 0, &[0, 1, 2], "0, 1 or 2")?;
    Ok(TaxType {
        id,
        nume: nume.to_string(),
        prioritate: prioritate.into(),
        iban,
        detalii_header,
        id_nom_unic: optional(r.get(c::ID_NOM_UNIC)),
        debit,
        val_initiala,
        inactiv,
        platitor,
        cod_cls_bug: optional(r.get(c::COD_CLS_BUG)),
        cod_db: optional(r.get(c::COD_DB)),
    })
}

pub fn check_person(r: &Row) -> Result<Person, String> {
    let cui = cui(r.get(1))?;
    Ok(Person {
        cui: cui.as_str().to_string(),
        nume: non_empty(r.get(2), "Nume")?.to_string(),
        adresa: r.get(3).to_string(),
    })
}

/// `tax_types` holds the codes of the register's tax types.
pub fn check_debt(r: &Row, tax_types: &HashSet<i64>) -> Result<Debt, String> {
    let cui = cui(r.get(0))?;
    let id_tip_suma = whole(r.get(1), "id_tip_suma")?;
    if !tax_types.contains(&id_tip_suma) {
        return Err(format!(
            "id_tip_suma {id_tip_suma} is not a tax type of the register (import tax-types first)"
        ));
    }
    let descriere = r.get(2);
    let mut amounts = [0i64; 4];
    for (slot, (i, name)) in amounts.iter_mut().zip([
        (3, "debit"),
        (4, "ramasita"),
        (5, "majorari"),
        (6, "penalitati"),
    ]) {
        *slot = non_negative(r.get(i), name)?;
    }
    let scadenta = date(r.get(7))?;
    let id_debit = optional(r.get(8));
    if let Some(id) = &id_debit {
        if id.chars().count() > MAX_ID_DEBIT {
            return Err(format!("id_debit is longer than {MAX_ID_DEBIT} characters"));
        }
    } else if descriere.chars().count() > MAX_NATURAL_DESCRIERE {
        return Err(format!(
            "descriere is longer than {MAX_NATURAL_DESCRIERE} characters: give the debt an id_debit"
        ));
    }
    Ok(Debt::new(
        cui.as_str(),
        &debt_key(id_debit.as_deref(), id_tip_suma, &scadenta, descriere),
        id_debit.as_deref(),
        id_tip_suma,
        descriere,
        amounts,
        &scadenta,
    ))
}

fn cui(text: &str) -> Result<Cui, String> {
    if text.is_empty() {
        return Err("the CUI (CNP/NIF or CIF) is empty".into());
    }
    Cui::parse(text).map_err(|e| {
        let why = match e {
            IdentError::NotDigits => "it must be digits (a CIF may start with RO)",
            IdentError::Length => "a CNP/NIF has 13 digits, a CIF 2 to 10",
            IdentError::LeadingZero => "a CIF cannot start with 0",
            IdentError::CnpSex => "a CNP cannot start with this digit",
            IdentError::CnpDate => "the CNP holds no valid date of birth",
            IdentError::ControlDigit => "its control digit is wrong",
        };
        format!("CUI `{text}` is not valid: {why}")
    })
}

fn whole(text: &str, name: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("{name} `{text}` is not a whole number"))
}

fn non_negative(text: &str, name: &str) -> Result<i64, String> {
    let bani = parse_amount(text).map_err(|e| format!("{name}: {e}"))?;
    if bani < 0 {
        return Err(format!("{name} `{text}` must not be negative"));
    }
    Ok(bani)
}

/// A one-digit code with a default when the cell (or the column) is empty.
fn digit(text: &str, name: &str, default: i64, allowed: &[i64], say: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(default);
    }
    text.parse()
        .ok()
        .filter(|d| allowed.contains(d))
        .ok_or_else(|| format!("{name} `{text}` must be {say}"))
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn non_empty<'r>(s: &'r str, name: &str) -> Result<&'r str, String> {
    if s.is_empty() {
        Err(format!("{name} is empty"))
    } else {
        Ok(s)
    }
}

/// `text` as a date `YYYY-MM-DD`; also `DD.MM.YYYY`, as Romanian spreadsheets write it.
fn date(text: &str) -> Result<String, String> {
    // Already ISO, as most exports write it (millions of rows): checked without parsing
    // it through a format string and writing it out again.
    let b = text.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let number = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| text[r].parse().ok())
                .flatten()
        };
        if let (Some(y), Some(m), Some(d)) = (number(0..4), number(5..7), number(8..10)) {
            if chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some() {
                return Ok(text.to_string());
            }
        }
    }
    let parsed = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%d.%m.%Y"));
    match parsed {
        Ok(d) if text.len() >= 8 => Ok(d.format("%Y-%m-%d").to_string()),
        _ => Err(format!(
            "scadenta `{text}` must be a date YYYY-MM-DD (or DD.MM.YYYY)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_stored_as_iso() {
        assert_eq!(date("2025-03-31").unwrap(), "2025-03-31");
        assert_eq!(date("31.03.2025").unwrap(), "2025-03-31");
        assert!(date("2025-02-30").is_err());
        assert!(date("").is_err());
    }
}
