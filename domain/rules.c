/* Rule-check results (see rules.h). */
#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rule_report_init(struct rule_report *r)
{
    if (r)
        memset(r, 0, sizeof *r);
}

bool rule_report_any(const struct rule_report *r)
{
    return r && (r->count > 0 || r->dropped > 0);
}

const struct rule_violation *rule_report_find(const struct rule_report *r, const char *code)
{
    if (!r || !code)
        return NULL;
    for (size_t i = 0; i < r->count && i < RULE_REPORT_MAX; i++)
        if (r->items[i].code && strcmp(r->items[i].code, code) == 0)
            return &r->items[i];
    return NULL;
}

size_t rule_report_add(struct rule_report *r, const char *regle, const char *code,
                       const char *pointer, const char *fmt, ...)
{
    if (!r)
        return 1;
    if (r->count >= RULE_REPORT_MAX) {
        r->dropped++;
        return 1;
    }
    struct rule_violation *v = &r->items[r->count++];
    v->regle = regle;
    v->code = code;
    snprintf(v->pointer, sizeof v->pointer, "%s", pointer);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return 1;
}
