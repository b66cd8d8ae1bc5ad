/* GET /api/v1/demandes-subvention: the list by perimeter, with its filters
 * (demandes.c holds the single-object routes and the shared helpers). */
#include "demandes.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/parametres_repository.h"
#include "../../db/pgutil.h"
#include "../../db/territoire_lock.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

/* ---- GET /api/v1/demandes-subvention ------------------------------------------------ */

static bool is_dispositif(const char *s)
{
    enum subvention_dispositif d;
    return subvention_dispositif_parse(s, &d);
}

static bool is_etat(const char *s)
{
    enum demande_etat e;
    return demande_etat_parse(s, &e);
}

static bool is_annee(const char *s)
{
    return s && strlen(s) == 4 && s[0] == '2' && strspn(s, "0123456789") == 4;
}

struct demande_query {
    size_t limit;
    const char *dispositif, *etat, *id_pvd, *departement, *annee, *fiche_id;
    struct query_sync sync;
};
#define DQ(member) offsetof(struct demande_query, member)

static const struct query_field list_fields[] = {
    QUERY_PAGE(struct demande_query, limit),
    QUERY_CODE_FIELD("dispositif", DQ(dispositif), is_dispositif,
                     "un dispositif (chef_de_projet_pvd, DETR, DSIL, "
                     "fonds_vert_recyclage_foncier, FNADT, autre)"),
    QUERY_CODE_FIELD("etat", DQ(etat), is_etat,
                     "un état de demande (brouillon, depose, en_instruction, accordee, refusee, "
                     "classee_sans_suite, rejet_implicite, notifiee, engagee, caduque, soldee, "
                     "forclose)"),
    QUERY_CODE_FIELD("id_pvd", DQ(id_pvd), territoire_id_pvd_is_valid,
                     "un identifiant pvd-<région>-<département>-<n>"),
    QUERY_CODE_FIELD("departement", DQ(departement), departement_code_is_valid,
                     "un code de département"),
    QUERY_CODE_FIELD("annee", DQ(annee), is_annee, "une année (2000 à 2999)"),
    QUERY_CODE_FIELD("fiche_id", DQ(fiche_id), query_is_uuid, "un UUID"),
    QUERY_SYNC_FIELDS(struct demande_query, sync),
    QUERY_FIELDS_END,
};

struct list_args {
    const struct demande_filtre *f;
    const struct parametres *p;
    struct date today;
};

static enum db_result list_page(struct request_ctx *ctx, void *arg, const char *after, size_t limit,
                                char **json_out, char last_key[65], bool *more, size_t *total,
                                struct db_error *err)
{
    const struct list_args *a = arg;
    return demande_list(ctx->app->pool, a->f, after, limit, json_out, last_key, more, total, err);
}

/* The requests of json decorated as demande_send does (NULL: one failed). */
static char *page_of(struct request_ctx *ctx, void *arg, const char *json)
{
    const struct list_args *a = arg;
    json_t *list = json_loads(json, 0, NULL);
    bool ok = list != NULL;
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        struct fiche_access acc;
        fiche_access_of_json(obj, &acc);
        json_object_del(obj, "_acces");
        enum demande_etat shown;
        ok = demande_decorate(obj, ctx, &acc, a->today, NULL, &shown) && ok;
    }
    char *page = ok ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return page;
}

void handle_list_demandes(struct request_ctx *ctx)
{
    struct demande_query q;
    if (!query_or_reply(ctx, list_fields, &q))
        return;
    char canon[300];
    snprintf(canon, sizeof canon, "d=%s|e=%s|p=%s|dep=%s|a=%s|f=%s",
             q.dispositif ? q.dispositif : "", q.etat ? q.etat : "", q.id_pvd ? q.id_pvd : "",
             q.departement ? q.departement : "", q.annee ? q.annee : "",
             q.fiche_id ? q.fiche_id : "");
    uint32_t fp;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_sync_cursor_or_reply(ctx, "demandes-subvention", cursor_fingerprint(canon), &q.sync,
                                    query_is_uuid, key, &after, &fp))
        return;
    struct date today;
    struct parametres p;
    if (!demande_today_parametres_or_reply(ctx, &today, &p))
        return;
    struct demande_filtre f = {
        .role = role_name(role_reads_as(ctx->principal->authz.role)),
        .perimeter = &ctx->principal->authz.perimeter,
        .dispositif = q.dispositif,
        .etat = q.etat,
        .id_pvd = q.id_pvd,
        .departement = q.departement,
        .annee = q.annee,
        .fiche_id = q.fiche_id,
        .today = today,
        .sync = query_sync_list(&q.sync),
    };
    struct list_args a = {&f, &p, today};
    programme_respond_list(ctx, list_fields, "demandes-subvention", fp, after, q.limit, list_page,
                           page_of, &a);
}
