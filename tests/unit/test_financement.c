/* Unit tests of domain/financement: the statut machine of a financing line,
 * the plan's balance, R27 (échéancier), R29 (art. L1111-10 CGCT) on
 * real-shaped plans, R33 (State dotations cap) and the annual maquette on a
 * generated plan of 200 fiches. Each rule is checked on a valid case and on
 * the same case broken in one place, so that removing the rule fails a test. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "domain/financement.h"

#define NB     "\xc2\xa0"
#define EURO   NB "\xe2\x82\xac"
#define EUR(x) ((int64_t)(x)*100) /* whole euros in cents */

static struct rule_report report(void)
{
    struct rule_report r;
    rule_report_init(&r);
    return r;
}

static struct financement_ligne ligne(enum financement_dispositif d, bool public, bool mo,
                                      int64_t montant, enum financement_statut statut)
{
    return (struct financement_ligne){.dispositif = d,
                                      .public = public,
                                      .par_maitre_ouvrage = mo,
                                      .montant = montant,
                                      .statut = statut};
}

/* ---- Money formatting -------------------------------------------------- */

static void expect_euros(int64_t cents, const char *want)
{
    char buf[FINANCEMENT_EUROS_MAX];
    size_t n = financement_euros_format(cents, buf, sizeof buf);

    cr_expect_str_eq(buf, want, "%lld cents", (long long)cents);
    cr_expect_eq(n, strlen(want));
}

Test(financement, euros_format_french_separators)
{
    expect_euros(0, "0,00" EURO);
    expect_euros(5, "0,05" EURO);
    expect_euros(-5, "-0,05" EURO);
    expect_euros(99999, "999,99" EURO);
    expect_euros(123456, "1" NB "234,56" EURO);
    expect_euros(625000, "6" NB "250,00" EURO);
    expect_euros(EUR(1000000), "1" NB "000" NB "000,00" EURO);
    expect_euros(-EUR(100000), "-100" NB "000,00" EURO);
    expect_euros(INT64_MAX, "92" NB "233" NB "720" NB "368" NB "547" NB "758,07" EURO);
    expect_euros(INT64_MIN, "-92" NB "233" NB "720" NB "368" NB "547" NB "758,08" EURO);
}

Test(financement, euros_format_truncates_like_snprintf)
{
    char buf[4];

    cr_expect_eq(financement_euros_format(123456, buf, sizeof buf), strlen("1" NB "234,56" EURO));
    cr_expect_str_eq(buf, "1" NB);
    cr_expect_eq(financement_euros_format(123456, NULL, 0), strlen("1" NB "234,56" EURO));
}

/* ---- Names and statut machine ------------------------------------------ */

Test(financement, names_round_trip)
{
    for (int s = 0; s < FINANCEMENT_STATUT__COUNT; s++) {
        enum financement_statut out;
        cr_assert(
            financement_statut_parse(financement_statut_name((enum financement_statut)s), &out));
        cr_expect_eq((int)out, s);
    }
    for (int d = 0; d < FINANCEMENT_DISPOSITIF__COUNT; d++) {
        enum financement_dispositif out;
        cr_assert(financement_dispositif_parse(
            financement_dispositif_name((enum financement_dispositif)d), &out));
        cr_expect_eq((int)out, d);
    }
    for (int t = 0; t < FINANCEMENT_DEROGATION__COUNT; t++) {
        enum financement_derogation_type out;
        cr_assert(financement_derogation_parse(
            financement_derogation_name((enum financement_derogation_type)t), &out));
        cr_expect_eq((int)out, t);
    }
    enum financement_statut s = FINANCEMENT_SOLDE;
    cr_expect_not(financement_statut_parse("Accorde", &s));
    cr_expect_not(financement_statut_parse(NULL, &s));
    cr_expect_eq(s, FINANCEMENT_SOLDE);
    cr_expect_null(financement_statut_name(FINANCEMENT_STATUT__COUNT));
    cr_expect_str_eq(financement_dispositif_name(DISPOSITIF_DETR), "DETR");
    cr_expect_str_eq(financement_statut_name(FINANCEMENT_VERSE_PARTIEL), "verse_partiel");
}

Test(financement, statut_machine_edges)
{
    /* Exactly the six edges of §1.10, every other pair refused. */
    static const int allowed[FINANCEMENT_STATUT__COUNT][FINANCEMENT_STATUT__COUNT] = {
        /*                 env sol acc ref ver sol */
        [FINANCEMENT_ENVISAGE] = {0, 1, 0, 0, 0, 0},
        [FINANCEMENT_SOLLICITE] = {0, 0, 1, 1, 0, 0},
        [FINANCEMENT_ACCORDE] = {0, 0, 0, 0, 1, 1},
        [FINANCEMENT_REFUSE] = {0, 0, 0, 0, 0, 0},
        [FINANCEMENT_VERSE_PARTIEL] = {0, 0, 0, 0, 0, 1},
        [FINANCEMENT_SOLDE] = {0, 0, 0, 0, 0, 0},
    };
    for (int f = 0; f < FINANCEMENT_STATUT__COUNT; f++)
        for (int t = 0; t < FINANCEMENT_STATUT__COUNT; t++)
            cr_expect_eq(financement_statut_transition_exists((enum financement_statut)f,
                                                              (enum financement_statut)t),
                         allowed[f][t] != 0, "%s -> %s",
                         financement_statut_name((enum financement_statut)f),
                         financement_statut_name((enum financement_statut)t));
    cr_expect_not(
        financement_statut_transition_exists(FINANCEMENT_STATUT__COUNT, FINANCEMENT_SOLDE));
}

