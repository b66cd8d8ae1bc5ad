/* Unit tests of domain/parametres: the defaults are domain.md's values, the
 * caps of a year, the filing deadlines and every validity check (each on a
 * valid struct broken in one place). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "domain/parametres.h"

#define EUR(x) ((int64_t)(x)*100)

static struct rule_report report(void)
{
    struct rule_report r;
    rule_report_init(&r);
    return r;
}

static struct parametres defaut(void)
{
    struct parametres p;
    parametres_defaut(&p);
    return p;
}

Test(parametres, names)
{
    enum subvention_dispositif d = SUBVENTION_AUTRE;
    enum cdp_financeur f = CDP_FINANCEUR_ANAH;

    cr_assert_str_eq(subvention_dispositif_name(SUBVENTION_CHEF_DE_PROJET_PVD),
                     "chef_de_projet_pvd");
    cr_assert_str_eq(subvention_dispositif_name(SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER),
                     "fonds_vert_recyclage_foncier");
    cr_assert(subvention_dispositif_parse("DSIL", &d));
    cr_assert_eq(d, SUBVENTION_DSIL);
    cr_assert_not(subvention_dispositif_parse("dsil", &d));
    cr_assert_null(subvention_dispositif_name(SUBVENTION_DISPOSITIF__COUNT));
    cr_assert(cdp_financeur_parse("bdt", &f));
    cr_assert_eq(f, CDP_FINANCEUR_BDT);
    cr_assert_str_eq(cdp_financeur_name(CDP_FINANCEUR_ANCT_ETAT), "anct_etat");
}

Test(parametres, defaults_are_domain_values_and_valid)
{
    struct parametres p = defaut();
    struct rule_report r = report();

    cr_assert_eq(parametres_check(&p, &r), 0, "%s", r.count ? r.items[0].code : "");
    cr_assert_eq(date_compare(p.date_lancement, (struct date){2020, 10, 1}), 0);
    cr_assert_eq(date_compare(p.date_fin, (struct date){2026, 3, 31}), 0);
    cr_assert_eq(date_compare(p.fin_cofinancement_cdp, (struct date){2026, 12, 31}), 0);
    cr_assert_eq(p.chef_projet_count, 1);
    const struct parametres_cdp *c = &p.chef_projet[0];
    cr_assert_eq(c->taux_max, 7500);
    cr_assert_eq(c->plafond_annuel, EUR(45000));
    cr_assert_eq(c->plafond_annuel_avec_anah, EUR(55000));
    cr_assert_eq(c->taux_premier_versement, 7500);
    cr_assert_eq(c->financeurs[CDP_FINANCEUR_ANAH].taux_max, 5000);
    cr_assert_eq(c->financeurs[CDP_FINANCEUR_ANAH].plafond_annuel, EUR(40000));
    cr_assert_eq(c->financeurs[CDP_FINANCEUR_BDT].taux_max, 2500);
    cr_assert_eq(c->financeurs[CDP_FINANCEUR_BDT].plafond_annuel, EUR(15000));
    cr_assert_eq(p.delais.rejet_implicite_mois, 8);
    cr_assert_eq(p.delais.caducite_annees, 2);
    cr_assert_eq(p.delais.caducite_prolongation_annees, 1);
    cr_assert_eq(p.delais.forclusion_annees, 4);
    cr_assert_eq(p.delais.forclusion_prolongation_annees, 2);
    cr_assert_eq(p.delais.seuil_commission_detr, EUR(100000));
    cr_assert_eq(p.delais.avance_taux_max, 3000);
    cr_assert_eq(p.delais.avance_taux_max_garantie, 6000);
    cr_assert_eq(p.dates_limites_count, 0);
    parametres_defaut(NULL); /* no crash */
}

