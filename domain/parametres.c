/* Programme parameters: names, defaults, look-ups and validity. See
 * parametres.h. */
#include "parametres.h"

#include <stdio.h>
#include <string.h>

#include "financement.h"
#include "names.h"

#define COUNT(a) DOMAIN_NAMES_COUNT(a)

static const char *const DISPOSITIF_NAMES[SUBVENTION_DISPOSITIF__COUNT] = {
    "chef_de_projet_pvd", "DETR", "DSIL", "fonds_vert_recyclage_foncier", "FNADT", "autre"};
static const char *const FINANCEUR_NAMES[CDP_FINANCEUR__COUNT] = {"anct_etat", "bdt", "anah"};

DOMAIN_NAME_FUNCS(subvention_dispositif_name, subvention_dispositif_parse,
                  enum subvention_dispositif, DISPOSITIF_NAMES)
DOMAIN_NAME_FUNCS(cdp_financeur_name, cdp_financeur_parse, enum cdp_financeur, FINANCEUR_NAMES)

#define EUROS(x) ((int64_t)(x)*100)

void parametres_defaut(struct parametres *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->date_lancement = (struct date){2020, 10, 1};
    p->date_fin = (struct date){2026, 3, 31};
    p->fin_cofinancement_cdp = (struct date){2026, 12, 31};
    p->chef_projet[0] = (struct parametres_cdp){
        .annee_debut = 2020,
        .taux_max = 7500,
        .taux_premier_versement = 7500,
        .plafond_annuel = EUROS(45000),
        .plafond_annuel_avec_anah = EUROS(55000),
        .financeurs =
            {
                [CDP_FINANCEUR_ANCT_ETAT] = {7500, EUROS(55000)},
                [CDP_FINANCEUR_BDT] = {2500, EUROS(15000)},
                [CDP_FINANCEUR_ANAH] = {5000, EUROS(40000)},
            },
    };
    p->chef_projet_count = 1;
    p->delais = (struct parametres_delais){
        .rejet_implicite_mois = 8,
        .caducite_annees = 2,
        .caducite_prolongation_annees = 1,
        .forclusion_annees = 4,
        .forclusion_prolongation_annees = 2,
        .seuil_commission_detr = EUROS(100000),
        .avance_taux_max = 3000,
        .avance_taux_max_garantie = 6000,
    };
}

const struct parametres_cdp *parametres_cdp_pour_annee(const struct parametres *p, int annee)
{
    const struct parametres_cdp *found = NULL;

    if (!p)
        return NULL;
    for (size_t i = 0; i < p->chef_projet_count && i < PARAMETRES_CDP_MAX; i++)
        if (p->chef_projet[i].annee_debut <= annee)
            found = &p->chef_projet[i];
    return found;
}

const struct parametres_date_limite *parametres_date_limite(const struct parametres *p,
                                                            enum subvention_dispositif d, int annee,
                                                            const char *code)
{
    const struct parametres_date_limite *national = NULL;

    if (!p)
        return NULL;
    if (!code)
        code = "";
    for (size_t i = 0; i < p->dates_limites_count && i < PARAMETRES_DATES_LIMITES_MAX; i++) {
        const struct parametres_date_limite *l = &p->dates_limites[i];
        if (l->dispositif != d || l->annee != annee)
            continue;
        if (*code && strncmp(l->code_departement, code, sizeof l->code_departement) == 0)
            return l;
        if (l->code_departement[0] == '\0' && !national)
            national = l;
    }
    return national;
}

/* ---- Validity ----------------------------------------------------------- */

static bool taux_ok(int64_t t)
{
    return t >= 0 && t <= PARAMETRES_TAUX_UN;
}

static bool montant_ok(int64_t v)
{
    return v >= 0 && v <= FINANCEMENT_MONTANT_MAX;
}

static size_t check_taux(int64_t t, const char *ptr, struct rule_report *r)
{
    if (taux_ok(t))
        return 0;
    return rule_report_add(r, "R16", "parametre-taux-invalide", ptr,
                           "Un taux plafond est compris entre 0 et 100 %%.");
}

