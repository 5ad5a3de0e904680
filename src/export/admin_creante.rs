//! Annex 5: `AdminCreante.xml`, the register's debts for ANAF, valid against the corrected
//! `AdminCreante.xsd` (docs/AdminCreante.xsd). Every value is checked here against the
//! schema's facet before it is written, so a register that cannot make a valid file gets
//! an error naming what to fix, and no file.
//!
//! One `contribuabil` element is one debt line of one category (the schema's elements
//! carry attributes only); a taxpayer with debts has one element per debt and category,
//! one after the other. The decisions (docs/annexes.md):
//! - `catS` from our columns, as the norm defines the categories: `R` (rămășiță, arrears of
//!   earlier years) from `ramasita`, `C` (curent) from `debit`, `A` (accesorii) from
//!   `majorari` + `penalitati`. A category with nothing imported and nothing owed is left
//!   out; one paid in full stays, with `sumaR="0"`, so that ANAF learns it was paid.
//! - `sumaI`: the amount as imported (the register's record of the debt title); `sumaR`:
//!   what is still owed after the payments recorded here. In whole lei by default, each
//!   amount rounded to the nearest leu, 50 bani up (D22); `--unit bani` writes bani.
//! - `idRefOp`: the debt's id in the register and the category letter (`1042C`): unique in
//!   the file and the same in every file while the debt is in the register (D23).
//! - `dataI` (data calcul obligație): the day the file is made, `dd/mm/yyyy`, Romanian
//!   time (D25): the day `sumaR` was computed. `nrDocT` and `dataT` are not written: the
//!   register has no debt document number or date.
//! - `codClsBug` and `codDb` from the tax type; required. `codClsBug` may be stored with
//!   dots between its groups (`07.02.01.01`): they are dropped.

use std::io::Write;

use super::{ExportError, Output};
use crate::config::Institution;
use crate::store::export::{DebtRow, TaxTypeCodes};
use crate::store::Store;

/// The schema's target namespace.
pub const NAMESPACE: &str = "mfp:anaf:dgti:administrare_creante:declaratie:v1";

/// `SumaSType`'s largest value.
pub const MAX_SUMA: i64 = 9_999_999_999;

/// The unit of `sumaI` and `sumaR`, which the norm does not give (D22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Unit {
    /// Whole lei, each amount rounded to the nearest leu (50 bani up), as ANAF's
    /// declarations are.
    #[default]
    Lei,
    /// Bani: exact.
    Bani,
}

impl Unit {
    /// `bani` in this unit.
    pub fn amount(self, bani: i64) -> i64 {
        match self {
            Unit::Lei => (bani + 50).div_euclid(100),
            Unit::Bani => bani,
        }
    }
}

/// A category of sum, in the order lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    R,
    C,
    A,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::R, Category::C, Category::A];

    pub fn code(self) -> &'static str {
        match self {
            Category::R => "R",
            Category::C => "C",
            Category::A => "A",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The lines of one debt in bani: (category, as imported, still owed), categories with
/// nothing imported and nothing owed left out.
pub fn lines(d: &DebtRow) -> Vec<(Category, i64, i64)> {
    let [debit, ramasita, majorari, penalitati] = d.amounts;
    let [r_debit, r_ramasita, r_majorari, r_penalitati] = d.rest;
    [
        (Category::R, ramasita, r_ramasita),
        (Category::C, debit, r_debit),
        (
            Category::A,
            majorari + penalitati,
            r_majorari + r_penalitati,
        ),
    ]
    .into_iter()
    .filter(|(_, i, r)| *i > 0 || *r > 0)
    .collect()
}

/// A tax type's codes as the schema takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codes {
    pub cls_bug: String,
    pub db: String,
}

