-- Open data (issue #11 §3, api/handlers/donnees_ouvertes.c): the public
-- projections the datasets under /api/v1/donnees-ouvertes/ are made of, one
-- definition each, so that a dataset's CSV and JSON (and the event feed's
-- public representations) hold the same values.
--
-- Every element is a JSON object whose members are the dataset's CSV columns,
-- in their order, each a string (the cell before the CSV injection prefix);
-- "" is a value the service does not know (the missing-value representation
-- of the SCDL and ANCT files). The fiches' elements are fiche_publique_representation
-- (0016) unchanged.

-- SIRETs of a subsidy request (SCDL « subventions »: idBeneficiaire and
-- idAttribuant are SIRETs, 14 digits). Optional: the service checks the Luhn
-- key (R42) and that the first 9 digits are the SIREN of the demandeur,
-- resp. of the financeur (api/handlers/demandes.c); the CHECKs only keep
-- impossible values out.
ALTER TABLE demandes_subvention
    ADD COLUMN siret_demandeur char(14) CHECK (siret_demandeur ~ '^[0-9]{14}$'),
    ADD COLUMN siret_financeur char(14) CHECK (siret_financeur ~ '^[0-9]{14}$');

-- The representation of 0019 with the two SIRETs (null when not given).
ALTER FUNCTION demande_representation(demandes_subvention) RENAME TO demande_representation_0019;
CREATE FUNCTION demande_representation(d demandes_subvention) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT demande_representation_0019(d)
           || jsonb_build_object('siret_demandeur', d.siret_demandeur,
                                 'siret_financeur', d.siret_financeur)
$$;

