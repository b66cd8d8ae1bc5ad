/* Conventions: state machines and rules R2, R4–R10, R40. See convention.h. */
#include "convention.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

#define COUNT(a) DOMAIN_NAMES_COUNT(a)

static void pointer_signataire(char out[96], size_t i, const char *field)
{
    snprintf(out, 96, "/signataires/%zu/%s", i, field);
}

/* ---- Names ------------------------------------------------------------- */

static const char *const TYPE_NAMES[CONVENTION_TYPE__COUNT] = {"adhesion", "cadre"};
static const char *const ETAT_NAMES[CONVENTION_ETAT__COUNT] = {
    "brouillon", "en_concertation", "validee_comite", "en_signature", "signee",
    "relayee",   "abandonnee",      "echue",          "resiliee"};
static const char *const KIND_NAMES[ORGANISATION_KIND__COUNT] = {
    "commune",   "epci",     "petr",        "departement", "region", "etat",
    "operateur", "bailleur", "association", "entreprise",  "autre"};
static const char *const ROLE_NAMES[SIGNATAIRE_ROLE__COUNT] = {
    "beneficiaire", "ville_principale", "epci",          "etat",
    "financeur",    "partenaire",       "en_presence_de"};
static const char *const VOLET_NAMES[] = {"aucun", "opah", "opah_ru"};
static const char *const MEMBRE_NAMES[COMITE_MEMBRE_KIND__COUNT] = {
    "executif_commune",    "executif_epci", "chef_projet", "prefet",
    "signataire_adhesion", "partenaire",    "autre"};

DOMAIN_NAME_FUNCS(convention_type_name, convention_type_parse, enum convention_type, TYPE_NAMES)
DOMAIN_NAME_FUNCS(organisation_kind_name, organisation_kind_parse, enum organisation_kind,
                  KIND_NAMES)
DOMAIN_NAME_FUNCS(signataire_role_name, signataire_role_parse, enum signataire_role, ROLE_NAMES)
DOMAIN_NAME_FUNCS(volet_habitat_name, volet_habitat_parse, enum volet_habitat, VOLET_NAMES)
DOMAIN_NAME_FUNCS(comite_membre_kind_name, comite_membre_kind_parse, enum comite_membre_kind,
                  MEMBRE_NAMES)

const char *convention_etat_name(enum convention_etat etat)
{
    return domain_name_of(ETAT_NAMES, COUNT(ETAT_NAMES), (int)etat);
}

bool convention_etat_applies(enum convention_type type, enum convention_etat etat)
{
    switch (etat) {
    case CONVENTION_BROUILLON:
    case CONVENTION_EN_SIGNATURE:
    case CONVENTION_SIGNEE:
        return type == CONVENTION_ADHESION || type == CONVENTION_CADRE;
    case CONVENTION_RELAYEE:
    case CONVENTION_ABANDONNEE:
        return type == CONVENTION_ADHESION;
    case CONVENTION_EN_CONCERTATION:
    case CONVENTION_VALIDEE_COMITE:
    case CONVENTION_ECHUE:
    case CONVENTION_RESILIEE:
        return type == CONVENTION_CADRE;
    default:
        return false;
    }
}

bool convention_etat_parse(enum convention_type type, const char *name, enum convention_etat *out)
{
    int v;

    if (!out || !domain_name_parse(ETAT_NAMES, COUNT(ETAT_NAMES), name, &v) ||
        !convention_etat_applies(type, (enum convention_etat)v))
        return false;
    *out = (enum convention_etat)v;
    return true;
}

/* ---- State machines (§2.1, §2.2) --------------------------------------- */

enum who { W_NOBODY = 0, W_AGENT = 1, W_ELU = 2, W_PREFECTURE = 4 };

struct edge {
    enum convention_type type;
    enum convention_etat from, to;
    unsigned who; /* W_NOBODY: automatic edge */
};

