//! Building the application from a configuration, so that `serve` and the tests start the
//! very same server (the tests on a random port with a fresh database).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

pub mod part;

pub use part::{open_store, Part, Parts};

use crate::config::{Config, TlsFiles};
use crate::http::{admin_router, soap_router};
use crate::store::Store;

/// How long requests in flight may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(30);

pub struct Application {
    listener: std::net::TcpListener,
    admin_listener: Option<std::net::TcpListener>,
    router: axum::Router,
    admin: axum::Router,
    tls: Option<(RustlsConfig, TlsFiles)>,
    read_timeout: Duration,
    /// The (first) institution's database, for `--demo` and the tests.
    store: Store,
    /// Every institution served; with several, SIGHUP may add more (`tenancy::server`).
    parts: Parts,
    reload: Option<crate::tenancy::server::Reload>,
}

impl Application {
    /// Connects to and migrates the database, loads the TLS files, binds the addresses.
    pub async fn build(config: &Config) -> anyhow::Result<Application> {
        let part = Part::build(config).await?;
        let state = part.state.clone();
        let store = part.store.clone();
        let (listener, admin_listener, tls) = bind_all(config).await?;
        let mut router = soap_router(state.clone(), &config.soap_path);
        let mut admin = admin_router(state);
        if admin_listener.is_none() {
            router = router.merge(admin.clone());
        } else {
            // The web console only on the admin listener, never beside the SOAP endpoint.
            admin = admin.merge(crate::console::router(
                store.clone(),
                config.institutie.nume.clone(),
                config.trusted_proxies.clone(),
                "/admin",
            ));
        }
        Ok(Application {
            listener,
            admin_listener,
            router,
            admin,
            tls,
            read_timeout: Duration::from_secs(config.read_timeout_secs),
            store,
            parts: Arc::new(tokio::sync::Mutex::new(vec![part])),
            reload: None,
        })
    }

    /// Several institutions on one server (`[[institutie]]` sections): each on its own
    /// path with its own database, the Annex 4 endpoint, and — when `reload` is given —
    /// institutions added on SIGHUP. `server` holds the server-wide settings.
    pub async fn build_several(
        server: &Config,
        institutions: &[Config],
        reload: Option<crate::tenancy::server::Reloader>,
    ) -> anyhow::Result<Application> {
        let mut parts = Vec::with_capacity(institutions.len());
        for config in institutions {
            let part = Part::build(config).await.with_context(|| {
                format!(
                    "institution {}",
                    config.institutie.cui.as_deref().unwrap_or("?")
                )
            })?;
            parts.push(part);
        }
        let store = parts
            .first()
            .map(|p| p.store.clone())
            .context("no institution is configured")?;
        let (listener, admin_listener, tls) = bind_all(server).await?;
        let table = crate::tenancy::server::Table::new(server, institutions, &parts);
        let (mut router, mut admin) = crate::tenancy::server::routers(table.clone());
        if admin_listener.is_none() {
            router = router.merge(admin.clone());
        } else {
            // Each institution's web console at /admin/{CUI}/, only on the admin listener.
            admin = admin.merge(crate::tenancy::server::consoles(table.clone()));
        }
        let parts: Parts = Arc::new(tokio::sync::Mutex::new(parts));
        Ok(Application {
            listener,
            admin_listener,
            router,
            admin,
            tls,
            read_timeout: Duration::from_secs(server.read_timeout_secs),
            store,
            reload: reload.map(|reloader| crate::tenancy::server::Reload {
                table,
                parts: parts.clone(),
                reloader,
            }),
            parts,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then stops accepting, lets the requests in flight
    /// finish (up to 30 s), writes the pending audit rows and closes the database. Expired
    /// audit rows are deleted at start and every hour.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        for part in self.parts.lock().await.iter_mut() {
            part.start();
        }
        let handle: Handle<SocketAddr> = Handle::new();
        let admin_handle: Handle<SocketAddr> = Handle::new();
        {
            let (handle, admin_handle) = (handle.clone(), admin_handle.clone());
            tokio::spawn(async move {
                shutdown.await;
                handle.graceful_shutdown(Some(DRAIN));
                admin_handle.graceful_shutdown(Some(DRAIN));
            });
        }
        if let Some(listener) = self.admin_listener {
            let server = axum_server::from_tcp(listener)?.handle(admin_handle);
            let app = self
                .admin
                .into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!(error = %e, "admin listener failed");
                }
            });
        }
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // Always handled: `systemctl reload` sends SIGHUP, whose default action would end
        // the process at once, without draining, and systemd would not restart it.
        reload_tls_on_sighup(self.tls.clone(), self.reload);
        let served = match self.tls {
            Some((rustls, _)) => {
                let mut server =
                    axum_server::from_tcp_rustls(self.listener, rustls)?.handle(handle);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(self.read_timeout);
                server.serve(app).await.context("serving HTTPS")
            }
            None => {
                let mut server = axum_server::from_tcp(self.listener)?.handle(handle);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(self.read_timeout);
                server.serve(app).await.context("serving HTTP")
            }
        };
        let parts = std::mem::take(&mut *self.parts.lock().await);
        for part in parts {
            part.stop().await;
        }
        served
    }
}

type Listeners = (
    std::net::TcpListener,
    Option<std::net::TcpListener>,
    Option<(RustlsConfig, TlsFiles)>,
);

/// Loads the TLS files and binds the addresses of the whole server.
async fn bind_all(config: &Config) -> anyhow::Result<Listeners> {
    let tls = match &config.tls {
        Some(files) => Some((load_tls(files).await?, files.clone())),
        None => None,
    };
    let listener = bind(&config.listen, "GHISEUL_LISTEN")?;
    let admin_listener = match &config.admin_listen {
        Some(addr) => Some(bind(addr, "GHISEUL_ADMIN_LISTEN")?),
        None => None,
    };
    Ok((listener, admin_listener, tls))
}

fn bind(addr: &str, variable: &str) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr).with_context(|| {
        format!("cannot listen on {addr} (is another server using it? set {variable})")
    })
}

/// Reads the PEM certificate chain and key.
pub async fn load_tls(files: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    install_crypto_provider();
    RustlsConfig::from_pem_file(&files.cert, &files.key).await.with_context(|| {
        format!(
            "cannot load the TLS certificate {} and key {} (both must be PEM files readable by this user)",
            files.cert.display(),
            files.key.display()
        )
    })
}

/// rustls needs one process-wide crypto provider; ours is ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A renewed certificate (e.g. by certbot) is picked up on SIGHUP without a restart, and
/// with several institutions the ones added to the configuration are started.
/// Without native TLS there is nothing to reload, and SIGHUP is only logged.
fn reload_tls_on_sighup(
    tls: Option<(RustlsConfig, TlsFiles)>,
    institutions: Option<crate::tenancy::server::Reload>,
) {
    // Registered before returning, so that no SIGHUP after start-up can end the process.
    #[cfg(unix)]
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    #[cfg(unix)]
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Some(reload) = &institutions {
                reload.run().await;
            }
            let Some((rustls, files)) = &tls else {
                tracing::info!("SIGHUP: no TLS certificate configured, nothing to reload");
                continue;
            };
            match rustls.reload_from_pem_file(&files.cert, &files.key).await {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS reload failed; keeping the previous certificate")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (tls, institutions);
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
