#!/usr/bin/env python3
"""Replays what SIP2SIP clients send to switchyard's /settings.phtml, with requests.

Usage: python3 tests/clients/sip2sip_requests.py SCENARIO

Environment:
  SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  password of the admin login `root` (sets up subscribers through /api/ and
                    feeds call records through /feed/)

No SIP2SIP client runs headless, so the requests are those of Blink Cocoa and Sylk WebRTC
(notes/sipx_sip2sip.md, B4): Digest with requests' HTTPDigestAuth, `action` and `realm` in
the query string (or a POST form), and the clients' own parsing of the replies: Blink reads
times with strptime("%Y-%m-%d  %H:%M:%S") (two spaces; strptime reads them as "any
whitespace"), skips entries it cannot parse and compares numbers numerically.

Each scenario prints `ok SCENARIO` and exits 0, or exits 1 saying what was expected and what
came back. Names carry a random suffix so scenarios can share a server.
"""

import base64
import json
import os
import random
import string
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

API_URL = os.environ["SY_API_URL"].rstrip("/")
CAFILE = os.environ["SY_CAFILE"]
ROOT_PASSWORD = os.environ["SY_ROOT_PASSWORD"]
SETTINGS = API_URL + "/settings.phtml"
BLINK_TIME = "%Y-%m-%d  %H:%M:%S"


class Failed(Exception):
    """A check failed: the message says what was expected and what came back."""


def check(cond, what, got=None):
    if not cond:
        raise Failed(f"expected {what}; got {got!r}")


def tag():
    return "".join(random.choice(string.ascii_lowercase) for _ in range(8))


class Session(requests.Session):
    """Verifies TLS against the server's certificate on every request: a Session's own
    .verify loses to REQUESTS_CA_BUNDLE."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("verify", CAFILE)
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, **kwargs)


def root():
    s = Session()
    s.auth = HTTPBasicAuth("root", ROOT_PASSWORD)
    s.verify = CAFILE
    return s


def created(r):
    check(r.status_code == 201, "201 Created", (r.status_code, r.text))
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


class Account:
    """A subscriber and a Digest session of its own, as a SIP client holds one."""

    def __init__(self, sid, user, domain, password):
        self.id, self.user, self.domain, self.password = sid, user, domain, password
        self.session = Session()
        self.session.verify = CAFILE
        self.session.auth = HTTPDigestAuth(user, password)

    def call(self, action=None, method="GET", realm=True, **params):
        """One settings.phtml request; returns the decoded JSON reply (checked to be pure JSON)."""
        r = self.raw(action, method, realm, **params)
        check(r.status_code == 200, f"200 for {action}", (r.status_code, r.text))
        return decode(r)

    def raw(self, action=None, method="GET", realm=True, **params):
        if action is not None:
            params["action"] = action
        if realm:
            params["realm"] = self.domain
        if method == "GET":
            return self.session.get(SETTINGS, params=params, timeout=30)
        return self.session.post(SETTINGS, data=params, timeout=30)


def decode(r):
    ctype = r.headers.get("Content-Type", "")
    check(ctype.startswith("application/json"), "a JSON Content-Type", ctype)
    try:
        return json.loads(r.text)
    except ValueError:
        raise Failed(f"expected pure JSON; got {r.text!r}")


def setup():
    """A customer, a domain and two subscribers: alice (web and SIP passwords) and bob (SIP
    password only). Returns (root session, domain, alice, bob)."""
    s = root()
    t = tag()
    contact = created(s.post(API_URL + "/api/customercontacts/",
                             json={"email": f"{t}@example.com", "reseller_id": 1}))
    customer = created(s.post(API_URL + "/api/customers/",
                              json={"contact_id": contact, "status": "active",
                                    "type": "sipaccount", "billing_profile_id": 1}))
    domain = f"{t}.example.net"
    created(s.post(API_URL + "/api/domains/", json={"domain": domain, "reseller_id": 1}))
    alice_doc = {"customer_id": customer, "domain": domain, "username": "alice",
                 "password": "alice-sip", "webpassword": "alice-web",
                 "email": f"alice@{domain}",
                 # C5 wants a primary number for a SIP subscriber.
                 "primary_number": {"cc": 31, "ac": 20, "sn": t_digits()}}
    alice_id = created(s.post(API_URL + "/api/subscribers/", json=alice_doc))
    bob_id = created(s.post(API_URL + "/api/subscribers/",
                            json={"customer_id": customer, "domain": domain,
                                  "username": "bob", "password": "bob-sip",
                                  "primary_number": {"cc": 31, "ac": 30, "sn": t_digits()}}))
    return (s, domain, Account(alice_id, "alice", domain, "alice-web"),
            Account(bob_id, "bob", domain, "bob-sip"))


def t_digits():
    return "".join(random.choice(string.digits) for _ in range(7))


def stamp(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def feed(s, kind, rows):
    return s.post(f"{API_URL}/feed/{kind}", json=rows, timeout=60)


def cdr(account, call_id, direction, remote, start, duration=30, status="200", price=None,
        display=""):
    row = {"call_id": call_id, "account": f"{account.user}@{account.domain}",
           "direction": direction, "remote_party": remote, "display_name": display,
           "start_time": stamp(start), "duration": duration, "status": status}
    if price is not None:
        row["price"] = price
    return row


def blink_history(reply):
    """Blink Cocoa's reading of get_history: entries it cannot parse are skipped."""
    out = {}
    for direction in ("placed", "received"):
        parsed = []
        for e in reply.get(direction) or []:
            try:
                start = datetime.strptime(e["startTime"], BLINK_TIME)
            except (KeyError, ValueError):
                continue
            parsed.append({"start": start, "remote": e["remoteParty"],
                           "duration": int(e["duration"]), "status": str(e["status"]),
                           "display": e.get("displayName", "")})
        out[direction] = parsed
    return out


