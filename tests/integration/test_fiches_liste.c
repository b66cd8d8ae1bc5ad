/* The fiches action a caller may read, listed (GET /api/v1/fiches-action)
 * and exported (GET /api/v1/fiches-action.csv), issue #9 §1.
 *
 * Who sees which fiche exists twice in the service: the list and the export
 * filter in SQL (fiches_visibles, db/migrations/0014_fiches_visibles.sql) and
 * a single read decides in domain/authz.c (ACTION_FICHE_READ on
 * fiche_access_load's target). This suite holds them to one rule: for every
 * caller below and every fiche, "listed" ⇔ "exported" ⇔ "GET
 * /fiches-action/{id} answers 200" (404 otherwise), with the expected
 * answer given per caller so that agreement is not vacuous — in particular a
 * financeur sees the fiche it finances and the one it leads, never the
 * other fiches of the territoire.
 *
 * Test data: Hautes-Alpes (05, région 93), territoires pvd-93-05-901
 * (Chorges) and pvd-93-05-902 (Guillestre), used by no other suite; the
 * financeur is the CC du Briançonnais (240500439), the maître d'ouvrage
 * from outside the commune of Briançon (210500237): neither is in a
 * territoire here. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

/* The territoires of the visibility test; the filters and the export
 * use pvd-93-05-909 (Ancelle) and -910 (Crots): criterion runs each test in
 * its own process, so each creates its own. */
#define T1_PVD          "pvd-93-05-901"
#define T1_INSEE        "05040"
#define T1_SIREN        "210500401"
#define T1_EPCI         "200067742"
#define T2_PVD          "pvd-93-05-902"
#define T2_INSEE        "05065"
#define T2_SIREN        "210500658"
#define T2_EPCI         "200067452"
#define U1_PVD          "pvd-93-05-909"
#define U1_INSEE        "05004"
#define U1_SIREN        "210500047"
#define U1_EPCI         "200068096"
#define U2_PVD          "pvd-93-05-910"
#define U2_INSEE        "05045"
#define U2_SIREN        "210500450"
#define U2_EPCI         "200067742"
#define FINANCEUR_SIREN "240500439"
#define MO_SIREN        "210500237"

struct jeu {
    const char *p1, *p2; /* id_pvd of t1, t2 */
    struct fx_fiche_territoire t1, t2;
    char financeur[37], mo[37];
    char a1[37], a2[37], b1[37]; /* a1 financed by the financeur; b1 led by mo */
};
static struct jeu jeu;

/* Two territoires (one commune each) and three fiches: a1 (t1: thématiques
 * commerce and habitat, public, financed by the financeur — 10 000 €
 * accordés — and by its commune — 90 000 € envisagés), a2 (t1: an étude
 * whose intitulé is a spreadsheet formula, TTC 120 000 €), b1 (t2, led by
 * the commune of Briançon, thématique mobilite). */
static void jeu_setup(const char *p1, const char *insee1, const char *siren1, const char *epci1,
                      const char *p2, const char *insee2, const char *siren2, const char *epci2)
{
    struct fx_caller admin;
    char etag[64], extra[600];
    fx_admin(&admin);
    jeu.p1 = p1;
    jeu.p2 = p2;
    fx_fiche_territoire(p1, insee1, siren1, epci1, "2025-06-12", &jeu.t1);
    fx_fiche_territoire(p2, insee2, siren2, epci2, "2025-06-12", &jeu.t2);
    fx_organisation(FINANCEUR_SIREN, "epci", "CC du Briançonnais", jeu.financeur);
    fx_organisation(MO_SIREN, "commune", "Briançon", jeu.mo);
    snprintf(extra, sizeof extra,
             "\"thematiques\": [\"commerce\", \"habitat\"], \"public\": true, "
             "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": \"autre\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 1000000, \"statut\": "
             "\"accorde\"}, {\"financeur_id\": \"%s\", \"dispositif\": \"autofinancement\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 9000000, \"statut\": "
             "\"envisage\"}]",
             jeu.financeur, jeu.t1.commune_org);
    fx_fiche(&admin, &jeu.t1, "A-1", extra, jeu.a1, etag);
    fx_fiche(&admin, &jeu.t1, "A-2",
             "\"intitule\": \"=HYPERLINK(\\\"http://x\\\";\\\"clic\\\")\", \"nature_depense\": "
             "\"etude\", \"cout_total_ttc_centimes\": 12000000",
             jeu.a2, etag);
    snprintf(extra, sizeof extra, "\"maitre_ouvrage_id\": \"%s\", \"thematiques\": [\"mobilite\"]",
             jeu.mo);
    fx_fiche(&admin, &jeu.t2, "B-1", extra, jeu.b1, etag);
}

