//! `ghiseul-connector simulate-transfer`: ghiseul.ro's side of Annex 2, as the norm
//! describes it, so that an institution can rehearse `sync` before going live and the tests
//! have a real server to sync against.
//!
//! It serves the Transfer WSDL at `?wsdl` and the twelve operations (SOAP 1.1, and 1.2 for
//! good measure), and verifies what ghiseul.ro verifies: `idClient` (fault 2), `userClient`
//! (3), at most 1000 items (8), the check (1), one identifier per packet (6), valid
//! CNPs/CIFs and tax types (7). What it accepts it keeps in memory and prints; the
//! `getUltima…` answers come from what it holds. `--fault-on` makes it answer a given fault
//! to rehearse failures. What the norm leaves open it decides as the most demanding
//! server would (see docs: `transfer…` with `primulPachet = 1` replaces the register; each
//! packet is kept as it arrives, so a transfer cut short leaves a high-water mark).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::records::{Packet, Persoana, TipSuma};
use super::soap;
use super::{faults, iban, Kind, Operation};
use crate::protocol::{envelope, read, Limits, SoapVersion};
use crate::rules::check::Signer;
use crate::rules::ident::Cui;

const WSDL: &str = include_str!("../../wsdl/transfer.wsdl");

/// When to answer a fault instead of doing the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The N-th request (counted from 1, every operation), once.
    Nth(u64),
    /// Every call of this operation.
    Every(Operation),
    /// The N-th call of this operation, once.
    NthOf(Operation, u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    pub trigger: Trigger,
    pub code: u8,
}

impl std::str::FromStr for FaultRule {
    type Err = String;

    /// `CALL:CODE`: `3:4` (fault 4 on the third request), `transferPersoane:9` (fault 9 on
    /// every transferPersoane), `actualizarePersoane#2:4` (on the second of them).
    fn from_str(s: &str) -> Result<FaultRule, String> {
        let usage = || {
            format!("`{s}` is not CALL:CODE (e.g. 3:4, transferPersoane:9, transferPersoane#2:4; CODE 1-10)")
        };
        let (call, code) = s.rsplit_once(':').ok_or_else(usage)?;
        let code: u8 = code
            .trim()
            .parse()
            .ok()
            .filter(|c| (1..=10).contains(c))
            .ok_or_else(usage)?;
        let call = call.trim();
        let trigger = if let Ok(n) = call.parse::<u64>() {
            Trigger::Nth(n)
        } else if let Some((op, n)) = call.split_once('#') {
            let op = Operation::from_name(op).ok_or_else(usage)?;
            Trigger::NthOf(op, n.parse().map_err(|_| usage())?)
        } else {
            Trigger::Every(Operation::from_name(call).ok_or_else(usage)?)
        };
        Ok(FaultRule { trigger, code })
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub key: String,
    pub id_client: u64,
    pub user_client: String,
    pub faults: Vec<FaultRule>,
    /// A pause before answering each packet (to rehearse a slow server or a timeout).
    pub delay: Duration,
    /// Print a line per accepted packet on standard output.
    pub print: bool,
}

/// One packet the simulator accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub op: Operation,
    pub items: usize,
    pub primul: bool,
    pub ultimul: bool,
    pub codes: Vec<String>,
}

/// What the simulator holds: ghiseul.ro's copy of the institution's registers.
#[derive(Debug, Default)]
pub struct Held {
    pub persoane: HashMap<String, Persoana>,
    pub firme: HashMap<String, Persoana>,
    pub tipuri_sume: HashMap<String, TipSuma>,
    /// The greatest deletion code processed.
    pub ultim_cod_stergeri: Option<u64>,
    pub stergeri: u64,
    /// Every request, and per operation.
    pub calls: u64,
    pub calls_of: HashMap<Operation, u64>,
    pub accepted: Vec<Accepted>,
    /// Faults answered, by code.
    pub faults: Vec<(Operation, u8)>,
}

impl Held {
    /// The greatest `data` held of a kind, or `0` (`getUltimaData…`).
    pub fn ultima_data(&self, kind: Kind) -> String {
        let max = match kind {
            Kind::Persoane => self.persoane.values().map(|p| p.data.as_str()).max(),
            Kind::Firme => self.firme.values().map(|p| p.data.as_str()).max(),
            Kind::TipuriSume => self.tipuri_sume.values().map(|t| t.data.as_str()).max(),
            Kind::Stergeri => None,
        };
        max.unwrap_or("0").to_string()
    }

