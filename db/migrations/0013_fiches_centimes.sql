-- Money members of the API end in _centimes (api.md "Requests"): the fiche's
-- representation (0012) is re-declared with cout_total_ht_centimes,
-- cout_total_ttc_centimes, depense_subventionnable_ht_centimes and, in its
-- plan_financement lines and échéancier, montant_centimes and
-- assiette_ht_centimes. Columns keep their names (the unit is the column's
-- comment, bigint cents). No route served 0012's names.

CREATE OR REPLACE FUNCTION fiche_representation(f fiches_action) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', f.id, 'id_pvd', f.id_pvd, 'numero', f.numero, 'intitule', f.intitule,
        'axe_id', f.axe_id, 'description', f.description, 'objectifs', f.objectifs,
        'maitre_ouvrage_id', f.maitre_ouvrage_id, 'partenaires', to_jsonb(f.partenaires),
        'thematiques', to_jsonb(f.thematiques),
        'localisation_commune_insee', f.localisation_commune_insee,
        'intercommunale', f.intercommunale, 'dans_secteur_ort_id', f.dans_secteur_ort_id,
        'nature_depense', f.nature_depense, 'cout_total_ht_centimes', f.cout_total_ht,
        'cout_total_ttc_centimes', f.cout_total_ttc,
        'depense_subventionnable_ht_centimes', f.depense_subventionnable_ht,
        'base_financement', f.base_financement,
        'date_debut_prevue', f.date_debut_prevue, 'date_fin_prevue', f.date_fin_prevue,
        'etat', f.etat,
        'maturite', CASE WHEN f.etat IN ('brouillon', 'en_maturation') THEN 'en_maturation'
                         ELSE 'prete' END,
        'priorite', f.priorite, 'lien_crte', f.lien_crte, 'crte_id', f.crte_id,
        'date_examen_comite', f.date_examen_comite, 'comite_seance_id', f.comite_seance_id,
        'avant_convention_cadre', f.avant_convention_cadre, 'public', f.public,
        'pieces_jointes', f.pieces_jointes,
        'date_commencement', f.date_commencement, 'date_achevement', f.date_achevement,
        'motif', f.motif,
        'derogation_l1111_10', CASE WHEN f.derogation_type IS NULL THEN NULL
                                    ELSE jsonb_build_object('type', f.derogation_type,
                                                            'reference', f.derogation_reference) END,
        'indicateurs', COALESCE((SELECT jsonb_agg(fi.indicateur_id ORDER BY fi.rang)
                                 FROM fiche_indicateurs fi WHERE fi.fiche_id = f.id), '[]'::jsonb),
        'plan_financement', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', l.id, 'financeur_id', l.financeur_id, 'dispositif', l.dispositif,
                       'nature_financeur', l.nature_financeur, 'montant_centimes', l.montant,
                       'assiette_ht_centimes', l.assiette_ht, 'statut', l.statut) ORDER BY l.rang)
            FROM fiche_financements l WHERE l.fiche_id = f.id), '[]'::jsonb),
        'echeancier', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('annee', e.annee, 'montant_centimes', e.montant)
                             ORDER BY e.annee)
            FROM fiche_echeancier e WHERE e.fiche_id = f.id), '[]'::jsonb),
        'cree_par', f.cree_par,
        'cree_le', horodatage(f.cree_le), 'modifie_le', horodatage(f.modifie_le));
END
$$;
