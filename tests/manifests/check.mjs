// Step "manifests" of `make test` (tests/run.sh): the image and the deployment descriptions.
//
//   node tests/manifests/check.mjs
//
// 1. Renders deploy/k8s/overlays/production and deploy/k8s/examples/secrets with
//    tests/manifests/kustomize.mjs; where `kubectl` is installed, renders them with
//    `kubectl kustomize` too and requires the same objects (else says it is skipped).
// 2. Schema check of every rendered object, unknown fields rejected:
//    - Kubernetes kinds against the Kubernetes 1.30 API as TypeScript types (the pinned npm
//      package kubernetes-types), compiled by the pinned TypeScript with --strict: an object
//      literal with a field its type does not declare, a missing required field or a wrong type
//      is an error;
//    - CloudNativePG kinds against the openAPIV3Schema of their CRDs (CloudNativePG 1.30.0,
//      vendored in schemas/cnpg-1.30.0.json), with ajv, every object schema closed
//      (additionalProperties false unless the CRD says x-kubernetes-preserve-unknown-fields),
//      their metadata as a Kubernetes ObjectMeta;
//    - any other kind is an error (no schema: not checked = not accepted).
//    The same check runs on fixtures/broken/, whose every object is wrong in one way and names
//    the error it must get (annotation pvd-api.test/expect): the step fails if one passes.
// 3. Rules of the rendered production objects (security context, probes, drain timing, HPA, PDB,
//    NetworkPolicy, Pooler, Cluster, DATABASE_URL hosts) and the configuration: every variable
//    api/config.c reads is in the ConfigMap, deploy/compose.yaml (with the default of
//    deploy/pvd-api.env.example) and that example, and their values pass pvd-api's own parser
//    (`serve` stops at the database, a closed local port); deploy/compose.yaml against the Compose
//    Specification's JSON schema (vendored), a broken compose fixture rejected.
// 4. The image: Dockerfile (numeric USER, package lists: one runtime package per library that
//    build/pvd-api links, the build packages of deploy/local/deps.sh), .dockerignore entries,
//    compose hardening; then, where a container runtime answers (docker, podman or buildah),
//    builds the image and runs it read-only as 10001 (else says it is skipped).
// Exit status 0 only when every check passes.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import Ajv from "ajv";
import { render } from "./kustomize.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const OUT = join(ROOT, "build", "tests", "manifests");
const CNPG_SCHEMAS = "tests/manifests/schemas/cnpg-1.30.0.json";
const TARGETS = ["deploy/k8s/overlays/production", "deploy/k8s/examples/secrets"];
const BROKEN = "tests/manifests/fixtures/broken";
const EXPECT = "pvd-api.test/expect";

let passed = 0;
const failed = [];
function check(name, errors) {
  const list = (Array.isArray(errors) ? errors : [errors]).filter(Boolean);
  if (list.length === 0) {
    passed++;
    console.log(`ok: ${name}`);
  } else {
    failed.push(name);
    console.log(`FAIL: ${name}`);
    for (const e of list) console.log(`  - ${e}`);
  }
}
const read = (p) => readFileSync(join(ROOT, p), "utf8");
const idOf = (o) => `${o.kind}/${o.metadata?.name}`;
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  return { ok: r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}
const has = (cmd) => run("sh", ["-c", `command -v ${cmd}`]).ok;

// ---------------------------------------------------------------- 1. rendering
const rendered = {};
for (const t of TARGETS) {
  try {
    rendered[t] = render(join(ROOT, t));
    check(`render ${t} (tests/manifests/kustomize.mjs): ${rendered[t].length} objects`, []);
  } catch (e) {
    rendered[t] = [];
    check(`render ${t} (tests/manifests/kustomize.mjs)`, e.message);
  }
}
const byKey = (objs) => new Map(objs.map((o) => [`${o.apiVersion} ${o.kind} ${o.metadata?.namespace} ${o.metadata?.name}`, o]));
if (has("kubectl")) {
  for (const t of TARGETS) {
    const r = run("kubectl", ["kustomize", t]);
    if (!r.ok) { check(`kubectl kustomize ${t}`, r.err.trim()); continue; }
    const theirs = byKey(parseAllDocuments(r.out).map((d) => d.toJSON()).filter(Boolean));
    const ours = byKey(rendered[t]);
    const diffs = [];
    for (const [k, v] of theirs) {
      if (!ours.has(k)) diffs.push(`only in kubectl's rendering: ${k}`);
      else if (!isDeepStrictEqual(v, ours.get(k))) diffs.push(`differs: ${k}`);
    }
    for (const k of ours.keys()) if (!theirs.has(k)) diffs.push(`only in kustomize.mjs's rendering: ${k}`);
    check(`kubectl kustomize ${t} renders the same ${theirs.size} objects as kustomize.mjs`, diffs);
  }
} else {
  console.log("skipped: kubectl is not installed; the renderings come from tests/manifests/kustomize.mjs only");
}

