/* Plan de financement and échéancier of a fiche action over HTTP (issue #9
 * §2, §4): the analysis (taux, solde, R29 and R33 figures, avertissements),
 * whole replacement (If-Match: 428/412) and one line appended, line ids kept
 * when sent back, the statut machine of a line, R29 on real-shaped cases (a
 * commune of the Landes with 85 % public aid refused with the shortfall in
 * euros; the same in Guadeloupe, or with a recorded derogation, accepted), R33,
 * R24/R27 once programmée, a fiche réalisée frozen (409), and two writers of
 * one plan (§4): the rule reads the other's line inside its transaction under
 * the territoire lock. Every refusal: its code, regle and pointer, and
 * nothing written (the journal count unchanged). Territoires: Landes (40)
 * pvd-75-40-9xx, Guadeloupe (971) pvd-01-971-9xx, one per test. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define ACTION_PLAN       "fiche_action.plan_financement"
#define ACTION_LIGNE      "fiche_action.ajouter_financement"
#define ACTION_ECHEANCIER "fiche_action.echeancier"

/* A fiche of 100 000 € HT led by the territoire's commune, and two public
 * financeurs: the État (DETR) and the région. */
struct fin {
    struct fx_caller admin;
    struct fx_fiche_territoire t;
    char fiche[37], etag[64], etat[37], region[37];
    char plan[200], lignes[200], echeancier[200], one[160];
};

static void fin_setup(struct fin *f, const char *id_pvd, const char *insee, const char *siren,
                      const char *siren_epci, const char *siren_region, const char *extra)
{
    char ignored[64];
    fx_admin(&f->admin);
    fx_fiche_territoire(id_pvd, insee, siren, siren_epci, "2026-01-15", &f->t);
    fx_fiche(&f->admin, &f->t, "FA-1", extra, f->fiche, f->etag);
    fx_create(&f->admin, "/api/v1/organisations",
              "{\"nature\":\"etat\",\"nom\":\"État — DETR (test financement)\"}", f->etat, ignored);
    fx_organisation(siren_region, "region", "Région (test financement)", f->region);
    snprintf(f->one, sizeof f->one, "/api/v1/fiches-action/%s", f->fiche);
    snprintf(f->plan, sizeof f->plan, "%s/plan-financement", f->one);
    snprintf(f->lignes, sizeof f->lignes, "%s/plan-financement/lignes", f->one);
    snprintf(f->echeancier, sizeof f->echeancier, "%s/echeancier", f->one);
}

/* One line as JSON: financeur, dispositif, montant in cents, statut. */
static void ligne(char *out, size_t size, const char *financeur, const char *dispositif,
                  long long montant, const char *statut)
{
    snprintf(out, size,
             "{\"financeur_id\":\"%s\",\"dispositif\":\"%s\",\"nature_financeur\":\"public\","
             "\"montant_centimes\":%lld,\"statut\":\"%s\"}",
             financeur, dispositif, montant, statut);
}

static void if_match(char *out, size_t size, const char *etag)
{
    snprintf(out, size, "If-Match: %s", etag);
}

/* PUT {"lignes": [a, b, c]} (NULL ends the list early) with If-Match etag. */
static void put_lignes(const struct fin *f, const char *etag, const char *a, const char *b,
                       const char *c, struct http_response *r)
{
    char body[2000], header[100];
    snprintf(body, sizeof body, "{\"lignes\":[%s%s%s%s%s]}", a ? a : "", b ? "," : "", b ? b : "",
             c ? "," : "", c ? c : "");
    if_match(header, sizeof header, etag);
    fx_call(&f->admin, "PUT", f->plan, body, header, r);
}

/* Asserts r is a 200 carrying the fiche and keeps its new ETag. */
static void expect_fiche(struct fin *f, struct http_response *r)
{
    cr_assert_eq(r->status, 200, HTTP_BODY, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(r->json, "id")), f->fiche);
    const char *etag = http_header(r, "ETag");
    cr_assert_not_null(etag);
    cr_assert_str_neq(etag, f->etag, "a write gives a new ETag");
    snprintf(f->etag, sizeof f->etag, "%s", etag);
}

