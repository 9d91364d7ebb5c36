//! One module per subcommand, each with one `run`: the only place where the
//! command line's Args become the plain options of `client`, `relay` and
//! `server`. A flag whose value is wrong in itself, or flags that exclude
//! each other, fail here with `error::Usage` (exit 2), before any I/O.
//! This module also holds the translations several commands share.

pub(crate) mod delete;
pub(crate) mod generate;
pub(crate) mod list;
pub(crate) mod push;
pub(crate) mod relay;
pub(crate) mod serve;
pub(crate) mod wipe;

use std::collections::HashSet;

use anyhow::Context as _;

use crate::cli::{Cli, Command, ConnectionArgs, FilterArgs, GatewayArgs, KeyArgs};
use crate::client::groups::{self, Filter};
use crate::client::selector::Selector;
use crate::client::{self, Credentials, Secret};
use crate::error::Usage;
use crate::grouping::GroupingKey;

/// Runs the subcommand of a parsed command line. `Ok` carries the exit code
/// of a success (non-zero only when a command passes a wrapped program's
/// code through).
pub fn execute(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| 0),
        Command::List(args) => list::run(args).map(|()| 0),
        Command::Delete(args) => delete::run(args).map(|()| 0),
        Command::Wipe(args) => wipe::run(args).map(|()| 0),
        Command::Relay(args) => relay::run(args),
        Command::Generate(args) => generate::run(args).map(|()| 0),
        Command::Push(args) => push::run(args),
    }
}

/// `-g` and the connection flags of `push`, `list`, `delete` and `wipe`.
pub(crate) fn gateway_options(args: &GatewayArgs) -> anyhow::Result<client::Options> {
    Ok(client::Options {
        url: client::normalize_base(&args.gateway)?,
        connection: connection(&args.connection)?,
    })
}

/// TLS, credentials, time limit and retries: the same flags for every
/// client command and `relay`.
pub(crate) fn connection(args: &ConnectionArgs) -> Result<client::Connection, Usage> {
    Ok(client::Connection {
        ca_cert: args.ca_cert.clone(),
        insecure: args.insecure,
        credentials: credentials(args)?,
        timeout: args.timeout,
        retries: args.retries,
    })
}

/// The credential flags and variables: a user (with a password or none) or
/// a bearer token; a file wins over the value of the same secret.
fn credentials(args: &ConnectionArgs) -> Result<Credentials, Usage> {
    let token = match (&args.token_file, &args.token) {
        (Some(file), _) => Some(Secret::File("--token-file", file.clone())),
        (None, Some(t)) => Some(Secret::Value(t.trim().to_string())),
        (None, None) => None,
    };
    let password = match (&args.password_file, &args.password) {
        (Some(file), _) => Some(Secret::File("--password-file", file.clone())),
        (None, Some(p)) => Some(Secret::Value(p.clone())),
        (None, None) => None,
    };
    match (&args.user, password, token) {
        (Some(_), _, Some(_)) => Err(Usage(
            "both a user (--user, PGW_USER) and a token (--token-file, PGW_TOKEN) are set; \
             give one kind of credential"
                .into(),
        )),
        (Some(user), password, None) => Ok(Credentials::Basic {
            user: user.clone(),
            password,
        }),
        (None, Some(_), None) if args.password_file.is_some() => Err(Usage(
            "--password-file is set but --user (or PGW_USER) is not".into(),
        )),
        (None, _, Some(Secret::Value(t))) if t.is_empty() => {
            Err(Usage("the bearer token is empty".into()))
        }
        (None, _, Some(token)) => Ok(Credentials::Bearer(token)),
        (None, _, None) => Ok(Credentials::None),
    }
}

/// `-s` and `--stale` (and `--failed` where a command has it); a selector
/// that does not parse is bad input, as the README says.
pub(crate) fn filter(args: &FilterArgs, failed: bool) -> anyhow::Result<Filter> {
    let selector = match &args.selector {
        Some(s) => Some(s.parse::<Selector>().context("-s/--selector")?),
        None => None,
    };
    Ok(Filter {
        selector,
        stale: args.stale,
        failed,
    })
}

/// Names on stderr each label of the selector that no listed group has
/// (see [`groups::unknown_label_names`]), for `list -s` and `delete -s`.
pub(crate) fn warn_unknown_labels(filter: &Filter, listed: &[groups::Group]) {
    let Some(sel) = &filter.selector else { return };
    for name in groups::unknown_label_names(sel, listed) {
        eprintln!("pgw: warning: no group has a label {name:?}; the selector matches nothing");
    }
}

/// The group named by `GROUP` or `-j`/`-l`, if any.
pub(crate) fn group_key(args: &KeyArgs) -> anyhow::Result<Option<GroupingKey>> {
    if let Some(job) = &args.job {
        if job.is_empty() {
            return Err(Usage("-j/--job: the job name is empty".into()).into());
        }
        let mut seen = HashSet::new();
        for (name, _) in &args.labels {
            if !seen.insert(name) {
                return Err(Usage(format!("-l/--label: label {name:?} is given twice")).into());
            }
        }
        let pairs = args
            .labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .chain([("job", job.as_str())]);
        return Ok(Some(GroupingKey::new(pairs)));
    }
    match &args.group {
        Some(text) => groups::parse_key(text).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_args(group: Option<&str>, job: Option<&str>, labels: &[(&str, &str)]) -> KeyArgs {
        KeyArgs {
            group: group.map(str::to_string),
            job: job.map(str::to_string),
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_group_is_named_exactly() {
        let k = group_key(&key_args(Some(r#"job=x,instance="""#), None, &[]))
            .unwrap()
            .unwrap();
        assert_eq!(k, GroupingKey::new([("job", "x"), ("instance", "")]));
        let k = group_key(&key_args(None, Some("x"), &[("path", "/var/tmp")]))
            .unwrap()
            .unwrap();
        assert_eq!(k.get("path"), Some("/var/tmp"));
        assert!(group_key(&key_args(None, None, &[])).unwrap().is_none());
    }
}