# ---------------------------------------------------------------- scenarios


def scenario_blink():
    s, domain, alice, bob = setup()
    # Blink polls get_history&realm=<domain> with the account's user name and web password.
    check(alice.call("get_history") is None, "null history before any call")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = [cdr(alice, f"p{i}-{tag()}", "placed", f"sip:dest{i}@{domain}",
                now - timedelta(minutes=i + 1), duration=i, price=0.01 * i) for i in range(60)]
    rows.append(cdr(alice, "rejected-" + tag(), "placed", "sip:x@elsewhere.org",
                    now - timedelta(seconds=30), status="435"))
    rows.append(cdr(alice, "old-" + tag(), "placed", "sip:old@elsewhere.org",
                    now - timedelta(days=15)))
    rows.append(cdr(alice, "in-" + tag(), "received", f"sip:bob@{domain}",
                    now - timedelta(minutes=5), duration=42, display="Bob B."))
    rows.append(cdr(bob, "bobs-" + tag(), "placed", f"sip:alice@{domain}",
                    now - timedelta(minutes=5)))
    r = feed(s, "cdrs", rows)
    check(r.status_code == 200 and r.json() == {"received": 64, "inserted": 64},
          "all 64 records imported", (r.status_code, r.text))
    again = feed(s, "cdrs", rows[:3])
    check(again.json() == {"received": 3, "inserted": 0}, "a re-import changes nothing",
          again.text)

    reply = alice.call("get_history")
    history = blink_history(reply)
    check(len(reply["placed"]) == 50, "at most 50 placed calls", len(reply["placed"]))
    check(len(history["placed"]) == 50, "every time parsable by Blink", reply["placed"][:2])
    newest = history["placed"][0]
    check(newest["remote"] == f"sip:dest0@{domain}", "the newest call first (435 left out)",
          newest)
    check(newest["start"] == (now - timedelta(minutes=1)).replace(tzinfo=None),
          "startTime in UTC", newest["start"])
    check(all(a["start"] >= b["start"] for a, b in zip(history["placed"], history["placed"][1:])),
          "newest first", [h["start"] for h in history["placed"][:3]])
    check(not any("old@" in h["remote"] or "x@elsewhere" in h["remote"]
                  for h in history["placed"]), "no call older than 14 days, no 435", None)
    check(history["placed"][3]["duration"] > history["placed"][2]["duration"],
          "durations compare numerically", history["placed"][2:4])
    first = reply["placed"][0]
    for key in ("remoteParty", "displayName", "startTime", "stopTime", "timezone", "duration",
                "status", "price", "sessionId", "fromTag", "toTag", "proxyIP", "media"):
        check(key in first, f"history item key {key}", sorted(first))
    check(first["displayName"] == "", "an empty display name on placed calls", first)
    received = history["received"]
    check(len(received) == 1 and received[0]["display"] == "Bob B."
          and received[0]["duration"] == 42, "the one received call", reply["received"])
    check("price" not in reply["received"][0], "no price on received calls", reply["received"][0])
    check(not any("bobs-" in e["sessionId"] for e in reply["placed"]), "only alice's calls", None)

    # Blink Cocoa sometimes sends user@domain and no realm parameter.
    blink_at = Account(alice.id, f"alice@{domain}", domain, "alice-web")
    r = blink_at.raw("get_history", realm=False)
    check(r.status_code == 200 and len(decode(r)["placed"]) == 50,
          "user@domain authenticates without a realm parameter", (r.status_code, r.text[:200]))
    # Blink publishes any non-empty get_location reply: it must be null.
    check(alice.call("get_location") is None, "null location", None)

    # bob has no web password: his SIP password is the one.
    bob_history = bob.call("get_history")
    check(len(bob_history["placed"]) == 1 and bob_history["received"] == [],
          "bob sees only his own call", bob_history)
    print("ok blink")


