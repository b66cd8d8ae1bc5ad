/* Financing plan and calendar of a fiche action: statut machine, balance,
 * R27, R29, R33 and the annual maquette. Integer cents only. See
 * financement.h. */
#include "financement.h"

#include <stdio.h>
#include <string.h>

#include "names.h"

#define COUNT(a) DOMAIN_NAMES_COUNT(a)

/* ---- Checked arithmetic ------------------------------------------------- */

static bool add_ok(int64_t *acc, int64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc);
}

static bool montant_ok(int64_t v)
{
    return v >= 0 && v <= FINANCEMENT_MONTANT_MAX;
}

/* floor(a × b / c) for 0 ≤ a, b and c > 0, exact (128-bit product); the
 * caller ensures the result fits (b ≤ c). */
__extension__ typedef unsigned __int128 u128;
static int64_t mul_div_floor(int64_t a, int64_t b, int64_t c)
{
    return (int64_t)(((u128)(uint64_t)a * (u128)(uint64_t)b) / (u128)(uint64_t)c);
}

/* ---- Money formatting -------------------------------------------------- */

#define NBSP "\xc2\xa0"

size_t financement_euros_format(int64_t cents, char *out, size_t cap)
{
    /* Magnitude as unsigned, so that INT64_MIN has one. */
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    uint64_t euros = mag / 100;
    unsigned centimes = (unsigned)(mag % 100);
    char digits[24];
    size_t nd = 0;
    char buf[FINANCEMENT_EUROS_MAX];
    size_t n = 0;

    do {
        digits[nd++] = (char)('0' + euros % 10);
        euros /= 10;
    } while (euros > 0);
    if (cents < 0)
        buf[n++] = '-';
    for (size_t i = nd; i-- > 0;) {
        buf[n++] = digits[i];
        if (i > 0 && i % 3 == 0) {
            memcpy(buf + n, NBSP, 2);
            n += 2;
        }
    }
    buf[n++] = ',';
    buf[n++] = (char)('0' + centimes / 10);
    buf[n++] = (char)('0' + centimes % 10);
    memcpy(buf + n, NBSP "\xe2\x82\xac", 5); /* " €" */
    n += 5;
    if (cap > 0 && out) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(out, buf, k);
        out[k] = '\0';
    }
    return n;
}

struct financement_euros financement_euros(int64_t cents)
{
    struct financement_euros e;
    financement_euros_format(cents, e.s, sizeof e.s);
    return e;
}

/* ---- Names ------------------------------------------------------------- */

static const char *const STATUT_NAMES[FINANCEMENT_STATUT__COUNT] = {
    "envisage", "sollicite", "accorde", "refuse", "verse_partiel", "solde"};
static const char *const DISPOSITIF_NAMES[FINANCEMENT_DISPOSITIF__COUNT] = {
    "DETR",
    "DSIL",
    "FNADT",
    "fonds_vert_recyclage_foncier",
    "anah",
    "bdt",
    "region",
    "departement",
    "feder",
    "leader",
    "autofinancement",
    "emprunt",
    "prive",
    "autre",
    "DPV",
    "DSID"};
static const char *const DEROGATION_NAMES[FINANCEMENT_DEROGATION__COUNT] = {
    "renouvellement_urbain",  "monument_protege",       "calamite_publique",
    "cooperation_europeenne", "patrimoine_non_protege", "corse"};

DOMAIN_NAME_FUNCS(financement_statut_name, financement_statut_parse, enum financement_statut,
                  STATUT_NAMES)
DOMAIN_NAME_FUNCS(financement_dispositif_name, financement_dispositif_parse,
                  enum financement_dispositif, DISPOSITIF_NAMES)
DOMAIN_NAME_FUNCS(financement_derogation_name, financement_derogation_parse,
                  enum financement_derogation_type, DEROGATION_NAMES)

/* ---- Statut machine ---------------------------------------------------- */

static const struct {
    enum financement_statut from, to;
} STATUT_EDGES[] = {
    {FINANCEMENT_ENVISAGE, FINANCEMENT_SOLLICITE}, {FINANCEMENT_SOLLICITE, FINANCEMENT_ACCORDE},
    {FINANCEMENT_SOLLICITE, FINANCEMENT_REFUSE},   {FINANCEMENT_ACCORDE, FINANCEMENT_VERSE_PARTIEL},
    {FINANCEMENT_ACCORDE, FINANCEMENT_SOLDE},      {FINANCEMENT_VERSE_PARTIEL, FINANCEMENT_SOLDE},
};

