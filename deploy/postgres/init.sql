-- Runs once, when compose.yaml's PostgreSQL creates its data directory: the login the hub and the
-- worker use. `hub migrate` (as the tables' owner, `hub`) finds it and grants it only what the hub
-- needs: INSERT and SELECT on the ledger, no UPDATE, DELETE, TRUNCATE or ALTER (docs/ledger.md, Disclosure
-- ledger). Change the password before anything but a trial.
CREATE ROLE hub_app LOGIN PASSWORD 'hub-app-change-me';
