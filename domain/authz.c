/* The authorization rule: roles, perimeters and (principal, action, target) →
 * ALLOW / FORBID / HIDE. Sources: domain.md §5 (roles, scopes, "may / may
 * not"), rule R43 (a département scope is never widened by an EPCI), api.md
 * "Authentication and authorisation" (404 outside the perimeter for reads, 403
 * for actions on objects the caller may read), issue 3 §2 (who grants what) and
 * §4 (a pure, table-driven rule). Contracts are in authz.h. */
#include "authz.h"

#include <string.h>

#include "names.h"

static const char *const role_names[ROLE__COUNT] = {
    [ROLE_COLLECTIVITE_AGENT] = "collectivite_agent",
    [ROLE_COLLECTIVITE_ELU] = "collectivite_elu",
    [ROLE_PREFECTURE_INSTRUCTEUR] = "prefecture_instructeur",
    [ROLE_PREFECTURE_REGION] = "prefecture_region",
    [ROLE_FINANCEUR] = "financeur",
    [ROLE_ANCT_NATIONAL] = "anct_national",
    [ROLE_LECTEUR_NATIONAL] = "lecteur_national",
};

static const char *const action_names[ACTION__COUNT] = {
    [ACTION_HABILITATION_READ] = "habilitation.lire",
    [ACTION_HABILITATION_GRANT] = "habilitation.accorder",
    [ACTION_HABILITATION_REVOKE] = "habilitation.revoquer",
    [ACTION_CLIENT_MANAGE] = "client.gerer",
    [ACTION_CLIENT_ISSUE] = "client.emettre",
    [ACTION_JOURNAL_READ] = "journal.lire",
    [ACTION_ORGANISATION_CREATE] = "organisation.creer",
    [ACTION_ORGANISATION_WRITE] = "organisation.ecrire",
    [ACTION_TERRITOIRE_WRITE] = "territoire.ecrire",
    [ACTION_CONVENTION_READ] = "convention.lire",
    [ACTION_CONVENTION_WRITE] = "convention.ecrire",
    [ACTION_CONVENTION_SIGN] = "convention.signer",
    [ACTION_CONVENTION_TRANSITION] = "convention.transition",
    [ACTION_STATISTIQUES_READ] = "statistiques.lire",
    [ACTION_PROJET_READ] = "projet.lire",
    [ACTION_PROJET_WRITE] = "projet.ecrire",
    [ACTION_FICHE_READ] = "fiche.lire",
    [ACTION_FICHE_WRITE] = "fiche.ecrire",
    [ACTION_FICHE_TRANSITION] = "fiche.transition",
    [ACTION_PARAMETRES_READ] = "parametres.lire",
    [ACTION_PARAMETRES_WRITE] = "parametres.ecrire",
    [ACTION_POSTE_READ] = "poste.lire",
    [ACTION_POSTE_WRITE] = "poste.ecrire",
    [ACTION_DEMANDE_READ] = "demande.lire",
    [ACTION_DEMANDE_WRITE] = "demande.ecrire",
    [ACTION_DEMANDE_TRANSITION] = "demande.transition",
    [ACTION_DEMANDE_SYNC] = "demande.synchroniser",
    [ACTION_ABONNEMENT_READ] = "abonnement.lire",
    [ACTION_ABONNEMENT_MANAGE] = "abonnement.gerer",
};

/* Ranks for "nobody grants above their own role" (issue 3 §2), ordered by the
 * breadth of the scope in domain.md §5. */
static const int role_ranks[ROLE__COUNT] = {
    [ROLE_COLLECTIVITE_AGENT] = 0,     [ROLE_COLLECTIVITE_ELU] = 0,  [ROLE_FINANCEUR] = 1,
    [ROLE_PREFECTURE_INSTRUCTEUR] = 2, [ROLE_PREFECTURE_REGION] = 2, [ROLE_ANCT_NATIONAL] = 3,
    [ROLE_LECTEUR_NATIONAL] = 3,
};

