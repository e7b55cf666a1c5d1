//! The bearer token that allows the dashboard's commands: compared in constant time, never shown.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq as _;

/// A configured token. `Debug` hides it, so a logged configuration does not leak it.
#[derive(Clone)]
pub(super) struct Token(Box<[u8]>);

/// Why a command was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No token is configured: the dashboard is read-only.
    ReadOnly,
    /// The request carries no bearer token.
    Missing,
    /// The request's token is not the configured one.
    Wrong,
}

impl Token {
    /// The token, or `None` when it is empty.
    pub(super) fn new(token: String) -> Option<Self> {
        (!token.is_empty()).then(|| Self(token.into_bytes().into_boxed_slice()))
    }

    /// Whether `headers` carry this token. The comparison takes the same time wherever the
    /// tokens differ (only a different length returns sooner), so timing does not tell an
    /// attacker how much of a guess was right.
    fn admits(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let offered = bearer(headers).ok_or(Refusal::Missing)?;
        if bool::from(offered.as_bytes().ct_eq(&self.0)) {
            Ok(())
        } else {
            Err(Refusal::Wrong)
        }
    }
}

/// Whether a request with `headers` may run a command under `token`.
pub(super) fn authorize(token: Option<&Token>, headers: &HeaderMap) -> Result<(), Refusal> {
    token.ok_or(Refusal::ReadOnly)?.admits(headers)
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_configured_bearer_token_is_admitted() {
        let token = Token::new("s3cret".to_owned());
        let token = token.as_ref();
        assert_eq!(
            authorize(token, &with_authorization("Bearer s3cret")),
            Ok(())
        );
        assert_eq!(
            authorize(token, &with_authorization("bearer s3cret")),
            Ok(())
        );
        assert_eq!(
            authorize(token, &with_authorization("Bearer s3cres")),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            authorize(token, &with_authorization("Bearer s3cret2")),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            authorize(token, &with_authorization("Basic s3cret")),
            Err(Refusal::Missing)
        );
        assert_eq!(authorize(token, &HeaderMap::new()), Err(Refusal::Missing));
    }

    #[test]
    fn without_a_token_nothing_is_admitted() {
        assert!(Token::new(String::new()).is_none());
        assert_eq!(
            authorize(None, &with_authorization("Bearer anything")),
            Err(Refusal::ReadOnly)
        );
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let token = Token::new("s3cret".to_owned()).unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
