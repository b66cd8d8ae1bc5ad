/* Enum ⇄ name tables (see names.h). */
#include "names.h"

#include <string.h>

const char *domain_name_of(const char *const *names, size_t n, int value)
{
    return value >= 0 && (size_t)value < n ? names[value] : NULL;
}

bool domain_name_parse(const char *const *names, size_t n, const char *name, int *out)
{
    if (!name)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (int)i;
            return true;
        }
    return false;
}
