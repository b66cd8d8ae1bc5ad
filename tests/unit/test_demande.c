/* Unit tests of domain/demande: the §2.4 machine and who takes each edge,
 * the date-driven states (R30, R34, R35) on month ends and leap years, R31,
 * R32, R33 (through financement_r33_check), R36, R37, the filing deadline,
 * the versements, and the transition as a whole. Each rule is checked on a
 * valid case and on the same case broken in one place; amounts at their
 * boundary (exactly the cap: accepted; one cent over: refused with an
 * excess of 0,01 €). */
#include <criterion/criterion.h>

#include <string.h>

#include "domain/demande.h"

#define NB     "\xc2\xa0"
#define EURO   NB "\xe2\x82\xac"
#define EUR(x) ((int64_t)(x)*100)

static struct rule_report report(void)
{
    struct rule_report r;
    rule_report_init(&r);
    return r;
}

static struct parametres P;

static const struct parametres_delais *delais(void)
{
    parametres_defaut(&P);
    return &P.delais;
}

static struct demande_date on(int y, int m, int d)
{
    return (struct demande_date){true, {y, m, d}};
}

static void expect_code(const struct rule_report *r, size_t n, const char *regle, const char *code,
                        const char *pointer)
{
    cr_assert_eq(n, 1, "%s: %zu items, first %s", code, n, r->count ? r->items[0].code : "");
    cr_assert_str_eq(r->items[0].regle, regle);
    cr_assert_str_eq(r->items[0].code, code);
    cr_assert_str_eq(r->items[0].pointer, pointer);
}

static void expect_text(const struct rule_report *r, const char *text)
{
    cr_assert(strstr(r->items[0].message, text), "'%s' not in '%s'", text, r->items[0].message);
}

/* ---- Names --------------------------------------------------------------- */

Test(demande, names_and_ds_states)
{
    static const char *const names[] = {"brouillon",       "depose",   "en_instruction",
                                        "accordee",        "refusee",  "classee_sans_suite",
                                        "rejet_implicite", "notifiee", "engagee",
                                        "caduque",         "soldee",   "forclose"};
    enum demande_etat e;

    for (int i = 0; i < DEMANDE_ETAT__COUNT; i++) {
        cr_assert_str_eq(demande_etat_name((enum demande_etat)i), names[i]);
        cr_assert(demande_etat_parse(names[i], &e));
        cr_assert_eq(e, (enum demande_etat)i);
    }
    cr_assert_null(demande_etat_name(DEMANDE_ETAT__COUNT));
    cr_assert_not(demande_etat_parse("deposee", &e));
    cr_assert(demande_etat_from_ds("en_construction", &e));
    cr_assert_eq(e, DEMANDE_DEPOSE);
    cr_assert(demande_etat_from_ds("accepte", &e));
    cr_assert_eq(e, DEMANDE_ACCORDEE);
    cr_assert(demande_etat_from_ds("sans_suite", &e));
    cr_assert_eq(e, DEMANDE_CLASSEE_SANS_SUITE);
    cr_assert(demande_etat_from_ds("refuse", &e));
    cr_assert_eq(e, DEMANDE_REFUSEE);
    cr_assert_not(demande_etat_from_ds("accordee", &e));
    cr_assert_not(demande_etat_from_ds(NULL, &e));
    cr_assert_str_eq(versement_type_name(VERSEMENT_ACOMPTE), "acompte");
    enum versement_type t;
    cr_assert(versement_type_parse("solde", &t));
    cr_assert_eq(t, VERSEMENT_SOLDE);
    cr_assert_str_eq(demande_mention_name(MENTION_MODALITES_VERSEMENT), "modalites_versement");
}

Test(demande, terminal_states)
{
    size_t n = 0;
    for (int e = 0; e < DEMANDE_ETAT__COUNT; e++)
        n += demande_etat_terminal((enum demande_etat)e);
    cr_assert_eq(n, 6);
    cr_assert(demande_etat_terminal(DEMANDE_REJET_IMPLICITE));
    cr_assert(demande_etat_terminal(DEMANDE_SOLDEE));
    cr_assert_not(demande_etat_terminal(DEMANDE_ACCORDEE));
    cr_assert_not(demande_etat_terminal(DEMANDE_NOTIFIEE));
}

/* ---- State machine ---------------------------------------------------------- */

