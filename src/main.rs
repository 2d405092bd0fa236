//! The `vmlab` command: parse, run, print an error once, map to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    vmlab::cli::main_with_args(std::env::args_os())
}
