//! From a checked [`JobSpec`] to tokens: the function as written, plus its registration.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{ReturnType, Signature};

use crate::validate::{JobSpec, Misfire, Overlap};

/// The function unchanged (`item`, with its `signature`), followed by an anonymous `const` that
/// submits its descriptor.
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
        catch_up_window_millis,
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
    let timeout = match spec.timeout_millis {
        Some(millis) => quote! {
            ::core::option::Option::Some(::core::time::Duration::from_millis(#millis))
        },
        None => quote!(::core::option::Option::None),
    };
    let start = start_fn(signature, spec);

    quote! {
        #item

        const _: () = {
            ::leader_jobs::__private::inventory::submit! {
                ::leader_jobs::__private::descriptor(
                    #name,
                    #lock,
                    #cron,
                    #timezone,
                    ::leader_jobs::__private::OverlapPolicy::#overlap,
                    ::leader_jobs::__private::MisfirePolicy::#misfire,
                    ::core::time::Duration::from_millis(#catch_up_window_millis),
                    #timeout,
                    ::leader_jobs::__private::SourceLocation {
                        module_path: ::core::module_path!(),
                        file: ::core::file!(),
                        line: ::core::line!(),
                    },
                    #start,
                )
            }
        };
    }
}

/// A non-capturing closure (coerced to the descriptor's `fn` pointer) that calls the function and
/// boxes its future. Being a closure, it adds no name that could clash with the user's items.
///
/// The two trait checks are spanned where the user has to act. The output conversion names the
/// user's return type in a qualified path, so rustc reports an unsupported type on that type. The
/// `boxed(...)` call starts with tokens spanned on `async` and its parentheses are spanned on the
/// end of the signature; rustc reports the call's unmet `Send` bound on the range between them,
/// that is on the whole signature.
fn start_fn(signature: &Signature, spec: &JobSpec) -> TokenStream {
    let ident = &signature.ident;
    let context = quote_spanned!(Span::mixed_site()=> context);
    let output = quote_spanned!(Span::mixed_site()=> output);
    // Taken as a value first: the runtime needs it to be `async` even when its body never
    // awaits, and clippy's `unused_async` accepts that only for functions used as values.
    let job = quote_spanned!(Span::mixed_site()=> job);
    let callee = quote_spanned!(Span::mixed_site().located_at(ident.span())=> job);
    let call = match spec.signature.context_type {
        Some(type_span) => {
            let argument = quote_spanned!(Span::mixed_site().located_at(type_span)=> context);
            quote!(#callee(#argument))
        }
        None => quote!(#callee()),
    };
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
        let #output = #call.await;
        <#output_type as ::leader_jobs::__private::IntoJobResult>::into_job_result(#output)
    };
    let mut arguments = Group::new(
        Delimiter::Parenthesis,
        quote_spanned!(signature_start=> async move { #body }),
    );
    arguments.set_span(signature_end);
    let boxed = quote_spanned!(signature_start=> ::leader_jobs::__private::boxed #arguments);
    quote! {
        |#context: ::leader_jobs::__private::JobContext| -> ::leader_jobs::__private::JobFuture {
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
