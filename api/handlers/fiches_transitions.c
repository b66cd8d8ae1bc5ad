/* POST /api/v1/fiches-action/{id}/transitions (issue #9 §1, domain.md §2.3):
 * moves a fiche along its state machine. The edge must exist (409
 * transition-invalide) and be the caller's role's (403
 * transition-interdite); then, in one transaction under the territoire lock
 * and the fiche's row lock, every rule of the target state is checked on
 * what that transaction reads (fiche_regles_lire: R23–R28, the dates of the
 * commencement and the achèvement, the indicateurs' mesures) — 422 with each
 * violation's regle, code and pointer, nothing written — and the transition
 * is written with its journal row. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth.h"
#include "../json_spec.h"
#include "../query.h"
#include "fiches_common.h"
#include "handlers.h"
#include "programme.h"

struct transition_body {
    const char *vers;
    const char *motif;
    const char *decision_id;
    struct date date_commencement, date_achevement;
    bool has_decision, has_commencement, has_achevement;
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
    {.name = "decision_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct transition_body, decision_id),
     .present_at = JSON_PRESENT_AT(struct transition_body, has_decision),
     .check = query_is_uuid,
     .check_message = "Un UUID de décision du comité de projet."},
    {.name = "date_commencement",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct transition_body, date_commencement),
     .present_at = JSON_PRESENT_AT(struct transition_body, has_commencement)},
    {.name = "date_achevement",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct transition_body, date_achevement),
     .present_at = JSON_PRESENT_AT(struct transition_body, has_achevement)},
    JSON_FIELDS_END,
};

struct transition_work {
    const char *id;
    long revision;
    enum fiche_etat to;
    enum role role;
    struct date today;
    const struct transition_body *in;
    struct rule_report violations;
    struct fiche_row after;
};

/* Reads every rule input under the locks, checks the transition with the
 * request's own dates and décision, writes it when nothing is violated
 * (DB_CONFLICT with the violations otherwise). */
static enum db_result transition_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct transition_work *w = ctx;
    fiche_row_release(&w->after);
    rule_report_init(&w->violations);
    struct fiche_regles regles;
    enum db_result r = fiche_regles_lire(tx, w->id, w->today, &regles, err);
    if (r != DB_OK)
        return r;
    if (regles.revision != w->revision) { /* changed since If-Match was checked */
        fiche_regles_release(&regles);
        return DB_STALE;
    }
    struct fiche_transition_input in;
    fiche_regles_transition_input(&regles, w->to, w->role, w->today, w->in->motif, &in);
    if (w->in->has_commencement) {
        in.has_date_commencement = true;
        in.date_commencement = w->in->date_commencement;
    }
    if (w->in->has_achevement) {
        in.has_date_achevement = true;
        in.date_achevement = w->in->date_achevement;
    }
    if (w->in->has_decision) { /* R28 reads the named décision, not any of them */
        r = fiche_decision_abandon_lire(tx, w->id, w->in->decision_id, w->today,
                                        &in.has_decision_abandon, err);
        if (r != DB_OK) {
            fiche_regles_release(&regles);
            return r;
        }
    }
    size_t n = fiche_transition_check(&in, &w->violations);
    fiche_regles_release(&regles);
    if (n > 0)
        return DB_CONFLICT;
    char commencement[11] = "", achevement[11] = "";
    if (w->in->has_commencement)
        date_format(w->in->date_commencement, commencement);
    if (w->in->has_achevement)
        date_format(w->in->date_achevement, achevement);
    return fiche_write_transition(tx, w->id, w->revision, w->to, w->in->motif,
                                  commencement[0] ? commencement : NULL,
                                  achevement[0] ? achevement : NULL, &w->after, err);
}

/* "a, b" or "aucune": the states this caller may move the fiche to. */
static void possible_list(enum fiche_etat from, enum role role, char *out, size_t size)
{
    enum fiche_etat to[FICHE_ETAT__COUNT];
    size_t n = fiche_transitions_possibles(from, role, to, FICHE_ETAT__COUNT);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < FICHE_ETAT__COUNT && len < size; i++)
        len +=
            (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "", fiche_etat_name(to[i]));
    if (n == 0)
        snprintf(out, size, "aucune");
}

