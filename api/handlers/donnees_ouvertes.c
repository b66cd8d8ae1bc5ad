/* Open data (issue #11 §3), public, no token: GET /api/v1/donnees-ouvertes
 * (the catalogue) and /api/v1/donnees-ouvertes/<jeu>.csv|.json for the
 * datasets laureats, fiches-action and subventions.
 *
 * Each dataset is read once (db/donnees_ouvertes_repository.h: one SQL
 * projection per dataset, migration 0022) as JSON elements; the JSON form
 * lists them as they are, the CSV form writes one record per element, its
 * cells read from the element's members (struct colonne), through
 * api/csv_export.h: UTF-8 BOM, `;`, CRLF, RFC 4180 quoting, formula injection
 * neutralised (a text cell starting with = + - @ TAB CR LF, or their
 * full-width forms, gets a leading '). The two forms of a dataset therefore
 * hold the same values.
 *
 * Every answer (200 and 304) names the Licence Ouverte 2.0 in a
 * `Link: <…>; rel="license"` header, carries a strong ETag of its body
 * (http_etag) and `Cache-Control: public, max-age=300`; If-None-Match
 * listing the ETag gives 304 without body. The JSON body names the licence
 * too. A dataset larger than JEU_MAX_ELEMENTS elements or
 * CSV_EXPORT_MAX_BYTES is refused (400 parametre-invalide,
 * trop-d-elements): the caller narrows it with its filters. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/donnees_ouvertes_repository.h"
#include "../../db/pgutil.h"
#include "../../domain/identifiers.h"
#include "../csv_export.h"
#include "../query.h"
#include "../xalloc.h"
#include "handlers.h"
#include "programme.h"

#define JEU_MAX_ELEMENTS 50000
#define LICENCE_TITRE    "Licence Ouverte / Open Licence 2.0"
#define LICENCE_URL      "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
#define PRODUCTEUR       "Programme Petites villes de demain (ANCT), service pvd-api"
#define CACHE_CONTROL    "public, max-age=300"
#define BASE             "/api/v1/donnees-ouvertes"

/* How a CSV cell is read from an element: the member `membre` (then `sous`
 * of that object when not NULL). TEXTE: a string (null, absent: empty);
 * ENTIER: an integer; CENTIMES: integer cents as euros with a decimal comma
 * (csv_export_cents); DATE: an ISO date (null: empty); BOOLEEN: « oui » /
 * « non »; LISTE: an array of strings, or of objects whose `sous` member is
 * taken, joined with ", ". */
enum colonne_type { COL_TEXTE, COL_ENTIER, COL_CENTIMES, COL_DATE, COL_BOOLEEN, COL_LISTE };

struct colonne {
    const char *entete, *membre, *sous;
    enum colonne_type type;
};

#define TEXTE(n)                                                                                   \
    {                                                                                              \
        n, n, NULL, COL_TEXTE                                                                      \
    }
#define FIN_COLONNES                                                                               \
    {                                                                                              \
        NULL, NULL, NULL, COL_TEXTE                                                                \
    }

/* The ANCT lauréats layout the bulk import reads (api/laureats_csv.h). */
static const struct colonne colonnes_laureats[] = {
    TEXTE("id_pvd"),     TEXTE("insee_com"), TEXTE("lib_com"),
    TEXTE("insee_dep"),  TEXTE("pop"),       TEXTE("date_signature"),
    TEXTE("siren_epci"), TEXTE("lib_epci"),  FIN_COLONNES,
};

/* The public fiches: fiche_publique_representation flattened (its plan de
 * financement and échéancier are in the JSON form only). */
