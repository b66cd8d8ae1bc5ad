/* The authorization matrix over HTTP, generated from the route table
 * (`pvd-api routes --details`): every non-public route × every role × a
 * target inside / outside the caller's perimeter (plus no token and a token
 * without habilitation), asserting the status api.md prescribes: 401 without
 * credentials, 403 without habilitation or for an action the role may not do
 * on an object it may read, 404 outside the perimeter on reads. A route whose
 * method and action have no row in `expectations` fails the test, so a new
 * route cannot escape the matrix. Needs PVD_TEST_SERVER_BIN (the pvd-api binary). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

enum who {
    WHO_ANCT,
    WHO_PREF_DEP, /* prefecture_instructeur */
    WHO_PREF_REG, /* prefecture_region */
    WHO_AGENT,    /* collectivite_agent */
    WHO_ELU,      /* collectivite_elu */
    WHO_FINANCEUR,
    WHO_LECTEUR, /* lecteur_national: reads everything, writes nothing */
    WHO__COUNT
};
static const char *const who_names[] = {"anct_national",     "prefecture_instructeur",
                                        "prefecture_region", "collectivite_agent",
                                        "collectivite_elu",  "financeur",
                                        "lecteur_national"};

/* Perimeters: "inside" principals hold the Nièvre (58, région 27) or the commune
 * Château-Chinon (Ville) 215800624; "outside" ones the Rhône (69, région 84) or
 * Thizy-les-Bourgs 200033652. The target objects are in the Nièvre. */
static const char *const inside_perimeter[] = {
    "{}",
    "{\"departements\":[\"58\"]}",
    "{\"regions\":[\"27\"]}",
    "{\"sirens\":[\"215800624\"]}",
    "{\"sirens\":[\"215800624\"]}",
    "{\"sirens\":[\"215800624\"]}",
    "{}",
};
static const char *const outside_perimeter[] = {
    "{}",
    "{\"departements\":[\"69\"]}",
    "{\"regions\":[\"84\"]}",
    "{\"sirens\":[\"200033652\"]}",
    "{\"sirens\":[\"200033652\"]}",
    "{\"sirens\":[\"200033652\"]}",
    "{}",
};

/* Expected status per (method, action): [who][0] inside, [who][1] outside. */
struct expectation {
    const char *method;
    const char *action;
    int status[WHO__COUNT][2];
};