/* Base permission of a role for an action, before perimeter matching. */
enum base {
    BASE_FORBID,             /* never, whatever the target: FORBID */
    BASE_ALL,                /* always: ALLOW */
    BASE_SCOPED,             /* ALLOW inside the perimeter, HIDE outside */
    BASE_SCOPED_NONE,        /* FORBID inside the perimeter (may read the object), HIDE outside */
    BASE_GRANT_COLLECTIVITE, /* grants collectivité roles within every target département */
    BASE_SCOPED_PUBLIC,      /* ALLOW inside, FORBID outside (the object is public) */
    BASE_CREATE_SCOPED,      /* BASE_SCOPED_PUBLIC, and ALLOW a target without département
                                nor région (a new object acting nowhere yet) */
};

/* role × action → base. Zero is BASE_FORBID, so a missing cell fails closed.
 * - anct_national: "all" (domain.md §5), grants any habilitation (issue 3 §2),
 *   administers machine clients (issue 3 §3).
 * - prefecture_instructeur: reads the habilitations and journal of its
 *   départements (domain.md §5 "read all data of scope", issue 3 §5); grants
 *   collectivité roles inside its départements (issue 3 §2).
 * - prefecture_region: reads within its régions (domain.md §5 "DSIL decisions;
 *   read"); issue 3 §2 names no grant power for it: FORBID.
 * - collectivités, financeur: read the journal of their own objects (issue 3
 *   §5); they see their own habilitation through /moi but do not list others'
 *   (domain.md §5: "see other territories' non-public data" is a may-not, and
 *   habilitations carry personal data, §1.15): FORBID inside, HIDE outside. */
