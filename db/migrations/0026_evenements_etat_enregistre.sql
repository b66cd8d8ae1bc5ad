-- Issue #11 §1, correction of 0021: a demande de subvention's representation
-- (0019 demande_representation, journaled as is) carries its stored state as
-- `etat_enregistre` (its `etat` is the effective state, computed by the
-- service at read time and not journaled). The feed read `etat` only, so a
-- demande's transitions were typed `….modifiee` and no subsidy event was
-- ever public. Every resource's state is now read as `etat`, else
-- `etat_enregistre`.
CREATE FUNCTION evenement_etat(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(doc->>'etat', doc->>'etat_enregistre')
$$;

CREATE OR REPLACE FUNCTION evenement_nature(j journal) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN j.avant IS NULL THEN 'cree'
        WHEN j.apres IS NULL THEN 'supprime'
        WHEN j.action LIKE '%.signer'
             OR (evenement_etat(j.apres) = 'signee'
                 AND evenement_etat(j.avant) IS DISTINCT FROM 'signee')
            THEN 'signe'
        WHEN evenement_etat(j.apres) IS DISTINCT FROM evenement_etat(j.avant) THEN 'transition'
        ELSE 'modifie' END
$$;

CREATE OR REPLACE FUNCTION evenement_est_public(j journal) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE j.ressource_type
        WHEN 'territoire' THEN true
        WHEN 'fiche_action' THEN coalesce((j.avant->>'public')::boolean, false)
                                 OR coalesce((j.apres->>'public')::boolean, false)
        WHEN 'demande_subvention' THEN
            coalesce(evenement_etat(j.avant), '') IN ('accordee', 'notifiee', 'engagee', 'soldee',
                                                     'caduque', 'forclose')
            OR coalesce(evenement_etat(j.apres), '') IN ('accordee', 'notifiee', 'engagee',
                                                        'soldee', 'caduque', 'forclose')
        ELSE false END
$$;