enum { ELU = 1, COLL = 2, INSTR = 4, SYS = 8 };
static const struct {
    enum demande_etat from, to;
    int who;
} EXPECTED[] = {
    {DEMANDE_BROUILLON, DEMANDE_DEPOSE, ELU},
    {DEMANDE_DEPOSE, DEMANDE_EN_INSTRUCTION, INSTR},
    {DEMANDE_EN_INSTRUCTION, DEMANDE_DEPOSE, INSTR},
    {DEMANDE_EN_INSTRUCTION, DEMANDE_ACCORDEE, INSTR},
    {DEMANDE_EN_INSTRUCTION, DEMANDE_REFUSEE, INSTR},
    {DEMANDE_EN_INSTRUCTION, DEMANDE_CLASSEE_SANS_SUITE, INSTR},
    {DEMANDE_ACCORDEE, DEMANDE_EN_INSTRUCTION, INSTR},
    {DEMANDE_REFUSEE, DEMANDE_EN_INSTRUCTION, INSTR},
    {DEMANDE_CLASSEE_SANS_SUITE, DEMANDE_EN_INSTRUCTION, INSTR},
    {DEMANDE_ACCORDEE, DEMANDE_NOTIFIEE, INSTR},
    {DEMANDE_NOTIFIEE, DEMANDE_ENGAGEE, COLL},
    {DEMANDE_ENGAGEE, DEMANDE_SOLDEE, INSTR},
    {DEMANDE_DEPOSE, DEMANDE_REJET_IMPLICITE, SYS},
    {DEMANDE_EN_INSTRUCTION, DEMANDE_REJET_IMPLICITE, SYS},
    {DEMANDE_NOTIFIEE, DEMANDE_CADUQUE, SYS},
    {DEMANDE_ENGAGEE, DEMANDE_FORCLOSE, SYS},
};

static int expected_who(enum demande_etat f, enum demande_etat t)
{
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++)
        if (EXPECTED[i].from == f && EXPECTED[i].to == t)
            return EXPECTED[i].who;
    return 0;
}

/* R38 and R16: the instructor of each dispositif. */
static bool instructs(enum subvention_dispositif d, enum role role, bool fin)
{
    if (d == SUBVENTION_DSIL)
        return role == ROLE_PREFECTURE_REGION;
    if (d == SUBVENTION_AUTRE)
        return role == ROLE_FINANCEUR && fin;
    return role == ROLE_PREFECTURE_INSTRUCTEUR;
}

Test(demande, transition_table_every_dispositif_state_and_role)
{
    size_t allowed = 0;

    for (int d = 0; d < SUBVENTION_DISPOSITIF__COUNT; d++)
        for (int f = 0; f < DEMANDE_ETAT__COUNT; f++)
            for (int t = 0; t < DEMANDE_ETAT__COUNT; t++) {
                int who = expected_who((enum demande_etat)f, (enum demande_etat)t);
                cr_assert_eq(demande_transition_exists(f, t), who != 0);
                cr_assert_eq(demande_transition_systeme(f, t), who == SYS);
                for (int r = 0; r < ROLE__COUNT; r++)
                    for (int fin = 0; fin < 2; fin++) {
                        bool want = (who == ELU && r == ROLE_COLLECTIVITE_ELU) ||
                                    (who == COLL && (r == ROLE_COLLECTIVITE_ELU ||
                                                     r == ROLE_COLLECTIVITE_AGENT)) ||
                                    (who == INSTR && instructs(d, r, fin));
                        cr_assert_eq(demande_transition_allowed(f, t, d, r, fin), want,
                                     "%s -> %s, %s by %s (%d)",
                                     demande_etat_name((enum demande_etat)f),
                                     demande_etat_name((enum demande_etat)t),
                                     subvention_dispositif_name(d), role_name(r), fin);
                        allowed += want;
                    }
            }
    /* per dispositif: élu deposit ×2, commencement 2 roles ×2, 10 instructor edges ×2
     * (×1 for autre: the financer flag) */
    cr_assert_eq(allowed, 5 * (2 + 4 + 20) + (2 + 4 + 10));
    cr_assert_eq(demande_instructeur(SUBVENTION_DSIL), ROLE_PREFECTURE_REGION);
    cr_assert_eq(demande_instructeur(SUBVENTION_DETR), ROLE_PREFECTURE_INSTRUCTEUR);
    cr_assert_eq(demande_instructeur(SUBVENTION_AUTRE), ROLE_FINANCEUR);
    cr_assert_not(demande_transition_allowed(DEMANDE_BROUILLON, DEMANDE_DEPOSE,
                                             SUBVENTION_DISPOSITIF__COUNT, ROLE_COLLECTIVITE_ELU,
                                             false));
}

Test(demande, transitions_possibles)
{
    enum demande_etat out[DEMANDE_ETAT__COUNT];

    cr_assert_eq(demande_transitions_possibles(DEMANDE_EN_INSTRUCTION, SUBVENTION_DETR,
                                               ROLE_PREFECTURE_INSTRUCTEUR, false, out,
                                               DEMANDE_ETAT__COUNT),
                 4);
    cr_assert_eq(out[0], DEMANDE_DEPOSE);
    cr_assert_eq(out[1], DEMANDE_ACCORDEE);
    cr_assert_eq(out[2], DEMANDE_REFUSEE);
    cr_assert_eq(out[3], DEMANDE_CLASSEE_SANS_SUITE);
    cr_assert_eq(demande_transitions_possibles(DEMANDE_EN_INSTRUCTION, SUBVENTION_DSIL,
                                               ROLE_PREFECTURE_INSTRUCTEUR, false, NULL, 0),
                 0);
    cr_assert_eq(demande_transitions_possibles(DEMANDE_EN_INSTRUCTION, SUBVENTION_DSIL,
                                               ROLE_PREFECTURE_REGION, false, NULL, 0),
                 4);
    for (int r = 0; r < ROLE__COUNT; r++) {
        cr_assert_eq(
            demande_transitions_possibles(DEMANDE_SOLDEE, SUBVENTION_DETR, r, true, NULL, 0), 0);
        cr_assert_eq(
            demande_transitions_possibles(DEMANDE_CADUQUE, SUBVENTION_DETR, r, true, NULL, 0), 0);
    }
}

