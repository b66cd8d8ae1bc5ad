/* Storage of territoires PVD (issue 4 §1): the territoire, its communes and
 * EPCIs (tables of migration 0004), its representation and état (0005).
 * Reads take a connection; writes take a journaled transaction (db/mutation.h)
 * and record "territoire.creer" / "territoire.modifier". Rules are checked by
 * the caller (domain/territoire.h) before any write. */
#ifndef PVD_DB_TERRITOIRE_REPOSITORY_H
#define PVD_DB_TERRITOIRE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

struct territoire_row {
    char id_pvd[17];
    int revision;
    char *json; /* representation without `avertissements` (owned; territoire_row_release) */
};
void territoire_row_release(struct territoire_row *row);

/* The whole content of a territoire as written. Borrowed; NULL nom and dates
 * are stored as NULL; dates are YYYY-MM-DD. */
struct territoire_write {
    const char *id_pvd;
    const char *nom;
    const char *date_designation;
    const char *date_sortie;
    const char *code_departement;
    const char *code_region;
    int millesime;
    const char *const *communes; /* INSEE codes, in order */
    size_t commune_count;
    const char *const *epcis; /* SIRENs, in order */
    size_t epci_count;
};

/* By id_pvd; DB_NOT_FOUND when absent. */
enum db_result territoire_get(struct db_conn *conn, const char *id_pvd, struct territoire_row *out,
                              struct db_error *err);

/* Creates it and journals "territoire.creer" with scope. DB_CONFLICT when
 * the id_pvd exists or a commune already belongs to a territoire. */
enum db_result territoire_insert(struct db_tx *tx, const struct territoire_write *w,
                                 const struct journal_scope *scope, struct territoire_row *created,
                                 struct db_error *err);

/* Replaces its content if its revision is still `revision` (any when
 * revision < 0) and journals "territoire.modifier" with before and after.
 * DB_NOT_FOUND when absent, DB_STALE when the revision moved on, DB_CONFLICT
 * when a commune belongs to another territoire. */
enum db_result territoire_replace(struct db_tx *tx, const struct territoire_write *w, int revision,
                                  const struct journal_scope *scope, struct territoire_row *after,
                                  struct db_error *err);

/* The communes among codes[0..count) that belong to a territoire other than
 * except_id_pvd (NULL: any): writes "code:id_pvd" pairs into owners (at most
 * max, each 24 bytes) and returns their number via *found. */
enum db_result territoire_communes_owners(struct db_conn *conn, const char *const *codes,
                                          size_t count, const char *except_id_pvd,
                                          char (*owners)[24], size_t max, size_t *found,
                                          struct db_error *err);

/* Every territoire's content, for the bulk import's comparisons. */
struct territoire_content {
    char id_pvd[17];
    int revision;
    char *communes;         /* INSEE codes joined by ',' in order (owned) */
    char *epcis;            /* SIRENs joined by ',' in order (owned) */
    char *nom;              /* owned, NULL when none */
    char *date_designation; /* owned, NULL when none */
    char *date_sortie;      /* owned, NULL when none */
};
struct territoire_contents {
    struct territoire_content *items; /* sorted by id_pvd (owned) */
    size_t count;
    char (*commune_owner)[24]; /* "code:id_pvd", sorted (owned) */
    size_t commune_owner_count;
};
enum db_result territoire_contents_load(struct db_conn *conn, struct territoire_contents *out,
                                        struct db_error *err);
void territoire_contents_release(struct territoire_contents *c);
/* Lookups in a loaded set (binary search); NULL when absent. */
const struct territoire_content *territoire_contents_find(const struct territoire_contents *c,
                                                          const char *id_pvd);
/* The id_pvd owning commune code, or NULL (pointer into c). */
const char *territoire_contents_owner(const struct territoire_contents *c, const char *code);

/* Filters of the list; NULL members do not filter. */
struct territoire_filter {
    const char *departement; /* its own or one of its communes' (issue 8 §3) */
    const char *region;      /* likewise */
    const char *etat;
    const char *commune;   /* INSEE code */
    const char *epci;      /* SIREN */
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* One keyset page in f->sync's order (by id_pvd, bytewise, or by
 * modification) after the key `after` (list_sync.h; NULL: from the start):
 * *json_out a JSON array text of representations (owned, free()), last_id
 * the last key ("" when empty), *more whether rows follow.
 * *total: the number of elements of all pages with the same filters. */
enum db_result territoire_list(struct db_conn *conn, const struct territoire_filter *f,
                               const char *after, size_t limit, char **json_out, char last_id[65],
                               bool *more, size_t *total, struct db_error *err);

#endif
