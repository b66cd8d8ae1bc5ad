-- Organisations and territoires PVD (issue #4 §1): their API representations
-- and the état of a territoire derived from its conventions. Tables: 0004.

CREATE FUNCTION organisation_representation(o organisations) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', o.id, 'siren', o.siren, 'nom', o.nom, 'nature', o.nature,
        'code_insee', o.code_insee, 'code_departement', o.code_departement,
        'code_region', o.code_region,
        'cree_le', horodatage(o.cree_le), 'modifie_le', horodatage(o.modifie_le))
$$;

-- designe | adherent | conventionne | sorti (domain.md §1.3, §2.1): sorti when
-- date_sortie is set or every adhésion it ever had is abandonnee; conventionne
-- when a convention-cadre is signee or echue; adherent when an adhésion is
-- signee or relayee; designe otherwise. NULL for an unknown id_pvd.
CREATE FUNCTION territoire_etat(p_id_pvd text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN t.date_sortie IS NOT NULL THEN 'sorti'
        WHEN EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = t.id_pvd AND c.type = 'adhesion')
             AND NOT EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = t.id_pvd
                             AND c.type = 'adhesion' AND c.etat <> 'abandonnee') THEN 'sorti'
        WHEN EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = t.id_pvd AND c.type = 'cadre'
                     AND c.etat IN ('signee', 'echue')) THEN 'conventionne'
        WHEN EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = t.id_pvd AND c.type = 'adhesion'
                     AND c.etat IN ('signee', 'relayee')) THEN 'adherent'
        ELSE 'designe' END
    FROM territoires t WHERE t.id_pvd = p_id_pvd
$$;

-- The representation without `avertissements` (R2 warnings are computed by the
-- service, domain/territoire.c, from the communes' populations given here).
-- Communes and EPCIs are described from the loaded referential; one that left
-- it keeps its code with null name and population.
CREATE FUNCTION territoire_representation(t territoires) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id_pvd', t.id_pvd, 'nom', t.nom,
        'code_departement', t.code_departement, 'code_region', t.code_region,
        'communes', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('code_insee', tc.code_insee, 'nom', c.nom,
                                                'siren', c.siren, 'population', c.population)
                             ORDER BY tc.rang)
            FROM territoire_communes tc
            LEFT JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
            WHERE tc.id_pvd = t.id_pvd), '[]'::jsonb),
        'epcis', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('siren', te.siren, 'nom', e.nom) ORDER BY te.rang)
            FROM territoire_epcis te LEFT JOIN epci e ON e.siren = te.siren
            WHERE te.id_pvd = t.id_pvd), '[]'::jsonb),
        'date_designation', t.date_designation, 'date_sortie', t.date_sortie,
        'etat', territoire_etat(t.id_pvd), 'millesime', t.millesime,
        'cree_le', horodatage(t.cree_le), 'modifie_le', horodatage(t.modifie_le))
$$;
