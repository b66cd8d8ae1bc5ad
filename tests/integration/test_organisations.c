/* Organisations over HTTP (issue 4 §1): communes and EPCI resolved from the
 * referential by SIREN (R42), Luhn (R42, 422), the État without SIREN,
 * duplicates (409), reads, PATCH with If-Match and the journal. SIRENs of
 * the territoires helper's départements only (shared database): 212400014
 * Abjat-sur-Bandiat (24001), 200071819 its EPCI, 212300107 Ahun (23001). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

static char admin_header[4400];

static void call(const char *method, const char *path, const char *body, const char *extra,
                 struct http_response *r)
{
    char *token = token_for("admin-initial");
    token_header(admin_header, sizeof admin_header, token);
    free(token);
    const char *headers[4] = {admin_header, NULL, NULL, NULL};
    size_t n = 1;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra)
        headers[n++] = extra;
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

static const char *field(const struct http_response *r, const char *name)
{
    return json_string_value(json_object_get(r->json, name));
}

static void expect_error(const struct http_response *r, long status, const char *code,
                         const char *pointer)
{
    cr_assert_eq(r->status, status, HTTP_BODY, r->body);
    json_t *e = json_array_get(json_object_get(r->json, "erreurs"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, HTTP_BODY, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(e, "pointeur")), pointer, HTTP_BODY,
                     r->body);
}

Test(organisations, commune_resolved_from_the_referential_then_duplicate_409)
{
    struct http_response r;
    call("POST", "/api/v1/organisations", "{\"siren\":\"212400014\",\"nature\":\"commune\"}", NULL,
         &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(field(&r, "nom"), "Abjat-sur-Bandiat");
    cr_assert_str_eq(field(&r, "code_insee"), "24001");
    cr_assert_str_eq(field(&r, "code_departement"), "24");
    cr_assert_str_eq(field(&r, "code_region"), "75");
    cr_assert_not_null(http_header(&r, "ETag"));
    char id[64], location[120];
    snprintf(id, sizeof id, "%s", field(&r, "id"));
    snprintf(location, sizeof location, "/api/v1/organisations/%s", id);
    cr_assert_str_eq(http_header(&r, "Location"), location);
    http_response_release(&r);

    call("POST", "/api/v1/organisations",
         "{\"siren\":\"212400014\",\"nature\":\"commune\",\"nom\":\"x\"}", NULL, &r);
    cr_assert_eq(r.status, 409, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/organisations?siren=212400014", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "id")), id);
    http_response_release(&r);
    http_get(location, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);

    char path[200];
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=organisation&ressource_id=%s", id);
    call("GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "action")),
                     "organisation.creer");
    http_response_release(&r);
}

Test(organisations, epci_resolved_and_rules_of_the_siren)
{
    struct http_response r;
    call("POST", "/api/v1/organisations", "{\"siren\":\"200071819\",\"nature\":\"epci\"}", NULL,
         &r);
    cr_assert(r.status == 201 || r.status == 409, HTTP_BODY, r.body);
    if (r.status == 201)
        cr_assert_null(field(&r, "code_insee"));
    http_response_release(&r);
    /* R42: Luhn. */
    call("POST", "/api/v1/organisations",
         "{\"siren\":\"212400015\",\"nature\":\"association\",\"nom\":\"A\"}", NULL, &r);
    expect_error(&r, 422, "siren-invalide", "/siren");
    cr_assert_str_eq(field(&r, "regle"), "R42");
    http_response_release(&r);
    /* R42: a commune's SIREN must be a commune-actuelle's. */
    call("POST", "/api/v1/organisations", "{\"siren\":\"200071819\",\"nature\":\"commune\"}", NULL,
         &r);
    expect_error(&r, 422, "siren-commune-inconnu", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"siren\":\"212300107\",\"nature\":\"epci\"}", NULL,
         &r);
    expect_error(&r, 422, "siren-epci-inconnu", "/siren");
    http_response_release(&r);
    /* 400: shape, and only the État may omit its SIREN. */
    call("POST", "/api/v1/organisations", "{\"siren\":\"21240001\",\"nature\":\"commune\"}", NULL,
         &r);
    expect_error(&r, 400, "format-invalide", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"nature\":\"bailleur\",\"nom\":\"B\"}", NULL, &r);
    expect_error(&r, 400, "champ-requis", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"nature\":\"ministere\",\"nom\":\"B\"}", NULL, &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(organisations, etat_without_siren_renamed_with_if_match)
{
    struct http_response r;
    call("POST", "/api/v1/organisations",
         "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Creuse\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert(json_is_null(json_object_get(r.json, "siren")));
    char path[120], im[100];
    snprintf(path, sizeof path, "/api/v1/organisations/%s", field(&r, "id"));
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Préfecture de la Creuse (Guéret)\"}", NULL, &r);
    cr_assert_eq(r.status, 428, HTTP_BODY, r.body);
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Préfecture de la Creuse (Guéret)\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(field(&r, "nom"), "Préfecture de la Creuse (Guéret)");
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Autre\"}", im, &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    char journal[200];
    snprintf(journal, sizeof journal, "/api/v1/journal?ressource_type=organisation&ressource_id=%s",
             path + strlen("/api/v1/organisations/"));
    call("GET", journal, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *last = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(last, "action")), "organisation.modifier",
                     HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(last, "avant"), "nom")),
                     "Préfecture de la Creuse");
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 2, "creer + modifier");
    http_response_release(&r);
    call("PATCH", path, "{\"nature\":\"autre\"}", "If-Match: *", &r);
    expect_error(&r, 400, "champ-inconnu", "/nature");
    http_response_release(&r);
    http_get("/api/v1/organisations/pas-un-uuid", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/organisations?nature=etat&limite=1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1);
    http_response_release(&r);
}