Test(financement, statut_transitions_possibles)
{
    enum financement_statut out[FINANCEMENT_STATUT__COUNT];

    cr_assert_eq(financement_statut_transitions_possibles(FINANCEMENT_SOLLICITE, out,
                                                          FINANCEMENT_STATUT__COUNT),
                 2);
    cr_expect_eq(out[0], FINANCEMENT_ACCORDE);
    cr_expect_eq(out[1], FINANCEMENT_REFUSE);
    cr_expect_eq(financement_statut_transitions_possibles(FINANCEMENT_ACCORDE, NULL, 0), 2);
    cr_expect_eq(financement_statut_transitions_possibles(FINANCEMENT_REFUSE, out, 6), 0);
    cr_expect_eq(financement_statut_transitions_possibles(FINANCEMENT_SOLDE, out, 6), 0);
}

Test(financement, statut_compte_and_dotations)
{
    cr_expect_not(financement_statut_compte(FINANCEMENT_ENVISAGE));
    cr_expect(financement_statut_compte(FINANCEMENT_SOLLICITE));
    cr_expect(financement_statut_compte(FINANCEMENT_ACCORDE));
    cr_expect_not(financement_statut_compte(FINANCEMENT_REFUSE));
    cr_expect(financement_statut_compte(FINANCEMENT_VERSE_PARTIEL));
    cr_expect(financement_statut_compte(FINANCEMENT_SOLDE));
    int n = 0;
    for (int d = 0; d < FINANCEMENT_DISPOSITIF__COUNT; d++)
        n += financement_dispositif_est_dotation_etat((enum financement_dispositif)d);
    cr_expect_eq(n, 4);
    cr_expect(financement_dispositif_est_dotation_etat(DISPOSITIF_DETR));
    cr_expect(financement_dispositif_est_dotation_etat(DISPOSITIF_DSIL));
    cr_expect(financement_dispositif_est_dotation_etat(DISPOSITIF_DPV));
    cr_expect(financement_dispositif_est_dotation_etat(DISPOSITIF_DSID));
    cr_expect_not(financement_dispositif_est_dotation_etat(DISPOSITIF_FNADT));
}

Test(financement, lignes_check_amount_range)
{
    struct financement_ligne l[3] = {
        ligne(DISPOSITIF_DETR, true, false, 0, FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_DETR, true, false, -1, FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_DETR, true, false, FINANCEMENT_MONTANT_MAX + 1, FINANCEMENT_SOLLICITE),
    };
    struct rule_report v = report();

    cr_assert_eq(financement_lignes_check(l, 3, &v), 2);
    cr_expect_str_eq(v.items[0].pointer, "/plan_financement/1/montant_centimes");
    cr_expect_str_eq(v.items[1].pointer, "/plan_financement/2/montant_centimes");
    cr_expect_str_eq(v.items[0].code, "montant-invalide");
    cr_expect_eq(financement_lignes_check(l, 1, &v), 0);
}

/* ---- Balance ------------------------------------------------------------ */

Test(financement, solde_counts_sollicite_accorde_verse_solde)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_DETR, true, false, EUR(40000), FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_REGION, true, false, EUR(15000), FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_FEDER, true, false, EUR(10000), FINANCEMENT_VERSE_PARTIEL),
        ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(20000), FINANCEMENT_SOLDE),
        ligne(DISPOSITIF_DEPARTEMENT, true, false, EUR(7000), FINANCEMENT_ENVISAGE),
        ligne(DISPOSITIF_DSIL, true, false, EUR(30000), FINANCEMENT_REFUSE),
    };
    int64_t solde = -1;

    cr_assert(financement_solde(l, 6, EUR(100000), &solde));
    cr_expect_eq(solde, EUR(15000));
    cr_assert(financement_solde(l, 4, EUR(85000), &solde));
    cr_expect_eq(solde, 0, "balanced plan (R24)");
    cr_assert(financement_solde(l, 4, EUR(80000), &solde));
    cr_expect_eq(solde, -EUR(5000), "over-financed");
    cr_assert(financement_solde(NULL, 3, 12345, &solde));
    cr_expect_eq(solde, 12345);
}

Test(financement, solde_refuses_negative_and_overflow)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_DETR, true, false, INT64_MAX, FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_DETR, true, false, 1, FINANCEMENT_ACCORDE),
    };
    struct financement_ligne neg = ligne(DISPOSITIF_DETR, true, false, -1, FINANCEMENT_ENVISAGE);
    int64_t solde = 42;

    cr_expect_not(financement_solde(l, 2, 0, &solde));
    cr_expect_not(financement_solde(&neg, 1, 100, &solde));
    cr_expect_not(financement_solde(NULL, 0, -1, &solde));
    cr_expect_eq(solde, 42);
}

/* ---- R27 ---------------------------------------------------------------- */

Test(financement, r27_balanced_echeancier)
{
    struct financement_annee e[] = {{2024, EUR(30000)}, {2025, EUR(50000)}, {2026, EUR(20000)}};
    struct rule_report v = report();

    cr_expect_eq(financement_r27_check(e, 3, EUR(100000), &v), 0);
    cr_expect_eq(financement_r27_check(NULL, 0, 0, &v), 0);
    cr_expect_not(rule_report_any(&v));
}

