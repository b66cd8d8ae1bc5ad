/* Fiches action of the plan d'action (domain.md §1.8, §1.9): their state
 * machine (§2.3) with who may take each edge (§5), the maturité derived from
 * the state, and the pure rules R21–R26 and R28 (domain.md §3, issue 9 §1).
 * R27 (Σ échéancier = coût HT) is computed by the financing module
 * (financement_r27_check): the state check only reads its findings or its
 * verdict (fiche_transition_input.r27_report / r27_echeancier_equilibre).
 * No I/O, no clock (the transition date is passed in), no allocation,
 * thread-safe. Money is integer cents (int64_t), never floating point.
 *
 * Every check appends what it finds to a caller-owned struct rule_report
 * (rules.h) and returns how many items it appended (0 = the rule holds); a
 * check never stops at the first problem of its own rule.
 *
 * Stable codes (regle, code → JSON pointer) for problem+json:
 *   ""    transition-invalide             /vers  (no such edge: 409)
 *   ""    transition-interdite            /vers  (edge not for this role: 403)
 *   ""    numero-manquant                 /numero
 *   ""    numero-deja-utilise             /numero
 *   ""    cout-negatif                    /cout_total_ht_centimes or /cout_total_ttc_centimes
 *   ""    cout-ttc-inferieur-ht           /cout_total_ttc_centimes
 *   ""    date-prevue-manquante           /date_debut_prevue or /date_fin_prevue
 *   ""    date-commencement-manquante     /date_commencement
 *   ""    date-commencement-future        /date_commencement
 *   ""    date-achevement-manquante       /date_achevement
 *   ""    date-achevement-future          /date_achevement
 *   ""    date-achevement-anterieure-commencement /date_achevement
 *   ""    indicateur-sans-mesure          /indicateurs
 *   "R21" axe-inconnu                     /axe_id
 *   "R21" axe-autre-territoire            /axe_id
 *   "R22" commune-hors-territoire         /localisation_commune_insee
 *   "R22" commune-hors-territoire-epci    /localisation_commune_insee
 *   "R23" examen-comite-manquant          /comite_seance_id
 *   "R23" examen-comite-posterieur        /comite_seance_id
 *   "R24" plan-financement-vide           /plan_financement
 *   "R24" plan-financement-desequilibre   /plan_financement
 *   "R24" cout-ttc-manquant               /cout_total_ttc_centimes
 *   "R25" dates-prevues-incoherentes      /date_fin_prevue
 *   "R26" convention-adhesion-non-signee  /avant_convention_cadre
 *   "R27" echeancier-desequilibre         /echeancier  (hook: the code of
 *         financement_r27_check; see fiche_transition_input.r27_report)
 *   "R28" motif-manquant                  /motif
 *   "R28" decision-abandon-manquante      /decision_id
 * /vers, /motif and /decision_id are members of the transitions body
 * (POST /fiches-action/{id}/transitions); the others of the fiche's own
 * representation (field names of domain.md §1.9). The FICHE_PTR_* macros below
 * hold them, so the HTTP layer names each pointer in one place. */
#ifndef PVD_DOMAIN_FICHE_H
#define PVD_DOMAIN_FICHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "date.h"
#include "rules.h"

#define FICHE_PTR_VERS             "/vers"
#define FICHE_PTR_MOTIF            "/motif"
#define FICHE_PTR_DECISION         "/decision_id"
#define FICHE_PTR_NUMERO           "/numero"
#define FICHE_PTR_AXE              "/axe_id"
#define FICHE_PTR_COMMUNE          "/localisation_commune_insee"
#define FICHE_PTR_COUT_HT          "/cout_total_ht_centimes"
#define FICHE_PTR_COUT_TTC         "/cout_total_ttc_centimes"
#define FICHE_PTR_DATE_DEBUT       "/date_debut_prevue"
#define FICHE_PTR_DATE_FIN         "/date_fin_prevue"
#define FICHE_PTR_DATE_COMMENCE    "/date_commencement"
#define FICHE_PTR_DATE_ACHEVEMENT  "/date_achevement"
#define FICHE_PTR_INDICATEURS      "/indicateurs"
#define FICHE_PTR_SEANCE           "/comite_seance_id"
#define FICHE_PTR_PLAN_FINANCEMENT "/plan_financement"
#define FICHE_PTR_ECHEANCIER       "/echeancier"
#define FICHE_PTR_AVANT_CADRE      "/avant_convention_cadre"

