/* Unit tests of domain/chef_projet: the post, the months held in a year, the
 * caps R12–R16 at their boundaries (exactly at the cap: accepted; one cent
 * over: refused naming the cap and an excess of 0,01 €), pro rata of the
 * quotité and of the months, R11, R17, R18, R19 (year held, payment
 * schedule), R20/R41, and who records a share (R16). Each rule is checked on
 * a valid case and on the same case broken in one place. */
#include <criterion/criterion.h>

#include <string.h>

#include "domain/chef_projet.h"

#define NB     "\xc2\xa0"
#define EURO   NB "\xe2\x82\xac"
#define EUR(x) ((int64_t)(x)*100)

static struct rule_report report(void)
{
    struct rule_report r;
    rule_report_init(&r);
    return r;
}

static struct parametres params;

static const struct chef_projet_poste POSTE = {
    .employeur_kind = ORGANISATION_EPCI,
    .territoire_count = 1,
    .quotite = PARAMETRES_TAUX_UN,
    .date_recrutement = {2021, 3, 1},
    .has_type_contrat = true,
    .type_contrat = CDP_CONTRAT_DE_PROJET,
};

/* A full-time post held all of 2024, adhésion signed, no Anah. */
static struct chef_projet_financement_input
input(const struct chef_projet_poste *poste, int64_t cout, int64_t etat, int64_t bdt, int64_t anah)
{
    parametres_defaut(&params);
    return (struct chef_projet_financement_input){
        .poste = poste,
        .financement = {.annee = 2024,
                        .cout_charge_annuel = cout,
                        .avec_anah = anah > 0,
                        .parts = {etat, bdt, anah}},
        .parametres = &params,
        .adhesion_signee = true,
        .etude_pre_operationnelle_anah = anah > 0,
    };
}

static size_t check(const struct chef_projet_financement_input *in, struct rule_report *r)
{
    *r = report();
    return chef_projet_financement_check(in, NULL, r);
}

static void expect_ok(const struct chef_projet_financement_input *in)
{
    struct rule_report r;
    cr_assert_eq(check(in, &r), 0, "unexpected %s: %s", r.count ? r.items[0].code : "",
                 r.count ? r.items[0].message : "");
}

/* Exactly one violation: its rule, code, pointer, and each of the texts in
 * the message (NULL-terminated). */
static void expect_one(const struct chef_projet_financement_input *in, const char *regle,
                       const char *code, const char *pointer, const char *const *texts)
{
    struct rule_report r;
    size_t n = check(in, &r);

    cr_assert_eq(n, 1, "%s: %zu items, first %s", code, n, r.count ? r.items[0].code : "");
    cr_assert_str_eq(r.items[0].regle, regle);
    cr_assert_str_eq(r.items[0].code, code);
    cr_assert_str_eq(r.items[0].pointer, pointer);
    for (size_t i = 0; texts && texts[i]; i++)
        cr_assert(strstr(r.items[0].message, texts[i]), "'%s' not in '%s'", texts[i],
                  r.items[0].message);
}

/* ---- Names, the post ------------------------------------------------------ */

Test(chef_projet, contract_names)
{
    enum cdp_type_contrat t = CDP_CONTRAT_AUTRE;

    cr_assert_str_eq(cdp_type_contrat_name(CDP_CONTRAT_DE_PROJET), "contrat_de_projet");
    cr_assert(cdp_type_contrat_parse("cdd", &t));
    cr_assert_eq(t, CDP_CONTRAT_CDD);
    cr_assert_not(cdp_type_contrat_parse("CDD", &t));
    cr_assert_null(cdp_type_contrat_name(CDP_TYPE_CONTRAT__COUNT));
}

