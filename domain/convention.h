/* Conventions of the programme (convention d'adhésion, convention-cadre valant
 * ORT) and the comité de projet: their state machines (domain.md §2.1, §2.2),
 * and the pure rules R4–R10, R40 and the R2 warning (domain.md §3, issue 4
 * §1–§4). No I/O, no clock ("today" is passed in), no allocation, thread-safe.
 *
 * Every check appends what it finds to a caller-owned struct rule_report and
 * never stops at the first problem: one call reports EVERY violation, each with
 * its rule code ("R5"), a stable kebab-case problem code, a French message and
 * the JSON pointer of the offending field, ready for problem+json (422) or for
 * `avertissements`. */
#ifndef PVD_DOMAIN_CONVENTION_H
#define PVD_DOMAIN_CONVENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "date.h"
#include "rules.h"

/* ---- Types, states and names ------------------------------------------ */

enum convention_type { CONVENTION_ADHESION, CONVENTION_CADRE, CONVENTION_TYPE__COUNT };

/* The states of both machines in one enum; convention_etat_applies says which
 * belong to which type. Wire names (French snake_case): "brouillon",
 * "en_signature", "signee", "relayee", "abandonnee" (adhésion, §2.1);
 * "brouillon", "en_concertation", "validee_comite", "en_signature", "signee"
 * (= en vigueur), "echue", "resiliee" (cadre, §2.2). */
enum convention_etat {
    CONVENTION_BROUILLON,
    CONVENTION_EN_CONCERTATION,
    CONVENTION_VALIDEE_COMITE,
    CONVENTION_EN_SIGNATURE,
    CONVENTION_SIGNEE,
    CONVENTION_RELAYEE,
    CONVENTION_ABANDONNEE,
    CONVENTION_ECHUE,
    CONVENTION_RESILIEE,
    CONVENTION_ETAT__COUNT
};

/* "adhesion", "cadre"; NULL when out of range. */
const char *convention_type_name(enum convention_type type);
/* Exact, case-sensitive; false (out untouched) on an unknown name or NULL. */
bool convention_type_parse(const char *name, enum convention_type *out);
/* The wire name above; NULL when out of range. */
const char *convention_etat_name(enum convention_etat etat);
/* Exact name of a state OF THAT TYPE ("relayee" is refused for a cadre);
 * false (out untouched) otherwise or on NULL. */
bool convention_etat_parse(enum convention_type type, const char *name, enum convention_etat *out);
bool convention_etat_applies(enum convention_type type, enum convention_etat etat);

/* ---- State machines (§2.1, §2.2) --------------------------------------- */

/* The edge exists in the machine of that type, whoever triggers it:
 * adhésion: brouillon→en_signature, brouillon→abandonnee,
 *           en_signature→signee, en_signature→abandonnee,
 *           signee→relayee (automatic: the cadre is signed),
 *           signee→abandonnee (résiliation);
 * cadre:    brouillon→en_concertation→validee_comite→en_signature→signee,
 *           signee→echue (automatic: date_fin passed), signee→resiliee.
 * Avenants (signee → signee, new version) are not transitions: they go
 * through the avenant route. */
bool convention_transition_exists(enum convention_type type, enum convention_etat from,
                                  enum convention_etat to);

/* The edge exists AND a caller with this role may ask for it through
 * POST /conventions/{id}/transitions (the perimeter, R43, is checked apart):
 * - drafting steps (brouillon→en_signature for an adhésion;
 *   brouillon→en_concertation and validee_comite→en_signature for a cadre):
 *   collectivite_agent, collectivite_elu (§5: they write the drafts);
 * - en_concertation→validee_comite: collectivite_elu (validates in comité);
 * - en_signature→signee, abandon and résiliation: collectivite_elu and
 *   prefecture_instructeur (the signatories' side: élus and the State);
 * - automatic edges (signee→relayee, signee→echue): nobody — the service
 *   applies them itself;
 * - anct_national, prefecture_region, financeur: nothing (§5: no local
 *   instruction). Out-of-range arguments: false. */
bool convention_transition_allowed(enum convention_type type, enum convention_etat from,
                                   enum convention_etat to, enum role role_of_caller);

/* `transitions_possibles`: writes into out (capacity cap) the states `to` for
 * which convention_transition_allowed(type, from, to, role) holds, in enum
 * order, and returns how many there are (may exceed cap; out may be NULL when
 * cap is 0). CONVENTION_ETAT__COUNT always suffices. */