def scenario_sylk():
    s, domain, alice, _ = setup()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    r = feed(s, "cdrs", cdr(alice, "sylk-" + tag(), "received", "sip:carol@example.org",
                            now - timedelta(hours=2), duration=7, display="Carol"))
    check(r.status_code == 200, "a single object is a batch of one", (r.status_code, r.text))
    # Sylk WebRTC: GET action=get_history&realm=<domain> with Digest; it reads success,
    # error_message, placed, received, startTime and remoteParty.
    data = alice.call("get_history")
    check(data.get("success") is not False, "no failure", data)
    check(isinstance(data["placed"], list) and isinstance(data["received"], list),
          "placed and received lists", data)
    entry = data["received"][0]
    check(entry["remoteParty"] == "sip:carol@example.org", "remoteParty", entry)
    started = datetime.strptime(entry["startTime"], "%Y-%m-%d %H:%M:%S")
    check(started == (now - timedelta(hours=2)).replace(tzinfo=None), "startTime", entry)
    stopped = datetime.strptime(entry["stopTime"], "%Y-%m-%d %H:%M:%S")
    check((stopped - started).total_seconds() == 7, "stopTime = start + duration", entry)
    print("ok sylk")


def c5_forwards(s, sid):
    r = s.get(f"{API_URL}/api/callforwards/{sid}")
    check(r.status_code == 200, "the C5 view", (r.status_code, r.text))
    return r.json()


