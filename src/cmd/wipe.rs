//! `pgw wipe`: every group goes, with `PUT /api/v1/admin/wipe` (the admin
//! API), or group by group with `--per-group` where that API is off. Whether
//! it is on is read from the gateway's status before anything is asked, so
//! nobody answers a question that cannot be carried out. On a terminal it
//! asks, showing how many groups will go; elsewhere it needs `--yes`, since
//! nobody could answer. The question is the one `pgw delete` puts before a
//! selection that is every group ([`confirm`]).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::cli::WipeArgs;
use crate::client::groups;
use crate::client::Gateway;
use crate::cmd::delete::delete_one;
use crate::error::Usage;

pub(crate) fn run(args: WipeArgs) -> anyhow::Result<()> {
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(Usage(
            "refusing to wipe without confirmation: stdin is not a terminal, so pass --yes".into(),
        )
        .into());
    }
    let gateway = Gateway::new(&super::gateway_options(&args.gateway)?)?;
    let base = gateway.base();
    let listed = groups::fetch(&gateway)?;
    let n = listed.len();
    if n == 0 {
        eprintln!("pgw: the gateway at {base} holds no group; nothing to wipe");
        return Ok(());
    }
    let mut one_by_one = args.per_group;
    if !one_by_one && admin_api(&gateway)? == Some(false) {
        let off = format!(
            "the admin API is off at {base} (its /api/v1/status has web.enable-admin-api=false)"
        );
        if args.yes {
            return Err(Usage(format!(
                "{off}, so nothing was deleted: run `pgw wipe --per-group` to delete the {} \
                 one by one, or start the gateway with --web.enable-admin-api",
                groups::plural(n)
            ))
            .into());
        }
        // On a terminal the offer is the question itself.
        eprintln!("pgw: {off}; the groups can go one by one instead (--per-group)");
        one_by_one = true;
    }
    let how = if one_by_one { " one by one" } else { "" };
    confirm(
        args.yes,
        &format!("{}{how}?", delete_all(n, base)),
        "refusing to wipe without confirmation",
    )?;
    if one_by_one {
        return per_group(&gateway, &listed);
    }
    match gateway.send("PUT", "/api/v1/admin/wipe", &[], None) {
        Ok(_) => {
            println!("wiped {} at {base}", groups::plural(n));
            Ok(())
        }
        // The official server (and pgw serve) register the route only with
        // --web.enable-admin-api; without it the path is unknown: 404.
        Err(e) if e.status() == Some(404) => Err(anyhow::Error::new(e).context(format!(
            "the admin API is off at {base}: start the gateway with --web.enable-admin-api, \
             or run `pgw wipe --per-group` to delete the {} one by one",
            groups::plural(n)
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot wipe {base}"))),
    }
}

/// Whether the admin API is on, from the `web.enable-admin-api` flag in
/// `GET /api/v1/status`, which the official server (spec 3.2) and pgw serve
/// both report as `"true"` or `"false"`. `None` when the answer does not say
/// (another gateway, or one without that endpoint): then the wipe's own 404
/// tells.
fn admin_api(gateway: &Gateway) -> anyhow::Result<Option<bool>> {
    let reply = match gateway.send(
        "GET",
        "/api/v1/status",
        &[("Accept", "application/json")],
        None,
    ) {
        Ok(reply) => reply,
        Err(e) if matches!(e.status(), Some(404 | 405)) => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e)).with_context(|| {
                format!(
                    "cannot check whether the admin API is on at {}",
                    gateway.base()
                )
            })
        }
    };
    let doc: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    Ok(
        match doc["data"]["flags"]["web.enable-admin-api"].as_str() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
    )
}

/// `Delete all 4 groups at URL` (`Delete the only group at URL`): the
/// question before every group goes, for `wipe` and `delete` alike.
pub(crate) fn delete_all(n: usize, base: &str) -> String {
    if n == 1 {
        format!("Delete the only group at {base}")
    } else {
        format!("Delete all {n} groups at {base}")
    }
}

/// Consent to delete every group: `--yes` gives it; on a terminal the user
/// answers `question` (`y` or `yes`; anything else is exit 1, nothing
/// deleted); when stdin is not a terminal nobody can answer, so `refusal`
/// is a usage error (exit 2) that names `--yes`.
pub(crate) fn confirm(yes: bool, question: &str, refusal: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Usage(format!("{refusal}: stdin is not a terminal, so pass --yes")).into());
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !confirmed(&answer) {
        anyhow::bail!("not confirmed; nothing was deleted");
    }
    Ok(())
}

/// `y` or `yes`, in any case; anything else (an empty line too) is a no.
fn confirmed(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Deletes the listed groups one by one, with a progress bar on a terminal,
/// going on past a failure; the first failure is the error.
fn per_group(gateway: &Gateway, listed: &[groups::Group]) -> anyhow::Result<()> {
    let n = listed.len();
    // indicatif draws on stderr only when it is a terminal.
    let bar = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} groups  {elapsed}  {wide_msg}")
            .expect("a valid template"),
    );
    let mut failed = 0;
    let mut first_error = None;
    for g in listed {
        bar.set_message(g.key.to_string());
        if let Err(e) = delete_one(gateway, &g.key) {
            failed += 1;
            bar.suspend(|| eprintln!("pgw: {e:#}"));
            first_error.get_or_insert(e);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let base = gateway.base();
    match first_error {
        None => {
            println!("deleted {} at {base}, one by one", groups::plural(n));
            Ok(())
        }
        Some(e) => {
            println!("deleted {} of {} at {base}", n - failed, groups::plural(n));
            Err(e.context(format!(
                "{failed} of {} could not be deleted",
                groups::plural(n)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_confirms() {
        for yes in ["y\n", "Y", "yes\r\n", " YES "] {
            assert!(confirmed(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yess", "ok"] {
            assert!(!confirmed(no), "{no:?}");
        }
    }
}
