//! Tenant isolation, generated from the dialects' own route tables (`switchyard::dialects::
//! all_routes`): two tenants, A and B, each a reseller with an admin, a customer with a
//! sub-customer, a domain, subscribers, numbers, an auth rule, call records, journal entries,
//! phonebook entries, conferences, SOAP phones, call groups and permissions. Every principal of A
//! (the customer's API login, the reseller's admin, a subscriber signing in as itself) aims every
//! route at B's objects: refused in the dialect's own way, nothing of B in the answer, the answer
//! equal to the one for an id that never existed (timing included), and the database unchanged.
//! A route without a matrix entry, or an entry without a route, fails the test.
//!
//! The audit-completeness test is here too: one successful call per mutating route writes exactly
//! one `ok` audit row naming the principal and the target, a refused one its `refused` row and no
//! change; and no secret sent through any dialect shows in the audit log or the debug log.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use switchyard::auth::digest::{Algorithm, QopAuth, compute_response, ha1};
use switchyard::dialects::{RouteSpec, all_routes};

use crate::c5::create;
use crate::common::{self, Launch, ROOT_PASSWORD, TestApp, call_xml, curl_post, member_int};

// ---------------------------------------------------------------------------------------------
// An in-process HTTP/1.1 client with Digest (plain HTTP on loopback; the admin page, HTTPS only,
// goes through curl).

/// A user name and password.
#[derive(Clone, Debug)]
pub struct Cred {
    pub user: String,
    pub password: String,
}

fn cred(user: &str, password: &str) -> Cred {
    Cred {
        user: user.to_string(),
        password: password.to_string(),
    }
}

#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Time of the authenticated attempt alone (a challenge round trip is not counted).
    pub elapsed: Duration,
}

struct Challenge {
    realm: String,
    nonce: String,
    algorithm: Algorithm,
    nc: u32,
}

pub struct Http {
    rt: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    challenges: Mutex<HashMap<(String, String), Challenge>>,
}

fn param(challenge: &str, name: &str) -> Option<String> {
    let at = challenge.find(&format!("{name}="))? + name.len() + 1;
    let rest = &challenge[at..];
    if let Some(quoted) = rest.strip_prefix('"') {
        Some(quoted[..quoted.find('"')?].to_string())
    } else {
        Some(rest.split([',', ' ']).next()?.to_string())
    }
}

impl Http {
    pub fn new(app: &TestApp) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            rt,
            client,
            base: app.http.clone(),
            challenges: Mutex::new(HashMap::new()),
        }
    }

    fn once(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
        authorization: Option<String>,
    ) -> Resp {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let started = Instant::now();
        let (status, headers, body) = self.rt.block_on(async {
            let resp = self.client.request(req).await.expect("request");
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            (status, headers, body)
        });
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    fn authorization(
        &self,
        who: &Cred,
        realm_key: &str,
        method: &str,
        uri: &str,
    ) -> Option<String> {
        let mut map = self.challenges.lock().unwrap();
        let c = map.get_mut(&(who.user.clone(), realm_key.to_string()))?;
        c.nc += 1;
        let nc = format!("{:08x}", c.nc);
        let key = ha1(c.algorithm, &who.user, &c.realm, &who.password);
        let qop = QopAuth {
            qop: "auth",
            nc: &nc,
            cnonce: "isolation",
        };
        let response = compute_response(c.algorithm, &key, &c.nonce, method, uri, Some(qop));
        Some(format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm={}, \
             response=\"{response}\", qop=auth, nc={nc}, cnonce=\"isolation\"",
            who.user,
            c.realm,
            c.nonce,
            c.algorithm.as_str()
        ))
    }

    /// Sends a request as `who` with Digest: the nonce of the last challenge is reused with a
    /// growing nonce count; a 401 with a challenge is answered once.
    pub fn send(
        &self,
        who: Option<&Cred>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let Some(who) = who else {
            return self.once(method, path, headers, body, None);
        };
        // The realm of a SIP2SIP request is its `realm` parameter: challenges are kept per realm.
        let realm_key = param(path, "realm").unwrap_or_default();
        if let Some(a) = self.authorization(who, &realm_key, method, path) {
            let r = self.once(method, path, headers, body, Some(a));
            if r.status != 401 {
                return r;
            }
        }
        let first = self.once(method, path, headers, body, None);
        let Some(challenge) = first
            .headers
            .iter()
            .find(|(k, v)| k == "www-authenticate" && v.starts_with("Digest"))
            .map(|(_, v)| v.clone())
        else {
            return first;
        };
        let algorithm = match param(&challenge, "algorithm").as_deref() {
            Some("MD5") => Algorithm::Md5,
            _ => Algorithm::Sha256,
        };
        self.challenges.lock().unwrap().insert(
            (who.user.clone(), realm_key.clone()),
            Challenge {
                realm: param(&challenge, "realm").unwrap_or_default(),
                nonce: param(&challenge, "nonce").unwrap_or_default(),
                algorithm,
                nc: 0,
            },
        );
        let a = self.authorization(who, &realm_key, method, path);
        self.once(method, path, headers, body, a)
    }
}

// ---------------------------------------------------------------------------------------------
// Two tenants.

const UNKNOWN_ID: i64 = 987_654;
const UNKNOWN_NAME: &str = "nosuchthing";
pub const PIN: &str = "Pin-8642-secret";

/// One tenant's objects (ids and names), made as root through the APIs and the CLI.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tag: String,
    pub reseller: i64,
    pub admin_id: i64,
    pub admin: Cred,
    pub contact: i64,
    pub customer: i64,
    pub customer_login: Cred,
    pub sub_customer: i64,
    pub billing_profile: i64,
    pub domain_id: i64,
    pub domain: String,
    pub subscriber: i64,
    pub username: String,
    pub web_password: String,
    pub number: String,
    pub auth_rule: i64,
    pub phonebook: String,
    pub phonebook_entry: i64,
    pub conference: String,
    pub journal_entry: String,
    pub journal_id: i64,
    pub call_group: String,
    pub permission: String,
    pub phone_serial: String,
}

impl Tenant {
    /// The subscriber signing in as itself (sipXconfig with the portal PIN; SIP2SIP and LDAP
    /// with the web password; the API dialects refuse it).
    pub fn self_care(&self, dialect: &str) -> Cred {
        match dialect {
            "sipx" => cred(&format!("{}@{}", self.username, self.domain), PIN),
            _ => cred(
                &format!("{}@{}", self.username, self.domain),
                &self.web_password,
            ),
        }
    }

    /// What only this tenant's own audit rows name: its logins' names, its number, its call
    /// record, its contact's address.
    pub fn own_rows(&self) -> Vec<String> {
        vec![
            self.admin.user.clone(),
            self.number.clone(),
            format!("tenant{}-call", self.tag),
            format!("tenant{}-contact", self.tag),
            format!("tenant{}-journal-data", self.tag),
        ]
    }

    /// Strings that name this tenant's things: none may show in another tenant's answers.
    pub fn markers(&self) -> Vec<String> {
        vec![
            format!("tenant{}", self.tag),
            self.domain.clone(),
            self.username.clone(),
            self.number.clone(),
            self.phonebook.clone(),
            self.conference.clone(),
            self.journal_entry.clone(),
            self.call_group.clone(),
            self.permission.clone(),
            self.phone_serial.clone(),
            self.admin.user.clone(),
            self.customer_login.user.clone(),
        ]
    }
}

fn xmlrpc_root(app: &TestApp, method: &str, members: &[(&str, String)]) -> String {
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml(method, &refs),
    );
    assert_eq!(status, 200, "{method}: {body}");
    assert!(common::fault_code(&body).is_none(), "{method}: {body}");
    body
}

pub fn s(v: &str) -> String {
    format!("<string>{v}</string>")
}

pub fn i(v: i64) -> String {
    format!("<int>{v}</int>")
}

fn soap_envelope(body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

const SOAP_NS: &str = "http://www.sipfoundry.org/2007/08/21/ConfigService";
const SOAP_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/xml; charset=utf-8"),
    ("soapaction", "\"\""),
];
pub const JSON_HEADERS: &[(&str, &str)] = &[("content-type", "application/json")];
const FORM_HEADERS: &[(&str, &str)] = &[("content-type", "application/x-www-form-urlencoded")];

