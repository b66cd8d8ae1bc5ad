-- The programme's contracts and local governance (issue #4, domain.md §1.2–1.7,
-- §1.13, §2.1–2.2): organisations, territoires PVD, conventions d'adhésion and
-- conventions-cadres with their signataires, secteurs and versions, the projet
-- de territoire (axes, indicateurs, mesures) and the comité de projet (membres,
-- séances, décisions).
--
-- Conventions of this schema:
-- * `revision` counts the changes of a row; it is the ETag's source (api.md:
--   If-Match on every change). Every UPDATE of a row sets revision = revision + 1.
-- * Territorial codes (INSEE, départements, régions) are strings, never integers
--   (2A/2B, 97x), and do not reference the referential tables: a new millésime
--   replaces those, a territoire keeps the codes it was designated with (R42 is
--   checked by the service when they are written).
-- * Rules are enforced by the service (domain/); the CHECKs below only keep
--   impossible rows out.

CREATE TABLE organisations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    siren char(9) CHECK (siren ~ '^[0-9]{9}$'),
    nom text NOT NULL CHECK (length(nom) BETWEEN 1 AND 300),
    nature text NOT NULL CHECK (nature IN ('commune', 'epci', 'petr', 'departement', 'region', 'etat',
                                           'operateur', 'bailleur', 'association', 'entreprise', 'autre')),
    code_insee varchar(5), -- nature commune: the commune-actuelle of this SIREN
    code_departement varchar(3),
    code_region varchar(3),
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    CHECK (siren IS NOT NULL OR nature = 'etat')
);
COMMENT ON TABLE organisations IS 'Signataires, maîtres d''ouvrage and financers. Communes and EPCI resolve to the referential by SIREN (R42: Luhn). Only the État may have no SIREN.';
CREATE UNIQUE INDEX organisations_siren_idx ON organisations (siren) WHERE siren IS NOT NULL;
CREATE INDEX organisations_nom_idx ON organisations (nom, id);

CREATE TABLE territoires (
    id_pvd varchar(16) PRIMARY KEY CHECK (id_pvd ~ '^pvd-[0-9]{2}-(2[AB]|[0-9]{2,3})-[0-9]{1,4}$'),
    nom text CHECK (nom IS NULL OR length(nom) BETWEEN 1 AND 300),
    code_departement varchar(3) NOT NULL,
    code_region varchar(3) NOT NULL,
    date_designation date,
    date_sortie date,
    millesime integer NOT NULL,
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE territoires IS 'Territoire PVD (lauréat), addressed by id_pvd. code_departement is the scoping key (R43). etat is derived from the conventions (designe, adherent, conventionne, sorti). millesime: the referential the codes were checked against.';
CREATE INDEX territoires_departement_idx ON territoires (code_departement, id_pvd);
CREATE INDEX territoires_region_idx ON territoires (code_region, id_pvd);

CREATE TABLE territoire_communes (
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd) ON DELETE CASCADE,
    code_insee varchar(5) NOT NULL CHECK (code_insee ~ '^(2[AB]|[0-9]{2})[0-9]{3}$'),
    rang smallint NOT NULL CHECK (rang >= 0),
    PRIMARY KEY (id_pvd, code_insee),
    UNIQUE (code_insee)
);
COMMENT ON TABLE territoire_communes IS 'The commune-actuelles of a territoire, in the order given (rang). A commune belongs to at most one territoire.';

CREATE TABLE territoire_epcis (
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd) ON DELETE CASCADE,
    siren char(9) NOT NULL CHECK (siren ~ '^[0-9]{9}$'),
    rang smallint NOT NULL CHECK (rang >= 0),
    PRIMARY KEY (id_pvd, siren)
);
CREATE INDEX territoire_epcis_siren_idx ON territoire_epcis (siren);

