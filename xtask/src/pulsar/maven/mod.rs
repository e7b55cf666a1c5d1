//! Resolving the broker's classpath from Maven Central with the machine's `mvn`.
//!
//! Maven's own output (thousands of transfer lines on a first run, and warnings about
//! repositories named by Pulsar's poms that are not reachable from every network) goes to a log
//! in the broker's directory. What the user sees is one step of the report: a live line with the
//! jars fetched on a terminal, a start and a summary line elsewhere, and on failure Maven's
//! cause and the log's path.

mod log;
mod project;
mod run;

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use self::log::{LogWatch, artifact_key, listed_jars};
use super::layout::BrokerDir;
use crate::report::{self, Step};

/// Pulsar's 4.0 LTS line; the newest 4.0 release Maven Central serves to this project's machines.
pub(crate) const PULSAR_VERSION: &str = "4.0.7";
/// pulsar-broker logs through SLF4J 2 but ships no backend; log4j is what Pulsar's distribution uses.
const LOG4J_VERSION: &str = "2.24.3";
/// Pinned so that a resolution is the same on every machine, whatever Central's newest plugin is.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/// Which Maven settings and local repository a resolution uses, where not those of the user's
/// Maven configuration (`~/.m2/settings.xml`, `~/.m2/repository`, `MAVEN_OPTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MavenOptions {
    /// A settings file used instead of `~/.m2/settings.xml` (`mvn -s`).
    pub(crate) settings: Option<PathBuf>,
    /// A local repository used instead of the configured one (`-Dmaven.repo.local`).
    pub(crate) local_repository: Option<PathBuf>,
}

/// Why the broker's classpath could not be resolved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// `mvn` could not be started.
    #[error("could not run {}: {source}", program.display())]
    Spawn {
        /// The Maven executable.
        program: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// A file of the broker's directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "could not write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Maven succeeded but wrote no classpath.
    #[error("{} is empty: delete it and run the command again", .0.display())]
    EmptyClasspath(PathBuf),
    /// The user pressed Ctrl-C.
    #[error("interrupted while Maven was resolving the broker (what it fetched is kept)")]
    Interrupted,
    /// Maven ran and failed.
    #[error("{0}")]
    Failed(Failure),
}

impl ResolveError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// A resolution Maven failed: its cause, the repositories it could not reach, and its log.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Maven's error, without the clauses that only say where it surfaced (one or two lines).
    pub(crate) cause: String,
    /// Repositories Maven warned it could not reach, as it names them.
    pub(crate) unreachable: Vec<String>,
    /// Maven's whole output.
    pub(crate) log: PathBuf,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = self.cause.replace('\n', "\n  ");
        write!(
            f,
            "Maven could not resolve Apache Pulsar {PULSAR_VERSION}: {cause}"
        )?;
        if !self.unreachable.is_empty() {
            write!(
                f,
                "\n  repositories it could not reach: {}",
                self.unreachable.join(", ")
            )?;
        }
        write!(
            f,
            "\n  Maven's full log: {} (a new attempt resumes: the jars fetched so far are kept)",
            self.log.display()
        )
    }
}

