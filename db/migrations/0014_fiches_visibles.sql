-- Who sees which fiche action in the lists (GET /api/v1/fiches-action and its
-- CSV export): the same rule as domain/authz.c decides for one fiche
-- (ACTION_FICHE_READ on the target of api/handlers/fiches_common.h
-- fiche_access_load), held to it by tests/integration/test_fiches_liste.c.

-- SIRENs that put a fiche inside a collectivité's (or a financeur's)
-- perimeter: its territoire's communes (referential) and EPCIs, and its
-- maître d'ouvrage. Never its financeurs (fiche_financeur_sirens).
CREATE FUNCTION fiche_sirens(x fiches_action) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
        SELECT co.siren::text AS siren FROM territoire_communes tc
        JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
        WHERE tc.id_pvd = x.id_pvd AND co.siren IS NOT NULL
        UNION ALL SELECT te.siren::text FROM territoire_epcis te WHERE te.id_pvd = x.id_pvd
        UNION ALL SELECT o.siren::text FROM organisations o
        WHERE o.id = x.maitre_ouvrage_id AND o.siren IS NOT NULL) s
$$;

-- SIRENs of the financeurs of the fiche's financing lines (any statut): they
-- put it inside a financeur's perimeter only.
CREATE FUNCTION fiche_financeur_sirens(x fiches_action) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT o.siren::text), '{}') FROM fiche_financements l
    JOIN organisations o ON o.id = l.financeur_id
    WHERE l.fiche_id = x.id AND o.siren IS NOT NULL
$$;

-- The départements (p_regions false) or régions (true) of the fiche's
-- territoire: its own, then its communes' (R43: never its EPCIs'), as
-- db/territoire_scope.c reads them.
CREATE FUNCTION fiche_codes_territoriaux(x fiches_action, p_regions boolean) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT d.code), '{}') FROM (
        SELECT (CASE WHEN p_regions THEN t.code_region ELSE t.code_departement END)::text AS code
        FROM territoires t WHERE t.id_pvd = x.id_pvd
        UNION ALL SELECT (CASE WHEN p_regions THEN co.code_region ELSE co.code_departement END)::text
        FROM territoire_communes tc
        JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
        WHERE tc.id_pvd = x.id_pvd) d WHERE d.code IS NOT NULL AND d.code <> ''
$$;

-- Is fiche x inside the read perimeter of a caller of this role (domain/authz.c
-- "inside" for FICHE_READ)? préfecture_instructeur by its territoire's
-- départements, prefecture_region by régions, collectivités by territoire or
-- by fiche_sirens, financeur by fiche_sirens or fiche_financeur_sirens,
-- anct_national and lecteur_national everything (role_reads_as). Any other
-- role: nothing.
CREATE FUNCTION fiche_visible(x fiches_action, p_role text, p_deps text[], p_regs text[],
                              p_sirens text[], p_terrs text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE p_role
        WHEN 'anct_national' THEN true
        WHEN 'lecteur_national' THEN true
        WHEN 'prefecture_instructeur' THEN fiche_codes_territoriaux(x, false) && p_deps
        WHEN 'prefecture_region' THEN fiche_codes_territoriaux(x, true) && p_regs
        WHEN 'collectivite_agent' THEN x.id_pvd = ANY (p_terrs) OR fiche_sirens(x) && p_sirens
        WHEN 'collectivite_elu' THEN x.id_pvd = ANY (p_terrs) OR fiche_sirens(x) && p_sirens
        WHEN 'financeur' THEN fiche_sirens(x) && p_sirens OR fiche_financeur_sirens(x) && p_sirens
        ELSE false END
$$;

-- What the list needs to decide, per element, the caller's other actions on
-- the fiche (transitions_possibles): the same attributes as
-- fiche_access_load. Not part of the representation (removed before sending).
CREATE FUNCTION fiche_acces(x fiches_action) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('departements', to_jsonb(fiche_codes_territoriaux(x, false)),
                              'regions', to_jsonb(fiche_codes_territoriaux(x, true)),
                              'sirens', to_jsonb(fiche_sirens(x)),
                              'financeurs', to_jsonb(fiche_financeur_sirens(x)))
$$;

-- The thématique filter of the lists.
CREATE INDEX fiches_action_thematiques_idx ON fiches_action USING gin (thematiques);

-- A décision of a comité names the fiche action it is about (R23: the séance
-- examined it; R28: its abandon), as POST /api/v1/seances/{id}/decisions
-- now takes fiche_action_id: its representation shows it.
CREATE OR REPLACE FUNCTION decision_representation(d decisions) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', d.id, 'seance_id', d.seance_id,
        'id_pvd', (SELECT c.id_pvd FROM seances s JOIN comites c ON c.id = s.comite_id
                   WHERE s.id = d.seance_id),
        'date_seance', (SELECT s.date FROM seances s WHERE s.id = d.seance_id),
        'type', d.type, 'objet', d.objet, 'convention_id', d.convention_id,
        'fiche_action_id', d.fiche_action_id,
        'cree_le', horodatage(d.cree_le))
$$;
