/* JSON-lines logger (see log.h). */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yder.h>

static volatile int current_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_level_parse(const char *s, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

bool log_enabled(enum log_level level)
{
    return (int)level >= current_level;
}

struct line_buf {
    char data[4096];
    size_t len;
};

static void put_raw(struct line_buf *b, const char *s, size_t n)
{
    if (n > sizeof b->data - 2 - b->len)
        n = sizeof b->data - 2 - b->len; /* keep room for "}\n" */
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_str(struct line_buf *b, const char *s)
{
    put_raw(b, s, strlen(s));
}

/* JSON string escape; control characters as \u00XX, bytes >= 0x80 copied
 * (values are UTF-8 or ASCII by construction). */
static void put_escaped(struct line_buf *b, const char *s)
{
    put_raw(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put_raw(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put_raw(b, esc, 6);
        } else {
            put_raw(b, (const char *)&c, 1);
        }
    }
    put_raw(b, "\"", 1);
}

static void put_field(struct line_buf *b, const char *key, const char *value)
{
    put_raw(b, ",", 1);
    put_escaped(b, key);
    put_raw(b, ":", 1);
    put_escaped(b, value ? value : "");
}

static void put_head(struct line_buf *b, enum log_level level, const char *msg,
                     const char *request_id)
{
    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    b->len = 0;
    put_str(b, "{\"ts\":\"");
    put_str(b, when);
    put_str(b, "\",\"level\":\"");
    put_str(b, level_names[level]);
    put_str(b, "\",\"msg\":");
    put_escaped(b, msg);
    if (request_id)
        put_field(b, "request_id", request_id);
}

static void flush_line(struct line_buf *b)
{
    b->data[b->len++] = '}';
    b->data[b->len++] = '\n';
    (void)!write(STDERR_FILENO, b->data, b->len);
}

void log_line(enum log_level level, const char *request_id, const char *msg, ...)
{
    if (!log_enabled(level))
        return;
    struct line_buf b;
    put_head(&b, level, msg, request_id);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        put_field(&b, key, va_arg(ap, const char *));
    }
    va_end(ap);
    flush_line(&b);
}

void log_access(const struct log_access *line)
{
    if (!log_enabled(LOG_INFO))
        return;
    struct line_buf b;
    char num[64];
    put_head(&b, LOG_INFO, "requête", line->request_id);
    put_field(&b, "method", line->method);
    put_field(&b, "route", line->route);
    snprintf(num, sizeof num, ",\"status\":%d,\"duration_ms\":%.3f", line->status,
             line->duration_ms);
    put_str(&b, num);
    if (line->problem)
        put_field(&b, "problem", line->problem);
    flush_line(&b);
}

static void yder_callback(void *cls, const char *app_name, const time_t date,
                          const unsigned long level, const char *message)
{
    (void)cls;
    (void)app_name;
    (void)date;
    enum log_level mapped = LOG_DEBUG;
    /* rhonabwy (r_…) reports every refused signature as an error: a client's
     * fault, already answered 401, so debug only (no log flooding). */
    if (strncmp(message, "r_", 2) == 0)
        mapped = LOG_DEBUG;
    else if (level & Y_LOG_LEVEL_ERROR)
        mapped = LOG_ERROR;
    else if (level & Y_LOG_LEVEL_WARNING)
        mapped = LOG_WARN;
    else if (level & Y_LOG_LEVEL_INFO)
        mapped = LOG_INFO;
    log_line(mapped, NULL, message, "source", "ulfius", (const char *)NULL);
}

void log_bridge_ulfius(void)
{
    y_init_logs("pvd-api", Y_LOG_MODE_CALLBACK, Y_LOG_LEVEL_WARNING, NULL, NULL);
    y_set_logs_callback(yder_callback, NULL, NULL);
}