static const struct edge EDGES[] = {
    /* §2.1 convention d'adhésion */
    {CONVENTION_ADHESION, CONVENTION_BROUILLON, CONVENTION_EN_SIGNATURE, W_AGENT | W_ELU},
    {CONVENTION_ADHESION, CONVENTION_BROUILLON, CONVENTION_ABANDONNEE, W_ELU | W_PREFECTURE},
    {CONVENTION_ADHESION, CONVENTION_EN_SIGNATURE, CONVENTION_SIGNEE, W_ELU | W_PREFECTURE},
    {CONVENTION_ADHESION, CONVENTION_EN_SIGNATURE, CONVENTION_ABANDONNEE, W_ELU | W_PREFECTURE},
    {CONVENTION_ADHESION, CONVENTION_SIGNEE, CONVENTION_RELAYEE, W_NOBODY},
    {CONVENTION_ADHESION, CONVENTION_SIGNEE, CONVENTION_ABANDONNEE, W_ELU | W_PREFECTURE},
    /* §2.2 convention-cadre */
    {CONVENTION_CADRE, CONVENTION_BROUILLON, CONVENTION_EN_CONCERTATION, W_AGENT | W_ELU},
    {CONVENTION_CADRE, CONVENTION_EN_CONCERTATION, CONVENTION_VALIDEE_COMITE, W_ELU},
    {CONVENTION_CADRE, CONVENTION_VALIDEE_COMITE, CONVENTION_EN_SIGNATURE, W_AGENT | W_ELU},
    {CONVENTION_CADRE, CONVENTION_EN_SIGNATURE, CONVENTION_SIGNEE, W_ELU | W_PREFECTURE},
    {CONVENTION_CADRE, CONVENTION_SIGNEE, CONVENTION_ECHUE, W_NOBODY},
    {CONVENTION_CADRE, CONVENTION_SIGNEE, CONVENTION_RESILIEE, W_ELU | W_PREFECTURE},
};

static const struct edge *find_edge(enum convention_type type, enum convention_etat from,
                                    enum convention_etat to)
{
    for (size_t i = 0; i < COUNT(EDGES); i++)
        if (EDGES[i].type == type && EDGES[i].from == from && EDGES[i].to == to)
            return &EDGES[i];
    return NULL;
}

bool convention_transition_exists(enum convention_type type, enum convention_etat from,
                                  enum convention_etat to)
{
    return find_edge(type, from, to) != NULL;
}

static unsigned who_of(enum role role)
{
    switch (role) {
    case ROLE_COLLECTIVITE_AGENT:
        return W_AGENT;
    case ROLE_COLLECTIVITE_ELU:
        return W_ELU;
    case ROLE_PREFECTURE_INSTRUCTEUR:
        return W_PREFECTURE;
    default:
        return 0;
    }
}

bool convention_transition_allowed(enum convention_type type, enum convention_etat from,
                                   enum convention_etat to, enum role role_of_caller)
{
    const struct edge *e = find_edge(type, from, to);

    return e && (e->who & who_of(role_of_caller)) != 0;
}

size_t convention_transitions_possibles(enum convention_type type, enum convention_etat from,
                                        enum role role_of_caller, enum convention_etat *out,
                                        size_t cap)
{
    size_t n = 0;

    for (int to = 0; to < CONVENTION_ETAT__COUNT; to++) {
        if (!convention_transition_allowed(type, from, (enum convention_etat)to, role_of_caller))
            continue;
        if (out && n < cap)
            out[n] = (enum convention_etat)to;
        n++;
    }
    return n;
}

/* ---- Organisations and signataires ------------------------------------- */

bool organisation_kind_is_collectivite(enum organisation_kind kind)
{
    return kind == ORGANISATION_COMMUNE || kind == ORGANISATION_EPCI || kind == ORGANISATION_PETR ||
           kind == ORGANISATION_DEPARTEMENT || kind == ORGANISATION_REGION;
}

bool signataire_may_sign(enum role role_of_caller, enum organisation_kind kind)
{
    if ((int)kind < 0 || kind >= ORGANISATION_KIND__COUNT)
        return false;
    if (organisation_kind_is_collectivite(kind))
        return role_of_caller == ROLE_COLLECTIVITE_ELU;
    if (kind == ORGANISATION_ETAT)
        return role_of_caller == ROLE_PREFECTURE_INSTRUCTEUR ||
               role_of_caller == ROLE_PREFECTURE_REGION;
    return role_of_caller == ROLE_FINANCEUR;
}