// ---------------------------------------------------------------- 2. schemas
// Type of a built-in kind in kubernetes-types, or null (then not a built-in kind).
function k8sType(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group !== "" && group.includes(".") && !group.endsWith(".k8s.io")) return null;
  const dir = group === "" ? "core" : group.split(".")[0];
  const file = join(ROOT, "node_modules", "kubernetes-types", dir, `${version}.d.ts`);
  if (!/^[a-z0-9]+$/.test(version) || !existsSync(file)) return null;
  if (!new RegExp(`^export interface ${kind} \\{`, "m").test(readFileSync(file, "utf8"))) return null;
  return { module: `kubernetes-types/${dir}/${version}`, name: kind };
}

// Closes every object schema of a CRD as the API server's pruning would (unknown fields are
// dropped there, rejected here), keeps x-kubernetes-preserve-unknown-fields open.
function closeSchema(node, isRoot = true) {
  if (Array.isArray(node)) return node.forEach((n) => closeSchema(n, false));
  if (node === null || typeof node !== "object") return;
  const open = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (node.type === "object" && !open && node.additionalProperties === undefined && !isRoot)
    node.additionalProperties = false;
  for (const [k, v] of Object.entries(node)) {
    if (k === "properties") for (const p of Object.values(v)) closeSchema(p, false);
    else if (typeof v === "object") closeSchema(v, false);
  }
}
function xKeywords(node, acc = new Set()) {
  if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith("x-kubernetes-")) acc.add(k);
      xKeywords(v, acc);
    }
  }
  return acc;
}

const cnpg = JSON.parse(read(CNPG_SCHEMAS));
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, validateFormats: false });
for (const k of xKeywords(cnpg.kinds)) ajv.addKeyword({ keyword: k, schemaType: ["boolean", "string", "array", "object"] });
const crValidators = {};
for (const [kind, def] of Object.entries(cnpg.kinds)) {
  const schema = structuredClone(def.openAPIV3Schema);
  closeSchema(schema);
  schema.properties.apiVersion = { const: `${def.group}/${def.version}` };
  schema.properties.kind = { const: kind };
  // metadata is checked as an ObjectMeta by TypeScript; status is the operator's.
  schema.properties.metadata = { type: "object" };
  delete schema.properties.status;
  schema.additionalProperties = false;
  schema.required = ["apiVersion", "kind", "metadata", "spec"];
  crValidators[`${def.group}/${def.version} ${kind}`] = ajv.compile(schema);
}

