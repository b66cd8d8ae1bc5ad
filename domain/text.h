/* Search folding of names (communes, EPCI) so that the HTTP filter q ignores
 * case, accents and punctuation; also owns UTF-8 validation of those names.
 * Pure functions: no allocation, no I/O, no locale, thread-safe. */
#ifndef PVD_DOMAIN_TEXT_H
#define PVD_DOMAIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Folds the NUL-terminated UTF-8 string in into out (caller-owned, out_size
 * bytes):
 * - ASCII letters are lower-cased, digits kept;
 * - letters of Latin-1 Supplement and Latin Extended-A become their ASCII base
 *   letters ("é" -> "e", "Œ" -> "oe", "ß" -> "ss", "Þ" -> "th"); "ª" "º" ->
 *   "a" "o", superscripts "¹" "²" "³" -> digits, "µ" is kept as-is;
 * - every other character of those blocks, of ASCII and of General
 *   Punctuation (U+2000-U+206F: "’", "–", no-break spaces) is a separator;
 *   runs of separators become one space, none leads or trails;
 * - combining marks (U+0300-U+036F, so decomposed accents fold too) and
 *   invisible format characters (soft hyphen, zero-width, bidi marks, BOM) are
 *   dropped;
 * - any other code point is copied as-is.
 * So the folded length never exceeds strlen(in): an out_size of strlen(in) + 1
 * always holds the whole result. Folding is idempotent.
 *
 * Returns the length of the result (strlen(out)), always < out_size. When
 * out_size is 0 nothing is written (out may then be NULL) and 0 is returned.
 * Truncation: folds what fits, on a UTF-8 boundary. The output is the longest
 * prefix of the full result made of whole folded characters that fits with its
 * NUL (an expansion such as "oe" is never cut; a trailing space is never
 * written); truncation is not otherwise reported.
 *
 * Returns (size_t)-1, with out set to "" (when out_size > 0), when in is NULL
 * or is not valid UTF-8 anywhere, even past the truncation point: overlong
 * forms, surrogates (U+D800-U+DFFF), code points above U+10FFFF, stray or
 * missing continuation bytes. */
size_t text_fold(const char *in, char *out, size_t out_size);

/* True when every space-separated word of folded_query is a prefix of at least
 * one word of folded_name, in any order ("chinon chat" matches "chateau chinon
 * ville", "hinon" does not). Words may match the same name word. An empty
 * query matches every name. Both arguments should come from text_fold(); NULL
 * is read as "". */
bool text_folded_matches(const char *folded_name, const char *folded_query);

/* True when s is NULL or holds only spaces, tabs, CR and LF (a required text
 * left empty: a motif, a numéro, a mention). */
bool text_is_blank(const char *s);

#endif
