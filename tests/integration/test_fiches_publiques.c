/* The open-data read of fiches action over HTTP (issue #9 §1), without a
 * token: a public fiche's projection holds exactly the public members (no
 * person's data: no author, attachment, motif, derogation, séance, line id),
 * a private fiche answers the 404 of an unknown id (same body), the list
 * shows only public fiches with its filters and keyset pagination, ETag/304,
 * Cache-Control, hostile parameters never give a 5xx, and a fiche its
 * collectivité turns private disappears. Each test has its own territoire in
 * the Aube (10), ids pvd-44-10-9xx. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define ONE  "/api/v1/public/fiches-action/"
#define LIST "/api/v1/public/fiches-action"

/* Every member of the public projection (FichePublique), nothing else. */
static const char *const PUBLIC_KEYS[] = {"id",
                                          "id_pvd",
                                          "territoire_nom",
                                          "numero",
                                          "intitule",
                                          "axe",
                                          "description",
                                          "objectifs",
                                          "maitre_ouvrage",
                                          "partenaires",
                                          "thematiques",
                                          "localisation_commune_insee",
                                          "localisation_commune_nom",
                                          "nature_depense",
                                          "cout_total_ht_centimes",
                                          "cout_total_ttc_centimes",
                                          "date_debut_prevue",
                                          "date_fin_prevue",
                                          "etat",
                                          "maturite",
                                          "priorite",
                                          "lien_crte",
                                          "avant_convention_cadre",
                                          "plan_financement",
                                          "echeancier",
                                          NULL};
static const char *const ORGANISATION_KEYS[] = {"id", "nom", "siren", "nature", NULL};
static const char *const AXE_KEYS[] = {"id", "numero", "intitule", NULL};
static const char *const LIGNE_KEYS[] = {"financeur",        "dispositif", "nature_financeur",
                                         "montant_centimes", "statut",     NULL};
static const char *const FINANCEUR_KEYS[] = {"id", "nom", NULL};
static const char *const ANNEE_KEYS[] = {"annee", "montant_centimes", NULL};

/* obj is an object whose members are exactly keys. */
static void expect_keys(const json_t *obj, const char *const *keys, const char *what)
{
    cr_assert(json_is_object(obj), "%s: not an object", what);
    size_t n = 0;
    for (; keys[n]; n++)
        cr_assert_not_null(json_object_get(obj, keys[n]), "%s: no member %s", what, keys[n]);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        bool listed = false;
        for (size_t i = 0; keys[i]; i++)
            listed = listed || strcmp(keys[i], key) == 0;
        cr_assert(listed, "%s: member %s is not public", what, key);
    }
    cr_assert_eq(json_object_size(obj), n, "%s: %zu members", what, json_object_size(obj));
}

/* The collectivité of the territoire (agent of its commune), for writes. */
static void commune_agent(struct fx_caller *c, const char *siren_commune)
{
    char perimetre[80];
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren_commune);
    fx_caller_with(c, "collectivite_agent", perimetre);
}

/* GET path without a token into r, asserting 200 and the public cache. */
static void get_public(const char *path, struct http_response *r)
{
    http_get(path, r);
    http_expect_json_ok(r);
    const char *cc = http_header(r, "Cache-Control");
    cr_assert(cc && strcmp(cc, "public, max-age=300") == 0, "Cache-Control: %s",
              cc ? cc : "(none)");
}

/* Does the list page r hold the fiche id? */
static bool page_has(const struct http_response *r, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r->json, "elements"), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "id")), id) == 0)
            return true;
    }
    return false;
}

/* GET LIST?query without a token: asserts 200, its total and that each of
 * ids (NULL-terminated; the first `total` expected on the page) is there. */
static void expect_list(const char *query, size_t total, const char *const *ids)
{
    char path[400];
    struct http_response r;
    snprintf(path, sizeof path, LIST "?%s", query);
    get_public(path, &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), (json_int_t)total,
                 "%s: " HTTP_BODY, query, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), total, "%s: " HTTP_BODY,
                 query, r.body);
    for (size_t i = 0; ids && ids[i]; i++)
        cr_assert(page_has(&r, ids[i]), "%s: %s missing: " HTTP_BODY, query, ids[i], r.body);
    http_response_release(&r);
}

/* The problem body of r without what names the request (request_id and
 * instance, its path) (owned: json_decref). */
