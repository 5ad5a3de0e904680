//! Configuration: an optional TOML file, then environment variables over it, then the
//! defaults. Secrets are never printed: `Debug` masks them.

use std::path::{Path, PathBuf};

pub mod reading;

use reading::number;
pub use reading::{process_env, ConfigError, Env};

use ipnet::IpNet;
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
    pub admin_listen: Option<String>,
    pub database_url: Option<String>,
    pub hmac_key: Option<String>,
    pub hmac_key_file: Option<PathBuf>,
    pub hmac_key_next: Option<String>,
    pub hmac_key_next_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub namespace: Option<String>,
    pub soap_path: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub max_connections: Option<u32>,
    pub db_timeout_secs: Option<u64>,
    pub body_limit_bytes: Option<usize>,
    pub read_timeout_secs: Option<u64>,
    pub max_in_flight: Option<usize>,
    pub log_format: Option<LogFormat>,
    pub audit_retention_days: Option<u32>,
    // Annex 2 (`sync`): see transfer::settings.
    pub transfer_url: Option<String>,
    pub transfer_id_client: Option<u64>,
    pub transfer_user_client: Option<String>,
    pub transfer_utilizator: Option<String>,
    pub transfer_key: Option<String>,
    pub transfer_key_file: Option<PathBuf>,
    pub transfer_retries: Option<u32>,
    pub transfer_retry_delay_ms: Option<u64>,
    pub transfer_timeout_secs: Option<u64>,
    pub institutie_cui: Option<String>,
    pub institutie_nume: Option<String>,
    // The live SQL register (issue 11): see live::Settings.
    pub register_url: Option<String>,
    pub register_taxpayer_query: Option<String>,
    pub register_debts_query: Option<String>,
    pub register_tax_types_query: Option<String>,
    pub register_booked_query: Option<String>,
    pub register_payment_statement: Option<String>,
    /// The `[[institutie]]` sections (several institutions on one server, see
    /// `crate::tenancy`): each is this top level with the section's keys over it. Empty
    /// for a configuration of one institution.
    #[serde(skip)]
    pub(crate) institutions: Vec<FileConfig>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub listen: String,
    /// Where /health and /metrics are served; `None` = on `listen` beside the SOAP endpoint.
    pub admin_listen: Option<String>,
    pub database_url: String,
    pub hmac_key: String,
    /// A second key accepted on input during a key rotation; the primary still signs.
    pub hmac_key_next: Option<String>,
    /// Why the key could not be read, for a command that does not need it (`import`,
    /// `migrate`) and so was not stopped by it; `call` says it when it has no key.
    pub hmac_key_problem: Option<String>,
    pub public_url: String,
    pub namespace: String,
    pub soap_path: String,
    pub tls: Option<TlsFiles>,
    /// Who may call the SOAP endpoint; empty = everyone.
    pub allow: Vec<IpNet>,
    /// Reverse proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub max_connections: u32,
    pub db_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub read_timeout_secs: u64,
    pub max_in_flight: usize,
    pub log_format: LogFormat,
    pub audit_retention_days: u32,
    /// Annex 2: where and as whom `sync` sends the register.
    pub transfer: crate::transfer::settings::TransferSettings,
    /// Who the institution is, for the files it makes.
    pub institutie: Institution,
    /// The tax system's own database, when getSume is answered from it (issue 11);
    /// `None` = the register is ours, loaded by `import`.
    pub register: Option<crate::live::Settings>,
}

