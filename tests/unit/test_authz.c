/* Unit tests of domain/authz: names, perimeter lookups and the decision of
 * every role × every action × {inside the perimeter, outside it, no target},
 * then R43, string codes (2A/2B, 97/974), grants of every role by every role,
 * the rank rule and degenerate inputs.
 *
 * Real codes (@etalab/decoupage-administratif 6.0.0, millésime 2026):
 * Saint-Symphorien-sur-Coise 69238 (Rhône 69, région 84, SIREN 216902387) and
 * Chevrières 42062 (Loire 42, région 84, SIREN 214200628) are both members of
 * the CC des Monts du Lyonnais (SIREN 200066587), an EPCI spanning 69 and 42;
 * Ajaccio 2A004 (Corse-du-Sud 2A, région 94, SIREN 212000046) in the CA du Pays
 * Ajaccien (242010056); Saint-Denis 97411 (La Réunion 974, région 04). The
 * financeur is the Caisse des dépôts / Banque des Territoires (SIREN 180020026).
 * The id_pvd values have the documented shape (pvd-<région>-<dépt>-<n>) but are
 * illustrative. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "domain/authz.h"
#include "domain/identifiers.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SIREN_ST_SYMPHORIEN "216902387"
#define SIREN_CHEVRIERES    "214200628"
#define SIREN_CC_MONTS_LYON "200066587"
#define SIREN_AJACCIO       "212000046"
#define SIREN_CA_AJACCIEN   "242010056"
#define SIREN_CDC           "180020026"
#define TERR_69             "pvd-84-69-1"
#define TERR_42             "pvd-84-42-1"
#define TERR_2A             "pvd-94-2A-1"

static const char *decision_str(enum authz_decision d)
{
    switch (d) {
    case AUTHZ_ALLOW:
        return "ALLOW";
    case AUTHZ_FORBID:
        return "FORBID";
    case AUTHZ_HIDE:
        return "HIDE";
    }
    return "?";
}

/* Appends a code to a perimeter list of `size`-char entries (copy checked). */
static void push(char *entries, size_t size, size_t *count, const char *code)
{
    size_t len = strlen(code);

    cr_assert_lt(len, size, "code %s too long for its perimeter list", code);
    cr_assert_lt(*count, PERIMETER_MAX);
    memcpy(entries + *count * size, code, len + 1);
    (*count)++;
}

static void add_dep(struct authz_principal *p, const char *code)
{
    push(&p->perimeter.departements[0][0], sizeof p->perimeter.departements[0],
         &p->perimeter.departement_count, code);
}

static void add_reg(struct authz_principal *p, const char *code)
{
    push(&p->perimeter.regions[0][0], sizeof p->perimeter.regions[0], &p->perimeter.region_count,
         code);
}

static void add_siren(struct authz_principal *p, const char *code)
{
    push(&p->perimeter.sirens[0][0], sizeof p->perimeter.sirens[0], &p->perimeter.siren_count,
         code);
}

static void add_terr(struct authz_principal *p, const char *code)
{
    push(&p->perimeter.territoires[0][0], sizeof p->perimeter.territoires[0],
         &p->perimeter.territoire_count, code);
}

static struct authz_principal bare(enum role role)
{
    struct authz_principal p;

    memset(&p, 0, sizeof p);
    p.role = role;
    return p;
}

/* A préfecture of the given départements. */
static struct authz_principal prefecture(const char *dep1, const char *dep2)
{
    struct authz_principal p = bare(ROLE_PREFECTURE_INSTRUCTEUR);

    add_dep(&p, dep1);
    if (dep2)
        add_dep(&p, dep2);
    return p;
}

/* The principal of each role whose perimeter contains `inside_target` below:
 * the commune of Saint-Symphorien-sur-Coise (69, région 84). */
static struct authz_principal principal_of(enum role role)
{
    struct authz_principal p = bare(role);

    switch (role) {
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_COLLECTIVITE_ELU:
        add_terr(&p, TERR_69);
        add_siren(&p, SIREN_ST_SYMPHORIEN);
        break;
    case ROLE_PREFECTURE_INSTRUCTEUR:
        add_dep(&p, "69");
        break;
    case ROLE_PREFECTURE_REGION:
        add_reg(&p, "84");
        break;
    case ROLE_FINANCEUR:
        add_siren(&p, SIREN_CDC);
        break;
    case ROLE_ANCT_NATIONAL:
    case ROLE_LECTEUR_NATIONAL:
    case ROLE__COUNT:
        break;
    }
    return p;
}

static const char *const deps_69[] = {"69"};
static const char *const deps_42[] = {"42"};
static const char *const deps_2a[] = {"2A"};
static const char *const deps_69_42[] = {"69", "42"};
static const char *const regs_84[] = {"84"};
static const char *const regs_94[] = {"94"};
static const char *const sirens_in[] = {SIREN_ST_SYMPHORIEN, SIREN_CC_MONTS_LYON, SIREN_CDC};
static const char *const sirens_out[] = {SIREN_AJACCIO, SIREN_CA_AJACCIEN};

/* A territoire of Saint-Symphorien-sur-Coise, financed by the CDC: inside
 * every principal_of(). As a habilitation (GRANT / REVOKE): a
 * collectivite_agent whose perimeter touches 69 only. */
static struct authz_target inside_target(void)
{
    struct authz_target t = {
        .departements = deps_69,
        .departement_count = N_ELEMS(deps_69),
        .regions = regs_84,
        .region_count = N_ELEMS(regs_84),
        .territoire = TERR_69,
        .sirens = sirens_in,
        .siren_count = N_ELEMS(sirens_in),
        .has_grant_role = true,
        .grant_role = ROLE_COLLECTIVITE_AGENT,
    };
    return t;
}

/* A territoire of Ajaccio (2A, région 94): outside every principal_of() but
 * anct_national's. */
