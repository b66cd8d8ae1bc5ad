/* Demandes de subvention (domain.md §1.12, §2.4; rules R30–R38; issue #10
 * §3): the state machine aligned on Démarches simplifiées, who takes each
 * edge, the date-driven states (R30 rejet implicite, R34 caducité, R35
 * forclusion) as one pure function of the dates and today, the checks of a
 * transition, of the dates and of the versements. Pure: no I/O, no clock
 * (today is passed in), no allocation, thread-safe. Money is int64_t cents,
 * rates ten-thousandths (parametres.h); no floating point. Delays, caps and
 * thresholds come from struct parametres_delais (parametres.h), never from
 * constants here.
 *
 * Decisions where domain.md is silent or ambiguous:
 * - R30 applies to FNADT and fonds_vert_recyclage_foncier only: domain.md
 *   says it covers State investment subsidies under décret 2018-514, not the
 *   chef de projet post (an operating subsidy) and not the CGCT dotations
 *   DETR/DSIL, nor "autre" (no State subsidy). The 8 months run from
 *   date_accuse_reception, or from date_depot when no acknowledgement is
 *   recorded (Démarches simplifiées acknowledges at transmission); they are
 *   extended by the months of a motivated decision (prorogation_mois). A
 *   request still depose or en_instruction (no decision) the day after the
 *   last day of the delay is rejet_implicite; depose counts too (a dossier
 *   never taken into instruction was still not decided).
 * - R34 applies to DETR and DSIL, R35 to DETR only, as domain.md words them.
 *   A commencement recorded after the caducité's last day does not save the
 *   subsidy; an achèvement declared after the forclusion's last day neither.
 * - "Within N months/years of D": the last day in time is D + N calendar
 *   months (date_add_months: 2023-06-30 + 8 months = 2024-02-29, 2024-02-29
 *   + 2 years = 2026-02-28); the state changes the next day.
 * - Terminal (R18, chef_projet.h): refusee, classee_sans_suite,
 *   rejet_implicite, caduque, soldee, forclose. refusee and
 *   classee_sans_suite may still be reopened by their instructor (DS
 *   "repasser en instruction"); the db layer reruns R18 on such a reopening.
 * - Who instructs and decides (demande_instructeur): DSIL the préfecture de
 *   région (R38); "autre" the financer of the dossier (R16: a financer
 *   records its own decision and payments); every other dispositif the
 *   préfecture of the département. The instructor also notifies and records
 *   the balance (soldee). The collectivité's élu deposits; agent or élu
 *   records the commencement (notifiee → engagee, §5). Nobody takes the
 *   date-driven edges: only the system sweep does (demande_etat_effectif).
 * - R36 blocks the decision edges accordee (amount: montant_accorde) and
 *   refusee (amount: montant_sollicite) of a DETR request strictly above the
 *   threshold; classement sans suite is no decision on the merits.
 * - R32 (State subsidies: every dispositif but "autre"): total public aid =
 *   Σ public lines of the plan not refused and not the maître d'ouvrage's
 *   own (its autofinancement is no aid) ≤ 100 % of the forecast subsidisable
 *   expense; Σ advances ≤ 30 % (60 % with a bank guarantee) of the amount
 *   granted. The chef de projet post's first payment (75 %, R19) is an
 *   acompte, not an advance.
 * - Versements: none before the notification (only a notified decision is
 *   a financing agreement); for an investment (every dispositif but
 *   chef_de_projet_pvd) acomptes and the solde not before the commencement
 *   and the solde not before the declared achèvement; at most one solde and
 *   nothing after it; Σ ≤ montant_accorde; no payment after the forclusion
 *   (R35).
 *
 * Stable codes (regle, code → JSON pointer into the request's
 * representation; /vers is a member of the transitions body):
 *   ""    transition-invalide             /vers (409)
 *   ""    transition-interdite            /vers (403)
 *   ""    fiche-manquante                 /fiche_id
 *   ""    montant-invalide                /montant_sollicite_centimes, /montant_accorde_centimes,
 *                                         /depense_subventionnable_ht_centimes
 *   ""    date-manquante                  /date_<…>
 *   ""    date-future                     /date_<…>
 *   ""    dates-incoherentes              /date_<…> (before the date it follows)
 *   ""    mention-decision-manquante      /decision/mentions/<mention>
 *   ""    motif-refus-manquant            /motif_refus
 *   ""    solde-non-verse                 /versements
 *   ""    versement-montant-invalide      /versements/<i>/montant_centimes
 *   ""    versement-type-invalide         /versements/<i>/type
 *   ""    versement-date-future           /versements/<i>/date
 *   ""    versement-avant-notification    /versements/<i>/date
 *   ""    versement-avant-commencement    /versements/<i>/date
 *   ""    solde-avant-achevement          /versements/<i>/date
 *   ""    solde-repete                    /versements/<i>/type
 *   ""    versement-apres-solde           /versements/<i>/date
 *   ""    versements-depassent-montant-accorde /versements
 *   "R31" commencement-avant-depot        /date_commencement_execution
 *   "R32" aides-publiques-plafond-depasse /plan_financement
 *   ""    plan-financement-hors-limites   /plan_financement (an amount out of range)
 *   "R32" avance-plafond-depassee         /versements
 *   "R33" (financement_r33_check's codes) /plan_financement…
 *   "R35" versement-apres-forclusion      /versements/<i>/date
 *   "R36" avis-commission-elus-manquant   /avis_commission_elus
 *   "R37" detr-… (warnings, see demande_r37_check) /demandeur_id
 *   "R39"/"" depot-apres-date-limite (warning) /date_depot */
