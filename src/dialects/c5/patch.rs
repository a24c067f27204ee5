//! PATCH bodies: RFC 6902 operations with ngcp-panel's checks and extensions (c5.md §6).
//!
//! [`parse`] refuses malformed requests with the original's 400 texts; [`apply`] runs the
//! operations on the item's representation (without `_links`), all or nothing, and the
//! resource then revalidates the result like a PUT. The standard operations run through the
//! json-patch crate; the two Sipwise extensions (`add` with `"mode":"append"`, `remove` with
//! `value`/`index`) are done here.

use json_patch::jsonptr::PointerBuf;
use json_patch::{
    AddOperation, CopyOperation, MoveOperation, PatchErrorKind, PatchOperation, RemoveOperation,
    ReplaceOperation, TestOperation,
};
use serde_json::{Map, Value};

use super::error::{self, ApiError};

/// The media type of PATCH bodies.
pub const PATCH_MEDIA_TYPE: &str = "application/json-patch+json";

/// The ops of most resources (the original's default).
pub const REPLACE_COPY: &[&str] = &["replace", "copy"];

/// The ops of billingprofiles, subscribers and subscriberpreferences.
pub const ALL_OPS: &[&str] = &["add", "replace", "copy", "remove"];

/// The keys of one op: those it needs and those it may have (the extensions' modifiers).
struct OpSpec {
    op: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const SPECS: &[OpSpec] = &[
    OpSpec {
        op: "add",
        required: &["path", "value"],
        optional: &["mode"],
    },
    OpSpec {
        op: "replace",
        required: &["path", "value"],
        optional: &[],
    },
    OpSpec {
        op: "copy",
        required: &["from", "path"],
        optional: &[],
    },
    OpSpec {
        op: "remove",
        required: &["path"],
        optional: &["value", "index"],
    },
    OpSpec {
        op: "move",
        required: &["from", "path"],
        optional: &[],
    },
    OpSpec {
        op: "test",
        required: &["path", "value"],
        optional: &[],
    },
];

/// The only value of `add`'s `mode` modifier.
const APPEND: &str = "append";

fn quoted<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON value as it appears inside a message: strings bare, the rest as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks a PATCH request and returns its operations: content type (415), body present (400),
/// well-formed JSON (400), an array (400) of objects (400) with an allowed `op` (400), only
/// the keys that op takes (400) and all it needs (400). `allowed_ops` is one of
/// [`REPLACE_COPY`] and [`ALL_OPS`], or any subset of add, replace, copy, remove, move, test.
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    allowed_ops: &[&str],
) -> Result<Vec<Value>, ApiError> {
    let doc = error::parse_json_body(content_type, body, &[PATCH_MEDIA_TYPE])?;
    let Value::Array(ops) = doc else {
        return Err(ApiError::bad_request("Body for PATCH must be an array."));
    };
    let allowed: Vec<&OpSpec> = allowed_ops
        .iter()
        .filter_map(|name| SPECS.iter().find(|s| s.op == *name))
        .collect();
    for op in &ops {
        check_op(op, &allowed)?;
    }
    Ok(ops)
}

fn check_op(op: &Value, allowed: &[&OpSpec]) -> Result<(), ApiError> {
    let Value::Object(fields) = op else {
        return Err(ApiError::bad_request(
            "Array in body of PATCH must only contain hashes.",
        ));
    };
    let Some(name) = fields.get("op") else {
        return Err(ApiError::bad_request(
            "PATCH element must have an 'op' field.",
        ));
    };
    let Some(spec) = allowed
        .iter()
        .find(|s| name.as_str() == Some(s.op))
        .copied()
    else {
        return Err(ApiError::bad_request(format!(
            "Invalid PATCH op '{}', must be one of {}",
            shown(name),
            quoted(allowed.iter().map(|s| s.op))
        )));
    };
    let op_name = spec.op;
    let known = || {
        std::iter::once("op")
            .chain(spec.required.iter().copied())
            .chain(spec.optional.iter().copied())
    };
    if let Some(key) = fields.keys().find(|k| !known().any(|n| n == k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Invalid PATCH key '{key}' for op '{op_name}', must be one of {}",
            quoted(known())
        )));
    }
    let missing: Vec<&str> = spec
        .required
        .iter()
        .copied()
        .filter(|k| !fields.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Missing PATCH keys {} for op '{op_name}'",
            quoted(missing)
        )));
    }
    if let Some(mode) = fields.get("mode")
        && mode.as_str() != Some(APPEND)
    {
        return Err(ApiError::bad_request(format!(
            "Invalid PATCH op '{op_name}' modifier 'mode' value '{}'. Allowed values are '{APPEND}'",
            shown(mode)
        )));
    }
    Ok(())
}