// Validates labelled objects; returns Map(label -> [error...]) with one entry per object.
function validateAll(items) {
  const errors = new Map(items.map((it) => [it.label, []]));
  const imports = new Map();
  const body = [];
  const lineOwner = [];
  const emit = (label, type, value) => {
    if (!imports.has(type.module)) imports.set(type.module, `T${imports.size}`);
    const text = `export const v${body.length}: ${imports.get(type.module)}.${type.name} = ${JSON.stringify(value, null, 2)};`;
    body.push({ label, text });
  };
  for (const { label, obj } of items) {
    if (obj === null || typeof obj !== "object" || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      errors.get(label).push("not a Kubernetes object (apiVersion and kind strings expected)");
      continue;
    }
    const t = k8sType(obj.apiVersion, obj.kind);
    const cr = crValidators[`${obj.apiVersion} ${obj.kind}`];
    if (t) {
      emit(label, t, obj);
    } else if (cr) {
      if (!cr(obj)) {
        for (const e of cr.errors) {
          const extra = e.params?.additionalProperty ? ` "${e.params.additionalProperty}"` : e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : "";
          errors.get(label).push(`${e.instancePath || "/"} ${e.message}${extra}`);
        }
      }
      emit(label, { module: "kubernetes-types/meta/v1", name: "ObjectMeta" }, obj.metadata ?? {});
    } else {
      errors.get(label).push(`no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind} (neither Kubernetes 1.30 nor CloudNativePG 1.30.0)`);
    }
  }
  if (body.length) {
    mkdirSync(OUT, { recursive: true });
    let text = [...imports].map(([m, a]) => `import type * as ${a} from "${m}";`).join("\n") + "\n";
    for (const b of body) {
      const first = text.split("\n").length;
      text += b.text + "\n";
      const last = text.split("\n").length - 1;
      lineOwner.push({ first, last, label: b.label });
    }
    writeFileSync(join(OUT, "objects.ts"), text);
    writeFileSync(join(OUT, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "ESNext", moduleResolution: "Bundler", types: [], lib: ["ES2022"] },
      files: ["objects.ts"],
    }, null, 2));
    const r = run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(OUT, "tsconfig.json"), "--pretty", "false"]);
    const lines = (r.out + r.err).split("\n");
    const src = text.split("\n");
    let current = null;
    for (const l of lines) {
      const m = /objects\.ts\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(l);
      if (m) {
        const n = Number(m[1]);
        const owner = lineOwner.find((o) => n >= o.first && n <= o.last);
        current = { label: owner ? owner.label : "?", msg: `${m[3]} ${m[4]} [at: ${src[n - 1].trim().slice(0, 80)}]` };
        (errors.get(current.label) ?? errors.set(current.label, []).get(current.label)).push(current.msg);
      } else if (current && /^\s+\S/.test(l)) {
        const arr = errors.get(current.label);
        arr[arr.length - 1] += ` / ${l.trim()}`;
      } else if (l.trim() && !m) {
        current = null;
        if (/error/i.test(l)) (errors.get("tsc") ?? errors.set("tsc", []).get("tsc")).push(l.trim());
      }
    }
    if (!r.ok && [...errors.values()].every((e) => e.length === 0))
      errors.set("tsc", [`tsc failed: ${(r.out + r.err).trim().slice(0, 500)}`]);
  }
  return errors;
}

const items = [];
for (const t of TARGETS) rendered[t].forEach((obj) => items.push({ label: `${t}: ${idOf(obj)}`, obj, target: t }));
let broken = [];
try {
  broken = render(join(ROOT, BROKEN));
} catch (e) {
  check(`render ${BROKEN}`, e.message);
}
broken.forEach((obj, i) => items.push({ label: `${BROKEN}#${i}: ${idOf(obj)}`, obj, expect: obj.metadata?.annotations?.[EXPECT] }));
const results = validateAll(items);
if (results.has("tsc")) check("TypeScript compiler ran", results.get("tsc"));
for (const t of TARGETS) {
  const errs = items.filter((it) => it.target === t).flatMap((it) => results.get(it.label).map((e) => `${it.label}: ${e}`));
  check(`schemas: every object of ${t} is valid (Kubernetes 1.30 types, CloudNativePG 1.30.0 CRDs), unknown fields rejected`, errs);
}
{
  const errs = [];
  const bad = items.filter((it) => it.label.startsWith(BROKEN));
  if (bad.length < 5) errs.push(`${BROKEN} has ${bad.length} objects, at least 5 expected`);
  for (const it of bad) {
    const got = results.get(it.label);
    if (!it.expect) errs.push(`${it.label}: no ${EXPECT} annotation`);
    else if (got.length === 0) errs.push(`${it.label}: ACCEPTED, but must be rejected with "${it.expect}"`);
    else if (!got.some((e) => e.includes(it.expect))) errs.push(`${it.label}: rejected, but not with "${it.expect}": ${got.join(" | ")}`);
  }
  check(`schemas can fail: each of the ${bad.length} broken objects of ${BROKEN} is rejected with its expected error`, errs);
}

// ---------------------------------------------------------------- 3. rules and configuration
const prod = rendered[TARGETS[0]];
const one = (kind, name) => prod.find((o) => o.kind === kind && (!name || o.metadata.name === name));
const deploy = one("Deployment", "pvd-api");
const job = one("Job", "pvd-api-migrate");
const cm = one("ConfigMap", "pvd-api-config");
const cluster = one("Cluster");
const pooler = one("Pooler");
const hpa = one("HorizontalPodAutoscaler");
const pdb = one("PodDisruptionBudget");
const svc = one("Service", "pvd-api");
const netpols = prod.filter((o) => o.kind === "NetworkPolicy");
const need = { deploy, job, cm, cluster, pooler, hpa, pdb, svc };
check("production: Deployment, Job, ConfigMap, Cluster, Pooler, HPA, PDB, Service, NetworkPolicy present",
  [...Object.entries(need).filter(([, v]) => !v).map(([k]) => `missing ${k}`), netpols.length ? null : "missing NetworkPolicy"]);

