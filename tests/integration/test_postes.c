/* Postes de chef de projet and their yearly funding over HTTP (issue #10
 * §2, domain.md §1.14, §2.5, R11–R20): a year at the caps without and with
 * Anah, and 1 € over → 422 naming the cap and the excess in euros, nothing
 * written; R11 (no signed adhésion), R17, R20 (a year after the programme's
 * end), R13 pro rata (a 50 % post over 6 months); the R19 schedule in the
 * answer; a poste's PATCH re-checking its years; the perimeter (404
 * outside, 403 for a préfecture inside on writes), If-Match, the journal and
 * the lists.
 *
 * The caps are the parameters in force (GET /api/v1/parametres): the
 * defaults of domain.md (75 %, 45 000 € / 55 000 € with Anah, Anah 50 % and
 * 40 000 €, Banque des Territoires 25 % and 15 000 €, co-financing until
 * 2026-12-31) unless a test of the parameters changed them.
 *
 * Test data: Vosges (88, région 44), used by no other suite: pvd-44-88-901
 * Bruyères (88078, EPCI 200042000, adhésion signed), pvd-44-88-902 Charmes
 * (88090, EPCI 200068757, no adhésion), pvd-44-88-903 Châtenois (88095, EPCI
 * 200068559, adhésion signed), pvd-44-88-904 Contrexéville (88114, EPCI
 * 200068682, adhésion signed), pvd-44-88-905 Darney (88124, EPCI 200068773)
 * with pvd-27-70-952 Champagney (Haute-Saône, 70120, EPCI 247000821): a poste
 * serving two départements; Lot-et-Garonne (47): see the last test. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/private_server.h"

#define NBSP "\xc2\xa0"

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* A territoire with its callers (the préfecture of its département) and an
 * État organisation. */
struct terr {
    struct fx_fiche_territoire t;
    struct fx_caller admin, agent, elu, prefecture;
    char etat[37];
};

static void terr_init_in(struct terr *t, const char *id_pvd, const char *insee, const char *siren,
                         const char *siren_epci, const char *departement)
{
    char perimetre[120], seance[11];
    struct http_response r;
    fx_day(-30, seance);
    fx_fiche_territoire(id_pvd, insee, siren, siren_epci, seance, &t->t);
    fx_admin(&t->admin);
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren);
    fx_caller_with(&t->agent, "collectivite_agent", perimetre);
    fx_caller_with(&t->elu, "collectivite_elu", perimetre);
    snprintf(perimetre, sizeof perimetre, "{\"departements\":[\"%s\"]}", departement);
    fx_caller_with(&t->prefecture, "prefecture_instructeur", perimetre);
    fx_call(&t->admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(t->etat, sizeof t->etat, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
}

/* A territoire of the Vosges (88). */
static void terr_init(struct terr *t, const char *id_pvd, const char *insee, const char *siren,
                      const char *siren_epci)
{
    terr_init_in(t, id_pvd, insee, siren, siren_epci, "88");
}

/* POST a poste employed by the territoire's commune, serving it: quotité
 * (ten-thousandths) and recruitment date; its id and ETag out. */
static void poste_new(const struct terr *t, int quotite, const char *recrutement, char id[37],
                      char etag[64])
{
    char body[400];
    struct http_response r;
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"%s\"],\"quotite\":%d,"
             "\"date_recrutement\":\"%s\",\"type_contrat\":\"contrat_de_projet\"}",
             t->t.commune_org, t->t.id_pvd, quotite, recrutement);
    fx_call(&t->agent, "POST", "/api/v1/postes-chef-de-projet", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_not_null(strstr(http_header(&r, "Location"), fx_str(r.json, "id")));
    cr_assert_eq(num(r.json, "quotite"), quotite);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "territoires"), 0)),
                     t->t.id_pvd);
    snprintf(id, 37, "%s", fx_str(r.json, "id"));
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* The body of a year: cost, Anah, R17 flags, the three shares (cents). */
static void annee_body(char *out, size_t size, long long cout, bool anah, bool etude,
                       long long etat, long long bdt, long long part_anah)
{
    snprintf(out, size,
             "{\"cout_charge_annuel_centimes\":%lld,\"avec_anah\":%s,"
             "\"etude_pre_operationnelle_anah\":%s,\"part_anct_etat_centimes\":%lld,"
             "\"part_bdt_centimes\":%lld,\"part_anah_centimes\":%lld}",
             cout, anah ? "true" : "false", etude ? "true" : "false", etat, bdt, part_anah);
}

