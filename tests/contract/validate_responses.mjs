#!/usr/bin/env node
/*
 * validate_responses.mjs — checks captured HTTP responses against the OpenAPI document.
 *
 * Usage: node tests/contract/validate_responses.mjs build/openapi.json CAPTURE.jsonl
 * The document is the bundled contract (`make build/openapi.json`: openapi/openapi.yaml and the
 * files it includes, in one document); any one-document JSON or YAML form of it will do.
 *
 * Each line of CAPTURE.jsonl is one response captured by the C integration tests:
 *   {"method":"GET","path":"/api/v1/communes/69248?x=1","status":200,
 *    "content_type":"application/json","body":<parsed JSON or null>,
 *    "headers":{"etag":"\"...\"","x-request-id":"...", ...}}
 * Header names are compared case-insensitively; the query string and fragment of `path` are
 * ignored. Blank lines are skipped.
 *
 * For each response:
 *   1. the operation is found by matching the path against the document's path templates
 *      (a literal segment wins over a templated one) and the method;
 *   2. the response object is the operation's one for the exact status, else "4XX"-style
 *      ranges, else `default`; a status the operation does not declare is a failure (errors
 *      included: every answer must be declared). The document's generic responses
 *      (`x-reponses-generiques`) apply only when no operation matches (unknown route,
 *      method not allowed);
 *   3. the content type must be one of the documented media types (parameters such as
 *      charset are ignored); a response documented without content must have no body;
 *   4. JSON bodies (application/json, application/*+json) are validated with Ajv (JSON
 *      Schema 2020-12, the dialect of OpenAPI 3.1); other bodies are checked for content
 *      type only;
 *   5. every header documented with `required: true` must be present, and every documented
 *      header that is present must match its schema.
 * OPTIONS responses (generic CORS preflight) are skipped and counted apart.
 *
 * Exit status: 0 when every response conforms ("contract: N responses validated against M
 * operations, 0 failures"); 1 when any does not, or when the capture holds no response (a
 * test that validates nothing must not pass), listing up to 50 failures; 2 on a usage error
 * or an unreadable document.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import YAML from "yaml";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const SPEC_ID = "urn:pvd-api:contract:openapi";
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const MAX_PRINTED_FAILURES = 50;
const MAX_ERRORS_PER_FAILURE = 20;

function die(message) {
	process.stderr.write(`validate_responses: ${message}\n`);
	process.exit(2);
}

/* ---- the document and its local references ------------------------------------------ */

