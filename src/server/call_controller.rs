//! The call controller that places click-to-call calls (sipXconfig's `my/call/{to}`): an HTTP
//! webhook configured by `call_controller_url`. switchyard has no SIP stack of its own; the
//! controller (a PBX script, a FreeSWITCH/Asterisk originate bridge) rings the caller's phones
//! and then the callee. One JSON POST per call, answered within the configured timeout.

use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::{Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::core::click_to_call::CallJob;

/// The longest controller answer read (it is only reported).
const MAX_ANSWER: usize = 1024;

pub struct CallController {
    uri: Uri,
    authority: String,
    timeout: Duration,
}

impl CallController {
    /// `url` must be `http://host[:port]/path`.
    pub fn new(url: &str, timeout_secs: u64) -> Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("call_controller_url '{url}' is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            anyhow::bail!(
                "call_controller_url '{url}' must be an http:// URL (a controller on the same host \
                 or network)"
            );
        }
        let authority = uri
            .authority()
            .with_context(|| format!("call_controller_url '{url}' names no host"))?
            .to_string();
        Ok(Self {
            uri,
            authority,
            timeout: Duration::from_secs(timeout_secs),
        })
    }

    /// Hands the call over; Ok with the controller's status, Err saying what went wrong.
    pub async fn place(&self, job: &CallJob) -> Result<String, String> {
        tokio::time::timeout(self.timeout, self.post(job))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the call controller did not answer within {} s",
                    self.timeout.as_secs()
                ))
            })
    }

    async fn post(&self, job: &CallJob) -> Result<String, String> {
        let port = self.uri.port_u16().unwrap_or(80);
        let host = self.uri.host().unwrap_or_default();
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| {
                format!(
                    "cannot reach the call controller at {}: {e}",
                    self.authority
                )
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("call controller: {e}"))?;
        tokio::spawn(connection);
        let body = serde_json::json!({
            "id": job.id,
            "subscriber_id": job.subscriber_id,
            "caller": job.caller,
            "callee": job.callee,
        })
        .to_string();
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let request = Request::post(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("switchyard/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("call controller request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("call controller: {e}"))?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        let text: String = String::from_utf8_lossy(&answer[..answer.len().min(MAX_ANSWER)])
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        if status.is_success() {
            Ok(format!("{status} {text}").trim().to_string())
        } else {
            Err(
                format!("the call controller refused the call: {status} {text}")
                    .trim()
                    .to_string(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host() {
        assert!(CallController::new("http://127.0.0.1:9000/originate", 5).is_ok());
        assert!(CallController::new("https://pbx.example.com/", 5).is_err());
        assert!(CallController::new("not a url", 5).is_err());
    }
}
