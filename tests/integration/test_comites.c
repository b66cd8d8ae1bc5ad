/* Comité de projet over HTTP: R40 at constitution (one refusal per missing
 * member kind, pointer /membres) and on change, one comité per territoire
 * (409), unknown organisations (422), séances and décisions (a décision's
 * convention must be known and of the same territoire), If-Match, the
 * perimeter-filtered list and the journal. Each test has its own territoire
 * in the Jura (39) or the Cantal (15), ids pvd-*-9xx. The adhésion whose
 * signataires R40 requires is created (and abandoned) through the conventions
 * routes. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

enum { SANS_AUCUN = -1, SANS_COMMUNE, SANS_EPCI, SANS_CHEF, SANS_PREFET };

/* A membres array with the four R40 kinds, but the one `sans`. */
static void membres(char *out, size_t size, const char *commune, const char *epci, int sans)
{
    char items[4][300];
    snprintf(items[0], sizeof items[0],
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Mme Maire\","
             "\"fonction\":\"Maire\"}",
             commune);
    snprintf(items[1], sizeof items[1],
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"M. Président\"}",
             epci);
    snprintf(items[2], sizeof items[2],
             "{\"qualite\":\"chef_projet\",\"nom\":\"Mme Cheffe\",\"fonction\":null}");
    snprintf(items[3], sizeof items[3],
             "{\"qualite\":\"prefet\",\"nom\":\"M. Sous-préfet\",\"fonction\":\"Sous-préfet\"}");
    size_t len = (size_t)snprintf(out, size, "[");
    bool first = true;
    for (int i = 0; i < 4; i++) {
        if (i == sans)
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s%s", first ? "" : ",", items[i]);
        first = false;
    }
    snprintf(out + len, size - len, "]");
}

static void comite_body(char *out, size_t size, const char *id_pvd, const char *membres_json)
{
    snprintf(out, size, "{\"id_pvd\":\"%s\",\"presidence\":\"Le maire\",\"membres\":%s}", id_pvd,
             membres_json);
}

/* An adhésion of id_pvd with these signataires (organisation id, role),
 * created through POST /api/v1/conventions; abandoned (by the préfecture of
 * the id's département) when `abandon`; its id into out. */
