//! `pgw generate` (hidden): writes the man pages (`man/`, one per command)
//! and the shell completions (`completions/`) from the clap definitions, so
//! they cannot say something the binary does not do. The generated files are
//! committed; a test regenerates them and fails when they drift.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, GenerateArgs};

pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let man = args.out.join("man");
    let completions = args.out.join("completions");
    for dir in [&man, &completions] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_man_pages(&man)?;
    write_completions(&completions)?;
    Ok(())
}

/// The environment variables the commands read, for ENVIRONMENT.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "PGW_GATEWAY",
        "The gateway URL of the client commands (--gateway).",
    ),
    ("PGW_USER", "User name for basic auth (--user)."),
    (
        "PGW_PASSWORD",
        "Password for basic auth; --password-file is safer.",
    ),
    ("PGW_TOKEN", "Bearer token; --token-file is safer."),
    ("NO_COLOR", "When set, tables are printed without colour."),
];

fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let subcommands: Vec<clap::Command> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    let names: Vec<String> = subcommands
        .iter()
        .map(|c| format!("pgw-{}", c.get_name()))
        .collect();
    write_page(dir, root.clone(), &names, true)?;
    for cmd in subcommands {
        let see_also = vec!["pgw".to_string()];
        write_page(dir, cmd, &see_also, false)?;
    }
    Ok(())
}

fn write_page(
    dir: &Path,
    cmd: clap::Command,
    see_also: &[String],
    root: bool,
) -> anyhow::Result<()> {
    let has_examples = cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some();
    let examples = cmd
        .get_after_long_help()
        .or(cmd.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let man = Man::new(cmd.clone()).manual("pgw manual");
    let path = dir.join(man.get_filename());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if root {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::default();
    if has_examples {
        roff.control("SH", ["EXAMPLES"]);
        // Help text is laid out for a terminal: keep its lines as they are.
        roff.control("nf", [] as [&str; 0]);
        // The heading says it already.
        let body = examples.strip_prefix("Examples:\n").unwrap_or(&examples);
        for line in body.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", [] as [&str; 0]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in crate::exit::TABLE {
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold((*code as i32).to_string())]);
        roff.text([roman(*meaning)]);
    }
    if cmd.get_name() != "serve" {
        roff.control("SH", ["ENVIRONMENT"]);
        for (name, meaning) in ENVIRONMENT {
            roff.control("TP", [] as [&str; 0]);
            roff.text([bold(*name)]);
            roff.text([roman(*meaning)]);
        }
    }
    if root || cmd.get_name() == "serve" {
        roff.control("SH", ["FILES"]);
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold("--persistence.file")]);
        roff.text([roman(
            "pgw serve keeps its store there across restarts (see the README for the format and recovery).",
        )]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let refs: Vec<String> = see_also.iter().map(|n| format!("{n}(1)")).collect();
    roff.text([roman(refs.join(", "))]);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    let mut f =
        fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(&out)?;
    Ok(())
}

/// The command without its hidden subcommands: the completion generators
/// offer hidden subcommands (and `help <hidden>`), and clap cannot remove a
/// subcommand, so the root is rebuilt around the visible ones.
fn visible(full: clap::Command) -> clap::Command {
    clap::Command::new("pgw")
        .about(full.get_about().cloned().unwrap_or_default())
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true)
        .subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
}

fn write_completions(dir: &Path) -> anyhow::Result<()> {
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut cmd = visible(Cli::command());
        clap_complete::generate_to(shell, &mut cmd, "pgw", dir)
            .with_context(|| format!("cannot write the {shell} completions"))?;
    }
    Ok(())
}