/* ---- States, maturité, names ------------------------------------------- */

/* §2.3. Wire names: "brouillon", "en_maturation", "programmee", "en_cours",
 * "suspendue", "realisee", "abandonnee". */
enum fiche_etat {
    FICHE_BROUILLON,
    FICHE_EN_MATURATION,
    FICHE_PROGRAMMEE,
    FICHE_EN_COURS,
    FICHE_SUSPENDUE,
    FICHE_REALISEE,
    FICHE_ABANDONNEE,
    FICHE_ETAT__COUNT
};

/* §1.9 maturite. Wire names: "en_maturation", "prete". */
enum fiche_maturite { FICHE_MATURITE_EN_MATURATION, FICHE_MATURITE_PRETE, FICHE_MATURITE__COUNT };

/* The wire name; NULL when out of range. */
const char *fiche_etat_name(enum fiche_etat etat);
/* Exact, case-sensitive; false (out untouched) on an unknown name or NULL. */
bool fiche_etat_parse(const char *name, enum fiche_etat *out);
const char *fiche_maturite_name(enum fiche_maturite m);

/* §1.9 thématiques and natures de dépense: their wire names, NULL-terminated
 * (the values migration 0012's CHECKs accept: a fiche's thématiques and the
 * plan d'action's perimetres name them), and exact, case-sensitive
 * membership (NULL: false). */
#define FICHE_THEMATIQUE_COUNT 10
extern const char *const fiche_thematiques[FICHE_THEMATIQUE_COUNT + 1];
extern const char *const fiche_natures_depense[];
bool fiche_thematique_is_valid(const char *name);
bool fiche_nature_depense_is_valid(const char *name);

/* §2.3 (derive): en_maturation while the state is brouillon or en_maturation,
 * prete for every other state (abandonnee included: the rule reads the state
 * only). An out-of-range state gives en_maturation. */
enum fiche_maturite fiche_maturite_of(enum fiche_etat etat);

/* ---- State machine (§2.3) ---------------------------------------------- */

/* The edge exists, whoever asks:
 *   brouillon → en_maturation (the comité examined it: R23)
 *   en_maturation → programmee (financing complete and dates set: R24, R25, R27)
 *   programmee → en_cours (commencement recorded; R26)
 *   en_cours → realisee (achèvement recorded)
 *   en_cours → suspendue (R28), suspendue → en_cours
 *   brouillon, en_maturation, programmee → abandonnee (comité: R28; leaving
 *   brouillon also needs R23)
 * Out-of-range arguments: false. */
bool fiche_transition_exists(enum fiche_etat from, enum fiche_etat to);

/* The edge exists AND a caller with this role may ask for it (the perimeter,
 * R43, is checked apart by authz):
 * - the edges decided in comité (brouillon → en_maturation, every → abandonnee):
 *   collectivite_elu only (§5: "validate in comité");
 * - the others (programmee, commencement, achèvement, suspension, reprise):
 *   collectivite_agent and collectivite_elu (§5: they edit the fiches and
 *   "record commencement/achèvement");
 * - prefecture_instructeur, prefecture_region, financeur, anct_national,
 *   lecteur_national: nothing (§5: they read fiches, never edit collectivité
 *   work). Out-of-range arguments: false. */
bool fiche_transition_allowed(enum fiche_etat from, enum fiche_etat to, enum role role_of_caller);

/* `transitions_possibles`: writes into out (capacity cap) the states `to` for
 * which fiche_transition_allowed(from, to, role) holds, in enum order, and
 * returns how many there are (may exceed cap; out may be NULL when cap is 0).
 * FICHE_ETAT__COUNT always suffices. */
size_t fiche_transitions_possibles(enum fiche_etat from, enum role role_of_caller,
                                   enum fiche_etat *out, size_t cap);

