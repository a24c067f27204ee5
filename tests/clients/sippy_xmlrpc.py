#!/usr/bin/env python3
"""Drives switchyard's Sippy-style XML-RPC API with real Python clients.

Usage: python3 tests/clients/sippy_xmlrpc.py SCENARIO

Environment:
  SY_HTTPS_URL      https://127.0.0.1:PORT/xmlapi/xmlapi
  SY_HTTP_URL       http://127.0.0.1:PORT/xmlapi/xmlapi
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  API password of the login `root`

Two transports, as the product's users write them:
  * RequestsTransport: one requests.Session + HTTPDigestAuth, so the nonce is
    reused with nc 1, 2, 3, ... (only the first call is challenged);
  * Httplib2Transport: Sippy's published example (support article 107440)
    ported to Python 3: credentials in the URL, a new httplib2.Http() per call,
    so every call is challenged.

Each scenario prints `ok SCENARIO` and exits 0, or exits 1 saying what was
expected and what came back. Scenarios share nothing but the server, so every
name they create carries a random suffix.
"""

import os
import random
import re
import string
import sys
import traceback
import urllib.parse
import xmlrpc.client
from xmlrpc.client import Fault

import httplib2
import requests
from requests.auth import HTTPDigestAuth

HTTPS_URL = os.environ["SY_HTTPS_URL"]
HTTP_URL = os.environ["SY_HTTP_URL"]
CAFILE = os.environ["SY_CAFILE"]
ROOT_PASSWORD = os.environ["SY_ROOT_PASSWORD"]

# Every Sippy method switchyard serves (src/dialects/xmlrpc/methods.rs) and system.*.
SIPPY_METHODS = [
    "createAccount", "updateAccount", "deleteAccount", "blockAccount",
    "unblockAccount", "getAccountInfo", "listAccounts", "accountAddFunds",
    "accountCredit", "accountDebit", "createCustomer", "updateCustomer",
    "deleteCustomer", "getCustomerInfo", "listCustomers", "addAuthRule",
    "updateAuthRule", "delAuthRule", "getAuthRuleInfo", "listAuthRules",
]
SYSTEM_METHODS = [
    "system.listMethods", "system.methodHelp", "system.methodSignature",
    "system.multicall",
]

# Sippy's usual date form: 14:03:07.000 GMT Mon Mar 04 2024
SIPPY_DATE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} GMT [A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d{4}$")


# ---------------------------------------------------------------- helpers


class Failed(Exception):
    """A check failed: the message says what was expected and what came back."""


def check(cond, what, got=None):
    if not cond:
        raise Failed(f"expected {what}; got {got!r}")


def eq(got, want, what):
    if got != want:
        raise Failed(f"{what}: expected {want!r}, got {got!r}")


def suffix():
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=8))


def expect_fault(call, code, *needles):
    """Runs call(); it must raise an XML-RPC Fault with `code` whose faultString
    contains every needle (case-insensitive). Returns the Fault."""
    try:
        result = call()
    except Fault as f:
        if f.faultCode != code:
            raise Failed(f"expected fault {code} mentioning {needles}; got fault "
                         f"{f.faultCode} {f.faultString!r}") from None
        for n in needles:
            if n.lower() not in f.faultString.lower():
                raise Failed(f"expected fault {code} mentioning {n!r}; got "
                             f"{f.faultString!r}") from None
        return f
    raise Failed(f"expected fault {code} mentioning {needles}; got success {result!r}")


def ok(reply, what):
    check(isinstance(reply, dict) and reply.get("result") == "OK",
          f"{what} to answer a struct with result 'OK'", reply)
    return reply


# ---------------------------------------------------------------- transports


class RequestsTransport(xmlrpc.client.Transport):
    """xmlrpc.client over one requests.Session with HTTPDigestAuth.

    `hook_log` records every final response: (status, Authorization header
    sent, number of 401s answered on the way)."""

    def __init__(self, url, user, password, verify=CAFILE):
        super().__init__()
        self.url = url
        self.verify = verify
        self.session = requests.Session()
        self.auth = HTTPDigestAuth(user, password)
        self.session.auth = self.auth
        self.log = []
        self.session.hooks["response"].append(self._hook)

    def _hook(self, r, *args, **kwargs):
        # Runs after HTTPDigestAuth's own hook, so `r` is the final response and
        # r.history holds the 401 it answered, if any.
        challenged = sum(1 for h in r.history if h.status_code == 401)
        self.log.append((r.status_code, r.request.headers.get("Authorization"), challenged))
        return r

    def request(self, host, handler, request_body, verbose=False):
        # verify per request: a Session's own .verify loses to REQUESTS_CA_BUNDLE.
        r = self.session.post(self.url, data=request_body, verify=self.verify, timeout=60,
                              headers={"Content-Type": "text/xml"})
        if r.status_code != 200:
            raise xmlrpc.client.ProtocolError(self.url, r.status_code, r.reason, r.headers)
        parser, unmarshaller = self.getparser()
        parser.feed(r.content)
        parser.close()
        return unmarshaller.close()


class Httplib2Transport(xmlrpc.client.Transport):
    """Sippy's example transport: user:password in the URL, Digest through
    httplib2, a fresh Http() per request (so no nonce reuse)."""

    def __init__(self, scheme="https"):
        super().__init__()
        self.scheme = scheme

    def request(self, host, handler, request_body, verbose=False):
        creds, _, hostport = host.rpartition("@")
        user, _, password = creds.partition(":")
        h = httplib2.Http(ca_certs=CAFILE, timeout=60)
        h.add_credentials(urllib.parse.unquote(user), urllib.parse.unquote(password))
        resp, content = h.request(f"{self.scheme}://{hostport}{handler}", "POST",
                                  body=request_body,
                                  headers={"Content-Type": "text/xml"})
        if resp.status != 200:
            raise xmlrpc.client.ProtocolError(hostport + handler, resp.status,
                                              resp.reason, dict(resp))
        parser, unmarshaller = self.getparser()
        parser.feed(content)
        parser.close()
        return unmarshaller.close()