/// Applies `ops` (as returned by [`parse`]) to `doc`, all or nothing: on error `doc` is
/// unchanged. A failing operation (missing target, bad pointer, bad modifier) is a 422
/// `The entity could not be processed: <detail>`.
///
/// Extensions, following the original:
/// - `add` with `"mode":"append"` appends `value` to the array at `path` (a trailing `/-` is
///   ignored); an array `value` appends each of its elements. The target must exist and be an
///   array.
/// - `remove` with `value` removes every array element equal to it, or, with `index` N, only
///   the N-th (from 0) equal element (422 if there are fewer). An array `value` removes every
///   element equal to any of its elements and ignores `index`. A target that is not an array
///   is removed if it equals `value`. An absent target or no match changes nothing. Numbers
///   and numeric strings compare by value, close to Perl's comparison (`"5"` matches `5`).
pub fn apply(doc: &mut Value, ops: &[Value]) -> Result<(), ApiError> {
    let mut work = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut work, op).map_err(|detail| {
            ApiError::unprocessable(format!(
                "The entity could not be processed: {detail} (operation {i})"
            ))
        })?;
    }
    *doc = work;
    Ok(())
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), String> {
    let fields = op
        .as_object()
        .ok_or_else(|| "the operation is not an object".to_owned())?;
    let name = fields.get("op").and_then(Value::as_str).unwrap_or_default();
    let std_op = match name {
        "add" => match fields.get("mode") {
            None => PatchOperation::Add(AddOperation {
                path: pointer(fields, "path")?,
                value: required(fields, "value")?,
            }),
            Some(Value::String(m)) if m == APPEND => {
                return append(doc, &pointer(fields, "path")?, required(fields, "value")?);
            }
            Some(other) => return Err(format!("invalid 'mode' value '{}'", shown(other))),
        },
        "remove" => match fields.get("value") {
            None => PatchOperation::Remove(RemoveOperation {
                path: pointer(fields, "path")?,
            }),
            Some(value) => {
                let index = match fields.get("index") {
                    None | Some(Value::Null) => None,
                    Some(i) => Some(
                        i.as_u64()
                            .ok_or_else(|| format!("invalid 'index' '{}'", shown(i)))?,
                    ),
                };
                return remove_values(doc, &pointer(fields, "path")?, value, index);
            }
        },
        "replace" => PatchOperation::Replace(ReplaceOperation {
            path: pointer(fields, "path")?,
            value: required(fields, "value")?,
        }),
        "copy" => PatchOperation::Copy(CopyOperation {
            from: pointer(fields, "from")?,
            path: pointer(fields, "path")?,
        }),
        "move" => PatchOperation::Move(MoveOperation {
            from: pointer(fields, "from")?,
            path: pointer(fields, "path")?,
        }),
        "test" => PatchOperation::Test(TestOperation {
            path: pointer(fields, "path")?,
            value: required(fields, "value")?,
        }),
        _ => return Err(format!("unsupported op '{name}'")),
    };
    json_patch::patch_unsafe(doc, std::slice::from_ref(&std_op)).map_err(|e| {
        let path = e.path.as_str();
        match e.kind {
            PatchErrorKind::InvalidPointer => format!("target path '{path}' does not exist"),
            PatchErrorKind::InvalidFromPointer => {
                let from = match &std_op {
                    PatchOperation::Copy(c) => c.from.as_str(),
                    PatchOperation::Move(m) => m.from.as_str(),
                    _ => "",
                };
                format!("from path '{from}' does not exist")
            }
            PatchErrorKind::TestFailed => format!("test failed at path '{path}'"),
            other => format!("{other} at path '{path}'"),
        }
    })
}