size_t convention_transitions_possibles(enum convention_type type, enum convention_etat from,
                                        enum role role_of_caller, enum convention_etat *out,
                                        size_t cap);

/* ---- Organisations and signataires (§1.6) ------------------------------ */

enum organisation_kind {
    ORGANISATION_COMMUNE,
    ORGANISATION_EPCI,
    ORGANISATION_PETR,
    ORGANISATION_DEPARTEMENT,
    ORGANISATION_REGION,
    ORGANISATION_ETAT,
    ORGANISATION_OPERATEUR,
    ORGANISATION_BAILLEUR,
    ORGANISATION_ASSOCIATION,
    ORGANISATION_ENTREPRISE,
    ORGANISATION_AUTRE,
    ORGANISATION_KIND__COUNT
};
/* "commune", "epci", "petr", "departement", "region", "etat", "operateur",
 * "bailleur", "association", "entreprise", "autre"; NULL when out of range. */
const char *organisation_kind_name(enum organisation_kind kind);
bool organisation_kind_parse(const char *name, enum organisation_kind *out);
/* A deliberating local authority, which signs on a délibération (R8) and only
 * through a collectivite_elu: commune, epci, petr, departement, region. */
bool organisation_kind_is_collectivite(enum organisation_kind kind);

enum signataire_role {
    SIGNATAIRE_BENEFICIAIRE,
    SIGNATAIRE_VILLE_PRINCIPALE,
    SIGNATAIRE_EPCI,
    SIGNATAIRE_ETAT,
    SIGNATAIRE_FINANCEUR,
    SIGNATAIRE_PARTENAIRE,
    SIGNATAIRE_EN_PRESENCE_DE, /* "en présence de": attends, does not sign */
    SIGNATAIRE_ROLE__COUNT
};
/* "beneficiaire", "ville_principale", "epci", "etat", "financeur",
 * "partenaire", "en_presence_de"; NULL when out of range. */
const char *signataire_role_name(enum signataire_role role);
bool signataire_role_parse(const char *name, enum signataire_role *out);

/* One signataire as the caller resolved it. siren: 9 digits or "" (the État
 * has none in this model). Optional dates have a has_ flag. */
struct signataire {
    enum organisation_kind kind;
    enum signataire_role role;
    char siren[10];
    bool has_date_deliberation;
    struct date date_deliberation;
    bool has_date_signature;
    struct date date_signature;
};

/* Issue 4 §2: only a collectivite_elu signs for a collectivité, only a
 * préfecture role (prefecture_instructeur, prefecture_region) for the État;
 * operators, bailleurs, associations, entreprises and others sign through a
 * financeur habilitation. Out-of-range values: false. */
bool signataire_may_sign(enum role role_of_caller, enum organisation_kind kind);

/* Issue 4 §2, beyond the role: the caller represents THIS organisation.
 * collectivite_elu: the signataire's SIREN is in its perimeter, or the
 * perimeter holds the territoire id_pvd itself (an élu of the territoire signs
 * for its collectivités); financeur: the SIREN is in its perimeter;
 * préfectures: true (they sign for the État, the territoire's département was
 * checked by authz, R43); anything else, NULL caller, empty SIREN for an
 * élu or financeur: false. */
bool signataire_represented_by(const struct authz_principal *caller, const char *siren,
                               const char *id_pvd);

/* The convention's date_signature: the latest signature of its signataires
 * (en_presence_de ignored). False (out untouched) when one of them has not
 * signed yet or there is none. */
bool convention_date_signature(const struct signataire *s, size_t count, struct date *out);

/* ---- The convention as the checks see it ------------------------------- */

enum volet_habitat { VOLET_HABITAT_AUCUN, VOLET_HABITAT_OPAH, VOLET_HABITAT_OPAH_RU };
/* "aucun", "opah", "opah_ru"; NULL when out of range. */
const char *volet_habitat_name(enum volet_habitat v);
bool volet_habitat_parse(const char *name, enum volet_habitat *out);

/* A secteur d'intervention ORT (§1.5). */
struct secteur_ort {
    bool est_centre_ville_ville_principale;
};

/* An axe stratégique with the number of its indicateurs (each is of type
 * mise_en_oeuvre or resultat by construction of its enum). */
struct axe_strategique {
    size_t indicateur_count;
};

/* The fields the signature checks read. Arrays may be NULL when their count
 * is 0. The cadre-only fields are ignored for an adhésion. */
