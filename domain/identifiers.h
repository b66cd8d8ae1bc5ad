/* Syntax and check-digit rules (R42) for INSEE codes, SIREN and SIRET.
 * Pure functions: no referential look-up (whether a code exists in the loaded
 * millésime is checked elsewhere), no allocation, no I/O, thread-safe. */
#ifndef PVD_DOMAIN_IDENTIFIERS_H
#define PVD_DOMAIN_IDENTIFIERS_H

#include <stdbool.h>
#include <stddef.h>

/* All predicates below return false for NULL and for any string that is not
 * exactly the expected length (no trimming, no separators, upper-case 'A'/'B'
 * only). Arguments are borrowed and read up to their NUL at most. */

/* R42: a commune INSEE code, ^(2[AB]|[0-9]{2})[0-9]{3}$, that does not start
 * with "20" (no current code does; Corsica uses 2A/2B). */
bool insee_code_is_valid(const char *s);

/* R42: a département code,
 * ^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8]|98[46-9])$. */
bool departement_code_is_valid(const char *s);

/* R42: a région code, 2 digits (DROM, metro) or 3 digits (COM). */
bool region_code_is_valid(const char *s);

/* Writes into out the département of the INSEE code: its first 3 characters
 * when it starts with "97" or "98", else its first 2. Returns false, with out
 * set to "", when insee_code_is_valid(code) is false or out is NULL. The
 * result is not checked against departement_code_is_valid(): "96001" is a
 * syntactically valid INSEE code and gives "96". Holds for every
 * commune-actuelle of the referential, not for 5 communes associées that kept
 * the code of their former département (02285 Escaufourt lies in 59): for
 * those, trust the referential's field. */
bool insee_code_departement(const char *code, char out[4]);

/* Luhn check over exactly len bytes of digits (no NUL needed). False when
 * digits is NULL, len is 0 or any of the len bytes is not '0'-'9'. */
bool luhn_is_valid(const char *digits, size_t len);

/* R42: 9 digits passing Luhn. */
bool siren_is_valid(const char *s);

/* The SIREN format alone: exactly 9 digits (the Luhn key, R42, is checked
 * apart so that a wrong key gets its own 422). false for NULL. */
bool siren_format_is_valid(const char *s);

/* The SIRET format alone: exactly 14 digits (the key is siret_is_valid's).
 * false for NULL. */
bool siret_format_is_valid(const char *s);

/* R42: 14 digits passing Luhn. A La Poste SIRET (SIREN 356000000) also
 * passes when its digit sum is a multiple of 5: its establishments outran the
 * Luhn-valid NICs, while its siège 35600000000048 passes Luhn only. */
bool siret_is_valid(const char *s);

#endif
