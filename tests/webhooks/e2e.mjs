// End-to-end test of the webhooks (issue #11 §2), run by tests/run.sh (step `webhooks`).
// It starts pvd-api servers itself (so that it can kill -9 one mid-delivery and start a
// second replica on the same database) and a receiver (receiver.mjs) that verifies every
// delivery with the npm `standardwebhooks` package. Scenarios: signed deliveries arrive
// and verify; a write rolled back (or refused) delivers nothing; a subscription gets only
// what its client's perimeter may read, and nothing once the client is revoked; receiver answering 503, then not
// listening → retried, then delivered; the service killed with kill -9 while the
// receiver delays its answer → delivered after the restart (same webhook-id); retries
// exhausted → echec_definitif in the delivery log → manual replay → delivered; two
// replicas on one database deliver each event once.
//
// Environment: PVD_TEST_SERVER_BIN, DATABASE_URL, PVD_TEST_BEARER (the administrator's
// token), PVD_TEST_PORTS ("A B": two free ports), the server's AUTH_* and WEBHOOK_*
// variables (inherited by the servers it starts). Exit status 0 when all pass.
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import process from "node:process";
import { Receiver } from "./receiver.mjs";

const BIN = process.env.PVD_TEST_SERVER_BIN;
const ADMIN = process.env.PVD_TEST_BEARER;
const [PORT_A, PORT_B] = (process.env.PVD_TEST_PORTS ?? "").split(" ").map(Number);
const LOG_DIR = process.env.PVD_TEST_LOG_DIR ?? "build/tests";
if (!BIN || !ADMIN || !PORT_A || !PORT_B) {
	console.error("e2e: PVD_TEST_SERVER_BIN, PVD_TEST_BEARER and PVD_TEST_PORTS are required");
	process.exit(2);
}

const servers = new Map(); // port -> child
process.on("exit", () => {
	for (const child of servers.values()) child.kill("SIGKILL");
});

async function startServer(port, label) {
	const log = openSync(`${LOG_DIR}/server-webhooks-${label}.log`, "a");
	const child = spawn(BIN, ["serve"], {
		env: { ...process.env, HTTP_PORT: String(port), HTTP_BIND_ADDRESS: "127.0.0.1", LOG_LEVEL: "warn" },
		stdio: ["ignore", log, log],
	});
	servers.set(port, child);
	for (let i = 0; i < 100; i++) {
		try {
			const r = await fetch(`http://127.0.0.1:${port}/healthz`);
			if (r.status === 200) return child;
		} catch {
			/* not yet */
		}
		if (child.exitCode !== null) throw new Error(`server ${label} exited at start`);
		await sleep(100);
	}
	throw new Error(`server ${label} not up after 10 s`);
}