bool signataire_represented_by(const struct authz_principal *caller, const char *siren,
                               const char *id_pvd)
{
    if (!caller)
        return false;
    switch (caller->role) {
    case ROLE_PREFECTURE_INSTRUCTEUR:
    case ROLE_PREFECTURE_REGION:
        return true;
    case ROLE_COLLECTIVITE_ELU:
        return perimeter_has_siren(&caller->perimeter, siren) ||
               perimeter_has_territoire(&caller->perimeter, id_pvd);
    case ROLE_FINANCEUR:
        return perimeter_has_siren(&caller->perimeter, siren);
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_ANCT_NATIONAL:
    case ROLE_LECTEUR_NATIONAL:
    case ROLE__COUNT:
        break;
    }
    return false;
}

static bool signs(const struct signataire *s)
{
    return s->role != SIGNATAIRE_EN_PRESENCE_DE;
}

bool convention_date_signature(const struct signataire *s, size_t count, struct date *out)
{
    struct date last = {0, 0, 0};
    size_t signing = 0;

    if (!s || !out)
        return false;
    for (size_t i = 0; i < count; i++) {
        if (!signs(&s[i]))
            continue;
        if (!s[i].has_date_signature)
            return false;
        if (signing++ == 0 || date_compare(s[i].date_signature, last) > 0)
            last = s[i].date_signature;
    }
    if (signing == 0)
        return false;
    *out = last;
    return true;
}

/* Signataires of c, or NULL/0 when absent. */
static size_t sig_count(const struct convention_input *c)
{
    return c && c->signataires ? c->signataire_count : 0;
}

static bool is_cadre(const struct convention_input *c)
{
    return c && c->type == CONVENTION_CADRE;
}

/* ---- R4 ---------------------------------------------------------------- */

struct date convention_r4_date_limite(struct date adhesion_date_signature)
{
    return date_add_months(adhesion_date_signature, CONVENTION_CADRE_DELAI_MOIS);
}

bool convention_r4_en_retard(struct date adhesion_date_signature, bool cadre_signee,
                             struct date cadre_date_signature, struct date today)
{
    struct date limite = convention_r4_date_limite(adhesion_date_signature);

    return date_compare(cadre_signee ? cadre_date_signature : today, limite) > 0;
}

bool convention_r4_warning(const struct convention_input *c, struct rule_report *warnings)
{
    struct date sig;

    if (!is_cadre(c) || !c->adhesion_has_date_signature ||
        !convention_date_signature(c->signataires, sig_count(c), &sig))
        return false;
    if (!convention_r4_en_retard(c->adhesion_date_signature, true, sig, sig))
        return false;
    char s[11], l[11];
    date_format(sig, s);
    date_format(convention_r4_date_limite(c->adhesion_date_signature), l);
    rule_report_add(warnings, "R4", "convention-cadre-en-retard", "/date_signature",
                    "Convention-cadre signée le %s, après la date limite du %s (signature de la "
                    "convention d'adhésion + 18 mois).",
                    s, l);
    return true;
}

bool convention_r4_adhesion_warning(enum convention_type type, enum convention_etat etat,
                                    bool has_date_signature, struct date date_signature,
                                    struct date today, struct rule_report *warnings)
{
    if (type != CONVENTION_ADHESION || etat != CONVENTION_SIGNEE || !has_date_signature)
        return false;
    struct date none = {0, 0, 0};
    if (!convention_r4_en_retard(date_signature, false, none, today))
        return false;
    char l[11];
    date_format(convention_r4_date_limite(date_signature), l);
    rule_report_add(warnings, "R4", "convention-cadre-non-signee-a-temps",
                    "/date_limite_convention_cadre",
                    "La convention-cadre n'est pas signée alors que la date limite du %s "
                    "(signature de la convention d'adhésion + 18 mois) est dépassée.",
                    l);
    return true;
}

/* ---- R5 ---------------------------------------------------------------- */

