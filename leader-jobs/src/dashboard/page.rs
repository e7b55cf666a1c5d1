//! The page, its script and its style sheet, compiled into the binary so the dashboard works
//! offline and needs no build step.

use axum::extract::OriginalUri;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("dashboard.css");

/// Scripts and styles from this origin only, no inline code: a job name that slipped into the
/// markup could not run as script.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

/// The page. Its `<base>` is the path it was served at, so its script finds `api/…` wherever
/// the application mounted the dashboard (`/`, `/ops`, `/ops/`).
pub(super) async fn index(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    let base = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    let page = PAGE.replace("{{base}}", &escape_attribute(&base));
    asset("text/html; charset=utf-8", page)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT.to_owned())
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE.to_owned())
}

fn asset(content_type: &'static str, body: String) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, POLICY),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `text` made safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_attribute;

    #[test]
    fn a_path_cannot_leave_its_attribute() {
        assert_eq!(
            escape_attribute(r#"/ops/"><script>x</script>'"#),
            "/ops/&quot;&gt;&lt;script&gt;x&lt;/script&gt;&#39;"
        );
    }
}
