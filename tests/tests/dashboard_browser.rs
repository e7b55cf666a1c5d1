//! The dashboard in a real headless Chromium (Debian's, driven through its chromedriver) on a
//! real broker: two nodes, the page served by the follower. It shows each lock's leader, a job
//! name made of markup stays text, "run now" with the token makes a manual run appear in the
//! history (run by the leader), a wrong token is refused, and the leader's read-only dashboard
//! has no buttons. Leaves a screenshot in `target/tmp/dashboard.png`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use leader_jobs::{Handle, Job, JobContext, PulsarConfig, Runtime, dashboard};
use leader_jobs_tests::broker;
use leader_jobs_tests::cluster::unique_name;
use leader_jobs_tests::wait::until_some;

const HOSTILE: &str = r#"<img src=x onerror="document.title='pwned'">"#;
const TOKEN: &str = "operator-secret";

fn node(id: &str, prefix: &str) -> Handle {
    let config = PulsarConfig::new(&broker::service_url())
        .and_then(|c| c.with_admin_url(&broker::admin_url()))
        .and_then(|c| c.topic_prefix(prefix))
        .unwrap()
        .cold_start_window(Duration::ZERO);
    let digest = Job::new("digest", "0 0 1 1 *", |_ctx: JobContext| async {}).lock("mail");
    let hostile = Job::new(HOSTILE, "0 0 1 1 *", |_ctx: JobContext| async {}).lock("mail");
    let pulse = Job::new("pulse", "*/2 * * * * *", |_ctx: JobContext| async {}).lock("beat");
    Runtime::builder()
        .node_id(id)
        .pulsar_config(config)
        .jobs([digest, hostile, pulse])
        .build()
        .unwrap()
        .start()
        .unwrap()
}

async fn serve(handle: &Handle, token: Option<&str>) -> String {
    let mut board = dashboard::router(handle.clone());
    if let Some(token) = token {
        board = board.with_token(token);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(board.serve(listener));
    url
}

fn program(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "no `{name}`: run the tests with `cargo xtask test`, which installs Debian's \
                 chromium and chromium-driver (or `cargo xtask chromium` once), or name it by {var}"
            )
        })
}

/// A chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(program("LEADER_JOBS_CHROMEDRIVER", "chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    until_some("chromedriver answers", Duration::from_secs(20), || {
        let status = status.clone();
        async move {
            let answered = tokio::task::spawn_blocking(move || ureq::get(&status).call().is_ok());
            answered.await.unwrap().then_some(())
        }
    })
    .await;
    driver
}

async fn browser(driver: &Driver) -> Client {
    let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chromium-profile-{}", std::process::id()));
    let chromium = program("LEADER_JOBS_CHROMIUM", "chromium");
    // The flags keep a headless Chromium off the network this machine does not have (update
    // checks, sync, QUIC) and let it run as root in a container.
    let options = serde_json::json!({
        "binary": chromium,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1280,1000", format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

async fn text_of(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

async fn script(client: &Client, code: &str) -> serde_json::Value {
    client.execute(code, vec![]).await.unwrap()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_leaders_and_runs_a_job_now_with_the_token() {
    broker::require_broker();
    leader_jobs_tests::bounded(async {
        let prefix = unique_name("dash");
        let a = node("node-a", &prefix);
        until_some("node-a leads both locks", Duration::from_secs(60), || {
            let leading = a.status().locks.iter().all(|l| l.leading);
            async move { leading.then_some(()) }
        })
        .await;
        let b = node("node-b", &prefix);
        until_some(
            "node-b reads the ledgers",
            Duration::from_secs(30),
            || async { b.cluster().await.ok() },
        )
        .await;
        let follower_url = serve(&b, Some(TOKEN)).await;
        let leader_url = serve(&a, None).await;

        let driver = start_driver().await;
        let client = browser(&driver).await;
        client.goto(&follower_url).await.unwrap();

        // Each lock's leader, as the follower reads it from the ledger.
        for lock in ["mail", "beat"] {
            let css = format!(r#"[data-lock="{lock}"] [data-field="leader"]"#);
            let leader = until_some(
                &format!("lock {lock}'s leader"),
                Duration::from_secs(20),
                || {
                    let css = css.clone();
                    let client = &client;
                    async move { text_of(client, &css).await.filter(|t| !t.is_empty()) }
                },
            )
            .await;
            assert_eq!(leader, "node-a", "lock {lock}");
        }
        assert!(
            text_of(&client, "#served-by")
                .await
                .unwrap()
                .contains("node-b")
        );

        // A job name made of markup is shown as text and runs nothing.
        let names = script(
            &client,
            "return [...document.querySelectorAll('tr.job td.name')].map(td => td.textContent)",
        )
        .await;
        assert!(
            names.as_array().unwrap().iter().any(|n| n == HOSTILE),
            "{names}"
        );
        assert_eq!(
            script(&client, "return document.title").await,
            "leader-jobs"
        );
        assert_eq!(
            script(&client, "return document.querySelectorAll('img').length").await,
            0
        );

        // "run now" with the token: the leader runs it once, the page's history shows it.
        let token = client.find(Locator::Css("#token")).await.unwrap();
        token.send_keys(TOKEN).await.unwrap();
        let run_now = r#"button[data-action="trigger"][data-job="digest"]"#;
        click(&client, run_now).await;
        let row = r#"tr[data-job-history="digest"] tr.run.manual"#;
        let shown = until_some(
            "the manual run in the page",
            Duration::from_secs(20),
            || {
                let client = &client;
                async move { text_of(client, row).await }
            },
        )
        .await;
        assert!(shown.contains("node-a"), "{shown}");
        assert!(shown.contains("ok"), "{shown}");
        let manual = |runs: Vec<leader_jobs::backend::PastRun>| {
            runs.into_iter().filter(|r| r.manual).count()
        };
        assert_eq!(manual(a.history("digest", 20).await.unwrap()), 1);

        // A wrong token is refused, and nothing runs.
        token.clear().await.unwrap();
        token.send_keys("not-the-token").await.unwrap();
        click(&client, run_now).await;
        let refusal = until_some("the refusal", Duration::from_secs(10), || {
            let client = &client;
            async move {
                text_of(client, "#message")
                    .await
                    .filter(|t| t.contains("not the dashboard's"))
            }
        })
        .await;
        assert!(!refusal.contains("not-the-token"), "{refusal}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(manual(a.history("digest", 20).await.unwrap()), 1);

        // The page was live all along: the timeline holds the pulse's runs.
        let bars = script(
            &client,
            "return document.querySelectorAll('#timeline rect.run').length",
        )
        .await;
        assert!(bars.as_u64().unwrap() > 0, "{bars}");
        let screenshot = client.screenshot().await.unwrap();
        std::fs::write(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png"),
            screenshot,
        )
        .unwrap();

        // The leader's dashboard has no token: read-only, no buttons shown.
        client.goto(&leader_url).await.unwrap();
        until_some("the read-only page", Duration::from_secs(20), || {
            let client = &client;
            async move {
                text_of(client, "#served-by")
                    .await
                    .filter(|t| t.contains("node-a"))
            }
        })
        .await;
        let button = client.find(Locator::Css(run_now)).await.unwrap();
        assert!(!button.is_displayed().await.unwrap());
        assert!(
            !client
                .find(Locator::Css("#token"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );

        client.close().await.unwrap();
        b.shutdown().await.unwrap();
        a.shutdown().await.unwrap();
    })
    .await;
}
