//! One module per subcommand, each with one `run`.

pub mod delete;
pub mod generate;
pub mod list;
pub mod push;
pub mod relay;
pub mod serve;
pub mod wipe;

use crate::cli::Command;

/// Runs the chosen subcommand. `Ok` carries the exit code of a success
/// (non-zero only when a command passes a wrapped program's code through).
pub fn execute(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Serve(args) => serve::run(args).map(|()| 0),
        Command::List(args) => list::run(args).map(|()| 0),
        Command::Delete(args) => delete::run(args).map(|()| 0),
        Command::Wipe(args) => wipe::run(args).map(|()| 0),
        Command::Relay(args) => relay::run(args),
        Command::Generate(args) => generate::run(args).map(|()| 0),
        Command::Push(args) => push::run(args),
    }
}
