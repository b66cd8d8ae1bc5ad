/* The maquette financière over HTTP (issue #9 §3): on a generated plan of 200
 * fiches over three axes and the years 2024–2029, with lines of every statut
 * from four financeurs, each year's maquette equals the échéanciers posted
 * (per fiche, per axe, in total), financed + remainder = planned on every
 * row, the financeurs' totals add up to the total by statut, and over the
 * years a fiche's shares add up to its lines. Also: `annee` required and
 * bounded (400), 404 outside the perimeter, the CSV form (BOM, `;`, a formula
 * intitulé neutralised) chosen by Accept.
 *
 * Test data: Ardennes (08): pvd-44-08-910 Rethel (08362, CC du Pays
 * Rethélois 200043156), pvd-44-08-911 Vouziers (08490, CC Argonne Ardennaise
 * 240800920). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define FICHES   200
#define AXES     3
#define AN_MIN   2024
#define AN_MAX   2029
#define ANNEES   (AN_MAX - AN_MIN + 1)
#define STATUTS  6
#define MAQUETTE "/api/v1/territoires/pvd-44-08-910/maquette-financiere?annee="

static const char *const statuts[STATUTS] = {"envisage", "sollicite",     "accorde",
                                             "refuse",   "verse_partiel", "solde"};
/* The statuts a maquette counts as financed (financement_statut_compte). */
static const bool compte[STATUTS] = {false, true, true, false, true, true};

struct plan {
    int64_t echeancier[FICHES][ANNEES]; /* 0 where the fiche has no such year */
    bool a_l_annee[FICHES][ANNEES];
    int64_t lignes[FICHES][STATUTS]; /* Σ of the fiche's lines by statut */
    int axe[FICHES];
    char axe_ids[AXES][37];
};

static int64_t member(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    cr_assert(json_is_integer(v), "member %s is not an integer", name);
    return (int64_t)json_integer_value(v);
}

/* Fiche i's body members: its axe, cost, échéancier (1 to 4 years from 2024
 * to 2026, unequal parts, Σ = cost) and lines (the commune's own share 30 %,
 * the Région 40 %, the Département 20 %, a company 10 % every fourth fiche),
 * with their statuts cycling; the expectations into p. */
static void fiche_extra(int i, const char fin[3][37], const char *commune, struct plan *p,
                        char *out, size_t size)
{
    int64_t cout = 1000000 + (int64_t)i * 12345;
    int years = 1 + i % 4, start = AN_MIN + i % 3, weights = years * (years + 1) / 2;
    p->axe[i] = i % AXES;
    size_t n = (size_t)snprintf(out, size,
                                "\"numero\":\"%03d\",\"intitule\":\"Fiche %d\",\"axe_id\":\"%s\","
                                "\"cout_total_ht_centimes\":%" PRId64 ",\"echeancier\":[",
                                i + 1, i + 1, p->axe_ids[p->axe[i]], cout);
    int64_t rest = cout;
    for (int k = 0; k < years; k++) {
        int64_t part = k == years - 1 ? rest : cout * (k + 1) / weights;
        rest -= part;
        p->echeancier[i][start + k - AN_MIN] = part;
        p->a_l_annee[i][start + k - AN_MIN] = true;
        n +=
            (size_t)snprintf(out + n, size - n, "%s{\"annee\":%d,\"montant_centimes\":%" PRId64 "}",
                             k ? "," : "", start + k, part);
    }
    const struct {
        const char *financeur, *dispositif, *nature;
        int64_t montant;
        int statut;
    } lignes[4] = {
        {commune, "autofinancement", "public", cout * 30 / 100, (int[]){1, 2, 5}[i % 3]},
        {fin[0], "region", "public", cout * 40 / 100, i % 6},
        {fin[1], "departement", "public", cout * 20 / 100, (i + 2) % 6},
        {fin[2], "prive", "prive", cout * 10 / 100, (i / 4) % 2 ? 0 : 2},
    };
    n += (size_t)snprintf(out + n, size - n, "],\"plan_financement\":[");
    int count = i % 4 == 0 ? 4 : 3;
    for (int l = 0; l < count; l++) {
        p->lignes[i][lignes[l].statut] += lignes[l].montant;
        n += (size_t)snprintf(out + n, size - n,
                              "%s{\"financeur_id\":\"%s\",\"dispositif\":\"%s\","
                              "\"nature_financeur\":\"%s\",\"montant_centimes\":%" PRId64
                              ",\"statut\":\"%s\"}",
                              l ? "," : "", lignes[l].financeur, lignes[l].dispositif,
                              lignes[l].nature, lignes[l].montant, statuts[lignes[l].statut]);
    }
    cr_assert_lt(n + 2, size);
    snprintf(out + n, size - n, "]");
}

