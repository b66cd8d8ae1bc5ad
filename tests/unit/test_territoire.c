/* Unit tests of domain/territoire: the id_pvd syntax, R1, R2 (warning),
 * R3, R42 and the id_pvd coherence on a tiny real referential (millésime
 * 2026), plus R43 (authz_decide on the départements territoire_check
 * resolves). Each rule has a case that fails when the rule is removed. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "domain/authz.h"
#include "domain/referentiel.h"
#include "domain/territoire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct referentiel ref;

static char *dup(const char *s)
{
    char *c = strdup(s);
    cr_assert_not_null(c);
    return c;
}

static void add_region(const char *code, enum ref_zone zone)
{
    ref.regions = realloc(ref.regions, (ref.region_count + 1) * sizeof *ref.regions);
    struct ref_region *r = &ref.regions[ref.region_count++];
    memset(r, 0, sizeof *r);
    strcpy(r->code, code);
    r->nom = dup(code);
    r->zone = zone;
}

static void add_departement(const char *code, const char *region, enum ref_zone zone)
{
    ref.departements =
        realloc(ref.departements, (ref.departement_count + 1) * sizeof *ref.departements);
    struct ref_departement *d = &ref.departements[ref.departement_count++];
    memset(d, 0, sizeof *d);
    strcpy(d->code, code);
    strcpy(d->code_region, region);
    d->nom = dup(code);
    d->zone = zone;
}

static void add_commune(const char *code, const char *nom, const char *siren, const char *dep,
                        const char *reg, enum ref_zone zone, int64_t population)
{
    ref.communes = realloc(ref.communes, (ref.commune_count + 1) * sizeof *ref.communes);
    struct ref_commune *c = &ref.communes[ref.commune_count++];
    memset(c, 0, sizeof *c);
    strcpy(c->code_insee, code);
    c->type = REF_COMMUNE_ACTUELLE;
    c->nom = dup(nom);
    strcpy(c->siren, siren);
    strcpy(c->code_departement, dep);
    strcpy(c->code_region, reg);
    c->zone = zone;
    c->population = population;
    c->codes_postaux = calloc(1, sizeof *c->codes_postaux);
    c->epci = -1;
}

static void add_epci(const char *siren, const char *const *membres, size_t n)
{
    ref.epcis = realloc(ref.epcis, (ref.epci_count + 1) * sizeof *ref.epcis);
    struct ref_epci *e = &ref.epcis[ref.epci_count++];
    memset(e, 0, sizeof *e);
    strcpy(e->siren, siren);
    e->nom = dup(siren);
    e->membres = calloc(n + 1, sizeof *e->membres);
    for (size_t i = 0; i < n; i++)
        strcpy(e->membres[i], membres[i]);
    e->membre_count = n;
}

static void setup(void)
{
    memset(&ref, 0, sizeof ref);
    ref.millesime = 2026;
    add_region("27", REF_ZONE_METRO);
    add_region("75", REF_ZONE_METRO);
    add_region("76", REF_ZONE_METRO);
    add_region("52", REF_ZONE_METRO);
    add_region("01", REF_ZONE_DROM);
    add_region("84", REF_ZONE_METRO);
    add_region("975", REF_ZONE_COM);
    add_departement("58", "27", REF_ZONE_METRO);
    add_departement("32", "76", REF_ZONE_METRO);
    add_departement("40", "75", REF_ZONE_METRO);
    add_departement("85", "52", REF_ZONE_METRO);
    add_departement("971", "01", REF_ZONE_DROM);
    add_departement("38", "84", REF_ZONE_METRO);
    add_departement("73", "84", REF_ZONE_METRO);
    add_departement("975", "975", REF_ZONE_COM);
    add_commune("58062", "Château-Chinon (Ville)", "215800624", "58", "27", REF_ZONE_METRO, 1770);
    add_commune("58061", "Chasnay", "215800616", "58", "27", REF_ZONE_METRO, 128);
    add_commune("32027", "Barcelonne-du-Gers", "213200272", "32", "76", REF_ZONE_METRO, 1401);
    add_commune("40001", "Aire-sur-l'Adour", "214000010", "40", "75", REF_ZONE_METRO, 6211);
    add_commune("85047", "Challans", "218500478", "85", "52", REF_ZONE_METRO, 22943);
    add_commune("97101", "Les Abymes", "219711017", "971", "01", REF_ZONE_DROM, 51055);
    add_commune("38315", "Le Pont-de-Beauvoisin", "213803158", "38", "84", REF_ZONE_METRO, 3630);
    add_commune("73204", "Le Pont-de-Beauvoisin", "217302041", "73", "84", REF_ZONE_METRO, 2074);
    add_commune("97502", "Saint-Pierre", "", "975", "975", REF_ZONE_COM, 5194);
    static const char *const morvan[] = {"58062"}, *const bertranges[] = {"58061"},
                             *const aire[] = {"32027", "40001"}, *const challans[] = {"85047"},
                             *const cap[] = {"97101"}, *const vals[] = {"38315"},
                             *const guiers[] = {"73204"};
    add_epci("200067890", morvan, 1);
    add_epci("200068088", bertranges, 1);
    add_epci("200030435", aire, 2);
    add_epci("200071629", challans, 1);
    add_epci("200018653", cap, 1);
    add_epci("200068567", vals, 1);
    add_epci("247300528", guiers, 1);
    char err[256] = "";
    cr_assert(referentiel_index(&ref, err, sizeof err), "%s", err);
}

static void teardown(void)
{
    referentiel_release(&ref);
}

TestSuite(territoire, .init = setup, .fini = teardown);

static size_t check(const char *id, const char *const *communes, size_t nc,
                    const char *const *epcis, size_t ne, struct rule_report *v,
                    struct rule_report *w, struct territoire_resolved *out)
{
    struct territoire_input in = {id, communes, nc, epcis, ne};
    rule_report_init(v);
    rule_report_init(w);
    return territoire_check(&ref, &in, out, v, w);
}

static void assert_has(const struct rule_report *r, const char *regle, const char *code,
                       const char *pointer)
{
    const struct rule_violation *v = rule_report_find(r, code);
    cr_assert_not_null(v, "expected %s", code);
    cr_assert_str_eq(v->regle, regle);
    cr_assert_str_eq(v->pointer, pointer);
}

Test(territoire, id_pvd_syntax)
{
    char r[4], d[4];
    cr_assert(territoire_id_pvd_parse("pvd-27-58-900", r, d));
    cr_assert_str_eq(r, "27");
    cr_assert_str_eq(d, "58");
    cr_assert(territoire_id_pvd_parse("pvd-94-2A-1", r, d));
    cr_assert_str_eq(d, "2A", "Corsica is a string");
    cr_assert(territoire_id_pvd_parse("pvd-01-971-1234", r, d));
    cr_assert_str_eq(d, "971");
    /* Issue 8 §3: the ANCT's ids of territoires spanning two départements. */
    cr_assert(territoire_id_pvd_parse("pvd-84-3873-9", r, d), "two départements joined");
    cr_assert_str_eq(r, "84");
    cr_assert_str_eq(d, "38", "the first one");
    char deps[2][4];
    cr_assert_eq(territoire_id_pvd_departements("pvd-84-3873-9", deps), 2);
    cr_assert_str_eq(deps[0], "38");
    cr_assert_str_eq(deps[1], "73");
    cr_assert_eq(territoire_id_pvd_departements("pvd-44-5455-1", deps), 2);
    cr_assert_str_eq(deps[0], "54");
    cr_assert_str_eq(deps[1], "55");
    cr_assert_eq(territoire_id_pvd_departements("pvd-94-2A2B-1", deps), 2);
    cr_assert_eq(territoire_id_pvd_departements("pvd-27-58-900", deps), 1);
    cr_assert_str_eq(deps[0], "58");
    cr_assert_str_eq(deps[1], "");
    cr_assert_eq(territoire_id_pvd_departements("pvd-84-38973-9", deps), 0);
    cr_assert_eq(territoire_id_pvd_departements("pvd-84-3A73-9", deps), 0);
    cr_assert_str_eq(deps[0], "");
    cr_assert_not(territoire_id_pvd_parse("pvd-84-387-39", r, d) && strcmp(d, "387") != 0);
    cr_assert_not(territoire_id_pvd_parse("pvd_0001", r, d));
    cr_assert_not(territoire_id_pvd_parse("pvd-27-58-12345", r, d));
    cr_assert_not(territoire_id_pvd_parse("pvd-27-2C-1", r, d));
    cr_assert_not(territoire_id_pvd_parse("pvd-7-58-1", r, d));
    cr_assert_not(territoire_id_pvd_parse("pvd-27-58-", r, d));
    cr_assert_not(territoire_id_pvd_parse(NULL, r, d));
    cr_assert(territoire_id_pvd_is_valid("pvd-94-2A-1"));
    cr_assert(territoire_id_pvd_is_valid("pvd-01-971-1234"));
    cr_assert(territoire_id_pvd_parse("pvd-84-00-1", r, d), "syntax only");
    cr_assert_not(territoire_id_pvd_is_valid("pvd-84-00-1"), "no département 00");
    cr_assert(territoire_id_pvd_is_valid("pvd-84-3873-9"));
    cr_assert(territoire_id_pvd_is_valid("pvd-75-1923-9"));
    cr_assert_not(territoire_id_pvd_is_valid("pvd-84-3838-9"), "the same département twice");
    cr_assert_not(territoire_id_pvd_is_valid("pvd-84-3800-9"), "no département 00");
    cr_assert_not(territoire_id_pvd_is_valid(NULL));
}

