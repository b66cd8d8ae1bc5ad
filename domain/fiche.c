/* Fiches action: state machine (§2.3), maturité, rules R21–R26, R28. See
 * fiche.h. */
#include "fiche.h"

#include "financement.h"
#include "names.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Names ------------------------------------------------------------- */

static const char *const ETAT_NAMES[FICHE_ETAT__COUNT] = {
    "brouillon", "en_maturation", "programmee", "en_cours", "suspendue", "realisee", "abandonnee"};
static const char *const MATURITE_NAMES[FICHE_MATURITE__COUNT] = {"en_maturation", "prete"};

DOMAIN_NAME_FUNCS(fiche_etat_name, fiche_etat_parse, enum fiche_etat, ETAT_NAMES)

const char *const fiche_thematiques[FICHE_THEMATIQUE_COUNT + 1] = {"habitat",
                                                                   "commerce",
                                                                   "espaces_publics",
                                                                   "mobilite",
                                                                   "patrimoine_culture",
                                                                   "services_equipements",
                                                                   "transition_ecologique",
                                                                   "numerique",
                                                                   "developpement_economique",
                                                                   "friches_foncier",
                                                                   NULL};
const char *const fiche_natures_depense[] = {"etude",          "ingenierie",  "investissement",
                                             "fonctionnement", "acquisition", NULL};