/* Asserts a 422 regle-non-respectee whose `regle` is regle (NULL: absent)
 * holding an item (pointer, code); returns its message (borrowed from r). */
static const char *expect_refusal(const struct http_response *r, const char *regle,
                                  const char *pointer, const char *code)
{
    http_expect_problem(r, 422, "regle-non-respectee");
    const char *got = json_string_value(json_object_get(r->json, "regle"));
    if (regle)
        cr_assert(got && strcmp(got, regle) == 0, "regle %s: " HTTP_BODY, regle, r->body);
    json_t *item = http_problem_error(r, pointer);
    cr_assert_not_null(item, "an item at %s: " HTTP_BODY, pointer, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(item, "code")), code, HTTP_BODY, r->body);
    return json_string_value(json_object_get(item, "message"));
}

static size_t writes(const struct fin *f)
{
    return fx_journal_count("fiche_action", f->fiche, ACTION_PLAN) +
           fx_journal_count("fiche_action", f->fiche, ACTION_LIGNE) +
           fx_journal_count("fiche_action", f->fiche, ACTION_ECHEANCIER);
}

/* ---- Direct database access (test set-up and the held lock) ----------- */

/* Runs one statement ($1 = param) on its own connection (test set-up). */
static void sql(const char *statement, const char *param)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *res = PQexecParams(c, statement, 1, NULL, &param, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* Puts the fiche in `etat` with what its CHECKs need (dates, motif), as a
 * transition would leave it: set-up only (the transitions route is tested
 * with the fiches' life). revision + 1, so ETags read before are stale. */
static void force_etat(struct fin *f, const char *etat)
{
    char statement[600];
    snprintf(statement, sizeof statement,
             "UPDATE fiches_action SET etat = '%s', date_debut_prevue = '2026-03-01', "
             "date_fin_prevue = '2027-12-31', date_commencement = CASE WHEN '%s' IN ('en_cours', "
             "'suspendue', 'realisee') THEN date '2026-03-02' END, date_achevement = CASE WHEN "
             "'%s' = 'realisee' THEN date '2026-06-30' END, revision = revision + 1 WHERE id = "
             "$1::uuid",
             etat, etat, etat);
    sql(statement, f->fiche);
    fx_etag(f->one, f->etag);
}

/* ---- Reads, writes, ids, statuts, If-Match, journal -------------------- */

Test(fiches_financement, analysis_replace_append_ids_statuts_and_journal)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400], header[100], stale[64];
    fin_setup(&f, "pvd-75-40-901", "40004", "214000044", "244000865", "200053759",
              "\"depense_subventionnable_ht_centimes\": 8000000");

    /* an empty plan: nothing financed, the whole cost to finance */
    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(http_header(&r, "ETag"), f.etag, "the fiche's ETag, for If-Match");
    cr_assert_eq(json_array_size(json_object_get(r.json, "lignes")), 0);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "solde_centimes")), 10000000);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total_lignes_centimes")), 0);
    http_response_release(&r);

    /* PUT needs If-Match; a stale one is 412 with the current ETag */
    ligne(a, sizeof a, f.t.commune_org, "autofinancement", 3000000, "accorde");
    ligne(b, sizeof b, f.etat, "DETR", 4000000, "sollicite");
    char body[1200];
    snprintf(body, sizeof body, "{\"lignes\":[%s,%s]}", a, b);
    fx_call(&f.admin, "PUT", f.plan, body, NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&f.admin, "PUT", f.plan, body, "If-Match: \"0000000000000000\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    cr_assert_eq(writes(&f), 0);

    /* DETR with an assiette: its taux is derived */
    snprintf(b, sizeof b,
             "{\"financeur_id\":\"%s\",\"dispositif\":\"DETR\",\"nature_financeur\":\"public\","
             "\"montant_centimes\":4000000,\"assiette_ht_centimes\":8000000,\"statut\":"
             "\"sollicite\"}",
             f.etat);
    put_lignes(&f, f.etag, a, b, NULL, &r);
    snprintf(stale, sizeof stale, "%s", f.etag);
    expect_fiche(&f, &r);
    json_t *plan = json_object_get(r.json, "plan_financement");
    cr_assert_eq(json_array_size(plan), 2, HTTP_BODY, r.body);
    char id0[37], id1[37];
    snprintf(id0, sizeof id0, "%s",
             json_string_value(json_object_get(json_array_get(plan, 0), "id")));
    snprintf(id1, sizeof id1, "%s",
             json_string_value(json_object_get(json_array_get(plan, 1), "id")));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_PLAN), 1);

    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(http_header(&r, "ETag"), f.etag);
    json_t *l1 = json_array_get(json_object_get(r.json, "lignes"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(l1, "taux")), "0.5000", HTTP_BODY, r.body);
    cr_assert(
        json_is_null(json_object_get(json_array_get(json_object_get(r.json, "lignes"), 0), "taux")),
        "no assiette, no taux");
    /* only lines that count (sollicité and after) are financed: 30 000 + 40 000 € */
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total_lignes_centimes")), 7000000);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "solde_centimes")), 3000000);
    json_t *r29 = json_object_get(r.json, "r29");
    cr_assert(json_is_true(json_object_get(r29, "applicable")), HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r29, "part_propre_centimes")), 3000000);
    cr_assert_eq(json_integer_value(json_object_get(r29, "part_propre_minimale_centimes")),
                 1000000);
    cr_assert_eq(json_integer_value(json_object_get(r29, "manque_centimes")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r.json, "r33"),
                                                    "depense_subventionnable_ht_centimes")),
                 8000000);
    /* the unbalanced plan is information here (brouillon), not a refusal */
    json_t *avert = json_object_get(r.json, "avertissements");
    cr_assert_eq(json_array_size(avert), 1, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(avert, 0), "code")),
                     "plan-financement-desequilibre");
    http_response_release(&r);
    /* If-None-Match: 304 */
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", f.etag);
    fx_call(&f.admin, "GET", f.plan, NULL, inm, &r);
    cr_assert_eq(r.status, 304, HTTP_BODY, r.body);
    http_response_release(&r);

    /* the old ETag is stale now */
    put_lignes(&f, stale, a, NULL, NULL, &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    cr_assert_str_eq(http_header(&r, "ETag"), f.etag);
    http_response_release(&r);

    /* a line sent back keeps its id; accorde → envisage goes back: refused */
    snprintf(a, sizeof a,
             "{\"id\":\"%s\",\"financeur_id\":\"%s\",\"dispositif\":\"autofinancement\","
             "\"nature_financeur\":\"public\",\"montant_centimes\":3000000,\"statut\":"
             "\"envisage\"}",
             id0, f.t.commune_org);
    snprintf(b, sizeof b,
             "{\"id\":\"%s\",\"financeur_id\":\"%s\",\"dispositif\":\"DETR\",\"nature_financeur\":"
             "\"public\",\"montant_centimes\":4000000,\"statut\":\"accorde\"}",
             id1, f.etat);
    size_t before = writes(&f);
    put_lignes(&f, f.etag, a, b, NULL, &r);
    const char *message =
        expect_refusal(&r, NULL, "/lignes/0/statut", "statut-financement-invalide");
    cr_assert(strstr(message, "verse_partiel"), "names the next statuts: %s", message);
    http_response_release(&r);
    cr_assert_eq(writes(&f), before, "nothing written on a refusal");

    /* sollicite → accorde is an edge; accorde stays; a new line starts anywhere */
    snprintf(a, sizeof a,
             "{\"id\":\"%s\",\"financeur_id\":\"%s\",\"dispositif\":\"autofinancement\","
             "\"nature_financeur\":\"public\",\"montant_centimes\":3000000,\"statut\":"
             "\"accorde\"}",
             id0, f.t.commune_org);
    ligne(c, sizeof c, f.region, "region", 3000000, "accorde");
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    plan = json_object_get(r.json, "plan_financement");
    cr_assert_eq(json_array_size(plan), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plan, 0), "id")), id0);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plan, 1), "id")), id1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plan, 1), "statut")),
                     "accorde");
    http_response_release(&r);

    /* POST one line: If-Match optional, checked when given */
    ligne(c, sizeof c, f.region, "region", 500000, "envisage");
    fx_call(&f.admin, "POST", f.lignes, c, "If-Match: \"0000000000000000\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, c, NULL, &r);
    expect_fiche(&f, &r);
    plan = json_object_get(r.json, "plan_financement");
    cr_assert_eq(json_array_size(plan), 4);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(plan, 3), "montant_centimes")),
                 500000);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plan, 0), "id")), id0,
                     "appending keeps the other lines");
    http_response_release(&r);
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "POST", f.lignes, c, header, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), 2);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_PLAN), 2);

    /* shapes: 400 with pointers into the body; an unknown financeur 422 */
    before = writes(&f);
    put_lignes(&f, f.etag, "{\"financeur_id\":\"x\",\"montant_centimes\":-1}", NULL, NULL, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/lignes/0/financeur_id"), HTTP_BODY, r.body);
    cr_assert_not_null(http_problem_error(&r, "/lignes/0/montant_centimes"), HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&f.admin, "PUT", f.plan, "{\"lignes\":[],\"autre\":1}", header, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/autre"), HTTP_BODY, r.body);
    http_response_release(&r);
    ligne(c, sizeof c, "0f6d1c2e-4b7a-4e21-9a3d-5c8b7e6f1a20", "region", 100, "envisage");
    fx_call(&f.admin, "POST", f.lignes, c, NULL, &r);
    expect_refusal(&r, NULL, "/financeur_id", "organisation-inconnue");
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, "{\"dispositif\":\"loterie\"}", NULL, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/dispositif"), HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(writes(&f), before);

    /* an empty plan is a plan (brouillon) */
    put_lignes(&f, f.etag, NULL, NULL, NULL, &r);
    expect_fiche(&f, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "plan_financement")), 0);
    http_response_release(&r);
}

