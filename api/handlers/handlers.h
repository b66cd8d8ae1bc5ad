/* Every route handler, one group per file: service.c (health, readiness,
 * metrics, contract) and referentiel.c (régions, départements, communes, EPCI).
 * Contract of each: answers through http.h helpers, never fails silently. */
#ifndef PVD_API_HANDLERS_H
#define PVD_API_HANDLERS_H

#include <ulfius.h>

#include "../http.h"

void handle_get_healthz(struct request_ctx *ctx);
void handle_get_readyz(struct request_ctx *ctx);
void handle_get_metrics(struct request_ctx *ctx);
void handle_get_openapi(struct request_ctx *ctx);

void handle_list_regions(struct request_ctx *ctx);
void handle_list_departements(struct request_ctx *ctx);
void handle_list_communes(struct request_ctx *ctx);
void handle_get_commune(struct request_ctx *ctx);
void handle_list_epci(struct request_ctx *ctx);
void handle_get_epci(struct request_ctx *ctx);

void handle_get_moi(struct request_ctx *ctx);

void handle_list_habilitations(struct request_ctx *ctx);
void handle_create_habilitation(struct request_ctx *ctx);
void handle_get_habilitation(struct request_ctx *ctx);
void handle_revoke_habilitation(struct request_ctx *ctx);
void handle_list_journal(struct request_ctx *ctx);

void handle_list_clients(struct request_ctx *ctx);
void handle_create_client(struct request_ctx *ctx);
void handle_get_client(struct request_ctx *ctx);
void handle_revoke_client(struct request_ctx *ctx);
void handle_rotate_client_secret(struct request_ctx *ctx);
void handle_oauth_token(struct request_ctx *ctx);
void handle_get_jwks(struct request_ctx *ctx);

