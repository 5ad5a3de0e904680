//! Shared pieces of the benchmark tools: a seeded random generator (so the same seed gives
//! the same register on every machine), valid Romanian identifiers and names, money in
//! bani, the signed SOAP bodies ghiseul.ro sends, and a tiny blocking HTTP client for the
//! few requests the checks make themselves.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// SplitMix64: small, fast and the same everywhere. Not for secrets, only for data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CNP_WEIGHTS: [u32; 12] = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
const CIF_KEY: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];

/// A valid CNP: sex/century digit, a real birth date, a county, a serial, the control digit.
pub fn cnp(rng: &mut Rng) -> String {
    let (sex, year) = if rng.below(100) < 85 {
        (rng.range(1, 2), rng.range(1930, 1999) - 1900)
    } else {
        (rng.range(5, 6), rng.range(2000, 2007) - 2000)
    };
    let month = rng.range(1, 12);
    let day = rng.range(1, 28);
    let county = rng.range(1, 46);
    let serial = rng.range(1, 999);
    let body = format!("{sex}{year:02}{month:02}{day:02}{county:02}{serial:03}");
    let sum: u32 = body
        .bytes()
        .zip(CNP_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let control = match sum % 11 {
        10 => 1,
        c => c,
    };
    format!("{body}{control}")
}

/// The CIF whose digits before the control digit are `body` (1 to 9 digits, no leading 0).
pub fn cif(body: u64) -> String {
    let digits = body.to_string();
    let offset = CIF_KEY.len() - digits.len();
    let sum: u32 = digits
        .bytes()
        .zip(&CIF_KEY[offset..])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let control = match sum * 10 % 11 {
        10 => 0,
        c => c,
    };
    format!("{digits}{control}")
}

/// A CIF with a wrong control digit: well formed, but invalid (fault 2 without a lookup).
pub fn cif_with_wrong_control(body: u64) -> String {
    let good = cif(body);
    let last = good.as_bytes()[good.len() - 1] - b'0';
    format!("{}{}", &good[..good.len() - 1], (last + 1) % 10)
}

/// An IBAN of the State Treasury (`RO kk TREZ …`) with correct check digits (ISO 13616).
pub fn iban(bban: &str) -> String {
    let rearranged = format!("{bban}RO00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).expect("alphanumeric");
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap()) % 97;
        }
    }
    format!("RO{:02}{bban}", 98 - rem)
}

/// Bani as lei with exactly two decimals, as the norm writes amounts.
pub fn lei(bani: u64) -> String {
    format!("{}.{:02}", bani / 100, bani % 100)
}

/// A CSV field, quoted when it must be (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub const SURNAMES: &[&str] = &[
    "Popescu",
    "Ionescu",
    "Popa",
    "Rădulescu",
    "Dumitrescu",
    "Stănescu",
    "Constantinescu",
    "Gheorghiu",
    "Țăranu",
    "Mureșan",
    "Căpraru",
    "Ștefănescu",
    "Bălan",
    "Iordache",
    "Niculescu",
    "Șerban",
    "Pîrvu",
    "Tănase",
    "Lăzărescu",
    "Bârsan",
    "Munteanu",
    "Ciobanu",
    "Mățăuanu",
    "Cârstea",
    "Oprișan",
    "Vâlcu",
    "Zăvoianu",
    "Frățilă",
    "Năstase",
    "Sârbu",
];

pub const FIRST_NAMES: &[&str] = &[
    "Ștefan",
    "Ioana",
    "Mihai",
    "Andreea",
    "Răzvan",
    "Cătălina",
    "Ionuț",
    "Mădălina",
    "Gheorghe",
    "Ana-Maria",
    "Bogdan",
    "Irina",
    "Călin",
    "Ilinca",
    "Tudor",
    "Smaranda",
    "Șerban",
    "Ecaterina",
    "Vlad",
    "Oana",
    "Dănuț",
    "Florența",
    "Costică",
    "Brândușa",
];

pub const STREETS: &[&str] = &[
    "Str. Mihai Eminescu",
    "Bd. Ștefan cel Mare și Sfânt",
    "Str. Avram Iancu",
    "Calea Dorobanților",
    "Str. Constantin Brâncoveanu",
    "Aleea Trandafirilor",
    "Str. Mărășești",
    "Șoseaua Păcurari",
    "Str. Lăpușneanu",
    "Piața Unirii",
];

pub const ACTIVITIES: &[&str] = &[
    "Construcții",
    "Transport",
    "Agricultură",
    "Comerț",
    "Panificație",
    "Servicii Imobiliare",
    "Instalații Termice",
    "Pădurea Verde",
];

