/* The helpers the fiche handlers share (fiches_common.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/financement.h"
#include "../auth.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "fiches_common.h"
#include "gouvernance.h"
#include "programme.h"

/* ---- Access and loading -------------------------------------------------- */

struct authz_target fiche_access_target(struct fiche_access *a)
{
    struct authz_target t = territoire_scope_target(&a->scope);
    for (size_t i = 0; i < a->financeur_siren_count; i++)
        a->financeur_ptrs[i] = a->financeur_sirens[i];
    a->financeur_ptrs[a->financeur_siren_count] = NULL;
    t.financeur_sirens = a->financeur_ptrs;
    t.financeur_siren_count = a->financeur_siren_count;
    return t;
}

enum db_result fiche_access_load(struct db_conn *conn, const char *id, struct fiche_access *out,
                                 struct db_error *err)
{
    char id_pvd[17], mo_siren[10];
    memset(out, 0, sizeof *out);
    enum db_result r = fiche_sirens_lire(conn, id, id_pvd, mo_siren, out->financeur_sirens,
                                         FICHE_FINANCEURS_SIRENS, &out->financeur_siren_count, err);
    if (r == DB_OK)
        r = territoire_scope_load(conn, id_pvd, &out->scope, err);
    if (r == DB_NOT_FOUND)
        return DB_FAILED; /* the fiche's territoire exists (foreign key) */
    if (r == DB_OK)
        territoire_scope_add_siren(&out->scope, mo_siren);
    return r;
}

enum db_result fiche_access_load_pooled(struct db_pool *pool, const char *id,
                                        struct fiche_access *out, struct db_error *err)
{
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r == DB_OK) {
        r = fiche_access_load(conn, id, out, err);
        db_pool_release(pool, conn);
    }
    return r;
}

enum authz_decision fiche_access_decide(const struct request_ctx *ctx, enum action action,
                                        struct fiche_access *access)
{
    if (!ctx->principal || !ctx->principal->has_habilitation)
        return AUTHZ_FORBID;
    struct authz_target target = fiche_access_target(access);
    return authz_decide(&ctx->principal->authz, action, &target);
}

bool fiche_access_decide_or_reply(struct request_ctx *ctx, enum action action,
                                  struct fiche_access *access, const char *what_404,
                                  const char *what_403)
{
    switch (fiche_access_decide(ctx, action, access)) {
    case AUTHZ_ALLOW:
        return true;
    case AUTHZ_HIDE:
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, what_404);
        break;
    case AUTHZ_FORBID:
        respond_problem(ctx, PROBLEM_INTERDIT, what_403);
        break;
    }
    return false;
}

bool fiche_load_or_reply(struct request_ctx *ctx, enum action action,
                         const struct query_field *query, struct fiche_row *row,
                         struct fiche_access *access)
{
    const char *id = NULL;
    memset(row, 0, sizeof *row);
    if (!programme_path_id_or_reply(ctx, query, FICHE_404, &id))
        return false;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        char mo_siren[10];
        memset(access, 0, sizeof *access);
        r = fiche_get_with_access(conn, id, row, mo_siren, access->financeur_sirens,
                                  FICHE_FINANCEURS_SIRENS, &access->financeur_siren_count,
                                  &access->scope, &err);
        if (r == DB_OK)
            territoire_scope_add_siren(&access->scope, mo_siren);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err, FICHE_404))
        return false;
    if (fiche_access_decide_or_reply(
            ctx, action, access, FICHE_404,
            "Votre habilitation ne permet pas cette action sur cette fiche action."))
        return true;
    fiche_row_release(row);
    return false;
}

bool fiche_write_begin_or_reply(struct request_ctx *ctx, enum action action, struct fiche_row *row,
                                struct fiche_access *access, char etag[24], json_t **body)
{
    *body = NULL;
    if (!fiche_load_or_reply(ctx, action, NULL, row, access))
        return false;
    fiche_etag(row, etag);
    if (json_body_read_or_reply(ctx, body))
        return true;
    fiche_row_release(row);
    return false;
}

void fiche_etag(const struct fiche_row *row, char out[24])
{
    http_etag(row->json, strlen(row->json), out);
}

