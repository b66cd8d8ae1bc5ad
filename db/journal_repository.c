/* Journal reads (see journal_repository.h). */
#include "journal_repository.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"

/* The rows of journal t (an alias) a journal_visibility shows, its
 * parameters being $all, $deps … $terrs and $sans (visibility_params). */
#define JOURNAL_VISIBLE_OF(t, all, deps, regs, sirens, terrs, sans)                                \
    "($" all "::bool OR " t ".departements && $" deps "::text[] OR " t ".regions && $" regs        \
    "::text[] OR " t ".sirens && $" sirens "::text[] OR " t ".territoires && $" terrs              \
    "::text[]) AND NOT ($" sans "::bool AND " t                                                    \
    ".ressource_type IN ('habilitation', 'client', 'abonnement', 'livraison'))"
#define JOURNAL_VISIBLE(all, deps, regs, sirens, terrs, sans)                                      \
    JOURNAL_VISIBLE_OF("j", all, deps, regs, sirens, terrs, sans)

/* The entries a list shows, filtered by $1 … $11 (page and count). */
#define JOURNAL_LIST_FROM                                                                          \
    "FROM journal j WHERE " JOURNAL_VISIBLE(                                                       \
        "1", "2", "3", "4", "5",                                                                   \
        "11") " AND ($6::text IS NULL OR j.ressource_type = $6) AND ($7::text IS NULL OR "         \
              "j.ressource_id = $7) AND ($8::text IS NULL OR j.acteur = $8) AND ($9::timestamptz " \
              "IS "                                                                                \
              "NULL OR j.instant >= $9::timestamptz) AND ($10::timestamptz IS NULL OR j.instant "  \
              "< "                                                                                 \
              "$10::timestamptz)"

/* The text parameters of a journal_visibility, in the order JOURNAL_VISIBLE
 * reads them ($1 … $5, then sans_administration); arrays owned. */
struct visibility_params {
    char *deps, *regs, *sirens, *terrs;
};

static void visibility_params(const struct journal_visibility *v, struct visibility_params *p)
{
    p->deps = v->departements ? pg_code_array_literal(&v->departements->departements[0][0], 4,
                                                      v->departements->departement_count)
                              : NULL;
    p->regs = v->regions
                  ? pg_code_array_literal(&v->regions->regions[0][0], 4, v->regions->region_count)
                  : NULL;
    p->sirens = v->sirens
                    ? pg_code_array_literal(&v->sirens->sirens[0][0], 10, v->sirens->siren_count)
                    : NULL;
    p->terrs = v->territoires ? pg_code_array_literal(&v->territoires->territoires[0][0], 17,
                                                      v->territoires->territoire_count)
                              : NULL;
}

static void visibility_params_release(struct visibility_params *p)
{
    free(p->deps);
    free(p->regs);
    free(p->sirens);
    free(p->terrs);
}

void journal_visibility_of(const struct authz_principal *who, struct journal_visibility *v)
{
    *v = (struct journal_visibility){false, false, NULL, NULL, NULL, NULL};
    switch (who->role) {
    case ROLE_ANCT_NATIONAL:
        v->all = true;
        break;
    case ROLE_LECTEUR_NATIONAL: /* the programme's entries, not the administration's */
        v->all = true;
        v->sans_administration = true;
        break;
    case ROLE_PREFECTURE_INSTRUCTEUR: /* R43: the entries' own départements only */
        v->departements = &who->perimeter;
        break;
    case ROLE_PREFECTURE_REGION:
        v->regions = &who->perimeter;
        break;
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_COLLECTIVITE_ELU:
        v->sirens = &who->perimeter;
        v->territoires = &who->perimeter;
        break;
    case ROLE_FINANCEUR:
    case ROLE__COUNT:
        v->sirens = &who->perimeter;
        break;
    }
}