/* ---- Date-driven states ------------------------------------------------------ */

static enum demande_etat effectif(const struct demande_echeance_input *in, struct date today,
                                  struct demande_echeance *e)
{
    return demande_etat_effectif(in, delais(), today, e);
}

Test(demande, r30_implicit_rejection_after_8_months)
{
    struct demande_echeance e;
    struct demande_echeance_input in = {.etat = DEMANDE_EN_INSTRUCTION,
                                        .dispositif = SUBVENTION_FNADT};
    in.dates.depot = on(2023, 6, 20);
    in.dates.accuse_reception = on(2023, 6, 30);
    /* 2023-06-30 + 8 months = 2024-02-29 (leap year) */
    cr_assert_eq(effectif(&in, (struct date){2024, 2, 29}, &e), DEMANDE_EN_INSTRUCTION);
    cr_assert(e.has);
    cr_assert_eq(e.vers, DEMANDE_REJET_IMPLICITE);
    cr_assert_eq(date_compare(e.dernier_jour, (struct date){2024, 2, 29}), 0);
    cr_assert_eq(effectif(&in, (struct date){2024, 3, 1}, NULL), DEMANDE_REJET_IMPLICITE);
    /* non-leap: 2022-06-30 + 8 months = 2023-02-28 */
    in.dates.accuse_reception = on(2022, 6, 30);
    cr_assert_eq(effectif(&in, (struct date){2023, 2, 28}, NULL), DEMANDE_EN_INSTRUCTION);
    cr_assert_eq(effectif(&in, (struct date){2023, 3, 1}, NULL), DEMANDE_REJET_IMPLICITE);
    /* month end: 2024-01-31 + 8 = 2024-09-30 */
    in.dates.accuse_reception = on(2024, 1, 31);
    effectif(&in, (struct date){2024, 2, 1}, &e);
    cr_assert_eq(date_compare(e.dernier_jour, (struct date){2024, 9, 30}), 0);
    /* a motivated extension of 2 months */
    in.prorogation_mois = 2;
    cr_assert_eq(effectif(&in, (struct date){2024, 10, 1}, NULL), DEMANDE_EN_INSTRUCTION);
    cr_assert_eq(effectif(&in, (struct date){2024, 12, 1}, NULL), DEMANDE_REJET_IMPLICITE);
    /* no acknowledgement: the deposit; a deposited, never instructed request too */
    in = (struct demande_echeance_input){.etat = DEMANDE_DEPOSE,
                                         .dispositif = SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER};
    in.dates.depot = on(2024, 1, 15);
    cr_assert_eq(effectif(&in, (struct date){2024, 9, 15}, NULL), DEMANDE_DEPOSE);
    cr_assert_eq(effectif(&in, (struct date){2024, 9, 16}, NULL), DEMANDE_REJET_IMPLICITE);
    /* the months are a parameter */
    parametres_defaut(&P);
    P.delais.rejet_implicite_mois = 6;
    cr_assert_eq(demande_etat_effectif(&in, &P.delais, (struct date){2024, 7, 16}, NULL),
                 DEMANDE_REJET_IMPLICITE);
    /* not DETR, DSIL, chef de projet, autre (R30: décret 2018-514 only) */
    for (int d = 0; d < SUBVENTION_DISPOSITIF__COUNT; d++) {
        in.dispositif = (enum subvention_dispositif)d;
        bool r30 = d == SUBVENTION_FNADT || d == SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER;
        cr_assert_eq(effectif(&in, (struct date){2030, 1, 1}, &e),
                     r30 ? DEMANDE_REJET_IMPLICITE : DEMANDE_DEPOSE);
        cr_assert_eq(e.has, r30);
    }
    /* a decided request is not rejected */
    in.dispositif = SUBVENTION_FNADT;
    in.etat = DEMANDE_ACCORDEE;
    cr_assert_eq(effectif(&in, (struct date){2030, 1, 1}, &e), DEMANDE_ACCORDEE);
    cr_assert_not(e.has);
}