Test(fiches_financement, perimeter_and_roles)
{
    struct fin f;
    struct http_response r;
    struct fx_caller agent, prefecture, dehors;
    char a[400], header[100];
    fin_setup(&f, "pvd-75-40-902", "40019", "214000192", "244000543", "200053759", NULL);
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"214000192\"]}");
    fx_caller_with(&prefecture, "prefecture_instructeur", "{\"departements\":[\"40\"]}");
    fx_caller_with(&dehors, "collectivite_agent", "{\"sirens\":[\"214000044\"]}");
    ligne(a, sizeof a, f.t.commune_org, "autofinancement", 1000000, "envisage");

    fx_call(&dehors, "GET", f.plan, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&dehors, "POST", f.lignes, a, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&prefecture, "GET", f.echeancier, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&prefecture, "POST", f.lignes, a, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    cr_assert_eq(writes(&f), 0);

    fx_call(&agent, "POST", f.lignes, a, NULL, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    if_match(header, sizeof header, f.etag);
    fx_call(&agent, "PUT", f.echeancier,
            "{\"annees\":[{\"annee\":2026,\"montant_centimes\":6000000},{\"annee\":2027,"
            "\"montant_centimes\":4000000}]}",
            header, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    cr_assert_eq(writes(&f), 2);

    fx_call(&agent, "GET", "/api/v1/fiches-action/0f6d1c2e-4b7a-4e21-9a3d-5c8b7e6f1a20/echeancier",
            NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

/* POST of a line under an Idempotency-Key: replayed, never added twice; at
 * most 100 lines. */
Test(fiches_financement, appended_line_replayed_by_its_key_and_at_most_100_lines)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400];
    fin_setup(&f, "pvd-01-971-903", "97107", "219711074", "249710070", "239710015", NULL);
    ligne(a, sizeof a, f.t.commune_org, "autofinancement", 100, "envisage");
    ligne(b, sizeof b, f.t.commune_org, "autofinancement", 200, "envisage");
    fx_call(&f.admin, "POST", f.lignes, a, "Idempotency-Key: ligne-971-1", &r);
    expect_fiche(&f, &r);
    char first[64];
    snprintf(first, sizeof first, "%s", f.etag);
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, a, "Idempotency-Key: ligne-971-1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "Idempotent-Replayed"), "true");
    cr_assert_str_eq(http_header(&r, "ETag"), first, "the first answer");
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, b, "Idempotency-Key: ligne-971-1", &r);
    http_expect_problem(&r, 422, "cle-idempotence-reutilisee");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), 1);

    /* 100 lines, then the 101st refused */
    char *body = malloc(100 * 400 + 32), header[100];
    cr_assert_not_null(body);
    size_t n = (size_t)sprintf(body, "{\"lignes\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(body + n, "%s%s", i ? "," : "", a);
    sprintf(body + n, "]}");
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PUT", f.plan, body, header, &r);
    free(body);
    expect_fiche(&f, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "plan_financement")), 100);
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, b, NULL, &r);
    expect_refusal(&r, NULL, "/plan_financement", "trop-de-lignes");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), 1);
}

