//! The `pgw` binary: parse the command line, run the subcommand, print an
//! error once as `pgw: error: <cause chain>` and exit with its code.

use pgw::cli::Cli;
use pgw::exit;

// The server allocates and frees many small objects on every push, from
// several threads; glibc's allocator spent about 40 % of the push path's CPU
// time on that under load (perf), and jemalloc more than doubles the push
// rate while holding less memory (BENCHMARKS.md).
// Its background thread (the `background_threads` feature in Cargo.toml)
// hands freed pages back to the OS after the decay time (10 s, MUZZY 0, so
// resident memory really falls) even when no request comes: a burst of big
// pushes then leaves no lasting footprint. `_RJEM_MALLOC_CONF` still
// overrides these at run time.
// jemalloc does not build for Windows, where the system allocator serves.
#[cfg(not(windows))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = Cli::parse_args();
    match pgw::cmd::execute(cli) {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("pgw: error: {err:#}");
            std::process::exit(exit::code_for(&err) as i32);
        }
    }
}
