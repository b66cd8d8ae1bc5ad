/* The states of a fiche action over HTTP (issue #9 §1, domain.md §2.3):
 * POST /api/v1/fiches-action/{id}/transitions. Each refusal of R23–R28 and
 * of the commencement / achèvement checks with its code, regle and pointer,
 * and nothing written (the fiche's ETag and its journal unchanged); the
 * refusals of the edge itself (409 transition-invalide, 403
 * transition-interdite), of the precondition (428 / 412) and of the body;
 * and the whole life of a fiche, drafted → examined in séance → financed →
 * programmée → en cours → (suspendue → en cours) → réalisée, with its
 * transitions_possibles at each step.
 *
 * Test data: Hautes-Alpes (05, région 93), one territoire per test
 * (pvd-93-05-903 to -908: Tallard, Veynes, Laragne-Montéglin, Neffes,
 * Espinasses, Sigoyer; -911 La Freissinouse for a fiche of another
 * territoire), used by no other suite; only -904 and -905 get a signed
 * adhésion (R26 refuses in -907). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

/* A territoire ready for fiches, its callers and an État organisation. */
struct terr {
    struct fx_fiche_territoire t;
    struct fx_caller admin, agent, elu, prefecture;
    char etat[37];
    char seance_date[11];
};

static void terr_init(struct terr *t, const char *id_pvd, const char *insee, const char *siren,
                      const char *siren_epci)
{
    char perimetre[120];
    struct http_response r;
    fx_day(-30, t->seance_date);
    fx_fiche_territoire(id_pvd, insee, siren, siren_epci, t->seance_date, &t->t);
    fx_admin(&t->admin);
    snprintf(perimetre, sizeof perimetre, "{\"sirens\":[\"%s\"]}", siren);
    fx_caller_with(&t->agent, "collectivite_agent", perimetre);
    fx_caller_with(&t->elu, "collectivite_elu", perimetre);
    fx_caller_with(&t->prefecture, "prefecture_instructeur", "{\"departements\":[\"05\"]}");
    fx_call(&t->admin, "POST", "/api/v1/organisations",
            "{\"nature\":\"etat\",\"nom\":\"Préfecture des Hautes-Alpes\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(t->etat, sizeof t->etat, "%s", fx_str(r.json, "id"));
    http_response_release(&r);
}

struct fiche {
    char id[37], etag[64];
};

/* The members of a fiche ready to be programmed (cost HT 100 000 €): the
 * past séance, planned dates, a balanced plan (the commune's own 30 000 €
 * and the État's DETR 70 000 €, both accordés) and a balanced échéancier.
 * `without` names one part to leave out or unbalance: "dates", "plan"
 * (none), "desequilibre" (the DETR line 60 000 €), "echeancier" (one year
 * of 40 000 €), "ttc" (a plan on the TTC base without TTC cost), NULL:
 * nothing. */
static void extra_programmable(const struct terr *t, const char *without, const char *more,
                               char *out, size_t size)
{
    char plan[800], dates[120], ech[200], base[60] = "";
    bool w_dates = without && strcmp(without, "dates") == 0;
    bool w_plan = without && strcmp(without, "plan") == 0;
    bool deseq = without && strcmp(without, "desequilibre") == 0;
    bool w_ech = without && strcmp(without, "echeancier") == 0;
    bool ttc = without && strcmp(without, "ttc") == 0;
    if (w_plan)
        snprintf(plan, sizeof plan, "\"plan_financement\": []");
    else
        snprintf(plan, sizeof plan,
                 "\"plan_financement\": [{\"financeur_id\": \"%s\", \"dispositif\": "
                 "\"autofinancement\", \"nature_financeur\": \"public\", \"montant_centimes\": "
                 "3000000, \"statut\": \"accorde\"}, {\"financeur_id\": \"%s\", \"dispositif\": "
                 "\"DETR\", \"nature_financeur\": \"public\", \"montant_centimes\": %s, "
                 "\"statut\": \"accorde\"}]",
                 t->t.commune_org, t->etat, deseq ? "6000000" : "7000000");
    if (w_dates)
        dates[0] = '\0';
    else
        snprintf(dates, sizeof dates,
                 "\"date_debut_prevue\": \"2026-01-01\", \"date_fin_prevue\": \"2027-12-31\", ");
    snprintf(ech, sizeof ech,
             "\"echeancier\": [{\"annee\": 2026, \"montant_centimes\": 4000000}%s]",
             w_ech ? "" : ", {\"annee\": 2027, \"montant_centimes\": 6000000}");
    if (ttc)
        snprintf(base, sizeof base, ", \"base_financement\": \"ttc\"");
    snprintf(out, size, "\"comite_seance_id\": \"%s\", %s%s, %s%s%s%s", t->t.seance, dates, plan,
             ech, base, more ? ", " : "", more ? more : "");
}

static void fiche_new(const struct terr *t, const char *numero, const char *extra, struct fiche *f)
{
    fx_fiche(&t->agent, &t->t, numero, extra, f->id, f->etag);
}

/* POST …/transitions as c with f's ETag (if_match NULL: none, "" : f's);
 * asserts the status; on 200 f's ETag follows. */
static void transition(const struct fx_caller *c, struct fiche *f, const char *body,
                       const char *if_match, long want, struct http_response *r)
{
    char path[160], header[120];
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s/transitions", f->id);
    if (if_match)
        snprintf(header, sizeof header, "If-Match: %s", if_match[0] ? if_match : f->etag);
    fx_call(c, "POST", path, body, if_match ? header : NULL, r);
    cr_assert_eq(r->status, want, "%s: " HTTP_BODY, body, r->body);
    if (r->status == 200) {
        cr_assert_not_null(http_header(r, "ETag"));
        snprintf(f->etag, sizeof f->etag, "%s", http_header(r, "ETag"));
    }
}

static void transition_ok(const struct fx_caller *c, struct fiche *f, const char *body,
                          const char *etat)
{
    struct http_response r;
    transition(c, f, body, "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), etat, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* 422 regle-non-respectee whose erreurs are exactly `count` items, one of
 * which is (code, pointer), and whose regle is `regle` (NULL: no regle). */
static void expect_rule(const struct http_response *r, const char *regle, const char *code,
                        const char *pointer, size_t count)
{
    http_expect_problem(r, 422, "regle-non-respectee");
    cr_assert_eq(json_array_size(json_object_get(r->json, "erreurs")), count, HTTP_BODY, r->body);
    cr_assert_not_null(fx_item(r, code, pointer), "no %s at %s: " HTTP_BODY, code, pointer,
                       r->body);
    if (regle)
        cr_assert_str_eq(fx_str(r->json, "regle"), regle, HTTP_BODY, r->body);
    else
        cr_assert_null(json_object_get(r->json, "regle"), HTTP_BODY, r->body);
}

/* The fiche as it is now, read as the administrator: its ETag equals f's
 * (nothing written since) and its state is etat. */
static void expect_unchanged(const struct fiche *f, const char *etat)
{
    char path[120];
    struct http_response r;
    struct fx_caller admin;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", f->id);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "ETag"), f->etag, "the fiche was written");
    cr_assert_str_eq(fx_str(r.json, "etat"), etat);
    http_response_release(&r);
}

static size_t transitions_journal(const struct fiche *f)
{
    return fx_journal_count("fiche_action", f->id, "fiche_action.transition");
}

/* A refused transition: the answer r (status want), nothing written. */
static void refused(const struct fx_caller *c, struct fiche *f, const char *body, long want,
                    const char *etat, struct http_response *r)
{
    size_t before = transitions_journal(f);
    transition(c, f, body, "", want, r);
    expect_unchanged(f, etat);
    cr_assert_eq(transitions_journal(f), before, "a journal row for a refusal");
}

/* f's transitions_possibles for c, as "a,b" (empty: none), read through
 * GET /fiches-action/{id}. */
static void possibles(const struct fx_caller *c, const struct fiche *f, char *out, size_t size)
{
    char path[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s", f->id);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    out[0] = '\0';
    size_t i, len = 0;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "transitions_possibles"), i, e)
    {
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", json_string_value(e));
    }
    http_response_release(&r);
}

static void expect_possibles(const struct fx_caller *c, const struct fiche *f, const char *want)
{
    char got[200];
    possibles(c, f, got, sizeof got);
    cr_assert_str_eq(got, want, "transitions_possibles");
}

/* A décision of the séance (POST /seances/{id}/decisions) about the
 * fiche: its id into out. */
static void decision(const struct terr *t, const char *seance, const char *fiche, const char *type,
                     char out[37])
{
    char path[160], body[300], etag[64];
    snprintf(path, sizeof path, "/api/v1/seances/%.36s/decisions", seance);
    snprintf(body, sizeof body,
             "{\"type\":\"%s\",\"objet\":\"Décision du comité\",\"fiche_action_id\":\"%s\"}", type,
             fiche);
    fx_create(&t->admin, path, body, out, etag);
}

/* ---- Tests ---------------------------------------------------------------- */

Test(fiches_transitions, the_edge_the_role_the_precondition_and_the_body, .timeout = 120)
{
    struct terr terr;
    struct terr *t = &terr;
    terr_init(t, "pvd-93-05-903", "05170", "210501706", "200067825");
    struct fiche f;
    struct http_response r;
    char extra[200];
    snprintf(extra, sizeof extra, "\"comite_seance_id\": \"%.36s\"", t->t.seance);
    fiche_new(t, "E-1", extra, &f);
    expect_possibles(&t->elu, &f, "en_maturation,abandonnee");
    expect_possibles(&t->agent, &f, "");
    expect_possibles(&t->prefecture, &f, "");

    /* no such edge: 409, the detail lists the caller's */
    refused(&t->elu, &f, "{\"vers\":\"realisee\"}", 409, "brouillon", &r);
    fx_expect_error(&r, 409, "conflit", "/vers", "transition-invalide");
    cr_assert(strstr(fx_str(r.json, "detail"), "en_maturation, abandonnee"), HTTP_BODY, r.body);
    http_response_release(&r);
    /* a comité edge asked by an agent: 403 transition-interdite */
    refused(&t->agent, &f, "{\"vers\":\"en_maturation\"}", 403, "brouillon", &r);
    fx_expect_error(&r, 403, "interdit", "/vers", "transition-interdite");
    http_response_release(&r);
    /* a préfecture never moves a fiche (authz: 403 before the edge) */
    refused(&t->prefecture, &f, "{\"vers\":\"en_maturation\"}", 403, "brouillon", &r);
    fx_expect_error(&r, 403, "interdit", NULL, NULL);
    http_response_release(&r);

    /* If-Match: required, and current */
    transition(&t->elu, &f, "{\"vers\":\"en_maturation\"}", NULL, 428, &r);
    fx_expect_error(&r, 428, "precondition-requise", NULL, NULL);
    http_response_release(&r);
    transition(&t->elu, &f, "{\"vers\":\"en_maturation\"}", "\"perimee\"", 412, &r);
    fx_expect_error(&r, 412, "precondition-echouee", NULL, NULL);
    cr_assert_str_eq(http_header(&r, "ETag"), f.etag);
    http_response_release(&r);
    expect_unchanged(&f, "brouillon");

    /* changed while the transition waited for its lock: 412, the current ETag */
    {
        char path[160], header[120], current[64];
        snprintf(path, sizeof path, "/api/v1/fiches-action/%s/transitions", f.id);
        snprintf(header, sizeof header, "If-Match: %s", f.etag);
        fx_call_while_held(&t->elu, "POST", path, "{\"vers\":\"en_maturation\"}", header,
                           "UPDATE fiches_action SET revision = revision + 1, intitule = "
                           "'Halles (changées)' WHERE id = $1::uuid",
                           f.id, &r);
        fx_expect_stale(&r, "pendant votre requête", current);
        http_response_release(&r);
        cr_assert_str_neq(current, f.etag);
        snprintf(f.etag, sizeof f.etag, "%s", current);
        expect_unchanged(&f, "brouillon");
    }

    /* bodies */
    refused(&t->elu, &f, "{}", 400, "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/vers", "champ-requis");
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"nulle_part\"}", 400, "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/vers", "valeur-inconnue");
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\",\"couleur\":\"bleu\"}", 400, "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/couleur", "champ-inconnu");
    http_response_release(&r);
    refused(&t->elu, &f,
            "{\"vers\":\"en_maturation\",\"decision_id\":\"0f6d1c2e-4b7a-4e21-9a3d-5c8b7e6f1a20\"}",
            400, "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/decision_id", "incoherent");
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"abandonnee\",\"decision_id\":\"pas-un-uuid\"}", 400,
            "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/decision_id", NULL);
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\",\"date_commencement\":\"2026-02-30\"}", 400,
            "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/date_commencement", NULL);
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\",\"date_achevement\":\"2026-02-03\"}", 400,
            "brouillon", &r);
    fx_expect_error(&r, 400, "champs-invalides", "/date_achevement", "incoherent");
    http_response_release(&r);

    /* the élu takes the comité's edge: examined in a past séance */
    size_t before = transitions_journal(&f);
    transition(&t->elu, &f, "{\"vers\":\"en_maturation\"}", "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "en_maturation");
    cr_assert_str_eq(fx_str(r.json, "maturite"), "en_maturation");
    http_response_release(&r);
    cr_assert_eq(transitions_journal(&f), before + 1);
    expect_possibles(&t->agent, &f, "programmee");
    expect_possibles(&t->elu, &f, "programmee,abandonnee");
}

