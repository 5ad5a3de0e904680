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
        let op = self.send("inregistrareIncasari", xml).await?;
        if let Some((code, text)) = read::fault(&op) {
            return Ok(Answer::Fault { code, text });
        }
        let result = read::incasari_response(&op)
            .map_err(|e| anyhow::anyhow!("the answer is not a valid response: {e}"))?;
        Ok(Answer::Ok(result))
    }

    async fn send(&self, operation: &str, xml: String) -> anyhow::Result<envelope::Element> {
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
        let body = response.bytes().await.context("reading the answer")?;
        match envelope::parse(&body, Limits::default()) {
            Ok(env) => Ok(env.operation),
            Err(e) => bail!(
                "HTTP {status}: the answer is not a SOAP envelope ({}): {}",
                e.reason,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ),
        }
    }
}

/// The statement as a readable table.
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
    }
    out
}
