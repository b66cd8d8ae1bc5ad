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