Test(fiches_transitions, r23_leaving_brouillon_needs_a_past_seance, .timeout = 120)
{
    struct terr terr;
    struct terr *t = &terr;
    terr_init(t, "pvd-93-05-906", "05092", "210500922", "200067825");
    struct fiche f;
    struct http_response r;
    fiche_new(t, "R23-1", NULL, &f);
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\"}", 422, "brouillon", &r);
    expect_rule(&r, "R23", "examen-comite-manquant", "/comite_seance_id", 1);
    http_response_release(&r);

    /* examined only in a séance to come */
    char path[160], body[80], future[11], seance[37], etag[64], extra[120];
    fx_day(20, future);
    snprintf(path, sizeof path, "/api/v1/comites/%.36s/seances", t->t.comite);
    snprintf(body, sizeof body, "{\"date\":\"%s\"}", future);
    fx_create(&t->admin, path, body, seance, etag);
    snprintf(extra, sizeof extra, "\"comite_seance_id\": \"%s\"", seance);
    fiche_new(t, "R23-2", extra, &f);
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\"}", 422, "brouillon", &r);
    expect_rule(&r, "R23", "examen-comite-posterieur", "/comite_seance_id", 1);
    http_response_release(&r);
    /* a décision of the past séance about the fiche examined it too */
    struct fiche g;
    char valide[37];
    fiche_new(t, "R23-3", NULL, &g);
    decision(t, t->t.seance, g.id, "valide_fiche", valide);
    transition_ok(&t->elu, &g, "{\"vers\":\"en_maturation\"}", "en_maturation");
    /* a décision names a fiche of its comité's territoire only */
    struct fx_fiche_territoire autre;
    char other[37], dpath[160], dbody[300];
    fx_fiche_territoire("pvd-93-05-911", "05059", "210500591", "200067825", t->seance_date, &autre);
    fx_fiche(&t->admin, &autre, "X-1", NULL, other, NULL);
    snprintf(dpath, sizeof dpath, "/api/v1/seances/%.36s/decisions", t->t.seance);
    snprintf(dbody, sizeof dbody,
             "{\"type\":\"valide_fiche\",\"objet\":\"Hors territoire\",\"fiche_action_id\":"
             "\"%s\"}",
             other);
    fx_call(&t->admin, "POST", dpath, dbody, NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/fiche_action_id",
                    "reference-hors-territoire");
    http_response_release(&r);
    fx_call(&t->admin, "POST", dpath,
            "{\"type\":\"valide_fiche\",\"objet\":\"Inconnue\",\"fiche_action_id\":"
            "\"0f6d1c2e-4b7a-4e21-9a3d-5c8b7e6f1a20\"}",
            NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/fiche_action_id", "reference-inconnue");
    http_response_release(&r);
    fx_call(&t->admin, "POST", dpath,
            "{\"type\":\"valide_fiche\",\"objet\":\"Mal formé\",\"fiche_action_id\":\"x\"}", NULL,
            &r);
    fx_expect_error(&r, 400, "champs-invalides", "/fiche_action_id", NULL);
    http_response_release(&r);

    /* abandon from brouillon also needs R23 (besides R28) */
    refused(&t->elu, &f, "{\"vers\":\"abandonnee\",\"motif\":\"Hors budget\"}", 422, "brouillon",
            &r);
    cr_assert_not_null(fx_item(&r, "examen-comite-posterieur", "/comite_seance_id"), HTTP_BODY,
                       r.body);
    cr_assert_not_null(fx_item(&r, "decision-abandon-manquante", "/decision_id"), HTTP_BODY,
                       r.body);
    http_response_release(&r);
}

