/* In-memory referential snapshots (see referentiel_store.h). */
#define _POSIX_C_SOURCE 200809L
#include "referentiel_store.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/referentiel_repository.h"
#include "http.h"
#include "query.h"
#include "xalloc.h"

struct holder {
    struct referentiel_snapshot snap;
    unsigned long refs; /* guarded by the store mutex */
};

struct referentiel_store {
    pthread_mutex_t lock;
    struct holder *current;
};

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

/* A growable byte buffer. */
struct bytes {
    char *p;
    size_t len, cap;
};

static void bytes_add(struct bytes *b, const char *s, size_t n)
{
    if (n == 0)
        return; /* b->p may still be NULL */
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static int dump_to_bytes(const char *buffer, size_t size, void *data)
{
    bytes_add(data, buffer, size);
    return 0;
}

/* Renders j (consumed) into out, emptied first: the bytes json_dumps gives. */
static void dump(struct bytes *out, json_t *j)
{
    out->len = 0;
    if (json_dump_callback(j, dump_to_bytes, out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
        die_bug("json_dump_callback failed");
    json_decref(j);
}

/* The text is compact JSON where each member name below, with its
 * punctuation, is one byte: its index (1..31). JSON text never holds a raw
 * byte under 0x20 (jansson escapes them in strings) and a member name with its
 * quotes cannot occur inside a string, so the substitution is exact both ways.
 * About half of a commune's bytes are member names. */
/* Longest name; NAME fails to compile on a longer one (negative array size). */
#define NAME_MAX_LEN 32
#define NAME(text)                                                                                 \
    {                                                                                              \
        text, sizeof(char[sizeof text <= NAME_MAX_LEN ? sizeof text - 1 : -1])                     \
    }
static const struct {
    const char *text;
    size_t len;
} names[] = {
    {NULL, 0},
    NAME("{\"code_insee\":"),
    NAME(",\"nom\":"),
    NAME(",\"siren\":"),
    NAME(",\"code_departement\":"),
    NAME(",\"code_region\":"),
    NAME(",\"epci_siren\":"),
    NAME(",\"population\":"),
    NAME(",\"zone\":"),
    NAME(",\"codes_postaux\":"),
    NAME("{\"siren\":"),
    NAME(",\"type\":"),
    NAME(",\"mode_financement\":"),
    NAME(",\"population_totale\":"),
    NAME(",\"population_municipale\":"),
    NAME(",\"nombre_membres\":"),
    NAME(",\"departements\":"),
    NAME(",\"membres\":"),
    NAME(",\"millesime\":"),
    NAME(",\"departement\":"),
    NAME(",\"region\":"),
    NAME(",\"epci\":"),
    NAME("{\"code\":"),
    NAME(",\"chef_lieu\":"),
};
#define NAME_COUNT (sizeof names / sizeof *names)
_Static_assert(NAME_COUNT <= 0x20, "a name's byte must stay under 0x20");

/* Appends s[0..n) to out with every name replaced by its byte. */
static void encode(struct bytes *out, const char *s, size_t n)
{
    size_t i = 0, from = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20)
            die_bug("control byte in rendered JSON");
        size_t k = 0, len = 0;
        if (ch == ',' || ch == '{') {
            for (k = 1; k < NAME_COUNT; k++) {
                len = names[k].len;
                if (len <= n - i && memcmp(s + i, names[k].text, len) == 0)
                    break;
            }
        }
        if (k == 0 || k == NAME_COUNT) {
            i++;
            continue;
        }
        bytes_add(out, s + from, i - from);
        char code = (char)k;
        bytes_add(out, &code, 1);
        i += len;
        from = i;
    }
    bytes_add(out, s + from, n - from);
}

/* The decoded length of the encoded bytes e[0..n). */
static size_t decoded_len(const char *e, size_t n)
{
    size_t len = n;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)e[i] < 0x20)
            len += names[(unsigned char)e[i]].len - 1;
    return len;
}

/* The number of bytes before the first code of e[0..n) (n: none), eight at a
 * time: a word holds a byte under 0x20 when (x - 0x20..20) & ~x & 0x80..80. */
static size_t plain_run(const char *e, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, e + i, 8);
        if ((x - 0x2020202020202020ull) & ~x & 0x8080808080808080ull)
            break;
    }
    while (i < n && (unsigned char)e[i] >= 0x20)
        i++;
    return i;
}

/* Writes the decoded bytes of e[0..n) to out (at most n * NAME_MAX_LEN);
 * returns the end of what it wrote. */
static char *decode(const char *e, size_t n, char *out)
{
    while (n > 0) {
        size_t run = plain_run(e, n);
        memcpy(out, e, run);
        out += run;
        e += run;
        n -= run;
        if (n > 0) {
            unsigned char code = (unsigned char)*e++;
            n--;
            memcpy(out, names[code].text, names[code].len);
            out += names[code].len;
        }
    }
    return out;
}