/* Copies the codes of the JSON array `list` (strings of at most width - 1
 * bytes; others skipped) into dst, at most max; returns the count. */
static size_t codes_of(const json_t *list, char *dst, size_t width, size_t max)
{
    size_t n = 0, i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (n < max && s && strlen(s) < width)
            snprintf(dst + n++ * width, width, "%s", s);
    }
    return n;
}

/* The fiche_access of one element from its "_acces" member (fiche_list). */
void fiche_access_of_json(const json_t *obj, struct fiche_access *a)
{
    const json_t *acces = json_object_get(obj, "_acces");
    memset(a, 0, sizeof *a);
    struct territoire_scope *s = &a->scope;
    snprintf(s->id_pvd, sizeof s->id_pvd, "%s",
             json_string_value(json_object_get(obj, "id_pvd"))
                 ? json_string_value(json_object_get(obj, "id_pvd"))
                 : "");
    s->departement_count = codes_of(json_object_get(acces, "departements"), &s->departements[0][0],
                                    sizeof s->departements[0], TERRITOIRE_SCOPE_DEPARTEMENTS);
    s->region_count = codes_of(json_object_get(acces, "regions"), &s->regions[0][0],
                               sizeof s->regions[0], TERRITOIRE_SCOPE_DEPARTEMENTS);
    if (s->departement_count)
        snprintf(s->code_departement, sizeof s->code_departement, "%s", s->departements[0]);
    if (s->region_count)
        snprintf(s->code_region, sizeof s->code_region, "%s", s->regions[0]);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(acces, "sirens"), i, v)
    {
        if (json_string_value(v))
            territoire_scope_add_siren(s, json_string_value(v));
    }
    a->financeur_siren_count =
        codes_of(json_object_get(acces, "financeurs"), &a->financeur_sirens[0][0],
                 sizeof a->financeur_sirens[0], FICHE_FINANCEURS_SIRENS);
}

/* ---- Rendering ----------------------------------------------------------- */

void fiche_decorate(json_t *obj, const struct request_ctx *ctx, struct fiche_access *access,
                    const struct rule_report *warnings)
{
    json_t *possibles = json_array();
    enum fiche_etat etat;
    if (fiche_etat_parse(json_string_value(json_object_get(obj, "etat")), &etat) &&
        fiche_access_decide(ctx, ACTION_FICHE_TRANSITION, access) == AUTHZ_ALLOW) {
        enum fiche_etat to[FICHE_ETAT__COUNT];
        size_t n =
            fiche_transitions_possibles(etat, ctx->principal->authz.role, to, FICHE_ETAT__COUNT);
        for (size_t i = 0; i < n && i < FICHE_ETAT__COUNT; i++)
            json_array_append_new(possibles, json_string(fiche_etat_name(to[i])));
    }
    json_object_set_new(obj, "transitions_possibles", possibles);
    json_object_set_new(obj, "avertissements", programme_avertissements(warnings));
}

void fiche_send(struct request_ctx *ctx, int status, const struct fiche_row *row,
                struct fiche_access *access, const struct rule_report *warnings)
{
    char etag[24];
    fiche_etag(row, etag);
    json_t *obj = json_loads(row->json, 0, NULL);
    if (!obj) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    fiche_decorate(obj, ctx, access, warnings);
    respond_object_representation(ctx, status, obj, etag);
}

/* ---- Mutation epilogue ---------------------------------------------------- */

/* The current ETag of fiche id into out ("" when it cannot be read). */
static void current_etag(struct request_ctx *ctx, const char *id, char out[24])
{
    struct fiche_row row;
    struct db_error err = {{0}, {0}};
    out[0] = '\0';
    if (id && fiche_get_pooled(ctx->app->pool, id, &row, &err) == DB_OK) {
        fiche_etag(&row, out);
        fiche_row_release(&row);
    }
}

bool programme_object_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                                      void *work, const struct rule_report *violations,
                                      const struct fiche_conflict *conflict, const char *what_404,
                                      const char *stale,
                                      void (*etag_of)(struct request_ctx *ctx, const char *id,
                                                      char out[24]))
{
    struct db_error err = {{0}, {0}};
    enum db_result r = programme_mutate(ctx, unit, work, &err);
    const struct db_answers answers = {.not_found = what_404,
                                       .conflict = conflict ? conflict->detail : NULL,
                                       .conflict_pointer = conflict ? conflict->pointer : NULL,
                                       .conflict_code = conflict ? conflict->code : NULL,
                                       .stale = stale};
    return programme_mutation_reply(ctx, r, &err, violations, &answers, etag_of, id);
}