Test(demande, r34_caducite_2_years_plus_1)
{
    struct demande_echeance e;
    struct demande_echeance_input in = {.etat = DEMANDE_NOTIFIEE, .dispositif = SUBVENTION_DETR};
    in.dates.notification = on(2024, 2, 29);
    /* 2024-02-29 + 2 years = 2026-02-28 */
    cr_assert_eq(effectif(&in, (struct date){2026, 2, 28}, &e), DEMANDE_NOTIFIEE);
    cr_assert_eq(e.vers, DEMANDE_CADUQUE);
    cr_assert_eq(date_compare(e.dernier_jour, (struct date){2026, 2, 28}), 0);
    cr_assert_eq(effectif(&in, (struct date){2026, 3, 1}, NULL), DEMANDE_CADUQUE);
    in.prolongation_caducite = true;
    cr_assert_eq(effectif(&in, (struct date){2027, 2, 28}, NULL), DEMANDE_NOTIFIEE);
    cr_assert_eq(effectif(&in, (struct date){2027, 3, 1}, NULL), DEMANDE_CADUQUE);
    in.prolongation_caducite = false;
    in.dates.commencement_execution = on(2026, 2, 28); /* in time */
    cr_assert_eq(effectif(&in, (struct date){2030, 1, 1}, &e), DEMANDE_NOTIFIEE);
    cr_assert_not(e.has);
    in.dates.commencement_execution = on(2026, 3, 1); /* too late */
    cr_assert_eq(effectif(&in, (struct date){2026, 3, 1}, NULL), DEMANDE_CADUQUE);
    in.dispositif = SUBVENTION_DSIL;
    cr_assert_eq(effectif(&in, (struct date){2026, 3, 1}, NULL), DEMANDE_CADUQUE);
    in.dispositif = SUBVENTION_FNADT;
    cr_assert_eq(effectif(&in, (struct date){2030, 3, 1}, NULL), DEMANDE_NOTIFIEE);
}

Test(demande, r35_forclusion_4_years_plus_2)
{
    struct demande_echeance e;
    struct demande_echeance_input in = {.etat = DEMANDE_ENGAGEE, .dispositif = SUBVENTION_DETR};
    in.dates.commencement_execution = on(2020, 1, 31);
    cr_assert_eq(effectif(&in, (struct date){2024, 1, 31}, &e), DEMANDE_ENGAGEE);
    cr_assert_eq(e.vers, DEMANDE_FORCLOSE);
    cr_assert_eq(effectif(&in, (struct date){2024, 2, 1}, NULL), DEMANDE_FORCLOSE);
    in.prolongation_forclusion = true;
    cr_assert_eq(effectif(&in, (struct date){2026, 1, 31}, NULL), DEMANDE_ENGAGEE);
    cr_assert_eq(effectif(&in, (struct date){2026, 2, 1}, NULL), DEMANDE_FORCLOSE);
    in.dates.achevement_declaree = on(2025, 12, 1);
    cr_assert_eq(effectif(&in, (struct date){2030, 1, 1}, NULL), DEMANDE_ENGAGEE);
    in.dispositif = SUBVENTION_DSIL;
    in.dates.achevement_declaree.has = false;
    cr_assert_eq(effectif(&in, (struct date){2040, 1, 1}, NULL), DEMANDE_ENGAGEE);
    cr_assert_eq(demande_etat_effectif(NULL, delais(), (struct date){2040, 1, 1}, NULL),
                 DEMANDE_ETAT__COUNT);
}

/* ---- Dates, R31 ------------------------------------------------------------------ */

Test(demande, r31_no_commencement_before_deposit)
{
    struct demande_dates d = {.depot = on(2024, 3, 1), .commencement_execution = on(2024, 3, 1)};
    struct rule_report r = report();

    cr_assert_eq(demande_r31_check(&d, &r), 0);
    d.commencement_execution = on(2024, 2, 29);
    expect_code(&r, demande_r31_check(&d, &r), "R31", "commencement-avant-depot",
                "/date_commencement_execution");
    expect_text(&r, "2024-02-29");
    r = report();
    expect_code(&r, demande_dates_check(&d, (struct date){2024, 12, 1}, &r), "R31",
                "commencement-avant-depot", "/date_commencement_execution");
}

Test(demande, dates_coherence)
{
    struct demande_dates d = {.depot = on(2024, 3, 1),
                              .accuse_reception = on(2024, 3, 2),
                              .decision = on(2024, 5, 1),
                              .notification = on(2024, 5, 1)};
    struct rule_report r = report();

    cr_assert_eq(demande_dates_check(&d, (struct date){2024, 5, 1}, &r), 0);
    cr_assert_eq(demande_dates_check(&d, (struct date){2024, 4, 30}, &r), 2, "two in the future");
    cr_assert_str_eq(r.items[0].code, "date-future");
    cr_assert_str_eq(r.items[0].pointer, "/date_decision");
    r = report();
    d.notification = on(2024, 4, 30);
    expect_code(&r, demande_dates_check(&d, (struct date){2024, 6, 1}, &r), "",
                "dates-incoherentes", "/date_notification");
    d.notification = on(2024, 5, 1);
    d.accuse_reception = on(2024, 2, 29);
    r = report();
    expect_code(&r, demande_dates_check(&d, (struct date){2024, 6, 1}, &r), "",
                "dates-incoherentes", "/date_accuse_reception");
}

