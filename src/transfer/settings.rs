//! The `transfer_*` configuration keys: where ghiseul.ro's Transfer service is, who the
//! institution is there (`idClient`, `userClient`, enrolment data), the key, and the retry
//! policy. Resolved with the rest of the configuration (`config.rs`): the environment over
//! the file over the defaults. Only `sync` needs them, so they are checked when it runs.

use std::path::PathBuf;

use crate::config::reading::{number, ConfigError, Env};

pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_RETRY_DELAY_MS: u64 = 2000;
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The keys as the file has them.
#[derive(Debug, Default)]
pub struct FileKeys {
    pub url: Option<String>,
    pub id_client: Option<u64>,
    pub user_client: Option<String>,
    pub utilizator: Option<String>,
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    pub retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub timeout_secs: Option<u64>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TransferSettings {
    pub url: String,
    pub id_client: Option<u64>,
    pub user_client: Option<String>,
    /// `None`: `idClient.<OS user>@<host name>`, made when sync runs.
    pub utilizator: Option<String>,
    pub key: Option<String>,
    /// Retries of a call that met fault 4, an HTTP error, a dropped connection or a timeout.
    pub retries: u32,
    /// The first pause before a retry; doubled at each further one.
    pub retry_delay_ms: u64,
    /// The longest wait for one answer.
    pub timeout_secs: u64,
}

impl Default for TransferSettings {
    fn default() -> Self {
        TransferSettings {
            url: super::DEFAULT_URL.to_string(),
            id_client: None,
            user_client: None,
            utilizator: None,
            key: None,
            retries: DEFAULT_RETRIES,
            retry_delay_ms: DEFAULT_RETRY_DELAY_MS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        }
    }
}

impl std::fmt::Debug for TransferSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferSettings")
            .field("url", &self.url)
            .field("id_client", &self.id_client)
            .field("user_client", &self.user_client)
            .field("utilizator", &self.utilizator)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("retries", &self.retries)
            .field("retry_delay_ms", &self.retry_delay_ms)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl TransferSettings {
    pub fn resolve(env: Env<'_>, file: FileKeys) -> Result<TransferSettings, ConfigError> {
        let url = env("GHISEUL_TRANSFER_URL")
            .or(file.url)
            .unwrap_or_else(|| super::DEFAULT_URL.to_string());
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "transfer_url (GHISEUL_TRANSFER_URL)",
                what: "an https:// URL (http:// only for the simulator on this machine)",
                value: url,
            });
        }
        let id_client = match env("GHISEUL_TRANSFER_ID_CLIENT") {
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: "transfer_id_client (GHISEUL_TRANSFER_ID_CLIENT)",
                what: "the whole number ghiseul.ro gave the institution (idClient)",
                value: v,
            })?),
            None => file.id_client,
        };
        // idClient is an xsd:float, which holds whole numbers exactly only up to 2^24.
        if let Some(id) = id_client {
            if id == 0 || id > 16_777_216 {
                return Err(ConfigError::Invalid {
                    name: "transfer_id_client (GHISEUL_TRANSFER_ID_CLIENT)",
                    what: "a whole number from 1 to 16777216 (idClient is an xsd:float)",
                    value: id.to_string(),
                });
            }
        }
        let key = match env("GHISEUL_TRANSFER_KEY").or(file.key) {
            Some(k) => Some(k),
            None => match env("GHISEUL_TRANSFER_KEY_FILE")
                .map(PathBuf::from)
                .or(file.key_file)
            {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| ConfigError::KeyFile { path, source })?;
                    Some(text.trim_end_matches(['\r', '\n']).to_string()).filter(|k| !k.is_empty())
                }
                None => None,
            },
        };
        Ok(TransferSettings {
            url,
            id_client,
            user_client: env("GHISEUL_TRANSFER_USER_CLIENT").or(file.user_client),
            utilizator: env("GHISEUL_TRANSFER_UTILIZATOR").or(file.utilizator),
            key,
            retries: number(
                env,
                "GHISEUL_TRANSFER_RETRIES",
                file.retries,
                DEFAULT_RETRIES,
            )?,
            retry_delay_ms: number(
                env,
                "GHISEUL_TRANSFER_RETRY_DELAY_MS",
                file.retry_delay_ms,
                DEFAULT_RETRY_DELAY_MS,
            )?,
            timeout_secs: number(
                env,
                "GHISEUL_TRANSFER_TIMEOUT_SECS",
                file.timeout_secs,
                DEFAULT_TIMEOUT_SECS,
            )?
            .max(1),
        })
    }

    /// What `sync` needs, or a message naming each missing key.
    pub fn require(&self) -> anyhow::Result<Ready> {
        let mut missing = Vec::new();
        if self.id_client.is_none() {
            missing.push("transfer_id_client (GHISEUL_TRANSFER_ID_CLIENT): the client code ghiseul.ro gave the institution");
        }
        if self.user_client.is_none() {
            missing.push("transfer_user_client (GHISEUL_TRANSFER_USER_CLIENT): the user name that enrolled the institution");
        }
        if self.key.is_none() {
            missing.push("transfer_key_file (GHISEUL_TRANSFER_KEY_FILE) or transfer_key: the key agreed with ghiseul.ro for Annex 2");
        }
        if !missing.is_empty() {
            anyhow::bail!(
                "sync needs the institution's enrolment data at ghiseul.ro; set:\n  {}",
                missing.join("\n  ")
            );
        }
        let id_client = self.id_client.unwrap_or_default();
        Ok(Ready {
            id_client,
            user_client: self.user_client.clone().unwrap_or_default(),
            utilizator: self
                .utilizator
                .clone()
                .unwrap_or_else(|| default_utilizator(id_client)),
            key: self.key.clone().unwrap_or_default(),
        })
    }

    /// True for a plain-HTTP URL (allowed, with a warning: the simulator on 127.0.0.1).
    pub fn is_plain_http(&self) -> bool {
        self.url.starts_with("http://")
    }
}

