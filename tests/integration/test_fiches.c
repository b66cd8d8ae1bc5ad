/* Fiches action over HTTP (issue #9 §1): create, read and update, each
 * refusal with its status, code, regle and pointer and nothing written
 * (journal counted), If-Match (428/412), the perimeter (404 outside, 403
 * inside without the right, a financeur inside only the fiches it finances)
 * and R29 on a plan given at creation. Territoires in the Meuse (55),
 * ids pvd-44-55-9xx. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

/* One territoire per test (criterion runs each test in its own process):
 * Verdun (55545, EPCI 200049187, in which Belleville-sur-Meuse 55043 is but
 * not in the territoire), Bar-le-Duc, Commercy, Saint-Mihiel, Étain, Stenay. */
static struct fx_fiche_territoire verdun;

static void territoire(const char *id_pvd, const char *insee, const char *siren, const char *epci)
{
    fx_fiche_territoire(id_pvd, insee, siren, epci, "2025-03-01", &verdun);
}

static void post_fiche(const struct fx_caller *c, const char *numero, const char *extra,
                       struct http_response *r)
{
    char *body = fx_fiche_body(&verdun, numero, extra);
    fx_call(c, "POST", "/api/v1/fiches-action", body, NULL, r);
    free(body);
}

static size_t creations(const struct fx_caller *c)
{
    return fx_journal_count_by(c, "fiche_action");
}

