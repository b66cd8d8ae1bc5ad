/* The programme parameters over HTTP (issue #10 §1): today's parameters are
 * domain.md's defaults; a PUT by the ANCT adds a version taking effect on its
 * date_effet, the earlier dates keep what they had; every other role gets
 * 403; If-Match (428, 412); a document out of bounds is 422 with each
 * pointer and writes nothing; shape errors and hostile bytes are 400, never a
 * 5xx; the versions, listed and read one by one.
 *
 * Other suites read the defaults: every version written here takes effect in
 * the future (2187-03-10, a date no other suite uses), never today. Writes are made
 * by a fresh anct_national identity per test, so that its journal count
 * (fx_journal_count_by) is its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define PARAMS "/api/v1/parametres"

/* The document in force today, as a PUT body with date_effet (owned). */
static json_t *today_body(const struct fx_caller *c, char if_match[100])
{
    struct http_response r;
    fx_call(c, "GET", PARAMS, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *body = json_deep_copy(r.json);
    if (if_match)
        snprintf(if_match, 100, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    json_object_del(body, "version");
    json_object_del(body, "cree_par");
    json_object_del(body, "cree_le");
    json_object_del(body, "date_effet");
    return body;
}

/* A filing deadline of dates_limites_depot (a new reference). */
static json_t *limite(const char *dispositif, int annee, const char *code, const char *date)
{
    return json_pack("{sssissss}", "dispositif", dispositif, "annee", annee, "code_departement",
                     code, "date_limite", date);
}

static json_t *cdp0(json_t *body)
{
    return json_array_get(json_object_get(body, "chef_projet"), 0);
}

static void put(const struct fx_caller *c, json_t *body, const char *if_match,
                struct http_response *r)
{
    char *text = json_dumps(body, JSON_COMPACT);
    fx_call(c, "PUT", PARAMS, text, if_match, r);
    free(text);
}

static json_int_t member_int(const json_t *o, const char *path)
{
    char copy[200];
    snprintf(copy, sizeof copy, "%s", path);
    const json_t *v = o;
    for (char *save = NULL, *k = strtok_r(copy, "/", &save); k; k = strtok_r(NULL, "/", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
    cr_assert(json_is_integer(v), "%s is not an integer", path);
    return json_integer_value(v);
}

Test(programme_parametres, today_are_the_defaults_with_etag_and_304)
{
    struct fx_caller c;
    struct http_response r;
    fx_caller_with(&c, "financeur", "{\"sirens\":[\"215800624\"]}");
    fx_call(&c, "GET", PARAMS, NULL, NULL, &r);
    http_expect_json_ok(&r);
    const json_t *p = r.json;
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(p, "programme"), "date_lancement")),
        "2020-10-01");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(p, "programme"), "date_fin")),
        "2026-03-31");
    cr_assert_eq(member_int(p, "chef_projet/0/annee_debut"), 2020);
    cr_assert_eq(member_int(p, "chef_projet/0/taux_max"), 7500);
    cr_assert_eq(member_int(p, "chef_projet/0/plafond_annuel_centimes"), 4500000);
    cr_assert_eq(member_int(p, "chef_projet/0/plafond_annuel_avec_anah_centimes"), 5500000);
    cr_assert_eq(member_int(p, "chef_projet/0/financeurs/anah/taux_max"), 5000);
    cr_assert_eq(member_int(p, "chef_projet/0/financeurs/anah/plafond_annuel_centimes"), 4000000);
    cr_assert_eq(member_int(p, "chef_projet/0/financeurs/bdt/taux_max"), 2500);
    cr_assert_eq(member_int(p, "chef_projet/0/financeurs/bdt/plafond_annuel_centimes"), 1500000);
    cr_assert_eq(member_int(p, "delais/rejet_implicite_mois"), 8);
    cr_assert_eq(member_int(p, "delais/caducite_annees"), 2);
    cr_assert_eq(member_int(p, "delais/forclusion_annees"), 4);
    cr_assert_eq(member_int(p, "delais/seuil_commission_detr_centimes"), 10000000);
    cr_assert_eq(member_int(p, "delais/avance_taux_max"), 3000);
    cr_assert_eq(member_int(p, "delais/avance_taux_max_garantie"), 6000);
    cr_assert_eq(json_array_size(json_object_get(p, "dates_limites_depot")), 0);
    cr_assert_eq(json_array_size(json_object_get(p, "pieces_requises")), 0);
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&c, "GET", PARAMS, NULL, inm, &r);
    cr_assert_eq(r.status, 304, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(programme_parametres, put_by_anct_adds_a_version_and_earlier_dates_keep_theirs)
{
    struct fx_caller anct, lecteur;
    struct http_response r;
    char im[100], before_day[100], today_etag[100];
    fx_caller_with(&anct, "anct_national", "{}");
    fx_caller_with(&lecteur, "lecteur_national", "{}");

    fx_call(&lecteur, "GET", PARAMS "?date=2187-03-09", NULL, NULL, &r);
    http_expect_json_ok(&r);
    char *before = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(before_day, sizeof before_day, "%s", http_header(&r, "ETag"));
    http_response_release(&r);

    json_t *body = today_body(&anct, im);
    snprintf(today_etag, sizeof today_etag, "%s", im + strlen("If-Match: "));
    json_object_set_new(body, "date_effet", json_string("2187-03-10"));
    json_object_set_new(cdp0(body), "plafond_annuel_centimes", json_integer(4600000));
    json_array_append_new(json_object_get(body, "dates_limites_depot"),
                          limite("DETR", 2099, "63", "2099-01-08"));
    json_object_set_new(body, "pieces_requises",
                        json_pack("[{sssis[ss]}]", "dispositif", "DETR", "annee", 2099, "pieces",
                                  "Délibération de l'organe délibérant", "Plan de financement"));
    put(&anct, body, im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_equal(json_object_get(r.json, "pieces_requises"),
                         json_object_get(body, "pieces_requises")),
              HTTP_BODY, r.body);
    long version = (long)json_integer_value(json_object_get(r.json, "version"));
    cr_assert_gt(version, 0);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "date_effet")), "2187-03-10");
    cr_assert_eq(member_int(r.json, "chef_projet/0/plafond_annuel_centimes"), 4600000);
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(r.json, "dates_limites_depot"), 0), "code_departement")),
        "63");
    cr_assert_null(http_header(&r, "ETag"), "a future version is not today's representation");
    char *written = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    http_response_release(&r);

    /* in force from its date_effet, as written; the day before, as before */
    fx_call(&lecteur, "GET", PARAMS "?date=2187-03-10", NULL, NULL, &r);
    http_expect_json_ok(&r);
    char *on_day = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(on_day, written);
    http_response_release(&r);
    fx_call(&lecteur, "GET", PARAMS "?date=2187-03-11", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), version);
    http_response_release(&r);
    fx_call(&lecteur, "GET", PARAMS "?date=2187-03-09", NULL, NULL, &r);
    http_expect_json_ok(&r);
    char *after = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(after, before);
    cr_assert_str_eq(http_header(&r, "ETag"), before_day);
    http_response_release(&r);
    /* today unchanged: the same ETag */
    fx_call(&lecteur, "GET", PARAMS, NULL, NULL, &r);
    cr_assert_str_eq(http_header(&r, "ETag"), today_etag);
    http_response_release(&r);

    /* the version by number, and in the list */
    char path[80];
    snprintf(path, sizeof path, PARAMS "/versions/%ld", version);
    fx_call(&lecteur, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    char *one = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(one, written);
    http_response_release(&r);
    bool listed = false;
    char next[300] = PARAMS "/versions?limite=2";
    for (int pages = 0; next[0] && pages < 1000; pages++) {
        fx_call(&lecteur, "GET", next, NULL, NULL, &r);
        http_expect_json_ok(&r);
        const json_t *els = json_object_get(r.json, "elements");
        cr_assert_leq(json_array_size(els), 2);
        cr_assert_geq(json_integer_value(json_object_get(r.json, "total")), 1);
        for (size_t i = 0; i < json_array_size(els); i++)
            if (json_integer_value(json_object_get(json_array_get(els, i), "version")) == version) {
                listed = true;
                cr_assert_str_eq(
                    json_string_value(json_object_get(json_array_get(els, i), "date_effet")),
                    "2187-03-10");
            }
        if (json_is_null(json_object_get(r.json, "suivant")))
            next[0] = '\0';
        else
            http_next_link(&r, next, sizeof next);
        http_response_release(&r);
    }
    cr_assert(listed, "version %ld is in the list", version);

    /* journaled once, by its author */
    char id[24];
    snprintf(id, sizeof id, "%ld", version);
    cr_assert_eq(fx_journal_count("parametres", id, "parametres.modifier"), 1);
    cr_assert_eq(fx_journal_count_by(&anct, "parametres"), 1);
    free(before);
    free(written);
    free(on_day);
    free(after);
    free(one);
    json_decref(body);
}

