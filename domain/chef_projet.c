/* Poste de chef de projet and its yearly funding: R11–R20. See
 * chef_projet.h. */
#include "chef_projet.h"

#include <stdio.h>
#include <string.h>

#include "financement.h"
#include "names.h"

static const char *const CONTRAT_NAMES[CDP_TYPE_CONTRAT__COUNT] = {"titulaire", "contrat_de_projet",
                                                                   "cdd", "autre"};

DOMAIN_NAME_FUNCS(cdp_type_contrat_name, cdp_type_contrat_parse, enum cdp_type_contrat,
                  CONTRAT_NAMES)

/* Regle of each financer's own caps. */
static const char *const FINANCEUR_REGLE[CDP_FINANCEUR__COUNT] = {"R16", "R15", "R14"};
/* Codes per financer: taux, plafond. */
static const char *const CODE_TAUX[CDP_FINANCEUR__COUNT] = {
    "part-anct_etat-taux-depasse", "part-bdt-taux-depasse", "part-anah-taux-depasse"};
static const char *const CODE_PLAFOND[CDP_FINANCEUR__COUNT] = {
    "part-anct_etat-plafond-depasse", "part-bdt-plafond-depasse", "part-anah-plafond-depasse"};
static const char *const FINANCEUR_LIBELLE[CDP_FINANCEUR__COUNT] = {
    "l'ANCT / État", "la Banque des Territoires", "l'Anah"};

__extension__ typedef unsigned __int128 u128;

static bool montant_ok(int64_t v)
{
    return v >= 0 && v <= FINANCEMENT_MONTANT_MAX;
}

/* A rate in ten-thousandths as French percent, as an expression: "75,00 %". */
struct texte {
    char s[48];
};
static struct texte pct(int64_t dix_millemes)
{
    struct texte t;
    snprintf(t.s, sizeof t.s, "%lld,%02lld %%", (long long)(dix_millemes / 100),
             (long long)(dix_millemes % 100));
    return t;
}

static const char *ptr(char buf[96], const char *base, const char *member)
{
    snprintf(buf, 96, "%s%s", base ? base : "", member);
    return buf;
}

/* ---- The post ------------------------------------------------------------ */

size_t chef_projet_poste_check(const struct chef_projet_poste *p, struct rule_report *r)
{
    size_t n = 0;

    if (!p)
        return 0;
    if (p->employeur_kind != ORGANISATION_COMMUNE && p->employeur_kind != ORGANISATION_EPCI &&
        p->employeur_kind != ORGANISATION_PETR)
        n += rule_report_add(r, "", "employeur-invalide", "/employeur_id",
                             "L'employeur du chef de projet est une commune, un EPCI ou un PETR.");
    if (p->territoire_count == 0)
        n += rule_report_add(r, "", "territoires-manquants", "/territoires",
                             "Le poste sert au moins un territoire.");
    if (p->quotite <= 0 || p->quotite > PARAMETRES_TAUX_UN)
        n += rule_report_add(r, "", "quotite-invalide", "/quotite",
                             "La quotité est comprise entre 0 (exclu) et 1.");
    if (!date_is_valid(p->date_recrutement))
        n += rule_report_add(r, "", "date-invalide", "/date_recrutement",
                             "Cette date n'est pas une date du calendrier.");
    if (p->has_date_fin_contrat && !date_is_valid(p->date_fin_contrat))
        n += rule_report_add(r, "", "date-invalide", "/date_fin_contrat",
                             "Cette date n'est pas une date du calendrier.");
    else if (p->has_date_fin_contrat && date_is_valid(p->date_recrutement) &&
             date_compare(p->date_fin_contrat, p->date_recrutement) < 0)
        n += rule_report_add(r, "", "dates-contrat-incoherentes", "/date_fin_contrat",
                             "La fin du contrat précède le recrutement.");
    if (p->has_type_contrat && (unsigned)p->type_contrat >= CDP_TYPE_CONTRAT__COUNT)
        n += rule_report_add(r, "", "type-contrat-invalide", "/type_contrat",
                             "Type de contrat inconnu.");
    return n;
}

int chef_projet_mois(const struct chef_projet_poste *p, int annee)
{
    if (!p || !date_is_valid(p->date_recrutement) ||
        (p->has_date_fin_contrat && !date_is_valid(p->date_fin_contrat)))
        return 0;
    /* Months as year × 12 + month − 1; the held span, clipped to the year. */
    int first = annee * 12, last = annee * 12 + 11;
    int debut = p->date_recrutement.year * 12 + p->date_recrutement.month - 1;
    int fin = p->has_date_fin_contrat
                  ? p->date_fin_contrat.year * 12 + p->date_fin_contrat.month - 1
                  : last;
    if (debut < first)
        debut = first;
    if (fin > last)
        fin = last;
    return fin >= debut ? fin - debut + 1 : 0;
}

