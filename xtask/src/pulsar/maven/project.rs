//! The Maven project that names the broker's artifacts, and the files resolved from it, each
//! cached until the project changes.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::{LOG4J_VERSION, PULSAR_VERSION, ResolveError};

/// The pom of a standalone broker: Pulsar's broker and the log4j backend it logs through.
pub(super) fn pom() -> String {
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

/// Writes only on change, so the file's age tells whether a file resolved from it is older.
pub(super) fn write_if_changed(path: &Path, contents: &str) -> Result<(), ResolveError> {
    if fs::read_to_string(path).is_ok_and(|current| current == contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|source| ResolveError::io("could not write", path, source))
}

/// `path`'s text if it was written after `pom` last changed.
pub(super) fn fresh_text(path: &Path, pom: &Path) -> Result<Option<String>, ResolveError> {
    let (Ok(written), Ok(pom_written)) = (modified(path), modified(pom)) else {
        return Ok(None);
    };
    if written < pom_written {
        return Ok(None);
    }
    fs::read_to_string(path)
        .map(Some)
        .map_err(|source| ResolveError::io("could not read", path, source))
}

/// The classpath Maven wrote to `path` (absolute jar paths, `:`-separated).
pub(super) fn read_classpath(path: &Path) -> Result<String, ResolveError> {
    let text = fs::read_to_string(path)
        .map_err(|source| ResolveError::io("could not read", path, source))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ResolveError::EmptyClasspath(path.to_owned()));
    }
    Ok(text.to_owned())
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}
