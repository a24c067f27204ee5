//! sipXconfig's representations, written once for every resource: a document is a tree of
//! [`Item`]s under a root name, rendered as XStream-style XML (no prolog, two-space indent) or as
//! JSON wrapped in a single key named after the root; request bodies in either form are read into
//! one neutral shape ([`Json`]) that the resources pick their fields from, leniently (numbers and
//! booleans may come as strings, unknown fields are ignored).

use std::fmt::Write as _;

use quick_xml::events::{BytesRef, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value as Json};

/// The deepest element nesting a request may have.
const MAX_DEPTH: usize = 16;
/// The most elements a request may have.
const MAX_ELEMENTS: usize = 10_000;

/// The media types sipXconfig serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Xml,
    Json,
    Csv,
}

impl Media {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "text/xml; charset=UTF-8",
            Self::Json => "application/json; charset=UTF-8",
            Self::Csv => "text/comma-separated-values; charset=UTF-8",
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Self::Xml => &["text/xml", "application/xml"],
            Self::Json => &["application/json", "text/json"],
            Self::Csv => &["text/comma-separated-values", "text/csv"],
        }
    }

    pub fn label(self) -> &'static str {
        self.names()[0]
    }
}

/// Picks the variant the `Accept` header prefers among `offered` (in the resource's order). No
/// header, only wildcards, or equal preferences give the first offered variant, as Restlet does;
/// an `Accept` naming only types the resource does not have is refused with the offered ones.
pub fn negotiate(accept: Option<&str>, offered: &[Media]) -> Result<Media, String> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(offered[0]);
    };
    let mut best: Option<(u32, usize)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if !(0.0..=1.0).contains(&quality) {
            return Err(format!("bad quality in Accept '{}'", range.trim()));
        }
        // Quality in thousandths; an exact type beats a wildcard of the same quality.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=1 checked above
        let weight = (quality * 1000.0) as u32 * 2;
        if weight == 0 {
            continue;
        }
        for (index, media) in offered.iter().enumerate() {
            let score = if media.names().contains(&name.as_str()) {
                weight + 1
            } else if name == "*/*"
                || (name.ends_with("/*") && media.label().starts_with(&name[..name.len() - 1]))
            {
                weight
            } else {
                continue;
            };
            if best.is_none_or(|(s, i)| score > s || (score == s && index < i)) {
                best = Some((score, index));
            }
        }
    }
    best.map(|(_, i)| offered[i]).ok_or_else(|| {
        let names: Vec<&str> = offered.iter().map(|m| m.label()).collect();
        format!(
            "none of the types in Accept '{accept}' is served here; this resource offers {}",
            names.join(", ")
        )
    })
}

/// A value of a representation.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    Int(i64),
    Bool(bool),
    /// Fields in order: child elements in XML, an object in JSON.
    Record(Vec<(&'static str, Item)>),
    /// In XML each item is an element named `item` inside the list's element; in JSON an array.
    List {
        item: &'static str,
        items: Vec<Item>,
    },
}

impl Item {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }
}

/// A whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub root: &'static str,
    pub body: Item,
    /// Phonebook XML is a DOM serializer's: it starts with an XML declaration and writes empty
    /// text as `<name/>`; XStream's has neither.
    pub dom_style: bool,
}

impl Doc {
    pub fn new(root: &'static str, body: Item) -> Self {
        Self {
            root,
            body,
            dom_style: false,
        }
    }

    /// A document in phonebook (DOM) style.
    pub fn dom(root: &'static str, body: Item) -> Self {
        Self {
            root,
            body,
            dom_style: true,
        }
    }

    pub fn render(&self, media: Media) -> String {
        match media {
            Media::Json => {
                let mut out = String::from("{");
                write_json_key(&mut out, self.root);
                write_json(&mut out, &self.body);
                out.push('}');
                out
            }
            Media::Xml | Media::Csv => {
                let mut out = String::new();
                if self.dom_style {
                    out.push_str(PROLOG);
                }
                write_xml(&mut out, self.root, &self.body, 0, self.dom_style);
                out
            }
        }
    }
}