static struct authz_target outside_target(void)
{
    struct authz_target t = {
        .departements = deps_2a,
        .departement_count = N_ELEMS(deps_2a),
        .regions = regs_94,
        .region_count = N_ELEMS(regs_94),
        .territoire = TERR_2A,
        .sirens = sirens_out,
        .siren_count = N_ELEMS(sirens_out),
        .has_grant_role = true,
        .grant_role = ROLE_COLLECTIVITE_AGENT,
    };
    return t;
}

enum where { IN, OUT, NONE, WHERE__COUNT };
static const char *const where_names[WHERE__COUNT] = {"inside", "outside", "no target"};

#define A AUTHZ_ALLOW
#define F AUTHZ_FORBID
#define H AUTHZ_HIDE

/* The decision matrix (see authz.h): role × action × {inside, outside, none}. */
static const enum authz_decision matrix[ROLE__COUNT][ACTION__COUNT][WHERE__COUNT] = {
    /* per role: {habilitation.lire, .accorder, .revoquer, client.gerer, client.emettre,
     * journal.lire, organisation.creer, organisation.ecrire, territoire.ecrire,
     * convention.lire, .ecrire, .signer, .transition, statistiques.lire, projet.lire,
     * .ecrire, fiche.lire, .ecrire, .transition, parametres.lire, .ecrire, poste.lire,
     * .ecrire, demande.lire, .ecrire, .transition, .synchroniser, abonnement.lire, .gerer},
     * each {inside, outside, no target}; for abonnement.*, none of these targets is a
     * subscription: the collection, read by anct_national only among persons, created by
     * no person (machine clients: authz_abonnement) */
    [ROLE_COLLECTIVITE_AGENT] = {{F, H, H}, {F, F, F}, {F, H, H}, {F, F, F}, {F, F, F}, {A, H, H},
                                 {A, F, A}, {A, F, F}, {F, F, F}, {A, H, H}, {A, H, H}, {F, H, H},
                                 {A, H, H}, {F, F, F}, {A, H, H}, {A, H, H}, {A, H, H}, {A, H, H},
                                 {A, H, H}, {A, A, A}, {F, F, F}, {A, H, H}, {A, H, H}, {A, H, H},
                                 {A, H, H}, {A, H, H}, {F, H, H}, {F, F, F}, {F, F, F}},
    [ROLE_COLLECTIVITE_ELU] = {{F, H, H}, {F, F, F}, {F, H, H}, {F, F, F}, {F, F, F}, {A, H, H},
                               {A, F, A}, {A, F, F}, {F, F, F}, {A, H, H}, {A, H, H}, {A, H, H},
                               {A, H, H}, {F, F, F}, {A, H, H}, {A, H, H}, {A, H, H}, {A, H, H},
                               {A, H, H}, {A, A, A}, {F, F, F}, {A, H, H}, {A, H, H}, {A, H, H},
                               {A, H, H}, {A, H, H}, {F, H, H}, {F, F, F}, {F, F, F}},
    [ROLE_PREFECTURE_INSTRUCTEUR] = {{A, H, H}, {A, F, F}, {A, H, H}, {F, F, F}, {F, F, F},
                                     {A, H, H}, {A, F, A}, {A, F, F}, {A, F, F}, {A, H, H},
                                     {F, H, H}, {A, H, H}, {A, H, H}, {A, A, A}, {A, H, H},
                                     {F, H, H}, {A, H, H}, {F, H, H}, {F, H, H}, {A, A, A},
                                     {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H}, {F, H, H},
                                     {A, H, H}, {A, H, H}, {F, F, F}, {F, F, F}},
    [ROLE_PREFECTURE_REGION] = {{A, H, H}, {F, F, F}, {F, H, H}, {F, F, F}, {F, F, F}, {A, H, H},
                                {A, F, A}, {A, F, F}, {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H},
                                {F, H, H}, {A, A, A}, {A, H, H}, {F, H, H}, {A, H, H}, {F, H, H},
                                {F, H, H}, {A, A, A}, {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H},
                                {F, H, H}, {A, H, H}, {A, H, H}, {F, F, F}, {F, F, F}},
    [ROLE_FINANCEUR] = {{F, H, H}, {F, F, F}, {F, H, H}, {F, F, F}, {F, F, F}, {A, H, H},
                        {F, F, F}, {F, F, F}, {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H},
                        {F, H, H}, {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H}, {F, H, H},
                        {F, H, H}, {A, A, A}, {F, F, F}, {A, H, H}, {F, H, H}, {A, H, H},
                        {F, H, H}, {A, H, H}, {F, H, H}, {F, F, F}, {F, F, F}},
    [ROLE_ANCT_NATIONAL] = {{A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A},
                            {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A},
                            {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A},
                            {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A},
                            {A, A, A}, {A, A, A}, {A, A, A}, {A, A, A}, {F, F, F}},
    [ROLE_LECTEUR_NATIONAL] = {{F, F, F}, {F, F, F}, {F, F, F}, {F, F, F}, {F, F, F}, {A, A, A},
                               {F, F, F}, {F, F, F}, {F, F, F}, {A, A, A}, {F, F, F}, {F, F, F},
                               {F, F, F}, {A, A, A}, {A, A, A}, {F, F, F}, {A, A, A}, {F, F, F},
                               {F, F, F}, {A, A, A}, {F, F, F}, {A, A, A}, {F, F, F}, {A, A, A},
                               {F, F, F}, {F, F, F}, {F, F, F}, {F, F, F}, {F, F, F}},
};

Test(authz_names, roles_round_trip)
{
    static const char *const expected[ROLE__COUNT] = {
        "collectivite_agent", "collectivite_elu", "prefecture_instructeur", "prefecture_region",
        "financeur",          "anct_national",    "lecteur_national",
    };
    size_t i;

    for (i = 0; i < ROLE__COUNT; i++) {
        enum role r = ROLE__COUNT;

        cr_assert_str_eq(role_name((enum role)i), expected[i]);
        cr_assert(role_parse(expected[i], &r), "%s", expected[i]);
        cr_assert_eq(r, (enum role)i);
    }
    cr_assert_null(role_name(ROLE__COUNT));
    cr_assert_null(role_name((enum role) - 1));
}