static const struct colonne colonnes_fiches[] = {
    TEXTE("id"),
    TEXTE("id_pvd"),
    TEXTE("territoire_nom"),
    TEXTE("numero"),
    TEXTE("intitule"),
    {"axe_numero", "axe", "numero", COL_ENTIER},
    {"axe_intitule", "axe", "intitule", COL_TEXTE},
    TEXTE("description"),
    TEXTE("objectifs"),
    {"maitre_ouvrage", "maitre_ouvrage", "nom", COL_TEXTE},
    {"maitre_ouvrage_siren", "maitre_ouvrage", "siren", COL_TEXTE},
    {"partenaires", "partenaires", "nom", COL_LISTE},
    {"thematiques", "thematiques", NULL, COL_LISTE},
    TEXTE("localisation_commune_insee"),
    TEXTE("localisation_commune_nom"),
    TEXTE("nature_depense"),
    {"cout_total_ht_euros", "cout_total_ht_centimes", NULL, COL_CENTIMES},
    {"cout_total_ttc_euros", "cout_total_ttc_centimes", NULL, COL_CENTIMES},
    {"date_debut_prevue", "date_debut_prevue", NULL, COL_DATE},
    {"date_fin_prevue", "date_fin_prevue", NULL, COL_DATE},
    TEXTE("etat"),
    TEXTE("maturite"),
    TEXTE("priorite"),
    {"lien_crte", "lien_crte", NULL, COL_BOOLEEN},
    {"avant_convention_cadre", "avant_convention_cadre", NULL, COL_BOOLEEN},
    FIN_COLONNES,
};

/* SCDL « subventions » 2.1, in the schema's order (subvention_publique_au). */
static const struct colonne colonnes_subventions[] = {
    TEXTE("nomAttribuant"),
    TEXTE("idAttribuant"),
    TEXTE("dateConvention"),
    TEXTE("referenceDecision"),
    TEXTE("nomBeneficiaire"),
    TEXTE("idBeneficiaire"),
    TEXTE("rnaBeneficiaire"),
    TEXTE("objet"),
    TEXTE("montant"),
    TEXTE("nature"),
    TEXTE("conditionsVersement"),
    TEXTE("datesPeriodeVersement"),
    TEXTE("idRAE"),
    TEXTE("notificationUE"),
    TEXTE("pourcentageSubvention"),
    TEXTE("dispositifAide"),
    FIN_COLONNES,
};

struct jeu_query {
    const char *annee, *departement;
};

static bool is_annee(const char *s)
{
    return s && strlen(s) == 4 && s[0] == '2' && strspn(s, "0123456789") == 4;
}

#define FILTRE_DEPARTEMENT                                                                         \
    QUERY_CODE_FIELD("departement", offsetof(struct jeu_query, departement),                       \
                     departement_code_is_valid, "un code de département")

static const struct query_field query_departement[] = {FILTRE_DEPARTEMENT, QUERY_FIELDS_END};
static const struct query_field query_subventions[] = {
    QUERY_CODE_FIELD("annee", offsetof(struct jeu_query, annee), is_annee,
                     "une année (2000 à 2999)"),
    FILTRE_DEPARTEMENT,
    QUERY_FIELDS_END,
};

/* A dataset: its identity in the catalogue, its CSV columns and filters. */
struct jeu_def {
    const char *id, *titre, *description, *schema, *filtres;
    const struct colonne *colonnes;
    const struct query_field *query;
};

static const struct jeu_def jeux[JEU_OUVERT_COUNT] = {
    [JEU_LAUREATS] = {"laureats", "Lauréats du programme Petites villes de demain",
                      "Une ligne par commune d'un territoire lauréat, dans la disposition du "
                      "fichier des lauréats de l'ANCT (celle que l'import des territoires lit).",
                      NULL, "departement", colonnes_laureats, query_departement},
    [JEU_FICHES_ACTION] = {"fiches-action", "Fiches action publiques",
                           "Les fiches action que leur collectivité a rendues publiques, telles "
                           "que le portail aides-territoires les montre.",
                           NULL, "departement", colonnes_fiches, query_departement},
    [JEU_SUBVENTIONS] = {"subventions", "Subventions accordées",
                         "Les subventions accordées (état accordée, notifiée, engagée ou soldée) "
                         "dans la disposition du schéma SCDL « subventions ».",
                         "https://schema.data.gouv.fr/scdl/subventions/2.1.1/",
                         "annee, departement", colonnes_subventions, query_subventions},
};

