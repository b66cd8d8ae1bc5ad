/* Unit tests of domain/referentiel on a tiny referential: integrity checks
 * (each failure refused with a French sentence naming the entry), indexes,
 * lookups, and keyset pages of communes and EPCI with their filters.
 *
 * Codes, names, SIRENs and populations are real (@etalab/decoupage-
 * administratif 6.0.0, millésime 2026) and checked with domain/identifiers
 * below. Two facts are deliberately fictive, because no real entry of 2A, 2B
 * or 974 has them: the commune-deleguee "Ajaccio" sharing the code 2A004 of
 * its commune-actuelle, and Alata (2A006) as a member of the CA de Bastia,
 * which makes that EPCI span two départements (2A and 2B). The CA de Bastia
 * also lists only two of its five real members. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/identifiers.h"
#include "domain/referentiel.h"
#include "domain/text.h"

#define ERR_SIZE 256

struct region_row {
    const char *code, *nom;
    enum ref_zone zone;
    const char *chef_lieu;
};

struct departement_row {
    const char *code, *nom, *region;
    enum ref_zone zone;
    const char *chef_lieu;
};

struct commune_row {
    const char *code;
    enum ref_commune_type type;
    const char *nom, *siren, *departement, *region;
    enum ref_zone zone;
    int64_t population;
    const char *parente;
    const char *codes_postaux[4];
};

struct epci_row {
    const char *siren, *nom;
    enum ref_epci_type type;
    enum ref_financement financement;
    int64_t population_totale, population_municipale;
    const char *membres[6];
};

/* Deliberately out of order: referentiel_index sorts. */
static const struct region_row regions[] = {
    {"94", "Corse", REF_ZONE_METRO, "2A004"},
    {"04", "La Réunion", REF_ZONE_DROM, "97411"},
};

static const struct departement_row departements[] = {
    {"974", "La Réunion", "04", REF_ZONE_DROM, "97411"},
    {"2B", "Haute-Corse", "94", REF_ZONE_METRO, "2B033"},
    {"2A", "Corse-du-Sud", "94", REF_ZONE_METRO, "2A004"},
};

#define ACTUELLE REF_COMMUNE_ACTUELLE
#define DELEGUEE REF_COMMUNE_DELEGUEE
#define METRO    REF_ZONE_METRO
#define DROM     REF_ZONE_DROM

static const struct commune_row communes[] = {
    {"97418", ACTUELLE, "Sainte-Marie", "219740180", "974", "04", DROM, 37093, "", {"97438"}},
    {"2A004",
     ACTUELLE,
     "Ajaccio",
     "212000046",
     "2A",
     "94",
     METRO,
     76320,
     "",
     {"20000", "20090", "20167"}},
    /* fictive: a commune-deleguee sharing the code of its commune-actuelle */
    {"2A004", DELEGUEE, "Ajaccio", "", "2A", "94", METRO, 20000, "2A004", {NULL}},
    {"97411",
     ACTUELLE,
     "Saint-Denis",
     "219740115",
     "974",
     "04",
     DROM,
     155634,
     "",
     {"97400", "97417", "97490"}},
    {"2B033", ACTUELLE, "Bastia", "212000335", "2B", "94", METRO, 46867, "", {"20200", "20600"}},
    {"2A001", ACTUELLE, "Afa", "212000012", "2A", "94", METRO, 3350, "", {"20167"}},
    {"97420", ACTUELLE, "Sainte-Suzanne", "219740206", "974", "04", DROM, 25551, "", {"97441"}},
    {"2A006", ACTUELLE, "Alata", "212000061", "2A", "94", METRO, 3681, "", {"20167"}},
    {"2B120", ACTUELLE, "Furiani", "212001200", "2B", "94", METRO, 6585, "", {"20600"}},
    {"97404", ACTUELLE, "L'Étang-Salé", "219740040", "974", "04", DROM, 14464, "", {"97427"}},
};

#define CINOR  "249740119"
#define BASTIA "242000354"

