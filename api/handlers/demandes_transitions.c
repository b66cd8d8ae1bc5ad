/* POST /api/v1/demandes-subvention/{id}/transitions and /versements (issue
 * #10 §3, domain.md §2.4): moves a request along its state machine from
 * its EFFECTIVE state (demande_etat_effectif), for the role that takes the
 * edge (demande_transition_allowed: 409 transition-invalide, 403
 * transition-interdite), with the dates and the decision the edge records
 * in the body; then, in one transaction under the territoire lock and the
 * request's row lock, demande_transition_check on the merged values (R31,
 * R32, R33 on the fiche's plan read in that transaction, R36…) — 422 with
 * each violation's regle, code and pointer, nothing written — and the
 * transition with its journal row. Versements: demande_versements_check on
 * the stored payments plus the new one, by the instructor of the
 * dispositif (or the financer of an "autre" request); the body may carry the
 * declared achèvement (date_achevement_declaree: the solde is paid on the
 * declaration of completion), recorded with the payment. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/fiche_repository.h"
#include "../auth.h"
#include "../json_spec.h"
#include "../query.h"
#include "demandes.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

struct mentions_body {
    const char *m[DEMANDE_MENTION__COUNT];
};
struct decision_body {
    struct mentions_body mentions;
};
struct transition_body {
    const char *vers, *motif_refus;
    struct date dates[7];
    int64_t accorde, taux;
    bool avis;
    struct decision_body decision;
};
#define TB(m) offsetof(struct transition_body, m)
#define MENTION(i, n)                                                                              \
    {                                                                                              \
        .name = n, .kind = JSON_FIELD_STRING,                                                      \
        .offset = offsetof(struct mentions_body, m) + (i) * sizeof(const char *), .min_length = 1, \
        .max_length = 2000                                                                         \
    }
static const struct json_field mention_fields[] = {
    MENTION(0, "beneficiaires"),       MENTION(1, "objet"),
    MENTION(2, "montant_maximum"),     MENTION(3, "calendrier"),
    MENTION(4, "modalites_versement"), JSON_FIELDS_END,
};
static const struct json_field decision_fields[] = {
    {.name = "mentions",
     .kind = JSON_FIELD_OBJECT,
     .offset = offsetof(struct decision_body, mentions),
     .fields = mention_fields},
    JSON_FIELDS_END,
};
#define DATE_FIELD(i, n)                                                                           \
    {                                                                                              \
        .name = n, .kind = JSON_FIELD_DATE, .offset = TB(dates[i])                                 \
    }
static const struct json_field transition_fields[] = {
    {.name = "vers",
     .kind = JSON_FIELD_STRING,
     .offset = TB(vers),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 32},
    DATE_FIELD(0, "date_depot"),
    DATE_FIELD(1, "date_accuse_reception"),
    DATE_FIELD(2, "date_dossier_complet"),
    DATE_FIELD(3, "date_commencement_execution"),
    DATE_FIELD(4, "date_decision"),
    DATE_FIELD(5, "date_notification"),
    DATE_FIELD(6, "date_achevement_declaree"),
    {.name = "montant_accorde_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = TB(accorde),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "taux_accorde",
     .kind = JSON_FIELD_INTEGER,
     .offset = TB(taux),
     .min = 0,
     .max = 10000},
    {.name = "decision",
     .kind = JSON_FIELD_OBJECT,
     .offset = TB(decision),
     .fields = decision_fields},
    {.name = "motif_refus",
     .kind = JSON_FIELD_STRING,
     .offset = TB(motif_refus),
     .min_length = 1,
     .max_length = 2000},
    {.name = "avis_commission_elus", .kind = JSON_FIELD_BOOLEAN, .offset = TB(avis)},
    JSON_FIELDS_END,
};

/* The members a transition body may carry, each only towards the states
 * whose edge records it (any other: 400 incoherent), as a bit set of
 * enum demande_etat. */
