//! The resource table: each `/api/` collection, its verbs, PATCH operations and links, and the
//! conversions between its JSON documents and the core's fields. The root document, OPTIONS and
//! the OpenAPI description are generated from this table and the core's field definitions.

use serde_json::{Map, Value, json};

use super::hal::Relation;
use super::patch::{ALL_OPS, REPLACE_COPY};
use crate::core::attrs::{AttrDef, Field, Fields, Kind};
use crate::core::records::Record;
use crate::core::resources::Collection;

/// One `/api/<name>/` collection.
pub struct Resource {
    pub name: &'static str,
    pub collection: Collection,
    /// Verbs of the collection URL, besides OPTIONS and HEAD.
    pub collection_verbs: &'static [&'static str],
    /// Verbs of the item URL, besides OPTIONS and HEAD.
    pub item_verbs: &'static [&'static str],
    pub patch_ops: &'static [&'static str],
    /// `(relation, field holding the id)`: links to other collections' items.
    pub relations: &'static [(&'static str, &'static str)],
}

const READ_WRITE: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];
const NO_DELETE: &[&str] = &["GET", "PUT", "PATCH"];
const LIST_CREATE: &[&str] = &["GET", "POST"];

pub static RESOURCES: &[Resource] = &[
    Resource {
        name: "resellers",
        collection: Collection::Resellers,
        collection_verbs: LIST_CREATE,
        item_verbs: NO_DELETE,
        patch_ops: REPLACE_COPY,
        relations: &[],
    },
    Resource {
        name: "admins",
        collection: Collection::Admins,
        collection_verbs: LIST_CREATE,
        item_verbs: READ_WRITE,
        patch_ops: ALL_OPS,
        relations: &[("resellers", "reseller_id")],
    },
    Resource {
        name: "systemcontacts",
        collection: Collection::SystemContacts,
        collection_verbs: LIST_CREATE,
        item_verbs: READ_WRITE,
        patch_ops: REPLACE_COPY,
        relations: &[],
    },
    Resource {
        name: "customercontacts",
        collection: Collection::CustomerContacts,
        collection_verbs: LIST_CREATE,
        item_verbs: READ_WRITE,
        patch_ops: REPLACE_COPY,
        relations: &[("resellers", "reseller_id")],
    },
    Resource {
        name: "customers",
        collection: Collection::Customers,
        collection_verbs: LIST_CREATE,
        item_verbs: NO_DELETE,
        patch_ops: REPLACE_COPY,
        relations: &[
            ("customercontacts", "contact_id"),
            ("billingprofiles", "billing_profile_id"),
        ],
    },
    Resource {
        name: "domains",
        collection: Collection::Domains,
        collection_verbs: LIST_CREATE,
        item_verbs: &["GET", "DELETE"],
        patch_ops: &[],
        relations: &[("resellers", "reseller_id")],
    },
    Resource {
        name: "billingprofiles",
        collection: Collection::BillingProfiles,
        collection_verbs: LIST_CREATE,
        item_verbs: READ_WRITE,
        patch_ops: ALL_OPS,
        relations: &[("resellers", "reseller_id")],
    },
    Resource {
        name: "subscribers",
        collection: Collection::Subscribers,
        collection_verbs: LIST_CREATE,
        item_verbs: READ_WRITE,
        patch_ops: ALL_OPS,
        relations: &[("customers", "customer_id"), ("domains", "domain_id")],
    },
];

pub fn find(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name == name)
}

