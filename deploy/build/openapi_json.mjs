// Writes the bundled contract as compact JSON (stdout), for embedding in the binary.
//   node deploy/build/openapi_json.mjs build/openapi.bundle.yaml openapi/openapi.yaml
// BUNDLE is `redocly bundle` of ROOT (Makefile). Redocly writes the top-level members in its
// own order (x- extensions last); they are put back in ROOT's order, so that the served
// document keeps the order of the source. Exit 1 when the two documents do not have the same
// top-level members.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

const [bundleFile, rootFile] = process.argv.slice(2);
if (!bundleFile || !rootFile) {
	process.stderr.write("usage: node deploy/build/openapi_json.mjs BUNDLE ROOT\n");
	process.exit(2);
}
const bundle = parse(readFileSync(bundleFile, "utf8"));
const order = Object.keys(parse(readFileSync(rootFile, "utf8")));
const keys = Object.keys(bundle);
if (keys.length !== order.length || !order.every((k) => Object.hasOwn(bundle, k))) {
	process.stderr.write(`openapi_json: top-level members differ: bundle ${keys} / root ${order}\n`);
	process.exit(1);
}
const doc = {};
for (const k of order) doc[k] = bundle[k];
process.stdout.write(JSON.stringify(doc));
