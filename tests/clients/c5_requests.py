#!/usr/bin/env python3
"""Drives switchyard's Sipwise-C5-style REST API (/api/, HAL+JSON) with requests.

Usage: python3 tests/clients/c5_requests.py SCENARIO

Environment:
  SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  password of the admin login `root`
  SY_HTTPS_URL      optional: the XML-RPC endpoint (default SY_API_URL + /xmlapi/xmlapi),
                    used by `callforwards` to create an account the Sippy way

The client is what Python integrations of Sipwise C5 use: one requests.Session
per login with HTTPBasicAuth (sent up front) and keep-alive, JSON bodies,
ids taken from the Location header of each 201, collections walked by
following `_links.next.href`.

Each scenario prints `ok SCENARIO` and exits 0, or exits 1 saying what was
expected and what came back. Scenarios share nothing but the server, so every
name, e-mail address and login they create carries a random suffix.
"""

import json
import os
import random
import re
import string
import sys
import time
import traceback
import urllib.parse
import xmlrpc.client

import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

API_URL = os.environ["SY_API_URL"].rstrip("/")
CAFILE = os.environ["SY_CAFILE"]
ROOT_PASSWORD = os.environ["SY_ROOT_PASSWORD"]
XMLRPC_URL = os.environ.get("SY_HTTPS_URL") or API_URL + "/xmlapi/xmlapi"

HAL = 'application/hal+json; profile="http://purl.org/sipwise/ngcp-api/"'
PATCH_CT = "application/json-patch+json"
# The collections switchyard serves under /api/ (at least these).
COLLECTIONS = ["resellers", "admins", "systemcontacts", "customercontacts", "customers",
               "domains", "billingprofiles", "subscribers"]


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


def describe(r):
    return f"{r.request.method} {r.request.path_url} -> {r.status_code} {r.text[:2000]!r}"


def status(r, code, what):
    if r.status_code != code:
        raise Failed(f"{what}: expected HTTP {code}, got {describe(r)}")
    return r


def error(r, code, prefix, what):
    """The response must be `code` with a JSON body {"code":code,"message":...}
    whose message starts with `prefix`; returns the message."""
    status(r, code, what)
    check(r.headers.get("Content-Type", "").startswith("application/json"),
          f"{what}: an application/json error body", r.headers.get("Content-Type"))
    body = r.json()
    eq(body.get("code"), code, f"{what}: error code")
    msg = body.get("message")
    check(isinstance(msg, str) and msg.startswith(prefix),
          f"{what}: a message starting with {prefix!r}", msg)
    return msg


def as_list(x):
    """HAL's one-vs-many: a single relation is a bare object, several an array."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


class Api:
    """One login: a requests.Session with Basic auth and keep-alive."""

    def __init__(self, login, password):
        self.s = requests.Session()
        self.s.auth = HTTPBasicAuth(login, password)
        self.s.headers["Accept"] = "application/hal+json"

    def call(self, method, path, body=None, ctype="application/json", headers=None,
             raw=None):
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            h.setdefault("Content-Type", ctype)
        # verify per request: a Session's own .verify loses to REQUESTS_CA_BUNDLE.
        return self.s.request(method, API_URL + path, data=data, headers=h, verify=CAFILE,
                              timeout=60, allow_redirects=False)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def item(self, path):
        r = status(self.get(path), 200, f"GET {path}")
        check(r.headers.get("Content-Type") == HAL, f"GET {path}: Content-Type {HAL}",
              r.headers.get("Content-Type"))
        return r.json()

    def create(self, collection, body, what=None):
        """POST; checks 201, Location /api/<collection>/<id> and an empty body;
        returns the id."""
        what = what or f"POST /api/{collection}/"
        r = status(self.call("POST", f"/api/{collection}/", body), 201, what)
        loc = r.headers.get("Location", "")
        m = re.fullmatch(rf"/api/{collection}/(\d+)", loc)
        check(m, f"{what}: Location /api/{collection}/<id>", loc)
        eq(r.content, b"", f"{what}: 201 body")
        return int(m.group(1))

    def patch(self, path, ops, prefer=None, ctype=PATCH_CT):
        headers = {"Prefer": prefer} if prefer else {}
        return self.call("PATCH", path, ops, ctype=ctype, headers=headers)


def root():
    return Api("root", ROOT_PASSWORD)


def walk(api, first):
    """Follows _links.next.href from `first`; returns the list of pages (JSON)
    and checks each page's self href is the path+query requested."""
    pages, url, seen = [], first, set()
    while url:
        check(url not in seen and len(pages) < 100, "the next links to end", url)
        seen.add(url)
        r = status(api.get(url), 200, f"GET {url}")
        page = r.json()
        eq(page["_links"]["self"]["href"], url, "self href of the page")
        pages.append(page)
        nxt = page["_links"].get("next")
        url = nxt["href"] if nxt else None
    return pages


def items_of(page, collection):
    return as_list(page.get("_embedded", {}).get(f"ngcp:{collection}"))


def new_contact(api, email, **extra):
    body = {"email": email, "reseller_id": 1, "firstname": "Test", "lastname": "Contact"}
    body.update(extra)
    return api.create("customercontacts", body)


# ---------------------------------------------------------------- scenarios


