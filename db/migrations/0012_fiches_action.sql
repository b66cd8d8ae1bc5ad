-- Plan d'action, fiches action, their financing and échéancier (issue #9,
-- domain.md §1.8–§1.11, §2.3). The rules (R21–R29, R33) are the service's
-- (domain/fiche.c, domain/financement.c); the CHECKs below only keep
-- impossible rows out. Money: bigint cents, 0..10^15 (FINANCEMENT_MONTANT_MAX).
-- `revision` is the ETag source, as in 0004.

-- R21 as a key: a fiche's axe belongs to the fiche's territoire.
ALTER TABLE axes_strategiques ADD CONSTRAINT axes_strategiques_id_territoire_key UNIQUE (id, id_pvd);

CREATE TABLE plans_action (
    id_pvd varchar(16) PRIMARY KEY REFERENCES territoires (id_pvd),
    programme_global text NOT NULL DEFAULT '' CHECK (length(programme_global) <= 20000),
    -- [{"thematique": "...", "description": "...", "communes": ["12345"]}]
    perimetres jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(perimetres) = 'array'),
    version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    date_validation_comite date,
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    CHECK ((version = 0) = (date_validation_comite IS NULL))
);
COMMENT ON TABLE plans_action IS 'The one living plan d''action of a territoire (§1.8). version: the last frozen version (0: never validated), date_validation_comite its séance''s date.';

CREATE TABLE plan_action_versions (
    id_pvd varchar(16) NOT NULL REFERENCES plans_action (id_pvd),
    version integer NOT NULL CHECK (version >= 1),
    decision_id uuid NOT NULL UNIQUE REFERENCES decisions (id),
    date_validation_comite date NOT NULL,
    representation jsonb NOT NULL,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id_pvd, version)
);
COMMENT ON TABLE plan_action_versions IS 'Frozen versions of a plan d''action: one per comité décision valide_plan (the plan and its fiches as they were). Never updated.';

CREATE TABLE fiches_action (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    id_pvd varchar(16) NOT NULL REFERENCES plans_action (id_pvd),
    numero varchar(20) NOT NULL CHECK (numero ~ '[^[:space:]]'),
    intitule text NOT NULL CHECK (length(intitule) BETWEEN 1 AND 300),
    axe_id uuid NOT NULL,
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 20000),
    objectifs text NOT NULL CHECK (length(objectifs) BETWEEN 1 AND 20000),
    maitre_ouvrage_id uuid NOT NULL REFERENCES organisations (id),
    partenaires uuid[] NOT NULL DEFAULT '{}', -- organisations
    thematiques text[] NOT NULL DEFAULT '{}' CHECK (thematiques <@ ARRAY[
        'habitat', 'commerce', 'espaces_publics', 'mobilite', 'patrimoine_culture',
        'services_equipements', 'transition_ecologique', 'numerique', 'developpement_economique',
        'friches_foncier']::text[]),
    localisation_commune_insee varchar(5) NOT NULL
        CHECK (localisation_commune_insee ~ '^(2[AB]|[0-9]{2})[0-9]{3}$'),
    intercommunale boolean NOT NULL DEFAULT false, -- R22: a commune of the EPCIs is accepted
    dans_secteur_ort_id uuid REFERENCES secteurs_intervention (id) ON DELETE SET NULL,
    nature_depense text NOT NULL CHECK (nature_depense IN ('etude', 'ingenierie', 'investissement',
                                                           'fonctionnement', 'acquisition')),
    cout_total_ht bigint NOT NULL CHECK (cout_total_ht BETWEEN 0 AND 1000000000000000),
    cout_total_ttc bigint CHECK (cout_total_ttc BETWEEN cout_total_ht AND 1000000000000000),
    depense_subventionnable_ht bigint
        CHECK (depense_subventionnable_ht BETWEEN 0 AND 1000000000000000),
    base_financement text NOT NULL DEFAULT 'ht' CHECK (base_financement IN ('ht', 'ttc')), -- R24
    date_debut_prevue date,
    date_fin_prevue date,
    etat text NOT NULL DEFAULT 'brouillon'
        CHECK (etat IN ('brouillon', 'en_maturation', 'programmee', 'en_cours', 'suspendue',
                        'realisee', 'abandonnee')),
    priorite text CHECK (priorite IN ('elevee', 'moyenne', 'basse')),
    lien_crte boolean NOT NULL DEFAULT false,
    crte_id text CHECK (length(crte_id) BETWEEN 1 AND 100),
    date_examen_comite date,
    comite_seance_id uuid REFERENCES seances (id),
    avant_convention_cadre boolean NOT NULL DEFAULT false,
    public boolean NOT NULL DEFAULT false,
    pieces_jointes jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(pieces_jointes) = 'array'),
    date_commencement date,
    date_achevement date,
    motif text CHECK (motif ~ '[^[:space:]]'), -- of the last suspension or abandon (R28)
    derogation_type text CHECK (derogation_type IN ('renouvellement_urbain', 'monument_protege',
                                                    'calamite_publique', 'cooperation_europeenne',
                                                    'patrimoine_non_protege', 'corse')),
    derogation_reference text CHECK (length(derogation_reference) BETWEEN 1 AND 300),
    revision integer NOT NULL DEFAULT 1,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_pvd, numero),
    FOREIGN KEY (axe_id, id_pvd) REFERENCES axes_strategiques (id, id_pvd),
    CHECK (date_debut_prevue <= date_fin_prevue),
    CHECK (date_commencement <= date_achevement),
    CHECK (derogation_reference IS NULL OR derogation_type IS NOT NULL),
    CHECK (etat NOT IN ('programmee', 'en_cours', 'suspendue', 'realisee')
           OR (date_debut_prevue IS NOT NULL AND date_fin_prevue IS NOT NULL)),
    CHECK (etat NOT IN ('en_cours', 'suspendue', 'realisee') OR date_commencement IS NOT NULL),
    CHECK (etat <> 'realisee' OR date_achevement IS NOT NULL),
    CHECK (etat NOT IN ('suspendue', 'abandonnee') OR motif IS NOT NULL)
);
COMMENT ON TABLE fiches_action IS 'Fiches action of a territoire''s plan d''action (§1.9), state machine §2.3 (etat; maturite is derived from it). numero is unique in the plan; the axe is one of the territoire''s (R21, by the composite key). Costs in cents.';
COMMENT ON COLUMN fiches_action.base_financement IS 'R24: the cost the financing lines balance (ht: cout_total_ht, ttc: cout_total_ttc).';
CREATE INDEX fiches_action_territoire_idx ON fiches_action (id_pvd, id);
CREATE INDEX fiches_action_etat_idx ON fiches_action (etat, id);
CREATE INDEX fiches_action_axe_idx ON fiches_action (axe_id, id);
CREATE INDEX fiches_action_maitre_ouvrage_idx ON fiches_action (maitre_ouvrage_id, id);
CREATE INDEX fiches_action_public_idx ON fiches_action (id) WHERE public;
CREATE INDEX fiches_action_seance_idx ON fiches_action (comite_seance_id);

