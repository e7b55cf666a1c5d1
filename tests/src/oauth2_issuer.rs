//! A minimal OAuth2 issuer on 127.0.0.1 for the tests: OpenID Connect discovery and the
//! client-credentials grant, handing out access tokens the secured broker accepts (HS256 JWTs
//! minted with its key). Only the broker's side of the exchange is real; this stands in for an
//! identity provider, which the test machines do not have.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::secure::{SecureBroker, mint};

/// The issuer; it stops when dropped.
#[derive(Debug)]
pub struct TestIssuer {
    /// The issuer URL (`http://127.0.0.1:PORT/`).
    pub url: String,
    issued: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// Who may get tokens, and what they get.
#[derive(Clone, Debug)]
pub struct Client {
    /// `client_id` the issuer accepts.
    pub id: String,
    /// `client_secret` the issuer accepts (letters and digits only).
    pub secret: String,
    /// The Pulsar role the tokens name (`sub`).
    pub role: String,
    /// Lifetime of each token (`exp` and `expires_in`).
    pub lifetime: Duration,
}

impl TestIssuer {
    /// Starts the issuer on a free port, minting with the broker's key.
    pub fn start(key: Vec<u8>, client: Client) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/", listener.local_addr()?);
        let issued = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (issued_by_thread, stop_for_thread, base) =
            (Arc::clone(&issued), Arc::clone(&stop), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_for_thread.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A broken exchange only fails the client's request, which the test sees.
                    let _ = serve(stream, &base, &key, &client, &issued_by_thread);
                }
            }
        });
        Ok(Self { url, issued, stop })
    }

    /// How many access tokens the issuer handed out.
    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let address = self.url.trim_start_matches("http://").trim_end_matches('/');
        let _ = TcpStream::connect(address);
    }
}

fn serve(
    stream: TcpStream,
    base: &str,
    key: &[u8],
    client: &Client,
    issued: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
    let (status, json) = if path.ends_with("/.well-known/openid-configuration") {
        (
            "200 OK",
            format!(
                r#"{{"issuer":"{base}","authorization_endpoint":"{base}authorize","token_endpoint":"{base}token","jwks_uri":"{base}jwks","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}}"#
            ),
        )
    } else if path.ends_with("/jwks") {
        // Discovery fetches the signing keys too; client credentials need none.
        ("200 OK", r#"{"keys":[]}"#.to_owned())
    } else if path.ends_with("/token") {
        let form: Vec<(&str, &str)> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let has = |key: &str, value: &str| form.contains(&(key, value));
        if has("grant_type", "client_credentials")
            && has("client_id", &client.id)
            && has("client_secret", &client.secret)
        {
            issued.fetch_add(1, Ordering::SeqCst);
            let expires = SecureBroker::epoch_in(client.lifetime);
            let token = mint(key, &client.role, Some(expires));
            (
                "200 OK",
                format!(
                    r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{}}}"#,
                    client.lifetime.as_secs()
                ),
            )
        } else {
            (
                "401 Unauthorized",
                r#"{"error":"invalid_client"}"#.to_owned(),
            )
        }
    } else {
        ("404 Not Found", r#"{"error":"not_found"}"#.to_owned())
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )?;
    stream.flush()
}
