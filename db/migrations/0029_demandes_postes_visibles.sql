-- Issue #12 §4: the lists of demandes de subvention and of postes de chef de
-- projet decide visibility per row against sets computed once per statement,
-- as the fiches and conventions lists do (db/fiche_repository.c
-- FICHES_VISIBLES_SQL, db/convention_repository.c FILTER_SQL).
--
-- demandes_visibles and postes_visibles (0019, 0018) returned the ids of every
-- request (post) the caller may read, and the lists filtered with
-- `x.id IN (SELECT …_visibles(…))`: the caller's whole visible set was built,
-- deduplicated and sorted for every page and again for its count (the ANCT's
-- 100,420 requests: 166 ms a page, 476 ms its count), and a financeur's
-- per-row demande_financeur_sirens read the fiche's lines for every request
-- (1 s). Figures: README, "Demandes and postes lists".
-- They now return the visible rows themselves and the lists read FROM them: a
-- SQL function of one SELECT used in FROM is inlined by the planner, so the
-- rule becomes a WHERE clause on the list's own scan. Its sets do not depend
-- on the row and are computed once per statement: the small ones (the
-- caller's visible territoires, its organisations: a few, a région's ~200
-- territoires at most) as ARRAY(…), so that `column = ANY (set)` is both
-- probed per row (page 1 in key order stops after its rows) and answered by
-- an index (the count, a préfecture's requests by
-- demandes_subvention_territoire_idx); the ones that grow with the data (the
-- posts of the visible territoires, what a financeur finances) as hashed
-- `IN (SELECT …)`, a constant-time probe even in a generic plan. For the
-- national roles the condition is true in a custom plan (the role is a
-- parameter's value): their lists compute no set.
-- The rule is unchanged, branch for branch
-- (tests/integration/test_visibilite_demandes.c holds both lists to the
-- single read for every branch, admitting and refusing).
--
-- p_sirens are a habilitation's nine-digit SIRENs: compared as bpchar (the
-- column's type, equal to the text comparison for such values) so that
-- organisations_siren_idx finds them instead of a scan of the organisations.

DROP FUNCTION demandes_visibles(text, text[], text[], text[], text[]);
DROP FUNCTION postes_visibles(text, text[], text[], text[], text[]);

-- The requests inside the read perimeter of a caller of this role (the rule
-- api/handlers/demandes.c decides for one request with authz_decide on the
-- target demande_access_load builds): national roles every request;
-- préfecture_instructeur those of the territoires of its départements;
-- prefecture_region the DSIL requests of its régions (R38); collectivités
-- those of their territoires or whose demandeur is theirs; a financeur those
-- of territoires of its SIREN, whose demandeur is it, or that it finances
-- (demande_financeur_sirens: the request's financeur_id, or a line of its
-- fiche with the request's dispositif). Read it in FROM (`FROM
-- demandes_visibles(…) x`), where it is inlined; in a select list it would
-- be a set built whole per call.
CREATE FUNCTION demandes_visibles(p_role text, p_deps text[], p_regs text[],
                                  p_sirens text[], p_terrs text[])
RETURNS SETOF demandes_subvention LANGUAGE sql STABLE AS $$
    SELECT d.* FROM demandes_subvention d
    WHERE p_role IN ('anct_national', 'lecteur_national')
       OR ((p_role IN ('prefecture_instructeur', 'collectivite_agent', 'collectivite_elu',
                       'financeur')
            OR (p_role = 'prefecture_region' AND d.dispositif = 'DSIL'))
           AND d.id_pvd = ANY (ARRAY(SELECT fiche_territoires_visibles(p_role, p_deps, p_regs,
                                                                       p_sirens, p_terrs))))
       OR (p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
           AND d.demandeur_id = ANY (ARRAY(SELECT o.id FROM organisations o
                                           WHERE o.siren = ANY (p_sirens::bpchar[]))))
       OR (p_role = 'financeur'
           AND (d.financeur_id = ANY (ARRAY(SELECT o.id FROM organisations o
                                            WHERE o.siren = ANY (p_sirens::bpchar[])))
                OR (d.fiche_id, d.dispositif) IN (
                    SELECT l.fiche_id, l.dispositif FROM fiche_financements l
                    JOIN organisations o ON o.id = l.financeur_id
                    WHERE o.siren = ANY (p_sirens::bpchar[]))))
$$;

-- The postes inside the read perimeter of a caller of this role
-- (domain/authz.c "inside" for POSTE_READ on the target of
-- db/poste_repository.h poste_access_load): anct_national and
-- lecteur_national every poste; otherwise those serving a territoire of
-- fiche_territoires_visibles (0014), and — collectivités and financeur —
-- those whose employer's SIREN is the caller's, and — financeur only — those
-- one of whose years' financeurs has the caller's SIREN. Read it in FROM (see
-- demandes_visibles).
CREATE FUNCTION postes_visibles(p_role text, p_deps text[], p_regs text[], p_sirens text[],
                                p_terrs text[])
RETURNS SETOF postes_chef_projet LANGUAGE sql STABLE AS $$
    SELECT p.* FROM postes_chef_projet p
    WHERE p_role IN ('anct_national', 'lecteur_national')
       OR p.id IN (SELECT pt.poste_id FROM poste_territoires pt
                   WHERE pt.id_pvd = ANY (ARRAY(SELECT fiche_territoires_visibles(
                                                    p_role, p_deps, p_regs, p_sirens, p_terrs))))
       OR (p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
           AND p.employeur_id = ANY (ARRAY(SELECT o.id FROM organisations o
                                           WHERE o.siren = ANY (p_sirens::bpchar[]))))
       OR (p_role = 'financeur'
           AND p.id IN (SELECT f.poste_id FROM poste_financements f
                        JOIN organisations o ON o.id IN (f.financeur_bdt_id, f.financeur_anah_id)
                        WHERE o.siren = ANY (p_sirens::bpchar[])))
$$;

-- fiche_territoires_visibles (0014) finds a collectivité's or a financeur's
-- territoires by the SIRENs of their communes (`co.siren = ANY (p_sirens)`,
-- a text comparison): without this index every list statement of such a
-- caller (fiches, conventions, demandes, postes) scanned the 37,590 communes
-- (9.7 ms; 1.8 ms with it).
CREATE INDEX communes_siren_idx ON communes ((siren::text)) WHERE type = 'commune-actuelle';
