/*
 * The set-up of the sync test (two territoires of Corse-du-Sud, département 2A, with what
 * fiches need: organisations, an axe, a comité and a past séance; two collectivité agents)
 * and the random writers: each write is one request of the API as a real front end sends
 * it (GET for the ETag, then the write with If-Match), a fair share of them refused (stale
 * ETag, rule broken, forbidden transition, a collectivité writing a territoire).
 */
import { type Api, type Schemas, fail } from "./api.mjs";

export interface Lieu {
	id_pvd: string;
	insee: string;
	commune: string; // organisation ids
	epci: string;
	axe: string;
	seance: string;
}

type FicheNouvelle = Schemas["FicheNouvelle"];
type Ligne = Schemas["FicheNouvelle"] extends { plan_financement?: (infer L)[] } ? L : never;
type Etat = Schemas["EtatFiche"];

/* Random integer in [0, n). Math.random: the test's randomness needs no seed to be
 * meaningful (each run is a new sample); the counts are printed. */
const rnd = (n: number): number => Math.floor(Math.random() * n);
const pick = <T,>(a: readonly T[]): T => a[rnd(a.length)] as T;

async function organisation(admin: Api, siren: string, nature: "commune" | "epci", nom: string): Promise<string> {
	const r = await admin.POST("/api/v1/organisations", { body: { siren, nature, nom } });
	if (r.data) return r.data.id;
	const l = await admin.GET("/api/v1/organisations", { params: { query: { siren } } });
	const id = l.data?.elements[0]?.id;
	if (!id) fail(`organisation ${siren}`, r.response, r.error);
	return id;
}

/* One territoire of 2A and what its fiches name, created as the administrator. */
export async function lieu(admin: Api, id_pvd: string, insee: string, sirenCommune: string, sirenEpci: string, nom: string): Promise<Lieu> {
	const t = await admin.POST("/api/v1/territoires", {
		body: { id_pvd, communes: [insee], epcis: [sirenEpci], date_designation: "2021-03-15" },
	});
	if (!t.data) fail(`territoire ${id_pvd}`, t.response, t.error);
	const commune = await organisation(admin, sirenCommune, "commune", nom);
	const epci = await organisation(admin, sirenEpci, "epci", `Intercommunalité de ${nom}`);
	const axe = await admin.POST("/api/v1/territoires/{id_pvd}/axes-strategiques", {
		params: { path: { id_pvd } },
		body: { numero: 1, intitule: "Revitaliser le centre", enjeux: "Vacance commerciale" },
	});
	if (!axe.data) fail("axe", axe.response, axe.error);
	const comite = await admin.POST("/api/v1/comites", {
		body: {
			id_pvd,
			presidence: "Le maire",
			instance_preexistante: false,
			membres: [
				{ qualite: "executif_commune", organisation_id: commune, nom: "Maire" },
				{ qualite: "executif_epci", organisation_id: epci, nom: "Président" },
				{ qualite: "chef_projet", nom: "Cheffe de projet" },
				{ qualite: "prefet", nom: "Préfet" },
			],
		},
	});
	if (!comite.data) fail("comité", comite.response, comite.error);
	const seance = await admin.POST("/api/v1/comites/{id}/seances", {
		params: { path: { id: comite.data.id } },
		body: { date: "2026-01-15" },
	});
	if (!seance.data) fail("séance", seance.response, seance.error);
	return { id_pvd, insee, commune, epci, axe: axe.data.id, seance: seance.data.id };
}

/* A fiche of `l`: numbered, random costs; `pret` adds what programming needs (dates, a
 * balanced plan of the commune's 30 % and the EPCI's 70 %, an échéancier on two years). */
