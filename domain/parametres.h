/* Programme parameters (issue #10 §1, domain.md R12–R16, R20, R30–R36, R39,
 * R41): the caps and rates of the chef de projet co-financing per financer
 * and year, the programme's dates, the legal delays of subsidy requests and
 * the dispositifs' yearly filing deadlines. None of these values is a
 * constant of the rules: the rules (chef_projet.h, demande.h) read them from
 * a struct parametres the caller passes in (the parameters in force on the
 * date of the decision, read from the database), and parametres_defaut only
 * fills a struct with the values domain.md gives, as the seed of the
 * database. Pure: no I/O, no clock, no allocation, thread-safe. Money is
 * int64_t cents; rates are fractions in ten-thousandths (7 500 = 0.7500 =
 * 75 %, the NUMERIC(7,4) of domain.md §0, written "0.7500" on the wire by
 * financement_taux_format); no floating point.
 *
 * The JSON representation (GET/PUT /api/v1/parametres) whose members the
 * pointers of parametres_check name:
 *   { "programme": { "date_lancement", "date_fin", "fin_cofinancement_cdp" },
 *     "chef_projet": [ { "annee_debut", "taux_max", "taux_premier_versement",
 *                        "plafond_annuel_centimes", "plafond_annuel_avec_anah_centimes",
 *                        "financeurs": { "anct_etat" | "bdt" | "anah":
 *                                        { "taux_max", "plafond_annuel_centimes" } } } ],
 *     "delais": { "rejet_implicite_mois", "caducite_annees",
 *                 "caducite_prolongation_annees", "forclusion_annees",
 *                 "forclusion_prolongation_annees", "seuil_commission_detr_centimes",
 *                 "avance_taux_max", "avance_taux_max_garantie" },
 *     "dates_limites_depot": [ { "dispositif", "annee", "code_departement",
 *                                "date_limite" } ] }
 * The required pieces of each dispositif (a per-dispositif, per-year
 * checklist of texts, §1.12) are strings the db layer stores; they are no
 * input of any rule and are not modelled here. */
#ifndef PVD_DOMAIN_PARAMETRES_H
#define PVD_DOMAIN_PARAMETRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "rules.h"

/* 100 % in ten-thousandths: the largest rate a parameter may hold. */
#define PARAMETRES_TAUX_UN INT64_C(10000)

/* ---- Dispositifs of a subsidy request (§1.12) --------------------------- */

/* Wire names as domain.md §1.12 spells them: "chef_de_projet_pvd", "DETR",
 * "DSIL", "fonds_vert_recyclage_foncier", "FNADT", "autre". */
enum subvention_dispositif {
    SUBVENTION_CHEF_DE_PROJET_PVD,
    SUBVENTION_DETR,
    SUBVENTION_DSIL,
    SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER,
    SUBVENTION_FNADT,
    SUBVENTION_AUTRE,
    SUBVENTION_DISPOSITIF__COUNT
};
/* The wire name; NULL when out of range. */
const char *subvention_dispositif_name(enum subvention_dispositif d);
/* Exact, case-sensitive; false (out untouched) on an unknown name or NULL. */
bool subvention_dispositif_parse(const char *name, enum subvention_dispositif *out);

/* ---- Chef de projet caps (R12–R16) ------------------------------------- */

/* The financers of a chef de projet post's year (§1.14 part_anct_etat,
 * part_bdt, part_anah). Wire names: "anct_etat", "bdt", "anah". */
enum cdp_financeur {
    CDP_FINANCEUR_ANCT_ETAT,
    CDP_FINANCEUR_BDT,
    CDP_FINANCEUR_ANAH,
    CDP_FINANCEUR__COUNT
};
const char *cdp_financeur_name(enum cdp_financeur f);
bool cdp_financeur_parse(const char *name, enum cdp_financeur *out);

/* One financer's caps: its share ≤ taux_max × the year's loaded cost and ≤
 * plafond_annuel (cents, for a full-time post over twelve months). */
struct parametres_plafond {
    int64_t taux_max;       /* ten-thousandths, 0..PARAMETRES_TAUX_UN */
    int64_t plafond_annuel; /* cents, 0..FINANCEMENT_MONTANT_MAX */
};

/* The caps in force from the calendar year annee_debut until the next row
 * (R16: "parameters per financer and year").
 * - R12: total ≤ taux_max × the year's loaded cost;
 * - R13: total ≤ plafond_annuel, or plafond_annuel_avec_anah when Anah
 *   co-finances;
 * - R19: taux_premier_versement;
 * - R14 (anah), R15 (bdt) and the État's own caps (anct_etat; domain.md gives
 *   none, see parametres_defaut): financeurs[f]. */
struct parametres_cdp {
    int annee_debut;
    int64_t taux_max;
    /* R19: the first payment of a year without Anah, in ten-thousandths of
     * the forecast annual subsidy (75 % [V:eure]) */
    int64_t taux_premier_versement;
    int64_t plafond_annuel;
    int64_t plafond_annuel_avec_anah;
    struct parametres_plafond financeurs[CDP_FINANCEUR__COUNT];
};

/* ---- Legal delays of subsidy requests (R30, R32, R34–R36) --------------- */

struct parametres_delais {
    int rejet_implicite_mois;           /* R30: 8 */
    int caducite_annees;                /* R34: 2 */
    int caducite_prolongation_annees;   /* R34: 1, on motivated request */
    int forclusion_annees;              /* R35: 4 */
    int forclusion_prolongation_annees; /* R35: 2, exceptionally */
    int64_t seuil_commission_detr;      /* R36: cents, 100 000 € */
    int64_t avance_taux_max;            /* R32: ten-thousandths, 30 % */
    int64_t avance_taux_max_garantie;   /* R32: 60 % with a bank guarantee */
};