async function stopServer(port, signal) {
	const child = servers.get(port);
	servers.delete(port);
	const exited = new Promise((resolve) => child.once("exit", (code, sig) => resolve({ code, sig })));
	child.kill(signal);
	return exited;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(port, method, path, { token = ADMIN, body, headers = {} } = {}) {
	const h = { Authorization: `Bearer ${token}`, ...headers };
	if (body !== undefined) h["Content-Type"] = "application/json";
	const r = await fetch(`http://127.0.0.1:${port}${path}`, {
		method,
		headers: h,
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await r.text();
	let json = null;
	try {
		json = text ? JSON.parse(text) : null;
	} catch {
		json = null;
	}
	return { status: r.status, json, etag: r.headers.get("etag"), text };
}

function expect(cond, message) {
	if (!cond) throw new Error(message);
}

let port = PORT_A;
const receiver = new Receiver();
const t0 = Date.now();
const latencies = [];

/** Creates a machine client (national by default) and returns its access token. */
async function machineClient(role = "anct_national", perimetre = {}, out = {}) {
	const c = await call(port, "POST", "/api/v1/clients", {
		body: { nom: "webhooks e2e", role, perimetre },
	});
	out.id = c.json?.id;
	expect(c.status === 201, `client: ${c.status} ${c.text}`);
	const basic = Buffer.from(`${c.json.id}:${c.json.secret}`).toString("base64");
	const r = await fetch(`http://127.0.0.1:${port}/api/v1/oauth/token`, {
		method: "POST",
		headers: { Authorization: `Basic ${basic}`, "Content-Type": "application/x-www-form-urlencoded" },
		body: "grant_type=client_credentials",
	});
	const t = await r.json();
	expect(r.status === 200, `token: ${r.status}`);
	return t.access_token;
}

async function subscribe(token, name, types) {
	const r = await call(port, "POST", "/api/v1/abonnements", {
		token,
		body: { url: `http://127.0.0.1:${receiver.port}/hook/${name}`, types },
	});
	expect(r.status === 201, `abonnement ${name}: ${r.status} ${r.text}`);
	expect(/^whsec_/.test(r.json.secret), "the secret is shown at creation");
	receiver.secret(name, r.json.secret);
	const again = await call(port, "GET", `/api/v1/abonnements/${r.json.id}`, { token });
	expect(again.status === 200 && !("secret" in again.json), "the secret is never shown again");
	return r.json.id;
}

let counter = 0;
/** A committed write: a new État organisation; its id and the time of the answer. */
async function write() {
	const r = await call(port, "POST", "/api/v1/organisations", {
		body: { nature: "etat", nom: `Préfecture webhooks ${process.pid}-${++counter}` },
	});
	expect(r.status === 201, `organisation: ${r.status} ${r.text}`);
	return { id: r.json.id, at: Date.now() };
}

const deliveriesOf = (name, orgId) =>
	receiver.of(name).filter((d) => d.body?.data?.ressource?.id === orgId);

async function delivered(name, orgId, timeoutMs, what) {
	await receiver.until(
		() => deliveriesOf(name, orgId).some((d) => d.verified && d.status === 204),
		timeoutMs,
		what,
	);
	return deliveriesOf(name, orgId);
}

async function livraisons(token, sub, etat) {
	const r = await call(port, "GET", `/api/v1/abonnements/${sub}/livraisons?limite=500${etat ? `&etat=${etat}` : ""}`, {
		token,
	});
	expect(r.status === 200, `livraisons: ${r.status} ${r.text}`);
	return r.json.elements;
}

/** The subscription's log entry of an event once `etat` is reached (the service records
 * an outcome just after the receiver's answer). */
async function logged(token, sub, evenementId, etat, timeoutMs = 10000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const l = (await livraisons(token, sub)).find((x) => x.evenement_id === evenementId);
		if (l?.etat === etat) return l;
		if (Date.now() > deadline) throw new Error(`log: ${JSON.stringify(l)} (${etat} expected)`);
		await sleep(100);
	}
}

async function scenario(name, fn) {
	const start = Date.now();
	await fn();
	console.log(`ok - ${name} (${Date.now() - start} ms)`);
}

try {
	await receiver.listen(0);
	await startServer(PORT_A, "a");
	const token = await machineClient();
	const s1 = await subscribe(token, "s1", ["organisation"]);

	await scenario("deliveries arrive signed, verified by standardwebhooks, in order", async () => {
		const writes = [];
		for (let i = 0; i < 3; i++) writes.push(await write());
		for (const w of writes) {
			const got = await delivered("s1", w.id, 10000, `delivery of ${w.id}`);
			latencies.push(got[0].at - w.at);
			const d = got[0];
			expect(d.body.type === "organisation.creee", `type ${d.body.type}`);
			expect(d.body.data.id === d.id, "webhook-id is the event id");
			expect(typeof d.body.timestamp === "string", "timestamp");
		}
		const ids = writes.map((w) => receiver.of("s1").findIndex((d) => d.body?.data?.ressource?.id === w.id));
		expect(ids[0] < ids[1] && ids[1] < ids[2], `in the feed's order: ${ids} ${JSON.stringify(receiver.of("s1").map((d) => [d.id, d.body?.type]))}`);
	});

	await scenario("a write rolled back delivers nothing", async () => {
		// The organisation of Albaret-le-Comtal (Lozère, 48): created once (delivered),
		// then again: the INSERT meets the unique SIREN inside the transaction, which is
		// rolled back (409). A body refused before any write (400) as well.
		const commune = { siren: "214800013", nature: "commune" };
		const first = await call(port, "POST", "/api/v1/organisations", { body: commune });
		expect(first.status === 201, `commune organisation: ${first.status} ${first.text}`);
		await delivered("s1", first.json.id, 10000, "the commune organisation");
		const before = receiver.of("s1").length;
		const again = await call(port, "POST", "/api/v1/organisations", { body: commune });
		expect(again.status === 409, `rolled back: ${again.status} ${again.text}`);
		const bad = await call(port, "POST", "/api/v1/organisations", { body: { nature: "etat" } });
		expect(bad.status === 400, `refused: ${bad.status}`);
		const w = await write(); // a committed write after them, delivered
		await delivered("s1", w.id, 10000, "the write after the refusals");
		const after = receiver.of("s1").slice(before);
		expect(after.length === 1 && after[0].body.data.ressource.id === w.id,
			`only the committed write was delivered (${after.length})`);
	});

	await scenario("a subscription delivers what its client may read, while the client may", async () => {
		const client = {};
		const t48 = await machineClient("prefecture_instructeur", { departements: ["48"] }, client);
		await subscribe(t48, "s48", ["organisation"]);
		const commune = async (siren) => {
			const r = await call(port, "POST", "/api/v1/organisations", { body: { siren, nature: "commune" } });
			expect(r.status === 201, `commune ${siren}: ${r.status} ${r.text}`);
			return r.json.id;
		};
		const etat = await write(); // an État organisation acting nowhere: the ANCT's only
		const lozere = await commune("214800021"); // Albaret-Sainte-Marie (48)
		await delivered("s48", lozere, 10000, "a Lozère event to the Lozère client");
		await delivered("s1", etat.id, 10000, "the État organisation to the national client");
		expect(deliveriesOf("s48", etat.id).length === 0, "an event outside the perimeter was sent");
		const read = await call(port, "GET", `/api/v1/clients/${client.id}`);
		const revoked = await call(port, "DELETE", `/api/v1/clients/${client.id}`, { headers: { "If-Match": read.etag } });
		expect(revoked.status === 200, `revocation: ${revoked.status} ${revoked.text}`);
		const later = await commune("214800039"); // Allenc (48), after the revocation
		await delivered("s1", later, 10000, "the event after the revocation, to the national client");
		await sleep(500);
		expect(deliveriesOf("s48", later).length === 0, "a revoked client still receives events");
	});

	await scenario("receiver answering 503, then not listening: retried, then delivered", async () => {
		receiver.mode("s1", "fail");
		const w = await write();
		await receiver.until(() => deliveriesOf("s1", w.id).some((d) => d.status === 503), 10000, "a 503");
		receiver.mode("s1", "ok");
		await delivered("s1", w.id, 10000, "the retry after a 503");
		expect(new Set(deliveriesOf("s1", w.id).map((d) => d.id)).size === 1, "same webhook-id on retry");
		const receiverPort = receiver.port;
		await receiver.close();
		const w2 = await write();
		await sleep(700); // the first attempt meets a closed port
		await receiver.listen(receiverPort);
		await delivered("s1", w2.id, 10000, "the retry after the receiver came back");
		const l1 = await logged(token, s1, deliveriesOf("s1", w.id)[0].id, "livree");
		expect(l1.tentatives >= 2 && l1.dernier_statut >= 200, JSON.stringify(l1));
		await logged(token, s1, deliveriesOf("s1", w2.id)[0].id, "livree");
	});

	await scenario("service killed with kill -9 mid-delivery: delivered after restart", async () => {
		receiver.mode("s1", "delay", 4000);
		const w = await write();
		await receiver.until(() => deliveriesOf("s1", w.id).length > 0, 10000, "the attempt in flight");
		const { sig } = await stopServer(PORT_A, "SIGKILL");
		expect(sig === "SIGKILL", `killed (${sig})`);
		receiver.mode("s1", "ok");
		await startServer(PORT_A, "a-restarted");
		const got = await delivered("s1", w.id, 15000, "the delivery after the restart (lease expired)");
		expect(got.length >= 2, "delivered again after the restart (at least once)");
		expect(new Set(got.map((d) => d.id)).size === 1, "with the same webhook-id");
	});

	await scenario("retries exhausted: echec_definitif, then manual replay delivers", async () => {
		const s2 = await subscribe(token, "s2", ["organisation.creee"]);
		receiver.mode("s2", "fail");
		const w = await write();
		const deadline = Date.now() + 15000;
		let dead = [];
		while (dead.length === 0) {
			expect(Date.now() < deadline, "echec_definitif within 15 s");
			await sleep(200);
			dead = await livraisons(token, s2, "echec_definitif");
		}
		const attempts = deliveriesOf("s2", w.id).length;
		expect(attempts === dead[0].tentatives && attempts >= 2, `attempts ${attempts} / ${dead[0].tentatives}`);
		receiver.mode("s2", "ok");
		const replay = await call(port, "POST", `/api/v1/abonnements/${s2}/livraisons/${dead[0].id}/rejouer`, { token });
		expect(replay.status === 200 && replay.json.etat === "en_attente", `rejouer: ${replay.status} ${replay.text}`);
		const again = await call(port, "POST", `/api/v1/abonnements/${s2}/livraisons/${dead[0].id}/rejouer`, { token });
		expect(again.status === 409 || (again.status === 200 && again.json.etat === "livree") || again.status === 200,
			`second replay: ${again.status}`);
		await delivered("s2", w.id, 10000, "the replayed delivery");
		const ids = new Set(deliveriesOf("s2", w.id).map((d) => d.id));
		expect(ids.size === 1, "a replay keeps the webhook-id");
	});

	await scenario("two replicas on one database deliver each event once", async () => {
		await startServer(PORT_B, "b");
		const s3 = await subscribe(token, "s3", ["organisation"]);
		const writes = [];
		for (let i = 0; i < 20; i++) {
			port = i % 2 ? PORT_B : PORT_A; // writes through both replicas
			writes.push(await write());
		}
		port = PORT_A;
		for (const w of writes) await delivered("s3", w.id, 15000, `delivery of ${w.id}`);
		await sleep(1000); // a duplicate would arrive within the poll period
		const counts = new Map();
		for (const d of receiver.of("s3")) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
		const twice = [...counts].filter(([, n]) => n > 1);
		expect(twice.length === 0, `delivered more than once: ${JSON.stringify(twice)}`);
		expect(counts.size === 20, `20 events delivered (${counts.size})`);
		expect(receiver.received.every((d) => d.verified), "every delivery verified");
		const { code } = await stopServer(PORT_B, "SIGTERM");
		expect(code === 0, `replica b stopped cleanly (${code})`);
	});

	const { code } = await stopServer(PORT_A, "SIGTERM");
	expect(code === 0, `server stopped cleanly on SIGTERM (${code})`);
	latencies.sort((a, b) => a - b);
	console.log(
		`webhooks e2e: ${receiver.received.length} requests received, all verified by standardwebhooks; ` +
			`delivery latency ${latencies.join("/")} ms (poll ${process.env.WEBHOOK_POLL_MILLISECONDS} ms); ` +
			`total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
	);
	process.exit(0);
} catch (e) {
	console.error(`not ok - ${e.message}`);
	process.exit(1);
}
