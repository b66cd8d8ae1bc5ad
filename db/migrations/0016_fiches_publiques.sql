-- The open-data read of fiches action (issue #9 §1): what the aides-territoires
-- portal shows of the fiches their collectivité marked `public`, without a
-- token. Tables: 0012 (the partial index fiches_action_public_idx serves the
-- keyset order of the public list).

-- The public projection of a fiche: a whitelist of public fields, never a
-- person's data. Not in it: cree_par, cree_le/modifie_le, pieces_jointes,
-- motif, the L1111-10 derogation, comite_seance_id, date_examen_comite, the
-- public flag itself, indicateurs, crte_id, lines' ids and assiettes.
-- Organisations (maître d'ouvrage, partenaires, financeurs) are public data
-- (GET /organisations is public) and are shown by id, nom, siren, nature;
-- a partenaire that no longer exists is left out. Money: JSON integers,
-- cents, members ending in _centimes. maturite is fiche_representation's
-- (0013): en_maturation while brouillon or en_maturation, else prete.
-- PL/pgSQL: called per row in lists, plans cached per connection.
CREATE FUNCTION fiche_publique_representation(f fiches_action) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', f.id, 'id_pvd', f.id_pvd,
        'territoire_nom', (SELECT t.nom FROM territoires t WHERE t.id_pvd = f.id_pvd),
        'numero', f.numero, 'intitule', f.intitule,
        'axe', (SELECT jsonb_build_object('id', a.id, 'numero', a.numero, 'intitule', a.intitule)
                FROM axes_strategiques a WHERE a.id = f.axe_id),
        'description', f.description, 'objectifs', f.objectifs,
        'maitre_ouvrage', (SELECT jsonb_build_object('id', o.id, 'nom', o.nom, 'siren', o.siren,
                                                     'nature', o.nature)
                           FROM organisations o WHERE o.id = f.maitre_ouvrage_id),
        'partenaires', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('id', o.id, 'nom', o.nom, 'siren', o.siren,
                                                'nature', o.nature) ORDER BY p.rang)
            FROM unnest(f.partenaires) WITH ORDINALITY AS p (id, rang)
            JOIN organisations o ON o.id = p.id), '[]'::jsonb),
        'thematiques', to_jsonb(f.thematiques),
        'localisation_commune_insee', f.localisation_commune_insee,
        'localisation_commune_nom', (SELECT c.nom FROM communes c
                                     WHERE c.code_insee = f.localisation_commune_insee
                                       AND c.type = 'commune-actuelle'),
        'nature_depense', f.nature_depense,
        'cout_total_ht_centimes', f.cout_total_ht, 'cout_total_ttc_centimes', f.cout_total_ttc,
        'date_debut_prevue', f.date_debut_prevue, 'date_fin_prevue', f.date_fin_prevue,
        'etat', f.etat,
        'maturite', CASE WHEN f.etat IN ('brouillon', 'en_maturation') THEN 'en_maturation'
                         ELSE 'prete' END,
        'priorite', f.priorite, 'lien_crte', f.lien_crte,
        'avant_convention_cadre', f.avant_convention_cadre,
        'plan_financement', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'financeur', jsonb_build_object('id', o.id, 'nom', o.nom),
                       'dispositif', l.dispositif, 'nature_financeur', l.nature_financeur,
                       'montant_centimes', l.montant, 'statut', l.statut) ORDER BY l.rang)
            FROM fiche_financements l JOIN organisations o ON o.id = l.financeur_id
            WHERE l.fiche_id = f.id), '[]'::jsonb),
        'echeancier', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('annee', e.annee, 'montant_centimes', e.montant)
                             ORDER BY e.annee)
            FROM fiche_echeancier e WHERE e.fiche_id = f.id), '[]'::jsonb));
END
$$;

-- The public fiches a list shows, with its filters (NULL: no filter):
-- territoire; département and région, each matching the territoire's own or
-- one of its communes' (as the lists of territoires, conventions and fiches);
-- thématique (one of the fiche's); nature de dépense; état; axe. One
-- definition for the page and its total; plain SQL, so the planner inlines it
-- and the keyset order uses fiches_action_public_idx.
CREATE FUNCTION fiches_publiques(p_id_pvd text, p_departement text, p_region text,
                                 p_thematique text, p_nature_depense text, p_etat text,
                                 p_axe_id uuid)
RETURNS SETOF fiches_action LANGUAGE sql STABLE AS $$
    SELECT f.* FROM fiches_action f JOIN territoires t ON t.id_pvd = f.id_pvd
    WHERE f.public
      AND (p_id_pvd IS NULL OR f.id_pvd = p_id_pvd)
      AND (p_departement IS NULL OR t.code_departement = p_departement OR EXISTS (
               SELECT 1 FROM territoire_communes tc
               JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
               WHERE tc.id_pvd = f.id_pvd AND c.code_departement = p_departement))
      AND (p_region IS NULL OR t.code_region = p_region OR EXISTS (
               SELECT 1 FROM territoire_communes tc
               JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
               WHERE tc.id_pvd = f.id_pvd AND c.code_region = p_region))
      AND (p_thematique IS NULL OR p_thematique = ANY (f.thematiques))
      AND (p_nature_depense IS NULL OR f.nature_depense = p_nature_depense)
      AND (p_etat IS NULL OR f.etat = p_etat)
      AND (p_axe_id IS NULL OR f.axe_id = p_axe_id)
$$;