/// `t`'s codes checked against the schema (`codClsBug`: 1–10 digits after dots are
/// dropped; `codDb`: exactly 3 characters after white space is collapsed, as `xs:token`
/// does); else what is wrong, for a message naming the tax type.
pub fn codes(t: &TaxTypeCodes) -> Result<Codes, Vec<String>> {
    let mut wrong = Vec::new();
    let cls_bug = match t.cod_cls_bug.as_deref().map(str::trim) {
        None | Some("") => {
            wrong.push("cod_cls_bug is missing".to_string());
            None
        }
        Some(v) => {
            let digits: String = v.chars().filter(|c| *c != '.').collect();
            if (1..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                Some(digits)
            } else {
                wrong.push(format!(
                    "cod_cls_bug `{v}` is not a budget classification code of 1 to 10 digits"
                ));
                None
            }
        }
    };
    let db = match t.cod_db.as_deref() {
        None => {
            wrong.push("cod_db is missing".to_string());
            None
        }
        Some(v) => {
            let collapsed = v.split_whitespace().collect::<Vec<_>>().join(" ");
            if collapsed.is_empty() {
                wrong.push("cod_db is missing".to_string());
                None
            } else if collapsed.chars().count() != 3
                || collapsed
                    .chars()
                    .any(|c| c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
            {
                wrong.push(format!(
                    "cod_db `{v}` is not exactly 3 characters (control characters not allowed)"
                ));
                None
            } else {
                Some(collapsed)
            }
        }
    };
    match (cls_bug, db) {
        (Some(cls_bug), Some(db)) if wrong.is_empty() => Ok(Codes { cls_bug, db }),
        _ => Err(wrong),
    }
}

/// What was written, per category: lines, and the sums in bani (before any rounding).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub taxpayers: u64,
    pub debts: u64,
    /// Per category R, C, A: (lines, sumaI in bani, sumaR in bani).
    pub by_category: [(u64, i64, i64); 3],
}

impl Totals {
    pub fn lines(&self) -> u64 {
        self.by_category.iter().map(|c| c.0).sum()
    }
}

/// `CnpSType`: `[1-9]\d{12}|[1-9]\d{1,9}`.
fn is_cnp_s_type(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 13 || (2..=10).contains(&b.len()))
        && b[0] != b'0'
        && b.iter().all(u8::is_ascii_digit)
}

