//! HAL+JSON documents as ngcp-panel writes them (c5.md §2).
//!
//! Two habits of the original matter to clients: keys come sorted and pretty-printed by Perl's
//! JSON module, and a relation with exactly one element is a bare object while two or more are
//! an array (seed 004 reads `_embedded.'ngcp:billingprofiles'.id` and relies on it).

use serde_json::{Map, Value, json};

use super::paging::Nav;

/// The profile link of every document, and the base of the `ngcp` CURIE.
pub const PROFILE: &str = "http://purl.org/sipwise/ngcp-api/";

/// The Content-Type of HAL answers.
pub const HAL_CONTENT_TYPE: &str =
    "application/hal+json; profile=\"http://purl.org/sipwise/ngcp-api/\"";

/// The indent of Perl's `JSON->pretty`.
const INDENT: &str = "   ";

/// Pretty JSON as Perl's `JSON->canonical->pretty` writes it: keys sorted, three-space indent,
/// `"key" : value`, one element per line, empty `{}` and `[]` compact, trailing newline.
/// Keys are sorted here rather than trusted to the map type, so the output stays canonical
/// even if serde_json's `preserve_order` gets enabled by another crate.
pub fn to_pretty(v: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                push_indent(out, depth + 1);
                write_pretty(out, item, depth + 1);
            }
            out.push('\n');
            push_indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push_str("{\n");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                push_indent(out, depth + 1);
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push_str(" : ");
                write_pretty(out, value, depth + 1);
            }
            out.push('\n');
            push_indent(out, depth);
            out.push('}');
        }
        // Scalars and empty containers: serde_json's compact form matches Perl's.
        other => out.push_str(&other.to_string()),
    }
}

fn push_indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

/// A relation link of an item, e.g. rel `ngcp:customercontacts` to `/api/customercontacts/5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub rel: String,
    pub href: String,
}

impl Relation {
    pub fn new(rel: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            rel: rel.into(),
            href: href.into(),
        }
    }

    /// The usual relation to another resource's item: `ngcp:<res>` → `/api/<res>/<id>`.
    pub fn ngcp(res: &str, id: i64) -> Self {
        Self::new(format!("ngcp:{res}"), format!("/api/{res}/{id}"))
    }
}

/// One element as a bare value, several as an array; `None` for none, so the key is left out.
fn one_or_many(mut values: Vec<Value>) -> Option<Value> {
    match values.len() {
        0 => None,
        1 => values.pop(),
        _ => Some(Value::Array(values)),
    }
}

fn link(href: impl Into<String>) -> Value {
    json!({ "href": href.into() })
}

fn curies() -> Value {
    json!({ "href": format!("{PROFILE}#rel-{{rel}}"), "name": "ngcp", "templated": true })
}

/// An item's `_links`: self, collection, profile, curies and the relations; relations sharing
/// a rel become one array, a lone one stays an object. The standard links win over a relation
/// that reuses their names.
pub fn item_links(res: &str, id: i64, relations: &[Relation]) -> Value {
    let mut grouped: Vec<(&str, Vec<Value>)> = Vec::new();
    for r in relations {
        match grouped.iter_mut().find(|(rel, _)| *rel == r.rel) {
            Some((_, links)) => links.push(link(&r.href)),
            None => grouped.push((&r.rel, vec![link(&r.href)])),
        }
    }
    let mut links = Map::new();
    for (rel, group) in grouped {
        if let Some(v) = one_or_many(group) {
            links.insert(rel.to_owned(), v);
        }
    }
    links.insert("self".into(), link(format!("/api/{res}/{id}")));
    links.insert("collection".into(), link(format!("/api/{res}/")));
    links.insert("profile".into(), link(PROFILE));
    links.insert("curies".into(), curies());
    Value::Object(links)
}

/// The item document: its fields plus `_links`.
pub fn item(res: &str, id: i64, mut fields: Map<String, Value>, relations: &[Relation]) -> Value {
    fields.insert("_links".into(), item_links(res, id, relations));
    Value::Object(fields)
}

/// A collection page: `_embedded."ngcp:<res>"` with the items, `_links` with curies, profile,
/// self, next/prev and one `ngcp:<res>` href per item, and `total_count` (null when not
/// counted). An empty page has neither `_embedded` nor `_links."ngcp:<res>"`.
pub fn collection(
    res: &str,
    items: Vec<(i64, Value)>,
    nav: &Nav,
    total_count: Option<u64>,
) -> Value {
    let rel = format!("ngcp:{res}");
    let hrefs: Vec<Value> = items
        .iter()
        .map(|(id, _)| link(format!("/api/{res}/{id}")))
        .collect();

    let mut links = Map::new();
    links.insert("curies".into(), curies());
    links.insert("profile".into(), link(PROFILE));
    links.insert("self".into(), link(&nav.self_href));
    if let Some(next) = &nav.next {
        links.insert("next".into(), link(next));
    }
    if let Some(prev) = &nav.prev {
        links.insert("prev".into(), link(prev));
    }
    if let Some(v) = one_or_many(hrefs) {
        links.insert(rel.clone(), v);
    }

    let mut doc = Map::new();
    if let Some(v) = one_or_many(items.into_iter().map(|(_, item)| item).collect()) {
        doc.insert("_embedded".into(), json!({ rel: v }));
    }
    doc.insert("_links".into(), Value::Object(links));
    doc.insert(
        "total_count".into(),
        total_count.map_or(Value::Null, Value::from),
    );
    Value::Object(doc)
}

