/* Unit tests of api/json_spec: one declarative spec per body, every field
 * kind, and EVERY error of a body reported at once with its RFC 6901 JSON
 * pointer and its stable code. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/json_spec.h"
#include "domain/date.h"
#include "domain/identifiers.h"

/* ---- the spec under test: every kind, nested twice ---------------------- */

struct geo {
    int64_t altitude;
};

struct adresse {
    const char *code_postal;
    const char *commune;
    struct geo geo;
};

struct demande {
    const char *reference;
    const char *nom;
    const char *siren;
    int64_t montant_centimes;
    int64_t ecart;
    bool urgent;
    bool urgent_present;
    int etat;
    int priorite;
    struct date date_depot;
    struct date date_fin;
    bool date_fin_present;
    struct adresse adresse;
    const char *commentaire;
    bool commentaire_present;
};

static const char *const etats[] = {"brouillon", "deposee", "acceptee", NULL};
static const char *const priorites[] = {"basse", "haute", NULL};

static bool is_code_postal(const char *s)
{
    for (size_t i = 0; i < 5; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[5] == '\0';
}

static const struct json_field geo_fields[] = {
    {.name = "altitude",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct geo, altitude),
     .min = -500,
     .max = 5000},
    JSON_FIELDS_END,
};

static const struct json_field adresse_fields[] = {
    {.name = "code_postal",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct adresse, code_postal),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 5,
     .max_length = 5,
     .check = is_code_postal,
     .check_message = "Code postal attendu : 5 chiffres."},
    {.name = "commune",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct adresse, commune),
     .max_length = 80},
    {.name = "geo",
     .kind = JSON_FIELD_OBJECT,
     .offset = offsetof(struct adresse, geo),
     .fields = geo_fields},
    JSON_FIELDS_END,
};

static const struct json_field demande_fields[] = {
    {.name = "reference",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct demande, reference),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 20},
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct demande, nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 10},
    {.name = "siren",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct demande, siren),
     .min_length = 9,
     .max_length = 9,
     .check = siren_is_valid,
     .check_message = "SIREN invalide : 9 chiffres et clé de Luhn (R42)."},
    {.name = "montant_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct demande, montant_centimes),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 1,
     .max = 100000000},
    {.name = "ecart", .kind = JSON_FIELD_INTEGER, .offset = offsetof(struct demande, ecart)},
    {.name = "urgent",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = offsetof(struct demande, urgent),
     .present_at = JSON_PRESENT_AT(struct demande, urgent_present)},
    {.name = "etat",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct demande, etat),
     .on_create = JSON_CREATE_REQUIRED,
     .values = etats},
    {.name = "priorite",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct demande, priorite),
     .values = priorites},
    {.name = "date_depot",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct demande, date_depot),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "date_fin",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct demande, date_fin),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct demande, date_fin_present)},
    {.name = "adresse",
     .kind = JSON_FIELD_OBJECT,
     .offset = offsetof(struct demande, adresse),
     .on_create = JSON_CREATE_REQUIRED,
     .fields = adresse_fields},
    {.name = "commentaire",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct demande, commentaire),
     .nullable = true,
     .max_length = 200,
     .present_at = JSON_PRESENT_AT(struct demande, commentaire_present)},
    JSON_FIELDS_END,
};

/* A body with every required member, valid. */
#define VALID_BODY                                                                                 \
    "{\"reference\": \"PVD-2024-0042\", \"nom\": \"Thizy\", \"siren\": \"212000046\","             \
    " \"montant_centimes\": 1250000, \"ecart\": -7, \"urgent\": true, \"etat\": \"deposee\","      \
    " \"priorite\": \"haute\", \"date_depot\": \"2024-02-29\", \"date_fin\": \"2025-08-31\","      \
    " \"adresse\": {\"code_postal\": \"97427\", \"commune\": \"L’Étang-Salé\","                \
    " \"geo\": {\"altitude\": 42}}, \"commentaire\": \"Première demande\"}"

struct expected_error {
    const char *pointer;
    const char *code;
};

/* Documents of the running test, released by the suite's fini (also when an
 * assertion ends the test early); string targets borrow from them. */
#define HELD_MAX 64
static json_t *held[HELD_MAX];
static size_t held_count;

static json_t *hold(json_t *root)
{
    cr_assert_not_null(root);
    cr_assert_lt(held_count, HELD_MAX);
    held[held_count++] = root;
    return root;
}

static void release_held(void)
{
    for (size_t i = 0; i < held_count; i++)
        json_decref(held[i]);
    held_count = 0;
}

TestSuite(json_spec, .fini = release_held);

static json_t *load(const char *text)
{
    json_error_t error;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &error);

    cr_assert_not_null(root, "test body does not parse: %s (%s)", error.text, text);
    return hold(root);
}

/* Asserts that errors holds exactly the expected (pointer, code) pairs, in
 * any order, each once, each with a non-empty message. */