#define ETATS(a, b, c) ((1u << (a)) | (1u << (b)) | (1u << (c)))
static const struct {
    const char *member;
    unsigned etats;
} only_for[] = {
    {"date_depot", ETATS(DEMANDE_DEPOSE, DEMANDE_DEPOSE, DEMANDE_DEPOSE)},
    {"date_accuse_reception", ETATS(DEMANDE_DEPOSE, DEMANDE_EN_INSTRUCTION, DEMANDE_DEPOSE)},
    {"date_dossier_complet", ETATS(DEMANDE_DEPOSE, DEMANDE_EN_INSTRUCTION, DEMANDE_DEPOSE)},
    {"date_decision", ETATS(DEMANDE_ACCORDEE, DEMANDE_REFUSEE, DEMANDE_CLASSEE_SANS_SUITE)},
    {"montant_accorde_centimes", ETATS(DEMANDE_ACCORDEE, DEMANDE_ACCORDEE, DEMANDE_ACCORDEE)},
    {"taux_accorde", ETATS(DEMANDE_ACCORDEE, DEMANDE_ACCORDEE, DEMANDE_ACCORDEE)},
    {"decision", ETATS(DEMANDE_ACCORDEE, DEMANDE_ACCORDEE, DEMANDE_ACCORDEE)},
    {"motif_refus", ETATS(DEMANDE_REFUSEE, DEMANDE_REFUSEE, DEMANDE_REFUSEE)},
    {"avis_commission_elus", ETATS(DEMANDE_ACCORDEE, DEMANDE_REFUSEE, DEMANDE_REFUSEE)},
    {"date_notification", ETATS(DEMANDE_NOTIFIEE, DEMANDE_NOTIFIEE, DEMANDE_NOTIFIEE)},
    {"date_commencement_execution", ETATS(DEMANDE_ENGAGEE, DEMANDE_ENGAGEE, DEMANDE_ENGAGEE)},
    {"date_achevement_declaree", ETATS(DEMANDE_SOLDEE, DEMANDE_SOLDEE, DEMANDE_SOLDEE)},
};

/* 400 incoherent for each member given towards a state that does not record
 * it; true when there is none. */
static bool members_for_or_reply(struct request_ctx *ctx, const json_t *body, enum demande_etat to)
{
    FIELD_ERRORS(errs);
    for (size_t i = 0; i < sizeof only_for / sizeof only_for[0]; i++) {
        if (json_object_get(body, only_for[i].member) && !(only_for[i].etats & (1u << to))) {
            char p[64];
            snprintf(p, sizeof p, "/%s", only_for[i].member);
            field_errors_add(&errs, p, NULL, "incoherent",
                             "« %s » ne s'enregistre pas avec la transition vers %s.",
                             only_for[i].member, demande_etat_name(to));
        }
    }
    return body_errors_or_reply(ctx, &errs);
}

/* What every write's unit reads and gives back; the first member of each
 * unit's work, so that write_run fills it and unit_begin starts it. */
struct unit_common {
    const char *id, *doc;
    long revision;
    struct date today;
    const struct parametres *p;
    struct rule_report violations;
    struct demande_row after;
};

/* The start of every unit (it may run again on a serialization retry):
 * releases the previous attempt's result, empties the violations, then
 * demande_lock_lire (locks, revision check, reads). Not DB_OK: nothing to
 * release; DB_OK: the caller releases *avant and json_decref(*stored). */
static enum db_result unit_begin(struct db_tx *tx, struct unit_common *c, struct demande_row *avant,
                                 json_t **stored, struct demande_etat_lu *lu, struct db_error *err)
{
    demande_row_release(&c->after);
    rule_report_init(&c->violations);
    *stored = NULL;
    return demande_lock_lire(tx, c->id, c->revision, avant, stored, lu, err);
}

struct transition_work {
    struct unit_common c;         /* first */
    const char *code_departement; /* the territoire's, for the filing deadline */
    struct rule_report warnings;
    enum demande_etat to;
    enum role role;
    bool financeur;
    const json_t *body;
};

/* The value of member `name`: the body's when given, else the stored one. */
static const json_t *merged(const json_t *stored, const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);
    return v ? v : json_object_get(stored, name);
}

