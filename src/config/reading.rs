//! What every reader of settings shares (this module, `transfer::settings`, `live`,
//! `tenancy`): where values come from (`Env`) and how reading them fails (`ConfigError`).
//! Kept apart from `Config` so that those readers need not import the whole configuration,
//! which imports them.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML or has an unknown key: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error(
        "no HMAC key is configured. Set the key shared with ghiseul.ro in the environment \
         (export GHISEUL_HMAC_KEY='...'), in a file named by GHISEUL_HMAC_KEY_FILE / hmac_key_file, \
         or as hmac_key = \"...\" in ghiseul.toml; to try the server without one, run \
         `ghiseul-connector serve --demo`"
    )]
    MissingKey,
    #[error("cannot read the key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} is empty: put in it the key shared with ghiseul.ro (one line), \
         or point hmac_key_file / GHISEUL_HMAC_KEY_FILE at the file that holds it"
    )]
    EmptyKeyFile { path: PathBuf },
    /// A problem of the `[[institutie]]` sections (see `crate::tenancy`).
    #[error("{0}")]
    Institutions(String),
    #[error("{name} must be {what}, not `{value}`")]
    Invalid {
        name: &'static str,
        what: &'static str,
        value: String,
    },
}

/// A source of environment variables (the process's, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A whole-number setting: the environment variable `name` over the file's value over
/// `default`; a variable that is not a number is an error naming it.
pub fn number<T: std::str::FromStr>(
    env: Env<'_>,
    name: &'static str,
    file: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    match env(name) {
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            what: "a whole number",
            value: v,
        }),
        None => Ok(file.unwrap_or(default)),
    }
}
