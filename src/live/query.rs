//! The institution's queries as written in the configuration: named parameters (`:cui`)
//! turned into each database's placeholders, and the columns of a row found by name and
//! read exactly (amounts never through a float).

use sqlx::any::AnyRow;
use sqlx::{Column, Row};

use crate::rules::money::Bani;
use crate::store::Backend;

/// A configured query ready to run: its text with positional placeholders, and the name
/// of the parameter each placeholder takes, in order (a name used twice is bound twice).
#[derive(Clone, Debug)]
pub struct Query {
    pub sql: String,
    pub params: Vec<String>,
}

impl Query {
    /// Turns `:name` parameters into `$1, $2, …` (PostgreSQL) or `?` (MariaDB, SQLite).
    /// Quoted text and identifiers are left alone, and so are PostgreSQL's `::type` casts.
    pub fn parse(text: &str, backend: Backend) -> Query {
        let chars: Vec<char> = text.chars().collect();
        let mut sql = String::with_capacity(text.len());
        let mut params = Vec::new();
        let mut quote: Option<char> = None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                sql.push(c);
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            let starts_name = |j: usize| {
                chars
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
            };
            if c == ':' && (i == 0 || chars[i - 1] != ':') && starts_name(i + 1) {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    j += 1;
                }
                params.push(chars[i + 1..j].iter().collect::<String>().to_lowercase());
                match backend {
                    Backend::Postgres => sql.push_str(&format!("${}", params.len())),
                    Backend::Mysql | Backend::Sqlite => sql.push('?'),
                }
                i = j;
                continue;
            }
            if c == '\'' || c == '"' || c == '`' {
                quote = Some(c);
            }
            sql.push(c);
            i += 1;
        }
        Query { sql, params }
    }

    /// The parameters not among `allowed`.
    pub fn unknown_params(&self, allowed: &[&str]) -> Vec<String> {
        let mut unknown: Vec<String> = Vec::new();
        for p in &self.params {
            if !allowed.contains(&p.as_str()) && !unknown.contains(p) {
                unknown.push(p.clone());
            }
        }
        unknown
    }
}

/// Why a row of the tax system's database could not be read: a column missing, or of a
/// type that cannot be read exactly. Named so that the institution can fix its query.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("the query {query} returns no column `{column}`")]
    Missing {
        query: &'static str,
        column: &'static str,
    },
    #[error("in the query {query}, column `{column}` {why}")]
    Mistyped {
        query: &'static str,
        column: &'static str,
        why: String,
    },
}

/// The columns of one query's rows, found by name (any case) once per result.
pub struct Columns {
    query: &'static str,
    index: Vec<Option<usize>>,
    names: &'static [&'static str],
}