Test(financement, r27_unbalanced_echeancier)
{
    struct financement_annee e[] = {{2024, EUR(30000)}, {2025, EUR(50000)}, {2026, EUR(19000)}};
    struct rule_report v = report();

    cr_assert_eq(financement_r27_check(e, 3, EUR(100000), &v), 1);
    cr_expect_str_eq(v.items[0].regle, "R27");
    cr_expect_str_eq(v.items[0].code, "echeancier-desequilibre");
    cr_expect_str_eq(v.items[0].pointer, "/echeancier");
    cr_expect(strstr(v.items[0].message, "99" NB "000,00" EURO) != NULL, "%s", v.items[0].message);
    cr_expect(strstr(v.items[0].message, "-1" NB "000,00" EURO) != NULL, "%s", v.items[0].message);

    v = report();
    cr_expect_eq(financement_r27_check(NULL, 0, 1, &v), 1, "no échéancier for a cost");
    cr_expect_str_eq(v.items[0].code, "echeancier-desequilibre");
}

Test(financement, r27_repeated_year_and_bad_amount)
{
    struct financement_annee e[] = {{2024, EUR(50000)}, {2025, -1}, {2024, EUR(50000)}};
    struct rule_report v = report();

    cr_assert_eq(financement_r27_check(e, 3, EUR(100000), &v), 2);
    cr_expect_str_eq(v.items[0].code, "echeancier-montant-invalide");
    cr_expect_str_eq(v.items[0].pointer, "/echeancier/1/montant_centimes");
    cr_expect_str_eq(v.items[1].code, "echeancier-annee-repetee");
    cr_expect_str_eq(v.items[1].pointer, "/echeancier/2/annee");
}

/* ---- R29 ---------------------------------------------------------------- */

/* A commune's investment of 100 000 € HT with 85 % public aid: DETR 40 000 €,
 * région 25 000 €, département 20 000 €, own share 15 000 € — and 10 000 €
 * of private mécénat, outside the base. */
struct plan29 {
    struct financement_ligne l[6];
    struct financement_r29_input in;
};

static void plan_85(struct plan29 *p, const char *code)
{
    memset(p, 0, sizeof *p);
    p->l[0] = ligne(DISPOSITIF_DETR, true, false, EUR(40000), FINANCEMENT_ACCORDE);
    p->l[1] = ligne(DISPOSITIF_REGION, true, false, EUR(25000), FINANCEMENT_SOLLICITE);
    p->l[2] = ligne(DISPOSITIF_DEPARTEMENT, true, false, EUR(20000), FINANCEMENT_ENVISAGE);
    p->l[3] = ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(15000), FINANCEMENT_ACCORDE);
    p->l[4] = ligne(DISPOSITIF_PRIVE, false, false, EUR(10000), FINANCEMENT_ACCORDE);
    p->l[5] = ligne(DISPOSITIF_DSIL, true, false, EUR(500000), FINANCEMENT_REFUSE);
    p->in = (struct financement_r29_input){
        .maitre_ouvrage_kind = ORGANISATION_COMMUNE,
        .code_territorial = code,
        .investissement = true,
        .lignes = p->l,
        .ligne_count = 6,
    };
}

Test(financement, r29_commune_85_percent_refused_with_shortfall)
{
    struct plan29 p;
    struct financement_r29_result r;
    struct rule_report v = report();

    plan_85(&p, "23096"); /* Guéret, Creuse */
    cr_assert_eq(financement_r29_check(&p.in, &r, &v), 1);
    cr_expect(r.applicable);
    cr_expect_not(r.exempte);
    cr_expect_eq(r.seuil_pourcent, 20);
    cr_expect_eq(r.part_propre, EUR(15000));
    cr_expect_eq(r.autres_publics, EUR(85000), "private and refused lines are outside");
    cr_expect_eq(r.part_propre_minimale, EUR(21250), "85 000 / 4");
    cr_expect_eq(r.manque, EUR(6250));
    cr_expect_str_eq(v.items[0].regle, "R29");
    cr_expect_str_eq(v.items[0].code, "part-propre-insuffisante");
    cr_expect_str_eq(v.items[0].pointer, "/plan_financement");
    cr_expect(strstr(v.items[0].message, "Il manque 6" NB "250,00" EURO " de part propre") != NULL,
              "%s", v.items[0].message);
    cr_expect(strstr(v.items[0].message, "20 %") != NULL, "%s", v.items[0].message);

    /* The same with the département code instead of the commune's. */
    plan_85(&p, "23");
    v = report();
    cr_expect_eq(financement_r29_check(&p.in, NULL, &v), 1);
}

Test(financement, r29_same_plan_overseas_accepted)
{
    static const char *const codes[] = {"971", "97105", "972",   "973", "974",
                                        "975", "976",   "97611", "977", "978"};
    struct plan29 p;
    struct financement_r29_result r;

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct rule_report v = report();
        plan_85(&p, codes[i]);
        cr_expect_eq(financement_r29_check(&p.in, &r, &v), 0, "%s", codes[i]);
        cr_expect_not(r.applicable, "%s", codes[i]);
    }
    /* Not overseas: metropolitan, Corsica, a malformed code. */
    static const char *const others[] = {"97", "979", "9710", "970", "2A", "75056", ""};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        struct rule_report v = report();
        plan_85(&p, others[i]);
        cr_expect_eq(financement_r29_check(&p.in, &r, &v), 1, "%s", others[i]);
    }
    plan_85(&p, NULL);
    cr_expect_eq(financement_r29_check(&p.in, NULL, NULL), 1);
}

