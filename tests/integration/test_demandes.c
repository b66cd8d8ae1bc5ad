/* Demandes de subvention over HTTP (issue #10 §3, domain.md §1.12, §2.4):
 * the lives of the acceptance — a DETR request deposited → instructed →
 * accepted → notified → commenced → soldée; an FNADT request left without
 * decision for 8 months → rejet_implicite (R30 applies to FNADT and the
 * Fonds vert, not DETR/DSIL: domain/demande.h); a DETR request never
 * commenced → caduque (R34). Dates are recorded in the past (dépôt nine
 * months ago…): the effective state is a function of the stored dates and
 * today, no clock is injected and nothing sleeps. Perimeter: a préfecture
 * of another département never sees the dossier; refusals (422 with regle,
 * code, pointer; 403; 409) write nothing (ETag and journal unchanged).
 *
 * R35 forclusion, a dispositif "autre" decided by its own financer (R16)
 * and an R34 extension that keeps a request out of caducité are tested
 * the same way; the last ages a request's stored dates in the database
 * (the time that passes after an extension recorded today), since the
 * service takes today from the clock.
 *
 * Test data: Marne (51) pvd-44-51-901 (Épernay 51230) and Haute-Marne (52)
 * pvd-44-52-901 (Chaumont 52121)… pvd-44-51-905 (Fère-Champenoise 51248),
 * pvd-44-51-906 (Fismes 51250), pvd-44-52-906 (Chalindrey 52093), used by
 * no other suite. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/private_server.h"

struct terr {
    struct fx_fiche_territoire t;
    struct fx_caller admin, elu, agent, prefecture, autre_prefecture;
    char fiche[37];
};

static void terr_init(struct terr *t, const char *id_pvd, const char *insee, const char *siren,
                      const char *siren_epci, const char *dep, const char *autre_dep)
{
    char perimetre[120];
    fx_fiche_territoire(id_pvd, insee, siren, siren_epci, "2025-01-15", &t->t);
    fx_admin(&t->admin);
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren);
    fx_caller_with(&t->elu, "collectivite_elu", perimetre);
    fx_caller_with(&t->agent, "collectivite_agent", perimetre);
    snprintf(perimetre, sizeof perimetre, "{\"departements\":[\"%s\"]}", dep);
    fx_caller_with(&t->prefecture, "prefecture_instructeur", perimetre);
    snprintf(perimetre, sizeof perimetre, "{\"departements\":[\"%s\"]}", autre_dep);
    fx_caller_with(&t->autre_prefecture, "prefecture_instructeur", perimetre);
    fx_fiche(&t->agent, &t->t, "D1", NULL, t->fiche, NULL);
}

/* A draft of dispositif d by the agent (201 asserted), addressed to the
 * organisation financeur (NULL: none): its id. */
static void draft_pour(struct terr *t, const char *dispositif, const char *financeur, char id[37])
{
    fx_demande(&t->agent, dispositif, t->t.commune_org, t->fiche, financeur, id);
}

static void draft(struct terr *t, const char *dispositif, char id[37])
{
    draft_pour(t, dispositif, NULL, id);
}

/* GET as c: the status, and the shown state into etat, the ETag into etag. */
static long show(const struct fx_caller *c, const char *id, char etat[32], char etag[64])
{
    char path[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    long status = r.status;
    if (etat)
        snprintf(etat, 32, "%s", status == 200 ? fx_str(r.json, "etat") : "");
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag") ? http_header(&r, "ETag") : "");
    http_response_release(&r);
    return status;
}

/* POST body to /api/v1/demandes-subvention/{id}/{suffix} as c with If-Match
 * the current ETag (read as c); expects status; the answer into out (NULL:
 * released). */
static void post_sous(const struct fx_caller *c, const char *id, const char *suffix,
                      const char *body, long status, struct http_response *out)
{
    char path[160], etag[64], ifm[100];
    show(c, id, NULL, etag);
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s/%s", id, suffix);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    struct http_response r;
    fx_call(c, "POST", path, body, ifm, &r);
    cr_assert_eq(r.status, status, "%s %s: " HTTP_BODY, suffix, body, r.body);
    if (out)
        *out = r;
    else
        http_response_release(&r);
}

/* POST a transition (body: JSON members after "vers") as c; expects status. */
static void move(const struct fx_caller *c, const char *id, const char *vers, const char *more,
                 long status, struct http_response *out)
{
    char body[1500];
    snprintf(body, sizeof body, "{\"vers\":\"%s\"%s%s}", vers, more ? "," : "", more ? more : "");
    post_sous(c, id, "transitions", body, status, out);
}

/* POST a prolongation as c; expects status. */
static void prolong(const struct fx_caller *c, const char *id, const char *body, long status,
                    struct http_response *out)
{
    post_sous(c, id, "prolongations", body, status, out);
}

/* The élu deposits id, dated `days` days ago (200 asserted). */
static void deposer(struct terr *t, const char *id, int days)
{
    char d[11], more[60];
    fx_day(-days, d);
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d);
    move(&t->elu, id, "depose", more, 200, NULL);
}

/* c may not take the edge to vers (more as move's): 403
 * transition-interdite at /vers. */
static void interdite(const struct fx_caller *c, const char *id, const char *vers, const char *more)
{
    struct http_response r;
    move(c, id, vers, more, 403, &r);
    fx_expect_error(&r, 403, "interdit", "/vers", "transition-interdite");
    http_response_release(&r);
}

static const char *MENTIONS =
    "\"decision\":{\"mentions\":{\"beneficiaires\":\"La commune\",\"objet\":\"Halles, 100 000 € "
    "HT\",\"montant_maximum\":\"30 000 €, 30 %\",\"calendrier\":\"Achèvement 2027\","
    "\"modalites_versement\":\"Avance 30 %, solde sur justificatifs\"}}";

