/* Demandes de subvention: state machine (§2.4), date-driven states (R30,
 * R34, R35), R31–R33, R36, R37, versements. See demande.h. */
#include "demande.h"

#include <stdio.h>
#include <string.h>

#include "names.h"
#include "text.h"

#define COUNT(a) DOMAIN_NAMES_COUNT(a)

/* ---- Names ------------------------------------------------------------- */

static const char *const ETAT_NAMES[DEMANDE_ETAT__COUNT] = {
    "brouillon",       "depose",   "en_instruction", "accordee", "refusee", "classee_sans_suite",
    "rejet_implicite", "notifiee", "engagee",        "caduque",  "soldee",  "forclose"};
static const char *const DS_NAMES[] = {"brouillon", "en_construction", "en_instruction",
                                       "accepte",   "refuse",          "sans_suite"};
static const enum demande_etat DS_ETATS[COUNT(DS_NAMES)] = {
    DEMANDE_BROUILLON, DEMANDE_DEPOSE,  DEMANDE_EN_INSTRUCTION,
    DEMANDE_ACCORDEE,  DEMANDE_REFUSEE, DEMANDE_CLASSEE_SANS_SUITE};
static const char *const VERSEMENT_NAMES[VERSEMENT_TYPE__COUNT] = {"avance", "acompte", "solde"};
static const char *const MENTION_NAMES[DEMANDE_MENTION__COUNT] = {
    "beneficiaires", "objet", "montant_maximum", "calendrier", "modalites_versement"};

DOMAIN_NAME_FUNCS(demande_etat_name, demande_etat_parse, enum demande_etat, ETAT_NAMES)
DOMAIN_NAME_FUNCS(versement_type_name, versement_type_parse, enum versement_type, VERSEMENT_NAMES)

const char *demande_mention_name(enum demande_mention m)
{
    return domain_name_of(MENTION_NAMES, COUNT(MENTION_NAMES), (int)m);
}

bool demande_etat_from_ds(const char *ds_state, enum demande_etat *out)
{
    int i;

    if (!out || !domain_name_parse(DS_NAMES, COUNT(DS_NAMES), ds_state, &i))
        return false;
    *out = DS_ETATS[i];
    return true;
}

bool demande_etat_terminal(enum demande_etat e)
{
    switch (e) {
    case DEMANDE_REFUSEE:
    case DEMANDE_CLASSEE_SANS_SUITE:
    case DEMANDE_REJET_IMPLICITE:
    case DEMANDE_CADUQUE:
    case DEMANDE_SOLDEE:
    case DEMANDE_FORCLOSE:
        return true;
    default:
        return false;
    }
}

/* ---- State machine ----------------------------------------------------- */

enum who { W_ELU = 1, W_COLLECTIVITE = 2, W_INSTRUCTEUR = 4, W_SYSTEME = 8 };

/* §2.4: WHO[from][to] = who takes the edge (0: no edge). */
static const unsigned char WHO[DEMANDE_ETAT__COUNT][DEMANDE_ETAT__COUNT] = {
    [DEMANDE_BROUILLON] = {[DEMANDE_DEPOSE] = W_ELU},
    [DEMANDE_DEPOSE] =
        {[DEMANDE_EN_INSTRUCTION] = W_INSTRUCTEUR, [DEMANDE_REJET_IMPLICITE] = W_SYSTEME},
    [DEMANDE_EN_INSTRUCTION] = {[DEMANDE_DEPOSE] = W_INSTRUCTEUR,
                                [DEMANDE_ACCORDEE] = W_INSTRUCTEUR,
                                [DEMANDE_REFUSEE] = W_INSTRUCTEUR,
                                [DEMANDE_CLASSEE_SANS_SUITE] = W_INSTRUCTEUR,
                                [DEMANDE_REJET_IMPLICITE] = W_SYSTEME},
    [DEMANDE_ACCORDEE] =
        {[DEMANDE_EN_INSTRUCTION] = W_INSTRUCTEUR, [DEMANDE_NOTIFIEE] = W_INSTRUCTEUR},
    [DEMANDE_REFUSEE] = {[DEMANDE_EN_INSTRUCTION] = W_INSTRUCTEUR},
    [DEMANDE_CLASSEE_SANS_SUITE] = {[DEMANDE_EN_INSTRUCTION] = W_INSTRUCTEUR},
    [DEMANDE_NOTIFIEE] = {[DEMANDE_ENGAGEE] = W_COLLECTIVITE, [DEMANDE_CADUQUE] = W_SYSTEME},
    [DEMANDE_ENGAGEE] = {[DEMANDE_SOLDEE] = W_INSTRUCTEUR, [DEMANDE_FORCLOSE] = W_SYSTEME},
};

