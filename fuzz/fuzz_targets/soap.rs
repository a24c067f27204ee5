//! SOAP: any body parses to one Body element or is refused with a fault; a parsed element is
//! matched to its operation and validated against the WSDL. A valid request, written back as
//! an answer envelope, reads back as the same tree and is still valid.

use switchyard::dialects::sipx_soap::envelope::{
    Element, Fault, Limits, parse_document, parse_request, write_fault, write_response,
};
use switchyard::dialects::sipx_soap::schema::{NS, SCHEMA};

/// The tree as the writer keeps it: names, namespaces, text and children (no attributes).
fn structure(e: &Element) -> Element {
    Element {
        ns: e.ns.clone(),
        name: e.name.clone(),
        text: e.text.clone(),
        children: e.children.iter().map(structure).collect(),
        ..Element::default()
    }
}

/// The writer binds one prefix, to the body element's namespace.
fn all_in_ns(e: &Element) -> bool {
    e.ns.as_deref() == Some(NS) && e.children.iter().all(all_in_ns)
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default();
        let request = match parse_request(data, &limits) {
            Ok(request) => request,
            Err(fault) => {
                let written = write_fault(&fault);
                parse_document(written.as_bytes(), &limits)
                    .unwrap_or_else(|f| panic!("fault envelope unreadable: {f:?}\n{written}"));
                return;
            }
        };
        let mut ports: Vec<&str> = SCHEMA.operations.iter().map(|o| o.port.as_str()).collect();
        ports.dedup();
        for port in ports {
            let _ = SCHEMA.operation(port, &request);
        }
        if SCHEMA.validate(&request).is_err() || !all_in_ns(&request) {
            return;
        }
        let written = write_response(Some(&request));
        let again = parse_request(written.as_bytes(), &limits)
            .unwrap_or_else(|f: Fault| panic!("written answer unreadable: {f:?}\n{written}"));
        assert_eq!(structure(&again), structure(&request), "{written}");
        assert!(SCHEMA.validate(&again).is_ok(), "{written}");
    });
}
