//! From a checked [`JobSpec`] to tokens: the function as written, plus its registration.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ReturnType, Signature};

use crate::validate::{Delivery, JobSpec, Misfire, Overlap};

/// The function unchanged (`item`, with its `signature`), followed by an anonymous `const` that
/// registers a function building its `Job`: the same public type, through the same
/// `Job::new`, as a job built in code.
pub(crate) fn job(item: TokenStream, signature: &Signature, spec: &JobSpec) -> TokenStream {
    let ident = &signature.ident;
    let name = match &spec.name {
        Some(name) => quote!(#name),
        None => {
            let fn_name = ident.unraw().to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #fn_name))
        }
    };
    let JobSpec {
        lock,
        cron,
        timezone,
        ..
    } = spec;
    let overlap = match spec.overlap {
        Overlap::Skip => quote!(Skip),
        Overlap::Queue => quote!(Queue),
        Overlap::Allow => quote!(Allow),
    };
    let misfire = match spec.misfire {
        Misfire::FireOnce => quote!(FireOnce),
        Misfire::Skip => quote!(Skip),
        Misfire::FireAll => quote!(FireAll),
    };
    let mut settings = TokenStream::new();
    if let Some(millis) = spec.catch_up_millis {
        settings.extend(quote!(.catch_up(::core::time::Duration::from_millis(#millis))));
    }
    if let Some(millis) = spec.timeout_millis {
        settings.extend(quote!(.timeout(::core::time::Duration::from_millis(#millis))));
    }
    if let Some(retries) = spec.retries {
        settings.extend(quote!(.retries(#retries)));
    }
    if let Some(millis) = spec.retry_backoff_millis {
        settings.extend(quote!(.retry_backoff(::core::time::Duration::from_millis(#millis))));
    }
    let private = spec.private_path(None);
    if spec.delivery == Delivery::AtLeastOnce {
        settings.extend(quote!(.delivery(#private::Delivery::AtLeastOnce)));
    }
    if let Some(millis) = spec.rerun_window_millis {
        settings.extend(quote!(.rerun_window(::core::time::Duration::from_millis(#millis))));
    }
    let names = spec.signature.parameters.iter().map(|param| &param.name);
    let handler = handler(signature, spec);

    quote! {
        #item

        const _: () = {
            #private::inventory::submit! {
                #private::Registration::new(|| {
                    #private::named(
                        #private::Job::new(#name, #cron, #handler)
                            .lock(#lock)
                            .tz(#timezone)
                            .overlap(#private::OverlapPolicy::#overlap)
                            .misfire(#private::MisfirePolicy::#misfire)
                            #settings,
                        &[#(#names),*],
                    )
                })
            }
        };
    }
}

/// A non-capturing closure taking the function's parameter types that calls it and boxes its
/// future. Being a closure, it adds no name that could clash with the user's items; `Job::new`
/// takes it as it takes a handler built in code.
///
/// The error is converted where its type is concrete, so that one implementing `Error` keeps its
/// `source()` chain (`Output` picks `ErrorChain` over `NoChain` by method resolution).
///
/// The two trait checks are spanned where the user has to act. The output conversion names the
/// user's return type in a qualified path, so rustc reports an unsupported type on that type. The
/// `boxed(...)` call starts with tokens spanned on `async` and its parentheses are spanned on the
/// end of the signature; rustc reports the call's unmet `Send` bound on the range between them,
/// that is on the whole signature.
fn handler(signature: &Signature, spec: &JobSpec) -> TokenStream {
    let ident = &signature.ident;
    let private = spec.private_path(None);
    let output = quote_spanned!(Span::mixed_site()=> output);
    let chain = quote_spanned!(Span::mixed_site()=> chain);
    let failure = quote_spanned!(Span::mixed_site()=> failure);
    // Taken as a value first: the runtime needs it to be `async` even when its body never
    // awaits, and clippy's `unused_async` accepts that only for functions used as values.
    let job = quote_spanned!(Span::mixed_site()=> job);
    let callee = quote_spanned!(Span::mixed_site().located_at(ident.span())=> job);
    let arguments: Vec<_> = (0..spec.signature.parameters.len())
        .map(|index| format_ident!("argument{index}", span = Span::mixed_site()))
        .collect();
    let types: Vec<_> = spec
        .signature
        .parameters
        .iter()
        .map(|param| &param.ty)
        .collect();
    let argument_checks = types.iter().map(|ty| {
        let private = spec.private_path(Some(ty.span()));
        quote_spanned!(ty.span()=> #private::assert_argument::<#ty>();)
    });
    let output_type = match &signature.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let signature_start = signature
        .asyncness
        .map_or(signature.fn_token.span, |asyncness| asyncness.span);
    let signature_end = match &signature.output {
        ReturnType::Default => signature.paren_token.span.close(),
        ReturnType::Type(_, ty) => last_span(ty),
    };
    let body = quote! {
        let #job = #ident;
        let #output: #output_type = #callee(#(#arguments),*).await;
        let #chain = {
            use #private::{ErrorChain as _, NoChain as _};
            (&#private::Output(&#output)).error_chain()
        };
        match #chain {
            ::core::option::Option::Some(#failure) => ::core::result::Result::Err(#failure),
            ::core::option::Option::None => {
                <#output_type as #private::IntoJobResult>::into_job_result(#output)
            }
        }
    };
    let mut call = Group::new(
        Delimiter::Parenthesis,
        quote_spanned!(signature_start=> async move { #body }),
    );
    call.set_span(signature_end);
    let boxed_path = spec.private_path(Some(signature_start));
    let boxed = quote_spanned!(signature_start=> #boxed_path::boxed #call);
    quote! {
        |#(#arguments: #types),*| -> #private::JobFuture {
            #(#argument_checks)*
            #boxed
        }
    }
}

/// The span of the last token of `tokens`.
fn last_span(tokens: &impl ToTokens) -> Span {
    tokens
        .to_token_stream()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |token| token.span())
}