static unsigned edge_who(enum demande_etat from, enum demande_etat to)
{
    if ((unsigned)from >= DEMANDE_ETAT__COUNT || (unsigned)to >= DEMANDE_ETAT__COUNT)
        return 0;
    return WHO[from][to];
}

bool demande_transition_exists(enum demande_etat from, enum demande_etat to)
{
    return edge_who(from, to) != 0;
}

bool demande_transition_systeme(enum demande_etat from, enum demande_etat to)
{
    return edge_who(from, to) == W_SYSTEME;
}

enum role demande_instructeur(enum subvention_dispositif d)
{
    switch (d) {
    case SUBVENTION_DSIL:
        return ROLE_PREFECTURE_REGION;
    case SUBVENTION_AUTRE:
        return ROLE_FINANCEUR;
    default:
        return ROLE_PREFECTURE_INSTRUCTEUR;
    }
}

static unsigned who_of(enum subvention_dispositif d, enum role role, bool financeur_du_dossier)
{
    unsigned w = 0;

    if ((unsigned)d >= SUBVENTION_DISPOSITIF__COUNT)
        return 0;
    if (role == ROLE_COLLECTIVITE_ELU)
        w |= W_ELU | W_COLLECTIVITE;
    if (role == ROLE_COLLECTIVITE_AGENT)
        w |= W_COLLECTIVITE;
    if (role == demande_instructeur(d) && (role != ROLE_FINANCEUR || financeur_du_dossier))
        w |= W_INSTRUCTEUR;
    return w;
}

bool demande_transition_allowed(enum demande_etat from, enum demande_etat to,
                                enum subvention_dispositif d, enum role role_of_caller,
                                bool financeur_du_dossier)
{
    return (edge_who(from, to) & who_of(d, role_of_caller, financeur_du_dossier)) != 0;
}

size_t demande_transitions_possibles(enum demande_etat from, enum subvention_dispositif d,
                                     enum role role_of_caller, bool financeur_du_dossier,
                                     enum demande_etat *out, size_t cap)
{
    size_t n = 0;

    for (int to = 0; to < DEMANDE_ETAT__COUNT; to++) {
        if (!demande_transition_allowed(from, (enum demande_etat)to, d, role_of_caller,
                                        financeur_du_dossier))
            continue;
        if (out && n < cap)
            out[n] = (enum demande_etat)to;
        n++;
    }
    return n;
}

/* ---- Helpers ----------------------------------------------------------- */

static bool montant_ok(int64_t v)
{
    return v >= 0 && v <= FINANCEMENT_MONTANT_MAX;
}

/* floor(a × b / c), a, b ≥ 0, c > 0, exact; the caller ensures it fits. */
__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;
static int64_t mul_div(int64_t a, int64_t b, int64_t c)
{
    return (int64_t)(((u128)(uint64_t)a * (u128)(uint64_t)b) / (u128)(uint64_t)c);
}

/* ---- Dates -------------------------------------------------------------- */

static const struct {
    size_t offset;
    const char *pointer;
} DATE_MEMBERS[] = {
    {offsetof(struct demande_dates, depot), "/date_depot"},
    {offsetof(struct demande_dates, accuse_reception), "/date_accuse_reception"},
    {offsetof(struct demande_dates, dossier_complet), "/date_dossier_complet"},
    {offsetof(struct demande_dates, commencement_execution), "/date_commencement_execution"},
    {offsetof(struct demande_dates, decision), "/date_decision"},
    {offsetof(struct demande_dates, notification), "/date_notification"},
    {offsetof(struct demande_dates, achevement_declaree), "/date_achevement_declaree"},
};

static const struct demande_date *date_at(const struct demande_dates *d, size_t i)
{
    return (const struct demande_date *)(const void *)((const char *)d + DATE_MEMBERS[i].offset);
}

