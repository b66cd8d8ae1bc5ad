/* Who may do what, on which territory: roles, perimeters and the pure
 * authorization rule (domain.md §5, rule R43, api.md "Authentication and
 * authorisation", issue 3 §2 and §4). No I/O, no allocation: the caller passes
 * the principal's habilitation and the target's territorial attributes, already
 * resolved through the referential.
 * Decision semantics (api.md): ALLOW; FORBID → 403 (the caller may read the
 * object, or there is no existing object to hide, but it may not do this);
 * HIDE → 404 (outside the perimeter: never reveal that an object exists). */
#ifndef PVD_DOMAIN_AUTHZ_H
#define PVD_DOMAIN_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

/* Ranks (a granter never grants above its own): collectivités 0 < financeur 1
 * < prefecture_instructeur 2 = prefecture_region 2 < anct_national 3 =
 * lecteur_national 3. The two national roles are granted by the ANCT only. */
enum role {
    ROLE_COLLECTIVITE_AGENT,     /* perimeter: territoires and/or organisations (SIREN) */
    ROLE_COLLECTIVITE_ELU,       /* same perimeter kinds as the agent */
    ROLE_PREFECTURE_INSTRUCTEUR, /* perimeter: départements */
    ROLE_PREFECTURE_REGION,      /* perimeter: régions */
    ROLE_FINANCEUR,              /* perimeter: its organisation (SIREN) */
    ROLE_ANCT_NATIONAL,          /* perimeter: everything (its lists are ignored) */
    ROLE_LECTEUR_NATIONAL,       /* national read-only (portals that sync everything): perimeter
                                    empty; reads the programme's data everywhere, writes nothing,
                                    administers nothing (habilitations, clients) */
    ROLE__COUNT
};

/* The stable wire name: "collectivite_agent", "collectivite_elu",
 * "prefecture_instructeur", "prefecture_region", "financeur", "anct_national",
 * "lecteur_national"; NULL for an out-of-range value. */
const char *role_name(enum role role);
/* Exact, case-sensitive match of one of the names above. false (and *out left
 * untouched) on an unknown name or when name or out is NULL. */
bool role_parse(const char *name, enum role *out);

#define PERIMETER_MAX 64
/* A perimeter: the lists that matter for the role (others stay empty).
 * Codes are NUL-terminated strings compared exactly, never as integers:
 * département "69", "2A", "974"; région "84", "04"; SIREN 9 digits; territoire
 * id_pvd ("pvd-84-01-1", at most 16 chars). A count above PERIMETER_MAX is read
 * as PERIMETER_MAX; an entry that fills its array without a NUL never matches. */
struct perimeter {
    char departements[PERIMETER_MAX][4];
    size_t departement_count;
    char regions[PERIMETER_MAX][4];
    size_t region_count;
    char sirens[PERIMETER_MAX][10];
    size_t siren_count;
    char territoires[PERIMETER_MAX][17];
    size_t territoire_count;
};

struct authz_principal {
    enum role role;
    struct perimeter perimeter;
    /* A machine client (OAuth client credentials), not a person: it may not
     * issue credentials (create clients, rotate secrets) nor grant a national
     * role, whatever its own role (issue 8 §1). Zero-initialised: a person. */
    bool is_machine;
};

/* The role whose read perimeter `role` shares where reads are filtered
 * outside this module (SQL convention_visible, lists): lecteur_national reads
 * what anct_national reads; every other role is itself. An out-of-range value
 * is returned unchanged. */
enum role role_reads_as(enum role role);

/* Territorial attributes of the object acted upon. NULL / 0 members are
 * unknown or not applicable; a NULL target is "no territorial attribute".
 * NULL or "" strings inside the arrays are skipped by "any" matches (reads) and
 * fail "every" matches (grants: an unknown département is never proven inside).
 * A territoire's département is the scoping key (R43): an EPCI spanning two
 * départements does not widen a préfecture's scope, so `departements` are the
 * territoire's communes' départements, never its EPCI's.
 * - Reads (HABILITATION_READ, JOURNAL_READ): the object's attributes; one
 *   match in the perimeter suffices.
 * - GRANT: `grant_role` is the role granted and `departements` are all those
 *   the granted perimeter touches (the caller resolves its SIRENs and
 *   territoires through the referential); every one must be in the granter's
 *   perimeter, and there must be at least one.
 * - REVOKE: the existing habilitation's role (`grant_role`) and the attributes
 *   of its perimeter, resolved the same way (they also serve the read check). */
