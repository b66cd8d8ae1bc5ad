-- Identity and access (issue #3): habilitations of users, machine clients, and
-- the journal of every mutation.

CREATE TABLE habilitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 255),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    role text NOT NULL CHECK (role IN ('collectivite_agent', 'collectivite_elu', 'prefecture_instructeur',
                                       'prefecture_region', 'financeur', 'anct_national')),
    departements text[] NOT NULL DEFAULT '{}',
    regions text[] NOT NULL DEFAULT '{}',
    sirens text[] NOT NULL DEFAULT '{}',
    territoires text[] NOT NULL DEFAULT '{}',
    portee_departements text[] NOT NULL DEFAULT '{}',
    portee_regions text[] NOT NULL DEFAULT '{}',
    valide_du date NOT NULL,
    valide_au date CHECK (valide_au IS NULL OR valide_au >= valide_du),
    accorde_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    revoque_le timestamptz,
    revoque_par text
);
COMMENT ON TABLE habilitations IS 'Authority comes from pvd-api, not from the token: (issuer, subject) -> role and perimeter, for a period. At most one non-revoked habilitation per identity.';
COMMENT ON COLUMN habilitations.portee_departements IS 'Départements the perimeter touches, resolved through the referential at grant time (R43: a commune''s own département, an EPCI''s members''): who may read it.';
CREATE UNIQUE INDEX habilitations_identite_active_idx ON habilitations (issuer, subject) WHERE revoque_le IS NULL;

CREATE TABLE clients (
    id text PRIMARY KEY CHECK (id ~ '^pvd_[0-9a-f]{24}$'),
    nom text NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('collectivite_agent', 'collectivite_elu', 'prefecture_instructeur',
                                       'prefecture_region', 'financeur', 'anct_national')),
    departements text[] NOT NULL DEFAULT '{}',
    regions text[] NOT NULL DEFAULT '{}',
    sirens text[] NOT NULL DEFAULT '{}',
    territoires text[] NOT NULL DEFAULT '{}',
    secret_sel bytea NOT NULL,
    secret_empreinte bytea NOT NULL,
    expire_le timestamptz,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    secret_renouvele_le timestamptz,
    revoque_le timestamptz,
    revoque_par text
);
COMMENT ON TABLE clients IS 'OAuth 2.0 client-credentials clients (RFC 6749 4.4). The secret is shown once; only SHA-256(salt || secret) is stored.';

CREATE TABLE journal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instant timestamptz NOT NULL DEFAULT clock_timestamp(),
    acteur text NOT NULL CHECK (acteur ~ '^(oidc|client|systeme):.+'),
    acteur_issuer text,
    acteur_subject text,
    client_id text,
    role text,
    action text NOT NULL,
    ressource_type text NOT NULL,
    ressource_id text NOT NULL,
    avant jsonb,
    apres jsonb,
    request_id text,
    departements text[] NOT NULL DEFAULT '{}',
    regions text[] NOT NULL DEFAULT '{}',
    sirens text[] NOT NULL DEFAULT '{}',
    territoires text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE journal IS 'Every mutation, written in the same transaction as the change (db_run_mutation refuses to commit without it). Append-only.';
CREATE INDEX journal_ressource_idx ON journal (ressource_type, ressource_id, id);
CREATE INDEX journal_acteur_idx ON journal (acteur, id);
CREATE INDEX journal_instant_idx ON journal (instant, id);

-- Append-only, for every role including the owner and superusers.
CREATE FUNCTION journal_ajout_seul() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'le journal est en ajout seul (% refusé)', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER journal_pas_de_modification BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_ajout_seul();
CREATE TRIGGER journal_pas_de_vidage BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_ajout_seul();
-- The role that runs the migrations (and the service) keeps SELECT and INSERT only.
REVOKE UPDATE, DELETE, TRUNCATE ON journal FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON journal FROM CURRENT_USER;

-- Representations (the API's and the journal's before/after), one place.
CREATE FUNCTION horodatage(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION habilitation_representation(h habilitations) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', h.id, 'issuer', h.issuer, 'subject', h.subject, 'role', h.role,
        'perimetre', jsonb_build_object('departements', to_jsonb(h.departements),
                                        'regions', to_jsonb(h.regions),
                                        'sirens', to_jsonb(h.sirens),
                                        'territoires', to_jsonb(h.territoires)),
        'valide_du', h.valide_du, 'valide_au', h.valide_au,
        'accorde_par', h.accorde_par, 'cree_le', horodatage(h.cree_le),
        'revoque_le', horodatage(h.revoque_le), 'revoque_par', h.revoque_par,
        'etat', CASE WHEN h.revoque_le IS NOT NULL THEN 'revoquee'
                     WHEN h.valide_au IS NOT NULL AND h.valide_au < current_date THEN 'expiree'
                     WHEN h.valide_du > current_date THEN 'future'
                     ELSE 'active' END)
$$;

CREATE FUNCTION client_representation(c clients) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'nom', c.nom, 'role', c.role,
        'perimetre', jsonb_build_object('departements', to_jsonb(c.departements),
                                        'regions', to_jsonb(c.regions),
                                        'sirens', to_jsonb(c.sirens),
                                        'territoires', to_jsonb(c.territoires)),
        'expire_le', horodatage(c.expire_le), 'cree_par', c.cree_par,
        'cree_le', horodatage(c.cree_le), 'secret_renouvele_le', horodatage(c.secret_renouvele_le),
        'revoque_le', horodatage(c.revoque_le), 'revoque_par', c.revoque_par,
        'etat', CASE WHEN c.revoque_le IS NOT NULL THEN 'revoque'
                     WHEN c.expire_le IS NOT NULL AND c.expire_le <= now() THEN 'expire'
                     ELSE 'actif' END)
$$;
