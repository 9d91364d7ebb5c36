//! Exit codes: the one table and the one function that picks a code for an
//! error from its kind (`error`). A command line clap refuses exits with 2
//! before any of this runs; the flags the commands check themselves, while
//! turning them into options, fail with `error::Usage` for the same code.

use crate::error::{
    BadInput, ExporterFailed, GatewayError, NothingMatched, SomeGatewaysFailed, Usage,
};

/// Exit codes of pgw, documented in the README and the man pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    /// Any failure that has no code of its own.
    General = 1,
    /// The command line was wrong: clap's refusals and `error::Usage`.
    Usage = 2,
    /// Local input was wrong: metrics that do not parse, a bad selector, an
    /// unreadable file. Nothing was sent.
    BadInput = 3,
    /// The gateway could not be reached (refused, DNS, TLS).
    Unreachable = 4,
    /// The gateway did not answer in time.
    TimedOut = 5,
    /// The gateway refused the request (4xx), or what answered at the URL
    /// is not a gateway.
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
pub(crate) const TABLE: &[(Code, &str)] = &[
    (Code::Ok, "success"),
    (
        Code::General,
        "any other error (the message says what and where)",
    ),
    (
        Code::Usage,
        "the command line is wrong, or cannot be carried out as given (`pgw wipe`, or a `pgw delete` of every group, without `--yes` when stdin is not a terminal; `pgw wipe` without `--per-group` where the admin API is off)",
    ),
    (
        Code::BadInput,
        "bad local input (metrics that do not parse, a bad selector or group key, an unreadable file); nothing was sent",
    ),
    (
        Code::Unreachable,
        "the gateway could not be reached (connection refused, DNS, TLS)",
    ),
    (Code::TimedOut, "the gateway did not answer in time"),
    (
        Code::Rejected,
        "the gateway refused the request (4xx), or what answered is not a Pushgateway",
    ),
    (Code::GatewayFailed, "the gateway failed (5xx)"),
    (
        Code::NothingMatched,
        "nothing matched (`--fail-if-none`; `pgw list` of a group that does not exist)",
    ),
    (
        Code::ExporterFailed,
        "`pgw relay`: the exporter could not be scraped; only the health series were pushed",
    ),
];

/// Chooses the exit code for an error: the first cause in its chain that has
/// a code of its own decides.
pub fn code_for(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(g) = cause.downcast_ref::<GatewayError>() {
            return match g {
                GatewayError::Unreachable { .. } => Code::Unreachable,
                GatewayError::TimedOut { .. } => Code::TimedOut,
                GatewayError::Rejected { .. } => Code::Rejected,
                GatewayError::Failed { .. } => Code::GatewayFailed,
                GatewayError::NotAGateway { .. } => Code::Rejected,
            };
        }
        if let Some(several) = cause.downcast_ref::<SomeGatewaysFailed>() {
            return code_for(&several.worst);
        }
        if cause.is::<BadInput>()
            || cause.is::<crate::client::selector::SelectorError>()
            || cause.is::<crate::exposition::text::ParseError>()
        {
            return Code::BadInput;
        }
        if cause.is::<NothingMatched>() {
            return Code::NothingMatched;
        }
        if cause.is::<Usage>() {
            return Code::Usage;
        }
        if cause.is::<ExporterFailed>() {
            return Code::ExporterFailed;
        }
    }
    Code::General
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Attempts, Message, Status};

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
            (Code::Ok, 0),
            (Code::General, 1),
            (Code::Usage, 2),
            (Code::BadInput, 3),
            (Code::Unreachable, 4),
            (Code::TimedOut, 5),
            (Code::Rejected, 6),
            (Code::GatewayFailed, 7),
            (Code::NothingMatched, 8),
            (Code::ExporterFailed, 9),
        ];
        for (code, n) in table {
            assert_eq!(code as i32, n);
        }
    }

    #[test]
    fn the_first_cause_with_a_code_decides() {
        assert_eq!(code_for(&anyhow::anyhow!("x")), Code::General);
        let rejected = anyhow::Error::new(GatewayError::Rejected {
            url: "u".into(),
            method: "PUT".into(),
            path: "/".into(),
            status: Status(400),
            message: Message(String::new()),
            retry_after: None,
        })
        .context("cannot push group {job=\"x\"}");
        assert_eq!(code_for(&rejected), Code::Rejected);
        let failed = anyhow::Error::new(GatewayError::Failed {
            url: "u".into(),
            method: "PUT".into(),
            path: "/".into(),
            status: Status(503),
            message: Message(String::new()),
            attempts: Attempts(1),
            retry_after: None,
        });
        assert_eq!(code_for(&failed), Code::GatewayFailed);
        let input = anyhow::Error::new(BadInput("line 3: bad".into())).context("reading stdin");
        assert_eq!(code_for(&input), Code::BadInput);
        let sel = anyhow::Error::new(
            "job"
                .parse::<crate::client::selector::Selector>()
                .unwrap_err(),
        );
        assert_eq!(code_for(&sel), Code::BadInput);
        let none = anyhow::Error::new(NothingMatched("no group matched".into()));
        assert_eq!(code_for(&none), Code::NothingMatched);
        let usage = anyhow::Error::new(Usage("pass --yes".into()));
        assert_eq!(code_for(&usage), Code::Usage);
        let exporter = anyhow::Error::new(ExporterFailed("refused".into()));
        assert_eq!(code_for(&exporter), Code::ExporterFailed);
    }
}