Test(financement, r29_recorded_derogation_accepted)
{
    for (int t = 0; t < FINANCEMENT_DEROGATION__COUNT; t++) {
        if (t == DEROGATION_CORSE)
            continue;
        struct plan29 p;
        struct financement_r29_result r;
        struct rule_report v = report();
        plan_85(&p, "23096");
        p.in.has_derogation = true;
        p.in.derogation = (enum financement_derogation_type)t;
        p.in.derogation_reference = "Arrêté préfectoral n° 2024-DCL-123";
        cr_expect_eq(financement_r29_check(&p.in, &r, &v), 0, "%d", t);
        cr_expect(r.exempte);
        cr_expect_eq(r.manque, EUR(6250), "still computed");
    }
}

Test(financement, r29_derogation_without_reference_does_not_count)
{
    struct plan29 p;
    struct rule_report v = report();

    plan_85(&p, "23096");
    p.in.has_derogation = true;
    p.in.derogation = DEROGATION_MONUMENT_PROTEGE;
    p.in.derogation_reference = "";
    cr_assert_eq(financement_r29_check(&p.in, NULL, &v), 2);
    cr_expect_str_eq(v.items[0].code, "derogation-reference-manquante");
    cr_expect_str_eq(v.items[0].pointer, "/derogation_l1111_10/reference");
    cr_expect_str_eq(v.items[1].code, "part-propre-insuffisante");
}

/* Corsica: an EPCI of Corse-du-Sud, 90 000 € of other public aid. */
Test(financement, r29_corse_ten_percent)
{
    struct financement_ligne l[2] = {
        ligne(DISPOSITIF_DSIL, true, false, EUR(90000), FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(10000), FINANCEMENT_ACCORDE),
    };
    struct financement_r29_input in = {
        .maitre_ouvrage_kind = ORGANISATION_EPCI,
        .code_territorial = "2A",
        .investissement = true,
        .lignes = l,
        .ligne_count = 2,
        .has_derogation = true,
        .derogation = DEROGATION_CORSE,
        .derogation_reference = "Arrêté 2A-2024-17",
    };
    struct financement_r29_result r;
    struct rule_report v = report();

    cr_expect_eq(financement_r29_check(&in, &r, &v), 0, "10 000 = 10 %% of 100 000");
    cr_expect_eq(r.seuil_pourcent, 10);
    cr_expect_eq(r.part_propre_minimale, EUR(10000));
    cr_expect_not(r.exempte);

    l[1].montant = EUR(10000) - 1;
    v = report();
    cr_assert_eq(financement_r29_check(&in, &r, &v), 1);
    cr_expect_eq(r.manque, 1);
    cr_expect(strstr(v.items[0].message, "Il manque 0,01" EURO) != NULL, "%s", v.items[0].message);
    cr_expect(strstr(v.items[0].message, "10 %") != NULL, "%s", v.items[0].message);

    /* Without the derogation Corsica has the 20 % rule: 22 500 €. */
    l[1].montant = EUR(10000);
    in.has_derogation = false;
    v = report();
    cr_assert_eq(financement_r29_check(&in, &r, &v), 1);
    cr_expect_eq(r.manque, EUR(12500));

    /* A corse derogation outside Corsica is refused, and the 20 % holds. */
    in.has_derogation = true;
    in.code_territorial = "2B033";
    v = report();
    cr_expect_eq(financement_r29_check(&in, &r, &v), 0, "Bastia is in Corsica");
    in.code_territorial = "06088";
    v = report();
    cr_assert_eq(financement_r29_check(&in, &r, &v), 2);
    cr_expect_str_eq(v.items[0].code, "derogation-corse-hors-corse");
    cr_expect_str_eq(v.items[1].code, "part-propre-insuffisante");
    cr_expect_eq(r.seuil_pourcent, 20);
}

Test(financement, r29_boundaries_and_rounding)
{
    struct financement_ligne l[2] = {
        ligne(DISPOSITIF_FNADT, true, false, EUR(80000), FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_EMPRUNT, true, true, EUR(20000), FINANCEMENT_ACCORDE),
    };
    struct financement_r29_input in = {.maitre_ouvrage_kind = ORGANISATION_REGION,
                                       .code_territorial = "84",
                                       .investissement = true,
                                       .lignes = l,
                                       .ligne_count = 2};
    struct financement_r29_result r;
    struct rule_report v = report();

    cr_expect_eq(financement_r29_check(&in, &r, &v), 0, "exactly 20 %%");
    l[1].montant -= 1;
    cr_expect_eq(financement_r29_check(&in, &r, &v), 1, "one cent short");
    cr_expect_eq(r.manque, 1);

    /* Rounded up to the cent: 1 cent of other aid needs 1 cent of own share. */
    l[0].montant = 1;
    l[1].montant = 0;
    v = report();
    cr_expect_eq(financement_r29_check(&in, &r, &v), 1);
    cr_expect_eq(r.part_propre_minimale, 1);
    l[0].montant = 5; /* 5 / 4 = 1.25 → 2 cents */
    cr_expect_eq(financement_r29_check(&in, &r, NULL), 1);
    cr_expect_eq(r.part_propre_minimale, 2);
    l[1].montant = 2;
    cr_expect_eq(financement_r29_check(&in, &r, NULL), 0);
}