static void assert_errors(const struct field_errors *errors, const struct expected_error *expected,
                          size_t count)
{
    bool seen[FIELD_ERRORS_MAX] = {false};

    for (size_t i = 0; i < errors->count; i++)
        cr_assert_gt(strlen(errors->items[i].message), 0, "%s: empty message",
                     errors->items[i].pointer);
    for (size_t e = 0; e < count; e++) {
        size_t found = 0;

        for (size_t i = 0; i < errors->count; i++) {
            if (strcmp(errors->items[i].pointer, expected[e].pointer) == 0 &&
                strcmp(errors->items[i].code, expected[e].code) == 0) {
                found++;
                seen[i] = true;
            }
        }
        cr_assert_eq(found, 1, "error %s %s reported %zu times", expected[e].pointer,
                     expected[e].code, found);
    }
    for (size_t i = 0; i < errors->count; i++)
        cr_assert(seen[i], "unexpected error %s %s: %s", errors->items[i].pointer,
                  errors->items[i].code, errors->items[i].message);
    cr_assert_eq(errors->count, count);
    cr_assert_eq(errors->dropped, 0);
}

/* Applies the demande spec to text; returns the error list. */
static struct field_errors apply_demande(const char *text, struct demande *out, bool *ok)
{
    FIELD_ERRORS(errors);
    json_t *root = load(text);

    *ok = json_spec_apply(root, demande_fields, JSON_SPEC_CREATE, out, "", &errors);
    return errors;
}

/* Applies a one-field spec to {"v": <value_json>}; returns the error code of
 * /v, or "" when accepted. */
static const char *apply_one(const struct json_field *field, const char *value_json, void *target)
{
    static char code[48];
    struct json_field spec[2] = {*field, JSON_FIELDS_END};
    FIELD_ERRORS(errors);
    char text[512];
    json_t *root;
    bool ok;

    spec[0].name = "v";
    snprintf(text, sizeof text, "{\"v\": %s}", value_json);
    root = load(text);
    ok = json_spec_apply(root, spec, JSON_SPEC_CREATE, target, "", &errors);
    cr_assert_eq(ok, errors.count == 0, "return value matches the error list");
    cr_assert_leq(errors.count, 1, "%s: one error at most", value_json);
    if (errors.count == 0)
        return "";
    cr_assert_str_eq(errors.items[0].pointer, "/v");
    cr_assert_str_eq(errors.items[0].parameter, "", "a body field has no parameter name");
    snprintf(code, sizeof code, "%s", errors.items[0].code);
    return code;
}

/* ---- json_pointer_join ------------------------------------------------- */

Test(json_pointer_join, escapes_tilde_and_slash)
{
    char out[160];

    json_pointer_join(out, sizeof out, "", "nom");
    cr_assert_str_eq(out, "/nom");
    json_pointer_join(out, sizeof out, "/adresse", "code_postal");
    cr_assert_str_eq(out, "/adresse/code_postal");
    json_pointer_join(out, sizeof out, "", "a/b");
    cr_assert_str_eq(out, "/a~1b");
    json_pointer_join(out, sizeof out, "", "m~n");
    cr_assert_str_eq(out, "/m~0n");
    json_pointer_join(out, sizeof out, "", "~1");
    cr_assert_str_eq(out, "/~01", "~ escaped first, so ~1 is not read back as /");
    json_pointer_join(out, sizeof out, "/a~1b", "~/");
    cr_assert_str_eq(out, "/a~1b/~0~1");
    json_pointer_join(out, sizeof out, "", "");
    cr_assert_str_eq(out, "/", "the empty member name");
    json_pointer_join(out, sizeof out, "", "Étang Salé");
    cr_assert_str_eq(out, "/Étang Salé");
}

