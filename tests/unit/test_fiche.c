/* Unit tests of domain/fiche: the state machine of domain.md §2.3 with the
 * caller's role (every (from, to, role) against a table written here, apart
 * from the module's), the maturité, and each rule (R21–R26, R28, the R27
 * hook, §1.9 checks) refusing and accepting, alone and through
 * fiche_transition_check on a valid fixture broken in exactly one place, so
 * that removing a rule or its call makes a test fail. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "domain/fiche.h"
#include "domain/financement.h"

#define NB "\u00a0" /* no-break space */

static struct date ymd(int year, int month, int day)
{
    return (struct date){year, month, day};
}

static void assert_violation(const struct rule_report *r, const char *regle, const char *code,
                             const char *pointer)
{
    const struct rule_violation *v = rule_report_find(r, code);

    cr_assert(v, "expected %s; got %zu item(s), first %s", code, r->count,
              r->count ? r->items[0].code : "-");
    cr_assert_str_eq(v->regle, regle);
    cr_assert_str_eq(v->pointer, pointer);
    cr_assert(strlen(v->message) > 10, "a French message");
}

static void assert_only(const struct rule_report *r, const char *code)
{
    cr_assert_eq(r->count, 1, "%zu violations, expected only %s (first %s)", r->count, code,
                 r->count ? r->items[0].code : "-");
    cr_assert_str_eq(r->items[0].code, code);
}

static void assert_none(const struct rule_report *r)
{
    cr_assert_eq(r->count, 0, "%zu violations, first %s: %s", r->count,
                 r->count ? r->items[0].code : "-", r->count ? r->items[0].message : "");
}

/* ---- Names and maturité ------------------------------------------------- */

Test(fiche, names_round_trip)
{
    for (int e = 0; e < FICHE_ETAT__COUNT; e++) {
        enum fiche_etat out = FICHE_ETAT__COUNT;
        cr_assert(fiche_etat_parse(fiche_etat_name((enum fiche_etat)e), &out));
        cr_assert_eq(out, e);
    }
    enum fiche_etat out = FICHE_BROUILLON;
    cr_assert_str_eq(fiche_etat_name(FICHE_PROGRAMMEE), "programmee");
    cr_assert_not(fiche_etat_parse("Programmee", &out));
    cr_assert_not(fiche_etat_parse(NULL, &out));
    cr_assert_not(fiche_etat_parse("en_cours", NULL));
    cr_assert_eq(out, FICHE_BROUILLON, "untouched on failure");
    cr_assert_null(fiche_etat_name(FICHE_ETAT__COUNT));
    cr_assert_null(fiche_etat_name((enum fiche_etat) - 1));
    cr_assert_str_eq(fiche_maturite_name(FICHE_MATURITE_PRETE), "prete");
    cr_assert_str_eq(fiche_maturite_name(FICHE_MATURITE_EN_MATURATION), "en_maturation");
    cr_assert_null(fiche_maturite_name(FICHE_MATURITE__COUNT));
}

Test(fiche, thematiques_and_natures_de_depense)
{
    size_t n = 0;
    for (; fiche_thematiques[n]; n++)
        cr_assert(fiche_thematique_is_valid(fiche_thematiques[n]));
    cr_assert_eq(n, 10);
    for (n = 0; fiche_natures_depense[n]; n++)
        cr_assert(fiche_nature_depense_is_valid(fiche_natures_depense[n]));
    cr_assert_eq(n, 5);
    cr_assert(fiche_thematique_is_valid("friches_foncier"));
    cr_assert_not(fiche_thematique_is_valid("Commerce"));
    cr_assert_not(fiche_thematique_is_valid("etude"));
    cr_assert_not(fiche_thematique_is_valid(""));
    cr_assert_not(fiche_thematique_is_valid(NULL));
    cr_assert(fiche_nature_depense_is_valid("acquisition"));
    cr_assert_not(fiche_nature_depense_is_valid("commerce"));
    cr_assert_not(fiche_nature_depense_is_valid(NULL));
}

