use std::time::{Duration, Instant};

use super::*;
use crate::executables;

#[test]
fn summaries_say_how_much_was_already_there() {
    assert_eq!(
        summary(317, 244_978_000, 317, "22.4 s"),
        "317 jars (245.0 MB) in 22.4 s"
    );
    assert_eq!(
        summary(317, 244_978_000, 40, "9.1 s"),
        "317 jars (245.0 MB, 40 of them fetched now) in 9.1 s"
    );
    assert_eq!(
        summary(317, 244_978_000, 0, "4.0 s"),
        "317 jars (245.0 MB, all already in the local repository) in 4.0 s"
    );
}

#[test]
fn a_failure_names_its_cause_and_the_log() {
    let failure = Failure {
        cause: "Could not transfer artifact a:b:pom:1 from/to central (https://repo/): Connection refused"
            .to_owned(),
        unreachable: vec!["confluent (https://packages.confluent.io/maven/)".to_owned()],
        log: PathBuf::from("/w/target/pulsar/maven.log"),
    };
    assert_eq!(
        failure.to_string(),
        "Maven could not resolve Apache Pulsar 4.0.7: Could not transfer artifact a:b:pom:1 \
         from/to central (https://repo/): Connection refused\n  \
         repositories it could not reach: confluent (https://packages.confluent.io/maven/)\n  \
         Maven's full log: /w/target/pulsar/maven.log (a new attempt resumes: the jars fetched \
         so far are kept)"
    );
}

/// A scratch directory of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("a scratch directory can be created");
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Maven with a mirror of everything on a port nothing listens on, and an empty local
/// repository of the test's own (so `~/.m2` is neither read nor written): it fails at its first
/// download, in a few seconds and without network.
#[test]
fn an_unreachable_registry_fails_with_the_cause_and_the_log() {
    let mvn = executables::maven().expect("Maven is a prerequisite of the tooling");
    let scratch = Scratch::new("unreachable-registry");
    let settings = scratch.0.join("settings.xml");
    fs::write(
        &settings,
        "<settings><mirrors><mirror><id>unreachable</id><mirrorOf>*</mirrorOf>\
         <url>http://127.0.0.1:1/</url></mirror></mirrors></settings>",
    )
    .expect("settings can be written");
    let dir = BrokerDir::new(&scratch.0.join("broker")).expect("an absolute path");
    fs::create_dir_all(dir.root()).expect("the broker directory can be created");
    let options = MavenOptions {
        settings: Some(settings),
        local_repository: Some(scratch.0.join("repository")),
    };

    let started = Instant::now();
    let error = resolve_classpath(&dir, &mvn, &options).expect_err("nothing can be fetched");
    let took = started.elapsed();

    let message = error.to_string();
    assert!(matches!(error, ResolveError::Failed(_)), "{message}");
    assert!(
        message.contains("from/to unreachable (http://127.0.0.1:1/)")
            && message.contains("Connection refused"),
        "the cause is Maven's: {message}"
    );
    let log = dir.maven_log();
    assert!(
        message.contains(&log.display().to_string()),
        "the log is named: {message}"
    );
    assert!(message.lines().count() <= 3, "a short message: {message}");
    let logged = fs::read_to_string(&log).expect("the log was written");
    assert!(logged.contains("BUILD FAILURE"), "{logged}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        !dir.classpath().exists(),
        "no classpath is cached after a failure"
    );
}
