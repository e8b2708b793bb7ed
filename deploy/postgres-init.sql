-- One database per service: no service can read another's tables.
CREATE DATABASE armature_users;
CREATE DATABASE armature_orders;
CREATE DATABASE armature_payments;
-- armature:new-service databases
