//! `ghiseul-connector sync`: one run brings ghiseul.ro's copy of the register up to date —
//! tax types, then persons (CNP/NIF), then PFA (CIF), then deletions.
//!
//! For each register it asks ghiseul.ro's high-water mark (`getUltimaData…`,
//! `getUltimCodStergeri`): `0` → the whole register with `transfer…`; a date `D` → the
//! records with `data >= D` with `actualizare…` (D5: the boundary is resent, harmlessly);
//! deletions with a code greater than the last one processed (D6). Records go in packets
//! of at most 1000, in (`data`, `cod`) order, the next only after ghiseul.ro answered `0`.
//!
//! Because records are sent in `data` order, everything older than ghiseul.ro's mark has
//! been sent; so a run that stops at any packet (a fault, a timeout, a crash) is completed
//! by the next one, which asks the mark again and sends from there — also after a first
//! transfer cut short, when the mark is the greatest `data` received rather than `0`.
//! Nothing acknowledged is sent again but the records at the mark itself.
//!
//! Invalid identifiers (a CNP failing its control digit, a CIF among persons …), duplicates,
//! tax types without a valid IBAN, with `debit` or `platitor` outside 0–2, are left out and
//! reported before sending, so that one bad record never refuses a whole packet (fault 7).
//! A lock in the database keeps two runs from interleaving; the second refuses.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use super::client::{CallError, TransferClient};
use super::records::{normalise, Packet, Persoana, Stergere, TipSuma};
use super::settings::TransferSettings;
use super::{iban, Kind, Operation, MAX_PACKET};
use crate::rules::ident::Cui;
use crate::rules::money::Bani;
use crate::store::transfer as db;
use crate::store::Store;

/// How many left-out records a report names (the rest are counted).
pub const LEFT_OUT_NAMED: usize = 50;
/// How many records `--dry-run` shows per register.
pub const DRY_RUN_SAMPLES: usize = 3;

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Read and validate everything, print what would be sent, call nothing.
    pub dry_run: bool,
    /// Records read from the database per query (default `MAX_PACKET`).
    pub page: Option<usize>,
}

/// What happened to one register.
#[derive(Clone, Debug)]
pub struct KindReport {
    pub kind: Kind,
    /// The operation used (or that would be), once known.
    pub operation: Option<Operation>,
    /// ghiseul.ro's mark (or, in a dry run, the last one it acknowledged): `0` or a date / code.
    pub since: String,
    pub sent: u64,
    pub packets: u64,
    pub left_out: u64,
    /// `cod N: reason`, the first `LEFT_OUT_NAMED`.
    pub left_out_named: Vec<String>,
    /// Dry run: the first records.
    pub samples: Vec<String>,
    /// Why the register was not sent at all (fault 5 for tax types).
    pub skipped: Option<String>,
}

impl KindReport {
    fn new(kind: Kind) -> KindReport {
        KindReport {
            kind,
            operation: None,
            since: String::new(),
            sent: 0,
            packets: 0,
            left_out: 0,
            left_out_named: Vec::new(),
            samples: Vec::new(),
            skipped: None,
        }
    }

    fn leave_out(&mut self, line: String) {
        self.left_out += 1;
        if self.left_out_named.len() < LEFT_OUT_NAMED {
            self.left_out_named.push(line);
        }
    }

    fn counts(&self) -> db::Counts {
        db::Counts {
            sent: self.sent as i64,
            left_out: self.left_out as i64,
        }
    }
}

/// A run: what was done per register, and how it ended.
#[derive(Debug)]
pub struct Report {
    pub run_id: Option<i64>,
    pub dry_run: bool,
    pub kinds: Vec<KindReport>,
    pub retries: u32,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
    /// `None`: the run ended well.
    pub error: Option<anyhow::Error>,
}

