//! The `#[singleton_job]` attribute. Depend on `leader-jobs`, which re-exports it and documents it
//! as `leader_jobs::singleton_job`.
//!
//! The attribute goes through three stages: `parse` reads the `key = value` pairs and the
//! function's signature, `validate` checks both into a `JobSpec` (collecting every error), and
//! `expand` turns that into tokens. `cron` and `tz` are checked by `leader-jobs-cron`, the engine
//! that later runs the schedule, so the attribute and the runtime cannot disagree about one.

mod errors;
mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

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
