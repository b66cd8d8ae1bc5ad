/* libFuzzer target over api/json_body and api/json_spec. The input is
 * "<content-type>\n<body>" (no newline: the whole input is the body, sent as
 * application/json). The body goes through json_body_parse; an object then
 * goes through json_spec_apply with a spec of every field kind, nested twice,
 * in the mode (creation, patch, merged content) the body's length picks,
 * and the result through problem_to_json. Checked: no crash, a successful
 * parse yields an object and only then, every reported pointer resolves in the
 * document (or, for champ-requis, its parent does), the rendered problem is
 * valid JSON. Build: make build/fuzz/fuzz_json. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"
#include "api/json_spec.h"
#include "api/problem.h"
#include "domain/date.h"
#include "domain/identifiers.h"

#define MAX_BODY 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct inner {
    int64_t niveau;
    bool actif;
};

struct adresse {
    const char *code_postal;
    const char *commune;
    struct inner inner;
    bool inner_present;
};

struct target {
    const char *nom;
    const char *siren;
    int64_t montant;
    int64_t libre;
    bool urgent;
    int etat;
    struct date date;
    struct date fin;
    bool fin_present;
    struct adresse adresse;
    const char *commentaire;
    bool commentaire_present;
};

static const char *const etats[] = {"brouillon", "deposee", "acceptee", "refusee", NULL};

static const struct json_field inner_fields[] = {
    {.name = "niveau",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct inner, niveau),
     .on_create = JSON_CREATE_REQUIRED,
     .min = -3,
     .max = 3},
    {.name = "actif", .kind = JSON_FIELD_BOOLEAN, .offset = offsetof(struct inner, actif)},
    JSON_FIELDS_END,
};

static const struct json_field adresse_fields[] = {
    {.name = "code_postal",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct adresse, code_postal),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 5,
     .max_length = 5},
    {.name = "commune",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct adresse, commune),
     .nullable = true},
    {.name = "a/b~c",
     .kind = JSON_FIELD_OBJECT,
     .offset = offsetof(struct adresse, inner),
     .present_at = JSON_PRESENT_AT(struct adresse, inner_present),
     .fields = inner_fields},
    JSON_FIELDS_END,
};

static const struct json_field target_fields[] = {
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct target, nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 40},
    {.name = "siren",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct target, siren),
     .on_patch = JSON_PATCH_IMMUTABLE,
     .check = siren_is_valid,
     .check_message = "SIREN invalide (R42)."},
    {.name = "montant",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct target, montant),
     .min = 1,
     .max = 1000000},
    {.name = "libre",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct target, libre),
     .on_create = JSON_CREATE_ABSENT},
    {.name = "urgent",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = offsetof(struct target, urgent),
     .on_patch = JSON_PATCH_REQUIRED},
    {.name = "etat",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct target, etat),
     .on_create = JSON_CREATE_REQUIRED,
     .values = etats},
    {.name = "date", .kind = JSON_FIELD_DATE, .offset = offsetof(struct target, date)},
    {.name = "fin",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct target, fin),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct target, fin_present)},
    {.name = "adresse",
     .kind = JSON_FIELD_OBJECT,
     .offset = offsetof(struct target, adresse),
     .fields = adresse_fields},
    {.name = "commentaire",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct target, commentaire),
     .on_create = JSON_CREATE_REQUIRED,
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct target, commentaire_present)},
    JSON_FIELDS_END,
};

/* Heap copy of n bytes, NUL-terminated or not, so ASan sees any overread. */
static char *copy_bytes(const uint8_t *data, size_t n, bool terminate)
{
    char *s = malloc(n + (terminate ? 1 : 0) + (n == 0 && !terminate ? 1 : 0));

    if (!s)
        abort();
    if (n > 0)
        memcpy(s, data, n);
    if (terminate)
        s[n] = '\0';
    return s;
}

static bool is_utf8(const char *s)
{
    json_t *j = json_string(s);

    if (j == NULL)
        return false;
    json_decref(j);
    return true;
}

/* Resolves an RFC 6901 pointer in root; NULL when a step is missing. With
 * parent_only, resolves all but the last step. */
