//! The admin page, driven the way an operator uses it: a real headless Chromium through
//! chromedriver (WebDriver), against the real server over HTTPS with its self-signed certificate.
//! Security properties are checked with curl. Screenshots of every page, at a laptop's and a
//! phone's width, go to `target/admin-screenshots/`.
//!
//! Without Debian's `chromium` and `chromium-driver` the browser tests fail (they are never
//! skipped); `scripts/test.sh` installs both.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;

use crate::common::{
    Launch, ROOT_PASSWORD, TestApp, call_xml, curl_post, fault_code, member_int, run,
};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// A laptop's and a phone's viewport width, for screenshots.
const WIDTHS: [u32; 2] = [1280, 390];

// ---------------------------------------------------------------------------------------------
// Setting up data through the XML-RPC API (the page must show what the API made, and the other
// way round).

/// Creates a customer as root over XML-RPC, below `parent` (root when None); returns its id.
pub(crate) fn create_customer(
    app: &TestApp,
    name: &str,
    web_password: &str,
    api_password: &str,
    parent: Option<i64>,
    api_permission: bool,
) -> i64 {
    let parent = parent.map(|p| format!("<int>{p}</int>"));
    let mut members = vec![
        ("name", format!("<string>{name}</string>")),
        ("web_password", format!("<string>{web_password}</string>")),
        ("api_password", format!("<string>{api_password}</string>")),
        ("i_tariff", "<nil/>".to_string()),
        ("api_access", "<int>1</int>".to_string()),
        (
            "api_permission",
            format!("<boolean>{}</boolean>", u8::from(api_permission)),
        ),
    ];
    if let Some(p) = parent {
        members.push(("i_wholesaler", p));
    }
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml("createCustomer", &refs),
    );
    assert_eq!(status, 200, "{body}");
    member_int(&body, "i_customer").unwrap_or_else(|| panic!("createCustomer: {body}"))
}