Test(chef_projet, poste_check)
{
    struct chef_projet_poste p = POSTE;
    struct rule_report r = report();

    cr_assert_eq(chef_projet_poste_check(&p, &r), 0);
    p.employeur_kind = ORGANISATION_PETR;
    cr_assert_eq(chef_projet_poste_check(&p, &r), 0);
    p.employeur_kind = ORGANISATION_DEPARTEMENT;
    p.territoire_count = 0;
    p.quotite = 0;
    p.has_date_fin_contrat = true;
    p.date_fin_contrat = (struct date){2021, 2, 28};
    p.type_contrat = CDP_TYPE_CONTRAT__COUNT;
    cr_assert_eq(chef_projet_poste_check(&p, &r), 5);
    cr_assert_str_eq(r.items[0].code, "employeur-invalide");
    cr_assert_str_eq(r.items[1].code, "territoires-manquants");
    cr_assert_str_eq(r.items[2].code, "quotite-invalide");
    cr_assert_str_eq(r.items[3].code, "dates-contrat-incoherentes");
    cr_assert_str_eq(r.items[3].pointer, "/date_fin_contrat");
    cr_assert_str_eq(r.items[4].code, "type-contrat-invalide");
    p = POSTE;
    p.quotite = PARAMETRES_TAUX_UN + 1;
    r = report();
    cr_assert_eq(chef_projet_poste_check(&p, &r), 1);
    p = POSTE;
    p.date_recrutement = (struct date){2023, 2, 29};
    r = report();
    cr_assert_eq(chef_projet_poste_check(&p, &r), 1);
    cr_assert_str_eq(r.items[0].code, "date-invalide");
}

Test(chef_projet, months_held_in_a_year)
{
    struct chef_projet_poste p = POSTE; /* from 2021-03-01, no end */

    cr_assert_eq(chef_projet_mois(&p, 2020), 0);
    cr_assert_eq(chef_projet_mois(&p, 2021), 10);
    cr_assert_eq(chef_projet_mois(&p, 2024), 12);
    p.date_recrutement = (struct date){2024, 3, 31}; /* one day of March counts */
    cr_assert_eq(chef_projet_mois(&p, 2024), 10);
    p.date_recrutement = (struct date){2023, 12, 31};
    cr_assert_eq(chef_projet_mois(&p, 2023), 1);
    p.has_date_fin_contrat = true;
    p.date_fin_contrat = (struct date){2024, 2, 29}; /* leap day */
    cr_assert_eq(chef_projet_mois(&p, 2024), 2);
    p.date_fin_contrat = (struct date){2024, 1, 1};
    cr_assert_eq(chef_projet_mois(&p, 2024), 1);
    cr_assert_eq(chef_projet_mois(&p, 2025), 0);
    cr_assert_eq(chef_projet_mois(NULL, 2024), 0);
}

Test(chef_projet, prorata)
{
    cr_assert_eq(chef_projet_prorata(EUR(45000), PARAMETRES_TAUX_UN, 12), EUR(45000));
    cr_assert_eq(chef_projet_prorata(EUR(45000), 5000, 6), EUR(11250));
    cr_assert_eq(chef_projet_prorata(EUR(45000), 8000, 7), EUR(21000));
    /* 15 000 € × 1/3 × 1/12 = 416,666… € → 416,66 € (rounded down) */
    cr_assert_eq(chef_projet_prorata(EUR(15000), 3333, 1), 41662);
    cr_assert_eq(chef_projet_prorata(FINANCEMENT_MONTANT_MAX, PARAMETRES_TAUX_UN, 12),
                 FINANCEMENT_MONTANT_MAX);
    cr_assert_eq(chef_projet_prorata(-1, 5000, 6), -1);
    cr_assert_eq(chef_projet_prorata(EUR(1), 10001, 6), -1);
    cr_assert_eq(chef_projet_prorata(EUR(1), 5000, 13), -1);
}

/* ---- R12, R13 ------------------------------------------------------------ */

Test(chef_projet, r12_total_at_75_percent_of_cost)
{
    /* 40 000 € cost: R12 cap 30 000 €, under R13's 45 000 €. */
    struct chef_projet_financement_input in = input(&POSTE, EUR(40000), EUR(20000), EUR(10000), 0);
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] += 1;
    expect_one(&in, "R12", "cofinancement-taux-depasse", "/total_cofinancement_centimes",
               (const char *const[]){"30" NB "000,01" EURO, "0,01" EURO, "30" NB "000,00" EURO,
                                     "75,00 %", NULL});
}

