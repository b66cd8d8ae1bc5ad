// Browser proof of the CORS policy (issue 3 §6), run by tests/run.sh.
//
// Serves tests/browser/page.html from two other origins on 127.0.0.1:
//   allowed: http://localhost:$PVD_TEST_ORIGIN_PORT (listed in the server's CORS_ALLOWED_ORIGINS)
//   other:   http://localhost:<ephemeral port>      (not listed)
// and drives Debian's headless Chromium (/usr/bin/chromium) with playwright-core to make each
// page call the API at $PVD_TEST_BASE_URL (http://127.0.0.1:<port>, yet another origin) with a
// bearer token ($PVD_TEST_BEARER; any string while the referential routes are public: what
// matters is that the page sends Authorization, so that the browser sends a preflight).
//
// Expected: from the allowed page, GET /api/v1/communes/69248 → 200, nom "Thizy-les-Bourgs",
// X-Request-Id and ETag readable (exposed), Vary not readable (not exposed); DELETE of the
// commune blocked by Chromium, because the preflight announces only the methods routed for
// the path (GET, HEAD); GET /api/v1/moi with a refused token → 401 with WWW-Authenticate
// readable; a keyed POST /api/v1/organisations (as the administrator, $PVD_TEST_ADMIN_BEARER)
// sent twice → 201 with Location, then 201 with Idempotent-Replayed: true readable;
// GET /api/v1/openapi.json → the whole spec, sent gzip and decoded by the browser. From the
// other page every call fails with "TypeError: Failed to fetch". The preflights themselves,
// which pages cannot see, are checked over plain HTTP: 204 with the path's methods and the
// allowed headers (a path no route has: no method announced), 403 problem without
// Allow-Origin, and an OPTIONS without Access-Control-Request-Method left to the router
// (405 + Allow).
//
// Prints one summary line; exit 0 when all hold, 1 on a mismatch, 2 when the test itself
// cannot run. Every wait is bounded; the browser and the page servers are always closed.
// Plain ESM, no build step, Node 18 compatible.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, harness } from './harness.mjs';

const WATCHDOG_MS = 90_000;
const HTTP_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 20_000;
const COMMUNE = { code: '69248', nom: 'Thizy-les-Bourgs' };
const REQUEST_ID = 'browser-cors-' + process.pid;

const { api, setupError, failures, expect, stopWatchdog } = harness('browser CORS', WATCHDOG_MS);
const originPort = Number(process.env.PVD_TEST_ORIGIN_PORT);
if (!Number.isInteger(originPort) || originPort < 1 || originPort > 65535)
  setupError('PVD_TEST_ORIGIN_PORT must be the port of the allowed origin http://localhost:<port>');
const token = process.env.PVD_TEST_BEARER || 'pvd-browser-test-token';
const adminToken = process.env.PVD_TEST_ADMIN_BEARER;
if (!adminToken)
  setupError('PVD_TEST_ADMIN_BEARER must be a token of the bootstrap administrator');

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- the page servers -------------------------------------------------------------------

const page = await readFile(fileURLToPath(new URL('page.html', import.meta.url)));

