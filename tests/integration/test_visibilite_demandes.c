/* Who may see which demande de subvention and which poste de chef de projet
 * exists twice in the service, as for conventions (test_visibilite.c) and
 * fiches (test_fiches_liste.c): the lists read their rows FROM the SQL
 * functions demandes_visibles and postes_visibles (migration 0029), a single
 * read decides in domain/authz.c on the target demande_access_load /
 * poste_access_load builds. This suite holds them to one rule: for every
 * caller below and every request and post of the data set, "listed" ⇔ "GET
 * answers 200" (404 otherwise), the list's total is the number of elements
 * its pages hold, and each answer is the expected one — every branch of the
 * rule is seen to admit and to refuse: national roles, préfecture by
 * département, préfecture de région by région and DSIL only (R38), a
 * collectivité by territoire, by the SIREN of a commune or of an EPCI of the
 * territoire, by its SIREN as demandeur or employer, a financeur by the
 * request's financeur_id, by a line of the fiche with the request's
 * dispositif, by a year of the post it pays, and callers outside (another
 * département, another région, a commune of the same département in no
 * territoire) that see none of them.
 *
 * Test data: Lot-et-Garonne (47, région 75), used by no other suite of the
 * shared database: pvd-75-47-951 Casteljaloux (47052, EPCI 244701355,
 * adhésion signed) and pvd-75-47-952 Fumel (47106, EPCI 200068930, adhésion
 * signed); Boé (214700312), a commune of the 47 in no territoire;
 * financeurs 130047004, 130047012 and 130047020. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define T1_PVD   "pvd-75-47-951"
#define T1_SIREN "214700528"
#define T1_EPCI  "244701355"
#define T2_PVD   "pvd-75-47-952"
#define T2_SIREN "214701062"
#define T2_EPCI  "200068930"
#define F_DSIL   "130047004" /* financeur_id of the DSIL request of t1 */
#define F_LIGNE  "130047012" /* FNADT line of t2's fiche */
#define F_BDT    "130047020" /* pays the Banque des Territoires share of t2's post */

/* A territoire of the 47 with its adhésion signed (R11 for the posts'
 * years) and a fiche; when ligne is not NULL, the fiche's plan de
 * financement has an FNADT line of that organisation (and the commune's own
 * share, R29). */
struct terr {
    struct fx_fiche_territoire t;
    struct fx_caller agent, elu, prefecture;
    char fiche[37];
};

