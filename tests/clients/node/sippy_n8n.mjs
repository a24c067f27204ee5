#!/usr/bin/env node
// Drives switchyard's Sippy-style XML-RPC API the way the n8n-nodes-sippysoft node's transport
// behaves (written here from its observed behaviour, not copied): the call is encoded with @foxglove/xmlrpc's
// serializeMethodCall(method, [params]), POSTed with Accept/Content-Type application/xml through
// a NEW axios-digest-auth object per call, and the body decoded with @foxglove/xmlrpc's
// Deserializer, which turns a <fault> into a rejected XmlRpcFault. The node's own digest package
// (@koush/axios-digest-auth) is not installable; @mhoc/axios-digest-auth 0.8.0 is its fork.
//
// What that digest client does (checked below, printed as `digest: ...` lines):
//   * probes with the full body and no credentials, takes realm and nonce from the FIRST
//     challenge in WWW-Authenticate (switchyard offers SHA-256 first, MD5 last, same nonce),
//     but always hashes with MD5 and says algorithm="MD5" (quoted);
//   * quotes qop and nc, omits opaque, never reuses a nonce (every call is challenged);
//   * counts nc per object, so a reused object answers a fresh nonce with nc 2, 3, ...
//
// Usage (from tests/it/clients.rs): npm ci; node sippy_n8n.mjs
// Environment: SY_HTTPS_URL, SY_ROOT_PASSWORD, and NODE_EXTRA_CA_CERTS=SY_CAFILE so that TLS is
// verified against the server's certificate. Prints `ok node` and exits 0, or exits 1 saying
// what was expected, what came back, and every HTTP exchange made.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";

import axios from "axios";
import digestModule from "@mhoc/axios-digest-auth";
import xmlrpc from "@foxglove/xmlrpc";

const AxiosDigestAuth = digestModule.default ?? digestModule;
const { Deserializer, serializeMethodCall, XmlRpcFault } = xmlrpc;

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAILED: environment variable ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const HTTPS_URL = env("SY_HTTPS_URL");
const ROOT_PASSWORD = env("SY_ROOT_PASSWORD");
// Read by Node at startup: without it the self-signed certificate is refused, which is the point.
env("NODE_EXTRA_CA_CERTS");

// ------------------------------------------------------------------ wire log

// The digest library calls axios' default instance; interceptors on it see both of its
// requests (the probe and the answer) and their responses. Make sure it is the same module.
{
  const here = createRequire(import.meta.url);
  const fromLib = createRequire(here.resolve("@mhoc/axios-digest-auth"));
  assert.equal(fromLib.resolve("axios"), here.resolve("axios"),
    "axios-digest-auth must use the same axios as this script (npm ci dedupes it)");
}

/** Every HTTP exchange: { method, auth, body, status, challenge }. */
const exchanges = [];

axios.interceptors.request.use((config) => {
  const headers = config.headers ?? {};
  const auth = headers.authorization ?? headers.Authorization;
  config.__exchange = { method: config.method, auth, body: config.data };
  exchanges.push(config.__exchange);
  return config;
});

function noteResponse(response) {
  const ex = response?.config?.__exchange;
  if (ex) {
    ex.status = response.status;
    ex.challenge = response.headers?.["www-authenticate"];
  }
}

axios.interceptors.response.use(
  (response) => {
    noteResponse(response);
    return response;
  },
  (error) => {
    noteResponse(error.response);
    return Promise.reject(error);
  },
);

function transcript() {
  return exchanges
    .map((ex, i) => {
      const method = /<methodName>([^<]*)</.exec(String(ex.body))?.[1];
      return `  #${i + 1} ${method ?? "?"}: HTTP ${ex.status ?? "(no response)"}` +
        `\n     Authorization: ${ex.auth ?? "(none)"}` +
        (ex.challenge ? `\n     WWW-Authenticate: ${ex.challenge}` : "");
    })
    .join("\n");
}

