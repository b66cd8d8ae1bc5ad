-- Idempotency-Key (api.md): the first response to a POST, replayed for the same
-- caller, key and request within 24 hours. Bookkeeping, not journaled.
CREATE TABLE idempotence (
    appelant text NOT NULL,
    cle text NOT NULL CHECK (length(cle) BETWEEN 1 AND 255),
    empreinte text NOT NULL,
    statut integer,
    type_contenu text,
    corps text,
    location text,
    etag text,
    cree_le timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appelant, cle)
);
COMMENT ON TABLE idempotence IS 'One row per (caller, Idempotency-Key): empreinte = SHA-256 of method, path and body; statut NULL while the first request runs.';
CREATE INDEX idempotence_cree_le_idx ON idempotence (cree_le);