/* Conventions (issue #4 §2): conventions.c, conventions_actions.c, statistiques.c. */
void handle_create_convention(struct request_ctx *ctx);
void handle_list_conventions(struct request_ctx *ctx);
void handle_get_convention(struct request_ctx *ctx);
void handle_update_convention(struct request_ctx *ctx);
void handle_sign_convention(struct request_ctx *ctx);
void handle_transition_convention(struct request_ctx *ctx);
void handle_create_avenant(struct request_ctx *ctx);
void handle_list_convention_versions(struct request_ctx *ctx);
void handle_get_convention_version(struct request_ctx *ctx);
void handle_get_statistiques_conventions(struct request_ctx *ctx);
/* Projet de territoire (axes.c) and comité de projet (comites.c), issue 4 §3. */
void handle_list_axes(struct request_ctx *ctx);
void handle_create_axe(struct request_ctx *ctx);
void handle_get_axe(struct request_ctx *ctx);
void handle_update_axe(struct request_ctx *ctx);
void handle_delete_axe(struct request_ctx *ctx);
void handle_list_indicateurs(struct request_ctx *ctx);
void handle_create_indicateur(struct request_ctx *ctx);
void handle_get_indicateur(struct request_ctx *ctx);
void handle_update_indicateur(struct request_ctx *ctx);
void handle_delete_indicateur(struct request_ctx *ctx);
void handle_list_mesures(struct request_ctx *ctx);
void handle_create_mesure(struct request_ctx *ctx);
void handle_list_comites(struct request_ctx *ctx);
void handle_create_comite(struct request_ctx *ctx);
void handle_get_comite(struct request_ctx *ctx);
void handle_update_comite(struct request_ctx *ctx);
void handle_list_seances(struct request_ctx *ctx);
void handle_create_seance(struct request_ctx *ctx);
void handle_get_seance(struct request_ctx *ctx);
void handle_update_seance(struct request_ctx *ctx);
void handle_list_decisions(struct request_ctx *ctx);
void handle_create_decision(struct request_ctx *ctx);
/* organisations.c, territoires.c (issue 4 §1) */
void handle_list_organisations(struct request_ctx *ctx);
void handle_create_organisation(struct request_ctx *ctx);
void handle_get_organisation(struct request_ctx *ctx);
void handle_patch_organisation(struct request_ctx *ctx);
void handle_list_territoires(struct request_ctx *ctx);
void handle_create_territoire(struct request_ctx *ctx);
void handle_get_territoire(struct request_ctx *ctx);
void handle_patch_territoire(struct request_ctx *ctx);
void handle_import_territoires(struct request_ctx *ctx);
/* Issue 9 §1: fiches.c, fiches_transitions.c */
void handle_create_fiche(struct request_ctx *ctx);
void handle_get_fiche(struct request_ctx *ctx);
void handle_update_fiche(struct request_ctx *ctx);
void handle_list_fiches(struct request_ctx *ctx);
void handle_export_fiches_csv(struct request_ctx *ctx);
void handle_transition_fiche(struct request_ctx *ctx);
/* — end of fiches action — */
/* Issue 9 §2: fiches_financement.c */
void handle_get_plan_financement(struct request_ctx *ctx);
void handle_put_plan_financement(struct request_ctx *ctx);
void handle_add_ligne_financement(struct request_ctx *ctx);
void handle_get_echeancier(struct request_ctx *ctx);
void handle_put_echeancier(struct request_ctx *ctx);
/* — end of financing — */
/* Issue 9 §3: plan_action.c, maquette.c */
void handle_get_plan_action(struct request_ctx *ctx);
void handle_update_plan_action(struct request_ctx *ctx);
void handle_list_plan_action_versions(struct request_ctx *ctx);
void handle_get_plan_action_version(struct request_ctx *ctx);
void handle_get_maquette_financiere(struct request_ctx *ctx);
/* — end of plan d'action — */
/* Issue 9 §1: fiches_publiques.c */
void handle_list_fiches_publiques(struct request_ctx *ctx);
void handle_get_fiche_publique(struct request_ctx *ctx);
/* — end of public fiches — */
/* Issue 10 §1: parametres.c */
void handle_get_parametres(struct request_ctx *ctx);
void handle_put_parametres(struct request_ctx *ctx);
void handle_list_parametres_versions(struct request_ctx *ctx);
void handle_get_parametres_version(struct request_ctx *ctx);
/* — end of programme parameters — */
/* Issue 10 §2: postes.c */
void handle_create_poste(struct request_ctx *ctx);
void handle_list_postes(struct request_ctx *ctx);
void handle_get_poste(struct request_ctx *ctx);
void handle_update_poste(struct request_ctx *ctx);
void handle_list_poste_annees(struct request_ctx *ctx);
void handle_get_poste_annee(struct request_ctx *ctx);
void handle_put_poste_annee(struct request_ctx *ctx);
/* — end of postes de chef de projet — */
/* Issue 10 §3: demandes.c, demandes_transitions.c */
void handle_list_demandes(struct request_ctx *ctx);
void handle_create_demande(struct request_ctx *ctx);
void handle_get_demande(struct request_ctx *ctx);
void handle_update_demande(struct request_ctx *ctx);
void handle_transition_demande(struct request_ctx *ctx);
void handle_versement_demande(struct request_ctx *ctx);
void handle_prolongation_demande(struct request_ctx *ctx);
void handle_sync_demande_ds(struct request_ctx *ctx); /* demandes_ds.c */
/* — end of demandes de subvention — */
/* Issue 11 §1: evenements.c */
void handle_list_evenements(struct request_ctx *ctx);
void handle_list_evenements_publics(struct request_ctx *ctx);
/* — end of event feed — */
/* Issue 11 §2: abonnements.c; respond_with_secret (clients.c) sends a
 * representation (json, with its ETag and Cache-Control: no-store) plus,
 * this once, its "secret" member: a client's or a subscription's. */
void respond_with_secret(struct _u_response *res, int status, const char *json, const char *secret);
void handle_list_abonnements(struct request_ctx *ctx);
void handle_create_abonnement(struct request_ctx *ctx);
void handle_get_abonnement(struct request_ctx *ctx);
void handle_update_abonnement(struct request_ctx *ctx);
void handle_delete_abonnement(struct request_ctx *ctx);
void handle_rotate_abonnement_secret(struct request_ctx *ctx);
void handle_list_livraisons(struct request_ctx *ctx);
void handle_replay_livraison(struct request_ctx *ctx);
/* — end of webhooks — */
/* Issue 11 §3: donnees_ouvertes.c */
void handle_donnees_catalogue(struct request_ctx *ctx);
void handle_donnees_laureats_csv(struct request_ctx *ctx);
void handle_donnees_laureats_json(struct request_ctx *ctx);
void handle_donnees_fiches_csv(struct request_ctx *ctx);
void handle_donnees_fiches_json(struct request_ctx *ctx);
void handle_export_subventions_csv(struct request_ctx *ctx);
void handle_donnees_subventions_json(struct request_ctx *ctx);
/* — end of open data — */
/* Issue 11 §4: docs.c */
void handle_get_docs(struct request_ctx *ctx);
void handle_redirect_docs(struct request_ctx *ctx);
/* — end of documentation, compression, CORS — */

#endif