Test(json_pointer_join, truncates_within_the_buffer)
{
    char out[16];
    char name[300];

    memset(out, 'x', sizeof out);
    memset(name, '~', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    json_pointer_join(out, sizeof out, "/p", name);
    cr_assert_lt(strnlen(out, sizeof out), sizeof out);
    cr_assert(strncmp(out, "/p/~0", 5) == 0, "got %s", out);
    cr_assert_neq(out[strlen(out) - 1], '~', "an escape is never cut in half");

    memset(out, 'x', sizeof out);
    json_pointer_join(out, sizeof out, "/a-very-long-prefix-indeed", "x");
    cr_assert_lt(strnlen(out, sizeof out), sizeof out);
}

/* ---- the whole spec ---------------------------------------------------- */

Test(json_spec, valid_body_fills_the_struct)
{
    FIELD_ERRORS(errors);
    struct demande d;
    json_t *root = load(VALID_BODY);

    memset(&d, 0, sizeof d);
    cr_assert(json_spec_apply(root, demande_fields, JSON_SPEC_CREATE, &d, "", &errors),
              "first error %s %s: %s", errors.items[0].pointer, errors.items[0].code,
              errors.items[0].message);
    cr_assert_eq(errors.count, 0);
    cr_assert_str_eq(d.reference, "PVD-2024-0042");
    cr_assert_str_eq(d.nom, "Thizy");
    cr_assert_str_eq(d.siren, "212000046");
    cr_assert_eq(d.montant_centimes, 1250000);
    cr_assert_eq(d.ecart, -7);
    cr_assert(d.urgent);
    cr_assert(d.urgent_present);
    cr_assert_eq(d.etat, 1, "index of \"deposee\"");
    cr_assert_eq(d.priorite, 1, "index of \"haute\"");
    cr_assert_eq(d.date_depot.year, 2024);
    cr_assert_eq(d.date_depot.month, 2);
    cr_assert_eq(d.date_depot.day, 29);
    cr_assert_eq(date_compare(d.date_fin, (struct date){2025, 8, 31}), 0);
    cr_assert(d.date_fin_present);
    cr_assert_str_eq(d.adresse.code_postal, "97427");
    cr_assert_str_eq(d.adresse.commune, "L’Étang-Salé");
    cr_assert_eq(d.adresse.geo.altitude, 42);
    cr_assert_str_eq(d.commentaire, "Première demande");
    cr_assert(d.commentaire_present);
    /* strings are borrowed from the document, not copied */
    cr_assert_eq(d.nom, json_string_value(json_object_get(root, "nom")));
    cr_assert_eq(d.adresse.code_postal, json_string_value(json_object_get(
                                            json_object_get(root, "adresse"), "code_postal")));
}

Test(json_spec, every_error_is_reported_with_its_pointer)
{
    static const struct expected_error expected[] = {
        {"/reference", "champ-requis"},
        {"/nom", "longueur-invalide"},
        {"/siren", "format-invalide"},
        {"/montant_centimes", "hors-bornes"},
        {"/ecart", "type-invalide"},
        {"/urgent", "type-invalide"},
        {"/etat", "valeur-inconnue"},
        {"/priorite", "type-invalide"},
        {"/date_depot", "date-invalide"},
        {"/date_fin", "type-invalide"},
        {"/adresse/code_postal", "type-invalide"},
        {"/adresse/ville", "champ-inconnu"},
        {"/adresse/geo/altitude", "type-invalide"},
        {"/adresse/geo/x", "champ-inconnu"},
        {"/commentaire", "type-invalide"},
        {"/a~1b", "champ-inconnu"},
        {"/m~0n", "champ-inconnu"},
        {"/~0~1", "champ-inconnu"},
        {"/Montant_centimes", "champ-inconnu"},
    };
    struct demande d;
    bool ok;
    struct field_errors errors =
        apply_demande("{\"nom\": \"\", \"siren\": \"212000047\", \"montant_centimes\": 0,"
                      " \"ecart\": \"12\", \"urgent\": \"oui\", \"etat\": \"perdue\","
                      " \"priorite\": null, \"date_depot\": \"2023-02-29\", \"date_fin\": 20230101,"
                      " \"adresse\": {\"code_postal\": 97427, \"ville\": \"Saint-Denis\","
                      " \"geo\": {\"altitude\": 1.5, \"x\": 1}},"
                      " \"commentaire\": 12, \"a/b\": 1, \"m~n\": true, \"~/\": null,"
                      " \"Montant_centimes\": 5}",
                      &d, &ok);

    cr_assert_not(ok);
    assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
}

Test(json_spec, missing_required_members_are_all_reported)
{
    static const struct expected_error top[] = {
        {"/reference", "champ-requis"},        {"/nom", "champ-requis"},
        {"/montant_centimes", "champ-requis"}, {"/etat", "champ-requis"},
        {"/date_depot", "champ-requis"},       {"/adresse", "champ-requis"},
    };
    static const struct expected_error nested[] = {
        {"/reference", "type-invalide"},       {"/nom", "champ-requis"},
        {"/montant_centimes", "champ-requis"}, {"/etat", "champ-requis"},
        {"/date_depot", "champ-requis"},       {"/adresse/code_postal", "champ-requis"},
    };
    struct demande d;
    bool ok;
    struct field_errors errors = apply_demande("{}", &d, &ok);

    cr_assert_not(ok);
    assert_errors(&errors, top, sizeof top / sizeof top[0]);
    /* null for a required, non-nullable member is a type error */
    errors = apply_demande("{\"reference\": null, \"adresse\": {}}", &d, &ok);
    cr_assert_not(ok);
    assert_errors(&errors, nested, sizeof nested / sizeof nested[0]);
}

Test(json_spec, nested_object_of_the_wrong_type)
{
    static const struct expected_error expected[] = {{"/adresse", "type-invalide"}};
    static const char *const bodies[] = {
        "{\"reference\": \"r\", \"nom\": \"n\", \"montant_centimes\": 1, \"etat\": \"brouillon\","
        " \"date_depot\": \"2024-01-01\", \"adresse\": []}",
        "{\"reference\": \"r\", \"nom\": \"n\", \"montant_centimes\": 1, \"etat\": \"brouillon\","
        " \"date_depot\": \"2024-01-01\", \"adresse\": \"97427\"}",
        "{\"reference\": \"r\", \"nom\": \"n\", \"montant_centimes\": 1, \"etat\": \"brouillon\","
        " \"date_depot\": \"2024-01-01\", \"adresse\": null}",
    };

    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct demande d;
        bool ok;
        struct field_errors errors = apply_demande(bodies[i], &d, &ok);

        cr_assert_not(ok);
        assert_errors(&errors, expected, 1);
    }
}