/* ---- Caps ---------------------------------------------------------------- */

int64_t chef_projet_prorata(int64_t plafond, int64_t quotite, int mois)
{
    if (!montant_ok(plafond) || quotite < 0 || quotite > PARAMETRES_TAUX_UN || mois < 0 ||
        mois > 12)
        return -1;
    return (int64_t)((u128)(uint64_t)plafond * (uint64_t)quotite * (unsigned)mois /
                     ((u128)PARAMETRES_TAUX_UN * 12));
}

/* floor(taux × montant / 10 000); both in range. */
static int64_t part_taux(int64_t taux, int64_t montant)
{
    return (int64_t)((u128)(uint64_t)montant * (uint64_t)taux / (u128)PARAMETRES_TAUX_UN);
}

static bool taux_ok(int64_t t)
{
    return t >= 0 && t <= PARAMETRES_TAUX_UN;
}

bool chef_projet_plafonds(const struct parametres_cdp *c, const struct chef_projet_poste *poste,
                          const struct chef_projet_financement *row,
                          struct chef_projet_plafonds *out)
{
    struct chef_projet_plafonds p = {0};

    if (!c || !poste || !row || !montant_ok(row->cout_charge_annuel) || !taux_ok(c->taux_max))
        return false;
    p.mois = chef_projet_mois(poste, row->annee);
    p.avec_anah = row->avec_anah && row->parts[CDP_FINANCEUR_ANAH] > 0;
    p.total_taux = part_taux(c->taux_max, row->cout_charge_annuel);
    p.total_annuel = chef_projet_prorata(
        p.avec_anah ? c->plafond_annuel_avec_anah : c->plafond_annuel, poste->quotite, p.mois);
    if (p.total_annuel < 0)
        return false;
    p.total = p.total_taux < p.total_annuel ? p.total_taux : p.total_annuel;
    for (int f = 0; f < CDP_FINANCEUR__COUNT; f++) {
        if (!taux_ok(c->financeurs[f].taux_max))
            return false;
        p.financeur_taux[f] = part_taux(c->financeurs[f].taux_max, row->cout_charge_annuel);
        p.financeur_annuel[f] =
            chef_projet_prorata(c->financeurs[f].plafond_annuel, poste->quotite, p.mois);
        if (p.financeur_annuel[f] < 0)
            return false;
        p.financeur[f] = p.financeur_taux[f] < p.financeur_annuel[f] ? p.financeur_taux[f]
                                                                     : p.financeur_annuel[f];
    }
    if (out)
        *out = p;
    return true;
}

/* ---- The year's checks -------------------------------------------------- */

static const char *part_member(enum cdp_financeur f)
{
    static const char *const M[CDP_FINANCEUR__COUNT] = {
        "/part_anct_etat_centimes", "/part_bdt_centimes", "/part_anah_centimes"};
    return M[f];
}

static size_t check_annee(const struct chef_projet_financement_input *in, const char *base,
                          struct rule_report *r)
{
    const struct chef_projet_financement *row = &in->financement;
    const struct parametres *p = in->parametres;
    char b[96];
    size_t n = 0;

    if (row->annee > p->fin_cofinancement_cdp.year) {
        char fin[11];
        date_format(p->fin_cofinancement_cdp, fin);
        n += rule_report_add(r, "R20", "annee-apres-fin-cofinancement", ptr(b, base, "/annee"),
                             "Le cofinancement des chefs de projet prend fin le %s : pas "
                             "d'année %d.",
                             fin, row->annee);
    } else if (row->annee < p->date_lancement.year)
        n += rule_report_add(r, "R41", "annee-avant-programme", ptr(b, base, "/annee"),
                             "Le programme a été lancé en %d : pas d'année %d.",
                             p->date_lancement.year, row->annee);
    if (chef_projet_mois(in->poste, row->annee) == 0)
        n += rule_report_add(r, "R19", "annee-hors-poste", ptr(b, base, "/annee"),
                             "Le poste n'est occupé aucun jour de l'année civile %d.", row->annee);
    for (size_t i = 0; in->autres_demandes && i < in->autres_demandes_count; i++)
        if (!demande_etat_terminal(in->autres_demandes[i])) {
            n += rule_report_add(r, "R18", "demande-annee-deja-en-cours", ptr(b, base, "/annee"),
                                 "Une demande de subvention (%s) est déjà en cours pour ce poste "
                                 "et l'année %d : une seule demande couvre tous les financeurs.",
                                 demande_etat_name(in->autres_demandes[i]), row->annee);
            break;
        }
    return n;
}