/* finance = Σ of the counted statuts; finance + reste = prevu. */
static void check_row(const json_t *row, const char *what)
{
    const json_t *ps = json_object_get(row, "par_statut");
    int64_t finance = 0;
    for (int s = 0; s < STATUTS; s++) {
        char key[40];
        snprintf(key, sizeof key, "%s_centimes", statuts[s]);
        if (compte[s])
            finance += member(ps, key);
    }
    cr_assert_eq(member(row, "finance_centimes"), finance, "%s: finance", what);
    cr_assert_eq(member(row, "finance_centimes") + member(row, "reste_a_financer_centimes"),
                 member(row, "prevu_centimes"), "%s: finance + reste != prevu", what);
}

Test(maquette, equals_the_echeanciers_of_a_generated_200_fiche_plan, .timeout = 120)
{
    static struct plan p;
    struct fx_caller admin;
    struct fx_fiche_territoire t;
    struct http_response r;
    char fin[3][37], path[200], id[37], etag[64], extra[2000];
    memset(&p, 0, sizeof p);
    fx_admin(&admin);
    fx_fiche_territoire("pvd-44-08-910", "08362", "210803268", "200043156", "2025-01-15", &t);
    snprintf(p.axe_ids[0], 37, "%s", t.axe);
    for (int a = 1; a < AXES; a++) {
        char body[200];
        snprintf(body, sizeof body,
                 "{\"numero\":%d,\"intitule\":\"Axe %d\",\"enjeux\":\"Enjeux %d\"}", a + 1, a + 1,
                 a + 1);
        fx_create(&admin, "/api/v1/territoires/pvd-44-08-910/axes-strategiques", body, p.axe_ids[a],
                  NULL);
    }
    fx_organisation("200052264", "region", "Région Grand Est", fin[0]);
    fx_organisation("220800015", "departement", "Département des Ardennes", fin[1]);
    fx_organisation("552100554", "entreprise", "Entreprise mécène", fin[2]);
    for (int i = 0; i < FICHES; i++) {
        fiche_extra(i, (const char(*)[37])fin, t.commune_org, &p, extra, sizeof extra);
        char numero[8];
        snprintf(numero, sizeof numero, "%03d", i + 1);
        fx_fiche(&admin, &t, numero, extra, id, etag);
    }

    int64_t cumul[FICHES][STATUTS];
    memset(cumul, 0, sizeof cumul);
    for (int annee = AN_MIN - 1; annee <= AN_MAX + 1; annee++) {
        int y = annee - AN_MIN;
        bool in_range = y >= 0 && y < ANNEES;
        snprintf(path, sizeof path, MAQUETTE "%d", annee);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_eq(member(r.json, "annee"), annee);
        int64_t axe_prevu[AXES] = {0}, total = 0;
        size_t listed = 0;
        for (int i = 0; i < FICHES; i++) {
            int64_t e = in_range ? p.echeancier[i][y] : 0;
            axe_prevu[p.axe[i]] += e;
            total += e;
            listed += in_range && p.a_l_annee[i][y];
        }
        const json_t *fiches = json_object_get(r.json, "fiches");
        cr_assert_eq(json_array_size(fiches), listed, "%d: the fiches planned that year", annee);
        size_t k;
        json_t *f;
        json_array_foreach(fiches, k, f)
        {
            int i = atoi(json_string_value(json_object_get(f, "numero"))) - 1;
            cr_assert(i >= 0 && i < FICHES);
            cr_assert_eq(member(f, "prevu_centimes"), p.echeancier[i][y], "%d: fiche %d", annee,
                         i + 1);
            cr_assert_str_eq(json_string_value(json_object_get(f, "axe_id")), p.axe_ids[p.axe[i]]);
            check_row(f, "fiche");
            const json_t *ps = json_object_get(f, "par_statut");
            for (int s = 0; s < STATUTS; s++) {
                char key[40];
                snprintf(key, sizeof key, "%s_centimes", statuts[s]);
                cumul[i][s] += member(ps, key);
            }
        }
        const json_t *axes = json_object_get(r.json, "axes");
        cr_assert_eq(json_array_size(axes), AXES);
        json_t *a;
        json_array_foreach(axes, k, a)
        {
            int n = (int)member(a, "numero") - 1;
            cr_assert(n >= 0 && n < AXES);
            cr_assert_str_eq(json_string_value(json_object_get(a, "id")), p.axe_ids[n]);
            cr_assert_eq(member(a, "prevu_centimes"), axe_prevu[n], "%d: axe %d", annee, n + 1);
            check_row(a, "axe");
        }
        const json_t *tot = json_object_get(r.json, "total");
        cr_assert_eq(member(tot, "prevu_centimes"), total, "%d: total", annee);
        check_row(tot, "total");
        /* the financeurs' shares add up to the total, statut by statut */
        for (int s = 0; s < STATUTS; s++) {
            char key[40];
            snprintf(key, sizeof key, "%s_centimes", statuts[s]);
            int64_t sum = 0;
            json_t *o;
            json_array_foreach(json_object_get(r.json, "financeurs"), k, o) sum +=
                member(json_object_get(o, "par_statut"), key);
            cr_assert_eq(sum, member(json_object_get(tot, "par_statut"), key), "%d: %s", annee,
                         key);
        }
        http_response_release(&r);
    }
    /* every year of every échéancier was read: a fiche's shares over the
     * years are its lines, to the cent */
    for (int i = 0; i < FICHES; i++)
        for (int s = 0; s < STATUTS; s++)
            cr_assert_eq(cumul[i][s], p.lignes[i][s], "fiche %d, %s: %" PRId64 " != %" PRId64,
                         i + 1, statuts[s], cumul[i][s], p.lignes[i][s]);
}