impl Report {
    pub fn kind(&self, kind: Kind) -> Option<&KindReport> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// The report as the command line prints it.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        for k in &self.kinds {
            let label = label(k.kind);
            if let Some(why) = &k.skipped {
                let _ = writeln!(out, "{label}: not sent — {why}");
                continue;
            }
            let how = match (k.operation, k.since.as_str()) {
                (None, _) => "not reached".to_string(),
                (Some(op), "0") => format!("{} (whole register)", op.name()),
                (Some(op), since) if k.kind == Kind::Stergeri => {
                    format!("{} (codes after {since})", op.name())
                }
                (Some(op), since) => format!("{} (changed since {since})", op.name()),
            };
            let verb = if self.dry_run { "would send" } else { "sent" };
            let _ = writeln!(
                out,
                "{label}: {how}: {verb} {} in {} packet(s), {} left out",
                k.sent, k.packets, k.left_out
            );
            for s in &k.samples {
                let _ = writeln!(out, "  {s}");
            }
            for l in &k.left_out_named {
                let _ = writeln!(out, "  left out: {l}");
            }
            if k.left_out > k.left_out_named.len() as u64 {
                let _ = writeln!(
                    out,
                    "  left out: … and {} more",
                    k.left_out - k.left_out_named.len() as u64
                );
            }
        }
        let secs = self.elapsed.as_secs_f64();
        match (&self.error, self.dry_run) {
            (_, true) => {
                let _ = writeln!(out, "Dry run: nothing was sent ({secs:.1} s).");
            }
            (None, false) => {
                let _ = writeln!(
                    out,
                    "Sync run {} ended well in {secs:.1} s ({} retries).",
                    self.run_id.unwrap_or_default(),
                    self.retries
                );
            }
            (Some(_), false) => {
                let _ = writeln!(
                    out,
                    "Sync run {} stopped after {secs:.1} s ({} retries); what was acknowledged is kept and the next run continues from there.",
                    self.run_id.unwrap_or_default(),
                    self.retries
                );
            }
        }
        out
    }
}

fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::TipuriSume => "tax types",
        Kind::Persoane => "persons",
        Kind::Firme => "PFA",
        Kind::Stergeri => "deletions",
    }
}

/// A CNP shown as its last three digits (never whole in output); a CIF is public.
pub fn mask(cui: &str) -> String {
    if cui.len() == 13 && cui.is_char_boundary(10) {
        format!("…{}", &cui[10..])
    } else {
        cui.to_string()
    }
}

fn is_data(s: &str) -> bool {
    crate::rules::clock::parse_payment_date(s).is_some()
}

/// Reads one register from the database in sending order and makes packets of valid
/// records, leaving the others out (reported in `KindReport`).
struct Feed {
    kind: Kind,
    page: i64,
    data_cursor: String,
    cod_cursor: i64,
    tax_types: Option<VecDeque<db::TaxTypeRow>>,
    exhausted: bool,
    /// Identifiers already sent in this run (a duplicate is left out).
    seen: HashSet<String>,
}