static const enum base base_table[ROLE__COUNT][ACTION__COUNT] = {
    [ROLE_COLLECTIVITE_AGENT] =
        {
            [ACTION_HABILITATION_READ] = BASE_SCOPED_NONE,
            [ACTION_JOURNAL_READ] = BASE_SCOPED,
            [ACTION_ORGANISATION_CREATE] = BASE_CREATE_SCOPED,
            [ACTION_ORGANISATION_WRITE] = BASE_SCOPED_PUBLIC,
            [ACTION_CONVENTION_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_WRITE] = BASE_SCOPED,
            [ACTION_CONVENTION_SIGN] = BASE_SCOPED_NONE,
            [ACTION_CONVENTION_TRANSITION] = BASE_SCOPED,
            [ACTION_PROJET_READ] = BASE_SCOPED,
            [ACTION_PROJET_WRITE] = BASE_SCOPED,
            [ACTION_FICHE_READ] = BASE_SCOPED,
            [ACTION_FICHE_WRITE] = BASE_SCOPED,
            [ACTION_FICHE_TRANSITION] = BASE_SCOPED,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_SCOPED,
            [ACTION_POSTE_WRITE] = BASE_SCOPED,
            [ACTION_DEMANDE_READ] = BASE_SCOPED,
            [ACTION_DEMANDE_WRITE] = BASE_SCOPED,
            [ACTION_DEMANDE_TRANSITION] = BASE_SCOPED,
            [ACTION_DEMANDE_SYNC] = BASE_SCOPED_NONE,
        },
    [ROLE_COLLECTIVITE_ELU] =
        {
            [ACTION_HABILITATION_READ] = BASE_SCOPED_NONE,
            [ACTION_JOURNAL_READ] = BASE_SCOPED,
            [ACTION_ORGANISATION_CREATE] = BASE_CREATE_SCOPED,
            [ACTION_ORGANISATION_WRITE] = BASE_SCOPED_PUBLIC,
            [ACTION_CONVENTION_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_WRITE] = BASE_SCOPED,
            [ACTION_CONVENTION_SIGN] = BASE_SCOPED,
            [ACTION_CONVENTION_TRANSITION] = BASE_SCOPED,
            [ACTION_PROJET_READ] = BASE_SCOPED,
            [ACTION_PROJET_WRITE] = BASE_SCOPED,
            [ACTION_FICHE_READ] = BASE_SCOPED,
            [ACTION_FICHE_WRITE] = BASE_SCOPED,
            [ACTION_FICHE_TRANSITION] = BASE_SCOPED,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_SCOPED,
            [ACTION_POSTE_WRITE] = BASE_SCOPED,
            [ACTION_DEMANDE_READ] = BASE_SCOPED,
            [ACTION_DEMANDE_WRITE] = BASE_SCOPED,
            [ACTION_DEMANDE_TRANSITION] = BASE_SCOPED,
            [ACTION_DEMANDE_SYNC] = BASE_SCOPED_NONE,
        },
    [ROLE_PREFECTURE_INSTRUCTEUR] =
        {
            [ACTION_HABILITATION_READ] = BASE_SCOPED,
            [ACTION_HABILITATION_GRANT] = BASE_GRANT_COLLECTIVITE,
            [ACTION_HABILITATION_REVOKE] = BASE_GRANT_COLLECTIVITE,
            [ACTION_JOURNAL_READ] = BASE_SCOPED,
            [ACTION_ORGANISATION_CREATE] = BASE_CREATE_SCOPED,
            [ACTION_ORGANISATION_WRITE] = BASE_SCOPED_PUBLIC,
            [ACTION_TERRITOIRE_WRITE] = BASE_SCOPED_PUBLIC,
            [ACTION_CONVENTION_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_WRITE] = BASE_SCOPED_NONE,
            [ACTION_CONVENTION_SIGN] = BASE_SCOPED,
            [ACTION_CONVENTION_TRANSITION] = BASE_SCOPED,
            [ACTION_STATISTIQUES_READ] = BASE_ALL,
            [ACTION_PROJET_READ] = BASE_SCOPED,
            [ACTION_PROJET_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_READ] = BASE_SCOPED,
            [ACTION_FICHE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_TRANSITION] = BASE_SCOPED_NONE,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_SCOPED,
            [ACTION_POSTE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_READ] = BASE_SCOPED,
            [ACTION_DEMANDE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_TRANSITION] = BASE_SCOPED,
            [ACTION_DEMANDE_SYNC] = BASE_SCOPED,
        },
    [ROLE_PREFECTURE_REGION] =
        {
            [ACTION_HABILITATION_READ] = BASE_SCOPED,
            [ACTION_JOURNAL_READ] = BASE_SCOPED,
            [ACTION_ORGANISATION_CREATE] = BASE_CREATE_SCOPED,
            [ACTION_ORGANISATION_WRITE] = BASE_SCOPED_PUBLIC,
            [ACTION_CONVENTION_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_WRITE] = BASE_SCOPED_NONE,
            [ACTION_CONVENTION_SIGN] = BASE_SCOPED,
            [ACTION_CONVENTION_TRANSITION] = BASE_SCOPED_NONE,
            [ACTION_STATISTIQUES_READ] = BASE_ALL,
            [ACTION_PROJET_READ] = BASE_SCOPED,
            [ACTION_PROJET_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_READ] = BASE_SCOPED,
            [ACTION_FICHE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_TRANSITION] = BASE_SCOPED_NONE,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_SCOPED,
            [ACTION_POSTE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_READ] = BASE_SCOPED,
            [ACTION_DEMANDE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_TRANSITION] = BASE_SCOPED,
            [ACTION_DEMANDE_SYNC] = BASE_SCOPED,
        },
    [ROLE_FINANCEUR] =
        {
            [ACTION_HABILITATION_READ] = BASE_SCOPED_NONE,
            [ACTION_JOURNAL_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_READ] = BASE_SCOPED,
            [ACTION_CONVENTION_WRITE] = BASE_SCOPED_NONE,
            [ACTION_CONVENTION_SIGN] = BASE_SCOPED,
            [ACTION_CONVENTION_TRANSITION] = BASE_SCOPED_NONE,
            [ACTION_PROJET_READ] = BASE_SCOPED,
            [ACTION_PROJET_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_READ] = BASE_SCOPED,
            [ACTION_FICHE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_FICHE_TRANSITION] = BASE_SCOPED_NONE,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_SCOPED,
            [ACTION_POSTE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_READ] = BASE_SCOPED,
            [ACTION_DEMANDE_WRITE] = BASE_SCOPED_NONE,
            [ACTION_DEMANDE_TRANSITION] = BASE_SCOPED,
            [ACTION_DEMANDE_SYNC] = BASE_SCOPED_NONE,
        },
    [ROLE_ANCT_NATIONAL] =
        {
            [ACTION_HABILITATION_READ] = BASE_ALL,
            [ACTION_HABILITATION_GRANT] = BASE_ALL,
            [ACTION_HABILITATION_REVOKE] = BASE_ALL,
            [ACTION_CLIENT_MANAGE] = BASE_ALL,
            [ACTION_CLIENT_ISSUE] = BASE_ALL,
            [ACTION_JOURNAL_READ] = BASE_ALL,
            [ACTION_ORGANISATION_CREATE] = BASE_ALL,
            [ACTION_ORGANISATION_WRITE] = BASE_ALL,
            [ACTION_TERRITOIRE_WRITE] = BASE_ALL,
            [ACTION_CONVENTION_READ] = BASE_ALL,
            [ACTION_CONVENTION_WRITE] = BASE_ALL,
            [ACTION_CONVENTION_SIGN] = BASE_ALL,
            [ACTION_CONVENTION_TRANSITION] = BASE_ALL,
            [ACTION_STATISTIQUES_READ] = BASE_ALL,
            [ACTION_PROJET_READ] = BASE_ALL,
            [ACTION_PROJET_WRITE] = BASE_ALL,
            [ACTION_FICHE_READ] = BASE_ALL,
            [ACTION_FICHE_WRITE] = BASE_ALL,
            [ACTION_FICHE_TRANSITION] = BASE_ALL,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_PARAMETRES_WRITE] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_ALL,
            [ACTION_POSTE_WRITE] = BASE_ALL,
            [ACTION_DEMANDE_READ] = BASE_ALL,
            [ACTION_DEMANDE_WRITE] = BASE_ALL,
            [ACTION_DEMANDE_TRANSITION] = BASE_ALL,
            [ACTION_DEMANDE_SYNC] = BASE_ALL,
        },
    /* Portals that sync the programme (aides-territoires): the reads of the
     * programme's data everywhere (as anct_national, role_reads_as), the
     * journal's programme entries (journal.c leaves out habilitations and
     * clients), no administration, no write (issue 8 §1). */
    [ROLE_LECTEUR_NATIONAL] =
        {
            [ACTION_JOURNAL_READ] = BASE_ALL,
            [ACTION_CONVENTION_READ] = BASE_ALL,
            [ACTION_STATISTIQUES_READ] = BASE_ALL,
            [ACTION_PROJET_READ] = BASE_ALL,
            [ACTION_FICHE_READ] = BASE_ALL,
            [ACTION_PARAMETRES_READ] = BASE_ALL,
            [ACTION_POSTE_READ] = BASE_ALL,
            [ACTION_DEMANDE_READ] = BASE_ALL,
        },
};

