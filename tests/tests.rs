//! Integration tests: every test runs the real `vmlab` binary, as a user does.
//! One test binary; one module per command.

#[path = "it/support.rs"]
mod support;
#[path = "it/trace.rs"]
mod trace;
#[path = "it/translate.rs"]
mod translate;
