/* Plan de financement and échéancier of a fiche action over HTTP (issue #9
 * §2, §4; domain.md §1.10, §1.11):
 *   GET  /api/v1/fiches-action/{id}/plan-financement          the lines and their analysis
 *   PUT  /api/v1/fiches-action/{id}/plan-financement          every line replaced (If-Match)
 *   POST /api/v1/fiches-action/{id}/plan-financement/lignes   one line appended (If-Match optional)
 *   GET  /api/v1/fiches-action/{id}/echeancier                the years and their sum
 *   PUT  /api/v1/fiches-action/{id}/echeancier                every year replaced (If-Match)
 *
 * Reads are "fiche.lire", writes "fiche.ecrire" (fiches_common.h decides on
 * the fiche). A write is one transaction (fiche_mutate_or_reply): the fiche
 * is locked behind its territoire's lock (fiche_lock), refused when réalisée
 * or abandonnée (409 fiche-figee), the statut of each line sent back is
 * checked against the one stored under that lock, the lines or years are
 * written, then fiche_regles_apres_ecriture reads them back in the same
 * transaction and any violation (R29, R33; R24, R27 once programmée) rolls
 * everything back (422). Two writers of one fiche therefore serialize on the
 * territoire lock and the second one's rules see the first one's lines (§4).
 *
 * Pointers: the body's members are `lignes` and `annees`; a rule's pointer
 * into the fiche's plan_financement or échéancier (the domain's
 * "/plan_financement/<i>/…", "/echeancier/<i>/…") is answered as the body's
 * ("/lignes/<i>/…", "/annees/<i>/…"; for the line posted alone, the line's
 * own members "/…"); a pointer elsewhere in the fiche (e.g.
 * "/derogation_l1111_10/reference") stays as it is. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../db/organisation_repository.h"
#include "../../domain/financement.h"
#include "../xalloc.h"
#include "fiches_common.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

#define FIGEE_DETAIL                                                                                   \
    "Une fiche réalisée ou abandonnée est figée : son plan de financement et son échéancier ne " \
    "changent plus."

static const struct fiche_conflict figee = {"/etat", "fiche-figee", FIGEE_DETAIL};

/* ---- Pointers ---------------------------------------------------------- */

/* Rewrites each pointer of r that starts with `from` (followed by "/" or
 * nothing) to start with `to`. When `seul` is given (the line posted alone,
 * at from/<seul>), from/<seul>/x becomes /x and from/<seul> becomes "". */
static void pointeurs_vers_corps(struct rule_report *r, const char *from, const char *to,
                                 const char *seul)
{
    size_t n = strlen(from);
    for (size_t i = 0; i < r->count && i < RULE_REPORT_MAX; i++) {
        char *p = r->items[i].pointer;
        if (strncmp(p, from, n) != 0 || (p[n] != '/' && p[n] != '\0'))
            continue;
        char rest[sizeof r->items[i].pointer];
        snprintf(rest, sizeof rest, "%s", p + n);
        size_t s = seul ? strlen(seul) : 0;
        if (seul && rest[0] == '/' && strncmp(rest + 1, seul, s) == 0 &&
            (rest[1 + s] == '/' || rest[1 + s] == '\0'))
            snprintf(p, sizeof r->items[i].pointer, "%s", rest + 1 + s);
        else if (!seul)
            snprintf(p, sizeof r->items[i].pointer, "%s%s", to, rest);
    }
}

/* ---- Reading a fiche's representation ---------------------------------- */

static int64_t entier(const json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

static bool texte_egal(const json_t *value, const char *text)
{
    const char *s = json_string_value(value);
    return s && strcmp(s, text) == 0;
}

/* The lines of a fiche representation (its plan_financement array) as the
 * rules read them: financeur = index, par_maitre_ouvrage when the financeur
 * is the maître d'ouvrage; their number in *count. Returns an array to
 * free() (never NULL: xcalloc). Stored lines are valid (the CHECKs of 0012). */
static struct financement_ligne *lignes_lire(const json_t *fiche, size_t *count)
{
    const json_t *lignes = json_object_get(fiche, "plan_financement");
    const char *mo = json_string_value(json_object_get(fiche, "maitre_ouvrage_id"));
    size_t n = json_array_size(lignes);
    struct financement_ligne *out = xcalloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(lignes, i);
        const char *financeur = json_string_value(json_object_get(l, "financeur_id"));
        out[i].financeur = i;
        financement_dispositif_parse(json_string_value(json_object_get(l, "dispositif")),
                                     &out[i].dispositif);
        out[i].public = texte_egal(json_object_get(l, "nature_financeur"), "public");
        out[i].par_maitre_ouvrage = mo && financeur && strcasecmp(mo, financeur) == 0;
        out[i].montant = entier(l, "montant_centimes");
        financement_statut_parse(json_string_value(json_object_get(l, "statut")), &out[i].statut);
    }
    *count = n;
    return out;
}

