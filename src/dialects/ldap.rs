//! The LDAP address book (SIP2SIP's directory): LDAPv3 operations to core calls and back. The
//! listener and TLS are in `server::ldap`; BER is `ldap3_proto`'s. Read-only: binds, searches,
//! Who am I?, StartTLS; every change is refused with unwillingToPerform.
//!
//! Names: the base of a domain's book is `ou=addressbook,dc=<each label of the domain>`; an
//! entry is `uid=<user>,` that base. A bind names an account of the domain as `user@domain`,
//! as the entry's DN, or as `user` alone when the name is unique.

use std::net::SocketAddr;
use std::sync::Arc;

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapExtendedRequest, LdapExtendedResponse,
    LdapFilter, LdapMsg, LdapOp, LdapPartialAttribute, LdapResult, LdapResultCode,
    LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope,
};

use crate::auth::self_care::SelfCareRules;
use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::CoreError;
use crate::core::actor::{Actor, Principal};
use crate::core::address_book::{Attr, Entry, Filter};
use crate::core::self_care::SelfCareSecret;
use crate::server::AppState;

const DIALECT: &str = "ldap";
/// Entries one search returns at most, whatever size limit the client asks for.
pub const MAX_RESULTS: usize = 1_000;
/// The operations [`LdapSession::handle`] answers (keep in step with its match): the address
/// book is read-only, so the writes are refused and none mutates.
const OPERATIONS: [&str; 11] = [
    "bind",
    "search",
    "unbind",
    "abandon",
    "extended StartTLS",
    "extended WhoAmI",
    "add",
    "delete",
    "modify",
    "modifyDN",
    "compare",
];

/// Every LDAP operation, from [`OPERATIONS`].
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    OPERATIONS
        .iter()
        .map(|op| crate::dialects::RouteSpec::new(DIALECT, "OP", *op, false))
        .collect()
}

const OID_STARTTLS: &str = "1.3.6.1.4.1.1466.20037";
const OID_WHOAMI: &str = "1.3.6.1.4.1.4203.1.11.3";
const OID_PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";

/// What the connection does after an operation.
pub enum Reply {
    /// Send these messages and read the next request.
    Send(Vec<LdapMsg>),
    /// Send this answer, then run the TLS handshake on the connection (StartTLS).
    StartTls(LdapMsg),
    /// Close the connection (an unbind).
    Close,
}

/// One LDAP connection's state: who is bound.
pub struct LdapSession {
    state: Arc<AppState>,
    peer: SocketAddr,
    tls: bool,
    /// Whether StartTLS may be asked for (a plain listener that has not upgraded yet).
    starttls_offered: bool,
    principal: Option<Principal>,
}

fn result(code: LdapResultCode, message: impl Into<String>) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.into(),
        referral: Vec::new(),
    }
}

fn reply(msgid: i32, op: LdapOp) -> LdapMsg {
    LdapMsg {
        msgid,
        op,
        ctrl: Vec::new(),
    }
}

/// The message that ends a connection the server cannot go on with (RFC 4511 §4.4.1).
pub fn disconnection(code: LdapResultCode, message: &str) -> LdapMsg {
    reply(
        0,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(code, message),
            name: Some("1.3.6.1.4.1.1466.20036".into()),
            value: None,
        }),
    )
}

/// `example.com` → `ou=addressbook,dc=example,dc=com`.
pub fn book_base(domain: &str) -> String {
    let dcs: Vec<String> = domain.split('.').map(|l| format!("dc={l}")).collect();
    format!("ou=addressbook,{}", dcs.join(","))
}

/// What a DN names: a domain's book, one entry of it, or the root DSE.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    RootDse,
    Book { domain: String },
    Entry { domain: String, uid: String },
}