impl Feed {
    /// From ghiseul.ro's mark: `0` (everything) or a date `D` — then from (`D`, `after_cod`):
    /// `after_cod` -1 sends every record of `data >= D`, a `cod` only those after it. For
    /// deletions `0` or a code.
    fn new(kind: Kind, since: &str, after_cod: i64, page: usize) -> anyhow::Result<Feed> {
        let (data_cursor, cod_cursor) = match (kind, since) {
            (Kind::Stergeri, "0") => (String::new(), 0),
            (Kind::Stergeri, s) => (
                String::new(),
                s.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
                    anyhow!("ghiseul.ro answered `{s}` as the last deletion code: not a code")
                })?,
            ),
            (_, "0") => (String::new(), -1),
            (_, s) if is_data(s) => (s.to_string(), after_cod),
            (k, s) => {
                return Err(anyhow!(
                    "ghiseul.ro answered `{s}` to {}: neither 0 nor a date YYYY-MM-DD HH:MM:SS",
                    k.get_ultima().name()
                ))
            }
        };
        Ok(Feed {
            kind,
            page: page.clamp(1, 100_000) as i64,
            data_cursor,
            cod_cursor,
            tax_types: None,
            exhausted: false,
            seen: HashSet::new(),
        })
    }

    /// The next packet (empty when the register has nothing more).
    async fn next(&mut self, store: &Store, report: &mut KindReport) -> anyhow::Result<Packet> {
        match self.kind {
            Kind::TipuriSume => self.next_tax_types(store, report).await,
            Kind::Persoane | Kind::Firme => self.next_taxpayers(store, report).await,
            Kind::Stergeri => self.next_deletions(store, report).await,
        }
    }

    async fn next_tax_types(
        &mut self,
        store: &Store,
        report: &mut KindReport,
    ) -> anyhow::Result<Packet> {
        if self.tax_types.is_none() {
            let rows = db::tax_types_since(store, &self.data_cursor)
                .await
                .context("reading the tax types")?;
            self.tax_types = Some(rows.into());
        }
        let rows = self.tax_types.as_mut().expect("loaded above");
        let mut out = Vec::new();
        while out.len() < MAX_PACKET {
            let Some(row) = rows.pop_front() else { break };
            if (row.data.as_str(), row.id_tip_suma) <= (self.data_cursor.as_str(), self.cod_cursor)
            {
                continue; // acknowledged already
            }
            match tax_type(&row) {
                Ok(t) => out.push(t),
                Err(why) => report.leave_out(format!("cod {}: {why}", row.id_tip_suma)),
            }
        }
        Ok(Packet::TipuriSume(out))
    }

    async fn next_taxpayers(
        &mut self,
        store: &Store,
        report: &mut KindReport,
    ) -> anyhow::Result<Packet> {
        let persons = self.kind == Kind::Persoane;
        let mut out: Vec<Persoana> = Vec::new();
        while out.len() < MAX_PACKET && !self.exhausted {
            let want = self.page.min((MAX_PACKET - out.len()) as i64 + 64);
            let rows =
                db::taxpayers_after(store, persons, &self.data_cursor, self.cod_cursor, want)
                    .await
                    .context("reading the taxpayers")?;
            if (rows.len() as i64) < want {
                self.exhausted = true;
            }
            for row in &rows {
                if out.len() == MAX_PACKET {
                    // The rest of this page is read again, from the cursor, next time.
                    self.exhausted = false;
                    break;
                }
                self.data_cursor.clone_from(&row.data);
                self.cod_cursor = row.cod;
                match self.taxpayer(row, persons) {
                    Ok(p) => out.push(p),
                    Err(why) => report.leave_out(format!(
                        "cod {} ({} {}): {why}",
                        row.cod,
                        mask(&row.cui),
                        normalise(&row.nume)
                    )),
                }
            }
        }
        Ok(if persons {
            Packet::Persoane(out)
        } else {
            Packet::Firme(out)
        })
    }

    fn taxpayer(&mut self, row: &db::TaxpayerRow, persons: bool) -> Result<Persoana, String> {
        let cui = row.cui.trim();
        let parsed = Cui::parse(cui)
            .map_err(|e| format!("{} invalid: {e}", if persons { "CNP/NIF" } else { "CIF" }))?;
        if parsed.as_str() != cui {
            return Err(format!(
                "identifier `{}` is not in its plain digits form",
                mask(cui)
            ));
        }
        if parsed.is_person() != persons {
            return Err("neither a CNP/NIF (13 digits) nor a CIF".into());
        }
        if !is_data(&row.data) {
            return Err(format!("data `{}` is not YYYY-MM-DD HH:MM:SS", row.data));
        }
        let nume = normalise(&row.nume);
        if nume.is_empty() {
            return Err("no name".into());
        }
        if !self.seen.insert(cui.to_string()) {
            return Err("duplicate identifier: sent already in this run".into());
        }
        Ok(Persoana {
            cui: cui.to_string(),
            nume,
            adresa: normalise(&row.adresa),
            cod: row.cod.to_string(),
            data: row.data.clone(),
        })
    }

    async fn next_deletions(
        &mut self,
        store: &Store,
        report: &mut KindReport,
    ) -> anyhow::Result<Packet> {
        let mut out: Vec<Stergere> = Vec::new();
        while out.len() < MAX_PACKET && !self.exhausted {
            let want = (MAX_PACKET - out.len()) as i64;
            let rows = db::deletions_after(store, self.cod_cursor, want)
                .await
                .context("reading the deletions")?;
            if (rows.len() as i64) < want {
                self.exhausted = true;
            }
            for row in rows {
                self.cod_cursor = row.cod;
                if row.live {
                    report.leave_out(format!(
                        "deletion {} of cod {} ({}): the record is in the register again, so it is not deleted",
                        row.cod,
                        row.cod_obiect,
                        mask(&row.cui)
                    ));
                    continue;
                }
                if !matches!(row.fizjur, 1 | 2) || row.cod < 0 || row.cod_obiect < 0 {
                    report.leave_out(format!(
                        "deletion {}: fizjur {} is neither 1 (person) nor 2 (PFA)",
                        row.cod, row.fizjur
                    ));
                    continue;
                }
                out.push(Stergere {
                    cod: row.cod.to_string(),
                    cod_obiect_sters: row.cod_obiect.to_string(),
                    fizjur: row.fizjur.to_string(),
                });
            }
        }
        Ok(Packet::Stergeri(out))
    }
}

