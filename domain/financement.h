/* Financing plan and calendar of a fiche action (domain.md §1.10, §1.11): the
 * statut machine of a financing line, the plan's balance (R24 reads it), the
 * yearly échéancier (R27), the maître d'ouvrage's minimum share (R29, art.
 * L1111-10 CGCT), the cap of State dotations (R33) and the annual maquette
 * financière of a territoire. Pure: no I/O, no clock, no allocation,
 * thread-safe. Money is int64_t cents end to end, every sum overflow-checked;
 * no floating point anywhere (a step of tests/run.sh greps this module).
 *
 * Checks append to a caller-owned struct rule_report (rules.h) and return the
 * number of violations appended (0 = the rule holds); NULL arrays with a
 * count > 0 count as empty. Pointers are into the fiche's representation:
 * /plan_financement, /plan_financement/<i>/montant_centimes, /echeancier,
 * /echeancier/<i>/..., /derogation_l1111_10/... */
#ifndef PVD_DOMAIN_FINANCEMENT_H
#define PVD_DOMAIN_FINANCEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convention.h" /* enum organisation_kind */
#include "rules.h"

/* Largest amount of one line, one year or one cost: 10^15 cents (10 000
 * milliards d'euros). Sums of such amounts are still overflow-checked. */
#define FINANCEMENT_MONTANT_MAX INT64_C(1000000000000000)

/* ---- Money formatting -------------------------------------------------- */

/* Writes cents as French euros into out (capacity cap, NUL-terminated,
 * truncated to fit like snprintf): groups of three digits separated by a
 * no-break space (U+00A0), a decimal comma, two decimals, a no-break space
 * and "€": 123456 → "1 234,56 €", -5 → "-0,05 €". Every int64_t value,
 * INT64_MIN included. Returns the length the full text has (in bytes, without
 * the NUL), as snprintf does; out may be NULL when cap is 0. Integer
 * arithmetic only. FINANCEMENT_EUROS_MAX (with the NUL) always suffices. */
#define FINANCEMENT_EUROS_MAX 48
size_t financement_euros_format(int64_t cents, char *out, size_t cap);

/* financement_euros_format into a value, for a message's arguments:
 * financement_euros(x).s lives until the end of the full expression. */
struct financement_euros {
    char s[FINANCEMENT_EUROS_MAX];
};
struct financement_euros financement_euros(int64_t cents);

/* ---- Lines: statut, dispositif ----------------------------------------- */

/* §1.10 statut. Wire names: "envisage", "sollicite", "accorde", "refuse",
 * "verse_partiel", "solde". */
enum financement_statut {
    FINANCEMENT_ENVISAGE,
    FINANCEMENT_SOLLICITE,
    FINANCEMENT_ACCORDE,
    FINANCEMENT_REFUSE,
    FINANCEMENT_VERSE_PARTIEL,
    FINANCEMENT_SOLDE,
    FINANCEMENT_STATUT__COUNT
};
/* The wire name; NULL when out of range. */
const char *financement_statut_name(enum financement_statut statut);
/* Exact, case-sensitive; false (out untouched) on an unknown name or NULL. */
bool financement_statut_parse(const char *name, enum financement_statut *out);

/* The edge exists in the statut machine (§1.10: envisagé → sollicité →
 * accordé/refusé → versé partiel → soldé):
 *   envisage → sollicite; sollicite → accorde | refuse;
 *   accorde → verse_partiel | solde (one payment of the whole);
 *   verse_partiel → solde.
 * refuse and solde are terminal (a new request is a new line); no edge goes
 * back, none stays in place. Out-of-range arguments: false. */
bool financement_statut_transition_exists(enum financement_statut from, enum financement_statut to);

/* The states `to` reachable from `from` in one edge, in enum order, written
 * into out (capacity cap); returns how many there are (may exceed cap; out
 * may be NULL when cap is 0). FINANCEMENT_STATUT__COUNT always suffices. */
size_t financement_statut_transitions_possibles(enum financement_statut from,
                                                enum financement_statut *out, size_t cap);

/* A line counts in the plan's balance (R24, financement_solde) and as
 * "financed" in the maquette when it is sollicité, accordé, versé partiel or
 * soldé: an envisaged line is not yet a financing, a refused one never is. */
bool financement_statut_compte(enum financement_statut statut);

/* §1.10 dispositif. Wire names as domain.md spells them: "DETR", "DSIL",
 * "FNADT", "fonds_vert_recyclage_foncier", "anah", "bdt", "region",
 * "departement", "feder", "leader", "autofinancement", "emprunt", "prive",
 * "autre", and the two other CGCT dotations R33 caps with DETR and DSIL:
 * "DPV" (dotation politique de la ville), "DSID" (dotation de soutien à
 * l'investissement des départements). */