static size_t check_cap(int64_t montant, int64_t cap, const char *regle, const char *code,
                        const char *pointer, const char *quoi, const char *base_cap,
                        struct rule_report *r)
{
    if (montant <= cap)
        return 0;
    return rule_report_add(r, regle, code, pointer, "%s (%s) dépasse de %s le plafond de %s (%s).",
                           quoi, financement_euros(montant).s, financement_euros(montant - cap).s,
                           financement_euros(cap).s, base_cap);
}

static size_t check_caps(const struct chef_projet_financement_input *in,
                         const struct parametres_cdp *c, const struct chef_projet_plafonds *p,
                         int64_t total, const char *base, struct rule_report *r)
{
    const struct chef_projet_financement *row = &in->financement;
    char b[96], quoi[96], why[200];
    size_t n = 0;

    snprintf(why, sizeof why, "%s du coût chargé annuel de %s", pct(c->taux_max).s,
             financement_euros(row->cout_charge_annuel).s);
    n += check_cap(total, p->total_taux, "R12", "cofinancement-taux-depasse",
                   ptr(b, base, "/total_cofinancement_centimes"), "Le cofinancement total", why, r);
    snprintf(why, sizeof why, "%s par an %s l'Anah, pour %d mois à une quotité de %s",
             financement_euros(p->avec_anah ? c->plafond_annuel_avec_anah : c->plafond_annuel).s,
             p->avec_anah ? "avec" : "sans", p->mois, pct(in->poste->quotite).s);
    n += check_cap(total, p->total_annuel, "R13", "cofinancement-plafond-depasse",
                   ptr(b, base, "/total_cofinancement_centimes"), "Le cofinancement total", why, r);
    for (int f = 0; f < CDP_FINANCEUR__COUNT; f++) {
        snprintf(quoi, sizeof quoi, "La part de %s", FINANCEUR_LIBELLE[f]);
        snprintf(why, sizeof why, "%s du coût chargé annuel de %s",
                 pct(c->financeurs[f].taux_max).s, financement_euros(row->cout_charge_annuel).s);
        n += check_cap(row->parts[f], p->financeur_taux[f], FINANCEUR_REGLE[f], CODE_TAUX[f],
                       ptr(b, base, part_member((enum cdp_financeur)f)), quoi, why, r);
        snprintf(why, sizeof why, "%s par an, pour %d mois à une quotité de %s",
                 financement_euros(c->financeurs[f].plafond_annuel).s, p->mois,
                 pct(in->poste->quotite).s);
        n += check_cap(row->parts[f], p->financeur_annuel[f], FINANCEUR_REGLE[f], CODE_PLAFOND[f],
                       ptr(b, base, part_member((enum cdp_financeur)f)), quoi, why, r);
    }
    return n;
}

size_t chef_projet_financement_check(const struct chef_projet_financement_input *in,
                                     struct chef_projet_plafonds *plafonds, struct rule_report *r)
{
    struct chef_projet_plafonds p = {0};
    const char *base;
    char b[96];
    size_t n = 0;
    int64_t total = 0;
    bool montants = true;

