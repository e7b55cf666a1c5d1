//! Ctrl-C handling: the terminal sends SIGINT to the whole foreground process group, so child
//! cargo processes stop by themselves; this process must survive to stop a broker it started.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Replaces the default "die at once" reaction to SIGINT with a flag the long waits poll.
pub(crate) fn install() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if !INTERRUPTED.swap(true, Ordering::SeqCst) {
            crate::report::warn("interrupted: cleaning up what this command started");
        }
    })
    .context("could not install the Ctrl-C handler")
}

/// Whether the user pressed Ctrl-C since [`install`].
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