/* The analysis of the plan de financement of `fiche` (its representation),
 * whose maître d'ouvrage is `mo`: a new object (caller owns it). */
static json_t *analyse_plan(const json_t *fiche, const struct organisation_row *mo)
{
    size_t n = 0;
    struct financement_ligne *lignes = lignes_lire(fiche, &n);
    struct rule_report constats;
    rule_report_init(&constats);

    /* the lines, each with its derived taux */
    json_t *out = xjson(json_object());
    json_t *lignes_json = xjson(json_deep_copy(json_object_get(fiche, "plan_financement")));
    for (size_t i = 0; i < json_array_size(lignes_json); i++) {
        json_t *l = json_array_get(lignes_json, i);
        const json_t *assiette = json_object_get(l, "assiette_ht_centimes");
        int64_t taux = 0;
        char texte[32];
        if (json_is_integer(assiette) &&
            financement_taux(entier(l, "montant_centimes"), json_integer_value(assiette), &taux) &&
            financement_taux_format(taux, texte, sizeof texte) > 0)
            json_object_set_new(l, "taux", xjson(json_string(texte)));
        else
            json_object_set_new(l, "taux", json_null());
    }
    json_object_set_new(out, "fiche_id", xjson(json_copy(json_object_get(fiche, "id"))));
    json_object_set_new(out, "lignes", lignes_json);

    /* cost base and balance (R24) */
    bool sur_ttc = texte_egal(json_object_get(fiche, "base_financement"), "ttc");
    const json_t *ttc = json_object_get(fiche, "cout_total_ttc_centimes");
    struct fiche_couts couts = {.cout_total_ht = entier(fiche, "cout_total_ht_centimes"),
                                .has_cout_total_ttc = json_is_integer(ttc),
                                .cout_total_ttc = json_integer_value(ttc)};
    json_object_set_new(out, "base_financement", xjson(json_string(sur_ttc ? "ttc" : "ht")));
    json_object_set_new(out, "cout_total_ht_centimes", xjson(json_integer(couts.cout_total_ht)));
    json_object_set_new(out, "cout_total_ttc_centimes",
                        couts.has_cout_total_ttc ? xjson(json_integer(couts.cout_total_ttc))
                                                 : json_null());
    int64_t moins_total = 0, solde = 0;
    bool a_total = financement_solde(lignes, n, 0, &moins_total);
    bool a_cout = !sur_ttc || couts.has_cout_total_ttc;
    int64_t cout = sur_ttc ? couts.cout_total_ttc : couts.cout_total_ht;
    bool a_solde = a_cout && financement_solde(lignes, n, cout, &solde);
    json_object_set_new(out, "cout_base_centimes",
                        a_cout ? xjson(json_integer(cout)) : json_null());
    json_object_set_new(out, "total_lignes_centimes",
                        a_total ? xjson(json_integer(-moins_total)) : json_null());
    json_object_set_new(out, "solde_centimes", a_solde ? xjson(json_integer(solde)) : json_null());
    struct fiche_plan_financement plan = {0, a_total ? -moins_total : 0,
                                          sur_ttc ? FICHE_BASE_TTC : FICHE_BASE_HT};
    for (size_t i = 0; i < n; i++)
        plan.ligne_count += financement_statut_compte(lignes[i].statut);
    fiche_r24_check(&couts, &plan, &constats);

    /* R29 */
    const json_t *derogation = json_object_get(fiche, "derogation_l1111_10");
    const json_t *nature = json_object_get(fiche, "nature_depense");
    /* the inputs fiche_regles_lire gives the writes' R29: the maître
     * d'ouvrage's commune's INSEE code, else its département's */
    json_t *mo_json = json_loads(mo->json ? mo->json : "{}", 0, NULL);
    const char *code = json_string_value(json_object_get(mo_json, "code_insee"));
    struct financement_r29_input r29 = {
        .code_territorial = code && *code ? code : mo->code_departement,
        .investissement = texte_egal(nature, "investissement") || texte_egal(nature, "acquisition"),
        .lignes = lignes,
        .ligne_count = n,
        .derogation_reference = json_string_value(json_object_get(derogation, "reference")),
    };
    r29.has_derogation = financement_derogation_parse(
        json_string_value(json_object_get(derogation, "type")), &r29.derogation);
    bool kind_known = organisation_kind_parse(mo->nature, &r29.maitre_ouvrage_kind);
    struct financement_r29_result res29 = {0};
    if (kind_known)
        financement_r29_check(&r29, &res29, &constats);
    json_decref(mo_json);
    json_t *r29_json = xjson(json_object());
    json_object_set_new(r29_json, "applicable", json_boolean(kind_known && res29.applicable));
    json_object_set_new(r29_json, "exempte", json_boolean(res29.exempte));
    json_object_set_new(r29_json, "seuil_pourcent", xjson(json_integer(res29.seuil_pourcent)));
    json_object_set_new(r29_json, "part_propre_centimes", xjson(json_integer(res29.part_propre)));
    json_object_set_new(r29_json, "autres_publics_centimes",
                        xjson(json_integer(res29.autres_publics)));
    json_object_set_new(r29_json, "part_propre_minimale_centimes",
                        xjson(json_integer(res29.part_propre_minimale)));
    json_object_set_new(r29_json, "manque_centimes", xjson(json_integer(res29.manque)));
    json_object_set_new(out, "r29", r29_json);

    /* R33, on the subsidisable HT expense (the HT cost when the fiche has none) */
    const json_t *dsht = json_object_get(fiche, "depense_subventionnable_ht_centimes");
    int64_t depense = json_is_integer(dsht) ? json_integer_value(dsht) : couts.cout_total_ht;
    int64_t excedent = 0;
    financement_r33_check(lignes, n, depense, &excedent, &constats);
    json_t *r33_json = xjson(json_object());
    json_object_set_new(r33_json, "depense_subventionnable_ht_centimes",
                        xjson(json_integer(depense)));
    json_object_set_new(r33_json, "excedent_centimes", xjson(json_integer(excedent)));
    json_object_set_new(out, "r33", r33_json);

    pointeurs_vers_corps(&constats, "/plan_financement", "/lignes", NULL);
    json_object_set_new(out, "avertissements", programme_avertissements(&constats));
    free(lignes);
    return out;
}

