//! Mutual TLS on the Raft transport (rustls, TLS 1.3 only). Every member
//! and every operator holds a certificate of the cluster's own CA; a
//! connection is served only once both ends have shown one, before any
//! frame is read. Who may do what is in the names a certificate is valid
//! for: `member-N.cluster.reflex` (and `members.cluster.reflex`) for
//! member N, `operator.cluster.reflex` for `reflex cluster ...`.
//!
//! The files are read again when they change (checked on every new
//! connection), so certificates rotate without a restart: connections
//! already open keep the certificates they were made with.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use storage::NodeId;
use tokio::net::TcpStream;
use tracing::warn;

/// The name every member's certificate is valid for (what an operator's
/// tools check when they do not know the member id behind an address).
pub const MEMBERS_NAME: &str = "members.cluster.reflex";
/// The name an operator's certificate is valid for.
pub const OPERATOR_NAME: &str = "operator.cluster.reflex";

/// The name member `id`'s certificate is valid for.
pub fn member_name(id: NodeId) -> String {
    format!("member-{id}.cluster.reflex")
}

/// Where a member's (or an operator's) CA, certificate and key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The cluster CA's certificate (PEM; several during a CA rotation).
    pub ca: PathBuf,
    /// This end's certificate chain (PEM).
    pub certificate: PathBuf,
    /// This end's private key (PEM, PKCS#8 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// The files `reflex cluster certs` writes in `dir` for `name`
    /// (`member-N` or `operator`).
    pub fn in_dir(dir: &Path, name: &str) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            certificate: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        }
    }

    fn all(&self) -> [&Path; 3] {
        [&self.ca, &self.certificate, &self.key]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: not a PEM {1}: {2}")]
    Pem(PathBuf, &'static str, String),
    #[error("{0}: holds no certificate")]
    NoCertificate(PathBuf),
    #[error("{0}: {1}")]
    Rustls(PathBuf, rustls::Error),
    #[error("the CA in {0}: {1}")]
    Verifier(PathBuf, String),
    #[error("cannot make a certificate: {0}")]
    Make(#[from] rcgen::Error),
    #[error("{0} exists already: remove it to make a new one")]
    Exists(PathBuf),
}

/// The TLS side of one member's (or operator's) connections.
pub struct Tls {
    files: TlsFiles,
    loaded: Mutex<Loaded>,
}

struct Loaded {
    stamp: Vec<Option<(SystemTime, u64)>>,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

/// ring's algorithms. rustls deprecates them for lacking a post-quantum
/// key exchange; aws-lc-rs has one but builds a C library for minutes on
/// every clean build, and the link between members is a LAN the operator
/// runs: kept until rustls's ring provider gains one.
/// Every TLS end here uses it (`reflex ctl`'s client too).
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// When each file last changed, to see that one did.
fn stamp(files: &TlsFiles) -> Vec<Option<(SystemTime, u64)>> {
    files
        .all()
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read(path.to_path_buf(), e))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let octets = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&octets)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(path.to_path_buf(), "certificate", e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?)
        .map_err(|e| TlsError::Pem(path.to_path_buf(), "private key", e.to_string()))
}

fn load(files: &TlsFiles) -> Result<Loaded, TlsError> {
    let stamp = stamp(files);
    let mut roots = RootCertStore::empty();
    for ca in certificates(&files.ca)? {
        roots
            .add(ca)
            .map_err(|e| TlsError::Rustls(files.ca.clone(), e))?;
    }
    let roots = Arc::new(roots);
    let chain = certificates(&files.certificate)?;
    let key = private_key(&files.key)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), crypto_provider())
        .build()
        .map_err(|e| TlsError::Verifier(files.ca.clone(), e.to_string()))?;
    let rustls_error = |p: &Path| {
        let p = p.to_path_buf();
        move |e| TlsError::Rustls(p, e)
    };
    let server = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(rustls_error(&files.certificate))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(rustls_error(&files.key))?;
    let client = ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(rustls_error(&files.certificate))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(rustls_error(&files.key))?;
    Ok(Loaded {
        stamp,
        server: Arc::new(server),
        client: Arc::new(client),
    })
}

