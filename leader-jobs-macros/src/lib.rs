//! The `#[singleton_job]` attribute. Depend on `leader-jobs`, which re-exports it.

use proc_macro::TokenStream;

/// Declares an async function as a job that runs on exactly one node of the cluster.
#[proc_macro_attribute]
pub fn singleton_job(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