pub fn tenant(app: &TestApp, http: &Http, tag: &str, sn_base: u32) -> Tenant {
    let t = |s: &str| format!("tenant{tag}-{s}");
    let reseller = create(
        app,
        "resellers",
        &json!({"name": t("reseller"), "status": "active"}),
    );
    let admin = cred(&t("admin"), &t("admin-pw"));
    let admin_id = create(
        app,
        "admins",
        &json!({"login": admin.user, "password": admin.password, "reseller_id": reseller}),
    );
    let contact = create(
        app,
        "customercontacts",
        &json!({"email": format!("{}@mail.example", t("contact")), "reseller_id": reseller}),
    );
    let billing_profile = create(
        app,
        "billingprofiles",
        &json!({"name": t("bp"), "handle": t("bp"), "reseller_id": reseller}),
    );
    // The customer: a Sippy customer below the reseller, with a web login and an API password.
    let customer_login = cred(&t("customer"), &t("customer-api-pw"));
    let body = xmlrpc_root(
        app,
        "createCustomer",
        &[
            ("name", s(&customer_login.user)),
            ("web_password", s(&t("customer-web-pw"))),
            ("api_password", s(&customer_login.password)),
            ("i_tariff", "<nil/>".into()),
            ("api_access", i(1)),
            ("api_permission", "<boolean>1</boolean>".into()),
            ("i_wholesaler", i(reseller)),
        ],
    );
    let customer = member_int(&body, "i_customer").unwrap();
    let body = xmlrpc_root(
        app,
        "createCustomer",
        &[
            ("name", s(&t("sub"))),
            ("web_password", s(&t("sub-web-pw"))),
            ("i_tariff", "<nil/>".into()),
            ("i_wholesaler", i(customer)),
        ],
    );
    let sub_customer = member_int(&body, "i_customer").unwrap();
    let domain = format!("tenant{tag}.example.net");
    let domain_id = create(
        app,
        "domains",
        &json!({"domain": domain, "reseller_id": reseller}),
    );
    let username = t("alice");
    let web_password = t("alice-web-pw");
    let number = format!("{sn_base}");
    let subscriber = create(
        app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": username,
                "password": t("alice-sip-pw"), "webpassword": web_password,
                "email": format!("{}@mail.example", t("alice")),
                "primary_number": {"cc": 49, "ac": 30, "sn": number}}),
    );
    let out = app.cli(&["subscriber", "portal-pin", &subscriber.to_string(), PIN]);
    assert!(out.status.success(), "{out:?}");
    let body = xmlrpc_root(
        app,
        "addAuthRule",
        &[
            ("i_account", i(subscriber)),
            ("i_protocol", i(1)),
            ("remote_ip", s("192.0.2.7")),
        ],
    );
    let auth_rule = member_int(&body, "i_authentication").unwrap();
    // A call record, fed as root.
    let start = (time::OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cdr = json!([{"call_id": t("call"), "account": format!("{username}@{domain}"),
                      "direction": "placed", "remote_party": format!("sip:4930{sn_base}9@example.org"),
                      "start_time": start, "duration": 61, "status": "200"}]);
    let r = http.send(
        Some(&cred("root", ROOT_PASSWORD)),
        "POST",
        "/feed/cdrs",
        JSON_HEADERS,
        &cdr.to_string(),
    );
    assert_eq!(r.status, 200, "feed: {}", r.body);
    // The subscriber's own things, made as itself.
    let me = cred(&format!("{username}@{domain}"), PIN);
    let conference = t("conf");
    let r = http.send(
        Some(&me),
        "PUT",
        &format!("/sipxconfig/rest/my/conferences/{conference}"),
        &[],
        &format!(
            "<setting><description>{}</description></setting>",
            t("conf-desc")
        ),
    );
    assert_eq!(r.status, 200, "conference: {}", r.body);
    let r = http.send(
        Some(&me),
        "POST",
        "/sipxconfig/rest/my/phonebook",
        JSON_HEADERS,
        &json!({"entry": {"first-name": t("friend"), "last-name": "Doe",
                          "number": format!("4930{sn_base}5")}})
        .to_string(),
    );
    assert_eq!(r.status, 200, "phonebook entry: {}", r.body);
    let r = http.send(
        Some(&me),
        "GET",
        "/sipxconfig/rest/my/phonebook",
        &[("accept", "application/json")],
        "",
    );
    let phonebook_entry = r
        .body
        .split("\"id\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .and_then(|s| s.trim().trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no entry id in {}", r.body));
    // A shared phonebook of the customer, imported on the admin page by its web login.
    let phonebook = t("book");
    let page = crate::admin_ui::Curl::new(app);
    let csrf = page.sign_in(&customer_login.user, &t("customer-web-pw"));
    let csv = format!("\"{}\",\"Shared\",\"4930{sn_base}7\"\n", t("shared"));
    let r = page.post(
        "/admin/phonebooks",
        &[("csrf", &csrf), ("name", &phonebook), ("csv", &csv)],
    );
    assert_eq!(r.status, 303, "phonebook import: {}", r.body);
    let web = cred(&format!("{username}@{domain}"), &web_password);
    let journal_entry = t("journal");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("action", "put_journal_entries")
        .append_pair("uuid", &t("device"))
        .append_pair(
            "data",
            &json!([{"id": journal_entry, "data": t("journal-data")}]).to_string(),
        )
        .finish();
    let r = http.send(
        Some(&web),
        "POST",
        &format!("/settings.phtml?realm={domain}"),
        FORM_HEADERS,
        &form,
    );
    let journal_id: i64 = serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v["results"][0]["journal_id"].as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("journal: {} {}", r.status, r.body));
    // SOAP things of the reseller's admin.
    let call_group = t("cg");
    let permission = t("perm");
    let phone_serial = format!("0004f2{sn_base:06x}");
    for (port, body) in [
        (
            "CallGroupService",
            format!(
                r#"<AddCallGroup xmlns="{SOAP_NS}"><callGroup><name>{call_group}</name><extension>{}</extension><description>D</description></callGroup></AddCallGroup>"#,
                sn_base % 1000 + 300
            ),
        ),
        (
            "PermissionService",
            format!(
                r#"<AddPermission xmlns="{SOAP_NS}"><permission><label>{permission}</label><description>D</description></permission></AddPermission>"#
            ),
        ),
        (
            "PhoneService",
            format!(
                r#"<AddPhone xmlns="{SOAP_NS}"><phone><serialNumber>{phone_serial}</serialNumber><modelId>polycom600</modelId><description>D</description></phone></AddPhone>"#
            ),
        ),
    ] {
        let r = http.send(
            Some(&admin),
            "POST",
            &format!("/sipxconfig/services/{port}"),
            SOAP_HEADERS,
            &soap_envelope(&body),
        );
        assert_eq!(r.status, 200, "{port}: {}", r.body);
    }
    Tenant {
        tag: tag.to_string(),
        reseller,
        admin_id,
        admin,
        contact,
        customer,
        customer_login,
        sub_customer,
        billing_profile,
        domain_id,
        domain,
        subscriber,
        username,
        web_password,
        number,
        auth_rule,
        phonebook,
        phonebook_entry,
        conference,
        journal_entry,
        journal_id,
        call_group,
        permission,
        phone_serial,
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix: one entry per route of the tables.

/// Which of B's objects a request names, and its never-existing counterpart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obj {
    Reseller,
    Admin,
    SystemContact,
    Contact,
    Customer,
    SubCustomer,
    BillingProfile,
    DomainId,
    Subscriber,
    /// `user@domain`, as feeds and Digest name an account.
    Account,
    Username,
    AuthRule,
    Phonebook,
    PhonebookEntry,
    Conference,
    JournalId,
    CallGroup,
    Permission,
    PhoneSerial,
    /// The LDAP base of the domain's address book.
    BookBase,
    /// The LDAP DN of the subscriber's entry.
    EntryDn,
    /// A customer's web login, for the admin sign-in.
    WebLogin,
}

impl Obj {
    pub fn of(self, b: &Tenant, system_contact: i64) -> String {
        match self {
            Self::Reseller => b.reseller.to_string(),
            Self::Admin => b.admin_id.to_string(),
            Self::SystemContact => system_contact.to_string(),
            Self::Contact => b.contact.to_string(),
            Self::Customer => b.customer.to_string(),
            Self::SubCustomer => b.sub_customer.to_string(),
            Self::BillingProfile => b.billing_profile.to_string(),
            Self::DomainId => b.domain_id.to_string(),
            Self::Subscriber => b.subscriber.to_string(),
            Self::Account => format!("{}@{}", b.username, b.domain),
            Self::Username => b.username.clone(),
            Self::AuthRule => b.auth_rule.to_string(),
            Self::Phonebook => b.phonebook.clone(),
            Self::PhonebookEntry => b.phonebook_entry.to_string(),
            Self::Conference => b.conference.clone(),
            Self::JournalId => b.journal_id.to_string(),
            Self::CallGroup => b.call_group.clone(),
            Self::Permission => b.permission.clone(),
            Self::PhoneSerial => b.phone_serial.clone(),
            Self::BookBase => book_base(&b.domain),
            Self::EntryDn => format!("uid={},{}", b.username, book_base(&b.domain)),
            Self::WebLogin => b.customer_login.user.clone(),
        }
    }

