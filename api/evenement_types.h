/* The `types` of the event feed and of webhook subscriptions (issue 11):
 * resource types ("territoire") and event types ("fiche_action.modifiee"),
 * checked in form here and against evenement_ressources (migration 0021) in
 * the database. One definition for GET /evenements and /abonnements. */
#ifndef PVD_API_EVENEMENT_TYPES_H
#define PVD_API_EVENEMENT_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "../db/pool.h"

/* At most this many entries in a list. */
#define EVENEMENT_TYPES_MAX 32
/* Room for the text[] literal of the longest valid list, and its NUL. */
#define EVENEMENT_TYPES_LITERAL_SIZE (EVENEMENT_TYPES_MAX * 68 + 3)

/* One entry (n bytes of s): [a-z_] words joined by one dot at most, 1 to 64
 * bytes. */
bool evenement_type_valid(const char *s, size_t n);

/* types ("a,b.c") as a PostgreSQL text[] literal ({"a","b.c"}) into out
 * (size bytes); false when an entry is malformed (evenement_type_valid),
 * there are more than EVENEMENT_TYPES_MAX, or out is too small. */
bool evenement_types_literal(const char *types, char *out, size_t size);

/* The entries of the text[] literal `types` that no resource or event type
 * of the feed has, comma-separated into unknown (size bytes; "" when all are
 * known). DB_OK, or the database failure. */
enum db_result evenement_types_unknown(struct db_conn *conn, const char *types, char *unknown,
                                       size_t size, struct db_error *err);

#endif
