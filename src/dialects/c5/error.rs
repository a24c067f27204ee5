//! C5 error answers and JSON request bodies (c5.md §4).
//!
//! Every failure the dialect reports is an [`ApiError`]: an HTTP status plus the message
//! ngcp-panel would give, rendered as `{"code":N,"message":"..."}` and a newline. Clients and
//! the upstream tests match message prefixes, so the texts follow the original word for word.

use std::fmt;

use serde_json::Value;

/// The media type of error bodies and of plain JSON request bodies.
pub const JSON: &str = "application/json";

/// Deepest nesting of arrays and objects accepted in a request body. Real C5 documents nest
/// four or five levels; the limit keeps recursive code (parsing, dropping, patching) cheap.
pub const MAX_DEPTH: usize = 64;

/// A C5 error answer: status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    /// Unknown paths and verbs a resource lacks: C5 answers 404, never 405.
    pub fn not_found_path() -> Self {
        Self::new(404, "Path not found")
    }

    pub fn entity_not_found(name: &str) -> Self {
        Self::new(404, format!("Entity '{name}' not found."))
    }

    /// 415 for a body that is not `application/json`; `content_type` as the client sent it.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::unsupported_media_type_for(content_type, &[JSON])
    }

    /// 415 naming the accepted types (joined with " or ", as the original does).
    pub fn unsupported_media_type_for(content_type: &str, accepted: &[&str]) -> Self {
        Self::new(
            415,
            format!(
                "Unsupported media type '{content_type}', accepting {} only.",
                accepted.join(" or ")
            ),
        )
    }

    pub fn missing_body() -> Self {
        Self::bad_request("This request is missing a message body.")
    }

    /// 400 for a body that does not parse as JSON; `detail` is the parser's explanation.
    pub fn malformed_json(detail: &str) -> Self {
        Self::malformed(JSON, detail)
    }

    /// Like [`Self::malformed_json`] for another JSON media type (PATCH names
    /// `application/json-patch+json` here).
    pub fn malformed(media_type: &str, detail: &str) -> Self {
        Self::bad_request(format!(
            "The entity is not a well-formed '{media_type}' document. {detail}"
        ))
    }

    pub fn invalid_id() -> Self {
        Self::bad_request("Invalid id in request URI")
    }

    /// Writes carrying `Link` headers are refused: relations belong in the body.
    pub fn link_header() -> Self {
        Self::bad_request(
            "The request must not contain 'Link' headers. Instead assert relationships in the entity body.",
        )
    }

    /// 422 for one failed field: `Validation failed. field='f', input='v', errors='e'`.
    pub fn validation<'a>(field: &str, input: impl Into<Input<'a>>, errors: &str) -> Self {
        Self::validation_all(&[FieldError::new(field, input, errors)])
    }

    /// 422 for several failed fields, joined with "; " as the original joins its form errors.
    pub fn validation_all(errors: &[FieldError]) -> Self {
        let joined: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Self::unprocessable(format!("Validation failed. {}", joined.join("; ")))
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, message)
    }

    pub fn locked(message: impl Into<String>) -> Self {
        Self::new(423, message)
    }

    /// Unhandled failures; the cause goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(500, "Internal Server Error")
    }

    /// The response body: `{"code":N,"message":"..."}` and a newline; `code` is the status.
    pub fn body(&self) -> String {
        let mut body =
            serde_json::json!({ "code": self.status, "message": self.message }).to_string();
        body.push('\n');
        body
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The offending input of a validation error, as text or as the JSON value the client sent.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Text(&'a str),
    Json(&'a Value),
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(s: &'a str) -> Self {
        Self::Text(s)
    }
}

impl<'a> From<&'a String> for Input<'a> {
    fn from(s: &'a String) -> Self {
        Self::Text(s)
    }
}

impl<'a> From<&'a Value> for Input<'a> {
    fn from(v: &'a Value) -> Self {
        Self::Json(v)
    }
}

/// One failed field of a validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    /// The input as shown to the client: already masked for password fields.
    pub input: String,
    pub errors: String,
}

impl FieldError {
    /// A field whose name contains "password" shows its input as `*****`.
    pub fn new<'a>(field: &str, input: impl Into<Input<'a>>, errors: &str) -> Self {
        let input = if field.to_ascii_lowercase().contains("password") {
            "*****".to_owned()
        } else {
            match input.into() {
                Input::Text(s) => s.to_owned(),
                Input::Json(v) => input_text(v),
            }
        };
        Self {
            field: field.to_owned(),
            input,
            errors: errors.to_owned(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field='{}', input='{}', errors='{}'",
            self.field, self.input, self.errors
        )
    }
}

/// A JSON input as the original's form layer shows it: null as empty, strings bare, booleans
/// as 1/0, `{"id":N}` references as N; anything else as compact JSON.
fn input_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Object(map) => match map.get("id") {
            Some(id @ (Value::Number(_) | Value::String(_) | Value::Null)) => input_text(id),
            _ => v.to_string(),
        },
        Value::Array(_) => v.to_string(),
    }
}

