#!/usr/bin/env python3
"""Drives switchyard's sipXconfig-style REST API (/sipxconfig/rest/) with requests.

Usage: python3 tests/clients/sipx_requests.py SCENARIO USER PIN

Environment:
  SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  password of the admin login `root`

USER is a subscriber whose portal PIN is PIN; the shared phonebook `sales`
holds Alice Example 1001 and Bob "B" Builder 1002 (imported by the test).
The client is what user-portal scripts do: requests with HTTPBasicAuth or
HTTPDigestAuth, XML parsed with ElementTree, JSON with json, CSV with the csv
module set to sipXconfig's dialect (backslash-escaped quotes).

Prints `ok SCENARIO` and exits 0, or exits 1 saying what went wrong.
"""

import csv
import io
import json
import os
import sys
import traceback
import xml.etree.ElementTree as ET

import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

BASE = os.environ["SY_API_URL"].rstrip("/") + "/sipxconfig/rest/"
CAFILE = os.environ["SY_CAFILE"]
ROOT = HTTPBasicAuth("root", os.environ["SY_ROOT_PASSWORD"])


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def call(method, path, auth, **kw):
    r = requests.request(method, BASE + path, auth=auth, verify=CAFILE, timeout=10, **kw)
    return r


def phonebooks(user, pin):
    me = HTTPBasicAuth(user, pin)
    # The admin's shared phonebook: CSV by default, in sipXconfig's dialect.
    r = call("GET", "phonebook/sales", ROOT)
    expect(r.status_code == 200, f"GET phonebook/sales: {r.status_code} {r.text}")
    expect(r.headers["Content-Type"].startswith("text/comma-separated-values"), r.headers)
    rows = list(csv.reader(io.StringIO(r.text), escapechar="\\", doublequote=False))
    expect(rows[0] == ["First name", "Last name", "Number"], rows)
    expect(["Bob \"B\"", "Builder", "1002"] in rows, rows)
    # The same as XML, with a declaration.
    r = call("GET", "phonebook/sales", ROOT, headers={"Accept": "text/xml"})
    expect(r.text.startswith("<?xml"), r.text)
    root = ET.fromstring(r.content)
    numbers = [e.findtext("number") for e in root.findall("entry")]
    expect(numbers == ["1001", "1002"], numbers)
    r = call("GET", "phonebook", ROOT, headers={"Accept": "application/json"})
    expect({"name": "sales"} in r.json()["phonebooks"], r.text)
    # A subscriber may not use the admin routes.
    r = call("GET", "phonebook/sales", me)
    expect(r.status_code == 401, f"subscriber on admin route: {r.status_code}")

    # The subscriber's own phonebook: the shared entries plus its own.
    entry = {"entry": {"first-name": "Zoe", "last-name": "Private", "number": "5550",
                       "contact-information": {"emailAddress": "zoe@example.com"}}}
    r = call("POST", "my/phonebook", me, json=entry, headers={"Accept": "application/json"})
    expect(r.status_code == 200, f"POST my/phonebook: {r.status_code} {r.text}")
    zoe = r.json()["entry"]["id"]
    r = call("GET", "my/phonebook", me, headers={"Accept": "application/json"})
    names = [e["first-name"] for e in r.json()["phonebook"]]
    expect(names == ["Bob \"B\"", "Alice", "Zoe"], f"ordered by last name: {names}")
    r = call("GET", "my/search/phonebook", me, params={"query": "zoe"},
             headers={"Accept": "application/json"})
    found = r.json()["phonebook"]
    expect(len(found) == 1 and found[0]["contact-information"]["emailAddress"] == "zoe@example.com",
           r.text)
    r = call("GET", "my/pagedphonebook", me, params={"start": 1, "end": 2})
    page = ET.fromstring(r.content)
    expect(page.findtext("size") == "3" and page.findtext("end-row") == "2", r.text)
    expect([e.findtext("first-name") for e in page.find("entries")] == ["Alice"], r.text)
    # Change and delete the own entry (XML this time); a shared one is refused.
    xml = "<entry><first-name>Zoe</first-name><last-name>Renamed</last-name>" \
          "<number>5551</number></entry>"
    r = call("PUT", f"my/phonebook/entry/{zoe}", me, data=xml,
             headers={"Content-Type": "text/xml"})
    expect(r.status_code == 200, f"PUT entry: {r.status_code} {r.text}")
    r = call("GET", f"my/phonebook/entry/{zoe}", me)
    expect(ET.fromstring(r.content).findtext("number") == "5551", r.text)
    shared = [e for e in call("GET", "my/phonebook", me,
                              headers={"Accept": "application/json"}).json()["phonebook"]
              if e["first-name"] == "Alice"][0]["id"]
    r = call("DELETE", f"my/phonebook/entry/{shared}", me)
    expect(r.status_code == 403, f"deleting a shared entry: {r.status_code} {r.text}")
    r = call("DELETE", f"my/phonebook/entry/{zoe}", me)
    expect(r.status_code == 200, r.text)
    r = call("GET", f"my/phonebook/entry/{zoe}", me)
    expect(r.status_code == 404, r.status_code)


def forward(user, pin):
    me = HTTPDigestAuth(user, pin)
    xml = ("<call-sequence><rings><ring><expiration>25</expiration><type>If no response</type>"
           "<enabled>true</enabled><number>3001</number></ring></rings>"
           "<expiration>15</expiration></call-sequence>")
    r = call("PUT", "my/forward", me, data=xml, headers={"Content-Type": "text/xml"})
    expect(r.status_code == 200, f"PUT my/forward: {r.status_code} {r.text}")
    r = call("GET", "my/forward", me, headers={"Accept": "application/json"})
    seq = r.json()["call-sequence"]
    expect(seq["rings"][0] == {"expiration": 25, "type": "If no response", "enabled": True,
                               "number": "3001"}, seq)
    expect(seq["expiration"] == 15 and seq["withVoicemail"] is False, seq)
    r = call("GET", "my/forward", me)
    root = ET.fromstring(r.content)
    expect(root.tag == "call-sequence" and not r.text.startswith("<?xml"), r.text)
    expect(root.find("rings/ring/number").text == "3001", r.text)


SCENARIOS = {"phonebooks": phonebooks, "forward": forward}

if __name__ == "__main__":
    scenario, user, pin = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        SCENARIOS[scenario](user, pin)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    print(f"ok {scenario}")