static enum db_result transition_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct transition_work *w = ctx;
    rule_report_init(&w->warnings);
    struct demande_row avant;
    json_t *stored;
    struct demande_etat_lu lu;
    enum db_result r = unit_begin(tx, &w->c, &avant, &stored, &lu, err);
    if (r != DB_OK)
        return r;
    struct demande_transition_input in;
    memset(&in, 0, sizeof in);
    in.from = demande_effectif(&lu, w->c.today, NULL);
    in.to = w->to;
    in.dispositif = lu.echeance.dispositif;
    in.role_of_caller = w->role;
    in.financeur_du_dossier = w->financeur;
    in.today = w->c.today;
    demande_dates_fusion(stored, w->body, &in.dates);
    in.has_fiche = lu.has_fiche;
    in.depense_subventionnable_ht = lu.depense;
    in.montant_sollicite = lu.sollicite;
    in.montant_accorde = json_integer_value(merged(stored, w->body, "montant_accorde_centimes"));
    const json_t *mentions = json_object_get(
        json_object_get(json_object_get(w->body, "decision") ? w->body : stored, "decision"),
        "mentions");
    for (int m = 0; m < DEMANDE_MENTION__COUNT; m++)
        in.mentions[m] = json_string_value(
            json_object_get(mentions, demande_mention_name((enum demande_mention)m)));
    in.avis_commission_elus = json_is_true(merged(stored, w->body, "avis_commission_elus"));
    in.motif_refus = json_string_value(merged(stored, w->body, "motif_refus"));
    const json_t *v;
    size_t i;
    json_array_foreach(json_object_get(stored, "versements"), i, v)
    {
        const char *t = json_string_value(json_object_get(v, "type"));
        in.solde_verse = in.solde_verse || (t && strcmp(t, "solde") == 0);
    }
    in.delais = &w->c.p->delais;
    struct fiche_regles regles;
    bool has_regles = false;
    const char *fiche_id = json_string_value(json_object_get(stored, "fiche_id"));
    if (fiche_id && w->to == DEMANDE_ACCORDEE) { /* R32, R33 on the plan as this tx reads it */
        r = fiche_regles_lire(tx, fiche_id, w->c.today, &regles, err);
        if (r != DB_OK) {
            json_decref(stored);
            demande_row_release(&avant);
            return r;
        }
        has_regles = true;
        in.lignes = regles.lignes;
        in.ligne_count = regles.ligne_count;
    }
    size_t n = demande_transition_check(&in, &w->c.violations);
    if (has_regles)
        fiche_regles_release(&regles);
    if (n == 0 && w->to == DEMANDE_DEPOSE) { /* warnings of the deposit: R37, the deadline */
        struct demande_r37_input r37;
        r = demande_r37_lire(tx->conn, json_string_value(json_object_get(stored, "demandeur_id")),
                             &r37, err);
        if (r != DB_OK) {
            json_decref(stored);
            demande_row_release(&avant);
            return r == DB_NOT_FOUND ? DB_FAILED : r; /* a foreign key */
        }
        demande_r37_check(in.dispositif, &r37, &w->warnings);
        demande_date_limite_check(
            w->c.p, in.dispositif,
            (int)json_integer_value(json_object_get(stored, "annee_programmation")),
            w->code_departement, in.dates.depot.date, &w->warnings);
    }
    if (n == 0 && w->to == DEMANDE_EN_INSTRUCTION &&
        (in.from == DEMANDE_REFUSEE || in.from == DEMANDE_CLASSEE_SANS_SUITE)) {
        /* a reopening: R18 again (another request of the poste and year may have come) */
        r = demande_r18_check(tx, stored, w->c.id, w->c.today, &w->c.violations, err);
        if (r != DB_OK) {
            json_decref(stored);
            demande_row_release(&avant);
            return r;
        }
    }
    json_decref(stored);
    if (n > 0) {
        demande_row_release(&avant);
        return DB_CONFLICT;
    }
    return demande_write(tx, &avant, w->c.doc, demande_etat_name(w->to),
                         "demande_subvention.transition", &w->c.after, err);
}

/* "a, b" or "aucune": the states this caller may move the request to. */
static void possible_list(enum demande_etat from, enum subvention_dispositif d, enum role role,
                          bool financeur, char *out, size_t size)
{
    enum demande_etat to[DEMANDE_ETAT__COUNT];
    size_t n = demande_transitions_possibles(from, d, role, financeur, to, DEMANDE_ETAT__COUNT);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < DEMANDE_ETAT__COUNT && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "",
                                demande_etat_name(to[i]));
    if (n == 0)
        snprintf(out, size, "aucune");
}

