-- Issue #11 §1, correction of 0021: an event's data and version are those of
-- its resource's LATEST change the reader can see, not of the change itself.
--
-- Why: the feed is in (xid, id) order, which is commit-safe, but two changes
-- of one resource can take their transaction ids in the reverse order of
-- their changes (a keyed request claims its Idempotency-Key — its first
-- write, which assigns its xid — before it waits on the resource's lock).
-- The feed then gives the newer change before the older one. Applying events
-- by version (the journal id, in change order under the resource's lock)
-- already kept a follower right; but an object taken from a full read has no
-- version, and an older change replayed after the read position would have
-- overwritten it with older data (found by the sync client's review,
-- tests/sync). With the latest visible state, an event never carries data
-- older than what a reader could have seen before reading it: replaying is
-- harmless whatever the order.
--
-- l: the latest journal row of j's resource that the reader may see (the
-- same perimeter as j on the authenticated feed; any row on the public one,
-- whose data is the current public representation anyway). NULL l (never:
-- j itself qualifies) falls back to j.
DROP FUNCTION evenement_json(journal, boolean);
CREATE FUNCTION evenement_json(j journal, l journal, p_public boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', j.id::text,
        'type', evenement_type(j, r.accord),
        'survenu_le', horodatage(j.instant),
        'ressource', jsonb_build_object(
            'type', j.ressource_type, 'id', j.ressource_id,
            'version', coalesce(l.id, j.id),
            'lien', replace(r.chemin, '{id}', j.ressource_id)),
        'donnees', CASE WHEN p_public THEN evenement_public_donnees(j.ressource_type, j.ressource_id)
                        WHEN l.id IS NULL THEN j.apres
                        ELSE l.apres END)
    FROM evenement_ressources r WHERE r.ressource_type = j.ressource_type
$$;
