#!/usr/bin/env node
// A peer that signs and verifies with ONDC's own crypto SDK (ondc-crypto-sdk-nodejs), driven by
// tests/interop/test_ondc_sdk.py. Reads one JSON request on stdin, writes one JSON answer on stdout.
//
//   node ondc_peer.js sign    {"count": N, "bodies": [base64...]?, "subscriber_id", "unique_key_id",
//                              "created"?, "expires"?, "private_key"?}
//       Makes a fresh key pair with libsodium (unless private_key, a base64 64-byte libsodium secret
//       key, is given), signs the given bodies, or N random JSON bodies with non-ASCII text, with
//       createAuthorizationHeader. Answers {"public_key", "private_key", "items": [{"body", "header"}]},
//       bodies as base64 of the exact UTF-8 bytes that the SDK hashed.
//   node ondc_peer.js verify  {"items": [{"header", "body", "public_key"}]}
//       Answers {"results": [bool...]} from isHeaderValid (bodies in base64 of UTF-8 bytes).
//   node ondc_peer.js vlookup {"country", "domain", "type", "city", "subscriber_id", "private_key"}
//       Answers {"signature"} from createVLookupSignature.
"use strict";

const crypto = require("crypto");
const sodium = require("libsodium-wrappers");
const sdk = require("ondc-crypto-sdk-nodejs");

const WORDS = ["atta", "चावल", "ಅಕ್ಕಿ", "பால்", "মাছ", "చక్కెర", "café", "naïve", "日本茶", "🍅", "Ω", "\u00a0", "\"q\"", "\\", "\n"];

function pick(list) {
  return list[crypto.randomInt(list.length)];
}

function randomText() {
  const n = 1 + crypto.randomInt(6);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(pick(WORDS));
  return parts.join(" ");
}

function randomBody() {
  const items = [];
  const count = crypto.randomInt(4);
  for (let i = 0; i < count; i++) {
    items.push({ id: crypto.randomUUID(), descriptor: { name: randomText() }, quantity: crypto.randomInt(1000) });
  }
  const body = {
    context: {
      domain: "ONDC:RET10",
      action: "search",
      transaction_id: crypto.randomUUID(),
      message_id: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
    },
    message: { intent: { item: { descriptor: { name: randomText() } }, items } },
  };
  // Vary the layout too: peers send minified and pretty-printed JSON alike.
  return crypto.randomInt(2) === 0 ? JSON.stringify(body) : JSON.stringify(body, null, crypto.randomInt(1, 4));
}

function toB64(text) {
  return Buffer.from(text, "utf8").toString("base64");
}

function fromB64(b64) {
  const bytes = Buffer.from(b64, "base64");
  const text = bytes.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(bytes)) {
    throw new Error("a body is not valid UTF-8: the SDK takes bodies as JS strings");
  }
  return text;
}

async function sign(req) {
  await sodium.ready;
  let privateKey = req.private_key;
  let publicKey;
  if (privateKey) {
    const sk = sodium.from_base64(privateKey, sodium.base64_variants.ORIGINAL);
    publicKey = sodium.to_base64(sk.slice(32), sodium.base64_variants.ORIGINAL);
  } else {
    const kp = sodium.crypto_sign_keypair();
    privateKey = sodium.to_base64(kp.privateKey, sodium.base64_variants.ORIGINAL);
    publicKey = sodium.to_base64(kp.publicKey, sodium.base64_variants.ORIGINAL);
  }
  const bodies = req.bodies ? req.bodies.map(fromB64) : Array.from({ length: req.count || 1 }, randomBody);
  const items = [];
  for (const body of bodies) {
    const header = await sdk.createAuthorizationHeader({
      body,
      privateKey,
      subscriberId: req.subscriber_id,
      subscriberUniqueKeyId: req.unique_key_id,
      created: req.created === undefined ? undefined : String(req.created),
      expires: req.expires === undefined ? undefined : String(req.expires),
    });
    items.push({ body: toB64(body), header });
  }
  return { public_key: publicKey, private_key: privateKey, items };
}

async function verify(req) {
  const results = [];
  for (const item of req.items) {
    results.push(await sdk.isHeaderValid({ header: item.header, body: fromB64(item.body), publicKey: item.public_key }));
  }
  return { results };
}

async function vlookup(req) {
  return { signature: await sdk.createVLookupSignature({ ...req, privateKey: req.private_key }) };
}

async function main() {
  const command = process.argv[2];
  const handlers = { sign, verify, vlookup };
  if (!handlers[command]) {
    process.stderr.write("usage: node ondc_peer.js sign|verify|vlookup < request.json\n");
    process.exit(2);
  }
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  const req = text ? JSON.parse(text) : {};
  process.stdout.write(JSON.stringify(await handlers[command](req)) + "\n");
}

main().catch((err) => {
  process.stderr.write(`ondc_peer: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