/// The `Link` header values of a document: one `<href>; rel="..."` per link but curies, in
/// key order, arrays giving one per element. As in the original, `ngcp:` relations are written
/// as the expanded CURIE (`http://purl.org/sipwise/ngcp-api/#rel-<res>`), and on an item GET
/// (`item_get`) self's rel is "item self".
pub fn link_headers(doc: &Value, item_get: bool) -> Vec<String> {
    let Some(links) = doc.get("_links").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut rels: Vec<&String> = links.keys().filter(|k| *k != "curies").collect();
    rels.sort_unstable();
    let mut headers = Vec::new();
    for rel in rels {
        let shown = match rel.strip_prefix("ngcp:") {
            Some(name) => format!("{PROFILE}#rel-{name}"),
            None if item_get && rel == "self" => "item self".to_owned(),
            None => rel.clone(),
        };
        let targets = match &links[rel.as_str()] {
            Value::Array(many) => many.iter().collect(),
            one => vec![one],
        };
        for target in targets {
            if let Some(href) = target.get("href").and_then(Value::as_str) {
                headers.push(format!("<{href}>; rel=\"{shown}\""));
            }
        }
    }
    headers
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::paging;
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn pretty_matches_perl() {
        let v = json!({
            "zeta": [1, {"b": null, "a": true}],
            "alpha": "x",
            "empty_o": {},
            "empty_a": [],
            "n": -1.5
        });
        let expected = "{\n   \"alpha\" : \"x\",\n   \"empty_a\" : [],\n   \"empty_o\" : {},\n   \"n\" : -1.5,\n   \"zeta\" : [\n      1,\n      {\n         \"a\" : true,\n         \"b\" : null\n      }\n   ]\n}\n";
        assert_eq!(to_pretty(&v), expected);
        assert_eq!(to_pretty(&json!([])), "[]\n");
        assert_eq!(to_pretty(&json!({})), "{}\n");
        assert_eq!(to_pretty(&json!(42)), "42\n");
        assert_eq!(to_pretty(&json!(null)), "null\n");
    }

    #[test]
    fn pretty_escapes_and_round_trips() {
        let v = json!({"k\"ey": "a\"b\\c\n\u{1}/\u{e9}", "nested": [[[]], [{}]]});
        let s = to_pretty(&v);
        assert!(
            s.contains("\"k\\\"ey\" : \"a\\\"b\\\\c\\n\\u0001/\u{e9}\""),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }

    #[test]
    fn pretty_sorts_by_code_point() {
        let v = json!({"b": 1, "B": 2, "a": 3, "\u{e9}": 4, "_links": 5});
        let s = to_pretty(&v);
        let order: Vec<usize> = ["\"B\"", "\"_links\"", "\"a\"", "\"b\"", "\"\u{e9}\""]
            .iter()
            .map(|k| s.find(k).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{s}");
    }

    #[test]
    fn item_has_standard_links() {
        let doc = item(
            "customercontacts",
            5,
            fields(json!({"id": 5, "email": "a@b.c"})),
            &[Relation::ngcp("resellers", 1)],
        );
        assert_eq!(
            doc,
            json!({
                "id": 5,
                "email": "a@b.c",
                "_links": {
                    "self": {"href": "/api/customercontacts/5"},
                    "collection": {"href": "/api/customercontacts/"},
                    "profile": {"href": "http://purl.org/sipwise/ngcp-api/"},
                    "curies": {
                        "href": "http://purl.org/sipwise/ngcp-api/#rel-{rel}",
                        "name": "ngcp",
                        "templated": true
                    },
                    "ngcp:resellers": {"href": "/api/resellers/1"}
                }
            })
        );
    }

    #[test]
    fn relations_sharing_a_rel_become_an_array() {
        let links = item_links(
            "customers",
            9,
            &[
                Relation::ngcp("billingprofiles", 1),
                Relation::ngcp("customercontacts", 3),
                Relation::ngcp("billingprofiles", 2),
                Relation::new("ngcp:journal", "/api/customers/9/journal/"),
                Relation::new("self", "/elsewhere"),
            ],
        );
        assert_eq!(
            links["ngcp:billingprofiles"],
            json!([{"href": "/api/billingprofiles/1"}, {"href": "/api/billingprofiles/2"}])
        );
        assert_eq!(
            links["ngcp:customercontacts"],
            json!({"href": "/api/customercontacts/3"})
        );
        assert_eq!(
            links["ngcp:journal"],
            json!({"href": "/api/customers/9/journal/"})
        );
        assert_eq!(links["self"], json!({"href": "/api/customers/9"}));
        assert_eq!(item_links("x", 1, &[]).as_object().unwrap().len(), 4);
    }

    fn nav(raw: &str, has_next: bool) -> Nav {
        paging::nav("domains", &paging::parse(Some(raw)).unwrap(), has_next)
    }

    #[test]
    fn collection_of_one_is_an_object() {
        let it = item("domains", 4, fields(json!({"id": 4})), &[]);
        let doc = collection(
            "domains",
            vec![(4, it.clone())],
            &nav("rows=1", false),
            Some(1),
        );
        assert_eq!(doc["_embedded"]["ngcp:domains"], it);
        assert_eq!(doc["_embedded"]["ngcp:domains"]["id"], 4);
        assert_eq!(
            doc["_links"]["ngcp:domains"],
            json!({"href": "/api/domains/4"})
        );
        assert_eq!(
            doc["_links"]["self"],
            json!({"href": "/api/domains/?page=1&rows=1"})
        );
        assert_eq!(doc["_links"]["profile"], json!({"href": PROFILE}));
        assert_eq!(doc["_links"]["curies"]["name"], "ngcp");
        assert!(doc["_links"].get("next").is_none() && doc["_links"].get("prev").is_none());
        assert_eq!(doc["total_count"], 1);
        assert_eq!(doc.as_object().unwrap().len(), 3);
    }

    #[test]
    fn collection_of_several_is_an_array() {
        let items: Vec<(i64, Value)> = [1, 2, 3]
            .into_iter()
            .map(|id| (id, item("domains", id, fields(json!({"id": id})), &[])))
            .collect();
        let doc = collection("domains", items, &nav("page=2&rows=3", true), None);
        let embedded = doc["_embedded"]["ngcp:domains"].as_array().unwrap();
        assert_eq!(embedded.len(), 3);
        assert_eq!(embedded[2]["_links"]["self"]["href"], "/api/domains/3");
        assert_eq!(
            doc["_links"]["ngcp:domains"],
            json!([
                {"href": "/api/domains/1"},
                {"href": "/api/domains/2"},
                {"href": "/api/domains/3"}
            ])
        );
        assert_eq!(doc["_links"]["next"]["href"], "/api/domains/?page=3&rows=3");
        assert_eq!(doc["_links"]["prev"]["href"], "/api/domains/?page=1&rows=3");
        assert_eq!(doc["total_count"], Value::Null);
        assert!(doc.as_object().unwrap().contains_key("total_count"));
    }

    #[test]
    fn empty_collection_has_no_embedded() {
        let doc = collection("domains", Vec::new(), &nav("page=5", false), Some(0));
        assert!(doc.get("_embedded").is_none());
        assert!(doc["_links"].get("ngcp:domains").is_none());
        assert_eq!(
            doc["_links"]["prev"]["href"],
            "/api/domains/?page=4&rows=10"
        );
        assert_eq!(doc["total_count"], 0);
    }

    #[test]
    fn link_headers_for_an_item() {
        let doc = item(
            "customers",
            9,
            Map::new(),
            &[
                Relation::ngcp("billingprofiles", 1),
                Relation::ngcp("billingprofiles", 2),
                Relation::ngcp("customercontacts", 3),
            ],
        );
        assert_eq!(
            link_headers(&doc, true),
            vec![
                "</api/customers/>; rel=\"collection\"",
                "</api/billingprofiles/1>; rel=\"http://purl.org/sipwise/ngcp-api/#rel-billingprofiles\"",
                "</api/billingprofiles/2>; rel=\"http://purl.org/sipwise/ngcp-api/#rel-billingprofiles\"",
                "</api/customercontacts/3>; rel=\"http://purl.org/sipwise/ngcp-api/#rel-customercontacts\"",
                "<http://purl.org/sipwise/ngcp-api/>; rel=\"profile\"",
                "</api/customers/9>; rel=\"item self\"",
            ]
        );
        let plain = link_headers(&doc, false);
        assert_eq!(plain.last().unwrap(), "</api/customers/9>; rel=\"self\"");
        assert!(plain.iter().all(|h| !h.contains("rel-{rel}")));
    }

    #[test]
    fn link_headers_for_a_collection() {
        let it = item("domains", 4, Map::new(), &[]);
        let doc = collection(
            "domains",
            vec![(4, it)],
            &nav("page=2&rows=1", true),
            Some(3),
        );
        assert_eq!(
            link_headers(&doc, false),
            vec![
                "</api/domains/?page=3&rows=1>; rel=\"next\"",
                "</api/domains/4>; rel=\"http://purl.org/sipwise/ngcp-api/#rel-domains\"",
                "</api/domains/?page=1&rows=1>; rel=\"prev\"",
                "<http://purl.org/sipwise/ngcp-api/>; rel=\"profile\"",
                "</api/domains/?page=2&rows=1>; rel=\"self\"",
            ]
        );
        assert!(link_headers(&json!({"a": 1}), false).is_empty());
    }
}
