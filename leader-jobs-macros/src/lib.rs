//! The `#[singleton_job]` attribute. Depend on `leader-jobs`, which re-exports it and documents it
//! as `leader_jobs::singleton_job`.
//!
//! The attribute goes through three stages: `parse` reads the `key = value` pairs and the
//! function's signature, `validate` checks both into a `JobSpec` (collecting every error), and
//! `expand` turns that into tokens.

mod errors;
mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// The runtime crate's schedule engine, compiled in so that the attribute checks `cron` and `tz`
/// with the very code that later runs the schedule: macro and runtime cannot disagree about an
/// expression, so no test needs to compare them.
#[path = "../../leader-jobs/src/schedule/mod.rs"]
#[allow(
    unreachable_pub,
    dead_code,
    reason = "public API of leader_jobs; the attribute only parses, it never computes ticks"
)]
mod schedule;

#[allow(
    missing_docs,
    reason = "documented on its re-export `leader_jobs::singleton_job`, where the examples compile"
)]
#[proc_macro_attribute]
pub fn singleton_job(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let function = match syn::parse2::<parse::JobFunction>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[singleton_job] can only be applied to an `async fn`",
            );
            return with_errors(item, error);
        }
    };
    let args = syn::parse::<parse::RawArgs>(args);
    match validate::job_spec(args, &function.signature) {
        Ok(spec) => expand::job(item, &function.signature, &spec).into(),
        Err(errors) => with_errors(item, errors),
    }
}

/// The item exactly as written plus the errors, so that IDE completion and go-to-definition keep
/// working while the attribute is wrong.
fn with_errors(item: proc_macro2::TokenStream, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    quote::quote!(#item #errors).into()
}
