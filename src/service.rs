//! The two operations of Annex 1 as plain functions over the store: a request value in, a
//! response value or an error out. No XML, no HTTP.

use crate::messages::{IncasariRequest, SumeRequest, SumeResponse, TipSuma};
use crate::rules::check::Signer;
use crate::rules::clock;
use crate::rules::ident::{Cui, IdentError};
use crate::rules::money::Bani;
use crate::store::payment::{JournalEntry, NewPayment, PaymentRequest, Rejected};
use crate::store::{self, DueRow, Store};

pub use crate::store::payment::PaymentOutcome;

/// The column titles of detaliiHeader when a tax type has none of its own (the norm's
/// example): the debt's description, then its four components.
pub const DEFAULT_HEADER: [&str; 5] =
    ["Proprietate", "Debit", "Rămășiță", "Majorări", "Penalități"];

/// Why a request was not answered normally. `fault.rs` gives each its fault code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the check does not verify")]
    Check,
    #[error("invalid message: {0}")]
    Invalid(String),
    #[error("invalid CUI: {0}")]
    Cui(IdentError),
    #[error("CUI not in the register")]
    UnknownCui,
    #[error("too many requests in flight")]
    Busy,
    #[error(transparent)]
    Store(#[from] store::Error),
}

#[derive(Clone, Debug)]
pub struct Service {
    store: Store,
    signer: Signer,
    /// The tax system's database, when the register is read live (src/live/).
    live: Option<LiveRegister>,
}

/// The live register and the outbox to wake after a payment it must deliver.
#[derive(Clone, Debug)]
pub struct LiveRegister {
    pub register: std::sync::Arc<crate::live::Register>,
    pub outbox: std::sync::Arc<tokio::sync::Notify>,
}

/// A payment request whose values all make sense.
struct ValidPayment {
    order_no: i64,
    cui: Cui,
    items: Vec<(i64, Bani)>,
    total: Bani,
}

impl Service {
    pub fn new(store: Store, signer: Signer) -> Service {
        Service {
            store,
            signer,
            live: None,
        }
    }