/// The institution's identity, in one place: what the Annex 3 and 5 files (and, with
/// several institutions on one server, each institution's section) say about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Institution {
    /// The institution's fiscal code (CIF) as digits without `RO` (Annex 5's `cui`);
    /// `None` when not configured (only `export admin-creante` needs it).
    pub cui: Option<String>,
    /// The institution's name, printed on the daily report and the console; empty when
    /// not configured.
    pub nume: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = |k: &Option<String>| k.as_ref().map(|_| "***");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("admin_listen", &self.admin_listen)
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("hmac_key", &"***")
            .field("hmac_key_next", &masked(&self.hmac_key_next))
            .field("public_url", &self.public_url)
            .field("namespace", &self.namespace)
            .field("soap_path", &self.soap_path)
            .field("tls", &self.tls)
            .field("allow", &self.allow)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("max_connections", &self.max_connections)
            .field("db_timeout_secs", &self.db_timeout_secs)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("read_timeout_secs", &self.read_timeout_secs)
            .field("max_in_flight", &self.max_in_flight)
            .field("log_format", &self.log_format)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("transfer", &self.transfer)
            .field("institutie_cui", &self.institutie.cui)
            .field("institutie_nume", &self.institutie.nume)
            .field("register", &self.register)
            .finish()
    }
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
        parse_file(&text, &path)
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
        if !soap_path.starts_with('/')
            || soap_path.contains('?')
            || soap_path.contains('#')
            || soap_path == "/health"
            || soap_path == "/metrics"
        {
            return Err(ConfigError::Invalid {
                name: "soap_path (GHISEUL_SOAP_PATH)",
                what: "a URL path starting with / other than /health and /metrics (e.g. /ghiseu/server.php)",
                value: soap_path,
            });
        }
        let tls = match (
            env("GHISEUL_TLS_CERT").map(PathBuf::from).or(file.tls_cert),
            env("GHISEUL_TLS_KEY").map(PathBuf::from).or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (cert, _) => {
                return Err(ConfigError::Invalid {
                    name: "tls_cert and tls_key (GHISEUL_TLS_CERT, GHISEUL_TLS_KEY)",
                    what: "both set (PEM certificate chain and PEM private key) or both unset",
                    value: if cert.is_some() {
                        "only tls_cert".into()
                    } else {
                        "only tls_key".into()
                    },
                })
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = env("GHISEUL_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("{scheme}://{listen}{soap_path}"));
        let namespace = env("GHISEUL_NAMESPACE")
            .or(file.namespace)
            .unwrap_or_else(|| public_url.clone());
        // A command that never signs (import, migrate, audit) is not stopped by a key file
        // it cannot read; the reason is kept for `call`.
        let (hmac_key, hmac_key_problem) =
            match secret(env, "GHISEUL_HMAC_KEY", file.hmac_key, file.hmac_key_file) {
                Ok(k) => (k.unwrap_or_default(), None),
                Err(e) if !require_key => (String::new(), Some(e.to_string())),
                Err(e) => return Err(e),
            };
        if require_key && hmac_key.is_empty() {
            return Err(ConfigError::MissingKey);
        }
        let hmac_key_next = match secret(
            env,
            "GHISEUL_HMAC_KEY_NEXT",
            file.hmac_key_next,
            file.hmac_key_next_file,
        ) {
            Ok(k) => k,
            Err(_) if !require_key => None,
            Err(e) => return Err(e),
        };
        let database_url = env("GHISEUL_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let log_format = match env("GHISEUL_LOG_FORMAT") {
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(v) if v.eq_ignore_ascii_case("human") => LogFormat::Human,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "GHISEUL_LOG_FORMAT",
                    what: "human or json",
                    value: v,
                })
            }
            None => file.log_format.unwrap_or_default(),
        };
        let transfer = crate::transfer::settings::TransferSettings::resolve(
            env,
            crate::transfer::settings::FileKeys {
                url: file.transfer_url,
                id_client: file.transfer_id_client,
                user_client: file.transfer_user_client,
                utilizator: file.transfer_utilizator,
                key: file.transfer_key,
                key_file: file.transfer_key_file,
                retries: file.transfer_retries,
                retry_delay_ms: file.transfer_retry_delay_ms,
                timeout_secs: file.transfer_timeout_secs,
            },
        )?;
        let institutie = Institution {
            cui: institution_cui(env("GHISEUL_INSTITUTIE_CUI").or(file.institutie_cui))?,
            nume: env("GHISEUL_INSTITUTIE_NUME")
                .or(file.institutie_nume)
                .unwrap_or_default(),
        };
        let register = crate::live::Settings::resolve(
            env,
            crate::live::FileKeys {
                url: file.register_url,
                taxpayer_query: file.register_taxpayer_query,
                debts_query: file.register_debts_query,
                tax_types_query: file.register_tax_types_query,
                booked_query: file.register_booked_query,
                payment_statement: file.register_payment_statement,
            },
        )?;
        Ok(Config {
            register,
            transfer,
            admin_listen: env("GHISEUL_ADMIN_LISTEN").or(file.admin_listen),
            listen,
            database_url,
            hmac_key,
            hmac_key_next,
            hmac_key_problem,
            public_url,
            namespace,
            soap_path,
            tls,
            allow: networks(env, "GHISEUL_ALLOW", "allow (GHISEUL_ALLOW)", file.allow)?,
            trusted_proxies: networks(
                env,
                "GHISEUL_TRUSTED_PROXIES",
                "trusted_proxies (GHISEUL_TRUSTED_PROXIES)",
                file.trusted_proxies,
            )?,
            max_connections: number(env, "GHISEUL_MAX_CONNECTIONS", file.max_connections, 8)?,
            db_timeout_secs: number(env, "GHISEUL_DB_TIMEOUT_SECS", file.db_timeout_secs, 5)?,
            body_limit_bytes: number(
                env,
                "GHISEUL_BODY_LIMIT_BYTES",
                file.body_limit_bytes,
                256 * 1024,
            )?,
            read_timeout_secs: number(
                env,
                "GHISEUL_READ_TIMEOUT_SECS",
                file.read_timeout_secs,
                10,
            )?,
            max_in_flight: number(env, "GHISEUL_MAX_IN_FLIGHT", file.max_in_flight, 512)?,
            log_format,
            audit_retention_days: number(
                env,
                "GHISEUL_AUDIT_RETENTION_DAYS",
                file.audit_retention_days,
                365,
            )?,
            institutie,
        })
    }
}