def paging():
    api = root()
    dom = f"c5p-{suffix()}.example"
    created = {}
    for i in range(12):
        email = f"u{i:02d}-{suffix()}@{dom}"
        created[new_contact(api, email)] = email

    # Walk 5 rows at a time.
    first = f"/api/customercontacts/?page=1&rows=5&email=*@{dom}"
    pages = walk(api, first)
    eq(len(pages), 3, "number of pages for 12 items at rows=5")
    got = []
    for n, page in enumerate(pages, 1):
        eq(page["total_count"], 12, f"total_count on page {n}")
        links = page["_links"]
        if n > 1:
            check("prev" in links, f"a prev link on page {n}", sorted(links))
            eq(links["prev"]["href"], f"/api/customercontacts/?page={n - 1}&rows=5&email=*@{dom}",
               f"prev href on page {n}")
        else:
            check("prev" not in links, "no prev link on page 1", links.get("prev"))
        if n < 3:
            eq(links["next"]["href"], f"/api/customercontacts/?page={n + 1}&rows=5&email=*@{dom}",
               f"next href on page {n}")
        items = items_of(page, "customercontacts")
        eq(len(items), 5 if n < 3 else 2, f"items on page {n}")
        # Page 3 holds two items: an array. ngcp:customercontacts links match the items.
        eq([l["href"] for l in as_list(links.get("ngcp:customercontacts"))],
           [f"/api/customercontacts/{x['id']}" for x in items], f"item links on page {n}")
        got += [(x["id"], x["email"]) for x in items]
    eq(len(got), len(set(got)), "every item once over the pages")
    eq(dict(got), created, "the items over all pages")
    eq([i for i, _ in got], sorted(created), "default order: id ascending")

    # Without page: the self href still names page=1 first.
    r = status(api.get(f"/api/customercontacts/?rows=5&email=*@{dom}"), 200, "GET without page")
    eq(r.json()["_links"]["self"]["href"], first, "self href without page")

    # A page past the end: no _embedded at all, total_count still 12.
    r = status(api.get(f"/api/customercontacts/?page=4&rows=5&email=*@{dom}"), 200, "page 4")
    check("_embedded" not in r.json(), "no _embedded on an empty page", r.json())
    eq(r.json()["total_count"], 12, "total_count on page 4")

    # no_count=1: total_count null, next still correct (also exactly at the end).
    pages = walk(api, f"/api/customercontacts/?page=1&rows=4&email=*@{dom}&no_count=1")
    eq(len(pages), 3, "pages for 12 items at rows=4 with no_count")
    for n, page in enumerate(pages, 1):
        check("total_count" in page and page["total_count"] is None,
              f"total_count null with no_count (page {n})", page.get("total_count"))
    eq([x["id"] for p in pages for x in items_of(p, "customercontacts")], sorted(created),
       "items with no_count=1")

    # order_by=email, descending, across pages.
    q = f"/api/customercontacts/?page=1&rows=5&email=*@{dom}&order_by=email&order_by_direction=desc"
    pages = walk(api, q)
    emails = [x["email"] for p in pages for x in items_of(p, "customercontacts")]
    eq(emails, sorted(created.values(), reverse=True), "emails ordered descending")
    # ... and ascending by the same column.
    q = f"/api/customercontacts/?page=1&rows=5&email=*@{dom}&order_by=email&order_by_direction=asc"
    emails = [x["email"] for p in walk(api, q) for x in items_of(p, "customercontacts")]
    eq(emails, sorted(created.values()), "emails ordered ascending")

    # A single match: _embedded holds a bare object, not an array.
    one_id, one_email = next(iter(created.items()))
    r = status(api.get(f"/api/customercontacts/?email={urllib.parse.quote(one_email)}"), 200,
               "GET by exact email")
    emb = r.json().get("_embedded", {}).get("ngcp:customercontacts")
    check(isinstance(emb, dict) and emb.get("id") == one_id,
          f"_embedded.ngcp:customercontacts a bare object with id {one_id}", emb)

    # rows=0 is refused.
    error(api.get(f"/api/customercontacts/?rows=0&email=*@{dom}"), 400,
          "Query parameters 'page' and 'rows', when specified, must be greater than 0.",
          "rows=0")


def patch():
    api = root()
    sfx = suffix()
    bp = api.create("billingprofiles", {"name": f"patch {sfx}", "handle": f"patch_{sfx}",
                                        "reseller_id": 1})
    path = f"/api/billingprofiles/{bp}"
    replace = [{"op": "replace", "path": "/name", "value": f"patched {sfx}"}]

    # 415: plain JSON is not a patch document.
    error(api.patch(path, replace, ctype="application/json"), 415,
          "Unsupported media type 'application/json', accepting application/json-patch+json only.",
          "PATCH as application/json")
    # 400: not an array.
    error(api.patch(path, replace[0]), 400, "Body for PATCH must be an array.",
          "PATCH with an object body")
    # 400: an element without op.
    error(api.patch(path, [{"path": "/name", "value": "x"}]), 400,
          "PATCH element must have an 'op' field.", "PATCH element without op")
    # 400: an op the resource does not allow (customercontacts: replace, copy).
    contact = new_contact(api, f"patch-{sfx}@example.com")
    msg = error(api.patch(f"/api/customercontacts/{contact}",
                          [{"op": "remove", "path": "/firstname"}]),
                400, "Invalid PATCH op 'remove', must be one of ", "remove on a customer contact")
    check("'replace'" in msg and "'copy'" in msg, "the allowed ops listed", msg)
    # 422: a pointer into nothing.
    error(api.patch(path, [{"op": "replace", "path": "/nonexistent/field", "value": 1}]), 422,
          "The entity could not be processed", "PATCH with a bad pointer")
    # Nothing of the above changed the profile.
    eq(api.item(path)["name"], f"patch {sfx}", "name after the refused patches")

    # Success, minimal by default.
    r = status(api.patch(path, replace), 204, "PATCH replace /name")
    eq(r.headers.get("Preference-Applied"), "return=minimal", "Preference-Applied")
    eq(r.content, b"", "204 body")
    eq(api.item(path)["name"], f"patched {sfx}", "name after PATCH")
    # And on the contact, replace is fine.
    status(api.patch(f"/api/customercontacts/{contact}",
                     [{"op": "replace", "path": "/firstname", "value": "Patched"}]),
           204, "PATCH replace on a customer contact")
    eq(api.item(f"/api/customercontacts/{contact}")["firstname"], "Patched", "contact firstname")

    # Prefer: return=representation gives the item back.
    r = status(api.patch(path, [{"op": "replace", "path": "/name", "value": f"repr {sfx}"}],
                         prefer="return=representation"), 200, "PATCH with return=representation")
    eq(r.headers.get("Preference-Applied"), "return=representation", "Preference-Applied")
    check(r.headers.get("Content-Type", "").startswith("application/hal+json"),
          "a HAL body", r.headers.get("Content-Type"))
    body = r.json()
    eq((body.get("id"), body.get("name"), body["_links"]["self"]["href"]),
       (bp, f"repr {sfx}", path), "the returned item")
    eq(body, api.item(path), "the returned item against a fresh GET")

    # billingprofiles allow add/remove: append a peak time, refuse an overlap, remove it.
    slot = {"weekday": 2, "start": "08:00:00", "stop": "12:00:00"}
    status(api.patch(path, [{"op": "add", "path": "/peaktime_weekdays/-", "value": slot}]),
           204, "PATCH add peaktime_weekdays")
    eq(api.item(path)["peaktime_weekdays"], [slot], "peaktime_weekdays after add")
    msg = error(api.patch(path, [{"op": "add", "path": "/peaktime_weekdays/-",
                                  "value": dict(slot, start="11:00:00", stop="13:00:00")}]),
                422, "Validation failed. field='peaktime_weekdays'", "an overlapping peak time")
    check("overlap" in msg, "the message to mention overlap", msg)
    status(api.patch(path, [{"op": "remove", "path": "/peaktime_weekdays/0"}]), 204,
           "PATCH remove peaktime_weekdays/0")
    eq(api.item(path)["peaktime_weekdays"], [], "peaktime_weekdays after remove")


