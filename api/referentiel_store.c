/* In-memory referential snapshots (see referentiel_store.h). */
#define _POSIX_C_SOURCE 200809L
#include "referentiel_store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/referentiel_repository.h"
#include "http.h"
#include "xalloc.h"

struct holder {
    struct referentiel_snapshot snap;
    unsigned long refs; /* guarded by the store mutex */
};

struct referentiel_store {
    pthread_mutex_t lock;
    struct holder *current;
};

static void render(struct rendered *out, json_t *j)
{
    out->json = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out->json == NULL)
        die_bug("json_dumps failed");
    out->len = strlen(out->json);
    json_decref(j);
    http_etag(out->json, out->len, out->etag);
}

static json_t *opt_string(const char *s)
{
    return s[0] ? xjson(json_string(s)) : json_null();
}

static json_t *opt_int(int64_t v)
{
    return v >= 0 ? xjson(json_integer(v)) : json_null();
}

static json_t *commune_resume_json(const struct referentiel *ref, const struct ref_commune *c)
{
    return xjson(
        json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:s}", "code_insee", c->code_insee, "nom",
                  c->nom, "siren", opt_string(c->siren), "code_departement", c->code_departement,
                  "code_region", c->code_region, "epci_siren",
                  c->epci >= 0 ? xjson(json_string(ref->epcis[c->epci].siren)) : json_null(),
                  "population", opt_int(c->population), "zone", ref_zone_name(c->zone)));
}

static json_t *commune_detail_json(const struct referentiel *ref, const struct ref_commune *c)
{
    json_t *j = commune_resume_json(ref, c);
    json_t *cps = xjson(json_array());
    for (size_t i = 0; i < c->codes_postaux_count; i++)
        json_array_append_new(cps, xjson(json_string(c->codes_postaux[i])));
    json_object_set_new(j, "codes_postaux", cps);
    const struct ref_departement *d = referentiel_find_departement(ref, c->code_departement);
    const struct ref_region *r = referentiel_find_region(ref, c->code_region);
    json_object_set_new(j, "departement",
                        d ? xjson(json_pack("{s:s, s:s}", "code", d->code, "nom", d->nom))
                          : json_null());
    json_object_set_new(j, "region",
                        r ? xjson(json_pack("{s:s, s:s}", "code", r->code, "nom", r->nom))
                          : json_null());
    if (c->epci >= 0) {
        const struct ref_epci *e = &ref->epcis[c->epci];
        json_object_set_new(j, "epci",
                            xjson(json_pack("{s:s, s:s, s:s}", "siren", e->siren, "nom", e->nom,
                                            "type", ref_epci_type_name(e->type))));
    } else {
        json_object_set_new(j, "epci", json_null());
    }
    json_object_set_new(j, "millesime", xjson(json_integer(ref->millesime)));
    return j;
}

static json_t *epci_resume_json(const struct ref_epci *e)
{
    json_t *deps = xjson(json_array());
    for (size_t i = 0; i < e->departement_count; i++)
        json_array_append_new(deps, xjson(json_string(e->departements[i])));
    return xjson(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "siren", e->siren, "nom",
                           e->nom, "type", ref_epci_type_name(e->type), "mode_financement",
                           ref_financement_name(e->mode_financement), "population_totale",
                           (json_int_t)e->population_totale, "population_municipale",
                           (json_int_t)e->population_municipale, "nombre_membres",
                           (json_int_t)e->membre_count, "departements", deps));
}

static json_t *epci_detail_json(const struct referentiel *ref, const struct ref_epci *e)
{
    json_t *j = epci_resume_json(e);
    json_t *membres = xjson(json_array());
    for (size_t i = 0; i < e->membre_count; i++) {
        const struct ref_commune *c = &ref->communes[e->membre_index[i]];
        json_array_append_new(
            membres,
            xjson(json_pack("{s:s, s:s, s:o, s:o}", "code_insee", c->code_insee, "nom", c->nom,
                            "siren", opt_string(c->siren), "population", opt_int(c->population))));
    }
    json_object_set_new(j, "membres", membres);
    json_object_set_new(j, "millesime", xjson(json_integer(ref->millesime)));
    return j;
}

