//! The rules for the annotated function: `async`, not generic, no `self`, and parameters that are
//! each a `JobContext` (at most one) or a `State<T>`, taken by value, in any order. The return
//! type is checked by the trait bound in the expansion, where rustc can see the type.

use syn::{FnArg, GenericParam, Pat, PathArguments, Signature, Type};

use crate::errors::Errors;

/// One parameter of the function, as the expansion passes it on.
pub(crate) struct Parameter {
    /// The type as written; the expansion's closure takes a value of it.
    pub(crate) ty: Type,
    /// The name as written (the pattern's text when it is not a plain name), for runtime errors.
    pub(crate) name: String,
}

/// What the expansion needs to know about the function's parameters.
pub(crate) struct JobSignature {
    pub(crate) parameters: Vec<Parameter>,
}

/// What a parameter's type is, judged by its last path segment; the expansion's call makes rustc
/// check that it is the right type.
#[derive(PartialEq, Eq)]
enum Kind {
    Context,
    State,
    Other,
}

const ALLOWED: &str = "a job's parameters must be `leader_jobs::JobContext` (at most one) or \
                       `leader_jobs::State<T>` for a value given to `RuntimeBuilder::state`, each \
                       taken by value, in any order";

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
            "a job cannot be variadic: it takes a `JobContext` and `State<T>` values",
        );
    }

    let mut parameters = Vec::new();
    let mut contexts = 0;
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                "a job cannot take `self`: declare it as a free function, outside any `impl` block",
            ),
            FnArg::Typed(param) => {
                match &*param.ty {
                    Type::Reference(reference) if kind(&reference.elem) == Kind::Context => errors
                        .at(
                            &param.ty,
                            "a job takes its `JobContext` by value: remove the `&`",
                        ),
                    Type::Reference(reference) if kind(&reference.elem) == Kind::State => errors
                        .at(
                            &param.ty,
                            "a job takes `State<T>` by value (it is an `Arc`, cheap to clone): \
                             remove the `&`",
                        ),
                    ty => match kind(ty) {
                        Kind::Context => {
                            contexts += 1;
                            if contexts > 1 {
                                errors.at(
                                    param,
                                    "a job takes at most one `JobContext`; remove this one",
                                );
                            }
                        }
                        Kind::State => {}
                        Kind::Other => errors.at(ty, ALLOWED),
                    },
                }
                let name = match &*param.pat {
                    Pat::Ident(ident) => ident.ident.to_string(),
                    pattern => quote::ToTokens::to_token_stream(pattern).to_string(),
                };
                parameters.push(Parameter {
                    ty: (*param.ty).clone(),
                    name,
                });
            }
        }
    }
    JobSignature { parameters }
}

/// Whether `ty` is a plain path ending in `JobContext` or in `State<..>` (with one generic
/// argument).
fn kind(ty: &Type) -> Kind {
    match ty {
        Type::Group(group) => kind(&group.elem),
        Type::Paren(paren) => kind(&paren.elem),
        Type::Path(path) if path.qself.is_none() => match path.path.segments.last() {
            Some(segment) if segment.ident == "JobContext" && segment.arguments.is_none() => {
                Kind::Context
            }
            Some(segment) if segment.ident == "State" => match &segment.arguments {
                PathArguments::AngleBracketed(arguments) if arguments.args.len() == 1 => {
                    Kind::State
                }
                _ => Kind::Other,
            },
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}
