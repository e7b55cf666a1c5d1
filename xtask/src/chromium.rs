//! Debian's Chromium and ChromeDriver for the dashboard's browser test: found on `PATH`, or
//! installed with `apt-get` (as root, or through `sudo -n`) the way a fresh CI machine gets them.

use anyhow::Context as _;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::debian;
use crate::executables::find_on_path;

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
    debian::install(&PACKAGES, "the dashboard's browser test").with_context(|| {
        format!(
            "without them, put `chromium` and `chromedriver` on PATH, or name them by \
             {CHROMIUM_VAR} and {CHROMEDRIVER_VAR}"
        )
    })
}
