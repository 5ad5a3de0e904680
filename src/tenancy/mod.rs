//! Several institutions on one server (issue 16): the institutions that the
//! `[[institutie]]` sections of the configuration file describe (read by
//! `config::parse_file`), resolved and checked, and which institution a command works on.
//!
//! Isolation is by construction: every institution has its own database (`database_url`),
//! so its register, payments, journal, audit, imports, exports and `sync` state cannot
//! reach another's; the server answers each on its own `soap_path` with its own key, and
//! Annex 4 (`/zf`) picks the institution by `cuiInstitutie` (see `server`). A file without
//! sections is one institution, exactly as before.

pub mod server;

use crate::config::{Config, ConfigError, Env, FileConfig};

/// The path of the Annex 4 endpoint (`InformatiiPlataZF` with `cuiInstitutie`), served
/// when the file has `[[institutie]]` sections.
pub const ZF_PATH: &str = "/zf";

/// The server's own settings (listen, TLS, the Annex 4 endpoint's guards) and each
/// institution's full configuration. The environment applies as everywhere (over the file,
/// hence to every institution); the checks below refuse what would break isolation.
pub fn resolve_all(
    mut file: FileConfig,
    env: Env<'_>,
    require_key: bool,
) -> Result<(Config, Vec<Config>), ConfigError> {
    let sections = std::mem::take(&mut file.institutions);
    let server = Config::resolve(file, env, false)?;
    let mut institutions = Vec::with_capacity(sections.len());
    for (i, section) in sections.into_iter().enumerate() {
        let config = Config::resolve(section, env, require_key).map_err(|e| {
            ConfigError::Institutions(format!("institution {} ([[institutie]]): {e}", i + 1))
        })?;
        institutions.push(config);
    }
    check_distinct(&institutions)?;
    Ok((server, institutions))
}

/// What must differ between two institutions, or one would answer for the other: the CUI
/// (how Annex 4 and `--institutie` name them), the path, the key, the database.
fn check_distinct(institutions: &[Config]) -> Result<(), ConfigError> {
    let mut seen: Vec<(&str, String, usize)> = Vec::new();
    for (i, c) in institutions.iter().enumerate() {
        let n = i + 1;
        let Some(cui) = &c.institutie.cui else {
            return Err(ConfigError::Institutions(format!(
                "institution {n} ([[institutie]]) has no institutie_cui: with several \
                 institutions each one needs its fiscal code"
            )));
        };
        if c.soap_path == ZF_PATH {
            return Err(ConfigError::Institutions(format!(
                "institution {cui}: soap_path {ZF_PATH} is the Annex 4 endpoint; choose another path"
            )));
        }
        let mut keys = vec![
            ("institutie_cui", cui.clone()),
            ("soap_path", c.soap_path.clone()),
            ("database_url", c.database_url.clone()),
        ];
        if !c.hmac_key.is_empty() {
            keys.push(("hmac_key", c.hmac_key.clone()));
        }
        for (what, value) in keys {
            if let Some((_, _, other)) = seen.iter().find(|(w, v, _)| *w == what && *v == value) {
                let shown = match what {
                    "hmac_key" => "***".to_string(),
                    "database_url" => crate::store::redact_url(&value),
                    _ => value.clone(),
                };
                return Err(ConfigError::Institutions(format!(
                    "institutions {other} and {n} have the same {what} ({shown}): each \
                     institution needs its own, or one would answer for the other"
                )));
            }
            seen.push((what, value, n));
        }
    }
    Ok(())
}

/// A CUI as given on the command line or in a request, compared as the configuration
/// stores it (digits, without `RO`).
pub fn normalize_cui(cui: &str) -> String {
    match crate::rules::ident::Cui::parse(cui) {
        Ok(c) => c.as_str().to_string(),
        Err(_) => {
            let t = cui.trim();
            t.strip_prefix("RO")
                .or_else(|| t.strip_prefix("ro"))
                .unwrap_or(t)
                .trim()
                .to_string()
        }
    }
}