Test(authz_names, role_parse_rejects_unknown)
{
    static const char *const bad[] = {"",
                                      "anct",
                                      "ANCT_NATIONAL",
                                      "anct_national ",
                                      " anct_national",
                                      "anct_nationale",
                                      "prefecture",
                                      "préfecture_instructeur",
                                      "collectivite_agent\n"};
    enum role r = ROLE_FINANCEUR;
    size_t i;

    for (i = 0; i < N_ELEMS(bad); i++)
        cr_assert_not(role_parse(bad[i], &r), "\"%s\"", bad[i]);
    cr_assert_eq(r, ROLE_FINANCEUR, "out untouched on failure");
    cr_assert_not(role_parse(NULL, &r));
    cr_assert_not(role_parse("financeur", NULL));
}

Test(authz_names, actions)
{
    cr_assert_str_eq(action_name(ACTION_HABILITATION_READ), "habilitation.lire");
    cr_assert_str_eq(action_name(ACTION_HABILITATION_GRANT), "habilitation.accorder");
    cr_assert_str_eq(action_name(ACTION_HABILITATION_REVOKE), "habilitation.revoquer");
    cr_assert_str_eq(action_name(ACTION_CLIENT_MANAGE), "client.gerer");
    cr_assert_str_eq(action_name(ACTION_CLIENT_ISSUE), "client.emettre");
    cr_assert_str_eq(action_name(ACTION_JOURNAL_READ), "journal.lire");
    cr_assert_str_eq(action_name(ACTION_ORGANISATION_CREATE), "organisation.creer");
    cr_assert_str_eq(action_name(ACTION_ORGANISATION_WRITE), "organisation.ecrire");
    cr_assert_str_eq(action_name(ACTION_TERRITOIRE_WRITE), "territoire.ecrire");
    cr_assert_str_eq(action_name(ACTION_CONVENTION_READ), "convention.lire");
    cr_assert_str_eq(action_name(ACTION_CONVENTION_WRITE), "convention.ecrire");
    cr_assert_str_eq(action_name(ACTION_CONVENTION_SIGN), "convention.signer");
    cr_assert_str_eq(action_name(ACTION_CONVENTION_TRANSITION), "convention.transition");
    cr_assert_str_eq(action_name(ACTION_STATISTIQUES_READ), "statistiques.lire");
    cr_assert_str_eq(action_name(ACTION_PROJET_READ), "projet.lire");
    cr_assert_str_eq(action_name(ACTION_PROJET_WRITE), "projet.ecrire");
    cr_assert_str_eq(action_name(ACTION_FICHE_READ), "fiche.lire");
    cr_assert_str_eq(action_name(ACTION_FICHE_WRITE), "fiche.ecrire");
    cr_assert_str_eq(action_name(ACTION_FICHE_TRANSITION), "fiche.transition");
    cr_assert_null(action_name(ACTION__COUNT));
    cr_assert_null(action_name((enum action) - 1));
}

Test(authz_fixtures, sirens_are_valid)
{
    static const char *const sirens[] = {SIREN_ST_SYMPHORIEN, SIREN_CHEVRIERES,
                                         SIREN_CC_MONTS_LYON, SIREN_AJACCIO,
                                         SIREN_CA_AJACCIEN,   SIREN_CDC};
    size_t i;

    for (i = 0; i < N_ELEMS(sirens); i++)
        cr_assert(siren_is_valid(sirens[i]), "%s", sirens[i]);
}

/* Every role × every action × {inside, outside, no target}: exact decision.
 * "No target" is checked both as NULL and as a target with no territorial
 * attribute (only a granted role). */
Test(authz_matrix, every_role_action_and_place)
{
    size_t r, a, w;

    for (r = 0; r < ROLE__COUNT; r++) {
        struct authz_principal p = principal_of((enum role)r);

        for (a = 0; a < ACTION__COUNT; a++) {
            for (w = 0; w < WHERE__COUNT; w++) {
                struct authz_target t;
                const struct authz_target *tp = &t;
                enum authz_decision want = matrix[r][a][w];
                enum authz_decision got;

                memset(&t, 0, sizeof t);
                if (w == IN)
                    t = inside_target();
                else if (w == OUT)
                    t = outside_target();
                else
                    tp = NULL;
                got = authz_decide(&p, (enum action)a, tp);
                cr_expect_eq(got, want, "%s %s %s: got %s, want %s", role_name((enum role)r),
                             action_name((enum action)a), where_names[w], decision_str(got),
                             decision_str(want));
                if (w == NONE) {
                    t.has_grant_role = true;
                    t.grant_role = ROLE_COLLECTIVITE_AGENT;
                    got = authz_decide(&p, (enum action)a, &t);
                    cr_expect_eq(got, want, "%s %s empty target: got %s, want %s",
                                 role_name((enum role)r), action_name((enum action)a),
                                 decision_str(got), decision_str(want));
                }
            }
        }
    }
}

/* R43. Saint-Symphorien-sur-Coise (69) belongs to the CC des Monts du
 * Lyonnais, which also holds Chevrières (42): the préfecture of the Loire must
 * not see or touch the territoire of the Rhône, even though the target's
 * SIRENs name an EPCI present in 42. */