Test(demandes, detr_deposee_instruite_accordee_notifiee_engagee_soldee)
{
    struct terr t;
    terr_init(&t, "pvd-44-51-901", "51230", "215102120", "200067684", "51", "52");
    char id[37], etat[32], d_depot[11], d_dec[11], d_notif[11], d_comm[11], d_ach[11], more[900];
    draft(&t, "DETR", id);
    { /* a title a spreadsheet would evaluate: neutralised in the open-data CSV */
        char path[120], etag[64], ifm[100];
        struct http_response pr;
        snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", id);
        show(&t.agent, id, NULL, etag);
        snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
        fx_call(&t.agent, "PATCH", path, "{\"intitule\":\"=SOMME(A1);Halles\"}", ifm, &pr);
        cr_assert_eq(pr.status, 200, HTTP_BODY, pr.body);
        http_response_release(&pr);
    }
    fx_day(-200, d_depot);
    fx_day(-150, d_dec);
    fx_day(-140, d_notif);
    fx_day(-100, d_comm);
    fx_day(-10, d_ach);
    /* the préfecture may not deposit: 403, nothing written */
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d_depot);
    move(&t.prefecture, id, "depose", more, 403, NULL);
    size_t journal = fx_journal_count("demande_subvention", id, "demande_subvention.transition");
    cr_assert_eq(journal, 0);
    struct http_response r;
    move(&t.elu, id, "depose", more, 200, &r);
    /* R37 (warning): Épernay has more than 20 000 inhabitants */
    cr_assert(strstr(r.body, "\"detr-commune-trop-peuplee\""), HTTP_BODY, r.body);
    http_response_release(&r);
    move(&t.prefecture, id, "en_instruction", NULL, 200, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "avertissements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    /* accordee without the five mentions: 422, nothing written */
    char before[64], after[64];
    show(&t.prefecture, id, etat, before);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000",
             d_dec);
    move(&t.prefecture, id, "accordee", more, 422, &r);
    cr_assert(strstr(r.body, "mention-decision-manquante"), HTTP_BODY, r.body);
    http_response_release(&r);
    show(&t.prefecture, id, etat, after);
    cr_assert_str_eq(before, after);
    cr_assert_str_eq(etat, "en_instruction");
    snprintf(more, sizeof more,
             "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000,"
             "\"taux_accorde\":3000,%s",
             d_dec, MENTIONS);
    move(&t.prefecture, id, "accordee", more, 200, NULL);
    snprintf(more, sizeof more, "\"date_notification\":\"%s\"", d_notif);
    move(&t.prefecture, id, "notifiee", more, 200, NULL);
    /* R31: a commencement before the dépôt is refused */
    char tot[11];
    fx_day(-300, tot);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", tot);
    move(&t.elu, id, "engagee", more, 422, &r);
    cr_assert(strstr(r.body, "R31"), HTTP_BODY, r.body);
    http_response_release(&r);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", d_comm);
    move(&t.elu, id, "engagee", more, 200, NULL);
    /* soldee needs the solde */
    move(&t.prefecture, id, "soldee", NULL, 422, NULL);
    char path[120], body[200], ifm[100], etag[64];
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s/versements", id);
    show(&t.prefecture, id, NULL, etag);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    /* more than granted: 422 */
    snprintf(body, sizeof body,
             "{\"type\":\"acompte\",\"date\":\"%s\",\"montant_centimes\":3000001}", d_ach);
    fx_call(&t.prefecture, "POST", path, body, ifm, &r);
    cr_assert_eq(r.status, 422, HTTP_BODY, r.body);
    http_response_release(&r);
    /* PATCH a non-draft: 409 */
    char ppath[120];
    snprintf(ppath, sizeof ppath, "/api/v1/demandes-subvention/%s", id);
    fx_call(&t.agent, "PATCH", ppath, "{\"intitule\":\"Autre\"}", ifm, &r);
    cr_assert_eq(r.status, 409, HTTP_BODY, r.body);
    http_response_release(&r);
    /* an acompte, then the solde with the declared achèvement */
    snprintf(body, sizeof body,
             "{\"type\":\"acompte\",\"date\":\"%s\",\"montant_centimes\":1000000}", d_comm);
    show(&t.prefecture, id, NULL, etag);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    fx_call(&t.prefecture, "POST", path, body, ifm, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"type\":\"solde\",\"date\":\"%s\",\"montant_centimes\":2000000,"
             "\"date_achevement_declaree\":\"%s\"}",
             d_ach, d_ach);
    show(&t.prefecture, id, NULL, etag);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    fx_call(&t.prefecture, "POST", path, body, ifm, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    move(&t.prefecture, id, "soldee", NULL, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "soldee", HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "transitions_possibles")), 0);
    http_response_release(&r);
    /* another département's préfecture does not see it */
    cr_assert_eq(show(&t.autre_prefecture, id, NULL, NULL), 404);
    /* the open data (no token): the granted subsidy in the SCDL layout */
    http_request("GET", "/api/v1/donnees-ouvertes/subventions.csv?departement=51&annee=2025", NULL,
                 NULL, 0, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    static const char head[] = "\xEF\xBB\xBFnomAttribuant;idAttribuant;dateConvention;";
    cr_assert(strncmp(r.body, head, sizeof head - 1) == 0, HTTP_BODY, r.body);
    char row[400];
    snprintf(
        row, sizeof row,
        ";\"'=SOMME(A1);Halles\";30000.00;aide en numéraire;échelonné;%s/%s;;non;1.00;DETR\r\n",
        d_comm, d_ach);
    cr_assert(strstr(r.body, row), "%s in " HTTP_BODY, row, r.body);
    cr_assert(strstr(r.body, d_dec), HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 6);
    /* the journal holds the representation, not the service's own "_" members */
    {
        struct fx_caller admin;
        struct http_response j;
        char jpath[200];
        size_t i;
        json_t *e;
        fx_admin(&admin);
        snprintf(jpath, sizeof jpath,
                 "/api/v1/journal?ressource_type=demande_subvention&ressource_id=%s", id);
        fx_call(&admin, "GET", jpath, NULL, NULL, &j);
        cr_assert_eq(j.status, 200, HTTP_BODY, j.body);
        json_array_foreach(json_object_get(j.json, "elements"), i, e)
        {
            cr_assert_not_null(json_object_get(json_object_get(e, "apres"), "id"), HTTP_BODY,
                               j.body);
            cr_assert_null(json_object_get(json_object_get(e, "apres"), "_delais"), HTTP_BODY,
                           j.body);
            cr_assert_null(json_object_get(json_object_get(e, "avant"), "_delais"), HTTP_BODY,
                           j.body);
        }
        http_response_release(&j);
    }
}