/* A fiche of t brought to en_maturation by the élu. */
static void fiche_en_maturation(const struct terr *t, const char *numero, const char *without,
                                const char *more, struct fiche *f)
{
    char extra[1600];
    extra_programmable(t, without, more, extra, sizeof extra);
    fiche_new(t, numero, extra, f);
    transition_ok(&t->elu, f, "{\"vers\":\"en_maturation\"}", "en_maturation");
}

Test(fiches_transitions, r24_r25_r27_becoming_programmee, .timeout = 120)
{
    struct terr terr;
    struct terr *t = &terr;
    terr_init(t, "pvd-93-05-907", "05050", "210500500", "200067320");
    struct fiche f;
    struct http_response r;
    const char *prog = "{\"vers\":\"programmee\"}";

    fiche_en_maturation(t, "R24-1", "plan", NULL, &f);
    refused(&t->agent, &f, prog, 422, "en_maturation", &r);
    /* no line, and so nothing reaches the cost either */
    expect_rule(&r, "R24", "plan-financement-vide", "/plan_financement", 2);
    cr_assert_not_null(fx_item(&r, "plan-financement-desequilibre", "/plan_financement"));
    http_response_release(&r);

    fiche_en_maturation(t, "R24-2", "desequilibre", NULL, &f);
    refused(&t->agent, &f, prog, 422, "en_maturation", &r);
    expect_rule(&r, "R24", "plan-financement-desequilibre", "/plan_financement", 1);
    cr_assert(
        strstr(json_string_value(json_object_get(
                   fx_item(&r, "plan-financement-desequilibre", "/plan_financement"), "message")),
               "10\xc2\xa0"
               "000,00"),
        "the gap in euros: " HTTP_BODY, r.body);
    http_response_release(&r);

    fiche_en_maturation(t, "R24-3", "ttc", NULL, &f);
    refused(&t->agent, &f, prog, 422, "en_maturation", &r);
    cr_assert_not_null(fx_item(&r, "cout-ttc-manquant", "/cout_total_ttc_centimes"), HTTP_BODY,
                       r.body);
    cr_assert_str_eq(fx_str(r.json, "regle"), "R24");
    http_response_release(&r);

    fiche_en_maturation(t, "R27-1", "echeancier", NULL, &f);
    refused(&t->agent, &f, prog, 422, "en_maturation", &r);
    expect_rule(&r, "R27", "echeancier-desequilibre", "/echeancier", 1);
    http_response_release(&r);

    fiche_en_maturation(t, "R25-1", "dates", NULL, &f);
    refused(&t->agent, &f, prog, 422, "en_maturation", &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    cr_assert_eq(json_array_size(json_object_get(r.json, "erreurs")), 2, HTTP_BODY, r.body);
    cr_assert_not_null(fx_item(&r, "date-prevue-manquante", "/date_debut_prevue"), HTTP_BODY,
                       r.body);
    cr_assert_not_null(fx_item(&r, "date-prevue-manquante", "/date_fin_prevue"), HTTP_BODY, r.body);
    http_response_release(&r);

    /* everything holds: programmée, prête */
    fiche_en_maturation(t, "P-1", NULL, NULL, &f);
    transition(&t->agent, &f, prog, "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "programmee");
    cr_assert_str_eq(fx_str(r.json, "maturite"), "prete");
    http_response_release(&r);

    /* R26: no adhésion signed in this territoire */
    char body[120], today[11];
    fx_day(0, today);
    snprintf(body, sizeof body, "{\"vers\":\"en_cours\",\"date_commencement\":\"%s\"}", today);
    refused(&t->agent, &f, body, 422, "programmee", &r);
    expect_rule(&r, "R26", "convention-adhesion-non-signee", "/avant_convention_cadre", 1);
    http_response_release(&r);
}

Test(fiches_transitions, r28_suspension_and_abandon, .timeout = 120)
{
    struct terr terr;
    struct terr *t = &terr;
    terr_init(t, "pvd-93-05-908", "05168", "210501680", "200067825");
    struct fiche f;
    struct http_response r;
    fiche_en_maturation(t, "R28-1", NULL, NULL, &f);

    /* no motif, no décision */
    refused(&t->elu, &f, "{\"vers\":\"abandonnee\"}", 422, "en_maturation", &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    cr_assert_str_eq(fx_str(r.json, "regle"), "R28");
    cr_assert_eq(json_array_size(json_object_get(r.json, "erreurs")), 2, HTTP_BODY, r.body);
    cr_assert_not_null(fx_item(&r, "motif-manquant", "/motif"), HTTP_BODY, r.body);
    cr_assert_not_null(fx_item(&r, "decision-abandon-manquante", "/decision_id"), HTTP_BODY,
                       r.body);
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"abandonnee\",\"motif\":\"   \"}", 422, "en_maturation", &r);
    cr_assert_not_null(fx_item(&r, "motif-manquant", "/motif"), HTTP_BODY, r.body);
    http_response_release(&r);
    refused(&t->elu, &f, "{\"vers\":\"abandonnee\",\"motif\":\"Projet repris\"}", 422,
            "en_maturation", &r);
    expect_rule(&r, "R28", "decision-abandon-manquante", "/decision_id", 1);
    http_response_release(&r);

    /* a décision of the séance, but not an abandon of this fiche */
    char autre[37], abandon[37], body[300];
    decision(t, t->t.seance, f.id, "modifie_fiche", autre);
    snprintf(body, sizeof body,
             "{\"vers\":\"abandonnee\",\"motif\":\"Projet repris\",\"decision_id\":\"%s\"}", autre);
    refused(&t->elu, &f, body, 422, "en_maturation", &r);
    expect_rule(&r, "R28", "decision-abandon-manquante", "/decision_id", 1);
    http_response_release(&r);

    /* the comité decided the abandon */
    decision(t, t->t.seance, f.id, "abandonne_fiche", abandon);
    /* still not the décision named */
    refused(&t->elu, &f, body, 422, "en_maturation", &r);
    expect_rule(&r, "R28", "decision-abandon-manquante", "/decision_id", 1);
    http_response_release(&r);
    snprintf(body, sizeof body,
             "{\"vers\":\"abandonnee\",\"motif\":\"Projet repris\",\"decision_id\":\"%s\"}",
             abandon);
    transition(&t->elu, &f, body, "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "abandonnee");
    cr_assert_str_eq(fx_str(r.json, "motif"), "Projet repris");
    cr_assert_eq(json_array_size(json_object_get(r.json, "transitions_possibles")), 0);
    http_response_release(&r);
    /* abandonnée is final */
    refused(&t->elu, &f, "{\"vers\":\"en_maturation\"}", 409, "abandonnee", &r);
    fx_expect_error(&r, 409, "conflit", "/vers", "transition-invalide");
    http_response_release(&r);
}

/* The maquette financière of 2026 as c reads it: fiche f's row (false when
 * the maquette has none), its prévu, financé, accordé and reste. */
struct maquette_ligne {
    long long prevu, finance, accorde, sollicite, reste;
};

static bool maquette_2026(const struct fx_caller *c, const struct terr *t, const struct fiche *f,
                          struct maquette_ligne *out)
{
    char path[160];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/territoires/%s/maquette-financiere?annee=2026",
             t->t.id_pvd);
    fx_call(c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, path, r.body);
    bool found = false;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r.json, "fiches"), i, row)
    {
        if (strcmp(fx_str(row, "id"), f->id) != 0)
            continue;
        json_t *ps = json_object_get(row, "par_statut");
        out->prevu = json_integer_value(json_object_get(row, "prevu_centimes"));
        out->finance = json_integer_value(json_object_get(row, "finance_centimes"));
        out->reste = json_integer_value(json_object_get(row, "reste_a_financer_centimes"));
        out->accorde = json_integer_value(json_object_get(ps, "accorde_centimes"));
        out->sollicite = json_integer_value(json_object_get(ps, "sollicite_centimes"));
        found = true;
    }
    http_response_release(&r);
    return found;
}