bool financement_statut_transition_exists(enum financement_statut from, enum financement_statut to)
{
    for (size_t i = 0; i < COUNT(STATUT_EDGES); i++)
        if (STATUT_EDGES[i].from == from && STATUT_EDGES[i].to == to)
            return true;
    return false;
}

size_t financement_statut_transitions_possibles(enum financement_statut from,
                                                enum financement_statut *out, size_t cap)
{
    size_t n = 0;

    for (int to = 0; to < FINANCEMENT_STATUT__COUNT; to++) {
        if (!financement_statut_transition_exists(from, (enum financement_statut)to))
            continue;
        if (out && n < cap)
            out[n] = (enum financement_statut)to;
        n++;
    }
    return n;
}

bool financement_statut_compte(enum financement_statut statut)
{
    return statut == FINANCEMENT_SOLLICITE || statut == FINANCEMENT_ACCORDE ||
           statut == FINANCEMENT_VERSE_PARTIEL || statut == FINANCEMENT_SOLDE;
}

bool financement_dispositif_est_dotation_etat(enum financement_dispositif d)
{
    return d == DISPOSITIF_DETR || d == DISPOSITIF_DSIL || d == DISPOSITIF_DPV ||
           d == DISPOSITIF_DSID;
}

size_t financement_lignes_check(const struct financement_ligne *lignes, size_t count,
                                struct rule_report *violations)
{
    size_t n = 0;
    char ptr[96];

    if (!lignes)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (montant_ok(lignes[i].montant))
            continue;
        snprintf(ptr, sizeof ptr, "/plan_financement/%zu/montant_centimes", i);
        n += rule_report_add(violations, "", "montant-invalide", ptr,
                             "Le montant d'une ligne de financement est compris entre 0 et "
                             "10 000 milliards d'euros (%s donnés).",
                             financement_euros(lignes[i].montant).s);
    }
    return n;
}

/* ---- Rate ---------------------------------------------------------------- */

bool financement_taux(int64_t montant, int64_t assiette_ht, int64_t *out)
{
    u128 num, den, taux;

    if (!montant_ok(montant) || !montant_ok(assiette_ht) || assiette_ht == 0)
        return false;
    num = (u128)(uint64_t)montant * 20000u + (u128)(uint64_t)assiette_ht;
    den = (u128)(uint64_t)assiette_ht * 2u;
    taux = num / den;
    if (taux > (u128)FINANCEMENT_TAUX_MAX)
        return false;
    if (out)
        *out = (int64_t)taux;
    return true;
}

size_t financement_taux_format(int64_t dix_millemes, char *out, size_t cap)
{
    if (dix_millemes < 0 || dix_millemes > FINANCEMENT_TAUX_MAX) {
        if (out && cap > 0)
            out[0] = '\0';
        return 0;
    }
    int n = snprintf(out, cap, "%lld.%04lld", (long long)(dix_millemes / 10000),
                     (long long)(dix_millemes % 10000));
    return n < 0 ? 0 : (size_t)n;
}

/* ---- Balance ------------------------------------------------------------ */

bool financement_solde(const struct financement_ligne *lignes, size_t count, int64_t cout_total,
                       int64_t *solde)
{
    int64_t finance = 0, reste = cout_total;

    if (cout_total < 0)
        return false;
    for (size_t i = 0; lignes && i < count; i++) {
        if (lignes[i].montant < 0)
            return false;
        if (financement_statut_compte(lignes[i].statut) && !add_ok(&finance, lignes[i].montant))
            return false;
    }
    if (__builtin_sub_overflow(cout_total, finance, &reste))
        return false;
    if (solde)
        *solde = reste;
    return true;
}

/* ---- R27 ---------------------------------------------------------------- */