Test(authz_r43, epci_spanning_two_departements_does_not_widen_scope)
{
    static const char *const sirens[] = {SIREN_ST_SYMPHORIEN, SIREN_CC_MONTS_LYON};
    struct authz_target t69 = {.departements = deps_69,
                               .departement_count = 1,
                               .regions = regs_84,
                               .region_count = 1,
                               .territoire = TERR_69,
                               .sirens = sirens,
                               .siren_count = N_ELEMS(sirens),
                               .has_grant_role = true,
                               .grant_role = ROLE_COLLECTIVITE_AGENT};
    struct authz_target t42 = t69;
    struct authz_principal loire = prefecture("42", NULL);
    struct authz_principal rhone = prefecture("69", NULL);
    struct authz_principal aura = principal_of(ROLE_PREFECTURE_REGION);

    t42.departements = deps_42;
    t42.territoire = TERR_42;

    cr_assert_eq(authz_decide(&loire, ACTION_JOURNAL_READ, &t69), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&loire, ACTION_HABILITATION_READ, &t69), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&loire, ACTION_HABILITATION_GRANT, &t69), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&loire, ACTION_HABILITATION_REVOKE, &t69), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t69), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_GRANT, &t69), AUTHZ_ALLOW);
    /* And the other way round: Chevrières's territoire is the Loire's. */
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t42), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_GRANT, &t42), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&loire, ACTION_JOURNAL_READ, &t42), AUTHZ_ALLOW);
    /* The région 84 holds both départements. */
    cr_assert_eq(authz_decide(&aura, ACTION_JOURNAL_READ, &t69), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&aura, ACTION_JOURNAL_READ, &t42), AUTHZ_ALLOW);
}

/* A grant touching 69 and 42 (e.g. a habilitation on the whole CC des Monts
 * du Lyonnais) needs every département: the Rhône alone may not. */
Test(authz_r43, grant_touching_two_departements_needs_both)
{
    struct authz_target t = inside_target();
    struct authz_principal rhone = prefecture("69", NULL);
    struct authz_principal both = prefecture("42", "69");

    t.departements = deps_69_42;
    t.departement_count = N_ELEMS(deps_69_42);
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&both, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW);
    /* Revoke: the Rhône may read it (one département suffices) but not end it. */
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_REVOKE, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&both, ACTION_HABILITATION_REVOKE, &t), AUTHZ_ALLOW);
    /* Reads: any département suffices, in any position. */
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    t.departements = (const char *const[]){"2A", "42", "69"};
    t.departement_count = 3;
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    t.departement_count = 2; /* 2A, 42 */
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
}

/* Codes are strings: Corsica's 2A/2B and the 3-character DROM codes. */
Test(authz_codes, corsica_and_drom_are_strings)
{
    struct authz_principal corse_du_sud = prefecture("2A", NULL);
    struct authz_principal reunion = prefecture("974", NULL);
    struct authz_principal p97 = prefecture("97", NULL);
    struct authz_principal p2 = prefecture("2", NULL);
    struct authz_target t = {.departements = (const char *const[]){"2B"},
                             .departement_count = 1,
                             .has_grant_role = true,
                             .grant_role = ROLE_COLLECTIVITE_ELU};

    cr_assert_eq(authz_decide(&corse_du_sud, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&corse_du_sud, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&p2, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    t.departements = (const char *const[]){"2A"};
    cr_assert_eq(authz_decide(&corse_du_sud, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&corse_du_sud, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW);

    t.departements = (const char *const[]){"974"};
    cr_assert_eq(authz_decide(&p97, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&p97, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&reunion, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&reunion, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW);
    t.departements = (const char *const[]){"97"};
    cr_assert_eq(authz_decide(&reunion, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    t.departements = (const char *const[]){"0974"};
    cr_assert_eq(authz_decide(&reunion, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
}

Test(authz_perimeter, exact_string_matches)
{
    struct authz_principal p = bare(ROLE_PREFECTURE_INSTRUCTEUR);

    add_dep(&p, "2A");
    add_dep(&p, "974");
    add_dep(&p, "01");
    add_reg(&p, "04");
    add_siren(&p, SIREN_CDC);
    add_terr(&p, TERR_69);

    cr_assert(perimeter_has_departement(&p.perimeter, "2A"));
    cr_assert(perimeter_has_departement(&p.perimeter, "974"));
    cr_assert(perimeter_has_departement(&p.perimeter, "01"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "2B"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "2a"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "97"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "9740"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "1"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "2"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, ""));
    cr_assert_not(perimeter_has_departement(&p.perimeter, NULL));
    cr_assert_not(perimeter_has_departement(NULL, "2A"));

    cr_assert(perimeter_has_region(&p.perimeter, "04"));
    cr_assert_not(perimeter_has_region(&p.perimeter, "4"));
    cr_assert_not(perimeter_has_region(&p.perimeter, "84"));
    cr_assert_not(perimeter_has_region(&p.perimeter, NULL));
    cr_assert_not(perimeter_has_region(NULL, "04"));

    cr_assert(perimeter_has_siren(&p.perimeter, SIREN_CDC));
    cr_assert_not(perimeter_has_siren(&p.perimeter, "18002002"));
    cr_assert_not(perimeter_has_siren(&p.perimeter, "1800200260"));
    cr_assert_not(perimeter_has_siren(&p.perimeter, SIREN_AJACCIO));
    cr_assert_not(perimeter_has_siren(&p.perimeter, NULL));
    cr_assert_not(perimeter_has_siren(NULL, SIREN_CDC));

    cr_assert(perimeter_has_territoire(&p.perimeter, TERR_69));
    cr_assert_not(perimeter_has_territoire(&p.perimeter, "pvd-84-69-10"));
    cr_assert_not(perimeter_has_territoire(&p.perimeter, "pvd-84-69-"));
    cr_assert_not(perimeter_has_territoire(&p.perimeter, "pvd-84-69-1-and-much-longer"));
    cr_assert_not(perimeter_has_territoire(&p.perimeter, NULL));
    cr_assert_not(perimeter_has_territoire(NULL, TERR_69));
}

/* Counts past PERIMETER_MAX are clamped; entries filling their array without a
 * NUL, and unused (empty) entries, never match. (Run under ASan too.) */
Test(authz_perimeter, bounds)
{
    struct authz_principal p = bare(ROLE_PREFECTURE_INSTRUCTEUR);

    p.perimeter.departement_count = SIZE_MAX;
    p.perimeter.region_count = PERIMETER_MAX + 1;
    p.perimeter.siren_count = SIZE_MAX;
    p.perimeter.territoire_count = SIZE_MAX;
    cr_assert_not(perimeter_has_departement(&p.perimeter, "69"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, ""));
    cr_assert_not(perimeter_has_region(&p.perimeter, "84"));
    cr_assert_not(perimeter_has_siren(&p.perimeter, SIREN_CDC));
    cr_assert_not(perimeter_has_territoire(&p.perimeter, TERR_69));

    memcpy(p.perimeter.departements[PERIMETER_MAX - 1], "974", 4);
    cr_assert(perimeter_has_departement(&p.perimeter, "974"), "last entry is read");
    memcpy(p.perimeter.departements[PERIMETER_MAX - 1], "9745", 4); /* no NUL */
    cr_assert_not(perimeter_has_departement(&p.perimeter, "9745"));
    cr_assert_not(perimeter_has_departement(&p.perimeter, "974"));
    memcpy(p.perimeter.departements[0], "2A\0B", 4);
    cr_assert(perimeter_has_departement(&p.perimeter, "2A"));

    p.perimeter.departement_count = 0;
    cr_assert_not(perimeter_has_departement(&p.perimeter, "2A"), "count 0: nothing");
}

/* Each role granting each role, inside the granter's perimeter (a target that
 * principal_of() contains) and outside it. REVOKE of an existing habilitation
 * with the same role and places: inside the same as GRANT; outside HIDE for
 * whoever may not read it. */
Test(authz_grants, every_granter_every_granted_role)
{
    size_t g, r;

    for (g = 0; g < ROLE__COUNT; g++) {
        struct authz_principal p = principal_of((enum role)g);

        for (r = 0; r < ROLE__COUNT; r++) {
            struct authz_target in = inside_target();
            struct authz_target out = outside_target();
            bool anct = g == ROLE_ANCT_NATIONAL;
            bool instr_coll = g == ROLE_PREFECTURE_INSTRUCTEUR &&
                              (r == ROLE_COLLECTIVITE_AGENT || r == ROLE_COLLECTIVITE_ELU);
            enum authz_decision want_in = anct || instr_coll ? AUTHZ_ALLOW : AUTHZ_FORBID;
            enum authz_decision want_out = anct ? AUTHZ_ALLOW : AUTHZ_FORBID;
            /* lecteur_national reads no habilitation anywhere: 403, never 404. */
            enum authz_decision want_revoke_out = anct                         ? AUTHZ_ALLOW
                                                  : g == ROLE_LECTEUR_NATIONAL ? AUTHZ_FORBID
                                                                               : AUTHZ_HIDE;
            const char *gn = role_name((enum role)g), *rn = role_name((enum role)r);

            in.grant_role = out.grant_role = (enum role)r;
            cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &in), want_in,
                         "%s grants %s inside", gn, rn);
            cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &out), want_out,
                         "%s grants %s outside", gn, rn);
            cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_REVOKE, &in), want_in,
                         "%s revokes %s inside", gn, rn);
            cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_REVOKE, &out), want_revoke_out,
                         "%s revokes %s outside", gn, rn);
        }
    }
}

