/* Fixtures of the projet de territoire and comité tests (see
 * fixtures.h). */
#define _POSIX_C_SOURCE 200809L
#include "fixtures.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokens.h"

const char *fx_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void fx_day(int n, char out[11])
{
    time_t t = time(NULL) + (time_t)n * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

json_t *fx_item(const struct http_response *r, const char *code, const char *pointer)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "erreurs"), i, e)
    {
        const char *c = fx_str(e, "code"), *p = fx_str(e, "pointeur");
        if (c && p && strcmp(c, code) == 0 && strcmp(p, pointer) == 0)
            return e;
    }
    return NULL;
}

void fx_admin(struct fx_caller *c)
{
    char *token = token_for("admin-initial");
    token_header(c->header, sizeof c->header, token);
    free(token);
}

void fx_machine_caller(struct fx_caller *c, const char *role, const char *perimetre, char id[32])
{
    struct fx_caller admin;
    char body[600], form[400];
    struct http_response r;
    fx_admin(&admin);
    snprintf(body, sizeof body, "{\"nom\":\"machine\",\"role\":\"%s\",\"perimetre\":%s}", role,
             perimetre);
    fx_call(&admin, "POST", "/api/v1/clients", body, NULL, &r);
    cr_assert_eq(r.status, 201, "client: " HTTP_BODY, r.body);
    snprintf(form, sizeof form, "grant_type=client_credentials&client_id=%s&client_secret=%s",
             fx_str(r.json, "id"), fx_str(r.json, "secret"));
    if (id)
        snprintf(id, 32, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    http_request("POST", "/api/v1/oauth/token", headers, form, strlen(form), &r);
    cr_assert_eq(r.status, 200, "token: " HTTP_BODY, r.body);
    char *token = strdup(fx_str(r.json, "access_token"));
    http_response_release(&r);
    token_header(c->header, sizeof c->header, token);
    free(token);
}

void fx_call(const struct fx_caller *c, const char *method, const char *path, const char *body,
             const char *extra_header, struct http_response *r)
{
    const char *headers[4] = {c->header, NULL, NULL, NULL};
    size_t n = 1;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra_header)
        headers[n++] = extra_header;
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

void fx_grant_header(char *header, size_t size, const char *role, const char *perimetre)
{
    struct fx_caller admin;
    char sub[80], body[800];
    struct http_response r;
    fx_admin(&admin);
    token_unique_subject(sub, sizeof sub, role);
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":%s}",
             token_issuer(), sub, role, perimetre);
    fx_call(&admin, "POST", "/api/v1/habilitations", body, NULL, &r);
    cr_assert_eq(r.status, 201, "habilitation %s: " HTTP_BODY, role, r.body);
    http_response_release(&r);
    char *token = token_for(sub);
    token_header(header, size, token);
    free(token);
}

void fx_caller_with(struct fx_caller *c, const char *role, const char *perimetre)
{
    fx_grant_header(c->header, sizeof c->header, role, perimetre);
}

void fx_territoire(const char *id_pvd, const char *code_insee, const char *siren_epci)
{
    struct fx_caller admin;
    char body[400];
    struct http_response r;
    fx_admin(&admin);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"communes\":[\"%s\"],\"epcis\":[\"%s\"],"
             "\"date_designation\":\"2020-12-15\"}",
             id_pvd, code_insee, siren_epci);
    fx_call(&admin, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 201, "territoire %s: " HTTP_BODY, id_pvd, r.body);
    http_response_release(&r);
}

void fx_organisation(const char *siren, const char *nature, const char *nom, char out[37])
{
    struct fx_caller admin;
    char body[400], path[80];
    struct http_response r;
    fx_admin(&admin);
    snprintf(body, sizeof body, "{\"siren\":\"%s\",\"nature\":\"%s\",\"nom\":\"%s\"}", siren,
             nature, nom);
    fx_call(&admin, "POST", "/api/v1/organisations", body, NULL, &r);
    if (r.status == 409) {
        http_response_release(&r);
        snprintf(path, sizeof path, "/api/v1/organisations?siren=%s", siren);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "organisation %s: " HTTP_BODY, siren, r.body);
        json_t *elements = json_object_get(r.json, "elements");
        json_t *first = elements ? json_array_get(elements, 0) : r.json;
        cr_assert(first, "organisation %s: " HTTP_BODY, siren, r.body);
        snprintf(out, 37, "%s", json_string_value(json_object_get(first, "id")));
    } else {
        cr_assert_eq(r.status, 201, "organisation %s: " HTTP_BODY, siren, r.body);
        snprintf(out, 37, "%s", json_string_value(json_object_get(r.json, "id")));
    }
    http_response_release(&r);
}

