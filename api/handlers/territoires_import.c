/* Bulk import of lauréats (issue 4 §1): POST /api/v1/territoires/import,
 * body text/csv in the ANCT layouts (api/laureats_csv.h). Lines sharing an
 * id_pvd form one territoire (grouped candidatures); a territoire is taken
 * or refused whole, with every rule of domain/territoire.h and R43 checked
 * per territoire. Query: appliquer (default false: dry run, nothing written),
 * partiel (with appliquer=true: write the accepted territoires even when
 * lines are refused; without it, write in one transaction only when no line
 * is refused, else 422 regle-non-respectee carrying the report).
 * The answer reports every input line: cree, modifie, inchange or refuse
 * with a stable code and a French reason. Re-importing the same file writes
 * nothing (all inchange, no journal row). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../db/territoire_repository.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../laureats_csv.h"
#include "../query.h"
#include "../referentiel_store.h"
#include "../xalloc.h"
#include "handlers.h"
#include "programme.h"
#include "territoires.h"

enum outcome { OUTCOME_CREE, OUTCOME_MODIFIE, OUTCOME_INCHANGE, OUTCOME_REFUSE };
static const char *const outcome_names[] = {"cree", "modifie", "inchange", "refuse"};

/* The verdict of one input line. code and motif: NULL unless refused. */
struct line_verdict {
    enum outcome outcome;
    const char *code;       /* static */
    char *motif;            /* owned */
    json_t *avertissements; /* owned array (R2), NULL when none */
};

/* One territoire of the file: the lines sharing its id_pvd. */
struct group {
    const char *id_pvd;
    size_t rows[TERRITOIRE_MAX_COMMUNES]; /* indexes into csv.rows */
    size_t row_count;
    bool too_many;
    const char *communes[TERRITOIRE_MAX_COMMUNES];
    const char *epcis[TERRITOIRE_MAX_EPCIS];
    size_t epci_count;
    char default_epcis[TERRITOIRE_MAX_EPCIS][10];
    char nom[301];
    enum outcome outcome;
    int revision; /* of the existing territoire (modifie) */
    const struct territoire_content *existing;
    struct territoire_resolved resolved;
    struct territoire_views views;
};

struct import {
    struct laureats_csv csv;
    struct line_verdict *verdicts; /* one per csv row */
    struct group *groups;
    size_t group_count;
    struct territoire_contents contents;
    int millesime;
    size_t written;
};

static void refuse(struct line_verdict *v, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct line_verdict *v, const char *code, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    free(v->motif);
    v->outcome = OUTCOME_REFUSE;
    v->code = code;
    v->motif = xstrdup(text);
}

static bool query_flag(const struct _u_request *req, const char *name, bool *out,
                       struct field_errors *errs)
{
    const char *s = query_get(req, name);
    *out = false;
    if (!s)
        return true;
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        *out = strcmp(s, "true") == 0;
        return true;
    }
    char p[32];
    snprintf(p, sizeof p, "/%s", name);
    field_errors_add(errs, p, name, "format-invalide", "« %s » vaut true ou false.", name);
    return false;
}

static bool csv_media_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "text/csv", 8) != 0)
        return false;
    ct += 8;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* Appends s to the territoire's name (", " separated, at most 300 bytes, cut
 * at a UTF-8 boundary). */
static void name_add(char nom[301], const char *s)
{
    if (!s || !s[0])
        return;
    size_t len = strlen(nom), room = 300 - len;
    if (len && room > 2) {
        memcpy(nom + len, ", ", 2);
        len += 2;
        room -= 2;
    } else if (len) {
        return;
    }
    size_t n = strlen(s);
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(nom + len, s, n);
    nom[len + n] = '\0';
}

/* Groups the accepted lines by id_pvd, in order of first appearance. */
static void build_groups(struct import *im)
{
    im->groups = xmalloc((im->csv.row_count + 1) * sizeof *im->groups);
    for (size_t i = 0; i < im->csv.row_count; i++) {
        const struct laureat_csv_row *row = &im->csv.rows[i];
        if (!row->id_pvd[0])
            continue;
        struct group *g = NULL;
        for (size_t k = im->group_count; k-- > 0;)
            if (strcmp(im->groups[k].id_pvd, row->id_pvd) == 0) {
                g = &im->groups[k];
                break;
            }
        if (!g) {
            g = &im->groups[im->group_count++];
            memset(g, 0, sizeof *g);
            g->id_pvd = row->id_pvd;
        }
        if (g->row_count < TERRITOIRE_MAX_COMMUNES)
            g->rows[g->row_count++] = i;
        else
            g->too_many = true;
    }
}