/// The broker's classpath, resolved by Maven when the cache is missing or stale.
///
/// The first resolution downloads about 245 MB into Maven's local repository; later calls read
/// the cached list, re-resolving only if the pom changed or a jar vanished.
pub(crate) fn resolve_classpath(
    dir: &BrokerDir,
    mvn: &Path,
    options: &MavenOptions,
) -> Result<String, ResolveError> {
    project::write_if_changed(&dir.pom(), &project::pom())?;
    if let Some(classpath) = cached_classpath(dir)? {
        return Ok(classpath);
    }
    let log = dir.maven_log();
    // One log per resolution: an earlier failure's output would only mislead.
    File::create(&log).map_err(|source| ResolveError::io("could not create", &log, source))?;
    let step = Step::live(
        "Resolving",
        &format!(
            "Apache Pulsar {PULSAR_VERSION} with Maven (log: {})",
            log.display()
        ),
    );
    let mut watch = LogWatch::default();
    let fetching = |watch: &LogWatch| {
        step.set_message(format!(
            "Apache Pulsar {PULSAR_VERSION}: {} files ({}) fetched",
            watch.files(),
            report::megabytes(watch.bytes())
        ));
    };
    // A total for the live line costs a Maven run of its own (a few seconds): only worth it
    // where someone watches the line.
    let listed = if report::is_live() {
        Some(listed_dependencies(
            dir, mvn, options, &mut watch, &fetching,
        )?)
    } else {
        None
    };
    let args = [
        OsString::from(format!("{DEPENDENCY_PLUGIN}:build-classpath")),
        property("mdep.outputFile", &dir.classpath()),
    ];
    run::run(
        mvn,
        options,
        &dir.pom(),
        &args,
        &log,
        &mut watch,
        |watch| match &listed {
            Some(listed) => {
                let fetched = listed.iter().filter(|jar| watch.fetched(jar)).count();
                step.set_progress(
                    count(fetched),
                    count(listed.len()),
                    format!("jars, {} fetched", report::megabytes(watch.bytes())),
                );
            }
            None => fetching(watch),
        },
    )?;

    let classpath = project::read_classpath(&dir.classpath())?;
    let jars: Vec<&str> = classpath.split(':').collect();
    let bytes = jars
        .iter()
        .filter_map(|jar| fs::metadata(jar).ok())
        .map(|meta| meta.len())
        .sum();
    let fetched = jars
        .iter()
        .filter(|jar| watch.fetched(artifact_key(jar)))
        .count();
    let took = report::seconds(step.elapsed());
    step.finish("Resolved", &summary(jars.len(), bytes, fetched, &took));
    Ok(classpath)
}

/// The jars the resolution will put on the classpath, by [`artifact_key`]: collected by Maven
/// from the poms alone (`dependency:collect`), cached like the classpath.
fn listed_dependencies(
    dir: &BrokerDir,
    mvn: &Path,
    options: &MavenOptions,
    watch: &mut LogWatch,
    on_progress: impl FnMut(&LogWatch),
) -> Result<Vec<String>, ResolveError> {
    let list = dir.dependencies();
    if let Some(text) = project::fresh_text(&list, &dir.pom())? {
        return Ok(listed_jars(&text));
    }
    // Its own Maven run: within one, Maven resolves every goal's dependencies up front, jars
    // included, so a list asked for beside the classpath would come only after the jars.
    let args = [
        OsString::from(format!("{DEPENDENCY_PLUGIN}:collect")),
        property("outputFile", &list),
    ];
    run::run(
        mvn,
        options,
        &dir.pom(),
        &args,
        &dir.maven_log(),
        watch,
        on_progress,
    )?;
    let text = fs::read_to_string(&list)
        .map_err(|source| ResolveError::io("could not read", &list, source))?;
    Ok(listed_jars(&text))
}

/// What a resolution got: `317 jars (245.0 MB) in 22.4 s`, saying how many were already in the
/// local repository when not all were fetched.
fn summary(jars: usize, bytes: u64, fetched: usize, took: &str) -> String {
    let size = report::megabytes(bytes);
    let origin = match fetched {
        0 => ", all already in the local repository".to_owned(),
        _ if fetched >= jars => String::new(),
        _ => format!(", {fetched} of them fetched now"),
    };
    format!("{jars} jars ({size}{origin}) in {took}")
}

fn property(name: &str, path: &Path) -> OsString {
    let mut property = OsString::from(format!("-D{name}="));
    property.push(path);
    property
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The cached classpath if it was resolved from the current pom and every jar is still there.
fn cached_classpath(dir: &BrokerDir) -> Result<Option<String>, ResolveError> {
    if project::fresh_text(&dir.classpath(), &dir.pom())?.is_none() {
        return Ok(None);
    }
    let classpath = project::read_classpath(&dir.classpath())?;
    let complete = classpath.split(':').all(|jar| Path::new(jar).is_file());
    Ok(complete.then_some(classpath))
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