/** The name=value pairs of a Digest header, with quotes noted. */
function parseDigest(header) {
  const params = {};
  const re = /([A-Za-z0-9_*-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)/g;
  for (const m of header.replace(/^Digest\s+/i, "").matchAll(re)) {
    const quoted = m[2].startsWith('"');
    params[m[1].toLowerCase()] = { value: quoted ? m[3] : m[2], quoted };
  }
  return params;
}

// ------------------------------------------------------------------ the transport

/**
 * One call made the way the n8n node's transport makes it (behaviour reproduced, not its code):
 * a fresh AxiosDigestAuth per call unless `digest` is given (to see what a reused object does).
 * Resolves to the decoded result; a fault rejects with an XmlRpcFault, an HTTP error with axios'.
 */
async function apiRequest(username, password, operation, parameters = {}, digest = undefined) {
  const client = digest ?? new AxiosDigestAuth({ username, password });
  const response = await client.request({
    method: "POST",
    url: HTTPS_URL,
    headers: { "Content-Type": "application/xml", Accept: "application/xml" },
    data: serializeMethodCall(operation, [parameters]),
  });
  return new Deserializer().deserializeMethodResponse(response.data);
}

// ------------------------------------------------------------------ checks

function ok(reply, what) {
  assert.ok(reply && typeof reply === "object" && reply.result === "OK",
    `${what}: expected a struct with result "OK", got ${JSON.stringify(reply)}`);
  return reply;
}

async function expectFault(promise, code, what) {
  let reply;
  try {
    reply = await promise;
  } catch (e) {
    if (!(e instanceof XmlRpcFault)) {
      throw new Error(`${what}: expected an XML-RPC fault ${code}, got ${e?.stack ?? e}`);
    }
    assert.equal(e.faultCode, code, `${what}: faultCode (faultString ${JSON.stringify(e.faultString)})`);
    assert.equal(typeof e.faultString, "string", `${what}: faultString is a string`);
    return e;
  }
  throw new Error(`${what}: expected fault ${code}, got success ${JSON.stringify(reply)}`);
}

const suffix = () => randomBytes(4).toString("hex");

async function main() {
  const sfx = suffix();
  const root = (op, params) => apiRequest("root", ROOT_PASSWORD, op, params);

  // Strings with '&' and '<' go out as CDATA sections (@foxglove/xmlrpc's rule); the API
  // password is one of them, so logging in with it proves it was stored as sent.
  const name = `n8n_${sfx}`;
  const password = `pw&<${sfx}>`;
  const custDesc = `Smith & Sons <east> "q" 'a' café ☎ ${sfx}`;
  const probe = serializeMethodCall("x", [{ password, custDesc }]);
  assert.ok(probe.includes(`<![CDATA[${password}]]>`) && probe.includes(`<![CDATA[${custDesc}]]>`),
    `@foxglove/xmlrpc should send '&' strings as CDATA; it sent ${probe}`);

  // Root creates the customer, API access on.
  const created = ok(await root("createCustomer", {
    name,
    web_password: `web-${sfx}`,
    i_tariff: null,
    api_password: password,
    api_access: 1,
    api_permission: true,
    description: custDesc,
  }), "createCustomer");
  assert.equal(typeof created.i_customer, "number", `createCustomer i_customer: ${JSON.stringify(created)}`);
  const iCustomer = created.i_customer;
  const cust = (op, params) => apiRequest(name, password, op, params);

  // The customer creates an account. 10 is a JS integer, so balance goes out as <int>10</int>.
  const username = `n8n_acct_${sfx}`;
  const acctDesc = `A&B <Ltd> ${sfx}`;
  const acct = ok(await cust("createAccount", {
    username,
    web_password: "web-secret-1",
    authname: username,
    voip_password: "voip-secret-1",
    translation_rule: "",
    cli_translation_rule: "",
    cpe_number: "",
    vm_password: "1234",
    i_lang: "en",
    payment_currency: "USD",
    max_sessions: 2,
    max_credit_time: 3600,
    i_billing_plan: 1,
    i_time_zone: 1,
    vm_enabled: 1,
    blocked: 0,
    payment_method: 1,
    i_export_type: 2,
    credit_limit: 50.5,
    balance: 10,
    description: acctDesc,
  }), "createAccount");
  assert.equal(typeof acct.i_account, "number", `createAccount i_account: ${JSON.stringify(acct)}`);
  const iAccount = acct.i_account;

  // getAccountInfo (by id, and by username as the node's getAccountInfoByUsername does).
  let info = ok(await cust("getAccountInfo", { i_account: iAccount }), "getAccountInfo");
  assert.equal(info.i_account, iAccount, "getAccountInfo i_account");
  assert.equal(info.i_customer, iCustomer, "getAccountInfo i_customer");
  assert.equal(info.username, username, "getAccountInfo username");
  assert.equal(info.balance, -10, "getAccountInfo balance (negated)");
  assert.equal(info.credit_limit, 50.5, "getAccountInfo credit_limit");
  assert.equal(info.payment_currency, "USD", "getAccountInfo payment_currency");
  assert.equal(info.description, acctDesc, "getAccountInfo description ('&' round trip)");
  for (const secret of ["web_password", "voip_password", "vm_password"]) {
    assert.ok(!(secret in info), `getAccountInfo must omit ${secret}`);
  }
  const byName = ok(await cust("getAccountInfo", { username }), "getAccountInfo by username");
  assert.equal(byName.i_account, iAccount, "getAccountInfo by username: i_account");

  // listAccounts with the node's pagination defaults: balance as stored.
  let accounts = ok(await cust("listAccounts", { offset: 0, limit: 50 }), "listAccounts").accounts;
  assert.ok(Array.isArray(accounts), `listAccounts accounts: ${JSON.stringify(accounts)}`);
  let row = accounts.find((a) => a.i_account === iAccount);
  assert.ok(row, `listAccounts should list account ${iAccount}: ${JSON.stringify(accounts)}`);
  assert.equal(row.username, username, "listAccounts username");
  assert.equal(row.balance, 10, "listAccounts balance (not negated)");
  assert.equal(row.description, acctDesc, "listAccounts description");

  // updateAccount: the node sends i_account plus the optional fields.
  const newDesc = `Q&A <second> ${sfx}`;
  ok(await cust("updateAccount", {
    i_account: iAccount, description: newDesc, credit_limit: 75.25, max_sessions: -1,
  }), "updateAccount");
  info = ok(await cust("getAccountInfo", { i_account: iAccount }), "getAccountInfo after update");
  assert.deepEqual([info.description, info.credit_limit, info.max_sessions],
    [newDesc, 75.25, -1], "fields after updateAccount");

  // accountCredit: i_account, amount, currency. Stored balance 10 -> 7.5.
  ok(await cust("accountCredit", { i_account: iAccount, amount: 2.5, currency: "USD" }),
    "accountCredit");
  info = ok(await cust("getAccountInfo", { i_account: iAccount }), "getAccountInfo after credit");
  assert.equal(info.balance, -7.5, "getAccountInfo balance after accountCredit 2.5");
  accounts = ok(await cust("listAccounts", { offset: 0, limit: 50 }), "listAccounts").accounts;
  row = accounts.find((a) => a.i_account === iAccount);
  assert.equal(row?.balance, 7.5, "listAccounts balance after accountCredit 2.5");

  // listCustomers: root sees the customer among its children; the customer has none.
  const rootList = ok(await root("listCustomers", { offset: 0, limit: 50 }), "listCustomers (root)");
  const mine = rootList.customers?.find((c) => c.i_customer === iCustomer);
  assert.ok(mine, `root's listCustomers should hold ${iCustomer}: ${JSON.stringify(rootList)}`);
  assert.equal(mine.name, name, "listCustomers name");
  assert.equal(mine.description, custDesc, "listCustomers description ('&' round trip)");
  const ownList = ok(await cust("listCustomers", { offset: 0, limit: 50 }), "listCustomers (customer)");
  assert.deepEqual(ownList.customers, [], "the customer's own listCustomers");

  // getCustomerInfo: nested under `customer`.
  const cinfo = ok(await cust("getCustomerInfo", { i_customer: iCustomer }), "getCustomerInfo");
  assert.equal(cinfo.customer?.i_customer, iCustomer, "getCustomerInfo customer.i_customer");
  assert.equal(cinfo.customer?.name, name, "getCustomerInfo customer.name");
  assert.equal(cinfo.customer?.description, custDesc, "getCustomerInfo description ('&' round trip)");

  // A missing account is a fault the node throws, with faultCode 404.
  await expectFault(cust("getAccountInfo", { i_account: 987654321 }), 404,
    "getAccountInfo of a missing account");
  await expectFault(cust("updateAccount", { i_account: 987654321, description: "x" }), 404,
    "updateAccount of a missing account");

  // A wrong password: the library answers the challenge once and gives up with HTTP 401.
  try {
    await apiRequest(name, "wrong-password", "getAccountInfo", { i_account: iAccount });
    throw new Error("a wrong password should be refused; the call succeeded");
  } catch (e) {
    assert.equal(e?.response?.status, 401, `wrong password: expected HTTP 401, got ${e?.stack ?? e}`);
  }

  // A reused digest object (not what the node does, but what its library allows): every call is
  // challenged with a fresh nonce and answered with the object's next nc, i.e. 2 and 3.
  const reused = new AxiosDigestAuth({ username: name, password });
  const firstReused = exchanges.length;
  for (let n = 0; n < 3; n++) {
    const r = ok(await apiRequest(name, password, "getAccountInfo", { i_account: iAccount }, reused),
      `getAccountInfo through a reused digest object (call ${n + 1})`);
    assert.equal(r.i_account, iAccount, "reused object: i_account");
  }
  const reusedNc = exchanges.slice(firstReused).filter((ex) => ex.auth)
    .map((ex) => parseDigest(ex.auth).nc?.value);
  assert.deepEqual(reusedNc, ["00000001", "00000002", "00000003"], "nc sent by a reused object");

  // What the client sent, and that the server took it: every call was a probe without
  // credentials answered 401, then one Authorization answered 200 (401 for the wrong password).
  const answers = exchanges.filter((ex) => ex.auth);
  const probes = exchanges.filter((ex) => !ex.auth);
  assert.equal(probes.length, answers.length, "one unauthenticated probe per answered challenge");
  for (const ex of probes) {
    assert.equal(ex.status, 401, "every probe answered 401");
    assert.match(String(ex.challenge), /^Digest /, "a Digest challenge on every 401");
  }
  const nonces = new Set();
  for (const ex of answers) {
    const d = parseDigest(ex.auth);
    assert.equal(d.algorithm?.value, "MD5", `algorithm sent: ${ex.auth}`);
    assert.ok(!("opaque" in d), `opaque omitted: ${ex.auth}`);
    assert.ok(d.nc?.quoted && d.qop?.quoted, `nc and qop quoted: ${ex.auth}`);
    assert.equal(d.uri?.value, new URL(HTTPS_URL).pathname, `uri: ${ex.auth}`);
    assert.ok(!nonces.has(d.nonce?.value), `a nonce used twice: ${ex.auth}`);
    nonces.add(d.nonce?.value);
  }
  const bad = answers.filter((ex) => ex.status !== 200);
  assert.equal(bad.length, 1, "only the wrong-password answer refused");
  const firstChallenge = probes[0].challenge;
  const sample = answers[0].auth.replace(/response="[0-9a-f]+"/, 'response="…"')
    .replace(/cnonce="[0-9a-f]+"/, 'cnonce="…"');
  console.log(`digest: challenge: ${firstChallenge}`);
  console.log(`digest: sent:      ${sample}`);
  console.log(`digest: ${answers.length} answers, all algorithm="MD5", nc quoted, opaque omitted, ` +
    `${nonces.size} distinct nonces; reused object nc ${reusedNc.join(",")}`);
  console.log("ok node");
}

main().catch((e) => {
  console.error(`FAILED: ${e?.stack ?? e}`);
  if (e?.response) {
    console.error(`HTTP ${e.response.status}: ${String(e.response.data).slice(0, 2000)}`);
  }
  console.error(`HTTP exchanges so far:\n${transcript()}`);
  process.exit(1);
});
