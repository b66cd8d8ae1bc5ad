/* Every JSON-body route of issue #4 refuses a malformed body (400
 * json-invalide) and an unknown member (400 champs-invalides, item
 * champ-inconnu at its pointer) before anything else is decided on the body,
 * and writes nothing: the fixtures' ETags and their children's lists are
 * unchanged afterwards. Sent as the administrator with the current If-Match,
 * so that only the body can be at fault. (The bulk import takes text/csv: its
 * refusals are in test_territoires_pvd.c.)
 *
 * Test data: the territoire pvd-84-15-960 (Riom-ès-Montagnes, 15162, EPCI
 * 241500255), in the Cantal like the projet de territoire tests but on a
 * commune of its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define TERRITOIRE "pvd-84-15-960"

struct fixture {
    char organisation[37], epci[37], convention[37], axe[37], indicateur[37], comite[37],
        seance[37], fiche[37], poste[37], demande[37];
};

static void make_fixture(const struct fx_caller *admin, struct fixture *f)
{
    char body[1200], path[160], etag[64];
    fx_organisation("211501622", "commune", "Riom-ès-Montagnes", f->organisation);
    fx_organisation("241500255", "epci", "CC du Pays Gentiane", f->epci);
    fx_territoire(TERRITOIRE, "15162", "241500255");
    snprintf(body, sizeof body,
             "{\"type\":\"adhesion\",\"id_pvd\":\"" TERRITOIRE "\",\"intitule\":\"Adhésion\","
             "\"signataires\":[{\"organisation_id\":\"%s\",\"role\":\"beneficiaire\","
             "\"representant_nom\":\"Mme Maire\",\"representant_qualite\":\"Maire\"}]}",
             f->organisation);
    fx_create(admin, "/api/v1/conventions", body, f->convention, etag);
    fx_create(admin, "/api/v1/territoires/" TERRITOIRE "/axes-strategiques",
              "{\"numero\":1,\"intitule\":\"Habitat\",\"enjeux\":\"Vacance\"}", f->axe, etag);
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", f->axe);
    fx_create(admin, path, "{\"type\":\"resultat\",\"libelle\":\"Logements\",\"unite\":\"u\"}",
              f->indicateur, etag);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"" TERRITOIRE "\",\"presidence\":\"La maire\",\"membres\":["
             "{\"qualite\":\"executif_commune\",\"organisation_id\":\"%s\",\"nom\":\"Mme Maire\"},"
             "{\"qualite\":\"executif_epci\",\"organisation_id\":\"%s\",\"nom\":\"M. Président\"},"
             "{\"qualite\":\"chef_projet\",\"nom\":\"Mme Cheffe\"},"
             "{\"qualite\":\"prefet\",\"nom\":\"M. Sous-préfet\"}]}",
             f->organisation, f->epci);
    fx_create(admin, "/api/v1/comites", body, f->comite, etag);
    snprintf(path, sizeof path, "/api/v1/comites/%s/seances", f->comite);
    fx_create(admin, path, "{\"date\":\"2024-01-10\"}", f->seance, etag);
    snprintf(body, sizeof body,
             "{\"id_pvd\":\"" TERRITOIRE "\",\"numero\":\"1.1\",\"intitule\":\"Halles\","
             "\"axe_id\":\"%s\",\"description\":\"Halles\",\"objectifs\":\"Marché\","
             "\"maitre_ouvrage_id\":\"%s\",\"nature_depense\":\"etude\","
             "\"cout_total_ht_centimes\":100000,\"localisation_commune_insee\":\"15162\"}",
             f->axe, f->organisation);
    fx_create(admin, "/api/v1/fiches-action", body, f->fiche, etag);
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"" TERRITOIRE "\"],"
             "\"quotite\":10000,\"date_recrutement\":\"2024-01-01\"}",
             f->organisation);
    fx_create(admin, "/api/v1/postes-chef-de-projet", body, f->poste, etag);
    snprintf(body, sizeof body,
             "{\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles\","
             "\"depense_subventionnable_ht_centimes\":100000,\"montant_sollicite_centimes\":30000}",
             f->organisation, f->fiche);
    fx_create(admin, "/api/v1/demandes-subvention", body, f->demande, etag);
}

/* What must stay unchanged: each fixture's ETag and each children list. */
#define WATCHED 15
static void snapshot(const struct fixture *f, char out[WATCHED][600])
{
    char paths[WATCHED][160];
    snprintf(paths[0], 160, "/api/v1/organisations/%s", f->organisation);
    snprintf(paths[1], 160, "/api/v1/territoires/" TERRITOIRE);
    snprintf(paths[2], 160, "/api/v1/conventions/%s", f->convention);
    snprintf(paths[3], 160, "/api/v1/axes-strategiques/%s", f->axe);
    snprintf(paths[4], 160, "/api/v1/indicateurs/%s", f->indicateur);
    snprintf(paths[5], 160, "/api/v1/comites/%s", f->comite);
    snprintf(paths[6], 160, "/api/v1/seances/%s", f->seance);
    snprintf(paths[7], 160, "/api/v1/conventions?id_pvd=" TERRITOIRE);
    snprintf(paths[8], 160, "/api/v1/territoires/" TERRITOIRE "/axes-strategiques");
    snprintf(paths[9], 160, "/api/v1/indicateurs/%s/mesures", f->indicateur);
    snprintf(paths[10], 160, "/api/v1/comites/%s/seances", f->comite);
    snprintf(paths[11], 160, "/api/v1/seances/%s/decisions", f->seance);
    snprintf(paths[12], 160, "/api/v1/fiches-action/%s", f->fiche);
    snprintf(paths[13], 160, "/api/v1/postes-chef-de-projet/%s", f->poste);
    snprintf(paths[14], 160, "/api/v1/demandes-subvention/%s", f->demande);
    struct fx_caller admin;
    fx_admin(&admin);
    for (size_t i = 0; i < WATCHED; i++) {
        struct http_response r;
        fx_call(&admin, "GET", paths[i], NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, paths[i], r.body);
        /* single objects by ETag; lists by their ids (the body) */
        snprintf(out[i], 600, "%s", i < 7 || i >= 12 ? http_header(&r, "ETag") : r.body);
        http_response_release(&r);
    }
}

