-- The official geographic referential (npm @etalab/decoupage-administratif),
-- loaded by `pvd-api import-referentiel`; read-only for the API.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE referentiel (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    millesime integer NOT NULL CHECK (millesime BETWEEN 2000 AND 2100),
    source text NOT NULL,
    checksum text NOT NULL,
    charge_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE referentiel IS 'The loaded millésime of the referential: one row; checksum = SHA-256 of the source files.';

CREATE TABLE regions (
    code varchar(3) PRIMARY KEY,
    nom text NOT NULL,
    zone text NOT NULL CHECK (zone IN ('metro', 'drom', 'com')),
    chef_lieu varchar(5)
);

CREATE TABLE departements (
    code varchar(3) PRIMARY KEY,
    nom text NOT NULL,
    code_region varchar(3) NOT NULL REFERENCES regions (code),
    zone text NOT NULL CHECK (zone IN ('metro', 'drom', 'com')),
    chef_lieu varchar(5)
);

CREATE TABLE communes (
    code_insee varchar(5) NOT NULL CHECK (code_insee ~ '^(2[AB]|[0-9]{2})[0-9]{3}$'),
    type text NOT NULL CHECK (type IN ('commune-actuelle', 'commune-deleguee', 'commune-associee', 'arrondissement-municipal')),
    nom text NOT NULL,
    siren char(9) CHECK (siren ~ '^[0-9]{9}$'),
    code_departement varchar(3) REFERENCES departements (code),
    code_region varchar(3) REFERENCES regions (code),
    zone text NOT NULL CHECK (zone IN ('metro', 'drom', 'com')),
    population integer CHECK (population >= 0),
    codes_postaux text[] NOT NULL DEFAULT '{}',
    commune_parente varchar(5),
    PRIMARY KEY (code_insee, type)
);
COMMENT ON TABLE communes IS 'A commune-deleguee or -associee may share its code with its commune-actuelle: the key is (code_insee, type). PVD objects reference commune-actuelle only.';
CREATE INDEX communes_departement_idx ON communes (code_departement, code_insee) WHERE type = 'commune-actuelle';

CREATE TABLE epci (
    siren char(9) PRIMARY KEY CHECK (siren ~ '^[0-9]{9}$'),
    nom text NOT NULL,
    type text NOT NULL CHECK (type IN ('CC', 'CA', 'CU', 'METRO', 'MET69')),
    mode_financement text NOT NULL CHECK (mode_financement IN ('FPU', 'FA')),
    population_totale integer NOT NULL CHECK (population_totale >= 0),
    population_municipale integer NOT NULL CHECK (population_municipale >= 0)
);

CREATE TABLE epci_membres (
    epci_siren char(9) NOT NULL REFERENCES epci (siren) ON DELETE CASCADE,
    code_insee varchar(5) NOT NULL,
    type text NOT NULL DEFAULT 'commune-actuelle' CHECK (type = 'commune-actuelle'),
    PRIMARY KEY (epci_siren, code_insee),
    UNIQUE (code_insee),
    FOREIGN KEY (code_insee, type) REFERENCES communes (code_insee, type) ON DELETE CASCADE
);
COMMENT ON TABLE epci_membres IS 'A commune-actuelle belongs to at most one EPCI (UNIQUE code_insee).';