/// Whether a `Content-Type` names `expected`: case-insensitive, parameters allowed
/// (`application/json; charset=utf-8`). Unlike the original's bare prefix test, the type must
/// end where `expected` does, so `application/json-patch+json` is not taken for JSON.
pub fn media_type_matches(content_type: &str, expected: &str) -> bool {
    let ct = content_type.trim_start().as_bytes();
    let exp = expected.as_bytes();
    ct.len() >= exp.len()
        && ct[..exp.len()].eq_ignore_ascii_case(exp)
        && matches!(ct.get(exp.len()), None | Some(b';' | b' ' | b'\t'))
}

/// Checks and parses a JSON request body: the content type first (415; an absent header is
/// shown as 'undefined', as the original does), then presence (400), then nesting depth and
/// syntax (400). The first of `accept` names the document type in the 400 message.
pub fn parse_json_body(
    content_type: Option<&str>,
    body: &[u8],
    accept: &[&str],
) -> Result<Value, ApiError> {
    let accept = if accept.is_empty() {
        &[JSON][..]
    } else {
        accept
    };
    let accepted = content_type.is_some_and(|ct| accept.iter().any(|a| media_type_matches(ct, a)));
    if !accepted {
        return Err(ApiError::unsupported_media_type_for(
            content_type.unwrap_or("undefined"),
            accept,
        ));
    }
    if body.is_empty() {
        return Err(ApiError::missing_body());
    }
    let media_type = accept[0];
    if nesting_exceeds(body, MAX_DEPTH) {
        return Err(ApiError::malformed(
            media_type,
            &format!("Nesting exceeds {MAX_DEPTH} levels."),
        ));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(media_type, &e.to_string()))
}

