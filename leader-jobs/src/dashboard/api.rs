//! The JSON API under `/api`: the cluster's status, a job's history, and the commands.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Dashboard;
use super::token::{Refusal, authorize};
use crate::backend::{PastRun, RECENT_RUNS};
use crate::error::Error;
use crate::registry::RegistryError;
use crate::{ClusterView, Status};

/// The header whose value names a trigger request, so a retried request runs once.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What `GET /api/status` answers.
#[derive(Serialize)]
pub(super) struct StatusBody {
    /// The node that answers.
    node: String,
    /// Whether the commands are allowed (a token is configured).
    control: bool,
    /// The node's clock, for the page to show ages and countdowns without trusting the
    /// browser's.
    now: DateTime<Utc>,
    /// The cluster as the ledgers hold it.
    cluster: ClusterView,
    /// This node's own view.
    local: Status,
}

pub(super) async fn status(State(dashboard): State<Arc<Dashboard>>) -> Response {
    let handle = &dashboard.handle;
    match handle.cluster().await {
        Ok(cluster) => Json(StatusBody {
            node: handle.node_id().to_owned(),
            control: dashboard.allows_commands(),
            now: Utc::now(),
            cluster,
            local: handle.status(),
        })
        .into_response(),
        Err(error) => failure(&error),
    }
}

#[derive(Deserialize)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

pub(super) async fn history(
    State(dashboard): State<Arc<Dashboard>>,
    Path(job): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(RECENT_RUNS);
    match dashboard.handle.history(&job, limit).await {
        Ok(runs) => Json::<Vec<PastRun>>(runs).into_response(),
        Err(error) => failure(&error),
    }
}

#[derive(Serialize)]
struct Triggered {
    job: String,
    request: String,
}

pub(super) async fn trigger(
    State(dashboard): State<Arc<Dashboard>>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(dashboard.token.as_ref(), &headers) {
        return refused(&refusal);
    }
    let handle = &dashboard.handle;
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.is_empty());
    let sent = match key {
        Some(key) => handle
            .trigger_request(&job, key)
            .await
            .map(|()| key.to_owned()),
        None => handle.trigger(&job).await,
    };
    match sent {
        Ok(request) => (StatusCode::ACCEPTED, Json(Triggered { job, request })).into_response(),
        Err(error) => failure(&error),
    }
}

#[derive(Serialize)]
struct PauseState {
    job: String,
    paused: bool,
}

pub(super) async fn pause(
    State(dashboard): State<Arc<Dashboard>>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(&dashboard, job, &headers, true).await
}

pub(super) async fn resume(
    State(dashboard): State<Arc<Dashboard>>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(&dashboard, job, &headers, false).await
}

async fn set_paused(
    dashboard: &Dashboard,
    job: String,
    headers: &HeaderMap,
    paused: bool,
) -> Response {
    if let Err(refusal) = authorize(dashboard.token.as_ref(), headers) {
        return refused(&refusal);
    }
    let handle = &dashboard.handle;
    let sent = if paused {
        handle.pause(&job).await
    } else {
        handle.resume(&job).await
    };
    match sent {
        Ok(()) => Json(PauseState { job, paused }).into_response(),
        Err(error) => failure(&error),
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

fn error_body(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

/// A refused command. The token itself is never part of the answer.
fn refused(refusal: &Refusal) -> Response {
    match refusal {
        Refusal::ReadOnly => error_body(
            StatusCode::FORBIDDEN,
            "this dashboard is read-only: the application did not configure a token \
             (`dashboard::router(handle).with_token(..)`)"
                .to_owned(),
        ),
        Refusal::Missing => {
            let mut response = error_body(
                StatusCode::UNAUTHORIZED,
                "send the dashboard's token as `Authorization: Bearer <token>`".to_owned(),
            );
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            response
        }
        Refusal::Wrong => error_body(
            StatusCode::FORBIDDEN,
            "the token is not the dashboard's".to_owned(),
        ),
    }
}

/// A call of the handle that failed: an unknown job is the caller's mistake, anything else (the
/// ledger out of reach) a service that is unavailable for now.
fn failure(error: &Error) -> Response {
    let status = match error {
        Error::Registry(registry) if matches!(**registry, RegistryError::UnknownJob { .. }) => {
            StatusCode::NOT_FOUND
        }
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    error_body(status, error.to_string())
}