static json_t *problem_without_request_id(const struct http_response *r)
{
    json_t *copy = json_deep_copy(r->json);
    cr_assert_not_null(copy, HTTP_BODY, r->body);
    json_object_del(copy, "request_id");
    json_object_del(copy, "instance");
    return copy;
}

Test(fiches_publiques, projection_sans_jeton_et_fiche_privee_introuvable)
{
    struct fx_fiche_territoire t;
    struct fx_caller agent;
    struct http_response r;
    char pub[37], priv[37], etag[64], extra[1200], path[200];
    fx_fiche_territoire("pvd-44-10-901", "10033", "211000310", "241000405", "2026-01-15", &t);
    commune_agent(&agent, "211000310");
    snprintf(extra, sizeof extra,
             "\"public\": true, \"thematiques\": [\"commerce\", \"patrimoine_culture\"], "
             "\"nature_depense\": \"etude\", \"partenaires\": [\"%s\"], "
             "\"cout_total_ttc_centimes\": 12000000, \"priorite\": \"elevee\", "
             "\"date_debut_prevue\": \"2027-01-01\", \"date_fin_prevue\": \"2027-12-31\", "
             "\"lien_crte\": true, \"crte_id\": \"CRTE-SECRET-77\", "
             "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": \"autre\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 2000000, "
             "\"statut\": \"sollicite\"}], "
             "\"echeancier\": [{\"annee\": 2027, \"montant_centimes\": 10000000}], "
             "\"pieces_jointes\": [{\"titre\": \"Devis\", "
             "\"url\": \"https://exemple.test/SECRET-PJ-75.pdf\"}], "
             "\"derogation_l1111_10\": {\"type\": \"patrimoine_non_protege\", "
             "\"reference\": \"Arrêté SECRET-DEROG-76\"}, "
             "\"comite_seance_id\": \"%s\", \"date_examen_comite\": \"2026-01-15\"",
             t.epci_org, t.epci_org, t.seance);
    fx_fiche(&agent, &t, "FA-PUB-1", extra, pub, etag);
    fx_fiche(&agent, &t, "FA-PRIV-1", NULL, priv, etag);

    /* the public fiche, without a token: exactly the public members */
    snprintf(path, sizeof path, ONE "%s", pub);
    get_public(path, &r);
    expect_keys(r.json, PUBLIC_KEYS, "fiche");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "id")), pub);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "id_pvd")), "pvd-44-10-901");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "numero")), "FA-PUB-1");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "localisation_commune_insee")),
                     "10033");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "localisation_commune_nom")),
                     "Bar-sur-Aube");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "cout_total_ht_centimes")), 10000000);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "cout_total_ttc_centimes")), 12000000);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "brouillon");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "maturite")), "en_maturation");
    cr_assert(json_is_true(json_object_get(r.json, "lien_crte")));
    json_t *axe = json_object_get(r.json, "axe");
    expect_keys(axe, AXE_KEYS, "axe");
    cr_assert_str_eq(json_string_value(json_object_get(axe, "id")), t.axe);
    json_t *mo = json_object_get(r.json, "maitre_ouvrage");
    expect_keys(mo, ORGANISATION_KEYS, "maitre_ouvrage");
    cr_assert_str_eq(json_string_value(json_object_get(mo, "id")), t.commune_org);
    cr_assert_str_eq(json_string_value(json_object_get(mo, "siren")), "211000310");
    cr_assert_str_eq(json_string_value(json_object_get(mo, "nature")), "commune");
    json_t *partenaires = json_object_get(r.json, "partenaires");
    cr_assert_eq(json_array_size(partenaires), 1, HTTP_BODY, r.body);
    expect_keys(json_array_get(partenaires, 0), ORGANISATION_KEYS, "partenaire");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(partenaires, 0), "siren")),
                     "241000405");
    json_t *lignes = json_object_get(r.json, "plan_financement");
    cr_assert_eq(json_array_size(lignes), 1, HTTP_BODY, r.body);
    expect_keys(json_array_get(lignes, 0), LIGNE_KEYS, "ligne");
    json_t *financeur = json_object_get(json_array_get(lignes, 0), "financeur");
    expect_keys(financeur, FINANCEUR_KEYS, "financeur");
    cr_assert_str_eq(json_string_value(json_object_get(financeur, "id")), t.epci_org);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(lignes, 0), "montant_centimes")),
                 2000000);
    json_t *echeancier = json_object_get(r.json, "echeancier");
    cr_assert_eq(json_array_size(echeancier), 1, HTTP_BODY, r.body);
    expect_keys(json_array_get(echeancier, 0), ANNEE_KEYS, "annee");
    /* nothing of a person nor of the private members, anywhere in the body */
    cr_assert_null(strstr(r.body, "oidc:"), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "cree_"), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "CRTE-SECRET-77"), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "SECRET-PJ-75"), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "SECRET-DEROG-76"), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, t.seance), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "2026-01-15"), HTTP_BODY, r.body);
    const char *public_etag = http_header(&r, "ETag");
    cr_assert_not_null(public_etag);
    char etag_public[64];
    snprintf(etag_public, sizeof etag_public, "%s", public_etag);
    http_response_release(&r);

    /* ETag and 304, with the public cache */
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag_public);
    const char *h304[] = {inm, NULL};
    http_request("GET", path, h304, NULL, 0, &r);
    cr_assert_eq(r.status, 304, HTTP_BODY, r.body);
    cr_assert_eq(r.body_len, 0);
    cr_assert_str_eq(http_header(&r, "ETag"), etag_public);
    cr_assert_str_eq(http_header(&r, "Cache-Control"), "public, max-age=300");
    http_response_release(&r);
    const char *h200[] = {"If-None-Match: \"0000000000000000\"", NULL};
    http_request("GET", path, h200, NULL, 0, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);

    /* the private fiche: the 404 of an unknown id and of a non-UUID, same body */
    snprintf(path, sizeof path, ONE "%s", priv);
    http_get(path, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    json_t *private_body = problem_without_request_id(&r);
    http_response_release(&r);
    http_get(ONE "00000000-0000-4000-8000-000000000000", &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    json_t *unknown_body = problem_without_request_id(&r);
    http_response_release(&r);
    http_get(ONE "pas-un-uuid", &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    json_t *malformed_body = problem_without_request_id(&r);
    http_response_release(&r);
    cr_assert(json_equal(private_body, unknown_body), "private and unknown differ");
    cr_assert(json_equal(private_body, malformed_body), "private and non-UUID differ");
    json_decref(private_body);
    json_decref(unknown_body);
    json_decref(malformed_body);

    /* the private fiche is readable with a token by its collectivité */
    char own[200];
    snprintf(own, sizeof own, "/api/v1/fiches-action/%s", priv);
    fx_call(&agent, "GET", own, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);

    /* the list of the territoire: the public fiche only, same projection */
    const char *only_public[] = {pub, NULL};
    expect_list("id_pvd=pvd-44-10-901", 1, only_public);
    get_public(LIST "?id_pvd=pvd-44-10-901", &r);
    expect_keys(json_array_get(json_object_get(r.json, "elements"), 0), PUBLIC_KEYS, "element");
    http_response_release(&r);
}

Test(fiches_publiques, liste_filtres_et_pagination)
{
    struct fx_fiche_territoire t, u;
    struct fx_caller agent_t, agent_u, admin;
    struct http_response r;
    char a[37], b[37], c[37], d[37], etag[64], q[400], axe2[37];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-44-10-902", "10034", "211000328", "200069003", "2026-01-15", &t);
    fx_fiche_territoire("pvd-44-10-903", "10064", "211000591", "200040137", "2026-01-15", &u);
    commune_agent(&agent_t, "211000328");
    commune_agent(&agent_u, "211000591");
    fx_fiche(&agent_t, &t, "FA-A",
             "\"public\": true, \"thematiques\": [\"commerce\"], "
             "\"nature_depense\": \"investissement\"",
             a, etag);
    fx_fiche(&agent_t, &t, "FA-B",
             "\"public\": true, \"thematiques\": [\"habitat\", \"numerique\"], "
             "\"nature_depense\": \"etude\"",
             b, etag);
    fx_fiche(&agent_t, &t, "FA-C",
             "\"public\": false, \"thematiques\": [\"habitat\"], \"nature_depense\": \"etude\"", c,
             etag);
    /* a second axe in the other territoire */
    char axes[120];
    snprintf(axes, sizeof axes, "/api/v1/territoires/%s/axes-strategiques", u.id_pvd);
    fx_create(&admin, axes, "{\"numero\":2,\"intitule\":\"Mobilités\",\"enjeux\":\"Gare\"}", axe2,
              etag);
    char extra[300];
    snprintf(extra, sizeof extra,
             "\"public\": true, \"axe_id\": \"%s\", \"thematiques\": [\"mobilite\"], "
             "\"nature_depense\": \"ingenierie\"",
             axe2);
    fx_fiche(&agent_u, &u, "FA-D", extra, d, etag);

    const char *ab[] = {a, b, NULL}, *only_a[] = {a, NULL}, *only_b[] = {b, NULL},
               *only_d[] = {d, NULL};
    expect_list("id_pvd=pvd-44-10-902", 2, ab);
    expect_list("id_pvd=pvd-44-10-903", 1, only_d);
    /* département and région: the territoire's */
    expect_list("id_pvd=pvd-44-10-902&departement=10", 2, ab);
    expect_list("id_pvd=pvd-44-10-902&departement=05", 0, NULL);
    expect_list("id_pvd=pvd-44-10-902&region=44", 2, ab);
    expect_list("id_pvd=pvd-44-10-902&region=93", 0, NULL);
    /* thématique (one of the fiche's), nature, état, axe */
    expect_list("id_pvd=pvd-44-10-902&thematique=habitat", 1, only_b);
    expect_list("id_pvd=pvd-44-10-902&thematique=numerique", 1, only_b);
    expect_list("id_pvd=pvd-44-10-902&thematique=mobilite", 0, NULL);
    expect_list("id_pvd=pvd-44-10-902&nature_depense=investissement", 1, only_a);
    expect_list("id_pvd=pvd-44-10-902&nature_depense=etude", 1, only_b);
    expect_list("id_pvd=pvd-44-10-902&etat=brouillon", 2, ab);
    expect_list("id_pvd=pvd-44-10-902&etat=programmee", 0, NULL);
    snprintf(q, sizeof q, "axe_id=%s", axe2);
    expect_list(q, 1, only_d);
    snprintf(q, sizeof q, "axe_id=%s", t.axe);
    expect_list(q, 2, ab);
    snprintf(q, sizeof q, "departement=10&thematique=mobilite&axe_id=%s", axe2);
    expect_list(q, 1, only_d);

    /* the Aube's public fiches hold these three, never the private one */
    get_public(LIST "?departement=10&limite=500", &r);
    cr_assert(page_has(&r, a) && page_has(&r, b) && page_has(&r, d), HTTP_BODY, r.body);
    cr_assert(!page_has(&r, c), HTTP_BODY, r.body);
    http_response_release(&r);
    get_public(LIST "?limite=500", &r);
    cr_assert(page_has(&r, a) && !page_has(&r, c), HTTP_BODY, r.body);
    http_response_release(&r);

    /* keyset pagination: ordered by id, total of every page, Link = suivant */
    get_public(LIST "?id_pvd=pvd-44-10-902&limite=1", &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    char first[37], cursor[200];
    snprintf(first, sizeof first, "%s",
             json_string_value(json_object_get(json_array_get(elements, 0), "id")));
    cr_assert_str_eq(first, strcmp(a, b) < 0 ? a : b);
    const char *suivant = json_string_value(json_object_get(r.json, "suivant"));
    cr_assert_not_null(suivant, HTTP_BODY, r.body);
    snprintf(cursor, sizeof cursor, "%s", suivant);
    char target[512];
    http_next_link(&r, target, sizeof target);
    cr_assert_not_null(strstr(target, "id_pvd=pvd-44-10-902"), "Link target: %s", target);
    cr_assert_not_null(strstr(target, cursor), "Link target: %s", target);
    http_response_release(&r);
    get_public(target, &r);
    elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "id")),
                     strcmp(a, b) < 0 ? b : a);
    cr_assert(json_is_null(json_object_get(r.json, "suivant")), HTTP_BODY, r.body);
    cr_assert_null(http_header(&r, "Link"));
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    http_response_release(&r);

    /* a cursor is valid for its own filters only */
    snprintf(q, sizeof q, LIST "?id_pvd=pvd-44-10-903&limite=1&curseur=%s", cursor);
    http_get(q, &r);
    http_expect_param_error(&r, "/curseur", "curseur-invalide");
    http_response_release(&r);
}