    /// Answers from the tax system's database instead of our register (src/live/).
    pub fn with_live_register(mut self, live: LiveRegister) -> Service {
        self.live = Some(live);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// getSumeDePlataPePersoana: what `cui` owes, per tax type, signed.
    pub async fn sume_de_plata(&self, req: &SumeRequest) -> Result<SumeResponse, Error> {
        if !self.signer.verify([req.signed_text()], &req.check) {
            return Err(Error::Check);
        }
        if !clock::is_valid_timestamp(&req.timestamp) {
            return Err(Error::Invalid(timestamp_reason()));
        }
        let cui = Cui::parse(&req.cui).map_err(Error::Cui)?;
        let rows = match &self.live {
            Some(live) => live.register.statement(&self.store, cui.as_str()).await?,
            None => self.store.statement(cui.as_str()).await?,
        }
        .ok_or(Error::UnknownCui)?;
        let sume = statement(&rows);
        let now = clock::now();
        Ok(SumeResponse {
            check: self.signer.sign(&SumeResponse::signed_text(&sume)),
            sume,
            data_calcul: clock::data_calcul(&now),
            timestamp: clock::timestamp(&now),
        })
    }

    /// inregistrareIncasari (interface.md §6). Every request whose check verifies is
    /// journaled in the same transaction that records it, so the journal and the ledger
    /// never disagree. Returns what happened; `PaymentOutcome::answer` is the response: true when
    /// the payment is recorded (now or by an earlier identical request), false when it
    /// cannot be (conflicting content, unknown tax type) and is left in the journal for a
    /// person to look at.
    pub async fn inregistrare_incasari(
        &self,
        req: &IncasariRequest,
    ) -> Result<PaymentOutcome, Error> {
        let texts = req.accepted_signed_texts();
        if !self
            .signer
            .verify(texts.iter().map(String::as_str), &req.check)
        {
            return Err(Error::Check);
        }
        let now = clock::now();
        let received_at = now.format("%Y-%m-%d %H:%M:%S").to_string();
        let valid = validate(req);
        let payment = match &valid {
            Ok(p) => Ok(NewPayment {
                order_no: p.order_no,
                cui: p.cui.as_str().to_string(),
                data: req.data.clone(),
                content: canonical_content(p, &req.data),
                total: p.total,
                items: p.items.clone(),
                recorded_at: received_at.clone(),
            }),
            Err(e) => Err(Rejected {
                outcome: match e {
                    Error::Cui(_) => PaymentOutcome::InvalidCui,
                    _ => PaymentOutcome::InvalidMessage,
                },
                detail: e.to_string(),
            }),
        };
        let request = PaymentRequest {
            entry: JournalEntry {
                received_at,
                order: req.order.clone(),
                cui: req.cui.clone(),
                data: req.data.clone(),
                sume: req.sume_as_received(),
            },
            payment,
        };
        let outcome = match &self.live {
            Some(live) => self.record_live(live, request).await?,
            None => self.store.record_payment(request).await?,
        };
        // The request is journaled whatever it held; an invalid one is answered with its
        // fault, an unknown person with fault 2, everything else with true or false.
        valid?;
        match outcome {
            PaymentOutcome::UnknownCui => Err(Error::UnknownCui),
            outcome => Ok(outcome),
        }
    }
}

impl Service {
    /// A payment when the register is the tax system's: the person must be known there;
    /// they and the paid tax types the tax system lists are kept in our tables (the
    /// payment's rows refer to them), then the payment is recorded as always, per tax
    /// type, and queued for the outbox if one is configured (see `live`).
    async fn record_live(
        &self,
        live: &LiveRegister,
        request: PaymentRequest,
    ) -> Result<PaymentOutcome, Error> {
        let mut known_person = false;
        if let Ok(p) = &request.payment {
            if let Some(person) = live.register.person(&p.cui).await? {
                known_person = true;
                let types = live.register.tax_types().await?;
                let paid: Vec<&crate::live::TaxType> =
                    p.items.iter().filter_map(|(id, _)| types.get(id)).collect();
                store::live::keep_referenced(&self.store, &person, &paid, &p.recorded_at).await?;
            }
        }
        let outbox = live.register.has_outbox();
        let outcome = self
            .store
            .record_live_payment(
                request,
                store::payment::Live {
                    known_person,
                    outbox,
                },
            )
            .await?;
        if outbox && outcome == PaymentOutcome::Recorded {
            live.outbox.notify_one();
        }
        Ok(outcome)
    }
}

fn timestamp_reason() -> String {
    "timestamp trebuie să aibă forma aaaallzzoommss".to_string()
}

/// Checks every value of an authentic payment request.
fn validate(req: &IncasariRequest) -> Result<ValidPayment, Error> {
    let order_no = req
        .order
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::Invalid("order trebuie să fie un număr întreg pozitiv".into()))?;
    if clock::parse_payment_date(&req.data).is_none() {
        return Err(Error::Invalid(
            "data trebuie să aibă forma aaaa-ll-zz oo:mm:ss".into(),
        ));
    }
    if !clock::is_valid_timestamp(&req.timestamp) {
        return Err(Error::Invalid(timestamp_reason()));
    }
    if req.sume.is_empty() {
        return Err(Error::Invalid("sume nu conține nicio sumă".into()));
    }
    let mut items = Vec::with_capacity(req.sume.len());
    let mut total = Bani::ZERO;
    for s in &req.sume {
        let id = s.id_tip_suma.trim().parse::<i32>().map_err(|_| {
            Error::Invalid(format!(
                "idTipSuma `{}` nu este un număr întreg",
                s.id_tip_suma
            ))
        })?;
        let valoare =
            Bani::parse_lei(s.valoare.trim()).map_err(|e| Error::Invalid(e.to_string()))?;
        if !valoare.is_positive() {
            return Err(Error::Invalid(format!(
                "suma `{}` trebuie să fie pozitivă",
                s.valoare
            )));
        }
        total = total
            .checked_add(valoare)
            .ok_or_else(|| Error::Invalid("totalul plății este prea mare".into()))?;
        items.push((i64::from(id), valoare));
    }
    let cui = Cui::parse(&req.cui).map_err(Error::Cui)?;
    Ok(ValidPayment {
        order_no,
        cui,
        items,
        total,
    })
}

