/* Conventions over HTTP (issue #4 §2 and §4): a whole life (adhésion drafted,
 * signed by each signatory on its délibération, 18-month deadline, cadre ORT
 * signed on time; in another territoire, late: warning + flag), each rule's
 * refusal or warning with its code and pointer (R4–R10, future dates,
 * impossible dates), who may sign and move what, avenants and versions,
 * concurrency (stale If-Match, Idempotency-Key replay), perimeters, lists and
 * figures, and the journal rows.
 *
 * Test data (the shared database, tests in parallel): communes of the
 * départements 71 and 03 only, one territoire per test (pvd-27-71-9xx,
 * pvd-84-03-9xx). Département 03 is used by the figures test alone, so that
 * its counts are stable while the other tests run. Organisations are
 * create-or-get by SIREN. Axes stratégiques, indicateurs (R9) and the comité
 * de projet are written through their own routes. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

/* ---- Callers ------------------------------------------------------------ */

struct who {
    char header[4400];
};

static void who_admin(struct who *w)
{
    char *t = token_for("admin-initial");
    token_header(w->header, sizeof w->header, t);
    free(t);
}

static void send(const struct who *w, const char *method, const char *path, const char *if_match,
                 const char *body, struct http_response *r)
{
    const char *headers[5] = {NULL};
    char im[120];
    size_t n = 0;
    if (w)
        headers[n++] = w->header;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (if_match) {
        snprintf(im, sizeof im, "If-Match: %s", if_match);
        headers[n++] = im;
    }
    http_request(method, path, n ? headers : NULL, body, body ? strlen(body) : 0, r);
}

/* A principal with this role and perimeter (JSON), granted by the admin. */
static void who_new(struct who *w, const char *role, const char *perimetre)
{
    fx_grant_header(w->header, sizeof w->header, role, perimetre);
}

/* ---- Fixtures: organisations, territoires, axes ------------------------- */

static void org_etat(char out[40])
{
    struct who admin;
    who_admin(&admin);
    struct http_response r;
    send(&admin, "POST", "/api/v1/organisations", NULL,
         "{\"nature\":\"etat\",\"nom\":\"État — préfecture\"}", &r);
    cr_assert_eq(r.status, 201, "organisation État: " HTTP_BODY, r.body);
    snprintf(out, 40, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
}

static void territoire(const char *id_pvd, const char *insee)
{
    struct who admin;
    who_admin(&admin);
    char body[300];
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"communes\":[\"%s\"],\"date_designation\":\"2020-12-15\"}",
             id_pvd, insee);
    struct http_response r;
    send(&admin, "POST", "/api/v1/territoires", NULL, body, &r);
    cr_assert(r.status == 201 || r.status == 409, "territoire %s: %ld " HTTP_BODY, id_pvd, r.status,
              r.body);
    http_response_release(&r);
}

static PGconn *db(void)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* R9 fixture through the projet de territoire routes: one axe numbered
 * `numero` with `indicateurs` indicateurs for territoire id_pvd, written by w. */
static void axe_as(const struct who *w, const char *id_pvd, int numero, int indicateurs)
{
    char path[160], body[400];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/territoires/%s/axes-strategiques", id_pvd);
    snprintf(body, sizeof body,
             "{\"numero\":%d,\"intitule\":\"Habitat\",\"enjeux\":\"Réhabiliter le "
             "centre-bourg\",\"echelle\":\"commune\"}",
             numero);
    send(w, "POST", path, NULL, body, &r);
    cr_assert_eq(r.status, 201, "axe: " HTTP_BODY, r.body);
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", fx_str(r.json, "id"));
    http_response_release(&r);
    for (int i = 0; i < indicateurs; i++) {
        send(w, "POST", path, NULL,
             "{\"type\":\"resultat\",\"libelle\":\"Logements réhabilités\","
             "\"unite\":\"logements\",\"valeur_reference\":\"0\",\"valeur_cible\":\"40\"}",
             &r);
        cr_assert_eq(r.status, 201, "indicateur: " HTTP_BODY, r.body);
        http_response_release(&r);
    }
}

static void axe(const char *id_pvd, int numero, int indicateurs)
{
    struct who admin;
    who_admin(&admin);
    axe_as(&admin, id_pvd, numero, indicateurs);
}

/* Journal rows about convention id with this action, by acteur when not NULL. */
static int journal_rows_by(const char *id, const char *action, const char *acteur)
{
    PGconn *c = db();
    const char *params[3] = {id, action, acteur};
    PGresult *res = PQexecParams(c,
                                 "SELECT count(*) FROM journal WHERE ressource_type = 'convention' "
                                 "AND ressource_id = $1 AND action = $2 "
                                 "AND ($3::text IS NULL OR acteur = $3)",
                                 3, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return n;
}

/* The count(*) of sql with two text parameters. */
static int db_count(const char *sql, const char *p1, const char *p2)
{
    PGconn *c = db();
    const char *params[2] = {p1, p2};
    PGresult *res = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return n;
}

static int journal_rows(const char *id, const char *action)
{
    return journal_rows_by(id, action, NULL);
}

/* ---- Dates relative to today (UTC, as the service) ----------------------- */

static void days_ago(int n, char out[11])
{
    time_t t = time(NULL) - (time_t)n * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* YYYY-MM-DD + 18 calendar months, clamped to the month's end (R4). */
static void plus_18_months(const char *d, char out[11])
{
    int y, m, day;
    cr_assert_eq(sscanf(d, "%d-%d-%d", &y, &m, &day), 3);
    m += 18;
    y += (m - 1) / 12;
    m = (m - 1) % 12 + 1;
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = len[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = day > max ? max : day};
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- Convention helpers ------------------------------------------------- */

struct conv {
    char id[40];
    char etag[40];
};

static void conv_path(const struct conv *c, const char *suffix, char out[160])
{
    snprintf(out, 160, "/api/v1/conventions/%s%s", c->id, suffix ? suffix : "");
}

static void remember(struct conv *c, const struct http_response *r)
{
    const char *etag = http_header(r, "ETag");
    cr_assert(etag, "every single-object response has an ETag");
    snprintf(c->etag, sizeof c->etag, "%s", etag);
    if (fx_str(r->json, "id"))
        snprintf(c->id, sizeof c->id, "%s", fx_str(r->json, "id"));
}

static void create(const struct who *w, const char *body, struct conv *c, struct http_response *r)
{
    send(w, "POST", "/api/v1/conventions", NULL, body, r);
    cr_assert_eq(r->status, 201, "create: " HTTP_BODY, r->body);
    remember(c, r);
    char location[120];
    snprintf(location, sizeof location, "/api/v1/conventions/%s", c->id);
    cr_assert_str_eq(http_header(r, "Location"), location);
    cr_assert_str_eq(fx_str(r->json, "etat"), "brouillon");
}

static void refresh(const struct who *w, struct conv *c, struct http_response *r)
{
    char path[160];
    conv_path(c, NULL, path);
    send(w, "GET", path, NULL, NULL, r);
    cr_assert_eq(r->status, 200, HTTP_BODY, r->body);
    remember(c, r);
}

static void transition(const struct who *w, struct conv *c, const char *vers, long want,
                       struct http_response *r)
{
    char path[160], body[120];
    conv_path(c, "/transitions", path);
    snprintf(body, sizeof body, "{\"vers\":\"%s\"}", vers);
    send(w, "POST", path, c->etag, body, r);
    cr_assert_eq(r->status, want, "transition vers %s: " HTTP_BODY, vers, r->body);
    if (r->status == 200)
        remember(c, r);
}

static void transition_ok(const struct who *w, struct conv *c, const char *vers)
{
    struct http_response r;
    transition(w, c, vers, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), vers);
    http_response_release(&r);
}

/* The id of the signataire at index i. */
static const char *signataire_id(const struct http_response *r, size_t i)
{
    return fx_str(json_array_get(json_object_get(r->json, "signataires"), i), "id");
}

static void sign(const struct who *w, struct conv *c, const char *signataire, const char *date,
                 const char *deliberation, long want, struct http_response *r)
{
    char path[160], body[400];
    conv_path(c, "/signatures", path);
    if (deliberation)
        snprintf(body, sizeof body,
                 "{\"signataire_id\":\"%s\",\"date_signature\":\"%s\",\"date_deliberation\":\"%s\","
                 "\"reference_deliberation\":\"DEL-%s\"}",
                 signataire, date, deliberation, deliberation);
    else
        snprintf(body, sizeof body, "{\"signataire_id\":\"%s\",\"date_signature\":\"%s\"}",
                 signataire, date);
    send(w, "POST", path, c->etag, body, r);
    cr_assert_eq(r->status, want, "signature %s: " HTTP_BODY, date, r->body);
    if (r->status == 200)
        remember(c, r);
}

static void sign_ok(const struct who *w, struct conv *c, const char *signataire, const char *date,
                    const char *deliberation)
{
    struct http_response r;
    sign(w, c, signataire, date, deliberation, 200, &r);
    http_response_release(&r);
}

/* The rule refusal: 422 regle-non-respectee with an erreurs item (code, pointer). */
static void expect_rule(const struct http_response *r, const char *regle, const char *code,
                        const char *pointer)
{
    http_expect_problem(r, 422, "regle-non-respectee");
    json_t *e = http_problem_error(r, pointer);
    cr_assert(e, "no error at %s: " HTTP_BODY, pointer, r->body);
    cr_assert_str_eq(fx_str(e, "code"), code, HTTP_BODY, r->body);
    if (regle)
        cr_assert_str_eq(fx_str(r->json, "regle"), regle, HTTP_BODY, r->body);
}

static const json_t *warning(const struct http_response *r, const char *code)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r->json, "avertissements"), i, w)
    {
        if (fx_str(w, "code") && strcmp(fx_str(w, "code"), code) == 0)
            return w;
    }
    return NULL;
}