def scenario_forwarding():
    s, domain, alice, _ = setup()
    empty = alice.call("get_call_forwarding")
    check(empty == {"FUNC": None, "FNOL": None, "FBUS": None, "FNOA": None, "FUNV": None},
          "nothing set", empty)
    reply = alice.call("set_call_forwarding", FBUS="<voice-mailbox>", FNOA="0031201234",
                       FNOL="bob")
    check(reply["success"] is True and reply["error_message"].startswith("Changed diversions"),
          "changed", reply)
    got = alice.call("get_call_forwarding")
    check(got == {"FUNC": None, "FNOL": f"bob@{domain}", "FBUS": "<voice-mailbox>",
                  "FNOA": f"0031201234@{domain}", "FUNV": None}, "read back", got)
    c5 = c5_forwards(s, alice.id)
    check(c5["cfb"]["destinations"][0]["destination"] == "voicebox", "cfb voicebox", c5["cfb"])
    check(c5["cft"]["destinations"][0]["destination"] == f"sip:0031201234@{domain}", "cft", c5)
    check(c5["cfna"]["destinations"][0]["destination"] == f"sip:bob@{domain}", "cfna", c5)
    check(c5["cfu"] == {}, "no cfu", c5["cfu"])

    same = alice.call("set_call_forwarding", FBUS="<voice-mailbox>")
    check(same == {"success": True, "error_message": "Diversions remained the same"},
          "unchanged", same)
    # A POST form works like the query string; empty clears, unsent stays.
    cleared = alice.call("set_call_forwarding", method="POST", FNOA="")
    check(cleared["success"] is True, "cleared", cleared)
    got = alice.call("get_call_forwarding")
    check(got["FNOA"] is None and got["FBUS"] == "<voice-mailbox>"
          and got["FNOL"] == f"bob@{domain}", "FNOA cleared, the rest kept", got)

    # The other way: C5 sets, SIP2SIP reads.
    r = s.put(f"{API_URL}/api/callforwards/{alice.id}",
              json={"cfu": {"destinations": [{"destination": "5555", "timeout": 20}]}})
    check(r.status_code == 204, "C5 PUT", (r.status_code, r.text))
    got = alice.call("get_call_forwarding")
    check(got == {"FUNC": f"5555@{domain}", "FNOL": None, "FBUS": None, "FNOA": None,
                  "FUNV": None}, "C5's forwarding in SIP2SIP's words", got)

    # FUNV is the timed unconditional rule; FUNC and FUNV cannot both be set.
    both = alice.call("set_call_forwarding", FUNC="1", FUNV="2")
    check(both["success"] is False and "FUNV" in both["error_message"], "refused", both)
    funv = alice.call("set_call_forwarding", FUNC="", FUNV="sip:desk@other.example")
    check(funv["success"] is True, "FUNV set", funv)
    got = alice.call("get_call_forwarding")
    check(got["FUNV"] == "desk@other.example" and got["FUNC"] is None, "FUNV read back", got)
    c5 = c5_forwards(s, alice.id)
    check(c5["cfu"]["destinations"][0]["destination"] == "sip:desk@other.example"
          and c5["cfu"]["times"] == [], "cfu with a (still empty) time set", c5["cfu"])

    # Bad targets change nothing.
    before = alice.call("get_call_forwarding")
    for bad in ({"FBUS": "the moon"}, {"FNOL": "<mobile-number>"}, {"FNOA": "a" * 300}):
        reply = alice.call("set_call_forwarding", **bad)
        check(reply["success"] is False and reply["error_message"].startswith("Error"),
              f"{bad} refused", reply)
    nothing = alice.call("set_call_forwarding")
    check(nothing["success"] is False, "no diversion given", nothing)
    check(alice.call("get_call_forwarding") == before, "nothing changed", None)
    print("ok forwarding")


def c5_prefs(s, sid):
    r = s.get(f"{API_URL}/api/subscriberpreferences/{sid}")
    check(r.status_code == 200, "the C5 preferences", (r.status_code, r.text))
    return r.json()


