//! Translation between XML-RPC values and the core's fields, and Sippy's date format.

use std::collections::BTreeMap;

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::codec::{INVALID_PARAMS, ParseFault as Fault, Value};
use crate::core::CoreError;
use crate::core::attrs::{Field, Fields};

/// Sippy's usual date form: `14:03:07.000 GMT Mon Mar 04 2024`.
const SIPPY_DATE: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[hour]:[minute]:[second].[subsecond digits:3] GMT [weekday repr:short] [month repr:short] [day] [year]"
);

/// Formats milliseconds since the epoch in Sippy's date form.
pub fn sippy_date(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(SIPPY_DATE).ok())
        .unwrap_or_default()
}

/// Reads a date given as a Sippy date string or an XML-RPC dateTime; milliseconds since epoch.
pub fn parse_date(name: &str, value: &Value) -> Result<i64, Fault> {
    let parsed = match value {
        Value::DateTime(dt) => Some(dt.assume_utc()),
        Value::Str(s) => PrimitiveDateTime::parse(s.trim(), SIPPY_DATE)
            .ok()
            .map(PrimitiveDateTime::assume_utc),
        _ => None,
    };
    parsed
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .ok_or_else(|| {
            bad_param(
                name,
                "expected a date such as '14:03:07.000 GMT Mon Mar 04 2024'",
            )
        })
}

pub fn bad_param(name: &str, message: &str) -> Fault {
    Fault::new(400, format!("invalid parameter '{name}': {message}"))
}

/// A wire value as a core field. Structs and base64 have no field form.
pub fn to_field(name: &str, value: Value) -> Result<Field, Fault> {
    Ok(match value {
        Value::Nil => Field::Null,
        Value::Bool(b) => Field::Bool(b),
        Value::Int(n) => Field::Int(n),
        Value::Double(d) => Field::Double(d),
        Value::Str(s) => Field::Str(s),
        Value::DateTime(dt) => {
            Field::Time((dt.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
        }
        Value::Array(items) => Field::StrList(
            items
                .into_iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s),
                    other => Err(bad_param(
                        name,
                        &format!("expected an array of strings, found {}", other.type_name()),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        other @ (Value::Struct(_) | Value::Base64(_)) => {
            return Err(bad_param(
                name,
                &format!("{} is not accepted here", other.type_name()),
            ));
        }
    })
}

/// A core field as a wire value; dates in Sippy's form.
pub fn to_value(field: &Field) -> Value {
    match field {
        Field::Null => Value::Nil,
        Field::Bool(b) => Value::Bool(*b),
        Field::Int(n) => Value::Int(*n),
        Field::Double(d) => Value::Double(*d),
        Field::Str(s) => Value::Str(s.clone()),
        Field::StrList(items) => Value::Array(items.iter().cloned().map(Value::Str).collect()),
        Field::Time(ms) => Value::Str(sippy_date(*ms)),
        Field::Json(v) => Value::Str(v.to_string()),
    }
}

/// The core's error as a fault, with HTTP-like codes (Sippy publishes no code table).
pub fn fault(e: &CoreError) -> Fault {
    let code = match e {
        CoreError::Missing(_) | CoreError::Invalid { .. } | CoreError::Unprocessable(_) => 400,
        CoreError::Forbidden(_) | CoreError::ReadOnly => 403,
        CoreError::NotFound(_) | CoreError::OutOfScope(_) => 404,
        CoreError::Duplicate(_) | CoreError::Conflict(_) | CoreError::InUse(_) => 409,
        // 507 Insufficient Storage: a full disk is not load (503) and not a bug (500); the
        // message tells the operator to free space, and the same call works once there is.
        CoreError::StorageFull => 507,
        CoreError::Busy => 503,
        CoreError::StorageFailed(_) | CoreError::Storage(_) => 500,
    };
    Fault::new(code, e.to_string())
}

/// A method's one struct parameter, taken apart by name.
pub struct Args(BTreeMap<String, Value>);

impl Args {
    /// Sippy methods take one struct; no parameter at all is an empty struct.
    pub fn from_params(method: &str, params: Vec<Value>) -> Result<Self, Fault> {
        let mut params = params.into_iter();
        let args = match (params.next(), params.next()) {
            (None, _) => BTreeMap::new(),
            (Some(Value::Struct(map)), None) => map,
            (Some(other), None) => {
                return Err(Fault::new(
                    INVALID_PARAMS,
                    format!(
                        "{method} takes one struct parameter, got {}",
                        other.type_name()
                    ),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Fault::new(
                    INVALID_PARAMS,
                    format!("{method} takes one struct parameter"),
                ));
            }
        };
        Ok(Self(args))
    }

    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// An optional positive id; nil counts as absent.
    pub fn id(&mut self, name: &str) -> Result<Option<i64>, Fault> {
        match self.take(name) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Int(n)) if n > 0 => Ok(Some(n)),
            Some(Value::Int(_)) => Err(bad_param(name, "must be a positive integer")),
            Some(other) => Err(bad_param(
                name,
                &format!("expected int, got {}", other.type_name()),
            )),
        }
    }

    pub fn required_id(&mut self, name: &str) -> Result<i64, Fault> {
        self.id(name)?
            .ok_or_else(|| Fault::new(400, format!("missing required parameter '{name}'")))
    }

    /// An optional integer (offset, limit, `i_protocol`).
    pub fn int(&mut self, name: &str) -> Result<Option<i64>, Fault> {
        match self.take(name) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(n)),
            Some(other) => Err(bad_param(
                name,
                &format!("expected int, got {}", other.type_name()),
            )),
        }
    }

    pub fn string(&mut self, name: &str) -> Result<Option<String>, Fault> {
        match self.take(name) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(other) => Err(bad_param(
                name,
                &format!("expected string, got {}", other.type_name()),
            )),
        }
    }

    /// Everything not yet taken, as core fields (the core refuses names it does not know).
    pub fn into_fields(self) -> Result<Fields, Fault> {
        self.0
            .into_iter()
            .map(|(name, value)| Ok((name.clone(), to_field(&name, value)?)))
            .collect()
    }

    /// Refuses any parameter not yet taken.
    pub fn finish(self) -> Result<(), Fault> {
        match self.0.keys().next() {
            Some(name) => Err(bad_param(name, "unknown parameter")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sippy_dates_round_trip() {
        // 2024-03-04T14:03:07Z
        let ms = 1_709_560_987_000;
        assert_eq!(sippy_date(ms), "14:03:07.000 GMT Mon Mar 04 2024");
        assert_eq!(parse_date("t", &Value::Str(sippy_date(ms))).unwrap(), ms);
        assert!(parse_date("t", &Value::Str("yesterday".into())).is_err());
    }

    #[test]
    fn args_take_one_struct() {
        assert!(Args::from_params("m", vec![Value::Int(1)]).is_err());
        assert!(Args::from_params("m", vec![]).is_ok());
        let mut args = Args::from_params(
            "m",
            vec![Value::Struct(BTreeMap::from([(
                "i_account".to_string(),
                Value::Int(0),
            )]))],
        )
        .unwrap();
        assert_eq!(args.id("i_account").unwrap_err().code, 400);
    }
}