/* later is not before earlier when both are given and valid */
static size_t order(const struct demande_date *earlier, const struct demande_date *later,
                    const char *pointer, const char *what, struct rule_report *r)
{
    if (!earlier->has || !later->has || !date_is_valid(earlier->date) ||
        !date_is_valid(later->date) || date_compare(later->date, earlier->date) >= 0)
        return 0;
    char a[11], b[11];
    date_format(later->date, a);
    date_format(earlier->date, b);
    return rule_report_add(r, "", "dates-incoherentes", pointer, "Cette date (%s) précède %s (%s).",
                           a, what, b);
}

size_t demande_r31_check(const struct demande_dates *d, struct rule_report *violations)
{
    if (!d || !d->depot.has || !d->commencement_execution.has ||
        date_compare(d->commencement_execution.date, d->depot.date) >= 0)
        return 0;
    char c[11], t[11];
    date_format(d->commencement_execution.date, c);
    date_format(d->depot.date, t);
    return rule_report_add(violations, "R31", "commencement-avant-depot", DEMANDE_PTR_DATE_COMMENCE,
                           "L'exécution ne peut commencer (%s) avant la transmission de la "
                           "demande (%s).",
                           c, t);
}

size_t demande_dates_check(const struct demande_dates *d, struct date today,
                           struct rule_report *violations)
{
    size_t n = 0;

    if (!d)
        return 0;
    for (size_t i = 0; i < COUNT(DATE_MEMBERS); i++) {
        const struct demande_date *x = date_at(d, i);
        if (x->has && (!date_is_valid(x->date) || date_compare(x->date, today) > 0))
            n += rule_report_add(violations, "", "date-future", DATE_MEMBERS[i].pointer,
                                 "Cette date est postérieure à aujourd'hui ou n'est pas une date "
                                 "du calendrier.");
    }
    n += order(&d->depot, &d->accuse_reception, "/date_accuse_reception", "le dépôt", violations);
    n += order(&d->depot, &d->dossier_complet, "/date_dossier_complet", "le dépôt", violations);
    n += order(&d->depot, &d->decision, "/date_decision", "le dépôt", violations);
    n += order(&d->decision, &d->notification, "/date_notification", "la décision", violations);
    n += order(&d->commencement_execution, &d->achevement_declaree, "/date_achevement_declaree",
               "le commencement", violations);
    return n + demande_r31_check(d, violations);
}

/* ---- Date-driven states ------------------------------------------------- */

static bool r30_applies(enum subvention_dispositif d)
{
    return d == SUBVENTION_FNADT || d == SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER;
}

static bool r34_applies(enum subvention_dispositif d)
{
    return d == SUBVENTION_DETR || d == SUBVENTION_DSIL;
}

/* The clock is stopped by `stop` when it happened on or before `last`. */
static bool stopped_in_time(const struct demande_date *stop, struct date last)
{
    return stop->has && date_compare(stop->date, last) <= 0;
}

enum demande_etat demande_etat_effectif(const struct demande_echeance_input *in,
                                        const struct parametres_delais *p, struct date today,
                                        struct demande_echeance *echeance)
{
    struct demande_echeance e = {0};

    if (echeance)
        *echeance = e;
    if (!in || !p)
        return DEMANDE_ETAT__COUNT;
    const struct demande_dates *d = &in->dates;
    switch (in->etat) {
    case DEMANDE_DEPOSE:
    case DEMANDE_EN_INSTRUCTION: {
        const struct demande_date *start =
            d->accuse_reception.has ? &d->accuse_reception : &d->depot;
        if (!r30_applies(in->dispositif) || !start->has)
            break;
        int mois = p->rejet_implicite_mois + (in->prorogation_mois > 0 ? in->prorogation_mois : 0);
        e = (struct demande_echeance){true, DEMANDE_REJET_IMPLICITE,
                                      date_add_months(start->date, mois)};
        break;
    }
    case DEMANDE_NOTIFIEE: {
        if (!r34_applies(in->dispositif) || !d->notification.has)
            break;
        int ans =
            p->caducite_annees + (in->prolongation_caducite ? p->caducite_prolongation_annees : 0);
        struct date last = date_add_months(d->notification.date, 12 * ans);
        if (!stopped_in_time(&d->commencement_execution, last))
            e = (struct demande_echeance){true, DEMANDE_CADUQUE, last};
        break;
    }
    case DEMANDE_ENGAGEE: {
        if (in->dispositif != SUBVENTION_DETR || !d->commencement_execution.has)
            break;
        int ans = p->forclusion_annees +
                  (in->prolongation_forclusion ? p->forclusion_prolongation_annees : 0);
        struct date last = date_add_months(d->commencement_execution.date, 12 * ans);
        if (!stopped_in_time(&d->achevement_declaree, last))
            e = (struct demande_echeance){true, DEMANDE_FORCLOSE, last};
        break;
    }
    default:
        break;
    }
    if (echeance)
        *echeance = e;
    if (e.has && date_compare(today, e.dernier_jour) > 0)
        return e.vers;
    return in->etat;
}

