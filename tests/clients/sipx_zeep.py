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


def port(c, name):
    return c.bind("ConfigImplService", name)


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


def features():
    """Phones with lines, call groups with rings, park orbits and custom permissions."""
    c, users, system = client()
    phones = port(c, "PhoneService")
    groups = port(c, "CallGroupService")
    orbits = port(c, "ParkOrbitService")
    perms = port(c, "PermissionService")
    sfx = "".join(random.choices(string.digits, k=6))
    realm = system.systemInfo().realm
    alice, bob = f"alice{sfx}", f"bob{sfx}"
    for name in (alice, bob):
        users.addUser(user={"userName": name}, pin="1111")

    serial = f"00a0c9{sfx}"
    phones.addPhone(phone={"serialNumber": serial.upper(), "modelId": "polycom600",
                           "description": "desk", "groups": ["lobby"],
                           "lines": [{"userId": alice}]})
    found = phones.findPhone(search={"bySerialNumber": serial})
    check(found is not None and len(found) == 1, f"findPhone: {found}")
    p = found[0]
    check(p.serialNumber == serial and p.modelId == "polycom600", f"phone: {p}")
    check([(l.userId, l.uri) for l in p.lines] == [(alice, f"sip:{alice}@{realm}")], f"lines: {p.lines}")
    check(list(p.groups) == ["lobby"], f"groups: {p.groups}")
    phones.managePhone(search={"bySerialNumber": serial},
                       edit=[{"property": "description", "value": "front desk"}],
                       addGroup="reception", addLine={"userId": bob},
                       addExternalLine={"userId": "carol", "password": "ext-secret",
                                        "registrationServer": "pbx.example.net"},
                       removeLineByUri=f"sip:{alice}@{realm}",
                       generateProfiles=True, restart=True)
    p = phones.findPhone(search={"byGroup": "reception"})[0]
    check(p.description == "front desk", f"description: {p.description}")
    check([l.uri for l in p.lines] == [f"sip:{bob}@{realm}", "sip:carol@pbx.example.net"],
          f"lines after manage: {p.lines}")
    expect_fault(lambda: phones.addPhone(phone={"serialNumber": serial, "modelId": "x"}),
                 "already exists", "a second phone with the same serial")
    expect_fault(lambda: phones.addPhone(phone={"serialNumber": "nothex", "modelId": "x"}),
                 "12 hexadecimal", "a bad serial")
    expect_fault(lambda: phones.managePhone(search={"bySerialNumber": serial},
                                            addLine={"userId": "nobody" + sfx}),
                 "not found", "a line for an unknown user")

    groups.addCallGroup(callGroup={"name": f"sales{sfx}", "extension": f"5{sfx}",
                                   "description": "Sales",
                                   "rings": [{"expiration": 20, "type": "immediate",
                                              "position": 2, "userName": bob},
                                             {"expiration": 30, "type": "delayed",
                                              "position": 1, "userName": alice}]})
    g = [x for x in groups.getCallGroups() if x.name == f"sales{sfx}"][0]
    check(g.extension == f"5{sfx}" and g.enabled is True, f"call group: {g}")
    check([(r.userName, r.type, r.expiration) for r in g.rings]
          == [(alice, "delayed", 30), (bob, "immediate", 20)], f"rings in order: {g.rings}")
    groups.manageCallGroup(name=f"sales{sfx}", edit=[{"property": "enabled", "value": "false"}],
                           rings=[{"expiration": 10, "type": "delayed", "position": 0,
                                   "userName": bob}], replaceRings=True)
    g = [x for x in groups.getCallGroups() if x.name == f"sales{sfx}"][0]
    check(g.enabled is False and [r.userName for r in g.rings] == [bob], f"managed: {g}")
    expect_fault(lambda: groups.addCallGroup(callGroup={"name": "x" + sfx, "extension": f"5{sfx}"}),
                 "already in use", "a taken extension")

    orbits.addParkOrbit(parkOrbit={"name": f"park{sfx}", "extension": f"6{sfx}"})
    o = [x for x in orbits.getParkOrbits() if x.name == f"park{sfx}"][0]
    check(o.extension == f"6{sfx}" and o.music == "default.wav", f"orbit: {o}")

    perms.addPermission(permission={"name": f"Moon{sfx}", "label": "Calls to the moon"})
    found = perms.findPermission(search={"byName": f"Moon{sfx}"})
    check(len(found) == 1 and found[0].builtIn is False, f"custom permission: {found}")
    builtin = perms.findPermission(search={"byName": "Voicemail"})
    check(len(builtin) == 1 and builtin[0].builtIn is True, f"built-in: {builtin}")
    users.manageUser(search={"byUserName": alice},
                     edit=[{"property": "permissions", "value": f"Voicemail,Moon{sfx}"}])
    u = users.findUser(search={"byUserName": alice})[0]
    check(sorted(u.permissions) == sorted(["Voicemail", f"Moon{sfx}"]), f"perms: {u.permissions}")
    expect_fault(lambda: perms.managePermission(search={"byName": "Voicemail"}, deletePermission=True),
                 "built-in", "deleting a built-in permission")
    perms.managePermission(search={"byName": f"Moon{sfx}"}, deletePermission=True)
    u = users.findUser(search={"byUserName": alice})[0]
    check(list(u.permissions) == ["Voicemail"], f"deleted permission is taken away: {u.permissions}")

    phones.managePhone(search={"bySerialNumber": serial}, deletePhone=True)
    check(phones.findPhone(search={"bySerialNumber": serial}) is None, "phone deleted")
    print("ok features")


SCENARIOS = {"users": users, "features": features}

if __name__ == "__main__":
    try:
        SCENARIOS[sys.argv[1]]()
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.exit(1)
