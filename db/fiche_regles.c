/* The inputs of the fiche action rules, read in the writing transaction
 * (see "Rule inputs" in fiche_repository.h). */
#include "fiche_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "territoire_lock.h"
#include "territoire_scope.h"

/* ---- rule inputs ----------------------------------------------------------- */

void fiche_regles_release(struct fiche_regles *r)
{
    free(r->communes_territoire);
    free(r->communes_epci);
    free(r->commune_ptrs);
    free(r->seances);
    free(r->lignes);
    free(r->echeancier);
    r->communes_territoire = NULL;
    r->communes_epci = NULL;
    r->commune_ptrs = NULL;
    r->seances = NULL;
    r->lignes = NULL;
    r->echeancier = NULL;
    r->communes_territoire_count = r->communes_epci_count = 0;
    r->seance_count = r->ligne_count = r->echeancier_count = 0;
}

static bool bool_at(const PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* A nullable date column: false when it is NULL or does not parse (*ok
 * cleared then). */
static bool date_at(const PGresult *res, int row, int col, struct date *out, bool *ok)
{
    if (PQgetisnull(res, row, col))
        return false;
    if (!date_parse(PQgetvalue(res, row, col), out)) {
        *ok = false;
        return false;
    }
    return true;
}

static enum db_result read_codes(struct db_conn *conn, const char *sql, const char *id_pvd,
                                 char (**codes)[6], size_t *count, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn, sql, 1, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        *codes = calloc(n > 0 ? (size_t)n : 1, sizeof **codes);
        if (!*codes)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++)
            snprintf((*codes)[i], sizeof(*codes)[i], "%s", PQgetvalue(res, i, 0));
        if (r == DB_OK)
            *count = (size_t)n;
    }
    PQclear(res);
    return r;
}

static enum db_result read_main(struct db_tx *tx, const char *id, const char *date_text,
                                struct fiche_regles *out, char *maitre_ouvrage, size_t mo_size,
                                struct db_error *err)
{
    const char *params[2] = {id, date_text};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT x.id::text, x.id_pvd::text, x.etat, x.revision, x.numero, EXISTS (SELECT 1 FROM "
        "fiches_action o WHERE o.id_pvd = x.id_pvd AND o.numero = x.numero AND o.id <> x.id), "
        "a.id_pvd::text, x.localisation_commune_insee, x.intercommunale, x.cout_total_ht, "
        "x.cout_total_ttc, x.base_financement, x.date_debut_prevue::text, "
        "x.date_fin_prevue::text, x.date_commencement::text, x.date_achevement::text, "
        "EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = x.id_pvd AND c.type = 'adhesion' "
        "AND c.etat IN ('signee', 'relayee')), EXISTS (SELECT 1 FROM conventions c WHERE "
        "c.id_pvd = x.id_pvd AND c.type = 'cadre' AND c.etat = 'signee'), (SELECT count(*) FROM "
        "fiche_indicateurs fi WHERE fi.fiche_id = x.id AND NOT EXISTS (SELECT 1 FROM "
        "indicateur_mesures m WHERE m.indicateur_id = fi.indicateur_id)), EXISTS (SELECT 1 FROM "
        "decisions d JOIN seances s ON s.id = d.seance_id WHERE d.fiche_action_id = x.id AND "
        "d.type = 'abandonne_fiche' AND s.date <= $2::date), x.maitre_ouvrage_id::text, o.nature, "
        "coalesce(o.code_insee, o.code_departement, ''), x.nature_depense IN ('investissement', "
        "'acquisition'), x.derogation_type, coalesce(x.derogation_reference, ''), "
        "x.depense_subventionnable_ht FROM fiches_action x JOIN organisations o ON o.id = "
        "x.maitre_ouvrage_id LEFT JOIN axes_strategiques a ON a.id = x.axe_id WHERE x.id = "
        "$1::uuid FOR UPDATE OF x",
        2, params, &res, err);
    if (r != DB_OK)
        return r;
    bool ok = true;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, 0, 1));
    ok = fiche_etat_parse(PQgetvalue(res, 0, 2), &out->etat);
    out->revision = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    snprintf(out->numero, sizeof out->numero, "%s", PQgetvalue(res, 0, 4));
    out->numero_deja_utilise = bool_at(res, 0, 5);
    out->has_axe = !PQgetisnull(res, 0, 6);
    snprintf(out->axe_id_pvd, sizeof out->axe_id_pvd, "%s", PQgetvalue(res, 0, 6));
    snprintf(out->commune, sizeof out->commune, "%s", PQgetvalue(res, 0, 7));
    out->intercommunale = bool_at(res, 0, 8);
    out->couts.cout_total_ht = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    out->couts.has_cout_total_ttc = !PQgetisnull(res, 0, 10);
    out->couts.cout_total_ttc = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
    out->plan.base = strcmp(PQgetvalue(res, 0, 11), "ttc") == 0 ? FICHE_BASE_TTC : FICHE_BASE_HT;
    out->dates.has_date_debut_prevue = date_at(res, 0, 12, &out->dates.date_debut_prevue, &ok);
    out->dates.has_date_fin_prevue = date_at(res, 0, 13, &out->dates.date_fin_prevue, &ok);
    out->has_date_commencement = date_at(res, 0, 14, &out->date_commencement, &ok);
    out->has_date_achevement = date_at(res, 0, 15, &out->date_achevement, &ok);
    out->adhesion_signee = bool_at(res, 0, 16);
    out->cadre_signee = bool_at(res, 0, 17);
    out->indicateurs_sans_mesure = (size_t)strtoul(PQgetvalue(res, 0, 18), NULL, 10);
    out->has_decision_abandon = bool_at(res, 0, 19);
    snprintf(maitre_ouvrage, mo_size, "%s", PQgetvalue(res, 0, 20));
    if (!organisation_kind_parse(PQgetvalue(res, 0, 21), &out->maitre_ouvrage_kind))
        ok = false;
    snprintf(out->maitre_ouvrage_code, sizeof out->maitre_ouvrage_code, "%s",
             PQgetvalue(res, 0, 22));
    out->investissement = bool_at(res, 0, 23);
    out->has_derogation = !PQgetisnull(res, 0, 24);
    if (out->has_derogation &&
        !financement_derogation_parse(PQgetvalue(res, 0, 24), &out->derogation))
        ok = false;
    snprintf(out->derogation_reference, sizeof out->derogation_reference, "%s",
             PQgetvalue(res, 0, 25));
    out->has_depense_subventionnable_ht = !PQgetisnull(res, 0, 26);
    out->depense_subventionnable_ht = strtoll(PQgetvalue(res, 0, 26), NULL, 10);
    PQclear(res);
    return ok ? DB_OK : DB_FAILED;
}

