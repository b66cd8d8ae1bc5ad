/* Territoires PVD (issue 4 §1): created and updated by the ANCT or the
 * préfecture of their département (R43), every rule of domain/territoire.h
 * (R1, R2, R3, R42, id_pvd coherence) checked on each write; read by anyone
 * (the lauréats list is open data). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/territoire_repository.h"
#include "../../domain/convention.h"
#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "../referentiel_store.h"
#include "../xalloc.h"
#include "handlers.h"
#include "programme.h"
#include "territoires.h"

#define LIST_MAX 64 /* array members read from a body (400 beyond) */

static bool id_pvd_is_valid(const char *s)
{
    char r[4], d[4];
    return territoire_id_pvd_parse(s, r, d);
}

static void send_territoire(struct _u_response *res, int status, const char *stored_json)
{
    char *json = territoire_render(stored_json);
    respond_json_etag(res, status, json);
    free(json);
}

/* Reads a JSON array of codes at pointer /name (400 errors into errs). */
static size_t read_codes(const json_t *value, const char *name, bool (*valid)(const char *),
                         const char *expected, const char **out, struct field_errors *errs)
{
    char p[64];
    if (!json_is_array(value)) {
        field_errors_add(errs, name[0] == '/' ? name : "/", NULL, "type-invalide",
                         "Un tableau est attendu.");
        return 0;
    }
    if (json_array_size(value) > LIST_MAX) {
        field_errors_add(errs, name, NULL, "trop-d-elements", "Au plus %d éléments.", LIST_MAX);
        return 0;
    }
    size_t i, n = 0;
    json_t *item;
    json_array_foreach(value, i, item)
    {
        const char *s = json_string_value(item);
        if (!s || !valid(s)) {
            snprintf(p, sizeof p, "%s/%zu", name, i);
            field_errors_add(errs, p, NULL, s ? "format-invalide" : "type-invalide", "%s",
                             expected);
            continue;
        }
        out[n++] = s;
    }
    return n;
}

/* The content of a territoire being written, with the storage of the
 * default EPCIs. */
struct content {
    const char *id_pvd;
    const char *nom;
    char date_designation[11];
    bool has_designation;
    char date_sortie[11];
    bool has_sortie;
    const char *communes[LIST_MAX];
    size_t commune_count;
    const char *epcis[LIST_MAX];
    size_t epci_count;
    char default_epcis[TERRITOIRE_MAX_EPCIS][10];
};

/* Checks c against the referential (R1, R2, R3, R42, id_pvd coherence) and
 * R43 for the caller; false when an answer (403, 422) was sent. EPCIs default
 * to the communes' when none is given. */
static bool check_content(struct request_ctx *ctx, const struct referentiel *ref, struct content *c,
                          struct territoire_resolved *resolved, struct territoire_views *views)
{
    struct rule_report violations, warnings;
    rule_report_init(&violations);
    rule_report_init(&warnings);
    if (c->epci_count == 0) {
        size_t n = territoire_default_epcis(ref, c->communes, c->commune_count, c->default_epcis,
                                            TERRITOIRE_MAX_EPCIS);
        for (size_t i = 0; i < n; i++)
            c->epcis[i] = c->default_epcis[i];
        c->epci_count = n;
    }
    struct territoire_input in = {c->id_pvd, c->communes, c->commune_count, c->epcis,
                                  c->epci_count};
    territoire_check(ref, &in, resolved, &violations, &warnings);
    /* R43: the préfecture of one of its départements (never of its EPCIs'). */
    struct authz_target target =
        territoire_target(resolved, c->id_pvd, c->epcis, c->epci_count, views);
    if (authz_decide(&ctx->principal->authz, ACTION_TERRITOIRE_WRITE, &target) != AUTHZ_ALLOW) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Seuls l'ANCT et la préfecture du département du territoire peuvent le "
                        "créer ou le modifier (R43).");
        return false;
    }
    if (c->has_designation && c->has_sortie) {
        struct date d, s;
        if (date_parse(c->date_designation, &d) && date_parse(c->date_sortie, &s) &&
            date_compare(s, d) < 0)
            rule_report_add(&violations, "", "dates-incoherentes", "/date_sortie",
                            "La date de sortie précède la date de désignation.");
    }
    return programme_rules_hold_or_reply(ctx, &violations);
}