/// The configuration a command works on, chosen by `--institutie CUI`: required when the
/// file has several institutions, optional with one. Without sections the file is
/// returned as it is (and a given CUI must be the configured `institutie_cui`).
pub fn select(
    mut file: FileConfig,
    cui: Option<&str>,
    env: Env<'_>,
) -> Result<FileConfig, ConfigError> {
    let wanted = cui.map(normalize_cui);
    if file.institutions.is_empty() {
        if let Some(wanted) = &wanted {
            let configured = env("GHISEUL_INSTITUTIE_CUI")
                .or(file.institutie_cui.clone())
                .map(|c| normalize_cui(&c));
            if configured.as_ref() != Some(wanted) {
                return Err(ConfigError::Institutions(format!(
                    "--institutie {wanted}: this configuration has one institution{}; \
                     drop --institutie or use its CUI",
                    configured.map(|c| format!(" ({c})")).unwrap_or_default()
                )));
            }
        }
        return Ok(file);
    }
    let cuis: Vec<String> = file
        .institutions
        .iter()
        .map(|s| {
            env("GHISEUL_INSTITUTIE_CUI")
                .or(s.institutie_cui.clone())
                .map(|c| normalize_cui(&c))
                .unwrap_or_default()
        })
        .collect();
    let index = match &wanted {
        Some(w) => cuis.iter().position(|c| c == w).ok_or_else(|| {
            ConfigError::Institutions(format!(
                "--institutie {w}: no such institution in the configuration (its institutions: {})",
                cuis.join(", ")
            ))
        })?,
        None if cuis.len() == 1 => 0,
        None => {
            return Err(ConfigError::Institutions(format!(
                "this configuration has {} institutions: say which one with --institutie CUI ({})",
                cuis.len(),
                cuis.join(", ")
            )))
        }
    };
    Ok(file.institutions.swap_remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        crate::config::parse_file(text, std::path::Path::new("ghiseul.toml"))
    }

    const TWO: &str = r#"
listen = "127.0.0.1:0"
max_in_flight = 7
[[institutie]]
institutie_cui = "4351446"
soap_path = "/a"
hmac_key = "cheie-a"
database_url = "sqlite:///tmp/a.db"
[[institutie]]
institutie_cui = "RO4267117"
soap_path = "/b"
hmac_key = "cheie-b"
database_url = "sqlite:///tmp/b.db"
max_in_flight = 3
"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn sections_inherit_the_top_level_and_override_it() {
        let (server, all) = resolve_all(parse(TWO).unwrap(), &no_env, true).unwrap();
        assert_eq!(server.listen, "127.0.0.1:0");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].max_in_flight, 7);
        assert_eq!(all[1].max_in_flight, 3);
        assert_eq!(all[1].institutie.cui.as_deref(), Some("4267117"));
        assert_eq!(all[1].soap_path, "/b");
    }

    #[test]
    fn a_file_without_sections_is_one_institution() {
        let f = parse("hmac_key = \"k\"\nsoap_path = \"/ghiseu/server.php\"").unwrap();
        assert!(f.institutions.is_empty());
        assert_eq!(f.soap_path.as_deref(), Some("/ghiseu/server.php"));
    }

    #[test]
    fn a_server_wide_key_in_a_section_is_refused() {
        let err = parse("[[institutie]]\nlisten = \"0.0.0.0:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`listen`") && err.contains("whole server"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_in_a_section_is_refused() {
        let err = parse("[[institutie]]\nhmac_kye = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("institution 1") && err.contains("hmac_kye"),
            "{err}"
        );
    }

    #[test]
    fn two_institutions_with_the_same_database_are_refused() {
        let text = TWO.replace("/tmp/b.db", "/tmp/a.db");
        let err = resolve_all(parse(&text).unwrap(), &no_env, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("database_url"), "{err}");
    }

    #[test]
    fn two_institutions_with_the_same_key_or_path_are_refused() {
        for (from, to, what) in [
            ("cheie-b", "cheie-a", "hmac_key"),
            ("\"/b\"", "\"/a\"", "soap_path"),
            ("\"/b\"", "\"/zf\"", "/zf"),
            ("RO4267117", "4351446", "institutie_cui"),
        ] {
            let text = TWO.replace(from, to);
            let err = resolve_all(parse(&text).unwrap(), &no_env, true)
                .unwrap_err()
                .to_string();
            assert!(err.contains(what), "{what}: {err}");
            assert!(!err.contains("cheie-a"), "a key was printed: {err}");
        }
    }

    #[test]
    fn commands_pick_an_institution_by_cui() {
        let b = select(parse(TWO).unwrap(), Some("RO4267117"), &no_env).unwrap();
        assert_eq!(b.soap_path.as_deref(), Some("/b"));
        let err = select(parse(TWO).unwrap(), None, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--institutie") && err.contains("4351446"),
            "{err}"
        );
        assert!(select(parse(TWO).unwrap(), Some("13"), &no_env).is_err());
        let one = parse("hmac_key = \"k\"\ninstitutie_cui = \"4351446\"").unwrap();
        assert!(select(one, Some("4351446"), &no_env).is_ok());
        let one = parse("hmac_key = \"k\"").unwrap();
        assert!(select(one, Some("4351446"), &no_env).is_err());
    }
}