/* The years of an échéancier (an array of shape-checked or stored
 * {annee, montant_centimes}): calloc'ed, free(). */
static struct financement_annee *annees_lire(const json_t *annees)
{
    size_t n = json_array_size(annees);
    struct financement_annee *a = xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].annee = (int)json_integer_value(json_object_get(json_array_get(annees, i), "annee"));
        a[i].montant = entier(json_array_get(annees, i), "montant_centimes");
    }
    return a;
}

/* The échéancier of `fiche` (its representation) with its sum and R27's
 * findings against the HT cost: a new object (caller owns it). */
static json_t *analyse_echeancier(const json_t *fiche)
{
    const json_t *annees = json_object_get(fiche, "echeancier");
    size_t n = json_array_size(annees);
    struct financement_annee *a = annees_lire(annees);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += a[i].montant; /* ≤ 30 × 10^15 (CHECKs of 0012): no overflow */
    int64_t cout = entier(fiche, "cout_total_ht_centimes");
    struct rule_report constats;
    rule_report_init(&constats);
    financement_r27_check(a, n, cout, &constats);
    free(a);
    pointeurs_vers_corps(&constats, "/echeancier", "/annees", NULL);
    json_t *out = xjson(json_object());
    json_object_set_new(out, "fiche_id", xjson(json_copy(json_object_get(fiche, "id"))));
    json_object_set_new(out, "annees", xjson(json_deep_copy(annees)));
    json_object_set_new(out, "cout_total_ht_centimes", xjson(json_integer(cout)));
    json_object_set_new(out, "total_centimes", xjson(json_integer(total)));
    json_object_set_new(out, "ecart_centimes", xjson(json_integer(cout - total)));
    json_object_set_new(out, "avertissements", programme_avertissements(&constats));
    return out;
}