static void adhesion(const char *id_pvd, bool abandon, const char *const (*sigs)[2], size_t count,
                     char out[37])
{
    struct fx_caller admin;
    struct http_response r;
    char body[2400], etag[64];
    fx_admin(&admin);
    size_t len = (size_t)snprintf(body, sizeof body,
                                  "{\"type\":\"adhesion\",\"id_pvd\":\"%s\",\"intitule\":"
                                  "\"Adhésion (test)\",\"signataires\":[",
                                  id_pvd);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "%s{\"organisation_id\":\"%s\",\"role\":\"%s\","
                                "\"representant_nom\":\"Représentant\",\"representant_qualite\":"
                                "\"Qualité\"}",
                                i ? "," : "", sigs[i][0], sigs[i][1]);
    snprintf(body + len, sizeof body - len, "]}");
    fx_create(&admin, "/api/v1/conventions", body, out, etag);
    if (!abandon)
        return;
    struct fx_caller prefecture;
    char perimetre[80], path[120], if_match[100];
    /* pvd-<région>-<département>-<n> */
    const char *dep = strchr(id_pvd + 4, '-') + 1;
    snprintf(perimetre, sizeof perimetre, "{\"departements\":[\"%.*s\"]}",
             (int)(strchr(dep, '-') - dep), dep);
    fx_caller_with(&prefecture, "prefecture_instructeur", perimetre);
    snprintf(path, sizeof path, "/api/v1/conventions/%s/transitions", out);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&prefecture, "POST", path, "{\"vers\":\"abandonnee\"}", if_match, &r);
    cr_assert_eq(r.status, 200, "abandon: " HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(comites, r40_refuses_each_missing_member_then_constitutes_once)
{
    struct fx_caller admin;
    struct http_response r;
    char commune[37], epci[37], list[1400], body[1600], id[37];
    fx_admin(&admin);
    fx_territoire("pvd-84-15-906", "15267", "241500230");
    fx_organisation("211502679", "commune", "Ytrac", commune);
    fx_organisation("241500230", "epci", "CA du Bassin d'Aurillac", epci);

    comite_body(body, sizeof body, "pvd-84-15-906", "[]");
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    const char *all[] = {"executif-commune-manquant", "executif-epci-manquant",
                         "chef-projet-manquant", "prefet-manquant", NULL};
    fx_expect_rule(&r, "R40", "/membres", all);
    http_response_release(&r);

    static const char *const codes[] = {"executif-commune-manquant", "executif-epci-manquant",
                                        "chef-projet-manquant", "prefet-manquant"};
    for (int sans = SANS_COMMUNE; sans <= SANS_PREFET; sans++) {
        membres(list, sizeof list, commune, epci, sans);
        comite_body(body, sizeof body, "pvd-84-15-906", list);
        fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
        const char *one[] = {codes[sans], NULL};
        fx_expect_rule(&r, "R40", "/membres", one);
        http_response_release(&r);
    }
    /* an executive of another organisation does not count for the commune */
    membres(list, sizeof list, epci, epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-84-15-906", list);
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    const char *other[] = {"executif-commune-manquant", NULL};
    fx_expect_rule(&r, "R40", "/membres", other);
    http_response_release(&r);

    fx_call(&admin, "GET", "/api/v1/comites?id_pvd=pvd-84-15-906", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, "nothing written");
    http_response_release(&r);

    membres(list, sizeof list, commune, epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-84-15-906", list);
    fx_create(&admin, "/api/v1/comites", body, id, NULL);
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("comite", id, "comite.creer"), 1);

    char one[160];
    snprintf(one, sizeof one, "/api/v1/comites/%s", id);
    fx_call(&admin, "GET", one, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *m = json_object_get(r.json, "membres");
    cr_assert_eq(json_array_size(m), 4);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "organisation_id")),
                     commune);
    cr_assert(json_is_null(json_object_get(json_array_get(m, 2), "organisation_id")));
    cr_assert_eq(json_is_false(json_object_get(r.json, "instance_preexistante")), true);
    http_response_release(&r);
}

