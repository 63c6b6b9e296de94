//! `tansu` as the security tests run it: tansu's command line, unchanged, in a build whose
//! SASL layer also offers PLAIN (see Cargo.toml).

use std::process::ExitCode;

use tansu_broker::{TracingFormat, otel};
use tansu_sans_io::ErrorCode;

#[tokio::main]
async fn main() -> ExitCode {
    let _guard = match otel::init(TracingFormat::Text) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("tansu: tracing set-up failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    match tansu_cli::Cli::main().await {
        Ok(ErrorCode::None) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("tansu: {code}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("tansu: {err}");
            ExitCode::FAILURE
        }
    }
}
