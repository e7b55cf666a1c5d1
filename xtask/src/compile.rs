//! Compiling what a long step runs, as one line: on a first run cargo prints a `Compiling` line
//! per crate (about 230 for the demo), which scrolled the demo's own story away. Cargo is run
//! quiet with its JSON messages on stdout, read here only to count the crates it built;
//! diagnostics are still rendered by cargo itself on stderr, so a warning or an error reads as
//! usual.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, bail};

use crate::cargo_runner::cargo;
use crate::interrupt;
use crate::report::{self, Step};

/// Runs `cargo <args>` (a `build`, or a `test --no-run`) for `what`, showing one live line on a
/// terminal and a start and an end line elsewhere, e.g.
/// `Compiled the demo in 95.2 s (231 crates)`.
pub(crate) fn compile(what: &str, args: &[&str], protoc: &Path) -> anyhow::Result<()> {
    let step = Step::live("Compiling", what);
    let mut child = cargo()
        .current_dir(workspace_root())
        .args(args)
        .args(["--quiet", "--message-format=json-render-diagnostics"])
        .env("PROTOC", protoc)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run cargo {}", args.join(" ")))?;
    let mut built = 0_u64;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("could not read cargo's messages")?;
            if is_compiled_crate(&line) {
                built += 1;
                step.set_message(format!("{what}: {built} crates"));
            }
        }
    }
    let status = child.wait().context("could not wait for cargo")?;
    if interrupt::interrupted() {
        bail!("interrupted");
    }
    let took = report::seconds(step.elapsed());
    if !status.success() {
        step.finish("Failed", &format!("compiling {what} in {took} ({status})"));
        bail!("compiling {what} failed ({status}); cargo's errors are above");
    }
    let crates = match built {
        0 => "up to date".to_owned(),
        1 => "1 crate".to_owned(),
        n => format!("{n} crates"),
    };
    step.finish("Compiled", &format!("{what} in {took} ({crates})"));
    Ok(())
}

/// The workspace this tool belongs to, wherever it was started from.
pub(crate) fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_owned()
}

/// Whether one of cargo's JSON messages says it compiled a crate (not one it found fresh, nor a
/// build script, which cargo's own `Compiling` line does not count apart from its package).
/// cargo writes each message as one compact JSON object per line, so a substring test is exact
/// enough and spares this crate a JSON parser.
fn is_compiled_crate(message: &str) -> bool {
    message.contains(r#""reason":"compiler-artifact""#)
        && message.contains(r#""fresh":false"#)
        && !message.contains(r#""kind":["custom-build"]"#)
}

#[cfg(test)]
mod tests {
    use super::is_compiled_crate;

    #[test]
    fn only_crates_cargo_compiled_count() {
        let built = r#"{"reason":"compiler-artifact","package_id":"registry+https://github.com/rust-lang/crates.io-index#syn@2.0.119","fresh":false}"#;
        let fresh = r#"{"reason":"compiler-artifact","package_id":"path+file:///w#leader-jobs@0.1.0","fresh":true}"#;
        let finished = r#"{"reason":"build-finished","success":true}"#;
        let build_script = r#"{"reason":"compiler-artifact","package_id":"registry+https://github.com/rust-lang/crates.io-index#serde@1.0.229","target":{"kind":["custom-build"],"crate_types":["bin"],"name":"build-script-build"},"fresh":false}"#;
        assert!(is_compiled_crate(built));
        assert!(!is_compiled_crate(build_script));
        assert!(!is_compiled_crate(fresh));
        assert!(!is_compiled_crate(finished));
    }
}