/// A tax type as sent, or why it is left out (what ghiseul.ro would refuse with fault 7).
fn tax_type(row: &db::TaxTypeRow) -> Result<TipSuma, String> {
    if !(0..=i64::from(i32::MAX)).contains(&row.id_tip_suma) {
        return Err("the code does not fit xsd:int".into());
    }
    // An IBAN is often written in groups of four; without the spaces it is the same IBAN.
    let iban: String = row
        .iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if iban.is_empty() {
        return Err("no IBAN".into());
    }
    if !iban::is_valid(&iban) {
        return Err(format!("IBAN `{iban}` is not a valid IBAN"));
    }
    if !(0..=2).contains(&row.debit) {
        return Err(format!("debit {} is not 0, 1 or 2", row.debit));
    }
    if !(0..=2).contains(&row.platitor) {
        return Err(format!("platitor {} is not 0, 1 or 2", row.platitor));
    }
    if !is_data(&row.data) {
        return Err(format!("data `{}` is not YYYY-MM-DD HH:MM:SS", row.data));
    }
    let nume = normalise(&row.nume);
    if nume.is_empty() {
        return Err("no name".into());
    }
    Ok(TipSuma {
        cod: row.id_tip_suma.to_string(),
        id_nom_unic: row
            .id_nom_unic
            .as_deref()
            .map(normalise)
            .unwrap_or_default(),
        nume,
        iban,
        debit: row.debit.to_string(),
        val_initiala: row
            .val_initiala
            .map(|b| Bani(b).to_string())
            .unwrap_or_default(),
        inactiv: if row.inactiv != 0 { "1" } else { "0" }.into(),
        data: row.data.clone(),
        platitor: row.platitor.to_string(),
    })
}

/// Where a packet leaves ghiseul.ro: the `data` and `cod` of its last record (packets are
/// in that order); for deletions the last code, twice.
fn mark(packet: &Packet) -> (String, i64) {
    let cod = |c: &str| c.parse::<i64>().unwrap_or(-1);
    match packet {
        Packet::Persoane(v) | Packet::Firme(v) => v
            .last()
            .map_or(("0".into(), -1), |p| (p.data.clone(), cod(&p.cod))),
        Packet::TipuriSume(v) => v
            .last()
            .map_or(("0".into(), -1), |t| (t.data.clone(), cod(&t.cod))),
        Packet::Stergeri(v) => v
            .last()
            .map_or(("0".into(), -1), |s| (s.cod.clone(), cod(&s.cod))),
    }
}

fn sample(packet: &Packet, n: usize) -> Vec<String> {
    match packet {
        Packet::Persoane(v) | Packet::Firme(v) => v
            .iter()
            .take(n)
            .map(|p| {
                format!(
                    "cod {} {} {} | {} | {}",
                    p.cod,
                    mask(&p.cui),
                    p.nume,
                    p.adresa,
                    p.data
                )
            })
            .collect(),
        Packet::TipuriSume(v) => v
            .iter()
            .take(n)
            .map(|t| {
                format!(
                    "cod {} {} | {} | debit {} valInitiala `{}` inactiv {} platitor {} | {}",
                    t.cod, t.nume, t.iban, t.debit, t.val_initiala, t.inactiv, t.platitor, t.data
                )
            })
            .collect(),
        Packet::Stergeri(v) => v
            .iter()
            .take(n)
            .map(|s| {
                format!(
                    "deletion {}: cod {} (fizjur {})",
                    s.cod, s.cod_obiect_sters, s.fizjur
                )
            })
            .collect(),
    }
}