/* The common start of the three writes: load + authz, the body's shape
 * into target (target_size bytes, zeroed first), parameters, effective state
 * and the ETag shown (the caller checks If-Match once the body is
 * validated). false: answered. s is zeroed first: write_end releases it
 * (s->doc included) whatever the outcome. */
struct write_start {
    struct demande_row row;
    struct fiche_access access;
    json_t *body, *stored;
    struct demande_etat_lu lu;
    enum demande_etat from;
    struct parametres p;
    struct date today;
    char etag[24]; /* for the caller's If-Match, checked after the body's validation */
    char *doc;     /* the document the write records (owned; the caller sets it) */
};

static bool write_begin(struct request_ctx *ctx, const struct json_field *spec, void *target,
                        size_t target_size, struct write_start *s)
{
    FIELD_ERRORS(errs);
    memset(s, 0, sizeof *s);
    memset(target, 0, target_size);
    if (!demande_load_or_reply(ctx, ACTION_DEMANDE_TRANSITION, &s->row, &s->access))
        return false;
    if (!json_body_read_or_reply(ctx, &s->body))
        return false;
    json_spec_apply(s->body, spec, JSON_SPEC_CREATE, target, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        return false;
    if (!demande_today_parametres_or_reply(ctx, &s->today, &s->p))
        return false;
    s->stored = json_loads(s->row.json, 0, NULL);
    if (!s->stored || !demande_lire_json(s->stored, &s->lu)) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return false;
    }
    s->from = demande_effectif(&s->lu, s->today, NULL);
    demande_etag(&s->row, s->from, s->etag);
    return true;
}

static void write_end(struct write_start *s)
{
    json_decref(s->body);
    json_decref(s->stored);
    demande_row_release(&s->row);
    free(s->doc);
}

/* Fills c (the first member of unit's work) from s and its document s->doc
 * (not taken), runs unit as one journaled mutation, then answers `status`
 * with the request written (warnings: NULL for none) or the mutation's
 * problem (demande_mutate_or_reply). Releases c->after; nothing to free. */
static void write_run(struct request_ctx *ctx, struct write_start *s, db_mutation_fn unit,
                      struct unit_common *c, int status, const struct rule_report *warnings)
{
    c->id = s->row.id;
    c->doc = s->doc;
    c->revision = s->row.revision;
    c->today = s->today;
    c->p = &s->p;
    if (demande_mutate_or_reply(ctx, s->row.id, unit, c, &c->violations, NULL))
        demande_send(ctx, status, &c->after, &s->access, s->today, warnings);
    demande_row_release(&c->after);
}

void handle_transition_demande(struct request_ctx *ctx)
{
    struct write_start s;
    struct transition_body in;
    if (!write_begin(ctx, transition_fields, &in, sizeof in, &s))
        goto out;
    enum demande_etat to = DEMANDE_BROUILLON;
    if (!demande_etat_parse(in.vers, &to)) {
        FIELD_ERRORS(errs);
        field_errors_add(&errs, DEMANDE_PTR_VERS, NULL, "valeur-inconnue",
                         "États d'une demande : brouillon, depose, en_instruction, accordee, "
                         "refusee, classee_sans_suite, rejet_implicite, notifiee, engagee, "
                         "caduque, soldee, forclose.");
        body_errors_or_reply(ctx, &errs);
        goto out;
    }
    if (!members_for_or_reply(ctx, s.body, to) || !if_match_or_reply(ctx, s.etag))
        goto out;
    enum role role = ctx->principal->authz.role;
    bool financeur = demande_financeur_du_dossier(ctx, &s.access);
    enum subvention_dispositif d = s.lu.echeance.dispositif;
    char possible[300], detail[500];
    possible_list(s.from, d, role, financeur, possible, sizeof possible);
    if (!demande_transition_exists(s.from, to)) {
        snprintf(detail, sizeof detail,
                 "Pas de transition de %s vers %s. Transitions possibles pour vous : %s.",
                 demande_etat_name(s.from), demande_etat_name(to), possible);
        FIELD_ERRORS(conflict);
        field_errors_add(&conflict, DEMANDE_PTR_VERS, NULL, "transition-invalide", "%s", detail);
        respond_problem_fields(ctx, PROBLEM_CONFLIT, detail, &conflict);
        goto out;
    }
    if (!demande_transition_allowed(s.from, to, d, role, financeur)) {
        snprintf(detail, sizeof detail,
                 "Votre rôle ne permet pas la transition de %s vers %s%s. Transitions possibles "
                 "pour vous : %s.",
                 demande_etat_name(s.from), demande_etat_name(to),
                 demande_transition_systeme(s.from, to) ? " (constatée par le service à "
                                                          "l'échéance)"
                                                        : "",
                 possible);
        FIELD_ERRORS(refus);
        field_errors_add(&refus, DEMANDE_PTR_VERS, NULL, "transition-interdite", "%s", detail);
        respond_problem_fields(ctx, PROBLEM_INTERDIT, detail, &refus);
        goto out;
    }
    json_object_del(s.body, "vers");
    s.doc = gouv_dump(s.body);
    struct transition_work work;
    memset(&work, 0, sizeof work);
    work.to = to;
    work.role = role;
    work.financeur = financeur;
    work.body = s.body;
    work.code_departement = s.access.scope.code_departement;
    write_run(ctx, &s, transition_unit, &work.c, 200, &work.warnings);
out:
    write_end(&s);
}

