/*
 * A strict TypeScript client of pvd-api, written against the client that openapi-typescript
 * generates from the served spec (build/openapi.json → build/tests/contract/api.d.ts) and
 * used through openapi-fetch. It only has to compile (`tsc --strict --noEmit`, tests/run.sh):
 * each switch below names every status, or every problem code, that the spec declares for a
 * representative operation, and ends in `satisfies never`. A status or code the spec drops
 * makes a `case` label incomparable; one it adds makes the `never` check fail. Both break
 * the build, so the spec and this program agree on what a client must handle.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "#api";

type Schemas = components["schemas"];
type Responses<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R } ? R : never;
type Status<P extends keyof paths, M extends keyof paths[P]> = keyof Responses<P, M>;
type ProblemOf<R> = R extends { content: { "application/problem+json": infer B } } ? B : never;

export const client = createClient<paths>({ baseUrl: "http://localhost:8080" });

/* ---- every problem code of the service (api/problem_codes.def) ------------------------ */

export function conduite(code: Schemas["Problem"]["code"]): "corriger" | "reessayer" | "signaler" | "autorisation" {
	switch (code) {
	case "requete-invalide":
	case "json-invalide":
	case "champs-invalides":
	case "parametre-invalide":
	case "curseur-invalide":
	case "ressource-introuvable":
	case "route-inconnue":
	case "methode-non-autorisee":
	case "corps-trop-volumineux":
	case "uri-trop-longue":
	case "type-media-non-supporte":
	case "encodage-transfert-non-supporte":
	case "regle-non-respectee":
	case "cle-idempotence-reutilisee":
	case "precondition-requise":
		return "corriger";
	case "conflit":
	case "precondition-echouee":
	case "trop-de-requetes":
	case "service-indisponible":
		return "reessayer";
	case "erreur-interne":
		return "signaler";
	case "non-authentifie":
	case "interdit":
		return "autorisation";
	default:
		return code satisfies never;
	}
}

/* ---- POST /api/v1/conventions: every declared status, and the codes of its 422 --------- */

type CreerConvention = Responses<"/api/v1/conventions", "post">;

