//! Payments out (issue 13): the export of recorded payments to the tax system, exactly once
//! per consumer, and the daily receipts report.

pub mod cli;
pub mod pdf;
pub mod report;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::rules::money::Bani;
use crate::store::payout::{self as sql, Applied, BareItem, ItemRow, Range};
use crate::store::Store;

/// Set to `before-rename` or `after-rename` to make `export payments --consumer` exit
/// (status 86) at that point, as a crash would: the tests prove that the next run neither
/// skips nor repeats a payment. Not for production use.
pub const CRASH_ENV: &str = "GHISEUL_TEST_PAYOUT_CRASH_AT";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// What `export payments` was asked.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub format: Format,
    pub excel: bool,
    pub allocations: bool,
    /// Romanian-time dates, both included.
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub after: Option<i64>,
    pub consumer: Option<String>,
    pub out: Option<PathBuf>,
    /// Who asked, for the audit.
    pub actor: String,
}

/// How much of an item went to debts and how much became credit, and the lines.
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub to_debts: i64,
    pub to_credit: i64,
    pub lines: Vec<Applied>,
}

/// Gives each item its own allocation lines and credit. A payment writes, item after item,
/// the lines of that item and then its credit; so walking the lines of each (payment, tax
/// type) in the order written, an item takes lines until its amount is covered and the
/// rest is its credit.
pub fn attribute(items: &[BareItem], applied: &[Applied]) -> HashMap<i64, Split> {
    /// Per (payment, tax type): its allocation lines and its credits, in the order written.
    type Queues<'a> = HashMap<(i64, i64), (Vec<&'a Applied>, Vec<&'a Applied>)>;
    let mut queues: Queues = HashMap::new();
    for a in applied {
        let q = queues.entry((a.payment_id, a.id_tip_suma)).or_default();
        if a.component == "credit" {
            q.1.push(a);
        } else {
            q.0.push(a);
        }
    }
    let mut taken: HashMap<(i64, i64), (usize, usize)> = HashMap::new();
    let mut out = HashMap::new();
    for item in items {
        let key = (item.payment_id, item.id_tip_suma);
        let (lines, credits) = queues
            .get(&key)
            .map(|(l, c)| (&l[..], &c[..]))
            .unwrap_or((&[], &[]));
        let pos = taken.entry(key).or_default();
        let mut split = Split::default();
        while pos.0 < lines.len() && split.to_debts + lines[pos.0].amount <= item.valoare {
            split.to_debts += lines[pos.0].amount;
            split.lines.push(lines[pos.0].clone());
            pos.0 += 1;
        }
        if split.to_debts < item.valoare && pos.1 < credits.len() {
            split.to_credit = credits[pos.1].amount;
            split.lines.push(credits[pos.1].clone());
            pos.1 += 1;
        }
        out.insert(item.item_id, split);
    }
    out
}

/// The rows of an export, in sequence order, each item with how it was applied.
pub async fn collect(store: &Store, range: &Range) -> anyhow::Result<Vec<(ItemRow, Split)>> {
    let items = sql::items(store, range).await?;
    let (all, applied) = sql::applied(store, range).await?;
    let mut splits = attribute(&all, &applied);
    Ok(items
        .into_iter()
        .map(|i| {
            let s = splits.remove(&i.item_id).unwrap_or_default();
            (i, s)
        })
        .collect())
}

