//! Reading Maven's output as it is written: the files it fetched, the jars a resolution needs,
//! and, when it fails, the cause in a line or two.

use std::collections::HashSet;

/// At most this many lines of Maven's first error block make the cause.
const CAUSE_LINES: usize = 2;

/// Clauses of Maven's error messages that only say where a failure surfaced ("Failed to execute
/// goal …", "Could not resolve dependencies for project …"), not what failed: dropped from the
/// cause. "The following artifacts could not be resolved" lists every jar still missing, which
/// after a full disk is hundreds of them.
const WRAPPER_CLAUSES: [&str; 5] = [
    "Failed to execute goal",
    "Could not resolve dependencies for project",
    "Failed to collect dependencies at",
    "Failed to read artifact descriptor for",
    "The following artifacts could not be resolved",
];

/// What one resolution's log has said so far.
#[derive(Debug, Default)]
pub(super) struct LogWatch {
    files: u64,
    bytes: u64,
    /// The jars fetched, by [`artifact_key`].
    jars: HashSet<String>,
    /// Maven's first block of `[ERROR]` lines (the later ones are its generic advice).
    errors: Vec<String>,
    errors_done: bool,
    /// Repositories Maven could not reach, as it names them: `confluent (https://…/maven/)`.
    unreachable: Vec<String>,
}

impl LogWatch {
    /// Takes in one line of Maven's output.
    pub(super) fn observe(&mut self, line: &str) {
        let line = strip_ansi(line);
        let line = line.trim_end();
        if let Some(transfer) = line.strip_prefix("[INFO] Downloaded from ") {
            self.observe_download(transfer);
        } else if let Some(error) = line.strip_prefix("[ERROR]") {
            let error = error.trim();
            if error.is_empty() {
                self.errors_done |= !self.errors.is_empty();
            } else if !self.errors_done {
                self.errors.push(error.to_owned());
            }
        } else if let Some(warning) = line.strip_prefix("[WARNING] Could not transfer ") {
            if let Some(repository) = repository_of(warning) {
                if !self.unreachable.iter().any(|known| known == repository) {
                    self.unreachable.push(repository.to_owned());
                }
            }
        }
    }

    /// `central: https://…/netty-codec-4.1.127.Final.jar (340 kB at 2.1 MB/s)`
    fn observe_download(&mut self, transfer: &str) {
        let Some((_repository, rest)) = transfer.split_once(": ") else {
            return;
        };
        let (url, size) = match rest.split_once(" (") {
            Some((url, size)) => (url, size_in_bytes(size)),
            None => (rest, None),
        };
        self.files += 1;
        self.bytes += size.unwrap_or(0);
        if url.ends_with(".jar") {
            self.jars.insert(artifact_key(url).to_owned());
        }
    }

    /// How many files were fetched.
    pub(super) fn files(&self) -> u64 {
        self.files
    }

    /// How many bytes were fetched, as Maven reported them.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether the jar of [`artifact_key`] `key` was fetched.
    pub(super) fn fetched(&self, key: &str) -> bool {
        self.jars.contains(key)
    }

    /// Why Maven failed, in at most [`CAUSE_LINES`] lines, if it said so.
    pub(super) fn cause(&self) -> Option<String> {
        let lines: Vec<String> = self
            .errors
            .iter()
            .take(CAUSE_LINES)
            .map(|line| cause_of(line))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// The repositories Maven could not reach, in the order it met them.
    pub(super) fn unreachable(&self) -> &[String] {
        &self.unreachable
    }
}

/// What an error line of Maven's says failed, without the clauses that only wrap it.
fn cause_of(line: &str) -> String {
    let line = line.split(" -> [Help").next().unwrap_or(line).trim();
    let kept: Vec<String> = clauses(line)
        .into_iter()
        .filter(|clause| !is_wrapper(clause))
        // The failed URL repeats the artifact and repository the clause already names.
        .map(|clause| match clause.split_once(": transfer failed for ") {
            Some((artifact, _url)) => artifact.to_owned(),
            None => clause.to_owned(),
        })
        .collect();
    if kept.is_empty() {
        line.to_owned()
    } else {
        kept.join(": ")
    }
}

fn is_wrapper(clause: &str) -> bool {
    WRAPPER_CLAUSES
        .iter()
        .any(|wrapper| clause.starts_with(wrapper))
        || (clause.starts_with("Plugin ") && clause.ends_with("could not be resolved"))
}

/// A message cut where Maven chains one exception's message to its cause's: at ": " followed
/// by a capital letter. Artifact coordinates and URLs have no ": ", and "status: 403" stays whole.
fn clauses(message: &str) -> Vec<&str> {
    let mut clauses = Vec::new();
    let mut start = 0;
    for (at, _) in message.match_indices(": ") {
        let next = message[at + 2..].chars().next();
        if next.is_some_and(|c| c.is_ascii_uppercase()) {
            clauses.push(&message[start..at]);
            start = at + 2;
        }
    }
    clauses.push(&message[start..]);
    clauses
}

/// `metadata … from/to confluent (https://packages.confluent.io/maven/): transfer failed …`
/// gives `confluent (https://packages.confluent.io/maven/)`.
fn repository_of(warning: &str) -> Option<&str> {
    let (_, rest) = warning.split_once(" from/to ")?;
    let end = rest.find("): ").map_or(rest.len(), |at| at + 1);
    Some(&rest[..end])
}

/// Maven's `340 kB at 2.1 MB/s` (decimal units) as bytes.
fn size_in_bytes(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let number: f64 = words.next()?.parse().ok()?;
    let unit = match words.next()? {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    // A size Maven printed is far below u64's range and not negative.
    Some((number * unit).round() as u64)
}

/// The last three segments of a jar's URL or local path, `artifact/version/file.jar`: the same
/// for a jar in a remote repository and in the local one, whatever the group's depth.
pub(super) fn artifact_key(path: &str) -> &str {
    let mut slashes = path.rmatch_indices('/').map(|(at, _)| at);
    match slashes.nth(2) {
        Some(at) => &path[at + 1..],
        None => path,
    }
}

/// The keys (see [`artifact_key`]) of the jars in `dependency:collect`'s list, whose lines read
/// `   group:artifact:type[:classifier]:version:scope`.
pub(super) fn listed_jars(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|line| {
            let coordinates = line.split_whitespace().next()?;
            let parts: Vec<&str> = coordinates.split(':').collect();
            let (artifact, kind, classifier, version) = match parts[..] {
                [_, artifact, kind, version, _scope] => (artifact, kind, None, version),
                [_, artifact, kind, classifier, version, _scope] => {
                    (artifact, kind, Some(classifier), version)
                }
                _ => return None,
            };
            // Types whose file is a jar; `test-jar` is the `tests` classifier of one.
            let classifier = match (kind, classifier) {
                ("test-jar", None) => Some("tests"),
                ("jar" | "test-jar" | "bundle" | "maven-plugin" | "ejb", classifier) => classifier,
                _ => return None,
            };
            let suffix = classifier.map(|c| format!("-{c}")).unwrap_or_default();
            Some(format!(
                "{artifact}/{version}/{artifact}-{version}{suffix}.jar"
            ))
        })
        .collect()
}

/// Maven colours some lines even when told not to (`[0m` resets before its banner): the log is
/// read without terminal escape sequences.
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
