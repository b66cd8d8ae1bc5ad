/* Referential importer: JSON files → domain structures → db (see header). */
#define _POSIX_C_SOURCE 200809L
#include "referentiel_import.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../db/referentiel_repository.h"
#include "../db/transaction.h"
#include "log.h"
#include "xalloc.h"
#include "digest.h"

static const char *const files[] = {"regions.json", "departements.json", "communes.json",
                                    "epci.json"};

struct entry_ctx {
    const char *file;
    size_t index;
    const char *code;
    char *err;
    size_t err_size;
};

static bool entry_fail(struct entry_ctx *e, const char *field, const char *what)
{
    snprintf(e->err, e->err_size, "%s : entrée n° %zu (code « %s ») : champ « %s » %s", e->file,
             e->index + 1, e->code ? e->code : "?", field, what);
    return false;
}

/* A required string of at most max bytes (0: no limit). */
static bool get_string(struct entry_ctx *e, json_t *obj, const char *field, size_t max,
                       const char **out)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_string(v))
        return entry_fail(e, field, v ? "n'est pas une chaîne" : "manquant");
    if (max && json_string_length(v) > max)
        return entry_fail(e, field, "trop long");
    *out = json_string_value(v);
    return true;
}

static bool get_fixed(struct entry_ctx *e, json_t *obj, const char *field, bool required, char *out,
                      size_t size)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return entry_fail(e, field, "manquant");
        out[0] = '\0';
        return true;
    }
    if (!json_is_string(v))
        return entry_fail(e, field, "n'est pas une chaîne");
    if (json_string_length(v) >= size)
        return entry_fail(e, field, "trop long");
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

static bool get_population(struct entry_ctx *e, json_t *obj, const char *field, bool required,
                           int64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return entry_fail(e, field, "manquant");
        *out = REF_NO_POPULATION;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000000)
        return entry_fail(e, field, "n'est pas un entier positif plausible");
    *out = json_integer_value(v);
    return true;
}

static bool get_zone(struct entry_ctx *e, json_t *obj, enum ref_zone *out)
{
    const char *s;
    if (!get_string(e, obj, "zone", 8, &s))
        return false;
    if (!ref_zone_parse(s, out))
        return entry_fail(e, "zone", "n'est pas metro, drom ou com");
    return true;
}