/// The enrolment data, complete.
#[derive(Clone)]
pub struct Ready {
    pub id_client: u64,
    pub user_client: String,
    pub utilizator: String,
    pub key: String,
}

/// `idClient.userWindows@numeStatie`: the OS user running sync and this machine's name.
pub fn default_utilizator(id_client: u64) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "ghiseul".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{id_client}.{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(file: FileKeys, env: &[(&str, &str)]) -> Result<TransferSettings, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TransferSettings::resolve(&|k| env.get(k).cloned(), file)
    }

    #[test]
    fn defaults_are_the_norms_address_and_a_bounded_retry() {
        let s = resolve(FileKeys::default(), &[]).unwrap();
        assert_eq!(s.url, super::super::DEFAULT_URL);
        assert_eq!((s.retries, s.retry_delay_ms), (3, 2000));
        assert!(s.require().is_err());
    }

    #[test]
    fn environment_overrides_the_file_and_the_key_is_masked() {
        let s = resolve(
            FileKeys {
                id_client: Some(12),
                user_client: Some("din.fisier".into()),
                key: Some("cheie-fisier".into()),
                ..FileKeys::default()
            },
            &[
                ("GHISEUL_TRANSFER_ID_CLIENT", "1234"),
                ("GHISEUL_TRANSFER_KEY", "cheie-secreta-transfer"),
                ("GHISEUL_TRANSFER_RETRY_DELAY_MS", "5"),
            ],
        )
        .unwrap();
        assert_eq!(s.id_client, Some(1234));
        assert_eq!(s.user_client.as_deref(), Some("din.fisier"));
        assert_eq!(s.retry_delay_ms, 5);
        let printed = format!("{s:?}");
        assert!(!printed.contains("cheie-secreta-transfer") && printed.contains("***"));
        let ready = s.require().unwrap();
        assert!(
            ready.utilizator.starts_with("1234."),
            "{}",
            ready.utilizator
        );
        assert!(ready.utilizator.contains('@'));
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let e = resolve(
            FileKeys::default(),
            &[("GHISEUL_TRANSFER_ID_CLIENT", "abc")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("transfer_id_client"));
        let e = resolve(
            FileKeys {
                id_client: Some(20_000_000),
                ..FileKeys::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("16777216"));
        let e = resolve(FileKeys::default(), &[("GHISEUL_TRANSFER_URL", "ftp://x")]).unwrap_err();
        assert!(e.to_string().contains("transfer_url"));
        let e = resolve(
            FileKeys::default(),
            &[("GHISEUL_TRANSFER_KEY_FILE", "/nonexistent/transfer.key")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/transfer.key"));
    }
}
