/* Unit tests of api/problem: the registry of stable codes (problem_codes.def),
 * the field error list and the RFC 9457 rendering (problem_to_json), and the
 * contract check that every slug is documented in the contract: build/openapi.bundle.yaml, the
 * bundle of openapi/openapi.yaml and its files (a prerequisite of build/bin/unit). */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/problem.h"

#define BASE_URL     "https://pvd-api.example/problemes/"
#define OPENAPI_PATH "build/openapi.bundle.yaml"

/* The registry expanded here independently of problem.c, so that a table that
 * drifts from the .def (order, status, title) is caught. */
struct registry_row {
    enum problem_code code;
    const char *slug;
    int status;
    const char *title;
};

static const struct registry_row registry[] = {
#define PROBLEM(c, slug, status, title) {c, slug, status, title},
#include "api/problem_codes.def"
#undef PROBLEM
};

#define REGISTRY_COUNT (sizeof(registry) / sizeof(registry[0]))

/* True when s is a non-empty kebab-case slug: ^[a-z]+(-[a-z]+)*$. */
static bool is_kebab_slug(const char *s)
{
    bool previous_dash = true;

    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s == '-') {
            if (previous_dash)
                return false;
            previous_dash = true;
        } else if (*s >= 'a' && *s <= 'z') {
            previous_dash = false;
        } else {
            return false;
        }
    }
    return !previous_dash;
}

/* True when s is valid UTF-8 (jansson refuses to build a string otherwise). */
static bool is_utf8(const char *s)
{
    json_t *j = json_string(s);

    if (j == NULL)
        return false;
    json_decref(j);
    return true;
}

/* Serialises body and parses it back: the rendering must always be valid
 * JSON text (so valid UTF-8). Returns the reparsed copy (owned). */
static json_t *round_trip(const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_error_t error;
    json_t *again;

    cr_assert_not_null(text, "json_dumps failed: the document holds invalid UTF-8");
    again = json_loads(text, 0, &error);
    cr_assert_not_null(again, "rendered problem is not valid JSON: %s (%s)", error.text, text);
    free(text);
    return again;
}

static const char *member_string(const json_t *object, const char *name)
{
    json_t *v = json_object_get(object, name);

    cr_assert(json_is_string(v), "member \"%s\" must be a string", name);
    return json_string_value(v);
}

static char *read_whole_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;

    cr_assert_not_null(f, "cannot open %s (tests run from the repository root)", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    cr_assert_gt(size, 0);
    cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
    text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* True when text has a line that, once its leading spaces are skipped, is
 * exactly `line` (the next character is a newline or the end). */
static bool has_trimmed_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *start = p;

        while (*start == ' ')
            start++;
        if (strncmp(start, line, n) == 0 &&
            (start[n] == '\n' || start[n] == '\0' || start[n] == '\r'))
            return true;
    }
    return false;
}

/* ---- registry ---------------------------------------------------------- */

Test(problem_registry, every_row_has_slug_french_title_and_error_status)
{
    cr_assert_eq(REGISTRY_COUNT, (size_t)PROBLEM__COUNT);
    for (size_t i = 0; i < REGISTRY_COUNT; i++) {
        const struct registry_row *row = &registry[i];
        const char *title = problem_title(row->code);
        int status = problem_status(row->code);

        cr_assert_eq((size_t)row->code, i, "enum order follows the .def");
        cr_assert(is_kebab_slug(problem_slug(row->code)), "row %zu: slug \"%s\"", i,
                  problem_slug(row->code));
        cr_assert_str_eq(problem_slug(row->code), row->slug);
        cr_assert_not_null(title, "row %zu has no title", i);
        cr_assert_str_eq(title, row->title);
        cr_assert_gt(strlen(title), 0, "row %zu: empty title", i);
        cr_assert(is_utf8(title), "row %zu: title is not UTF-8", i);
        cr_assert(title[0] >= 'A' && title[0] <= 'Z', "row %zu: title \"%s\" is a sentence", i,
                  title);
        cr_assert_neq(title[strlen(title) - 1], '.', "row %zu: a title has no final period", i);
        cr_assert(status >= 400 && status <= 599, "row %zu: status %d", i, status);
        cr_assert_eq(status, row->status);
    }
}