/* The lines of g: which one first made it refused (for the others' reason). */
static void refuse_group(struct import *im, struct group *g, const char *code, const char *motif)
{
    size_t first = (size_t)-1;
    for (size_t k = 0; k < g->row_count; k++)
        if (im->verdicts[g->rows[k]].outcome == OUTCOME_REFUSE) {
            first = g->rows[k];
            break;
        }
    for (size_t k = 0; k < g->row_count; k++) {
        struct line_verdict *v = &im->verdicts[g->rows[k]];
        if (v->outcome == OUTCOME_REFUSE)
            continue;
        if (code)
            refuse(v, code, "%s", motif);
        else if (first == (size_t)-1)
            refuse(v, "territoire-refuse", "Ligne non importée : le territoire %s est refusé.",
                   g->id_pvd);
        else
            refuse(v, "territoire-refuse",
                   "Ligne non importée : le territoire %s est refusé en entier à cause de la "
                   "ligne %zu (%s).",
                   g->id_pvd, im->csv.rows[first].line, im->verdicts[first].code);
    }
    g->outcome = OUTCOME_REFUSE;
}

static bool joined_equals(const char *joined, const char *const *items, size_t n)
{
    const char *p = joined;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (i && *p++ != ',')
            return false;
        if (strncmp(p, items[i], len) != 0)
            return false;
        p += len;
    }
    return *p == '\0';
}

