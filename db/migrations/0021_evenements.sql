-- Issue #11 §1: the event feed. The journal is the outbox: every committed
-- change already writes one journal row in its own transaction
-- (db/mutation.h), so an event is a journal row seen through the functions
-- below; nothing is written twice and nothing is emitted for a rolled-back
-- write.
--
-- Order without skips. Journal ids come from a sequence, taken when each row
-- is inserted, so transactions commit out of id order: a reader that saw id
-- 11 may later see id 10 appear. Each row therefore records the id of the
-- transaction that wrote it (xid8, never wraps), and the feed reads only rows
-- whose transaction is older than the oldest one still running in the
-- reader's snapshot (xid < pg_snapshot_xmin): all of those have committed or
-- rolled back, so no row can ever appear below that horizon later. Rows are
-- read in (xid, id) order and the cursor is the last (xid, id) read: every
-- committed event is read exactly once, whatever the commit order. The cost:
-- an event becomes readable when every transaction older than its own has
-- finished (milliseconds here; a long transaction holds the feed back for
-- its duration, never loses an event).
ALTER TABLE journal ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
COMMENT ON COLUMN journal.xid IS 'The writing transaction (pg_current_xact_id()): the event feed''s order is (xid, id) below the snapshot''s xmin (0021).';
CREATE INDEX journal_xid_idx ON journal (xid, id);

