-- Conventions d'adhésion and conventions-cadres (issue #4 §2, domain.md §1.4–1.6,
-- §2.1–2.2): their API representation, the writing of their content from a
-- JSON document, perimeter filtering and the follow-up figures. The rules
-- (R4–R10) are checked by the service (domain/convention.c); the SQL below
-- only stores and renders.

ALTER TABLE conventions ADD COLUMN motif text CHECK (motif IS NULL OR length(motif) BETWEEN 1 AND 2000);
COMMENT ON COLUMN conventions.motif IS 'Reason given with the last transition (abandon, résiliation…), when any.';

-- The caller-independent representation; the service adds transitions_possibles,
-- avertissements and the read-time en_retard of an adhésion.
CREATE FUNCTION convention_representation(c conventions) RETURNS jsonb LANGUAGE sql STABLE AS $$
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
$$;

-- Writes the content members present in doc (a validated document: the
-- service checked types, enums and dates) and, when doc has them, replaces
-- the signataires and secteurs_intervention whole. Bumps revision.
-- Why a function: one round trip for the row and its child rows, and one
-- merge-patch semantics (absent keeps, null clears) shared by creation, PATCH
-- and avenants instead of three hand-built UPDATE statements. No rule here.
CREATE FUNCTION convention_ecrire_contenu(p_id uuid, doc jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conventions c SET
        intitule = CASE WHEN doc ? 'intitule' THEN doc->>'intitule' ELSE c.intitule END,
        document_url = CASE WHEN doc ? 'document_url' THEN doc->>'document_url' ELSE c.document_url END,
        moyens_ingenierie = CASE WHEN doc ? 'moyens_ingenierie' THEN doc->>'moyens_ingenierie' ELSE c.moyens_ingenierie END,
        etudes_existantes = CASE WHEN doc ? 'etudes_existantes' THEN doc->>'etudes_existantes' ELSE c.etudes_existantes END,
        besoins_operateurs = CASE WHEN doc ? 'besoins_operateurs' THEN doc->>'besoins_operateurs' ELSE c.besoins_operateurs END,
        vaut_ort = CASE WHEN doc ? 'vaut_ort' THEN coalesce((doc->>'vaut_ort')::boolean, true) ELSE c.vaut_ort END,
        date_fin = CASE WHEN doc ? 'date_fin' THEN (doc->>'date_fin')::date ELSE c.date_fin END,
        ambitions = CASE WHEN doc ? 'ambitions' THEN doc->>'ambitions' ELSE c.ambitions END,
        diagnostic = CASE WHEN doc ? 'diagnostic' THEN doc->>'diagnostic' ELSE c.diagnostic END,
        volet_habitat = CASE WHEN doc ? 'volet_habitat' THEN coalesce(doc->>'volet_habitat', 'aucun') ELSE c.volet_habitat END,
        section_habitat_prive = CASE WHEN doc ? 'section_habitat_prive' THEN doc->>'section_habitat_prive' ELSE c.section_habitat_prive END,
        engagements_partenaires = CASE WHEN doc ? 'engagements_partenaires' THEN doc->>'engagements_partenaires' ELSE c.engagements_partenaires END,
        gouvernance = CASE WHEN doc ? 'gouvernance' THEN doc->>'gouvernance' ELSE c.gouvernance END,
        suivi_evaluation = CASE WHEN doc ? 'suivi_evaluation' THEN doc->>'suivi_evaluation' ELSE c.suivi_evaluation END,
        resultats_attendus = CASE WHEN doc ? 'resultats_attendus' THEN doc->>'resultats_attendus' ELSE c.resultats_attendus END,
        revision = c.revision + 1,
        modifie_le = now()
    WHERE c.id = p_id;
    IF doc ? 'signataires' THEN
        DELETE FROM signataires WHERE convention_id = p_id;
        INSERT INTO signataires (convention_id, rang, organisation_id, role, representant_nom,
                                 representant_qualite, date_deliberation, reference_deliberation)
        SELECT p_id, (e.n - 1)::smallint, (e.v->>'organisation_id')::uuid, e.v->>'role',
               e.v->>'representant_nom', e.v->>'representant_qualite',
               (e.v->>'date_deliberation')::date, e.v->>'reference_deliberation'
        FROM jsonb_array_elements(coalesce(doc->'signataires', '[]'::jsonb)) WITH ORDINALITY AS e(v, n);
    END IF;
    IF doc ? 'secteurs_intervention' THEN
        DELETE FROM secteurs_intervention WHERE convention_id = p_id;
        INSERT INTO secteurs_intervention (convention_id, rang, nom, code_insee,
                                           est_centre_ville_ville_principale, geometrie)
        SELECT p_id, (e.n - 1)::smallint, e.v->>'nom', e.v->>'code_insee',
               coalesce((e.v->>'est_centre_ville_ville_principale')::boolean, false),
               CASE WHEN jsonb_typeof(e.v->'geometrie') = 'object' THEN e.v->'geometrie' END
        FROM jsonb_array_elements(coalesce(doc->'secteurs_intervention', '[]'::jsonb)) WITH ORDINALITY AS e(v, n);
    END IF;
END
$$;

-- SIRENs concerned by a convention: its territoire's communes (referential)
-- and EPCIs, and its signataires' organisations (a financeur signataire sees it).
CREATE FUNCTION convention_sirens(c conventions) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT x.siren), '{}') FROM (
        SELECT co.siren::text AS siren FROM territoire_communes tc
        JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
        WHERE tc.id_pvd = c.id_pvd AND co.siren IS NOT NULL
        UNION ALL SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = c.id_pvd
        UNION ALL SELECT o.siren::text FROM signataires s JOIN organisations o ON o.id = s.organisation_id
        WHERE s.convention_id = c.id AND o.siren IS NOT NULL) x
$$;

-- Is convention c inside the perimeter of a caller of this role (the same
-- rule as domain/authz.c "inside": préfecture by its communes' départements,
-- région by régions, collectivités by territoire or SIREN, financeur by SIREN,
-- anct_national everything)?
CREATE FUNCTION convention_visible(c conventions, p_role text, p_deps text[], p_regs text[],
                                   p_sirens text[], p_terrs text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
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
$$;

-- R4 lateness as lists and figures filter it (domain.md §2.1; the service
-- computes the same flag with convention_r4_en_retard): an adhésion signee
-- whose date limite has passed (today excluded); a cadre signed late.
CREATE FUNCTION convention_en_retard(c conventions, p_today date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN c.type = 'adhesion'
                THEN c.etat = 'signee' AND c.date_limite_convention_cadre IS NOT NULL
                     AND p_today > c.date_limite_convention_cadre
                ELSE c.en_retard END
$$;