/// How long the lock holds without a renewal: longer than the slowest packet with all its
/// retries.
fn lease(settings: &TransferSettings) -> Duration {
    let calls = u64::from(settings.retries) + 1;
    let waits = settings
        .retry_delay_ms
        .saturating_mul((1u64 << settings.retries.min(16)).saturating_sub(1));
    let worst = Duration::from_secs(settings.timeout_secs.saturating_mul(calls))
        + Duration::from_millis(waits);
    (worst * 2 + Duration::from_secs(60)).max(Duration::from_secs(300))
}

fn utc_in(d: Duration) -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1)))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Runs a sync (or, with `dry_run`, shows what one would send). The report says what was
/// done even when the run stopped (`error`).
pub async fn run(store: &Store, settings: &TransferSettings, options: Options) -> Report {
    let started = Instant::now();
    let mut report = Report {
        run_id: None,
        dry_run: options.dry_run,
        kinds: Vec::new(),
        retries: 0,
        warnings: Vec::new(),
        elapsed: Duration::ZERO,
        error: None,
    };
    let page = options.page.unwrap_or(MAX_PACKET);
    if options.dry_run {
        if let Err(e) = dry_run(store, page, &mut report).await {
            report.error = Some(e);
        }
        report.elapsed = started.elapsed();
        return report;
    }
    let ready = match settings.require() {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    if settings.is_plain_http() {
        let w = format!(
            "transfer_url {} is plain http://: the key's checks and the register travel unencrypted; use https:// except for the simulator on this machine",
            settings.url
        );
        tracing::warn!("{w}");
        report.warnings.push(w);
    }
    let token = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let holder = format!("{} (pid {})", ready.utilizator, std::process::id());
    let lease = lease(settings);
    match db::try_lock(store, &token, &holder, &utc_in(lease)).await {
        Ok(Ok(())) => {}
        Ok(Err(h)) => {
            let msg = anyhow!(
                "another sync is running ({}, since {}); this run does nothing. If that run died, its lock expires at {}",
                h.holder,
                shown(&h.since),
                shown(&h.expires_at)
            );
            if let Ok(id) = db::start_run(store, "running").await {
                report.run_id = Some(id);
                let _ = db::finish_run(
                    store,
                    id,
                    "refused",
                    Some(&msg.to_string()),
                    [db::Counts::default(); 4],
                    0,
                )
                .await;
            }
            audit(store, started, Some(0)).await;
            report.error = Some(msg);
            report.elapsed = started.elapsed();
            return report;
        }
        Err(e) => {
            report.error = Some(anyhow::Error::new(e).context(
                "taking the sync lock (run `ghiseul-connector migrate` if the database predates sync)",
            ));
            return report;
        }
    }
    let outcome = async {
        let run_id = db::start_run(store, "running")
            .await
            .context("recording the run")?;
        if let Err(e) = db::refresh_statistics(store).await {
            tracing::warn!(error = %e, "could not refresh the statistics of taxpayers (ANALYZE); reading may be slow");
        }
        report.run_id = Some(run_id);
        let client = TransferClient::new(
            &settings.url,
            &ready,
            settings.retries,
            Duration::from_millis(settings.retry_delay_ms),
            Duration::from_secs(settings.timeout_secs),
        )?;
        let mut run = Run {
            store,
            client: &client,
            run_id,
            token: &token,
            lease,
            page,
            retries: 0,
        };
        let mut result = Ok(());
        for kind in Kind::ALL {
            let mut k = KindReport::new(kind);
            let r = run.sync_kind(&mut k).await;
            report.kinds.push(k);
            if let Err(e) = r {
                result = Err(e);
                break;
            }
        }
        report.retries = run.retries;
        let counts = Kind::ALL.map(|kind| {
            report
                .kind(kind)
                .map(KindReport::counts)
                .unwrap_or_default()
        });
        let (label, detail) = match &result {
            Ok(()) => ("ok", None),
            Err(e) => ("failed", Some(format!("{e:#}"))),
        };
        db::finish_run(
            store,
            run_id,
            label,
            detail.as_deref(),
            counts,
            i64::from(run.retries),
        )
        .await
        .context("recording the end of the run")?;
        result
    }
    .await;
    let _ = db::unlock(store, &token).await;
    let fault = match &outcome {
        Ok(()) => None,
        Err(e) => Some(
            e.downcast_ref::<CallError>()
                .and_then(CallError::fault_code)
                .unwrap_or(0),
        ),
    };
    audit(store, started, fault).await;
    for k in &report.kinds {
        if let Some(why) = &k.skipped {
            report.warnings.push(format!("{}: {why}", label(k.kind)));
        }
    }
    report.error = outcome.err();
    report.elapsed = started.elapsed();
    report
}

/// One audit row per run (operation `sync`), as every SOAP request has one.
async fn audit(store: &Store, started: Instant, fault: Option<u8>) {
    use crate::store::audit;
    let mut r = audit::Record::now("sync", String::new(), "sync".into());
    r.duration_ms = started.elapsed().as_millis() as i64;
    if let Some(code) = fault {
        r.outcome = audit::Outcome::Fault;
        r.fault_code = Some(code).filter(|c| *c > 0);
    }
    if let Err(e) = audit::insert(store, &[r]).await {
        tracing::warn!(error = %e, "could not write the audit row of the sync run");
    }
}

struct Run<'a> {
    store: &'a Store,
    client: &'a TransferClient,
    run_id: i64,
    token: &'a str,
    lease: Duration,
    page: usize,
    retries: u32,
}

