//! The dashboard's routes over real HTTP on loopback: status, history, the commands and their
//! token, a hostile job name, and the page mounted under a path. One node on the in-process
//! backend: these test the dashboard, not the election (the browser test runs on the broker).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::time::Duration;

use leader_jobs::{Handle, Job, JobContext, Runtime, dashboard};
use leader_jobs_tests::wait;
use serde_json::Value;

/// A job name that is markup, to show it never becomes markup.
const HOSTILE: &str = r#"<img src=x onerror="document.title='pwned'">"#;
const TOKEN: &str = "let-me-in";

struct Served {
    handle: Handle,
    base: String,
}

async fn serve(token: Option<&str>, mount: &str) -> Served {
    let quiet = Job::new("nightly", "0 3 * * *", |_ctx: JobContext| async {}).lock("ops");
    // A lock name is a topic name, so only job names can be hostile.
    let hostile = Job::new(HOSTILE, "0 0 1 1 *", |_ctx: JobContext| async {}).lock("ops");
    let handle = Runtime::builder()
        .node_id("node-a")
        .jobs([quiet, hostile])
        .build()
        .unwrap()
        .start()
        .unwrap();
    let mut board = dashboard::router(handle.clone());
    if let Some(token) = token {
        board = board.with_token(token);
    }
    let app = if mount.is_empty() {
        board.into_router()
    } else {
        axum::Router::new().nest(mount, board.into_router())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let served = Served {
        handle,
        base: format!("http://{address}{mount}"),
    };
    wait::until("the node leads", Duration::from_secs(10), || {
        served.handle.status().locks[0].leading
    })
    .await;
    served
}

/// An answer: status, headers we look at, body.
struct Answer {
    status: u16,
    authenticate: Option<String>,
    policy: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn call(method: &str, url: String, headers: Vec<(&'static str, String)>) -> Answer {
    let method = method.to_owned();
    tokio::task::spawn_blocking(move || {
        let agent = leader_jobs_tests::http_agent(Duration::from_secs(10));
        let mut request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(&url);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let mut response = agent.run(request.body(()).unwrap()).unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        Answer {
            status: response.status().as_u16(),
            authenticate: header("www-authenticate"),
            policy: header("content-security-policy"),
            body: response.body_mut().read_to_string().unwrap(),
        }
    })
    .await
    .unwrap()
}

async fn paused(handle: &Handle, job: &str) -> bool {
    handle.cluster().await.unwrap().job(job).unwrap().paused
}

fn job_url(base: &str, job: &str, what: &str) -> String {
    let encoded: String = job
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{base}/api/jobs/{encoded}/{what}")
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_leader_and_each_job_in_words() {
    let served = serve(None, "").await;
    let answer = call("GET", format!("{}/api/status", served.base), vec![]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let status = answer.json();
    assert_eq!(status["node"], "node-a");
    assert_eq!(status["control"], false);
    let lock = &status["cluster"]["locks"][0];
    assert_eq!(lock["leader"], "node-a");
    assert!(lock["term"].as_u64().unwrap() >= 1);
    assert!(lock["since"].is_string());
    let nightly = lock["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "nightly")
        .unwrap();
    assert_eq!(nightly["in_words"], "at 03:00 every day");
    assert_eq!(nightly["schedule"], "0 3 * * * (UTC)");
    assert_eq!(nightly["paused"], false);
    assert!(nightly["next_tick"].is_string());
    assert_eq!(status["local"]["locks"][0]["leading"], true);
    served.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_dashboard_is_read_only() {
    let served = serve(None, "").await;
    for what in ["trigger", "pause", "resume"] {
        let answer = call(
            "POST",
            job_url(&served.base, "nightly", what),
            bearer(TOKEN),
        )
        .await;
        assert_eq!(answer.status, 403, "{what}: {}", answer.body);
        assert!(
            answer.json()["error"]
                .as_str()
                .unwrap()
                .contains("read-only")
        );
    }
    let history = served.handle.history("nightly", 20).await.unwrap();
    assert!(history.is_empty(), "{history:?}");
    assert!(!paused(&served.handle, "nightly").await);
    served.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_need_the_token_and_a_retried_trigger_runs_once() {
    let served = serve(Some(TOKEN), "").await;
    let url = job_url(&served.base, "nightly", "trigger");

    let missing = call("POST", url.clone(), vec![]).await;
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(missing.authenticate.as_deref(), Some("Bearer"));
    let wrong = call("POST", url.clone(), bearer("let-me-inn")).await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(!wrong.body.contains(TOKEN), "{}", wrong.body);

    let mut retried = bearer(TOKEN);
    retried.push(("idempotency-key", "deploy-42".to_owned()));
    for _ in 0..2 {
        let answer = call("POST", url.clone(), retried.clone()).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.json()["request"], "deploy-42");
    }
    let history = wait::until_some("the triggered run", Duration::from_secs(10), || async {
        let answer = call("GET", job_url(&served.base, "nightly", "history"), vec![]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let runs = answer.json();
        (!runs.as_array().unwrap().is_empty()).then_some(runs)
    })
    .await;
    // A second second for a second run, if the retry had made one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let runs = served.handle.history("nightly", 20).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(history[0]["manual"], true);
    assert_eq!(history[0]["node"], "node-a");
    assert_eq!(history[0]["outcome"], "ok");

    let pause = call(
        "POST",
        job_url(&served.base, "nightly", "pause"),
        bearer(TOKEN),
    )
    .await;
    assert_eq!(pause.status, 200, "{}", pause.body);
    assert_eq!(pause.json()["paused"], true);
    assert!(paused(&served.handle, "nightly").await);
    let resume = call(
        "POST",
        job_url(&served.base, "nightly", "resume"),
        bearer(TOKEN),
    )
    .await;
    assert_eq!(resume.status, 200, "{}", resume.body);
    assert!(!paused(&served.handle, "nightly").await);
    served.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_job_is_a_404_naming_the_known_ones() {
    let served = serve(Some(TOKEN), "").await;
    for (method, what, headers) in [
        ("GET", "history", vec![]),
        ("POST", "trigger", bearer(TOKEN)),
        ("POST", "pause", bearer(TOKEN)),
    ] {
        let answer = call(method, job_url(&served.base, "nigthly", what), headers).await;
        assert_eq!(answer.status, 404, "{what}: {}", answer.body);
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(
            error.contains("nigthly") && error.contains("nightly"),
            "{error}"
        );
    }
    served.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_job_name_stays_data() {
    let served = serve(Some(TOKEN), "").await;
    // The API carries the name as a JSON string, served as JSON, never sniffed as HTML.
    let status = call("GET", format!("{}/api/status", served.base), vec![]).await;
    let names: Vec<String> = status.json()["cluster"]["locks"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == HOSTILE), "{names:?}");
    let history = call("GET", job_url(&served.base, HOSTILE, "history"), vec![]).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let pause = call(
        "POST",
        job_url(&served.base, HOSTILE, "pause"),
        bearer(TOKEN),
    )
    .await;
    assert_eq!(pause.status, 200, "{}", pause.body);
    assert_eq!(pause.json()["job"], HOSTILE);
    assert!(paused(&served.handle, HOSTILE).await);

    // The page holds no data at all (its script writes names as text) and forbids inline and
    // foreign scripts.
    let page = call("GET", format!("{}/", served.base), vec![]).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("onerror"), "{}", page.body);
    let policy = page.policy.unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    served.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounted_under_a_path_the_page_finds_its_api() {
    let served = serve(None, "/ops").await;
    // axum's `nest` serves the nested root at `/ops` (not `/ops/`); the page's `<base>` makes
    // its relative links resolve under `/ops/` all the same.
    let page = call("GET", served.base.clone(), vec![]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(r#"<base href="/ops/">"#),
        "{}",
        page.body
    );
    for asset in ["dashboard.js", "dashboard.css", "api/status"] {
        let answer = call("GET", format!("{}/{asset}", served.base), vec![]).await;
        assert_eq!(answer.status, 200, "{asset}: {}", answer.body);
    }
    served.handle.shutdown().await.unwrap();
}