Test(json_spec, nullable_and_present_at)
{
    struct demande d;
    bool ok;
    struct field_errors errors;
    static const char prefix[] =
        "{\"reference\": \"r\", \"nom\": \"n\", \"montant_centimes\": 1, \"etat\": \"brouillon\","
        " \"date_depot\": \"2024-01-01\", \"adresse\": {\"code_postal\": \"20000\"}";
    char body[512];

    /* absent: not present, value untouched */
    memset(&d, 0, sizeof d);
    d.commentaire = "initial";
    d.date_fin = (struct date){1999, 1, 1};
    snprintf(body, sizeof body, "%s}", prefix);
    errors = apply_demande(body, &d, &ok);
    cr_assert(ok, "%s", errors.items[0].message);
    cr_assert_not(d.commentaire_present);
    cr_assert_not(d.date_fin_present);
    cr_assert_not(d.urgent_present);
    cr_assert_str_eq(d.commentaire, "initial");
    cr_assert_eq(d.date_fin.year, 1999);

    /* null where nullable: present, value untouched */
    snprintf(body, sizeof body, "%s, \"commentaire\": null, \"date_fin\": null}", prefix);
    errors = apply_demande(body, &d, &ok);
    cr_assert(ok, "%s", errors.items[0].message);
    cr_assert(d.commentaire_present);
    cr_assert(d.date_fin_present);
    cr_assert_str_eq(d.commentaire, "initial");
    cr_assert_eq(d.date_fin.year, 1999);

    /* null where not nullable: type error, even when optional */
    memset(&d, 0, sizeof d);
    snprintf(body, sizeof body, "%s, \"urgent\": null}", prefix);
    errors = apply_demande(body, &d, &ok);
    cr_assert_not(ok);
    cr_assert_eq(errors.count, 1);
    cr_assert_str_eq(errors.items[0].pointer, "/urgent");
    cr_assert_str_eq(errors.items[0].code, "type-invalide");

    /* false is a value: present and false */
    memset(&d, 0, sizeof d);
    d.urgent = true;
    snprintf(body, sizeof body, "%s, \"urgent\": false}", prefix);
    errors = apply_demande(body, &d, &ok);
    cr_assert(ok);
    cr_assert(d.urgent_present);
    cr_assert_not(d.urgent);
}

/* ---- one kind at a time ------------------------------------------------ */

Test(json_spec, string_length_bounds_in_bytes)
{
    static const struct json_field f = {
        .kind = JSON_FIELD_STRING, .min_length = 2, .max_length = 5};
    const char *s = NULL;

    cr_assert_str_eq(apply_one(&f, "\"ab\"", &s), "");
    cr_assert_str_eq(s, "ab");
    cr_assert_str_eq(apply_one(&f, "\"abcde\"", &s), "");
    cr_assert_str_eq(apply_one(&f, "\"a\"", &s), "longueur-invalide");
    cr_assert_str_eq(apply_one(&f, "\"\"", &s), "longueur-invalide");
    cr_assert_str_eq(apply_one(&f, "\"abcdef\"", &s), "longueur-invalide");
    cr_assert_str_eq(apply_one(&f, "\"éé\"", &s), "", "4 bytes");
    cr_assert_str_eq(apply_one(&f, "\"ééé\"", &s), "longueur-invalide", "6 bytes");
    cr_assert_str_eq(s, "éé", "a refused value leaves the target alone");
}

Test(json_spec, string_without_max_length_is_unbounded)
{
    static const struct json_field f = {.kind = JSON_FIELD_STRING};
    char value[400];
    const char *s = NULL;

    cr_assert_str_eq(apply_one(&f, "\"\"", &s), "", "min_length 0 accepts the empty string");
    memset(value, 'a', sizeof value - 1);
    value[0] = '"';
    value[sizeof value - 2] = '"';
    value[sizeof value - 1] = '\0';
    cr_assert_str_eq(apply_one(&f, value, &s), "");
    cr_assert_eq(strlen(s), sizeof value - 3);
}

/* The message is for clients: a bound that does not exist is not shown as
 * 18446744073709551615 bytes. */
Test(json_spec, min_only_length_message_shows_no_size_max)
{
    static const struct json_field f = {.name = "nom", .kind = JSON_FIELD_STRING, .min_length = 1};
    FIELD_ERRORS(errors);
    struct json_field spec[2] = {f, JSON_FIELDS_END};
    const char *s = NULL;
    json_t *root = load("{\"nom\": \"\"}");
    char size_max[32];

    snprintf(size_max, sizeof size_max, "%zu", (size_t)-1);
    cr_assert_not(json_spec_apply(root, spec, JSON_SPEC_CREATE, &s, "", &errors));
    cr_assert_str_eq(errors.items[0].code, "longueur-invalide");
    cr_assert_null(strstr(errors.items[0].message, size_max), "message: %s",
                   errors.items[0].message);
}