bool fiche_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit, void *work,
                           const struct rule_report *violations,
                           const struct fiche_conflict *conflict)
{
    return programme_object_mutate_or_reply(
        ctx, id, unit, work, violations, conflict, FICHE_404,
        "La fiche action a changé pendant votre requête (ETag périmé) : relisez-la.", current_etag);
}

/* ---- Shapes --------------------------------------------------------------- */

static bool integer_in(const json_t *v, int64_t min, int64_t max)
{
    return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

bool fiche_ligne_shape_check(const json_t *ligne, const char *pointer, struct field_errors *errs)
{
    size_t before = errs->count + errs->dropped;
    char p[160];
    if (!json_is_object(ligne)) {
        field_errors_add(errs, pointer[0] ? pointer : "/", NULL, "type-invalide",
                         "Une ligne de financement est un objet.");
        return false;
    }
    static const char *const known[] = {"id",
                                        "financeur_id",
                                        "dispositif",
                                        "nature_financeur",
                                        "montant_centimes",
                                        "assiette_ht_centimes",
                                        "statut",
                                        NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)ligne, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok) {
            json_pointer_join(p, sizeof p, pointer, key);
            field_errors_add(errs, p, NULL, "champ-inconnu",
                             "Membre inconnu d'une ligne de financement.");
        }
    }
    v = json_object_get(ligne, "financeur_id");
    json_pointer_join(p, sizeof p, pointer, "financeur_id");
    if (!v)
        field_errors_add(errs, p, NULL, "champ-requis", "Le financeur (organisation) est requis.");
    else if (!query_is_uuid(json_string_value(v)))
        field_errors_add(errs, p, NULL, "format-invalide",
                         "L'identifiant d'une organisation est un UUID.");
    enum financement_dispositif d;
    v = json_object_get(ligne, "dispositif");
    json_pointer_join(p, sizeof p, pointer, "dispositif");
    if (!v)
        field_errors_add(errs, p, NULL, "champ-requis", "Le dispositif est requis.");
    else if (!financement_dispositif_parse(json_string_value(v), &d))
        field_errors_add(errs, p, NULL, "valeur-inconnue",
                         "Dispositif inconnu (DETR, DSIL, FNADT, region, autofinancement…).");
    v = json_object_get(ligne, "nature_financeur");
    json_pointer_join(p, sizeof p, pointer, "nature_financeur");
    const char *nature = json_string_value(v);
    if (!v)
        field_errors_add(errs, p, NULL, "champ-requis", "La nature du financeur est requise.");
    else if (!nature || (strcmp(nature, "public") != 0 && strcmp(nature, "prive") != 0))
        field_errors_add(errs, p, NULL, "valeur-inconnue", "« public » ou « prive ».");
    v = json_object_get(ligne, "montant_centimes");
    json_pointer_join(p, sizeof p, pointer, "montant_centimes");
    if (!v)
        field_errors_add(errs, p, NULL, "champ-requis", "Le montant (centimes) est requis.");
    else if (!integer_in(v, 0, FINANCEMENT_MONTANT_MAX))
        field_errors_add(errs, p, NULL, "hors-bornes",
                         "Montant en centimes d'euro : un entier de 0 à 10^15.");
    v = json_object_get(ligne, "assiette_ht_centimes");
    json_pointer_join(p, sizeof p, pointer, "assiette_ht_centimes");
    if (v && !json_is_null(v) && !integer_in(v, 1, FINANCEMENT_MONTANT_MAX))
        field_errors_add(errs, p, NULL, "hors-bornes",
                         "Assiette HT en centimes d'euro : un entier de 1 à 10^15, ou null.");
    enum financement_statut s;
    v = json_object_get(ligne, "statut");
    json_pointer_join(p, sizeof p, pointer, "statut");
    if (v && !financement_statut_parse(json_string_value(v), &s))
        field_errors_add(errs, p, NULL, "valeur-inconnue",
                         "Statut inconnu (envisage, sollicite, accorde, refuse, verse_partiel, "
                         "solde).");
    v = json_object_get(ligne, "id");
    json_pointer_join(p, sizeof p, pointer, "id");
    if (v && !json_is_null(v) && !query_is_uuid(json_string_value(v)))
        field_errors_add(errs, p, NULL, "format-invalide",
                         "L'identifiant d'une ligne est un UUID.");
    return errs->count + errs->dropped == before;
}