Test(financement, r29_outside_its_scope)
{
    struct plan29 p;
    struct rule_report v = report();

    plan_85(&p, "23096");
    p.in.investissement = false; /* fonctionnement, étude… */
    cr_expect_eq(financement_r29_check(&p.in, NULL, &v), 0);
    plan_85(&p, "23096");
    p.in.maitre_ouvrage_kind = ORGANISATION_ASSOCIATION;
    cr_expect_eq(financement_r29_check(&p.in, NULL, &v), 0);
    p.in.maitre_ouvrage_kind = ORGANISATION_BAILLEUR;
    cr_expect_eq(financement_r29_check(&p.in, NULL, &v), 0);
    static const enum organisation_kind groupements[] = {
        ORGANISATION_COMMUNE, ORGANISATION_EPCI, ORGANISATION_PETR, ORGANISATION_DEPARTEMENT,
        ORGANISATION_REGION};
    for (size_t i = 0; i < 5; i++) {
        p.in.maitre_ouvrage_kind = groupements[i];
        cr_expect_eq(financement_r29_check(&p.in, NULL, &v), 1, "%zu", i);
    }
    cr_expect_eq(financement_r29_check(NULL, NULL, &v), 0);
}

Test(financement, r29_out_of_range_amounts)
{
    struct financement_ligne l[2] = {
        ligne(DISPOSITIF_DETR, true, false, FINANCEMENT_MONTANT_MAX, FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, -EUR(1), FINANCEMENT_ACCORDE),
    };
    struct financement_r29_input in = {.maitre_ouvrage_kind = ORGANISATION_COMMUNE,
                                       .investissement = true,
                                       .lignes = l,
                                       .ligne_count = 2};
    struct rule_report v = report();

    cr_assert_eq(financement_r29_check(&in, NULL, &v), 1);
    cr_expect_str_eq(v.items[0].code, "plan-financement-hors-limites");
}

Test(financement, r29_message_fits_for_the_largest_amounts)
{
    static struct financement_ligne l[10000];
    struct financement_r29_input in = {.maitre_ouvrage_kind = ORGANISATION_COMMUNE,
                                       .investissement = true,
                                       .lignes = l,
                                       .ligne_count = 9000};
    struct financement_r29_result r;
    struct rule_report v = report();

    for (size_t i = 0; i < 9000; i++)
        l[i] = ligne(DISPOSITIF_DETR, true, false, FINANCEMENT_MONTANT_MAX, FINANCEMENT_ACCORDE);
    cr_assert_eq(financement_r29_check(&in, &r, &v), 1);
    cr_expect_eq(r.autres_publics, 9000 * FINANCEMENT_MONTANT_MAX);
    cr_expect_lt(strlen(v.items[0].message), sizeof v.items[0].message - 1, "%s",
                 v.items[0].message);
    cr_expect(strstr(v.items[0].message, "minimum ") != NULL);

    in.ligne_count = 10000; /* Σ overflows int64_t */
    for (size_t i = 9000; i < 10000; i++)
        l[i] = l[0];
    v = report();
    cr_assert_eq(financement_r29_check(&in, &r, &v), 1);
    cr_expect_str_eq(v.items[0].code, "plan-financement-hors-limites");
}

/* ---- R33 ---------------------------------------------------------------- */

Test(financement, r33_state_dotations_cap)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_DETR, true, false, EUR(50000), FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_DSIL, true, false, EUR(30000), FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_FNADT, true, false, EUR(10000), FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_DETR, true, false, EUR(90000), FINANCEMENT_REFUSE),
        ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(10000), FINANCEMENT_ACCORDE),
    };
    struct rule_report v = report();
    int64_t excedent = -1;

    cr_expect_eq(financement_r33_check(l, 5, EUR(100000), &excedent, &v), 0, "exactly 80 %%");
    cr_expect_eq(excedent, 0);
    l[1].montant += 1;
    cr_assert_eq(financement_r33_check(l, 5, EUR(100000), &excedent, &v), 1);
    cr_expect_eq(excedent, 1);
    cr_expect_str_eq(v.items[0].regle, "R33");
    cr_expect_str_eq(v.items[0].code, "dotations-etat-plafond-depasse");
    cr_expect_str_eq(v.items[0].pointer, "/plan_financement");
    cr_expect(strstr(v.items[0].message, "de 0,01" EURO) != NULL, "%s", v.items[0].message);
    cr_expect(strstr(v.items[0].message, "80" NB "000,00" EURO) != NULL, "%s", v.items[0].message);

    /* DPV and DSID count with DETR and DSIL. */
    l[1].montant = EUR(30000);
    l[2].dispositif = DISPOSITIF_DPV;
    v = report();
    cr_expect_eq(financement_r33_check(l, 5, EUR(100000), &excedent, &v), 1);
    cr_expect_eq(excedent, EUR(10000));
    l[2].dispositif = DISPOSITIF_DSID;
    cr_expect_eq(financement_r33_check(l, 5, EUR(100000), NULL, NULL), 1);
}