/* PUT …/annees/{annee} as c (if_match NULL: none); asserts the status. */
static void put_annee(const struct fx_caller *c, const char *poste, int annee, const char *body,
                      const char *if_match, long want, struct http_response *r)
{
    char path[160], header[120];
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees/%d", poste, annee);
    if (if_match)
        snprintf(header, sizeof header, "If-Match: %s", if_match);
    fx_call(c, "PUT", path, body, if_match ? header : NULL, r);
    cr_assert_eq(r->status, want, "PUT %d %s: " HTTP_BODY, annee, body, r->body);
}

/* The current ETag of year annee (GET …/annees/{annee}), "" when absent. */
static void annee_etag(const char *poste, int annee, char etag[64])
{
    char path[160];
    struct http_response r;
    struct fx_caller admin;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees/%d", poste, annee);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert(r.status == 200 || r.status == 404, HTTP_BODY, r.body);
    snprintf(etag, 64, "%s", r.status == 200 ? http_header(&r, "ETag") : "");
    http_response_release(&r);
}

/* A refused year: 422 with exactly one erreur (regle, code, pointer); the
 * year's ETag and c's journal unchanged. Returns its message (valid while r
 * is). */
static const char *refused(const struct fx_caller *c, const char *poste, int annee,
                           const char *body, const char *regle, const char *code,
                           const char *pointer, struct http_response *r)
{
    char before[64], after[64];
    const char *codes[] = {code, NULL};
    annee_etag(poste, annee, before);
    size_t journal = fx_journal_count_by(c, "poste_chef_projet");
    put_annee(c, poste, annee, body, before[0] ? before : NULL, 422, r);
    fx_expect_rule(r, regle, pointer, codes);
    annee_etag(poste, annee, after);
    cr_assert_str_eq(after, before, "the year was written");
    cr_assert_eq(fx_journal_count_by(c, "poste_chef_projet"), journal, "journaled");
    return fx_str(json_array_get(json_object_get(r->json, "erreurs"), 0), "message");
}

/* The échéancier item i of a year's answer. */
static json_t *versement(const struct http_response *r, size_t i)
{
    return json_array_get(json_object_get(r->json, "echeancier"), i);
}

/* ---- Tests ---------------------------------------------------------------- */