DOMAIN_NAME_FUNCS(role_name, role_parse, enum role, role_names)

enum role role_reads_as(enum role role)
{
    return role == ROLE_LECTEUR_NATIONAL ? ROLE_ANCT_NATIONAL : role;
}

const char *action_name(enum action action)
{
    if ((unsigned)action >= ACTION__COUNT)
        return NULL;
    return action_names[action];
}

/* True when `entry` (an array of `size` chars, maybe not NUL-terminated) holds
 * exactly the string `code`. Never reads past entry[size - 1] nor past the NUL
 * of `code`. */
static bool entry_equals(const char *entry, size_t size, const char *code)
{
    size_t i;

    for (i = 0; i < size; i++) {
        if (entry[i] != code[i])
            return false;
        if (code[i] == '\0')
            return true;
    }
    return false; /* code longer than the entry, or entry without its NUL */
}

/* Is `code` one of the first `count` (at most PERIMETER_MAX) entries of a
 * perimeter list whose entries are `size` chars apart? NULL and "" never match. */
static bool list_has(const char *entries, size_t size, size_t count, const char *code)
{
    size_t i;

    if (!code || code[0] == '\0')
        return false;
    if (count > PERIMETER_MAX)
        count = PERIMETER_MAX;
    for (i = 0; i < count; i++) {
        if (entry_equals(entries + i * size, size, code))
            return true;
    }
    return false;
}

bool perimeter_has_departement(const struct perimeter *p, const char *code)
{
    return p &&
           list_has(&p->departements[0][0], sizeof p->departements[0], p->departement_count, code);
}

bool perimeter_has_region(const struct perimeter *p, const char *code)
{
    return p && list_has(&p->regions[0][0], sizeof p->regions[0], p->region_count, code);
}

bool perimeter_has_siren(const struct perimeter *p, const char *siren)
{
    return p && list_has(&p->sirens[0][0], sizeof p->sirens[0], p->siren_count, siren);
}

bool perimeter_has_territoire(const struct perimeter *p, const char *id_pvd)
{
    return p &&
           list_has(&p->territoires[0][0], sizeof p->territoires[0], p->territoire_count, id_pvd);
}

typedef bool (*perimeter_has_fn)(const struct perimeter *p, const char *code);