static void terr_init(struct terr *t, const char *id_pvd, const char *insee, const char *siren,
                      const char *epci, const char *ligne)
{
    char perimetre[120], seance[11], etat[37], extra[600];
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_day(-30, seance);
    fx_fiche_territoire(id_pvd, insee, siren, epci, seance, &t->t);
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren);
    fx_caller_with(&t->agent, "collectivite_agent", perimetre);
    fx_caller_with(&t->elu, "collectivite_elu", perimetre);
    fx_caller_with(&t->prefecture, "prefecture_instructeur", "{\"departements\":[\"47\"]}");
    fx_call(&admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture de Lot-et-Garonne\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(etat, sizeof etat, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    fx_adhesion_signee(&t->t, etat, &t->agent, &t->elu, &t->prefecture);
    if (ligne)
        snprintf(extra, sizeof extra,
                 "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": \"FNADT\", "
                 "\"nature_financeur\": \"public\", \"montant_centimes\": 1000000, \"statut\": "
                 "\"sollicite\"}, {\"financeur_id\": \"%s\", \"dispositif\": \"autofinancement\", "
                 "\"nature_financeur\": \"public\", \"montant_centimes\": 9000000, \"statut\": "
                 "\"envisage\"}]",
                 ligne, t->t.commune_org);
    fx_fiche(&t->agent, &t->t, "V1", ligne ? extra : NULL, t->fiche, NULL);
}

/* A poste serving t employed by employeur (an organisation id), created by
 * t's agent (201 asserted); when bdt is not NULL, its 2025 year has a Banque
 * des Territoires share paid by bdt. */
static void poste(const struct terr *t, const char *employeur, const char *bdt, char id[37])
{
    char body[400], path[160];
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"%s\"],\"quotite\":10000,"
             "\"date_recrutement\":\"2024-01-01\",\"type_contrat\":\"contrat_de_projet\"}",
             employeur, t->t.id_pvd);
    fx_create(&t->agent, "/api/v1/postes-chef-de-projet", body, id, NULL);
    if (!bdt)
        return;
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees/2025", id);
    snprintf(body, sizeof body,
             "{\"cout_charge_annuel_centimes\":8000000,\"avec_anah\":false,"
             "\"etude_pre_operationnelle_anah\":false,\"part_anct_etat_centimes\":3000000,"
             "\"part_bdt_centimes\":1000000,\"part_anah_centimes\":0,"
             "\"financeur_bdt_id\":\"%s\"}",
             bdt);
    fx_call(&t->agent, "PUT", path, body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* Every id c lists at path (pages of two, following suivant) into ids (at
 * most max), after asserting the total equals the number listed. */
static size_t list_all(const struct fx_caller *c, const char *label, const char *path,
                       char (*ids)[37], size_t max)
{
    char url[400];
    size_t n = 0;
    long total = -1;
    snprintf(url, sizeof url, "%s", path);
    for (int page = 0; page < 200; page++) {
        struct http_response r;
        fx_call(c, "GET", url, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s %s: " HTTP_BODY, label, url, r.body);
        long t = (long)json_integer_value(json_object_get(r.json, "total"));
        cr_assert(total < 0 || total == t, "%s: the total changes between pages", label);
        total = t;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "elements"), i, e)
        {
            cr_assert(n < max, "%s: more than %zu elements", label, max);
            snprintf(ids[n++], 37, "%s", fx_str(e, "id"));
        }
        const char *next = fx_str(r.json, "suivant");
        if (next)
            snprintf(url, sizeof url, "%s&curseur=%s", path, next);
        http_response_release(&r);
        if (!next)
            break;
    }
    cr_assert_eq((long)n, total, "%s %s: total %ld for %zu elements", label, path, total, n);
    return n;
}

/* Whether c reads collection/id: 200 true, 404 false (anything else fails). */
static bool readable(const struct fx_caller *c, const char *collection, const char *id)
{
    char path[160];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/%s/%s", collection, id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert(r.status == 200 || r.status == 404, "GET %s: %ld " HTTP_BODY, path, r.status, r.body);
    bool ok = r.status == 200;
    http_response_release(&r);
    return ok;
}

#define N_DEMANDES 5
#define N_POSTES   3

struct caller_case {
    const char *label, *role, *perimetre;
    /* 1 sees, 0 does not: d1 (t1 DETR), d2 (t1 DSIL, financeur_id F_DSIL), d3 (t2 FNADT,
     * F_LIGNE's line), d4 (t2 DETR), d5 (t2 DETR whose demandeur is t1's commune); p1 (t1),
     * p2 (t2, 2025 paid by F_BDT), p3 (t2, employed by t1's commune) */
    int demandes[N_DEMANDES], postes[N_POSTES];
};

Test(visibilite_demandes, the_lists_and_the_single_reads_agree_for_every_caller, .timeout = 240)
{
    struct terr t1, t2;
    char f_dsil[37], f_ligne[37], f_bdt[37];
    fx_organisation(F_DSIL, "operateur", "Fonds de visibilité", f_dsil);
    fx_organisation(F_LIGNE, "operateur", "Fondation de la ligne", f_ligne);
    fx_organisation(F_BDT, "operateur", "Caisse de la visibilité", f_bdt);
    terr_init(&t1, T1_PVD, "47052", T1_SIREN, T1_EPCI, NULL);
    terr_init(&t2, T2_PVD, "47106", T2_SIREN, T2_EPCI, f_ligne);

    char d[N_DEMANDES][37], p[N_POSTES][37];
    fx_demande(&t1.agent, "DETR", t1.t.commune_org, t1.fiche, NULL, d[0]);
    fx_demande(&t1.agent, "DSIL", t1.t.commune_org, t1.fiche, f_dsil, d[1]);
    fx_demande(&t2.agent, "FNADT", t2.t.commune_org, t2.fiche, NULL, d[2]);
    fx_demande(&t2.agent, "DETR", t2.t.commune_org, t2.fiche, NULL, d[3]);
    fx_demande(&t2.agent, "DETR", t1.t.commune_org, t2.fiche, NULL, d[4]);
    poste(&t1, t1.t.commune_org, NULL, p[0]);
    poste(&t2, t2.t.commune_org, f_bdt, p[1]);
    poste(&t2, t1.t.commune_org, NULL, p[2]);

    static const struct caller_case cases[] = {
        {"anct", "anct_national", "{}", {1, 1, 1, 1, 1}, {1, 1, 1}},
        {"lecteur national", "lecteur_national", "{}", {1, 1, 1, 1, 1}, {1, 1, 1}},
        {"préfecture 47",
         "prefecture_instructeur",
         "{\"departements\":[\"47\"]}",
         {1, 1, 1, 1, 1},
         {1, 1, 1}},
        {"préfecture 33",
         "prefecture_instructeur",
         "{\"departements\":[\"33\"]}",
         {0, 0, 0, 0, 0},
         {0, 0, 0}},
        {"région 75", "prefecture_region", "{\"regions\":[\"75\"]}", {0, 1, 0, 0, 0}, {1, 1, 1}},
        {"région 76", "prefecture_region", "{\"regions\":[\"76\"]}", {0, 0, 0, 0, 0}, {0, 0, 0}},
        {"agent du territoire 1",
         "collectivite_agent",
         "{\"territoires\":[\"" T1_PVD "\"]}",
         {1, 1, 0, 0, 0},
         {1, 0, 0}},
        {"agent de la commune 1",
         "collectivite_agent",
         "{\"sirens\":[\"" T1_SIREN "\"]}",
         {1, 1, 0, 0, 1},
         {1, 0, 1}},
        {"élu de l'EPCI 2",
         "collectivite_elu",
         "{\"sirens\":[\"" T2_EPCI "\"]}",
         {0, 0, 1, 1, 1},
         {0, 1, 1}},
        {"agent de Boé (47, hors territoire)",
         "collectivite_agent",
         "{\"sirens\":[\"214700312\"]}",
         {0, 0, 0, 0, 0},
         {0, 0, 0}},
        {"financeur de d2",
         "financeur",
         "{\"sirens\":[\"" F_DSIL "\"]}",
         {0, 1, 0, 0, 0},
         {0, 0, 0}},
        {"financeur de la ligne FNADT",
         "financeur",
         "{\"sirens\":[\"" F_LIGNE "\"]}",
         {0, 0, 1, 0, 0},
         {0, 0, 0}},
        {"financeur du poste 2",
         "financeur",
         "{\"sirens\":[\"" F_BDT "\"]}",
         {0, 0, 0, 0, 0},
         {0, 1, 0}},
        {"financeur de la commune 1",
         "financeur",
         "{\"sirens\":[\"" T1_SIREN "\"]}",
         {1, 1, 0, 0, 1},
         {1, 0, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct caller_case *k = &cases[i];
        struct fx_caller c;
        if (strcmp(k->role, "anct_national") == 0)
            fx_admin(&c);
        else
            fx_caller_with(&c, k->role, k->perimetre);
        char ids[64][37];
        size_t n =
            list_all(&c, k->label, "/api/v1/demandes-subvention?departement=47&limite=2", ids, 64);
        for (size_t j = 0; j < N_DEMANDES; j++) {
            bool listed = fx_ids_has(ids, n, d[j]);
            bool read = readable(&c, "demandes-subvention", d[j]);
            cr_assert_eq(listed, read,
                         "%s, demande d%zu: listed %d (SQL demandes_visibles) but read %d "
                         "(domain/authz.c)",
                         k->label, j + 1, listed, read);
            cr_assert_eq(read, k->demandes[j] == 1, "%s, demande d%zu: sees %d, expected %d",
                         k->label, j + 1, read, k->demandes[j]);
        }
        n = list_all(&c, k->label, "/api/v1/postes-chef-de-projet?departement=47&limite=2", ids,
                     64);
        for (size_t j = 0; j < N_POSTES; j++) {
            bool listed = fx_ids_has(ids, n, p[j]);
            bool read = readable(&c, "postes-chef-de-projet", p[j]);
            cr_assert_eq(listed, read,
                         "%s, poste p%zu: listed %d (SQL postes_visibles) but read %d "
                         "(domain/authz.c)",
                         k->label, j + 1, listed, read);
            cr_assert_eq(read, k->postes[j] == 1, "%s, poste p%zu: sees %d, expected %d", k->label,
                         j + 1, read, k->postes[j]);
        }
    }
}