struct authz_target {
    const char *const *departements;
    size_t departement_count;
    const char *const *regions; /* of those départements */
    size_t region_count;
    const char *territoire;    /* id_pvd */
    const char *const *sirens; /* organisations concerned (beneficiaries, signatories…) */
    size_t siren_count;
    /* Organisations that finance the object (a fiche action's financing
     * lines): they put it inside a financeur's perimeter only, never a
     * collectivité's (a commune co-financing another territoire's fiche does
     * not get to read or edit it). NULL / 0 when not applicable. */
    const char *const *financeur_sirens;
    size_t financeur_siren_count;
    bool has_grant_role; /* GRANT / REVOKE: the role of the habilitation */
    enum role grant_role;
    /* Issue 11 §2, ABONNEMENT_*: the target is an existing subscription
     * (false: the collection), and it belongs to the principal (its machine
     * client created it). */
    bool abonnement;
    bool is_own;
};

enum action {
    ACTION_HABILITATION_READ,   /* "habilitation.lire": list / read habilitations */
    ACTION_HABILITATION_GRANT,  /* "habilitation.accorder": create one */
    ACTION_HABILITATION_REVOKE, /* "habilitation.revoquer": end one */
    ACTION_CLIENT_MANAGE,       /* "client.gerer": machine clients: list, read, revoke */
    ACTION_CLIENT_ISSUE,        /* "client.emettre": create a client or rotate its secret (issues
                                   a credential) */
    ACTION_JOURNAL_READ,        /* "journal.lire": read journal entries about the target */
    /* Issue 4: the programme's objects. Target: the territoire concerned
     * (its communes' départements and régions, its id_pvd, the SIRENs of its
     * communes and EPCIs, plus a convention's signataires' SIRENs). */
    ACTION_ORGANISATION_CREATE,   /* "organisation.creer": create an organisation */
    ACTION_ORGANISATION_WRITE,    /* "organisation.ecrire": update an organisation */
    ACTION_TERRITOIRE_WRITE,      /* "territoire.ecrire": create / update / import territoires */
    ACTION_CONVENTION_READ,       /* "convention.lire": read conventions, versions */
    ACTION_CONVENTION_WRITE,      /* "convention.ecrire": drafts, signataires, avenants */
    ACTION_CONVENTION_SIGN,       /* "convention.signer": record a signataire's signature */
    ACTION_CONVENTION_TRANSITION, /* "convention.transition": POST …/transitions */
    ACTION_STATISTIQUES_READ,     /* "statistiques.lire": programme follow-up figures */
    ACTION_PROJET_READ,           /* "projet.lire": axes, indicateurs, mesures, comité */
    ACTION_PROJET_WRITE,          /* "projet.ecrire": the same, written */
    /* Issue 9: fiches action. Target: the fiche's territoire (départements,
     * régions, id_pvd), `sirens` = the SIRENs of the territoire's communes and
     * EPCIs plus the fiche's maître d'ouvrage, `financeur_sirens` = the
     * financeurs of its financing lines. */
    ACTION_FICHE_READ,       /* "fiche.lire": fiches, financing lines, échéancier, maquette */
    ACTION_FICHE_WRITE,      /* "fiche.ecrire": create / update fiches and their financing */
    ACTION_FICHE_TRANSITION, /* "fiche.transition": POST /fiches-action/{id}/transitions */
    /* Issue 10: programme parameters (national: no target), postes de chef
     * de projet and demandes de subvention. Target of a poste: the
     * territoires it serves (départements, régions, id_pvd, SIRENs of their
     * communes and EPCIs plus the employer's), `financeur_sirens` = the
     * financeurs of its funding rows; of a demande: its territoire (or its
     * poste's), the demandeur's SIREN, `financeur_sirens` = the financeur of
     * its dispositif and of its lines. */
    ACTION_PARAMETRES_READ,    /* "parametres.lire": GET /parametres */
    ACTION_PARAMETRES_WRITE,   /* "parametres.ecrire": caps, rates, dates, dispositifs */
    ACTION_POSTE_READ,         /* "poste.lire": postes de chef de projet, funding years */
    ACTION_POSTE_WRITE,        /* "poste.ecrire": create / update them */
    ACTION_DEMANDE_READ,       /* "demande.lire": demandes de subvention */
    ACTION_DEMANDE_WRITE,      /* "demande.ecrire": prepare drafts */
    ACTION_DEMANDE_TRANSITION, /* "demande.transition": deposit, instruct, decide, notify, pay
                                  (domain/demande.h decides the edge) */
    ACTION_DEMANDE_SYNC,       /* "demande.synchroniser": PUT …/par-dossier-ds/{numero} */
    /* Issue 11 §2: webhook subscriptions of machine clients. Target: NULL
     * (or one without `abonnement`) for the collection (list, creation),
     * else an existing subscription (`is_own` when it is the principal's). */
    ACTION_ABONNEMENT_READ,   /* "abonnement.lire": subscriptions and their delivery log */
    ACTION_ABONNEMENT_MANAGE, /* "abonnement.gerer": create, change, delete, rotate, replay */
    ACTION__COUNT
};

