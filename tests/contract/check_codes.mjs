#!/usr/bin/env node
/*
 * check_codes.mjs — the contract declares every code and every answer the source can give.
 *
 * Usage: node tests/contract/check_codes.mjs build/openapi.json [--print]
 * The document is the bundled contract (`make build/openapi.json`: openapi/openapi.yaml and the
 * files it includes, in one document); any one-document JSON or YAML form of it will do.
 * (run from the repository root: it reads api/, domain/ and db/).
 *
 * Codes, read from the C source, must be members of the spec's enums:
 *   - problem codes: the slugs of api/problem_codes.def → Problem.code;
 *   - error codes: the argument at the `const char *code` parameter of every call of a
 *     function declared with one (field_errors_add, rule_report_add for violations,
 *     convention_respond_conflict, the CSV import's refuse / set_error / refuse_group…),
 *     and the truncation marker of api/problem.c → CodeErreur (used by ProblemErreur.code
 *     and ImportLigne.code);
 *   - warning codes: rule_report_add calls on a report whose name contains "warn"
 *     → CodeAvertissement;
 *   - rules: the argument at a `const char *regle` parameter (rule_report_add, the CSV
 *     refusals: "R42"…) → Regle;
 *   - journal actions: every "<ressource>.<verbe>" literal of db/*.c and api/handlers/*.c
 *     that is not an authorization-only route action (list below), plus the projet
 *     objects × verbs that db/projet_repository.c composes → ActionJournal; resource
 *     types: the literal second member of `struct journal_entry` initializers and the
 *     projet object types → TypeRessource.
 * A code argument that is an expression contributes every kebab-case literal in it; one
 * that is a variable contributes nothing (its values are literals of another call site).
 *
 * Answers, read from the route table (api/routes.c), must be declared by each operation:
 * 400, 413, 414, 415, 500, 501 and 503 everywhere; 401 and 429 on authenticated routes; 409 and
 * a 422 whose code admits `cle-idempotence-reutilisee` on every POST that replays an
 * Idempotency-Key (the KEYED column of the route table).
 * Every collection schema (…Collection) requires `elements`, `suivant` and `total`; every
 * JSON request body schema has additionalProperties: false; no parameter shares a schema's
 * name; every PATCH accepts application/merge-patch+json.
 *
 * Exit status: 0 when all hold ("codes: … OK"); 1 listing every miss; 2 on a usage error.
 * --print also lists the codes found in the source, one enum per line.
 */
import { readFileSync, readdirSync } from "node:fs";
import process from "node:process";
import YAML from "yaml";

/* Route actions that only authorize (never written to the journal). A new
 * "<ressource>.<verbe>" literal must go either in the spec's ActionJournal or here. */
const AUTHORIZATION_ONLY = new Set([
	"abonnement.gerer", "abonnement.lire", "client.gerer", "convention.lire", "habilitation.lire", "journal.lire", "moi.lire",
	"organisation.ecrire", "projet.ecrire", "projet.lire", "statistiques.lire", "territoire.ecrire",
]);

function die(message) {
	process.stderr.write(`check_codes: ${message}\n`);
	process.exit(2);
}

function cFiles(dir) {
	return readdirSync(dir, { recursive: true })
		.filter((f) => f.endsWith(".c"))
		.map((f) => `${dir}/${f}`)
		.sort();
}