size_t convention_r5_check(const struct convention_input *c, struct rule_report *violations)
{
    size_t n = 0;

    if (!is_cadre(c))
        return 0;
    if (c->adhesion_etat != CONVENTION_SIGNEE && c->adhesion_etat != CONVENTION_RELAYEE) {
        const char *etat = convention_etat_name(c->adhesion_etat);
        n += rule_report_add(
            violations, "R5", "convention-adhesion-non-signee", "/adhesion_id",
            "La convention-cadre ne peut être signée avant la convention d'adhésion "
            "(état actuel de l'adhésion : %s).",
            etat ? etat : "inconnu");
    }
    if (!c->adhesion_has_date_signature)
        return n;
    for (size_t i = 0; i < sig_count(c); i++) {
        const struct signataire *s = &c->signataires[i];
        if (!s->has_date_signature ||
            date_compare(s->date_signature, c->adhesion_date_signature) >= 0)
            continue;
        char p[96], d[11], a[11];
        pointer_signataire(p, i, "date_signature");
        date_format(s->date_signature, d);
        date_format(c->adhesion_date_signature, a);
        n += rule_report_add(
            violations, "R5", "signature-anterieure-adhesion", p,
            "Signature du %s antérieure à la signature de la convention d'adhésion (%s).", d, a);
    }
    return n;
}

/* ---- R6 ---------------------------------------------------------------- */

static bool has_signataire(const struct convention_input *c, enum signataire_role role,
                           const char *siren)
{
    for (size_t i = 0; i < sig_count(c); i++) {
        const struct signataire *s = &c->signataires[i];
        if (s->role != role)
            continue;
        if (!siren || !siren[0] || strncmp(s->siren, siren, sizeof s->siren) == 0)
            return true;
    }
    return false;
}

size_t convention_r6_check(const struct convention_input *c, struct rule_report *violations)
{
    size_t n = 0;

    if (!is_cadre(c) || !c->vaut_ort)
        return 0;
    if (!has_signataire(c, SIGNATAIRE_ETAT, NULL))
        n += rule_report_add(violations, "R6", "signataire-etat-manquant", "/signataires",
                             "Une convention valant ORT doit être signée par l'État.");
    if (!has_signataire(c, SIGNATAIRE_EPCI, c->siren_epci))
        n += rule_report_add(
            violations, "R6", "signataire-epci-manquant", "/signataires",
            "Une convention valant ORT doit être signée par l'EPCI à fiscalité propre%s%s.",
            c->siren_epci && c->siren_epci[0] ? " de SIREN " : "",
            c->siren_epci && c->siren_epci[0] ? c->siren_epci : "");
    if (!has_signataire(c, SIGNATAIRE_VILLE_PRINCIPALE, c->siren_ville_principale)) {
        if (c->siren_ville_principale && c->siren_ville_principale[0])
            n += rule_report_add(
                violations, "R6", "signataire-ville-principale-manquant", "/signataires",
                "Une convention valant ORT doit être signée par la ville principale de "
                "l'EPCI (SIREN %s).",
                c->siren_ville_principale);
        else
            n += rule_report_add(
                violations, "R6", "signataire-ville-principale-manquant", "/signataires",
                "Une convention valant ORT doit être signée par la ville principale de "
                "l'EPCI.");
    }
    return n;
}

/* ---- R7 ---------------------------------------------------------------- */

size_t convention_r7_check(const struct convention_input *c, struct rule_report *violations)
{
    size_t count;

    if (!is_cadre(c) || !c->vaut_ort)
        return 0;
    count = c->secteurs ? c->secteur_count : 0;
    if (count == 0)
        return rule_report_add(
            violations, "R7", "secteur-intervention-manquant", "/secteurs_intervention",
            "Une convention valant ORT délimite au moins un secteur d'intervention.");
    for (size_t i = 0; i < count; i++)
        if (c->secteurs[i].est_centre_ville_ville_principale)
            return 0;
    return rule_report_add(violations, "R7", "secteur-centre-ville-manquant",
                           "/secteurs_intervention",
                           "Les secteurs d'intervention d'une convention valant ORT comprennent le "
                           "centre-ville de la ville principale.");
}

/* ---- R8 ---------------------------------------------------------------- */