/* ---- R29 on real-shaped cases ------------------------------------------- */

/* DETR 50 000 €, Région 35 000 €, own share 15 000 € on 100 000 € HT: 85 %
 * of public aid, the own share 15 % of 100 000 € of public financing. */
static void plan_85(const struct fin *f, char a[400], char b[400], char c[400])
{
    ligne(a, 400, f->etat, "DETR", 5000000, "sollicite");
    ligne(b, 400, f->region, "region", 3500000, "sollicite");
    ligne(c, 400, f->t.commune_org, "autofinancement", 1500000, "accorde");
}

Test(fiches_financement, r29_refuses_85_percent_of_public_aid_with_the_shortfall_in_euros)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400];
    fin_setup(&f, "pvd-75-40-903", "40020", "214000200", "200069649", "200053759", NULL);
    plan_85(&f, a, b, c);
    put_lignes(&f, f.etag, a, b, c, &r);
    const char *message = expect_refusal(&r, "R29", "/lignes", "part-propre-insuffisante");
    /* 85 000 € of other public aid: own share ≥ 85 000 / 4 = 21 250 €, 6 250 € missing */
    cr_assert(strstr(message, "6\u00a0250,00\u00a0€"), "the shortfall in euros: %s", message);
    cr_assert(strstr(message, "21\u00a0250,00\u00a0€"), "the minimum: %s", message);
    http_response_release(&r);
    cr_assert_eq(writes(&f), 0, "nothing written");

    /* the same lines one by one: the third is refused, the first two stay */
    fx_call(&f.admin, "POST", f.lignes, c, NULL, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, a, NULL, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, b, NULL, &r);
    expect_refusal(&r, "R29", "/plan_financement", "part-propre-insuffisante");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), 2);

    /* the analysis shows the figures of the plan as stored, and its warning */
    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *r29 = json_object_get(r.json, "r29");
    cr_assert_eq(json_integer_value(json_object_get(r29, "autres_publics_centimes")), 5000000);
    cr_assert_eq(json_integer_value(json_object_get(r29, "part_propre_minimale_centimes")),
                 1250000);
    cr_assert_eq(json_integer_value(json_object_get(r29, "manque_centimes")), 0);
    http_response_release(&r);

    /* own share raised to 21 250 €: the plan holds */
    ligne(c, sizeof c, f.t.commune_org, "autofinancement", 2125000, "accorde");
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    /* 21 249,99 €: one cent short */
    ligne(c, sizeof c, f.t.commune_org, "autofinancement", 2124999, "accorde");
    put_lignes(&f, f.etag, a, b, c, &r);
    message = expect_refusal(&r, "R29", "/lignes", "part-propre-insuffisante");
    cr_assert(strstr(message, "0,01\u00a0€"), "%s", message);
    http_response_release(&r);
}