export function nouvelleFiche(l: Lieu, numero: string, pret: boolean): FicheNouvelle {
	const cout = 100_000 * (10 + rnd(990)); // 1 000 € to 99 000 €, in cents
	const base: FicheNouvelle = {
		id_pvd: l.id_pvd,
		numero,
		intitule: `Fiche ${numero}`,
		axe_id: l.axe,
		description: "Description",
		objectifs: "Objectifs",
		maitre_ouvrage_id: l.commune,
		nature_depense: pick(["etude", "investissement", "acquisition"] as const),
		cout_total_ht_centimes: cout,
		localisation_commune_insee: l.insee,
		thematiques: [pick(["habitat", "commerce", "mobilite", "numerique"] as const)],
		public: Math.random() < 0.5,
		comite_seance_id: l.seance,
		date_examen_comite: "2026-01-15",
	};
	if (!pret) return base;
	const half = Math.floor(cout / 2);
	return {
		...base,
		date_debut_prevue: "2027-01-01",
		date_fin_prevue: "2028-12-31",
		plan_financement: plan(l, cout, true),
		echeancier: [
			{ annee: 2027, montant_centimes: half },
			{ annee: 2028, montant_centimes: cout - half },
		],
	};
}

/* Lines: the commune's own share and the EPCI's; balanced on `cout` or not. */
function plan(l: Lieu, cout: number, balanced: boolean): Ligne[] {
	const own = Math.floor((cout * 3) / 10);
	const epci = balanced ? cout - own : Math.floor(cout / 3);
	return [
		{ financeur_id: l.commune, dispositif: "autofinancement", nature_financeur: "public", montant_centimes: own, statut: "accorde" },
		{ financeur_id: l.epci, dispositif: "autre", nature_financeur: "public", montant_centimes: epci, statut: pick(["envisage", "sollicite", "accorde"] as const) },
	];
}

export interface FicheConnue {
	id: string;
	lieu: Lieu;
}

/* Shared by the writers: the fiches created so far, and the numbers used. */
export class Monde {
	readonly fiches: FicheConnue[] = [];
	readonly demandes: string[] = [];
	private numero = 0;
	constructor(readonly lieux: Lieu[]) {}
	nextNumero(): string {
		return String(++this.numero).padStart(4, "0");
	}
}

/* What happened: "<write> <status>" → count. */
export type Bilan = Map<string, number>;
const count = (b: Bilan, k: string): void => {
	b.set(k, (b.get(k) ?? 0) + 1);
};

export interface Ecrivain {
	nom: string;
	api: Api;
	admin: boolean; // anct_national: every territoire, and territoires themselves
	lieux: Lieu[]; // where it writes fiches
}

const SUIVANT: Record<Etat, Etat[]> = {
	brouillon: ["en_maturation", "en_maturation", "abandonnee", "programmee"],
	en_maturation: ["programmee", "programmee", "brouillon", "abandonnee"],
	programmee: ["en_cours", "en_maturation", "suspendue"],
	en_cours: ["suspendue", "realisee"],
	suspendue: ["en_cours", "abandonnee"],
	realisee: ["en_cours"],
	abandonnee: ["brouillon"],
};

/* One random write by w. Returns "<kind> <status>". A 5xx throws: on client input it is a
 * bug, and under this load (pool of 8, five clients) none is expected. */
