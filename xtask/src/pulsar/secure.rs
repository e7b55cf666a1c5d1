//! A secured broker for the tests of token authentication, authorization and TLS: its signing
//! key, super-user token and certificates are generated into the broker's directory, and its
//! configuration turns on the token provider, authorization and TLS ports beside the plain ones.
//!
//! Plain ports stay open because the standalone's own admin client uses them; clients of the
//! tests choose plain or TLS by URL.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use ring::rand::{SecureRandom as _, SystemRandom};

use super::layout::BrokerDir;
use super::{BrokerSettings, ConfigOverride};

/// Ports of the secured broker, apart from the default broker's 6650 / 8080.
const SERVICE_PORT: u16 = 6750;
const SERVICE_TLS_PORT: u16 = 6751;
const HTTP_PORT: u16 = 8750;
const HTTPS_PORT: u16 = 8751;

/// The broker's super-user role; `admin.token` is minted for it.
const ADMIN_ROLE: &str = "admin";

/// The role of clients that present no token.
const ANONYMOUS_ROLE: &str = "anonymous";

/// How often the broker re-checks the tokens of open connections (Pulsar's default is 60 s):
/// short, so tests of expiring and rotated tokens see the broker act within seconds.
const AUTH_REFRESH_CHECK_SECONDS: u64 = 2;

/// The variables that tell the tests where the secured broker is: its plain and TLS service
/// URLs, its plain and HTTPS admin URLs, and the directory holding `secret.key`,
/// `admin.token` and `ca.pem`.
pub(crate) const ENV_VARS: [&str; 5] = [
    "PULSAR_SECURE_URL",
    "PULSAR_SECURE_TLS_URL",
    "PULSAR_SECURE_ADMIN_URL",
    "PULSAR_SECURE_ADMIN_TLS_URL",
    "PULSAR_SECURE_DIR",
];

/// `target/pulsar-secure` of this workspace.
pub(crate) fn default_dir() -> PathBuf {
    super::default_dir().with_file_name("pulsar-secure")
}

