-- An app event type's JSON Schema of its `data` (contract §6), as registered; NULL: any JSON object.
ALTER TABLE `webhook_event_types` ADD `schema` text;
