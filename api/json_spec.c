/* Declarative JSON validation (see json_spec.h). */
#include "json_spec.h"

#include <stdio.h>
#include <string.h>

#include "../domain/date.h"

void json_pointer_join(char *out, size_t size, const char *prefix, const char *name)
{
    size_t len = (size_t)snprintf(out, size, "%s/", prefix);
    for (const char *p = name; *p && len + 3 < size; p++) {
        if (*p == '~') {
            out[len++] = '~';
            out[len++] = '0';
        } else if (*p == '/') {
            out[len++] = '~';
            out[len++] = '1';
        } else {
            out[len++] = *p;
        }
    }
    out[len < size ? len : size - 1] = '\0';
}

static const char *type_name(enum json_field_kind kind)
{
    switch (kind) {
    case JSON_FIELD_STRING:
        return "une chaîne";
    case JSON_FIELD_INTEGER:
        return "un entier";
    case JSON_FIELD_BOOLEAN:
        return "un booléen";
    case JSON_FIELD_ENUM:
        return "une chaîne parmi les valeurs permises";
    case JSON_FIELD_DATE:
        return "une date AAAA-MM-JJ";
    case JSON_FIELD_OBJECT:
        return "un objet";
    case JSON_FIELD_VALUE:
        return "une valeur JSON";
    }
    return "?";
}

static void set_present(const struct json_field *f, void *target)
{
    if (f->present_at)
        *(bool *)((char *)target + f->present_at - 1) = true;
}

static void apply_field(const struct json_field *f, enum json_spec_mode mode, const json_t *v,
                        void *target, const char *pointer, struct field_errors *errs)
{
    void *slot = (char *)target + f->offset;
    switch (f->kind) {
    case JSON_FIELD_STRING: {
        if (!json_is_string(v))
            goto wrong_type;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n < f->min_length || (f->max_length && n > f->max_length)) {
            if (f->max_length)
                field_errors_add(errs, pointer, NULL, "longueur-invalide",
                                 "La longueur doit être comprise entre %zu et %zu octets.",
                                 f->min_length, f->max_length);
            else
                field_errors_add(errs, pointer, NULL, "longueur-invalide",
                                 "La longueur doit être d'au moins %zu octet(s).", f->min_length);
            return;
        }
        if (strlen(s) != n) {
            field_errors_add(errs, pointer, NULL, "caractere-invalide",
                             "Le caractère NUL n'est pas permis.");
            return;
        }
        if (f->check && !f->check(s)) {
            field_errors_add(errs, pointer, NULL, "format-invalide", "%s",
                             f->check_message ? f->check_message : "Format invalide.");
            return;
        }
        *(const char **)slot = s;
        return;
    }
    case JSON_FIELD_INTEGER: {
        if (!json_is_integer(v))
            goto wrong_type;
        json_int_t n = json_integer_value(v);
        if ((f->min || f->max) && (n < f->min || n > f->max)) {
            field_errors_add(errs, pointer, NULL, "hors-bornes",
                             "La valeur doit être comprise entre %lld et %lld.", (long long)f->min,
                             (long long)f->max);
            return;
        }
        *(int64_t *)slot = n;
        return;
    }
    case JSON_FIELD_BOOLEAN:
        if (!json_is_boolean(v))
            goto wrong_type;
        *(bool *)slot = json_is_true(v);
        return;
    case JSON_FIELD_ENUM: {
        if (!json_is_string(v))
            goto wrong_type;
        for (int i = 0; f->values[i]; i++) {
            if (strcmp(f->values[i], json_string_value(v)) == 0) {
                *(int *)slot = i;
                return;
            }
        }
        char allowed[240] = "";
        size_t len = 0;
        for (int i = 0; f->values[i] && len < sizeof allowed; i++)
            len += (size_t)snprintf(allowed + len, sizeof allowed - len, "%s%s", i ? ", " : "",
                                    f->values[i]);
        field_errors_add(errs, pointer, NULL, "valeur-inconnue", "Valeurs permises : %s.", allowed);
        return;
    }
    case JSON_FIELD_DATE: {
        struct date d;
        if (!json_is_string(v))
            goto wrong_type;
        if (!date_parse(json_string_value(v), &d)) {
            field_errors_add(errs, pointer, NULL, "date-invalide",
                             "Date attendue au format AAAA-MM-JJ et existant au calendrier.");
            return;
        }
        *(struct date *)slot = d;
        return;
    }
    case JSON_FIELD_OBJECT:
        if (!json_is_object(v))
            goto wrong_type;
        json_spec_apply(v, f->fields, mode, slot, pointer, errs);
        return;
    case JSON_FIELD_VALUE:
        *(const json_t **)slot = v;
        return;
    }
wrong_type:
    field_errors_add(errs, pointer, NULL, "type-invalide", "La valeur doit être %s.",
                     type_name(f->kind));
}

bool json_field_allowed(const struct json_field *f, enum json_spec_mode mode)
{
    if (mode == JSON_SPEC_CREATE)
        return f->on_create != JSON_CREATE_ABSENT;
    return f->on_patch != JSON_PATCH_IMMUTABLE;
}

static bool required(const struct json_field *f, enum json_spec_mode mode)
{
    if (f->on_patch == JSON_PATCH_REQUIRED && mode != JSON_SPEC_CREATE)
        return true;
    return f->on_create == JSON_CREATE_REQUIRED && mode != JSON_SPEC_PATCH;
}

bool json_spec_apply(const json_t *object, const struct json_field *spec, enum json_spec_mode mode,
                     void *target, const char *pointer_prefix, struct field_errors *errors)
{
    size_t before = errors->count + errors->dropped;
    char pointer[160];
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        const struct json_field *f = spec;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL || !json_field_allowed(f, mode)) {
            json_pointer_join(pointer, sizeof pointer, pointer_prefix, key);
            field_errors_add(errors, pointer, NULL, "champ-inconnu",
                             "Ce champ n'existe pas pour cette ressource.");
        }
    }
    for (const struct json_field *f = spec; f->name; f++) {
        if (!json_field_allowed(f, mode))
            continue;
        json_pointer_join(pointer, sizeof pointer, pointer_prefix, f->name);
        json_t *v = json_object_get(object, f->name);
        if (v == NULL || (json_is_null(v) && !f->nullable)) {
            if (required(f, mode) || v != NULL)
                field_errors_add(errors, pointer, NULL, v ? "type-invalide" : "champ-requis",
                                 v ? "La valeur null n'est pas permise." : "Champ obligatoire.");
            continue;
        }
        set_present(f, target);
        if (json_is_null(v))
            continue;
        apply_field(f, mode, v, target, pointer, errors);
    }
    return errors->count + errors->dropped == before;
}
