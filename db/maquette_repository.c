/* Reading the maquette's inputs (see maquette_repository.h). */
#include "maquette_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

void maquette_donnees_release(struct maquette_donnees *d)
{
    for (size_t i = 0; d->axes && i < d->axe_count; i++)
        free(d->axes[i].intitule);
    for (size_t i = 0; d->fiche_infos && i < d->fiche_count; i++) {
        free(d->fiche_infos[i].numero);
        free(d->fiche_infos[i].intitule);
    }
    for (size_t i = 0; d->financeurs && i < d->financeur_count; i++)
        free(d->financeurs[i].nom);
    free(d->axes);
    free(d->fiche_infos);
    free(d->fiches);
    free(d->financeurs);
    free(d->lignes);
    free(d->annees);
    memset(d, 0, sizeof *d);
}

/* One statement, so one snapshot. Rows (k, i, j, id, a, b, c, d, e) ordered
 * by k, i, j:
 *   k 0 axe:       i its index, id, a numero, b intitule
 *   k 1 fiche:     i its index, id, a numero, b intitule, c its axe's index
 *   k 2 financeur: i its index, id, a nom
 *   k 3 line:      i its fiche's index, j rang, a financeur's index,
 *                  b dispositif, c nature_financeur, d montant, e statut
 *                  (id: 't' when the financeur is the fiche's maître d'ouvrage)
 *   k 4 year:      i its fiche's index, j annee, a montant */
static const char maquette_sql[] =
    "WITH f AS (SELECT f.id, f.numero, f.intitule, f.axe_id, f.maitre_ouvrage_id, "
    "row_number() OVER (ORDER BY f.numero, f.id) - 1 AS i FROM fiches_action f WHERE f.id_pvd = "
    "$1 AND f.etat <> 'abandonnee'), "
    "a AS (SELECT x.id, x.numero, x.intitule, row_number() OVER (ORDER BY x.numero, x.id) - 1 AS "
    "i FROM axes_strategiques x WHERE x.id_pvd = $1), "
    "l AS (SELECT l.*, f.i AS fi, l.financeur_id = f.maitre_ouvrage_id AS mo FROM "
    "fiche_financements l JOIN f ON f.id = l.fiche_id), "
    "o AS (SELECT o.id, o.nom, row_number() OVER (ORDER BY o.nom, o.id) - 1 AS i FROM "
    "organisations o WHERE o.id IN (SELECT l.financeur_id FROM l)) "
    "SELECT 0 AS k, a.i, 0 AS j, a.id::text, a.numero::text, a.intitule, NULL, NULL, NULL FROM a "
    "UNION ALL SELECT 1, f.i, 0, f.id::text, f.numero, f.intitule, a.i::text, NULL, NULL FROM f "
    "JOIN a ON a.id = f.axe_id "
    "UNION ALL SELECT 2, o.i, 0, o.id::text, o.nom, NULL, NULL, NULL, NULL FROM o "
    "UNION ALL SELECT 3, l.fi, l.rang, CASE WHEN l.mo THEN 't' ELSE 'f' END, o.i::text, "
    "l.dispositif, l.nature_financeur, l.montant::text, l.statut FROM l JOIN o ON o.id = "
    "l.financeur_id "
    "UNION ALL SELECT 4, f.i, e.annee, NULL, e.montant::text, NULL, NULL, NULL, NULL FROM "
    "fiche_echeancier e JOIN f ON f.id = e.fiche_id "
    "ORDER BY 1, 2, 3";

