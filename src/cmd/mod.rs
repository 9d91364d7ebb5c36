//! One module per subcommand, each with one `run`.

pub mod serve;

use crate::cli::Command;

/// Runs the chosen subcommand.
pub fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args),
    }
}