/// Whether arrays and objects nest deeper than `max` in `body`, counted on the raw bytes so a
/// hostile body never reaches the recursive parser. Brackets inside strings do not count; the
/// count on malformed input does not matter, since the parser refuses it anyway.
fn nesting_exceeds(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_is_code_and_message_with_newline() {
        let e = ApiError::entity_not_found("customercontact");
        assert_eq!(e.status, 404);
        assert_eq!(
            e.body(),
            "{\"code\":404,\"message\":\"Entity 'customercontact' not found.\"}\n"
        );
        let parsed: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(parsed["code"], 404);
    }

    #[test]
    fn body_escapes_message() {
        let e = ApiError::bad_request("quote \" and \\ and\nnewline");
        let parsed: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(parsed["message"], "quote \" and \\ and\nnewline");
    }

    #[test]
    fn constructors_give_the_original_texts() {
        assert_eq!(
            ApiError::not_found_path(),
            ApiError::new(404, "Path not found")
        );
        assert_eq!(
            ApiError::unsupported_media_type("text/plain").message,
            "Unsupported media type 'text/plain', accepting application/json only."
        );
        assert_eq!(ApiError::unsupported_media_type("x").status, 415);
        assert_eq!(
            ApiError::unsupported_media_type_for("x", &["a/b", "c/d"]).message,
            "Unsupported media type 'x', accepting a/b or c/d only."
        );
        assert_eq!(
            ApiError::missing_body(),
            ApiError::new(400, "This request is missing a message body.")
        );
        assert_eq!(
            ApiError::malformed_json("eof").message,
            "The entity is not a well-formed 'application/json' document. eof"
        );
        assert_eq!(
            ApiError::invalid_id(),
            ApiError::new(400, "Invalid id in request URI")
        );
        assert_eq!(ApiError::unprocessable("x").status, 422);
        assert_eq!(
            ApiError::locked("Contact is still in use."),
            ApiError::new(423, "Contact is still in use.")
        );
        assert_eq!(ApiError::forbidden("Banned").status, 403);
        assert_eq!(ApiError::internal().status, 500);
        assert!(
            ApiError::link_header()
                .message
                .starts_with("The request must not contain 'Link' headers.")
        );
        assert_eq!(ApiError::new(418, "x").to_string(), "418 x");
    }

    #[test]
    fn validation_message() {
        let e = ApiError::validation(
            "email",
            "foo",
            "Email should be of the format you@example.com",
        );
        assert_eq!(e.status, 422);
        assert_eq!(
            e.message,
            "Validation failed. field='email', input='foo', errors='Email should be of the format you@example.com'"
        );
        let e = ApiError::validation("reseller_id", &json!({"id": 7}), "Invalid reseller");
        assert!(e.message.contains("input='7'"));
        let e = ApiError::validation("x", &json!(null), "Required");
        assert!(e.message.contains("input=''"));
        let e = ApiError::validation("x", &json!(true), "bad");
        assert!(e.message.contains("input='1'"));
        let e = ApiError::validation("x", &json!([1, "a"]), "bad");
        assert!(e.message.contains("input='[1,\"a\"]'"));
        let s = String::from("owned");
        assert!(
            ApiError::validation("x", &s, "bad")
                .message
                .contains("input='owned'")
        );
    }

    #[test]
    fn validation_masks_passwords() {
        for field in ["password", "webpassword", "WebPassword", "new_password_x"] {
            let e = ApiError::validation(field, "secret", "too short");
            assert!(e.message.contains("input='*****'"), "{field}");
            assert!(!e.message.contains("secret"));
        }
        let e = ApiError::validation("webpassword", &json!("secret"), "too short");
        assert!(e.message.contains("input='*****'"));
    }

    #[test]
    fn validation_joins_fields() {
        let e = ApiError::validation_all(&[
            FieldError::new("email", "", "Required"),
            FieldError::new("country", "XX", "Invalid country"),
        ]);
        assert_eq!(
            e.message,
            "Validation failed. field='email', input='', errors='Required'; field='country', input='XX', errors='Invalid country'"
        );
    }

    #[test]
    fn media_types() {
        assert!(media_type_matches("application/json", JSON));
        assert!(media_type_matches("Application/JSON; charset=utf-8", JSON));
        assert!(media_type_matches("application/json;charset=UTF-8", JSON));
        assert!(media_type_matches(" application/json", JSON));
        assert!(!media_type_matches("application/json-patch+json", JSON));
        assert!(!media_type_matches("application/jsonx", JSON));
        assert!(!media_type_matches("application/xxx", JSON));
        assert!(!media_type_matches("", JSON));
        assert!(!media_type_matches("application/js", JSON));
    }

    #[test]
    fn parses_a_body() {
        let v = parse_json_body(Some("application/json"), br#"{"a":[1,2]}"#, &[JSON]).unwrap();
        assert_eq!(v, json!({"a": [1, 2]}));
        // Scalars and arrays parse too; the resource decides what it takes.
        assert_eq!(
            parse_json_body(Some("application/json"), b"[]", &[JSON]).unwrap(),
            json!([])
        );
    }

    #[test]
    fn refuses_other_media_types() {
        let e = parse_json_body(Some("text/plain"), b"{}", &[JSON]).unwrap_err();
        assert_eq!(e.status, 415);
        assert_eq!(
            e.message,
            "Unsupported media type 'text/plain', accepting application/json only."
        );
        let e = parse_json_body(None, b"{}", &[JSON]).unwrap_err();
        assert_eq!(e.status, 415);
        assert!(e.message.starts_with("Unsupported media type 'undefined'"));
        // The content type is checked before the body.
        assert_eq!(parse_json_body(None, b"", &[JSON]).unwrap_err().status, 415);
        // Several accepted types.
        let accept = ["application/json", "multipart/form-data"];
        assert!(parse_json_body(Some("multipart/form-data; boundary=x"), b"{}", &accept).is_ok());
        // An empty accept list means plain JSON.
        assert!(parse_json_body(Some("application/json"), b"{}", &[]).is_ok());
    }

    #[test]
    fn refuses_missing_and_malformed_bodies() {
        let ct = Some("application/json");
        assert_eq!(
            parse_json_body(ct, b"", &[JSON]).unwrap_err(),
            ApiError::missing_body()
        );
        let e = parse_json_body(ct, b"{\"a\":", &[JSON]).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message
                .starts_with("The entity is not a well-formed 'application/json' document. "),
            "{}",
            e.message
        );
        assert!(
            e.message.len() > "The entity is not a well-formed 'application/json' document. ".len()
        );
        assert_eq!(
            parse_json_body(ct, b"   ", &[JSON]).unwrap_err().status,
            400
        );
        assert_eq!(
            parse_json_body(ct, b"{} x", &[JSON]).unwrap_err().status,
            400
        );
        assert_eq!(
            parse_json_body(ct, b"\xff\xfe", &[JSON])
                .unwrap_err()
                .status,
            400
        );
        let e = parse_json_body(
            Some("application/json-patch+json"),
            b"[",
            &["application/json-patch+json"],
        )
        .unwrap_err();
        assert!(e.message.contains("'application/json-patch+json' document"));
    }

    #[test]
    fn limits_nesting() {
        let ct = Some("application/json");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_json_body(ct, ok.as_bytes(), &[JSON]).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = parse_json_body(ct, deep.as_bytes(), &[JSON]).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message.ends_with("Nesting exceeds 64 levels."),
            "{}",
            e.message
        );
        // Far deeper than serde_json's own limit, unterminated: no stack overflow, same answer.
        let hostile = "[{\"a\":".repeat(100_000);
        let e = parse_json_body(ct, hostile.as_bytes(), &[JSON]).unwrap_err();
        assert!(e.message.ends_with("Nesting exceeds 64 levels."));
        // Brackets inside strings, escaped quotes included, do not count.
        let s = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(200));
        assert_eq!(
            parse_json_body(ct, s.as_bytes(), &[JSON]).unwrap()["a"]
                .as_str()
                .unwrap()
                .len(),
            201
        );
        // Mixed objects and arrays count alike.
        let mixed = format!("{}1{}", "{\"k\":[".repeat(33), "]}".repeat(33));
        assert_eq!(
            parse_json_body(ct, mixed.as_bytes(), &[JSON])
                .unwrap_err()
                .status,
            400
        );
        let mixed = format!("{}1{}", "{\"k\":[".repeat(32), "]}".repeat(32));
        assert!(parse_json_body(ct, mixed.as_bytes(), &[JSON]).is_ok());
    }
}
