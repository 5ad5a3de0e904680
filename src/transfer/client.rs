//! The HTTP side of `sync`: one call of an operation, with the retry policy of D18. Fault 4
//! („serviciul este indisponibil"), an HTTP error, a dropped connection and a timeout are
//! retried `retries` times, after `retry_delay_ms`, doubled each time; every other fault is
//! returned at once, since sending the same message again cannot change its answer.

use std::time::Duration;

use super::records::Packet;
use super::soap::{self, Caller, Sending};
use super::Operation;
use crate::protocol::{envelope, read, Limits};
use crate::rules::check::Signer;
use crate::rules::clock;

/// Why a call did not answer a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// A SOAP Fault: the code (as sent) and ghiseul.ro's text.
    #[error("{}", super::faults::describe(code, text))]
    Fault { code: String, text: String },
    /// No answer that could be read: connection refused or dropped, timeout, an HTTP error
    /// without a SOAP envelope.
    #[error("{0}")]
    Transport(String),
    /// An answer that is not what the WSDL says.
    #[error("{0}")]
    Protocol(String),
}

impl CallError {
    /// Worth sending again: fault 4, or no readable answer at all.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Fault { code, .. } => super::faults::parse_code(code) == Some(4),
            CallError::Transport(_) => true,
            CallError::Protocol(_) => false,
        }
    }

    /// The Annex 2 code of a fault, if it is one.
    pub fn fault_code(&self) -> Option<u8> {
        match self {
            CallError::Fault { code, .. } => super::faults::parse_code(code),
            _ => None,
        }
    }
}

pub struct TransferClient {
    http: reqwest::Client,
    url: String,
    id_client: String,
    user_client: String,
    utilizator: String,
    signer: Signer,
    retries: u32,
    retry_delay: Duration,
}

impl TransferClient {
    pub fn new(
        url: &str,
        ready: &super::settings::Ready,
        retries: u32,
        retry_delay: Duration,
        timeout: Duration,
    ) -> anyhow::Result<TransferClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            .build()?;
        Ok(TransferClient {
            http,
            url: url.to_string(),
            id_client: ready.id_client.to_string(),
            user_client: ready.user_client.clone(),
            utilizator: ready.utilizator.clone(),
            signer: Signer::new(ready.key.as_bytes()),
            retries,
            retry_delay,
        })
    }

    /// Calls `op` (with `packet`, for the operations that carry one) and returns the result
    /// string, retrying what is worth retrying. `retried` counts the retries made.
    pub async fn call(
        &self,
        op: Operation,
        packet: Option<(&Packet, bool, bool)>,
        retried: &mut u32,
    ) -> Result<String, CallError> {
        let check = packet.map(|(p, _, _)| p.check(&self.signer));
        let mut attempt = 0u32;
        loop {
            let caller = Caller {
                id_client: self.id_client.clone(),
                user_client: self.user_client.clone(),
                utilizator: self.utilizator.clone(),
                timestamp: clock::timestamp(&clock::now()),
            };
            let sending = packet.map(|(p, primul, ultimul)| Sending {
                packet: p,
                primul,
                ultimul,
                check: check.clone().unwrap_or_default(),
            });
            let xml = soap::request(op, &caller, sending.as_ref());
            match self.send(op, xml).await {
                Ok(result) => return Ok(result),
                Err(e) if e.is_retryable() && attempt < self.retries => {
                    let pause = self.retry_delay.saturating_mul(1 << attempt.min(16));
                    tracing::warn!(operation = op.name(), attempt = attempt + 1, of = self.retries, pause_ms = pause.as_millis() as u64, error = %e, "retrying");
                    attempt += 1;
                    *retried += 1;
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send(&self, op: Operation, xml: String) -> Result<String, CallError> {
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("\"{}\"", op.soap_action()))
            .body(xml)
            .send()
            .await
            .map_err(|e| {
                CallError::Transport(if e.is_timeout() {
                    format!("no answer from {} in time ({})", self.url, op.name())
                } else {
                    format!(
                        "cannot reach {} ({}): {}",
                        self.url,
                        op.name(),
                        root_cause(&e)
                    )
                })
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            CallError::Transport(format!(
                "the answer to {} was cut off: {}",
                op.name(),
                root_cause(&e)
            ))
        })?;
        let limits = Limits {
            max_depth: 32,
            max_elements: 1000,
        };
        let element = match envelope::parse(&body, limits) {
            Ok(env) => env.operation,
            Err(e) if !status.is_success() => {
                return Err(CallError::Transport(format!(
                    "HTTP {status} from {} ({}), not a SOAP answer ({}): {}",
                    self.url,
                    op.name(),
                    e.reason,
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                )))
            }
            Err(e) => {
                return Err(CallError::Protocol(format!(
                    "the answer to {} is not a SOAP envelope ({})",
                    op.name(),
                    e.reason
                )))
            }
        };
        if let Some((code, text)) = read::fault(&element) {
            return Err(CallError::Fault { code, text });
        }
        if !status.is_success() {
            return Err(CallError::Transport(format!(
                "HTTP {status} from {} ({})",
                self.url,
                op.name()
            )));
        }
        soap::read_result(op, &element).map_err(CallError::Protocol)
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}