impl Config {
    /// What `serve` would trip over later, each with what to do: an address without a
    /// port, a public URL without a scheme, a zero where a count or a time is needed.
    /// (What `resolve` already refuses is not repeated here.)
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut address = |name: &str, var: &str, value: &str| {
            use std::net::ToSocketAddrs;
            if let Err(e) = value.to_socket_addrs() {
                let hint = if value.parse::<std::net::IpAddr>().is_ok() || !value.contains(':') {
                    format!("it has no port: write ADDRESS:PORT, e.g. {value}:8080")
                } else {
                    format!("{e}: write ADDRESS:PORT, e.g. 127.0.0.1:8080")
                };
                problems.push(format!("{name} ({var}) = `{value}`: {hint}"));
            }
        };
        address("listen", "GHISEUL_LISTEN", &self.listen);
        if let Some(admin) = &self.admin_listen {
            address("admin_listen", "GHISEUL_ADMIN_LISTEN", admin);
            if *admin == self.listen {
                problems.push(format!(
                    "admin_listen (GHISEUL_ADMIN_LISTEN) = `{admin}` is the same as listen: \
                     give it another port (e.g. 127.0.0.1:9090) or leave it unset"
                ));
            }
        }
        match reqwest::Url::parse(&self.public_url) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
            _ => problems.push(format!(
                "public_url (GHISEUL_PUBLIC_URL) = `{}` is not a full http(s) URL: write the \
                 address ghiseul.ro calls with its scheme, e.g. https://taxe.primaria-exemplu.ro{}",
                self.public_url, self.soap_path
            )),
        }
        for (name, value) in [
            (
                "max_connections (GHISEUL_MAX_CONNECTIONS)",
                self.max_connections as u64,
            ),
            (
                "db_timeout_secs (GHISEUL_DB_TIMEOUT_SECS)",
                self.db_timeout_secs,
            ),
            (
                "read_timeout_secs (GHISEUL_READ_TIMEOUT_SECS)",
                self.read_timeout_secs,
            ),
            (
                "max_in_flight (GHISEUL_MAX_IN_FLIGHT)",
                self.max_in_flight as u64,
            ),
        ] {
            if value == 0 {
                problems.push(format!(
                    "{name} = 0: it must be at least 1 (remove it to use the default)"
                ));
            }
        }
        if self.body_limit_bytes < 4096 {
            problems.push(format!(
                "body_limit_bytes (GHISEUL_BODY_LIMIT_BYTES) = {}: a payment request is larger \
                 than that; use at least 4096 (default 262144)",
                self.body_limit_bytes
            ));
        }
        problems
    }

    /// The settings in force, one a line, for a person to read: secrets masked, a
    /// password in the database URL shown as `***`.
    pub fn listing(&self) -> String {
        let list = |v: &[IpNet], empty: &str| {
            if v.is_empty() {
                empty.to_string()
            } else {
                v.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut rows: Vec<(&str, String)> = vec![
            ("listen", self.listen.clone()),
            (
                "admin_listen",
                self.admin_listen
                    .clone()
                    .unwrap_or_else(|| "unset (/health and /metrics on listen)".into()),
            ),
            ("soap_path", self.soap_path.clone()),
            ("public_url", self.public_url.clone()),
            ("namespace", self.namespace.clone()),
            (
                "tls",
                match &self.tls {
                    Some(t) => format!("cert {}, key {}", t.cert.display(), t.key.display()),
                    None => "unset (plain HTTP)".into(),
                },
            ),
            ("allow", list(&self.allow, "everyone")),
            ("trusted_proxies", list(&self.trusted_proxies, "none")),
            (
                "hmac_key",
                if self.hmac_key.is_empty() {
                    "unset".into()
                } else {
                    "set (***)".into()
                },
            ),
            (
                "hmac_key_next",
                match &self.hmac_key_next {
                    Some(_) => "set (***)".into(),
                    None => "unset".into(),
                },
            ),
            ("database_url", crate::store::redact_url(&self.database_url)),
            ("max_connections", self.max_connections.to_string()),
            ("db_timeout_secs", self.db_timeout_secs.to_string()),
            ("body_limit_bytes", self.body_limit_bytes.to_string()),
            ("read_timeout_secs", self.read_timeout_secs.to_string()),
            ("max_in_flight", self.max_in_flight.to_string()),
            (
                "log_format",
                match self.log_format {
                    LogFormat::Human => "human".into(),
                    LogFormat::Json => "json".into(),
                },
            ),
            (
                "audit_retention_days",
                self.audit_retention_days.to_string(),
            ),
        ];
        let t = &self.transfer;
        let unset = || "unset".to_string();
        rows.extend([
            ("transfer_url", t.url.clone()),
            (
                "transfer_id_client",
                t.id_client.map_or_else(unset, |i| i.to_string()),
            ),
            (
                "transfer_user_client",
                t.user_client.clone().unwrap_or_else(unset),
            ),
            (
                "transfer_utilizator",
                t.utilizator
                    .clone()
                    .unwrap_or_else(|| "<idClient>.<user>@<host> (default)".into()),
            ),
            (
                "transfer_key",
                if t.key.is_some() {
                    "set (***)"
                } else {
                    "unset"
                }
                .into(),
            ),
            ("transfer_retries", t.retries.to_string()),
            ("transfer_retry_delay_ms", t.retry_delay_ms.to_string()),
            ("transfer_timeout_secs", t.timeout_secs.to_string()),
        ]);
        rows.extend(crate::live::Settings::listing(self.register.as_ref()));
        let mut out = String::new();
        for (name, value) in rows {
            out.push_str(&format!("  {name:<22} {value}\n"));
        }
        out
    }
}

/// Every environment variable the program reads; any other `GHISEUL_*` is a typo.
pub const ENVIRONMENT: &[&str] = &[
    "GHISEUL_LISTEN",
    "GHISEUL_ADMIN_LISTEN",
    "GHISEUL_SOAP_PATH",
    "GHISEUL_PUBLIC_URL",
    "GHISEUL_NAMESPACE",
    "GHISEUL_TLS_CERT",
    "GHISEUL_TLS_KEY",
    "GHISEUL_ALLOW",
    "GHISEUL_TRUSTED_PROXIES",
    "GHISEUL_HMAC_KEY",
    "GHISEUL_HMAC_KEY_FILE",
    "GHISEUL_HMAC_KEY_NEXT",
    "GHISEUL_HMAC_KEY_NEXT_FILE",
    "GHISEUL_DATABASE_URL",
    "GHISEUL_MAX_CONNECTIONS",
    "GHISEUL_DB_TIMEOUT_SECS",
    "GHISEUL_BODY_LIMIT_BYTES",
    "GHISEUL_READ_TIMEOUT_SECS",
    "GHISEUL_MAX_IN_FLIGHT",
    "GHISEUL_LOG_FORMAT",
    "GHISEUL_AUDIT_RETENTION_DAYS",
    "GHISEUL_LOG",
    "GHISEUL_TRANSFER_URL",
    "GHISEUL_TRANSFER_ID_CLIENT",
    "GHISEUL_TRANSFER_USER_CLIENT",
    "GHISEUL_TRANSFER_UTILIZATOR",
    "GHISEUL_TRANSFER_KEY",
    "GHISEUL_TRANSFER_KEY_FILE",
    "GHISEUL_TRANSFER_RETRIES",
    "GHISEUL_TRANSFER_RETRY_DELAY_MS",
    "GHISEUL_TRANSFER_TIMEOUT_SECS",
    "GHISEUL_INSTITUTIE_CUI",
    "GHISEUL_INSTITUTIE_NUME",
    // The live SQL register (src/live/).
    "GHISEUL_REGISTER_URL",
    "GHISEUL_REGISTER_TAXPAYER_QUERY",
    "GHISEUL_REGISTER_DEBTS_QUERY",
    "GHISEUL_REGISTER_TAX_TYPES_QUERY",
    "GHISEUL_REGISTER_BOOKED_QUERY",
    "GHISEUL_REGISTER_PAYMENT_STATEMENT",
    // Read by `report daily --format pdf` (src/payout/pdf.rs).
    "GHISEUL_PDF_FONT",
];

/// The `GHISEUL_*` variables of `names` that the program does not know, each with the
/// known one it most likely meant (the first sharing the longest common prefix).
pub fn unknown_environment<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut unknown = Vec::new();
    for name in names {
        // The test suite's own variables are not the program's.
        let Some(rest) = name.strip_prefix("GHISEUL_") else {
            continue;
        };
        if rest.starts_with("TEST_") || ENVIRONMENT.contains(&name) {
            continue;
        }
        let common = |known: &str| {
            known
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        let best = ENVIRONMENT.iter().max_by_key(|k| common(k)).copied();
        unknown.push(match best {
            Some(k) if common(k) > "GHISEUL_".len() => {
                format!("{name} is not a setting of ghiseul-connector (did you mean {k}?); it is ignored")
            }
            _ => format!("{name} is not a setting of ghiseul-connector; it is ignored"),
        });
    }
    unknown
}

/// `institutie_cui`: a CIF with a valid control digit, stored as its digits (an `RO` before
/// it is dropped). A CNP is refused: an institution is a legal person.
fn institution_cui(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match crate::rules::ident::Cui::parse(&value) {
        Ok(crate::rules::ident::Cui::Cif(digits)) => Ok(Some(digits)),
        _ => Err(ConfigError::Invalid {
            name: "institutie_cui (GHISEUL_INSTITUTIE_CUI)",
            what: "the institution's fiscal code (CIF): 2 to 10 digits, not starting with 0, \
                   with a valid control digit, optionally after RO (e.g. 4351446)",
            value,
        }),
    }
}

/// A secret from the environment, else from the file's value, else from a file it names
/// (trailing newline removed, as editors add one).
fn secret(
    env: Env<'_>,
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<String>, ConfigError> {
    if let Some(v) = env(name).or(value) {
        return Ok(Some(v));
    }
    let Some(path) = env(&format!("{name}_FILE")).map(PathBuf::from).or(file) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::KeyFile {
        path: path.clone(),
        source,
    })?;
    let key = text.trim_end_matches(['\r', '\n']);
    if key.trim().is_empty() {
        return Err(ConfigError::EmptyKeyFile { path });
    }
    Ok(Some(key.to_string()))
}

/// CIDR lists: `10.0.0.0/8`, a single address (`192.0.2.7`), comma-separated in the
/// environment.
fn networks(
    env: Env<'_>,
    var: &str,
    name: &'static str,
    file: Option<Vec<String>>,
) -> Result<Vec<IpNet>, ConfigError> {
    let items: Vec<String> = match env(var) {
        Some(v) => v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => file.unwrap_or_default(),
    };
    items
        .into_iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    name,
                    what: "a list of addresses or CIDR networks (e.g. 192.0.2.0/24, 2001:db8::/32)",
                    value: item,
                })
        })
        .collect()
}