Test(chef_projet, r13_without_anah_45000)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(80000), EUR(30000), EUR(15000), 0);
    struct chef_projet_plafonds p;
    struct rule_report r = report();

    cr_assert_eq(chef_projet_financement_check(&in, &p, &r), 0);
    cr_assert_eq(p.total_annuel, EUR(45000));
    cr_assert_eq(p.total_taux, EUR(60000));
    cr_assert_eq(p.total, EUR(45000));
    cr_assert_not(p.avec_anah);
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] += 1;
    expect_one(&in, "R13", "cofinancement-plafond-depasse", "/total_cofinancement_centimes",
               (const char *const[]){"45" NB "000,01" EURO, "dépasse de 0,01" EURO,
                                     "plafond de 45" NB "000,00" EURO, "sans l'Anah", NULL});
}

Test(chef_projet, r13_with_anah_55000)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(80000), 0, EUR(15000), EUR(40000));
    struct chef_projet_plafonds p;
    struct rule_report r = report();

    cr_assert_eq(chef_projet_financement_check(&in, &p, &r), 0);
    cr_assert(p.avec_anah);
    cr_assert_eq(p.total_annuel, EUR(55000));
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] = 1;
    expect_one(&in, "R13", "cofinancement-plafond-depasse", "/total_cofinancement_centimes",
               (const char *const[]){"0,01" EURO, "55" NB "000,00" EURO, "avec l'Anah", NULL});
    /* avec_anah without an Anah share: the cap without Anah */
    in = input(&POSTE, EUR(80000), EUR(45000), 0, 0);
    in.financement.avec_anah = true;
    in.etude_pre_operationnelle_anah = true;
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] += 1;
    expect_one(&in, "R13", "cofinancement-plafond-depasse", "/total_cofinancement_centimes", NULL);
}

Test(chef_projet, r13_pro_rata_of_quotite_and_months)
{
    /* Half-time, recruited 2024-07-15: 6 months × 0.5 → 11 250 €. */
    struct chef_projet_poste poste = POSTE;
    poste.quotite = 5000;
    poste.date_recrutement = (struct date){2024, 7, 15};
    struct chef_projet_financement_input in = input(&poste, EUR(20000), EUR(11250), 0, 0);
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] += 1;
    expect_one(
        &in, "R13", "cofinancement-plafond-depasse", "/total_cofinancement_centimes",
        (const char *const[]){"0,01" EURO, "11" NB "250,00" EURO, "6 mois", "50,00 %", NULL});
}

/* ---- R14, R15, État (R16) -------------------------------------------------- */

Test(chef_projet, r14_anah_share)
{
    /* 50 % of 60 000 € = 30 000 € (under 40 000 €) */
    struct chef_projet_financement_input in = input(&POSTE, EUR(60000), 0, 0, EUR(30000));
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANAH] += 1;
    expect_one(&in, "R14", "part-anah-taux-depasse", "/part_anah_centimes",
               (const char *const[]){"l'Anah", "0,01" EURO, "30" NB "000,00" EURO, NULL});
    /* 50 % of 100 000 € = 50 000 €: the 40 000 € cap binds */
    in = input(&POSTE, EUR(100000), 0, 0, EUR(40000));
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANAH] += 1;
    expect_one(&in, "R14", "part-anah-plafond-depasse", "/part_anah_centimes",
               (const char *const[]){"0,01" EURO, "40" NB "000,00" EURO, NULL});
    /* an Anah share without avec_anah */
    in = input(&POSTE, EUR(100000), 0, 0, EUR(1000));
    in.financement.avec_anah = false;
    expect_one(&in, "R14", "part-anah-sans-anah", "/part_anah_centimes", NULL);
}