/* ---- R32, R33, R36, R37 ------------------------------------------------------------ */

static struct financement_ligne ligne(enum financement_dispositif d, bool public, bool mo,
                                      int64_t montant)
{
    return (struct financement_ligne){.dispositif = d,
                                      .public = public,
                                      .par_maitre_ouvrage = mo,
                                      .montant = montant,
                                      .statut = FINANCEMENT_SOLLICITE};
}

Test(demande, r32_public_aid_at_most_100_percent)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_FNADT, true, false, EUR(60000)),
        ligne(DISPOSITIF_REGION, true, false, EUR(40000)),
        ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(20000)), /* own funds: no aid */
        ligne(DISPOSITIF_PRIVE, false, false, EUR(5000)),
    };
    struct rule_report r = report();

    cr_assert_eq(demande_r32_aides_check(SUBVENTION_FNADT, l, 4, EUR(100000), &r), 0);
    l[1].montant += 1;
    expect_code(&r, demande_r32_aides_check(SUBVENTION_FNADT, l, 4, EUR(100000), &r), "R32",
                "aides-publiques-plafond-depasse", "/plan_financement");
    expect_text(&r, "dépassent de 0,01" EURO);
    expect_text(&r, "100" NB "000,00" EURO);
    r = report();
    cr_assert_eq(demande_r32_aides_check(SUBVENTION_AUTRE, l, 4, EUR(100000), &r), 0);
    l[1].statut = FINANCEMENT_REFUSE;
    cr_assert_eq(demande_r32_aides_check(SUBVENTION_FNADT, l, 4, EUR(100000), &r), 0);
    l[0].montant = -1;
    expect_code(&r, demande_r32_aides_check(SUBVENTION_FNADT, l, 4, EUR(100000), &r), "",
                "plan-financement-hors-limites", "/plan_financement");
}

Test(demande, r33_reuses_the_financing_check)
{
    struct financement_ligne l[] = {
        ligne(DISPOSITIF_DETR, true, false, EUR(50000)),
        ligne(DISPOSITIF_DSIL, true, false, EUR(30000)),
    };
    struct rule_report r = report();

    cr_assert_eq(demande_r33_check(SUBVENTION_DETR, l, 2, EUR(100000), &r), 0);
    l[1].montant += 1;
    expect_code(&r, demande_r33_check(SUBVENTION_DETR, l, 2, EUR(100000), &r), "R33",
                "dotations-etat-plafond-depasse", "/plan_financement");
    r = report();
    cr_assert_eq(demande_r33_check(SUBVENTION_DSIL, l, 2, EUR(100000), &r), 1);
    r = report();
    cr_assert_eq(demande_r33_check(SUBVENTION_FNADT, l, 2, EUR(100000), &r), 0);
}

Test(demande, r36_detr_above_100000_needs_commission)
{
    struct rule_report r = report();
    const struct parametres_delais *d = delais();

    cr_assert_eq(demande_r36_check(SUBVENTION_DETR, EUR(100000), false, d, &r), 0);
    expect_code(&r, demande_r36_check(SUBVENTION_DETR, EUR(100000) + 1, false, d, &r), "R36",
                "avis-commission-elus-manquant", "/avis_commission_elus");
    expect_text(&r, "100" NB "000,01" EURO);
    r = report();
    cr_assert_eq(demande_r36_check(SUBVENTION_DETR, EUR(100000) + 1, true, d, &r), 0);
    cr_assert_eq(demande_r36_check(SUBVENTION_DSIL, EUR(900000), false, d, &r), 0);
    P.delais.seuil_commission_detr = EUR(50000);
    cr_assert_eq(demande_r36_check(SUBVENTION_DETR, EUR(60000), false, &P.delais, &r), 1);
}

Test(demande, r37_detr_eligibility_warnings)
{
    struct demande_r37_input in = {.demandeur_kind = ORGANISATION_COMMUNE, .population = 2000};
    struct rule_report w = report();

    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
    in.population = 2001;
    expect_code(&w, demande_r37_check(SUBVENTION_DETR, &in, &w), "R37",
                "detr-potentiel-financier-a-verifier", "/demandeur_id");
    in.has_potentiel_financier = true;
    in.potentiel_financier_moyen_strate = EUR(1000);
    in.potentiel_financier = EUR(1300) - 1;
    w = report();
    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
    in.potentiel_financier = EUR(1300);
    expect_code(&w, demande_r37_check(SUBVENTION_DETR, &in, &w), "R37",
                "detr-potentiel-financier-eleve", "/demandeur_id");
    in.population = 20001;
    w = report();
    expect_code(&w, demande_r37_check(SUBVENTION_DETR, &in, &w), "R37", "detr-commune-trop-peuplee",
                "/demandeur_id");
    w = report();
    cr_assert_eq(demande_r37_check(SUBVENTION_DSIL, &in, &w), 0, "DETR only");
    /* EPCI: > 75 000 inh., a commune > 20 000, density ≥ 150/km² */
    in = (struct demande_r37_input){.demandeur_kind = ORGANISATION_EPCI,
                                    .population = 75001,
                                    .plus_grande_commune_population = 20001,
                                    .superficie_hectares = 50000}; /* 500 km²: 150.002/km² */
    expect_code(&w, demande_r37_check(SUBVENTION_DETR, &in, &w), "R37", "detr-epci-non-eligible",
                "/demandeur_id");
    w = report();
    in.superficie_hectares = 50001; /* just under 150/km² */
    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
    in.superficie_hectares = 50000;
    in.population = 75000;
    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
    in.population = 75001;
    in.plus_grande_commune_population = 20000;
    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
    in = (struct demande_r37_input){.demandeur_kind = ORGANISATION_PETR};
    expect_code(&w, demande_r37_check(SUBVENTION_DETR, &in, &w), "R37",
                "detr-demandeur-non-eligible", "/demandeur_id");
    in.nomme_contrat_etat = true;
    w = report();
    cr_assert_eq(demande_r37_check(SUBVENTION_DETR, &in, &w), 0);
}

