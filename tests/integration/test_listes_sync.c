/* Reading lists by modification (issue #11 §1): `modifie_depuis`,
 * `tri=modifie_le` / `tri=-modifie_le` with keyset pages on (modifie_le, id),
 * and the ETag of every list page (304 on If-None-Match), over HTTP on
 * fiches-action, demandes-subvention and territoires.
 *
 * "Modified after an instant": the tests and the service run on one machine,
 * so the instant is the test's own clock, read after the creations were
 * answered and before the change is sent (every modifie_le is stamped by the
 * database while the request is served: migration 0023).
 *
 * Test data: Lot (46, région 76), territoires pvd-76-46-951 … -961 (communes
 * Alvignac 46003, Anglars-Juillac 46005, Arcambal 46007, Assier 46009,
 * Autoire 46011, Bach 46013, Bagnac-sur-Célé 46015, Baladou 46016, Bannes 46017, Le
 * Bastit 46018, Beauregard 46020), used by no other suite. Other suites create
 * territoires in 46 too: the territoires' checks look at this suite's own
 * ids only. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define MAX_IDS 16

/* Now (this machine's clock, UTC) as an RFC 3339 instant with µs, after a
 * 20 ms pause on each side so that no stamp of the database shares it. */
static void instant_now(char out[40])
{
    struct timespec pause = {0, 20 * 1000 * 1000}, ts;
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.19s.%06dZ", day, (int)(ts.tv_nsec / 1000) % 1000000);
    nanosleep(&pause, NULL);
}

/* Every element's `member` that c gets for path, following `suivant` page
 * after page, into ids (in the order received); asserts that no element
 * comes twice, that `total` is the same on every page and equals the count.
 * Returns the count; *pages the number of pages read. */
static size_t list_all(const struct fx_caller *c, const char *path, const char *member,
                       char (*ids)[40], int *pages)
{
    char url[700];
    size_t n = 0;
    long total = -1;
    snprintf(url, sizeof url, "%s", path);
    for (*pages = 1; *pages < 50; (*pages)++) {
        struct http_response r;
        fx_call(c, "GET", url, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, url, r.body);
        cr_assert_not_null(http_header(&r, "ETag"), "a list page without ETag");
        long t = (long)json_integer_value(json_object_get(r.json, "total"));
        cr_assert(total < 0 || total == t, "total changes between pages");
        total = t;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "elements"), i, e)
        {
            const char *id = fx_str(e, member);
            cr_assert_not_null(id);
            for (size_t k = 0; k < n; k++)
                cr_assert_str_neq(ids[k], id, "%s listed twice", id);
            cr_assert_lt(n, MAX_IDS);
            snprintf(ids[n++], 40, "%s", id);
        }
        const char *next = fx_str(r.json, "suivant");
        if (!next) {
            http_response_release(&r);
            break;
        }
        snprintf(url, sizeof url, "%s%scurseur=%s", path, strchr(path, '?') ? "&" : "?", next);
        http_response_release(&r);
    }
    cr_assert_eq((long)n, total, "%s: %zu listed, total %ld", path, n, total);
    return n;
}

/* ids[0..n) equals expect (NULL-terminated), in that order. */
static void assert_ids(char (*ids)[40], size_t n, const char *const *expect, const char *what)
{
    size_t k = 0;
    for (; expect[k]; k++) {
        cr_assert_lt(k, n, "%s: %zu elements, %s expected at %zu", what, n, expect[k], k);
        cr_assert_str_eq(ids[k], expect[k], "%s: element %zu", what, k);
    }
    cr_assert_eq(n, k, "%s: %zu elements, %zu expected", what, n, k);
}

/* The ETag of c's GET path (200 asserted) into etag. */
static void page_etag(const struct fx_caller *c, const char *path, char etag[64])
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    const char *e = http_header(&r, "ETag");
    cr_assert(e && e[0] == '"', "strong ETag expected: %s", e ? e : "(none)");
    snprintf(etag, 64, "%s", e);
    http_response_release(&r);
}