def proxy(user, password, url=HTTPS_URL):
    """A ServerProxy using the requests transport; returns (proxy, transport)."""
    t = RequestsTransport(url, user, password)
    return xmlrpc.client.ServerProxy(url, transport=t, allow_none=True), t


def sippy_proxy(user, password, url=HTTPS_URL):
    """A ServerProxy in Sippy's published style (httplib2, credentials in URL)."""
    parts = urllib.parse.urlsplit(url)
    cred = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    with_creds = parts._replace(netloc=f"{cred}@{parts.netloc}").geturl()
    return xmlrpc.client.ServerProxy(with_creds, transport=Httplib2Transport(parts.scheme),
                                     allow_none=True)


def root():
    return proxy("root", ROOT_PASSWORD)[0]


# ---------------------------------------------------------------- fixtures


def make_customer(parent, name, password, **extra):
    """Creates a customer with API access through `parent`; returns its id."""
    params = {"name": name, "web_password": "web-" + password, "i_tariff": None,
              "api_password": password, "api_access": 1, "api_permission": True}
    params.update(extra)
    reply = ok(parent.createCustomer(params), "createCustomer")
    check(isinstance(reply.get("i_customer"), int), "an int i_customer", reply)
    return reply["i_customer"]


def account_params(username, **extra):
    """Every field createAccount requires (core/attrs.rs ACCOUNT_ATTRS)."""
    params = {
        "username": username,
        "web_password": "web-secret-1",
        "authname": username,
        "voip_password": "voip-secret-1",
        "translation_rule": "",
        "cli_translation_rule": "",
        "cpe_number": "",
        "vm_password": "1234",
        "i_lang": "en",
        "payment_currency": "USD",
        "max_sessions": 2,
        "max_credit_time": 3600,
        "i_billing_plan": 1,
        "i_time_zone": 1,
        "vm_enabled": 1,
        "blocked": 0,
        "payment_method": 1,
        "i_export_type": 2,
        "credit_limit": 50.0,
        "balance": 10.0,
    }
    params.update(extra)
    return params


def make_account(server, username, **extra):
    reply = ok(server.createAccount(account_params(username, **extra)), "createAccount")
    check(isinstance(reply.get("i_account"), int), "an int i_account", reply)
    return reply["i_account"]


def customer_with_login(tag):
    """A fresh API-enabled customer below root and a proxy logged in as it."""
    name, password = f"{tag}_{suffix()}", "pw-" + suffix()
    cid = make_customer(root(), name, password)
    return cid, name, proxy(name, password)[0]


# ---------------------------------------------------------------- scenarios


def customer_tree():
    sfx = suffix()
    r = root()
    name_a, pw_a = f"CustomerA_{sfx}", "pass-a-" + sfx
    id_a = make_customer(r, name_a, pw_a)
    a, _ = proxy(name_a, pw_a)

    # CustomerA logs in with its Web Login (= its name) and sees itself, nested.
    info = ok(a.getCustomerInfo({"i_customer": id_a}), "getCustomerInfo")
    check(isinstance(info.get("customer"), dict), "a nested 'customer' struct", info)
    c = info["customer"]
    eq(c["i_customer"], id_a, "customer.i_customer")
    eq(c["name"], name_a, "customer.name")
    eq(c["web_login"], name_a, "customer.web_login (defaults to the name)")
    eq(c["i_parent"], 1, "customer.i_parent")
    eq(c["api_access"], 1, "customer.api_access")
    eq(c["api_permission"], True, "customer.api_permission")
    for secret in ("web_password", "api_password"):
        check(secret not in c, f"getCustomerInfo to omit {secret}", sorted(c))
    check(SIPPY_DATE.match(c["created_on"]), "created_on in Sippy's date form", c["created_on"])

    # A creates sub-customer B, without API access or API permission, in credit:
    # stored balance -12.5 (Sippy's sign: amount owed).
    name_b, pw_b = f"CustomerB_{sfx}", "pass-b-" + sfx
    reply = ok(a.createCustomer({"name": name_b, "web_password": "web-b", "i_tariff": None,
                                 "api_password": pw_b, "balance": -12.5,
                                 "credit_limit": 100.0, "description": "sub of A"}),
               "createCustomer by A")
    id_b = reply["i_customer"]
    b, _ = proxy(name_b, pw_b)

    # Gate 1: B's own Allow API Calls (api_access) is off.
    expect_fault(lambda: b.getCustomerInfo({"i_customer": id_b}), 403, "Allow API Calls")
    # A switches B's api_access on; gate 2, the parent's API permission box, is still off.
    ok(a.updateCustomer({"i_customer": id_b, "api_access": 1}), "updateCustomer api_access")
    expect_fault(lambda: b.getCustomerInfo({"i_customer": id_b}), 403, "permission")
    # A ticks the box: B is in.
    ok(a.updateCustomer({"i_customer": id_b, "api_permission": True}),
       "updateCustomer api_permission")
    info_b = ok(b.getCustomerInfo({"i_customer": id_b}), "getCustomerInfo by B")["customer"]
    # With the box ticked but api_access off again, gate 1 closes again.
    ok(a.updateCustomer({"i_customer": id_b, "api_access": 0}), "updateCustomer api_access 0")
    expect_fault(lambda: b.listCustomers({}), 403, "Allow API Calls")
    ok(a.updateCustomer({"i_customer": id_b, "api_access": 1}), "updateCustomer api_access 1")

    # A blocked customer is refused at the door, with a fault saying so.
    ok(a.updateCustomer({"i_customer": id_b, "blocked": 1}), "updateCustomer blocked 1")
    expect_fault(lambda: b.listCustomers({}), 403, "blocked")
    ok(a.updateCustomer({"i_customer": id_b, "blocked": 0}), "updateCustomer blocked 0")

    # getCustomerInfo negates the balance; listCustomers does not.
    eq(info_b["balance"], 12.5, "getCustomerInfo balance (negated)")
    eq(info_b["credit_limit"], 100.0, "getCustomerInfo credit_limit")
    eq(info_b["i_parent"], id_a, "B's i_parent")
    eq(info_b["description"], "sub of A", "B's description")
    by_name = ok(b.getCustomerInfo({"name": name_b}), "getCustomerInfo by name")["customer"]
    eq(by_name["i_customer"], id_b, "getCustomerInfo by name")

    # B sees only its own subtree: its parent and root answer as not found.
    expect_fault(lambda: b.getCustomerInfo({"i_customer": id_a}), 404)
    expect_fault(lambda: b.getCustomerInfo({"name": name_a}), 404)
    expect_fault(lambda: b.getCustomerInfo({"i_customer": 1}), 404)
    expect_fault(lambda: b.listCustomers({"i_wholesaler": id_a}), 404)
    expect_fault(lambda: b.updateCustomer({"i_customer": id_a, "description": "x"}), 404)
    # ...and cannot tick its own API box: that is its parent's call.
    expect_fault(lambda: b.updateCustomer({"i_customer": id_b, "api_permission": True}),
                 403, "api_permission")
    # A customer cannot delete itself.
    expect_fault(lambda: b.deleteCustomer({"i_customer": id_b}), 403)

    # listCustomers: A's direct sub-customers (B), balance not negated.
    lst = ok(a.listCustomers({}), "listCustomers by A")["customers"]
    eq([x["i_customer"] for x in lst], [id_b], "A's sub-customers")
    row = lst[0]
    eq(row["name"], name_b, "listCustomers name")
    eq(row["web_login"], name_b, "listCustomers web_login")
    eq(row["balance"], -12.5, "listCustomers balance (not negated)")
    eq(row["credit_limit"], 100.0, "listCustomers credit_limit")
    eq(row["base_currency"], "USD", "listCustomers base_currency")
    eq(row["description"], "sub of A", "listCustomers description")
    eq(ok(b.listCustomers({}), "listCustomers by B")["customers"], [], "B's sub-customers")
    # Root sees A among its children, and B under A with i_wholesaler.
    root_list = ok(r.listCustomers({}), "listCustomers by root")["customers"]
    check(id_a in [x["i_customer"] for x in root_list], f"root's list to hold {id_a}", root_list)
    check(id_b not in [x["i_customer"] for x in root_list], "only direct children", root_list)
    under_a = ok(r.listCustomers({"i_wholesaler": id_a}), "listCustomers i_wholesaler")
    eq([x["i_customer"] for x in under_a["customers"]], [id_b], "root's view of A's children")
    # Paging.
    page = ok(r.listCustomers({"i_wholesaler": id_a, "offset": 1, "limit": 5}), "paging")
    eq(page["customers"], [], "offset past the end")

    # Unique names; A cannot reuse B's name.
    expect_fault(lambda: a.createCustomer({"name": name_b, "web_password": "x",
                                           "i_tariff": None}), 409)
    # A deleting B (no accounts, no children) works; B can no longer log in.
    ok(a.deleteCustomer({"i_customer": id_b}), "deleteCustomer")
    expect_fault(lambda: a.getCustomerInfo({"i_customer": id_b}), 404)
    try:
        b.listCustomers({})
        raise Failed("a deleted customer's login to be refused; the call succeeded")
    except xmlrpc.client.ProtocolError as e:
        eq(e.errcode, 401, "HTTP status for a deleted login")


