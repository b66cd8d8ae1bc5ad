-- Issue 12 §4: the functions called once per row that read other tables
-- become PL/pgSQL, with the same body and the same result.
--
-- A LANGUAGE sql scalar function whose body has a FROM clause is never
-- inlined into the calling query, and PostgreSQL 15 parses and plans its body
-- again on every call (an SQL function keeps no plan between calls): a list
-- of 50 conventions parsed and planned convention_sirens 50 times per page
-- (perf: raw_parser, copyObjectImpl and expression_tree_walker at the top of
-- the server's profile). A PL/pgSQL function keeps the plan of its statement
-- for the life of the session, and the pool's sessions are long-lived.
-- Measured on one convention (pgbench, one client, prepared): 0.47 ms per
-- call of convention_representation as SQL, 0.30 ms as PL/pgSQL.
--
-- The bodies below are the definitions in force at migration 0027
-- (pg_get_functiondef), wrapped as RETURN (...): each SELECT yields exactly
-- one row (an aggregate, or a FROM by primary key, or a LIMIT 1), so the
-- scalar subquery returns what the SQL function returned, NULL included.
-- No parameter name is also a table alias of its body, and no column of the
-- tables read is named like a parameter (PL/pgSQL would call the reference
-- ambiguous). The volatility (STABLE) is unchanged: the body still runs in
-- the calling statement's snapshot.
--
-- SET plan_cache_mode TO force_generic_plan: under the default (auto) the
-- plan cache compared the generic plan with the custom ones, found the custom
-- ones cheaper (a custom plan folds the row's values, e.g. prunes the CASE on
-- c.type) and so planned the body again on every call. Each body reads by
-- primary or foreign key, which the generic plan does by index as well.
-- Measured (backend CPU, 6,000 calls of convention_representation): 860 ms
-- with custom plans, 290 ms with the generic plan.
--
-- Functions without FROM (habilitation_representation,
-- organisation_representation, demande_representation, ...) and the
-- set-returning ones (fiches_visibles, territoire_portee, ...) stay SQL: the
-- planner inlines them into the calling query. The event feed's
-- evenement_json and evenement_nature are left to their own migration.

CREATE OR REPLACE FUNCTION convention_representation(c conventions)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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
 SET plan_cache_mode TO force_generic_plan
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

CREATE OR REPLACE FUNCTION convention_sirens(c conventions)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT x.siren), '{}') FROM (
            SELECT co.siren::text AS siren FROM territoire_communes tc
            JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
            WHERE tc.id_pvd = c.id_pvd AND co.siren IS NOT NULL
            UNION ALL SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = c.id_pvd
            UNION ALL SELECT o.siren::text FROM signataires s JOIN organisations o ON o.id = s.organisation_id
            WHERE s.convention_id = c.id AND o.siren IS NOT NULL) x
    );
END
$$;

CREATE OR REPLACE FUNCTION convention_visible(c conventions, p_role text, p_deps text[], p_regs text[], p_sirens text[], p_terrs text[])
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT CASE p_role
            WHEN 'anct_national' THEN true
            WHEN 'prefecture_instructeur' THEN EXISTS (
                SELECT 1 FROM territoires t WHERE t.id_pvd = c.id_pvd AND t.code_departement = ANY (p_deps))
                OR EXISTS (SELECT 1 FROM territoire_communes tc
                           JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
                           WHERE tc.id_pvd = c.id_pvd AND co.code_departement = ANY (p_deps))
            WHEN 'prefecture_region' THEN EXISTS (
                SELECT 1 FROM territoires t WHERE t.id_pvd = c.id_pvd AND t.code_region = ANY (p_regs))
                OR EXISTS (SELECT 1 FROM territoire_communes tc
                           JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
                           WHERE tc.id_pvd = c.id_pvd AND co.code_region = ANY (p_regs))
            WHEN 'collectivite_agent' THEN c.id_pvd = ANY (p_terrs) OR convention_sirens(c) && p_sirens
            WHEN 'collectivite_elu' THEN c.id_pvd = ANY (p_terrs) OR convention_sirens(c) && p_sirens
            WHEN 'financeur' THEN convention_sirens(c) && p_sirens
            ELSE false END
    );
END
$$;

CREATE OR REPLACE FUNCTION demande_acces(d demandes_subvention)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'departements', (SELECT coalesce(jsonb_agg(DISTINCT c.code), '[]') FROM (
                SELECT t.code_departement::text AS code FROM territoires t WHERE t.id_pvd = d.id_pvd
                UNION ALL SELECT co.code_departement::text FROM territoire_communes tc
                JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
                WHERE tc.id_pvd = d.id_pvd) c WHERE c.code IS NOT NULL AND c.code <> ''),
            'regions', (SELECT coalesce(jsonb_agg(DISTINCT c.code), '[]') FROM (
                SELECT t.code_region::text AS code FROM territoires t WHERE t.id_pvd = d.id_pvd
                UNION ALL SELECT co.code_region::text FROM territoire_communes tc
                JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
                WHERE tc.id_pvd = d.id_pvd) c
                WHERE d.dispositif = 'DSIL' AND c.code IS NOT NULL AND c.code <> ''),
            'sirens', (SELECT coalesce(jsonb_agg(DISTINCT s.siren), '[]') FROM (
                SELECT co.siren::text AS siren FROM territoire_communes tc
                JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
                WHERE tc.id_pvd = d.id_pvd AND co.siren IS NOT NULL
                UNION ALL SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = d.id_pvd
                UNION ALL SELECT o.siren::text FROM organisations o
                WHERE o.id = d.demandeur_id AND o.siren IS NOT NULL) s),
            'financeurs', to_jsonb(demande_financeur_sirens(d)))
    );