Test(fiche, maturite_derived_from_state)
{
    /* §2.3: en_maturation while brouillon or en_maturation, prete afterwards. */
    cr_assert_eq(fiche_maturite_of(FICHE_BROUILLON), FICHE_MATURITE_EN_MATURATION);
    cr_assert_eq(fiche_maturite_of(FICHE_EN_MATURATION), FICHE_MATURITE_EN_MATURATION);
    cr_assert_eq(fiche_maturite_of(FICHE_PROGRAMMEE), FICHE_MATURITE_PRETE);
    cr_assert_eq(fiche_maturite_of(FICHE_EN_COURS), FICHE_MATURITE_PRETE);
    cr_assert_eq(fiche_maturite_of(FICHE_SUSPENDUE), FICHE_MATURITE_PRETE);
    cr_assert_eq(fiche_maturite_of(FICHE_REALISEE), FICHE_MATURITE_PRETE);
    cr_assert_eq(fiche_maturite_of(FICHE_ABANDONNEE), FICHE_MATURITE_PRETE);
    cr_assert_eq(fiche_maturite_of(FICHE_ETAT__COUNT), FICHE_MATURITE_EN_MATURATION);
}

/* ---- State machine ------------------------------------------------------ */

/* §2.3 edges and who takes them (§5), written independently of fiche.c. */
#define A (1u << ROLE_COLLECTIVITE_AGENT)
#define E (1u << ROLE_COLLECTIVITE_ELU)
static const struct {
    enum fiche_etat from, to;
    unsigned roles;
} EXPECTED[] = {
    {FICHE_BROUILLON, FICHE_EN_MATURATION, E}, {FICHE_EN_MATURATION, FICHE_PROGRAMMEE, A | E},
    {FICHE_PROGRAMMEE, FICHE_EN_COURS, A | E}, {FICHE_EN_COURS, FICHE_REALISEE, A | E},
    {FICHE_EN_COURS, FICHE_SUSPENDUE, A | E},  {FICHE_SUSPENDUE, FICHE_EN_COURS, A | E},
    {FICHE_BROUILLON, FICHE_ABANDONNEE, E},    {FICHE_EN_MATURATION, FICHE_ABANDONNEE, E},
    {FICHE_PROGRAMMEE, FICHE_ABANDONNEE, E},
};

static int expected_edge(enum fiche_etat from, enum fiche_etat to)
{
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++)
        if (EXPECTED[i].from == from && EXPECTED[i].to == to)
            return (int)i;
    return -1;
}

Test(fiche, transition_table_every_state_and_role)
{
    size_t allowed = 0;

    for (int f = 0; f < FICHE_ETAT__COUNT; f++)
        for (int t = 0; t < FICHE_ETAT__COUNT; t++) {
            int i = expected_edge((enum fiche_etat)f, (enum fiche_etat)t);
            cr_assert_eq(fiche_transition_exists((enum fiche_etat)f, (enum fiche_etat)t), i >= 0,
                         "%s -> %s", fiche_etat_name((enum fiche_etat)f),
                         fiche_etat_name((enum fiche_etat)t));
            for (int r = 0; r < ROLE__COUNT; r++) {
                bool want = i >= 0 && (EXPECTED[i].roles & (1u << r)) != 0;
                cr_assert_eq(
                    fiche_transition_allowed((enum fiche_etat)f, (enum fiche_etat)t, (enum role)r),
                    want, "%s -> %s by %s", fiche_etat_name((enum fiche_etat)f),
                    fiche_etat_name((enum fiche_etat)t), role_name((enum role)r));
                allowed += want;
            }
        }
    cr_assert_eq(allowed, 14, "5 edges for agent and élu, 4 comité edges for the élu only");
    /* Out of range. */
    cr_assert_not(fiche_transition_exists(FICHE_ETAT__COUNT, FICHE_BROUILLON));
    cr_assert_not(
        fiche_transition_allowed(FICHE_BROUILLON, FICHE_EN_MATURATION, (enum role)ROLE__COUNT));
    cr_assert_not(fiche_transition_allowed(FICHE_BROUILLON, FICHE_EN_MATURATION, (enum role) - 1));
}

Test(fiche, terminal_states_have_no_exit)
{
    for (int r = 0; r < ROLE__COUNT; r++) {
        cr_assert_eq(fiche_transitions_possibles(FICHE_ABANDONNEE, (enum role)r, NULL, 0), 0);
        cr_assert_eq(fiche_transitions_possibles(FICHE_REALISEE, (enum role)r, NULL, 0), 0);
    }
}

