/* One out-of-memory policy for the whole process (as in Redis): allocation
 * failure logs and aborts, so callers never test for NULL from these. */
#ifndef PVD_API_XALLOC_H
#define PVD_API_XALLOC_H

#include <jansson.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* Returns j, or aborts when j is NULL (a failed jansson constructor). */
json_t *xjson(json_t *j);
/* Aborts with a message: for invariants a client cannot break. */
_Noreturn void die_bug(const char *what);

#endif