static bool name_in(const char *const *names, const char *name)
{
    for (size_t i = 0; name && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

bool fiche_thematique_is_valid(const char *name)
{
    return name_in(fiche_thematiques, name);
}

bool fiche_nature_depense_is_valid(const char *name)
{
    return name_in(fiche_natures_depense, name);
}

const char *fiche_maturite_name(enum fiche_maturite m)
{
    return (unsigned)m < COUNT(MATURITE_NAMES) ? MATURITE_NAMES[m] : NULL;
}

enum fiche_maturite fiche_maturite_of(enum fiche_etat etat)
{
    if ((unsigned)etat >= FICHE_ETAT__COUNT || etat == FICHE_BROUILLON ||
        etat == FICHE_EN_MATURATION)
        return FICHE_MATURITE_EN_MATURATION;
    return FICHE_MATURITE_PRETE;
}

/* ---- State machine ----------------------------------------------------- */

enum who { W_AGENT = 1, W_ELU = 2 };

struct edge {
    enum fiche_etat from, to;
    unsigned who;
};

/* §2.3; who per §5 (see fiche_transition_allowed). */
static const struct edge EDGES[] = {
    {FICHE_BROUILLON, FICHE_EN_MATURATION, W_ELU},
    {FICHE_EN_MATURATION, FICHE_PROGRAMMEE, W_AGENT | W_ELU},
    {FICHE_PROGRAMMEE, FICHE_EN_COURS, W_AGENT | W_ELU},
    {FICHE_EN_COURS, FICHE_REALISEE, W_AGENT | W_ELU},
    {FICHE_EN_COURS, FICHE_SUSPENDUE, W_AGENT | W_ELU},
    {FICHE_SUSPENDUE, FICHE_EN_COURS, W_AGENT | W_ELU},
    {FICHE_BROUILLON, FICHE_ABANDONNEE, W_ELU},
    {FICHE_EN_MATURATION, FICHE_ABANDONNEE, W_ELU},
    {FICHE_PROGRAMMEE, FICHE_ABANDONNEE, W_ELU},
};

static const struct edge *find_edge(enum fiche_etat from, enum fiche_etat to)
{
    for (size_t i = 0; i < COUNT(EDGES); i++)
        if (EDGES[i].from == from && EDGES[i].to == to)
            return &EDGES[i];
    return NULL;
}

bool fiche_transition_exists(enum fiche_etat from, enum fiche_etat to)
{
    return find_edge(from, to) != NULL;
}

static unsigned who_of(enum role role)
{
    switch (role) {
    case ROLE_COLLECTIVITE_AGENT:
        return W_AGENT;
    case ROLE_COLLECTIVITE_ELU:
        return W_ELU;
    default:
        return 0;
    }
}

bool fiche_transition_allowed(enum fiche_etat from, enum fiche_etat to, enum role role_of_caller)
{
    const struct edge *e = find_edge(from, to);

    return e && (e->who & who_of(role_of_caller)) != 0;
}

size_t fiche_transitions_possibles(enum fiche_etat from, enum role role_of_caller,
                                   enum fiche_etat *out, size_t cap)
{
    size_t n = 0;

    for (int to = 0; to < FICHE_ETAT__COUNT; to++) {
        if (!fiche_transition_allowed(from, (enum fiche_etat)to, role_of_caller))
            continue;
        if (out && n < cap)
            out[n] = (enum fiche_etat)to;
        n++;
    }
    return n;
}

/* ---- Helpers ----------------------------------------------------------- */

static bool in_list(const char *code, const char *const *list, size_t count)
{
    if (!code || !list)
        return false;
    for (size_t i = 0; i < count; i++)
        if (list[i] && strcmp(list[i], code) == 0)
            return true;
    return false;
}

/* ---- §1.9 checks without R-number --------------------------------------- */

size_t fiche_numero_check(const char *numero, bool deja_utilise, struct rule_report *violations)
{
    if (text_is_blank(numero))
        return rule_report_add(violations, "", "numero-manquant", FICHE_PTR_NUMERO,
                               "La fiche action porte un numéro dans le plan d'action.");
    if (deja_utilise)
        return rule_report_add(violations, "", "numero-deja-utilise", FICHE_PTR_NUMERO,
                               "Le numéro %.40s est déjà celui d'une autre fiche de ce plan "
                               "d'action.",
                               numero);
    return 0;
}

size_t fiche_couts_check(const struct fiche_couts *c, struct rule_report *violations)
{
    size_t n = 0;

    if (!c)
        return 0;
    if (c->cout_total_ht < 0)
        n += rule_report_add(violations, "", "cout-negatif", FICHE_PTR_COUT_HT,
                             "Le coût total HT ne peut être négatif.");
    if (!c->has_cout_total_ttc)
        return n;
    if (c->cout_total_ttc < 0)
        n += rule_report_add(violations, "", "cout-negatif", FICHE_PTR_COUT_TTC,
                             "Le coût total TTC ne peut être négatif.");
    else if (c->cout_total_ht >= 0 && c->cout_total_ttc < c->cout_total_ht) {
        char ht[48], ttc[48];
        financement_euros_format(c->cout_total_ht, ht, sizeof ht);
        financement_euros_format(c->cout_total_ttc, ttc, sizeof ttc);
        n +=
            rule_report_add(violations, "", "cout-ttc-inferieur-ht", FICHE_PTR_COUT_TTC,
                            "Le coût total TTC (%s) est inférieur au coût total HT (%s).", ttc, ht);
    }
    return n;
}

/* ---- R21 --------------------------------------------------------------- */

size_t fiche_r21_check(const char *fiche_id_pvd, const char *axe_id_pvd,
                       struct rule_report *violations)
{
    if (!axe_id_pvd)
        return rule_report_add(violations, "R21", "axe-inconnu", FICHE_PTR_AXE,
                               "L'axe stratégique indiqué n'existe pas.");
    if (!fiche_id_pvd || strcmp(fiche_id_pvd, axe_id_pvd) != 0)
        return rule_report_add(violations, "R21", "axe-autre-territoire", FICHE_PTR_AXE,
                               "L'axe stratégique appartient au territoire %.16s, pas à celui "
                               "du plan d'action de la fiche (%.16s).",
                               axe_id_pvd, fiche_id_pvd ? fiche_id_pvd : "inconnu");
    return 0;
}

/* ---- R22 --------------------------------------------------------------- */

size_t fiche_r22_check(const char *commune_insee, const char *const *communes_territoire,
                       size_t communes_territoire_count, const char *const *communes_epci,
                       size_t communes_epci_count, bool intercommunale,
                       struct rule_report *violations)
{
    const char *c = commune_insee ? commune_insee : "";

    if (in_list(commune_insee, communes_territoire, communes_territoire_count))
        return 0;
    if (in_list(commune_insee, communes_epci, communes_epci_count)) {
        if (intercommunale)
            return 0;
        return rule_report_add(violations, "R22", "commune-hors-territoire-epci", FICHE_PTR_COMMUNE,
                               "La commune %.5s appartient à un EPCI du territoire mais pas au "
                               "territoire : seule une action intercommunale peut y être "
                               "localisée.",
                               c);
    }
    return rule_report_add(violations, "R22", "commune-hors-territoire", FICHE_PTR_COMMUNE,
                           "La commune %.5s n'est ni une commune du territoire ni une commune de "
                           "ses EPCI.",
                           c);
}

/* ---- R23 --------------------------------------------------------------- */

size_t fiche_r23_check(const struct fiche_seance_examen *seances, size_t seance_count,
                       struct date date_transition, struct rule_report *violations)
{
    if (!seances || seance_count == 0)
        return rule_report_add(violations, "R23", "examen-comite-manquant", FICHE_PTR_SEANCE,
                               "La fiche action ne quitte l'état brouillon qu'après son examen "
                               "en séance du comité de projet.");
    for (size_t i = 0; i < seance_count; i++)
        if (date_compare(seances[i].date, date_transition) <= 0)
            return 0;
    char d[11];
    date_format(date_transition, d);
    return rule_report_add(violations, "R23", "examen-comite-posterieur", FICHE_PTR_SEANCE,
                           "Aucune séance du comité de projet n'a examiné la fiche au plus tard le "
                           "%s, date de la transition.",
                           d);
}

/* ---- R24 --------------------------------------------------------------- */

size_t fiche_r24_check(const struct fiche_couts *couts, const struct fiche_plan_financement *plan,
                       struct rule_report *violations)
{
    static const struct fiche_couts zero_couts;
    static const struct fiche_plan_financement empty_plan;
    const struct fiche_couts *c = couts ? couts : &zero_couts;
    const struct fiche_plan_financement *p = plan ? plan : &empty_plan;
    size_t n = 0;
    int64_t cout;
    const char *base;

    if (p->ligne_count == 0)
        n += rule_report_add(violations, "R24", "plan-financement-vide", FICHE_PTR_PLAN_FINANCEMENT,
                             "Une fiche action programmée a un plan de financement d'au moins "
                             "une ligne.");
    if (p->base == FICHE_BASE_TTC) {
        if (!c->has_cout_total_ttc)
            return n + rule_report_add(violations, "R24", "cout-ttc-manquant", FICHE_PTR_COUT_TTC,
                                       "Le plan de financement est établi TTC : le coût total "
                                       "TTC de la fiche est requis.");
        cout = c->cout_total_ttc;
        base = "TTC";
    } else {
        cout = c->cout_total_ht;
        base = "HT";
    }
    if (p->somme_montants == cout)
        return n;
    /* Both are sums of cents well inside int64_t; compute the gap without
     * overflow anyway. */
    bool manque = p->somme_montants < cout;
    uint64_t ecart = manque ? (uint64_t)cout - (uint64_t)p->somme_montants
                            : (uint64_t)p->somme_montants - (uint64_t)cout;
    char e[48], s[48], k[48];
    financement_euros_format(ecart > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ecart, e, sizeof e);
    financement_euros_format(p->somme_montants, s, sizeof s);
    financement_euros_format(cout, k, sizeof k);
    return n + rule_report_add(violations, "R24", "plan-financement-desequilibre",
                               FICHE_PTR_PLAN_FINANCEMENT,
                               "Plan de financement déséquilibré : les financements (%s) %s le "
                               "coût total %s (%s) de %s.",
                               s, manque ? "n'atteignent pas" : "dépassent", base, k, e);
}

/* ---- R25 --------------------------------------------------------------- */

size_t fiche_r25_check(const struct fiche_dates *d, bool require_both,
                       struct rule_report *violations)
{
    static const struct fiche_dates none;
    size_t n = 0;

    if (!d)
        d = &none;
    if (require_both && !d->has_date_debut_prevue)
        n += rule_report_add(violations, "", "date-prevue-manquante", FICHE_PTR_DATE_DEBUT,
                             "La date de début prévue est requise pour programmer la fiche.");
    if (require_both && !d->has_date_fin_prevue)
        n += rule_report_add(violations, "", "date-prevue-manquante", FICHE_PTR_DATE_FIN,
                             "La date de fin prévue est requise pour programmer la fiche.");
    if (d->has_date_debut_prevue && d->has_date_fin_prevue &&
        date_compare(d->date_debut_prevue, d->date_fin_prevue) > 0) {
        char a[11], b[11];
        date_format(d->date_debut_prevue, a);
        date_format(d->date_fin_prevue, b);
        n += rule_report_add(violations, "R25", "dates-prevues-incoherentes", FICHE_PTR_DATE_FIN,
                             "La date de fin prévue (%s) précède la date de début prévue (%s).", b,
                             a);
    }
    return n;
}

/* ---- R26 --------------------------------------------------------------- */

size_t fiche_r26_check(bool adhesion_signee, bool cadre_signee, struct rule_report *violations)
{
    if (adhesion_signee || cadre_signee)
        return 0;
    return rule_report_add(violations, "R26", "convention-adhesion-non-signee",
                           FICHE_PTR_AVANT_CADRE,
                           "Une action ne peut commencer avant la convention-cadre que si la "
                           "convention d'adhésion est signée.");
}

/* ---- R28 --------------------------------------------------------------- */

size_t fiche_r28_check(enum fiche_etat to, const char *motif, bool has_decision_abandon,
                       struct rule_report *violations)
{
    size_t n = 0;

    if (to != FICHE_SUSPENDUE && to != FICHE_ABANDONNEE)
        return 0;
    if (text_is_blank(motif))
        n += rule_report_add(violations, "R28", "motif-manquant", FICHE_PTR_MOTIF,
                             "Le motif est obligatoire pour %s une fiche action.",
                             to == FICHE_SUSPENDUE ? "suspendre" : "abandonner");
    if (to == FICHE_ABANDONNEE && !has_decision_abandon)
        n += rule_report_add(violations, "R28", "decision-abandon-manquante", FICHE_PTR_DECISION,
                             "L'abandon d'une fiche action est décidé en comité de projet : "
                             "indiquez la décision d'abandon.");
    return n;
}

/* ---- The transition ---------------------------------------------------- */

static size_t check_commencement(const struct fiche_transition_input *in,
                                 struct rule_report *violations)
{
    if (!in->has_date_commencement)
        return rule_report_add(violations, "", "date-commencement-manquante",
                               FICHE_PTR_DATE_COMMENCE,
                               "La date de commencement est requise pour passer la fiche en "
                               "cours.");
    if (date_compare(in->date_commencement, in->date_transition) <= 0)
        return 0;
    char d[11];
    date_format(in->date_commencement, d);
    return rule_report_add(violations, "", "date-commencement-future", FICHE_PTR_DATE_COMMENCE,
                           "La date de commencement (%s) est postérieure à la date de la "
                           "transition.",
                           d);
}

/* §2.3 realisee: "completion recorded; indicators measured". */
static size_t check_achevement(const struct fiche_transition_input *in,
                               struct rule_report *violations)
{
    size_t n = 0;
    char d[11], c[11];

    if (!in->has_date_achevement)
        n += rule_report_add(violations, "", "date-achevement-manquante", FICHE_PTR_DATE_ACHEVEMENT,
                             "La date d'achèvement est requise pour déclarer la fiche réalisée.");
    else if (date_compare(in->date_achevement, in->date_transition) > 0) {
        date_format(in->date_achevement, d);
        n += rule_report_add(violations, "", "date-achevement-future", FICHE_PTR_DATE_ACHEVEMENT,
                             "La date d'achèvement (%s) est postérieure à la date de la "
                             "transition.",
                             d);
    } else if (in->has_date_commencement &&
               date_compare(in->date_achevement, in->date_commencement) < 0) {
        date_format(in->date_achevement, d);
        date_format(in->date_commencement, c);
        n += rule_report_add(
            violations, "", "date-achevement-anterieure-commencement", FICHE_PTR_DATE_ACHEVEMENT,
            "La date d'achèvement (%s) précède la date de commencement (%s).", d, c);
    }
    if (in->indicateurs_sans_mesure > 0)
        n += rule_report_add(violations, "", "indicateur-sans-mesure", FICHE_PTR_INDICATEURS,
                             "%zu indicateur(s) de la fiche n'ont aucune mesure : une fiche "
                             "réalisée a ses indicateurs mesurés.",
                             in->indicateurs_sans_mesure);
    return n;
}

/* R27 hook: the financing module's findings, or its verdict. */
static size_t check_r27_hook(const struct fiche_transition_input *in,
                             struct rule_report *violations)
{
    const struct rule_report *r27 = in->r27_report;
    size_t n = 0;

    if (!r27) {
        if (in->r27_echeancier_equilibre)
            return 0;
        return rule_report_add(violations, "R27", "echeancier-desequilibre", FICHE_PTR_ECHEANCIER,
                               "La somme de l'échéancier annuel n'est pas égale au coût total "
                               "HT de la fiche.");
    }
    for (size_t i = 0; i < r27->count && i < RULE_REPORT_MAX; i++) {
        const struct rule_violation *v = &r27->items[i];
        n += rule_report_add(violations, v->regle, v->code, v->pointer, "%s", v->message);
    }
    for (size_t i = 0; i < r27->dropped; i++)
        n += rule_report_add(violations, "R27", "echeancier-desequilibre", FICHE_PTR_ECHEANCIER,
                             "Autre incohérence de l'échéancier annuel.");
    return n;
}

size_t fiche_transition_check(const struct fiche_transition_input *in,
                              struct rule_report *violations)
{
    size_t n = 0;

    if (!in || !fiche_transition_exists(in->from, in->to)) {
        const char *a = in ? fiche_etat_name(in->from) : NULL;
        const char *b = in ? fiche_etat_name(in->to) : NULL;
        return rule_report_add(violations, "", "transition-invalide", FICHE_PTR_VERS,
                               "Pas de transition de %s vers %s pour une fiche action.",
                               a ? a : "inconnu", b ? b : "inconnu");
    }
    if (!fiche_transition_allowed(in->from, in->to, in->role_of_caller)) {
        const char *r = role_name(in->role_of_caller);
        return rule_report_add(violations, "", "transition-interdite", FICHE_PTR_VERS,
                               "Le rôle %s ne permet pas la transition de %s vers %s.",
                               r ? r : "inconnu", fiche_etat_name(in->from),
                               fiche_etat_name(in->to));
    }
    if (in->from == FICHE_BROUILLON)
        n += fiche_r23_check(in->seances, in->seance_count, in->date_transition, violations);
    switch (in->to) {
    case FICHE_PROGRAMMEE:
        n += fiche_r24_check(&in->couts, &in->plan, violations);
        n += fiche_r25_check(&in->dates, true, violations);
        n += check_r27_hook(in, violations);
        break;
    case FICHE_EN_COURS:
        if (in->from == FICHE_PROGRAMMEE) {
            n += fiche_r26_check(in->adhesion_signee, in->cadre_signee, violations);
            n += check_commencement(in, violations);
        }
        break;
    case FICHE_REALISEE:
        n += check_achevement(in, violations);
        break;
    case FICHE_SUSPENDUE:
    case FICHE_ABANDONNEE:
        n += fiche_r28_check(in->to, in->motif, in->has_decision_abandon, violations);
        break;
    default:
        break;
    }
    return n;
}