static bool has_transition(const struct http_response *r, const char *etat)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r->json, "transitions_possibles"), i, t)
    {
        if (strcmp(json_string_value(t), etat) == 0)
            return true;
    }
    return false;
}

/* A territoire with its principals and organisations. */
struct terr {
    const char *id_pvd;
    const char *insee;
    const char *siren_commune; /* the commune, its EPCI's ville principale */
    const char *siren_epci;
    char commune[40], epci[40], etat[40];
    const char *date_fin; /* of its cadre; "2030-12-31" unless a test changes it */
    struct who agent, elu, elu_commune, prefecture;
};

static void terr_init(struct terr *t, const char *id_pvd, const char *insee,
                      const char *siren_commune, const char *nom, const char *siren_epci,
                      const char *departement)
{
    char perimetre[120];
    t->id_pvd = id_pvd;
    t->insee = insee;
    t->siren_commune = siren_commune;
    t->siren_epci = siren_epci;
    t->date_fin = "2030-12-31";
    territoire(id_pvd, insee);
    fx_organisation(siren_commune, "commune", nom, t->commune);
    fx_organisation(siren_epci, "epci", "Communauté de communes", t->epci);
    org_etat(t->etat);
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren_commune);
    who_new(&t->agent, "collectivite_agent", perimetre);
    who_new(&t->elu_commune, "collectivite_elu", perimetre);
    /* The élu who signs for both collectivités (the commune and its EPCI). */
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\",\"%s\"]}", siren_commune,
             siren_epci);
    who_new(&t->elu, "collectivite_elu", perimetre);
    snprintf(perimetre, sizeof perimetre, "{\"departements\":[\"%s\"]}", departement);
    who_new(&t->prefecture, "prefecture_instructeur", perimetre);
}

/* Body of an adhésion: commune (beneficiaire), EPCI, État. */
static void adhesion_body(const struct terr *t, char *out, size_t size)
{
    snprintf(out, size,
             "{\"type\":\"adhesion\",\"id_pvd\":\"%s\",\"intitule\":\"Convention d'adhésion PVD\","
             "\"moyens_ingenierie\":\"Chef de projet\",\"signataires\":["
             "{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\",\"representant_nom\":\"Maire\","
             "\"representant_qualite\":\"Maire\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"epci\",\"representant_nom\":\"Président\","
             "\"representant_qualite\":\"Président\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"etat\",\"representant_nom\":\"Préfet\","
             "\"representant_qualite\":\"Préfet\"}]}",
             t->id_pvd, t->commune, t->epci, t->etat);
}

/* Drafts, submits and signs the adhésion: collectivités on `delib`, all on
 * dates d1 ≤ d2 ≤ d3; returns it signed. */
static void adhesion_signed(struct terr *t, struct conv *a, const char *delib, const char *d1,
                            const char *d2, const char *d3)
{
    char body[2000];
    struct http_response r;
    adhesion_body(t, body, sizeof body);
    create(&t->agent, body, a, &r);
    char s0[40], s1[40], s2[40];
    snprintf(s0, sizeof s0, "%s", signataire_id(&r, 0));
    snprintf(s1, sizeof s1, "%s", signataire_id(&r, 1));
    snprintf(s2, sizeof s2, "%s", signataire_id(&r, 2));
    http_response_release(&r);
    transition_ok(&t->agent, a, "en_signature");
    sign_ok(&t->elu, a, s0, d1, delib);
    sign_ok(&t->elu, a, s1, d2, delib);
    sign_ok(&t->prefecture, a, s2, d3, NULL);
    transition_ok(&t->elu, a, "signee");
}

/* Body of an ORT cadre signed by the ville principale (the commune), the EPCI
 * and the État, with the centre-ville secteur. */
static void cadre_body(const struct terr *t, const char *extra, char *out, size_t size)
{
    snprintf(out, size,
             "{\"type\":\"cadre\",\"id_pvd\":\"%s\",\"intitule\":\"Convention-cadre valant ORT\","
             "\"date_fin\":\"%s\",\"ambitions\":\"Revitaliser\",\"signataires\":["
             "{\"organisation_id\":\"%s\",\"role\":\"ville_principale\",\"representant_nom\":\"M\","
             "\"representant_qualite\":\"Maire\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"epci\",\"representant_nom\":\"P\","
             "\"representant_qualite\":\"Président\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"etat\",\"representant_nom\":\"Préfet\","
             "\"representant_qualite\":\"Préfet\"}],"
             "\"secteurs_intervention\":[{\"nom\":\"Centre-ville\",\"code_insee\":\"%s\","
             "\"est_centre_ville_ville_principale\":true}]%s}",
             t->id_pvd, t->date_fin, t->commune, t->epci, t->etat, t->insee, extra ? extra : "");
}

/* Drafts a cadre and brings it to en_signature (R9 satisfied beforehand). */
static void cadre_to_signature(struct terr *t, const char *extra, struct conv *c, char ids[3][40])
{
    char body[3000];
    struct http_response r;
    cadre_body(t, extra, body, sizeof body);
    create(&t->agent, body, c, &r);
    for (int i = 0; i < 3; i++)
        snprintf(ids[i], 40, "%s", signataire_id(&r, (size_t)i));
    http_response_release(&r);
    transition_ok(&t->agent, c, "en_concertation");
    transition_ok(&t->elu, c, "validee_comite");
    transition_ok(&t->agent, c, "en_signature");
}

/* ---- The whole life, on time ---------------------------------------------- */

