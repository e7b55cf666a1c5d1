//! The attribute's arguments as written (`key = value` pairs with their spans) and the annotated
//! function's signature, before any checking.

use proc_macro2::{Delimiter, Group};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, Meta, Signature, Token, Visibility};

use crate::errors::Errors;

/// One `key = value` argument; the value may still be anything (checked in `validate`).
pub(crate) struct RawArg {
    pub(crate) key: Ident,
    pub(crate) value: Expr,
}

/// The arguments of one `#[singleton_job(...)]`, in the order written.
pub(crate) struct RawArgs(pub(crate) Vec<RawArg>);

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        let mut errors = Errors::default();
        let mut args = Vec::with_capacity(metas.len());
        for meta in metas {
            match meta {
                Meta::NameValue(pair) => match pair.path.get_ident() {
                    Some(key) => args.push(RawArg {
                        key: key.clone(),
                        value: pair.value,
                    }),
                    None => errors.at(&pair.path, "expected a key such as `cron`, not a path"),
                },
                Meta::Path(path) => errors.at(&path, expected_pair(&path)),
                Meta::List(list) => errors.at(&list, expected_pair(&list.path)),
            }
        }
        errors.finish(RawArgs(args))
    }
}

fn expected_pair(path: &syn::Path) -> String {
    let key = path
        .get_ident()
        .map_or_else(|| "key".to_owned(), ToString::to_string);
    format!("expected `{key} = \"...\"`")
}

/// The annotated item, read only as far as the expansion needs: its signature. The body stays
/// unparsed, so a half-typed body in the editor is reported by rustc alone, not also by the
/// attribute.
pub(crate) struct JobFunction {
    pub(crate) signature: Signature,
}

impl Parse for JobFunction {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let signature: Signature = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function body"));
        }
        Ok(JobFunction { signature })
    }
}