/* A shared tail of the text (open addressing on its hash; len 0: free). */
struct tail {
    uint64_t hash;
    uint32_t off, len;
};

/* The snapshot's text being written, with the scratch of one rendering. */
struct builder {
    struct bytes text;
    struct bytes resume, detail, enc; /* scratch */
    struct tail *tails;
    size_t tail_cap, tail_count;
    uint32_t close_off; /* a lone "}" */
};

static void check_size(const struct bytes *text)
{
    if (text->len > UINT32_MAX)
        die_bug("referentiel text above 4 GB");
}

/* Appends s[0..n) encoded to the text: its offset, *len its encoded length. */
static uint32_t text_add(struct builder *b, const char *s, size_t n, uint32_t *len)
{
    size_t off = b->text.len;
    encode(&b->text, s, n);
    check_size(&b->text);
    *len = (uint32_t)(b->text.len - off);
    return (uint32_t)off;
}

static struct tail *tail_slot(struct tail *tails, size_t cap, uint64_t hash, const char *text,
                              const char *s, size_t n)
{
    for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1)) {
        struct tail *t = &tails[i];
        if (t->len == 0 || (t->hash == hash && t->len == n && memcmp(text + t->off, s, n) == 0))
            return t;
    }
}

/* The offset of s[0..n) (n > 0) encoded in the text, written once for equal
 * tails; *len its encoded length. */
static uint32_t tail_add(struct builder *b, const char *s, size_t n, uint32_t *len)
{
    if (2 * (b->tail_count + 1) > b->tail_cap) { /* load <= 1/2 */
        size_t cap = b->tail_cap ? 2 * b->tail_cap : 1024;
        struct tail *tails = xcalloc(cap, sizeof *tails);
        for (size_t i = 0; i < b->tail_cap; i++) {
            const struct tail *t = &b->tails[i];
            if (t->len)
                *tail_slot(tails, cap, t->hash, b->text.p, b->text.p + t->off, t->len) = *t;
        }
        free(b->tails);
        b->tails = tails;
        b->tail_cap = cap;
    }
    b->enc.len = 0;
    encode(&b->enc, s, n);
    const char *e = b->enc.p;
    size_t en = b->enc.len;
    uint64_t hash = http_etag_hash(HTTP_ETAG_SEED, e, en);
    struct tail *t = tail_slot(b->tails, b->tail_cap, hash, b->text.p, e, en);
    if (t->len == 0) {
        size_t off = b->text.len;
        bytes_add(&b->text, e, en);
        check_size(&b->text);
        *t = (struct tail){hash, (uint32_t)off, (uint32_t)en};
        b->tail_count++;
    }
    *len = t->len;
    return t->off;
}

static void set_whole(struct builder *b, struct rendered *out, const struct bytes *src)
{
    *out = (struct rendered){0, 0, 0, 0, http_etag_hash(HTTP_ETAG_SEED, src->p, src->len)};
    out->a_off = text_add(b, src->p, src->len, &out->a_len);
}

/* The first position of key in s[from..n), or n. */
static size_t find(const char *s, size_t from, size_t n, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = from; i + k <= n; i++)
        if (memcmp(s + i, key, k) == 0)
            return i;
    return n;
}

/* Stores the pair in b->resume and b->detail, where the detail is the summary
 * with members added after the summary's own. The summary shares the detail's
 * first bytes when the detail starts with the summary less its closing brace;
 * the detail's bytes from the member tail_key on (NULL: none) are shared with
 * every equal tail. Either way each text reads back byte for byte. */
static void set_pair(struct builder *b, struct rendered *resume, struct rendered *detail,
                     const char *tail_key)
{
    const struct bytes *r = &b->resume, *d = &b->detail;
    size_t rl = r->len;
    bool prefix = rl >= 2 && d->len > rl && r->p[rl - 1] == '}' && d->p[rl - 1] == ',' &&
                  memcmp(r->p, d->p, rl - 1) == 0;
    size_t split = prefix && tail_key ? find(d->p, rl - 1, d->len, tail_key) : d->len;
    *detail = (struct rendered){0, 0, 0, 0, http_etag_hash(HTTP_ETAG_SEED, d->p, d->len)};
    detail->a_off = text_add(b, d->p, split, &detail->a_len);
    if (split < d->len)
        detail->b_off = tail_add(b, d->p + split, d->len - split, &detail->b_len);
    if (prefix) { /* the summary less its brace, encoded alone, must be where the detail's is */
        b->enc.len = 0;
        encode(&b->enc, r->p, rl - 1);
        prefix = b->enc.len <= detail->a_len &&
                 memcmp(b->text.p + detail->a_off, b->enc.p, b->enc.len) == 0;
    }
    if (prefix)
        *resume = (struct rendered){detail->a_off, (uint32_t)b->enc.len, b->close_off, 1,
                                    http_etag_hash(HTTP_ETAG_SEED, r->p, rl)};
    else
        set_whole(b, resume, r);
}

