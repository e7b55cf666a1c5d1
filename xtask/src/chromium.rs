//! Debian's Chromium and ChromeDriver for the dashboard's browser test: found on `PATH`, or
//! installed with `apt-get` (as root, or through `sudo -n`) the way a fresh CI machine gets them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::executables::find_on_path;
use crate::report;

/// The Debian packages: the browser and the WebDriver server that drives it.
const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Where the browser test finds the two programs.
pub(crate) const CHROMIUM_VAR: &str = "LEADER_JOBS_CHROMIUM";
pub(crate) const CHROMEDRIVER_VAR: &str = "LEADER_JOBS_CHROMEDRIVER";

/// The browser and its driver.
pub(crate) struct Chromium {
    pub(crate) browser: PathBuf,
    pub(crate) driver: PathBuf,
}

impl Chromium {
    /// The tests' environment naming both.
    pub(crate) fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            (CHROMIUM_VAR, self.browser.clone().into_os_string()),
            (CHROMEDRIVER_VAR, self.driver.clone().into_os_string()),
        ]
    }
}

/// The programs the environment names, else those on `PATH`, else installed now.
pub(crate) fn locate_or_install() -> anyhow::Result<Chromium> {
    if let Some(found) = locate() {
        return Ok(found);
    }
    install()?;
    locate().context(
        "`apt-get install chromium chromium-driver` succeeded but `chromium` or `chromedriver` \
         is still not on PATH",
    )
}

fn locate() -> Option<Chromium> {
    let named = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_file())
            .or_else(|| find_on_path(name))
    };
    Some(Chromium {
        browser: named(CHROMIUM_VAR, "chromium")?,
        driver: named(CHROMEDRIVER_VAR, "chromedriver")?,
    })
}

fn install() -> anyhow::Result<()> {
    if find_on_path("apt-get").is_none() {
        bail!(
            "Chromium and ChromeDriver are needed for the dashboard's browser test and there is \
             no `apt-get` to install them: install them yourself and put `chromium` and \
             `chromedriver` on PATH, or name them by {CHROMIUM_VAR} and {CHROMEDRIVER_VAR}"
        );
    }
    let as_root = is_root();
    if !as_root && find_on_path("sudo").is_none() {
        bail!(
            "Chromium and ChromeDriver are needed for the dashboard's browser test: run \
             `apt-get install chromium chromium-driver` as root (this user is not root and has \
             no sudo)"
        );
    }
    report::status(
        "Installing",
        "Debian's chromium and chromium-driver (apt-get)",
    );
    // A fresh machine's package lists may be missing or stale: one update, then retry.
    if apt(as_root, &install_args()).is_err() {
        apt(as_root, &["update", "-q"])?;
        apt(as_root, &install_args())?;
    }
    Ok(())
}

fn install_args() -> Vec<&'static str> {
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(PACKAGES);
    args
}

/// Runs `apt-get args`, as root directly or through `sudo -n` (never asking for a password).
fn apt(as_root: bool, args: &[&str]) -> anyhow::Result<()> {
    let mut command = if as_root {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    let status = command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("could not run apt-get")?;
    if !status.success() {
        bail!("`apt-get {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