/* clang-format off */
static const struct expectation expectations[] = {
    /*                                          anct        pref_dep    pref_reg    agent       elu         financeur   lecteur */
    {"GET",    "moi.lire",              {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    /* list: préfectures see their perimeter's; other roles may not list */
    {"GET",    "habilitation.lire",     {{200, 200}, {200, 200}, {200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"POST",   "habilitation.accorder", {{201, 201}, {201, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"DELETE", "habilitation.revoquer", {{200, 200}, {200, 404}, {403, 404}, {403, 404}, {403, 404}, {403, 404}, {403, 403}}},
    {"GET",    "journal.lire",          {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    {"GET",    "client.gerer",          {{200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"POST",   "client.gerer",          {{201, 201}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"DELETE", "client.gerer",          {{200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    /* Issue 8 §1. Organisations are written where they act. POST re-creates the
     * organisation of the commune 215800624 (Nièvre), so an allowed caller gets
     * 409 conflit; PATCH renames the État signataire of the matrix convention
     * (it acts in 58 through pvd-27-58-900): the ANCT and the préfectures of 58 /
     * région 27 only (a collectivité's own organisation is a commune or EPCI,
     * whose name is the referential's: test_organisations). */
    {"POST",   "organisation.creer",    {{409, 409}, {409, 403}, {409, 403}, {409, 403}, {409, 403}, {403, 403}, {403, 403}}},
    {"PATCH",  "organisation.ecrire",   {{200, 200}, {200, 403}, {200, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    /* Territoires (R43): the ANCT or the préfecture of the département. POST
     * re-creates pvd-27-58-900, so an allowed caller gets 409 conflit. */
    {"POST",   "territoire.ecrire",     {{409, 409}, {409, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"PATCH",  "territoire.ecrire",     {{200, 200}, {200, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    /* Issue 4 §2. Conventions: the target is a SIGNED adhésion of pvd-27-58-900,
     * so that an allowed PATCH gets 409 (avenant-requis), an allowed signature
     * 409 (not en_signature), an allowed transition to brouillon 409 (no such
     * edge), an allowed creation 409 (an active adhésion exists); the list is
     * filtered by perimeter (200 for all). */
    {"GET",    "convention.lire",       {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    {"POST",   "convention.ecrire",     {{409, 409}, {403, 404}, {403, 404}, {409, 404}, {409, 404}, {403, 404}, {403, 403}}},
    {"PATCH",  "convention.ecrire",     {{409, 409}, {403, 404}, {403, 404}, {409, 404}, {409, 404}, {403, 404}, {403, 403}}},
    {"POST",   "convention.signer",     {{409, 409}, {409, 404}, {409, 404}, {403, 404}, {409, 404}, {409, 404}, {403, 403}}},
    {"POST",   "convention.transition", {{409, 409}, {409, 404}, {403, 404}, {409, 404}, {409, 404}, {403, 404}, {403, 403}}},
    {"GET",    "statistiques.lire",     {{200, 200}, {200, 200}, {200, 200}, {403, 403}, {403, 403}, {403, 403}, {200, 200}}},
    /* Issue 4 §3. Projet de territoire and comité (projet.lire / projet.ecrire), all on
     * pvd-27-58-900. GET and POST /api/v1/comites differ: see comites_status. */
    {"GET",    "projet.lire",           {{200, 200}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 200}}},
    {"POST",   "projet.ecrire",         {{201, 201}, {403, 404}, {403, 404}, {201, 404}, {201, 404}, {403, 404}, {403, 403}}},
    {"PATCH",  "projet.ecrire",         {{200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}}},
    {"DELETE", "projet.ecrire",         {{204, 204}, {403, 404}, {403, 404}, {204, 404}, {204, 404}, {403, 404}, {403, 403}}},
    /* Issue 9: fiches action on pvd-27-58-900, maître d'ouvrage the commune 215800624 (so a
     * financeur holding that SIREN is inside). */
    {"GET",    "fiche.lire",            {{200, 200}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 200}}},
    {"POST",   "fiche.ecrire",          {{201, 201}, {403, 404}, {403, 404}, {201, 404}, {201, 404}, {403, 404}, {403, 403}}},
    {"PATCH",  "fiche.ecrire",          {{200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}}},
    /* brouillon → realisee (no such edge): 409 for whoever may ask */
    {"POST",   "fiche.transition",      {{409, 409}, {403, 404}, {403, 404}, {409, 404}, {409, 404}, {403, 404}, {403, 403}}},
    /* Issue 9 §2: the fiche's plan de financement and échéancier replaced (PUT, empty) */
    {"PUT",    "fiche.ecrire",          {{200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}}},
    /* Issue 10 §1: programme parameters, national data: read by all, written by the ANCT (the
     * PUT re-writes today's document as a version of 2999-12-31: parametres_target) */
    {"GET",    "parametres.lire",       {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    {"PUT",    "parametres.ecrire",     {{200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    /* — end of programme parameters — */
    /* Issue 10 §2: a poste de chef de projet serving pvd-27-58-900, employed by the commune
     * 215800624 (a financeur holding that SIREN is inside), and its year 2025; the PUT
     * rewrites that year with the same (zero) shares: R16 lets anct_national record none. */
    {"GET",    "poste.lire",            {{200, 200}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 200}}},
    {"POST",   "poste.ecrire",          {{201, 201}, {403, 404}, {403, 404}, {201, 404}, {201, 404}, {403, 404}, {403, 403}}},
    {"PATCH",  "poste.ecrire",          {{200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}}},
    {"PUT",    "poste.ecrire",          {{200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}}},
};
/* The read of one habilitation by id (GET …/:id) differs from the list. */
static const int read_one[WHO__COUNT][2] = {
    {200, 200}, {200, 404}, {200, 404}, {403, 404}, {403, 404}, {403, 404}, {403, 403}};
/* The bulk import (dry run): a préfecture outside gets 200 with the line refused. */
static const int import_status[WHO__COUNT][2] = {
    {200, 200}, {200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}};
/* One convention (GET /conventions/:id, its versions): 404 outside. */
static const int convention_read_one[WHO__COUNT][2] = {
    {200, 200}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 200}};
/* An avenant to the signed adhésion: created (201) by whoever may write. */
static const int convention_avenant[WHO__COUNT][2] = {
    {201, 201}, {403, 404}, {403, 404}, {201, 404}, {201, 404}, {403, 404}, {403, 403}};
/* A financing line appended to the fiche (issue 9 §2): 200 with the fiche. */
/* Issue 10 §3: a DETR demande de subvention of the matrix fiche (Nièvre,
 * région 27), in brouillon. prefecture_region sees DSIL only (R38): 404 even
 * inside. Creating: the collectivités (and the ANCT); the préfectures and the
 * financeur 403 inside. A transition brouillon → soldee has no edge: 409 for
 * whoever may act. A versement: the DETR instructor (préfecture de
 * département) or the ANCT get 422 versement-avant-notification (a draft), the
 * other callers who may act 403. */
static const int demande_read[WHO__COUNT][2] = {{200, 200}, {200, 404}, {404, 404}, {200, 404},
                                                {200, 404}, {200, 404}, {200, 200}};
static const int demande_create[WHO__COUNT][2] = {{201, 201}, {403, 404}, {403, 404}, {201, 404},
                                                  {201, 404}, {403, 404}, {403, 403}};
static const int demande_patch[WHO__COUNT][2] = {{200, 200}, {403, 404}, {404, 404}, {200, 404},
                                                 {200, 404}, {403, 404}, {403, 403}};
static const int demande_transition[WHO__COUNT][2] = {{409, 409}, {409, 404}, {404, 404},
                                                      {409, 404}, {409, 404}, {409, 404},
                                                      {403, 403}};
/* PUT …/par-dossier-ds/{numero} of the dossier delivered in setup, again
 * with the same delivery: 200 (unchanged) for whoever may synchronise — the
 * ANCT and the préfecture of the département (DETR: not the région's). */
static const int demande_ds[WHO__COUNT][2] = {{200, 200}, {200, 404}, {404, 404}, {403, 404},
                                              {403, 404}, {403, 404}, {403, 403}};
/* A prolongation of the matrix draft: the DETR instructor or the ANCT get
 * 422 prolongation-non-applicable (a draft), the others who may act 403. */
static const int demande_prolongation[WHO__COUNT][2] = {{422, 422}, {422, 404}, {404, 404},
                                                        {403, 404}, {403, 404}, {403, 404},
                                                        {403, 403}};
static const int demande_versement[WHO__COUNT][2] = {{422, 422}, {422, 404}, {404, 404},
                                                     {403, 404}, {403, 404}, {403, 404},
                                                     {403, 403}};

static const int fiche_ligne[WHO__COUNT][2] = {
    {200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}};
/* Issue 9 §3: the plan d'action and the maquette of pvd-27-58-900 (plan_status). */
static const int plan_read[WHO__COUNT][2] = {
    {200, 200}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 404}, {200, 200}};
static const int plan_write[WHO__COUNT][2] = {
    {200, 200}, {403, 404}, {403, 404}, {200, 404}, {200, 404}, {403, 404}, {403, 403}};
/* clang-format on */

struct principal_fixture {
    char header[4400];
};

static struct principal_fixture fixtures[WHO__COUNT][2];
static char admin_header[4400];
static void setup_convention_fixture(void);

static void post_json(const char *auth, const char *path, const char *body, struct http_response *r)
{
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    http_request("POST", path, headers, body, strlen(body), r);
}

static void make_principal(enum who w, int outside, struct principal_fixture *f)
{
    char sub[80], body[600];
    token_unique_subject(sub, sizeof sub, who_names[w]);
    if (w != WHO_ANCT || outside) {
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":%s}",
                 token_issuer(), sub, who_names[w],
                 outside ? outside_perimeter[w] : inside_perimeter[w]);
        struct http_response r;
        post_json(admin_header, "/api/v1/habilitations", body, &r);
        cr_assert_eq(r.status, 201, "fixture %s: " HTTP_BODY, who_names[w], r.body);
        http_response_release(&r);
    } else {
        snprintf(sub, sizeof sub, "admin-initial");
    }
    char *token = token_for(sub);
    token_header(f->header, sizeof f->header, token);
    free(token);
}

/* The programme's objects every "inside" target hangs on: the organisation
 * of Château-Chinon (Ville) and the territoire pvd-27-58-900 (commune 58062,
 * EPCI 200067890). Created or found (another suite may have made them). */
#define MATRIX_TERRITOIRE "pvd-27-58-900"
static void setup_programme_fixtures(void)
{
    struct http_response r;
    post_json(admin_header, "/api/v1/organisations",
              "{\"siren\":\"215800624\",\"nature\":\"commune\"}", &r);
    cr_assert(r.status == 201 || r.status == 409, "organisation 215800624: " HTTP_BODY, r.body);
    http_response_release(&r);
    post_json(admin_header, "/api/v1/territoires",
              "{\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"nom\":\"Château-Chinon (Ville)\","
              "\"communes\":[\"58062\"],\"epcis\":[\"200067890\"],"
              "\"date_designation\":\"2020-12-15\"}",
              &r);
    cr_assert(r.status == 201 || r.status == 409, "territoire " MATRIX_TERRITOIRE ": " HTTP_BODY,
              r.body);
    http_response_release(&r);
}

/* Projet de territoire and comité targets on pvd-27-58-900: one axe, one
 * indicateur, the territoire's comité (R40: executives of commune 215800624
 * and EPCI 200067890, a chef de projet, the préfet) and one séance, made in
 * setup; PATCH and DELETE of axes and indicateurs get fresh ones. */
static char gv_axe[37], gv_indicateur[37], gv_comite[37], gv_seance[37];
static int gv_numero = 1, gv_jour = 0;

static void gv_post_ok(const char *path, const char *body, char id[37], char etag[64])
{
    struct http_response r;
    post_json(admin_header, path, body, &r);
    cr_assert_eq(r.status, 201, "%s: " HTTP_BODY, path, r.body);
    snprintf(id, 37, "%s", json_string_value(json_object_get(r.json, "id")));
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void gv_organisation_id(const char *siren, const char *nature, char id[37])
{
    char body[200], path[100];
    struct http_response r;
    snprintf(body, sizeof body, "{\"siren\":\"%s\",\"nature\":\"%s\"}", siren, nature);
    post_json(admin_header, "/api/v1/organisations", body, &r);
    if (r.status == 409) {
        http_response_release(&r);
        snprintf(path, sizeof path, "/api/v1/organisations?siren=%s", siren);
        http_get(path, &r);
        json_t *list = json_object_get(r.json, "elements");
        snprintf(id, 37, "%s",
                 json_string_value(json_object_get(list ? json_array_get(list, 0) : r.json, "id")));
    } else {
        cr_assert_eq(r.status, 201, "organisation %s: " HTTP_BODY, siren, r.body);
        snprintf(id, 37, "%s", json_string_value(json_object_get(r.json, "id")));
    }
    http_response_release(&r);
}

static char gv_comite_body[900];

static void gv_new_axe(char id[37], char etag[64])
{
    char body[200];
    snprintf(body, sizeof body, "{\"numero\":%d,\"intitule\":\"Axe\",\"enjeux\":\"Enjeux\"}",
             ++gv_numero);
    gv_post_ok("/api/v1/territoires/" MATRIX_TERRITOIRE "/axes-strategiques", body, id, etag);
}

static void gv_new_indicateur(char id[37], char etag[64])
{
    char path[120];
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", gv_axe);
    gv_post_ok(path, "{\"type\":\"resultat\",\"libelle\":\"Vacance\",\"unite\":\"%\"}", id, etag);
}

static void setup_gouvernance_fixtures(void)
{
    char commune[37], epci[37], etag[64];
    gv_organisation_id("215800624", "commune", commune);
    gv_organisation_id("200067890", "epci", epci);
    snprintf(gv_comite_body, sizeof gv_comite_body,
             "{\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"presidence\":\"Le maire\",\"membres\":["
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Maire\"},"
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"Président\"},"
             "{\"qualite\":\"chef_projet\",\"nom\":\"Cheffe de projet\"},"
             "{\"qualite\":\"prefet\",\"nom\":\"Sous-préfet\"}]}",
             commune, epci);
    gv_post_ok("/api/v1/territoires/" MATRIX_TERRITOIRE "/axes-strategiques",
               "{\"numero\":1,\"intitule\":\"Axe\",\"enjeux\":\"Enjeux\"}", gv_axe, NULL);
    gv_new_indicateur(gv_indicateur, etag);
    gv_post_ok("/api/v1/comites", gv_comite_body, gv_comite, NULL);
    char path[120];
    snprintf(path, sizeof path, "/api/v1/comites/%s/seances", gv_comite);
    gv_post_ok(path, "{\"date\":\"2024-03-14\"}", gv_seance, NULL);
}

/* The current ETag of path (read as the administrator). */
static void gv_etag_of(const char *path, char etag[64])
{
    struct http_response r;
    const char *headers[] = {admin_header, NULL};
    http_request("GET", path, headers, NULL, 0, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* Target and body of a projet / comité route: true when path is one. */
static bool gv_target(const char *method, const char *path, char *url, size_t url_size,
                      char etag[64], char *body, size_t body_size)
{
    char id[37];
    bool post = strcmp(method, "POST") == 0, patch = strcmp(method, "PATCH") == 0;
    bool fresh = patch || strcmp(method, "DELETE") == 0;
    body[0] = '\0';
    if (strcmp(path, "/api/v1/territoires/:id_pvd/axes-strategiques") == 0) {
        snprintf(url, url_size, "/api/v1/territoires/" MATRIX_TERRITOIRE "/axes-strategiques");
        if (post)
            snprintf(body, body_size, "{\"numero\":%d,\"intitule\":\"Axe\",\"enjeux\":\"Enjeux\"}",
                     ++gv_numero);
    } else if (strcmp(path, "/api/v1/axes-strategiques/:id") == 0) {
        if (fresh)
            gv_new_axe(id, etag);
        snprintf(url, url_size, "/api/v1/axes-strategiques/%s", fresh ? id : gv_axe);
        if (patch)
            snprintf(body, body_size, "{\"intitule\":\"Axe modifié\"}");
    } else if (strcmp(path, "/api/v1/axes-strategiques/:id/indicateurs") == 0) {
        snprintf(url, url_size, "/api/v1/axes-strategiques/%s/indicateurs", gv_axe);
        if (post)
            snprintf(body, body_size,
                     "{\"type\":\"mise_en_oeuvre\",\"libelle\":\"Locaux\",\"unite\":\"nombre\"}");
    } else if (strcmp(path, "/api/v1/indicateurs/:id") == 0) {
        if (fresh)
            gv_new_indicateur(id, etag);
        snprintf(url, url_size, "/api/v1/indicateurs/%s", fresh ? id : gv_indicateur);
        if (patch)
            snprintf(body, body_size, "{\"valeur_cible\":\"10\"}");
    } else if (strcmp(path, "/api/v1/indicateurs/:id/mesures") == 0) {
        snprintf(url, url_size, "/api/v1/indicateurs/%s/mesures", gv_indicateur);
        if (post) {
            gv_jour++;
            snprintf(body, body_size, "{\"date\":\"2020-%02d-%02d\",\"valeur\":\"1\"}",
                     1 + gv_jour / 28, 1 + gv_jour % 28);
        }
    } else if (strcmp(path, "/api/v1/comites") == 0) {
        snprintf(url, url_size, "/api/v1/comites");
        if (post)
            snprintf(body, body_size, "%s", gv_comite_body);
    } else if (strcmp(path, "/api/v1/comites/:id") == 0) {
        snprintf(url, url_size, "/api/v1/comites/%s", gv_comite);
        if (patch) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "{\"presidence\":\"Le maire (%d)\"}", ++gv_jour);
        }
    } else if (strcmp(path, "/api/v1/comites/:id/seances") == 0) {
        snprintf(url, url_size, "/api/v1/comites/%s/seances", gv_comite);
        if (post)
            snprintf(body, body_size, "{\"date\":\"2024-06-20\"}");
    } else if (strcmp(path, "/api/v1/seances/:id") == 0) {
        snprintf(url, url_size, "/api/v1/seances/%s", gv_seance);
        if (patch) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "{\"compte_rendu\":\"Compte rendu %d\"}", ++gv_jour);
        }
    } else if (strcmp(path, "/api/v1/seances/:id/decisions") == 0) {
        snprintf(url, url_size, "/api/v1/seances/%s/decisions", gv_seance);
        if (post)
            snprintf(body, body_size, "{\"type\":\"autre\",\"objet\":\"Décision\"}");
    } else {
        return false;
    }
    return true;
}

/* Fiche action targets on pvd-27-58-900 (issue 9): one fiche made in setup;
 * each POST creates another (a fresh numero). */
static char fa_fiche[37], fa_commune[37];
static int fa_numero = 0;

static void fa_body(char *body, size_t size)
{
    snprintf(body, size,
             "{\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"numero\":\"M%d\",\"intitule\":\"Halles\","
             "\"axe_id\":\"%s\",\"description\":\"Halles\",\"objectifs\":\"Marché\","
             "\"maitre_ouvrage_id\":\"%s\",\"nature_depense\":\"etude\","
             "\"cout_total_ht_centimes\":100000,\"localisation_commune_insee\":\"58062\"}",
             ++fa_numero, gv_axe, fa_commune);
}

static void setup_fiche_fixtures(void)
{
    char body[700];
    gv_organisation_id("215800624", "commune", fa_commune);
    fa_body(body, sizeof body);
    gv_post_ok("/api/v1/fiches-action", body, fa_fiche, NULL);
}

/* Target and body of a fiche route: true when path is one. */
static bool fa_target(const char *method, const char *path, char *url, size_t url_size,
                      char etag[64], char *body, size_t body_size)
{
    if (strcmp(path, "/api/v1/fiches-action") == 0) {
        body[0] = '\0';
        snprintf(url, url_size, "/api/v1/fiches-action");
        if (strcmp(method, "POST") == 0)
            fa_body(body, body_size);
    } else if (strcmp(path, "/api/v1/fiches-action/:id") == 0) {
        body[0] = '\0';
        snprintf(url, url_size, "/api/v1/fiches-action/%s", fa_fiche);
        if (strcmp(method, "PATCH") == 0) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "{\"intitule\":\"Halles (%d)\"}", ++gv_jour);
        }
    } else if (strcmp(path, "/api/v1/fiches-action.csv") == 0) {
        body[0] = '\0';
        snprintf(url, url_size, "/api/v1/fiches-action.csv");
    } else if (strcmp(path, "/api/v1/fiches-action/:id/transitions") == 0) {
        /* brouillon → realisee: no such edge, so an allowed caller gets 409 */
        snprintf(url, url_size, "/api/v1/fiches-action/%s", fa_fiche);
        gv_etag_of(url, etag);
        snprintf(url, url_size, "/api/v1/fiches-action/%s/transitions", fa_fiche);
        snprintf(body, body_size, "{\"vers\":\"realisee\"}");
    } else if (strncmp(path, "/api/v1/fiches-action/:id/", 26) == 0) {
        /* issue 9 §2: plan-financement (GET, PUT), its lignes (POST), echeancier (GET, PUT) */
        body[0] = '\0';
        snprintf(url, url_size, "/api/v1/fiches-action/%s", fa_fiche);
        gv_etag_of(url, etag);
        snprintf(url, url_size, "/api/v1/fiches-action/%s/%s", fa_fiche, path + 26);
        if (strcmp(method, "PUT") == 0)
            snprintf(body, body_size,
                     strstr(path, "echeancier") ? "{\"annees\":[]}" : "{\"lignes\":[]}");
        else if (strcmp(method, "POST") == 0)
            snprintf(body, body_size,
                     "{\"financeur_id\":\"%s\",\"dispositif\":\"autofinancement\","
                     "\"nature_financeur\":\"public\",\"montant_centimes\":100}",
                     fa_commune);
    } else {
        return false;
    }
    return true;
}

/* Demande de subvention targets (issue 10 §3): one DETR draft on the matrix
 * fiche, made in setup; each POST creates another. */
static char dm_demande[37];

static void dm_body(char *body, size_t size)
{
    snprintf(body, size,
             "{\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles\","
             "\"depense_subventionnable_ht_centimes\":100000,\"montant_sollicite_centimes\":30000}",
             fa_commune, fa_fiche);
}

#define DM_DOSSIER_DS "9100000001"

static void matrix_send(const char *method, const char *path, const char *auth, const char *etag,
                        const char *body, struct http_response *r);

/* The delivery of the matrix's Démarches simplifiées dossier. */
static void dm_ds_body(char *body, size_t size)
{
    snprintf(body, size,
             "{\"etat_ds\":\"en_construction\",\"ds_modifie_le\":\"2025-01-02T10:00:00Z\","
             "\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles (DS)\","
             "\"depense_subventionnable_ht_centimes\":100000,\"montant_sollicite_centimes\":30000,"
             "\"date_depot\":\"2025-01-02\"}",
             fa_commune, fa_fiche);
}

static void setup_demande_fixtures(void)
{
    char body[700];
    dm_body(body, sizeof body);
    gv_post_ok("/api/v1/demandes-subvention", body, dm_demande, NULL);
    struct http_response r;
    dm_ds_body(body, sizeof body);
    matrix_send("PUT", "/api/v1/demandes-subvention/par-dossier-ds/" DM_DOSSIER_DS, admin_header,
                NULL, body, &r);
    cr_assert_eq(r.status, 201, "matrix DS dossier: " HTTP_BODY, r.body);
    http_response_release(&r);
}

/* Target and body of a demande route: true when path is one. */
static bool dm_target(const char *method, const char *path, char *url, size_t url_size,
                      char etag[64], char *body, size_t body_size)
{
    if (strncmp(path, "/api/v1/demandes-subvention", 27) != 0)
        return false;
    body[0] = '\0';
    if (strcmp(path, "/api/v1/demandes-subvention") == 0) {
        snprintf(url, url_size, "/api/v1/demandes-subvention");
        if (strcmp(method, "POST") == 0)
            dm_body(body, body_size);
        return true;
    }
    if (strcmp(path, "/api/v1/demandes-subvention/par-dossier-ds/:numero") == 0) {
        snprintf(url, url_size, "/api/v1/demandes-subvention/par-dossier-ds/" DM_DOSSIER_DS);
        snprintf(etag, 64, "*"); /* a PUT carries If-Match here; the delivery ignores it */
        dm_ds_body(body, body_size);
        return true;
    }
    if (strncmp(path, "/api/v1/demandes-subvention/:id", 31) != 0)
        return false;
    snprintf(url, url_size, "/api/v1/demandes-subvention/%s", dm_demande);
    if (strcmp(method, "GET") == 0)
        return true;
    gv_etag_of(url, etag);
    snprintf(url, url_size, "/api/v1/demandes-subvention/%s%s", dm_demande, path + 31);
    if (strcmp(method, "PATCH") == 0)
        snprintf(body, body_size, "{\"intitule\":\"Halles (%d)\"}", ++gv_jour);
    else if (strstr(path, "/transitions"))
        snprintf(body, body_size, "{\"vers\":\"soldee\"}");
    else if (strstr(path, "/prolongations"))
        snprintf(body, body_size, "{\"type\":\"caducite\",\"reference\":\"Arrêté 1\"}");
    else if (strstr(path, "/versements"))
        snprintf(body, body_size,
                 "{\"type\":\"avance\",\"date\":\"2024-01-10\",\"montant_centimes\":100}");
    return true;
}

static int demande_status(const char *method, const char *path, int who, int outside, bool *known)
{
    *known = strncmp(path, "/api/v1/demandes-subvention", 27) == 0;
    if (!*known)
        return 0;
    if (strcmp(path, "/api/v1/demandes-subvention") == 0)
        return strcmp(method, "GET") == 0 ? 200 : demande_create[who][outside];
    if (strstr(path, "/par-dossier-ds/"))
        return demande_ds[who][outside];
    if (strcmp(method, "GET") == 0)
        return demande_read[who][outside];
    if (strcmp(method, "PATCH") == 0)
        return demande_patch[who][outside];
    if (strstr(path, "/prolongations"))
        return demande_prolongation[who][outside];
    return strstr(path, "/transitions") ? demande_transition[who][outside]
                                        : demande_versement[who][outside];
}

/* Issue 10 §2: one poste de chef de projet serving pvd-27-58-900 (employer
 * the commune 215800624) with its year 2025, made in setup once the
 * matrix adhésion is signed (R11); each POST creates another poste. */
static char po_poste[37];
static int po_numero = 0;
#define PO_ANNEE                                                                                   \
    "{\"cout_charge_annuel_centimes\":6000000,\"avec_anah\":false,"                                \
    "\"part_anct_etat_centimes\":0,\"part_bdt_centimes\":0,\"part_anah_centimes\":0}"

static void po_body(char *body, size_t size)
{
    snprintf(body, size,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"" MATRIX_TERRITOIRE "\"],"
             "\"quotite\":10000,\"date_recrutement\":\"2024-01-01\","
             "\"missions\":\"Matrice %d\"}",
             fa_commune, ++po_numero);
}

static void setup_poste_fixture(void)
{
    char body[400], path[160];
    struct http_response r;
    po_body(body, sizeof body);
    gv_post_ok("/api/v1/postes-chef-de-projet", body, po_poste, NULL);
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees/2025", po_poste);
    const char *headers[] = {admin_header, "Content-Type: application/json", NULL};
    http_request("PUT", path, headers, PO_ANNEE, strlen(PO_ANNEE), &r);
    cr_assert_eq(r.status, 201, "%s: " HTTP_BODY, path, r.body);
    http_response_release(&r);
}

/* Target and body of a poste route: true when path is one. */
static bool po_target(const char *method, const char *path, char *url, size_t url_size,
                      char etag[64], char *body, size_t body_size)
{
    const char *base = "/api/v1/postes-chef-de-projet";
    size_t n = strlen(base);
    if (strncmp(path, base, n) != 0)
        return false;
    body[0] = '\0';
    if (path[n] == '\0') {
        snprintf(url, url_size, "%s", base);
        if (strcmp(method, "POST") == 0)
            po_body(body, body_size);
    } else if (strcmp(path + n, "/:id") == 0) {
        snprintf(url, url_size, "%s/%s", base, po_poste);
        if (strcmp(method, "PATCH") == 0) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "{\"missions\":\"Matrice %d\"}", ++po_numero);
        }
    } else if (strcmp(path + n, "/:id/annees") == 0) {
        snprintf(url, url_size, "%s/%s/annees", base, po_poste);
    } else if (strcmp(path + n, "/:id/annees/:annee") == 0) {
        snprintf(url, url_size, "%s/%s/annees/2025", base, po_poste);
        if (strcmp(method, "PUT") == 0) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "%s", PO_ANNEE);
        }
    } else {
        return false;
    }
    return true;
}

/* GET /api/v1/comites lists (filtered: 200 for all); POST re-creates the
 * territoire's comité, so an allowed caller gets 409 conflit. */
static int comites_status(const char *method, int who, int outside)
{
    static const int post[WHO__COUNT][2] = {{409, 409}, {403, 404}, {403, 404}, {409, 404},
                                            {409, 404}, {403, 404}, {403, 403}};
    return strcmp(method, "GET") == 0 ? 200 : post[who][outside];
}

/* Issue 9 §3: the plan d'action of pvd-27-58-900 and its maquette. Its
 * version 1 is frozen in setup (a valide_plan décision of the matrix
 * séance), so that GET …/versions/1 answers 200 to whoever may read. */
#define MATRIX_PLAN "/api/v1/territoires/" MATRIX_TERRITOIRE "/plan-action"
static int plan_numero = 0;
static void setup_plan_fixture(void)
{
    char path[120], id[37];
    snprintf(path, sizeof path, "/api/v1/seances/%s/decisions", gv_seance);
    gv_post_ok(path, "{\"type\":\"valide_plan\",\"objet\":\"Plan d'action (matrice)\"}", id, NULL);
}

/* Target and body of a plan d'action / maquette route: true when path is
 * one (the PATCH gets the plan's current ETag). */
static bool plan_target(const char *method, const char *path, char *url, size_t url_size,
                        char etag[64], char *body, size_t body_size)
{
    body[0] = '\0';
    if (strcmp(path, "/api/v1/territoires/:id_pvd/plan-action") == 0) {
        snprintf(url, url_size, MATRIX_PLAN);
        if (strcmp(method, "PATCH") == 0) {
            gv_etag_of(url, etag);
            snprintf(body, body_size, "{\"programme_global\":\"Matrice %d\"}", ++plan_numero);
        }
    } else if (strcmp(path, "/api/v1/territoires/:id_pvd/plan-action/versions") == 0) {
        snprintf(url, url_size, MATRIX_PLAN "/versions");
    } else if (strcmp(path, "/api/v1/territoires/:id_pvd/plan-action/versions/:version") == 0) {
        snprintf(url, url_size, MATRIX_PLAN "/versions/1");
    } else if (strcmp(path, "/api/v1/territoires/:id_pvd/maquette-financiere") == 0) {
        snprintf(url, url_size,
                 "/api/v1/territoires/" MATRIX_TERRITOIRE "/maquette-financiere?annee=2025");
    } else {
        return false;
    }
    return true;
}

static int plan_status(const char *method, const char *path, int who, int outside, bool *known)
{
    *known = strstr(path, "/plan-action") || strstr(path, "/maquette-financiere");
    if (!*known)
        return 0;
    return strcmp(method, "PATCH") == 0 ? plan_write[who][outside] : plan_read[who][outside];
}

/* Issue 10 §1: the programme parameters. Every PUT re-writes the document in
 * force today as a version taking effect on 2999-12-31, so that no date
 * another test reads changes; setup writes one, so that GET
 * …/versions/<matrix_parametres_version> answers 200. */
static long matrix_parametres_version;

/* The PUT body: today's document with date_effet 2999-12-31. */
static void parametres_body(char *body, size_t size)
{
    struct http_response r;
    const char *headers[] = {admin_header, NULL};
    http_request("GET", "/api/v1/parametres", headers, NULL, 0, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *doc = json_deep_copy(r.json);
    http_response_release(&r);
    json_object_del(doc, "version");
    json_object_del(doc, "cree_par");
    json_object_del(doc, "cree_le");
    json_object_set_new(doc, "date_effet", json_string("2999-12-31"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cr_assert(text && strlen(text) < size);
    snprintf(body, size, "%s", text);
    free(text);
}

static void setup_parametres_fixture(void)
{
    char body[4000], etag[64], im[100];
    struct http_response r;
    parametres_body(body, sizeof body);
    gv_etag_of("/api/v1/parametres", etag);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    const char *headers[] = {admin_header, "Content-Type: application/json", im, NULL};
    http_request("PUT", "/api/v1/parametres", headers, body, strlen(body), &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    matrix_parametres_version = (long)json_integer_value(json_object_get(r.json, "version"));
    http_response_release(&r);
}

/* Target and body of a parameters route: true when path is one. */
static bool parametres_target(const char *method, const char *path, char *url, size_t url_size,
                              char etag[64], char *body, size_t body_size)
{
    body[0] = '\0';
    if (strcmp(path, "/api/v1/parametres/versions/:version") == 0) {
        snprintf(url, url_size, "/api/v1/parametres/versions/%ld", matrix_parametres_version);
        return true;
    }
    if (strcmp(path, "/api/v1/parametres") != 0)
        return strcmp(path, "/api/v1/parametres/versions") == 0;
    if (strcmp(method, "PUT") == 0) {
        gv_etag_of(path, etag);
        parametres_body(body, body_size);
    }
    return true;
}
/* — end of programme parameters — */

/* Issue 11 §2: webhook subscriptions belong to machine clients; every
 * principal of the matrix is a person. The target is a subscription of a
 * machine client made in setup (a fresh one for each DELETE): the ANCT reads,
 * changes, rotates, deletes it (and gets 404 replaying a delivery it does not
 * have); no person creates one (403, the ANCT included); other persons 403. */
static char ab_client_header[4400], ab_abonnement[37];

static void ab_new(char id[37], char etag[64])
{
    struct http_response r;
    post_json(ab_client_header, "/api/v1/abonnements",
              "{\"url\":\"https://hooks.pvd-48.example/matrice\",\"types\":[\"parametres\"]}", &r);
    cr_assert_eq(r.status, 201, "matrix subscription: " HTTP_BODY, r.body);
    snprintf(id, 37, "%s", json_string_value(json_object_get(r.json, "id")));
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void setup_abonnement_fixture(void)
{
    struct fx_caller client;
    fx_machine_caller(&client, "prefecture_instructeur", "{\"departements\":[\"48\"]}", NULL);
    snprintf(ab_client_header, sizeof ab_client_header, "%s", client.header);
    ab_new(ab_abonnement, NULL);
}

/* Target and body of a subscription route: true when path is one. */
static bool ab_target(const char *method, const char *path, char *url, size_t url_size,
                      char etag[64], char *body, size_t body_size)
{
    const char *base = "/api/v1/abonnements";
    size_t n = strlen(base);
    char id[37];
    if (strncmp(path, base, n) != 0)
        return false;
    body[0] = '\0';
    if (path[n] == '\0') {
        snprintf(url, url_size, "%s", base);
        if (strcmp(method, "POST") == 0)
            snprintf(body, body_size, "{\"url\":\"https://hooks.pvd-48.example/personne\"}");
        return true;
    }
    snprintf(id, sizeof id, "%s", ab_abonnement);
    if (strcmp(method, "DELETE") == 0)
        ab_new(id, NULL);
    snprintf(url, url_size, "%s/%s", base, id);
    if (strcmp(method, "GET") != 0)
        gv_etag_of(url, etag);
    if (strstr(path, "/rejouer"))
        snprintf(url, url_size, "%s/%s/livraisons/00000000-0000-4000-8000-000000000000/rejouer",
                 base, id);
    else if (strstr(path, "/livraisons"))
        snprintf(url, url_size, "%s/%s/livraisons", base, id);
    else if (strstr(path, "/secret"))
        snprintf(url, url_size, "%s/%s/secret", base, id);
    else if (strcmp(method, "PATCH") == 0)
        snprintf(body, body_size, "{\"actif\":true}");
    return true;
}

static int ab_status(const char *method, const char *path, int who, bool *known)
{
    *known = strncmp(path, "/api/v1/abonnements", 19) == 0;
    if (!*known || who != WHO_ANCT)
        return 403;
    if (strcmp(method, "GET") == 0)
        return 200;
    if (strcmp(method, "PATCH") == 0)
        return 200;
    if (strcmp(method, "DELETE") == 0)
        return 204;
    if (strstr(path, "/secret"))
        return 200;
    return strstr(path, "/rejouer") ? 404 : 403; /* a person does not subscribe */
}
/* — end of webhooks — */

static void setup_fixtures(void)
{
    char *admin = token_for("admin-initial");
    token_header(admin_header, sizeof admin_header, admin);
    free(admin);
    setup_programme_fixtures();
    setup_gouvernance_fixtures();
    setup_fiche_fixtures();
    setup_demande_fixtures();
    for (int w = 0; w < WHO__COUNT; w++)
        for (int o = 0; o < 2; o++)
            make_principal((enum who)w, o, &fixtures[w][o]);
    setup_convention_fixture();
    setup_plan_fixture();
    setup_parametres_fixture();
    setup_poste_fixture();
    setup_abonnement_fixture();
}

/* A fresh target in the Nièvre: a collectivité habilitation on 215800624. */
static void new_target_habilitation(char id[64], char etag[64])
{
    char sub[80], body[600];
    token_unique_subject(sub, sizeof sub, "cible");
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
             "\"perimetre\":{\"sirens\":[\"215800624\"]}}",
             token_issuer(), sub);
    struct http_response r;
    post_json(admin_header, "/api/v1/habilitations", body, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, 64, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void new_target_client(char id[64], char etag[64])
{
    struct http_response r;
    post_json(
        admin_header, "/api/v1/clients",
        "{\"nom\":\"cible\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":[\"215800624\"]}}",
        &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, 64, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* The État signataire of the matrix convention (setup_convention_fixture):
 * it acts in the Nièvre; its current ETag. */
static char matrix_etat[64];
static void target_organisation(char id[64], char etag[64])
{
    char path[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/organisations/%s", matrix_etat);
    http_get(path, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(id, 64, "%s", matrix_etat);
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* The current ETag of the matrix territoire. */
static void territoire_etag(char etag[64])
{
    struct http_response r;
    http_get("/api/v1/territoires/" MATRIX_TERRITOIRE, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* The matrix convention: a signed adhésion of pvd-27-58-900 (commune
 * 215800624 on its délibération, the État), signed by the inside élu and
 * préfecture. */
static char matrix_convention[64];

static void matrix_send(const char *method, const char *path, const char *auth, const char *etag,
                        const char *body, struct http_response *r)
{
    char im[100];
    const char *headers[4] = {auth, "Content-Type: application/json", NULL, NULL};
    if (etag) {
        snprintf(im, sizeof im, "If-Match: %s", etag);
        headers[2] = im;
    }
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

static void convention_etag(char etag[64])
{
    char path[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/conventions/%s", matrix_convention);
    matrix_send("GET", path, admin_header, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void setup_convention_fixture(void)
{
    struct http_response r;
    char commune[64], etat[64], body[1200], path[160], etag[64], s0[64], s1[64];
    http_get("/api/v1/organisations?siren=215800624", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(commune, sizeof commune, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "elements"), 0), "id")));
    http_response_release(&r);
    post_json(admin_header, "/api/v1/organisations",
              "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Nièvre\"}", &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(etat, sizeof etat, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(matrix_etat, sizeof matrix_etat, "%s", etat);
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"intitule\":"
             "\"Adhésion (matrice)\",\"signataires\":[{\"organisation_id\":\"%s\",\"role\":"
             "\"beneficiaire\",\"representant_nom\":\"Maire\",\"representant_qualite\":"
             "\"Maire\",\"date_deliberation\":\"2024-01-02\"},{\"organisation_id\":\"%s\","
             "\"role\":\"etat\",\"representant_nom\":\"Préfet\",\"representant_qualite\":"
             "\"Préfet\"}]}",
             commune, etat);
    post_json(admin_header, "/api/v1/conventions", body, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    const json_t *sigs = json_object_get(r.json, "signataires");
    snprintf(matrix_convention, sizeof matrix_convention, "%s",
             json_string_value(json_object_get(r.json, "id")));
    snprintf(s0, sizeof s0, "%s",
             json_string_value(json_object_get(json_array_get(sigs, 0), "id")));
    snprintf(s1, sizeof s1, "%s",
             json_string_value(json_object_get(json_array_get(sigs, 1), "id")));
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    const char *elu = fixtures[WHO_ELU][0].header, *pref = fixtures[WHO_PREF_DEP][0].header;
    struct {
        const char *who, *suffix, *body;
    } steps[4] = {{elu, "/transitions", "{\"vers\":\"en_signature\"}"},
                  {elu, "/signatures", NULL},
                  {pref, "/signatures", NULL},
                  {elu, "/transitions", "{\"vers\":\"signee\"}"}};
    char sign0[200], sign1[200];
    snprintf(sign0, sizeof sign0, "{\"signataire_id\":\"%s\",\"date_signature\":\"2024-01-10\"}",
             s0);
    snprintf(sign1, sizeof sign1, "{\"signataire_id\":\"%s\",\"date_signature\":\"2024-01-11\"}",
             s1);
    steps[1].body = sign0;
    steps[2].body = sign1;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/api/v1/conventions/%s%s", matrix_convention, steps[i].suffix);
        matrix_send("POST", path, steps[i].who, etag, steps[i].body, &r);
        cr_assert_eq(r.status, 200, "matrix convention, step %d: " HTTP_BODY, i, r.body);
        snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
        http_response_release(&r);
    }
}

/* Performs the route for this caller; returns the status. */
static long exercise(const char *method, const char *path, const char *action, const char *auth)
{
    char id[64], etag[64], url[200], if_match[100], body[600], sub[80], plan_body[200];
    const char *headers[4] = {auth, NULL, NULL, NULL};
    const char *payload = NULL;
    snprintf(url, sizeof url, "%s", path);
    if (strstr(path, "/habilitations/:id")) {
        new_target_habilitation(id, etag);
        snprintf(url, sizeof url, "/api/v1/habilitations/%s", id);
    } else if (strstr(path, "/clients/:id")) {
        new_target_client(id, etag);
        snprintf(url, sizeof url, "/api/v1/clients/%s%s", id,
                 strstr(path, "/secret") ? "/secret" : "");
    }
    if (strstr(path, "/organisations/:id")) {
        target_organisation(id, etag);
        snprintf(url, sizeof url, "/api/v1/organisations/%s", id);
    } else if (plan_target(method, path, url, sizeof url, etag, plan_body, sizeof plan_body)) {
        if (plan_body[0])
            payload = plan_body;
    } else if (strstr(path, "/territoires/:id_pvd")) {
        territoire_etag(etag);
        snprintf(url, sizeof url, "/api/v1/territoires/" MATRIX_TERRITOIRE);
    }
    if (strstr(path, "/conventions/:id")) {
        const char *rest = strstr(path, "/conventions/:id") + strlen("/conventions/:id");
        convention_etag(etag);
        snprintf(url, sizeof url, "/api/v1/conventions/%s%s", matrix_convention,
                 strstr(rest, ":numero") ? "/versions/1" : rest);
    }
    char gv_body[1000];
    if (gv_target(method, path, url, sizeof url, etag, gv_body, sizeof gv_body) && gv_body[0])
        payload = gv_body;
    if (fa_target(method, path, url, sizeof url, etag, gv_body, sizeof gv_body) && gv_body[0])
        payload = gv_body;
    if (dm_target(method, path, url, sizeof url, etag, gv_body, sizeof gv_body) && gv_body[0])
        payload = gv_body;
    char parametres[4000];
    if (parametres_target(method, path, url, sizeof url, etag, parametres, sizeof parametres) &&
        parametres[0])
        payload = parametres;
    if (po_target(method, path, url, sizeof url, etag, gv_body, sizeof gv_body) && gv_body[0])
        payload = gv_body;
    if (ab_target(method, path, url, sizeof url, etag, gv_body, sizeof gv_body) && gv_body[0])
        payload = gv_body;
    const char *content_type = "Content-Type: application/json";
    if (strcmp(method, "DELETE") == 0 || strcmp(method, "PATCH") == 0 ||
        strcmp(method, "PUT") == 0 || strstr(path, "/secret") ||
        (strcmp(method, "POST") == 0 && strstr(path, "/conventions/:id")) ||
        strstr(path, "/fiches-action/:id/transitions") ||
        strstr(path, "/demandes-subvention/:id/") || strstr(path, "/abonnements/:id/secret")) {
        snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
        headers[auth ? 1 : 0] = if_match;
    }
    if (strcmp(method, "POST") == 0 && strcmp(action, "habilitation.accorder") == 0) {
        token_unique_subject(sub, sizeof sub, "accorde");
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
                 "\"perimetre\":{\"sirens\":[\"215800624\"]}}",
                 token_issuer(), sub);
        payload = body;
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/clients") == 0) {
        payload =
            "{\"nom\":\"m\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":[\"215800624\"]}}";
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/organisations") == 0) {
        payload = "{\"siren\":\"215800624\",\"nature\":\"commune\"}";
    } else if (strcmp(method, "PATCH") == 0 && strstr(path, "/organisations/:id")) {
        payload = "{\"nom\":\"Préfecture renommée\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/territoires") == 0) {
        payload = "{\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"communes\":[\"58062\"]}";
    } else if (strcmp(method, "PATCH") == 0 && strcmp(path, "/api/v1/territoires/:id_pvd") == 0) {
        payload = "{\"nom\":\"Château-Chinon (Ville)\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/territoires/import") == 0) {
        payload = "id_pvd;insee_com\n" MATRIX_TERRITOIRE ";58062\n";
        content_type = "Content-Type: text/csv";
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/conventions") == 0)
        payload =
            "{\"type\":\"adhesion\",\"id_pvd\":\"" MATRIX_TERRITOIRE "\",\"intitule\":\"Matrice\"}";
    else if (strcmp(method, "PATCH") == 0 && strstr(path, "/conventions/:id"))
        payload = "{\"intitule\":\"Matrice\"}";
    else if (strstr(path, "/conventions/:id/signatures"))
        payload = "{\"signataire_id\":\"00000000-0000-4000-8000-000000000000\","
                  "\"date_signature\":\"2024-01-10\"}";
    else if (strstr(path, "/conventions/:id/transitions"))
        payload = "{\"vers\":\"brouillon\"}";
    else if (strstr(path, "/conventions/:id/avenants"))
        payload = "{\"objet\":\"Avenant (matrice)\",\"date_signature\":\"2024-02-01\","
                  "\"modifications\":{\"etudes_existantes\":\"Étude\"}}";
    if (payload) {
        size_t n = 0;
        while (headers[n])
            n++;
        headers[n] = content_type;
    }
    const char *const *h = auth || headers[0] ? headers : NULL;
    struct http_response r;
    http_request(method, url, h, payload, payload ? strlen(payload) : 0, &r);
    long status = r.status;
    http_response_release(&r);
    return status;
}

static int expected_status(const char *method, const char *path, const char *action, int who,
                           int outside, bool *known)
{
    *known = true;
    if (strcmp(method, "GET") == 0 && strstr(path, "/habilitations/:id"))
        return read_one[who][outside];
    if (strcmp(method, "POST") == 0 && strstr(path, "/clients/:id/secret"))
        return who == WHO_ANCT ? 200 : 403;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/territoires/import") == 0)
        return import_status[who][outside];
    if (strcmp(method, "GET") == 0 && strstr(path, "/conventions/:id"))
        return convention_read_one[who][outside];
    if (strcmp(method, "POST") == 0 && strstr(path, "/conventions/:id/avenants"))
        return convention_avenant[who][outside];
    if (strcmp(path, "/api/v1/comites") == 0)
        return comites_status(method, who, outside);
    if (strcmp(method, "GET") == 0 && (strcmp(path, "/api/v1/fiches-action") == 0 ||
                                       strcmp(path, "/api/v1/fiches-action.csv") == 0))
        return 200; /* filtered by the caller's perimeter */
    if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v1/postes-chef-de-projet") == 0)
        return 200; /* filtered by the caller's perimeter */
    if (strcmp(method, "POST") == 0 && strstr(path, "/plan-financement/lignes"))
        return fiche_ligne[who][outside];
    int abonnement = ab_status(method, path, who, known);
    if (*known)
        return abonnement;
    int demande = demande_status(method, path, who, outside, known);
    if (*known)
        return demande;
    int plan = plan_status(method, path, who, outside, known);
    if (*known)
        return plan;
    *known = true;
    for (size_t i = 0; i < sizeof expectations / sizeof expectations[0]; i++)
        if (strcmp(expectations[i].method, method) == 0 &&
            strcmp(expectations[i].action, action) == 0)
            return expectations[i].status[who][outside];
    *known = false;
    return 0;
}

Test(matrice, every_route_every_role_inside_and_outside, .timeout = 0)
{
    const char *bin = getenv("PVD_TEST_SERVER_BIN");
    cr_assert(bin && *bin, "PVD_TEST_SERVER_BIN must name the pvd-api binary");
    char cmd[600], line[400];
    snprintf(cmd, sizeof cmd, "%s routes --details", bin);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    setup_fixtures();
    char *token = token_for("sans-habilitation-matrice");
    char no_habilitation[4400];
    token_header(no_habilitation, sizeof no_habilitation, token);
    free(token);
    int checked = 0, routes = 0;
    while (fgets(line, sizeof line, p)) {
        char method[16], path[200], access[16], action[64];
        if (sscanf(line, "%15s %199s %15s %63s", method, path, access, action) != 4)
            continue;
        if (strcmp(access, "public") == 0)
            continue;
        routes++;
        /* No credentials: 401, whatever the route. */
        cr_assert_eq(exercise(method, path, action, NULL), 401, "%s %s without a token", method,
                     path);
        /* A valid token without habilitation: 403, except /moi. */
        long none = exercise(method, path, action, no_habilitation);
        cr_assert_eq(none, strcmp(access, "identifie") == 0 ? 200 : 403,
                     "%s %s with no habilitation: %ld", method, path, none);
        for (int w = 0; w < WHO__COUNT; w++) {
            for (int o = 0; o < 2; o++) {
                bool known;
                int want = expected_status(method, path, action, w, o, &known);
                cr_assert(known, "route %s %s (%s) has no row in the authorization matrix", method,
                          path, action);
                long got = exercise(method, path, action, fixtures[w][o].header);
                cr_assert_eq(got, want, "%s %s as %s %s: got %ld, want %d", method, path,
                             who_names[w], o ? "outside" : "inside", got, want);
                checked++;
            }
        }
    }
    pclose(p);
    cr_assert_gt(routes, 10, "the route table was read");
    cr_log_info("authorization matrix: %d routes, %d role×perimeter cases", routes, checked);
}
