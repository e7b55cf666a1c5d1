//! A `protoc` for the `pulsar` crate's build script, without root: the one on `PATH`, else the
//! binary shipped by the `protoc-bin-vendored` crate.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::executables::find_on_path;

/// The `protoc` named by `$PROTOC`, else on `PATH`, else the vendored one.
pub(crate) fn locate() -> anyhow::Result<PathBuf> {
    if let Some(explicit) = std::env::var_os("PROTOC").filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(explicit));
    }
    if let Some(on_path) = find_on_path("protoc") {
        return Ok(on_path);
    }
    protoc_bin_vendored::protoc_bin_path().context(
        "no protoc on PATH and the vendored one does not support this platform: install protoc \
         (Debian: `apt-get install protobuf-compiler`) or set PROTOC",
    )
}
