// Vendors the openAPIV3Schema of CloudNativePG's CRDs into schemas/cnpg-VERSION.json (run by
// hand when the pinned operator version changes; `make test` only reads the result).
//
//   git -C cloudnative-pg show v1.30.0:config/crd/bases/postgresql.cnpg.io_clusters.yaml > c.yaml
//   (the same for _poolers.yaml and _scheduledbackups.yaml), then
//   node tests/manifests/vendor-cnpg.mjs 1.30.0 COMMIT c.yaml p.yaml s.yaml
//
// Keeps the served v1 schema of each CRD, drops the "description" texts (size), and records the
// source, the tag, the commit and the SHA-256 of each upstream file.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const [version, commit, ...files] = process.argv.slice(2);
if (!version || !/^[0-9a-f]{40}$/.test(commit ?? "") || files.length === 0) {
  console.error("usage: vendor-cnpg.mjs VERSION COMMIT CRD.yaml...");
  process.exit(2);
}

function strip(node) {
  if (Array.isArray(node)) return node.map(strip);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    // "description" is a property name too (e.g. a field called description): keep those.
    if (k === "description" && typeof v === "string") continue;
    out[k] = strip(v);
  }
  return out;
}

const kinds = {};
const upstream = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const crd = parse(text);
  const served = crd.spec.versions.filter((v) => v.served && v.name === "v1");
  if (served.length !== 1) throw new Error(`${file}: no served v1 version`);
  kinds[crd.spec.names.kind] = {
    group: crd.spec.group,
    version: "v1",
    scope: crd.spec.scope,
    openAPIV3Schema: strip(served[0].schema.openAPIV3Schema),
  };
  upstream.push({
    path: `config/crd/bases/${crd.spec.group}_${crd.spec.names.plural}.yaml`,
    sha256: createHash("sha256").update(text).digest("hex"),
  });
}

const out = {
  source: "https://github.com/cloudnative-pg/cloudnative-pg",
  tag: `v${version}`,
  commit,
  licence: "Apache-2.0",
  note: "openAPIV3Schema of the served v1 version of each CRD, description texts removed (tests/manifests/vendor-cnpg.mjs)",
  files: upstream,
  kinds,
};
const target = join(dirname(fileURLToPath(import.meta.url)), "schemas", `cnpg-${version}.json`);
writeFileSync(target, JSON.stringify(out) + "\n");
console.log(`${target}: ${Object.keys(kinds).join(", ")}`);