def account_lifecycle():
    r = root()
    id_a, name_a, a = customer_with_login("AcctCust")

    # Root's own accounts need a routing group; a sub-customer's do not.
    user_root = "root_acct_" + suffix()
    expect_fault(lambda: r.createAccount(account_params(user_root)), 400, "i_routing_group")
    root_acct = make_account(r, user_root, i_routing_group=1)

    user = "acct_" + suffix()
    acct = make_account(a, user, description="first", first_name="Ann", email="ann@example.com")

    # getAccountInfo by id and by username: flat, balance negated, no secrets.
    info = ok(a.getAccountInfo({"i_account": acct}), "getAccountInfo")
    eq(info["i_account"], acct, "i_account")
    eq(info["i_customer"], id_a, "i_customer")
    eq(info["username"], user, "username")
    eq(info["authname"], user, "authname")
    eq(info["balance"], -10.0, "getAccountInfo balance (negated)")
    eq(info["credit_limit"], 50.0, "credit_limit")
    eq(info["max_sessions"], 2, "max_sessions")
    eq(info["max_credit_time"], 3600, "max_credit_time")
    eq(info["i_billing_plan"], 1, "i_billing_plan")
    eq(info["i_time_zone"], 1, "i_time_zone")
    eq(info["i_export_type"], 2, "i_export_type")
    eq(info["payment_currency"], "USD", "payment_currency")
    eq(info["i_lang"], "en", "i_lang")
    eq(info["vm_enabled"], 1, "vm_enabled")
    eq(info["blocked"], 0, "blocked")
    eq(info["description"], "first", "description")
    eq(info["first_name"], "Ann", "first_name (contact)")
    eq(info["email"], "ann@example.com", "email (contact)")
    eq(info["i_routing_group"], None, "i_routing_group (nil)")
    check(SIPPY_DATE.match(info["created_on"]), "created_on in Sippy's date form",
          info["created_on"])
    for secret in ("web_password", "voip_password", "vm_password"):
        check(secret not in info, f"getAccountInfo to omit {secret}", sorted(info))
    for nested in info.values():
        check(not isinstance(nested, dict), "a flat struct", info)
    by_name = ok(a.getAccountInfo({"username": user}), "getAccountInfo by username")
    eq(by_name, info, "getAccountInfo by username vs by i_account")
    expect_fault(lambda: a.getAccountInfo({}), 400, "i_account")

    # Scope: A cannot see root's account, root sees A's.
    expect_fault(lambda: a.getAccountInfo({"i_account": root_acct}), 404)
    expect_fault(lambda: a.getAccountInfo({"username": user_root}), 404)
    eq(ok(r.getAccountInfo({"i_account": acct}), "root reads A's account")["username"], user,
       "root's view of A's account")

    # listAccounts: balance as stored (not negated), blocked/expired booleans.
    def listed():
        rows = ok(a.listAccounts({}), "listAccounts")["accounts"]
        mine = [x for x in rows if x["i_account"] == acct]
        eq(len(mine), 1, f"listAccounts rows for account {acct}")
        return mine[0]

    row = listed()
    eq(row["username"], user, "listAccounts username")
    eq(row["balance"], 10.0, "listAccounts balance (not negated)")
    eq(row["credit_limit"], 50.0, "listAccounts credit_limit")
    eq(row["base_currency"], "USD", "listAccounts base_currency")
    eq(row["description"], "first", "listAccounts description")
    check(row["blocked"] is False and row["expired"] is False,
          "blocked and expired as boolean false", row)
    check("registration_status" in row, "a registration_status member", row)
    check(root_acct not in [x["i_account"] for x in a.listAccounts({})["accounts"]],
          "A's list without root's account", root_acct)
    eq(len(ok(a.listAccounts({"offset": 0, "limit": 1}), "limit")["accounts"]), 1, "limit 1")
    eq(ok(a.listAccounts({"offset": 1}), "offset")["accounts"], [], "offset past the end")

    # updateAccount.
    ok(a.updateAccount({"i_account": acct, "description": "second", "max_sessions": -1,
                        "credit_limit": 75.5, "last_name": "Smith"}), "updateAccount")
    info = a.getAccountInfo({"i_account": acct})
    eq((info["description"], info["max_sessions"], info["credit_limit"], info["last_name"]),
       ("second", -1, 75.5, "Smith"), "fields after updateAccount")
    expect_fault(lambda: a.updateAccount({"description": "x"}), 400, "i_account")

    # block / unblock.
    ok(a.blockAccount({"i_account": acct}), "blockAccount")
    eq(a.getAccountInfo({"i_account": acct})["blocked"], 1, "blocked after blockAccount")
    eq(listed()["blocked"], True, "listAccounts blocked after blockAccount")
    ok(a.unblockAccount({"i_account": acct}), "unblockAccount")
    eq(listed()["blocked"], False, "listAccounts blocked after unblockAccount")

    # Money. Stored balance = amount owed: 10.0 to start.
    ok(a.accountAddFunds({"i_account": acct, "amount": 3.0, "currency": "USD",
                          "payment_notes": "cash"}), "accountAddFunds")
    eq(a.getAccountInfo({"i_account": acct})["balance"], -7.0, "balance after add funds 3")
    ok(a.accountCredit({"i_account": acct, "amount": 2.0, "currency": "USD"}), "accountCredit")
    eq(a.getAccountInfo({"i_account": acct})["balance"], -5.0, "balance after credit 2")
    ok(a.accountDebit({"i_account": acct, "amount": 4.5, "currency": "USD",
                       "payment_time": "14:03:07.000 GMT Mon Mar 04 2024"}), "accountDebit")
    eq(a.getAccountInfo({"i_account": acct})["balance"], -9.5, "balance after debit 4.5")
    eq(listed()["balance"], 9.5, "listAccounts balance after the movements")
    expect_fault(lambda: a.accountAddFunds({"i_account": acct, "amount": 1.0,
                                            "currency": "EUR"}), 400, "currency")
    expect_fault(lambda: a.accountCredit({"i_account": acct, "amount": -1.0,
                                          "currency": "USD"}), 400, "amount")
    expect_fault(lambda: a.accountDebit({"i_account": acct, "currency": "USD"}), 400, "amount")
    expect_fault(lambda: a.accountAddFunds({"i_account": acct, "amount": 1.0}), 400, "currency")
    eq(a.getAccountInfo({"i_account": acct})["balance"], -9.5, "balance after refused calls")

    # Validation: missing required field, wrong type, unknown parameter, duplicate.
    for field in ("authname", "vm_password", "balance", "i_billing_plan"):
        params = account_params("acct_" + suffix())
        del params[field]
        expect_fault(lambda: a.createAccount(params), 400, field)
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(), max_sessions="5")),
                 400, "max_sessions")
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(), balance="1.0")),
                 400, "balance")
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(), vm_password="12ab")),
                 400, "vm_password")
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(),
                                                        payment_currency="usd")),
                 400, "payment_currency")
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(), bogus_field=1)),
                 400, "bogus_field")
    expect_fault(lambda: a.createAccount(account_params(user)), 409, user)
    expect_fault(lambda: a.createAccount(account_params(user_root)), 409)
    expect_fault(lambda: a.updateAccount({"i_account": acct, "max_sessions": "many"}),
                 400, "max_sessions")
    expect_fault(lambda: a.getAccountInfo({"i_account": "1"}), 400, "i_account")
    expect_fault(lambda: a.createAccount(account_params("acct_" + suffix(), i_billing_plan=999)),
                 404, "billing plan")

    # deleteAccount; afterwards it is gone everywhere.
    ok(a.deleteAccount({"i_account": acct}), "deleteAccount")
    expect_fault(lambda: a.getAccountInfo({"i_account": acct}), 404)
    expect_fault(lambda: a.getAccountInfo({"username": user}), 404)
    expect_fault(lambda: a.deleteAccount({"i_account": acct}), 404)
    check(acct not in [x["i_account"] for x in a.listAccounts({})["accounts"]],
          "listAccounts without the deleted account", acct)
    # The username is free again.
    make_account(a, user)


