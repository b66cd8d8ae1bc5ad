/*
 * Acceptance test of issue #11 (step `sync` of tests/run.sh): a portal's copy kept by the
 * event feed alone equals a full re-read after random concurrent writes.
 *
 *   set-up (administrator): two territoires of Corse-du-Sud (2A), their organisations, axe,
 *     comité and séance; a collectivité agent and an élu of both communes (only an élu moves
 *     a fiche out of brouillon, §2.3); 20 fiches; a machine client `lecteur_national` (OAuth
 *     client credentials), as aides-territoires would hold;
 *   PVD_SYNC_WRITERS writers (default 4: two administrators, the agent, the élu) make
 *     PVD_SYNC_WRITES random writes in all (default 1,000), a share of them refused;
 *   once a tenth of them is done, the replica (replica.mts) takes its position, and reads
 *     the lists in full after another twentieth (a slow read, as a portal's over the whole
 *     programme: those writes are in the read AND come again by the feed), then follows
 *     the feed only, while the writers go on;
 *   when the writers are done: the replica catches up (`a_jour`), and its copy must equal a
 *     full re-read by the same client, object by object and member by member, after removing
 *     the members that the feed does not carry because they are computed at read time for
 *     the caller (IGNORED, replica.mts).
 * Environment: PVD_TEST_BASE_URL, PVD_TEST_ISSUER, PVD_SYNC_ADMIN_TOKEN, PVD_SYNC_AGENT_TOKENS
 * ("<sub>=<token>,<sub>=<token>"), PVD_SYNC_CAPTURE (responses for validate_responses.mjs).
 * Exit status 0 only when the copies are equal and no write answered a 5xx.
 */
import { type Api, api, clientCredentialsToken, fail } from "./api.mjs";
import { IGNORED, Replica, TYPES, type TypeCopie, canon, joined, readDemandes, readFiches, readTerritoires } from "./replica.mjs";
import { type Bilan, type Ecrivain, type Lieu, Monde, ecrire, lieu, nouvelleFiche } from "./writers.mjs";

