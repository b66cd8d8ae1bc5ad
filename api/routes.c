/* The route table and its registration (see routes.h). */
#include "routes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers/handlers.h"
#include "log.h"
#include "query_params.h"

/* KEYED: a POST whose first response is stored and replayed for a repeated
 * Idempotency-Key (api/idempotency.h); NOKEY: the header is ignored — every
 * other method, public routes, and the client routes, whose responses hold a
 * secret that must never be stored. */
#define KEYED ROUTE_KEY_REPLAYED
#define NOKEY ROUTE_KEY_IGNORED
/* CACHED: an authenticated GET whose 200 is kept in the replica's read cache
 * (api/cached_reads.h) and served again to the same caller for the same URL
 * while the database has not changed; CACHED_RP: the same for a route
 * reading app_read_pool (not cached with DATABASE_READ_URL); FRESH: computed
 * on every request. */
#define CACHED    ROUTE_CACHE_PRIMARY
#define CACHED_RP ROUTE_CACHE_READ_POOL
#define FRESH     ROUTE_CACHE_NONE

/* clang-format off */
static const struct route routes[] = {
    /* method  path                              access             action       handler   Idempotency-Key  read cache */
    {"GET",   "/healthz",                         ROUTE_PUBLIC,      NULL,        handle_get_healthz, NOKEY, FRESH},
    {"GET",   "/readyz",                          ROUTE_PUBLIC,      NULL,        handle_get_readyz, NOKEY, FRESH},
    {"GET",   "/metrics",                         ROUTE_PUBLIC,      NULL,        handle_get_metrics, NOKEY, FRESH},
    {"GET",   "/api/v1/openapi.json",             ROUTE_PUBLIC,      NULL,        handle_get_openapi, NOKEY, FRESH},
    {"GET",   "/api/v1/regions",                  ROUTE_PUBLIC,      NULL,        handle_list_regions, NOKEY, FRESH},
    {"GET",   "/api/v1/departements",             ROUTE_PUBLIC,      NULL,        handle_list_departements, NOKEY, FRESH},
    {"GET",   "/api/v1/communes",                 ROUTE_PUBLIC,      NULL,        handle_list_communes, NOKEY, FRESH},
    {"GET",   "/api/v1/communes/:code_insee",     ROUTE_PUBLIC,      NULL,        handle_get_commune, NOKEY, FRESH},
    {"GET",   "/api/v1/epci",                     ROUTE_PUBLIC,      NULL,        handle_list_epci, NOKEY, FRESH},
    {"GET",   "/api/v1/epci/:siren",              ROUTE_PUBLIC,      NULL,        handle_get_epci, NOKEY, FRESH},
    {"GET",   "/api/v1/moi",                      ROUTE_IDENTIFIED,  "moi.lire",  handle_get_moi, NOKEY, FRESH},
    {"GET",   "/api/v1/habilitations",            ROUTE_HABILITATED, "habilitation.lire",     handle_list_habilitations, NOKEY, FRESH},
    {"POST",  "/api/v1/habilitations",            ROUTE_HABILITATED, "habilitation.accorder", handle_create_habilitation, KEYED, FRESH},
    {"GET",   "/api/v1/habilitations/:id",        ROUTE_HABILITATED, "habilitation.lire",     handle_get_habilitation, NOKEY, FRESH},
    {"DELETE","/api/v1/habilitations/:id",        ROUTE_HABILITATED, "habilitation.revoquer", handle_revoke_habilitation, NOKEY, FRESH},
    {"GET",   "/api/v1/journal",                  ROUTE_HABILITATED, "journal.lire",          handle_list_journal, NOKEY, FRESH},
    {"GET",   "/api/v1/clients",                  ROUTE_HABILITATED, "client.gerer",          handle_list_clients, NOKEY, FRESH},
    {"POST",  "/api/v1/clients",                  ROUTE_HABILITATED, "client.gerer",          handle_create_client, NOKEY, FRESH},
    {"GET",   "/api/v1/clients/:id",              ROUTE_HABILITATED, "client.gerer",          handle_get_client, NOKEY, FRESH},
    {"DELETE","/api/v1/clients/:id",              ROUTE_HABILITATED, "client.gerer",          handle_revoke_client, NOKEY, FRESH},
    {"POST",  "/api/v1/clients/:id/secret",       ROUTE_HABILITATED, "client.gerer",          handle_rotate_client_secret, NOKEY, FRESH},
    {"GET",   "/api/v1/conventions",              ROUTE_HABILITATED, "convention.lire",       handle_list_conventions, NOKEY, CACHED_RP},
    {"POST",  "/api/v1/conventions",              ROUTE_HABILITATED, "convention.ecrire",     handle_create_convention, KEYED, FRESH},
    {"GET",   "/api/v1/conventions/:id",          ROUTE_HABILITATED, "convention.lire",       handle_get_convention, NOKEY, CACHED},
    {"PATCH", "/api/v1/conventions/:id",          ROUTE_HABILITATED, "convention.ecrire",     handle_update_convention, NOKEY, FRESH},
    {"POST",  "/api/v1/conventions/:id/signatures", ROUTE_HABILITATED, "convention.signer",   handle_sign_convention, KEYED, FRESH},
    {"POST",  "/api/v1/conventions/:id/transitions", ROUTE_HABILITATED, "convention.transition", handle_transition_convention, KEYED, FRESH},
    {"POST",  "/api/v1/conventions/:id/avenants", ROUTE_HABILITATED, "convention.ecrire",     handle_create_avenant, KEYED, FRESH},
    {"GET",   "/api/v1/conventions/:id/versions", ROUTE_HABILITATED, "convention.lire",       handle_list_convention_versions, NOKEY, CACHED},
    {"GET",   "/api/v1/conventions/:id/versions/:numero", ROUTE_HABILITATED, "convention.lire", handle_get_convention_version, NOKEY, CACHED},
    {"GET",   "/api/v1/statistiques/conventions", ROUTE_HABILITATED, "statistiques.lire",     handle_get_statistiques_conventions, NOKEY, FRESH},
    {"POST",  "/api/v1/oauth/token",              ROUTE_PUBLIC,      NULL,                    handle_oauth_token, NOKEY, FRESH},
    {"GET",   "/api/v1/.well-known/jwks.json",    ROUTE_PUBLIC,      NULL,                    handle_get_jwks, NOKEY, FRESH},
    /* Projet de territoire and comité de projet (issue 4 §3): axes.c, comites.c */
    {"GET",   "/api/v1/territoires/:id_pvd/axes-strategiques", ROUTE_HABILITATED, "projet.lire",   handle_list_axes, NOKEY, FRESH},
    {"POST",  "/api/v1/territoires/:id_pvd/axes-strategiques", ROUTE_HABILITATED, "projet.ecrire", handle_create_axe, KEYED, FRESH},
    {"GET",   "/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.lire",   handle_get_axe, NOKEY, FRESH},
    {"PATCH", "/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.ecrire", handle_update_axe, NOKEY, FRESH},
    {"DELETE","/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.ecrire", handle_delete_axe, NOKEY, FRESH},
    {"GET",   "/api/v1/axes-strategiques/:id/indicateurs",     ROUTE_HABILITATED, "projet.lire",   handle_list_indicateurs, NOKEY, FRESH},
    {"POST",  "/api/v1/axes-strategiques/:id/indicateurs",     ROUTE_HABILITATED, "projet.ecrire", handle_create_indicateur, KEYED, FRESH},
    {"GET",   "/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.lire",   handle_get_indicateur, NOKEY, FRESH},
    {"PATCH", "/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.ecrire", handle_update_indicateur, NOKEY, FRESH},
    {"DELETE","/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.ecrire", handle_delete_indicateur, NOKEY, FRESH},
    {"GET",   "/api/v1/indicateurs/:id/mesures",               ROUTE_HABILITATED, "projet.lire",   handle_list_mesures, NOKEY, FRESH},
    {"POST",  "/api/v1/indicateurs/:id/mesures",               ROUTE_HABILITATED, "projet.ecrire", handle_create_mesure, KEYED, FRESH},
    {"GET",   "/api/v1/comites",                               ROUTE_HABILITATED, "projet.lire",   handle_list_comites, NOKEY, FRESH},
    {"POST",  "/api/v1/comites",                               ROUTE_HABILITATED, "projet.ecrire", handle_create_comite, KEYED, FRESH},
    {"GET",   "/api/v1/comites/:id",                           ROUTE_HABILITATED, "projet.lire",   handle_get_comite, NOKEY, FRESH},
    {"PATCH", "/api/v1/comites/:id",                           ROUTE_HABILITATED, "projet.ecrire", handle_update_comite, NOKEY, FRESH},
    {"GET",   "/api/v1/comites/:id/seances",                   ROUTE_HABILITATED, "projet.lire",   handle_list_seances, NOKEY, FRESH},
    {"POST",  "/api/v1/comites/:id/seances",                   ROUTE_HABILITATED, "projet.ecrire", handle_create_seance, KEYED, FRESH},
    {"GET",   "/api/v1/seances/:id",                           ROUTE_HABILITATED, "projet.lire",   handle_get_seance, NOKEY, FRESH},
    {"PATCH", "/api/v1/seances/:id",                           ROUTE_HABILITATED, "projet.ecrire", handle_update_seance, NOKEY, FRESH},
    {"GET",   "/api/v1/seances/:id/decisions",                 ROUTE_HABILITATED, "projet.lire",   handle_list_decisions, NOKEY, FRESH},
    {"POST",  "/api/v1/seances/:id/decisions",                 ROUTE_HABILITATED, "projet.ecrire", handle_create_decision, KEYED, FRESH},
    /* Issue 4 §1: organisations and territoires PVD */
    {"GET",   "/api/v1/organisations",            ROUTE_PUBLIC,      NULL,                    handle_list_organisations, NOKEY, FRESH},
    {"POST",  "/api/v1/organisations",            ROUTE_HABILITATED, "organisation.creer",    handle_create_organisation, KEYED, FRESH},
    {"GET",   "/api/v1/organisations/:id",        ROUTE_PUBLIC,      NULL,                    handle_get_organisation, NOKEY, FRESH},
    {"PATCH", "/api/v1/organisations/:id",        ROUTE_HABILITATED, "organisation.ecrire",   handle_patch_organisation, NOKEY, FRESH},
    {"GET",   "/api/v1/territoires",              ROUTE_PUBLIC,      NULL,                    handle_list_territoires, NOKEY, FRESH},
    {"POST",  "/api/v1/territoires",              ROUTE_HABILITATED, "territoire.ecrire",     handle_create_territoire, KEYED, FRESH},
    {"POST",  "/api/v1/territoires/import",       ROUTE_HABILITATED, "territoire.ecrire",     handle_import_territoires, KEYED, FRESH},
    {"GET",   "/api/v1/territoires/:id_pvd",      ROUTE_PUBLIC,      NULL,                    handle_get_territoire, NOKEY, FRESH},
    {"PATCH", "/api/v1/territoires/:id_pvd",      ROUTE_HABILITATED, "territoire.ecrire",     handle_patch_territoire, NOKEY, FRESH},
    /* Issue 9 §1: fiches action (fiches.c, fiches_transitions.c) */
    {"POST",  "/api/v1/fiches-action",            ROUTE_HABILITATED, "fiche.ecrire",          handle_create_fiche, KEYED, FRESH},
    {"GET",   "/api/v1/fiches-action/:id",        ROUTE_HABILITATED, "fiche.lire",            handle_get_fiche, NOKEY, CACHED},
    {"PATCH", "/api/v1/fiches-action/:id",        ROUTE_HABILITATED, "fiche.ecrire",          handle_update_fiche, NOKEY, FRESH},
    {"GET",   "/api/v1/fiches-action",            ROUTE_HABILITATED, "fiche.lire",            handle_list_fiches, NOKEY, CACHED},
    {"GET",   "/api/v1/fiches-action.csv",        ROUTE_HABILITATED, "fiche.lire",            handle_export_fiches_csv, NOKEY, FRESH},
    {"POST",  "/api/v1/fiches-action/:id/transitions", ROUTE_HABILITATED, "fiche.transition", handle_transition_fiche, KEYED, FRESH},
    /* — end of fiches action — */
    /* Issue 9 §2: financing plan and échéancier of a fiche (fiches_financement.c) */
    {"GET",   "/api/v1/fiches-action/:id/plan-financement",        ROUTE_HABILITATED, "fiche.lire",   handle_get_plan_financement, NOKEY, FRESH},
    {"PUT",   "/api/v1/fiches-action/:id/plan-financement",        ROUTE_HABILITATED, "fiche.ecrire", handle_put_plan_financement, NOKEY, FRESH},
    {"POST",  "/api/v1/fiches-action/:id/plan-financement/lignes", ROUTE_HABILITATED, "fiche.ecrire", handle_add_ligne_financement, KEYED, FRESH},
    {"GET",   "/api/v1/fiches-action/:id/echeancier",              ROUTE_HABILITATED, "fiche.lire",   handle_get_echeancier, NOKEY, FRESH},
    {"PUT",   "/api/v1/fiches-action/:id/echeancier",              ROUTE_HABILITATED, "fiche.ecrire", handle_put_echeancier, NOKEY, FRESH},
    /* — end of financing — */
    /* Issue 9 §3: plan d'action and maquette financière (plan_action.c, maquette.c) */
    {"GET",   "/api/v1/territoires/:id_pvd/plan-action",           ROUTE_HABILITATED, "fiche.lire",   handle_get_plan_action, NOKEY, FRESH},
    {"PATCH", "/api/v1/territoires/:id_pvd/plan-action",           ROUTE_HABILITATED, "fiche.ecrire", handle_update_plan_action, NOKEY, FRESH},
    {"GET",   "/api/v1/territoires/:id_pvd/plan-action/versions",  ROUTE_HABILITATED, "fiche.lire",   handle_list_plan_action_versions, NOKEY, FRESH},
    {"GET",   "/api/v1/territoires/:id_pvd/plan-action/versions/:version", ROUTE_HABILITATED, "fiche.lire", handle_get_plan_action_version, NOKEY, FRESH},
    {"GET",   "/api/v1/territoires/:id_pvd/maquette-financiere",   ROUTE_HABILITATED, "fiche.lire",   handle_get_maquette_financiere, NOKEY, FRESH},
    /* — end of plan d'action — */
    /* Issue 9 §1: public fiches, no token (fiches_publiques.c) */
    {"GET",   "/api/v1/public/fiches-action",     ROUTE_PUBLIC,      NULL,                    handle_list_fiches_publiques, NOKEY, FRESH},
    {"GET",   "/api/v1/public/fiches-action/:id", ROUTE_PUBLIC,      NULL,                    handle_get_fiche_publique, NOKEY, FRESH},
    /* — end of public fiches — */
    /* Issue 10 §1: programme parameters (parametres.c) */
    {"GET",   "/api/v1/parametres",               ROUTE_HABILITATED, "parametres.lire",       handle_get_parametres, NOKEY, FRESH},
    {"PUT",   "/api/v1/parametres",               ROUTE_HABILITATED, "parametres.ecrire",     handle_put_parametres, NOKEY, FRESH},
    {"GET",   "/api/v1/parametres/versions",      ROUTE_HABILITATED, "parametres.lire",       handle_list_parametres_versions, NOKEY, FRESH},
    {"GET",   "/api/v1/parametres/versions/:version", ROUTE_HABILITATED, "parametres.lire",   handle_get_parametres_version, NOKEY, FRESH},
    /* — end of programme parameters — */
    /* Issue 10 §2: postes de chef de projet (postes.c) */
    {"POST",  "/api/v1/postes-chef-de-projet",                   ROUTE_HABILITATED, "poste.ecrire", handle_create_poste, KEYED, FRESH},
    {"GET",   "/api/v1/postes-chef-de-projet",                   ROUTE_HABILITATED, "poste.lire",   handle_list_postes, NOKEY, CACHED_RP},
    {"GET",   "/api/v1/postes-chef-de-projet/:id",               ROUTE_HABILITATED, "poste.lire",   handle_get_poste, NOKEY, CACHED},
    {"PATCH", "/api/v1/postes-chef-de-projet/:id",               ROUTE_HABILITATED, "poste.ecrire", handle_update_poste, NOKEY, FRESH},
    {"GET",   "/api/v1/postes-chef-de-projet/:id/annees",        ROUTE_HABILITATED, "poste.lire",   handle_list_poste_annees, NOKEY, FRESH},
    {"GET",   "/api/v1/postes-chef-de-projet/:id/annees/:annee", ROUTE_HABILITATED, "poste.lire",   handle_get_poste_annee, NOKEY, FRESH},
    {"PUT",   "/api/v1/postes-chef-de-projet/:id/annees/:annee", ROUTE_HABILITATED, "poste.ecrire", handle_put_poste_annee, NOKEY, FRESH},
    /* — end of postes de chef de projet — */
    /* Issue 10 §3: demandes de subvention (demandes.c) */
    {"GET",   "/api/v1/demandes-subvention",      ROUTE_HABILITATED, "demande.lire",          handle_list_demandes, NOKEY, CACHED},
    {"POST",  "/api/v1/demandes-subvention",      ROUTE_HABILITATED, "demande.ecrire",        handle_create_demande, KEYED, FRESH},
    {"GET",   "/api/v1/demandes-subvention/:id",  ROUTE_HABILITATED, "demande.lire",          handle_get_demande, NOKEY, CACHED},
    {"PATCH", "/api/v1/demandes-subvention/:id",  ROUTE_HABILITATED, "demande.ecrire",        handle_update_demande, NOKEY, FRESH},
    {"POST",  "/api/v1/demandes-subvention/:id/transitions", ROUTE_HABILITATED, "demande.transition", handle_transition_demande, KEYED, FRESH},
    {"POST",  "/api/v1/demandes-subvention/:id/versements",  ROUTE_HABILITATED, "demande.transition", handle_versement_demande, KEYED, FRESH},
    {"POST",  "/api/v1/demandes-subvention/:id/prolongations", ROUTE_HABILITATED, "demande.transition", handle_prolongation_demande, KEYED, FRESH},
    {"PUT",   "/api/v1/demandes-subvention/par-dossier-ds/:numero", ROUTE_HABILITATED, "demande.synchroniser", handle_sync_demande_ds, NOKEY, FRESH},
    /* — end of demandes de subvention — */
    /* Issue 11 §1: event feed (evenements.c) */
    {"GET",   "/api/v1/evenements",               ROUTE_HABILITATED, "journal.lire",          handle_list_evenements, NOKEY, FRESH},
    {"GET",   "/api/v1/public/evenements",        ROUTE_PUBLIC,      NULL,                    handle_list_evenements_publics, NOKEY, FRESH},
    /* — end of event feed — */
    /* Issue 11 §2: webhooks (abonnements.c); the secret's rotation answers with the secret: NOKEY */
    {"GET",   "/api/v1/abonnements",              ROUTE_HABILITATED, "abonnement.lire",       handle_list_abonnements, NOKEY, FRESH},
    {"POST",  "/api/v1/abonnements",              ROUTE_HABILITATED, "abonnement.gerer",      handle_create_abonnement, KEYED, FRESH},
    {"GET",   "/api/v1/abonnements/:id",          ROUTE_HABILITATED, "abonnement.lire",       handle_get_abonnement, NOKEY, FRESH},
    {"PATCH", "/api/v1/abonnements/:id",          ROUTE_HABILITATED, "abonnement.gerer",      handle_update_abonnement, NOKEY, FRESH},
    {"DELETE","/api/v1/abonnements/:id",          ROUTE_HABILITATED, "abonnement.gerer",      handle_delete_abonnement, NOKEY, FRESH},
    {"POST",  "/api/v1/abonnements/:id/secret",   ROUTE_HABILITATED, "abonnement.gerer",      handle_rotate_abonnement_secret, NOKEY, FRESH},
    {"GET",   "/api/v1/abonnements/:id/livraisons", ROUTE_HABILITATED, "abonnement.lire",     handle_list_livraisons, NOKEY, FRESH},
    {"POST",  "/api/v1/abonnements/:id/livraisons/:livraison_id/rejouer", ROUTE_HABILITATED, "abonnement.gerer", handle_replay_livraison, NOKEY, FRESH},
    /* — end of webhooks — */
    /* Issue 11 §3: open data (donnees_ouvertes.c) */
    {"GET",   "/api/v1/donnees-ouvertes",                    ROUTE_PUBLIC, NULL, handle_donnees_catalogue, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/laureats.csv",       ROUTE_PUBLIC, NULL, handle_donnees_laureats_csv, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/laureats.json",      ROUTE_PUBLIC, NULL, handle_donnees_laureats_json, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/fiches-action.csv",  ROUTE_PUBLIC, NULL, handle_donnees_fiches_csv, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/fiches-action.json", ROUTE_PUBLIC, NULL, handle_donnees_fiches_json, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/subventions.csv",    ROUTE_PUBLIC, NULL, handle_export_subventions_csv, NOKEY, FRESH},
    {"GET",   "/api/v1/donnees-ouvertes/subventions.json",   ROUTE_PUBLIC, NULL, handle_donnees_subventions_json, NOKEY, FRESH},
    /* — end of open data — */
    /* Issue 11 §4: documentation, compression, CORS (docs.c) */
    {"GET",   "/api/v1/docs",                     ROUTE_PUBLIC,      NULL,                    handle_get_docs, NOKEY, FRESH},
    {"GET",   "/docs",                            ROUTE_PUBLIC,      NULL,                    handle_redirect_docs, NOKEY, FRESH},
    /* — end of documentation, compression, CORS — */
};
/* clang-format on */
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

const struct route *routes_table(size_t *count)
{
    *count = ROUTE_COUNT;
    return routes;
}

size_t routes_index(const struct route *route)
{
    return route ? (size_t)(route - routes) : ROUTE_COUNT;
}

const char *routes_path(const struct route *route)
{
    return route->path;
}

/* Does the URL path (path_len bytes) match the template? Their non-empty
 * segments pairwise (param_next_segment); ":x" takes any one segment. */
static bool path_matches(const char *template, const char *path, size_t path_len)
{
    size_t t_end = strlen(template), ti = 0, pi = 0;
    for (;;) {
        const char *t, *p;
        size_t t_len, p_len;
        bool has_t = param_next_segment(template, t_end, &ti, &t, &t_len);
        bool has_p = param_next_segment(path, path_len, &pi, &p, &p_len);
        if (!has_t || !has_p)
            return has_t == has_p;
        if (t[0] != ':' && (t_len != p_len || memcmp(t, p, t_len) != 0))
            return false;
    }
}

const struct route *routes_match(const char *method, const char *path)
{
    if (method == NULL || path == NULL)
        return NULL;
    const char *wanted = strcasecmp(method, "HEAD") == 0 ? "GET" : method;
    size_t path_len = strlen(path);
    int first = toupper((unsigned char)wanted[0]);
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        /* the table's methods are upper case: their first letters sort out most rows */
        if (routes[i].method[0] != first || strcasecmp(routes[i].method, wanted) != 0)
            continue;
        if (path_matches(routes[i].path, path, path_len))
            return &routes[i];
    }
    return NULL;
}