def auth_rules():
    id_a, _, a = customer_with_login("RuleCust")
    acct = make_account(a, "rules_" + suffix())
    other_acct = make_account(a, "rules_other_" + suffix())

    def add(**params):
        reply = ok(a.addAuthRule({"i_account": acct, **params}), f"addAuthRule {params}")
        check(isinstance(reply.get("i_authentication"), int), "an int i_authentication", reply)
        return reply["i_authentication"]

    def info(rule):
        reply = ok(a.getAuthRuleInfo({"i_authentication": rule}), "getAuthRuleInfo")
        check(isinstance(reply.get("authrule"), dict), "an 'authrule' struct", reply)
        return reply["authrule"]

    # Each match field alone is enough.
    by_ip = add(i_protocol=1, remote_ip="192.0.2.10")
    by_cli = add(i_protocol=1, incoming_cli="15551230000")
    by_cld = add(i_protocol=3, incoming_cld="15559870000")
    by_to = add(i_protocol=1, to_domain="to.example.com")
    by_from = add(i_protocol=4, from_domain="from.example.com")
    r = info(by_ip)
    eq((r["i_authentication"], r["i_account"], r["i_protocol"], r["remote_ip"]),
       (by_ip, acct, 1, "192.0.2.10"), "rule by remote_ip")
    for field in ("incoming_cli", "incoming_cld", "to_domain", "from_domain",
                  "cli_translation_rule", "cld_translation_rule", "i_tariff",
                  "i_routing_group", "max_cps"):
        eq(r[field], None, f"unset {field}")
    eq(r["max_sessions"], -1, "default max_sessions")
    eq(info(by_cli)["incoming_cli"], "15551230000", "incoming_cli")
    eq(info(by_cld)["incoming_cld"], "15559870000", "incoming_cld")
    eq(info(by_to)["to_domain"], "to.example.com", "to_domain")
    eq(info(by_from)["from_domain"], "from.example.com", "from_domain")

    # Every parameter at once.
    full = {"i_protocol": 1, "remote_ip": "198.51.100.7", "incoming_cli": "1555",
            "incoming_cld": "1666", "to_domain": "t.example.org", "from_domain": "f.example.org",
            "cli_translation_rule": "s/^1//", "cld_translation_rule": "s/^00/+/",
            "i_tariff": 1, "i_routing_group": 1, "max_sessions": 10, "max_cps": 2.5}
    by_all = add(**full)
    r = info(by_all)
    for k, v in full.items():
        eq(r[k], v, f"getAuthRuleInfo {k}")
    # Unlimited: max_sessions -1, max_cps nil; nil tariff / routing group.
    unlimited = add(i_protocol=1, remote_ip="203.0.113.0/24", max_sessions=-1, max_cps=None,
                    i_tariff=None, i_routing_group=None)
    r = info(unlimited)
    eq((r["max_sessions"], r["max_cps"], r["i_tariff"], r["i_routing_group"]),
       (-1, None, None, None), "unlimited rule")
    eq(r["remote_ip"], "203.0.113.0/24", "remote_ip network")

    # Refusals.
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1}), 400, "remote_ip")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": None, "incoming_cli": ""}), 400)
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 5,
                                        "remote_ip": "192.0.2.1"}), 400, "i_protocol")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "remote_ip": "192.0.2.1"}),
                 400, "i_protocol")
    expect_fault(lambda: a.addAuthRule({"i_protocol": 1, "remote_ip": "192.0.2.1"}),
                 400, "i_account")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "not-an-ip"}), 400, "remote_ip")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1", "max_cps": -1.0}),
                 400, "max_cps")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1", "max_sessions": -2}),
                 400, "max_sessions")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1", "max_cps": "2"}),
                 400, "max_cps")
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1", "i_tariff": 999}), 404)
    expect_fault(lambda: a.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1", "colour": "red"}),
                 400, "colour")
    expect_fault(lambda: a.addAuthRule({"i_account": 999999, "i_protocol": 1,
                                        "remote_ip": "192.0.2.1"}), 404)

    # listAuthRules: all of them in id order, filters, paging.
    all_ids = [by_ip, by_cli, by_cld, by_to, by_from, by_all, unlimited]
    rules = ok(a.listAuthRules({"i_account": acct}), "listAuthRules")["authrules"]
    eq([x["i_authentication"] for x in rules], all_ids, "listAuthRules ids")
    for key in ("i_authentication", "remote_ip", "incoming_cli", "incoming_cld", "to_domain",
                "from_domain", "cli_translation_rule", "cld_translation_rule", "i_protocol"):
        check(key in rules[0], f"listAuthRules entries with {key}", sorted(rules[0]))

    def listed(**q):
        got = ok(a.listAuthRules({"i_account": acct, **q}), f"listAuthRules {q}")["authrules"]
        return [x["i_authentication"] for x in got]

    eq(listed(i_protocol=3), [by_cld], "filter i_protocol 3")
    eq(listed(i_protocol=4), [by_from], "filter i_protocol 4")
    eq(listed(i_protocol=2), [], "filter i_protocol 2")
    eq(listed(remote_ip="192.0.2.10"), [by_ip], "filter remote_ip")
    eq(listed(i_protocol=1, remote_ip="198.51.100.7"), [by_all], "filter protocol + remote_ip")
    eq(listed(i_authentication=by_to), [by_to], "filter i_authentication")
    eq(listed(limit=2), all_ids[:2], "limit 2")
    eq(listed(offset=2, limit=3), all_ids[2:5], "offset 2 limit 3")
    eq(listed(offset=6), all_ids[6:], "offset 6")
    eq(listed(offset=100), [], "offset past the end")
    expect_fault(lambda: a.listAuthRules({"i_account": acct, "i_protocol": 9}), 400, "i_protocol")
    expect_fault(lambda: a.listAuthRules({"i_account": acct, "limit": 0}), 400, "limit")
    expect_fault(lambda: a.listAuthRules({"i_account": acct, "offset": -1}), 400, "offset")
    expect_fault(lambda: a.listAuthRules({}), 400, "i_account")
    eq(ok(a.listAuthRules({"i_account": other_acct}), "other account")["authrules"], [],
       "rules of an account without any")

    # updateAuthRule: partial change, the rest stays.
    ok(a.updateAuthRule({"i_authentication": by_ip, "remote_ip": "192.0.2.11",
                         "incoming_cli": "1777", "max_cps": 0.5, "max_sessions": 3,
                         "i_protocol": 3, "cld_translation_rule": "s/x/y/"}),
       "updateAuthRule")
    r = info(by_ip)
    eq((r["remote_ip"], r["incoming_cli"], r["max_cps"], r["max_sessions"], r["i_protocol"],
        r["cld_translation_rule"], r["i_account"]),
       ("192.0.2.11", "1777", 0.5, 3, 3, "s/x/y/", acct), "rule after updateAuthRule")
    ok(a.updateAuthRule({"i_authentication": by_ip, "i_account": acct, "max_cps": None}),
       "updateAuthRule with its own i_account, max_cps nil")
    eq(info(by_ip)["max_cps"], None, "max_cps back to nil")
    # Clearing every match field, moving the rule, bad protocol: refused, nothing changes.
    expect_fault(lambda: a.updateAuthRule({"i_authentication": by_ip, "remote_ip": None,
                                           "incoming_cli": None}), 400, "remote_ip")
    expect_fault(lambda: a.updateAuthRule({"i_authentication": by_ip, "i_account": other_acct}),
                 400, "i_account")
    expect_fault(lambda: a.updateAuthRule({"i_authentication": by_ip, "i_protocol": 5}),
                 400, "i_protocol")
    expect_fault(lambda: a.updateAuthRule({"remote_ip": "192.0.2.1"}), 400, "i_authentication")
    eq(info(by_ip)["remote_ip"], "192.0.2.11", "rule unchanged by refused updates")

    # Another customer cannot touch A's rules: everything is "not found".
    _, _, c = customer_with_login("RuleOther")
    expect_fault(lambda: c.addAuthRule({"i_account": acct, "i_protocol": 1,
                                        "remote_ip": "192.0.2.99"}), 404)
    expect_fault(lambda: c.getAuthRuleInfo({"i_authentication": by_cli}), 404)
    expect_fault(lambda: c.updateAuthRule({"i_authentication": by_cli, "incoming_cli": "1"}), 404)
    expect_fault(lambda: c.delAuthRule({"i_authentication": by_cli}), 404)
    expect_fault(lambda: c.listAuthRules({"i_account": acct}), 404)
    eq(info(by_cli)["incoming_cli"], "15551230000", "rule untouched by the other customer")

    # delAuthRule, then it is gone.
    ok(a.delAuthRule({"i_authentication": by_cli}), "delAuthRule")
    expect_fault(lambda: a.getAuthRuleInfo({"i_authentication": by_cli}), 404)
    expect_fault(lambda: a.delAuthRule({"i_authentication": by_cli}), 404)
    expect_fault(lambda: a.updateAuthRule({"i_authentication": by_cli, "incoming_cli": "1"}),
                 404)
    eq(listed(), [x for x in all_ids if x != by_cli], "list after delAuthRule")
    # Deleting the account takes its rules with it.
    ok(a.deleteAccount({"i_account": acct}), "deleteAccount")
    expect_fault(lambda: a.getAuthRuleInfo({"i_authentication": by_ip}), 404)


