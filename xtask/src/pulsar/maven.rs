//! Resolving the broker's classpath from Maven Central with the machine's `mvn`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, bail};

use super::layout::BrokerDir;

/// Pulsar's 4.0 LTS line; the newest 4.0 release Maven Central serves to this project's machines.
pub(crate) const PULSAR_VERSION: &str = "4.0.7";
/// pulsar-broker logs through SLF4J 2 but ships no backend; log4j is what Pulsar's distribution uses.
const LOG4J_VERSION: &str = "2.24.3";
/// Pinned so that a resolution is the same on every machine, whatever Central's newest plugin is.
const BUILD_CLASSPATH_GOAL: &str =
    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath";

/// The broker's classpath, resolved by Maven when the cache is missing or stale.
///
/// The first resolution downloads a few hundred MB into `~/.m2` and shows Maven's progress;
/// later calls read the cached list, re-resolving only if the pom changed or a jar vanished.
pub(crate) fn resolve_classpath(dir: &BrokerDir, mvn: &Path) -> anyhow::Result<String> {
    write_if_changed(&dir.pom(), &pom())?;
    if let Some(classpath) = cached_classpath(dir)? {
        return Ok(classpath);
    }
    println!(
        "Resolving Apache Pulsar {PULSAR_VERSION} with Maven \
         (into ~/.m2, about 235 MB the first time) ..."
    );
    let started = Instant::now();
    let status = Command::new(mvn)
        .args(["-B", "-Dstyle.color=never"])
        .arg("-f")
        .arg(dir.pom())
        .arg(BUILD_CLASSPATH_GOAL)
        .arg(format!("-Dmdep.outputFile={}", dir.classpath().display()))
        .status()
        .with_context(|| format!("could not run {}", mvn.display()))?;
    if !status.success() {
        bail!(
            "Maven could not resolve the broker ({status}); its output above says why. \
             Maven Central must be reachable (check ~/.m2/settings.xml for proxies and mirrors)"
        );
    }
    let classpath = read_classpath(dir)?;
    println!(
        "Resolved {} jars in {:.1} s (cached in {})",
        classpath.split(':').count(),
        started.elapsed().as_secs_f64(),
        dir.classpath().display()
    );
    Ok(classpath)
}

fn pom() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by `cargo xtask pulsar start`: the artifacts of a standalone Pulsar broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>leader-jobs.tooling</groupId>
  <artifactId>pulsar-standalone</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.pulsar</groupId>
      <artifactId>pulsar-broker</artifactId>
      <version>{PULSAR_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"#
    )
}

/// Writes only on change, so the file's age tells whether the cached classpath is older.
fn write_if_changed(path: &Path, contents: &str) -> anyhow::Result<()> {
    if fs::read_to_string(path).is_ok_and(|current| current == contents) {
        return Ok(());
    }
    fs::write(path, contents).with_context(|| format!("could not write {}", path.display()))
}

/// The cached classpath if it was resolved from the current pom and every jar is still there.
fn cached_classpath(dir: &BrokerDir) -> anyhow::Result<Option<String>> {
    let (Ok(classpath_modified), Ok(pom_modified)) =
        (modified(&dir.classpath()), modified(&dir.pom()))
    else {
        return Ok(None);
    };
    if classpath_modified < pom_modified {
        return Ok(None);
    }
    let classpath = read_classpath(dir)?;
    let complete = classpath.split(':').all(|jar| Path::new(jar).is_file());
    Ok(complete.then_some(classpath))
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}

fn read_classpath(dir: &BrokerDir) -> anyhow::Result<String> {
    let path = dir.classpath();
    let classpath =
        fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
    let classpath = classpath.trim().to_owned();
    if classpath.is_empty() {
        bail!(
            "{} is empty: delete it and run the command again",
            path.display()
        );
    }
    Ok(classpath)
}