impl Run<'_> {
    async fn call(
        &mut self,
        op: Operation,
        packet: Option<(&Packet, bool, bool)>,
    ) -> Result<String, CallError> {
        let mut retried = 0;
        let r = self.client.call(op, packet, &mut retried).await;
        self.retries += retried;
        r
    }

    async fn sync_kind(&mut self, k: &mut KindReport) -> anyhow::Result<()> {
        let kind = k.kind;
        let since = match self.call(kind.get_ultima(), None).await {
            Ok(s) => s,
            Err(e) if kind == Kind::TipuriSume && e.fault_code() == Some(5) => {
                k.skipped = Some(format!("{e}"));
                return Ok(());
            }
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        // ghiseul.ro's mark is the `data` of the last record it holds, and the norm says to
        // send from `data >= mark`, the boundary again. A whole register imported in one go
        // has a single `data`, so that would resend all of it; when the mark is the one
        // recorded here with the last acknowledged record, the run starts after that record
        // instead — provided the acknowledgement came after the mark's second had passed,
        // since a record changed within that very second may carry the mark's `data` too.
        let after_cod = match db::acks(self.store)
            .await?
            .into_iter()
            .find(|a| a.kind == kind.as_str())
        {
            Some(a)
                if kind != Kind::Stergeri
                    && a.mark == since
                    && a.acknowledged_local.as_str() > since.as_str() =>
            {
                a.cursor_cod
            }
            _ => -1,
        };
        let mut feed = Feed::new(kind, &since, after_cod, self.page)?;
        let full = since == "0";
        let op = kind.send(full);
        k.since = since;
        k.operation = Some(op);
        tracing::info!(register = kind.as_str(), operation = op.name(), since = %k.since, "sending");
        let mut current = feed.next(self.store, k).await?;
        let mut primul = true;
        while !current.is_empty() {
            let next = feed.next(self.store, k).await?;
            let ultimul = next.is_empty();
            let result = match self.call(op, Some((&current, primul, ultimul))).await {
                Ok(r) => r,
                Err(e) if kind == Kind::TipuriSume && e.fault_code() == Some(5) => {
                    k.skipped = Some(format!("{e}"));
                    return Ok(());
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{} packet {} ({} items, cod {}..{})",
                        op.name(),
                        k.packets + 1,
                        current.len(),
                        current.codes().first().unwrap_or(&""),
                        current.codes().last().unwrap_or(&"")
                    )))
                }
            };
            if result != "0" {
                return Err(anyhow!(
                    "ghiseul.ro answered `{result}` to {} packet {}, not 0 (success); the norm gives no other answer, so the run stops here",
                    op.name(),
                    k.packets + 1
                ));
            }
            k.sent += current.len() as u64;
            k.packets += 1;
            let (mark, cursor_cod) = mark(&current);
            let still_ours = db::record_ack(
                self.store,
                kind.as_str(),
                &mark,
                cursor_cod,
                op.name(),
                current.len() as i64,
                self.run_id,
                (self.token, &utc_in(self.lease)),
            )
            .await
            .context("recording what ghiseul.ro acknowledged")?;
            if !still_ours {
                return Err(anyhow!(
                    "the sync lock was taken over by another run (this one was too slow): stopping"
                ));
            }
            if k.packets % 100 == 0 {
                tracing::info!(
                    register = kind.as_str(),
                    sent = k.sent,
                    packets = k.packets,
                    "progress"
                );
            }
            primul = false;
            current = next;
        }
        tracing::info!(
            register = kind.as_str(),
            sent = k.sent,
            left_out = k.left_out,
            "done"
        );
        Ok(())
    }
}