bool routes_reachable(const struct route *route)
{
    char path[512];
    size_t len = 0;
    for (const char *t = route->path; *t != '\0' && len + 2 < sizeof path;) {
        if (t[0] == ':' && (t == route->path || t[-1] == '/')) {
            path[len++] = 'x'; /* any value stands for a parameter */
            t += strcspn(t, "/");
        } else {
            path[len++] = *t++;
        }
    }
    path[len] = '\0';
    return routes_match(route->method, path) == route;
}

bool routes_allowed_methods(const char *path, char *allow, size_t size)
{
    size_t len = 0;
    bool found = false;
    allow[0] = '\0';
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!path_matches(routes[i].path, path, strlen(path)))
            continue;
        if (strstr(allow, routes[i].method))
            continue;
        int n = snprintf(allow + len, size - len, "%s%s", found ? ", " : "", routes[i].method);
        if (n > 0 && (size_t)n < size - len)
            len += (size_t)n;
        if (strcmp(routes[i].method, "GET") == 0) {
            n = snprintf(allow + len, size - len, ", HEAD");
            if (n > 0 && (size_t)n < size - len)
                len += (size_t)n;
        }
        found = true;
    }
    return found;
}

void routes_print(bool details)
{
    static const char *const access[] = {"public", "identifie", "habilite"};
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (details)
            printf("%s %s %s %s\n", routes[i].method, routes[i].path, access[routes[i].access],
                   routes[i].action ? routes[i].action : "-");
        else
            printf("%s %s\n", routes[i].method, routes[i].path);
    }
}