def put_roundtrip():
    api = root()
    sfx = suffix()
    contact = new_contact(api, f"put-{sfx}@example.com", company=f"Put {sfx}")
    customer = api.create("customers", {"contact_id": contact, "status": "active",
                                        "type": "sipaccount", "billing_profile_id": 1,
                                        "external_id": f"crm-{sfx}"})
    bp = api.create("billingprofiles", {"name": f"put {sfx}", "handle": f"put_{sfx}",
                                        "reseller_id": 1,
                                        "peaktime_weekdays": [{"weekday": 3, "start": "09:00:00",
                                                               "stop": "17:00:00"}]})
    domain = f"put-{sfx}.example.com"
    api.create("domains", {"domain": domain, "reseller_id": 1})
    sn = str(random.randint(1000000, 9999999))
    subscriber = api.create("subscribers", {
        "customer_id": customer, "domain": domain, "username": f"put_{sfx}",
        "password": "put secret", "webusername": f"put_{sfx}", "webpassword": None,
        "primary_number": {"cc": 43, "ac": 9876, "sn": sn},
        "alias_numbers": [{"cc": 43, "ac": 9877, "sn": sn}, {"cc": 43, "ac": 9878, "sn": sn}],
    })
    # Timestamps have second resolution: let one tick so a needless bump shows.
    time.sleep(1.1)
    problems = []  # every resource is tried before failing
    for path in (f"/api/customercontacts/{contact}", f"/api/customers/{customer}",
                 f"/api/billingprofiles/{bp}", f"/api/subscribers/{subscriber}"):
        before = api.item(path)
        r = status(api.call("PUT", path, before, headers={"Prefer": "return=representation"}),
                   200, f"PUT {path} unchanged")
        eq(r.headers.get("Preference-Applied"), "return=representation",
           f"PUT {path}: Preference-Applied")
        for what, after in (("PUT body", r.json()), ("GET after PUT", api.item(path))):
            if after != before:
                diff = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
                        if before.get(k) != after.get(k)}
                problems.append(f"{path}: {what} differs from the GET in (GET, {what}): {diff!r}")
    if problems:
        raise Failed("PUT of an unchanged GET to give back a deep-equal body; "
                     + "; ".join(problems))


def reseller():
    r_api = root()
    sfx = suffix()
    root_contact = new_contact(r_api, f"root-{sfx}@example.com")
    rid = r_api.create("resellers", {"name": f"Reseller {sfx}", "status": "active"})
    login, password = f"radm_{sfx}", f"pw-{suffix()}"
    aid = r_api.create("admins", {"login": login, "password": password, "reseller_id": rid})
    adm = r_api.item(f"/api/admins/{aid}")
    eq((adm["login"], adm["reseller_id"], adm["read_only"], adm["is_active"]),
       (login, rid, False, True), "the new admin")
    check("password" not in adm, "no password in the admin", sorted(adm))
    api = Api(login, password)

    # A fresh reseller has no contacts: an empty page, none of root's.
    page = status(api.get("/api/customercontacts/?page=1&rows=50"), 200, "list as reseller").json()
    eq((page["total_count"], "_embedded" in page), (0, False), "the reseller's contact list")

    # Asking for reseller 1 gets the reseller's own id forced.
    mine = api.create("customercontacts", {"email": f"mine-{sfx}@example.com", "reseller_id": 1})
    status(api.get(f"/api/customercontacts/{mine}"), 200, "GET own contact as reseller")
    eq(r_api.item(f"/api/customercontacts/{mine}")["reseller_id"], rid,
       "reseller_id of the reseller's contact (seen by root)")
    page = status(api.get("/api/customercontacts/?page=1&rows=50"), 200, "list as reseller").json()
    eq(page["total_count"], 1, "total_count of the reseller's contacts")
    emb = page.get("_embedded", {}).get("ngcp:customercontacts")
    check(isinstance(emb, dict) and emb.get("id") == mine, f"one bare item, id {mine}", emb)

    # Root's contact does not exist for the reseller.
    error(api.get(f"/api/customercontacts/{root_contact}"), 404, "Entity ",
          "GET of root's contact as reseller")
    error(api.patch(f"/api/customercontacts/{root_contact}",
                    [{"op": "replace", "path": "/firstname", "value": "x"}]),
          404, "Entity ", "PATCH of root's contact as reseller")

    # A read-only admin may read but not write.
    ro_login, ro_password = f"rro_{sfx}", f"pw-{suffix()}"
    r_api.create("admins", {"login": ro_login, "password": ro_password, "reseller_id": rid,
                            "read_only": True})
    ro = Api(ro_login, ro_password)
    status(ro.get(f"/api/customercontacts/{mine}"), 200, "GET as read-only admin")
    error(ro.call("POST", "/api/customercontacts/", {"email": f"ro-{sfx}@example.com"}), 403,
          "Invalid HTTP method for read-only user", "POST as read-only admin")
    r = status(ro.call("OPTIONS", "/api/customercontacts/"), 200, "OPTIONS as read-only admin")
    eq(sorted(r.json()["methods"]), ["GET", "HEAD", "OPTIONS"], "read-only methods")