def multicall():
    sfx = suffix()
    name, password = f"MultiCust_{sfx}", "pw-" + sfx
    id_c = make_customer(sippy_proxy("root", ROOT_PASSWORD), name, password)
    s = sippy_proxy(name, password)

    # The published style works for single calls too.
    eq(ok(s.getCustomerInfo({"i_customer": id_c}), "getCustomerInfo")["customer"]["name"], name,
       "getCustomerInfo through httplib2")

    user = "mc_" + sfx
    mc = xmlrpc.client.MultiCall(s)
    mc.createAccount(account_params(user))                       # 0 ok
    mc.getAccountInfo({"username": user})                         # 1 ok (sees call 0)
    mc.getCustomerInfo({"i_customer": 999999})                    # 2 fault 404
    mc.createAccount(account_params(user))                        # 3 fault 409
    mc.getAccountInfo({})                                         # 4 fault 400
    mc.noSuchMethod({})                                           # 5 fault -32601
    mc.system.multicall([])                                       # 6 fault: nested
    mc.listAccounts({})                                           # 7 ok
    mc.system.methodHelp("listAccounts")                          # 8 ok
    results = mc()

    created = results[0]
    check(isinstance(created.get("i_account"), int), "createAccount in multicall", created)
    eq(results[1]["i_account"], created["i_account"], "getAccountInfo after create, same batch")
    # A failed entry raises Fault when the iterator reaches it.
    faults = {}
    for index, code in ((2, 404), (3, 409), (4, 400), (5, -32601), (6, -32602)):
        try:
            value = results[index]
            raise Failed(f"multicall entry {index}: expected fault {code}; got {value!r}")
        except Fault as f:
            eq(f.faultCode, code, f"multicall entry {index} faultCode ({f.faultString})")
            faults[index] = f.faultString
    check("nest" in faults[6].lower(), "the nested multicall fault to say so", faults[6])
    eq([a["username"] for a in results[7]["accounts"]], [user], "listAccounts in multicall")
    check(isinstance(results[8], str) and results[8], "methodHelp text", results[8])

    # The raw shape: success = one-element array, failure = {faultCode, faultString}.
    raw = s.system.multicall([
        {"methodName": "getCustomerInfo", "params": [{"i_customer": id_c}]},
        {"methodName": "getCustomerInfo", "params": [{"i_customer": 999999}]},
        {"methodName": "system.listMethods", "params": []},
        {"methodName": "system.multicall", "params": [[]]},
        {"params": []},
        "not a struct",
    ])
    eq(len(raw), 6, "raw multicall length")
    check(isinstance(raw[0], list) and len(raw[0]) == 1 and raw[0][0]["result"] == "OK",
          "success as a one-element array", raw[0])
    for i in (1, 3, 4, 5):
        check(isinstance(raw[i], dict) and set(raw[i]) == {"faultCode", "faultString"},
              f"entry {i} as a fault struct", raw[i])
    eq(raw[1]["faultCode"], 404, "raw fault code")

    # system.*: every method is listed and has help.
    methods = s.system.listMethods()
    for m in SIPPY_METHODS + SYSTEM_METHODS:
        check(m in methods, f"system.listMethods to include {m}", methods)
    for m in SIPPY_METHODS + SYSTEM_METHODS:
        help_text = s.system.methodHelp(m)
        check(isinstance(help_text, str) and help_text.strip(), f"methodHelp({m}) text", help_text)
    check("i_account" in s.system.methodHelp("getAccountInfo"), "helpful help",
          s.system.methodHelp("getAccountInfo"))
    expect_fault(lambda: s.system.methodHelp("noSuchMethod"), -32601)
    eq(s.system.methodSignature("createAccount"), [["struct", "struct"]], "methodSignature")
    expect_fault(lambda: s.system.multicall("x"), -32602)

    # Sippy's style over plain HTTP too (digest protects the password, not the data).
    plain = sippy_proxy(name, password, HTTP_URL)
    eq(plain.system.listMethods(), methods, "listMethods over plain HTTP")


