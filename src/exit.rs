//! Exit codes: the one table, the error kinds that have a code of their own,
//! and the one function that picks a code for an error. Usage errors are
//! clap's and exit with 2 before any of this runs.

use crate::client::GatewayError;

/// Exit codes of pgw, documented in the README and the man pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    /// Any failure that has no code of its own.
    General = 1,
    /// The command line was wrong (clap exits with this code itself).
    Usage = 2,
    /// Local input was wrong: metrics that do not parse, a bad selector, an
    /// unreadable file. Nothing was sent.
    BadInput = 3,
    /// The gateway could not be reached (refused, DNS, TLS).
    Unreachable = 4,
    /// The gateway did not answer in time.
    TimedOut = 5,
    /// The gateway refused the request (4xx).
    Rejected = 6,
    /// The gateway failed (5xx).
    GatewayFailed = 7,
    /// `--fail-if-none`: nothing matched.
    NothingMatched = 8,
    /// `pgw relay`: the exporter could not be scraped (unreachable, timed
    /// out, an error status, too large, unparsable); the health series were
    /// pushed in place of its metrics.
    ExporterFailed = 9,
}

/// The table as documented (README, man pages): code and meaning.
pub const TABLE: &[(ExitCode, &str)] = &[
    (ExitCode::Ok, "success"),
    (
        ExitCode::General,
        "any other error (the message says what and where)",
    ),
    (
        ExitCode::Usage,
        "the command line is wrong (also `pgw wipe` without `--yes` when stdin is not a terminal)",
    ),
    (
        ExitCode::BadInput,
        "bad local input (metrics that do not parse, a bad selector or group key, an unreadable file); nothing was sent",
    ),
    (
        ExitCode::Unreachable,
        "the gateway could not be reached (connection refused, DNS, TLS)",
    ),
    (ExitCode::TimedOut, "the gateway did not answer in time"),
    (ExitCode::Rejected, "the gateway refused the request (4xx)"),
    (ExitCode::GatewayFailed, "the gateway failed (5xx)"),
    (
        ExitCode::NothingMatched,
        "nothing matched (`--fail-if-none`; `pgw list` of a group that does not exist)",
    ),
    (
        ExitCode::ExporterFailed,
        "`pgw relay`: the exporter could not be scraped; only the health series were pushed",
    ),
];

/// Bad local input; the message names what and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A command line that parses but cannot be acted on where it runs (`wipe`
/// without `--yes` when nobody can answer the question).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Nothing matched a selection and the user asked for that to be an error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingMatched(pub String);

/// An exporter that `pgw relay` could not scrape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExporterFailed(pub String);

/// Chooses the exit code for an error: the first cause in its chain that has
/// a code of its own decides.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(g) = cause.downcast_ref::<GatewayError>() {
            return match g {
                GatewayError::Unreachable { .. } => ExitCode::Unreachable,
                GatewayError::TimedOut { .. } => ExitCode::TimedOut,
                GatewayError::Rejected { .. } => ExitCode::Rejected,
                GatewayError::Failed { .. } => ExitCode::GatewayFailed,
            };
        }
        if cause.is::<BadInput>()
            || cause.is::<crate::selector::SelectorError>()
            || cause.is::<crate::exposition::text::ParseError>()
        {
            return ExitCode::BadInput;
        }
        if cause.is::<NothingMatched>() {
            return ExitCode::NothingMatched;
        }
        if cause.is::<Usage>() {
            return ExitCode::Usage;
        }
        if cause.is::<ExporterFailed>() {
            return ExitCode::ExporterFailed;
        }
    }
    ExitCode::General
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Attempts, Message, Status};

    /// The README's table is this one, row for row.
    #[test]
    fn readme_lists_every_code() {
        let readme = include_str!("../README.md");
        for (code, meaning) in TABLE {
            let row = format!("| {} | {meaning} |", *code as i32);
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }

    #[test]
    fn codes_are_stable() {
        let table = [
            (ExitCode::Ok, 0),
            (ExitCode::General, 1),
            (ExitCode::Usage, 2),
            (ExitCode::BadInput, 3),
            (ExitCode::Unreachable, 4),
            (ExitCode::TimedOut, 5),
            (ExitCode::Rejected, 6),
            (ExitCode::GatewayFailed, 7),
            (ExitCode::NothingMatched, 8),
            (ExitCode::ExporterFailed, 9),
        ];
        for (code, n) in table {
            assert_eq!(code as i32, n);
        }
    }

    #[test]
    fn the_first_cause_with_a_code_decides() {
        assert_eq!(code_for(&anyhow::anyhow!("x")), ExitCode::General);
        let rejected = anyhow::Error::new(GatewayError::Rejected {
            url: "u".into(),
            method: "PUT".into(),
            path: "/".into(),
            status: Status(400),
            message: Message(String::new()),
        })
        .context("cannot push group {job=\"x\"}");
        assert_eq!(code_for(&rejected), ExitCode::Rejected);
        let failed = anyhow::Error::new(GatewayError::Failed {
            url: "u".into(),
            method: "PUT".into(),
            path: "/".into(),
            status: Status(503),
            message: Message(String::new()),
            attempts: Attempts(1),
        });
        assert_eq!(code_for(&failed), ExitCode::GatewayFailed);
        let input = anyhow::Error::new(BadInput("line 3: bad".into())).context("reading stdin");
        assert_eq!(code_for(&input), ExitCode::BadInput);
        let sel = anyhow::Error::new("job".parse::<crate::selector::Selector>().unwrap_err());
        assert_eq!(code_for(&sel), ExitCode::BadInput);
        let none = anyhow::Error::new(NothingMatched("no group matched".into()));
        assert_eq!(code_for(&none), ExitCode::NothingMatched);
        let usage = anyhow::Error::new(Usage("pass --yes".into()));
        assert_eq!(code_for(&usage), ExitCode::Usage);
        let exporter = anyhow::Error::new(ExporterFailed("refused".into()));
        assert_eq!(code_for(&exporter), ExitCode::ExporterFailed);
    }
}