/// What a retry must repeat: the person, the payment date and the amounts per type, in
/// a form that does not depend on item order or on how the amounts were written.
fn canonical_content(p: &ValidPayment, data: &str) -> String {
    let mut items = p.items.clone();
    items.sort();
    let amounts: Vec<String> = items
        .iter()
        .map(|(id, v)| format!("{id}={}", v.0))
        .collect();
    format!("{}|{}|{}", p.cui.as_str(), data, amounts.join(";"))
}

/// Groups the outstanding rows into the TipSuma list of the response. Rows arrive in
/// statement order, so a type's rows are consecutive.
pub fn statement(rows: &[DueRow]) -> Vec<TipSuma> {
    let mut sume: Vec<TipSuma> = Vec::new();
    let mut current: Option<i64> = None;
    let mut total = Bani::ZERO;
    for row in rows {
        if current != Some(row.id_tip_suma) {
            if let Some(last) = sume.last_mut() {
                last.valoare = total.to_string();
            }
            current = Some(row.id_tip_suma);
            total = Bani::ZERO;
            sume.push(TipSuma {
                id_tip_suma: row.id_tip_suma.to_string(),
                valoare: String::new(),
                prioritate: row.prioritate.to_string(),
                detalii_header: header(row.detalii_header.as_deref()),
                detalii_body: Vec::new(),
            });
        }
        total = total + row.debit + row.ramasita + row.majorari + row.penalitati;
        let line = vec![
            row.descriere.clone(),
            row.debit.to_string(),
            row.ramasita.to_string(),
            row.majorari.to_string(),
            row.penalitati.to_string(),
        ];
        sume.last_mut()
            .expect("pushed above")
            .detalii_body
            .push(line);
    }
    if let Some(last) = sume.last_mut() {
        last.valoare = total.to_string();
    }
    sume
}

/// A tax type's own header (5 titles separated by `;`), or the default one.
fn header(custom: Option<&str>) -> Vec<String> {
    match custom {
        Some(h) if h.split(';').count() == DEFAULT_HEADER.len() => {
            h.split(';').map(|s| s.trim().to_string()).collect()
        }
        _ => DEFAULT_HEADER.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, prio: i64, descr: &str, debit: i64, ramasita: i64) -> DueRow {
        DueRow {
            id_tip_suma: id,
            prioritate: prio,
            detalii_header: None,
            descriere: descr.into(),
            debit: Bani(debit),
            ramasita: Bani(ramasita),
            majorari: Bani(0),
            penalitati: Bani(7),
        }
    }

    #[test]
    fn each_tax_type_totals_its_lines() {
        let sume = statement(&[
            row(1, 1, "Casă", 1000, 500),
            row(1, 1, "Teren", 100, 0),
            row(4, 0, "Auto", 5, 0),
        ]);
        assert_eq!(sume.len(), 2);
        assert_eq!(sume[0].valoare, "16.14");
        assert_eq!(sume[0].detalii_body.len(), 2);
        assert_eq!(sume[1].valoare, "0.12");
    }

    #[test]
    fn every_line_has_as_many_strings_as_the_header() {
        let sume = statement(&[row(1, 0, "Casă", 1, 2)]);
        for t in &sume {
            for line in &t.detalii_body {
                assert_eq!(line.len(), t.detalii_header.len());
            }
        }
    }

    #[test]
    fn custom_header_needs_five_titles() {
        assert_eq!(header(Some("Bun;Debit;Rest;Maj;Pen"))[0], "Bun");
        assert_eq!(header(Some("Doar;trei;titluri"))[0], "Proprietate");
    }

    #[test]
    fn retry_content_ignores_item_order_and_amount_spelling() {
        let cui = Cui::parse("1800101221111").unwrap();
        let a = ValidPayment {
            order_no: 1,
            cui: cui.clone(),
            items: vec![(2, Bani(150)), (1, Bani(5))],
            total: Bani(155),
        };
        let b = ValidPayment {
            order_no: 1,
            cui,
            items: vec![(1, Bani(5)), (2, Bani(150))],
            total: Bani(155),
        };
        assert_eq!(canonical_content(&a, "d"), canonical_content(&b, "d"));
    }
}