Test(demande, filing_deadline_warning)
{
    struct rule_report w = report();

    parametres_defaut(&P);
    P.dates_limites[0] = (struct parametres_date_limite){
        SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER, 2025, "", {2025, 4, 25}};
    P.dates_limites[1] =
        (struct parametres_date_limite){SUBVENTION_DETR, 2023, "03", {2023, 2, 15}};
    P.dates_limites_count = 2;
    cr_assert_eq(demande_date_limite_check(&P, SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER, 2025, "75",
                                           (struct date){2025, 4, 25}, &w),
                 0);
    expect_code(&w,
                demande_date_limite_check(&P, SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER, 2025, "75",
                                          (struct date){2025, 4, 26}, &w),
                "R39", "depot-apres-date-limite", "/date_depot");
    w = report();
    expect_code(
        &w,
        demande_date_limite_check(&P, SUBVENTION_DETR, 2023, "03", (struct date){2023, 2, 16}, &w),
        "", "depot-apres-date-limite", "/date_depot");
    w = report();
    cr_assert_eq(
        demande_date_limite_check(&P, SUBVENTION_DETR, 2023, "63", (struct date){2023, 12, 16}, &w),
        0);
}

/* ---- Versements ------------------------------------------------------------------ */

static struct demande_versement vers[8];

/* A DETR of 100 000 € notified 2024-01-10, commenced 2024-02-01, completed
 * 2025-01-10: avance 30 % (the cap), acompte, solde. */
static struct demande_versements_input versements(void)
{
    vers[0] = (struct demande_versement){{2024, 1, 15}, VERSEMENT_AVANCE, EUR(30000)};
    vers[1] = (struct demande_versement){{2024, 6, 1}, VERSEMENT_ACOMPTE, EUR(40000)};
    vers[2] = (struct demande_versement){{2025, 2, 1}, VERSEMENT_SOLDE, EUR(30000)};
    struct demande_versements_input in = {.dispositif = SUBVENTION_DETR,
                                          .montant_accorde = EUR(100000),
                                          .versements = vers,
                                          .count = 3};
    in.dates.notification = on(2024, 1, 10);
    in.dates.commencement_execution = on(2024, 2, 1);
    in.dates.achevement_declaree = on(2025, 1, 10);
    return in;
}

static size_t check_versements(const struct demande_versements_input *in, struct rule_report *r)
{
    *r = report();
    return demande_versements_check(in, delais(), (struct date){2025, 6, 1}, r);
}

Test(demande, versements_valid_sequence)
{
    struct demande_versements_input in = versements();
    struct rule_report r;

    cr_assert_eq(check_versements(&in, &r), 0, "%s", r.count ? r.items[0].code : "");
}

Test(demande, r32_advance_at_most_30_percent)
{
    struct demande_versements_input in = versements();
    struct rule_report r;

    vers[0].montant += 1;
    vers[1].montant -= 1;
    expect_code(&r, check_versements(&in, &r), "R32", "avance-plafond-depassee", "/versements");
    expect_text(&r, "dépassent de 0,01" EURO);
    expect_text(&r, "30,00 %");
    in.garantie_bancaire = true;
    cr_assert_eq(check_versements(&in, &r), 0);
    vers[0].montant = EUR(60000) + 1;
    vers[1].montant = EUR(10000) - 1;
    expect_code(&r, check_versements(&in, &r), "R32", "avance-plafond-depassee", "/versements");
}

Test(demande, versements_at_most_the_amount_granted)
{
    struct demande_versements_input in = versements();
    struct rule_report r;

    vers[2].montant += 1;
    expect_code(&r, check_versements(&in, &r), "", "versements-depassent-montant-accorde",
                "/versements");
    expect_text(&r, "dépassent de 0,01" EURO);
    expect_text(&r, "100" NB "000,00" EURO);
}

