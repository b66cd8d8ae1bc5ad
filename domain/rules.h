/* Results of the programme's rule checks (domain.md §3), shared by every
 * rule module (territoire.h, convention.h…): a fixed-capacity list of
 * violations or warnings, each with its rule number, a stable code, a JSON
 * pointer and a French message, ready for problem+json (422) or for
 * `avertissements`. No I/O, no allocation. */
#ifndef PVD_DOMAIN_RULES_H
#define PVD_DOMAIN_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* One violation or warning. regle is a static string: "R4".."R10", "R2",
 * "R40", or "" for a check that is not a numbered programme rule (a signature
 * date in the future, a missing signature, a caller's role). code is a static,
 * stable kebab-case French code ("convention-adhesion-non-signee"). pointer is
 * an RFC 6901 JSON pointer into the request representation
 * ("/signataires/2/date_deliberation"); message is French, for a préfecture
 * agent. Both are NUL-terminated (truncated to fit, never overflowing). */
struct rule_violation {
    const char *regle;
    const char *code;
    char pointer[96];
    char message[200];
};

/* A fixed-capacity list. Appends past RULE_REPORT_MAX are counted in
 * `dropped` (the list is then incomplete, but never empty of a real problem).
 * Initialise with rule_report_init or `= {0}`. */
#define RULE_REPORT_MAX 32
struct rule_report {
    struct rule_violation items[RULE_REPORT_MAX];
    size_t count;
    size_t dropped;
};

void rule_report_init(struct rule_report *r);
/* True when r holds at least one item or dropped one. */
bool rule_report_any(const struct rule_report *r);
/* The first item whose code equals code, or NULL. */
const struct rule_violation *rule_report_find(const struct rule_report *r, const char *code);

/* Appends one item (regle and code: static strings; message printf-formatted,
 * truncated to fit). Returns 1, counted even when the item is dropped or r is
 * NULL, so that checks can return the number of problems found. */
size_t rule_report_add(struct rule_report *r, const char *regle, const char *code,
                       const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