Test(parametres, caps_in_force_for_a_year)
{
    struct parametres p = defaut();

    p.chef_projet[1] = p.chef_projet[0];
    p.chef_projet[1].annee_debut = 2024;
    p.chef_projet[1].plafond_annuel = EUR(30000);
    p.chef_projet_count = 2;
    cr_assert_null(parametres_cdp_pour_annee(&p, 2019));
    cr_assert_eq(parametres_cdp_pour_annee(&p, 2020), &p.chef_projet[0]);
    cr_assert_eq(parametres_cdp_pour_annee(&p, 2023), &p.chef_projet[0]);
    cr_assert_eq(parametres_cdp_pour_annee(&p, 2024), &p.chef_projet[1]);
    cr_assert_eq(parametres_cdp_pour_annee(&p, 2031), &p.chef_projet[1]);
    cr_assert_null(parametres_cdp_pour_annee(NULL, 2024));
}

Test(parametres, filing_deadline_of_a_departement_else_national)
{
    struct parametres p = defaut();

    p.dates_limites[0] = (struct parametres_date_limite){SUBVENTION_DETR, 2023, "", {2023, 3, 1}};
    p.dates_limites[1] =
        (struct parametres_date_limite){SUBVENTION_DETR, 2023, "03", {2023, 2, 15}};
    p.dates_limites_count = 2;
    cr_assert_eq(parametres_date_limite(&p, SUBVENTION_DETR, 2023, "03"), &p.dates_limites[1]);
    cr_assert_eq(parametres_date_limite(&p, SUBVENTION_DETR, 2023, "63"), &p.dates_limites[0]);
    cr_assert_eq(parametres_date_limite(&p, SUBVENTION_DETR, 2023, NULL), &p.dates_limites[0]);
    cr_assert_null(parametres_date_limite(&p, SUBVENTION_DETR, 2024, "03"));
    cr_assert_null(parametres_date_limite(&p, SUBVENTION_DSIL, 2023, "03"));
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
}

static void expect_one(const struct parametres *p, const char *code, const char *pointer)
{
    struct rule_report r = report();

    cr_assert_eq(parametres_check(p, &r), 1, "%s: %zu items (%s %s)", code, r.count,
                 r.count ? r.items[0].code : "", r.count ? r.items[0].pointer : "");
    cr_assert_str_eq(r.items[0].code, code);
    cr_assert_str_eq(r.items[0].pointer, pointer);
}

Test(parametres, rates_between_0_and_100_percent)
{
    struct parametres p = defaut();

    p.chef_projet[0].taux_max = PARAMETRES_TAUX_UN; /* 100 %: valid */
    p.chef_projet[0].financeurs[CDP_FINANCEUR_BDT].taux_max = 0;
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
    p.chef_projet[0].taux_max = PARAMETRES_TAUX_UN + 1;
    expect_one(&p, "parametre-taux-invalide", "/chef_projet/0/taux_max");
    p = defaut();
    p.chef_projet[0].financeurs[CDP_FINANCEUR_ANAH].taux_max = -1;
    expect_one(&p, "parametre-taux-invalide", "/chef_projet/0/financeurs/anah/taux_max");
    p = defaut();
    p.chef_projet[0].taux_premier_versement = 10001;
    expect_one(&p, "parametre-taux-invalide", "/chef_projet/0/taux_premier_versement");
}

Test(parametres, caps_are_amounts)
{
    struct parametres p = defaut();

    p.chef_projet[0].plafond_annuel = -1;
    expect_one(&p, "parametre-montant-invalide", "/chef_projet/0/plafond_annuel_centimes");
    p = defaut();
    p.chef_projet[0].plafond_annuel_avec_anah = INT64_MAX;
    expect_one(&p, "parametre-montant-invalide",
               "/chef_projet/0/plafond_annuel_avec_anah_centimes");
    p = defaut();
    p.chef_projet[0].financeurs[CDP_FINANCEUR_BDT].plafond_annuel = -5;
    expect_one(&p, "parametre-montant-invalide",
               "/chef_projet/0/financeurs/bdt/plafond_annuel_centimes");
    p = defaut();
    p.chef_projet[0].plafond_annuel = 0; /* a zero cap is valid (no co-financing) */
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
}