static const struct epci_row epcis[] = {
    {CINOR,
     "CA Intercommunale du Nord de la Réunion (CINOR)",
     REF_EPCI_CA,
     REF_FINANCEMENT_FPU,
     218801,
     216588,
     {"97411", "97418", "97420"}},
    /* fictive membership of 2A006: the EPCI spans 2A and 2B; members unsorted */
    {BASTIA,
     "CA de Bastia",
     REF_EPCI_CA,
     REF_FINANCEMENT_FPU,
     62806,
     61920,
     {"2B120", "2B033", "2A006"}},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The communes-actuelles of the fixture, in code order. */
static const char *const actuelles_in_order[] = {"2A001", "2A004", "2A006", "2B033", "2B120",
                                                 "97404", "97411", "97418", "97420"};

/* The referential of the running test: in static storage, so that the suite's
 * fini releases it even when an assertion ends the test early. */
static struct referentiel fixture_storage;

static void release_fixture(void)
{
    referentiel_release(&fixture_storage);
}

TestSuite(referentiel_fixture, .fini = release_fixture);
TestSuite(referentiel_index, .fini = release_fixture);
TestSuite(referentiel_integrity, .fini = release_fixture);
TestSuite(communes_page, .fini = release_fixture);
TestSuite(epcis_page, .fini = release_fixture);

static char *dup(const char *s)
{
    char *copy = strdup(s);

    cr_assert_not_null(copy);
    return copy;
}

static void copy_code(char *dst, size_t size, const char *src)
{
    cr_assert_lt(strlen(src), size, "code \"%s\" too long for its field", src);
    strcpy(dst, src);
}

static void add_region(struct referentiel *ref, const struct region_row *row)
{
    struct ref_region *r;

    ref->regions = realloc(ref->regions, (ref->region_count + 1) * sizeof *ref->regions);
    cr_assert_not_null(ref->regions);
    r = &ref->regions[ref->region_count++];
    memset(r, 0, sizeof *r);
    copy_code(r->code, sizeof r->code, row->code);
    r->nom = dup(row->nom);
    r->zone = row->zone;
    copy_code(r->chef_lieu, sizeof r->chef_lieu, row->chef_lieu);
}

static void add_departement(struct referentiel *ref, const struct departement_row *row)
{
    struct ref_departement *d;

    ref->departements =
        realloc(ref->departements, (ref->departement_count + 1) * sizeof *ref->departements);
    cr_assert_not_null(ref->departements);
    d = &ref->departements[ref->departement_count++];
    memset(d, 0, sizeof *d);
    copy_code(d->code, sizeof d->code, row->code);
    d->nom = dup(row->nom);
    copy_code(d->code_region, sizeof d->code_region, row->region);
    d->zone = row->zone;
    copy_code(d->chef_lieu, sizeof d->chef_lieu, row->chef_lieu);
}

static void add_commune(struct referentiel *ref, const struct commune_row *row)
{
    struct ref_commune *c;
    size_t n = 0;

    ref->communes = realloc(ref->communes, (ref->commune_count + 1) * sizeof *ref->communes);
    cr_assert_not_null(ref->communes);
    c = &ref->communes[ref->commune_count++];
    memset(c, 0, sizeof *c);
    copy_code(c->code_insee, sizeof c->code_insee, row->code);
    c->type = row->type;
    c->nom = dup(row->nom);
    copy_code(c->siren, sizeof c->siren, row->siren);
    copy_code(c->code_departement, sizeof c->code_departement, row->departement);
    copy_code(c->code_region, sizeof c->code_region, row->region);
    c->zone = row->zone;
    c->population = row->population;
    while (n < COUNT(row->codes_postaux) && row->codes_postaux[n])
        n++;
    c->codes_postaux = calloc(n + 1, sizeof *c->codes_postaux);
    cr_assert_not_null(c->codes_postaux);
    for (size_t i = 0; i < n; i++)
        c->codes_postaux[i] = dup(row->codes_postaux[i]);
    c->codes_postaux_count = n;
    copy_code(c->commune_parente, sizeof c->commune_parente, row->parente);
    c->epci = -1;
}

static void add_epci(struct referentiel *ref, const struct epci_row *row)
{
    struct ref_epci *e;
    size_t n = 0;

    ref->epcis = realloc(ref->epcis, (ref->epci_count + 1) * sizeof *ref->epcis);
    cr_assert_not_null(ref->epcis);
    e = &ref->epcis[ref->epci_count++];
    memset(e, 0, sizeof *e);
    copy_code(e->siren, sizeof e->siren, row->siren);
    e->nom = dup(row->nom);
    e->type = row->type;
    e->mode_financement = row->financement;
    e->population_totale = row->population_totale;
    e->population_municipale = row->population_municipale;
    while (n < COUNT(row->membres) && row->membres[n])
        n++;
    e->membres = calloc(n + 1, sizeof *e->membres);
    cr_assert_not_null(e->membres);
    for (size_t i = 0; i < n; i++)
        copy_code(e->membres[i], sizeof e->membres[i], row->membres[i]);
    e->membre_count = n;
}

/* The fixture, not indexed. */
static void build(struct referentiel *ref)
{
    memset(ref, 0, sizeof *ref);
    ref->millesime = 2026;
    for (size_t i = 0; i < COUNT(regions); i++)
        add_region(ref, &regions[i]);
    for (size_t i = 0; i < COUNT(departements); i++)
        add_departement(ref, &departements[i]);
    for (size_t i = 0; i < COUNT(communes); i++)
        add_commune(ref, &communes[i]);
    for (size_t i = 0; i < COUNT(epcis); i++)
        add_epci(ref, &epcis[i]);
}

/* The fixture, indexed. */
static void build_indexed(struct referentiel *ref)
{
    char err[ERR_SIZE] = "";

    build(ref);
    cr_assert(referentiel_index(ref, err, sizeof err), "index failed: %s", err);
}

static struct ref_commune *commune_at(struct referentiel *ref, const char *code,
                                      enum ref_commune_type type)
{
    for (size_t i = 0; i < ref->commune_count; i++)
        if (strcmp(ref->communes[i].code_insee, code) == 0 && ref->communes[i].type == type)
            return &ref->communes[i];
    cr_assert_fail("no commune %s of type %d", code, (int)type);
    return NULL;
}

static struct ref_epci *epci_at(struct referentiel *ref, const char *siren)
{
    for (size_t i = 0; i < ref->epci_count; i++)
        if (strcmp(ref->epcis[i].siren, siren) == 0)
            return &ref->epcis[i];
    cr_assert_fail("no EPCI %s", siren);
    return NULL;
}

/* Indexing must fail with a French sentence containing every needle; the
 * indexes stay unbuilt. Releases the referential. */
static void assert_index_fails(struct referentiel *ref, const char *needle1, const char *needle2)
{
    char err[ERR_SIZE];

    memset(err, 'x', sizeof err);
    cr_assert_not(referentiel_index(ref, err, sizeof err), "accepted (expected \"%s\")", needle1);
    cr_assert_lt(strnlen(err, sizeof err), sizeof err);
    cr_assert_not_null(strstr(err, "«"), "French quoting of the entry: \"%s\"", err);
    cr_assert_not_null(strstr(err, needle1), "\"%s\" not named in \"%s\"", needle1, err);
    if (needle2)
        cr_assert_not_null(strstr(err, needle2), "\"%s\" not named in \"%s\"", needle2, err);
    cr_assert_null(ref->actuelles, "indexes left unbuilt");
    cr_assert_eq(ref->actuelle_count, 0);
    for (size_t i = 0; i < ref->departement_count; i++)
        cr_assert_null(ref->departements[i].communes);
    for (size_t i = 0; i < ref->epci_count; i++)
        cr_assert_null(ref->epcis[i].membre_index);
    for (size_t i = 0; i < ref->commune_count; i++)
        cr_assert_null(ref->communes[i].nom_plie);
    referentiel_release(ref);
}

/* A page of communes: the codes, comma-separated, into codes. */
struct page {
    char codes[256];
    size_t n;
    bool more;
    size_t total;
};

static struct page communes_page(const struct referentiel *ref, const struct commune_filter *f,
                                 const char *after, size_t limit)
{
    struct page p = {.more = true, .total = 999};
    size_t out[32];

    cr_assert_leq(limit, COUNT(out));
    for (size_t i = 0; i < COUNT(out); i++)
        out[i] = (size_t)-1;
    p.n = referentiel_communes_page(ref, f, after, limit, out, &p.more, &p.total);
    cr_assert_leq(p.n, limit);
    for (size_t i = limit; i < COUNT(out); i++)
        cr_assert_eq(out[i], (size_t)-1, "wrote past limit");
    for (size_t i = 0; i < p.n; i++) {
        const struct ref_commune *c;

        cr_assert_lt(out[i], ref->commune_count);
        c = &ref->communes[out[i]];
        cr_assert_eq(c->type, REF_COMMUNE_ACTUELLE, "%s (%s) listed", c->code_insee,
                     ref_commune_type_name(c->type));
        if (i > 0)
            strcat(p.codes, ",");
        strcat(p.codes, c->code_insee);
    }
    return p;
}

static void assert_page(struct page p, const char *codes, size_t n, bool more, size_t total,
                        const char *what)
{
    cr_assert_str_eq(p.codes, codes, "%s: codes", what);
    cr_assert_eq(p.n, n, "%s: count", what);
    cr_assert_eq(p.more, more, "%s: more", what);
    cr_assert_eq(p.total, total, "%s: total %zu, expected %zu", what, p.total, total);
}

/* Walks every page of f with limit, checking that the concatenation of the
 * pages is the single page of all matches and that total never changes. */
static void assert_walk(const struct referentiel *ref, const struct commune_filter *f, size_t limit,
                        const char *all)
{
    struct page whole = communes_page(ref, f, NULL, 32);
    char walked[256] = "";
    char after[8] = "";
    bool first = true;

    cr_assert_str_eq(whole.codes, all);
    cr_assert_eq(whole.total, whole.n, "total counts the matches");
    for (;;) {
        struct page p = communes_page(ref, f, first ? NULL : after, limit);
        const char *last;

        cr_assert_eq(p.total, whole.total, "total is the same on every page");
        if (p.n > 0) {
            if (walked[0])
                strcat(walked, ",");
            strcat(walked, p.codes);
        }
        if (!p.more)
            break;
        cr_assert_eq(p.n, limit, "a page before the last one is full");
        last = strrchr(p.codes, ',') ? strrchr(p.codes, ',') + 1 : p.codes;
        cr_assert_lt(strlen(last), sizeof after);
        strcpy(after, last);
        first = false;
    }
    cr_assert_str_eq(walked, all, "pages of %zu", limit);
}

static char *folded(const char *query, char *out, size_t size)
{
    cr_assert_neq(text_fold(query, out, size), (size_t)-1);
    return out;
}

/* ---- the fixture itself ------------------------------------------------ */

Test(referentiel_fixture, codes_and_sirens_are_valid)
{
    for (size_t i = 0; i < COUNT(regions); i++)
        cr_assert(region_code_is_valid(regions[i].code), "région %s", regions[i].code);
    for (size_t i = 0; i < COUNT(departements); i++) {
        cr_assert(departement_code_is_valid(departements[i].code), "%s", departements[i].code);
        cr_assert(insee_code_is_valid(departements[i].chef_lieu));
    }
    for (size_t i = 0; i < COUNT(communes); i++) {
        char dep[4];

        cr_assert(insee_code_is_valid(communes[i].code), "commune %s", communes[i].code);
        cr_assert(insee_code_departement(communes[i].code, dep));
        cr_assert_str_eq(dep, communes[i].departement, "%s", communes[i].code);
        if (communes[i].siren[0])
            cr_assert(siren_is_valid(communes[i].siren), "SIREN %s", communes[i].siren);
    }
    for (size_t i = 0; i < COUNT(epcis); i++) {
        cr_assert(siren_is_valid(epcis[i].siren), "EPCI %s", epcis[i].siren);
        for (size_t j = 0; j < COUNT(epcis[i].membres) && epcis[i].membres[j]; j++)
            cr_assert(insee_code_is_valid(epcis[i].membres[j]));
    }
    /* the mutations used below are invalid, as intended */
    cr_assert_not(siren_is_valid("212000047"));
    cr_assert_not(siren_is_valid("249740118"));
    cr_assert_not(insee_code_is_valid("20004"));
}

/* ---- indexing ---------------------------------------------------------- */

Test(referentiel_index, succeeds_and_builds_the_indexes)
{
    struct referentiel *ref = &fixture_storage;
    const struct ref_epci *e;

    build_indexed(ref);
    cr_assert_eq(ref->commune_count, COUNT(communes));
    cr_assert_eq(ref->actuelle_count, COUNT(actuelles_in_order));
    for (size_t i = 0; i < ref->actuelle_count; i++) {
        const struct ref_commune *c = &ref->communes[ref->actuelles[i]];

        cr_assert_str_eq(c->code_insee, actuelles_in_order[i]);
        cr_assert_eq(c->type, REF_COMMUNE_ACTUELLE);
        cr_assert_not_null(c->nom_plie);
    }
    cr_assert_str_eq(commune_at(ref, "97404", ACTUELLE)->nom_plie, "l etang sale");
    cr_assert_str_eq(commune_at(ref, "2A004", ACTUELLE)->nom_plie, "ajaccio");
    cr_assert_eq(commune_at(ref, "2A004", DELEGUEE)->epci, -1);

    /* sorted keys */
    cr_assert_str_eq(ref->regions[0].code, "04");
    cr_assert_str_eq(ref->departements[0].code, "2A");
    cr_assert_str_eq(ref->departements[2].code, "974");
    cr_assert_str_eq(ref->epcis[0].siren, BASTIA);
    cr_assert_str_eq(ref->epcis[1].siren, CINOR);

    /* départements list their communes-actuelles in code order */
    cr_assert_eq(referentiel_find_departement(ref, "2A")->commune_count, 3);
    cr_assert_eq(referentiel_find_departement(ref, "2B")->commune_count, 2);
    cr_assert_eq(referentiel_find_departement(ref, "974")->commune_count, 4);

    /* EPCI: members in code order, distinct sorted départements */
    e = referentiel_find_epci(ref, BASTIA);
    cr_assert_not_null(e);
    cr_assert_eq(e->membre_count, 3);
    cr_assert_str_eq(ref->communes[e->membre_index[0]].code_insee, "2A006");
    cr_assert_str_eq(ref->communes[e->membre_index[1]].code_insee, "2B033");
    cr_assert_str_eq(ref->communes[e->membre_index[2]].code_insee, "2B120");
    cr_assert_eq(e->departement_count, 2);
    cr_assert_str_eq(e->departements[0], "2A");
    cr_assert_str_eq(e->departements[1], "2B");
    e = referentiel_find_epci(ref, CINOR);
    cr_assert_not_null(e);
    cr_assert_eq(e->departement_count, 1);
    cr_assert_str_eq(e->departements[0], "974");

    /* communes know their EPCI */
    cr_assert_str_eq(ref->epcis[commune_at(ref, "2A006", ACTUELLE)->epci].siren, BASTIA);
    cr_assert_str_eq(ref->epcis[commune_at(ref, "97418", ACTUELLE)->epci].siren, CINOR);
    cr_assert_eq(commune_at(ref, "2A004", ACTUELLE)->epci, -1);
    cr_assert_eq(commune_at(ref, "97404", ACTUELLE)->epci, -1);
    referentiel_release(ref);
}

Test(referentiel_index, indexing_twice_gives_the_same_indexes)
{
    struct referentiel *ref = &fixture_storage;
    char err[ERR_SIZE];

    build_indexed(ref);
    cr_assert(referentiel_index(ref, err, sizeof err), "%s", err);
    cr_assert_eq(ref->actuelle_count, COUNT(actuelles_in_order));
    cr_assert_eq(referentiel_find_departement(ref, "974")->commune_count, 4);
    cr_assert_eq(referentiel_find_epci(ref, BASTIA)->departement_count, 2);
    referentiel_release(ref);
    cr_assert_null(ref->communes);
    cr_assert_eq(ref->commune_count, 0);
    referentiel_release(ref); /* safe on a zeroed one */
}

Test(referentiel_index, lookups)
{
    struct referentiel *ref = &fixture_storage;
    const struct ref_commune *c;

    build_indexed(ref);
    c = referentiel_find_commune(ref, "2A004");
    cr_assert_not_null(c);
    cr_assert_eq(c->type, REF_COMMUNE_ACTUELLE, "the commune-actuelle, not the déléguée");
    cr_assert_eq(c->population, 76320);
    cr_assert_eq(c->codes_postaux_count, 3);
    cr_assert_str_eq(referentiel_find_commune(ref, "97404")->nom, "L'Étang-Salé");
    cr_assert_str_eq(referentiel_find_epci(ref, CINOR)->nom,
                     "CA Intercommunale du Nord de la Réunion (CINOR)");
    cr_assert_str_eq(referentiel_find_departement(ref, "2A")->nom, "Corse-du-Sud");
    cr_assert_str_eq(referentiel_find_region(ref, "04")->nom, "La Réunion");

    cr_assert_null(referentiel_find_commune(ref, "2B353"), "real but not loaded");
    cr_assert_null(referentiel_find_commune(ref, "2A00"));
    cr_assert_null(referentiel_find_commune(ref, ""));
    cr_assert_null(referentiel_find_epci(ref, "242010056"));
    cr_assert_null(referentiel_find_departement(ref, "2C"));
    cr_assert_null(referentiel_find_departement(ref, "97"));
    cr_assert_null(referentiel_find_region(ref, "11"));
    referentiel_release(ref);
}

/* "NULL when absent": a longer key is absent, even when its prefix is a key
 * (the lookups copy the argument into a fixed-size key with snprintf, which
 * truncates it). */
Test(referentiel_index, lookups_do_not_match_a_truncated_key)
{
    struct referentiel *ref = &fixture_storage;

    build_indexed(ref);
    cr_assert_null(referentiel_find_commune(ref, "2A0041"));
    cr_assert_null(referentiel_find_epci(ref, CINOR "0"), "found EPCI " CINOR "0");
    cr_assert_null(referentiel_find_epci(ref, BASTIA "9999"), "found EPCI " BASTIA "9999");
    cr_assert_null(referentiel_find_departement(ref, "9741"), "found département 9741");
    cr_assert_null(referentiel_find_departement(ref, "2A 1"), "found département \"2A 1\"");
    cr_assert_null(referentiel_find_region(ref, "0400"), "found région 0400");
    referentiel_release(ref);
}

/* ---- integrity failures ------------------------------------------------ */

Test(referentiel_integrity, unknown_departement_of_a_commune)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    strcpy(commune_at(ref, "2B120", ACTUELLE)->code_departement, "13");
    assert_index_fails(ref, "2B120", "13");
}

