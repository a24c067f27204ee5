//! XML-RPC: any body parses or is refused with a fault code; what parses renders back to a call
//! that parses to the same method and values (dates to the second, as the writer sends them).

use switchyard::dialects::xmlrpc::codec::{
    INVALID_CHARACTER, INVALID_XMLRPC, Limits, NOT_WELL_FORMED, UNSUPPORTED_ENCODING, Value,
    parse_method_call, render_fault, render_method_call, render_response,
};

/// The value as the writer sends it: dates without their fraction of a second.
fn as_sent(value: &Value) -> Value {
    match value {
        Value::DateTime(dt) => Value::DateTime(dt.replace_nanosecond(0).unwrap_or(*dt)),
        Value::Array(items) => Value::Array(items.iter().map(as_sent).collect()),
        Value::Struct(members) => Value::Struct(
            members
                .iter()
                .map(|(name, value)| (name.clone(), as_sent(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default();
        let call = match parse_method_call(data, &limits) {
            Ok(call) => call,
            Err(fault) => {
                assert!(
                    [
                        NOT_WELL_FORMED,
                        UNSUPPORTED_ENCODING,
                        INVALID_CHARACTER,
                        INVALID_XMLRPC
                    ]
                    .contains(&fault.code),
                    "unexpected fault code {}",
                    fault.code
                );
                // A fault's message (which quotes the input) renders to a response too.
                let _ = render_fault(fault.code, &fault.message);
                return;
            }
        };
        let rendered = render_method_call(&call.method, &call.params);
        let again = parse_method_call(rendered.as_bytes(), &limits)
            .unwrap_or_else(|f| panic!("rendered call refused: {f}\n{rendered}"));
        assert_eq!(again.method, call.method);
        let sent: Vec<Value> = call.params.iter().map(as_sent).collect();
        assert_eq!(
            again.params, sent,
            "round trip changed the values\n{rendered}"
        );
        for value in &call.params {
            let _ = render_response(value);
        }
    });
}
