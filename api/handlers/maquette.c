/* GET /api/v1/territoires/:id_pvd/maquette-financiere?annee=YYYY (issue #9
 * §3, domain.md §1.11): the year's maquette financière of a territoire's plan
 * d'action, "fiche.lire" on the territoire. Its inputs are read in one
 * statement (db/maquette_repository.h: abandoned fiches left out) and the
 * sums are maquette_calculer's (domain/financement.h): per fiche planned that
 * year, per axe, per financeur and statut, and the total. JSON by default,
 * CSV (api/csv_export.h) when the request's Accept prefers text/csv. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../db/maquette_repository.h"
#include "../csv_export.h"
#include "../log.h"
#include "../query.h"
#include "handlers.h"
#include "programme.h"

#define TERRITOIRE_404 "Aucun territoire visible n'a cet identifiant."

struct maquette_query {
    int64_t annee;
};

static const struct query_field maquette_params[] = {
    {.name = "annee",
     .kind = QUERY_INT,
     .offset = offsetof(struct maquette_query, annee),
     .min = 2000,
     .max = 2100},
    QUERY_FIELDS_END,
};

/* ---- Content negotiation ------------------------------------------------ */

/* The q of media range [s, s + n) ("type/sub;q=0.5"), 0..1000 (1000 when
 * absent or malformed); its type and subtype into type/sub. */