/* A commune may belong to one territoire only: 422 when one of c's belongs
 * to another than except (NULL on creation). false when an answer was sent. */
static bool check_owners(struct request_ctx *ctx, struct db_conn *conn, const struct content *c,
                         const char *except)
{
    char owners[8][24];
    size_t found = 0;
    struct db_error err = {{0}, {0}};
    enum db_result r = territoire_communes_owners(conn, c->communes, c->commune_count, except,
                                                  owners, 8, &found, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    if (found == 0)
        return true;
    struct rule_report violations;
    rule_report_init(&violations);
    for (size_t k = 0; k < found; k++) {
        char *colon = strchr(owners[k], ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (size_t i = 0; i < c->commune_count; i++) {
            if (strcmp(c->communes[i], owners[k]) != 0)
                continue;
            char p[32];
            snprintf(p, sizeof p, "/communes/%zu", i);
            rule_report_add(&violations, "", "commune-deja-dans-un-territoire", p,
                            "La commune %s appartient déjà au territoire %s.", owners[k],
                            colon + 1);
        }
    }
    programme_respond_violations(ctx, &violations);
    return false;
}

/* A territoire's body: the whole of a creation (POST), or a JSON Merge
 * Patch (has_* tell which members the patch gives). */
struct territoire_body {
    const char *id_pvd;
    const char *nom;
    bool has_nom;
    const json_t *communes;
    const json_t *epcis;
    struct date date_designation;
    bool has_designation;
    struct date date_sortie;
    bool has_sortie;
};

static const struct json_field territoire_fields[] = {
    {.name = "id_pvd",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct territoire_body, id_pvd),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .check = id_pvd_is_valid,
     .check_message = "Format pvd-<région>-<département>-<n> attendu (ex. pvd-27-58-1)."},
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct territoire_body, nom),
     .nullable = true,
     .min_length = 1,
     .max_length = 300,
     .present_at = JSON_PRESENT_AT(struct territoire_body, has_nom)},
    {.name = "communes",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct territoire_body, communes),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "epcis", .kind = JSON_FIELD_VALUE, .offset = offsetof(struct territoire_body, epcis)},
    {.name = "date_designation",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct territoire_body, date_designation),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct territoire_body, has_designation)},
    {.name = "date_sortie",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct territoire_body, date_sortie),
     .on_create = JSON_CREATE_ABSENT,
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct territoire_body, has_sortie)},
    JSON_FIELDS_END,
};

/* Stores the date d (year 0: none) into text / *has. */
static void set_date(struct date d, char text[11], bool *has)
{
    *has = d.year != 0;
    text[0] = '\0';
    if (*has)
        date_format(d, text);
}

/* The members the body gives (all those of a creation) onto c: communes and
 * epcis (400 errors into errs), id_pvd, nom and the dates (null: removed). */
static void body_onto_content(const struct territoire_body *in, struct content *c,
                              struct field_errors *errs)
{
    if (in->communes)
        c->commune_count = read_codes(in->communes, "/communes", insee_code_is_valid,
                                      "Code INSEE de commune attendu (5 caractères, ex. 58062).",
                                      c->communes, errs);
    if (in->epcis && !json_is_null(in->epcis))
        c->epci_count = read_codes(in->epcis, "/epcis", siren_format_is_valid,
                                   "SIREN d'EPCI attendu (9 chiffres).", c->epcis, errs);
    if (in->id_pvd)
        c->id_pvd = in->id_pvd;
    if (in->has_nom)
        c->nom = in->nom;
    if (in->has_designation)
        set_date(in->date_designation, c->date_designation, &c->has_designation);
    if (in->has_sortie)
        set_date(in->date_sortie, c->date_sortie, &c->has_sortie);
}

static bool luhn_or_reply(struct request_ctx *ctx, const struct content *c)
{
    struct rule_report violations;
    rule_report_init(&violations);
    for (size_t j = 0; j < c->epci_count; j++) {
        char p[32];
        snprintf(p, sizeof p, "/epcis/%zu", j);
        if (!siren_is_valid(c->epcis[j]))
            rule_report_add(&violations, "R42", "siren-invalide", p,
                            "Le SIREN %s est invalide (clé de Luhn).", c->epcis[j]);
    }
    if (!rule_report_any(&violations))
        return true;
    programme_respond_violations(ctx, &violations);
    return false;
}

