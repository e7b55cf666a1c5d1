//! On Maven's real output (excerpts of logs of Maven 3.8.7 resolving this pom): a cold run, an
//! unreachable mirror, a mirror refusing one jar, and a local repository on a full disk.

use super::*;

fn watch(log: &str) -> LogWatch {
    let mut watch = LogWatch::default();
    log.lines().for_each(|line| watch.observe(line));
    watch
}

#[test]
fn counts_the_files_and_bytes_fetched() {
    let watch = watch(include_str!("testdata/cold-excerpt.log"));
    assert_eq!(watch.files(), 12);
    assert_eq!(watch.bytes(), 524_100);
    assert!(watch.fetched("maven-dependency-plugin/3.8.1/maven-dependency-plugin-3.8.1.jar"));
    assert!(!watch.fetched("pulsar-broker/4.0.7/pulsar-broker-4.0.7.jar"));
    assert_eq!(watch.cause(), None);
}

#[test]
fn names_each_repository_it_could_not_reach_once() {
    let watch = watch(include_str!("testdata/cold-excerpt.log"));
    assert_eq!(
        watch.unreachable(),
        [
            "confluent (https://packages.confluent.io/maven/)",
            "maven.restlet.org (https://maven.restlet.talend.com)"
        ]
    );
}

#[test]
fn an_unreachable_mirror_is_the_cause() {
    let watch = watch(include_str!("testdata/unreachable.log"));
    assert_eq!(
        watch.cause().as_deref(),
        Some(
            "Could not transfer artifact org.apache.maven.plugins:maven-dependency-plugin:pom:3.8.1 \
             from/to unreachable (http://127.0.0.1:1/): Connect to 127.0.0.1:1 [/127.0.0.1] \
             failed: Connection refused"
        )
    );
}

#[test]
fn a_refused_jar_is_the_cause() {
    let watch = watch(include_str!("testdata/refused-excerpt.log"));
    assert_eq!(
        watch.cause().as_deref(),
        Some(
            "Could not transfer artifact io.netty:netty-codec-http2:jar:4.1.115.Final from/to \
             refusing (http://127.0.0.1:18932/): authorization failed for \
             http://127.0.0.1:18932/io/netty/netty-codec-http2/4.1.115.Final/\
             netty-codec-http2-4.1.115.Final.jar, status: 403 Forbidden"
        )
    );
}

#[test]
fn a_full_disk_is_the_cause_without_the_list_of_every_missing_jar() {
    let watch = watch(include_str!("testdata/disk-full-excerpt.log"));
    assert_eq!(
        watch.cause().as_deref(),
        Some(
            "Could not transfer artifact it.unimi.dsi:fastutil:jar:8.5.16 from/to loopback \
             (http://127.0.0.1:18931/): GET request of: it/unimi/dsi/fastutil/8.5.16/\
             fastutil-8.5.16.jar from loopback failed: No space left on device"
        )
    );
}

#[test]
fn an_error_of_no_known_shape_is_kept_whole() {
    assert_eq!(
        watch("[ERROR] Error executing Maven.\n[ERROR] \n[ERROR] Re-run Maven").cause(),
        Some("Error executing Maven.".to_owned())
    );
    assert_eq!(
        cause_of("No versions available for a:b:jar:[1.81,1.82) within specified range"),
        "No versions available for a:b:jar:[1.81,1.82) within specified range"
    );
}

#[test]
fn the_collected_list_names_the_jars_of_the_classpath() {
    let listed = listed_jars(include_str!("testdata/collect-list.txt"));
    let classpath = include_str!("testdata/classpath.txt");
    let on_classpath: Vec<&str> = classpath.trim().split(':').map(artifact_key).collect();
    assert_eq!(listed.len(), 317);
    assert_eq!(listed, on_classpath);
    assert!(
        listed.contains(
            &"distributedlog-core/4.17.2/distributedlog-core-4.17.2-tests.jar".to_owned()
        )
    );
}

#[test]
fn keys_are_the_same_for_a_remote_url_and_a_local_path() {
    assert_eq!(
        artifact_key(
            "https://repo1.maven.org/maven2/io/netty/netty-codec/4.1.127.Final/netty-codec-4.1.127.Final.jar"
        ),
        artifact_key(
            "/root/.m2/repository/io/netty/netty-codec/4.1.127.Final/netty-codec-4.1.127.Final.jar"
        ),
    );
    assert_eq!(artifact_key("a/b.jar"), "a/b.jar");
}

#[test]
fn sizes_are_read_in_mavens_decimal_units() {
    assert_eq!(size_in_bytes("340 kB at 2.1 MB/s)"), Some(340_000));
    assert_eq!(size_in_bytes("1.2 MB at 3 MB/s)"), Some(1_200_000));
    assert_eq!(size_in_bytes("942 B at 5.0 kB/s)"), Some(942));
    assert_eq!(size_in_bytes("a lot)"), None);
}

#[test]
fn escape_sequences_are_dropped() {
    assert_eq!(
        strip_ansi("\u{1b}[0m\u{1b}[0m[INFO] Scanning"),
        "[INFO] Scanning"
    );
    assert_eq!(strip_ansi("plain"), "plain");
}
