//! Integration tests: every test runs the real `vmlab` binary, as a user does.
//! One test binary; one module per command.

#[path = "it/asm_gnu.rs"]
mod asm_gnu;
#[path = "it/cc.rs"]
mod cc;
#[path = "it/cpu_qemu.rs"]
mod cpu_qemu;
#[path = "it/heap.rs"]
mod heap;
#[path = "it/kernel.rs"]
mod kernel;
#[path = "it/limits.rs"]
mod limits;
#[path = "it/ostep_alloc.rs"]
mod ostep_alloc;
#[path = "it/ostep_multilevel.rs"]
mod ostep_multilevel;
#[path = "it/ostep_policy.rs"]
mod ostep_policy;
#[path = "it/ostep_quiz.rs"]
mod ostep_quiz;
#[path = "it/ostep_translation.rs"]
mod ostep_translation;
#[path = "it/paging.rs"]
mod paging;
#[path = "it/pictures.rs"]
mod pictures;
#[path = "it/readme.rs"]
mod readme;
#[path = "it/run.rs"]
mod run;
#[path = "it/run_sv39.rs"]
mod run_sv39;
#[path = "it/scenario.rs"]
mod scenario;
#[path = "it/sched.rs"]
mod sched;
#[path = "it/support.rs"]
mod support;
#[path = "it/tlb_measure.rs"]
mod tlb_measure;
#[path = "it/tour.rs"]
mod tour;
#[path = "it/trace.rs"]
mod trace;
#[path = "it/trace_paging.rs"]
mod trace_paging;
#[path = "it/translate.rs"]
mod translate;
#[path = "it/vocab.rs"]
mod vocab;
#[path = "it/web.rs"]
mod web;
#[path = "it/web_server.rs"]
mod web_server;
#[path = "it/wrong_answers.rs"]
mod wrong_answers;
