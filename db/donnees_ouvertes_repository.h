/* Reads of the open-data datasets (issue #11 §3, migration 0022): each
 * element is one JSON object made by the dataset's SQL projection
 * (laureats_ouverts, fiches_ouvertes, subventions_ouvertes), so that the CSV
 * and JSON forms of a dataset hold the same values. Public data: no
 * perimeter. */
#ifndef PVD_DB_DONNEES_OUVERTES_REPOSITORY_H
#define PVD_DB_DONNEES_OUVERTES_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "result.h"

enum jeu_ouvert {
    JEU_LAUREATS = 0,
    JEU_FICHES_ACTION,
    JEU_SUBVENTIONS,
    JEU_OUVERT_COUNT,
};

/* Filters of a read; NULL members: no filter. today ("YYYY-MM-DD", required
 * for JEU_SUBVENTIONS): the date the subsidies' effective state is taken on.
 * annee ("2025"): JEU_SUBVENTIONS only (ignored by the others). */
struct jeu_filtre {
    const char *today, *annee, *departement;
};

/* Called once per element, in the dataset's order, with its JSON text (len
 * bytes, NUL-terminated, valid until the call returns); false stops the read
 * (then DB_OK with *stopped true). */
typedef bool (*jeu_element_fn)(const char *json, size_t len, void *ctx);

/* Reads the elements of jeu matching f, at most max_rows: when more match,
 * *too_many is set and fn is never called. derniere_modification receives
 * the latest modification time (horodatage, "YYYY-MM-DDTHH:MM:SS.mmmZ") of
 * the rows the elements come from (territoires, fiches, demandes), "" when
 * there is none. DB_OK or the query's failure (err filled). */
enum db_result jeu_ouvert_lire(struct db_pool *pool, enum jeu_ouvert jeu,
                               const struct jeu_filtre *f, size_t max_rows, jeu_element_fn fn,
                               void *ctx, bool *too_many, bool *stopped,
                               char derniere_modification[32], struct db_error *err);

/* The derniere_modification of every dataset without filter (today: as in
 * struct jeu_filtre), into out[jeu] ("" for an empty dataset). DB_OK or the
 * query's failure. */
enum db_result jeux_ouverts_modifications(struct db_pool *pool, const char *today,
                                          char out[JEU_OUVERT_COUNT][32], struct db_error *err);

#endif