/// What a run would send, from what ghiseul.ro last acknowledged (as recorded here).
async fn dry_run(store: &Store, page: usize, report: &mut Report) -> anyhow::Result<()> {
    let acks = db::acks(store)
        .await
        .context("reading what ghiseul.ro acknowledged (run `ghiseul-connector migrate` first)")?;
    for kind in Kind::ALL {
        let (since, after_cod) = acks
            .iter()
            .find(|a| a.kind == kind.as_str())
            .map_or_else(|| ("0".to_string(), -1), |a| (a.mark.clone(), a.cursor_cod));
        let mut k = KindReport::new(kind);
        let mut feed = Feed::new(kind, &since, after_cod, page)?;
        k.operation = Some(kind.send(since == "0"));
        k.since = since;
        loop {
            let packet = feed.next(store, &mut k).await?;
            if packet.is_empty() {
                break;
            }
            if k.samples.len() < DRY_RUN_SAMPLES {
                k.samples
                    .extend(sample(&packet, DRY_RUN_SAMPLES - k.samples.len()));
            }
            k.sent += packet.len() as u64;
            k.packets += 1;
        }
        report.kinds.push(k);
    }
    Ok(())
}

/// A UTC time of the sync tables as the command line shows every time: Romanian time with
/// its offset (`rules::clock::show_utc`).
fn shown(utc: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S")
        .map(|t| crate::rules::clock::show_utc(&t))
        .unwrap_or_else(|_| utc.to_string())
}