static void snapshot_render(struct referentiel_snapshot *s)
{
    struct referentiel *ref = &s->ref;
    struct builder b = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, NULL, 0, 0, 0};
    uint32_t close_len;
    b.close_off = text_add(&b, "}", 1, &close_len);
    s->commune_resume = xcalloc(ref->commune_count, sizeof *s->commune_resume);
    s->commune_detail = xcalloc(ref->commune_count, sizeof *s->commune_detail);
    for (size_t k = 0; k < ref->actuelle_count; k++) {
        size_t i = ref->actuelles[k];
        struct ref_commune *c = &ref->communes[i];
        dump(&b.resume, commune_resume_json(ref, c));
        dump(&b.detail, commune_detail_json(ref, c));
        set_pair(&b, &s->commune_resume[i], &s->commune_detail[i], ",\"departement\":");
        /* Only rendering reads the postal codes: they now live in the text. */
        for (size_t j = 0; j < c->codes_postaux_count; j++)
            free(c->codes_postaux[j]);
        free(c->codes_postaux);
        c->codes_postaux = NULL;
        c->codes_postaux_count = 0;
    }
    s->epci_resume = xcalloc(ref->epci_count, sizeof *s->epci_resume);
    s->epci_detail = xcalloc(ref->epci_count, sizeof *s->epci_detail);
    for (size_t i = 0; i < ref->epci_count; i++) {
        dump(&b.resume, epci_resume_json(&ref->epcis[i]));
        dump(&b.detail, epci_detail_json(ref, &ref->epcis[i]));
        set_pair(&b, &s->epci_resume[i], &s->epci_detail[i], NULL);
    }
    s->region = xcalloc(ref->region_count, sizeof *s->region);
    for (size_t i = 0; i < ref->region_count; i++) {
        const struct ref_region *r = &ref->regions[i];
        dump(&b.detail,
             xjson(json_pack("{s:s, s:s, s:s, s:o}", "code", r->code, "nom", r->nom, "zone",
                             ref_zone_name(r->zone), "chef_lieu", opt_string(r->chef_lieu))));
        set_whole(&b, &s->region[i], &b.detail);
    }
    s->departement = xcalloc(ref->departement_count, sizeof *s->departement);
    for (size_t i = 0; i < ref->departement_count; i++) {
        const struct ref_departement *d = &ref->departements[i];
        dump(&b.detail,
             xjson(json_pack("{s:s, s:s, s:s, s:s, s:o}", "code", d->code, "nom", d->nom,
                             "code_region", d->code_region, "zone", ref_zone_name(d->zone),
                             "chef_lieu", opt_string(d->chef_lieu))));
        set_whole(&b, &s->departement[i], &b.detail);
    }
    free(b.resume.p);
    free(b.detail.p);
    free(b.enc.p);
    free(b.tails);
    s->text = xrealloc(b.text.p, b.text.len); /* to its size */
}

size_t rendered_len(const struct referentiel_snapshot *snap, const struct rendered *r)
{
    return decoded_len(snap->text + r->a_off, r->a_len) +
           decoded_len(snap->text + r->b_off, r->b_len);
}

void rendered_copy(const struct referentiel_snapshot *snap, const struct rendered *r, char *out)
{
    decode(snap->text + r->b_off, r->b_len, decode(snap->text + r->a_off, r->a_len, out));
}

void rendered_collection_add(const struct referentiel_snapshot *snap, const struct rendered *r,
                             struct collection *c)
{
    char small[8192];
    size_t coded = (size_t)r->a_len + r->b_len;
    char *buf = coded * NAME_MAX_LEN <= sizeof small ? small : xmalloc(rendered_len(snap, r));
    char *end = decode(snap->text + r->a_off, r->a_len, buf);
    end = decode(snap->text + r->b_off, r->b_len, end);
    collection_add(c, buf, (size_t)(end - buf));
    if (buf != small)
        free(buf);
}

static void holder_free(struct holder *h)
{
    struct referentiel_snapshot *s = &h->snap;
    free(s->commune_resume);
    free(s->commune_detail);
    free(s->epci_resume);
    free(s->epci_detail);
    free(s->region);
    free(s->departement);
    free(s->text);
    referentiel_release(&s->ref);
    free(h);
    /* A snapshot is tens of thousands of small blocks among other threads'
     * free ones: give the free pages back now rather than when they reach the
     * top of the heap (glibc; the next reload would otherwise add to them). */
    malloc_trim(0);
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
        /* The new snapshot is built beside the current one: first give back
         * the pages that requests left free, so that the peak starts low. */
        malloc_trim(0);
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