/* Nobody grants a role of a higher rank than their own, whatever the target
 * (here: a target inside every perimeter, and a préfecture holding all of it). */
Test(authz_grants, rank_rule)
{
    static const int rank[ROLE__COUNT] = {
        [ROLE_COLLECTIVITE_AGENT] = 0,     [ROLE_COLLECTIVITE_ELU] = 0,  [ROLE_FINANCEUR] = 1,
        [ROLE_PREFECTURE_INSTRUCTEUR] = 2, [ROLE_PREFECTURE_REGION] = 2, [ROLE_ANCT_NATIONAL] = 3,
        [ROLE_LECTEUR_NATIONAL] = 3,
    };
    size_t g, r;

    for (g = 0; g < ROLE__COUNT; g++) {
        struct authz_principal p = principal_of((enum role)g);

        for (r = 0; r < ROLE__COUNT; r++) {
            struct authz_target t = inside_target();

            if (rank[r] <= rank[g])
                continue;
            t.grant_role = (enum role)r;
            cr_expect_neq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW,
                          "%s must not grant %s", role_name((enum role)g), role_name((enum role)r));
            cr_expect_neq(authz_decide(&p, ACTION_HABILITATION_REVOKE, &t), AUTHZ_ALLOW,
                          "%s must not revoke %s", role_name((enum role)g),
                          role_name((enum role)r));
        }
    }
    /* Equal rank is not enough for a préfecture: only collectivité roles. */
    {
        struct authz_principal p = prefecture("69", NULL);
        struct authz_target t = inside_target();

        t.grant_role = ROLE_PREFECTURE_INSTRUCTEUR;
        cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
        t.grant_role = ROLE_PREFECTURE_REGION;
        cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
        t.grant_role = ROLE_FINANCEUR;
        cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    }
    /* anct_national grants its own rank. */
    {
        struct authz_principal p = bare(ROLE_ANCT_NATIONAL);
        struct authz_target t = {.has_grant_role = true, .grant_role = ROLE_ANCT_NATIONAL};

        cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW);
    }
}

/* A grant must name the granted role and touch at least one département, all
 * known: empty perimeters, missing role, NULL or "" départements → FORBID. */
Test(authz_grants, prefecture_grant_needs_known_departements)
{
    struct authz_principal p = prefecture("69", NULL);
    struct authz_target t = inside_target();

    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW);

    t.has_grant_role = false;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "no role");
    t.has_grant_role = true;
    t.grant_role = ROLE__COUNT;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "bad role");
    t.grant_role = (enum role) - 1;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "bad role");
    t.grant_role = ROLE_COLLECTIVITE_ELU;

    t.departement_count = 0; /* sirens and territoire still inside: not enough */
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "empty");
    t.departements = NULL;
    t.departement_count = 3;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "NULL array");
    t.departements = (const char *const[]){"69", NULL};
    t.departement_count = 2;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "NULL entry");
    t.departements = (const char *const[]){NULL};
    t.departement_count = 1;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "only NULL");
    t.departements = (const char *const[]){"69", ""};
    t.departement_count = 2;
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "empty entry");
    t.departements = (const char *const[]){"69", "69"};
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW, "duplicate");

    /* A préfecture with an empty perimeter grants nothing. */
    p = bare(ROLE_PREFECTURE_INSTRUCTEUR);
    t = inside_target();
    cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&p, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
}