Test(demandes, fnadt_sans_decision_huit_mois_rejet_implicite)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-901", "52121", "215200833", "200068658", "52", "51");
    char id[37], etat[32], d[11], more[200];
    draft(&t, "FNADT", id);
    fx_day(-280, d); /* more than 8 months ago */
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d);
    move(&t.elu, id, "depose", more, 200, NULL);
    show(&t.prefecture, id, etat, NULL);
    cr_assert_str_eq(etat, "rejet_implicite");
    /* nobody takes the date-driven edge, and no decision after it */
    move(&t.prefecture, id, "en_instruction", NULL, 409, NULL);
    struct http_response r;
    fx_call(&t.prefecture, "GET",
            "/api/v1/demandes-subvention?etat=rejet_implicite&id_pvd=pvd-44-52-901", NULL, NULL,
            &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(strstr(r.body, id), HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.autre_prefecture, "GET", "/api/v1/demandes-subvention?id_pvd=pvd-44-52-901", NULL,
            NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_null(strstr(r.body, id), HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(demandes, detr_jamais_commencee_caduque)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-902", "52008", "215200080", "200069664", "52", "51");
    char id[37], etat[32], d_depot[11], d_dec[11], d_notif[11], more[900];
    draft(&t, "DETR", id);
    fx_day(-1000, d_depot);
    fx_day(-900, d_dec);
    fx_day(-800, d_notif); /* more than 2 years ago */
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d_depot);
    move(&t.elu, id, "depose", more, 200, NULL);
    move(&t.prefecture, id, "en_instruction", NULL, 200, NULL);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000,%s",
             d_dec, MENTIONS);
    move(&t.prefecture, id, "accordee", more, 200, NULL);
    snprintf(more, sizeof more, "\"date_notification\":\"%s\"", d_notif);
    struct http_response r;
    move(&t.prefecture, id, "notifiee", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "caduque", HTTP_BODY, r.body);
    http_response_release(&r);
    show(&t.elu, id, etat, NULL);
    cr_assert_str_eq(etat, "caduque");
    /* too late for the one-year extension (R34) */
    prolong(&t.prefecture, id, "{\"type\":\"caducite\",\"reference\":\"Arrêté 12\"}", 422, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/prolongation_caducite_reference",
                    "prolongation-hors-delai");
    http_response_release(&r);
    /* another, notified 600 days ago: still notifiee; extended once, by the préfecture */
    char id2[37], echeance[11];
    draft(&t, "DETR", id2);
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d_depot);
    move(&t.elu, id2, "depose", more, 200, NULL);
    move(&t.prefecture, id2, "en_instruction", NULL, 200, NULL);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000,%s",
             d_dec, MENTIONS);
    move(&t.prefecture, id2, "accordee", more, 200, NULL);
    fx_day(-600, d_notif);
    snprintf(more, sizeof more, "\"date_notification\":\"%s\"", d_notif);
    move(&t.prefecture, id2, "notifiee", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "notifiee", HTTP_BODY, r.body);
    snprintf(echeance, sizeof echeance, "%s",
             fx_str(json_object_get(r.json, "echeance"), "dernier_jour"));
    http_response_release(&r);
    prolong(&t.elu, id2, "{\"type\":\"caducite\",\"reference\":\"Arrêté 13\"}", 403, NULL);
    prolong(&t.prefecture, id2, "{\"type\":\"caducite\",\"mois\":3,\"reference\":\"A\"}", 400,
            NULL);
    prolong(&t.prefecture, id2, "{\"type\":\"caducite\",\"reference\":\"Arrêté 13\"}", 200, &r);
    const char *apres = fx_str(json_object_get(r.json, "echeance"), "dernier_jour");
    cr_assert(apres && strcmp(apres, echeance) > 0 && atoi(apres) == atoi(echeance) + 1,
              "%s then %s", echeance, apres);
    cr_assert_str_eq(fx_str(r.json, "prolongation_caducite_reference"), "Arrêté 13");
    http_response_release(&r);
    prolong(&t.prefecture, id2, "{\"type\":\"caducite\",\"reference\":\"Arrêté 14\"}", 422, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/prolongation_caducite_reference",
                    "prolongation-deja-accordee");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", id2, "demande_subvention.prolongation"), 1);
}

/* R38: a DSIL request is instructed by the préfecture de région, which sees
 * no other dispositif; the préfecture of the département reads it but may
 * not instruct it. A financer sees only the dossiers it finances. */
