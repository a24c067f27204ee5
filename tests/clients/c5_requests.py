#!/usr/bin/env python3
"""Drives switchyard's Sipwise-C5-style REST API (/api/, HAL+JSON) with requests.

Usage: python3 tests/clients/c5_requests.py SCENARIO

Environment:
  SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  password of the admin login `root`

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

import requests
from requests.auth import HTTPBasicAuth

API_URL = os.environ["SY_API_URL"].rstrip("/")
CAFILE = os.environ["SY_CAFILE"]
ROOT_PASSWORD = os.environ["SY_ROOT_PASSWORD"]

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


SCENARIOS = {f.__name__: f for f in (paging, patch, put_roundtrip, reseller, options)}


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
