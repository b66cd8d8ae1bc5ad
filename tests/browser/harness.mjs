// What the browser tests (cors.mjs, docs.mjs) share: Debian's Chromium and its flags, the API
// under test ($PVD_TEST_BASE_URL, http://127.0.0.1:<port>), a watchdog, and the list of
// failed expectations. Exit codes of the tests: 0 all hold, 1 a mismatch, 2 cannot run.
export const CHROMIUM = process.env.PVD_TEST_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
];

// name: the test's name in its messages ("browser CORS"). Exits 2 when PVD_TEST_BASE_URL is
// not http://127.0.0.1:<port>; a watchdog exits 1 after watchdogMs unless stopWatchdog() is
// called (Playwright kills the browser on process exit).
export function harness(name, watchdogMs) {
  const setupError = (message) => {
    console.error(`${name}: cannot run: ${message}`);
    process.exit(2);
  };
  const api = (process.env.PVD_TEST_BASE_URL || '').replace(/\/+$/, '');
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(api))
    setupError(`PVD_TEST_BASE_URL must be http://127.0.0.1:<port> (got "${api}")`);
  const watchdog = setTimeout(() => {
    console.error(`${name}: FAILED: no result after ${watchdogMs / 1000} s`);
    process.exit(1);
  }, watchdogMs);
  const failures = [];
  // Records what when condition is false; returns condition.
  const expect = (condition, what) => {
    if (!condition)
      failures.push(what);
    return condition;
  };
  return { api, setupError, failures, expect, stopWatchdog: () => clearTimeout(watchdog) };
}