Test(problem_registry, titles_are_french)
{
    /* A few rows spelled out: the titles are the public French wording. */
    cr_assert_str_eq(problem_title(PROBLEM_JSON_INVALIDE), "Corps JSON invalide");
    cr_assert_str_eq(problem_title(PROBLEM_METHODE_NON_AUTORISEE), "Méthode non autorisée");
    cr_assert_str_eq(problem_title(PROBLEM_TYPE_MEDIA_NON_SUPPORTE), "Type de média non supporté");
    cr_assert_str_eq(problem_title(PROBLEM_SERVICE_INDISPONIBLE),
                     "Service temporairement indisponible");
    cr_assert_eq(problem_status(PROBLEM_CORPS_TROP_VOLUMINEUX), 413);
    cr_assert_eq(problem_status(PROBLEM_TYPE_MEDIA_NON_SUPPORTE), 415);
    cr_assert_eq(problem_status(PROBLEM_PRECONDITION_REQUISE), 428);
    cr_assert_eq(problem_status(PROBLEM_SERVICE_INDISPONIBLE), 503);
}

Test(problem_registry, slugs_are_unique)
{
    for (size_t i = 0; i < REGISTRY_COUNT; i++)
        for (size_t j = i + 1; j < REGISTRY_COUNT; j++)
            cr_assert_str_neq(problem_slug(registry[i].code), problem_slug(registry[j].code),
                              "rows %zu and %zu share a slug", i, j);
}

Test(problem_registry, every_slug_is_documented_in_openapi)
{
    char *yaml = read_whole_file(OPENAPI_PATH);

    for (size_t i = 0; i < REGISTRY_COUNT; i++) {
        const struct registry_row *row = &registry[i];
        char line[256];

        /* listed in the enum of Problem.code ... */
        snprintf(line, sizeof line, "- %s", row->slug);
        cr_assert(has_trimmed_line(yaml, line), "slug \"%s\" missing from the code enum of %s",
                  row->slug, OPENAPI_PATH);
        /* ... and in the table of the API description, with its status and title */
        snprintf(line, sizeof line, "| `%s` | %d | %s |", row->slug, row->status, row->title);
        cr_assert(has_trimmed_line(yaml, line), "no table row \"%s\" in %s", line, OPENAPI_PATH);
    }
    free(yaml);
}

/* ---- field_errors ------------------------------------------------------ */

Test(field_errors, add_copies_every_part)
{
    FIELD_ERRORS(errors);

    field_errors_add(&errors, "/limite", "limite", "hors-bornes", "Entre %d et %d.", 1, 500);
    field_errors_add(&errors, "/adresse/code_postal", NULL, "longueur-invalide", "%s", "Court.");
    cr_assert_eq(errors.count, 2);
    cr_assert_eq(errors.dropped, 0);
    cr_assert_str_eq(errors.items[0].pointer, "/limite");
    cr_assert_str_eq(errors.items[0].parameter, "limite");
    cr_assert_str_eq(errors.items[0].code, "hors-bornes");
    cr_assert_str_eq(errors.items[0].message, "Entre 1 et 500.");
    cr_assert_str_eq(errors.items[1].pointer, "/adresse/code_postal");
    cr_assert_str_eq(errors.items[1].parameter, "");
    cr_assert_str_eq(errors.items[1].message, "Court.");
}

Test(field_errors, overflow_is_counted_in_dropped)
{
    FIELD_ERRORS(errors);
    struct problem problem = {.code = PROBLEM_CHAMPS_INVALIDES, .errors = &errors};
    json_t *body;

    for (int i = 0; i < FIELD_ERRORS_MAX + 7; i++)
        field_errors_add(&errors, "/x", NULL, "champ-inconnu", "erreur %d", i);
    cr_assert_eq(errors.count, FIELD_ERRORS_MAX);
    cr_assert_eq(errors.dropped, 7);
    cr_assert_str_eq(errors.items[FIELD_ERRORS_MAX - 1].message, "erreur 63");

    body = problem_to_json(&problem, BASE_URL);
    /* The stored errors, then one item telling how many more were not listed. */
    json_t *list = json_object_get(body, "erreurs");
    cr_assert_eq(json_array_size(list), FIELD_ERRORS_MAX + 1);
    json_t *last = json_array_get(list, FIELD_ERRORS_MAX);
    cr_assert_str_eq(json_string_value(json_object_get(last, "code")), "autres-erreurs");
    cr_assert_str_eq(json_string_value(json_object_get(last, "pointeur")), "");
    cr_assert_not_null(strstr(json_string_value(json_object_get(last, "message")), "7 autre"));
    json_decref(body);
}

