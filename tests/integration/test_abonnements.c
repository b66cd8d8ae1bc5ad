/* Webhook subscriptions over HTTP (issue 11 §2): a machine client subscribes
 * (201, the secret shown once, never in a read, a list, a replay of the
 * Idempotency-Key nor the journal), reads, changes under If-Match, rotates
 * the secret and deletes its own; another client gets 404, a person 403 (the
 * ANCT reads and deletes all); every bad body refused with its pointer and
 * nothing written; the delivery log and the replay's refusals. Deliveries
 * themselves are proven end to end by tests/webhooks/e2e.mjs. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define URL "https://hooks.pvd-48.example/recepteur"

/* A machine client of the Lozère (48). */
static void lozere_client(struct fx_caller *c, char id[32])
{
    fx_machine_caller(c, "prefecture_instructeur", "{\"departements\":[\"48\"]}", id);
}

/* POST /abonnements as c with body: 201 asserted; id and ETag out, the
 * secret (may be NULL) too. */
static void subscribe(const struct fx_caller *c, const char *body, char id[37], char etag[64],
                      char secret[80])
{
    struct http_response r;
    fx_call(c, "POST", "/api/v1/abonnements", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, 37, "%s", fx_str(r.json, "id"));
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    if (secret)
        snprintf(secret, 80, "%s", fx_str(r.json, "secret"));
    http_response_release(&r);
}

