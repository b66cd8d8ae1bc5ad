/* Every route handler, one group per file: service.c (health, readiness,
 * metrics, contract) and referentiel.c (régions, départements, communes, EPCI).
 * Contract of each: answers through http.h helpers, never fails silently. */
#ifndef PVD_API_HANDLERS_H
#define PVD_API_HANDLERS_H

#include <ulfius.h>

#include "../http.h"

void handle_get_healthz(const struct _u_request *req, struct _u_response *res,
                        struct request_ctx *ctx);
void handle_get_readyz(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_get_metrics(const struct _u_request *req, struct _u_response *res,
                        struct request_ctx *ctx);
void handle_get_openapi(const struct _u_request *req, struct _u_response *res,
                        struct request_ctx *ctx);

void handle_list_regions(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);
void handle_list_departements(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_list_communes(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_get_commune(const struct _u_request *req, struct _u_response *res,
                        struct request_ctx *ctx);
void handle_list_epci(const struct _u_request *req, struct _u_response *res,
                      struct request_ctx *ctx);
void handle_get_epci(const struct _u_request *req, struct _u_response *res,
                     struct request_ctx *ctx);

void handle_get_moi(const struct _u_request *req, struct _u_response *res, struct request_ctx *ctx);

void handle_list_habilitations(const struct _u_request *req, struct _u_response *res,
                               struct request_ctx *ctx);
void handle_create_habilitation(const struct _u_request *req, struct _u_response *res,
                                struct request_ctx *ctx);
void handle_get_habilitation(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_revoke_habilitation(const struct _u_request *req, struct _u_response *res,
                                struct request_ctx *ctx);
void handle_list_journal(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);

void handle_list_clients(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);
void handle_create_client(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_get_client(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_revoke_client(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_rotate_client_secret(const struct _u_request *req, struct _u_response *res,
                                 struct request_ctx *ctx);
void handle_oauth_token(const struct _u_request *req, struct _u_response *res,
                        struct request_ctx *ctx);
void handle_get_jwks(const struct _u_request *req, struct _u_response *res,
                     struct request_ctx *ctx);

/* Conventions (issue #4 §2): conventions.c, conventions_actions.c, statistiques.c. */
void handle_create_convention(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_list_conventions(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_get_convention(const struct _u_request *req, struct _u_response *res,
                           struct request_ctx *ctx);
void handle_update_convention(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_sign_convention(const struct _u_request *req, struct _u_response *res,
                            struct request_ctx *ctx);
void handle_transition_convention(const struct _u_request *req, struct _u_response *res,
                                  struct request_ctx *ctx);
void handle_create_avenant(const struct _u_request *req, struct _u_response *res,
                           struct request_ctx *ctx);
void handle_list_convention_versions(const struct _u_request *req, struct _u_response *res,
                                     struct request_ctx *ctx);
void handle_get_convention_version(const struct _u_request *req, struct _u_response *res,
                                   struct request_ctx *ctx);
void handle_get_statistiques_conventions(const struct _u_request *req, struct _u_response *res,
                                         struct request_ctx *ctx);
/* Projet de territoire (axes.c) and comité de projet (comites.c), issue 4 §3. */
void handle_list_axes(const struct _u_request *req, struct _u_response *res,
                      struct request_ctx *ctx);
void handle_create_axe(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_get_axe(const struct _u_request *req, struct _u_response *res, struct request_ctx *ctx);
void handle_update_axe(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_delete_axe(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_list_indicateurs(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_create_indicateur(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_get_indicateur(const struct _u_request *req, struct _u_response *res,
                           struct request_ctx *ctx);
void handle_update_indicateur(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_delete_indicateur(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_list_mesures(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);
void handle_create_mesure(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_list_comites(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);
void handle_create_comite(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_get_comite(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_update_comite(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_list_seances(const struct _u_request *req, struct _u_response *res,
                         struct request_ctx *ctx);
void handle_create_seance(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_get_seance(const struct _u_request *req, struct _u_response *res,
                       struct request_ctx *ctx);
void handle_update_seance(const struct _u_request *req, struct _u_response *res,
                          struct request_ctx *ctx);
void handle_list_decisions(const struct _u_request *req, struct _u_response *res,
                           struct request_ctx *ctx);
void handle_create_decision(const struct _u_request *req, struct _u_response *res,
                            struct request_ctx *ctx);
/* organisations.c, territoires.c (issue 4 §1) */
void handle_list_organisations(const struct _u_request *req, struct _u_response *res,
                               struct request_ctx *ctx);
void handle_create_organisation(const struct _u_request *req, struct _u_response *res,
                                struct request_ctx *ctx);
void handle_get_organisation(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_patch_organisation(const struct _u_request *req, struct _u_response *res,
                               struct request_ctx *ctx);
void handle_list_territoires(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_create_territoire(const struct _u_request *req, struct _u_response *res,
                              struct request_ctx *ctx);
void handle_get_territoire(const struct _u_request *req, struct _u_response *res,
                           struct request_ctx *ctx);
void handle_patch_territoire(const struct _u_request *req, struct _u_response *res,
                             struct request_ctx *ctx);
void handle_import_territoires(const struct _u_request *req, struct _u_response *res,
                               struct request_ctx *ctx);

#endif
