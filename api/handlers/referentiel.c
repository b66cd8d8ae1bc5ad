/* Public, read-only routes of the geographic referential (Licence Ouverte
 * data), served from the in-memory snapshot (referentiel_store.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../../domain/text.h"
#include "../cursor.h"
#include "../query.h"
#include "../xalloc.h"
#include "handlers.h"

#define Q_MAX_CHARS 100
#define Q_MAX_BYTES (4 * Q_MAX_CHARS)

/* Number of UTF-8 characters of s (continuation bytes not counted). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static struct referentiel_snapshot *snapshot_or_reply(struct request_ctx *ctx)
{
    struct referentiel_snapshot *snap = referentiel_store_acquire(ctx->app->referentiel);
    if (snap == NULL)
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
    return snap;
}

static bool params_or_reply(struct request_ctx *ctx, struct field_errors *errs)
{
    if (errs->count == 0)
        return true;
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE,
                           errs->count == 1 ? "Un paramètre est invalide."
                                            : "Plusieurs paramètres sont invalides.",
                           errs);
    return false;
}

/* Sends the page: elements[i] = rendered[out[i]]; cursor from last_key. */
static void send_page(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                      const struct query_field *spec, const struct referentiel_snapshot *snap,
                      const struct rendered *rendered, const size_t *out, size_t n,
                      const char *last_key, bool more, size_t total)
{
    struct collection c;
    char next[CURSOR_TEXT_MAX];
    bool has_next = more && last_key && cursor_encode(scope, fingerprint, last_key, next);
    collection_begin(&c);
    for (size_t i = 0; i < n; i++)
        rendered_collection_add(snap, &rendered[out[i]], &c);
    collection_end(&c, has_next ? next : NULL, total);
    if (has_next)
        query_set_next_link(ctx->req, ctx->res, spec, next);
    respond_list_body(ctx, c.buf, c.len);
    collection_release(&c);
}

static bool is_region_code(const char *s)
{
    return region_code_is_valid(s);
}

static bool is_departement_code(const char *s)
{
    return departement_code_is_valid(s);
}

static bool is_siren(const char *s)
{
    return siren_is_valid(s);
}

/* The département and région filters of the referentiel's lists. */
#define DEPARTEMENT_FIELD(off)                                                                     \
    QUERY_CODE_FIELD("departement", off, is_departement_code,                                      \
                     "un code de département (01, 2A, 974…)")
#define REGION_FIELD(off)                                                                          \
    QUERY_CODE_FIELD("region", off, is_region_code, "un code de région (2 ou 3 chiffres)")

/* Small reference lists (26 régions, 109 départements): one page, no cursor. */
static void send_all(struct request_ctx *ctx, const struct referentiel_snapshot *snap,
                     const struct rendered *rendered, const bool *keep, size_t count)
{
    struct collection c;
    size_t total = 0;
    collection_begin(&c);
    for (size_t i = 0; i < count; i++) {
        if (keep && !keep[i])
            continue;
        rendered_collection_add(snap, &rendered[i], &c);
        total++;
    }
    collection_end(&c, NULL, total);
    respond_list_body(ctx, c.buf, c.len);
    collection_release(&c);
}

void handle_list_regions(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    query_spec_apply(ctx->req, query_no_params, NULL, &errs);
    if (!params_or_reply(ctx, &errs))
        return;
    struct referentiel_snapshot *snap = snapshot_or_reply(ctx);
    if (snap == NULL)
        return;
    send_all(ctx, snap, snap->region, NULL, snap->ref.region_count);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
}

void handle_list_departements(struct request_ctx *ctx)
{
    static const struct query_field fields[] = {REGION_FIELD(0), QUERY_FIELDS_END};
    FIELD_ERRORS(errs);
    const char *region;
    query_spec_apply(ctx->req, fields, &region, &errs);
    if (!params_or_reply(ctx, &errs))
        return;
    struct referentiel_snapshot *snap = snapshot_or_reply(ctx);
    if (snap == NULL)
        return;
    const struct referentiel *ref = &snap->ref;
    bool *keep = xcalloc(ref->departement_count, sizeof *keep);
    for (size_t i = 0; i < ref->departement_count; i++)
        keep[i] = region == NULL || strcmp(ref->departements[i].code_region, region) == 0;
    send_all(ctx, snap, snap->departement, keep, ref->departement_count);
    free(keep);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
}