export function issueCreation(status: Status<"/api/v1/conventions", "post">): string {
	switch (status) {
	case 201: return "créée";
	case 400: return "corps ou en-tête invalide";
	case 401: return "jeton refusé";
	case 403: return "interdit";
	case 404: return "territoire ou adhésion introuvable";
	case 405: return "méthode non autorisée";
	case 409: return "conflit, ou requête d'origine de la clé encore en cours";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "règle non respectée ou clé réutilisée";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

export function refus422(problem: ProblemOf<CreerConvention[422]>): string {
	switch (problem.code) {
	case "regle-non-respectee":
		return `${problem.regle ?? "règle"} : ${(problem.erreurs ?? []).map((e) => e.code).join(", ")}`;
	case "cle-idempotence-reutilisee":
		return "nouvelle clé nécessaire";
	default:
		return problem.code satisfies never;
	}
}

export function refus400(problem: ProblemOf<CreerConvention[400]>): string {
	switch (problem.code) {
	case "json-invalide":
	case "champs-invalides":
	case "requete-invalide":
		return problem.detail;
	default:
		return problem.code satisfies never;
	}
}

export async function creerConvention(corps: Schemas["ConventionNouvelle"], jeton: string): Promise<Schemas["Convention"] | string> {
	/* required on the schema itself: no `undefined` here */
	const intitule: string = corps.intitule;
	const { data, error, response } = await client.POST("/api/v1/conventions", {
		body: corps,
		headers: { Authorization: `Bearer ${jeton}`, "Idempotency-Key": `creation-${intitule}` },
	});
	if (data !== undefined)
		return data;
	const statut = response.status as Status<"/api/v1/conventions", "post">;
	return `${issueCreation(statut)} (${conduite(error.code)})`;
}

/* ---- GET /api/v1/territoires: a public collection with its total ----------------------- */

export function issueListe(status: Status<"/api/v1/territoires", "get">): boolean {
	switch (status) {
	case 200: return true;
	case 304: return true; /* If-None-Match: the page the client holds is current */
	case 400:
	case 405:
	case 413:
	case 414:
	case 415:
	case 429:
	case 500:
	case 501:
	case 503:
		return false;
	default: return status satisfies never;
	}
}

export async function compterTerritoires(departement: string): Promise<number> {
	const { data } = await client.GET("/api/v1/territoires", { params: { query: { departement } } });
	if (data === undefined)
		return -1;
	const total: number = data.total; /* required on every collection */
	const suivant: string | null = data.suivant;
	return suivant === null ? data.elements.length : total;
}

/* ---- PATCH /api/v1/axes-strategiques/{id}: a merge patch ------------------------------- */

export function issueModification(status: Status<"/api/v1/axes-strategiques/{id}", "patch">): string {
	switch (status) {
	case 200: return "modifié";
	case 400: case 401: case 403: case 404: case 405: case 409: case 412: case 413:
	case 414: case 415: case 422: case 428: case 429: case 500: case 501: case 503:
		return "refusé";
	default: return status satisfies never;
	}
}

export async function renommerAxe(id: string, etag: string, intitule: string, jeton: string): Promise<boolean> {
	const { data } = await client.PATCH("/api/v1/axes-strategiques/{id}", {
		params: { path: { id }, header: { "If-Match": etag } },
		body: { intitule },
		headers: { Authorization: `Bearer ${jeton}`, "Content-Type": "application/merge-patch+json" },
	});
	return data !== undefined;
}

/* ---- the import's refusal carries its report; lines and warnings have enum codes ------- */

type Import = Responses<"/api/v1/territoires/import", "post">;

export function lignesRefusees(problem: ProblemOf<Import[422]>): number {
	if (problem.code === "cle-idempotence-reutilisee")
		return 0;
	/* rapport is required on this answer */
	const rapport: Schemas["ImportRapport"] = problem.rapport;
	return rapport.lignes.filter((l) => l.resultat === "refuse").length;
}

export function codeDeLigne(ligne: Schemas["ImportLigne"]): Schemas["CodeErreur"] | "aucun" {
	return ligne.code ?? "aucun";
}

export function avertissement(a: Schemas["Avertissement"]): string {
	switch (a.code) {
	case "population-superieure-seuil":
	case "convention-cadre-en-retard":
	case "convention-cadre-non-signee-a-temps":
	case "epci-modifie":
		return `${a.regle} ${a.message}`;
	/* issue 10 §3: the warnings of a deposit (R37, filing deadline) */
	case "depot-apres-date-limite":
	case "detr-commune-trop-peuplee":
	case "detr-demandeur-non-eligible":
	case "detr-epci-non-eligible":
	case "detr-potentiel-financier-a-verifier":
	case "detr-potentiel-financier-eleve":
		return `${a.regle} ${a.message}`;
	default:
		return a.code satisfies never;
	}
}

/* ---- a comité's members are read with every member ------------------------------------- */

export function membres(comite: Schemas["Comite"]): string[] {
	return comite.membres.map((m) => {
		const organisation: string | null = m.organisation_id;
		const fonction: string | null = m.fonction;
		return `${m.nom} (${m.qualite}) ${fonction ?? ""} ${organisation ?? ""}`;
	});
}

/* ---- the journal: actions and resource types are enums --------------------------------- */

export function ressourceDe(entree: Schemas["EntreeJournal"]): Schemas["TypeRessource"] {
	const action: Schemas["ActionJournal"] = entree.action;
	const [type] = action.split(".");
	return type === entree.ressource_type ? entree.ressource_type : entree.ressource_type;
}

/* ---- Issue 9 §1: fiches action --------------------------------------------------------- */
/* What a client shows for each state of a fiche action (§2.3): every state named. */
export function libelleEtatFiche(etat: Schemas["EtatFiche"]): string {
	switch (etat) {
	case "brouillon": return "brouillon";
	case "en_maturation": return "en maturation";
	case "programmee": return "programmée";
	case "en_cours": return "en cours";
	case "suspendue": return "suspendue";
	case "realisee": return "réalisée";
	case "abandonnee": return "abandonnée";
	default: return etat satisfies never;
	}
}

/* POST /api/v1/fiches-action/{id}/transitions: every declared status. */
export function issueTransitionFiche(status: Status<"/api/v1/fiches-action/{id}/transitions", "post">): string {
	switch (status) {
	case 200: return "fiche dans son nouvel état";
	case 400: return "corps invalide (vers, dates, decision_id)";
	case 401: return "jeton refusé";
	case 403: return "rôle sans cette transition (transition-interdite) ou sans aucune";
	case 404: return "fiche introuvable";
	case 405: return "méthode non autorisée";
	case 409: return "pas de transition depuis cet état (transition-invalide)";
	case 412: return "fiche modifiée entre-temps : relire";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "règle non respectée (R23–R28) ou clé réutilisée";
	case 428: return "If-Match requis";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

/* GET /api/v1/fiches-action.csv: every declared status; the document is text. */
export function issueExportFiches(status: Status<"/api/v1/fiches-action.csv", "get">): string {
	switch (status) {
	case 200: return "document CSV";
	case 400: return "filtre invalide, ou export trop volumineux : filtrer davantage";
	case 401: return "jeton refusé";
	case 403: return "interdit";
	case 405: return "méthode non autorisée";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}
export type ExportFiches = Responses<"/api/v1/fiches-action.csv", "get">[200]["content"]["text/csv"];

/* The fiches of a page the caller may program now (its transitions_possibles). */
export async function fichesAProgrammer(idPvd: string): Promise<Schemas["Fiche"][]> {
	const { data } = await client.GET("/api/v1/fiches-action", {
		params: { query: { id_pvd: idPvd, etat: "en_maturation", limite: 500 } },
	});
	const page: Schemas["PageFiches"] | undefined = data;
	return (page?.elements ?? []).filter((f) => f.transitions_possibles.includes("programmee"));
}
/* — end of fiches action — */

/* ---- Issue 9 §2: financing plan and échéancier ----------------------------------------- */

type AjouterLigne = Responses<"/api/v1/fiches-action/{id}/plan-financement/lignes", "post">;

export function issueAjoutLigne(status: Status<"/api/v1/fiches-action/{id}/plan-financement/lignes", "post">): string {
	switch (status) {
	case 200: return "ligne ajoutée : nouvel ETag de la fiche";
	case 400: return "corps ou en-tête invalide";
	case 401: return "jeton refusé";
	case 403: return "interdit";
	case 404: return "fiche introuvable";
	case 405: return "méthode non autorisée";
	case 409: return "fiche figée, ou requête d'origine de la clé encore en cours";
	case 412: return "la fiche a changé : relire";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "règle non respectée ou clé réutilisée";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

/* What a financing form does with each refusal item it branches on. */
export function refusLigne(problem: ProblemOf<AjouterLigne[422]>): string[] {
	return (problem.erreurs ?? []).map((e) => {
		const code: Schemas["CodeErreur"] = e.code;
		switch (code) {
		case "part-propre-insuffisante": return `augmenter la part propre : ${e.message}`;
		case "dotations-etat-plafond-depasse": return `réduire DETR/DSIL : ${e.message}`;
		case "plan-financement-desequilibre": return `rééquilibrer le plan : ${e.message}`;
		case "statut-financement-invalide": return `statut : ${e.message}`;
		case "fiche-figee": return "fiche figée";
		default: return e.message;
		}
	});
}

/* The shortfall R29 reports, in cents (0 when the rule holds or does not apply). */
export function manquePartPropre(analyse: Schemas["AnalysePlanFinancement"]): number {
	return analyse.r29.applicable && !analyse.r29.exempte ? analyse.r29.manque_centimes : 0;
}
/* — end of financing — */

/* ---- Issue 9 §3: plan d'action and maquette -------------------------------------------- */

/* PATCH of the plan d'action: every declared status. */
export function issueModificationPlan(
	status: Status<"/api/v1/territoires/{id_pvd}/plan-action", "patch">,
): string {
	switch (status) {
	case 200: return "modifié";
	case 400: return "corps ou paramètre invalide";
	case 401: return "jeton refusé";
	case 403: return "interdit";
	case 404: return "territoire introuvable";
	case 405: return "méthode non autorisée";
	case 412: return "le plan a changé : relire (ETag)";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "commune hors du territoire";
	case 428: return "If-Match requis";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

/* The maquette: its amounts are integer cents, its statuts those of a financing line. */
export function financeDeLaMaquette(m: Schemas["MaquetteFinanciere"]): number {
	const statuts: Schemas["StatutFinancement"][] = ["sollicite", "accorde", "verse_partiel", "solde"];
	const ps = m.total.par_statut;
	const parStatut: Record<Schemas["StatutFinancement"], number> = {
		envisage: ps.envisage_centimes,
		sollicite: ps.sollicite_centimes,
		accorde: ps.accorde_centimes,
		refuse: ps.refuse_centimes,
		verse_partiel: ps.verse_partiel_centimes,
		solde: ps.solde_centimes,
	};
	return statuts.reduce((somme, s) => somme + parStatut[s], 0);
}
/* — end of plan d'action — */

/* ---- Issue 9 §1: public fiches ----------------------------------------------------------- */
/* — end of public fiches — */

/* ---- Issue 10 §1: programme parameters ---- */
/* What a client does with each answer of PUT /api/v1/parametres (every status the spec
 * declares: a new one breaks this switch at compile time). */
export function suiteModificationParametres(
	status: Status<"/api/v1/parametres", "put">,
): string {
	switch (status) {
	case 200: return "nouvelle version enregistrée";
	case 400: return "corps ou paramètre invalide";
	case 401: return "jeton refusé";
	case 403: return "réservé à l'ANCT";
	case 405: return "méthode non autorisée";
	case 412: return "les paramètres en vigueur ont changé : relire (ETag)";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "valeurs refusées (pointeurs), ou date d'effet passée";
	case 428: return "If-Match requis";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

/* The chef de projet cap of a year (R13), from the parameters in force: integer cents. */
export function plafondChefDeProjet(p: Schemas["Parametres"], annee: number, avecAnah: boolean): number | undefined {
	const periode = p.chef_projet.filter((c) => c.annee_debut <= annee).pop();
	if (periode === undefined) return undefined;
	return avecAnah ? periode.plafond_annuel_avec_anah_centimes : periode.plafond_annuel_centimes;
}
/* — end of programme parameters — */

/* ---- Issue 10 §2: postes de chef de projet ---- */

/* PUT of a funding year: every declared status (201 created, 200 replaced). */
export function issueFinancementAnnee(
	status: Status<"/api/v1/postes-chef-de-projet/{id}/annees/{annee}", "put">,
): string {
	switch (status) {
	case 200: return "remplacé";
	case 201: return "créé";
	case 400: return "corps ou paramètre invalide";
	case 401: return "jeton refusé";
	case 403: return "interdit";
	case 404: return "poste introuvable";
	case 405: return "méthode non autorisée";
	case 412: return "l'année a changé : relire (ETag)";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "plafond, règle ou financeur refusé";
	case 428: return "If-Match requis";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}

/* What a year's schedule will pay at least, in cents: the determined amounts (the others,
 * paid on request with Anah, count for nothing yet). */
export function versementsDetermines(annee: Schemas["FinancementAnnuelPoste"]): number {
	return annee.echeancier.reduce((somme, v) => somme + (v.montant_determine && v.montant_centimes !== null ? v.montant_centimes : 0), 0);
}
/* — end of postes de chef de projet — */

/* ---- Issue 10 §3: demandes de subvention ---- */
/* What a client shows for each state of a demande de subvention (§2.4): every state named. */
export function libelleEtatDemande(etat: Schemas["EtatDemande"]): string {
	switch (etat) {
	case "brouillon": return "brouillon";
	case "depose": return "déposée";
	case "en_instruction": return "en instruction";
	case "accordee": return "accordée";
	case "refusee": return "refusée";
	case "classee_sans_suite": return "classée sans suite";
	case "rejet_implicite": return "rejet implicite (R30)";
	case "notifiee": return "notifiée";
	case "engagee": return "engagée";
	case "caduque": return "caduque (R34)";
	case "soldee": return "soldée";
	case "forclose": return "forclose (R35)";
	default: return etat satisfies never;
	}
}

/* POST /api/v1/demandes-subvention/{id}/transitions: every declared status. */
export function issueTransitionDemande(status: Status<"/api/v1/demandes-subvention/{id}/transitions", "post">): string {
	switch (status) {
	case 200: return "demande dans son nouvel état";
	case 400: return "corps invalide";
	case 401: return "jeton refusé";
	case 403: return "rôle sans cette transition (transition-interdite) ou hors périmètre d'écriture";
	case 404: return "demande introuvable";
	case 405: return "méthode non autorisée";
	case 409: return "pas de transition depuis l'état effectif (transition-invalide)";
	case 412: return "demande modifiée entre-temps : relire";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "règle non respectée (R31–R36, mentions, dates) ou clé réutilisée";
	case 428: return "If-Match requis";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}
/* — end of demandes de subvention — */

/* ---- Issue 11 §1: event feed ---- */
/* — end of event feed — */

/* ---- Issue 11 §1: lists by modification (modifie_depuis, tri, list ETags) ---- */

/* The territoires changed since `depuis`, newest change first, re-read only when the page
 * changed: "inchange" on 304 (the ETag the caller holds is current). */
export async function territoiresModifies(depuis: string, etag: string | null):
	Promise<{ elements: Schemas["Territoire"][]; etag: string | null } | "inchange" | "refus"> {
	const tri: "modifie_le" | "-modifie_le" = "-modifie_le";
	const { data, response } = await client.GET("/api/v1/territoires", {
		params: {
			query: { modifie_depuis: depuis, tri, limite: 500 },
			header: etag === null ? {} : { "If-None-Match": etag },
		},
	});
	if (response.status === 304)
		return "inchange";
	if (data === undefined)
		return issueListe(response.status as Status<"/api/v1/territoires", "get">) ? "inchange" : "refus";
	return { elements: data.elements, etag: response.headers.get("ETag") };
}
/* — end of lists by modification — */

/* ---- Issue 11 §2: webhooks ---- */
/* POST /api/v1/abonnements: every declared status. */
export function issueAbonnement(status: Status<"/api/v1/abonnements", "post">): string {
	switch (status) {
	case 201: return "abonné : garder le secret, montré cette seule fois";
	case 400: return "corps invalide";
	case 401: return "jeton refusé";
	case 403: return "seul un client machine s'abonne";
	case 405: return "méthode non autorisée";
	case 409: return "requête d'origine de la clé encore en cours";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 422: return "URL non autorisée, type inconnu ou clé réutilisée";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "webhooks non configurés ou service indisponible";
	default: return status satisfies never;
	}
}

/* What a delivery's state asks of its owner: every state named. */
export function suiteLivraison(livraison: Schemas["Livraison"]): string {
	switch (livraison.etat) {
	case "en_attente": return `prochaine tentative ${livraison.prochaine_tentative_le ?? ""}`;
	case "en_cours": return "tentative en cours";
	case "livree": return `livrée ${livraison.livree_le ?? ""}`;
	case "echec_definitif": return `à rejouer (${livraison.derniere_erreur ?? "échec"})`;
	default: return livraison.etat satisfies never;
	}
}

/* The secret exists only in the creation's and the rotation's answer (absent from a replay). */
export function secretMontre(reponse: Schemas["AbonnementAvecSecret"]): string | undefined {
	return reponse.secret;
}

/* A delivered message's data is an event of the feed. */
export function evenementLivre(message: Schemas["MessageWebhook"]): Schemas["Evenement"]["id"] {
	return message.data.id;
}
/* — end of webhooks — */

/* ---- Issue 11 §3: open data ---- */
/* A harvester of the catalogue: each dataset's URLs by format, resolved against the
 * catalogue's own URL (they are paths); every format named. */
export function ressourcesDuCatalogue(catalogue: Schemas["CatalogueDonneesOuvertes"], base: string): Map<string, { csv?: string; json?: string }> {
	const jeux = new Map<string, { csv?: string; json?: string }>();
	for (const jeu of catalogue.jeux_de_donnees) {
		const urls: { csv?: string; json?: string } = {};
		for (const r of jeu.ressources) {
			const url = new URL(r.url, base).toString();
			switch (r.format) {
			case "csv": urls.csv = url; break;
			case "json": urls.json = url; break;
			default: return r.format satisfies never;
			}
		}
		jeux.set(jeu.id, urls);
	}
	return jeux;
}

/* The SCDL amount of a granted subsidy in cents, without floating point ("25000.50"). */
export function montantSubventionCentimes(s: Schemas["SubventionOuverte"]): bigint {
	const [euros = "0", centimes = "0"] = s.montant.split(".");
	return BigInt(euros) * 100n + BigInt(centimes);
}

/* GET /api/v1/donnees-ouvertes/subventions.json: every declared status. */
export function issueSubventionsOuvertes(status: Status<"/api/v1/donnees-ouvertes/subventions.json", "get">): string {
	switch (status) {
	case 200: return "le document";
	case 304: return "inchangé depuis l'ETag";
	case 400: return "paramètre invalide ou trop d'éléments";
	case 405: return "méthode non autorisée";
	case 413: return "corps trop volumineux";
	case 414: return "URI trop longue";
	case 415: return "type de média non supporté";
	case 429: return "trop de requêtes";
	case 500: return "erreur interne";
	case 501: return "encodage de transfert non pris en charge";
	case 503: return "service indisponible";
	default: return status satisfies never;
	}
}
/* — end of open data — */

/* ---- Issue 11 §4: documentation, compression, CORS ---- */
/* — end of documentation, compression, CORS — */