/* GET path as c with If-None-Match: etag; the status (304: no body). */
static long conditional(const struct fx_caller *c, const char *path, const char *etag)
{
    char header[100];
    struct http_response r;
    snprintf(header, sizeof header, "If-None-Match: %s", etag);
    fx_call(c, "GET", path, NULL, header, &r);
    long status = r.status;
    if (status == 304)
        cr_assert_eq(r.body_len, 0, "a 304 with a body");
    http_response_release(&r);
    return status;
}

/* PATCH path as c with body, under the object's current ETag (200). */
static void patch(const struct fx_caller *c, const char *path, const char *body)
{
    char etag[64], header[100];
    struct http_response r;
    fx_etag(path, etag);
    snprintf(header, sizeof header, "If-Match: %s", etag);
    fx_call(c, "PATCH", path, body, header, &r);
    cr_assert_eq(r.status, 200, "PATCH %s: " HTTP_BODY, path, r.body);
    http_response_release(&r);
}

/* The 400 of a bad query parameter: code item_code at pointer. */
static void expect_bad(const struct fx_caller *c, const char *path, const char *code,
                       const char *pointer, const char *item_code)
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    fx_expect_error(&r, 400, code, pointer, item_code);
    http_response_release(&r);
}

/* The `suivant` of c's first page of path (one is expected). */
static void first_cursor(const struct fx_caller *c, const char *path, char out[256])
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    const char *next = fx_str(r.json, "suivant");
    cr_assert_not_null(next, "%s: one page only", path);
    snprintf(out, 256, "%s", next);
    http_response_release(&r);
}

/* The sync checks on three objects a, b, c of one list (base: its path with
 * a filter that holds exactly them, member: their id's member), created in
 * that order: a is then changed by PATCH a_path with a_body, later with
 * a_body2 (another change). */