def nonce_reuse():
    server, t = proxy("root", ROOT_PASSWORD)
    for i in range(20):
        if i % 2:
            server.listCustomers({"limit": 1})
        else:
            server.system.listMethods()
    eq(len(t.log), 20, "responses seen by the hook")
    eq([status for status, _, _ in t.log], [200] * 20, "HTTP statuses")
    eq([challenged for _, _, challenged in t.log], [1] + [0] * 19,
       "401 challenges per call (only the first should be challenged)")
    nonces = {re.search(r'nonce="([^"]+)"', h).group(1) for _, h, _ in t.log}
    eq(len(nonces), 1, "distinct nonces over 20 calls")
    ncs = [re.search(r"nc=([0-9a-fA-F]{8})", h).group(1) for _, h, _ in t.log]
    eq(ncs, [f"{i:08x}" for i in range(1, 21)], "nonce counts")
    check('algorithm="MD5"' in t.log[0][1], "requests to answer the MD5 challenge", t.log[0][1])

    # Replay: let the client build its next Authorization header without sending it, then
    # send that exact request twice with no auth object. The second is a replay.
    body = xmlrpc.client.dumps(({},), "listCustomers").encode()
    prepared = t.session.prepare_request(requests.Request(
        "POST", HTTPS_URL, data=body, headers={"Content-Type": "text/xml"}))
    header = prepared.headers["Authorization"]
    check("nc=00000015" in header, "the next header to carry nc 21", header)
    raw = dict(headers={"Authorization": header, "Content-Type": "text/xml"}, data=body,
               verify=CAFILE, auth=None)
    first = requests.post(HTTPS_URL, **raw)
    eq(first.status_code, 200, "the captured header, first use")
    check(b"<methodResponse>" in first.content and b"faultCode" not in first.content,
          "a methodResponse", first.content[:300])
    second = requests.post(HTTPS_URL, **raw)
    eq(second.status_code, 401, "the same header replayed")
    check("Digest" in second.headers.get("WWW-Authenticate", ""), "a fresh challenge",
          second.headers)
    # A lower nc on the same nonce is a replay too; the session goes on past it.
    lower = header.replace("nc=00000015", "nc=00000002")
    eq(requests.post(HTTPS_URL, **{**raw, "headers": {**raw["headers"],
                                                      "Authorization": lower}}).status_code,
       401, "an old nc on the live nonce")
    server.system.listMethods()
    eq(t.log[-1][2], 0, "challenges after the replays (client at nc 22)")

    # A wrong password is challenged again, never let in.
    bad, _ = proxy("root", ROOT_PASSWORD + "x")
    try:
        bad.system.listMethods()
        raise Failed("a wrong password to be refused; the call succeeded")
    except xmlrpc.client.ProtocolError as e:
        eq(e.errcode, 401, "HTTP status for a wrong password")

    # TLS is verified: without the certificate the client refuses the server.
    untrusted, ut = proxy("root", ROOT_PASSWORD)
    ut.verify = True  # the default CA store, which does not know this server
    try:
        untrusted.system.listMethods()
        raise Failed("an unknown self-signed certificate to fail verification")
    except requests.exceptions.SSLError:
        pass

    # Plain HTTP: the same digest session works.
    plain, pt = proxy("root", ROOT_PASSWORD, HTTP_URL)
    for _ in range(3):
        plain.system.listMethods()
    eq([c for _, _, c in pt.log], [1, 0, 0], "challenges over plain HTTP")