def scenario_dnd_privacy():
    s, domain, alice, _ = setup()
    on = alice.call("set_dnd_on", duration="60")
    check(on == {"success": True,
                 "error_message": "Do not disturb has been enabled for 60 minutes"}, "on", on)
    prefs = c5_prefs(s, alice.id)
    check(prefs.get("dnd") is True, "C5 shows dnd", prefs)
    check(abs(prefs["dnd_until"] - (time.time() + 3600)) < 60, "and when it ends", prefs)
    rules = alice.call("get_accept_rules")
    check(rules["temporary"] == {"groups": ["nobody"], "duration": 60}, "temporary rule", rules)
    for key in ("persistent", "temporary", "groups"):
        check(key in rules, f"accept rules key {key}", rules)

    off = alice.call("set_dnd_off")
    check(off == {"success": True, "error_message": "Do not disturb has been disabled"}, "off",
          off)
    check("dnd" not in c5_prefs(s, alice.id), "C5 shows no dnd", None)
    check(alice.call("get_accept_rules")["temporary"] == {"groups": ["everybody"], "duration": 0},
          "everybody again", None)
    forever = alice.call("set_dnd_on")
    check(forever["error_message"] == "Do not disturb has been enabled", "on, no end", forever)
    check("dnd_until" not in c5_prefs(s, alice.id), "no end time", None)

    # Bad durations change nothing.
    before = c5_prefs(s, alice.id)
    for bad in ("soon", "-5", "0", "99999999", "1.5"):
        reply = alice.call("set_dnd_on", duration=bad)
        check(reply["success"] is False and "duration" in reply["error_message"],
              f"duration {bad} refused", reply)
    check(c5_prefs(s, alice.id) == before, "nothing changed", None)

    # Do not disturb with an end ends by itself, in every dialect.
    r = s.put(f"{API_URL}/api/subscriberpreferences/{alice.id}",
              json={"dnd": True, "dnd_until": int(time.time()) + 2})
    check(r.status_code == 204, "C5 PUT", (r.status_code, r.text))
    check(c5_prefs(s, alice.id).get("dnd") is True, "on for now", None)
    time.sleep(3.5)
    check("dnd" not in c5_prefs(s, alice.id), "ended by itself", c5_prefs(s, alice.id))
    check(alice.call("get_accept_rules")["temporary"]["groups"] == ["everybody"],
          "SIP2SIP agrees", None)

    hidden = alice.call("set_privacy_on")
    check(hidden == {"success": True,
                     "error_message": "Caller-ID is now hidden for outgoing calls"}, "on", hidden)
    check(c5_prefs(s, alice.id).get("clir") is True, "C5 clir", None)
    check(alice.call("get_accept_rules")["groups"] == ["anonymous"], "group anonymous", None)
    for _ in range(2):
        visible = alice.call("set_privacy_off")
        check(visible == {"success": True,
                          "error_message": "Caller-ID is now visible for outgoing calls"},
              "off (twice is fine)", visible)
    check(c5_prefs(s, alice.id).get("clir") is False, "C5 clir off", None)

    r = s.put(f"{API_URL}/api/subscriberpreferences/{alice.id}",
              json={"block_in_mode": False,
                    "block_in_list": ["0031201234", "sip:spam@evil.example"]})
    check(r.status_code == 204, "C5 PUT block list", (r.status_code, r.text))
    rejects = alice.call("get_reject_rules")
    check(rejects == [f"sip:0031201234@{domain}", "sip:spam@evil.example"], "reject rules",
          rejects)
    print("ok dnd_privacy")


def scenario_identity():
    s, domain, alice, bob = setup()
    ident = alice.call("get_identity")
    for key in ("sip_address", "email", "first", "lastname", "pstn_caller_id", "mobile_number",
                "timezone", "no_answer_timeout", "quick_dial"):
        check(key in ident, f"identity key {key}", sorted(ident))
    check(ident["sip_address"] == f"alice@{domain}" and ident["email"] == f"alice@{domain}",
          "alice's identity", ident)
    enum = alice.call("get_enum")
    check(len(enum) == 1 and enum[0].startswith("+3120"), "the primary number as E.164", enum)
    missing = alice.call("add_alias")
    check(missing == {"success": False, "error_message": "Error: missing username"}, "missing",
          missing)
    added = alice.call("add_alias", username="Alice.Work")
    check(added == {"success": True, "error_message": "Added alias alice.work"}, "added", added)
    aliases = alice.call("get_aliases")
    check(f"alice.work@{domain}" in aliases and aliases == sorted(aliases), "sorted aliases",
          aliases)
    for bad in ("alice.work", "bob", "two words"):
        reply = alice.call("add_alias", username=bad)
        check(reply["success"] is False, f"alias {bad} refused", reply)
    check(not any(a.startswith("alice") for a in bob.call("get_aliases")),
          "bob has none of alice's", None)
    check(alice.call("get_voicemail") is None, "no voicemail service", None)
    print("ok identity")


