//! The WSDL as the server's own contract: read once from `sipxconfig.wsdl`, it tells which body
//! elements each port takes, checks every request against the declared types before a handler
//! sees it, and checks every answer before it is sent. Handlers read requests through [`View`],
//! which refuses (in debug builds, loudly) a child name the WSDL does not declare.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::envelope::{self, Element, Limits};

pub const NS: &str = "http://www.sipfoundry.org/2007/08/21/ConfigService";
pub const WSDL: &str = include_str!("sipxconfig.wsdl");

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    String,
    Int,
    Boolean,
    /// A string restricted to the listed values.
    Enum(Vec<String>),
    Complex(String),
}

#[derive(Debug, Clone)]
pub struct Particle {
    pub name: String,
    pub ty: TypeRef,
    pub min: u32,
    /// None: unbounded.
    pub max: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub port: String,
    pub name: String,
    /// The body element of the request.
    pub input: String,
    /// The body element of the answer; None for an empty answer.
    pub output: Option<String>,
}

#[derive(Debug, Default)]
pub struct Schema {
    types: HashMap<String, Vec<Particle>>,
    elements: HashMap<String, String>,
    pub operations: Vec<Operation>,
}

/// The WSDL the server serves, read once.
pub static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    // The WSDL is compiled in, and a unit test reads it: it cannot fail here.
    Schema::parse(WSDL).unwrap_or_default()
});

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn attr<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Schema {
    pub fn parse(wsdl: &str) -> Result<Self, String> {
        let limits = Limits {
            max_depth: 32,
            max_elements: 100_000,
            max_text_bytes: 1 << 20,
        };
        let root = envelope::parse_document(wsdl.as_bytes(), &limits).map_err(|f| f.message)?;
        let mut schema = Self::default();
        let mut simple: HashMap<String, TypeRef> = HashMap::new();
        let mut messages: HashMap<String, Option<String>> = HashMap::new();
        let name_of = |e: &Element| attr(e, "name").unwrap_or_default().to_string();
        for part in &root.children {
            match part.name.as_str() {
                "types" => {
                    for xsd in part.children.iter().filter(|c| c.name == "schema") {
                        for def in &xsd.children {
                            match def.name.as_str() {
                                "simpleType" => {
                                    let values = def
                                        .children
                                        .iter()
                                        .flat_map(|r| &r.children)
                                        .filter(|e| e.name == "enumeration")
                                        .filter_map(|e| attr(e, "value").map(str::to_string))
                                        .collect();
                                    simple.insert(name_of(def), TypeRef::Enum(values));
                                }
                                "complexType" => {
                                    let particles = def
                                        .children
                                        .iter()
                                        .filter(|s| s.name == "sequence")
                                        .flat_map(|s| &s.children)
                                        .map(Self::particle)
                                        .collect::<Result<_, _>>()?;
                                    schema.types.insert(name_of(def), particles);
                                }
                                "element" => {
                                    let ty =
                                        attr(def, "type").ok_or("a global element has no type")?;
                                    schema.elements.insert(name_of(def), local(ty).to_string());
                                }
                                _ => {}
                            }
                        }
                    }
                }
                "message" => {
                    let element = part
                        .children
                        .iter()
                        .find_map(|p| attr(p, "element"))
                        .map(|e| local(e).to_string());
                    messages.insert(name_of(part), element);
                }
                "portType" => {
                    for op in &part.children {
                        let message = |dir: &str| {
                            op.children
                                .iter()
                                .find(|c| c.name == dir)
                                .and_then(|c| attr(c, "message"))
                                .and_then(|m| messages.get(local(m)).cloned())
                        };
                        schema.operations.push(Operation {
                            port: name_of(part),
                            name: name_of(op),
                            input: message("input")
                                .flatten()
                                .ok_or_else(|| format!("operation {} has no input", name_of(op)))?,
                            output: message("output").flatten(),
                        });
                    }
                }
                _ => {}
            }
        }
        // Particles typed by a named simple type.
        for particles in schema.types.values_mut() {
            for p in particles {
                if let TypeRef::Complex(name) = &p.ty
                    && let Some(s) = simple.get(name)
                {
                    p.ty = s.clone();
                }
            }
        }
        Ok(schema)
    }

    fn particle(e: &Element) -> Result<Particle, String> {
        let name = attr(e, "name")
            .ok_or("an element without a name")?
            .to_string();
        let ty = attr(e, "type").ok_or_else(|| format!("element {name} has no type"))?;
        let ty = match (ty.split_once(':').map(|(p, _)| p), local(ty)) {
            (Some("xsd" | "xs"), "string") => TypeRef::String,
            (Some("xsd" | "xs"), "int") => TypeRef::Int,
            (Some("xsd" | "xs"), "boolean") => TypeRef::Boolean,
            (Some("xsd" | "xs"), other) => return Err(format!("unsupported type xsd:{other}")),
            (_, other) => TypeRef::Complex(other.to_string()),
        };
        let count = |a: &str, default: u32| -> Result<Option<u32>, String> {
            match attr(e, a) {
                None => Ok(Some(default)),
                Some("unbounded") => Ok(None),
                Some(n) => n
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("bad {a} on {name}")),
            }
        };
        Ok(Particle {
            min: count("minOccurs", 1)?.unwrap_or(0),
            max: count("maxOccurs", 1)?,
            name,
            ty,
        })
    }

    /// The operation of `port` whose request body is `element`.
    pub fn operation(&self, port: &str, element: &Element) -> Option<&Operation> {
        if element.ns.as_deref() != Some(NS) {
            return None;
        }
        self.operations
            .iter()
            .find(|o| o.port == port && o.input == element.name)
    }

    pub fn has_port(&self, port: &str) -> bool {
        self.operations.iter().any(|o| o.port == port)
    }

    /// The particles of a global element's type.
    fn element_type(&self, element: &str) -> Option<&str> {
        self.elements.get(element).map(String::as_str)
    }

    /// Checks a global element (a request or answer body) against its declaration.
    pub fn validate(&self, e: &Element) -> Result<(), String> {
        if e.ns.as_deref() != Some(NS) {
            return Err(format!("{} is not in namespace {NS}", e.qualified()));
        }
        let ty = self
            .element_type(&e.name)
            .ok_or_else(|| format!("<{}> is not declared in the WSDL", e.name))?;
        self.validate_complex(e, ty)
    }

    fn validate_complex(&self, e: &Element, ty: &str) -> Result<(), String> {
        let particles = self
            .types
            .get(ty)
            .ok_or_else(|| format!("type {ty} is not declared in the WSDL"))?;
        if !e.text.trim().is_empty() {
            return Err(format!("<{}> holds text; it takes elements only", e.name));
        }
        let mut counts = vec![0u32; particles.len()];
        for child in &e.children {
            let at = particles
                .iter()
                .position(|p| p.name == child.name && child.ns.as_deref() == Some(NS))
                .ok_or_else(|| {
                    let allowed: Vec<&str> = particles.iter().map(|p| p.name.as_str()).collect();
                    format!(
                        "unexpected element {} in <{}> (allowed: {})",
                        child.qualified(),
                        e.name,
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    )
                })?;
            if child.nil {
                continue;
            }
            counts[at] += 1;
            let p = &particles[at];
            if p.max.is_some_and(|max| counts[at] > max) {
                return Err(format!("<{}> given more than once in <{}>", p.name, e.name));
            }
            self.validate_value(child, &p.ty)?;
        }
        for (p, n) in particles.iter().zip(counts) {
            if n < p.min {
                return Err(format!("<{}> is missing in <{}>", p.name, e.name));
            }
        }
        Ok(())
    }

    fn validate_value(&self, e: &Element, ty: &TypeRef) -> Result<(), String> {
        if !matches!(ty, TypeRef::Complex(_)) && !e.children.is_empty() {
            return Err(format!("<{}> takes text, not elements", e.name));
        }
        let text = e.text.trim();
        match ty {
            TypeRef::String => Ok(()),
            TypeRef::Int => text
                .parse::<i32>()
                .map(|_| ())
                .map_err(|_| format!("<{}> must be an integer, not '{}'", e.name, snippet(text))),
            TypeRef::Boolean => parse_bool(text).map(|_| ()).ok_or_else(|| {
                format!(
                    "<{}> must be true or false, not '{}'",
                    e.name,
                    snippet(text)
                )
            }),
            TypeRef::Enum(values) => {
                if values.iter().any(|v| v == text) {
                    Ok(())
                } else {
                    Err(format!(
                        "<{}> must be one of {}, not '{}'",
                        e.name,
                        values.join(", "),
                        snippet(text)
                    ))
                }
            }
            TypeRef::Complex(name) => self.validate_complex(e, name),
        }
    }

    /// Whether `name` is a child the WSDL declares in type `ty`.
    fn declares(&self, ty: &str, name: &str) -> Option<&Particle> {
        self.types.get(ty)?.iter().find(|p| p.name == name)
    }

    /// A read view of a checked request body.
    pub fn view<'a>(&'a self, e: &'a Element) -> View<'a> {
        View {
            schema: self,
            ty: self.element_type(&e.name).unwrap_or_default(),
            e,
        }
    }

    /// Every (type, child) pair declared, for tests.
    #[cfg(test)]
    pub fn types(&self) -> &HashMap<String, Vec<Particle>> {
        &self.types
    }
}

