//! A TLS front for the fixture servers, with a certificate from a private
//! certificate authority made up on the spot: how tests check that Gatehouse
//! trusts the operating system's certificate store (a company CA installed
//! there, or named by `SSL_CERT_FILE`) and refuses unknown issuers.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Terminates TLS on 127.0.0.1 and relays each connection to a plain
/// backend. Its certificate covers `localhost` and `127.0.0.1`.
pub struct TlsFront {
    addr: SocketAddr,
    ca_pem: String,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Starts in front of the plain HTTP server at `backend`.
    pub async fn start(backend: SocketAddr) -> std::io::Result<Self> {
        let other = |e: rcgen::Error| std::io::Error::other(e.to_string());
        let ca_key = KeyPair::generate().map_err(other)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Gatehouse test CA");
        let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(other)?;
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(other)?;
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .map_err(other)?;

        let chain = vec![
            CertificateDer::from(server_cert.der().to_vec()),
            CertificateDer::from(ca_cert.der().to_vec()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(std::io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            addr,
            ca_pem: ca_cert.pem(),
            task,
        })
    }

    /// The private CA's certificate, PEM-encoded.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
