/* Poste de chef de projet PVD and its yearly funding (domain.md §1.14,
 * §2.5; rules R11–R20; issue #10 §2). Pure: no I/O, no clock, no
 * allocation, thread-safe. Money is int64_t cents, quotité and rates
 * ten-thousandths (10 000 = 1 = 100 %); no floating point. Every cap comes
 * from struct parametres (parametres.h), never from a constant here.
 *
 * Decisions where domain.md is silent or ambiguous:
 * - cout_charge_annuel is the post's loaded cost borne in that calendar
 *   year (§1.14 "base of the 75 %"): it already reflects the quotité and the
 *   months worked, so the percentage caps (R12, R14, R15 and the État's) apply
 *   to it as is. The yearly amounts (R13's 45 000 € / 55 000 €, R14's
 *   40 000 €, R15's 15 000 €, the État's) are for a full-time post over twelve
 *   months and are taken pro rata of the quotité and of the months worked
 *   (R12 "pro rata of quotité and months for partial years"):
 *   floor(plafond × quotité × mois / (10 000 × 12)).
 * - A month counts when the post is held at least one day of it
 *   (date_recrutement … date_fin_contrat, inclusive): recruited on 15 March,
 *   the year counts 10 months.
 * - R13's higher cap applies when Anah co-finances: avec_anah and an Anah
 *   share > 0; an Anah share without avec_anah is refused (R14
 *   "part-anah-sans-anah").
 * - R16 (who records a share): the collectivité (agent or élu) writes the
 *   shares asked while its request is a draft; the préfecture of the
 *   département records the État's share; a financeur its own share only
 *   (the db layer says which financer the caller's organisation is).
 * - R19: the row is one calendar year by construction; a year in which the
 *   post is held no day is refused ("annee-hors-poste"). The payment
 *   schedule pays the subsidy the caller gives (the État's share paid by
 *   arrêté préfectoral in [V:eure]).
 * - R20 is judged by year: a year after the year of fin_cofinancement_cdp is
 *   refused; a year before the programme's launch year too (R41).
 * - R11 points at /employeur_id (a member of the post); the row's other
 *   pointers are under pointeur_base.
 *
 * Stable codes (regle, code → pointer; <b> = pointeur_base):
 *   ""    employeur-invalide              /employeur_id (not commune, EPCI, PETR)
 *   ""    territoires-manquants           /territoires
 *   ""    quotite-invalide                /quotite
 *   ""    date-invalide                   /date_recrutement, /date_fin_contrat
 *   ""    dates-contrat-incoherentes      /date_fin_contrat
 *   ""    type-contrat-invalide           /type_contrat
 *   ""    montant-invalide                <b>/cout_charge_annuel_centimes, <b>/part_<f>_centimes
 *   "R11" convention-adhesion-non-signee  /employeur_id
 *   "R12" cofinancement-taux-depasse      <b>/total_cofinancement_centimes
 *   "R13" cofinancement-plafond-depasse   <b>/total_cofinancement_centimes
 *   "R14" part-anah-taux-depasse, part-anah-plafond-depasse, part-anah-sans-anah
 *                                         <b>/part_anah_centimes
 *   "R15" part-bdt-taux-depasse, part-bdt-plafond-depasse <b>/part_bdt_centimes
 *   "R16" part-anct_etat-taux-depasse, part-anct_etat-plafond-depasse
 *                                         <b>/part_anct_etat_centimes
 *   "R16" parametres-annee-absents        <b>/annee (no caps in force that year)
 *   "R16" part-financeur-interdite        <b>/part_<f>_centimes
 *   "R17" anah-sans-etude-ni-opah-ru      <b>/avec_anah
 *   "R18" demande-annee-deja-en-cours     <b>/annee
 *   "R19" annee-hors-poste                <b>/annee
 *   "R20" annee-apres-fin-cofinancement   <b>/annee
 *   "R41" annee-avant-programme           <b>/annee
 * (<f>: cdp_financeur_name: anct_etat, bdt, anah.) */
#ifndef PVD_DOMAIN_CHEF_PROJET_H
#define PVD_DOMAIN_CHEF_PROJET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "convention.h" /* enum organisation_kind */
#include "date.h"
#include "demande.h"
#include "parametres.h"
#include "rules.h"

/* ---- The post ------------------------------------------------------------ */

/* §1.14 type_contrat. Wire names: "titulaire", "contrat_de_projet", "cdd",
 * "autre". */
enum cdp_type_contrat {
    CDP_CONTRAT_TITULAIRE,
    CDP_CONTRAT_DE_PROJET,
    CDP_CONTRAT_CDD,
    CDP_CONTRAT_AUTRE,
    CDP_TYPE_CONTRAT__COUNT
};
const char *cdp_type_contrat_name(enum cdp_type_contrat t);
bool cdp_type_contrat_parse(const char *name, enum cdp_type_contrat *out);

struct chef_projet_poste {
    enum organisation_kind employeur_kind;
    size_t territoire_count;
    int64_t quotite; /* ten-thousandths, (0, 10 000] */
    struct date date_recrutement;
    bool has_date_fin_contrat;
    struct date date_fin_contrat;
    bool has_type_contrat;
    enum cdp_type_contrat type_contrat;
};

/* §1.14, everything found: the employer is a commune, an EPCI or a PETR;
 * ≥ 1 territoire; quotité in 1..10 000; calendar dates; the contract's end
 * not before the recruitment; a known contract type. NULL: nothing. */
size_t chef_projet_poste_check(const struct chef_projet_poste *poste,
                               struct rule_report *violations);

