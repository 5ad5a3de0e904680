//! The fault table of Annex 2 (codes 1–10, §1.7 of `shared/notes/annexes-2-5.md`): what each
//! code means, what a person does about it, and whether `sync` retries it (D18).
//!
//! The text ghiseul.ro sends is Romanian and is shown as received; what to do is added in
//! English, as the rest of the command line speaks.

/// What a fault code means for whoever runs `sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    pub code: u8,
    /// The norm's condition, in Romanian (codes 1–4 have no message text in the norm).
    pub meaning_ro: &'static str,
    /// What to do, in English.
    pub what_to_do: &'static str,
    /// Retried with back-off (fault 4 only: the service is unavailable).
    pub retry: bool,
}

pub const TABLE: [FaultInfo; 10] = [
    FaultInfo {
        code: 1,
        meaning_ro: "Integritatea mesajului nu s-a verificat (valoarea check incorectă)",
        what_to_do: "the check does not verify: transfer_key is not the key agreed with ghiseul.ro at enrolment (ask them), or a value changed on the way; not retried",
        retry: false,
    },
    FaultInfo {
        code: 2,
        meaning_ro: "Codul instituției nu este corect (valoarea idClient incorectă)",
        what_to_do: "set transfer_id_client to the client code ghiseul.ro gave your institution at enrolment",
        retry: false,
    },
    FaultInfo {
        code: 3,
        meaning_ro: "Utilizatorul instituției nu este corect (valoarea userClient incorectă)",
        what_to_do: "set transfer_user_client to the user name that enrolled the institution at ghiseul.ro",
        retry: false,
    },
    FaultInfo {
        code: 4,
        meaning_ro: "S-a produs o eroare și serviciul este indisponibil",
        what_to_do: "ghiseul.ro is unavailable: retried with back-off (transfer_retries); if it persists, run sync again later — the next run completes this one",
        retry: true,
    },
    FaultInfo {
        code: 5,
        meaning_ro: "Introducere TIP SUMA se face manual",
        what_to_do: "your institution's profile at ghiseul.ro is set to enter tax types by hand, so tax types are not sent; enter them in the ghiseul.ro administration module, or ask ghiseul.ro to change the profile",
        retry: false,
    },
    FaultInfo {
        code: 6,
        meaning_ro: "Există mai multe persoane cu același CNP/CUI în pachet",
        what_to_do: "two records with the same identifier in one packet: correct the register (sync leaves duplicates out, so this means ghiseul.ro reads identifiers differently); not retried",
        retry: false,
    },
    FaultInfo {
        code: 7,
        meaning_ro: "Date invalide în pachet (CNP-uri/CIF-uri invalide; tip sumă fără IBAN, cu IBAN, debit, IdNomUnic sau plătitor invalid)",
        what_to_do: "ghiseul.ro refused the listed identifiers or tax types: correct them in the register and import again; not retried",
        retry: false,
    },
    FaultInfo {
        code: 8,
        meaning_ro: "Număr prea mare de entități per pachet (maximum 1000)",
        what_to_do: "more than 1000 items in a packet: a bug in this program (it sends at most 1000); please report it",
        retry: false,
    },
    FaultInfo {
        code: 9,
        meaning_ro: "Testare nefinalizată pentru operație; folosiți modulul de testare",
        what_to_do: "finish the tests of this operation in ghiseul.ro's testing module (a person must do it there), then run sync again",
        retry: false,
    },
    FaultInfo {
        code: 10,
        meaning_ro: "Instituție fără trimitere date prin web-services",
        what_to_do: "your institution's profile at ghiseul.ro is ticked „Fără trimitere date prin web-services”: ask ghiseul.ro to allow sending data by web service",
        retry: false,
    },
];

/// The code a fault carries, read leniently (D17, §1.1): trimmed, any `prefix:` dropped
/// (`SOAP-ENV:4`, ` 4 `). `None` when it is not one of 1–10.
pub fn parse_code(code: &str) -> Option<u8> {
    let code = code.trim();
    let code = code.rsplit(':').next().unwrap_or(code).trim();
    code.parse::<u8>().ok().filter(|c| (1..=10).contains(c))
}

pub fn info(code: u8) -> Option<&'static FaultInfo> {
    TABLE.iter().find(|f| f.code == code)
}

/// One message a person can act on: the code, ghiseul.ro's text as received (or the
/// norm's meaning when it sent none), and what to do.
pub fn describe(code: &str, text: &str) -> String {
    match parse_code(code).and_then(info) {
        Some(f) => {
            let text = if text.trim().is_empty() {
                f.meaning_ro
            } else {
                text.trim()
            };
            format!(
                "ghiseul.ro answered fault {}: „{text}”. What to do: {}",
                f.code, f.what_to_do
            )
        }
        None => format!(
            "ghiseul.ro answered fault `{}`: „{}” (not a code of Annex 2; not retried)",
            code.trim(),
            text.trim()
        ),
    }
}

/// The text ghiseul.ro sends with a fault, as the simulator writes it: the norm's strings
/// for 5–10 (with `detail` where the norm inserts values), the norm's condition for 1–4,
/// which have no printed text.
pub fn simulator_text(code: u8, detail: &str) -> String {
    match code {
        5 => "Introducere TIP SUMA se face manual".into(),
        6 | 7 => detail.to_string(),
        8 => "Număr prea mare de entități per pachet (maximum 1000)".into(),
        9 => format!(
            "Testare nefinalizată pentru operația {detail}! Vă rugăm să folosiți modulul de testare!"
        ),
        10 => "Instituție fără trimitere date prin web-services".into(),
        c => info(c).map(|f| f.meaning_ro.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_leniently() {
        assert_eq!(parse_code("4"), Some(4));
        assert_eq!(parse_code(" SOAP-ENV:7 "), Some(7));
        assert_eq!(parse_code("10"), Some(10));
        assert_eq!(parse_code("0"), None);
        assert_eq!(parse_code("11"), None);
        assert_eq!(parse_code("SOAP-ENV:Server"), None);
    }

    #[test]
    fn only_fault_4_is_retried() {
        for f in TABLE {
            assert_eq!(f.retry, f.code == 4, "fault {}", f.code);
        }
        assert_eq!(
            TABLE.iter().map(|f| f.code).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_code_gets_its_text_and_what_to_do() {
        let m = describe("7", "Error. CNP-uri invalide: 1800101221112");
        assert!(m.contains("fault 7") && m.contains("CNP-uri invalide: 1800101221112"));
        assert!(m.contains("correct them in the register"));
        let m = describe("2", "");
        assert!(m.contains("idClient incorectă") && m.contains("transfer_id_client"));
        let m = describe("9", &simulator_text(9, "TRANSFER TIPURI SUME"));
        assert!(m.contains("Testare nefinalizată pentru operația TRANSFER TIPURI SUME!"));
        assert!(m.contains("testing module"));
        let m = describe("Server", "boom");
        assert!(m.contains("not a code of Annex 2"));
    }
}
