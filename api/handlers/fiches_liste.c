/* The fiches action the caller may read (issue #9 §1): GET
 * /api/v1/fiches-action (keyset pages with `total`, each element with its
 * transitions_possibles) and GET /api/v1/fiches-action.csv (the whole
 * filtered set as one CSV document, api/csv_export.h). Both filter in SQL by
 * the caller's read perimeter (fiches_visibles, migration 0014: the rule
 * authz_decide applies to one fiche) and by the same query parameters. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../csv_export.h"
#include "../cursor.h"
#include "../query.h"
#include "fiches_common.h"
#include "handlers.h"
#include "programme.h"

/* Most fiches in one CSV export (the bytes are bounded too:
 * CSV_EXPORT_MAX_BYTES); beyond, the caller narrows its filters (400). */
#define FICHES_CSV_MAX_LIGNES 20000

/* ---- Query parameters (shared by the list and the export) ---------------- */

static bool is_etat(const char *s)
{
    enum fiche_etat e;
    return fiche_etat_parse(s, &e);
}

struct fiche_query {
    size_t limit;
    const char *id_pvd, *departement, *region, *axe_id, *etat, *thematique, *maitre_ouvrage_id,
        *nature_depense, *public_;
    struct query_sync sync;
};
#define FQ(member) offsetof(struct fiche_query, member)

/* The filters, after QUERY_PAGE for the list. */
#define FICHE_FILTER_FIELDS                                                                        \
    QUERY_CODE_FIELD("id_pvd", FQ(id_pvd), territoire_id_pvd_is_valid,                             \
                     "un identifiant pvd-<région>-<département>-<n>"),                             \
        QUERY_CODE_FIELD("departement", FQ(departement), departement_code_is_valid,                \
                         "un code de département"),                                                \
        QUERY_CODE_FIELD("region", FQ(region), region_code_is_valid, "un code de région"),         \
        QUERY_CODE_FIELD("axe_id", FQ(axe_id), query_is_uuid, "un UUID"),                          \
        QUERY_CODE_FIELD("etat", FQ(etat), is_etat,                                                \
                         "un état de fiche (brouillon, en_maturation, programmee, en_cours, "     \
                         "suspendue, realisee, abandonnee)"),                                      \
        QUERY_CODE_FIELD("thematique", FQ(thematique), fiche_thematique_is_valid,                  \
                         "une thématique (habitat, commerce, espaces_publics, mobilite, "         \
                         "patrimoine_culture, services_equipements, transition_ecologique, "       \
                         "numerique, developpement_economique, friches_foncier)"),                 \
        QUERY_CODE_FIELD("maitre_ouvrage_id", FQ(maitre_ouvrage_id), query_is_uuid, "un UUID"),    \
        QUERY_CODE_FIELD("nature_depense", FQ(nature_depense), fiche_nature_depense_is_valid,      \
                         "une nature de dépense (etude, ingenierie, investissement, "             \
                         "fonctionnement, acquisition)"),                                          \
        QUERY_CODE_FIELD("public", FQ(public_), query_is_bool_text, "true ou false"),              \
        QUERY_SYNC_FIELDS(struct fiche_query, sync)

static const struct query_field list_query_fields[] = {
    QUERY_PAGE(struct fiche_query, limit),
    FICHE_FILTER_FIELDS,
    QUERY_FIELDS_END,
};

static const struct query_field export_query_fields[] = {
    FICHE_FILTER_FIELDS,
    QUERY_FIELDS_END,
};

/* The repository's filter for the caller (its read perimeter) and q. */
static struct fiche_filtre filtre_of(const struct request_ctx *ctx, const struct fiche_query *q)
{
    struct fiche_filtre f;
    memset(&f, 0, sizeof f);
    f.role = role_name(role_reads_as(ctx->principal->authz.role));
    f.perimeter = &ctx->principal->authz.perimeter;
    f.id_pvd = q->id_pvd;
    f.departement = q->departement;
    f.region = q->region;
    f.axe_id = q->axe_id;
    f.etat = q->etat;
    f.thematique = q->thematique;
    f.maitre_ouvrage_id = q->maitre_ouvrage_id;
    f.nature_depense = q->nature_depense;
    f.public_ = q->public_ ? strcmp(q->public_, "true") == 0 : -1;
    f.sync = query_sync_list(&q->sync);
    return f;
}

/* ---- GET /api/v1/fiches-action ------------------------------------------- */

/* Decorates each element of a JSON array of representations with what
 * depends on the caller (fiche_decorate), removing "_acces". NULL when json
 * does not parse (owned, free()). */
static char *decorate_page(const char *json, const struct request_ctx *ctx)
{
    json_t *list = json_loads(json, 0, NULL);
    if (!list)
        return NULL;
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        struct fiche_access a;
        fiche_access_of_json(obj, &a);
        json_object_del(obj, "_acces");
        fiche_decorate(obj, ctx, &a, NULL);
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text;
}

/* The canonical text of the filters, for the cursor's fingerprint. */
static uint32_t filters_fingerprint(const struct fiche_query *q)
{
    char canon[600];
    snprintf(canon, sizeof canon, "p=%s|d=%s|r=%s|a=%s|e=%s|t=%s|m=%s|n=%s|u=%s",
             q->id_pvd ? q->id_pvd : "", q->departement ? q->departement : "",
             q->region ? q->region : "", q->axe_id ? q->axe_id : "", q->etat ? q->etat : "",
             q->thematique ? q->thematique : "", q->maitre_ouvrage_id ? q->maitre_ouvrage_id : "",
             q->nature_depense ? q->nature_depense : "", q->public_ ? q->public_ : "");
    return cursor_fingerprint(canon);
}