Test(referentiel_integrity, unknown_region_of_a_departement)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    strcpy(ref->departements[0].code_region, "06"); /* 974's région, not loaded */
    assert_index_fails(ref, "974", "06");
}

Test(referentiel_integrity, unknown_region_of_a_commune)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    strcpy(commune_at(ref, "97420", ACTUELLE)->code_region, "11");
    assert_index_fails(ref, "97420", "11");
}

Test(referentiel_integrity, invalid_siren_of_a_commune_r42)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    strcpy(commune_at(ref, "2A004", ACTUELLE)->siren, "212000047");
    assert_index_fails(ref, "2A004", "R42");
}

Test(referentiel_integrity, invalid_siren_of_an_epci_r42)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    strcpy(epci_at(ref, CINOR)->siren, "249740118");
    assert_index_fails(ref, "249740118", "R42");
}

Test(referentiel_integrity, invalid_insee_code_r42)
{
    struct referentiel *ref = &fixture_storage;
    static const struct commune_row old_code = {"20004", ACTUELLE, "Ajaccio", "212000046", "2A",
                                                "94",    METRO,    1,         "",          {NULL}};

    build(ref);
    add_commune(ref, &old_code); /* the pre-1976 code of Ajaccio */
    assert_index_fails(ref, "20004", "R42");
}