def options():
    api = root()

    # OPTIONS on each collection: Allow, Accept-Post, and the same methods in the body.
    allowed = {}
    for res in COLLECTIONS:
        r = status(api.call("OPTIONS", f"/api/{res}/"), 200, f"OPTIONS /api/{res}/")
        allow = [m.strip() for m in r.headers.get("Allow", "").split(",") if m.strip()]
        check({"GET", "HEAD", "OPTIONS"} <= set(allow), f"Allow for {res} with GET, HEAD, OPTIONS",
              r.headers.get("Allow"))
        eq(r.headers.get("Accept-Post"),
           f"application/hal+json; profile=http://purl.org/sipwise/ngcp-api/#rel-{res}",
           f"Accept-Post of {res}")
        eq(r.json(), {"methods": allow}, f"OPTIONS /api/{res}/ body")
        allowed[res] = allow
    for res in ("customercontacts", "customers", "domains", "billingprofiles", "subscribers"):
        check("POST" in allowed[res], f"POST allowed on {res}", allowed[res])

    # Items: customers have no DELETE, domains no PUT or PATCH.
    r = status(api.call("OPTIONS", "/api/customers/1"), 200, "OPTIONS on a customer item")
    item_allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    check({"GET", "PUT", "PATCH"} <= item_allow and "DELETE" not in item_allow,
          "customer items to allow GET, PUT, PATCH and not DELETE", r.headers.get("Allow"))
    r = status(api.call("OPTIONS", "/api/domains/1"), 200, "OPTIONS on a domain item")
    item_allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    check({"GET", "DELETE"} <= item_allow and not item_allow & {"PUT", "PATCH"},
          "domain items to allow GET and DELETE only", r.headers.get("Allow"))

    # OPTIONS /api/: one Link header per collection.
    r = status(api.call("OPTIONS", "/api/"), 200, "OPTIONS /api/")
    allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
    eq(sorted(allow), ["GET", "HEAD", "OPTIONS"], "Allow of /api/")
    eq(sorted(r.json()["methods"]), ["GET", "HEAD", "OPTIONS"], "methods of /api/")
    links = r.raw.headers.getlist("Link")
    rels = {}
    for link in links:
        m = re.fullmatch(r'</api/([a-z]+)/>; rel="collection '
                         r'http://purl\.org/sipwise/ngcp-api/#rel-([a-z]+)"', link)
        check(m and m.group(1) == m.group(2),
              'each Link as </api/<res>/>; rel="collection ...#rel-<res>"', link)
        check(m.group(1) not in rels, f"one Link for {m.group(1)}", links)
        rels[m.group(1)] = link
    check(set(COLLECTIONS) <= set(rels), f"a Link for each of {COLLECTIONS}", sorted(rels))

    # GET /api/ as JSON: each collection, with its actions and fields.
    r = status(api.get("/api/", headers={"Accept": "application/json"}), 200, "GET /api/ JSON")
    check(r.headers.get("Content-Type", "").startswith("application/json"),
          "Content-Type application/json", r.headers.get("Content-Type"))
    doc = r.json()
    eq(sorted(doc), sorted(rels), "collections in GET /api/ against OPTIONS /api/ links")
    for res, desc in doc.items():
        check(isinstance(desc.get("actions"), list) and desc["actions"],
              f"{res}: a list of actions", desc.get("actions"))
        # admincerts only issues certificates (POST): it has no item fields.
        readable = "GET" in desc["actions"]
        check(isinstance(desc.get("fields"), list) and (desc["fields"] or not readable)
              and all(isinstance(f, dict) and f.get("name") for f in desc["fields"]),
              f"{res}: a list of named fields", desc.get("fields"))
        if res in allowed:
            eq(sorted(desc["actions"]), sorted(allowed[res]), f"{res}: actions against OPTIONS")
    names = {f["name"] for f in doc["customercontacts"]["fields"]}
    check({"id", "email", "reseller_id", "firstname"} <= names, "customercontacts fields",
          sorted(names))

    # OpenAPI 3.1, a path for each collection.
    r = status(api.get("/api/openapi.json", headers={"Accept": "application/json"}), 200,
               "GET /api/openapi.json")
    spec = r.json()
    check(str(spec.get("openapi", "")).startswith("3.1"), "openapi 3.1.x", spec.get("openapi"))
    check(isinstance(spec.get("info"), dict), "an info object", spec.get("info"))
    paths = spec.get("paths", {})
    missing = [res for res in rels if f"/api/{res}/" not in paths]
    check(not missing, "an OpenAPI path for each collection", f"missing {missing}")


# ---------------------------------------------------------------- forwarding and preferences

CF_KINDS = ["cfu", "cfb", "cft", "cfna", "cfs", "cfr", "cfo"]
TIME_PARTS = ["year", "month", "mday", "wday", "hour", "minute"]
# Every preference switchyard defines: name -> (data_type, max_occur); 0 = multi-valued.
PREF_DEFS = {
    "block_in_mode": ("boolean", 1), "block_in_list": ("string", 0),
    "block_in_clir": ("boolean", 1), "block_out_mode": ("boolean", 1),
    "block_out_list": ("string", 0), "block_out_override_pin": ("string", 1),
    "clir": ("boolean", 1), "cli": ("string", 1), "allowed_clis": ("string", 0),
    "concurrent_max": ("int", 1), "music_on_hold": ("boolean", 1), "ringtimeout": ("int", 1),
    "lock": ("enum", 1), "display_name": ("string", 1),
}
WARNING = re.compile(r'^299 switchyard "unknown preferences ignored: (.*)"$')


def new_subscriber(api, tag):
    """A contact, customer, domain and subscriber of reseller 1, made as the existing scenarios
    make them; returns (subscriber id, domain name)."""
    sfx = suffix()
    contact = new_contact(api, f"{tag}-{sfx}@example.com")
    customer = api.create("customers", {"contact_id": contact, "status": "active",
                                        "type": "sipaccount", "billing_profile_id": 1})
    domain = f"{tag}-{sfx}.example.com"
    api.create("domains", {"domain": domain, "reseller_id": 1})
    sid = api.create("subscribers", {
        "customer_id": customer, "domain": domain, "username": f"{tag}_{sfx}",
        "password": "secret " + sfx,
        "primary_number": {"cc": 43, "ac": str(random.randint(1000, 9999)),
                           "sn": str(random.randint(1000000, 9999999))},
    })
    return sid, domain


def new_reseller_admin(r_api):
    """A new reseller and an admin of it, as the `reseller` scenario makes them."""
    sfx = suffix()
    rid = r_api.create("resellers", {"name": f"Reseller {sfx}", "status": "active"})
    login, password = f"radm_{sfx}", f"pw-{suffix()}"
    r_api.create("admins", {"login": login, "password": password, "reseller_id": rid})
    return Api(login, password)


def xmlrpc_root():
    """Sippy-style XML-RPC as `root`: xmlrpc.client over one requests.Session with
    HTTPDigestAuth (as tests/clients/sippy_xmlrpc.py does)."""
    session = requests.Session()
    session.auth = HTTPDigestAuth("root", ROOT_PASSWORD)

    class Transport(xmlrpc.client.Transport):
        def request(self, host, handler, request_body, verbose=False):
            r = session.post(XMLRPC_URL, data=request_body, verify=CAFILE, timeout=60,
                             headers={"Content-Type": "text/xml"})
            if r.status_code != 200:
                raise xmlrpc.client.ProtocolError(XMLRPC_URL, r.status_code, r.reason, r.headers)
            parser, unmarshaller = self.getparser()
            parser.feed(r.content)
            parser.close()
            return unmarshaller.close()

    return xmlrpc.client.ServerProxy(XMLRPC_URL, transport=Transport(), allow_none=True)


def dest(destination, simple, priority, timeout, announcement_id=None):
    """One destination as switchyard gives it back."""
    return {"announcement_id": announcement_id, "destination": destination, "priority": priority,
            "simple_destination": simple, "timeout": timeout}