Test(fiche, transitions_possibles_for_the_caller)
{
    enum fiche_etat out[FICHE_ETAT__COUNT];

    cr_assert_eq(
        fiche_transitions_possibles(FICHE_BROUILLON, ROLE_COLLECTIVITE_ELU, out, FICHE_ETAT__COUNT),
        2);
    cr_assert_eq(out[0], FICHE_EN_MATURATION);
    cr_assert_eq(out[1], FICHE_ABANDONNEE);
    cr_assert_eq(fiche_transitions_possibles(FICHE_BROUILLON, ROLE_COLLECTIVITE_AGENT, out,
                                             FICHE_ETAT__COUNT),
                 0);
    cr_assert_eq(fiche_transitions_possibles(FICHE_EN_COURS, ROLE_COLLECTIVITE_AGENT, out,
                                             FICHE_ETAT__COUNT),
                 2);
    cr_assert_eq(out[0], FICHE_SUSPENDUE);
    cr_assert_eq(out[1], FICHE_REALISEE);
    cr_assert_eq(fiche_transitions_possibles(FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT, out,
                                             FICHE_ETAT__COUNT),
                 1);
    cr_assert_eq(out[0], FICHE_EN_COURS);
    /* Capacity: counts past cap, writes at most cap. */
    enum fiche_etat one[2] = {FICHE_ETAT__COUNT, FICHE_ETAT__COUNT};
    cr_assert_eq(fiche_transitions_possibles(FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_ELU, one, 1), 2);
    cr_assert_eq(one[0], FICHE_EN_COURS);
    cr_assert_eq(one[1], FICHE_ETAT__COUNT, "nothing written past cap");
    for (int f = 0; f < FICHE_ETAT__COUNT; f++) {
        cr_assert_eq(
            fiche_transitions_possibles((enum fiche_etat)f, ROLE_PREFECTURE_INSTRUCTEUR, NULL, 0),
            0);
        cr_assert_eq(fiche_transitions_possibles((enum fiche_etat)f, ROLE_ANCT_NATIONAL, NULL, 0),
                     0);
        cr_assert_eq(fiche_transitions_possibles((enum fiche_etat)f, ROLE_FINANCEUR, NULL, 0), 0);
    }
}

/* ---- A valid fiche for each transition ---------------------------------- */

#define TODAY ymd(2024, 6, 1)

static const struct fiche_seance_examen SEANCES[] = {{{2024, 3, 14}}};

/* Everything every transition could ask for, valid: the examining séance
 * before today, a balanced HT plan of 2 lines (120 000,00 €), coherent dates,
 * the échéancier balanced, both conventions signed, commencement and
 * achèvement today, no indicateur without mesure, a motif and an abandon
 * décision. */
static struct fiche_transition_input valid(enum fiche_etat from, enum fiche_etat to, enum role role)
{
    return (struct fiche_transition_input){
        .from = from,
        .to = to,
        .role_of_caller = role,
        .date_transition = TODAY,
        .seances = SEANCES,
        .seance_count = 1,
        .couts = {.cout_total_ht = 12000000,
                  .has_cout_total_ttc = true,
                  .cout_total_ttc = 14400000},
        .plan = {.ligne_count = 2, .somme_montants = 12000000, .base = FICHE_BASE_HT},
        .dates = {.has_date_debut_prevue = true,
                  .date_debut_prevue = ymd(2024, 9, 1),
                  .has_date_fin_prevue = true,
                  .date_fin_prevue = ymd(2026, 6, 30)},
        .r27_echeancier_equilibre = true,
        .adhesion_signee = true,
        .cadre_signee = true,
        .has_date_commencement = true,
        .date_commencement = TODAY,
        .has_date_achevement = true,
        .date_achevement = TODAY,
        .motif = "Foncier non maîtrisé",
        .has_decision_abandon = true,
    };
}

static struct rule_report run(const struct fiche_transition_input *in)
{
    struct rule_report r;

    rule_report_init(&r);
    size_t n = fiche_transition_check(in, &r);
    cr_assert_eq(n, r.count, "the return value counts the items appended");
    return r;
}

Test(fiche, every_allowed_transition_accepts_a_valid_fiche)
{
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++)
        for (int role = 0; role < ROLE__COUNT; role++) {
            if (!(EXPECTED[i].roles & (1u << role)))
                continue;
            struct fiche_transition_input in = valid(EXPECTED[i].from, EXPECTED[i].to, role);
            struct rule_report r = run(&in);
            assert_none(&r);
        }
}

