/* Perimeters in request bodies (habilitations and machine clients): their
 * format, the rules of each role, and the départements and régions they
 * touch through the referential (R43). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../json_spec.h"
#include "handlers.h"
#include "perimetre.h"

const char *const role_names_all[] = {
    "collectivite_agent", "collectivite_elu", "prefecture_instructeur", "prefecture_region",
    "financeur",          "anct_national",    "lecteur_national",       NULL};

static bool is_territoire_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || n > 16 || strncmp(s, "pvd-", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* One list of codes of the perimetre object; malformed entries reported. */
static size_t read_codes(const json_t *perimetre, const char *member, bool (*valid)(const char *),
                         char *dst, size_t width, struct field_errors *errs)
{
    char pointer[96];
    snprintf(pointer, sizeof pointer, "/perimetre/%s", member);
    const json_t *list = json_object_get(perimetre, member);
    if (list == NULL)
        return 0;
    if (!json_is_array(list)) {
        field_errors_add(errs, pointer, NULL, "type-invalide", "Un tableau de codes est attendu.");
        return 0;
    }
    if (json_array_size(list) > PERIMETER_MAX) {
        field_errors_add(errs, pointer, NULL, "longueur-invalide", "Au plus %d codes.",
                         PERIMETER_MAX);
        return 0;
    }
    size_t n = 0, i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *code = json_string_value(item);
        char item_pointer[120];
        snprintf(item_pointer, sizeof item_pointer, "%s/%zu", pointer, i);
        if (code == NULL || strlen(code) >= width || !valid(code)) {
            field_errors_add(errs, item_pointer, NULL, "format-invalide", "Code mal formé.");
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(dst + k * width, code) == 0;
        if (!dup)
            snprintf(dst + (n++) * width, width, "%s", code);
    }
    return n;
}

static const char *const known_perimeter_members[] = {"departements", "regions", "sirens",
                                                      "territoires", NULL};

void habilitation_read_perimeter(const json_t *v, struct perimeter *p, struct field_errors *errs)
{
    memset(p, 0, sizeof *p);
    if (v == NULL)
        return;
    if (!json_is_object(v)) {
        field_errors_add(errs, "/perimetre", NULL, "type-invalide", "Un objet est attendu.");
        return;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        bool known = false;
        for (size_t i = 0; known_perimeter_members[i] && !known; i++)
            known = strcmp(key, known_perimeter_members[i]) == 0;
        if (!known) {
            char pointer[160];
            json_pointer_join(pointer, sizeof pointer, "/perimetre", key);
            field_errors_add(errs, pointer, NULL, "champ-inconnu",
                             "Ce champ n'existe pas pour un périmètre.");
        }
    }
    p->departement_count = read_codes(v, "departements", departement_code_is_valid,
                                      &p->departements[0][0], sizeof p->departements[0], errs);
    p->region_count = read_codes(v, "regions", region_code_is_valid, &p->regions[0][0],
                                 sizeof p->regions[0], errs);
    p->siren_count =
        read_codes(v, "sirens", siren_is_valid, &p->sirens[0][0], sizeof p->sirens[0], errs);
    p->territoire_count = read_codes(v, "territoires", is_territoire_id, &p->territoires[0][0],
                                     sizeof p->territoires[0], errs);
}

/* Rule: the perimeter's kind fits the role (domain.md §5), every code exists
 * in the loaded referential. 422 errors with pointers. */