#ifndef PVD_DOMAIN_DEMANDE_H
#define PVD_DOMAIN_DEMANDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "convention.h" /* enum organisation_kind */
#include "date.h"
#include "financement.h"
#include "parametres.h"
#include "rules.h"

#define DEMANDE_PTR_VERS          "/vers"
#define DEMANDE_PTR_FICHE         "/fiche_id"
#define DEMANDE_PTR_DEMANDEUR     "/demandeur_id"
#define DEMANDE_PTR_DEPENSE       "/depense_subventionnable_ht_centimes"
#define DEMANDE_PTR_SOLLICITE     "/montant_sollicite_centimes"
#define DEMANDE_PTR_ACCORDE       "/montant_accorde_centimes"
#define DEMANDE_PTR_MOTIF_REFUS   "/motif_refus"
#define DEMANDE_PTR_AVIS          "/avis_commission_elus"
#define DEMANDE_PTR_PLAN          "/plan_financement"
#define DEMANDE_PTR_VERSEMENTS    "/versements"
#define DEMANDE_PTR_DATE_DEPOT    "/date_depot"
#define DEMANDE_PTR_DATE_COMMENCE "/date_commencement_execution"

/* ---- States (§2.4) ------------------------------------------------------ */

/* Wire names: "brouillon", "depose", "en_instruction", "accordee",
 * "refusee", "classee_sans_suite", "rejet_implicite", "notifiee", "engagee",
 * "caduque", "soldee", "forclose". */
enum demande_etat {
    DEMANDE_BROUILLON,
    DEMANDE_DEPOSE,
    DEMANDE_EN_INSTRUCTION,
    DEMANDE_ACCORDEE,
    DEMANDE_REFUSEE,
    DEMANDE_CLASSEE_SANS_SUITE,
    DEMANDE_REJET_IMPLICITE,
    DEMANDE_NOTIFIEE,
    DEMANDE_ENGAGEE,
    DEMANDE_CADUQUE,
    DEMANDE_SOLDEE,
    DEMANDE_FORCLOSE,
    DEMANDE_ETAT__COUNT
};
const char *demande_etat_name(enum demande_etat e);
bool demande_etat_parse(const char *name, enum demande_etat *out);

/* The Démarches simplifiées state names (§2.4 [A:ds]): "brouillon",
 * "en_construction" (depose), "en_instruction", "accepte" (accordee),
 * "refuse" (refusee), "sans_suite" (classee_sans_suite). False (out
 * untouched) on anything else. */
bool demande_etat_from_ds(const char *ds_state, enum demande_etat *out);

/* refusee, classee_sans_suite, rejet_implicite, caduque, soldee, forclose. */
bool demande_etat_terminal(enum demande_etat e);

/* ---- State machine ------------------------------------------------------ */