Test(conventions, a_whole_life_adhesion_then_cadre_signed_on_time)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Buxy (71070) is the most populous commune of its EPCI 247104094: its
     * ville principale (R6). */
    terr_init(&t, "pvd-27-71-901", "71070", "217100700", "Buxy", "247104094", "71");
    /* Dates relative to today: the deadline is still ahead when the cadre is signed. */
    char d[8][11], limite[11];
    static const int ago[8] = {60, 50, 49, 48, 20, 10, 9, 8};
    for (int i = 0; i < 8; i++)
        days_ago(ago[i], d[i]);
    adhesion_signed(&t, &a, d[0], d[1], d[2], d[3]);
    refresh(&t.agent, &a, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "signee");
    cr_assert_str_eq(fx_str(r.json, "date_signature"), d[3], "the last signature");
    plus_18_months(d[3], limite);
    cr_assert_str_eq(fx_str(r.json, "date_limite_convention_cadre"), limite, "R4: + 18 months");
    cr_assert(json_is_false(json_object_get(r.json, "en_retard")), HTTP_BODY, r.body);
    cr_assert_null(warning(&r, "convention-cadre-non-signee-a-temps"));
    http_response_release(&r);
    /* signee → relayee is the service's own edge. */
    transition(&t.elu, &a, "relayee", 409, &r);
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/vers"), "code"), "transition-automatique");
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.ecrire"), 1);
    cr_assert_eq(journal_rows(a.id, "convention.signer"), 3, "one row per signature");
    cr_assert_eq(journal_rows(a.id, "convention.transition"), 2);

    /* Version 1 is frozen at signature. */
    char path[160];
    conv_path(&a, "/versions/1", path);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_not_null(http_header(&r, "ETag"));
    cr_assert_str_eq(fx_str(json_object_get(r.json, "convention"), "etat"), "signee");
    http_response_release(&r);

    /* Governance: the comité de projet (R40: the commune's and the EPCI's
     * executives, the chef de projet, the préfet; the adhésion's other
     * signatories are the same commune, EPCI and État), a séance validating
     * the strategy. */
    char body[1600], comite[40], seance[40];
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"presidence\":\"Le maire de Buxy\",\"membres\":["
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Mme Maire\"},"
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"M. Président\"},"
             "{\"qualite\":\"chef_projet\",\"nom\":\"Mme Cheffe de projet\"},"
             "{\"qualite\":\"prefet\",\"organisation_id\":\"%s\",\"nom\":\"M. Sous-préfet\"}]}",
             t.id_pvd, t.commune, t.epci, t.etat);
    send(&t.agent, "POST", "/api/v1/comites", NULL, body, &r);
    cr_assert_eq(r.status, 201, "comité: " HTTP_BODY, r.body);
    snprintf(comite, sizeof comite, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/comites/%s/seances", comite);
    snprintf(body, sizeof body,
             "{\"date\":\"%s\",\"ordre_du_jour\":\"Stratégie et convention-cadre\"}", d[4]);
    send(&t.agent, "POST", path, NULL, body, &r);
    cr_assert_eq(r.status, 201, "séance: " HTTP_BODY, r.body);
    snprintf(seance, sizeof seance, "%s", fx_str(r.json, "id"));
    http_response_release(&r);

    /* Projet de territoire: one axe with one indicateur (R9), written by the
     * chef de projet, validated by the comité; then the cadre. */
    axe_as(&t.agent, t.id_pvd, 1, 1);
    snprintf(path, sizeof path, "/api/v1/seances/%s/decisions", seance);
    send(&t.elu, "POST", path, NULL,
         "{\"type\":\"valide_strategie\",\"objet\":\"Axes et indicateurs du projet de "
         "territoire\"}",
         &r);
    cr_assert_eq(r.status, 201, "décision: " HTTP_BODY, r.body);
    http_response_release(&r);
    char ids[3][40];
    cadre_to_signature(&t, NULL, &c, ids);
    sign_ok(&t.elu, &c, ids[0], d[5], d[4]);
    sign_ok(&t.elu, &c, ids[1], d[6], d[4]);
    sign_ok(&t.prefecture, &c, ids[2], d[7], NULL);
    transition(&t.elu, &c, "signee", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "signee");
    cr_assert_str_eq(fx_str(r.json, "adhesion_id"), a.id);
    cr_assert_str_eq(fx_str(r.json, "date_signature"), d[7]);
    cr_assert_str_eq(fx_str(r.json, "date_limite_convention_cadre"), limite);
    cr_assert(json_is_false(json_object_get(r.json, "en_retard")), "on time: no flag");
    cr_assert_eq(json_array_size(json_object_get(r.json, "avertissements")), 0,
                 "on time: no warning " HTTP_BODY, r.body);
    cr_assert(has_transition(&r, "resiliee"));
    http_response_release(&r);

    /* Its adhésion is relayee (automatic edge, journaled). */
    refresh(&t.agent, &a, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "relayee");
    cr_assert(json_is_false(json_object_get(r.json, "en_retard")));
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.transition"), 3);
    /* The automatic edge is the service's, in the transaction (and under the
     * request id) of the cadre's signature, not the élu's who signed. */
    cr_assert_eq(
        db_count("SELECT count(*) FROM journal r JOIN journal s ON s.request_id = r.request_id "
                 "WHERE r.ressource_id = $1 AND r.action = 'convention.transition' "
                 "AND r.apres->>'etat' = 'relayee' AND r.acteur = 'systeme:conventions' "
                 "AND r.role IS NULL AND s.ressource_id = $2 "
                 "AND s.action = 'convention.transition' AND s.apres->>'etat' = 'signee' "
                 "AND s.acteur LIKE 'oidc:%'",
                 a.id, c.id),
        1, "relayee journaled by systeme:conventions with the signature's request_id");

    /* The journal through the API. */
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=convention&ressource_id=%s", c.id);
    send(&t.prefecture, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_geq(json_array_size(json_object_get(r.json, "elements")), 8,
                  "creation, 4 transitions, 3 signatures " HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- R4: late, in another territoire ------------------------------------ */

Test(conventions, r4_late_adhesion_is_flagged_at_read_time_and_late_cadre_is_warned)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Chauffailles (71120), ville principale of EPCI 200070548. */
    terr_init(&t, "pvd-27-71-902", "71120", "217101203", "Chauffailles", "200070548", "71");
    adhesion_signed(&t, &a, "2021-03-01", "2021-03-08", "2021-03-09", "2021-03-10");
    refresh(&t.prefecture, &a, &r);
    cr_assert_str_eq(fx_str(r.json, "date_limite_convention_cadre"), "2022-09-10");
    cr_assert(json_is_true(json_object_get(r.json, "en_retard")), HTTP_BODY, r.body);
    const json_t *w = warning(&r, "convention-cadre-non-signee-a-temps");
    cr_assert(w, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(w, "regle"), "R4");
    cr_assert_str_eq(fx_str(w, "pointeur"), "/date_limite_convention_cadre");
    http_response_release(&r);

    /* The préfecture's follow-up list finds it. */
    send(&t.prefecture, "GET", "/api/v1/conventions?en_retard=true&departement=71&limite=500", NULL,
         NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        found = found || strcmp(fx_str(e, "id"), a.id) == 0;
        cr_assert(json_is_true(json_object_get(e, "en_retard")));
    }
    cr_assert(found, "the late adhésion is listed");
    http_response_release(&r);

    axe(t.id_pvd, 1, 2);
    char ids[3][40];
    cadre_to_signature(&t, NULL, &c, ids);
    sign_ok(&t.elu, &c, ids[0], "2023-05-02", "2023-04-01");
    sign_ok(&t.elu, &c, ids[1], "2023-05-02", "2023-04-02");
    sign_ok(&t.prefecture, &c, ids[2], "2023-05-03", NULL);
    transition(&t.prefecture, &c, "signee", 200, &r);
    cr_assert(json_is_true(json_object_get(r.json, "en_retard")), "R4 flag " HTTP_BODY, r.body);
    w = warning(&r, "convention-cadre-en-retard");
    cr_assert(w, "R4 warning, never a refusal " HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(w, "regle"), "R4");
    cr_assert_str_eq(fx_str(w, "pointeur"), "/date_signature");
    http_response_release(&r);

    /* The adhésion, relayee, is no longer late. */
    refresh(&t.prefecture, &a, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "relayee");
    cr_assert(json_is_false(json_object_get(r.json, "en_retard")));
    http_response_release(&r);
}

/* ---- R5, R6, R7, R10, R9 ------------------------------------------------ */

Test(conventions, r5_a_cadre_needs_an_adhesion)
{
    struct terr t;
    terr_init(&t, "pvd-27-71-903", "71137", "217101377", "Cluny", "200040293", "71");
    char body[3000];
    cadre_body(&t, NULL, body, sizeof body);
    struct http_response r;
    send(&t.agent, "POST", "/api/v1/conventions", NULL, body, &r);
    expect_rule(&r, "R5", "convention-adhesion-manquante", "/adhesion_id");
    http_response_release(&r);
    send(&t.agent, "GET", "/api/v1/conventions?id_pvd=pvd-27-71-903", NULL, NULL, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, "nothing written");
    http_response_release(&r);
}

Test(conventions, r5_r6_r7_r10_block_the_signature_of_a_cadre)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Blanzy (71040): its EPCI's ville principale is Le Creusot (217101534). */
    terr_init(&t, "pvd-27-71-904", "71040", "217100403", "Blanzy", "247100290", "71");
    char body[2000];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r); /* adhésion left in brouillon: R5 */
    http_response_release(&r);
    axe(t.id_pvd, 1, 1);
    /* ORT cadre: Blanzy as ville principale (not the EPCI's), no centre-ville
     * secteur, an OPAH-RU volet without its habitat privé section. */
    snprintf(body, sizeof body,
             "{\"type\":\"cadre\",\"id_pvd\":\"%s\",\"intitule\":\"Cadre\",\"volet_habitat\":"
             "\"opah_ru\",\"signataires\":[{\"organisation_id\":\"%s\",\"role\":"
             "\"ville_principale\",\"representant_nom\":\"M\",\"representant_qualite\":\"Maire\","
             "\"date_deliberation\":\"2025-01-10\"},{\"organisation_id\":\"%s\",\"role\":"
             "\"epci\",\"representant_nom\":\"P\",\"representant_qualite\":\"Président\","
             "\"date_deliberation\":\"2025-01-11\"}],\"secteurs_intervention\":[{\"nom\":"
             "\"Faubourg\",\"code_insee\":\"71040\"}]}",
             t.id_pvd, t.commune, t.epci);
    create(&t.agent, body, &c, &r);
    char s0[40], s1[40];
    snprintf(s0, sizeof s0, "%s", signataire_id(&r, 0));
    snprintf(s1, sizeof s1, "%s", signataire_id(&r, 1));
    http_response_release(&r);
    transition_ok(&t.agent, &c, "en_concertation");
    transition_ok(&t.elu, &c, "validee_comite");
    transition_ok(&t.agent, &c, "en_signature");
    sign_ok(&t.elu, &c, s0, "2025-02-01", NULL);
    sign_ok(&t.elu, &c, s1, "2025-02-01", NULL);
    char before[40];
    snprintf(before, sizeof before, "%s", c.etag);
    transition(&t.elu, &c, "signee", 422, &r);
    expect_rule(&r, NULL, "convention-adhesion-non-signee", "/adhesion_id");
    json_t *e;
    size_t i;
    bool r6_etat = false, r6_vp = false, r7 = false, r10 = false;
    json_array_foreach(json_object_get(r.json, "erreurs"), i, e)
    {
        const char *code = fx_str(e, "code");
        r6_etat = r6_etat || strcmp(code, "signataire-etat-manquant") == 0;
        r6_vp = r6_vp || strcmp(code, "signataire-ville-principale-manquant") == 0;
        r7 = r7 || (strcmp(code, "secteur-centre-ville-manquant") == 0 &&
                    strcmp(fx_str(e, "pointeur"), "/secteurs_intervention") == 0);
        r10 = r10 || (strcmp(code, "section-habitat-prive-manquante") == 0 &&
                      strcmp(fx_str(e, "pointeur"), "/section_habitat_prive") == 0);
    }
    cr_assert(r6_etat && r6_vp, "R6 " HTTP_BODY, r.body);
    cr_assert(r7, "R7 " HTTP_BODY, r.body);
    cr_assert(r10, "R10 " HTTP_BODY, r.body);
    http_response_release(&r);
    refresh(&t.agent, &c, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "en_signature", "nothing written");
    cr_assert_str_eq(c.etag, before);
    http_response_release(&r);
}