/* A member that only one target state reads, given for another: 400. */
static void only_for(struct field_errors *errs, bool given, bool wanted, const char *pointer,
                     const char *etat)
{
    if (given && !wanted)
        field_errors_add(errs, pointer, NULL, "incoherent",
                         "« %s » ne se donne que pour la transition vers %s.", pointer + 1, etat);
}

/* The stored etat of a fiche representation. */
static bool etat_of(const struct fiche_row *row, enum fiche_etat *out)
{
    json_t *doc = json_loads(row->json, 0, NULL);
    bool ok = doc && fiche_etat_parse(json_string_value(json_object_get(doc, "etat")), out);
    json_decref(doc);
    return ok;
}

void handle_transition_fiche(struct request_ctx *ctx)
{
    struct fiche_row row;
    struct fiche_access access;
    json_t *body = NULL;
    char etag[24];
    FIELD_ERRORS(errs);
    if (!fiche_write_begin_or_reply(ctx, ACTION_FICHE_TRANSITION, &row, &access, etag, &body))
        return;
    struct transition_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, transition_fields, JSON_SPEC_CREATE, &in, "", &errs);
    enum fiche_etat to = FICHE_BROUILLON, from = FICHE_BROUILLON;
    if (in.vers && !fiche_etat_parse(in.vers, &to))
        field_errors_add(&errs, FICHE_PTR_VERS, NULL, "valeur-inconnue",
                         "États d'une fiche action : brouillon, en_maturation, programmee, "
                         "en_cours, suspendue, realisee, abandonnee.");
    bool known = in.vers && fiche_etat_parse(in.vers, &to);
    only_for(&errs, in.has_decision, !known || to == FICHE_ABANDONNEE, FICHE_PTR_DECISION,
             "abandonnee");
    only_for(&errs, in.has_commencement, !known || to == FICHE_EN_COURS, FICHE_PTR_DATE_COMMENCE,
             "en_cours");
    only_for(&errs, in.has_achevement, !known || to == FICHE_REALISEE, FICHE_PTR_DATE_ACHEVEMENT,
             "realisee");
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    if (!if_match_or_reply(ctx, etag))
        goto out;
    if (!etat_of(&row, &from)) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    enum role role = ctx->principal->authz.role;
    char possible[200], detail[400];
    possible_list(from, role, possible, sizeof possible);
    if (!fiche_transition_exists(from, to)) {
        snprintf(detail, sizeof detail,
                 "Pas de transition de %s vers %s. Transitions possibles pour vous : %s.",
                 fiche_etat_name(from), fiche_etat_name(to), possible);
        FIELD_ERRORS(conflict);
        field_errors_add(&conflict, FICHE_PTR_VERS, NULL, "transition-invalide", "%s", detail);
        respond_problem_fields(ctx, PROBLEM_CONFLIT, detail, &conflict);
        goto out;
    }
    if (!fiche_transition_allowed(from, to, role)) {
        snprintf(detail, sizeof detail,
                 "Votre rôle ne permet pas la transition de %s vers %s%s. Transitions possibles "
                 "pour vous : %s.",
                 fiche_etat_name(from), fiche_etat_name(to),
                 from == FICHE_BROUILLON || to == FICHE_ABANDONNEE
                     ? " (décidée en comité : un élu l'enregistre)"
                     : "",
                 possible);
        FIELD_ERRORS(refus);
        field_errors_add(&refus, FICHE_PTR_VERS, NULL, "transition-interdite", "%s", detail);
        respond_problem_fields(ctx, PROBLEM_INTERDIT, detail, &refus);
        goto out;
    }
    struct transition_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.revision = row.revision;
    work.to = to;
    work.role = role;
    work.in = &in;
    programme_today(&work.today);
    if (fiche_mutate_or_reply(ctx, row.id, transition_unit, &work, &work.violations, NULL))
        fiche_send(ctx, 200, &work.after, &access, NULL);
    fiche_row_release(&work.after);
out:
    json_decref(body);
    fiche_row_release(&row);
}
