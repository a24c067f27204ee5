//! C5 JSON bodies and json-patch: a body is parsed as JSON (400/415 when refused) or as a patch
//! (400/415); a patch that parses applies to a subscriber document or fails with 422 and leaves
//! the document unchanged. The first byte picks the content type and the allowed operations.

use serde_json::{Value, json};
use switchyard::dialects::c5::error::parse_json_body;
use switchyard::dialects::c5::patch::{self, ALL_OPS, PATCH_MEDIA_TYPE, REPLACE_COPY};

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some(PATCH_MEDIA_TYPE),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    None,
];

fn main() {
    let document = json!({
        "id": 7,
        "username": "alice",
        "domain": "example.org",
        "status": "active",
        "alias_numbers": [{"cc": "49", "ac": "30", "sn": "1234"}, {"cc": "49", "ac": "30", "sn": "5678"}],
        "display_name": null,
        "lock": 0,
        "profile_set": {"id": 1, "name": "basic"}
    });
    afl::fuzz!(|data: &[u8]| {
        let Some((&selector, body)) = data.split_first() else {
            return;
        };
        let content_type = CONTENT_TYPES[usize::from(selector % 4)];
        if let Err(e) = parse_json_body(content_type, body, &[]) {
            assert!(matches!(e.status, 400 | 415), "{e:?}");
        }
        let allowed = if selector & 4 == 0 {
            ALL_OPS
        } else {
            REPLACE_COPY
        };
        let ops = match patch::parse(content_type, body, allowed) {
            Ok(ops) => ops,
            Err(e) => {
                assert!(matches!(e.status, 400 | 415), "{e:?}");
                return;
            }
        };
        let mut doc: Value = document.clone();
        if let Err(e) = patch::apply(&mut doc, &ops) {
            assert_eq!(e.status, 422, "{e:?}");
            assert_eq!(doc, document, "a failed patch changed the document");
        }
    });
}