/* Every id of the list c gets for path (following every page), into ids
 * (each 37 bytes, at most max), and the total announced. */
static size_t list_all(const struct fx_caller *c, const char *path, char (*ids)[37], size_t max,
                       long *total)
{
    char url[600];
    size_t n = 0;
    snprintf(url, sizeof url, "%s", path);
    *total = -1;
    for (int page = 0; page < 50; page++) {
        struct http_response r;
        fx_call(c, "GET", url, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, url, r.body);
        long t = (long)json_integer_value(json_object_get(r.json, "total"));
        cr_assert(*total < 0 || *total == t, "total changes between pages");
        *total = t;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "elements"), i, e)
        {
            cr_assert_null(json_object_get(e, "_acces"), "a hidden member is sent");
            cr_assert(json_is_array(json_object_get(e, "transitions_possibles")), HTTP_BODY,
                      r.body);
            if (n < max)
                snprintf(ids[n++], 37, "%s", fx_str(e, "id"));
        }
        const char *next = fx_str(r.json, "suivant");
        if (!next) {
            http_response_release(&r);
            break;
        }
        snprintf(url, sizeof url, "%s%scurseur=%s", path, strchr(path, '?') ? "&" : "?", next);
        http_response_release(&r);
    }
    return n;
}

/* The CSV document c gets for path (asserting 200 and its headers): owned
 * text (free()). */
static char *csv_get(const struct fx_caller *c, const char *path)
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    cr_assert(strncmp(http_header(&r, "Content-Type"), "text/csv", 8) == 0);
    const char *cd = http_header(&r, "Content-Disposition");
    cr_assert(cd && strncmp(cd, "attachment; filename=\"fiches-action-", 36) == 0, "%s",
              cd ? cd : "(none)");
    cr_assert(r.body_len >= 3 && memcmp(r.body, "\xEF\xBB\xBF", 3) == 0, "no BOM");
    char *doc = malloc(r.body_len + 1);
    cr_assert(doc);
    memcpy(doc, r.body, r.body_len);
    doc[r.body_len] = '\0';
    http_response_release(&r);
    return doc;
}

/* The number of records of a CSV document (CRLF-terminated lines, header
 * included; this suite's cells hold no line break). */
static size_t csv_records(const char *doc)
{
    size_t n = 0;
    for (const char *p = doc; (p = strstr(p, "\r\n")); p += 2)
        n++;
    return n;
}

static bool readable(const struct fx_caller *c, const char *id)
{
    char path[160];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert(r.status == 200 || r.status == 404, "GET %s: %ld " HTTP_BODY, path, r.status, r.body);
    bool ok = r.status == 200;
    http_response_release(&r);
    return ok;
}

struct caller_case {
    const char *label, *role, *perimetre;
    int expect[3]; /* a1, a2, b1: 1 sees, 0 does not */
};

