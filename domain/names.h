/* Enum ⇄ stable name tables of the domain (états, roles, natures, statuts…):
 * one lookup in each direction, and a macro that defines the pair of public
 * functions of one table. Pure; names are borrowed from static tables. */
#ifndef PVD_DOMAIN_NAMES_H
#define PVD_DOMAIN_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* names[value], or NULL when value is outside [0, n). */
const char *domain_name_of(const char *const *names, size_t n, int value);

/* The index of name in names[0, n) into *out; false when name is NULL or
 * absent (*out untouched). */
bool domain_name_parse(const char *const *names, size_t n, const char *name, int *out);

#define DOMAIN_NAMES_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Defines `const char *fname(type v)` (NULL for a value outside the table)
 * and `bool fparse(const char *name, type *out)` (false, *out untouched, for
 * an unknown name or a NULL out) over the static array table. */
#define DOMAIN_NAME_FUNCS(fname, fparse, type, table)                                              \
    const char *fname(type v)                                                                      \
    {                                                                                              \
        return domain_name_of(table, DOMAIN_NAMES_COUNT(table), (int)v);                           \
    }                                                                                              \
    bool fparse(const char *name, type *out)                                                       \
    {                                                                                              \
        int v;                                                                                     \
        if (!out || !domain_name_parse(table, DOMAIN_NAMES_COUNT(table), name, &v))                \
            return false;                                                                          \
        *out = (type)v;                                                                            \
        return true;                                                                               \
    }

#endif
