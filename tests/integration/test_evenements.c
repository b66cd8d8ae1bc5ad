/* The event feed over HTTP (issue #11 §1): GET /api/v1/evenements and
 * /api/v1/public/evenements. Oldest first, typed, with the resource's
 * representation; a held older transaction holds newer events back until it
 * ends, then both come once and in order; four concurrent writers and a
 * reader following the feed: every committed event read exactly once, the
 * last one of each object equal to a re-read; perimeter (another
 * département's préfecture sees nothing); the public feed (a fiche while
 * public, its going private with no data); hostile parameters. Each test has
 * its own territoire in Tarn-et-Garonne (82), ids pvd-76-82-9xx. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define FEED   "/api/v1/evenements"
#define PUBLIC "/api/v1/public/evenements"

/* The feed's position now (depuis=maintenant), as c (NULL: public feed). */
static void feed_head(const struct fx_caller *c, char out[512])
{
    struct http_response r;
    if (c)
        fx_call(c, "GET", FEED "?depuis=maintenant", NULL, NULL, &r);
    else
        http_get(PUBLIC "?depuis=maintenant", &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, "%s", r.body);
    cr_assert(json_is_true(json_object_get(r.json, "a_jour")), "%s", r.body);
    const char *s = fx_str(r.json, "suivant");
    cr_assert(s && strlen(s) < 512, "%s", r.body);
    strcpy(out, s);
    http_response_release(&r);
}

/* Every event after *pos of these types, following `suivant` until a_jour,
 * appended to events (a JSON array); *pos advanced. c NULL: public. */
static void feed_follow(const struct fx_caller *c, const char *types, char pos[512], json_t *events)
{
    for (int page = 0; page < 1000; page++) {
        char path[1200];
        snprintf(path, sizeof path, "%s?limite=7&types=%s%s%s", c ? FEED : PUBLIC, types,
                 pos[0] ? "&apres=" : "", pos);
        struct http_response r;
        if (c)
            fx_call(c, "GET", path, NULL, NULL, &r);
        else
            http_get(path, &r);
        http_expect_json_ok(&r);
        json_t *elements = json_object_get(r.json, "elements");
        json_array_extend(events, elements);
        const char *next = fx_str(r.json, "suivant");
        cr_assert(next && strlen(next) < 512, "%s", r.body);
        strcpy(pos, next);
        bool done = json_is_true(json_object_get(r.json, "a_jour"));
        cr_assert(done == (http_header(&r, "Link") == NULL), "Link iff more: %s", r.body);
        http_response_release(&r);
        if (done)
            return;
    }
    cr_assert_fail("the feed never caught up");
}

/* Events about resource `id` in events. */
static size_t count_about(const json_t *events, const char *id)
{
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(events, i, e) n +=
        strcmp(fx_str(json_object_get(e, "ressource"), "id"), id) == 0;
    return n;
}

/* feed_follow until events holds at least n events about id: a_jour means
 * that nothing more is readable YET — another suite's older transaction,
 * still open, holds newer events back (by design). At most ~5 s. */
static void feed_follow_until(const struct fx_caller *c, const char *types, char pos[512],
                              json_t *events, const char *id, size_t n)
{
    for (int tries = 0; tries < 100; tries++) {
        feed_follow(c, types, pos, events);
        if (count_about(events, id) >= n)
            return;
        usleep(50000);
    }
}

/* Moves pos, taken before resource id was created, past its creation's
 * event: feed_head is the readable horizon, which another suite's open
 * transaction (a private server's import, say) may hold before a write that
 * has already committed. */
static void feed_past_creation(const struct fx_caller *c, const char *types, char pos[512],
                               const char *id)
{
    json_t *creation = json_array();
    feed_follow_until(c, types, pos, creation, id, 1);
    cr_assert_eq(count_about(creation, id), 1, "%s", json_dumps(creation, 0));
    json_decref(creation);
}

/* No event id twice in events. */
static void expect_each_once(const json_t *events)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(events, i, a) json_array_foreach(events, j, b) if (i < j) cr_assert(
        strcmp(fx_str(a, "id"), fx_str(b, "id")) != 0, "event %s read twice", fx_str(a, "id"));
}

static const char *event_type(const json_t *e)
{
    return fx_str(e, "type");
}

static const char *event_resource_id(const json_t *e)
{
    return fx_str(json_object_get(e, "ressource"), "id");
}

static void commune_agent(struct fx_caller *c, const char *siren_commune)
{
    char perimetre[80];
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren_commune);
    fx_caller_with(c, "collectivite_agent", perimetre);
}

