-- Who sees which fiche action in the lists (GET /api/v1/fiches-action and its
-- CSV export): fiches_visibles, the same rule as domain/authz.c decides for
-- one fiche (ACTION_FICHE_READ on the target of api/handlers/fiches_common.h
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

-- The territoires whose every fiche is inside the read perimeter of a caller
-- of this role (domain/authz.c "inside", on the territoire's attributes):
-- préfecture_instructeur by the territoire's or one of its communes'
-- département, prefecture_region by région, collectivités by id_pvd or by the
-- SIREN of one of its communes or EPCIs, a financeur by those SIRENs. One set
-- per request (the arguments are the caller's), not one query per fiche.
CREATE FUNCTION fiche_territoires_visibles(p_role text, p_deps text[], p_regs text[],
                                           p_sirens text[], p_terrs text[])
RETURNS SETOF varchar LANGUAGE sql STABLE AS $$
    SELECT t.id_pvd FROM territoires t
    WHERE p_role = 'prefecture_instructeur' AND t.code_departement = ANY (p_deps)
    UNION SELECT tc.id_pvd FROM territoire_communes tc
    JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
    WHERE p_role = 'prefecture_instructeur' AND co.code_departement = ANY (p_deps)
    UNION SELECT t.id_pvd FROM territoires t
    WHERE p_role = 'prefecture_region' AND t.code_region = ANY (p_regs)
    UNION SELECT tc.id_pvd FROM territoire_communes tc
    JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
    WHERE p_role = 'prefecture_region' AND co.code_region = ANY (p_regs)
    UNION SELECT t.id_pvd FROM territoires t
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu') AND t.id_pvd = ANY (p_terrs)
    UNION SELECT tc.id_pvd FROM territoire_communes tc
    JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
      AND co.siren = ANY (p_sirens)
    UNION SELECT te.id_pvd FROM territoire_epcis te
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
      AND te.siren = ANY (p_sirens)
$$;

-- The fiches inside the read perimeter of a caller of this role
-- (domain/authz.c "inside" for FICHE_READ, on fiche_access_load's target):
-- anct_national and lecteur_national every fiche (role_reads_as); otherwise
-- those of fiche_territoires_visibles, and — collectivités and financeur —
-- those whose maître d'ouvrage's SIREN is the caller's, and — financeur only
-- — those one of whose lines' financeurs has the caller's SIREN. Any other
-- role: none. A set, computed once per statement: the lists filter with
-- `x.id IN (SELECT fiches_visibles(…))`. (A per-fiche predicate in the manner
-- of convention_visible, re-reading the territoire's communes for each row,
-- took 0.4 ms a fiche: 8 s for a préfecture's count over 20 000 fiches.)
CREATE FUNCTION fiches_visibles(p_role text, p_deps text[], p_regs text[], p_sirens text[],
                                p_terrs text[]) RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT x.id FROM fiches_action x WHERE p_role IN ('anct_national', 'lecteur_national')
    UNION SELECT x.id FROM fiches_action x
    WHERE x.id_pvd IN (SELECT fiche_territoires_visibles(p_role, p_deps, p_regs, p_sirens,
                                                         p_terrs))
    UNION SELECT x.id FROM fiches_action x JOIN organisations o ON o.id = x.maitre_ouvrage_id
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
      AND o.siren = ANY (p_sirens)
    UNION SELECT l.fiche_id FROM fiche_financements l JOIN organisations o ON o.id = l.financeur_id
    WHERE p_role = 'financeur' AND o.siren = ANY (p_sirens)
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