static int media_range(const char *s, size_t n, char type[32], char sub[64])
{
    int q = 1000;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t t = 0;
    while (i < n && s[i] != '/' && s[i] != ';' && s[i] != ' ' && t < 31)
        type[t++] = s[i++];
    type[t] = '\0';
    size_t u = 0;
    if (i < n && s[i] == '/')
        i++;
    while (i < n && s[i] != ';' && s[i] != ' ' && u < 63)
        sub[u++] = s[i++];
    sub[u] = '\0';
    for (; i < n; i++) {
        if (s[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j + 1 < n && (s[j] == 'q' || s[j] == 'Q') && s[j + 1] == '=') {
            j += 2;
            int whole = j < n && s[j] == '1' ? 1000 : 0;
            j++;
            if (j < n && s[j] == '.') {
                int scale = 100;
                for (j++; j < n && s[j] >= '0' && s[j] <= '9' && scale > 0; j++, scale /= 10)
                    whole += (s[j] - '0') * scale;
            }
            q = whole > 1000 ? 1000 : whole;
        }
    }
    return q;
}

/* The q the Accept header gives type/sub (RFC 9110 §12.5.1: the most
 * specific matching range decides); -1 when no range matches. */
static int accept_q(const char *accept, const char *type, const char *sub)
{
    int best = -1, best_specificity = -1;
    for (const char *p = accept; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char t[32], u[64];
        int q = media_range(p, n, t, u);
        int specificity = -1;
        if (strcasecmp(t, type) == 0 && strcasecmp(u, sub) == 0)
            specificity = 2;
        else if (strcasecmp(t, type) == 0 && strcmp(u, "*") == 0)
            specificity = 1;
        else if (strcmp(t, "*") == 0 && strcmp(u, "*") == 0)
            specificity = 0;
        if (specificity > best_specificity) {
            best_specificity = specificity;
            best = q;
        }
        p = comma ? comma + 1 : NULL;
    }
    return best;
}

/* CSV when Accept gives text/csv a positive q above application/json's. No
 * Accept, or one that prefers neither, gets JSON. */
static bool prefers_csv(const struct request_ctx *ctx)
{
    const char *accept = u_map_get_case(ctx->req->map_header, "Accept");
    if (!accept)
        return false;
    int csv = accept_q(accept, "text", "csv");
    return csv > 0 && csv > accept_q(accept, "application", "json");
}

/* ---- The computed maquette ---------------------------------------------- */

struct maquette {
    struct maquette_donnees d;
    struct maquette_output out;
    int annee;
};

static void maquette_release(struct maquette *m)
{
    free(m->out.fiches);
    free(m->out.axes);
    free(m->out.lignes);
    free(m->out.financeurs);
    maquette_donnees_release(&m->d);
}

/* Reads and computes territoire id_pvd's maquette of annee. false: 503/500
 * was sent. */
static bool maquette_or_reply(struct request_ctx *ctx, const char *id_pvd, int annee,
                              struct maquette *m)
{
    memset(m, 0, sizeof *m);
    m->annee = annee;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = maquette_lire(conn, id_pvd, &m->d, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    m->out.fiches = calloc(m->d.fiche_count + 1, sizeof *m->out.fiches);
    m->out.axes = calloc(m->d.axe_count + 1, sizeof *m->out.axes);
    m->out.lignes = calloc(m->d.ligne_count + 1, sizeof *m->out.lignes);
    m->out.ligne_capacity = m->d.ligne_count;
    m->out.financeurs =
        calloc(m->d.financeur_count * FINANCEMENT_STATUT__COUNT + 1, sizeof *m->out.financeurs);
    if (!m->out.fiches || !m->out.axes || !m->out.lignes || !m->out.financeurs) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return false;
    }
    const struct maquette_input in = {.annee = annee,
                                      .fiches = m->d.fiches,
                                      .fiche_count = m->d.fiche_count,
                                      .axe_count = m->d.axe_count,
                                      .financeur_count = m->d.financeur_count};
    enum maquette_erreur e = maquette_calculer(&in, &m->out);
    if (e != MAQUETTE_OK) {
        char code[16];
        snprintf(code, sizeof code, "%d", (int)e);
        log_line(LOG_ERROR, ctx->request_id, "maquette_calculer a échoué", "id_pvd", id_pvd,
                 "erreur", code, NULL);
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return false;
    }
    return true;
}

/* A fiche belongs to the year's maquette when its échéancier has that year. */
static bool fiche_planned(const struct maquette_fiche *f, int annee)
{
    for (size_t i = 0; i < f->echeancier_count; i++)
        if (f->echeancier[i].annee == annee)
            return true;
    return false;
}

static bool financeur_in_year(const int64_t *row)
{
    for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
        if (row[s] != 0)
            return true;
    return false;
}

static int64_t financeur_finance(const int64_t *row)
{
    int64_t sum = 0; /* each ≤ the year's total, itself checked by maquette_calculer */
    for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
        if (financement_statut_compte((enum financement_statut)s))
            sum += row[s];
    return sum;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *par_statut_json(const int64_t *par_statut)
{
    json_t *o = json_object();
    for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++) {
        char key[48];
        snprintf(key, sizeof key, "%s_centimes",
                 financement_statut_name((enum financement_statut)s));
        json_object_set_new(o, key, json_integer(par_statut[s]));
    }
    return o;
}

/* Adds the amounts of a row to obj. */
static void montants_json(json_t *obj, const struct maquette_montants *m)
{
    json_object_set_new(obj, "prevu_centimes", json_integer(m->prevu));
    json_object_set_new(obj, "par_statut", par_statut_json(m->par_statut));
    json_object_set_new(obj, "finance_centimes", json_integer(m->finance));
    json_object_set_new(obj, "reste_a_financer_centimes", json_integer(m->reste_a_financer));
}

static json_t *maquette_json(const struct maquette *m, const char *id_pvd)
{
    const struct maquette_donnees *d = &m->d;
    json_t *fiches = json_array(), *axes = json_array(), *financeurs = json_array();
    for (size_t i = 0; i < d->fiche_count; i++) {
        if (!fiche_planned(&d->fiches[i], m->annee))
            continue;
        const struct maquette_axe_info *axe = &d->axes[d->fiches[i].axe];
        json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", d->fiche_infos[i].id, "numero",
                              d->fiche_infos[i].numero, "intitule", d->fiche_infos[i].intitule,
                              "axe_id", axe->id, "axe_numero", (json_int_t)axe->numero);
        montants_json(f, &m->out.fiches[i]);
        json_array_append_new(fiches, f);
    }
    for (size_t i = 0; i < d->axe_count; i++) {
        json_t *a = json_pack("{s:s, s:I, s:s}", "id", d->axes[i].id, "numero",
                              (json_int_t)d->axes[i].numero, "intitule", d->axes[i].intitule);
        montants_json(a, &m->out.axes[i]);
        json_array_append_new(axes, a);
    }
    for (size_t i = 0; i < d->financeur_count; i++) {
        const int64_t *row = &m->out.financeurs[i * FINANCEMENT_STATUT__COUNT];
        if (!financeur_in_year(row))
            continue;
        json_t *o = json_pack("{s:s, s:s, s:o, s:I}", "financeur_id", d->financeurs[i].id, "nom",
                              d->financeurs[i].nom, "par_statut", par_statut_json(row),
                              "finance_centimes", (json_int_t)financeur_finance(row));
        json_array_append_new(financeurs, o);
    }
    json_t *total = json_object();
    montants_json(total, &m->out.total);
    return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "id_pvd", id_pvd, "annee", m->annee,
                     "fiches", fiches, "axes", axes, "financeurs", financeurs, "total", total);
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_montants(struct csv_export *csv, const struct maquette_montants *m)
{
    csv_export_cents(csv, m->prevu);
    for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
        csv_export_cents(csv, m->par_statut[s]);
    csv_export_cents(csv, m->finance);
    csv_export_cents(csv, m->reste_a_financer);
    csv_export_end_row(csv);
}