def scenario_errors():
    s, domain, alice, bob = setup()
    for params in ({}, {"action": "nonsense"}, {"action": "get_journal"}):
        r = alice.raw(params.pop("action", None), **params)
        check(r.status_code == 200 and decode(r) ==
              {"success": False, "error_message": "Error: invalid action"}, "invalid action",
              (r.status_code, r.text))
    r = alice.raw("nonsense", method="POST")
    check(decode(r)["error_message"] == "Error: invalid action", "POST too", r.text)

    wrong = Account(alice.id, "alice", domain, "not-the-password")
    r = wrong.raw("get_identity")
    check(r.status_code == 401, "401 for a wrong password", (r.status_code, r.text))
    challenge = r.headers.get("WWW-Authenticate", "")
    check(f'realm="{domain}"' in challenge and 'qop="auth"' in challenge,
          "a challenge in the account's realm", challenge)
    check(decode(r)["success"] is False, "a JSON body", r.text)
    other_realm = Account(alice.id, "alice", "other.example", "alice-web")
    check(other_realm.raw("get_identity").status_code == 401, "another realm is another domain",
          None)
    check(Account(bob.id, "bob", domain, "alice-web").raw("get_identity").status_code == 401,
          "alice's password is not bob's", None)

    # Feeds: admin logins only, a bad row is named and nothing of its batch is written.
    r = Session().post(f"{API_URL}/feed/cdrs", json=[], auth=HTTPDigestAuth("alice", "alice-web"))
    check(r.status_code == 401, "a subscriber cannot feed", (r.status_code, r.text))
    now = datetime.now(timezone.utc)
    good = cdr(alice, "good-" + tag(), "placed", "sip:a@b.example", now)
    bad_rows = [
        ([good, dict(good, call_id="x" + tag(), start_time="yesterday")], "item 1"),
        ([good, dict(good, call_id="y" + tag(), direction="sideways")], "item 1"),
        ([dict(good, duration="long")], "item 0"),
        ([good, dict(good, account="nobody@" + domain)], "item 1"),
        ([dict(good, surprise=1)], "item 0"),
        ([dict(good, price=-1)], "item 0"),
    ]
    for rows, place in bad_rows:
        r = feed(s, "cdrs", rows)
        check(r.status_code == 400 and place in r.json()["message"], f"400 naming {place}",
              (r.status_code, r.text))
    r = s.post(f"{API_URL}/feed/cdrs", data="not json", headers={"Content-Type": "application/json"})
    check(r.status_code == 400, "400 for a body that is not JSON", (r.status_code, r.text))
    check(alice.call("get_history") is None, "nothing of those batches written", None)
    check(s.get(f"{API_URL}/feed/cdrs").status_code == 405, "GET is refused", None)
    check(s.post(f"{API_URL}/feed/nothing", json={}).status_code == 404, "unknown feed", None)

    # Registrations: devices that have not lapsed.
    check(alice.call("get_devices") is None, "no devices yet", None)
    regs = [{"account": f"alice@{domain}", "contact": "sip:alice@10.0.0.5:5060",
             "public_contact": "sip:alice@198.51.100.7:41000", "expires": 3600,
             "user_agent": "Blink 5.6", "transport": "tls"},
            {"account": f"alice@{domain}", "contact": "sip:alice@10.0.0.6:5060",
             "expires": 2, "user_agent": "Sylk", "transport": "wss"}]
    r = feed(s, "registrations", regs)
    check(r.status_code == 200, "registrations pushed", (r.status_code, r.text))
    devices = alice.call("get_devices")
    check(len(devices) == 2 and devices[0]["publicContact"] == "sip:alice@198.51.100.7:41000"
          and 3500 < devices[0]["expires"] <= 3600, "two devices", devices)
    r = feed(s, "registrations", [dict(regs[0], expires=-1)])
    check(r.status_code == 400 and "item 0" in r.text, "bad expires", r.text)
    time.sleep(2.5)
    check(len(alice.call("get_devices")) == 1, "the short one lapsed", None)
    check(bob.call("get_devices") is None, "bob has none of alice's", None)

    usage_rows = [cdr(alice, f"u{i}-{tag()}", "placed", "sip:u@x.example",
                      datetime.now(timezone.utc) - timedelta(seconds=30), price=0.5)
                  for i in range(3)]
    check(feed(s, "cdrs", usage_rows).status_code == 200, "usage rows", None)
    usage = alice.call("get_monthly_usage")
    check(usage["calls"] == 3 and abs(usage["price"] - 1.5) < 1e-9, "monthly usage", usage)
    print("ok errors")