/* Reads skip NULL entries and NULL arrays; each role matches by its own key only. */
Test(authz_reads, matching_keys_and_null_entries)
{
    struct authz_principal agent = principal_of(ROLE_COLLECTIVITE_AGENT);
    struct authz_principal fin = principal_of(ROLE_FINANCEUR);
    struct authz_principal rhone = prefecture("69", NULL);
    struct authz_principal aura = principal_of(ROLE_PREFECTURE_REGION);
    struct authz_target t;

    /* Préfecture: NULL entries skipped, NULL array with a count ignored. */
    memset(&t, 0, sizeof t);
    t.departements = (const char *const[]){NULL, "", "69"};
    t.departement_count = 3;
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    t.departements = NULL;
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    /* ... and never by territoire, SIREN or région. */
    t = inside_target();
    t.departements = NULL;
    t.departement_count = 0;
    cr_assert_eq(authz_decide(&rhone, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&rhone, ACTION_HABILITATION_READ, &t), AUTHZ_HIDE);

    /* Région: by région only. */
    t = inside_target();
    t.regions = (const char *const[]){NULL, "84"};
    t.region_count = 2;
    cr_assert_eq(authz_decide(&aura, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    t.regions = NULL;
    cr_assert_eq(authz_decide(&aura, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);

    /* Collectivité: by territoire alone, by SIREN alone, never by département. */
    memset(&t, 0, sizeof t);
    t.territoire = TERR_69;
    cr_assert_eq(authz_decide(&agent, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&agent, ACTION_HABILITATION_READ, &t), AUTHZ_FORBID);
    t.territoire = TERR_2A;
    t.sirens = (const char *const[]){NULL, SIREN_AJACCIO, SIREN_ST_SYMPHORIEN};
    t.siren_count = 3;
    cr_assert_eq(authz_decide(&agent, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    t.siren_count = 2;
    cr_assert_eq(authz_decide(&agent, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
    t = inside_target();
    t.territoire = NULL;
    t.sirens = NULL;
    cr_assert_eq(authz_decide(&agent, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE, "69 alone");
    t.territoire = "";
    cr_assert_eq(authz_decide(&agent, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE, "empty id_pvd");

    /* Financeur: by SIREN only, not by the territoire it finances. */
    memset(&t, 0, sizeof t);
    t.sirens = (const char *const[]){SIREN_CDC};
    t.siren_count = 1;
    cr_assert_eq(authz_decide(&fin, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&fin, ACTION_HABILITATION_READ, &t), AUTHZ_FORBID);
    t = inside_target();
    t.sirens = NULL;
    cr_assert_eq(authz_decide(&fin, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
}

/* Issue 11 §2: subscriptions are decided by ownership. A machine client of
 * any role lists, creates and manages its own, never sees another's (404);
 * anct_national reads and manages all (a person creates none); other persons
 * nothing. */
Test(authz_abonnement, machines_own_anct_all_persons_nothing)
{
    struct authz_target own = {.abonnement = true, .is_own = true};
    struct authz_target other = {.abonnement = true, .is_own = false};
    size_t r;

    for (r = 0; r < ROLE__COUNT; r++) {
        struct authz_principal m = bare((enum role)r), person = bare((enum role)r);
        bool anct = r == ROLE_ANCT_NATIONAL;

        m.is_machine = true;
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_MANAGE, NULL), AUTHZ_ALLOW);
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_READ, NULL), AUTHZ_ALLOW);
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_MANAGE, &own), AUTHZ_ALLOW);
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_READ, &own), AUTHZ_ALLOW);
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_READ, &other),
                     anct ? AUTHZ_ALLOW : AUTHZ_HIDE, "%s", role_name((enum role)r));
        cr_assert_eq(authz_decide(&m, ACTION_ABONNEMENT_MANAGE, &other),
                     anct ? AUTHZ_ALLOW : AUTHZ_HIDE, "%s", role_name((enum role)r));
        cr_assert_eq(authz_decide(&person, ACTION_ABONNEMENT_MANAGE, NULL), AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&person, ACTION_ABONNEMENT_READ, NULL),
                     anct ? AUTHZ_ALLOW : AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&person, ACTION_ABONNEMENT_READ, &other),
                     anct ? AUTHZ_ALLOW : AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&person, ACTION_ABONNEMENT_MANAGE, &other),
                     anct ? AUTHZ_ALLOW : AUTHZ_FORBID);
    }
}

/* Total: NULL principal, out-of-range role or action → FORBID, never a crash. */
Test(authz_degenerate, null_and_out_of_range)
{
    struct authz_target t = inside_target();
    struct authz_principal p = bare(ROLE_ANCT_NATIONAL);
    size_t a;

    for (a = 0; a < ACTION__COUNT; a++) {
        cr_assert_eq(authz_decide(NULL, (enum action)a, &t), AUTHZ_FORBID);
        cr_assert_eq(authz_decide(NULL, (enum action)a, NULL), AUTHZ_FORBID);
    }
    cr_assert_eq(authz_decide(&p, ACTION__COUNT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&p, (enum action) - 1, &t), AUTHZ_FORBID);
    p.role = ROLE__COUNT;
    cr_assert_eq(authz_decide(&p, ACTION_JOURNAL_READ, &t), AUTHZ_FORBID);
    p.role = (enum role) - 1;
    cr_assert_eq(authz_decide(&p, ACTION_JOURNAL_READ, &t), AUTHZ_FORBID);
}