/* The edge exists (§2.4):
 *   brouillon → depose; depose → en_instruction; en_instruction → depose;
 *   en_instruction → accordee | refusee | classee_sans_suite;
 *   accordee | refusee | classee_sans_suite → en_instruction (reopen);
 *   accordee → notifiee; notifiee → engagee; engagee → soldee;
 *   date-driven (demande_transition_systeme): depose | en_instruction →
 *   rejet_implicite, notifiee → caduque, engagee → forclose.
 * Out-of-range arguments: false. */
bool demande_transition_exists(enum demande_etat from, enum demande_etat to);

/* The edge is one of the date-driven ones, taken by the system only. */
bool demande_transition_systeme(enum demande_etat from, enum demande_etat to);

/* The role that instructs, decides, notifies and records the balance of a
 * dispositif's requests: prefecture_region for DSIL (R38), financeur for
 * "autre", prefecture_instructeur otherwise (out of range too). */
enum role demande_instructeur(enum subvention_dispositif d);

/* The edge exists, is not date-driven, and the caller may take it (its
 * perimeter, R43, is checked apart):
 * - brouillon → depose: collectivite_elu;
 * - notifiee → engagee: collectivite_agent, collectivite_elu;
 * - every other edge: demande_instructeur(d); for a financeur also
 *   financeur_du_dossier (it is the financer the request is addressed to:
 *   R16, its own decision and payments).
 * Out-of-range arguments: false. */
bool demande_transition_allowed(enum demande_etat from, enum demande_etat to,
                                enum subvention_dispositif d, enum role role_of_caller,
                                bool financeur_du_dossier);

/* `transitions_possibles`: the states `to` for which
 * demande_transition_allowed holds, in enum order, into out (capacity cap;
 * may be NULL when cap is 0); returns how many there are.
 * DEMANDE_ETAT__COUNT always suffices. */
size_t demande_transitions_possibles(enum demande_etat from, enum subvention_dispositif d,
                                     enum role role_of_caller, bool financeur_du_dossier,
                                     enum demande_etat *out, size_t cap);

/* ---- Dates -------------------------------------------------------------- */

struct demande_date {
    bool has;
    struct date date;
};

/* §1.12 dates, as merged (stored values with the request's changes). */
struct demande_dates {
    struct demande_date depot, accuse_reception, dossier_complet, commencement_execution, decision,
        notification, achevement_declaree;
};

/* Coherence of the dates, everything found: each given date a calendar date
 * and not after today ("date-future"); accuse_reception, dossier_complet,
 * decision not before depot, notification not before decision, achèvement
 * not before commencement ("dates-incoherentes" at the later date's
 * pointer); R31 (demande_r31_check). NULL dates: nothing. */
size_t demande_dates_check(const struct demande_dates *dates, struct date today,
                           struct rule_report *violations);

/* R31: execution may start from the request's transmission, never before:
 * commencement_execution < depot (both given) → "commencement-avant-depot"
 * at /date_commencement_execution. The same day is allowed. */
size_t demande_r31_check(const struct demande_dates *dates, struct rule_report *violations);

/* ---- Date-driven states (R30, R34, R35) --------------------------------- */

struct demande_echeance_input {
    enum demande_etat etat; /* as stored */
    enum subvention_dispositif dispositif;
    struct demande_dates dates;
    int prorogation_mois;         /* R30: months of a motivated extension (≥ 0) */
    bool prolongation_caducite;   /* R34: the one-year extension was granted */
    bool prolongation_forclusion; /* R35: the two-year extension was granted */
};

/* The next date-driven change: from the day after `dernier_jour`, the
 * request becomes `vers`. */
struct demande_echeance {
    bool has;
    enum demande_etat vers;
    struct date dernier_jour;
};

/* The state to show on every read and the sweep's: the stored state, or
 * - rejet_implicite (R30: FNADT, fonds vert) when stored depose or
 *   en_instruction and today > start + rejet_implicite_mois +
 *   prorogation_mois months, start = accuse_reception, else depot (none:
 *   no deadline);
 * - caduque (R34: DETR, DSIL) when stored notifiee and today > notification
 *   + caducite_annees (+ caducite_prolongation_annees when granted) years,
 *   unless the commencement is recorded on or before that last day;
 * - forclose (R35: DETR) when stored engagee and today > commencement +
 *   forclusion_annees (+ forclusion_prolongation_annees) years, unless the
 *   achèvement is declared on or before that last day.
 * *echeance (may be NULL) gets the deadline that applies (has = false when
 * none: no rule for the dispositif, the state, or a missing start date, or
 * the event that stops the clock is recorded in time), even when passed. A
 * negative prorogation counts as 0. NULL in or delais: DEMANDE_ETAT__COUNT. */