    /// Items received in accepted packets of `kind` (resent ones counted again).
    pub fn items_received(&self, kind: Kind) -> usize {
        self.accepted
            .iter()
            .filter(|a| a.op.kind() == Some(kind))
            .map(|a| a.items)
            .sum()
    }
}

struct Sim {
    config: SimConfig,
    signer: Signer,
    held: Arc<Mutex<Held>>,
    wsdl: String,
}

/// A running simulator.
pub struct Simulator {
    pub addr: SocketAddr,
    pub held: Arc<Mutex<Held>>,
    task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds `listen` and serves until dropped.
    pub async fn start(config: SimConfig, listen: &str) -> anyhow::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let held = Arc::new(Mutex::new(Held::default()));
        let url = format!("http://{addr}/ghiseul_admin/public/transfer/transfer");
        let sim = Arc::new(Sim {
            signer: Signer::new(config.key.as_bytes()),
            config,
            held: held.clone(),
            wsdl: WSDL.replace(
                r#"<soap:address location="https://www.ghiseul.ro/ghiseul_admin/public/transfer/transfer"/>"#,
                &format!(r#"<soap:address location="{url}"/>"#),
            ),
        });
        let router = Router::new()
            .fallback(any(handle))
            .layer(DefaultBodyLimit::max(64 << 20))
            .with_state(sim);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Simulator { addr, held, task })
    }

    /// The URL to give `sync` (`transfer_url`).
    pub fn url(&self) -> String {
        format!(
            "http://{}/ghiseul_admin/public/transfer/transfer",
            self.addr
        )
    }

    /// Waits until the server stops (never, unless it fails).
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(sim): State<Arc<Sim>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.is_empty() {
        if query
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("wsdl"))
        {
            return (
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                sim.wsdl.clone(),
            )
                .into_response();
        }
        return (
            StatusCode::NOT_FOUND,
            "Transfer simulator: POST SOAP requests here, or GET ?wsdl\n",
        )
            .into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let limits = Limits {
        max_depth: 32,
        max_elements: 200_000,
    };
    let envelope = match envelope::parse(&body, limits) {
        Ok(e) => e,
        Err(e) => {
            let version = e
                .version
                .unwrap_or_else(|| SoapVersion::from_content_type(content_type));
            return client_fault(version, &e.reason);
        }
    };
    let version = envelope.version;
    let request = match soap::read_request(&envelope.operation) {
        Ok(r) => r,
        Err(reason) => return client_fault(version, &reason),
    };
    if request.op.carries_packet() && !sim.config.delay.is_zero() {
        tokio::time::sleep(sim.config.delay).await;
    }
    let mut held = sim.held.lock().unwrap_or_else(|p| p.into_inner());
    match answer(&sim, &mut held, &request) {
        Ok(result) => (
            [(header::CONTENT_TYPE, version.content_type())],
            soap::response(version, request.op, &result),
        )
            .into_response(),
        Err((code, text)) => {
            held.faults.push((request.op, code));
            fault(version, code, &text)
        }
    }
}

fn fault(version: SoapVersion, code: u8, text: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, version.content_type())],
        crate::protocol::write::fault(version, code, text),
    )
        .into_response()
}

/// A message that is not a request of the WSDL: a `Client` fault, as PHP's SoapServer
/// answers one.
fn client_fault(version: SoapVersion, reason: &str) -> Response {
    let code = match version {
        SoapVersion::V11 => "SOAP-ENV:Client",
        SoapVersion::V12 => "env:Sender",
    };
    let xml = crate::protocol::write::fault(version, 0, reason).replacen(
        match version {
            SoapVersion::V11 => "<faultcode>0</faultcode>",
            SoapVersion::V12 => "<env:Value>0</env:Value>",
        },
        &match version {
            SoapVersion::V11 => format!("<faultcode>{code}</faultcode>"),
            SoapVersion::V12 => format!("<env:Value>{code}</env:Value>"),
        },
        1,
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, version.content_type())],
        xml,
    )
        .into_response()
}

type Refusal = (u8, String);