static const json_t *resolve(const json_t *root, const char *pointer, bool parent_only)
{
    const json_t *node = root;
    const char *p = pointer;
    char token[160];

    if (*p != '/')
        abort(); /* every reported pointer starts with '/' */
    while (*p == '/') {
        size_t n = 0;
        const char *end = p + 1;

        while (*end && *end != '/')
            end++;
        if (parent_only && *end == '\0')
            return node;
        for (const char *c = p + 1; c < end; c++) {
            if (*c == '~') {
                if (c[1] == '0')
                    token[n++] = '~';
                else if (c[1] == '1')
                    token[n++] = '/';
                else
                    abort(); /* '~' is always escaped */
                c++;
            } else {
                token[n++] = *c;
            }
        }
        token[n] = '\0';
        if (!json_is_object(node))
            return NULL;
        node = json_object_get(node, token);
        if (node == NULL)
            return NULL;
        p = end;
    }
    return node;
}

static void check_errors(const json_t *root, const struct field_errors *errors)
{
    if (errors->count > FIELD_ERRORS_MAX)
        abort();
    for (size_t i = 0; i < errors->count; i++) {
        const struct field_error *e = &errors->items[i];
        size_t len = strlen(e->pointer);

        if (e->code[0] == '\0' || e->message[0] == '\0' || e->parameter[0] != '\0')
            abort();
        /* a pointer that filled its buffer may have been truncated */
        if (len + 4 >= sizeof e->pointer)
            continue;
        if (strcmp(e->code, "champ-requis") == 0) {
            const json_t *parent = resolve(root, e->pointer, true);

            if (!json_is_object(parent) || resolve(root, e->pointer, false) != NULL)
                abort();
        } else if (resolve(root, e->pointer, false) == NULL) {
            abort();
        }
    }
}

/* Strings written into the target are borrowed from the live document. */
static void check_target(const struct target *t)
{
    const char *strings[] = {t->nom, t->siren, t->commentaire, t->adresse.code_postal,
                             t->adresse.commune};

    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (strings[i] && strlen(strings[i]) > MAX_BODY)
            abort();
    if (t->date.year != 0 && !date_is_valid(t->date))
        abort();
    if (t->fin.year != 0 && !date_is_valid(t->fin))
        abort();
    if (t->etat < 0 || t->etat > 3)
        abort();
}

static void render(enum problem_code code, const char *detail, const struct field_errors *errors)
{
    struct problem problem = {
        .code = code, .detail = detail, .instance = "/api/v1/essai", .errors = errors};
    json_t *body = problem_to_json(&problem, "https://pvd-api.example/problemes/");
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *again;

    if (text == NULL)
        abort();
    again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(again))
        abort();
    json_decref(again);
    free(text);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    char *content_type;
    const uint8_t *body_start = data;
    size_t body_len = size;
    char *body;
    json_t *root = (json_t *)&body_len; /* must be overwritten */
    char detail[256];
    enum problem_code code;

    if (newline) {
        content_type = copy_bytes(data, (size_t)(newline - data), true);
        body_start = newline + 1;
        body_len = size - (size_t)(newline - data) - 1;
    } else {
        content_type = copy_bytes((const uint8_t *)"application/json", 16, true);
    }
    body = copy_bytes(body_start, body_len, false);

    memset(detail, 'x', sizeof detail);
    code = json_body_parse(content_type, false, body_len ? body : NULL, body_len, MAX_BODY, &root,
                           detail, sizeof detail);
    if (code == PROBLEM__COUNT) {
        FIELD_ERRORS(errors);
        struct target t;
        bool ok;

        if (!json_is_object(root) || root->refcount != 1)
            abort();
        if (!json_media_type_ok(content_type, false) || body_len == 0 || body_len > MAX_BODY)
            abort();
        memset(&t, 0, sizeof t);
        /* the body's length picks the mode: creation, merge patch, merged content */
        ok = json_spec_apply(root, target_fields, (enum json_spec_mode)(body_len % 3), &t, "",
                             &errors);
        if (ok != (errors.count == 0 && errors.dropped == 0))
            abort();
        check_errors(root, &errors);
        if (ok)
            check_target(&t);
        render(PROBLEM_CHAMPS_INVALIDES, NULL, &errors);
        json_decref(root);
    } else {
        if (root != NULL)
            abort();
        if (code != PROBLEM_TYPE_MEDIA_NON_SUPPORTE && code != PROBLEM_CORPS_TROP_VOLUMINEUX &&
            code != PROBLEM_JSON_INVALIDE)
            abort();
        if ((code == PROBLEM_TYPE_MEDIA_NON_SUPPORTE) != !json_media_type_ok(content_type, false))
            abort();
        if (strnlen(detail, sizeof detail) == sizeof detail || detail[0] == '\0')
            abort();
        /* jansson may quote a token cut inside a character: the detail must
         * still be valid UTF-8 (see test_json_body.c, detail_stays_valid_utf8) */
        if (!is_utf8(detail))
            abort();
        render(code, detail, NULL);
    }
    free(body);
    free(content_type);
    return 0;
}