/// The verbs a caller may use on a URL: the resource's own plus OPTIONS and HEAD; a read-only
/// login gets only the reading ones.
pub fn allowed(verbs: &[&'static str], read_only: bool) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = verbs
        .iter()
        .copied()
        .filter(|v| !read_only || *v == "GET")
        .collect();
    if out.contains(&"GET") {
        out.push("HEAD");
    }
    out.push("OPTIONS");
    out
}

/// A stored value as C5 writes it: switches as booleans, times as `YYYY-MM-DD HH:MM:SS`.
fn to_json(kind: Kind, field: &Field) -> Value {
    match (kind, field) {
        (Kind::Flag, Field::Int(n)) => Value::Bool(*n != 0),
        (_, Field::Time(ms)) => Value::String(c5_time(*ms)),
        (_, Field::Null) => Value::Null,
        (_, Field::Bool(b)) => Value::Bool(*b),
        (_, Field::Int(n)) => json!(n),
        (_, Field::Double(d)) => json!(d),
        (_, Field::Str(s)) => Value::String(s.clone()),
        (_, Field::StrList(items)) => json!(items),
        (_, Field::Json(v)) => v.clone(),
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn c5_time(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

impl Resource {
    /// The item's fields (with `id`) as JSON, without links.
    pub fn fields_json(&self, record: &Record) -> Map<String, Value> {
        let defs = self.collection.listing().columns;
        let mut out = Map::new();
        out.insert("id".into(), json!(record.id));
        for (name, field) in &record.fields {
            let kind = defs
                .iter()
                .find(|d| d.name == *name)
                .map_or(Kind::Json, |d| d.kind);
            out.insert((*name).to_string(), to_json(kind, field));
        }
        out
    }

    pub fn links(&self, record: &Record) -> Vec<Relation> {
        self.relations
            .iter()
            .filter_map(|(res, field)| match record.get(field) {
                Some(Field::Int(id)) => Some(Relation::ngcp(res, *id)),
                _ => None,
            })
            .collect()
    }

    /// The full HAL item.
    pub fn item(&self, record: &Record) -> Value {
        super::hal::item(
            self.name,
            record.id,
            self.fields_json(record),
            &self.links(record),
        )
    }

    /// The fields of a request document the resource writes; everything else (links, ids,
    /// read-only and unknown fields) is dropped, as C5 does.
    pub fn fields_from(&self, doc: &Map<String, Value>) -> Fields {
        let writable = self.collection.writable();
        doc.iter()
            .filter_map(|(k, v)| {
                let def = writable.iter().find(|d| d.name == k.as_str())?;
                Some((k.clone(), from_json(def.kind, v)))
            })
            .collect()
    }

    /// How the root document and the OpenAPI description name the fields.
    fn field_list(&self) -> Vec<Value> {
        let writable = self.collection.writable();
        let mut out = vec![json!({"name": "id", "types": ["Int"], "readonly": true})];
        let shown = self.collection.listing().columns;
        for def in shown.iter().filter(|d| !d.secret) {
            let readonly = !writable.iter().any(|w| w.name == def.name);
            out.push(json!({"name": def.name, "types": c5_types(def), "readonly": readonly}));
        }
        for def in writable.iter().filter(|d| d.secret) {
            out.push(json!({"name": def.name, "types": c5_types(def), "readonly": false, "writeonly": true}));
        }
        out
    }

    /// The entry of this resource in `GET /api/` (Accept: application/json).
    pub fn describe(&self) -> Value {
        let filters: Vec<Value> = self
            .collection
            .listing()
            .filters
            .iter()
            .map(|f| json!({"param": f.param}))
            .collect();
        let sorting: Vec<&str> = std::iter::once("id")
            .chain(self.collection.listing().sort.iter().map(|(n, _)| *n))
            .collect();
        json!({
            "actions": allowed(self.collection_verbs, false),
            "item_actions": allowed(self.item_verbs, false),
            "fields": self.field_list(),
            "sorting_cols": sorting,
            "query_params": filters,
        })
    }
}

/// A JSON value as a core field. Perl clients send ids cut out of a Location header as strings
/// (seed 004 does), so digit strings count as integers where an integer is expected.
fn from_json(kind: Kind, v: &Value) -> Field {
    let wants_int = matches!(kind, Kind::Int(..) | Kind::OptInt(..) | Kind::Ref { .. });
    match v {
        Value::String(s) if wants_int && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_or_else(|_| Field::Str(s.clone()), Field::Int)
        }
        Value::Null => Field::Null,
        Value::Bool(b) => Field::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Field::Double(n.as_f64().unwrap_or(f64::NAN)), Field::Int),
        Value::String(s) => Field::Str(s.clone()),
        other => Field::Json(other.clone()),
    }
}

fn c5_types(def: &AttrDef) -> Vec<&'static str> {
    let base = match def.kind {
        Kind::Text(_)
        | Kind::OptText(_)
        | Kind::Digits(_)
        | Kind::Currency
        | Kind::OneOf(_)
        | Kind::OptOneOf(_)
        | Kind::Time => "String",
        Kind::Int(..) | Kind::OptInt(..) | Kind::Ref { .. } | Kind::Double | Kind::OptDouble => {
            "Number"
        }
        Kind::Flag => "Boolean",
        Kind::List | Kind::Json => "Array",
    };
    let nullable = def.kind.accepts_null() || matches!(def.kind, Kind::List | Kind::Json);
    if nullable {
        vec!["null", base]
    } else {
        vec![base]
    }
}

/// The JSON Schema of a field for the OpenAPI description.
fn schema(def: &AttrDef, writable: bool) -> Value {
    let mut s = match def.kind {
        Kind::Text(max) | Kind::Digits(max) => json!({"type": "string", "maxLength": max}),
        Kind::OptText(max) => json!({"type": ["string", "null"], "maxLength": max}),
        Kind::Currency => json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
        Kind::OneOf(words) => json!({"type": "string", "enum": words}),
        Kind::OptOneOf(words) => json!({"type": ["string", "null"], "enum": words}),
        Kind::Int(lo, hi) => json!({"type": "integer", "minimum": lo, "maximum": hi}),
        Kind::OptInt(lo, hi) => json!({"type": ["integer", "null"], "minimum": lo, "maximum": hi}),
        Kind::Ref { nullable, .. } => {
            if nullable {
                json!({"type": ["integer", "null"]})
            } else {
                json!({"type": "integer"})
            }
        }
        Kind::Double => json!({"type": "number"}),
        Kind::OptDouble => json!({"type": ["number", "null"]}),
        Kind::Flag => json!({"type": "boolean"}),
        Kind::List | Kind::Json => json!({"type": ["array", "object", "null"]}),
        Kind::Time => json!({"type": "string", "description": "YYYY-MM-DD HH:MM:SS, UTC"}),
    };
    if let Value::Object(map) = &mut s {
        if !writable {
            map.insert("readOnly".into(), Value::Bool(true));
        }
        if def.secret {
            map.insert("writeOnly".into(), Value::Bool(true));
        }
    }
    s
}

/// The OpenAPI 3.1 description of every resource, generated from the same table and field
/// definitions that drive the routes and validation.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let error = json!({"$ref": "#/components/schemas/Error"});
    for r in RESOURCES {
        let writable = r.collection.writable();
        let mut properties = Map::new();
        properties.insert("id".into(), json!({"type": "integer", "readOnly": true}));
        for def in r.collection.listing().columns.iter().filter(|d| !d.secret) {
            let w = writable.iter().any(|x| x.name == def.name);
            properties.insert(def.name.into(), schema(def, w));
        }
        for def in writable.iter().filter(|d| d.secret) {
            properties.insert(def.name.into(), schema(def, true));
        }
        let required: Vec<&str> = writable
            .iter()
            .filter(|d| d.presence == crate::core::attrs::Presence::Required)
            .map(|d| d.name)
            .collect();
        schemas.insert(
            r.name.into(),
            json!({"type": "object", "properties": properties, "required": required}),
        );
        let item_ref = json!({"$ref": format!("#/components/schemas/{}", r.name)});
        let ops = |verbs: &[&str], item: bool| {
            let mut m = Map::new();
            for verb in verbs {
                let op = match *verb {
                    "GET" if item => json!({"summary": format!("Read one of {}", r.name),
                        "responses": {"200": {"description": "the item", "content": {"application/hal+json": {"schema": item_ref}}}, "404": {"description": "not found", "content": {"application/json": {"schema": error}}}}}),
                    "GET" => json!({"summary": format!("List {}", r.name),
                        "parameters": r.collection.listing().filters.iter().map(|f| json!({"name": f.param, "in": "query", "schema": {"type": "string"}})).chain(["page", "rows", "order_by", "order_by_direction", "no_count"].iter().map(|p| json!({"name": p, "in": "query", "schema": {"type": "string"}}))).collect::<Vec<_>>(),
                        "responses": {"200": {"description": "a HAL page"}}}),
                    "POST" => json!({"summary": format!("Create one of {}", r.name),
                        "requestBody": {"content": {"application/json": {"schema": item_ref}}},
                        "responses": {"201": {"description": "created; Location names it"}, "422": {"description": "validation failed", "content": {"application/json": {"schema": error}}}}}),
                    "PUT" => json!({"summary": "Replace the whole item",
                        "requestBody": {"content": {"application/json": {"schema": item_ref}}},
                        "responses": {"204": {"description": "replaced (Prefer: return=minimal)"}, "200": {"description": "replaced (Prefer: return=representation)"}}}),
                    "PATCH" => {
                        json!({"summary": format!("Apply an RFC 6902 patch; ops: {}", r.patch_ops.join(", ")),
                        "requestBody": {"content": {"application/json-patch+json": {"schema": {"type": "array"}}}},
                        "responses": {"204": {"description": "patched"}, "200": {"description": "patched (representation)"}}})
                    }
                    _ => {
                        json!({"summary": "Delete or terminate", "responses": {"204": {"description": "done"}}})
                    }
                };
                m.insert(verb.to_ascii_lowercase(), op);
            }
            Value::Object(m)
        };
        paths.insert(format!("/api/{}/", r.name), ops(r.collection_verbs, false));
        let mut item = ops(r.item_verbs, true);
        if let Value::Object(m) = &mut item {
            m.insert(
                "parameters".into(),
                json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]),
            );
        }
        paths.insert(format!("/api/{}/{{id}}", r.name), item);
    }
    for (name, verbs, item_verbs) in super::features::FEATURES {
        let op = |verb: &str| {
            json!({"summary": format!("{verb} {name} (keyed by the subscriber's id)"),
                   "responses": {"200": {"description": "HAL+JSON"}}})
        };
        let collection: Map<String, Value> = verbs
            .iter()
            .map(|v| (v.to_ascii_lowercase(), op(v)))
            .collect();
        paths.insert(format!("/api/{name}/"), Value::Object(collection));
        if !item_verbs.is_empty() {
            let mut item: Map<String, Value> = item_verbs
                .iter()
                .map(|v| (v.to_ascii_lowercase(), op(v)))
                .collect();
            item.insert(
                "parameters".into(),
                json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]),
            );
            paths.insert(format!("/api/{name}/{{id}}"), Value::Object(item));
        }
    }
    paths.insert(
        "/api/admincerts/".into(),
        json!({"post": {"summary": "Issue a client certificate for the calling login",
            "responses": {"201": {"description": "a zip holding the certificate and its key (PEM)",
                "content": {"application/zip": {}}}}}}),
    );
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "switchyard C5-style REST API", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}, "digest": {"type": "http", "scheme": "digest"}},
        },
        "security": [{"basic": []}, {"digest": []}],
        "paths": paths,
    })
}