/* jansson refuses \u0000 when parsing, but a document built in code may hold
 * a NUL: the string would be silently cut when read as a C string. */
Test(json_spec, string_with_nul_is_refused)
{
    static const struct json_field f = {.name = "nom", .kind = JSON_FIELD_STRING};
    FIELD_ERRORS(errors);
    struct json_field spec[2] = {f, JSON_FIELDS_END};
    const char *s = NULL;
    json_t *root = hold(json_object());

    json_object_set_new(root, "nom", json_stringn("ab\0cd", 5));
    cr_assert_not(json_spec_apply(root, spec, JSON_SPEC_CREATE, &s, "", &errors));
    cr_assert_eq(errors.count, 1);
    cr_assert_str_eq(errors.items[0].pointer, "/nom");
    cr_assert_str_eq(errors.items[0].code, "caractere-invalide");
    cr_assert_null(s);
}

Test(json_spec, string_check_function)
{
    static const struct json_field f = {.kind = JSON_FIELD_STRING,
                                        .check = siren_is_valid,
                                        .check_message = "SIREN invalide (R42)."};
    struct json_field no_message = f;
    FIELD_ERRORS(errors);
    struct json_field spec[2] = {f, JSON_FIELDS_END};
    const char *s = NULL;
    json_t *root;

    /* real SIRENs: Ajaccio, CINOR */
    cr_assert(siren_is_valid("212000046") && siren_is_valid("249740119"));
    cr_assert_str_eq(apply_one(&f, "\"212000046\"", &s), "");
    cr_assert_str_eq(apply_one(&f, "\"249740119\"", &s), "");
    cr_assert_str_eq(s, "249740119");
    cr_assert_str_eq(apply_one(&f, "\"212000047\"", &s), "format-invalide");
    cr_assert_str_eq(apply_one(&f, "\"21200004\"", &s), "format-invalide");

    spec[0].name = "siren";
    root = load("{\"siren\": \"123\"}");
    cr_assert_not(json_spec_apply(root, spec, JSON_SPEC_CREATE, &s, "", &errors));
    cr_assert_str_eq(errors.items[0].message, "SIREN invalide (R42).", "the spec's message");

    no_message.check_message = NULL;
    cr_assert_str_eq(apply_one(&no_message, "\"123\"", &s), "format-invalide");
}

Test(json_spec, integer_bounds)
{
    static const struct json_field f = {.kind = JSON_FIELD_INTEGER, .min = -10, .max = 10};
    FIELD_ERRORS(errors);
    struct json_field spec[2] = {f, JSON_FIELDS_END};
    int64_t v = 0;
    json_t *root;

    cr_assert_str_eq(apply_one(&f, "-10", &v), "");
    cr_assert_eq(v, -10);
    cr_assert_str_eq(apply_one(&f, "10", &v), "");
    cr_assert_eq(v, 10);
    cr_assert_str_eq(apply_one(&f, "0", &v), "");
    cr_assert_eq(v, 0);
    cr_assert_str_eq(apply_one(&f, "-11", &v), "hors-bornes");
    cr_assert_str_eq(apply_one(&f, "11", &v), "hors-bornes");
    cr_assert_str_eq(apply_one(&f, "9223372036854775807", &v), "hors-bornes");
    cr_assert_eq(v, 0, "a refused value leaves the target alone");

    spec[0].name = "n";
    root = load("{\"n\": 11}");
    cr_assert_not(json_spec_apply(root, spec, JSON_SPEC_CREATE, &v, "", &errors));
    cr_assert_not_null(strstr(errors.items[0].message, "-10"), "%s", errors.items[0].message);
    cr_assert_not_null(strstr(errors.items[0].message, "10."), "%s", errors.items[0].message);
}

Test(json_spec, integer_without_bounds)
{
    static const struct json_field f = {.kind = JSON_FIELD_INTEGER};
    int64_t v = 0;

    cr_assert_str_eq(apply_one(&f, "9223372036854775807", &v), "");
    cr_assert_eq(v, INT64_MAX);
    cr_assert_str_eq(apply_one(&f, "-9223372036854775808", &v), "");
    cr_assert_eq(v, INT64_MIN);
}