/* Each role matches by its own key only (domain.md §5): a perimeter whose
 * other lists hold the target's départements, région, territoire and SIRENs
 * (say, a badly built habilitation) gives no access, and no grant power. The
 * préfecture of the Loire holding the SIREN of the CC des Monts du Lyonnais
 * still does not see the Rhône's territoire (R43). */
Test(authz_perimeter, other_lists_are_ignored)
{
    size_t r;

    for (r = 0; r < ROLE__COUNT; r++) {
        struct authz_principal p = bare((enum role)r);
        struct authz_target t = inside_target();

        if (r == ROLE_ANCT_NATIONAL || r == ROLE_LECTEUR_NATIONAL)
            continue; /* national: no list matters */
        if (r != ROLE_PREFECTURE_INSTRUCTEUR)
            add_dep(&p, "69");
        if (r != ROLE_PREFECTURE_REGION)
            add_reg(&p, "84");
        if (r != ROLE_COLLECTIVITE_AGENT && r != ROLE_COLLECTIVITE_ELU) {
            add_terr(&p, TERR_69);
            if (r != ROLE_FINANCEUR)
                add_siren(&p, SIREN_ST_SYMPHORIEN);
        }
        cr_expect_eq(authz_decide(&p, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE, "%s journal",
                     role_name((enum role)r));
        cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_READ, &t), AUTHZ_HIDE, "%s read",
                     role_name((enum role)r));
        cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID, "%s grant",
                     role_name((enum role)r));
        cr_expect_eq(authz_decide(&p, ACTION_HABILITATION_REVOKE, &t), AUTHZ_HIDE, "%s revoke",
                     role_name((enum role)r));
    }
    {
        static const char *const sirens[] = {SIREN_ST_SYMPHORIEN, SIREN_CC_MONTS_LYON};
        struct authz_principal loire = prefecture("42", NULL);
        struct authz_target t = inside_target();

        add_siren(&loire, SIREN_CC_MONTS_LYON);
        add_reg(&loire, "84");
        t.sirens = sirens;
        t.siren_count = N_ELEMS(sirens);
        cr_assert_eq(authz_decide(&loire, ACTION_JOURNAL_READ, &t), AUTHZ_HIDE);
        cr_assert_eq(authz_decide(&loire, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    }
    /* A préfecture_region whose perimeter also lists départements grants nothing. */
    {
        struct authz_principal aura = principal_of(ROLE_PREFECTURE_REGION);
        struct authz_target t = inside_target();

        add_dep(&aura, "69");
        cr_assert_eq(authz_decide(&aura, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&aura, ACTION_HABILITATION_REVOKE, &t), AUTHZ_FORBID);
    }
}

/* Issue 8 §1: an organisation is written where it acts. The État signataire
 * of a convention of the Nièvre (58, région 27) acts in 58 only: the
 * préfecture of Saône-et-Loire (71) may not rename it, the Nièvre's may, and
 * so may the région 27's; a collectivité only for its own SIREN (not because
 * it shares a territoire); an organisation acting nowhere: the ANCT only. */
Test(authz_organisations, written_where_it_acts)
{
    static const char *const deps_58[] = {"58"};
    static const char *const regs_27[] = {"27"};
    static const char *const own[] = {SIREN_ST_SYMPHORIEN};
    struct authz_target etat_58 = {
        .departements = deps_58, .departement_count = 1, .regions = regs_27, .region_count = 1};
    struct authz_target commune = {.departements = deps_69,
                                   .departement_count = 1,
                                   .regions = regs_84,
                                   .region_count = 1,
                                   .sirens = own,
                                   .siren_count = 1};
    struct authz_target nowhere = {.sirens = own, .siren_count = 1};
    struct authz_principal p71 = prefecture("71", NULL), p58 = prefecture("58", NULL);
    struct authz_principal r27 = bare(ROLE_PREFECTURE_REGION);
    struct authz_principal elu = bare(ROLE_COLLECTIVITE_ELU), other = bare(ROLE_COLLECTIVITE_ELU);
    struct authz_principal anct = bare(ROLE_ANCT_NATIONAL);

    add_reg(&r27, "27");
    add_siren(&elu, SIREN_ST_SYMPHORIEN);
    add_terr(&other, TERR_69);
    add_siren(&other, SIREN_CHEVRIERES);
    cr_assert_eq(authz_decide(&p71, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&p58, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&r27, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&elu, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&anct, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_ALLOW);
    /* Its own users: the SIREN, not a shared territoire. */
    cr_assert_eq(authz_decide(&elu, ACTION_ORGANISATION_WRITE, &commune), AUTHZ_ALLOW);
    commune.territoire = TERR_69;
    cr_assert_eq(authz_decide(&other, ACTION_ORGANISATION_WRITE, &commune), AUTHZ_ALLOW,
                 "a target naming a territoire matches it: the handler passes none");
    commune.territoire = NULL;
    cr_assert_eq(authz_decide(&other, ACTION_ORGANISATION_WRITE, &commune), AUTHZ_FORBID);
    /* Acting nowhere: a change is the ANCT's only; a creation anyone's but the
     * financeur's and the lecteur's. */
    cr_assert_eq(authz_decide(&p58, ACTION_ORGANISATION_WRITE, &nowhere), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&elu, ACTION_ORGANISATION_WRITE, &nowhere), AUTHZ_ALLOW,
                 "its own SIREN still makes it the elu's own organisation");
    cr_assert_eq(authz_decide(&anct, ACTION_ORGANISATION_WRITE, &nowhere), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&p71, ACTION_ORGANISATION_CREATE, &nowhere), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&other, ACTION_ORGANISATION_CREATE, &nowhere), AUTHZ_ALLOW);
    /* Creation of a commune's organisation: its préfecture, not another. */
    cr_assert_eq(authz_decide(&p71, ACTION_ORGANISATION_CREATE, &etat_58), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&p58, ACTION_ORGANISATION_CREATE, &etat_58), AUTHZ_ALLOW);
    {
        struct authz_principal f = principal_of(ROLE_FINANCEUR);
        struct authz_principal l = bare(ROLE_LECTEUR_NATIONAL);

        cr_assert_eq(authz_decide(&f, ACTION_ORGANISATION_CREATE, &nowhere), AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&l, ACTION_ORGANISATION_CREATE, &nowhere), AUTHZ_FORBID);
        cr_assert_eq(authz_decide(&l, ACTION_ORGANISATION_WRITE, &etat_58), AUTHZ_FORBID);
    }
}

