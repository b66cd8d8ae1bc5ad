// Browser proof of the documentation page (issue 11 §4), run by tests/run.sh after cors.mjs.
//
// Drives Debian's headless Chromium (/usr/bin/chromium) with playwright-core: loads
// $PVD_TEST_BASE_URL/api/v1/docs#/fiches-action with every request that does not go to
// 127.0.0.1 aborted (and counted), then expects
//   - the operations of the spec rendered: the title, several summaries and paths of the
//     fiches action (what a reader looks for), as visible text;
//   - the renderer running, not only its server-side HTML: its search (Ctrl+K) finds an
//     operation of another tag, and a click in the menu moves the page to that tag
//     (#/demandes-de-subvention) and shows its operations;
//   - no request outside 127.0.0.1, no script error, and no Content-Security-Policy refusal
//     but two the page survives: images (Redoc's attribution logo points to its CDN: the CSP
//     blocks it before any request is made, and Redoc hides it) and the eval that FlexSearch,
//     Redoc's search index, tries once to decide whether to index in a worker (refused, it
//     indexes in the page: the search check above proves it);
// and saves a screenshot as a test artefact ($PVD_TEST_SCREENSHOT, default build/tests/docs.png).
//
// Prints one summary line; exit 0 when all hold, 1 on a mismatch, 2 when the test itself
// cannot run. Every wait is bounded; the browser is always closed. Plain ESM, Node 18.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, harness } from './harness.mjs';

const WATCHDOG_MS = 90_000;
const RENDER_TIMEOUT_MS = 30_000;
const SCREENSHOT = process.env.PVD_TEST_SCREENSHOT || 'build/tests/docs.png';
// Operations of the fiches action as the spec names them (openapi/paths/fiches.yaml).
const EXPECTED = [
  'pvd-api — Petites villes de demain',
  'Lister les fiches action',
  'Créer une fiche action',
  'Modifier une fiche action',
  "Faire changer une fiche action d'état",
  '/api/v1/fiches-action/{id}/transitions',
  '/api/v1/fiches-action.csv',
];
// Only in the demandes de subvention (not shown at #/fiches-action): what the search finds.
const SEARCHED = 'Accorder une prolongation de délai';
const AFTER_CLICK = ['Lister les demandes de subvention', '/api/v1/demandes-subvention/{id}/versements'];

const { api, setupError, failures, expect, stopWatchdog } = harness('browser docs', WATCHDOG_MS);

// Visible text of the page (what a reader sees), whitespace collapsed.
const visibleText = (tab) => tab.evaluate(() => document.body.innerText.replace(/\s+/g, ' '));

async function waitForTexts(tab, texts, what) {
  const deadline = Date.now() + RENDER_TIMEOUT_MS;
  let text = '';
  while (Date.now() < deadline) {
    text = await visibleText(tab);
    if (texts.every((t) => text.includes(t)))
      return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const t of texts)
    expect(text.includes(t), `${what}: "${t}" not shown after ${RENDER_TIMEOUT_MS / 1000} s`);
  return text;
}

let browser;
let summary = '';
try {
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
  } catch (e) {
    setupError(`Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}`);
  }
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const tab = await context.newPage();
  tab.setDefaultTimeout(RENDER_TIMEOUT_MS);

  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(api + '/'))
      return route.continue();
    outside.push(url);
    return route.abort();
  });
  const pageErrors = [];
  tab.on('pageerror', (e) => pageErrors.push(e.message.split('\n')[0]));
  // CSP refusals, as the page's document reports them (not subject to the page's CSP).
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });

  const started = Date.now();
  const response = await tab.goto(`${api}/api/v1/docs#/fiches-action`, { waitUntil: 'load' });
  expect(response && response.status() === 200, `GET /api/v1/docs: status ${response && response.status()}`);
  const csp = response ? (await response.allHeaders())['content-security-policy'] || '' : '';
  expect(csp.startsWith("default-src 'none'"), `Content-Security-Policy "${csp}"`);
  await waitForTexts(tab, EXPECTED, 'the fiches action');
  const rendered = Date.now() - started;

  // The client-side renderer at work: its search, then a menu entry changing the route.
  // The operations may show before the renderer listens to its shortcut (a red CI at
  // b3685e2: Control+K pressed once, no search box in 10 s): pressed again until it opens.
  const search = tab.getByPlaceholder('Search docs...');
  let opened = false;
  for (let i = 0; i < 5 && !opened; i++) {
    await tab.keyboard.press('Control+k');
    opened = await search.waitFor({ timeout: 4_000 }).then(() => true, () => false);
  }
  if (!opened)
    throw new Error('the search box never opened (Control+K pressed 5 times, 4 s apart)');
  await search.fill('prolongation');
  const found = await waitForTexts(tab, [SEARCHED], 'the search for "prolongation"');
  expect(!found.includes('No results'), 'the search says "No results"');
  await tab.keyboard.press('Escape');

  await tab.getByText('Demandes de subvention', { exact: true }).first().click({ timeout: 10_000 });
  await tab.waitForFunction(() => window.location.hash === '#/demandes-de-subvention', null,
    { timeout: 10_000 }).catch(() => {});
  const hash = await tab.evaluate(() => window.location.hash);
  expect(hash === '#/demandes-de-subvention', `menu click: location.hash "${hash}", the renderer did not route`);
  await waitForTexts(tab, AFTER_CLICK, 'after the menu click');

  await tab.goto(`${api}/api/v1/docs#/fiches-action`, { waitUntil: 'load' });
  await waitForTexts(tab, EXPECTED.slice(0, 3), 'the fiches action again');
  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await tab.screenshot({ path: SCREENSHOT });

  const violations = await tab.evaluate(() => window.__cspViolations);
  const blocking = violations.filter((v) => !v.startsWith('img-src ') && v !== 'script-src eval');
  expect(blocking.length === 0, `CSP refused: ${blocking.join(', ')}`);
  expect(outside.length === 0, `requests outside 127.0.0.1: ${outside.join(', ')}`);
  expect(pageErrors.length === 0, `script errors: ${pageErrors.join('; ')}`);
  summary = `Chromium ${browser.version()}: ${EXPECTED.length} texts of the fiches action shown in ` +
    `${rendered} ms, search finds "${SEARCHED}", menu → ${hash}, 0 request outside 127.0.0.1, CSP refusals: ` +
    `${violations.length ? violations.join(', ') : 'none'}; screenshot ${SCREENSHOT}`;
  await context.close();
} catch (e) {
  failures.push(`${e.name}: ${e.message.split('\n')[0]}`);
} finally {
  if (browser)
    await browser.close().catch(() => {});
  stopWatchdog();
}

if (failures.length > 0) {
  console.log(`browser docs: FAILED (${failures.length}): ${failures.join('; ')}` +
    (summary ? ` [${summary}]` : ''));
  process.exit(1);
}
console.log(`browser docs: ok: ${summary}`);
process.exit(0);
