-- Demandes de subvention (issue #10 §3, domain.md §1.12, §2.4; rules R30–R38
-- are domain/demande.c's, the CHECKs below only keep impossible rows out).
-- Money: bigint cents, 0..10^15; rates: ten-thousandths (0..10 000).
-- `etat` is the STORED state (the last edge taken by someone); the state a
-- reader sees is demande_etat_effectif (domain/demande.h) of the dates and
-- today: the service computes it on every read. `revision`: the ETag source.
--
-- poste_id: the chef de projet post of a chef_de_projet_pvd request
-- (postes_chef_projet of 0018).

CREATE TABLE demandes_subvention (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd),
    dispositif text NOT NULL CHECK (dispositif IN ('chef_de_projet_pvd', 'DETR', 'DSIL',
                                                   'fonds_vert_recyclage_foncier', 'FNADT', 'autre')),
    demandeur_id uuid NOT NULL REFERENCES organisations (id),
    financeur_id uuid REFERENCES organisations (id),
    fiche_id uuid REFERENCES fiches_action (id),
    poste_id uuid REFERENCES postes_chef_projet (id),
    annee_programmation smallint NOT NULL CHECK (annee_programmation BETWEEN 2000 AND 2100),
    intitule text NOT NULL CHECK (length(intitule) BETWEEN 1 AND 300),
    depense_subventionnable_ht bigint NOT NULL
        CHECK (depense_subventionnable_ht BETWEEN 0 AND 1000000000000000),
    montant_sollicite bigint NOT NULL CHECK (montant_sollicite BETWEEN 0 AND 1000000000000000),
    date_depot date,
    date_accuse_reception date,
    date_dossier_complet date,
    date_commencement_execution date,
    date_decision date,
    date_notification date,
    date_achevement_declaree date,
    montant_accorde bigint CHECK (montant_accorde BETWEEN 0 AND 1000000000000000),
    taux_accorde integer CHECK (taux_accorde BETWEEN 0 AND 10000),
    -- the five mentions of a décision attributive (§1.12 [V:d2018-8])
    mention_beneficiaires text CHECK (length(mention_beneficiaires) <= 2000),
    mention_objet text CHECK (length(mention_objet) <= 2000),
    mention_montant_maximum text CHECK (length(mention_montant_maximum) <= 2000),
    mention_calendrier text CHECK (length(mention_calendrier) <= 2000),
    mention_modalites_versement text CHECK (length(mention_modalites_versement) <= 2000),
    motif_refus text CHECK (length(motif_refus) <= 2000),
    avis_commission_elus boolean NOT NULL DEFAULT false, -- R36
    garantie_bancaire boolean NOT NULL DEFAULT false,    -- R32: advances up to 60 %
    -- extensions, each with the reference of its decision (R30, R34, R35)
    prorogation_mois smallint NOT NULL DEFAULT 0 CHECK (prorogation_mois BETWEEN 0 AND 120),
    prorogation_reference text CHECK (length(prorogation_reference) BETWEEN 1 AND 300),
    prolongation_caducite_reference text
        CHECK (length(prolongation_caducite_reference) BETWEEN 1 AND 300),
    prolongation_forclusion_reference text
        CHECK (length(prolongation_forclusion_reference) BETWEEN 1 AND 300),
    ds_dossier_number bigint UNIQUE CHECK (ds_dossier_number > 0),
    ds_procedure_id bigint CHECK (ds_procedure_id > 0),
    -- the Démarches simplifiées modification time of the last delivery applied
    -- (PUT …/par-dossier-ds/{numero}): an older or equal one changes nothing
    ds_modifie_le timestamptz,
    aides_territoires_aide_id text CHECK (length(aides_territoires_aide_id) BETWEEN 1 AND 100),
    etat text NOT NULL DEFAULT 'brouillon'
        CHECK (etat IN ('brouillon', 'depose', 'en_instruction', 'accordee', 'refusee',
                        'classee_sans_suite', 'rejet_implicite', 'notifiee', 'engagee',
                        'caduque', 'soldee', 'forclose')),
    revision integer NOT NULL DEFAULT 1,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    CHECK (fiche_id IS NOT NULL OR dispositif = 'chef_de_projet_pvd'),
    CHECK (prorogation_reference IS NOT NULL OR prorogation_mois = 0)
);
COMMENT ON TABLE demandes_subvention IS 'Subsidy requests (§1.12), state machine §2.4 aligned on Démarches simplifiées. etat is the stored state; the effective one (R30, R34, R35) is computed from the dates and today.';
CREATE INDEX demandes_subvention_territoire_idx ON demandes_subvention (id_pvd, id);
CREATE INDEX demandes_subvention_fiche_idx ON demandes_subvention (fiche_id);
CREATE INDEX demandes_subvention_demandeur_idx ON demandes_subvention (demandeur_id);
CREATE INDEX demandes_subvention_poste_idx ON demandes_subvention (poste_id, annee_programmation)
    WHERE poste_id IS NOT NULL;

