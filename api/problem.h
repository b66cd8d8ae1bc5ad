/* RFC 9457 problem documents: the registry of stable codes (problem_codes.def),
 * the list of bad fields, and the rendering. The HTTP status always comes from
 * the registry row, never from the caller. */
#ifndef PVD_API_PROBLEM_H
#define PVD_API_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum problem_code {
#define PROBLEM(c, slug, status, title) c,
#include "problem_codes.def"
#undef PROBLEM
    PROBLEM__COUNT
};

const char *problem_slug(enum problem_code code);
int problem_status(enum problem_code code);
const char *problem_title(enum problem_code code);

/* One bad field or parameter. `pointer` is the JSON pointer (RFC 6901) in the
 * body, or "/<name>" for a query or path parameter, in which case `parameter`
 * holds the name. */
#define FIELD_ERRORS_MAX 64
struct field_error {
    char pointer[160];
    char parameter[48];
    char code[48];
    char message[240];
};

/* Fixed-capacity list: errors past FIELD_ERRORS_MAX are counted in `dropped`
 * but not stored. Declare with FIELD_ERRORS(name): only the counters are set,
 * so that a handler does not clear 30 KiB of stack on every request. */
struct field_errors {
    size_t count;
    size_t dropped;
    struct field_error items[FIELD_ERRORS_MAX];
};
#define FIELD_ERRORS(name)                                                                         \
    struct field_errors name;                                                                      \
    name.count = name.dropped = 0

/* Appends an error; the message is printf-formatted. parameter may be NULL. */
void field_errors_add(struct field_errors *errors, const char *pointer, const char *parameter,
                      const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct problem {
    enum problem_code code;
    const char *detail;                /* French, safe for clients; NULL → the title */
    const char *rule;                  /* programme rule ("R5") or NULL */
    const char *instance;              /* request path or NULL */
    const char *request_id;            /* or NULL */
    const struct field_errors *errors; /* or NULL */
};

/* Renders the problem as a new JSON object (caller owns the reference).
 * `type` is base_url + slug. Never returns NULL (aborts on allocation failure). */
json_t *problem_to_json(const struct problem *problem, const char *base_url);

#endif