Test(demandes, dsil_prefecture_de_region_et_financeur)
{
    struct terr t;
    terr_init(&t, "pvd-44-51-903", "51612", "200077782", "200067684", "51", "52");
    struct fx_caller region, autre_region, financeur, autre_financeur;
    fx_caller_with(&region, "prefecture_region", "{\"regions\":[\"44\"]}");
    fx_caller_with(&autre_region, "prefecture_region", "{\"regions\":[\"27\"]}");
    fx_caller_with(&financeur, "financeur", "{\"sirens\":[\"130002009\"]}");
    fx_caller_with(&autre_financeur, "financeur", "{\"sirens\":[\"180020026\"]}");
    char fin[37], dsil[37], detr[37];
    fx_organisation("130002009", "operateur", "Financeur de la matrice", fin);
    draft(&t, "DETR", detr);
    draft_pour(&t, "DSIL", fin, dsil);
    cr_assert_eq(show(&region, dsil, NULL, NULL), 200);
    cr_assert_eq(show(&region, detr, NULL, NULL), 404);
    cr_assert_eq(show(&autre_region, dsil, NULL, NULL), 404);
    cr_assert_eq(show(&t.prefecture, dsil, NULL, NULL), 200);
    cr_assert_eq(show(&financeur, dsil, NULL, NULL), 200);
    cr_assert_eq(show(&financeur, detr, NULL, NULL), 404);
    cr_assert_eq(show(&autre_financeur, dsil, NULL, NULL), 404);
    deposer(&t, dsil, 20);
    struct http_response r;
    interdite(&t.prefecture, dsil, "en_instruction", NULL);
    move(&region, dsil, "en_instruction", NULL, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "en_instruction");
    /* DSIL: no R30 deadline; the region may decide */
    cr_assert(json_is_null(json_object_get(r.json, "echeance")), HTTP_BODY, r.body);
    http_response_release(&r);
    /* lists: each sees its own */
    fx_call(&region, "GET", "/api/v1/demandes-subvention?id_pvd=pvd-44-51-903", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, HTTP_BODY, r.body);
    cr_assert(strstr(r.body, dsil), HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&financeur, "GET", "/api/v1/demandes-subvention?dispositif=DSIL&annee=2025", NULL, NULL,
            &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.prefecture, "GET", "/api/v1/demandes-subvention?id_pvd=pvd-44-51-903", NULL, NULL,
            &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* Preconditions, bodies and drafts: If-Match required and checked, members
 * only with the edge that records them, a draft modified (journaled), a
 * deposited request no longer; the list's parameters checked. */
Test(demandes, preconditions_corps_et_brouillons)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-903", "52050", "215200338", "200068658", "52", "51");
    char id[37], etag[64], path[120], ifm[100], d[11];
    draft(&t, "FNADT", id);
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", id);
    struct http_response r;
    fx_call(&t.agent, "PATCH", path, "{\"intitule\":\"Halles couvertes\"}", NULL, &r);
    cr_assert_eq(r.status, 428, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.agent, "PATCH", path, "{\"intitule\":\"Halles couvertes\"}", "If-Match: \"perime\"",
            &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    show(&t.agent, id, NULL, etag);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    /* more asked than the subsidisable expense: 422, nothing written */
    fx_call(&t.agent, "PATCH", path, "{\"montant_sollicite_centimes\":20000000}", ifm, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/montant_sollicite_centimes",
                    "montant-invalide");
    http_response_release(&r);
    fx_call(&t.agent, "PATCH", path, "{\"intitule\":\"Halles couvertes\"}", ifm, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "intitule"), "Halles couvertes");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.modifier"), 1);
    /* a decision member with the deposit: 400 incoherent */
    fx_day(-5, d);
    char more[200];
    snprintf(more, sizeof more, "\"date_depot\":\"%s\",\"date_decision\":\"%s\"", d, d);
    move(&t.elu, id, "depose", more, 400, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/date_decision", "incoherent");
    http_response_release(&r);
    /* a deposit without its date: 422 date-manquante; a future one: date-future */
    move(&t.elu, id, "depose", NULL, 422, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/date_depot", "date-manquante");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 0);
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d);
    move(&t.elu, id, "depose", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "depose");
    /* R30's deadline shown: 8 months after the dépôt */
    const json_t *ech = json_object_get(r.json, "echeance");
    cr_assert_str_eq(fx_str(ech, "vers"), "rejet_implicite", HTTP_BODY, r.body);
    http_response_release(&r);
    show(&t.agent, id, NULL, etag);
    snprintf(ifm, sizeof ifm, "If-Match: %s", etag);
    fx_call(&t.agent, "PATCH", path, "{\"intitule\":\"Autre\"}", ifm, &r);
    fx_expect_error(&r, 409, "conflit", "", "demande-non-modifiable");
    http_response_release(&r);
    /* the chef de projet post's request: no fiche, its territoire and poste */
    char body[600], poste[37];
    snprintf(body, sizeof body,
             "{\"dispositif\":\"chef_de_projet_pvd\",\"id_pvd\":\"pvd-44-52-903\","
             "\"demandeur_id\":\"%s\",\"poste_id\":\"00000000-0000-4000-8000-000000000000\","
             "\"annee_programmation\":2025,\"intitule\":\"Cheffe de projet 2025\","
             "\"depense_subventionnable_ht_centimes\":6000000,"
             "\"montant_sollicite_centimes\":4500000}",
             t.t.commune_org);
    fx_call(&t.agent, "POST", "/api/v1/demandes-subvention", body, NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/poste_id", "poste-inconnu");
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"employeur_id\":\"%s\",\"territoires\":[\"pvd-44-52-903\"],"
             "\"quotite\":10000,\"date_recrutement\":\"2024-01-01\"}",
             t.t.commune_org);
    fx_create(&t.admin, "/api/v1/postes-chef-de-projet", body, poste, NULL);
    snprintf(body, sizeof body,
             "{\"dispositif\":\"chef_de_projet_pvd\",\"id_pvd\":\"pvd-44-52-903\","
             "\"demandeur_id\":\"%s\",\"poste_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Cheffe de projet 2025\","
             "\"depense_subventionnable_ht_centimes\":6000000,"
             "\"montant_sollicite_centimes\":4500000}",
             t.t.commune_org, poste);
    fx_call(&t.agent, "POST", "/api/v1/demandes-subvention", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "poste_id"), poste);
    cr_assert(json_is_null(json_object_get(r.json, "fiche_id")), HTTP_BODY, r.body);
    http_response_release(&r);
    /* R18: one non-terminal request per poste and year */
    fx_call(&t.agent, "POST", "/api/v1/demandes-subvention", body, NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/annee_programmation",
                    "demande-annee-deja-en-cours");
    cr_assert(strstr(r.body, "\"R18\""), HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.agent, "GET", "/api/v1/demandes-subvention?etat=inconnu", NULL, NULL, &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.agent, "GET", "/api/v1/demandes-subvention?annee=25", NULL, NULL, &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* The sweep stores the date-driven state once, journaled by
 * systeme:echeances; a second run changes nothing. */
Test(demandes, le_balayage_enregistre_le_rejet_implicite_une_fois)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-904", "52058", "215200395", "200068658", "52", "51");
    char id[37], path[120];
    draft(&t, "FNADT", id);
    deposer(&t, id, 300);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 1);
    /* The sweeps of three replicas at once, then one more: one change. */
    fx_run_echeances_concurrently(3);
    fx_run_echeances();
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 2);
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", id);
    struct http_response r;
    fx_call(&t.prefecture, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "etat_enregistre"), "rejet_implicite", HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "etat"), "rejet_implicite", HTTP_BODY, r.body);
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=demande_subvention&ressource_id=%s",
             id);
    fx_call(&t.admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    size_t systeme = 0, i;
    const json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        if (strcmp(fx_str(e, "acteur"), "systeme:echeances") == 0) {
            systeme++;
            cr_assert_str_eq(fx_str(json_object_get(e, "apres"), "etat_enregistre"),
                             "rejet_implicite");
        }
    }
    cr_assert_eq(systeme, 1, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* PUT …/par-dossier-ds/{numero}: deliveries of one DS dossier in any order,
 * retried, give the same request as in order; an older delivery changes
 * nothing (no journal row); a request past the DS states keeps its state. */
static long deliver(const struct fx_caller *c, const char *numero, const char *body, char etat[32])
{
    char path[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/par-dossier-ds/%s", numero);
    fx_call(c, "PUT", path, body, NULL, &r);
    long status = r.status;
    cr_assert(status == 200 || status == 201, "%s: " HTTP_BODY, body, r.body);
    if (etat)
        snprintf(etat, 32, "%s", fx_str(r.json, "etat"));
    http_response_release(&r);
    return status;
}

Test(demandes, livraisons_ds_melangees_jamais_a_rebours)
{
    struct terr t;
    terr_init(&t, "pvd-44-51-904", "51217", "215102013", "200066850", "51", "52");
    char d1[11], d3[11], b1[900], b2[900], b3[900], etat[32];
    fx_day(-40, d1);
    fx_day(-10, d3);
    snprintf(b1, sizeof b1,
             "{\"etat_ds\":\"en_construction\",\"ds_modifie_le\":\"%sT09:00:00Z\","
             "\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles (DS)\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000,\"date_depot\":\"%s\"}",
             d1, t.t.commune_org, t.fiche, d1);
    snprintf(b2, sizeof b2,
             "{\"etat_ds\":\"en_instruction\",\"ds_modifie_le\":\"%sT09:00:00+02:00\","
             "\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles (DS)\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000,\"date_accuse_reception\":\"%s\"}",
             d3, t.t.commune_org, t.fiche, d3);
    snprintf(b3, sizeof b3,
             "{\"etat_ds\":\"accepte\",\"ds_modifie_le\":\"%sT18:30:00Z\","
             "\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles (DS)\","
             "\"depense_subventionnable_ht_centimes\":10000000,"
             "\"montant_sollicite_centimes\":3000000,\"date_decision\":\"%s\","
             "\"montant_accorde_centimes\":2500000}",
             d3, t.t.commune_org, t.fiche, d3);
    /* shuffled: the newest first, then the older ones, then a retry */
    cr_assert_eq(deliver(&t.prefecture, "91000007", b3, etat), 201);
    cr_assert_str_eq(etat, "accordee");
    cr_assert_eq(deliver(&t.prefecture, "91000007", b1, etat), 200);
    cr_assert_str_eq(etat, "accordee");
    cr_assert_eq(deliver(&t.prefecture, "91000007", b2, etat), 200);
    cr_assert_str_eq(etat, "accordee");
    cr_assert_eq(deliver(&t.prefecture, "91000007", b3, etat), 200);
    /* in order, another dossier: the same end */
    cr_assert_eq(deliver(&t.prefecture, "91000008", b1, etat), 201);
    cr_assert_str_eq(etat, "depose");
    cr_assert_eq(deliver(&t.prefecture, "91000008", b2, etat), 200);
    cr_assert_str_eq(etat, "en_instruction");
    cr_assert_eq(deliver(&t.prefecture, "91000008", b1, etat), 200); /* late retry */
    cr_assert_str_eq(etat, "en_instruction");
    cr_assert_eq(deliver(&t.prefecture, "91000008", b3, etat), 200);
    cr_assert_str_eq(etat, "accordee");
    /* one journal row per applied delivery: 1 + 0 + 0 + 0, and 1 + 1 + 0 + 1 */
    struct http_response r;
    fx_call(&t.prefecture, "GET", "/api/v1/demandes-subvention?id_pvd=pvd-44-51-904", NULL, NULL,
            &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    const json_t *e;
    size_t i;
    char ids[2][37] = {"", ""};
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        long n = (long)json_integer_value(json_object_get(e, "ds_dossier_number"));
        snprintf(ids[n == 91000007 ? 0 : 1], 37, "%s", fx_str(e, "id"));
        cr_assert_eq(json_integer_value(json_object_get(e, "montant_accorde_centimes")), 2500000);
    }
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", ids[0], "demande_subvention.synchroniser"),
                 0);
    cr_assert_eq(fx_journal_count("demande_subvention", ids[1], "demande_subvention.synchroniser"),
                 2);
    /* the collectivité may not deliver; another département's préfecture does not see it */
    char path[120];
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/par-dossier-ds/91000008");
    fx_call(&t.agent, "PUT", path, b3, NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&t.autre_prefecture, "PUT", path, b3, NULL, &r);
    cr_assert_eq(r.status, 404, HTTP_BODY, r.body);
    http_response_release(&r);
    /* the préfecture de région delivers DSIL dossiers only (R38) */
    struct fx_caller region;
    fx_caller_with(&region, "prefecture_region", "{\"regions\":[\"44\"]}");
    fx_call(&region, "PUT", "/api/v1/demandes-subvention/par-dossier-ds/91000009", b1, NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    char *dsil = strstr(b1, "\"DETR\"");
    cr_assert(dsil);
    memcpy(dsil, "\"DSIL\"", 6);
    cr_assert_eq(deliver(&region, "91000009", b1, etat), 201);
    cr_assert_str_eq(etat, "depose");
}

/* R32 read inside the writing transaction: at the decision, the fiche's
 * public lines (autofinancement excluded) may not exceed the request's
 * subsidisable expense; refused with regle, code and pointer, nothing
 * written. */
Test(demandes, decision_refusee_par_r32_sur_le_plan_de_la_fiche)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-905", "52060", "215200403", "200070332", "52", "51");
    struct http_response r;
    char etat_org[37], fiche[37], id[37], d[11], more[900], body[900];
    fx_call(&t.admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Haute-Marne\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(etat_org, sizeof etat_org, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
    /* a fiche of 100 000 € HT: the commune's 20 000 €, DETR 40 000 €, FNADT 40 000 € */
    snprintf(more, sizeof more,
             "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": "
             "\"autofinancement\", \"nature_financeur\": \"public\", \"montant_centimes\": "
             "2000000, \"statut\": \"accorde\"}, {\"financeur_id\": \"%s\", \"dispositif\": "
             "\"DETR\", \"nature_financeur\": \"public\", \"montant_centimes\": 4000000, "
             "\"statut\": \"sollicite\"}, {\"financeur_id\": \"%s\", \"dispositif\": \"FNADT\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 4000000, \"statut\": "
             "\"sollicite\"}]",
             t.t.commune_org, etat_org, etat_org);
    fx_fiche(&t.agent, &t.t, "D2", more, fiche, NULL);
    /* a DETR request on half of it: the public aid (80 000 €) exceeds its 50 000 € */
    snprintf(body, sizeof body,
             "{\"dispositif\":\"DETR\",\"demandeur_id\":\"%s\",\"fiche_id\":\"%s\","
             "\"annee_programmation\":2025,\"intitule\":\"Halles, tranche 1\","
             "\"depense_subventionnable_ht_centimes\":5000000,"
             "\"montant_sollicite_centimes\":2000000}",
             t.t.commune_org, fiche);
    fx_create(&t.agent, "/api/v1/demandes-subvention", body, id, NULL);
    deposer(&t, id, 30);
    move(&t.prefecture, id, "en_instruction", NULL, 200, NULL);
    char before[64], after[64];
    show(&t.prefecture, id, NULL, before);
    fx_day(-5, d);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":2000000,%s",
             d, MENTIONS);
    move(&t.prefecture, id, "accordee", more, 422, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/plan_financement",
                    "aides-publiques-plafond-depasse");
    cr_assert(strstr(r.body, "\"R32\""), HTTP_BODY, r.body);
    http_response_release(&r);
    show(&t.prefecture, id, NULL, after);
    cr_assert_str_eq(before, after);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 2);
}

/* A DETR request of t taken to notifiee as the préfecture: deposited
 * depot days ago, decided decision days ago, notified notification days
 * ago; its id. */
static void detr_notifiee(struct terr *t, int depot, int decision, int notification, char id[37])
{
    char d[11], more[900];
    draft(t, "DETR", id);
    deposer(t, id, depot);
    move(&t->prefecture, id, "en_instruction", NULL, 200, NULL);
    fx_day(-decision, d);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000,%s",
             d, MENTIONS);
    move(&t->prefecture, id, "accordee", more, 200, NULL);
    fx_day(-notification, d);
    snprintf(more, sizeof more, "\"date_notification\":\"%s\"", d);
    move(&t->prefecture, id, "notifiee", more, 200, NULL);
}