function env(name: string): string {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set`);
	return v;
}

const base = env("PVD_TEST_BASE_URL");
const capture = process.env.PVD_SYNC_CAPTURE;
const WRITES = Number(process.env.PVD_SYNC_WRITES ?? 1000);
const WRITERS = Number(process.env.PVD_SYNC_WRITERS ?? 4);
const adminToken = env("PVD_SYNC_ADMIN_TOKEN");
const agents = env("PVD_SYNC_AGENT_TOKENS")
	.split(",")
	.map((kv) => kv.split("=") as [string, string]);
const admin = api(base, () => adminToken, capture);
const t0 = performance.now();
const ms = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const log = (s: string): void => {
	process.stdout.write(`sync: [${ms()}] ${s}\n`);
};

interface Ecart {
	type: TypeCopie;
	id: string;
	member: string;
	copie: unknown;
	relu: unknown;
}

/* The differences between the copy and the re-read, member by member. */
function compare(type: TypeCopie, copie: Map<string, Record<string, unknown>>, relu: Map<string, Record<string, unknown>>): Ecart[] {
	const out: Ecart[] = [];
	for (const id of new Set([...copie.keys(), ...relu.keys()])) {
		const a = copie.get(id);
		const b = relu.get(id);
		if (!a || !b) {
			out.push({ type, id, member: a ? "(absent from the re-read)" : "(absent from the copy)", copie: a ? "…" : null, relu: b ? "…" : null });
			continue;
		}
		for (const m of new Set([...Object.keys(a), ...Object.keys(b)])) {
			if (IGNORED[type].includes(m)) continue;
			if (canon(a[m]) !== canon(b[m])) out.push({ type, id, member: m, copie: a[m], relu: b[m] });
		}
	}
	return out;
}

async function habiliter(sub: string, role: "collectivite_agent" | "collectivite_elu"): Promise<void> {
	const r = await admin.POST("/api/v1/habilitations", {
		body: { issuer: env("PVD_TEST_ISSUER"), subject: sub, role, perimetre: { sirens: ["212000046", "212002471"] } },
	});
	if (!r.data) fail(`habilitation ${sub}`, r.response, r.error);
}

async function main(): Promise<void> {
	// ---- set-up
	const lieux: Lieu[] = [
		await lieu(admin, "pvd-94-2A-901", "2A004", "212000046", "242010056", "Ajaccio"),
		await lieu(admin, "pvd-94-2A-902", "2A247", "212002471", "200040764", "Porto-Vecchio"),
	];
	const [a1, a2] = agents;
	if (!a1 || !a2) throw new Error("PVD_SYNC_AGENT_TOKENS: two agents expected");
	await habiliter(a1[0], "collectivite_agent");
	await habiliter(a2[0], "collectivite_elu");
	const monde = new Monde(lieux);
	for (let i = 0; i < 20; i++) {
		const l = lieux[i % 2] as Lieu;
		const r = await admin.POST("/api/v1/fiches-action", { body: nouvelleFiche(l, monde.nextNumero(), i % 3 !== 0) });
		if (!r.data) fail("seed fiche", r.response, r.error);
		monde.fiches.push({ id: r.data.id, lieu: l });
	}
	const client = await admin.POST("/api/v1/clients", {
		body: { nom: "Aides-territoires (test de synchronisation)", role: "lecteur_national", perimetre: {} },
	});
	if (!client.data) fail("POST /clients", client.response, client.error);
	const portalToken = await clientCredentialsToken(base, client.data.id, client.data.secret, capture);
	const portal: Api = api(base, () => portalToken, capture);
	log(`set-up done: 2 territoires (2A), 20 fiches, machine client ${client.data.id} (lecteur_national)`);

	// ---- writers, and the replica started while they write
	const ecrivains: Ecrivain[] = [];
	for (let i = 0; i < WRITERS; i++) {
		const agent = i >= 2 ? agents[i - 2] : undefined;
		ecrivains.push(
			agent
				? { nom: agent[0], api: api(base, () => agent[1], capture), admin: false, lieux }
				: { nom: `admin-${i}`, api: admin, admin: true, lieux },
		);
	}
	const bilan: Bilan = new Map();
	let started = 0;
	let done = 0;
	const writing = Promise.all(
		ecrivains.map(async (w) => {
			while (started < WRITES) {
				started++;
				await ecrire(w, monde, bilan);
				done++;
			}
		}),
	);
	while (done < WRITES / 10) await new Promise((r) => setTimeout(r, 20));
	const replica = new Replica(portal);
	await replica.takePosition();
	// A portal's full read of the whole programme takes minutes: writes land between the
	// position and the read, and come again by the feed (the replays it must absorb).
	const atPosition = done;
	while (done < atPosition + WRITES / 20) await new Promise((r) => setTimeout(r, 20));
	await replica.fullRead();
	log(`replica: position taken after ${atPosition} writes, full read done after ${done} (${replica.copies.fiche_action.size} fiches, ${replica.copies.territoire.size} territoires, ${replica.copies.demande_subvention.size} demandes)`);
	let writersDone = false;
	const following = (async () => {
		while (!writersDone) if (await replica.follow()) await new Promise((r) => setTimeout(r, 10));
	})();
	await writing;
	writersDone = true;
	await following;
	log(`writers done: ${done} writes`);
	// `a_jour` means no more event is readable yet: one committed write may still wait behind
	// an older transaction of the cluster (the feed's horizon). A portal simply goes on
	// following; here: catch up, compare, and if they differ wait and do it again, 5 s at most.
	let relu: Record<TypeCopie, Map<string, Record<string, unknown>>>;
	let ecarts: Ecart[] = [];
	let attempts = 0;
	do {
		if (attempts++) await new Promise((r) => setTimeout(r, 250));
		await replica.catchUp();
		relu = {
			fiche_action: await readFiches(portal),
			territoire: await readTerritoires(portal),
			demande_subvention: await readDemandes(portal),
		};
		ecarts = [];
		for (const type of TYPES) {
			const copie = new Map([...replica.copies[type]].map(([id, c]) => [id, joined(type, c.data, replica.copies.fiche_action)]));
			ecarts.push(...compare(type, copie, relu[type]));
		}
	} while (ecarts.length && attempts < 20);
	log(`replica caught up (${attempts} comparison${attempts > 1 ? "s" : ""}): ${JSON.stringify(replica.stats)}`);
	const refused = [...bilan].filter(([k]) => !/ 20[01]$/.test(k)).reduce((s, [, n]) => s + n, 0);
	log(`writes by outcome: ${[...bilan].sort().map(([k, n]) => `${k}: ${n}`).join("; ")}`);
	log(`${done} writes (${refused} refused) by ${WRITERS} writers; copy of ${relu.fiche_action.size} fiches, ${relu.territoire.size} territoires and ${relu.demande_subvention.size} demandes; ${replica.stats.events} events read in ${replica.stats.pages} pages, ${replica.stats.applied} applied (${replica.stats.unchanged} of them replays of what the full read held), ${replica.stats.stale} older than the copy and skipped`);
	if (relu.fiche_action.size !== monde.fiches.length) throw new Error(`${monde.fiches.length} fiches created, ${relu.fiche_action.size} re-read`);
	if (replica.stats.applied === 0) throw new Error("no event applied");
	if (replica.stats.mistyped > 0) throw new Error(`${replica.stats.mistyped} events whose type does not match the change of state they carry`);
	if (ecarts.length) {
		const byMember = new Map<string, number>();
		for (const e of ecarts) byMember.set(`${e.type}.${e.member}`, (byMember.get(`${e.type}.${e.member}`) ?? 0) + 1);
		log(`FAILED: the copy differs from the re-read: ${[...byMember].map(([k, n]) => `${k} (${n})`).join(", ")}`);
		for (const e of ecarts.slice(0, 10)) log(`  ${e.type} ${e.id} ${e.member}: copy ${JSON.stringify(e.copie)} / re-read ${JSON.stringify(e.relu)}`);
		process.exitCode = 1;
		return;
	}
	log(`PASS: the copy equals the full re-read (members compared: all but ${TYPES.map((t) => `${t}.{${IGNORED[t].join(",")}}`).join(", ")}) in ${ms()}`);
}

main().catch((e: unknown) => {
	process.stderr.write(`sync: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
	process.exitCode = 1;
});