def cf_rule(destinations, times=(), sources=(), sources_mode=None, sources_is_regex=False,
            bnumbers=(), bnumbers_mode=None, bnumbers_is_regex=False, **extra):
    """A set forwarding type as switchyard gives it back."""
    rule = {
        "destinations": list(destinations), "destinationset": None,
        "times": [dict(t) for t in times], "timeset": None,
        "sources": [{"source": s} for s in sources], "sources_mode": sources_mode,
        "sources_is_regex": sources_is_regex, "sourceset": None,
        "bnumbers": [{"bnumber": b} for b in bnumbers], "bnumbers_mode": bnumbers_mode,
        "bnumbers_is_regex": bnumbers_is_regex, "bnumberset": None,
    }
    rule.update(extra)
    return rule


def cf_types(doc):
    """The seven types of a callforwards item (no _links); checks there is nothing else."""
    eq(sorted(doc), sorted(CF_KINDS + ["_links"]), "the keys of a callforwards item")
    return {k: doc[k] for k in CF_KINDS}


def without_null_times(types):
    """Drops null time parts, so a time entry compares by what it restricts (the exact shape
    of time entries is checked on its own; see times_shape)."""
    out = json.loads(json.dumps(types))
    for rule in out.values():
        if isinstance(rule, dict) and isinstance(rule.get("times"), list):
            rule["times"] = [{k: v for k, v in t.items() if v is not None} for t in rule["times"]]
    return out


def times_shape(types, what):
    """c5.md and issue 5: each time entry is {year, month, mday, wday, hour, minute}, as C5
    renders a time set period (unset parts null). Returns a problem or None."""
    for kind, rule in types.items():
        for n, t in enumerate(rule.get("times") or []):
            if sorted(t) != sorted(TIME_PARTS):
                return (f"{what}: {kind}.times.{n} to hold exactly {TIME_PARTS} (null when "
                        f"unset), got {t!r}")
    return None