/* ---- R32, R33, R36 ------------------------------------------------------ */

static size_t hors_limites(struct rule_report *r)
{
    return rule_report_add(r, "", "plan-financement-hors-limites", DEMANDE_PTR_PLAN,
                           "Un montant du plan de financement est hors des limites admises.");
}

size_t demande_r32_aides_check(enum subvention_dispositif d, const struct financement_ligne *lignes,
                               size_t count, int64_t depense, struct rule_report *violations)
{
    int64_t aides = 0;

    if (d == SUBVENTION_AUTRE || (unsigned)d >= SUBVENTION_DISPOSITIF__COUNT)
        return 0;
    if (!montant_ok(depense))
        return hors_limites(violations);
    for (size_t i = 0; lignes && i < count; i++) {
        const struct financement_ligne *l = &lignes[i];
        if (!montant_ok(l->montant))
            return hors_limites(violations);
        if (!l->public || l->par_maitre_ouvrage || l->statut == FINANCEMENT_REFUSE)
            continue;
        if (__builtin_add_overflow(aides, l->montant, &aides))
            return hors_limites(violations);
    }
    if (aides <= depense)
        return 0;
    return rule_report_add(violations, "R32", "aides-publiques-plafond-depasse", DEMANDE_PTR_PLAN,
                           "Les aides publiques (%s) dépassent de %s le plafond de 100 %% de la "
                           "dépense subventionnable prévisionnelle, soit %s.",
                           financement_euros(aides).s, financement_euros(aides - depense).s,
                           financement_euros(depense).s);
}

size_t demande_r33_check(enum subvention_dispositif d, const struct financement_ligne *lignes,
                         size_t count, int64_t depense, struct rule_report *violations)
{
    if (d != SUBVENTION_DETR && d != SUBVENTION_DSIL)
        return 0;
    return financement_r33_check(lignes, count, depense, NULL, violations);
}

size_t demande_r36_check(enum subvention_dispositif d, int64_t montant, bool avis_recorded,
                         const struct parametres_delais *p, struct rule_report *violations)
{
    if (d != SUBVENTION_DETR || !p || avis_recorded || montant <= p->seuil_commission_detr)
        return 0;
    return rule_report_add(violations, "R36", "avis-commission-elus-manquant", DEMANDE_PTR_AVIS,
                           "Une subvention DETR de %s, supérieure à %s, ne peut être décidée "
                           "qu'après l'avis de la commission des élus.",
                           financement_euros(montant).s,
                           financement_euros(p->seuil_commission_detr).s);
}

/* ---- R37 ---------------------------------------------------------------- */