Test(referentiel_integrity, invalid_departement_and_region_codes)
{
    struct referentiel *ref = &fixture_storage;
    static const struct departement_row bad_dep = {"2C", "Corse-du-Centre", "94", METRO, ""};
    static const struct region_row bad_region = {"4", "Réunion", DROM, ""};

    build(ref);
    add_departement(ref, &bad_dep);
    assert_index_fails(ref, "2C", NULL);
    build(ref);
    add_region(ref, &bad_region);
    assert_index_fails(ref, "4", NULL);
}

Test(referentiel_integrity, commune_in_two_epci)
{
    struct referentiel *ref = &fixture_storage;
    struct ref_epci *e;

    build(ref);
    e = epci_at(ref, BASTIA);
    strcpy(e->membres[0], "97411"); /* also a member of the CINOR */
    assert_index_fails(ref, "97411", NULL);
}

Test(referentiel_integrity, epci_member_that_is_not_a_commune_actuelle)
{
    struct referentiel *ref = &fixture_storage;
    static const struct commune_row associee = {
        "2B353", REF_COMMUNE_ASSOCIEE, "Ville-di-Pietrabugno", "", "2B", "94", METRO, 3300, "2B033",
        {NULL}};

    /* a code loaded only as a commune-associee */
    build(ref);
    add_commune(ref, &associee);
    strcpy(epci_at(ref, BASTIA)->membres[1], "2B353");
    assert_index_fails(ref, "2B353", BASTIA);

    /* a code not loaded at all */
    build(ref);
    strcpy(epci_at(ref, CINOR)->membres[2], "97409");
    assert_index_fails(ref, "97409", CINOR);
}