Test(chef_projet, r15_bdt_share)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(40000), 0, EUR(10000), 0);
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_BDT] += 1;
    expect_one(&in, "R15", "part-bdt-taux-depasse", "/part_bdt_centimes",
               (const char *const[]){"Banque des Territoires", "0,01" EURO, "25,00 %", NULL});
    in = input(&POSTE, EUR(100000), 0, EUR(15000), 0);
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_BDT] += 1;
    expect_one(&in, "R15", "part-bdt-plafond-depasse", "/part_bdt_centimes",
               (const char *const[]){"0,01" EURO, "15" NB "000,00" EURO, NULL});
}

Test(chef_projet, r16_caps_are_parameters)
{
    /* A local envelope: the État's share capped at 10 000 € a year. */
    struct chef_projet_financement_input in = input(&POSTE, EUR(80000), EUR(10000), 0, 0);
    params.chef_projet[0].financeurs[CDP_FINANCEUR_ANCT_ETAT].plafond_annuel = EUR(10000);
    expect_ok(&in);
    in.financement.parts[CDP_FINANCEUR_ANCT_ETAT] += 1;
    expect_one(&in, "R16", "part-anct_etat-plafond-depasse", "/part_anct_etat_centimes",
               (const char *const[]){"0,01" EURO, "10" NB "000,00" EURO, NULL});
    /* A later row lowers the total for 2024 only. */
    in = input(&POSTE, EUR(80000), EUR(40000), 0, 0);
    params.chef_projet[1] = params.chef_projet[0];
    params.chef_projet[1].annee_debut = 2024;
    params.chef_projet[1].plafond_annuel = EUR(35000);
    params.chef_projet_count = 2;
    expect_one(&in, "R13", "cofinancement-plafond-depasse", "/total_cofinancement_centimes",
               (const char *const[]){"5" NB "000,00" EURO, "35" NB "000,00" EURO, NULL});
    in.financement.annee = 2023;
    expect_ok(&in);
    /* No row in force: refused, never a constant. */
    params.chef_projet[0].annee_debut = 2023;
    in.financement.annee = 2022;
    expect_one(&in, "R16", "parametres-annee-absents", "/annee", NULL);
}

/* ---- R11, R17, R18, R19, R20 ------------------------------------------------ */

Test(chef_projet, r11_signed_adhesion)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(60000), EUR(30000), 0, 0);
    expect_ok(&in);
    in.adhesion_signee = false;
    expect_one(&in, "R11", "convention-adhesion-non-signee", "/employeur_id", NULL);
}

Test(chef_projet, r17_anah_needs_study_or_opah_ru)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(60000), 0, 0, EUR(20000));
    in.etude_pre_operationnelle_anah = false;
    expect_one(&in, "R17", "anah-sans-etude-ni-opah-ru", "/avec_anah", NULL);
    in.opah_ru = true;
    expect_ok(&in);
    in.opah_ru = false;
    in.etude_pre_operationnelle_anah = true;
    expect_ok(&in);
}

Test(chef_projet, r18_one_live_request_per_post_and_year)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(60000), EUR(30000), 0, 0);
    const enum demande_etat closed[] = {DEMANDE_REFUSEE,  DEMANDE_CLASSEE_SANS_SUITE,
                                        DEMANDE_SOLDEE,   DEMANDE_CADUQUE,
                                        DEMANDE_FORCLOSE, DEMANDE_REJET_IMPLICITE};
    in.autres_demandes = closed;
    in.autres_demandes_count = 6;
    expect_ok(&in);
    const enum demande_etat live[] = {DEMANDE_REFUSEE, DEMANDE_BROUILLON, DEMANDE_ACCORDEE};
    in.autres_demandes = live;
    in.autres_demandes_count = 3;
    expect_one(&in, "R18", "demande-annee-deja-en-cours", "/annee",
               (const char *const[]){"brouillon", "2024", NULL});
    for (int e = 0; e < DEMANDE_ETAT__COUNT; e++) {
        enum demande_etat one = (enum demande_etat)e;
        struct rule_report r;
        in.autres_demandes = &one;
        in.autres_demandes_count = 1;
        cr_assert_eq(check(&in, &r), demande_etat_terminal(one) ? 0 : 1, "%s",
                     demande_etat_name(one));
    }
}

