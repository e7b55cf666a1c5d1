//! The rules for the annotated function: `async`, not generic, no `self`, and either no parameter
//! or one `JobContext`. The return type is checked by the trait bound in the expansion, where
//! rustc can see the type.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, Signature, Type};

use crate::errors::Errors;

/// What the expansion needs to know about the function's parameters.
pub(crate) struct JobSignature {
    /// Where the `JobContext` parameter's type is written, if the function takes one: the
    /// expansion passes the context there, so a wrong `JobContext` type is reported on it.
    pub(crate) context_type: Option<Span>,
}

/// Checks `signature`, recording every violation in `errors`.
pub(crate) fn check(signature: &Signature, errors: &mut Errors) -> JobSignature {
    let name = &signature.ident;
    if signature.asyncness.is_none() {
        errors.at(
            signature.fn_token,
            format!("a job must be an `async fn`: write `async fn {name}`"),
        );
    }
    if let Some(unsafety) = &signature.unsafety {
        errors.at(
            unsafety,
            "a job cannot be an `unsafe fn`: the runtime calls it from safe code; \
             put an `unsafe` block inside the function instead",
        );
    }
    for param in &signature.generics.params {
        let message = match param {
            GenericParam::Lifetime(_) => {
                "a job cannot have lifetime parameters: it runs as a `'static` task \
                 that the runtime spawns"
            }
            GenericParam::Type(_) | GenericParam::Const(_) => {
                "a job cannot be generic: the runtime calls it without generic arguments"
            }
        };
        errors.at(param, message);
    }
    if let Some(where_clause) = &signature.generics.where_clause {
        errors.at(
            where_clause,
            "a job cannot have a `where` clause: the runtime calls it without generic arguments",
        );
    }
    if let Some(variadic) = &signature.variadic {
        errors.at(
            variadic,
            "a job cannot be variadic: it takes no parameter or one `JobContext`",
        );
    }

    let mut context_type = None;
    let mut typed = 0;
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                "a job cannot take `self`: declare it as a free function, outside any `impl` block",
            ),
            FnArg::Typed(param) => {
                if typed == 0 {
                    context_type = Some(param.ty.span());
                    match &*param.ty {
                        Type::Reference(reference) if is_job_context(&reference.elem) => errors.at(
                            &param.ty,
                            "a job takes its `JobContext` by value: remove the `&`",
                        ),
                        ty if !is_job_context(ty) => errors.at(
                            ty,
                            "a job's parameter must be `leader_jobs::JobContext`, taken by value",
                        ),
                        _ => {}
                    }
                } else {
                    errors.at(
                        param,
                        "a job takes no parameter or exactly one `JobContext`; remove this one",
                    );
                }
                typed += 1;
            }
        }
    }
    JobSignature { context_type }
}

/// Whether `ty` is a plain path ending in `JobContext` (`JobContext`, `leader_jobs::JobContext`).
/// The call in the expansion makes rustc check that it is the right type.
fn is_job_context(ty: &Type) -> bool {
    match ty {
        Type::Group(group) => is_job_context(&group.elem),
        Type::Paren(paren) => is_job_context(&paren.elem),
        Type::Path(path) => {
            path.qself.is_none()
                && path.path.segments.last().is_some_and(|segment| {
                    segment.ident == "JobContext" && segment.arguments.is_none()
                })
        }
        _ => false,
    }
}