Test(referentiel_integrity, epci_without_members)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    epci_at(ref, CINOR)->membre_count = 0;
    assert_index_fails(ref, CINOR, NULL);
}

Test(referentiel_integrity, duplicate_codes)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    add_commune(ref, &communes[3]); /* 97411 commune-actuelle again */
    assert_index_fails(ref, "97411", NULL);

    build(ref);
    add_commune(ref, &communes[2]); /* the déléguée 2A004 again */
    assert_index_fails(ref, "2A004", NULL);

    build(ref);
    add_epci(ref, &epcis[0]);
    assert_index_fails(ref, CINOR, NULL);

    build(ref);
    add_departement(ref, &departements[1]);
    assert_index_fails(ref, "2B", NULL);

    build(ref);
    add_region(ref, &regions[1]);
    assert_index_fails(ref, "04", NULL);
}

Test(referentiel_integrity, invalid_utf8_name)
{
    struct referentiel *ref = &fixture_storage;

    build(ref);
    free(commune_at(ref, "2A001", ACTUELLE)->nom);
    commune_at(ref, "2A001", ACTUELLE)->nom = dup("Af\xe1");
    assert_index_fails(ref, "2A001", NULL);
}

/* ---- communes_page ----------------------------------------------------- */

Test(communes_page, no_filter_in_code_order)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    assert_page(communes_page(ref, &f, NULL, 4), "2A001,2A004,2A006,2B033", 4, true, 9, "first");
    assert_page(communes_page(ref, &f, "2B033", 4), "2B120,97404,97411,97418", 4, true, 9,
                "second");
    assert_page(communes_page(ref, &f, "97418", 4), "97420", 1, false, 9, "last");
    assert_page(communes_page(ref, &f, "97420", 4), "", 0, false, 9, "after the end");
    assert_page(communes_page(ref, &f, NULL, 9),
                "2A001,2A004,2A006,2B033,2B120,97404,97411,97418,97420", 9, false, 9,
                "exactly all");
    assert_walk(ref, &f, 2, "2A001,2A004,2A006,2B033,2B120,97404,97411,97418,97420");
    referentiel_release(ref);
}

