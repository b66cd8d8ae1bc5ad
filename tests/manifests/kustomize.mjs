// A small renderer of the kustomize subset that deploy/k8s uses, for machines without kubectl
// (kubectl is no Debian 12 package). Where kubectl is installed, tests/manifests/check.mjs
// also renders with `kubectl kustomize` and requires the same objects.
//
// Supported in a kustomization.yaml (anything else is an error, never silently ignored):
//   resources   files (one or more YAML documents) and directories holding a kustomization.yaml,
//               rendered in order;
//   namespace   set on every namespaced object (kustomize's rule; no cluster-scoped kinds here);
//   images      {name, newName?, newTag?, digest?} applied to the image of every container and
//               init container of a pod template (Deployment, Job, ... and CRDs' "template");
//   patches     {target: {kind, name}, patch: JSON 6902 operations (YAML list)}: add, replace,
//               remove on the targets (each target must match at least one object).
//
// render(dir) returns the objects (plain JSON values) in resource order; throws Error with the
// file and the reason on anything unsupported or malformed.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments, parse } from "yaml";

const KNOWN = new Set(["apiVersion", "kind", "resources", "namespace", "images", "patches"]);
// Kinds that kustomize treats as cluster-scoped; none may appear (kept to fail loudly).
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
  "PersistentVolume", "StorageClass", "PriorityClass", "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);

function readYamlDocs(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    const v = d.toJSON();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

function splitImage(image) {
  // name[:tag][@digest]; a ':' after the last '/' separates the tag.
  let rest = image, digest = null, tag = null;
  const at = rest.indexOf("@");
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at); }
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) { tag = rest.slice(colon + 1); rest = rest.slice(0, colon); }
  return { name: rest, tag, digest };
}

function applyImages(obj, images) {
  const visit = (node) => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (node === null || typeof node !== "object") return;
    for (const key of ["containers", "initContainers"]) {
      if (!Array.isArray(node[key])) continue;
      for (const c of node[key]) {
        if (!c || typeof c.image !== "string") continue;
        const cur = splitImage(c.image);
        const rule = images.find((i) => i.name === cur.name);
        if (!rule) continue;
        const name = rule.newName ?? cur.name;
        if (rule.digest) c.image = `${name}@${rule.digest}`;
        else {
          const tag = rule.newTag ?? cur.tag;
          c.image = tag ? `${name}:${tag}` : name;
          if (cur.digest && !rule.newTag) c.image += `@${cur.digest}`;
        }
      }
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(obj);
}

function pointer(path, where) {
  if (typeof path !== "string" || !path.startsWith("/")) throw new Error(`${where}: bad path ${path}`);
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function applyJson6902(obj, ops, where) {
  if (!Array.isArray(ops)) throw new Error(`${where}: the patch must be a list of JSON 6902 operations`);
  for (const op of ops) {
    const parts = pointer(op.path, where);
    const last = parts.pop();
    let parent = obj;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : parent?.[p];
      if (parent === undefined || parent === null || typeof parent !== "object")
        throw new Error(`${where}: ${op.op} ${op.path}: no such parent`);
    }
    const isArr = Array.isArray(parent);
    const idx = isArr ? (last === "-" ? parent.length : Number(last)) : last;
    switch (op.op) {
      case "add":
        if (isArr) parent.splice(idx, 0, op.value);
        else parent[idx] = op.value;
        break;
      case "replace":
        if (!(idx in parent)) throw new Error(`${where}: replace ${op.path}: no such member`);
        parent[idx] = op.value;
        break;
      case "remove":
        if (!(idx in parent)) throw new Error(`${where}: remove ${op.path}: no such member`);
        if (isArr) parent.splice(idx, 1);
        else delete parent[idx];
        break;
      default:
        throw new Error(`${where}: unsupported operation ${op.op}`);
    }
  }
}

export function render(dir) {
  dir = resolve(dir);
  const file = join(dir, "kustomization.yaml");
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parse(readFileSync(file, "utf8"));
  for (const key of Object.keys(k)) {
    if (!KNOWN.has(key)) throw new Error(`${file}: "${key}" is not supported by tests/manifests/kustomize.mjs`);
  }
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization")
    throw new Error(`${file}: apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization expected`);
  let objects = [];
  for (const r of k.resources ?? []) {
    const p = join(dir, r);
    if (!existsSync(p)) throw new Error(`${file}: resource ${r} not found`);
    if (statSync(p).isDirectory()) objects.push(...render(p));
    else objects.push(...readYamlDocs(p));
  }
  if (k.namespace) {
    for (const o of objects) {
      if (CLUSTER_SCOPED.has(o.kind)) throw new Error(`${file}: cluster-scoped ${o.kind} not supported`);
      o.metadata = o.metadata ?? {};
      o.metadata.namespace = k.namespace;
    }
  }
  if (k.images) {
    for (const o of objects) applyImages(o, k.images);
  }
  for (const [i, p] of (k.patches ?? []).entries()) {
    const where = `${file}: patches[${i}]`;
    const t = p.target ?? {};
    for (const key of Object.keys(p)) {
      if (key !== "target" && key !== "patch") throw new Error(`${where}: "${key}" not supported`);
    }
    for (const key of Object.keys(t)) {
      if (key !== "kind" && key !== "name") throw new Error(`${where}: target "${key}" not supported`);
    }
    const hits = objects.filter((o) => (!t.kind || o.kind === t.kind) && (!t.name || o.metadata?.name === t.name));
    if (hits.length === 0) throw new Error(`${where}: the target matches no object`);
    const ops = parse(p.patch);
    for (const o of hits) applyJson6902(o, structuredClone(ops), where);
  }
  return objects;
}

// `node tests/manifests/kustomize.mjs DIR`: prints the rendering as YAML documents.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { stringify } = await import("yaml");
  const objs = render(process.argv[2] ?? ".");
  process.stdout.write(objs.map((o) => stringify(o)).join("---\n"));
}