/* POST …/versements as c with the current ETag: an acompte of montant
 * cents dated `days` days ago; expects status. */
static void verse(const struct fx_caller *c, const char *id, int days, long long montant,
                  long status, struct http_response *out)
{
    char body[200], d[11];
    fx_day(-days, d);
    snprintf(body, sizeof body, "{\"type\":\"acompte\",\"date\":\"%s\",\"montant_centimes\":%lld}",
             d, montant);
    post_sous(c, id, "versements", body, status, out);
}

/* Whether the list GET path (as c) names id. */
static bool listed(const struct fx_caller *c, const char *path, const char *id)
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    bool found = strstr(r.body, id) != NULL;
    http_response_release(&r);
    return found;
}

/* R35: a DETR request commenced more than 4 years ago (forclusion_annees)
 * without a declared achèvement is forclose on every read, in the list
 * filtered by etat, and receives no versement any more (nothing written);
 * its twin commenced 3 years ago is engagee and receives one. */
Test(demandes, detr_commencee_il_y_a_plus_de_quatre_ans_forclose)
{
    struct terr t;
    terr_init(&t, "pvd-44-51-905", "51248", "215102302", "245100979", "51", "52");
    char id[37], vivante[37], etat[32], before[64], after[64], d[11], more[200];
    struct http_response r;
    /* commenced 1 500 days ago (> 4 years), before the decision (R31 only needs the dépôt) */
    detr_notifiee(&t, 1600, 300, 200, id);
    fx_day(-1500, d);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", d);
    move(&t.elu, id, "engagee", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "forclose", HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(json_object_get(r.json, "echeance"), "vers"), "forclose", HTTP_BODY,
                     r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "transitions_possibles")), 0, HTTP_BODY,
                 r.body);
    http_response_release(&r);
    show(&t.prefecture, id, etat, before);
    cr_assert_str_eq(etat, "forclose");
    show(&t.elu, id, etat, NULL);
    cr_assert_str_eq(etat, "forclose");
    /* its twin, commenced 1 100 days ago: still engagee */
    detr_notifiee(&t, 1600, 300, 200, vivante);
    fx_day(-1100, d);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", d);
    move(&t.elu, vivante, "engagee", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "engagee", HTTP_BODY, r.body);
    http_response_release(&r);
    /* the filter by etat reads the effective state */
    cr_assert(listed(&t.prefecture,
                     "/api/v1/demandes-subvention?etat=forclose&id_pvd=pvd-44-51-905", id));
    cr_assert_not(listed(
        &t.prefecture, "/api/v1/demandes-subvention?etat=forclose&id_pvd=pvd-44-51-905", vivante));
    cr_assert_not(
        listed(&t.prefecture, "/api/v1/demandes-subvention?etat=engagee&id_pvd=pvd-44-51-905", id));
    cr_assert(listed(&t.prefecture, "/api/v1/demandes-subvention?etat=engagee&id_pvd=pvd-44-51-905",
                     vivante));
    /* no versement after the forclusion: 422 at /date, nothing written */
    verse(&t.prefecture, id, 5, 1000000, 422, &r);
    fx_expect_rule(&r, "R35", "/date", (const char *const[]){"versement-apres-forclusion", NULL});
    http_response_release(&r);
    show(&t.prefecture, id, etat, after);
    cr_assert_str_eq(after, before, "a forclosed request was written");
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.versement"), 0);
    /* no edge either (soldee is the instructor's, forclose the sweep's) */
    move(&t.prefecture, id, "soldee", NULL, 409, NULL);
    verse(&t.prefecture, vivante, 5, 1000000, 201, NULL);
    cr_assert_eq(fx_journal_count("demande_subvention", vivante, "demande_subvention.versement"),
                 1);
}