Test(territoire, a_valid_territoire_passes_and_resolves_its_departements)
{
    struct rule_report v, w;
    struct territoire_resolved out;
    const char *communes[] = {"58062"}, *epcis[] = {"200067890"};
    cr_assert_eq(check("pvd-27-58-900", communes, 1, epcis, 1, &v, &w, &out), 0);
    cr_assert_eq(v.count, 0);
    cr_assert_eq(w.count, 0);
    cr_assert_str_eq(out.code_departement, "58");
    cr_assert_str_eq(out.code_region, "27");
    cr_assert_eq(out.departement_count, 1);
    cr_assert_eq(out.siren_count, 1);
    cr_assert_str_eq(out.sirens[0], "215800624");
}

/* Issue 8 §3: pvd-84-3873-9 (Le Pont-de-Beauvoisin, 38315 in Isère and 73204
 * in Savoie) is accepted and scoped to both départements. */
Test(territoire, an_id_joining_two_departements_spans_both)
{
    struct rule_report v, w;
    struct territoire_resolved out;
    const char *communes[] = {"38315", "73204"}, *epcis[] = {"200068567", "247300528"};
    cr_assert_eq(check("pvd-84-3873-9", communes, 2, epcis, 2, &v, &w, &out), 0, "%s",
                 v.count ? v.items[0].message : "");
    cr_assert_str_eq(out.code_departement, "38");
    cr_assert_str_eq(out.code_region, "84");
    cr_assert_eq(out.departement_count, 2);
    cr_assert_str_eq(out.departements[0], "38");
    cr_assert_str_eq(out.departements[1], "73");
    /* Each département the id names has one of its communes. */
    cr_assert_eq(check("pvd-84-3873-9", communes, 1, epcis, 1, &v, &w, NULL), 1);
    assert_has(&v, "", "id-pvd-incoherent", "/id_pvd");
    cr_assert(strstr(v.items[0].message, "73"), "%s", v.items[0].message);
    const char *swapped[] = {"73204", "38315"};
    cr_assert_eq(check("pvd-84-7338-9", swapped, 2, epcis, 2, &v, &w, &out), 0);
    cr_assert_str_eq(out.code_departement, "73");
}