fn answer(sim: &Sim, held: &mut Held, r: &soap::Request) -> Result<String, Refusal> {
    held.calls += 1;
    let nth_of = {
        let n = held.calls_of.entry(r.op).or_insert(0);
        *n += 1;
        *n
    };
    for rule in &sim.config.faults {
        let hit = match &rule.trigger {
            Trigger::Nth(n) => *n == held.calls,
            Trigger::Every(op) => *op == r.op,
            Trigger::NthOf(op, n) => *op == r.op && *n == nth_of,
        };
        // Counts match once, so Nth and NthOf fire once; Every fires every time.
        if hit {
            let detail = match rule.code {
                6 => "Error. Există mai multe persoane cu același CNP (0000000000000) în pachet"
                    .into(),
                7 => "Error. CNP-uri invalide: 0000000000000".into(),
                9 => r.op.name().to_string(),
                _ => String::new(),
            };
            return Err((rule.code, faults::simulator_text(rule.code, &detail)));
        }
    }
    if r.op == Operation::ConnectionTest {
        return Ok("1".into());
    }
    // idClient is an xsd:float: 1234, 1234.0 and 1.234E3 are the same value.
    let id_ok = r
        .id_client
        .parse::<f64>()
        .is_ok_and(|v| v == sim.config.id_client as f64);
    if !id_ok {
        return Err((2, faults::simulator_text(2, "")));
    }
    if r.user_client != sim.config.user_client {
        return Err((3, faults::simulator_text(3, "")));
    }
    let kind =
        r.op.kind()
            .expect("every operation but connectionTest has a register");
    let Some(packet) = &r.packet else {
        return Ok(match kind {
            Kind::Stergeri => held
                .ultim_cod_stergeri
                .map_or_else(|| "0".to_string(), |c| c.to_string()),
            k => held.ultima_data(k),
        });
    };
    if packet.len() > super::MAX_PACKET {
        return Err((8, faults::simulator_text(8, "")));
    }
    if !sim.signer.verify([packet.check_text().as_str()], &r.check) {
        return Err((1, faults::simulator_text(1, "")));
    }
    validate(packet)?;
    accept(held, r, packet);
    if sim.config.print {
        print_accepted(held.accepted.last().expect("just accepted"), packet);
    }
    Ok("0".into())
}

