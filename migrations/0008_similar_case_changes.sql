-- Similar-case index across processes (issue 13): every fhir-fusion process keeps its own HNSW
-- graphs, and any worker may index a case. `change_seq` (new on every insert and update) and
-- the (model, indexed_at) index let each process pull the rows changed since it last looked
-- before answering a query, instead of rebuilding or missing other workers' cases.
CREATE SEQUENCE similar_case_change_seq;
ALTER TABLE similar_case ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval('similar_case_change_seq');
CREATE INDEX similar_case_model_indexed_at ON similar_case (model, indexed_at);
