/* What happens to a convention after its draft (issue #4 §2, domain.md §2.1,
 * §2.2): signatures of its signataires, state transitions with the rules
 * checked on entering signee (R4–R8, R10) and validee_comite (R9), avenants
 * and the signed versions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/territoire_lock.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "conventions_common.h"
#include "handlers.h"
#include "programme.h"

/* Rewrites the pointers of a report produced on a one-signataire input
 * ("/signataires/0/date_signature") into the request body's ("/date_signature"). */
static void body_pointers(struct rule_report *r, size_t from)
{
    for (size_t i = from; i < r->count; i++) {
        const char *last = strrchr(r->items[i].pointer, '/');
        if (last && strncmp(r->items[i].pointer, "/signataires/", 13) == 0)
            memmove(r->items[i].pointer, last, strlen(last) + 1);
    }
}

/* Prefixes every pointer from index `from` with prefix. */
static void prefix_pointers(struct rule_report *r, size_t from, const char *prefix)
{
    for (size_t i = from; i < r->count; i++) {
        char p[sizeof r->items[i].pointer];
        snprintf(p, sizeof p, "%s%s", prefix, r->items[i].pointer);
        memcpy(r->items[i].pointer, p, sizeof p);
    }
}

static void respond_etat(struct request_ctx *ctx, const struct convention_row *row,
                         const char *expected)
{
    char detail[200];
    snprintf(detail, sizeof detail, "La convention est %s : cette opération demande l'état %s.",
             convention_etat_name(row->etat), expected);
    convention_respond_conflict(ctx, "", "etat-incompatible", detail);
}

/* ---- POST /api/v1/conventions/:id/signatures ----------------------------- */

struct signature_body {
    const char *signataire_id;
    struct date date_signature;
    struct date date_deliberation;
    bool has_date_deliberation;
    const char *reference_deliberation;
};

static const struct json_field signature_fields[] = {
    {.name = "signataire_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signature_body, signataire_id),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_uuid,
     .check_message = "Identifiant de signataire (UUID) attendu."},
    {.name = "date_signature",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct signature_body, date_signature),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "date_deliberation",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct signature_body, date_deliberation),
     .present_at = JSON_PRESENT_AT(struct signature_body, has_date_deliberation)},
    {.name = "reference_deliberation",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signature_body, reference_deliberation),
     .min_length = 1,
     .max_length = 200},
    JSON_FIELDS_END,
};

struct signature_work {
    const char *id, *id_pvd, *signataire_id, *date_signature, *date_deliberation, *reference, *by;
    long revision;
    const struct journal_scope *scope;
    struct convention_row after;
};

static enum db_result signature_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct signature_work *w = ctx;
    convention_row_release(&w->after);
    enum db_result r = territoire_lock(tx, w->id_pvd, err); /* lock order: territoire_lock.h */
    if (r != DB_OK)
        return r;
    return convention_record_signature(tx, w->id, w->revision, w->signataire_id, w->date_signature,
                                       w->date_deliberation, w->reference, w->by, w->scope,
                                       &w->after, err);
}