export async function ecrire(w: Ecrivain, monde: Monde, bilan: Bilan): Promise<void> {
	const mine = monde.fiches.filter((f) => w.lieux.includes(f.lieu));
	const r = Math.random();
	let kind: string;
	let status: number;
	let detail = "";
	if (mine.length < 5 || r < 0.1) {
		kind = "create";
		const l = pick(w.lieux);
		const key = Math.random() < 0.5 ? { "Idempotency-Key": crypto.randomUUID() } : undefined;
		const body = nouvelleFiche(l, monde.nextNumero(), Math.random() < 0.6);
		const res = await w.api.POST("/api/v1/fiches-action", { body, ...(key ? { params: { header: key } } : {}) });
		detail = JSON.stringify({ key: key !== undefined, body });
		status = res.response.status;
		if (res.data) monde.fiches.push({ id: res.data.id, lieu: l });
	} else if (r < 0.25 && mine.length >= 5) {
		await demande(w, monde, bilan, pick(mine));
		return;
	} else if (w.admin && r < 0.3) {
		kind = "territoire.patch";
		const l = pick(monde.lieux);
		const cur = await w.api.GET("/api/v1/territoires/{id_pvd}", { params: { path: { id_pvd: l.id_pvd } } });
		const etag = cur.response.headers.get("etag");
		if (!etag) fail("GET territoire", cur.response, cur.error);
		const res = await w.api.PATCH("/api/v1/territoires/{id_pvd}", {
			params: { path: { id_pvd: l.id_pvd }, header: { "If-Match": etag } },
			body: { nom: `Territoire ${rnd(1000)}` },
			headers: { "Content-Type": "application/merge-patch+json" },
		});
		status = res.response.status;
	} else if (!w.admin && r < 0.3) {
		kind = "territoire.patch-by-collectivite"; // refused: 403
		const l = pick(w.lieux);
		const res = await w.api.PATCH("/api/v1/territoires/{id_pvd}", {
			params: { path: { id_pvd: l.id_pvd }, header: { "If-Match": '"0"' } },
			body: { nom: "Refusé" },
			headers: { "Content-Type": "application/merge-patch+json" },
		});
		status = res.response.status;
	} else {
		const f = pick(mine);
		const cur = await w.api.GET("/api/v1/fiches-action/{id}", { params: { path: { id: f.id } } });
		const etag = cur.response.headers.get("etag");
		if (!cur.data || !etag) fail("GET fiche", cur.response, cur.error);
		const fiche = cur.data;
		const id = { path: { id: f.id }, header: { "If-Match": etag } };
		const mp = { "Content-Type": "application/merge-patch+json" };
		if (r < 0.55) {
			kind = "fiche.patch";
			const choix: Schemas["FicheModification"][] = [
				{ intitule: `Intitulé ${rnd(100000)}` },
				{ description: `Description ${rnd(100000)}` },
				{ priorite: pick(["elevee", "moyenne", "basse", null] as const) },
				{ thematiques: [pick(["habitat", "commerce", "espaces_publics", "numerique"] as const)] },
				{ public: !fiche.public },
				{ lien_crte: Math.random() < 0.5 },
				{ cout_total_ttc_centimes: fiche.cout_total_ht_centimes + rnd(100000) },
				{ date_debut_prevue: "2027-01-01", date_fin_prevue: pick(["2028-12-31", "2029-06-30"]) },
			];
			const res = await w.api.PATCH("/api/v1/fiches-action/{id}", { params: id, body: pick(choix), headers: mp });
			status = res.response.status;
		} else if (r < 0.6) {
			kind = "fiche.patch-refused";
			const choix: Schemas["FicheModification"][] = [
				{ cout_total_ttc_centimes: 1 }, // below the HT cost: 422
				{ date_debut_prevue: "2029-01-01", date_fin_prevue: "2028-01-01" }, // R25: 422
				{ intitule: "" }, // 400
			];
			const res = await w.api.PATCH("/api/v1/fiches-action/{id}", { params: id, body: pick(choix), headers: mp });
			status = res.response.status;
		} else if (r < 0.65) {
			kind = "fiche.patch-stale"; // an ETag of an older revision: 412
			const res = await w.api.PATCH("/api/v1/fiches-action/{id}", {
				params: { path: { id: f.id }, header: { "If-Match": '"00000000000000000000"' } },
				body: { intitule: "Jamais" },
				headers: mp,
			});
			status = res.response.status;
		} else if (r < 0.8 && (!w.admin || Math.random() < 0.2)) {
			kind = "fiche.transition";
			const vers = pick(SUIVANT[fiche.etat]);
			const body: Schemas["TransitionFiche"] = { vers };
			if (vers === "abandonnee" || vers === "suspendue" || vers === "brouillon" || vers === "en_maturation") body.motif = "Motif";
			if (vers === "en_cours") body.date_commencement = "2026-02-01";
			if (vers === "realisee") body.date_achevement = "2026-03-01";
			const res = await w.api.POST("/api/v1/fiches-action/{id}/transitions", { params: id, body });
			status = res.response.status;
			kind += ` ${fiche.etat}->${vers}`;
		} else if (r < 0.9) {
			kind = "fiche.plan-financement"; // also the admins' share of transitions
			const base = fiche.base_financement === "ttc" ? fiche.cout_total_ttc_centimes ?? fiche.cout_total_ht_centimes : fiche.cout_total_ht_centimes;
			const lignes = plan(f.lieu, base, Math.random() < 0.7);
			const res = await w.api.PUT("/api/v1/fiches-action/{id}/plan-financement", { params: id, body: { lignes } });
			status = res.response.status;
		} else if (r < 0.95) {
			kind = "fiche.echeancier";
			const cout = fiche.cout_total_ht_centimes;
			const a = Math.floor(cout / (2 + rnd(3)));
			const annees = Math.random() < 0.8 ? [{ annee: 2027, montant_centimes: a }, { annee: 2028, montant_centimes: cout - a }] : [{ annee: 2027, montant_centimes: a }];
			const res = await w.api.PUT("/api/v1/fiches-action/{id}/echeancier", { params: id, body: { annees } });
			status = res.response.status;
		} else {
			kind = "fiche.ligne";
			const res = await w.api.POST("/api/v1/fiches-action/{id}/plan-financement/lignes", {
				params: id,
				body: { financeur_id: f.lieu.epci, dispositif: "autre", nature_financeur: "public", montant_centimes: 100 * (1 + rnd(5000)), statut: "envisage" },
			});
			status = res.response.status;
		}
	}
	if (status >= 500) throw new Error(`${w.nom}: ${kind} answered ${status} ${detail}`);
	count(bilan, `${kind} ${status}`);
}

