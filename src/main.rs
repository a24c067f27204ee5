//! The `switchyard` binary: parse the command line, start logging, run, map errors to exit codes.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = switchyard::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
                // ldap3_proto logs every malformed client message at ERROR: a client could
                // fill the log at will. The LDAP listener logs unreadable messages itself, at debug.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,ldap3_proto=off")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchyard: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(switchyard::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard: {e:#}");
            // A data directory that cannot be used has an exit code per cause (see DataDirError).
            e.chain()
                .find_map(|cause| {
                    cause.downcast_ref::<switchyard::server::data_dir::DataDirError>()
                })
                .map_or(std::process::ExitCode::FAILURE, |refused| {
                    std::process::ExitCode::from(refused.exit_code())
                })
        }
    }
}