/* ---- Issue 8 §1: an organisation is written where it acts --------------- */

/* A person habilitated with role on perimetre (granted by the ANCT): its
 * Authorization header in out. */
static void person(const char *role, const char *perimetre, char *out, size_t size)
{
    char sub[80], body[600];
    struct http_response r;
    token_unique_subject(sub, sizeof sub, role);
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":%s}",
             token_issuer(), sub, role, perimetre);
    call("POST", "/api/v1/habilitations", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    char *token = token_for(sub);
    token_header(out, size, token);
    free(token);
}

static void as(const char *auth, const char *method, const char *path, const char *body,
               const char *extra, struct http_response *r)
{
    const char *headers[4] = {auth, NULL, NULL, NULL};
    size_t n = 1;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra)
        headers[n++] = extra;
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

/* The journal entries about organisation id that auth sees. */
static size_t journal_seen(const char *auth, const char *id, const char *action)
{
    char path[200];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=organisation&ressource_id=%s", id);
    as(auth, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), action) == 0)
            n++;
    }
    http_response_release(&r);
    return n;
}

/* The État signataire of a convention of the Nièvre (territoire pvd-27-58-901,
 * Clamecy 58079, SIREN 215800798, CC Haut Nivernais - Val d'Yonne 200067429):
 * the préfecture of Saône-et-Loire (71) may not rename it (it did: 200, and the
 * journal row named no département, so the Nièvre's never saw it); the
 * Nièvre's may, and sees the change in its journal. */
Test(organisations, prefecture_71_may_not_rename_the_etat_signataire_of_58)
{
    char p71[4400], p58[4400], path[120], im[100], etat[64], commune[64], body[1200];
    struct http_response r;
    person("prefecture_instructeur", "{\"departements\":[\"71\"]}", p71, sizeof p71);
    person("prefecture_instructeur", "{\"departements\":[\"58\"]}", p58, sizeof p58);
    call("POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-27-58-901\",\"nom\":\"Clamecy\",\"communes\":[\"58079\"],"
         "\"epcis\":[\"200067429\"],\"date_designation\":\"2020-12-15\"}",
         NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"siren\":\"215800798\",\"nature\":\"commune\"}", NULL,
         &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(commune, sizeof commune, "%s", field(&r, "id"));
    http_response_release(&r);
    call("POST", "/api/v1/organisations",
         "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Nièvre (Clamecy)\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(etat, sizeof etat, "%s", field(&r, "id"));
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-58-901\",\"intitule\":\"Adhésion de "
             "Clamecy\",\"signataires\":[{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\","
             "\"representant_nom\":\"Maire\",\"representant_qualite\":\"Maire\","
             "\"date_deliberation\":\"2024-01-02\"},{\"organisation_id\":\"%s\",\"role\":\"etat\","
             "\"representant_nom\":\"Préfet\",\"representant_qualite\":\"Préfet\"}]}",
             commune, etat);
    call("POST", "/api/v1/conventions", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);

    snprintf(path, sizeof path, "/api/v1/organisations/%s", etat);
    http_get(path, &r);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    /* 71: readable (public), so 403, never 404; nothing written. */
    as(p71, "PATCH", path, "{\"nom\":\"Renommée par la Saône-et-Loire\"}", im, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    cr_assert_str_eq(field(&r, "code"), "interdit");
    http_response_release(&r);
    http_get(path, &r);
    cr_assert_str_eq(field(&r, "nom"), "Préfecture de la Nièvre (Clamecy)");
    http_response_release(&r);
    /* 58: its préfecture renames it, and sees it in its journal; 71 does not. */
    as(p58, "PATCH", path, "{\"nom\":\"Préfecture de la Nièvre\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_seen(p58, etat, "organisation.modifier"), 1);
    cr_assert_eq(journal_seen(p71, etat, "organisation.modifier"), 0);
    char journal[200];
    snprintf(journal, sizeof journal, "/api/v1/journal?ressource_type=organisation&ressource_id=%s",
             etat);
    call("GET", journal, NULL, NULL, &r);
    json_t *last = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(last, "departements"), 0)),
                     "58", HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(last, "territoires"), 0)),
                     "pvd-27-58-901", HTTP_BODY, r.body);
    http_response_release(&r);
}

