-- Postes de chef de projet PVD and their yearly funding (issue #10 §2,
-- domain.md §1.14, §2.5). The rules (R11–R20) are the service's
-- (domain/chef_projet.c), checked inside the writing transaction under the
-- territoire locks of the territoires served (db/poste_repository.h); the
-- CHECKs below only keep impossible rows out. Money: bigint cents,
-- 0..10^15 (FINANCEMENT_MONTANT_MAX); quotité in ten-thousandths
-- (10 000 = 100 %). `revision` is the ETag source, as in 0004.

CREATE TABLE postes_chef_projet (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    employeur_id uuid NOT NULL REFERENCES organisations (id),
    quotite integer NOT NULL CHECK (quotite BETWEEN 1 AND 10000),
    date_recrutement date NOT NULL,
    date_fin_contrat date,
    type_contrat text CHECK (type_contrat IN ('titulaire', 'contrat_de_projet', 'cdd', 'autre')),
    missions text CHECK (length(missions) BETWEEN 1 AND 20000),
    revision integer NOT NULL DEFAULT 1,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    CHECK (date_fin_contrat >= date_recrutement)
);
COMMENT ON TABLE postes_chef_projet IS 'Poste de chef de projet PVD (§1.14): employer (commune, EPCI or PETR, checked by the service), quotité in ten-thousandths, contract dates.';
CREATE INDEX postes_chef_projet_employeur_idx ON postes_chef_projet (employeur_id, id);

CREATE TABLE poste_territoires (
    poste_id uuid NOT NULL REFERENCES postes_chef_projet (id) ON DELETE CASCADE,
    id_pvd varchar(16) NOT NULL REFERENCES territoires (id_pvd),
    rang smallint NOT NULL CHECK (rang >= 0),
    PRIMARY KEY (poste_id, id_pvd),
    UNIQUE (poste_id, rang)
);
COMMENT ON TABLE poste_territoires IS 'The territoires a poste serves (≥ 1, checked by the service), in the order given.';
CREATE INDEX poste_territoires_territoire_idx ON poste_territoires (id_pvd, poste_id);

CREATE TABLE poste_financements (
    poste_id uuid NOT NULL REFERENCES postes_chef_projet (id) ON DELETE CASCADE,
    annee smallint NOT NULL CHECK (annee BETWEEN 1900 AND 2998),
    cout_charge_annuel bigint NOT NULL CHECK (cout_charge_annuel BETWEEN 0 AND 1000000000000000),
    avec_anah boolean NOT NULL DEFAULT false,
    -- R17: the collectivité engaged an Anah pre-operational study / an OPAH-RU
    etude_pre_operationnelle_anah boolean NOT NULL DEFAULT false,
    opah_ru boolean NOT NULL DEFAULT false,
    part_anct_etat bigint NOT NULL DEFAULT 0 CHECK (part_anct_etat BETWEEN 0 AND 1000000000000000),
    part_bdt bigint NOT NULL DEFAULT 0 CHECK (part_bdt BETWEEN 0 AND 1000000000000000),
    part_anah bigint NOT NULL DEFAULT 0 CHECK (part_anah BETWEEN 0 AND 1000000000000000),
    -- the organisations paying the Banque des Territoires and Anah shares
    -- (their SIRENs put the poste inside those financeurs' perimeters)
    financeur_bdt_id uuid REFERENCES organisations (id),
    financeur_anah_id uuid REFERENCES organisations (id),
    revision integer NOT NULL DEFAULT 1,
    cree_par text NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (poste_id, annee)
);
COMMENT ON TABLE poste_financements IS 'Yearly funding of a poste (§1.14 financement_annuel): one calendar year (R19), its loaded cost and the shares per financer in cents; the caps R12–R16 come from the parameters in force (parametres_en_vigueur). The R19 payment schedule is derived by the service, not stored.';
CREATE INDEX poste_financements_bdt_idx ON poste_financements (financeur_bdt_id) WHERE financeur_bdt_id IS NOT NULL;
CREATE INDEX poste_financements_anah_idx ON poste_financements (financeur_anah_id) WHERE financeur_anah_id IS NOT NULL;

-- The API representation of a poste (§1.14), its funding years excepted
-- (GET …/annees): quotite in ten-thousandths.
CREATE FUNCTION poste_representation(p postes_chef_projet) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'employeur_id', p.employeur_id,
        'territoires', COALESCE((SELECT jsonb_agg(pt.id_pvd ORDER BY pt.rang)
                                 FROM poste_territoires pt WHERE pt.poste_id = p.id), '[]'::jsonb),
        'quotite', p.quotite, 'date_recrutement', p.date_recrutement,
        'date_fin_contrat', p.date_fin_contrat, 'type_contrat', p.type_contrat,
        'missions', p.missions,
        'annees', COALESCE((SELECT jsonb_agg(f.annee ORDER BY f.annee)
                            FROM poste_financements f WHERE f.poste_id = p.id), '[]'::jsonb),
        'cree_par', p.cree_par,
        'cree_le', horodatage(p.cree_le), 'modifie_le', horodatage(p.modifie_le))