Test(json_spec, wrong_types_for_every_kind)
{
    static const struct {
        struct json_field field;
        const char *values[6];
    } cases[] = {
        {{.kind = JSON_FIELD_STRING}, {"1", "true", "[]", "{}", "[\"a\"]", NULL}},
        {{.kind = JSON_FIELD_INTEGER}, {"1.0", "1e2", "\"1\"", "true", "[1]", "{}"}},
        {{.kind = JSON_FIELD_BOOLEAN}, {"0", "1", "\"true\"", "[]", "{}", NULL}},
        {{.kind = JSON_FIELD_ENUM, .values = etats}, {"0", "true", "[\"deposee\"]", "{}", NULL}},
        {{.kind = JSON_FIELD_DATE}, {"20240101", "true", "[2024, 1, 1]", "{}", NULL}},
        {{.kind = JSON_FIELD_OBJECT, .fields = geo_fields}, {"[]", "\"{}\"", "1", "false", NULL}},
    };
    union {
        const char *s;
        int64_t i;
        bool b;
        int e;
        struct date d;
        struct geo g;
    } target;

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t v = 0; v < 6 && cases[c].values[v]; v++)
            cr_assert_str_eq(apply_one(&cases[c].field, cases[c].values[v], &target),
                             "type-invalide", "kind %d, value %s", (int)cases[c].field.kind,
                             cases[c].values[v]);
}

Test(json_spec, boolean_values)
{
    static const struct json_field f = {.kind = JSON_FIELD_BOOLEAN};
    bool b = false;

    cr_assert_str_eq(apply_one(&f, "true", &b), "");
    cr_assert(b);
    cr_assert_str_eq(apply_one(&f, "false", &b), "");
    cr_assert_not(b);
}

Test(json_spec, enum_values)
{
    static const struct json_field f = {.kind = JSON_FIELD_ENUM, .values = etats};
    FIELD_ERRORS(errors);
    struct json_field spec[2] = {f, JSON_FIELDS_END};
    int e = -1;
    json_t *root;

    cr_assert_str_eq(apply_one(&f, "\"brouillon\"", &e), "");
    cr_assert_eq(e, 0);
    cr_assert_str_eq(apply_one(&f, "\"acceptee\"", &e), "");
    cr_assert_eq(e, 2);
    cr_assert_str_eq(apply_one(&f, "\"Acceptee\"", &e), "valeur-inconnue", "case matters");
    cr_assert_str_eq(apply_one(&f, "\"acceptée\"", &e), "valeur-inconnue");
    cr_assert_str_eq(apply_one(&f, "\"\"", &e), "valeur-inconnue");
    cr_assert_str_eq(apply_one(&f, "\"deposee \"", &e), "valeur-inconnue");
    cr_assert_eq(e, 2, "a refused value leaves the target alone");

    spec[0].name = "etat";
    root = load("{\"etat\": \"perdue\"}");
    cr_assert_not(json_spec_apply(root, spec, JSON_SPEC_CREATE, &e, "", &errors));
    cr_assert_not_null(strstr(errors.items[0].message, "brouillon, deposee, acceptee"),
                       "the message lists the values: %s", errors.items[0].message);
}

Test(json_spec, dates)
{
    static const struct json_field f = {.kind = JSON_FIELD_DATE};
    static const char *const bad[] = {
        "\"2023-02-29\"", "\"2023-13-01\"", "\"23-01-01\"",    "\"2023-1-01\"",
        "\"2023-01-1\"",  "\"2023-00-10\"", "\"2023-01-00\"",  "\"2023-04-31\"",
        "\"2023-01-32\"", "\"1899-12-31\"", "\"3000-01-01\"",  "\"2023/01/01\"",
        "\"20230101\"",   "\"\"",           "\" 2023-01-01\"", "\"2023-01-01T00:00:00Z\"",
    };
    struct date d = {0, 0, 0};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_str_eq(apply_one(&f, bad[i], &d), "date-invalide", "%s", bad[i]);
    cr_assert_eq(d.year, 0, "refused dates leave the target alone");

    cr_assert_str_eq(apply_one(&f, "\"2024-02-29\"", &d), "");
    cr_assert_eq(date_compare(d, (struct date){2024, 2, 29}), 0);
    cr_assert_str_eq(apply_one(&f, "\"1900-01-01\"", &d), "");
    cr_assert_str_eq(apply_one(&f, "\"2999-12-31\"", &d), "");
    cr_assert_eq(date_compare(d, (struct date){2999, 12, 31}), 0);
}

/* ---- error list mechanics ---------------------------------------------- */

Test(json_spec, pointer_prefix_is_prepended)
{
    FIELD_ERRORS(errors);
    struct adresse a;
    json_t *root = load("{\"commune\": 1, \"geo\": {\"altitude\": 6000}, \"x/y\": 0}");

    memset(&a, 0, sizeof a);
    cr_assert_not(
        json_spec_apply(root, adresse_fields, JSON_SPEC_CREATE, &a, "/lignes/3/adresse", &errors));
    {
        static const struct expected_error expected[] = {
            {"/lignes/3/adresse/code_postal", "champ-requis"},
            {"/lignes/3/adresse/commune", "type-invalide"},
            {"/lignes/3/adresse/geo/altitude", "hors-bornes"},
            {"/lignes/3/adresse/x~1y", "champ-inconnu"},
        };
        assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
    }
}

