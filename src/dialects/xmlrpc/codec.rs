//! XML-RPC value model, `methodCall` parser and `methodResponse` writer.
//!
//! The parser is a recursive descent over quick-xml's streaming events and
//! follows the conformance notes (`sippy.md` §5):
//!
//! - Element names are matched on their local name, so prefixed tags such as
//!   `ex:i8` and `ex:nil` are accepted; attributes are checked for
//!   well-formedness and otherwise ignored.
//! - **Duplicate struct members are refused** with [`INVALID_XMLRPC`]
//!   (`duplicate struct member 'x'`): silently keeping the first or the last
//!   would let two parsers disagree about the same request.
//! - `<methodName>` is trimmed of surrounding whitespace before it is checked
//!   against `[A-Za-z0-9_.:/]+`.
//! - Documents are UTF-8 unless the declaration says `ISO-8859-1`/`latin1`
//!   (transcoded) or `US-ASCII`; anything else is [`UNSUPPORTED_ENCODING`].
//! - DTDs (hence entity declarations), processing instructions and undefined
//!   entity references are refused, and [`Limits`] bounds nesting, element
//!   count and string length, so hostile input costs at most one linear pass.
//!
//! The writer emits compact XML with an explicit `<string>` for every string.
//! It never emits exponents, NaN or infinities (non-finite doubles are written
//! as `0.0`), drops sub-second precision from dates (the only form Python's
//! `xmlrpc.client` parses is `20240304T14:03:07`) and replaces characters that XML 1.0 cannot
//! carry (C0 controls other than tab, LF and CR; U+FFFE; U+FFFF) with U+FFFD.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// Not well-formed XML (including refused DTDs and undefined entities).
pub const NOT_WELL_FORMED: i32 = -32700;
/// The declared encoding is not supported.
pub const UNSUPPORTED_ENCODING: i32 = -32701;
/// Invalid character for the encoding, or one XML does not allow.
pub const INVALID_CHARACTER: i32 = -32702;
/// Well-formed XML that is not a valid XML-RPC request, or exceeds [`Limits`].
pub const INVALID_XMLRPC: i32 = -32600;
/// The requested method does not exist.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// The method exists but its parameters are wrong.
pub const INVALID_PARAMS: i32 = -32602;
/// A server-side failure.
pub const INTERNAL_ERROR: i32 = -32603;

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>`, `<i8>` (and `<i1>`, `<i2>`, `<biginteger>` on input).
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>` and untyped `<value>text</value>`; `<value/>` is `""`.
    Str(String),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, normalised to UTC when the input carried an offset.
    DateTime(PrimitiveDateTime),
    /// `<base64>`.
    Base64(Vec<u8>),
    /// `<struct>`.
    Struct(BTreeMap<String, Value>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<nil/>` and `<ex:nil/>`.
    Nil,
}

impl Value {
    /// The XML-RPC type name, for error messages and `system.methodSignature`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::Str(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Struct(_) => "struct",
            Value::Array(_) => "array",
            Value::Nil => "nil",
        }
    }

    /// The number, if this is a [`Value::Double`] or a [`Value::Int`]
    /// (clients often send `<int>` where a double is expected).
    pub fn as_double(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Int(value.into())
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Double(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Str(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Str(value)
    }
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The method name, trimmed and checked against `[A-Za-z0-9_.:/]+`.
    pub method: String,
    /// The parameters in order; empty for `<params/>` or no `<params>`.
    pub params: Vec<Value>,
}

/// A protocol-level fault, with an xmlrpc-epi interop code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseFault {
    /// One of the interop codes, such as [`NOT_WELL_FORMED`].
    pub code: i32,
    /// A human-readable description naming the offending element or value.
    pub message: String,
}

impl ParseFault {
    /// A fault with the given interop code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Resource bounds applied while parsing a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of arrays and structs: a top-level array is depth 1.
    pub max_depth: usize,
    /// Maximum number of elements in the document.
    pub max_elements: usize,
    /// Maximum length in bytes of any single text (string, name, number…).
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_elements: 200_000,
            max_string_bytes: 1 << 20,
        }
    }
}

/// Parses a `<methodCall>` request body.
pub fn parse_method_call(body: &[u8], limits: &Limits) -> Result<MethodCall, ParseFault> {
    let text = decode_body(body)?;
    if let Some((pos, c)) = text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(ParseFault::new(
            INVALID_CHARACTER,
            format!(
                "character U+{:04X} at byte {pos} is not allowed in XML",
                u32::from(c)
            ),
        ));
    }
    let mut reader = Reader::from_str(&text);
    reader.config_mut().expand_empty_elements = true;
    Parser {
        reader,
        limits,
        elements: 0,
        decl_allowed: true,
    }
    .document()
}

/// Renders a successful `<methodResponse>` carrying one value.
#[must_use]
pub fn render_response(value: &Value) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodResponse>{}</methodResponse>",
        Params(std::slice::from_ref(value))
    )
}

/// Renders a fault `<methodResponse>`.
#[must_use]
pub fn render_fault(code: i32, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>\
         <member><name>faultCode</name><value><int>{code}</int></value></member>\
         <member><name>faultString</name><value><string>{}</string></value></member>\
         </struct></value></fault></methodResponse>",
        Escaped(message)
    )
}

/// Renders a `<methodCall>`, for clients, tests and benchmarks.
#[must_use]
pub fn render_method_call(method: &str, params: &[Value]) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{}</methodName>{}</methodCall>",
        Escaped(method),
        Params(params)
    )
}

// ---------------------------------------------------------------------------
// Writer

/// Displays `<params>` with one `<param>` per value.
struct Params<'a>(&'a [Value]);

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<params>")?;
        for param in self.0 {
            write!(f, "<param>{}</param>", Xml(param))?;
        }
        f.write_str("</params>")
    }
}

/// Displays a value as `<value>…</value>`.
struct Xml<'a>(&'a Value);

impl fmt::Display for Xml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<value>")?;
        match self.0 {
            // CPython refuses to marshal ints beyond 32 bits, so `<i8>` only when needed.
            Value::Int(i) => match i32::try_from(*i) {
                Ok(small) => write!(f, "<int>{small}</int>")?,
                Err(_) => write!(f, "<i8>{i}</i8>")?,
            },
            Value::Bool(b) => write!(f, "<boolean>{}</boolean>", u8::from(*b))?,
            Value::Str(s) => write!(f, "<string>{}</string>", Escaped(s))?,
            Value::Double(d) => write!(f, "<double>{}</double>", Decimal(*d))?,
            Value::DateTime(dt) => write!(
                f,
                "<dateTime.iso8601>{:04}{:02}{:02}T{:02}:{:02}:{:02}</dateTime.iso8601>",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            )?,
            Value::Base64(bytes) => write!(f, "<base64>{}</base64>", STANDARD.encode(bytes))?,
            Value::Struct(members) => {
                f.write_str("<struct>")?;
                for (name, value) in members {
                    write!(
                        f,
                        "<member><name>{}</name>{}</member>",
                        Escaped(name),
                        Xml(value)
                    )?;
                }
                f.write_str("</struct>")?;
            }
            Value::Array(items) => {
                f.write_str("<array><data>")?;
                for item in items {
                    Xml(item).fmt(f)?;
                }
                f.write_str("</data></array>")?;
            }
            Value::Nil => f.write_str("<nil/>")?,
        }
        f.write_str("</value>")
    }
}

/// Displays a double as a plain decimal: never an exponent, NaN or infinity.
struct Decimal(f64);

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if !d.is_finite() {
            f.write_str("0.0")
        } else if d.fract() == 0.0 {
            // `Display` for f64 is shortest-round-trip and never uses an
            // exponent, but prints integral values without a fraction.
            write!(f, "{d}.0")
        } else {
            write!(f, "{d}")
        }
    }
}

/// Displays text escaped for element content.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c| matches!(c, '&' | '<' | '>' | '\r') || !is_xml_char(c)) {
            let (plain, tail) = rest.split_at(i);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            f.write_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                // A literal CR would be normalised to LF by the receiving parser.
                Some('\r') => "&#13;",
                _ => "\u{FFFD}",
            })?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

// ---------------------------------------------------------------------------
// Encoding

/// Returns the body as UTF-8 text, transcoding Latin-1 when declared.
fn decode_body(body: &[u8]) -> Result<Cow<'_, str>, ParseFault> {
    if body.starts_with(&[0xFE, 0xFF]) || body.starts_with(&[0xFF, 0xFE]) {
        return Err(ParseFault::new(
            UNSUPPORTED_ENCODING,
            "UTF-16 documents are not supported",
        ));
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let encoding = declared_encoding(body)?.map(|e| e.to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("utf-8" | "utf8") => {
            std::str::from_utf8(body).map(Cow::Borrowed).map_err(|e| {
                ParseFault::new(
                    INVALID_CHARACTER,
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                )
            })
        }
        Some("us-ascii" | "ascii") => match body.iter().position(|b| !b.is_ascii()) {
            None => std::str::from_utf8(body).map(Cow::Borrowed).map_err(|_| {
                ParseFault::new(INVALID_CHARACTER, "invalid character in US-ASCII document")
            }),
            Some(pos) => Err(ParseFault::new(
                INVALID_CHARACTER,
                format!("non-ASCII byte at {pos} in a US-ASCII document"),
            )),
        },
        // Every Latin-1 byte is the code point of the same value.
        Some("iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1") => {
            Ok(Cow::Owned(body.iter().copied().map(char::from).collect()))
        }
        Some(other) => Err(ParseFault::new(
            UNSUPPORTED_ENCODING,
            format!("unsupported encoding '{}'", snippet(other)),
        )),
    }
}

/// The `encoding` of a leading XML declaration, which is ASCII in every
/// encoding we accept. Malformed declarations are left to the main parser.
fn declared_encoding(body: &[u8]) -> Result<Option<String>, ParseFault> {
    let rest = body.trim_ascii_start();
    let is_decl = rest
        .strip_prefix(b"<?xml")
        .and_then(<[u8]>::first)
        .is_some_and(u8::is_ascii_whitespace);
    let end = rest.windows(2).position(|w| w == b"?>");
    let (true, Some(end)) = (is_decl, end) else {
        return Ok(None);
    };
    let Ok(decl) = std::str::from_utf8(rest.get(..end + 2).unwrap_or_default()) else {
        return Err(ParseFault::new(
            INVALID_CHARACTER,
            "non-ASCII byte in the XML declaration",
        ));
    };
    match Reader::from_str(decl).read_event() {
        Ok(Event::Decl(decl)) => match decl.encoding() {
            Some(Ok(encoding)) => Ok(Some(encoding.into_owned())),
            Some(Err(e)) => Err(not_well_formed(format!("bad XML declaration: {e}"))),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The characters XML 1.0 allows in a document.
fn is_xml_char(c: char) -> bool {
    if c < ' ' {
        matches!(c, '\t' | '\n' | '\r')
    } else {
        !matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }
}

fn is_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn trim_space(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// Client-supplied text shortened for fault messages.
fn snippet(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(64) {
        Some((i, _)) => Cow::Owned(format!("{}…", s.split_at(i).0)),
        None => Cow::Borrowed(s),
    }
}

fn not_well_formed(message: impl Into<String>) -> ParseFault {
    ParseFault::new(NOT_WELL_FORMED, message)
}

fn invalid(message: impl Into<String>) -> ParseFault {
    ParseFault::new(INVALID_XMLRPC, message)
}

// ---------------------------------------------------------------------------
// Parser

/// The elements of the XML-RPC vocabulary, by local name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    MethodCall,
    MethodName,
    Params,
    Param,
    Value,
    Array,
    Data,
    Struct,
    Member,
    Name,
    Int {
        tag: &'static str,
        min: i64,
        max: i64,
    },
    Boolean,
    String,
    Double,
    DateTime,
    Base64,
    Nil,
}

impl Elem {
    fn from_local_name(name: &str) -> Option<Self> {
        let int = |tag, min, max| Elem::Int { tag, min, max };
        Some(match name {
            "methodCall" => Elem::MethodCall,
            "methodName" => Elem::MethodName,
            "params" => Elem::Params,
            "param" => Elem::Param,
            "value" => Elem::Value,
            "array" => Elem::Array,
            "data" => Elem::Data,
            "struct" => Elem::Struct,
            "member" => Elem::Member,
            "name" => Elem::Name,
            "i1" => int("i1", i8::MIN.into(), i8::MAX.into()),
            "i2" => int("i2", i16::MIN.into(), i16::MAX.into()),
            "i4" => int("i4", i32::MIN.into(), i32::MAX.into()),
            "int" => int("int", i32::MIN.into(), i32::MAX.into()),
            "i8" => int("i8", i64::MIN, i64::MAX),
            "biginteger" => int("biginteger", i64::MIN, i64::MAX),
            "boolean" => Elem::Boolean,
            "string" => Elem::String,
            "double" => Elem::Double,
            "dateTime.iso8601" => Elem::DateTime,
            "base64" => Elem::Base64,
            "nil" => Elem::Nil,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Elem::MethodCall => "methodCall",
            Elem::MethodName => "methodName",
            Elem::Params => "params",
            Elem::Param => "param",
            Elem::Value => "value",
            Elem::Array => "array",
            Elem::Data => "data",
            Elem::Struct => "struct",
            Elem::Member => "member",
            Elem::Name => "name",
            Elem::Int { tag, .. } => tag,
            Elem::Boolean => "boolean",
            Elem::String => "string",
            Elem::Double => "double",
            Elem::DateTime => "dateTime.iso8601",
            Elem::Base64 => "base64",
            Elem::Nil => "nil",
        }
    }
}

/// What the parser sees: comments, the declaration and references are
/// already dealt with, and CDATA is plain text.
enum Ev<'a> {
    Open(BytesStart<'a>),
    Close,
    Text(Cow<'a, str>),
    Eof,
}

/// A structural event, where only whitespace may appear between elements.
enum Tag {
    Open(Elem),
    Close,
}

struct Parser<'a, 'l> {
    reader: Reader<&'a [u8]>,
    limits: &'l Limits,
    elements: usize,
    /// Only whitespace has been seen so far, so an XML declaration may follow.
    decl_allowed: bool,
}

impl<'a> Parser<'a, '_> {
    fn document(mut self) -> Result<MethodCall, ParseFault> {
        loop {
            match self.next()? {
                Ev::Text(t) if is_space(&t) => {}
                Ev::Open(start) => {
                    if Elem::from_local_name(start.local_name().as_ref()) != Some(Elem::MethodCall)
                    {
                        return Err(invalid(format!(
                            "expected <methodCall> as the root element, found <{}>",
                            snippet(start.name().as_ref())
                        )));
                    }
                    break;
                }
                Ev::Text(_) => return Err(not_well_formed("text before the root element")),
                Ev::Close => return Err(not_well_formed("unexpected end tag")),
                Ev::Eof => return Err(not_well_formed("no root element")),
            }
        }
        let call = self.method_call()?;
        loop {
            match self.next()? {
                Ev::Text(t) if is_space(&t) => {}
                Ev::Eof => return Ok(call),
                Ev::Open(start) => {
                    return Err(not_well_formed(format!(
                        "element <{}> after the root element",
                        snippet(start.name().as_ref())
                    )));
                }
                Ev::Text(_) => return Err(not_well_formed("text after the root element")),
                Ev::Close => return Err(not_well_formed("unexpected end tag")),
            }
        }
    }

    fn method_call(&mut self) -> Result<MethodCall, ParseFault> {
        let method = match self.next_tag(Elem::MethodCall)? {
            Tag::Open(Elem::MethodName) => self.read_text(Elem::MethodName)?,
            Tag::Open(other) => return Err(unexpected(other, Elem::MethodCall)),
            Tag::Close => return Err(invalid("missing <methodName>")),
        };
        let method = trim_space(&method);
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/');
        if method.is_empty() || !method.chars().all(valid_char) {
            return Err(invalid(format!(
                "invalid method name '{}'",
                snippet(method)
            )));
        }
        let mut params = Vec::new();
        match self.next_tag(Elem::MethodCall)? {
            Tag::Close => {
                return Ok(MethodCall {
                    method: method.to_owned(),
                    params,
                });
            }
            Tag::Open(Elem::Params) => {}
            Tag::Open(other) => return Err(unexpected(other, Elem::MethodCall)),
        }
        loop {
            match self.next_tag(Elem::Params)? {
                Tag::Open(Elem::Param) => {
                    match self.next_tag(Elem::Param)? {
                        Tag::Open(Elem::Value) => params.push(self.value(0)?),
                        Tag::Open(other) => return Err(unexpected(other, Elem::Param)),
                        Tag::Close => return Err(invalid("<param> without <value>")),
                    }
                    self.expect_close(Elem::Param)?;
                }
                Tag::Open(other) => return Err(unexpected(other, Elem::Params)),
                Tag::Close => break,
            }
        }
        self.expect_close(Elem::MethodCall)?;
        Ok(MethodCall {
            method: method.to_owned(),
            params,
        })
    }

    /// Parses the content of a `<value>` whose start tag has been read.
    /// `depth` is the number of arrays and structs enclosing it.
    fn value(&mut self, depth: usize) -> Result<Value, ParseFault> {
        let mut text = Cow::Borrowed("");
        loop {
            match self.next()? {
                Ev::Text(chunk) => self.append(&mut text, chunk)?,
                // Untyped: everything, whitespace included, is the string.
                Ev::Close => return Ok(Value::Str(text.into_owned())),
                Ev::Open(start) => {
                    if !is_space(&text) {
                        return Err(invalid("<value> mixes text and elements"));
                    }
                    let elem = Self::elem(&start, Elem::Value)?;
                    let value = self.typed(elem, depth)?;
                    self.expect_close(Elem::Value)?;
                    return Ok(value);
                }
                Ev::Eof => return Err(unexpected_eof(Elem::Value)),
            }
        }
    }

    fn typed(&mut self, elem: Elem, depth: usize) -> Result<Value, ParseFault> {
        match elem {
            Elem::Array => {
                let depth = self.enter(depth)?;
                self.array(depth)
            }
            Elem::Struct => {
                let depth = self.enter(depth)?;
                self.structure(depth)
            }
            Elem::Int { .. }
            | Elem::Boolean
            | Elem::String
            | Elem::Double
            | Elem::DateTime
            | Elem::Base64
            | Elem::Nil => {
                let text = self.read_text(elem)?;
                scalar(elem, text)
            }
            _ => Err(unexpected(elem, Elem::Value)),
        }
    }

    fn enter(&self, depth: usize) -> Result<usize, ParseFault> {
        let depth = depth + 1;
        if depth > self.limits.max_depth {
            return Err(invalid(format!(
                "arrays and structs nested deeper than {} levels",
                self.limits.max_depth
            )));
        }
        Ok(depth)
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseFault> {
        let mut items = Vec::new();
        match self.next_tag(Elem::Array)? {
            Tag::Open(Elem::Data) => {}
            Tag::Open(other) => return Err(unexpected(other, Elem::Array)),
            // `<array/>` without `<data>`: tolerated as empty.
            Tag::Close => return Ok(Value::Array(items)),
        }
        loop {
            match self.next_tag(Elem::Data)? {
                Tag::Open(Elem::Value) => items.push(self.value(depth)?),
                Tag::Open(other) => return Err(unexpected(other, Elem::Data)),
                Tag::Close => break,
            }
        }
        self.expect_close(Elem::Array)?;
        Ok(Value::Array(items))
    }

    fn structure(&mut self, depth: usize) -> Result<Value, ParseFault> {
        let mut members = BTreeMap::new();
        loop {
            match self.next_tag(Elem::Struct)? {
                Tag::Open(Elem::Member) => {
                    let (name, value) = self.member(depth)?;
                    match members.entry(name) {
                        Entry::Vacant(slot) => {
                            slot.insert(value);
                        }
                        Entry::Occupied(slot) => {
                            return Err(invalid(format!(
                                "duplicate struct member '{}'",
                                snippet(slot.key())
                            )));
                        }
                    }
                }
                Tag::Open(other) => return Err(unexpected(other, Elem::Struct)),
                Tag::Close => return Ok(Value::Struct(members)),
            }
        }
    }

    /// A `<member>`: one `<name>` and one `<value>`, in either order.
    fn member(&mut self, depth: usize) -> Result<(String, Value), ParseFault> {
        let (mut name, mut value) = (None, None);
        loop {
            match self.next_tag(Elem::Member)? {
                Tag::Open(Elem::Name) if name.is_none() => {
                    name = Some(self.read_text(Elem::Name)?.into_owned());
                }
                Tag::Open(Elem::Value) if value.is_none() => value = Some(self.value(depth)?),
                Tag::Open(other) => return Err(unexpected(other, Elem::Member)),
                Tag::Close => break,
            }
        }
        match (name, value) {
            (Some(name), Some(value)) => Ok((name, value)),
            (None, _) => Err(invalid("struct member without <name>")),
            (Some(name), None) => Err(invalid(format!(
                "struct member '{}' without <value>",
                snippet(&name)
            ))),
        }
    }

    /// Reads the text content of a leaf element whose start tag has been read.
    fn read_text(&mut self, elem: Elem) -> Result<Cow<'a, str>, ParseFault> {
        let mut text = Cow::Borrowed("");
        loop {
            match self.next()? {
                Ev::Text(chunk) => self.append(&mut text, chunk)?,
                Ev::Close => return Ok(text),
                Ev::Open(start) => {
                    return Err(invalid(format!(
                        "unexpected element <{}> inside <{}>",
                        snippet(start.name().as_ref()),
                        elem.name()
                    )));
                }
                Ev::Eof => return Err(unexpected_eof(elem)),
            }
        }
    }

    fn append(&self, text: &mut Cow<'a, str>, chunk: Cow<'a, str>) -> Result<(), ParseFault> {
        if text.len() + chunk.len() > self.limits.max_string_bytes {
            return Err(invalid(format!(
                "text longer than {} bytes",
                self.limits.max_string_bytes
            )));
        }
        if text.is_empty() {
            *text = chunk;
        } else {
            text.to_mut().push_str(&chunk);
        }
        Ok(())
    }

    /// The next element boundary, skipping whitespace between elements.
    fn next_tag(&mut self, parent: Elem) -> Result<Tag, ParseFault> {
        loop {
            match self.next()? {
                Ev::Open(start) => return Ok(Tag::Open(Self::elem(&start, parent)?)),
                Ev::Close => return Ok(Tag::Close),
                Ev::Text(t) if is_space(&t) => {}
                Ev::Text(_) => {
                    return Err(invalid(format!("unexpected text in <{}>", parent.name())));
                }
                Ev::Eof => return Err(unexpected_eof(parent)),
            }
        }
    }

    fn expect_close(&mut self, elem: Elem) -> Result<(), ParseFault> {
        match self.next_tag(elem)? {
            Tag::Close => Ok(()),
            Tag::Open(other) => Err(unexpected(other, elem)),
        }
    }

    fn elem(start: &BytesStart<'_>, parent: Elem) -> Result<Elem, ParseFault> {
        Elem::from_local_name(start.local_name().as_ref()).ok_or_else(|| {
            invalid(format!(
                "unknown element <{}> in <{}>",
                snippet(start.name().as_ref()),
                parent.name()
            ))
        })
    }

    /// The next event that matters, enforcing the safety rules and limits.
    fn next(&mut self) -> Result<Ev<'a>, ParseFault> {
        loop {
            let event = self.reader.read_event().map_err(|e| {
                not_well_formed(format!(
                    "not well-formed XML at byte {}: {e}",
                    self.reader.error_position()
                ))
            })?;
            let decl_allowed = std::mem::replace(&mut self.decl_allowed, false);
            return Ok(match event {
                // `Empty` does not occur: `expand_empty_elements` splits it.
                Event::Start(start) | Event::Empty(start) => {
                    self.elements += 1;
                    if self.elements > self.limits.max_elements {
                        return Err(invalid(format!(
                            "more than {} elements",
                            self.limits.max_elements
                        )));
                    }
                    if let Some(Err(e)) = start.attributes().find(Result::is_err) {
                        return Err(not_well_formed(format!(
                            "bad attribute in <{}>: {e}",
                            snippet(start.name().as_ref())
                        )));
                    }
                    Ev::Open(start)
                }
                Event::End(_) => Ev::Close,
                Event::Text(text) => {
                    let text = text.xml10_content();
                    self.decl_allowed = decl_allowed && is_space(&text);
                    Ev::Text(text)
                }
                Event::CData(cdata) => Ev::Text(cdata.xml10_content()),
                Event::GeneralRef(reference) => Ev::Text(resolve_reference(&reference)?),
                Event::Comment(_) => continue,
                Event::Decl(_) if decl_allowed => continue,
                Event::Decl(_) => {
                    return Err(not_well_formed(
                        "the XML declaration must start the document",
                    ));
                }
                Event::DocType(_) => {
                    return Err(not_well_formed(
                        "DTDs and entity declarations are not accepted",
                    ));
                }
                Event::PI(pi) => {
                    return Err(not_well_formed(format!(
                        "processing instruction <?{}?> is not accepted",
                        snippet(pi.target())
                    )));
                }
                Event::Eof => Ev::Eof,
            });
        }
    }
}

fn unexpected(elem: Elem, parent: Elem) -> ParseFault {
    invalid(format!(
        "unexpected element <{}> in <{}>",
        elem.name(),
        parent.name()
    ))
}

fn unexpected_eof(elem: Elem) -> ParseFault {
    not_well_formed(format!("document ends inside <{}>", elem.name()))
}

/// The text of a predefined entity or character reference.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<Cow<'static, str>, ParseFault> {
    let name: &str = reference;
    Ok(Cow::Borrowed(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => {
            let c = reference
                .resolve_char_ref()
                .map_err(|e| {
                    not_well_formed(format!("bad character reference &{};: {e}", snippet(name)))
                })?
                .ok_or_else(|| not_well_formed(format!("undefined entity &{};", snippet(name))))?;
            if !is_xml_char(c) {
                return Err(ParseFault::new(
                    INVALID_CHARACTER,
                    format!("character reference &{name}; is not allowed in XML"),
                ));
            }
            return Ok(Cow::Owned(c.to_string()));
        }
    }))
}

/// Converts the text of a scalar element to its value.
fn scalar(elem: Elem, text: Cow<'_, str>) -> Result<Value, ParseFault> {
    let bad = |what: &str| {
        invalid(format!(
            "{what} <{}> value '{}'",
            elem.name(),
            snippet(&text)
        ))
    };
    let trimmed = trim_space(&text);
    match elem {
        Elem::Int { min, max, .. } => {
            let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("invalid"));
            }
            // The syntax is valid, so a parse failure can only be overflow.
            match trimmed.parse::<i64>() {
                Ok(i) if (min..=max).contains(&i) => Ok(Value::Int(i)),
                _ => Err(bad("out of range")),
            }
        }
        Elem::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Value::Bool(true)),
            "0" | "false" => Ok(Value::Bool(false)),
            _ => Err(bad("invalid")),
        },
        Elem::Double => {
            if !is_decimal(trimmed) {
                return Err(bad("invalid"));
            }
            match trimmed.parse::<f64>() {
                Ok(d) if d.is_finite() => Ok(Value::Double(d)),
                _ => Err(bad("out of range")),
            }
        }
        Elem::DateTime => parse_datetime(trimmed)
            .map(Value::DateTime)
            .ok_or_else(|| bad("invalid")),
        Elem::Base64 => {
            let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            BASE64_LENIENT
                .decode(compact)
                .map(Value::Base64)
                .map_err(|e| invalid(format!("invalid <base64> value: {e}")))
        }
        Elem::Nil if trimmed.is_empty() => Ok(Value::Nil),
        Elem::Nil => Err(bad("unexpected")),
        Elem::String => Ok(Value::Str(text.into_owned())),
        _ => Err(unexpected(elem, Elem::Value)),
    }
}

/// Accepts padded and unpadded input; clients disagree.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `[+-]digits[.digits][(e|E)[+-]digits]`, also `.5` and `5.`; no NaN or
/// infinity spellings, which `f64::from_str` would otherwise accept.
fn is_decimal(s: &str) -> bool {
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    !(int.is_empty() && frac.is_empty())
        && all_digits(int)
        && all_digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && all_digits(e))
}

/// Accepts `YYYYMMDD` or `YYYY-MM-DD`, `T`, `HH:MM:SS` or `HHMMSS`, optional
/// fraction, optional `Z` or `±HH[:MM]` offset (converted to UTC).
fn parse_datetime(s: &str) -> Option<PrimitiveDateTime> {
    // Every form is ASCII, and the compact ones below are split by byte count.
    if !s.is_ascii() {
        return None;
    }
    let number = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = s.split_once('T')?;
    let (year, month, day) = match date.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] => (number(y, 4)?, number(m, 2)?, number(d, 2)?),
        [ymd] if ymd.len() == 8 => {
            let (y, md) = ymd.split_at(4);
            let (m, d) = md.split_at(2);
            (number(y, 4)?, number(m, 2)?, number(d, 2)?)
        }
        _ => return None,
    };
    let (clock, zone) = rest.split_at(rest.find(['Z', '+', '-']).unwrap_or(rest.len()));
    let (hms, fraction) = clock.split_once(['.', ',']).unwrap_or((clock, "0"));
    let (hour, minute, second) = match hms.split(':').collect::<Vec<_>>().as_slice() {
        [h, m, s] => (number(h, 2)?, number(m, 2)?, number(s, 2)?),
        [hms] if hms.len() == 6 => {
            let (h, ms) = hms.split_at(2);
            let (m, s) = ms.split_at(2);
            (number(h, 2)?, number(m, 2)?, number(s, 2)?)
        }
        _ => return None,
    };
    // Nanoseconds: the first nine digits, right-padded.
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));

    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    let local = PrimitiveDateTime::new(date, time);
    let (sign, hhmm) = match zone {
        "" | "Z" => return Some(local),
        _ => match zone.strip_prefix('+') {
            Some(hhmm) => (1, hhmm),
            None => (-1, zone.strip_prefix('-')?),
        },
    };
    let (h, m) = match hhmm.split_once(':') {
        Some((h, m)) => (number(h, 2)?, number(m, 2)?),
        None if hhmm.len() == 4 => {
            let (h, m) = hhmm.split_at(2);
            (number(h, 2)?, number(m, 2)?)
        }
        None => (number(hhmm, 2)?, 0),
    };
    let offset = UtcOffset::from_hms(
        sign * i8::try_from(h).ok()?,
        sign * i8::try_from(m).ok()?,
        0,
    )
    .ok()?;
    let utc = local
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)?;
    // A date the writer could not send back (it writes four-digit years) is refused.
    (0..=9999)
        .contains(&utc.year())
        .then(|| PrimitiveDateTime::new(utc.date(), utc.time()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::time::{Duration, Instant};
    use time::macros::datetime;

    fn call(body: &str) -> Result<MethodCall, ParseFault> {
        parse_method_call(body.as_bytes(), &Limits::default())
    }

    /// Parses a single-parameter call wrapping `value_xml` in `<value>`.
    fn value(value_xml: &str) -> Result<Value, ParseFault> {
        let body = format!(
            "<methodCall><methodName>m</methodName><params><param><value>{value_xml}</value></param></params></methodCall>"
        );
        let mut call = call(&body)?;
        assert_eq!(call.params.len(), 1);
        Ok(call.params.remove(0))
    }

    fn fault_code(result: Result<impl fmt::Debug, ParseFault>) -> i32 {
        result.expect_err("expected a fault").code
    }

    fn fault(result: Result<impl fmt::Debug, ParseFault>) -> ParseFault {
        result.expect_err("expected a fault")
    }

    /// The `<value>` fragment the writer produces for `v`.
    fn rendered(v: &Value) -> String {
        Xml(v).to_string()
    }

    // --- integers ---------------------------------------------------------

    #[test]
    fn ints_accept_sign_zeros_and_whitespace() {
        assert_eq!(value("<int>42</int>"), Ok(Value::Int(42)));
        assert_eq!(value("<i4>-7</i4>"), Ok(Value::Int(-7)));
        assert_eq!(value("<int> +0042\n</int>"), Ok(Value::Int(42)));
        assert_eq!(
            value("<int>-2147483648</int>"),
            Ok(Value::Int(-2_147_483_648))
        );
        assert_eq!(value("<i4>2147483647</i4>"), Ok(Value::Int(2_147_483_647)));
    }

    #[test]
    fn int_out_of_32_bit_range_is_a_fault_naming_the_value() {
        for text in ["2147483648", "-2147483649", "99999999999999999999999"] {
            let f = fault(value(&format!("<int>{text}</int>")));
            assert_eq!(f.code, INVALID_XMLRPC);
            assert!(f.message.contains(text), "{}", f.message);
        }
    }

    #[test]
    fn malformed_ints_are_faults() {
        for text in ["", " ", "1.5", "0x10", "+", "1 2", "١"] {
            assert_eq!(
                fault_code(value(&format!("<int>{text}</int>"))),
                INVALID_XMLRPC,
                "{text:?}"
            );
        }
        assert_eq!(fault_code(value("<int/>")), INVALID_XMLRPC);
    }

    #[test]
    fn i8_and_other_int_spellings() {
        assert_eq!(
            value("<i8>9223372036854775807</i8>"),
            Ok(Value::Int(i64::MAX))
        );
        assert_eq!(
            value("<i8>-9223372036854775808</i8>"),
            Ok(Value::Int(i64::MIN))
        );
        assert_eq!(
            fault_code(value("<i8>9223372036854775808</i8>")),
            INVALID_XMLRPC
        );
        assert_eq!(
            value("<biginteger>12345678901</biginteger>"),
            Ok(Value::Int(12_345_678_901))
        );
        assert_eq!(value("<i1>-128</i1>"), Ok(Value::Int(-128)));
        assert_eq!(fault_code(value("<i1>128</i1>")), INVALID_XMLRPC);
        assert_eq!(value("<i2>32767</i2>"), Ok(Value::Int(32767)));
        assert_eq!(fault_code(value("<i2>32768</i2>")), INVALID_XMLRPC);
    }

    #[test]
    fn prefixed_tags_match_on_local_name() {
        assert_eq!(
            value("<ex:i8>5000000000</ex:i8>"),
            Ok(Value::Int(5_000_000_000))
        );
        assert_eq!(value("<ex:nil/>"), Ok(Value::Nil));
        let body = r#"<methodCall xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"><methodName>m</methodName><params><param><value><ex:i8>1</ex:i8></value></param></params></methodCall>"#;
        assert_eq!(call(body).map(|c| c.params), Ok(vec![Value::Int(1)]));
    }

    #[test]
    fn ints_emit_int_when_they_fit_and_i8_otherwise() {
        assert_eq!(rendered(&Value::Int(5)), "<value><int>5</int></value>");
        assert_eq!(
            rendered(&Value::Int(-2_147_483_648)),
            "<value><int>-2147483648</int></value>"
        );
        assert_eq!(
            rendered(&Value::Int(2_147_483_648)),
            "<value><i8>2147483648</i8></value>"
        );
        assert_eq!(
            rendered(&Value::Int(i64::MIN)),
            "<value><i8>-9223372036854775808</i8></value>"
        );
    }

    // --- booleans ---------------------------------------------------------

    #[test]
    fn booleans_accept_digits_and_words_and_emit_digits() {
        assert_eq!(value("<boolean>1</boolean>"), Ok(Value::Bool(true)));
        assert_eq!(value("<boolean>0</boolean>"), Ok(Value::Bool(false)));
        assert_eq!(value("<boolean> true </boolean>"), Ok(Value::Bool(true)));
        assert_eq!(value("<boolean>false</boolean>"), Ok(Value::Bool(false)));
        for text in ["2", "yes", "", "01"] {
            assert_eq!(
                fault_code(value(&format!("<boolean>{text}</boolean>"))),
                INVALID_XMLRPC
            );
        }
        assert_eq!(
            rendered(&Value::Bool(true)),
            "<value><boolean>1</boolean></value>"
        );
        assert_eq!(
            rendered(&Value::Bool(false)),
            "<value><boolean>0</boolean></value>"
        );
    }

    // --- doubles ----------------------------------------------------------

    #[test]
    fn doubles_accept_exponents_as_cpython_sends_them() {
        assert_eq!(value("<double>1e-05</double>"), Ok(Value::Double(1e-5)));
        assert_eq!(value("<double>-1.5</double>"), Ok(Value::Double(-1.5)));
        assert_eq!(value("<double> 3 </double>"), Ok(Value::Double(3.0)));
        assert_eq!(value("<double>+.5</double>"), Ok(Value::Double(0.5)));
        assert_eq!(value("<double>2.5E+3</double>"), Ok(Value::Double(2500.0)));
    }

    #[test]
    fn doubles_refuse_nan_infinity_and_junk() {
        for text in [
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "1e999",
            "abc",
            "",
            ".",
            "1e",
            "1.2.3",
            "0x1p3",
        ] {
            assert_eq!(
                fault_code(value(&format!("<double>{text}</double>"))),
                INVALID_XMLRPC,
                "{text:?}"
            );
        }
    }

    #[test]
    fn doubles_emit_plain_decimals() {
        let cases = [
            (12.0, "12.0"),
            (0.1, "0.1"),
            (1e-5, "0.00001"),
            (-2.5, "-2.5"),
            (1e21, "1000000000000000000000.0"),
            (-0.0, "-0.0"),
            // Documented: non-finite values are written as 0.0.
            (f64::NAN, "0.0"),
            (f64::INFINITY, "0.0"),
            (f64::NEG_INFINITY, "0.0"),
        ];
        for (d, text) in cases {
            assert_eq!(
                rendered(&Value::Double(d)),
                format!("<value><double>{text}</double></value>")
            );
        }
    }

    // --- strings ----------------------------------------------------------

    #[test]
    fn strings_keep_whitespace_and_empty_values_are_empty_strings() {
        assert_eq!(value("  a b\t"), Ok(Value::Str("  a b\t".into())));
        assert_eq!(value("<string> x </string>"), Ok(Value::Str(" x ".into())));
        assert_eq!(value(""), Ok(Value::Str(String::new())));
        assert_eq!(value("<string/>"), Ok(Value::Str(String::new())));
        assert_eq!(value("<string></string>"), Ok(Value::Str(String::new())));
        let body = "<methodCall><methodName>m</methodName><params><param><value/></param></params></methodCall>";
        assert_eq!(
            call(body).map(|c| c.params),
            Ok(vec![Value::Str(String::new())])
        );
        // Whitespace around a typed element is formatting, not data.
        assert_eq!(
            value("\n  <string>x</string>\n"),
            Ok(Value::Str("x".into()))
        );
    }

    #[test]
    fn strings_accept_cdata_and_references() {
        assert_eq!(
            value("<string><![CDATA[a & <b>]]></string>"),
            Ok(Value::Str("a & <b>".into()))
        );
        assert_eq!(
            value("<string>&lt;&gt;&amp;&apos;&quot;&#60;&#x3C;&#13;</string>"),
            Ok(Value::Str("<>&'\"<<\r".into()))
        );
        assert_eq!(value("a<!-- note -->b"), Ok(Value::Str("ab".into())));
    }

    #[test]
    fn unknown_entities_and_bad_character_references_are_faults() {
        let f = fault(value("<string>&nbsp;</string>"));
        assert_eq!(f.code, NOT_WELL_FORMED);
        assert!(f.message.contains("&nbsp;"), "{}", f.message);
        assert_eq!(
            fault_code(value("<string>&#1;</string>")),
            INVALID_CHARACTER
        );
        assert_eq!(
            fault_code(value("<string>&#xZZ;</string>")),
            NOT_WELL_FORMED
        );
        assert_eq!(fault_code(value("<string>a & b</string>")), NOT_WELL_FORMED);
    }

    #[test]
    fn text_mixed_with_a_typed_element_is_a_fault() {
        assert_eq!(fault_code(value("x<string>y</string>")), INVALID_XMLRPC);
        assert_eq!(fault_code(value("<int>1</int>x")), INVALID_XMLRPC);
        assert_eq!(
            fault_code(value("<int>1</int><int>2</int>")),
            INVALID_XMLRPC
        );
        assert_eq!(
            fault_code(value("<string><b>x</b></string>")),
            INVALID_XMLRPC
        );
    }

    #[test]
    fn strings_are_escaped_on_output() {
        assert_eq!(
            rendered(&Value::Str("a<b>&c\r\nd\u{1}\"'".into())),
            "<value><string>a&lt;b&gt;&amp;c&#13;\nd\u{FFFD}\"'</string></value>"
        );
    }

    // --- dates ------------------------------------------------------------

    #[test]
    fn datetimes_accept_common_forms() {
        let expected = Ok(Value::DateTime(datetime!(2024-03-04 14:03:07)));
        for text in [
            "20240304T14:03:07",
            "2024-03-04T14:03:07",
            " 20240304T14:03:07Z ",
            "20240304T140307",
            "2024-03-04T15:03:07+01:00",
            "2024-03-04T15:03:07+0100",
            "2024-03-04T15:03:07+01",
            "2024-03-04T09:33:07-04:30",
        ] {
            assert_eq!(
                value(&format!("<dateTime.iso8601>{text}</dateTime.iso8601>")),
                expected,
                "{text}"
            );
        }
        assert_eq!(
            value("<dateTime.iso8601>2024-03-04T14:03:07.25Z</dateTime.iso8601>"),
            Ok(Value::DateTime(datetime!(2024-03-04 14:03:07.25)))
        );
        // An offset can move the date.
        assert_eq!(
            value("<dateTime.iso8601>20240101T00:30:00+01:00</dateTime.iso8601>"),
            Ok(Value::DateTime(datetime!(2023-12-31 23:30:00)))
        );
    }

    #[test]
    fn bad_datetimes_are_faults() {
        for text in [
            "",
            "20241304T14:03:07",
            "20240230T14:03:07",
            "20240304T25:03:07",
            "20240304 14:03:07",
            "2024034T14:03:07",
            "20240304T14:03:07.",
            "20240304T14:03:07+1:00",
            "20240304T14:03:07Zjunk",
            "20240304T14:03",
        ] {
            assert_eq!(
                fault_code(value(&format!(
                    "<dateTime.iso8601>{text}</dateTime.iso8601>"
                ))),
                INVALID_XMLRPC,
                "{text}"
            );
        }
    }

    /// Found by fuzzing: a non-ASCII character where the compact forms are split by byte
    /// count panicked, and an offset could move a date out of the years the writer can send.
    #[test]
    fn non_ascii_and_out_of_range_datetimes_are_faults() {
        for text in [
            "abc\u{e9}567T14:03:07",
            "20240304Ta\u{e9}123",
            "20240304T14:03:07+a\u{e9}1",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ] {
            assert_eq!(
                fault_code(value(&format!(
                    "<dateTime.iso8601>{text}</dateTime.iso8601>"
                ))),
                INVALID_XMLRPC,
                "{text}"
            );
        }
    }

    #[test]
    fn datetimes_emit_the_cpython_form() {
        assert_eq!(
            rendered(&Value::DateTime(datetime!(2024-03-04 14:03:07.5))),
            "<value><dateTime.iso8601>20240304T14:03:07</dateTime.iso8601></value>"
        );
    }

    // --- base64 -----------------------------------------------------------

    #[test]
    fn base64_strips_whitespace_and_allows_empty() {
        assert_eq!(
            value("<base64>aGVs\n bG8=\r\n</base64>"),
            Ok(Value::Base64(b"hello".to_vec()))
        );
        assert_eq!(
            value("<base64>aGVsbG8</base64>"),
            Ok(Value::Base64(b"hello".to_vec()))
        );
        assert_eq!(value("<base64/>"), Ok(Value::Base64(Vec::new())));
        assert_eq!(value("<base64>\n</base64>"), Ok(Value::Base64(Vec::new())));
        assert_eq!(fault_code(value("<base64>!!!!</base64>")), INVALID_XMLRPC);
        assert_eq!(fault_code(value("<base64>a</base64>")), INVALID_XMLRPC);
        assert_eq!(
            rendered(&Value::Base64(b"hello".to_vec())),
            "<value><base64>aGVsbG8=</base64></value>"
        );
    }

    // --- structs and arrays -------------------------------------------------

    #[test]
    fn structs_parse_members_in_any_order() {
        let v = value(
            "<struct>
               <member><name>b</name><value><int>2</int></value></member>
               <member><value>one</value><name>a</name></member>
               <member><name></name><value/></member>
             </struct>",
        );
        let expected = BTreeMap::from([
            ("a".to_owned(), Value::Str("one".into())),
            ("b".to_owned(), Value::Int(2)),
            (String::new(), Value::Str(String::new())),
        ]);
        assert_eq!(v, Ok(Value::Struct(expected)));
        assert_eq!(value("<struct/>"), Ok(Value::Struct(BTreeMap::new())));
    }

    #[test]
    fn duplicate_struct_members_are_refused() {
        let f = fault(value(
            "<struct><member><name>x</name><value>1</value></member>\
             <member><name>x</name><value>2</value></member></struct>",
        ));
        assert_eq!(
            f,
            ParseFault::new(INVALID_XMLRPC, "duplicate struct member 'x'")
        );
    }

    #[test]
    fn incomplete_struct_members_are_faults() {
        for member in [
            "<member><value>1</value></member>",
            "<member><name>x</name></member>",
            "<member/>",
            "<member><name>x</name><name>y</name><value>1</value></member>",
            "<member><name>x</name><value>1</value><value>2</value></member>",
        ] {
            assert_eq!(
                fault_code(value(&format!("<struct>{member}</struct>"))),
                INVALID_XMLRPC,
                "{member}"
            );
        }
        assert_eq!(fault_code(value("<struct>text</struct>")), INVALID_XMLRPC);
    }

    #[test]
    fn arrays_parse_and_data_may_be_empty() {
        assert_eq!(
            value("<array><data/></array>"),
            Ok(Value::Array(Vec::new()))
        );
        assert_eq!(
            value("<array><data></data></array>"),
            Ok(Value::Array(Vec::new()))
        );
        assert_eq!(
            value(
                "<array>\n <data>\n  <value><int>1</int></value>\n  <value>x</value>\n  <value><array><data/></array></value>\n </data>\n</array>"
            ),
            Ok(Value::Array(vec![
                Value::Int(1),
                Value::Str("x".into()),
                Value::Array(Vec::new())
            ]))
        );
        assert_eq!(
            fault_code(value("<array><value>1</value></array>")),
            INVALID_XMLRPC
        );
        assert_eq!(
            fault_code(value("<array><data><int>1</int></data></array>")),
            INVALID_XMLRPC
        );
    }

    #[test]
    fn nil_parses_and_is_emitted_as_nil() {
        assert_eq!(value("<nil/>"), Ok(Value::Nil));
        assert_eq!(value("<nil></nil>"), Ok(Value::Nil));
        assert_eq!(fault_code(value("<nil>x</nil>")), INVALID_XMLRPC);
        assert_eq!(rendered(&Value::Nil), "<value><nil/></value>");
    }

    #[test]
    fn compound_values_are_compact_and_members_sorted() {
        let v = Value::Struct(BTreeMap::from([
            ("b".to_owned(), Value::Array(vec![Value::Int(1)])),
            ("a".to_owned(), Value::Array(Vec::new())),
        ]));
        assert_eq!(
            rendered(&v),
            "<value><struct><member><name>a</name><value><array><data></data></array></value></member>\
             <member><name>b</name><value><array><data><value><int>1</int></value></data></array></value></member></struct></value>"
        );
    }

    #[test]
    fn type_names_are_the_xmlrpc_names() {
        let names: Vec<_> = [
            Value::Int(0),
            Value::Bool(true),
            Value::Str(String::new()),
            Value::Double(0.0),
            Value::DateTime(datetime!(2024-01-01 0:00)),
            Value::Base64(Vec::new()),
            Value::Struct(BTreeMap::new()),
            Value::Array(Vec::new()),
            Value::Nil,
        ]
        .iter()
        .map(Value::type_name)
        .collect();
        assert_eq!(
            names,
            [
                "int",
                "boolean",
                "string",
                "double",
                "dateTime.iso8601",
                "base64",
                "struct",
                "array",
                "nil"
            ]
        );
    }

    // --- envelope ---------------------------------------------------------

    #[test]
    fn envelope_with_declaration_whitespace_and_no_params() {
        let expected = Ok(MethodCall {
            method: "system.listMethods".into(),
            params: Vec::new(),
        });
        assert_eq!(
            call(
                "<?xml version=\"1.0\"?>\n<methodCall>\n  <methodName>system.listMethods</methodName>\n  <params/>\n</methodCall>\n"
            ),
            expected
        );
        assert_eq!(
            call("<methodCall><methodName>system.listMethods</methodName></methodCall>"),
            expected
        );
        assert_eq!(
            call(
                "<methodCall><methodName>system.listMethods</methodName><params></params></methodCall>"
            ),
            expected
        );
        assert_eq!(
            call("\u{FEFF}<methodCall><methodName> system.listMethods\n</methodName></methodCall>"),
            expected
        );
    }

    #[test]
    fn method_names_are_restricted() {
        assert_eq!(
            call("<methodCall><methodName>a_b.c:d/E9</methodName></methodCall>").map(|c| c.method),
            Ok("a_b.c:d/E9".into())
        );
        for name in ["", "a b", "a;b", "é", "a&amp;b"] {
            let f = fault(call(&format!(
                "<methodCall><methodName>{name}</methodName></methodCall>"
            )));
            assert_eq!(f.code, INVALID_XMLRPC, "{name}");
        }
        assert_eq!(
            fault_code(call("<methodCall><params/></methodCall>")),
            INVALID_XMLRPC
        );
        assert_eq!(
            fault_code(call("<methodCall></methodCall>")),
            INVALID_XMLRPC
        );
    }

    #[test]
    fn structural_problems_are_faults_naming_the_element() {
        let cases = [
            ("<methodResponse/>", INVALID_XMLRPC, "<methodResponse>"),
            (
                "<methodCall><methodName>m</methodName><foo/></methodCall>",
                INVALID_XMLRPC,
                "<foo>",
            ),
            (
                "<methodCall><methodName>m</methodName><params><param><value><float>1</float></value></param></params></methodCall>",
                INVALID_XMLRPC,
                "<float>",
            ),
            (
                "<methodCall><methodName>m</methodName><params>junk</params></methodCall>",
                INVALID_XMLRPC,
                "<params>",
            ),
            (
                "<methodCall><methodName>m</methodName><params><param/></params></methodCall>",
                INVALID_XMLRPC,
                "<param>",
            ),
            (
                "<methodCall><methodName>m</methodName><params><value>1</value></params></methodCall>",
                INVALID_XMLRPC,
                "<value>",
            ),
            (
                "<methodCall><methodName>m</methodName></methodCall>trailing",
                NOT_WELL_FORMED,
                "after the root",
            ),
            (
                "<methodCall><methodName>m</methodName></methodCall><x/>",
                NOT_WELL_FORMED,
                "<x>",
            ),
            (
                "text<methodCall><methodName>m</methodName></methodCall>",
                NOT_WELL_FORMED,
                "before the root",
            ),
            ("", NOT_WELL_FORMED, "no root"),
            (
                "<methodCall><methodName>m</methodName>",
                NOT_WELL_FORMED,
                "<methodCall>",
            ),
        ];
        for (body, code, needle) in cases {
            let f = fault(call(body));
            assert_eq!(f.code, code, "{body}: {}", f.message);
            assert!(f.message.contains(needle), "{body}: {}", f.message);
        }
        // Trailing whitespace and comments are fine.
        assert!(call("<methodCall><methodName>m</methodName></methodCall>\n<!-- x -->\n").is_ok());
    }

    #[test]
    fn malformed_xml_is_not_well_formed() {
        for body in [
            "<methodCall><methodName>m</methodCall>",
            "<methodCall><methodName>m</methodName></methodCall></methodCall>",
            "<methodCall><methodName>m</methodName>",
            "<methodCall",
            "<methodCall a=1><methodName>m</methodName></methodCall>",
            "<methodCall a=\"1\" a=\"2\"><methodName>m</methodName></methodCall>",
        ] {
            assert_eq!(fault_code(call(body)), NOT_WELL_FORMED, "{body}");
        }
    }

    // --- encodings ----------------------------------------------------------

    #[test]
    fn latin1_bodies_are_transcoded() {
        for encoding in ["ISO-8859-1", "latin1"] {
            let mut body = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?><methodCall><methodName>m</methodName><params><param><value>caf").into_bytes();
            body.push(0xE9);
            body.extend_from_slice(b"</value></param></params></methodCall>");
            let parsed = parse_method_call(&body, &Limits::default()).map(|c| c.params);
            assert_eq!(parsed, Ok(vec![Value::Str("café".into())]), "{encoding}");
        }
    }

    #[test]
    fn declared_encodings() {
        let body = |encoding: &str, text: &str| {
            format!(
                "<?xml version='1.0' encoding='{encoding}'?><methodCall><methodName>m</methodName><params><param><value>{text}</value></param></params></methodCall>"
            )
        };
        assert!(call(&body("UTF-8", "é")).is_ok());
        assert!(call(&body("utf-8", "é")).is_ok());
        assert!(call(&body("US-ASCII", "e")).is_ok());
        assert_eq!(fault_code(call(&body("US-ASCII", "é"))), INVALID_CHARACTER);
        assert_eq!(fault_code(call(&body("UTF-16", "e"))), UNSUPPORTED_ENCODING);
        assert_eq!(
            fault_code(call(&body("windows-1252", "e"))),
            UNSUPPORTED_ENCODING
        );
        assert_eq!(
            fault_code(parse_method_call(b"\xFF\xFE<\0m\0", &Limits::default())),
            UNSUPPORTED_ENCODING
        );
    }

    #[test]
    fn invalid_characters() {
        let bad_utf8 = b"<methodCall><methodName>m</methodName><params><param><value>\xC3\x28</value></param></params></methodCall>";
        assert_eq!(
            fault_code(parse_method_call(bad_utf8, &Limits::default())),
            INVALID_CHARACTER
        );
        assert_eq!(fault_code(value("a\u{1}b")), INVALID_CHARACTER);
        assert_eq!(fault_code(value("a\u{FFFF}b")), INVALID_CHARACTER);
    }

    // --- safety -------------------------------------------------------------

    #[test]
    fn billion_laughs_is_refused_fast() {
        let mut doc =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for i in 1..=9 {
            let prev = if i == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", i - 1)
            };
            let _ = writeln!(
                doc,
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            );
        }
        doc.push_str("]>\n<methodCall><methodName>m</methodName><params><param><value>&lol9;</value></param></params></methodCall>");
        let start = Instant::now();
        let f = fault(call(&doc));
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            f,
            ParseFault::new(
                NOT_WELL_FORMED,
                "DTDs and entity declarations are not accepted"
            )
        );
    }

    #[test]
    fn external_entities_are_refused() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><methodCall><methodName>m</methodName><params><param><value>&xxe;</value></param></params></methodCall>";
        assert_eq!(fault_code(call(xxe)), NOT_WELL_FORMED);
        let plain = "<!DOCTYPE methodCall><methodCall><methodName>m</methodName></methodCall>";
        assert_eq!(fault_code(call(plain)), NOT_WELL_FORMED);
    }

    #[test]
    fn processing_instructions_and_late_declarations_are_refused() {
        let pi = fault(call(
            "<?xml-stylesheet href=\"x\"?><methodCall><methodName>m</methodName></methodCall>",
        ));
        assert_eq!(pi.code, NOT_WELL_FORMED);
        assert!(pi.message.contains("xml-stylesheet"), "{}", pi.message);
        assert_eq!(
            fault_code(call(
                "<methodCall><?php x?><methodName>m</methodName></methodCall>"
            )),
            NOT_WELL_FORMED
        );
        assert_eq!(
            fault_code(call(
                "<methodCall><methodName>m</methodName></methodCall><?xml version=\"1.0\"?>"
            )),
            NOT_WELL_FORMED
        );
        assert_eq!(
            fault_code(call(
                "<!-- c --><?xml version=\"1.0\"?><methodCall><methodName>m</methodName></methodCall>"
            )),
            NOT_WELL_FORMED
        );
    }

    fn nested_arrays(depth: usize) -> String {
        format!(
            "<methodCall><methodName>m</methodName><params><param><value>{}1{}</value></param></params></methodCall>",
            "<array><data><value>".repeat(depth),
            "</value></data></array>".repeat(depth)
        )
    }

    #[test]
    fn deep_nesting_is_refused() {
        let f = fault(call(&nested_arrays(100)));
        assert_eq!(f.code, INVALID_XMLRPC);
        assert!(f.message.contains("nested"), "{}", f.message);
        assert!(call(&nested_arrays(32)).is_ok());
        assert_eq!(fault_code(call(&nested_arrays(33))), INVALID_XMLRPC);
        let structs = format!(
            "<methodCall><methodName>m</methodName><params><param><value>{}</value></param></params></methodCall>",
            "<struct><member><name>a</name><value>".repeat(40)
                + &"</value></member></struct>".repeat(40)
        );
        assert_eq!(fault_code(call(&structs)), INVALID_XMLRPC);
    }

    #[test]
    fn element_and_string_limits() {
        let limits = Limits {
            max_elements: 10,
            ..Limits::default()
        };
        let items = "<value><int>1</int></value>".repeat(5);
        let body = format!(
            "<methodCall><methodName>m</methodName><params><param><value><array><data>{items}</data></array></value></param></params></methodCall>"
        );
        assert_eq!(
            fault_code(parse_method_call(body.as_bytes(), &limits)),
            INVALID_XMLRPC
        );
        assert!(parse_method_call(body.as_bytes(), &Limits::default()).is_ok());

        let limits = Limits {
            max_string_bytes: 8,
            ..Limits::default()
        };
        let short = "<methodCall><methodName>m</methodName><params><param><value>12345678</value></param></params></methodCall>";
        assert!(parse_method_call(short.as_bytes(), &limits).is_ok());
        for long in [
            "<methodCall><methodName>m</methodName><params><param><value>123456789</value></param></params></methodCall>",
            "<methodCall><methodName>m</methodName><params><param><value>1234<![CDATA[56789]]></value></param></params></methodCall>",
            "<methodCall><methodName>m</methodName><params><param><value><string>1234&amp;6789</string></value></param></params></methodCall>",
            "<methodCall><methodName>abcdefghi</methodName></methodCall>",
        ] {
            assert_eq!(
                fault_code(parse_method_call(long.as_bytes(), &limits)),
                INVALID_XMLRPC,
                "{long}"
            );
        }
    }

    // --- responses ----------------------------------------------------------

    #[test]
    fn response_and_fault_documents() {
        assert_eq!(
            render_response(&Value::Str("ok".into())),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><string>ok</string></value></param></params></methodResponse>"
        );
        assert_eq!(
            render_fault(-32601, "no method <x> & co"),
            "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>\
             <member><name>faultCode</name><value><int>-32601</int></value></member>\
             <member><name>faultString</name><value><string>no method &lt;x&gt; &amp; co</string></value></member>\
             </struct></value></fault></methodResponse>"
        );
        assert_eq!(
            render_method_call("a.b", &[]),
            "<?xml version=\"1.0\"?><methodCall><methodName>a.b</methodName><params></params></methodCall>"
        );
    }

    // --- round trip ---------------------------------------------------------

    /// `SplitMix64`: small, deterministic, good enough to shake out bugs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn string(&mut self) -> String {
            const CHARS: &[char] = &[
                'a', 'Z', '0', ' ', '\t', '\n', '\r', '<', '>', '&', '\'', '"', ']', ';', '#', 'é',
                '€', '😀', '\u{85}', '\u{2028}', '\u{FFFD}',
            ];
            (0..self.below(12))
                .map(|_| CHARS[self.below(CHARS.len())])
                .collect()
        }

        fn value(&mut self, depth: usize) -> Value {
            let kinds = if depth == 0 { 7 } else { 9 };
            match self.below(kinds) {
                0 => Value::Int(match self.below(3) {
                    0 => self.next().cast_signed(),
                    1 => i64::from(self.next() as i32),
                    _ => i64::from(self.below(100) as u8) - 50,
                }),
                1 => Value::Bool(self.below(2) == 1),
                2 => Value::Str(self.string()),
                3 => Value::Double(loop {
                    let d = match self.below(3) {
                        0 => f64::from_bits(self.next()),
                        1 => (self.next().cast_signed() as f64) / 1024.0,
                        _ => self.below(1000) as f64 / 100.0,
                    };
                    if d.is_finite() {
                        break d;
                    }
                }),
                4 => Value::DateTime(PrimitiveDateTime::new(
                    Date::from_calendar_date(
                        1900 + i32::from(self.below(200) as u16),
                        Month::try_from(1 + self.below(12) as u8).expect("month"),
                        1 + self.below(28) as u8,
                    )
                    .expect("date"),
                    Time::from_hms(
                        self.below(24) as u8,
                        self.below(60) as u8,
                        self.below(60) as u8,
                    )
                    .expect("time"),
                )),
                5 => Value::Base64((0..self.below(40)).map(|_| self.next() as u8).collect()),
                6 => Value::Nil,
                7 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
                _ => Value::Struct(
                    (0..self.below(4))
                        .map(|_| (self.string(), self.value(depth - 1)))
                        .collect(),
                ),
            }
        }
    }

    #[test]
    fn random_values_round_trip() {
        let mut rng = Rng(0x5EED);
        for _ in 0..500 {
            let params: Vec<Value> = (0..rng.below(4)).map(|_| rng.value(4)).collect();
            let body = render_method_call("test.echo", &params);
            assert_eq!(
                call(&body),
                Ok(MethodCall {
                    method: "test.echo".into(),
                    params: params.clone()
                }),
                "{body}"
            );

            let v = rng.value(4);
            // A response's <params> is the same grammar as a call's.
            let response = render_response(&v)
                .replacen(
                    "<methodResponse>",
                    "<methodCall><methodName>r</methodName>",
                    1,
                )
                .replacen("</methodResponse>", "</methodCall>", 1);
            assert_eq!(call(&response).map(|c| c.params), Ok(vec![v]), "{response}");
        }
    }

    #[test]
    fn mutated_documents_never_panic() {
        let mut rng = Rng(42);
        let params: Vec<Value> = (0..4).map(|_| rng.value(3)).collect();
        let original = render_method_call("m", &params).into_bytes();
        let junk: &[u8] = b"<>&;/!?[]-\"' \x00\xC3\xFFa";
        for _ in 0..3000 {
            let mut body = original.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(body.len());
                match rng.below(3) {
                    0 => body[at] = junk[rng.below(junk.len())],
                    1 => {
                        body.remove(at);
                    }
                    _ => body.insert(at, junk[rng.below(junk.len())]),
                }
            }
            let _ = parse_method_call(&body, &Limits::default());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Text XML 1.0 can carry (the writer would replace anything else).
    const XML_TEXT: &str = "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,12}";

    fn date_time() -> impl Strategy<Value = PrimitiveDateTime> {
        (0..=9999_i32, 1..=365_u16, 0..86_400_u32).prop_map(|(year, day, second)| {
            let date = Date::from_ordinal_date(year, day).unwrap();
            let time = Time::from_hms(
                (second / 3600) as u8,
                (second / 60 % 60) as u8,
                (second % 60) as u8,
            )
            .unwrap();
            PrimitiveDateTime::new(date, time)
        })
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
            XML_TEXT.prop_map(Value::Str),
            any::<f64>()
                .prop_filter("finite", |d| d.is_finite())
                .prop_map(Value::Double),
            date_time().prop_map(Value::DateTime),
            proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Base64),
            Just(Value::Nil),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(XML_TEXT, inner, 0..6).prop_map(Value::Struct),
            ]
        })
    }

    proptest! {
        /// Any value tree the writer sends, the parser reads back equal.
        #[test]
        fn rendered_calls_parse_back_equal(
            method in "[A-Za-z0-9_.:/]{1,20}",
            params in proptest::collection::vec(value(), 0..4),
        ) {
            let body = render_method_call(&method, &params);
            let call = parse_method_call(body.as_bytes(), &Limits::default()).unwrap();
            prop_assert_eq!(call.method, method);
            prop_assert_eq!(call.params, params);
        }
    }
}