/* PATCH /fiches-action/{id} with body, If-Match etag; etag updated. */
static void patch_fiche(const struct fx_caller *c, const char *id, const char *body, char etag[64])
{
    char path[96], if_match[96];
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", id);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    struct http_response r;
    fx_call(c, "PATCH", path, body, if_match, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    const char *e = http_header(&r, "ETag");
    cr_assert(e && strlen(e) < 64);
    strcpy(etag, e);
    http_response_release(&r);
}

Test(evenements, creation_then_change_in_order_with_the_object)
{
    struct fx_caller admin;
    fx_admin(&admin);
    char pos[512];
    feed_head(&admin, pos);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-901", "82001", "218200012", "248200099", "2026-01-15", &t);
    char id[37], etag[64];
    fx_fiche(&admin, &t, "F-1", NULL, id, etag);
    patch_fiche(&admin, id, "{\"intitule\":\"Halle aux grains\"}", etag);

    json_t *events = json_array();
    feed_follow_until(&admin, "fiche_action,territoire,comite", pos, events, id, 2);
    expect_each_once(events);
    json_t *mine = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        if (strcmp(event_resource_id(e), id) == 0 ||
            strcmp(event_resource_id(e), "pvd-76-82-901") == 0)
            json_array_append(mine, e);
    }
    char types[400] = "";
    json_array_foreach(mine, i, e)
    {
        strncat(types, event_type(e), sizeof types - strlen(types) - 2);
        strcat(types, " ");
    }
    cr_assert_eq(json_array_size(mine), 3, "territoire créé, fiche créée, modifiée: %s", types);
    cr_assert_str_eq(event_type(json_array_get(mine, 0)), "territoire.cree");
    const json_t *created = json_array_get(mine, 1), *changed = json_array_get(mine, 2);
    cr_assert_str_eq(event_type(created), "fiche_action.creee");
    cr_assert_str_eq(event_type(changed), "fiche_action.modifiee");
    const json_t *res = json_object_get(changed, "ressource");
    cr_assert_str_eq(fx_str(res, "type"), "fiche_action");
    char lien[96];
    snprintf(lien, sizeof lien, "/api/v1/fiches-action/%s", id);
    cr_assert_str_eq(fx_str(res, "lien"), lien);
    /* Both events carry the fiche as of its latest change (0027): the same
     * version and data; an event's id is its own. */
    cr_assert_eq(
        json_integer_value(json_object_get(res, "version")),
        json_integer_value(json_object_get(json_object_get(created, "ressource"), "version")));
    char version[24];
    snprintf(version, sizeof version, "%lld",
             (long long)json_integer_value(json_object_get(res, "version")));
    cr_assert_str_eq(fx_str(changed, "id"), version);
    cr_assert_str_neq(fx_str(created, "id"), fx_str(changed, "id"));
    cr_assert_str_eq(fx_str(json_object_get(changed, "donnees"), "intitule"), "Halle aux grains");
    cr_assert_str_eq(fx_str(json_object_get(created, "donnees"), "intitule"), "Halle aux grains");
    cr_assert_null(json_object_get(json_object_get(changed, "donnees"), "_delais"));

    /* Caught up: nothing more of this fiche (other suites write meanwhile). */
    json_t *none = json_array();
    feed_follow(&admin, "fiche_action", pos, none);
    json_array_foreach(none, i, e)
        cr_assert(strcmp(event_resource_id(e), id) != 0, "an event read twice");

    /* types: an event type alone. */
    char from[512];
    feed_head(&admin, from);
    patch_fiche(&admin, id, "{\"intitule\":\"Halle\"}", etag);
    json_t *only = json_array();
    feed_follow(&admin, "fiche_action.creee", from, only);
    json_array_foreach(only, i, e) cr_assert_str_eq(event_type(e), "fiche_action.creee");
    json_decref(only);
    json_decref(none);
    json_decref(mine);
    json_decref(events);
}

/* An open transaction of this session wrote a journal row (an organisation
 * changed by "systeme:test"); a later write commits first. */
static void exec_ok(PGconn *db, const char *sql, const char *param)
{
    const char *params[1] = {param};
    PGresult *res = PQexecParams(db, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQerrorMessage(db));
    PQclear(res);
}

/* A new session on the test database, in an open transaction. */
static PGconn *begin_in_another_session(void)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    exec_ok(db, "BEGIN", NULL);
    return db;
}

