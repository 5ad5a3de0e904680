//! Configuration: an optional TOML file, then environment variables over it, then the
//! defaults. Secrets are never printed: `Debug` masks them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ghiseul.db";
pub const DEFAULT_SOAP_PATH: &str = "/soap";
pub const DEFAULT_CONFIG_FILE: &str = "ghiseul.toml";

/// The file's keys; every one optional. Unknown keys are an error, so a typo is noticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub hmac_key: Option<String>,
    pub public_url: Option<String>,
    pub namespace: Option<String>,
    pub soap_path: Option<String>,
    pub max_connections: Option<u32>,
    pub db_timeout_secs: Option<u64>,
    pub body_limit_bytes: Option<usize>,
}

#[derive(Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub hmac_key: String,
    pub public_url: String,
    pub namespace: String,
    pub soap_path: String,
    pub max_connections: u32,
    pub db_timeout_secs: u64,
    pub body_limit_bytes: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("hmac_key", &"***")
            .field("public_url", &self.public_url)
            .field("namespace", &self.namespace)
            .field("soap_path", &self.soap_path)
            .field("max_connections", &self.max_connections)
            .field("db_timeout_secs", &self.db_timeout_secs)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .finish()
    }
}

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
         (export GHISEUL_HMAC_KEY='...') or as hmac_key = \"...\" in ghiseul.toml; \
         to try the server without one, run `ghiseul-connector serve --demo`"
    )]
    MissingKey,
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

impl FileConfig {
    /// Reads `path` if given (it must exist), else `ghiseul.toml` if it exists, else nothing.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok(FileConfig::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })
    }
}

impl Config {
    /// Merges file and environment. `require_key` is false for commands that never sign.
    pub fn resolve(
        file: FileConfig,
        env: Env<'_>,
        require_key: bool,
    ) -> Result<Config, ConfigError> {
        let listen = env("GHISEUL_LISTEN")
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let soap_path = env("GHISEUL_SOAP_PATH")
            .or(file.soap_path)
            .unwrap_or_else(|| DEFAULT_SOAP_PATH.to_string());
        if !soap_path.starts_with('/') || soap_path.contains('?') || soap_path.contains('#') {
            return Err(ConfigError::Invalid {
                name: "soap_path (GHISEUL_SOAP_PATH)",
                what: "a URL path starting with / (e.g. /ghiseu/server.php)",
                value: soap_path,
            });
        }
        let public_url = env("GHISEUL_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}{soap_path}"));
        let namespace = env("GHISEUL_NAMESPACE")
            .or(file.namespace)
            .unwrap_or_else(|| public_url.clone());
        let hmac_key = env("GHISEUL_HMAC_KEY")
            .or(file.hmac_key)
            .unwrap_or_default();
        if require_key && hmac_key.is_empty() {
            return Err(ConfigError::MissingKey);
        }
        let database_url = env("GHISEUL_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        Ok(Config {
            listen,
            database_url,
            hmac_key,
            public_url,
            namespace,
            soap_path,
            max_connections: number(env, "GHISEUL_MAX_CONNECTIONS", file.max_connections, 8)?,
            db_timeout_secs: number(env, "GHISEUL_DB_TIMEOUT_SECS", file.db_timeout_secs, 5)?,
            body_limit_bytes: number(
                env,
                "GHISEUL_BODY_LIMIT_BYTES",
                file.body_limit_bytes,
                256 * 1024,
            )?,
        })
    }
}

fn number<T: std::str::FromStr>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let file: FileConfig = toml::from_str(file).unwrap();
        Config::resolve(file, &|k| env.get(k).cloned(), true)
    }

    #[test]
    fn server_refuses_to_start_without_a_key() {
        let err = resolve("", &[]).unwrap_err();
        assert!(matches!(err, ConfigError::MissingKey));
        assert!(err.to_string().contains("GHISEUL_HMAC_KEY"));
    }

    #[test]
    fn defaults_follow_the_listen_address() {
        let c = resolve("", &[("GHISEUL_HMAC_KEY", "k")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080/soap");
        assert_eq!(c.namespace, c.public_url);
        assert_eq!(c.database_url, "sqlite://data/ghiseul.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = resolve(
            "listen = \"0.0.0.0:9000\"\nhmac_key = \"from-file\"\nsoap_path = \"/ghiseu/server.php\"",
            &[("GHISEUL_HMAC_KEY", "from-env")],
        )
        .unwrap();
        assert_eq!(c.hmac_key, "from-env");
        assert_eq!(c.public_url, "http://0.0.0.0:9000/ghiseu/server.php");
    }

    #[test]
    fn key_never_appears_in_debug_output() {
        let c = resolve("", &[("GHISEUL_HMAC_KEY", "super-secret-key")]).unwrap();
        assert!(!format!("{c:?}").contains("super-secret-key"));
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<FileConfig>("hmac_kye = \"x\"").is_err());
    }
}