/* The headers every answer carries: licence and cache policy. */
static void common_headers(struct request_ctx *ctx)
{
    u_map_put(ctx->res->map_header, "Link", "<" LICENCE_URL ">; rel=\"license\"");
    u_map_put(ctx->res->map_header, "Cache-Control", CACHE_CONTROL);
}

static json_t *licence_json(void)
{
    return json_pack("{s:s, s:s}", "titre", LICENCE_TITRE, "url", LICENCE_URL);
}

/* Sends body (content_type: a static constant string) with its ETag, or 304
 * when If-None-Match lists it. */
static void send_conditional(struct request_ctx *ctx, const char *content_type, const char *body,
                             size_t len)
{
    char etag[24];
    http_etag(body, len, etag);
    common_headers(ctx);
    respond_conditional(ctx, content_type, body, len, etag);
}

static void respond_too_large(struct request_ctx *ctx, const struct jeu_def *d)
{
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "", NULL, "trop-d-elements",
                     "Le jeu de données dépasse %d éléments ou %zu Mio : restreignez-le avec les "
                     "filtres (%s).",
                     JEU_MAX_ELEMENTS, CSV_EXPORT_MAX_BYTES / (1024 * 1024), d->filtres);
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE,
                           "Trop d'éléments pour un seul document : ajoutez des filtres.", &errs);
}

/* ---- CSV ---------------------------------------------------------------------- */

/* Writes the cell of column c of element e; CSV_EXPORT_INVALID when the
 * element does not have the column's type (a projection out of shape). */
static enum csv_export_status write_cell(struct csv_export *csv, const struct colonne *c,
                                         const json_t *e)
{
    const json_t *v = json_object_get(e, c->membre);
    if (c->sous && c->type != COL_LISTE)
        v = json_object_get(v, c->sous);
    if (!v || json_is_null(v))
        return csv_export_text(csv, NULL);
    switch (c->type) {
    case COL_TEXTE:
        return json_is_string(v)
                   ? csv_export_text_n(csv, json_string_value(v), json_string_length(v))
                   : CSV_EXPORT_INVALID;
    case COL_ENTIER:
        return json_is_integer(v) ? csv_export_int(csv, json_integer_value(v)) : CSV_EXPORT_INVALID;
    case COL_CENTIMES:
        return json_is_integer(v) ? csv_export_cents(csv, json_integer_value(v))
                                  : CSV_EXPORT_INVALID;
    case COL_DATE:
        return json_is_string(v) ? csv_export_date(csv, json_string_value(v)) : CSV_EXPORT_INVALID;
    case COL_BOOLEEN:
        return json_is_boolean(v) ? csv_export_text(csv, json_is_true(v) ? "oui" : "non")
                                  : CSV_EXPORT_INVALID;
    case COL_LISTE:
        break;
    }
    if (!json_is_array(v))
        return CSV_EXPORT_INVALID;
    size_t i, len = 0;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        const json_t *s = c->sous ? json_object_get(item, c->sous) : item;
        if (!json_is_string(s))
            return CSV_EXPORT_INVALID;
        len += json_string_length(s) + 2;
    }
    char *joined = xmalloc(len + 1), *p = joined;
    json_array_foreach(v, i, item)
    {
        const json_t *s = c->sous ? json_object_get(item, c->sous) : item;
        if (i) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        memcpy(p, json_string_value(s), json_string_length(s));
        p += json_string_length(s);
    }
    enum csv_export_status st = csv_export_text_n(csv, joined, (size_t)(p - joined));
    free(joined);
    return st;
}

struct csv_ctx {
    struct csv_export csv;
    const struct colonne *colonnes;
    enum csv_export_status status;
};

static bool csv_element(const char *json, size_t len, void *arg)
{
    struct csv_ctx *c = arg;
    json_t *e = json_loadb(json, len, 0, NULL);
    c->status = e ? CSV_EXPORT_OK : CSV_EXPORT_INVALID;
    for (size_t i = 0; c->status == CSV_EXPORT_OK && c->colonnes[i].entete; i++)
        c->status = write_cell(&c->csv, &c->colonnes[i], e);
    if (c->status == CSV_EXPORT_OK)
        c->status = csv_export_end_row(&c->csv);
    json_decref(e);
    return c->status == CSV_EXPORT_OK;
}

