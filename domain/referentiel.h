/* The official geographic referential (régions, départements, communes, EPCI
 * and their members) as plain C data, with its integrity checks and the
 * read queries the API serves (lookup by code, filtered keyset pages).
 * Pure: no I/O; strings are owned by the structures. */
#ifndef PVD_DOMAIN_REFERENTIEL_H
#define PVD_DOMAIN_REFERENTIEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REF_NO_POPULATION (-1)

enum ref_zone { REF_ZONE_METRO, REF_ZONE_DROM, REF_ZONE_COM };
enum ref_commune_type {
    REF_COMMUNE_ACTUELLE,
    REF_COMMUNE_DELEGUEE,
    REF_COMMUNE_ASSOCIEE,
    REF_ARRONDISSEMENT_MUNICIPAL,
};
enum ref_epci_type { REF_EPCI_CC, REF_EPCI_CA, REF_EPCI_CU, REF_EPCI_METRO, REF_EPCI_MET69 };
enum ref_financement { REF_FINANCEMENT_FPU, REF_FINANCEMENT_FA };

/* Name ↔ enum; *_parse returns false on an unknown name. */
const char *ref_zone_name(enum ref_zone zone);
bool ref_zone_parse(const char *s, enum ref_zone *out);
const char *ref_commune_type_name(enum ref_commune_type type);
bool ref_commune_type_parse(const char *s, enum ref_commune_type *out);
const char *ref_epci_type_name(enum ref_epci_type type);
bool ref_epci_type_parse(const char *s, enum ref_epci_type *out);
const char *ref_financement_name(enum ref_financement f);
bool ref_financement_parse(const char *s, enum ref_financement *out);

struct ref_region {
    char code[4];
    char *nom;
    enum ref_zone zone;
    char chef_lieu[6]; /* "" when none */
};

struct ref_departement {
    char code[4];
    char *nom;
    char code_region[4];
    enum ref_zone zone;
    char chef_lieu[6];
    /* Filled by referentiel_index: communes-actuelles of this département, in code order. */
    size_t *communes;
    size_t commune_count;
};

struct ref_commune {
    char code_insee[6];
    enum ref_commune_type type;
    char *nom;
    char siren[10];           /* "" when none (COM) */
    char code_departement[4]; /* "" when none */
    char code_region[4];      /* "" when none */
    enum ref_zone zone;
    int64_t population;   /* REF_NO_POPULATION when unknown */
    char **codes_postaux; /* owned array of owned strings */
    size_t codes_postaux_count;
    char commune_parente[6]; /* déléguée/associée/arrondissement → parent; "" otherwise */
    /* Filled by referentiel_index (communes-actuelles only). */
    char *nom_plie; /* text_fold(nom) */
    long epci;      /* index in epcis, -1 when none */
};

struct ref_epci {
    char siren[10];
    char *nom;
    enum ref_epci_type type;
    enum ref_financement mode_financement;
    int64_t population_totale;
    int64_t population_municipale;
    char (*membres)[6]; /* owned array of member INSEE codes, as loaded */
    size_t membre_count;
    /* Filled by referentiel_index. */
    size_t *membre_index;    /* communes of membres, in code order */
    char (*departements)[4]; /* distinct départements of the members, sorted */
    size_t departement_count;
};

struct referentiel {
    int millesime;
    struct ref_region *regions;
    size_t region_count;
    struct ref_departement *departements;
    size_t departement_count;
    struct ref_commune *communes; /* all types; sorted by (code, type) after indexing */
    size_t commune_count;
    struct ref_epci *epcis; /* sorted by siren after indexing */
    size_t epci_count;
    /* Filled by referentiel_index: communes-actuelles in code order. */
    size_t *actuelles;
    size_t actuelle_count;
};

/* Frees everything the structure owns and zeroes it. Safe on a zeroed one. */
void referentiel_release(struct referentiel *ref);

/* Checks the referential's integrity (R42 and references) and builds the
 * indexes. Returns true on success; on failure writes one French sentence
 * naming the offending entry into err and leaves the indexes unbuilt.
 * Checks: codes and SIRENs well formed (R42, Luhn), unique keys, every
 * département's région exists, every commune's département and région exist,
 * every EPCI member is a commune-actuelle, a commune belongs to at most one EPCI.
 * Allocation failure: returns false with "mémoire insuffisante". */
bool referentiel_index(struct referentiel *ref, char *err, size_t err_size);

/* Lookups on an indexed referential; NULL when absent. Borrowed pointers. */
const struct ref_commune *referentiel_find_commune(const struct referentiel *ref,
                                                   const char *code_insee);
const struct ref_epci *referentiel_find_epci(const struct referentiel *ref, const char *siren);
const struct ref_departement *referentiel_find_departement(const struct referentiel *ref,
                                                           const char *code);
const struct ref_region *referentiel_find_region(const struct referentiel *ref, const char *code);

/* The commune-actuelle with this SIREN (linear scan: for rare checks, not for
 * request paths that must be fast); NULL when absent. */
const struct ref_commune *referentiel_find_commune_by_siren(const struct referentiel *ref,
                                                            const char *siren);

/* Filters of the communes list; NULL / -1 members do not filter. */
struct commune_filter {
    const char *departement;
    const char *region;
    const char *epci;       /* SIREN */
    int64_t population_min; /* -1: none */
    int64_t population_max; /* -1: none */
    const char *q_plie;     /* folded query (text_fold), words matched as prefixes */
};
#define COMMUNE_FILTER_INIT                                                                        \
    {                                                                                              \
        NULL, NULL, NULL, -1, -1, NULL                                                             \
    }

/* One keyset page of communes-actuelles in code order, strictly after
 * `after` (NULL: from the start). Writes at most `limit` indexes (into
 * ref->communes) to out, sets *more when matches remain after them and
 * *total to the number of matches of the whole filter. Cost: a binary search
 * plus the scan of the page, and a scan of the candidate set for *total
 * unless it is known (no filter, or a lone département or EPCI filter). */
size_t referentiel_communes_page(const struct referentiel *ref, const struct commune_filter *f,
                                 const char *after, size_t limit, size_t *out, bool *more,
                                 size_t *total);

/* One keyset page of EPCI in SIREN order, strictly after `after`, optionally
 * restricted to those with a member in `departement`. Same contract. */
size_t referentiel_epcis_page(const struct referentiel *ref, const char *departement,
                              const char *after, size_t limit, size_t *out, bool *more,
                              size_t *total);

#endif
