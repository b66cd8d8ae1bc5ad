-- pgbench script (bench.sh lines `write` and `write_event`, -c1 -M extended): the database
-- work of a PATCH of a fiche's intitulé as db/fiche_repository.c does it — the fiche's
-- territoire, the territoire lock (db/territoire_lock.c), the fiche row locked and read
-- with its representation (avant), the update, the representation read again (apres) —
-- and, with -D event=1 only, its event: the journal row, by the very INSERT of
-- journal_record (db/mutation.c: same columns, same filter of "_" members). The two lines
-- differ by that row alone, so their ratio is the cost of the outbox event.
-- Variables (-D): fiche (uuid), idpvd, event (0 or 1), acteur and issuer (journal_actor's;
-- never a literal with a colon here: pgbench would read it as a variable).
\set n random(1, 1000000000)
BEGIN;
SELECT id_pvd FROM fiches_action WHERE id = :fiche::uuid;
SELECT 1 FROM territoires WHERE id_pvd = :idpvd FOR NO KEY UPDATE;
SELECT x.id::text AS id, x.revision, fiche_representation(x)::text AS avant FROM fiches_action x WHERE x.id = :fiche::uuid FOR UPDATE \gset
UPDATE fiches_action SET revision = revision + 1, modifie_le = now(), intitule = 'Fiche ' || :n WHERE id = :fiche::uuid;
SELECT fiche_representation(x)::text AS apres FROM fiches_action x WHERE x.id = :fiche::uuid \gset
\if :event
INSERT INTO journal (acteur, acteur_issuer, acteur_subject, client_id, role, action, ressource_type, ressource_id, avant, apres, request_id, departements, regions, sirens, territoires) VALUES (:acteur::text, :issuer::text, 'bench-admin', NULL, 'anct_national', 'fiche_action.modifier', 'fiche_action', :id::text, CASE WHEN jsonb_typeof(:avant::jsonb) = 'object' THEN (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each(:avant::jsonb) AS e(k, v) WHERE left(e.k, 1) <> '_') ELSE :avant::jsonb END, CASE WHEN jsonb_typeof(:apres::jsonb) = 'object' THEN (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each(:apres::jsonb) AS e(k, v) WHERE left(e.k, 1) <> '_') ELSE :apres::jsonb END, 'bench-write-event', '{08}'::text[], '{44}'::text[], '{210803268,200043156}'::text[], ARRAY[:idpvd::text]);
\endif
COMMIT;