Test(chef_projet, r19_year_held_by_the_post)
{
    struct chef_projet_poste poste = POSTE;
    poste.has_date_fin_contrat = true;
    poste.date_fin_contrat = (struct date){2023, 12, 31};
    struct chef_projet_financement_input in = input(&poste, EUR(60000), 0, 0, 0);
    expect_one(&in, "R19", "annee-hors-poste", "/annee", NULL);
    in.financement.annee = 2023;
    expect_ok(&in);
}

Test(chef_projet, r20_no_year_after_the_end_parameter)
{
    struct chef_projet_financement_input in = input(&POSTE, EUR(60000), EUR(30000), 0, 0);
    in.financement.annee = 2026;
    expect_ok(&in);
    in.financement.annee = 2027;
    expect_one(&in, "R20", "annee-apres-fin-cofinancement", "/annee",
               (const char *const[]){"2026-12-31", NULL});
    params.fin_cofinancement_cdp = (struct date){2027, 3, 31};
    expect_ok(&in);
    in.financement.annee = 2019;
    in.poste = &(struct chef_projet_poste){.employeur_kind = ORGANISATION_COMMUNE,
                                           .territoire_count = 1,
                                           .quotite = PARAMETRES_TAUX_UN,
                                           .date_recrutement = {2019, 1, 1}};
    params.chef_projet[0].annee_debut = 2019;
    expect_one(&in, "R41", "annee-avant-programme", "/annee", NULL);
}

Test(chef_projet, amounts_and_pointer_base)
{
    struct chef_projet_financement_input in = input(&POSTE, -1, EUR(1), 0, 0);
    in.pointeur_base = "/financements/3";
    expect_one(&in, "", "montant-invalide", "/financements/3/cout_charge_annuel_centimes", NULL);
    in = input(&POSTE, EUR(60000), 0, -5, 0);
    in.pointeur_base = "/financements/3";
    expect_one(&in, "", "montant-invalide", "/financements/3/part_bdt_centimes", NULL);
    in.financement.parts[CDP_FINANCEUR_BDT] = EUR(15000) + 1;
    in.financement.cout_charge_annuel = EUR(100000);
    expect_one(&in, "R15", "part-bdt-plafond-depasse", "/financements/3/part_bdt_centimes", NULL);
    struct rule_report r = report();
    cr_assert_eq(chef_projet_financement_check(NULL, NULL, &r), 1);
}

/* ---- R16: who records a share ---------------------------------------------- */

Test(chef_projet, r16_who_records_a_share)
{
    for (int f = 0; f < CDP_FINANCEUR__COUNT; f++) {
        enum cdp_financeur part = (enum cdp_financeur)f;
        cr_assert(chef_projet_part_enregistrable(part, ROLE_COLLECTIVITE_AGENT, false, false, 0));
        cr_assert(chef_projet_part_enregistrable(part, ROLE_COLLECTIVITE_ELU, false, false, 0));
        cr_assert_not(chef_projet_part_enregistrable(part, ROLE_COLLECTIVITE_ELU, true, false, 0));
        cr_assert_eq(
            chef_projet_part_enregistrable(part, ROLE_PREFECTURE_INSTRUCTEUR, true, false, 0),
            part == CDP_FINANCEUR_ANCT_ETAT);
        for (int g = 0; g < CDP_FINANCEUR__COUNT; g++)
            cr_assert_eq(chef_projet_part_enregistrable(part, ROLE_FINANCEUR, true, true,
                                                        (enum cdp_financeur)g),
                         f == g);
        cr_assert_not(chef_projet_part_enregistrable(part, ROLE_FINANCEUR, true, false, part));
        cr_assert_not(chef_projet_part_enregistrable(part, ROLE_PREFECTURE_REGION, true, false, 0));
        cr_assert_not(chef_projet_part_enregistrable(part, ROLE_ANCT_NATIONAL, true, false, 0));
        cr_assert_not(chef_projet_part_enregistrable(part, ROLE_LECTEUR_NATIONAL, true, false, 0));
    }
    const bool modifiees[CDP_FINANCEUR__COUNT] = {true, false, true};
    struct rule_report r = report();
    cr_assert_eq(
        chef_projet_r16_check(modifiees, ROLE_FINANCEUR, true, true, CDP_FINANCEUR_ANAH, NULL, &r),
        1);
    cr_assert_str_eq(r.items[0].code, "part-financeur-interdite");
    cr_assert_str_eq(r.items[0].regle, "R16");
    cr_assert_str_eq(r.items[0].pointer, "/part_anct_etat_centimes");
}