/* Sends `analysis` (stolen) with the fiche's ETag, which is also the one a
 * write of this fiche expects in If-Match (a GET honours If-None-Match). */
static void send_with_fiche_etag(struct request_ctx *ctx, const struct fiche_row *row,
                                 json_t *analysis)
{
    char etag[24];
    fiche_etag(row, etag);
    char *text = gouv_dump(analysis);
    respond_conditional_json(ctx, text, strlen(text), etag);
    free(text);
    json_decref(analysis);
}

/* GET of the plan (with its maître d'ouvrage, for R29) or of the échéancier. */
static void lire(struct request_ctx *ctx, bool plan)
{
    struct fiche_row row;
    struct fiche_access access;
    if (!fiche_load_or_reply(ctx, ACTION_FICHE_READ, NULL, &row, &access))
        return;
    json_t *fiche = json_loads(row.json, 0, NULL);
    struct organisation_row mo;
    memset(&mo, 0, sizeof mo);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = !fiche ? DB_FAILED
                       : plan ? db_pool_acquire(ctx->app->pool, &conn, &err)
                              : DB_OK;
    if (r == DB_OK && plan) {
        r = organisation_get(conn, json_string_value(json_object_get(fiche, "maitre_ouvrage_id")),
                             &mo, &err);
        db_pool_release(ctx->app->pool, conn);
        if (r == DB_NOT_FOUND) /* a foreign key of 0012, and organisations are never deleted */
            r = DB_FAILED;
    }
    if (r == DB_OK)
        send_with_fiche_etag(ctx, &row,
                             plan ? analyse_plan(fiche, &mo) : analyse_echeancier(fiche));
    else
        respond_db_error(ctx, r, &err);
    organisation_row_release(&mo);
    json_decref(fiche);
    fiche_row_release(&row);
}

void handle_get_plan_financement(struct request_ctx *ctx)
{
    lire(ctx, true);
}

void handle_get_echeancier(struct request_ctx *ctx)
{
    lire(ctx, false);
}

/* ---- Writes ------------------------------------------------------------ */

enum ecriture_quoi { ECRIRE_LIGNES, AJOUTER_LIGNE, ECRIRE_ECHEANCIER };

struct ecriture {
    enum ecriture_quoi quoi;
    const char *id;
    long revision;          /* the one the caller's If-Match named; -1: none */
    const json_t *lignes;   /* ECRIRE_LIGNES: the body's lines (borrowed) */
    const char *json;       /* the lines, the line or the years (JSON text) */
    struct date today;      /* for fiche_regles_apres_ecriture */
    struct fiche_row apres; /* the fiche written */
    struct rule_report violations;
};

/* A line sent back (its `id` names one of the fiche's lines `stockees`, first
 * mention only, as fiche_replace_financements keeps it) moves its statut
 * along §1.10's machine or keeps it: "statut-financement-invalide" at
 * /lignes/<i>/statut otherwise. A line without such an id is a new line and
 * may start at any statut. */
static void statuts_check(const json_t *envoyees, const json_t *stockees,
                          struct rule_report *violations)
{
    for (size_t i = 0; i < json_array_size(envoyees); i++) {
        const json_t *l = json_array_get(envoyees, i);
        const char *id = json_string_value(json_object_get(l, "id"));
        if (!id)
            continue;
        bool deja = false;
        for (size_t j = 0; j < i && !deja; j++) {
            const char *autre =
                json_string_value(json_object_get(json_array_get(envoyees, j), "id"));
            deja = autre && strcasecmp(autre, id) == 0;
        }
        const json_t *avant = NULL;
        for (size_t j = 0; !deja && !avant && j < json_array_size(stockees); j++) {
            const json_t *s = json_array_get(stockees, j);
            const char *stocke = json_string_value(json_object_get(s, "id"));
            if (stocke && strcasecmp(stocke, id) == 0)
                avant = s;
        }
        enum financement_statut de, vers = FINANCEMENT_ENVISAGE;
        if (!avant ||
            !financement_statut_parse(json_string_value(json_object_get(avant, "statut")), &de))
            continue;
        const json_t *statut = json_object_get(l, "statut");
        if (statut)
            financement_statut_parse(json_string_value(statut), &vers);
        if (vers == de || financement_statut_transition_exists(de, vers))
            continue;
        enum financement_statut possibles[FINANCEMENT_STATUT__COUNT];
        size_t k =
            financement_statut_transitions_possibles(de, possibles, FINANCEMENT_STATUT__COUNT);
        char liste[160] = "";
        for (size_t j = 0; j < k; j++)
            snprintf(liste + strlen(liste), sizeof liste - strlen(liste), "%s« %s »", j ? ", " : "",
                     financement_statut_name(possibles[j]));
        char pointer[48];
        snprintf(pointer, sizeof pointer, "/lignes/%zu/statut", i);
        rule_report_add(violations, "", "statut-financement-invalide", pointer,
                        "Une ligne « %s » ne peut passer à « %s » (%s%s).",
                        financement_statut_name(de), financement_statut_name(vers),
                        k ? "statuts suivants possibles : " : "statut final", liste);
    }
}