/// A TLS 1.3 server configuration that asks for no client certificate
/// (the HTTP API's, whose clients carry a bearer token instead).
pub fn server_only(certificate: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(certificate)?;
    let key_der = private_key(key)?;
    let config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Rustls(certificate.to_path_buf(), e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Rustls(key.to_path_buf(), e))?;
    Ok(Arc::new(config))
}

impl Tls {
    /// Reads the CA, certificate and key (an error names the file).
    pub fn load(files: TlsFiles) -> Result<Arc<Tls>, TlsError> {
        let loaded = load(&files)?;
        Ok(Arc::new(Tls {
            files,
            loaded: Mutex::new(loaded),
        }))
    }

    /// The configurations, read again first if a file changed (a file
    /// that does not load is logged and the previous ones kept).
    fn current(&self) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if stamp(&self.files) != loaded.stamp {
            match load(&self.files) {
                Ok(l) => {
                    tracing::info!(certificate = %self.files.certificate.display(), "TLS files read again");
                    *loaded = l;
                }
                Err(e) => {
                    warn!(error = %e, "TLS files changed but do not load: keeping the previous ones");
                    loaded.stamp = stamp(&self.files);
                }
            }
        }
        (loaded.server.clone(), loaded.client.clone())
    }

    /// TLS over `stream` to member `target` (its certificate must name
    /// it), or to any member (`None`: an operator's tool).
    pub async fn connect(
        &self,
        stream: TcpStream,
        target: Option<NodeId>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = target.map_or_else(|| MEMBERS_NAME.to_string(), member_name);
        let name = ServerName::try_from(name)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let (_, client) = self.current();
        tokio_rustls::TlsConnector::from(client)
            .connect(name, stream)
            .await
    }

    /// TLS over an accepted `stream`; the other end must show a
    /// certificate of the cluster CA.
    pub async fn accept(
        &self,
        stream: TcpStream,
    ) -> std::io::Result<(tokio_rustls::server::TlsStream<TcpStream>, Peer)> {
        let (server, _) = self.current();
        let stream = tokio_rustls::TlsAcceptor::from(server)
            .accept(stream)
            .await?;
        let cert = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .cloned()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "no client certificate",
                )
            })?;
        Ok((stream, Peer::new(cert)))
    }
}

/// The other end of an accepted connection, as its certificate names it.
#[derive(Debug)]
pub struct Peer {
    cert: CertificateDer<'static>,
    /// A member id its certificate was found to name.
    member: Option<NodeId>,
    a_member: bool,
    operator: bool,
}

impl Peer {
    fn new(cert: CertificateDer<'static>) -> Peer {
        let mut p = Peer {
            cert,
            member: None,
            a_member: false,
            operator: false,
        };
        p.a_member = p.names(MEMBERS_NAME);
        p.operator = p.names(OPERATOR_NAME);
        p
    }

    fn names(&self, name: &str) -> bool {
        let (Ok(ee), Ok(name)) = (
            webpki::EndEntityCert::try_from(&self.cert),
            ServerName::try_from(name),
        ) else {
            return false;
        };
        ee.verify_is_valid_for_subject_name(&name).is_ok()
    }

    /// A member's certificate (any member).
    pub fn is_a_member(&self) -> bool {
        self.a_member
    }

    /// An operator's certificate.
    pub fn is_operator(&self) -> bool {
        self.operator
    }

    /// Member `id`'s certificate.
    pub fn is_member(&mut self, id: NodeId) -> bool {
        if self.member == Some(id) {
            return true;
        }
        let named = self.a_member && self.names(&member_name(id));
        if named {
            self.member = Some(id);
        }
        named
    }

    /// What the certificate names, for the log.
    pub fn describe(&self) -> String {
        match (self.member, self.a_member, self.operator) {
            (Some(id), _, _) => member_name(id),
            (None, true, _) => MEMBERS_NAME.to_string(),
            (None, false, true) => OPERATOR_NAME.to_string(),
            _ => "a certificate of the CA naming no member or operator".to_string(),
        }
    }
}

mod make;
pub use make::make_certificates;
