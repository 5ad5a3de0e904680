//! `ghiseul-connector call`: acts exactly as ghiseul.ro would — signs a request, sends it,
//! verifies the response check — so an institution can test a deployment end to end.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::messages::{IncasariRequest, SumaIncasata, SumeRequest, SumeResponse};
use crate::protocol::{envelope, read, write, Limits, SoapVersion};
use crate::rules::check::Signer;
use crate::rules::clock;

pub struct Client {
    http: reqwest::Client,
    url: String,
    namespace: String,
    signer: Signer,
    version: SoapVersion,
}

/// A parsed answer: the operation's response, or the fault the server sent.
pub enum Answer<T> {
    Ok(T),
    Fault { code: String, text: String },
}

impl Client {
    pub fn new(
        url: &str,
        namespace: &str,
        key: &str,
        version: SoapVersion,
    ) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(Client {
            http,
            url: url.to_string(),
            namespace: namespace.to_string(),
            signer: Signer::new(key.as_bytes()),
            version,
        })
    }

    pub async fn get_sume(&self, cui: &str) -> anyhow::Result<Answer<SumeResponse>> {
        let req = SumeRequest {
            cui: cui.to_string(),
            timestamp: clock::timestamp(&clock::now()),
            check: self.signer.sign(cui),
        };
        let xml = write::sume_request(self.version, &self.namespace, &req);
        let op = self.send("getSumeDePlataPePersoana", xml).await?;
        if let Some((code, text)) = read::fault(&op) {
            return Ok(Answer::Fault { code, text });
        }
        let resp = read::sume_response(&op)
            .map_err(|e| anyhow::anyhow!("the answer is not a valid response: {e}"))?;
        let expected = self.signer.sign(&SumeResponse::signed_text(&resp.sume));
        if !self.signer.verify(
            [SumeResponse::signed_text(&resp.sume).as_str()],
            &resp.check,
        ) {
            bail!(
                "the response check does not verify (got {}, expected {expected}): the server uses another key, or the answer was altered",
                resp.check
            );
        }
        Ok(Answer::Ok(resp))
    }

    pub async fn pay(
        &self,
        order: &str,
        cui: &str,
        data: &str,
        sume: Vec<SumaIncasata>,
    ) -> anyhow::Result<Answer<bool>> {
        Ok(self.pay_telling(order, cui, data, sume).await?.0)
    }

    /// `pay`, with what the server says became of the payment (`recorded`, `retry`,
    /// `conflict`, `unknown_tax_type`) when it says it (this server does, in an HTTP
    /// header; the protocol itself only has true or false).
    pub async fn pay_telling(
        &self,
        order: &str,
        cui: &str,
        data: &str,
        sume: Vec<SumaIncasata>,
    ) -> anyhow::Result<(Answer<bool>, Option<String>)> {
        let mut req = IncasariRequest {
            order: order.to_string(),
            cui: cui.to_string(),
            sume,
            data: data.to_string(),
            timestamp: clock::timestamp(&clock::now()),
            check: String::new(),
        };
        req.check = self.signer.sign(&req.signed_text());
        let xml = write::incasari_request(self.version, &self.namespace, &req);
        let (op, told) = self.send_telling("inregistrareIncasari", xml).await?;
        if let Some((code, text)) = read::fault(&op) {
            return Ok((Answer::Fault { code, text }, told));
        }
        let result = read::incasari_response(&op)
            .map_err(|e| anyhow::anyhow!("the answer is not a valid response: {e}"))?;
        Ok((Answer::Ok(result), told))
    }

    async fn send(&self, operation: &str, xml: String) -> anyhow::Result<envelope::Element> {
        Ok(self.send_telling(operation, xml).await?.0)
    }

    async fn send_telling(
        &self,
        operation: &str,
        xml: String,
    ) -> anyhow::Result<(envelope::Element, Option<String>)> {
        let action = format!("{}#{operation}", self.url);
        let mut request = self.http.post(&self.url).body(xml);
        request = match self.version {
            SoapVersion::V11 => request
                .header("Content-Type", SoapVersion::V11.content_type())
                .header("SOAPAction", format!("\"{action}\"")),
            SoapVersion::V12 => request.header(
                "Content-Type",
                format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
            ),
        };
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach {} (is the server running? check --url)",
                self.url
            )
        })?;
        let status = response.status();
        let told = response
            .headers()
            .get(crate::http::PAYMENT_RESULT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await.context("reading the answer")?;
        match envelope::parse(&body, Limits::default()) {
            Ok(env) => Ok((env.operation, told)),
            Err(e) => bail!(
                "HTTP {status}: the answer is not a SOAP envelope ({}): {}",
                e.reason,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ),
        }
    }
}