Test(conventions, r9_validation_by_the_comite_needs_axes_with_indicateurs)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    terr_init(&t, "pvd-27-71-905", "71081", "217100817", "Champforgeuil", "247100589", "71");
    char body[3000];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    http_response_release(&r);
    cadre_body(&t, NULL, body, sizeof body);
    create(&t.agent, body, &c, &r);
    cr_assert_str_eq(fx_str(r.json, "adhesion_id"), a.id, "attached to the territoire's adhésion");
    http_response_release(&r);
    transition_ok(&t.agent, &c, "en_concertation");
    transition(&t.elu, &c, "validee_comite", 422, &r);
    expect_rule(&r, "R9", "axe-strategique-manquant", "/axes_strategiques");
    http_response_release(&r);
    axe(t.id_pvd, 1, 0);
    transition(&t.elu, &c, "validee_comite", 422, &r);
    expect_rule(&r, "R9", "indicateur-manquant", "/axes_strategiques/0/indicateurs");
    http_response_release(&r);
    axe(t.id_pvd, 2, 1);
    transition(&t.elu, &c, "validee_comite", 422, &r); /* axe 1 still has none */
    http_response_release(&r);

    /* Before validation the projet changes freely: axe 1 goes; then the comité
     * validates. Afterwards R9 keeps holding: the last axe and its last
     * indicateur cannot be deleted (422 R9, nothing deleted). */
    char path[160], one[160], etag[64];
    snprintf(path, sizeof path, "/api/v1/territoires/%s/axes-strategiques", t.id_pvd);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    char axe1[40] = "", axe2[40] = "";
    const json_t *elements = json_object_get(r.json, "elements");
    for (size_t i = 0; i < json_array_size(elements); i++) {
        const json_t *e = json_array_get(elements, i);
        json_int_t n = json_integer_value(json_object_get(e, "numero"));
        snprintf(n == 1 ? axe1 : axe2, 40, "%s", fx_str(e, "id"));
    }
    http_response_release(&r);
    cr_assert(axe1[0] && axe2[0], "two axes listed");
    snprintf(one, sizeof one, "/api/v1/axes-strategiques/%s", axe1);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    send(&t.agent, "DELETE", one, etag, NULL, &r);
    cr_assert_eq(r.status, 204, HTTP_BODY, r.body);
    http_response_release(&r);
    transition_ok(&t.elu, &c, "validee_comite");

    snprintf(one, sizeof one, "/api/v1/axes-strategiques/%s", axe2);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    send(&t.agent, "DELETE", one, etag, NULL, &r);
    expect_rule(&r, "R9", "axe-strategique-manquant", "/axes_strategiques");
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", axe2);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(one, sizeof one, "/api/v1/indicateurs/%s",
             fx_str(json_array_get(json_object_get(r.json, "elements"), 0), "id"));
    http_response_release(&r);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    send(&t.agent, "DELETE", one, etag, NULL, &r);
    expect_rule(&r, "R9", "indicateur-manquant", "/axes_strategiques/0/indicateurs");
    http_response_release(&r);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "the indicateur is still there " HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- R9 under concurrency: two connections, one held at a chosen point ---- */

/* A request sent from its own thread. */
struct async_request {
    const struct who *w;
    const char *method, *path, *if_match, *body;
    struct http_response r;
    volatile int done;
    pthread_t thread;
};

static void *async_run(void *arg)
{
    struct async_request *a = arg;
    send(a->w, a->method, a->path, a->if_match, a->body, &a->r);
    a->done = 1;
    return NULL;
}

static void async_start(struct async_request *a)
{
    a->done = 0;
    cr_assert_eq(pthread_create(&a->thread, NULL, async_run, a), 0);
}

/* The backend pid of the first session blocked by backend `by` (0 when none
 * yet), waiting at most ~10 s for one to appear unless `until` gets done. */
static int blocked_by(PGconn *c, int by, const struct async_request *until)
{
    char pid_text[16];
    snprintf(pid_text, sizeof pid_text, "%d", by);
    const char *params[1] = {pid_text};
    for (int i = 0; i < 1000 && !(until && until->done); i++) {
        PGresult *res = PQexecParams(c,
                                     "SELECT pid FROM pg_stat_activity "
                                     "WHERE $1::int = ANY (pg_blocking_pids(pid)) LIMIT 1",
                                     1, NULL, params, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
        int pid = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
        if (pid)
            return pid;
        usleep(10000);
    }
    return 0;
}

static void exec_ok(PGconn *c, const char *sql, const char *param)
{
    const char *params[1] = {param};
    PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
}

/* The held point: another session locks convention held_id's row; `first`
 * is sent and waits on that lock (checked in pg_stat_activity); `second` is
 * sent and either completes (nothing serializes it with `first`) or waits
 * behind `first`; then the row is released and both answers awaited. */
static void race(const char *held_id, struct async_request *first, struct async_request *second)
{
    PGconn *holder = db(), *watch = db();
    exec_ok(holder, "BEGIN", NULL);
    exec_ok(holder, "SELECT 1 FROM conventions WHERE id = $1::uuid FOR UPDATE", held_id);
    async_start(first);
    int first_pid = blocked_by(watch, PQbackendPID(holder), NULL);
    cr_assert(first_pid, "the first request waits on the held row lock");
    async_start(second);
    blocked_by(watch, first_pid, second);
    exec_ok(holder, "COMMIT", NULL);
    pthread_join(first->thread, NULL);
    pthread_join(second->thread, NULL);
    PQfinish(holder);
    PQfinish(watch);
}

/* The validation by the comité (R9 read: one axe, one indicateur) is held
 * on the convention's row lock by another session while the deletion of that
 * indicateur runs; then released. Whatever the interleaving, R9 holds
 * afterwards: either the deletion is refused (422 R9) or the validation is.
 * Before the fix, the validation read the axes on another connection before
 * its transaction and the deletion read the cadre's état without a lock:
 * both committed (200 and 204), leaving a validated cadre whose axe has no
 * indicateur. */
Test(conventions, r9_holds_when_deleting_an_indicateur_races_the_validation)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Gueugnon (71230), ville principale of EPCI 200070316. */
    terr_init(&t, "pvd-27-71-913", "71230", "217102300", "Gueugnon", "200070316", "71");
    char body[3000];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    http_response_release(&r);
    cadre_body(&t, NULL, body, sizeof body);
    create(&t.agent, body, &c, &r);
    http_response_release(&r);
    transition_ok(&t.agent, &c, "en_concertation");
    axe(t.id_pvd, 1, 1);
    char path[160], one[160], etag[64];
    snprintf(path, sizeof path, "/api/v1/territoires/%s/axes-strategiques", t.id_pvd);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs",
             fx_str(json_array_get(json_object_get(r.json, "elements"), 0), "id"));
    http_response_release(&r);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    snprintf(one, sizeof one, "/api/v1/indicateurs/%s",
             fx_str(json_array_get(json_object_get(r.json, "elements"), 0), "id"));
    http_response_release(&r);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);

    char tpath[160];
    conv_path(&c, "/transitions", tpath);
    struct async_request validation = {.w = &t.elu,
                                       .method = "POST",
                                       .path = tpath,
                                       .if_match = c.etag,
                                       .body = "{\"vers\":\"validee_comite\"}"};
    struct async_request deletion = {
        .w = &t.agent, .method = "DELETE", .path = one, .if_match = etag};
    race(c.id, &validation, &deletion);

    long v = validation.r.status, d = deletion.r.status;
    cr_assert((v == 200 && d == 422) || (v == 422 && d == 204),
              "exactly one of them: validation %ld " HTTP_BODY " deletion %ld " HTTP_BODY, v,
              validation.r.body, d, deletion.r.body);
    if (d == 422)
        expect_rule(&deletion.r, "R9", "indicateur-manquant", "/axes_strategiques/0/indicateurs");
    else
        expect_rule(&validation.r, "R9", "indicateur-manquant", "/axes_strategiques/0/indicateurs");
    http_response_release(&validation.r);
    http_response_release(&deletion.r);
    refresh(&t.agent, &c, &r);
    const char *etat = fx_str(r.json, "etat");
    bool validated = strcmp(etat, "validee_comite") == 0;
    http_response_release(&r);
    send(&t.agent, "GET", one, NULL, NULL, &r);
    cr_assert(!validated || r.status == 200, "a validated cadre keeps its indicateur (%s, %ld)",
              etat, r.status);
    http_response_release(&r);
}