/* The query of GET /communes. */
struct commune_query {
    size_t limit;
    struct commune_filter f;
    const char *q;
};
#define MQ(member) offsetof(struct commune_query, member)
static const struct query_field commune_query_fields[] = {
    QUERY_PAGE(struct commune_query, limit),
    DEPARTEMENT_FIELD(MQ(f.departement)),
    REGION_FIELD(MQ(f.region)),
    QUERY_CODE_FIELD("epci", MQ(f.epci), is_siren, "un SIREN d'EPCI (9 chiffres, clé de Luhn)"),
    {.name = "population_min",
     .kind = QUERY_INT,
     .offset = MQ(f.population_min),
     .min = 0,
     .max = INT32_MAX},
    {.name = "population_max",
     .kind = QUERY_INT,
     .offset = MQ(f.population_max),
     .min = 0,
     .max = INT32_MAX},
    {.name = "q", .kind = QUERY_TEXT, .offset = MQ(q)},
    QUERY_FIELDS_END,
};

void handle_list_communes(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    struct commune_query query = {0, COMMUNE_FILTER_INIT, NULL};
    char q_plie[Q_MAX_BYTES + 1], key[CURSOR_KEY_MAX + 1], canon[256];
    const char *after;

    query_spec_apply(ctx->req, commune_query_fields, &query, &errs);
    size_t limit = query.limit;
    struct commune_filter f = query.f;
    const char *q = query.q;
    if (q) {
        size_t folded = (size_t)-1;
        if (strlen(q) <= Q_MAX_BYTES && utf8_chars(q) <= Q_MAX_CHARS)
            folded = text_fold(q, q_plie, sizeof q_plie);
        if (folded == (size_t)-1)
            field_errors_add(&errs, "/q", "q", "format-invalide",
                             "« q » doit être un texte UTF-8 de %d caractères au plus.",
                             Q_MAX_CHARS);
        else if (folded == 0)
            field_errors_add(&errs, "/q", "q", "recherche-vide",
                             "« q » doit contenir au moins une lettre ou un chiffre.");
        else
            f.q_plie = q_plie;
    }
    if (f.population_min >= 0 && f.population_max >= 0 && f.population_min > f.population_max)
        field_errors_add(&errs, "/population_min", "population_min", "incoherent",
                         "« population_min » doit être inférieur ou égal à « population_max ».");
    if (!params_or_reply(ctx, &errs))
        return;
    snprintf(canon, sizeof canon, "d=%s|r=%s|e=%s|min=%lld|max=%lld|q=%s",
             f.departement ? f.departement : "", f.region ? f.region : "", f.epci ? f.epci : "",
             (long long)f.population_min, (long long)f.population_max, f.q_plie ? f.q_plie : "");
    uint32_t fp = cursor_fingerprint(canon);
    if (!query_cursor_or_reply(ctx, "communes", fp, key, &after))
        return;
    struct referentiel_snapshot *snap = snapshot_or_reply(ctx);
    if (snap == NULL)
        return;
    const struct referentiel *ref = &snap->ref;
    size_t *out = xmalloc((limit + 1) * sizeof *out), total = 0;
    bool more = false;
    size_t n = referentiel_communes_page(ref, &f, after, limit, out, &more, &total);
    send_page(ctx, "communes", fp, commune_query_fields, snap, snap->commune_resume, out, n,
              n ? ref->communes[out[n - 1]].code_insee : NULL, more, total);
    free(out);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
}

/* A single object of the snapshot addressed by its official code. */
struct detail_route {
    const char *param;
    bool (*valid)(const char *code);
    const char *format_message;                                    /* 400: the code is malformed */
    const char *not_found;                                         /* 404 */
    long (*find)(const struct referentiel *ref, const char *code); /* index, or -1 */
    const struct rendered *(*rendered)(const struct referentiel_snapshot *snap);
};