/// A JSON bean without the root wrapper (`my/callfwd` and the other JSON-only resources).
pub fn bare_json(item: &Item) -> String {
    let mut out = String::new();
    write_json(&mut out, item);
    out
}

fn write_json_key(out: &mut String, key: &str) {
    out.push_str(&Json::from(key).to_string());
    out.push(':');
}

/// JSON in the fields' own order (serde_json's map would sort them).
fn write_json(out: &mut String, item: &Item) {
    match item {
        Item::Text(s) => out.push_str(&Json::from(s.as_str()).to_string()),
        Item::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Item::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Item::Record(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_key(out, k);
                write_json(out, v);
            }
            out.push('}');
        }
        Item::List { items, .. } => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v);
            }
            out.push(']');
        }
    }
}

/// Escapes text for XML content.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::partial_escape(text)
}

/// The declaration phonebook XML starts with.
pub const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";

fn write_xml(out: &mut String, name: &str, item: &Item, depth: usize, dom: bool) {
    let indent = "  ".repeat(depth);
    match item {
        Item::Text(s) if dom && s.is_empty() => {
            let _ = write!(out, "{indent}<{name}/>");
        }
        Item::Text(s) => {
            let _ = write!(out, "{indent}<{name}>{}</{name}>", escape(s));
        }
        Item::Int(i) => {
            let _ = write!(out, "{indent}<{name}>{i}</{name}>");
        }
        Item::Bool(b) => {
            let _ = write!(out, "{indent}<{name}>{b}</{name}>");
        }
        Item::Record(fields) if fields.is_empty() => {
            let _ = write!(out, "{indent}<{name}/>");
        }
        Item::List { items, .. } if items.is_empty() => {
            let _ = write!(out, "{indent}<{name}/>");
        }
        Item::Record(fields) => {
            let _ = writeln!(out, "{indent}<{name}>");
            for (k, v) in fields {
                write_xml(out, k, v, depth + 1, dom);
                out.push('\n');
            }
            let _ = write!(out, "{indent}</{name}>");
        }
        Item::List { item, items } => {
            let _ = writeln!(out, "{indent}<{name}>");
            for v in items {
                write_xml(out, item, v, depth + 1, dom);
                out.push('\n');
            }
            let _ = write!(out, "{indent}</{name}>");
        }
    }
}

/// Whether a PUT body carries nothing: empty, or a dummy (a space, `+`) that clients send
/// because Restlet 1.x refused body-less PUTs.
pub fn is_dummy_body(body: &[u8]) -> bool {
    let trimmed = body.trim_ascii();
    trimmed.is_empty() || trimmed == b"+"
}

