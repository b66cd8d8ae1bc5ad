/* Storage of OAuth 2.0 machine clients (client credentials). Secrets are
 * never stored: only a salt and SHA-256(salt || secret), computed by the
 * caller. Reads take a connection; writes a journaled transaction. */
#ifndef PVD_DB_CLIENT_REPOSITORY_H
#define PVD_DB_CLIENT_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/authz.h"
#include "mutation.h"
#include "pool.h"

struct client_row {
    char id[32];
    enum role role;
    struct perimeter perimeter;
    unsigned char salt[16];
    unsigned char digest[32];
    bool usable; /* not revoked and not expired, now */
    char *json;  /* API representation (owned; client_row_release) */
};
void client_row_release(struct client_row *row);

/* Any client by id; DB_NOT_FOUND when absent. */
enum db_result client_get(struct db_conn *conn, const char *id, struct client_row *out,
                          struct db_error *err);

struct client_new {
    const char *id;
    const char *nom;
    enum role role;
    const struct perimeter *perimeter;
    const char *expire_le; /* RFC 3339 or NULL */
    const char *cree_par;
    const unsigned char *salt;   /* 16 bytes */
    const unsigned char *digest; /* 32 bytes */
};

/* Creates it, journaling "client.creer". DB_CONFLICT on a duplicate id. */
enum db_result client_insert(struct db_tx *tx, const struct client_new *c,
                             struct client_row *created, struct db_error *err);

/* Replaces the secret (journal "client.renouveler_secret"); DB_NOT_FOUND when
 * absent, DB_CONFLICT when revoked. */
enum db_result client_rotate(struct db_tx *tx, const char *id, const unsigned char *salt,
                             const unsigned char *digest, struct client_row *after,
                             struct db_error *err);

/* Revokes it (journal "client.revoquer"): its tokens stop working at once.
 * DB_NOT_FOUND when absent, DB_CONFLICT when already revoked. */
enum db_result client_revoke(struct db_tx *tx, const char *id, const char *by,
                             struct client_row *after, struct db_error *err);

/* Keyset page ordered by id after `after`; *json_out a JSON array (owned).
 * *total: the number of elements of all pages with the same filters. */
enum db_result client_list(struct db_conn *conn, const char *after, size_t limit, char **json_out,
                           char last_id[32], bool *more, size_t *total, struct db_error *err);

#endif