/* R16: a request of dispositif "autre" is instructed, decided, notified and
 * paid by the financer it is addressed to (financeur_id), not by the
 * préfecture (403 transition-interdite, 403 on versements); another
 * financer does not see it (404). */
Test(demandes, autre_decidee_et_versee_par_son_financeur)
{
    struct terr t;
    terr_init(&t, "pvd-44-51-906", "51250", "215102328", "200067213", "51", "52");
    struct fx_caller financeur, autre_financeur;
    fx_caller_with(&financeur, "financeur", "{\"sirens\":[\"130000003\"]}");
    fx_caller_with(&autre_financeur, "financeur", "{\"sirens\":[\"180000002\"]}");
    char fin[37], autre_fin[37], id[37], d[11], more[900], possibles[200];
    fx_organisation("130000003", "operateur", "Fondation des halles", fin);
    fx_organisation("180000002", "operateur", "Autre fondation", autre_fin);
    draft_pour(&t, "autre", fin, id);
    cr_assert_eq(show(&financeur, id, NULL, NULL), 200);
    cr_assert_eq(show(&autre_financeur, id, NULL, NULL), 404);
    deposer(&t, id, 60);
    struct http_response r;
    /* the préfecture may not instruct it, another financer does not find it */
    interdite(&t.prefecture, id, "en_instruction", NULL);
    move(&autre_financeur, id, "en_instruction", NULL, 404, NULL);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 1);
    move(&financeur, id, "en_instruction", NULL, 200, &r);
    possibles[0] = '\0';
    size_t i, len = 0;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "transitions_possibles"), i, e)
    {
        len += (size_t)snprintf(possibles + len, sizeof possibles - len, "%s%s", i ? "," : "",
                                json_string_value(e));
    }
    cr_assert_str_eq(possibles, "depose,accordee,refusee,classee_sans_suite", HTTP_BODY, r.body);
    http_response_release(&r);
    /* the decision is the financer's */
    fx_day(-30, d);
    snprintf(more, sizeof more, "\"date_decision\":\"%s\",\"montant_accorde_centimes\":3000000,%s",
             d, MENTIONS);
    interdite(&t.prefecture, id, "accordee", more);
    move(&financeur, id, "accordee", more, 200, NULL);
    fx_day(-20, d);
    snprintf(more, sizeof more, "\"date_notification\":\"%s\"", d);
    move(&t.prefecture, id, "notifiee", more, 403, NULL);
    move(&financeur, id, "notifiee", more, 200, NULL);
    fx_day(-10, d);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", d);
    move(&t.elu, id, "engagee", more, 200, NULL);
    /* its payments too */
    verse(&t.prefecture, id, 5, 1000000, 403, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    verse(&autre_financeur, id, 5, 1000000, 404, NULL);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.versement"), 0);
    verse(&financeur, id, 5, 1000000, 201, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "versements")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.versement"), 1);
    cr_assert_eq(fx_journal_count("demande_subvention", id, "demande_subvention.transition"), 5);
}