Test(fiches_publiques, parametres_hostiles)
{
    static const char *const bad_list[][2] = {
        {"limite=0", "/limite"},
        {"limite=501", "/limite"},
        {"limite=abc", "/limite"},
        {"thematique=inconnue", "/thematique"},
        {"thematique=HABITAT", "/thematique"},
        {"nature_depense=tout", "/nature_depense"},
        {"etat=publie", "/etat"},
        {"axe_id=pas-un-uuid", "/axe_id"},
        {"axe_id=1%27%20OR%201=1--", "/axe_id"},
        {"departement=999", "/departement"},
        {"region=x", "/region"},
        {"id_pvd=pvd-xx", "/id_pvd"},
        {"id_pvd=%27%3B%20DROP%20TABLE%20fiches_action%3B--", "/id_pvd"},
        {"public=false", "/public"},
        {"cree_par=x", "/cree_par"},
        {"etat=brouillon&etat=brouillon", "/etat"},
        {"curseur=AAAA", "/curseur"},
        {"curseur=%00", "/curseur"},
        {"thematique=habitat%0A", "/thematique"},
    };
    struct http_response r;
    char path[300];
    for (size_t i = 0; i < sizeof bad_list / sizeof bad_list[0]; i++) {
        snprintf(path, sizeof path, LIST "?%s", bad_list[i][0]);
        http_get(path, &r);
        cr_assert_eq(r.status, 400, "%s: " HTTP_BODY, bad_list[i][0], r.body);
        cr_assert_not_null(http_problem_error(&r, bad_list[i][1]), "%s: " HTTP_BODY, bad_list[i][0],
                           r.body);
        http_response_release(&r);
    }
    /* ids that are not a fiche's: 404, never a 5xx */
    static const char *const not_found[] = {
        "x",
        "00000000-0000-0000-0000-00000000000g",
        "00000000-0000-0000-0000-0000000000001",
        "%27%20OR%20%271%27=%271",
        "%F0%9F%98%80",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    };
    for (size_t i = 0; i < sizeof not_found / sizeof not_found[0]; i++) {
        snprintf(path, sizeof path, ONE "%s", not_found[i]);
        http_get(path, &r);
        http_expect_problem(&r, 404, "ressource-introuvable");
        http_response_release(&r);
    }
    /* bytes that are no text: 400, before any lookup */
    http_get(ONE "%00", &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
    http_get(ONE "%C3%28", &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
    /* the one fiche takes no query parameter */
    http_get(ONE "00000000-0000-4000-8000-000000000000?public=true", &r);
    http_expect_param_error(&r, "/public", "parametre-inconnu");
    http_response_release(&r);
    /* read only: no other method */
    const char *json[] = {"Content-Type: application/json", NULL};
    http_request("POST", LIST, json, "{}", 2, &r);
    cr_assert_eq(r.status, 405, HTTP_BODY, r.body);
    http_response_release(&r);
    http_request("DELETE", ONE "00000000-0000-4000-8000-000000000000", NULL, NULL, 0, &r);
    cr_assert_eq(r.status, 405, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(fiches_publiques, fiche_rendue_privee_disparait)
{
    struct fx_fiche_territoire t;
    struct fx_caller agent;
    struct http_response r;
    char id[37], etag[64], path[200], own[200], if_match[100], etag_public[64], inm[100];
    fx_fiche_territoire("pvd-44-10-904", "10268", "211002605", "200006716", "2026-01-15", &t);
    commune_agent(&agent, "211002605");
    fx_fiche(&agent, &t, "FA-1", "\"public\": true", id, etag);
    snprintf(path, sizeof path, ONE "%s", id);
    snprintf(own, sizeof own, "/api/v1/fiches-action/%s", id);
    const char *one[] = {id, NULL};

    get_public(path, &r);
    snprintf(etag_public, sizeof etag_public, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    expect_list("id_pvd=pvd-44-10-904", 1, one);

    /* a change of a public member changes the public ETag: no stale 304 */
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&agent, "PATCH", own, "{\"intitule\":\"Halles rénovées\"}", if_match, &r);
    http_expect_json_ok(&r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag_public);
    const char *h[] = {inm, NULL};
    http_request("GET", path, h, NULL, 0, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "intitule")), "Halles rénovées");
    cr_assert_str_neq(http_header(&r, "ETag"), etag_public);
    http_response_release(&r);

    /* its collectivité makes it private: gone from both routes */
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&agent, "PATCH", own, "{\"public\":false}", if_match, &r);
    http_expect_json_ok(&r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    http_get(path, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    cr_assert_null(http_header(&r, "Cache-Control"));
    http_response_release(&r);
    http_request("GET", path, h, NULL, 0, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    expect_list("id_pvd=pvd-44-10-904", 0, NULL);

    /* and public again: back */
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&agent, "PATCH", own, "{\"public\":true}", if_match, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    get_public(path, &r);
    http_response_release(&r);
    expect_list("id_pvd=pvd-44-10-904", 1, one);
}