/* Whether the caller decides for the dispositif of the request s loaded:
 * ANCT national, or the role that instructs the dispositif (for a financer:
 * of this request's dossier). */
static bool instructeur_du_dossier(struct request_ctx *ctx, struct write_start *s)
{
    enum role role = ctx->principal->authz.role;
    return role == ROLE_ANCT_NATIONAL ||
           (role == demande_instructeur(s->lu.echeance.dispositif) &&
            (role != ROLE_FINANCEUR || demande_financeur_du_dossier(ctx, &s->access)));
}

/* ---- POST /{id}/versements ------------------------------------------------------------ */

static const char *const versement_types[] = {"avance", "acompte", "solde", NULL};
struct versement_body {
    int type;
    struct date date, achevement;
    int64_t montant;
    bool has_achevement;
};
static const struct json_field versement_fields[] = {
    {.name = "type",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct versement_body, type),
     .on_create = JSON_CREATE_REQUIRED,
     .values = versement_types},
    {.name = "date",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct versement_body, date),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "montant_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct versement_body, montant),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 1,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "date_achevement_declaree",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct versement_body, achevement),
     .present_at = JSON_PRESENT_AT(struct versement_body, has_achevement)},
    JSON_FIELDS_END,
};

#define VERSEMENTS_MAX 200

struct versement_work {
    struct unit_common c; /* first */
    struct versement_body nouveau;
};

static enum db_result versement_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct versement_work *w = ctx;
    struct demande_row avant;
    json_t *stored;
    struct demande_etat_lu lu;
    enum db_result r = unit_begin(tx, &w->c, &avant, &stored, &lu, err);
    if (r != DB_OK)
        return r;
    struct demande_versement *vs = calloc(VERSEMENTS_MAX + 1, sizeof *vs);
    if (!vs) {
        json_decref(stored);
        demande_row_release(&avant);
        return DB_FAILED;
    }
    size_t n = 0, i;
    const json_t *v;
    json_array_foreach(json_object_get(stored, "versements"), i, v)
    {
        if (n == VERSEMENTS_MAX)
            break;
        date_parse(json_string_value(json_object_get(v, "date")), &vs[n].date);
        versement_type_parse(json_string_value(json_object_get(v, "type")), &vs[n].type);
        vs[n].montant = json_integer_value(json_object_get(v, "montant_centimes"));
        n++;
    }
    vs[n].date = w->nouveau.date;
    vs[n].type = (enum versement_type)w->nouveau.type;
    vs[n].montant = w->nouveau.montant;
    n++;
    struct demande_dates dates = lu.echeance.dates;
    if (w->nouveau.has_achevement) { /* declared with the request for the solde */
        dates.achevement_declaree.has = true;
        dates.achevement_declaree.date = w->nouveau.achevement;
        demande_dates_check(&dates, w->c.today, &w->c.violations);
    }
    struct demande_versements_input in = {
        .dispositif = lu.echeance.dispositif,
        .montant_accorde = lu.accorde,
        .garantie_bancaire = json_is_true(json_object_get(stored, "garantie_bancaire")),
        .dates = dates,
        .prolongation_forclusion = lu.echeance.prolongation_forclusion,
        .versements = vs,
        .count = n,
    };
    size_t bad = w->c.violations.count + w->c.violations.dropped;
    /* R35: the forclusion delays in force on the commencement (lu.delais) */
    struct parametres_delais delais = w->c.p->delais;
    delais.forclusion_annees = lu.delais.forclusion_annees;
    delais.forclusion_prolongation_annees = lu.delais.forclusion_prolongation_annees;
    bad += demande_versements_check(&in, &delais, w->c.today, &w->c.violations);
    free(vs);
    json_decref(stored);
    if (bad > 0) {
        demande_row_release(&avant);
        return DB_CONFLICT;
    }
    return demande_versement_ajouter(tx, &avant, w->c.doc, w->nouveau.has_achevement, &w->c.after,
                                     err);
}

