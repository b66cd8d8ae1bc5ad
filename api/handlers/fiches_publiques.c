/* The open-data read of fiches action (issue #9 §1), without a token: what
 * the aides-territoires portal shows of the fiches their collectivité marked
 * `public`, in their public projection (db/fiche_publique_repository.h:
 * public fields only, never a person's data). A fiche that is not public is
 * answered exactly as one that does not exist (404, same body), so the
 * route tells nothing about private fiches. Both answers may be cached by
 * anyone for five minutes (Cache-Control: public, max-age=300); CORS is the
 * pipeline's, as on every public route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/fiche_publique_repository.h"
#include "../../domain/fiche.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../query.h"
#include "handlers.h"

#define CACHE_CONTROL "public, max-age=300"
#define NOT_FOUND     "Aucune fiche action publique n'a cet identifiant."
#define LIST_SCOPE    "fiches-publiques"

static bool etat_is_valid(const char *s)
{
    enum fiche_etat e;
    return fiche_etat_parse(s, &e);
}

/* The query of GET /public/fiches-action. */
struct fiche_publique_query {
    size_t limit;
    struct fiche_publique_filtre f;
};
#define PQ(member) offsetof(struct fiche_publique_query, member)
static const struct query_field fiche_publique_query_fields[] = {
    QUERY_PAGE(struct fiche_publique_query, limit),
    QUERY_CODE_FIELD("id_pvd", PQ(f.id_pvd), territoire_id_pvd_is_valid,
                     "un identifiant de territoire pvd-<région>-<département>-<n>"),
    QUERY_CODE_FIELD("departement", PQ(f.departement), departement_code_is_valid,
                     "un code de département (01, 2A, 974…)"),
    QUERY_CODE_FIELD("region", PQ(f.region), region_code_is_valid, "un code de région (27, 04…)"),
    QUERY_CODE_FIELD("thematique", PQ(f.thematique), fiche_thematique_is_valid,
                     "une thématique (habitat, commerce, espaces_publics, mobilite, "
                     "patrimoine_culture, services_equipements, transition_ecologique, numerique, "
                     "developpement_economique, friches_foncier)"),
    QUERY_CODE_FIELD("nature_depense", PQ(f.nature_depense), fiche_nature_depense_is_valid,
                     "etude, ingenierie, investissement, fonctionnement ou acquisition"),
    QUERY_CODE_FIELD("etat", PQ(f.etat), etat_is_valid,
                     "brouillon, en_maturation, programmee, en_cours, suspendue, realisee ou "
                     "abandonnee"),
    QUERY_CODE_FIELD("axe_id", PQ(f.axe_id), query_is_uuid, "un identifiant d'axe (UUID)"),
    QUERY_FIELDS_END,
};

void handle_list_fiches_publiques(struct request_ctx *ctx)
{
    struct fiche_publique_query q;
    if (!query_or_reply(ctx, fiche_publique_query_fields, &q))
        return;
    const struct fiche_publique_filtre *f = &q.f;
    char canon[300];
    snprintf(canon, sizeof canon, "p=%s|d=%s|r=%s|t=%s|n=%s|e=%s|a=%s", f->id_pvd ? f->id_pvd : "",
             f->departement ? f->departement : "", f->region ? f->region : "",
             f->thematique ? f->thematique : "", f->nature_depense ? f->nature_depense : "",
             f->etat ? f->etat : "", f->axe_id ? f->axe_id : "");
    uint32_t fp = cursor_fingerprint(canon);
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_keyed_cursor_or_reply(ctx, LIST_SCOPE, fp, query_is_uuid, key, &after))
        return;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[37];
    bool more = false;
    size_t total = 0;
    enum db_result r = fiche_publique_list(app_read_pool(ctx->app), f, after, q.limit, &json, last,
                                           &more, &total, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, fiche_publique_query_fields, json, LIST_SCOPE, fp, last, more, total);
    u_map_put(ctx->res->map_header, "Cache-Control", CACHE_CONTROL);
    free(json);
}

void handle_get_fiche_publique(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    if (!query_spec_check_names(ctx->req, query_no_params, &errs)) {
        query_errors_or_reply(ctx, &errs);
        return;
    }
    /* Not a UUID: no fiche has this id (the answer of an unknown one). */
    const char *id = query_path_param(ctx, "id");
    if (!query_is_uuid(id)) {
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, NOT_FOUND);
        return;
    }
    struct db_error err = {{0}, {0}};
    char *json = NULL;
    enum db_result r = fiche_publique_get(ctx->app->pool, id, &json, &err);
    if (!respond_lookup_or_reply(ctx, r, &err, NOT_FOUND))
        return;
    char etag[24];
    size_t len = strlen(json);
    http_etag(json, len, etag);
    respond_conditional_json(ctx, json, len, etag);
    u_map_put(ctx->res->map_header, "Cache-Control", CACHE_CONTROL);
    free(json);
}
