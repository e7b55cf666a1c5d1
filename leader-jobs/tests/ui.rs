//! Compile-time behaviour of `#[singleton_job]`: what it accepts, and the exact errors for what it
//! rejects. Refresh the `.stderr` files with `TRYBUILD=overwrite cargo test -p leader-jobs --test ui`
//! and review every change.

#[test]
fn singleton_job_attribute() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
