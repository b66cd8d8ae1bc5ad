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
#include <stdint.h>
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

#define NO_ROW UINT32_MAX

/* The verdict of one input line. Memory (issue 8 §1): a few dozen bytes per
 * line, the reason shared with the parser's when it refused the line; the
 * report is written as text from these, never as a JSON tree. */
struct line_verdict {
    enum outcome outcome;
    uint32_t next;     /* next line of the same territoire (index into csv.rows), NO_ROW */
    const char *code;  /* static; NULL unless refused */
    const char *motif; /* NULL unless refused; owned when motif_owned */
    bool motif_owned;
    char *avertissements; /* owned: JSON objects joined by ',' (R2, epci-modifie), NULL */
};

/* One territoire of the file: the lines sharing its id_pvd (a chain through
 * line_verdict.next). Small: its content is assembled again when needed. */
struct group {
    const char *id_pvd; /* borrowed from its first line */
    uint32_t first, last;
    uint32_t row_count;
    enum outcome outcome;
    int revision; /* of the existing territoire (modifie) */
    const struct territoire_content *existing;
};

/* What a group is made of, assembled from its lines and the referential on
 * the stack (assemble): never kept per group. */
struct group_work {
    size_t rows[TERRITOIRE_MAX_COMMUNES]; /* indexes into csv.rows */
    const char *communes[TERRITOIRE_MAX_COMMUNES];
    const char *epcis[TERRITOIRE_MAX_EPCIS];
    size_t epci_count;
    /* The line's EPCI replaced by the commune's current one (epci-modifie). */
    const struct ref_epci *epci_actuel[TERRITOIRE_MAX_COMMUNES];
    char default_epcis[TERRITOIRE_MAX_EPCIS][10];
    char nom[301];
    struct territoire_resolved resolved;
    struct territoire_views views;
};

struct import {
    struct laureats_csv csv;
    struct line_verdict *verdicts; /* one per csv row */
    struct group *groups;
    size_t group_count;
    struct territoire_contents contents;
    const struct referentiel *ref;
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
    if (v->motif_owned)
        free((char *)v->motif);
    v->outcome = OUTCOME_REFUSE;
    v->code = code;
    v->motif = xstrdup(text);
    v->motif_owned = true;
}

/* ---- JSON text, written directly (the report) ----------------------------- */