Test(field_errors, long_parts_are_truncated_and_terminated)
{
    FIELD_ERRORS(errors);
    char long_text[1000];

    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    field_errors_add(&errors, long_text, long_text, long_text, "%s", long_text);
    cr_assert_eq(errors.count, 1);
    cr_assert_eq(strlen(errors.items[0].pointer), sizeof errors.items[0].pointer - 1);
    cr_assert_eq(strlen(errors.items[0].parameter), sizeof errors.items[0].parameter - 1);
    cr_assert_eq(strlen(errors.items[0].code), sizeof errors.items[0].code - 1);
    cr_assert_eq(strlen(errors.items[0].message), sizeof errors.items[0].message - 1);
}

/* ---- problem_to_json --------------------------------------------------- */

Test(problem_to_json, minimal_problem_has_the_five_members)
{
    struct problem problem = {.code = PROBLEM_RESSOURCE_INTROUVABLE};
    json_t *body = problem_to_json(&problem, BASE_URL);

    cr_assert(json_is_object(body));
    cr_assert_eq(json_object_size(body), 5, "type, title, status, detail, code only");
    cr_assert_str_eq(member_string(body, "type"), BASE_URL "ressource-introuvable");
    cr_assert_str_eq(member_string(body, "title"), "Ressource introuvable");
    cr_assert(json_is_integer(json_object_get(body, "status")));
    cr_assert_eq(json_integer_value(json_object_get(body, "status")), 404);
    cr_assert_str_eq(member_string(body, "detail"), "Ressource introuvable", "detail = title");
    cr_assert_str_eq(member_string(body, "code"), "ressource-introuvable");
    cr_assert_null(json_object_get(body, "erreurs"));
    cr_assert_null(json_object_get(body, "regle"));
    cr_assert_null(json_object_get(body, "instance"));
    cr_assert_null(json_object_get(body, "request_id"));
    json_decref(body);
}

Test(problem_to_json, every_member)
{
    FIELD_ERRORS(errors);
    struct problem problem = {
        .code = PROBLEM_REGLE_NON_RESPECTEE,
        .detail = "La convention-cadre ne peut être signée avant la convention d'adhésion.",
        .rule = "R5",
        .instance = "/api/v1/conventions/3f2a",
        .request_id = "6f1c0e9a4b2d4e0f",
        .errors = &errors,
    };
    json_t *body, *list, *item;

    field_errors_add(&errors, "/date_signature", NULL, "date-invalide", "Date « %s » invalide.",
                     "2023-02-29");
    field_errors_add(&errors, "/limite", "limite", "hors-bornes", "Au plus %d.", 500);
    body = problem_to_json(&problem, BASE_URL);

    cr_assert_eq(json_object_size(body), 9);
    cr_assert_str_eq(member_string(body, "type"), BASE_URL "regle-non-respectee");
    cr_assert_str_eq(member_string(body, "title"), "Règle du programme non respectée");
    cr_assert_eq(json_integer_value(json_object_get(body, "status")), 422);
    cr_assert_str_eq(member_string(body, "detail"), problem.detail);
    cr_assert_str_eq(member_string(body, "code"), "regle-non-respectee");
    cr_assert_str_eq(member_string(body, "regle"), "R5");
    cr_assert_str_eq(member_string(body, "instance"), "/api/v1/conventions/3f2a");
    cr_assert_str_eq(member_string(body, "request_id"), "6f1c0e9a4b2d4e0f");

    list = json_object_get(body, "erreurs");
    cr_assert(json_is_array(list));
    cr_assert_eq(json_array_size(list), 2);
    item = json_array_get(list, 0);
    cr_assert_eq(json_object_size(item), 3, "no parametre for a body field");
    cr_assert_str_eq(member_string(item, "pointeur"), "/date_signature");
    cr_assert_str_eq(member_string(item, "code"), "date-invalide");
    cr_assert_str_eq(member_string(item, "message"), "Date « 2023-02-29 » invalide.");
    cr_assert_null(json_object_get(item, "parametre"));
    item = json_array_get(list, 1);
    cr_assert_eq(json_object_size(item), 4);
    cr_assert_str_eq(member_string(item, "pointeur"), "/limite");
    cr_assert_str_eq(member_string(item, "parametre"), "limite");
    cr_assert_str_eq(member_string(item, "code"), "hors-bornes");
    cr_assert_str_eq(member_string(item, "message"), "Au plus 500.");
    json_decref(round_trip(body));
    json_decref(body);
}

