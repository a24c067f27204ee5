//! Audit completeness, from the same route tables as the isolation matrix: every mutating route
//! (`RouteSpec::mutates`) is called once successfully by one of A's principals (root for what
//! only root may do), and exactly one new `ok` audit row names that principal and the target;
//! the refused call the matrix aims at B writes exactly one `refused` row and changes nothing.
//! A mutating route without a call here fails the test.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchyard::dialects::all_routes;

use crate::c5::create;
use crate::common::{self, Launch, ROOT_PASSWORD};
use crate::isolation::{
    Aim, Cred, Http, JSON_HEADERS, PATCH_HEADERS, Req, Via, Who, World, aim, http, i, s, settings,
    snapshot, soap, xml,
};

/// Who makes a call: one of A's principals, or root for what only root may do.
#[derive(Clone, Copy, Debug)]
enum Caller {
    A(Who),
    Root,
}

/// One audit row, as the SQLite file holds it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub outcome: String,
    pub principal: String,
    pub login_id: Option<i64>,
    pub dialect: String,
    pub target: String,
}

pub fn audit_rows(w: &World, after: i64) -> Vec<Row> {
    let db = rusqlite::Connection::open_with_flags(
        w.app.data_dir().join("switchyard.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT id, outcome, principal, login_id, dialect, target FROM audit_log WHERE id > ?1 ORDER BY id",
        )
        .unwrap();
    stmt.query_map([after], |r| {
        Ok(Row {
            id: r.get(0)?,
            outcome: r.get(1)?,
            principal: r.get(2)?,
            login_id: r.get(3)?,
            dialect: r.get(4)?,
            target: r.get(5)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

pub fn last_audit_id(w: &World) -> i64 {
    audit_rows(w, 0).last().map_or(0, |r| r.id)
}

/// One successful call of a mutating route, and what its audit row must name.
struct Call {
    dialect: &'static str,
    method: &'static str,
    route: &'static str,
    caller: Caller,
    req: Req,
    /// A piece of the row's target (the object's id or name).
    target: String,
}

/// Routes whose one call is two events: click-to-call is requested, and then finished with the
/// controller's answer, in the same request.
const TWO_EVENTS: &[&str] = &["/sipxconfig/rest/my/call/{to}"];

fn call(
    dialect: &'static str,
    method: &'static str,
    route: &'static str,
    caller: Caller,
    req: Req,
    target: impl Into<String>,
) -> Call {
    Call {
        dialect,
        method,
        route,
        caller,
        req,
        target: target.into(),
    }
}

/// Extra objects of A that the calls change or delete.
struct Extra {
    account: i64,
    sub_customer: i64,
    admin: i64,
    system_contact: i64,
    contact: i64,
    domain: i64,
    billing_profile: i64,
    subscriber: i64,
    voucher: (i64, String),
}

fn extras(w: &World) -> Extra {
    let a = &w.a;
    let members = common::account_members("tenanta-extra-acct");
    let refs: Vec<(&str, String)> = members.iter().map(|(n, v)| (*n, v.clone())).collect();
    let r = w.send(Who::Customer, "xmlrpc", &xml("createAccount", &refs));
    let account = common::member_int(&r.body, "i_account").unwrap_or_else(|| panic!("{}", r.body));
    let r = w.send(
        Who::Customer,
        "xmlrpc",
        &xml(
            "createCustomer",
            &[
                ("name", s("tenanta-extra-sub")),
                ("web_password", s("Extra-web-pw-1")),
                ("i_tariff", "<nil/>".into()),
            ],
        ),
    );
    let sub_customer =
        common::member_int(&r.body, "i_customer").unwrap_or_else(|| panic!("{}", r.body));
    let admin = create(
        &w.app,
        "admins",
        &json!({"login": "tenanta-admin2", "password": "tenanta-admin2-pw", "reseller_id": a.reseller}),
    );
    let system_contact = create(
        &w.app,
        "systemcontacts",
        &json!({"email": "sys2@mail.example"}),
    );
    let contact = create(
        &w.app,
        "customercontacts",
        &json!({"email": "tenanta-contact2@mail.example", "reseller_id": a.reseller}),
    );
    let domain = create(
        &w.app,
        "domains",
        &json!({"domain": "tenanta2.example.net", "reseller_id": a.reseller}),
    );
    let billing_profile = create(
        &w.app,
        "billingprofiles",
        &json!({"name": "tenanta-bp2", "handle": "tenanta-bp2", "reseller_id": a.reseller}),
    );
    let subscriber = create(
        &w.app,
        "subscribers",
        &json!({"customer_id": a.customer, "domain": a.domain, "username": "tenanta-bob",
                "password": "tenanta-bob-sip", "primary_number": {"cc": 49, "ac": 30, "sn": "5550177"}}),
    );
    let out = w
        .app
        .cli(&["voucher", "create", "--value", "5", "--currency", "USD"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().nth(1).unwrap();
    let mut parts = line.split('\t');
    let voucher = (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().to_string(),
    );
    Extra {
        account,
        sub_customer,
        admin,
        system_contact,
        contact,
        domain,
        billing_profile,
        subscriber,
        voucher,
    }
}

fn calls(w: &World, x: &Extra) -> Vec<Call> {
    use Caller::{A, Root};
    use Who::{Customer, Reseller, Subscriber};
    let a = &w.a;
    let acct = |m: &str, extra: &[(&str, String)]| {
        let mut members = vec![("i_account", i(a.subscriber))];
        members.extend(extra.iter().cloned());
        xml(m, &members)
    };
    let money = [
        ("amount", "<double>1</double>".to_string()),
        ("currency", s("USD")),
    ];
    let new_account: Vec<(&str, String)> = common::account_members("tenanta-new-acct")
        .into_iter()
        .collect();
    let patch = |path: &str, value: Value| {
        json!([{"op": "replace", "path": path, "value": value}]).to_string()
    };
    let c5 = |m: &'static str, path: String, body: String| {
        let headers = if m == "PATCH" {
            PATCH_HEADERS
        } else {
            JSON_HEADERS
        };
        http(m, path).with(headers, body)
    };
    let sub = a.subscriber.to_string();
    let me = format!("subscriber:{sub}");
    let page = |path: &str, form: &str| http("POST", path).via(Via::AdminPage).with(&[], form);
    let my = |m: &'static str, path: &str, body: &str| {
        http(m, format!("/sipxconfig/rest/my/{path}")).with(JSON_HEADERS, body)
    };
    let mine = |path: &str| {
        let r = w.send(
            Subscriber,
            "sipx",
            &http("GET", format!("/sipxconfig/rest/my/{path}"))
                .with(&[("accept", "application/json")], ""),
        );
        assert_eq!(r.status, 200, "GET my/{path}: {}", r.body);
        r.body
    };
    vec![
        // XML-RPC, as A's customer login.
        call("xmlrpc", "CALL", "createAccount", A(Customer), xml("createAccount", &new_account), "account"),
        call("xmlrpc", "CALL", "updateAccount", A(Customer), acct("updateAccount", &[("max_sessions", i(2))]), &sub),
        call("xmlrpc", "CALL", "blockAccount", A(Customer), acct("blockAccount", &[]), &sub),
        call("xmlrpc", "CALL", "unblockAccount", A(Customer), acct("unblockAccount", &[]), &sub),
        call("xmlrpc", "CALL", "accountAddFunds", A(Customer), acct("accountAddFunds", &money), &sub),
        call("xmlrpc", "CALL", "accountCredit", A(Customer), acct("accountCredit", &money), &sub),
        call("xmlrpc", "CALL", "accountDebit", A(Customer), acct("accountDebit", &money), &sub),
        call("xmlrpc", "CALL", "addAuthRule", A(Customer), acct("addAuthRule", &[("i_protocol", i(1)), ("remote_ip", s("192.0.2.20"))]), "auth_rule:"),
        call("xmlrpc", "CALL", "updateAuthRule", A(Customer), xml("updateAuthRule", &[("i_authentication", i(a.auth_rule)), ("remote_ip", s("192.0.2.21"))]), a.auth_rule.to_string()),
        call("xmlrpc", "CALL", "delAuthRule", A(Customer), xml("delAuthRule", &[("i_authentication", i(a.auth_rule))]), a.auth_rule.to_string()),
        call("xmlrpc", "CALL", "deleteAccount", A(Customer), xml("deleteAccount", &[("i_account", i(x.account))]), x.account.to_string()),
        call("xmlrpc", "CALL", "createCustomer", A(Customer), xml("createCustomer", &[("name", s("tenanta-new-sub")), ("web_password", s("New-web-pw-1")), ("i_tariff", "<nil/>".into())]), "customer"),
        call("xmlrpc", "CALL", "updateCustomer", A(Customer), xml("updateCustomer", &[("i_customer", i(a.sub_customer)), ("credit_limit", "<double>5</double>".into())]), a.sub_customer.to_string()),
        call("xmlrpc", "CALL", "deleteCustomer", A(Customer), xml("deleteCustomer", &[("i_customer", i(x.sub_customer))]), x.sub_customer.to_string()),
        // C5, as A's reseller admin (root for resellers and system contacts).
        call("c5", "POST", "/api/resellers/", Root, c5("POST", "/api/resellers/".into(), json!({"name": "tenanta-new-reseller", "status": "active"}).to_string()), "reseller"),
        call("c5", "PUT", "/api/resellers/{id}", Root, c5("PUT", format!("/api/resellers/{}", a.reseller), json!({"name": "tenanta-reseller", "status": "active"}).to_string()), a.reseller.to_string()),
        call("c5", "PATCH", "/api/resellers/{id}", Root, c5("PATCH", format!("/api/resellers/{}", a.reseller), patch("/status", json!("active"))), a.reseller.to_string()),
        call("c5", "POST", "/api/admins/", A(Reseller), c5("POST", "/api/admins/".into(), json!({"login": "tenanta-admin3", "password": "tenanta-admin3-pw"}).to_string()), "admin"),
        call("c5", "PUT", "/api/admins/{id}", A(Reseller), c5("PUT", format!("/api/admins/{}", x.admin), json!({"login": "tenanta-admin2", "password": "tenanta-admin2-pw2"}).to_string()), x.admin.to_string()),
        call("c5", "PATCH", "/api/admins/{id}", A(Reseller), c5("PATCH", format!("/api/admins/{}", x.admin), patch("/email", json!("a2@mail.example"))), x.admin.to_string()),
        call("c5", "DELETE", "/api/admins/{id}", A(Reseller), http("DELETE", format!("/api/admins/{}", x.admin)), x.admin.to_string()),
        call("c5", "POST", "/api/systemcontacts/", Root, c5("POST", "/api/systemcontacts/".into(), json!({"email": "sys3@mail.example"}).to_string()), "contact"),
        call("c5", "PUT", "/api/systemcontacts/{id}", Root, c5("PUT", format!("/api/systemcontacts/{}", x.system_contact), json!({"email": "sys4@mail.example"}).to_string()), x.system_contact.to_string()),
        call("c5", "PATCH", "/api/systemcontacts/{id}", Root, c5("PATCH", format!("/api/systemcontacts/{}", x.system_contact), patch("/email", json!("sys5@mail.example"))), x.system_contact.to_string()),
        call("c5", "DELETE", "/api/systemcontacts/{id}", Root, http("DELETE", format!("/api/systemcontacts/{}", x.system_contact)), x.system_contact.to_string()),
        call("c5", "POST", "/api/customercontacts/", A(Reseller), c5("POST", "/api/customercontacts/".into(), json!({"email": "tenanta-c3@mail.example"}).to_string()), "contact"),
        call("c5", "PUT", "/api/customercontacts/{id}", A(Reseller), c5("PUT", format!("/api/customercontacts/{}", x.contact), json!({"email": "tenanta-c4@mail.example"}).to_string()), x.contact.to_string()),
        call("c5", "PATCH", "/api/customercontacts/{id}", A(Reseller), c5("PATCH", format!("/api/customercontacts/{}", x.contact), patch("/email", json!("tenanta-c5@mail.example"))), x.contact.to_string()),
        call("c5", "POST", "/api/customers/", A(Reseller), c5("POST", "/api/customers/".into(), json!({"contact_id": x.contact, "status": "active", "type": "sipaccount", "billing_profile_id": a.billing_profile}).to_string()), "customer"),
        call("c5", "DELETE", "/api/customercontacts/{id}", A(Reseller), http("DELETE", format!("/api/customercontacts/{}", a.contact)), a.contact.to_string()),
        call("c5", "PUT", "/api/customers/{id}", A(Reseller), c5("PUT", format!("/api/customers/{}", a.customer), json!({"contact_id": x.contact, "status": "active", "type": "sipaccount", "billing_profile_id": a.billing_profile}).to_string()), a.customer.to_string()),
        call("c5", "PATCH", "/api/customers/{id}", A(Reseller), c5("PATCH", format!("/api/customers/{}", a.customer), patch("/status", json!("active"))), a.customer.to_string()),
        call("c5", "POST", "/api/domains/", A(Reseller), c5("POST", "/api/domains/".into(), json!({"domain": "tenanta3.example.net"}).to_string()), "domain"),
        call("c5", "DELETE", "/api/domains/{id}", A(Reseller), http("DELETE", format!("/api/domains/{}", x.domain)), x.domain.to_string()),
        call("c5", "POST", "/api/billingprofiles/", A(Reseller), c5("POST", "/api/billingprofiles/".into(), json!({"name": "tenanta-bp3", "handle": "tenanta-bp3"}).to_string()), "billing"),
        call("c5", "PUT", "/api/billingprofiles/{id}", A(Reseller), c5("PUT", format!("/api/billingprofiles/{}", x.billing_profile), json!({"name": "tenanta-bp2", "handle": "tenanta-bp2"}).to_string()), x.billing_profile.to_string()),
        call("c5", "PATCH", "/api/billingprofiles/{id}", A(Reseller), c5("PATCH", format!("/api/billingprofiles/{}", x.billing_profile), patch("/name", json!("tenanta-bp2b"))), x.billing_profile.to_string()),
        call("c5", "DELETE", "/api/billingprofiles/{id}", A(Reseller), http("DELETE", format!("/api/billingprofiles/{}", x.billing_profile)), x.billing_profile.to_string()),
        call("c5", "POST", "/api/subscribers/", A(Reseller), c5("POST", "/api/subscribers/".into(), json!({"customer_id": a.customer, "domain": a.domain, "username": "tenanta-carol", "password": "tenanta-carol-sip", "primary_number": {"cc": 49, "ac": 30, "sn": "5550178"}}).to_string()), "subscriber"),
        call("c5", "PUT", "/api/subscribers/{id}", A(Reseller), c5("PUT", format!("/api/subscribers/{}", x.subscriber), json!({"customer_id": a.customer, "domain": a.domain, "username": "tenanta-bob", "password": "tenanta-bob-sip2", "primary_number": {"cc": 49, "ac": 30, "sn": "5550177"}}).to_string()), x.subscriber.to_string()),
        call("c5", "PATCH", "/api/subscribers/{id}", A(Reseller), c5("PATCH", format!("/api/subscribers/{}", x.subscriber), patch("/display_name", json!("Bob"))), x.subscriber.to_string()),
        call("c5", "DELETE", "/api/subscribers/{id}", A(Reseller), http("DELETE", format!("/api/subscribers/{}", x.subscriber)), x.subscriber.to_string()),
        call("c5", "PUT", "/api/callforwards/{id}", A(Reseller), c5("PUT", format!("/api/callforwards/{sub}"), json!({"cfu": {"destinations": [{"destination": "voicebox"}]}}).to_string()), &sub),
        call("c5", "PATCH", "/api/callforwards/{id}", A(Reseller), c5("PATCH", format!("/api/callforwards/{sub}"), patch("/cfu", json!({"destinations": []}))), &sub),
        call("c5", "DELETE", "/api/callforwards/{id}", A(Reseller), http("DELETE", format!("/api/callforwards/{sub}")), &sub),
        call("c5", "PUT", "/api/subscriberpreferences/{id}", A(Reseller), c5("PUT", format!("/api/subscriberpreferences/{sub}"), json!({"clir": true}).to_string()), &sub),
        call("c5", "PATCH", "/api/subscriberpreferences/{id}", A(Reseller), c5("PATCH", format!("/api/subscriberpreferences/{sub}"), patch("/clir", json!(false))), &sub),
        call("c5", "POST", "/api/admincerts/", A(Reseller), http("POST", "/api/admincerts/"), ""),
        // sipXconfig SOAP, as A's reseller admin.
        call("sipx-soap", "CALL", "UserService.addUser", A(Reseller), soap("UserService", r#"<AddUser xmlns="NS"><user><userName>tenanta-dave</userName></user><pin>Dave-pin-1</pin></AddUser>"#), "account:"),
        call("sipx-soap", "CALL", "UserService.manageUser", A(Reseller), soap("UserService", &format!(r#"<ManageUser xmlns="NS"><search><byUserName>{}</byUserName></search><edit><property>lastName</property><value>Liddell</value></edit></ManageUser>"#, a.username)), format!("account:{}", a.subscriber)),
        call("sipx-soap", "CALL", "PhoneService.addPhone", A(Reseller), soap("PhoneService", &format!(r#"<AddPhone xmlns="NS"><phone><serialNumber>0004f2aaaaaa</serialNumber><modelId>polycom600</modelId><lines><userId>{}</userId></lines></phone></AddPhone>"#, a.username)), "phone:"),
        call("sipx-soap", "CALL", "PhoneService.managePhone", A(Reseller), soap("PhoneService", &format!(r#"<ManagePhone xmlns="NS"><search><bySerialNumber>{}</bySerialNumber></search><addGroup>desk</addGroup></ManagePhone>"#, a.phone_serial)), "phone:"),
        call("sipx-soap", "CALL", "CallGroupService.addCallGroup", A(Reseller), soap("CallGroupService", r#"<AddCallGroup xmlns="NS"><callGroup><name>tenanta-cg2</name><extension>391</extension></callGroup></AddCallGroup>"#), "call_group:"),
        call("sipx-soap", "CALL", "CallGroupService.manageCallGroup", A(Reseller), soap("CallGroupService", &format!(r#"<ManageCallGroup xmlns="NS"><name>{}</name><edit><property>description</property><value>E</value></edit></ManageCallGroup>"#, a.call_group)), "call_group:"),
        call("sipx-soap", "CALL", "ParkOrbitService.addParkOrbit", A(Reseller), soap("ParkOrbitService", r#"<AddParkOrbit xmlns="NS"><parkOrbit><name>tenanta-po</name><extension>492</extension></parkOrbit></AddParkOrbit>"#), "park_orbit:"),
        call("sipx-soap", "CALL", "PermissionService.addPermission", A(Reseller), soap("PermissionService", r#"<AddPermission xmlns="NS"><permission><label>tenanta-perm2</label></permission></AddPermission>"#), "permission:"),
        call("sipx-soap", "CALL", "PermissionService.managePermission", A(Reseller), soap("PermissionService", &format!(r#"<ManagePermission xmlns="NS"><search><byLabel>{}</byLabel></search><edit><property>description</property><value>E</value></edit></ManagePermission>"#, a.permission)), "permission:"),
        // sipXconfig REST, as A's subscriber.
        call("sipx", "PUT", "/sipxconfig/rest/my/forward", A(Subscriber), my("PUT", "forward", &mine("forward")), &me),
        call("sipx", "PUT", "/sipxconfig/rest/my/callfwd", A(Subscriber), my("PUT", "callfwd", &mine("callfwd")), &me),
        call("sipx", "PUT", "/sipxconfig/rest/my/contact-information", A(Subscriber), my("PUT", "contact-information", &mine("contact-information")), &me),
        call("sipx", "PUT", "/sipxconfig/rest/my/voicemail/pin/{pin}", A(Subscriber), my("PUT", "voicemail/pin/9753186420", ""), &me),
        call("sipx", "POST", "/sipxconfig/rest/my/phonebook", A(Subscriber), my("POST", "phonebook", &json!({"entry": {"first-name": "Eve", "last-name": "Doe", "number": "5557"}}).to_string()), &me),
        call("sipx", "PUT", "/sipxconfig/rest/my/phonebook/entry/{id}", A(Subscriber), my("PUT", &format!("phonebook/entry/{}", a.phonebook_entry), &json!({"entry": {"first-name": "Fay", "last-name": "Doe", "number": "5558"}}).to_string()), a.phonebook_entry.to_string()),
        call("sipx", "POST", "/sipxconfig/rest/my/phonebook/entry/{id}", A(Subscriber), my("POST", &format!("phonebook/entry/{}", a.phonebook_entry), &json!({"entry": {"first-name": "Gil", "last-name": "Doe", "number": "5559"}}).to_string()), a.phonebook_entry.to_string()),
        call("sipx", "DELETE", "/sipxconfig/rest/my/phonebook/entry/{id}", A(Subscriber), my("DELETE", &format!("phonebook/entry/{}", a.phonebook_entry), ""), a.phonebook_entry.to_string()),
        call("sipx", "DELETE", "/sipxconfig/rest/my/phonebook", A(Subscriber), my("DELETE", "phonebook", ""), &me),
        call("sipx", "PUT", "/sipxconfig/rest/my/conferences/{name}", A(Subscriber), my("PUT", &format!("conferences/{}", a.conference), &json!({"setting": {"description": "renamed"}}).to_string()), &a.conference),
        call("sipx", "PUT", "/sipxconfig/rest/my/call/{to}", A(Subscriber), my("PUT", "call/5551234", ""), &me),
        // SIP2SIP, as A's subscriber.
        call("sip2sip", "ACTION", "set_call_forwarding", A(Subscriber), settings("action=set_call_forwarding&FUNC=5551000"), &me),
        call("sip2sip", "ACTION", "set_dnd_on", A(Subscriber), settings("action=set_dnd_on"), &me),
        call("sip2sip", "ACTION", "set_dnd_off", A(Subscriber), settings("action=set_dnd_off"), &me),
        call("sip2sip", "ACTION", "set_privacy_on", A(Subscriber), settings("action=set_privacy_on"), &me),
        call("sip2sip", "ACTION", "set_privacy_off", A(Subscriber), settings("action=set_privacy_off"), &me),
        call("sip2sip", "ACTION", "add_alias", A(Subscriber), settings("action=add_alias&username=tenanta-alias"), &me),
        call("sip2sip", "ACTION", "put_journal_entries", A(Subscriber), settings("action=put_journal_entries&uuid=dev2&data=%5B%7B%22id%22%3A%22m2%22%2C%22data%22%3A%22x%22%7D%5D"), &me),
        call("sip2sip", "ACTION", "delete_journal_entries", A(Subscriber), settings(&format!("action=delete_journal_entries&journal_id={}", a.journal_id)), &me),
        call("sip2sip", "ACTION", "add_balance", A(Subscriber), settings(&format!("action=add_balance&id={}&number={}", x.voucher.0, x.voucher.1)), format!("account:{sub}")),
        // Feeds, as A's customer login.
        call("feed", "POST", "/feed/cdrs", A(Customer), http("POST", "/feed/cdrs").with(JSON_HEADERS, json!([{"call_id": "tenanta-call2", "account": format!("{}@{}", a.username, a.domain), "direction": "placed", "remote_party": "sip:1@example.org", "start_time": "2026-01-01T00:00:00Z", "duration": 1, "status": "200"}]).to_string()), ""),
        call("feed", "POST", "/feed/registrations", A(Customer), http("POST", "/feed/registrations").with(JSON_HEADERS, json!([{"account": format!("{}@{}", a.username, a.domain), "contact": "sip:x@192.0.2.1", "expires": 3600}]).to_string()), ""),
        // The admin page, as A's customer web login (root for root's pages).
        call("admin", "POST", "/admin/customers", A(Customer), page("/admin/customers", &format!("csrf={{csrf}}&parent={}&return_to=list&name=tenanta-web-sub&web_login=tenanta-web-sub&web_password=Web-sub-pw-1&api_password=", a.customer)), "customer"),
        call("admin", "POST", "/admin/customers/{id}/api-permission", A(Customer), page(&format!("/admin/customers/{}/api-permission", a.sub_customer), "csrf={csrf}&api_permission=on"), a.sub_customer.to_string()),
        call("admin", "POST", "/admin/customers/{id}/allow-api-calls", A(Customer), page(&format!("/admin/customers/{}/allow-api-calls", a.sub_customer), "csrf={csrf}&allow_api_calls=on"), a.sub_customer.to_string()),
        call("admin", "POST", "/admin/phonebooks", A(Customer), page("/admin/phonebooks", "csrf={csrf}&name=tenanta-book2&csv=%22A%22%2C%22B%22%2C%225550%22%0A"), "tenanta-book2"),
        call("admin", "POST", "/admin/preferences/allow-api-calls", A(Customer), page("/admin/preferences/allow-api-calls", "csrf={csrf}&allow_api_calls=on"), a.customer.to_string()),
        call("admin", "POST", "/admin/trusted-hosts", Root, page("/admin/trusted-hosts", "csrf={csrf}&network=192.0.2.0/24&description=lab"), "192.0.2.0/24"),
        call("admin", "POST", "/admin/trusted-hosts/remove", Root, page("/admin/trusted-hosts/remove", "csrf={csrf}&network=192.0.2.0/24"), "192.0.2.0/24"),
        call("admin", "POST", "/admin/vouchers", Root, page("/admin/vouchers", "csrf={csrf}&count=1&value=2&currency=USD"), ""),
        call("admin", "POST", "/admin/sign-in", A(Customer), http("POST", "/admin/sign-in").via(Via::AdminPage), ""),
        // Last: these change the credentials the calls above use.
        call("sipx", "PUT", "/sipxconfig/rest/my/portal/password/{password}", A(Subscriber), my("PUT", "portal/password/Portal-5318-new", ""), &me),
        call("admin", "POST", "/admin/preferences/api-password", A(Customer), page("/admin/preferences/api-password", "csrf={csrf}&api_password=New-api-pw-1&api_password_again=New-api-pw-1"), format!("customer:{}", a.customer)),
        call("admin", "POST", "/admin/preferences/web-password", A(Customer), page("/admin/preferences/web-password", "csrf={csrf}&current_password=tenanta-customer-web-pw&new_password=New-web-pw-1&new_password_again=New-web-pw-1"), format!("customer:{}", a.customer)),
        call("admin", "POST", "/admin/sign-out", A(Customer), page("/admin/sign-out", "csrf={csrf}"), ""),
    ]
}

/// The principal name and login id an audit row must carry for a caller.
fn expected_principal(w: &World, caller: Caller) -> (String, Option<i64>) {
    match caller {
        Caller::Root => ("root".into(), Some(1)),
        Caller::A(Who::Customer) => (w.a.customer_login.user.clone(), None),
        Caller::A(Who::Reseller) => (w.a.admin.user.clone(), Some(w.a.admin_id)),
        Caller::A(Who::Subscriber) => (format!("{}@{}", w.a.username, w.a.domain), None),
    }
}

fn send_as(
    w: &World,
    root: &Http,
    caller: Caller,
    dialect: &str,
    req: &Req,
) -> crate::isolation::Resp {
    match caller {
        Caller::A(who) if req.path == "/admin/sign-in" => w.fresh_sign_in(who),
        Caller::A(who) => w.send(who, dialect, req),
        Caller::Root if req.via == Via::AdminPage => w.root_page("POST", &req.path, &req.body),
        Caller::Root => root.send(
            Some(&Cred {
                user: "root".into(),
                password: ROOT_PASSWORD.into(),
            }),
            req.method,
            &req.path,
            req.headers,
            &req.body,
        ),
    }
}

/// Two tenants on a server with a loopback call controller that accepts one call (for
/// click-to-call), started by `launch`.
fn audit_world(launch: Launch) -> World {
    let (controller, _calls) = crate::sipx_rest::webhook(vec![(200, "ringing")]);
    let mut args = vec![
        "--ldaps-listen".to_string(),
        "127.0.0.1:0".into(),
        "--call-controller-url".into(),
        controller,
    ];
    args.extend(launch.args.iter().cloned());
    crate::isolation::world_on(Launch { args, ..launch }.spawn())
}

#[test]
fn every_mutating_route_writes_one_audit_row_naming_principal_and_target() {
    let w = audit_world(Launch::default());
    let root = Http::new(&w.app);
    let x = extras(&w);
    // The admin sessions exist before counting (signing in writes its own row).
    w.send(
        Who::Customer,
        "admin",
        &http("GET", "/admin/").via(Via::AdminPage),
    );
    w.root_page("GET", "/admin/", "");
    let calls = calls(&w, &x);
    let mutating: BTreeSet<(String, String, String)> = all_routes()
        .into_iter()
        .filter(|r| r.mutates)
        .map(|r| (r.dialect.to_string(), r.method.to_string(), r.route))
        .collect();
    let covered: BTreeSet<(String, String, String)> = calls
        .iter()
        .map(|c| {
            (
                c.dialect.to_string(),
                c.method.to_string(),
                c.route.to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = mutating.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "mutating routes without an audit check: {missing:#?}"
    );
    let stale: Vec<_> = covered.difference(&mutating).collect();
    assert!(
        stale.is_empty(),
        "audit checks for routes that are not mutating routes: {stale:#?}"
    );

    let mut failures = Vec::new();
    // A refused call (the matrix's aim at B): one refused row, nothing changed.
    let mut refused_checked = 0;
    for r in all_routes().iter().filter(|r| r.mutates) {
        let Some(Aim::Object(obj, req)) = aim(r) else {
            continue;
        };
        let who = crate::isolation::principals(r.dialect, &r.route)[0];
        let before = snapshot(&w.app);
        let mark = last_audit_id(&w);
        let target = obj.of(&w.b, w.system_contact);
        let resp = w.send(who, r.dialect, &req.aimed(&target));
        let rows = audit_rows(&w, mark);
        // A refused sign-in is a failed authentication.
        let refused: Vec<&Row> = rows
            .iter()
            .filter(|row| matches!(row.outcome.as_str(), "refused" | "failed_auth"))
            .collect();
        if refused.len() != 1 || rows.len() != 1 {
            failures.push(format!(
                "{} {} {} refused as {who:?}: {} rows ({} refused), answer {} {}: {rows:#?}",
                r.dialect,
                r.method,
                r.route,
                rows.len(),
                refused.len(),
                resp.status,
                resp.body
            ));
        }
        if snapshot(&w.app) != before {
            failures.push(format!(
                "{} {} {}: the refused call changed data",
                r.dialect, r.method, r.route
            ));
        }
        refused_checked += 1;
    }
    // One successful call each: exactly one ok row, with principal and target.
    for c in &calls {
        let mark = last_audit_id(&w);
        let resp = send_as(&w, &root, c.caller, c.dialect, &c.req);
        let ok = match c.dialect {
            "xmlrpc" => resp.status == 200 && common::fault_code(&resp.body).is_none(),
            "sip2sip" => resp.status == 200 && !resp.body.contains("\"success\":false"),
            "admin" => resp.status < 400,
            _ => resp.status < 300,
        };
        let rows = audit_rows(&w, mark);
        let name = format!("{} {} {} as {:?}", c.dialect, c.method, c.route, c.caller);
        if !ok {
            failures.push(format!(
                "{name}: not a success: {} {}",
                resp.status, resp.body
            ));
            continue;
        }
        let (principal, login_id) = expected_principal(&w, c.caller);
        let good: Vec<&Row> = rows
            .iter()
            .filter(|row| {
                row.outcome == "ok"
                    && row.dialect == c.dialect
                    && row.principal == principal
                    && login_id.is_none_or(|id| row.login_id == Some(id))
                    && row
                        .target
                        .to_ascii_lowercase()
                        .contains(&c.target.to_ascii_lowercase())
            })
            .collect();
        let events = if TWO_EVENTS.contains(&c.route) { 2 } else { 1 };
        if rows.len() != events || good.len() != 1 {
            failures.push(format!(
                "{name}: want one ok row by {principal} ({login_id:?}) on '{}', got {rows:#?}",
                c.target
            ));
        }
    }
    eprintln!(
        "audit completeness: {} mutating routes, {} successful calls, {refused_checked} refused calls checked",
        mutating.len(),
        calls.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every secret the calls and the set-up send, in the forms a leak could take: as given, as
/// Digest HA1 (MD5 and SHA-256, in the API realm and the subscriber's domain), and in base64
/// (alone and as Basic's `user:password`).
fn secret_forms(user_secrets: &[(&str, &str)], realms: &[&str]) -> Vec<(String, String)> {
    use base64::Engine as _;
    use switchyard::auth::digest::{Algorithm, ha1};
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for (user, secret) in user_secrets {
        out.push(((*secret).to_string(), format!("{secret} as given")));
        out.push((b64.encode(secret), format!("{secret} in base64")));
        out.push((
            b64.encode(format!("{user}:{secret}")),
            format!("{user}:{secret} in base64"),
        ));
        for realm in realms {
            for alg in [Algorithm::Md5, Algorithm::Sha256] {
                out.push((
                    ha1(alg, user, realm, secret),
                    format!("HA1 of {user}:{realm}:{secret}"),
                ));
            }
        }
    }
    out
}

#[test]
fn no_secret_reaches_the_audit_log_or_the_debug_log() {
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("server.log");
    let w = audit_world(Launch {
        env: vec![("SWITCHYARD_LOG", "debug")],
        stderr: Some(std::fs::File::create(&log_path).unwrap()),
        ..Launch::default()
    });
    let root = Http::new(&w.app);
    let x = extras(&w);
    w.send(
        Who::Customer,
        "admin",
        &http("GET", "/admin/").via(Via::AdminPage),
    );
    w.root_page("GET", "/admin/", "");
    // Secrets that exist only in answers: a private user key, a client certificate's key,
    // vouchers' numbers.
    let details = w.send(
        Who::Subscriber,
        "sipx",
        &http("GET", "/sipxconfig/rest/my/logindetails")
            .with(&[("accept", "application/json")], ""),
    );
    let key =
        serde_json::from_str::<Value>(&details.body).unwrap()["login-details"]["privateUserKey"]
            .as_str()
            .unwrap_or_else(|| panic!("no key in {}", details.body))
            .to_string();
    let mut answer_secrets = vec![(key.clone(), "a private user key".to_string())];
    // Using the key (in the path) is a secret-bearing request too.
    let r = w.http.send(
        None,
        "GET",
        &format!("/sipxconfig/rest/private/{key}/forward"),
        &[],
        "",
    );
    assert_eq!(r.status, 200, "private key: {}", r.body);
    let vouchers = w.root_page(
        "POST",
        "/admin/vouchers",
        "csrf={csrf}&count=2&value=1&currency=USD",
    );
    for number in vouchers
        .body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| n.len() >= 12)
    {
        answer_secrets.push((number.to_string(), "a voucher number shown once".into()));
    }
    answer_secrets.push((x.voucher.1.clone(), "a voucher number from the CLI".into()));
    let mut client_keys = 0;
    for c in calls(&w, &x) {
        let resp = send_as(&w, &root, c.caller, c.dialect, &c.req);
        if c.route == "/api/admincerts/" {
            // The zip's entries are stored, so the key's PEM is in the bytes: take its lines.
            let pem = resp
                .body
                .split("-----BEGIN PRIVATE KEY-----")
                .nth(1)
                .and_then(|rest| rest.split("-----END").next())
                .unwrap_or_else(|| panic!("no key in the admincerts answer"));
            for line in pem.lines().map(str::trim).filter(|l| l.len() >= 40) {
                answer_secrets.push((
                    line.to_string(),
                    "a client certificate's private key".into(),
                ));
                client_keys += 1;
            }
        }
    }
    assert!(
        client_keys > 0 && answer_secrets.len() >= 4,
        "{answer_secrets:?}"
    );
    let a = &w.a;
    let sub_user = format!("{}@{}", a.username, a.domain);
    let sent: Vec<(&str, &str)> = vec![
        (&a.customer_login.user, &a.customer_login.password),
        (&a.customer_login.user, "tenanta-customer-web-pw"),
        (&a.customer_login.user, "New-api-pw-1"),
        (&a.customer_login.user, "New-web-pw-1"),
        ("tenanta-sub", "tenanta-sub-web-pw"),
        (&a.admin.user, &a.admin.password),
        ("tenanta-admin2", "tenanta-admin2-pw"),
        ("tenanta-admin2", "tenanta-admin2-pw2"),
        ("tenanta-admin3", "tenanta-admin3-pw"),
        (&a.username, "tenanta-alice-sip-pw"),
        (&sub_user, "tenanta-alice-web-pw"),
        (&sub_user, crate::isolation::PIN),
        (&sub_user, "9753186420"),
        (&sub_user, "Portal-5318-new"),
        ("tenanta-bob", "tenanta-bob-sip"),
        ("tenanta-bob", "tenanta-bob-sip2"),
        ("tenanta-carol", "tenanta-carol-sip"),
        ("tenanta-dave", "Dave-pin-1"),
        ("tenanta-web-sub", "Web-sub-pw-1"),
        ("tenanta-extra-sub", "Extra-web-pw-1"),
        ("tenanta-new-sub", "New-web-pw-1"),
        ("root", ROOT_PASSWORD),
    ];
    let mut secrets = secret_forms(&sent, &["switchyard", &a.domain]);
    secrets.extend(answer_secrets);
    let (_, dir) = {
        let World { app, .. } = w;
        app.stop()
    };
    let rows = {
        let db = rusqlite::Connection::open_with_flags(
            dir.path().join("switchyard.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = db
            .prepare(
                "SELECT id || '|' || at || '|' || event || '|' || outcome || '|' || principal \
                 || '|' || ifnull(login_id, '') || '|' || auth_method || '|' || \
                 ifnull(peer_ip, '') || '|' || ifnull(user_ip, '') || '|' || \
                 ifnull(user_agent, '') || '|' || ifnull(action_by, '') || '|' || dialect || \
                 '|' || method || '|' || target || '|' || detail FROM audit_log",
            )
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<String>>()
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    // The scan can see: every request is in the log, and the audit rows name what was sent.
    assert!(
        log.contains("/settings.phtml") && log.contains("/sipxconfig/rest/my/voicemail/pin/"),
        "the debug log does not show the requests: {log}"
    );
    assert!(
        rows.iter().any(|r| r.contains("tenanta-carol")),
        "{rows:#?}"
    );
    let mut found = Vec::new();
    for (secret, what) in &secrets {
        if let Some(row) = rows.iter().find(|r| r.contains(secret.as_str())) {
            found.push(format!("{what} in audit row {row}"));
        }
        if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
            found.push(format!("{what} in the log: {line}"));
        }
    }
    eprintln!(
        "secrets: {} forms of {} secrets scanned in {} audit rows and {} log lines",
        secrets.len(),
        sent.len(),
        rows.len(),
        log.lines().count()
    );
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}