$$;

-- The API representation of a funding year, money members in _centimes; the
-- R19 schedule (echeancier) is added by the service.
CREATE FUNCTION poste_financement_representation(f poste_financements) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'poste_id', f.poste_id, 'annee', f.annee,
        'cout_charge_annuel_centimes', f.cout_charge_annuel, 'avec_anah', f.avec_anah,
        'etude_pre_operationnelle_anah', f.etude_pre_operationnelle_anah, 'opah_ru', f.opah_ru,
        'part_anct_etat_centimes', f.part_anct_etat, 'part_bdt_centimes', f.part_bdt,
        'part_anah_centimes', f.part_anah,
        'total_cofinancement_centimes', f.part_anct_etat + f.part_bdt + f.part_anah,
        'financeur_bdt_id', f.financeur_bdt_id, 'financeur_anah_id', f.financeur_anah_id,
        'cree_par', f.cree_par,
        'cree_le', horodatage(f.cree_le), 'modifie_le', horodatage(f.modifie_le))
$$;

-- SIRENs that put a poste inside a collectivité's (or a financeur's)
-- perimeter: the communes (referential) and EPCIs of the territoires served,
-- and the employer. Never its financeurs (poste_financeur_sirens).
CREATE FUNCTION poste_sirens(p_id uuid) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.siren), '{}') FROM (
        SELECT co.siren::text AS siren FROM poste_territoires pt
        JOIN territoire_communes tc ON tc.id_pvd = pt.id_pvd
        JOIN communes co ON co.code_insee = tc.code_insee AND co.type = 'commune-actuelle'
        WHERE pt.poste_id = p_id AND co.siren IS NOT NULL
        UNION ALL SELECT te.siren::text FROM poste_territoires pt
        JOIN territoire_epcis te ON te.id_pvd = pt.id_pvd WHERE pt.poste_id = p_id
        UNION ALL SELECT o.siren::text FROM postes_chef_projet p
        JOIN organisations o ON o.id = p.employeur_id
        WHERE p.id = p_id AND o.siren IS NOT NULL) s
$$;

-- SIRENs of the organisations paying a share of one of the poste's years.
CREATE FUNCTION poste_financeur_sirens(p_id uuid) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT o.siren::text), '{}') FROM poste_financements f
    JOIN organisations o ON o.id IN (f.financeur_bdt_id, f.financeur_anah_id)
    WHERE f.poste_id = p_id AND o.siren IS NOT NULL
$$;

-- The postes inside the read perimeter of a caller of this role
-- (domain/authz.c "inside" for POSTE_READ on the target of
-- db/poste_repository.h poste_access_load): anct_national and
-- lecteur_national every poste; otherwise those serving a territoire of
-- fiche_territoires_visibles (0014), and — collectivités and financeur —
-- those whose employer's SIREN is the caller's, and — financeur only — those
-- one of whose years' financeurs has the caller's SIREN.
CREATE FUNCTION postes_visibles(p_role text, p_deps text[], p_regs text[], p_sirens text[],
                                p_terrs text[]) RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT p.id FROM postes_chef_projet p WHERE p_role IN ('anct_national', 'lecteur_national')
    UNION SELECT pt.poste_id FROM poste_territoires pt
    WHERE pt.id_pvd IN (SELECT fiche_territoires_visibles(p_role, p_deps, p_regs, p_sirens,
                                                          p_terrs))
    UNION SELECT p.id FROM postes_chef_projet p JOIN organisations o ON o.id = p.employeur_id
    WHERE p_role IN ('collectivite_agent', 'collectivite_elu', 'financeur')
      AND o.siren = ANY (p_sirens)
    UNION SELECT f.poste_id FROM poste_financements f
    JOIN organisations o ON o.id IN (f.financeur_bdt_id, f.financeur_anah_id)
    WHERE p_role = 'financeur' AND o.siren = ANY (p_sirens)
$$;