enum db_result journal_list(struct db_conn *conn, const struct journal_visibility *v,
                            const struct journal_filter *f, const char *before, size_t limit,
                            char **json_out, char last_id[24], bool *more, size_t *total,
                            struct db_error *err)
{
    struct visibility_params vp;
    visibility_params(v, &vp);
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[13] = {v->all ? "t" : "f",
                              vp.deps,
                              vp.regs,
                              vp.sirens,
                              vp.terrs,
                              f->ressource_type,
                              f->ressource_id,
                              f->acteur,
                              f->du,
                              f->au,
                              v->sans_administration ? "t" : "f",
                              before,
                              limit_text};
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    PGresult *res = db_exec_params(
        conn,
        "SELECT j.id::text, jsonb_build_object('id', j.id::text, 'instant', horodatage(j.instant), "
        "'acteur', j.acteur, 'acteur_issuer', j.acteur_issuer, 'acteur_subject', j.acteur_subject, "
        "'client_id', j.client_id, 'role', j.role, 'action', j.action, 'ressource_type', "
        "j.ressource_type, 'ressource_id', j.ressource_id, 'avant', j.avant, 'apres', j.apres, "
        "'request_id', j.request_id, 'departements', to_jsonb(j.departements), 'regions', "
        "to_jsonb(j.regions), 'sirens', to_jsonb(j.sirens), 'territoires', "
        "to_jsonb(j.territoires))::text " JOURNAL_LIST_FROM
        " AND j.id < coalesce($12::bigint, 9223372036854775807) ORDER BY j.id DESC LIMIT "
        "$13::int",
        13, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " JOURNAL_LIST_FROM, 11, params, total, err);
    visibility_params_release(&vp);
    return r;
}

/* The feed's rows: the readable ones (their transaction older than every
 * one still running, migration 0021), after the cursor ($8, $9; NULL: from
 * the start), of the types $10 (NULL: all), visible by $1 … $6 (journal) or
 * public ($7).
 * The cursor is one row comparison whatever the parameters (no cursor is
 * (0, 0), before every row: xids are >= 3, ids >= 1), so that journal_xid_idx
 * seeks to it in a generic plan too (issue #12 §4): db_exec_params prepares
 * the statement once per connection and PostgreSQL may then plan it once for
 * any parameters, where "$8 IS NULL OR (j.xid, j.id) > ($8, $9)" was only a
 * filter, every row before the cursor read (63 ms instead of 2.5 ms for a
 * page of 50 at depth 20,000). journal_list's cursor likewise. */
/* The latest row of j's resource the reader may see (migration 0027), as l:
 * any on the public feed ($7), else one JOURNAL_VISIBLE shows. */
#define EVENEMENTS_LATEST                                                                          \
    " LEFT JOIN LATERAL (SELECT * FROM journal l WHERE l.ressource_type = j.ressource_type AND "   \
    "l.ressource_id = j.ressource_id AND l.id >= j.id AND ($7::bool OR " JOURNAL_VISIBLE_OF(       \
        "l", "1", "2", "3", "4", "5", "6") ") ORDER BY l.id DESC LIMIT 1) l ON true"

#define EVENEMENTS_FROM                                                                            \
    "FROM journal j JOIN evenement_ressources r ON r.ressource_type = "                            \
    "j.ressource_type " EVENEMENTS_LATEST                                                          \
    " WHERE j.xid < pg_snapshot_xmin(pg_current_snapshot()) AND (j.xid, j.id) > "                  \
    "(coalesce($8::xid8, '0'::xid8), coalesce($9::bigint, 0)) AND CASE WHEN $7::bool THEN "        \
    "r.public AND "                                                                                \
    "evenement_est_public(j) ELSE " JOURNAL_VISIBLE(                                               \
        "1", "2", "3", "4", "5",                                                                   \
        "6") " END AND ($10::text[] IS NULL OR j.ressource_type = ANY ($10::text[]) OR "           \
             "evenement_type(j, r.accord) = ANY ($10::text[]))"

enum db_result evenements_read(struct db_conn *conn, const struct journal_visibility *v,
                               const char *types, const char *after, size_t limit, char **json_out,
                               char last_key[EVENEMENT_KEY_SIZE], bool *more, struct db_error *err)
{
    struct visibility_params vp = {NULL, NULL, NULL, NULL};
    if (v)
        visibility_params(v, &vp);
    char xid[EVENEMENT_KEY_SIZE] = "", id[EVENEMENT_KEY_SIZE] = "", limit_text[24];
    if (after) {
        const char *dot = strchr(after, '.');
        size_t n = dot ? (size_t)(dot - after) : 0;
        if (!dot || n >= sizeof xid || strlen(dot + 1) >= sizeof id) {
            visibility_params_release(&vp);
            db_error_set(err, NULL, "clé d'événement mal formée");
            return DB_FAILED;
        }
        memcpy(xid, after, n);
        xid[n] = '\0';
        strcpy(id, dot + 1);
    }
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[11] = {v && v->all ? "t" : "f",
                              vp.deps,
                              vp.regs,
                              vp.sirens,
                              vp.terrs,
                              v && v->sans_administration ? "t" : "f",
                              v ? "f" : "t",
                              after ? xid : NULL,
                              after ? id : NULL,
                              types,
                              limit_text};
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    PGresult *res =
        db_exec_params(conn,
                       "SELECT j.xid::text || '.' || j.id::text, evenement_json(j, l, "
                       "$7::bool)::text " EVENEMENTS_FROM " ORDER BY j.xid, j.id LIMIT $11::int",
                       11, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_key, EVENEMENT_KEY_SIZE, more))
        r = DB_FAILED;
    PQclear(res);
    visibility_params_release(&vp);
    return r;
}

enum db_result evenements_head(struct db_conn *conn, char key[EVENEMENT_KEY_SIZE],
                               struct db_error *err)
{
    key[0] = '\0';
    /* pg_one_text binds one parameter: $1 is NULL and unused. */
    return pg_one_text(
        conn,
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text || '.0' WHERE $1::text "
        "IS NULL",
        NULL, key, EVENEMENT_KEY_SIZE, err);
}
