//! Exit codes: the one table, and the one function that picks a code for an
//! error. Usage errors are clap's and exit with 2 before any of this runs.

/// Exit codes of pgw, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    /// Any failure that has no code of its own.
    General = 1,
    /// The command line was wrong (clap exits with this code itself).
    Usage = 2,
}

/// Chooses the exit code for an error.
pub fn code_for(_err: &anyhow::Error) -> ExitCode {
    ExitCode::General
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ExitCode::Ok as i32, 0);
        assert_eq!(ExitCode::General as i32, 1);
        assert_eq!(ExitCode::Usage as i32, 2);
        assert_eq!(code_for(&anyhow::anyhow!("x")), ExitCode::General);
    }
}