Test(fiches_financement, r29_does_not_apply_in_guadeloupe)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400];
    fin_setup(&f, "pvd-01-971-901", "97102", "219711025", "200044691", "239710015", NULL);
    plan_85(&f, a, b, c);
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *r29 = json_object_get(r.json, "r29");
    cr_assert(json_is_false(json_object_get(r29, "applicable")), HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r29, "manque_centimes")), 625000,
                 "the figures are still computed");
    http_response_release(&r);
}

Test(fiches_financement, r29_holds_with_a_recorded_derogation_and_needs_its_reference)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400], header[100];
    fin_setup(&f, "pvd-75-40-904", "40021", "214000218", "244000865", "200053759", NULL);
    plan_85(&f, a, b, c);

    /* the préfet's heritage derogation recorded on the fiche (its PATCH) */
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PATCH", f.one,
            "{\"derogation_l1111_10\":{\"type\":\"patrimoine_non_protege\",\"reference\":"
            "\"Arrêté préfectoral 40-2026-0142\"}}",
            header, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert(json_is_true(json_object_get(json_object_get(r.json, "r29"), "exempte")), HTTP_BODY,
              r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "avertissements")), 0, HTTP_BODY,
                 r.body); /* 100 000 € financed: balanced too */
    http_response_release(&r);

    /* the derogation cannot lose its reference while the plan needs it */
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PATCH", f.one,
            "{\"derogation_l1111_10\":{\"type\":\"patrimoine_non_protege\",\"reference\":null}}",
            header, &r);
    expect_refusal(&r, "R29", "/derogation_l1111_10/reference", "derogation-reference-manquante");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, "fiche_action.modifier"), 1);
}