CREATE TABLE demande_versements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    demande_id uuid NOT NULL REFERENCES demandes_subvention (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('avance', 'acompte', 'solde')),
    date date NOT NULL,
    montant bigint NOT NULL CHECK (montant BETWEEN 1 AND 1000000000000000),
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE demande_versements IS 'Payments of a granted subsidy (avance ≤ 30 % R32, acomptes, one solde): demande_versements_check.';
CREATE INDEX demande_versements_demande_idx ON demande_versements (demande_id, date, id);

-- The stored representation of a request (the ETag's source; the service
-- adds the effective state, its deadline and transitions_possibles). Money:
-- JSON integers in cents, members ending in _centimes; taux_accorde in
-- ten-thousandths.
CREATE FUNCTION demande_representation(d demandes_subvention) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', d.id, 'id_pvd', d.id_pvd, 'dispositif', d.dispositif,
        'demandeur_id', d.demandeur_id, 'financeur_id', d.financeur_id,
        'fiche_id', d.fiche_id, 'poste_id', d.poste_id,
        'annee_programmation', d.annee_programmation, 'intitule', d.intitule,
        'depense_subventionnable_ht_centimes', d.depense_subventionnable_ht,
        'montant_sollicite_centimes', d.montant_sollicite,
        'date_depot', d.date_depot, 'date_accuse_reception', d.date_accuse_reception,
        'date_dossier_complet', d.date_dossier_complet,
        'date_commencement_execution', d.date_commencement_execution,
        'date_decision', d.date_decision, 'date_notification', d.date_notification,
        'date_achevement_declaree', d.date_achevement_declaree,
        'montant_accorde_centimes', d.montant_accorde, 'taux_accorde', d.taux_accorde,
        'decision', jsonb_build_object('mentions', jsonb_build_object(
            'beneficiaires', d.mention_beneficiaires, 'objet', d.mention_objet,
            'montant_maximum', d.mention_montant_maximum, 'calendrier', d.mention_calendrier,
            'modalites_versement', d.mention_modalites_versement)),
        'motif_refus', d.motif_refus, 'avis_commission_elus', d.avis_commission_elus,
        'garantie_bancaire', d.garantie_bancaire,
        'prorogation', jsonb_build_object('mois', d.prorogation_mois,
                                          'reference', d.prorogation_reference),
        'prolongation_caducite_reference', d.prolongation_caducite_reference,
        'prolongation_forclusion_reference', d.prolongation_forclusion_reference,
        'ds_dossier_number', d.ds_dossier_number, 'ds_procedure_id', d.ds_procedure_id,
        'ds_modifie_le', horodatage(d.ds_modifie_le),
        'aides_territoires_aide_id', d.aides_territoires_aide_id,
        'etat_enregistre', d.etat,
        -- the financing plan: the lines of its fiche, as fiche_representation (0013) shows them
        'plan_financement', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', l.id, 'financeur_id', l.financeur_id, 'dispositif', l.dispositif,
                       'nature_financeur', l.nature_financeur, 'montant_centimes', l.montant,
                       'assiette_ht_centimes', l.assiette_ht, 'statut', l.statut) ORDER BY l.rang)
            FROM fiche_financements l WHERE l.fiche_id = d.fiche_id), '[]'::jsonb),
        'versements', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('id', v.id, 'type', v.type, 'date', v.date,
                                                'montant_centimes', v.montant)
                             ORDER BY v.date, v.cree_le, v.id)
            FROM demande_versements v WHERE v.demande_id = d.id), '[]'::jsonb),
        'revision', d.revision, 'cree_par', d.cree_par, 'cree_le', horodatage(d.cree_le),
        'modifie_le', horodatage(d.modifie_le));
END $$;

-- SIRENs of the financers of a request: its financeur_id's and those of the
-- lines of its fiche whose dispositif is the request's (a préfecture's DETR
-- line for a DETR request). They put it inside a financeur's perimeter only.
CREATE FUNCTION demande_financeur_sirens(d demandes_subvention) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
        SELECT o.siren::text AS siren FROM organisations o
        WHERE o.id = d.financeur_id AND o.siren IS NOT NULL
        UNION ALL SELECT o.siren::text FROM fiche_financements l
        JOIN organisations o ON o.id = l.financeur_id
        WHERE l.fiche_id = d.fiche_id AND l.dispositif = d.dispositif AND o.siren IS NOT NULL) s
$$;