/// Writes the debts of the register to `out` as Annex 5's `AdminCreante.xml` for
/// `institution`, amounts in `unit`, `dataI` = `today` (`dd/mm/yyyy`).
pub async fn admin_creante(
    store: &Store,
    institution: &Institution,
    unit: Unit,
    today: &str,
    out: &mut Output,
) -> Result<Totals, ExportError> {
    let Some(cui) = institution.cui.as_deref() else {
        return Err(ExportError::Register(
            "the institution's CUI is not configured, and AdminCreante.xml starts with it: set \
             institutie_cui = \"<CIF>\" in the configuration file or GHISEUL_INSTITUTIE_CUI=<CIF> \
             in the environment (the institution's fiscal code, digits, without RO)"
                .into(),
        ));
    };
    if !is_cnp_s_type(cui) || cui.len() == 13 {
        return Err(ExportError::Register(format!(
            "institutie_cui `{cui}` is not a fiscal code of 2 to 10 digits: correct it in the configuration"
        )));
    }
    // Every tax type the file will name must have valid codes: all problems at once.
    let mut codes_of = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for t in store.tax_types_in_use().await? {
        match codes(&t) {
            Ok(c) => {
                codes_of.insert(t.id_tip_suma, c);
            }
            Err(wrong) => problems.push(format!(
                "tax type {} „{}”: {}",
                t.id_tip_suma,
                t.nume,
                wrong.join(", ")
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ExportError::Register(format!(
            "AdminCreante.xml needs the Annex 5 codes of every tax type with debts, and {} \
             tax type(s) lack them:\n  {}\nAdd the columns cod_cls_bug (the budget \
             classification code, 1 to 10 digits) and cod_db (the internal code of the kind \
             of obligation, exactly 3 characters) to the tax-types file and import it again \
             (`ghiseul-connector import tax-types FILE`).",
            problems.len(),
            problems.join("\n  ")
        )));
    }

    let name = out.name();
    let mut totals = Totals::default();
    write!(
        out.writer(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<administratorCreanta xmlns=\"{NAMESPACE}\" cui=\"{cui}\">\n"
    )
    .map_err(ExportError::io(&name))?;
    let mut last_cui = String::new();
    store
        .each_debt(|d| {
            let Some(codes) = codes_of.get(&d.id_tip_suma) else {
                // A debt of a type the first read did not see: an import ran in between.
                return Err(ExportError::Register(format!(
                    "the register changed while it was read (tax type {} has debts now): export again",
                    d.id_tip_suma
                )));
            };
            if !is_cnp_s_type(&d.cui) {
                return Err(ExportError::Register(format!(
                    "taxpayer `{}` has no CNP/NIF (13 digits) or CIF (2 to 10 digits) that Annex 5 accepts: \
                     correct them in the persons file and import it again",
                    d.cui
                )));
            }
            if d.id > 999_999_999 {
                return Err(ExportError::Register(format!(
                    "debt {} has an id longer than the 9 digits idRefOp leaves for it",
                    d.id
                )));
            }
            if d.cui != last_cui {
                totals.taxpayers += 1;
                last_cui.clone_from(&d.cui);
            }
            totals.debts += 1;
            for (cat, initial, rest) in lines(&d) {
                let (suma_i, suma_r) = (unit.amount(initial), unit.amount(rest));
                if suma_i > MAX_SUMA || suma_r > MAX_SUMA {
                    return Err(ExportError::Register(format!(
                        "debt {} of {} ({}): {} is more than {MAX_SUMA}, the largest amount Annex 5 allows",
                        d.id,
                        d.cui,
                        cat.code(),
                        suma_i.max(suma_r)
                    )));
                }
                let slot = &mut totals.by_category[cat.index()];
                slot.0 += 1;
                slot.1 += initial;
                slot.2 += rest;
                writeln!(
                    out.writer(),
                    "  <contribuabil cnp=\"{}\" idRefOp=\"{}{}\" dataI=\"{today}\" codClsBug=\"{}\" codDb=\"{}\" catS=\"{}\" sumaI=\"{suma_i}\" sumaR=\"{suma_r}\"/>",
                    d.cui,
                    d.id,
                    cat.code(),
                    codes.cls_bug,
                    quick_xml::escape::escape(codes.db.as_str()),
                    cat.code(),
                )
                .map_err(ExportError::io(&name))?;
            }
            Ok(())
        })
        .await?;
    if totals.lines() == 0 {
        return Err(ExportError::Register(
            "the register holds no debt, and AdminCreante.xml must list at least one: import \
             the debts first (`ghiseul-connector import debts FILE`), then export again"
                .into(),
        ));
    }
    out.writer()
        .write_all(b"</administratorCreanta>\n")
        .map_err(ExportError::io(&name))?;
    Ok(totals)
}

/// `dataI`'s form: `dd/mm/yyyy`.
pub fn date(t: &chrono::DateTime<chrono_tz::Tz>) -> String {
    t.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cls: Option<&str>, db: Option<&str>) -> TaxTypeCodes {
        TaxTypeCodes {
            id_tip_suma: 1,
            nume: "Impozit".into(),
            cod_cls_bug: cls.map(Into::into),
            cod_db: db.map(Into::into),
        }
    }

    #[test]
    fn lei_are_rounded_half_up_and_bani_kept() {
        assert_eq!(Unit::Lei.amount(3049), 30);
        assert_eq!(Unit::Lei.amount(3050), 31);
        assert_eq!(Unit::Lei.amount(49), 0);
        assert_eq!(Unit::Lei.amount(0), 0);
        assert_eq!(Unit::Bani.amount(3050), 3050);
    }

    #[test]
    fn categories_come_from_the_columns_and_empty_ones_are_left_out() {
        let d = DebtRow {
            cui: "1800101221111".into(),
            id: 7,
            id_tip_suma: 1,
            amounts: [10000, 2000, 500, 100],
            rest: [0, 2000, 500, 0],
        };
        assert_eq!(
            lines(&d),
            [
                (Category::R, 2000, 2000),
                (Category::C, 10000, 0),
                (Category::A, 600, 500)
            ]
        );
        let only_debit = DebtRow {
            amounts: [5000, 0, 0, 0],
            rest: [5000, 0, 0, 0],
            ..d
        };
        assert_eq!(lines(&only_debit), [(Category::C, 5000, 5000)]);
    }

    #[test]
    fn codes_are_checked_as_the_schema_does() {
        assert_eq!(
            codes(&t(Some("07.02.01.01"), Some(" ICL "))),
            Ok(Codes {
                cls_bug: "07020101".into(),
                db: "ICL".into()
            })
        );
        assert_eq!(codes(&t(Some("1"), Some("A B"))).unwrap().db, "A B");
        let e = codes(&t(None, None)).unwrap_err();
        assert_eq!(e, ["cod_cls_bug is missing", "cod_db is missing"]);
        assert!(codes(&t(Some("07A"), Some("ICL"))).is_err());
        assert!(codes(&t(Some("12345678901"), Some("ICL"))).is_err());
        assert!(codes(&t(Some("1"), Some("ICLX"))).is_err());
        assert!(codes(&t(Some("1"), Some("IC"))).is_err());
        // Characters, not bytes.
        assert!(codes(&t(Some("1"), Some("ȘȚĂ"))).is_ok());
    }

    #[test]
    fn cnp_s_type_is_the_schemas_pattern() {
        assert!(is_cnp_s_type("1800101221111"));
        assert!(is_cnp_s_type("31245671"));
        assert!(is_cnp_s_type("12"));
        assert!(!is_cnp_s_type("0123"));
        assert!(!is_cnp_s_type("1"));
        assert!(!is_cnp_s_type("12345678901"));
    }
}