class BlinkDevice:
    """One Blink Cocoa install of an account: its instance uuid, the journal ids it knows and the
    newest timestamp it saw, read with Blink's rules (success first, timestamps as numbers)."""

    def __init__(self, account, uuid):
        self.account, self.uuid = account, uuid
        self.after = 0
        self.summary = None
        self.seen = {}

    def push(self, entries):
        """put_journal_entries as Blink sends it: a POST form of uuid and the JSON of a dict
        keyed by message id; returns {message id: journal id}."""
        r = self.account.call("put_journal_entries", method="POST", uuid=self.uuid,
                              data=json.dumps(entries))
        check(r.get("success") is True, "a successful put", r)
        out = {}
        for entry in r["results"]:
            out[entry["id"]] = str(entry["journal_id"])
        return out

    def poll(self):
        """get_journal_entries as Blink polls: except its own uuid, after the newest timestamp
        it saw, summary=1 on the first call."""
        params = {"except_uuid": self.uuid, "after_timestamp": self.after}
        if self.summary is None:
            params["summary"] = 1
        r = self.account.call("get_journal_entries", **params)
        check(r.get("success") is True, "a successful get", r)
        if "summary" in r:
            self.summary = r["summary"]
            for row in r["summary"]:
                check(isinstance(row["timestamp"], int), "integer summary timestamps", row)
                str(row["journal_id"])
        new = []
        for entry in r["results"]:
            check(isinstance(entry["timestamp"], int), "integer timestamps", entry)
            check(entry["uuid"] != self.uuid, "no entries from the asking device", entry)
            if entry["timestamp"] > self.after:
                self.after = entry["timestamp"]
            self.seen[str(entry["id"])] = entry["data"]
            new.append(entry)
        check(r["rows"] == len(r["results"]), "rows counts the results", r)
        return new


