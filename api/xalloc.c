/* Allocation wrappers that abort on failure (see xalloc.h). */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void die_bug(const char *what)
{
    char line[300];
    int n = snprintf(line, sizeof line, "{\"level\":\"fatal\",\"msg\":\"%s\"}\n", what);
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        die_bug("out of memory");
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        die_bug("out of memory");
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        die_bug("out of memory");
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        die_bug("out of memory");
    return p;
}

json_t *xjson(json_t *j)
{
    if (j == NULL)
        die_bug("jansson constructor failed (out of memory or invalid UTF-8)");
    return j;
}
