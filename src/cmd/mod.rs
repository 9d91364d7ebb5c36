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

use crate::cli::{Cli, Command, ConnectionArgs, DeleteArgs, FilterArgs, GatewayArgs, KeyArgs};
use crate::client::groups::{self, Filter};
use crate::client::selector::Selector;
use crate::client::{self, Credentials, Secret};
use crate::error::{SomeGatewaysFailed, Usage};
use crate::exit;
use crate::grouping::GroupingKey;

/// Runs the subcommand of a parsed command line. `Ok` carries the exit code
/// of a success (non-zero only when a command passes a wrapped program's
/// code through).
pub fn execute(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| 0),
        Command::List(args) => list::run(args).map(|()| 0),
        Command::Delete(args) => delete_everywhere(args).map(|()| 0),
        Command::Wipe(args) => wipe::run(args).map(|()| 0),
        Command::Relay(args) => relay::run(args),
        Command::Generate(args) => generate::run(args).map(|()| 0),
        Command::Push(args) => push::run(args),
    }
}

/// The gateway of the client commands when neither `-g` nor `PGW_GATEWAY`
/// names one.
pub(crate) const DEFAULT_GATEWAY: &str = "http://localhost:9091";

/// The `-g` values as given, or `PGW_GATEWAY`'s comma-separated list. A
/// variable that is set but empty (`PGW_GATEWAY=` in a unit file or a
/// crontab) means unset, as an empty `http_proxy` does for curl; so do the
/// empty items of a list (`a,`), which only a variable has. `-g ""` on the
/// command line stays an error.
pub(crate) fn gateway_values(values: &[String]) -> Vec<String> {
    let from_env = std::env::var("PGW_GATEWAY")
        .is_ok_and(|v| v.split(',').map(str::to_string).collect::<Vec<_>>() == values);
    if !from_env {
        return values.to_vec();
    }
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every gateway `-g` (repeated) or `PGW_GATEWAY` names, the default when
/// none, each read by [`client::parse_gateway`]; its note, if any, is said
/// here, once.
pub(crate) fn gateway_urls(args: &GatewayArgs) -> anyhow::Result<Vec<client::GatewayUrl>> {
    let mut values = gateway_values(&args.gateways);
    if values.is_empty() {
        values.push(DEFAULT_GATEWAY.to_string());
    }
    let mut out: Vec<client::GatewayUrl> = Vec::new();
    for value in &values {
        let url = read_gateway(value)?;
        if out.iter().any(|u| u.base == url.base) {
            return Err(Usage(format!(
                "--gateway {}: the gateway is given twice",
                url.base
            ))
            .into());
        }
        out.push(url);
    }
    Ok(out)
}

/// One `-g` value, read by [`client::parse_gateway`], with its note (a
/// scrape URL taken as the gateway's base, say) said on stderr.
pub(crate) fn read_gateway(value: &str) -> anyhow::Result<client::GatewayUrl> {
    let url = client::parse_gateway(value)?;
    if let Some(note) = &url.note {
        eprintln!("pgw: note: {note}");
    }
    Ok(url)
}

/// `-g` and the connection flags of the commands that talk to one gateway
/// (`list`, `wipe`, and `delete` once per gateway): a push URL is refused,
/// since these name their groups with their own flags.
pub(crate) fn gateway_options(args: &GatewayArgs) -> anyhow::Result<client::Options> {
    let urls = gateway_urls(args)?;
    let [url] = &urls[..] else {
        return Err(Usage(format!(
            "{} gateways are given (-g or PGW_GATEWAY), and this command reads one; \
             give it -g URL",
            urls.len()
        ))
        .into());
    };
    refuse_push_url(url)?;
    Ok(client::Options {
        url: url.base.clone(),
        connection: connection(&args.connection)?,
    })
}

fn refuse_push_url(url: &client::GatewayUrl) -> Result<(), Usage> {
    match &url.key {
        Some(key) => Err(Usage(format!(
            "--gateway: {}{} is the push URL of the group {key}; this command takes the \
             gateway's URL, {}, and the group as -j/-l or GROUP",
            url.base,
            key.to_path(),
            url.base
        ))),
        None => Ok(()),
    }
}

/// `pgw delete` against every gateway given, each with the same flags.
fn delete_everywhere(args: DeleteArgs) -> anyhow::Result<()> {
    let urls = gateway_urls(&args.gateway)?;
    for url in &urls {
        refuse_push_url(url)?;
    }
    let bases: Vec<String> = urls.into_iter().map(|u| u.base).collect();
    on_each_gateway(&bases, |i| {
        let mut one = args.clone();
        one.gateway.gateways = vec![bases[i].clone()];
        delete::run(one)
    })
}

/// Runs `act` for each gateway in `bases` (by index), one after the other,
/// as `pgw push` and `pgw delete` do with several `-g`: every gateway gets
/// the request whatever happened at the others. With one gateway its error
/// is the error. With several, when any failed, one line per gateway says
/// how it went, and the error says which failed; its exit code is the worst
/// of theirs, in the order of [`severity`].
pub(crate) fn on_each_gateway(
    bases: &[String],
    mut act: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if bases.len() == 1 {
        return act(0);
    }
    let results: Vec<anyhow::Result<()>> = (0..bases.len()).map(&mut act).collect();
    let failed: Vec<&str> = bases
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_err())
        .map(|(b, _)| b.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let summary = format!(
        "{} of {} gateways failed: {}",
        failed.len(),
        bases.len(),
        failed.join(", ")
    );
    let mut worst: Option<anyhow::Error> = None;
    for (base, result) in bases.iter().zip(results) {
        match result {
            Ok(()) => eprintln!("pgw: {base}: ok"),
            Err(e) => {
                eprintln!("pgw: {base}: error: {e:#}");
                let worse = worst
                    .as_ref()
                    .is_none_or(|w| severity(exit::code_for(&e)) > severity(exit::code_for(w)));
                if worse {
                    worst = Some(e);
                }
            }
        }
    }
    let worst = worst.expect("at least one gateway failed");
    Err(SomeGatewaysFailed { summary, worst }.into())
}

/// Which failure at one of several gateways picks the exit code: a refusal
/// (6), which no retry fixes, over a gateway's own failure (7), a time-out
/// (5), an unreachable gateway (4), any other error (1), and last a gateway
/// that had nothing to delete (8, `--fail-if-none`).
fn severity(code: exit::Code) -> u8 {
    match code {
        exit::Code::Rejected => 6,
        exit::Code::GatewayFailed => 5,
        exit::Code::TimedOut => 4,
        exit::Code::Unreachable => 3,
        exit::Code::NothingMatched => 1,
        exit::Code::Ok => 0,
        _ => 2,
    }
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
pub(crate) fn warn_unknown_labels<'g, I>(filter: &Filter, keys: I)
where
    I: IntoIterator<Item = &'g GroupingKey>,
    I::IntoIter: Clone,
{
    let Some(sel) = &filter.selector else { return };
    for name in groups::unknown_label_names(sel, keys) {
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