/* One table: a header, then the rows "fiche", "axe", "financeur" (no
 * planned amount nor remainder: a financeur's share only) and "total".
 * Amounts in euros with a decimal comma (csv_export_cents). NULL when the
 * document would pass CSV_EXPORT_MAX_BYTES. */
static char *maquette_csv(const struct maquette *m, size_t *len)
{
    const struct maquette_donnees *d = &m->d;
    struct csv_export csv;
    csv_export_init(&csv, 0);
    static const char *const head[] = {"ligne", "id", "numero", "intitule", "axe", "prevu_eur"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        csv_export_text(&csv, head[i]);
    for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++) {
        char name[48];
        snprintf(name, sizeof name, "%s_eur", financement_statut_name((enum financement_statut)s));
        csv_export_text(&csv, name);
    }
    csv_export_text(&csv, "finance_eur");
    csv_export_text(&csv, "reste_a_financer_eur");
    csv_export_end_row(&csv);
    for (size_t i = 0; i < d->fiche_count; i++) {
        if (!fiche_planned(&d->fiches[i], m->annee))
            continue;
        csv_export_text(&csv, "fiche");
        csv_export_text(&csv, d->fiche_infos[i].id);
        csv_export_text(&csv, d->fiche_infos[i].numero);
        csv_export_text(&csv, d->fiche_infos[i].intitule);
        csv_export_int(&csv, d->axes[d->fiches[i].axe].numero);
        csv_montants(&csv, &m->out.fiches[i]);
    }
    for (size_t i = 0; i < d->axe_count; i++) {
        csv_export_text(&csv, "axe");
        csv_export_text(&csv, d->axes[i].id);
        csv_export_int(&csv, d->axes[i].numero);
        csv_export_text(&csv, d->axes[i].intitule);
        csv_export_int(&csv, d->axes[i].numero);
        csv_montants(&csv, &m->out.axes[i]);
    }
    for (size_t i = 0; i < d->financeur_count; i++) {
        const int64_t *row = &m->out.financeurs[i * FINANCEMENT_STATUT__COUNT];
        if (!financeur_in_year(row))
            continue;
        csv_export_text(&csv, "financeur");
        csv_export_text(&csv, d->financeurs[i].id);
        csv_export_text(&csv, NULL);
        csv_export_text(&csv, d->financeurs[i].nom);
        csv_export_text(&csv, NULL);
        csv_export_text(&csv, NULL);
        for (size_t s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
            csv_export_cents(&csv, row[s]);
        csv_export_cents(&csv, financeur_finance(row));
        csv_export_text(&csv, NULL);
        csv_export_end_row(&csv);
    }
    csv_export_text(&csv, "total");
    for (int i = 0; i < 4; i++)
        csv_export_text(&csv, NULL);
    csv_montants(&csv, &m->out.total);
    return csv_export_finish(&csv, len);
}

void handle_get_maquette_financiere(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_FICHE_READ, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope))
        return;
    struct maquette_query q;
    if (!query_or_reply(ctx, maquette_params, &q))
        return;
    if (q.annee < 0) {
        FIELD_ERRORS(errs);
        field_errors_add(&errs, "/annee", "annee", "champ-requis",
                         "« annee » (l'année de la maquette, 2000 à 2100) est requis.");
        query_errors_or_reply(ctx, &errs);
        return;
    }
    struct maquette m;
    if (maquette_or_reply(ctx, scope.id_pvd, (int)q.annee, &m)) {
        u_map_put(ctx->res->map_header, "Vary", "Accept");
        if (prefers_csv(ctx)) {
            size_t len = 0;
            char *text = maquette_csv(&m, &len);
            if (!text) {
                respond_problem(ctx, PROBLEM_ERREUR_INTERNE,
                                "La maquette dépasse la taille "
                                "d'un export CSV.");
            } else {
                char disposition[96];
                snprintf(disposition, sizeof disposition,
                         "attachment; filename=\"maquette-%s-%d.csv\"", scope.id_pvd, m.annee);
                respond_text(ctx->res, 200, "text/csv; charset=utf-8", text, len);
                u_map_put(ctx->res->map_header, "Content-Disposition", disposition);
            }
            free(text);
        } else {
            respond_json_new(ctx->res, 200, maquette_json(&m, scope.id_pvd));
        }
    }
    maquette_release(&m);
}