function escapePointerSegment(segment) {
	return String(segment).replace(/~/g, "~0").replace(/\//g, "~1");
}

function unescapePointerSegment(segment) {
	return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

function pointerOf(segments) {
	return segments.map((s) => `/${escapePointerSegment(s)}`).join("");
}

/* The node at a local JSON pointer ("/components/responses/X"), or undefined. */
function nodeAt(doc, pointer) {
	if (pointer === "")
		return doc;
	let node = doc;
	for (const raw of pointer.slice(1).split("/")) {
		if (node === null || typeof node !== "object")
			return undefined;
		node = node[unescapePointerSegment(raw)];
	}
	return node;
}

/*
 * Follows OpenAPI Reference Objects ({"$ref": "#/..."}) until a concrete object.
 * Returns { node, pointer } where pointer locates the concrete object in the document, so
 * that schemas below it can be handed to Ajv by pointer. Throws on an unresolvable or
 * external reference, or on a cycle.
 */
function deref(doc, node, pointer) {
	const seen = new Set();
	while (node && typeof node === "object" && typeof node.$ref === "string") {
		const ref = node.$ref;
		if (!ref.startsWith("#"))
			throw new Error(`external reference ${ref} at ${pointer} is not supported`);
		if (seen.has(ref))
			throw new Error(`reference cycle through ${ref}`);
		seen.add(ref);
		const target = decodeURIComponent(ref.slice(1));
		const next = nodeAt(doc, target);
		if (next === undefined)
			throw new Error(`unresolvable reference ${ref} at ${pointer}`);
		node = next;
		pointer = target;
	}
	return { node, pointer };
}

/* ---- path templates ------------------------------------------------------------------- */

function escapeRegExp(text) {
	return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/*
 * One matcher per path template. Each segment scores 2 when literal, 1 when it mixes text
 * and parameters, 0 when it is a single parameter; the best match is the highest score
 * vector, compared segment by segment from the left.
 */
function compileTemplates(paths) {
	return Object.keys(paths).map((template) => {
		const segments = template.split("/");
		const scores = segments.map((seg) => {
			if (!seg.includes("{"))
				return 2;
			return /^\{[^{}]+\}$/.test(seg) ? 0 : 1;
		});
		const source = segments
			.map((seg) => seg.split(/(\{[^{}]+\})/).map((part) => (/^\{[^{}]+\}$/.test(part) ? "[^/]+" : escapeRegExp(part))).join(""))
			.join("/");
		return { template, regex: new RegExp(`^${source}$`), scores };
	});
}

function compareScores(a, b) {
	for (let i = 0; i < Math.min(a.length, b.length); i++)
		if (a[i] !== b[i])
			return a[i] - b[i];
	return a.length - b.length;
}

function matchTemplate(templates, path) {
	let best = null;
	for (const t of templates) {
		if (!t.regex.test(path))
			continue;
		if (best === null || compareScores(t.scores, best.scores) > 0)
			best = t;
	}
	return best ? best.template : null;
}

/* Base path of the first server (variables replaced by their defaults), e.g. "" or "/api". */
function serverBasePath(doc) {
	const server = Array.isArray(doc.servers) ? doc.servers[0] : undefined;
	if (!server || typeof server.url !== "string")
		return "";
	const url = server.url.replace(/\{([^}]+)\}/g, (_, name) => server.variables?.[name]?.default ?? "x");
	let path;
	try {
		path = new URL(url, "http://placeholder").pathname;
	} catch {
		return "";
	}
	return path === "/" ? "" : path.replace(/\/$/, "");
}

/* ---- media types and headers ---------------------------------------------------------- */

function baseMediaType(value) {
	return String(value).split(";")[0].trim().toLowerCase();
}

function mediaTypeMatches(documented, actual) {
	const [dType, dSub] = baseMediaType(documented).split("/");
	const [aType, aSub] = actual.split("/");
	return (dType === "*" || dType === aType) && (dSub === "*" || dSub === aSub);
}

function isJsonMediaType(mediaType) {
	return mediaType === "application/json" || /^[a-z]+\/[^;]*\+json$/.test(mediaType);
}

function lowerCaseHeaders(headers) {
	const out = new Map();
	if (headers && typeof headers === "object")
		for (const [name, value] of Object.entries(headers))
			out.set(name.toLowerCase(), Array.isArray(value) ? value.join(", ") : value);
	return out;
}

/* ---- Ajv -------------------------------------------------------------------------------- */

function makeAjv(doc, extraOptions) {
	const ajv = new Ajv2020({ strict: false, allErrors: true, ...extraOptions });
	addFormats(ajv);
	/* The whole document is one schema resource: "#/components/schemas/X" references inside
	 * the schemas resolve against it. It is not itself a JSON schema, hence no meta-check. */
	ajv.addSchema({ ...doc, $id: SPEC_ID }, undefined, undefined, false);
	return ajv;
}

function ajvRef(pointer) {
	const fragment = pointer
		.slice(1)
		.split("/")
		.map((seg) => encodeURIComponent(unescapePointerSegment(seg)).replace(/~/g, "~0"))
		.map((seg) => seg.replace(/%2F/gi, "~1"))
		.join("/");
	return `${SPEC_ID}#/${fragment}`;
}

function formatAjvErrors(errors) {
	const lines = (errors || []).map((e) => {
		let detail = e.message || e.keyword;
		if (e.keyword === "additionalProperties")
			detail += ` "${e.params.additionalProperty}"`;
		else if (e.keyword === "enum")
			detail += `: ${JSON.stringify(e.params.allowedValues)}`;
		else if (e.keyword === "const")
			detail += ` ${JSON.stringify(e.params.allowedValue)}`;
		return `${e.instancePath || "(root)"} ${detail} [${e.schemaPath}]`;
	});
	if (lines.length > MAX_ERRORS_PER_FAILURE)
		return [...lines.slice(0, MAX_ERRORS_PER_FAILURE), `... ${lines.length - MAX_ERRORS_PER_FAILURE} more error(s)`];
	return lines;
}

/* ---- main ------------------------------------------------------------------------------- */

function main(argv) {
	if (argv.length !== 2)
		die("usage: node tests/contract/validate_responses.mjs build/openapi.json CAPTURE.jsonl");
	const [specFile, captureFile] = argv;

	let doc;
	try {
		doc = YAML.parse(readFileSync(specFile, "utf8"));
	} catch (err) {
		die(`cannot read ${specFile}: ${err.message}`);
	}
	if (!doc || typeof doc !== "object" || !doc.paths || typeof doc.paths !== "object")
		die(`${specFile} has no "paths" object`);

	let captureText;
	try {
		captureText = readFileSync(captureFile, "utf8");
	} catch (err) {
		die(`cannot read ${captureFile}: ${err.message}`);
	}

	const bodyAjv = makeAjv(doc, {});
	const headerAjv = makeAjv(doc, { coerceTypes: true });
	const validators = new Map();
	function validatorFor(ajv, cacheKey, schemaPointer, wrapInObject) {
		const key = `${cacheKey}|${schemaPointer}`;
		if (!validators.has(key)) {
			const ref = { $ref: ajvRef(schemaPointer) };
			const schema = wrapInObject ? { type: "object", properties: { v: ref } } : ref;
			validators.set(key, ajv.compile(schema));
		}
		return validators.get(key);
	}

	const templates = compileTemplates(doc.paths);
	const basePath = serverBasePath(doc);
	const generic = doc["x-reponses-generiques"] && typeof doc["x-reponses-generiques"] === "object" ? doc["x-reponses-generiques"] : {};

	const failures = [];
	const operationsSeen = new Set();
	let checked = 0;
	let skipped = 0;

	const lines = captureText.split(/\r?\n/);
	lines.forEach((rawLine, index) => {
		const lineNo = index + 1;
		if (rawLine.trim() === "")
			return;
		let entry;
		try {
			entry = JSON.parse(rawLine);
		} catch (err) {
			checked++;
			failures.push({ where: `line ${lineNo}`, message: `not valid JSON: ${err.message}` });
			return;
		}
		const method = typeof entry?.method === "string" ? entry.method.toUpperCase() : null;
		const fullPath = typeof entry?.path === "string" ? entry.path : null;
		const status = Number.isInteger(entry?.status) ? entry.status : null;
		if (method === null || fullPath === null || status === null) {
			checked++;
			failures.push({ where: `line ${lineNo}`, message: 'needs "method" (string), "path" (string) and "status" (integer)' });
			return;
		}
		if (method === "OPTIONS") {
			skipped++;
			return;
		}
		checked++;
		const where = `line ${lineNo}: ${method} ${fullPath} -> ${status}`;
		const fail = (message, details = []) => failures.push({ where, message, details });

		let path = fullPath.split(/[?#]/)[0];
		if (basePath && (path === basePath || path.startsWith(`${basePath}/`)))
			path = path.slice(basePath.length) || "/";

		/* 1. operation */
		const template = matchTemplate(templates, path);
		const pathItem = template ? deref(doc, doc.paths[template], pointerOf(["paths", template])) : null;
		/* HEAD is answered as GET without a body (RFC 9110 §9.3.2). */
		const isHead = method === "HEAD";
		const lowerMethod = isHead ? "get" : method.toLowerCase();
		const operation = pathItem && HTTP_METHODS.includes(lowerMethod) ? pathItem.node[lowerMethod] : undefined;
		const operationPointer = operation ? `${pathItem.pointer}/${lowerMethod}` : null;
		if (operation)
			operationsSeen.add(`${method} ${template}`);

		/* 2. response objects: the operation's own for this status; the generic ones only
		 * when no operation matches (unknown route, method not allowed). A status that the
		 * operation does not declare fails: a generated client could not expect it. */
		const candidates = [];
		let responseRef = null; /* { node, pointer } before dereferencing */
		const statusKey = String(status);
		if (operation && operation.responses && typeof operation.responses === "object") {
			const responses = operation.responses;
			const rangeKey = Object.keys(responses).find((k) => k.toUpperCase() === `${statusKey[0]}XX`);
			const key = statusKey in responses ? statusKey : rangeKey ?? ("default" in responses ? "default" : null);
			if (key !== null)
				responseRef = { node: responses[key], pointer: `${operationPointer}/responses/${escapePointerSegment(key)}` };
		}
		if (responseRef !== null)
			candidates.push(responseRef);
		if (!operation && statusKey in generic)
			candidates.push({ node: generic[statusKey], pointer: pointerOf(["x-reponses-generiques", statusKey]) });
		if (candidates.length === 0) {
			if (!template)
				fail(`no path of the document matches ${path}`);
			else if (!operation)
				fail(`method ${method} is not documented on ${template}`);
			else
				fail(`status ${status} not documented for ${method} ${template}`);
			return;
		}
		const check = (ref) => {
		const problems = [];
		const fail = (message, details = []) => problems.push({ where, message, details });
		let response;
		try {
			response = deref(doc, ref.node, ref.pointer);
		} catch (err) {
			fail(err.message);
			return problems;
		}

		/* 3. content type, 4. body */
		const content = response.node.content && typeof response.node.content === "object" ? response.node.content : null;
		const body = entry.body === undefined ? null : entry.body;
		const actualType = entry.content_type ? baseMediaType(entry.content_type) : "";
		if (isHead) {
			if (body !== null && body !== "")
				fail("a HEAD response has a body");
		} else if (!content || Object.keys(content).length === 0) {
			if (body !== null && body !== "")
				fail("the response is documented without content but has a body");
		} else if (actualType === "") {
			fail(`no Content-Type; documented: ${Object.keys(content).join(", ")}`);
		} else {
			const mediaKey = Object.keys(content).find((k) => baseMediaType(k) === actualType)
				?? Object.keys(content).find((k) => mediaTypeMatches(k, actualType));
			if (mediaKey === undefined) {
				fail(`Content-Type ${entry.content_type} not documented; documented: ${Object.keys(content).join(", ")}`);
			} else if (isJsonMediaType(actualType) && content[mediaKey] && content[mediaKey].schema !== undefined) {
				const schemaPointer = `${response.pointer}/content/${escapePointerSegment(mediaKey)}/schema`;
				try {
					const validate = validatorFor(bodyAjv, "body", schemaPointer, false);
					if (!validate(body))
						fail("body does not match the schema", formatAjvErrors(validate.errors));
				} catch (err) {
					fail(`cannot compile the schema at ${schemaPointer}: ${err.message}`);
				}
			}
		}

		/* 5. headers */
		const actualHeaders = lowerCaseHeaders(entry.headers);
		const documentedHeaders = response.node.headers && typeof response.node.headers === "object" ? response.node.headers : {};
		for (const [name, headerNode] of Object.entries(documentedHeaders)) {
			if (name.toLowerCase() === "content-type")
				continue; /* OpenAPI: ignored in response headers */
			let header;
			try {
				header = deref(doc, headerNode, `${response.pointer}/headers/${escapePointerSegment(name)}`);
			} catch (err) {
				fail(err.message);
				continue;
			}
			const value = actualHeaders.get(name.toLowerCase());
			if (value === undefined || value === null) {
				if (header.node.required === true)
					fail(`required header ${name} is missing`);
				continue;
			}
			if (header.node.schema !== undefined) {
				const schemaPointer = `${header.pointer}/schema`;
				try {
					const validate = validatorFor(headerAjv, "header", schemaPointer, true);
					if (!validate({ v: String(value) }))
						fail(`header ${name}: ${JSON.stringify(String(value))} does not match its schema`, formatAjvErrors(validate.errors));
				} catch (err) {
					fail(`cannot compile the schema at ${schemaPointer}: ${err.message}`);
				}
			}
		}
		return problems;
		};
		let firstProblems = null;
		for (const ref of candidates) {
			const problems = check(ref);
			if (problems.length === 0) {
				firstProblems = null;
				break;
			}
			if (firstProblems === null)
				firstProblems = problems;
		}
		if (firstProblems !== null)
			failures.push(...firstProblems);
	});

	if (checked === 0) {
		process.stderr.write(`FAIL ${captureFile}: no response to validate (${skipped} OPTIONS skipped) — a contract test that validates nothing does not pass\n`);
		process.exit(1);
	}

	const operationCount = operationsSeen.size;
	if (failures.length > 0) {
		for (const f of failures.slice(0, MAX_PRINTED_FAILURES)) {
			process.stderr.write(`FAIL ${f.where}: ${f.message}\n`);
			for (const d of f.details || [])
				process.stderr.write(`    ${d}\n`);
		}
		if (failures.length > MAX_PRINTED_FAILURES)
			process.stderr.write(`... ${failures.length - MAX_PRINTED_FAILURES} more failure(s) not shown\n`);
		process.stderr.write(`contract: ${checked} responses checked against ${operationCount} operations, ${failures.length} failures\n`);
		process.exit(1);
	}
	if (skipped > 0)
		process.stdout.write(`contract: ${skipped} OPTIONS response(s) skipped\n`);
	process.stdout.write(`contract: ${checked} responses validated against ${operationCount} operations, 0 failures\n`);
}

main(process.argv.slice(2));
