/* Declarative validation of JSON objects: one table of field specs per
 * object, serving its creation and its JSON Merge Patch (RFC 7396) alike,
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

/* What a creation body may hold of a field. */
enum json_on_create {
    JSON_CREATE_OPTIONAL, /* may be absent */
    JSON_CREATE_REQUIRED, /* absent → champ-requis */
    JSON_CREATE_ABSENT,   /* not part of a creation: present → champ-inconnu */
};

/* What a patch may do with a field. */
enum json_on_patch {
    JSON_PATCH_EDITABLE,  /* may be given, or left out */
    JSON_PATCH_IMMUTABLE, /* set at creation only: present → champ-inconnu */
    JSON_PATCH_REQUIRED,  /* every patch gives it (absent → champ-requis) */
};

/* Which body a spec is applied to. */
enum json_spec_mode {
    JSON_SPEC_CREATE,  /* a creation: .on_create decides */
    JSON_SPEC_PATCH,   /* a merge patch: nothing required but JSON_PATCH_REQUIRED,
                        * null removes a nullable member, immutable refused */
    JSON_SPEC_REPLACE, /* the whole content a merge patch produced: required as
                        * on creation (and JSON_PATCH_REQUIRED), immutable refused */
};

struct json_field {
    const char *name;
    enum json_field_kind kind;
    size_t offset;                 /* of the value in the target struct */
    enum json_on_create on_create; /* default: optional */
    enum json_on_patch on_patch;   /* default: editable */
    bool nullable;                 /* null accepted; the value stays as initialised */
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

/* Validates object against spec as a body of kind mode, writing into target.
 * Reports unknown members and those the mode does not allow (code
 * "champ-inconnu", where they stand in the object), then, in spec order,
 * missing required ones ("champ-requis"), null where not nullable and wrong
 * types ("type-invalide") and out-of-range values; pointer_prefix is "" at
 * the top level. A nested OBJECT is applied in the same mode. Returns true
 * when no error was added. */
bool json_spec_apply(const json_t *object, const struct json_field *spec, enum json_spec_mode mode,
                     void *target, const char *pointer_prefix, struct field_errors *errors);

/* Whether the member `f` may stand in a body of kind mode. */
bool json_field_allowed(const struct json_field *f, enum json_spec_mode mode);

/* Appends the RFC 6901 pointer of member name under prefix into out. */
void json_pointer_join(char *out, size_t size, const char *prefix, const char *name);

#endif
