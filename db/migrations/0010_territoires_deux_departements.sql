-- Issue 8 §3: territoires spanning two départements, and the ville principale
-- of a territoire in its representation.

-- The ANCT's ids of a territoire made of communes of two départements join
-- both codes ("pvd-84-3873-9": 38 and 73); code_departement keeps the first,
-- the others come from the communes (territoire_scope, R43).
ALTER TABLE territoires DROP CONSTRAINT territoires_id_pvd_check;
ALTER TABLE territoires ADD CONSTRAINT territoires_id_pvd_check CHECK (
    id_pvd ~ '^pvd-[0-9]{2}-(2[AB]|[0-9]{2,3}|(2[AB]|[0-9]{2})(2[AB]|[0-9]{2}))-[0-9]{1,4}$');

-- R6 (domain.md §3): the ville principale of a territoire, the most populous
-- commune-actuelle member of its first EPCI (rang) in the loaded referential
-- (ties: the smaller INSEE code). No row when it has no EPCI, or its EPCI or
-- the EPCI's communes left the referential. The one definition: R6's check
-- (db/convention_repository.c) and the representation below read it.
CREATE FUNCTION territoire_ville_principale(p_id_pvd text)
RETURNS TABLE (code_insee text, nom text, siren text) LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT co.code_insee::text, co.nom, co.siren::text
    FROM (SELECT te.siren FROM territoire_epcis te WHERE te.id_pvd = p_id_pvd
          ORDER BY te.rang LIMIT 1) ep
    JOIN epci_membres m ON m.epci_siren = ep.siren
    JOIN communes co ON co.code_insee = m.code_insee AND co.type = 'commune-actuelle'
    ORDER BY co.population DESC NULLS LAST, co.code_insee
    LIMIT 1;
END
$$;

-- The distinct départements of a territoire: its own (code_departement) first,
-- then its communes' in their order. PL/pgSQL like the functions below, so
-- that plans are cached per connection (the bulk import renders hundreds).
CREATE FUNCTION territoire_departements(t territoires) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_agg(d.code ORDER BY d.ordre)
            FROM (SELECT x.code, min(x.ordre) AS ordre
                  FROM (SELECT t.code_departement::text AS code, -1 AS ordre
                        UNION ALL
                        SELECT c.code_departement::text, tc.rang
                        FROM territoire_communes tc
                        JOIN communes c ON c.code_insee = tc.code_insee
                                       AND c.type = 'commune-actuelle'
                        WHERE tc.id_pvd = t.id_pvd AND c.code_departement IS NOT NULL) x
                  GROUP BY x.code) d);
END
$$;

-- As in 0005, with `departements` and `ville_principale` ({code_insee, nom,
-- siren} or null).
CREATE OR REPLACE FUNCTION territoire_representation(t territoires) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id_pvd', t.id_pvd, 'nom', t.nom,
        'code_departement', t.code_departement, 'code_region', t.code_region,
        'departements', territoire_departements(t),
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
        'ville_principale', (
            SELECT jsonb_build_object('code_insee', vp.code_insee, 'nom', vp.nom, 'siren', vp.siren)
            FROM territoire_ville_principale(t.id_pvd) vp),
        'date_designation', t.date_designation, 'date_sortie', t.date_sortie,
        'etat', territoire_etat(t.id_pvd), 'millesime', t.millesime,
        'cree_le', horodatage(t.cree_le), 'modifie_le', horodatage(t.modifie_le));
END
$$;