size_t financement_r27_check(const struct financement_annee *echeancier, size_t count,
                             int64_t cout_total_ht, struct rule_report *violations)
{
    size_t n = 0;
    int64_t somme = 0;
    bool sommable = true;
    char ptr[96];

    if (!echeancier)
        count = 0;
    for (size_t i = 0; i < count; i++) {
        if (!montant_ok(echeancier[i].montant)) {
            snprintf(ptr, sizeof ptr, "/echeancier/%zu/montant_centimes", i);
            n += rule_report_add(violations, "R27", "echeancier-montant-invalide", ptr,
                                 "Le montant d'une année de l'échéancier est compris entre 0 et "
                                 "10 000 milliards d'euros (%s donnés).",
                                 financement_euros(echeancier[i].montant).s);
            sommable = false;
        } else if (sommable && !add_ok(&somme, echeancier[i].montant)) {
            n += rule_report_add(violations, "R27", "echeancier-montant-invalide", "/echeancier",
                                 "La somme de l'échéancier dépasse les limites acceptées.");
            sommable = false;
        }
        for (size_t j = 0; j < i; j++)
            if (echeancier[j].annee == echeancier[i].annee) {
                snprintf(ptr, sizeof ptr, "/echeancier/%zu/annee", i);
                n += rule_report_add(violations, "R27", "echeancier-annee-repetee", ptr,
                                     "L'année %d figure déjà dans l'échéancier.",
                                     echeancier[i].annee);
                break;
            }
    }
    if (sommable && somme != cout_total_ht) {
        int64_t ecart;
        bool ecart_ok = !__builtin_sub_overflow(somme, cout_total_ht, &ecart);
        n += rule_report_add(violations, "R27", "echeancier-desequilibre", "/echeancier",
                             "La somme de l'échéancier (%s) diffère du coût total HT (%s)%s%s.",
                             financement_euros(somme).s, financement_euros(cout_total_ht).s,
                             ecart_ok ? " ; écart " : "",
                             ecart_ok ? financement_euros(ecart).s : "");
    }
    return n;
}

/* ---- R29 ---------------------------------------------------------------- */

static bool code_starts_with(const char *code, const char *const *prefixes, size_t count,
                             size_t prefix_len)
{
    size_t len;

    if (!code)
        return false;
    len = strlen(code);
    if (len != prefix_len && len != 5)
        return false;
    for (size_t i = 0; i < count; i++)
        if (strncmp(code, prefixes[i], prefix_len) == 0)
            return true;
    return false;
}

bool financement_r29_outre_mer(const char *code)
{
    static const char *const OUTRE_MER[] = {"971", "972", "973", "974", "975", "976", "977", "978"};

    return code_starts_with(code, OUTRE_MER, COUNT(OUTRE_MER), 3);
}

bool financement_r29_corse(const char *code)
{
    static const char *const CORSE[] = {"2A", "2B"};

    return code_starts_with(code, CORSE, COUNT(CORSE), 2);
}

static size_t hors_limites(struct rule_report *violations)
{
    return rule_report_add(violations, "", "plan-financement-hors-limites", "/plan_financement",
                           "Les montants du plan de financement sont hors des limites "
                           "acceptées (0 à 10 000 milliards d'euros par ligne).");
}

size_t financement_r29_check(const struct financement_r29_input *in,
                             struct financement_r29_result *result, struct rule_report *violations)
{
    struct financement_r29_result r = {.seuil_pourcent = FINANCEMENT_R29_SEUIL};
    size_t n = 0;
    bool derogation = false;

    if (!in) {
        if (result)
            *result = r;
        return 0;
    }
    r.applicable = organisation_kind_is_collectivite(in->maitre_ouvrage_kind) &&
                   in->investissement && !financement_r29_outre_mer(in->code_territorial);
    if (in->has_derogation) {
        if (!in->derogation_reference || in->derogation_reference[0] == '\0')
            n += rule_report_add(violations, "R29", "derogation-reference-manquante",
                                 "/derogation_l1111_10/reference",
                                 "Une dérogation à l'article L1111-10 du CGCT porte la "
                                 "référence de la décision ou de l'acte qui la fonde.");
        else if (in->derogation == DEROGATION_CORSE && !financement_r29_corse(in->code_territorial))
            n += rule_report_add(violations, "R29", "derogation-corse-hors-corse",
                                 "/derogation_l1111_10/type",
                                 "Le seuil de 10 %% de la Corse ne vaut que pour un maître "
                                 "d'ouvrage de Corse (2A, 2B).");
        else
            derogation = true;
    }
    if (derogation && in->derogation == DEROGATION_CORSE)
        r.seuil_pourcent = FINANCEMENT_R29_SEUIL_CORSE;
    else if (derogation)
        r.exempte = true;