CREATE TABLE conventions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type text NOT NULL CHECK (type IN ('adhesion', 'cadre')),
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd),
    adhesion_id uuid REFERENCES conventions (id),
    etat text NOT NULL CHECK (etat IN ('brouillon', 'en_signature', 'signee', 'relayee', 'abandonnee',
                                       'en_concertation', 'validee_comite', 'echue', 'resiliee')),
    intitule text NOT NULL CHECK (length(intitule) BETWEEN 1 AND 500),
    -- adhésion (§1.4)
    moyens_ingenierie text,
    etudes_existantes text,
    besoins_operateurs text,
    -- cadre (§1.5)
    vaut_ort boolean NOT NULL DEFAULT true,
    date_fin date,
    ambitions text,
    diagnostic text,
    volet_habitat text NOT NULL DEFAULT 'aucun' CHECK (volet_habitat IN ('aucun', 'opah', 'opah_ru')),
    section_habitat_prive text,
    engagements_partenaires text,
    gouvernance text,
    suivi_evaluation text,
    resultats_attendus text,
    document_url text,
    -- derived when it is signed
    date_signature date,
    date_limite_convention_cadre date, -- adhésion: date_signature + 18 months (R4)
    en_retard boolean NOT NULL DEFAULT false, -- cadre signed after its adhésion's limit (R4)
    numero_version integer NOT NULL DEFAULT 1, -- 1, then +1 per avenant
    revision integer NOT NULL DEFAULT 1,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'cadre') = (adhesion_id IS NOT NULL)),
    CHECK (type = 'cadre' OR etat IN ('brouillon', 'en_signature', 'signee', 'relayee', 'abandonnee')),
    CHECK (type = 'adhesion' OR etat IN ('brouillon', 'en_concertation', 'validee_comite', 'en_signature',
                                         'signee', 'echue', 'resiliee'))
);
COMMENT ON TABLE conventions IS 'Conventions d''adhésion and conventions-cadres (valant ORT), state machines of domain.md §2.1 and §2.2.';
COMMENT ON COLUMN conventions.revision IS 'ETag source: +1 on every change, signataires and secteurs included.';
CREATE UNIQUE INDEX conventions_adhesion_active_idx ON conventions (id_pvd)
    WHERE type = 'adhesion' AND etat <> 'abandonnee';
CREATE UNIQUE INDEX conventions_cadre_active_idx ON conventions (id_pvd)
    WHERE type = 'cadre' AND etat NOT IN ('resiliee', 'echue');
CREATE INDEX conventions_territoire_idx ON conventions (id_pvd, id);
CREATE INDEX conventions_adhesion_idx ON conventions (adhesion_id);

CREATE TABLE signataires (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
    rang smallint NOT NULL CHECK (rang >= 0),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    role text NOT NULL CHECK (role IN ('beneficiaire', 'ville_principale', 'epci', 'etat', 'financeur',
                                       'partenaire', 'en_presence_de')),
    representant_nom text NOT NULL CHECK (length(representant_nom) BETWEEN 1 AND 200),
    representant_qualite text NOT NULL CHECK (length(representant_qualite) BETWEEN 1 AND 200),
    date_deliberation date,
    reference_deliberation text,
    date_signature date,
    signe_par text, -- the acteur (journal form) who recorded the signature
    UNIQUE (convention_id, rang),
    UNIQUE (convention_id, organisation_id, role)
);
COMMENT ON TABLE signataires IS 'Signataires of a convention (§1.6), in order. R8: a collectivité signs on a délibération dated on or before its signature.';
CREATE INDEX signataires_organisation_idx ON signataires (organisation_id);

CREATE TABLE secteurs_intervention (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
    rang smallint NOT NULL CHECK (rang >= 0),
    nom text NOT NULL CHECK (length(nom) BETWEEN 1 AND 300),
    code_insee varchar(5) NOT NULL,
    est_centre_ville_ville_principale boolean NOT NULL DEFAULT false,
    geometrie jsonb,
    UNIQUE (convention_id, rang)
);
COMMENT ON TABLE secteurs_intervention IS 'ORT intervention sectors of a convention-cadre (§1.5, R7).';

