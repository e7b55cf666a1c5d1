//! The one permission leader-jobs can do without: unloading a stalled leader's election topic.
//!
//! Everything else needs produce and consume on the namespace. Without the unload (Pulsar allows
//! it to tenant admins only) elections and ledgers work the same, but a leader that froze while
//! its connection stays open keeps the role until the broker's keepalive drops it. The backend
//! says so once, at start, rather than at the first stall when someone is already waiting.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::{debug, warn};

use super::admin::{AdminClient, UnloadPermission};

/// Checks the unload permission once per backend, in the background.
#[derive(Debug, Default)]
pub(crate) struct UnloadPermissionCheck {
    started: AtomicBool,
}

impl UnloadPermissionCheck {
    /// Starts the check against `topic` (an election topic) unless it already ran; logs a
    /// warning naming the missing permission and its cost when the role lacks it.
    pub(crate) fn start_once(&self, admin: &AdminClient, topic: String) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let admin = admin.clone();
        tokio::spawn(async move {
            match admin.may_unload(&topic).await {
                Ok(UnloadPermission::Granted) => {
                    debug!(%topic, "the role may unload election topics: stalled leaders are replaced after stall_grace");
                }
                Ok(UnloadPermission::Missing(refusal)) => warn!(
                    %topic,
                    %refusal,
                    "the application's role lacks the permission to unload topics (Pulsar grants it to tenant admins \
                     and super-users only; checked by reading the topic's compaction status, which Pulsar authorizes \
                     like an unload): elections and jobs work, but a leader that freezes while its connection stays \
                     open is replaced only when the broker's keepalive drops it (about 60 s with the default \
                     keepAliveIntervalSeconds of 30) instead of after stall_grace; make the role an admin of the \
                     tenant to get fast takeover"
                ),
                Err(error) => warn!(
                    %topic,
                    %error,
                    "could not check whether the role may unload stalled leaders' election topics"
                ),
            }
        });
    }
}