/* ---- Inputs the db layer fills ----------------------------------------- */

/* R23: one comité de projet séance that examined the fiche (its
 * comite_seance_id, or the séance of a décision about the fiche). */
struct fiche_seance_examen {
    struct date date;
};

/* R24: which cost the financing plan's lines are expressed against. */
enum fiche_base_cout { FICHE_BASE_HT, FICHE_BASE_TTC };

/* §1.9 costs, in cents. cout_total_ttc is optional (has_cout_total_ttc). */
struct fiche_couts {
    int64_t cout_total_ht;
    bool has_cout_total_ttc;
    int64_t cout_total_ttc;
};

/* R24: the financing plan as summed by the db layer inside the writing
 * transaction: number of lines and Σ montant of all lines (autofinancement
 * included), on the given base. */
struct fiche_plan_financement {
    size_t ligne_count;
    int64_t somme_montants;
    enum fiche_base_cout base;
};

/* §1.9 planned dates (mandatory in the representation, optional here so that
 * a partial update can be checked). */
struct fiche_dates {
    bool has_date_debut_prevue;
    struct date date_debut_prevue;
    bool has_date_fin_prevue;
    struct date date_fin_prevue;
};

/* ---- Per-rule checks ---------------------------------------------------- */

/* §1.9 (no R-number): numero is mandatory ("numero-manquant": NULL or only
 * spaces) and unique in the plan ("numero-deja-utilise": deja_utilise, which
 * the db layer computes excluding the fiche itself). At /numero. */
size_t fiche_numero_check(const char *numero, bool deja_utilise, struct rule_report *violations);

/* §1.9 (no R-number): cout_total_ht ≥ 0 and, when given, cout_total_ttc ≥ 0
 * ("cout-negatif") and cout_total_ttc ≥ cout_total_ht ("cout-ttc-inferieur-ht":
 * VAT is never negative). NULL: 0. */
size_t fiche_couts_check(const struct fiche_couts *couts, struct rule_report *violations);

/* R21: the fiche's axe is an axe of the fiche's territoire (whose plan is
 * the one living plan of that territoire, §1.8). axe_id_pvd: the territoire
 * of the axe named by the fiche, NULL when no such axe exists ("axe-inconnu");
 * a different id_pvd than fiche_id_pvd gives "axe-autre-territoire". At
 * /axe_id. A NULL fiche_id_pvd never matches. */
size_t fiche_r21_check(const char *fiche_id_pvd, const char *axe_id_pvd,
                       struct rule_report *violations);

/* R22: the commune of location is a commune of the territoire; for an
 * intercommunal action (intercommunale: the caller's reading, e.g. the
 * maître d'ouvrage is the EPCI) a commune of the territoire's EPCIs is also
 * accepted. communes_territoire / communes_epci: INSEE codes (arrays may be
 * NULL when their count is 0; NULL entries never match). Codes:
 * "commune-hors-territoire-epci" when the commune is in an EPCI of the
 * territoire but the action is not intercommunal, "commune-hors-territoire"
 * otherwise. At /localisation_commune_insee. A NULL commune never matches. */
size_t fiche_r22_check(const char *commune_insee, const char *const *communes_territoire,
                       size_t communes_territoire_count, const char *const *communes_epci,
                       size_t communes_epci_count, bool intercommunale,
                       struct rule_report *violations);

/* R23: leaving brouillon needs a séance that examined the fiche dated on or
 * before date_transition. None at all: "examen-comite-manquant"; only later
 * séances: "examen-comite-posterieur". At /comite_seance_id. */
size_t fiche_r23_check(const struct fiche_seance_examen *seances, size_t seance_count,
                       struct date date_transition, struct rule_report *violations);

/* R24: becoming programmee needs ≥ 1 financing line ("plan-financement-vide")
 * and Σ lines = the cost on the plan's base ("plan-financement-desequilibre",
 * the message saying the gap in euros, at /plan_financement); a TTC-based plan
 * without cout_total_ttc gives "cout-ttc-manquant" at /cout_total_ttc_centimes. NULL
 * couts or plan: treated as zero costs / an empty plan. */