/// The local-time bounds of `--from`/`--to` (both days included).
pub fn date_bounds(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> (Option<String>, Option<String>) {
    (
        from.map(|d| format!("{d} 00:00:00")),
        to.and_then(|d| d.succ_opt())
            .map(|d| format!("{d} 00:00:00")),
    )
}

const ITEM_HEADER: [&str; 12] = [
    "seq",
    "order",
    "received_at",
    "payment_date",
    "cui",
    "name",
    "id_tip_suma",
    "tax_type",
    "iban",
    "amount",
    "to_debts",
    "to_credit",
];

const ALLOCATION_HEADER: [&str; 14] = [
    "seq",
    "order",
    "received_at",
    "payment_date",
    "cui",
    "name",
    "id_tip_suma",
    "tax_type",
    "iban",
    "id_debit",
    "debt_description",
    "due_date",
    "component",
    "amount",
];

/// Writes the rows in the requested form; returns how many rows were written.
pub fn write_rows(
    out: &mut dyn Write,
    rows: &[(ItemRow, Split)],
    req: &ExportRequest,
) -> anyhow::Result<usize> {
    let money = |b: i64| {
        let s = Bani(b).to_string();
        // Romanian Excel reads a decimal comma; everything else keeps the point.
        if req.excel {
            s.replace('.', ",")
        } else {
            s
        }
    };
    // Excel shows a 13-digit CNP as 1,8E+12 unless told it is text.
    let id_text = |s: &str| {
        if req.excel && !s.is_empty() {
            format!("=\"{s}\"")
        } else {
            s.to_string()
        }
    };
    let mut n = 0;
    match req.format {
        Format::Json => {
            for (i, s) in rows {
                let base = serde_json::json!({
                    "seq": i.seq, "order": i.order_no, "received_at": i.recorded_at,
                    "payment_date": i.data, "cui": i.cui, "name": i.nume,
                    "id_tip_suma": i.id_tip_suma, "tax_type": i.tax_type, "iban": i.iban,
                });
                if req.allocations {
                    for l in &s.lines {
                        let mut o = base.clone();
                        o["id_debit"] = serde_json::json!(l.id_debit);
                        o["debt_description"] = serde_json::json!(l.descriere);
                        o["due_date"] = serde_json::json!(l.scadenta);
                        o["component"] = serde_json::json!(l.component);
                        o["amount"] = serde_json::json!(Bani(l.amount).to_string());
                        o["amount_bani"] = serde_json::json!(l.amount);
                        serde_json::to_writer(&mut *out, &o)?;
                        out.write_all(b"\n")?;
                        n += 1;
                    }
                } else {
                    let mut o = base;
                    o["amount"] = serde_json::json!(Bani(i.valoare).to_string());
                    o["amount_bani"] = serde_json::json!(i.valoare);
                    o["to_debts"] = serde_json::json!(Bani(s.to_debts).to_string());
                    o["to_credit"] = serde_json::json!(Bani(s.to_credit).to_string());
                    serde_json::to_writer(&mut *out, &o)?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
            }
        }
        Format::Csv => {
            if req.excel {
                out.write_all("\u{feff}".as_bytes())?;
            }
            let mut w = csv::WriterBuilder::new()
                .delimiter(if req.excel { b';' } else { b',' })
                .terminator(csv::Terminator::CRLF)
                .from_writer(&mut *out);
            if req.allocations {
                w.write_record(ALLOCATION_HEADER)?;
            } else {
                w.write_record(ITEM_HEADER)?;
            }
            for (i, s) in rows {
                let head = [
                    i.seq.to_string(),
                    i.order_no.to_string(),
                    i.recorded_at.clone(),
                    i.data.clone(),
                    id_text(&i.cui),
                    i.nume.clone(),
                    i.id_tip_suma.to_string(),
                    i.tax_type.clone(),
                    i.iban.clone(),
                ];
                if req.allocations {
                    for l in &s.lines {
                        let mut r = head.to_vec();
                        r.extend([
                            id_text(l.id_debit.as_deref().unwrap_or("")),
                            l.descriere.clone(),
                            l.scadenta.clone(),
                            l.component.clone(),
                            money(l.amount),
                        ]);
                        w.write_record(&r)?;
                        n += 1;
                    }
                } else {
                    let mut r = head.to_vec();
                    r.extend([money(i.valoare), money(s.to_debts), money(s.to_credit)]);
                    w.write_record(&r)?;
                    n += 1;
                }
            }
            w.flush()?;
        }
    }
    Ok(n)
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct Exported {
    pub rows: usize,
    pub items: usize,
    pub total: Bani,
    /// The sequence numbers taken: (after, last).
    pub seq: (i64, i64),
    /// A consumer whose pending export from an interrupted run was resolved.
    pub recovered: Option<String>,
}

fn crash_point(point: &str) {
    if std::env::var(CRASH_ENV).as_deref() == Ok(point) {
        eprintln!("{CRASH_ENV}={point}: exiting as a crash would");
        std::process::exit(86);
    }
}

/// The temporary file an export to `out` is written to first (same folder, so that the
/// rename is atomic).
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Runs `export payments`: stamps new items, picks the range, writes, and (with a consumer)
/// advances its cursor once the file is durably in place.
pub async fn export(
    store: &Store,
    req: &ExportRequest,
    stdout: &mut dyn Write,
) -> anyhow::Result<Exported> {
    if req.consumer.is_some() && req.out.is_none() {
        bail!("--consumer needs --out FILE: the cursor can advance only once a file is completely written, which standard output cannot promise");
    }
    if req.consumer.is_some() && req.after.is_some() {
        bail!("--after and --consumer both say where to start: the consumer's cursor does; drop --after (or export without --consumer)");
    }
    if req.consumer.is_some() && (req.from.is_some() || req.to.is_some()) {
        bail!("--from/--to cannot be used with --consumer: the cursor moves past every item up to the last one written, so items outside the dates would never be taken; drop the dates (the consumer gets everything new), or export by date without --consumer");
    }
    if let (Some(f), Some(t)) = (req.from, req.to) {
        if f > t {
            bail!("--from {f} is after --to {t}: swap them");
        }
    }
    let upto = sql::stamp(store)
        .await
        .context("numbering the new payments (run `ghiseul-connector migrate` if the database predates exports)")?;
    let mut recovered = None;
    let after = match &req.consumer {
        Some(name) => {
            let mut c = sql::cursor(store, name).await?;
            if let Some((_, tmp)) = &c.pending {
                // An earlier run stopped between writing its file and advancing the
                // cursor. The temporary file is renamed into place or nowhere: if it is
                // still there the rename never happened.
                let tmp = Path::new(tmp);
                let renamed = !tmp.exists();
                if !renamed {
                    let _ = std::fs::remove_file(tmp);
                }
                sql::finish_pending(store, name, renamed).await?;
                recovered = Some(if renamed {
                    format!("an interrupted export of `{name}` had put its file in place: its cursor now follows it")
                } else {
                    format!("an interrupted export of `{name}` had not put its file in place: it was discarded and is written again now")
                });
                c = sql::cursor(store, name).await?;
            }
            c.last_seq
        }
        None => req.after.unwrap_or(0),
    };
    let (from, before) = date_bounds(req.from, req.to);
    let range = Range {
        after,
        upto,
        from,
        before,
    };
    let rows = collect(store, &range).await?;
    let items = rows.len();
    let total = Bani(rows.iter().map(|(i, _)| i.valoare).sum());
    let last = rows.last().map(|(i, _)| i.seq).unwrap_or(after);
    let written = match &req.out {
        None => {
            let mut buf = Vec::new();
            let n = write_rows(&mut buf, &rows, req)?;
            stdout.write_all(&buf)?;
            stdout.flush()?;
            n
        }
        Some(out) => write_file(store, req, out, &rows, after, last).await?,
    };
    let detail = format!(
        "rows={written} items={items} total={total} seq={after}..{last} from={} to={} consumer={} out={} allocations={}",
        req.from.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
        req.to.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
        req.consumer.as_deref().unwrap_or("-"),
        req.out.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "stdout".into()),
        req.allocations,
    );
    sql::audit(store, &req.actor, "export payments", &detail).await?;
    Ok(Exported {
        rows: written,
        items,
        total,
        seq: (after, last),
        recovered,
    })
}

/// Writes to a temporary file, syncs it, (with a consumer) records the export as pending,
/// renames it into place, syncs the folder and advances the cursor.
async fn write_file(
    store: &Store,
    req: &ExportRequest,
    out: &Path,
    rows: &[(ItemRow, Split)],
    after: i64,
    last: i64,
) -> anyhow::Result<usize> {
    if req.consumer.is_some() && out.exists() {
        bail!(
            "{} already exists: it may hold payments the tax system has not taken yet. Move it away, or give each export its own name (e.g. plati-$(date +%F-%H%M%S).csv)",
            out.display()
        );
    }
    let tmp = temp_path(out);
    let written = (|| -> anyhow::Result<usize> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        let n = write_rows(&mut w, rows, req)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(n)
    })();
    let n = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| {
                format!(
                    "writing {} (is the disk full, or the folder not writable?); nothing was taken, run the export again",
                    tmp.display()
                )
            });
        }
    };
    if let Some(name) = &req.consumer {
        let tmp_text = std::fs::canonicalize(&tmp)?.display().to_string();
        if !sql::set_pending(store, name, after, last, &tmp_text).await? {
            let _ = std::fs::remove_file(&tmp);
            bail!("another export for consumer `{name}` is running or has just run; nothing was taken by this one, run it again once the other has finished");
        }
        crash_point("before-rename");
    }
    std::fs::rename(&tmp, out)
        .with_context(|| format!("renaming {} to {}", tmp.display(), out.display()))?;
    sync_dir(out).with_context(|| format!("syncing the folder of {}", out.display()))?;
    if let Some(name) = &req.consumer {
        crash_point("after-rename");
        sql::finish_pending(store, name, true).await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(payment_id: i64, id_tip_suma: i64, component: &str, amount: i64) -> Applied {
        Applied {
            payment_id,
            id_tip_suma,
            component: component.into(),
            amount,
            id_debit: None,
            descriere: String::new(),
            scadenta: String::new(),
        }
    }

    /// Two items of one type in one payment: the first takes the debt lines it paid, the
    /// second what is left of them and then its credit.
    #[test]
    fn each_item_gets_the_lines_it_wrote() {
        let items = [
            BareItem {
                item_id: 1,
                payment_id: 9,
                id_tip_suma: 1,
                valoare: 150,
            },
            BareItem {
                item_id: 2,
                payment_id: 9,
                id_tip_suma: 1,
                valoare: 100,
            },
            BareItem {
                item_id: 3,
                payment_id: 9,
                id_tip_suma: 2,
                valoare: 5,
            },
        ];
        let applied = [
            line(9, 1, "debit", 100),
            line(9, 1, "majorari", 50),
            line(9, 1, "debit", 30),
            line(9, 2, "debit", 5),
            line(9, 1, "credit", 70),
        ];
        let s = attribute(&items, &applied);
        assert_eq!(
            (s[&1].to_debts, s[&1].to_credit, s[&1].lines.len()),
            (150, 0, 2)
        );
        assert_eq!(
            (s[&2].to_debts, s[&2].to_credit, s[&2].lines.len()),
            (30, 70, 2)
        );
        assert_eq!((s[&3].to_debts, s[&3].to_credit), (5, 0));
    }
}