/// Reads `uid=u, ou=addressbook, dc=a, dc=b` (spaces and case as clients write them).
fn parse_dn(dn: &str) -> Option<Target> {
    if dn.trim().is_empty() {
        return Some(Target::RootDse);
    }
    let mut uid = None;
    let mut book = false;
    let mut labels = Vec::new();
    for (i, rdn) in dn.split(',').enumerate() {
        let (attr, value) = rdn.split_once('=')?;
        let (attr, value) = (attr.trim().to_ascii_lowercase(), value.trim());
        match attr.as_str() {
            "uid" if i == 0 && !value.is_empty() => uid = Some(value.to_string()),
            "ou" if labels.is_empty() && value.eq_ignore_ascii_case("addressbook") => book = true,
            "dc" if !value.is_empty() => labels.push(value.to_ascii_lowercase()),
            _ => return None,
        }
    }
    if labels.is_empty() || !book && uid.is_none() {
        return None;
    }
    let domain = labels.join(".");
    Some(match uid {
        Some(uid) => Target::Entry { domain, uid },
        None => Target::Book { domain },
    })
}

/// An LDAP filter as a core filter. Attributes entries do not have, and ordering or extensible
/// matches they cannot make, match nothing (LDAP's Undefined).
pub(crate) fn core_filter(f: &LdapFilter) -> Filter {
    let attr = |name: &str| Attr::parse(name);
    match f {
        LdapFilter::And(fs) => Filter::And(fs.iter().map(core_filter).collect()),
        LdapFilter::Or(fs) => Filter::Or(fs.iter().map(core_filter).collect()),
        LdapFilter::Not(f) => Filter::Not(Box::new(core_filter(f))),
        LdapFilter::Equality(a, v) | LdapFilter::Approx(a, v) => {
            attr(a).map_or(Filter::Never, |a| Filter::Equal(a, v.clone()))
        }
        LdapFilter::Present(a) => attr(a).map_or(Filter::Never, Filter::Present),
        LdapFilter::Substring(a, s) => attr(a).map_or(Filter::Never, |a| Filter::Substring {
            attr: a,
            initial: s.initial.clone(),
            any: s.any.clone(),
            last: s.final_.clone(),
        }),
        LdapFilter::GreaterOrEqual(..)
        | LdapFilter::LessOrEqual(..)
        | LdapFilter::Extensible(_) => Filter::Never,
    }
}

fn attribute(name: &str, values: &[&str]) -> LdapPartialAttribute {
    LdapPartialAttribute {
        atype: name.to_string(),
        vals: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
    }
}

/// The attributes a search asked for: empty or `*` all, `1.1` none; unknown ones are skipped.
fn wanted(attrs: &[String]) -> Vec<Attr> {
    if attrs.is_empty() || attrs.iter().any(|a| a == "*") {
        return Attr::ALL.to_vec();
    }
    let mut out: Vec<Attr> = attrs.iter().filter_map(|a| Attr::parse(a)).collect();
    out.dedup();
    out
}

fn entry_message(msgid: i32, domain: &str, entry: &Entry, attrs: &[Attr]) -> LdapMsg {
    let attributes = attrs
        .iter()
        .map(|&a| attribute(a.name(), &entry.values(a)))
        .filter(|a| !a.vals.is_empty())
        .collect();
    reply(
        msgid,
        LdapOp::SearchResultEntry(LdapSearchResultEntry {
            dn: format!("uid={},{}", entry.uid, book_base(domain)),
            attributes,
        }),
    )
}

fn search_done(msgid: i32, code: LdapResultCode, message: impl Into<String>) -> LdapMsg {
    reply(msgid, LdapOp::SearchResultDone(result(code, message)))
}

