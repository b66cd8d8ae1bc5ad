/* Open data over HTTP (issue #11 §3), no token: the lauréats in the ANCT
 * layout (and their round trip through the bulk import: nothing changes),
 * the public fiches (a private one never appears), the granted subsidies in
 * the SCDL layout with SIRETs (a refused one never appears; SIRET checks on
 * the demande), each in CSV (BOM, `;`, CRLF, formula injection neutralised)
 * and JSON with the same values; the licence header, ETag/304 and
 * Cache-Control on every answer; the catalogue's URLs all answer. Each test
 * has its own territoire in the Tarn (81), ids pvd-76-81-9xx; the datasets
 * are read with ?departement=81. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define BASE    "/api/v1/donnees-ouvertes"
#define LICENCE "<https://www.etalab.gouv.fr/licence-ouverte-open-licence/>; rel=\"license\""
#define BOM     "\xEF\xBB\xBF"

/* The headers every open-data answer carries (200 and 304). */
static void expect_open_headers(const struct http_response *r)
{
    cr_assert_str_eq(http_header(r, "Link") ? http_header(r, "Link") : "", LICENCE);
    cr_assert_str_eq(http_header(r, "Cache-Control") ? http_header(r, "Cache-Control") : "",
                     "public, max-age=300");
    cr_assert_not_null(http_header(r, "ETag"));
    cr_assert_null(http_header(r, "Authorization"));
}

/* GET path without token: 200 with the open-data headers, into r. */
static void get_open(const char *path, struct http_response *r)
{
    http_get(path, r);
    cr_assert_eq(r->status, 200, "%s: " HTTP_BODY, path, r->body);
    expect_open_headers(r);
}

/* GET a CSV dataset: BOM and CRLF-terminated records. */
static void get_csv(const char *path, struct http_response *r)
{
    get_open(path, r);
    cr_assert(strncmp(r->content_type, "text/csv", 8) == 0, "%s", r->content_type);
    cr_assert(strncmp(r->body, BOM, 3) == 0, "no BOM: " HTTP_BODY, r->body);
    cr_assert(r->body_len >= 2 && strcmp(r->body + r->body_len - 2, "\r\n") == 0, HTTP_BODY,
              r->body);
}