enum demande_etat demande_etat_effectif(const struct demande_echeance_input *in,
                                        const struct parametres_delais *delais, struct date today,
                                        struct demande_echeance *echeance);

/* ---- Amounts: R32, R33, R36 --------------------------------------------- */

/* R32 (State subsidies: every dispositif but autre): Σ montant of the lines
 * public, not par_maitre_ouvrage and not refusé ≤ depense_subventionnable_ht:
 * "aides-publiques-plafond-depasse" at /plan_financement naming the cap, the
 * total and the excess in euros; "plan-financement-hors-limites" (regle "")
 * when an amount is out of range or a sum overflows. */
size_t demande_r32_aides_check(enum subvention_dispositif d, const struct financement_ligne *lignes,
                               size_t count, int64_t depense_subventionnable_ht,
                               struct rule_report *violations);

/* R33 for a DETR or DSIL request: financement_r33_check on the plan (its
 * codes and pointers); nothing for the other dispositifs. R33's derived
 * final amount (rate × the real HT expense, capped at the forecast one) has
 * no rule here: no request records a real expense (domain.md §1.12). */
size_t demande_r33_check(enum subvention_dispositif d, const struct financement_ligne *lignes,
                         size_t count, int64_t depense_subventionnable_ht,
                         struct rule_report *violations);

/* R36: a DETR subsidy strictly above delais->seuil_commission_detr needs
 * the commission des élus' opinion: "avis-commission-elus-manquant" at
 * /avis_commission_elus when !avis_recorded. Other dispositifs: nothing. */
size_t demande_r36_check(enum subvention_dispositif d, int64_t montant, bool avis_recorded,
                         const struct parametres_delais *delais, struct rule_report *violations);

/* ---- R37: DETR eligibility (warnings) ----------------------------------- */

struct demande_r37_input {
    enum organisation_kind demandeur_kind;
    int64_t population; /* DGF population of the commune or EPCI */
    /* communes of 2 001–20 000 inhabitants: potentiel financier per
     * inhabitant and the average of its category (cents), when known */
    bool has_potentiel_financier;
    int64_t potentiel_financier, potentiel_financier_moyen_strate;
    /* EPCI: its largest commune's population and its area in hectares */
    int64_t plus_grande_commune_population;
    int64_t superficie_hectares;
    /* R38: a maître d'ouvrage named in a contract signed with the State */
    bool nomme_contrat_etat;
};

/* R37 (warn; the referential has no potentiel financier), regle "R37" at
 * /demandeur_id, for a DETR request only (d ≠ DETR or NULL in: nothing):
 * - commune ≤ 2 000 inhabitants: eligible;
 * - commune 2 001–20 000: "detr-potentiel-financier-a-verifier" when
 *   unknown, "detr-potentiel-financier-eleve" when potentiel financier ≥ 1.3
 *   × the category average (10 × pf ≥ 13 × average);
 * - commune > 20 000: "detr-commune-trop-peuplee";
 * - EPCI: "detr-epci-non-eligible" when population > 75 000 and a commune
 *   > 20 000 and density ≥ 150 inh./km² (100 × population ≥ 150 ×
 *   superficie_hectares; an unknown area, 0, counts as dense);
 * - any other kind: "detr-demandeur-non-eligible" unless nomme_contrat_etat.
 * Returns the number appended. */
size_t demande_r37_check(enum subvention_dispositif d, const struct demande_r37_input *in,
                         struct rule_report *warnings);

/* Filing deadline (§1.12, R39 for the Fonds vert; warn): a date_depot after
 * the deadline parametres_date_limite gives for (d, annee, département)
 * appends "depot-apres-date-limite" at /date_depot (regle "R39" for
 * fonds_vert_recyclage_foncier, "" otherwise). No deadline: nothing. */