/* Checks one territoire of the file and sets its lines' verdicts. */
static void judge_group(struct import *im, struct group *g, const struct referentiel *ref,
                        const struct authz_principal *who)
{
    char region[4], departement[4];
    if (g->too_many) {
        refuse_group(im, g, "trop-de-communes", "Un territoire PVD compte au plus 32 communes.");
        return;
    }
    /* Every line refused by the parser refuses its territoire. */
    for (size_t k = 0; k < g->row_count; k++)
        if (im->verdicts[g->rows[k]].outcome == OUTCOME_REFUSE) {
            refuse_group(im, g, NULL, NULL);
            return;
        }
    if (!territoire_id_pvd_parse(g->id_pvd, region, departement)) {
        char motif[200];
        snprintf(motif, sizeof motif,
                 "L'identifiant %s n'a pas la forme pvd-<région>-<département>-<n> : il joint "
                 "plusieurs départements ; un territoire a un seul département, corrigez-le.",
                 g->id_pvd);
        refuse_group(im, g, "id-pvd-invalide", motif);
        return;
    }
    for (size_t k = 0; k < g->row_count; k++) {
        const struct laureat_csv_row *row = &im->csv.rows[g->rows[k]];
        g->communes[k] = row->insee_com;
        name_add(g->nom, row->lib_com);
        bool seen = !row->siren_epci[0];
        for (size_t j = 0; j < g->epci_count && !seen; j++)
            seen = strcmp(g->epcis[j], row->siren_epci) == 0;
        if (!seen && g->epci_count < TERRITOIRE_MAX_EPCIS)
            g->epcis[g->epci_count++] = row->siren_epci;
    }
    if (g->epci_count == 0) {
        g->epci_count = territoire_default_epcis(ref, g->communes, g->row_count, g->default_epcis,
                                                 TERRITOIRE_MAX_EPCIS);
        for (size_t j = 0; j < g->epci_count; j++)
            g->epcis[j] = g->default_epcis[j];
    }
    struct rule_report violations, warnings;
    rule_report_init(&violations);
    rule_report_init(&warnings);
    struct territoire_input in = {g->id_pvd, g->communes, g->row_count, g->epcis, g->epci_count};
    territoire_check(ref, &in, &g->resolved, &violations, &warnings);
    /* R2 warnings on the line of their commune. */
    for (size_t i = 0; i < warnings.count; i++) {
        const struct rule_violation *w = &warnings.items[i];
        size_t idx;
        if (sscanf(w->pointer, "/communes/%zu", &idx) != 1 || idx >= g->row_count)
            continue;
        struct line_verdict *lv = &im->verdicts[g->rows[idx]];
        char p[40];
        snprintf(p, sizeof p, "/lignes/%zu", im->csv.rows[g->rows[idx]].line);
        if (!lv->avertissements)
            lv->avertissements = xjson(json_array());
        json_array_append_new(lv->avertissements,
                              xjson(json_pack("{s:s, s:s, s:s, s:s}", "regle", w->regle, "code",
                                              w->code, "message", w->message, "pointeur", p)));
    }
    /* R43 first: a préfecture learns nothing of territoires outside. */
    struct authz_target target =
        territoire_target(&g->resolved, g->id_pvd, g->epcis, g->epci_count, &g->views);
    if (authz_decide(who, ACTION_TERRITOIRE_WRITE, &target) != AUTHZ_ALLOW) {
        char motif[200];
        snprintf(motif, sizeof motif,
                 "Le territoire %s (département %s) est hors de votre périmètre : seule la "
                 "préfecture de son département ou l'ANCT l'importe (R43).",
                 g->id_pvd, g->resolved.code_departement);
        refuse_group(im, g, "hors-perimetre", motif);
        return;
    }
    /* Violations: a commune's on its line, the territoire's on every line. */
    for (size_t i = 0; i < violations.count; i++) {
        const struct rule_violation *v = &violations.items[i];
        size_t idx;
        if (sscanf(v->pointer, "/communes/%zu", &idx) == 1 && idx < g->row_count) {
            struct line_verdict *lv = &im->verdicts[g->rows[idx]];
            if (lv->outcome != OUTCOME_REFUSE)
                refuse(lv, v->code, "%s", v->message);
        } else {
            for (size_t k = 0; k < g->row_count; k++) {
                struct line_verdict *lv = &im->verdicts[g->rows[k]];
                if (lv->outcome != OUTCOME_REFUSE)
                    refuse(lv, v->code, "%s", v->message);
            }
        }
    }
    /* A commune belongs to one territoire only. */
    for (size_t k = 0; k < g->row_count; k++) {
        const char *owner = territoire_contents_owner(&im->contents, g->communes[k]);
        struct line_verdict *lv = &im->verdicts[g->rows[k]];
        if (owner && strcmp(owner, g->id_pvd) != 0 && lv->outcome != OUTCOME_REFUSE)
            refuse(lv, "commune-deja-dans-un-territoire",
                   "La commune %s appartient déjà au territoire %s.", g->communes[k], owner);
    }
    if (rule_report_any(&violations) || g->outcome == OUTCOME_REFUSE) {
        refuse_group(im, g, NULL, NULL);
        return;
    }
    for (size_t k = 0; k < g->row_count; k++)
        if (im->verdicts[g->rows[k]].outcome == OUTCOME_REFUSE) {
            refuse_group(im, g, NULL, NULL);
            return;
        }
    g->existing = territoire_contents_find(&im->contents, g->id_pvd);
    if (!g->existing)
        g->outcome = OUTCOME_CREE;
    else if (joined_equals(g->existing->communes, g->communes, g->row_count) &&
             joined_equals(g->existing->epcis, g->epcis, g->epci_count))
        g->outcome = OUTCOME_INCHANGE;
    else {
        g->outcome = OUTCOME_MODIFIE;
        g->revision = g->existing->revision;
    }
    for (size_t k = 0; k < g->row_count; k++)
        im->verdicts[g->rows[k]].outcome = g->outcome;
}

static enum db_result write_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct import *im = ctx;
    im->written = 0;
    for (size_t i = 0; i < im->group_count; i++) {
        struct group *g = &im->groups[i];
        if (g->outcome != OUTCOME_CREE && g->outcome != OUTCOME_MODIFIE)
            continue;
        const struct territoire_content *e = g->existing;
        struct territoire_write w = {g->id_pvd,
                                     e ? e->nom : (g->nom[0] ? g->nom : NULL),
                                     e ? e->date_designation : NULL,
                                     e ? e->date_sortie : NULL,
                                     g->resolved.code_departement,
                                     g->resolved.code_region,
                                     im->millesime,
                                     g->communes,
                                     g->row_count,
                                     g->epcis,
                                     g->epci_count};
        struct journal_scope scope = territoire_journal_scope(&g->views);
        struct territoire_row row;
        enum db_result r = g->outcome == OUTCOME_CREE
                               ? territoire_insert(tx, &w, &scope, &row, err)
                               : territoire_replace(tx, &w, g->revision, &scope, &row, err);
        territoire_row_release(&row);
        if (r != DB_OK)
            return r;
        im->written++;
    }
    return DB_OK;
}