void fx_create(const struct fx_caller *c, const char *path, const char *body, char id[37],
               char etag[64])
{
    struct http_response r;
    fx_call(c, "POST", path, body, NULL, &r);
    cr_assert_eq(r.status, 201, "POST %s: " HTTP_BODY, path, r.body);
    const char *created = json_string_value(json_object_get(r.json, "id"));
    cr_assert(created, HTTP_BODY, r.body);
    snprintf(id, 37, "%s", created);
    const char *tag = http_header(&r, "ETag");
    cr_assert(tag, "POST %s: no ETag", path);
    if (etag)
        snprintf(etag, 64, "%s", tag);
    http_response_release(&r);
}

unsigned long long fx_metric(const char *name)
{
    struct http_response r;
    http_get("/metrics", &r);
    cr_assert_eq(r.status, 200);
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s ", name);
    const char *at = strstr(r.body, needle);
    cr_assert_not_null(at, "%s missing from /metrics", name);
    unsigned long long v = strtoull(at + strlen(needle), NULL, 10);
    http_response_release(&r);
    return v;
}

void fx_etag(const char *path, char etag[64])
{
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "GET %s: " HTTP_BODY, path, r.body);
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

void fx_expect_error(const struct http_response *r, long status, const char *code,
                     const char *pointer, const char *item_code)
{
    http_expect_problem(r, status, code);
    if (!pointer)
        return;
    json_t *item = http_problem_error(r, pointer);
    cr_assert(item, "no erreurs[] item at %s: " HTTP_BODY, pointer, r->body);
    if (item_code)
        cr_assert_str_eq(json_string_value(json_object_get(item, "code")), item_code, HTTP_BODY,
                         r->body);
}

void fx_expect_rule(const struct http_response *r, const char *regle, const char *pointer,
                    const char *const *codes)
{
    http_expect_problem(r, 422, "regle-non-respectee");
    if (regle)
        cr_assert_str_eq(json_string_value(json_object_get(r->json, "regle")), regle, HTTP_BODY,
                         r->body);
    json_t *list = json_object_get(r->json, "erreurs");
    size_t want = 0;
    while (codes[want])
        want++;
    cr_assert_eq(json_array_size(list), want, "erreurs: " HTTP_BODY, r->body);
    for (size_t i = 0; i < want; i++)
        cr_assert(fx_item(r, codes[i], pointer), "no erreurs[] item %s at %s: " HTTP_BODY, codes[i],
                  pointer, r->body);
}

size_t fx_journal_count(const char *type, const char *id, const char *action)
{
    struct fx_caller admin;
    char path[200];
    struct http_response r;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=%s&ressource_id=%s", type, id);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
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

struct held_call {
    const struct fx_caller *c;
    const char *method, *path, *body, *extra_header;
    struct http_response *r;
};

static void *held_call_run(void *arg)
{
    struct held_call *h = arg;
    fx_call(h->c, h->method, h->path, h->body, h->extra_header, h->r);
    return NULL;
}

static void pg_ok(PGconn *db, const char *sql, const char *param)
{
    const char *params[1] = {param};
    PGresult *res = PQexecParams(db, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(db));
    PQclear(res);
}

void fx_call_while_held(const struct fx_caller *c, const char *method, const char *path,
                        const char *body, const char *extra_header, const char *hold_sql,
                        const char *param, struct http_response *r)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *holder = PQconnectdb(url), *watch = PQconnectdb(url);
    cr_assert_eq(PQstatus(holder), CONNECTION_OK, "%s", PQerrorMessage(holder));
    cr_assert_eq(PQstatus(watch), CONNECTION_OK, "%s", PQerrorMessage(watch));
    pg_ok(holder, "BEGIN", NULL);
    pg_ok(holder, hold_sql, param);
    struct held_call h = {c, method, path, body, extra_header, r};
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, held_call_run, &h), 0);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(holder));
    const char *params[1] = {pid};
    int waiting = 0;
    for (int i = 0; i < 1000 && !waiting; i++) {
        PGresult *res = PQexecParams(watch,
                                     "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE $1::int = ANY (pg_blocking_pids(pid))",
                                     1, NULL, params, NULL, NULL, 0);
        waiting = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!waiting)
            usleep(10000);
    }
    cr_assert(waiting, "%s %s waits on the held row", method, path);
    pg_ok(holder, "COMMIT", NULL);
    pthread_join(thread, NULL);
    PQfinish(holder);
    PQfinish(watch);
}

