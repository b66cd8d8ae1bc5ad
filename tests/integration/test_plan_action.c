/* The plan d'action over HTTP (issue #9 §1): the empty plan of a territoire
 * never written, PATCH with If-Match (428, 412), the shape of perimetres
 * (400 with pointers), communes outside the territoire (422, nothing
 * written), the journal, the perimeter (fiche.lire / fiche.ecrire), and the
 * frozen versions: a comité décision valide_plan freezes version N+1 in its
 * own transaction, holding the plan (and its fiches) as they were; later
 * changes never alter it.
 *
 * Test data: Ardennes (08), territoires pvd-44-08-901 to 904 of two
 * communes each (a commune is in one territoire only): Bogny-sur-Meuse and
 * Monthermé, Fumay and Givet, Carignan and Mouzon, Nouzonville and Floing. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define PLAN(id) "/api/v1/territoires/" id "/plan-action"

/* A territoire of two communes a and b of the EPCI epci. */
static void territoire_deux_communes(const char *id_pvd, const char *a, const char *b,
                                     const char *epci)
{
    struct fx_caller admin;
    struct http_response r;
    char body[300];
    fx_admin(&admin);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"communes\":[\"%s\",\"%s\"],\"epcis\":[\"%s\"],"
             "\"date_designation\":\"2020-12-15\"}",
             id_pvd, a, b, epci);
    fx_call(&admin, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
}

static void if_match_of(const char *path, char header[100])
{
    char etag[64];
    fx_etag(path, etag);
    snprintf(header, 100, "If-Match: %s", etag);
}

Test(plan_action, empty_plan_then_patch_with_if_match_and_journal)
{
    struct fx_caller admin;
    struct http_response r;
    char im[100], etag[64], inm[100];
    fx_admin(&admin);
    territoire_deux_communes("pvd-44-08-901", "08081", "08302", "200067759");

    fx_call(&admin, "GET", PLAN("pvd-44-08-901"), NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "id_pvd")), "pvd-44-08-901");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "programme_global")), "");
    cr_assert_eq(json_array_size(json_object_get(r.json, "perimetres")), 0);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 0);
    cr_assert(json_is_null(json_object_get(r.json, "date_validation_comite")));
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    fx_call(&admin, "GET", PLAN("pvd-44-08-901"), NULL, inm, &r);
    cr_assert_eq(r.status, 304);
    http_response_release(&r);

    const char *body = "{\"programme_global\":\"Revitaliser le centre-bourg.\",\"perimetres\":["
                       "{\"thematique\":\"habitat\",\"description\":\"Îlots anciens\","
                       "\"communes\":[\"08081\",\"08302\"]},"
                       "{\"thematique\":\"commerce\",\"description\":\"Rue principale\","
                       "\"communes\":[\"08081\"]}]}";
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-901"), body, NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-901"), body, "If-Match: \"0123456789abcdef\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-901", "plan_action.modifier"), 0);

    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-901"), body, im, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "programme_global")),
                     "Revitaliser le centre-bourg.");
    json_t *p = json_object_get(r.json, "perimetres");
    cr_assert_eq(json_array_size(p), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "thematique")),
                     "commerce");
    cr_assert_str_neq(http_header(&r, "ETag"), etag);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-901", "plan_action.modifier"), 1);

    /* the old ETag is stale now */
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-901"), "{\"programme_global\":\"x\"}", im, &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);

    /* a merge patch keeps what it does not name */
    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-901"), "{\"programme_global\":\"Nouveau programme\"}",
            im, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "perimetres")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "programme_global")),
                     "Nouveau programme");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-901", "plan_action.modifier"), 2);

    /* the plan changes between the If-Match check and the write: the write,
     * waiting on the territoire lock, finds it changed (412 with the current
     * ETag) and writes nothing */
    char current[64];
    if_match_of(PLAN("pvd-44-08-901"), im);
    fx_call_while_held(&admin, "PATCH", PLAN("pvd-44-08-901"), "{\"programme_global\":\"Mien\"}",
                       im,
                       "WITH t AS (SELECT id_pvd FROM territoires WHERE id_pvd = $1 FOR UPDATE) "
                       "UPDATE plans_action p SET programme_global = 'Concurrent', revision = "
                       "p.revision + 1 FROM t WHERE p.id_pvd = t.id_pvd",
                       "pvd-44-08-901", &r);
    fx_expect_stale(&r, "Le plan d'action a changé", current);
    http_response_release(&r);
    fx_etag(PLAN("pvd-44-08-901"), etag);
    cr_assert_str_eq(current, etag);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-901", "plan_action.modifier"), 2);
}

