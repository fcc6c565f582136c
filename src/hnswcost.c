/*-------------------------------------------------------------------------
 *
 * hnswcost.c
 *	  Cost estimate for vechnsw scans.
 *
 * The index only serves ORDER BY <distance operator> (normally with a
 * LIMIT).  Without an ORDER BY on its operator the index is useless, so the
 * cost is infinite and the planner never picks it.
 *
 * With one, the cost is counted in element visits: a visit reads an
 * element's page (a buffer access, and a random read when the index does not
 * fit in effective_cache_size) and computes one distance.  Per visit:
 *
 *		VEC_VISIT_COST * cpu_operator_cost				(buffer access, distance, bookkeeping)
 *	  + random_page_cost * max(0, 1 - cache / pages)	(reads missing the cache)
 *
 * The distance's cost does not grow with the dimensions here, because the
 * sequential scan it competes with is charged one cpu_operator_cost per
 * distance whatever the dimensions, and nothing for de-TOASTing the vector
 * it reads from every row: charging the index for 3,000 dimensions made a
 * sequential scan over 20,000 out-of-line vectors (148 heap pages, 1.66 s
 * a query) look cheaper than the index (1.5 ms).
 *
 * The first search visits ef_search * m elements on level 0 plus
 * m * log_m(N) on the way down through the upper levels, before the first
 * row comes out: that is the startup cost.  Every further row costs about
 * 3m visits: a scan that needs more rows than its list holds searches again
 * with a list twice as long (the searches up to a list of F elements expand
 * about 2F elements, F <= 2 * rows, each visiting about m new neighbours).
 * The total cost is that of returning all N rows.
 *
 * This is what makes a filter's selectivity count: the planner charges a
 * LIMIT k over a path of R rows (R = the table's rows times the filter's
 * selectivity) startup + (total - startup) * k / R, i.e. the walk through
 * k / selectivity index rows that producing k rows that pass the filter
 * takes.  A 1 % filter with LIMIT 10 is costed as a walk through 1,000 rows
 * and loses to a sequential scan on a small table, while an unfiltered
 * LIMIT 10 costs about the first search alone.  VEC_VISIT_COST was set from
 * measured times (docs/BENCHMARKS.md, "Filtered queries").  The work limit
 * (vechnsw.max_scan_tuples) is not part of the estimate: a scan cut short
 * costs less than estimated but may return fewer rows than the LIMIT, so a
 * plan that reads the whole table is preferred wherever the walk would be
 * long.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "vecidx.h"

/* a visit's fixed work, in units of cpu_operator_cost */
#define VEC_VISIT_COST	70.0
/* visits per row past the first search */
#define VEC_VISITS_PER_ROW(m)	(3.0 * (m))

void
vechnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	GenericCosts costs;
	IndexOptInfo *index = path->indexinfo;
	double		ntuples = Max(index->tuples, 1);
	double		startup_visits,
				total_visits,
				visit_cost,
				miss;
	double		random_page_cost;
	int			m;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	{
		Relation	rel = index_open(index->indexoid, NoLock);

		m = vec_index_info(rel)->m;
		index_close(rel, NoLock);
	}

	/* elements the first search visits, and the walk through all N rows */
	startup_visits = (double) vechnsw_ef_search * m +
		m * log(ntuples) / log((double) Max(m, 2));
	startup_visits = Min(startup_visits, ntuples * VEC_VISITS_PER_ROW(m));
	total_visits = Max(startup_visits, ntuples * VEC_VISITS_PER_ROW(m));

	get_tablespace_page_costs(index->reltablespace, &random_page_cost, NULL);
	miss = 0;
	if (index->pages > 0 && index->pages > effective_cache_size)
		miss = 1.0 - (double) effective_cache_size / index->pages;
	visit_cost = cpu_operator_cost * VEC_VISIT_COST + random_page_cost * miss;

	/* selectivity (1: no index quals) and the cost of the ORDER BY argument */
	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = ntuples;
	genericcostestimate(root, path, loop_count, &costs);

	*indexStartupCost = startup_visits * visit_cost;
	*indexTotalCost = total_visits * visit_cost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = Min(index->pages, startup_visits);
}
