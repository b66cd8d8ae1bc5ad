/* Declarative validation of JSON objects: one table of field specs per body,
 * applied once, reporting EVERY bad field with its JSON pointer (RFC 6901)
 * into a field_errors list. Values are written into a C struct at the
 * fields' offsets. Strings are borrowed from the JSON document and valid
 * until it is released. Business rules stay in domain/. */
#ifndef PVD_API_JSON_SPEC_H
#define PVD_API_JSON_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "problem.h"

enum json_field_kind {
    JSON_FIELD_STRING,  /* const char * */
    JSON_FIELD_INTEGER, /* int64_t */
    JSON_FIELD_BOOLEAN, /* bool */
    JSON_FIELD_ENUM,    /* int: index in .values */
    JSON_FIELD_DATE,    /* struct date (domain/date.h): a real calendar date */
    JSON_FIELD_OBJECT,  /* nested struct validated by .fields */
    JSON_FIELD_VALUE,   /* const json_t * (borrowed), any type: checked by the caller */
};

struct json_field {
    const char *name;
    enum json_field_kind kind;
    size_t offset;             /* of the value in the target struct */
    bool required;             /* absent (or null when !nullable) → error */
    bool nullable;             /* null accepted; the value stays as initialised */
    size_t present_at;         /* offset + 1 of a bool set when the member is present; 0: none */
    size_t min_length;         /* STRING, in bytes */
    size_t max_length;         /* STRING, 0: no limit */
    int64_t min, max;          /* INTEGER; both 0: no limit */
    const char *const *values; /* ENUM: NULL-terminated names */
    bool (*check)(const char *value); /* STRING: extra format check (e.g. SIREN) */
    const char *check_message;        /* French, shown when check fails */
    const struct json_field *fields;  /* OBJECT: nested spec */
};
/* A spec is an array ended by an entry whose name is NULL. */
#define JSON_FIELDS_END                                                                            \
    {                                                                                              \
        .name = NULL                                                                               \
    }
#define JSON_PRESENT_AT(type, member) (offsetof(type, member) + 1)

/* Validates object against spec, writing into target. Reports unknown
 * members (code "champ-inconnu"), missing required ones ("champ-requis"),
 * wrong types ("type-invalide") and out-of-range values; pointer_prefix is ""
 * at the top level. Returns true when no error was added. */
bool json_spec_apply(const json_t *object, const struct json_field *spec, void *target,
                     const char *pointer_prefix, struct field_errors *errors);

/* Appends the RFC 6901 pointer of member name under prefix into out. */
void json_pointer_join(char *out, size_t size, const char *prefix, const char *name);

#endif