static enum db_result list_page(struct request_ctx *ctx, void *arg, const char *after, size_t limit,
                                char **json_out, char last_key[65], bool *more, size_t *total,
                                struct db_error *err)
{
    return fiche_list(ctx->app->pool, arg, after, limit, json_out, last_key, more, total, err);
}

static char *page_of(struct request_ctx *ctx, void *arg, const char *json)
{
    (void)arg;
    return decorate_page(json, ctx);
}

void handle_list_fiches(struct request_ctx *ctx)
{
    struct fiche_query q;
    if (!query_or_reply(ctx, list_query_fields, &q))
        return;
    uint32_t fp;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_sync_cursor_or_reply(ctx, "fiches-action", filters_fingerprint(&q), &q.sync,
                                    query_is_uuid, key, &after, &fp))
        return;
    struct fiche_filtre f = filtre_of(ctx, &q);
    programme_respond_list(ctx, list_query_fields, "fiches-action", fp, after, q.limit, list_page,
                           page_of, &f);
}

/* ---- GET /api/v1/fiches-action.csv --------------------------------------- */

static const char *const csv_header[] = {
    "id",
    "id_pvd",
    "numero",
    "intitule",
    "axe",
    "etat",
    "maturite",
    "thematiques",
    "maitre_ouvrage",
    "maitre_ouvrage_siren",
    "commune_insee",
    "commune",
    "nature_depense",
    "cout_total_ht_euros",
    "cout_total_ttc_euros",
    "date_debut_prevue",
    "date_fin_prevue",
    "date_commencement",
    "date_achevement",
    "finance_euros",
    "public",
    NULL,
};

/* A date cell: the ISO date, or an empty cell when there is none. */
static enum csv_export_status date_cell(struct csv_export *csv, const char *iso)
{
    return iso[0] ? csv_export_date(csv, iso) : csv_export_text(csv, NULL);
}

/* One record (fiche_export_fn); false once the document is too large or a
 * value is refused (csv's status says which). */
static bool write_ligne(const struct fiche_export_ligne *l, void *ctx)
{
    struct csv_export *csv = ctx;
    enum csv_export_status s = CSV_EXPORT_OK;
    const char *texts[] = {l->id,
                           l->id_pvd,
                           l->numero,
                           l->intitule,
                           l->axe,
                           l->etat,
                           l->maturite,
                           l->thematiques,
                           l->maitre_ouvrage_nom,
                           l->maitre_ouvrage_siren,
                           l->commune_insee,
                           l->commune_nom,
                           l->nature_depense};
    for (size_t i = 0; s == CSV_EXPORT_OK && i < sizeof texts / sizeof texts[0]; i++)
        s = csv_export_text(csv, texts[i]);
    if (s == CSV_EXPORT_OK)
        s = csv_export_cents(csv, l->cout_total_ht_centimes);
    if (s == CSV_EXPORT_OK)
        s = l->has_cout_total_ttc ? csv_export_cents(csv, l->cout_total_ttc_centimes)
                                  : csv_export_text(csv, NULL);
    const char *dates[] = {l->date_debut_prevue, l->date_fin_prevue, l->date_commencement,
                           l->date_achevement};
    for (size_t i = 0; s == CSV_EXPORT_OK && i < sizeof dates / sizeof dates[0]; i++)
        s = date_cell(csv, dates[i]);
    if (s == CSV_EXPORT_OK)
        s = csv_export_cents(csv, l->finance_centimes);
    if (s == CSV_EXPORT_OK)
        s = csv_export_text(csv, l->public_ ? "oui" : "non");
    if (s == CSV_EXPORT_OK)
        s = csv_export_end_row(csv);
    return s == CSV_EXPORT_OK;
}

/* The 400 of an export larger than its bounds: the caller narrows it. */
static void respond_too_large(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "", NULL, "trop-d-elements",
                     "L'export dépasse %d fiches ou %zu Mio : restreignez-le avec les filtres "
                     "id_pvd, departement, region, axe_id, etat, thematique, maitre_ouvrage_id, "
                     "nature_depense ou public.",
                     FICHES_CSV_MAX_LIGNES, CSV_EXPORT_MAX_BYTES / (1024 * 1024));
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE,
                           "Trop de fiches pour un seul export : ajoutez des filtres.", &errs);
}

struct export_args {
    const struct fiche_filtre *f;
};

static enum db_result export_rows(struct request_ctx *ctx, void *arg, struct csv_export *csv,
                                  bool *too_many, bool *stopped, struct db_error *err)
{
    const struct export_args *a = arg;
    return fiche_export(ctx->app->pool, a->f, FICHES_CSV_MAX_LIGNES, write_ligne, csv, too_many,
                        stopped, err);
}

void handle_export_fiches_csv(struct request_ctx *ctx)
{
    struct fiche_query q;
    if (!query_or_reply(ctx, export_query_fields, &q))
        return;
    struct fiche_filtre f = filtre_of(ctx, &q);
    struct export_args a = {&f};
    struct date today;
    programme_today(&today);
    programme_respond_csv(ctx, csv_header, export_rows, &a, respond_too_large, "fiches-action",
                          today);
}