static bool parse_index(const char *s, size_t count, size_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 0 || (unsigned long long)v >= count)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_montant(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 0 || v > FINANCEMENT_MONTANT_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

static void copy_id(char dst[37], const char *src)
{
    snprintf(dst, 37, "%s", src);
}

/* Allocates the arrays for the counts of res's kinds. */
static bool allocate(const PGresult *res, struct maquette_donnees *d)
{
    size_t counts[5] = {0};
    for (int r = 0; r < PQntuples(res); r++) {
        long k = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (k < 0 || k > 4)
            return false;
        counts[k]++;
    }
    d->axe_count = counts[0];
    d->fiche_count = counts[1];
    d->financeur_count = counts[2];
    d->ligne_count = counts[3];
    d->annee_count = counts[4];
    d->axes = calloc(counts[0] + 1, sizeof *d->axes);
    d->fiche_infos = calloc(counts[1] + 1, sizeof *d->fiche_infos);
    d->fiches = calloc(counts[1] + 1, sizeof *d->fiches);
    d->financeurs = calloc(counts[2] + 1, sizeof *d->financeurs);
    d->lignes = calloc(counts[3] + 1, sizeof *d->lignes);
    d->annees = calloc(counts[4] + 1, sizeof *d->annees);
    return d->axes && d->fiche_infos && d->fiches && d->financeurs && d->lignes && d->annees;
}

/* Row r of kind k into d (rows come in index order: the n-th row of a kind
 * has index n). */
static bool fill_row(const PGresult *res, int r, struct maquette_donnees *d, size_t seen[5])
{
    long k = strtol(PQgetvalue(res, r, 0), NULL, 10);
    const char *id = PQgetvalue(res, r, 3), *a = PQgetvalue(res, r, 4), *b = PQgetvalue(res, r, 5),
               *c = PQgetvalue(res, r, 6);
    size_t i = 0, n = seen[k]++;
    switch (k) {
    case 0:
        copy_id(d->axes[n].id, id);
        d->axes[n].numero = strtol(a, NULL, 10);
        return (d->axes[n].intitule = pg_strdup(b)) != NULL;
    case 1:
        copy_id(d->fiche_infos[n].id, id);
        d->fiche_infos[n].numero = pg_strdup(a);
        d->fiche_infos[n].intitule = pg_strdup(b);
        return d->fiche_infos[n].numero && d->fiche_infos[n].intitule &&
               parse_index(c, d->axe_count, &d->fiches[n].axe);
    case 2:
        copy_id(d->financeurs[n].id, id);
        return (d->financeurs[n].nom = pg_strdup(a)) != NULL;
    case 3: {
        struct financement_ligne *l = &d->lignes[n];
        if (!parse_index(PQgetvalue(res, r, 1), d->fiche_count, &i) ||
            !parse_index(a, d->financeur_count, &l->financeur) ||
            !financement_dispositif_parse(b, &l->dispositif) ||
            !parse_montant(PQgetvalue(res, r, 7), &l->montant) ||
            !financement_statut_parse(PQgetvalue(res, r, 8), &l->statut))
            return false;
        l->public = strcmp(c, "public") == 0;
        l->par_maitre_ouvrage = strcmp(id, "t") == 0;
        if (d->fiches[i].ligne_count++ == 0)
            d->fiches[i].lignes = l;
        return true;
    }
    default: {
        struct financement_annee *e = &d->annees[n];
        if (!parse_index(PQgetvalue(res, r, 1), d->fiche_count, &i) ||
            !parse_montant(a, &e->montant))
            return false;
        e->annee = (int)strtol(PQgetvalue(res, r, 2), NULL, 10);
        if (d->fiches[i].echeancier_count++ == 0)
            d->fiches[i].echeancier = e;
        return true;
    }
    }
}

enum db_result maquette_lire(struct db_conn *conn, const char *id_pvd, struct maquette_donnees *out,
                             struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[1] = {id_pvd};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn, maquette_sql, 1, params, &res, err);
    if (r == DB_OK && !allocate(res, out))
        r = DB_FAILED;
    size_t seen[5] = {0};
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++)
        if (!fill_row(res, i, out, seen))
            r = DB_FAILED;
    PQclear(res);
    if (r != DB_OK)
        maquette_donnees_release(out);
    return r;
}