/* Issue 8 §3: a commune listed with an EPCI that is no longer its own (56010
 * with 200067221, split since) goes in its current EPCI. */
Test(territoire, epci_actuel_replaces_an_epci_that_changed_since_the_file)
{
    const struct ref_epci *e = territoire_epci_actuel(&ref, "58062", "200067221");
    cr_assert_not_null(e, "an EPCI unknown to the referential");
    cr_assert_str_eq(e->siren, "200067890");
    e = territoire_epci_actuel(&ref, "58062", "200068088");
    cr_assert_not_null(e, "an EPCI the commune is no longer a member of");
    cr_assert_str_eq(e->siren, "200067890");
    cr_assert_null(territoire_epci_actuel(&ref, "58062", "200067890"), "its own EPCI");
    cr_assert_null(territoire_epci_actuel(&ref, "58062", ""), "no EPCI given");
    cr_assert_null(territoire_epci_actuel(&ref, "58099", "200067221"), "unknown commune");
    cr_assert_null(territoire_epci_actuel(&ref, "97502", "200067221"), "commune without EPCI");
}

Test(territoire, r1_needs_a_commune_and_an_epci)
{
    struct rule_report v, w;
    cr_assert_geq(check("pvd-27-58-900", NULL, 0, NULL, 0, &v, &w, NULL), 2);
    assert_has(&v, "R1", "territoire-sans-commune", "/communes");
    assert_has(&v, "R1", "territoire-sans-epci", "/epcis");
}

Test(territoire, r1_each_commune_is_a_member_of_one_of_its_epcis)
{
    struct rule_report v, w;
    const char *communes[] = {"58062", "58061"}, *epcis[] = {"200067890"};
    cr_assert_eq(check("pvd-27-58-900", communes, 2, epcis, 1, &v, &w, NULL), 1);
    assert_has(&v, "R1", "commune-hors-epci", "/communes/1");
    const char *both[] = {"200067890", "200068088"};
    cr_assert_eq(check("pvd-27-58-900", communes, 2, both, 2, &v, &w, NULL), 0,
                 "EPCIs may differ per commune");
}

Test(territoire, default_epcis_are_the_communes_distinct)
{
    const char *communes[] = {"32027", "40001", "58062", "99999"};
    char out[4][10];
    cr_assert_eq(territoire_default_epcis(&ref, communes, 4, out, 4), 2);
    cr_assert_str_eq(out[0], "200030435");
    cr_assert_str_eq(out[1], "200067890");
}

