//! What `check-config` and `serve` verify of the live register before anything is
//! answered from it: the tax system's database answers, and each configured query runs
//! and returns exactly the columns it must, of types that can be read exactly. Nothing is
//! written: the payment statement is only prepared.

use std::time::Duration;

use sqlx::{Column, Executor, TypeInfo};

use super::{
    read_booked, read_debts, read_person, read_tax_types, Register, Settings, BOOKED_COLUMNS,
    DEBT_COLUMNS, TAXPAYER_COLUMNS, TAX_TYPE_COLUMNS,
};
use crate::store::redact_url;

/// Bound to `:cui` when `check-config` is given no `--cui`: finds nobody, so the query
/// runs and its columns are checked without reading anyone's data.
pub const NOBODY: &str = "-";

/// The columns that hold amounts: a float there is refused.
const AMOUNTS: &[&str] = &["debit", "ramasita", "majorari", "penalitati"];

/// What the check found: lines to print, and problems, each naming the key to fix.
#[derive(Default, Debug)]
pub struct Findings {
    pub lines: Vec<String>,
    pub problems: Vec<String>,
    /// The tax system's database answered (problems after that are in the queries).
    pub answered: bool,
}

/// Runs each query once (with `cui`, or `NOBODY`), each bounded by `timeout`.
pub async fn check(settings: &Settings, cui: Option<&str>, timeout: Duration) -> Findings {
    let mut f = Findings::default();
    let shown = redact_url(&settings.url);
    let register = match Register::open(settings, 1, timeout) {
        Ok(r) => r,
        Err(e) => {
            f.problems.push(format!(
                "register_url (GHISEUL_REGISTER_URL) = {shown}: {e}"
            ));
            return f;
        }
    };
    let ping = tokio::time::timeout(timeout, register.pool.acquire())
        .await
        .map(|r| r.map(drop));
    match ping {
        Ok(Ok(())) => {
            f.answered = true;
            f.lines
                .push(format!("Tax system's database: {shown} answers"));
        }
        Ok(Err(e)) => {
            f.problems.push(format!(
                "register_url (GHISEUL_REGISTER_URL): the tax system's database {shown} does \
                 not answer: {e}"
            ));
            return f;
        }
        Err(_) => {
            f.problems.push(format!(
                "register_url (GHISEUL_REGISTER_URL): the tax system's database {shown} did \
                 not answer within {} s",
                timeout.as_secs()
            ));
            return f;
        }
    }
    let cui = cui.unwrap_or(NOBODY);
    let mut queries = vec![
        (
            "register_taxpayer_query",
            &register.taxpayer,
            TAXPAYER_COLUMNS,
        ),
        ("register_debts_query", &register.debts, DEBT_COLUMNS),
        (
            "register_tax_types_query",
            &register.tax_types,
            TAX_TYPE_COLUMNS,
        ),
    ];
    if let Some(b) = &register.booked {
        queries.push(("register_booked_query", b, BOOKED_COLUMNS));
    }
    for (key, query, (required, known)) in queries {
        let described = tokio::time::timeout(timeout, register.pool.prepare(&query.sql)).await;
        let statement = match described {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                f.problems.push(format!(
                    "{key}: {e}. Amounts and dates must come as text or whole numbers: cast \
                     NUMERIC/DECIMAL and DATE columns to text in the query (PostgreSQL \
                     `debit::text AS debit`, MariaDB `CAST(debit AS CHAR) AS debit`, SQLite \
                     `CAST(debit AS TEXT) AS debit`)"
                ));
                continue;
            }
            Err(_) => {
                f.problems
                    .push(format!("{key}: no answer within {} s", timeout.as_secs()));
                continue;
            }
        };
        let columns: Vec<(String, String)> = sqlx::Statement::columns(&statement)
            .iter()
            .map(|c| (c.name().to_lowercase(), c.type_info().name().to_uppercase()))
            .collect();
        let mut bad = false;
        for name in required {
            if !columns.iter().any(|(c, _)| c == name) {
                f.problems.push(format!(
                    "{key}: column `{name}` is missing (alias the tax system's column: `… AS {name}`)"
                ));
                bad = true;
            }
        }
        for (name, type_name) in &columns {
            if !known.contains(&name.as_str()) {
                f.problems.push(format!(
                    "{key}: column `{name}` is not one of ours ({}): remove it or fix its alias",
                    known.join(", ")
                ));
                bad = true;
            } else if AMOUNTS.contains(&name.as_str())
                && ["FLOAT", "DOUBLE", "REAL"]
                    .iter()
                    .any(|t| type_name.contains(t))
            {
                f.problems.push(format!(
                    "{key}: column `{name}` is a floating-point number ({type_name}), which \
                     cannot hold every amount exactly: cast the NUMERIC/DECIMAL column to text"
                ));
                bad = true;
            }
        }
        if bad {
            continue;
        }
        let run = async {
            let rows = if query.params.is_empty() {
                sqlx::query(&query.sql).fetch_all(&register.pool).await?
            } else {
                register.rows_by_cui(query, cui).await?
            };
            let read = match key {
                "register_taxpayer_query" => {
                    rows.first().map_or(Ok(()), |r| read_person(r).map(drop))
                }
                "register_debts_query" => read_debts(&rows).map(drop),
                "register_tax_types_query" => read_tax_types(&rows).map(drop),
                _ => read_booked(&rows).map(drop),
            };
            read.map_err(super::shape)?;
            Ok::<usize, crate::store::Error>(rows.len())
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(n)) => f.lines.push(format!(
                "Tax system's database: {key} runs and returns {} ({n} row(s){})",
                columns
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if query.params.is_empty() || cui == NOBODY {
                    String::new()
                } else {
                    format!(" for {cui}")
                }
            )),
            Ok(Err(e)) => f.problems.push(format!("{key}: {e}")),
            Err(_) => f
                .problems
                .push(format!("{key}: no answer within {} s", timeout.as_secs())),
        }
    }
    if let Some(p) = &register.payment {
        match tokio::time::timeout(timeout, register.pool.prepare(&p.sql)).await {
            Ok(Ok(_)) => f.lines.push(
                "Tax system's database: register_payment_statement is accepted (prepared, \
                 not run: it writes)"
                    .into(),
            ),
            // The database parsed it and named its parameters' types; only the `Any`
            // driver cannot map a NUMERIC parameter type, which does not matter: the
            // values are bound as text and whole numbers.
            Ok(Err(e)) if e.to_string().contains("Any driver does not support") => f.lines.push(
                "Tax system's database: register_payment_statement is accepted \
                     (prepared, not run: it writes)"
                    .into(),
            ),
            Ok(Err(e)) => f.problems.push(format!("register_payment_statement: {e}")),
            Err(_) => f.problems.push(format!(
                "register_payment_statement: no answer within {} s",
                timeout.as_secs()
            )),
        }
    }
    register.close().await;
    f
}