Test(evenements, a_transaction_committing_late_is_neither_skipped_nor_repeated)
{
    struct fx_caller admin;
    fx_admin(&admin);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-902", "82002", "218200020", "200066884", "2026-01-15", &t);
    char id[37], etag[64], pos[512];
    feed_head(&admin, pos);
    fx_fiche(&admin, &t, "F-1", NULL, id, etag);
    feed_past_creation(&admin, "fiche_action,organisation", pos, id);
    PGconn *db = begin_in_another_session();
    exec_ok(db,
            "INSERT INTO journal (acteur, action, ressource_type, ressource_id, avant, apres) "
            "VALUES ('systeme:test', 'organisation.modifier', 'organisation', $1, '{}', "
            "'{\"nom\": \"tenue\"}')",
            t.commune_org);
    /* The later write commits while the earlier transaction is open. */
    patch_fiche(&admin, id, "{\"intitule\":\"Après\"}", etag);
    json_t *first = json_array();
    feed_follow(&admin, "fiche_action,organisation", pos, first);
    size_t i;
    json_t *e;
    json_array_foreach(first, i, e) cr_assert(strcmp(event_resource_id(e), id) != 0,
                                              "an event behind an open older transaction "
                                              "was shown: the held one would be skipped");
    exec_ok(db, "COMMIT", NULL);
    PQfinish(db);
    json_t *second = json_array();
    feed_follow_until(&admin, "fiche_action,organisation", pos, second, id, 1);
    int held = -1, later = -1;
    json_array_foreach(second, i, e)
    {
        if (strcmp(event_resource_id(e), t.commune_org) == 0)
            held = (int)i;
        if (strcmp(event_resource_id(e), id) == 0) {
            cr_assert_eq(later, -1, "the later event came twice");
            later = (int)i;
        }
    }
    cr_assert(held >= 0 && later > held, "held (%d) then later (%d): %s", held, later,
              json_dumps(second, 0));
    json_decref(first);
    json_decref(second);
}

#define WRITERS 4
#define WRITES  12

struct writer {
    const struct fx_caller *c;
    char id[37], etag[64];
    int n;
};

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    for (int k = 0; k < WRITES; k++) {
        char body[96];
        snprintf(body, sizeof body, "{\"intitule\":\"Version %d de %d\"}", k, w->n);
        patch_fiche(w->c, w->id, body, w->etag);
    }
    return NULL;
}

Test(evenements, concurrent_writers_every_event_once_and_the_last_one_is_the_object)
{
    struct fx_caller admin;
    fx_admin(&admin);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-903", "82003", "218200038", "200066322", "2026-01-15", &t);
    struct writer w[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        char numero[8];
        snprintf(numero, sizeof numero, "F-%d", k + 1);
        w[k].c = &admin;
        w[k].n = k;
        fx_fiche(&admin, &t, numero, NULL, w[k].id, w[k].etag);
    }
    char pos[512];
    feed_head(&admin, pos);
    pthread_t threads[WRITERS];
    for (int k = 0; k < WRITERS; k++)
        cr_assert_eq(pthread_create(&threads[k], NULL, writer_run, &w[k]), 0);
    /* Read while they write, then once more after. */
    json_t *events = json_array();
    for (int round = 0; round < 20; round++)
        feed_follow(&admin, "fiche_action", pos, events);
    for (int k = 0; k < WRITERS; k++)
        pthread_join(threads[k], NULL);
    for (int k = 0; k < WRITERS; k++)
        feed_follow_until(&admin, "fiche_action", pos, events, w[k].id, WRITES);

    for (int k = 0; k < WRITERS; k++) {
        size_t count = 0, i;
        json_t *e, *last = NULL;
        long long version = 0;
        json_array_foreach(events, i, e)
        {
            /* Its creation may come too: committed before the head but by a
             * transaction younger than one still running then. */
            if (strcmp(event_resource_id(e), w[k].id) != 0 ||
                strcmp(event_type(e), "fiche_action.modifiee") != 0)
                continue;
            count++;
            long long v =
                json_integer_value(json_object_get(json_object_get(e, "ressource"), "version"));
            cr_assert_geq(v, version, "versions of one fiche never go back in feed order");
            version = v;
            last = e;
        }
        cr_assert_eq(count, WRITES, "fiche %d: %zu events for %d writes", k, count, WRITES);
        char path[96];
        snprintf(path, sizeof path, "/api/v1/fiches-action/%s", w[k].id);
        struct http_response r;
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_str_eq(fx_str(json_object_get(last, "donnees"), "intitule"),
                         fx_str(r.json, "intitule"));
        cr_assert_eq(
            json_integer_value(json_object_get(json_object_get(last, "donnees"), "version")),
            json_integer_value(json_object_get(r.json, "version")));
        http_response_release(&r);
    }
    expect_each_once(events);
    json_decref(events);
}

