-- Projet de territoire and governance (issue #4 §3, domain.md §1.7, §1.13):
-- the API representations of axes stratégiques, indicateurs, mesures,
-- comités de projet, séances and décisions (tables in 0004), and the
-- territorial attributes a list needs to filter rows by the caller's perimeter.
--
-- Decimal values (indicateurs, mesures) are rendered as decimal strings
-- (api.md: never binary floats); numeric keeps the scale it was given.

CREATE FUNCTION axe_strategique_representation(a axes_strategiques) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'id_pvd', a.id_pvd, 'numero', a.numero, 'intitule', a.intitule,
        'enjeux', a.enjeux, 'partenaires', to_jsonb(a.partenaires), 'echelle', a.echelle,
        'nombre_indicateurs', (SELECT count(*) FROM indicateurs i WHERE i.axe_id = a.id),
        'types_indicateurs', COALESCE((SELECT jsonb_agg(DISTINCT i.type ORDER BY i.type)
                                       FROM indicateurs i WHERE i.axe_id = a.id), '[]'::jsonb),
        'cree_le', horodatage(a.cree_le), 'modifie_le', horodatage(a.modifie_le))
$$;

CREATE FUNCTION indicateur_representation(i indicateurs) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'axe_id', i.axe_id,
        'id_pvd', (SELECT a.id_pvd FROM axes_strategiques a WHERE a.id = i.axe_id),
        'type', i.type, 'libelle', i.libelle, 'unite', i.unite,
        'valeur_reference', i.valeur_reference::text, 'date_reference', i.date_reference,
        'valeur_cible', i.valeur_cible::text, 'date_cible', i.date_cible,
        'nombre_mesures', (SELECT count(*) FROM indicateur_mesures m WHERE m.indicateur_id = i.id),
        'derniere_mesure', (SELECT jsonb_build_object('date', m.date, 'valeur', m.valeur::text)
                            FROM indicateur_mesures m WHERE m.indicateur_id = i.id
                            ORDER BY m.date DESC LIMIT 1),
        'cree_le', horodatage(i.cree_le), 'modifie_le', horodatage(i.modifie_le))
$$;

CREATE FUNCTION indicateur_mesure_representation(m indicateur_mesures) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'indicateur_id', m.indicateur_id, 'date', m.date, 'valeur', m.valeur::text,
        'source', m.source, 'cree_le', horodatage(m.cree_le))
$$;

CREATE FUNCTION comite_representation(c comites) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'id_pvd', c.id_pvd, 'presidence', c.presidence,
        'instance_preexistante', c.instance_preexistante,
        'membres', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                 'qualite', m.qualite, 'organisation_id', m.organisation_id,
                                 'nom', m.nom, 'fonction', m.fonction) ORDER BY m.rang)
                             FROM comite_membres m WHERE m.comite_id = c.id), '[]'::jsonb),
        'nombre_seances', (SELECT count(*) FROM seances s WHERE s.comite_id = c.id),
        'cree_le', horodatage(c.cree_le), 'modifie_le', horodatage(c.modifie_le))
$$;

CREATE FUNCTION seance_representation(s seances) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'comite_id', s.comite_id,
        'id_pvd', (SELECT c.id_pvd FROM comites c WHERE c.id = s.comite_id),
        'date', s.date, 'ordre_du_jour', s.ordre_du_jour, 'compte_rendu', s.compte_rendu,
        'nombre_decisions', (SELECT count(*) FROM decisions d WHERE d.seance_id = s.id),
        'cree_le', horodatage(s.cree_le), 'modifie_le', horodatage(s.modifie_le))
$$;

CREATE FUNCTION decision_representation(d decisions) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', d.id, 'seance_id', d.seance_id,
        'id_pvd', (SELECT c.id_pvd FROM seances s JOIN comites c ON c.id = s.comite_id
                   WHERE s.id = d.seance_id),
        'date_seance', (SELECT s.date FROM seances s WHERE s.id = d.seance_id),
        'type', d.type, 'objet', d.objet, 'convention_id', d.convention_id,
        'cree_le', horodatage(d.cree_le))
$$;

-- The territorial attributes of a territoire, as db/territoire_scope.c loads
-- them (its communes' départements and régions after its own, its communes'
-- and EPCIs' SIRENs), in one row: lists filter their rows with them through
-- domain/authz without one query per row.
CREATE FUNCTION territoire_portee(p_id_pvd varchar) RETURNS TABLE (departements text[], regions text[], sirens text[])
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[t.code_departement::text] ||
                     ARRAY(SELECT c.code_departement::text FROM territoire_communes tc
                           JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
                           WHERE tc.id_pvd = t.id_pvd AND c.code_departement IS NOT NULL)) x),
           ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[t.code_region::text] ||
                     ARRAY(SELECT c.code_region::text FROM territoire_communes tc
                           JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
                           WHERE tc.id_pvd = t.id_pvd AND c.code_region IS NOT NULL)) x),
           ARRAY(SELECT c.siren::text FROM territoire_communes tc
                 JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
                 WHERE tc.id_pvd = t.id_pvd AND c.siren IS NOT NULL
                 UNION SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = t.id_pvd)
    FROM territoires t WHERE t.id_pvd = p_id_pvd
$$;