bool fiche_lignes_shape_check(const json_t *lignes, const char *pointer, struct field_errors *errs)
{
    if (!json_is_array(lignes)) {
        field_errors_add(errs, pointer[0] ? pointer : "/", NULL, "type-invalide",
                         "Le plan de financement est une liste de lignes.");
        return false;
    }
    if (json_array_size(lignes) > FICHE_LIGNES_MAX) {
        field_errors_add(errs, pointer[0] ? pointer : "/", NULL, "longueur-invalide",
                         "Au plus %d lignes de financement par fiche.", FICHE_LIGNES_MAX);
        return false;
    }
    bool ok = true;
    size_t i;
    const json_t *l;
    json_array_foreach(lignes, i, l)
    {
        char p[160];
        snprintf(p, sizeof p, "%s/%zu", pointer, i);
        ok = fiche_ligne_shape_check(l, p, errs) && ok;
    }
    return ok;
}

bool fiche_echeancier_shape_check(const json_t *echeancier, const char *pointer,
                                  struct field_errors *errs)
{
    if (!json_is_array(echeancier)) {
        field_errors_add(errs, pointer[0] ? pointer : "/", NULL, "type-invalide",
                         "L'échéancier est une liste d'années {annee, montant_centimes}.");
        return false;
    }
    if (json_array_size(echeancier) > FICHE_ANNEES_MAX) {
        field_errors_add(errs, pointer[0] ? pointer : "/", NULL, "longueur-invalide",
                         "Au plus %d années dans un échéancier.", FICHE_ANNEES_MAX);
        return false;
    }
    size_t before = errs->count + errs->dropped;
    size_t i;
    const json_t *e;
    json_array_foreach(echeancier, i, e)
    {
        char p[160], m[160];
        snprintf(p, sizeof p, "%s/%zu", pointer, i);
        if (!json_is_object(e)) {
            field_errors_add(errs, p, NULL, "type-invalide",
                             "Une année d'échéancier est un objet {annee, montant_centimes}.");
            continue;
        }
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)e, key, v)
        {
            if (strcmp(key, "annee") != 0 && strcmp(key, "montant_centimes") != 0) {
                json_pointer_join(m, sizeof m, p, key);
                field_errors_add(errs, m, NULL, "champ-inconnu",
                                 "Membre inconnu d'une année d'échéancier.");
            }
        }
        json_pointer_join(m, sizeof m, p, "annee");
        v = json_object_get(e, "annee");
        if (!v)
            field_errors_add(errs, m, NULL, "champ-requis", "L'année est requise.");
        else if (!integer_in(v, 2000, 2100))
            field_errors_add(errs, m, NULL, "hors-bornes", "Une année de 2000 à 2100.");
        json_pointer_join(m, sizeof m, p, "montant_centimes");
        v = json_object_get(e, "montant_centimes");
        if (!v)
            field_errors_add(errs, m, NULL, "champ-requis", "Le montant (centimes) est requis.");
        else if (!integer_in(v, 0, FINANCEMENT_MONTANT_MAX))
            field_errors_add(errs, m, NULL, "hors-bornes",
                             "Montant en centimes d'euro : un entier de 0 à 10^15.");
    }
    return errs->count + errs->dropped == before;
}