static void sync_checks(const struct fx_caller *who, const char *base, const char *member,
                        const char *a, const char *b, const char *c, const char *a_path,
                        const char *a_body, const char *a_body2)
{
    char ids[MAX_IDS][40], path[600], t0[40], cursor[256];
    int pages;
    size_t n;
    /* creation order, then a changed: ascending b, c, a; descending a, c, b */
    instant_now(t0);
    snprintf(path, sizeof path, "%s&modifie_depuis=%s", base, t0);
    n = list_all(who, path, member, ids, &pages);
    assert_ids(ids, n, (const char *const[]){NULL}, "nothing changed since t0");
    patch(who, a_path, a_body);
    n = list_all(who, path, member, ids, &pages);
    assert_ids(ids, n, (const char *const[]){a, NULL}, "changed since t0");

    snprintf(path, sizeof path, "%s&tri=-modifie_le&limite=1", base);
    n = list_all(who, path, member, ids, &pages);
    assert_ids(ids, n, (const char *const[]){a, c, b, NULL}, "tri=-modifie_le");
    cr_assert_eq(pages, 3);
    snprintf(path, sizeof path, "%s&tri=modifie_le&limite=2", base);
    n = list_all(who, path, member, ids, &pages);
    assert_ids(ids, n, (const char *const[]){b, c, a, NULL}, "tri=modifie_le");
    cr_assert_eq(pages, 2);

    /* a cursor is bound to its tri and its instant */
    snprintf(path, sizeof path, "%s&tri=-modifie_le&limite=1", base);
    first_cursor(who, path, cursor);
    snprintf(path, sizeof path, "%s&tri=modifie_le&limite=1&curseur=%s", base, cursor);
    expect_bad(who, path, "curseur-invalide", "/curseur", "curseur-invalide");
    snprintf(path, sizeof path, "%s&limite=1&curseur=%s", base, cursor);
    expect_bad(who, path, "curseur-invalide", "/curseur", "curseur-invalide");
    snprintf(path, sizeof path,
             "%s&tri=-modifie_le&modifie_depuis=2020-01-01T00:00:00Z&limite=1"
             "&curseur=%s",
             base, cursor);
    expect_bad(who, path, "curseur-invalide", "/curseur", "curseur-invalide");
    snprintf(path, sizeof path, "%s&limite=1", base);
    first_cursor(who, path, cursor);
    snprintf(path, sizeof path, "%s&tri=modifie_le&limite=1&curseur=%s", base, cursor);
    expect_bad(who, path, "curseur-invalide", "/curseur", "curseur-invalide");

    /* bad values name their parameter */
    static const char *const bad_instants[] = {"2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                               "2026-01-01",           "2026-01-01T24:00:00Z",
                                               "2026-01-01T10:00:00",  NULL};
    for (size_t i = 0; bad_instants[i]; i++) {
        snprintf(path, sizeof path, "%s&modifie_depuis=%s", base, bad_instants[i]);
        expect_bad(who, path, "parametre-invalide", "/modifie_depuis", "format-invalide");
    }
    snprintf(path, sizeof path, "%s&tri=cree_le", base);
    expect_bad(who, path, "parametre-invalide", "/tri", "format-invalide");
    /* an offset is an instant too: t0 written in UTC+02:00 */
    char local[40];
    memcpy(local, t0, 26);
    local[26] = '\0';
    int hour = (local[11] - '0') * 10 + (local[12] - '0');
    if (hour < 22) { /* same day in UTC+2 */
        hour += 2;
        local[11] = (char)('0' + hour / 10);
        local[12] = (char)('0' + hour % 10);
        snprintf(path, sizeof path, "%s&modifie_depuis=%s%%2B02:00", base, local);
        n = list_all(who, path, member, ids, &pages);
        assert_ids(ids, n, (const char *const[]){a, NULL}, "changed since t0 (UTC+2)");
    }

    /* ETag: the same page → 304; a change → 200 with another ETag */
    char etag[64], etag2[64];
    snprintf(path, sizeof path, "%s&tri=-modifie_le", base);
    page_etag(who, path, etag);
    cr_assert_eq(conditional(who, path, etag), 304);
    cr_assert_eq(conditional(who, path, "\"0000000000000000\""), 200);
    patch(who, a_path, a_body2);
    cr_assert_eq(conditional(who, path, etag), 200, "the page changed: 200 expected");
    page_etag(who, path, etag2);
    cr_assert_str_neq(etag, etag2);
    cr_assert_eq(conditional(who, path, etag2), 304);
}

Test(listes_sync, fiches_action)
{
    struct fx_fiche_territoire t;
    struct fx_caller admin;
    char a[37], b[37], c[37], base[120], a_path[120];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-76-46-951", "46003", "214600033", "200066371", "2025-06-12", &t);
    fx_fiche(&admin, &t, "S-1", NULL, a, NULL);
    fx_fiche(&admin, &t, "S-2", NULL, b, NULL);
    fx_fiche(&admin, &t, "S-3", NULL, c, NULL);
    snprintf(base, sizeof base, "/api/v1/fiches-action?id_pvd=%s", t.id_pvd);
    snprintf(a_path, sizeof a_path, "/api/v1/fiches-action/%s", a);
    sync_checks(&admin, base, "id", a, b, c, a_path, "{\"intitule\":\"Halle rénovée\"}",
                "{\"intitule\":\"Halle rénovée et couverte\"}");
}