static enum db_result read_seances(struct db_tx *tx, struct fiche_regles *out, struct db_error *err)
{
    const char *params[2] = {out->id, out->id_pvd};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(
        tx->conn,
        "SELECT s.date::text FROM seances s JOIN comites c ON c.id = s.comite_id WHERE c.id_pvd "
        "= $2 AND (s.id = (SELECT f.comite_seance_id FROM fiches_action f WHERE f.id = $1::uuid) "
        "OR s.id IN (SELECT d.seance_id FROM decisions d WHERE d.fiche_action_id = $1::uuid)) "
        "ORDER BY s.date, s.id",
        2, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->seances = calloc(n > 0 ? (size_t)n : 1, sizeof *out->seances);
        if (!out->seances)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++)
            if (!date_parse(PQgetvalue(res, i, 0), &out->seances[i].date))
                r = DB_FAILED;
        if (r == DB_OK)
            out->seance_count = (size_t)n;
    }
    PQclear(res);
    return r;
}

static enum db_result read_lignes(struct db_tx *tx, struct fiche_regles *out,
                                  const char *maitre_ouvrage, struct db_error *err)
{
    const char *params[2] = {out->id, maitre_ouvrage};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(tx->conn,
                                    "SELECT l.dispositif, l.nature_financeur, l.montant, l.statut, "
                                    "l.financeur_id = $2::uuid FROM fiche_financements l WHERE "
                                    "l.fiche_id = $1::uuid ORDER BY l.rang",
                                    2, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->lignes = calloc(n > 0 ? (size_t)n : 1, sizeof *out->lignes);
        if (!out->lignes)
            r = DB_FAILED;
        int64_t somme = 0;
        size_t comptees = 0;
        for (int i = 0; r == DB_OK && i < n; i++) {
            struct financement_ligne *l = &out->lignes[i];
            l->financeur = (size_t)i;
            if (!financement_dispositif_parse(PQgetvalue(res, i, 0), &l->dispositif) ||
                !financement_statut_parse(PQgetvalue(res, i, 3), &l->statut))
                r = DB_FAILED;
            l->public = strcmp(PQgetvalue(res, i, 1), "public") == 0;
            l->montant = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            l->par_maitre_ouvrage = bool_at(res, i, 4);
            if (r == DB_OK && financement_statut_compte(l->statut)) {
                /* each montant ≤ 10^15 (CHECK) and at most 32767 lines: no overflow */
                somme += l->montant;
                comptees++;
            }
        }
        if (r == DB_OK) {
            out->ligne_count = (size_t)n;
            out->plan.ligne_count = comptees;
            out->plan.somme_montants = somme;
        }
    }
    PQclear(res);
    return r;
}