/* R42's Luhn check of c's EPCIs, then check_content (which may set c's
 * default EPCIs) against the current referential snapshot, taken into *snap
 * (the caller releases it, also on false). false when an answer (422, 403,
 * 503) was sent. */
static bool content_or_reply(struct request_ctx *ctx, struct content *c,
                             struct referentiel_snapshot **snap,
                             struct territoire_resolved *resolved, struct territoire_views *views)
{
    if (!luhn_or_reply(ctx, c))
        return false;
    *snap = referentiel_store_acquire(ctx->app->referentiel);
    if (*snap == NULL) {
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
        return false;
    }
    return check_content(ctx, &(*snap)->ref, c, resolved, views);
}

struct write_work {
    const struct territoire_write *w;
    const struct journal_scope *scope;
    bool insert;
    int revision; /* of the row replaced (not insert) */
    struct territoire_row row;
};

static enum db_result write_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct write_work *w = ctx;
    territoire_row_release(&w->row);
    if (w->insert)
        return territoire_insert(tx, w->w, w->scope, &w->row, err);
    enum db_result r = territoire_replace(tx, w->w, w->revision, w->scope, &w->row, err);
    if (r == DB_STALE) { /* the row as it is now, for the 412's ETag (rolled back anyway) */
        struct db_error ignored;
        if (territoire_get(tx->conn, w->w->id_pvd, &w->row, &ignored) != DB_OK)
            territoire_row_release(&w->row);
    }
    return r;
}

/* Writes c (inserted, or replacing the row at revision) and answers
 * 201/200, 404, 409, 412. */
static void write_and_reply(struct request_ctx *ctx, const struct content *c,
                            const struct territoire_resolved *resolved,
                            struct territoire_views *views, int millesime, bool insert,
                            int revision)
{
    struct territoire_write w = {c->id_pvd,
                                 c->nom,
                                 c->has_designation && c->date_designation[0] ? c->date_designation
                                                                              : NULL,
                                 c->has_sortie && c->date_sortie[0] ? c->date_sortie : NULL,
                                 resolved->code_departement,
                                 resolved->code_region,
                                 millesime,
                                 c->communes,
                                 c->commune_count,
                                 c->epcis,
                                 c->epci_count};
    struct journal_scope scope = territoire_journal_scope(views);
    struct write_work work;
    memset(&work, 0, sizeof work);
    work.w = &w;
    work.scope = &scope;
    work.insert = insert;
    work.revision = revision;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       write_unit, &work, &err);
    char current[24] = "";
    if (r == DB_STALE && work.row.json) {
        char *json = territoire_render(work.row.json);
        http_etag(json, strlen(json), current);
        free(json);
    }
    const struct db_answers answers = {
        .not_found = "Aucun territoire n'a cet identifiant.",
        .conflict = "Un territoire porte déjà cet identifiant, ou l'une de ses communes "
                    "appartient déjà à un territoire.",
        .stale = "Le territoire a été modifié entre-temps : relisez-le.",
        .stale_etag = current[0] ? current : NULL};
    if (respond_db_outcome(ctx, r, &err, &answers)) {
        if (insert)
            http_set_location(ctx->res, "/api/v1/territoires/", c->id_pvd);
        send_territoire(ctx->res, insert ? 201 : 200, work.row.json);
    }
    territoire_row_release(&work.row);
}