size_t demande_r37_check(enum subvention_dispositif d, const struct demande_r37_input *in,
                         struct rule_report *w)
{
    if (d != SUBVENTION_DETR || !in)
        return 0;
    switch (in->demandeur_kind) {
    case ORGANISATION_COMMUNE:
        if (in->population <= 2000)
            return 0;
        if (in->population > 20000)
            return rule_report_add(w, "R37", "detr-commune-trop-peuplee", DEMANDE_PTR_DEMANDEUR,
                                   "Une commune de plus de 20 000 habitants (%lld) n'est pas "
                                   "éligible à la DETR.",
                                   (long long)in->population);
        if (!in->has_potentiel_financier)
            return rule_report_add(w, "R37", "detr-potentiel-financier-a-verifier",
                                   DEMANDE_PTR_DEMANDEUR,
                                   "Commune de 2 001 à 20 000 habitants : éligible à la DETR si "
                                   "son potentiel financier par habitant est inférieur à 1,3 fois "
                                   "la moyenne de sa strate, à vérifier.");
        if ((i128)in->potentiel_financier * 10 >= (i128)in->potentiel_financier_moyen_strate * 13)
            return rule_report_add(w, "R37", "detr-potentiel-financier-eleve",
                                   DEMANDE_PTR_DEMANDEUR,
                                   "Le potentiel financier par habitant (%s) atteint 1,3 fois la "
                                   "moyenne de la strate (%s) : commune non éligible à la DETR.",
                                   financement_euros(in->potentiel_financier).s,
                                   financement_euros(in->potentiel_financier_moyen_strate).s);
        return 0;
    case ORGANISATION_EPCI:
        if (in->population > 75000 && in->plus_grande_commune_population > 20000 &&
            (i128)in->population * 100 >= (i128)in->superficie_hectares * 150)
            return rule_report_add(w, "R37", "detr-epci-non-eligible", DEMANDE_PTR_DEMANDEUR,
                                   "Un EPCI de plus de 75 000 habitants comptant une commune de "
                                   "plus de 20 000 habitants et d'une densité d'au moins 150 "
                                   "habitants au km² n'est pas éligible à la DETR.");
        return 0;
    default:
        if (in->nomme_contrat_etat)
            return 0;
        return rule_report_add(w, "R37", "detr-demandeur-non-eligible", DEMANDE_PTR_DEMANDEUR,
                               "Seuls les communes, les EPCI à fiscalité propre et les maîtres "
                               "d'ouvrage désignés par un contrat signé avec l'État sont "
                               "éligibles à la DETR.");
    }
}

size_t demande_date_limite_check(const struct parametres *p, enum subvention_dispositif d,
                                 int annee, const char *code, struct date depot,
                                 struct rule_report *w)
{
    const struct parametres_date_limite *l = parametres_date_limite(p, d, annee, code);

    if (!l || date_compare(depot, l->date_limite) <= 0)
        return 0;
    char a[11], b[11];
    date_format(depot, a);
    date_format(l->date_limite, b);
    return rule_report_add(w, d == SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER ? "R39" : "",
                           "depot-apres-date-limite", DEMANDE_PTR_DATE_DEPOT,
                           "Demande déposée le %s, après la date limite de dépôt du %s pour "
                           "%s %d.",
                           a, b, subvention_dispositif_name(d), annee);
}

/* ---- Versements --------------------------------------------------------- */

static size_t versement_add(struct rule_report *r, const char *regle, const char *code, size_t i,
                            const char *member, const char *msg)
{
    char ptr[96];

    snprintf(ptr, sizeof ptr, "/versements/%zu/%s", i, member);
    return rule_report_add(r, regle, code, ptr, "%s", msg);
}

/* Per-versement checks; the solde's date is found first. */
static size_t versement_one(const struct demande_versements_input *in, size_t i,
                            const struct demande_date *forclusion, const struct demande_date *solde,
                            size_t solde_index, struct date today, struct rule_report *r)
{
    const struct demande_versement *v = &in->versements[i];
    const struct demande_dates *d = &in->dates;
    bool investissement = in->dispositif != SUBVENTION_CHEF_DE_PROJET_PVD;
    size_t n = 0;

    if (v->montant <= 0 || v->montant > FINANCEMENT_MONTANT_MAX)
        n += versement_add(r, "", "versement-montant-invalide", i, "montant_centimes",
                           "Un versement est un montant strictement positif, en centimes.");
    if ((unsigned)v->type >= VERSEMENT_TYPE__COUNT)
        n += versement_add(r, "", "versement-type-invalide", i, "type",
                           "Un versement est une avance, un acompte ou le solde.");
    if (!date_is_valid(v->date) || date_compare(v->date, today) > 0)
        return n + versement_add(r, "", "versement-date-future", i, "date",
                                 "La date d'un versement n'est pas postérieure à aujourd'hui.");
    if (!d->notification.has || date_compare(v->date, d->notification.date) < 0)
        n += versement_add(r, "", "versement-avant-notification", i, "date",
                           "Aucun versement avant la notification de la décision attributive.");
    if (investissement && v->type != VERSEMENT_AVANCE &&
        (!d->commencement_execution.has ||
         date_compare(v->date, d->commencement_execution.date) < 0))
        n += versement_add(r, "", "versement-avant-commencement", i, "date",
                           "Un acompte ou le solde suit le commencement d'exécution.");
    if (investissement && v->type == VERSEMENT_SOLDE &&
        (!d->achevement_declaree.has || date_compare(v->date, d->achevement_declaree.date) < 0))
        n += versement_add(r, "", "solde-avant-achevement", i, "date",
                           "Le solde suit la déclaration d'achèvement de l'opération.");
    if (v->type == VERSEMENT_SOLDE && i != solde_index)
        n += versement_add(r, "", "solde-repete", i, "type", "Le solde est versé une seule fois.");
    else if (solde->has && i != solde_index && date_compare(v->date, solde->date) > 0)
        n += versement_add(r, "", "versement-apres-solde", i, "date",
                           "Aucun versement après le solde.");
    if (forclusion->has && date_compare(v->date, forclusion->date) > 0)
        n += versement_add(r, "R35", "versement-apres-forclusion", i, "date",
                           "L'achèvement n'a pas été déclaré dans le délai : plus aucun "
                           "versement (forclusion).");
    return n;
}