Test(demande, versements_order_of_events)
{
    struct demande_versements_input in = versements();
    struct rule_report r;

    vers[0].date = (struct date){2024, 1, 9};
    expect_code(&r, check_versements(&in, &r), "", "versement-avant-notification",
                "/versements/0/date");
    in = versements();
    vers[1].date = (struct date){2024, 1, 31};
    expect_code(&r, check_versements(&in, &r), "", "versement-avant-commencement",
                "/versements/1/date");
    in = versements();
    vers[2].date = (struct date){2025, 1, 9};
    expect_code(&r, check_versements(&in, &r), "", "solde-avant-achevement", "/versements/2/date");
    in = versements();
    vers[3] = (struct demande_versement){{2025, 3, 1}, VERSEMENT_ACOMPTE, 1};
    vers[2].montant -= 1;
    in.count = 4;
    expect_code(&r, check_versements(&in, &r), "", "versement-apres-solde", "/versements/3/date");
    vers[3].type = VERSEMENT_SOLDE;
    expect_code(&r, check_versements(&in, &r), "", "solde-repete", "/versements/3/type");
    in = versements();
    vers[1].date = (struct date){2025, 6, 2};
    expect_code(&r, check_versements(&in, &r), "", "versement-date-future", "/versements/1/date");
    in = versements();
    vers[1].montant = 0;
    expect_code(&r, check_versements(&in, &r), "", "versement-montant-invalide",
                "/versements/1/montant_centimes");
    /* the chef de projet post has no commencement: its acompte needs none */
    in = versements();
    in.dispositif = SUBVENTION_CHEF_DE_PROJET_PVD;
    in.dates.commencement_execution.has = false;
    in.dates.achevement_declaree.has = false;
    cr_assert_eq(check_versements(&in, &r), 0);
}

Test(demande, r35_no_payment_after_forclusion)
{
    struct demande_versements_input in = versements();
    struct rule_report r;

    in.dates.commencement_execution = on(2020, 1, 15);
    in.dates.achevement_declaree.has = false;
    in.count = 2;
    vers[1].date = (struct date){2024, 1, 15};
    cr_assert_eq(check_versements(&in, &r), 0);
    vers[1].date = (struct date){2024, 1, 16};
    expect_code(&r, check_versements(&in, &r), "R35", "versement-apres-forclusion",
                "/versements/1/date");
    in.prolongation_forclusion = true;
    cr_assert_eq(check_versements(&in, &r), 0);
}

/* ---- The transition --------------------------------------------------------------- */

static const char *const MENTIONS[DEMANDE_MENTION__COUNT] = {
    "Commune de Lodève", "Réhabilitation des halles, 250 000 € HT",
    "40 % de 250 000 €, soit 100 000 €", "Achèvement prévu le 2026-06-30",
    "Avance 30 %, acomptes, solde sur justificatifs"};
static struct financement_ligne plan[2];

static struct demande_transition_input decision(void)
{
    plan[0] = ligne(DISPOSITIF_DETR, true, false, EUR(100000));
    plan[1] = ligne(DISPOSITIF_AUTOFINANCEMENT, true, true, EUR(150000));
    struct demande_transition_input in = {.from = DEMANDE_EN_INSTRUCTION,
                                          .to = DEMANDE_ACCORDEE,
                                          .dispositif = SUBVENTION_DETR,
                                          .role_of_caller = ROLE_PREFECTURE_INSTRUCTEUR,
                                          .today = {2024, 6, 1},
                                          .has_fiche = true,
                                          .depense_subventionnable_ht = EUR(250000),
                                          .montant_sollicite = EUR(100000),
                                          .montant_accorde = EUR(100000),
                                          .lignes = plan,
                                          .ligne_count = 2,
                                          .motif_refus = NULL,
                                          .delais = delais()};
    in.dates.depot = on(2024, 1, 10);
    in.dates.decision = on(2024, 5, 30);
    memcpy(in.mentions, MENTIONS, sizeof MENTIONS);
    return in;
}

static size_t transition(const struct demande_transition_input *in, struct rule_report *r)
{
    *r = report();
    return demande_transition_check(in, r);
}

Test(demande, transition_invalid_and_forbidden)
{
    struct demande_transition_input in = decision();
    struct rule_report r;

    in.to = DEMANDE_SOLDEE;
    expect_code(&r, transition(&in, &r), "", "transition-invalide", "/vers");
    in = decision();
    in.role_of_caller = ROLE_PREFECTURE_REGION;
    expect_code(&r, transition(&in, &r), "", "transition-interdite", "/vers");
    in = decision();
    in.to = DEMANDE_REJET_IMPLICITE; /* date-driven: the system's */
    expect_code(&r, transition(&in, &r), "", "transition-interdite", "/vers");
    cr_assert_eq(demande_transition_check(NULL, &r), 1);
}