enum financement_dispositif {
    DISPOSITIF_DETR,
    DISPOSITIF_DSIL,
    DISPOSITIF_FNADT,
    DISPOSITIF_FONDS_VERT_RECYCLAGE_FONCIER,
    DISPOSITIF_ANAH,
    DISPOSITIF_BDT,
    DISPOSITIF_REGION,
    DISPOSITIF_DEPARTEMENT,
    DISPOSITIF_FEDER,
    DISPOSITIF_LEADER,
    DISPOSITIF_AUTOFINANCEMENT,
    DISPOSITIF_EMPRUNT,
    DISPOSITIF_PRIVE,
    DISPOSITIF_AUTRE,
    DISPOSITIF_DPV,
    DISPOSITIF_DSID,
    FINANCEMENT_DISPOSITIF__COUNT
};
const char *financement_dispositif_name(enum financement_dispositif d);
bool financement_dispositif_parse(const char *name, enum financement_dispositif *out);

/* R33: the State dotations of the CGCT whose sum is capped: DETR, DSIL, DPV,
 * DSID (art. R2334-27). FNADT and the other State subsidies are not. */
bool financement_dispositif_est_dotation_etat(enum financement_dispositif d);

/* One line of a fiche's plan de financement as the rules read it.
 * financeur: the caller's index of the financeur organisation (the maquette
 * sums per financeur with it; other checks ignore it). public: nature_financeur
 * is "public". par_maitre_ouvrage: the financeur IS the fiche's maître
 * d'ouvrage (its autofinancement, its loans): its own share for R29, whatever
 * the dispositif. montant: cents, 0..FINANCEMENT_MONTANT_MAX. */
struct financement_ligne {
    size_t financeur;
    enum financement_dispositif dispositif;
    bool public;
    bool par_maitre_ouvrage;
    int64_t montant;
    enum financement_statut statut;
};

/* Each line's montant in 0..FINANCEMENT_MONTANT_MAX: "montant-invalide" (regle
 * "") at /plan_financement/<i>/montant_centimes. Returns the number appended. */
size_t financement_lignes_check(const struct financement_ligne *lignes, size_t count,
                                struct rule_report *violations);

/* ---- Rate of a line (§1.10 taux, derived) ------------------------------ */

/* A line's taux on its assiette_ht as a fraction in ten-thousandths (the
 * NUMERIC(7,4) of domain.md §0: 4 000 = 0.4000 = 40 %), rounded half up:
 * floor((montant × 10 000 × 2 + assiette) / (2 × assiette)). False (*out
 * untouched) when montant or assiette_ht is outside
 * 0..FINANCEMENT_MONTANT_MAX, assiette_ht is 0, or the rate exceeds
 * FINANCEMENT_TAUX_MAX (999.9999); out may be NULL. */
#define FINANCEMENT_TAUX_MAX INT64_C(9999999)
bool financement_taux(int64_t montant, int64_t assiette_ht, int64_t *out);

/* Writes a rate of financement_taux as the decimal string api.md exchanges,
 * four decimals: 4000 → "0.4000", 12345 → "1.2345", 0 → "0.0000"; truncated
 * to fit and NUL-terminated like snprintf, whose return it mimics. A value
 * outside 0..FINANCEMENT_TAUX_MAX writes "" and returns 0. */
size_t financement_taux_format(int64_t dix_millemes, char *out, size_t cap);

/* ---- Balance (R24 reads it) -------------------------------------------- */

/* *solde = cout_total − Σ montant of the lines that count
 * (financement_statut_compte): 0 when the plan is balanced, > 0 what remains to
 * finance, < 0 an over-financing. cout_total and the lines on the same HT/TTC
 * basis (the caller's choice, R24). False (*solde untouched) when an amount is
 * negative or a sum overflows; solde may be NULL. */
bool financement_solde(const struct financement_ligne *lignes, size_t count, int64_t cout_total,
                       int64_t *solde);

/* ---- R27: yearly échéancier -------------------------------------------- */

/* One year of a fiche's échéancier: the part of its HT cost planned that
 * calendar year (fiche_echeancier(fiche_id, annee, montant)). */
struct financement_annee {
    int annee;
    int64_t montant;
};

/* R27 (block at programmee), everything it finds:
 * - "echeancier-montant-invalide" at /echeancier/<i>/montant_centimes: montant outside
 *   0..FINANCEMENT_MONTANT_MAX;
 * - "echeancier-annee-repetee" at /echeancier/<i>/annee: the year of an
 *   earlier entry again;
 * - "echeancier-desequilibre" at /echeancier: Σ montant ≠ cout_total_ht
 *   (an empty échéancier sums to 0), the message giving both sums and the gap
 *   in euros.
 * All with regle "R27". Returns the number appended. */