Test(listes_sync, fiches_action_csv_by_modification)
{
    struct fx_fiche_territoire t;
    struct fx_caller admin;
    char a[37], b[37], t0[40], path[200], a_path[120];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-76-46-952", "46005", "214600058", "244600433", "2025-06-12", &t);
    fx_fiche(&admin, &t, "S-1", NULL, a, NULL);
    fx_fiche(&admin, &t, "S-2", NULL, b, NULL);
    instant_now(t0);
    snprintf(a_path, sizeof a_path, "/api/v1/fiches-action/%s", a);
    patch(&admin, a_path, "{\"intitule\":\"Halle rénovée\"}");
    struct http_response r;
    /* since t0: a only */
    snprintf(path, sizeof path, "/api/v1/fiches-action.csv?id_pvd=%s&modifie_depuis=%s", t.id_pvd,
             t0);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_not_null(strstr(r.body, a));
    cr_assert_null(strstr(r.body, b));
    http_response_release(&r);
    /* every fiche, newest change first: a before b */
    snprintf(path, sizeof path, "/api/v1/fiches-action.csv?id_pvd=%s&tri=-modifie_le", t.id_pvd);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    const char *pa = strstr(r.body, a), *pb = strstr(r.body, b);
    cr_assert(pa && pb && pa < pb, "a is the newest change");
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/fiches-action.csv?id_pvd=%s&tri=modifie_le", t.id_pvd);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    pa = strstr(r.body, a);
    pb = strstr(r.body, b);
    cr_assert(pa && pb && pb < pa, "b is the oldest change");
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/fiches-action.csv?modifie_depuis=hier");
    expect_bad(&admin, path, "parametre-invalide", "/modifie_depuis", "format-invalide");
}

/* A draft request of t's fiche by admin (201): its id. */
static void demande(const struct fx_caller *admin, const struct fx_fiche_territoire *t,
                    const char *fiche, char id[37])
{
    char body[600];
    snprintf(body, sizeof body,
             "{\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000}",
             t->commune_org, fiche);
    fx_create(admin, "/api/v1/demandes-subvention", body, id, NULL);
}

Test(listes_sync, demandes_subvention)
{
    struct fx_fiche_territoire t;
    struct fx_caller admin;
    char fiche[37], a[37], b[37], c[37], base[120], a_path[120];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-76-46-953", "46007", "214600074", "200023737", "2025-06-12", &t);
    fx_fiche(&admin, &t, "S-1", NULL, fiche, NULL);
    demande(&admin, &t, fiche, a);
    demande(&admin, &t, fiche, b);
    demande(&admin, &t, fiche, c);
    snprintf(base, sizeof base, "/api/v1/demandes-subvention?id_pvd=%s", t.id_pvd);
    snprintf(a_path, sizeof a_path, "/api/v1/demandes-subvention/%s", a);
    sync_checks(&admin, base, "id", a, b, c, a_path, "{\"intitule\":\"Halles couvertes\"}",
                "{\"intitule\":\"Halles couvertes et chauffées\"}");
}

/* The ids of ids[0..n) that are one of mine (NULL-terminated), in order,
 * into out; their count. */
static size_t only_mine(char (*ids)[40], size_t n, const char *const *mine, char (*out)[40])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; mine[j]; j++)
            if (strcmp(ids[i], mine[j]) == 0)
                snprintf(out[k++], 40, "%s", ids[i]);
    return k;
}

