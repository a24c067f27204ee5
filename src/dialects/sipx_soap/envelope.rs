//! SOAP 1.1 envelopes: reading a request into an element tree (namespaces resolved, whatever
//! prefixes the client chose; limits on size, depth and counts; no DTDs, entities or processing
//! instructions) and writing answers and faults.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::{BytesRef, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Who is to blame for a fault (SOAP 1.1 §4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    VersionMismatch,
    MustUnderstand,
    /// The request was wrong: the client should not resend it unchanged.
    Client,
    /// The request was right but could not be served now.
    Server,
}

impl FaultCode {
    fn as_str(self) -> &'static str {
        match self {
            Self::VersionMismatch => "soap:VersionMismatch",
            Self::MustUnderstand => "soap:MustUnderstand",
            Self::Client => "soap:Client",
            Self::Server => "soap:Server",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    pub message: String,
}

impl Fault {
    pub fn client(message: impl Into<String>) -> Self {
        Self {
            code: FaultCode::Client,
            message: message.into(),
        }
    }

    pub fn server(message: impl Into<String>) -> Self {
        Self {
            code: FaultCode::Server,
            message: message.into(),
        }
    }
}

/// Bounds on what a request may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting depth, the envelope being depth 1.
    pub max_depth: usize,
    pub max_elements: usize,
    /// Bytes of text in any one element.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_elements: 20_000,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// One element of a request or an answer, its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub ns: Option<String>,
    pub name: String,
    /// Character data directly inside the element.
    pub text: String,
    /// `xsi:nil="true"`.
    pub nil: bool,
    /// `soap:mustUnderstand="1"` (meaningful on header blocks).
    pub must_understand: bool,
    /// Other attributes by local name (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
}

impl Element {
    /// An element in `ns` with no content.
    pub fn new(ns: &str, name: &str) -> Self {
        Self {
            ns: Some(ns.to_string()),
            name: name.to_string(),
            ..Self::default()
        }
    }

    /// An element in `ns` holding `text`.
    pub fn text(ns: &str, name: &str, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::new(ns, name)
        }
    }

    #[must_use]
    pub fn with(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }

    /// `{namespace}name`, for messages.
    pub fn qualified(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn decode(body: &[u8]) -> Result<&str, Fault> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| {
        Fault::client(format!(
            "the request is not UTF-8 (invalid byte at {})",
            e.valid_up_to()
        ))
    })?;
    if let Some(rest) = text.trim_start().strip_prefix("<?xml")
        && let Some(decl) = rest.split("?>").next()
        && let Some(at) = decl.find("encoding")
    {
        let value = decl[at + "encoding".len()..]
            .trim_start()
            .trim_start_matches('=')
            .trim_start()
            .trim_matches(|c| c == '"' || c == '\'');
        let name = value
            .split(['"', '\''])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name != "utf-8" && name != "utf8" {
            return Err(Fault::client(format!(
                "encoding '{}' is not supported: send UTF-8",
                snippet(&name)
            )));
        }
    }
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(Fault::client(format!(
            "character U+{:04X} at byte {at} is not allowed in XML",
            c as u32
        )));
    }
    Ok(text)
}

fn reference(r: &BytesRef<'_>) -> Result<Cow<'static, str>, Fault> {
    let name: &str = r;
    Ok(Cow::Borrowed(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => {
            let c = r
                .resolve_char_ref()
                .ok()
                .flatten()
                .filter(|c| is_xml_char(*c))
                .ok_or_else(|| {
                    Fault::client(format!(
                        "undefined or invalid reference &{};",
                        snippet(name)
                    ))
                })?;
            return Ok(Cow::Owned(c.to_string()));
        }
    }))
}

