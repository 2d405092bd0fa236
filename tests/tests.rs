//! Integration tests: every test runs the real `vmlab` binary, as a user does.
//! One test binary; one module per command.

#[path = "it/ostep_quiz.rs"]
mod ostep_quiz;
#[path = "it/ostep_translation.rs"]
mod ostep_translation;
#[path = "it/support.rs"]
mod support;
#[path = "it/translate.rs"]
mod translate;