/* Does at least one of the codes (NULL array or NULL entries skipped) satisfy has()? */
static bool any_in(const struct perimeter *p, perimeter_has_fn has, const char *const *codes,
                   size_t count)
{
    size_t i;

    if (!codes)
        return false;
    for (i = 0; i < count; i++) {
        if (codes[i] && has(p, codes[i]))
            return true;
    }
    return false;
}

/* Are there codes, and does every one satisfy has()? A NULL or "" entry fails:
 * an unknown code is never proven inside. */
static bool all_in(const struct perimeter *p, perimeter_has_fn has, const char *const *codes,
                   size_t count)
{
    size_t i;

    if (!codes || count == 0)
        return false;
    for (i = 0; i < count; i++) {
        if (!has(p, codes[i]))
            return false;
    }
    return true;
}

/* Is the target inside the principal's perimeter, by the key of its role
 * (domain.md §5 "scope")? A NULL target is inside nobody's (anct_national never
 * gets here). */
static bool inside(const struct authz_principal *principal, const struct authz_target *target)
{
    const struct perimeter *p = &principal->perimeter;

    if (!target)
        return false;
    switch (principal->role) {
    case ROLE_PREFECTURE_INSTRUCTEUR:
        /* R43: only the territoire's own départements, never its EPCI's. */
        return any_in(p, perimeter_has_departement, target->departements,
                      target->departement_count);
    case ROLE_PREFECTURE_REGION:
        return any_in(p, perimeter_has_region, target->regions, target->region_count);
    case ROLE_COLLECTIVITE_AGENT:
    case ROLE_COLLECTIVITE_ELU:
        return (target->territoire && perimeter_has_territoire(p, target->territoire)) ||
               any_in(p, perimeter_has_siren, target->sirens, target->siren_count);
    case ROLE_FINANCEUR:
        return any_in(p, perimeter_has_siren, target->sirens, target->siren_count) ||
               any_in(p, perimeter_has_siren, target->financeur_sirens,
                      target->financeur_siren_count);
    case ROLE_ANCT_NATIONAL:
    case ROLE_LECTEUR_NATIONAL:
        return true;
    case ROLE__COUNT:
        break;
    }
    return false;
}

static bool is_national_role(enum role role)
{
    return role == ROLE_ANCT_NATIONAL || role == ROLE_LECTEUR_NATIONAL;
}

/* A target without département nor région: an object acting nowhere yet. */
static bool unanchored(const struct authz_target *target)
{
    size_t i;

    if (!target)
        return true;
    for (i = 0; target->departements && i < target->departement_count; i++)
        if (target->departements[i] && target->departements[i][0])
            return false;
    for (i = 0; target->regions && i < target->region_count; i++)
        if (target->regions[i] && target->regions[i][0])
            return false;
    return true;
}

static bool is_collectivite_role(enum role role)
{
    return role == ROLE_COLLECTIVITE_AGENT || role == ROLE_COLLECTIVITE_ELU;
}

/* GRANT (and REVOKE once the habilitation is known to be readable). */
static enum authz_decision decide_grant(const struct authz_principal *principal, enum base base,
                                        const struct authz_target *target)
{
    if (!target || !target->has_grant_role || (unsigned)target->grant_role >= ROLE__COUNT)
        return AUTHZ_FORBID;
    /* Rank rule (issue 3 §2), whatever the table says. */
    if (role_ranks[target->grant_role] > role_ranks[principal->role])
        return AUTHZ_FORBID;
    if (base != BASE_GRANT_COLLECTIVITE || !is_collectivite_role(target->grant_role))
        return AUTHZ_FORBID;
    /* "inside its own départements only" (issue 3 §2), every département the
     * granted perimeter touches (R43). A grant outside is FORBID, not HIDE: it
     * reveals no existing object. */
    if (!all_in(&principal->perimeter, perimeter_has_departement, target->departements,
                target->departement_count))
        return AUTHZ_FORBID;
    return AUTHZ_ALLOW;
}