static json_t *load_array(const char *dir, const char *file, char *err, size_t err_size)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, err_size, "%s : JSON invalide ligne %d colonne %d : %s", file, jerr.line,
                 jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_array(root)) {
        snprintf(err, err_size, "%s : un tableau JSON est attendu", file);
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool parse_regions(json_t *arr, struct referentiel *ref, struct entry_ctx *e)
{
    ref->region_count = json_array_size(arr);
    ref->regions = xcalloc(ref->region_count, sizeof *ref->regions);
    for (e->index = 0; e->index < ref->region_count; e->index++) {
        json_t *o = json_array_get(arr, e->index);
        struct ref_region *r = &ref->regions[e->index];
        const char *nom;
        e->code = NULL;
        if (!json_is_object(o))
            return entry_fail(e, "(entrée)", "n'est pas un objet");
        if (!get_fixed(e, o, "code", true, r->code, sizeof r->code))
            return false;
        e->code = r->code;
        if (!get_string(e, o, "nom", 200, &nom) || !get_zone(e, o, &r->zone) ||
            !get_fixed(e, o, "chefLieu", false, r->chef_lieu, sizeof r->chef_lieu))
            return false;
        r->nom = xstrdup(nom);
    }
    return true;
}

static bool parse_departements(json_t *arr, struct referentiel *ref, struct entry_ctx *e)
{
    ref->departement_count = json_array_size(arr);
    ref->departements = xcalloc(ref->departement_count, sizeof *ref->departements);
    for (e->index = 0; e->index < ref->departement_count; e->index++) {
        json_t *o = json_array_get(arr, e->index);
        struct ref_departement *d = &ref->departements[e->index];
        const char *nom;
        e->code = NULL;
        if (!json_is_object(o))
            return entry_fail(e, "(entrée)", "n'est pas un objet");
        if (!get_fixed(e, o, "code", true, d->code, sizeof d->code))
            return false;
        e->code = d->code;
        if (!get_string(e, o, "nom", 200, &nom) ||
            !get_fixed(e, o, "region", true, d->code_region, sizeof d->code_region) ||
            !get_zone(e, o, &d->zone) ||
            !get_fixed(e, o, "chefLieu", false, d->chef_lieu, sizeof d->chef_lieu))
            return false;
        d->nom = xstrdup(nom);
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool parse_commune(json_t *o, struct ref_commune *c, struct entry_ctx *e)
{
    const char *nom, *type;
    e->code = NULL;
    if (!json_is_object(o))
        return entry_fail(e, "(entrée)", "n'est pas un objet");
    if (!get_fixed(e, o, "code", true, c->code_insee, sizeof c->code_insee))
        return false;
    e->code = c->code_insee;
    if (!get_string(e, o, "type", 40, &type))
        return false;
    if (!ref_commune_type_parse(type, &c->type))
        return entry_fail(e, "type", "a une valeur inconnue");
    if (!get_string(e, o, "nom", 200, &nom) || !get_zone(e, o, &c->zone) ||
        !get_fixed(e, o, "siren", false, c->siren, sizeof c->siren) ||
        !get_fixed(e, o, "departement", false, c->code_departement, sizeof c->code_departement) ||
        !get_fixed(e, o, "region", false, c->code_region, sizeof c->code_region) ||
        !get_population(e, o, "population", false, &c->population))
        return false;
    const char *parent_field = c->type == REF_ARRONDISSEMENT_MUNICIPAL ? "commune" : "chefLieu";
    if (!get_fixed(e, o, parent_field, false, c->commune_parente, sizeof c->commune_parente))
        return false;
    if (c->type == REF_COMMUNE_ACTUELLE && c->commune_parente[0])
        c->commune_parente[0] = '\0'; /* chefLieu of an actuelle is not a parent */
    c->nom = xstrdup(nom);
    json_t *cps = json_object_get(o, "codesPostaux");
    if (cps && !json_is_array(cps))
        return entry_fail(e, "codesPostaux", "n'est pas un tableau");
    c->codes_postaux_count = json_array_size(cps);
    c->codes_postaux = xcalloc(c->codes_postaux_count, sizeof *c->codes_postaux);
    for (size_t j = 0; j < c->codes_postaux_count; j++) {
        json_t *cp = json_array_get(cps, j);
        if (!json_is_string(cp) || json_string_length(cp) != 5 ||
            strspn(json_string_value(cp), "0123456789") != 5)
            return entry_fail(e, "codesPostaux", "contient un code postal invalide");
        c->codes_postaux[j] = xstrdup(json_string_value(cp));
    }
    /* Sorted and unique: the source is not always (75056). */
    qsort(c->codes_postaux, c->codes_postaux_count, sizeof *c->codes_postaux, cmp_str);
    size_t kept = 0;
    for (size_t j = 0; j < c->codes_postaux_count; j++) {
        if (kept > 0 && strcmp(c->codes_postaux[kept - 1], c->codes_postaux[j]) == 0)
            free(c->codes_postaux[j]);
        else
            c->codes_postaux[kept++] = c->codes_postaux[j];
    }
    c->codes_postaux_count = kept;
    c->epci = -1;
    return true;
}

static bool parse_communes(json_t *arr, struct referentiel *ref, struct entry_ctx *e)
{
    ref->commune_count = json_array_size(arr);
    ref->communes = xcalloc(ref->commune_count, sizeof *ref->communes);
    for (e->index = 0; e->index < ref->commune_count; e->index++)
        if (!parse_commune(json_array_get(arr, e->index), &ref->communes[e->index], e))
            return false;
    return true;
}

static bool parse_epcis(json_t *arr, struct referentiel *ref, struct entry_ctx *e)
{
    ref->epci_count = json_array_size(arr);
    ref->epcis = xcalloc(ref->epci_count, sizeof *ref->epcis);
    for (e->index = 0; e->index < ref->epci_count; e->index++) {
        json_t *o = json_array_get(arr, e->index);
        struct ref_epci *x = &ref->epcis[e->index];
        const char *nom, *type, *mode;
        e->code = NULL;
        if (!json_is_object(o))
            return entry_fail(e, "(entrée)", "n'est pas un objet");
        if (!get_fixed(e, o, "code", true, x->siren, sizeof x->siren))
            return false;
        e->code = x->siren;
        if (!get_string(e, o, "nom", 300, &nom) || !get_string(e, o, "type", 8, &type) ||
            !get_string(e, o, "modeFinancement", 8, &mode) ||
            !get_population(e, o, "populationTotale", true, &x->population_totale) ||
            !get_population(e, o, "populationMunicipale", true, &x->population_municipale))
            return false;
        if (!ref_epci_type_parse(type, &x->type))
            return entry_fail(e, "type", "n'est pas CC, CA, CU, METRO ou MET69");
        if (!ref_financement_parse(mode, &x->mode_financement))
            return entry_fail(e, "modeFinancement", "n'est pas FPU ou FA");
        x->nom = xstrdup(nom);
        json_t *membres = json_object_get(o, "membres");
        if (!json_is_array(membres))
            return entry_fail(e, "membres", "manquant ou n'est pas un tableau");
        x->membre_count = json_array_size(membres);
        x->membres = xcalloc(x->membre_count, sizeof *x->membres);
        for (size_t j = 0; j < x->membre_count; j++) {
            json_t *m = json_array_get(membres, j);
            if (!json_is_object(m) ||
                !get_fixed(e, m, "code", true, x->membres[j], sizeof x->membres[j]))
                return entry_fail(e, "membres", "contient un membre sans code valide");
        }
    }
    return true;
}

bool referentiel_parse_dir(const char *dir, int millesime, struct referentiel *ref, char *err,
                           size_t err_size)
{
    bool (*const parsers[])(json_t *, struct referentiel *, struct entry_ctx *) = {
        parse_regions, parse_departements, parse_communes, parse_epcis};
    memset(ref, 0, sizeof *ref);
    ref->millesime = millesime;
    for (size_t f = 0; f < 4; f++) {
        json_t *arr = load_array(dir, files[f], err, err_size);
        if (arr == NULL) {
            referentiel_release(ref);
            return false;
        }
        struct entry_ctx e = {files[f], 0, NULL, err, err_size};
        bool ok = parsers[f](arr, ref, &e);
        json_decref(arr);
        if (!ok) {
            referentiel_release(ref);
            return false;
        }
    }
    return true;
}

/* SHA-256 over the four files, hex into out (65 bytes). */
static bool checksum_files(const char *dir, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    bool ok = md && EVP_DigestInit_ex(md, digest_sha256(), NULL);
    for (size_t f = 0; ok && f < 4; f++) {
        char path[4096], buf[65536];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            ok = false;
            break;
        }
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
            ok = ok && EVP_DigestUpdate(md, buf, n);
        fclose(fp);
    }
    ok = ok && EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; ok && i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return ok;
}

struct import_work {
    const struct referentiel *ref;
    const char *source;
    const char *checksum;
    struct referentiel_counts counts;
    bool unchanged;
};

static enum db_result import_unit(struct db_conn *conn, void *ctx, struct db_error *err)
{
    struct import_work *w = ctx;
    char stored[65];
    memset(&w->counts, 0, sizeof w->counts);
    w->unchanged = false;
    enum db_result r = referentiel_repository_checksum(conn, stored, err);
    if (r == DB_OK && strcmp(stored, w->checksum) == 0) {
        w->unchanged = true;
        return DB_OK;
    }
    if (r != DB_OK && r != DB_NOT_FOUND)
        return r;
    return referentiel_repository_replace(conn, w->ref, w->source, w->checksum, &w->counts, err);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int referentiel_import_run(struct db_pool *pool, const char *dir, int millesime, const char *source)
{
    struct referentiel ref;
    char err[512], checksum[65], figures[256];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (!checksum_files(dir, checksum)) {
        log_line(LOG_ERROR, NULL, "référentiel illisible", "dossier", dir, (const char *)NULL);
        return 1;
    }
    if (!referentiel_parse_dir(dir, millesime, &ref, err, sizeof err)) {
        log_line(LOG_ERROR, NULL, "référentiel refusé", "erreur", err, (const char *)NULL);
        return 1;
    }
    if (!referentiel_index(&ref, err, sizeof err)) {
        log_line(LOG_ERROR, NULL, "référentiel refusé", "erreur", err, (const char *)NULL);
        referentiel_release(&ref);
        return 1;
    }
    double parse_s = seconds_since(&t0);
    struct import_work work = {&ref, source, checksum, {0, 0, 0}, false};
    struct db_error dberr = {{0}, {0}};
    enum db_result r =
        db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, import_unit, &work, &dberr);
    if (r != DB_OK) {
        log_line(LOG_ERROR, NULL, "import du référentiel échoué, rien n'a été écrit", "sqlstate",
                 dberr.sqlstate, "erreur", dberr.message, (const char *)NULL);
        referentiel_release(&ref);
        return 1;
    }
    snprintf(figures, sizeof figures,
             "communes=%zu actuelles=%zu epci=%zu inseres=%ld modifies=%ld supprimes=%ld "
             "analyse_s=%.2f total_s=%.2f",
             ref.commune_count, ref.actuelle_count, ref.epci_count, work.counts.inserted,
             work.counts.updated, work.counts.deleted, parse_s, seconds_since(&t0));
    log_line(LOG_INFO, NULL,
             work.unchanged ? "référentiel déjà chargé à l'identique: rien à faire"
                            : "référentiel chargé",
             "source", source, "checksum", checksum, "chiffres", figures, (const char *)NULL);
    referentiel_release(&ref);
    return 0;
}