Test(fiche, transition_refused_for_a_role_or_a_missing_edge)
{
    struct fiche_transition_input in =
        valid(FICHE_BROUILLON, FICHE_EN_MATURATION, ROLE_COLLECTIVITE_AGENT);
    struct rule_report r = run(&in);
    assert_only(&r, "transition-interdite");
    assert_violation(&r, "", "transition-interdite", "/vers");

    for (int role = 0; role < ROLE__COUNT; role++)
        for (int f = 0; f < FICHE_ETAT__COUNT; f++)
            for (int t = 0; t < FICHE_ETAT__COUNT; t++) {
                int i = expected_edge((enum fiche_etat)f, (enum fiche_etat)t);
                in = valid((enum fiche_etat)f, (enum fiche_etat)t, (enum role)role);
                r = run(&in);
                if (i < 0)
                    assert_only(&r, "transition-invalide");
                else if (!(EXPECTED[i].roles & (1u << role)))
                    assert_only(&r, "transition-interdite");
                else
                    assert_none(&r);
            }

    in = valid(FICHE_REALISEE, FICHE_EN_COURS, ROLE_COLLECTIVITE_ELU);
    r = run(&in);
    assert_violation(&r, "", "transition-invalide", "/vers");
    cr_assert_eq(fiche_transition_check(NULL, &r), 1);
    cr_assert_eq(fiche_transition_check(NULL, NULL), 1, "counted even without a report");
}

/* ---- §1.9 checks -------------------------------------------------------- */

Test(fiche, numero_mandatory_and_unique)
{
    struct rule_report r = {0};

    cr_assert_eq(fiche_numero_check("2.3", false, &r), 0);
    cr_assert_eq(fiche_numero_check(NULL, false, &r), 1);
    assert_violation(&r, "", "numero-manquant", "/numero");
    rule_report_init(&r);
    cr_assert_eq(fiche_numero_check("  ", false, &r), 1);
    assert_only(&r, "numero-manquant");
    rule_report_init(&r);
    cr_assert_eq(fiche_numero_check("2.3", true, &r), 1);
    assert_violation(&r, "", "numero-deja-utilise", "/numero");
    cr_assert(strstr(r.items[0].message, "2.3"));
}

Test(fiche, couts_non_negative_and_ttc_at_least_ht)
{
    struct rule_report r = {0};
    struct fiche_couts c = {
        .cout_total_ht = 100000, .has_cout_total_ttc = true, .cout_total_ttc = 120000};

    cr_assert_eq(fiche_couts_check(&c, &r), 0);
    c.cout_total_ttc = 100000;
    cr_assert_eq(fiche_couts_check(&c, &r), 0, "TTC = HT (no VAT) is fine");
    c.has_cout_total_ttc = false;
    c.cout_total_ttc = -5;
    cr_assert_eq(fiche_couts_check(&c, &r), 0, "TTC ignored when absent");
    cr_assert_eq(fiche_couts_check(NULL, &r), 0);

    c = (struct fiche_couts){.cout_total_ht = -1};
    cr_assert_eq(fiche_couts_check(&c, &r), 1);
    assert_violation(&r, "", "cout-negatif", "/cout_total_ht_centimes");
    rule_report_init(&r);
    c = (struct fiche_couts){.cout_total_ht = 0, .has_cout_total_ttc = true, .cout_total_ttc = -1};
    cr_assert_eq(fiche_couts_check(&c, &r), 1);
    assert_violation(&r, "", "cout-negatif", "/cout_total_ttc_centimes");
    rule_report_init(&r);
    c = (struct fiche_couts){
        .cout_total_ht = 100000, .has_cout_total_ttc = true, .cout_total_ttc = 99999};
    cr_assert_eq(fiche_couts_check(&c, &r), 1);
    assert_violation(&r, "", "cout-ttc-inferieur-ht", "/cout_total_ttc_centimes");
    cr_assert(strstr(r.items[0].message, "999,99" NB "€"), "%s", r.items[0].message);
}

Test(fiche, euros_format)
{
    char b[48];

    financement_euros_format(0, b, sizeof b);
    cr_assert_str_eq(b, "0,00" NB "€");
    financement_euros_format(5, b, sizeof b);
    cr_assert_str_eq(b, "0,05" NB "€");
    financement_euros_format(-5, b, sizeof b);
    cr_assert_str_eq(b, "-0,05" NB "€");
    financement_euros_format(123456, b, sizeof b);
    cr_assert_str_eq(b, "1" NB "234,56" NB "€");
    financement_euros_format(12345678900, b, sizeof b);
    cr_assert_str_eq(b, "123" NB "456" NB "789,00" NB "€");
    financement_euros_format(100000, b, sizeof b);
    cr_assert_str_eq(b, "1" NB "000,00" NB "€");
    financement_euros_format(INT64_MAX, b, sizeof b);
    cr_assert_str_eq(b, "92" NB "233" NB "720" NB "368" NB "547" NB "758,07" NB "€");
    financement_euros_format(INT64_MIN, b, sizeof b);
    cr_assert_str_eq(b, "-92" NB "233" NB "720" NB "368" NB "547" NB "758,08" NB "€");
    financement_euros_format(123456, b, 4);
    cr_assert_str_eq(b, "1" NB, "truncated, NUL-terminated");
    financement_euros_format(1, NULL, 0);
}

