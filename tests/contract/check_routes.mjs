#!/usr/bin/env node
/*
 * check_routes.mjs — cross-checks the server's route table against the OpenAPI document.
 *
 * Usage: node tests/contract/check_routes.mjs build/openapi.json ROUTES_FILE
 * The document is the bundled contract (`make build/openapi.json`: openapi/openapi.yaml and the
 * files it includes, in one document); any one-document JSON or YAML form of it will do.
 *
 * ROUTES_FILE holds one route per line, "METHOD /path/:param" in ulfius syntax, as printed by
 * `pvd-api routes`. Blank lines and lines starting with '#' are ignored, and so are OPTIONS
 * routes (the CORS preflight handler is generic and is not an API operation).
 *
 * Exit status: 0 when every route is an operation of the document and every operation has a
 * route (prints "routes: N in table, M in spec, OK"); 1 when they differ, listing each
 * difference; 2 on a usage or input error (unreadable file, malformed line or document).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import YAML from "yaml";

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function die(message) {
	process.stderr.write(`check_routes: ${message}\n`);
	process.exit(2);
}

/* "/api/v1/communes/:code_insee" -> "/api/v1/communes/{code_insee}"; drops a trailing '/'. */
function ulfiusToOpenApi(path) {
	let out = path
		.split("/")
		.map((segment) => (segment.startsWith(":") ? `{${segment.slice(1)}}` : segment))
		.join("/");
	if (out.length > 1 && out.endsWith("/"))
		out = out.slice(0, -1);
	return out;
}

/* Path with parameter names erased, to explain "same route, other parameter name". */
function shape(path) {
	return path.replace(/\{[^}/]*\}/g, "{}");
}

function loadSpecOperations(specFile) {
	let doc;
	try {
		doc = YAML.parse(readFileSync(specFile, "utf8"));
	} catch (err) {
		die(`cannot read ${specFile}: ${err.message}`);
	}
	if (!doc || typeof doc !== "object" || !doc.paths || typeof doc.paths !== "object")
		die(`${specFile} has no "paths" object`);
	const operations = new Map(); /* "GET /path" -> true */
	for (const [path, item] of Object.entries(doc.paths)) {
		if (!item || typeof item !== "object")
			continue;
		for (const method of HTTP_METHODS) {
			if (item[method] === undefined || method === "options")
				continue;
			operations.set(`${method.toUpperCase()} ${path}`, { method: method.toUpperCase(), path });
		}
	}
	return operations;
}

function loadRoutes(routesFile) {
	let text;
	try {
		text = readFileSync(routesFile, "utf8");
	} catch (err) {
		die(`cannot read ${routesFile}: ${err.message}`);
	}
	const routes = new Map(); /* "GET /path" -> { method, path, line, raw } */
	const problems = [];
	text.split(/\r?\n/).forEach((rawLine, index) => {
		const line = rawLine.trim();
		const lineNo = index + 1;
		if (line === "" || line.startsWith("#"))
			return;
		const match = /^([A-Za-z]+)\s+(\/\S*)$/.exec(line);
		if (!match) {
			problems.push(`${routesFile}:${lineNo}: malformed route line "${line}" (expected "METHOD /path")`);
			return;
		}
		const method = match[1].toUpperCase();
		if (method === "OPTIONS")
			return;
		const path = ulfiusToOpenApi(match[2]);
		const key = `${method} ${path}`;
		if (routes.has(key)) {
			problems.push(`${routesFile}:${lineNo}: duplicate route ${method} ${match[2]} (first on line ${routes.get(key).line})`);
			return;
		}
		routes.set(key, { method, path, line: lineNo, raw: match[2] });
	});
	return { routes, problems };
}

function main(argv) {
	if (argv.length !== 2)
		die("usage: node tests/contract/check_routes.mjs build/openapi.json ROUTES_FILE");
	const [specFile, routesFile] = argv;
	const operations = loadSpecOperations(specFile);
	const { routes, problems } = loadRoutes(routesFile);
	const failures = [...problems];

	if (routes.size === 0)
		failures.push(`${routesFile}: no route (apart from OPTIONS) — nothing was checked`);

	const specShapes = new Map([...operations.values()].map((op) => [`${op.method} ${shape(op.path)}`, op.path]));
	const routeShapes = new Map([...routes.values()].map((r) => [`${r.method} ${shape(r.path)}`, r.path]));

	for (const [key, route] of routes) {
		if (operations.has(key))
			continue;
		const near = specShapes.get(`${route.method} ${shape(route.path)}`);
		const hint = near ? ` (the spec has ${route.method} ${near}: parameter names differ)` : "";
		failures.push(`route not in spec: ${route.method} ${route.raw} (line ${route.line}, ${route.method} ${route.path} in OpenAPI syntax)${hint}`);
	}
	for (const [key, op] of operations) {
		if (routes.has(key))
			continue;
		const near = routeShapes.get(`${op.method} ${shape(op.path)}`);
		const hint = near ? ` (the table has ${op.method} ${near}: parameter names differ)` : "";
		failures.push(`spec operation without route: ${op.method} ${op.path}${hint}`);
	}

	if (failures.length > 0) {
		for (const failure of failures)
			process.stderr.write(`FAIL ${failure}\n`);
		process.stderr.write(`routes: ${routes.size} in table, ${operations.size} in spec, ${failures.length} failure(s)\n`);
		process.exit(1);
	}
	process.stdout.write(`routes: ${routes.size} in table, ${operations.size} in spec, OK\n`);
}

main(process.argv.slice(2));
