/*-------------------------------------------------------------------------
 *
 * hnswscan.c
 *	  Ordered scan of a vechnsw index: ORDER BY col <op> query LIMIT n.
 *
 * The first amgettuple call searches the graph with a result list of
 * vechnsw.ef_search elements and returns their heap TIDs nearest first.
 * When the executor wants more rows than that, the scan searches again
 * with a list twice as long and returns, nearest first, the elements it had
 * not returned yet; the list grows to vechnsw.max_scan_tuples elements at
 * most, and the scan ends there (the work limit for filters that reject
 * most rows).  With storage = f32, rows come with exact distances
 * (xs_recheckorderby = false); with storage = f16, with lower bounds of
 * them (see vec_elem_distance) and xs_recheckorderby = true, so the
 * executor computes each row's exact distance and returns rows in exact
 * order.  No row is returned twice, and the first ef_search elements are in
 * order.  An element that only the larger search found and that is nearer
 * than rows already returned is skipped (vechnsw.scan_order = strict, the
 * default: ORDER BY is kept, distances never decrease, but a LIMIT close to
 * the number of rows may get fewer rows than the index holds) or comes at
 * the start of the next batch (vechnsw.scan_order = relaxed: every row the
 * index holds can be returned, but the stream may step back).  With f16 the
 * comparison is between lower bounds: the executor releases a row only once
 * the index has returned a bound past its exact distance, so non-decreasing
 * bounds give rows in exact order.
 *
 * Pages are read under share locks, one at a time; no pin is held between
 * amgettuple calls.  This is safe for MVCC snapshots (see docs/LOCKING.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relscan.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

typedef struct VecScanOpaqueData
{
	VecIndexInfo *info;
	MemoryContext scancxt;		/* query, returned set: reset at rescan */
	MemoryContext searchcxt;	/* one search's results: reset per search */
	bool		started;
	bool		done;
	float	   *query;
	int			dim;
	bool		nullquery;		/* ORDER BY col <op> NULL: all distances NULL */
	bool		nanquery;		/* zero query under cosine: all distances NaN */
	bool		useq;			/* walk on RaBitQ estimates */
	int			entry_level;	/* vechnsw.entry_level at rescan */
	int			entry_points;	/* vechnsw.entry_points at rescan */
	VecRqQuery	qq;				/* the query prepared for the estimator */
	VecCand    *results;
	int			nresults;
	int			pos;
	int			tidpos;
	int			ef;
	int			maxef;			/* the list grows no longer: the work limit */
	bool		strict;			/* vechnsw.scan_order = strict at rescan */
	float		slack;			/* vechnsw.rabitq_slack at rescan */
	float		lastdist;
	VecIdSet	returned;
} VecScanOpaqueData;

typedef VecScanOpaqueData *VecScanOpaque;

/*
 * This backend's index scans' search work since the last reset, for
 * vechnsw_search_counters(): the graph code's counters (vec_counters, which
 * inserts, builds and VACUUM move too) taken around each scan's search.
 */
static VecSearchCounters vec_scan_counters;

IndexScanDesc
vechnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	VecScanOpaque so = palloc0(sizeof(VecScanOpaqueData));

	/* our own copy: a relcache flush between calls frees rd_amcache */
	so->info = palloc(sizeof(VecIndexInfo));
	*so->info = *vec_index_info(index);
	so->scancxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw scan",
										ALLOCSET_DEFAULT_SIZES);
	so->searchcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw search",
										  ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc(sizeof(bool) * Max(norderbys, 1));
	for (int i = 0; i < Max(norderbys, 1); i++)
		scan->xs_orderbynulls[i] = true;
	return scan;
}

void
vechnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	VecScanOpaque so = (VecScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));

	MemoryContextReset(so->scancxt);
	MemoryContextReset(so->searchcxt);
	so->started = false;
	so->done = false;
	so->query = NULL;
	so->nullquery = false;
	so->nanquery = false;
	so->results = NULL;
	so->nresults = 0;
	so->pos = 0;
	so->tidpos = 0;
	so->ef = vechnsw_ef_search;
	so->strict = (vechnsw_scan_order == VEC_ORDER_STRICT);
	so->slack = (float) vechnsw_rabitq_slack;
	so->entry_level = vechnsw_entry_level;
	so->entry_points = vechnsw_entry_points;

	/*
	 * With f16 the executor releases a row only once the index has returned
	 * a row whose bound is past it, so LIMIT n needs row n + 1: one more
	 * element in the list saves a second search when LIMIT = ef_search.
	 */
	if (so->info->storage == VEC_STORAGE_F16)
		so->ef++;
	so->maxef = Max(so->ef, vechnsw_max_scan_tuples);
	so->lastdist = -get_float4_infinity();
}