function servePage(port) {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server) {
  if (!server)
    return Promise.resolve();
  server.closeAllConnections?.(); // Node >= 18.2
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---- preflights over plain HTTP -----------------------------------------------------------

function request(method, path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(api + path, { method, headers, timeout: HTTP_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

function problemCode(body) {
  try {
    return JSON.parse(body).code;
  } catch {
    return undefined;
  }
}

async function checkPreflights(allowed, other) {
  const path = `/api/v1/communes/${COMMUNE.code}`;
  const ask = { 'Access-Control-Request-Method': 'DELETE',
    'Access-Control-Request-Headers': 'authorization,x-request-id' };

  const ok = await request('OPTIONS', path, { Origin: allowed, ...ask });
  expect(ok.status === 204, `preflight from ${allowed}: status ${ok.status}, expected 204`);
  expect(ok.headers['access-control-allow-origin'] === allowed,
    `preflight from ${allowed}: Access-Control-Allow-Origin "${ok.headers['access-control-allow-origin']}"`);
  // Only the methods routed for the path: a commune is read-only.
  expect(ok.headers['access-control-allow-methods'] === 'GET, HEAD',
    `preflight: Access-Control-Allow-Methods "${ok.headers['access-control-allow-methods']}", expected "GET, HEAD"`);
  const orgs = await request('OPTIONS', '/api/v1/organisations', { Origin: allowed, ...ask,
    'Access-Control-Request-Method': 'POST' });
  expect(orgs.status === 204 && orgs.headers['access-control-allow-methods'] === 'GET, HEAD, POST',
    `preflight of /api/v1/organisations: ${orgs.status} "${orgs.headers['access-control-allow-methods']}"`);
  const nowhere = await request('OPTIONS', '/api/v1/pas-de-route', { Origin: allowed, ...ask });
  expect(nowhere.status === 204 && nowhere.headers['access-control-allow-methods'] === undefined,
    `preflight of a path no route has: ${nowhere.status}, Access-Control-Allow-Methods ` +
    `"${nowhere.headers['access-control-allow-methods']}" (expected none)`);
  const allowHeaders = (ok.headers['access-control-allow-headers'] || '').toLowerCase().split(/,\s*/);
  expect(['authorization', 'content-type', 'if-match', 'idempotency-key', 'x-request-id']
    .every((h) => allowHeaders.includes(h)), `preflight: Access-Control-Allow-Headers "${allowHeaders}"`);
  expect(ok.headers['access-control-max-age'] === '600', 'preflight: Access-Control-Max-Age');
  expect(/\borigin\b/i.test(ok.headers.vary || ''), 'preflight: Vary: Origin');
  expect(ok.headers['access-control-allow-credentials'] === undefined,
    'preflight: no Access-Control-Allow-Credentials (bearer tokens, no cookies)');

  const refused = await request('OPTIONS', path, { Origin: other, ...ask });
  expect(refused.status === 403, `preflight from ${other}: status ${refused.status}, expected 403`);
  expect(refused.headers['access-control-allow-origin'] === undefined,
    `preflight from ${other}: Access-Control-Allow-Origin must be absent`);
  expect(problemCode(refused.body) === 'interdit', `preflight from ${other}: problem code`);
  expect((refused.headers['content-type'] || '').startsWith('application/problem+json'),
    `preflight from ${other}: Content-Type "${refused.headers['content-type']}"`);

  const plain = await request('OPTIONS', path, { Origin: allowed });
  expect(plain.status === 405, `OPTIONS without Access-Control-Request-Method: status ${plain.status}, expected 405`);
  expect(/\bGET\b/.test(plain.headers.allow || ''), 'OPTIONS without preflight headers: Allow');

  return `preflights ${ok.status}/${refused.status}/${plain.status}`;
}

// ---- the browser --------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Loads the page from origin, runs its probe, and collects Chromium's own CORS messages
// ("Access to fetch at ... has been blocked by CORS policy: ...", console errors of the page).
// expectedBlocks: how many such messages to wait for (at most 2 s; they arrive asynchronously).
async function probe(browser, origin, expectedBlocks) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    tab.setDefaultTimeout(10_000);
    const corsMessages = [];
    tab.on('console', (m) => {
      if (m.type() === 'error' && m.text().includes('blocked by CORS policy'))
        corsMessages.push(m.text());
    });
    const response = await tab.goto(origin + '/', { timeout: 10_000 });
    if (!response || response.status() !== 200)
      throw new Error(`page ${origin}/ not loaded (${response && response.status()})`);
    const result = await withTimeout(
      tab.evaluate(([a, t, id, at]) => window.pvdCorsProbe(a, t, id, at),
        [api, token, REQUEST_ID, adminToken]),
      PROBE_TIMEOUT_MS, `probe from ${origin}`);
    for (let waited = 0; corsMessages.length < expectedBlocks && waited < 2000; waited += 50)
      await sleep(50);
    result.corsMessages = corsMessages;
    return result;
  } finally {
    await context.close().catch(() => {});
  }
}

function checkAllowed(r) {
  const { get, del, simple, refused, created, replayed, spec } = r;
  if (expect(get.fetched, `allowed page GET: blocked (${get.error})`)) {
    expect(get.status === 200, `allowed page GET: status ${get.status}`);
    expect(get.json && get.json.nom === COMMUNE.nom, `allowed page GET: nom "${get.json && get.json.nom}"`);
    expect(get.requestId === REQUEST_ID,
      `allowed page GET: X-Request-Id readable and echoed (read "${get.requestId}")`);
    expect(typeof get.etag === 'string' && get.etag.length > 0, 'allowed page GET: ETag readable');
    expect(get.vary === null, `allowed page GET: Vary readable ("${get.vary}") though not exposed`);
  }
  // DELETE: no route of the path has it, the preflight does not announce it.
  expect(!del.fetched && del.error === 'TypeError: Failed to fetch',
    `allowed page DELETE of a commune: expected blocked, got ${del.fetched ? 'status ' + del.status : del.error}`);
  const methodBlocked = r.corsMessages.filter((m) => /Method DELETE is not allowed/i.test(m)).length;
  expect(methodBlocked === 1 && r.corsMessages.length === 1,
    `allowed page: expected Chromium to refuse DELETE by the preflight's methods only, saw ` +
    `${JSON.stringify(r.corsMessages)}`);
  if (expect(simple.fetched, `allowed page simple GET: blocked (${simple.error})`))
    expect(simple.status === 200, `allowed page simple GET: status ${simple.status}`);
  if (expect(refused.fetched, `allowed page GET /moi: blocked (${refused.error})`)) {
    expect(refused.status === 401, `allowed page GET /moi: status ${refused.status}`);
    expect(/^Bearer\b/.test(refused.wwwAuthenticate || ''),
      `allowed page GET /moi: WWW-Authenticate readable (read "${refused.wwwAuthenticate}")`);
  }
  if (expect(created.fetched && replayed.fetched,
    `allowed page keyed POST: blocked (${created.error || replayed.error})`)) {
    expect(created.status === 201 && (created.location || '').startsWith('/api/v1/organisations/'),
      `allowed page POST: status ${created.status}, Location "${created.location}"`);
    expect(created.replayed === null, `allowed page first POST: Idempotent-Replayed "${created.replayed}"`);
    expect(replayed.status === 201 && replayed.replayed === 'true' &&
      replayed.location === created.location,
      `allowed page repeated POST: status ${replayed.status}, Idempotent-Replayed ` +
      `"${replayed.replayed}", Location "${replayed.location}"`);
  }
  if (expect(spec.fetched, `allowed page GET /openapi.json: blocked (${spec.error})`))
    expect(spec.status === 200 && spec.json && /^3\.1\./.test(spec.json.openapi) && spec.json.paths > 50,
      `allowed page GET /openapi.json: status ${spec.status}, ${JSON.stringify(spec.json)}`);
  return `GET ${get.status} nom="${get.json && get.json.nom}" X-Request-Id=${get.requestId} ` +
    `ETag=${get.etag}, DELETE blocked (preflight: GET, HEAD), GET /moi ${refused.status} ` +
    `WWW-Authenticate="${refused.wwwAuthenticate}", POST ${created.status} then ${replayed.status} ` +
    `Idempotent-Replayed=${replayed.replayed}, spec ${spec.json && spec.json.paths} paths`;
}

function checkOther(r) {
  for (const name of ['get', 'del', 'simple', 'refused', 'created', 'replayed', 'spec']) {
    const c = r[name];
    expect(!c.fetched && c.error === 'TypeError: Failed to fetch',
      `other page ${name}: expected "TypeError: Failed to fetch", got ` +
      (c.fetched ? `status ${c.status}` : c.error));
  }
  // The refusal must come from CORS, not from the network: Chromium says why.
  const preflight = r.corsMessages.filter((m) => m.includes('Response to preflight request')).length;
  const plain = r.corsMessages.length - preflight;
  expect(preflight === 5 && plain === 2,
    `other page: expected Chromium to block 5 preflights and 2 responses by CORS policy, saw ` +
    `${preflight} and ${plain}`);
  return `blocked (${r.get.error || 'status ' + r.get.status}; Chromium: ${preflight} preflights ` +
    `refused, ${plain} response without Allow-Origin)`;
}

let browser;
let allowedServer;
let otherServer;
let summary = '';
let status = 0;
try {
  try {
    allowedServer = await servePage(originPort);
    otherServer = await servePage(0);
  } catch (e) {
    setupError(`page server: ${e.message}`);
  }
  const allowed = `http://localhost:${originPort}`;
  const other = `http://localhost:${otherServer.address().port}`;

  let preflights;
  try {
    preflights = await checkPreflights(allowed, other);
  } catch (e) {
    setupError(`API at ${api}: ${e.message}`);
  }

  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
  } catch (e) {
    setupError(`Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}`);
  }
  const fromAllowed = await probe(browser, allowed, 1);
  const fromOther = await probe(browser, other, 7);
  summary = `Chromium ${browser.version()}, API ${api}; ${allowed}: ${checkAllowed(fromAllowed)}; ` +
    `${other}: ${checkOther(fromOther)}; ${preflights}`;
} catch (e) {
  failures.push(`${e.name}: ${e.message.split('\n')[0]}`);
} finally {
  if (browser)
    await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => {});
  await closeServer(allowedServer);
  await closeServer(otherServer);
  stopWatchdog();
}

if (failures.length > 0) {
  console.log(`browser CORS: FAILED (${failures.length}): ${failures.join('; ')}` +
    (summary ? ` [${summary}]` : ''));
  status = 1;
} else {
  console.log(`browser CORS: ok: ${summary}`);
}
process.exit(status);
