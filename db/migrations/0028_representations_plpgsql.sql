-- Issue 12 §4: the representation functions that read other tables become
-- PL/pgSQL, with the same body and the same result.
--
-- A LANGUAGE sql function whose body has a FROM clause is never inlined into
-- the calling query, and PostgreSQL 15 plans its body again on every call (an
-- SQL function keeps no plan between calls). A PL/pgSQL function keeps the plan
-- of its statement for the life of the session, and the pool's sessions are
-- long-lived. Measured on one convention (pgbench, one client, prepared):
-- 0.47 ms per call as SQL, 0.30 ms as PL/pgSQL. The bodies below are the
-- current definitions (pg_get_functiondef at migration 0027) wrapped as
-- RETURN (...): each SELECT yields at most one row (its FROM, when it has
-- one, is by primary key), so a scalar subquery returns what the SQL
-- function returned, NULL included. No parameter name is also a table
-- alias of its body (PL/pgSQL would call the reference ambiguous).
--
-- Functions without FROM (habilitation_representation, organisation_...)
-- stay SQL: the planner inlines them.

CREATE OR REPLACE FUNCTION convention_representation(c conventions)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', c.id, 'type', c.type, 'id_pvd', c.id_pvd, 'etat', c.etat, 'intitule', c.intitule,
            'code_departement', t.code_departement, 'code_region', t.code_region,
            'document_url', c.document_url, 'date_signature', c.date_signature,
            'en_retard', c.en_retard, 'numero_version', c.numero_version, 'motif', c.motif,
            'signataires', (
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'id', s.id, 'organisation_id', s.organisation_id, 'organisation_nom', o.nom,
                    'organisation_nature', o.nature, 'siren', o.siren, 'role', s.role,
                    'representant_nom', s.representant_nom,
                    'representant_qualite', s.representant_qualite,
                    'date_deliberation', s.date_deliberation,
                    'reference_deliberation', s.reference_deliberation,
                    'date_signature', s.date_signature) ORDER BY s.rang), '[]'::jsonb)
                FROM signataires s JOIN organisations o ON o.id = s.organisation_id
                WHERE s.convention_id = c.id),
            'cree_le', horodatage(c.cree_le), 'modifie_le', horodatage(c.modifie_le))
        || CASE WHEN c.type = 'adhesion' THEN jsonb_build_object(
            'moyens_ingenierie', c.moyens_ingenierie, 'etudes_existantes', c.etudes_existantes,
            'besoins_operateurs', c.besoins_operateurs,
            'date_limite_convention_cadre', c.date_limite_convention_cadre)
        ELSE jsonb_build_object(
            'adhesion_id', c.adhesion_id, 'vaut_ort', c.vaut_ort, 'date_fin', c.date_fin,
            'ambitions', c.ambitions, 'diagnostic', c.diagnostic, 'volet_habitat', c.volet_habitat,
            'section_habitat_prive', c.section_habitat_prive,
            'engagements_partenaires', c.engagements_partenaires, 'gouvernance', c.gouvernance,
            'suivi_evaluation', c.suivi_evaluation, 'resultats_attendus', c.resultats_attendus,
            'date_limite_convention_cadre',
                (SELECT a.date_limite_convention_cadre FROM conventions a WHERE a.id = c.adhesion_id),
            'secteurs_intervention', (
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'id', si.id, 'nom', si.nom, 'code_insee', si.code_insee,
                    'est_centre_ville_ville_principale', si.est_centre_ville_ville_principale,
                    'geometrie', si.geometrie) ORDER BY si.rang), '[]'::jsonb)
                FROM secteurs_intervention si WHERE si.convention_id = c.id))
        END
        FROM territoires t WHERE t.id_pvd = c.id_pvd
    );
END
$$;

