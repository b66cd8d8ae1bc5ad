// Preloaded (NODE_OPTIONS=--require) for the pinned Redocly CLI (build-docs) and the sync
// client's test (tests/run.sh): both use the global `crypto` (Web Crypto), which Node 18 —
// Debian 12's nodejs — only exposes behind a flag. Defines it from node:crypto when absent; does nothing on Node 19 and later.
if (typeof globalThis.crypto === "undefined") {
  globalThis.crypto = require("node:crypto").webcrypto;
}