size_t convention_r8_check(const struct convention_input *c, struct rule_report *violations)
{
    size_t n = 0;

    for (size_t i = 0; i < sig_count(c); i++) {
        const struct signataire *s = &c->signataires[i];
        char p[96];
        if (!organisation_kind_is_collectivite(s->kind) || !signs(s))
            continue;
        pointer_signataire(p, i, "date_deliberation");
        if (!s->has_date_deliberation) {
            n += rule_report_add(
                violations, "R8", "deliberation-manquante", p,
                "Une collectivité signataire indique la date de la délibération qui "
                "autorise la signature.");
        } else if (s->has_date_signature &&
                   date_compare(s->date_deliberation, s->date_signature) > 0) {
            char d[11], g[11];
            date_format(s->date_deliberation, d);
            date_format(s->date_signature, g);
            n += rule_report_add(violations, "R8", "deliberation-posterieure-signature", p,
                                 "Délibération du %s postérieure à la signature du %s.", d, g);
        }
    }
    return n;
}

/* ---- R10 --------------------------------------------------------------- */

size_t convention_r10_check(const struct convention_input *c, struct rule_report *violations)
{
    if (!is_cadre(c) || c->volet_habitat == VOLET_HABITAT_AUCUN || c->has_section_habitat_prive)
        return 0;
    return rule_report_add(violations, "R10", "section-habitat-prive-manquante",
                           "/section_habitat_prive",
                           "Une convention valant %s comporte un volet habitat privé (enjeux et "
                           "stratégie).",
                           c->volet_habitat == VOLET_HABITAT_OPAH_RU ? "OPAH-RU" : "OPAH");
}

/* ---- Dates and completeness -------------------------------------------- */

size_t convention_dates_futures_check(const struct convention_input *c, struct date today,
                                      struct rule_report *violations)
{
    size_t n = 0;

    for (size_t i = 0; i < sig_count(c); i++) {
        const struct signataire *s = &c->signataires[i];
        if (!s->has_date_signature || date_compare(s->date_signature, today) <= 0)
            continue;
        char p[96], d[11];
        pointer_signataire(p, i, "date_signature");
        date_format(s->date_signature, d);
        n += rule_report_add(violations, "", "date-signature-future", p,
                             "La date de signature %s est dans le futur.", d);
    }
    return n;
}

size_t convention_signatures_completes_check(const struct convention_input *c,
                                             struct rule_report *violations)
{
    size_t n = 0, signing = 0;

    for (size_t i = 0; i < sig_count(c); i++) {
        const struct signataire *s = &c->signataires[i];
        if (!signs(s))
            continue;
        signing++;
        if (s->has_date_signature)
            continue;
        char p[96];
        pointer_signataire(p, i, "date_signature");
        n += rule_report_add(violations, "", "signature-manquante", p,
                             "Ce signataire n'a pas encore signé la convention.");
    }
    if (signing == 0)
        n += rule_report_add(violations, "", "signataires-manquants", "/signataires",
                             "La convention n'a aucun signataire.");
    return n;
}

size_t convention_check_signature(const struct convention_input *c, struct date today,
                                  struct rule_report *violations, struct rule_report *warnings,
                                  bool *en_retard)
{
    size_t n = 0;
    bool late = false;

    if (c) {
        n += convention_signatures_completes_check(c, violations);
        n += convention_dates_futures_check(c, today, violations);
        n += convention_r8_check(c, violations);
        n += convention_r5_check(c, violations);
        n += convention_r6_check(c, violations);
        n += convention_r7_check(c, violations);
        n += convention_r10_check(c, violations);
        late = convention_r4_warning(c, warnings);
    }
    if (en_retard)
        *en_retard = late;
    return n;
}

/* ---- R9 ---------------------------------------------------------------- */

bool convention_echue(enum convention_type type, enum convention_etat etat, struct date date_fin,
                      struct date today)
{
    return type == CONVENTION_CADRE && etat == CONVENTION_SIGNEE &&
           date_compare(date_fin, today) < 0;
}

bool convention_r9_verrouille(enum convention_etat cadre_etat)
{
    return cadre_etat == CONVENTION_VALIDEE_COMITE || cadre_etat == CONVENTION_EN_SIGNATURE ||
           cadre_etat == CONVENTION_SIGNEE;
}

size_t convention_r9_check(const struct axe_strategique *axes, size_t axe_count,
                           struct rule_report *violations)
{
    size_t n = 0;