ALTER TABLE decisions ADD CONSTRAINT decisions_fiche_action_fkey
    FOREIGN KEY (fiche_action_id) REFERENCES fiches_action (id);
CREATE INDEX decisions_fiche_action_idx ON decisions (fiche_action_id) WHERE fiche_action_id IS NOT NULL;

CREATE TABLE fiche_indicateurs (
    fiche_id uuid NOT NULL REFERENCES fiches_action (id) ON DELETE CASCADE,
    indicateur_id uuid NOT NULL REFERENCES indicateurs (id),
    rang smallint NOT NULL CHECK (rang >= 0),
    PRIMARY KEY (fiche_id, indicateur_id),
    UNIQUE (fiche_id, rang)
);
COMMENT ON TABLE fiche_indicateurs IS 'The indicateurs (§1.7) a fiche action is followed by; realisee needs each to have a mesure.';
CREATE INDEX fiche_indicateurs_indicateur_idx ON fiche_indicateurs (indicateur_id);

CREATE TABLE fiche_financements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    fiche_id uuid NOT NULL REFERENCES fiches_action (id) ON DELETE CASCADE,
    rang smallint NOT NULL CHECK (rang >= 0),
    financeur_id uuid NOT NULL REFERENCES organisations (id),
    dispositif text NOT NULL CHECK (dispositif IN (
        'DETR', 'DSIL', 'FNADT', 'fonds_vert_recyclage_foncier', 'anah', 'bdt', 'region',
        'departement', 'feder', 'leader', 'autofinancement', 'emprunt', 'prive', 'autre', 'DPV',
        'DSID')),
    nature_financeur text NOT NULL CHECK (nature_financeur IN ('public', 'prive')),
    montant bigint NOT NULL CHECK (montant BETWEEN 0 AND 1000000000000000),
    assiette_ht bigint CHECK (assiette_ht BETWEEN 1 AND 1000000000000000),
    statut text NOT NULL DEFAULT 'envisage'
        CHECK (statut IN ('envisage', 'sollicite', 'accorde', 'refuse', 'verse_partiel', 'solde')),
    UNIQUE (fiche_id, rang)
);
COMMENT ON TABLE fiche_financements IS 'Lines of a fiche''s plan de financement (§1.10), in order (rang), the maître d''ouvrage''s own share included. taux is derived from montant and assiette_ht.';
CREATE INDEX fiche_financements_financeur_idx ON fiche_financements (financeur_id);