/* Source text without comments (string literals kept). */
function source(file) {
	return readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, " ").replace(/(^|[^:"])\/\/[^\n]*/g, "$1");
}

/* The top-level arguments of the call whose '(' ends at text[start - 1]. */
function callArguments(text, start) {
	const out = [];
	let depth = 0, current = "", inString = false;
	for (let i = start; i < text.length; i++) {
		const c = text[i];
		if (inString) {
			current += c;
			if (c === "\\") current += text[++i];
			else if (c === '"') inString = false;
			continue;
		}
		if (c === '"') { inString = true; current += c; continue; }
		if (c === "(" || c === "{") depth++;
		if (c === "}") depth--;
		if (c === ")") {
			if (depth === 0) { out.push(current.trim()); return out; }
			depth--;
		}
		if (c === "," && depth === 0) { out.push(current.trim()); current = ""; continue; }
		current += c;
	}
	return out;
}

const literals = (expr, re) => [...(expr ?? "").matchAll(/"([^"\\]*)"/g)].map((m) => m[1]).filter((s) => re.test(s));
const KEBAB = /^[a-z]+(-[a-z0-9]+)*$/;
const RULE = /^R[0-9]+$/;

/* Calls of fn in text that are calls (not the declaration/definition). */
function calls(text, fn) {
	const found = [];
	const re = new RegExp(`\\b${fn}\\s*\\(`, "g");
	let m;
	while ((m = re.exec(text))) {
		const lineStart = text.lastIndexOf("\n", m.index) + 1;
		if (/^\s*(static\s+)?(size_t|void|bool|int|enum\s+\w+)\b/.test(text.slice(lineStart, m.index)))
			continue;
		found.push(callArguments(text, m.index + m[0].length));
	}
	return found;
}

function sourceCodes() {
	const problems = new Set(), errors = new Set(), warnings = new Set(), rules = new Set();
	const actions = new Set(), types = new Set();
	const def = readFileSync("api/problem_codes.def", "utf8");
	for (const m of def.matchAll(/^PROBLEM\(\s*\w+\s*,\s*"([^"]+)"/gm)) problems.add(m[1]);
	const files = [...cFiles("api"), ...cFiles("domain"), ...cFiles("db")];
	const texts = new Map(files.map((f) => [f, source(f)]));
	/* Every function with a parameter `const char *code` (or `regle`) declared in a .c or
	 * .h file: its calls pass error codes (rules) at that position. Reference codes (INSEE,
	 * départements) are digits, never kebab-case, and are ignored by the pattern. */
	/* name -> [{ file, code: index, regle: index | -1 }]: static functions of the same name
	 * in two files (refuse) each keep their own parameters */
	const carriers = new Map();
	const headers = ["api", "domain", "db"].flatMap((d) => readdirSync(d, { recursive: true }).filter((f) => f.endsWith(".h")).map((f) => `${d}/${f}`));
	for (const file of [...files, ...headers]) {
		const text = texts.get(file) ?? source(file);
		for (const m of text.matchAll(/\b(\w+)\s*\(([^()]*)\)\s*(?:__attribute__\s*\(\([^;{]*\)\))?\s*[;{]/g)) {
			const params = m[2].split(",").map((p) => p.trim());
			const code = params.findIndex((p) => /^const char \*code$/.test(p));
			const regle = params.findIndex((p) => /^const char \*regle$/.test(p));
			if (code < 0)
				continue;
			if (!carriers.has(m[1]))
				carriers.set(m[1], []);
			carriers.get(m[1]).push({ file, code, regle });
		}
	}
	/* Every struct with a member `code` (const char *): its initializers give codes at that
	 * position ({…, "code", …}, arrays of them included), and so does `.code = "…"`. */
	const structs = new Map(); /* struct name -> index of its member `code` */
	for (const file of [...files, ...headers]) {
		const text = texts.get(file) ?? source(file);
		for (const m of text.matchAll(/struct\s+(\w+)\s*\{([^{}]*)\}\s*;/g)) {
			const members = m[2].split(";").map((d) => d.trim()).filter(Boolean)
				.flatMap((d) => d.split(",").map((x, i) => (i === 0 ? x.trim().split(/[\s*]+/).pop() : x.trim().replace(/^\*+/, ""))));
			const at = members.findIndex((name) => name.replace(/\[.*$/, "") === "code");
			if (at >= 0 && /const char \*(?:\w+, \*)*code\b|const char \*code\b/.test(m[2]))
				structs.set(m[1], at);
		}
	}
	const initializerCodes = (text) => {
		const out = [];
		for (const [name, at] of structs) {
			const re = new RegExp(`struct\\s+${name}\\s+\\w+(\\s*\\[\\w*\\])?\\s*=\\s*\\{`, "g");
			let m;
			while ((m = re.exec(text))) {
				const items = callArguments(text.replace(/\{/g, "(").replace(/\}/g, ")"), m.index + m[0].length);
				const rows = m[1] ? items.map((it) => callArguments(`${it.replace(/^\(/, "")}`, 0)) : [items];
				for (const row of rows) out.push(...literals(row[at], KEBAB));
			}
		}
		for (const m of text.matchAll(/\.code\s*=\s*"([^"]*)"/g)) if (KEBAB.test(m[1])) out.push(m[1]);
		return out;
	};
	for (const file of files) {
		const text = texts.get(file);
		for (const c of initializerCodes(text)) errors.add(c);
		for (const [fn, declarations] of carriers) {
			const at = declarations.find((d) => d.file === file) ?? declarations.find((d) => d.file.endsWith(".h")) ?? declarations[0];
			for (const a of calls(text, fn)) {
				const warning = fn === "rule_report_add" && /warn/.test(a[0]);
				for (const c of literals(a[at.code], KEBAB)) (warning ? warnings : errors).add(c);
				if (at.regle >= 0)
					for (const r of literals(a[at.regle], RULE)) rules.add(r);
			}
		}
		if (file.endsWith("api/problem.c")) /* the truncation marker of erreurs[] */
			for (const m of text.matchAll(/"code",\s*safe_string\("([a-z-]+)"\)/g)) errors.add(m[1]);
		if (file.startsWith("db/") || file.startsWith("api/handlers/"))
			/* the SQL columns of a list read by modification (db/list_sync.h) and the territoire
			 * expression of a scope read (db/territoire_scope.h) are no actions */
			for (const m of text.replace(/struct list_sync_columns \w+ = \{[^}]*\}/g, "").replace(/TERRITOIRE_SCOPE_LINES_SQL\("[^"]*"\)/g, "").matchAll(/"([a-z_]+\.[a-z_]+)"/g))
				if (!/\.(h|c|json|def)$/.test(m[1]) && !m[1].startsWith("x.") && !AUTHORIZATION_ONLY.has(m[1]))
					actions.add(m[1]);
		for (const m of text.matchAll(/struct journal_entry \w+ = \{\s*[^,]+,\s*"([a-z_]+)"/g)) types.add(m[1]);
	}
	/* db/projet_repository.c: action = objets[kind].type "." verb (verbs of gouvernance.c) */
	const projet = source("db/projet_repository.c");
	const projetTypes = [...projet.matchAll(/\[PROJET_\w+\]\s*=\s*\{\s*"([a-z_]+)"/g)].map((m) => m[1]);
	const verbsMatch = /verbs\[\]\s*=\s*\{([^}]*)\}/.exec(source("api/handlers/gouvernance.c"));
	const verbs = verbsMatch ? literals(verbsMatch[1], /^[a-z_]+$/) : [];
	if (projetTypes.length === 0 || verbs.length === 0)
		die("cannot read the projet objects (db/projet_repository.c) or verbs (api/handlers/gouvernance.c)");
	for (const t of projetTypes) {
		types.add(t);
		for (const v of verbs) actions.add(`${t}.${v}`);
	}
	return { problems, errors, warnings, rules, actions, types };
}

function routeTable() {
	const text = readFileSync("api/routes.c", "utf8");
	const routes = [];
	for (const m of text.matchAll(/\{"(GET|POST|PATCH|DELETE|PUT)",\s*"([^"]+)",\s*(ROUTE_\w+),\s*(NULL|"[^"]*"),\s*\w+,\s*(KEYED|NOKEY),\s*(?:CACHED|CACHED_RP|FRESH)\}/g)) {
		const path = m[2].split("/").map((s) => (s.startsWith(":") ? `{${s.slice(1)}}` : s)).join("/");
		const authenticated = m[3] !== "ROUTE_PUBLIC";
		routes.push({ method: m[1].toLowerCase(), path, authenticated, replayable: m[5] === "KEYED" });
	}
	if (routes.length === 0) die("no route read from api/routes.c");
	const rows = [...text.matchAll(/^\s*\{"(GET|POST|PATCH|DELETE|PUT)",/gm)].length;
	if (rows !== routes.length) die(`api/routes.c: ${rows} rows, ${routes.length} of them read (a row of another shape?)`);
	return routes;
}

function main(argv) {
	const print = argv.includes("--print");
	const args = argv.filter((a) => a !== "--print");
	if (args.length !== 1) die("usage: node tests/contract/check_codes.mjs build/openapi.json [--print]");
	let doc;
	try {
		doc = YAML.parse(readFileSync(args[0], "utf8"));
	} catch (err) {
		die(`cannot read ${args[0]}: ${err.message}`);
	}
	const schemas = doc?.components?.schemas ?? {};
	const failures = [];
	const deref = (node) => {
		for (let i = 0; node && node.$ref && i < 20; i++)
			node = node.$ref.slice(2).split("/").reduce((n, k) => n?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
		return node;
	};
	const enumOf = (name, pointer) => {
		const node = deref(pointer ? { $ref: pointer } : schemas[name]);
		if (!node || !Array.isArray(node.enum)) {
			failures.push(`${pointer ?? `#/components/schemas/${name}`} is not an enum`);
			return new Set();
		}
		return new Set(node.enum);
	};

	const found = sourceCodes();
	const checks = [
		["problem code", found.problems, enumOf(null, "#/components/schemas/Problem/properties/code"), "Problem.code"],
		["error code", found.errors, enumOf("CodeErreur"), "CodeErreur"],
		["warning code", found.warnings, enumOf("CodeAvertissement"), "CodeAvertissement"],
		["rule", found.rules, enumOf("Regle"), "Regle"],
		["journal action", found.actions, enumOf("ActionJournal"), "ActionJournal"],
		["journal resource type", found.types, enumOf("TypeRessource"), "TypeRessource"],
	];
	for (const [what, inSource, inSpec, where] of checks) {
		if (print) process.stdout.write(`${where}: ${[...inSource].sort().join(", ")}\n`);
		for (const code of [...inSource].sort())
			if (!inSpec.has(code)) failures.push(`${what} "${code}" is in the source but not in the spec's ${where} enum`);
	}
	const refs = (schema) => JSON.stringify(schema ?? {});
	for (const [where, field, target] of [["ProblemErreur", "code", "CodeErreur"], ["ImportLigne", "code", "CodeErreur"],
		["Avertissement", "code", "CodeAvertissement"], ["Avertissement", "regle", "Regle"], ["Problem", "regle", "Regle"],
		["ConventionAvertissement", "code", "CodeAvertissement"], ["ConventionAvertissement", "regle", "Regle"],
		["EntreeJournal", "action", "ActionJournal"], ["EntreeJournal", "ressource_type", "TypeRessource"]])
		if (!refs(schemas[where]?.properties?.[field]).includes(`#/components/schemas/${target}"`))
			failures.push(`${where}.${field} does not use the ${target} enum`);

	/* answers */
	const routes = routeTable();
	const codesOf = (response) => {
		const node = deref(response);
		const out = new Set();
		JSON.stringify(node?.content ?? {}, (key, value) => {
			if (key === "code" && value && typeof value === "object") {
				if (typeof value.const === "string") out.add(value.const);
				for (const e of value.enum ?? []) out.add(e);
			}
			return value;
		});
		return out;
	};
	for (const r of routes) {
		const op = doc.paths?.[r.path]?.[r.method];
		const name = `${r.method.toUpperCase()} ${r.path}`;
		if (!op) {
			failures.push(`${name}: route without operation`);
			continue;
		}
		const responses = op.responses ?? {};
		const wanted = ["400", "413", "414", "415", "500", "501", "503"];
		if (r.authenticated) wanted.push("401", "429");
		if (r.replayable) wanted.push("409", "422");
		for (const status of wanted)
			if (!(status in responses)) failures.push(`${name}: status ${status} not declared`);
		if (r.replayable && "422" in responses && !codesOf(responses["422"]).has("cle-idempotence-reutilisee"))
			failures.push(`${name}: its 422 does not admit code cle-idempotence-reutilisee`);
		if (r.replayable && "400" in responses && !codesOf(responses["400"]).has("requete-invalide"))
			failures.push(`${name}: its 400 does not admit code requete-invalide (malformed Idempotency-Key)`);
		if (r.method === "patch" && !op.requestBody?.content?.["application/merge-patch+json"])
			failures.push(`${name}: no application/merge-patch+json request body`);
		const body = op.requestBody?.content?.["application/json"]?.schema;
		if (body && deref(body)?.additionalProperties !== false)
			failures.push(`${name}: its JSON request body schema does not set additionalProperties: false`);
	}
	for (const [name, schema] of Object.entries(schemas))
		if (/Collection$/.test(name))
			for (const member of ["elements", "suivant", "total"])
				if (!(schema.required ?? []).includes(member)) failures.push(`${name}: "${member}" is not required`);
	for (const name of Object.keys(doc.components?.parameters ?? {}))
		if (name in schemas) failures.push(`parameter ${name} has the name of a schema`);

	if (failures.length > 0) {
		for (const f of failures) process.stderr.write(`FAIL ${f}\n`);
		process.stderr.write(`codes: ${failures.length} failure(s)\n`);
		process.exit(1);
	}
	process.stdout.write(`codes: ${found.problems.size} problem codes, ${found.errors.size} error codes, ${found.warnings.size} warning codes, ` +
		`${found.rules.size} rules, ${found.actions.size} journal actions, ${found.types.size} resource types; ${routes.length} routes declare their answers: OK\n`);
}

main(process.argv.slice(2));