Test(demande, transition_deposit)
{
    struct demande_transition_input in = decision();
    struct rule_report r;

    in.from = DEMANDE_BROUILLON;
    in.to = DEMANDE_DEPOSE;
    in.role_of_caller = ROLE_COLLECTIVITE_ELU;
    in.dates.decision.has = false;
    cr_assert_eq(transition(&in, &r), 0, "%s", r.count ? r.items[0].code : "");
    in.has_fiche = false;
    expect_code(&r, transition(&in, &r), "", "fiche-manquante", "/fiche_id");
    in.dispositif = SUBVENTION_CHEF_DE_PROJET_PVD;
    cr_assert_eq(transition(&in, &r), 0);
    in.dates.depot.has = false;
    expect_code(&r, transition(&in, &r), "", "date-manquante", "/date_depot");
    in.dates.depot = on(2024, 1, 10);
    in.montant_sollicite = 0;
    expect_code(&r, transition(&in, &r), "", "montant-invalide", "/montant_sollicite_centimes");
    in.montant_sollicite = 1;
    in.dates.commencement_execution = on(2024, 1, 9);
    expect_code(&r, transition(&in, &r), "R31", "commencement-avant-depot",
                "/date_commencement_execution");
    in.role_of_caller = ROLE_COLLECTIVITE_AGENT;
    expect_code(&r, transition(&in, &r), "", "transition-interdite", "/vers");
}

Test(demande, transition_grant)
{
    struct demande_transition_input in = decision();
    struct rule_report r;

    in.avis_commission_elus = false; /* exactly 100 000 €: no opinion needed */
    cr_assert_eq(transition(&in, &r), 0, "%s", r.count ? r.items[0].code : "");
    in.mentions[MENTION_CALENDRIER] = "  ";
    expect_code(&r, transition(&in, &r), "", "mention-decision-manquante",
                "/decision/mentions/calendrier");
    in = decision();
    in.montant_accorde = EUR(100000) + 1;
    plan[0].montant = in.montant_accorde;
    expect_code(&r, transition(&in, &r), "R36", "avis-commission-elus-manquant",
                "/avis_commission_elus");
    in.avis_commission_elus = true;
    cr_assert_eq(transition(&in, &r), 0);
    /* R33: DETR above 80 % of the expense */
    in = decision();
    in.avis_commission_elus = true;
    plan[0].montant = in.montant_accorde = EUR(200000) + 1;
    expect_code(&r, transition(&in, &r), "R33", "dotations-etat-plafond-depasse",
                "/plan_financement");
    /* R32: public aid above the expense (FNADT: no R33) */
    in = decision();
    in.dispositif = SUBVENTION_FNADT;
    plan[1] = ligne(DISPOSITIF_REGION, true, false, EUR(150000) + 1);
    expect_code(&r, transition(&in, &r), "R32", "aides-publiques-plafond-depasse",
                "/plan_financement");
    in = decision();
    in.dates.decision.has = false;
    in.montant_accorde = 0;
    cr_assert_eq(transition(&in, &r), 2);
    cr_assert_str_eq(r.items[0].code, "date-manquante");
    cr_assert_str_eq(r.items[1].code, "montant-invalide");
}

Test(demande, transition_refusal)
{
    struct demande_transition_input in = decision();
    struct rule_report r;

    in.to = DEMANDE_REFUSEE;
    in.motif_refus = "Opération non éligible";
    cr_assert_eq(transition(&in, &r), 0);
    in.motif_refus = "";
    expect_code(&r, transition(&in, &r), "", "motif-refus-manquant", "/motif_refus");
    in.motif_refus = "Opération non éligible";
    in.montant_sollicite = EUR(100000) + 1;
    expect_code(&r, transition(&in, &r), "R36", "avis-commission-elus-manquant",
                "/avis_commission_elus");
    in.to = DEMANDE_CLASSEE_SANS_SUITE;
    cr_assert_eq(transition(&in, &r), 0);
}

Test(demande, transition_after_the_decision)
{
    struct demande_transition_input in = decision();
    struct rule_report r;

    in.from = DEMANDE_ACCORDEE;
    in.to = DEMANDE_NOTIFIEE;
    expect_code(&r, transition(&in, &r), "", "date-manquante", "/date_notification");
    in.dates.notification = on(2024, 5, 31);
    cr_assert_eq(transition(&in, &r), 0);
    in.from = DEMANDE_NOTIFIEE;
    in.to = DEMANDE_ENGAGEE;
    in.role_of_caller = ROLE_COLLECTIVITE_AGENT;
    expect_code(&r, transition(&in, &r), "", "date-manquante", "/date_commencement_execution");
    in.dates.commencement_execution = on(2024, 6, 1);
    cr_assert_eq(transition(&in, &r), 0);
    in.from = DEMANDE_ENGAGEE;
    in.to = DEMANDE_SOLDEE;
    in.role_of_caller = ROLE_PREFECTURE_INSTRUCTEUR;
    expect_code(&r, transition(&in, &r), "", "solde-non-verse", "/versements");
    in.solde_verse = true;
    cr_assert_eq(transition(&in, &r), 0);
}
