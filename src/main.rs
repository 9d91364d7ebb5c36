//! The `pgw` binary: parse the command line, run the subcommand, print an
//! error once as `pgw: error: <cause chain>` and exit with its code.

use clap::Parser;

use pgw::cli::Cli;
use pgw::exit;

fn main() {
    let cli = Cli::parse();
    if let Err(err) = pgw::cmd::execute(cli.command) {
        eprintln!("pgw: error: {err:#}");
        std::process::exit(exit::code_for(&err) as i32);
    }
}