/* A write of a demande de subvention by w on fiche f's territoire: a new one (DETR, DSIL,
 * FNADT…, half of the fiche's cost asked), or on a known one a PATCH, or the first
 * transition the demande offers the writer (transitions_possibles), else a refused one. */
async function demande(w: Ecrivain, monde: Monde, bilan: Bilan, f: FicheConnue): Promise<void> {
	let kind: string;
	let status: number;
	const r = Math.random();
	if (monde.demandes.length < 3 || r < 0.3) {
		kind = "demande.create";
		const depense = 100_000 * (10 + rnd(990));
		const res = await w.api.POST("/api/v1/demandes-subvention", {
			body: {
				dispositif: pick(["DETR", "DSIL", "FNADT", "autre"] as const),
				demandeur_id: f.lieu.commune,
				fiche_id: f.id,
				annee_programmation: 2027,
				intitule: `Demande ${rnd(100000)}`,
				depense_subventionnable_ht_centimes: depense,
				montant_sollicite_centimes: Math.floor(depense / 2),
			},
		});
		status = res.response.status;
		if (res.data) monde.demandes.push(res.data.id);
	} else {
		const id = pick(monde.demandes);
		const cur = await w.api.GET("/api/v1/demandes-subvention/{id}", { params: { path: { id } } });
		const etag = cur.response.headers.get("etag");
		if (cur.response.status === 404) {
			kind = "demande.get-outside"; // another collectivité's demande: not visible
			status = 404;
		} else {
			if (!cur.data || !etag) fail("GET demande", cur.response, cur.error);
			const params = { path: { id }, header: { "If-Match": etag } };
			const vers = cur.data.transitions_possibles[0];
			if (r < 0.7 || !vers) {
				kind = "demande.patch";
				const body: Schemas["DemandeModification"] = pick([
					{ intitule: `Demande ${rnd(100000)}` },
					{ montant_sollicite_centimes: Math.floor(cur.data.depense_subventionnable_ht_centimes / (2 + rnd(3))) },
					{ garantie_bancaire: Math.random() < 0.5 },
					{ montant_sollicite_centimes: cur.data.depense_subventionnable_ht_centimes * 2 }, // more than the expense: refused
				]);
				const res = await w.api.PATCH("/api/v1/demandes-subvention/{id}", { params, body, headers: { "Content-Type": "application/merge-patch+json" } });
				status = res.response.status;
			} else {
				kind = `demande.transition ${cur.data.etat}->${vers}`;
				const res = await w.api.POST("/api/v1/demandes-subvention/{id}/transitions", {
					params,
					body: { vers, date_depot: "2026-02-01", date_accuse_reception: "2026-02-02", date_dossier_complet: "2026-02-03" },
				});
				status = res.response.status;
			}
		}
	}
	if (status >= 500) throw new Error(`${w.nom}: ${kind} answered ${status}`);
	count(bilan, `${kind} ${status}`);
}