struct convention_input {
    enum convention_type type;
    const struct signataire *signataires;
    size_t signataire_count;
    /* cadre only */
    bool vaut_ort;
    enum convention_etat adhesion_etat; /* current state of its adhésion (R5) */
    bool adhesion_has_date_signature;
    struct date adhesion_date_signature; /* R4, R5 */
    /* R6: the EPCI's and its ville principale's SIREN from the referential;
     * "" or NULL = check the roles only. */
    const char *siren_epci;
    const char *siren_ville_principale;
    const struct secteur_ort *secteurs;
    size_t secteur_count;
    enum volet_habitat volet_habitat;
    bool has_section_habitat_prive; /* R10: stakes-and-strategy section present */
};

/* ---- R4: the 18-month deadline ----------------------------------------- */

#define CONVENTION_CADRE_DELAI_MOIS 18

/* R4: date_limite_convention_cadre = adhésion signature + 18 calendar months,
 * clamped to the month's end (2021-08-31 → 2023-02-28). */
struct date convention_r4_date_limite(struct date adhesion_date_signature);

/* R4 flag `en_retard` (a warning, never a block): when the cadre is signed,
 * its signature is after the limit; otherwise today is after the limit
 * (§2.1 convention_cadre_en_retard). The limit day itself is on time. */
bool convention_r4_en_retard(struct date adhesion_date_signature, bool cadre_signee,
                             struct date cadre_date_signature, struct date today);

/* ---- Per-rule checks: each appends to violations, returns how many it
 *      appended (0 = the rule holds). NULL inputs with a count > 0 count as
 *      empty. ---------------------------------------------------------- */

/* R5: a cadre cannot be signed before its adhésion is signee (or relayee):
 * "convention-adhesion-non-signee" at /adhesion_id; and no signataire of the
 * cadre signs before the adhésion's date_signature:
 * "signature-anterieure-adhesion" at /signataires/i/date_signature. */
size_t convention_r5_check(const struct convention_input *c, struct rule_report *violations);

/* R6: an ORT cadre (vaut_ort) has a signataire of role etat, one of role epci
 * and one of role ville_principale; when the input names the EPCI's or the
 * ville principale's SIREN, that signataire carries it. Codes
 * "signataire-etat-manquant", "signataire-epci-manquant",
 * "signataire-ville-principale-manquant" at /signataires. Nothing for an
 * adhésion or a non-ORT cadre. */
size_t convention_r6_check(const struct convention_input *c, struct rule_report *violations);

/* R7: an ORT cadre has ≥ 1 secteur d'intervention ("secteur-intervention-
 * manquant") and one of them is the ville principale's centre-ville
 * ("secteur-centre-ville-manquant"), both at /secteurs_intervention. */
size_t convention_r7_check(const struct convention_input *c, struct rule_report *violations);

/* R8: every collectivité signataire has a délibération
 * ("deliberation-manquante") dated on or before its signature when it has
 * signed ("deliberation-posterieure-signature"), at
 * /signataires/i/date_deliberation. */
size_t convention_r8_check(const struct convention_input *c, struct rule_report *violations);

/* R10: a cadre with an OPAH / OPAH-RU volet has the habitat privé section:
 * "section-habitat-prive-manquante" at /section_habitat_prive. */
size_t convention_r10_check(const struct convention_input *c, struct rule_report *violations);

/* Issue 4 §4 (no R-number, regle ""): no signature date after today:
 * "date-signature-future" at /signataires/i/date_signature. */
size_t convention_dates_futures_check(const struct convention_input *c, struct date today,
                                      struct rule_report *violations);

/* §2.1/§2.2 (regle ""): entering signee needs every signataire but
 * en_presence_de to have signed: "signature-manquante" at
 * /signataires/i/date_signature; none at all: "signataires-manquants" at
 * /signataires. */
size_t convention_signatures_completes_check(const struct convention_input *c,
                                             struct rule_report *violations);

/* R4 as a warning: when c is a cadre whose adhésion has a date_signature and
 * whose own date_signature (convention_date_signature) is after the limit,
 * appends "convention-cadre-en-retard" at /date_signature to warnings and
 * returns true (en_retard). */
bool convention_r4_warning(const struct convention_input *c, struct rule_report *warnings);