/* The report: every line, the totals. A new JSON object. */
static json_t *report(const struct import *im, bool appliquer, bool partiel, bool applique)
{
    size_t counts[4] = {0, 0, 0, 0}, territoires[4] = {0, 0, 0, 0};
    json_t *lines = xjson(json_array()), *empty = xjson(json_array());
    for (size_t i = 0; i < im->csv.row_count; i++) {
        const struct laureat_csv_row *row = &im->csv.rows[i];
        const struct line_verdict *v = &im->verdicts[i];
        counts[v->outcome]++;
        json_t *l = xjson(
            json_pack("{s:I, s:s?, s:s, s:s, s:s?, s:s?, s:O}", "ligne", (json_int_t)row->line,
                      "id_pvd", row->id_pvd[0] ? row->id_pvd : NULL, "insee_com", row->insee_com,
                      "resultat", outcome_names[v->outcome], "code", v->code, "motif", v->motif,
                      "avertissements", v->avertissements ? v->avertissements : empty));
        json_array_append_new(lines, l);
    }
    json_decref(empty);
    for (size_t i = 0; i < im->group_count; i++)
        territoires[im->groups[i].outcome]++;
    return xjson(json_pack(
        "{s:b, s:b, s:b, s:i, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:o}",
        "appliquer", appliquer, "partiel", partiel, "applique", applique, "millesime",
        im->millesime, "lignes_totaux", "lignes", (json_int_t)im->csv.row_count, "cree",
        (json_int_t)counts[OUTCOME_CREE], "modifie", (json_int_t)counts[OUTCOME_MODIFIE],
        "inchange", (json_int_t)counts[OUTCOME_INCHANGE], "refuse",
        (json_int_t)counts[OUTCOME_REFUSE], "territoires_totaux", "cree",
        (json_int_t)territoires[OUTCOME_CREE], "modifie", (json_int_t)territoires[OUTCOME_MODIFIE],
        "inchange", (json_int_t)territoires[OUTCOME_INCHANGE], "refuse",
        (json_int_t)territoires[OUTCOME_REFUSE], "lignes", lines));
}

static void send_json(struct _u_response *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        die_bug("json_dumps failed");
    respond_json_raw(res, status, text, strlen(text));
    free(text);
}

/* 422 regle-non-respectee: nothing written because lines were refused; the
 * first refused lines in erreurs (pointer /lignes/<line>), the whole report
 * in rapport. */
static void send_refused(struct request_ctx *ctx, const struct _u_request *req,
                         struct _u_response *res, const struct import *im, json_t *rapport,
                         size_t refused)
{
    FIELD_ERRORS(errs);
    for (size_t i = 0; i < im->csv.row_count; i++) {
        const struct line_verdict *v = &im->verdicts[i];
        if (v->outcome != OUTCOME_REFUSE)
            continue;
        char p[40];
        snprintf(p, sizeof p, "/lignes/%zu", im->csv.rows[i].line);
        field_errors_add(&errs, p, NULL, v->code, "%s", v->motif);
    }
    char detail[200];
    snprintf(detail, sizeof detail,
             "%zu ligne(s) refusée(s) : rien n'a été importé (voir « rapport » ; "
             "partiel=true importe les lignes acceptées).",
             refused);
    struct problem p = {
        PROBLEM_REGLE_NON_RESPECTEE, detail, NULL, req->url_path, ctx->request_id, &errs};
    json_t *body = problem_to_json(&p, ctx->app->config.problem_base_url);
    json_object_set(body, "rapport", rapport);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!text)
        die_bug("json_dumps failed");
    ulfius_set_binary_body_response(res, 422, text, strlen(text));
    free(text);
    u_map_put(res->map_header, "Content-Type", "application/problem+json");
    ctx->problem = PROBLEM_REGLE_NON_RESPECTEE;
    ctx->has_problem = true;
}

static void import_release(struct import *im)
{
    for (size_t i = 0; im->verdicts && i < im->csv.row_count; i++) {
        free(im->verdicts[i].motif);
        json_decref(im->verdicts[i].avertissements);
    }
    free(im->verdicts);
    free(im->groups);
    territoire_contents_release(&im->contents);
    laureats_csv_release(&im->csv);
}