Test(postes, a_year_at_the_caps_without_and_with_anah_and_one_euro_over, .timeout = 120)
{
    struct terr t;
    struct http_response r;
    char poste[37], body[400], etag[64];
    terr_init(&t, "pvd-44-88-901", "88078", "218800787", "200042000");
    fx_adhesion_signee(&t.t, t.etat, &t.agent, &t.elu, &t.prefecture);
    poste_new(&t, 10000, "2024-01-01", poste, NULL);

    /* 2025 without Anah: 80 000 € loaded; 45 000 € (R13) binds before 75 % (60 000 €):
     * État 30 000 €, Banque des Territoires 15 000 € (its own cap, R15) */
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 1500000, 0);
    put_annee(&t.agent, poste, 2025, body, NULL, 201, &r);
    cr_assert_eq(num(r.json, "total_cofinancement_centimes"), 4500000);
    cr_assert_not_null(strstr(http_header(&r, "Location"), "/annees/2025"));
    /* R19: 75 % in Q2 by arrêté, the balance in Q4 */
    cr_assert_eq(json_array_size(json_object_get(r.json, "echeancier")), 2, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(versement(&r, 0), "type"), "acompte");
    cr_assert_eq(num(versement(&r, 0), "montant_centimes"), 3375000);
    cr_assert_str_eq(fx_str(versement(&r, 0), "au_plus_tot"), "2025-04-01");
    cr_assert_str_eq(fx_str(versement(&r, 0), "au_plus_tard"), "2025-06-30");
    cr_assert_str_eq(fx_str(versement(&r, 1), "type"), "solde");
    cr_assert_eq(num(versement(&r, 1), "montant_centimes"), 1125000);
    cr_assert_str_eq(fx_str(versement(&r, 1), "au_plus_tot"), "2025-10-01");
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("poste_chef_projet", poste, "poste_chef_projet.financer_annee"),
                 1);

    /* 1 € over: R13 names the cap, the amount and the excess */
    annee_body(body, sizeof body, 8000000, false, false, 3000100, 1500000, 0);
    const char *m = refused(&t.agent, poste, 2025, body, "R13", "cofinancement-plafond-depasse",
                            "/total_cofinancement_centimes", &r);
    cr_assert_not_null(strstr(m, "45" NBSP "001,00" NBSP "€"), "%s", m);
    cr_assert_not_null(strstr(m, "dépasse de 1,00" NBSP "€"), "%s", m);
    cr_assert_not_null(strstr(m, "plafond de 45" NBSP "000,00" NBSP "€"), "%s", m);
    cr_assert_str_eq(fx_str(r.json, "regle"), "R13");
    http_response_release(&r);
    /* the Banque des Territoires 1 € over its 15 000 € (R15), the total under its cap */
    annee_body(body, sizeof body, 8000000, false, false, 2900000, 1500100, 0);
    m = refused(&t.agent, poste, 2025, body, "R15", "part-bdt-plafond-depasse",
                "/part_bdt_centimes", &r);
    cr_assert_not_null(strstr(m, "dépasse de 1,00" NBSP "€"), "%s", m);
    http_response_release(&r);

    /* 2026 with Anah (an Anah study engaged): 100 000 € loaded, 55 000 € (R13 with Anah):
     * Anah 40 000 € (R14: its cap, 40 % of the cost), État 15 000 € */
    annee_body(body, sizeof body, 10000000, true, true, 1500000, 0, 4000000);
    put_annee(&t.agent, poste, 2026, body, NULL, 201, &r);
    cr_assert_eq(num(r.json, "total_cofinancement_centimes"), 5500000);
    /* R19 with Anah: on request, during the year then after it, amounts not determined */
    cr_assert_eq(json_array_size(json_object_get(r.json, "echeancier")), 2, HTTP_BODY, r.body);
    cr_assert(json_is_true(json_object_get(versement(&r, 0), "sur_demande")));
    cr_assert(json_is_null(json_object_get(versement(&r, 0), "montant_centimes")));
    cr_assert_eq(num(versement(&r, 0), "montant_max_centimes"), 5500000);
    cr_assert_str_eq(fx_str(versement(&r, 1), "au_plus_tot"), "2027-01-01");
    http_response_release(&r);
    annee_body(body, sizeof body, 10000000, true, true, 1500100, 0, 4000000);
    m = refused(&t.agent, poste, 2026, body, "R13", "cofinancement-plafond-depasse",
                "/total_cofinancement_centimes", &r);
    cr_assert_not_null(strstr(m, "dépasse de 1,00" NBSP "€"), "%s", m);
    cr_assert_not_null(strstr(m, "55" NBSP "000,00" NBSP "€"), "%s", m);
    http_response_release(&r);
    /* the same shares without Anah: 45 000 € binds again (10 000 € over) */
    annee_body(body, sizeof body, 10000000, false, false, 5500000, 0, 0);
    m = refused(&t.agent, poste, 2026, body, "R13", "cofinancement-plafond-depasse",
                "/total_cofinancement_centimes", &r);
    cr_assert_not_null(strstr(m, "dépasse de 10" NBSP "000,00" NBSP "€"), "%s", m);
    http_response_release(&r);
    /* R17: Anah without an Anah study nor an OPAH-RU */
    annee_body(body, sizeof body, 10000000, true, false, 1500000, 0, 4000000);
    refused(&t.agent, poste, 2026, body, "R17", "anah-sans-etude-ni-opah-ru", "/avec_anah", &r);
    http_response_release(&r);

    /* R20: no year after the co-financing's end (2026-12-31) */
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 0, 0);
    refused(&t.agent, poste, 2027, body, "R20", "annee-apres-fin-cofinancement", "/annee", &r);
    http_response_release(&r);

    /* the years as the poste's préfecture reads them */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees", poste);
    fx_call(&t.prefecture, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 2, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(postes, r11_without_signed_adhesion_and_r13_pro_rata, .timeout = 120)
{
    struct terr t2, t3;
    struct http_response r;
    char poste[37], body[400];

    /* R11: the territoire served has no signed adhésion */
    terr_init(&t2, "pvd-44-88-902", "88090", "218800902", "200068757");
    poste_new(&t2, 10000, "2024-01-01", poste, NULL);
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 0, 0);
    refused(&t2.agent, poste, 2025, body, "R11", "convention-adhesion-non-signee", "/employeur_id",
            &r);
    http_response_release(&r);

    /* R13 pro rata: a half-time post recruited on 1 July 2025 holds 6 months of 2025:
     * 45 000 € × 50 % × 6 / 12 = 11 250 € */
    terr_init(&t3, "pvd-44-88-903", "88095", "218800951", "200068559");
    fx_adhesion_signee(&t3.t, t3.etat, &t3.agent, &t3.elu, &t3.prefecture);
    poste_new(&t3, 5000, "2025-07-01", poste, NULL);
    annee_body(body, sizeof body, 3000000, false, false, 1125100, 0, 0);
    const char *m = refused(&t3.agent, poste, 2025, body, "R13", "cofinancement-plafond-depasse",
                            "/total_cofinancement_centimes", &r);
    cr_assert_not_null(strstr(m, "plafond de 11" NBSP "250,00" NBSP "€"), "%s", m);
    cr_assert_not_null(strstr(m, "6 mois"), "%s", m);
    http_response_release(&r);
    annee_body(body, sizeof body, 3000000, false, false, 1125000, 0, 0);
    put_annee(&t3.agent, poste, 2025, body, NULL, 201, &r);
    http_response_release(&r);
    /* R19: a year the post is held no day */
    annee_body(body, sizeof body, 3000000, false, false, 0, 0, 0);
    refused(&t3.agent, poste, 2024, body, "R19", "annee-hors-poste", "/annee", &r);
    http_response_release(&r);
}