/* R4 at read time (domain.md §2.1 convention_cadre_en_retard): an adhésion
 * in state signee (not yet relayee by its signed cadre) whose limit
 * (convention_r4_date_limite of its date_signature) is before today appends
 * "convention-cadre-non-signee-a-temps" at /date_limite_convention_cadre to
 * warnings and returns true (its en_retard flag). False for any other type,
 * state, or without a date_signature. */
bool convention_r4_adhesion_warning(enum convention_type type, enum convention_etat etat,
                                    bool has_date_signature, struct date date_signature,
                                    struct date today, struct rule_report *warnings);

/* ---- Per-transition aggregates ----------------------------------------- */

/* Everything checked when a convention enters `signee` (en_signature→signee):
 * signatures complete, no future dates, R8, and for a cadre R5, R6, R7, R10
 * (blocks, into violations) and R4 (warning, into warnings). Returns the
 * number of violations appended; *en_retard (may be NULL) gets the R4 flag. */
size_t convention_check_signature(const struct convention_input *c, struct date today,
                                  struct rule_report *violations, struct rule_report *warnings,
                                  bool *en_retard);

/* R9 (block at validee_comite): ≥ 1 axe stratégique ("axe-strategique-
 * manquant" at /axes_strategiques), each with ≥ 1 indicateur
 * ("indicateur-manquant" at /axes_strategiques/i/indicateurs). */
size_t convention_r9_check(const struct axe_strategique *axes, size_t axe_count,
                           struct rule_report *violations);

/* §2.2 automatic edge signee → echue: a signed cadre whose date_fin is
 * before today (the date_fin day itself is still en vigueur). */
bool convention_echue(enum convention_type type, enum convention_etat etat, struct date date_fin,
                      struct date today);

/* R9 keeps holding once the comité has validated the cadre: true for a cadre
 * in validee_comite, en_signature or signee, whose axes and indicateurs can
 * then no longer be removed below R9 (a signed cadre changes by avenant). */
bool convention_r9_verrouille(enum convention_etat cadre_etat);

/* ---- R40: comité de projet --------------------------------------------- */

enum comite_membre_kind {
    COMITE_EXECUTIF_COMMUNE, /* maire or delegated élu of a beneficiary commune */
    COMITE_EXECUTIF_EPCI,    /* président or delegated élu of the EPCI */
    COMITE_CHEF_PROJET,
    COMITE_PREFET, /* the préfet or his representative */
    COMITE_SIGNATAIRE_ADHESION,
    COMITE_PARTENAIRE,
    COMITE_AUTRE,
    COMITE_MEMBRE_KIND__COUNT
};
/* "executif_commune", "executif_epci", "chef_projet", "prefet",
 * "signataire_adhesion", "partenaire", "autre"; NULL when out of range. */
const char *comite_membre_kind_name(enum comite_membre_kind kind);
bool comite_membre_kind_parse(const char *name, enum comite_membre_kind *out);

struct comite_membre {
    enum comite_membre_kind kind;
    char siren[10]; /* the organisation represented; "" when none */
};

/* What the comité must contain, from the territoire and its adhésion. */
struct comite_exigences {
    const char *const *communes_sirens; /* the territoire's communes */
    size_t commune_count;
    const char *const *epci_sirens; /* the territoire's EPCI(s) */
    size_t epci_count;
    const struct signataire *adhesion_signataires;
    size_t adhesion_signataire_count;
};

/* R40 (block at constitution), all at /membres:
 * - each commune: an executif_commune member with its SIREN
 *   ("executif-commune-manquant");
 * - each EPCI: an executif_epci member with its SIREN ("executif-epci-manquant");
 * - a chef_projet ("chef-projet-manquant"); a prefet ("prefet-manquant");
 * - each other signataire of the adhésion (not etat, whom the préfet
 *   represents; not en_presence_de; not a commune/EPCI already required):
 *   a member of any kind with its SIREN ("signataire-adhesion-manquant"). */
size_t comite_r40_check(const struct comite_membre *membres, size_t membre_count,
                        const struct comite_exigences *exigences, struct rule_report *violations);

/* ---- R2 --------------------------------------------------------------- */

#define TERRITOIRE_POPULATION_SEUIL 20000

/* R2 (warn, never block): a commune of population ≥ 20 000 appends
 * "population-superieure-seuil" at /communes/<commune_index> to warnings and
 * returns true. Unknown population (negative) gives nothing. */
bool territoire_population_warning(int64_t population, const char *code_insee, size_t commune_index,
                                   struct rule_report *warnings);

#endif