    const struct financement_ligne *l = in->lignes;
    for (size_t i = 0; l && i < in->ligne_count; i++) {
        if (!montant_ok(l[i].montant)) {
            n += hors_limites(violations);
            goto out;
        }
        if (l[i].statut == FINANCEMENT_REFUSE)
            continue;
        if (l[i].par_maitre_ouvrage) {
            if (!add_ok(&r.part_propre, l[i].montant)) {
                n += hors_limites(violations);
                goto out;
            }
        } else if (l[i].public && !add_ok(&r.autres_publics, l[i].montant)) {
            n += hors_limites(violations);
            goto out;
        }
    }
    /* own × (100 − s) ≥ s × other ⇔ own ≥ ceil(s × other / (100 − s)). */
    int64_t s = r.seuil_pourcent, d = 100 - r.seuil_pourcent;
    r.part_propre_minimale =
        (int64_t)(((u128)(uint64_t)r.autres_publics * (u128)s + (u128)(d - 1)) / (u128)d);
    r.manque = r.part_propre_minimale > r.part_propre ? r.part_propre_minimale - r.part_propre : 0;
    if (r.applicable && !r.exempte && r.manque > 0)
        n += rule_report_add(violations, "R29", "part-propre-insuffisante", "/plan_financement",
                             "Il manque %s de part propre du maître d'ouvrage pour "
                             "atteindre %d %% des financements publics (art. L1111-10 "
                             "CGCT) ; minimum %s.",
                             financement_euros(r.manque).s, r.seuil_pourcent,
                             financement_euros(r.part_propre_minimale).s);
out:
    if (result)
        *result = r;
    return n;
}

/* ---- R33 ---------------------------------------------------------------- */

size_t financement_r33_check(const struct financement_ligne *lignes, size_t count,
                             int64_t depense_subventionnable_ht, int64_t *excedent,
                             struct rule_report *violations)
{
    int64_t dotations = 0, plafond, exces;

    if (excedent)
        *excedent = 0;
    if (!montant_ok(depense_subventionnable_ht))
        return hors_limites(violations);
    for (size_t i = 0; lignes && i < count; i++) {
        if (!montant_ok(lignes[i].montant))
            return hors_limites(violations);
        if (lignes[i].statut == FINANCEMENT_REFUSE ||
            !financement_dispositif_est_dotation_etat(lignes[i].dispositif))
            continue;
        if (!add_ok(&dotations, lignes[i].montant))
            return hors_limites(violations);
    }
    /* Σ ≤ 80 % × D ⇔ Σ ≤ floor(80 × D / 100): D ≤ 10^15, no overflow. */
    plafond = depense_subventionnable_ht / 100 * FINANCEMENT_R33_PLAFOND +
              depense_subventionnable_ht % 100 * FINANCEMENT_R33_PLAFOND / 100;
    /* The DETR floor: 100 × m ≥ 20 × D (both sides ≤ 10^17), unless m fills
     * the room the other dotations leave under the cap. */
    int64_t plancher = (depense_subventionnable_ht * FINANCEMENT_R33_PLANCHER_DETR + 99) / 100;
    size_t n = 0;
    char ptr[96];
    for (size_t i = 0; lignes && i < count; i++) {
        const struct financement_ligne *l = &lignes[i];
        if (l->dispositif != DISPOSITIF_DETR || l->statut == FINANCEMENT_REFUSE ||
            l->montant * 100 >= depense_subventionnable_ht * FINANCEMENT_R33_PLANCHER_DETR ||
            l->montant >= plafond - (dotations - l->montant))
            continue;
        snprintf(ptr, sizeof ptr, "/plan_financement/%zu/montant_centimes", i);
        n += rule_report_add(violations, "R33", "detr-inferieure-plancher", ptr,
                             "La subvention DETR (%s) est inférieure au plancher de %d %% de la "
                             "dépense subventionnable HT, soit %s.",
                             financement_euros(l->montant).s, FINANCEMENT_R33_PLANCHER_DETR,
                             financement_euros(plancher).s);
    }
    if (dotations <= plafond)
        return n;
    exces = dotations - plafond;
    if (excedent)
        *excedent = exces;
    return n + rule_report_add(violations, "R33", "dotations-etat-plafond-depasse",
                               "/plan_financement",
                               "Les dotations de l'État (DETR, DSIL, DPV, DSID) dépassent de %s le "
                               "plafond de %d %% de la dépense subventionnable HT, soit %s.",
                               financement_euros(exces).s, FINANCEMENT_R33_PLAFOND,
                               financement_euros(plafond).s);
}

/* ---- Maquette ----------------------------------------------------------- */

static enum maquette_erreur add_montants(struct maquette_montants *acc,
                                         const struct maquette_montants *v)
{
    if (!add_ok(&acc->prevu, v->prevu) || !add_ok(&acc->finance, v->finance) ||
        !add_ok(&acc->reste_a_financer, v->reste_a_financer))
        return MAQUETTE_DEBORDEMENT;
    for (int s = 0; s < FINANCEMENT_STATUT__COUNT; s++)
        if (!add_ok(&acc->par_statut[s], v->par_statut[s]))
            return MAQUETTE_DEBORDEMENT;
    return MAQUETTE_OK;
}

