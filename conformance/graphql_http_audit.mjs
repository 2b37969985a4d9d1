// The graphql-http audit (the GraphQL-over-HTTP spec's MUSTs, SHOULDs and MAYs) against a running hub,
// as the demo legislative office: npm ci; HUB=http://127.0.0.1:8000 CLIENTS=../.hub-demo/clients.json node graphql_http_audit.mjs
// Exits 1 on any error or warning; the notices are the hub's documented choices (no GET).
import { auditServer } from 'graphql-http';
import fs from 'node:fs';
const hub = process.env.HUB;
const creds = JSON.parse(fs.readFileSync(process.env.CLIENTS)).find((c) => c.audience === 'legislative');
const tok = await fetch(`${hub}/oauth/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded',
             Authorization: 'Basic ' + Buffer.from(`${creds.client_id}:${creds.client_secret}`).toString('base64') },
  body: 'grant_type=client_credentials',
}).then((r) => r.json());
const fetchFn = (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${tok.access_token}` } });
const results = await auditServer({ url: `${hub}/graphql`, fetchFn });
const by = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  by[r.status]++;
  if (r.status !== 'ok') console.log(r.status.toUpperCase(), r.id, r.name, '-', r.reason);
}
console.log(`graphql-http audit: ${by.ok} ok, ${by.warn} warnings, ${by.error} errors of ${results.length}`);

if (by.warn || by.error) process.exit(1);