Test(listes_sync, territoires)
{
    struct fx_caller admin;
    fx_admin(&admin);
    const char *a = "pvd-76-46-954", *b = "pvd-76-46-955", *c = "pvd-76-46-956";
    fx_territoire(a, "46009", "200067361");
    fx_territoire(b, "46011", "200066371");
    fx_territoire(c, "46013", "244600532");
    const char *const mine[] = {a, b, c, NULL};
    char ids[MAX_IDS][40], own[MAX_IDS][40], path[300], t0[40], etag[64];
    int pages;
    size_t n;
    instant_now(t0);
    snprintf(path, sizeof path, "/api/v1/territoires?departement=46&modifie_depuis=%s", t0);
    n = only_mine(ids, list_all(&admin, path, "id_pvd", ids, &pages), mine, own);
    assert_ids(own, n, (const char *const[]){NULL}, "nothing of mine changed since t0");
    patch(&admin, "/api/v1/territoires/pvd-76-46-954", "{\"nom\":\"Assier et environs\"}");
    n = only_mine(ids, list_all(&admin, path, "id_pvd", ids, &pages), mine, own);
    assert_ids(own, n, (const char *const[]){a, NULL}, "changed since t0");
    n = only_mine(ids,
                  list_all(&admin, "/api/v1/territoires?departement=46&tri=-modifie_le&limite=1",
                           "id_pvd", ids, &pages),
                  mine, own);
    assert_ids(own, n, (const char *const[]){a, c, b, NULL}, "tri=-modifie_le");
    cr_assert_geq(pages, 3);
    n = only_mine(ids,
                  list_all(&admin, "/api/v1/territoires?departement=46&tri=modifie_le&limite=2",
                           "id_pvd", ids, &pages),
                  mine, own);
    assert_ids(own, n, (const char *const[]){b, c, a, NULL}, "tri=modifie_le");
    /* the default order (id_pvd) and its cursors are unchanged */
    n = only_mine(
        ids, list_all(&admin, "/api/v1/territoires?departement=46&limite=1", "id_pvd", ids, &pages),
        mine, own);
    assert_ids(own, n, (const char *const[]){a, b, c, NULL}, "by id_pvd");
    expect_bad(&admin, "/api/v1/territoires?modifie_depuis=2026-01-01T00:00:00%2B25:00",
               "parametre-invalide", "/modifie_depuis", "format-invalide");
    expect_bad(&admin, "/api/v1/territoires?tri=id_pvd", "parametre-invalide", "/tri",
               "format-invalide");
    /* the public list has its ETag too (no token) */
    struct http_response r;
    http_get("/api/v1/territoires?departement=46&modifie_depuis=2020-01-01T00:00:00Z", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(
        conditional(&admin,
                    "/api/v1/territoires?departement=46&modifie_depuis=2020-01-01T00:00:00Z", etag),
        304);
}

Test(listes_sync, a_signed_convention_moves_its_territoire)
{
    /* the territoire's etat comes from its conventions (territoire_etat): a
     * convention written moves the territoire's modifie_le (migration 0023) */
    struct fx_fiche_territoire t;
    struct fx_caller admin, agent, elu, prefecture;
    char etat_org[37], t0[40], path[200], ids[MAX_IDS][40];
    int pages;
    fx_admin(&admin);
    struct http_response r;
    char seance[11];
    fx_day(-30, seance);
    fx_fiche_territoire("pvd-76-46-957", "46015", "214600157", "200067361", seance, &t);
    fx_call(&admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture du Lot\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(etat_org, sizeof etat_org, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"214600157\"]}");
    fx_caller_with(&elu, "collectivite_elu", "{\"sirens\":[\"214600157\"]}");
    fx_caller_with(&prefecture, "prefecture_instructeur", "{\"departements\":[\"46\"]}");
    instant_now(t0);
    snprintf(path, sizeof path, "/api/v1/territoires?departement=46&modifie_depuis=%s", t0);
    size_t n = list_all(&admin, path, "id_pvd", ids, &pages);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_neq(ids[i], t.id_pvd, "the territoire did not change yet");
    fx_adhesion_signee(&t, etat_org, &agent, &elu, &prefecture);
    n = list_all(&admin, path, "id_pvd", ids, &pages);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        seen = seen || strcmp(ids[i], t.id_pvd) == 0;
    cr_assert(seen, "a signed convention changes the territoire's etat: it is listed");
}

Test(listes_sync, axes_and_indicateurs)
{
    /* an axe shows its indicateurs' count: an indicateur created moves the
     * axe's modifie_le (migration 0023); the indicateurs list reads by
     * modification like every list */
    struct fx_fiche_territoire t;
    struct fx_caller admin;
    char t0[40], path[300], ind_path[200], ids[MAX_IDS][40], i1[37], i2[37], i3[37], etag[64];
    int pages;
    size_t n;
    fx_admin(&admin);
    fx_fiche_territoire("pvd-76-46-958", "46016", "214600165", "200066371", "2025-06-12", &t);
    snprintf(ind_path, sizeof ind_path, "/api/v1/axes-strategiques/%s/indicateurs", t.axe);
    instant_now(t0);
    snprintf(path, sizeof path, "/api/v1/territoires/%s/axes-strategiques?modifie_depuis=%s",
             t.id_pvd, t0);
    n = list_all(&admin, path, "id", ids, &pages);
    assert_ids(ids, n, (const char *const[]){NULL}, "no axe changed since t0");
    fx_create(&admin, ind_path, "{\"type\":\"resultat\",\"libelle\":\"Vacance\",\"unite\":\"%\"}",
              i1, etag);
    n = list_all(&admin, path, "id", ids, &pages);
    assert_ids(ids, n, (const char *const[]){t.axe, NULL}, "an indicateur moves its axe");
    fx_create(&admin, ind_path,
              "{\"type\":\"mise_en_oeuvre\",\"libelle\":\"Commerces\",\"unite\":\"nb\"}", i2, etag);
    fx_create(&admin, ind_path,
              "{\"type\":\"resultat\",\"libelle\":\"Logements\",\"unite\":\"nb\"}", i3, etag);
    char one[200];
    snprintf(one, sizeof one, "/api/v1/indicateurs/%s", i1);
    patch(&admin, one, "{\"libelle\":\"Vacance commerciale\"}");
    snprintf(path, sizeof path, "%s?tri=-modifie_le&limite=2", ind_path);
    n = list_all(&admin, path, "id", ids, &pages);
    assert_ids(ids, n, (const char *const[]){i1, i3, i2, NULL}, "indicateurs, newest first");
    cr_assert_eq(pages, 2);
    snprintf(path, sizeof path, "%s?tri=modifie_le&limite=1", ind_path);
    n = list_all(&admin, path, "id", ids, &pages);
    assert_ids(ids, n, (const char *const[]){i2, i3, i1, NULL}, "indicateurs, oldest first");
    snprintf(path, sizeof path, "%s?tri=plus_recent", ind_path);
    expect_bad(&admin, path, "parametre-invalide", "/tri", "format-invalide");
    /* mesures are never changed: no modifie_depuis there */
    snprintf(path, sizeof path, "/api/v1/indicateurs/%s/mesures?modifie_depuis=%s", i1, t0);
    expect_bad(&admin, path, "parametre-invalide", "/modifie_depuis", "parametre-inconnu");
}

Test(listes_sync, comites_by_modification_within_the_perimeter)
{
    /* a comité shows its séances' count: a séance created moves it; the list
     * filters by the caller's perimeter in batches, in either order */
    struct fx_fiche_territoire a, b;
    struct fx_caller admin, prefecture, autre;
    char t0[40], path[300], ids[MAX_IDS][40], own[MAX_IDS][40], seance[37], sp[120];
    int pages;
    size_t n;
    fx_admin(&admin);
    /* Haute-Corse, where no other test writes: the pages' totals hold still
     * (the other tests of this file create comités in the Lot meanwhile). */
    fx_caller_with(&prefecture, "prefecture_instructeur", "{\"departements\":[\"2B\"]}");
    fx_caller_with(&autre, "prefecture_instructeur", "{\"departements\":[\"12\"]}");
    fx_fiche_territoire("pvd-94-2B-959", "2B002", "212000020", "200015162", "2025-06-12", &a);
    fx_fiche_territoire("pvd-94-2B-960", "2B009", "212000095", "200015162", "2025-06-12", &b);
    const char *const mine[] = {a.comite, b.comite, NULL};
    instant_now(t0);
    snprintf(sp, sizeof sp, "/api/v1/comites/%s/seances", a.comite);
    fx_create(&admin, sp, "{\"date\":\"2025-09-15\"}", seance, NULL);
    snprintf(path, sizeof path, "/api/v1/comites?modifie_depuis=%s", t0);
    n = only_mine(ids, list_all(&prefecture, path, "id", ids, &pages), mine, own);
    assert_ids(own, n, (const char *const[]){a.comite, NULL}, "a séance moves its comité");
    n = list_all(&autre, path, "id", ids, &pages);
    assert_ids(own, only_mine(ids, n, mine, own), (const char *const[]){NULL}, "outside");
    n = only_mine(
        ids, list_all(&prefecture, "/api/v1/comites?tri=-modifie_le&limite=1", "id", ids, &pages),
        mine, own);
    assert_ids(own, n, (const char *const[]){a.comite, b.comite, NULL}, "newest first");
    n = only_mine(
        ids, list_all(&prefecture, "/api/v1/comites?tri=modifie_le&limite=1", "id", ids, &pages),
        mine, own);
    assert_ids(own, n, (const char *const[]){b.comite, a.comite, NULL}, "oldest first");
}

/* The first page of path as c: 200, ordered by modifie_le (descending when
 * desc), as each element's representation shows it. */
static void assert_ordered(const struct fx_caller *c, const char *path, bool desc)
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    const char *previous = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        const char *m = fx_str(e, "modifie_le");
        cr_assert_not_null(m, "%s: an element without modifie_le", path);
        if (previous)
            cr_assert(desc ? strcmp(previous, m) >= 0 : strcmp(previous, m) <= 0, "%s: %s then %s",
                      path, previous, m);
        previous = m;
    }
    cr_assert_not_null(previous, "%s: an empty page checks nothing", path);
    http_response_release(&r);
}