void handle_import_territoires(const struct _u_request *req, struct _u_response *res,
                               struct request_ctx *ctx)
{
    static const char *const known[] = {"appliquer", "partiel", NULL};
    FIELD_ERRORS(errs);
    bool appliquer, partiel;
    query_check_known(req, known, &errs);
    query_flag(req, "appliquer", &appliquer, &errs);
    query_flag(req, "partiel", &partiel, &errs);
    if (!query_errors_or_reply(ctx, req, res, &errs))
        return;
    /* Only roles that may write some territoire import (R43 is then per line). */
    const struct authz_principal *who = &ctx->principal->authz;
    const char *own[PERIMETER_MAX];
    for (size_t i = 0; i < who->perimeter.departement_count && i < PERIMETER_MAX; i++)
        own[i] = who->perimeter.departements[i];
    struct authz_target probe = {.departements = own,
                                 .departement_count = who->perimeter.departement_count};
    if (authz_decide(who, ACTION_TERRITOIRE_WRITE, &probe) != AUTHZ_ALLOW) {
        respond_problem(ctx, req, res, PROBLEM_INTERDIT,
                        "Seuls l'ANCT et les préfectures de département importent des lauréats.");
        return;
    }
    if (!csv_media_type(u_map_get_case(req->map_header, "Content-Type"))) {
        respond_problem(ctx, req, res, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                        "Le fichier des lauréats s'envoie en text/csv.");
        return;
    }
    struct import im;
    memset(&im, 0, sizeof im);
    struct referentiel_snapshot *snap = NULL;
    enum laureats_csv_status st =
        laureats_csv_parse(req->binary_body, req->binary_body_length, &im.csv);
    if (st == LAUREATS_CSV_TROP_VOLUMINEUX) {
        respond_problem(ctx, req, res, PROBLEM_CORPS_TROP_VOLUMINEUX, im.csv.error);
        goto out;
    }
    if (st != LAUREATS_CSV_OK) {
        field_errors_add(&errs, "", NULL, im.csv.error_code, "%s", im.csv.error);
        respond_problem_fields(ctx, req, res, PROBLEM_REQUETE_INVALIDE,
                               "Fichier CSV des lauréats illisible.", &errs);
        goto out;
    }
    snap = referentiel_store_acquire(ctx->app->referentiel);
    if (snap == NULL) {
        respond_unavailable(ctx, req, res, "Référentiel des communes non chargé.");
        goto out;
    }
    im.millesime = snap->ref.millesime;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = territoire_contents_load(conn, &im.contents, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, req, res, r, &err);
        goto out;
    }
    im.verdicts = xmalloc((im.csv.row_count + 1) * sizeof *im.verdicts);
    memset(im.verdicts, 0, (im.csv.row_count + 1) * sizeof *im.verdicts);
    for (size_t i = 0; i < im.csv.row_count; i++)
        if (!im.csv.rows[i].ok)
            refuse(&im.verdicts[i], im.csv.rows[i].code, "%s", im.csv.rows[i].motif);
    build_groups(&im);
    for (size_t i = 0; i < im.group_count; i++)
        judge_group(&im, &im.groups[i], &snap->ref, who);
    size_t refused = 0, to_write = 0;
    for (size_t i = 0; i < im.csv.row_count; i++)
        refused += im.verdicts[i].outcome == OUTCOME_REFUSE;
    for (size_t i = 0; i < im.group_count; i++)
        to_write += im.groups[i].outcome == OUTCOME_CREE || im.groups[i].outcome == OUTCOME_MODIFIE;
    if (appliquer && refused > 0 && !partiel) {
        json_t *rapport = report(&im, appliquer, partiel, false);
        send_refused(ctx, req, res, &im, rapport, refused);
        json_decref(rapport);
        goto out;
    }
    bool applique = false;
    if (appliquer && to_write > 0) {
        struct journal_actor actor = auth_journal_actor(ctx);
        r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor, write_unit, &im,
                            &err);
        if (r == DB_CONFLICT) {
            respond_problem(ctx, req, res, PROBLEM_CONFLIT,
                            "Des territoires ont changé pendant l'import : relancez-le.");
            goto out;
        }
        if (r != DB_OK) {
            respond_db_error(ctx, req, res, r, &err);
            goto out;
        }
        applique = true;
    }
    json_t *body = report(&im, appliquer, partiel, applique);
    send_json(res, 200, body);
    json_decref(body);
out:
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    import_release(&im);
}