static size_t check_montant(int64_t v, const char *ptr, struct rule_report *r)
{
    if (montant_ok(v))
        return 0;
    return rule_report_add(r, "R16", "parametre-montant-invalide", ptr,
                           "Un plafond est un montant positif ou nul, en centimes.");
}

static size_t check_programme(const struct parametres *p, struct rule_report *r)
{
    static const char *const PTR[] = {"/programme/date_lancement", "/programme/date_fin",
                                      "/programme/fin_cofinancement_cdp"};
    const struct date d[] = {p->date_lancement, p->date_fin, p->fin_cofinancement_cdp};
    size_t n = 0;

    for (size_t i = 0; i < COUNT(PTR); i++)
        if (!date_is_valid(d[i]))
            n += rule_report_add(r, "R41", "parametre-date-invalide", PTR[i],
                                 "Cette date n'est pas une date du calendrier.");
    if (n)
        return n;
    for (size_t i = 1; i < COUNT(PTR); i++)
        if (date_compare(d[i], p->date_lancement) < 0)
            n += rule_report_add(r, "R41", "parametre-dates-incoherentes", PTR[i],
                                 "Cette date précède le lancement du programme.");
    return n;
}

static size_t check_cdp(const struct parametres *p, struct rule_report *r)
{
    size_t n = 0;
    char ptr[96];

    if (p->chef_projet_count == 0 || p->chef_projet_count > PARAMETRES_CDP_MAX)
        return rule_report_add(r, "R16", "parametres-chef-projet-vides", "/chef_projet",
                               "Les plafonds du cofinancement des chefs de projet comptent de 1 "
                               "à %d périodes.",
                               PARAMETRES_CDP_MAX);
    for (size_t i = 0; i < p->chef_projet_count; i++) {
        const struct parametres_cdp *c = &p->chef_projet[i];
        if (c->annee_debut < 1900 || c->annee_debut > 2999 ||
            (i > 0 && c->annee_debut <= p->chef_projet[i - 1].annee_debut)) {
            snprintf(ptr, sizeof ptr, "/chef_projet/%zu/annee_debut", i);
            n += rule_report_add(r, "R16", "parametre-annee-invalide", ptr,
                                 "Les périodes de plafonds commencent en des années "
                                 "croissantes.");
        }
        snprintf(ptr, sizeof ptr, "/chef_projet/%zu/taux_max", i);
        n += check_taux(c->taux_max, ptr, r);
        snprintf(ptr, sizeof ptr, "/chef_projet/%zu/taux_premier_versement", i);
        n += check_taux(c->taux_premier_versement, ptr, r);
        snprintf(ptr, sizeof ptr, "/chef_projet/%zu/plafond_annuel_centimes", i);
        n += check_montant(c->plafond_annuel, ptr, r);
        snprintf(ptr, sizeof ptr, "/chef_projet/%zu/plafond_annuel_avec_anah_centimes", i);
        n += check_montant(c->plafond_annuel_avec_anah, ptr, r);
        for (int f = 0; f < CDP_FINANCEUR__COUNT; f++) {
            const char *name = FINANCEUR_NAMES[f];
            snprintf(ptr, sizeof ptr, "/chef_projet/%zu/financeurs/%s/taux_max", i, name);
            n += check_taux(c->financeurs[f].taux_max, ptr, r);
            snprintf(ptr, sizeof ptr, "/chef_projet/%zu/financeurs/%s/plafond_annuel_centimes", i,
                     name);
            n += check_montant(c->financeurs[f].plafond_annuel, ptr, r);
        }
    }
    return n;
}

static size_t delai_bad(const char *member, struct rule_report *r)
{
    char ptr[96];

    snprintf(ptr, sizeof ptr, "/delais/%s", member);
    return rule_report_add(r, "", "parametre-delai-invalide", ptr,
                           "Ce délai ou ce seuil est hors des valeurs admises.");
}

