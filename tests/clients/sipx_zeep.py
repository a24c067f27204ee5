#!/usr/bin/env python3
"""Drives switchyard's sipXconfig-style SOAP API with zeep, built from the served WSDL alone.

Usage: python3 tests/clients/sipx_zeep.py SCENARIO

Environment:
  SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
  SY_CAFILE         the server's certificate; TLS is verified against it
  SY_ROOT_PASSWORD  password of the admin login `root` (Basic auth, as sipXconfig's superadmin)

The client reads UserService?wsdl, binds the ConfigImplService ports and calls the operations
with keyword arguments, in zeep's strict mode (an answer element the WSDL does not declare is an
error). Each scenario prints `ok SCENARIO` and exits 0, or exits 1 saying what went wrong.
"""

import hashlib
import os
import random
import string
import sys
import traceback

from requests import Session
from requests.auth import HTTPBasicAuth
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

API_URL = os.environ["SY_API_URL"].rstrip("/")
CAFILE = os.environ["SY_CAFILE"]
ROOT_PASSWORD = os.environ["SY_ROOT_PASSWORD"]


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def client():
    session = Session()
    # The environment's CA bundle (REQUESTS_CA_BUNDLE) would otherwise win over session.verify.
    session.trust_env = False
    session.verify = CAFILE
    session.auth = HTTPBasicAuth("root", ROOT_PASSWORD)
    wsdl = API_URL + "/sipxconfig/services/UserService?wsdl"
    c = Client(wsdl, transport=Transport(session=session), settings=Settings(strict=True))
    return c, c.bind("ConfigImplService", "UserService"), c.bind("ConfigImplService", "SystemService")


def users_of(answer):
    """findUser's answer: zeep unwraps FindUserResponse/users/user down to the list of users."""
    if answer is None:  # no <user> at all
        return []
    check(isinstance(answer, list), f"findUser answered {type(answer)}: {answer}")
    return answer


def expect_fault(call, needle, what):
    try:
        call()
    except Fault as f:
        check(needle in f.message, f"{what}: fault '{f.message}' does not mention '{needle}'")
        return
    fail(f"{what}: no fault")


def users():
    _, svc, system = client()
    sfx = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
    name = f"zeep{sfx}"
    alias = f"77{random.randint(100000, 999999)}"

    domain = system.systemInfo()
    check(domain.name and domain.realm, f"systemInfo: {domain}")
    realm = domain.realm

    svc.addUser(
        user={
            "userName": name,
            "firstName": "Zed",
            "lastName": "Eep",
            "sipPassword": "sip-secret",
            "aliases": [alias],
            "emailAddress": f"{name}@example.org",
            "groups": ["sales", f"zeepers{sfx}"],
            "permissions": ["Voicemail", "LocalDialing"],
        },
        pin="1234",
        vmpin="5678",
    )
    found = users_of(svc.findUser(search={"byUserName": name}))
    check(len(found) == 1, f"findUser byUserName: {found}")
    u = found[0]
    token = hashlib.md5(f"{name}:{realm}:1234".encode()).hexdigest()
    check(u.userName == name and u.firstName == "Zed" and u.lastName == "Eep", f"names: {u}")
    check(u.pintoken == token, f"pintoken {u.pintoken} != md5({name}:{realm}:1234) {token}")
    check(u.sipPassword is None, "the SIP password must never be returned")
    check(list(u.aliases) == [alias], f"aliases: {u.aliases}")
    check(u.emailAddress == f"{name}@example.org", f"email: {u.emailAddress}")
    check(sorted(u.groups) == sorted(["sales", f"zeepers{sfx}"]), f"groups: {u.groups}")
    check(sorted(u.permissions) == ["LocalDialing", "Voicemail"], f"permissions: {u.permissions}")

    fuzzy = users_of(svc.findUser(search={"byFuzzyUserNameOrAlias": alias[2:6]}))
    check(name in [x.userName for x in fuzzy], f"fuzzy by alias part: {fuzzy}")
    by_group = users_of(svc.findUser(search={"byGroup": f"zeepers{sfx}"}))
    check([x.userName for x in by_group] == [name], f"byGroup: {by_group}")
    # byUserName wins over the other criteria.
    both = users_of(svc.findUser(search={"byUserName": name, "byGroup": "no-such-group"}))
    check([x.userName for x in both] == [name], f"priority: {both}")
    everyone = users_of(svc.findUser(search={}))
    check(name in [x.userName for x in everyone], "an empty search lists every user")

    svc.manageUser(
        search={"byUserName": name},
        edit=[{"property": "firstName", "value": "Zoe"}, {"property": "pin", "value": "4321"}],
        addGroup="vip",
        removeGroup="sales",
        updateBranch="Berlin",
    )
    u = users_of(svc.findUser(search={"byUserName": name}))[0]
    check(u.firstName == "Zoe", f"edited firstName: {u.firstName}")
    check(sorted(u.groups) == sorted(["vip", f"zeepers{sfx}"]), f"groups after manage: {u.groups}")
    check(u.branchName == "Berlin", f"branch: {u.branchName}")
    new_token = hashlib.md5(f"{name}:{realm}:4321".encode()).hexdigest()
    check(u.pintoken == new_token, "the new PIN shows in pintoken")

    expect_fault(lambda: svc.manageUser(search={"byUserName": "nobody-" + sfx}, addGroup="x"),
                 "not found", "manageUser on an unknown user")
    expect_fault(lambda: svc.addUser(user={"userName": name}, pin="1"),
                 "already in use", "a second addUser with the same name")
    expect_fault(lambda: svc.manageUser(search={"byUserName": name},
                                        edit=[{"property": "colour", "value": "red"}]),
                 "colour", "an unknown property")

    svc.manageUser(search={"byUserName": name}, deleteUser=True, addGroup="ignored")
    check(users_of(svc.findUser(search={"byUserName": name})) == [], "deleted user is gone")
    print("ok users")


SCENARIOS = {"users": users}

if __name__ == "__main__":
    try:
        SCENARIOS[sys.argv[1]]()
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.exit(1)
