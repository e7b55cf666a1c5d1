//! A web dashboard for operators (feature `dashboard`): per lock its leader, term and how long it
//! has led; per job its schedule in words, next tick, pause state and latest runs; a live
//! timeline of the last minutes; and, when the application configures a token, the buttons to
//! run a job now, pause and resume it. Any node serves it, from the ledgers (as
//! [`Handle::cluster`]), so every node shows the same cluster.
//!
//! One page with its own small script and style sheet, compiled into the binary: no build step,
//! no CDN, it works offline. Beside it a JSON API under `api/`:
//!
//! | route | what |
//! |---|---|
//! | `GET api/status` | `{ node, control, now, cluster: ClusterView, local: Status }` |
//! | `GET api/jobs/{job}/history?limit=N` | the job's latest runs, newest first ([`PastRun`](crate::backend::PastRun)) |
//! | `POST api/jobs/{job}/trigger` | run it now: `202 { "request": id }`; an `Idempotency-Key` header makes a retried request run once |
//! | `POST api/jobs/{job}/pause` | pause it cluster-wide: `200 { "job", "paused": true }` |
//! | `POST api/jobs/{job}/resume` | resume it: `200 { "job", "paused": false }` |
//!
//! Errors are `{ "error": "…" }`: 404 for an unknown job (naming the known ones), 503 when the
//! ledger cannot be reached (nothing was changed), 401 / 403 for the token.
//!
//! # Security
//!
//! Without [`Dashboard::with_token`] the dashboard is read-only: every `POST` is refused with 403
//! and the page shows no buttons. With a token, each `POST` needs `Authorization: Bearer <token>`
//! (401 without one, 403 for a wrong one), compared in constant time; the token is never logged
//! or shown by `Debug`. There are no cookies, so no request forgery from other sites; job names
//! reach the page as text, never as markup, and the page forbids scripts from elsewhere
//! (`Content-Security-Policy`). Serve it on a loopback address or behind the application's own
//! access control: the status it shows names nodes and jobs.
//!
//! # Mounting it
//!
//! ```no_run
//! # async fn example(handle: leader_jobs::Handle) -> std::io::Result<()> {
//! use leader_jobs::dashboard;
//!
//! // Alone, on an address of its own, until the runtime shuts down:
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! tokio::spawn(dashboard::router(handle.clone()).serve(listener));
//!
//! // Or inside the application's own axum server, under a path (the page is then at `/ops`;
//! // axum's `nest` leaves `/ops/` to the application):
//! let ops = std::env::var("DASHBOARD_TOKEN").unwrap_or_default();
//! let app: axum::Router = axum::Router::new()
//!     .nest("/ops", dashboard::router(handle).with_token(ops).into_router());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod api;
mod page;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use self::token::Token;
use crate::Handle;

/// The dashboard of one node: build it with [`router`], then mount it
/// ([`into_router`](Self::into_router)) or [`serve`](Self::serve) it.
#[derive(Clone, Debug)]
pub struct Dashboard {
    handle: Handle,
    token: Option<Token>,
}

/// The dashboard of the node behind `handle`, read-only until
/// [`with_token`](Dashboard::with_token).
pub fn router(handle: Handle) -> Dashboard {
    Dashboard {
        handle,
        token: None,
    }
}

impl Dashboard {
    /// Allows the commands (run now, pause, resume) to requests that carry
    /// `Authorization: Bearer <token>`. An empty token leaves the dashboard read-only: an unset
    /// environment variable must not open it to everyone.
    pub fn with_token(self, token: impl Into<String>) -> Self {
        Self {
            token: Token::new(token.into()),
            ..self
        }
    }

    /// Whether the commands are allowed (a token is configured).
    pub fn allows_commands(&self) -> bool {
        self.token.is_some()
    }

    /// The routes: the page at `/`, its script and style, and the API under `/api`.
    pub fn into_router(self) -> Router {
        let state = Arc::new(self);
        Router::new()
            .route("/", get(page::index))
            .route("/dashboard.js", get(page::script))
            .route("/dashboard.css", get(page::style))
            .route("/api/status", get(api::status))
            .route("/api/jobs/{job}/history", get(api::history))
            .route("/api/jobs/{job}/trigger", post(api::trigger))
            .route("/api/jobs/{job}/pause", post(api::pause))
            .route("/api/jobs/{job}/resume", post(api::resume))
            .with_state(state)
    }

    /// Serves the dashboard on `listener` until the runtime shuts down.
    ///
    /// # Errors
    ///
    /// When the listener fails to accept connections.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let handle = self.handle.clone();
        axum::serve(listener, self.into_router())
            .with_graceful_shutdown(async move { handle.shutting_down().await })
            .await
    }
}

impl From<Dashboard> for Router {
    fn from(dashboard: Dashboard) -> Self {
        dashboard.into_router()
    }
}