/// The values of [`ENV_VARS`] for the secured broker of `dir`, in that order.
pub(crate) fn test_env(dir: &Path) -> anyhow::Result<Vec<(&'static str, OsString)>> {
    let dir =
        std::path::absolute(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    let values = [
        OsString::from(format!("pulsar://127.0.0.1:{SERVICE_PORT}")),
        OsString::from(format!("pulsar+ssl://127.0.0.1:{SERVICE_TLS_PORT}")),
        OsString::from(format!("http://127.0.0.1:{HTTP_PORT}")),
        OsString::from(format!("https://127.0.0.1:{HTTPS_PORT}")),
        dir.into_os_string(),
    ];
    Ok(ENV_VARS.into_iter().zip(values).collect())
}

/// `cargo xtask pulsar start-secure`: starts (or finds) the secured broker of `dir` and prints
/// the variables that point plain `cargo test` runs at it.
pub(crate) fn start(dir: &Path, ready_timeout: Duration) -> anyhow::Result<()> {
    let settings = settings(dir, ready_timeout)?;
    super::ensure_running(&settings)?;
    println!("Secured broker ready; for `cargo test` outside `cargo xtask test`:");
    for (var, value) in test_env(dir)? {
        println!("  export {var}={}", value.to_string_lossy());
    }
    println!(
        "  stop with: cargo xtask pulsar stop --dir {}",
        dir.display()
    );
    Ok(())
}

/// The secured broker's settings, generating its key, token and certificates into `dir` unless
/// they are already there (a running broker keeps using the ones it started with).
pub(crate) fn settings(dir: &Path, ready_timeout: Duration) -> anyhow::Result<BrokerSettings> {
    let layout =
        BrokerDir::new(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    fs::create_dir_all(layout.root())
        .with_context(|| format!("could not create {}", layout.root().display()))?;
    ensure_materials(&layout)?;
    let secret = read(&layout.secret_key())?;
    let admin_token = String::from_utf8(read(&layout.admin_token())?)
        .with_context(|| format!("{} is not text", layout.admin_token().display()))?;
    let path = |p: PathBuf| p.display().to_string();
    let overrides = [
        ("authenticationEnabled", "true".to_owned()),
        (
            "authenticationProviders",
            "org.apache.pulsar.broker.authentication.AuthenticationProviderToken".to_owned(),
        ),
        (
            "tokenSecretKey",
            format!("data:;base64,{}", STANDARD.encode(&secret)),
        ),
        // Clients without a token get this role, which has no permission unless a test grants
        // one: TLS without a token can be tested, and so can a role that lacks permissions.
        ("anonymousUserRole", ANONYMOUS_ROLE.to_owned()),
        ("authorizationEnabled", "true".to_owned()),
        ("superUserRoles", ADMIN_ROLE.to_owned()),
        // Without its own credentials the standalone cannot create `public/default`.
        (
            "brokerClientAuthenticationPlugin",
            "org.apache.pulsar.client.impl.auth.AuthenticationToken".to_owned(),
        ),
        (
            "brokerClientAuthenticationParameters",
            format!("token:{}", admin_token.trim()),
        ),
        (
            "authenticationRefreshCheckSeconds",
            AUTH_REFRESH_CHECK_SECONDS.to_string(),
        ),
        ("brokerServicePortTls", SERVICE_TLS_PORT.to_string()),
        ("webServicePortTls", HTTPS_PORT.to_string()),
        ("tlsCertificateFilePath", path(layout.server_cert())),
        ("tlsKeyFilePath", path(layout.server_key())),
        ("tlsTrustCertsFilePath", path(layout.ca_cert())),
    ]
    .into_iter()
    .map(|(key, value)| ConfigOverride::new(key, value))
    .collect();
    Ok(BrokerSettings {
        dir: dir.to_owned(),
        service_port: SERVICE_PORT,
        http_port: HTTP_PORT,
        overrides,
        ready_timeout,
        maven: super::MavenOptions::default(),
    })
}

/// Writes the signing key, the admin token and the certificates, unless all are there.
fn ensure_materials(dir: &BrokerDir) -> anyhow::Result<()> {
    let files = [
        dir.secret_key(),
        dir.admin_token(),
        dir.ca_cert(),
        dir.untrusted_ca_cert(),
        dir.server_cert(),
        dir.server_key(),
    ];
    if files.iter().all(|file| file.is_file()) {
        return Ok(());
    }
    let mut secret = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    write(&dir.secret_key(), &secret)?;
    write(
        &dir.admin_token(),
        mint_token(&secret, ADMIN_ROLE).as_bytes(),
    )?;

    let (ca_pem, ca) = certificate_authority("leader-jobs test CA")?;
    write(&dir.ca_cert(), ca_pem.as_bytes())?;
    let (untrusted_pem, _) = certificate_authority("leader-jobs untrusted test CA")?;
    write(&dir.untrusted_ca_cert(), untrusted_pem.as_bytes())?;

    // Valid for 127.0.0.1 only: tests reach the same broker as `localhost` to see a hostname
    // mismatch.
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .context("could not describe the broker's certificate")?;
    params
        .distinguished_name
        .push(DnType::CommonName, "leader-jobs test broker");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().context("could not generate the broker's key")?;
    let cert = params
        .signed_by(&key, &ca)
        .context("could not sign the broker's certificate")?;
    write(&dir.server_cert(), cert.pem().as_bytes())?;
    write(&dir.server_key(), key.serialize_pem().as_bytes())?;
    Ok(())
}

/// A self-signed CA: its certificate (PEM) and what signs with it.
fn certificate_authority(name: &str) -> anyhow::Result<(String, Issuer<'static, KeyPair>)> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).context("could not describe a CA")?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().context("could not generate a CA key")?;
    let cert = params
        .self_signed(&key)
        .context("could not self-sign a CA")?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

/// An HS256 JWT with claim `sub` = `role`, as Pulsar's token provider checks it: signed with
/// the raw key bytes the broker's `tokenSecretKey` holds, no expiry.
fn mint_token(secret: &[u8], role: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{role}"}}"#));
    let signing_input = format!("{header}.{claims}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let signature = ring::hmac::sign(&key, signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("could not read {}", path.display()))
}

fn write(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hs256_jwts_naming_the_role() {
        let token = mint_token(b"key", "admin");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        assert_eq!(claims, br#"{"sub":"admin"}"#);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"key");
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(ring::hmac::verify(&key, signed.as_bytes(), &signature).is_ok());
        assert!(ring::hmac::verify(&key, b"other", &signature).is_err());
    }

    #[test]
    fn materials_are_generated_once() {
        let dir = std::env::temp_dir().join(format!("xtask-secure-{}", std::process::id()));
        let settings = settings(&dir, Duration::from_secs(1)).unwrap();
        let layout = BrokerDir::new(&dir).unwrap();
        let key = fs::read(layout.secret_key()).unwrap();
        assert_eq!(key.len(), 32);
        let again = super::settings(&dir, Duration::from_secs(1)).unwrap();
        assert_eq!(fs::read(layout.secret_key()).unwrap(), key);
        assert_eq!(
            super::super::config::broker_config(&settings),
            super::super::config::broker_config(&again)
        );
        let server = fs::read_to_string(layout.server_cert()).unwrap();
        assert!(server.starts_with("-----BEGIN CERTIFICATE-----"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