/* The stable wire name given above; NULL for an out-of-range value. */
const char *action_name(enum action action);

enum authz_decision { AUTHZ_ALLOW, AUTHZ_FORBID, AUTHZ_HIDE };

/* The rule. Pure and total: every (principal, action, target), including NULL
 * and out-of-range values, has an answer; never reads through a NULL.
 * "Inside" = the target matches the principal's perimeter: préfecture_instructeur
 * by any département; préfecture_region by any région; collectivités by the
 * territoire or any SIREN of `sirens`; financeur by any SIREN of `sirens` or
 * of `financeur_sirens`. A NULL or empty target is never inside.
 * - NULL principal, out-of-range role or action → FORBID (a caller without a
 *   habilitation gets 403 on everything, issue 3 §2).
 * - A machine principal (is_machine): CLIENT_ISSUE FORBID, and GRANT of a
 *   national role (anct_national, lecteur_national) FORBID, whatever its role:
 *   only a person creates credentials or national powers (issue 8 §1).
 * - anct_national: ALLOW everything else, whatever the target (domain.md §5 "all").
 * - lecteur_national: ALLOW the reads of the programme's data (CONVENTION_READ,
 *   PROJET_READ, FICHE_READ, STATISTIQUES_READ, JOURNAL_READ), whatever the target;
 *   FORBID everything else: every write, and the administration
 *   (HABILITATION_*, CLIENT_*), inside the whole country (never HIDE).
 * - HABILITATION_READ: préfectures ALLOW inside; collectivités and financeur
 *   FORBID inside (they see their own habilitation through /moi, never list
 *   others'); everyone HIDE outside.
 * - HABILITATION_GRANT: a préfecture_instructeur grants collectivite_agent /
 *   collectivite_elu when the target has at least one département and every
 *   one is in its perimeter; otherwise, and for every other role, FORBID (a
 *   grant reveals no existing object, so never HIDE). Nobody grants a role of
 *   a higher rank than their own (checked first, whatever the table says).
 * - HABILITATION_REVOKE: HIDE when HABILITATION_READ of the same target would
 *   be HIDE (the habilitation exists: api.md, 404 outside the perimeter);
 *   otherwise the GRANT rule applied to the habilitation's role and départements.
 * - CLIENT_MANAGE, CLIENT_ISSUE: FORBID for all but anct_national.
 * - JOURNAL_READ: ALLOW inside, HIDE outside, for every role.
 * Issue 4 (domain.md §5):
 * Organisations (issue 8 §1). Target: the organisation's perimeter, where it
 * acts — the départements and régions of its commune / EPCI and of the
 * territoires where it signs a convention or sits in a comité, and its own
 * SIREN only in `sirens` (`territoire` NULL). Organisations are public
 * (reads need no token), so refusals are FORBID, never HIDE.
 * - ORGANISATION_WRITE: préfectures ALLOW inside (by département / région),
 *   collectivités ALLOW when one of their SIRENs is the organisation's (its
 *   own users), FORBID otherwise; an empty target (an organisation acting
 *   nowhere yet) is inside nobody's perimeter: anct_national only. financeur
 *   FORBID.
 * - ORGANISATION_CREATE: the same on the new organisation's perimeter (a
 *   commune's or EPCI's départements, régions and SIREN); an organisation with
 *   no territorial attribute (État, bailleur, association…: the target has no
 *   département nor région, whatever its SIRENs) may be created by préfectures
 *   and collectivités, which name their signataires. financeur FORBID.
 * - TERRITOIRE_WRITE: territoires are public (the lauréats list): the
 *   préfecture_instructeur of the territoire's département ALLOW, FORBID
 *   outside (the object is readable by all, so never HIDE); others FORBID.
 * - CONVENTION_READ, PROJET_READ: every role ALLOW inside, HIDE outside.
 * - CONVENTION_WRITE, PROJET_WRITE: collectivités ALLOW inside (they write
 *   the drafts); préfectures and financeur FORBID inside ("may not edit
 *   collectivité drafts"); everyone HIDE outside.
 * - CONVENTION_SIGN: collectivite_elu, préfectures and financeur ALLOW inside
 *   (signataire_may_sign then says for which organisation); agent FORBID
 *   inside; HIDE outside.
 * - CONVENTION_TRANSITION: collectivités and prefecture_instructeur ALLOW
 *   inside (convention_transition_allowed then says which edge);
 *   prefecture_region and financeur FORBID inside; HIDE outside.
 * - STATISTIQUES_READ: préfectures ALLOW whatever the target (the figures are
 *   computed over their perimeter); collectivités and financeur FORBID.
 * Issue 9, fiches action (domain.md §5):
 * - FICHE_READ: every role ALLOW inside, HIDE outside — a financeur is inside
 *   the fiches it finances (`financeur_sirens`) or leads as maître d'ouvrage
 *   (`sirens`), not the rest of the territoire's ("see unrelated files": may
 *   not); lecteur_national everywhere. Public fiches read without a token are
 *   the handler's business, not this rule's.
 * - FICHE_WRITE: collectivités ALLOW inside ("create/edit drafts of fiches");
 *   préfectures and financeur FORBID inside ("edit collectivité drafts": may
 *   not; a financeur records its own decision through the financing line's
 *   status, not by editing the fiche); HIDE outside.
 * - FICHE_TRANSITION: collectivités ALLOW inside (fiche_transition_allowed
 *   then says which edge: comité edges for the élu only); préfectures and
 *   financeur FORBID inside; HIDE outside. anct_national is ALLOWed here as
 *   everywhere, but fiche_transition_allowed grants it no edge (403
 *   "transition-interdite": it does not instruct local files).
 * Issue 10 (domain.md §5):
 * - PARAMETRES_READ: every role ALLOW (national data, no target);
 *   PARAMETRES_WRITE: anct_national only ("manage programme parameters").
 * - POSTE_READ, DEMANDE_READ: every role ALLOW inside, HIDE outside (a
 *   financeur inside the dossiers it finances: `financeur_sirens`; a
 *   préfecture de région inside its régions); lecteur_national everywhere.
 * - POSTE_WRITE, DEMANDE_WRITE: collectivités ALLOW inside ("prepare subsidy
 *   requests"); préfectures and financeur FORBID inside; HIDE outside.
 * - DEMANDE_TRANSITION: collectivités, préfectures and financeur ALLOW inside
 *   (domain/demande.h demande_transition_allowed then says which edge: the
 *   élu deposits, the préfecture instructs — DSIL the région's —, a financeur
 *   records its own decision and payments); HIDE outside; lecteur FORBID.
 * - DEMANDE_SYNC: préfectures ALLOW inside (their workflow systems, machine
 *   clients with a préfecture role), everyone else FORBID inside.
 * Issue 11 §2, webhook subscriptions (a subscription delivers the events its
 * client may read, so only a machine client subscribes):
 * - ABONNEMENT_READ, ABONNEMENT_MANAGE on the collection (NULL target, or
 *   `abonnement` false):
 *   machine clients of every role ALLOW (their own subscriptions; they
 *   create); READ (the list) also anct_national persons (they see all);
 *   every other person FORBID, anct_national included for MANAGE (a person
 *   never creates a subscription).
 * - On an existing subscription: its own client ALLOW; anct_national
 *   (person or machine) ALLOW (reads, changes, deletes, replays all); other
 *   machine clients HIDE (never reveal another client's subscription);
 *   other persons FORBID. */
enum authz_decision authz_decide(const struct authz_principal *principal, enum action action,
                                 const struct authz_target *target);

/* Does the perimeter contain this département / région / SIREN / territoire?
 * Exact string comparison ("2A" ≠ "2B", "97" ≠ "974"); false when p or the
 * code is NULL or the code is "". */
bool perimeter_has_departement(const struct perimeter *p, const char *code);
bool perimeter_has_region(const struct perimeter *p, const char *code);
bool perimeter_has_siren(const struct perimeter *p, const char *siren);
bool perimeter_has_territoire(const struct perimeter *p, const char *id_pvd);

#endif
