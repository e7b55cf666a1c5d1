//! Installing Debian packages the tooling needs (Chromium for the browser test, etcd for the
//! bench's peers) the way a fresh CI machine gets them: `apt-get` as root, or through `sudo -n`.

use std::process::Command;

use anyhow::{Context as _, bail};

use crate::executables::find_on_path;
use crate::report;

/// Installs `packages`, needed for `purpose`; on a machine without `apt-get`, or as a user who
/// can neither be root nor use `sudo -n`, the error says to do it by hand.
pub(crate) fn install(packages: &[&str], purpose: &str) -> anyhow::Result<()> {
    let listed = packages.join(" ");
    if find_on_path("apt-get").is_none() {
        bail!(
            "{purpose} needs Debian's {listed} and there is no `apt-get` to install them: install \
             them yourself"
        );
    }
    let as_root = is_root();
    if !as_root && find_on_path("sudo").is_none() {
        bail!(
            "{purpose} needs Debian's {listed}: run `apt-get install {listed}` as root (this user \
             is not root and has no sudo)"
        );
    }
    report::status("Installing", &format!("Debian's {listed} (apt-get)"));
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(packages);
    // A fresh machine's package lists may be missing or stale: one update, then retry.
    if apt(as_root, &args).is_err() {
        apt(as_root, &["update", "-q"])?;
        apt(as_root, &args)?;
    }
    Ok(())
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