Test(financement, r33_cap_rounds_down_to_the_cent)
{
    struct financement_ligne l = ligne(DISPOSITIF_DETR, true, false, 1, FINANCEMENT_SOLLICITE);
    int64_t excedent;
    struct rule_report v = report();

    cr_expect_eq(financement_r33_check(&l, 1, 1, &excedent, &v), 1, "0.8 cent: cap 0");
    cr_expect_eq(excedent, 1);
    l.montant = 79999999; /* floor(0.8 × 99 999 999) */
    cr_expect_eq(financement_r33_check(&l, 1, 99999999, &excedent, NULL), 0);
    l.montant = 80000000;
    cr_expect_eq(financement_r33_check(&l, 1, 99999999, &excedent, NULL), 1);
    l.montant = FINANCEMENT_MONTANT_MAX / 10 * 8;
    cr_expect_eq(financement_r33_check(&l, 1, FINANCEMENT_MONTANT_MAX, &excedent, NULL), 0);
    v = report();
    cr_expect_eq(financement_r33_check(&l, 1, -1, &excedent, &v), 1);
    cr_expect_str_eq(v.items[0].code, "plan-financement-hors-limites");
}

Test(financement, r33_detr_floor_gives_way_to_the_cap)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_DETR, true, false, EUR(20000), FINANCEMENT_SOLLICITE),
        ligne(DISPOSITIF_DSIL, true, false, EUR(30000), FINANCEMENT_ACCORDE),
        ligne(DISPOSITIF_DETR, true, false, EUR(1000), FINANCEMENT_REFUSE),
        ligne(DISPOSITIF_REGION, true, false, EUR(1000), FINANCEMENT_ACCORDE),
    };
    struct rule_report v = report();

    cr_expect_eq(financement_r33_check(l, 4, EUR(100000), NULL, &v), 0, "DETR at 20 %% exactly");
    l[0].montant -= 1;
    cr_assert_eq(financement_r33_check(l, 4, EUR(100000), NULL, &v), 1);
    cr_expect_str_eq(v.items[0].regle, "R33");
    cr_expect_str_eq(v.items[0].code, "detr-inferieure-plancher");
    cr_expect_str_eq(v.items[0].pointer, "/plan_financement/0/montant_centimes");
    cr_expect(strstr(v.items[0].message, "20" NB "000,00" EURO) != NULL, "%s", v.items[0].message);

    /* DSIL 65 000 € leaves 15 000 € under the 80 % cap: a DETR of 15 000 €
     * (15 %) fills it and is accepted, one of 14 999,99 € is not. */
    l[1].montant = EUR(65000);
    l[0].montant = EUR(15000);
    v = report();
    cr_expect_eq(financement_r33_check(l, 4, EUR(100000), NULL, &v), 0);
    l[0].montant -= 1;
    cr_expect_eq(financement_r33_check(l, 4, EUR(100000), NULL, &v), 1);
    cr_expect_str_eq(v.items[0].code, "detr-inferieure-plancher");
    /* DSIL and DSID have no floor here. */
    l[0].dispositif = DISPOSITIF_DSID;
    cr_expect_eq(financement_r33_check(l, 4, EUR(100000), NULL, NULL), 0);
}

/* ---- Maquette ----------------------------------------------------------- */

Test(financement, maquette_small_plan_by_hand)
{
    /* One fiche of 10,00 € over three years (3,33 / 3,33 / 3,34) and a line
     * of 1,00 € accorded by financeur 1: shares 0,33 / 0,33 / 0,34. */
    struct financement_annee e[] = {{2026, 334}, {2024, 333}, {2025, 333}};
    struct financement_ligne l[] = {
        {.financeur = 1, .montant = 100, .statut = FINANCEMENT_ACCORDE},
        {.financeur = 0, .montant = 500, .statut = FINANCEMENT_ENVISAGE},
    };
    struct maquette_fiche f = {
        .axe = 0, .lignes = l, .ligne_count = 2, .echeancier = e, .echeancier_count = 3};
    struct maquette_montants fiche_row, axes[1];
    int64_t shares[2], financeurs[2 * FINANCEMENT_STATUT__COUNT];
    struct maquette_output out = {.fiches = &fiche_row,
                                  .axes = axes,
                                  .lignes = shares,
                                  .ligne_capacity = 2,
                                  .financeurs = financeurs};
    static const int64_t want[][2] = {{33, 166}, {33, 167}, {34, 167}};

    for (int y = 2024; y <= 2026; y++) {
        struct maquette_input in = {
            .annee = y, .fiches = &f, .fiche_count = 1, .axe_count = 1, .financeur_count = 2};
        cr_assert_eq(maquette_calculer(&in, &out), MAQUETTE_OK);
        cr_expect_eq(shares[0], want[y - 2024][0], "%d", y);
        cr_expect_eq(shares[1], want[y - 2024][1], "%d", y);
        cr_expect_eq(fiche_row.prevu, y == 2026 ? 334 : 333);
        cr_expect_eq(fiche_row.finance, shares[0], "envisagé is not financed");
        cr_expect_eq(fiche_row.par_statut[FINANCEMENT_ENVISAGE], shares[1]);
        cr_expect_eq(fiche_row.reste_a_financer, fiche_row.prevu - shares[0]);
        cr_expect_eq(financeurs[1 * FINANCEMENT_STATUT__COUNT + FINANCEMENT_ACCORDE], shares[0]);
        cr_expect_eq(financeurs[0 * FINANCEMENT_STATUT__COUNT + FINANCEMENT_ENVISAGE], shares[1]);
        cr_expect_eq(axes[0].prevu, fiche_row.prevu);
        cr_expect_eq(out.total.prevu, fiche_row.prevu);
    }
    struct maquette_input in = {
        .annee = 2023, .fiches = &f, .fiche_count = 1, .axe_count = 1, .financeur_count = 2};
    cr_assert_eq(maquette_calculer(&in, &out), MAQUETTE_OK);
    cr_expect_eq(out.total.prevu, 0);
    cr_expect_eq(shares[0] + shares[1], 0);
}

