/* libFuzzer target over domain/financement: arbitrary amounts (negative, huge,
 * INT64_MIN), counts and years must never overflow or break the contracts:
 * euros_format reads back to its value, R29's minimum own share is the least
 * meeting the threshold, R33's excess is consistent, and the maquette shares
 * every line out exactly over its fiche's years. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/financement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

/* An amount: mostly in range, sometimes any int64_t. */
static int64_t amount(struct reader *r)
{
    uint64_t v = 0;
    uint8_t kind = byte(r);

    for (int i = 0; i < 8; i++)
        v = v << 8 | byte(r);
    if (kind % 8 == 0)
        return (int64_t)v;
    return (int64_t)(v % (uint64_t)(FINANCEMENT_MONTANT_MAX + 1));
}

static void check_euros(int64_t v)
{
    char buf[FINANCEMENT_EUROS_MAX];
    size_t n = financement_euros_format(v, buf, sizeof buf);
    uint64_t mag = 0;
    bool neg = buf[0] == '-';

    if (n >= sizeof buf || strlen(buf) != n)
        abort();
    for (size_t i = neg ? 1 : 0; i < n; i++)
        if (buf[i] >= '0' && buf[i] <= '9')
            mag = mag * 10 + (uint64_t)(buf[i] - '0');
    if (neg != (v < 0) || mag != (v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v))
        abort();
}

static bool has_code(const struct rule_report *r, const char *code)
{
    return rule_report_find(r, code) != NULL;
}

static void check_messages(const struct rule_report *r)
{
    for (size_t i = 0; i < r->count; i++)
        if (strlen(r->items[i].message) >= sizeof r->items[i].message - 1)
            abort(); /* a message cut (maybe inside a UTF-8 sequence) */
}

#define MAX_FICHES 6
#define MAX_LIGNES 6
#define MAX_ANNEES 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = {data, size};
    static struct financement_ligne lignes[MAX_FICHES][MAX_LIGNES];
    static struct financement_annee ech[MAX_FICHES][MAX_ANNEES];
    struct maquette_fiche fiches[MAX_FICHES];
    size_t nf = 1 + byte(&r) % MAX_FICHES, total_lignes = 0;

    for (size_t i = 0; i < nf; i++) {
        size_t nl = byte(&r) % (MAX_LIGNES + 1), ne = byte(&r) % (MAX_ANNEES + 1);
        for (size_t k = 0; k < nl; k++) {
            uint8_t b = byte(&r);
            lignes[i][k] = (struct financement_ligne){
                .financeur = byte(&r) % 4,
                .dispositif = (enum financement_dispositif)(b % FINANCEMENT_DISPOSITIF__COUNT),
                .public = (b & 0x40) != 0,
                .par_maitre_ouvrage = (b & 0x80) != 0,
                .montant = amount(&r),
                .statut = (enum financement_statut)(byte(&r) % FINANCEMENT_STATUT__COUNT)};
            check_euros(lignes[i][k].montant);
        }
        for (size_t k = 0; k < ne; k++)
            ech[i][k] = (struct financement_annee){2020 + byte(&r) % 8, amount(&r)};
        fiches[i] = (struct maquette_fiche){.axe = byte(&r) % 3,
                                            .lignes = lignes[i],
                                            .ligne_count = nl,
                                            .echeancier = ech[i],
                                            .echeancier_count = ne};
        total_lignes += nl;
    }

    /* R29 on the first fiche. */
    static const char *const codes[] = {"23096", "971", "2A", "2B033", "06", NULL, ""};
    uint8_t b = byte(&r);
    struct financement_r29_input in = {
        .maitre_ouvrage_kind = (enum organisation_kind)(b % ORGANISATION_KIND__COUNT),
        .code_territorial = codes[byte(&r) % (sizeof codes / sizeof codes[0])],
        .investissement = (b & 0x80) != 0,
        .lignes = fiches[0].lignes,
        .ligne_count = fiches[0].ligne_count,
        .has_derogation = (b & 0x40) != 0,
        .derogation = (enum financement_derogation_type)(byte(&r) % FINANCEMENT_DEROGATION__COUNT),
        .derogation_reference = (b & 0x20) ? "ref" : "",
    };
    struct financement_r29_result res;
    struct rule_report v;
    rule_report_init(&v);
    financement_r29_check(&in, &res, &v);
    check_messages(&v);
    if (!has_code(&v, "plan-financement-hors-limites")) {
        __extension__ typedef unsigned __int128 u128;
        u128 s = (u128)res.seuil_pourcent, d = 100 - s;
        u128 minimum = (u128)res.part_propre_minimale, other = (u128)res.autres_publics;
        if (minimum * d < s * other || (minimum > 0 && (minimum - 1) * d >= s * other))
            abort();
        if (has_code(&v, "part-propre-insuffisante") !=
            (res.applicable && !res.exempte && res.manque > 0))
            abort();
    }

    /* R33 on the first fiche. */
    int64_t excedent, depense = amount(&r);
    rule_report_init(&v);
    financement_r33_check(fiches[0].lignes, fiches[0].ligne_count, depense, &excedent, &v);
    check_messages(&v);
    if (has_code(&v, "dotations-etat-plafond-depasse") != (excedent > 0))
        abort();

    /* R27 and the balance never misbehave. */
    rule_report_init(&v);
    financement_r27_check(fiches[0].echeancier, fiches[0].echeancier_count, amount(&r), &v);
    check_messages(&v);
    int64_t solde;
    financement_solde(fiches[0].lignes, fiches[0].ligne_count, amount(&r), &solde);

    /* The maquette over every year: each line is shared out exactly. */
    struct maquette_montants rows[MAX_FICHES], axes[3];
    int64_t shares[MAX_FICHES * MAX_LIGNES], cumul[MAX_FICHES * MAX_LIGNES] = {0};
    int64_t fin[4 * FINANCEMENT_STATUT__COUNT];
    struct maquette_output out = {.fiches = rows,
                                  .axes = axes,
                                  .lignes = shares,
                                  .ligne_capacity = total_lignes,
                                  .financeurs = fin};
    for (int y = 2020; y < 2028; y++) {
        struct maquette_input mi = {
            .annee = y, .fiches = fiches, .fiche_count = nf, .axe_count = 3, .financeur_count = 4};
        if (maquette_calculer(&mi, &out) != MAQUETTE_OK)
            return 0;
        for (size_t k = 0; k < total_lignes; k++)
            if (__builtin_add_overflow(cumul[k], shares[k], &cumul[k]))
                abort();
    }
    size_t k = 0;
    for (size_t i = 0; i < nf; i++) {
        int64_t e = 0;
        for (size_t j = 0; j < fiches[i].echeancier_count; j++)
            e += fiches[i].echeancier[j].montant; /* ≤ 5 × 10^15: no overflow */
        for (size_t j = 0; j < fiches[i].ligne_count; j++, k++)
            if (cumul[k] != (e > 0 ? fiches[i].lignes[j].montant : 0))
                abort();
    }
    return 0;
}