/* Perimeter matching for the read-like bases. */
static enum authz_decision decide_scoped(const struct authz_principal *principal, enum base base,
                                         const struct authz_target *target)
{
    switch (base) {
    case BASE_ALL:
        return AUTHZ_ALLOW;
    case BASE_SCOPED:
        return inside(principal, target) ? AUTHZ_ALLOW : AUTHZ_HIDE;
    case BASE_SCOPED_NONE:
        return inside(principal, target) ? AUTHZ_FORBID : AUTHZ_HIDE;
    case BASE_SCOPED_PUBLIC:
        return inside(principal, target) ? AUTHZ_ALLOW : AUTHZ_FORBID;
    case BASE_CREATE_SCOPED:
        return inside(principal, target) || unanchored(target) ? AUTHZ_ALLOW : AUTHZ_FORBID;
    case BASE_FORBID:
    case BASE_GRANT_COLLECTIVITE:
        break;
    }
    return AUTHZ_FORBID;
}

/* Issue 11 §2: webhook subscriptions, decided by ownership (authz.h). */
static enum authz_decision decide_abonnement(const struct authz_principal *principal,
                                             enum action action, const struct authz_target *target)
{
    bool anct = principal->role == ROLE_ANCT_NATIONAL;
    if (!target || !target->abonnement) /* the collection */
        return principal->is_machine || (anct && action == ACTION_ABONNEMENT_READ) ? AUTHZ_ALLOW
                                                                                   : AUTHZ_FORBID;
    if ((principal->is_machine && target->is_own) || anct)
        return AUTHZ_ALLOW;
    return principal->is_machine ? AUTHZ_HIDE : AUTHZ_FORBID;
}

enum authz_decision authz_decide(const struct authz_principal *principal, enum action action,
                                 const struct authz_target *target)
{
    enum base base;

    /* No habilitation → 403 on everything (issue 3 §2). */
    if (!principal || (unsigned)principal->role >= ROLE__COUNT || (unsigned)action >= ACTION__COUNT)
        return AUTHZ_FORBID;
    /* Only a person issues credentials or national powers (issue 8 §1). */
    if (principal->is_machine &&
        (action == ACTION_CLIENT_ISSUE ||
         (action == ACTION_HABILITATION_GRANT &&
          (!target || !target->has_grant_role || is_national_role(target->grant_role)))))
        return AUTHZ_FORBID;
    if (action == ACTION_ABONNEMENT_READ || action == ACTION_ABONNEMENT_MANAGE)
        return decide_abonnement(principal, action, target);
    base = base_table[principal->role][action];
    if (base == BASE_ALL)
        return AUTHZ_ALLOW; /* anct_national: any target, even none */

    switch (action) {
    case ACTION_HABILITATION_GRANT:
        return decide_grant(principal, base, target);
    case ACTION_HABILITATION_REVOKE:
        /* The habilitation exists: a revoker that may not read it gets 404
         * (api.md), one that may read it the GRANT rule (issue 3 §2). */
        if (decide_scoped(principal, base_table[principal->role][ACTION_HABILITATION_READ],
                          target) == AUTHZ_HIDE)
            return AUTHZ_HIDE;
        return decide_grant(principal, base, target);
    case ACTION_HABILITATION_READ:
    case ACTION_CLIENT_MANAGE:
    case ACTION_CLIENT_ISSUE:
    case ACTION_JOURNAL_READ:
    case ACTION_ORGANISATION_CREATE:
    case ACTION_ORGANISATION_WRITE:
    case ACTION_TERRITOIRE_WRITE:
    case ACTION_CONVENTION_READ:
    case ACTION_CONVENTION_WRITE:
    case ACTION_CONVENTION_SIGN:
    case ACTION_CONVENTION_TRANSITION:
    case ACTION_STATISTIQUES_READ:
    case ACTION_PROJET_READ:
    case ACTION_PROJET_WRITE:
    case ACTION_FICHE_READ:
    case ACTION_FICHE_WRITE:
    case ACTION_FICHE_TRANSITION:
    case ACTION_PARAMETRES_READ:
    case ACTION_PARAMETRES_WRITE:
    case ACTION_POSTE_READ:
    case ACTION_POSTE_WRITE:
    case ACTION_DEMANDE_READ:
    case ACTION_DEMANDE_WRITE:
    case ACTION_DEMANDE_TRANSITION:
    case ACTION_DEMANDE_SYNC:
        return decide_scoped(principal, base, target);
    case ACTION_ABONNEMENT_READ: /* decided above (decide_abonnement) */
    case ACTION_ABONNEMENT_MANAGE:
    case ACTION__COUNT:
        break;
    }
    return AUTHZ_FORBID;
}