void handle_sign_convention(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    json_t *body = NULL;
    FIELD_ERRORS(errs);
    char etag[24];
    if (!convention_write_begin_or_reply(ctx, ACTION_CONVENTION_SIGN, &row, &scope, etag, &body))
        return;
    struct signature_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, signature_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    if (!if_match_or_reply(ctx, etag))
        goto out;
    if (row.etat != CONVENTION_EN_SIGNATURE) {
        respond_etat(ctx, &row, "en_signature");
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    const struct convention_signataire_row *target = NULL;
    for (size_t i = 0; i < row.signataire_count && !target; i++)
        if (strcasecmp(row.signataires[i].id, in.signataire_id) == 0)
            target = &row.signataires[i];
    if (!target) {
        rule_report_add(&violations, "", "signataire-inconnu", "/signataire_id",
                        "La convention n'a pas de signataire %s.", in.signataire_id);
    } else if (target->s.role == SIGNATAIRE_EN_PRESENCE_DE) {
        rule_report_add(&violations, "", "signataire-sans-signature", "/signataire_id",
                        "Un signataire « en présence de » assiste à la signature sans signer.");
    }
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    if (target->s.has_date_signature) {
        convention_respond_conflict(ctx, "/signataire_id", "signature-deja-enregistree",
                                    "La signature de ce signataire est déjà enregistrée.");
        goto out;
    }
    if (!signataire_may_sign(ctx->principal->authz.role, target->s.kind)) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        target->s.kind == ORGANISATION_ETAT
                            ? "Seule une préfecture signe pour l'État."
                        : organisation_kind_is_collectivite(target->s.kind)
                            ? "Seul un élu (collectivite_elu) signe pour une collectivité."
                            : "Votre rôle ne permet pas de signer pour cette organisation.");
        goto out;
    }
    if (!signataire_represented_by(&ctx->principal->authz, target->s.siren, row.id_pvd)) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Votre habilitation ne couvre pas cette organisation : seul son "
                        "représentant habilité signe pour elle.");
        goto out;
    }
    struct signataire one = target->s;
    one.has_date_signature = true;
    one.date_signature = in.date_signature;
    if (in.has_date_deliberation) {
        one.has_date_deliberation = true;
        one.date_deliberation = in.date_deliberation;
    }
    struct convention_input input;
    memset(&input, 0, sizeof input);
    input.type = row.type;
    input.signataires = &one;
    input.signataire_count = 1;
    struct date today;
    programme_today(&today);
    convention_dates_futures_check(&input, today, &violations);
    convention_r8_check(&input, &violations); /* R8: délibération on or before the signature */
    body_pointers(&violations, 0);
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    char sig[11], delib[11];
    date_format(in.date_signature, sig);
    if (in.has_date_deliberation)
        date_format(in.date_deliberation, delib);
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct signature_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.id_pvd = row.id_pvd;
    work.signataire_id = target->id;
    work.date_signature = sig;
    work.date_deliberation = in.has_date_deliberation ? delib : NULL;
    work.reference = in.reference_deliberation;
    work.by = ctx->principal->acteur;
    work.revision = row.revision;
    work.scope = &jscope;
    if (convention_mutate_or_reply(ctx, row.id, signature_unit, &work, NULL, NULL))
        convention_send(ctx, 200, &work.after, &scope, NULL);
    convention_row_release(&work.after);
out:
    json_decref(body);
    convention_row_release(&row);
}

/* ---- POST /api/v1/conventions/:id/transitions ---------------------------- */

struct transition_body {
    const char *vers;
    const char *motif;
};

static const struct json_field transition_fields[] = {
    {.name = "vers",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct transition_body, vers),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 32},
    {.name = "motif",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct transition_body, motif),
     .nullable = true,
     .min_length = 1,
     .max_length = 2000},
    JSON_FIELDS_END,
};

struct transition_work {
    struct convention_transition_request rq;
    struct rule_report violations, warnings; /* R4–R10 at signee, R9 at validee_comite */
    struct convention_row after;
};

/* The rules are checked in the write (convention_transition_checked): rows
 * read under the territoire lock, not on another connection. */
static enum db_result transition_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct transition_work *w = ctx;
    convention_row_release(&w->after);
    return convention_transition_checked(tx, &w->rq, &w->violations, &w->warnings, &w->after, err);
}

static bool anyone_may(enum convention_type type, enum convention_etat from,
                       enum convention_etat to)
{
    for (int role = 0; role < ROLE__COUNT; role++)
        if (convention_transition_allowed(type, from, to, (enum role)role))
            return true;
    return false;
}

/* "a, b" or "aucune": the states this caller may move the convention to. */
static void possible_list(const struct convention_row *row, enum role role, char *out, size_t size)
{
    enum convention_etat to[CONVENTION_ETAT__COUNT];
    size_t n =
        convention_transitions_possibles(row->type, row->etat, role, to, CONVENTION_ETAT__COUNT);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < CONVENTION_ETAT__COUNT && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "",
                                convention_etat_name(to[i]));
    if (n == 0)
        snprintf(out, size, "aucune");
}