CREATE OR REPLACE FUNCTION axe_strategique_representation(a axes_strategiques)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', a.id, 'id_pvd', a.id_pvd, 'numero', a.numero, 'intitule', a.intitule,
            'enjeux', a.enjeux, 'partenaires', to_jsonb(a.partenaires), 'echelle', a.echelle,
            'nombre_indicateurs', (SELECT count(*) FROM indicateurs i WHERE i.axe_id = a.id),
            'types_indicateurs', COALESCE((SELECT jsonb_agg(DISTINCT i.type ORDER BY i.type)
                                           FROM indicateurs i WHERE i.axe_id = a.id), '[]'::jsonb),
            'cree_le', horodatage(a.cree_le), 'modifie_le', horodatage(a.modifie_le))
    );
END
$$;

CREATE OR REPLACE FUNCTION comite_representation(c comites)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', c.id, 'id_pvd', c.id_pvd, 'presidence', c.presidence,
            'instance_preexistante', c.instance_preexistante,
            'membres', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                     'qualite', m.qualite, 'organisation_id', m.organisation_id,
                                     'nom', m.nom, 'fonction', m.fonction) ORDER BY m.rang)
                                 FROM comite_membres m WHERE m.comite_id = c.id), '[]'::jsonb),
            'nombre_seances', (SELECT count(*) FROM seances s WHERE s.comite_id = c.id),
            'cree_le', horodatage(c.cree_le), 'modifie_le', horodatage(c.modifie_le))
    );
END
$$;

CREATE OR REPLACE FUNCTION decision_representation(d decisions)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', d.id, 'seance_id', d.seance_id,
            'id_pvd', (SELECT c.id_pvd FROM seances s JOIN comites c ON c.id = s.comite_id
                       WHERE s.id = d.seance_id),
            'date_seance', (SELECT s.date FROM seances s WHERE s.id = d.seance_id),
            'type', d.type, 'objet', d.objet, 'convention_id', d.convention_id,
            'fiche_action_id', d.fiche_action_id,
            'cree_le', horodatage(d.cree_le))
    );
END
$$;

CREATE OR REPLACE FUNCTION indicateur_representation(i indicateurs)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
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
    );
END
$$;

CREATE OR REPLACE FUNCTION plan_action_representation(p plans_action)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id_pvd', p.id_pvd, 'programme_global', p.programme_global, 'perimetres', p.perimetres,
            'version', p.version, 'date_validation_comite', p.date_validation_comite,
            'nombre_fiches', (SELECT count(*) FROM fiches_action f WHERE f.id_pvd = p.id_pvd),
            'cree_le', horodatage(p.cree_le), 'modifie_le', horodatage(p.modifie_le))
    );
END
$$;

CREATE OR REPLACE FUNCTION poste_representation(p postes_chef_projet)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', p.id, 'employeur_id', p.employeur_id,
            'territoires', COALESCE((SELECT jsonb_agg(pt.id_pvd ORDER BY pt.rang)
                                     FROM poste_territoires pt WHERE pt.poste_id = p.id), '[]'::jsonb),
            'quotite', p.quotite, 'date_recrutement', p.date_recrutement,
            'date_fin_contrat', p.date_fin_contrat, 'type_contrat', p.type_contrat,
            'missions', p.missions,
            'annees', COALESCE((SELECT jsonb_agg(f.annee ORDER BY f.annee)
                                FROM poste_financements f WHERE f.poste_id = p.id), '[]'::jsonb),
            'cree_par', p.cree_par,
            'cree_le', horodatage(p.cree_le), 'modifie_le', horodatage(p.modifie_le))
    );
END
$$;

CREATE OR REPLACE FUNCTION seance_representation(s seances)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'id', s.id, 'comite_id', s.comite_id,
            'id_pvd', (SELECT c.id_pvd FROM comites c WHERE c.id = s.comite_id),
            'date', s.date, 'ordre_du_jour', s.ordre_du_jour, 'compte_rendu', s.compte_rendu,
            'nombre_decisions', (SELECT count(*) FROM decisions d WHERE d.seance_id = s.id),
            'cree_le', horodatage(s.cree_le), 'modifie_le', horodatage(s.modifie_le))
    );
END
$$;