def callforwards():
    api = root()
    sid, domain = new_subscriber(api, "cf")
    path = f"/api/callforwards/{sid}"
    prefs = f"/api/subscriberpreferences/{sid}"
    problems = []  # shape deviations: reported at the end, after every other check ran

    # A new subscriber forwards nothing: exactly the seven types, each {}.
    doc = api.item(path)
    eq(cf_types(doc), {k: {} for k in CF_KINDS}, "a new subscriber's forwards")
    links = doc["_links"]
    eq((links["self"]["href"], links["collection"]["href"],
        links.get("ngcp:subscribers", {}).get("href")),
       (path, "/api/callforwards/", f"/api/subscribers/{sid}"),
       "self, collection and subscriber links")

    # Every type at once: numbers, URIs and specials; cfna with times, cft with a blacklist of
    # sources and a ring timeout, cfo with a B-number whitelist.
    office = {"year": None, "month": None, "mday": None, "wday": "2-6", "hour": "8-18",
              "minute": None}
    weekend = {"year": "2026-2030", "month": "1-12", "mday": "1-31", "wday": "7", "hour": "12",
               "minute": "0-30"}
    written = {
        "cfu": {"destinations": [
            {"destination": "5678", "priority": 1, "timeout": 20},
            {"destination": "sip:bob@other.example", "priority": 2, "timeout": 30}]},
        "cfb": {"destinations": [{"destination": "voicebox", "priority": 1, "timeout": 15}]},
        "cft": {"destinations": [{"destination": "+4319999", "priority": 1, "timeout": 25}],
                "ringtimeout": 25, "sources": [{"source": "4312345"}, {"source": "4399*"}],
                "sources_mode": "blacklist", "sources_is_regex": False},
        "cfna": {"destinations": [
            {"destination": "4366610001", "priority": 1, "timeout": 10},
            {"destination": "4366710001", "priority": 2, "timeout": 300}],
                 "times": [office, weekend]},
        "cfs": {"destinations": [{"destination": "conference", "priority": 1, "timeout": 300}],
                "times": []},
        "cfr": {"destinations": [{"destination": "fax2mail", "priority": 1, "timeout": 60}],
                "times": None},
        "cfo": {"destinations": [{"destination": "officehours", "priority": 1, "timeout": 120,
                                  "announcement_id": None}],
                "bnumbers": [{"bnumber": "43800*"}], "bnumbers_mode": "whitelist",
                "bnumbers_is_regex": False},
    }
    want = {
        "cfu": cf_rule([dest(f"sip:5678@{domain}", "5678", 1, 20),
                        dest("sip:bob@other.example", "bob@other.example", 2, 30)]),
        "cfb": cf_rule([dest("voicebox", "voicebox", 1, 15)]),
        "cft": cf_rule([dest(f"sip:+4319999@{domain}", "+4319999", 1, 25)],
                       sources=["4312345", "4399*"], sources_mode="blacklist", ringtimeout=25),
        "cfna": cf_rule([dest(f"sip:4366610001@{domain}", "4366610001", 1, 10),
                         dest(f"sip:4366710001@{domain}", "4366710001", 2, 300)],
                        times=[office, weekend]),
        "cfs": cf_rule([dest("conference", "conference", 1, 300)]),
        "cfr": cf_rule([dest("fax2mail", "fax2mail", 1, 60)]),
        "cfo": cf_rule([dest("officehours", "officehours", 1, 120)], bnumbers=["43800*"],
                       bnumbers_mode="whitelist"),
    }
    r = status(api.call("PUT", path, written, headers={"Prefer": "return=representation"}), 200,
               "PUT every forwarding type")
    eq(r.headers.get("Preference-Applied"), "return=representation", "Preference-Applied")
    put_body = r.json()
    eq(without_null_times(cf_types(put_body)), without_null_times(want), "the PUT body")
    problems.append(times_shape(cf_types(put_body), "PUT body"))
    eq(api.item(path), put_body, "GET after PUT against the PUT body")

    def unchanged(what):
        eq(without_null_times(cf_types(api.item(path))), without_null_times(want),
           f"the forwards after {what}")

    # cft.ringtimeout is the ringtimeout preference, both ways.
    eq(api.item(prefs).get("ringtimeout"), 25, "the ringtimeout preference after the PUT")
    status(api.patch(prefs, [{"op": "replace", "path": "/ringtimeout", "value": 40}]), 204,
           "PATCH the ringtimeout preference")
    want["cft"]["ringtimeout"] = 40
    unchanged("changing the ringtimeout preference (cft.ringtimeout 40)")

    # PUT of an unchanged GET gives back a body deep-equal to the GET.
    before = api.item(path)
    body = {k: v for k, v in before.items() if k != "_links"}
    r = status(api.call("PUT", path, body, headers={"Prefer": "return=representation"}), 200,
               "PUT of the unchanged GET")
    eq(r.json(), before, "PUT of the unchanged GET against the GET")
    eq(api.item(path), before, "GET after PUT of the unchanged GET")

    # PATCH one destination's timeout (replace), then copy one (copy); remove is not allowed.
    r = status(api.patch(path, [{"op": "replace", "path": "/cfna/destinations/1/timeout",
                                 "value": 45}]), 204, "PATCH replace a cfna timeout")
    eq(r.headers.get("Preference-Applied"), "return=minimal", "Preference-Applied")
    eq(r.content, b"", "204 body")
    want["cfna"]["destinations"][1]["timeout"] = 45
    unchanged("PATCH replace /cfna/destinations/1/timeout")
    status(api.patch(path, [{"op": "copy", "from": "/cfu/destinations/0/timeout",
                             "path": "/cfb/destinations/0/timeout"}]), 204, "PATCH copy a timeout")
    want["cfb"]["destinations"][0]["timeout"] = 20
    unchanged("PATCH copy /cfu/destinations/0/timeout to /cfb/destinations/0/timeout")
    error(api.patch(path, [{"op": "remove", "path": "/cfna/destinations/1"}]), 400,
          "Invalid PATCH op 'remove', must be one of ", "PATCH remove on callforwards")
    unchanged("a refused PATCH remove")

    # Every 422 names the field, and nothing is changed by a refused document (each bad
    # document is the current one with one bad part, so a partial write would show).
    current = {k: v for k, v in api.item(path).items() if k != "_links"}

    def bad(edit):
        doc = json.loads(json.dumps(current))
        edit(doc)
        return doc

    def refused(r, field, what):
        msg = error(r, 422, f"Validation failed. field='{field}'", what)
        unchanged(what)
        return msg

    refused(api.call("PUT", path, bad(lambda d: d["cfu"]["destinations"][0].update(timeout="ten"))),
            "cfu.destinations.0.timeout", "PUT with timeout 'ten'")
    refused(api.call("PUT", path, bad(lambda d: d["cfu"]["destinations"][1].update(timeout=1.5))),
            "cfu.destinations.1.timeout", "PUT with timeout 1.5")
    refused(api.patch(path, [{"op": "replace", "path": "/cfna/destinations/1/timeout",
                              "value": "x"}]),
            "cfna.destinations.1.timeout", "PATCH with timeout 'x'")
    refused(api.call("PUT", path, bad(lambda d: d["cfu"].update(
        times=[{"year": None, "month": None, "mday": None, "wday": None, "hour": "25",
                "minute": None}]))),
            "cfu.times.0", "PUT with cfu hour 25")
    refused(api.patch(path, [{"op": "replace", "path": "/cfna/times/1/hour", "value": "8-25"}]),
            "cfna.times.1", "PATCH with cfna hour 8-25")
    msg = refused(api.call("PUT", path, bad(lambda d: d["cfs"]["destinations"][0].update(
        destination="conferencing"))),
        "cfs.destinations.0.destination", "PUT with the unknown special 'conferencing'")
    if "input='conferencing'" not in msg:
        problems.append("c5.md section 4: a 422 reads Validation failed. field='<f>', input='<v>',"
                        f" ...; for destination 'conferencing' got {msg!r}")
    refused(api.call("PUT", path, bad(lambda d: d["cfu"]["destinations"][1].update(
        destination="%%garbage%%"))),
        "cfu.destinations.1.destination", "PUT with the destination '%%garbage%%'")
    refused(api.patch(path, [{"op": "replace", "path": "/cfb/destinations/0/destination",
                              "value": "bogus word"}]),
            "cfb.destinations.0.destination", "PATCH with the destination 'bogus word'")
    eq(api.item(prefs).get("ringtimeout"), 40, "the ringtimeout preference after the refusals")

    # A type with an empty destination list is unset.
    status(api.call("PUT", path, bad(lambda d: d["cfs"].update(destinations=[]))), 204,
           "PUT with cfs.destinations []")
    want["cfs"] = {}
    unchanged("PUT with cfs.destinations []")

    # The collection is GET only, one item per subscriber, each with the seven types.
    page = status(api.get("/api/callforwards/?page=1&rows=1"), 200, "GET /api/callforwards/").json()
    check(isinstance(page.get("total_count"), int) and page["total_count"] >= 1,
          "a total_count of at least 1", page.get("total_count"))
    one = page.get("_embedded", {}).get("ngcp:callforwards")
    check(isinstance(one, dict), "one bare embedded item at rows=1", one)
    cf_types(one)
    error(api.call("POST", "/api/callforwards/", written), 404, "Path not found",
          "POST /api/callforwards/")

    # DELETE clears every type.
    r = status(api.call("DELETE", path), 204, "DELETE the forwards")
    eq(r.content, b"", "204 body")
    eq(cf_types(api.item(path)), {k: {} for k in CF_KINDS}, "the forwards after DELETE")

    # Reseller isolation: another reseller's admin finds neither the forwards nor the
    # preferences of this subscriber, and changes nothing.
    status(api.call("PUT", path, written), 204, "PUT every type again")
    want["cfs"] = cf_rule([dest("conference", "conference", 1, 300)])
    want["cfb"]["destinations"][0]["timeout"] = 15
    want["cfna"]["destinations"][1]["timeout"] = 300
    want["cft"]["ringtimeout"] = 25
    unchanged("PUT every type again")
    prefs_before = api.item(prefs)
    other = new_reseller_admin(api)
    for method, target, body in (
            ("GET", path, None), ("PUT", path, {}), ("DELETE", path, None),
            ("GET", prefs, None), ("PUT", prefs, {"concurrent_max": 1})):
        error(other.call(method, target, body), 404, "Entity ",
              f"{method} {target} as another reseller's admin")
    for target, ops in ((path, [{"op": "replace", "path": "/cfu/destinations/0/timeout",
                                 "value": 5}]),
                        (prefs, [{"op": "add", "path": "/concurrent_max", "value": 1}])):
        error(other.patch(target, ops), 404, "Entity ",
              f"PATCH {target} as another reseller's admin")
    for coll in ("callforwards", "subscriberpreferences"):
        page = status(other.get(f"/api/{coll}/?page=1&rows=50"), 200,
                      f"GET /api/{coll}/ as another reseller's admin").json()
        eq((page.get("total_count"), "_embedded" in page), (0, False),
           f"/api/{coll}/ seen by a reseller without subscribers")
    unchanged("another reseller's attempts")
    eq(api.item(prefs), prefs_before, "the preferences after another reseller's attempts")

    # A terminated subscriber has no forwards any more.
    status(api.call("DELETE", f"/api/subscribers/{sid}"), 204, "terminate the subscriber")
    error(api.get(path), 404, "Entity ", "the forwards of a terminated subscriber")

    # An account created through XML-RPC (createAccount) has forwarding and preferences here,
    # under its i_account.
    rpc = xmlrpc_root()
    user = f"cfx_{suffix()}"
    reply = rpc.createAccount({
        "username": user, "web_password": "web-secret-1", "authname": user,
        "voip_password": "voip-secret-1", "translation_rule": "", "cli_translation_rule": "",
        "cpe_number": "", "vm_password": "1234", "i_lang": "en", "payment_currency": "USD",
        "max_sessions": 2, "max_credit_time": 3600, "i_billing_plan": 1, "i_time_zone": 1,
        "vm_enabled": 1, "blocked": 0, "payment_method": 1, "i_export_type": 2,
        "credit_limit": 50.0, "balance": 10.0, "i_routing_group": 1,
    })
    check(reply.get("result") == "OK" and isinstance(reply.get("i_account"), int),
          "createAccount to answer OK with an int i_account", reply)
    acct = reply["i_account"]
    apath, aprefs = f"/api/callforwards/{acct}", f"/api/subscriberpreferences/{acct}"
    eq(cf_types(api.item(apath)), {k: {} for k in CF_KINDS}, "a new XML-RPC account's forwards")
    # (URIs and specials only: an XML-RPC account has no SIP domain to complete a number with.)
    acct_written = {
        "cfu": {"destinations": [
            {"destination": "sip:alice@example.org", "priority": 1, "timeout": 15},
            {"destination": "voicebox", "priority": 2, "timeout": 30}]},
        "cft": {"destinations": [{"destination": "sip:carol@example.org", "priority": 1,
                                  "timeout": 10}], "ringtimeout": 20},
    }
    acct_want = {k: {} for k in CF_KINDS}
    acct_want["cfu"] = cf_rule([dest("sip:alice@example.org", "alice@example.org", 1, 15),
                                dest("voicebox", "voicebox", 2, 30)])
    acct_want["cft"] = cf_rule([dest("sip:carol@example.org", "carol@example.org", 1, 10)],
                               ringtimeout=20)
    r = status(api.call("PUT", apath, acct_written, headers={"Prefer": "return=representation"}),
               200, "PUT forwards of an XML-RPC account")
    eq(cf_types(r.json()), acct_want, "the XML-RPC account's forwards (PUT body)")
    eq(cf_types(api.item(apath)), acct_want, "the XML-RPC account's forwards (GET)")
    p = api.item(aprefs)
    eq((p.get("id"), p.get("subscriber_id"), p.get("ringtimeout")), (acct, acct, 20),
       "the XML-RPC account's preferences (id, subscriber_id, ringtimeout)")
    status(api.patch(aprefs, [{"op": "add", "path": "/concurrent_max", "value": 3}]), 204,
           "PATCH a preference of an XML-RPC account")
    eq(api.item(aprefs).get("concurrent_max"), 3, "the XML-RPC account's concurrent_max")
    eq(rpc.getAccountInfo({"i_account": acct}).get("username"), user,
       "the account, still there for XML-RPC")
    check(rpc.deleteAccount({"i_account": acct}).get("result") == "OK", "deleteAccount OK")
    error(api.get(apath), 404, "Entity ", "the forwards of a deleted XML-RPC account")
    error(api.get(aprefs), 404, "Entity ", "the preferences of a deleted XML-RPC account")

    problems = [p for p in problems if p]
    if problems:
        raise Failed("; ".join(problems))