Test(plan_action, bad_bodies_are_refused_with_pointers_and_nothing_is_written)
{
    struct fx_caller admin;
    struct http_response r;
    char im[100], before[64], after[64];
    fx_admin(&admin);
    territoire_deux_communes("pvd-44-08-902", "08185", "08190", "240800821");
    if_match_of(PLAN("pvd-44-08-902"), im);
    fx_etag(PLAN("pvd-44-08-902"), before);

    static const struct {
        const char *body, *pointer, *code;
    } cases[] = {
        {"{\"perimetres\":{}}", "/perimetres", "type-invalide"},
        {"{\"programme_global\":3}", "/programme_global", "type-invalide"},
        {"{\"perimetres\":[{\"thematique\":\"sport\",\"description\":\"\",\"communes\":[]}]}",
         "/perimetres/0/thematique", NULL},
        {"{\"perimetres\":[{\"description\":\"d\",\"communes\":[]}]}", "/perimetres/0/thematique",
         "champ-requis"},
        {"{\"perimetres\":[{\"thematique\":\"habitat\",\"description\":\"d\",\"communes\":[],"
         "\"x\":1}]}",
         "/perimetres/0/x", "champ-inconnu"},
        {"{\"perimetres\":[{\"thematique\":\"habitat\",\"description\":\"d\",\"communes\":["
         "\"8185\"]}]}",
         "/perimetres/0/communes/0", "format-invalide"},
        {"{\"perimetres\":[{\"thematique\":\"habitat\",\"description\":\"d\",\"communes\":"
         "[\"08185\",\"08185\"]}]}",
         "/perimetres/0/communes/1", "doublon"},
        {"{\"perimetres\":[{\"thematique\":\"habitat\",\"description\":\"d\",\"communes\":[]},"
         "{\"thematique\":\"habitat\",\"description\":\"e\",\"communes\":[]}]}",
         "/perimetres/1/thematique", "doublon"},
        {"{\"perimetres\":[{\"thematique\":\"habitat\",\"description\":\"d\",\"communes\":"
         "\"08185\"}]}",
         "/perimetres/0/communes", "type-invalide"},
        {"{\"perimetres\":[3]}", "/perimetres/0", "type-invalide"},
        {"{\"perimetres\":[],\"version\":4}", "/version", "champ-inconnu"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_call(&admin, "PATCH", PLAN("pvd-44-08-902"), cases[i].body, im, &r);
        cr_assert_eq(r.status, 400, "case %zu: " HTTP_BODY, i, r.body);
        fx_expect_error(&r, 400, "champs-invalides", cases[i].pointer, cases[i].code);
        http_response_release(&r);
    }
    /* programme_global over 20 000 characters */
    size_t n = 20001;
    char *big = malloc(n + 64);
    cr_assert(big);
    int off = snprintf(big, 64, "{\"programme_global\":\"");
    memset(big + off, 'a', n);
    snprintf(big + off + n, 8, "\"}");
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-902"), big, im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/programme_global", NULL);
    http_response_release(&r);
    free(big);

    /* Fumay is not a commune of the territoire: 422 with its pointer, after
     * the shape passed; a commune of the territoire before it is fine */
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-902"),
            "{\"programme_global\":\"P\",\"perimetres\":[{\"thematique\":\"mobilite\","
            "\"description\":\"Gare\",\"communes\":[\"08190\",\"08081\"]}]}",
            im, &r);
    const char *hors[] = {"commune-hors-territoire", NULL};
    fx_expect_rule(&r, NULL, "/perimetres/0/communes/1", hors);
    http_response_release(&r);

    fx_etag(PLAN("pvd-44-08-902"), after);
    cr_assert_str_eq(after, before, "a refused PATCH wrote the plan");
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-902", "plan_action.modifier"), 0);
}