static void get_detail(const struct detail_route *route, struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    const char *code = query_path_param(ctx, route->param);
    char pointer[32];
    snprintf(pointer, sizeof pointer, "/%s", route->param);
    query_spec_apply(ctx->req, query_no_params, NULL, &errs);
    if (code == NULL || !route->valid(code))
        field_errors_add(&errs, pointer, route->param, "format-invalide", "%s",
                         route->format_message);
    if (!params_or_reply(ctx, &errs))
        return;
    struct referentiel_snapshot *snap = snapshot_or_reply(ctx);
    if (snap == NULL)
        return;
    long index = route->find(&snap->ref, code);
    if (index < 0) {
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, route->not_found);
    } else {
        const struct rendered *r = &route->rendered(snap)[index];
        size_t len = rendered_len(snap, r);
        char *json = xmalloc(len + 1), etag[24];
        rendered_copy(snap, r, json);
        http_etag_format(r->etag_hash, etag);
        respond_conditional_json(ctx, json, len, etag);
        free(json);
    }
    referentiel_snapshot_release(ctx->app->referentiel, snap);
}

static long find_commune(const struct referentiel *ref, const char *code)
{
    const struct ref_commune *c = referentiel_find_commune(ref, code);
    return c ? (long)(c - ref->communes) : -1;
}

static const struct rendered *commune_details(const struct referentiel_snapshot *snap)
{
    return snap->commune_detail;
}

static long find_epci(const struct referentiel *ref, const char *siren)
{
    const struct ref_epci *e = referentiel_find_epci(ref, siren);
    return e ? (long)(e - ref->epcis) : -1;
}

static const struct rendered *epci_details(const struct referentiel_snapshot *snap)
{
    return snap->epci_detail;
}

void handle_get_commune(struct request_ctx *ctx)
{
    static const struct detail_route route = {
        "code_insee",
        insee_code_is_valid,
        "Code INSEE attendu : 5 caractères, 2A/2B pour la Corse (R42).",
        "Aucune commune actuelle n'a ce code INSEE dans le référentiel chargé.",
        find_commune,
        commune_details,
    };
    get_detail(&route, ctx);
}

/* The query of GET /epci. */
struct epci_query {
    size_t limit;
    const char *departement;
};
static const struct query_field epci_query_fields[] = {
    QUERY_PAGE(struct epci_query, limit),
    DEPARTEMENT_FIELD(offsetof(struct epci_query, departement)),
    QUERY_FIELDS_END,
};

void handle_list_epci(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    struct epci_query q;
    const char *after;
    char key[CURSOR_KEY_MAX + 1], canon[32];
    query_spec_apply(ctx->req, epci_query_fields, &q, &errs);
    if (!params_or_reply(ctx, &errs))
        return;
    size_t limit = q.limit;
    const char *departement = q.departement;
    snprintf(canon, sizeof canon, "d=%s", departement ? departement : "");
    uint32_t fp = cursor_fingerprint(canon);
    if (!query_cursor_or_reply(ctx, "epci", fp, key, &after))
        return;
    struct referentiel_snapshot *snap = snapshot_or_reply(ctx);
    if (snap == NULL)
        return;
    const struct referentiel *ref = &snap->ref;
    size_t *out = xmalloc((limit + 1) * sizeof *out), total = 0;
    bool more = false;
    size_t n = referentiel_epcis_page(ref, departement, after, limit, out, &more, &total);
    send_page(ctx, "epci", fp, epci_query_fields, snap, snap->epci_resume, out, n,
              n ? ref->epcis[out[n - 1]].siren : NULL, more, total);
    free(out);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
}

void handle_get_epci(struct request_ctx *ctx)
{
    static const struct detail_route route = {
        "siren",
        siren_is_valid,
        "SIREN attendu : 9 chiffres avec une clé de Luhn valide (R42).",
        "Aucun EPCI n'a ce SIREN dans le référentiel chargé.",
        find_epci,
        epci_details,
    };
    get_detail(&route, ctx);
}
