/* vecidx--0.1.0--0.2.0.sql: the delete lifecycle's inspection functions */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION vecidx UPDATE TO '0.2.0'" to load this file. \quit

DROP FUNCTION vechnsw_index_stats(regclass);

-- Inspection: what a vechnsw index holds, read page by page with the same
-- page checks as vechnsw_index_check (a malformed page raises XX002).  Reads
-- under ACCESS SHARE: it never waits for writers, so while they run the
-- counts are of pages read at different moments.
CREATE FUNCTION vechnsw_index_stats(regclass,
	OUT pages bigint, OUT elements bigint, OUT live_elements bigint,
	OUT deleted_elements bigint, OUT heap_tids bigint, OUT max_level integer,
	OUT dimensions integer, OUT m integer, OUT ef_construction integer,
	OUT free_elements bigint, OUT edges_to_deleted bigint, OUT stale_edges bigint,
	OUT unreachable_elements bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vechnsw_index_stats'
	LANGUAGE C STRICT PARALLEL RESTRICTED;

-- Structural check in the manner of amcheck's bt_index_check: raises
-- ERRCODE_INDEX_CORRUPTED (XX002) naming block and offset at the first
-- problem; with heapallindexed, also checks that every visible row of the
-- table is in the index.
CREATE FUNCTION vechnsw_index_check(index regclass, heapallindexed boolean DEFAULT false)
	RETURNS void
	AS 'MODULE_PATHNAME', 'vechnsw_index_check'
	LANGUAGE C STRICT PARALLEL RESTRICTED;

