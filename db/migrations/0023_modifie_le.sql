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
-- 2. A representation that shows other rows moves with them: a territoire's
--    etat (its conventions), an axe's indicateurs, an indicateur's mesures, a
--    comité's séances, a séance's décisions, a poste's yearly funding. Only
--    modifie_le moves, not revision: the parent's own content did not change
--    and its If-Match ETag stays valid. Not done for a demande, which shows
--    its fiche's financing plan: the fiche's financing writes lock the fiche,
--    a demande's writes the demande then its fiche, and touching the demandes
--    from the former would take the two locks in the other order (README).
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

-- A row whose representation shows rows of another table (its parent's
-- etat, count or list): those rows written move the parent's modifie_le.
-- TG_ARGV: the parent table, its key column, the key's type, and the child's
-- column holding the parent's key.
CREATE FUNCTION parent_modifie() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sql text := format('UPDATE %I SET modifie_le = clock_timestamp() WHERE %I = $1::%s',
                       TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]);
    avant text;
    apres text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        avant := to_jsonb(OLD) ->> TG_ARGV[3];
        EXECUTE sql USING avant;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        apres := to_jsonb(NEW) ->> TG_ARGV[3];
        IF apres IS DISTINCT FROM avant THEN
            EXECUTE sql USING apres;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION parent_modifie() IS 'A child row written moves its parent''s modifie_le (issue #11: the parent''s representation shows it).';

-- Each writer below holds its parent's territoire lock, or the parent row
-- itself, before it writes the child (db/territoire_lock.h): the UPDATE of the
-- parent takes no lock that another writer could hold first.
-- * a territoire's etat comes from its conventions (territoire_etat);
CREATE TRIGGER conventions_territoire_modifie_le
    AFTER INSERT OR DELETE OR UPDATE OF etat, type, id_pvd ON conventions
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('territoires', 'id_pvd', 'text', 'id_pvd');
-- * an axe shows its indicateurs' count and types;
CREATE TRIGGER indicateurs_axe_modifie_le
    AFTER INSERT OR DELETE OR UPDATE OF type, axe_id ON indicateurs
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('axes_strategiques', 'id', 'uuid', 'axe_id');
-- * an indicateur its mesures' count and last value;
CREATE TRIGGER indicateur_mesures_indicateur_modifie_le
    AFTER INSERT OR DELETE OR UPDATE ON indicateur_mesures
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('indicateurs', 'id', 'uuid', 'indicateur_id');
-- * a comité its séances' count;
CREATE TRIGGER seances_comite_modifie_le
    AFTER INSERT OR DELETE OR UPDATE OF comite_id ON seances
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('comites', 'id', 'uuid', 'comite_id');
-- * a séance its décisions' count;
CREATE TRIGGER decisions_seance_modifie_le
    AFTER INSERT OR DELETE OR UPDATE OF seance_id ON decisions
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('seances', 'id', 'uuid', 'seance_id');
-- * a poste its yearly funding (poste_lock holds the poste row).
CREATE TRIGGER poste_financements_poste_modifie_le
    AFTER INSERT OR DELETE OR UPDATE ON poste_financements
    FOR EACH ROW EXECUTE FUNCTION parent_modifie('postes_chef_projet', 'id', 'uuid', 'poste_id');

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