Test(parametres, cap_rows_increase_and_exist)
{
    struct parametres p = defaut();

    p.chef_projet[1] = p.chef_projet[0];
    p.chef_projet_count = 2;
    expect_one(&p, "parametre-annee-invalide", "/chef_projet/1/annee_debut");
    p.chef_projet[1].annee_debut = 2019;
    expect_one(&p, "parametre-annee-invalide", "/chef_projet/1/annee_debut");
    p.chef_projet[1].annee_debut = 2021;
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
    p.chef_projet_count = 0;
    expect_one(&p, "parametres-chef-projet-vides", "/chef_projet");
    p.chef_projet_count = PARAMETRES_CDP_MAX + 1;
    expect_one(&p, "parametres-chef-projet-vides", "/chef_projet");
    r = report();
    cr_assert_eq(parametres_check(NULL, &r), 1);
}

Test(parametres, programme_dates)
{
    struct parametres p = defaut();

    p.date_fin = (struct date){2026, 2, 30};
    expect_one(&p, "parametre-date-invalide", "/programme/date_fin");
    p = defaut();
    p.fin_cofinancement_cdp = (struct date){2020, 9, 30};
    expect_one(&p, "parametre-dates-incoherentes", "/programme/fin_cofinancement_cdp");
    p = defaut();
    p.date_fin = p.date_lancement; /* the same day: coherent */
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
    cr_assert_str_eq(r.count ? r.items[0].regle : "R41", "R41");
}

/* Each delay broken alone, at the pointer of its member. */
static void break_delai(struct parametres_delais *d, int i)
{
    switch (i) {
    case 0:
        d->rejet_implicite_mois = 0;
        break;
    case 1:
        d->caducite_annees = 0;
        break;
    case 2:
        d->caducite_prolongation_annees = -1;
        break;
    case 3:
        d->forclusion_annees = 21;
        break;
    case 4:
        d->forclusion_prolongation_annees = 21;
        break;
    case 5:
        d->seuil_commission_detr = -1;
        break;
    case 6:
        d->avance_taux_max = -1;
        break;
    default:
        d->avance_taux_max_garantie = 2999; /* below the rate without guarantee */
    }
}

Test(parametres, delays)
{
    static const char *const member[] = {"rejet_implicite_mois",
                                         "caducite_annees",
                                         "caducite_prolongation_annees",
                                         "forclusion_annees",
                                         "forclusion_prolongation_annees",
                                         "seuil_commission_detr_centimes",
                                         "avance_taux_max",
                                         "avance_taux_max_garantie"};
    char pointer[64];

    for (int i = 0; i < 8; i++) {
        struct parametres p = defaut();
        break_delai(&p.delais, i);
        snprintf(pointer, sizeof pointer, "/delais/%s", member[i]);
        expect_one(&p, "parametre-delai-invalide", pointer);
    }
}

Test(parametres, filing_deadlines)
{
    struct parametres p = defaut();
    const struct parametres_date_limite ok = {
        SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER, 2025, "", {2025, 4, 25}};

    p.dates_limites[0] = ok;
    p.dates_limites[1] = ok;
    p.dates_limites_count = 2;
    expect_one(&p, "parametre-date-limite-repetee", "/dates_limites_depot/1");
    strcpy(p.dates_limites[1].code_departement, "2A");
    struct rule_report r = report();
    cr_assert_eq(parametres_check(&p, &r), 0);
    strcpy(p.dates_limites[1].code_departement, "2C");
    expect_one(&p, "parametre-departement-invalide", "/dates_limites_depot/1/code_departement");
    strcpy(p.dates_limites[1].code_departement, "974");
    p.dates_limites[1].date_limite = (struct date){2025, 4, 31};
    expect_one(&p, "parametre-date-invalide", "/dates_limites_depot/1/date_limite");
    p.dates_limites[1] = ok;
    p.dates_limites[1].annee = 1899;
    expect_one(&p, "parametre-annee-invalide", "/dates_limites_depot/1/annee");
    p.dates_limites[1] = ok;
    p.dates_limites[1].dispositif = SUBVENTION_DISPOSITIF__COUNT;
    expect_one(&p, "parametre-dispositif-invalide", "/dates_limites_depot/1/dispositif");
    p.dates_limites_count = PARAMETRES_DATES_LIMITES_MAX + 1;
    expect_one(&p, "parametres-dates-limites-trop-nombreuses", "/dates_limites_depot");
}