Test(plan_action, perimeter_decides_read_and_write)
{
    struct fx_caller agent, prefecture, ailleurs, lecteur;
    struct http_response r;
    char im[100];
    territoire_deux_communes("pvd-44-08-903", "08090", "08311", "240800847");
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"210800835\"]}");
    fx_caller_with(&prefecture, "prefecture_instructeur", "{\"departements\":[\"08\"]}");
    fx_caller_with(&ailleurs, "prefecture_instructeur", "{\"departements\":[\"69\"]}");
    fx_caller_with(&lecteur, "lecteur_national", "{}");

    if_match_of(PLAN("pvd-44-08-903"), im);
    fx_call(&prefecture, "GET", PLAN("pvd-44-08-903"), NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&prefecture, "PATCH", PLAN("pvd-44-08-903"), "{\"programme_global\":\"P\"}", im, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_call(&lecteur, "PATCH", PLAN("pvd-44-08-903"), "{\"programme_global\":\"P\"}", im, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_call(&ailleurs, "GET", PLAN("pvd-44-08-903"), NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&ailleurs, "GET", PLAN("pvd-44-08-903") "/versions", NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&agent, "PATCH", PLAN("pvd-44-08-903"), "{\"programme_global\":\"P\"}", im, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&lecteur, "GET", PLAN("pvd-44-08-903"), NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "programme_global")), "P");
    http_response_release(&r);
    /* no such territoire */
    fx_call(&prefecture, "GET", PLAN("pvd-44-08-999"), NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

/* A comité (R40 members) of id_pvd with one séance dated `date`: the
 * séance's id into seance. */
static void comite_et_seance(const char *id_pvd, const char *date, char seance[37])
{
    struct fx_caller admin;
    char commune[37], commune2[37], epci[37], comite[37], etag[64], body[1000], path[120];
    fx_admin(&admin);
    fx_organisation("210802955", "commune", "Nouzonville", commune);
    fx_organisation("210801593", "commune", "Floing", commune2);
    fx_organisation("200041630", "epci", "CA Ardenne Métropole", epci);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"presidence\":\"Le maire\",\"membres\":["
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Maire\"},"
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Maire\"},"
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"Président\"},"
             "{\"qualite\":\"chef_projet\",\"nom\":\"Cheffe de projet\"},"
             "{\"qualite\":\"prefet\",\"nom\":\"Sous-préfet\"}]}",
             id_pvd, commune, commune2, epci);
    fx_create(&admin, "/api/v1/comites", body, comite, etag);
    snprintf(path, sizeof path, "/api/v1/comites/%s/seances", comite);
    snprintf(body, sizeof body, "{\"date\":\"%s\"}", date);
    fx_create(&admin, path, body, seance, etag);
}

static void decision(const char *seance, const char *type, char id[37])
{
    struct fx_caller admin;
    char path[120], body[200], etag[64];
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/seances/%s/decisions", seance);
    snprintf(body, sizeof body, "{\"type\":\"%s\",\"objet\":\"Plan d'action\"}", type);
    fx_create(&admin, path, body, id, etag);
}