    pub fn unknown(self) -> String {
        match self {
            Self::Account => format!("{UNKNOWN_NAME}@{UNKNOWN_NAME}.example.net"),
            Self::Username
            | Self::Phonebook
            | Self::Conference
            | Self::CallGroup
            | Self::Permission
            | Self::WebLogin => UNKNOWN_NAME.to_string(),
            Self::PhoneSerial => "0004f2ffffff".to_string(),
            Self::BookBase => book_base(&format!("{UNKNOWN_NAME}.example.net")),
            Self::EntryDn => format!(
                "uid={UNKNOWN_NAME},{}",
                book_base(&format!("{UNKNOWN_NAME}.example.net"))
            ),
            _ => UNKNOWN_ID.to_string(),
        }
    }
}

pub fn book_base(domain: &str) -> String {
    let dcs: Vec<String> = domain.split('.').map(|l| format!("dc={l}")).collect();
    format!("ou=addressbook,{}", dcs.join(","))
}

/// How a request travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Http,
    /// The admin page over HTTPS with curl and the principal's session (`{csrf}` in a form is
    /// the session's token).
    AdminPage,
    /// OpenLDAP's command-line clients over LDAPS.
    Ldap,
}

/// One request; `{target}` in the path or body is replaced by the object's id or name, `{a.…}`
/// by the caller's own values.
#[derive(Clone, Debug)]
pub struct Req {
    pub via: Via,
    pub method: &'static str,
    pub path: String,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: String,
}

pub fn http(method: &'static str, path: impl Into<String>) -> Req {
    Req {
        via: Via::Http,
        method,
        path: path.into(),
        headers: &[],
        body: String::new(),
    }
}

impl Req {
    pub fn with(
        mut self,
        headers: &'static [(&'static str, &'static str)],
        body: impl Into<String>,
    ) -> Self {
        self.headers = headers;
        self.body = body.into();
        self
    }

    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }

    pub fn aimed(&self, target: &str) -> Self {
        let mut r = self.clone();
        r.path = r.path.replace("{target}", target);
        r.body = r.body.replace("{target}", target);
        r
    }
}

pub enum Aim {
    /// The route names an object: the request for B's and for a never-existing one.
    Object(Obj, Req),
    /// Names an object but answers without refusing (a search finds nothing, OPTIONS lists
    /// verbs, a delete skips what is not the caller's): the answer for B's object must equal
    /// the one for a missing object and show nothing of B, and nothing may change.
    Blind(&'static str, Obj, Req),
    /// Nothing foreign can be named (why); the probe, when given, is sent by every principal and
    /// its answer must show nothing of B (for lists: B's objects are absent).
    Unaddressed(&'static str, Option<Req>),
}

/// The principals of A, and which of them a dialect takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Customer,
    Reseller,
    Subscriber,
}

pub fn principals(dialect: &str, route: &str) -> &'static [Who] {
    match dialect {
        "sip2sip" | "ldap" => &[Who::Subscriber],
        "sipx" if route.contains("/my/") => &[Who::Subscriber],
        _ => &[Who::Customer, Who::Reseller],
    }
}

pub fn xml(method: &str, members: &[(&str, String)]) -> Req {
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    http("POST", "/xmlapi/xmlapi").with(&[("content-type", "text/xml")], call_xml(method, &refs))
}

pub fn soap(port: &str, body: &str) -> Req {
    http("POST", format!("/sipxconfig/services/{port}"))
        .with(SOAP_HEADERS, soap_envelope(&body.replace("NS", SOAP_NS)))
}

pub fn settings(query: &str) -> Req {
    http("GET", format!("/settings.phtml?realm={{a.domain}}&{query}"))
}

pub const PATCH_HEADERS: &[(&str, &str)] = &[("content-type", "application/json-patch+json")];

/// C5's collections: the object an item id names, a PUT document, a PATCH, and a POST document
/// that names one of B's objects (None: the POST names nothing foreign).
/// A C5 collection in the matrix: (item object, PUT document, PATCH, POST naming B's object).
type C5Resource = (Obj, Value, Value, Option<(Obj, Value)>);

fn c5_resource(name: &str) -> Option<C5Resource> {
    let replace =
        |path: &str, value: Value| json!([{"op": "replace", "path": path, "value": value}]);
    Some(match name {
        "resellers" => (
            Obj::Reseller,
            json!({"name": "renamed", "status": "active"}),
            replace("/status", json!("locked")),
            None,
        ),
        "admins" => (
            Obj::Admin,
            json!({"login": "renamed", "password": "x-pw-1", "reseller_id": "{target}"}),
            replace("/email", json!("x@mail.example")),
            Some((
                Obj::Reseller,
                json!({"login": "newadmin", "password": "x-pw-1", "reseller_id": "{target}"}),
            )),
        ),
        "systemcontacts" => (
            Obj::SystemContact,
            json!({"email": "renamed@mail.example"}),
            replace("/email", json!("x@mail.example")),
            None,
        ),
        "customercontacts" => (
            Obj::Contact,
            json!({"email": "renamed@mail.example", "reseller_id": "{target}"}),
            replace("/email", json!("x@mail.example")),
            Some((
                Obj::Reseller,
                json!({"email": "new@mail.example", "reseller_id": "{target}"}),
            )),
        ),
        "customers" => (
            Obj::Customer,
            json!({"contact_id": 1, "status": "active", "type": "sipaccount", "billing_profile_id": 1}),
            replace("/status", json!("locked")),
            Some((
                Obj::Contact,
                json!({"contact_id": "{target}", "status": "active", "type": "sipaccount",
                       "billing_profile_id": 1}),
            )),
        ),
        "domains" => (
            Obj::DomainId,
            json!({"domain": "renamed.example.net"}),
            replace("/domain", json!("x.example.net")),
            Some((
                Obj::Reseller,
                json!({"domain": "new.example.net", "reseller_id": "{target}"}),
            )),
        ),
        "billingprofiles" => (
            Obj::BillingProfile,
            json!({"name": "renamed", "handle": "renamed"}),
            replace("/name", json!("x")),
            Some((
                Obj::Reseller,
                json!({"name": "new", "handle": "new", "reseller_id": "{target}"}),
            )),
        ),
        "subscribers" => (
            Obj::Subscriber,
            json!({"customer_id": 1, "domain": "x.example.net", "username": "renamed", "password": "x-pw-1"}),
            replace("/display_name", json!("x")),
            Some((
                Obj::Customer,
                json!({"customer_id": "{target}", "domain": "{a.domain}", "username": "newsub",
                       "password": "x-pw-1"}),
            )),
        ),
        "callforwards" => (
            Obj::Subscriber,
            json!({"cfu": {"destinations": [{"destination": "voicebox"}]}}),
            replace("/cfu", json!({"destinations": []})),
            None,
        ),
        "subscriberpreferences" => (
            Obj::Subscriber,
            json!({"clir": true}),
            replace("/clir", json!(true)),
            None,
        ),
        "subscriberpreferencedefs" => (Obj::Subscriber, json!({}), json!([]), None),
        _ => return None,
    })
}

fn c5_aim(method: &str, route: &str) -> Option<Aim> {
    let rest = route.strip_prefix("/api/")?;
    let (name, item) = match rest.split_once('/') {
        Some((name, "{id}")) => (name, true),
        Some((name, "")) => (name, false),
        _ => return None,
    };
    let (obj, put, patch, post) = c5_resource(name)?;
    let method: &'static str = match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "POST" => "POST",
        _ => return None,
    };
    let url = format!("/api/{name}/{}", if item { "{target}" } else { "" });
    Some(match (item, method) {
        (true, "PUT") => Aim::Object(obj, http("PUT", url).with(JSON_HEADERS, put.to_string())),
        (true, "PATCH") => Aim::Object(
            obj,
            http("PATCH", url).with(PATCH_HEADERS, patch.to_string()),
        ),
        (true, "OPTIONS") => Aim::Blind(
            "OPTIONS lists the URL's verbs without looking the id up",
            obj,
            http(method, url),
        ),
        (true, _) => Aim::Object(obj, http(method, url)),
        (false, "POST") => match post {
            Some((Obj::Reseller, _)) => Aim::Unaddressed(
                "reseller_id is forced to the caller's own reseller (C5's rule, \
                 `permissions::Reach::reseller_for`): B's cannot be named; not probed, as the \
                 probe would create the caller's own object",
                None,
            ),
            Some((obj, doc)) => {
                Aim::Object(obj, http("POST", url).with(JSON_HEADERS, doc.to_string()))
            }
            None => Aim::Unaddressed(
                "creates a top-level object (reseller, system contact): nothing of B to name; \
                 the probe must be refused or change nothing of B",
                Some(http("POST", url).with(JSON_HEADERS, put.to_string())),
            ),
        },
        (false, _) => Aim::Unaddressed(
            "a collection: lists only the caller's reach (B's objects must be absent)",
            Some(http(method, format!("{url}?rows=100"))),
        ),
    })
}