/// Reads a request body as XML or JSON (by its `Content-Type`, else by its first character)
/// whose root must be one of `roots`; answers the root's content.
pub fn parse_body(body: &[u8], content_type: Option<&str>, roots: &[&str]) -> Result<Json, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    let as_json = if ct.contains("json") {
        true
    } else if ct.contains("xml") {
        false
    } else {
        trimmed.starts_with('{')
    };
    let (root, content) = if as_json {
        parse_json(trimmed)?
    } else {
        parse_xml(trimmed)?
    };
    if !roots.contains(&root.as_str()) {
        return Err(format!(
            "unknown root '{root}': expected {}",
            roots
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(content)
}

fn depth_of(value: &Json) -> usize {
    match value {
        Json::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
        Json::Object(o) => 1 + o.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON-only resource's body: an object, not wrapped.
pub fn parse_bare_json(body: &[u8]) -> Result<Json, String> {
    let value: Json = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    if depth_of(&value) > MAX_DEPTH {
        return Err(format!("JSON nested deeper than {MAX_DEPTH} levels"));
    }
    if !value.is_object() {
        return Err("the body must be a JSON object".into());
    }
    Ok(value)
}

fn parse_json(text: &str) -> Result<(String, Json), String> {
    let value: Json = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    if depth_of(&value) > MAX_DEPTH {
        return Err(format!("JSON nested deeper than {MAX_DEPTH} levels"));
    }
    match value {
        Json::Object(map) if map.len() == 1 => Ok(map.into_iter().next().unwrap_or_default()),
        _ => Err(
            "the JSON body must be an object with one key, the root name (as \
                  {\"call-sequence\":{...}})"
                .into(),
        ),
    }
}

/// One open element while reading XML: its name, its children so far, its text.
struct Open {
    name: String,
    children: Vec<(String, Json)>,
    text: String,
}

impl Open {
    fn new(name: String) -> Self {
        Self {
            name,
            children: Vec::new(),
            text: String::new(),
        }
    }

    /// An element with child elements is an object (repeated names gather into an array); one
    /// without is its text.
    fn close(self) -> (String, Json) {
        if self.children.is_empty() {
            return (self.name, Json::String(self.text.trim().to_string()));
        }
        let mut map = Map::new();
        for (k, v) in self.children {
            match map.get_mut(&k) {
                Some(Json::Array(items)) => items.push(v),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Json::Array(vec![first, v]);
                }
                None => {
                    map.insert(k, v);
                }
            }
        }
        (self.name, Json::Object(map))
    }
}

fn reference_text(reference: &BytesRef<'_>) -> Result<String, String> {
    let name: &str = reference;
    Ok(match name {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "apos" => "'".into(),
        "quot" => "\"".into(),
        _ => reference
            .resolve_char_ref()
            .map_err(|e| format!("bad character reference &{name};: {e}"))?
            .ok_or_else(|| format!("undefined entity &{name};"))?
            .to_string(),
    })
}

fn parse_xml(text: &str) -> Result<(String, Json), String> {
    if text.is_empty() {
        return Err("the body is empty; send an XML or JSON document".into());
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Open> = Vec::new();
    let mut elements = 0usize;
    let mut done: Option<(String, Json)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                if done.is_some() {
                    return Err("malformed XML: more than one root element".into());
                }
                elements += 1;
                if elements > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "XML too large: at most {MAX_ELEMENTS} elements, {MAX_DEPTH} levels deep"
                    ));
                }
                let local = start.local_name();
                let name = local.into_inner().to_owned();
                stack.push(Open::new(name));
            }
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    return Err("malformed XML: unexpected end tag".into());
                };
                let closed = open.close();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(closed),
                    None => done = Some(closed),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err("malformed XML: text outside the root element".into()),
                }
            }
            Event::CData(c) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = reference_text(&r)?;
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&resolved);
                }
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) => return Err("DTDs are not accepted".into()),
            Event::PI(_) => return Err("processing instructions are not accepted".into()),
            Event::Eof => break,
            Event::Empty(_) => unreachable!("expand_empty_elements splits empty elements"),
        }
    }
    if !stack.is_empty() {
        return Err("malformed XML: the document ends inside an element".into());
    }
    done.ok_or_else(|| "malformed XML: no root element".into())
}

// ---- reading fields leniently ------------------------------------------------------------------