void handle_create_territoire(struct request_ctx *ctx)
{
    json_t *body = NULL;
    struct territoire_body in;
    struct referentiel_snapshot *snap = NULL;
    struct db_conn *conn = NULL;
    struct content *c = xmalloc(sizeof *c);
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    memset(c, 0, sizeof *c);
    if (!json_body_read_or_reply(ctx, &body))
        goto out;
    json_spec_apply(body, territoire_fields, JSON_SPEC_CREATE, &in, "", &errs);
    body_onto_content(&in, c, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct territoire_resolved resolved;
    struct territoire_views views;
    if (!content_or_reply(ctx, c, &snap, &resolved, &views))
        goto out;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    struct territoire_row existing;
    memset(&existing, 0, sizeof existing);
    if (r == DB_OK)
        r = territoire_get(conn, c->id_pvd, &existing, &err);
    territoire_row_release(&existing);
    if (r == DB_OK) {
        respond_problem(ctx, PROBLEM_CONFLIT,
                        "Un territoire porte déjà cet identifiant : modifiez-le par PATCH.");
        goto out;
    }
    if (r != DB_NOT_FOUND) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    if (!check_owners(ctx, conn, c, NULL))
        goto out;
    db_pool_release(ctx->app->pool, conn);
    conn = NULL;
    write_and_reply(ctx, c, &resolved, &views, snap->ref.millesime, true, 0);
out:
    if (conn)
        db_pool_release(ctx->app->pool, conn);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    json_decref(body);
    free(c);
}

/* The path id_pvd (400 when malformed or with other parameters). */
static const char *id_pvd_or_reply(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    const char *id = query_path_param(ctx, "id_pvd");
    query_spec_apply(ctx->req, query_no_params, NULL, &errs);
    if (!id || !id_pvd_is_valid(id))
        field_errors_add(&errs, "/id_pvd", "id_pvd", "format-invalide",
                         "Format pvd-<région>-<département>-<n> attendu (ex. pvd-27-58-1).");
    if (errs.count == 0)
        return id;
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
    return NULL;
}

static bool load_territoire(struct request_ctx *ctx, const char *id, struct territoire_row *row)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = territoire_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    return respond_lookup_or_reply(ctx, r, &err, "Aucun territoire n'a cet identifiant.");
}

void handle_get_territoire(struct request_ctx *ctx)
{
    const char *id = id_pvd_or_reply(ctx);
    struct territoire_row row;
    if (!id || !load_territoire(ctx, id, &row))
        return;
    char etag[24];
    char *json = territoire_render(row.json);
    http_etag(json, strlen(json), etag);
    respond_conditional_json(ctx, json, strlen(json), etag);
    free(json);
    territoire_row_release(&row);
}

/* The current content of a stored representation into c (strings borrowed
 * from rep). */
static void content_of(const json_t *rep, struct content *c)
{
    size_t i;
    json_t *item;
    c->id_pvd = json_string_value(json_object_get(rep, "id_pvd"));
    c->nom = json_string_value(json_object_get(rep, "nom"));
    const char *d = json_string_value(json_object_get(rep, "date_designation"));
    if (d) {
        snprintf(c->date_designation, sizeof c->date_designation, "%s", d);
        c->has_designation = true;
    }
    const char *s = json_string_value(json_object_get(rep, "date_sortie"));
    if (s) {
        snprintf(c->date_sortie, sizeof c->date_sortie, "%s", s);
        c->has_sortie = true;
    }
    json_array_foreach(json_object_get(rep, "communes"), i, item)
    {
        if (c->commune_count < LIST_MAX)
            c->communes[c->commune_count++] =
                json_string_value(json_object_get(item, "code_insee"));
    }
    json_array_foreach(json_object_get(rep, "epcis"), i, item)
    {
        if (c->epci_count < LIST_MAX)
            c->epcis[c->epci_count++] = json_string_value(json_object_get(item, "siren"));
    }
}