void handle_versement_demande(struct request_ctx *ctx)
{
    struct write_start s;
    struct versement_body in;
    if (!write_begin(ctx, versement_fields, &in, sizeof in, &s))
        goto out;
    if (!if_match_or_reply(ctx, s.etag))
        goto out;
    if (!instructeur_du_dossier(ctx, &s)) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Les versements sont enregistrés par le service instructeur du "
                        "dispositif (ou le financeur du dossier).");
        goto out;
    }
    if (s.from == DEMANDE_FORCLOSE) {
        struct rule_report v;
        rule_report_init(&v);
        rule_report_add(&v, "R35", "versement-apres-forclusion", "/date",
                        "La subvention est forclose (achèvement non déclaré dans le délai) : "
                        "plus aucun versement n'est possible.");
        programme_respond_violations(ctx, &v);
        goto out;
    }
    if (s.from != DEMANDE_NOTIFIEE && s.from != DEMANDE_ENGAGEE) {
        struct rule_report v;
        rule_report_init(&v);
        rule_report_add(&v, "", "versement-avant-notification", "/date",
                        "Une demande %s ne reçoit pas de versement : seule une décision notifiée "
                        "et en cours d'exécution en reçoit.",
                        demande_etat_name(s.from));
        programme_respond_violations(ctx, &v);
        goto out;
    }
    s.doc = gouv_dump(s.body);
    struct versement_work work;
    memset(&work, 0, sizeof work);
    work.nouveau = in;
    write_run(ctx, &s, versement_unit, &work.c, 201, NULL);
out:
    write_end(&s);
}

/* ---- POST /{id}/prolongations ---------------------------------------------------------- */

/* Wire names of the three extensions (R30 prorogation of the instruction
 * delay, R34 caducité, R35 forclusion). */
static const char *const prolongation_types[] = {"instruction", "caducite", "forclusion", NULL};
enum { PROLONGATION_INSTRUCTION, PROLONGATION_CADUCITE, PROLONGATION_FORCLUSION };

struct prolongation_body {
    int type;
    const char *reference;
    int64_t mois;
    bool has_mois;
};
static const struct json_field prolongation_fields[] = {
    {.name = "type",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct prolongation_body, type),
     .on_create = JSON_CREATE_REQUIRED,
     .values = prolongation_types},
    {.name = "reference",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct prolongation_body, reference),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    {.name = "mois",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct prolongation_body, mois),
     .present_at = JSON_PRESENT_AT(struct prolongation_body, has_mois),
     .min = 1,
     .max = 120},
    JSON_FIELDS_END,
};

/* Whether the extension applies to the request as it stands (stored state
 * `etat`, effective `shown`): appends R30/R34/R35's refusal to v. */
