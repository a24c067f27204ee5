//! sipXconfig REST bodies: XML or JSON (picked by the content type the first byte selects, else
//! by the first character) under a known root, or refused with a message; what parses nests no
//! deeper than the parser's limit. The same bytes go through content negotiation as an Accept
//! header.

use serde_json::Value;
use switchyard::dialects::sipx::repr::{Media, negotiate, parse_bare_json, parse_body};

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("text/xml; charset=UTF-8"),
    Some("application/json"),
    Some("application/octet-stream"),
    None,
];
const ROOTS: &[&str] = &["call-sequence", "entry", "setting", "contact-information"];
/// The parser's limit, plus the root's own level in a JSON document.
const MAX_DEPTH: usize = 17;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&selector, body)) = data.split_first() else {
            return;
        };
        let content_type = CONTENT_TYPES[usize::from(selector % 4)];
        if let Ok(content) = parse_body(body, content_type, ROOTS) {
            assert!(depth(&content) <= MAX_DEPTH, "{content}");
        }
        if let Ok(content) = parse_bare_json(body) {
            assert!(content.is_object());
            assert!(depth(&content) <= MAX_DEPTH, "{content}");
        }
        if let Ok(accept) = std::str::from_utf8(body) {
            let offered = [Media::Xml, Media::Json, Media::Csv];
            if let Ok(media) = negotiate(Some(accept), &offered[..usize::from(selector % 3) + 1]) {
                assert!(offered.contains(&media));
            }
        }
    });
}