Test(json_spec, result_ignores_earlier_errors)
{
    FIELD_ERRORS(errors);
    struct geo g;
    json_t *root = load("{\"altitude\": 100}");

    field_errors_add(&errors, "/ailleurs", NULL, "champ-inconnu", "Avant.");
    cr_assert(json_spec_apply(root, geo_fields, JSON_SPEC_CREATE, &g, "", &errors),
              "no error added by this call");
    cr_assert_eq(errors.count, 1);
    cr_assert_eq(g.altitude, 100);
}

Test(json_spec, overflowing_errors_are_counted)
{
    FIELD_ERRORS(errors);
    struct geo g;
    json_t *root = hold(json_object());

    for (int i = 0; i < FIELD_ERRORS_MAX + 6; i++) {
        char key[16];

        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(root, key, json_integer(i));
    }
    cr_assert_not(json_spec_apply(root, geo_fields, JSON_SPEC_CREATE, &g, "", &errors));
    cr_assert_eq(errors.count, FIELD_ERRORS_MAX);
    cr_assert_eq(errors.dropped, 6);

    /* a full list still yields false when only dropped errors were added */
    cr_assert_not(json_spec_apply(root, geo_fields, JSON_SPEC_CREATE, &g, "", &errors));
    cr_assert_eq(errors.dropped, 6 + FIELD_ERRORS_MAX + 6);
}

Test(json_spec, long_member_names_give_bounded_pointers)
{
    FIELD_ERRORS(errors);
    struct geo g;
    char name[400];
    json_t *root = hold(json_object());

    memset(name, 'k', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    json_object_set_new(root, name, json_true());
    cr_assert_not(json_spec_apply(root, geo_fields, JSON_SPEC_CREATE, &g, "", &errors));
    cr_assert_eq(errors.count, 1);
    cr_assert_lt(strlen(errors.items[0].pointer), sizeof errors.items[0].pointer);
    cr_assert(strncmp(errors.items[0].pointer, "/kkkk", 5) == 0);
    cr_assert_str_eq(errors.items[0].code, "champ-inconnu");
}

/* ---- one spec, three modes: creation, merge patch, merged content ------- */

struct fiche {
    const char *code;
    const char *titre;
    bool has_titre;
    const char *note;
    bool has_note;
    int64_t version;
    const char *cloture;
    bool has_cloture;
};

static const struct json_field fiche_fields[] = {
    {.name = "code",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct fiche, code),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .min_length = 1,
     .max_length = 16},
    {.name = "titre",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct fiche, titre),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 50,
     .present_at = JSON_PRESENT_AT(struct fiche, has_titre)},
    {.name = "note",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct fiche, note),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche, has_note)},
    {.name = "version",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct fiche, version),
     .on_patch = JSON_PATCH_REQUIRED,
     .min = 1,
     .max = 99},
    {.name = "cloture",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct fiche, cloture),
     .on_create = JSON_CREATE_ABSENT,
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche, has_cloture)},
    JSON_FIELDS_END,
};

static struct field_errors apply_fiche(const char *text, enum json_spec_mode mode,
                                       struct fiche *out, bool *ok)
{
    FIELD_ERRORS(errors);
    json_t *root = load(text);

    memset(out, 0, sizeof *out);
    *ok = json_spec_apply(root, fiche_fields, mode, out, "", &errors);
    cr_assert_eq(*ok, errors.count == 0, "return value matches the error list");
    return errors;
}

Test(json_spec_modes, creation_requires_and_refuses_what_it_does_not_hold)
{
    static const struct expected_error expected[] = {
        {"/code", "champ-requis"},
        {"/titre", "champ-requis"},
        {"/cloture", "champ-inconnu"},
    };
    struct fiche f;
    bool ok;
    struct field_errors errors = apply_fiche("{\"cloture\": \"2026\"}", JSON_SPEC_CREATE, &f, &ok);

    cr_assert_not(ok);
    assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
    cr_assert_not(f.has_cloture, "a member the mode refuses is not read");
    /* version is required by a patch only */
    errors = apply_fiche("{\"code\": \"F1\", \"titre\": \"Halles\"}", JSON_SPEC_CREATE, &f, &ok);
    cr_assert(ok);
    cr_assert_str_eq(f.code, "F1");
    cr_assert_str_eq(f.titre, "Halles");
    cr_assert_eq(f.version, 0);
}

Test(json_spec_modes, a_patch_requires_nothing_but_what_every_patch_gives)
{
    static const struct expected_error expected[] = {{"/version", "champ-requis"}};
    struct fiche f;
    bool ok;
    struct field_errors errors = apply_fiche("{}", JSON_SPEC_PATCH, &f, &ok);

    cr_assert_not(ok);
    assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
    errors = apply_fiche("{\"version\": 3}", JSON_SPEC_PATCH, &f, &ok);
    cr_assert(ok, "code and titre, required on creation, are not required by a patch");
    cr_assert_eq(f.version, 3);
    cr_assert_not(f.has_titre);
    cr_assert_not(f.has_note);
    /* a member absent on creation is editable */
    errors = apply_fiche("{\"version\": 3, \"cloture\": \"2027\"}", JSON_SPEC_PATCH, &f, &ok);
    cr_assert(ok);
    cr_assert(f.has_cloture);
    cr_assert_str_eq(f.cloture, "2027");
}

