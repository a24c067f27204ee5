//! `my/forward` (`call-sequence`, XML or JSON) and `my/callfwd` (a JSON bean): two views of the
//! subscriber's call sequence, which is itself a view of the core forwarding.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value as Json;

use super::repr::{self, Doc, Fields, Item, Media};
use super::{Answer, Mine, Refusal, document, done};
use crate::core::call_sequence::{CallSequence, DEFAULT_RING_EXPIRATION, Ring};

const IF_NO_RESPONSE: &str = "If no response";
const AT_THE_SAME_TIME: &str = "At the same time";
/// The root names a call sequence is accepted under (`callsequence` from old clients).
const ROOTS: [&str; 2] = ["call-sequence", "callsequence"];

fn ring_type(ring: &Ring) -> &'static str {
    if ring.simultaneous {
        AT_THE_SAME_TIME
    } else {
        IF_NO_RESPONSE
    }
}

fn ring_item(ring: &Ring) -> Item {
    Item::Record(vec![
        ("expiration", Item::Int(ring.expiration)),
        ("type", Item::text(ring_type(ring))),
        ("enabled", Item::Bool(ring.enabled)),
        ("number", Item::text(&ring.number)),
    ])
}

fn rings(seq: &CallSequence) -> Item {
    Item::List {
        item: "ring",
        items: seq.rings.iter().map(ring_item).collect(),
    }
}

/// A ring as a client sends it; `position` and other unknown fields are ignored.
fn parse_ring(index: usize, value: &Json) -> Result<Ring, String> {
    let at = |e: String| format!("ring {}: {e}", index + 1);
    let fields = Fields(value);
    let number = fields
        .text("number")
        .map_err(at)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| at("'number' is required".into()))?;
    let simultaneous = match fields.text("type").map_err(at)?.as_deref().map(str::trim) {
        None | Some("" | IF_NO_RESPONSE) => false,
        Some(AT_THE_SAME_TIME) => true,
        Some(other) => {
            return Err(at(format!(
                "'type' must be '{IF_NO_RESPONSE}' or '{AT_THE_SAME_TIME}', not '{other}'"
            )));
        }
    };
    Ok(Ring {
        number: number.trim().to_string(),
        expiration: fields
            .int("expiration")
            .map_err(at)?
            .unwrap_or(DEFAULT_RING_EXPIRATION),
        simultaneous,
        enabled: fields.bool("enabled").map_err(at)?.unwrap_or(true),
    })
}

fn parse_sequence(content: &Json) -> Result<(Vec<Ring>, Option<i64>), Refusal> {
    if !content.is_object() && content.as_str() != Some("") {
        return Err(Refusal::bad_request(
            "a call sequence holds 'rings' and 'expiration'",
        ));
    }
    let fields = Fields(content);
    let rings = fields
        .list("rings", "ring")
        .map_err(Refusal::bad_request)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| parse_ring(i, r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Refusal::bad_request)?;
    let expiration = fields.int("expiration").map_err(Refusal::bad_request)?;
    Ok((rings, expiration))
}

pub async fn get_forward(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let seq = mine
        .state
        .core
        .get_call_sequence(&mine.actor, mine.subscriber_id)
        .await?;
    let doc = Doc::new(
        "call-sequence",
        Item::Record(vec![
            ("rings", rings(&seq)),
            ("expiration", Item::Int(seq.expiration)),
            ("withVoicemail", Item::Bool(seq.with_voicemail)),
        ]),
    );
    Ok(document(media, &doc))
}

pub async fn put_forward(mine: &Mine<'_>) -> Answer {
    let content = mine.parse(&ROOTS)?;
    let (rings, expiration) = parse_sequence(&content)?;
    mine.state
        .core
        .set_call_sequence(&mine.actor, mine.subscriber_id, rings, expiration)
        .await?;
    Ok(done())
}

/// `my/callfwd`: the same sequence as a bare JSON bean,
/// `{"rings":[{expiration,type,enabled,number}],"withVM":bool,"expiration":int}`.
pub async fn get_callfwd(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Json])?;
    let seq = mine
        .state
        .core
        .get_call_sequence(&mine.actor, mine.subscriber_id)
        .await?;
    let bean = Item::Record(vec![
        ("rings", rings(&seq)),
        ("withVM", Item::Bool(seq.with_voicemail)),
        ("expiration", Item::Int(seq.expiration)),
    ]);
    let mut response = (StatusCode::OK, repr::bare_json(&bean)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    Ok(response)
}

pub async fn put_callfwd(mine: &Mine<'_>) -> Answer {
    if repr::is_dummy_body(mine.body) {
        return Err(Refusal::bad_request(
            "this request needs a body: {\"rings\":[...],\"expiration\":N}",
        ));
    }
    let content = repr::parse_bare_json(mine.body).map_err(Refusal::bad_request)?;
    let (rings, expiration) = parse_sequence(&content)?;
    mine.state
        .core
        .set_call_sequence(&mine.actor, mine.subscriber_id, rings, expiration)
        .await?;
    Ok(done())
}