struct body_route {
    const char *method;
    const char *path;     /* printf format taking the fixture id named by `id` */
    int id;               /* index in the fixture (-1: none) */
    const char *if_match; /* ETag path format (same id), or NULL */
};

/* tmpl with its "%s" replaced by id (no printf: the templates are data). */
static void expand(char *out, size_t size, const char *tmpl, const char *id)
{
    const char *at = strstr(tmpl, "%s");
    if (!at)
        snprintf(out, size, "%s", tmpl);
    else
        snprintf(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 2);
}

static const char *fixture_id(const struct fixture *f, int i)
{
    const char *ids[] = {f->organisation, f->convention, f->axe,   f->indicateur, f->comite,
                         f->seance,       TERRITOIRE,    f->fiche, f->poste,      f->demande};
    return i < 0 ? "" : ids[i];
}
enum { ORG, CONV, AXE, IND, COM, SEA, TER, FICHE, POSTE, DEMANDE };

/* clang-format off */
static const struct body_route routes[] = {
    {"POST",  "/api/v1/organisations%s",                     -1,   NULL},
    {"PATCH", "/api/v1/organisations/%s",                    ORG,  "/api/v1/organisations/%s"},
    {"POST",  "/api/v1/territoires%s",                       -1,   NULL},
    {"PATCH", "/api/v1/territoires/%s",                      TER,  "/api/v1/territoires/%s"},
    {"PATCH", "/api/v1/territoires/%s/plan-action",          TER,  "/api/v1/territoires/%s/plan-action"},
    {"POST",  "/api/v1/conventions%s",                       -1,   NULL},
    {"PATCH", "/api/v1/conventions/%s",                      CONV, "/api/v1/conventions/%s"},
    {"POST",  "/api/v1/conventions/%s/signatures",           CONV, "/api/v1/conventions/%s"},
    {"POST",  "/api/v1/conventions/%s/transitions",          CONV, "/api/v1/conventions/%s"},
    {"POST",  "/api/v1/conventions/%s/avenants",             CONV, "/api/v1/conventions/%s"},
    {"POST",  "/api/v1/territoires/%s/axes-strategiques",    TER,  NULL},
    {"PATCH", "/api/v1/axes-strategiques/%s",                AXE,  "/api/v1/axes-strategiques/%s"},
    {"POST",  "/api/v1/axes-strategiques/%s/indicateurs",    AXE,  NULL},
    {"PATCH", "/api/v1/indicateurs/%s",                      IND,  "/api/v1/indicateurs/%s"},
    {"POST",  "/api/v1/indicateurs/%s/mesures",              IND,  NULL},
    {"POST",  "/api/v1/comites%s",                           -1,   NULL},
    {"PATCH", "/api/v1/comites/%s",                          COM,  "/api/v1/comites/%s"},
    {"POST",  "/api/v1/comites/%s/seances",                  COM,  NULL},
    {"PATCH", "/api/v1/seances/%s",                          SEA,  "/api/v1/seances/%s"},
    {"POST",  "/api/v1/seances/%s/decisions",                SEA,  NULL},
    /* Issue 9 §1: fiches action */
    {"POST",  "/api/v1/fiches-action%s",                     -1,   NULL},
    {"PATCH", "/api/v1/fiches-action/%s",                    FICHE, "/api/v1/fiches-action/%s"},
    {"POST",  "/api/v1/fiches-action/%s/transitions",        FICHE, "/api/v1/fiches-action/%s"},
    /* — end of fiches action — */
    /* Issue 9 §2: financing plan and échéancier */
    {"PUT",   "/api/v1/fiches-action/%s/plan-financement",   FICHE, "/api/v1/fiches-action/%s"},
    {"POST",  "/api/v1/fiches-action/%s/plan-financement/lignes", FICHE, NULL},
    {"PUT",   "/api/v1/fiches-action/%s/echeancier",         FICHE, "/api/v1/fiches-action/%s"},
    /* — end of financing — */
    /* Issue 10 §1: programme parameters (If-Match: today's) */
    {"PUT",   "/api/v1/parametres%s",                        -1,   "/api/v1/parametres%s"},
    /* — end of programme parameters — */
    /* Issue 10 §2: postes de chef de projet (the year 2025 does not exist: no If-Match) */
    {"POST",  "/api/v1/postes-chef-de-projet%s",             -1,    NULL},
    {"PATCH", "/api/v1/postes-chef-de-projet/%s",            POSTE, "/api/v1/postes-chef-de-projet/%s"},
    {"PUT",   "/api/v1/postes-chef-de-projet/%s/annees/2025", POSTE, NULL},
    /* — end of postes de chef de projet — */
    /* Issue 10 §3: demandes de subvention */
    {"POST",  "/api/v1/demandes-subvention%s",               -1,   NULL},
    {"PATCH", "/api/v1/demandes-subvention/%s",              DEMANDE, "/api/v1/demandes-subvention/%s"},
    {"POST",  "/api/v1/demandes-subvention/%s/transitions",  DEMANDE, "/api/v1/demandes-subvention/%s"},
    {"POST",  "/api/v1/demandes-subvention/%s/versements",   DEMANDE, "/api/v1/demandes-subvention/%s"},
    {"POST",  "/api/v1/demandes-subvention/%s/prolongations", DEMANDE, "/api/v1/demandes-subvention/%s"},
    {"PUT",   "/api/v1/demandes-subvention/par-dossier-ds/9100000002%s", -1, NULL},
    /* — end of demandes de subvention — */
};
/* clang-format on */