/* ---- JSON --------------------------------------------------------------------- */

struct json_ctx {
    struct pg_buf elements; /* the elements' JSON texts joined by ',' */
    size_t count;
};

static bool json_element(const char *json, size_t len, void *arg)
{
    struct json_ctx *c = arg;
    if (c->count++)
        pg_buf_add(&c->elements, ",", 1);
    pg_buf_add(&c->elements, json, len);
    return !c->elements.oom && c->elements.len <= CSV_EXPORT_MAX_BYTES;
}

/* The JSON document of dataset d: its description, licence, latest
 * modification ("" → null), filters applied, count, then the elements
 * (already JSON). Owned (free()). */
static char *json_document(const struct jeu_def *d, const struct jeu_query *q, const char *derniere,
                           const struct json_ctx *c)
{
    json_t *filtres = json_object();
    if (q->annee)
        json_object_set_new(filtres, "annee", json_string(q->annee));
    if (q->departement)
        json_object_set_new(filtres, "departement", json_string(q->departement));
    json_t *head =
        json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:I}", "jeu_de_donnees", d->id, "titre", d->titre,
                  "licence", licence_json(), "producteur", PRODUCTEUR, "derniere_modification",
                  derniere[0] ? json_string(derniere) : json_null(), "filtres", filtres,
                  "nombre_elements", (json_int_t)c->count);
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    if (!text)
        return NULL;
    size_t n = strlen(text); /* "{…}": the elements go before the closing brace */
    struct pg_buf out = PG_BUF_INIT;
    pg_buf_add(&out, text, n - 1);
    free(text);
    pg_buf_add(&out, ",\"elements\":[", 13);
    if (c->elements.len)
        pg_buf_add(&out, c->elements.data, c->elements.len);
    pg_buf_add(&out, "]}", 2);
    if (out.oom) {
        pg_buf_release(&out);
        return NULL;
    }
    return out.data;
}

/* ---- the dataset routes ---------------------------------------------------------- */

/* The CSV form of jeu read with f: the header row, then one record per
 * element. */
static void respond_csv(struct request_ctx *ctx, enum jeu_ouvert jeu, const struct jeu_filtre *f)
{
    const struct jeu_def *d = &jeux[jeu];
    struct db_error err = {{0}, {0}};
    bool too_many = false, stopped = false;
    char derniere[32];
    struct csv_ctx c = {.colonnes = d->colonnes};
    c.status = csv_export_init(&c.csv, CSV_EXPORT_MAX_BYTES);
    for (size_t i = 0; c.status == CSV_EXPORT_OK && d->colonnes[i].entete; i++)
        c.status = csv_export_text(&c.csv, d->colonnes[i].entete);
    if (c.status == CSV_EXPORT_OK)
        c.status = csv_export_end_row(&c.csv);
    enum db_result r = c.status == CSV_EXPORT_OK
                           ? jeu_ouvert_lire(ctx->app->pool, jeu, f, JEU_MAX_ELEMENTS, csv_element,
                                             &c, &too_many, &stopped, derniere, &err)
                           : DB_OK;
    size_t len = 0;
    char *doc = NULL;
    if (r == DB_OK && !too_many && c.status == CSV_EXPORT_OK)
        doc = csv_export_finish(&c.csv, &len);
    csv_export_release(&c.csv);
    if (r != DB_OK)
        respond_db_error(ctx, r, &err);
    else if (too_many || c.status == CSV_EXPORT_TOO_LARGE)
        respond_too_large(ctx, d);
    else if (!doc) /* a projection out of shape: a bug */
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
    else {
        char disposition[120];
        snprintf(disposition, sizeof disposition, "inline; filename=\"%s.csv\"", d->id);
        u_map_put(ctx->res->map_header, "Content-Disposition", disposition);
        send_conditional(ctx, "text/csv; charset=utf-8", doc, len);
    }
    free(doc);
}