/* search the graph with a result list of so->ef into so->results */
static void
vec_scan_search(IndexScanDesc scan, VecMetaPageData *meta)
{
	VecScanOpaque so = (VecScanOpaque) scan->opaque;
	MemoryContext oldcxt;
	VecDiskGraph dg;
	VecCand		ep;
	VecIdSet	visited;
	VecCand    *res;
	int			n,
				keep = 0;
	VecSearchCounters before;

	MemoryContextReset(so->searchcxt);
	oldcxt = MemoryContextSwitchTo(so->searchcxt);

	vec_disk_graph_init(&dg, scan->indexRelation, so->info, so->dim);
	before = vec_counters;
	res = palloc_extended(sizeof(VecCand) * so->ef, MCXT_ALLOC_HUGE);
	n = 0;
	if (vec_disk_entry(&dg, meta, so->query, &ep))
	{
		VecCand    *eps = &ep;
		int			neps = 1;
		int			stop = Min(so->entry_level, (int) meta->entry_level);

		if (meta->entry_level >= 1 &&
			(so->useq || so->entry_points > 1 || stop > 1))
		{
			/*
			 * The exact greedy descent ends at vechnsw.entry_level (or the
			 * entry point's level, if lower), where a search keeps
			 * vechnsw.entry_points elements; the level-0 walk starts from
			 * all of them and covers the levels below itself.  For the walk
			 * on codes that is cheaper per step (one page and a few
			 * estimates, where an upper level costs one page and one exact
			 * distance per neighbour); for both walks several starting
			 * points reach regions that one greedy path misses on clustered
			 * data.  With one point this is the greedy descent through that
			 * level.  The exact walk with the defaults takes the plain
			 * descent below.
			 */
			VecIdSet	v;

			vec_greedy_descend(&dg.g, so->query, &ep, meta->entry_level, stop);
			eps = palloc(sizeof(VecCand) * so->entry_points);
			vec_idset_init(&v, 64);
			neps = vec_search_layer(&dg.g, so->query, &ep, 1, so->entry_points, stop, eps, &v);
			if (neps == 0)
			{
				eps[0] = ep;
				neps = 1;
			}
		}
		else
			vec_greedy_descend(&dg.g, so->query, &ep, meta->entry_level, 0);
		vec_idset_init(&visited, so->ef * so->info->m);
		if (so->useq)
			n = vec_search_layer0_codes(&dg, so->query, &so->qq, eps, neps, so->ef, so->slack,
										res, &visited);
		else
			n = vec_search_layer(&dg.g, so->query, eps, neps, so->ef, 0, res, &visited);
	}
	vec_disk_graph_done(&dg);
	vec_scan_counters.searches++;
	vec_scan_counters.page_reads += vec_counters.page_reads - before.page_reads;
	vec_scan_counters.exact_distances += vec_counters.exact_distances - before.exact_distances;
	vec_scan_counters.estimates += vec_counters.estimates - before.estimates;
	vec_scan_counters.expansions += vec_counters.expansions - before.expansions;

	/*
	 * Keep what was not returned yet.  A larger search can find an element
	 * nearer than rows already returned (the smaller one missed it): strict
	 * order drops it, relaxed order returns it first in this batch.  Within
	 * a batch the order is exact.
	 */
	MemoryContextSwitchTo(so->scancxt);
	for (int i = 0; i < n; i++)
	{
		if (res[i].state != VEC_ELEM_LIVE || res[i].ntids == 0)
			continue;
		if (so->strict && res[i].dist < so->lastdist)
			continue;
		if (!vec_idset_add(&so->returned, res[i].id))
			continue;
		res[keep++] = res[i];
	}
	MemoryContextSwitchTo(oldcxt);

	so->results = res;
	so->nresults = keep;
	so->pos = 0;
	so->tidpos = 0;
	/* fewer than ef found: the search saw all it can reach */
	if (n < so->ef)
		so->done = true;
}