Test(postes, perimeter_if_match_patch_journal_and_lists, .timeout = 120)
{
    struct terr t;
    struct http_response r;
    char poste[37], poste_etag[64], body[400], etag[64], path[160], header[120];
    struct fx_caller dehors, agent_dehors;
    terr_init(&t, "pvd-44-88-904", "88114", "218801140", "200068682");
    fx_adhesion_signee(&t.t, t.etat, &t.agent, &t.elu, &t.prefecture);
    fx_caller_with(&dehors, "prefecture_instructeur", "{\"departements\":[\"05\"]}");
    fx_caller_with(&agent_dehors, "collectivite_agent", "{\"sirens\":[\"218800787\"]}");
    poste_new(&t, 10000, "2024-01-01", poste, poste_etag);
    cr_assert_eq(fx_journal_count("poste_chef_projet", poste, "poste_chef_projet.creer"), 1);
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s", poste);

    /* reads: the préfecture of 88 inside, another département's and another commune's
     * agent outside (404: the poste is not revealed) */
    fx_call(&t.prefecture, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&dehors, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&agent_dehors, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);

    /* writes: a préfecture inside 403, outside 404 */
    snprintf(header, sizeof header, "If-Match: %s", poste_etag);
    fx_call(&t.prefecture, "PATCH", path, "{\"missions\":\"Animer\"}", header, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 0, 0);
    put_annee(&t.prefecture, poste, 2025, body, NULL, 403, &r);
    http_response_release(&r);
    put_annee(&dehors, poste, 2025, body, NULL, 404, &r);
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"pvd-44-88-904\"],"
             "\"quotite\":10000,\"date_recrutement\":\"2024-01-01\"}",
             t.t.commune_org);
    fx_call(&dehors, "POST", "/api/v1/postes-chef-de-projet", body, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&t.prefecture, "POST", "/api/v1/postes-chef-de-projet", body, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);

    /* If-Match: a PATCH without it 428, stale 412 */
    fx_call(&t.agent, "PATCH", path, "{\"missions\":\"Animer\"}", NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&t.agent, "PATCH", path, "{\"missions\":\"Animer\"}", "If-Match: \"perime\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    fx_call(&t.agent, "PATCH", path, "{\"missions\":\"Animer la revitalisation\"}", header, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "missions"), "Animer la revitalisation");
    snprintf(poste_etag, sizeof poste_etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("poste_chef_projet", poste, "poste_chef_projet.modifier"), 1);

    /* a year at its cap, then rewritten: If-Match required once it exists */
    annee_body(body, sizeof body, 8000000, false, false, 4500000, 0, 0);
    put_annee(&t.agent, poste, 2025, body, NULL, 201, &r);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    put_annee(&t.agent, poste, 2025, body, NULL, 428, &r);
    http_response_release(&r);
    put_annee(&t.agent, poste, 2025, body, "\"perime\"", 412, &r);
    http_response_release(&r);
    annee_body(body, sizeof body, 8000000, false, false, 4400000, 0, 0);
    put_annee(&t.agent, poste, 2025, body, etag, 200, &r);
    cr_assert_eq(num(r.json, "part_anct_etat_centimes"), 4400000);
    http_response_release(&r);

    /* one year read: 404 for a year without funding, 400 for a path that is no year */
    snprintf(body, sizeof body, "%s/annees/2030", path);
    fx_call(&t.agent, "GET", body, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    snprintf(body, sizeof body, "%s/annees/20x5", path);
    fx_call(&t.agent, "GET", body, NULL, NULL, &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);

    /* the poste's PATCH re-checks its years: half time halves 2025's cap, refused, nothing
     * written */
    fx_etag(path, poste_etag);
    snprintf(header, sizeof header, "If-Match: %s", poste_etag);
    size_t journal = fx_journal_count_by(&t.agent, "poste_chef_projet");
    fx_call(&t.agent, "PATCH", path, "{\"quotite\":5000}", header, &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    cr_assert_not_null(
        fx_item(&r, "cofinancement-plafond-depasse", "/annees/2025/total_cofinancement_centimes"),
        HTTP_BODY, r.body);
    http_response_release(&r);
    fx_etag(path, etag);
    cr_assert_str_eq(etag, poste_etag, "the poste was written");
    cr_assert_eq(fx_journal_count_by(&t.agent, "poste_chef_projet"), journal, "journaled");

    /* lists: by territoire for the agent, by département and year for the préfecture,
     * nothing for another département */
    fx_call(&t.agent, "GET", "/api/v1/postes-chef-de-projet?id_pvd=pvd-44-88-904", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_geq(num(r.json, "total"), 1);
    http_response_release(&r);
    fx_call(&t.prefecture, "GET", "/api/v1/postes-chef-de-projet?departement=88&annee=2025", NULL,
            NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e) found |=
        strcmp(fx_str(e, "id"), poste) == 0;
    cr_assert(found, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&dehors, "GET", "/api/v1/postes-chef-de-projet?id_pvd=pvd-44-88-904", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(num(r.json, "total"), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.agent, "GET", "/api/v1/postes-chef-de-projet?annee=20x5", NULL, NULL, &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
}

Test(postes, a_poste_serving_two_departements_is_inside_each_prefecture, .timeout = 120)
{
    struct terr t;
    struct http_response r;
    struct fx_caller pref70, pref05;
    char body[400], path[200], id[37], header[120];
    terr_init(&t, "pvd-44-88-905", "88124", "218801249", "200068773");
    fx_territoire("pvd-27-70-952", "70120", "247000821");
    fx_caller_with(&pref70, "prefecture_instructeur", "{\"departements\":[\"70\"]}");
    fx_caller_with(&pref05, "prefecture_instructeur", "{\"departements\":[\"05\"]}");
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"pvd-44-88-905\",\"pvd-27-70-952\"],"
             "\"quotite\":10000,\"date_recrutement\":\"2024-01-01\"}",
             t.t.commune_org);
    fx_call(&t.agent, "POST", "/api/v1/postes-chef-de-projet", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", fx_str(r.json, "id"));
    snprintf(header, sizeof header, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);

    /* the Haute-Saône's préfecture reads it (its second territoire), may not write it */
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s", id);
    fx_call(&pref70, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&pref70, "PATCH", path, "{\"missions\":\"Animer\"}", header, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_call(&pref05, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    /* and the journal entry of its creation, which carries both territoires' scopes */
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=poste_chef_projet&ressource_id=%s",
             id);
    fx_call(&pref70, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&pref05, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    /* listed under either département */
    fx_call(&pref70, "GET", "/api/v1/postes-chef-de-projet?departement=70", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_geq(num(r.json, "total"), 1, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- A year keeps the parameters version it was recorded with ------------- *
 * Issue #10 §1 "a decision keeps the parameters in force on its date"
 * (migration 0024). Version B must take effect today, which the suite's
 * database cannot hold (other suites read today's parameters concurrently):
 * the test runs on a pvd-api and a database of its own
 * (tests/support/private_server.h). There, the year is recorded under the
 * defaults (A: 45 000 € without Anah), then B lowers that cap to 40 000 €
 * from today. Test data: Lot-et-Garonne (47), used by no other suite:
 * pvd-75-47-901 Duras (47086, EPCI 244700449, adhésion signed). */

#define PRIVE_DB "pvd_it_postes_parametres"

/* Every chef_projet period's cap without Anah set to *(long long *)plafond
 * cents (private_server_publish_today's edit). */
static void plafond_sans_anah(json_t *doc, void *plafond)
{
    size_t i;
    json_t *periode;
    json_array_foreach(json_object_get(doc, "chef_projet"), i, periode) json_object_set_new(
        periode, "plafond_annuel_centimes", json_integer(*(long long *)plafond));
}

Test(postes, a_year_keeps_the_parameters_version_it_was_recorded_with, .timeout = 180)
{
    pid_t server = private_server_start(PRIVE_DB);
    struct terr t;
    struct http_response r;
    char poste[37], body[400], path[160], header[120], etag[64];
    terr_init_in(&t, "pvd-75-47-901", "47086", "214700866", "244700449", "47");
    fx_adhesion_signee(&t.t, t.etat, &t.agent, &t.elu, &t.prefecture);
    poste_new(&t, 10000, "2024-01-01", poste, NULL);

    /* recorded under A (the defaults, version 0), at its 45 000 € cap */
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 1500000, 0);
    put_annee(&t.agent, poste, 2025, body, NULL, 201, &r);
    cr_assert_eq(num(r.json, "parametres_version"), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    long long plafond = 4000000;
    long b = private_server_publish_today(plafond_sans_anah, &plafond);
    cr_assert_gt(b, 0);

    /* the poste's PATCH re-checks 2025 with A, not with B's 40 000 € */
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s", poste);
    fx_etag(path, etag);
    snprintf(header, sizeof header, "If-Match: %s", etag);
    fx_call(&t.agent, "PATCH", path, "{\"missions\":\"Animer la revitalisation\"}", header, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    /* its schedule too: 75 % of 45 000 € in Q2 */
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s/annees/2025", poste);
    fx_call(&t.agent, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(num(r.json, "parametres_version"), 0, HTTP_BODY, r.body);
    cr_assert_eq(num(versement(&r, 0), "montant_centimes"), 3375000, HTTP_BODY, r.body);
    http_response_release(&r);
    /* half time: A's cap halved (22 500 €, not B's 20 000 €), named in the refusal */
    snprintf(path, sizeof path, "/api/v1/postes-chef-de-projet/%s", poste);
    fx_etag(path, etag);
    snprintf(header, sizeof header, "If-Match: %s", etag);
    fx_call(&t.agent, "PATCH", path, "{\"quotite\":5000}", header, &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    json_t *item =
        fx_item(&r, "cofinancement-plafond-depasse", "/annees/2025/total_cofinancement_centimes");
    cr_assert_not_null(item, HTTP_BODY, r.body);
    cr_assert_not_null(strstr(fx_str(item, "message"), "plafond de 22" NBSP "500,00" NBSP "€"),
                       HTTP_BODY, r.body);
    http_response_release(&r);

    /* a year recorded now has B's cap: 45 000 € refused, 40 000 € recorded under B */
    annee_body(body, sizeof body, 8000000, false, false, 3000000, 1500000, 0);
    const char *m = refused(&t.agent, poste, 2026, body, "R13", "cofinancement-plafond-depasse",
                            "/total_cofinancement_centimes", &r);
    cr_assert_not_null(strstr(m, "plafond de 40" NBSP "000,00" NBSP "€"), "%s", m);
    http_response_release(&r);
    annee_body(body, sizeof body, 8000000, false, false, 2500000, 1500000, 0);
    put_annee(&t.agent, poste, 2026, body, NULL, 201, &r);
    cr_assert_eq(num(r.json, "parametres_version"), b, HTTP_BODY, r.body);
    http_response_release(&r);
    private_server_stop(server, PRIVE_DB);
}