/* One fiche's row; its lines' shares into lignes_out (ligne_count). */
static enum maquette_erreur maquette_fiche(const struct maquette_input *in,
                                           const struct maquette_fiche *f,
                                           struct maquette_montants *row, int64_t *lignes_out)
{
    int64_t avant = 0, jusqua = 0, total = 0;

    memset(row, 0, sizeof *row);
    for (size_t k = 0; f->echeancier && k < f->echeancier_count; k++) {
        const struct financement_annee *e = &f->echeancier[k];
        if (!montant_ok(e->montant))
            return MAQUETTE_MONTANT_INVALIDE;
        if (!add_ok(&total, e->montant))
            return MAQUETTE_DEBORDEMENT;
        if (e->annee < in->annee && !add_ok(&avant, e->montant))
            return MAQUETTE_DEBORDEMENT;
        if (e->annee <= in->annee && !add_ok(&jusqua, e->montant))
            return MAQUETTE_DEBORDEMENT;
        if (e->annee == in->annee && !add_ok(&row->prevu, e->montant))
            return MAQUETTE_DEBORDEMENT;
    }
    for (size_t k = 0; f->lignes && k < f->ligne_count; k++) {
        const struct financement_ligne *l = &f->lignes[k];
        int64_t part = 0;
        if (!montant_ok(l->montant))
            return MAQUETTE_MONTANT_INVALIDE;
        if (l->financeur >= in->financeur_count || (int)l->statut < 0 ||
            l->statut >= FINANCEMENT_STATUT__COUNT)
            return MAQUETTE_INDEX_INVALIDE;
        if (total > 0)
            part =
                mul_div_floor(l->montant, jusqua, total) - mul_div_floor(l->montant, avant, total);
        lignes_out[k] = part;
        if (!add_ok(&row->par_statut[l->statut], part))
            return MAQUETTE_DEBORDEMENT;
        if (financement_statut_compte(l->statut) && !add_ok(&row->finance, part))
            return MAQUETTE_DEBORDEMENT;
    }
    if (__builtin_sub_overflow(row->prevu, row->finance, &row->reste_a_financer))
        return MAQUETTE_DEBORDEMENT;
    return MAQUETTE_OK;
}

enum maquette_erreur maquette_calculer(const struct maquette_input *in, struct maquette_output *out)
{
    size_t lignes = 0, offset = 0;
    enum maquette_erreur err;

    if (!in || !out || (in->fiche_count > 0 && (!in->fiches || !out->fiches)) ||
        (in->axe_count > 0 && !out->axes) || (in->financeur_count > 0 && !out->financeurs))
        return MAQUETTE_ARGUMENT_INVALIDE;
    for (size_t i = 0; i < in->fiche_count; i++) {
        if (in->fiches[i].lignes &&
            __builtin_add_overflow(lignes, in->fiches[i].ligne_count, &lignes))
            return MAQUETTE_ARGUMENT_INVALIDE;
        if (in->fiches[i].axe >= in->axe_count)
            return MAQUETTE_INDEX_INVALIDE;
    }
    if (lignes > out->ligne_capacity || (lignes > 0 && !out->lignes) ||
        in->financeur_count > SIZE_MAX / FINANCEMENT_STATUT__COUNT)
        return MAQUETTE_ARGUMENT_INVALIDE;

    memset(&out->total, 0, sizeof out->total);
    if (in->axe_count > 0)
        memset(out->axes, 0, in->axe_count * sizeof *out->axes);
    if (in->financeur_count > 0)
        memset(out->financeurs, 0,
               in->financeur_count * FINANCEMENT_STATUT__COUNT * sizeof *out->financeurs);

    for (size_t i = 0; i < in->fiche_count; i++) {
        const struct maquette_fiche *f = &in->fiches[i];
        size_t nl = f->lignes ? f->ligne_count : 0;

        err = maquette_fiche(in, f, &out->fiches[i], nl > 0 ? out->lignes + offset : NULL);
        if (err != MAQUETTE_OK)
            return err;
        err = add_montants(&out->axes[f->axe], &out->fiches[i]);
        if (err == MAQUETTE_OK)
            err = add_montants(&out->total, &out->fiches[i]);
        if (err != MAQUETTE_OK)
            return err;
        for (size_t k = 0; k < nl; k++) {
            int64_t *cell = &out->financeurs[f->lignes[k].financeur * FINANCEMENT_STATUT__COUNT +
                                             (size_t)f->lignes[k].statut];
            if (!add_ok(cell, out->lignes[offset + k]))
                return MAQUETTE_DEBORDEMENT;
        }
        offset += nl;
    }
    return MAQUETTE_OK;
}