/// The statement as a clerk reads it: one line per tax type with its name (from `names`,
/// the register's tax types, when the database can be read here), the amount in lei and
/// the total; then each type's lines as the server sent them.
pub fn format_statement_for_people(
    cui: &str,
    r: &SumeResponse,
    names: &std::collections::HashMap<String, String>,
) -> String {
    use crate::rules::money::Bani;
    use std::fmt::Write as _;
    let mut out = String::new();
    let day = match r.data_calcul.as_bytes() {
        d if d.len() == 8 && d.iter().all(u8::is_ascii_digit) => format!(
            "{}-{}-{}",
            &r.data_calcul[..4],
            &r.data_calcul[4..6],
            &r.data_calcul[6..]
        ),
        _ => r.data_calcul.clone(),
    };
    let _ = writeln!(out, "What {cui} owes, computed on {day} (answer verified):");
    if r.sume.is_empty() {
        let _ = writeln!(out, "Nothing to pay.");
        return out;
    }
    let name = |id: &str| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("tax type {id}"))
    };
    let rows: Vec<(String, String)> = r
        .sume
        .iter()
        .map(|t| {
            (
                format!("{} {}", t.id_tip_suma, name(&t.id_tip_suma)),
                t.valoare.clone(),
            )
        })
        .collect();
    let total = r.sume.iter().try_fold(Bani(0), |sum, t| {
        Bani::parse_lei(&t.valoare)
            .ok()
            .and_then(|v| sum.checked_add(v))
    });
    let total = total.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .chain(["Tax type".len(), "Total".len()])
        .max()
        .unwrap_or(0);
    let amount_width = rows
        .iter()
        .map(|(_, v)| v.len())
        .chain(["Amount (lei)".len(), total.len()])
        .max()
        .unwrap_or(0);
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let _ = writeln!(
        out,
        "  {}  {:>amount_width$}",
        pad("Tax type", width),
        "Amount (lei)"
    );
    for (n, v) in &rows {
        let _ = writeln!(out, "  {}  {v:>amount_width$}", pad(n, width));
    }
    let _ = writeln!(out, "  {}  {total:>amount_width$}", pad("Total", width));
    for t in &r.sume {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} {}:", t.id_tip_suma, name(&t.id_tip_suma));
        out.push_str(&detail_lines(t));
    }
    out
}

/// A type's detail lines (its header, then each line), aligned in columns.
fn detail_lines(t: &crate::messages::TipSuma) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut rows = vec![t.detalii_header.clone()];
    rows.extend(t.detalii_body.iter().cloned());
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c].saturating_sub(s.chars().count());
                if c == 0 || i == 0 {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join(" | "));
    }
    out
}

/// The statement with the protocol's own words (`call get-sume --raw`).
pub fn format_statement(cui: &str, r: &SumeResponse) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CUI {cui}: dataCalcul {}, timestamp {}, check {} (verified)",
        r.data_calcul, r.timestamp, r.check
    );
    if r.sume.is_empty() {
        let _ = writeln!(out, "Nothing to pay.");
        return out;
    }
    for t in &r.sume {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "idTipSuma {}  prioritate {}  valoare {}",
            t.id_tip_suma, t.prioritate, t.valoare
        );
        out.push_str(&detail_lines(t));
    }
    out
}
