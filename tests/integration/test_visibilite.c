/* Who may see which convention exists twice in the service: the lists filter
 * in SQL (convention_visible, db/migrations/0006_conventions.sql) and a single
 * read decides in domain/authz.c on the convention's territorial scope. This
 * suite holds them to one rule (issue 8 §5): for every caller below and
 * every convention, "listed by GET /conventions" ⇔ "GET /conventions/{id}
 * answers 200" (and 404 otherwise), with both outcomes seen for the
 * territorial roles so that agreement is not vacuous.
 *
 * Test data: two territoires in départements 89 (région 27) and 29 (région
 * 53), used by no other suite; financeurs are EPCIs of 35 and 22, one of
 * them signataire of the first territoire's convention. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

/* A small commune of département dep that no territoire holds yet: its code,
 * SIREN and EPCI SIREN, from the referential. */
static void pick_commune(const char *dep, size_t skip, char insee[6], char siren[10], char epci[10])
{
    char path[160];
    struct http_response r;
    snprintf(path, sizeof path,
             "/api/v1/communes?departement=%s&population_min=500&population_max=3000&limite=20",
             dep);
    http_get(path, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *elements = json_object_get(r.json, "elements");
    for (size_t i = skip; i < json_array_size(elements); i++) {
        json_t *c = json_array_get(elements, i);
        if (!fx_str(c, "siren") || !fx_str(c, "epci_siren"))
            continue;
        snprintf(insee, 6, "%s", fx_str(c, "code_insee"));
        snprintf(siren, 10, "%s", fx_str(c, "siren"));
        snprintf(epci, 10, "%s", fx_str(c, "epci_siren"));
        http_response_release(&r);
        return;
    }
    cr_assert_fail("no commune with an EPCI in %s: " HTTP_BODY, dep, r.body);
}

struct terr {
    char id_pvd[32];
    char insee[6], siren[10], epci_siren[10];
    char commune[37], epci[37], etat[37];
    char convention[40];
};

/* The territoire id_pvd (one commune of dep, and one of dep2 when not NULL)
 * and an adhésion draft of it, signed by the first commune, its EPCI, the
 * État and the financeur when not NULL. */
static void terr_with_convention(struct terr *t, const char *id_pvd, const char *dep,
                                 const char *dep2, size_t skip, const char *financeur)
{
    struct fx_caller admin;
    struct http_response r;
    char body[2000];
    fx_admin(&admin);
    snprintf(t->id_pvd, sizeof t->id_pvd, "%s", id_pvd);
    pick_commune(dep, skip, t->insee, t->siren, t->epci_siren);
    if (dep2) {
        char insee2[6], siren2[10], epci2[10];
        pick_commune(dep2, skip, insee2, siren2, epci2);
        snprintf(body, sizeof body,
                 "{\"id_pvd\":\"%s\",\"communes\":[\"%s\",\"%s\"],\"epcis\":[\"%s\",\"%s\"]}",
                 id_pvd, t->insee, insee2, t->epci_siren, epci2);
    } else {
        snprintf(body, sizeof body, "{\"id_pvd\":\"%s\",\"communes\":[\"%s\"]}", id_pvd, t->insee);
    }
    fx_call(&admin, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert(r.status == 201 || r.status == 409, "territoire: " HTTP_BODY, r.body);
    http_response_release(&r);
    fx_organisation(t->siren, "commune", "Commune", t->commune);
    fx_organisation(t->epci_siren, "epci", "EPCI", t->epci);
    fx_call(&admin, "POST", "/api/v1/organisations", "{\"nature\":\"etat\",\"nom\":\"État\"}", NULL,
            &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(t->etat, sizeof t->etat, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    char extra[300] = "";
    if (financeur)
        snprintf(extra, sizeof extra,
                 ",{\"organisation_id\":\"%s\",\"role\":\"financeur\",\"representant_nom\":\"D\","
                 "\"representant_qualite\":\"Directeur\"}",
                 financeur);
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"%s\",\"intitule\":\"Adhésion\","
             "\"moyens_ingenierie\":\"Chef de projet\",\"signataires\":["
             "{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\",\"representant_nom\":\"M\","
             "\"representant_qualite\":\"Maire\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"epci\",\"representant_nom\":\"P\","
             "\"representant_qualite\":\"Président\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"etat\",\"representant_nom\":\"Préfet\","
             "\"representant_qualite\":\"Préfet\"}%s]}",
             id_pvd, t->commune, t->epci, t->etat, extra);
    fx_call(&admin, "POST", "/api/v1/conventions", body, NULL, &r);
    if (r.status == 409) { /* a rerun on the same database: the active one */
        http_response_release(&r);
        char path[160];
        snprintf(path, sizeof path, "/api/v1/conventions?id_pvd=%s&type=adhesion", id_pvd);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
        snprintf(t->convention, sizeof t->convention, "%s",
                 fx_str(json_array_get(json_object_get(r.json, "elements"), 0), "id"));
    } else {
        cr_assert_eq(r.status, 201, "convention: " HTTP_BODY, r.body);
        snprintf(t->convention, sizeof t->convention, "%s", fx_str(r.json, "id"));
    }
    http_response_release(&r);
}

/* Is id among the conventions c lists for territoire id_pvd? */
static bool listed(const struct fx_caller *c, const char *id_pvd, const char *id)
{
    char path[200];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/conventions?id_pvd=%s&limite=500", id_pvd);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        if (fx_str(e, "id") && strcmp(fx_str(e, "id"), id) == 0)
            found = true;
    }
    http_response_release(&r);
    return found;
}

static bool readable(const struct fx_caller *c, const char *id)
{
    char path[160];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/conventions/%s", id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert(r.status == 200 || r.status == 404, "GET %s: %ld " HTTP_BODY, path, r.status, r.body);
    bool ok = r.status == 200;
    http_response_release(&r);
    return ok;
}

struct caller_case {
    const char *label;
    const char *role;
    char perimetre[200];
    int expect[3]; /* per territoire: 1 sees, 0 does not */
};

Test(visibilite, the_lists_and_the_single_reads_agree_for_every_caller, .timeout = 120)
{
    struct terr t1, t2, t3;
    char financeur[37], financeur_siren[10] = "", other_siren[10] = "";
    struct fx_caller admin;
    fx_admin(&admin);
    /* Financeurs: EPCIs of départements 35 and 22 (no territoire here) serve as such. */
    char insee[6], siren[10];
    pick_commune("35", 0, insee, siren, financeur_siren);
    fx_organisation(financeur_siren, "epci", "Financeur", financeur);
    pick_commune("22", 0, insee, siren, other_siren);

    terr_with_convention(&t1, "pvd-27-89-950", "89", NULL, 0, financeur);
    terr_with_convention(&t2, "pvd-53-29-951", "29", NULL, 0, NULL);
    /* A territoire of two départements (issue 8 §3), 89 and 21. */
    terr_with_convention(&t3, "pvd-27-8921-952", "89", "21", 3, NULL);

    struct caller_case cases[] = {
        {"anct", "anct_national", "{}", {1, 1, 1}},
        {"lecteur national", "lecteur_national", "{}", {1, 1, 1}},
        {"préfecture 89", "prefecture_instructeur", "{\"departements\":[\"89\"]}", {1, 0, 1}},
        {"préfecture 29", "prefecture_instructeur", "{\"departements\":[\"29\"]}", {0, 1, 0}},
        {"préfecture 21", "prefecture_instructeur", "{\"departements\":[\"21\"]}", {0, 0, 1}},
        {"préfecture 58", "prefecture_instructeur", "{\"departements\":[\"58\"]}", {0, 0, 0}},
        {"région 27", "prefecture_region", "{\"regions\":[\"27\"]}", {1, 0, 1}},
        {"région 53", "prefecture_region", "{\"regions\":[\"53\"]}", {0, 1, 0}},
        {"agent de la commune 1", "collectivite_agent", "", {1, 0, 0}},
        {"agent du territoire 2", "collectivite_agent", "", {0, 1, 0}},
        {"élu de l'EPCI 2", "collectivite_elu", "", {0, 1, 0}},
        {"financeur signataire de 1", "financeur", "", {1, 0, 0}},
        {"autre financeur", "financeur", "", {0, 0, 0}},
    };
    enum { AGENT1 = 8, AGENT2, ELU2, FINANCEUR1, FINANCEUR_AUTRE };
    snprintf(cases[AGENT1].perimetre, sizeof cases[AGENT1].perimetre, "{\"sirens\":[\"%s\"]}",
             t1.siren);
    snprintf(cases[AGENT2].perimetre, sizeof cases[AGENT2].perimetre, "{\"territoires\":[\"%s\"]}",
             t2.id_pvd);
    snprintf(cases[ELU2].perimetre, sizeof cases[ELU2].perimetre, "{\"sirens\":[\"%s\"]}",
             t2.epci_siren);
    snprintf(cases[FINANCEUR1].perimetre, sizeof cases[FINANCEUR1].perimetre,
             "{\"sirens\":[\"%s\"]}", financeur_siren);
    snprintf(cases[FINANCEUR_AUTRE].perimetre, sizeof cases[FINANCEUR_AUTRE].perimetre,
             "{\"sirens\":[\"%s\"]}", other_siren);

    const struct terr *terrs[3] = {&t1, &t2, &t3};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx_caller c;
        if (strcmp(cases[i].role, "anct_national") == 0)
            c = admin;
        else
            fx_caller_with(&c, cases[i].role, cases[i].perimetre);
        for (size_t k = 0; k < 3; k++) {
            bool in_list = listed(&c, terrs[k]->id_pvd, terrs[k]->convention);
            bool in_read = readable(&c, terrs[k]->convention);
            cr_assert_eq(in_list, in_read,
                         "%s, convention of %s: listed %d (SQL convention_visible) but read %d "
                         "(domain/authz.c)",
                         cases[i].label, terrs[k]->id_pvd, in_list, in_read);
            cr_assert_eq(in_read, cases[i].expect[k] == 1,
                         "%s, convention of %s: sees %d, expected %d", cases[i].label,
                         terrs[k]->id_pvd, in_read, cases[i].expect[k]);
        }
    }
}

/* The lists' and figures' département filter finds a territoire of two
 * départements under each of them, and the figures equal the list totals. */
Test(visibilite, a_territoire_of_two_departements_is_listed_and_counted_under_both, .timeout = 60)
{
    struct terr t3;
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    terr_with_convention(&t3, "pvd-27-8921-953", "89", "21", 5, NULL);
    static const char *const deps[] = {"89", "21"};
    for (size_t i = 0; i < 2; i++) {
        char path[200];
        snprintf(path, sizeof path, "/api/v1/conventions?departement=%s&limite=500", deps[i]);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
        bool found = false;
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "elements"), k, e)
        {
            if (strcmp(fx_str(e, "id"), t3.convention) == 0)
                found = true;
        }
        cr_assert(found, "?departement=%s lists the convention of %s", deps[i], t3.id_pvd);
        json_int_t total = json_integer_value(json_object_get(r.json, "total"));
        http_response_release(&r);
        snprintf(path, sizeof path, "/api/v1/statistiques/conventions?departement=%s", deps[i]);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
        cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), total,
                     "figures of %s equal the list total: " HTTP_BODY, deps[i], r.body);
        http_response_release(&r);
    }
}