Test(corps, every_body_route_refuses_bad_json_and_unknown_members_and_writes_nothing)
{
    struct fx_caller admin;
    struct fixture f;
    char before[WATCHED][600], after[WATCHED][600];
    fx_admin(&admin);
    make_fixture(&admin, &f);
    snapshot(&f, before);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct body_route *rt = &routes[i];
        char path[200], if_match[100] = "", etag[64];
        expand(path, sizeof path, rt->path, fixture_id(&f, rt->id));
        if (rt->if_match) {
            char target[200];
            expand(target, sizeof target, rt->if_match, fixture_id(&f, rt->id));
            fx_etag(target, etag);
            snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
        }
        struct http_response r;
        fx_call(&admin, rt->method, path, "{\"intitule\": ", if_match[0] ? if_match : NULL, &r);
        cr_assert_eq(r.status, 400, "%s %s, malformed JSON: " HTTP_BODY, rt->method, path, r.body);
        http_expect_problem(&r, 400, "json-invalide");
        http_response_release(&r);
        fx_call(&admin, rt->method, path, "{\"membre_inconnu\":1}", if_match[0] ? if_match : NULL,
                &r);
        cr_assert_eq(r.status, 400, "%s %s, unknown member: " HTTP_BODY, rt->method, path, r.body);
        fx_expect_error(&r, 400, "champs-invalides", "/membre_inconnu", "champ-inconnu");
        http_response_release(&r);
    }
    snapshot(&f, after);
    for (size_t i = 0; i < WATCHED; i++)
        cr_assert_str_eq(after[i], before[i], "watched object %zu changed", i);
}