/* ---- R21 ---------------------------------------------------------------- */

Test(fiche, r21_axe_of_the_same_territoire)
{
    struct rule_report r = {0};

    cr_assert_eq(fiche_r21_check("pvd-84-01-1", "pvd-84-01-1", &r), 0);
    assert_none(&r);
    cr_assert_eq(fiche_r21_check("pvd-84-01-1", "pvd-84-01-2", &r), 1);
    assert_violation(&r, "R21", "axe-autre-territoire", "/axe_id");
    rule_report_init(&r);
    cr_assert_eq(fiche_r21_check("pvd-84-01-1", NULL, &r), 1);
    assert_violation(&r, "R21", "axe-inconnu", "/axe_id");
    rule_report_init(&r);
    cr_assert_eq(fiche_r21_check(NULL, "pvd-84-01-1", &r), 1);
    assert_only(&r, "axe-autre-territoire");
}

/* ---- R22 ---------------------------------------------------------------- */

static const char *const COMMUNES_TERRITOIRE[] = {"84031", "84087"};
static const char *const COMMUNES_EPCI[] = {"84031", "84087", "84129", NULL};

Test(fiche, r22_commune_of_the_territoire)
{
    struct rule_report r = {0};

    cr_assert_eq(fiche_r22_check("84087", COMMUNES_TERRITOIRE, 2, COMMUNES_EPCI, 4, false, &r), 0);
    cr_assert_eq(fiche_r22_check("84129", COMMUNES_TERRITOIRE, 2, COMMUNES_EPCI, 4, true, &r), 0,
                 "an intercommunal action may be located in the EPCI");
    assert_none(&r);

    cr_assert_eq(fiche_r22_check("84129", COMMUNES_TERRITOIRE, 2, COMMUNES_EPCI, 4, false, &r), 1);
    assert_violation(&r, "R22", "commune-hors-territoire-epci", "/localisation_commune_insee");
    cr_assert(strstr(r.items[0].message, "84129"));
    rule_report_init(&r);
    cr_assert_eq(fiche_r22_check("13055", COMMUNES_TERRITOIRE, 2, COMMUNES_EPCI, 4, true, &r), 1);
    assert_violation(&r, "R22", "commune-hors-territoire", "/localisation_commune_insee");
    rule_report_init(&r);
    cr_assert_eq(fiche_r22_check(NULL, COMMUNES_TERRITOIRE, 2, COMMUNES_EPCI, 4, true, &r), 1);
    assert_only(&r, "commune-hors-territoire");
    rule_report_init(&r);
    cr_assert_eq(fiche_r22_check("84031", NULL, 0, NULL, 0, true, &r), 1, "no commune known");
    assert_only(&r, "commune-hors-territoire");
}

/* ---- R23 ---------------------------------------------------------------- */

Test(fiche, r23_examined_in_seance_before_leaving_brouillon)
{
    struct rule_report r = {0};
    struct fiche_seance_examen s[] = {{{2024, 7, 1}}, {{2024, 6, 1}}};

    cr_assert_eq(fiche_r23_check(s, 2, TODAY, &r), 0, "a séance the same day suffices");
    cr_assert_eq(fiche_r23_check(s + 1, 1, ymd(2024, 6, 2), &r), 0);
    assert_none(&r);
    cr_assert_eq(fiche_r23_check(s, 1, TODAY, &r), 1);
    assert_violation(&r, "R23", "examen-comite-posterieur", "/comite_seance_id");
    rule_report_init(&r);
    cr_assert_eq(fiche_r23_check(NULL, 0, TODAY, &r), 1);
    assert_violation(&r, "R23", "examen-comite-manquant", "/comite_seance_id");
    rule_report_init(&r);
    cr_assert_eq(fiche_r23_check(s, 0, TODAY, &r), 1);
    assert_only(&r, "examen-comite-manquant");
}