Test(fiches_liste, the_list_the_export_and_the_single_read_agree_for_every_caller, .timeout = 180)
{
    jeu_setup(T1_PVD, T1_INSEE, T1_SIREN, T1_EPCI, T2_PVD, T2_INSEE, T2_SIREN, T2_EPCI);
    static const struct caller_case cases[] = {
        {"anct", "anct_national", "{}", {1, 1, 1}},
        {"lecteur national", "lecteur_national", "{}", {1, 1, 1}},
        {"préfecture 05", "prefecture_instructeur", "{\"departements\":[\"05\"]}", {1, 1, 1}},
        {"préfecture 38", "prefecture_instructeur", "{\"departements\":[\"38\"]}", {0, 0, 0}},
        {"région 93", "prefecture_region", "{\"regions\":[\"93\"]}", {1, 1, 1}},
        {"région 84", "prefecture_region", "{\"regions\":[\"84\"]}", {0, 0, 0}},
        {"agent du territoire 1",
         "collectivite_agent",
         "{\"territoires\":[\"" T1_PVD "\"]}",
         {1, 1, 0}},
        {"agent de la commune 1",
         "collectivite_agent",
         "{\"sirens\":[\"" T1_SIREN "\"]}",
         {1, 1, 0}},
        {"élu de l'EPCI 2", "collectivite_elu", "{\"sirens\":[\"" T2_EPCI "\"]}", {0, 0, 1}},
        {"agent du maître d'ouvrage de b1",
         "collectivite_agent",
         "{\"sirens\":[\"" MO_SIREN "\"]}",
         {0, 0, 1}},
        {"financeur de a1", "financeur", "{\"sirens\":[\"" FINANCEUR_SIREN "\"]}", {1, 0, 0}},
        {"financeur maître d'ouvrage de b1",
         "financeur",
         "{\"sirens\":[\"" MO_SIREN "\"]}",
         {0, 0, 1}},
        {"autre financeur", "financeur", "{\"sirens\":[\"210500062\"]}", {0, 0, 0}},
    };
    const char *fiches[3] = {jeu.a1, jeu.a2, jeu.b1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx_caller c;
        if (strcmp(cases[i].role, "anct_national") == 0)
            fx_admin(&c);
        else
            fx_caller_with(&c, cases[i].role, cases[i].perimetre);
        const char *terrs[3] = {T1_PVD, T1_PVD, T2_PVD};
        for (size_t k = 0; k < 3; k++) {
            char ids[64][37], path[200];
            long total = 0;
            /* pages of one: the keyset and the total under the perimeter */
            snprintf(path, sizeof path, "/api/v1/fiches-action?id_pvd=%s&limite=1", terrs[k]);
            size_t n = list_all(&c, path, ids, 64, &total);
            cr_assert_eq((long)n, total, "%s: total %ld for %zu elements", cases[i].label, total,
                         n);
            snprintf(path, sizeof path, "/api/v1/fiches-action.csv?id_pvd=%s", terrs[k]);
            char *doc = csv_get(&c, path);
            cr_assert_eq(csv_records(doc), n + 1, "%s: the export holds the list", cases[i].label);
            bool listed = fx_ids_has(ids, n, fiches[k]);
            bool exported = strstr(doc, fiches[k]) != NULL;
            free(doc);
            bool read = readable(&c, fiches[k]);
            cr_assert_eq(listed, read,
                         "%s, fiche %zu: listed %d (SQL fiches_visibles) but read %d "
                         "(domain/authz.c)",
                         cases[i].label, k, listed, read);
            cr_assert_eq(exported, listed, "%s, fiche %zu: exported %d, listed %d", cases[i].label,
                         k, exported, listed);
            cr_assert_eq(read, cases[i].expect[k] == 1, "%s, fiche %zu: sees %d, expected %d",
                         cases[i].label, k, read, cases[i].expect[k]);
        }
    }
}

/* The total of path for the administrator. */
static long total_of(const char *path)
{
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    long t = (long)json_integer_value(json_object_get(r.json, "total"));
    http_response_release(&r);
    return t;
}