/* The transaction of a write: lock, state, statuts, write, rules. */
static enum db_result ecriture_unit(struct db_tx *tx, void *p, struct db_error *err)
{
    struct ecriture *w = p;
    fiche_row_release(&w->apres); /* the unit may be run again (retry) */
    rule_report_init(&w->violations);
    struct fiche_row avant;
    enum db_result r = fiche_lock(tx, w->id, w->revision, &avant, err);
    if (r != DB_OK)
        return r;
    json_t *fiche = json_loads(avant.json, 0, NULL);
    fiche_row_release(&avant);
    enum fiche_etat etat;
    if (!fiche || !fiche_etat_parse(json_string_value(json_object_get(fiche, "etat")), &etat))
        r = DB_FAILED;
    else if (etat == FICHE_REALISEE || etat == FICHE_ABANDONNEE)
        r = DB_CONFLICT; /* no violation: 409 fiche-figee */
    else if (w->quoi == ECRIRE_LIGNES)
        statuts_check(w->lignes, json_object_get(fiche, "plan_financement"), &w->violations);
    else if (w->quoi == AJOUTER_LIGNE &&
             json_array_size(json_object_get(fiche, "plan_financement")) >= FICHE_LIGNES_MAX)
        rule_report_add(&w->violations, "", "trop-de-lignes", "/plan_financement",
                        "Une fiche a au plus %d lignes de financement.", FICHE_LIGNES_MAX);
    size_t avant_count = json_array_size(json_object_get(fiche, "plan_financement"));
    json_decref(fiche);
    if (r == DB_OK && rule_report_any(&w->violations))
        r = DB_CONFLICT;
    if (r != DB_OK)
        return r;
    switch (w->quoi) {
    case ECRIRE_LIGNES:
        r = fiche_replace_financements(tx, w->id, w->revision, w->json, &w->apres, err);
        break;
    case AJOUTER_LIGNE:
        r = fiche_add_financement(tx, w->id, w->revision, w->json, &w->apres, err);
        break;
    case ECRIRE_ECHEANCIER:
        r = fiche_replace_echeancier(tx, w->id, w->revision, w->json, &w->apres, err);
        break;
    }
    if (r == DB_OK)
        r = fiche_regles_apres_ecriture(tx, w->id, w->today, &w->violations, err);
    if (w->quoi == AJOUTER_LIGNE) {
        char seul[24];
        snprintf(seul, sizeof seul, "%zu", avant_count);
        pointeurs_vers_corps(&w->violations, "/plan_financement", "", seul);
    } else {
        pointeurs_vers_corps(&w->violations, "/plan_financement", "/lignes", NULL);
        pointeurs_vers_corps(&w->violations, "/echeancier", "/annees", NULL);
    }
    return r;
}

/* Runs w as the fiche's mutation and answers: the fiche written (200, its
 * new ETag), or what fiche_mutate_or_reply sent. */
static void ecrire_et_repondre(struct request_ctx *ctx, struct ecriture *w,
                               struct fiche_access *access)
{
    programme_today(&w->today);
    memset(&w->apres, 0, sizeof w->apres);
    if (fiche_mutate_or_reply(ctx, w->id, ecriture_unit, w, &w->violations, &figee))
        fiche_send(ctx, 200, &w->apres, access, NULL);
    fiche_row_release(&w->apres);
}