void fx_expect_stale(const struct http_response *r, const char *detail, char current[64])
{
    http_expect_problem(r, 412, "precondition-echouee");
    const char *text = json_string_value(json_object_get(r->json, "detail"));
    cr_assert(text && strstr(text, detail), "the write's own check (\"%s\"): " HTTP_BODY, detail,
              r->body);
    const char *etag = http_header(r, "ETag");
    cr_assert_not_null(etag, "a 412 carries the current ETag: " HTTP_BODY, r->body);
    snprintf(current, 64, "%s", etag);
}

void fx_fiche_territoire(const char *id_pvd, const char *code_insee, const char *siren_commune,
                         const char *siren_epci, const char *seance_date,
                         struct fx_fiche_territoire *out)
{
    struct fx_caller admin;
    char body[1200], path[160];
    memset(out, 0, sizeof *out);
    fx_admin(&admin);
    fx_territoire(id_pvd, code_insee, siren_epci);
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", id_pvd);
    snprintf(out->code_insee, sizeof out->code_insee, "%s", code_insee);
    fx_organisation(siren_commune, "commune", "Commune", out->commune_org);
    fx_organisation(siren_epci, "epci", "Intercommunalité", out->epci_org);
    snprintf(path, sizeof path, "/api/v1/territoires/%s/axes-strategiques", id_pvd);
    fx_create(&admin, path,
              "{\"numero\":1,\"intitule\":\"Revitaliser le centre\",\"enjeux\":\"Vacance\"}",
              out->axe, NULL);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"%s\",\"presidence\":\"Le maire\",\"membres\":["
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Maire\"},"
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"Président\"},"
             "{\"qualite\":\"chef_projet\",\"nom\":\"Cheffe de projet\"},"
             "{\"qualite\":\"prefet\",\"nom\":\"Sous-préfet\"}]}",
             id_pvd, out->commune_org, out->epci_org);
    fx_create(&admin, "/api/v1/comites", body, out->comite, NULL);
    snprintf(path, sizeof path, "/api/v1/comites/%s/seances", out->comite);
    snprintf(body, sizeof body, "{\"date\":\"%s\"}", seance_date);
    fx_create(&admin, path, body, out->seance, NULL);
}