/// HMAC-SHA1 in lowercase hex, the norm's check (interface.md §2).
pub struct Signer(Hmac<Sha1>);

impl Signer {
    pub fn new(key: &str) -> Signer {
        Signer(Hmac::new_from_slice(key.as_bytes()).expect("any key length"))
    }

    pub fn sign(&self, text: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:ghiseul-bench"><SOAP-ENV:Body>"#;
const ENVELOPE_CLOSE: &str = "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

/// The request timestamp; the server checks its form only.
pub const TIMESTAMP: &str = "20260115100000";

/// A getSumeDePlataPePersoana request as ghiseul.ro sends it (SOAP 1.1), on one line.
pub fn sume_body(signer: &Signer, cui: &str) -> String {
    sume_body_with_check(cui, &signer.sign(cui))
}

pub fn sume_body_with_check(cui: &str, check: &str) -> String {
    format!(
        "{ENVELOPE_OPEN}<ns1:getSumeDePlataPePersoana><cui>{cui}</cui><timestamp>{TIMESTAMP}</timestamp><check>{check}</check></ns1:getSumeDePlataPePersoana>{ENVELOPE_CLOSE}"
    )
}

/// An inregistrareIncasari request: the check covers order, cui, data, then every
/// idTipSuma and valoare as written (two decimals).
pub fn payment_body(
    signer: &Signer,
    order: u64,
    cui: &str,
    data: &str,
    items: &[(u32, u64)],
) -> String {
    let mut signed = format!("{order}{cui}{data}");
    let mut sume = String::new();
    for &(id, bani) in items {
        let v = lei(bani);
        signed.push_str(&id.to_string());
        signed.push_str(&v);
        sume.push_str(&format!(
            "<item><idTipSuma>{id}</idTipSuma><valoare>{v}</valoare></item>"
        ));
    }
    let check = signer.sign(&signed);
    format!(
        "{ENVELOPE_OPEN}<ns1:inregistrareIncasari><order>{order}</order><cui>{cui}</cui><sume>{sume}</sume><data>{data}</data><timestamp>{TIMESTAMP}</timestamp><check>{check}</check></ns1:inregistrareIncasari>{ENVELOPE_CLOSE}"
    )
}

/// `http://host:port/path` split into the address and the path.
pub fn split_url(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix("http://")
        .expect("the benchmark speaks plain http://");
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// POSTs one SOAP body and returns the status and the body of the answer.
pub fn post(url: &str, body: &str) -> std::io::Result<(u16, String)> {
    let (addr, path) = split_url(url);
    let mut s = TcpStream::connect(&addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// One line of a request file: what answer is expected, the order and total of a payment
/// (0 otherwise), and the body. Tab-separated, the body last (it has no tab or newline).
pub struct RequestLine<'a> {
    pub kind: &'a str,
    pub order: u64,
    pub total: u64,
    pub body: &'a str,
}

pub fn parse_request_line(line: &str) -> Option<RequestLine<'_>> {
    let mut parts = line.splitn(4, '\t');
    Some(RequestLine {
        kind: parts.next()?,
        order: parts.next()?.parse().ok()?,
        total: parts.next()?.parse().ok()?,
        body: parts.next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cif_control_digit_matches_a_known_cif() {
        // 18547290 is a CIF used in the norm's examples; 1854729 + control 0.
        assert_eq!(cif(1854729), "18547290");
    }

    #[test]
    fn cnp_has_thirteen_digits_and_a_valid_control() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let c = cnp(&mut rng);
            assert_eq!(c.len(), 13);
            let d: Vec<u32> = c.bytes().map(|b| u32::from(b - b'0')).collect();
            let sum: u32 = d[..12].iter().zip(CNP_WEIGHTS).map(|(a, w)| a * w).sum();
            assert_eq!(d[12], if sum % 11 == 10 { 1 } else { sum % 11 });
        }
    }

    #[test]
    fn iban_check_digits_are_valid() {
        // The ISO 13616 rule: the rearranged number is 1 modulo 97.
        let i = iban("TREZ4062107006XXXXXX");
        let rearranged = format!("{}{}", &i[4..], &i[..4]);
        let mut rem = 0u32;
        for c in rearranged.chars() {
            for d in c.to_digit(36).unwrap().to_string().chars() {
                rem = (rem * 10 + d.to_digit(10).unwrap()) % 97;
            }
        }
        assert_eq!(rem, 1);
    }

    #[test]
    fn amounts_have_two_decimals() {
        assert_eq!(lei(5), "0.05");
        assert_eq!(lei(113350), "1133.50");
    }
}