Test(fiche, r23_through_the_transitions_leaving_brouillon)
{
    enum fiche_etat targets[] = {FICHE_EN_MATURATION, FICHE_ABANDONNEE};

    for (size_t i = 0; i < 2; i++) {
        struct fiche_transition_input in =
            valid(FICHE_BROUILLON, targets[i], ROLE_COLLECTIVITE_ELU);
        in.seance_count = 0;
        struct rule_report r = run(&in);
        assert_only(&r, "examen-comite-manquant");
        in = valid(FICHE_BROUILLON, targets[i], ROLE_COLLECTIVITE_ELU);
        in.date_transition = ymd(2024, 3, 13);
        r = run(&in);
        assert_only(&r, "examen-comite-posterieur");
    }
    /* Not asked once out of brouillon. */
    struct fiche_transition_input in =
        valid(FICHE_EN_MATURATION, FICHE_ABANDONNEE, ROLE_COLLECTIVITE_ELU);
    in.seance_count = 0;
    struct rule_report r = run(&in);
    assert_none(&r);
}

/* ---- R24 ---------------------------------------------------------------- */

Test(fiche, r24_balanced_plan)
{
    struct rule_report r = {0};
    struct fiche_couts c = {
        .cout_total_ht = 12000000, .has_cout_total_ttc = true, .cout_total_ttc = 14400000};
    struct fiche_plan_financement p = {.ligne_count = 3, .somme_montants = 12000000};

    cr_assert_eq(fiche_r24_check(&c, &p, &r), 0);
    p = (struct fiche_plan_financement){3, 14400000, FICHE_BASE_TTC};
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 0, "TTC plan against the TTC cost");
    assert_none(&r);

    p = (struct fiche_plan_financement){3, 11876544, FICHE_BASE_HT};
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 1);
    assert_violation(&r, "R24", "plan-financement-desequilibre", "/plan_financement");
    cr_assert(strstr(r.items[0].message, "1" NB "234,56" NB "€"), "the gap: %s",
              r.items[0].message);
    cr_assert(strstr(r.items[0].message, "n'atteignent pas"));

    rule_report_init(&r);
    p = (struct fiche_plan_financement){3, 12000001, FICHE_BASE_HT};
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 1, "one cent over");
    cr_assert(strstr(r.items[0].message, "dépassent") && strstr(r.items[0].message, "0,01" NB "€"));

    rule_report_init(&r);
    p = (struct fiche_plan_financement){3, 12000000, FICHE_BASE_TTC};
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 1, "HT sum against the TTC cost");
    assert_only(&r, "plan-financement-desequilibre");

    rule_report_init(&r);
    c.has_cout_total_ttc = false;
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 1);
    assert_violation(&r, "R24", "cout-ttc-manquant", "/cout_total_ttc_centimes");

    rule_report_init(&r);
    p = (struct fiche_plan_financement){0, 0, FICHE_BASE_HT};
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 2, "empty and unbalanced");
    assert_violation(&r, "R24", "plan-financement-vide", "/plan_financement");
    assert_violation(&r, "R24", "plan-financement-desequilibre", "/plan_financement");

    rule_report_init(&r);
    c = (struct fiche_couts){.cout_total_ht = 0};
    cr_assert_eq(fiche_r24_check(&c, NULL, &r), 1, "NULL plan: empty");
    assert_only(&r, "plan-financement-vide");
    rule_report_init(&r);
    p = (struct fiche_plan_financement){1, INT64_MIN, FICHE_BASE_HT};
    c.cout_total_ht = INT64_MAX;
    cr_assert_eq(fiche_r24_check(&c, &p, &r), 1, "extreme values: no overflow");
}