Test(territoire, r2_population_of_20000_or_more_warns_never_blocks)
{
    struct rule_report v, w;
    const char *communes[] = {"85047"}, *epcis[] = {"200071629"};
    cr_assert_eq(check("pvd-52-85-901", communes, 1, epcis, 1, &v, &w, NULL), 0);
    cr_assert_eq(w.count, 1);
    cr_assert_str_eq(w.items[0].regle, "R2");
    cr_assert_str_eq(w.items[0].code, "population-superieure-seuil");
    cr_assert_str_eq(w.items[0].pointer, "/communes/0");
}

Test(territoire, r3_metropole_and_drom_only)
{
    struct rule_report v, w;
    const char *com[] = {"97502"};
    check("pvd-97-975-901", com, 1, NULL, 0, &v, &w, NULL);
    assert_has(&v, "R3", "commune-hors-programme", "/communes/0");
    const char *drom[] = {"97101"}, *epcis[] = {"200018653"};
    cr_assert_eq(check("pvd-01-971-901", drom, 1, epcis, 1, &v, &w, NULL), 0, "a DROM is in");
    cr_assert(territoire_zone_eligible(REF_ZONE_DROM, "976"));
    cr_assert_not(territoire_zone_eligible(REF_ZONE_DROM, "975"));
    cr_assert_not(territoire_zone_eligible(REF_ZONE_COM, "977"));
}

Test(territoire, r42_communes_and_epcis_exist_in_the_millesime)
{
    struct rule_report v, w;
    const char *communes[] = {"58999"}, *epcis[] = {"215800624"};
    check("pvd-27-58-900", communes, 1, epcis, 1, &v, &w, NULL);
    assert_has(&v, "R42", "commune-inconnue", "/communes/0");
    assert_has(&v, "R42", "epci-inconnu", "/epcis/0");
    cr_assert(strstr(rule_report_find(&v, "commune-inconnue")->message, "2026"));
}

Test(territoire, duplicate_commune_and_id_pvd_coherence)
{
    struct rule_report v, w;
    const char *twice[] = {"58062", "58062"}, *epcis[] = {"200067890"};
    check("pvd-27-58-900", twice, 2, epcis, 1, &v, &w, NULL);
    assert_has(&v, "", "commune-en-double", "/communes/1");
    const char *communes[] = {"58062"};
    check("pvd-84-58-900", communes, 1, epcis, 1, &v, &w, NULL);
    assert_has(&v, "", "id-pvd-incoherent", "/id_pvd");
    check("pvd-27-21-900", communes, 1, epcis, 1, &v, &w, NULL);
    assert_has(&v, "", "id-pvd-incoherent", "/id_pvd");
}

Test(territoire, grouped_candidature_over_two_departements_scopes_both)
{
    struct rule_report v, w;
    struct territoire_resolved out;
    const char *communes[] = {"32027", "40001"}, *epcis[] = {"200030435"};
    cr_assert_eq(check("pvd-76-32-901", communes, 2, epcis, 1, &v, &w, &out), 0);
    cr_assert_eq(out.departement_count, 2);
    cr_assert_str_eq(out.departements[0], "32");
    cr_assert_str_eq(out.departements[1], "40");
}

/* R43: a préfecture acts on the territoires of its départements only; the
 * EPCI straddling the Gers and the Landes does not widen the Landes' scope. */
Test(territoire, r43_scope_is_the_communes_departements_never_the_epcis)
{
    struct rule_report v, w;
    struct territoire_resolved out;
    const char *communes[] = {"32027"}, *epcis[] = {"200030435"};
    cr_assert_eq(check("pvd-76-32-901", communes, 1, epcis, 1, &v, &w, &out), 0);
    const char *deps[TERRITOIRE_MAX_COMMUNES];
    for (size_t i = 0; i < out.departement_count; i++)
        deps[i] = out.departements[i];
    struct authz_target target = {.departements = deps,
                                  .departement_count = out.departement_count,
                                  .territoire = "pvd-76-32-901"};
    struct authz_principal landes = {.role = ROLE_PREFECTURE_INSTRUCTEUR};
    strcpy(landes.perimeter.departements[0], "40");
    landes.perimeter.departement_count = 1;
    struct authz_principal gers = landes;
    strcpy(gers.perimeter.departements[0], "32");
    cr_assert_eq(authz_decide(&landes, ACTION_TERRITOIRE_WRITE, &target), AUTHZ_FORBID);
    cr_assert_eq(authz_decide(&gers, ACTION_TERRITOIRE_WRITE, &target), AUTHZ_ALLOW);
}