CREATE TABLE fiche_echeancier (
    fiche_id uuid NOT NULL REFERENCES fiches_action (id) ON DELETE CASCADE,
    annee smallint NOT NULL CHECK (annee BETWEEN 2000 AND 2100),
    montant bigint NOT NULL CHECK (montant BETWEEN 0 AND 1000000000000000),
    PRIMARY KEY (fiche_id, annee)
);
COMMENT ON TABLE fiche_echeancier IS 'Yearly split of a fiche''s HT cost (§1.11), read by the maquette financière; R27: Σ montant = cout_total_ht at programmee.';

-- The API representation of a fiche (§1.9), its lines and échéancier
-- included. montants are JSON integers (cents). PL/pgSQL: called per row in
-- lists, plans cached per connection.
CREATE FUNCTION fiche_representation(f fiches_action) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', f.id, 'id_pvd', f.id_pvd, 'numero', f.numero, 'intitule', f.intitule,
        'axe_id', f.axe_id, 'description', f.description, 'objectifs', f.objectifs,
        'maitre_ouvrage_id', f.maitre_ouvrage_id, 'partenaires', to_jsonb(f.partenaires),
        'thematiques', to_jsonb(f.thematiques),
        'localisation_commune_insee', f.localisation_commune_insee,
        'intercommunale', f.intercommunale, 'dans_secteur_ort_id', f.dans_secteur_ort_id,
        'nature_depense', f.nature_depense, 'cout_total_ht', f.cout_total_ht,
        'cout_total_ttc', f.cout_total_ttc, 'depense_subventionnable_ht', f.depense_subventionnable_ht,
        'base_financement', f.base_financement,
        'date_debut_prevue', f.date_debut_prevue, 'date_fin_prevue', f.date_fin_prevue,
        'etat', f.etat,
        'maturite', CASE WHEN f.etat IN ('brouillon', 'en_maturation') THEN 'en_maturation'
                         ELSE 'prete' END,
        'priorite', f.priorite, 'lien_crte', f.lien_crte, 'crte_id', f.crte_id,
        'date_examen_comite', f.date_examen_comite, 'comite_seance_id', f.comite_seance_id,
        'avant_convention_cadre', f.avant_convention_cadre, 'public', f.public,
        'pieces_jointes', f.pieces_jointes,
        'date_commencement', f.date_commencement, 'date_achevement', f.date_achevement,
        'motif', f.motif,
        'derogation_l1111_10', CASE WHEN f.derogation_type IS NULL THEN NULL
                                    ELSE jsonb_build_object('type', f.derogation_type,
                                                            'reference', f.derogation_reference) END,
        'indicateurs', COALESCE((SELECT jsonb_agg(fi.indicateur_id ORDER BY fi.rang)
                                 FROM fiche_indicateurs fi WHERE fi.fiche_id = f.id), '[]'::jsonb),
        'plan_financement', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', l.id, 'financeur_id', l.financeur_id, 'dispositif', l.dispositif,
                       'nature_financeur', l.nature_financeur, 'montant', l.montant,
                       'assiette_ht', l.assiette_ht, 'statut', l.statut) ORDER BY l.rang)
            FROM fiche_financements l WHERE l.fiche_id = f.id), '[]'::jsonb),
        'echeancier', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('annee', e.annee, 'montant', e.montant)
                             ORDER BY e.annee)
            FROM fiche_echeancier e WHERE e.fiche_id = f.id), '[]'::jsonb),
        'cree_par', f.cree_par,
        'cree_le', horodatage(f.cree_le), 'modifie_le', horodatage(f.modifie_le));
END
$$;

-- The API representation of a plan d'action (§1.8) without its fiches;
-- calendrier and maquette are derived by the service from the fiches.
CREATE FUNCTION plan_action_representation(p plans_action) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id_pvd', p.id_pvd, 'programme_global', p.programme_global, 'perimetres', p.perimetres,
        'version', p.version, 'date_validation_comite', p.date_validation_comite,
        'nombre_fiches', (SELECT count(*) FROM fiches_action f WHERE f.id_pvd = p.id_pvd),
        'cree_le', horodatage(p.cree_le), 'modifie_le', horodatage(p.modifie_le))
$$;