-- The legal delays of parametres_defaut (domain/parametres.c, the source):
-- those a clock runs with when no parameters version is in force on its
-- start date. Held equal to the C defaults by tests/integration/
-- test_donnees_ouvertes.c (GET /api/v1/parametres of a database without
-- version).
CREATE FUNCTION demande_delais_defaut() RETURNS TABLE (rejet_implicite_mois integer,
    caducite_annees integer, caducite_prolongation_annees integer, forclusion_annees integer,
    forclusion_prolongation_annees integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 8, 2, 1, 4, 2
$$;

-- Integer cents as euros with a decimal point ("25000.00"), the SCDL number.
CREATE FUNCTION euros_point(c bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT (c / 100)::text || '.' || lpad((c % 100)::text, 2, '0')
$$;

-- The public projection of a granted subsidy on p_today: one record of the
-- SCDL « subventions » schema 2.1 (schema.data.gouv.fr scdl/subventions),
-- its 16 columns in the schema's order; NULL when d is not granted (its
-- effective state on p_today, demande_etat_effectif with the delays in force
-- or the defaults, is not accordee, notifiee, engagee or soldee, or it has no
-- decision date or amount). Values:
-- - nomAttribuant: the financeur's name, else « État » (a State dispositif),
--   else "" (a dispositif « autre » without financeur);
-- - idAttribuant: siret_financeur, "" when not recorded (the schema requires
--   it: such a record is reported invalid by the schema's validator);
-- - dateConvention: the decision's date; referenceDecision: the Démarches
--   simplifiées dossier number, else the request's id;
-- - nomBeneficiaire: the demandeur's name; idBeneficiaire: siret_demandeur,
--   "" when not recorded (optional in 2.1); rnaBeneficiaire: "" (the
--   beneficiaries are public bodies, not associations);
-- - objet: the request's title, cut to 255 characters (schema: < 256);
-- - montant: montant_accorde in euros with a decimal point;
-- - nature « aide en numéraire »; conditionsVersement « échelonné » with more
--   than one payment, else « unique »; datesPeriodeVersement: first/last
--   payment date ("AAAA-MM-JJ/AAAA-MM-JJ"), the date of a single payment, ""
--   before any payment;
-- - idRAE "" (not an aid to businesses); notificationUE « non »;
-- - pourcentageSubvention « 1.00 »: the share of the amount that goes to this
--   beneficiary (a request has one demandeur), not the rate of the expense;
-- - dispositifAide: the dispositif (DETR, DSIL, FNADT…).
CREATE FUNCTION subvention_publique_au(d demandes_subvention, p_today date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
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
$$;

-- subvention_publique_au today (UTC, the sessions' time zone): what the
-- event feed shows of a request without a token.
CREATE FUNCTION subvention_publique_representation(d demandes_subvention) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT subvention_publique_au(d, current_date)
$$;

-- The granted subsidies on p_today with their request's modification time,
-- by decision date then id; filters (NULL: none): année de programmation,
-- département (the territoire's or one of its communes').
CREATE FUNCTION subventions_ouvertes(p_today date, p_annee integer, p_departement text)
RETURNS TABLE (element jsonb, modifie_le timestamptz) LANGUAGE sql STABLE AS $$
    SELECT s.e, s.modifie_le FROM (
        SELECT subvention_publique_au(d, p_today) AS e, d.modifie_le, d.date_decision, d.id
        FROM demandes_subvention d JOIN territoires t ON t.id_pvd = d.id_pvd
        WHERE d.montant_accorde IS NOT NULL AND d.date_decision IS NOT NULL
          AND (p_annee IS NULL OR d.annee_programmation = p_annee)
          AND (p_departement IS NULL OR t.code_departement = p_departement OR EXISTS (
                   SELECT 1 FROM territoire_communes tc
                   JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
                   WHERE tc.id_pvd = d.id_pvd AND c.code_departement = p_departement))) s
    WHERE s.e IS NOT NULL
    ORDER BY s.date_decision, s.id
$$;

-- The lauréats in the ANCT layout the bulk import reads (api/laureats_csv.h,
-- tests/data/laureats-pvd-2021.csv): one record per commune of a territoire,
-- territoires by id_pvd, communes in their order (rang). Columns: id_pvd,
-- insee_com, lib_com (the referential's name), insee_dep (the commune's
-- département), pop (the referential's population), date_signature (the
-- signature date of the territoire's signed convention d'adhésion, ISO; ""
-- before it), siren_epci and lib_epci (the commune's EPCI in the referential;
-- "" when it has none). Re-importing these records changes nothing when the
-- territoire's EPCIs are its communes' EPCIs in commune order (the import's
-- default, and what a one-EPCI-per-line file can say). Filter (NULL: none):
-- département, the territoire's or one of its communes' (a territoire is
-- listed whole).
CREATE FUNCTION laureats_ouverts(p_departement text)
RETURNS TABLE (element jsonb, modifie_le timestamptz) LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id_pvd', t.id_pvd, 'insee_com', tc.code_insee,
               'lib_com', coalesce(c.nom, ''), 'insee_dep', coalesce(c.code_departement, ''),
               'pop', coalesce(c.population::text, ''),
               'date_signature', coalesce((
                   SELECT max(cv.date_signature)::text FROM conventions cv
                   WHERE cv.id_pvd = t.id_pvd AND cv.type = 'adhesion'
                     AND cv.etat IN ('signee', 'relayee')), ''),
               'siren_epci', coalesce(m.epci_siren::text, ''), 'lib_epci', coalesce(e.nom, '')),
           t.modifie_le
    FROM territoires t
    JOIN territoire_communes tc ON tc.id_pvd = t.id_pvd
    LEFT JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle'
    LEFT JOIN epci_membres m ON m.code_insee = tc.code_insee
    LEFT JOIN epci e ON e.siren = m.epci_siren
    WHERE p_departement IS NULL OR t.code_departement = p_departement OR EXISTS (
              SELECT 1 FROM territoire_communes tc2
              JOIN communes c2 ON c2.code_insee = tc2.code_insee AND c2.type = 'commune-actuelle'
              WHERE tc2.id_pvd = t.id_pvd AND c2.code_departement = p_departement)
    ORDER BY t.id_pvd, tc.rang
$$;

-- The public fiches (fiches_publiques of 0016: marked public by their
-- collectivité) as fiche_publique_representation, by territoire, numero, id.
CREATE FUNCTION fiches_ouvertes(p_departement text)
RETURNS TABLE (element jsonb, modifie_le timestamptz) LANGUAGE sql STABLE AS $$
    SELECT fiche_publique_representation(f), f.modifie_le
    FROM fiches_publiques(NULL, p_departement, NULL, NULL, NULL, NULL, NULL) f
    ORDER BY f.id_pvd, f.numero, f.id
$$;