    if (plafonds)
        *plafonds = p;
    if (!in || !in->poste || !in->parametres)
        return rule_report_add(r, "R16", "parametres-annee-absents", "/annee",
                               "Aucun paramètre du programme pour cette année.");
    base = in->pointeur_base;
    const struct chef_projet_financement *row = &in->financement;
    if (!in->adhesion_signee)
        n += rule_report_add(r, "R11", "convention-adhesion-non-signee", "/employeur_id",
                             "Le poste est recevable quand l'employeur appartient à un territoire "
                             "dont la convention d'adhésion est signée.");
    n += check_annee(in, base, r);
    if (row->avec_anah && !in->etude_pre_operationnelle_anah && !in->opah_ru)
        n += rule_report_add(r, "R17", "anah-sans-etude-ni-opah-ru", ptr(b, base, "/avec_anah"),
                             "L'Anah ne cofinance le poste que si la collectivité engage une "
                             "étude pré-opérationnelle Anah ou une OPAH-RU.");
    if (!row->avec_anah && row->parts[CDP_FINANCEUR_ANAH] > 0)
        n += rule_report_add(r, "R14", "part-anah-sans-anah", ptr(b, base, "/part_anah_centimes"),
                             "Une part de l'Anah suppose un financement avec l'Anah (avec_anah).");
    if (!montant_ok(row->cout_charge_annuel)) {
        n +=
            rule_report_add(r, "", "montant-invalide", ptr(b, base, "/cout_charge_annuel_centimes"),
                            "Un montant positif ou nul, en centimes.");
        montants = false;
    }
    for (int f = 0; f < CDP_FINANCEUR__COUNT; f++) {
        if (montant_ok(row->parts[f])) {
            total += row->parts[f]; /* ≤ 3 × 10^15: no overflow */
            continue;
        }
        n += rule_report_add(r, "", "montant-invalide",
                             ptr(b, base, part_member((enum cdp_financeur)f)),
                             "Un montant positif ou nul, en centimes.");
        montants = false;
    }
    const struct parametres_cdp *c = parametres_cdp_pour_annee(in->parametres, row->annee);
    if (!c)
        return n + rule_report_add(r, "R16", "parametres-annee-absents", ptr(b, base, "/annee"),
                                   "Aucun plafond du cofinancement n'est en vigueur pour l'année "
                                   "%d.",
                                   row->annee);
    if (!montants || !chef_projet_plafonds(c, in->poste, row, &p))
        return n;
    if (plafonds)
        *plafonds = p;
    return n + check_caps(in, c, &p, total, base, r);
}

/* ---- R16: who records ---------------------------------------------------- */

bool chef_projet_part_enregistrable(enum cdp_financeur part, enum role role, bool demande_deposee,
                                    bool has_financeur, enum cdp_financeur financeur_appelant)
{
    if ((unsigned)part >= CDP_FINANCEUR__COUNT)
        return false;
    switch (role) {
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_COLLECTIVITE_ELU:
        return !demande_deposee;
    case ROLE_PREFECTURE_INSTRUCTEUR:
        return part == CDP_FINANCEUR_ANCT_ETAT;
    case ROLE_FINANCEUR:
        return has_financeur && financeur_appelant == part;
    default:
        return false;
    }
}

size_t chef_projet_r16_check(const bool modifiees[CDP_FINANCEUR__COUNT], enum role role,
                             bool demande_deposee, bool has_financeur,
                             enum cdp_financeur financeur_appelant, const char *base,
                             struct rule_report *r)
{
    size_t n = 0;
    char b[96];

    for (int f = 0; modifiees && f < CDP_FINANCEUR__COUNT; f++) {
        if (!modifiees[f] ||
            chef_projet_part_enregistrable((enum cdp_financeur)f, role, demande_deposee,
                                           has_financeur, financeur_appelant))
            continue;
        const char *rn = role_name(role);
        n += rule_report_add(r, "R16", "part-financeur-interdite",
                             ptr(b, base, part_member((enum cdp_financeur)f)),
                             "Le rôle %s n'enregistre pas la part de %s.", rn ? rn : "inconnu",
                             FINANCEUR_LIBELLE[f]);
    }
    return n;
}

/* ---- R19: payment schedule ------------------------------------------------ */

size_t chef_projet_echeancier(const struct parametres_cdp *c, int annee, bool avec_anah,
                              int64_t subvention, struct chef_projet_versement_prevu *out,
                              size_t cap)
{
    struct chef_projet_versement_prevu v[2];

    if (!c || !montant_ok(subvention) || !taux_ok(c->taux_premier_versement) || annee < 1900 ||
        annee > 2998)
        return 0;
    if (!avec_anah) {
        int64_t premier = part_taux(c->taux_premier_versement, subvention);
        v[0] = (struct chef_projet_versement_prevu){VERSEMENT_ACOMPTE, true, premier,       false,
                                                    {annee, 4, 1},     true, {annee, 6, 30}};
        v[1] =
            (struct chef_projet_versement_prevu){VERSEMENT_SOLDE, true, subvention - premier, false,
                                                 {annee, 10, 1},  true, {annee, 12, 31}};
    } else {
        v[0] = (struct chef_projet_versement_prevu){VERSEMENT_ACOMPTE, false, subvention,     true,
                                                    {annee, 1, 1},     true,  {annee, 12, 31}};
        v[1] = (struct chef_projet_versement_prevu){VERSEMENT_SOLDE,   false, subvention, true,
                                                    {annee + 1, 1, 1}, false, {0, 0, 0}};
    }
    for (size_t i = 0; out && i < 2 && i < cap; i++)
        out[i] = v[i];
    return 2;
}
