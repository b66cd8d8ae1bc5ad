/* The JSON of the programme parameters: see parametres_json.h. */
#include "parametres_json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json_spec.h"
#include "xalloc.h"

/* ---- Rendering ------------------------------------------------------------ */

static json_t *date_json(struct date d)
{
    char text[11];
    date_format(d, text);
    return xjson(json_string(text));
}

static json_t *integer(int64_t v)
{
    return xjson(json_integer((json_int_t)v));
}

static json_t *cdp_json(const struct parametres_cdp *c)
{
    json_t *financeurs = xjson(json_object());
    for (int f = 0; f < CDP_FINANCEUR__COUNT; f++)
        json_object_set_new(
            financeurs, cdp_financeur_name((enum cdp_financeur)f),
            xjson(json_pack("{sIsI}", "taux_max", (json_int_t)c->financeurs[f].taux_max,
                            "plafond_annuel_centimes",
                            (json_int_t)c->financeurs[f].plafond_annuel)));
    json_t *o = xjson(json_object());
    json_object_set_new(o, "annee_debut", integer(c->annee_debut));
    json_object_set_new(o, "taux_max", integer(c->taux_max));
    json_object_set_new(o, "taux_premier_versement", integer(c->taux_premier_versement));
    json_object_set_new(o, "plafond_annuel_centimes", integer(c->plafond_annuel));
    json_object_set_new(o, "plafond_annuel_avec_anah_centimes",
                        integer(c->plafond_annuel_avec_anah));
    json_object_set_new(o, "financeurs", financeurs);
    return o;
}

json_t *parametres_json_document(const struct parametres *p)
{
    json_t *programme = xjson(json_object());
    json_object_set_new(programme, "date_lancement", date_json(p->date_lancement));
    json_object_set_new(programme, "date_fin", date_json(p->date_fin));
    json_object_set_new(programme, "fin_cofinancement_cdp", date_json(p->fin_cofinancement_cdp));

    json_t *cdp = xjson(json_array());
    for (size_t i = 0; i < p->chef_projet_count && i < PARAMETRES_CDP_MAX; i++)
        json_array_append_new(cdp, cdp_json(&p->chef_projet[i]));

    const struct parametres_delais *d = &p->delais;
    json_t *delais = xjson(json_object());
    json_object_set_new(delais, "rejet_implicite_mois", integer(d->rejet_implicite_mois));
    json_object_set_new(delais, "caducite_annees", integer(d->caducite_annees));
    json_object_set_new(delais, "caducite_prolongation_annees",
                        integer(d->caducite_prolongation_annees));
    json_object_set_new(delais, "forclusion_annees", integer(d->forclusion_annees));
    json_object_set_new(delais, "forclusion_prolongation_annees",
                        integer(d->forclusion_prolongation_annees));
    json_object_set_new(delais, "seuil_commission_detr_centimes",
                        integer(d->seuil_commission_detr));
    json_object_set_new(delais, "avance_taux_max", integer(d->avance_taux_max));
    json_object_set_new(delais, "avance_taux_max_garantie", integer(d->avance_taux_max_garantie));

    json_t *limites = xjson(json_array());
    for (size_t i = 0; i < p->dates_limites_count && i < PARAMETRES_DATES_LIMITES_MAX; i++) {
        const struct parametres_date_limite *l = &p->dates_limites[i];
        json_t *o = xjson(json_object());
        json_object_set_new(o, "dispositif",
                            xjson(json_string(subvention_dispositif_name(l->dispositif))));
        json_object_set_new(o, "annee", integer(l->annee));
        json_object_set_new(o, "code_departement", xjson(json_string(l->code_departement)));
        json_object_set_new(o, "date_limite", date_json(l->date_limite));
        json_array_append_new(limites, o);
    }

    json_t *doc = xjson(json_object());
    json_object_set_new(doc, "programme", programme);
    json_object_set_new(doc, "chef_projet", cdp);
    json_object_set_new(doc, "delais", delais);
    json_object_set_new(doc, "dates_limites_depot", limites);
    return doc;
}

/* ---- Reading -------------------------------------------------------------- */

/* Years, months and counts: wide enough for parametres_check to judge, small
 * enough for an int. */
#define SMALL_MIN (-1000000)
#define SMALL_MAX 1000000

#define REQ(n, k, type, member)                                                                    \
    {                                                                                              \
        .name = (n), .kind = (k), .offset = offsetof(type, member),                                \
        .on_create = JSON_CREATE_REQUIRED                                                          \
    }