Test(comites, bad_bodies_and_unknown_organisations)
{
    struct fx_caller admin;
    struct http_response r;
    char commune[37], epci[37], list[1400], body[1600];
    fx_admin(&admin);
    fx_territoire("pvd-84-15-910", "15120", "241500271");
    fx_organisation("211501200", "commune", "Mauriac", commune);
    fx_organisation("241500271", "epci", "CC du Pays de Mauriac", epci);
    fx_call(&admin, "POST", "/api/v1/comites",
            "{\"id_pvd\":\"pvd-84-15-910\",\"presidence\":\"\",\"membres\":[{\"qualite\":"
            "\"maire\",\"nom\":\"X\",\"organisation_id\":\"12\"},3]}",
            NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/presidence", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/membres/0/qualite", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/membres/0/organisation_id", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/membres/1", "type-invalide");
    http_response_release(&r);
    membres(list, sizeof list, "6f1c0e9a-4b2d-4e0f-8a7c-3b5d9e1f2a3b", epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-84-15-910", list);
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/membres/0/organisation_id",
                    "organisation-inconnue");
    http_response_release(&r);
    comite_body(body, sizeof body, "pvd-84-15-999", "[]");
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

Test(comites, update_rechecks_r40_and_seances_decisions_follow)
{
    struct fx_caller admin, agent, pref;
    struct http_response r;
    char commune[37], epci[37], list[1400], body[1600], id[37], one[160], etag[64], if_match[100];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-907", "39434", "200071595");
    fx_organisation("938367646", "commune", "Poligny", commune);
    fx_organisation("200071595", "epci", "CC Arbois, Poligny, Salins, Coeur du Jura", epci);
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"938367646\"]}");
    fx_caller_with(&pref, "prefecture_instructeur", "{\"departements\":[\"39\"]}");
    membres(list, sizeof list, commune, epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-27-39-907", list);
    fx_call(&pref, "POST", "/api/v1/comites", body, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_create(&agent, "/api/v1/comites", body, id, etag);
    snprintf(one, sizeof one, "/api/v1/comites/%s", id);
    /* total: the comités this caller may read, all pages together */
    fx_call(&agent, "GET", "/api/v1/comites?limite=1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, HTTP_BODY, r.body);
    http_response_release(&r);

    /* membres replaced whole: R40 re-checked */
    membres(list, sizeof list, commune, epci, SANS_PREFET);
    snprintf(body, sizeof body, "{\"membres\":%s}", list);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&agent, "PATCH", one, body, NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&agent, "PATCH", one, body, if_match, &r);
    const char *prefet[] = {"prefet-manquant", NULL};
    fx_expect_rule(&r, "R40", "/membres", prefet);
    http_response_release(&r);
    fx_call(&agent, "PATCH", one, "{\"presidence\":\"Le maire et le président\"}", if_match, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "membres")), 4);
    http_response_release(&r);
    fx_call(&agent, "PATCH", one, "{\"instance_preexistante\":true}", if_match, &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("comite", id, "comite.modifier"), 1);

    /* séances */
    char seances[200], seance[37], seance_path[160], decisions[200];
    snprintf(seances, sizeof seances, "/api/v1/comites/%s/seances", id);
    fx_call(&agent, "POST", seances, "{\"date\":\"2023-02-29\"}", NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/date", NULL);
    http_response_release(&r);
    fx_create(&agent, seances, "{\"date\":\"2024-03-14\",\"ordre_du_jour\":\"Stratégie\"}", seance,
              etag);
    snprintf(seance_path, sizeof seance_path, "/api/v1/seances/%s", seance);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&agent, "PATCH", seance_path, "{\"compte_rendu\":\"Stratégie validée.\"}", if_match,
            &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "compte_rendu")),
                     "Stratégie validée.");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "ordre_du_jour")), "Stratégie");
    http_response_release(&r);
    fx_call(&pref, "GET", seances, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1);
    http_response_release(&r);
    fx_call(&pref, "POST", seances, "{\"date\":\"2024-05-01\"}", NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("seance", seance, "seance.creer"), 1);
    cr_assert_eq(fx_journal_count("seance", seance, "seance.modifier"), 1);

    /* décisions */
    snprintf(decisions, sizeof decisions, "/api/v1/seances/%s/decisions", seance);
    fx_call(&agent, "POST", decisions, "{\"type\":\"approuve\",\"objet\":\"\"}", NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/type", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/objet", NULL);
    http_response_release(&r);
    fx_call(&agent, "POST", decisions,
            "{\"type\":\"valide_strategie\",\"objet\":\"Axes validés\",\"convention_id\":"
            "\"6f1c0e9a-4b2d-4e0f-8a7c-3b5d9e1f2a3b\"}",
            NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/convention_id", "convention-inconnue");
    http_response_release(&r);
    /* a convention of another territoire is refused, one of this territoire accepted */
    char other[37], own[37], with_convention[300];
    fx_territoire("pvd-27-39-911", "39362", "200071116");
    adhesion("pvd-27-39-911", false, NULL, 0, other);
    adhesion("pvd-27-39-907", false, NULL, 0, own);
    snprintf(with_convention, sizeof with_convention,
             "{\"type\":\"autre\",\"objet\":\"Adhésion examinée\",\"convention_id\":\"%s\"}",
             other);
    fx_call(&agent, "POST", decisions, with_convention, NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/convention_id",
                    "convention-autre-territoire");
    http_response_release(&r);
    snprintf(with_convention, sizeof with_convention,
             "{\"type\":\"autre\",\"objet\":\"Adhésion examinée\",\"convention_id\":\"%s\"}", own);
    fx_call(&agent, "POST", decisions, with_convention, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "convention_id")), own);
    http_response_release(&r);
    char decision[37];
    fx_create(&agent, decisions, "{\"type\":\"valide_strategie\",\"objet\":\"Axes validés\"}",
              decision, NULL);
    fx_call(&pref, "GET", decisions, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *elements = json_object_get(r.json, "elements"), *found = NULL, *d;
    size_t i;
    cr_assert_eq(json_array_size(elements), 2, HTTP_BODY, r.body);
    json_array_foreach(elements, i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "id")), decision) == 0)
            found = d;
    }
    cr_assert(found, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(found, "type")), "valide_strategie");
    cr_assert_str_eq(json_string_value(json_object_get(found, "date_seance")), "2024-03-14");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("decision", decision, "decision.creer"), 1);
}