impl Columns {
    /// Finds `wanted` among the columns of `row`; a required one missing is an error.
    pub fn find(
        query: &'static str,
        row: &AnyRow,
        required: &'static [&'static str],
        names: &'static [&'static str],
    ) -> Result<Columns, ShapeError> {
        let index: Vec<Option<usize>> = names
            .iter()
            .map(|n| {
                row.columns()
                    .iter()
                    .position(|c| c.name().eq_ignore_ascii_case(n))
            })
            .collect();
        for (name, at) in names.iter().zip(&index) {
            if at.is_none() && required.contains(name) {
                return Err(ShapeError::Missing {
                    query,
                    column: name,
                });
            }
        }
        Ok(Columns {
            query,
            index,
            names,
        })
    }

    fn at(&self, column: &'static str) -> Option<usize> {
        let k = self.names.iter().position(|n| *n == column)?;
        self.index[k]
    }

    fn mistyped(&self, column: &'static str, why: impl Into<String>) -> ShapeError {
        ShapeError::Mistyped {
            query: self.query,
            column,
            why: why.into(),
        }
    }

    /// A text column (or a number, written as text); `None` when absent or NULL.
    pub fn opt_text(
        &self,
        row: &AnyRow,
        column: &'static str,
    ) -> Result<Option<String>, ShapeError> {
        let Some(i) = self.at(column) else {
            return Ok(None);
        };
        if let Ok(v) = crate::store::opt_text(row, i) {
            return Ok(v);
        }
        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            return Ok(v.map(|v| v.to_string()));
        }
        if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            return Ok(v.map(|v| v.to_string()));
        }
        Err(self.mistyped(
            column,
            "cannot be read as text: cast it to text in the query",
        ))
    }

    /// A text column that must be there and not NULL.
    pub fn text(&self, row: &AnyRow, column: &'static str) -> Result<String, ShapeError> {
        self.opt_text(row, column)?
            .ok_or_else(|| self.mistyped(column, "is NULL: every row needs a value"))
    }

    /// A whole number: an integer column, or text holding one.
    pub fn int(&self, row: &AnyRow, column: &'static str) -> Result<i64, ShapeError> {
        let i = self.at(column);
        if let Some(i) = i {
            if let Ok(v) = row.try_get::<i64, _>(i) {
                return Ok(v);
            }
            if let Ok(v) = row.try_get::<i32, _>(i) {
                return Ok(i64::from(v));
            }
            if let Ok(v) = row.try_get::<i16, _>(i) {
                return Ok(i64::from(v));
            }
        }
        let text = self.text(row, column)?;
        text.trim()
            .parse()
            .map_err(|_| self.mistyped(column, format!("holds `{text}`, not a whole number")))
    }

    /// An amount in lei, read exactly: text (`123.45`, as NUMERIC/DECIMAL cast to text) or a
    /// whole number of lei. A floating-point column is refused: it cannot hold every amount
    /// in bani exactly.
    pub fn lei(&self, row: &AnyRow, column: &'static str) -> Result<Bani, ShapeError> {
        let Some(i) = self.at(column) else {
            return Err(ShapeError::Missing {
                query: self.query,
                column,
            });
        };
        if let Ok(Some(text)) = crate::store::opt_text(row, i) {
            return Bani::parse_lei(text.trim())
                .ok()
                .filter(|b| !b.0.is_negative())
                .ok_or_else(|| {
                    self.mistyped(
                        column,
                        format!("holds `{text}`, not an amount in lei (e.g. 123.45, at least 0)"),
                    )
                });
        }
        let whole = row
            .try_get::<i64, _>(i)
            .or_else(|_| row.try_get::<i32, _>(i).map(i64::from));
        if let Ok(v) = whole {
            return v
                .checked_mul(100)
                .filter(|b| *b >= 0)
                .map(Bani)
                .ok_or_else(|| self.mistyped(column, format!("holds {v}, not an amount")));
        }
        if row.try_get::<Option<f64>, _>(i).is_ok_and(|v| v.is_some())
            || row.try_get::<Option<f32>, _>(i).is_ok_and(|v| v.is_some())
        {
            return Err(self.mistyped(
                column,
                "is a floating-point number, which cannot hold every amount exactly: \
                 cast the NUMERIC/DECIMAL column to text in the query",
            ));
        }
        Err(self.mistyped(
            column,
            "is NULL or not an amount: give NUMERIC/DECIMAL lei cast to text (COALESCE a NULL to 0)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_each_databases_placeholders() {
        let q = Query::parse(
            "SELECT a::text, ':x' FROM t WHERE c = :cui OR d = :CUI",
            Backend::Postgres,
        );
        assert_eq!(q.sql, "SELECT a::text, ':x' FROM t WHERE c = $1 OR d = $2");
        assert_eq!(q.params, ["cui", "cui"]);
        let q = Query::parse("SELECT 1 FROM t WHERE c = :cui", Backend::Mysql);
        assert_eq!(q.sql, "SELECT 1 FROM t WHERE c = ?");
    }

    #[test]
    fn unknown_parameters_are_named() {
        let q = Query::parse("SELECT 1 WHERE a = :cui AND b = :cnp", Backend::Sqlite);
        assert_eq!(q.unknown_params(&["cui"]), ["cnp"]);
    }
}
