// Issue #12 §2 (failover): a write load through the service, for tests/run.sh's failover step.
//   node tests/ha/load.mjs BASE_URL TOKEN SECONDS WORKERS OUT_JSON
// WORKERS loops POST /api/v1/organisations (an association with a fresh SIREN) for SECONDS,
// each waiting for its answer before the next. It records the id of every 201 (an
// acknowledged write), and for every other answer its status and Retry-After. At the end
// it reads each acknowledged id back through the service (GET /api/v1/organisations/{id}).
// OUT_JSON receives { acked: [ids], statuses: {code: n}, unexpected: [..], gap_seconds,
// missing: [ids], first_error_at, recovered_at }. Exit status 1 when an acknowledged write
// is missing, an answer other than 201 / 503 with Retry-After came, or the service did not
// write again after the errors.
import { writeFileSync } from "node:fs";

const [base, token, seconds, workers, out] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
const auth = { Authorization: `Bearer ${token}` };
const acked = [];
const statuses = {};
const unexpected = [];
let lastOkBeforeError = null; // time of the last 201 before the first error
let firstErrorAt = null;
let recoveredAt = null; // first 201 after the first error

// A valid SIREN (9 digits, Luhn): prefix 8 + 7 digits of the counter + the key.
function siren(n) {
	const body = "8" + String(n).padStart(7, "0");
	for (let key = 0; key <= 9; key++) {
		const s = body + key;
		let sum = 0;
		for (let i = 0; i < 9; i++) {
			let d = s.charCodeAt(8 - i) - 48;
			if (i % 2 === 1) {
				d *= 2;
				if (d > 9) d -= 9;
			}
			sum += d;
		}
		if (sum % 10 === 0) return s;
	}
	throw new Error("no Luhn key");
}

const run = (Date.now() % 90000) * 10; // distinct SIRENs across runs on one database
let counter = 0;

async function worker() {
	while (Date.now() < deadline) {
		const n = run + counter++;
		const body = JSON.stringify({ siren: siren(n), nature: "association", nom: `Association ${n}` });
		let status = 0;
		let retry = null;
		let id = null;
		try {
			const r = await fetch(`${base}/api/v1/organisations`, {
				method: "POST",
				headers: { ...auth, "Content-Type": "application/json" },
				body,
				signal: AbortSignal.timeout(15000),
			});
			status = r.status;
			retry = r.headers.get("retry-after");
			const text = await r.text();
			if (status === 201) id = JSON.parse(text).id;
			else if (status !== 503 || !retry) unexpected.push({ status, retry, body: text.slice(0, 300) });
		} catch (e) {
			unexpected.push({ status: 0, error: String(e) });
		}
		statuses[status] = (statuses[status] ?? 0) + 1;
		const now = Date.now();
		if (id) {
			acked.push(id);
			if (firstErrorAt === null) lastOkBeforeError = now;
			else if (recoveredAt === null) recoveredAt = now;
		} else if (firstErrorAt === null) {
			firstErrorAt = now;
		} else if (status === 503) {
			await new Promise((r) => setTimeout(r, 100)); // a client honouring Retry-After, shortened
		}
	}
}

await Promise.all(Array.from({ length: Number(workers) }, worker));

const missing = [];
for (const id of acked) {
	const r = await fetch(`${base}/api/v1/organisations/${id}`, { headers: auth });
	await r.arrayBuffer();
	if (r.status !== 200) missing.push({ id, status: r.status });
}
const gap = firstErrorAt !== null && recoveredAt !== null ? (recoveredAt - lastOkBeforeError) / 1000 : null;
const result = {
	acked,
	statuses,
	unexpected,
	missing,
	gap_seconds: gap,
	first_error_at: firstErrorAt,
	recovered_at: recoveredAt,
};
writeFileSync(out, JSON.stringify(result));
console.log(
	`failover load: ${acked.length} writes acknowledged, answers ${JSON.stringify(statuses)}, ` +
		`gap ${gap === null ? "none" : gap.toFixed(2) + " s"}, ${missing.length} acknowledged writes missing, ` +
		`${unexpected.length} unexpected answers`,
);
if (unexpected.length) console.log("unexpected:", JSON.stringify(unexpected.slice(0, 5)));
if (missing.length) console.log("missing:", JSON.stringify(missing.slice(0, 5)));
if (unexpected.length || missing.length || (firstErrorAt !== null && recoveredAt === null)) process.exit(1);