Test(communes_page, after_is_strictly_after_any_key)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    assert_page(communes_page(ref, &f, "2A004", 2), "2A006,2B033", 2, true, 9, "existing key");
    assert_page(communes_page(ref, &f, "2A005", 2), "2A006,2B033", 2, true, 9, "absent key");
    assert_page(communes_page(ref, &f, "0", 2), "2A001,2A004", 2, true, 9, "before all");
    assert_page(communes_page(ref, &f, "~", 2), "", 0, false, 9, "after all");
    assert_page(communes_page(ref, &f, "", 2), "2A001,2A004", 2, true, 9, "empty key");
    referentiel_release(ref);
}

Test(communes_page, limit_zero_and_one)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    assert_page(communes_page(ref, &f, NULL, 0), "", 0, true, 9, "limit 0");
    assert_page(communes_page(ref, &f, "97420", 0), "", 0, false, 9, "limit 0 at the end");
    assert_page(communes_page(ref, &f, "97418", 1), "97420", 1, false, 9, "limit 1 at the end");
    assert_walk(ref, &f, 1, "2A001,2A004,2A006,2B033,2B120,97404,97411,97418,97420");
    referentiel_release(ref);
}

Test(communes_page, departement_filter)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    f.departement = "2A";
    assert_page(communes_page(ref, &f, NULL, 10), "2A001,2A004,2A006", 3, false, 3, "2A");
    assert_page(communes_page(ref, &f, "2A001", 1), "2A004", 1, true, 3, "2A after 2A001");
    f.departement = "974";
    assert_page(communes_page(ref, &f, NULL, 2), "97404,97411", 2, true, 4, "974");
    assert_walk(ref, &f, 3, "97404,97411,97418,97420");
    f.departement = "2B";
    assert_page(communes_page(ref, &f, "2A006", 5), "2B033,2B120", 2, false, 2,
                "cursor of another département");
    f.departement = "13";
    assert_page(communes_page(ref, &f, NULL, 5), "", 0, false, 0, "not loaded");
    referentiel_release(ref);
}