/* Moves every stored date of request id `days` days back, as if `days`
 * days had passed (the service reads today from the clock). */
static void vieillir(const char *id, int days)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    char n[16];
    snprintf(n, sizeof n, "%d", days);
    const char *params[] = {id, n};
    PGresult *res = PQexecParams(
        db,
        "UPDATE demandes_subvention SET date_depot = date_depot - $2::int, "
        "date_accuse_reception = date_accuse_reception - $2::int, "
        "date_dossier_complet = date_dossier_complet - $2::int, "
        "date_commencement_execution = date_commencement_execution - $2::int, "
        "date_decision = date_decision - $2::int, "
        "date_notification = date_notification - $2::int, "
        "date_achevement_declaree = date_achevement_declaree - $2::int WHERE id = $1::uuid",
        2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(db));
    cr_assert_str_eq(PQcmdTuples(res), "1");
    PQclear(res);
    PQfinish(db);
}

/* R34: the one-year extension, recorded while the 2 years after the
 * notification run, keeps the request notifiee once they have passed (its
 * twin without it is caduque), and a commencement in the added year is
 * accepted. */
Test(demandes, prolongation_avant_echeance_evite_la_caducite)
{
    struct terr t;
    terr_init(&t, "pvd-44-52-906", "52093", "215200650", "200070332", "52", "51");
    char prolongee[37], jumelle[37], etat[32], d[11], more[200];
    detr_notifiee(&t, 700, 690, 680, prolongee);
    detr_notifiee(&t, 700, 690, 680, jumelle);
    prolong(&t.prefecture, prolongee, "{\"type\":\"caducite\",\"reference\":\"Arrêté 21\"}", 200,
            NULL);
    /* 100 days later: notified 780 days ago, more than 2 years */
    vieillir(prolongee, 100);
    vieillir(jumelle, 100);
    show(&t.elu, jumelle, etat, NULL);
    cr_assert_str_eq(etat, "caduque");
    show(&t.elu, prolongee, etat, NULL);
    cr_assert_str_eq(etat, "notifiee");
    cr_assert(listed(&t.prefecture,
                     "/api/v1/demandes-subvention?etat=notifiee&id_pvd=pvd-44-52-906", prolongee));
    cr_assert_not(listed(
        &t.prefecture, "/api/v1/demandes-subvention?etat=caduque&id_pvd=pvd-44-52-906", prolongee));
    cr_assert(listed(&t.prefecture, "/api/v1/demandes-subvention?etat=caduque&id_pvd=pvd-44-52-906",
                     jumelle));
    fx_day(-1, d);
    snprintf(more, sizeof more, "\"date_commencement_execution\":\"%s\"", d);
    move(&t.elu, jumelle, "engagee", more, 409, NULL);
    struct http_response r;
    move(&t.elu, prolongee, "engagee", more, 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "engagee", HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ---- The filing deadline's warning, on a server of its own ------------------- *
 * The deadlines are parameters (dates_limites_depot), read from the version
 * in force on the day of the dépôt. Other suites read today's parameters
 * concurrently from the suite's database, so no version may take effect
 * today there: this test starts its own pvd-api on a database of its own
 * (tests/support/private_server.h), publishes a version taking effect today
 * with a deadline 10 days ago, and deposits there. Test data: Lot-et-Garonne (47) pvd-75-47-902
 * (Miramont-de-Guyenne 47168), used by no other suite. */
#define PRIVE_DB "pvd_it_dates_limites"

/* The warning of code in a deposit's answer (NULL: none). */
static const json_t *avertissement(const struct http_response *r, const char *code)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(r->json, "avertissements"), i,
                       w) if (strcmp(fx_str(w, "code"), code) == 0) return w;
    return NULL;
}