size_t demande_date_limite_check(const struct parametres *p, enum subvention_dispositif d,
                                 int annee, const char *code_departement, struct date date_depot,
                                 struct rule_report *warnings);

/* ---- Versements --------------------------------------------------------- */

/* Wire names: "avance", "acompte", "solde". */
enum versement_type { VERSEMENT_AVANCE, VERSEMENT_ACOMPTE, VERSEMENT_SOLDE, VERSEMENT_TYPE__COUNT };
const char *versement_type_name(enum versement_type t);
bool versement_type_parse(const char *name, enum versement_type *out);

struct demande_versement {
    struct date date;
    enum versement_type type;
    int64_t montant;
};

struct demande_versements_input {
    enum subvention_dispositif dispositif;
    int64_t montant_accorde;
    bool garantie_bancaire; /* R32: the advance may reach 60 % */
    struct demande_dates dates;
    bool prolongation_forclusion; /* R35 */
    const struct demande_versement *versements;
    size_t count;
};

/* The versements of a request as they would be stored (all of them, any
 * order), everything found (codes in the header comment): amounts
 * 1..FINANCEMENT_MONTANT_MAX, dates not after today, none before the
 * notification, acomptes and solde of an investment not before the
 * commencement, its solde not before the achèvement, one solde and nothing
 * dated after it, Σ ≤ montant_accorde (the message names the amount granted,
 * the total and the excess in euros), R32 Σ advances ≤ avance_taux_max (or
 * avance_taux_max_garantie) × montant_accorde rounded down (not for autre),
 * R35 no payment after the forclusion's last day (DETR). NULL in or delais:
 * one "versements-depassent-montant-accorde". */
size_t demande_versements_check(const struct demande_versements_input *in,
                                const struct parametres_delais *delais, struct date today,
                                struct rule_report *violations);

/* ---- The transition as a whole ------------------------------------------ */

/* The five mentions of a décision attributive (§1.12 [V:d2018-8]). Wire
 * names (members of /decision/mentions): "beneficiaires", "objet"
 * (project, characteristics, nature and amount of the subsidisable expense),
 * "montant_maximum" (maximum subsidy and its computation), "calendrier"
 * (incl. forecast completion date), "modalites_versement" (payment and
 * repayment terms). */
enum demande_mention {
    MENTION_BENEFICIAIRES,
    MENTION_OBJET,
    MENTION_MONTANT_MAXIMUM,
    MENTION_CALENDRIER,
    MENTION_MODALITES_VERSEMENT,
    DEMANDE_MENTION__COUNT
};
const char *demande_mention_name(enum demande_mention m);

struct demande_transition_input {
    enum demande_etat from; /* the effective state (demande_etat_effectif) */
    enum demande_etat to;
    enum subvention_dispositif dispositif;
    enum role role_of_caller;
    bool financeur_du_dossier;
    struct date today;
    struct demande_dates dates; /* merged with the request's changes */
    bool has_fiche;
    int64_t depense_subventionnable_ht, montant_sollicite, montant_accorde;
    /* R32, R33 at the decision: the plan with this request's line */
    const struct financement_ligne *lignes;
    size_t ligne_count;
    const char *mentions[DEMANDE_MENTION__COUNT]; /* NULL or blank: missing */
    bool avis_commission_elus;                    /* R36 */
    const char *motif_refus;
    bool solde_verse; /* a versement of type solde is recorded */
    const struct parametres_delais *delais;
};

/* Everything checked for one transition, into violations:
 * - no such edge: only "transition-invalide"; an edge the caller may not
 *   take (date-driven ones included): only "transition-interdite";
 * - otherwise, by target, all reported, plus demande_dates_check always:
 *   depose: a fiche unless chef_de_projet_pvd, depense and montant_sollicite
 *   valid amounts (the latter > 0), date_depot given;
 *   accordee: date_decision given, montant_accorde > 0, the five mentions,
 *   R36 (on montant_accorde), R32 aid cap, R33;
 *   refusee: date_decision given, a motif, R36 (on montant_sollicite);
 *   notifiee: date_notification given; engagee: date_commencement_execution
 *   given (R31 through the dates); soldee: solde_verse.
 * NULL in: one "transition-invalide". */
size_t demande_transition_check(const struct demande_transition_input *in,
                                struct rule_report *violations);

#endif