bool
vechnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	VecScanOpaque so = (VecScanOpaque) scan->opaque;
	VecMetaPageData meta;

	if (!so->started)
	{
		ScanKey		ob;
		MemoryContext oldcxt;

		so->started = true;
		/* pg_stat_*_indexes.idx_scan: index AMs count their own scans */
		pgstat_count_index_scan(scan->indexRelation);
		if (scan->numberOfOrderBys == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("vechnsw index scans need an ORDER BY distance operator")));
		ob = &scan->orderByData[0];

		vec_read_meta(scan->indexRelation, &meta);
		if (meta.dimensions == 0 || meta.entry_level < 0)
		{
			so->done = true;
			return false;
		}

		oldcxt = MemoryContextSwitchTo(so->scancxt);
		vec_idset_init(&so->returned, so->ef * 2);
		if (!(ob->sk_flags & SK_ISNULL))
			so->query = vec_datum_to_vector(ob->sk_argument, so->info->metric, &so->dim);
		else
			so->nullquery = true;

		/*
		 * With a NULL query (every distance NULL) or a zero vector under
		 * cosine (every distance NaN) all rows tie, so any order is right:
		 * walk the graph from an arbitrary direction and return every row.
		 */
		if (so->query == NULL)
		{
			so->nanquery = !so->nullquery;
			so->dim = meta.dimensions;
			so->query = palloc0(sizeof(float) * so->dim);
			so->query[0] = 1;
		}
		MemoryContextSwitchTo(oldcxt);

		if (meta.dimensions != (uint32) so->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %u and %d", meta.dimensions, so->dim),
					 errdetail("Index \"%s\" holds vectors of %u dimensions.",
							   RelationGetRelationName(scan->indexRelation), meta.dimensions)));

		/*
		 * RaBitQ walk when the index has codes and the session wants it.  The
		 * rotation and centroid are loaded into the relcache's copy (once per
		 * relcache entry: a copy made before the first vector was inserted
		 * has none yet), and this scan's copy takes them from there.
		 */
		if (so->info->dim == 0)
		{
			VecIndexInfo *cached = vec_index_info(scan->indexRelation);

			vec_index_info_load_codes(scan->indexRelation, cached, &meta,
									  scan->indexRelation->rd_indexcxt);
			*so->info = *cached;
		}
		so->useq = (vechnsw_search_mode == VEC_SEARCH_RABITQ && so->info->rq != NULL);
		if (so->useq)
		{
			oldcxt = MemoryContextSwitchTo(so->scancxt);
			vec_rq_prepare_query_ex(so->info->rq, so->query, &so->qq, 0x9E3779B9,
									so->info->metric != VEC_METRIC_IP);
			MemoryContextSwitchTo(oldcxt);
		}
		vec_scan_search(scan, &meta);
	}

	for (;;)
	{
		while (so->pos < so->nresults)
		{
			VecCand    *c = &so->results[so->pos];

			if (so->tidpos >= c->ntids)
			{
				so->pos++;
				so->tidpos = 0;
				continue;
			}
			/*
			 * A heap TID goes to the executor: one with an invalid block
			 * would reach the heap fetch as P_NEW (checked here, for the
			 * rows returned, not for every element a search visits).
			 */
			if (!ItemPointerIsValid(&c->heaptids[so->tidpos]) ||
				!BlockNumberIsValid(ItemPointerGetBlockNumberNoCheck(&c->heaptids[so->tidpos])))
				vec_report_corrupt(scan->indexRelation, (BlockNumber) (c->id >> 16),
								   (OffsetNumber) (c->id & 0xFFFF), "element holds an invalid heap TID");
			scan->xs_heaptid = c->heaptids[so->tidpos++];
			scan->xs_recheck = false;
			/* f16: distances are lower bounds, the executor reorders */
			scan->xs_recheckorderby = so->info->storage == VEC_STORAGE_F16 &&
				!so->nullquery && !so->nanquery;
			if (so->nanquery)
				scan->xs_orderbyvals[0] = Float8GetDatum(get_float8_nan());
			else
				scan->xs_orderbyvals[0] = Float8GetDatum(vec_sql_distance(so->info->metric, c->dist));
			scan->xs_orderbynulls[0] = so->nullquery;
			so->lastdist = c->dist;
			return true;
		}

		if (so->done)
			return false;

		/*
		 * The executor wants more rows (a filter rejected the ones returned,
		 * or the LIMIT is past ef_search): search again with a list twice as
		 * long, up to vechnsw.max_scan_tuples elements.  There the scan ends:
		 * a filter that rejects nearly every row would otherwise walk the
		 * whole index.
		 */
		if (so->ef >= so->maxef)
		{
			ereport(DEBUG1,
					(errmsg_internal("vechnsw scan of index \"%s\" ends at vechnsw.max_scan_tuples = %d elements",
									 RelationGetRelationName(scan->indexRelation), so->maxef)));
			so->done = true;
			return false;
		}
		so->ef = Min(so->ef * 2, so->maxef);
		vec_read_meta(scan->indexRelation, &meta);
		vec_scan_search(scan, &meta);
	}
}

/*
 * vechnsw_search_counters(reset bool): this backend's search work since the
 * last reset — the cost of queries in buffer reads and distances rather
 * than in time.
 */
PG_FUNCTION_INFO_V1(vechnsw_search_counters);
Datum
vechnsw_search_counters(PG_FUNCTION_ARGS)
{
	bool		reset = PG_GETARG_BOOL(0);
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(vec_scan_counters.searches);
	values[1] = Int64GetDatum(vec_scan_counters.page_reads);
	values[2] = Int64GetDatum(vec_scan_counters.exact_distances);
	values[3] = Int64GetDatum(vec_scan_counters.estimates);
	values[4] = Int64GetDatum(vec_scan_counters.expansions);
	if (reset)
		MemSet(&vec_scan_counters, 0, sizeof(vec_scan_counters));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

void
vechnswendscan(IndexScanDesc scan)
{
	VecScanOpaque so = (VecScanOpaque) scan->opaque;

	MemoryContextDelete(so->scancxt);
	MemoryContextDelete(so->searchcxt);
	pfree(so->info);
	pfree(so);
	scan->opaque = NULL;
}