fn snippet(text: &str) -> String {
    text.chars().take(60).collect()
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A checked request element seen through its WSDL type.
#[derive(Clone, Copy)]
pub struct View<'a> {
    schema: &'a Schema,
    ty: &'a str,
    e: &'a Element,
}

impl<'a> View<'a> {
    fn particle(&self, name: &str) -> Option<&'a Particle> {
        let p = self.schema.declares(self.ty, name);
        debug_assert!(
            p.is_some(),
            "a handler reads <{name}>, which type {} does not declare",
            self.ty
        );
        p
    }

    fn present(&self, name: &str) -> impl Iterator<Item = &'a Element> {
        let e = self.e;
        let declared = self.particle(name).is_some();
        let name = name.to_string();
        e.children
            .iter()
            .filter(move |c| declared && c.name == name && !c.nil)
    }

    /// The text of an optional or required simple child.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        self.present(name).next().map(|c| c.text.as_str())
    }

    /// The texts of a repeated simple child.
    pub fn texts(&self, name: &str) -> Vec<&'a str> {
        self.present(name).map(|c| c.text.as_str()).collect()
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.text(name).and_then(parse_bool)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|t| t.trim().parse().ok())
    }

    /// A complex child.
    pub fn child(&self, name: &str) -> Option<View<'a>> {
        self.children(name).into_iter().next()
    }

    pub fn children(&self, name: &str) -> Vec<View<'a>> {
        let ty = match self.particle(name).map(|p| &p.ty) {
            Some(TypeRef::Complex(ty)) => ty.as_str(),
            _ => return Vec::new(),
        };
        self.present(name)
            .map(|e| View {
                schema: self.schema,
                ty,
                e,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_wsdl_reads_and_every_operation_is_complete() {
        let schema = Schema::parse(WSDL).unwrap();
        assert!(!schema.operations.is_empty());
        for op in &schema.operations {
            assert!(schema.elements.contains_key(&op.input), "{}", op.input);
            if let Some(out) = &op.output {
                assert!(schema.elements.contains_key(out), "{out}");
            }
        }
        for particles in schema.types.values() {
            for p in particles {
                if let TypeRef::Complex(t) = &p.ty {
                    assert!(schema.types.contains_key(t), "{t}");
                }
            }
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let schema = &*SCHEMA;
        let find = |inner: Element| Element::new(NS, "FindUser").with(inner);
        let ok = find(Element::new(NS, "search").with(Element::text(NS, "byUserName", "a")));
        assert_eq!(schema.validate(&ok), Ok(()));
        let missing = Element::new(NS, "FindUser");
        assert!(
            schema
                .validate(&missing)
                .unwrap_err()
                .contains("<search> is missing")
        );
        let unknown = find(Element::new(NS, "search").with(Element::text(NS, "byColour", "a")));
        assert!(schema.validate(&unknown).unwrap_err().contains("byColour"));
        let foreign = find(Element::new("urn:other", "search"));
        assert!(schema.validate(&foreign).unwrap_err().contains("urn:other"));
        let twice = find(Element::new(NS, "search")).with(Element::new(NS, "search"));
        assert!(
            schema
                .validate(&twice)
                .unwrap_err()
                .contains("more than once")
        );
        let bad_bool = Element::new(NS, "ManageUser")
            .with(Element::new(NS, "search"))
            .with(Element::text(NS, "deleteUser", "maybe"));
        assert!(
            schema
                .validate(&bad_bool)
                .unwrap_err()
                .contains("true or false")
        );
    }
}