size_t financement_r27_check(const struct financement_annee *echeancier, size_t count,
                             int64_t cout_total_ht, struct rule_report *violations);

/* ---- R29: participation minimale du maître d'ouvrage ------------------- */

/* The exceptions of art. L1111-10 CGCT a derogation records (domain.md R29),
 * with its type and the reference of the préfet's decision or of the act that
 * founds it. Wire names: "renouvellement_urbain" (a: art. 9 loi 2003-710),
 * "monument_protege" (b), "calamite_publique" (c), "cooperation_europeenne"
 * (f: FEDER European territorial cooperation), "patrimoine_non_protege" (g:
 * préfet's derogation since loi 2019-1461 art. 82), "corse" (e: the 10 %
 * floor of Corsica, a lower threshold, not an exemption). The overseas
 * collectivités (d) need no derogation: the code decides. */
enum financement_derogation_type {
    DEROGATION_RENOUVELLEMENT_URBAIN,
    DEROGATION_MONUMENT_PROTEGE,
    DEROGATION_CALAMITE_PUBLIQUE,
    DEROGATION_COOPERATION_EUROPEENNE,
    DEROGATION_PATRIMOINE_NON_PROTEGE,
    DEROGATION_CORSE,
    FINANCEMENT_DEROGATION__COUNT
};
const char *financement_derogation_name(enum financement_derogation_type t);
bool financement_derogation_parse(const char *name, enum financement_derogation_type *out);

/* Threshold of R29 in percent of all public financing: 20, or 10 for Corsica. */
#define FINANCEMENT_R29_SEUIL       20
#define FINANCEMENT_R29_SEUIL_CORSE 10

/* (d): a code of Guadeloupe (971), Martinique (972), Guyane (973), La Réunion
 * (974), Saint-Pierre-et-Miquelon (975), Mayotte (976), Saint-Barthélemy (977)
 * or Saint-Martin (978): a 3-character département/COM code, or a 5-character
 * INSEE commune code starting with one of them. NULL or anything else: false. */
bool financement_r29_outre_mer(const char *code);
/* Corsica: "2A", "2B", or a 5-character INSEE commune code starting with
 * them. NULL or anything else: false. */
bool financement_r29_corse(const char *code);

struct financement_r29_input {
    enum organisation_kind maitre_ouvrage_kind;
    /* The maître d'ouvrage's département or COM code ("971", "2A", "69") or
     * its commune's INSEE code; NULL or "" = metropolitan, not Corsica. */
    const char *code_territorial;
    /* The fiche's nature_depense is investissement or acquisition (both
     * dépenses d'investissement); R29 does not apply to the others. */
    bool investissement;
    const struct financement_ligne *lignes;
    size_t ligne_count;
    bool has_derogation;
    enum financement_derogation_type derogation;
    const char *derogation_reference; /* the recorded reference; NULL or "" = none */
};

/* What R29 computed (all cents), for the answer and the tests. */
struct financement_r29_result {
    bool applicable;              /* an investment of a collectivité or groupement, not overseas */
    bool exempte;                 /* a valid derogation other than corse lifts the rule */
    int seuil_pourcent;           /* 20, or 10 with a corse derogation */
    int64_t part_propre;          /* Σ lines of the maître d'ouvrage (not refusé) */
    int64_t autres_publics;       /* Σ other public lines (not refusé) */
    int64_t part_propre_minimale; /* smallest own share meeting the threshold */
    int64_t manque;               /* max(0, part_propre_minimale − part_propre) */
};

/* R29 (art. L1111-10 CGCT): when the maître d'ouvrage is a collectivité or a
 * groupement (organisation_kind_is_collectivite), the operation an investment
 * and the code not overseas (financement_r29_outre_mer), its own share (lines
 * par_maitre_ouvrage) is at least seuil % of all public financing, itself
 * included: own × (100 − seuil) ≥ seuil × other_public, where other_public is
 * the Σ of the public lines of other financeurs; private lines are outside
 * the base and refused lines count for nothing (envisaged ones count: the
 * plan is judged as planned). The minimum own share is
 * ceil(seuil × other_public / (100 − seuil)) cents (other_public / 4 rounded
 * up for 20 %). A derogation without a reference does not count. Appends:
 * - "part-propre-insuffisante" (R29) at /plan_financement, the message saying
 *   the shortfall in euros ("il manque 6 250,00 € de part propre…");
 * - "derogation-reference-manquante" (R29) at /derogation_l1111_10/reference;
 * - "derogation-corse-hors-corse" (R29) at /derogation_l1111_10/type: a corse
 *   derogation for a maître d'ouvrage outside Corsica (financement_r29_corse);
 * - "plan-financement-hors-limites" (regle "") at /plan_financement: an
 *   amount outside 0..FINANCEMENT_MONTANT_MAX or a sum that overflows (result
 *   then partial).
 * result may be NULL. Returns the number appended. */