Test(fiches, create_read_conditional_and_journal)
{
    struct fx_caller admin;
    struct http_response r;
    char id[37], etag[64], path[120];
    fx_admin(&admin);
    territoire("pvd-44-55-903", "55122", "215501222", "200066157");
    fx_fiche(&admin, &verdun, "1.1", "\"thematiques\": [\"commerce\"], \"public\": true", id, etag);
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", id);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(http_header(&r, "ETag"), etag);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "brouillon");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "maturite")), "en_maturation");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "cout_total_ht_centimes")), 10000000);
    cr_assert(json_is_array(json_object_get(r.json, "transitions_possibles")));
    cr_assert_eq(json_array_size(json_object_get(r.json, "plan_financement")), 0);
    http_response_release(&r);
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    fx_call(&admin, "GET", path, NULL, inm, &r);
    cr_assert_eq(r.status, 304);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", id, "fiche_action.creer"), 1);

    /* not a UUID, unknown: 404 alike */
    fx_call(&admin, "GET", "/api/v1/fiches-action/pas-un-uuid", NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&admin, "GET", "/api/v1/fiches-action/00000000-0000-4000-8000-000000000000", NULL, NULL,
            &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

Test(fiches, create_refusals_write_nothing)
{
    struct fx_caller admin;
    struct http_response r;
    char id[37], other_axe[37], body[300];
    fx_caller_with(&admin, "anct_national", "{}");
    territoire("pvd-44-55-901", "55545", "215505454", "200049187");
    fx_fiche(&admin, &verdun, "2.1", NULL, id, NULL);
    size_t before = creations(&admin);

    /* 409: numero used in the plan */
    post_fiche(&admin, "2.1", NULL, &r);
    fx_expect_error(&r, 409, "conflit", "/numero", "numero-deja-utilise");
    http_response_release(&r);

    /* R21: an axe of another territoire, an unknown axe */
    struct fx_fiche_territoire bar;
    fx_fiche_territoire("pvd-44-55-902", "55029", "215500299", "200033025", "2025-03-01", &bar);
    snprintf(other_axe, sizeof other_axe, "%s", bar.axe);
    snprintf(body, sizeof body, "\"axe_id\": \"%s\"", other_axe);
    post_fiche(&admin, "2.2", body, &r);
    fx_expect_rule(&r, "R21", "/axe_id", (const char *const[]){"axe-autre-territoire", NULL});
    http_response_release(&r);
    post_fiche(&admin, "2.2", "\"axe_id\": \"00000000-0000-4000-8000-000000000001\"", &r);
    fx_expect_rule(&r, "R21", "/axe_id", (const char *const[]){"axe-inconnu", NULL});
    http_response_release(&r);

    /* R22: outside the territoire; in its EPCI but not intercommunal */
    post_fiche(&admin, "2.2", "\"localisation_commune_insee\": \"55029\"", &r);
    fx_expect_rule(&r, "R22", "/localisation_commune_insee",
                   (const char *const[]){"commune-hors-territoire", NULL});
    http_response_release(&r);
    post_fiche(&admin, "2.2", "\"localisation_commune_insee\": \"55043\"", &r);
    fx_expect_rule(&r, "R22", "/localisation_commune_insee",
                   (const char *const[]){"commune-hors-territoire-epci", NULL});
    http_response_release(&r);

    /* costs and R25, reported together */
    post_fiche(&admin, "2.2",
               "\"cout_total_ttc_centimes\": 9000000, \"date_debut_prevue\": \"2026-05-01\", "
               "\"date_fin_prevue\": \"2026-04-01\"",
               &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/cout_total_ttc_centimes",
                    "cout-ttc-inferieur-ht");
    fx_expect_error(&r, 422, "regle-non-respectee", "/date_fin_prevue",
                    "dates-prevues-incoherentes");
    http_response_release(&r);

    /* unknown organisation, unknown territoire, blank numero */
    post_fiche(&admin, "2.2", "\"maitre_ouvrage_id\": \"00000000-0000-4000-8000-000000000002\"",
               &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/maitre_ouvrage_id", "organisation-inconnue");
    http_response_release(&r);
    post_fiche(&admin, "2.2", "\"id_pvd\": \"pvd-44-55-999\"", &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/id_pvd", "territoire-inconnu");
    http_response_release(&r);
    post_fiche(&admin, "   ", NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/numero", "numero-manquant");
    http_response_release(&r);

    /* shapes: 400 with pointers */
    post_fiche(&admin, "2.2",
               "\"cout_total_ht_centimes\": -1, \"thematiques\": [\"piscine\"], "
               "\"plan_financement\": [{\"dispositif\": \"DETR\"}], \"inconnu\": 1",
               &r);
    fx_expect_error(&r, 400, "champs-invalides", "/cout_total_ht_centimes", "hors-bornes");
    fx_expect_error(&r, 400, "champs-invalides", "/thematiques/0", "valeur-inconnue");
    fx_expect_error(&r, 400, "champs-invalides", "/plan_financement/0/financeur_id",
                    "champ-requis");
    fx_expect_error(&r, 400, "champs-invalides", "/inconnu", "champ-inconnu");
    http_response_release(&r);

    /* a séance that does not exist, another territoire's séance, a foreign
     * indicateur: 422 reference-hors-territoire at each pointer */
    snprintf(body, sizeof body,
             "\"comite_seance_id\": \"%s\", \"indicateurs\": [\"00000000-0000-4000-8000-"
             "000000000003\"]",
             bar.seance);
    post_fiche(&admin, "2.2", body, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/comite_seance_id",
                    "reference-hors-territoire");
    fx_expect_error(&r, 422, "regle-non-respectee", "/indicateurs/0", "reference-hors-territoire");
    http_response_release(&r);
    post_fiche(&admin, "2.2", "\"dans_secteur_ort_id\": \"00000000-0000-4000-8000-000000000004\"",
               &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/dans_secteur_ort_id",
                    "reference-hors-territoire");
    http_response_release(&r);

    cr_assert_eq(creations(&admin), before, "a refused creation wrote a journal row");

    /* an intercommunal action may stand in a commune of the territoire's EPCI */
    post_fiche(&admin, "2.2", "\"localisation_commune_insee\": \"55043\", \"intercommunale\": true",
               &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    /* the territoire's own séance */
    snprintf(body, sizeof body, "\"comite_seance_id\": \"%s\"", verdun.seance);
    post_fiche(&admin, "2.3", body, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* R29 at creation: a commune-led investment of 100 000 € HT with 85 000 € of
 * other public aid and 15 000 € of its own: 6 250 € short of the 20 %. */
Test(fiches, create_with_plan_r29_shortfall_in_euros)
{
    struct fx_caller admin;
    struct http_response r;
    char etat[37], region[37], extra[900];
    fx_caller_with(&admin, "anct_national", "{}");
    territoire("pvd-44-55-904", "55463", "215504630", "245500327");
    struct http_response o;
    fx_call(&admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Meuse\"}", NULL, &o);
    cr_assert_eq(o.status, 201, HTTP_BODY, o.body);
    snprintf(etat, sizeof etat, "%s", json_string_value(json_object_get(o.json, "id")));
    http_response_release(&o);
    fx_organisation("200052264", "region", "Région Grand Est", region);
    snprintf(extra, sizeof extra,
             "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": \"DETR\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 5000000}, "
             "{\"financeur_id\": \"%s\", \"dispositif\": \"region\", \"nature_financeur\": "
             "\"public\", \"montant_centimes\": 3500000}, {\"financeur_id\": \"%s\", "
             "\"dispositif\": \"autofinancement\", \"nature_financeur\": \"public\", "
             "\"montant_centimes\": 1500000}]",
             etat, region, verdun.commune_org);
    size_t before = creations(&admin);
    post_fiche(&admin, "3.1", extra, &r);
    fx_expect_rule(&r, "R29", "/plan_financement",
                   (const char *const[]){"part-propre-insuffisante", NULL});
    cr_assert(strstr(json_string_value(json_object_get(r.json, "detail")), "6\u00a0250,00\u00a0€"),
              "the shortfall in euros: " HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(creations(&admin), before);

    /* the same with a recorded derogation: accepted */
    char with[1100];
    snprintf(with, sizeof with,
             "%s, \"derogation_l1111_10\": {\"type\": \"monument_protege\", \"reference\": "
             "\"Arrêté préfectoral 2025-114\"}",
             extra);
    post_fiche(&admin, "3.1", with, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "plan_financement")), 3);
    http_response_release(&r);
}

Test(fiches, update_merge_patch_if_match_and_rules)
{
    struct fx_caller admin;
    struct http_response r;
    char id[37], etag[64], path[120], if_match[100];
    fx_admin(&admin);
    territoire("pvd-44-55-905", "55181", "215501818", "245501242");
    fx_fiche(&admin, &verdun, "4.1", "\"priorite\": \"moyenne\"", id, etag);
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", id);

    fx_call(&admin, "PATCH", path, "{\"intitule\":\"Halles rénovées\"}", NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&admin, "PATCH", path, "{\"intitule\":\"Halles rénovées\"}", "If-Match: \"0\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);

    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    /* immutable and list members refused; dates made incoherent refused */
    fx_call(&admin, "PATCH", path, "{\"id_pvd\":\"pvd-44-55-902\",\"plan_financement\":[]}",
            if_match, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/id_pvd", "champ-inconnu");
    fx_expect_error(&r, 400, "champs-invalides", "/plan_financement", "champ-inconnu");
    http_response_release(&r);
    fx_call(&admin, "PATCH", path,
            "{\"date_debut_prevue\":\"2027-01-01\",\"date_fin_prevue\":\"2026-01-01\"}", if_match,
            &r);
    fx_expect_rule(&r, "R25", "/date_fin_prevue",
                   (const char *const[]){"dates-prevues-incoherentes", NULL});
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", id, "fiche_action.modifier"), 0);

    /* a merge patch: null clears, absent members keep their value */
    fx_call(&admin, "PATCH", path,
            "{\"intitule\":\"Halles rénovées\",\"priorite\":null,\"cout_total_ttc_centimes\":"
            "12000000}",
            if_match, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "intitule")), "Halles rénovées");
    cr_assert(json_is_null(json_object_get(r.json, "priorite")));
    cr_assert_eq(json_integer_value(json_object_get(r.json, "cout_total_ttc_centimes")), 12000000);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "description")),
                     "Halles du XIXe siècle");
    cr_assert_str_neq(http_header(&r, "ETag"), etag);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("fiche_action", id, "fiche_action.modifier"), 1);

    /* the old ETag is stale now */
    fx_call(&admin, "PATCH", path, "{\"intitule\":\"Encore\"}", if_match, &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);

    /* the numero of another fiche: 409 */
    char other[37], cur[64];
    fx_fiche(&admin, &verdun, "4.2", NULL, other, NULL);
    fx_etag(path, cur);
    snprintf(if_match, sizeof if_match, "If-Match: %s", cur);
    fx_call(&admin, "PATCH", path, "{\"numero\":\"4.2\"}", if_match, &r);
    fx_expect_error(&r, 409, "conflit", "/numero", "numero-deja-utilise");
    http_response_release(&r);
}

/* Who may create, read and change a fiche of Verdun: the collectivité
 * inside, not the préfecture (403 inside), nobody outside (404); a financeur
 * reads only the fiches it finances. */
Test(fiches, perimeter)
{
    struct fx_caller admin, agent, agent_out, pref, financeur;
    struct http_response r;
    char id[37], financed[37], path[120], region[37], extra[600];
    fx_admin(&admin);
    territoire("pvd-44-55-906", "55502", "215505025", "200066132");
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"215505025\"]}");
    fx_caller_with(&agent_out, "collectivite_agent", "{\"sirens\":[\"215500299\"]}");
    fx_caller_with(&pref, "prefecture_instructeur", "{\"departements\":[\"55\"]}");
    fx_caller_with(&financeur, "financeur", "{\"sirens\":[\"200052264\"]}");
    fx_organisation("200052264", "region", "Région Grand Est", region);

    char *body = fx_fiche_body(&verdun, "5.1", NULL);
    fx_call(&agent, "POST", "/api/v1/fiches-action", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
    http_response_release(&r);
    free(body);
    body = fx_fiche_body(&verdun, "5.2", NULL);
    fx_call(&pref, "POST", "/api/v1/fiches-action", body, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_call(&agent_out, "POST", "/api/v1/fiches-action", body, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    free(body);

    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", id);
    fx_call(&pref, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "transitions_possibles")), 0);
    http_response_release(&r);
    fx_call(&agent_out, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&financeur, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&pref, "PATCH", path, "{\"intitule\":\"x\"}", "If-Match: *", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);

    /* the Région finances this one: it reads it, and still may not edit it */
    snprintf(extra, sizeof extra,
             "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": \"region\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 1000000}, "
             "{\"financeur_id\": \"%s\", \"dispositif\": \"autofinancement\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 9000000}]",
             region, verdun.commune_org);
    fx_fiche(&admin, &verdun, "5.3", extra, financed, NULL);
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", financed);
    fx_call(&financeur, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&financeur, "PATCH", path, "{\"intitule\":\"x\"}", "If-Match: *", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
}
