/* The territorial attributes of a territoire PVD, as the authorization rule
 * (domain/authz.h) and the journal (db/mutation.h) need them: shared by every
 * route whose object hangs on a territoire (territoires, conventions, axes,
 * comités…). */
#ifndef PVD_DB_TERRITOIRE_SCOPE_H
#define PVD_DB_TERRITOIRE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/authz.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

#define TERRITOIRE_SCOPE_DEPARTEMENTS 8
#define TERRITOIRE_SCOPE_SIRENS       64

/* Value type, no heap: copy it freely, but the pointer arrays (departement_ptrs…)
 * point into the struct itself, so call territoire_scope_target /
 * territoire_scope_journal on the copy you keep, not on a moved-from one. */
struct territoire_scope {
    char id_pvd[17];
    char code_departement[4];
    char code_region[4];
    /* The territoire's département first, then its communes' others (R43:
     * never its EPCIs'). */
    char departements[TERRITOIRE_SCOPE_DEPARTEMENTS][4];
    size_t departement_count;
    char regions[TERRITOIRE_SCOPE_DEPARTEMENTS][4];
    size_t region_count;
    /* SIRENs of its communes (from the referential) and EPCIs, then the extra
     * ones added by territoire_scope_add_siren (a convention's signataires). */
    char sirens[TERRITOIRE_SCOPE_SIRENS][10];
    size_t siren_count;
    /* Filled by territoire_scope_target / _journal: NULL-terminated views. */
    const char *departement_ptrs[TERRITOIRE_SCOPE_DEPARTEMENTS + 1];
    const char *region_ptrs[TERRITOIRE_SCOPE_DEPARTEMENTS + 1];
    const char *siren_ptrs[TERRITOIRE_SCOPE_SIRENS + 1];
    const char *territoire_ptrs[2];
};

/* An SQL expression (text) holding the scope of the territoire whose id_pvd is
 * the SQL expression ID (a parameter "$1" or a column of the enclosing query,
 * e.g. "c.id_pvd"; its own aliases are t, tc, cm, te and x): one line per attribute, "kind|value",
 * kind 't' (the territoire's own "code_departement|code_region", first), 'd' (a commune's
 * département), 'r' (a commune's région), 's' (a commune's or EPCI's SIREN); NULL when there is no
 * such territoire. Lets a repository read an object and the scope of its territoire in one
 * statement; parse the value with territoire_scope_from_lines. */
#define TERRITOIRE_SCOPE_LINES_SQL(ID)                                                             \
    "(SELECT string_agg(x.k || '|' || x.v, E'\\n' ORDER BY x.o) FROM ("                            \
    "SELECT 0, 't', t.code_departement || '|' || t.code_region FROM territoires t "                \
    "WHERE t.id_pvd = " ID " "                                                                     \
    "UNION ALL SELECT 1, 'd', cm.code_departement FROM territoire_communes tc "                    \
    "JOIN communes cm ON cm.code_insee = tc.code_insee AND cm.type = 'commune-actuelle' "          \
    "WHERE tc.id_pvd = " ID " AND cm.code_departement IS NOT NULL "                                \
    "UNION ALL SELECT 2, 'r', cm.code_region FROM territoire_communes tc "                         \
    "JOIN communes cm ON cm.code_insee = tc.code_insee AND cm.type = 'commune-actuelle' "          \
    "WHERE tc.id_pvd = " ID " AND cm.code_region IS NOT NULL "                                     \
    "UNION ALL SELECT 3, 's', cm.siren FROM territoire_communes tc "                               \
    "JOIN communes cm ON cm.code_insee = tc.code_insee AND cm.type = 'commune-actuelle' "          \
    "WHERE tc.id_pvd = " ID " AND cm.siren IS NOT NULL "                                           \
    "UNION ALL SELECT 4, 's', te.siren FROM territoire_epcis te WHERE te.id_pvd = " ID             \
    ") x(o, k, v))"

/* Parses lines (the text of TERRITOIRE_SCOPE_LINES_SQL; NULL or "" when the
 * query gave NULL) into *out for territoire id_pvd. DB_NOT_FOUND when lines
 * do not start with the territoire's own line (no such territoire; out
 * untouched), else DB_OK. Unknown kinds and malformed codes are skipped. */
enum db_result territoire_scope_from_lines(const char *id_pvd, const char *lines,
                                           struct territoire_scope *out);

/* Loads the scope of territoire id_pvd with conn (any transaction state).
 * DB_NOT_FOUND when there is no such territoire (out untouched then), else
 * DB_OK or the failure of the query (err filled). */
enum db_result territoire_scope_load(struct db_conn *conn, const char *id_pvd,
                                     struct territoire_scope *out, struct db_error *err);

/* Same, on a pooled connection acquired and released here. */
enum db_result territoire_scope_load_pooled(struct db_pool *pool, const char *id_pvd,
                                            struct territoire_scope *out, struct db_error *err);

/* Adds a SIREN (9 digits; others and duplicates ignored, as are additions past
 * TERRITOIRE_SCOPE_SIRENS): a financeur signataire of a convention sees it. */
void territoire_scope_add_siren(struct territoire_scope *s, const char *siren);

/* The authz target of the territoire (pointers into s; valid while s is). */
struct authz_target territoire_scope_target(struct territoire_scope *s);

/* The journal scope of an entry about the territoire (pointers into s). */
struct journal_scope territoire_scope_journal(struct territoire_scope *s);

/* Appends entry, about an object of territoire id_pvd, to the journal in tx
 * with the territoire's scope (entry->scope is overwritten). The territoire
 * must exist (DB_FAILED otherwise: a caller's bug); other failures as
 * territoire_scope_load and journal_record. Call sites spell the action
 * ("<ressource>.<verbe>") and the type as literals:
 * tests/contract/check_codes.mjs checks each against the spec. */
enum db_result territoire_journal_record(struct db_tx *tx, const char *id_pvd,
                                         struct journal_entry *entry, struct db_error *err);

#endif