Test(programme_parametres, every_other_role_is_refused_403_and_nothing_written)
{
    static const char *const roles[][2] = {
        {"prefecture_instructeur", "{\"departements\":[\"58\"]}"},
        {"prefecture_region", "{\"regions\":[\"27\"]}"},
        {"collectivite_agent", "{\"sirens\":[\"215800624\"]}"},
        {"collectivite_elu", "{\"sirens\":[\"215800624\"]}"},
        {"financeur", "{\"sirens\":[\"215800624\"]}"},
        {"lecteur_national", "{}"},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        struct fx_caller c;
        struct http_response r;
        char im[100];
        fx_caller_with(&c, roles[i][0], roles[i][1]);
        json_t *body = today_body(&c, im);
        json_object_set_new(body, "date_effet", json_string("2099-04-01"));
        put(&c, body, im, &r);
        http_expect_problem(&r, 403, "interdit");
        http_response_release(&r);
        cr_assert_eq(fx_journal_count_by(&c, "parametres"), 0, "%s", roles[i][0]);
        json_decref(body);
    }
}

Test(programme_parametres, if_match_is_required_and_checked)
{
    struct fx_caller anct;
    struct http_response r;
    char im[100];
    fx_caller_with(&anct, "anct_national", "{}");
    json_t *body = today_body(&anct, im);
    json_object_set_new(body, "date_effet", json_string("2099-05-01"));
    put(&anct, body, NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    put(&anct, body, "If-Match: \"0123456789abcdef\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    /* the ETag of another date's version is not today's */
    fx_call(&anct, "GET", PARAMS "?date=2999-12-31", NULL, NULL, &r);
    char other[100];
    snprintf(other, sizeof other, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    if (strcmp(other, im) != 0) {
        put(&anct, body, other, &r);
        http_expect_problem(&r, 412, "precondition-echouee");
        http_response_release(&r);
    }
    cr_assert_eq(fx_journal_count_by(&anct, "parametres"), 0);
    json_decref(body);
}

Test(programme_parametres, values_out_of_bounds_are_422_with_pointers_and_nothing_written)
{
    struct fx_caller anct;
    struct http_response r;
    char im[100];
    fx_caller_with(&anct, "anct_national", "{}");
    json_t *body = today_body(&anct, im);
    json_object_set_new(body, "date_effet", json_string("2020-01-01"));
    json_object_set_new(cdp0(body), "taux_max", json_integer(10001));
    json_object_set_new(json_object_get(json_object_get(cdp0(body), "financeurs"), "bdt"),
                        "plafond_annuel_centimes", json_integer(-1));
    json_object_set_new(json_object_get(body, "delais"), "rejet_implicite_mois", json_integer(0));
    json_object_set_new(json_object_get(body, "programme"), "date_fin", json_string("2019-12-31"));
    json_t *limites = json_object_get(body, "dates_limites_depot");
    json_array_append_new(limites, limite("INCONNU", 2099, "63", "2099-01-08"));
    json_array_append_new(limites, limite("DSIL", 2099, "", "2099-01-08"));
    json_array_append_new(limites, limite("DSIL", 2099, "", "2099-02-08"));
    json_array_append_new(limites, limite("DETR", 2099, "x", "2099-02-08"));
    put(&anct, body, im, &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    static const char *const expected[][2] = {
        {"/date_effet", "date-effet-passee"},
        {"/chef_projet/0/taux_max", "parametre-taux-invalide"},
        {"/chef_projet/0/financeurs/bdt/plafond_annuel_centimes", "parametre-montant-invalide"},
        {"/delais/rejet_implicite_mois", "parametre-delai-invalide"},
        {"/programme/date_fin", "parametre-dates-incoherentes"},
        {"/dates_limites_depot/0/dispositif", "parametre-dispositif-invalide"},
        {"/dates_limites_depot/2", "parametre-date-limite-repetee"},
        {"/dates_limites_depot/3/code_departement", "parametre-departement-invalide"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        json_t *e = http_problem_error(&r, expected[i][0]);
        cr_assert(e, "no error at %s: " HTTP_BODY, expected[i][0], r.body);
        cr_assert_str_eq(json_string_value(json_object_get(e, "code")), expected[i][1]);
    }
    http_response_release(&r);

    /* too many rows: the capacity is a rule, not a crash */
    json_decref(body);
    body = today_body(&anct, NULL);
    json_object_set_new(body, "date_effet", json_string("2099-06-01"));
    json_t *rows = json_array();
    for (int i = 0; i < 17; i++) {
        json_t *row = json_deep_copy(cdp0(body));
        json_object_set_new(row, "annee_debut", json_integer(2020 + i));
        json_array_append_new(rows, row);
    }
    json_object_set_new(body, "chef_projet", rows);
    json_t *many = json_array();
    for (int i = 0; i < 65; i++)
        json_array_append_new(many, limite("DETR", 2030 + i, "", "2030-01-08"));
    json_object_set_new(body, "dates_limites_depot", many);
    put(&anct, body, im, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/chef_projet", "parametres-chef-projet-vides");
    fx_expect_error(&r, 422, "regle-non-respectee", "/dates_limites_depot",
                    "parametres-dates-limites-trop-nombreuses");
    http_response_release(&r);
    json_object_set_new(body, "chef_projet", json_array());
    json_object_set_new(body, "dates_limites_depot", json_array());
    put(&anct, body, im, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/chef_projet", "parametres-chef-projet-vides");
    http_response_release(&r);

    cr_assert_eq(fx_journal_count_by(&anct, "parametres"), 0);
    json_decref(body);
}

Test(programme_parametres, shape_errors_are_400_with_pointers)
{
    struct fx_caller anct;
    struct http_response r;
    char im[100];
    fx_caller_with(&anct, "anct_national", "{}");
    json_t *base = today_body(&anct, im);
    json_object_set_new(base, "date_effet", json_string("2099-07-01"));

    json_t *b = json_deep_copy(base);
    json_object_del(b, "delais");
    json_object_set_new(b, "version", json_integer(3));
    put(&anct, b, im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/delais", "champ-requis");
    fx_expect_error(&r, 400, "champs-invalides", "/version", "champ-inconnu");
    http_response_release(&r);
    json_decref(b);

    b = json_deep_copy(base);
    json_object_set_new(b, "chef_projet", json_string("75 %"));
    json_object_set_new(b, "date_effet", json_string("2099-02-30"));
    put(&anct, b, im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/chef_projet", "type-invalide");
    fx_expect_error(&r, 400, "champs-invalides", "/date_effet", "date-invalide");
    http_response_release(&r);
    json_decref(b);

    b = json_deep_copy(base);
    json_object_set_new(cdp0(b), "taux_max", json_string("0.75"));
    json_object_del(json_object_get(cdp0(b), "financeurs"), "anah");
    json_array_append_new(json_object_get(b, "chef_projet"), json_integer(1));
    put(&anct, b, im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/chef_projet/0/taux_max", "type-invalide");
    fx_expect_error(&r, 400, "champs-invalides", "/chef_projet/0/financeurs/anah", "champ-requis");
    fx_expect_error(&r, 400, "champs-invalides", "/chef_projet/1", "type-invalide");
    http_response_release(&r);
    json_decref(b);

    b = json_deep_copy(base);
    json_object_set_new(b, "pieces_requises",
                        json_pack("[{sssis[s]}, {sssis[s]}, {sssis[s]}]", "dispositif", "DSIL",
                                  "annee", 2099, "pieces", "Devis", "dispositif", "DSIL", "annee",
                                  2099, "pieces", "Devis", "dispositif", "PLUI", "annee", 2099,
                                  "pieces", "Devis"));
    put(&anct, b, im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/pieces_requises/1", "doublon");
    fx_expect_error(&r, 400, "champs-invalides", "/pieces_requises/2/dispositif",
                    "format-invalide");
    http_response_release(&r);
    json_decref(b);

    cr_assert_eq(fx_journal_count_by(&anct, "parametres"), 0);
    json_decref(base);
}

Test(programme_parametres, hostile_bytes_are_400_never_5xx)
{
    struct fx_caller anct;
    struct http_response r;
    char im[100];
    fx_caller_with(&anct, "anct_national", "{}");
    json_t *base = today_body(&anct, im);
    json_decref(base);
    static const char *const bodies[] = {
        "",
        "null",
        "[]",
        "\"parametres\"",
        "{\"date_effet\":\"2099-08-01\\u0000\"}",
        "{\"date_effet\":\"\xff\xfe\"}",
        "{\"date_effet\":1e400}",
        "{\"chef_projet\":[{\"annee_debut\":99999999999999999999999}]}",
        "{\"chef_projet\":[{\"annee_debut\":-9223372036854775808}]}",
        "{\"delais\":{\"rejet_implicite_mois\":2147483648}}",
        "{\"dates_limites_depot\":[{\"code_departement\":\"63\\u0000\"}]}",
        "{\"dates_limites_depot\":[{\"code_departement\":\"6300\"}]}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "{\"programme\":{\"date_lancement\":\"2020-10-01\",\"date_lancement\":\"2020-10-02\"}}",
        "{\"a\":1}{\"b\":2}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        fx_call(&anct, "PUT", PARAMS, bodies[i], im, &r);
        cr_assert_eq(r.status, 400, "body %zu: %ld " HTTP_BODY, i, r.status, r.body);
        http_response_release(&r);
    }
    static const char *const targets[] = {
        PARAMS "?date=%00",
        PARAMS "?date=2023-02-29",
        PARAMS "?date=demain",
        PARAMS "?date=%ff",
        PARAMS "?inconnu=1",
        PARAMS "?date=2099-01-01&date=2099-01-02",
        PARAMS "/versions/0",
        PARAMS "/versions/abc",
        PARAMS "/versions/-1",
        PARAMS "/versions/1e3",
        PARAMS "/versions?curseur=%ff%fe",
        PARAMS "/versions?curseur=abc",
        PARAMS "/versions?limite=0",
        PARAMS "/versions?limite=9999999999999999999999",
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        fx_call(&anct, "GET", targets[i], NULL, NULL, &r);
        cr_assert_eq(r.status, 400, "%s: %ld " HTTP_BODY, targets[i], r.status, r.body);
        http_response_release(&r);
    }
    fx_call(&anct, "GET", PARAMS "/versions/99999", NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count_by(&anct, "parametres"), 0);
}
