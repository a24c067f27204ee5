#!/usr/bin/env python3
"""Searches switchyard's LDAP address book with Python ldap3 over LDAPS and StartTLS.

Usage: python3 tests/clients/ldap_ldap3.py SCENARIO

Environment:
  SY_LDAPS     host:port of the LDAPS listener
  SY_LDAP      host:port of the plain listener (StartTLS)
  SY_CAFILE    the server's certificate; TLS is verified against it
  SY_DOMAIN    the SIP domain whose book is searched
  SY_USER      an account of that domain (user name) and SY_PASSWORD its web password
  SY_OTHER_DOMAIN  another domain, whose book the account may not search

Each scenario prints `ok SCENARIO` and exits 0, or exits 1 saying what was expected
and what came back.
"""

import os
import socket
import ssl
import sys

from ldap3 import ALL_ATTRIBUTES, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException

ENV = os.environ
DOMAIN = ENV["SY_DOMAIN"]
BASE = "ou=addressbook," + ",".join("dc=" + label for label in DOMAIN.split("."))
TLS = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ENV["SY_CAFILE"])


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


def expect(cond, what):
    if not cond:
        fail(what)


def server(addr, use_ssl):
    host, port = addr.rsplit(":", 1)
    return Server(host, port=int(port), use_ssl=use_ssl, tls=TLS, get_info=NONE)


def bound(user=None, password=None):
    conn = Connection(
        server(ENV["SY_LDAPS"], True),
        user=user or ENV["SY_USER"] + "@" + DOMAIN,
        password=password or ENV["SY_PASSWORD"],
        raise_exceptions=False,
    )
    expect(conn.bind(), "bind as the account: %s" % conn.result)
    return conn


def uids(conn, flt, **kw):
    ok = conn.search(BASE, flt, search_scope=SUBTREE, attributes=ALL_ATTRIBUTES, **kw)
    expect(ok or conn.result["result"] == 0, "search %s: %s" % (flt, conn.result))
    return sorted(str(e.uid) for e in conn.entries)


def filters():
    conn = bound()
    expect(uids(conn, "(cn=ali*)") == ["alice", "alicia"], "(cn=ali*): %s" % uids(conn, "(cn=ali*)"))
    got = uids(conn, "(|(sn=Turing)(mail=bob@*))")
    expect(got == ["alan", "bob"], "or of sn and mail: %s" % got)
    got = uids(conn, "(&(objectClass=inetOrgPerson)(!(uid=alice))(givenName=*))")
    expect(got == ["alan", "alicia"], "and/not/present: %s" % got)
    got = uids(conn, "(telephoneNumber=43 1 555-0001)")
    expect(got == ["alice"], "telephone numbers match without spaces: %s" % got)
    got = uids(conn, "(cn=*lic*)")
    expect(got == ["alice", "alicia"], "substring in the middle: %s" % got)
    expect(uids(conn, "(shoeSize=42)") == [], "an unknown attribute matches nothing")
    conn.search(BASE, "(uid=alice)", attributes=["cn", "mail", "labeledURI", "telephoneNumber"])
    e = conn.entries[0]
    expect(str(e.cn) == "Alice Liddell", "cn: %s" % e.cn)
    expect(str(e.mail) == "alice@mail.example", "mail: %s" % e.mail)
    expect(str(e.labeledURI) == "sip:alice@" + DOMAIN, "labeledURI: %s" % e.labeledURI)
    expect(e.entry_dn == "uid=alice," + BASE, "dn: %s" % e.entry_dn)
    expect("givenName" not in e.entry_attributes, "only asked-for attributes come back")
    conn.unbind()


def paging():
    conn = bound()
    seen = []
    cookie = None
    pages = 0
    while True:
        conn.search(BASE, "(objectClass=*)", attributes=["uid"], paged_size=2, paged_cookie=cookie)
        expect(conn.result["result"] == 0, "paged search: %s" % conn.result)
        seen += [str(e.uid) for e in conn.entries]
        pages += 1
        cookie = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
        if not cookie:
            break
        expect(pages < 10, "paging does not end")
    expect(sorted(seen) == ["alan", "alice", "alicia", "bob", "carol"], "all pages: %s" % seen)
    expect(pages == 3, "5 entries in pages of 2 are 3 pages, got %d" % pages)
    conn.search(BASE, "(objectClass=*)", attributes=["uid"], size_limit=2)
    expect(conn.result["result"] == 4, "size limit: %s" % conn.result)
    expect(len(conn.entries) == 2, "size limit returns that many: %d" % len(conn.entries))


def refusals():
    conn = Connection(server(ENV["SY_LDAPS"], True), user="alice@" + DOMAIN,
                      password="wrong", raise_exceptions=False)
    expect(not conn.bind() and conn.result["result"] == 49, "wrong password: %s" % conn.result)
    anon = Connection(server(ENV["SY_LDAPS"], True), raise_exceptions=False)
    expect(anon.bind(), "an anonymous bind itself succeeds")
    anon.search(BASE, "(uid=*)")
    expect(anon.result["result"] == 50 and not anon.entries, "anonymous search: %s" % anon.result)
    conn = bound()
    other = "ou=addressbook," + ",".join("dc=" + l for l in ENV["SY_OTHER_DOMAIN"].split("."))
    conn.search(other, "(uid=*)")
    expect(conn.result["result"] == 50 and not conn.entries, "other domain: %s" % conn.result)
    conn.search("cn=config", "(uid=*)")
    expect(conn.result["result"] == 32, "unknown base: %s" % conn.result)
    big = "(|" + "".join("(uid=u%d)" % i for i in range(300)) + ")"
    conn.search(BASE, big)
    expect(conn.result["result"] == 11, "a 300-term filter: %s" % conn.result)
    conn.add("uid=mallory," + BASE, "inetOrgPerson", {"sn": "M", "cn": "M"})
    expect(conn.result["result"] == 53, "add: %s" % conn.result)
    conn.delete("uid=alice," + BASE)
    expect(conn.result["result"] == 53, "delete: %s" % conn.result)
    # Garbage on a TLS connection ends that connection only.
    ctx = ssl.create_default_context(cafile=ENV["SY_CAFILE"])
    host, port = ENV["SY_LDAPS"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(b"\x30\x84\xff\xff\xff\xff" + b"\x00" * 64)
            s.settimeout(10)
            data = s.recv(4096)
            expect(len(data) > 0, "a notice of disconnection before the close")
    expect(uids(bound(), "(uid=bob)") == ["bob"], "the server still answers")


def starttls():
    plain = Connection(server(ENV["SY_LDAP"], False), user="alice@" + DOMAIN,
                       password=ENV["SY_PASSWORD"], raise_exceptions=False)
    plain.open()
    expect(not plain.bind() and plain.result["result"] == 13,
           "a bind in clear is refused: %s" % plain.result)
    conn = Connection(server(ENV["SY_LDAP"], False), user=ENV["SY_USER"] + "@" + DOMAIN,
                      password=ENV["SY_PASSWORD"], raise_exceptions=False)
    conn.open()
    expect(conn.start_tls(), "StartTLS: %s" % conn.result)
    expect(conn.bind(), "bind after StartTLS: %s" % conn.result)
    expect(uids(conn, "(uid=carol)") == ["carol"], "search after StartTLS")


SCENARIOS = {"filters": filters, "paging": paging, "refusals": refusals, "starttls": starttls}

if __name__ == "__main__":
    name = sys.argv[1]
    try:
        SCENARIOS[name]()
    except LDAPException as e:
        fail("%s: %r" % (name, e))
    print("ok " + name)
