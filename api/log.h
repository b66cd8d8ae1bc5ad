/* JSON-lines logger on stderr: one write(2) per line, so threads never
 * interleave. Never give it secrets, tokens, bodies or personal data. */
#ifndef PVD_API_LOG_H
#define PVD_API_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug", "info", "warn", "error"; false on anything else. */
bool log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* A line {"ts","level","msg", fields...}. `fields` is a NULL-terminated list
 * of key, value string pairs (values JSON-escaped here); request_id may be NULL. */
void log_line(enum log_level level, const char *request_id, const char *msg, ...)
    __attribute__((sentinel));

/* The access line written once per request. */
struct log_access {
    const char *request_id;
    const char *method;
    const char *route; /* the route template, never the raw URL with ids */
    int status;
    double duration_ms;
    const char *problem; /* slug or NULL */
};
void log_access(const struct log_access *line);

/* Routes yder (ulfius' logger) into this logger. Call once at start. */
void log_bridge_ulfius(void);

#endif