struct text {
    char *p;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->cap - t->len <= n) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= n)
            cap *= 2;
        t->p = xrealloc(t->p, cap);
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_lit(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_fmt(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_fmt(struct text *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        die_bug("report number too long");
    text_add(t, buf, (size_t)n);
}

/* s (valid UTF-8: the parser's strings, the service's messages) as a JSON
 * string, or null when s is NULL. */
static void text_str(struct text *t, const char *s)
{
    if (!s) {
        text_lit(t, "null");
        return;
    }
    text_add(t, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        text_add(t, run, (size_t)(s - run));
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        text_lit(t, esc);
        run = s + 1;
    }
    text_add(t, run, (size_t)(s - run));
    text_add(t, "\"", 1);
}

/* Appends one warning object to v->avertissements. */
static void warn_line(struct line_verdict *v, const char *regle, const char *code,
                      const char *message, size_t line)
{
    struct text t = {NULL, 0, 0};
    if (v->avertissements) {
        text_lit(&t, v->avertissements);
        text_lit(&t, ",");
        free(v->avertissements);
    }
    text_lit(&t, "{\"regle\":");
    text_str(&t, regle);
    text_lit(&t, ",\"code\":");
    text_str(&t, code);
    text_lit(&t, ",\"message\":");
    text_str(&t, message);
    text_fmt(&t, ",\"pointeur\":\"/lignes/%zu\"}", line);
    v->avertissements = t.p;
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

/* FNV-1a of an id_pvd. */
static uint32_t id_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Groups the lines that have an id_pvd, in order of first appearance (a
 * transient open-addressing index by id_pvd: linear time). */
static void build_groups(struct import *im)
{
    size_t slots = 64;
    while (slots < 2 * im->csv.row_count)
        slots *= 2;
    uint32_t *index = xmalloc(slots * sizeof *index);
    for (size_t i = 0; i < slots; i++)
        index[i] = NO_ROW;
    size_t cap = 0;
    for (size_t i = 0; i < im->csv.row_count; i++) {
        const struct laureat_csv_row *row = &im->csv.rows[i];
        im->verdicts[i].next = NO_ROW;
        if (!row->id_pvd[0])
            continue;
        size_t h = id_hash(row->id_pvd) & (slots - 1);
        while (index[h] != NO_ROW && strcmp(im->groups[index[h]].id_pvd, row->id_pvd) != 0)
            h = (h + 1) & (slots - 1);
        struct group *g;
        if (index[h] == NO_ROW) {
            if (im->group_count == cap) {
                cap = cap ? 2 * cap : 256;
                im->groups = xrealloc(im->groups, cap * sizeof *im->groups);
            }
            index[h] = (uint32_t)im->group_count;
            g = &im->groups[im->group_count++];
            memset(g, 0, sizeof *g);
            g->id_pvd = row->id_pvd;
            g->first = (uint32_t)i;
        } else {
            g = &im->groups[index[h]];
            im->verdicts[g->last].next = (uint32_t)i;
        }
        g->last = (uint32_t)i;
        g->row_count++;
    }
    free(index);
}

#define FOR_GROUP_ROWS(im, g, i)                                                                   \
    for (size_t i = (g)->first; i != NO_ROW; i = (im)->verdicts[i].next)

/* The lines of g: which one first made it refused (for the others' reason). */
static void refuse_group(struct import *im, struct group *g, const char *code, const char *motif)
{
    size_t first = (size_t)-1;
    FOR_GROUP_ROWS(im, g, i)
    if (im->verdicts[i].outcome == OUTCOME_REFUSE) {
        first = i;
        break;
    }
    FOR_GROUP_ROWS(im, g, i)
    {
        struct line_verdict *v = &im->verdicts[i];
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

/* The content of g (at most TERRITOIRE_MAX_COMMUNES lines): its lines,
 * communes, name and EPCIs: each line's, replaced by its commune's current
 * one when it changed since the file (territoire_epci_actuel), else the
 * communes' EPCIs in the referential when no line gives one. */
static void assemble(const struct import *im, const struct group *g, struct group_work *w)
{
    size_t k = 0;
    w->epci_count = 0;
    w->nom[0] = '\0';
    FOR_GROUP_ROWS(im, g, i)
    {
        if (k == TERRITOIRE_MAX_COMMUNES)
            break;
        const struct laureat_csv_row *row = &im->csv.rows[i];
        w->rows[k] = i;
        w->communes[k] = row->insee_com;
        name_add(w->nom, row->lib_com);
        w->epci_actuel[k] = territoire_epci_actuel(im->ref, row->insee_com, row->siren_epci);
        const char *siren = w->epci_actuel[k] ? w->epci_actuel[k]->siren : row->siren_epci;
        bool seen = !siren[0];
        for (size_t j = 0; j < w->epci_count && !seen; j++)
            seen = strcmp(w->epcis[j], siren) == 0;
        if (!seen && w->epci_count < TERRITOIRE_MAX_EPCIS)
            w->epcis[w->epci_count++] = siren;
        k++;
    }
    if (w->epci_count == 0) {
        w->epci_count = territoire_default_epcis(im->ref, w->communes, k, w->default_epcis,
                                                 TERRITOIRE_MAX_EPCIS);
        for (size_t j = 0; j < w->epci_count; j++)
            w->epcis[j] = w->default_epcis[j];
    }
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

/* Assembles group g into w and checks it (domain territoire_check): the
 * violations and warnings are initialised here. Deterministic, so the write
 * resolves again what the judgement accepted rather than keeping it per
 * group. */
static void resolve_group(const struct import *im, const struct group *g, struct group_work *w,
                          struct rule_report *violations, struct rule_report *warnings)
{
    assemble(im, g, w);
    rule_report_init(violations);
    rule_report_init(warnings);
    struct territoire_input in = {g->id_pvd, w->communes, g->row_count, w->epcis, w->epci_count};
    territoire_check(im->ref, &in, &w->resolved, violations, warnings);
}

/* Checks one territoire of the file and sets its lines' verdicts. */
static void judge_group(struct import *im, struct group *g, const struct authz_principal *who)
{
    if (g->row_count > TERRITOIRE_MAX_COMMUNES) {
        refuse_group(im, g, "trop-de-communes", "Un territoire PVD compte au plus 32 communes.");
        return;
    }
    /* Every line refused by the parser refuses its territoire. */
    FOR_GROUP_ROWS(im, g, i)
    if (im->verdicts[i].outcome == OUTCOME_REFUSE) {
        refuse_group(im, g, NULL, NULL);
        return;
    }
    if (!territoire_id_pvd_is_valid(g->id_pvd)) {
        char motif[200];
        snprintf(motif, sizeof motif,
                 "L'identifiant %s n'a pas la forme pvd-<région>-<département(s)>-<n>.", g->id_pvd);
        refuse_group(im, g, "id-pvd-invalide", motif);
        return;
    }
    struct group_work w;
    struct rule_report violations, warnings;
    resolve_group(im, g, &w, &violations, &warnings);
    /* Warnings on the line of their commune: R2, and the EPCI taken from the
     * referential instead of the file's. */
    for (size_t i = 0; i < warnings.count; i++) {
        const struct rule_violation *wa = &warnings.items[i];
        size_t idx;
        if (sscanf(wa->pointer, "/communes/%zu", &idx) != 1 || idx >= g->row_count)
            continue;
        warn_line(&im->verdicts[w.rows[idx]], wa->regle, wa->code, wa->message,
                  im->csv.rows[w.rows[idx]].line);
    }
    for (size_t k = 0; k < g->row_count; k++) {
        const struct ref_epci *e = w.epci_actuel[k];
        if (!e)
            continue;
        const struct laureat_csv_row *row = &im->csv.rows[w.rows[k]];
        char message[400];
        snprintf(message, sizeof message,
                 "L'EPCI %s indiqué pour la commune %s n'est plus le sien dans le référentiel "
                 "%d : la commune est importée dans son EPCI actuel, %s (%s).",
                 row->siren_epci, row->insee_com, im->millesime, e->siren, e->nom);
        warn_line(&im->verdicts[w.rows[k]], "R42", "epci-modifie", message, row->line);
    }
    /* R43 first: a préfecture learns nothing of territoires outside. */
    struct authz_target target =
        territoire_target(&w.resolved, g->id_pvd, w.epcis, w.epci_count, &w.views);
    if (authz_decide(who, ACTION_TERRITOIRE_WRITE, &target) != AUTHZ_ALLOW) {
        char deps[TERRITOIRE_MAX_COMMUNES * 5 + 1] = "", motif[400];
        for (size_t k = 0; k < w.resolved.departement_count; k++) {
            size_t len = strlen(deps);
            snprintf(deps + len, sizeof deps - len, "%s%s", k ? ", " : "",
                     w.resolved.departements[k]);
        }
        snprintf(motif, sizeof motif,
                 "Le territoire %s (département%s %s) est hors de votre périmètre : seule la "
                 "préfecture d'un de ses départements ou l'ANCT l'importe (R43).",
                 g->id_pvd, w.resolved.departement_count > 1 ? "s" : "", deps);
        refuse_group(im, g, "hors-perimetre", motif);
        return;
    }
    /* Violations: a commune's on its line, the territoire's on every line. */
    for (size_t i = 0; i < violations.count; i++) {
        const struct rule_violation *v = &violations.items[i];
        size_t idx;
        if (sscanf(v->pointer, "/communes/%zu", &idx) == 1 && idx < g->row_count) {
            struct line_verdict *lv = &im->verdicts[w.rows[idx]];
            if (lv->outcome != OUTCOME_REFUSE)
                refuse(lv, v->code, "%s", v->message);
        } else {
            for (size_t k = 0; k < g->row_count; k++) {
                struct line_verdict *lv = &im->verdicts[w.rows[k]];
                if (lv->outcome != OUTCOME_REFUSE)
                    refuse(lv, v->code, "%s", v->message);
            }
        }
    }
    /* A commune belongs to one territoire only. */
    for (size_t k = 0; k < g->row_count; k++) {
        const char *owner = territoire_contents_owner(&im->contents, w.communes[k]);
        struct line_verdict *lv = &im->verdicts[w.rows[k]];
        if (owner && strcmp(owner, g->id_pvd) != 0 && lv->outcome != OUTCOME_REFUSE)
            refuse(lv, "commune-deja-dans-un-territoire",
                   "La commune %s appartient déjà au territoire %s.", w.communes[k], owner);
    }
    if (rule_report_any(&violations) || g->outcome == OUTCOME_REFUSE) {
        refuse_group(im, g, NULL, NULL);
        return;
    }
    for (size_t k = 0; k < g->row_count; k++)
        if (im->verdicts[w.rows[k]].outcome == OUTCOME_REFUSE) {
            refuse_group(im, g, NULL, NULL);
            return;
        }
    g->existing = territoire_contents_find(&im->contents, g->id_pvd);
    if (!g->existing)
        g->outcome = OUTCOME_CREE;
    else if (joined_equals(g->existing->communes, w.communes, g->row_count) &&
             joined_equals(g->existing->epcis, w.epcis, w.epci_count))
        g->outcome = OUTCOME_INCHANGE;
    else {
        g->outcome = OUTCOME_MODIFIE;
        g->revision = g->existing->revision;
    }
    for (size_t k = 0; k < g->row_count; k++)
        im->verdicts[w.rows[k]].outcome = g->outcome;
}

static enum db_result write_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct import *im = ctx;
    im->written = 0;
    for (size_t i = 0; i < im->group_count; i++) {
        struct group *g = &im->groups[i];
        if (g->outcome != OUTCOME_CREE && g->outcome != OUTCOME_MODIFIE)
            continue;
        /* The same content judge_group accepted (assemble and territoire_check
         * are deterministic), resolved again rather than kept per group. */
        struct group_work w;
        struct rule_report violations, warnings;
        resolve_group(im, g, &w, &violations, &warnings);
        territoire_target(&w.resolved, g->id_pvd, w.epcis, w.epci_count, &w.views);
        const struct territoire_content *e = g->existing;
        struct territoire_write tw = {g->id_pvd,
                                      e ? e->nom : (w.nom[0] ? w.nom : NULL),
                                      e ? e->date_designation : NULL,
                                      e ? e->date_sortie : NULL,
                                      w.resolved.code_departement,
                                      w.resolved.code_region,
                                      im->millesime,
                                      w.communes,
                                      g->row_count,
                                      w.epcis,
                                      w.epci_count};
        struct journal_scope scope = territoire_journal_scope(&w.views);
        struct territoire_row row;
        enum db_result r = g->outcome == OUTCOME_CREE
                               ? territoire_insert(tx, &tw, &scope, &row, err)
                               : territoire_replace(tx, &tw, g->revision, &scope, &row, err);
        territoire_row_release(&row);
        if (r == DB_STALE)
            return DB_CONFLICT; /* changed since the import read it: relaunch the import */
        if (r != DB_OK)
            return r;
        im->written++;
    }
    return DB_OK;
}

/* The report as JSON text (an object: flags, totals, then every line), into
 * t: about 150 bytes per line plus its reason, never a JSON tree. */
static void report(const struct import *im, bool appliquer, bool partiel, bool applique,
                   struct text *t)
{
    size_t counts[4] = {0, 0, 0, 0}, territoires[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < im->csv.row_count; i++)
        counts[im->verdicts[i].outcome]++;
    for (size_t i = 0; i < im->group_count; i++)
        territoires[im->groups[i].outcome]++;
    text_fmt(t,
             "{\"appliquer\":%s,\"partiel\":%s,\"applique\":%s,\"millesime\":%d,"
             "\"lignes_totaux\":{\"lignes\":%zu,\"cree\":%zu,\"modifie\":%zu,\"inchange\":%zu,"
             "\"refuse\":%zu},",
             appliquer ? "true" : "false", partiel ? "true" : "false", applique ? "true" : "false",
             im->millesime, im->csv.row_count, counts[OUTCOME_CREE], counts[OUTCOME_MODIFIE],
             counts[OUTCOME_INCHANGE], counts[OUTCOME_REFUSE]);
    text_fmt(t,
             "\"territoires_totaux\":{\"cree\":%zu,\"modifie\":%zu,\"inchange\":%zu,"
             "\"refuse\":%zu},\"lignes\":[",
             territoires[OUTCOME_CREE], territoires[OUTCOME_MODIFIE], territoires[OUTCOME_INCHANGE],
             territoires[OUTCOME_REFUSE]);
    for (size_t i = 0; i < im->csv.row_count; i++) {
        const struct laureat_csv_row *row = &im->csv.rows[i];
        const struct line_verdict *v = &im->verdicts[i];
        text_fmt(t, "%s{\"ligne\":%zu,\"id_pvd\":", i ? "," : "", row->line);
        text_str(t, row->id_pvd[0] ? row->id_pvd : NULL);
        text_lit(t, ",\"insee_com\":");
        text_str(t, row->insee_com);
        text_fmt(t, ",\"resultat\":\"%s\",\"code\":", outcome_names[v->outcome]);
        text_str(t, v->code);
        text_lit(t, ",\"motif\":");
        text_str(t, v->motif);
        text_lit(t, ",\"avertissements\":[");
        if (v->avertissements)
            text_lit(t, v->avertissements);
        text_lit(t, "]}");
    }
    text_lit(t, "]}");
}

/* 422 regle-non-respectee: nothing written because lines were refused; the
 * first refused lines in erreurs (pointer /lignes/<line>), the whole report
 * in rapport (spliced in as text). */
static void send_refused(struct request_ctx *ctx, const struct import *im, size_t refused)
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
    struct problem p = {PROBLEM_REGLE_NON_RESPECTEE, detail,          NULL,
                        ctx->req->url_path,          ctx->request_id, &errs};
    json_t *body = problem_to_json(&p, ctx->app->config.problem_base_url);
    char *problem = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!problem)
        die_bug("json_dumps failed");
    size_t n = strlen(problem);
    if (n < 2 || problem[n - 1] != '}')
        die_bug("problem is not a JSON object");
    struct text t = {NULL, 0, 0};
    text_add(&t, problem, n - 1);
    free(problem);
    text_lit(&t, ",\"rapport\":");
    report(im, true, false, false, &t);
    text_lit(&t, "}");
    ulfius_set_binary_body_response(ctx->res, 422, t.p, t.len);
    free(t.p);
    u_map_put(ctx->res->map_header, "Content-Type", "application/problem+json");
    ctx->problem = PROBLEM_REGLE_NON_RESPECTEE;
    ctx->has_problem = true;
}

static void import_release(struct import *im)
{
    for (size_t i = 0; im->verdicts && i < im->csv.row_count; i++) {
        if (im->verdicts[i].motif_owned)
            free((char *)im->verdicts[i].motif);
        free(im->verdicts[i].avertissements);
    }
    free(im->verdicts);
    free(im->groups);
    territoire_contents_release(&im->contents);
    laureats_csv_release(&im->csv);
}

/* The query of POST /territoires/import. */
struct import_query {
    bool appliquer, partiel;
};
static const struct query_field import_query_fields[] = {
    {.name = "appliquer", .kind = QUERY_BOOL, .offset = offsetof(struct import_query, appliquer)},
    {.name = "partiel", .kind = QUERY_BOOL, .offset = offsetof(struct import_query, partiel)},
    QUERY_FIELDS_END,
};

void handle_import_territoires(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    struct import_query q;
    if (!query_or_reply(ctx, import_query_fields, &q))
        return;
    bool appliquer = q.appliquer, partiel = q.partiel;
    /* Only roles that may write some territoire import (R43 is then per line). */
    const struct authz_principal *who = &ctx->principal->authz;
    const char *own[PERIMETER_MAX];
    for (size_t i = 0; i < who->perimeter.departement_count && i < PERIMETER_MAX; i++)
        own[i] = who->perimeter.departements[i];
    struct authz_target probe = {.departements = own,
                                 .departement_count = who->perimeter.departement_count};
    if (authz_decide(who, ACTION_TERRITOIRE_WRITE, &probe) != AUTHZ_ALLOW) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Seuls l'ANCT et les préfectures de département importent des lauréats.");
        return;
    }
    if (!csv_media_type(u_map_get_case(ctx->req->map_header, "Content-Type"))) {
        respond_problem(ctx, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                        "Le fichier des lauréats s'envoie en text/csv.");
        return;
    }
    struct import im;
    memset(&im, 0, sizeof im);
    struct referentiel_snapshot *snap = NULL;
    enum laureats_csv_status st =
        laureats_csv_parse(ctx->req->binary_body, ctx->req->binary_body_length, &im.csv);
    if (st == LAUREATS_CSV_TROP_VOLUMINEUX) {
        respond_problem(ctx, PROBLEM_CORPS_TROP_VOLUMINEUX, im.csv.error);
        goto out;
    }
    if (st != LAUREATS_CSV_OK) {
        field_errors_add(&errs, "", NULL, im.csv.error_code, "%s", im.csv.error);
        respond_problem_fields(ctx, PROBLEM_REQUETE_INVALIDE, "Fichier CSV des lauréats illisible.",
                               &errs);
        goto out;
    }
    snap = referentiel_store_acquire(ctx->app->referentiel);
    if (snap == NULL) {
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
        goto out;
    }
    im.millesime = snap->ref.millesime;
    im.ref = &snap->ref;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = territoire_contents_load(conn, &im.contents, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    im.verdicts = xmalloc((im.csv.row_count + 1) * sizeof *im.verdicts);
    memset(im.verdicts, 0, (im.csv.row_count + 1) * sizeof *im.verdicts);
    for (size_t i = 0; i < im.csv.row_count; i++)
        if (!im.csv.rows[i].ok) {
            im.verdicts[i].outcome = OUTCOME_REFUSE;
            im.verdicts[i].code = im.csv.rows[i].code;
            im.verdicts[i].motif = im.csv.rows[i].motif; /* the parser's: borrowed */
        }
    build_groups(&im);
    for (size_t i = 0; i < im.group_count; i++)
        judge_group(&im, &im.groups[i], who);
    size_t refused = 0, to_write = 0;
    for (size_t i = 0; i < im.csv.row_count; i++)
        refused += im.verdicts[i].outcome == OUTCOME_REFUSE;
    for (size_t i = 0; i < im.group_count; i++)
        to_write += im.groups[i].outcome == OUTCOME_CREE || im.groups[i].outcome == OUTCOME_MODIFIE;
    if (appliquer && refused > 0 && !partiel) {
        send_refused(ctx, &im, refused);
        goto out;
    }
    bool applique = false;
    if (appliquer && to_write > 0) {
        struct journal_actor actor = auth_journal_actor(ctx);
        r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor, write_unit, &im,
                            &err);
        const struct db_answers answers = {
            .conflict = "Des territoires ont changé pendant l'import : relancez-le."};
        if (!respond_db_outcome(ctx, r, &err, &answers))
            goto out;
        applique = true;
    }
    struct text t = {NULL, 0, 0};
    report(&im, appliquer, partiel, applique, &t);
    respond_json_raw(ctx->res, 200, t.p, t.len);
    free(t.p);
out:
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    import_release(&im);
}