fn required(fields: &Map<String, Value>, key: &str) -> Result<Value, String> {
    fields
        .get(key)
        .cloned()
        .ok_or_else(|| format!("missing '{key}'"))
}

/// A JSON pointer field (`path`, `from`), checked for RFC 6901 syntax.
fn pointer(fields: &Map<String, Value>, key: &str) -> Result<PointerBuf, String> {
    match fields.get(key) {
        Some(Value::String(s)) => {
            PointerBuf::parse(s.as_str()).map_err(|_| format!("invalid JSON pointer '{s}'"))
        }
        Some(other) => Err(format!("'{key}' must be a string, not '{other}'")),
        None => Err(format!("missing '{key}'")),
    }
}

fn append(doc: &mut Value, path: &PointerBuf, value: Value) -> Result<(), String> {
    let path = path.as_str().strip_suffix("/-").unwrap_or(path.as_str());
    match doc.pointer_mut(path) {
        Some(Value::Array(items)) => {
            match value {
                Value::Array(values) => items.extend(values),
                one => items.push(one),
            }
            Ok(())
        }
        Some(_) => Err(format!("target path '{path}' is not an array")),
        None => Err(format!("target path '{path}' does not exist")),
    }
}

fn remove_values(
    doc: &mut Value,
    path: &PointerBuf,
    value: &Value,
    index: Option<u64>,
) -> Result<(), String> {
    let (candidates, index) = match value {
        Value::Array(many) => (many.as_slice(), None),
        one => (std::slice::from_ref(one), index),
    };
    let matches = |v: &Value| candidates.iter().any(|c| loosely_equal(v, c));
    match doc.pointer_mut(path.as_str()) {
        None => Ok(()),
        Some(Value::Array(items)) => {
            match index {
                None => items.retain(|v| !matches(v)),
                Some(n) => {
                    let pos = items
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| matches(v))
                        .map(|(i, _)| i)
                        .nth(usize::try_from(n).unwrap_or(usize::MAX))
                        .ok_or_else(|| format!("delete index {n} out of bounds"))?;
                    items.remove(pos);
                }
            }
            Ok(())
        }
        Some(target) => {
            if matches(target) {
                let op = PatchOperation::Remove(RemoveOperation { path: path.clone() });
                json_patch::patch_unsafe(doc, &[op])
                    .map_err(|_| format!("target path '{path}' cannot be removed"))?;
            }
            Ok(())
        }
    }
}