Test(listes_sync, every_list_with_modifie_le_declares_both)
{
    struct fx_fiche_territoire t;
    struct fx_caller admin;
    char fiche[37], demande_id[37], lists[12][160], path[400];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-76-46-961", "46020", "214600207", "244600532", "2025-06-12", &t);
    fx_fiche(&admin, &t, "S-1", NULL, fiche, NULL);
    demande(&admin, &t, fiche, demande_id);
    size_t n = 0;
    snprintf(lists[n++], 160, "/api/v1/territoires?departement=46");
    snprintf(lists[n++], 160, "/api/v1/organisations?departement=46");
    snprintf(lists[n++], 160, "/api/v1/conventions?departement=46");
    snprintf(lists[n++], 160, "/api/v1/comites?id_pvd=%s", t.id_pvd);
    snprintf(lists[n++], 160, "/api/v1/comites/%s/seances?limite=10", t.comite);
    snprintf(lists[n++], 160, "/api/v1/territoires/%s/axes-strategiques?limite=10", t.id_pvd);
    snprintf(lists[n++], 160, "/api/v1/fiches-action?departement=46");
    snprintf(lists[n++], 160, "/api/v1/postes-chef-de-projet?departement=46");
    snprintf(lists[n++], 160, "/api/v1/demandes-subvention?departement=46");
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%.160s&modifie_depuis=31/12/2025", lists[i]);
        expect_bad(&admin, path, "parametre-invalide", "/modifie_depuis", "format-invalide");
        snprintf(path, sizeof path, "%.160s&tri=modifie", lists[i]);
        expect_bad(&admin, path, "parametre-invalide", "/tri", "format-invalide");
        if (strstr(lists[i], "conventions") || strstr(lists[i], "postes"))
            continue; /* none in this suite's territoires: nothing to order */
        snprintf(path, sizeof path, "%.160s&tri=-modifie_le&modifie_depuis=2020-01-01T00:00:00Z",
                 lists[i]);
        assert_ordered(&admin, path, true);
        snprintf(path, sizeof path, "%.160s&tri=modifie_le", lists[i]);
        assert_ordered(&admin, path, false);
    }
}