static void prolongation_check(int type, enum subvention_dispositif d, enum demande_etat etat,
                               enum demande_etat shown, const json_t *stored, struct rule_report *v)
{
    static const char *const regles[] = {"R30", "R34", "R35"};
    static const char *const pointers[] = {"/prorogation", "/prolongation_caducite_reference",
                                           "/prolongation_forclusion_reference"};
    bool applies = false, granted = false;
    enum demande_etat lapse = DEMANDE_REJET_IMPLICITE;
    switch (type) {
    case PROLONGATION_INSTRUCTION:
        applies = (d == SUBVENTION_FNADT || d == SUBVENTION_FONDS_VERT_RECYCLAGE_FONCIER) &&
                  (etat == DEMANDE_DEPOSE || etat == DEMANDE_EN_INSTRUCTION);
        break;
    case PROLONGATION_CADUCITE:
        applies = (d == SUBVENTION_DETR || d == SUBVENTION_DSIL) && etat == DEMANDE_NOTIFIEE;
        granted = json_is_string(json_object_get(stored, "prolongation_caducite_reference"));
        lapse = DEMANDE_CADUQUE;
        break;
    default:
        applies = d == SUBVENTION_DETR && etat == DEMANDE_ENGAGEE;
        granted = json_is_string(json_object_get(stored, "prolongation_forclusion_reference"));
        lapse = DEMANDE_FORCLOSE;
        break;
    }
    if (!applies)
        rule_report_add(v, regles[type], "prolongation-non-applicable", pointers[type],
                        "Cette prolongation ne s'applique pas à une demande %s %s.",
                        subvention_dispositif_name(d), demande_etat_name(etat));
    else if (granted)
        rule_report_add(v, regles[type], "prolongation-deja-accordee", pointers[type],
                        "La prolongation a déjà été accordée (une seule fois).");
    else if (shown == lapse)
        rule_report_add(v, regles[type], "prolongation-hors-delai", pointers[type],
                        "Le délai est expiré (la demande est %s) : la prolongation se décide "
                        "avant.",
                        demande_etat_name(shown));
}

struct prolongation_work {
    struct unit_common c; /* first */
    int type;
};

static enum db_result prolongation_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct prolongation_work *w = ctx;
    struct demande_row avant;
    json_t *stored;
    struct demande_etat_lu lu;
    enum db_result r = unit_begin(tx, &w->c, &avant, &stored, &lu, err);
    if (r != DB_OK)
        return r;
    prolongation_check(w->type, lu.echeance.dispositif, lu.echeance.etat,
                       demande_effectif(&lu, w->c.today, NULL), stored, &w->c.violations);
    json_decref(stored);
    if (w->c.violations.count + w->c.violations.dropped > 0) {
        demande_row_release(&avant);
        return DB_CONFLICT;
    }
    return demande_write(tx, &avant, w->c.doc, NULL, "demande_subvention.prolongation", &w->c.after,
                         err);
}

void handle_prolongation_demande(struct request_ctx *ctx)
{
    struct write_start s;
    struct prolongation_body in;
    if (!write_begin(ctx, prolongation_fields, &in, sizeof in, &s))
        goto out;
    FIELD_ERRORS(errs);
    if (in.type == PROLONGATION_INSTRUCTION && !in.has_mois)
        field_errors_add(&errs, "/mois", NULL, "champ-requis",
                         "La prorogation du délai d'instruction (R30) donne son nombre de mois.");
    if (in.type != PROLONGATION_INSTRUCTION && in.has_mois)
        field_errors_add(&errs, "/mois", NULL, "incoherent",
                         "Les prolongations de caducité (R34) et de forclusion (R35) sont d'une "
                         "durée fixée par les paramètres : pas de mois.");
    if (!body_errors_or_reply(ctx, &errs) || !if_match_or_reply(ctx, s.etag))
        goto out;
    if (!instructeur_du_dossier(ctx, &s)) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Les prolongations sont décidées par le service instructeur du "
                        "dispositif.");
        goto out;
    }
    json_t *w = in.type == PROLONGATION_INSTRUCTION
                    ? json_pack("{s:{s:I, s:s}}", "prorogation", "mois", (json_int_t)in.mois,
                                "reference", in.reference)
                : in.type == PROLONGATION_CADUCITE
                    ? json_pack("{s:s}", "prolongation_caducite_reference", in.reference)
                    : json_pack("{s:s}", "prolongation_forclusion_reference", in.reference);
    s.doc = gouv_dump(w);
    json_decref(w);
    struct prolongation_work work;
    memset(&work, 0, sizeof work);
    work.type = in.type;
    write_run(ctx, &s, prolongation_unit, &work.c, 200, NULL);
out:
    write_end(&s);
}
