/*
 * A sync client written as the aides-territoires portal would write it: a local copy of the
 * fiches action, territoires and demandes de subvention that pvd-api shows a `lecteur_national` machine client, kept
 * up to date by the event feed alone after one full read.
 *
 *   1. position := GET /evenements?depuis=maintenant (taken BEFORE the full read);
 *   2. full read: every page of GET /fiches-action, /territoires and /demandes-subvention (keyset, `suivant`);
 *   3. then only GET /evenements?apres=<position>&types=…: each event carries the object
 *      just after its change (`donnees`, null on a deletion) and `ressource.version`, which
 *      grows with each change of one object. Events committed just before the position may
 *      come again, and one object's events may come out of version order (the feed's order
 *      is the commit horizon's): an event is applied only over an older version.
 */
import { type Api, type Evenement, fail } from "./api.mjs";

/* A copy: what the portal stores for one object. version 0: read by the full read, whose
 * representation carries no version (any event of the object is then newer or equal). */
export interface Copie {
	version: number;
	data: Record<string, unknown>;
}

/* The resource types of the feed that this replica holds, and their collections. */
export const TYPES = ["fiche_action", "territoire", "demande_subvention"] as const;
export type TypeCopie = (typeof TYPES)[number];

/* Members the feed does not carry, removed before comparing a copy with an event or a
 * re-read: they are not the object's state but computed for the reader when it reads, so
 * the journal's `apres` (the event's `donnees`) does not hold them.
 *   transitions_possibles (fiche): the states THIS caller may move the fiche to (role and
 *     perimeter; a lecteur_national gets none, the writer got its own);
 *   avertissements (fiche, territoire, demande): warnings computed at read time from the
 *     stored object and the rules (and the date) of the moment the reader asks;
 *   etat, echeance (demande): its effective state and next deadline, computed from the
 *     stored state (`etat_enregistre`, which the feed carries) and today's date (R30, R34,
 *     R35: a dossier with no answer becomes `rejet_implicite` with time, without a write). */
export const IGNORED: Record<TypeCopie, readonly string[]> = {
	fiche_action: ["transitions_possibles", "avertissements"],
	territoire: ["avertissements"],
	demande_subvention: ["transitions_possibles", "avertissements", "etat", "echeance"],
};

/* A member that is another object's, which the portal joins from that object's copy:
 * a demande shows the plan de financement of its fiche (`fiche_id`), which changes by the
 * fiche's events, not the demande's. Returns data with those members joined. */
export function joined(type: TypeCopie, data: Record<string, unknown>, fiches: Map<string, Copie>): Record<string, unknown> {
	if (type !== "demande_subvention" || typeof data.fiche_id !== "string") return data;
	const fiche = fiches.get(data.fiche_id);
	return fiche ? { ...data, plan_financement: fiche.data.plan_financement } : data;
}

/* The stored state a document records (a demande's is `etat_enregistre`). */
function etatStocke(d: Record<string, unknown>): unknown {
	return d.etat_enregistre ?? d.etat;
}

/* o without the members IGNORED for its type (a copy). */
export function etat(type: TypeCopie, o: Record<string, unknown>): Record<string, unknown> {
	const out = { ...o };
	for (const m of IGNORED[type]) delete out[m];
	return out;
}

/* Canonical JSON: keys sorted at every level, so that member order does not matter. */
export function canon(v: unknown): string {
	if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
	if (v !== null && typeof v === "object") {
		const o = v as Record<string, unknown>;
		return `{${Object.keys(o)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
			.join(",")}}`;
	}
	return JSON.stringify(v);
}

export interface Stats {
	pages: number;
	events: number; // events read
	applied: number; // applied (newer than the copy)
	unchanged: number; // applied, but equal to the copy already held (a replay of what the full read saw)
	stale: number; // not applied: a version older than or equal to the copy's
	deleted: number;
	other: number; // events of other types (none expected: `types` filters them)
	mistyped: number; // the stored state changed but the type is not a transition/signature, or the reverse
}

export class Replica {
	readonly copies: Record<TypeCopie, Map<string, Copie>> = { fiche_action: new Map(), territoire: new Map(), demande_subvention: new Map() };
	position: string | null = null;
	readonly stats: Stats = { pages: 0, events: 0, applied: 0, unchanged: 0, stale: 0, deleted: 0, other: 0, mistyped: 0 };

	constructor(private readonly api: Api, private readonly pageSize = 200) {}

	/* Step 1. */
	async takePosition(): Promise<void> {
		const head = await this.api.GET("/api/v1/evenements", { params: { query: { depuis: "maintenant" } } });
		if (!head.data) fail("GET /evenements?depuis=maintenant", head.response, head.error);
		if (head.data.elements.length !== 0) throw new Error("depuis=maintenant returned events");
		this.position = head.data.suivant;
	}