static void snapshot_render(struct referentiel_snapshot *s)
{
    const struct referentiel *ref = &s->ref;
    s->commune_resume = xcalloc(ref->commune_count, sizeof *s->commune_resume);
    s->commune_detail = xcalloc(ref->commune_count, sizeof *s->commune_detail);
    for (size_t k = 0; k < ref->actuelle_count; k++) {
        size_t i = ref->actuelles[k];
        render(&s->commune_resume[i], commune_resume_json(ref, &ref->communes[i]));
        render(&s->commune_detail[i], commune_detail_json(ref, &ref->communes[i]));
    }
    s->epci_resume = xcalloc(ref->epci_count, sizeof *s->epci_resume);
    s->epci_detail = xcalloc(ref->epci_count, sizeof *s->epci_detail);
    for (size_t i = 0; i < ref->epci_count; i++) {
        render(&s->epci_resume[i], epci_resume_json(&ref->epcis[i]));
        render(&s->epci_detail[i], epci_detail_json(ref, &ref->epcis[i]));
    }
    s->region = xcalloc(ref->region_count, sizeof *s->region);
    for (size_t i = 0; i < ref->region_count; i++) {
        const struct ref_region *r = &ref->regions[i];
        render(&s->region[i],
               xjson(json_pack("{s:s, s:s, s:s, s:o}", "code", r->code, "nom", r->nom, "zone",
                               ref_zone_name(r->zone), "chef_lieu", opt_string(r->chef_lieu))));
    }
    s->departement = xcalloc(ref->departement_count, sizeof *s->departement);
    for (size_t i = 0; i < ref->departement_count; i++) {
        const struct ref_departement *d = &ref->departements[i];
        render(&s->departement[i],
               xjson(json_pack("{s:s, s:s, s:s, s:s, s:o}", "code", d->code, "nom", d->nom,
                               "code_region", d->code_region, "zone", ref_zone_name(d->zone),
                               "chef_lieu", opt_string(d->chef_lieu))));
    }
}

static void free_rendered(struct rendered *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].json);
    free(r);
}

static void holder_free(struct holder *h)
{
    struct referentiel_snapshot *s = &h->snap;
    free_rendered(s->commune_resume, s->ref.commune_count);
    free_rendered(s->commune_detail, s->ref.commune_count);
    free_rendered(s->epci_resume, s->ref.epci_count);
    free_rendered(s->epci_detail, s->ref.epci_count);
    free_rendered(s->region, s->ref.region_count);
    free_rendered(s->departement, s->ref.departement_count);
    referentiel_release(&s->ref);
    free(h);
}

struct referentiel_store *referentiel_store_new(void)
{
    struct referentiel_store *store = xcalloc(1, sizeof *store);
    pthread_mutex_init(&store->lock, NULL);
    return store;
}

void referentiel_store_free(struct referentiel_store *store)
{
    if (store == NULL)
        return;
    if (store->current)
        holder_free(store->current);
    pthread_mutex_destroy(&store->lock);
    free(store);
}

struct referentiel_snapshot *referentiel_store_acquire(struct referentiel_store *store)
{
    pthread_mutex_lock(&store->lock);
    struct holder *h = store->current;
    if (h)
        h->refs++;
    pthread_mutex_unlock(&store->lock);
    return h ? &h->snap : NULL;
}

void referentiel_snapshot_release(struct referentiel_store *store,
                                  struct referentiel_snapshot *snap)
{
    if (snap == NULL)
        return;
    struct holder *h = (struct holder *)snap; /* snap is the first member */
    pthread_mutex_lock(&store->lock);
    bool last = --h->refs == 0;
    pthread_mutex_unlock(&store->lock);
    if (last)
        holder_free(h);
}

enum db_result referentiel_store_refresh(struct referentiel_store *store, struct db_pool *pool,
                                         bool *changed, char *err, size_t err_size)
{
    struct db_conn *conn = NULL;
    struct db_error dberr = {{0}, {0}};
    char stored[65] = "";
    *changed = false;
    enum db_result r = db_pool_acquire(pool, &conn, &dberr);
    if (r != DB_OK) {
        snprintf(err, err_size, "base indisponible : %s", dberr.message);
        return r;
    }
    r = referentiel_repository_checksum(conn, stored, &dberr);
    if (r == DB_OK) {
        struct referentiel_snapshot *cur = referentiel_store_acquire(store);
        bool same = cur && strcmp(cur->checksum, stored) == 0;
        referentiel_snapshot_release(store, cur);
        if (same) {
            db_pool_release(pool, conn);
            return DB_OK;
        }
    }
    struct holder *h = NULL;
    if (r == DB_OK) {
        h = xcalloc(1, sizeof *h);
        /* One consistent read of all tables. */
        PGresult *begin = PQexec(conn->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        PQclear(begin);
        r = referentiel_repository_load(conn, &h->snap.ref, h->snap.checksum, &dberr);
        PQclear(PQexec(conn->pg, "COMMIT"));
    }
    db_pool_release(pool, conn);
    if (r != DB_OK) {
        snprintf(err, err_size, "%s", r == DB_NOT_FOUND ? "référentiel non chargé" : dberr.message);
        free(h);
        return r;
    }
    if (!referentiel_index(&h->snap.ref, err, err_size)) {
        holder_free(h);
        return DB_FAILED;
    }
    snapshot_render(&h->snap);
    h->refs = 1;
    pthread_mutex_lock(&store->lock);
    struct holder *old = store->current;
    store->current = h;
    bool free_old = old && --old->refs == 0;
    pthread_mutex_unlock(&store->lock);
    if (free_old)
        holder_free(old);
    *changed = true;
    return DB_OK;
}
