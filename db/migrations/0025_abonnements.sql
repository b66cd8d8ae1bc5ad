-- Issue #11 §2: webhooks (Standard Webhooks). The journal stays the only
-- outbox (migration 0021): a subscription stores the feed position after
-- which its events are still to be delivered; the dispatcher
-- (api/webhooks.c) reads the feed after it with the subscription's client's
-- visibility and, in one transaction, inserts the deliveries and advances
-- the position. Nothing is written by the mutations themselves.

-- Subscriptions and their replays are journaled like any mutation: their
-- events exist (not public). A delivery has no route of its own.
INSERT INTO evenement_ressources (ressource_type, accord, chemin, public) VALUES
    ('abonnement', '', '/api/v1/abonnements/{id}', false),
    ('livraison', 'e', NULL, false);

CREATE TABLE abonnements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id text NOT NULL REFERENCES clients (id),
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- Resource types and event types, as the feed's `types`; empty: all.
    types text[] NOT NULL DEFAULT '{}',
    actif boolean NOT NULL DEFAULT true,
    -- AES-256-GCM of the secret's 32 bytes: nonce (12) || ciphertext (32) ||
    -- tag (16), under the key of WEBHOOK_KEY_FILE. HMAC needs the secret
    -- itself, so it cannot be stored as a digest.
    secret_chiffre bytea NOT NULL CHECK (length(secret_chiffre) = 60),
    -- The feed key ("<xid>.<id>", db/journal_repository.h) after which the
    -- events are not yet turned into deliveries.
    position text NOT NULL CHECK (position ~ '^[0-9]{1,19}\.[0-9]{1,19}$'),
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    secret_renouvele_le timestamptz
);
COMMENT ON TABLE abonnements IS 'Webhook subscriptions of machine clients (issue 11 §2). The secret is stored encrypted (AES-256-GCM), never in the journal.';
CREATE INDEX abonnements_client_idx ON abonnements (client_id, id);

CREATE FUNCTION abonnement_representation(a abonnements) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'client_id', a.client_id, 'url', a.url, 'types', to_jsonb(a.types),
        'actif', a.actif, 'cree_par', a.cree_par, 'cree_le', horodatage(a.cree_le),
        'modifie_le', horodatage(a.modifie_le),
        'secret_renouvele_le', horodatage(a.secret_renouvele_le))
$$;

-- One event to send to one subscription. The body is fixed at creation, so
-- that every attempt and replay sends the same bytes under the same
-- webhook-id (the event id). en_cours: claimed by a sender until bail_jusqu_au;
-- a sender killed mid-send leaves it due again when the lease expires.
CREATE TABLE livraisons (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Creation order, the key of the delivery log's pages.
    numero bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    abonnement_id uuid NOT NULL REFERENCES abonnements (id) ON DELETE CASCADE,
    evenement_id bigint NOT NULL,
    type text NOT NULL,
    corps text NOT NULL,
    etat text NOT NULL DEFAULT 'en_attente'
        CHECK (etat IN ('en_attente', 'en_cours', 'livree', 'echec_definitif')),
    tentatives integer NOT NULL DEFAULT 0 CHECK (tentatives >= 0),
    prochaine_tentative_le timestamptz NOT NULL DEFAULT now(),
    bail_jusqu_au timestamptz,
    derniere_tentative_le timestamptz,
    dernier_statut integer,
    derniere_erreur text,
    livree_le timestamptz,
    cree_le timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (abonnement_id, evenement_id)
);
COMMENT ON TABLE livraisons IS 'Webhook deliveries (issue 11 §2): bookkeeping of the dispatcher, not journaled (a replay is).';
CREATE INDEX livraisons_dues_idx ON livraisons (prochaine_tentative_le)
    WHERE etat IN ('en_attente', 'en_cours');
CREATE INDEX livraisons_abonnement_idx ON livraisons (abonnement_id, numero);

CREATE FUNCTION livraison_representation(l livraisons) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id, 'abonnement_id', l.abonnement_id, 'evenement_id', l.evenement_id::text,
        'type', l.type, 'etat', l.etat, 'tentatives', l.tentatives,
        'prochaine_tentative_le', CASE WHEN l.etat IN ('en_attente', 'en_cours')
                                       THEN horodatage(l.prochaine_tentative_le) END,
        'derniere_tentative_le', horodatage(l.derniere_tentative_le),
        'dernier_statut', l.dernier_statut, 'derniere_erreur', l.derniere_erreur,
        'livree_le', horodatage(l.livree_le), 'cree_le', horodatage(l.cree_le))
$$;