/* The deadlines of the test (private_server_publish_today's edit): limite
 * (YYYY-MM-DD) for DETR 2025 in the 47 and the Fonds vert 2025 everywhere,
 * today for DETR 2025 in the 33. */
static void dates_limites(json_t *doc, void *limite)
{
    char today[11];
    fx_day(0, today);
    json_t *l = json_object_get(doc, "dates_limites_depot");
    json_array_append_new(l, json_pack("{sssissss}", "dispositif", "DETR", "annee", 2025,
                                       "code_departement", "47", "date_limite", (char *)limite));
    json_array_append_new(l, json_pack("{sssissss}", "dispositif", "fonds_vert_recyclage_foncier",
                                       "annee", 2025, "code_departement", "", "date_limite",
                                       (char *)limite));
    json_array_append_new(l, json_pack("{sssissss}", "dispositif", "DETR", "annee", 2025,
                                       "code_departement", "33", "date_limite", today));
}

Test(demandes, depot_apres_la_date_limite_averti, .timeout = 180)
{
    pid_t server = private_server_start(PRIVE_DB);
    struct http_response r;
    char limite[11], d[11], more[80], after[37], on[37], vert[37];

    /* today's parameters plus the deadlines: DETR 2025 in the 47 and, for every
     * département, the Fonds vert 2025, 10 days ago; DETR 2025 in the 33 today */
    fx_day(-10, limite);
    private_server_publish_today(dates_limites, limite);

    struct terr t;
    terr_init(&t, "pvd-75-47-902", "47168", "214701682", "244700464", "47", "33");
    draft(&t, "DETR", after);
    draft(&t, "DETR", on);
    draft(&t, "fonds_vert_recyclage_foncier", vert);

    /* deposited 5 days ago, after the 47's deadline: accepted, with the warning */
    fx_day(-5, d);
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d);
    move(&t.elu, after, "depose", more, 200, &r);
    const json_t *w = avertissement(&r, "depot-apres-date-limite");
    cr_assert_not_null(w, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(w, "regle"), "");
    cr_assert_str_eq(fx_str(w, "pointeur"), "/date_depot");
    cr_assert_not_null(strstr(fx_str(w, "message"), limite), "%s", fx_str(w, "message"));
    cr_assert_str_eq(fx_str(r.json, "etat"), "depose", HTTP_BODY, r.body);
    http_response_release(&r);
    /* deposited on the deadline: no warning */
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", limite);
    move(&t.elu, on, "depose", more, 200, &r);
    cr_assert_null(avertissement(&r, "depot-apres-date-limite"), HTTP_BODY, r.body);
    http_response_release(&r);
    /* the Fonds vert's national deadline: R39 */
    snprintf(more, sizeof more, "\"date_depot\":\"%s\"", d);
    move(&t.elu, vert, "depose", more, 200, &r);
    w = avertissement(&r, "depot-apres-date-limite");
    cr_assert_not_null(w, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(w, "regle"), "R39");
    http_response_release(&r);
    /* a later read carries no warning: it is the deposit's */
    char path[120];
    snprintf(path, sizeof path, "/api/v1/demandes-subvention/%s", after);
    fx_call(&t.elu, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "avertissements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    private_server_stop(server, PRIVE_DB);
}