Test(plan_action, a_valide_plan_decision_freezes_a_version_that_never_changes)
{
    struct fx_caller admin;
    struct http_response r;
    char seance[37], dec[37], autre[37], im[100], frozen[4096];
    fx_admin(&admin);
    territoire_deux_communes("pvd-44-08-904", "08328", "08174", "200041630");
    comite_et_seance("pvd-44-08-904", "2025-02-03", seance);

    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 0);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0);
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions/1", NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions/zero", NULL, NULL, &r);
    fx_expect_error(&r, 400, "parametre-invalide", "/version", "format-invalide");
    http_response_release(&r);

    if_match_of(PLAN("pvd-44-08-904"), im);
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-904"), "{\"programme_global\":\"Version une\"}", im,
            &r);
    http_expect_json_ok(&r);
    http_response_release(&r);

    /* another type of décision freezes nothing */
    decision(seance, "autre", autre);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-904", "plan_action.valider"), 0);
    decision(seance, "valide_plan", dec);
    cr_assert_eq(fx_journal_count("plan_action", "pvd-44-08-904", "plan_action.valider"), 1);

    fx_call(&admin, "GET", PLAN("pvd-44-08-904"), NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "date_validation_comite")),
                     "2025-02-03");
    http_response_release(&r);

    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
    json_t *v = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_eq(json_integer_value(json_object_get(v, "version")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(v, "decision_id")), dec);
    http_response_release(&r);

    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions/1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *plan = json_object_get(r.json, "plan");
    cr_assert_str_eq(json_string_value(json_object_get(plan, "programme_global")), "Version une");
    cr_assert_eq(json_array_size(json_object_get(plan, "fiches")), 0);
    cr_assert_lt(r.body_len, sizeof frozen);
    snprintf(frozen, sizeof frozen, "%s", r.body);
    http_response_release(&r);

    /* the living plan moves on; version 1 does not */
    if_match_of(PLAN("pvd-44-08-904"), im);
    fx_call(&admin, "PATCH", PLAN("pvd-44-08-904"),
            "{\"programme_global\":\"Version deux\",\"perimetres\":[{\"thematique\":\"numerique\","
            "\"description\":\"Tiers-lieu\",\"communes\":[\"08174\"]}]}",
            im, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions/1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(r.body, frozen);
    http_response_release(&r);

    /* a second validation: version 2 holds the new plan */
    decision(seance, "valide_plan", autre);
    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions/2", NULL, NULL, &r);
    http_expect_json_ok(&r);
    plan = json_object_get(r.json, "plan");
    cr_assert_str_eq(json_string_value(json_object_get(plan, "programme_global")), "Version deux");
    cr_assert_eq(json_integer_value(json_object_get(plan, "version")), 2);
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-904") "/versions?limite=1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2);
    cr_assert(json_is_string(json_object_get(r.json, "suivant")));
    http_response_release(&r);
}

Test(plan_action, a_frozen_version_holds_the_fiches_as_they_were)
{
    struct fx_caller admin;
    struct fx_fiche_territoire t;
    struct http_response r;
    char fiche[37], etag[64], dec[37], path[120], im[100], frozen[16384];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-44-08-905", "08420", "210803821", "200041622", "2025-03-10", &t);
    fx_fiche(&admin, &t, "1.1", "\"intitule\":\"Halles, première rédaction\"", fiche, etag);

    decision(t.seance, "valide_plan", dec);
    fx_call(&admin, "GET", PLAN("pvd-44-08-905") "/versions/1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *fiches = json_object_get(json_object_get(r.json, "plan"), "fiches");
    cr_assert_eq(json_array_size(fiches), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fiches, 0), "id")), fiche);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fiches, 0), "intitule")),
                     "Halles, première rédaction");
    cr_assert_lt(r.body_len, sizeof frozen);
    snprintf(frozen, sizeof frozen, "%s", r.body);
    http_response_release(&r);

    /* the fiche changes afterwards; version 1 does not */
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", fiche);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&admin, "PATCH", path, "{\"intitule\":\"Halles, seconde rédaction\"}", im, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-905") "/versions/1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(r.body, frozen);
    http_response_release(&r);

    /* the next validation freezes version 2 with the fiche as it is now */
    decision(t.seance, "valide_plan", dec);
    fx_call(&admin, "GET", PLAN("pvd-44-08-905") "/versions/2", NULL, NULL, &r);
    http_expect_json_ok(&r);
    fiches = json_object_get(json_object_get(r.json, "plan"), "fiches");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fiches, 0), "intitule")),
                     "Halles, seconde rédaction");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "date_validation_comite")),
                     "2025-03-10");
    http_response_release(&r);
    fx_call(&admin, "GET", PLAN("pvd-44-08-905"), NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 2);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "nombre_fiches")), 1);
    http_response_release(&r);
}