/* Issue 8 §1: a machine client issues no credential and grants no national
 * role, whatever its role; a person of the same role does. */
Test(authz_machines, only_a_person_issues_credentials_and_national_roles)
{
    struct authz_principal person = bare(ROLE_ANCT_NATIONAL), machine = person;
    struct authz_target t = {.has_grant_role = true};
    size_t r;

    machine.is_machine = true;
    cr_assert_eq(authz_decide(&person, ACTION_CLIENT_ISSUE, NULL), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&machine, ACTION_CLIENT_ISSUE, NULL), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&machine, ACTION_CLIENT_MANAGE, NULL), AUTHZ_ALLOW,
                 "it still lists, reads and revokes clients");
    for (r = 0; r < ROLE__COUNT; r++) {
        bool national = r == ROLE_ANCT_NATIONAL || r == ROLE_LECTEUR_NATIONAL;

        t.grant_role = (enum role)r;
        cr_expect_eq(authz_decide(&person, ACTION_HABILITATION_GRANT, &t), AUTHZ_ALLOW, "%s",
                     role_name((enum role)r));
        cr_expect_eq(authz_decide(&machine, ACTION_HABILITATION_GRANT, &t),
                     national ? AUTHZ_FORBID : AUTHZ_ALLOW, "machine grants %s",
                     role_name((enum role)r));
    }
    t.has_grant_role = false;
    cr_assert_eq(authz_decide(&machine, ACTION_HABILITATION_GRANT, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&machine, ACTION_HABILITATION_GRANT, NULL), AUTHZ_FORBID);
    /* A machine préfecture still grants collectivité roles in its départements. */
    {
        struct authz_principal p = prefecture("69", NULL);
        struct authz_target in = inside_target();

        p.is_machine = true;
        cr_assert_eq(authz_decide(&p, ACTION_HABILITATION_GRANT, &in), AUTHZ_ALLOW);
    }
}

/* lecteur_national reads as the ANCT where reads are filtered in SQL. */
Test(authz_names, lecteur_national_reads_as_anct)
{
    size_t r;

    cr_assert_eq(role_reads_as(ROLE_LECTEUR_NATIONAL), ROLE_ANCT_NATIONAL);
    for (r = 0; r < ROLE__COUNT; r++)
        if (r != ROLE_LECTEUR_NATIONAL)
            cr_assert_eq(role_reads_as((enum role)r), (enum role)r);
    cr_assert_eq(role_reads_as(ROLE__COUNT), ROLE__COUNT);
}

/* Issue 9, fiches action: a financeur is inside the fiches it finances
 * (financeur_sirens) or leads (sirens), not the rest of the territoire; a
 * SIREN among the financeurs never puts a fiche inside a collectivité's or a
 * préfecture's perimeter. A fiche of Ajaccio (2A) co-financed by the CDC and,
 * for the sake of the test, by the commune of Saint-Symphorien (69). */
Test(authz_fiches, financeurs_see_the_fiches_they_finance)
{
    static const char *const financeurs[] = {SIREN_CDC, SIREN_ST_SYMPHORIEN};
    static const char *const unknown[] = {NULL, ""};
    static const char *const led_by_cdc[] = {SIREN_AJACCIO, SIREN_CDC};
    struct authz_target t = outside_target();
    struct authz_principal fin = principal_of(ROLE_FINANCEUR);
    struct authz_principal agent = principal_of(ROLE_COLLECTIVITE_AGENT);
    struct authz_principal elu = principal_of(ROLE_COLLECTIVITE_ELU);
    struct authz_principal rhone = principal_of(ROLE_PREFECTURE_INSTRUCTEUR);
    struct authz_principal corse = prefecture("2A", NULL);

    t.has_grant_role = false;
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_READ, &t), AUTHZ_HIDE, "not a financeur yet");

    t.financeur_sirens = financeurs;
    t.financeur_siren_count = N_ELEMS(financeurs);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_WRITE, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_TRANSITION, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&fin, ACTION_JOURNAL_READ, &t), AUTHZ_ALLOW, "the fiche's journal");
    /* the commune financing a fiche elsewhere neither reads nor edits it */
    cr_assert_eq(authz_decide(&agent, ACTION_FICHE_READ, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&agent, ACTION_FICHE_WRITE, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&elu, ACTION_FICHE_TRANSITION, &t), AUTHZ_HIDE);
    cr_assert_eq(authz_decide(&rhone, ACTION_FICHE_READ, &t), AUTHZ_HIDE);
    /* the préfecture of the fiche's département reads it, may not edit it */
    cr_assert_eq(authz_decide(&corse, ACTION_FICHE_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&corse, ACTION_FICHE_WRITE, &t), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&corse, ACTION_FICHE_TRANSITION, &t), AUTHZ_FORBID);

    /* unknown financeurs (NULL, "") put nothing inside */
    t.financeur_sirens = unknown;
    t.financeur_siren_count = N_ELEMS(unknown);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_READ, &t), AUTHZ_HIDE);
    /* a NULL array with a count is no financeur either */
    t.financeur_sirens = NULL;
    t.financeur_siren_count = 2;
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_READ, &t), AUTHZ_HIDE);

    /* the financeur as maître d'ouvrage (sirens) reads the fiche it leads */
    t.financeur_siren_count = 0;
    t.sirens = led_by_cdc;
    t.siren_count = N_ELEMS(led_by_cdc);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_READ, &t), AUTHZ_ALLOW);
    cr_assert_eq(authz_decide(&fin, ACTION_FICHE_WRITE, &t), AUTHZ_FORBID);
}
