-- Issue #10 §1 "a decision keeps the parameters in force on its date", for
-- the funding years of a poste de chef de projet: each year records the
-- parameters version it was checked with when it was written (a PUT of the
-- year: the version in force that day, parametres_en_vigueur; 0: the
-- defaults, parametres_defaut, nothing stored). A later check of the same
-- year — a PATCH of its poste (api/handlers/postes.c) — and its R19 schedule
-- use that version, never today's: a new version changes the years written
-- after it, not those already decided. The version number, not the date, is
-- kept: a version published later with the same date_effet would otherwise
-- change the parameters of a year recorded earlier that day. Versions are
-- never deleted (0017's triggers), so the number always reads back.
ALTER TABLE poste_financements
    ADD COLUMN parametres_version integer NOT NULL DEFAULT 0 CHECK (parametres_version >= 0);
COMMENT ON COLUMN poste_financements.parametres_version IS 'The parameters version (parametres_versions.version, 0: the defaults) in force on the day the year was last written: the caps R12–R15, R19 and R20 it is checked with afterwards.';

-- The years written before this migration: the version in force on the day
-- of their last write, as parametres_en_vigueur chooses it.
UPDATE poste_financements f SET parametres_version = coalesce(
    (SELECT v.version FROM parametres_versions v
     WHERE v.date_effet <= (f.modifie_le AT TIME ZONE 'UTC')::date
     ORDER BY v.date_effet DESC, v.version DESC LIMIT 1), 0);

-- 0018's representation with the version the year is checked with.
CREATE OR REPLACE FUNCTION poste_financement_representation(f poste_financements) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'poste_id', f.poste_id, 'annee', f.annee,
        'cout_charge_annuel_centimes', f.cout_charge_annuel, 'avec_anah', f.avec_anah,
        'etude_pre_operationnelle_anah', f.etude_pre_operationnelle_anah, 'opah_ru', f.opah_ru,
        'part_anct_etat_centimes', f.part_anct_etat, 'part_bdt_centimes', f.part_bdt,
        'part_anah_centimes', f.part_anah,
        'total_cofinancement_centimes', f.part_anct_etat + f.part_bdt + f.part_anah,
        'financeur_bdt_id', f.financeur_bdt_id, 'financeur_anah_id', f.financeur_anah_id,
        'parametres_version', f.parametres_version,
        'cree_par', f.cree_par,
        'cree_le', horodatage(f.cree_le), 'modifie_le', horodatage(f.modifie_le))
$$;
