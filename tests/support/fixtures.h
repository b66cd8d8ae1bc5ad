/* Fixtures shared by the HTTP test files (test_axes.c, test_comites.c,
 * test_conventions.c, test_territoires_pvd.c, the fiches', postes' and
 * demandes' suites…): callers holding a
 * habilitation, territoires and organisations created through the API
 * (create-or-get by SIREN, the territoires helper's contract), and
 * assertions on problems and journal rows. Every function asserts
 * (criterion) on failure. */
#ifndef PVD_TESTS_FIXTURES_H
#define PVD_TESTS_FIXTURES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_client.h"

/* The string member k of o (NULL when o is not an object, k is absent or
 * not a string); borrowed from o. Asserts nothing. */
const char *fx_str(const json_t *o, const char *k);

/* Today + n days (UTC, as the service's programme_today), YYYY-MM-DD into
 * out; n < 0 for a past date. */
void fx_day(int n, char out[11]);

/* The erreurs[] item of the problem r whose code and pointeur are (code,
 * pointer), or NULL when there is none; borrowed from r->json. Asserts
 * nothing. */
json_t *fx_item(const struct http_response *r, const char *code, const char *pointer);

struct fx_caller {
    char header[4400];
};

/* The bootstrap administrator (anct_national). */
void fx_admin(struct fx_caller *c);
/* A new identity with role on perimetre (JSON), granted by the
 * administrator: its "Authorization: Bearer …" header into header (size
 * bytes). */
void fx_grant_header(char *header, size_t size, const char *role, const char *perimetre);
/* Same, as a caller. */
void fx_caller_with(struct fx_caller *c, const char *role, const char *perimetre);

/* A new machine client (OAuth client credentials) with role on perimetre
 * (JSON), created by the administrator: its bearer header as a caller, and
 * its id (client_id, may be NULL) — issue 11 §2. */
void fx_machine_caller(struct fx_caller *c, const char *role, const char *perimetre, char id[32]);

/* One request as c; body may be NULL; extra_header (e.g. "If-Match: …") too. */
void fx_call(const struct fx_caller *c, const char *method, const char *path, const char *body,
             const char *extra_header, struct http_response *r);

/* A write that finds its row changed under its lock: another session runs
 * hold_sql ($1 = param) in an open transaction; c's request (as fx_call)
 * is sent from a thread; once it waits on that session's lock, the session
 * commits, and the answer is put in *r. */
void fx_call_while_held(const struct fx_caller *c, const char *method, const char *path,
                        const char *body, const char *extra_header, const char *hold_sql,
                        const char *param, struct http_response *r);

/* Asserts r is the 412 of a write that found its row changed under its
 * lock: detail contains `detail`, and the ETag header (copied into current)
 * is there. */
void fx_expect_stale(const struct http_response *r, const char *detail, char current[64]);

/* The value of an unlabelled metric in /metrics of the server requests go to now
 * (http_pin): asserts it is there. */
unsigned long long fx_metric(const char *name);

/* POST /api/v1/territoires as the administrator: 201 expected. */
void fx_territoire(const char *id_pvd, const char *code_insee, const char *siren_epci);

/* The id (out, 37 bytes) of the organisation of this SIREN: created, or read
 * when it already exists (409). */
void fx_organisation(const char *siren, const char *nature, const char *nom, char out[37]);

/* POSTs body to path as c, asserts 201, copies the new id and ETag. */
void fx_create(const struct fx_caller *c, const char *path, const char *body, char id[37],
               char etag[64]);

/* The current ETag of path, read as the administrator. */
void fx_etag(const char *path, char etag[64]);

/* Asserts a problem (status, code) with an error item (pointer, item_code);
 * item_code may be NULL (no item checked). */
void fx_expect_error(const struct http_response *r, long status, const char *code,
                     const char *pointer, const char *item_code);

/* Asserts the 422 carries exactly `count` erreurs, one with each code of
 * codes (NULL-terminated), all at pointer, and regle. */
void fx_expect_rule(const struct http_response *r, const char *regle, const char *pointer,
                    const char *const *codes);

/* A territoire ready for fiches action (issue #9): the territoire
 * (fx_territoire), its commune's and EPCI's organisations (the commune is the
 * usual maître d'ouvrage), an axe stratégique (numero 1) and a comité de
 * projet (R40: both executives, a chef de projet, the préfet) with one séance
 * dated seance_date (YYYY-MM-DD). */
struct fx_fiche_territoire {
    char id_pvd[17], code_insee[6], commune_org[37], epci_org[37], axe[37], comite[37], seance[37];
};
void fx_fiche_territoire(const char *id_pvd, const char *code_insee, const char *siren_commune,
                         const char *siren_epci, const char *seance_date,
                         struct fx_fiche_territoire *out);

/* POST /api/v1/fiches-action as c (201 asserted): a valid fiche of t
 * numbered numero (intitule, axe, description, objectifs, maître d'ouvrage =
 * the commune, nature_depense "investissement", cout_total_ht_centimes
 * 10000000, localisation = t's commune), plus `extra` (NULL, or JSON members
 * without braces, e.g. "\"public\": true", which replace the defaults of the
 * same name). Its id and ETag (may be NULL) out. */
void fx_fiche(const struct fx_caller *c, const struct fx_fiche_territoire *t, const char *numero,
              const char *extra, char id[37], char etag[64]);

/* The body fx_fiche posts (owned, free()). */
char *fx_fiche_body(const struct fx_fiche_territoire *t, const char *numero, const char *extra);

/* Signs t's convention d'adhésion over HTTP, as the matrix does (R11, R26
 * then hold): drafted by agent with t's commune (délibération 20 days ago)
 * and etat_org (an organisation of nature etat) as signataires, put in
 * signature by elu, signed by elu (10 days ago) and prefecture (9 days
 * ago), then signee by elu; every step asserted (201, then 200). */
void fx_adhesion_signee(const struct fx_fiche_territoire *t, const char *etat_org,
                        const struct fx_caller *agent, const struct fx_caller *elu,
                        const struct fx_caller *prefecture);

/* Runs `pvd-api echeances` (PVD_TEST_SERVER_BIN) on the test database
 * (PVD_TEST_DATABASE_URL), as a cron job would; asserts both are set and
 * that it exits 0. */
void fx_run_echeances(void);
/* n such runs at once (the sweeps of n replicas), all asserted to exit 0. */
void fx_run_echeances_concurrently(int n);

/* Number of journal entries about resources of `type` written by c (its
 * actor read through /api/v1/moi): a refused write leaves it unchanged. */
size_t fx_journal_count_by(const struct fx_caller *c, const char *type);

/* Number of journal entries about (type, id) with this action, read through
 * GET /api/v1/journal as the administrator. */
size_t fx_journal_count(const char *type, const char *id, const char *action);

/* POST /api/v1/demandes-subvention as c (201 asserted): a draft of
 * dispositif on fiche for 2025 (intitule "Halles", 100 000 € HT, 30 000 €
 * asked) by demandeur, addressed to financeur (NULL: none); its id out. */
void fx_demande(const struct fx_caller *c, const char *dispositif, const char *demandeur,
                const char *fiche, const char *financeur, char id[37]);

/* Whether id is one of the n ids (37 bytes each). */
bool fx_ids_has(char (*ids)[37], size_t n, const char *id);

#endif