/* ---- R33 ------------------------------------------------------------------ */

Test(fiches_financement, r33_caps_state_dotations_at_80_percent_of_the_subsidisable_expense)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400], dsil[37], ignored[64];
    fin_setup(&f, "pvd-75-40-905", "40034", "214000341", "200069417", "200053759",
              "\"depense_subventionnable_ht_centimes\": 9000000");
    fx_create(&f.admin, "/api/v1/organisations",
              "{\"nature\":\"etat\",\"nom\":\"État — DSIL (test financement)\"}", dsil, ignored);
    /* DETR 40 000 + DSIL 35 000 = 75 000 € > 80 % of 90 000 € = 72 000 € */
    ligne(a, sizeof a, f.etat, "DETR", 4000000, "sollicite");
    ligne(b, sizeof b, dsil, "DSIL", 3500000, "sollicite");
    ligne(c, sizeof c, f.t.commune_org, "autofinancement", 2500000, "accorde");
    put_lignes(&f, f.etag, a, b, c, &r);
    const char *message = expect_refusal(&r, "R33", "/lignes", "dotations-etat-plafond-depasse");
    cr_assert(strstr(message, "3\u00a0000,00\u00a0€"), "the excess in euros: %s", message);
    http_response_release(&r);
    cr_assert_eq(writes(&f), 0);

    /* DSIL 32 000 €: exactly the cap */
    ligne(b, sizeof b, dsil, "DSIL", 3200000, "sollicite");
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    /* a refused DSIL line no longer counts */
    ligne(b, sizeof b, dsil, "DSIL", 9000000, "refuse");
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
}

/* ---- R24 / R27 once programmée; a fiche réalisée is frozen --------------- */

