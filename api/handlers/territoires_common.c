/* The parts of a territoire shared by its handlers (territoires.c) and the
 * bulk import (territoires_import.c): representation with its R2 warnings,
 * authorization target and journal scope (see territoires.h). */
#include <jansson.h>
#include <string.h>

#include "../../domain/convention.h"
#include "../xalloc.h"
#include "programme.h"
#include "territoires.h"

void territoire_add_avertissements(json_t *rep)
{
    struct rule_report warnings;
    rule_report_init(&warnings);
    json_t *communes = json_object_get(rep, "communes");
    size_t i;
    json_t *c;
    json_array_foreach(communes, i, c)
    {
        json_t *pop = json_object_get(c, "population");
        if (json_is_integer(pop))
            territoire_population_warning(json_integer_value(pop),
                                          json_string_value(json_object_get(c, "code_insee")), i,
                                          &warnings);
    }
    json_object_set_new(rep, "avertissements", programme_avertissements(&warnings));
}

char *territoire_render(const char *stored_json)
{
    json_t *rep = json_loads(stored_json, 0, NULL);
    if (!rep)
        return xstrdup(stored_json);
    territoire_add_avertissements(rep);
    char *out = json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rep);
    if (!out)
        die_bug("json_dumps failed");
    return out;
}

struct authz_target territoire_target(const struct territoire_resolved *r, const char *id_pvd,
                                      const char *const *sirens, size_t siren_count,
                                      struct territoire_views *v)
{
    struct authz_target t;
    memset(&t, 0, sizeof t);
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < r->departement_count; i++)
        v->departements[i] = r->departements[i];
    for (size_t i = 0; i < r->region_count; i++)
        v->regions[i] = r->regions[i];
    size_t n = 0, max = sizeof v->sirens / sizeof v->sirens[0] - 1;
    for (size_t i = 0; i < r->siren_count && n < max; i++)
        v->sirens[n++] = r->sirens[i];
    for (size_t i = 0; i < siren_count && n < max; i++)
        if (sirens[i] && sirens[i][0])
            v->sirens[n++] = sirens[i];
    v->territoires[0] = id_pvd;
    t.departements = v->departements;
    t.departement_count = r->departement_count;
    t.regions = v->regions;
    t.region_count = r->region_count;
    t.territoire = id_pvd;
    t.sirens = v->sirens;
    t.siren_count = n;
    return t;
}

struct journal_scope territoire_journal_scope(const struct territoire_views *v)
{
    struct journal_scope s = {v->departements, v->regions, v->sirens, v->territoires};
    return s;
}