/* The JSON form of jeu read with f (q: the filters, named in the document). */
static void respond_json(struct request_ctx *ctx, enum jeu_ouvert jeu, const struct jeu_filtre *f,
                         const struct jeu_query *q)
{
    const struct jeu_def *d = &jeux[jeu];
    struct db_error err = {{0}, {0}};
    bool too_many = false, stopped = false;
    char derniere[32];
    struct json_ctx c = {PG_BUF_INIT, 0};
    enum db_result r = jeu_ouvert_lire(ctx->app->pool, jeu, f, JEU_MAX_ELEMENTS, json_element, &c,
                                       &too_many, &stopped, derniere, &err);
    char *doc = r == DB_OK && !too_many && !stopped ? json_document(d, q, derniere, &c) : NULL;
    if (r != DB_OK)
        respond_db_error(ctx, r, &err);
    else if (c.elements.oom) /* json_element stopped the read: memory ran out */
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
    else if (too_many || stopped) /* stopped: over CSV_EXPORT_MAX_BYTES */
        respond_too_large(ctx, d);
    else if (!doc)
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
    else
        send_conditional(ctx, "application/json", doc, strlen(doc));
    free(doc);
    pg_buf_release(&c.elements);
}

/* GET of dataset jeu in one form: its filters read (400 on a bad one), then
 * the document of today. */
static void respond_jeu(struct request_ctx *ctx, enum jeu_ouvert jeu, bool csv_form)
{
    struct jeu_query q = {NULL, NULL};
    if (!query_or_reply(ctx, jeux[jeu].query, &q))
        return;
    struct date today;
    char today_text[11];
    programme_today(&today);
    date_format(today, today_text);
    struct jeu_filtre f = {today_text, q.annee, q.departement};
    if (csv_form)
        respond_csv(ctx, jeu, &f);
    else
        respond_json(ctx, jeu, &f, &q);
}

void handle_donnees_laureats_csv(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_LAUREATS, true);
}

void handle_donnees_laureats_json(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_LAUREATS, false);
}

void handle_donnees_fiches_csv(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_FICHES_ACTION, true);
}

void handle_donnees_fiches_json(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_FICHES_ACTION, false);
}

void handle_export_subventions_csv(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_SUBVENTIONS, true);
}

void handle_donnees_subventions_json(struct request_ctx *ctx)
{
    respond_jeu(ctx, JEU_SUBVENTIONS, false);
}

/* ---- the catalogue ---------------------------------------------------------------- */

void handle_donnees_catalogue(struct request_ctx *ctx)
{
    if (!query_or_reply(ctx, query_no_params, NULL))
        return;
    struct date today;
    char today_text[11], derniere[JEU_OUVERT_COUNT][32];
    programme_today(&today);
    date_format(today, today_text);
    struct db_error err = {{0}, {0}};
    enum db_result r = jeux_ouverts_modifications(ctx->app->pool, today_text, derniere, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    json_t *list = json_array();
    for (int j = 0; j < JEU_OUVERT_COUNT; j++) {
        const struct jeu_def *d = &jeux[j];
        char csv[120], json[120];
        snprintf(csv, sizeof csv, BASE "/%s.csv", d->id);
        snprintf(json, sizeof json, BASE "/%s.json", d->id);
        json_t *ressources =
            json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "format", "csv", "type_media",
                      "text/csv; charset=utf-8", "url", csv, "format", "json", "type_media",
                      "application/json", "url", json);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", d->id, "titre", d->titre, "description",
            d->description, "licence", licence_json(), "derniere_modification",
            derniere[j][0] ? json_string(derniere[j]) : json_null(), "schema",
            d->schema ? json_string(d->schema) : json_null(), "ressources", ressources);
        json_array_append_new(list, o);
    }
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o}", "titre",
                            "Données ouvertes du programme Petites villes de demain", "producteur",
                            PRODUCTEUR, "licence", licence_json(), "jeux_de_donnees", list);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    send_conditional(ctx, "application/json", text, strlen(text));
    free(text);
}
