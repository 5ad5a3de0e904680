//! The message check of the norm: HMAC-SHA1 with the key shared by ghiseul.ro and the
//! institution, written as hexadecimal (interface.md §2).

use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// Signs and verifies checks. Holds the keyed HMAC state, so the key is hashed once at
/// start-up and never kept as text that could end up in a log.
#[derive(Clone)]
pub struct Signer {
    primary: HmacSha1,
    /// A second key accepted on input during a key rotation; never used to sign.
    next: Option<HmacSha1>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<key hidden>)")
    }
}

impl Signer {
    pub fn new(key: &[u8]) -> Signer {
        Signer {
            primary: keyed(key),
            next: None,
        }
    }

    /// Also accepts checks made with `next` (for a key rotation without downtime).
    pub fn with_next_key(mut self, next: &[u8]) -> Signer {
        self.next = Some(keyed(next));
        self
    }

    /// The check of `text`: 40 lowercase hexadecimal characters.
    pub fn sign(&self, text: &str) -> String {
        let mut mac = self.primary.clone();
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// True when `check` (hex, either case) is the check of one of `texts` under the primary
    /// or the next key. The comparison itself is constant-time (`verify_slice`).
    pub fn verify<'a>(&self, texts: impl IntoIterator<Item = &'a str>, check: &str) -> bool {
        let Some(expected) = decode_check(check) else {
            return false;
        };
        let keys: Vec<&HmacSha1> = std::iter::once(&self.primary)
            .chain(self.next.as_ref())
            .collect();
        let mut ok = false;
        for text in texts {
            for key in &keys {
                let mut mac = (*key).clone();
                mac.update(text.as_bytes());
                ok |= mac.verify_slice(&expected).is_ok();
            }
        }
        ok
    }
}

fn keyed(key: &[u8]) -> HmacSha1 {
    HmacSha1::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn decode_check(check: &str) -> Option<[u8; 20]> {
    let check = check.trim();
    if check.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    hex::decode_to_slice(check, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with `printf %s TEXT | openssl dgst -sha1 -hmac cheie-secreta-test`.
    const KEY: &[u8] = b"cheie-secreta-test";

    #[test]
    fn check_of_the_empty_string_matches_openssl() {
        assert_eq!(
            Signer::new(KEY).sign(""),
            "66e5201c97540f64a38c843ac05e700fbc1bdd08"
        );
    }

    #[test]
    fn check_of_a_cui_matches_openssl() {
        assert_eq!(
            Signer::new(KEY).sign("1800101221111"),
            "49220a556b921081bfc82e4eaa83ae5cb37302f0"
        );
    }

    #[test]
    fn check_is_computed_over_utf8_bytes() {
        assert_eq!(
            Signer::new(KEY).sign("Ștefan Rămășiță"),
            "2aff0f1f73dc7bbe3e07f75f40132a664d2fbe38"
        );
    }

    #[test]
    fn check_is_accepted_in_either_case() {
        let signer = Signer::new(KEY);
        assert!(signer.verify(
            ["1800101221111"],
            "49220a556b921081bfc82e4eaa83ae5cb37302f0"
        ));
        assert!(signer.verify(
            ["1800101221111"],
            "49220A556B921081BFC82E4EAA83AE5CB37302F0"
        ));
    }

    #[test]
    fn wrong_or_malformed_check_is_refused() {
        let signer = Signer::new(KEY);
        assert!(!signer.verify(
            ["1800101221112"],
            "49220a556b921081bfc82e4eaa83ae5cb37302f0"
        ));
        assert!(!signer.verify(["1800101221111"], "49220a556b921081bfc82e4eaa83ae5cb37302f"));
        assert!(!signer.verify(
            ["1800101221111"],
            "zz220a556b921081bfc82e4eaa83ae5cb37302f0"
        ));
        assert!(!signer.verify(["1800101221111"], ""));
    }

    #[test]
    fn check_made_with_another_key_is_refused() {
        let other = Signer::new(b"alta-cheie").sign("1800101221111");
        assert!(!Signer::new(KEY).verify(["1800101221111"], &other));
    }

    #[test]
    fn next_key_is_accepted_on_input_but_never_signs() {
        let rotating = Signer::new(b"cheia-veche").with_next_key(KEY);
        assert!(rotating.verify(
            ["1800101221111"],
            "49220a556b921081bfc82e4eaa83ae5cb37302f0"
        ));
        assert_eq!(rotating.sign("x"), Signer::new(b"cheia-veche").sign("x"));
    }
}