/* The months of calendar year annee in which the post is held at least one
 * day (0..12). NULL or invalid dates: 0. */
int chef_projet_mois(const struct chef_projet_poste *poste, int annee);

/* ---- Caps of a year (R12–R15) ------------------------------------------- */

struct chef_projet_plafonds {
    int mois;
    bool avec_anah;       /* Anah co-finances: avec_anah and an Anah share > 0 */
    int64_t total_taux;   /* R12: floor(taux_max × coût / 10 000) */
    int64_t total_annuel; /* R13: the year's amount pro rata */
    int64_t total;        /* min of the two */
    int64_t financeur_taux[CDP_FINANCEUR__COUNT];
    int64_t financeur_annuel[CDP_FINANCEUR__COUNT];
    int64_t financeur[CDP_FINANCEUR__COUNT];
};

/* floor(plafond × quotite × mois / (10 000 × 12)): a yearly amount pro rata
 * of the quotité and of the months. -1 when plafond is outside
 * 0..FINANCEMENT_MONTANT_MAX, quotite outside 0..10 000 or mois outside
 * 0..12. */
int64_t chef_projet_prorata(int64_t plafond, int64_t quotite, int mois);

/* The year's funding row (§1.14 financement_annuel). */
struct chef_projet_financement {
    int annee;
    int64_t cout_charge_annuel;
    bool avec_anah;
    int64_t parts[CDP_FINANCEUR__COUNT]; /* part_anct_etat, part_bdt, part_anah */
};

/* Computes the caps of the row under caps (NULL caps, poste or row, an
 * amount out of range: false, *out untouched). */
bool chef_projet_plafonds(const struct parametres_cdp *caps, const struct chef_projet_poste *poste,
                          const struct chef_projet_financement *row,
                          struct chef_projet_plafonds *out);

/* ---- The year's checks -------------------------------------------------- */

struct chef_projet_financement_input {
    const struct chef_projet_poste *poste;
    struct chef_projet_financement financement;
    const struct parametres *parametres; /* in force on the date of the decision */
    bool adhesion_signee;                /* R11: a territoire served, adhésion signee */
    /* R17: the collectivité engaged an Anah pre-operational study, or an
     * OPAH-RU ("OPAH complexe") */
    bool etude_pre_operationnelle_anah, opah_ru;
    /* R18: the states of the post's other requests for the same year (this
     * request excluded) */
    const enum demande_etat *autres_demandes;
    size_t autres_demandes_count;
    /* The row's pointer ("/financements/2"); NULL or "": its own representation. */
    const char *pointeur_base;
};

/* R11, R12–R15 (and the État's caps, R16), R17, R18, R19 (the year is held),
 * R20/R41, and the amounts, everything found. Each refusal of a cap names
 * the cap, the amount and the excess in euros. *plafonds (may be NULL) gets
 * the caps computed (zeroed when they could not be). NULL in, poste or
 * parametres: one "parametres-annee-absents". */
size_t chef_projet_financement_check(const struct chef_projet_financement_input *in,
                                     struct chef_projet_plafonds *plafonds,
                                     struct rule_report *violations);

/* ---- R16: who records a share ------------------------------------------- */

/* May a caller with this role record financer part's share?
 * collectivite_agent and collectivite_elu: every share while
 * !demande_deposee (the request is a brouillon); prefecture_instructeur: the
 * anct_etat share; financeur: its own share (has_financeur and
 * financeur_appelant == part); nobody else. Out-of-range: false. */
bool chef_projet_part_enregistrable(enum cdp_financeur part, enum role role, bool demande_deposee,
                                    bool has_financeur, enum cdp_financeur financeur_appelant);

/* R16 over the shares a request changes (modifiees[f]): one
 * "part-financeur-interdite" at <b>/part_<f>_centimes per share the caller
 * may not record. */
size_t chef_projet_r16_check(const bool modifiees[CDP_FINANCEUR__COUNT], enum role role,
                             bool demande_deposee, bool has_financeur,
                             enum cdp_financeur financeur_appelant, const char *pointeur_base,
                             struct rule_report *violations);

/* ---- R19: the payment schedule (derive) ---------------------------------- */

/* One planned payment. When montant_determine is false, montant is the
 * most it may be (paid on request for an amount not known in advance). */
struct chef_projet_versement_prevu {
    enum versement_type type;
    bool montant_determine;
    int64_t montant;
    bool sur_demande;
    struct date au_plus_tot;
    bool has_au_plus_tard;
    struct date au_plus_tard;
};

/* §2.5, R19 [V:eure], for the forecast subsidy of year annee:
 * - without Anah: an acompte of floor(taux_premier_versement × subvention /
 *   10 000) in Q2 (annee-04-01 … annee-06-30), by arrêté, then the solde
 *   (the rest) in Q4 (annee-10-01 … annee-12-31);
 * - with Anah: an acompte on request during the year (annee-01-01 …
 *   annee-12-31), then the solde on request after the year (from
 *   (annee+1)-01-01), both of amounts not determined, at most the subsidy.
 * Writes at most cap entries into out (may be NULL when cap is 0) and
 * returns how many there are (2), or 0 when caps is NULL, subvention outside
 * 0..FINANCEMENT_MONTANT_MAX, the rate outside 0..10 000 or annee outside
 * 1900..2998. */
size_t chef_projet_echeancier(const struct parametres_cdp *caps, int annee, bool avec_anah,
                              int64_t subvention, struct chef_projet_versement_prevu *out,
                              size_t cap);

#endif