/// `sync --status`: what ghiseul.ro last acknowledged per register, and the last runs.
pub async fn status(store: &Store) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let acks = db::acks(store)
        .await
        .context("reading the sync tables (run `ghiseul-connector migrate` first)")?;
    let runs = db::recent_runs(store, 5).await?;
    let mut out = String::new();
    let _ = writeln!(out, "Last acknowledged by ghiseul.ro:");
    for kind in Kind::ALL {
        match acks.iter().find(|a| a.kind == kind.as_str()) {
            Some(a) => {
                let what = if kind == Kind::Stergeri {
                    "deletion code"
                } else {
                    "data"
                };
                let _ = writeln!(
                    out,
                    "  {:<10} {what} {} — {} of {} item(s) at {} (run {})",
                    label(kind),
                    a.mark,
                    a.operation,
                    a.items,
                    shown(&a.acknowledged_at),
                    a.run_id
                );
            }
            None => {
                let _ = writeln!(out, "  {:<10} nothing yet", label(kind));
            }
        }
    }
    let _ = writeln!(out, "Last runs:");
    if runs.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for r in runs {
        let c = r.counts;
        let _ = writeln!(
            out,
            "  run {} {} → {} {}: sent tax types {}, persons {}, PFA {}, deletions {}; left out {}; {} retries{}",
            r.id,
            shown(&r.started_at),
            r.finished_at.as_deref().map_or_else(|| "…".to_string(), shown),
            r.outcome,
            c[0].sent,
            c[1].sent,
            c[2].sent,
            c[3].sent,
            c.iter().map(|c| c.left_out).sum::<i64>(),
            r.retries,
            r.detail.map(|d| format!("\n      {d}")).unwrap_or_default()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> db::TaxTypeRow {
        db::TaxTypeRow {
            id_tip_suma: 12,
            id_nom_unic: None,
            nume: " Taxă\r\ncertificat fiscal ".into(),
            iban: "ro29 trez 1315 069X XX05 4321".into(),
            debit: 0,
            val_initiala: Some(500),
            inactiv: 0,
            data: "2011-01-10 08:00:00".into(),
            platitor: 0,
        }
    }

    #[test]
    fn a_tax_type_is_sent_normalised_with_money_in_the_annex_1_form() {
        let t = tax_type(&row()).unwrap();
        assert_eq!(t.nume, "Taxă certificat fiscal");
        assert_eq!(t.iban, "RO29TREZ1315069XXX054321");
        assert_eq!(t.val_initiala, "5.00");
        assert_eq!(
            (t.debit.as_str(), t.inactiv.as_str(), t.platitor.as_str()),
            ("0", "0", "0")
        );
        assert_eq!(t.id_nom_unic, "");
    }

    #[test]
    fn tax_types_ghiseul_would_refuse_are_left_out_with_the_reason() {
        let no_iban = db::TaxTypeRow {
            iban: " ".into(),
            ..row()
        };
        assert_eq!(tax_type(&no_iban).unwrap_err(), "no IBAN");
        let bad = db::TaxTypeRow {
            iban: "RO30TREZ1315069XXX054321".into(),
            ..row()
        };
        assert!(tax_type(&bad).unwrap_err().contains("not a valid IBAN"));
        let debit = db::TaxTypeRow { debit: 3, ..row() };
        assert!(tax_type(&debit).unwrap_err().contains("debit 3"));
        let platitor = db::TaxTypeRow {
            platitor: -1,
            ..row()
        };
        assert!(tax_type(&platitor).unwrap_err().contains("platitor -1"));
        let big = db::TaxTypeRow {
            id_tip_suma: 1 << 40,
            ..row()
        };
        assert!(tax_type(&big).unwrap_err().contains("xsd:int"));
    }

    #[test]
    fn marks_are_the_data_and_code_of_the_last_record_of_a_packet() {
        let p = |cod: &str, data: &str| Persoana {
            cod: cod.into(),
            data: data.into(),
            ..Persoana::default()
        };
        assert_eq!(
            mark(&Packet::Persoane(vec![
                p("1", "2026-01-01 00:00:00"),
                p("2", "2026-01-02 00:00:00")
            ])),
            ("2026-01-02 00:00:00".to_string(), 2)
        );
        let s = |cod: &str| Stergere {
            cod: cod.into(),
            ..Stergere::default()
        };
        assert_eq!(
            mark(&Packet::Stergeri(vec![s("9"), s("10")])),
            ("10".to_string(), 10)
        );
    }

    #[test]
    fn a_mark_that_is_neither_zero_nor_a_date_stops_the_run() {
        assert!(Feed::new(Kind::Persoane, "2026-13-01 00:00:00", -1, 1000).is_err());
        assert!(Feed::new(Kind::Persoane, "ieri", -1, 1000).is_err());
        assert!(Feed::new(Kind::Stergeri, "-3", -1, 1000).is_err());
        assert!(Feed::new(Kind::Stergeri, "41", -1, 1000).is_ok());
        assert!(Feed::new(Kind::Firme, "0", -1, 1000).is_ok());
    }

    #[test]
    fn the_lock_outlives_the_slowest_packet() {
        let s = TransferSettings::default();
        // 4 calls of 60 s and 2+4+8 s of pauses, twice over, plus a minute.
        assert_eq!(lease(&s), Duration::from_secs(2 * (240 + 14) + 60));
        let quick = TransferSettings {
            retries: 0,
            timeout_secs: 1,
            ..TransferSettings::default()
        };
        assert_eq!(lease(&quick), Duration::from_secs(300));
    }

    #[test]
    fn a_cnp_is_never_shown_whole() {
        assert_eq!(mask("1800101221111"), "…111");
        assert_eq!(mask("31245671"), "31245671");
    }
}