void habilitation_check_perimeter(enum role role, const struct perimeter *p,
                                  const struct referentiel *ref, struct field_errors *errs)
{
    bool deps = p->departement_count > 0, regs = p->region_count > 0, sirens = p->siren_count > 0,
         terrs = p->territoire_count > 0;
    const char *why = NULL;
    switch (role) {
    case ROLE_PREFECTURE_INSTRUCTEUR:
        if (!deps || regs || sirens || terrs)
            why = "Une préfecture de département a pour périmètre un ou plusieurs départements, "
                  "et rien d'autre.";
        break;
    case ROLE_PREFECTURE_REGION:
        if (!regs || deps || sirens || terrs)
            why = "Une préfecture de région a pour périmètre une ou plusieurs régions, et rien "
                  "d'autre.";
        break;
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_COLLECTIVITE_ELU:
        if (!(sirens || terrs) || deps || regs)
            why = "Une collectivité a pour périmètre ses organisations (SIREN) ou ses "
                  "territoires PVD, pas des départements ni des régions.";
        break;
    case ROLE_FINANCEUR:
        if (p->siren_count != 1 || deps || regs || terrs)
            why = "Un financeur a pour périmètre exactement une organisation (son SIREN).";
        break;
    case ROLE_ANCT_NATIONAL:
    case ROLE_LECTEUR_NATIONAL:
        if (deps || regs || sirens || terrs)
            why = "Un rôle national (ANCT, lecteur national) a un périmètre national : le "
                  "périmètre doit être vide.";
        break;
    case ROLE__COUNT:
        break;
    }
    if (why)
        field_errors_add(errs, "/perimetre", NULL, "perimetre-incompatible", "%s", why);
    for (size_t i = 0; i < p->departement_count; i++)
        if (!referentiel_find_departement(ref, p->departements[i]))
            field_errors_add(errs, "/perimetre/departements", NULL, "code-inconnu",
                             "Département « %s » inconnu du référentiel.", p->departements[i]);
    for (size_t i = 0; i < p->region_count; i++)
        if (!referentiel_find_region(ref, p->regions[i]))
            field_errors_add(errs, "/perimetre/regions", NULL, "code-inconnu",
                             "Région « %s » inconnue du référentiel.", p->regions[i]);
    /* A collectivité acts for its communes and EPCIs (the referential's); a
     * financeur is any organisation (a Région, the Banque des Territoires,
     * the Anah…): its SIREN need only be a valid one (R42's Luhn key). */
    for (size_t i = 0; i < p->siren_count; i++) {
        if (role == ROLE_FINANCEUR ? siren_is_valid(p->sirens[i])
                                   : referentiel_find_epci(ref, p->sirens[i]) ||
                                         referentiel_find_commune_by_siren(ref, p->sirens[i]))
            continue;
        field_errors_add(errs, "/perimetre/sirens", NULL, "code-inconnu",
                         role == ROLE_FINANCEUR
                             ? "SIREN « %s » invalide (clé de Luhn, R42)."
                             : "SIREN « %s » : ni une commune ni un EPCI du référentiel (R42).",
                         p->sirens[i]);
    }
}

static void touch(const char **list, size_t *count, const char *code)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp(list[i], code) == 0)
            return;
    if (*count < PERIMETER_MAX * 4)
        list[(*count)++] = code;
}

void perimeter_scope_of(const struct perimeter *p, const struct referentiel *ref,
                        struct perimeter_scope *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < p->departement_count; i++)
        touch(t->departements, &t->departement_count, p->departements[i]);
    for (size_t i = 0; i < p->region_count; i++) {
        touch(t->regions, &t->region_count, p->regions[i]);
        for (size_t d = 0; d < ref->departement_count; d++)
            if (strcmp(ref->departements[d].code_region, p->regions[i]) == 0)
                touch(t->departements, &t->departement_count, ref->departements[d].code);
    }
    for (size_t i = 0; i < p->siren_count; i++) {
        const struct ref_commune *c = referentiel_find_commune_by_siren(ref, p->sirens[i]);
        const struct ref_epci *e = referentiel_find_epci(ref, p->sirens[i]);
        if (c)
            touch(t->departements, &t->departement_count, c->code_departement);
        for (size_t k = 0; e && k < e->departement_count; k++)
            touch(t->departements, &t->departement_count, e->departements[k]);
    }
    for (size_t i = 0; i < t->departement_count; i++) {
        const struct ref_departement *d = referentiel_find_departement(ref, t->departements[i]);
        if (d)
            touch(t->regions, &t->region_count, d->code_region);
    }
}