void handle_transition_convention(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    json_t *body = NULL;
    FIELD_ERRORS(errs);
    char etag[24];
    if (!convention_write_begin_or_reply(ctx, ACTION_CONVENTION_TRANSITION, &row, &scope, etag,
                                         &body))
        return;
    struct transition_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, transition_fields, JSON_SPEC_CREATE, &in, "", &errs);
    enum convention_etat to = CONVENTION_BROUILLON;
    if (in.vers && !convention_etat_parse(row.type, in.vers, &to))
        field_errors_add(&errs, "/vers", NULL, "valeur-inconnue",
                         row.type == CONVENTION_ADHESION
                             ? "États d'une convention d'adhésion : brouillon, en_signature, "
                               "signee, relayee, abandonnee."
                             : "États d'une convention-cadre : brouillon, en_concertation, "
                               "validee_comite, en_signature, signee, echue, resiliee.");
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    if (!if_match_or_reply(ctx, etag))
        goto out;
    enum role role = ctx->principal->authz.role;
    char possible[200], detail[400];
    possible_list(&row, role, possible, sizeof possible);
    if (!convention_transition_exists(row.type, row.etat, to)) {
        snprintf(detail, sizeof detail,
                 "Pas de transition de %s vers %s. Transitions possibles pour vous : %s.",
                 convention_etat_name(row.etat), in.vers, possible);
        convention_respond_conflict(ctx, "/vers", "transition-invalide", detail);
        goto out;
    }
    if (!anyone_may(row.type, row.etat, to)) {
        snprintf(detail, sizeof detail,
                 "La transition de %s vers %s est appliquée par le service lui-même. "
                 "Transitions possibles pour vous : %s.",
                 convention_etat_name(row.etat), in.vers, possible);
        convention_respond_conflict(ctx, "/vers", "transition-automatique", detail);
        goto out;
    }
    if (!convention_transition_allowed(row.type, row.etat, to, role)) {
        snprintf(detail, sizeof detail,
                 "Votre rôle ne permet pas la transition de %s vers %s. Transitions possibles "
                 "pour vous : %s.",
                 convention_etat_name(row.etat), in.vers, possible);
        respond_problem(ctx, PROBLEM_INTERDIT, detail);
        goto out;
    }
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct transition_work work;
    memset(&work, 0, sizeof work);
    work.rq.id_pvd = row.id_pvd;
    work.rq.id = row.id;
    work.rq.revision = row.revision;
    work.rq.to = to;
    work.rq.motif = in.motif;
    programme_today(&work.rq.today);
    work.rq.scope = &jscope;
    if (convention_mutate_or_reply(ctx, row.id, transition_unit, &work, &work.violations, NULL))
        convention_send(ctx, 200, &work.after, &scope, &work.warnings);
    convention_row_release(&work.after);
out:
    json_decref(body);
    convention_row_release(&row);
}

/* ---- POST /api/v1/conventions/:id/avenants ------------------------------- */

struct avenant_body {
    const char *objet;
    struct date date_signature;
    const json_t *modifications;
};

static const struct json_field avenant_fields[] = {
    {.name = "objet",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct avenant_body, objet),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 2000},
    {.name = "date_signature",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct avenant_body, date_signature),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "modifications",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct avenant_body, modifications),
     .on_create = JSON_CREATE_REQUIRED},
    JSON_FIELDS_END,
};

struct avenant_work {
    const char *id, *id_pvd, *doc, *objet, *date_signature;
    long revision;
    const json_t *modifications;
    const struct journal_scope *scope;
    struct rule_report violations; /* R6, R7, R10 of a cadre as the avenant leaves it */
    struct convention_row after;
};

static void apply_modifications(const json_t *m, struct convention_input *in,
                                struct secteur_ort *secteurs);

/* R6 reads the territoire's EPCI and its ville principale: checked on the
 * rows read in the write, under the territoire lock (the territoire PATCH
 * takes it too). */
static enum db_result avenant_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct avenant_work *w = ctx;
    struct convention_row row;
    convention_row_release(&w->after);
    rule_report_init(&w->violations);
    enum db_result r = convention_lock_for_rules(tx, w->id_pvd, w->id, w->revision, &row, err);
    if (r != DB_OK)
        return r;
    if (row.type == CONVENTION_CADRE) {
        struct signataire sigs[CONVENTION_MAX_SIGNATAIRES];
        struct secteur_ort sect[CONVENTION_MAX_SECTEURS];
        struct convention_input input;
        convention_input_of(&row, &input, sigs);
        apply_modifications(w->modifications, &input, sect);
        convention_r6_check(&input, &w->violations);  /* R6: vaut_ort may have been switched on */
        convention_r7_check(&input, &w->violations);  /* R7 */
        convention_r10_check(&input, &w->violations); /* R10 */
        prefix_pointers(&w->violations, 0, "/modifications");
    }
    convention_row_release(&row);
    if (rule_report_any(&w->violations))
        return DB_CONFLICT; /* rolled back: nothing written */
    return convention_avenant(tx, w->id, w->revision, w->doc, w->objet, w->date_signature, w->scope,
                              &w->after, err);
}