char *fx_fiche_body(const struct fx_fiche_territoire *t, const char *numero, const char *extra)
{
    char base[1200];
    snprintf(base, sizeof base,
             "{\"id_pvd\":\"%s\",\"numero\":\"%s\",\"intitule\":\"Réhabiliter les halles\","
             "\"axe_id\":\"%s\",\"description\":\"Halles du XIXe siècle\","
             "\"objectifs\":\"Rouvrir un marché couvert\",\"maitre_ouvrage_id\":\"%s\","
             "\"nature_depense\":\"investissement\",\"cout_total_ht_centimes\":10000000,"
             "\"localisation_commune_insee\":\"%s\"}",
             t->id_pvd, numero, t->axe, t->commune_org, t->code_insee);
    json_t *doc = json_loads(base, 0, NULL);
    cr_assert(doc, "fx_fiche_body: %s", base);
    if (extra && *extra) {
        size_t n = strlen(extra) + 3;
        char *wrapped = malloc(n);
        cr_assert(wrapped);
        snprintf(wrapped, n, "{%s}", extra);
        json_error_t e;
        json_t *more = json_loads(wrapped, 0, &e);
        cr_assert(more, "fx_fiche_body: extra members %s: %s", wrapped, e.text);
        json_object_update(doc, more);
        json_decref(more);
        free(wrapped);
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cr_assert(text);
    return text;
}

void fx_fiche(const struct fx_caller *c, const struct fx_fiche_territoire *t, const char *numero,
              const char *extra, char id[37], char etag[64])
{
    char *body = fx_fiche_body(t, numero, extra);
    fx_create(c, "/api/v1/fiches-action", body, id, etag);
    free(body);
}

size_t fx_journal_count_by(const struct fx_caller *c, const char *type)
{
    struct http_response r;
    char actor[700], encoded[2100], path[2300];
    fx_call(c, "GET", "/api/v1/moi", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(actor, sizeof actor, "oidc:%s|%s",
             json_string_value(json_object_get(r.json, "issuer")),
             json_string_value(json_object_get(r.json, "subject")));
    http_response_release(&r);
    size_t n = 0;
    for (const char *p = actor; *p && n + 4 < sizeof encoded; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.')
            encoded[n++] = (char)ch;
        else
            n += (size_t)snprintf(encoded + n, sizeof encoded - n, "%%%02X", ch);
    }
    encoded[n] = '\0';
    struct fx_caller admin;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=%s&acteur=%s&limite=1", type,
             encoded);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    size_t total = (size_t)json_integer_value(json_object_get(r.json, "total"));
    http_response_release(&r);
    return total;
}

void fx_adhesion_signee(const struct fx_fiche_territoire *t, const char *etat_org,
                        const struct fx_caller *agent, const struct fx_caller *elu,
                        const struct fx_caller *prefecture)
{
    struct http_response r;
    char body[1200], path[160], etag[64], id[37], sig[2][37], d[3][11];
    fx_day(-20, d[0]);
    fx_day(-10, d[1]);
    fx_day(-9, d[2]);
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"%s\",\"intitule\":\"Adhésion PVD\","
             "\"moyens_ingenierie\":\"Chef de projet\",\"signataires\":[{\"organisation_id\":"
             "\"%s\",\"role\":\"beneficiaire\",\"representant_nom\":\"Maire\","
             "\"representant_qualite\":\"Maire\",\"date_deliberation\":\"%s\"},"
             "{\"organisation_id\":\"%s\",\"role\":\"etat\",\"representant_nom\":\"Préfet\","
             "\"representant_qualite\":\"Préfet\"}]}",
             t->id_pvd, t->commune_org, d[0], etat_org);
    fx_call(agent, "POST", "/api/v1/conventions", body, NULL, &r);
    cr_assert_eq(r.status, 201, "adhésion: " HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", fx_str(r.json, "id"));
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    for (int i = 0; i < 2; i++)
        snprintf(sig[i], sizeof sig[i], "%s",
                 fx_str(json_array_get(json_object_get(r.json, "signataires"), (size_t)i), "id"));
    http_response_release(&r);
    char sign[2][200];
    for (int i = 0; i < 2; i++)
        snprintf(sign[i], sizeof sign[i], "{\"signataire_id\":\"%s\",\"date_signature\":\"%s\"}",
                 sig[i], d[i + 1]);
    const struct {
        const struct fx_caller *who;
        const char *suffix, *body;
    } steps[4] = {{elu, "/transitions", "{\"vers\":\"en_signature\"}"},
                  {elu, "/signatures", sign[0]},
                  {prefecture, "/signatures", sign[1]},
                  {elu, "/transitions", "{\"vers\":\"signee\"}"}};
    for (int i = 0; i < 4; i++) {
        char header[120];
        snprintf(path, sizeof path, "/api/v1/conventions/%s%s", id, steps[i].suffix);
        snprintf(header, sizeof header, "If-Match: %s", etag);
        fx_call(steps[i].who, "POST", path, steps[i].body, header, &r);
        cr_assert_eq(r.status, 200, "adhésion, step %d: " HTTP_BODY, i, r.body);
        snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
        http_response_release(&r);
    }
}

void fx_run_echeances_concurrently(int n)
{
    const char *bin = getenv("PVD_TEST_SERVER_BIN");
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(bin && url, "PVD_TEST_SERVER_BIN and PVD_TEST_DATABASE_URL must be set");
    /* n processes started together, each as a replica's sweep; all exit 0. */
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "pids=''; for i in $(seq 1 %d); do DATABASE_URL='%s' LOG_LEVEL=warn '%s' echeances & "
             "pids=\"$pids $!\"; done; rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc",
             n, url, bin);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void fx_run_echeances(void)
{
    const char *bin = getenv("PVD_TEST_SERVER_BIN");
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(bin && url, "PVD_TEST_SERVER_BIN and PVD_TEST_DATABASE_URL must be set");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' LOG_LEVEL=warn '%s' echeances", url, bin);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void fx_demande(const struct fx_caller *c, const char *dispositif, const char *demandeur,
                const char *fiche, const char *financeur, char id[37])
{
    char body[800], fin[80] = "";
    if (financeur)
        snprintf(fin, sizeof fin, "\"financeur_id\":\"%s\",", financeur);
    snprintf(body, sizeof body,
             "{\"dispositif\":\"%s\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\",%s"
             "\"annee_programmation\":2025,\"intitule\":\"Halles\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000}",
             dispositif, demandeur, fiche, fin);
    fx_create(c, "/api/v1/demandes-subvention", body, id, NULL);
}

bool fx_ids_has(char (*ids)[37], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}