/* total is "the number of matches of the whole filter": a département code
 * that is absent (here one whose prefix is a loaded département) has none. */
Test(communes_page, total_of_an_absent_departement_is_zero)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    f.departement = "9741";
    assert_page(communes_page(ref, &f, NULL, 5), "", 0, false, 0, "9741");
    f.departement = NULL;
    f.epci = CINOR "0";
    assert_page(communes_page(ref, &f, NULL, 5), "", 0, false, 0, CINOR "0");
    referentiel_release(ref);
}

Test(communes_page, region_filter)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    f.region = "94";
    assert_page(communes_page(ref, &f, NULL, 3), "2A001,2A004,2A006", 3, true, 5, "94");
    assert_walk(ref, &f, 2, "2A001,2A004,2A006,2B033,2B120");
    f.region = "04";
    assert_page(communes_page(ref, &f, NULL, 10), "97404,97411,97418,97420", 4, false, 4, "04");
    f.region = "11";
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "11");
    referentiel_release(ref);
}

Test(communes_page, epci_filter)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    f.epci = BASTIA;
    assert_page(communes_page(ref, &f, NULL, 10), "2A006,2B033,2B120", 3, false, 3, "Bastia");
    assert_page(communes_page(ref, &f, NULL, 2), "2A006,2B033", 2, true, 3, "Bastia, 2");
    assert_page(communes_page(ref, &f, "2B033", 2), "2B120", 1, false, 3, "Bastia after");
    f.epci = CINOR;
    assert_walk(ref, &f, 2, "97411,97418,97420");
    f.epci = "242010056"; /* CA du Pays Ajaccien: real, not loaded */
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "not loaded");
    referentiel_release(ref);
}

Test(communes_page, epci_and_departement_filter)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    f.epci = BASTIA;
    f.departement = "2B";
    assert_page(communes_page(ref, &f, NULL, 10), "2B033,2B120", 2, false, 2, "Bastia in 2B");
    assert_page(communes_page(ref, &f, NULL, 1), "2B033", 1, true, 2, "Bastia in 2B, 1");
    assert_page(communes_page(ref, &f, "2B033", 1), "2B120", 1, false, 2, "Bastia in 2B, after");
    f.departement = "2A";
    assert_page(communes_page(ref, &f, NULL, 10), "2A006", 1, false, 1, "Bastia in 2A");
    f.departement = "974";
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "Bastia in 974");
    f.epci = CINOR;
    f.departement = "2A";
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "CINOR in 2A");
    referentiel_release(ref);
}

Test(communes_page, population_range)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build_indexed(ref);
    /* the déléguée (20000) is in range and must not be listed */
    f.population_min = 10000;
    f.population_max = 50000;
    assert_page(communes_page(ref, &f, NULL, 10), "2B033,97404,97418,97420", 4, false, 4,
                "10000..50000");
    assert_page(communes_page(ref, &f, NULL, 2), "2B033,97404", 2, true, 4, "10000..50000, 2");
    assert_walk(ref, &f, 3, "2B033,97404,97418,97420");
    f.population_min = 14464; /* bounds are inclusive */
    f.population_max = 37093;
    assert_page(communes_page(ref, &f, NULL, 10), "97404,97418,97420", 3, false, 3, "inclusive");
    f.population_min = 50000;
    f.population_max = -1;
    assert_page(communes_page(ref, &f, NULL, 10), "2A004,97411", 2, false, 2, "min only");
    f.population_min = -1;
    f.population_max = 4000;
    assert_page(communes_page(ref, &f, NULL, 10), "2A001,2A006", 2, false, 2, "max only");
    f.population_min = 0;
    f.population_max = 0;
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "0..0");
    f.population_min = -1;
    f.population_max = 4000;
    f.departement = "2A";
    assert_page(communes_page(ref, &f, NULL, 1), "2A001", 1, true, 2, "max and 2A");
    referentiel_release(ref);
}

Test(communes_page, unknown_population_never_matches_a_range)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;

    build(ref);
    commune_at(ref, "2A001", ACTUELLE)->population = REF_NO_POPULATION;
    {
        char err[ERR_SIZE];

        cr_assert(referentiel_index(ref, err, sizeof err), "%s", err);
    }
    f.population_max = 4000;
    assert_page(communes_page(ref, &f, NULL, 10), "2A006", 1, false, 1, "max only");
    f.population_max = -1;
    f.population_min = 0;
    assert_page(communes_page(ref, &f, NULL, 10), "2A004,2A006,2B033,2B120,97404,97411,97418,97420",
                8, false, 8, "min 0");
    referentiel_release(ref);
}