/// The matrix entry of a route, or None when it has none.
pub fn aim(r: &RouteSpec) -> Option<Aim> {
    let names = |m: &str| {
        Aim::Unaddressed(
            "names no object: the server's own description",
            Some(xml(m, &[])),
        )
    };
    let acct = |m: &str, extra: &[(&str, String)]| {
        let mut members = vec![("i_account", "<int>{target}</int>".to_string())];
        members.extend(extra.iter().cloned());
        Aim::Object(Obj::Subscriber, xml(m, &members))
    };
    let cust = |m: &str, param: &str, extra: &[(&str, String)]| {
        let mut members = vec![(param, "<int>{target}</int>".to_string())];
        members.extend(extra.iter().cloned());
        Aim::Object(Obj::Customer, xml(m, &members))
    };
    let rule = |m: &str, extra: &[(&str, String)]| {
        let mut members = vec![("i_authentication", "<int>{target}</int>".to_string())];
        members.extend(extra.iter().cloned());
        Aim::Object(Obj::AuthRule, xml(m, &members))
    };
    let money = [
        ("amount", "<double>1</double>".to_string()),
        ("currency", s("USD")),
    ];
    let own = |why: &'static str| Aim::Unaddressed(why, None);
    let my = "my/… is the caller itself: no id or name in the path addresses anyone else";
    Some(match (r.dialect, r.method, r.route.as_str()) {
        ("xmlrpc", "CALL", m) => match m {
            "createAccount" => cust(m, "i_customer", &[("username", s("newacct"))]),
            "updateAccount" => acct(m, &[("max_sessions", i(2))]),
            "deleteAccount" | "blockAccount" | "unblockAccount" | "getAccountInfo"
            | "getRegistrationStatus" | "getAccountCDRs" | "listAuthRules" => acct(m, &[]),
            "accountAddFunds" | "accountCredit" | "accountDebit" => acct(m, &money),
            "addAuthRule" => acct(m, &[("i_protocol", i(1)), ("remote_ip", s("192.0.2.9"))]),
            "listAccounts" | "getCustomerInfo" | "getCustomerCDRs" => cust(m, "i_customer", &[]),
            "updateCustomer" => cust(m, "i_customer", &[("credit_limit", "<double>5</double>".into())]),
            "deleteCustomer" => Aim::Object(
                Obj::SubCustomer,
                xml(m, &[("i_customer", "<int>{target}</int>".into())]),
            ),
            "createCustomer" => cust(m, "i_wholesaler", &[("name", s("newcust")), ("i_tariff", "<nil/>".into())]),
            "listCustomers" => cust(m, "i_wholesaler", &[]),
            "updateAuthRule" => rule(m, &[("remote_ip", s("192.0.2.10"))]),
            "delAuthRule" | "getAuthRuleInfo" => rule(m, &[]),
            "system.listMethods" | "system.getCapabilities" => names(m),
            "system.methodHelp" | "system.methodSignature" => Aim::Unaddressed(
                "names a method, not an object",
                Some(http("POST", "/xmlapi/xmlapi").with(
                    &[("content-type", "text/xml")],
                    format!("<?xml version=\"1.0\"?><methodCall><methodName>{m}</methodName><params><param><value><string>getAccountInfo</string></value></param></params></methodCall>"),
                )),
            ),
            "system.multicall" => Aim::Object(
                Obj::Subscriber,
                http("POST", "/xmlapi/xmlapi").with(
                    &[("content-type", "text/xml")],
                    format!(
                        "<?xml version=\"1.0\"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data><value>{}</value></data></array></value></param></params></methodCall>",
                        common::struct_xml(&[
                            ("methodName", "<string>getAccountInfo</string>"),
                            ("params", &format!("<array><data><value>{}</value></data></array>", common::struct_xml(&[("i_account", "<int>{target}</int>")]))),
                        ])
                    ),
                ),
            ),
            _ => return None,
        },
        ("c5", method, route) => match route {
            "/api/" | "/api/openapi.json" => Aim::Unaddressed(
                "the API's own description",
                Some(http(if method == "OPTIONS" { "OPTIONS" } else { "GET" }, route)),
            ),
            "/api/admincerts/" if method == "POST" => own(
                "issues a certificate for the calling login itself; not probed here (the audit \
                 test issues one)",
            ),
            "/api/admincerts/" => Aim::Unaddressed("the verbs of admincerts", Some(http("OPTIONS", route))),
            _ => return c5_aim(method, route),
        },
        ("sipx-soap", "GET", _) => Aim::Unaddressed(
            "the WSDL",
            Some(http("GET", "/sipxconfig/services/UserService?wsdl")),
        ),
        ("sipx-soap", "CALL", op) => match op {
            "UserService.addUser" => own("creates a user of the caller's own customer: nothing of B named"),
            "UserService.findUser" => Aim::Blind("a search: finds nothing outside the caller's reach", Obj::Username, soap("UserService",
                r#"<FindUser xmlns="NS"><search><byUserName>{target}</byUserName></search></FindUser>"#)),
            "UserService.manageUser" => Aim::Object(Obj::Username, soap("UserService",
                r#"<ManageUser xmlns="NS"><search><byUserName>{target}</byUserName></search><edit><property>lastName</property><value>X</value></edit></ManageUser>"#)),
            "SystemService.systemInfo" => Aim::Unaddressed("the system's own description", Some(soap("SystemService", r#"<SystemInfo xmlns="NS"/>"#))),
            "PhoneService.addPhone" => Aim::Object(Obj::Username, soap("PhoneService",
                r#"<AddPhone xmlns="NS"><phone><serialNumber>0004f2eeeeee</serialNumber><modelId>polycom600</modelId><lines><userId>{target}</userId></lines></phone></AddPhone>"#)),
            "PhoneService.findPhone" => Aim::Blind("a search: finds nothing outside the caller's reach", Obj::PhoneSerial, soap("PhoneService",
                r#"<FindPhone xmlns="NS"><search><bySerialNumber>{target}</bySerialNumber></search></FindPhone>"#)),
            "PhoneService.managePhone" => Aim::Object(Obj::PhoneSerial, soap("PhoneService",
                r#"<ManagePhone xmlns="NS"><search><bySerialNumber>{target}</bySerialNumber></search><deletePhone>true</deletePhone></ManagePhone>"#)),
            "CallGroupService.addCallGroup" => Aim::Object(Obj::Username, soap("CallGroupService",
                r#"<AddCallGroup xmlns="NS"><callGroup><name>newcg</name><extension>399</extension><rings><expiration>5</expiration><type>delayed</type><position>0</position><userName>{target}</userName></rings></callGroup></AddCallGroup>"#)),
            "CallGroupService.getCallGroups" => Aim::Unaddressed("lists the caller's own call groups", Some(soap("CallGroupService", r#"<GetCallGroups xmlns="NS"/>"#))),
            "CallGroupService.manageCallGroup" => Aim::Object(Obj::CallGroup, soap("CallGroupService",
                r#"<ManageCallGroup xmlns="NS"><name>{target}</name><edit><property>description</property><value>X</value></edit></ManageCallGroup>"#)),
            "ParkOrbitService.addParkOrbit" => own("creates a park orbit of the caller's own customer"),
            "ParkOrbitService.getParkOrbits" => Aim::Unaddressed("lists the caller's own park orbits", Some(soap("ParkOrbitService", r#"<GetParkOrbits xmlns="NS"/>"#))),
            "PermissionService.addPermission" => own("creates a permission of the caller's own customer"),
            "PermissionService.findPermission" => Aim::Blind("a search: finds nothing outside the caller's reach", Obj::Permission, soap("PermissionService",
                r#"<FindPermission xmlns="NS"><search><byLabel>{target}</byLabel></search></FindPermission>"#)),
            "PermissionService.managePermission" => Aim::Object(Obj::Permission, soap("PermissionService",
                r#"<ManagePermission xmlns="NS"><search><byLabel>{target}</byLabel></search><edit><property>description</property><value>X</value></edit></ManagePermission>"#)),
            _ => return None,
        },
        ("sipx", method, route) => {
            let path = route.strip_prefix("/sipxconfig/rest/")?;
            match (method, path) {
                ("GET", "phonebook") => Aim::Unaddressed("lists the caller's phonebooks", Some(http("GET", route))),
                ("GET", "phonebook/{name}") => Aim::Object(Obj::Phonebook, http("GET", "/sipxconfig/rest/phonebook/{target}")),
                (m, "my/phonebook/entry/{id}") => Aim::Object(Obj::PhonebookEntry, match m {
                    "GET" => http("GET", "/sipxconfig/rest/my/phonebook/entry/{target}"),
                    "DELETE" => http("DELETE", "/sipxconfig/rest/my/phonebook/entry/{target}"),
                    "PUT" | "POST" => http(if m == "PUT" { "PUT" } else { "POST" }, "/sipxconfig/rest/my/phonebook/entry/{target}")
                        .with(JSON_HEADERS, json!({"entry": {"first-name": "X", "last-name": "Y", "number": "5551"}}).to_string()),
                    _ => return None,
                }),
                ("GET", "my/conferences/{name}") => Aim::Object(Obj::Conference, http("GET", "/sipxconfig/rest/my/conferences/{target}")),
                ("GET", "my/conferencedetails/{name}") => Aim::Object(Obj::Conference, http("GET", "/sipxconfig/rest/my/conferencedetails/{target}")),
                ("PUT", "my/conferences/{name}") => own(
                    "conference names are the owner's own namespace: a PUT names (and makes) the \
                     caller's own conference, never B's; B's stays as it was (snapshot)",
                ),
                ("PUT", "my/call/{to}") => own("{to} is a number to call, placed for the caller itself"),
                ("GET", "my/logindetails") => own("issues the caller's own private key: not probed"),
                ("GET", _) => Aim::Unaddressed(my, Some(http("GET", route))),
                (_, _) if path.starts_with("my/") => own(my),
                _ => return None,
            }
        }
        ("sip2sip", "ACTION", action) => match action {
            "delete_journal_entries" => Aim::Blind("deletes the caller's own entries among the ids; others are skipped", Obj::JournalId, settings("action=delete_journal_entries&journal_id={target}")),
            a if a.starts_with("get_") => Aim::Unaddressed("an action on the signed-in account itself", Some(settings(&format!("action={a}")))),
            _ => own("changes the signed-in account itself: no parameter names another account"),
        },
        ("feed", "POST", "/feed/cdrs") => Aim::Object(Obj::Account, http("POST", "/feed/cdrs").with(JSON_HEADERS,
            json!([{"call_id": "matrix-call", "account": "{target}", "direction": "placed",
                    "remote_party": "sip:1@example.org", "start_time": "2026-01-01T00:00:00Z",
                    "duration": 1, "status": "200"}]).to_string())),
        ("feed", "POST", "/feed/registrations") => Aim::Object(Obj::Account, http("POST", "/feed/registrations").with(JSON_HEADERS,
            json!([{"account": "{target}", "contact": "sip:x@192.0.2.1", "expires": 3600}]).to_string())),
        ("ldap", "OP", op) => match op {
            "bind" => Aim::Object(Obj::EntryDn, Req { via: Via::Ldap, method: "bind", path: "{target}".into(), headers: &[], body: String::new() }),
            "search" => Aim::Object(Obj::BookBase, Req { via: Via::Ldap, method: "search", path: "{target}".into(), headers: &[], body: String::new() }),
            "add" | "delete" | "modify" | "modifyDN" | "compare" => Aim::Object(Obj::EntryDn, Req { via: Via::Ldap, method: ldap_op(op), path: "{target}".into(), headers: &[], body: String::new() }),
            "unbind" | "abandon" | "extended StartTLS" | "extended WhoAmI" => own("names no entry: ends or upgrades the caller's own connection, or names the caller"),
            _ => return None,
        },
        ("admin", method, route) => {
            let page = |m: &'static str, p: &str, form: &str| http(m, p).via(Via::AdminPage).with(&[], form);
            match (method, route) {
                ("GET", "/admin/customers/{id}") => Aim::Object(Obj::Customer, page("GET", "/admin/customers/{target}", "")),
                ("POST", "/admin/customers/{id}/api-permission") => Aim::Object(Obj::SubCustomer, page("POST", "/admin/customers/{target}/api-permission", "csrf={csrf}&api_permission=on")),
                ("POST", "/admin/customers/{id}/allow-api-calls") => Aim::Object(Obj::Customer, page("POST", "/admin/customers/{target}/allow-api-calls", "csrf={csrf}")),
                ("POST", "/admin/customers") => Aim::Object(Obj::Customer, page("POST", "/admin/customers", "csrf={csrf}&parent={target}&return_to=list&name=matrixnew&web_login=matrixnew&web_password=Matrix-pw-1&api_password=")),
                ("POST", "/admin/sign-in") => Aim::Object(Obj::WebLogin, page("POST", "/admin/sign-in", "csrf={csrf}&login={target}&password=wrong-for-everyone")),
                ("POST", "/admin/trusted-hosts" | "/admin/trusted-hosts/remove" | "/admin/vouchers") => Aim::Unaddressed(
                    "root's alone: refused to anyone else, nothing of B named",
                    Some(page("POST", route, "csrf={csrf}&network=192.0.2.0/24&description=x&count=1&value=1&currency=EUR")),
                ),
                ("POST", _)
                    if route.starts_with("/admin/preferences")
                        || route == "/admin/sign-out"
                        || route == "/admin/phonebooks" =>
                {
                    own(
                        "changes the signed-in login itself (or imports into its own customer)",
                    )
                }
                ("GET", _) => Aim::Unaddressed("a page of the caller's own reach (B must be absent)", Some(page("GET", route, ""))),
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn ldap_op(op: &str) -> &'static str {
    match op {
        "add" => "add",
        "delete" => "delete",
        "modify" => "modify",
        "modifyDN" => "modifyDN",
        _ => "compare",
    }
}

// ---------------------------------------------------------------------------------------------
// Running it.

pub struct World {
    pub app: TestApp,
    pub http: Http,
    pub a: Tenant,
    pub b: Tenant,
    pub system_contact: i64,
    ldaps: String,
    pages: Mutex<HashMap<String, (crate::admin_ui::Curl, String)>>,
}

pub fn world() -> World {
    world_with(&[])
}

/// Two tenants on a server started with `args` (and an LDAPS listener).
pub fn world_with(args: &[&str]) -> World {
    let mut all = vec!["--ldaps-listen".to_string(), "127.0.0.1:0".into()];
    all.extend(args.iter().map(|a| (*a).to_string()));
    let app = Launch {
        args: all,
        ..Launch::default()
    }
    .spawn();
    world_on(app)
}

pub fn world_on(app: TestApp) -> World {
    let http = Http::new(&app);
    let a = tenant(&app, &http, "a", 5_550_100);
    let b = tenant(&app, &http, "b", 5_550_200);
    let system_contact = create(
        &app,
        "systemcontacts",
        &json!({"email": "system@mail.example"}),
    );
    let ldaps = app
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("switchyard: address book on ldaps://"))
        .unwrap_or_default()
        .to_string();
    World {
        app,
        http,
        a,
        b,
        system_contact,
        ldaps,
        pages: Mutex::new(HashMap::new()),
    }
}

impl World {
    pub fn cred(&self, who: Who, dialect: &str) -> Cred {
        match who {
            Who::Customer => self.a.customer_login.clone(),
            Who::Reseller => self.a.admin.clone(),
            Who::Subscriber => self.a.self_care(dialect),
        }
    }

    fn web_cred(&self, who: Who) -> Cred {
        match who {
            Who::Customer => cred(&self.a.customer_login.user, "tenanta-customer-web-pw"),
            Who::Reseller => self.a.admin.clone(),
            Who::Subscriber => self.a.self_care("admin"),
        }
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{a.domain}", &self.a.domain)
    }

    pub fn send(&self, who: Who, dialect: &str, req: &Req) -> Resp {
        let path = self.fill(&req.path);
        let body = self.fill(&req.body);
        match req.via {
            Via::Http => self.http.send(
                Some(&self.cred(who, dialect)),
                req.method,
                &path,
                req.headers,
                &body,
            ),
            Via::AdminPage => self.page(who, req.method, &path, &body),
            Via::Ldap => self.ldap(who, req.method, &path),
        }
    }

    fn page(&self, who: Who, method: &str, path: &str, form: &str) -> Resp {
        if path == "/admin/sign-in" {
            // A sign-in of its own (the form's token is the sign-in cookie's, not a session's).
            let field = |name: &str| {
                form_urlencoded::parse(form.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            return self.sign_in_with(&cred(&field("login"), &field("password")));
        }
        self.page_as(&format!("{who:?}"), &self.web_cred(who), method, path, form)
    }

    /// A page of the admin page, as root.
    pub fn root_page(&self, method: &str, path: &str, form: &str) -> Resp {
        self.page_as("root", &cred("root", ROOT_PASSWORD), method, path, form)
    }

    /// Signs in to the admin page in a session of its own.
    pub fn fresh_sign_in(&self, who: Who) -> Resp {
        self.sign_in_with(&self.web_cred(who))
    }

    fn sign_in_with(&self, c: &Cred) -> Resp {
        let curl = crate::admin_ui::Curl::new(&self.app);
        let token = curl.get("/admin/").csrf();
        let started = Instant::now();
        let reply = curl.post(
            "/admin/sign-in",
            &[
                ("csrf", &token),
                ("login", &c.user),
                ("password", &c.password),
            ],
        );
        Resp {
            status: reply.status,
            headers: Vec::new(),
            body: reply.body,
            elapsed: started.elapsed(),
        }
    }

    fn page_as(&self, key: &str, c: &Cred, method: &str, path: &str, form: &str) -> Resp {
        let mut pages = self.pages.lock().unwrap();
        let key = key.to_string();
        if !pages.contains_key(&key) {
            let curl = crate::admin_ui::Curl::new(&self.app);
            let csrf = curl.sign_in(&c.user, &c.password);
            pages.insert(key.clone(), (curl, csrf));
        }
        let (curl, csrf) = &pages[&key];
        let started = Instant::now();
        let reply = if method == "GET" {
            curl.get(path)
        } else {
            let form = form.replace("{csrf}", csrf);
            let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            curl.post(path, &refs)
        };
        Resp {
            status: reply.status,
            headers: reply
                .headers
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect(),
            body: reply.body,
            elapsed: started.elapsed(),
        }
    }

    /// An LDAP operation with OpenLDAP's clients, bound as A's subscriber (a bind names its
    /// target); the answer is the exit code and what the tool printed.
    fn ldap(&self, who: Who, op: &str, target: &str) -> Resp {
        let me = self.cred(who, "ldap");
        let own_dn = format!("uid={},{}", self.a.username, book_base(&self.a.domain));
        let uri = format!("ldaps://{}", self.ldaps);
        let dir = tempfile::tempdir().unwrap();
        let ldif = dir.path().join("change.ldif");
        let mut cmd = Command::new(match op {
            "bind" => "ldapwhoami",
            "search" => "ldapsearch",
            "delete" => "ldapdelete",
            "compare" => "ldapcompare",
            _ => "ldapmodify",
        });
        cmd.env("LDAPTLS_REQCERT", "never").args(["-x", "-H", &uri]);
        if op == "bind" {
            cmd.args(["-D", target, "-w", &me.password]);
        } else {
            cmd.args(["-D", &own_dn, "-w", &me.password]);
        }
        match op {
            "search" => {
                cmd.args(["-b", target, "(objectClass=*)"]);
            }
            "delete" => {
                cmd.arg(target);
            }
            "compare" => {
                cmd.args([target, "cn:X"]);
            }
            "add" | "modify" | "modifyDN" => {
                let change = match op {
                    "add" => "changetype: add\nobjectClass: person\ncn: X\nsn: X\n",
                    "modify" => "changetype: modify\nreplace: cn\ncn: X\n",
                    _ => "changetype: modrdn\nnewrdn: uid=x\ndeleteoldrdn: 1\n",
                };
                std::fs::write(&ldif, format!("dn: {target}\n{change}")).unwrap();
                cmd.arg("-f").arg(&ldif);
            }
            _ => {}
        }
        let started = Instant::now();
        let (code, out, err) = common::run(&mut cmd);
        Resp {
            status: u16::try_from(code).unwrap_or(999),
            headers: Vec::new(),
            body: format!("{out}{err}"),
            elapsed: started.elapsed(),
        }
    }
}

/// Whether an answer is the dialect's refusal.
pub fn refused(dialect: &str, r: &Resp) -> bool {
    match dialect {
        "xmlrpc" => r.status >= 400 || common::fault_code(&r.body).is_some(),
        "sip2sip" => r.status >= 400 || r.body.contains("\"success\":false"),
        "ldap" => r.status != 0,
        _ => r.status >= 400,
    }
}

/// `text` with each whole occurrence of `target` (not part of a longer word or number) replaced.
fn replace_whole(text: &str, target: &str) -> String {
    if target.is_empty() {
        return text.to_string();
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(target) {
        let before = out.chars().last().or_else(|| rest[..at].chars().last());
        let before = if at > 0 {
            rest[..at].chars().last()
        } else {
            before
        };
        let after = rest[at + target.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(target);
        } else {
            out.push_str("{target}");
        }
        rest = &rest[at + target.len()..];
    }
    out.push_str(rest);
    out
}

/// An admin page without its form tokens (a fresh random one per sign-in form).
fn without_csrf(page: &str) -> String {
    const FIELD: &str = "name=\"csrf\" value=\"";
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find(FIELD) {
        let start = at + FIELD.len();
        out.push_str(&rest[..start]);
        out.push_str("{csrf}");
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap_or(0)..];
    }
    out.push_str(rest);
    out
}

/// Status, headers and body with the target replaced, without what differs between any two
/// answers (Date, the Digest challenge's nonce, cookies, the length that follows the id's).
/// What is wrong with the answers to B's object and to a never-existing one: B's markers in
/// the first, or the two differing once each target is replaced.
fn answer_alike(
    name: &str,
    b: &Tenant,
    (rf, foreign): (&Resp, &str),
    (ru, unknown): (&Resp, &str),
) -> Vec<String> {
    let mut failures = Vec::new();
    let leaked = leaks(rf, b, foreign);
    if !leaked.is_empty() {
        failures.push(format!("{name}: B's {leaked:?} in {}", rf.body));
    }
    let (nf, nu) = (normalised(rf, foreign), normalised(ru, unknown));
    if nf != nu {
        failures.push(format!(
            "{name}: foreign and unknown differ:\n{nf}\n---\n{nu}"
        ));
    }
    failures
}

fn normalised(r: &Resp, target: &str) -> String {
    let mut out = format!("{}\n", r.status);
    for (k, v) in &r.headers {
        if matches!(
            k.as_str(),
            "date" | "www-authenticate" | "content-length" | "set-cookie"
        ) {
            continue;
        }
        let _ = writeln!(out, "{k}: {}", replace_whole(v, target));
    }
    out.push_str(&without_csrf(&replace_whole(&r.body, target)));
    out
}

/// B's marker strings found in an answer (the target itself, which the caller sent, excluded).
fn leaks(r: &Resp, b: &Tenant, target: &str) -> Vec<String> {
    leaks_of(r, b.markers(), target)
}

fn leaks_of(r: &Resp, markers: Vec<String>, target: &str) -> Vec<String> {
    let text = normalised(r, target).to_ascii_lowercase();
    markers
        .into_iter()
        .filter(|m| text.contains(&m.to_ascii_lowercase()))
        .collect()
}

/// Every table but the audit log and sessions, row by row: what a refused call must not change.
pub fn snapshot(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let db = rusqlite::Connection::open_with_flags(
        app.data_dir().join("switchyard.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        // Signing in to the admin page adds sessions (and moves their AUTOINCREMENT counter);
        // an insert anywhere else shows in its own table.
        .filter(|t: &String| {
            !matches!(
                t.as_str(),
                "audit_log" | "admin_sessions" | "sqlite_sequence"
            )
        })
        .collect();
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .or_else(|_| db.prepare(&format!("SELECT * FROM \"{table}\"")))
            .unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |row| {
                let mut line = String::new();
                for c in 0..n {
                    let v: rusqlite::types::Value = row.get(c)?;
                    let _ = write!(line, "{v:?}|");
                }
                Ok(line)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.insert(table, rows);
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The routes the matrix has entries for, by dialect and route (every method of a route shares
/// the entry's key). Kept by hand: a route that disappears from the tables fails the test here.
const MATRIX: &[(&str, &str)] = &[
    ("admin", "/admin"),
    ("admin", "/admin/"),
    ("admin", "/admin/audit"),
    ("admin", "/admin/customers"),
    ("admin", "/admin/customers/{id}"),
    ("admin", "/admin/customers/{id}/allow-api-calls"),
    ("admin", "/admin/customers/{id}/api-permission"),
    ("admin", "/admin/phonebooks"),
    ("admin", "/admin/preferences"),
    ("admin", "/admin/preferences/allow-api-calls"),
    ("admin", "/admin/preferences/api-password"),
    ("admin", "/admin/preferences/web-password"),
    ("admin", "/admin/sign-in"),
    ("admin", "/admin/sign-out"),
    ("admin", "/admin/static/admin.css"),
    ("admin", "/admin/trusted-hosts"),
    ("admin", "/admin/trusted-hosts/remove"),
    ("admin", "/admin/vouchers"),
    ("c5", "/api/"),
    ("c5", "/api/admincerts/"),
    ("c5", "/api/admins/"),
    ("c5", "/api/admins/{id}"),
    ("c5", "/api/billingprofiles/"),
    ("c5", "/api/billingprofiles/{id}"),
    ("c5", "/api/callforwards/"),
    ("c5", "/api/callforwards/{id}"),
    ("c5", "/api/customercontacts/"),
    ("c5", "/api/customercontacts/{id}"),
    ("c5", "/api/customers/"),
    ("c5", "/api/customers/{id}"),
    ("c5", "/api/domains/"),
    ("c5", "/api/domains/{id}"),
    ("c5", "/api/openapi.json"),
    ("c5", "/api/resellers/"),
    ("c5", "/api/resellers/{id}"),
    ("c5", "/api/subscriberpreferencedefs/"),
    ("c5", "/api/subscriberpreferences/"),
    ("c5", "/api/subscriberpreferences/{id}"),
    ("c5", "/api/subscribers/"),
    ("c5", "/api/subscribers/{id}"),
    ("c5", "/api/systemcontacts/"),
    ("c5", "/api/systemcontacts/{id}"),
    ("feed", "/feed/cdrs"),
    ("feed", "/feed/registrations"),
    ("ldap", "abandon"),
    ("ldap", "add"),
    ("ldap", "bind"),
    ("ldap", "compare"),
    ("ldap", "delete"),
    ("ldap", "extended StartTLS"),
    ("ldap", "extended WhoAmI"),
    ("ldap", "modify"),
    ("ldap", "modifyDN"),
    ("ldap", "search"),
    ("ldap", "unbind"),
    ("sip2sip", "add_alias"),
    ("sip2sip", "add_balance"),
    ("sip2sip", "delete_journal_entries"),
    ("sip2sip", "get_accept_rules"),
    ("sip2sip", "get_aliases"),
    ("sip2sip", "get_balance_history"),
    ("sip2sip", "get_call_forwarding"),
    ("sip2sip", "get_devices"),
    ("sip2sip", "get_enum"),
    ("sip2sip", "get_history"),
    ("sip2sip", "get_identity"),
    ("sip2sip", "get_journal_entries"),
    ("sip2sip", "get_location"),
    ("sip2sip", "get_monthly_usage"),
    ("sip2sip", "get_prepaid"),
    ("sip2sip", "get_reject_rules"),
    ("sip2sip", "get_voicemail"),
    ("sip2sip", "put_journal_entries"),
    ("sip2sip", "set_call_forwarding"),
    ("sip2sip", "set_dnd_off"),
    ("sip2sip", "set_dnd_on"),
    ("sip2sip", "set_privacy_off"),
    ("sip2sip", "set_privacy_on"),
    ("sipx", "/sipxconfig/rest/my/call/{to}"),
    ("sipx", "/sipxconfig/rest/my/callfwd"),
    ("sipx", "/sipxconfig/rest/my/conferencedetails/{name}"),
    ("sipx", "/sipxconfig/rest/my/conferences"),
    ("sipx", "/sipxconfig/rest/my/conferences/{name}"),
    ("sipx", "/sipxconfig/rest/my/contact-information"),
    ("sipx", "/sipxconfig/rest/my/forward"),
    ("sipx", "/sipxconfig/rest/my/logindetails"),
    ("sipx", "/sipxconfig/rest/my/pagedphonebook"),
    ("sipx", "/sipxconfig/rest/my/phonebook"),
    ("sipx", "/sipxconfig/rest/my/phonebook/entry/{id}"),
    ("sipx", "/sipxconfig/rest/my/portal/password/{password}"),
    ("sipx", "/sipxconfig/rest/my/search/phonebook"),
    ("sipx", "/sipxconfig/rest/my/voicemail/pin/{pin}"),
    ("sipx", "/sipxconfig/rest/phonebook"),
    ("sipx", "/sipxconfig/rest/phonebook/{name}"),
    ("sipx-soap", "/sipxconfig/services/{port}?wsdl"),
    ("sipx-soap", "CallGroupService.addCallGroup"),
    ("sipx-soap", "CallGroupService.getCallGroups"),
    ("sipx-soap", "CallGroupService.manageCallGroup"),
    ("sipx-soap", "ParkOrbitService.addParkOrbit"),
    ("sipx-soap", "ParkOrbitService.getParkOrbits"),
    ("sipx-soap", "PermissionService.addPermission"),
    ("sipx-soap", "PermissionService.findPermission"),
    ("sipx-soap", "PermissionService.managePermission"),
    ("sipx-soap", "PhoneService.addPhone"),
    ("sipx-soap", "PhoneService.findPhone"),
    ("sipx-soap", "PhoneService.managePhone"),
    ("sipx-soap", "SystemService.systemInfo"),
    ("sipx-soap", "UserService.addUser"),
    ("sipx-soap", "UserService.findUser"),
    ("sipx-soap", "UserService.manageUser"),
    ("xmlrpc", "accountAddFunds"),
    ("xmlrpc", "accountCredit"),
    ("xmlrpc", "accountDebit"),
    ("xmlrpc", "addAuthRule"),
    ("xmlrpc", "blockAccount"),
    ("xmlrpc", "createAccount"),
    ("xmlrpc", "createCustomer"),
    ("xmlrpc", "delAuthRule"),
    ("xmlrpc", "deleteAccount"),
    ("xmlrpc", "deleteCustomer"),
    ("xmlrpc", "getAccountCDRs"),
    ("xmlrpc", "getAccountInfo"),
    ("xmlrpc", "getAuthRuleInfo"),
    ("xmlrpc", "getCustomerCDRs"),
    ("xmlrpc", "getCustomerInfo"),
    ("xmlrpc", "getRegistrationStatus"),
    ("xmlrpc", "listAccounts"),
    ("xmlrpc", "listAuthRules"),
    ("xmlrpc", "listCustomers"),
    ("xmlrpc", "system.getCapabilities"),
    ("xmlrpc", "system.listMethods"),
    ("xmlrpc", "system.methodHelp"),
    ("xmlrpc", "system.methodSignature"),
    ("xmlrpc", "system.multicall"),
    ("xmlrpc", "unblockAccount"),
    ("xmlrpc", "updateAccount"),
    ("xmlrpc", "updateAuthRule"),
    ("xmlrpc", "updateCustomer"),
];

/// Tries per target and route for the timing comparison (after one warm-up each).
const TIMING_TRIES: usize = 5;

#[test]
fn every_route_of_every_dialect_refuses_another_tenant_like_a_missing_object() {
    let routes = all_routes();
    // The tables and the matrix agree both ways.
    let missing: Vec<String> = routes
        .iter()
        .filter(|r| aim(r).is_none() || !MATRIX.contains(&(r.dialect, r.route.as_str())))
        .map(|r| format!("{} {} {}", r.dialect, r.method, r.route))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a matrix entry: {missing:#?}"
    );
    let stale: Vec<&(&str, &str)> = MATRIX
        .iter()
        .filter(|(d, route)| !routes.iter().any(|r| r.dialect == *d && r.route == *route))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix entries for routes that no longer exist: {stale:#?}"
    );

    let w = world();
    controls(&w);
    let before = snapshot(&w.app);
    let (mut cells, mut compared, mut probes) = (0, 0, 0);
    let mut timings: Vec<(String, Duration, Duration)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut unprobed: Vec<String> = Vec::new();
    for r in &routes {
        let Some(aim) = aim(r) else { continue };
        for &who in principals(r.dialect, &r.route) {
            cells += 1;
            let name = format!("{} {} {} as {who:?}", r.dialect, r.method, r.route);
            match &aim {
                Aim::Object(obj, req) => {
                    let (foreign, unknown) = (obj.of(&w.b, w.system_contact), obj.unknown());
                    let rf = w.send(who, r.dialect, &req.aimed(&foreign));
                    let ru = w.send(who, r.dialect, &req.aimed(&unknown));
                    if !refused(r.dialect, &rf) {
                        failures.push(format!(
                            "{name}: B's {obj:?} not refused: {} {}",
                            rf.status, rf.body
                        ));
                    }
                    failures.extend(answer_alike(&name, &w.b, (&rf, &foreign), (&ru, &unknown)));
                    compared += 1;
                    if req.via == Via::Http {
                        let (mut tf, mut tu) = (Vec::new(), Vec::new());
                        for _ in 0..TIMING_TRIES {
                            tf.push(w.send(who, r.dialect, &req.aimed(&foreign)).elapsed);
                            tu.push(w.send(who, r.dialect, &req.aimed(&unknown)).elapsed);
                        }
                        timings.push((name.clone(), median(tf), median(tu)));
                    }
                }
                Aim::Unaddressed(why, Some(req)) => {
                    let resp = w.send(who, r.dialect, req);
                    let markers = if r.route == "/admin/audit" {
                        // A's own audit rows name what A's refused calls named (B's ids and
                        // names, sent by A): what must be absent is what only B's rows hold.
                        w.b.own_rows()
                    } else {
                        w.b.markers()
                    };
                    let leaked = leaks_of(&resp, markers, "\u{0}");
                    if !leaked.is_empty() {
                        failures.push(format!("{name} ({why}): B's {leaked:?} in {}", resp.body));
                    }
                    if resp.status >= 500 && r.dialect != "sipx-soap" {
                        failures.push(format!("{name}: {} {}", resp.status, resp.body));
                    }
                    probes += 1;
                }
                Aim::Blind(why, obj, req) => {
                    let (foreign, unknown) = (obj.of(&w.b, w.system_contact), obj.unknown());
                    let rf = w.send(who, r.dialect, &req.aimed(&foreign));
                    let ru = w.send(who, r.dialect, &req.aimed(&unknown));
                    let name = format!("{name} ({why})");
                    failures.extend(answer_alike(&name, &w.b, (&rf, &foreign), (&ru, &unknown)));
                    compared += 1;
                }
                Aim::Unaddressed(why, None) => unprobed.push(format!("{name}: {why}")),
            }
        }
    }
    // Timing: the same order of work for B's object and a missing one. The bound is generous
    // (a loaded 2-core machine); what it catches is an early answer that skips the work.
    let mut worst = (String::new(), 1.0_f64);
    let outside = |f: Duration, u: Duration| {
        let (hi, lo) = if f > u { (f, u) } else { (u, f) };
        let ratio = hi.as_secs_f64() / lo.as_secs_f64().max(1e-6);
        (
            ratio > 3.0 && hi.saturating_sub(lo) > Duration::from_millis(5),
            ratio,
        )
    };
    let mut remeasured = 0;
    for (name, f, u) in &mut timings {
        let (mut out, mut ratio) = outside(*f, *u);
        if out {
            // A disk shared with other work makes single fsyncs slow now and then: measure
            // again, longer, before calling it a difference.
            remeasured += 1;
            let (r, who) = retime_key(name);
            let Some(Aim::Object(obj, req)) = aim(&r) else {
                unreachable!("only object routes are timed")
            };
            let (foreign, unknown) = (obj.of(&w.b, w.system_contact), obj.unknown());
            let (mut tf, mut tu) = (Vec::new(), Vec::new());
            for _ in 0..3 * TIMING_TRIES {
                tf.push(w.send(who, r.dialect, &req.aimed(&foreign)).elapsed);
                tu.push(w.send(who, r.dialect, &req.aimed(&unknown)).elapsed);
            }
            (*f, *u) = (median(tf), median(tu));
            (out, ratio) = outside(*f, *u);
        }
        if ratio > worst.1 {
            worst = (name.clone(), ratio);
        }
        if out {
            failures.push(format!(
                "{name}: median {f:?} for B's object, {u:?} for a missing one"
            ));
        }
    }
    let total_f: Duration = timings.iter().map(|t| t.1).sum();
    let total_u: Duration = timings.iter().map(|t| t.2).sum();
    eprintln!(
        "isolation matrix: {} routes, {cells} route×principal cells, {compared} foreign/unknown \
         comparisons, {probes} probes, {} timed (medians of {TIMING_TRIES}: foreign {total_f:?}, \
         unknown {total_u:?} in all; {remeasured} measured again; worst ratio {:.2} at {})",
        routes.len(),
        timings.len(),
        worst.1,
        worst.0
    );
    eprintln!(
        "not probed ({}), nothing of B to name:\n  {}",
        unprobed.len(),
        unprobed.join("\n  ")
    );
    let after = snapshot(&w.app);
    for (table, rows) in &before {
        if after.get(table) != Some(rows) {
            failures.push(format!(
                "table {table} changed: {rows:?} -> {:?}",
                after.get(table)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The route and principal a timing line names (`dialect method route as Who`).
fn retime_key(name: &str) -> (RouteSpec, Who) {
    let (route, who) = name.rsplit_once(" as ").unwrap();
    let who = match who {
        "Customer" => Who::Customer,
        "Reseller" => Who::Reseller,
        _ => Who::Subscriber,
    };
    let r = all_routes()
        .into_iter()
        .find(|r| format!("{} {} {}", r.dialect, r.method, r.route) == route)
        .unwrap();
    (r, who)
}

/// Each principal reaches its own objects through each dialect it uses: without this, a
/// principal that could not sign in at all would pass the matrix by refusing everything.
fn controls(w: &World) {
    let a = &w.a;
    let own_marker = |r: &Resp, what: &str, marker: &str| {
        assert!(
            r.status < 300 && r.body.contains(marker),
            "{what}: {} {}",
            r.status,
            r.body
        );
    };
    for who in [Who::Customer, Who::Reseller] {
        let r = w.send(
            who,
            "xmlrpc",
            &xml("getAccountInfo", &[("i_account", i(a.subscriber))]),
        );
        own_marker(&r, "getAccountInfo of A's own", &a.username);
        let r = w.send(
            who,
            "sipx-soap",
            &soap("UserService", &format!(
                r#"<FindUser xmlns="NS"><search><byUserName>{}</byUserName></search></FindUser>"#,
                a.username
            )),
        );
        own_marker(&r, "findUser of A's own", &a.username);
        let r = w.send(
            who,
            "sipx",
            &http("GET", format!("/sipxconfig/rest/phonebook/{}", a.phonebook)),
        );
        own_marker(&r, "A's shared phonebook", "tenanta-shared");
        let r = w.send(
            who,
            "admin",
            &http("GET", format!("/admin/customers/{}", a.customer)).via(Via::AdminPage),
        );
        own_marker(&r, "A's customer page", &a.customer_login.user);
    }
    let r = w.send(
        Who::Reseller,
        "c5",
        &http("GET", format!("/api/subscribers/{}", a.subscriber)),
    );
    own_marker(&r, "C5 subscriber of A's reseller", &a.username);
    let r = w.send(
        Who::Subscriber,
        "sipx",
        &http(
            "GET",
            format!("/sipxconfig/rest/my/conferences/{}", a.conference),
        ),
    );
    own_marker(&r, "A's subscriber's conference", "tenanta-conf-desc");
    let r = w.send(Who::Subscriber, "sip2sip", &settings("action=get_identity"));
    own_marker(&r, "SIP2SIP identity", &a.username);
    assert!(
        !w.ldaps.is_empty(),
        "no LDAPS listener in {:?}",
        w.app.printed
    );
    let r = w.ldap(Who::Subscriber, "search", &book_base(&a.domain));
    assert!(
        r.status == 0 && r.body.contains(&a.username),
        "LDAP search of A's own book: {}",
        r.body
    );
}

/// Principals of a kind a dialect does not take are refused when they sign in, before any
/// route is looked at (authentication precedes routing in every dialect): a subscriber's
/// self-care password opens no API login, and an API login is no subscriber.
#[test]
fn principals_of_the_wrong_kind_are_refused_at_sign_in() {
    let w = world();
    let a = &w.a;
    let before = snapshot(&w.app);
    let as_sub = |dialect: &str| a.self_care(dialect);
    let api_requests: Vec<(&str, Req)> = vec![
        (
            "xmlrpc",
            xml("getAccountInfo", &[("i_account", i(a.subscriber))]),
        ),
        (
            "c5",
            http("GET", format!("/api/subscribers/{}", a.subscriber)),
        ),
        (
            "sipx-soap",
            soap("SystemService", r#"<SystemInfo xmlns="NS"/>"#),
        ),
        (
            "feed",
            http("POST", "/feed/registrations").with(JSON_HEADERS, "[]"),
        ),
        (
            "sipx",
            http("GET", format!("/sipxconfig/rest/phonebook/{}", a.phonebook)),
        ),
    ];
    for (dialect, req) in &api_requests {
        let r = w.http.send(
            Some(&as_sub(dialect)),
            req.method,
            &req.path,
            req.headers,
            &req.body,
        );
        assert!(
            matches!(r.status, 401 | 403),
            "{dialect} as A's subscriber: {} {}",
            r.status,
            r.body
        );
    }
    let customer = &a.customer_login;
    for (dialect, req) in [
        ("sipx", http("GET", "/sipxconfig/rest/my/forward")),
        ("sip2sip", settings("action=get_identity")),
    ] {
        let path = w.fill(&req.path);
        let r = w
            .http
            .send(Some(customer), req.method, &path, req.headers, &req.body);
        assert!(
            refused(dialect, &r) && !r.body.contains(&a.username),
            "{dialect} as A's customer login: {} {}",
            r.status,
            r.body
        );
    }
    let mut cmd = Command::new("ldapwhoami");
    cmd.env("LDAPTLS_REQCERT", "never").args([
        "-x",
        "-H",
        &format!("ldaps://{}", w.ldaps),
        "-D",
        &customer.user,
        "-w",
        &customer.password,
    ]);
    let (code, out, err) = common::run(&mut cmd);
    assert_ne!(code, 0, "LDAP bind as A's customer login: {out}{err}");
    let page = crate::admin_ui::Curl::new(&w.app);
    let token = page.get("/admin/").csrf();
    let sub = as_sub("admin");
    let r = page.post(
        "/admin/sign-in",
        &[
            ("csrf", &token),
            ("login", &sub.user),
            ("password", &sub.password),
        ],
    );
    assert_ne!(r.status, 303, "admin sign-in as A's subscriber: {}", r.body);
    assert_eq!(before, snapshot(&w.app));
}