Test(evenements, a_prefecture_sees_its_departement_only)
{
    struct fx_caller admin, p82, p31;
    fx_admin(&admin);
    fx_caller_with(&p82, "prefecture_instructeur", "{\"departements\":[\"82\"]}");
    fx_caller_with(&p31, "prefecture_instructeur", "{\"departements\":[\"31\"]}");
    char pos82[512], pos31[512];
    feed_head(&p82, pos82);
    feed_head(&p31, pos31);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-904", "82004", "218200046", "248200065", "2026-01-15", &t);
    char id[37], etag[64];
    fx_fiche(&admin, &t, "F-1", NULL, id, etag);
    json_t *seen82 = json_array(), *seen31 = json_array();
    feed_follow_until(&p82, "fiche_action", pos82, seen82, id, 1);
    feed_follow(&p31, "fiche_action", pos31, seen31);
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(seen82, i, e) found = found || strcmp(event_resource_id(e), id) == 0;
    cr_assert(found, "the préfecture of 82 sees the fiche's creation");
    json_array_foreach(seen31, i, e)
        cr_assert(strcmp(event_resource_id(e), id) != 0, "the préfecture of 31 saw a fiche of 82");
    json_decref(seen82);
    json_decref(seen31);

    /* No token: 401 on the authenticated feed. */
    struct http_response r;
    http_get(FEED, &r);
    cr_assert_eq(r.status, 401, "%s", r.body);
    http_response_release(&r);
}

Test(evenements, the_public_feed_shows_a_fiche_while_public_and_its_going_private)
{
    struct fx_caller admin, agent;
    fx_admin(&admin);
    char pos[512];
    feed_head(NULL, pos);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-905", "82005", "218200053", "200066652", "2026-01-15", &t);
    commune_agent(&agent, "218200053");
    char priv[37], pub[37], etag_priv[64], etag_pub[64];
    fx_fiche(&agent, &t, "F-1", NULL, priv, etag_priv);
    fx_fiche(&agent, &t, "F-2", "\"public\": true", pub, etag_pub);
    patch_fiche(&agent, priv, "{\"intitule\":\"Toujours privée\"}", etag_priv);
    patch_fiche(&agent, pub, "{\"public\": false}", etag_pub);

    json_t *events = json_array();
    feed_follow_until(NULL, "fiche_action,territoire", pos, events, pub, 2);
    size_t i;
    json_t *e;
    int territoire = 0, pub_events = 0;
    json_array_foreach(events, i, e)
    {
        const char *rid = event_resource_id(e);
        cr_assert(strcmp(rid, priv) != 0, "a private fiche in the public feed");
        if (strcmp(rid, "pvd-76-82-905") == 0) {
            territoire++;
            cr_assert_str_eq(fx_str(json_object_get(e, "donnees"), "id_pvd"), "pvd-76-82-905");
        }
        if (strcmp(rid, pub) == 0) {
            pub_events++;
            /* Read now, the fiche is private: no data, the copy drops it. */
            cr_assert(json_is_null(json_object_get(e, "donnees")), "%s", json_dumps(e, 0));
        }
    }
    cr_assert_eq(territoire, 1);
    cr_assert_eq(pub_events, 2, "created public, then made private: %s", json_dumps(events, 0));

    /* Public again: its data is the public projection (no author). */
    patch_fiche(&agent, pub, "{\"public\": true}", etag_pub);
    json_t *more = json_array();
    feed_follow_until(NULL, "fiche_action", pos, more, pub, 1);
    const json_t *last = NULL;
    json_array_foreach(more, i, e) if (strcmp(event_resource_id(e), pub) == 0) last = e;
    cr_assert_not_null(last, "the fiche made public again is in the public feed");
    const json_t *data = json_object_get(last, "donnees");
    cr_assert_str_eq(fx_str(data, "id"), pub);
    cr_assert_null(json_object_get(data, "cree_par"));
    cr_assert_null(json_object_get(data, "public"));
    json_decref(more);
    json_decref(events);

    /* A position of the public feed is not one of the other. */
    char path[700];
    snprintf(path, sizeof path, FEED "?apres=%s", pos);
    struct http_response r;
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    fx_expect_error(&r, 400, "curseur-invalide", "/apres", "curseur-invalide");
    http_response_release(&r);
}