-- The requests inside the read perimeter of a caller of this role (the rule
-- api/handlers/demandes.c decides for one request with authz_decide on the
-- target demande_access_load builds): national roles every request;
-- préfecture_instructeur those of the territoires of its départements;
-- prefecture_region the DSIL requests of its régions (R38); collectivités
-- those of their territoires or whose demandeur is theirs; a financeur those
-- of territoires of its SIREN, whose demandeur is it, or that it finances.
CREATE FUNCTION demandes_visibles(p_role text, p_deps text[], p_regs text[],
                                  p_sirens text[], p_terrs text[])
RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT d.id FROM demandes_subvention d
    WHERE p_role IN ('anct_national', 'lecteur_national')
    UNION SELECT d.id FROM demandes_subvention d
    WHERE p_role IN ('prefecture_instructeur', 'collectivite_agent', 'collectivite_elu', 'financeur')
      AND d.id_pvd IN (SELECT fiche_territoires_visibles(p_role, p_deps, p_regs, p_sirens, p_terrs))
    UNION SELECT d.id FROM demandes_subvention d
    WHERE p_role = 'prefecture_region' AND d.dispositif = 'DSIL'
      AND d.id_pvd IN (SELECT fiche_territoires_visibles(p_role, p_deps, p_regs, p_sirens, p_terrs))
    UNION SELECT d.id FROM demandes_subvention d JOIN organisations o ON o.id = d.demandeur_id
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
      AND o.siren::text = ANY (p_sirens)
    UNION SELECT d.id FROM demandes_subvention d
    WHERE p_role = 'financeur' AND demande_financeur_sirens(d) && p_sirens
$$;

-- The effective state of demande_etat_effectif (domain/demande.c) for the
-- list's etat filter only (the representation's etat is the C function's):
-- the same rule on the same columns, the delays passed by the caller from
-- the parameters in force. Held to the C function by the list tests of
-- tests/integration/test_demandes.c (a filter on each date-driven state
-- finds the request whose GET shows it).
CREATE FUNCTION demande_etat_effectif(d demandes_subvention, p_today date, p_rejet_mois integer,
                                      p_caducite integer, p_caducite_prol integer,
                                      p_forclusion integer, p_forclusion_prol integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN d.etat IN ('depose', 'en_instruction')
             AND d.dispositif IN ('FNADT', 'fonds_vert_recyclage_foncier')
             AND coalesce(d.date_accuse_reception, d.date_depot) IS NOT NULL
             AND p_today > (coalesce(d.date_accuse_reception, d.date_depot)
                            + make_interval(months => p_rejet_mois + d.prorogation_mois))::date
            THEN 'rejet_implicite'
        WHEN d.etat = 'notifiee' AND d.dispositif IN ('DETR', 'DSIL')
             AND d.date_notification IS NOT NULL
             AND p_today > (d.date_notification + make_interval(years => p_caducite
                 + CASE WHEN d.prolongation_caducite_reference IS NULL THEN 0
                        ELSE p_caducite_prol END))::date
             AND (d.date_commencement_execution IS NULL OR d.date_commencement_execution
                  > (d.date_notification + make_interval(years => p_caducite
                      + CASE WHEN d.prolongation_caducite_reference IS NULL THEN 0
                             ELSE p_caducite_prol END))::date)
            THEN 'caduque'
        WHEN d.etat = 'engagee' AND d.dispositif = 'DETR'
             AND d.date_commencement_execution IS NOT NULL
             AND p_today > (d.date_commencement_execution + make_interval(years => p_forclusion
                 + CASE WHEN d.prolongation_forclusion_reference IS NULL THEN 0
                        ELSE p_forclusion_prol END))::date
             AND (d.date_achevement_declaree IS NULL OR d.date_achevement_declaree
                  > (d.date_commencement_execution + make_interval(years => p_forclusion
                      + CASE WHEN d.prolongation_forclusion_reference IS NULL THEN 0
                             ELSE p_forclusion_prol END))::date)
            THEN 'forclose'
        ELSE d.etat END
$$;

-- Who a request concerns, the target of its authorization (domain/authz.h,
-- built by api/handlers/demandes.c for one request and for each element of a
-- list): {"departements", "regions", "sirens", "financeurs"} — its
-- territoire's départements and those of its communes (R43: never its
-- EPCIs'); the régions likewise but only for a DSIL request (R38: the
-- préfecture de région instructs DSIL and sees no other dispositif); the
-- SIRENs of its territoire's communes and EPCIs and of the demandeur; the
-- financers' (demande_financeur_sirens). demandes_visibles is the same rule
-- as a set.
CREATE FUNCTION demande_acces(d demandes_subvention) RETURNS jsonb LANGUAGE sql STABLE AS $$
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
$$;
