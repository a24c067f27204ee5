//! sipXconfig-style SOAP at `/sipxconfig/services/*` against the real server: zeep and
//! SOAP::Lite clients built from the served WSDL, one model with C5 and XML-RPC, every answer
//! checked against the WSDL (read here with quick-xml, independently of the server's reader), and
//! bad input answered with SOAP faults that change nothing.

use std::collections::{HashMap, HashSet};
use std::process::Command;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::c5::{ROOT, api};
use crate::clients::run_client;
use crate::common::{self, ROOT_PASSWORD, TestApp, call_xml, curl_post, member_string};

const NS: &str = "http://www.sipfoundry.org/2007/08/21/ConfigService";
const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

struct Reply {
    status: u16,
    body: String,
}

/// POSTs a SOAP body (wrapped in an Envelope with prefix `s`) to a port, as root over HTTPS with
/// Basic, like sipXconfig's superadmin.
fn soap(app: &TestApp, port: &str, body: &str) -> Reply {
    raw(
        app,
        port,
        &format!(r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{body}</s:Body></s:Envelope>"#),
    )
}

fn raw(app: &TestApp, port: &str, envelope: &str) -> Reply {
    raw_as(app, ("root", ROOT_PASSWORD), port, envelope)
}

fn soap_as(app: &TestApp, login: (&str, &str), port: &str, body: &str) -> Reply {
    raw_as(
        app,
        login,
        port,
        &format!(r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{body}</s:Body></s:Envelope>"#),
    )
}

fn raw_as(app: &TestApp, (login, password): (&str, &str), port: &str, envelope: &str) -> Reply {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, envelope).unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--cacert"])
        .arg(app.ca_file())
        .args(["-u", &format!("{login}:{password}")])
        .args([
            "-H",
            "Content-Type: text/xml; charset=utf-8",
            "-H",
            "SOAPAction: \"\"",
        ])
        .args(["-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", data.display()))
        .arg(format!("{}/sipxconfig/services/{port}", app.https));
    let (code, out, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    let (body, status) = out.rsplit_once('\n').unwrap();
    Reply {
        status: status.trim().parse().unwrap(),
        body: body.to_string(),
    }
}

fn add_user(name: &str, extra: &str) -> String {
    format!(
        r#"<c:AddUser xmlns:c="{NS}"><c:user><c:userName>{name}</c:userName>{extra}</c:user><c:pin>Pin-Secret-9</c:pin></c:AddUser>"#
    )
}

fn find_by_name(name: &str) -> String {
    format!(r#"<FindUser xmlns="{NS}"><search><byUserName>{name}</byUserName></search></FindUser>"#)
}

/// The faultcode and faultstring of a fault answer.
fn fault(reply: &Reply) -> (String, String) {
    let pick = |tag: &str| {
        let start = reply
            .body
            .find(&format!("<{tag}>"))
            .map(|i| i + tag.len() + 2);
        let end = reply.body.find(&format!("</{tag}>"));
        match (start, end) {
            (Some(s), Some(e)) => reply.body[s..e]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
            _ => panic!("not a fault ({}): {}", reply.status, reply.body),
        }
    };
    assert_eq!(reply.status, 500, "{}", reply.body);
    (pick("faultcode"), pick("faultstring"))
}

#[test]
fn zeep_from_the_wsdl_adds_finds_manages_and_deletes_users() {
    let app = TestApp::spawn();
    run_client(
        &app,
        "python3",
        &["tests/clients/sipx_zeep.py", "users"],
        "ok users",
    );
}

#[test]
fn zeep_manages_phones_call_groups_park_orbits_and_permissions() {
    let app = TestApp::spawn();
    run_client(
        &app,
        "python3",
        &["tests/clients/sipx_zeep.py", "features"],
        "ok features",
    );
}

#[test]
fn soap_lite_adds_finds_and_manages_users() {
    let app = TestApp::spawn();
    run_client(
        &app,
        "perl",
        &["tests/clients/sipx_soap_lite.pl", "users"],
        "ok users",
    );
}

#[test]
fn a_soap_user_is_a_c5_subscriber_and_an_xmlrpc_account() {
    let app = TestApp::spawn();
    let extra = "<c:lastName>Shared</c:lastName><c:firstName>Sam</c:firstName>\
                 <c:sipPassword>Sip-Secret-7</c:sipPassword><c:aliases>4242</c:aliases>";
    let r = soap(&app, "UserService", &add_user("samshared", extra));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<soap:Body></soap:Body>") || r.body.contains("<soap:Body/>"));

    let list = api(
        &app,
        ROOT,
        "GET",
        "/api/subscribers/?username=samshared",
        &[],
        None,
    );
    assert_eq!(list.status, 200, "{}", list.body);
    let doc = list.json();
    // HAL embeds a single item as an object.
    let sub = &doc["_embedded"]["ngcp:subscribers"];
    assert_eq!(doc["total_count"], 1, "{doc}");
    let id = sub["id"].as_i64().unwrap();
    assert_eq!(sub["username"], "samshared");
    assert!(
        !list.body.contains("Sip-Secret-7"),
        "the SIP password never shows"
    );

    let (status, body) = curl_post(
        &app.xmlrpc_https(),
        ROOT,
        &call_xml(
            "getAccountInfo",
            &[("i_account", &format!("<int>{id}</int>"))],
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(
        member_string(&body, "username").as_deref(),
        Some("samshared"),
        "{body}"
    );
    assert_eq!(
        member_string(&body, "first_name").as_deref(),
        Some("Sam"),
        "{body}"
    );

    // A change made through XML-RPC shows in findUser.
    let (status, body) = curl_post(
        &app.xmlrpc_https(),
        ROOT,
        &call_xml(
            "updateAccount",
            &[
                ("i_account", &format!("<int>{id}</int>")),
                ("username", "<string>samrenamed</string>"),
                ("first_name", "<string>Samuel</string>"),
            ],
        ),
    );
    assert!(status == 200 && !body.contains("faultCode"), "{body}");
    let found = soap(&app, "UserService", &find_by_name("samrenamed"));
    assert!(
        found.body.contains("<ns1:aliases>4242</ns1:aliases>"),
        "{}",
        found.body
    );
    assert!(
        found.body.contains("<ns1:firstName>Samuel</ns1:firstName>"),
        "{}",
        found.body
    );

    let out = app.cli(&["audit", "tail", "-n", "20"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("UserService.addUser") && log.contains("***"),
        "{log}"
    );
    assert!(
        !log.contains("Sip-Secret-7") && !log.contains("Pin-Secret-9"),
        "secrets masked: {log}"
    );
}

#[test]
fn a_reseller_admin_sees_and_changes_only_its_own_users() {
    let app = TestApp::spawn();
    assert_eq!(
        soap(&app, "UserService", &add_user("rootuser", "")).status,
        200
    );
    let reseller = crate::c5::create(
        &app,
        "resellers",
        &serde_json::json!({"name": "soap-reseller", "status": "active"}),
    );
    crate::c5::create(
        &app,
        "admins",
        &serde_json::json!({"login": "soap-admin", "password": "soap-pw", "reseller_id": reseller}),
    );
    let admin = ("soap-admin", "soap-pw");
    let r = soap_as(
        &app,
        admin,
        "UserService",
        &add_user("reselleruser", "<c:groups>team</c:groups>"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let all = format!(r#"<FindUser xmlns="{NS}"><search/></FindUser>"#);
    let seen = soap_as(&app, admin, "UserService", &all).body;
    assert!(
        seen.contains("reselleruser") && !seen.contains("rootuser"),
        "{seen}"
    );
    let by_root = soap(&app, "UserService", &all).body;
    assert!(
        by_root.contains("reselleruser") && by_root.contains("rootuser"),
        "{by_root}"
    );
    // Root's user is "not found" for the reseller's admin, and stays as it was.
    let delete = format!(
        r#"<ManageUser xmlns="{NS}"><search><byUserName>rootuser</byUserName></search><deleteUser>true</deleteUser></ManageUser>"#
    );
    let (code, message) = fault(&soap_as(&app, admin, "UserService", &delete));
    assert_eq!(code, "soap:Client");
    assert!(message.contains("not found"), "{message}");
    assert!(
        soap(&app, "UserService", &find_by_name("rootuser"))
            .body
            .contains("rootuser")
    );
    // The C5 view agrees: the reseller's user is below the reseller.
    let sub = api(
        &app,
        Some(admin),
        "GET",
        "/api/subscribers/?username=reselleruser",
        &[],
        None,
    );
    assert_eq!(sub.json()["total_count"], 1, "{}", sub.body);
}

/// A minimal reader of the WSDL's schema: complex type → declared children (name → type).
fn wsdl_types(
    wsdl: &str,
) -> (
    HashMap<String, String>,
    HashMap<String, HashMap<String, String>>,
) {
    let mut reader = NsReader::from_str(wsdl);
    reader.config_mut().expand_empty_elements = true;
    let (mut elements, mut types) = (HashMap::new(), HashMap::new());
    let mut current: Option<String> = None;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| a.value.to_string())
    };
    let strip = |t: String| t.rsplit(':').next().unwrap().to_string();
    loop {
        match reader.read_resolved_event().unwrap() {
            (ResolveResult::Bound(ns), Event::Start(e))
                if ns.0 == "http://www.w3.org/2001/XMLSchema" =>
            {
                match e.local_name().as_ref() {
                    "complexType" => {
                        let name = attr(&e, "name").unwrap();
                        types.insert(name.clone(), HashMap::new());
                        current = Some(name);
                    }
                    "element" => {
                        let (name, ty) =
                            (attr(&e, "name").unwrap(), strip(attr(&e, "type").unwrap()));
                        match &current {
                            Some(t) => {
                                types.get_mut(t).unwrap().insert(name, ty);
                            }
                            None => {
                                elements.insert(name, ty);
                            }
                        }
                    }
                    _ => {}
                }
            }
            (ResolveResult::Bound(ns), Event::End(e))
                if ns.0 == "http://www.w3.org/2001/XMLSchema"
                    && e.local_name().as_ref() == "complexType" =>
            {
                current = None;
            }
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    (elements, types)
}

/// Checks that every element of an answer body is declared where it appears.
fn check_against_wsdl(
    body: &str,
    elements: &HashMap<String, String>,
    types: &HashMap<String, HashMap<String, String>>,
    seen: &mut HashSet<(String, String)>,
) {
    let mut reader = NsReader::from_str(body);
    reader.config_mut().expand_empty_elements = true;
    // The type of each open element in the body; None outside the body.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut in_body = false;
    loop {
        match reader.read_resolved_event().unwrap() {
            (ns, Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                if !in_body {
                    if matches!(ns, ResolveResult::Bound(n) if n.0 == SOAP_ENV) && name == "Body" {
                        in_body = true;
                        stack.clear();
                    }
                    stack.push(None);
                    continue;
                }
                assert!(
                    matches!(ns, ResolveResult::Bound(n) if n.0 == NS),
                    "<{name}> is not in the service namespace: {body}"
                );
                let ty = match stack.last().cloned().flatten() {
                    None if stack.len() == 1 => elements
                        .get(&name)
                        .unwrap_or_else(|| panic!("body element <{name}> not declared: {body}"))
                        .clone(),
                    None => panic!("<{name}> inside a simple element: {body}"),
                    Some(parent) => {
                        seen.insert((parent.clone(), name.clone()));
                        types[&parent]
                            .get(&name)
                            .unwrap_or_else(|| panic!("<{name}> not declared in {parent}: {body}"))
                            .clone()
                    }
                };
                stack.push(types.contains_key(&ty).then_some(ty));
            }
            (_, Event::End(_)) => {
                stack.pop();
                if stack.is_empty() {
                    in_body = false;
                }
            }
            (_, Event::Eof) => break,
            _ => {}
        }
    }
}

#[test]
fn every_answer_element_is_declared_in_the_served_wsdl() {
    let app = TestApp::spawn();
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--cacert"]).arg(app.ca_file()).arg(format!(
        "{}/sipxconfig/services/SystemService?wsdl",
        app.https
    ));
    let (_, wsdl, _) = common::run(&mut cmd);
    assert!(wsdl.contains("ConfigImplService") && !wsdl.contains("TestService"));
    assert!(wsdl.contains(&format!(
        "location=\"{}/sipxconfig/services/UserService\"",
        app.https
    )));
    let (elements, types) = wsdl_types(&wsdl);
    let full = "<c:lastName>L</c:lastName><c:firstName>F</c:firstName><c:aliases>5551</c:aliases>\
                <c:aliases>5552</c:aliases><c:emailAddress>w@example.org</c:emailAddress>\
                <c:groups>g1</c:groups><c:groups>g2</c:groups><c:permissions>Voicemail</c:permissions>\
                <c:branchName>B</c:branchName>";
    assert_eq!(
        soap(&app, "UserService", &add_user("wsdlfull", full)).status,
        200
    );
    assert_eq!(
        soap(&app, "UserService", &add_user("wsdlbare", "")).status,
        200
    );
    let mut seen = HashSet::new();
    let c = |body: &str| body.replace("C_NS", NS);
    let calls: Vec<(&str, String)> = vec![
        (
            "UserService",
            format!(r#"<FindUser xmlns="{NS}"><search/></FindUser>"#),
        ),
        ("UserService", find_by_name("wsdlfull")),
        (
            "UserService",
            c(
                r#"<c:ManageUser xmlns:c="C_NS"><c:search><c:byUserName>wsdlbare</c:byUserName></c:search><c:edit><c:property>lastName</c:property><c:value>Bare</c:value></c:edit></c:ManageUser>"#,
            ),
        ),
        ("SystemService", format!(r#"<SystemInfo xmlns="{NS}"/>"#)),
        (
            "PhoneService",
            c(
                r#"<c:AddPhone xmlns:c="C_NS"><c:phone><c:serialNumber>0004f2aabbcc</c:serialNumber><c:modelId>polycom600</c:modelId><c:description>D</c:description><c:groups>pg</c:groups><c:lines><c:userId>wsdlfull</c:userId></c:lines></c:phone></c:AddPhone>"#,
            ),
        ),
        (
            "PhoneService",
            c(
                r#"<c:ManagePhone xmlns:c="C_NS"><c:search><c:byGroup>pg</c:byGroup></c:search><c:addExternalLine><c:userId>ext</c:userId><c:registrationServer>example.net</c:registrationServer></c:addExternalLine><c:generateProfiles>true</c:generateProfiles></c:ManagePhone>"#,
            ),
        ),
        (
            "PhoneService",
            c(r#"<c:FindPhone xmlns:c="C_NS"><c:search/></c:FindPhone>"#),
        ),
        (
            "CallGroupService",
            c(
                r#"<c:AddCallGroup xmlns:c="C_NS"><c:callGroup><c:name>cg</c:name><c:extension>300</c:extension><c:description>D</c:description><c:rings><c:expiration>5</c:expiration><c:type>delayed</c:type><c:position>0</c:position><c:userName>wsdlfull</c:userName></c:rings></c:callGroup></c:AddCallGroup>"#,
            ),
        ),
        (
            "CallGroupService",
            c(
                r#"<c:ManageCallGroup xmlns:c="C_NS"><c:name>cg</c:name><c:edit><c:property>description</c:property><c:value>E</c:value></c:edit></c:ManageCallGroup>"#,
            ),
        ),
        (
            "CallGroupService",
            c(r#"<c:GetCallGroups xmlns:c="C_NS"/>"#),
        ),
        (
            "ParkOrbitService",
            c(
                r#"<c:AddParkOrbit xmlns:c="C_NS"><c:parkOrbit><c:name>po</c:name><c:extension>400</c:extension><c:description>D</c:description></c:parkOrbit></c:AddParkOrbit>"#,
            ),
        ),
        (
            "ParkOrbitService",
            c(r#"<c:GetParkOrbits xmlns:c="C_NS"/>"#),
        ),
        (
            "PermissionService",
            c(
                r#"<c:AddPermission xmlns:c="C_NS"><c:permission><c:label>L</c:label><c:description>D</c:description></c:permission></c:AddPermission>"#,
            ),
        ),
        (
            "PermissionService",
            c(
                r#"<c:ManagePermission xmlns:c="C_NS"><c:search><c:byLabel>L</c:byLabel></c:search><c:edit><c:property>defaultValue</c:property><c:value>true</c:value></c:edit></c:ManagePermission>"#,
            ),
        ),
        (
            "PermissionService",
            c(r#"<c:FindPermission xmlns:c="C_NS"><c:search/></c:FindPermission>"#),
        ),
        (
            "UserService",
            c(
                r#"<c:AddUser xmlns:c="C_NS"><c:user><c:userName>wsdlthird</c:userName></c:user><c:pin>1</c:pin><c:vmpin>2</c:vmpin></c:AddUser>"#,
            ),
        ),
    ];
    let mut called = HashSet::new();
    for (port, body) in &calls {
        let r = soap(&app, port, body);
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        check_against_wsdl(&r.body, &elements, &types, &mut seen);
        let element = body
            .split(['<', ' ', '>', '/'])
            .find(|t| !t.is_empty())
            .unwrap();
        called.insert(element.trim_start_matches("c:").to_string());
    }
    // Every operation the WSDL declares was called and answered.
    let declared: HashSet<String> = wsdl
        .split("<wsdl:part name=\"parameters\" element=\"tns:")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .filter(|e| !e.ends_with("Response"))
        .collect();
    assert_eq!(called, declared);
    // The full user exercised every field of User.
    for field in types["User"].keys().filter(|f| *f != "sipPassword") {
        assert!(
            seen.contains(&("User".into(), field.clone())),
            "User.{field} never emitted"
        );
    }
}

#[test]
fn bad_input_is_a_soap_fault_and_changes_nothing() {
    let app = TestApp::spawn();
    assert_eq!(
        soap(&app, "UserService", &add_user("keeper", "")).status,
        200
    );
    let before = soap(
        &app,
        "UserService",
        &format!(r#"<FindUser xmlns="{NS}"><search/></FindUser>"#),
    )
    .body;
    let cases: Vec<(String, &str)> = vec![
        (
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><Find"
                .into(),
            "well-formed",
        ),
        (
            format!(
                "<!DOCTYPE x [<!ENTITY e \"e\">]><s:Envelope xmlns:s=\"{SOAP_ENV}\"><s:Body/></s:Envelope>"
            ),
            "DTD",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><AddUser xmlns="urn:wrong"><user><userName>x</userName></user><pin>1</pin></AddUser></s:Body></s:Envelope>"#
            ),
            "not an operation",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><DropTables xmlns="{NS}"/></s:Body></s:Envelope>"#
            ),
            "not an operation",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><SystemInfo xmlns="{NS}"/></s:Body></s:Envelope>"#
            ),
            "operation of SystemService",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><AddUser xmlns="{NS}"><user><userName>x</userName><shoeSize>9</shoeSize></user><pin>1</pin></AddUser></s:Body></s:Envelope>"#
            ),
            "shoeSize",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><AddUser xmlns="{NS}"><user><userName>x</userName></user></AddUser></s:Body></s:Envelope>"#
            ),
            "<pin> is missing",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{}</s:Body></s:Envelope>"#,
                add_user("bad user", "")
            ),
            "userName",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{}</s:Body></s:Envelope>"#,
                add_user("x", "<c:permissions>Teleport</c:permissions>")
            ),
            "Teleport",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><ManageUser xmlns="{NS}"><search><byUserName>ghost</byUserName></search><deleteUser>true</deleteUser></ManageUser></s:Body></s:Envelope>"#
            ),
            "not found",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><ManageUser xmlns="{NS}"><search><byUserName>keeper</byUserName></search><deleteUser>perhaps</deleteUser></ManageUser></s:Body></s:Envelope>"#
            ),
            "true or false",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><ManageUser xmlns="{NS}"><search><byUserName>keeper</byUserName></search><edit><property>firstName</property><value>Z</value></edit><edit><property>shoe</property><value>9</value></edit></ManageUser></s:Body></s:Envelope>"#
            ),
            "shoe",
        ),
        (
            format!(
                r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Header><h:Trace xmlns:h="urn:h" s:mustUnderstand="1"/></s:Header><s:Body>{}</s:Body></s:Envelope>"#,
                add_user("x", "")
            ),
            "not understood",
        ),
        (
            r#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>"#
                .into(),
            "SOAP 1.1",
        ),
        (add_user("x", ""), "not a SOAP Envelope"),
    ];
    for (envelope, needle) in &cases {
        let r = raw(&app, "UserService", envelope);
        let (code, message) = fault(&r);
        assert!(code.starts_with("soap:"), "{code}");
        assert_ne!(code, "soap:Server", "{envelope}: {message}");
        assert!(
            message.contains(needle),
            "{envelope}: '{message}' lacks '{needle}'"
        );
    }
    // Nothing was written, and the server still serves.
    let after = soap(
        &app,
        "UserService",
        &format!(r#"<FindUser xmlns="{NS}"><search/></FindUser>"#),
    )
    .body;
    assert_eq!(before, after);
    assert!(after.contains("keeper") && !after.contains(">x<"));
    // No service by that name, no WSDL for TestService, GET without ?wsdl.
    let status =
        |url: String| common::http_status(&["--cacert", app.ca_file().to_str().unwrap(), &url]);
    assert_eq!(
        status(format!(
            "{}/sipxconfig/services/TestService?wsdl",
            app.https
        )),
        "404"
    );
    assert_eq!(
        status(format!("{}/sipxconfig/services/UserService", app.https)),
        "405"
    );
    // Without credentials: a challenge, not a fault.
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(app.ca_file())
        .args(["--data-binary", "<x/>"])
        .arg(format!("{}/sipxconfig/services/UserService", app.https));
    assert_eq!(common::run(&mut cmd).1, "401");
}