Test(evenements, hostile_parameters_are_400_never_5xx)
{
    struct fx_caller admin;
    fx_admin(&admin);
    static const struct {
        const char *query, *problem, *pointer, *item;
    } cases[] = {
        {"apres=xyz", "curseur-invalide", "/apres", "curseur-invalide"},
        {"apres=%00", "parametre-invalide", "/apres", NULL},
        {"types=fiche_action.volee", "parametre-invalide", "/types", "valeur-inconnue"},
        {"types=inconnu", "parametre-invalide", "/types", "valeur-inconnue"},
        {"types=FICHE", "parametre-invalide", "/types", "format-invalide"},
        {"types=a,,b", "parametre-invalide", "/types", "format-invalide"},
        {"types=a.b.c", "parametre-invalide", "/types", "format-invalide"},
        {"types=%27%3B--", "parametre-invalide", "/types", "format-invalide"},
        {"depuis=hier", "parametre-invalide", "/depuis", "format-invalide"},
        {"depuis=maintenant&apres=abc", "parametre-invalide", "/depuis",
         "parametres-incompatibles"},
        {"limite=0", "parametre-invalide", "/limite", NULL},
        {"limite=501", "parametre-invalide", "/limite", NULL},
        {"curseur=abc", "parametre-invalide", "/curseur", "parametre-inconnu"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int pub = 0; pub < 2; pub++) {
            char path[256];
            snprintf(path, sizeof path, "%s?%s", pub ? PUBLIC : FEED, cases[k].query);
            struct http_response r;
            if (pub)
                http_get(path, &r);
            else
                fx_call(&admin, "GET", path, NULL, NULL, &r);
            cr_assert_eq(r.status, 400, "%s: %ld %s", path, r.status, r.body);
            fx_expect_error(&r, 400, cases[k].problem, cases[k].pointer, cases[k].item);
            http_response_release(&r);
        }
    }
    /* A forged position with digits out of range: 400, not a database error. */
    struct http_response r;
    fx_call(&admin, "GET", FEED "?apres=djF8ZXZlbmVtZW50c3wwfDk5OTk5OTk5OTk5OTk5OTk5OTk5LjE", NULL,
            NULL, &r);
    cr_assert_eq(r.status, 400, "%s", r.body);
    http_response_release(&r);
}

/* Two changes of one fiche whose transaction ids are in the reverse order of
 * the changes (a keyed request takes its xid when it claims its key, before
 * it waits on the fiche's lock): the feed gives the newer change first, and
 * the older one's event must not carry older data (migration 0027). */
Test(evenements, a_change_whose_transaction_began_first_never_brings_back_older_data)
{
    struct fx_caller admin;
    fx_admin(&admin);
    struct fx_fiche_territoire t;
    fx_fiche_territoire("pvd-76-82-906", "82006", "218200061", "248200065", "2026-01-15", &t);
    char id[37], etag[64], pos[512];
    feed_head(&admin, pos);
    fx_fiche(&admin, &t, "F-1", NULL, id, etag);
    feed_past_creation(&admin, "fiche_action", pos, id);
    PGconn *db = begin_in_another_session();
    exec_ok(db, "SELECT pg_current_xact_id()", NULL); /* the older xid, taken first */
    patch_fiche(&admin, id, "{\"intitule\":\"Première\"}", etag);
    /* The newer change, written after the PATCH committed, under the older xid. */
    exec_ok(db,
            "INSERT INTO journal (acteur, action, ressource_type, ressource_id, avant, apres, "
            "territoires) SELECT 'systeme:test', 'fiche_action.modifier', 'fiche_action', $1, "
            "apres, apres || '{\"intitule\": \"Seconde\"}', territoires FROM journal WHERE "
            "ressource_id = $1 ORDER BY id DESC LIMIT 1",
            id);
    exec_ok(db, "COMMIT", NULL);
    PQfinish(db);

    json_t *events = json_array();
    feed_follow_until(&admin, "fiche_action", pos, events, id, 2);
    long long version = 0;
    int seen = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        if (strcmp(event_resource_id(e), id) != 0)
            continue;
        seen++;
        long long v =
            json_integer_value(json_object_get(json_object_get(e, "ressource"), "version"));
        cr_assert_geq(v, version, "an event went back to an older version");
        version = v;
        /* Whatever the order, the data is the newest change's. */
        cr_assert_str_eq(fx_str(json_object_get(e, "donnees"), "intitule"), "Seconde", "%s",
                         json_dumps(e, 0));
    }
    cr_assert_eq(seen, 2);
    json_decref(events);
}