#define SMALL(n, type, member)                                                                     \
    {                                                                                              \
        .name = (n), .kind = JSON_FIELD_INTEGER, .offset = offsetof(type, member),                 \
        .on_create = JSON_CREATE_REQUIRED, .min = SMALL_MIN, .max = SMALL_MAX                      \
    }
#define NESTED(n, type, member, spec)                                                              \
    {                                                                                              \
        .name = (n), .kind = JSON_FIELD_OBJECT, .offset = offsetof(type, member),                  \
        .on_create = JSON_CREATE_REQUIRED, .fields = (spec)                                        \
    }

struct w_financeurs {
    struct parametres_plafond f[CDP_FINANCEUR__COUNT];
};
struct w_cdp {
    int64_t annee_debut;
    struct parametres_cdp c; /* all but annee_debut */
    struct w_financeurs financeurs;
};
struct w_delais {
    int64_t mois, caducite, caducite_prol, forclusion, forclusion_prol;
    struct parametres_delais d; /* the int64_t members */
};
struct w_limite {
    const char *dispositif, *code_departement;
    int64_t annee;
    struct date date_limite;
};
struct w_body {
    struct date date_effet;
    struct parametres_programme_w {
        struct date date_lancement, date_fin, fin_cofinancement_cdp;
    } programme;
    const json_t *chef_projet, *dates_limites_depot, *pieces_requises;
    struct w_delais delais;
};

static const struct json_field plafond_fields[] = {
    REQ("taux_max", JSON_FIELD_INTEGER, struct parametres_plafond, taux_max),
    REQ("plafond_annuel_centimes", JSON_FIELD_INTEGER, struct parametres_plafond, plafond_annuel),
    JSON_FIELDS_END,
};
static const struct json_field financeurs_fields[] = {
    NESTED("anct_etat", struct w_financeurs, f[CDP_FINANCEUR_ANCT_ETAT], plafond_fields),
    NESTED("bdt", struct w_financeurs, f[CDP_FINANCEUR_BDT], plafond_fields),
    NESTED("anah", struct w_financeurs, f[CDP_FINANCEUR_ANAH], plafond_fields),
    JSON_FIELDS_END,
};
static const struct json_field cdp_fields[] = {
    SMALL("annee_debut", struct w_cdp, annee_debut),
    REQ("taux_max", JSON_FIELD_INTEGER, struct w_cdp, c.taux_max),
    REQ("taux_premier_versement", JSON_FIELD_INTEGER, struct w_cdp, c.taux_premier_versement),
    REQ("plafond_annuel_centimes", JSON_FIELD_INTEGER, struct w_cdp, c.plafond_annuel),
    REQ("plafond_annuel_avec_anah_centimes", JSON_FIELD_INTEGER, struct w_cdp,
        c.plafond_annuel_avec_anah),
    NESTED("financeurs", struct w_cdp, financeurs, financeurs_fields),
    JSON_FIELDS_END,
};
static const struct json_field delais_fields[] = {
    SMALL("rejet_implicite_mois", struct w_delais, mois),
    SMALL("caducite_annees", struct w_delais, caducite),
    SMALL("caducite_prolongation_annees", struct w_delais, caducite_prol),
    SMALL("forclusion_annees", struct w_delais, forclusion),
    SMALL("forclusion_prolongation_annees", struct w_delais, forclusion_prol),
    REQ("seuil_commission_detr_centimes", JSON_FIELD_INTEGER, struct w_delais,
        d.seuil_commission_detr),
    REQ("avance_taux_max", JSON_FIELD_INTEGER, struct w_delais, d.avance_taux_max),
    REQ("avance_taux_max_garantie", JSON_FIELD_INTEGER, struct w_delais,
        d.avance_taux_max_garantie),
    JSON_FIELDS_END,
};
static const struct json_field limite_fields[] = {
    REQ("dispositif", JSON_FIELD_STRING, struct w_limite, dispositif),
    SMALL("annee", struct w_limite, annee),
    {.name = "code_departement",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct w_limite, code_departement),
     .on_create = JSON_CREATE_REQUIRED,
     .max_length = 3},
    REQ("date_limite", JSON_FIELD_DATE, struct w_limite, date_limite),
    JSON_FIELDS_END,
};
static const struct json_field programme_fields[] = {
    REQ("date_lancement", JSON_FIELD_DATE, struct parametres_programme_w, date_lancement),
    REQ("date_fin", JSON_FIELD_DATE, struct parametres_programme_w, date_fin),
    REQ("fin_cofinancement_cdp", JSON_FIELD_DATE, struct parametres_programme_w,
        fin_cofinancement_cdp),
    JSON_FIELDS_END,
};
static const struct json_field body_fields[] = {
    REQ("date_effet", JSON_FIELD_DATE, struct w_body, date_effet),
    NESTED("programme", struct w_body, programme, programme_fields),
    REQ("chef_projet", JSON_FIELD_VALUE, struct w_body, chef_projet),
    NESTED("delais", struct w_body, delais, delais_fields),
    REQ("dates_limites_depot", JSON_FIELD_VALUE, struct w_body, dates_limites_depot),
    REQ("pieces_requises", JSON_FIELD_VALUE, struct w_body, pieces_requises),
    JSON_FIELDS_END,
};

