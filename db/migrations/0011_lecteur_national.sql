-- A national read-only role for portals that sync the programme and write
-- nothing (issue #8 §1): lecteur_national may be granted as a habilitation and
-- held by a machine client. Its reads are anct_national's (the service passes
-- anct_national to convention_visible for it: domain/authz.c role_reads_as).

ALTER TABLE habilitations DROP CONSTRAINT habilitations_role_check;
ALTER TABLE habilitations ADD CONSTRAINT habilitations_role_check
    CHECK (role IN ('collectivite_agent', 'collectivite_elu', 'prefecture_instructeur',
                    'prefecture_region', 'financeur', 'anct_national', 'lecteur_national'));

ALTER TABLE clients DROP CONSTRAINT clients_role_check;
ALTER TABLE clients ADD CONSTRAINT clients_role_check
    CHECK (role IN ('collectivite_agent', 'collectivite_elu', 'prefecture_instructeur',
                    'prefecture_region', 'financeur', 'anct_national', 'lecteur_national'));
