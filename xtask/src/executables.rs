//! Finding the external programs the tooling needs, with install hints when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The oldest Java release Pulsar 4.0 runs on.
const MIN_JAVA_RELEASE: u32 = 17;

/// The first executable file called `name` in a directory of `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `java` from `JAVA_HOME` or `PATH`, checked to be release 17 or newer.
pub(crate) fn java() -> anyhow::Result<PathBuf> {
    let from_java_home = std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin").join("java"))
        .filter(|java| is_executable(java));
    let Some(java) = from_java_home.or_else(|| find_on_path("java")) else {
        bail!(
            "Java not found (neither $JAVA_HOME/bin/java nor `java` on PATH): the Pulsar broker needs \
             a JDK or JRE {MIN_JAVA_RELEASE}+ (Debian: `apt-get install openjdk-17-jre-headless`)"
        );
    };
    let output = Command::new(&java)
        .arg("-version")
        .output()
        .with_context(|| format!("could not run `{} -version`", java.display()))?;
    // `java -version` writes to stderr, e.g. `openjdk version "17.0.15" 2025-04-15`.
    let banner = String::from_utf8_lossy(&output.stderr);
    match java_release(&banner) {
        Some(release) if release >= MIN_JAVA_RELEASE => Ok(java),
        Some(release) => bail!(
            "{} is Java {release}, the Pulsar broker needs {MIN_JAVA_RELEASE}+ \
             (Debian: `apt-get install openjdk-17-jre-headless`, or point JAVA_HOME at a newer JDK)",
            java.display()
        ),
        None => bail!(
            "could not read the Java version from `{} -version`: {}",
            java.display(),
            banner.trim()
        ),
    }
}

/// The feature release in a `java -version` banner: `"17.0.15"` is 17, `"1.8.0_392"` is 8.
fn java_release(banner: &str) -> Option<u32> {
    let quoted = banner.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// `mvn` from `PATH`.
pub(crate) fn maven() -> anyhow::Result<PathBuf> {
    find_on_path("mvn").context(
        "Maven (`mvn`) not found on PATH: it resolves the Pulsar broker from Maven Central \
         (Debian: `apt-get install maven`)",
    )
}

#[cfg(test)]
mod tests {
    use super::java_release;

    #[test]
    fn reads_modern_and_legacy_java_banners() {
        assert_eq!(
            java_release("openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime"),
            Some(17)
        );
        assert_eq!(java_release("java version \"1.8.0_392\""), Some(8));
        assert_eq!(java_release("openjdk version \"21\" 2023-09-19"), Some(21));
        assert_eq!(
            java_release("openjdk version \"22-ea\" 2024-03-19"),
            Some(22)
        );
        assert_eq!(java_release("no version here"), None);
    }
}
