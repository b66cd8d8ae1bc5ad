-- Idempotency-Key records are now written in the transaction of the write they
-- answer (db/idempotence_repository.h): a committed record always holds its
-- response. Claims left without a response by the previous scheme (a crash
-- between claim and result) are dropped, so that their keys can be run again.
DELETE FROM idempotence WHERE statut IS NULL;
COMMENT ON TABLE idempotence IS 'One row per (caller, Idempotency-Key), in force 24 hours: empreinte = SHA-256 of method, target (path and query) and body; written in the same transaction as the write it answers, so statut is NULL only inside that uncommitted transaction.';