/* ---- R19: payment schedule --------------------------------------------------- */

Test(chef_projet, r19_schedule_without_anah)
{
    struct chef_projet_versement_prevu v[2];
    struct parametres p;

    parametres_defaut(&p);
    cr_assert_eq(chef_projet_echeancier(&p.chef_projet[0], 2024, false, EUR(45000) + 1, v, 2), 2);
    cr_assert_eq(v[0].type, VERSEMENT_ACOMPTE);
    cr_assert(v[0].montant_determine);
    cr_assert_eq(v[0].montant, 3375000); /* 75 % of 45 000,01 €, rounded down */
    cr_assert_eq(v[1].type, VERSEMENT_SOLDE);
    cr_assert_eq(v[1].montant, 1125001);
    cr_assert_eq(v[0].montant + v[1].montant, EUR(45000) + 1);
    cr_assert_not(v[0].sur_demande);
    cr_assert_eq(date_compare(v[0].au_plus_tot, (struct date){2024, 4, 1}), 0);
    cr_assert_eq(date_compare(v[0].au_plus_tard, (struct date){2024, 6, 30}), 0);
    cr_assert_eq(date_compare(v[1].au_plus_tot, (struct date){2024, 10, 1}), 0);
    cr_assert_eq(date_compare(v[1].au_plus_tard, (struct date){2024, 12, 31}), 0);
    /* the rate is a parameter */
    p.chef_projet[0].taux_premier_versement = 5000;
    cr_assert_eq(chef_projet_echeancier(&p.chef_projet[0], 2024, false, EUR(100), v, 2), 2);
    cr_assert_eq(v[0].montant, EUR(50));
    cr_assert_eq(chef_projet_echeancier(&p.chef_projet[0], 2024, false, -1, v, 2), 0);
    cr_assert_eq(chef_projet_echeancier(NULL, 2024, false, 1, v, 2), 0);
    cr_assert_eq(chef_projet_echeancier(&p.chef_projet[0], 2024, false, 1, NULL, 0), 2);
}

Test(chef_projet, r19_schedule_with_anah)
{
    struct chef_projet_versement_prevu v[2];
    struct parametres p;

    parametres_defaut(&p);
    cr_assert_eq(chef_projet_echeancier(&p.chef_projet[0], 2025, true, EUR(55000), v, 2), 2);
    cr_assert_eq(v[0].type, VERSEMENT_ACOMPTE);
    cr_assert(v[0].sur_demande);
    cr_assert_not(v[0].montant_determine);
    cr_assert_eq(v[0].montant, EUR(55000));
    cr_assert_eq(date_compare(v[0].au_plus_tot, (struct date){2025, 1, 1}), 0);
    cr_assert_eq(date_compare(v[0].au_plus_tard, (struct date){2025, 12, 31}), 0);
    cr_assert_eq(v[1].type, VERSEMENT_SOLDE);
    cr_assert(v[1].sur_demande);
    cr_assert_eq(date_compare(v[1].au_plus_tot, (struct date){2026, 1, 1}), 0);
    cr_assert_not(v[1].has_au_plus_tard);
}