/// A core refusal as an LDAP result code.
fn ldap_code(e: &CoreError) -> (LdapResultCode, String) {
    let code = match e {
        CoreError::Forbidden(_) | CoreError::OutOfScope(_) => {
            LdapResultCode::InsufficentAccessRights
        }
        CoreError::NotFound(_) => LdapResultCode::NoSuchObject,
        CoreError::Invalid { .. } => LdapResultCode::AdminLimitExceeded,
        CoreError::Busy | CoreError::StorageFull => LdapResultCode::Busy,
        _ => LdapResultCode::Other,
    };
    let message = if matches!(e, CoreError::Storage(_) | CoreError::StorageFailed(_)) {
        "the directory is unavailable; try again".to_string()
    } else {
        e.to_string()
    };
    (code, message)
}

/// The page a simple-paged-results cookie resumes from: the offset as 8 big-endian bytes.
fn paged_offset(cookie: &[u8]) -> Option<usize> {
    if cookie.is_empty() {
        return Some(0);
    }
    let bytes: [u8; 8] = cookie.try_into().ok()?;
    usize::try_from(u64::from_be_bytes(bytes)).ok()
}

impl LdapSession {
    pub fn new(state: Arc<AppState>, peer: SocketAddr, tls: bool) -> Self {
        Self {
            state,
            peer,
            tls,
            starttls_offered: !tls,
            principal: None,
        }
    }

    pub fn peer(&self) -> std::net::IpAddr {
        self.peer.ip()
    }

    /// The connection now runs over TLS (after StartTLS). Any earlier bind is forgotten.
    pub fn upgraded(&mut self) {
        self.tls = true;
        self.starttls_offered = false;
        self.principal = None;
    }

    fn meta(&self, op: &str, target: &str) -> RequestMeta {
        RequestMeta {
            peer: self.peer.ip(),
            tls: self.tls,
            method: op.to_string(),
            uri: target.chars().take(256).collect(),
            audit_uri: target.chars().take(256).collect(),
            authorization: None,
            user_agent: None,
            has_body: true,
            client_cert: None,
        }
    }

    fn actor(&self, op: &str, target: &str) -> Actor {
        let principal = self.principal.clone().unwrap_or(Principal::Anonymous {
            claimed_login: None,
        });
        let mut actor = self
            .meta(op, target)
            .actor(principal, "ldap-simple", DIALECT);
        actor.method = format!("{op} {}", target.chars().take(256).collect::<String>());
        actor
    }

    /// Answers one request.
    pub async fn handle(&mut self, msg: LdapMsg) -> Reply {
        let LdapMsg { msgid, op, ctrl } = msg;
        let plain_refused = |op: LdapOp| Reply::Send(vec![reply(msgid, op)]);
        if !self.tls && !matches!(op, LdapOp::ExtendedRequest(_) | LdapOp::UnbindRequest) {
            // The plain listener exists for StartTLS only: nothing else in clear.
            let refusal = result(
                LdapResultCode::ConfidentialityRequired,
                "use StartTLS (or LDAPS) first",
            );
            return match op {
                LdapOp::BindRequest(_) => plain_refused(LdapOp::BindResponse(LdapBindResponse {
                    res: refusal,
                    saslcreds: None,
                })),
                LdapOp::SearchRequest(_) => plain_refused(LdapOp::SearchResultDone(refusal)),
                LdapOp::AbandonRequest(_) => Reply::Send(Vec::new()),
                _ => Reply::Send(vec![disconnection(
                    LdapResultCode::ConfidentialityRequired,
                    "use StartTLS (or LDAPS) first",
                )]),
            };
        }
        match op {
            LdapOp::BindRequest(bind) => Reply::Send(vec![self.bind(msgid, bind).await]),
            LdapOp::SearchRequest(search) => Reply::Send(self.search(msgid, &search, &ctrl).await),
            LdapOp::UnbindRequest => Reply::Close,
            LdapOp::AbandonRequest(_) => Reply::Send(Vec::new()),
            LdapOp::ExtendedRequest(ext) => self.extended(msgid, &ext),
            LdapOp::AddRequest(_) => Self::read_only(msgid, LdapOp::AddResponse),
            LdapOp::DelRequest(_) => Self::read_only(msgid, LdapOp::DelResponse),
            LdapOp::ModifyRequest(_) => Self::read_only(msgid, LdapOp::ModifyResponse),
            LdapOp::ModifyDNRequest(_) => Self::read_only(msgid, LdapOp::ModifyDNResponse),
            LdapOp::CompareRequest(_) => Reply::Send(vec![reply(
                msgid,
                LdapOp::CompareResult(result(
                    LdapResultCode::UnwillingToPerform,
                    "compare is not offered; search instead",
                )),
            )]),
            _ => Reply::Send(vec![disconnection(
                LdapResultCode::ProtocolError,
                "not a request a client sends",
            )]),
        }
    }