Test(fiche, r24_r25_r27_through_programmee)
{
    struct fiche_transition_input in =
        valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.plan.somme_montants -= 100;
    struct rule_report r = run(&in);
    assert_only(&r, "plan-financement-desequilibre");

    in = valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.dates.date_fin_prevue = ymd(2024, 8, 31);
    r = run(&in);
    assert_only(&r, "dates-prevues-incoherentes");

    in = valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.dates.has_date_debut_prevue = false;
    r = run(&in);
    assert_only(&r, "date-prevue-manquante");
    assert_violation(&r, "", "date-prevue-manquante", "/date_debut_prevue");

    in = valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.r27_echeancier_equilibre = false;
    r = run(&in);
    assert_only(&r, "echeancier-desequilibre");
    assert_violation(&r, "R27", "echeancier-desequilibre", "/echeancier");

    /* The financing module's R27 report, when given, is what counts. */
    struct rule_report r27;
    rule_report_init(&r27);
    rule_report_add(&r27, "R27", "echeancier-desequilibre", "/echeancier",
                    "Échéancier : 100,00 € de moins que le coût total HT.");
    rule_report_add(&r27, "R27", "echeancier-annee-repetee", "/echeancier/1/annee",
                    "Année 2025 répétée.");
    in = valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.r27_report = &r27;
    r = run(&in);
    cr_assert_eq(r.count, 2, "the verdict boolean is ignored when the report is given");
    assert_violation(&r, "R27", "echeancier-annee-repetee", "/echeancier/1/annee");
    cr_assert_str_eq(r.items[0].message, "Échéancier : 100,00 € de moins que le coût total HT.");
    r27.dropped = 3;
    r = run(&in);
    cr_assert_eq(r.count, 5, "dropped findings still block");
    rule_report_init(&r27);
    in.r27_echeancier_equilibre = false;
    r = run(&in);
    assert_none(&r);

    /* All at once: every problem reported. */
    in = valid(FICHE_EN_MATURATION, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT);
    in.plan.ligne_count = 0;
    in.plan.somme_montants = 0;
    in.dates.date_debut_prevue = ymd(2027, 1, 1);
    in.r27_echeancier_equilibre = false;
    r = run(&in);
    cr_assert_eq(r.count, 4);

    /* Not asked on other edges. */
    in = valid(FICHE_PROGRAMMEE, FICHE_EN_COURS, ROLE_COLLECTIVITE_AGENT);
    in.plan.ligne_count = 0;
    in.dates.date_debut_prevue = ymd(2027, 1, 1);
    in.r27_echeancier_equilibre = false;
    r = run(&in);
    assert_none(&r);
}

/* ---- R25 ---------------------------------------------------------------- */

Test(fiche, r25_dates_coherent)
{
    struct rule_report r = {0};
    struct fiche_dates d = {true, {2024, 9, 1}, true, {2024, 9, 1}};

    cr_assert_eq(fiche_r25_check(&d, true, &r), 0, "same day");
    d.date_fin_prevue = ymd(2025, 1, 1);
    cr_assert_eq(fiche_r25_check(&d, false, &r), 0);
    d.has_date_fin_prevue = false;
    cr_assert_eq(fiche_r25_check(&d, false, &r), 0, "partial update: one date");
    cr_assert_eq(fiche_r25_check(NULL, false, &r), 0);
    assert_none(&r);

    d = (struct fiche_dates){true, {2024, 9, 2}, true, {2024, 9, 1}};
    cr_assert_eq(fiche_r25_check(&d, false, &r), 1);
    assert_violation(&r, "R25", "dates-prevues-incoherentes", "/date_fin_prevue");
    cr_assert(strstr(r.items[0].message, "2024-09-01") && strstr(r.items[0].message, "2024-09-02"));

    rule_report_init(&r);
    cr_assert_eq(fiche_r25_check(NULL, true, &r), 2);
    assert_violation(&r, "", "date-prevue-manquante", "/date_debut_prevue");
    cr_assert_str_eq(r.items[1].pointer, "/date_fin_prevue");
}

/* ---- R26 ---------------------------------------------------------------- */

Test(fiche, r26_start_before_cadre_needs_signed_adhesion)
{
    struct rule_report r = {0};

    cr_assert_eq(fiche_r26_check(true, false, &r), 0, "adhésion signed, cadre not: allowed");
    cr_assert_eq(fiche_r26_check(true, true, &r), 0);
    cr_assert_eq(fiche_r26_check(false, true, &r), 0);
    assert_none(&r);
    cr_assert_eq(fiche_r26_check(false, false, &r), 1);
    assert_violation(&r, "R26", "convention-adhesion-non-signee", "/avant_convention_cadre");

    struct fiche_transition_input in =
        valid(FICHE_PROGRAMMEE, FICHE_EN_COURS, ROLE_COLLECTIVITE_AGENT);
    in.adhesion_signee = false;
    in.cadre_signee = false;
    r = run(&in);
    assert_only(&r, "convention-adhesion-non-signee");
    /* A reprise after suspension is not a start. */
    in.from = FICHE_SUSPENDUE;
    in.has_date_commencement = false;
    r = run(&in);
    assert_none(&r);
}