static void filters_pages_and_parameters(void)
{
    char path[300];
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD), 2);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U2_PVD), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&region=93"), 2);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&departement=38"), 0);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&thematique=commerce"), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&thematique=mobilite"), 0);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U2_PVD "&thematique=mobilite"), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&nature_depense=etude"), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&public=true"), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&public=false"), 1);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&etat=brouillon"), 2);
    cr_assert_eq(total_of("/api/v1/fiches-action?id_pvd=" U1_PVD "&etat=programmee"), 0);
    snprintf(path, sizeof path, "/api/v1/fiches-action?axe_id=%s", jeu.t1.axe);
    cr_assert_eq(total_of(path), 2);
    snprintf(path, sizeof path, "/api/v1/fiches-action?axe_id=%s", jeu.t2.axe);
    cr_assert_eq(total_of(path), 1);
    snprintf(path, sizeof path, "/api/v1/fiches-action?maitre_ouvrage_id=%s&id_pvd=%s", jeu.mo,
             U2_PVD);
    cr_assert_eq(total_of(path), 1);
    snprintf(path, sizeof path, "/api/v1/fiches-action?maitre_ouvrage_id=%s&id_pvd=%s",
             jeu.t1.commune_org, U1_PVD);
    cr_assert_eq(total_of(path), 2);

    /* each element says what the caller may do with it (the hidden access of
     * the list decides as a single read would) */
    static const struct {
        const char *role, *perimetre, *possibles;
    } decor[] = {
        {"collectivite_elu", "{\"sirens\":[\"" U1_SIREN "\"]}",
         "[\"en_maturation\", \"abandonnee\"]"},
        {"collectivite_agent", "{\"sirens\":[\"" U1_SIREN "\"]}", "[]"},
        {"prefecture_instructeur", "{\"departements\":[\"05\"]}", "[]"},
    };
    for (size_t i = 0; i < sizeof decor / sizeof decor[0]; i++) {
        struct fx_caller c;
        struct http_response r;
        fx_caller_with(&c, decor[i].role, decor[i].perimetre);
        fx_call(&c, "GET", "/api/v1/fiches-action?id_pvd=" U1_PVD, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
        json_t *want = json_loads(decor[i].possibles, 0, NULL);
        cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 2, HTTP_BODY, r.body);
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "elements"), k, e)
        {
            cr_assert(json_equal(json_object_get(e, "transitions_possibles"), want),
                      "%s: " HTTP_BODY, decor[i].role, r.body);
        }
        json_decref(want);
        http_response_release(&r);
    }

    /* one page of one, then the next: same total, nothing twice */
    struct fx_caller admin;
    fx_admin(&admin);
    char ids[8][37];
    long total = 0;
    size_t n = list_all(&admin, "/api/v1/fiches-action?id_pvd=" U1_PVD "&limite=1", ids, 8, &total);
    cr_assert_eq(n, 2);
    cr_assert_eq(total, 2);
    cr_assert_str_neq(ids[0], ids[1]);

    /* parameters: unknown, malformed, a cursor of another filter */
    static const struct {
        const char *query, *pointer;
    } bad[] = {
        {"etat=ouverte", "/etat"},
        {"thematique=sport", "/thematique"},
        {"nature_depense=travaux", "/nature_depense"},
        {"public=oui", "/public"},
        {"axe_id=12", "/axe_id"},
        {"maitre_ouvrage_id=x", "/maitre_ouvrage_id"},
        {"departement=999", "/departement"},
        {"id_pvd=pvd", "/id_pvd"},
        {"couleur=bleu", "/couleur"},
        {"limite=0", "/limite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_response r;
        snprintf(path, sizeof path, "/api/v1/fiches-action?%s", bad[i].query);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        fx_expect_error(&r, 400, "parametre-invalide", bad[i].pointer, NULL);
        http_response_release(&r);
        snprintf(path, sizeof path, "/api/v1/fiches-action.csv?%s", bad[i].query);
        fx_call(&admin, "GET", path, NULL, NULL, &r);
        if (strncmp(bad[i].query, "limite", 6) == 0) /* the export has no pages */
            fx_expect_error(&r, 400, "parametre-invalide", "/limite", "parametre-inconnu");
        else
            fx_expect_error(&r, 400, "parametre-invalide", bad[i].pointer, NULL);
        http_response_release(&r);
    }
    struct http_response r;
    fx_call(&admin, "GET", "/api/v1/fiches-action?id_pvd=" U1_PVD "&limite=1", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(path, sizeof path, "/api/v1/fiches-action?id_pvd=" U2_PVD "&curseur=%s",
             fx_str(r.json, "suivant"));
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 400, "a cursor of other filters: " HTTP_BODY, r.body);
    http_response_release(&r);

    /* the .csv route is not an id, and other methods are 405 */
    fx_call(&admin, "DELETE", "/api/v1/fiches-action.csv", NULL, NULL, &r);
    cr_assert_eq(r.status, 405, HTTP_BODY, r.body);
    cr_assert_not_null(http_header(&r, "Allow"));
    http_response_release(&r);
    fx_call(&admin, "PUT", "/api/v1/fiches-action", "{}", NULL, &r);
    cr_assert_eq(r.status, 405, HTTP_BODY, r.body);
    http_response_release(&r);
    char tr[160];
    snprintf(tr, sizeof tr, "/api/v1/fiches-action/%s/transitions", jeu.a1);
    fx_call(&admin, "GET", tr, NULL, NULL, &r);
    cr_assert_eq(r.status, 405, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* The cell after the n-th ';' of line (0: the first), into out. Cells of
 * this suite are quoted only when they hold ';' (the formula one). */
static void cell(const char *line, size_t n, char *out, size_t size)
{
    const char *p = line;
    for (size_t i = 0; i < n; i++) {
        bool quoted = *p == '"';
        if (quoted) {
            p++;
            while (*p && !(*p == '"' && p[1] != '"'))
                p += *p == '"' ? 2 : 1;
            p++;
        }
        p = strchr(p, ';');
        cr_assert(p, "cell %zu of %s", n, line);
        p++;
    }
    size_t len = strcspn(p, "\r");
    if (*p == '"') {
        const char *q = p + 1;
        while (*q && !(*q == '"' && q[1] != '"'))
            q += *q == '"' ? 2 : 1;
        len = (size_t)(q + 1 - p);
    } else {
        const char *semi = strchr(p, ';');
        if (semi && (size_t)(semi - p) < len)
            len = (size_t)(semi - p);
    }
    snprintf(out, size, "%.*s", (int)len, p);
}

/* The line of the document that holds id (a pointer into doc). */
static const char *line_of(const char *doc, const char *id)
{
    const char *p = strstr(doc, id);
    cr_assert(p, "%s not exported", id);
    while (p > doc && p[-1] != '\n')
        p--;
    return p;
}

struct expected_cell {
    size_t index;
    const char *text;
};

/* Each cell (index, text) of line is as expected. */
static void expect_cells(const char *line, const struct expected_cell *cells, size_t n)
{
    char c[300];
    for (size_t i = 0; i < n; i++) {
        cell(line, cells[i].index, c, sizeof c);
        cr_assert_str_eq(c, cells[i].text, "cell %zu of %.200s", cells[i].index, line);
    }
}

static void the_csv_export_of_a_prefecture_and_of_a_territoire(void)
{
    struct fx_caller pref, agent;
    fx_caller_with(&pref, "prefecture_instructeur", "{\"departements\":[\"05\"]}");
    fx_caller_with(&agent, "collectivite_agent", "{\"territoires\":[\"" U1_PVD "\"]}");
    char *doc = csv_get(&pref, "/api/v1/fiches-action.csv?departement=05");
    /* header, separators, line ends */
    static const char header[] =
        "id;id_pvd;numero;intitule;axe;etat;maturite;thematiques;maitre_ouvrage;"
        "maitre_ouvrage_siren;commune_insee;commune;nature_depense;cout_total_ht_euros;"
        "cout_total_ttc_euros;date_debut_prevue;date_fin_prevue;date_commencement;"
        "date_achevement;finance_euros;public\r\n";
    cr_assert(strncmp(doc + 3, header, strlen(header)) == 0, "%.300s", doc + 3);
    /* a1: amounts in euros with a comma, the financed total counts the
     * accordé line only, thematiques joined, public */
    const struct expected_cell a1[] = {
        {1, U1_PVD},
        {2, "A-1"},
        {5, "brouillon"},
        {6, "en_maturation"},
        {7, "commerce, habitat"},
        {9, U1_SIREN},
        {10, U1_INSEE},
        {11, "Ancelle"},
        {12, "investissement"},
        {13, "100000,00"},
        {14, ""},
        {19, "10000,00"},
        {20, "oui"},
    };
    expect_cells(line_of(doc, jeu.a1), a1, sizeof a1 / sizeof a1[0]);
    /* a2: the formula is neutralised (quote prefix, quoted for its ';') */
    const struct expected_cell a2[] = {
        {3, "\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\""},
        {14, "120000,00"},
        {19, "0,00"},
        {20, "non"},
    };
    expect_cells(line_of(doc, jeu.a2), a2, sizeof a2 / sizeof a2[0]);
    /* b1: its maître d'ouvrage */
    const struct expected_cell b1[] = {{8, "Briançon"}, {9, MO_SIREN}};
    expect_cells(line_of(doc, jeu.b1), b1, sizeof b1 / sizeof b1[0]);
    free(doc);

    /* the territoire's export: its own fiches only, filters applied */
    doc = csv_get(&agent, "/api/v1/fiches-action.csv");
    cr_assert_not_null(strstr(doc, jeu.a1));
    cr_assert_not_null(strstr(doc, jeu.a2));
    cr_assert_null(strstr(doc, jeu.b1));
    free(doc);
    doc = csv_get(&agent, "/api/v1/fiches-action.csv?nature_depense=etude");
    cr_assert_eq(csv_records(doc), 2);
    cr_assert_not_null(strstr(doc, jeu.a2));
    free(doc);
    /* nothing matches: the header alone */
    doc = csv_get(&agent, "/api/v1/fiches-action.csv?etat=realisee");
    cr_assert_eq(csv_records(doc), 1);
    free(doc);
}

Test(fiches_liste, filters_pages_parameters_and_the_csv_export, .timeout = 180)
{
    jeu_setup(U1_PVD, U1_INSEE, U1_SIREN, U1_EPCI, U2_PVD, U2_INSEE, U2_SIREN, U2_EPCI);
    filters_pages_and_parameters();
    the_csv_export_of_a_prefecture_and_of_a_territoire();
}