Test(communes_page, folded_query)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter f = COMMUNE_FILTER_INIT;
    char q[64];

    build_indexed(ref);
    f.q_plie = folded("SAINTE", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "97418,97420", 2, false, 2, "sainte");
    f.q_plie = folded("Saint", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 2), "97411,97418", 2, true, 3, "saint");
    assert_page(communes_page(ref, &f, "97418", 2), "97420", 1, false, 3, "saint, after");
    f.q_plie = folded("étang", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "97404", 1, false, 1, "étang");
    f.q_plie = folded("salé l’", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "97404", 1, false, 1, "words in any order");
    f.q_plie = folded("AJAC", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "2A004", 1, false, 1, "déléguée not listed");
    f.q_plie = folded("nis", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "", 0, false, 0, "not a word prefix");
    f.q_plie = folded("a", q, sizeof q);
    assert_page(communes_page(ref, &f, NULL, 10), "2A001,2A004,2A006", 3, false, 3, "a");
    f.q_plie = folded("saint", q, sizeof q);
    f.epci = CINOR;
    assert_page(communes_page(ref, &f, NULL, 10), "97411,97418,97420", 3, false, 3,
                "saint in the CINOR");
    f.departement = "974";
    f.q_plie = folded("sainte", q, sizeof q);
    assert_page(communes_page(ref, &f, "97418", 10), "97420", 1, false, 2,
                "sainte, CINOR, 974, after");
    referentiel_release(ref);
}

Test(communes_page, deleguee_is_never_listed)
{
    struct referentiel *ref = &fixture_storage;
    struct commune_filter filters[6];
    char q[16];

    build_indexed(ref);
    for (size_t i = 0; i < COUNT(filters); i++)
        filters[i] = (struct commune_filter)COMMUNE_FILTER_INIT;
    filters[1].departement = "2A";
    filters[2].region = "94";
    filters[3].q_plie = folded("Ajaccio", q, sizeof q);
    filters[4].population_min = 19999;
    filters[4].population_max = 20001;
    filters[5].departement = "2A";
    filters[5].region = "94";
    filters[5].q_plie = q;
    for (size_t i = 0; i < COUNT(filters); i++) {
        struct page p = communes_page(ref, &filters[i], NULL, 32); /* asserts the type */
        const char *first = strstr(p.codes, "2A004");

        cr_assert(first == NULL || strstr(first + 1, "2A004") == NULL, "filter %zu: %s", i,
                  p.codes);
        cr_assert_eq(p.total, p.n, "filter %zu: total counts actuelles only", i);
    }
    assert_page(communes_page(ref, &filters[4], NULL, 10), "", 0, false, 0, "population 20000");
    referentiel_release(ref);
}

/* ---- epcis_page -------------------------------------------------------- */

static struct page epcis_page(const struct referentiel *ref, const char *departement,
                              const char *after, size_t limit)
{
    struct page p = {.more = true, .total = 999};
    size_t out[8];

    cr_assert_leq(limit, COUNT(out));
    p.n = referentiel_epcis_page(ref, departement, after, limit, out, &p.more, &p.total);
    cr_assert_leq(p.n, limit);
    for (size_t i = 0; i < p.n; i++) {
        cr_assert_lt(out[i], ref->epci_count);
        if (i > 0)
            strcat(p.codes, ",");
        strcat(p.codes, ref->epcis[out[i]].siren);
    }
    return p;
}

Test(epcis_page, no_filter_in_siren_order)
{
    struct referentiel *ref = &fixture_storage;

    build_indexed(ref);
    assert_page(epcis_page(ref, NULL, NULL, 8), BASTIA "," CINOR, 2, false, 2, "all");
    assert_page(epcis_page(ref, NULL, NULL, 1), BASTIA, 1, true, 2, "first");
    assert_page(epcis_page(ref, NULL, BASTIA, 1), CINOR, 1, false, 2, "second");
    assert_page(epcis_page(ref, NULL, CINOR, 1), "", 0, false, 2, "after the end");
    assert_page(epcis_page(ref, NULL, "243000000", 8), CINOR, 1, false, 2, "absent key");
    assert_page(epcis_page(ref, NULL, NULL, 0), "", 0, true, 2, "limit 0");
    referentiel_release(ref);
}

Test(epcis_page, departement_filter_counts_a_cross_departement_epci_in_both)
{
    struct referentiel *ref = &fixture_storage;

    build_indexed(ref);
    assert_page(epcis_page(ref, "2A", NULL, 8), BASTIA, 1, false, 1, "2A");
    assert_page(epcis_page(ref, "2B", NULL, 8), BASTIA, 1, false, 1, "2B");
    assert_page(epcis_page(ref, "974", NULL, 8), CINOR, 1, false, 1, "974");
    assert_page(epcis_page(ref, "974", NULL, 0), "", 0, true, 1, "974, limit 0");
    assert_page(epcis_page(ref, "974", BASTIA, 8), CINOR, 1, false, 1, "974 after Bastia");
    assert_page(epcis_page(ref, "2A", BASTIA, 8), "", 0, false, 1, "2A after Bastia");
    assert_page(epcis_page(ref, "13", NULL, 8), "", 0, false, 0, "not loaded");
    assert_page(epcis_page(ref, "97", NULL, 8), "", 0, false, 0, "prefix of 974");
    referentiel_release(ref);
}