def values():
    id_a, _, a = customer_with_login("ValCust")
    text = "  café ☎ 𝄞 & <b>bold</b> \"q\" 'a' \t tab  "
    schemas = ["a", "b&c", "<x>", "ü", ""]
    user = "val_" + suffix()
    acct = make_account(a, user, description=text, privacy_schemas=schemas,
                        credit_limit=1e-05, balance=123456789.125, max_calls_per_second=0.1,
                        preferred_codec=None, lifetime=-1, followme_enabled=True,
                        dnd_enabled=False, first_name="Zoë", company_name="A&B <Ltd>")
    info = a.getAccountInfo({"i_account": acct})
    eq(info["description"], text, "description round trip")
    eq(info["privacy_schemas"], schemas, "privacy_schemas round trip")
    eq(info["credit_limit"], 1e-05, "credit_limit 1e-05 (CPython sends an exponent)")
    eq(info["balance"], -123456789.125, "balance (negated)")
    eq(info["max_calls_per_second"], 0.1, "max_calls_per_second")
    eq(info["preferred_codec"], None, "preferred_codec nil")
    eq(info["lifetime"], -1, "lifetime")
    eq(info["followme_enabled"], 1, "followme_enabled true")
    eq(info["dnd_enabled"], 0, "dnd_enabled false")
    eq(info["first_name"], "Zoë", "first_name")
    eq(info["company_name"], "A&B <Ltd>", "company_name")
    row = [x for x in a.listAccounts({})["accounts"] if x["i_account"] == acct][0]
    eq(row["description"], text, "listAccounts description")
    eq(row["credit_limit"], 1e-05, "listAccounts credit_limit")

    # Other doubles: large, tiny, negative zero, integral; an int where a double goes.
    for d in (1e20, 2.5e-10, 1234567.0, -0.0, 0.30000000000000004, 5):
        ok(a.updateAccount({"i_account": acct, "credit_limit": d}), f"credit_limit {d!r}")
        got = a.getAccountInfo({"i_account": acct})["credit_limit"]
        eq((got, type(got)), (float(d), float), f"credit_limit round trip of {d!r}")
    # nil for optional fields, then set, then nil again; empty list and string.
    ok(a.updateAccount({"i_account": acct, "preferred_codec": 18, "max_calls_per_second": None,
                        "privacy_schemas": [], "description": ""}), "update to nil/empty")
    info = a.getAccountInfo({"i_account": acct})
    eq((info["preferred_codec"], info["max_calls_per_second"], info["privacy_schemas"],
        info["description"]), (18, None, [], ""), "after nil/empty update")
    ok(a.updateAccount({"i_account": acct, "preferred_codec": None}), "preferred_codec nil")
    eq(a.getAccountInfo({"i_account": acct})["preferred_codec"], None, "preferred_codec nil")
    # A boolean where a 0/1 flag goes, and a bool where an int goes is refused.
    ok(a.updateAccount({"i_account": acct, "vm_enabled": False}), "flag as boolean")
    eq(a.getAccountInfo({"i_account": acct})["vm_enabled"], 0, "vm_enabled after false")
    expect_fault(lambda: a.updateAccount({"i_account": acct, "vm_enabled": 2}), 400,
                 "vm_enabled")
    expect_fault(lambda: a.updateAccount({"i_account": acct, "preferred_codec": 19}), 400,
                 "preferred_codec")
    expect_fault(lambda: a.updateAccount({"i_account": acct, "max_sessions": 1.5}), 400,
                 "max_sessions")
    expect_fault(lambda: a.updateAccount({"i_account": acct, "privacy_schemas": "a"}), 400,
                 "privacy_schemas")
    expect_fault(lambda: a.updateAccount({"i_account": acct, "privacy_schemas": [1, 2]}), 400,
                 "privacy_schemas")

    # Types in the wrong place give a clean fault (HTTP 200), not an HTTP error.
    when = xmlrpc.client.DateTime("20240304T14:03:07")
    blob = xmlrpc.client.Binary(b"\x00\x01binary\xff")
    for name, value in (("description", when), ("description", blob),
                        ("max_sessions", when), ("credit_limit", blob),
                        ("description", {"nested": "struct"}), ("i_lang", ["en"])):
        expect_fault(lambda: a.updateAccount({"i_account": acct, name: value}), 400, name)
    expect_fault(lambda: a.getAccountInfo({"i_account": when}), 400, "i_account")
    expect_fault(lambda: a.getAccountInfo({"username": blob}), 400, "username")
    # A dateTime is fine where a date goes.
    ok(a.accountCredit({"i_account": acct, "amount": 1e-05, "currency": "USD",
                        "payment_time": when}), "payment_time as dateTime")
    expect_fault(lambda: a.accountCredit({"i_account": acct, "amount": 1.0, "currency": "USD",
                                          "payment_time": "yesterday"}), 400, "payment_time")
    # The wrong number or kind of params.
    expect_fault(lambda: a.getAccountInfo({"i_account": acct}, {}), -32602)
    expect_fault(lambda: a.getAccountInfo("x"), -32602)
    expect_fault(lambda: a.noSuchMethod({}), -32601)

    # Unicode in a customer name, read back by name.
    uname = f"Кафе & <ß> {suffix()}"
    cid = make_customer(a, uname, "pw-" + suffix(), description=text,
                        web_login="kafe_" + suffix())
    c = ok(a.getCustomerInfo({"name": uname}), "getCustomerInfo by unicode name")["customer"]
    eq((c["i_customer"], c["name"], c["description"]), (cid, uname, text), "unicode customer")