Test(fiche, commencement_and_achevement_recorded)
{
    struct fiche_transition_input in =
        valid(FICHE_PROGRAMMEE, FICHE_EN_COURS, ROLE_COLLECTIVITE_ELU);
    in.has_date_commencement = false;
    struct rule_report r = run(&in);
    assert_only(&r, "date-commencement-manquante");
    assert_violation(&r, "", "date-commencement-manquante", "/date_commencement");

    in = valid(FICHE_PROGRAMMEE, FICHE_EN_COURS, ROLE_COLLECTIVITE_ELU);
    in.date_commencement = ymd(2024, 6, 2);
    r = run(&in);
    assert_only(&r, "date-commencement-future");
    in.date_commencement = ymd(2023, 6, 2);
    r = run(&in);
    assert_none(&r);

    in = valid(FICHE_EN_COURS, FICHE_REALISEE, ROLE_COLLECTIVITE_AGENT);
    in.has_date_achevement = false;
    r = run(&in);
    assert_only(&r, "date-achevement-manquante");
    assert_violation(&r, "", "date-achevement-manquante", "/date_achevement");
    in = valid(FICHE_EN_COURS, FICHE_REALISEE, ROLE_COLLECTIVITE_AGENT);
    in.date_achevement = ymd(2024, 6, 2);
    r = run(&in);
    assert_only(&r, "date-achevement-future");
    in.date_achevement = ymd(2024, 5, 31);
    in.date_commencement = ymd(2024, 6, 1);
    r = run(&in);
    assert_only(&r, "date-achevement-anterieure-commencement");
    assert_violation(&r, "", "date-achevement-anterieure-commencement", "/date_achevement");
    in.date_commencement = ymd(2024, 5, 31);
    r = run(&in);
    assert_none(&r);
    in.has_date_commencement = false;
    in.date_commencement = ymd(2024, 6, 1);
    r = run(&in);
    assert_none(&r);
    in.indicateurs_sans_mesure = 2;
    r = run(&in);
    assert_only(&r, "indicateur-sans-mesure");
    assert_violation(&r, "", "indicateur-sans-mesure", "/indicateurs");
    cr_assert(strstr(r.items[0].message, "2 indicateur"));
}

/* ---- R28 ---------------------------------------------------------------- */

Test(fiche, r28_motif_and_comite_decision)
{
    struct rule_report r = {0};

    cr_assert_eq(fiche_r28_check(FICHE_SUSPENDUE, "Recours contentieux", false, &r), 0,
                 "suspension needs no décision");
    cr_assert_eq(fiche_r28_check(FICHE_ABANDONNEE, "Projet repris par l'EPCI", true, &r), 0);
    cr_assert_eq(fiche_r28_check(FICHE_REALISEE, NULL, false, &r), 0, "other targets: nothing");
    assert_none(&r);

    cr_assert_eq(fiche_r28_check(FICHE_SUSPENDUE, " \t\n", false, &r), 1);
    assert_violation(&r, "R28", "motif-manquant", "/motif");
    rule_report_init(&r);
    cr_assert_eq(fiche_r28_check(FICHE_ABANDONNEE, "Coût trop élevé", false, &r), 1);
    assert_violation(&r, "R28", "decision-abandon-manquante", "/decision_id");
    rule_report_init(&r);
    cr_assert_eq(fiche_r28_check(FICHE_ABANDONNEE, NULL, false, &r), 2);
}

Test(fiche, r28_through_suspension_and_abandon)
{
    struct fiche_transition_input in =
        valid(FICHE_EN_COURS, FICHE_SUSPENDUE, ROLE_COLLECTIVITE_AGENT);
    in.motif = NULL;
    in.has_decision_abandon = false;
    struct rule_report r = run(&in);
    assert_only(&r, "motif-manquant");

    enum fiche_etat from[] = {FICHE_BROUILLON, FICHE_EN_MATURATION, FICHE_PROGRAMMEE};
    for (size_t i = 0; i < 3; i++) {
        in = valid(from[i], FICHE_ABANDONNEE, ROLE_COLLECTIVITE_ELU);
        in.has_decision_abandon = false;
        r = run(&in);
        assert_only(&r, "decision-abandon-manquante");
        in = valid(from[i], FICHE_ABANDONNEE, ROLE_COLLECTIVITE_ELU);
        in.motif = "";
        r = run(&in);
        assert_only(&r, "motif-manquant");
    }
    /* Reprise: no motif asked. */
    in = valid(FICHE_SUSPENDUE, FICHE_EN_COURS, ROLE_COLLECTIVITE_AGENT);
    in.motif = NULL;
    r = run(&in);
    assert_none(&r);
}