static size_t check_delais(const struct parametres_delais *d, struct rule_report *r)
{
    size_t n = 0;

    if (d->rejet_implicite_mois < 1 || d->rejet_implicite_mois > 120)
        n += delai_bad("rejet_implicite_mois", r);
    if (d->caducite_annees < 1 || d->caducite_annees > 20)
        n += delai_bad("caducite_annees", r);
    if (d->caducite_prolongation_annees < 0 || d->caducite_prolongation_annees > 20)
        n += delai_bad("caducite_prolongation_annees", r);
    if (d->forclusion_annees < 1 || d->forclusion_annees > 20)
        n += delai_bad("forclusion_annees", r);
    if (d->forclusion_prolongation_annees < 0 || d->forclusion_prolongation_annees > 20)
        n += delai_bad("forclusion_prolongation_annees", r);
    if (!montant_ok(d->seuil_commission_detr))
        n += delai_bad("seuil_commission_detr_centimes", r);
    if (!taux_ok(d->avance_taux_max))
        n += delai_bad("avance_taux_max", r);
    if (!taux_ok(d->avance_taux_max_garantie) || d->avance_taux_max_garantie < d->avance_taux_max)
        n += delai_bad("avance_taux_max_garantie", r);
    return n;
}

static bool departement_ok(const char code[4])
{
    size_t len = strnlen(code, 4);

    if (len == 0)
        return true;
    if (len < 2 || len > 3)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((code[i] >= '0' && code[i] <= '9') || code[i] == 'A' || code[i] == 'B'))
            return false;
    return true;
}

static size_t check_dates_limites(const struct parametres *p, struct rule_report *r)
{
    size_t n = 0;
    char ptr[96];

    if (p->dates_limites_count > PARAMETRES_DATES_LIMITES_MAX)
        return rule_report_add(r, "", "parametres-dates-limites-trop-nombreuses",
                               "/dates_limites_depot", "Au plus %d dates limites de dépôt.",
                               PARAMETRES_DATES_LIMITES_MAX);
    for (size_t i = 0; i < p->dates_limites_count; i++) {
        const struct parametres_date_limite *l = &p->dates_limites[i];
        bool cle_ok = true;
        if ((unsigned)l->dispositif >= SUBVENTION_DISPOSITIF__COUNT) {
            snprintf(ptr, sizeof ptr, "/dates_limites_depot/%zu/dispositif", i);
            n += rule_report_add(r, "", "parametre-dispositif-invalide", ptr,
                                 "Ce dispositif n'existe pas.");
            cle_ok = false;
        }
        if (l->annee < 1900 || l->annee > 2999) {
            snprintf(ptr, sizeof ptr, "/dates_limites_depot/%zu/annee", i);
            n += rule_report_add(r, "", "parametre-annee-invalide", ptr,
                                 "L'année de programmation est comprise entre 1900 et 2999.");
            cle_ok = false;
        }
        if (!departement_ok(l->code_departement)) {
            snprintf(ptr, sizeof ptr, "/dates_limites_depot/%zu/code_departement", i);
            n += rule_report_add(r, "", "parametre-departement-invalide", ptr,
                                 "Un code de département a 2 ou 3 caractères (69, 2A, 974), "
                                 "ou est vide pour tous les départements.");
            cle_ok = false;
        }
        if (!date_is_valid(l->date_limite)) {
            snprintf(ptr, sizeof ptr, "/dates_limites_depot/%zu/date_limite", i);
            n += rule_report_add(r, "", "parametre-date-invalide", ptr,
                                 "Cette date n'est pas une date du calendrier.");
        }
        for (size_t j = 0; cle_ok && j < i; j++) {
            const struct parametres_date_limite *o = &p->dates_limites[j];
            if (o->dispositif == l->dispositif && o->annee == l->annee &&
                strncmp(o->code_departement, l->code_departement, 4) == 0) {
                snprintf(ptr, sizeof ptr, "/dates_limites_depot/%zu", i);
                n += rule_report_add(r, "", "parametre-date-limite-repetee", ptr,
                                     "Ce dispositif a déjà une date limite pour cette année et "
                                     "ce département (ligne %zu).",
                                     j);
                break;
            }
        }
    }
    return n;
}

size_t parametres_check(const struct parametres *p, struct rule_report *violations)
{
    if (!p)
        return rule_report_add(violations, "R16", "parametres-chef-projet-vides", "/chef_projet",
                               "Aucun paramètre du programme.");
    return check_programme(p, violations) + check_cdp(p, violations) +
           check_delais(&p->delais, violations) + check_dates_limites(p, violations);
}