bool fiche_echeancier_annees_check(const json_t *echeancier, const char *pointer,
                                   struct rule_report *violations)
{
    struct financement_annee annees[FICHE_ANNEES_MAX];
    size_t n = 0;
    int64_t somme = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(echeancier, i, e)
    {
        if (n == FICHE_ANNEES_MAX)
            break;
        annees[n].annee = (int)json_integer_value(json_object_get(e, "annee"));
        annees[n].montant = json_integer_value(json_object_get(e, "montant_centimes"));
        somme += annees[n].montant; /* ≤ 30 × 10^15: no overflow */
        n++;
    }
    struct rule_report found;
    rule_report_init(&found);
    /* against its own sum: only the repeated years (and amounts) are reported */
    financement_r27_check(annees, n, somme, &found);
    bool ok = true;
    for (size_t k = 0; k < found.count; k++) {
        const struct rule_violation *v = &found.items[k];
        /* the domain's pointers are /echeancier/<i>/…: re-rooted at pointer */
        const char *rest = strncmp(v->pointer, "/echeancier", 11) == 0 ? v->pointer + 11 : "";
        char p[160];
        snprintf(p, sizeof p, "%s%s", pointer, rest);
        rule_report_add(violations, v->regle, v->code, p, "%s", v->message);
        ok = false;
    }
    return ok;
}

bool fiche_financeurs_exist_or_reply(struct request_ctx *ctx, const json_t *lignes,
                                     const char *pointer, struct rule_report *violations)
{
    json_t *ids = json_array();
    size_t i;
    const json_t *l;
    json_array_foreach(lignes, i, l) json_array_append(ids, json_object_get(l, "financeur_id"));
    json_t *found = NULL;
    bool ok = json_array_size(ids) == 0 || gouv_organisations_or_reply(ctx, ids, &found);
    json_array_foreach(lignes, i, l)
    {
        char lower[37], p[160];
        if (!ok || !found)
            break;
        gouv_uuid_lower(json_string_value(json_object_get(l, "financeur_id")), lower);
        if (!json_object_get(found, lower)) {
            snprintf(p, sizeof p, "%s/%zu/financeur_id", pointer, i);
            rule_report_add(violations, "", "organisation-inconnue", p,
                            "Aucune organisation n'a l'identifiant %s.", lower);
        }
    }
    json_decref(found);
    json_decref(ids);
    return ok;
}

/* ---- Rules after a write -------------------------------------------------- */

/* The rules of a stored fiche on its inputs (pure: fiche_regles_apres_ecriture
 * reads them). */
static void regles_fiche_stockee(const struct fiche_regles *r, struct rule_report *v)
{
    bool engagee =
        r->etat == FICHE_PROGRAMMEE || r->etat == FICHE_EN_COURS || r->etat == FICHE_SUSPENDUE;
    fiche_couts_check(&r->couts, v);
    fiche_r25_check(&r->dates, engagee, v);
    fiche_r22_check(r->commune, r->commune_ptrs, r->communes_territoire_count,
                    r->commune_ptrs + r->communes_territoire_count, r->communes_epci_count,
                    r->intercommunale, v);
    struct financement_r29_input in29 = {
        .maitre_ouvrage_kind = r->maitre_ouvrage_kind,
        .code_territorial = r->maitre_ouvrage_code,
        .investissement = r->investissement,
        .lignes = r->lignes,
        .ligne_count = r->ligne_count,
        .has_derogation = r->has_derogation,
        .derogation = r->derogation,
        .derogation_reference = r->derogation_reference,
    };
    financement_r29_check(&in29, NULL, v);
    financement_r33_check(r->lignes, r->ligne_count,
                          r->has_depense_subventionnable_ht ? r->depense_subventionnable_ht
                                                            : r->couts.cout_total_ht,
                          NULL, v);
    if (engagee) {
        fiche_r24_check(&r->couts, &r->plan, v);
        for (size_t i = 0; i < r->r27.count; i++)
            rule_report_add(v, r->r27.items[i].regle, r->r27.items[i].code, r->r27.items[i].pointer,
                            "%s", r->r27.items[i].message);
    }
}

enum db_result fiche_regles_apres_ecriture(struct db_tx *tx, const char *id, struct date today,
                                           struct rule_report *violations, struct db_error *err)
{
    struct fiche_regles r;
    enum db_result res = fiche_regles_lire(tx, id, today, &r, err);
    if (res != DB_OK)
        return res;
    size_t before = violations->count + violations->dropped;
    regles_fiche_stockee(&r, violations);
    fiche_regles_release(&r);
    return violations->count + violations->dropped > before ? DB_CONFLICT : DB_OK;
}