Test(financement, maquette_rejects_bad_input)
{
    struct financement_annee e = {2024, 100};
    struct financement_ligne l = {.financeur = 3, .montant = 100, .statut = FINANCEMENT_ACCORDE};
    struct maquette_fiche f = {
        .axe = 0, .lignes = &l, .ligne_count = 1, .echeancier = &e, .echeancier_count = 1};
    struct maquette_montants row, axe;
    int64_t share, fin[2 * FINANCEMENT_STATUT__COUNT];
    struct maquette_output out = {
        .fiches = &row, .axes = &axe, .lignes = &share, .ligne_capacity = 1, .financeurs = fin};
    struct maquette_input in = {
        .annee = 2024, .fiches = &f, .fiche_count = 1, .axe_count = 1, .financeur_count = 2};

    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_INDEX_INVALIDE, "financeur 3 of 2");
    l.financeur = 1;
    f.axe = 1;
    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_INDEX_INVALIDE, "axe 1 of 1");
    f.axe = 0;
    out.ligne_capacity = 0;
    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_ARGUMENT_INVALIDE);
    out.ligne_capacity = 1;
    e.montant = -1;
    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_MONTANT_INVALIDE);
    e.montant = 100;
    l.montant = FINANCEMENT_MONTANT_MAX + 1;
    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_MONTANT_INVALIDE);
    l.montant = 100;
    cr_expect_eq(maquette_calculer(&in, &out), MAQUETTE_OK);
    cr_expect_eq(maquette_calculer(NULL, &out), MAQUETTE_ARGUMENT_INVALIDE);
    cr_expect_eq(maquette_calculer(&in, NULL), MAQUETTE_ARGUMENT_INVALIDE);
}

/* A generated plan of 200 fiches over 8 axes and 12 financeurs, years
 * 2021–2028, deterministic (a fixed LCG). */
#define GEN_FICHES     200
#define GEN_AXES       8
#define GEN_FINANCEURS 12
#define GEN_MAX_LIGNES 6
#define GEN_MAX_ANNEES 4

static uint64_t lcg_state;
static uint64_t rnd(uint64_t n)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (lcg_state >> 33) % n;
}

struct generated {
    struct maquette_fiche fiches[GEN_FICHES];
    struct financement_ligne lignes[GEN_FICHES][GEN_MAX_LIGNES];
    struct financement_annee ech[GEN_FICHES][GEN_MAX_ANNEES];
    int64_t cout[GEN_FICHES];
    size_t ligne_total;
};

static void generate(struct generated *g)
{
    memset(g, 0, sizeof *g);
    lcg_state = 20260401;
    for (size_t i = 0; i < GEN_FICHES; i++) {
        int64_t cout = (int64_t)rnd(EUR(3000000)) + 1;
        size_t years = 1 + rnd(GEN_MAX_ANNEES), nl = 1 + rnd(GEN_MAX_LIGNES);
        int first = 2021 + (int)rnd(5);
        int64_t left = cout;

        g->cout[i] = cout;
        for (size_t k = 0; k < years; k++) {
            int64_t m = k + 1 == years ? left : (int64_t)rnd((uint64_t)left + 1);
            g->ech[i][k] = (struct financement_annee){first + (int)k, m};
            left -= m;
        }
        left = cout;
        for (size_t k = 0; k < nl; k++) {
            int64_t m = k + 1 == nl ? left : (int64_t)rnd((uint64_t)left + 1);
            g->lignes[i][k] = (struct financement_ligne){
                .financeur = rnd(GEN_FINANCEURS),
                .dispositif = (enum financement_dispositif)rnd(FINANCEMENT_DISPOSITIF__COUNT),
                .public = rnd(4) != 0,
                .montant = m,
                .statut = (enum financement_statut)rnd(FINANCEMENT_STATUT__COUNT)};
            left -= m;
        }
        g->fiches[i] = (struct maquette_fiche){.axe = rnd(GEN_AXES),
                                               .lignes = g->lignes[i],
                                               .ligne_count = nl,
                                               .echeancier = g->ech[i],
                                               .echeancier_count = years};
        g->ligne_total += nl;
    }
}