/// Parses a whole document into its root element.
pub fn parse_document(body: &[u8], limits: &Limits) -> Result<Element, Fault> {
    let text = decode(body)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    let malformed = |reader: &NsReader<&[u8]>, e: &dyn std::fmt::Display| {
        Fault::client(format!(
            "the request is not well-formed XML at byte {}: {e}",
            reader.error_position()
        ))
    };
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((r, e)) => (
                match r {
                    ResolveResult::Bound(ns) => Ok(Some(ns.0.to_string())),
                    ResolveResult::Unbound => Ok(None),
                    ResolveResult::Unknown(prefix) => Err(prefix),
                },
                e,
            ),
            Err(e) => return Err(malformed(&reader, &e)),
        };
        match event {
            Event::Start(start) => {
                let ns = resolved.map_err(|prefix| {
                    Fault::client(format!(
                        "the namespace prefix '{}' is not declared",
                        snippet(&prefix)
                    ))
                })?;
                elements += 1;
                if elements > limits.max_elements {
                    return Err(Fault::client(format!(
                        "more than {} elements",
                        limits.max_elements
                    )));
                }
                if stack.len() >= limits.max_depth {
                    return Err(Fault::client(format!(
                        "elements nested deeper than {}",
                        limits.max_depth
                    )));
                }
                if root.is_some() {
                    return Err(Fault::client("content after the root element"));
                }
                let (mut nil, mut must_understand, mut attrs) = (false, false, Vec::new());
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| malformed(&reader, &e))?;
                    let (attr_ns, local) = reader.resolver().resolve_attribute(attr.key);
                    let in_ns = |ns: &str| matches!(attr_ns, ResolveResult::Bound(n) if n.0 == ns);
                    let flag = || -> Result<bool, Fault> {
                        let value = attr
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map_err(|e| malformed(&reader, &e))?;
                        Ok(matches!(value.trim(), "true" | "1"))
                    };
                    match local.as_ref() {
                        "nil" if in_ns(XSI) => nil = flag()?,
                        "mustUnderstand" if in_ns(SOAP_ENV) => must_understand = flag()?,
                        _ if attr.key.as_namespace_binding().is_some() => {}
                        name => {
                            let value = attr
                                .normalized_value(XmlVersion::Implicit1_0)
                                .map_err(|e| malformed(&reader, &e))?;
                            attrs.push((name.to_string(), value.into_owned()));
                        }
                    }
                }
                stack.push(Element {
                    ns,
                    name: start.local_name().as_ref().to_string(),
                    nil,
                    must_understand,
                    attrs,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| Fault::client("unexpected closing tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content(), limits)?,
            Event::CData(c) => push_text(&mut stack, &c.xml10_content(), limits)?,
            Event::GeneralRef(r) => push_text(&mut stack, &reference(&r)?, limits)?,
            Event::Comment(_) => {}
            Event::Decl(_) if stack.is_empty() && root.is_none() && elements == 0 => {}
            Event::Decl(_) => {
                return Err(Fault::client("the XML declaration must start the document"));
            }
            Event::DocType(_) => {
                return Err(Fault::client(
                    "DTDs and entity declarations are not accepted",
                ));
            }
            Event::PI(_) => {
                return Err(Fault::client("processing instructions are not accepted"));
            }
            // `expand_empty_elements` turns these into Start and End.
            Event::Empty(_) => return Err(Fault::server("unexpected empty-element event")),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Fault::client("the request ends inside an element"));
    }
    root.ok_or_else(|| Fault::client("the request holds no XML element"))
}