Test(problem_to_json, empty_error_list_is_omitted)
{
    FIELD_ERRORS(errors);
    struct problem problem = {.code = PROBLEM_CHAMPS_INVALIDES, .errors = &errors};
    json_t *body = problem_to_json(&problem, BASE_URL);

    /* the schema requires at least one item when erreurs is present */
    cr_assert_null(json_object_get(body, "erreurs"));
    json_decref(body);
}

Test(problem_to_json, type_and_status_come_from_the_registry_for_every_code)
{
    for (size_t i = 0; i < REGISTRY_COUNT; i++) {
        struct problem problem = {.code = registry[i].code, .detail = "Détail."};
        json_t *body = problem_to_json(&problem, "http://localhost/p/");
        char type[256];

        snprintf(type, sizeof type, "http://localhost/p/%s", registry[i].slug);
        cr_assert_str_eq(member_string(body, "type"), type);
        cr_assert_str_eq(member_string(body, "code"), registry[i].slug);
        cr_assert_str_eq(member_string(body, "title"), registry[i].title);
        cr_assert_eq(json_integer_value(json_object_get(body, "status")), registry[i].status);
        cr_assert_str_eq(member_string(body, "detail"), "Détail.");
        json_decref(body);
    }
}

Test(problem_to_json, invalid_utf8_is_sanitised)
{
    FIELD_ERRORS(errors);
    struct problem problem = {
        .code = PROBLEM_JSON_INVALIDE,
        .detail = "octet \xff invalide",
        .instance = "/api/v1/communes/\xc3",
        .request_id = "id\xed\xa0\x80",
        .errors = &errors,
    };
    json_t *body, *item;
    const char *text;

    field_errors_add(&errors, "/nom\xe9", "nom\xc0\xaf", "code\x80", "message %s", "\xf8\x88");
    body = problem_to_json(&problem, BASE_URL);
    json_decref(round_trip(body));

    text = member_string(body, "detail");
    cr_assert(is_utf8(text));
    cr_assert(strncmp(text, "octet ", 6) == 0 && strstr(text, " invalide"), "detail: %s", text);
    cr_assert_null(strchr(text, '\xff'));
    cr_assert(is_utf8(member_string(body, "instance")));
    cr_assert(is_utf8(member_string(body, "request_id")));
    item = json_array_get(json_object_get(body, "erreurs"), 0);
    cr_assert(is_utf8(member_string(item, "pointeur")));
    cr_assert(is_utf8(member_string(item, "parametre")));
    cr_assert(is_utf8(member_string(item, "code")));
    cr_assert(is_utf8(member_string(item, "message")));
    cr_assert(strncmp(member_string(item, "message"), "message ", 8) == 0);
    json_decref(body);
}

/* Sanitising replaces the bytes that make the text invalid, not the valid
 * French letters around them (problem.c: "bytes that would make invalid UTF-8
 * are replaced by '?'"). A message cut mid-character by the 240-byte bound of
 * field_error.message must not lose every accent of the sentence. */
Test(problem_to_json, sanitising_keeps_valid_characters)
{
    FIELD_ERRORS(errors);
    struct problem problem = {
        .code = PROBLEM_JSON_INVALIDE,
        .detail = "Clé « \xff » refusée",
        .errors = &errors,
    };
    char message[sizeof errors.items[0].message + 16];
    json_t *body;
    const char *text;

    /* 119 "é" = 238 bytes, then "é": vsnprintf keeps 239 bytes, cutting it */
    message[0] = '\0';
    for (int i = 0; i < 120; i++)
        strcat(message, "é");
    field_errors_add(&errors, "/nom", NULL, "longueur-invalide", "%s", message);
    body = problem_to_json(&problem, BASE_URL);

    text = member_string(body, "detail");
    cr_assert(strncmp(text, "Clé « ", strlen("Clé « ")) == 0, "detail became \"%s\"", text);
    cr_assert(strstr(text, " » refusée") != NULL, "detail became \"%s\"", text);
    text = member_string(json_array_get(json_object_get(body, "erreurs"), 0), "message");
    cr_assert(strncmp(text, "éééé", 8) == 0, "message became \"%.20s...\"", text);
    json_decref(body);
}