/* The JSON dataset's element whose member key is value, or NULL; borrowed. */
static json_t *element(const struct http_response *r, const char *key, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "elements"), i, e)
    {
        const char *v = fx_str(e, key);
        if (v && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

/* The JSON envelope: licence named, count equal to the elements. */
static void expect_envelope(const struct http_response *r, const char *jeu)
{
    cr_assert_str_eq(fx_str(r->json, "jeu_de_donnees"), jeu, HTTP_BODY, r->body);
    json_t *licence = json_object_get(r->json, "licence");
    cr_assert_str_eq(fx_str(licence, "url"),
                     "https://www.etalab.gouv.fr/licence-ouverte-open-licence/");
    cr_assert_str_eq(fx_str(licence, "titre"), "Licence Ouverte / Open Licence 2.0");
    cr_assert_eq((size_t)json_integer_value(json_object_get(r->json, "nombre_elements")),
                 json_array_size(json_object_get(r->json, "elements")));
}

/* ---- lauréats ------------------------------------------------------------------ */

Test(donnees_ouvertes, laureats_disposition_anct_et_aller_retour_par_l_import)
{
    struct fx_caller admin;
    struct http_response r, imp;
    fx_admin(&admin);
    fx_territoire("pvd-76-81-901", "81099", "200066124"); /* Gaillac */
    /* a grouped candidature: two communes, one EPCI */
    fx_call(&admin, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-76-81-905\",\"communes\":[\"81220\",\"81145\"],"
            "\"epcis\":[\"200066124\"],\"date_designation\":\"2020-12-15\"}",
            NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);

    get_csv(BASE "/laureats.csv?departement=81", &r);
    static const char head[] =
        BOM "id_pvd;insee_com;lib_com;insee_dep;pop;date_signature;siren_epci;lib_epci\r\n";
    cr_assert(strncmp(r.body, head, sizeof head - 1) == 0, HTTP_BODY, r.body);
    cr_assert(strstr(r.body, "\r\npvd-76-81-901;81099;Gaillac;81;16162;;200066124;"
                             "CA Gaillac-Graulhet\r\n"),
              HTTP_BODY, r.body);
    cr_assert(strstr(r.body, "\r\npvd-76-81-905;81220;Rabastens;81;5867;;200066124;"
                             "CA Gaillac-Graulhet\r\npvd-76-81-905;81145;Lisle-sur-Tarn;81;4939;;"
                             "200066124;CA Gaillac-Graulhet\r\n"),
              HTTP_BODY, r.body);
    cr_assert(strstr(r.body, "\r\n81") == NULL, "a record without id_pvd: " HTTP_BODY, r.body);

    /* the same values in JSON */
    struct http_response j;
    get_open(BASE "/laureats.json?departement=81", &j);
    expect_envelope(&j, "laureats");
    json_t *e = element(&j, "insee_com", "81099");
    cr_assert_not_null(e, HTTP_BODY, j.body);
    cr_assert_str_eq(fx_str(e, "id_pvd"), "pvd-76-81-901");
    cr_assert_str_eq(fx_str(e, "lib_epci"), "CA Gaillac-Graulhet");
    cr_assert_str_eq(fx_str(e, "pop"), "16162");
    cr_assert_str_eq(fx_str(json_object_get(j.json, "filtres"), "departement"), "81");
    http_response_release(&j);

    /* exporting then importing is an identity: every line inchange, nothing written */
    char path[80];
    const char *headers[] = {admin.header, "Content-Type: text/csv; charset=utf-8", NULL};
    snprintf(path, sizeof path, "/api/v1/territoires/import?appliquer=true");
    http_request("POST", path, headers, r.body, r.body_len, &imp);
    cr_assert_eq(imp.status, 200, HTTP_BODY, imp.body);
    json_t *tot = json_object_get(imp.json, "lignes_totaux");
    cr_assert_geq(json_integer_value(json_object_get(tot, "lignes")), 3, HTTP_BODY, imp.body);
    cr_assert_eq(json_integer_value(json_object_get(tot, "inchange")),
                 json_integer_value(json_object_get(tot, "lignes")), HTTP_BODY, imp.body);
    cr_assert_eq(json_integer_value(json_object_get(tot, "cree")), 0);
    cr_assert_eq(json_integer_value(json_object_get(tot, "modifie")), 0);
    cr_assert_eq(json_integer_value(json_object_get(tot, "refuse")), 0);
    http_response_release(&imp);
    cr_assert_eq(fx_journal_count("territoire", "pvd-76-81-905", "territoire.modifier"), 0);
    http_response_release(&r);
}

/* ---- fiches action --------------------------------------------------------------- */

Test(donnees_ouvertes, fiches_publiques_seules_et_injection_neutralisee)
{
    struct fx_fiche_territoire t;
    struct fx_caller agent;
    fx_fiche_territoire("pvd-76-81-902", "81105", "218101053", "200066124", "2025-01-15", &t);
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"218101053\"]}");
    char publique[37], autre[37], privee[37];
    /* every formula start a spreadsheet evaluates, in text cells */
    fx_fiche(&agent, &t, "F1",
             "\"public\": true, \"intitule\": \"=SOMME(A1);x\", \"description\": \"+33 6\", "
             "\"objectifs\": \"-2+3\"",
             publique, NULL);
    fx_fiche(&agent, &t, "F2",
             "\"public\": true, \"intitule\": \"@SUM(1)\", \"description\": \"\\tcache\", "
             "\"objectifs\": \"\\rretour\"",
             autre, NULL);
    fx_fiche(&agent, &t, "F3", "\"intitule\": \"Fiche interne\"", privee, NULL);

    struct http_response r;
    get_csv(BASE "/fiches-action.csv?departement=81", &r);
    cr_assert(strncmp(r.body, BOM "id;id_pvd;territoire_nom;numero;intitule;axe_numero;", 54) == 0,
              HTTP_BODY, r.body);
    cr_assert(strstr(r.body, publique), HTTP_BODY, r.body);
    cr_assert(strstr(r.body, autre), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, privee), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, "Fiche interne"), HTTP_BODY, r.body);
    cr_assert(strstr(r.body, ";F1;\"'=SOMME(A1);x\";1;Revitaliser le centre;'+33 6;'-2+3;"),
              HTTP_BODY, r.body);
    cr_assert(strstr(r.body, ";F2;'@SUM(1);1;Revitaliser le centre;'\tcache;\"'\rretour\";"),
              HTTP_BODY, r.body);
    cr_assert(strstr(r.body, ";investissement;100000,00;;"), HTTP_BODY, r.body);
    http_response_release(&r);

    get_open(BASE "/fiches-action.json?departement=81", &r);
    expect_envelope(&r, "fiches-action");
    json_t *e = element(&r, "id", publique);
    cr_assert_not_null(e, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(e, "intitule"), "=SOMME(A1);x"); /* JSON: the value as written */
    cr_assert_eq(json_integer_value(json_object_get(e, "cout_total_ht_centimes")), 10000000);
    cr_assert_null(json_object_get(e, "public"), "not a public member");
    cr_assert_not_null(element(&r, "id", autre));
    cr_assert_null(element(&r, "id", privee), HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- subventions ------------------------------------------------------------------- */

static const char *MENTIONS =
    "\"decision\":{\"mentions\":{\"beneficiaires\":\"La commune\",\"objet\":\"Halles\","
    "\"montant_maximum\":\"30 000 €\",\"calendrier\":\"2027\",\"modalites_versement\":\"Solde\"}}";

struct sub {
    struct fx_fiche_territoire t;
    struct fx_caller agent, elu, prefecture;
    char fiche[37];
};

/* POST a transition of id as c (If-Match: the current ETag); expects status. */
static void move(const struct fx_caller *c, const char *id, const char *body, long status)
{
    char path[160], ifm[100];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(ifm, sizeof ifm, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s/transitions", id);
    fx_call(c, "POST", path, body, ifm, &r);
    cr_assert_eq(r.status, status, "%s: " HTTP_BODY, body, r.body);
    http_response_release(&r);
}

/* A DETR draft of s by its agent with `extra` members (may be ""): the answer
 * into r (not asserted). */
static void draft(const struct sub *s, const char *intitule, const char *extra,
                  struct http_response *r)
{
    char body[900];
    snprintf(body, sizeof body,
             "{\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"%s\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000%s}",
             s->t.commune_org, s->fiche, intitule, extra);
    fx_call(&s->agent, "POST", "/api/v1/demandes-subvention", body, NULL, r);
}

/* Deposited `ago` + 30 days ago, instructed, then decided `ago` days ago
 * (`decision`: the accordee or refusee body's members after "vers"). */
static void decide_le(const struct sub *s, const char *id, const char *vers, const char *decision,
                      int ago)
{
    char d[11], body[900];
    fx_day(-ago - 30, d);
    snprintf(body, sizeof body, "{\"vers\":\"depose\",\"date_depot\":\"%s\"}", d);
    move(&s->elu, id, body, 200);
    move(&s->prefecture, id, "{\"vers\":\"en_instruction\"}", 200);
    fx_day(-ago, d);
    snprintf(body, sizeof body, "{\"vers\":\"%s\",\"date_decision\":\"%s\",%s}", vers, d, decision);
    move(&s->prefecture, id, body, 200);
}

static void decide(const struct sub *s, const char *id, const char *vers, const char *decision)
{
    decide_le(s, id, vers, decision, 30);
}

/* subvention_publique_representation(d) of request id, as text ("" for
 * SQL NULL), read in the test database. */
static void representation_publique(const char *id, char *out, size_t size)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    const char *params[] = {id};
    PGresult *res = PQexecParams(db,
                                 "SELECT subvention_publique_representation(d)::text FROM "
                                 "demandes_subvention d WHERE d.id = $1::uuid",
                                 1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    cr_assert_eq(PQntuples(res), 1);
    snprintf(out, size, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(db);
}

Test(donnees_ouvertes, subventions_accordees_seules_en_scdl_avec_siret)
{
    struct sub s;
    fx_fiche_territoire("pvd-76-81-903", "81140", "218101400", "200034023", "2025-01-15", &s.t);
    fx_caller_with(&s.agent, "collectivite_agent", "{\"sirens\":[\"218101400\"]}");
    fx_caller_with(&s.elu, "collectivite_elu", "{\"sirens\":[\"218101400\"]}");
    fx_caller_with(&s.prefecture, "prefecture_instructeur", "{\"departements\":[\"81\"]}");
    fx_fiche(&s.agent, &s.t, "S1", NULL, s.fiche, NULL);
    struct http_response r;

    /* SIRET checks: nothing written when refused */
    size_t before = fx_journal_count_by(&s.agent, "demande_subvention");
    draft(&s, "Halles", ",\"siret_demandeur\":\"21810140000017\"", &r); /* bad Luhn key */
    fx_expect_error(&r, 422, "regle-non-respectee", "/siret_demandeur", "siret-invalide");
    http_response_release(&r);
    draft(&s, "Halles", ",\"siret_demandeur\":\"21810099800010\"", &r); /* Gaillac's */
    fx_expect_error(&r, 422, "regle-non-respectee", "/siret_demandeur", "siret-incoherent");
    http_response_release(&r);
    draft(&s, "Halles", ",\"siret_financeur\":\"21810140000016\"", &r); /* no financeur */
    fx_expect_error(&r, 422, "regle-non-respectee", "/siret_financeur", "siret-incoherent");
    http_response_release(&r);
    draft(&s, "Halles", ",\"siret_demandeur\":\"2181014000001\"", &r); /* 13 digits */
    fx_expect_error(&r, 400, "champs-invalides", "/siret_demandeur", NULL);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count_by(&s.agent, "demande_subvention"), before);

    /* granted, with the demandeur's SIRET and a title starting with '-' */
    draft(&s, "-Halles couvertes", ",\"siret_demandeur\":\"21810140000016\"", &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "siret_demandeur"), "21810140000016");
    char accordee[37], refusee[37], more[700];
    snprintf(accordee, sizeof accordee, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    snprintf(more, sizeof more, "\"montant_accorde_centimes\":2500050,\"taux_accorde\":2500,%s",
             MENTIONS);
    decide(&s, accordee, "accordee", more);
    /* granted, addressed to a financer whose SIRET is recorded: idAttribuant */
    char fin[37], avec_financeur[37], extra[200];
    fx_organisation("130081003", "operateur", "Agence des halles du Tarn", fin);
    snprintf(extra, sizeof extra, ",\"financeur_id\":\"%s\",\"siret_financeur\":\"13008100300019\"",
             fin);
    draft(&s, "Marché", extra, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(avec_financeur, sizeof avec_financeur, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    decide(&s, avec_financeur, "accordee", more);
    /* the SIRET is checked against the merged document: another demandeur
     * keeps the old SIRET → 422, nothing written */
    {
        char path[120], ifm[100], body[120];
        draft(&s, "Brouillon", ",\"siret_demandeur\":\"21810140000016\"", &r);
        cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
        snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", fx_str(r.json, "id"));
        snprintf(ifm, sizeof ifm, "If-Match: %s", http_header(&r, "ETag"));
        http_response_release(&r);
        snprintf(body, sizeof body, "{\"demandeur_id\":\"%s\"}", s.t.epci_org);
        fx_call(&s.agent, "PATCH", path, body, ifm, &r);
        fx_expect_error(&r, 422, "regle-non-respectee", "/siret_demandeur", "siret-incoherent");
        http_response_release(&r);
    }
    /* granted, notified more than 2 years ago and never commenced: caduque (R34),
     * no longer a granted subsidy */
    char caduque[37], d_notif[11], notif[80];
    draft(&s, "Caduque", "", &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(caduque, sizeof caduque, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    decide_le(&s, caduque, "accordee", more, 900);
    fx_day(-800, d_notif);
    snprintf(notif, sizeof notif, "{\"vers\":\"notifiee\",\"date_notification\":\"%s\"}", d_notif);
    move(&s.prefecture, caduque, notif, 200);
    /* refused */
    draft(&s, "Refusée", "", &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(refusee, sizeof refusee, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    decide(&s, refusee, "refusee", "\"motif_refus\":\"Hors critères\"");

    char d_dec[11], row[400];
    fx_day(-30, d_dec);
    get_csv(BASE "/subventions.csv?departement=81&annee=2025", &r);
    static const char head[] =
        BOM "nomAttribuant;idAttribuant;dateConvention;referenceDecision;nomBeneficiaire;"
            "idBeneficiaire;rnaBeneficiaire;objet;montant;nature;conditionsVersement;"
            "datesPeriodeVersement;idRAE;notificationUE;pourcentageSubvention;dispositifAide\r\n";
    cr_assert(strncmp(r.body, head, sizeof head - 1) == 0, HTTP_BODY, r.body);
    snprintf(row, sizeof row, "\r\nÉtat;;%s;%s;", d_dec, accordee);
    const char *line = strstr(r.body, row);
    cr_assert(line, "%s in " HTTP_BODY, row, r.body);
    snprintf(row, sizeof row,
             ";21810140000016;;'-Halles couvertes;25000.50;aide en numéraire;unique;;;non;1.00;"
             "DETR\r\n");
    cr_assert(strstr(line, row) && strstr(line, row) < strchr(line + 2, '\n'), "%s in " HTTP_BODY,
              row, line);
    cr_assert_null(strstr(r.body, refusee), HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, caduque), HTTP_BODY, r.body);
    snprintf(row, sizeof row, "\r\nAgence des halles du Tarn;13008100300019;%s;%s;", d_dec,
             avec_financeur);
    cr_assert(strstr(r.body, row), "%s in " HTTP_BODY, row, r.body);
    http_response_release(&r);

    /* JSON: the same record; the SQL projection the event feed uses agrees */
    get_open(BASE "/subventions.json?departement=81&annee=2025", &r);
    expect_envelope(&r, "subventions");
    json_t *e = element(&r, "referenceDecision", accordee);
    cr_assert_not_null(e, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(e, "objet"), "-Halles couvertes");
    cr_assert_str_eq(fx_str(e, "montant"), "25000.50");
    cr_assert_str_eq(fx_str(e, "idBeneficiaire"), "21810140000016");
    cr_assert_str_eq(fx_str(e, "idAttribuant"), "");
    cr_assert_str_eq(fx_str(e, "pourcentageSubvention"), "1.00");
    cr_assert_null(element(&r, "referenceDecision", refusee), HTTP_BODY, r.body);
    char sql[2000];
    representation_publique(accordee, sql, sizeof sql);
    json_t *projection = json_loads(sql, 0, NULL);
    cr_assert(json_equal(projection, e), "%s", sql);
    json_decref(projection);
    representation_publique(refusee, sql, sizeof sql);
    cr_assert_str_eq(sql, "");
    representation_publique(caduque, sql, sizeof sql);
    cr_assert_str_eq(sql, "");
    cr_assert_null(element(&r, "referenceDecision", caduque), HTTP_BODY, r.body);

    /* the public event feed shows the granted subsidy as its open-data record,
     * and nothing of the refused one */
    json_t *dans_le_flux = NULL;
    bool refusee_vue = false;
    char fpath[700] = "/api/v1/public/evenements?types=demande_subvention&limite=500";
    for (int page = 0; page < 20; page++) {
        struct http_response f;
        http_get(fpath, &f);
        cr_assert_eq(f.status, 200, HTTP_BODY, f.body);
        size_t k;
        json_t *ev;
        json_array_foreach(json_object_get(f.json, "elements"), k, ev)
        {
            const char *rid = fx_str(json_object_get(ev, "ressource"), "id");
            if (rid && strcmp(rid, accordee) == 0) {
                json_decref(dans_le_flux);
                dans_le_flux = json_incref(json_object_get(ev, "donnees"));
            }
            refusee_vue = refusee_vue || (rid && strcmp(rid, refusee) == 0);
        }
        bool a_jour = json_is_true(json_object_get(f.json, "a_jour"));
        snprintf(fpath, sizeof fpath,
                 "/api/v1/public/evenements?types=demande_subvention&limite=500&apres=%s",
                 fx_str(f.json, "suivant") ? fx_str(f.json, "suivant") : "");
        http_response_release(&f);
        if (a_jour)
            break;
    }
    char *vu = dans_le_flux ? json_dumps(dans_le_flux, JSON_COMPACT) : NULL;
    cr_assert(json_equal(dans_le_flux, e),
              "the feed's donnees (%s) differ from the open-data record", vu ? vu : "no event");
    free(vu);
    cr_assert_not(refusee_vue, "a refused subsidy in the public feed");
    json_decref(dans_le_flux);
    http_response_release(&r);
}

/* The SQL default delays (demande_delais_defaut of 0022, used by
 * subvention_publique_representation) are the domain's (parametres_defaut):
 * GET /parametres on a date before any version shows the defaults. */
Test(donnees_ouvertes, delais_par_defaut_du_sql_egaux_a_ceux_du_domaine)
{
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_call(&admin, "GET", "/api/v1/parametres?date=2001-01-01", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *d = json_object_get(r.json, "delais");
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    PGresult *res = PQexec(db, "SELECT * FROM demande_delais_defaut()");
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    for (int i = 0; i < PQnfields(res); i++) {
        json_t *v = json_object_get(d, PQfname(res, i));
        cr_assert(json_is_integer(v), "delais.%s: " HTTP_BODY, PQfname(res, i), r.body);
        cr_assert_eq(json_integer_value(v), strtoll(PQgetvalue(res, 0, i), NULL, 10), "%s",
                     PQfname(res, i));
    }
    cr_assert_eq(PQnfields(res), 5);
    PQclear(res);
    PQfinish(db);
    http_response_release(&r);
}

/* ---- catalogue, ETag, parameters --------------------------------------------------- */

Test(donnees_ouvertes, catalogue_etag_304_et_parametres)
{
    fx_territoire("pvd-76-81-904", "81060", "200040905"); /* Carmaux */
    struct http_response r, u;
    get_open(BASE, &r);
    cr_assert_str_eq(fx_str(json_object_get(r.json, "licence"), "url"),
                     "https://www.etalab.gouv.fr/licence-ouverte-open-licence/");
    json_t *jeux = json_object_get(r.json, "jeux_de_donnees");
    cr_assert_eq(json_array_size(jeux), 3, HTTP_BODY, r.body);
    size_t i, k, urls = 0;
    json_t *jeu, *res;
    json_array_foreach(jeux, i, jeu)
    {
        cr_assert_not_null(fx_str(json_object_get(jeu, "licence"), "url"));
        json_array_foreach(json_object_get(jeu, "ressources"), k, res)
        {
            get_open(fx_str(res, "url"), &u); /* every URL answers, without token */
            cr_assert(strncmp(u.content_type, fx_str(res, "type_media"), 8) == 0, "%s %s",
                      u.content_type, fx_str(res, "type_media"));
            http_response_release(&u);
            urls++;
        }
    }
    cr_assert_eq(urls, 6);
    const char *laureats = fx_str(json_array_get(jeux, 0), "derniere_modification");
    cr_assert_not_null(laureats, HTTP_BODY, r.body); /* a territoire exists */
    http_response_release(&r);

    /* ETag / If-None-Match: 304 with the licence and cache headers. Every
     * suite of the HTTP run shares the database: the datasets are read for
     * this suite's département, where a write of another test of the suite
     * in between changes the ETag (then 200 with the new one): a few
     * attempts. The catalogue changes with any write anywhere: a 200 there
     * must carry another ETag. */
    const char *paths[] = {BASE "/laureats.csv?departement=81",
                           BASE "/laureats.json?departement=81",
                           BASE "/fiches-action.json?departement=81",
                           BASE "/subventions.csv?departement=81",
                           BASE,
                           NULL};
    for (size_t p = 0; paths[p]; p++) {
        bool seen304 = false, catalogue = paths[p + 1] == NULL;
        for (int attempt = 0; attempt < 10 && !seen304; attempt++) {
            char etag[64], inm[100];
            get_open(paths[p], &r);
            snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
            http_response_release(&r);
            snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
            const char *h[] = {inm, NULL};
            http_request("GET", paths[p], h, NULL, 0, &r);
            if (r.status == 304) {
                seen304 = true;
                cr_assert_eq(r.body_len, 0);
                expect_open_headers(&r);
                cr_assert_str_eq(http_header(&r, "ETag"), etag);
            } else {
                cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
                cr_assert_str_neq(http_header(&r, "ETag"), etag, "200 with the same ETag");
            }
            http_response_release(&r);
        }
        cr_assert(seen304 || catalogue, "%s: never 304", paths[p]);
    }
    const char *other[] = {"If-None-Match: \"autre\"", NULL};
    http_request("GET", BASE "/laureats.json", other, NULL, 0, &r);
    cr_assert_eq(r.status, 200);
    http_response_release(&r);

    /* parameters: unknown, malformed, repeated → 400, never a 5xx */
    const char *bad[] = {BASE "/laureats.csv?annee=2025",
                         BASE "/laureats.json?departement=999",
                         BASE "/subventions.json?annee=1999",
                         BASE "/fiches-action.csv?x=1",
                         BASE "?departement=81",
                         BASE "/subventions.csv?departement=81&departement=81",
                         NULL};
    for (size_t b = 0; bad[b]; b++) {
        http_get(bad[b], &r);
        http_expect_problem(&r, 400, "parametre-invalide");
        http_response_release(&r);
    }
}
