/* The JSON of the programme parameters (issue #10 §1): the canonical
 * document of a struct parametres (domain/parametres.h lists its members:
 * money in cents as integers named _centimes, rates in ten-thousandths as
 * integers, dates "YYYY-MM-DD"), and the reading of a PUT /api/v1/parametres
 * body into a struct. The API renders every representation from a struct
 * (defaults included) and stores this document in parametres_versions
 * (db/parametres_repository.h), which reads it back with PostgreSQL's JSON
 * operators: this module is the one writer of the format. */
#ifndef PVD_API_PARAMETRES_JSON_H
#define PVD_API_PARAMETRES_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "../domain/date.h"
#include "../domain/parametres.h"
#include "problem.h"

/* The document {"programme", "chef_projet", "delais",
 * "dates_limites_depot"} of p (a new reference; aborts on allocation
 * failure). p's counts must be within capacity (a checked struct). */
json_t *parametres_json_document(const struct parametres *p);

/* The required pieces of each dispositif and year (§1.12): a checklist of
 * texts no rule reads, so not part of struct parametres. In the document
 * and the representation, "pieces_requises": [{"dispositif", "annee",
 * "pieces": [text, …]}] — at most PARAMETRES_PIECES_MAX entries, one per
 * (dispositif, annee), each of 1 to PARAMETRES_PIECES_PAR_ENTREE_MAX texts of
 * 1 to PARAMETRES_PIECE_MAX bytes. */
#define PARAMETRES_PIECES_MAX            64
#define PARAMETRES_PIECES_PAR_ENTREE_MAX 50
#define PARAMETRES_PIECE_MAX             300

/* Reads a PUT body: the document's members (every one required) and
 * `date_effet` (required, a calendar date) into *out (zeroed first) and
 * *date_effet, and pieces_requises into *pieces (a new array, a normalised
 * copy; NULL when it is in error). Every type or shape error (unknown
 * member, missing member, wrong type, an array expected, an integer outside
 * ±1 000 000 for years, months and counts, a code_departement longer than
 * 3 bytes; for pieces_requises every bound above, an unknown dispositif and a
 * repeated (dispositif, annee), code "doublon") is appended to errs with its
 * pointer; the values of struct parametres are judged by parametres_check
 * afterwards (an unknown dispositif of a deadline is stored as
 * SUBVENTION_DISPOSITIF__COUNT for it to report; an array longer than the
 * capacity leaves a count past it, for it to report, and only the first
 * elements read). True when errs got nothing. Borrows nothing from body
 * once returned. */
bool parametres_json_read(const json_t *body, struct parametres *out, struct date *date_effet,
                          json_t **pieces, struct field_errors *errs);

#endif