/// Equality close to the original's Data::Compare: numbers and numeric strings by value (so
/// `"5"` equals `5` and `5.0`), other scalars strictly, containers element by element.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y || x.as_f64().is_some_and(|x| Some(x) == y.as_f64()),
        },
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            *s == n.to_string() || s.parse::<f64>().ok().is_some_and(|f| Some(f) == n.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| loosely_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| loosely_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const CT: Option<&str> = Some(PATCH_MEDIA_TYPE);

    fn parse_ok(body: &Value, ops: &[&str]) -> Vec<Value> {
        parse(CT, body.to_string().as_bytes(), ops).unwrap()
    }

    fn parse_err(body: &Value, ops: &[&str]) -> ApiError {
        parse(CT, body.to_string().as_bytes(), ops).unwrap_err()
    }

    fn patched(doc: &Value, ops: &Value) -> Result<Value, ApiError> {
        let mut d = doc.clone();
        apply(&mut d, ops.as_array().unwrap())?;
        Ok(d)
    }

    #[test]
    fn parse_checks_media_type_and_body() {
        let body = br#"[{"op":"replace","path":"/a","value":1}]"#;
        assert_eq!(parse(CT, body, REPLACE_COPY).unwrap().len(), 1);
        assert!(
            parse(
                Some("application/json-patch+json; charset=utf-8"),
                body,
                REPLACE_COPY
            )
            .is_ok()
        );

        let e = parse(Some("application/json"), body, REPLACE_COPY).unwrap_err();
        assert_eq!(e.status, 415);
        assert_eq!(
            e.message,
            "Unsupported media type 'application/json', accepting application/json-patch+json only."
        );
        let e = parse(Some("application/xxx"), body, REPLACE_COPY).unwrap_err();
        assert_eq!(e.status, 415);
        assert_eq!(parse(None, body, REPLACE_COPY).unwrap_err().status, 415);

        assert_eq!(
            parse(CT, b"", REPLACE_COPY).unwrap_err(),
            ApiError::missing_body()
        );
        let e = parse(CT, b"[{", REPLACE_COPY).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.starts_with(
            "The entity is not a well-formed 'application/json-patch+json' document. "
        ));
        assert!(parse(CT, b"[]", REPLACE_COPY).unwrap().is_empty());
    }

    #[test]
    fn parse_wants_an_array_of_objects_with_op() {
        let e = parse_err(&json!({"foo": "bar"}), REPLACE_COPY);
        assert_eq!(e, ApiError::bad_request("Body for PATCH must be an array."));
        let e = parse_err(&json!([1]), REPLACE_COPY);
        assert_eq!(
            e.message,
            "Array in body of PATCH must only contain hashes."
        );
        let e = parse_err(&json!([{"foo": "bar"}]), REPLACE_COPY);
        assert_eq!(
            e,
            ApiError::bad_request("PATCH element must have an 'op' field.")
        );
    }

    #[test]
    fn parse_checks_the_op() {
        let e = parse_err(&json!([{"op": "bar"}]), REPLACE_COPY);
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "Invalid PATCH op 'bar', must be one of 'replace', 'copy'"
        );
        let e = parse_err(&json!([{"op": "remove", "path": "/a"}]), REPLACE_COPY);
        assert!(e.message.starts_with("Invalid PATCH op 'remove'"));
        let e = parse_err(&json!([{"op": 5}]), ALL_OPS);
        assert_eq!(
            e.message,
            "Invalid PATCH op '5', must be one of 'add', 'replace', 'copy', 'remove'"
        );
        // A later bad element fails the whole body.
        let e = parse_err(
            &json!([{"op": "replace", "path": "/a", "value": 1}, {"op": "move"}]),
            REPLACE_COPY,
        );
        assert!(e.message.starts_with("Invalid PATCH op 'move'"));
        // Ops outside the table are never allowed.
        let e = parse_err(&json!([{"op": "merge"}]), &["merge", "copy"]);
        assert_eq!(e.message, "Invalid PATCH op 'merge', must be one of 'copy'");
        assert_eq!(
            parse_ok(
                &json!([{"op": "test", "path": "/a", "value": 1}]),
                &["test"]
            )
            .len(),
            1
        );
    }

    #[test]
    fn parse_checks_keys() {
        let e = parse_err(
            &json!([{"op": "replace", "path": "/foo", "value": "bar", "invalid": "sna"}]),
            REPLACE_COPY,
        );
        assert_eq!(
            e.message,
            "Invalid PATCH key 'invalid' for op 'replace', must be one of 'op', 'path', 'value'"
        );
        let e = parse_err(
            &json!([{"op": "copy", "from": "/a", "path": "/b", "value": 1}]),
            REPLACE_COPY,
        );
        assert_eq!(
            e.message,
            "Invalid PATCH key 'value' for op 'copy', must be one of 'op', 'from', 'path'"
        );
        let e = parse_err(
            &json!([{"op": "replace", "path": "/a", "value": 1, "mode": "append"}]),
            ALL_OPS,
        );
        assert!(
            e.message
                .starts_with("Invalid PATCH key 'mode' for op 'replace'")
        );
        let e = parse_err(
            &json!([{"op": "add", "path": "/a", "value": 1, "index": 0}]),
            ALL_OPS,
        );
        assert_eq!(
            e.message,
            "Invalid PATCH key 'index' for op 'add', must be one of 'op', 'path', 'value', 'mode'"
        );
        let e = parse_err(
            &json!([{"op": "remove", "path": "/a", "from": "/b"}]),
            ALL_OPS,
        );
        assert_eq!(
            e.message,
            "Invalid PATCH key 'from' for op 'remove', must be one of 'op', 'path', 'value', 'index'"
        );
    }

    #[test]
    fn parse_checks_required_keys() {
        let e = parse_err(&json!([{"op": "replace"}]), REPLACE_COPY);
        assert_eq!(
            e,
            ApiError::bad_request("Missing PATCH keys 'path', 'value' for op 'replace'")
        );
        let e = parse_err(&json!([{"op": "replace", "path": "/a"}]), REPLACE_COPY);
        assert_eq!(e.message, "Missing PATCH keys 'value' for op 'replace'");
        let e = parse_err(&json!([{"op": "copy", "path": "/a"}]), REPLACE_COPY);
        assert_eq!(e.message, "Missing PATCH keys 'from' for op 'copy'");
        let e = parse_err(&json!([{"op": "remove"}]), ALL_OPS);
        assert_eq!(e.message, "Missing PATCH keys 'path' for op 'remove'");
        // Null counts as present.
        assert_eq!(
            parse_ok(
                &json!([{"op": "replace", "path": "/a", "value": null}]),
                REPLACE_COPY
            )
            .len(),
            1
        );
    }

    #[test]
    fn parse_accepts_the_extensions() {
        let ops = json!([
            {"op": "add", "path": "/a", "value": 1, "mode": "append"},
            {"op": "remove", "path": "/a", "value": 1},
            {"op": "remove", "path": "/a", "value": 1, "index": 0},
            {"op": "remove", "path": "/a"},
            {"op": "add", "path": "/b", "value": 1}
        ]);
        assert_eq!(parse_ok(&ops, ALL_OPS).len(), 5);
        let e = parse_err(
            &json!([{"op": "add", "path": "/a", "value": 1, "mode": "prepend"}]),
            ALL_OPS,
        );
        assert_eq!(
            e.message,
            "Invalid PATCH op 'add' modifier 'mode' value 'prepend'. Allowed values are 'append'"
        );
        assert_eq!(
            parse_err(
                &json!([{"op": "add", "path": "/a", "value": 1, "mode": null}]),
                ALL_OPS
            )
            .status,
            400
        );
    }

    #[test]
    fn applies_standard_ops() {
        let doc = json!({"email": "a@b.c", "firstname": null, "list": [1, 2], "nested": {"x": 1}});
        let out = patched(
            &doc,
            &json!([
                {"op": "replace", "path": "/email", "value": "x@y.z"},
                {"op": "copy", "from": "/email", "path": "/firstname"},
                {"op": "add", "path": "/list/1", "value": 9},
                {"op": "add", "path": "/list/-", "value": 3},
                {"op": "remove", "path": "/nested/x"},
                {"op": "move", "from": "/list", "path": "/moved"},
                {"op": "test", "path": "/moved/0", "value": 1}
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"email": "x@y.z", "firstname": "x@y.z", "moved": [1, 9, 2, 3], "nested": {}})
        );
        // Pointer escapes.
        let out = patched(
            &json!({"a/b": 1, "c~d": 2}),
            &json!([
                {"op": "replace", "path": "/a~1b", "value": 3},
                {"op": "replace", "path": "/c~0d", "value": 4}
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"a/b": 3, "c~d": 4}));
    }

    #[test]
    fn failures_are_422_and_leave_doc_unchanged() {
        let doc = json!({"email": "a@b.c", "list": [1]});
        let cases = [
            (
                json!([{"op": "replace", "path": "/some/path", "value": "invalid"}]),
                "target path '/some/path' does not exist",
            ),
            (
                json!([{"op": "replace", "path": "/email", "value": 1}, {"op": "replace", "path": "/nope", "value": 2}]),
                "(operation 1)",
            ),
            (
                json!([{"op": "copy", "from": "/nope", "path": "/x"}]),
                "from path '/nope' does not exist",
            ),
            (json!([{"op": "remove", "path": "/nope"}]), "does not exist"),
            (
                json!([{"op": "add", "path": "/list/5", "value": 1}]),
                "does not exist",
            ),
            (
                json!([{"op": "replace", "path": "email", "value": 1}]),
                "invalid JSON pointer 'email'",
            ),
            (
                json!([{"op": "replace", "path": 7, "value": 1}]),
                "'path' must be a string",
            ),
            (
                json!([{"op": "test", "path": "/email", "value": "other"}]),
                "test failed",
            ),
            (
                json!([{"op": "move", "from": "/list", "path": "/list/0"}]),
                "at path",
            ),
            (
                json!([{"op": "frobnicate", "path": "/email"}]),
                "unsupported op",
            ),
            (
                json!([{"op": "replace", "path": "/email"}]),
                "missing 'value'",
            ),
            (
                json!([{"op": "add", "path": "/list", "value": 1, "mode": "prepend"}]),
                "invalid 'mode'",
            ),
            (json!([3]), "not an object"),
        ];
        for (ops, detail) in cases {
            let mut d = doc.clone();
            let e = apply(&mut d, ops.as_array().unwrap()).unwrap_err();
            assert_eq!(e.status, 422, "{ops}");
            assert!(
                e.message.starts_with("The entity could not be processed: "),
                "{}",
                e.message
            );
            assert!(e.message.contains(detail), "{ops}: {}", e.message);
            assert_eq!(d, doc, "{ops}");
        }
    }

    #[test]
    fn append_mode() {
        let doc = json!({"allowed_clis": ["1"], "name": "x", "obj": {}});
        let out = patched(
            &doc,
            &json!([
                {"op": "add", "path": "/allowed_clis", "value": "2", "mode": "append"},
                {"op": "add", "path": "/allowed_clis/-", "value": ["3", "4"], "mode": "append"},
                {"op": "add", "path": "/allowed_clis", "value": {"k": 1}, "mode": "append"}
            ]),
        )
        .unwrap();
        assert_eq!(out["allowed_clis"], json!(["1", "2", "3", "4", {"k": 1}]));

        for (path, detail) in [
            ("/missing", "does not exist"),
            ("/name", "is not an array"),
            ("/obj", "is not an array"),
        ] {
            let e = patched(
                &doc,
                &json!([{"op": "add", "path": path, "value": 1, "mode": "append"}]),
            )
            .unwrap_err();
            assert_eq!(e.status, 422);
            assert!(e.message.contains(detail), "{}", e.message);
        }
        // Root array.
        assert_eq!(
            patched(
                &json!([1]),
                &json!([{"op": "add", "path": "", "value": 2, "mode": "append"}])
            )
            .unwrap(),
            json!([1, 2])
        );
    }

    #[test]
    fn remove_by_value() {
        let doc = json!({"l": ["a", "b", "a", "c", "a"], "s": "x", "n": [1, 2, "2", 3.0]});
        let rm = |ops: Value| patched(&doc, &ops);

        let out = rm(json!([{"op": "remove", "path": "/l", "value": "a"}])).unwrap();
        assert_eq!(out["l"], json!(["b", "c"]));
        // index picks the N-th matching element, not the array position.
        let out = rm(json!([{"op": "remove", "path": "/l", "value": "a", "index": 1}])).unwrap();
        assert_eq!(out["l"], json!(["a", "b", "c", "a"]));
        let out = rm(json!([{"op": "remove", "path": "/l", "value": "a", "index": 0}])).unwrap();
        assert_eq!(out["l"], json!(["b", "a", "c", "a"]));
        let e = rm(json!([{"op": "remove", "path": "/l", "value": "a", "index": 3}])).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.message.contains("delete index 3 out of bounds"));
        let e = rm(json!([{"op": "remove", "path": "/l", "value": "a", "index": -1}])).unwrap_err();
        assert!(e.message.contains("invalid 'index'"));
        // An array value removes each of its elements; index is ignored.
        let out =
            rm(json!([{"op": "remove", "path": "/l", "value": ["a", "c"], "index": 7}])).unwrap();
        assert_eq!(out["l"], json!(["b"]));
        // No match, absent target: unchanged.
        assert_eq!(
            rm(json!([{"op": "remove", "path": "/l", "value": "z"}])).unwrap(),
            doc
        );
        assert_eq!(
            rm(json!([{"op": "remove", "path": "/nope", "value": "z"}])).unwrap(),
            doc
        );
        // A scalar target goes if it matches.
        let out = rm(json!([{"op": "remove", "path": "/s", "value": "x"}])).unwrap();
        assert!(out.get("s").is_none());
        assert_eq!(
            rm(json!([{"op": "remove", "path": "/s", "value": "y"}])).unwrap(),
            doc
        );
        // Numbers and strings compare by text.
        let out = rm(json!([{"op": "remove", "path": "/n", "value": 2}])).unwrap();
        assert_eq!(out["n"], json!([1, 3.0]));
        let out = rm(json!([{"op": "remove", "path": "/n", "value": "3"}])).unwrap();
        assert_eq!(out["n"], json!([1, 2, "2"]));
        // null is a value to match, not "no value".
        let out = patched(
            &json!({"l": [null, 1]}),
            &json!([{"op": "remove", "path": "/l", "value": null}]),
        )
        .unwrap();
        assert_eq!(out["l"], json!([1]));
    }

    #[test]
    fn loose_equality() {
        assert!(loosely_equal(&json!(5), &json!("5")));
        assert!(loosely_equal(&json!(5), &json!(5.0)));
        assert!(loosely_equal(&json!("5.0"), &json!(5)));
        assert!(!loosely_equal(&json!("a"), &json!(5)));
        assert!(!loosely_equal(&json!(true), &json!(1)));
        assert!(!loosely_equal(&json!(null), &json!("")));
        assert!(loosely_equal(
            &json!({"a": [1, "2"]}),
            &json!({"a": ["1", 2]})
        ));
        assert!(!loosely_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!loosely_equal(&json!([1]), &json!([1, 1])));
    }

    #[test]
    fn parse_then_apply() {
        let ops = parse(
            CT,
            br#"[{"op":"replace","path":"/status","value":"terminated"}]"#,
            REPLACE_COPY,
        )
        .unwrap();
        let mut doc = json!({"status": "active", "id": 3});
        apply(&mut doc, &ops).unwrap();
        assert_eq!(doc, json!({"status": "terminated", "id": 3}));
        // An empty patch changes nothing.
        apply(&mut doc, &[]).unwrap();
        assert_eq!(doc["status"], "terminated");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5_i64..5).prop_map(Value::from),
            "[a-z0-9 ]{0,4}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Pointers into the test document, existing or not, well-formed or not.
    fn path() -> impl Strategy<Value = Value> {
        prop_oneof![
            proptest::sample::select(vec![
                "", "/", "/a", "/a/0", "/a/-", "/a/9", "/b", "/b/c", "/n", "x", "/a/~1", "/b/~",
            ])
            .prop_map(Value::from),
            json_value(),
        ]
    }

    /// Operation objects: mostly well-shaped, with stray keys and values now and then.
    fn operation() -> impl Strategy<Value = Value> {
        let op = proptest::sample::select(vec![
            "add", "replace", "copy", "remove", "move", "test", "nope",
        ]);
        let mode = prop_oneof![
            Just(None),
            Just(Some(json!("append"))),
            json_value().prop_map(Some)
        ];
        let index = prop_oneof![
            Just(None),
            (-2_i64..4).prop_map(|i| Some(json!(i))),
            json_value().prop_map(Some)
        ];
        (
            op,
            path(),
            proptest::option::of(json_value()),
            proptest::option::of(path()),
            mode,
            index,
        )
            .prop_map(|(op, path, value, from, mode, index)| {
                let mut o = Map::new();
                o.insert("op".into(), op.into());
                o.insert("path".into(), path);
                let optional = [
                    ("value", value),
                    ("from", from),
                    ("mode", mode),
                    ("index", index),
                ];
                for (key, v) in optional {
                    if let Some(v) = v {
                        o.insert(key.into(), v);
                    }
                }
                Value::Object(o)
            })
    }

    proptest! {
        /// Any patch document is refused with 400, or applies, or fails with 422 and leaves
        /// the document as it was; never a panic.
        #[test]
        fn any_patch_applies_or_is_refused(
            ops in proptest::collection::vec(operation(), 0..5),
            doc in json_value(),
        ) {
            let doc = json!({"a": [1, "2", {"c": null}], "b": {"c": doc}, "n": 5});
            let body = Value::Array(ops).to_string();
            match parse(Some(PATCH_MEDIA_TYPE), body.as_bytes(), ALL_OPS) {
                Err(e) => prop_assert_eq!(e.status, 400),
                Ok(ops) => {
                    let mut patched = doc.clone();
                    if let Err(e) = apply(&mut patched, &ops) {
                        prop_assert_eq!(e.status, 422);
                        prop_assert_eq!(patched, doc);
                    }
                }
            }
        }
    }
}