Test(comites, list_is_filtered_by_the_perimeter)
{
    struct fx_caller admin, pref_jura, pref_cantal;
    struct http_response r;
    char commune[37], epci[37], list[1400], body[1600], id[37];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-908", "39526", "200010650");
    fx_organisation("213905268", "commune", "Tavaux", commune);
    fx_organisation("200010650", "epci", "CA du Grand Dole", epci);
    membres(list, sizeof list, commune, epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-27-39-908", list);
    fx_create(&admin, "/api/v1/comites", body, id, NULL);
    fx_caller_with(&pref_jura, "prefecture_instructeur", "{\"departements\":[\"39\"]}");
    fx_caller_with(&pref_cantal, "prefecture_instructeur", "{\"departements\":[\"15\"]}");
    fx_call(&pref_jura, "GET", "/api/v1/comites?id_pvd=pvd-27-39-908", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&pref_cantal, "GET", "/api/v1/comites?id_pvd=pvd-27-39-908", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    /* without a filter, a préfecture of the Cantal sees no comité of the Jura */
    fx_call(&pref_cantal, "GET", "/api/v1/comites?limite=500", NULL, NULL, &r);
    http_expect_json_ok(&r);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r.json, "elements"), i, c)
    {
        const char *id_pvd = json_string_value(json_object_get(c, "id_pvd"));
        cr_assert(strstr(id_pvd, "-15-") != NULL, "%s leaked to the Cantal", id_pvd);
    }
    http_response_release(&r);
    char one[160];
    snprintf(one, sizeof one, "/api/v1/comites/%s", id);
    fx_call(&pref_cantal, "GET", one, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&admin, "GET", "/api/v1/comites?id_pvd=pvd-27-39-908&x=1", NULL, NULL, &r);
    http_expect_param_error(&r, "/x", NULL);
    http_response_release(&r);
}

Test(comites, r40_requires_the_other_signataires_of_the_adhesion)
{
    struct fx_caller admin;
    struct http_response r;
    char commune[37], epci[37], association[37], etat[37], list[1400], body[1800], id[37],
        convention[37];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-909", "39470", "243900354");
    fx_organisation("213904709", "commune", "Les Rousses", commune);
    fx_organisation("243900354", "epci", "CC de la Station des Rousses-Haut Jura", epci);
    fx_organisation("339139008", "association", "Association des commerçants (test)", association);
    fx_create(&admin, "/api/v1/organisations",
              "{\"nature\":\"etat\",\"nom\":\"Préfecture du Jura (test)\"}", etat, NULL);
    /* an abandoned adhésion requires nothing; the active one does */
    const char *const abandoned[][2] = {{association, "financeur"}};
    adhesion("pvd-27-39-909", true, abandoned, 1, convention);
    membres(list, sizeof list, commune, epci, SANS_AUCUN);
    comite_body(body, sizeof body, "pvd-27-39-909", list);
    const char *const active[][2] = {
        {commune, "beneficiaire"}, {epci, "epci"}, {etat, "etat"}, {association, "partenaire"}};
    adhesion("pvd-27-39-909", false, active, 4, convention);
    /* the commune and the EPCI are already required, the État is the préfet */
    fx_call(&admin, "POST", "/api/v1/comites", body, NULL, &r);
    const char *missing[] = {"signataire-adhesion-manquant", NULL};
    fx_expect_rule(&r, "R40", "/membres", missing);
    cr_assert(strstr(json_string_value(json_object_get(r.json, "detail")), "339139008"), HTTP_BODY,
              r.body);
    http_response_release(&r);
    list[strlen(list) - 1] = '\0';
    char with[1500];
    snprintf(with, sizeof with,
             "%s,{\"qualite\":\"signataire_adhesion\",\"organisation_id\":\"%s\",\"nom\":"
             "\"M. Trésorier\"}]",
             list, association);
    comite_body(body, sizeof body, "pvd-27-39-909", with);
    fx_create(&admin, "/api/v1/comites", body, id, NULL);
    cr_assert_eq(fx_journal_count("comite", id, "comite.creer"), 1);
}
