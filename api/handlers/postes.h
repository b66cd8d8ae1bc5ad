/* What postes.c (the postes de chef de projet) shares with postes_annees.c
 * (their yearly funding rows), defined in postes.c. */
#ifndef PVD_API_HANDLERS_POSTES_H
#define PVD_API_HANDLERS_POSTES_H

#include <stdbool.h>
#include <stddef.h>

#include "../../db/poste_repository.h"
#include "../../domain/chef_projet.h"
#include "../../domain/parametres.h"
#include "../http.h"
#include "../query_params.h"

#define POSTE_404 "Aucun poste de chef de projet visible n'a cet identifiant."
#define ANNEE_404 "Ce poste de chef de projet n'a pas de financement pour cette année."
#define STALE_ANNEE                                                                                \
    "Le financement de cette année a changé pendant votre requête (ETag périmé) : relisez-le."

/* Loads the poste of path parameter `id` and its access and decides
 * `action`. A query parameter not declared by query (NULL: none) is a 400.
 * true: allowed (the caller releases row); false: answered, nothing held. */
bool poste_load_or_reply(struct request_ctx *ctx, enum action action,
                         const struct query_field *query, struct poste_row *row,
                         struct poste_access *access);

/* The years' common inputs, read under the locks (borrowed). */
struct annee_contexte {
    const struct chef_projet_poste *poste;
    const struct parametres *parametres;
    bool adhesion_signee;
};

/* chef_projet_financement_check on one year, its pointers under base;
 * appends to violations. */
void poste_annee_check(const struct annee_contexte *c, const struct poste_annee_valeurs *v,
                       const char *base, struct rule_report *violations);

/* The territoire locks of the poste's territoires (in tx, in order) and
 * R11's input (*signee: one of them has a signed adhésion). DB_FAILED when a
 * territoire is missing (they exist: foreign key), else the locks' or the
 * read's result. */
enum db_result poste_lock_and_read(struct db_tx *tx, const char *const *ids, size_t count,
                                   bool *signee, struct db_error *err);

/* Journals an entry about poste id (avant/apres: JSON texts, avant NULL on
 * creation) with the union of its territoires' scopes as they are in tx,
 * so that each préfecture of a territoire served reads it. DB_FAILED when
 * the poste is not there (it was just written); else journal_record's. */
enum db_result poste_journal(struct db_tx *tx, const char *action, const char *id,
                             const char *avant, const char *apres, struct db_error *err);

#endif