static bool is_dispositif(const char *s)
{
    enum subvention_dispositif d;
    return subvention_dispositif_parse(s, &d);
}

struct w_pieces {
    const char *dispositif;
    int64_t annee;
    const json_t *pieces;
};
static const struct json_field pieces_fields[] = {
    {.name = "dispositif",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct w_pieces, dispositif),
     .on_create = JSON_CREATE_REQUIRED,
     .check = is_dispositif,
     .check_message = "Dispositif attendu : chef_de_projet_pvd, DETR, DSIL, "
                      "fonds_vert_recyclage_foncier, FNADT ou autre."},
    {.name = "annee",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct w_pieces, annee),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 1900,
     .max = 2999},
    REQ("pieces", JSON_FIELD_VALUE, struct w_pieces, pieces),
    JSON_FIELDS_END,
};

/* The texts of one entry at pointer (an array of 1..PARAMETRES_PIECES_PAR_ENTREE_MAX
 * strings of 1..PARAMETRES_PIECE_MAX bytes, no NUL): a new array, or NULL
 * with errors added. */
static json_t *read_texts(const json_t *v, const char *pointer, struct field_errors *errs)
{
    char item[96];
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > PARAMETRES_PIECES_PAR_ENTREE_MAX) {
        field_errors_add(errs, pointer, NULL, json_is_array(v) ? "hors-bornes" : "type-invalide",
                         "Un tableau de 1 à %d pièces est attendu.",
                         PARAMETRES_PIECES_PAR_ENTREE_MAX);
        return NULL;
    }
    json_t *out = xjson(json_array());
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(v, i);
        snprintf(item, sizeof item, "%s/%zu", pointer, i);
        if (!json_is_string(t)) {
            field_errors_add(errs, item, NULL, "type-invalide", "Un texte est attendu.");
            ok = false;
        } else if (json_string_length(t) == 0 || json_string_length(t) > PARAMETRES_PIECE_MAX ||
                   strlen(json_string_value(t)) != json_string_length(t)) {
            field_errors_add(errs, item, NULL, "longueur-invalide",
                             "Une pièce est un texte de 1 à %d octets, sans caractère NUL.",
                             PARAMETRES_PIECE_MAX);
            ok = false;
        } else {
            json_array_append_new(out, xjson(json_string(json_string_value(t))));
        }
    }
    if (!ok)
        json_decref(out);
    return ok ? out : NULL;
}

/* pieces_requises (see parametres_json.h): a new normalised array, or NULL
 * with errors added. */
static json_t *read_pieces(const json_t *v, struct field_errors *errs)
{
    char pointer[64];
    if (!json_is_array(v) || json_array_size(v) > PARAMETRES_PIECES_MAX) {
        field_errors_add(errs, "/pieces_requises", NULL,
                         json_is_array(v) ? "hors-bornes" : "type-invalide",
                         "Un tableau d'au plus %d entrées est attendu.", PARAMETRES_PIECES_MAX);
        return NULL;
    }
    json_t *out = xjson(json_array());
    bool ok = true;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        struct w_pieces w;
        memset(&w, 0, sizeof w);
        snprintf(pointer, sizeof pointer, "/pieces_requises/%zu", i);
        if (!json_is_object(e)) {
            field_errors_add(errs, pointer, NULL, "type-invalide", "Un objet est attendu.");
            ok = false;
            continue;
        }
        if (!json_spec_apply(e, pieces_fields, JSON_SPEC_CREATE, &w, pointer, errs)) {
            ok = false;
            continue;
        }
        for (size_t j = 0; j < json_array_size(out); j++) {
            const json_t *o = json_array_get(out, j);
            if (strcmp(json_string_value(json_object_get(o, "dispositif")), w.dispositif) == 0 &&
                json_integer_value(json_object_get(o, "annee")) == w.annee) {
                field_errors_add(errs, pointer, NULL, "doublon",
                                 "Ce dispositif a déjà ses pièces pour cette année (entrée %zu).",
                                 j);
                ok = false;
            }
        }
        char texts_pointer[80];
        snprintf(texts_pointer, sizeof texts_pointer, "%s/pieces", pointer);
        json_t *texts = read_texts(w.pieces, texts_pointer, errs);
        if (!texts) {
            ok = false;
            continue;
        }
        json_array_append_new(out, xjson(json_pack("{sssIso}", "dispositif", w.dispositif, "annee",
                                                   (json_int_t)w.annee, "pieces", texts)));
    }
    if (!ok)
        json_decref(out);
    return ok ? out : NULL;
}