Test(fiches_financement, programmed_plan_and_echeancier_stay_balanced)
{
    struct fin f;
    struct http_response r;
    char a[400], b[400], c[400], header[100];
    fin_setup(&f, "pvd-75-40-906", "40036", "214000366", "244000865", "200053759", NULL);
    ligne(a, sizeof a, f.etat, "DETR", 4000000, "accorde");
    ligne(b, sizeof b, f.region, "region", 3000000, "accorde");
    ligne(c, sizeof c, f.t.commune_org, "autofinancement", 3000000, "accorde");
    put_lignes(&f, f.etag, a, b, c, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);

    /* échéancier: a year twice is R27's refusal before any write */
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PUT", f.echeancier,
            "{\"annees\":[{\"annee\":2026,\"montant_centimes\":5000000},{\"annee\":2026,"
            "\"montant_centimes\":5000000}]}",
            header, &r);
    expect_refusal(&r, "R27", "/annees/1/annee", "echeancier-annee-repetee");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_ECHEANCIER), 0);
    fx_call(&f.admin, "PUT", f.echeancier, "{\"annees\":[{\"annee\":1999,\"montant_centimes\":1}]}",
            header, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    cr_assert_not_null(http_problem_error(&r, "/annees/0/annee"), HTTP_BODY, r.body);
    http_response_release(&r);
    /* unbalanced while brouillon: accepted, with the warning in the reading */
    fx_call(&f.admin, "PUT", f.echeancier,
            "{\"annees\":[{\"annee\":2026,\"montant_centimes\":6000000}]}", header, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    fx_call(&f.admin, "GET", f.echeancier, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total_centimes")), 6000000);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "ecart_centimes")), 4000000);
    json_t *w = json_array_get(json_object_get(r.json, "avertissements"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(w, "code")), "echeancier-desequilibre",
                     HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(w, "pointeur")), "/annees");
    http_response_release(&r);
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PUT", f.echeancier,
            "{\"annees\":[{\"annee\":2026,\"montant_centimes\":6000000},{\"annee\":2027,"
            "\"montant_centimes\":4000000}]}",
            header, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);

    force_etat(&f, "programmee");
    size_t before = writes(&f);
    /* removing the région's line unbalances the plan: R24 */
    put_lignes(&f, f.etag, a, c, NULL, &r);
    const char *message = expect_refusal(&r, "R24", "/lignes", "plan-financement-desequilibre");
    cr_assert(strstr(message, "30\u00a0000,00\u00a0€"), "the gap in euros: %s", message);
    http_response_release(&r);
    /* a line appended over-finances it */
    ligne(b, sizeof b, f.region, "region", 100, "sollicite");
    fx_call(&f.admin, "POST", f.lignes, b, NULL, &r);
    expect_refusal(&r, "R24", "/plan_financement", "plan-financement-desequilibre");
    http_response_release(&r);
    /* an envisaged line does not count: accepted */
    ligne(b, sizeof b, f.region, "region", 100, "envisage");
    fx_call(&f.admin, "POST", f.lignes, b, NULL, &r);
    expect_fiche(&f, &r);
    http_response_release(&r);
    /* the échéancier no longer matching the HT cost: R27 */
    if_match(header, sizeof header, f.etag);
    fx_call(&f.admin, "PUT", f.echeancier,
            "{\"annees\":[{\"annee\":2026,\"montant_centimes\":6000000}]}", header, &r);
    expect_refusal(&r, "R27", "/annees", "echeancier-desequilibre");
    http_response_release(&r);
    cr_assert_eq(writes(&f), before + 1);

    /* réalisée: frozen */
    force_etat(&f, "realisee");
    before = writes(&f);
    put_lignes(&f, f.etag, a, b, c, &r);
    http_expect_problem(&r, 409, "conflit");
    cr_assert_not_null(http_problem_error(&r, "/etat"), HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(http_problem_error(&r, "/etat"), "code")),
                     "fiche-figee");
    http_response_release(&r);
    fx_call(&f.admin, "POST", f.lignes, b, NULL, &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    cr_assert_eq(writes(&f), before);
}

/* ---- §4: two writers of one plan ---------------------------------------- */

/* A POST sent from its own thread, released with the other by a barrier. */
struct racer {
    const struct fx_caller *c;
    const char *path, *body;
    pthread_barrier_t *start;
    struct http_response r;
    pthread_t thread;
};

static void *race_run(void *arg)
{
    struct racer *a = arg;
    pthread_barrier_wait(a->start);
    fx_call(a->c, "POST", a->path, a->body, NULL, &a->r);
    return NULL;
}

#define HOLD_TERRITOIRE                                                                            \
    "SELECT 1 FROM territoires WHERE id_pvd = (SELECT id_pvd FROM fiches_action WHERE id = "       \
    "$1::uuid) FOR NO KEY UPDATE"

/* Each DETR line of 45 000 € keeps the plan under R33's cap (80 000 €) alone;
 * both together exceed it (R29 holds either way: 30 000 € of own share). The
 * two POSTs are sent at the same instant, five rounds: whatever the
 * interleaving, exactly one line of each pair gets in. A 503 (the suite's
 * server has a pool of 4 connections, shared with the tests running beside
 * this one) writes nothing and says nothing about the rule: such a round is
 * checked on what it wrote, and another round is played. */