/// An XML-RPC call as `login`: Ok(body) or Err(fault text).
fn api_call(app: &TestApp, login: &str, password: &str) -> Result<String, String> {
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some((login, password)),
        &call_xml("listAccounts", &[]),
    );
    match (status, fault_code(&body)) {
        (200, None) => Ok(body),
        _ => Err(format!("HTTP {status}: {body}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The browser.

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Where screenshots go: `target/admin-screenshots/` beside the binary under test.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(crate::common::binary())
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("admin-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// A headless Chromium with its chromedriver. However the test ends, the WebDriver session is
/// deleted (chromedriver then quits Chromium) and chromedriver itself is ended, by its id.
struct Browser {
    client: Client,
    base: String,
    driver: Child,
    driver_port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(app: &TestApp) -> Self {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: install Debian's {package} (scripts/test.sh does)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_string(),
            // Root in a container: Chromium's sandbox needs user namespaces we may not have.
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            // The server's certificate is self-signed.
            "--ignore-certificate-errors".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = serde_json::from_value(json!({
            "acceptInsecureCerts": true,
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }))
        .expect("capabilities");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a WebDriver session with chromium");
        let session = client.session_id().await.expect("session id");
        Self {
            client,
            base: app.https.clone(),
            driver,
            driver_port: port,
            session,
            _profile: profile,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The visible text of the page (empty while a new page is still loading).
    async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page shows `needle` (after a click that navigates).
    async fn wait_for_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the page at {} never showed {needle:?}; it shows:\n{text}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The form control whose `<label>` reads exactly `label`.
    async fn by_label(&self, label: &str) -> Element {
        let xpath = format!("//*[@id = //label[normalize-space(.) = '{label}']/@for]");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no control labelled {label:?}: {e}"))
    }

    async fn fill(&self, label: &str, value: &str) {
        let field = self.by_label(label).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks the submit button of the form holding the control labelled `label`.
    async fn submit_form_of(&self, label: &str) {
        let field = self.by_label(label).await;
        let button = field
            .find(Locator::XPath("./ancestor::form//button[@type='submit']"))
            .await
            .unwrap_or_else(|e| panic!("no submit button in the form of {label:?}: {e}"));
        button.click().await.expect("submit");
    }

    /// Ticks or clears the check-box labelled `label` and saves its form.
    async fn set_checkbox(&self, label: &str, on: bool) {
        let checkbox = self.by_label(label).await;
        assert_eq!(
            checkbox.attr("type").await.unwrap().as_deref(),
            Some("checkbox")
        );
        if checkbox.is_selected().await.unwrap() != on {
            checkbox.click().await.expect("click the check-box");
        }
        self.submit_form_of(label).await;
    }

    async fn is_checked(&self, label: &str) -> bool {
        self.by_label(label).await.is_selected().await.unwrap()
    }

    async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
            .click()
            .await
            .expect("follow the link");
    }

    async fn click_button(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.) = '{text}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn sign_in(&self, login: &str, password: &str) {
        self.goto("/admin/").await;
        self.fill("Login", login).await;
        self.fill("Password", password).await;
        self.submit_form_of("Password").await;
    }

    /// Saves the whole page at each width as `<name>-<width>.png`.
    async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        for width in WIDTHS {
            self.client
                .set_window_size(width, 900)
                .await
                .expect("resize");
            let height = self
                .client
                .execute("return document.documentElement.scrollHeight", vec![])
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(900);
            let height = u32::try_from(height.clamp(600, 4000)).unwrap_or(900);
            self.client
                .set_window_size(width, height + 120)
                .await
                .expect("resize");
            let png = self.client.screenshot().await.expect("screenshot");
            assert!(png.starts_with(b"\x89PNG"), "not a PNG");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("save");
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resize");
    }

    /// Ends the WebDriver session (Chromium quits); dropping the browser ends chromedriver.
    async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
    }
}

/// Deletes a WebDriver session with a plain blocking request, so that it works in `Drop` while a
/// failed test unwinds: chromedriver then quits the Chromium it started.
fn delete_session(port: u16, session: &str) {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            delete_session(self.driver_port, &session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// In the browser.

/// The seed's story: the parent ticks a sub-customer's API box in the page, and the XML-RPC call
/// that failed succeeds at once; cleared again, it fails with the reason. The same for the
/// customer's own Allow API Calls. The changes are in the audit log page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticking_the_api_box_holds_for_the_very_next_call() {
    let app = TestApp::spawn();
    let reseller = create_customer(&app, "Wholesale", "wh-web", "wh-api", None, true);
    let customer = create_customer(&app, "CustomerA", "a-web", "pass123", Some(reseller), false);
    let refused = api_call(&app, "CustomerA", "pass123").unwrap_err();
    assert!(
        refused.contains("not ticked the API permission box"),
        "{refused}"
    );

    let browser = Browser::start(&app).await;
    browser.goto("/admin/").await;
    browser.wait_for_text("Sign in").await;
    browser.screenshot("sign-in").await;
    browser.sign_in("root", ROOT_PASSWORD).await;
    let text = browser.wait_for_text("Dashboard").await;
    assert!(text.contains("Signed in as root"), "{text}");
    assert!(text.contains("POST /xmlapi/xmlapi"), "{text}");
    browser.screenshot("dashboard").await;

    browser.click_link("Customers").await;
    let text = browser.wait_for_text("Customer tree").await;
    assert!(
        text.contains("Wholesale") && text.contains("CustomerA"),
        "{text}"
    );
    browser.screenshot("customers").await;
    browser.click_link("CustomerA").await;
    let text = browser
        .wait_for_text("CustomerA cannot call the API now")
        .await;
    assert!(
        text.contains("its parent customer has not ticked the API permission box"),
        "{text}"
    );
    assert_eq!(browser.path().await, format!("/admin/customers/{customer}"));
    assert!(!browser.is_checked("API").await);
    assert!(browser.is_checked("Allow API Calls").await);
    browser.screenshot("customer-refused").await;

    browser.set_checkbox("API", true).await;
    let text = browser.wait_for_text("Saved: the API box is ticked.").await;
    assert!(text.contains("CustomerA can call the API now"), "{text}");
    assert!(browser.is_checked("API").await);
    api_call(&app, "CustomerA", "pass123").expect("the very next call succeeds");
    browser.screenshot("customer-allowed").await;

    browser.set_checkbox("API", false).await;
    browser
        .wait_for_text("Saved: the API box is cleared.")
        .await;
    let refused = api_call(&app, "CustomerA", "pass123").unwrap_err();
    assert!(
        refused.contains("its parent customer has not ticked the API permission box"),
        "{refused}"
    );

    // The customer's own switch, set by its parent's login here.
    browser.set_checkbox("API", true).await;
    browser.wait_for_text("Saved: the API box is ticked.").await;
    browser.set_checkbox("Allow API Calls", false).await;
    let text = browser
        .wait_for_text("Saved: Allow API Calls is off.")
        .await;
    assert!(
        text.contains("its Allow API Calls setting is not enabled"),
        "{text}"
    );
    let refused = api_call(&app, "CustomerA", "pass123").unwrap_err();
    assert!(
        refused.contains("its Allow API Calls setting is not enabled"),
        "{refused}"
    );
    browser.set_checkbox("Allow API Calls", true).await;
    browser.wait_for_text("Saved: Allow API Calls is on.").await;
    api_call(&app, "CustomerA", "pass123").expect("both switches on again");

    // The audit log page shows who changed what, from where, through which dialect.
    browser.click_link("Audit log").await;
    browser.wait_for_text("Audit log").await;
    browser.fill("Action", "set-api-permission").await;
    browser.submit_form_of("Action").await;
    browser.wait_for_text("api_permission").await;
    let rows = browser
        .client
        .find_all(Locator::Css("table.audit tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "three changes of the API box");
    for row in rows {
        let text = row.text().await.unwrap();
        assert!(
            text.contains("root")
                && text.contains("admin")
                && text.contains("127.0.0.1")
                && text.contains(&format!("customer:{customer}"))
                && text.contains("ok"),
            "{text}"
        );
    }
    browser.screenshot("audit-log").await;

    // The refused API calls are there too, with the reason.
    browser
        .goto("/admin/audit?login=anonymous+%28CustomerA%29")
        .await;
    let text = browser
        .wait_for_text("has not ticked the API permission box")
        .await;
    assert!(
        text.contains("refused") && text.contains("xmlrpc"),
        "{text}"
    );
    browser.close().await;
}

/// Trusted hosts: a bad network is refused with the reason; a good one takes effect for the
/// very next credential-less call and stops when removed; all of it in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_hosts_are_managed_in_the_page() {
    let app = TestApp::spawn();
    let trusted_call = || curl_post(&app.xmlrpc_http(), None, &call_xml("listAccounts", &[])).0;
    assert_eq!(trusted_call(), 401);

    let browser = Browser::start(&app).await;
    browser.sign_in("root", ROOT_PASSWORD).await;
    browser.wait_for_text("Dashboard").await;
    browser.click_link("Trusted hosts").await;
    browser.wait_for_text("No trusted hosts").await;

    browser
        .fill("IP address or CIDR range", "10.0.0.0/33")
        .await;
    browser.fill("Description", "typo").await;
    browser.submit_form_of("Description").await;
    let text = browser
        .wait_for_text("'10.0.0.0/33' is not an IP address or CIDR range")
        .await;
    assert!(text.contains("Not added"), "{text}");
    browser.screenshot("trusted-hosts-refused").await;

    browser.fill("IP address or CIDR range", "127.0.0.1").await;
    browser.fill("Description", "test runner").await;
    browser.submit_form_of("Description").await;
    let text = browser.wait_for_text("Added the trusted host.").await;
    assert!(
        text.contains("127.0.0.1/32") && text.contains("test runner"),
        "{text}"
    );
    browser
        .fill("IP address or CIDR range", "2001:db8::5/48")
        .await;
    browser.fill("Description", "lab v6").await;
    browser.submit_form_of("Description").await;
    browser.wait_for_text("2001:db8::/48").await;
    assert_eq!(trusted_call(), 200, "trusted at once");
    browser.screenshot("trusted-hosts").await;

    browser
        .client
        .find(Locator::Css("button[aria-label='Remove 127.0.0.1/32']"))
        .await
        .expect("a remove button")
        .click()
        .await
        .unwrap();
    let text = browser.wait_for_text("Removed the trusted host.").await;
    assert!(!text.contains("127.0.0.1/32"), "{text}");
    assert_eq!(trusted_call(), 401, "no longer trusted");

    // The CLI reads the same table.
    let listed = app.cli(&["trusted-hosts", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "2001:db8::/48\tlab v6\n"
    );

    browser.click_link("Audit log").await;
    browser.fill("Login", "root").await;
    browser.fill("Action", "add-trusted-host").await;
    browser.submit_form_of("Login").await;
    let text = browser.wait_for_text("trusted_host:127.0.0.1/32").await;
    assert!(
        text.contains("refused") && text.contains("not an IP address or CIDR range"),
        "the refused attempt is logged with its reason: {text}"
    );
    browser.close().await;
}

/// My Preferences, as a reseller: its own Allow API Calls, API password and web password (the
/// current one required); and a sub-customer created in the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_and_new_sub_customers() {
    let app = TestApp::spawn();
    let reseller = create_customer(&app, "Reseller", "reseller-web", "api-old", None, true);
    api_call(&app, "Reseller", "api-old").expect("set up to call");

    let browser = Browser::start(&app).await;
    browser.sign_in("Reseller", "reseller-web").await;
    browser.wait_for_text("Signed in as Reseller").await;
    assert!(!browser.text().await.contains("Trusted hosts"), "root only");
    // Its own page: the API box is shown, but only its parent may change it.
    browser.goto(&format!("/admin/customers/{reseller}")).await;
    let text = browser
        .wait_for_text("Only its parent customer can change this box.")
        .await;
    assert!(text.contains("Reseller can call the API now"), "{text}");
    assert!(!browser.by_label("API").await.is_enabled().await.unwrap());
    browser.screenshot("customer-own").await;
    // Its parent, root, is not in its tree: answered as not found.
    browser.goto("/admin/customers/1").await;
    browser.wait_for_text("customer 1 not found").await;
    browser.screenshot("not-found").await;

    browser.click_link("My Preferences").await;
    let text = browser.wait_for_text("You can call the API now").await;
    assert!(
        text.contains("Your parent customer has ticked your API box"),
        "{text}"
    );
    browser.screenshot("preferences").await;

    browser.set_checkbox("Allow API Calls", false).await;
    browser.wait_for_text("You cannot call the API now").await;
    let refused = api_call(&app, "Reseller", "api-old").unwrap_err();
    assert!(refused.contains("Allow API Calls"), "{refused}");
    browser.set_checkbox("Allow API Calls", true).await;
    browser.wait_for_text("You can call the API now").await;

    browser.fill("New API password", "api-new").await;
    browser.fill("Repeat the new API password", "api-new").await;
    browser.submit_form_of("New API password").await;
    browser
        .wait_for_text("Saved: the API password is changed.")
        .await;
    assert!(api_call(&app, "Reseller", "api-old").is_err());
    api_call(&app, "Reseller", "api-new").expect("the new API password works at once");

    browser.fill("Current web password", "not-it").await;
    browser.fill("New web password", "reseller-web-2").await;
    browser
        .fill("Repeat the new web password", "reseller-web-2")
        .await;
    browser.submit_form_of("Current web password").await;
    browser
        .wait_for_text("is not the current web password")
        .await;
    browser.fill("Current web password", "reseller-web").await;
    browser.fill("New web password", "reseller-web-2").await;
    browser
        .fill("Repeat the new web password", "reseller-web-2")
        .await;
    browser.submit_form_of("Current web password").await;
    browser
        .wait_for_text("Saved: the web password is changed")
        .await;

    // A sub-customer, made in the page, starts with both switches off.
    browser.click_link("Customers").await;
    browser.wait_for_text("New sub-customer").await;
    browser.fill("Name", "Shop").await;
    browser.fill("Web password", "shop-web").await;
    browser.fill("API password", "shop-api").await;
    browser.submit_form_of("Name").await;
    let text = browser.wait_for_text("Created the customer.").await;
    assert!(
        text.contains("Shop cannot call the API now")
            && text.contains("its Allow API Calls setting is not enabled")
            && text.contains("its parent customer has not ticked the API permission box"),
        "{text}"
    );
    assert!(
        browser.text().await.contains("Reseller"),
        "its parent is linked"
    );
    browser.set_checkbox("API", true).await;
    browser.wait_for_text("Saved: the API box is ticked.").await;
    browser.set_checkbox("Allow API Calls", true).await;
    browser.wait_for_text("Shop can call the API now").await;
    api_call(&app, "Shop", "shop-api").expect("made and enabled in the page");
    browser.screenshot("customer-new").await;

    browser.click_button("Sign out").await;
    browser.wait_for_text("Signed out.").await;
    browser.sign_in("Reseller", "reseller-web").await;
    browser.wait_for_text("Wrong login or password.").await;
    browser.sign_in("Reseller", "reseller-web-2").await;
    browser.wait_for_text("Signed in as Reseller").await;
    browser.close().await;
}

// ---------------------------------------------------------------------------------------------
// Security, with curl.

/// A curl "browser" with its own cookie jar (other modules' admin pages use it too).
pub(crate) struct Curl {
    base: String,
    jar: tempfile::NamedTempFile,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

impl Reply {
    /// The CSRF token of the first form on the page.
    pub(crate) fn csrf(&self) -> String {
        let rest = self
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The body with the HTML escapes of the templates undone.
    pub(crate) fn text(&self) -> String {
        self.body
            .replace("&#39;", "'")
            .replace("&#34;", "\"")
            .replace("&#60;", "<")
            .replace("&#62;", ">")
            .replace("&#38;", "&")
    }

    fn header_lines(&self, name: &str) -> Vec<String> {
        self.headers
            .lines()
            .filter(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .map(str::to_string)
            .collect()
    }
}

impl Curl {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            base: app.https.clone(),
            jar: tempfile::NamedTempFile::new().unwrap(),
        }
    }

    fn request(&self, path: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let head = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-k", "-o", "-", "-w", "\n%{http_code}", "-D"])
            .arg(head.path())
            .arg("-b")
            .arg(self.jar.path())
            .arg("-c")
            .arg(self.jar.path());
        match form {
            None => {}
            Some([]) => {
                cmd.args(["-d", ""]);
            }
            Some(pairs) => {
                for (name, value) in pairs {
                    cmd.arg("--data-urlencode").arg(format!("{name}={value}"));
                }
            }
        }
        cmd.arg(format!("{}{path}", self.base));
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "curl: {err}");
        let (body, status) = out.rsplit_once('\n').unwrap();
        Reply {
            status: status.trim().parse().unwrap(),
            headers: std::fs::read_to_string(head.path()).unwrap(),
            body: body.to_string(),
        }
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        self.request(path, None)
    }

    pub(crate) fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.request(path, Some(form))
    }

    /// Signs in; returns the session's CSRF token.
    pub(crate) fn sign_in(&self, login: &str, password: &str) -> String {
        let token = self.get("/admin/").csrf();
        let reply = self.post(
            "/admin/sign-in",
            &[("csrf", &token), ("login", login), ("password", password)],
        );
        assert_eq!(reply.status, 303, "sign-in as {login}: {}", reply.body);
        self.get("/admin/").csrf()
    }
}

#[test]
fn session_cookie_is_secure_httponly_strict_and_expiring() {
    let app = TestApp::spawn();
    let curl = Curl::new(&app);
    let page = curl.get("/admin/");
    let pre = page.header_lines("set-cookie");
    assert_eq!(pre.len(), 1, "{pre:?}");
    let token = page.csrf();
    let reply = curl.post(
        "/admin/sign-in",
        &[
            ("csrf", &token),
            ("login", "root"),
            ("password", ROOT_PASSWORD),
        ],
    );
    assert_eq!(reply.status, 303);
    let session = reply
        .header_lines("set-cookie")
        .into_iter()
        .find(|c| c.contains("__Host-switchyard-session="))
        .expect("a session cookie");
    for flag in [
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(session.contains(flag), "{flag} missing: {session}");
    }
    let max_age: i64 = session
        .split("Max-Age=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap();
    assert!((3600..=8 * 3600).contains(&max_age), "{max_age}");
    for header in [
        "content-security-policy: default-src 'none'",
        "x-frame-options: DENY",
        "cache-control: no-store",
    ] {
        assert!(
            reply
                .headers
                .to_ascii_lowercase()
                .contains(&header.to_ascii_lowercase()),
            "{header}: {}",
            reply.headers
        );
    }
    let csrf = curl.get("/admin/").csrf();

    // The session lives in the database: it holds across a restart (and so across instances).
    let (_, dir) = app.stop();
    let app = Launch {
        dir: Some(dir),
        ..Launch::default()
    }
    .spawn();
    let curl = Curl {
        base: app.https.clone(),
        ..curl
    };
    let page = curl.get("/admin/customers");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Customer tree"));

    // Signing out revokes it: the same cookie, replayed, no longer works.
    let saved = std::fs::read_to_string(curl.jar.path()).unwrap();
    let out = curl.post("/admin/sign-out", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    std::fs::write(curl.jar.path(), saved).unwrap();
    let replayed = curl.get("/admin/customers");
    assert_eq!(replayed.status, 303);
    assert!(
        replayed
            .headers
            .contains("location: /admin/?done=session-ended"),
        "{}",
        replayed.headers
    );
}

#[test]
fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn();
    let customer = create_customer(&app, "CustomerA", "a-web", "pass123", None, false);
    let curl = Curl::new(&app);

    // Sign-in itself needs the token from the sign-in page's cookie.
    let no_token = curl.post(
        "/admin/sign-in",
        &[("login", "root"), ("password", ROOT_PASSWORD)],
    );
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert!(
        no_token
            .header_lines("set-cookie")
            .iter()
            .all(|c| !c.contains("session="))
    );
    let csrf = curl.sign_in("root", ROOT_PASSWORD);

    let box_path = format!("/admin/customers/{customer}/api-permission");
    let switch_path = format!("/admin/customers/{customer}/allow-api-calls");
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (&box_path, vec![("api_permission", "on")]),
        (&switch_path, vec![]),
        ("/admin/trusted-hosts", vec![("network", "127.0.0.1")]),
        (
            "/admin/trusted-hosts/remove",
            vec![("network", "127.0.0.1")],
        ),
        (
            "/admin/customers",
            vec![("parent", "1"), ("name", "X"), ("web_password", "x")],
        ),
        ("/admin/preferences/allow-api-calls", vec![]),
        (
            "/admin/preferences/api-password",
            vec![("api_password", "p"), ("api_password_again", "p")],
        ),
        ("/admin/sign-out", vec![]),
    ];
    for (path, form) in &attempts {
        let missing = curl.post(path, form);
        assert_eq!(missing.status, 403, "{path} without a token");
        assert!(missing.body.contains("security token"), "{}", missing.body);
        let mut wrong = form.clone();
        wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert_eq!(
            curl.post(path, &wrong).status,
            403,
            "{path} with a wrong token"
        );
    }
    // Nothing changed: the box is clear, root may still call, no host is trusted, no customer X.
    let refused = api_call(&app, "CustomerA", "pass123").unwrap_err();
    assert!(refused.contains("API permission box"), "{refused}");
    api_call(&app, "root", ROOT_PASSWORD).expect("root's Allow API Calls untouched");
    assert!(app.cli(&["trusted-hosts", "list"]).stdout.is_empty());
    assert!(!curl.get("/admin/customers").body.contains(">X<"));
    // The session is still there (sign-out was refused too), and with the token it works.
    let done = curl.post(&box_path, &[("csrf", &csrf), ("api_permission", "on")]);
    assert_eq!(done.status, 303, "{}", done.body);
    api_call(&app, "CustomerA", "pass123").expect("ticked with the token");
}

/// root → Wholesale → {A, B}, and root → Other. A's login sees and changes only A; Wholesale's
/// login sees its subtree and may set its children's API boxes but not its own.
#[test]
fn a_sub_customer_cannot_see_or_change_its_siblings_or_its_parent() {
    let app = TestApp::spawn();
    let wholesale = create_customer(&app, "Wholesale", "wh-web", "wh-api", None, true);
    let a = create_customer(&app, "SubA", "a-web", "a-api", Some(wholesale), true);
    let b = create_customer(&app, "SubB", "b-web", "b-api", Some(wholesale), false);
    let other = create_customer(&app, "Other", "o-web", "o-api", None, true);

    let curl = Curl::new(&app);
    let csrf = curl.sign_in("SubA", "a-web");
    let list = curl.get("/admin/customers").body;
    assert!(list.contains(">SubA</a>"), "{list}");
    for hidden in ["SubB", "Wholesale", "Other", ">root<"] {
        assert!(!list.contains(hidden), "{hidden} visible to SubA: {list}");
    }
    assert_eq!(curl.get(&format!("/admin/customers/{a}")).status, 200);
    for id in [b, wholesale, other, 1] {
        let page = curl.get(&format!("/admin/customers/{id}"));
        assert_eq!(page.status, 404, "customer {id} visible to SubA");
        assert!(
            page.body.contains(&format!("customer {id} not found")),
            "{}",
            page.body
        );
        for (action, field) in [
            ("api-permission", "api_permission"),
            ("allow-api-calls", "allow_api_calls"),
        ] {
            let post = curl.post(
                &format!("/admin/customers/{id}/{action}"),
                &[("csrf", &csrf), (field, "on")],
            );
            assert_eq!(post.status, 404, "{action} of customer {id} by SubA");
        }
    }
    // Nor may it make a customer below its parent.
    let made = curl.post(
        "/admin/customers",
        &[
            ("csrf", &csrf),
            ("parent", &wholesale.to_string()),
            ("name", "Sneaky"),
            ("web_password", "x"),
        ],
    );
    assert_eq!(made.status, 404);
    // Its own API box is its parent's to set.
    let own = curl.post(
        &format!("/admin/customers/{a}/api-permission"),
        &[("csrf", &csrf)],
    );
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(
        own.text()
            .contains("'api_permission' of a customer can only be changed by its parent"),
        "{}",
        own.body
    );
    api_call(&app, "SubA", "a-api").expect("its box is still ticked");
    assert_eq!(curl.get("/admin/trusted-hosts").status, 403, "root only");
    // Its audit log holds only its own rows.
    let audit = curl.get("/admin/audit").body;
    assert!(
        audit.contains("The entries made by your own login"),
        "{audit}"
    );
    assert!(!audit.contains("<code>createCustomer</code>"), "{audit}");

    // B's box stays clear; the parent ticks it, but not its own.
    assert!(api_call(&app, "SubB", "b-api").is_err());
    let parent = Curl::new(&app);
    let csrf = parent.sign_in("Wholesale", "wh-web");
    let list = parent.get("/admin/customers").body;
    assert!(
        list.contains(">SubA</a>") && list.contains(">SubB</a>") && !list.contains("Other"),
        "{list}"
    );
    let tick = parent.post(
        &format!("/admin/customers/{b}/api-permission"),
        &[("csrf", &csrf), ("api_permission", "on")],
    );
    assert_eq!(tick.status, 303);
    api_call(&app, "SubB", "b-api").expect("ticked by its parent");
    let own = parent.post(
        &format!("/admin/customers/{wholesale}/api-permission"),
        &[("csrf", &csrf)],
    );
    assert_eq!(own.status, 403);
    assert_eq!(parent.get(&format!("/admin/customers/{other}")).status, 404);

    // Each refusal is in the audit log.
    let tail = app.cli(&["audit", "tail", "-n", "200", "--principal", "SubA"]);
    let log = String::from_utf8_lossy(&tail.stdout);
    assert!(
        log.lines()
            .filter(|l| l.contains(" refused ") && l.contains("via=admin"))
            .count()
            >= 4,
        "{log}"
    );
}

#[test]
fn repeated_sign_in_failures_from_one_address_are_throttled() {
    let app = TestApp::spawn();
    let curl = Curl::new(&app);
    for attempt in 0..10 {
        let token = curl.get("/admin/").csrf();
        let reply = curl.post(
            "/admin/sign-in",
            &[("csrf", &token), ("login", "root"), ("password", "guess")],
        );
        assert_eq!(reply.status, 403, "attempt {attempt}");
        assert!(reply.body.contains("Wrong login or password."));
    }
    let token = curl.get("/admin/").csrf();
    let reply = curl.post(
        "/admin/sign-in",
        &[
            ("csrf", &token),
            ("login", "root"),
            ("password", ROOT_PASSWORD),
        ],
    );
    assert_eq!(reply.status, 429, "even the right password waits");
    assert!(
        reply.body.contains("Too many failed sign-ins"),
        "{}",
        reply.body
    );
    assert_eq!(reply.header_lines("retry-after").len(), 1);
    // Every failure is audited (and the throttle counts them there, so it holds across
    // instances); a guessed login gets the same answer as a wrong password.
    let tail = app.cli(&["audit", "tail", "-n", "100"]);
    let log = String::from_utf8_lossy(&tail.stdout);
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("failed_auth") && l.contains("via=admin"))
            .count(),
        10,
        "{log}"
    );
    // The API's own digest logins are not affected.
    api_call(&app, "root", ROOT_PASSWORD).expect("API still answers");
}

#[test]
fn unknown_logins_and_plain_http_are_refused() {
    let app = TestApp::spawn();
    let curl = Curl::new(&app);
    let token = curl.get("/admin/").csrf();
    let reply = curl.post(
        "/admin/sign-in",
        &[("csrf", &token), ("login", "nobody"), ("password", "x")],
    );
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("Wrong login or password."));
    // Signed-in pages send a browser without a session to the sign-in page.
    let page = curl.get("/admin/customers");
    assert_eq!(page.status, 303);
    assert!(
        page.headers.contains("location: /admin/\r\n"),
        "{}",
        page.headers
    );

    let (code, out, _) = run(Command::new("curl").args([
        "-sS",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        &format!("{}/admin/", app.http),
    ]));
    assert_eq!(code, 0);
    assert!(out.ends_with("\n403"), "{out}");
    assert!(out.contains("served over HTTPS only"), "{out}");
}

#[test]
fn bad_input_is_refused_with_the_reason_and_changes_nothing() {
    let app = TestApp::spawn();
    create_customer(&app, "Taken", "t-web", "t-api", None, true);
    let curl = Curl::new(&app);
    let csrf = curl.sign_in("root", ROOT_PASSWORD);

    let create = |name: &str, password: &str| {
        curl.post(
            "/admin/customers",
            &[
                ("csrf", &csrf),
                ("parent", "1"),
                ("return_to", "list"),
                ("name", name),
                ("web_password", password),
            ],
        )
    };
    let reply = create("", "pw");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.body.contains("The customer was not created"),
        "{}",
        reply.body
    );
    let reply = create("Taken", "pw");
    assert_eq!(reply.status, 409);
    assert!(
        reply
            .text()
            .contains("a customer named 'Taken' already exists"),
        "{}",
        reply.body
    );
    let reply = create("<b>Bold</b>", "");
    assert_eq!(reply.status, 400);
    assert!(
        reply.body.contains("value=\"&#60;b&#62;Bold&#60;/b&#62;\""),
        "escaped, kept in the form: {}",
        reply.body
    );
    assert!(!reply.body.contains("<b>Bold</b>"));

    for (path, status) in [
        ("/admin/customers/abc", 404),
        ("/admin/customers/99999", 404),
        ("/admin/customers/-1", 404),
        ("/admin/customers?page=0", 400),
        ("/admin/audit?from=yesterday", 400),
        ("/admin/nowhere", 404),
    ] {
        let reply = curl.get(path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
    }
    let reply = curl.get("/admin/audit?from=yesterday");
    assert!(
        reply.text().contains("'yesterday' is not a UTC date"),
        "{}",
        reply.body
    );
    let reply = curl.post(
        "/admin/preferences/api-password",
        &[
            ("csrf", &csrf),
            ("api_password", "one"),
            ("api_password_again", "two"),
        ],
    );
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("the two entries differ"));
    api_call(&app, "root", ROOT_PASSWORD).expect("root's API password unchanged");

    let customers = curl.get("/admin/customers").body;
    assert_eq!(
        customers.matches("/admin/customers/").count(),
        2,
        "root and Taken only"
    );
}