def scenario_journal():
    """Blink's replication sequence between two devices of one account, then removal, deletion,
    isolation from another account and refusals that change nothing."""
    s, domain, alice, bob = setup()
    laptop, phone = BlinkDevice(alice, "laptop-" + tag()), BlinkDevice(alice, "phone-" + tag())
    # Opaque data, kept byte for byte: base64 as Blink sends it, and odd characters.
    blob1 = base64.b64encode(b"\x00encrypted chat message 1\xff").decode()
    blob2 = "ünïcode & = + % \" ' <tag> \n line two"
    ids = laptop.push({"msg-1": {"id": "msg-1", "data": blob1},
                       "msg-2": {"id": "msg-2", "data": blob2, "action": "add"}})
    check(set(ids) == {"msg-1", "msg-2"}, "a journal id for each message", ids)

    first = phone.poll()
    check(sorted(e["data"] for e in first) == sorted([blob1, blob2]), "the data as put", first)
    check(all(e["account"] == f"alice@{domain}" for e in first), "the account", first)
    check(all(e["source"] == "default" for e in first), "source default", first)
    check(len(phone.summary) == 2, "the summary on the first call", phone.summary)
    ordered = [e["id"] for e in first]
    check(ordered == sorted(ordered), "oldest first", ordered)
    check(laptop.poll() == [], "the laptop's own entries are left out")

    time.sleep(1.1)  # Blink asks for entries newer than the newest second it saw.
    phone_ids = phone.push({"msg-3": {"id": "msg-3", "data": "from the phone"}})
    got = laptop.poll()
    check([e["data"] for e in got] == ["from the phone"], "the phone's entry", got)
    check(phone.poll() == [], "nothing new for the phone")
    check(alice.call("get_journal_entries", after_id=ids["msg-1"], limit=1)["rows"] == 1,
          "limit honoured", None)

    # Removal through put (action remove) and deletion by journal id.
    r = alice.call("put_journal_entries", method="POST", uuid=laptop.uuid,
                   data=json.dumps([{"id": "msg-1", "action": "remove"}]))
    check(r["success"] and r["results"][0]["journal_id"] == ids["msg-1"], "msg-1 removed", r)
    r = alice.call("delete_journal_entries", method="POST",
                   data=json.dumps([phone_ids["msg-3"]]))
    check(r == {"success": True}, "delete_journal_entries succeeds", r)
    summary = alice.call("get_journal_entries", summary=1)["summary"]
    check([row["journal_id"] for row in summary] == [ids["msg-2"]], "only msg-2 is left", summary)

    # Another account sees none of it, and cannot delete it.
    check(bob.call("get_journal_entries")["results"] == [], "bob's journal is his own")
    bob.call("delete_journal_entries", method="POST", data=json.dumps([ids["msg-2"]]))
    check(len(alice.call("get_journal_entries")["results"]) == 1, "bob deleted nothing")

    # Refusals in the original's shape; nothing written.
    for params, message in [
        ({"data": "{}"}, "Missing uuid"),
        ({"uuid": "x"}, "Missing data"),
        ({"uuid": "x", "data": "{not json"}, "Json decode error"),
        ({"uuid": "x", "data": json.dumps([{"id": "m", "data": {"not": "a string"}}])},
         "data must be a string"),
        ({"uuid": "x", "data": json.dumps([{"id": "m", "data": "x" * 70000}])}, "larger than"),
        ({"uuid": "x", "data": json.dumps([{"id": "m", "action": "rename"}])}, "action"),
    ]:
        r = alice.call("put_journal_entries", method="POST", **params)
        check(r["success"] is False and message in r["error_message"] and r["results"] == [],
              f"refused with {message!r}", r)
    for params in [{"after_id": "abc"}, {"limit": "0"}, {"after_timestamp": "yesterday"}]:
        r = alice.call("get_journal_entries", **params)
        check(r["success"] is False, f"refused {params}", r)
    r = alice.call("get_journal_entries", after_timestamp="2000-01-01 00:00:00")
    check(r["success"] and r["rows"] == 1, "a datetime after_timestamp", r)
    check(len(alice.call("get_journal_entries")["results"]) == 1, "nothing written by refusals")
    print("ok journal")


def scenario_stale():
    """Run against a server with a 1 s nonce lifetime: an expired nonce is answered 401 with
    stale=true, and requests (like Blink) simply answers the new challenge."""
    s, domain, alice, _ = setup()
    check(alice.call("get_call_forwarding")["FUNC"] is None, "a first call", None)
    time.sleep(2.5)
    r = alice.raw("get_call_forwarding")
    check(r.status_code == 200, "the call succeeds after a fresh challenge", (r.status_code, r.text))
    stale = [h for h in r.history if h.status_code == 401]
    check(len(stale) == 1 and "stale=true" in stale[0].headers.get("WWW-Authenticate", ""),
          "one 401 with stale=true on the expired nonce",
          [(h.status_code, h.headers.get("WWW-Authenticate")) for h in r.history])
    print("ok stale")


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(SCENARIOS)}")
    try:
        SCENARIOS[sys.argv[1]]()
    except Exception:  # noqa: BLE001 - the report is the point
        traceback.print_exc()
        sys.exit(1)