	/* Step 2 (after step 1: what changes in between comes again by the feed). */
	async fullRead(): Promise<void> {
		for (const [id, f] of await readFiches(this.api)) this.copies.fiche_action.set(id, { version: 0, data: f });
		for (const [id, t] of await readTerritoires(this.api)) this.copies.territoire.set(id, { version: 0, data: t });
		for (const [id, d] of await readDemandes(this.api)) this.copies.demande_subvention.set(id, { version: 0, data: d });
	}

	/* Step 3, one page: true when the feed is caught up (`a_jour`). */
	async follow(): Promise<boolean> {
		const query = { types: TYPES.join(","), limite: this.pageSize, ...(this.position ? { apres: this.position } : {}) };
		const page = await this.api.GET("/api/v1/evenements", { params: { query } });
		if (!page.data) fail("GET /evenements", page.response, page.error);
		this.stats.pages++;
		for (const ev of page.data.elements) this.apply(ev);
		if (page.data.suivant === null && this.position !== null) throw new Error("the feed lost its position");
		this.position = page.data.suivant;
		return page.data.a_jour;
	}

	/* Follows until caught up. */
	async catchUp(): Promise<void> {
		while (!(await this.follow())) {
			/* next page */
		}
	}

	private apply(ev: Evenement): void {
		this.stats.events++;
		const type = ev.ressource.type;
		if (!(TYPES as readonly string[]).includes(type)) {
			this.stats.other++;
			return;
		}
		const copies = this.copies[type as TypeCopie];
		const held = copies.get(ev.ressource.id);
		if (held && held.version >= ev.ressource.version) {
			this.stats.stale++;
			return;
		}
		if (ev.donnees === null) {
			copies.delete(ev.ressource.id);
			this.stats.deleted++;
			return;
		}
		// The type must say what the data shows, against the version before (an event's),
		// when the data is this event's own change (its version is its id): otherwise it is a
		// later change's (the latest visible one, migration 0027).
		if (held && held.version > 0 && String(ev.ressource.version) === ev.id) {
			const moved = etatStocke(held.data) !== etatStocke(ev.donnees);
			if (moved ? !/\.(transition|signee?s?)$/.test(ev.type) : /\.transition$/.test(ev.type)) this.stats.mistyped++;
		}
		if (held && canon(etat(type as TypeCopie, held.data)) === canon(etat(type as TypeCopie, ev.donnees))) this.stats.unchanged++;
		copies.set(ev.ressource.id, { version: ev.ressource.version, data: ev.donnees });
		this.stats.applied++;
	}
}

/* Every element of a keyset-paginated list, by key: page(curseur) reads one page. */
async function readAll<T>(
	page: (curseur: string | undefined) => Promise<{ elements: T[]; suivant: string | null }>,
	key: (element: T) => string,
): Promise<Map<string, Record<string, unknown>>> {
	const out = new Map<string, Record<string, unknown>>();
	let curseur: string | undefined;
	do {
		const p = await page(curseur);
		for (const e of p.elements) out.set(key(e), e as unknown as Record<string, unknown>);
		curseur = p.suivant ?? undefined;
	} while (curseur);
	return out;
}

/* Every fiche action the caller sees, by id. */
export function readFiches(api: Api): Promise<Map<string, Record<string, unknown>>> {
	return readAll(
		async (curseur) => {
			const r = await api.GET("/api/v1/fiches-action", { params: { query: { limite: 500, ...(curseur ? { curseur } : {}) } } });
			return r.data ?? fail("GET /fiches-action", r.response, r.error);
		},
		(f) => f.id,
	);
}

/* Every territoire, by id_pvd. */
export function readTerritoires(api: Api): Promise<Map<string, Record<string, unknown>>> {
	return readAll(
		async (curseur) => {
			const r = await api.GET("/api/v1/territoires", { params: { query: { limite: 500, ...(curseur ? { curseur } : {}) } } });
			return r.data ?? fail("GET /territoires", r.response, r.error);
		},
		(t) => t.id_pvd,
	);
}

/* Every demande de subvention, by id. */
export function readDemandes(api: Api): Promise<Map<string, Record<string, unknown>>> {
	return readAll(
		async (curseur) => {
			const r = await api.GET("/api/v1/demandes-subvention", { params: { query: { limite: 500, ...(curseur ? { curseur } : {}) } } });
			return r.data ?? fail("GET /demandes-subvention", r.response, r.error);
		},
		(d) => d.id,
	);
}