/* R5 under concurrency: the signature of the cadre (its adhésion read signee)
 * is held on the cadre's row while the adhésion is résiliée (signee →
 * abandonnee). Afterwards, never a signed cadre whose adhésion is
 * abandonnée: either the résiliation is refused (the adhésion went relayee
 * meanwhile: 412/409) or the signature is (422 R5). Before the fix the
 * signature read its adhésion before its transaction: both committed. */
Test(conventions, r5_holds_when_the_adhesion_is_resiliee_during_the_cadre_signature)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Iguerande (71238), ville principale of EPCI 247103864. */
    terr_init(&t, "pvd-27-71-914", "71238", "217102383", "Iguerande", "247103864", "71");
    adhesion_signed(&t, &a, "2021-03-01", "2021-03-08", "2021-03-09", "2021-03-10");
    axe(t.id_pvd, 1, 1);
    char ids[3][40];
    cadre_to_signature(&t, NULL, &c, ids);
    sign_ok(&t.elu, &c, ids[0], "2022-05-02", "2022-04-01");
    sign_ok(&t.elu, &c, ids[1], "2022-05-02", "2022-04-02");
    sign_ok(&t.prefecture, &c, ids[2], "2022-05-03", NULL);
    char cpath[160], apath[160];
    conv_path(&c, "/transitions", cpath);
    conv_path(&a, "/transitions", apath);
    struct async_request signature = {.w = &t.prefecture,
                                      .method = "POST",
                                      .path = cpath,
                                      .if_match = c.etag,
                                      .body = "{\"vers\":\"signee\"}"};
    struct async_request resiliation = {.w = &t.prefecture,
                                        .method = "POST",
                                        .path = apath,
                                        .if_match = a.etag,
                                        .body =
                                            "{\"vers\":\"abandonnee\",\"motif\":\"Résiliation\"}"};
    race(c.id, &signature, &resiliation);
    long s = signature.r.status, x = resiliation.r.status;
    cr_assert((s == 200 && (x == 412 || x == 409)) || (s == 422 && x == 200),
              "exactly one of them: signature %ld " HTTP_BODY " résiliation %ld " HTTP_BODY, s,
              signature.r.body, x, resiliation.r.body);
    if (s == 422)
        expect_rule(&signature.r, "R5", "convention-adhesion-non-signee", "/adhesion_id");
    http_response_release(&signature.r);
    http_response_release(&resiliation.r);
    refresh(&t.prefecture, &c, &r);
    bool signed_cadre = strcmp(fx_str(r.json, "etat"), "signee") == 0;
    http_response_release(&r);
    refresh(&t.prefecture, &a, &r);
    cr_assert(!signed_cadre || strcmp(fx_str(r.json, "etat"), "relayee") == 0,
              "a signed cadre's adhésion is relayee " HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- R8, future and impossible dates, who signs ------------------------- */

Test(conventions, r8_and_dates_refuse_a_signature_and_write_nothing)
{
    struct terr t;
    struct conv a;
    struct http_response r;
    terr_init(&t, "pvd-27-71-906", "71132", "217101328", "Ciry-le-Noble", "247100290", "71");
    char body[2000];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    char s0[40], s1[40], s2[40];
    snprintf(s0, sizeof s0, "%s", signataire_id(&r, 0));
    snprintf(s1, sizeof s1, "%s", signataire_id(&r, 1));
    snprintf(s2, sizeof s2, "%s", signataire_id(&r, 2));
    http_response_release(&r);

    /* Not yet en_signature. */
    sign(&t.elu, &a, s0, "2024-02-01", "2024-01-01", 409, &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_not_null(http_problem_error(&r, ""));
    http_response_release(&r);
    transition_ok(&t.agent, &a, "en_signature");
    char etag[40];
    snprintf(etag, sizeof etag, "%s", a.etag);

    sign(&t.elu, &a, s0, "2024-02-01", NULL, 422, &r);
    expect_rule(&r, "R8", "deliberation-manquante", "/date_deliberation");
    http_response_release(&r);
    sign(&t.elu, &a, s0, "2024-02-01", "2024-02-02", 422, &r);
    expect_rule(&r, "R8", "deliberation-posterieure-signature", "/date_deliberation");
    http_response_release(&r);
    sign(&t.elu, &a, s0, "2099-02-01", "2024-02-01", 422, &r);
    expect_rule(&r, NULL, "date-signature-future", "/date_signature");
    http_response_release(&r);
    sign(&t.elu, &a, s0, "2023-02-29", "2023-01-01", 400, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/date_signature"), "code"), "date-invalide");
    http_response_release(&r);

    /* Who signs: an agent never (403); an élu not for the État; a préfecture
     * not for a commune. */
    sign(&t.agent, &a, s0, "2024-02-01", "2024-01-01", 403, &r);
    http_response_release(&r);
    sign(&t.elu, &a, s2, "2024-02-01", NULL, 403, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    sign(&t.prefecture, &a, s0, "2024-02-01", "2024-01-01", 403, &r);
    http_response_release(&r);
    /* An élu signs only for the collectivité it represents: the commune's
     * élu not for the EPCI (s1). */
    sign(&t.elu_commune, &a, s1, "2024-02-01", "2024-01-01", 403, &r);
    http_expect_problem(&r, 403, "interdit");
    cr_assert(strstr(fx_str(r.json, "detail"), "ne couvre pas cette organisation"), HTTP_BODY,
              r.body);
    http_response_release(&r);

    refresh(&t.agent, &a, &r);
    cr_assert_str_eq(a.etag, etag, "nothing written by the refusals");
    cr_assert(json_is_null(json_object_get(
        json_array_get(json_object_get(r.json, "signataires"), 0), "date_signature")));
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.signer"), 0);

    /* Signing is incomplete: entering signee is refused. */
    sign_ok(&t.elu, &a, s0, "2024-02-01", "2024-01-01");
    transition(&t.elu, &a, "signee", 422, &r);
    expect_rule(&r, NULL, "signature-manquante", "/signataires/1/date_signature");
    http_response_release(&r);
    /* The same signataire twice: 409. */
    sign(&t.elu, &a, s0, "2024-02-02", "2024-01-01", 409, &r);
    http_response_release(&r);
}

/* ---- State machine ------------------------------------------------------ */

Test(conventions, illegal_edges_and_roles_are_refused_with_the_allowed_ones)
{
    struct terr t;
    struct conv a;
    struct http_response r;
    terr_init(&t, "pvd-27-71-907", "71133", "217101336", "La Clayette", "200070548", "71");
    char body[2000];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    cr_assert(has_transition(&r, "en_signature"));
    cr_assert(!has_transition(&r, "abandonnee"), "an agent does not abandon");
    http_response_release(&r);
    refresh(&t.elu, &a, &r);
    cr_assert(has_transition(&r, "abandonnee"));
    http_response_release(&r);
    refresh(&t.prefecture, &a, &r);
    cr_assert(!has_transition(&r, "en_signature"), "a préfecture does not submit drafts");
    http_response_release(&r);

    transition(&t.agent, &a, "signee", 409, &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/vers"), "code"), "transition-invalide");
    cr_assert(strstr(fx_str(r.json, "detail"), "en_signature"), "lists the allowed edges");
    http_response_release(&r);
    transition(&t.agent, &a, "abandonnee", 403, &r);
    http_response_release(&r);
    transition(&t.agent, &a, "validee_comite", 400, &r); /* not a state of an adhésion */
    http_response_release(&r);
    transition(&t.agent, &a, "relayee", 409, &r);
    http_response_release(&r);

    /* Without If-Match 428; stale 412. */
    char path[160];
    conv_path(&a, "/transitions", path);
    send(&t.agent, "POST", path, NULL, "{\"vers\":\"en_signature\"}", &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    send(&t.agent, "POST", path, "\"0000000000000000\"", "{\"vers\":\"en_signature\"}", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);

    transition_ok(&t.elu, &a, "abandonnee");
    /* An abandoned adhésion frees the territoire for a new one. */
    struct conv b;
    create(&t.agent, body, &b, &r);
    http_response_release(&r);
}

/* ---- Drafts, avenants, versions ----------------------------------------- */

Test(conventions, drafts_change_by_patch_and_signed_conventions_by_avenant)
{
    struct terr t;
    struct conv a;
    struct http_response r;
    terr_init(&t, "pvd-27-71-908", "71118", "217101187", "Châtenoy-le-Royal", "247100589", "71");
    char body[2000], path[160];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    http_response_release(&r);
    conv_path(&a, NULL, path);

    /* Merge patch: null removes, absent keeps. */
    send(&t.agent, "PATCH", path, a.etag,
         "{\"moyens_ingenierie\":null,\"etudes_existantes\":\"Étude 2019\"}", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_null(json_object_get(r.json, "moyens_ingenierie")));
    cr_assert_str_eq(fx_str(r.json, "etudes_existantes"), "Étude 2019");
    cr_assert_eq(json_array_size(json_object_get(r.json, "signataires")), 3);
    remember(&a, &r);
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.ecrire"), 2);

    /* Bad input: 400 with a pointer per field; cadre members are unknown here. */
    send(&t.agent, "PATCH", path, a.etag,
         "{\"intitule\":\"\",\"vaut_ort\":true,\"signataires\":[{\"role\":\"maire\"}]}", &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/intitule"));
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/vaut_ort"), "code"), "champ-inconnu");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/signataires/0/role"), "code"),
                     "valeur-inconnue");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/signataires/0/organisation_id"), "code"),
                     "champ-requis");
    http_response_release(&r);
    send(&t.agent, "PATCH", path, a.etag,
         "{\"signataires\":[{\"organisation_id\":\"00000000-0000-4000-8000-000000000000\","
         "\"role\":\"etat\",\"representant_nom\":\"X\",\"representant_qualite\":\"Y\"}]}",
         &r);
    expect_rule(&r, NULL, "organisation-inconnue", "/signataires/0/organisation_id");
    http_response_release(&r);

    /* Sign it, then PATCH is refused: only an avenant changes it. */
    struct http_response g;
    refresh(&t.agent, &a, &g);
    char s[3][40];
    for (int i = 0; i < 3; i++)
        snprintf(s[i], 40, "%s", signataire_id(&g, (size_t)i));
    http_response_release(&g);
    transition_ok(&t.agent, &a, "en_signature");
    /* en_signature: délibérations may still be recorded, nothing else. */
    send(&t.agent, "PATCH", path, a.etag, "{\"intitule\":\"Autre\"}", &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_str_eq(fx_str(http_problem_error(&r, ""), "code"), "modification-en-signature");
    http_response_release(&r);
    char deliberations[1200];
    snprintf(deliberations, sizeof deliberations,
             "{\"signataires\":[{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\","
             "\"representant_nom\":\"Maire\",\"representant_qualite\":\"Maire\","
             "\"date_deliberation\":\"2024-05-01\",\"reference_deliberation\":\"DCM-12\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"epci\",\"representant_nom\":"
             "\"Président\",\"representant_qualite\":\"%s\",\"date_deliberation\":"
             "\"2024-05-01\"},{\"organisation_id\":\"%s\",\"role\":\"etat\","
             "\"representant_nom\":\"Préfet\",\"representant_qualite\":\"Préfet\"}]}",
             t.commune, t.epci, "Vice-président", t.etat);
    send(&t.agent, "PATCH", path, a.etag, deliberations, &r);
    http_expect_problem(&r, 409, "conflit"); /* a representative changed */
    http_response_release(&r);
    snprintf(deliberations, sizeof deliberations,
             "{\"signataires\":[{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\","
             "\"representant_nom\":\"Maire\",\"representant_qualite\":\"Maire\","
             "\"date_deliberation\":\"2024-05-01\",\"reference_deliberation\":\"DCM-12\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"epci\",\"representant_nom\":"
             "\"Président\",\"representant_qualite\":\"%s\",\"date_deliberation\":"
             "\"2024-05-01\"},{\"organisation_id\":\"%s\",\"role\":\"etat\","
             "\"representant_nom\":\"Préfet\",\"representant_qualite\":\"Préfet\"}]}",
             t.commune, t.epci, "Président", t.etat);
    send(&t.agent, "PATCH", path, a.etag, deliberations, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(
        fx_str(json_array_get(json_object_get(r.json, "signataires"), 0), "reference_deliberation"),
        "DCM-12");
    remember(&a, &r);
    http_response_release(&r);
    /* The délibérations recorded, the collectivités sign without restating them (R8). */
    sign_ok(&t.elu, &a, s[0], "2024-05-02", NULL);
    sign_ok(&t.elu, &a, s[1], "2024-05-02", NULL);
    sign_ok(&t.prefecture, &a, s[2], "2024-05-03", NULL);
    transition_ok(&t.prefecture, &a, "signee");
    send(&t.agent, "PATCH", path, a.etag, "{\"intitule\":\"Autre\"}", &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_str_eq(fx_str(http_problem_error(&r, ""), "code"), "avenant-requis");
    http_response_release(&r);

    conv_path(&a, "/avenants", path);
    send(&t.agent, "POST", path, a.etag,
         "{\"objet\":\"Précision des besoins\",\"date_signature\":\"2099-01-01\","
         "\"modifications\":{\"besoins_operateurs\":\"Cerema\"}}",
         &r);
    expect_rule(&r, NULL, "date-signature-future", "/date_signature");
    http_response_release(&r);
    send(&t.agent, "POST", path, a.etag,
         "{\"objet\":\"Précision des besoins\",\"date_signature\":\"2024-09-01\","
         "\"modifications\":{\"besoins_operateurs\":\"Cerema\",\"signataires\":[]}}",
         &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/modifications/signataires"));
    http_response_release(&r);
    send(&t.agent, "POST", path, a.etag,
         "{\"objet\":\"Précision des besoins\",\"date_signature\":\"2024-09-01\","
         "\"modifications\":{\"besoins_operateurs\":\"Cerema\"}}",
         &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "numero_version")), 2);
    cr_assert_str_eq(fx_str(r.json, "besoins_operateurs"), "Cerema");
    char location[160];
    conv_path(&a, "/versions/2", location);
    cr_assert_str_eq(http_header(&r, "Location"), location);
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.ecrire"), 4, "creation, 2 patches, the avenant");

    conv_path(&a, "/versions?limite=1", path);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1);
    const char *next = fx_str(r.json, "suivant");
    cr_assert(next, "two versions, one per page");
    char next_path[600];
    snprintf(next_path, sizeof next_path, "/api/v1/conventions/%s/versions?limite=1&curseur=%s",
             a.id, next);
    /* A cursor is not signed. "v1|versions|<fingerprint>|" is 21 bytes, so the
     * first 28 characters of a real one encode it; followed by
     * base64url("9999999999"), a numero beyond int: 400, never handed to
     * PostgreSQL (22003, a 500). */
    char forged_path[600];
    snprintf(forged_path, sizeof forged_path,
             "/api/v1/conventions/%s/versions?limite=1&curseur=%.28sOTk5OTk5OTk5OQ", a.id, next);
    http_response_release(&r);
    send(&t.agent, "GET", next_path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *v2 = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_eq(json_integer_value(json_object_get(v2, "numero")), 2);
    cr_assert_str_eq(fx_str(v2, "objet"), "Précision des besoins");
    http_response_release(&r);
    send(&t.agent, "GET", forged_path, NULL, NULL, &r);
    http_expect_problem(&r, 400, "curseur-invalide");
    http_response_release(&r);

    /* Version 1 is unchanged. */
    conv_path(&a, "/versions/1", path);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(
        json_is_null(json_object_get(json_object_get(r.json, "convention"), "besoins_operateurs")));
    http_response_release(&r);
    conv_path(&a, "/versions/3", path);
    send(&t.agent, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

/* ---- Concurrency (§4) --------------------------------------------------- */

Test(conventions, a_stale_if_match_gets_412_and_an_idempotent_replay_creates_nothing)
{
    struct terr t;
    struct http_response r, r2;
    terr_init(&t, "pvd-27-71-909", "71056", "217100569", "Branges", "200071579", "71");
    char body[2000];
    adhesion_body(&t, body, sizeof body);
    const char *headers[] = {t.agent.header, "Content-Type: application/json",
                             "Idempotency-Key: conventions-idem-909", NULL};
    http_request("POST", "/api/v1/conventions", headers, body, strlen(body), &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_request("POST", "/api/v1/conventions", headers, body, strlen(body), &r2);
    cr_assert_eq(r2.status, 201, "the first response, replayed " HTTP_BODY, r2.body);
    cr_assert_str_eq(fx_str(r.json, "id"), fx_str(r2.json, "id"));
    http_response_release(&r2);
    send(&t.agent, "GET", "/api/v1/conventions?id_pvd=pvd-27-71-909", NULL, NULL, &r2);
    cr_assert_eq(json_array_size(json_object_get(r2.json, "elements")), 1, "created once");
    http_response_release(&r2);

    struct conv a;
    remember(&a, &r);
    http_response_release(&r);
    char path[160];
    conv_path(&a, NULL, path);
    /* Two clients read the same ETag; the first PATCH wins, the second is 412. */
    send(&t.agent, "PATCH", path, a.etag, "{\"intitule\":\"Client A\"}", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_neq(http_header(&r, "ETag"), a.etag);
    http_response_release(&r);
    send(&t.elu, "PATCH", path, a.etag, "{\"intitule\":\"Client B\"}", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    send(&t.elu, "PATCH", path, NULL, "{\"intitule\":\"Client B\"}", &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    refresh(&t.elu, &a, &r);
    cr_assert_str_eq(fx_str(r.json, "intitule"), "Client A");
    http_response_release(&r);
    cr_assert_eq(journal_rows(a.id, "convention.ecrire"), 2);

    /* A second active adhésion: 409. */
    send(&t.agent, "POST", "/api/v1/conventions", NULL, body, &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/type"), "code"),
                     "convention-active-existante");
    http_response_release(&r);
}

/* ---- Perimeters --------------------------------------------------------- */

Test(conventions, outside_the_perimeter_a_convention_does_not_exist)
{
    struct terr t;
    struct conv a;
    struct http_response r;
    terr_init(&t, "pvd-27-71-910", "71047", "217100478", "Bourbon-Lancy", "200070316", "71");
    char body[2000], path[160];
    adhesion_body(&t, body, sizeof body);
    create(&t.agent, body, &a, &r);
    http_response_release(&r);
    struct who rhone, financeur;
    who_new(&rhone, "prefecture_instructeur", "{\"departements\":[\"69\"]}");
    who_new(&financeur, "financeur", "{\"sirens\":[\"200033652\"]}");
    conv_path(&a, NULL, path);
    send(&rhone, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    send(&financeur, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    send(&rhone, "GET", "/api/v1/conventions?id_pvd=pvd-27-71-910", NULL, NULL, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0);
    http_response_release(&r);
    /* The préfecture of the département reads but does not write drafts. */
    send(&t.prefecture, "PATCH", path, a.etag, "{\"intitule\":\"X\"}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    send(&t.prefecture, "POST", "/api/v1/conventions", NULL, body, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    /* A collectivité of another territoire does not see it either. */
    struct who other;
    who_new(&other, "collectivite_agent", "{\"sirens\":[\"217100700\"]}");
    send(&other, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    send(&t.prefecture, "GET", "/api/v1/conventions?departement=2C", NULL, NULL, &r);
    http_expect_param_error(&r, "/departement", NULL);
    http_response_release(&r);
    send(&t.prefecture, "GET", "/api/v1/conventions?en_retard=oui", NULL, NULL, &r);
    http_expect_param_error(&r, "/en_retard", NULL);
    http_response_release(&r);
    send(&t.agent, "POST", "/api/v1/conventions", NULL,
         "{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-999\",\"intitule\":\"X\"}", &r);
    expect_rule(&r, NULL, "territoire-inconnu", "/id_pvd");
    http_response_release(&r);
}

/* ---- Figures consistent with the lists ---------------------------------- */

static long list_total(const struct who *w, const char *query)
{
    char path[300];
    long total = 0;
    snprintf(path, sizeof path, "/api/v1/conventions?limite=500%s", query);
    struct http_response r;
    send(w, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_null(json_object_get(r.json, "suivant")));
    total = (long)json_array_size(json_object_get(r.json, "elements"));
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), total, HTTP_BODY, r.body);
    http_response_release(&r);
    /* a page of one counts them all */
    snprintf(path, sizeof path, "/api/v1/conventions?limite=1%s", query);
    send(w, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), total, HTTP_BODY, r.body);
    http_response_release(&r);
    return total;
}

static long stat_count(const json_t *list, const char *k1, const char *v1, const char *k2,
                       const char *v2)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (strcmp(fx_str(e, k1), v1) == 0 && (!k2 || strcmp(fx_str(e, k2), v2) == 0))
            return (long)json_integer_value(json_object_get(e, "nombre"));
    }
    return 0;
}

Test(conventions, figures_equal_the_list_totals_for_the_same_filters)
{
    /* Département 03 (région 84) is this test's alone. */
    struct terr t1, t2;
    struct conv a1, a2, c1;
    struct http_response r;
    terr_init(&t1, "pvd-84-03-901", "03036", "210300364", "Bourbon-l'Archambault", "200071496",
              "03");
    terr_init(&t2, "pvd-84-03-902", "03082", "210300828", "Commentry", "200071512", "03");
    adhesion_signed(&t1, &a1, "2022-01-03", "2022-01-10", "2022-01-10", "2022-01-11");
    adhesion_signed(&t2, &a2, "2021-06-01", "2021-06-10", "2021-06-10", "2021-06-15");
    axe(t1.id_pvd, 1, 1);
    char ids[3][40], body[3000];
    cadre_body(&t1, NULL, body, sizeof body);
    create(&t1.agent, body, &c1, &r);
    for (int i = 0; i < 3; i++)
        snprintf(ids[i], 40, "%s", signataire_id(&r, (size_t)i));
    http_response_release(&r);
    transition_ok(&t1.agent, &c1, "en_concertation");
    transition_ok(&t1.elu, &c1, "validee_comite");
    transition_ok(&t1.agent, &c1, "en_signature");
    sign_ok(&t1.elu, &c1, ids[0], "2023-01-20", "2023-01-02");
    sign_ok(&t1.elu, &c1, ids[1], "2023-01-20", "2023-01-02");
    sign_ok(&t1.prefecture, &c1, ids[2], "2023-01-21", NULL);
    transition_ok(&t1.prefecture, &c1, "signee");

    struct who pref = t1.prefecture;
    send(&pref, "GET", "/api/v1/statistiques/conventions?departement=03", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 3, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")),
                 list_total(&pref, "&departement=03"));
    json_t *by = json_object_get(r.json, "par_type_etat");
    cr_assert_eq(stat_count(by, "type", "adhesion", "etat", "relayee"),
                 list_total(&pref, "&departement=03&type=adhesion&etat=relayee"));
    cr_assert_eq(stat_count(by, "type", "adhesion", "etat", "signee"), 1);
    cr_assert_eq(stat_count(by, "type", "adhesion", "etat", "signee"),
                 list_total(&pref, "&departement=03&type=adhesion&etat=signee"));
    cr_assert_eq(stat_count(by, "type", "cadre", "etat", "signee"),
                 list_total(&pref, "&departement=03&type=cadre&etat=signee"));
    cr_assert_eq(stat_count(json_object_get(r.json, "par_departement"), "code_departement", "03",
                            NULL, NULL),
                 3);
    cr_assert_eq(stat_count(json_object_get(r.json, "par_region"), "code_region", "84", NULL, NULL),
                 3);
    /* Commentry's adhésion (2021-06-15, limit 2022-12-15) is late. */
    cr_assert_eq(json_integer_value(json_object_get(r.json, "adhesions_en_retard")), 1);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "adhesions_en_retard")),
                 list_total(&pref, "&departement=03&type=adhesion&en_retard=true"));
    /* Bourbon-l'Archambault: 2022-01-11 → 2023-01-21, 375 days. */
    cr_assert_eq(json_integer_value(json_object_get(r.json, "delai_median_adhesion_cadre_jours")),
                 375);
    http_response_release(&r);

    /* Collectivités and financeurs have no figures. */
    send(&t1.agent, "GET", "/api/v1/statistiques/conventions", NULL, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    send(&pref, "GET", "/api/v1/statistiques/conventions?etat=signee", NULL, NULL, &r);
    http_expect_param_error(&r, "/etat", NULL);
    http_response_release(&r);
}

/* ---- Bad input: 400 with a pointer per field, never a 5xx, nothing written */

Test(conventions, bad_bodies_are_400_with_a_pointer_per_field)
{
    struct terr t;
    struct http_response r;
    terr_init(&t, "pvd-27-71-911", "71090", "217100908", "La Chapelle-de-Guinchay", "200070308",
              "71");
    static const struct {
        const char *body, *pointer, *code;
    } cases[] = {
        {"{\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\"}", "/type", "champ-requis"},
        {"{\"type\":\"avenant\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\"}", "/type",
         "valeur-inconnue"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"27-71-911\",\"intitule\":\"X\"}", "/id_pvd",
         "format-invalide"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"ambitions\":"
         "\"A\"}",
         "/ambitions", "champ-inconnu"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"signataires\":"
         "{}}",
         "/signataires", "type-invalide"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"signataires\":"
         "[1]}",
         "/signataires/0", "type-invalide"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"signataires\":"
         "[{\"organisation_id\":\"x\",\"role\":\"etat\",\"representant_nom\":\"P\","
         "\"representant_qualite\":\"P\"}]}",
         "/signataires/0/organisation_id", "format-invalide"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"signataires\":"
         "[{\"organisation_id\":\"00000000-0000-4000-8000-000000000000\",\"role\":\"etat\","
         "\"representant_nom\":\"P\",\"representant_qualite\":\"P\",\"date_deliberation\":"
         "\"2023-02-29\"}]}",
         "/signataires/0/date_deliberation", "date-invalide"},
        {"{\"type\":\"cadre\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"date_fin\":"
         "\"2023-02-29\"}",
         "/date_fin", "date-invalide"},
        {"{\"type\":\"cadre\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"volet_habitat\":"
         "\"opah-ru\"}",
         "/volet_habitat", "valeur-inconnue"},
        {"{\"type\":\"cadre\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\","
         "\"secteurs_intervention\":[{\"nom\":\"C\",\"code_insee\":\"7107\",\"geometrie\":\"x\"}]}",
         "/secteurs_intervention/0/code_insee", "format-invalide"},
        {"{\"type\":\"cadre\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\","
         "\"secteurs_intervention\":[{\"nom\":\"C\",\"code_insee\":\"71070\",\"geometrie\":\"x\"}]"
         "}",
         "/secteurs_intervention/0/geometrie", "type-invalide"},
        {"{\"type\":\"cadre\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"vaut_ort\":null}",
         "/vaut_ort", "type-invalide"},
        {"{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\",\"document_url\":"
         "\"ftp://x/y.pdf\"}",
         "/document_url", "format-invalide"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        send(&t.agent, "POST", "/api/v1/conventions", NULL, cases[i].body, &r);
        http_expect_problem(&r, 400, "champs-invalides");
        json_t *e = http_problem_error(&r, cases[i].pointer);
        cr_assert(e, "case %zu: no error at %s: " HTTP_BODY, i, cases[i].pointer, r.body);
        cr_assert_str_eq(fx_str(e, "code"), cases[i].code, "case %zu: " HTTP_BODY, i, r.body);
        http_response_release(&r);
    }
    /* Too many signataires. */
    char big[12000];
    size_t n = (size_t)snprintf(big, sizeof big,
                                "{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":"
                                "\"X\",\"signataires\":[");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "%s{\"organisation_id\":\"%s\",\"role\":\"partenaire\","
                              "\"representant_nom\":\"P\",\"representant_qualite\":\"P\"}",
                              i ? "," : "", t.commune);
    snprintf(big + n, sizeof big - n, "]}");
    send(&t.agent, "POST", "/api/v1/conventions", NULL, big, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/signataires"), "code"), "hors-bornes");
    http_response_release(&r);
    /* The same organisation twice in the same role: 422. */
    char body[1200];
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"pvd-27-71-911\",\"intitule\":\"X\","
             "\"signataires\":[{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\","
             "\"representant_nom\":\"P\",\"representant_qualite\":\"P\"},{\"organisation_id\":"
             "\"%s\",\"role\":\"beneficiaire\",\"representant_nom\":\"Q\",\"representant_qualite\":"
             "\"Q\"}]}",
             t.commune, t.commune);
    send(&t.agent, "POST", "/api/v1/conventions", NULL, body, &r);
    expect_rule(&r, NULL, "signataire-en-double", "/signataires/1/organisation_id");
    http_response_release(&r);
    /* Not JSON, not an object, wrong media type. */
    send(&t.agent, "POST", "/api/v1/conventions", NULL, "[1]", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
    const char *headers[] = {t.agent.header, "Content-Type: text/plain", NULL};
    http_request("POST", "/api/v1/conventions", headers, "x", 1, &r);
    http_expect_problem(&r, 415, "type-media-non-supporte");
    http_response_release(&r);
    /* Path and query parameters. */
    send(&t.agent, "GET", "/api/v1/conventions/pas-un-uuid", NULL, NULL, &r);
    http_expect_param_error(&r, "/id", "format-invalide");
    http_response_release(&r);
    send(&t.agent, "GET", "/api/v1/conventions/00000000-0000-4000-8000-000000000000/versions/0",
         NULL, NULL, &r);
    http_expect_param_error(&r, "/numero", "format-invalide");
    http_response_release(&r);
    send(&t.agent, "GET", "/api/v1/conventions/00000000-0000-4000-8000-000000000000", NULL, NULL,
         &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    send(&t.agent, "GET", "/api/v1/conventions?type=autre&inconnu=1", NULL, NULL, &r);
    http_expect_param_error(&r, "/type", NULL);
    cr_assert_not_null(http_problem_error(&r, "/inconnu"));
    http_response_release(&r);
    send(&t.agent, "GET", "/api/v1/conventions?id_pvd=pvd-27-71-911", NULL, NULL, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, "nothing written");
    http_response_release(&r);
}

/* ---- The automatic edge signee → echue ------------------------------------ */

Test(conventions, a_signed_cadre_past_its_date_fin_becomes_echue_once)
{
    struct terr t;
    struct conv a, c;
    struct http_response r;
    /* Tournus (71543), ville principale of EPCI 200069698; a cadre ending 2022-12-31. */
    terr_init(&t, "pvd-27-71-912", "71543", "217105436", "Tournus", "200069698", "71");
    t.date_fin = "2022-12-31";
    adhesion_signed(&t, &a, "2021-03-01", "2021-03-08", "2021-03-09", "2021-03-10");
    axe(t.id_pvd, 1, 1);
    char ids[3][40];
    cadre_to_signature(&t, NULL, &c, ids);
    sign_ok(&t.elu, &c, ids[0], "2022-05-02", "2022-04-01");
    sign_ok(&t.elu, &c, ids[1], "2022-05-02", "2022-04-02");
    sign_ok(&t.prefecture, &c, ids[2], "2022-05-03", NULL);
    transition(&t.prefecture, &c, "signee", 200, &r);
    http_response_release(&r);
    /* Nobody takes the edge by hand. */
    transition(&t.prefecture, &c, "echue", 409, &r);
    cr_assert_str_eq(fx_str(http_problem_error(&r, "/vers"), "code"), "transition-automatique");
    http_response_release(&r);

    fx_run_echeances();
    fx_run_echeances(); /* idempotent: already echue */
    refresh(&t.prefecture, &c, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "echue", HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "transitions_possibles")), 0);
    cr_assert_str_eq(fx_str(r.json, "motif"), "Échue : date de fin du 2022-12-31 dépassée.",
                     "the edge carries its reason, as any transition " HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_rows_by(c.id, "convention.transition", "systeme:echeances"), 1,
                 "one journaled edge, whoever applied it (command or the server's tick)");
    /* The journal row has the shape of every transition's: before and after. */
    cr_assert_eq(db_count("SELECT count(*) FROM journal WHERE ressource_id = $1 "
                          "AND action = 'convention.transition' AND acteur = $2 "
                          "AND avant->>'etat' = 'signee' AND apres->>'etat' = 'echue' "
                          "AND apres->>'motif' IS NOT NULL AND 'pvd-27-71-912' = ANY (territoires)",
                          c.id, "systeme:echeances"),
                 1);
    /* The territoire stays conventionné. */
    send(&t.prefecture, "GET", "/api/v1/territoires/pvd-27-71-912", NULL, NULL, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "conventionne", HTTP_BODY, r.body);
    http_response_release(&r);
}
