-- Issue #12 §4, demandes and postes lists (migration 0029): the scratch volume their figures
-- in the README ("Demandes and postes lists") were measured on. Run it as the superuser on a
-- throw-away database that holds the referential and no territoire (deploy/local/pg.sh start
-- with PVD_VAR of a scratch directory, `pvd-api import-referentiel`), e.g.
--   psql -v ON_ERROR_STOP=1 -f tests/bench/visibles_seed.sql "$(deploy/local/pg.sh url)"
-- 1,583 territoires (16 per département: a commune and its neighbour, the commune's EPCI),
-- 10 fiches each, 100,420 demandes (400 per territoire of the 47, 60 elsewhere), 18,870 postes
-- (200 per territoire of the 47, 10 elsewhere; one in five also serves the next territoire),
-- 200,000 other organisations. Triggers and foreign keys are off while it loads (modifie_le
-- spread over 400 days).
SET session_replication_role = replica; -- no triggers (modifie_le spread below), no FK checks
BEGIN;
CREATE TEMP TABLE pick AS
SELECT c.code_insee, c.siren, c.code_departement AS dep, c.code_region AS reg,
       row_number() OVER (PARTITION BY c.code_departement ORDER BY c.code_insee) AS k
FROM communes c WHERE c.type = 'commune-actuelle' AND c.siren IS NOT NULL
  AND c.code_departement IS NOT NULL AND c.code_region ~ '^[0-9]{2}$';
-- territoire n of a département: communes 2n-1 (main) and 2n (neighbour)
CREATE TEMP TABLE terr AS
SELECT 'pvd-' || m.reg || '-' || m.dep || '-' || (m.k + 1) / 2 AS id_pvd, m.dep, m.reg,
       m.code_insee AS main, m.siren AS main_siren, n.code_insee AS voisine
FROM pick m JOIN pick n ON n.dep = m.dep AND n.k = m.k + 1
WHERE m.k % 2 = 1 AND m.k <= 31;
INSERT INTO territoires (id_pvd, nom, code_departement, code_region, date_designation, millesime, cree_le, modifie_le)
SELECT id_pvd, 'Territoire ' || id_pvd, dep, reg, '2020-12-15', 2026, now(), now() FROM terr;
INSERT INTO territoire_communes SELECT id_pvd, main, 0 FROM terr;
INSERT INTO territoire_communes SELECT id_pvd, voisine, 1 FROM terr;
INSERT INTO territoire_epcis SELECT DISTINCT ON (t.id_pvd) t.id_pvd, e.epci_siren, 0
FROM terr t JOIN epci_membres e ON e.code_insee = t.main;
INSERT INTO organisations (id, siren, nom, nature, code_insee, code_departement, code_region)
SELECT gen_random_uuid(), main_siren, 'Commune ' || main, 'commune', main, dep, reg FROM terr;
INSERT INTO organisations (siren, nom, nature) VALUES ('180020026', 'Banque des Territoires', 'operateur'),
  ('130012338', 'Anah', 'operateur');
INSERT INTO organisations (nom, nature) VALUES ('Préfecture (banc)', 'etat');
INSERT INTO plans_action (id_pvd) SELECT id_pvd FROM terr;
INSERT INTO axes_strategiques (id_pvd, numero, intitule, enjeux) SELECT id_pvd, 1, 'Axe 1', 'Enjeux' FROM terr;
CREATE TEMP TABLE t2 AS
SELECT t.*, o.id AS commune_org, a.id AS axe FROM terr t
JOIN organisations o ON o.siren = t.main_siren JOIN axes_strategiques a ON a.id_pvd = t.id_pvd;
INSERT INTO fiches_action (id_pvd, numero, intitule, axe_id, description, objectifs, maitre_ouvrage_id,
  localisation_commune_insee, nature_depense, cout_total_ht, cree_par, modifie_le)
SELECT t.id_pvd, 'F' || g, 'Fiche ' || g, t.axe, 'd', 'o', t.commune_org, t.main, 'investissement',
  100000000, 'seed', now() - random() * interval '400 days'
FROM t2 t, generate_series(1, 10) g;
INSERT INTO fiche_financements (fiche_id, rang, financeur_id, dispositif, nature_financeur, montant)
SELECT f.id, 0, (SELECT id FROM organisations WHERE nature = 'etat' AND nom = 'Préfecture (banc)'),
  CASE WHEN random() < 0.5 THEN 'DETR' ELSE 'DSIL' END, 'public', 30000000 FROM fiches_action f;
INSERT INTO fiche_financements (fiche_id, rang, financeur_id, dispositif, nature_financeur, montant)
SELECT f.id, 1, (SELECT id FROM organisations WHERE siren = '180020026'), 'bdt', 'public', 10000000
FROM fiches_action f WHERE random() < 0.1;
-- demandes: DETR/DSIL/FNADT on a fiche of the territoire, chef_de_projet_pvd without fiche
INSERT INTO demandes_subvention (id_pvd, dispositif, demandeur_id, fiche_id, annee_programmation, intitule,
  depense_subventionnable_ht, montant_sollicite, etat, cree_par, modifie_le, date_depot)
SELECT t.id_pvd, d.disp, t.commune_org,
  CASE WHEN d.disp = 'chef_de_projet_pvd' THEN NULL
       ELSE (SELECT f.id FROM fiches_action f WHERE f.id_pvd = t.id_pvd AND f.numero = 'F' || (1 + g % 10)) END,
  2024 + g % 3, 'Demande ' || g, 50000000, 20000000,
  (ARRAY['brouillon', 'depose', 'en_instruction', 'accordee', 'notifiee'])[1 + g % 5], 'seed',
  now() - random() * interval '400 days', current_date - (g % 300)
FROM t2 t, generate_series(1, 400) g,
  LATERAL (SELECT (ARRAY['DETR', 'DSIL', 'FNADT', 'chef_de_projet_pvd', 'DETR'])[1 + g % 5] AS disp) d
WHERE g <= CASE WHEN t.dep = '47' THEN 400 ELSE 60 END;
INSERT INTO postes_chef_projet (id, employeur_id, quotite, date_recrutement, cree_par, modifie_le)
SELECT gen_random_uuid(), t.commune_org, 10000, '2024-01-01', 'seed|' || t.id_pvd || '|' || g,
  now() - random() * interval '400 days'
FROM t2 t, generate_series(1, 200) g WHERE g <= CASE WHEN t.dep = '47' THEN 200 ELSE 10 END;
INSERT INTO poste_territoires SELECT p.id, split_part(p.cree_par, '|', 2), 0 FROM postes_chef_projet p
WHERE p.cree_par LIKE 'seed|%';
-- a second territoire served (the next one of the département) for one poste in 5
INSERT INTO poste_territoires
SELECT p.id, t2.id_pvd, 1 FROM postes_chef_projet p
JOIN terr t1 ON t1.id_pvd = split_part(p.cree_par, '|', 2)
JOIN terr t2 ON t2.dep = t1.dep AND t2.main > t1.main
WHERE p.cree_par LIKE 'seed|%' AND split_part(p.cree_par, '|', 3)::int % 5 = 0
  AND t2.main = (SELECT min(main) FROM terr t3 WHERE t3.dep = t1.dep AND t3.main > t1.main);
INSERT INTO poste_financements (poste_id, annee, cout_charge_annuel, part_anct_etat, part_bdt, financeur_bdt_id, cree_par)
SELECT p.id, a, 6000000, 3000000, 1500000,
  CASE WHEN split_part(p.cree_par, '|', 3)::int % 3 = 0 THEN (SELECT id FROM organisations WHERE siren = '180020026') END, 'seed'
FROM postes_chef_projet p, generate_series(2024, 2025) a WHERE p.cree_par LIKE 'seed|%';


UPDATE demandes_subvention SET financeur_id = (SELECT id FROM organisations WHERE siren = '180020026')
WHERE random() < 0.02;
INSERT INTO fiche_financements (fiche_id, rang, financeur_id, dispositif, nature_financeur, montant)
SELECT f.id, 5, (SELECT id FROM organisations WHERE siren = '180020026'), 'DSIL', 'public', 1000
FROM fiches_action f WHERE random() < 0.05;
INSERT INTO organisations (siren, nom, nature)
SELECT lpad((300000000 + g)::text, 9, '0'), 'Association ' || g, 'association'
FROM generate_series(1, 200000) g;
COMMIT;
ANALYZE;