    fn read_only(msgid: i32, op: fn(LdapResult) -> LdapOp) -> Reply {
        Reply::Send(vec![reply(
            msgid,
            op(result(
                LdapResultCode::UnwillingToPerform,
                "the address book is read-only; change accounts through the provisioning APIs",
            )),
        )])
    }

    fn extended(&mut self, msgid: i32, ext: &LdapExtendedRequest) -> Reply {
        let answer = |code, message: &str, name: Option<&str>, value: Option<Vec<u8>>| {
            reply(
                msgid,
                LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res: result(code, message),
                    name: name.map(str::to_string),
                    value,
                }),
            )
        };
        match ext.name.as_str() {
            OID_STARTTLS if self.starttls_offered => Reply::StartTls(answer(
                LdapResultCode::Success,
                "",
                Some(OID_STARTTLS),
                None,
            )),
            OID_STARTTLS => Reply::Send(vec![answer(
                LdapResultCode::OperationsError,
                "TLS is already in place",
                Some(OID_STARTTLS),
                None,
            )]),
            OID_WHOAMI if self.tls => {
                let who = match &self.principal {
                    Some(p) => format!("u:{}", p.audit_name()),
                    None => String::new(),
                };
                Reply::Send(vec![answer(
                    LdapResultCode::Success,
                    "",
                    None,
                    Some(who.into_bytes()),
                )])
            }
            OID_WHOAMI => Reply::Send(vec![answer(
                LdapResultCode::ConfidentialityRequired,
                "use StartTLS (or LDAPS) first",
                None,
                None,
            )]),
            other => Reply::Send(vec![answer(
                LdapResultCode::ProtocolError,
                &format!("extended operation {other} is not offered"),
                None,
                None,
            )]),
        }
    }

    async fn bind(&mut self, msgid: i32, bind: LdapBindRequest) -> LdapMsg {
        let answer = |code, message: &str| {
            reply(
                msgid,
                LdapOp::BindResponse(LdapBindResponse {
                    res: result(code, message),
                    saslcreds: None,
                }),
            )
        };
        // A new bind first drops the old identity, whatever its outcome (RFC 4511 §4.2.1).
        self.principal = None;
        if bind.version != 3 {
            return answer(LdapResultCode::ProtocolError, "only LDAPv3 is offered");
        }
        let LdapBindCred::Simple(password) = bind.cred else {
            return answer(
                LdapResultCode::AuthMethodNotSupported,
                "only simple binds are offered",
            );
        };
        if bind.dn.is_empty() && password.is_empty() {
            return answer(LdapResultCode::Success, "");
        }
        if password.is_empty() {
            return answer(
                LdapResultCode::UnwillingToPerform,
                "a bind without a password is not offered",
            );
        }
        let (user, domain) = match parse_dn(&bind.dn) {
            Some(Target::Entry { domain, uid }) => (uid, Some(domain)),
            Some(_) => {
                return answer(LdapResultCode::InvalidCredentials, "wrong name or password");
            }
            None => match bind.dn.rsplit_once('@') {
                Some((u, d)) => (u.to_string(), Some(d.to_ascii_lowercase())),
                None => (bind.dn.clone(), None),
            },
        };
        let rules = SelfCareRules {
            realm: self.state.core.realm().to_string(),
            default_domain: domain,
            secret: SelfCareSecret::WebOrSipPassword,
            basic_over_tls: true,
        };
        let meta = self.meta("BIND", &bind.dn);
        match self
            .state
            .auth
            .check_self_care_password(&meta, DIALECT, "ldap-simple", &rules, &user, &password)
            .await
        {
            AuthOutcome::Authenticated { principal, .. } => {
                self.principal = Some(principal);
                answer(LdapResultCode::Success, "")
            }
            AuthOutcome::Refused { reason } => answer(LdapResultCode::InvalidCredentials, &reason),
            AuthOutcome::Throttled { retry_after_secs } => answer(
                LdapResultCode::Busy,
                &format!(
                    "too many failed binds from your address; try again in {retry_after_secs} s"
                ),
            ),
            AuthOutcome::Challenge { .. } => {
                answer(LdapResultCode::InvalidCredentials, "wrong name or password")
            }
        }
    }

    async fn search(
        &self,
        msgid: i32,
        search: &LdapSearchRequest,
        controls: &[LdapControl],
    ) -> Vec<LdapMsg> {
        let (domain, filter) = match parse_dn(&search.base) {
            Some(Target::RootDse) if search.scope == LdapSearchScope::Base => {
                return self.root_dse(msgid).await;
            }
            Some(Target::Book { domain }) if search.scope == LdapSearchScope::Base => {
                return Self::book_entry(msgid, &domain, &search.filter);
            }
            Some(Target::Book { domain }) => (domain, core_filter(&search.filter)),
            Some(Target::Entry { domain, uid }) => (
                domain,
                Filter::And(vec![
                    Filter::Equal(Attr::Uid, uid),
                    core_filter(&search.filter),
                ]),
            ),
            _ => {
                return vec![search_done(
                    msgid,
                    LdapResultCode::NoSuchObject,
                    format!(
                        "no such base; a domain's address book is {}",
                        book_base("<domain>")
                    ),
                )];
            }
        };
        let paging = controls.iter().find_map(|c| match c {
            LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
            _ => None,
        });
        let size_limit = usize::try_from(search.sizelimit)
            .ok()
            .filter(|&l| l > 0)
            .map_or(MAX_RESULTS, |l| l.min(MAX_RESULTS));
        let (offset, page) = match &paging {
            Some((size, cookie)) => {
                let Some(offset) = paged_offset(cookie) else {
                    return vec![search_done(
                        msgid,
                        LdapResultCode::UnwillingToPerform,
                        "the paged-results cookie is not one of this server's",
                    )];
                };
                let size = usize::try_from(*size)
                    .ok()
                    .filter(|&s| s > 0)
                    .unwrap_or(MAX_RESULTS);
                (offset, size.min(MAX_RESULTS))
            }
            None => (0, size_limit),
        };
        let actor = self.actor("SEARCH", &search.base);
        let found = self
            .state
            .core
            .search_address_book(&actor, &domain, filter, offset, page)
            .await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                let (code, message) = ldap_code(&e);
                return vec![search_done(msgid, code, message)];
            }
        };
        let attrs = wanted(&search.attrs);
        let mut out: Vec<LdapMsg> = found
            .entries
            .iter()
            .map(|e| entry_message(msgid, &domain, e, &attrs))
            .collect();
        let done = match paging {
            Some(_) => {
                let next = if found.more {
                    let end = offset + found.entries.len();
                    u64::try_from(end)
                        .unwrap_or(u64::MAX)
                        .to_be_bytes()
                        .to_vec()
                } else {
                    Vec::new()
                };
                let mut done = search_done(msgid, LdapResultCode::Success, "");
                // RFC 2696 lets the size be 0 for "unknown": counting every match is not worth it.
                done.ctrl.push(LdapControl::SimplePagedResults {
                    size: 0,
                    cookie: next,
                });
                done
            }
            None if found.more => search_done(
                msgid,
                LdapResultCode::SizeLimitExceeded,
                format!(
                    "more than {} entries match (use the paged-results control for more)",
                    found.entries.len()
                ),
            ),
            None => search_done(msgid, LdapResultCode::Success, ""),
        };
        out.push(done);
        out
    }

    /// The root DSE: the naming contexts (one per domain), version and what is offered.
    async fn root_dse(&self, msgid: i32) -> Vec<LdapMsg> {
        let domains = self
            .state
            .core
            .address_book_domains()
            .await
            .unwrap_or_default();
        let contexts: Vec<String> = domains.iter().map(|d| book_base(d)).collect();
        let contexts: Vec<&str> = contexts.iter().map(String::as_str).collect();
        let entry = LdapSearchResultEntry {
            dn: String::new(),
            attributes: vec![
                attribute("objectClass", &["top"]),
                attribute("namingContexts", &contexts),
                attribute("supportedLDAPVersion", &["3"]),
                attribute("supportedControl", &[OID_PAGED_RESULTS]),
                attribute("supportedExtension", &[OID_STARTTLS, OID_WHOAMI]),
                attribute("vendorName", &["switchyard"]),
            ],
        };
        vec![
            reply(msgid, LdapOp::SearchResultEntry(entry)),
            search_done(msgid, LdapResultCode::Success, ""),
        ]
    }

    /// A base search on a book's own entry: an organizationalUnit, shown for the usual
    /// existence checks (`(objectClass=*)`).
    fn book_entry(msgid: i32, domain: &str, filter: &LdapFilter) -> Vec<LdapMsg> {
        let mut out = Vec::new();
        if matches!(filter, LdapFilter::Present(a) if a.eq_ignore_ascii_case("objectclass")) {
            out.push(reply(
                msgid,
                LdapOp::SearchResultEntry(LdapSearchResultEntry {
                    dn: book_base(domain),
                    attributes: vec![
                        attribute("objectClass", &["top", "organizationalUnit"]),
                        attribute("ou", &["addressbook"]),
                    ],
                }),
            ));
        }
        out.push(search_done(msgid, LdapResultCode::Success, ""));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3_proto::proto::LdapSubstringFilter;

    #[test]
    fn dns_name_books_and_entries_as_clients_write_them() {
        assert_eq!(
            parse_dn("ou=addressbook, dc=sip2sip, dc=info"),
            Some(Target::Book {
                domain: "sip2sip.info".into()
            })
        );
        assert_eq!(
            parse_dn("uid=alice,OU=AddressBook,DC=Example,DC=com"),
            Some(Target::Entry {
                domain: "example.com".into(),
                uid: "alice".into()
            })
        );
        assert_eq!(parse_dn(""), Some(Target::RootDse));
        assert_eq!(parse_dn("cn=admin,dc=example,dc=com"), None);
        assert_eq!(parse_dn("ou=addressbook"), None);
        assert_eq!(parse_dn("dc=example,ou=addressbook"), None);
        assert_eq!(book_base("example.com"), "ou=addressbook,dc=example,dc=com");
    }

    #[test]
    fn filters_become_core_filters_and_unknown_attributes_match_nothing() {
        let f = LdapFilter::And(vec![
            LdapFilter::Substring(
                "CN".into(),
                LdapSubstringFilter {
                    initial: Some("ali".into()),
                    any: vec![],
                    final_: None,
                },
            ),
            LdapFilter::Not(Box::new(LdapFilter::Present("shoeSize".into()))),
            LdapFilter::GreaterOrEqual("uid".into(), "a".into()),
        ]);
        assert_eq!(
            core_filter(&f),
            Filter::And(vec![
                Filter::Substring {
                    attr: Attr::Cn,
                    initial: Some("ali".into()),
                    any: vec![],
                    last: None
                },
                Filter::Not(Box::new(Filter::Never)),
                Filter::Never,
            ])
        );
    }

    #[test]
    fn paged_cookies_are_offsets_and_others_are_refused() {
        assert_eq!(paged_offset(&[]), Some(0));
        assert_eq!(paged_offset(&20u64.to_be_bytes()), Some(20));
        assert_eq!(paged_offset(b"junk"), None);
    }

    #[test]
    fn requested_attributes_select_and_unknown_ones_are_skipped() {
        assert_eq!(wanted(&[]).len(), Attr::ALL.len());
        assert_eq!(wanted(&["1.1".into()]), Vec::<Attr>::new());
        assert_eq!(
            wanted(&["mail".into(), "shoeSize".into(), "CN".into()]),
            [Attr::Mail, Attr::Cn]
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests {
    use super::*;
    use crate::core::address_book::{MAX_FILTER_DEPTH, MAX_FILTER_NODES};
    use ldap3_proto::proto::{LdapMatchingRuleAssertion, LdapSubstringFilter};
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = LdapFilter> {
        let attr =
            proptest::sample::select(vec!["cn", "SN", "mail", "telephoneNumber", "x-unknown"])
                .prop_map(str::to_string);
        prop_oneof![
            (attr.clone(), "[a-z ]{0,4}").prop_map(|(a, v)| LdapFilter::Equality(a, v)),
            attr.clone().prop_map(LdapFilter::Present),
            (attr.clone(), "[a-z]{0,3}").prop_map(|(a, v)| LdapFilter::Substring(
                a,
                LdapSubstringFilter {
                    initial: Some(v),
                    any: vec![],
                    final_: None
                }
            )),
            (attr.clone(), "[0-9]{1,2}").prop_map(|(a, v)| LdapFilter::GreaterOrEqual(a, v)),
            (attr, "[a-z]{0,3}").prop_map(|(a, v)| LdapFilter::Approx(a, v)),
            "[a-z]{1,3}".prop_map(|v| LdapFilter::Extensible(LdapMatchingRuleAssertion {
                matching_rule: None,
                type_: Some("cn".into()),
                match_value: v,
                dn_attributes: false,
            })),
        ]
    }

    /// Trees both inside and beyond the limits on terms (wide And/Or); the test adds depth.
    fn filter() -> impl Strategy<Value = LdapFilter> {
        leaf().prop_recursive(8, 400, 24, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..24).prop_map(LdapFilter::And),
                proptest::collection::vec(inner.clone(), 0..24).prop_map(LdapFilter::Or),
                inner.prop_map(|f| LdapFilter::Not(Box::new(f))),
            ]
        })
    }

    fn size(f: &LdapFilter, depth: usize, nodes: &mut usize, deepest: &mut usize) {
        *nodes += 1;
        *deepest = (*deepest).max(depth);
        match f {
            LdapFilter::And(fs) | LdapFilter::Or(fs) => {
                for f in fs {
                    size(f, depth + 1, nodes, deepest);
                }
            }
            LdapFilter::Not(f) => size(f, depth + 1, nodes, deepest),
            _ => {}
        }
    }

    proptest! {
        /// Any filter converts to an address-book filter of the same shape, which the core
        /// takes exactly when it is within its limits on terms and depth.
        #[test]
        fn filters_convert_or_are_refused_by_their_size(tree in filter(), nots in 0..40_usize) {
            let f = (0..nots).fold(tree, |f, _| LdapFilter::Not(Box::new(f)));
            let converted = core_filter(&f);
            let (mut nodes, mut deepest) = (0, 0);
            size(&f, 1, &mut nodes, &mut deepest);
            let within = nodes <= MAX_FILTER_NODES && deepest <= MAX_FILTER_DEPTH;
            prop_assert_eq!(converted.check().is_ok(), within, "{} terms, {} deep", nodes, deepest);
        }
    }
}