size_t demande_versements_check(const struct demande_versements_input *in,
                                const struct parametres_delais *p, struct date today,
                                struct rule_report *r)
{
    if (!in || !p)
        return rule_report_add(r, "", "versements-depassent-montant-accorde",
                               DEMANDE_PTR_VERSEMENTS, "Versements illisibles.");
    /* R35: the forclusion's last day, when the achèvement was not declared in time. */
    struct demande_echeance e;
    struct demande_echeance_input ei = {.etat = DEMANDE_ENGAGEE,
                                        .dispositif = in->dispositif,
                                        .dates = in->dates,
                                        .prolongation_forclusion = in->prolongation_forclusion};
    demande_etat_effectif(&ei, p, today, &e);
    struct demande_date forclusion = {e.has, e.dernier_jour};
    struct demande_date solde = {0};
    size_t solde_index = SIZE_MAX, n = 0;
    int64_t total = 0, avances = 0;
    bool overflow = false;

    for (size_t i = 0; in->versements && i < in->count; i++)
        if (in->versements[i].type == VERSEMENT_SOLDE && solde_index == SIZE_MAX) {
            solde_index = i;
            solde = (struct demande_date){true, in->versements[i].date};
        }
    for (size_t i = 0; in->versements && i < in->count; i++) {
        const struct demande_versement *v = &in->versements[i];
        n += versement_one(in, i, &forclusion, &solde, solde_index, today, r);
        if (v->montant > 0 && v->montant <= FINANCEMENT_MONTANT_MAX) {
            overflow |= __builtin_add_overflow(total, v->montant, &total);
            if (v->type == VERSEMENT_AVANCE)
                overflow |= __builtin_add_overflow(avances, v->montant, &avances);
        }
    }
    int64_t accorde = montant_ok(in->montant_accorde) ? in->montant_accorde : 0;
    if (overflow || total > accorde)
        n += rule_report_add(r, "", "versements-depassent-montant-accorde", DEMANDE_PTR_VERSEMENTS,
                             "Les versements (%s) dépassent de %s le montant accordé (%s).",
                             financement_euros(total).s,
                             financement_euros(overflow ? 0 : total - accorde).s,
                             financement_euros(accorde).s);
    if (in->dispositif == SUBVENTION_AUTRE || overflow)
        return n;
    int64_t taux = in->garantie_bancaire ? p->avance_taux_max_garantie : p->avance_taux_max;
    if (taux < 0 || taux > PARAMETRES_TAUX_UN)
        taux = 0;
    int64_t plafond = mul_div(accorde, taux, PARAMETRES_TAUX_UN);
    if (avances > plafond) {
        n += rule_report_add(r, "R32", "avance-plafond-depassee", DEMANDE_PTR_VERSEMENTS,
                             "Les avances (%s) dépassent de %s le plafond de %lld,%02lld %% du "
                             "montant accordé, soit %s.",
                             financement_euros(avances).s, financement_euros(avances - plafond).s,
                             (long long)(taux / 100), (long long)(taux % 100),
                             financement_euros(plafond).s);
    }
    return n;
}

/* ---- The transition ----------------------------------------------------- */

static size_t date_manquante(const struct demande_date *x, const char *pointer,
                             struct rule_report *r)
{
    if (x->has)
        return 0;
    return rule_report_add(r, "", "date-manquante", pointer, "Cette date est requise.");
}

