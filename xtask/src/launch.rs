//! `cargo xtask chaos` and `cargo xtask bench`: build the release binaries of the fault campaign
//! or of the benchmarks and run them. Both live outside this tool because they link leader-jobs
//! (whose `pulsar` dependency needs protoc to build); this tool provides protoc, and its own path
//! so that they can run brokers of their own with `xtask pulsar start|stop`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::compile::{self, workspace_root};
use crate::{debian, interrupt, protoc, pulsar};

/// The variable through which the campaign, the benchmarks and the tests find this tool.
pub(crate) const XTASK_VAR: &str = "LEADER_JOBS_XTASK";

/// What to build and run.
struct Launch<'a> {
    package: &'a str,
    bins: &'a [&'a str],
    run: &'a str,
    /// The broker directory the program uses unless told `--broker-dir`: stopped here if the
    /// program was interrupted before it could stop it.
    default_broker_dir: &'a str,
    /// Debian packages the program needs, each with a file it installs, and what for.
    packages: &'a [(&'a str, &'a str)],
    purpose: &'a str,
}

/// `cargo xtask chaos [ARGS]`: the fault campaign; ARGS go to the `chaos` binary.
pub(crate) fn chaos(args: &[String]) -> anyhow::Result<ExitCode> {
    launch(
        &Launch {
            package: "leader-jobs-tests",
            bins: &["chaos", "chaos-node"],
            run: "chaos",
            default_broker_dir: "target/chaos/broker",
            packages: &[],
            purpose: "the fault campaign",
        },
        args,
    )
}

/// `cargo xtask bench [ARGS]`: the benchmarks; ARGS go to the `bench` binary.
pub(crate) fn bench(args: &[String]) -> anyhow::Result<ExitCode> {
    launch(
        &Launch {
            package: "leader-jobs-bench",
            bins: &["bench"],
            run: "bench",
            default_broker_dir: "target/bench/broker",
            // The etcd peer of the election rows; the bench looks for Debian's binary there.
            packages: &[("etcd-server", "/usr/bin/etcd")],
            purpose: "the bench's etcd peer",
        },
        args,
    )
}

fn launch(what: &Launch<'_>, args: &[String]) -> anyhow::Result<ExitCode> {
    let root = workspace_root();
    let missing: Vec<&str> = what
        .packages
        .iter()
        .filter(|(_, file)| !std::path::Path::new(file).is_file())
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        debian::install(&missing, what.purpose)?;
    }
    let protoc = protoc::locate()?;
    let mut build = vec!["build", "--release", "-p", what.package];
    for bin in what.bins {
        build.extend(["--bin", bin]);
    }
    compile::compile(
        &format!("{} (release)", what.bins.join(", ")),
        &build,
        &protoc,
    )?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target.join("release").join(what.run);
    let status = std::process::Command::new(&binary)
        .current_dir(&root)
        .args(args)
        .env(
            XTASK_VAR,
            std::env::current_exe().context("cannot find this tool's own path")?,
        )
        .status()
        .with_context(|| format!("could not run {}", binary.display()))?;
    if interrupt::interrupted() {
        match cluster_dir(args) {
            // A campaign on the cluster (`chaos --cluster [DIR]`) leaves no standalone broker.
            Some(dir) => pulsar::cluster::stop(&dir.unwrap_or_else(pulsar::cluster::default_dir))?,
            None => {
                let dir = broker_dir(args).unwrap_or_else(|| root.join(what.default_broker_dir));
                pulsar::stop(&dir)?;
            }
        }
        bail!("interrupted");
    }
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// Whether the program was told `--cluster`, and the directory given with it if one was.
fn cluster_dir(args: &[String]) -> Option<Option<PathBuf>> {
    args.iter().enumerate().find_map(|(index, arg)| {
        if let Some(dir) = arg.strip_prefix("--cluster=") {
            return Some(Some(PathBuf::from(dir)));
        }
        (arg == "--cluster").then(|| {
            args.get(index + 1)
                .filter(|next| !next.starts_with('-'))
                .map(PathBuf::from)
        })
    })
}

/// The value of `--broker-dir` among the program's arguments.
fn broker_dir(args: &[String]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(index, arg)| {
        arg.strip_prefix("--broker-dir=")
            .map(PathBuf::from)
            .or_else(|| {
                (arg == "--broker-dir")
                    .then(|| args.get(index + 1).map(PathBuf::from))
                    .flatten()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::{broker_dir, cluster_dir};

    #[test]
    fn finds_the_broker_dir_in_either_spelling() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(broker_dir(&args(&["--seed", "1"])), None);
        assert_eq!(
            broker_dir(&args(&["--broker-dir", "/x"])).as_deref(),
            Some(std::path::Path::new("/x"))
        );
        assert_eq!(
            broker_dir(&args(&["--broker-dir=/y"])).as_deref(),
            Some(std::path::Path::new("/y"))
        );
    }

    #[test]
    fn finds_the_cluster_flag_with_or_without_its_directory() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(cluster_dir(&args(&["--seed", "1"])), None);
        assert_eq!(
            cluster_dir(&args(&["--cluster", "--seed", "1"])),
            Some(None)
        );
        assert_eq!(
            cluster_dir(&args(&["--cluster", "/c"])),
            Some(Some("/c".into()))
        );
        assert_eq!(
            cluster_dir(&args(&["--cluster=/d"])),
            Some(Some("/d".into()))
        );
    }
}
