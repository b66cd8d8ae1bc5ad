-- Issue #10 §1 "a decision keeps the parameters in force on its date": each
-- date-driven clock of a request (domain/demande.h demande_etat_effectif)
-- runs with the delays of the parameters version in force on the date that
-- starts it — R30 on date_accuse_reception (else date_depot), R34 on
-- date_notification, R35 on date_commencement_execution — not with today's.
-- Nothing is recorded on the request: a version is append-only and takes
-- effect today or later (api/handlers/parametres.c, "date-effet-passee"),
-- and every date of a request is today or earlier (demande_dates_check), so
-- the version in force on a stored start date never changes once the date
-- is written.

-- The "delais" object of the version in force on p_date (the latest
-- date_effet ≤ p_date, the greatest version among those of one date_effet,
-- as parametres_en_vigueur); NULL when p_date is NULL or no version is in
-- force then (the caller then uses parametres_defaut's delays).
CREATE FUNCTION parametres_delais_au(p_date date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT v.document->'delais' FROM parametres_versions v
    WHERE p_date IS NOT NULL AND v.date_effet <= p_date
    ORDER BY v.date_effet DESC, v.version DESC LIMIT 1
$$;

-- The delays each clock of d runs with: {"rejet_implicite_mois",
-- "caducite_annees", "caducite_prolongation_annees", "forclusion_annees",
-- "forclusion_prolongation_annees"}, each the integer of the version in
-- force on its clock's start date, or null (no start date, or no version in
-- force on it: parametres_defaut). Read by api/handlers/demandes.c
-- (demande_lire_json, member "_delais" of the rows db/demande_repository.c
-- reads).
CREATE FUNCTION demande_delais(d demandes_subvention) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'rejet_implicite_mois', r30->'rejet_implicite_mois',
        'caducite_annees', r34->'caducite_annees',
        'caducite_prolongation_annees', r34->'caducite_prolongation_annees',
        'forclusion_annees', r35->'forclusion_annees',
        'forclusion_prolongation_annees', r35->'forclusion_prolongation_annees')
    FROM (SELECT parametres_delais_au(coalesce(d.date_accuse_reception, d.date_depot)) AS r30,
                 parametres_delais_au(d.date_notification) AS r34,
                 parametres_delais_au(d.date_commencement_execution) AS r35) s
$$;

-- demande_etat_effectif of 0019 with each clock's delays from demande_delais;
-- the p_* arguments are now the delays of a clock with no version in force
-- on its start date: the callers pass parametres_defaut's.
CREATE OR REPLACE FUNCTION demande_etat_effectif(d demandes_subvention, p_today date,
                                                 p_rejet_mois integer, p_caducite integer,
                                                 p_caducite_prol integer, p_forclusion integer,
                                                 p_forclusion_prol integer)
RETURNS text LANGUAGE sql STABLE AS $$
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
$$;
