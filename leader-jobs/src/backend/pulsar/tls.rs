//! Which certificate authorities the client trusts for `pulsar+ssl://` and `https://`.
//!
//! The `pulsar` crate (rustls build) always trusts the Mozilla root program compiled into
//! `webpki-roots` and verifies the host name; it cannot be told otherwise. On top of those
//! roots leader-jobs adds a CA file and, when asked, the operating system's trust store, and
//! gives the admin client and the connection diagnosis exactly the same set.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why the configured trust could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file cannot be read or parsed.
    #[error(
        "cannot read the CA file {path}: {reason}; give a PEM file holding the certificate of the CA that signed the broker's certificate"
    )]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system's trust store yielded no certificate.
    #[error(
        "the operating system's trust store has no usable certificate ({reason}); install the CA certificates package, or give the CA with PulsarConfig::tls_ca_file"
    )]
    PlatformRoots {
        /// What the loader reported.
        reason: String,
    },
    /// The CA certificate was rejected as a trust anchor.
    #[error("cannot use {origin} as a trust anchor: {reason}")]
    Anchor {
        /// Which certificate.
        origin: String,
        /// Why.
        reason: String,
    },
}

/// The certificate authorities trusted beyond the built-in Mozilla roots.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsTrust {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) platform_roots: bool,
}

impl TlsTrust {
    /// The extra CA certificates, read from their files now.
    pub(crate) fn extra_roots(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let mut roots = Vec::new();
        if let Some(path) = &self.ca_file {
            roots.extend(read_ca_file(path)?);
        }
        if self.platform_roots {
            let loaded = rustls_native_certs::load_native_certs();
            if loaded.certs.is_empty() {
                let reason = loaded
                    .errors
                    .first()
                    .map_or_else(|| "it is empty".to_owned(), ToString::to_string);
                return Err(TlsError::PlatformRoots { reason });
            }
            roots.extend(loaded.certs);
        }
        Ok(roots)
    }

    /// The extra roots as the PEM bundle the `pulsar` client takes, or `None` if there are none.
    pub(crate) fn extra_roots_pem(&self) -> Result<Option<Vec<u8>>, TlsError> {
        let roots = self.extra_roots()?;
        if roots.is_empty() {
            return Ok(None);
        }
        let mut pem = String::new();
        for root in &roots {
            let body = STANDARD.encode(root.as_ref());
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in body.as_bytes().chunks(64) {
                // Base64 output is ASCII, and writing to a String cannot fail.
                let _ = writeln!(pem, "{}", String::from_utf8_lossy(line));
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        Ok(Some(pem.into_bytes()))
    }

    /// A rustls client configuration that trusts what the `pulsar` client trusts.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let mut store = rustls::RootCertStore::empty();
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in self.extra_roots()? {
            store.add(root).map_err(|error| TlsError::Anchor {
                origin: self.describe(),
                reason: error.to_string(),
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Anchor {
                origin: self.describe(),
                reason: error.to_string(),
            })?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(config)
    }

    /// What is trusted, for messages.
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec!["the built-in Mozilla roots".to_owned()];
        if self.platform_roots {
            parts.push("the operating system's trust store".into());
        }
        if let Some(path) = &self.ca_file {
            parts.push(format!("the CA file {}", path.display()));
        }
        parts.join(" and ")
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |reason: String| TlsError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|error| invalid(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("it holds no PEM certificate".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let path = std::env::temp_dir().join(format!("no-ca-{}.pem", std::process::id()));
        let trust = TlsTrust {
            ca_file: Some(path.clone()),
            platform_roots: false,
        };
        let missing = trust.extra_roots().unwrap_err().to_string();
        assert!(missing.contains(&path.display().to_string()), "{missing}");
        std::fs::write(&path, "not a certificate").unwrap();
        let empty = trust.extra_roots().unwrap_err().to_string();
        assert!(empty.contains("no PEM certificate"), "{empty}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn without_extra_roots_the_client_gets_no_bundle() {
        let trust = TlsTrust::default();
        assert_eq!(trust.extra_roots_pem().unwrap(), None);
        assert!(trust.client_config().is_ok());
        assert_eq!(trust.describe(), "the built-in Mozilla roots");
    }
}
