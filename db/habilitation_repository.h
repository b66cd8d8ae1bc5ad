/* Storage of habilitations: (issuer, subject) → role and perimeter. Reads
 * take a connection; writes take a journaled transaction (db/mutation.h). */
#ifndef PVD_DB_HABILITATION_REPOSITORY_H
#define PVD_DB_HABILITATION_REPOSITORY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "../domain/authz.h"
#include "mutation.h"
#include "pool.h"

struct habilitation_row {
    char id[37];
    enum role role;
    struct perimeter perimeter;
    char *json; /* the API representation (owned; free with habilitation_row_release) */
};
void habilitation_row_release(struct habilitation_row *row);

/* The habilitation in force today for this identity (not revoked, valid
 * today). DB_NOT_FOUND when there is none. */
enum db_result habilitation_find_active(struct db_conn *conn, const char *issuer,
                                        const char *subject, struct habilitation_row *out,
                                        struct db_error *err);

/* Any habilitation by id (revoked ones included); DB_NOT_FOUND when absent or
 * when id is not a UUID. */
enum db_result habilitation_get(struct db_conn *conn, const char *id, struct habilitation_row *out,
                                struct db_error *err);

struct habilitation_new {
    const char *issuer;
    const char *subject;
    enum role role;
    const struct perimeter *perimeter;
    const char *valide_du; /* YYYY-MM-DD */
    const char *valide_au; /* YYYY-MM-DD or NULL */
    const char *accorde_par;
    /* Départements and régions the perimeter touches (NULL-terminated), stored
     * so that lists can be filtered by a préfecture's perimeter. */
    const char *const *portee_departements;
    const char *const *portee_regions;
};

/* Creates it and journals "habilitation.accorder". DB_CONFLICT when the
 * identity already has a non-revoked habilitation. */
enum db_result habilitation_insert(struct db_tx *tx, const struct habilitation_new *h,
                                   const struct journal_scope *scope,
                                   struct habilitation_row *created, struct db_error *err);

/* Revokes it and journals "habilitation.revoquer". DB_NOT_FOUND when absent,
 * DB_CONFLICT when already revoked. */
enum db_result habilitation_revoke(struct db_tx *tx, const char *id, const char *revoque_par,
                                   const struct journal_scope *scope,
                                   struct habilitation_row *after, struct db_error *err);

/* Filters of the list; NULL members do not filter. */
struct habilitation_filter {
    const struct perimeter *visible_departements; /* overlap with these départements */
    const struct perimeter *visible_regions;      /* or with these régions */
    const char *issuer;
    const char *subject;
    const char *role;
    const char *etat; /* active | revoquee */
};

/* One keyset page ordered by id, after `after` (a UUID, or NULL). *json_out
 * receives a JSON array text (owned, free()), *last_id the last id ("" when
 * empty), *more whether rows follow.
 * *total: the number of elements of all pages with the same filters. */
enum db_result habilitation_list(struct db_conn *conn, const struct habilitation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[37],
                                 bool *more, size_t *total, struct db_error *err);

/* Parses a PostgreSQL text[] of simple codes ({69,2A}) into dst (at most max
 * entries of size width); returns the count. Shared by the repositories. */
size_t pg_parse_code_array(const char *text, char *dst, size_t width, size_t max);
/* Fills p from four text[] columns (départements, régions, SIRENs,
 * territoires) of row, starting at column first. */
void pg_fill_perimeter(const PGresult *res, int row, int first, struct perimeter *p);
/* Renders codes as a text[] literal into out (owned, free()). */
char *pg_code_array_literal(const char *codes, size_t width, size_t count);
/* The four text[] literals of p (départements, régions, SIRENs, territoires,
 * in this order) into out[0..3], each owned (free with
 * pg_perimeter_literals_release, also on failure); p NULL: four empty
 * arrays. False when an allocation failed. */
bool pg_perimeter_literals(const struct perimeter *p, char *out[4]);
void pg_perimeter_literals_release(char *out[4]);

#endif