END
$$;

CREATE OR REPLACE FUNCTION demande_delais(d demandes_subvention)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'rejet_implicite_mois', r30->'rejet_implicite_mois',
            'caducite_annees', r34->'caducite_annees',
            'caducite_prolongation_annees', r34->'caducite_prolongation_annees',
            'forclusion_annees', r35->'forclusion_annees',
            'forclusion_prolongation_annees', r35->'forclusion_prolongation_annees')
        FROM (SELECT parametres_delais_au(coalesce(d.date_accuse_reception, d.date_depot)) AS r30,
                     parametres_delais_au(d.date_notification) AS r34,
                     parametres_delais_au(d.date_commencement_execution) AS r35) s
    );
END
$$;

CREATE OR REPLACE FUNCTION demande_etat_effectif(d demandes_subvention, p_today date, p_rejet_mois integer, p_caducite integer, p_caducite_prol integer, p_forclusion integer, p_forclusion_prol integer)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT CASE
            WHEN d.etat IN ('depose', 'en_instruction')
                 AND d.dispositif IN ('FNADT', 'fonds_vert_recyclage_foncier')
                 AND coalesce(d.date_accuse_reception, d.date_depot) IS NOT NULL
                 AND p_today > (coalesce(d.date_accuse_reception, d.date_depot)
                                + make_interval(months => r30 + d.prorogation_mois))::date
                THEN 'rejet_implicite'
            WHEN d.etat = 'notifiee' AND d.dispositif IN ('DETR', 'DSIL')
                 AND d.date_notification IS NOT NULL
                 AND p_today > (d.date_notification + make_interval(years => r34
                     + CASE WHEN d.prolongation_caducite_reference IS NULL THEN 0
                            ELSE r34_prol END))::date
                 AND (d.date_commencement_execution IS NULL OR d.date_commencement_execution
                      > (d.date_notification + make_interval(years => r34
                          + CASE WHEN d.prolongation_caducite_reference IS NULL THEN 0
                                 ELSE r34_prol END))::date)
                THEN 'caduque'
            WHEN d.etat = 'engagee' AND d.dispositif = 'DETR'
                 AND d.date_commencement_execution IS NOT NULL
                 AND p_today > (d.date_commencement_execution + make_interval(years => r35
                     + CASE WHEN d.prolongation_forclusion_reference IS NULL THEN 0
                            ELSE r35_prol END))::date
                 AND (d.date_achevement_declaree IS NULL OR d.date_achevement_declaree
                      > (d.date_commencement_execution + make_interval(years => r35
                          + CASE WHEN d.prolongation_forclusion_reference IS NULL THEN 0
                                 ELSE r35_prol END))::date)
                THEN 'forclose'
            ELSE d.etat END
        FROM (SELECT coalesce((j->>'rejet_implicite_mois')::int, p_rejet_mois) AS r30,
                     coalesce((j->>'caducite_annees')::int, p_caducite) AS r34,
                     coalesce((j->>'caducite_prolongation_annees')::int, p_caducite_prol) AS r34_prol,
                     coalesce((j->>'forclusion_annees')::int, p_forclusion) AS r35,
                     coalesce((j->>'forclusion_prolongation_annees')::int, p_forclusion_prol)
                         AS r35_prol
              FROM (SELECT demande_delais(d) AS j) a) s
    );
END
$$;

CREATE OR REPLACE FUNCTION demande_financeur_sirens(d demandes_subvention)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
            SELECT o.siren::text AS siren FROM organisations o
            WHERE o.id = d.financeur_id AND o.siren IS NOT NULL
            UNION ALL SELECT o.siren::text FROM fiche_financements l
            JOIN organisations o ON o.id = l.financeur_id
            WHERE l.fiche_id = d.fiche_id AND l.dispositif = d.dispositif AND o.siren IS NOT NULL) s
    );
END
$$;

CREATE OR REPLACE FUNCTION fiche_codes_territoriaux(x fiches_action, p_regions boolean)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT d.code), '{}') FROM (
            SELECT (CASE WHEN p_regions THEN t.code_region ELSE t.code_departement END)::text AS code
            FROM territoires t WHERE t.id_pvd = x.id_pvd
            UNION ALL SELECT (CASE WHEN p_regions THEN co.code_region ELSE co.code_departement END)::text
            FROM territoire_communes tc
            JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
            WHERE tc.id_pvd = x.id_pvd) d WHERE d.code IS NOT NULL AND d.code <> ''
    );
