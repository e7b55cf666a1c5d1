//! What a running job knows about its run.

/// Handed to every run of a job: which job and tick this is, and the fencing token.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub(crate) job: &'static str,
}

impl JobContext {
    /// The job's name.
    pub fn job(&self) -> &'static str {
        self.job
    }
}
