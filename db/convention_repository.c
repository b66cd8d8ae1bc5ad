/* Convention storage (see convention_repository.h). */
#include "convention_repository.h"
#include "statements.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"
#include "territoire_lock.h"

void convention_row_release(struct convention_row *row)
{
    free(row->json);
    row->json = NULL;
}

static bool opt_date(const char *text, struct date *out)
{
    return text[0] && date_parse(text, out);
}

static PGresult *exec(struct db_conn *conn, const char *sql, int n, const char *const *params,
                      enum db_result *r, struct db_error *err)
{
    PGresult *res = db_exec_params(conn, sql, n, params);
    *r = db_result_from_pg(conn, res, err);
    return res;
}

static const char main_sql[] =
    "SELECT c.id::text, c.type, c.etat, c.id_pvd, coalesce(c.adhesion_id::text, ''), c.revision, "
    "c.numero_version, c.vaut_ort, c.volet_habitat, "
    "coalesce(btrim(c.section_habitat_prive) <> '', false), coalesce(c.date_signature::text, ''), "
    "coalesce((CASE WHEN c.type = 'adhesion' THEN c.date_limite_convention_cadre "
    "ELSE a.date_limite_convention_cadre END)::text, ''), c.en_retard, coalesce(a.etat, ''), "
    "coalesce(a.date_signature::text, ''), coalesce(ep.siren, ''), coalesce(vp.siren, ''), "
    "convention_representation(c)::text, coalesce(c.date_fin::text, '') "
    "FROM conventions c LEFT JOIN conventions a ON a.id = c.adhesion_id "
    "LEFT JOIN LATERAL (SELECT te.siren::text AS siren FROM territoire_epcis te "
    "WHERE te.id_pvd = c.id_pvd ORDER BY te.rang LIMIT 1) ep ON true "
    "LEFT JOIN LATERAL territoire_ville_principale(c.id_pvd) vp ON true "
    "WHERE $1 ~ '" PG_UUID_RE "' AND c.id = CASE WHEN $1 ~ '" PG_UUID_RE "' THEN $1::uuid END";

static enum db_result fill_main(const PGresult *res, int row, void *dst)
{
    struct convention_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    if (!convention_type_parse(PQgetvalue(res, row, 1), &out->type) ||
        !convention_etat_parse(out->type, PQgetvalue(res, row, 2), &out->etat))
        return DB_FAILED;
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 3));
    snprintf(out->adhesion_id, sizeof out->adhesion_id, "%s", PQgetvalue(res, row, 4));
    out->revision = strtol(PQgetvalue(res, row, 5), NULL, 10);
    out->numero_version = (int)strtol(PQgetvalue(res, row, 6), NULL, 10);
    out->vaut_ort = PQgetvalue(res, row, 7)[0] == 't';
    if (!volet_habitat_parse(PQgetvalue(res, row, 8), &out->volet_habitat))
        return DB_FAILED;
    out->has_section_habitat_prive = PQgetvalue(res, row, 9)[0] == 't';
    out->has_date_signature = opt_date(PQgetvalue(res, row, 10), &out->date_signature);
    out->has_date_limite = opt_date(PQgetvalue(res, row, 11), &out->date_limite);
    out->en_retard = PQgetvalue(res, row, 12)[0] == 't';
    out->adhesion_etat = CONVENTION_BROUILLON;
    if (PQgetvalue(res, row, 13)[0] &&
        !convention_etat_parse(CONVENTION_ADHESION, PQgetvalue(res, row, 13), &out->adhesion_etat))
        return DB_FAILED;
    out->adhesion_has_date_signature =
        opt_date(PQgetvalue(res, row, 14), &out->adhesion_date_signature);
    snprintf(out->siren_epci, sizeof out->siren_epci, "%s", PQgetvalue(res, row, 15));
    snprintf(out->siren_ville_principale, sizeof out->siren_ville_principale, "%s",
             PQgetvalue(res, row, 16));
    out->has_date_fin = opt_date(PQgetvalue(res, row, 18), &out->date_fin);
    out->json = pg_strdup(PQgetvalue(res, row, 17));
    return out->json ? DB_OK : DB_FAILED;
}