/* The body holds exactly `member` (required): champ-requis / champ-inconnu
 * into errs otherwise. Returns the member (borrowed) or NULL. */
static const json_t *seul_membre(const json_t *body, const char *member, struct field_errors *errs)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        if (strcmp(key, member) != 0) {
            char pointer[80];
            snprintf(pointer, sizeof pointer, "/%.70s", key);
            field_errors_add(errs, pointer, NULL, "champ-inconnu", "Membre inconnu : « %.70s ».",
                             key);
        }
    }
    const json_t *found = json_object_get(body, member);
    if (!found) {
        char pointer[80];
        snprintf(pointer, sizeof pointer, "/%s", member);
        field_errors_add(errs, pointer, NULL, "champ-requis", "« %s » est requis.", member);
    }
    return found;
}

/* The body's checks before the transaction: shapes (400), financeurs that
 * exist and R27's years given twice (422). *written gets the JSON text to
 * write (owned) and *lignes the lines as an array (new reference, NULL for
 * the échéancier). false: an answer was sent. */
static bool corps_valide_or_reply(struct request_ctx *ctx, enum ecriture_quoi quoi, json_t *body,
                                  char **written, json_t **lignes)
{
    FIELD_ERRORS(errs);
    const json_t *member = NULL;
    *lignes = NULL;
    *written = NULL;
    if (quoi == ECRIRE_LIGNES) {
        member = seul_membre(body, "lignes", &errs);
        if (member && fiche_lignes_shape_check(member, "/lignes", &errs))
            *lignes = json_incref((json_t *)member);
    } else if (quoi == AJOUTER_LIGNE) {
        member = body;
        if (fiche_ligne_shape_check(body, "", &errs)) {
            *lignes = xjson(json_array());
            json_array_append(*lignes, body);
        }
    } else if ((member = seul_membre(body, "annees", &errs))) {
        fiche_echeancier_shape_check(member, "/annees", &errs);
    }
    struct rule_report violations;
    rule_report_init(&violations);
    if (!body_errors_or_reply(ctx, &errs))
        return false;
    if (quoi == ECRIRE_ECHEANCIER)
        fiche_echeancier_annees_check(member, "/annees", &violations);
    else if (!fiche_financeurs_exist_or_reply(ctx, *lignes, quoi == ECRIRE_LIGNES ? "/lignes" : "",
                                              &violations))
        return false;
    if (quoi == AJOUTER_LIGNE) /* the line posted alone: "/0/financeur_id" is "/financeur_id" */
        pointeurs_vers_corps(&violations, "", "", "0");
    if (!programme_rules_hold_or_reply(ctx, &violations))
        return false;
    *written = gouv_dump(member);
    return true;
}

/* PUT …/plan-financement, POST …/plan-financement/lignes (If-Match checked
 * only when given), PUT …/echeancier. */
static void ecrire(struct request_ctx *ctx, enum ecriture_quoi quoi)
{
    struct fiche_row row;
    struct fiche_access access;
    char etag[24];
    json_t *body = NULL, *lignes = NULL;
    char *text = NULL;
    if (!fiche_write_begin_or_reply(ctx, ACTION_FICHE_WRITE, &row, &access, etag, &body))
        return;
    bool checked = quoi != AJOUTER_LIGNE || u_map_get_case(ctx->req->map_header, "If-Match");
    if (corps_valide_or_reply(ctx, quoi, body, &text, &lignes) &&
        (!checked || if_match_or_reply(ctx, etag))) {
        struct ecriture w = {.quoi = quoi, .id = row.id, .revision = checked ? row.revision : -1};
        w.lignes = lignes;
        w.json = text;
        ecrire_et_repondre(ctx, &w, &access);
    }
    free(text);
    json_decref(lignes);
    json_decref(body);
    fiche_row_release(&row);
}

void handle_put_plan_financement(struct request_ctx *ctx)
{
    ecrire(ctx, ECRIRE_LIGNES);
}

void handle_add_ligne_financement(struct request_ctx *ctx)
{
    ecrire(ctx, AJOUTER_LIGNE);
}

void handle_put_echeancier(struct request_ctx *ctx)
{
    ecrire(ctx, ECRIRE_ECHEANCIER);
}