static enum db_result read_echeancier(struct db_tx *tx, struct fiche_regles *out,
                                      struct db_error *err)
{
    const char *params[1] = {out->id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(tx->conn,
                                    "SELECT e.annee, e.montant FROM fiche_echeancier e WHERE "
                                    "e.fiche_id = $1::uuid ORDER BY e.annee",
                                    1, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->echeancier = calloc(n > 0 ? (size_t)n : 1, sizeof *out->echeancier);
        if (!out->echeancier)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++) {
            out->echeancier[i].annee = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
            out->echeancier[i].montant = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        }
        if (r == DB_OK) {
            out->echeancier_count = (size_t)n;
            rule_report_init(&out->r27);
            financement_r27_check(out->echeancier, out->echeancier_count, out->couts.cout_total_ht,
                                  &out->r27);
        }
    }
    PQclear(res);
    return r;
}

static enum db_result read_communes(struct db_conn *conn, struct fiche_regles *out,
                                    struct db_error *err)
{
    enum db_result r = read_codes(
        conn, "SELECT code_insee FROM territoire_communes WHERE id_pvd = $1 ORDER BY rang",
        out->id_pvd, &out->communes_territoire, &out->communes_territoire_count, err);
    if (r == DB_OK)
        r = read_codes(conn,
                       "SELECT DISTINCT m.code_insee FROM territoire_epcis te JOIN epci_membres m "
                       "ON m.epci_siren = te.siren WHERE te.id_pvd = $1 ORDER BY 1",
                       out->id_pvd, &out->communes_epci, &out->communes_epci_count, err);
    if (r == DB_OK) {
        size_t n = out->communes_territoire_count + out->communes_epci_count;
        out->commune_ptrs = calloc(n > 0 ? n : 1, sizeof *out->commune_ptrs);
        if (!out->commune_ptrs)
            return DB_FAILED;
        for (size_t i = 0; i < out->communes_territoire_count; i++)
            out->commune_ptrs[i] = out->communes_territoire[i];
        for (size_t i = 0; i < out->communes_epci_count; i++)
            out->commune_ptrs[out->communes_territoire_count + i] = out->communes_epci[i];
    }
    return r;
}

enum db_result fiche_regles_lire(struct db_tx *tx, const char *id, struct date date_transition,
                                 struct fiche_regles *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    if (!date_is_valid(date_transition))
        return DB_FAILED;
    char date_text[16];
    snprintf(date_text, sizeof date_text, "%04d-%02d-%02d", date_transition.year,
             date_transition.month, date_transition.day);
    struct fiche_row avant;
    enum db_result r = fiche_lock(tx, id, -1, &avant, err);
    if (r != DB_OK)
        return r;
    char maitre_ouvrage[37] = "";
    r = read_main(tx, avant.id, date_text, out, maitre_ouvrage, sizeof maitre_ouvrage, err);
    fiche_row_release(&avant);
    if (r == DB_OK)
        r = read_communes(tx->conn, out, err);
    if (r == DB_OK)
        r = read_seances(tx, out, err);
    if (r == DB_OK)
        r = read_lignes(tx, out, maitre_ouvrage, err);
    if (r == DB_OK)
        r = read_echeancier(tx, out, err);
    if (r != DB_OK)
        fiche_regles_release(out);
    return r;
}

enum db_result fiche_decision_abandon_lire(struct db_tx *tx, const char *id,
                                           const char *decision_id, struct date date_transition,
                                           bool *is_abandon, struct db_error *err)
{
    *is_abandon = false;
    if (!date_is_valid(date_transition))
        return DB_FAILED;
    char date_text[11];
    date_format(date_transition, date_text);
    const char *params[3] = {id, decision_id, date_text};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT EXISTS (SELECT 1 FROM decisions d JOIN seances s ON s.id = d.seance_id WHERE "
        "d.id = " PG_AS_UUID("$2") " AND d.fiche_action_id = " PG_AS_UUID(
            "$1") " AND d.type = 'abandonne_fiche' AND s.date <= $3::date)",
        3, params, &res, err);
    if (r == DB_OK)
        *is_abandon = bool_at(res, 0, 0);
    PQclear(res);
    return r;
}