    if (!axes || axe_count == 0)
        return rule_report_add(violations, "R9", "axe-strategique-manquant", "/axes_strategiques",
                               "La convention-cadre comporte au moins un axe stratégique avant sa "
                               "validation par le comité de projet.");
    for (size_t i = 0; i < axe_count; i++) {
        if (axes[i].indicateur_count > 0)
            continue;
        char p[96];
        snprintf(p, sizeof p, "/axes_strategiques/%zu/indicateurs", i);
        n += rule_report_add(violations, "R9", "indicateur-manquant", p,
                             "L'axe stratégique n° %zu n'a aucun indicateur de mise en œuvre ou de "
                             "résultat.",
                             i + 1);
    }
    return n;
}

/* ---- R40 --------------------------------------------------------------- */

static bool has_membre(const struct comite_membre *m, size_t count, int kind, const char *siren)
{
    for (size_t i = 0; i < count; i++) {
        if (kind >= 0 && (int)m[i].kind != kind)
            continue;
        if (!siren || strncmp(m[i].siren, siren, sizeof m[i].siren) == 0)
            return true;
    }
    return false;
}

static bool in_list(const char *const *list, size_t count, const char *siren)
{
    for (size_t i = 0; list && i < count; i++)
        if (list[i] && strcmp(list[i], siren) == 0)
            return true;
    return false;
}

size_t comite_r40_check(const struct comite_membre *membres, size_t membre_count,
                        const struct comite_exigences *e, struct rule_report *violations)
{
    size_t n = 0;

    if (!membres)
        membre_count = 0;
    if (e) {
        for (size_t i = 0; e->communes_sirens && i < e->commune_count; i++) {
            const char *s = e->communes_sirens[i] ? e->communes_sirens[i] : "";
            if (!has_membre(membres, membre_count, COMITE_EXECUTIF_COMMUNE, s))
                n += rule_report_add(
                    violations, "R40", "executif-commune-manquant", "/membres",
                    "Le comité de projet comprend l'exécutif de la commune de SIREN %s.", s);
        }
        for (size_t i = 0; e->epci_sirens && i < e->epci_count; i++) {
            const char *s = e->epci_sirens[i] ? e->epci_sirens[i] : "";
            if (!has_membre(membres, membre_count, COMITE_EXECUTIF_EPCI, s))
                n += rule_report_add(
                    violations, "R40", "executif-epci-manquant", "/membres",
                    "Le comité de projet comprend l'exécutif de l'EPCI de SIREN %s.", s);
        }
    }
    if (!has_membre(membres, membre_count, COMITE_CHEF_PROJET, NULL))
        n += rule_report_add(
            violations, "R40", "chef-projet-manquant", "/membres",
            "Le comité de projet comprend le chef de projet Petites villes de demain.");
    if (!has_membre(membres, membre_count, COMITE_PREFET, NULL))
        n += rule_report_add(violations, "R40", "prefet-manquant", "/membres",
                             "Le comité de projet comprend le préfet ou son représentant.");
    if (!e || !e->adhesion_signataires)
        return n;
    for (size_t i = 0; i < e->adhesion_signataire_count; i++) {
        const struct signataire *s = &e->adhesion_signataires[i];
        if (s->role == SIGNATAIRE_ETAT || s->role == SIGNATAIRE_EN_PRESENCE_DE ||
            s->kind == ORGANISATION_ETAT)
            continue;
        if (in_list(e->communes_sirens, e->commune_count, s->siren) ||
            in_list(e->epci_sirens, e->epci_count, s->siren))
            continue;
        if (!has_membre(membres, membre_count, -1, s->siren))
            n += rule_report_add(
                violations, "R40", "signataire-adhesion-manquant", "/membres",
                "Le comité de projet comprend le signataire de la convention d'adhésion "
                "de SIREN %.9s.",
                s->siren);
    }
    return n;
}

/* ---- R2 ---------------------------------------------------------------- */

bool territoire_population_warning(int64_t population, const char *code_insee, size_t commune_index,
                                   struct rule_report *warnings)
{
    char p[96];

    if (population < TERRITOIRE_POPULATION_SEUIL)
        return false;
    snprintf(p, sizeof p, "/communes/%zu", commune_index);
    rule_report_add(warnings, "R2", "population-superieure-seuil", p,
                    "La commune %s compte %lld habitants, au-delà du seuil de 20 000 du programme.",
                    code_insee ? code_insee : "", (long long)population);
    return true;
}