Test(maquette, annee_is_required_and_bounded_and_the_perimeter_applies)
{
    struct fx_caller admin, ailleurs, lecteur;
    struct fx_fiche_territoire t;
    struct http_response r;
    fx_admin(&admin);
    fx_fiche_territoire("pvd-44-08-911", "08490", "200062388", "240800920", "2025-01-15", &t);
    static const struct {
        const char *query, *pointer, *code;
    } bad[] = {{"", "/annee", "champ-requis"},
               {"?annee=1999", "/annee", "hors-bornes"},
               {"?annee=2101", "/annee", "hors-bornes"},
               {"?annee=deux-mille", "/annee", "format-invalide"},
               {"?annee=2025&annee=2026", "/annee", "parametre-repete"},
               {"?annee=2025&tri=x", "/tri", "parametre-inconnu"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/territoires/pvd-44-08-911/maquette-financiere%s",
                 bad[i].query);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 400, "%s: " HTTP_BODY, path, r.body);
        http_expect_param_error(&r, bad[i].pointer, bad[i].code);
        http_response_release(&r);
    }
    fx_caller_with(&ailleurs, "collectivite_agent", "{\"sirens\":[\"210803268\"]}");
    fx_call(&ailleurs, "GET", "/api/v1/territoires/pvd-44-08-911/maquette-financiere?annee=2025",
            NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_caller_with(&lecteur, "lecteur_national", "{}");
    fx_call(&lecteur, "GET", "/api/v1/territoires/pvd-44-08-911/maquette-financiere?annee=2025",
            NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "fiches")), 0);
    cr_assert_eq(json_array_size(json_object_get(r.json, "axes")), 1);
    cr_assert_eq(member(json_object_get(r.json, "total"), "prevu_centimes"), 0);
    http_response_release(&r);
}

Test(maquette, csv_when_accept_prefers_it_with_bom_semicolons_and_formulas_neutralised)
{
    struct fx_caller admin;
    struct fx_fiche_territoire t;
    struct http_response r;
    char id[37], etag[64], extra[600];
    fx_admin(&admin);
    fx_fiche_territoire("pvd-44-08-912", "08025", "210800231", "240800862", "2025-01-15", &t);
    snprintf(extra, sizeof extra,
             "\"intitule\":\"=SOMME(A1:A9)\",\"cout_total_ht_centimes\":123456,"
             "\"echeancier\":[{\"annee\":2026,\"montant_centimes\":123456}],"
             "\"plan_financement\":[{\"financeur_id\":\"%s\",\"dispositif\":\"autofinancement\","
             "\"nature_financeur\":\"public\",\"montant_centimes\":123456,\"statut\":"
             "\"accorde\"}]",
             t.commune_org);
    fx_fiche(&admin, &t, "1.1", extra, id, etag);

    const char *path = "/api/v1/territoires/pvd-44-08-912/maquette-financiere?annee=2026";
    fx_call(&admin, "GET", path, NULL, "Accept: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(strncmp(r.content_type, "text/csv", 8) == 0, "%s", r.content_type);
    cr_assert(r.body_len > 3 && memcmp(r.body, "\xEF\xBB\xBF", 3) == 0, "no UTF-8 BOM");
    cr_assert(strncmp(r.body + 3, "ligne;id;numero;intitule;axe;prevu_eur;", 39) == 0, "%.120s",
              r.body + 3);
    char row[200];
    snprintf(row, sizeof row, "\r\nfiche;%s;1.1;'=SOMME(A1:A9);1;1234,56;0,00;0,00;1234,56;", id);
    cr_assert(strstr(r.body, row), "no escaped fiche row %s in:\n%s", row, r.body);
    cr_assert(strstr(r.body, "\r\ntotal;;;;;1234,56;"), "%s", r.body);
    cr_assert_null(strstr(r.body, ";=SOMME"), "a formula left as is");
    http_response_release(&r);

    /* JSON when Accept prefers it, or says nothing */
    fx_call(&admin, "GET", path, NULL, "Accept: text/csv;q=0.5, application/json", &r);
    http_expect_json_ok(&r);
    const json_t *f = json_array_get(json_object_get(r.json, "fiches"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(f, "intitule")), "=SOMME(A1:A9)");
    cr_assert_eq(member(f, "finance_centimes"), 123456);
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, "Accept: application/json;q=0.2, text/*", &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strncmp(r.content_type, "text/csv", 8) == 0, "%s", r.content_type);
    http_response_release(&r);
}