Test(json_spec_modes, a_patch_removes_with_null_where_nullable_only)
{
    static const struct expected_error expected[] = {{"/titre", "type-invalide"}};
    struct fiche f;
    bool ok;
    struct field_errors errors = apply_fiche("{\"version\": 1, \"note\": null, \"cloture\": null}",
                                             JSON_SPEC_PATCH, &f, &ok);

    cr_assert(ok);
    cr_assert(f.has_note, "null is given: the member is removed");
    cr_assert_null(f.note);
    cr_assert(f.has_cloture);
    cr_assert_null(f.cloture);
    errors = apply_fiche("{\"version\": 1, \"titre\": null}", JSON_SPEC_PATCH, &f, &ok);
    cr_assert_not(ok);
    assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
    cr_assert_str_eq(errors.items[0].message, "La valeur null n'est pas permise.");
    cr_assert_not(f.has_titre);
}

Test(json_spec_modes, an_immutable_member_is_refused_where_it_stands)
{
    struct fiche f;
    bool ok;
    struct field_errors errors = apply_fiche(
        "{\"zz\": 1, \"code\": \"F2\", \"version\": 0, \"a\": 2}", JSON_SPEC_PATCH, &f, &ok);

    cr_assert_not(ok);
    cr_assert_eq(errors.count, 4);
    /* unknown and immutable members in the body's order, then the fields' errors */
    cr_assert_str_eq(errors.items[0].pointer, "/zz");
    cr_assert_str_eq(errors.items[1].pointer, "/code");
    cr_assert_str_eq(errors.items[1].code, "champ-inconnu");
    cr_assert_str_eq(errors.items[1].message, "Ce champ n'existe pas pour cette ressource.");
    cr_assert_str_eq(errors.items[2].pointer, "/a");
    cr_assert_str_eq(errors.items[3].pointer, "/version");
    cr_assert_str_eq(errors.items[3].code, "hors-bornes");
    cr_assert_null(f.code, "an immutable member is not read");
}

Test(json_spec_modes, merged_content_is_whole_but_keeps_immutable_members_out)
{
    static const struct expected_error expected[] = {
        {"/code", "champ-inconnu"},
        {"/titre", "champ-requis"},
        {"/version", "champ-requis"},
    };
    struct fiche f;
    bool ok;
    struct field_errors errors = apply_fiche("{\"code\": \"F3\"}", JSON_SPEC_REPLACE, &f, &ok);

    cr_assert_not(ok);
    assert_errors(&errors, expected, sizeof expected / sizeof expected[0]);
    errors = apply_fiche("{\"titre\": \"Gare\", \"version\": 2, \"cloture\": \"2028\"}",
                         JSON_SPEC_REPLACE, &f, &ok);
    cr_assert(ok);
    cr_assert_str_eq(f.titre, "Gare");
    cr_assert_str_eq(f.cloture, "2028");
}

Test(json_spec_modes, field_allowed_by_mode)
{
    const struct json_field *code = &fiche_fields[0], *titre = &fiche_fields[1],
                            *cloture = &fiche_fields[4];

    cr_assert(json_field_allowed(code, JSON_SPEC_CREATE));
    cr_assert_not(json_field_allowed(code, JSON_SPEC_PATCH));
    cr_assert_not(json_field_allowed(code, JSON_SPEC_REPLACE));
    cr_assert(json_field_allowed(titre, JSON_SPEC_CREATE));
    cr_assert(json_field_allowed(titre, JSON_SPEC_PATCH));
    cr_assert_not(json_field_allowed(cloture, JSON_SPEC_CREATE));
    cr_assert(json_field_allowed(cloture, JSON_SPEC_PATCH));
    cr_assert(json_field_allowed(cloture, JSON_SPEC_REPLACE));
}

Test(json_spec_modes, nested_objects_follow_the_mode)
{
    struct outer {
        struct fiche inner;
    };
    static const struct json_field outer_fields[] = {
        {.name = "fiche",
         .kind = JSON_FIELD_OBJECT,
         .offset = offsetof(struct outer, inner),
         .fields = fiche_fields},
        JSON_FIELDS_END,
    };
    FIELD_ERRORS(errors);
    struct outer o;
    json_t *root = load("{\"fiche\": {\"code\": \"F4\", \"version\": 5}}");

    memset(&o, 0, sizeof o);
    cr_assert_not(json_spec_apply(root, outer_fields, JSON_SPEC_PATCH, &o, "", &errors));
    cr_assert_eq(errors.count, 1);
    cr_assert_str_eq(errors.items[0].pointer, "/fiche/code");
    cr_assert_str_eq(errors.items[0].code, "champ-inconnu");
    cr_assert_eq(o.inner.version, 5);
}