static size_t montant_invalide(int64_t v, bool positif, const char *pointer, struct rule_report *r)
{
    if (montant_ok(v) && (!positif || v > 0))
        return 0;
    return rule_report_add(r, "", "montant-invalide", pointer,
                           positif ? "Un montant strictement positif, en centimes."
                                   : "Un montant positif ou nul, en centimes.");
}

static size_t check_decision(const struct demande_transition_input *in, struct rule_report *r)
{
    size_t n = date_manquante(&in->dates.decision, "/date_decision", r);

    if (in->to == DEMANDE_REFUSEE) {
        if (text_is_blank(in->motif_refus))
            n += rule_report_add(r, "", "motif-refus-manquant", DEMANDE_PTR_MOTIF_REFUS,
                                 "Un refus est motivé.");
        return n + demande_r36_check(in->dispositif, in->montant_sollicite,
                                     in->avis_commission_elus, in->delais, r);
    }
    n += montant_invalide(in->montant_accorde, true, DEMANDE_PTR_ACCORDE, r);
    for (int m = 0; m < DEMANDE_MENTION__COUNT; m++)
        if (text_is_blank(in->mentions[m])) {
            char ptr[96];
            snprintf(ptr, sizeof ptr, "/decision/mentions/%s", MENTION_NAMES[m]);
            n += rule_report_add(r, "", "mention-decision-manquante", ptr,
                                 "La décision attributive mentionne %s.", MENTION_NAMES[m]);
        }
    n += demande_r36_check(in->dispositif, in->montant_accorde, in->avis_commission_elus,
                           in->delais, r);
    n += demande_r32_aides_check(in->dispositif, in->lignes, in->ligne_count,
                                 in->depense_subventionnable_ht, r);
    return n + demande_r33_check(in->dispositif, in->lignes, in->ligne_count,
                                 in->depense_subventionnable_ht, r);
}

size_t demande_transition_check(const struct demande_transition_input *in,
                                struct rule_report *violations)
{
    struct rule_report *r = violations;
    size_t n = 0;

    if (!in || !demande_transition_exists(in->from, in->to)) {
        const char *a = in ? demande_etat_name(in->from) : NULL;
        const char *b = in ? demande_etat_name(in->to) : NULL;
        return rule_report_add(r, "", "transition-invalide", DEMANDE_PTR_VERS,
                               "Pas de transition de %s vers %s pour une demande de subvention.",
                               a ? a : "inconnu", b ? b : "inconnu");
    }
    if (!demande_transition_allowed(in->from, in->to, in->dispositif, in->role_of_caller,
                                    in->financeur_du_dossier)) {
        const char *role = role_name(in->role_of_caller);
        return rule_report_add(r, "", "transition-interdite", DEMANDE_PTR_VERS,
                               "Le rôle %s ne permet pas la transition de %s vers %s.",
                               role ? role : "inconnu", demande_etat_name(in->from),
                               demande_etat_name(in->to));
    }
    n += demande_dates_check(&in->dates, in->today, r);
    switch (in->to) {
    case DEMANDE_DEPOSE:
        if (in->from != DEMANDE_BROUILLON)
            break;
        if (!in->has_fiche && in->dispositif != SUBVENTION_CHEF_DE_PROJET_PVD)
            n += rule_report_add(r, "", "fiche-manquante", DEMANDE_PTR_FICHE,
                                 "Une demande de subvention d'investissement porte sur une fiche "
                                 "action.");
        n += montant_invalide(in->depense_subventionnable_ht, false, DEMANDE_PTR_DEPENSE, r);
        n += montant_invalide(in->montant_sollicite, true, DEMANDE_PTR_SOLLICITE, r);
        n += date_manquante(&in->dates.depot, DEMANDE_PTR_DATE_DEPOT, r);
        break;
    case DEMANDE_ACCORDEE:
    case DEMANDE_REFUSEE:
        n += check_decision(in, r);
        break;
    case DEMANDE_NOTIFIEE:
        n += date_manquante(&in->dates.notification, "/date_notification", r);
        break;
    case DEMANDE_ENGAGEE:
        n += date_manquante(&in->dates.commencement_execution, DEMANDE_PTR_DATE_COMMENCE, r);
        break;
    case DEMANDE_SOLDEE:
        if (!in->solde_verse)
            n += rule_report_add(r, "", "solde-non-verse", DEMANDE_PTR_VERSEMENTS,
                                 "Une demande est soldée quand son solde est versé.");
        break;
    default:
        break;
    }
    return n;
}