Test(fiches_financement, two_concurrent_lines_one_succeeds_the_other_sees_it)
{
    struct fin f;
    char a[400], b[400], own[400];
    fin_setup(&f, "pvd-75-40-907", "40037", "214000374", "244000808", "200053759", NULL);
    struct http_response r;
    ligne(own, sizeof own, f.t.commune_org, "autofinancement", 3000000, "accorde");
    ligne(a, sizeof a, f.etat, "DETR", 4500000, "sollicite");
    ligne(b, sizeof b, f.etat, "DETR", 4500000, "envisage");
    int decisive = 0, added = 0;
    for (int round = 0; round < 20 && decisive < 5; round++) {
        put_lignes(&f, f.etag, own, NULL, NULL, &r);
        expect_fiche(&f, &r);
        http_response_release(&r);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        struct racer first = {&f.admin, f.lignes, a, &start, {0}, 0};
        struct racer second = {&f.admin, f.lignes, b, &start, {0}, 0};
        cr_assert_eq(pthread_create(&first.thread, NULL, race_run, &first), 0);
        cr_assert_eq(pthread_create(&second.thread, NULL, race_run, &second), 0);
        pthread_join(first.thread, NULL);
        pthread_join(second.thread, NULL);
        pthread_barrier_destroy(&start);
        long s1 = first.r.status, s2 = second.r.status;
        int ok = (s1 == 200) + (s2 == 200);
        cr_assert((s1 == 200 || s1 == 422 || s1 == 503) && (s2 == 200 || s2 == 422 || s2 == 503) &&
                      ok <= 1,
                  "at most one succeeds: %ld " HTTP_BODY " / %ld " HTTP_BODY, s1, first.r.body, s2,
                  second.r.body);
        if (s1 != 503 && s2 != 503) {
            cr_assert_eq(ok, 1, "exactly one succeeds: %ld / %ld", s1, s2);
            expect_refusal(s1 == 422 ? &first.r : &second.r, "R33", "/plan_financement",
                           "dotations-etat-plafond-depasse");
            decisive++;
        }
        added += ok;
        http_response_release(&first.r);
        http_response_release(&second.r);
        fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_eq(json_array_size(json_object_get(r.json, "lignes")), (size_t)(1 + ok),
                     HTTP_BODY, r.body);
        cr_assert_eq(json_integer_value(
                         json_object_get(json_object_get(r.json, "r33"), "excedent_centimes")),
                     0);
        snprintf(f.etag, sizeof f.etag, "%s", http_header(&r, "ETag"));
        http_response_release(&r);
    }
    cr_assert_eq(decisive, 5, "five rounds decided");
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), (size_t)added);
}

/* Another session holds the territoire lock and adds a DETR line of 45 000 €
 * meanwhile; the POST of a second one waits on that lock and, once the line
 * is committed, reads it in its own transaction: R33 refuses. */
Test(fiches_financement, a_writer_waits_for_the_territoire_lock_and_reads_the_committed_line)
{
    struct fin f;
    char b[400], hold[900];
    struct http_response r;
    fin_setup(&f, "pvd-01-971-902", "97104", "219711041", "249710070", "239710015", NULL);
    snprintf(hold, sizeof hold,
             "WITH t AS (" HOLD_TERRITOIRE ") INSERT INTO fiche_financements (fiche_id, rang, "
             "financeur_id, dispositif, nature_financeur, montant, statut) SELECT $1::uuid, 0, "
             "'%s'::uuid, 'DETR', 'public', 4500000, 'sollicite' FROM t",
             f.etat);
    ligne(b, sizeof b, f.etat, "DETR", 4500000, "sollicite");
    fx_call_while_held(&f.admin, "POST", f.lignes, b, NULL, hold, f.fiche, &r);
    expect_refusal(&r, "R33", "/plan_financement", "dotations-etat-plafond-depasse");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", f.fiche, ACTION_LIGNE), 0);
    fx_call(&f.admin, "GET", f.plan, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "lignes")), 1,
                 "the held session's line only: " HTTP_BODY, r.body);
    http_response_release(&r);
}
