/* Referential integrity checks, indexes and keyset queries (see referentiel.h). */
#include "referentiel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identifiers.h"
#include "text.h"

static const char *const zone_names[] = {"metro", "drom", "com"};
static const char *const commune_type_names[] = {"commune-actuelle", "commune-deleguee",
                                                 "commune-associee", "arrondissement-municipal"};
static const char *const epci_type_names[] = {"CC", "CA", "CU", "METRO", "MET69"};
static const char *const financement_names[] = {"FPU", "FA"};

static bool parse_name(const char *const *names, size_t count, const char *s, int *out)
{
    for (size_t i = 0; s && i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *ref_zone_name(enum ref_zone zone)
{
    return zone_names[zone];
}

bool ref_zone_parse(const char *s, enum ref_zone *out)
{
    int v;
    if (!parse_name(zone_names, COUNT(zone_names), s, &v))
        return false;
    *out = (enum ref_zone)v;
    return true;
}

const char *ref_commune_type_name(enum ref_commune_type type)
{
    return commune_type_names[type];
}

bool ref_commune_type_parse(const char *s, enum ref_commune_type *out)
{
    int v;
    if (!parse_name(commune_type_names, COUNT(commune_type_names), s, &v))
        return false;
    *out = (enum ref_commune_type)v;
    return true;
}

const char *ref_epci_type_name(enum ref_epci_type type)
{
    return epci_type_names[type];
}

bool ref_epci_type_parse(const char *s, enum ref_epci_type *out)
{
    int v;
    if (!parse_name(epci_type_names, COUNT(epci_type_names), s, &v))
        return false;
    *out = (enum ref_epci_type)v;
    return true;
}

const char *ref_financement_name(enum ref_financement f)
{
    return financement_names[f];
}

bool ref_financement_parse(const char *s, enum ref_financement *out)
{
    int v;
    if (!parse_name(financement_names, COUNT(financement_names), s, &v))
        return false;
    *out = (enum ref_financement)v;
    return true;
}

static void free_indexes(struct referentiel *ref)
{
    for (size_t i = 0; i < ref->departement_count; i++) {
        free(ref->departements[i].communes);
        ref->departements[i].communes = NULL;
        ref->departements[i].commune_count = 0;
    }
    for (size_t i = 0; i < ref->commune_count; i++) {
        free(ref->communes[i].nom_plie);
        ref->communes[i].nom_plie = NULL;
        ref->communes[i].epci = -1;
    }
    for (size_t i = 0; i < ref->epci_count; i++) {
        free(ref->epcis[i].membre_index);
        free(ref->epcis[i].departements);
        ref->epcis[i].membre_index = NULL;
        ref->epcis[i].departements = NULL;
        ref->epcis[i].departement_count = 0;
    }
    free(ref->actuelles);
    ref->actuelles = NULL;
    ref->actuelle_count = 0;
}

void referentiel_release(struct referentiel *ref)
{
    free_indexes(ref);
    for (size_t i = 0; i < ref->region_count; i++)
        free(ref->regions[i].nom);
    for (size_t i = 0; i < ref->departement_count; i++)
        free(ref->departements[i].nom);
    for (size_t i = 0; i < ref->commune_count; i++) {
        struct ref_commune *c = &ref->communes[i];
        free(c->nom);
        for (size_t j = 0; j < c->codes_postaux_count; j++)
            free(c->codes_postaux[j]);
        free(c->codes_postaux);
    }
    for (size_t i = 0; i < ref->epci_count; i++) {
        free(ref->epcis[i].nom);
        free(ref->epcis[i].membres);
    }
    free(ref->regions);
    free(ref->departements);
    free(ref->communes);
    free(ref->epcis);
    memset(ref, 0, sizeof *ref);
}

static int cmp_region(const void *a, const void *b)
{
    return strcmp(((const struct ref_region *)a)->code, ((const struct ref_region *)b)->code);
}

static int cmp_departement(const void *a, const void *b)
{
    return strcmp(((const struct ref_departement *)a)->code,
                  ((const struct ref_departement *)b)->code);
}

static int cmp_commune(const void *a, const void *b)
{
    const struct ref_commune *x = a, *y = b;
    int c = strcmp(x->code_insee, y->code_insee);
    if (c != 0)
        return c;
    return (int)x->type - (int)y->type;
}

static int cmp_epci(const void *a, const void *b)
{
    return strcmp(((const struct ref_epci *)a)->siren, ((const struct ref_epci *)b)->siren);
}

static int cmp_code4(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The commune-actuelle with this code, as an index into ref->communes, or -1.
 * Works before the actuelles index exists: communes are sorted by (code, type). */
static long find_actuelle_index(const struct referentiel *ref, const char *code)
{
    size_t lo = 0, hi = ref->commune_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct ref_commune *c = &ref->communes[mid];
        int cmp = strcmp(c->code_insee, code);
        if (cmp == 0)
            cmp = (int)c->type - (int)REF_COMMUNE_ACTUELLE;
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static bool fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static bool check_entries(const struct referentiel *ref, char *err, size_t n)
{
    for (size_t i = 0; i < ref->region_count; i++) {
        const struct ref_region *r = &ref->regions[i];
        if (!region_code_is_valid(r->code))
            return fail(err, n, "région « %s » : code invalide", r->code);
        if (i > 0 && strcmp(ref->regions[i - 1].code, r->code) == 0)
            return fail(err, n, "région « %s » : code en double", r->code);
    }
    for (size_t i = 0; i < ref->departement_count; i++) {
        const struct ref_departement *d = &ref->departements[i];
        if (!departement_code_is_valid(d->code))
            return fail(err, n, "département « %s » : code invalide", d->code);
        if (i > 0 && strcmp(ref->departements[i - 1].code, d->code) == 0)
            return fail(err, n, "département « %s » : code en double", d->code);
        if (!referentiel_find_region(ref, d->code_region))
            return fail(err, n, "département « %s » : région « %s » inconnue", d->code,
                        d->code_region);
    }
    for (size_t i = 0; i < ref->commune_count; i++) {
        const struct ref_commune *c = &ref->communes[i];
        if (!insee_code_is_valid(c->code_insee))
            return fail(err, n, "commune « %s » : code INSEE invalide (R42)", c->code_insee);
        if (i > 0 && cmp_commune(&ref->communes[i - 1], c) == 0)
            return fail(err, n, "commune « %s » (%s) : en double", c->code_insee,
                        ref_commune_type_name(c->type));
        if (c->siren[0] && !siren_is_valid(c->siren))
            return fail(err, n, "commune « %s » : SIREN « %s » invalide (R42)", c->code_insee,
                        c->siren);
        if (c->code_departement[0] && !referentiel_find_departement(ref, c->code_departement))
            return fail(err, n, "commune « %s » : département « %s » inconnu", c->code_insee,
                        c->code_departement);
        if (c->code_region[0] && !referentiel_find_region(ref, c->code_region))
            return fail(err, n, "commune « %s » : région « %s » inconnue", c->code_insee,
                        c->code_region);
    }
    for (size_t i = 0; i < ref->epci_count; i++) {
        const struct ref_epci *e = &ref->epcis[i];
        if (!siren_is_valid(e->siren))
            return fail(err, n, "EPCI « %s » : SIREN invalide (R42)", e->siren);
        if (i > 0 && strcmp(ref->epcis[i - 1].siren, e->siren) == 0)
            return fail(err, n, "EPCI « %s » : SIREN en double", e->siren);
        if (e->membre_count == 0)
            return fail(err, n, "EPCI « %s » : aucune commune membre", e->siren);
    }
    return true;
}

static bool build_epci_indexes(struct referentiel *ref, char *err, size_t n)
{
    for (size_t i = 0; i < ref->epci_count; i++) {
        struct ref_epci *e = &ref->epcis[i];
        e->membre_index = malloc(e->membre_count * sizeof *e->membre_index);
        e->departements = malloc(e->membre_count * sizeof *e->departements);
        if (!e->membre_index || !e->departements)
            return fail(err, n, "mémoire insuffisante");
        for (size_t j = 0; j < e->membre_count; j++) {
            long idx = find_actuelle_index(ref, e->membres[j]);
            if (idx < 0)
                return fail(err, n, "EPCI « %s » : membre « %s » inconnu ou non actuel", e->siren,
                            e->membres[j]);
            struct ref_commune *c = &ref->communes[idx];
            if (c->epci >= 0)
                return fail(err, n, "commune « %s » : membre de plusieurs EPCI (dont « %s »)",
                            c->code_insee, e->siren);
            c->epci = (long)i;
            e->membre_index[j] = (size_t)idx;
        }
        /* Member indexes follow code order because communes are sorted by code. */
        size_t k = 0;
        for (size_t j = 0; j < e->membre_count; j++) {
            const struct ref_commune *c = &ref->communes[e->membre_index[j]];
            if (c->code_departement[0])
                memcpy(e->departements[k++], c->code_departement, 4);
        }
        qsort(e->departements, k, sizeof *e->departements, cmp_code4);
        size_t distinct = 0;
        for (size_t j = 0; j < k; j++)
            if (distinct == 0 || strcmp(e->departements[distinct - 1], e->departements[j]) != 0)
                memmove(e->departements[distinct++], e->departements[j], 4);
        e->departement_count = distinct;
    }
    return true;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

bool referentiel_index(struct referentiel *ref, char *err, size_t n)
{
    free_indexes(ref);
    qsort(ref->regions, ref->region_count, sizeof *ref->regions, cmp_region);
    qsort(ref->departements, ref->departement_count, sizeof *ref->departements, cmp_departement);
    qsort(ref->communes, ref->commune_count, sizeof *ref->communes, cmp_commune);
    qsort(ref->epcis, ref->epci_count, sizeof *ref->epcis, cmp_epci);
    if (!check_entries(ref, err, n))
        return false;

    ref->actuelles = malloc((ref->commune_count + 1) * sizeof *ref->actuelles);
    if (!ref->actuelles)
        return fail(err, n, "mémoire insuffisante");
    for (size_t i = 0; i < ref->commune_count; i++) {
        struct ref_commune *c = &ref->communes[i];
        c->epci = -1;
        if (c->type != REF_COMMUNE_ACTUELLE)
            continue;
        ref->actuelles[ref->actuelle_count++] = i;
        size_t cap = strlen(c->nom) + 1; /* text_fold never lengthens */
        c->nom_plie = malloc(cap);
        if (!c->nom_plie) {
            free_indexes(ref);
            return fail(err, n, "mémoire insuffisante");
        }
        if (text_fold(c->nom, c->nom_plie, cap) == (size_t)-1) {
            free_indexes(ref);
            return fail(err, n, "commune « %s » : nom en UTF-8 invalide", c->code_insee);
        }
    }
    if (!build_epci_indexes(ref, err, n)) {
        free_indexes(ref);
        return false;
    }
    /* Each département's list has its exact size: counted first, then filled. */
    for (size_t i = 0; i < ref->actuelle_count; i++) {
        const struct ref_commune *c = &ref->communes[ref->actuelles[i]];
        struct ref_departement *dep =
            (struct ref_departement *)referentiel_find_departement(ref, c->code_departement);
        if (dep)
            dep->commune_count++;
    }
    for (size_t d = 0; d < ref->departement_count; d++) {
        struct ref_departement *dep = &ref->departements[d];
        dep->communes = malloc((dep->commune_count + 1) * sizeof *dep->communes);
        dep->commune_count = 0;
        if (!dep->communes) {
            free_indexes(ref);
            return fail(err, n, "mémoire insuffisante");
        }
    }
    for (size_t i = 0; i < ref->actuelle_count; i++) {
        const struct ref_commune *c = &ref->communes[ref->actuelles[i]];
        struct ref_departement *dep =
            (struct ref_departement *)referentiel_find_departement(ref, c->code_departement);
        if (dep)
            dep->communes[dep->commune_count++] = ref->actuelles[i];
    }
    for (size_t i = 0; i < ref->epci_count; i++)
        qsort(ref->epcis[i].membre_index, ref->epcis[i].membre_count, sizeof(size_t), cmp_size);
    return true;
}

const struct ref_commune *referentiel_find_commune(const struct referentiel *ref,
                                                   const char *code_insee)
{
    long idx = find_actuelle_index(ref, code_insee);
    return idx < 0 ? NULL : &ref->communes[idx];
}

const struct ref_commune *referentiel_find_commune_by_siren(const struct referentiel *ref,
                                                            const char *siren)
{
    for (size_t i = 0; i < ref->actuelle_count; i++) {
        const struct ref_commune *c = &ref->communes[ref->actuelles[i]];
        if (strcmp(c->siren, siren) == 0)
            return c;
    }
    return NULL;
}

const struct ref_epci *referentiel_find_epci(const struct referentiel *ref, const char *siren)
{
    struct ref_epci key;
    if (strlen(siren) >= sizeof key.siren)
        return NULL; /* a longer key must not match on its truncated prefix */
    snprintf(key.siren, sizeof key.siren, "%s", siren);
    return bsearch(&key, ref->epcis, ref->epci_count, sizeof *ref->epcis, cmp_epci);
}

const struct ref_departement *referentiel_find_departement(const struct referentiel *ref,
                                                           const char *code)
{
    struct ref_departement key;
    if (strlen(code) >= sizeof key.code)
        return NULL;
    snprintf(key.code, sizeof key.code, "%s", code);
    return bsearch(&key, ref->departements, ref->departement_count, sizeof *ref->departements,
                   cmp_departement);
}

const struct ref_region *referentiel_find_region(const struct referentiel *ref, const char *code)
{
    struct ref_region key;
    if (strlen(code) >= sizeof key.code)
        return NULL;
    snprintf(key.code, sizeof key.code, "%s", code);
    return bsearch(&key, ref->regions, ref->region_count, sizeof *ref->regions, cmp_region);
}

static bool commune_matches(const struct referentiel *ref, const struct ref_commune *c,
                            const struct commune_filter *f)
{
    if (f->departement && strcmp(c->code_departement, f->departement) != 0)
        return false;
    if (f->region && strcmp(c->code_region, f->region) != 0)
        return false;
    if (f->epci && (c->epci < 0 || strcmp(ref->epcis[c->epci].siren, f->epci) != 0))
        return false;
    if (f->population_min >= 0 && (c->population < 0 || c->population < f->population_min))
        return false;
    if (f->population_max >= 0 && (c->population < 0 || c->population > f->population_max))
        return false;
    if (f->q_plie && !text_folded_matches(c->nom_plie, f->q_plie))
        return false;
    return true;
}

/* First position in candidates (indexes into ref->communes, code order) whose
 * code is strictly greater than after. */
static size_t first_after(const struct referentiel *ref, const size_t *candidates, size_t count,
                          const char *after)
{
    if (after == NULL)
        return 0;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ref->communes[candidates[mid]].code_insee, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t referentiel_communes_page(const struct referentiel *ref, const struct commune_filter *f,
                                 const char *after, size_t limit, size_t *out, bool *more,
                                 size_t *total)
{
    const size_t *candidates = ref->actuelles;
    size_t count = ref->actuelle_count;
    bool narrowed_only =
        f->region == NULL && f->population_min < 0 && f->population_max < 0 && f->q_plie == NULL;

    if (f->epci) {
        const struct ref_epci *e = referentiel_find_epci(ref, f->epci);
        candidates = e ? e->membre_index : NULL;
        count = e ? e->membre_count : 0;
        narrowed_only = narrowed_only && f->departement == NULL;
    } else if (f->departement) {
        const struct ref_departement *d = referentiel_find_departement(ref, f->departement);
        candidates = d ? d->communes : NULL;
        count = d ? d->commune_count : 0;
    }

    size_t n = 0;
    *more = false;
    for (size_t i = first_after(ref, candidates, count, after); i < count; i++) {
        const struct ref_commune *c = &ref->communes[candidates[i]];
        if (!commune_matches(ref, c, f))
            continue;
        if (n == limit) {
            *more = true;
            break;
        }
        out[n++] = candidates[i];
    }

    if (narrowed_only) {
        *total = count;
    } else {
        size_t matches = 0;
        for (size_t i = 0; i < count; i++)
            if (commune_matches(ref, &ref->communes[candidates[i]], f))
                matches++;
        *total = matches;
    }
    return n;
}

static bool epci_in_departement(const struct ref_epci *e, const char *departement)
{
    return bsearch(departement, e->departements, e->departement_count, sizeof *e->departements,
                   cmp_code4) != NULL;
}

size_t referentiel_epcis_page(const struct referentiel *ref, const char *departement,
                              const char *after, size_t limit, size_t *out, bool *more,
                              size_t *total)
{
    size_t lo = 0, hi = ref->epci_count;
    while (after && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ref->epcis[mid].siren, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    *more = false;
    for (size_t i = after ? lo : 0; i < ref->epci_count; i++) {
        if (departement && !epci_in_departement(&ref->epcis[i], departement))
            continue;
        if (n == limit) {
            *more = true;
            break;
        }
        out[n++] = i;
    }
    if (departement == NULL) {
        *total = ref->epci_count;
    } else {
        size_t matches = 0;
        for (size_t i = 0; i < ref->epci_count; i++)
            if (epci_in_departement(&ref->epcis[i], departement))
                matches++;
        *total = matches;
    }
    return n;
}