fn is_data(s: &str) -> bool {
    crate::rules::clock::parse_payment_date(s).is_some()
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The checks of ghiseul.ro (faults 6 and 7), and the form of `cod` and `data`, which the
/// norm fixes but gives no fault for (answered as a `Client` fault would be: code 7 here,
/// so that a rehearsal stops on it).
fn validate(packet: &Packet) -> Result<(), Refusal> {
    match packet {
        Packet::Persoane(v) | Packet::Firme(v) => {
            let persons = matches!(packet, Packet::Persoane(_));
            let mut seen = HashSet::new();
            for p in v {
                if !seen.insert(p.cui.as_str()) {
                    let text = if persons {
                        format!(
                            "Error. Există mai multe persoane cu același CNP ({}) în pachet",
                            p.cui
                        )
                    } else {
                        format!("Error. Există mai multe persoane fizice autorizate cu același CUI ({}) în pachet", p.cui)
                    };
                    return Err((6, text));
                }
            }
            let invalid: Vec<&str> = v
                .iter()
                .filter(|p| {
                    !matches!(Cui::parse(&p.cui), Ok(c) if c.as_str() == p.cui && c.is_person() == persons)
                })
                .map(|p| p.cui.as_str())
                .collect();
            if !invalid.is_empty() {
                let what = if persons { "CNP-uri" } else { "CIF-uri" };
                return Err((7, format!("Error. {what} invalide: {}", invalid.join(", "))));
            }
            if let Some(p) = v.iter().find(|p| !is_code(&p.cod) || !is_data(&p.data)) {
                return Err((
                    7,
                    format!(
                        "Error. cod sau data invalide (simulator): cod `{}`, data `{}`",
                        p.cod, p.data
                    ),
                ));
            }
        }
        Packet::TipuriSume(v) => {
            let names = |f: &dyn Fn(&TipSuma) -> bool| -> Vec<&str> {
                v.iter().filter(|t| f(t)).map(|t| t.nume.as_str()).collect()
            };
            let fara_iban = names(&|t| t.iban.is_empty());
            let debit = names(&|t| !matches!(t.debit.as_str(), "0" | "1" | "2"));
            let ibanuri: Vec<&str> = v
                .iter()
                .filter(|t| !t.iban.is_empty() && !iban::is_valid(&t.iban))
                .map(|t| t.iban.as_str())
                .collect();
            let platitor = names(&|t| !matches!(t.platitor.as_str(), "0" | "1" | "2"));
            let mut parts = Vec::new();
            for (label, list) in [
                ("Tip suma fără IBAN", fara_iban),
                ("Tip suma cu debit invalid", debit),
                ("IBAN-uri invalide", ibanuri),
                ("Tip suma cu plătitor invalid", platitor),
            ] {
                if !list.is_empty() {
                    parts.push(format!("{label}: {}", list.join(", ")));
                }
            }
            if !parts.is_empty() {
                return Err((7, format!("Error. {}", parts.join(" "))));
            }
            if let Some(t) = v.iter().find(|t| !is_code(&t.cod) || !is_data(&t.data)) {
                return Err((
                    7,
                    format!(
                        "Error. cod sau data invalide (simulator): cod `{}`, data `{}`",
                        t.cod, t.data
                    ),
                ));
            }
        }
        Packet::Stergeri(v) => {
            if let Some(s) = v.iter().find(|s| {
                !is_code(&s.cod)
                    || !is_code(&s.cod_obiect_sters)
                    || !matches!(s.fizjur.as_str(), "1" | "2")
            }) {
                return Err((
                    7,
                    format!(
                        "Error. ștergere invalidă (simulator): cod `{}`, codObiectSters `{}`, fizjur `{}`",
                        s.cod, s.cod_obiect_sters, s.fizjur
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn accept(held: &mut Held, r: &soap::Request, packet: &Packet) {
    if r.op.is_full_transfer() && r.primul {
        // The most demanding reading of D7: a new whole register replaces the old one.
        match packet {
            Packet::Persoane(_) => held.persoane.clear(),
            Packet::Firme(_) => held.firme.clear(),
            Packet::TipuriSume(_) => held.tipuri_sume.clear(),
            Packet::Stergeri(_) => {}
        }
    }
    match packet {
        Packet::Persoane(v) => {
            for p in v {
                held.persoane.insert(p.cod.clone(), p.clone());
            }
        }
        Packet::Firme(v) => {
            for p in v {
                held.firme.insert(p.cod.clone(), p.clone());
            }
        }
        Packet::TipuriSume(v) => {
            for t in v {
                held.tipuri_sume.insert(t.cod.clone(), t.clone());
            }
        }
        Packet::Stergeri(v) => {
            for s in v {
                match s.fizjur.as_str() {
                    "1" => held.persoane.remove(&s.cod_obiect_sters),
                    _ => held.firme.remove(&s.cod_obiect_sters),
                };
                held.stergeri += 1;
                let cod: u64 = s.cod.parse().unwrap_or(0);
                held.ultim_cod_stergeri = Some(held.ultim_cod_stergeri.map_or(cod, |c| c.max(cod)));
            }
        }
    }
    held.accepted.push(Accepted {
        op: r.op,
        items: packet.len(),
        primul: r.primul,
        ultimul: r.ultimul,
        codes: packet.codes().into_iter().map(String::from).collect(),
    });
}

fn print_accepted(a: &Accepted, packet: &Packet) {
    use std::io::Write as _;
    let range = match (a.codes.first(), a.codes.last()) {
        (Some(f), Some(l)) => format!("cod {f}..{l}"),
        _ => "empty".into(),
    };
    let first = match packet {
        Packet::Persoane(v) | Packet::Firme(v) => v.first().map(|p| {
            let cui = if p.cui.len() == 13 {
                format!("…{}", &p.cui[10..])
            } else {
                p.cui.clone()
            };
            format!("; first: {cui} {} ({})", p.nume, p.data)
        }),
        Packet::TipuriSume(v) => v
            .first()
            .map(|t| format!("; first: {} {} {} ({})", t.cod, t.nume, t.iban, t.data)),
        Packet::Stergeri(v) => v.first().map(|s| {
            format!(
                "; first: delete {} (fizjur {})",
                s.cod_obiect_sters, s.fizjur
            )
        }),
    }
    .unwrap_or_default();
    let _ = writeln!(
        std::io::stdout(),
        "accepted {}: {} item(s), primulPachet={} ultimulPachet={}, {range}{first}",
        a.op.name(),
        a.items,
        u8::from(a.primul),
        u8::from(a.ultimul),
    );
}

/// A fault as `read::fault` sees it, for tests of the simulator.
pub fn fault_of(body: &str) -> Option<(String, String)> {
    let env = envelope::parse(body.as_bytes(), Limits::default()).ok()?;
    read::fault(&env.operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_rules_are_read_from_the_command_line() {
        assert_eq!(
            "3:4".parse::<FaultRule>(),
            Ok(FaultRule {
                trigger: Trigger::Nth(3),
                code: 4
            })
        );
        assert_eq!(
            "transferPersoane:9".parse::<FaultRule>().unwrap().trigger,
            Trigger::Every(Operation::TransferPersoane)
        );
        assert_eq!(
            "actualizareFirme#2:4".parse::<FaultRule>().unwrap(),
            FaultRule {
                trigger: Trigger::NthOf(Operation::ActualizareFirme, 2),
                code: 4
            }
        );
        for bad in ["4", "x:4", "3:11", "3:0", "transferPersoane#x:4", ""] {
            assert!(bad.parse::<FaultRule>().is_err(), "{bad}");
        }
    }

    fn persons(cuis: &[&str]) -> Packet {
        Packet::Persoane(
            cuis.iter()
                .enumerate()
                .map(|(i, c)| Persoana {
                    cui: c.to_string(),
                    nume: "X".into(),
                    adresa: "Y".into(),
                    cod: (i + 1).to_string(),
                    data: "2026-01-01 00:00:00".into(),
                })
                .collect(),
        )
    }

    #[test]
    fn duplicates_name_the_first_repeated_identifier_and_invalid_ones_are_all_listed() {
        let e = validate(&persons(&[
            "1800101221111",
            "2820704120023",
            "1800101221111",
        ]))
        .unwrap_err();
        assert_eq!(e.0, 6);
        assert!(e.1.contains("același CNP (1800101221111)"));
        let e = validate(&persons(&[
            "1800101221112",
            "1800101221111",
            "31245671",
            "12",
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            (
                7,
                "Error. CNP-uri invalide: 1800101221112, 31245671, 12".to_string()
            )
        );
        assert!(validate(&persons(&["1800101221111"])).is_ok());
        let Packet::Persoane(v) = persons(&["31245671"]) else {
            unreachable!()
        };
        assert!(validate(&Packet::Firme(v)).is_ok());
        let Packet::Persoane(v) = persons(&["1800101221111", "RO31245671"]) else {
            unreachable!()
        };
        assert_eq!(
            validate(&Packet::Firme(v)).unwrap_err(),
            (
                7,
                "Error. CIF-uri invalide: 1800101221111, RO31245671".to_string()
            )
        );
    }

    #[test]
    fn tax_types_are_refused_by_category_empty_categories_left_out() {
        let ok = TipSuma {
            cod: "1".into(),
            nume: "Bun".into(),
            iban: "RO33TREZ1315069XXX012345".into(),
            debit: "1".into(),
            inactiv: "0".into(),
            data: "2026-01-01 00:00:00".into(),
            platitor: "0".into(),
            ..TipSuma::default()
        };
        let no_iban = TipSuma {
            nume: "Taxa Auto".into(),
            iban: String::new(),
            ..ok.clone()
        };
        let bad_iban = TipSuma {
            iban: "RO89TREZ02121340202XXXXX".into(),
            ..ok.clone()
        };
        let e = validate(&Packet::TipuriSume(vec![ok.clone(), no_iban, bad_iban])).unwrap_err();
        assert_eq!(
            e,
            (
                7,
                "Error. Tip suma fără IBAN: Taxa Auto IBAN-uri invalide: RO89TREZ02121340202XXXXX"
                    .to_string()
            )
        );
        let bad_debit = TipSuma {
            debit: "3".into(),
            platitor: "9".into(),
            ..ok.clone()
        };
        let e = validate(&Packet::TipuriSume(vec![bad_debit])).unwrap_err();
        assert_eq!(
            e.1,
            "Error. Tip suma cu debit invalid: Bun Tip suma cu plătitor invalid: Bun"
        );
        assert!(validate(&Packet::TipuriSume(vec![ok])).is_ok());
    }
}