/* Creation: a commune's organisation by the préfecture of its département
 * only (403 elsewhere); an organisation acting nowhere yet (a new financeur)
 * by any préfecture, journaled where its creator acts; renamed then by the
 * ANCT only. A collectivité's own organisation passes the 403 gate (its name,
 * the referential's, then refuses the change: 422). */
Test(organisations, created_where_it_acts_and_acting_nowhere_is_the_anct_s)
{
    char p71[4400], p58[4400], elu[4400], path[120], im[100], id[64];
    struct http_response r;
    person("prefecture_instructeur", "{\"departements\":[\"71\"]}", p71, sizeof p71);
    person("prefecture_instructeur", "{\"departements\":[\"58\"]}", p58, sizeof p58);
    person("collectivite_elu", "{\"sirens\":[\"215800863\"]}", elu, sizeof elu);
    /* Cosne-Cours-sur-Loire (58086, SIREN 215800863). */
    as(p71, "POST", "/api/v1/organisations", "{\"siren\":\"215800863\",\"nature\":\"commune\"}",
       NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    as(p58, "POST", "/api/v1/organisations", "{\"siren\":\"215800863\",\"nature\":\"commune\"}",
       NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(path, sizeof path, "/api/v1/organisations/%s", field(&r, "id"));
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    as(p71, "PATCH", path, "{\"nom\":\"Cosne\"}", im, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    as(elu, "PATCH", path, "{\"nom\":\"Cosne\"}", im, &r);
    expect_error(&r, 422, "nom-du-referentiel", "/nom");
    http_response_release(&r);

    /* Acting nowhere: created by the 71, seen in its journal, renamed by the ANCT only. */
    as(p71, "POST", "/api/v1/organisations",
       "{\"siren\":\"180020026\",\"nature\":\"operateur\",\"nom\":\"Banque des Territoires\"}",
       NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", field(&r, "id"));
    snprintf(path, sizeof path, "/api/v1/organisations/%s", id);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(journal_seen(p71, id, "organisation.creer"), 1);
    cr_assert_eq(journal_seen(p58, id, "organisation.creer"), 0);
    as(p71, "PATCH", path, "{\"nom\":\"CDC\"}", im, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    cr_assert(strstr(field(&r, "detail"), "aucun territoire"), HTTP_BODY, r.body);
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Caisse des dépôts\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* The PATCH read the organisation (its If-Match matched) before another
 * session, holding the row, renamed it: the rename finds the revision moved
 * under its lock (DB_STALE) and answers 412, writing nothing. */
Test(organisations, a_change_found_under_the_lock_is_412)
{
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_call(&admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Vienne\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char id[37], path[120], im[100];
    snprintf(id, sizeof id, "%s", field(&r, "id"));
    snprintf(path, sizeof path, "/api/v1/organisations/%s", id);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call_while_held(&admin, "PATCH", path, "{\"nom\":\"Préfecture (Poitiers)\"}", im,
                       "UPDATE organisations SET nom = 'Changée ailleurs', revision = revision + 1 "
                       "WHERE id = $1::uuid",
                       id, &r);
    char current[64];
    fx_expect_stale(&r, "L'organisation a été modifiée entre-temps", current);
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(current, http_header(&r, "ETag"));
    cr_assert_str_eq(field(&r, "nom"), "Changée ailleurs", "nothing written by the PATCH");
    http_response_release(&r);
}