def default_login():
    """createCustomer without web_login names the login after the customer. The
    server's own rule for web_login (1-64 characters, no spaces or ':', which
    Basic auth and many clients need) must hold for that default too: either
    the create is refused naming web_login, or the login it makes obeys the rule."""
    r = root()
    rule = re.compile(r"^[^\s:]{1,64}$")
    # An explicit web_login breaking the rule is refused:
    expect_fault(lambda: r.createCustomer({"name": "Explicit " + suffix(), "web_password": "x",
                                           "i_tariff": None, "web_login": "has space"}),
                 400, "web_login")
    problems = []
    for name in (f"Acme Corp {suffix()}", f"acme:{suffix()}", "L" * 100 + suffix()):
        try:
            r.createCustomer({"name": name, "web_password": "web-pw", "i_tariff": None,
                              "api_password": "api-pw", "api_access": 1,
                              "api_permission": True})
        except Fault as f:
            if f.faultCode == 400 and "web_login" in f.faultString:
                continue  # refused, naming web_login: fine
            raise
        login = r.getCustomerInfo({"name": name})["customer"]["web_login"]
        if not rule.match(login):
            problems.append(f"createCustomer name={name!r} (no web_login) -> web_login "
                            f"{login!r} ({len(login)} chars)")
    if problems:
        raise Failed("default web logins to obey the web_login rule (1-64 chars, no spaces "
                     "or ':') or the create to be refused; got: " + "; ".join(problems))


def account_info_members():
    """getAccountInfo returns, besides the createAccount attributes, the members
    listed in notes/sippy.md section 4 (Sippy's getAccountInfo reply)."""
    _, _, a = customer_with_login("InfoCust")
    acct = make_account(a, "info_" + suffix())
    info = ok(a.getAccountInfo({"i_account": acct}), "getAccountInfo")
    documented = ["i_account", "i_customer", "i_contact", "sessions", "base_currency",
                  "balance", "balance_bak", "credit_limit_bak", "last_login", "first_use",
                  "first_reg_done", "billing_plan_suspended", "next_billing_time",
                  "i_followme_mode", "followme_timeout", "call_recording", "created_on",
                  "created_by", "updated_on", "updated_by"]
    documented += [k for k in account_params("x") if not k.endswith("password")]
    missing = [k for k in documented if k not in info]
    check(not missing, "every documented getAccountInfo member", f"missing {missing}")


SCENARIOS = {f.__name__: f for f in (customer_tree, account_lifecycle, auth_rules, multicall,
                                     nonce_reuse, values, default_login, account_info_members)}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}}")
    name = sys.argv[1]
    try:
        SCENARIOS[name]()
    except Failed as e:
        traceback.print_exc()
        sys.exit(f"FAILED {name}: {e}")
    except Exception as e:  # a Fault or transport error nobody expected
        traceback.print_exc()
        sys.exit(f"FAILED {name}: unexpected {type(e).__name__}: {e}")
    print(f"ok {name}")


if __name__ == "__main__":
    main()
