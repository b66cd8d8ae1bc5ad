-- Programme parameters (issue #10 §1, domain/parametres.h): caps and rates of
-- the chef de projet co-financing per financer and year (R12–R16), programme
-- dates (R20, R41), legal delays of subsidy requests (R30, R32, R34–R36) and
-- the dispositifs' filing deadlines. Each PUT /api/v1/parametres adds a
-- version taking effect on date_effet; a version is never updated nor
-- deleted, so that a decision keeps the parameters in force on its date: the
-- version with the latest date_effet ≤ that date (the greatest version among
-- those of one date_effet). No version stored: parametres_defaut (domain).
--
-- document: the canonical JSON the API renders from a validated struct
-- parametres (api/parametres_json.c) — members "programme", "chef_projet",
-- "delais", "dates_limites_depot", and "pieces_requises" (texts no rule
-- reads); money in cents (_centimes), rates in ten-thousandths, all JSON
-- integers. It is read back by db/parametres_repository.c with PostgreSQL's
-- JSON operators.
CREATE TABLE parametres_versions (
    version integer PRIMARY KEY CHECK (version >= 1),
    date_effet date NOT NULL,
    document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE parametres_versions IS 'Versions of the programme parameters (issue #10 §1), each in force from date_effet. Append-only.';
CREATE INDEX parametres_versions_effet_idx ON parametres_versions (date_effet, version);

CREATE FUNCTION parametres_versions_ajout_seul() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'les versions des paramètres sont en ajout seul (% refusé)', TG_OP
        USING ERRCODE = '42501';
END $$;
CREATE TRIGGER parametres_versions_pas_de_modification BEFORE UPDATE OR DELETE
    ON parametres_versions FOR EACH ROW EXECUTE FUNCTION parametres_versions_ajout_seul();
CREATE TRIGGER parametres_versions_pas_de_vidage BEFORE TRUNCATE ON parametres_versions
    FOR EACH STATEMENT EXECUTE FUNCTION parametres_versions_ajout_seul();