static bool same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i] ? a[i] : "", b[i] ? b[i] : "") != 0)
            return false;
    return true;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void handle_patch_territoire(struct request_ctx *ctx)
{
    const char *id = id_pvd_or_reply(ctx);
    struct territoire_row row;
    if (!id || !load_territoire(ctx, id, &row))
        return;
    json_t *body = NULL, *rep = json_loads(row.json, 0, NULL);
    struct referentiel_snapshot *snap = NULL;
    struct db_conn *conn = NULL;
    struct content *c = xmalloc(sizeof *c), *before = xmalloc(sizeof *before);
    memset(c, 0, sizeof *c);
    memset(before, 0, sizeof *before);
    if (!rep)
        die_bug("territoire_representation is not JSON");
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_TERRITOIRE_WRITE, id,
                                       "Aucun territoire n'a cet identifiant.", &scope))
        goto out;
    char etag[24];
    char *current = territoire_render(row.json);
    http_etag(current, strlen(current), etag);
    free(current);
    if (!if_match_or_reply(ctx, etag))
        goto out;
    if (!json_body_read_or_reply(ctx, &body))
        goto out;
    struct territoire_body in;
    memset(&in, 0, sizeof in);
    FIELD_ERRORS(errs);
    json_spec_apply(body, territoire_fields, JSON_SPEC_PATCH, &in, "", &errs);
    content_of(rep, before);
    content_of(rep, c);
    body_onto_content(&in, c, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct territoire_resolved resolved;
    struct territoire_views views;
    if (!content_or_reply(ctx, c, &snap, &resolved, &views))
        goto out;
    if (same_text(c->nom, before->nom) &&
        same_text(c->has_designation ? c->date_designation : NULL,
                  before->has_designation ? before->date_designation : NULL) &&
        same_text(c->has_sortie ? c->date_sortie : NULL,
                  before->has_sortie ? before->date_sortie : NULL) &&
        same_list(c->communes, c->commune_count, before->communes, before->commune_count) &&
        same_list(c->epcis, c->epci_count, before->epcis, before->epci_count)) {
        send_territoire(ctx->res, 200, row.json); /* nothing changes: nothing written */
        goto out;
    }
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    if (!check_owners(ctx, conn, c, id))
        goto out;
    db_pool_release(ctx->app->pool, conn);
    conn = NULL;
    write_and_reply(ctx, c, &resolved, &views, snap->ref.millesime, false, row.revision);
out:
    if (conn)
        db_pool_release(ctx->app->pool, conn);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    json_decref(body);
    json_decref(rep);
    free(c);
    free(before);
    territoire_row_release(&row);
}

static bool etat_is_valid(const char *s)
{
    return strcmp(s, "designe") == 0 || strcmp(s, "adherent") == 0 ||
           strcmp(s, "conventionne") == 0 || strcmp(s, "sorti") == 0;
}

static bool region_is_valid(const char *s)
{
    return region_code_is_valid(s);
}

/* The query of GET /territoires. */
struct territoire_query {
    size_t limit;
    struct territoire_filter f;
    struct query_sync sync;
};
#define TQ(member) offsetof(struct territoire_query, member)
static const struct query_field territoire_query_fields[] = {
    QUERY_PAGE(struct territoire_query, limit),
    QUERY_CODE_FIELD("departement", TQ(f.departement), departement_code_is_valid,
                     "un code de département (01, 2A, 974…)"),
    QUERY_CODE_FIELD("region", TQ(f.region), region_is_valid, "un code de région (27, 04…)"),
    QUERY_CODE_FIELD("etat", TQ(f.etat), etat_is_valid, "designe, adherent, conventionne ou sorti"),
    QUERY_CODE_FIELD("commune", TQ(f.commune), insee_code_is_valid,
                     "un code INSEE de commune (58062…)"),
    QUERY_CODE_FIELD("epci", TQ(f.epci), siren_format_is_valid, "un SIREN d'EPCI de 9 chiffres"),
    QUERY_SYNC_FIELDS(struct territoire_query, sync),
    QUERY_FIELDS_END,
};

void handle_list_territoires(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1], canon[200];
    const char *after = NULL;
    struct territoire_query q;
    if (!query_or_reply(ctx, territoire_query_fields, &q))
        return;
    size_t limit = q.limit;
    struct territoire_filter f = q.f;
    f.sync = query_sync_list(&q.sync);
    snprintf(canon, sizeof canon, "d=%s|r=%s|e=%s|c=%s|p=%s", f.departement ? f.departement : "",
             f.region ? f.region : "", f.etat ? f.etat : "", f.commune ? f.commune : "",
             f.epci ? f.epci : "");
    uint32_t fp;
    if (!query_sync_cursor_or_reply(ctx, "territoires", cursor_fingerprint(canon), &q.sync,
                                    id_pvd_is_valid, key, &after, &fp))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = territoire_list(conn, &f, after, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    json_t *elements = json_loads(json, 0, NULL);
    free(json);
    if (!elements)
        die_bug("territoire list is not JSON");
    size_t i;
    json_t *item;
    json_array_foreach(elements, i, item)
    {
        territoire_add_avertissements(item);
    }
    char *decorated = json_dumps(elements, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(elements);
    if (!decorated)
        die_bug("json_dumps failed");
    respond_page(ctx, territoire_query_fields, decorated, "territoires", fp, last, more, total);
    free(decorated);
}
