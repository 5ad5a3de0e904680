//! Annex 2 of the norm: the Transfer web service that ghiseul.ro runs and the institution
//! calls to keep ghiseul.ro's copy of its registers (tax types, persons, authorised natural
//! persons, deletions) in step with its own.
//!
//! - `records`: the four record types, value normalisation and the check strings (§1.5 of
//!   `shared/notes/annexes-2-5.md`);
//! - `iban`: IBAN validation (what ghiseul.ro refuses with fault 7);
//! - `soap`: the request and response messages of every operation, both directions;
//! - `faults`: the fault table 1–10, as text a person can act on;
//! - `client`: the HTTP client with its retry policy;
//! - `simulator`: `simulate-transfer`, ghiseul.ro's side, for rehearsals and tests;
//! - `settings`: the `transfer_*` configuration keys;
//! - `sync`: `ghiseul-connector sync`.

pub mod client;
pub mod faults;
pub mod iban;
pub mod records;
pub mod settings;
pub mod simulator;
pub mod soap;
pub mod sync;

/// The namespace of the Transfer WSDL; the SOAPAction of an operation is this, `#`, and
/// the operation's name.
pub const NAMESPACE: &str = "https://www.ghiseul.ro/ghiseul_admin/public/transfer/transfer";
/// The address the norm prints (l. 1121).
pub const DEFAULT_URL: &str = "https://www.ghiseul.ro/ghiseul_admin/public/transfer/transfer";
/// „Într-un pachet se pot trimite maximum 1.000 de persoane" (and tax types); kept for
/// every operation with `date` (D10).
pub const MAX_PACKET: usize = 1000;

/// The four registers Annex 2 keeps in step, in the order a sync sends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    TipuriSume,
    Persoane,
    Firme,
    Stergeri,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::TipuriSume,
        Kind::Persoane,
        Kind::Firme,
        Kind::Stergeri,
    ];

    /// The name used in the database, the CLI and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::TipuriSume => "tax_types",
            Kind::Persoane => "persons",
            Kind::Firme => "pfa",
            Kind::Stergeri => "deletions",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The operation that asks ghiseul.ro for its high-water mark of this kind.
    pub fn get_ultima(self) -> Operation {
        match self {
            Kind::TipuriSume => Operation::GetUltimaDataTipuriSume,
            Kind::Persoane => Operation::GetUltimaDataPersoane,
            Kind::Firme => Operation::GetUltimaDataFirme,
            Kind::Stergeri => Operation::GetUltimCodStergeri,
        }
    }

    /// The operation that sends a whole register (`full`) or what changed.
    pub fn send(self, full: bool) -> Operation {
        match (self, full) {
            (Kind::TipuriSume, true) => Operation::TransferTipuriSume,
            (Kind::TipuriSume, false) => Operation::ActualizareTipuriSume,
            (Kind::Persoane, true) => Operation::TransferPersoane,
            (Kind::Persoane, false) => Operation::ActualizarePersoane,
            (Kind::Firme, true) => Operation::TransferFirme,
            (Kind::Firme, false) => Operation::ActualizareFirme,
            (Kind::Stergeri, _) => Operation::Stergere,
        }
    }
}

/// The twelve operations of the Transfer WSDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    ConnectionTest,
    TransferPersoane,
    TransferFirme,
    TransferTipuriSume,
    GetUltimaDataPersoane,
    ActualizarePersoane,
    GetUltimaDataFirme,
    ActualizareFirme,
    GetUltimaDataTipuriSume,
    ActualizareTipuriSume,
    GetUltimCodStergeri,
    Stergere,
}

impl Operation {
    pub const ALL: [Operation; 12] = [
        Operation::ConnectionTest,
        Operation::TransferPersoane,
        Operation::TransferFirme,
        Operation::TransferTipuriSume,
        Operation::GetUltimaDataPersoane,
        Operation::ActualizarePersoane,
        Operation::GetUltimaDataFirme,
        Operation::ActualizareFirme,
        Operation::GetUltimaDataTipuriSume,
        Operation::ActualizareTipuriSume,
        Operation::GetUltimCodStergeri,
        Operation::Stergere,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::ConnectionTest => "connectionTest",
            Operation::TransferPersoane => "transferPersoane",
            Operation::TransferFirme => "transferFirme",
            Operation::TransferTipuriSume => "transferTipuriSume",
            Operation::GetUltimaDataPersoane => "getUltimaDataPersoane",
            Operation::ActualizarePersoane => "actualizarePersoane",
            Operation::GetUltimaDataFirme => "getUltimaDataFirme",
            Operation::ActualizareFirme => "actualizareFirme",
            Operation::GetUltimaDataTipuriSume => "getUltimaDataTipuriSume",
            Operation::ActualizareTipuriSume => "actualizareTipuriSume",
            Operation::GetUltimCodStergeri => "getUltimCodStergeri",
            Operation::Stergere => "stergere",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The register an operation reads or writes (`None` for connectionTest).
    pub fn kind(self) -> Option<Kind> {
        match self {
            Operation::ConnectionTest => None,
            Operation::TransferPersoane
            | Operation::GetUltimaDataPersoane
            | Operation::ActualizarePersoane => Some(Kind::Persoane),
            Operation::TransferFirme
            | Operation::GetUltimaDataFirme
            | Operation::ActualizareFirme => Some(Kind::Firme),
            Operation::TransferTipuriSume
            | Operation::GetUltimaDataTipuriSume
            | Operation::ActualizareTipuriSume => Some(Kind::TipuriSume),
            Operation::GetUltimCodStergeri | Operation::Stergere => Some(Kind::Stergeri),
        }
    }

    /// True for the operations that carry a packet (`date`, `check`, the packet flags).
    pub fn carries_packet(self) -> bool {
        matches!(
            self,
            Operation::TransferPersoane
                | Operation::TransferFirme
                | Operation::TransferTipuriSume
                | Operation::ActualizarePersoane
                | Operation::ActualizareFirme
                | Operation::ActualizareTipuriSume
                | Operation::Stergere
        )
    }

    /// True for `transfer…` (a whole register), false for `actualizare…` and `stergere`.
    pub fn is_full_transfer(self) -> bool {
        matches!(
            self,
            Operation::TransferPersoane | Operation::TransferFirme | Operation::TransferTipuriSume
        )
    }

    /// The SOAPAction of the binding.
    pub fn soap_action(self) -> String {
        format!("{NAMESPACE}#{}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_round_trip_and_match_the_wsdl() {
        let wsdl = include_str!("../../wsdl/transfer.wsdl");
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
            assert!(
                wsdl.contains(&format!("soapAction=\"{}\"", op.soap_action())),
                "{} is not in the WSDL",
                op.name()
            );
        }
        assert_eq!(Operation::from_name("transferpersoane"), None);
    }

    #[test]
    fn every_kind_sends_with_the_operations_of_its_own_register() {
        for kind in Kind::ALL {
            assert_eq!(kind.get_ultima().kind(), Some(kind));
            assert_eq!(kind.send(true).kind(), Some(kind));
            assert_eq!(kind.send(false).kind(), Some(kind));
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert!(Kind::Persoane.send(true).is_full_transfer());
        assert!(!Kind::Persoane.send(false).is_full_transfer());
        assert!(!Kind::Stergeri.send(true).is_full_transfer());
    }
}