size_t financement_r29_check(const struct financement_r29_input *in,
                             struct financement_r29_result *result, struct rule_report *violations);

/* ---- R33: cap of the State dotations ----------------------------------- */

#define FINANCEMENT_R33_PLAFOND       80
#define FINANCEMENT_R33_PLANCHER_DETR 20

/* R33: Σ of the DETR, DSIL, DPV and DSID lines (financement_dispositif_est_
 * dotation_etat) not refusé ≤ 80 % of depense_subventionnable_ht (the fiche's
 * depense_subventionnable_ht, or its cout_total_ht when it has none: the
 * caller's choice), compared exactly: 100 × Σ ≤ 80 × dépense. Appends
 * "dotations-etat-plafond-depasse" (R33) at /plan_financement with the cap
 * and the excess in euros, or "plan-financement-hors-limites" (regle "") on
 * an amount out of range or an overflow. *excedent (may be NULL) gets
 * max(0, Σ − floor(80 × dépense / 100)).
 * And the DETR floor of the same article: each DETR line not refusé is at
 * least 20 % of the dépense (100 × montant ≥ 20 × dépense), unless it fills
 * the room the other dotations leave under the cap (montant ≥ cap − the
 * others: the floor gives way to the cap): "detr-inferieure-plancher" (R33)
 * at /plan_financement/<i>/montant_centimes. Returns the number appended. */
size_t financement_r33_check(const struct financement_ligne *lignes, size_t count,
                             int64_t depense_subventionnable_ht, int64_t *excedent,
                             struct rule_report *violations);

/* ---- Maquette financière annuelle (§1.11) ------------------------------ */

/* One fiche of the territoire's plan as the maquette reads it. axe: the
 * caller's index of its axe (< maquette_input.axe_count); lines' financeur
 * indexes are < maquette_input.financeur_count. */
struct maquette_fiche {
    size_t axe;
    const struct financement_ligne *lignes;
    size_t ligne_count;
    const struct financement_annee *echeancier;
    size_t echeancier_count;
};

struct maquette_input {
    int annee;
    const struct maquette_fiche *fiches;
    size_t fiche_count;
    size_t axe_count;
    size_t financeur_count;
};

/* The amounts of one row of the maquette for the year, in cents.
 * prevu: the échéancier's montant of that year (montant_prevu_annee);
 * par_statut: the year's share of the lines, by statut; finance: Σ of the
 * statuts that count (financement_statut_compte); reste_a_financer: prevu −
 * finance (negative when over-financed). */
struct maquette_montants {
    int64_t prevu;
    int64_t par_statut[FINANCEMENT_STATUT__COUNT];
    int64_t finance;
    int64_t reste_a_financer;
};

/* Caller-allocated outputs, each of the size given (NULL allowed when that
 * size is 0). */
struct maquette_output {
    struct maquette_montants *fiches; /* fiche_count, in input order */
    struct maquette_montants *axes;   /* axe_count */
    /* Σ over fiches of their lines' count, in fiche then line order: each
     * line's share of the year (financement_par_financeur of a fiche). */
    int64_t *lignes;
    size_t ligne_capacity;
    /* financeur_count × FINANCEMENT_STATUT__COUNT, row f at
     * [f * FINANCEMENT_STATUT__COUNT]: the year's total per financeur. */
    int64_t *financeurs;
    struct maquette_montants total;
};

enum maquette_erreur {
    MAQUETTE_OK,
    MAQUETTE_ARGUMENT_INVALIDE, /* NULL input/output, or ligne_capacity too small */
    MAQUETTE_INDEX_INVALIDE,    /* an axe or financeur index out of range */
    MAQUETTE_MONTANT_INVALIDE,  /* an amount outside 0..FINANCEMENT_MONTANT_MAX */
    MAQUETTE_DEBORDEMENT,       /* a sum overflows int64_t */
};

/* Computes the maquette of year in->annee. A line's share of a year is its
 * montant pro rata of the fiche's échéancier, cumulatively rounded down:
 * with the years sorted, E_<y = Σ échéancier before y, E_≤y = through y and
 * E = Σ échéancier, share(y) = floor(montant × E_≤y / E) − floor(montant ×
 * E_<y / E). So the shares of a line over the échéancier's years add up to the
 * line's montant exactly, and a fiche without échéancier (E = 0) has no share
 * in any year. Several entries of one year count together. Rows: per fiche,
 * per axe (Σ of its fiches), per financeur and statut, and the total (Σ of
 * all fiches = Σ of the échéanciers for that year). Every output is zeroed
 * first; on an error the outputs are unspecified. */
enum maquette_erreur maquette_calculer(const struct maquette_input *in,
                                       struct maquette_output *out);

#endif
