//! `pgw wipe`: every group goes, with `PUT /api/v1/admin/wipe` (the admin
//! API), or group by group with `--per-group` where that API is off. On a
//! terminal it first asks, showing how many groups will go; elsewhere it
//! needs `--yes`, since nobody could answer.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressStyle};

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
    if !args.yes {
        let how = if args.per_group { " one by one" } else { "" };
        eprint!("Delete all {} at {base}{how}? [y/N] ", groups::plural(n));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !confirmed(&answer) {
            anyhow::bail!("not confirmed; nothing was deleted");
        }
    }
    if args.per_group {
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