fn push_text(stack: &mut [Element], text: &str, limits: &Limits) -> Result<(), Fault> {
    match stack.last_mut() {
        Some(current) => {
            if current.text.len() + text.len() > limits.max_text_bytes {
                return Err(Fault::client(format!(
                    "text of <{}> longer than {} bytes",
                    current.name, limits.max_text_bytes
                )));
            }
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(Fault::client("text outside the root element")),
    }
}

/// Parses a SOAP 1.1 request and returns the one element of its Body.
pub fn parse_request(body: &[u8], limits: &Limits) -> Result<Element, Fault> {
    let envelope = parse_document(body, limits)?;
    if envelope.name != "Envelope" {
        return Err(Fault::client(format!(
            "the root element is <{}>, not a SOAP Envelope",
            snippet(&envelope.name)
        )));
    }
    if envelope.ns.as_deref() != Some(SOAP_ENV) {
        return Err(Fault {
            code: FaultCode::VersionMismatch,
            message: format!(
                "the Envelope is in namespace '{}'; this service speaks SOAP 1.1 ({SOAP_ENV})",
                snippet(envelope.ns.as_deref().unwrap_or(""))
            ),
        });
    }
    let mut body = None;
    for part in envelope.children {
        if part.is(SOAP_ENV, "Header") && body.is_none() {
            // No header block is understood here: optional ones are ignored.
            if let Some(block) = part.children.iter().find(|b| b.must_understand) {
                return Err(Fault {
                    code: FaultCode::MustUnderstand,
                    message: format!(
                        "header block {} is not understood",
                        snippet(&block.qualified())
                    ),
                });
            }
        } else if part.is(SOAP_ENV, "Body") && body.is_none() {
            body = Some(part);
        } else {
            return Err(Fault::client(format!(
                "unexpected element {} in the Envelope",
                snippet(&part.qualified())
            )));
        }
    }
    let body = body.ok_or_else(|| Fault::client("the Envelope has no Body"))?;
    if !body.text.trim().is_empty() {
        return Err(Fault::client("the Body holds text outside an element"));
    }
    let mut children = body.children.into_iter();
    match (children.next(), children.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => Err(Fault::client("the Body is empty: name an operation")),
        (Some(_), Some(_)) => Err(Fault::client(
            "the Body holds more than one element; send one operation per request",
        )),
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            // XML cannot carry it even as a reference (a fault may quote the client's bytes).
            _ if !is_xml_char(c) => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
}

/// Writes `element` with the answer namespace bound to prefix `ns1` on the body element.
fn write_element(out: &mut String, element: &Element, top: bool) {
    let prefixed = element.ns.is_some();
    let name = if prefixed {
        format!("ns1:{}", element.name)
    } else {
        element.name.clone()
    };
    out.push('<');
    out.push_str(&name);
    if top && let Some(ns) = &element.ns {
        out.push_str(" xmlns:ns1=\"");
        escape_into(out, ns);
        out.push('"');
    }
    if element.children.is_empty() && element.text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    escape_into(out, &element.text);
    for child in &element.children {
        write_element(out, child, false);
    }
    let _ = write!(out, "</{name}>");
}

const ENVELOPE_OPEN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>";
const ENVELOPE_CLOSE: &str = "</soap:Body></soap:Envelope>";

/// An answer envelope holding `body` (or an empty Body for operations without output).
pub fn write_response(body: Option<&Element>) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(ENVELOPE_OPEN);
    if let Some(element) = body {
        write_element(&mut out, element, true);
    }
    out.push_str(ENVELOPE_CLOSE);
    out
}

/// A fault envelope.
pub fn write_fault(fault: &Fault) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<soap:Fault><faultcode>");
    out.push_str(fault.code.as_str());
    out.push_str("</faultcode><faultstring>");
    escape_into(&mut out, &fault.message);
    out.push_str("</faultstring></soap:Fault>");
    out.push_str(ENVELOPE_CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(xml: &str) -> Result<Element, Fault> {
        parse_request(xml.as_bytes(), &Limits::default())
    }

    #[test]
    fn any_prefix_resolves_to_the_same_names() {
        let a = body(
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x:FindUser xmlns:x="urn:t"><x:search/></x:FindUser></e:Body></e:Envelope>"#,
        )
        .unwrap();
        let b = body(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><FindUser xmlns="urn:t"><search></search></FindUser></Body></Envelope>"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.qualified(), "{urn:t}FindUser");
        assert_eq!(a.children[0].ns.as_deref(), Some("urn:t"));
    }

    #[test]
    fn entities_dtds_and_bad_shapes_are_client_faults() {
        let cases = [
            r#"<!DOCTYPE x [<!ENTITY a "b">]><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a>&a;</a></Body></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a>&ent;</a></Body></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a></Body></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body/></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a/><b/></Body></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><p:a/></Body></Envelope>"#,
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><?pi x?><a/></Body></Envelope>"#,
            "<Envelope>",
            "",
        ];
        for case in cases {
            let fault = body(case).unwrap_err();
            assert_eq!(fault.code, FaultCode::Client, "{case}: {fault:?}");
        }
        let soap12 = body(
            r#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><a/></Body></Envelope>"#,
        )
        .unwrap_err();
        assert_eq!(soap12.code, FaultCode::VersionMismatch);
    }

    #[test]
    fn limits_hold() {
        let deep = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>{}{}</Body></Envelope>"#,
            "<a>".repeat(40),
            "</a>".repeat(40)
        );
        assert!(body(&deep).unwrap_err().message.contains("deeper"));
        let long = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a>{}</a></Body></Envelope>"#,
            "x".repeat(70_000)
        );
        assert!(body(&long).unwrap_err().message.contains("longer"));
    }

    #[test]
    fn text_is_unescaped_and_written_back_escaped() {
        let got = body(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><a xmlns="urn:t">x &lt;&amp;&#65;<![CDATA[<y>]]></a></Body></Envelope>"#,
        )
        .unwrap();
        assert_eq!(got.text, "x <&A<y>");
        let written = write_response(Some(&got));
        assert!(written.contains("<ns1:a xmlns:ns1=\"urn:t\">x &lt;&amp;A&lt;y&gt;</ns1:a>"));
        let again = parse_request(written.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(again, got);
    }

    #[test]
    fn faults_escape_their_message() {
        let f = write_fault(&Fault::client("bad <thing> & more"));
        assert!(f.contains("<faultcode>soap:Client</faultcode>"));
        assert!(f.contains("bad &lt;thing&gt; &amp; more"));
    }

    /// Found by fuzzing: a fault quoting a declared encoding with control characters was not
    /// well-formed XML.
    #[test]
    fn faults_quoting_characters_xml_cannot_carry_stay_well_formed() {
        let refused = body("<?xml version=\"1.0\" encoding=\"U\u{1f}\0F-8\"?><s/>").unwrap_err();
        let written = write_fault(&refused);
        let fault = parse_document(written.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(fault.name, "Envelope");
        assert!(
            written.contains("encoding 'u\u{FFFD}\u{FFFD}f-8'"),
            "{written}"
        );
    }
}
