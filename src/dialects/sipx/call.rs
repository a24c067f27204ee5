//! `my/call/{to}` and `call/{to}` (PUT only): click-to-call. The core records the job (and
//! checks the number); the configured call controller places the call.

use axum::http::StatusCode;

use super::{Answer, Mine, Refusal, done};

pub async fn put(mine: &Mine<'_>, to: &str) -> Answer {
    let Some(controller) = &mine.state.call_controller else {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "click-to-call is not available: no call controller is configured on this server \
             (call_controller_url)",
        ));
    };
    let core = &mine.state.core;
    let job = core
        .request_call(&mine.actor, mine.subscriber_id, to)
        .await?;
    let outcome = controller.place(&job).await;
    let failure = outcome.as_ref().err().cloned();
    core.finish_call(&mine.actor, job.id, outcome).await?;
    match failure {
        None => Ok(done()),
        Some(message) => Err(Refusal::new(StatusCode::BAD_GATEWAY, message)),
    }
}