// The variables the service reads: every upper-case string literal of api/config.c (its tables
// and lookups); read_secret() names also accept NAME_FILE (not required).
const configVars = [...new Set([...read("api/config.c").matchAll(/"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g)].map((m) => m[1]))].sort();
check(`api/config.c reads ${configVars.length} variables (AUTH_*: ${configVars.filter((v) => v.startsWith("AUTH_")).length}, CORS_*: ${configVars.filter((v) => v.startsWith("CORS_")).length})`,
  configVars.length >= 30 ? [] : [`only ${configVars.length} found: the scan of api/config.c no longer works`]);

const matches = (sel, labels) => sel && Object.entries(sel).every(([k, v]) => labels?.[k] === v);
if (deploy && job && cm) {
  const errs = [];
  const podLabels = deploy.spec.template.metadata.labels;
  for (const [what, o] of [["Deployment", deploy], ["Job", job]]) {
    const pod = o.spec.template.spec;
    const psc = pod.securityContext ?? {};
    if (psc.runAsNonRoot !== true || psc.runAsUser !== 10001 || psc.seccompProfile?.type !== "RuntimeDefault")
      errs.push(`${what}: pod securityContext needs runAsNonRoot, runAsUser 10001, seccompProfile RuntimeDefault`);
    if (pod.automountServiceAccountToken !== false) errs.push(`${what}: automountServiceAccountToken must be false`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false || sc.readOnlyRootFilesystem !== true || sc.runAsNonRoot !== true ||
          sc.runAsUser !== 10001 || !(sc.capabilities?.drop ?? []).includes("ALL") || sc.seccompProfile?.type !== "RuntimeDefault")
        errs.push(`${what}/${c.name}: container securityContext needs allowPrivilegeEscalation false, readOnlyRootFilesystem, runAsNonRoot, runAsUser 10001, drop ALL, seccomp RuntimeDefault`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory)
        errs.push(`${what}/${c.name}: requests (cpu, memory) and a memory limit are required`);
    }
  }
  const c = deploy.spec.template.spec.containers[0];
  if (c.livenessProbe?.httpGet?.path !== "/healthz" || c.startupProbe?.httpGet?.path !== "/healthz" || c.readinessProbe?.httpGet?.path !== "/readyz")
    errs.push("Deployment: startup and liveness probes on /healthz, readiness on /readyz");
  if (c.resources.requests.memory !== "64Mi") errs.push(`Deployment: memory request ${c.resources.requests.memory}, 64Mi expected (RSS under load <= 64 MB)`);
  const keys = (deploy.spec.template.spec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
  if (!keys.includes("topology.kubernetes.io/zone") || !keys.includes("kubernetes.io/hostname"))
    errs.push("Deployment: topologySpreadConstraints across zones and nodes");
  const grace = Number(cm.data.SHUTDOWN_GRACE_SECONDS);
  const pre = c.lifecycle?.preStop?.exec?.command;
  const preSleep = pre && pre[0].endsWith("sleep") ? Number(pre[1]) : 0;
  const tgps = deploy.spec.template.spec.terminationGracePeriodSeconds;
  if (!(preSleep > 0 && preSleep + grace < tgps))
    errs.push(`Deployment: preStop sleep (${preSleep}) + SHUTDOWN_GRACE_SECONDS (${grace}) must be < terminationGracePeriodSeconds (${tgps})`);
  if (deploy.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) errs.push("Deployment: rollingUpdate.maxUnavailable 0 (new pods wait for the migration)");
  if (deploy.spec.replicas !== undefined) errs.push("Deployment: no replicas (the HPA owns them)");
  // Two-phase apply (README): phase 1 is -l 'app.kubernetes.io/component!=api' (the ConfigMap, the
  // database, the Job); phase 2 everything. So the api label marks exactly the service's objects.
  const phase2 = prod.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] === "api").map(idOf).sort();
  const want2 = ["Deployment/pvd-api", "HorizontalPodAutoscaler/pvd-api", "NetworkPolicy/pvd-api", "PodDisruptionBudget/pvd-api", "Service/pvd-api"];
  if (!isDeepStrictEqual(phase2, want2)) errs.push(`label app.kubernetes.io/component=api must mark exactly ${want2.join(", ")} (is: ${phase2.join(", ")})`);
  if (!matches(svc?.spec.selector, podLabels)) errs.push("Service: selector does not select the Deployment's pods");
  if (!matches(pdb?.spec.selector.matchLabels, podLabels) || pdb?.spec.maxUnavailable !== 1) errs.push("PDB: maxUnavailable 1 over the Deployment's pods");
  if (hpa?.spec.scaleTargetRef.kind !== "Deployment" || hpa?.spec.scaleTargetRef.name !== deploy.metadata.name ||
      !(hpa?.spec.minReplicas >= 2) || !hpa?.spec.metrics?.some((m) => m.type === "Resource" && m.resource?.name === "cpu"))
    errs.push("HPA: autoscaling/v2 on the Deployment, CPU, minReplicas >= 2");
  const np = netpols.find((n) => matches(n.spec.podSelector.matchLabels, podLabels));
  if (!np) errs.push("NetworkPolicy: none selects the Deployment's pods");
  else {
    const ports = (np.spec.ingress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
    if (!np.spec.policyTypes?.includes("Egress") || np.spec.ingress?.length !== 1 || !ports.every((p) => p === "http" || p === 8080) ||
        !np.spec.ingress[0].from?.every((f) => f.namespaceSelector && f.podSelector))
      errs.push("NetworkPolicy: ingress only to the HTTP port from the ingress controller (namespace and pod selectors); Egress policed");
    const egress = JSON.stringify(np.spec.egress ?? []);
    for (const want of [`"cnpg.io/poolerName":"${pooler?.metadata.name}"`, '"port":53', '"port":443'])
      if (!egress.includes(want)) errs.push(`NetworkPolicy: egress lacks ${want}`);
  }
  // Configuration: every variable, DATABASE_URL to the Pooler, the Job to the primary.
  for (const v of configVars) if (!(v in cm.data) && !(v === "DATABASE_URL" && c.env?.some((e) => e.name === v)))
    errs.push(`ConfigMap: ${v} (read by api/config.c) is missing`);
  const host = (url) => { try { return new URL(url).hostname; } catch { return null; } };
  if (host(cm.data.DATABASE_URL) !== pooler?.metadata.name) errs.push(`ConfigMap: DATABASE_URL must name the Pooler's Service ${pooler?.metadata.name}`);
  const jobUrl = job.spec.template.spec.containers[0].env?.find((e) => e.name === "DATABASE_URL")?.value;
  if (host(jobUrl) !== `${cluster?.metadata.name}-rw`) errs.push(`Job: DATABASE_URL must name ${cluster?.metadata.name}-rw (migrate holds a session advisory lock: not through PgBouncer)`);
  if (!JSON.stringify(job.spec.template.spec.containers[0]).includes("pvd-api migrate")) errs.push("Job: must run `pvd-api migrate`");
  check("production: security contexts, probes, resources, drain timing, HPA/PDB/Service/NetworkPolicy selectors, every config variable, DATABASE_URL hosts", errs);
}
if (cluster && pooler && deploy && job) {
  // The database pods admit PostgreSQL connections only from the Pooler, the service, the
  // migration Job and each other (replication), and the Pooler only from the service.
  const errs = [];
  const instance = { "cnpg.io/cluster": cluster.metadata.name, "cnpg.io/podRole": "instance" };
  const poolerPods = { "cnpg.io/poolerName": pooler.metadata.name };
  const peersOn = (pods, port) => {
    const np = netpols.find((n) => matches(n.spec.podSelector.matchLabels, pods) && n.spec.policyTypes?.includes("Ingress"));
    if (!np) return null;
    return (np.spec.ingress ?? []).filter((r) => (r.ports ?? []).some((p) => p.port === port))
      .flatMap((r) => r.from ?? []).map((f) => (f.namespaceSelector ? "ns:" : "") + JSON.stringify(f.podSelector?.matchLabels ?? {}));
  };
  const fromDb = peersOn(instance, 5432), fromPooler = peersOn(poolerPods, 5432);
  const wantDb = [poolerPods, deploy.spec.template.metadata.labels, job.spec.template.metadata.labels, instance];
  if (!fromDb) errs.push("no NetworkPolicy selects the PostgreSQL instances' pods");
  else for (const w of wantDb) if (!fromDb.some((f) => f === JSON.stringify(w) || (!f.startsWith("ns:") && matches(JSON.parse(f), w))))
    errs.push(`instances: 5432 not open to ${JSON.stringify(w)}`);
  if (fromDb && fromDb.some((f) => f === "{}")) errs.push("instances: 5432 open to every pod of the namespace");
  if (!fromPooler) errs.push("no NetworkPolicy selects the Pooler's pods");
  else if (fromPooler.length !== 1 || !matches(JSON.parse(fromPooler[0]), deploy.spec.template.metadata.labels))
    errs.push(`Pooler: 5432 open to ${fromPooler.join(", ")} (only the pvd-api pods expected)`);
  check("production: database NetworkPolicies (instances from Pooler, service, Job, each other; Pooler from the service only)", errs);
}
if (cluster && pooler) {
  const errs = [];
  const s = cluster.spec;
  if (s.instances !== 3) errs.push("Cluster: 3 instances");
  if (!/:15[.-]/.test(s.imageName ?? "")) errs.push("Cluster: a PostgreSQL 15 image");
  const sync = s.postgresql?.synchronous;
  if (!(sync?.number >= 1) || sync?.dataDurability !== "required") errs.push("Cluster: synchronous replication (number >= 1, dataDurability required)");
  if (!s.backup?.barmanObjectStore?.destinationPath || !s.backup.barmanObjectStore.s3Credentials) errs.push("Cluster: backup.barmanObjectStore with credentials from a Secret");
  if (!s.storage?.size || !s.resources?.requests || !s.monitoring) errs.push("Cluster: storage, resources, monitoring");
  if (pooler.spec.cluster.name !== cluster.metadata.name || pooler.spec.type !== "rw" || pooler.spec.pgbouncer.poolMode !== "transaction" || !(pooler.spec.instances >= 2))
    errs.push("Pooler: type rw on the Cluster, poolMode transaction, instances >= 2");
  check("production: CloudNativePG Cluster (3 instances, PostgreSQL 15, synchronous, backups) and Pooler (rw, transaction, >= 2)", errs);
}
{
  const errs = [];
  for (const o of rendered[TARGETS[1]]) {
    if (o.kind !== "Secret") { errs.push(`${idOf(o)}: only Secrets expected`); continue; }
    for (const [k, v] of Object.entries({ ...o.stringData, ...o.data }))
      if (!String(v).includes("CHANGE_ME")) errs.push(`${idOf(o)}: ${k} is not a CHANGE_ME placeholder`);
  }
  check("example Secrets hold placeholders only", errs);
}
{
  const errs = [];
  const example = Object.fromEntries([...read("deploy/pvd-api.env.example").matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  const compose = parse(read("deploy/compose.yaml"), { merge: true });
  for (const v of configVars) if (!(v in example)) errs.push(`deploy/pvd-api.env.example: ${v} missing`);
  for (const name of ["api", "migrate"]) {
    const s = compose.services?.[name];
    if (!s) { errs.push(`compose: no service ${name}`); continue; }
    const env = s.environment ?? {};
    for (const v of configVars) {
      if (!(v in env)) errs.push(`compose ${name}: ${v} (read by api/config.c) not passed`);
      else if (env[v] !== `\${${v}:-${(example[v] ?? "").replace(/\$/g, "$$$$")}}`)
        errs.push(`compose ${name}: ${v} must be "\${${v}:-<default of pvd-api.env.example>}", is "${env[v]}"`);
    }
    if (s.read_only !== true || !/^\d+:\d+$/.test(s.user ?? "") || s.user.startsWith("0:") || !(s.cap_drop ?? []).includes("ALL") ||
        !(s.security_opt ?? []).includes("no-new-privileges:true"))
      errs.push(`compose ${name}: read_only, numeric non-root user, cap_drop ALL, no-new-privileges`);
  }
  if (!compose.services?.api?.healthcheck?.test) errs.push("compose api: healthcheck");
  check(`configuration: the ${configVars.length} variables of api/config.c in deploy/pvd-api.env.example and compose (api, migrate) with its defaults; compose hardening`, errs);
}

// The values themselves, through pvd-api's own parser (api/config.c): `serve` with the ConfigMap's
// environment, then with compose's defaults, must get past the configuration and stop at the
// database, which is replaced by a closed local port (no name resolved, nothing listened on).
{
  const bin = join(ROOT, "build", "pvd-api");
  const tryConfig = (env) => {
    const r = spawnSync(bin, ["serve"], {
      env: { PATH: process.env.PATH, ...env, DATABASE_URL: "postgresql://127.0.0.1:1/pvd?connect_timeout=1", DB_CONNECT_TIMEOUT_SECONDS: "1" },
      encoding: "utf8", timeout: 20000,
    });
    const lines = (r.stderr ?? "").split("\n");
    const invalid = lines.filter((l) => l.includes("configuration invalide")).map((l) => JSON.parse(l).erreur);
    if (invalid.length) return invalid;
    return lines.some((l) => l.includes("injoignable au d")) ? [] : [`did not reach the database step: ${(r.stderr ?? "").slice(0, 300)}`];
  };
  if (!existsSync(bin)) {
    console.log("skipped: configuration values through pvd-api's parser (build/pvd-api missing)");
  } else {
    const compose = parse(read("deploy/compose.yaml"), { merge: true });
    const composeEnv = Object.fromEntries(Object.entries(compose.services.api.environment)
      .map(([k, v]) => [k, String(v).replace(/^\$\{[A-Z0-9_]+:-(.*)\}$/, "$1").replace(/\$\$/g, "$")]));
    check("configuration values accepted by pvd-api's parser: the production ConfigMap, compose's defaults",
      [...(cm ? tryConfig(cm.data).map((e) => `ConfigMap: ${e}`) : []), ...tryConfig(composeEnv).map((e) => `compose: ${e}`)]);
    // Proof that this can fail: an empty DATABASE_URL_FILE beside DATABASE_URL is refused.
    const refused = cm ? tryConfig({ ...cm.data, DATABASE_URL_FILE: "" }) : [];
    check("configuration check can fail: the ConfigMap plus an empty DATABASE_URL_FILE is refused",
      refused.some((e) => e.includes("DATABASE_URL_FILE")) ? [] : [`not refused: ${refused.join(" | ") || "accepted"}`]);
  }
}

// The compose file against the Compose Specification's schema (vendored, see schemas/README.md),
// YAML merge keys resolved as compose does; the broken fixture must be rejected.
{
  const spec = JSON.parse(read("tests/manifests/schemas/compose-spec.json"));
  delete spec.$schema; // draft-07, ajv's default; the https form of its URI is not registered
  const validate = ajv.compile(spec);
  const errorsOf = (file) => validate(parse(read(file), { merge: true })) ? [] :
    validate.errors.map((e) => `${file}: ${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` "${e.params.additionalProperty}"` : ""}`);
  check("deploy/compose.yaml is valid against the Compose Specification schema (unknown fields rejected)", errorsOf("deploy/compose.yaml"));
  const bad = errorsOf("tests/manifests/fixtures/broken-compose.yaml");
  check("compose schema can fail: tests/manifests/fixtures/broken-compose.yaml is rejected for \"readonly\"",
    bad.some((e) => e.includes('"readonly"')) ? [] : [`not rejected as expected: ${bad.join(" | ") || "accepted"}`]);
}

// ---------------------------------------------------------------- 4. the image
const dockerfile = read("Dockerfile");
const argList = (name) => {
  const m = new RegExp(`^ARG ${name}="([^"]*)"`, "m").exec(dockerfile);
  return m ? m[1].replace(/\\\n/g, " ").split(/\s+/).filter(Boolean) : null;
};
{
  const errs = [];
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  if (users.length === 0 || !/^[1-9]\d*:[1-9]\d*$/.test(users[users.length - 1])) errs.push(`Dockerfile: last USER must be numeric uid:gid, not root (is ${users.at(-1)})`);
  const ignore = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const want of ["/var", "/build", "/node_modules", "/.git", "/tests", "**/*.pem", "**/*.env", "/deploy/pvd-api.env"])
    if (!ignore.includes(want)) errs.push(`.dockerignore: ${want} missing`);
  const runtime = argList("RUNTIME_PACKAGES");
  const build = argList("BUILD_PACKAGES");
  if (!runtime || !build) errs.push("Dockerfile: ARG RUNTIME_PACKAGES and ARG BUILD_PACKAGES expected");
  else {
    // deploy/local/deps.sh's libraries, less the test-only ones, are the build stage's.
    const deps = /readonly PACKAGES=\(([^)]*)\)/.exec(read("deploy/local/deps.sh"))[1].split(/\s+/);
    for (const p of deps.filter((p) => /-dev$/.test(p) && !/^libcriterion|^libclang/.test(p)))
      if (!build.includes(p)) errs.push(`Dockerfile BUILD_PACKAGES: ${p} (deploy/local/deps.sh) missing`);
    // One runtime package per library the binary links directly.
    const bin = join(ROOT, "build", "pvd-api");
    if (!existsSync(bin) || !has("readelf") || !has("ldd") || !has("dpkg")) {
      console.log("skipped: runtime packages vs build/pvd-api (needs build/pvd-api, readelf, ldd and dpkg)");
    } else {
      const needed = [...run("readelf", ["-d", bin]).out.matchAll(/Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const resolved = run("ldd", [bin]).out;
      for (const lib of needed) {
        const path = new RegExp(`^\\s*${lib.replace(/\./g, "\\.")} => (/\\S+)`, "m").exec(resolved)?.[1];
        if (!path) { errs.push(`${lib}: not resolved by ldd`); continue; }
        const real = run("readlink", ["-f", path]).out.trim();
        const candidates = [path, real, path.replace(/^\/lib\//, "/usr/lib/"), real.replace(/^\/usr\/lib\//, "/lib/")];
        const owner = candidates.map((p) => run("dpkg", ["-S", p])).find((r) => r.ok);
        const pkg = owner ? owner.out.split(":")[0].trim() : "";
        if (!pkg) { errs.push(`${lib} (${path}): no Debian package owns it`); continue; }
        if (pkg !== "libc6" && !runtime.includes(pkg)) errs.push(`Dockerfile RUNTIME_PACKAGES: ${pkg} missing (build/pvd-api links ${lib})`);
      }
      console.log(`  build/pvd-api links ${needed.join(", ")}`);
    }
  }
  check("image: numeric non-root USER, .dockerignore entries, build packages = deps.sh's, a runtime package for each linked library", errs);
}
{
  const usable = ["docker", "podman", "buildah"].filter(has).find((rt) => run(rt, rt === "buildah" ? ["info"] : ["info"], { timeout: 15000 }).ok);
  if (!usable) {
    const present = ["docker", "podman", "buildah"].filter(has);
    console.log(`skipped: image build — no container runtime answers (${present.length ? `${present.join(", ")} installed, daemon or service unreachable` : "none of docker, podman, buildah installed"}); nothing is installed by this step`);
  } else {
    const tag = "pvd-api:manifests-check";
    const b = run(usable, usable === "buildah" ? ["bud", "-t", tag, "."] : ["build", "-t", tag, "."], { timeout: 1800000 });
    // A base image that cannot be pulled (no registry reachable) is no verdict on the Dockerfile.
    const unreachable = !b.ok && /pull access denied|failed to resolve source metadata|failed to do request|dial tcp|i\/o timeout|no such host|TLS handshake timeout|error pinging/i.test(b.err);
    const errs = b.ok || unreachable ? [] : [`${usable} build failed: ${b.err.trim().split("\n").slice(-5).join(" / ")}`];
    if (unreachable) console.log(`skipped: image build — ${usable} answers but cannot pull the base images: ${b.err.trim().split("\n").at(-1).slice(0, 200)}`);
    else if (b.ok && usable !== "buildah") {
      const user = run(usable, ["image", "inspect", "-f", "{{.Config.User}}", tag]).out.trim();
      if (user !== "10001:10001") errs.push(`image user ${user}, 10001:10001 expected`);
      const r = run(usable, ["run", "--rm", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", tag, "routes"], { timeout: 60000 });
      if (!r.ok || !r.out.includes("/healthz")) errs.push(`${usable} run --read-only ${tag} routes failed: ${r.err.trim().slice(0, 300)}`);
    }
    if (!unreachable) check(`image: built with ${usable}, runs read-only as 10001:10001`, errs);
  }
}

console.log(failed.length ? `manifests: ${failed.length} of ${passed + failed.length} checks FAILED: ${failed.join("; ")}` : `manifests: all ${passed} checks passed`);
process.exit(failed.length ? 1 : 0);