/* ---- Filing deadlines (§1.12, R39) ------------------------------------- */

/* A dispositif's filing deadline for the programming year annee, published
 * by one préfecture (code_departement "63", "2A", "974") or for every
 * département (code_departement ""). */
struct parametres_date_limite {
    enum subvention_dispositif dispositif;
    int annee;
    char code_departement[4];
    struct date date_limite;
};

/* ---- The whole ----------------------------------------------------------- */

#define PARAMETRES_CDP_MAX           16
#define PARAMETRES_DATES_LIMITES_MAX 64

struct parametres {
    /* R41: programme dates; R20: last day of the chef de projet co-financing. */
    struct date date_lancement;
    struct date date_fin;
    struct date fin_cofinancement_cdp;
    /* rows by strictly increasing annee_debut */
    struct parametres_cdp chef_projet[PARAMETRES_CDP_MAX];
    size_t chef_projet_count;
    struct parametres_delais delais;
    struct parametres_date_limite dates_limites[PARAMETRES_DATES_LIMITES_MAX];
    size_t dates_limites_count;
};

/* Fills *p (NULL: nothing) with domain.md's values:
 * - date_lancement 2020-10-01 (R41, [V:senq2026]); date_fin 2026-03-31 (R41
 *   default, the planned end [V:sen-notice]); fin_cofinancement_cdp
 *   2026-12-31 (R20: official term 31 March 2026 [V:at-cdp], extended "a
 *   minima jusqu'au 31 décembre" 2026 by the ANCT [V:gironde]; the
 *   announced extension is taken, so that the 2026 funding year exists);
 * - one chef de projet row from 2020: total 75 % (R12 [G] [V:at-cdp]
 *   [V:eure]), 45 000 € / 55 000 € with Anah (R13 [V:at-cdp]); first payment 75 % (R19 [V:eure]);
 * Anah 50 % and 40 000 € (R14 [V:at-cdp]); Banque des Territoires 25 % and 15 000 € (R15, 2021
 * figures [V:bdt-cdp]); the État (ANCT/FNADT) share: no cap of its own found (domain.md §6 point
 * 4), so the total's, 75 % and 55 000 €, which never binds before R12/R13;
 * - delays: 8 months (R30, décret 2018-514 [V:d2018-7]); 2 years + 1 (R34
 *   [V:vaucluse-delais] [V:uamc]); 4 years + 2 (R35, same); 100 000 € (R36
 *   [V:detr-lot] [V:allier]); advances 30 %, 60 % with a bank guarantee (R32
 *   [V:demeure]);
 * - no filing deadline: those domain.md quotes are one préfecture's of one
 *   year (8 January 2021 Puy-de-Dôme, 15 February 2023 Allier, 25 April 2025
 *   Île-de-France for the Fonds vert), recorded by the préfectures. */
void parametres_defaut(struct parametres *p);

/* The caps in force for the calendar year annee: the row with the greatest
 * annee_debut ≤ annee; NULL when there is none (or p is NULL). Rows are read
 * in order (parametres_check guarantees they increase). */
const struct parametres_cdp *parametres_cdp_pour_annee(const struct parametres *p, int annee);

/* The filing deadline of dispositif for annee in département code: the
 * département's own row, else the row for every département (""); NULL when
 * none. code NULL reads as "". */
const struct parametres_date_limite *parametres_date_limite(const struct parametres *p,
                                                            enum subvention_dispositif d, int annee,
                                                            const char *code);

/* Validity of a parameters struct (the body of PUT /api/v1/parametres),
 * everything it finds, regle "R16" for the caps, "R41" for the programme
 * dates, "" otherwise:
 *   "R41" parametre-date-invalide        /programme/<member>  (not a calendar date)
 *   "R41" parametre-dates-incoherentes   /programme/date_fin or
 *                                        /programme/fin_cofinancement_cdp
 *                                        (before date_lancement)
 *   "R16" parametres-chef-projet-vides   /chef_projet  (no row, or more than the capacity)
 *   "R16" parametre-annee-invalide       /chef_projet/<i>/annee_debut (outside 1900..2999, or
 *                                        not after the previous row's)
 *   "R16" parametre-taux-invalide        /chef_projet/<i>/taux_max,
 *                                        /chef_projet/<i>/taux_premier_versement,
 *                                        /chef_projet/<i>/financeurs/<f>/taux_max
 *                                        (outside 0..PARAMETRES_TAUX_UN)
 *   "R16" parametre-montant-invalide     /chef_projet/<i>/plafond_annuel_centimes,
 *                                        …/plafond_annuel_avec_anah_centimes,
 *                                        …/financeurs/<f>/plafond_annuel_centimes
 *                                        (outside 0..FINANCEMENT_MONTANT_MAX)
 *   ""    parametre-delai-invalide       /delais/<member>: months 1..120, years 1..20,
 *                                        prolongations 0..20, threshold a valid amount,
 *                                        rates 0..100 %, the guaranteed rate ≥ the other
 *   ""    parametres-dates-limites-trop-nombreuses /dates_limites_depot
 *   ""    parametre-dispositif-invalide  /dates_limites_depot/<i>/dispositif
 *   ""    parametre-annee-invalide       /dates_limites_depot/<i>/annee
 *   ""    parametre-departement-invalide /dates_limites_depot/<i>/code_departement
 *                                        ("" or 2–3 characters [0-9AB])
 *   ""    parametre-date-invalide        /dates_limites_depot/<i>/date_limite
 *   ""    parametre-date-limite-repetee  /dates_limites_depot/<i> (same dispositif,
 *                                        année and département as an earlier row)
 * Returns the number appended (0: valid). NULL p: one parametres-chef-projet-vides. */
size_t parametres_check(const struct parametres *p, struct rule_report *violations);

#endif
