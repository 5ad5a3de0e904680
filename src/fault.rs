//! The three faults of Annex 1 and the one place where each error of every layer is given
//! its code (interface.md §4).

use crate::protocol::envelope::EnvelopeError;
use crate::protocol::read::ReadError;
use crate::service;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// 1 — the message's integrity could not be verified, or it is not a valid request.
    InvalidMessage = 1,
    /// 2 — the CUI is not valid or not in the database.
    InvalidCui = 2,
    /// 3 — an error occurred and the service is unavailable.
    Unavailable = 3,
}

impl FaultCode {
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The texts ghiseul.ro shows, in Romanian.
    pub fn text(self) -> &'static str {
        match self {
            FaultCode::InvalidMessage => "Mesaj invalid",
            FaultCode::InvalidCui => "CUI invalid sau inexistent",
            FaultCode::Unavailable => "Eroare internă: serviciul este indisponibil",
        }
    }
}

/// A fault to answer with: the code and a reason that reveals nothing about keys, SQL or
/// other people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    pub detail: Option<String>,
}

impl Fault {
    pub fn new(code: FaultCode, detail: impl Into<Option<String>>) -> Fault {
        Fault {
            code,
            detail: detail.into(),
        }
    }

    /// `Mesaj invalid` or `Mesaj invalid: <reason>`.
    pub fn text(&self) -> String {
        match &self.detail {
            Some(d) => format!("{}: {d}", self.code.text()),
            None => self.code.text().to_string(),
        }
    }
}

impl From<EnvelopeError> for Fault {
    fn from(e: EnvelopeError) -> Fault {
        Fault::new(FaultCode::InvalidMessage, e.reason)
    }
}

impl From<ReadError> for Fault {
    fn from(e: ReadError) -> Fault {
        Fault::new(FaultCode::InvalidMessage, e.0)
    }
}

impl From<&service::Error> for Fault {
    fn from(e: &service::Error) -> Fault {
        use service::Error as E;
        match e {
            E::Check => Fault::new(
                FaultCode::InvalidMessage,
                "suma de control nu corespunde".to_string(),
            ),
            E::Invalid(reason) => Fault::new(FaultCode::InvalidMessage, reason.clone()),
            E::Cui(reason) => Fault::new(FaultCode::InvalidCui, reason.to_string()),
            E::UnknownCui => Fault::new(
                FaultCode::InvalidCui,
                "CUI-ul nu există în baza de date".to_string(),
            ),
            // Never the database's own words: they may hold SQL, addresses or names.
            E::Store(_) | E::Busy => Fault::new(FaultCode::Unavailable, None),
        }
    }
}