static enum db_result fill_signataires(struct db_conn *conn, struct convention_row *out,
                                       struct db_error *err)
{
    const char *params[1] = {out->id};
    enum db_result r;
    PGresult *res = exec(conn,
                         "SELECT s.id::text, s.organisation_id::text, o.nature, "
                         "coalesce(o.siren::text, ''), s.role, "
                         "coalesce(s.date_deliberation::text, ''), "
                         "coalesce(s.date_signature::text, '') FROM signataires s "
                         "JOIN organisations o ON o.id = s.organisation_id "
                         "WHERE s.convention_id = $1::uuid ORDER BY s.rang",
                         1, params, &r, err);
    for (int i = 0; r == DB_OK && i < PQntuples(res) && i < CONVENTION_MAX_SIGNATAIRES; i++) {
        struct convention_signataire_row *s = &out->signataires[i];
        snprintf(s->id, sizeof s->id, "%s", PQgetvalue(res, i, 0));
        snprintf(s->organisation_id, sizeof s->organisation_id, "%s", PQgetvalue(res, i, 1));
        if (!organisation_kind_parse(PQgetvalue(res, i, 2), &s->s.kind) ||
            !signataire_role_parse(PQgetvalue(res, i, 4), &s->s.role)) {
            r = DB_FAILED;
            break;
        }
        snprintf(s->s.siren, sizeof s->s.siren, "%s", PQgetvalue(res, i, 3));
        s->s.has_date_deliberation = opt_date(PQgetvalue(res, i, 5), &s->s.date_deliberation);
        s->s.has_date_signature = opt_date(PQgetvalue(res, i, 6), &s->s.date_signature);
        out->signataire_count = (size_t)i + 1;
    }
    PQclear(res);
    if (r != DB_OK)
        return r;
    res = exec(conn,
               "SELECT est_centre_ville_ville_principale FROM secteurs_intervention "
               "WHERE convention_id = $1::uuid ORDER BY rang",
               1, params, &r, err);
    for (int i = 0; r == DB_OK && i < PQntuples(res) && i < CONVENTION_MAX_SECTEURS; i++) {
        out->secteurs[i].est_centre_ville_ville_principale = PQgetvalue(res, i, 0)[0] == 't';
        out->secteur_count = (size_t)i + 1;
    }
    PQclear(res);
    return r;
}

enum db_result convention_get(struct db_conn *conn, const char *id, struct convention_row *out,
                              struct db_error *err)
{
    const char *params[1] = {id};
    enum db_result r = pg_one_row(conn, main_sql, 1, params, fill_main, out, sizeof *out, err);
    if (r == DB_OK)
        r = fill_signataires(conn, out, err);
    if (r != DB_OK)
        convention_row_release(out);
    return r;
}