/// A field of a request document, read as XML and JSON clients write it.
pub struct Fields<'a>(pub &'a Json);

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Json> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(Json::Number(n)) => Ok(Some(n.to_string())),
            Some(Json::Bool(b)) => Ok(Some(b.to_string())),
            Some(Json::Object(o)) if o.is_empty() => Ok(Some(String::new())),
            Some(_) => Err(format!("'{key}' must be text")),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("'{key}' must be a whole number, not {n}")),
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("'{key}' must be a whole number, not '{s}'")),
            Some(other) => Err(format!("'{key}' must be a whole number, not {other}")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(format!("'{key}' must be true or false, not '{s}'")),
            },
            Some(other) => Err(format!("'{key}' must be true or false, not {other}")),
        }
    }

    /// A list written as a JSON array, as XML's `<list><item/>...</list>` (one item or several),
    /// or as the wiki's wrapped `{"list":{"item":[...]}}`; empty text is an empty list.
    pub fn list(&self, key: &str, item: &str) -> Result<Vec<&'a Json>, String> {
        let items = |v: &'a Json| -> Result<Vec<&'a Json>, String> {
            match v {
                Json::Array(a) => Ok(a.iter().collect()),
                Json::Object(_) => Ok(vec![v]),
                _ => Err(format!("'{key}' must hold '{item}' entries")),
            }
        };
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Json::Array(a)) => Ok(a.iter().collect()),
            Some(Json::String(s)) if s.is_empty() => Ok(Vec::new()),
            Some(Json::Object(o)) => match o.get(item) {
                Some(inner) => items(inner),
                None if o.is_empty() => Ok(Vec::new()),
                None => Err(format!("'{key}' must hold '{item}' entries")),
            },
            Some(_) => Err(format!("'{key}' must be a list of '{item}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_preferred_offered_type_or_the_first() {
        let offered = [Media::Xml, Media::Json];
        assert_eq!(negotiate(None, &offered), Ok(Media::Xml));
        assert_eq!(negotiate(Some("*/*"), &offered), Ok(Media::Xml));
        assert_eq!(
            negotiate(Some("application/json"), &offered),
            Ok(Media::Json)
        );
        assert_eq!(
            negotiate(Some("text/xml;q=0.5, application/json"), &offered),
            Ok(Media::Json)
        );
        assert_eq!(
            negotiate(Some("application/json;q=0.2, */*"), &offered),
            Ok(Media::Xml)
        );
        assert_eq!(negotiate(Some("text/*"), &offered), Ok(Media::Xml));
        assert!(negotiate(Some("image/png"), &offered).is_err());
        assert!(negotiate(Some("application/json;q=0"), &offered).is_err());
    }

    #[test]
    fn xml_and_json_read_into_the_same_shape() {
        let xml = "<call-sequence><rings><ring><number>1</number></ring>\
                   <ring><number>2</number></ring></rings><expiration>5</expiration>\
                   <withVoicemail/></call-sequence>";
        let from_xml = parse_body(xml.as_bytes(), None, &["call-sequence"]).unwrap();
        let fields = Fields(&from_xml);
        assert_eq!(fields.list("rings", "ring").unwrap().len(), 2);
        assert_eq!(fields.int("expiration").unwrap(), Some(5));
        let json = r#"{"call-sequence":{"rings":[{"number":"1"}],"expiration":5}}"#;
        let from_json = parse_body(json.as_bytes(), None, &["call-sequence"]).unwrap();
        assert_eq!(Fields(&from_json).list("rings", "ring").unwrap().len(), 1);
        assert!(parse_body(b"<other/>", None, &["call-sequence"]).is_err());
        assert!(parse_body(b"<call-sequence>", None, &["call-sequence"]).is_err());
        assert!(parse_body(b"{\"a\":1,\"b\":2}", None, &["a"]).is_err());
        assert!(parse_body(b"<!DOCTYPE x><x/>", None, &["x"]).is_err());
        let deep = format!("{}{}", "<a>".repeat(20), "</a>".repeat(20));
        assert!(parse_body(deep.as_bytes(), None, &["a"]).is_err());
    }

    #[test]
    fn documents_render_as_xstream_xml_and_wrapped_json() {
        let doc = Doc::new(
            "root",
            Item::Record(vec![
                ("name", Item::text("a<b")),
                ("count", Item::Int(2)),
                ("empty", Item::Record(Vec::new())),
                (
                    "items",
                    Item::List {
                        item: "item",
                        items: vec![Item::Bool(true)],
                    },
                ),
            ]),
        );
        assert_eq!(
            doc.render(Media::Xml),
            "<root>\n  <name>a&lt;b</name>\n  <count>2</count>\n  <empty/>\n  <items>\n    \
             <item>true</item>\n  </items>\n</root>"
        );
        assert_eq!(
            doc.render(Media::Json),
            r#"{"root":{"name":"a<b","count":2,"empty":{},"items":[true]}}"#
        );
    }
}