size_t fiche_r24_check(const struct fiche_couts *couts, const struct fiche_plan_financement *plan,
                       struct rule_report *violations);

/* R25: when both planned dates are given, date_debut_prevue ≤
 * date_fin_prevue ("dates-prevues-incoherentes" at /date_fin_prevue; the same
 * day is coherent). With require_both (becoming programmee: "dates set",
 * §2.3), a missing date also gives "date-prevue-manquante" (regle "") at its
 * pointer. NULL dates: nothing given. */
size_t fiche_r25_check(const struct fiche_dates *dates, bool require_both,
                       struct rule_report *violations);

/* R26: an action starts (enters en_cours) before the convention-cadre is
 * signed only once the convention d'adhésion is signed: with neither signed,
 * "convention-adhesion-non-signee" at /avant_convention_cadre. adhesion_signee:
 * the adhésion is signee or relayee; cadre_signee: the cadre is signee (en
 * vigueur). */
size_t fiche_r26_check(bool adhesion_signee, bool cadre_signee, struct rule_report *violations);

/* R28: entering suspendue or abandonnee needs a motif with a non-space
 * character ("motif-manquant" at /motif); entering abandonnee also needs a
 * comité décision (type abandonne_fiche about this fiche, in a séance dated on
 * or before the transition: the db layer's reading) ("decision-abandon-
 * manquante" at /decision_id). Any other target: nothing. */
size_t fiche_r28_check(enum fiche_etat to, const char *motif, bool has_decision_abandon,
                       struct rule_report *violations);

/* ---- The transition as a whole ------------------------------------------ */

struct fiche_transition_input {
    enum fiche_etat from, to;
    enum role role_of_caller;
    struct date date_transition; /* the day the transition is recorded */
    /* R23 (from brouillon) */
    const struct fiche_seance_examen *seances;
    size_t seance_count;
    /* R24, R25 (to programmee) */
    struct fiche_couts couts;
    struct fiche_plan_financement plan;
    struct fiche_dates dates;
    /* R27 hook (to programmee). r27_report: what the financing module's R27
     * check found (financement_r27_check into a report of its own, read in the
     * same transaction); its items are appended as they are (none: R27
     * holds). When r27_report is NULL, r27_echeancier_equilibre is the verdict:
     * false appends one "echeancier-desequilibre" (fail closed: a
     * zero-initialised input blocks). */
    const struct rule_report *r27_report;
    bool r27_echeancier_equilibre;
    /* R26 (to en_cours) */
    bool adhesion_signee, cadre_signee;
    /* en_cours (§2.3 "date_commencement recorded"), not after the transition */
    bool has_date_commencement;
    struct date date_commencement;
    /* realisee (§2.3 "completion recorded; indicators measured"): the
     * achèvement, not after the transition nor before the commencement (when
     * has_date_commencement), and how many of the fiche's indicateurs have no
     * mesure at all (0 when it has none). */
    bool has_date_achevement;
    struct date date_achevement;
    size_t indicateurs_sans_mesure;
    /* R28 (to suspendue, abandonnee) */
    const char *motif;
    bool has_decision_abandon;
};

/* Everything checked for one transition request, into violations:
 * - no such edge: only "transition-invalide"; an edge the role may not take:
 *   only "transition-interdite" (both at /vers; the HTTP layer answers 409 /
 *   403 and checks them first through fiche_transition_exists / _allowed);
 * - otherwise the rules of the target state, all of them reported:
 *   from brouillon: R23; to programmee: R24, R25 (both dates required), R27
 *   hook; to en_cours from programmee: R26 and date_commencement recorded and
 *   not after date_transition (a reprise from suspendue checks nothing more);
 *   to realisee: date_achevement recorded, not after date_transition nor
 *   before date_commencement, every indicateur measured; to suspendue /
 *   abandonnee: R28.
 * Returns the number of violations appended (0: the transition may be
 * written). NULL in: one "transition-invalide". */
size_t fiche_transition_check(const struct fiche_transition_input *in,
                              struct rule_report *violations);

#endif