def preferences():
    api = root()
    sid, _ = new_subscriber(api, "prefs")
    path = f"/api/subscriberpreferences/{sid}"
    repr_ = {"Prefer": "return=representation"}

    def prefs_of(doc):
        eq((doc.get("id"), doc.get("subscriber_id")), (sid, sid), "id and subscriber_id")
        eq(doc["_links"]["self"]["href"], path, "self href")
        return {k: v for k, v in doc.items() if k not in ("_links", "id", "subscriber_id")}

    def unknown_named(r):
        m = WARNING.match(r.headers.get("Warning", ""))
        return sorted(n.strip() for n in m.group(1).split(",")) if m else None

    # A new subscriber has no preferences set: the flat body is only id and subscriber_id.
    eq(prefs_of(api.item(path)), {}, "a new subscriber's preferences")

    # The seed's sample round trips through PUT, and no Warning when every name is known.
    sample = {"block_in_mode": True, "block_in_list": ["4366412345", "431*"],
              "concurrent_max": 5, "music_on_hold": True}
    r = status(api.call("PUT", path, sample, headers=repr_), 200, "PUT the sample")
    eq(r.headers.get("Preference-Applied"), "return=representation", "Preference-Applied")
    check("Warning" not in r.headers, "no Warning header when every name is known",
          r.headers.get("Warning"))
    eq(prefs_of(r.json()), sample, "the PUT body")
    eq(api.item(path), r.json(), "GET after PUT against the PUT body")
    # ... and a PUT of the unchanged GET gives the same back.
    before = api.item(path)
    r = status(api.call("PUT", path, {k: v for k, v in before.items() if k != "_links"},
                        headers=repr_), 200, "PUT of the unchanged GET")
    eq(r.json(), before, "PUT of the unchanged GET against the GET")
    want = dict(sample)

    # PATCH: replace, Sipwise's mode append, remove by value, remove, add, copy.
    def patched(ops, what):
        r = status(api.patch(path, ops, prefer="return=representation"), 200, what)
        eq(prefs_of(r.json()), want, f"the body of {what}")
        eq(prefs_of(api.item(path)), want, f"GET after {what}")

    want.update(concurrent_max=7, block_in_mode=False)
    patched([{"op": "replace", "path": "/concurrent_max", "value": 7},
             {"op": "replace", "path": "/block_in_mode", "value": False}], "PATCH replace")
    want["block_in_list"] = ["4366412345", "431*", "4399*"]
    patched([{"op": "add", "path": "/block_in_list", "value": "4399*", "mode": "append"}],
            "PATCH add with mode append")
    want["block_in_list"] = ["4366412345", "4399*"]
    patched([{"op": "remove", "path": "/block_in_list", "value": "431*"}],
            "PATCH remove by value")
    del want["music_on_hold"]
    want.update(clir=True, allowed_clis=["4366412345", "4399*"])
    patched([{"op": "remove", "path": "/music_on_hold"},
             {"op": "add", "path": "/clir", "value": True},
             {"op": "copy", "from": "/block_in_list", "path": "/allowed_clis"}],
            "PATCH remove, add and copy")
    want["music_on_hold"] = True
    patched([{"op": "add", "path": "/music_on_hold", "value": True}], "PATCH add music_on_hold")
    # Appending to a preference that is not set is refused.
    status(api.patch(path, [{"op": "add", "path": "/block_out_list", "value": "1",
                             "mode": "append"}]), 422, "PATCH append to an unset preference")
    eq(prefs_of(api.item(path)), want, "the preferences after a refused append")

    # Each 422, by PUT (the current set with one bad value) and by PATCH; nothing changes.
    def refused(r, message, what):
        msg = error(r, 422, message, what)
        eq(msg, message, f"{what}: the whole message")
        eq(prefs_of(api.item(path)), want, f"the preferences after {what}")

    int_msg = "Invalid data type for element in preference 'concurrent_max', expected 'int'"
    enum_msg = "Invalid enum value in preference 'lock'"
    for what, field, value, message in (
            ("concurrent_max 'lots'", "concurrent_max", "lots", int_msg),
            ("concurrent_max 2.5", "concurrent_max", 2.5, int_msg),
            ("ringtimeout 'abc'", "ringtimeout", "abc",
             "Invalid data type for element in preference 'ringtimeout', expected 'int'"),
            ("music_on_hold 'yes'", "music_on_hold", "yes",
             "Invalid data type for element in preference 'music_on_hold', expected 'boolean'"),
            ("lock '9'", "lock", "9", enum_msg),
            ("lock 'global'", "lock", "global", enum_msg),
            ("display_name of 129 characters", "display_name", "x" * 129,
             "Preference 'display_name' exceeds maximum length of 128 characters"),
            ("a block_in_list entry of 129 characters", "block_in_list",
             ["4366412345", "9" * 129],
             "Preference 'block_in_list' exceeds maximum length of 128 characters")):
        refused(api.call("PUT", path, dict(want, **{field: value})), message, f"PUT with {what}")
        refused(api.patch(path, [{"op": "add", "path": f"/{field}", "value": value}]), message,
                f"PATCH with {what}")
    # The limits themselves are fine.
    want.update(lock="5", display_name="d" * 128)
    patched([{"op": "add", "path": "/lock", "value": "5"},
             {"op": "add", "path": "/display_name", "value": "d" * 128}],
            "PATCH lock '5' and a display_name of 128 characters")

    # Unknown names are ignored, but named in a Warning header (the seed's prepaid_library
    # and a typo), by PUT and by PATCH; the known ones are applied.
    r = status(api.call("PUT", path, dict(want, prepaid_library="libinewrate",
                                          blokc_in_list=["1"])), 204, "PUT with unknown names")
    eq(unknown_named(r), ["blokc_in_list", "prepaid_library"], "the names in the Warning header")
    eq(prefs_of(api.item(path)), want, "the preferences after a PUT with unknown names")
    r = status(api.patch(path, [{"op": "add", "path": "/prepaid_library", "value": "x"},
                                {"op": "replace", "path": "/concurrent_max", "value": 9}]),
               204, "PATCH with an unknown name")
    eq(unknown_named(r), ["prepaid_library"], "the names in the Warning header of the PATCH")
    want["concurrent_max"] = 9
    eq(prefs_of(api.item(path)), want, "the preferences after a PATCH with an unknown name")

    # PUT replaces the whole set: what it leaves out is gone.
    r = status(api.call("PUT", path, {"clir": True, "cli": "4312345"}, headers=repr_), 200,
               "PUT of two preferences")
    want = {"clir": True, "cli": "4312345"}
    eq(prefs_of(r.json()), want, "the PUT body")
    eq(prefs_of(api.item(path)), want, "the preferences after a PUT of two")
    status(api.call("PUT", path, {}), 204, "PUT {}")
    eq(prefs_of(api.item(path)), {}, "the preferences after PUT {}")

    # subscriberpreferencedefs: one HAL object keyed by name (not a paged list), every
    # definition with its fields.
    r = status(api.get("/api/subscriberpreferencedefs/"), 200, "GET /api/subscriberpreferencedefs/")
    check(r.headers.get("Content-Type", "").startswith("application/hal+json"), "a HAL body",
          r.headers.get("Content-Type"))
    defs = r.json()
    check("_embedded" not in defs and "total_count" not in defs, "one object, not a page",
          sorted(defs))
    eq(defs["_links"]["self"]["href"], "/api/subscriberpreferencedefs/", "self href of the defs")
    missing = sorted(set(PREF_DEFS) - set(defs))
    check(not missing, "a definition for each preference", f"missing {missing}")
    for name, (data_type, max_occur) in PREF_DEFS.items():
        d = defs[name]
        check(isinstance(d, dict), f"{name}: an object", d)
        eq(sorted(d), sorted(["label", "description", "preference_group", "data_type",
                              "max_occur", "read_only", "enum_values"]), f"{name}: its fields")
        for text in ("label", "description", "preference_group"):
            check(isinstance(d[text], str) and d[text].strip(), f"{name}: a {text}", d[text])
        eq((d["data_type"], d["max_occur"], d["read_only"]), (data_type, max_occur, False),
           f"{name}: data_type, max_occur, read_only")
        check(isinstance(d["enum_values"], list), f"{name}: an enum_values list", d["enum_values"])
        if data_type != "enum":
            eq(d["enum_values"], [], f"{name}: enum_values")
    values = defs["lock"]["enum_values"]
    eq([v.get("value") for v in values], [str(n) for n in range(6)], "the lock enum values")
    for v in values:
        eq(sorted(v), ["default_val", "label", "value"], "the fields of a lock enum value")
        check(isinstance(v["label"], str) and v["label"], "a label for each lock value", v)
    eq(sum(1 for v in values if v["default_val"]), 1, "exactly one default lock value")
    for other in sorted(set(defs) - set(PREF_DEFS) - {"_links"}):
        check(isinstance(defs[other], dict) and "data_type" in defs[other],
              f"{other}: a definition object", defs[other])


SCENARIOS = {f.__name__: f for f in (paging, patch, put_roundtrip, reseller, options,
                                     callforwards, preferences)}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}}")
    name = sys.argv[1]
    try:
        SCENARIOS[name]()
    except Failed as e:
        traceback.print_exc()
        sys.exit(f"FAILED {name}: {e}")
    except Exception as e:  # a transport error or a body that is not what we parsed
        traceback.print_exc()
        sys.exit(f"FAILED {name}: unexpected {type(e).__name__}: {e}")
    print(f"ok {name}")


if __name__ == "__main__":
    main()
