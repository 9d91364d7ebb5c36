//! `pgw push -j JOB -- COMMAND` on Windows: not available there (the Unix
//! version forwards and ignores POSIX signals, which Windows does not have),
//! so the rest of `pgw push`, and `pgw relay`, still build and run there.

use super::Config;
use crate::client::Gateway;
use crate::exposition::Family;

pub(super) struct Outcome;

impl Outcome {
    pub(super) fn placeholder() -> Outcome {
        Outcome
    }
}

pub(super) fn families(_: &Outcome, _: bool) -> Vec<Family<'static>> {
    Vec::new()
}

pub(super) fn run(
    _: Vec<Gateway>,
    _: &Config,
    _: Vec<Family<'static>>,
    _: &[String],
) -> anyhow::Result<i32> {
    Err(crate::error::Usage(
        "wrapping a command (pgw push -- COMMAND) is not supported on Windows".into(),
    )
    .into())
}