Test(financement, maquette_200_fiches_equals_echeanciers)
{
    static struct generated g;
    static struct maquette_montants rows[GEN_FICHES], axes[GEN_AXES];
    static int64_t shares[GEN_FICHES * GEN_MAX_LIGNES];
    static int64_t fin[GEN_FINANCEURS * FINANCEMENT_STATUT__COUNT];
    static int64_t cumul[GEN_FICHES * GEN_MAX_LIGNES];
    struct maquette_output out = {.fiches = rows,
                                  .axes = axes,
                                  .lignes = shares,
                                  .ligne_capacity = GEN_FICHES * GEN_MAX_LIGNES,
                                  .financeurs = fin};

    generate(&g);
    memset(cumul, 0, sizeof cumul);
    for (int y = 2019; y <= 2030; y++) {
        struct maquette_input in = {.annee = y,
                                    .fiches = g.fiches,
                                    .fiche_count = GEN_FICHES,
                                    .axe_count = GEN_AXES,
                                    .financeur_count = GEN_FINANCEURS};
        cr_assert_eq(maquette_calculer(&in, &out), MAQUETTE_OK, "%d", y);

        /* The year's planned amount is the Σ of the échéanciers' entries. */
        int64_t ech = 0, axes_prevu = 0, axes_finance = 0, fin_sum = 0, share_sum = 0;
        for (size_t i = 0; i < GEN_FICHES; i++) {
            int64_t fiche_ech = 0;
            for (size_t k = 0; k < g.fiches[i].echeancier_count; k++)
                if (g.ech[i][k].annee == y)
                    fiche_ech += g.ech[i][k].montant;
            cr_expect_eq(rows[i].prevu, fiche_ech, "fiche %zu, %d", i, y);
            cr_expect_eq(rows[i].reste_a_financer, rows[i].prevu - rows[i].finance);
            ech += fiche_ech;
        }
        cr_expect_eq(out.total.prevu, ech, "%d", y);
        for (size_t a = 0; a < GEN_AXES; a++) {
            axes_prevu += axes[a].prevu;
            axes_finance += axes[a].finance;
        }
        cr_expect_eq(axes_prevu, ech);
        cr_expect_eq(axes_finance, out.total.finance);
        cr_expect_eq(out.total.reste_a_financer, out.total.prevu - out.total.finance);

        /* Per financeur and statut = Σ of the lines' shares = Σ par_statut. */
        int64_t finance_from_table = 0;
        for (size_t f = 0; f < GEN_FINANCEURS; f++)
            for (int s = 0; s < FINANCEMENT_STATUT__COUNT; s++) {
                fin_sum += fin[f * FINANCEMENT_STATUT__COUNT + (size_t)s];
                if (financement_statut_compte((enum financement_statut)s))
                    finance_from_table += fin[f * FINANCEMENT_STATUT__COUNT + (size_t)s];
            }
        for (size_t k = 0; k < g.ligne_total; k++) {
            share_sum += shares[k];
            cumul[k] += shares[k];
        }
        int64_t statut_sum = 0;
        for (int s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
            statut_sum += out.total.par_statut[s];
        cr_expect_eq(fin_sum, share_sum);
        cr_expect_eq(statut_sum, share_sum);
        cr_expect_eq(finance_from_table, out.total.finance);
    }
    /* Over all years each line is shared out exactly, and each fiche's
     * planned amounts add up to its cost (its échéancier is balanced). */
    size_t k = 0;
    for (size_t i = 0; i < GEN_FICHES; i++)
        for (size_t j = 0; j < g.fiches[i].ligne_count; j++, k++)
            cr_expect_eq(cumul[k], g.lignes[i][j].montant, "fiche %zu line %zu", i, j);
    for (size_t i = 0; i < GEN_FICHES; i++)
        cr_expect_eq(financement_r27_check(g.ech[i], g.fiches[i].echeancier_count, g.cout[i], NULL),
                     0);
}

/* ---- Rate --------------------------------------------------------------- */

Test(financement, taux_integer_rounded_half_up)
{
    int64_t t = -1;
    char buf[16];

    cr_assert(financement_taux(EUR(40000), EUR(100000), &t));
    cr_expect_eq(t, 4000);
    cr_assert(financement_taux(1, 3, &t)); /* 0.33333… */
    cr_expect_eq(t, 3333);
    cr_assert(financement_taux(2, 3, &t)); /* 0.66666… */
    cr_expect_eq(t, 6667);
    cr_assert(financement_taux(1, 20000, &t)); /* 0.00005: half up */
    cr_expect_eq(t, 1);
    cr_assert(financement_taux(1, 20001, &t));
    cr_expect_eq(t, 0);
    cr_assert(financement_taux(FINANCEMENT_MONTANT_MAX, FINANCEMENT_MONTANT_MAX, &t));
    cr_expect_eq(t, 10000);
    t = 7;
    cr_expect_not(financement_taux(1, 0, &t));
    cr_expect_not(financement_taux(-1, 10, &t));
    cr_expect_not(financement_taux(1000, 1, &t), "1000.0000 > NUMERIC(7,4)");
    cr_expect_eq(t, 7);
    cr_assert(financement_taux(9999999, 10000, &t));
    cr_expect_eq(t, FINANCEMENT_TAUX_MAX);

    cr_expect_eq(financement_taux_format(4000, buf, sizeof buf), 6);
    cr_expect_str_eq(buf, "0.4000");
    financement_taux_format(12345, buf, sizeof buf);
    cr_expect_str_eq(buf, "1.2345");
    financement_taux_format(0, buf, sizeof buf);
    cr_expect_str_eq(buf, "0.0000");
    financement_taux_format(FINANCEMENT_TAUX_MAX, buf, sizeof buf);
    cr_expect_str_eq(buf, "999.9999");
    cr_expect_eq(financement_taux_format(-1, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "");
    cr_expect_eq(financement_taux_format(4000, NULL, 0), 6);
}
