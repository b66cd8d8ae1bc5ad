-- Issue #11 §1 "modifie_depuis and ordering by modification on every list".
--
-- 1. modifie_le moves on every change, whatever statement makes it: a BEFORE
--    INSERT OR UPDATE trigger on every table that has the column sets it to
--    clock_timestamp(), the instant the row is written, rather than now(),
--    the start of the transaction (a transaction that waited on the
--    territoire lock would otherwise stamp its rows with an instant seconds
--    older than rows committed meanwhile). Neither is the commit instant: a
--    row written at t and committed at t + d is invisible to a reader at
--    t + d/2 that then asks modifie_depuis = t + d/2. modifie_depuis is a
--    convenience (README "modifie_depuis, tri and list ETags"); the exact
--    incremental read is the event feed /api/v1/evenements.
--    cree_le keeps now(): it is the creation's transaction, not a change.
-- 2. A territoire's representation holds its etat, derived from its
--    conventions (territoire_etat): a convention written, deleted or changed
--    moves its territoire's modifie_le (not its revision: the territoire's
--    own content did not change and its If-Match ETag stays valid). Every
--    convention write holds the territoire row lock already
--    (db/territoire_lock.h), so this UPDATE takes no new lock.
-- 3. Indexes on (modifie_le, id) (under the parent key for the lists of a
--    parent) for the keyset pages of tri=modifie_le / -modifie_le and the
--    modifie_depuis range.

CREATE FUNCTION modifie_le_maintenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.modifie_le := clock_timestamp();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION modifie_le_maintenant() IS 'Sets modifie_le to the instant the row is written (issue #11: modifie_depuis).';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organisations', 'territoires', 'conventions', 'axes_strategiques',
                             'indicateurs', 'comites', 'seances', 'plans_action', 'fiches_action',
                             'postes_chef_projet', 'poste_financements', 'demandes_subvention']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW '
                       'EXECUTE FUNCTION modifie_le_maintenant()', t || '_modifie_le', t);
    END LOOP;
END
$$;

CREATE FUNCTION territoire_etat_modifie() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE territoires SET modifie_le = clock_timestamp() WHERE id_pvd = OLD.id_pvd;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.id_pvd IS DISTINCT FROM OLD.id_pvd) THEN
        UPDATE territoires SET modifie_le = clock_timestamp() WHERE id_pvd = NEW.id_pvd;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER conventions_territoire_modifie_le
    AFTER INSERT OR DELETE OR UPDATE OF etat, type, id_pvd ON conventions
    FOR EACH ROW EXECUTE FUNCTION territoire_etat_modifie();

CREATE INDEX territoires_modifie_le_idx ON territoires (modifie_le, id_pvd COLLATE "C");
CREATE INDEX organisations_modifie_le_idx ON organisations (modifie_le, id);
CREATE INDEX conventions_modifie_le_idx ON conventions (modifie_le, id);
CREATE INDEX fiches_action_modifie_le_idx ON fiches_action (modifie_le, id);
CREATE INDEX postes_chef_projet_modifie_le_idx ON postes_chef_projet (modifie_le, id);
CREATE INDEX demandes_subvention_modifie_le_idx ON demandes_subvention (modifie_le, id);
CREATE INDEX comites_modifie_le_idx ON comites (modifie_le, id_pvd);
CREATE INDEX axes_strategiques_modifie_le_idx ON axes_strategiques (id_pvd, modifie_le, id);
CREATE INDEX indicateurs_modifie_le_idx ON indicateurs (axe_id, modifie_le, id);
CREATE INDEX seances_modifie_le_idx ON seances (comite_id, modifie_le, id);