/* The elements of the array `value` at /name: each object is applied spec
 * into item (item_size bytes, zeroed first) and given to take(i) for the
 * first `max`; returns the count to record (the array's size, capped at
 * max + 1). */
static size_t read_array(const json_t *value, const char *name, const struct json_field *spec,
                         void *item, size_t item_size, size_t max,
                         void (*take)(struct parametres *, size_t, const void *),
                         struct parametres *out, struct field_errors *errs)
{
    char pointer[64];
    snprintf(pointer, sizeof pointer, "/%s", name);
    if (!json_is_array(value)) {
        field_errors_add(errs, pointer, NULL, "type-invalide", "Un tableau est attendu.");
        return 0;
    }
    size_t size = json_array_size(value);
    for (size_t i = 0; i < size && i < max; i++) {
        const json_t *e = json_array_get(value, i);
        snprintf(pointer, sizeof pointer, "/%s/%zu", name, i);
        memset(item, 0, item_size);
        if (!json_is_object(e))
            field_errors_add(errs, pointer, NULL, "type-invalide", "Un objet est attendu.");
        else if (json_spec_apply(e, spec, JSON_SPEC_CREATE, item, pointer, errs))
            take(out, i, item);
    }
    return size > max ? max + 1 : size;
}

static void take_cdp(struct parametres *out, size_t i, const void *item)
{
    const struct w_cdp *w = item;
    struct parametres_cdp *c = &out->chef_projet[i];
    *c = w->c;
    c->annee_debut = (int)w->annee_debut;
    memcpy(c->financeurs, w->financeurs.f, sizeof c->financeurs);
}

static void take_limite(struct parametres *out, size_t i, const void *item)
{
    const struct w_limite *w = item;
    struct parametres_date_limite *l = &out->dates_limites[i];
    if (!subvention_dispositif_parse(w->dispositif, &l->dispositif))
        l->dispositif = SUBVENTION_DISPOSITIF__COUNT;
    l->annee = (int)w->annee;
    snprintf(l->code_departement, sizeof l->code_departement, "%s", w->code_departement);
    l->date_limite = w->date_limite;
}

bool parametres_json_read(const json_t *body, struct parametres *out, struct date *date_effet,
                          json_t **pieces, struct field_errors *errs)
{
    struct w_body w;
    size_t before = errs->count + errs->dropped;
    memset(&w, 0, sizeof w);
    memset(out, 0, sizeof *out);
    json_spec_apply(body, body_fields, JSON_SPEC_CREATE, &w, "", errs);
    *date_effet = w.date_effet;
    out->date_lancement = w.programme.date_lancement;
    out->date_fin = w.programme.date_fin;
    out->fin_cofinancement_cdp = w.programme.fin_cofinancement_cdp;
    out->delais = w.delais.d;
    out->delais.rejet_implicite_mois = (int)w.delais.mois;
    out->delais.caducite_annees = (int)w.delais.caducite;
    out->delais.caducite_prolongation_annees = (int)w.delais.caducite_prol;
    out->delais.forclusion_annees = (int)w.delais.forclusion;
    out->delais.forclusion_prolongation_annees = (int)w.delais.forclusion_prol;
    if (w.chef_projet) {
        struct w_cdp item;
        out->chef_projet_count = read_array(w.chef_projet, "chef_projet", cdp_fields, &item,
                                            sizeof item, PARAMETRES_CDP_MAX, take_cdp, out, errs);
    }
    if (w.dates_limites_depot) {
        struct w_limite item;
        out->dates_limites_count =
            read_array(w.dates_limites_depot, "dates_limites_depot", limite_fields, &item,
                       sizeof item, PARAMETRES_DATES_LIMITES_MAX, take_limite, out, errs);
    }
    *pieces = w.pieces_requises ? read_pieces(w.pieces_requises, errs) : NULL;
    return errs->count + errs->dropped == before;
}