static size_t count_of(const struct fx_caller *c)
{
    struct http_response r;
    fx_call(c, "GET", "/api/v1/abonnements", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    size_t n = (size_t)json_integer_value(json_object_get(r.json, "total"));
    http_response_release(&r);
    return n;
}

Test(abonnements, created_by_a_machine_client_secret_shown_once_never_journaled)
{
    struct fx_caller c;
    char client[32], id[37], etag[64], secret[80], path[120];
    struct http_response r;
    lozere_client(&c, client);
    subscribe(&c, "{\"url\":\"" URL "\",\"types\":[\"parametres\",\"poste_chef_projet.cree\"]}", id,
              etag, secret);
    cr_assert_eq(strncmp(secret, "whsec_", 6), 0, "%s", secret);
    cr_assert_eq(strlen(secret), 6 + 44, "32 bytes in base64: %s", secret);

    snprintf(path, sizeof path, "/api/v1/abonnements/%s", id);
    fx_call(&c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_null(json_object_get(r.json, "secret"), "never shown again");
    cr_assert_null(strstr(r.body, secret + 6));
    cr_assert_str_eq(fx_str(r.json, "client_id"), client);
    cr_assert_str_eq(fx_str(r.json, "url"), URL);
    cr_assert_eq(json_array_size(json_object_get(r.json, "types")), 2);
    cr_assert(json_is_true(json_object_get(r.json, "actif")));
    cr_assert_str_eq(http_header(&r, "ETag"), etag);
    http_response_release(&r);

    fx_call(&c, "GET", "/api/v1/abonnements", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, "its own only");
    cr_assert_null(strstr(r.body, secret + 6));
    http_response_release(&r);

    /* The journal holds the subscription, not its secret. */
    struct fx_caller admin;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=abonnement&ressource_id=%s", id);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *entry = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_str_eq(fx_str(entry, "action"), "abonnement.creer");
    cr_assert_str_eq(fx_str(json_object_get(entry, "apres"), "url"), URL);
    cr_assert_null(json_object_get(json_object_get(entry, "apres"), "secret"));
    cr_assert_null(strstr(r.body, secret + 6), "no secret in the journal");
    http_response_release(&r);
}

Test(abonnements, idempotent_replay_without_the_secret)
{
    struct fx_caller c;
    struct http_response first, again;
    lozere_client(&c, NULL);
    const char *body = "{\"url\":\"" URL "/idem\",\"types\":[\"parametres\"]}";
    fx_call(&c, "POST", "/api/v1/abonnements", body, "Idempotency-Key: abo-48-1", &first);
    cr_assert_eq(first.status, 201, HTTP_BODY, first.body);
    const char *secret = fx_str(first.json, "secret");
    cr_assert_not_null(secret);
    fx_call(&c, "POST", "/api/v1/abonnements", body, "Idempotency-Key: abo-48-1", &again);
    cr_assert_eq(again.status, 201, HTTP_BODY, again.body);
    cr_assert_str_eq(http_header(&again, "Idempotent-Replayed"), "true");
    cr_assert_str_eq(fx_str(again.json, "id"), fx_str(first.json, "id"));
    cr_assert_null(json_object_get(again.json, "secret"), "a replay does not show it again");
    cr_assert_null(strstr(again.body, secret + 6));
    cr_assert_eq(count_of(&c), 1, "created once");
    http_response_release(&first);
    http_response_release(&again);
}

/* Each refused body: status, problem, pointer and item code; nothing written. */
Test(abonnements, bad_bodies_refused_with_their_pointer_nothing_written)
{
    static const struct {
        const char *body;
        long status;
        const char *code, *pointer, *item;
    } cases[] = {
        {"{}", 400, "champs-invalides", "/url", "champ-requis"},
        {"{\"url\":\"" URL "\",\"couleur\":1}", 400, "champs-invalides", "/couleur",
         "champ-inconnu"},
        {"{\"url\":\"" URL "\",\"actif\":false}", 400, "champs-invalides", "/actif",
         "champ-inconnu"},
        {"{\"url\":42}", 400, "champs-invalides", "/url", "type-invalide"},
        {"{\"url\":\"" URL "\",\"types\":\"territoire\"}", 400, "champs-invalides", "/types",
         "type-invalide"},
        {"{\"url\":\"" URL "\",\"types\":[\"Territoire\"]}", 400, "champs-invalides", "/types/0",
         "format-invalide"},
        {"{\"url\":\"" URL "\",\"types\":[\"territoire\",\"territoire\"]}", 400, "champs-invalides",
         "/types/1", "doublon"},
        {"{\"url\":\"http://hooks.example/x\"}", 422, "regle-non-respectee", "/url",
         "url-non-autorisee"},
        {"{\"url\":\"ftp://hooks.example/x\"}", 422, "regle-non-respectee", "/url",
         "url-non-autorisee"},
        {"{\"url\":\"https://moi:secret@hooks.example/x\"}", 422, "regle-non-respectee", "/url",
         "url-non-autorisee"},
        {"{\"url\":\"https://hooks.example/x#frag\"}", 422, "regle-non-respectee", "/url",
         "url-non-autorisee"},
        {"{\"url\":\"https://hooks.example/a b\"}", 422, "regle-non-respectee", "/url",
         "url-non-autorisee"},
        {"{\"url\":\"/relative\"}", 422, "regle-non-respectee", "/url", "url-non-autorisee"},
        {"{\"url\":\"" URL "\",\"types\":[\"territoire\",\"fiche_action.envolee\"]}", 422,
         "regle-non-respectee", "/types/1", "valeur-inconnue"},
    };
    struct fx_caller c;
    struct http_response r;
    lozere_client(&c, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_call(&c, "POST", "/api/v1/abonnements", cases[i].body, NULL, &r);
        cr_assert_eq(r.status, cases[i].status, "%s: " HTTP_BODY, cases[i].body, r.body);
        fx_expect_error(&r, cases[i].status, cases[i].code, cases[i].pointer, cases[i].item);
        http_response_release(&r);
    }
    char longer[2200];
    snprintf(longer, sizeof longer, "{\"url\":\"https://hooks.example/%02100d\"}", 0);
    fx_call(&c, "POST", "/api/v1/abonnements", longer, NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/url", NULL);
    http_response_release(&r);
    cr_assert_eq(count_of(&c), 0, "nothing was written");
}

Test(abonnements, persons_may_not_subscribe_anct_reads_and_deletes_all)
{
    struct fx_caller c, other, admin, prefecture;
    char id[37], etag[64], path[120], im[100];
    struct http_response r;
    lozere_client(&c, NULL);
    lozere_client(&other, NULL);
    fx_admin(&admin);
    fx_caller_with(&prefecture, "prefecture_instructeur", "{\"departements\":[\"48\"]}");
    subscribe(&c, "{\"url\":\"" URL "/anct\",\"types\":[\"parametres\"]}", id, etag, NULL);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s", id);
    snprintf(im, sizeof im, "If-Match: %s", etag);

    /* A person, even the ANCT, does not subscribe: its events would be no client's. */
    fx_call(&admin, "POST", "/api/v1/abonnements", "{\"url\":\"" URL "\"}", NULL, &r);
    fx_expect_error(&r, 403, "interdit", NULL, NULL);
    http_response_release(&r);
    fx_call(&prefecture, "GET", "/api/v1/abonnements", NULL, NULL, &r);
    fx_expect_error(&r, 403, "interdit", NULL, NULL);
    http_response_release(&r);
    fx_call(&prefecture, "GET", path, NULL, NULL, &r);
    fx_expect_error(&r, 403, "interdit", NULL, NULL);
    http_response_release(&r);

    /* Another client: 404 on every route of the subscription. */
    static const char *const methods[] = {"GET", "PATCH", "DELETE"};
    for (size_t i = 0; i < 3; i++) {
        fx_call(&other, methods[i], path, i == 1 ? "{\"actif\":false}" : NULL, im, &r);
        fx_expect_error(&r, 404, "ressource-introuvable", NULL, NULL);
        http_response_release(&r);
    }
    cr_assert_eq(count_of(&other), 0, "another client lists only its own");

    /* The ANCT lists, reads and deletes it. */
    fx_call(&admin, "GET", "/api/v1/abonnements?limite=500", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_not_null(strstr(r.body, id), "the ANCT sees every subscription");
    http_response_release(&r);
    fx_call(&admin, "DELETE", path, NULL, im, &r);
    cr_assert_eq(r.status, 204, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&c, "GET", path, NULL, NULL, &r);
    fx_expect_error(&r, 404, "ressource-introuvable", NULL, NULL);
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("abonnement", id, "abonnement.supprimer"), 1);
}

Test(abonnements, patch_under_if_match_rotation_and_delete)
{
    struct fx_caller c;
    char id[37], etag[64], secret[80], path[160], im[100];
    struct http_response r;
    lozere_client(&c, NULL);
    subscribe(&c, "{\"url\":\"" URL "/patch\",\"types\":[\"parametres\"]}", id, etag, secret);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s", id);

    fx_call(&c, "PATCH", path, "{\"actif\":false}", NULL, &r);
    fx_expect_error(&r, 428, "precondition-requise", NULL, NULL);
    http_response_release(&r);
    fx_call(&c, "PATCH", path, "{\"actif\":false}", "If-Match: \"0000000000000000\"", &r);
    fx_expect_error(&r, 412, "precondition-echouee", NULL, NULL);
    http_response_release(&r);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&c, "PATCH", path, "{\"url\":\"http://hooks.example\"}", im, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/url", "url-non-autorisee");
    http_response_release(&r);
    fx_call(&c, "PATCH", path, "{\"types\":[\"inconnu\"]}", im, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/types/0", "valeur-inconnue");
    http_response_release(&r);
    fx_call(&c, "PATCH", path, "{}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "ETag"), etag, "an empty patch changes nothing");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("abonnement", id, "abonnement.modifier"), 0);
    fx_call(&c, "PATCH", path, "{\"actif\":null}", im, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/actif", NULL);
    http_response_release(&r);
    fx_call(&c, "PATCH", path, "{\"actif\":false,\"types\":[\"demande_subvention.transition\"]}",
            im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_false(json_object_get(r.json, "actif")));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "types"), 0)),
                     "demande_subvention.transition");
    cr_assert_str_eq(fx_str(r.json, "url"), URL "/patch", "left as it was");
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("abonnement", id, "abonnement.modifier"), 1);

    /* Rotation: a new secret, shown once, under If-Match; journaled without it. */
    snprintf(path, sizeof path, "/api/v1/abonnements/%s/secret", id);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&c, "POST", path, NULL, im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    const char *rotated = fx_str(r.json, "secret");
    cr_assert_not_null(rotated);
    cr_assert_str_neq(rotated, secret);
    cr_assert_not_null(fx_str(r.json, "secret_renouvele_le"));
    char fresh[80];
    snprintf(fresh, sizeof fresh, "%s", rotated);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    struct fx_caller admin;
    fx_admin(&admin);
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=abonnement&ressource_id=%s", id);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_not_null(strstr(r.body, "abonnement.renouveler_secret"));
    cr_assert_null(strstr(r.body, fresh + 6), "no secret in the journal");
    cr_assert_null(strstr(r.body, secret + 6));
    http_response_release(&r);

    snprintf(path, sizeof path, "/api/v1/abonnements/%s", id);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    fx_call(&c, "DELETE", path, NULL, im, &r);
    cr_assert_eq(r.status, 204, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(count_of(&c), 0);
}

Test(abonnements, delivery_log_and_replay_refusals)
{
    struct fx_caller c;
    char id[37], path[200];
    struct http_response r;
    lozere_client(&c, NULL);
    subscribe(&c, "{\"url\":\"" URL "/log\",\"types\":[\"parametres\"]}", id, NULL, NULL);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s/livraisons", id);
    fx_call(&c, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_array(json_object_get(r.json, "elements")));
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s/livraisons?etat=perdue", id);
    fx_call(&c, "GET", path, NULL, NULL, &r);
    http_expect_param_error(&r, "/etat", NULL);
    http_response_release(&r);
    snprintf(path, sizeof path,
             "/api/v1/abonnements/%s/livraisons/00000000-0000-4000-8000-000000000000/rejouer", id);
    fx_call(&c, "POST", path, NULL, NULL, &r);
    fx_expect_error(&r, 404, "ressource-introuvable", NULL, NULL);
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s/livraisons/pas-un-uuid/rejouer", id);
    fx_call(&c, "POST", path, NULL, NULL, &r);
    http_expect_param_error(&r, "/livraison_id", NULL);
    http_response_release(&r);
    fx_call(&c, "GET", "/api/v1/abonnements/pas-un-uuid", NULL, NULL, &r);
    http_expect_param_error(&r, "/id", NULL);
    http_response_release(&r);
}

/* SSRF: a URL whose host is an internal address passes the form (https) but
 * every attempt is refused at the connection, and the log says why. The
 * event: the organisation of Altier (Lozère), in the client's perimeter. */
Test(abonnements, an_internal_address_is_never_connected_to, .timeout = 30)
{
    struct fx_caller c, admin;
    char id[37], path[200];
    struct http_response r;
    lozere_client(&c, NULL);
    fx_admin(&admin);
    subscribe(&c, "{\"url\":\"https://10.0.0.1/recepteur\",\"types\":[\"organisation.creee\"]}", id,
              NULL, NULL);
    fx_call(&admin, "POST", "/api/v1/organisations",
            "{\"siren\":\"214800047\",\"nature\":\"commune\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/abonnements/%s/livraisons", id);
    const char *erreur = NULL;
    for (int i = 0; i < 100 && erreur == NULL; i++) {
        fx_call(&c, "GET", path, NULL, NULL, &r);
        cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
        const json_t *l = json_array_get(json_object_get(r.json, "elements"), 0);
        if (l && fx_str(l, "derniere_erreur")) {
            cr_assert_str_eq(fx_str(l, "type"), "organisation.creee");
            cr_assert(json_is_null(json_object_get(l, "dernier_statut")), "never connected");
            cr_assert_not_null(strstr(fx_str(l, "derniere_erreur"), "SSRF"), "%s",
                               fx_str(l, "derniere_erreur"));
            erreur = "vu";
        }
        http_response_release(&r);
        if (erreur == NULL)
            usleep(200 * 1000);
    }
    cr_assert_not_null(erreur, "the attempt was made and refused within 20 s");
}