END
$$;

CREATE OR REPLACE FUNCTION fiche_financeur_sirens(x fiches_action)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT o.siren::text), '{}') FROM fiche_financements l
        JOIN organisations o ON o.id = l.financeur_id
        WHERE l.fiche_id = x.id AND o.siren IS NOT NULL
    );
END
$$;

CREATE OR REPLACE FUNCTION fiche_sirens(x fiches_action)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
            SELECT co.siren::text AS siren FROM territoire_communes tc
            JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
            WHERE tc.id_pvd = x.id_pvd AND co.siren IS NOT NULL
            UNION ALL SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = x.id_pvd
            UNION ALL SELECT o.siren::text FROM organisations o
            WHERE o.id = x.maitre_ouvrage_id AND o.siren IS NOT NULL) s
    );
END
$$;

CREATE OR REPLACE FUNCTION parametres_delais_au(p_date date)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT v.document->'delais' FROM parametres_versions v
        WHERE p_date IS NOT NULL AND v.date_effet <= p_date
        ORDER BY v.date_effet DESC, v.version DESC LIMIT 1
    );
END
$$;

CREATE OR REPLACE FUNCTION poste_financeur_sirens(p_id uuid)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT o.siren::text), '{}') FROM poste_financements f
        JOIN organisations o ON o.id IN (f.financeur_bdt_id, f.financeur_anah_id)
        WHERE f.poste_id = p_id AND o.siren IS NOT NULL
    );
END
$$;

CREATE OR REPLACE FUNCTION poste_sirens(p_id uuid)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
            SELECT co.siren::text AS siren FROM poste_territoires pt
            JOIN territoire_communes tc ON tc.id_pvd = pt.id_pvd
            JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
            WHERE pt.poste_id = p_id AND co.siren IS NOT NULL
            UNION ALL SELECT te.siren::text FROM poste_territoires pt
            JOIN territoire_epcis te ON te.id_pvd = pt.id_pvd WHERE pt.poste_id = p_id
            UNION ALL SELECT o.siren::text FROM postes_chef_projet p
            JOIN organisations o ON o.id = p.employeur_id
            WHERE p.id = p_id AND o.siren IS NOT NULL) s
    );
END
$$;

CREATE OR REPLACE FUNCTION subvention_publique_au(d demandes_subvention, p_today date)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO force_generic_plan
AS $$
BEGIN
    RETURN (
    SELECT jsonb_build_object(
            'nomAttribuant', coalesce(fo.nom, CASE WHEN d.dispositif <> 'autre' THEN 'État' END, ''),
            'idAttribuant', coalesce(d.siret_financeur::text, ''),
            'dateConvention', d.date_decision::text,
            'referenceDecision', coalesce(d.ds_dossier_number::text, d.id::text),
            'nomBeneficiaire', b.nom,
            'idBeneficiaire', coalesce(d.siret_demandeur::text, ''),
            'rnaBeneficiaire', '',
            'objet', left(d.intitule, 255),
            'montant', euros_point(d.montant_accorde),
            'nature', 'aide en numéraire',
            'conditionsVersement', CASE WHEN v.n > 1 THEN 'échelonné' ELSE 'unique' END,
            'datesPeriodeVersement', CASE WHEN v.n = 0 THEN ''
                                          WHEN v.premier = v.dernier THEN v.premier::text
                                          ELSE v.premier::text || '/' || v.dernier::text END,
            'idRAE', '',
            'notificationUE', 'non',
            'pourcentageSubvention', '1.00',
            'dispositifAide', d.dispositif)
        FROM organisations b
        LEFT JOIN organisations fo ON fo.id = d.financeur_id
        CROSS JOIN (SELECT count(*) AS n, min(x.date) AS premier, max(x.date) AS dernier
                    FROM demande_versements x WHERE x.demande_id = d.id) v
        CROSS JOIN demande_delais_defaut() dd
        WHERE b.id = d.demandeur_id
          AND d.montant_accorde IS NOT NULL AND d.date_decision IS NOT NULL
          AND demande_etat_effectif(d, p_today, dd.rejet_implicite_mois, dd.caducite_annees,
                                    dd.caducite_prolongation_annees, dd.forclusion_annees,
                                    dd.forclusion_prolongation_annees)
              IN ('accordee', 'notifiee', 'engagee', 'soldee')
    );
END
$$;

-- The ville principale is one row: the planner's default of 1,000 rows for a
-- set-returning function multiplied the cost of every plan that joins it.
ALTER FUNCTION territoire_ville_principale(text) ROWS 1;

-- horodatage calls to_char, which is STABLE: declared IMMUTABLE, the function
-- was never inlined (the planner does not inline a body more volatile than
-- its declaration), so each statement that formats a date parsed and planned
-- it again (perf: parse_analyze under fmgr_sql on every convention read).
-- Its true volatility lets the planner inline it. No index or generated
-- column uses it.
ALTER FUNCTION horodatage(timestamptz) STABLE;