-- The resources whose changes are events: the grammatical agreement of
-- their type's past participles ('' masculine, 'e' feminine, 's' masculine
-- plural), the API path of one of them (NULL when there is no single-object
-- route: the event still names the resource), and whether the public feed
-- shows them (issue #11: territoires, public fiches, granted subsidies).
CREATE TABLE evenement_ressources (
    ressource_type text PRIMARY KEY,
    accord text NOT NULL CHECK (accord IN ('', 'e', 's')),
    chemin text CHECK (chemin LIKE '/api/v1/%'),
    public boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE evenement_ressources IS 'Resource types of the event feed (0021): grammatical agreement of the event type, API path (''{id}'' replaced), public feed.';
INSERT INTO evenement_ressources (ressource_type, accord, chemin, public) VALUES
    ('habilitation', 'e', '/api/v1/habilitations/{id}', false),
    ('client', '', '/api/v1/clients/{id}', false),
    ('organisation', 'e', '/api/v1/organisations/{id}', false),
    ('territoire', '', '/api/v1/territoires/{id}', true),
    ('convention', 'e', '/api/v1/conventions/{id}', false),
    ('axe_strategique', '', '/api/v1/axes-strategiques/{id}', false),
    ('indicateur', '', '/api/v1/indicateurs/{id}', false),
    ('indicateur_mesure', 'e', NULL, false),
    ('comite', '', '/api/v1/comites/{id}', false),
    ('seance', 'e', '/api/v1/seances/{id}', false),
    ('decision', 'e', NULL, false),
    ('fiche_action', 'e', '/api/v1/fiches-action/{id}', true),
    ('plan_action', '', '/api/v1/territoires/{id}/plan-action', false),
    ('parametres', 's', '/api/v1/parametres', false),
    ('poste_chef_projet', '', '/api/v1/postes-chef-de-projet/{id}', false),
    ('demande_subvention', 'e', '/api/v1/demandes-subvention/{id}', true);

-- A journal row of a resource type the feed does not know is a bug of the
-- release that writes it: refused, like a mutation without journal row.
-- NOT VALID: rows written before this migration are not re-checked.
ALTER TABLE journal ADD CONSTRAINT journal_ressource_type_evenement_fk
    FOREIGN KEY (ressource_type) REFERENCES evenement_ressources (ressource_type) NOT VALID;

-- The state a journal document records: "etat", or for a demande de
-- subvention "etat_enregistre" (its "etat" is computed when read, from the
-- stored state and the date, and is never journaled).
CREATE FUNCTION evenement_etat(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(doc->>'etat', doc->>'etat_enregistre')
$$;

-- What happened, from the row alone: creation (no avant), deletion (no
-- apres), signature (the action "….signer" or a new etat "signee"), a change
-- of etat (transition), else a change.
CREATE FUNCTION evenement_nature(j journal) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN j.avant IS NULL THEN 'cree'
        WHEN j.apres IS NULL THEN 'supprime'
        WHEN j.action LIKE '%.signer'
             OR (evenement_etat(j.apres) = 'signee' AND evenement_etat(j.avant) IS DISTINCT FROM 'signee')
            THEN 'signe'
        WHEN evenement_etat(j.apres) IS DISTINCT FROM evenement_etat(j.avant) THEN 'transition'
        ELSE 'modifie' END
$$;

-- The event type: "<ressource_type>.<nature>" with the participle agreed
-- ("fiche_action.modifiee", "territoire.cree", "parametres.modifies");
-- "transition" is a noun and takes no agreement.
CREATE FUNCTION evenement_type(j journal, accord text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT j.ressource_type || '.' || evenement_nature(j)
           || CASE WHEN evenement_nature(j) = 'transition' THEN '' ELSE accord END
$$;

-- The public representation of a resource as it is now, or NULL when it is
-- not public (a private fiche, a subsidy not granted, a deleted row). For
-- demande_subvention, subvention_publique_representation comes from the
-- open-data migration (0022); PL/pgSQL resolves it when called.
CREATE FUNCTION evenement_public_donnees(p_type text, p_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    doc jsonb;
BEGIN
    IF p_type = 'territoire' THEN
        SELECT territoire_representation(t) INTO doc FROM territoires t WHERE t.id_pvd = p_id;
    ELSIF p_type = 'fiche_action' THEN
        SELECT fiche_publique_representation(f) INTO doc FROM fiches_action f
        WHERE f.id::text = p_id AND f.public;
    ELSIF p_type = 'demande_subvention' THEN
        SELECT subvention_publique_representation(d) INTO doc FROM demandes_subvention d
        WHERE d.id::text = p_id;
    END IF;
    RETURN doc;
END
$$;

-- Is the row an event of the public feed? Territoires: every change. A
-- fiche: while it is, or as it stops being, public (the event then carries
-- no data: the public copy must drop it). A subsidy: from its decision to
-- grant on (accordee and every later state but the refusals).
CREATE FUNCTION evenement_est_public(j journal) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE j.ressource_type
        WHEN 'territoire' THEN true
        WHEN 'fiche_action' THEN coalesce((j.avant->>'public')::boolean, false)
                                 OR coalesce((j.apres->>'public')::boolean, false)
        WHEN 'demande_subvention' THEN
            coalesce(evenement_etat(j.avant), '') IN ('accordee', 'notifiee', 'engagee', 'soldee', 'caduque', 'forclose')
            OR coalesce(evenement_etat(j.apres), '') IN ('accordee', 'notifiee', 'engagee', 'soldee', 'caduque', 'forclose')
        ELSE false END
$$;

-- One event (components/schemas/evenements.yaml Evenement): the journal row
-- with its type, the resource (type, id, version = the row's id, which grows
-- with every change of one resource since each change holds the resource's
-- row lock while it writes), the API path and the data. p_public: the data
-- is the resource's public representation as it is now (NULL when no longer
-- public); otherwise the row's "apres" (the resource just after the change,
-- NULL for a deletion).
CREATE FUNCTION evenement_json(j journal, p_public boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', j.id::text,
        'type', evenement_type(j, r.accord),
        'survenu_le', horodatage(j.instant),
        'ressource', jsonb_build_object(
            'type', j.ressource_type, 'id', j.ressource_id, 'version', j.id,
            'lien', replace(r.chemin, '{id}', j.ressource_id)),
        'donnees', CASE WHEN p_public THEN evenement_public_donnees(j.ressource_type, j.ressource_id)
                        ELSE j.apres END)
    FROM evenement_ressources r WHERE r.ressource_type = j.ressource_type
$$;