CREATE TABLE convention_versions (
    convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
    numero integer NOT NULL CHECK (numero >= 1),
    date_signature date,
    objet text, -- the avenant's object; NULL for version 1 (the signed convention)
    representation jsonb NOT NULL,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (convention_id, numero)
);
COMMENT ON TABLE convention_versions IS 'Every signed version of a convention, frozen: version 1 at signature, one more per avenant. Never updated.';

CREATE TABLE axes_strategiques (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd),
    numero smallint NOT NULL CHECK (numero BETWEEN 1 AND 99),
    intitule text NOT NULL CHECK (length(intitule) BETWEEN 1 AND 500),
    enjeux text NOT NULL CHECK (length(enjeux) BETWEEN 1 AND 20000),
    partenaires uuid[] NOT NULL DEFAULT '{}', -- organisations
    echelle text CHECK (echelle IN ('commune', 'epci', 'secteur', 'autre')),
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_pvd, numero)
);
COMMENT ON TABLE axes_strategiques IS 'Axes of the territoire''s projet de territoire (§1.7), which its convention-cadre formalises (R9 at validee_comite).';

CREATE TABLE indicateurs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    axe_id uuid NOT NULL REFERENCES axes_strategiques (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('mise_en_oeuvre', 'resultat')),
    libelle text NOT NULL CHECK (length(libelle) BETWEEN 1 AND 500),
    unite text NOT NULL CHECK (length(unite) BETWEEN 1 AND 50),
    valeur_reference numeric,
    date_reference date,
    valeur_cible numeric,
    date_cible date,
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN indicateurs.valeur_reference IS 'Decimal, exchanged as a decimal string (api.md: never binary floats).';
CREATE INDEX indicateurs_axe_idx ON indicateurs (axe_id, id);

CREATE TABLE indicateur_mesures (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    indicateur_id uuid NOT NULL REFERENCES indicateurs (id) ON DELETE CASCADE,
    date date NOT NULL,
    valeur numeric NOT NULL,
    source text CHECK (source IS NULL OR length(source) BETWEEN 1 AND 500),
    cree_le timestamptz NOT NULL DEFAULT now(),
    UNIQUE (indicateur_id, date)
);

CREATE TABLE comites (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    id_pvd varchar(16) NOT NULL UNIQUE REFERENCES territoires (id_pvd),
    presidence text NOT NULL CHECK (length(presidence) BETWEEN 1 AND 300),
    instance_preexistante boolean NOT NULL DEFAULT false,
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE comites IS 'The comité de projet of a territoire (§1.13); its members satisfy R40 at constitution and after each change.';

CREATE TABLE comite_membres (
    comite_id uuid NOT NULL REFERENCES comites (id) ON DELETE CASCADE,
    rang smallint NOT NULL CHECK (rang >= 0),
    qualite text NOT NULL CHECK (qualite IN ('executif_commune', 'executif_epci', 'chef_projet', 'prefet',
                                             'signataire_adhesion', 'partenaire', 'autre')),
    organisation_id uuid REFERENCES organisations (id),
    nom text NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    fonction text CHECK (fonction IS NULL OR length(fonction) BETWEEN 1 AND 200),
    PRIMARY KEY (comite_id, rang)
);

CREATE TABLE seances (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    comite_id uuid NOT NULL REFERENCES comites (id) ON DELETE CASCADE,
    date date NOT NULL,
    ordre_du_jour text,
    compte_rendu text,
    revision integer NOT NULL DEFAULT 1,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seances_comite_idx ON seances (comite_id, date, id);

CREATE TABLE decisions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seance_id uuid NOT NULL REFERENCES seances (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('valide_strategie', 'valide_plan', 'valide_fiche', 'modifie_fiche',
                                       'abandonne_fiche', 'autre')),
    objet text NOT NULL CHECK (length(objet) BETWEEN 1 AND 2000),
    convention_id uuid REFERENCES conventions (id),
    fiche_action_id uuid, -- the fiches action issue adds its table and the foreign key
    cree_le timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_seance_idx ON decisions (seance_id, id);