/// Keys that belong to the whole server, not to one institution: one listener, one TLS
/// certificate, one log. A section that sets one is refused rather than silently ignored.
pub const SERVER_WIDE: &[&str] = &[
    "listen",
    "admin_listen",
    "tls_cert",
    "tls_key",
    "trusted_proxies",
    "log_format",
    "read_timeout_secs",
];

/// Reads the configuration file's text: the top level into a `FileConfig`, and each
/// `[[institutie]]` section into one of its own, made of the top level with the section's
/// keys over it (so every key of `FileConfig`, present or future, works per institution).
pub fn parse_file(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let parse = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let mut table: toml::Table = toml::from_str(text).map_err(parse)?;
    let sections = table.remove("institutie");
    let mut top: FileConfig = toml::Value::Table(table.clone())
        .try_into()
        .map_err(parse)?;
    let Some(sections) = sections else {
        return Ok(top);
    };
    let where_ = path.display();
    let toml::Value::Array(sections) = sections else {
        return Err(ConfigError::Institutions(format!(
            "{where_}: `institutie` must be a list of sections, each starting with [[institutie]]"
        )));
    };
    for (i, section) in sections.into_iter().enumerate() {
        let n = i + 1;
        let toml::Value::Table(section) = section else {
            return Err(ConfigError::Institutions(format!(
                "{where_}: institution {n}: write each institution as a section starting with [[institutie]]"
            )));
        };
        if let Some(key) = section.keys().find(|k| SERVER_WIDE.contains(&k.as_str())) {
            return Err(ConfigError::Institutions(format!(
                "{where_}: institution {n}: `{key}` is a setting of the whole server; \
                 set it once at the top of the file, before the first [[institutie]]"
            )));
        }
        let mut merged = table.clone();
        merged.extend(section);
        let institution: FileConfig = toml::Value::Table(merged)
            .try_into()
            .map_err(|e| ConfigError::Institutions(format!("{where_}: institution {n}: {e}")))?;
        top.institutions.push(institution);
    }
    if top.institutions.is_empty() {
        return Err(ConfigError::Institutions(format!(
            "{where_}: `institutie` is empty; describe each institution in a [[institutie]] section"
        )));
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    /// Every variable this file reads is one `unknown_environment` knows, so that setting
    /// it is never reported as a typo.
    #[test]
    fn every_variable_read_is_a_known_one() {
        // Every file that reads settings from the environment.
        let source = [
            include_str!("mod.rs"),
            include_str!("../transfer/settings.rs"),
            include_str!("../tenancy/mod.rs"),
            include_str!("../live/mod.rs"),
        ]
        .concat();
        let mut read = 0;
        // `env("GHISEUL_…")` here and in the others, `get("GHISEUL_…", …)` in live/.
        for part in source.split("(\"GHISEUL_").skip(1) {
            let end = part
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(part.len());
            if end == 0 {
                continue; // this test's own text
            }
            let name = format!("GHISEUL_{}", &part[..end]);
            assert!(
                ENVIRONMENT.contains(&name.as_str()),
                "{name} is read but not in ENVIRONMENT"
            );
            read += 1;
        }
        assert!(read >= 5, "the variables read were not found ({read})");
    }

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
        assert!(c.allow.is_empty() && c.tls.is_none() && c.hmac_key_next.is_none());
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
    fn key_can_come_from_a_file() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "cheie-din-fisier\n").unwrap();
        let c = resolve("", &[("GHISEUL_HMAC_KEY_FILE", f.path().to_str().unwrap())]).unwrap();
        assert_eq!(c.hmac_key, "cheie-din-fisier");
        let err = resolve("", &[("GHISEUL_HMAC_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key"));
    }

    #[test]
    fn keys_never_appear_in_debug_output() {
        let c = resolve(
            "",
            &[
                ("GHISEUL_HMAC_KEY", "super-secret-key"),
                ("GHISEUL_HMAC_KEY_NEXT", "next-secret"),
            ],
        )
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("super-secret-key") && !printed.contains("next-secret"));
    }

    #[test]
    fn unknown_ghiseul_variables_are_named_with_the_likely_one() {
        // Built, not written out: tests/packaging.rs reads every quoted GHISEUL_ name in
        // this file as an option to document.
        let typo = ["GHISEUL", "LISTN"].join("_");
        let test_variable = ["GHISEUL", "TEST", "POSTGRES", "URL"].join("_");
        let warnings = unknown_environment([
            typo.as_str(),
            "GHISEUL_LISTEN",
            test_variable.as_str(),
            "PATH",
        ]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(typo.as_str()) && warnings[0].contains("GHISEUL_LISTEN"));
    }

    #[test]
    fn check_config_finds_what_serve_would_trip_over() {
        let c = resolve(
            "listen = \"127.0.0.1\"\npublic_url = \"taxe.ro/soap\"\nmax_in_flight = 0",
            &[("GHISEUL_HMAC_KEY", "k")],
        )
        .unwrap();
        let problems = c.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        let ok = resolve("", &[("GHISEUL_HMAC_KEY", "k")]).unwrap();
        assert!(ok.problems().is_empty(), "{:?}", ok.problems());
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<FileConfig>("hmac_kye = \"x\"").is_err());
    }

    #[test]
    fn allow_list_takes_networks_and_single_addresses() {
        let c = resolve(
            "allow = [\"192.0.2.0/24\", \"2001:db8::1\"]",
            &[("GHISEUL_HMAC_KEY", "k")],
        )
        .unwrap();
        assert_eq!(c.allow.len(), 2);
        assert!(c.allow[1].contains(&"2001:db8::1".parse::<std::net::IpAddr>().unwrap()));
        let err = resolve(
            "",
            &[
                ("GHISEUL_HMAC_KEY", "k"),
                ("GHISEUL_ALLOW", "10.0.0.0/8, ghiseul.ro"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("ghiseul.ro"));
    }

    #[test]
    fn institution_cui_is_a_valid_cif_without_ro() {
        let c = resolve(
            "institutie_cui = \"RO4351446\"",
            &[("GHISEUL_HMAC_KEY", "k")],
        )
        .unwrap();
        assert_eq!(c.institutie.cui.as_deref(), Some("4351446"));
        assert!(format!("{c:?}").contains("4351446"));
        let c = resolve("", &[("GHISEUL_HMAC_KEY", "k")]).unwrap();
        assert_eq!(c.institutie.cui, None);
        for bad in ["4351447", "1800101221111", "CUI", "0351446"] {
            let err = resolve(
                "",
                &[("GHISEUL_HMAC_KEY", "k"), ("GHISEUL_INSTITUTIE_CUI", bad)],
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("institutie_cui") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn tls_needs_both_files_and_makes_the_default_url_https() {
        let err = resolve("tls_cert = \"c.pem\"", &[("GHISEUL_HMAC_KEY", "k")]).unwrap_err();
        assert!(err.to_string().contains("tls_key"));
        let c = resolve(
            "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"",
            &[("GHISEUL_HMAC_KEY", "k")],
        )
        .unwrap();
        assert!(c.public_url.starts_with("https://"));
    }
}
