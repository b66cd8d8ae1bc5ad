/* The inputs of the annual maquette financière of a territoire (domain.md
 * §1.11, domain/financement.h maquette_calculer), read in one statement so
 * that they are one consistent snapshot of the plan: the fiches of the
 * territoire's plan d'action that are not abandonnee, their financing lines
 * and échéanciers, the territoire's axes and the lines' financeurs.
 *
 * Abandoned fiches are left out: an abandonnee fiche will not be carried
 * out, so neither its planned amounts nor its financing belong to a year's
 * maquette (its lines and échéancier stay on the fiche, readable there). Every
 * other state counts, brouillon included: the maquette is the plan as
 * planned. */
#ifndef PVD_DB_MAQUETTE_REPOSITORY_H
#define PVD_DB_MAQUETTE_REPOSITORY_H

#include <stddef.h>

#include "../domain/financement.h"
#include "pool.h"
#include "result.h"

struct maquette_axe_info {
    char id[37];
    long numero;
    char *intitule; /* owned by the donnees */
};

struct maquette_fiche_info {
    char id[37];
    char *numero;   /* owned by the donnees */
    char *intitule; /* owned by the donnees */
};

struct maquette_financeur_info {
    char id[37];
    char *nom; /* owned by the donnees */
};

/* Everything maquette_calculer needs and what names its rows. Axes by
 * numero, fiches by numero (then id), financeurs by nom (then id): the
 * indexes of struct maquette_fiche.axe and of the lines' financeur are into
 * axes and financeurs. `fiches[i]` (the domain input: axe index, lines and
 * échéancier pointing into `lignes` and `annees`) goes with fiche_infos[i]. */
struct maquette_donnees {
    struct maquette_axe_info *axes;
    size_t axe_count;
    struct maquette_fiche_info *fiche_infos;
    struct maquette_fiche *fiches;
    size_t fiche_count;
    struct maquette_financeur_info *financeurs;
    size_t financeur_count;
    struct financement_ligne *lignes; /* every fiche's, in fiche then rang order */
    size_t ligne_count;
    struct financement_annee *annees; /* every fiche's échéancier, in fiche then year order */
    size_t annee_count;
};

/* Frees what d owns and zeroes it (safe on a zeroed struct). */
void maquette_donnees_release(struct maquette_donnees *d);

/* Reads the maquette's inputs of territoire id_pvd (an existing territoire's
 * id: a territoire without plan has no fiche) with conn, in one statement.
 * DB_OK with *out filled (the caller releases it); DB_FAILED when a value
 * does not parse or an allocation fails; else the query's failure. */
enum db_result maquette_lire(struct db_conn *conn, const char *id_pvd, struct maquette_donnees *out,
                             struct db_error *err);

#endif