enum db_result convention_active_adhesion(struct db_conn *conn, const char *id_pvd, char id_out[37],
                                          struct db_error *err)
{
    const char *params[1] = {id_pvd};
    enum db_result r;
    PGresult *res = exec(conn,
                         "SELECT id::text FROM conventions WHERE id_pvd = $1 AND type = 'adhesion' "
                         "AND etat <> 'abandonnee'",
                         1, params, &r, err);
    if (r == DB_OK) {
        if (PQntuples(res) == 0)
            r = DB_NOT_FOUND;
        else
            snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return r;
}

enum db_result convention_organisations(struct db_conn *conn, const char *const *ids, size_t count,
                                        bool *found, enum organisation_kind *kind,
                                        char (*siren)[10], struct db_error *err)
{
    struct pg_buf b = PG_BUF_INIT;
    pg_buf_add(&b, "{", 1);
    for (size_t i = 0; i < count; i++) {
        found[i] = false;
        siren[i][0] = '\0';
        if (i)
            pg_buf_add(&b, ",", 1);
        pg_buf_add(&b, "\"", 1);
        pg_buf_add(&b, ids[i], strlen(ids[i]));
        pg_buf_add(&b, "\"", 1);
    }
    pg_buf_add(&b, "}", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return DB_FAILED;
    }
    const char *params[1] = {b.data};
    enum db_result r;
    PGresult *res = exec(conn,
                         "SELECT o.id::text, o.nature, coalesce(o.siren::text, '') "
                         "FROM organisations o WHERE o.id = ANY ($1::uuid[])",
                         1, params, &r, err);
    for (int row = 0; r == DB_OK && row < PQntuples(res); row++) {
        for (size_t i = 0; i < count; i++) {
            if (strcasecmp(ids[i], PQgetvalue(res, row, 0)) != 0)
                continue;
            found[i] = organisation_kind_parse(PQgetvalue(res, row, 1), &kind[i]);
            snprintf(siren[i], 10, "%s", PQgetvalue(res, row, 2));
        }
    }
    PQclear(res);
    pg_buf_release(&b);
    return r;
}

enum db_result convention_axes(struct db_conn *conn, const char *id_pvd,
                               struct axe_strategique *out, size_t max, size_t *count,
                               struct db_error *err)
{
    const char *params[1] = {id_pvd};
    enum db_result r;
    *count = 0;
    PGresult *res = exec(conn,
                         "SELECT (SELECT count(*) FROM indicateurs i WHERE i.axe_id = a.id) "
                         "FROM axes_strategiques a WHERE a.id_pvd = $1 ORDER BY a.numero",
                         1, params, &r, err);
    for (int i = 0; r == DB_OK && i < PQntuples(res) && (size_t)i < max; i++) {
        out[i].indicateur_count = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        *count = (size_t)i + 1;
    }
    PQclear(res);
    return r;
}

static enum db_result journal_change(struct db_tx *tx, const char *action, const char *id,
                                     const char *avant, const char *apres,
                                     const struct journal_scope *scope, struct db_error *err)
{
    struct journal_entry e = {action, "convention", id, avant, apres, *scope};
    return journal_record(tx, &e, err);
}

/* Locks the row and compares its revision with the one the caller checked
 * (revision < 0: locks without comparing). */
static enum db_result lock_revision(struct db_tx *tx, const char *id, long revision,
                                    struct db_error *err)
{
    const char *params[1] = {id};
    enum db_result r;
    PGresult *res =
        exec(tx->conn, "SELECT revision FROM conventions WHERE id = $1::uuid FOR UPDATE", 1, params,
             &r, err);
    if (r == DB_OK && PQntuples(res) == 0)
        r = DB_NOT_FOUND;
    else if (r == DB_OK && revision >= 0 && strtol(PQgetvalue(res, 0, 0), NULL, 10) != revision)
        r = DB_STALE;
    PQclear(res);
    return r;
}

static enum db_result command(struct db_conn *conn, const char *sql, int n,
                              const char *const *params, struct db_error *err)
{
    enum db_result r;
    PQclear(exec(conn, sql, n, params, &r, err));
    return r;
}

/* Reads the row after a write, journals the change (before may be NULL). */
static enum db_result read_and_journal(struct db_tx *tx, const char *action, const char *id,
                                       const char *before, const struct journal_scope *scope,
                                       struct convention_row *after, struct db_error *err)
{
    enum db_result r = convention_get(tx->conn, id, after, err);
    if (r == DB_OK)
        r = journal_change(tx, action, id, before, after->json, scope, err);
    return r;
}

enum db_result convention_insert(struct db_tx *tx, const char *type, const char *id_pvd,
                                 const char *adhesion_id, const char *doc,
                                 const struct journal_scope *scope, struct convention_row *created,
                                 struct db_error *err)
{
    const char *params[5] = {type, id_pvd, adhesion_id, doc, tx->actor ? tx->actor->acteur : "?"};
    enum db_result r;
    char id[37] = "";
    memset(created, 0, sizeof *created);
    PGresult *res = exec(tx->conn,
                         "INSERT INTO conventions (type, id_pvd, adhesion_id, etat, intitule, "
                         "cree_par) VALUES ($1, $2, $3::uuid, 'brouillon', $4::jsonb->>'intitule', "
                         "$5) RETURNING id::text",
                         5, params, &r, err);
    if (r == DB_OK)
        snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (r != DB_OK)
        return r;
    const char *p2[2] = {id, doc};
    r = command(tx->conn, "SELECT convention_ecrire_contenu($1::uuid, $2::jsonb)", 2, p2, err);
    if (r == DB_OK)
        r = command(tx->conn, "UPDATE conventions SET revision = 1 WHERE id = $1::uuid", 1, p2,
                    err);
    if (r == DB_OK)
        r = read_and_journal(tx, "convention.ecrire", id, NULL, scope, created, err);
    return r;
}

/* The common frame of the updates: lock, before image, statement, after image, journal. */
static enum db_result update_with(struct db_tx *tx, const char *action, const char *id,
                                  long revision, const char *sql, int n, const char *const *params,
                                  const struct journal_scope *scope, struct convention_row *after,
                                  struct db_error *err)
{
    struct convention_row before;
    memset(after, 0, sizeof *after);
    enum db_result r = lock_revision(tx, id, revision, err);
    if (r != DB_OK)
        return r;
    r = convention_get(tx->conn, id, &before, err);
    if (r != DB_OK)
        return r;
    if (sql)
        r = command(tx->conn, sql, n, params, err);
    if (r == DB_OK)
        r = read_and_journal(tx, action, id, before.json, scope, after, err);
    convention_row_release(&before);
    return r;
}

enum db_result convention_update_content(struct db_tx *tx, const char *id, long revision,
                                         const char *doc, const struct journal_scope *scope,
                                         struct convention_row *after, struct db_error *err)
{
    const char *params[2] = {id, doc};
    return update_with(tx, "convention.ecrire", id, revision,
                       "SELECT convention_ecrire_contenu($1::uuid, $2::jsonb)", 2, params, scope,
                       after, err);
}

enum db_result convention_update_deliberations(struct db_tx *tx, const char *id, long revision,
                                               const char *doc, const struct journal_scope *scope,
                                               struct convention_row *after, struct db_error *err)
{
    const char *params[2] = {id, doc};
    return update_with(
        tx, "convention.ecrire", id, revision,
        "WITH e AS (SELECT v, n FROM jsonb_array_elements($2::jsonb->'signataires') "
        "WITH ORDINALITY AS x(v, n)), u AS (UPDATE signataires s SET "
        "date_deliberation = (e.v->>'date_deliberation')::date, "
        "reference_deliberation = e.v->>'reference_deliberation' FROM e "
        "WHERE s.convention_id = $1::uuid AND s.rang = e.n - 1 RETURNING 1) "
        "UPDATE conventions SET revision = revision + 1, modifie_le = now() WHERE id = $1::uuid",
        2, params, scope, after, err);
}

enum db_result convention_record_signature(struct db_tx *tx, const char *id, long revision,
                                           const char *signataire_id, const char *date_signature,
                                           const char *date_deliberation,
                                           const char *reference_deliberation,
                                           const char *signe_par, const struct journal_scope *scope,
                                           struct convention_row *after, struct db_error *err)
{
    const char *params[6] = {
        id, signataire_id, date_signature, date_deliberation, reference_deliberation, signe_par};
    return update_with(
        tx, "convention.signer", id, revision,
        "WITH u AS (UPDATE signataires SET date_signature = $3::date, "
        "date_deliberation = coalesce($4::date, date_deliberation), "
        "reference_deliberation = coalesce($5, reference_deliberation), signe_par = $6 "
        "WHERE convention_id = $1::uuid AND id = $2::uuid RETURNING 1) "
        "UPDATE conventions SET revision = revision + 1, modifie_le = now() WHERE id = $1::uuid",
        6, params, scope, after, err);
}

static enum db_result freeze_version(struct db_tx *tx, const char *id, const char *objet,
                                     const char *date_signature, struct db_error *err)
{
    const char *params[4] = {id, objet, date_signature, tx->actor ? tx->actor->acteur : "?"};
    return command(tx->conn,
                   "INSERT INTO convention_versions (convention_id, numero, date_signature, objet, "
                   "representation, cree_par) SELECT c.id, c.numero_version, $3::date, $2, "
                   "convention_representation(c), $4 FROM conventions c WHERE c.id = $1::uuid",
                   4, params, err);
}

/* The automatic edge signee → relayee of adhésion adhesion_id (its cadre was
 * just signed in tx): nothing when it is not signee. Locked after the cadre
 * (lock order of territoire_lock.h), journaled by "systeme:conventions" with
 * the request id of tx's actor. */
static enum db_result relay_adhesion(struct db_tx *tx, const char *adhesion_id,
                                     const struct journal_scope *scope, struct db_error *err)
{
    struct convention_row before, after;
    enum db_result r = lock_revision(tx, adhesion_id, -1, err);
    if (r == DB_OK)
        r = convention_get(tx->conn, adhesion_id, &before, err);
    if (r != DB_OK)
        return r;
    if (!convention_transition_exists(before.type, before.etat, CONVENTION_RELAYEE)) {
        convention_row_release(&before);
        return DB_OK;
    }
    const char *params[1] = {adhesion_id};
    r = command(tx->conn,
                "UPDATE conventions SET etat = 'relayee', motif = NULL, revision = revision + 1, "
                "modifie_le = now() WHERE id = $1::uuid",
                1, params, err);
    if (r == DB_OK)
        r = convention_get(tx->conn, adhesion_id, &after, err);
    if (r == DB_OK) {
        struct journal_actor systeme = {.acteur = "systeme:conventions",
                                        .request_id = tx->actor ? tx->actor->request_id : NULL};
        struct journal_entry e = {
            "convention.transition", "convention", adhesion_id, before.json, after.json, *scope};
        r = journal_record_as(tx, &systeme, &e, err);
        convention_row_release(&after);
    }
    convention_row_release(&before);
    return r;
}

void convention_input_of(const struct convention_row *row, struct convention_input *in,
                         struct signataire *signataires)
{
    memset(in, 0, sizeof *in);
    for (size_t i = 0; i < row->signataire_count; i++)
        signataires[i] = row->signataires[i].s;
    in->type = row->type;
    in->signataires = signataires;
    in->signataire_count = row->signataire_count;
    in->vaut_ort = row->vaut_ort;
    in->adhesion_etat = row->adhesion_etat;
    in->adhesion_has_date_signature = row->adhesion_has_date_signature;
    in->adhesion_date_signature = row->adhesion_date_signature;
    in->siren_epci = row->siren_epci;
    in->siren_ville_principale = row->siren_ville_principale;
    in->secteurs = row->secteurs;
    in->secteur_count = row->secteur_count;
    in->volet_habitat = row->volet_habitat;
    in->has_section_habitat_prive = row->has_section_habitat_prive;
}

enum db_result convention_lock_for_rules(struct db_tx *tx, const char *id_pvd, const char *id,
                                         long revision, struct convention_row *row,
                                         struct db_error *err)
{
    memset(row, 0, sizeof *row);
    enum db_result r = territoire_lock(tx, id_pvd, err);
    if (r == DB_OK)
        r = lock_revision(tx, id, revision, err);
    if (r == DB_OK)
        r = convention_get(tx->conn, id, row, err);
    if (r == DB_OK && strcmp(row->id_pvd, id_pvd) != 0) {
        convention_row_release(row);
        r = DB_STALE; /* not the territoire locked (an id_pvd never changes) */
    }
    return r;
}

/* What a transition writes besides the state. */
struct convention_change {
    const char *vers;           /* state name */
    const char *motif;          /* or NULL */
    const char *date_signature; /* YYYY-MM-DD or NULL */
    const char *date_limite;    /* YYYY-MM-DD or NULL */
    bool en_retard;
};

/* The rules of entering `to` (domain/convention.h), on rows read in tx under
 * the territoire lock; fills the change to write. */
static enum db_result transition_rules(struct db_tx *tx, const struct convention_row *row,
                                       const struct convention_transition_request *rq,
                                       struct convention_change *change, char sig_text[11],
                                       char limite_text[11], struct rule_report *violations,
                                       struct rule_report *warnings, struct db_error *err)
{
    if (rq->to == CONVENTION_SIGNEE) {
        struct signataire sigs[CONVENTION_MAX_SIGNATAIRES];
        struct convention_input input;
        struct date sig;
        bool late = false;
        convention_input_of(row, &input, sigs);
        convention_check_signature(&input, rq->today, violations, warnings, &late);
        if (!rule_report_any(violations) &&
            convention_date_signature(input.signataires, input.signataire_count, &sig)) {
            date_format(sig, sig_text);
            change->date_signature = sig_text;
            if (row->type == CONVENTION_ADHESION) {
                date_format(convention_r4_date_limite(sig), limite_text);
                change->date_limite = limite_text;
            }
        }
        change->en_retard = late;
    } else if (rq->to == CONVENTION_VALIDEE_COMITE) {
        struct axe_strategique axes[CONVENTION_MAX_AXES];
        size_t count = 0;
        enum db_result r =
            convention_axes(tx->conn, row->id_pvd, axes, CONVENTION_MAX_AXES, &count, err);
        if (r != DB_OK)
            return r;
        convention_r9_check(axes, count, violations); /* R9 */
    }
    return DB_OK;
}

enum db_result convention_transition_checked(struct db_tx *tx,
                                             const struct convention_transition_request *rq,
                                             struct rule_report *violations,
                                             struct rule_report *warnings,
                                             struct convention_row *after, struct db_error *err)
{
    struct convention_row before;
    rule_report_init(violations);
    rule_report_init(warnings);
    memset(after, 0, sizeof *after);
    enum db_result r =
        convention_lock_for_rules(tx, rq->id_pvd, rq->id, rq->revision, &before, err);
    if (r != DB_OK)
        return r;
    /* The state machine, on the row as locked: an automatic caller decides
     * here; an HTTP caller decided on this same revision. */
    if (!convention_transition_exists(before.type, before.etat, rq->to) ||
        (rq->to == CONVENTION_ECHUE &&
         !(before.has_date_fin &&
           convention_echue(before.type, before.etat, before.date_fin, rq->today)))) {
        convention_row_release(&before);
        return DB_STALE;
    }
    struct convention_change change = {convention_etat_name(rq->to), rq->motif, NULL, NULL, false};
    char sig_text[11], limite_text[11];
    r = transition_rules(tx, &before, rq, &change, sig_text, limite_text, violations, warnings,
                         err);
    if (r == DB_OK && rule_report_any(violations))
        r = DB_CONFLICT; /* rolled back: a rule does not hold */
    const char *params[6] = {rq->id,
                             change.vers,
                             change.motif,
                             change.date_signature,
                             change.date_limite,
                             change.en_retard ? "true" : "false"};
    if (r == DB_OK)
        r = command(
            tx->conn,
            "UPDATE conventions SET etat = $2, motif = $3, "
            "date_signature = coalesce($4::date, date_signature), "
            "date_limite_convention_cadre = coalesce($5::date, date_limite_convention_cadre), "
            "en_retard = CASE WHEN $2 = 'signee' THEN $6::boolean ELSE en_retard END, "
            "revision = revision + 1, modifie_le = now() WHERE id = $1::uuid",
            6, params, err);
    if (r == DB_OK && rq->to == CONVENTION_SIGNEE)
        r = freeze_version(tx, rq->id, NULL, change.date_signature, err);
    if (r == DB_OK)
        r = read_and_journal(tx, "convention.transition", rq->id, before.json, rq->scope, after,
                             err);
    if (r == DB_OK && rq->to == CONVENTION_SIGNEE && before.type == CONVENTION_CADRE &&
        before.adhesion_id[0])
        r = relay_adhesion(tx, before.adhesion_id, rq->scope, err);
    convention_row_release(&before);
    return r;
}

enum db_result convention_avenant(struct db_tx *tx, const char *id, long revision, const char *doc,
                                  const char *objet, const char *date_signature,
                                  const struct journal_scope *scope, struct convention_row *after,
                                  struct db_error *err)
{
    struct convention_row before;
    memset(after, 0, sizeof *after);
    enum db_result r = lock_revision(tx, id, revision, err);
    if (r == DB_OK)
        r = convention_get(tx->conn, id, &before, err);
    if (r != DB_OK)
        return r;
    const char *params[2] = {id, doc};
    r = command(tx->conn, "SELECT convention_ecrire_contenu($1::uuid, $2::jsonb)", 2, params, err);
    if (r == DB_OK)
        r = command(tx->conn,
                    "UPDATE conventions SET numero_version = numero_version + 1 "
                    "WHERE id = $1::uuid",
                    1, params, err);
    if (r == DB_OK)
        r = freeze_version(tx, id, objet, date_signature, err);
    if (r == DB_OK)
        r = read_and_journal(tx, "convention.ecrire", id, before.json, scope, after, err);
    convention_row_release(&before);
    return r;
}

/* Parameters shared by the list and the figures: $1 role, $2..$5 perimeter,
 * $6 type, $7 etat, $8 id_pvd, $9 departement, $10 region, $11 en_retard,
 * $12 today. */
/* Visibility: for the préfectures it depends on the territoire only, so the set of visible
 * territoires is computed once per statement (fiche_territoires_visibles, migration 0014: the
 * same rows as convention_visible's préfecture branches) and each row is a hash probe; the
 * per-row convention_visible re-read the territoire's communes for each convention (145 ms to
 * count 10,100 conventions of one territoire, 3 ms this way; issue 12 §4). Other roles keep
 * convention_visible (anct_national: true; collectivités, financeurs: the convention's SIRENs). */
#define FILTER_SQL                                                                                 \
    "CASE WHEN $1 IN ('prefecture_instructeur', 'prefecture_region') THEN c.id_pvd IN (SELECT "    \
    "fiche_territoires_visibles($1, $2::text[], $3::text[], '{}'::text[], '{}'::text[])) "         \
    "ELSE convention_visible(c, $1, $2::text[], $3::text[], $4::text[], $5::text[]) END "          \
    "AND ($6::text IS NULL OR c.type = $6) AND ($7::text IS NULL OR c.etat = $7) "                 \
    "AND ($8::text IS NULL OR c.id_pvd = $8) "                                                     \
    "AND ($9::text IS NULL OR t.code_departement = $9 OR EXISTS (SELECT 1 FROM "                   \
    "territoire_communes tc JOIN communes co ON co.code_insee = tc.code_insee AND co.type = "      \
    "'commune-actuelle' WHERE tc.id_pvd = c.id_pvd AND co.code_departement = $9)) "                \
    "AND ($10::text IS NULL OR t.code_region = $10 OR EXISTS (SELECT 1 FROM "                      \
    "territoire_communes tc JOIN communes co ON co.code_insee = tc.code_insee AND co.type = "      \
    "'commune-actuelle' WHERE tc.id_pvd = c.id_pvd AND co.code_region = $10)) "                    \
    "AND ($11::boolean IS NULL OR convention_en_retard(c, $12::date) = $11::boolean)"

struct filter_params {
    char *arrays[4];
    const char *values[15];
};

static bool filter_params_build(const struct convention_filter *f, struct filter_params *p)
{
    const struct perimeter *pe = f->perimeter;
    static const struct perimeter empty;
    if (!pe)
        pe = &empty;
    memset(p, 0, sizeof *p);
    p->arrays[0] = pg_code_array_literal(&pe->departements[0][0], sizeof pe->departements[0],
                                         pe->departement_count);
    p->arrays[1] =
        pg_code_array_literal(&pe->regions[0][0], sizeof pe->regions[0], pe->region_count);
    p->arrays[2] = pg_code_array_literal(&pe->sirens[0][0], sizeof pe->sirens[0], pe->siren_count);
    p->arrays[3] = pg_code_array_literal(&pe->territoires[0][0], sizeof pe->territoires[0],
                                         pe->territoire_count);
    const char *v[12] = {f->role,        p->arrays[0], p->arrays[1], p->arrays[2],
                         p->arrays[3],   f->type,      f->etat,      f->id_pvd,
                         f->departement, f->region,    f->en_retard, f->today};
    memcpy(p->values, v, sizeof v);
    return p->arrays[0] && p->arrays[1] && p->arrays[2] && p->arrays[3];
}

static void filter_params_release(struct filter_params *p)
{
    for (int i = 0; i < 4; i++)
        free(p->arrays[i]);
}

static const struct list_sync_columns list_columns = {"c.modifie_le", "c.id", "uuid", NULL};

enum db_result convention_list(struct db_conn *conn, const struct convention_filter *f,
                               const char *after, size_t limit, char **json_out, char last_id[65],
                               bool *more, size_t *total, struct db_error *err)
{
    struct filter_params p;
    enum db_result r = DB_FAILED;
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    if (filter_params_build(f, &p))
        r = list_sync_page(conn, &f->sync, &list_columns,
                           "(convention_representation(c) || jsonb_build_object('_sirens', "
                           "convention_sirens(c)))::text",
                           "FROM conventions c JOIN territoires t ON t.id_pvd = c.id_pvd "
                           "WHERE " FILTER_SQL,
                           13, p.values, after, limit, json_out, last_id, more, total, err);
    filter_params_release(&p);
    return r;
}

enum db_result convention_statistiques(struct db_conn *conn, const struct convention_filter *f,
                                       char **json_out, struct db_error *err)
{
    struct filter_params p;
    enum db_result r = DB_FAILED;
    *json_out = NULL;
    if (filter_params_build(f, &p)) {
        PGresult *res = exec(
            conn,
            "WITH v AS (SELECT c.*, t.code_departement AS dep, t.code_region AS reg, "
            "convention_en_retard(c, $12::date) AS retard FROM conventions c "
            "JOIN territoires t ON t.id_pvd = c.id_pvd WHERE " FILTER_SQL "), "
            "d AS (SELECT (k.date_signature - a.date_signature) AS jours FROM v k "
            "JOIN conventions a ON a.id = k.adhesion_id WHERE k.type = 'cadre' "
            "AND k.date_signature IS NOT NULL AND a.date_signature IS NOT NULL) "
            "SELECT jsonb_build_object("
            "'total', (SELECT count(*) FROM v), "
            "'par_type_etat', (SELECT coalesce(jsonb_agg(jsonb_build_object('type', type, 'etat', "
            "etat, 'nombre', n) ORDER BY type, etat), '[]') FROM (SELECT type, etat, count(*) n "
            "FROM v GROUP BY type, etat) x), "
            "'par_departement', (SELECT coalesce(jsonb_agg(jsonb_build_object('code_departement', "
            "dep, 'nombre', n) ORDER BY dep), '[]') FROM (SELECT dep, count(*) n FROM v "
            "GROUP BY dep) x), "
            "'par_region', (SELECT coalesce(jsonb_agg(jsonb_build_object('code_region', reg, "
            "'nombre', n) ORDER BY reg), '[]') FROM (SELECT reg, count(*) n FROM v GROUP BY reg) "
            "x), "
            "'adhesions_en_retard', (SELECT count(*) FROM v WHERE type = 'adhesion' AND retard), "
            "'cadres_en_retard', (SELECT count(*) FROM v WHERE type = 'cadre' AND retard), "
            "'delai_median_adhesion_cadre_jours', (SELECT percentile_disc(0.5) WITHIN GROUP "
            "(ORDER BY jours) FROM d), "
            "'date_calcul', $12::date)::text",
            12, p.values, &r, err);
        if (r == DB_OK) {
            *json_out = pg_strdup(PQgetvalue(res, 0, 0));
            if (!*json_out)
                r = DB_FAILED;
        }
        PQclear(res);
    }
    filter_params_release(&p);
    return r;
}

enum db_result convention_versions(struct db_conn *conn, const char *id, long after, size_t limit,
                                   char **json_out, char last[24], bool *more, size_t *total,
                                   struct db_error *err)
{
    char after_text[24], limit_text[24];
    snprintf(after_text, sizeof after_text, "%ld", after);
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[3] = {id, after_text, limit_text};
    enum db_result r;
    *json_out = NULL;
    last[0] = '\0';
    *more = false;
    PGresult *res =
        exec(conn,
             "SELECT v.numero::text, jsonb_build_object('numero', v.numero, 'date_signature', "
             "v.date_signature, 'objet', v.objet, 'cree_par', v.cree_par, 'cree_le', "
             "horodatage(v.cree_le), 'convention', v.representation)::text "
             "FROM convention_versions v WHERE v.convention_id = $1::uuid AND v.numero > $2::int "
             "ORDER BY v.numero LIMIT $3::int",
             3, params, &r, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn,
                     "SELECT count(*) FROM convention_versions v WHERE v.convention_id = $1::uuid",
                     1, params, total, err);
    return r;
}

enum db_result convention_version(struct db_conn *conn, const char *id, long numero,
                                  char **json_out, struct db_error *err)
{
    char numero_text[24];
    snprintf(numero_text, sizeof numero_text, "%ld", numero);
    const char *params[2] = {id, numero_text};
    enum db_result r;
    *json_out = NULL;
    PGresult *res =
        exec(conn,
             "SELECT jsonb_build_object('numero', v.numero, 'date_signature', v.date_signature, "
             "'objet', v.objet, 'cree_par', v.cree_par, 'cree_le', horodatage(v.cree_le), "
             "'convention', v.representation)::text FROM convention_versions v "
             "WHERE v.convention_id = $1::uuid AND v.numero = $2::int",
             2, params, &r, err);
    if (r == DB_OK) {
        if (PQntuples(res) == 0)
            r = DB_NOT_FOUND;
        else if (!(*json_out = pg_strdup(PQgetvalue(res, 0, 0))))
            r = DB_FAILED;
    }
    PQclear(res);
    return r;
}

enum db_result convention_cadre_etat(struct db_conn *conn, const char *id_pvd, bool *found,
                                     enum convention_etat *etat, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res =
        db_exec_params(conn,
                       "SELECT etat FROM conventions WHERE id_pvd = $1 AND type = 'cadre' "
                       "AND etat NOT IN ('resiliee', 'echue') ORDER BY cree_le DESC LIMIT 1",
                       1, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    *found = false;
    if (r == DB_OK && PQntuples(res) == 1) {
        if (!convention_etat_parse(CONVENTION_CADRE, PQgetvalue(res, 0, 0), etat))
            r = DB_FAILED;
        else
            *found = true;
    }
    PQclear(res);
    return r;
}
