DROP TABLE api_keys;
DROP TABLE rule_outbox;
DROP TABLE deliveries;
DROP TABLE notifications;
DROP TABLE endpoints;
DROP TABLE rules;
DROP TABLE clients;