static void expect_maquette(const struct terr *t, const struct fiche *f, long long finance,
                            long long accorde, long long sollicite)
{
    struct maquette_ligne m;
    cr_assert(maquette_2026(&t->agent, t, f, &m), "fiche %s absent from the 2026 maquette", f->id);
    /* 2026 holds 40 % of the cost: 40 000 € of the échéancier */
    cr_assert_eq(m.prevu, 4000000);
    cr_assert_eq(m.finance, finance);
    cr_assert_eq(m.accorde, accorde);
    cr_assert_eq(m.sollicite, sollicite);
    cr_assert_eq(m.reste, 4000000 - finance);
}

/* PUT …/plan-financement as c with f's ETag; 200 asserted, f's ETag follows. */
static void plan_put(const struct fx_caller *c, struct fiche *f, const char *body)
{
    char path[160], header[120];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/fiches-action/%s/plan-financement", f->id);
    snprintf(header, sizeof header, "If-Match: %s", f->etag);
    fx_call(c, "PUT", path, body, header, &r);
    cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, body, r.body);
    snprintf(f->etag, sizeof f->etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* The whole life, in a territoire whose adhésion gets signed, the maquette
 * financière of 2026 following each step. */
Test(fiches_transitions, the_whole_life_of_a_fiche, .timeout = 180)
{
    struct terr t;
    terr_init(&t, "pvd-93-05-904", "05179", "210501797", "200067445");
    struct fiche f;
    struct http_response r;
    char extra[1600];

    /* drafted with its échéancier, not examined nor financed yet: in the
     * maquette, all of 2026 remains to be financed */
    extra_programmable(&t, "plan", NULL, extra, sizeof extra);
    fiche_new(&t, "1.1", extra, &f);
    expect_maquette(&t, &f, 0, 0, 0);
    expect_possibles(&t.elu, &f, "en_maturation,abandonnee");
    expect_possibles(&t.agent, &f, "");
    /* examined in séance (comite_seance_id): the élu records the comité's
     * examination; not financed, it cannot be programmed */
    transition_ok(&t.elu, &f, "{\"vers\":\"en_maturation\"}", "en_maturation");
    refused(&t.agent, &f, "{\"vers\":\"programmee\"}", 422, "en_maturation", &r);
    expect_rule(&r, "R24", "plan-financement-vide", "/plan_financement", 2);
    http_response_release(&r);
    /* financed, balanced: the commune's own 30 000 € granted, the DETR's
     * 70 000 € asked; the maquette splits each line over the échéancier's
     * years (40 % in 2026) */
    char lines[700];
    snprintf(lines, sizeof lines,
             "{\"lignes\": [{\"financeur_id\": \"%s\", \"dispositif\": \"autofinancement\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 3000000, \"statut\": "
             "\"accorde\"}, {\"financeur_id\": \"%s\", \"dispositif\": \"DETR\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 7000000, \"statut\": "
             "\"sollicite\"}]}",
             t.t.commune_org, t.etat);
    plan_put(&t.agent, &f, lines);
    expect_maquette(&t, &f, 4000000, 1200000, 2800000);
    expect_possibles(&t.agent, &f, "programmee");
    transition_ok(&t.agent, &f, "{\"vers\":\"programmee\"}", "programmee");
    expect_maquette(&t, &f, 4000000, 1200000, 2800000);
    /* the DETR granted: its line moves from sollicité to accordé (same id) */
    {
        char path[160], detr[37];
        struct http_response g;
        snprintf(path, sizeof path, "/api/v1/fiches-action/%s", f.id);
        fx_call(&t.agent, "GET", path, NULL, NULL, &g);
        cr_assert_eq(g.status, 200, HTTP_BODY, g.body);
        snprintf(detr, sizeof detr, "%s",
                 fx_str(json_array_get(json_object_get(g.json, "plan_financement"), 1), "id"));
        http_response_release(&g);
        snprintf(lines, sizeof lines,
                 "{\"lignes\": [{\"financeur_id\": \"%s\", \"dispositif\": "
                 "\"autofinancement\", \"nature_financeur\": \"public\", \"montant_centimes\": "
                 "3000000, \"statut\": \"accorde\"}, {\"id\": \"%s\", \"financeur_id\": \"%s\", "
                 "\"dispositif\": \"DETR\", \"nature_financeur\": \"public\", "
                 "\"montant_centimes\": 7000000, \"statut\": \"accorde\"}]}",
                 t.t.commune_org, detr, t.etat);
        plan_put(&t.agent, &f, lines);
        expect_maquette(&t, &f, 4000000, 4000000, 0);
    }
    expect_possibles(&t.agent, &f, "en_cours");
    expect_possibles(&t.elu, &f, "en_cours,abandonnee");

    /* en cours: the adhésion signed (R26), a commencement recorded, not in
     * the future */
    fx_adhesion_signee(&t.t, t.etat, &t.agent, &t.elu, &t.prefecture);
    char body[200], d[11], commencement[11];
    refused(&t.agent, &f, "{\"vers\":\"en_cours\"}", 422, "programmee", &r);
    expect_rule(&r, NULL, "date-commencement-manquante", "/date_commencement", 1);
    http_response_release(&r);
    fx_day(3, d);
    snprintf(body, sizeof body, "{\"vers\":\"en_cours\",\"date_commencement\":\"%s\"}", d);
    refused(&t.agent, &f, body, 422, "programmee", &r);
    expect_rule(&r, NULL, "date-commencement-future", "/date_commencement", 1);
    http_response_release(&r);
    fx_day(-5, commencement);
    snprintf(body, sizeof body, "{\"vers\":\"en_cours\",\"date_commencement\":\"%s\"}",
             commencement);
    transition(&t.agent, &f, body, "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "en_cours");
    cr_assert_str_eq(fx_str(r.json, "date_commencement"), commencement);
    http_response_release(&r);
    expect_possibles(&t.agent, &f, "suspendue,realisee");

    /* suspended (R28: a motif), then resumed */
    refused(&t.agent, &f, "{\"vers\":\"suspendue\"}", 422, "en_cours", &r);
    expect_rule(&r, "R28", "motif-manquant", "/motif", 1);
    http_response_release(&r);
    transition_ok(&t.agent, &f, "{\"vers\":\"suspendue\",\"motif\":\"Fouilles préventives\"}",
                  "suspendue");
    expect_possibles(&t.agent, &f, "en_cours");
    transition_ok(&t.agent, &f, "{\"vers\":\"en_cours\"}", "en_cours");

    /* réalisée: an achèvement, not in the future, not before the commencement */
    refused(&t.agent, &f, "{\"vers\":\"realisee\"}", 422, "en_cours", &r);
    expect_rule(&r, NULL, "date-achevement-manquante", "/date_achevement", 1);
    http_response_release(&r);
    fx_day(2, d);
    snprintf(body, sizeof body, "{\"vers\":\"realisee\",\"date_achevement\":\"%s\"}", d);
    refused(&t.agent, &f, body, 422, "en_cours", &r);
    expect_rule(&r, NULL, "date-achevement-future", "/date_achevement", 1);
    http_response_release(&r);
    fx_day(-6, d);
    snprintf(body, sizeof body, "{\"vers\":\"realisee\",\"date_achevement\":\"%s\"}", d);
    refused(&t.agent, &f, body, 422, "en_cours", &r);
    expect_rule(&r, NULL, "date-achevement-anterieure-commencement", "/date_achevement", 1);
    http_response_release(&r);
    fx_day(-1, d);
    snprintf(body, sizeof body, "{\"vers\":\"realisee\",\"date_achevement\":\"%s\"}", d);
    transition(&t.agent, &f, body, "", 200, &r);
    cr_assert_str_eq(fx_str(r.json, "etat"), "realisee");
    cr_assert_str_eq(fx_str(r.json, "maturite"), "prete");
    cr_assert_str_eq(fx_str(r.json, "date_achevement"), d);
    cr_assert_str_eq(fx_str(r.json, "date_commencement"), commencement);
    http_response_release(&r);
    expect_possibles(&t.elu, &f, "");
    /* a realised fiche stays in the maquette of its years */
    expect_maquette(&t, &f, 4000000, 4000000, 0);
    /* one journal row per transition: 6 */
    cr_assert_eq(transitions_journal(&f), 6);

    /* an abandoned fiche leaves the maquette */
    struct fiche g;
    char abandon[37], body2[200];
    struct maquette_ligne m;
    extra_programmable(&t, "plan", NULL, extra, sizeof extra);
    fiche_new(&t, "1.2", extra, &g);
    cr_assert(maquette_2026(&t.agent, &t, &g, &m));
    decision(&t, t.t.seance, g.id, "abandonne_fiche", abandon);
    snprintf(body2, sizeof body2,
             "{\"vers\":\"abandonnee\",\"motif\":\"Projet repris\",\"decision_id\":\"%s\"}",
             abandon);
    transition_ok(&t.elu, &g, body2, "abandonnee");
    cr_assert_not(maquette_2026(&t.agent, &t, &g, &m), "an abandoned fiche is in the maquette");
    cr_assert(maquette_2026(&t.agent, &t, &f, &m));
}

/* realisee needs every indicateur of the fiche measured. */
Test(fiches_transitions, an_indicateur_without_mesure_blocks_realisee, .timeout = 180)
{
    struct terr t;
    terr_init(&t, "pvd-93-05-905", "05070", "210500708", "200068765");
    fx_adhesion_signee(&t.t, t.etat, &t.agent, &t.elu, &t.prefecture);
    char path[160], ind[37], etag[64], extra[1800], more[120], body[200], d[11];
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", t.t.axe);
    fx_create(&t.admin, path,
              "{\"type\":\"resultat\",\"libelle\":\"Commerces ouverts\",\"unite\":\"nombre\"}", ind,
              etag);
    snprintf(more, sizeof more, "\"indicateurs\": [\"%s\"]", ind);
    extra_programmable(&t, NULL, more, extra, sizeof extra);
    struct fiche f;
    struct http_response r;
    fiche_new(&t, "I-1", extra, &f);
    transition_ok(&t.elu, &f, "{\"vers\":\"en_maturation\"}", "en_maturation");
    transition_ok(&t.agent, &f, "{\"vers\":\"programmee\"}", "programmee");
    fx_day(-10, d);
    snprintf(body, sizeof body, "{\"vers\":\"en_cours\",\"date_commencement\":\"%s\"}", d);
    transition_ok(&t.agent, &f, body, "en_cours");
    fx_day(-1, d);
    snprintf(body, sizeof body, "{\"vers\":\"realisee\",\"date_achevement\":\"%s\"}", d);
    refused(&t.agent, &f, body, 422, "en_cours", &r);
    expect_rule(&r, NULL, "indicateur-sans-mesure", "/indicateurs", 1);
    http_response_release(&r);
    char mesures[160], mesure[37], mbody[100];
    snprintf(mesures, sizeof mesures, "/api/v1/indicateurs/%s/mesures", ind);
    snprintf(mbody, sizeof mbody, "{\"date\":\"%s\",\"valeur\":\"12\"}", d);
    fx_create(&t.admin, mesures, mbody, mesure, etag);
    transition_ok(&t.agent, &f, body, "realisee");
}