/* The cadre as the avenant would leave it, for R7 and R10. */
static void apply_modifications(const json_t *m, struct convention_input *in,
                                struct secteur_ort *secteurs)
{
    const json_t *v;
    if ((v = json_object_get(m, "vaut_ort")) && json_is_boolean(v))
        in->vaut_ort = json_is_true(v);
    if ((v = json_object_get(m, "volet_habitat")))
        volet_habitat_parse(json_string_value(v), &in->volet_habitat);
    if ((v = json_object_get(m, "section_habitat_prive"))) {
        const char *s = json_string_value(v);
        in->has_section_habitat_prive = s && s[strspn(s, " \t\r\n")] != '\0';
    }
    if ((v = json_object_get(m, "secteurs_intervention")) && json_is_array(v)) {
        size_t i;
        const json_t *item;
        in->secteur_count = 0;
        json_array_foreach(v, i, item)
        {
            if (i >= CONVENTION_MAX_SECTEURS)
                break;
            secteurs[i].est_centre_ville_ville_principale =
                json_is_true(json_object_get(item, "est_centre_ville_ville_principale"));
            in->secteur_count = i + 1;
        }
        in->secteurs = secteurs;
    }
}

void handle_create_avenant(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    json_t *body = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    char etag[24];
    if (!convention_write_begin_or_reply(ctx, ACTION_CONVENTION_WRITE, &row, &scope, etag, &body))
        return;
    struct avenant_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, avenant_fields, JSON_SPEC_CREATE, &in, "", &errs);
    const json_t *signataires = NULL, *secteurs = NULL;
    if (in.modifications && !json_is_object(in.modifications))
        field_errors_add(&errs, "/modifications", NULL, "type-invalide",
                         "La valeur doit être un objet (JSON Merge Patch du contenu).");
    else if (in.modifications)
        convention_content_check(in.modifications, row.type, CONTENT_AVENANT, "/modifications",
                                 &errs, &signataires, &secteurs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    if (!if_match_or_reply(ctx, etag))
        goto out;
    if (row.etat != CONVENTION_SIGNEE) {
        respond_etat(ctx, &row, "signee");
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    struct date today;
    programme_today(&today);
    char d[11];
    date_format(in.date_signature, d);
    if (date_compare(in.date_signature, today) > 0)
        rule_report_add(&violations, "", "date-signature-future", "/date_signature",
                        "La date de signature %s est dans le futur.", d);
    if (row.has_date_signature && date_compare(in.date_signature, row.date_signature) < 0)
        rule_report_add(&violations, "", "avenant-anterieur-convention", "/date_signature",
                        "Un avenant ne peut être signé (%s) avant la convention qu'il modifie.", d);
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    doc = json_dumps(in.modifications, JSON_COMPACT);
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct avenant_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.id_pvd = row.id_pvd;
    work.modifications = in.modifications;
    work.doc = doc;
    work.objet = in.objet;
    work.date_signature = d;
    work.revision = row.revision;
    work.scope = &jscope;
    if (convention_mutate_or_reply(ctx, row.id, avenant_unit, &work, &work.violations, NULL)) {
        char location[120];
        snprintf(location, sizeof location, "/api/v1/conventions/%s/versions/%d", row.id,
                 work.after.numero_version);
        u_map_put(ctx->res->map_header, "Location", location);
        convention_send(ctx, 201, &work.after, &scope, NULL);
    }
    convention_row_release(&work.after);
out:
    free(doc);
    json_decref(body);
    convention_row_release(&row);
}

/* ---- GET /api/v1/conventions/:id/versions[/:numero] ---------------------- */

void handle_list_convention_versions(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    if (!convention_load_path_or_reply(ctx, ACTION_CONVENTION_READ, query_page_params, &row,
                                       &scope))
        return;
    struct query_page q;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_or_reply(ctx, query_page_params, &q))
        goto out;
    size_t limit = q.limit;
    uint32_t fp = cursor_fingerprint(row.id);
    if (!query_keyed_cursor_or_reply(ctx, "versions", fp, query_version_key_valid, key, &after))
        goto out;
    long after_numero = after ? strtol(after, NULL, 10) : 0;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[24];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = convention_versions(conn, row.id, after_numero, limit, &json, last, &more, &total,
                                &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK)
        respond_db_error(ctx, r, &err);
    else
        respond_page(ctx, query_page_params, json, "versions", fp, last, more, total);
    free(json);
out:
    convention_row_release(&row);
}

void handle_get_convention_version(struct request_ctx *ctx)
{
    long numero = 0;
    if (!query_version_or_reply(ctx, "numero", &numero))
        return;
    struct convention_row row;
    struct territoire_scope scope;
    if (!convention_load_path_or_reply(ctx, ACTION_CONVENTION_READ, NULL, &row, &scope))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = convention_version(conn, row.id, numero, &json, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (respond_lookup_or_reply(ctx, r, &err,
                                "Cette convention n'a pas (encore) de version signée de ce "
                                "numéro.")) {
        char etag[24];
        http_etag(json, strlen(json), etag);
        respond_conditional_json(ctx, json, strlen(json), etag);
    }
    free(json);
    convention_row_release(&row);
}