void fiche_regles_transition_input(const struct fiche_regles *r, enum fiche_etat to,
                                   enum role role_of_caller, struct date date_transition,
                                   const char *motif, struct fiche_transition_input *in)
{
    memset(in, 0, sizeof *in);
    in->from = r->etat;
    in->to = to;
    in->role_of_caller = role_of_caller;
    in->date_transition = date_transition;
    in->seances = r->seances;
    in->seance_count = r->seance_count;
    in->couts = r->couts;
    in->plan = r->plan;
    in->dates = r->dates;
    in->r27_report = &r->r27;
    in->adhesion_signee = r->adhesion_signee;
    in->cadre_signee = r->cadre_signee;
    in->has_date_commencement = r->has_date_commencement;
    in->date_commencement = r->date_commencement;
    in->has_date_achevement = r->has_date_achevement;
    in->date_achevement = r->date_achevement;
    in->indicateurs_sans_mesure = r->indicateurs_sans_mesure;
    in->motif = motif;
    in->has_decision_abandon = r->has_decision_abandon;
}

/* ---- candidate inputs ------------------------------------------------------ */

enum db_result fiche_candidate_lire(struct db_tx *tx, const char *id_pvd, const char *numero,
                                    const char *except_id, const char *axe_id,
                                    struct fiche_regles *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[4] = {id_pvd, numero, except_id, axe_id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT t.id_pvd::text, EXISTS (SELECT 1 FROM fiches_action o WHERE o.id_pvd = t.id_pvd "
        "AND o.numero = $2 AND o.id IS DISTINCT FROM " PG_AS_UUID(
            "$3") "), (SELECT a.id_pvd::text "
                  "FROM axes_strategiques a WHERE a.id = " PG_AS_UUID(
                      "$4") ") FROM territoires t WHERE "
                            "t.id_pvd = $1",
        4, params, &res, err);
    if (r != DB_OK)
        return r;
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->numero, sizeof out->numero, "%s", numero ? numero : "");
    out->numero_deja_utilise = bool_at(res, 0, 1);
    out->has_axe = !PQgetisnull(res, 0, 2);
    snprintf(out->axe_id_pvd, sizeof out->axe_id_pvd, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    r = read_communes(tx->conn, out, err);
    if (r != DB_OK)
        fiche_regles_release(out);
    return r;
}

/* ---- access ---------------------------------------------------------------- */

enum db_result fiche_references_lire(struct db_tx *tx, const char *id_pvd, const char *seance_id,
                                     const char *secteur_id, const char *indicateurs_json,
                                     bool *seance_ok, bool *secteur_ok, char **indicateurs_hors,
                                     struct db_error *err)
{
    const char *params[4] = {id_pvd, seance_id, secteur_id,
                             indicateurs_json ? indicateurs_json : "[]"};
    PGresult *res = NULL;
    *indicateurs_hors = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT $2::text IS NULL OR EXISTS (SELECT 1 FROM seances s JOIN comites c ON c.id = "
        "s.comite_id WHERE s.id = " PG_AS_UUID(
            "$2") " AND c.id_pvd = $1), $3::text IS NULL OR "
                  "EXISTS (SELECT 1 FROM secteurs_intervention si JOIN conventions cv ON cv.id = "
                  "si.convention_id WHERE si.id = " PG_AS_UUID(
                      "$3") " AND cv.id_pvd = $1), "
                            "coalesce((SELECT string_agg((e.n - 1)::text, ',' ORDER BY e.n) FROM "
                            "jsonb_array_elements_text($4::jsonb) WITH ORDINALITY AS e(v, n) WHERE "
                            "NOT EXISTS "
                            "(SELECT 1 FROM indicateurs i JOIN axes_strategiques a ON a.id = "
                            "i.axe_id WHERE i.id = "
                            "CASE WHEN e.v ~ '" PG_UUID_RE
                            "' THEN e.v::uuid END AND a.id_pvd = $1)), '')",
        4, params, &res, err);
    if (r != DB_OK)
        return r;
    *seance_ok = bool_at(res, 0, 0);
    *secteur_ok = bool_at(res, 0, 1);
    *indicateurs_hors = strdup(PQgetvalue(res, 0, 2));
    PQclear(res);
    return *indicateurs_hors ? DB_OK : DB_FAILED;
}
