-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
-- The same roles and databases as tools/infra.sh: one role per service, owner of its database,
-- password = role name (LOCAL DEVELOPMENT ONLY), CREATEDB so pytest-django can make test_<db>.
-- "order" is a reserved word in SQL, hence the quoted identifiers.
CREATE ROLE "order" LOGIN CREATEDB PASSWORD 'order';
CREATE ROLE "inventory" LOGIN CREATEDB PASSWORD 'inventory';
CREATE ROLE "payment" LOGIN CREATEDB PASSWORD 'payment';
CREATE ROLE "shipment" LOGIN CREATEDB PASSWORD 'shipment';
CREATE DATABASE "order_db" OWNER "order";
CREATE DATABASE "inventory_db" OWNER "inventory";
CREATE DATABASE "payment_db" OWNER "payment";
CREATE DATABASE "shipment_db" OWNER "shipment";
